"""S3 reads of a trail's bucket (``GetBucketLocation``, ``GetBucketEncryption``,
``GetBucketPolicy``) and the :class:`~trailkit.records.BucketInfo` they make.

A bucket that cannot be read is an answer (``BucketInfo.error``, the failure noted), not an
exception. Caching and scheduling are :class:`trailkit.aws.reader.Reader`'s.
"""

from __future__ import annotations

from trailkit.aws.service import ServiceReader
from trailkit.errors import AwsError, TrailkitError
from trailkit.permissions import requires
from trailkit.records import BucketInfo

__all__ = ["S3", "Encryption", "Policy", "bucket_info", "bucket_region"]

#: (default algorithm, default KMS key, Bucket Key enabled, error)
Encryption = tuple[str | None, str | None, bool, str | None]
#: (policy document, error)
Policy = tuple[str | None, str | None]

# GetBucketLocation's LocationConstraint -> region (S3 API reference, GetBucketLocation: buckets
# in us-east-1 have a null constraint; "EU" is the legacy name of eu-west-1).
_LEGACY_LOCATIONS: dict[str | None, str] = {None: "us-east-1", "": "us-east-1", "EU": "eu-west-1"}


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


class S3(ServiceReader):
    """The S3 calls of a reader (see :class:`~trailkit.aws.service.ServiceReader`)."""

    service = "s3"

    @requires("s3:GetBucketLocation")
    def location(self, name: str) -> str | BucketInfo:
        """The bucket's region, or a BucketInfo that says why it cannot be read.

        Parameters
        ----------
        name : str
            The bucket.

        Returns
        -------
        str or BucketInfo
            The region (:func:`bucket_region`), or ``BucketInfo(region=None, error=...)`` with
            the failure noted.
        """
        try:
            loc = self.call("GetBucketLocation", "us-east-1", Bucket=name)
        except TrailkitError as err:
            error = self.noted(err, region=None, resource=f"s3://{name}")
            return BucketInfo(name=name, region=None, error=error)
        return bucket_region(loc.get("LocationConstraint"))

    @requires("s3:GetEncryptionConfiguration")
    def encryption(self, name: str, region: str) -> Encryption:
        """The bucket's default encryption.

        Parameters
        ----------
        name, region : str
            The bucket and its region.

        Returns
        -------
        Encryption
            (default algorithm, default KMS key, Bucket Key enabled, error). A bucket without
            an encryption configuration has ``AES256``: S3 encrypts every new object with SSE-S3
            since January 2023 (moto answers ``ServerSideEncryptionConfigurationNotFoundError``).
            Any other failure is noted and returned as the error.
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
            return None, None, False, self.noted(err, region=region, resource=f"s3://{name}")
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
    def policy(self, name: str, region: str) -> Policy:
        """The bucket policy.

        Parameters
        ----------
        name, region : str
            The bucket and its region.

        Returns
        -------
        Policy
            (policy, error): ``(None, None)`` for a bucket without a policy
            (``NoSuchBucketPolicy``); any other failure is noted and returned as the error.
        """
        try:
            pol = self.call("GetBucketPolicy", region, Bucket=name)
        except AwsError as err:
            if err.code == "NoSuchBucketPolicy":
                return None, None
            return None, self.noted(err, region=region, resource=f"s3://{name}")
        return pol.get("Policy"), None


def bucket_info(name: str, region: str, encryption: Encryption, policy: Policy) -> BucketInfo:
    """The facts of a bucket from its region, encryption and policy reads.

    Parameters
    ----------
    name, region : str
        The bucket and its region.
    encryption : Encryption
        :meth:`S3.encryption`.
    policy : Policy
        :meth:`S3.policy`.

    Returns
    -------
    BucketInfo
        ``error`` joins the errors of both reads (None when both succeeded).
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
        # the bucket policy rules tell "no policy" (both None) from "could not be read"
        policy_error=policy_error,
    )
