# ruff: noqa: E501  (the issue's key policies are kept verbatim)
"""Issue 12: verdicts that match what AWS accepts (pure rules, hand-made records).

The two key policies of the issue, verbatim: AWS Control Tower's "minimum required" CloudTrail
statement (no DescribeKey) and CDK's ``grantEncrypt`` to the CloudTrail service principal. AWS
accepts both for a bucket without an S3 Bucket Key and refuses both with one. A bucket that
cannot be read, or does not exist, is never ``ready``.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from trailkit.records import BucketInfo, KeyInfo, Trail
from trailkit.rules.checks import (
    UNVERIFIED_CODES,
    KeyLookup,
    Report,
    Severity,
    preflight,
    rank_candidates,
)
from trailkit.rules.keyids import parse_key_id

ACCOUNT = "111122223333"
KEY_ID = "1234abcd-12ab-34cd-56ef-1234567890ab"
CT_TRAIL = f"arn:aws:cloudtrail:us-east-1:{ACCOUNT}:trail/aws-controltower-BaselineCloudTrail"
PLAIN_TRAIL = f"arn:aws:cloudtrail:us-east-1:{ACCOUNT}:trail/app"

CONTROL_TOWER = """{"Version":"2012-10-17","Statement":[
 {"Sid":"Enable IAM User Permissions","Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111122223333:root"},"Action":"kms:*","Resource":"*"},
 {"Sid":"Allow CloudTrail to use KMS for encryption","Effect":"Allow","Principal":{"Service":"cloudtrail.amazonaws.com"},
  "Action":["kms:GenerateDataKey*","kms:Decrypt"],"Resource":"arn:aws:kms:us-east-1:111122223333:key/KEY-ID",
  "Condition":{"StringEquals":{"aws:SourceArn":"arn:aws:cloudtrail:us-east-1:111122223333:trail/aws-controltower-BaselineCloudTrail"},
               "StringLike":{"kms:EncryptionContext:aws:cloudtrail:arn":"arn:aws:cloudtrail:*:111122223333:trail/*"}}}]}
""".replace("KEY-ID", KEY_ID)

CDK_GRANT_ENCRYPT = """{"Version":"2012-10-17","Statement":[
 {"Sid":"Enable IAM User Permissions","Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111122223333:root"},"Action":"kms:*","Resource":"*"},
 {"Effect":"Allow","Principal":{"Service":"cloudtrail.amazonaws.com"},"Action":["kms:Encrypt","kms:ReEncrypt*","kms:GenerateDataKey*"],"Resource":"*"}]}
