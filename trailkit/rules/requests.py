"""What CloudTrail asks of KMS and S3 when it writes a trail's logs, and what a log reader asks.

The requests are built exactly as the AWS documentation describes them (see
``docs/cloudtrail-kms.md``, sections 2-4: "Configure AWS KMS key policies for CloudTrail"): the
service principal ``cloudtrail.amazonaws.com`` calls ``kms:GenerateDataKey*`` with the
encryption context ``aws:cloudtrail:arn`` (and ``aws:s3:arn``), ``kms:DescribeKey``, and, for a
bucket with an S3 Bucket Key, ``kms:Decrypt``; a reader decrypts through S3
(``kms:ViaService``). CloudTrail then delivers each log file (and digest file) with
``s3:PutObject`` (section 3a: CloudTrail user guide, "Amazon S3 bucket policy for CloudTrail").
:mod:`trailkit.rules.policy` evaluates them against a key policy or a bucket policy. Pure.
"""

from __future__ import annotations

import re

from trailkit.arn import arn_partition, arn_region
from trailkit.rules.policy import ContextValue, Principal, Request

__all__ = [
    "CLOUDTRAIL_SERVICE",
    "ORGANIZATION_ID",
    "READER_ROLE",
    "cloudtrail_requests",
    "delivery_requests",
    "log_object_arn",
    "reader_request",
]

#: The CloudTrail service principal, the one spelling every layer uses.
CLOUDTRAIL_SERVICE = "cloudtrail.amazonaws.com"
#: The name of the representative reader role: "any principal of the account".
READER_ROLE = "trailkit-log-reader"
#: An organization id: ``o-`` then 10 to 32 lower-case letters or digits (Organizations API
#: reference, ``Organization.Id``), not inside a longer word (``demo-logsbucket`` is no id).
ORGANIZATION_ID = re.compile(r"(?<![A-Za-z0-9_-])o-[a-z0-9]{10,32}(?![A-Za-z0-9_])")

#: The day and time in the representative object names (only the shape of a name matters).
_DAY, _STAMP = "2025/01/01", "20250101T0000Z"


def log_object_arn(
    *,
    trail_arn: str,
    bucket_name: str,
    source_account: str,
    prefix: str | None = None,
    organization_id: str | None = None,
    digest: bool = False,
) -> str:
    """The ARN of a representative object CloudTrail writes for a trail.

    CloudTrail writes log files to
    ``BUCKET/[PREFIX/]AWSLogs/ACCOUNT/CloudTrail/REGION/YYYY/MM/DD/ACCOUNT_CloudTrail_REGION_...``
    and digest files to ``.../CloudTrail-Digest/...`` (CloudTrail user guide, "Finding your
    CloudTrail log files" and "CloudTrail digest file structure"; ``docs/cloudtrail-kms.md``
    section 3a). An organization trail writes every account's files, the management account's
    included, under ``AWSLogs/ORG-ID/ACCOUNT/`` (CloudTrail user guide, "Creating a trail for an
    organization": ``bucket/[prefix]/AWSLogs/o-exampleorgid/111111111111/...``).

    Parameters
    ----------
    trail_arn
        The trail's ARN (its partition and region name the object).
    bucket_name
        The trail's S3 bucket.
    source_account
        The account whose files it is (the ``AWSLogs/ACCOUNT/`` part).
    prefix
        The trail's S3 key prefix (``S3KeyPrefix``), if any; leading and trailing ``/`` are
        dropped.
    organization_id
        For an organization trail, the organization id (``o-...``); None: ``AWSLogs/ACCOUNT/``.
    digest
        A digest file instead of a log file.

    Returns
    -------
    str
        ``arn:PARTITION:s3:::BUCKET/KEY``.
    """
    partition = arn_partition(trail_arn) or "aws"
    region = arn_region(trail_arn) or "us-east-1"
    base = "/".join(
        part.strip("/")
        for part in (prefix, "AWSLogs", organization_id, source_account)
        if part and part.strip("/")
    )
    if digest:
        trail_name = trail_arn.rsplit("/", 1)[-1]
        key = (
            f"{base}/CloudTrail-Digest/{region}/{_DAY}/"
            f"{source_account}_CloudTrail-Digest_{region}_{trail_name}_{region}_{_STAMP}.json.gz"
        )
    else:
        key = (
            f"{base}/CloudTrail/{region}/{_DAY}/"
            f"{source_account}_CloudTrail_{region}_{_STAMP}_trailkit0.json.gz"
        )
    return f"arn:{partition}:s3:::{bucket_name}/{key}"


