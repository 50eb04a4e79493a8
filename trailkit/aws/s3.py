"""S3 reads of a trail's bucket (``HeadBucket``, ``GetBucketLocation``, ``GetBucketEncryption``,
``GetBucketPolicy``, ``ListBuckets``) and the :class:`~trailkit.records.BucketInfo` they make.

A bucket that cannot be read is an answer (``BucketInfo`` says what is unknown and why), not an
exception. Caching, scheduling and which failures are reported are
:class:`trailkit.aws.reader.Reader`'s.

Where a bucket is (S3 API reference):

* ``HeadBucket`` answers with the ``x-amz-bucket-region`` header "regardless of the permissions
  on the bucket", so also with a 403; a bucket that does not exist is a 404 (a HEAD answer has no
  body: botocore's error code is ``"404"``). It needs ``s3:ListBucket``. Sent to any region of the
  partition: botocore's ``S3RegionRedirectorv2`` follows the 301/400 that S3 answers for a bucket
  of another region (it reads the same header) and re-sends the request once, within the same
  API call.
* ``GetBucketLocation`` (``s3:GetBucketLocation``) only when ``HeadBucket`` gave no region.
  Outside the bucket's own region "the bucket policy doesn't apply, which means that cross-account
  access won't be authorized", so it rarely helps with another account's bucket.
"""

from __future__ import annotations

from dataclasses import dataclass

from trailkit.aws.service import ServiceReader
from trailkit.errors import AccessDenied, AwsError, TrailkitError
from trailkit.i18n import N_, _
from trailkit.permissions import requires
from trailkit.records import BucketInfo

__all__ = [
    "FOREIGN_REFUSAL",
    "S3",
    "Encryption",
    "Located",
    "Policy",
    "bucket_info",
    "bucket_region",
    "missing_bucket",
    "unlocated_bucket",
]

#: (default algorithm, default KMS key, Bucket Key enabled (None: unknown), error)
Encryption = tuple[str | None, str | None, bool | None, str | None]
#: (policy document, error)
Policy = tuple[str | None, str | None]

# GetBucketLocation's LocationConstraint -> region (S3 API reference, GetBucketLocation: buckets
# in us-east-1 have a null constraint; "EU" is the legacy name of eu-west-1).
_LEGACY_LOCATIONS: dict[str | None, str] = {None: "us-east-1", "": "us-east-1", "EU": "eu-west-1"}

# What S3 answers for a bucket that does not exist: NoSuchBucket (GET), or the bare HTTP status
# of a HEAD request, which has no body (HeadBucket: "404"). Never a 403: that is a bucket that
# exists and may not be read.
_NO_SUCH_BUCKET = frozenset({"NoSuchBucket", "404", "NotFound"})

#: Why a bucket of another account refuses a read: its owner has not allowed this caller (a
#: cross-account read needs the bucket policy's permission as well as the caller's own).
#: Marked for translation; shown with ``_()``.
FOREIGN_REFUSAL = N_(
    "the bucket belongs to another account, which does not let this caller read it"
)


def bucket_region(constraint: str | None) -> str:
    """The region of a bucket from its ``LocationConstraint``.

    Parameters
    ----------
    constraint : str or None
        ``GetBucketLocation``'s ``LocationConstraint``.

    Returns
    -------
    str
        ``us-east-1`` for a null or empty constraint, ``eu-west-1`` for ``EU`` (S3 API
        reference, ``GetBucketLocation``), else the constraint itself.
    """
    return _LEGACY_LOCATIONS.get(constraint, str(constraint))


@dataclass(frozen=True)
class Located:
    """Where a bucket is, as one call answered.

    Attributes
    ----------
    region
        The bucket's region; None: this call did not tell.
    missing
        S3 answered that the bucket does not exist.
    failure
        Why the call failed (also set when a denied ``HeadBucket`` still named the region).
    missing_code
        The code S3 answered for a missing bucket (``"404"``, ``NoSuchBucket``).
    """

    region: str | None = None
    missing: bool = False
    failure: TrailkitError | None = None
    missing_code: str = ""


def _located(err: TrailkitError) -> Located:
    """A failed ``HeadBucket`` or ``GetBucketLocation`` as a :class:`Located`."""
    if isinstance(err, AwsError) and err.code in _NO_SUCH_BUCKET:
        return Located(missing=True, missing_code=err.code)
    region = err.bucket_region if isinstance(err, AwsError) else None
    return Located(region=region, failure=err)