"""

COMPLETE = json.dumps(
    {
        "Version": "2012-10-17",
        "Statement": [
            json.loads(CONTROL_TOWER)["Statement"][0],
            {
                "Effect": "Allow",
                "Principal": {"Service": "cloudtrail.amazonaws.com"},
                "Action": ["kms:GenerateDataKey*", "kms:DescribeKey", "kms:Decrypt"],
                "Resource": "*",
            },
        ],
    }
)


def _bucket(**kw: Any) -> BucketInfo:
    fields: dict[str, Any] = {"name": "logs", "region": "us-east-1", "bucket_key": False}
    fields.update(kw)
    return BucketInfo(**fields)


def _trail(arn: str = CT_TRAIL, bucket: BucketInfo | None = None, **kw: Any) -> Trail:
    fields: dict[str, Any] = {
        "name": arn.rsplit("/", 1)[1],
        "arn": arn,
        "home_region": "us-east-1",
        "account": ACCOUNT,
        "multi_region": True,
        "organization": arn == CT_TRAIL,
        "bucket_name": "logs",
        "s3_prefix": None,
        "kms_key_id": None,
        "log_file_validation": False,
        "bucket": bucket if bucket is not None else _bucket(),
    }
    fields.update(kw)
    return Trail(**fields)


def _key(policy: str, region: str = "us-east-1") -> KeyInfo:
    arn = f"arn:aws:kms:{region}:{ACCOUNT}:key/{KEY_ID}"
    return KeyInfo(
        arn=arn,
        key_id=KEY_ID,
        account=ACCOUNT,
        region=region,
        aliases=(),
        state="Enabled",
        key_spec="SYMMETRIC_DEFAULT",
        key_usage="ENCRYPT_DECRYPT",
        manager="CUSTOMER",
        policy=policy,
    )


def _report(trail: Trail, key: KeyInfo) -> Report:
    return preflight(
        trail=trail,
        trail_input=trail.arn,
        key_input=key.arn,
        lookup=KeyLookup(ref=parse_key_id(key.arn), key=key),
        caller_account=ACCOUNT,
    )


POLICIES = [
    pytest.param(CONTROL_TOWER, CT_TRAIL, id="control-tower-minimum"),
    pytest.param(CDK_GRANT_ENCRYPT, PLAIN_TRAIL, id="cdk-grant-encrypt"),
]


@pytest.mark.parametrize(("policy", "trail_arn"), POLICIES)
def test_no_describe_key_grant_is_ready_on_a_plain_bucket(policy: str, trail_arn: str) -> None:
    report = _report(_trail(trail_arn), _key(policy))
    assert str(report.verdict) == "ready", report.findings
    (describe,) = [f for f in report.findings if f.code == "policy-describe"]
    assert describe.severity is Severity.WARNING
    assert "S3 Bucket Key" in describe.message


@pytest.mark.parametrize(("policy", "trail_arn"), POLICIES)
def test_no_describe_key_grant_is_blocked_with_a_bucket_key(policy: str, trail_arn: str) -> None:
    report = _report(_trail(trail_arn, _bucket(bucket_key=True)), _key(policy))
    assert str(report.verdict) == "blocked", report.findings
    errors = {f.code for f in report.errors}
    assert "policy-describe" in errors
    # Control Tower's statement grants Decrypt; CDK's grantEncrypt does not.
    assert ("policy-bucket-key-decrypt" in errors) is (policy is CDK_GRANT_ENCRYPT)


@pytest.mark.parametrize(("policy", "trail_arn"), POLICIES)
def test_no_describe_key_grant_is_unverifiable_when_the_bucket_key_is_unknown(
    policy: str, trail_arn: str
) -> None:
    bucket = _bucket(bucket_key=None, encryption_error="GetBucketEncryption was denied")
    report = _report(_trail(trail_arn, bucket), _key(policy))
    assert str(report.verdict) == "unverifiable", report.findings
    (finding,) = [f for f in report.findings if f.code == "bucket-key-unverified"]
    assert "kms:DescribeKey" in finding.message and "GetBucketEncryption" in finding.message
    assert "s3:GetEncryptionConfiguration" in finding.remedy


def test_a_complete_policy_needs_no_bucket_key_answer() -> None:
    """Whether the bucket has a Bucket Key does not matter when the policy allows all three."""
    bucket = _bucket(bucket_key=None, encryption_error="denied")
    report = _report(_trail(PLAIN_TRAIL, bucket), _key(COMPLETE))
    assert str(report.verdict) == "ready", report.findings


def test_the_issues_unreadable_bucket_is_unverifiable_not_ready() -> None:
    """Bucket in account 444455556666, unreadable from the trail's account; the key (complete
    CloudTrail policy) in us-west-2; the bucket in us-east-1 (which cannot be learned)."""
    bucket = BucketInfo(
        name="org-log-archive",
        region=None,
        bucket_key=None,
        error="HeadBucket was denied; GetBucketLocation was denied",
        policy_error="not read",
    )
    trail = _trail(PLAIN_TRAIL, bucket, bucket_name="org-log-archive")
    report = _report(trail, _key(COMPLETE, region="us-west-2"))
    assert str(report.verdict) == "unverifiable", report.findings
    assert not report.ready
    codes = {f.code for f in report.findings}
    assert {"bucket-unreadable", "key-region-unverified"} <= codes
    (region,) = [f for f in report.findings if f.code == "key-region-unverified"]
    assert "us-west-2" in region.message
    assert "s3:GetBucketLocation" in region.remedy and "s3:ListBucket" in region.remedy


def test_once_the_region_is_known_the_same_key_is_blocked() -> None:
    """HeadBucket's x-amz-bucket-region (answered with a 403) gives the region: a mismatch."""
    bucket = BucketInfo(name="org-log-archive", region="us-east-1", bucket_key=None)
    trail = _trail(PLAIN_TRAIL, bucket, bucket_name="org-log-archive")
    report = _report(trail, _key(COMPLETE, region="us-west-2"))
    assert str(report.verdict) == "blocked"
    assert "key-region-mismatch" in {f.code for f in report.errors}