def cloudtrail_requests(
    *,
    trail_arn: str,
    bucket_name: str,
    key_arn: str,
    source_account: str,
    bucket_key: bool,
    prefix: str | None = None,
    organization_id: str | None = None,
) -> dict[str, Request]:
    """The KMS requests CloudTrail makes when a trail is switched to ``key_arn``.

    The encryption context of ``kms:GenerateDataKey`` is ``aws:cloudtrail:arn`` = the trail ARN
    and ``aws:s3:arn`` = "the ARN of the S3 bucket and path where the CloudTrail log files are
    delivered" (CloudTrail user guide, "How AWS CloudTrail uses AWS KMS"; its example shows a
    log file's object ARN, ``arn:aws:s3:::BUCKET/AWSLogs/ACCOUNT/CloudTrail/REGION/...json.gz``).
    The request carries a representative log object's ARN (:func:`log_object_arn`), so the
    trail's S3 key prefix and an organization trail's ``AWSLogs/ORG-ID/`` are part of it, as
    they are in the real path: a condition that pins the path answers as AWS would.

    Parameters
    ----------
    trail_arn
        The trail's ARN (its partition is used for the S3 ARN).
    bucket_name
        The trail's S3 bucket.
    key_arn
        The key's ARN (the resource of every request).
    source_account
        The account whose trail it is (for an organization trail, the management account).
    bucket_key
        Whether the bucket uses an S3 Bucket Key (then CloudTrail also needs ``kms:Decrypt``).
    prefix
        The trail's S3 key prefix (``S3KeyPrefix``), if any.
    organization_id
        For an organization trail, the organization id (``o-...``); None: the path of a trail
        of one account, ``AWSLogs/ACCOUNT/``.

    Returns
    -------
    dict of str to Request
        ``"encrypt"`` (``kms:GenerateDataKey``), ``"describe"`` (``kms:DescribeKey``) and, with a
        bucket key, ``"decrypt"`` (``kms:Decrypt``), all by the service principal
        ``cloudtrail.amazonaws.com``.
    """
    service = Principal(kind="Service", value=CLOUDTRAIL_SERVICE)
    source: dict[str, ContextValue] = {
        "aws:SourceArn": trail_arn,
        "aws:SourceAccount": source_account,
        "aws:PrincipalIsAWSService": True,
    }
    encryption: dict[str, ContextValue] = {
        "kms:EncryptionContext:aws:cloudtrail:arn": trail_arn,
        "kms:EncryptionContext:aws:s3:arn": log_object_arn(
            trail_arn=trail_arn,
            bucket_name=bucket_name,
            source_account=source_account,
            prefix=prefix,
            organization_id=organization_id,
        ),
        "kms:EncryptionContextKeys": ("aws:cloudtrail:arn", "aws:s3:arn"),
    }
    requests = {
        "encrypt": Request(service, "kms:GenerateDataKey", key_arn, {**encryption, **source}),
        "describe": Request(service, "kms:DescribeKey", key_arn, dict(source)),
    }
    if bucket_key:
        requests["decrypt"] = Request(service, "kms:Decrypt", key_arn, {**encryption, **source})
    return requests


def reader_request(
    *,
    account: str,
    key_arn: str,
    trail_arn: str,
    principal: str | None = None,
    s3_arn: str | None = None,
) -> Request:
    """A reader of the logs decrypting a log file via S3 (``kms:Decrypt`` by an AWS principal).

    The request is what KMS sees when a principal reads a log object with ``s3:GetObject``: the
    encryption context S3 sends, ``aws:cloudtrail:arn`` = the trail ARN and ``aws:s3:arn`` =
    the ARN of the S3 object (the log file) (CloudTrail user guide, "How AWS CloudTrail uses AWS
    KMS", "You get an encrypted log file from your S3 bucket"), or the bucket's ARN when the
    bucket uses an S3 Bucket Key ("S3 Bucket Keys use the bucket ARN as encryption context": S3
    user guide, "Reducing the cost of SSE-KMS with Amazon S3 Bucket Keys", "Changes to note
    before enabling an S3 Bucket Key"); ``kms:ViaService`` = ``s3.REGION.amazonaws.com`` (KMS
    developer guide, "kms:ViaService"); ``kms:CallerAccount`` and ``aws:PrincipalAccount`` = the
    reader's account; ``aws:PrincipalArn`` = the reader.

    AWS does not say whether ``aws:cloudtrail:arn`` stays in the context under a Bucket Key (the
    S3 guide names only ``aws:s3:arn`` as replaced). Decided: it stays. AWS's own CloudTrail
    decrypt statements condition on it and are documented for buckets with a Bucket Key too
    (CloudTrail user guide, "Configure AWS KMS key policies for CloudTrail").

    Parameters
    ----------
    account
        The account the reader belongs to.
    key_arn
        The key's ARN (its region names the S3 endpoint in ``kms:ViaService``).
    trail_arn
        The trail's ARN (the encryption context of the log files; its partition is used).
    principal
        The reader's ARN (an IAM role or user); default: a representative role of ``account``,
        ``arn:<partition>:iam::<account>:role/trailkit-log-reader``, which stands for "any
        principal of the account" (:mod:`trailkit.rules.readers` checks which statement let it
        in, so a policy that happens to name that role is not read as "everyone").
    s3_arn
        The ``aws:s3:arn`` of the context: a log object's ARN (:func:`log_object_arn`) or, with
        an S3 Bucket Key, ``arn:PARTITION:s3:::BUCKET``. None: the request has no
        ``aws:s3:arn`` (the bucket is not known).

    Returns
    -------
    Request
        ``kms:Decrypt`` by ``principal`` on ``key_arn``.
    """
    partition = arn_partition(trail_arn) or "aws"
    role = principal or f"arn:{partition}:iam::{account}:role/{READER_ROLE}"
    context: dict[str, ContextValue] = {
        "kms:CallerAccount": account,
        "kms:EncryptionContext:aws:cloudtrail:arn": trail_arn,
        "aws:PrincipalAccount": account,
        "aws:PrincipalArn": role,
        "aws:PrincipalIsAWSService": False,
    }
    if s3_arn is not None:
        context["kms:EncryptionContext:aws:s3:arn"] = s3_arn
        context["kms:EncryptionContextKeys"] = ("aws:cloudtrail:arn", "aws:s3:arn")
    region = arn_region(key_arn)
    if region:
        suffix = "amazonaws.com.cn" if partition == "aws-cn" else "amazonaws.com"
        context["kms:ViaService"] = f"s3.{region}.{suffix}"
    return Request(
        principal=Principal(kind="AWS", value=role, account=account),
        action="kms:Decrypt",
        resource=key_arn,
        context=context,
    )