class S3(ServiceReader):
    """The S3 calls of a reader (see :class:`~trailkit.aws.service.ServiceReader`)."""

    service = "s3"

    @requires("s3:ListBucket")
    def head(self, name: str) -> Located:
        """The bucket's region from ``HeadBucket``, even when it is denied.

        Sent to the connection's region (any region of the partition answers; botocore follows
        S3's redirect to the bucket's region itself).

        Parameters
        ----------
        name : str
            The bucket.

        Returns
        -------
        Located
            The region from ``BucketRegion`` (the ``x-amz-bucket-region`` header), also from the
            header of a 403; ``missing`` for a 404; else the failure, region None.
        """
        try:
            head = self.call("HeadBucket", None, permission="s3:ListBucket", Bucket=name)
        except TrailkitError as err:
            return _located(err)
        headers = (head.get("ResponseMetadata") or {}).get("HTTPHeaders") or {}
        return Located(region=head.get("BucketRegion") or headers.get("x-amz-bucket-region"))

    @requires("s3:GetBucketLocation")
    def location(self, name: str) -> Located:
        """The bucket's region from ``GetBucketLocation`` (sent to us-east-1).

        Parameters
        ----------
        name : str
            The bucket.

        Returns
        -------
        Located
            The region (:func:`bucket_region`), ``missing`` for ``NoSuchBucket``, else the
            failure.
        """
        try:
            loc = self.call("GetBucketLocation", "us-east-1", Bucket=name)
        except TrailkitError as err:
            return _located(err)
        return Located(region=bucket_region(loc.get("LocationConstraint")))

    @requires("s3:ListAllMyBuckets")
    def owned(self) -> frozenset[str] | None:
        """The names of the caller's own buckets (``ListBuckets``: "all buckets owned by the
        authenticated sender of the request", S3 API reference).

        Read with pagination (S3 recommends only paginated ``ListBuckets`` requests).

        Returns
        -------
        frozenset of str or None
            None when the list cannot be read (the failure is noted).
        """
        try:
            buckets = self.pages(
                "ListBuckets",
                self.conn.region,
                "Buckets",
                permission="s3:ListAllMyBuckets",
                PaginationConfig={"PageSize": 10000},
            )
        except TrailkitError as err:
            self.noted(err, region=None, resource="s3:ListBuckets")
            return None
        return frozenset(str(b["Name"]) for b in buckets if b.get("Name"))

    def failed(
        self, err: TrailkitError, *, name: str, region: str | None, foreign: bool = False
    ) -> str:
        """The text of a failed read of bucket ``name``, noted unless it is expected.

        Parameters
        ----------
        err : TrailkitError
            The failure.
        name : str
            The bucket.
        region : str or None
            Where the call went (None: the region of the bucket was not known).
        foreign : bool
            The bucket belongs to another account (the caller's ``ListBuckets`` does not list
            it). Its access denials are then facts about the bucket, not permissions the caller
            lacks: they are not noted (the inventory is not partial because of them) and their
            text says so (:data:`FOREIGN_REFUSAL`). Other failures are noted as usual.

        Returns
        -------
        str
        """
        if foreign and isinstance(err, AccessDenied):
            return _("{operation}: {code} ({why})").format(
                operation=err.operation, code=err.code or "AccessDenied", why=_(FOREIGN_REFUSAL)
            )
        return self.noted(err, region=region, resource=f"s3://{name}")

    @requires("s3:GetEncryptionConfiguration")
    def encryption(self, name: str, region: str, foreign: bool = False) -> Encryption:
        """The bucket's default encryption.

        Parameters
        ----------
        name, region : str
            The bucket and its region.
        foreign : bool
            The bucket belongs to another account (see :meth:`failed`).

        Returns
        -------
        Encryption
            (default algorithm, default KMS key, Bucket Key enabled, error). A bucket without
            an encryption configuration has ``AES256``: S3 encrypts every new object with SSE-S3
            since January 2023 (moto answers ``ServerSideEncryptionConfigurationNotFoundError``).
            Any other failure is returned as the error (see :meth:`failed`), with the Bucket Key
            unknown (None).
        """
        try:
            enc = self.call(
                "GetBucketEncryption",
                region,
                permission="s3:GetEncryptionConfiguration",
                Bucket=name,
            )
        except AwsError as err:
            if err.code == "ServerSideEncryptionConfigurationNotFoundError":
                return "AES256", None, False, None
            return None, None, None, self.failed(err, name=name, region=region, foreign=foreign)
        encryption: str | None = None
        kms_key: str | None = None
        bucket_key = False
        rules = (enc.get("ServerSideEncryptionConfiguration") or {}).get("Rules") or []
        for rule in rules:
            default = rule.get("ApplyServerSideEncryptionByDefault") or {}
            encryption = default.get("SSEAlgorithm") or encryption
            kms_key = default.get("KMSMasterKeyID") or kms_key
            bucket_key = bucket_key or bool(rule.get("BucketKeyEnabled"))
        return encryption, kms_key, bucket_key, None

    @requires("s3:GetBucketPolicy")
    def policy(self, name: str, region: str, foreign: bool = False) -> Policy:
        """The bucket policy.

        Parameters
        ----------
        name, region : str
            The bucket and its region.
        foreign : bool
            The bucket belongs to another account (see :meth:`failed`).

        Returns
        -------
        Policy
            (policy, error): ``(None, None)`` for a bucket without a policy
            (``NoSuchBucketPolicy``); any other failure is returned as the error (see
            :meth:`failed`).
        """
        try:
            pol = self.call("GetBucketPolicy", region, Bucket=name)
        except AwsError as err:
            if err.code == "NoSuchBucketPolicy":
                return None, None
            return None, self.failed(err, name=name, region=region, foreign=foreign)
        return pol.get("Policy"), None