def test_a_deleted_bucket_is_blocked() -> None:
    bucket = BucketInfo(name="gone", region=None, bucket_key=None, missing=True, error="404")
    trail = _trail(PLAIN_TRAIL, bucket, bucket_name="gone")
    report = _report(trail, _key(COMPLETE))
    assert str(report.verdict) == "blocked"
    (finding,) = report.errors
    assert finding.code == "bucket-not-found"
    assert finding.aws_error == "S3BucketDoesNotExistException"
    # Nothing about an unknown region: the bucket is known not to exist.
    assert not {f.code for f in report.findings} & {"key-region-unverified", "bucket-unreadable"}


def test_an_explicit_deny_of_describe_key_without_a_bucket_key_is_a_warning() -> None:
    policy = json.loads(COMPLETE)
    policy["Statement"].append(
        {
            "Sid": "NoDescribe",
            "Effect": "Deny",
            "Principal": {"Service": "cloudtrail.amazonaws.com"},
            "Action": "kms:DescribeKey",
            "Resource": "*",
        }
    )
    plain = _report(_trail(PLAIN_TRAIL), _key(json.dumps(policy)))
    assert str(plain.verdict) == "ready"
    assert [f.code for f in plain.findings if f.code.startswith("policy-")] == ["policy-describe"]
    with_key = _report(_trail(PLAIN_TRAIL, _bucket(bucket_key=True)), _key(json.dumps(policy)))
    assert [f.code for f in with_key.errors] == ["policy-deny"]


def test_ranking_gives_the_unverified_rule_as_the_reason() -> None:
    bucket = BucketInfo(name="logs", region=None, bucket_key=None, error="denied")
    (verdict,) = rank_candidates(_trail(PLAIN_TRAIL, bucket), [_key(COMPLETE)], ACCOUNT)
    assert str(verdict.kind) == "unverifiable"
    assert "region of bucket logs is unknown" in verdict.reason


def test_every_unverified_code_is_catalogued_as_a_warning() -> None:
    from trailkit.rules.checks import CATALOGUE

    for code in UNVERIFIED_CODES:
        assert CATALOGUE[code].severity is Severity.WARNING, code


def test_a_deleted_bucket_has_no_bucket_key_finding() -> None:
    """A fresh user saw `bucket-key-unverified` (grant s3:GetEncryptionConfiguration) next to
    `bucket-not-found`: only the latter says something true and useful."""
    bucket = BucketInfo(name="gone", region=None, bucket_key=None, missing=True)
    report = _report(_trail(PLAIN_TRAIL, bucket, bucket_name="gone"), _key(CDK_GRANT_ENCRYPT))
    assert "bucket-key-unverified" not in {f.code for f in report.findings}


def test_the_repair_adds_what_a_bucket_key_needs_when_the_setting_is_unknown() -> None:
    """`trailkit policy --apply` was the remedy of bucket-key-unverified but added only
    DescribeKey; the check then still said kms:Decrypt was missing."""
    from dataclasses import replace

    from trailkit.rules.repair import plan_repair

    bucket = _bucket(region=None, bucket_key=None, error="denied")
    trail = _trail(PLAIN_TRAIL, bucket)
    key = _key(CDK_GRANT_ENCRYPT)
    before = _report(trail, key)
    assert "bucket-key-unverified" in {f.code for f in before.findings}
    (finding,) = [f for f in before.findings if f.code == "bucket-key-unverified"]
    assert "s3:GetBucketLocation" in finding.remedy  # the region first: nothing else is readable
    repair = plan_repair(key, [trail])
    actions = {s["Action"] for s in repair.added}
    assert {"kms:DescribeKey", "kms:Decrypt"} <= actions, repair.added
    after = _report(trail, replace(key, policy=repair.policy_text))
    assert "bucket-key-unverified" not in {f.code for f in after.findings}