def delivery_requests(
    *,
    trail_arn: str,
    bucket_name: str,
    source_account: str,
    key_arn: str | None,
    prefix: str | None = None,
    organization_id: str | None = None,
    digests: bool = False,
) -> dict[str, Request]:
    """The ``s3:PutObject`` requests CloudTrail makes to deliver a trail's files.

    CloudTrail writes as the service principal ``cloudtrail.amazonaws.com`` to
    ``arn:PARTITION:s3:::BUCKET/[PREFIX/]AWSLogs/ACCOUNT/CloudTrail/REGION/...json.gz`` (an
    organization trail: ``AWSLogs/ORG-ID/ACCOUNT/...``), with ``s3:x-amz-acl =
    bucket-owner-full-control``, ``aws:SourceArn`` = the trail ARN and ``aws:SourceAccount``
    (CloudTrail user guide, "Amazon S3 bucket policy for CloudTrail"), over TLS. With SSE-KMS the
    upload carries ``s3:x-amz-server-side-encryption = aws:kms`` and
    ``s3:x-amz-server-side-encryption-aws-kms-key-id`` = the key ARN; with SSE-S3 it carries
    ``AES256`` and no key id (``docs/cloudtrail-kms.md`` section 3a). Digest files go to
    ``.../CloudTrail-Digest/...`` and, since November 2025, are encrypted like the log files
    (section 5).

    Parameters
    ----------
    trail_arn
        The trail's ARN (its partition and region name the objects).
    bucket_name
        The trail's S3 bucket.
    source_account
        The account whose trail it is (``aws:SourceAccount`` and the ``AWSLogs/ACCOUNT/`` part).
    key_arn
        The KMS key the trail uses (after the change); None: SSE-S3.
    prefix
        The trail's S3 key prefix (``S3KeyPrefix``), if any.
    organization_id
        For an organization trail, the organization id (``o-...``): the objects then live under
        ``AWSLogs/ORG-ID/ACCOUNT/``. None keeps ``AWSLogs/ACCOUNT/`` (the trail's own account).
    digests
        Log file validation is on: also the digest file upload.

    Returns
    -------
    dict of str to Request
        ``"log"`` (a log file) and, with ``digests``, ``"digest"`` (a digest file).
    """
    context: dict[str, ContextValue] = {
        "s3:x-amz-acl": "bucket-owner-full-control",
        "aws:SourceArn": trail_arn,
        "aws:SourceAccount": source_account,
        "aws:PrincipalIsAWSService": True,
        "aws:PrincipalServiceName": CLOUDTRAIL_SERVICE,
        "aws:SecureTransport": True,
    }
    if key_arn is None:
        context["s3:x-amz-server-side-encryption"] = "AES256"
    else:
        context["s3:x-amz-server-side-encryption"] = "aws:kms"
        context["s3:x-amz-server-side-encryption-aws-kms-key-id"] = key_arn
    service = Principal(kind="Service", value=CLOUDTRAIL_SERVICE)
    kinds = {"log": False, "digest": True} if digests else {"log": False}
    return {
        name: Request(
            service,
            "s3:PutObject",
            log_object_arn(
                trail_arn=trail_arn,
                bucket_name=bucket_name,
                source_account=source_account,
                prefix=prefix,
                organization_id=organization_id,
                digest=digest,
            ),
            context,
        )
        for name, digest in kinds.items()
    }