def bucket_info(
    name: str,
    region: str,
    encryption: Encryption,
    policy: Policy,
    *,
    owner_account: str | None = None,
) -> BucketInfo:
    """The facts of a bucket whose region is known, from its encryption and policy reads.

    Parameters
    ----------
    name, region : str
        The bucket and its region.
    encryption : Encryption
        :meth:`S3.encryption`.
    policy : Policy
        :meth:`S3.policy`.
    owner_account : str, optional
        The account that owns it, when known.

    Returns
    -------
    BucketInfo
        ``encryption_error`` and ``policy_error`` say which read failed (``bucket_key`` None
        when the encryption could not be read); ``error`` joins both (None when both
        succeeded).
    """
    algorithm, kms_key, bucket_key, enc_error = encryption
    document, policy_error = policy
    errors = [e for e in (enc_error, policy_error) if e]
    return BucketInfo(
        name=name,
        region=region,
        default_encryption=algorithm,
        default_kms_key=kms_key,
        bucket_key=bucket_key,
        policy=document,
        error="; ".join(errors) or None,
        encryption_error=enc_error,
        policy_error=policy_error,
        owner_account=owner_account,
    )


def missing_bucket(name: str, code: str, operation: str) -> BucketInfo:
    """A bucket that S3 says does not exist (CloudTrail: ``S3BucketDoesNotExistException``).

    Parameters
    ----------
    name : str
        The bucket.
    code, operation : str
        What S3 answered (``"404"``, ``NoSuchBucket``) and to which call.

    Returns
    -------
    BucketInfo
        ``missing`` True; region and Bucket Key unknown; nothing read.
    """
    said = {"bucket": name, "code": code, "operation": operation}
    unread = _(
        "not read: the bucket {bucket} does not exist (S3 answered {code} to {operation})"
    ).format(**said)
    return BucketInfo(
        name=name,
        region=None,
        bucket_key=None,
        error=_("The bucket {bucket} does not exist (S3 answered {code} to {operation}).").format(
            **said
        ),
        missing=True,
        encryption_error=unread,
        policy_error=unread,
    )


def unlocated_bucket(
    name: str, failures: list[str], owner_account: str | None = None
) -> BucketInfo:
    """A bucket whose region could not be learned, so nothing else could be read.

    Parameters
    ----------
    name : str
        The bucket.
    failures : list of str
        Why (``HeadBucket`` and ``GetBucketLocation``).
    owner_account : str, optional
        The account that owns it, when known.

    Returns
    -------
    BucketInfo
        Region and Bucket Key unknown (None); ``encryption_error`` and ``policy_error`` say
        that they were not read; ``error`` joins the failures.
    """
    why = _("not read: the bucket's region is unknown")
    return BucketInfo(
        name=name,
        region=None,
        bucket_key=None,
        error="; ".join(failures) or _("The bucket's region could not be read."),
        encryption_error=why,
        policy_error=why,
        owner_account=owner_account,
    )
