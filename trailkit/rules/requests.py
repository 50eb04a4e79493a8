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

__all__ = ["CLOUDTRAIL_SERVICE", "cloudtrail_requests", "reader_request"]

#: The CloudTrail service principal, the one spelling every layer uses.
CLOUDTRAIL_SERVICE = "cloudtrail.amazonaws.com"


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


def reader_request(*, account: str, key_arn: str, trail_arn: str) -> Request:
    """A representative reader of the logs: a role in ``account`` decrypting a log file via S3.

    Parameters
    ----------
    account
        The account the reader belongs to (usually the trail's account).
    key_arn
        The key's ARN (its region names the S3 endpoint in ``kms:ViaService``).
    trail_arn
        The trail's ARN (the encryption context of the log files).

    Returns
    -------
    Request
        ``kms:Decrypt`` by ``arn:<partition>:iam::<account>:role/trailkit-log-reader``.
    """
    partition = arn_partition(trail_arn) or "aws"
    role = f"arn:{partition}:iam::{account}:role/trailkit-log-reader"
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
