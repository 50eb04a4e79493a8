"""What CloudTrail asks of KMS when it writes a trail's logs, and what a log reader asks.

The requests are built exactly as the AWS documentation describes them (see
``docs/cloudtrail-kms.md``, sections 2-4: "Configure AWS KMS key policies for CloudTrail"): the
service principal ``cloudtrail.amazonaws.com`` calls ``kms:GenerateDataKey*`` with the
encryption context ``aws:cloudtrail:arn`` (and ``aws:s3:arn``), ``kms:DescribeKey``, and, for a
bucket with an S3 Bucket Key, ``kms:Decrypt``; a reader decrypts through S3
(``kms:ViaService``). :mod:`trailkit.rules.policy` evaluates them against a key policy. Pure.
"""

from __future__ import annotations

from trailkit.arn import arn_partition, arn_region
from trailkit.rules.policy import ContextValue, Principal, Request

__all__ = ["CLOUDTRAIL_SERVICE", "READER_ROLE", "cloudtrail_requests", "reader_request"]

#: The CloudTrail service principal, the one spelling every layer uses.
CLOUDTRAIL_SERVICE = "cloudtrail.amazonaws.com"
#: The name of the representative reader role: "any principal of the account".
READER_ROLE = "trailkit-log-reader"


def cloudtrail_requests(
    *, trail_arn: str, bucket_name: str, key_arn: str, source_account: str, bucket_key: bool
) -> dict[str, Request]:
    """The KMS requests CloudTrail makes when a trail is switched to ``key_arn``.

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

    Returns
    -------
    dict of str to Request
        ``"encrypt"`` (``kms:GenerateDataKey``), ``"describe"`` (``kms:DescribeKey``) and, with a
        bucket key, ``"decrypt"`` (``kms:Decrypt``), all by the service principal
        ``cloudtrail.amazonaws.com``.
    """
    partition = arn_partition(trail_arn) or "aws"
    service = Principal(kind="Service", value=CLOUDTRAIL_SERVICE)
    source: dict[str, ContextValue] = {
        "aws:SourceArn": trail_arn,
        "aws:SourceAccount": source_account,
        "aws:PrincipalIsAWSService": True,
    }
    encryption: dict[str, ContextValue] = {
        "kms:EncryptionContext:aws:cloudtrail:arn": trail_arn,
        "kms:EncryptionContext:aws:s3:arn": (
            f"arn:{partition}:s3:::{bucket_name}/AWSLogs/{source_account}/*"
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
    *, account: str, key_arn: str, trail_arn: str, principal: str | None = None
) -> Request:
    """A reader of the logs decrypting a log file via S3 (``kms:Decrypt`` by an AWS principal).

    The request is what KMS sees when a principal reads a log object with ``s3:GetObject``: the
    log files' encryption context ``aws:cloudtrail:arn`` (CloudTrail user guide, "How AWS
    CloudTrail uses AWS KMS"), ``kms:ViaService`` = ``s3.REGION.amazonaws.com`` (KMS developer
    guide, "kms:ViaService"), ``kms:CallerAccount`` and ``aws:PrincipalAccount`` = the reader's
    account, ``aws:PrincipalArn`` = the reader.

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
