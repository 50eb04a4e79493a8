"""Issue 12 item 4: the bucket policy must still accept CloudTrail's deliveries after the change.

Pure: the requests of :func:`trailkit.rules.requests.delivery_requests` and the rule
:func:`trailkit.rules.checks.check_delivery` (through :func:`preflight`), over hand-made
records. The same examples through the CLI and the demo estate are at the end.
"""

from __future__ import annotations

import io
import json
from dataclasses import replace
from typing import Any

import pytest

from trailkit.aws.s3 import bucket_info
from trailkit.records import BucketInfo, KeyInfo, Trail, TrailStatus
from trailkit.rules.checks import (
    CATALOGUE,
    UNVERIFIED_CODES,
    KeyLookup,
    Report,
    Severity,
    check_delivery,
    preflight,
    rank_candidates,
)
from trailkit.rules.keyids import parse_key_id
from trailkit.rules.requests import CLOUDTRAIL_SERVICE, delivery_requests
from trailkit.ui.cli import main

ACCOUNT = "111111111111"
TRAIL_ARN = f"arn:aws:cloudtrail:us-east-1:{ACCOUNT}:trail/t"
BUCKET = "logs"
OLD = f"arn:aws:kms:us-east-1:{ACCOUNT}:key/11111111-1111-1111-1111-111111111111"
NEW = f"arn:aws:kms:us-east-1:{ACCOUNT}:key/22222222-2222-2222-2222-222222222222"
THIRD = f"arn:aws:kms:us-east-1:{ACCOUNT}:key/33333333-3333-3333-3333-333333333333"
KEY_ID_HEADER = "s3:x-amz-server-side-encryption-aws-kms-key-id"

KEY_POLICY = {
    "Version": "2012-10-17",
    "Statement": [
        {
            "Sid": "Root",
            "Effect": "Allow",
            "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:root"},
            "Action": "kms:*",
            "Resource": "*",
        },
        {
            "Sid": "CloudTrail",
            "Effect": "Allow",
            "Principal": {"Service": CLOUDTRAIL_SERVICE},
            "Action": ["kms:GenerateDataKey*", "kms:DescribeKey"],
            "Resource": "*",
        },
    ],
}

# The standard statements (CloudTrail user guide, "Amazon S3 bucket policy for CloudTrail").
ACL_CHECK = {
    "Sid": "AWSCloudTrailAclCheck20150319",
    "Effect": "Allow",
    "Principal": {"Service": CLOUDTRAIL_SERVICE},
    "Action": "s3:GetBucketAcl",
    "Resource": f"arn:aws:s3:::{BUCKET}",
    "Condition": {"StringEquals": {"aws:SourceArn": TRAIL_ARN}},
}
WRITE = {
    "Sid": "AWSCloudTrailWrite20150319",
    "Effect": "Allow",
    "Principal": {"Service": CLOUDTRAIL_SERVICE},
    "Action": "s3:PutObject",
    "Resource": f"arn:aws:s3:::{BUCKET}/AWSLogs/{ACCOUNT}/*",
    "Condition": {
        "StringEquals": {
            "s3:x-amz-acl": "bucket-owner-full-control",
            "aws:SourceArn": TRAIL_ARN,
            "aws:SourceAccount": ACCOUNT,
        }
    },
}


def _deny(sid: str, condition: dict[str, Any], resource: str = f"arn:aws:s3:::{BUCKET}/*") -> Any:
    return {
        "Sid": sid,
        "Effect": "Deny",
        "Principal": "*",
        "Action": "s3:PutObject",
        "Resource": resource,
        "Condition": condition,
    }


def _policy(*statements: Any) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)})


STANDARD = _policy(ACL_CHECK, WRITE)
# Issue example 1: deny any upload whose KMS key id is not the trail's current key.
PIN_OLD = _policy(
    ACL_CHECK, WRITE, _deny("DenyOtherKeys", {"StringNotEquals": {KEY_ID_HEADER: OLD}})
)
# The same, but only for uploads that name a KMS key (SSE-S3 uploads pass).
PIN_OLD_IF_KMS = _policy(
    ACL_CHECK,
    WRITE,
    _deny(
        "DenyOtherKmsKeys",
        {"Null": {KEY_ID_HEADER: "false"}, "StringNotEquals": {KEY_ID_HEADER: OLD}},
    ),
)
# Issue example 2: only aws:kms uploads are accepted.
KMS_ONLY = _policy(
    ACL_CHECK,
    WRITE,
    _deny("DenyNonKmsUploads", {"StringNotEquals": {"s3:x-amz-server-side-encryption": "aws:kms"}}),
)
# No Deny, but the only Allow wants aws:kms: a disable is refused by default.
ALLOW_KMS_ONLY = _policy(
    ACL_CHECK,
    {
        **WRITE,
        "Sid": "WriteKmsOnly",
        "Condition": {
            "StringEquals": {
                "s3:x-amz-acl": "bucket-owner-full-control",
                "s3:x-amz-server-side-encryption": "aws:kms",
            }
        },
    },
)
# Only the digest files must be aws:kms.
DIGESTS_KMS_ONLY = _policy(
    ACL_CHECK,
    WRITE,
    _deny(
        "DigestsKmsOnly",
        {"StringNotEquals": {"s3:x-amz-server-side-encryption": "aws:kms"}},
        resource=f"arn:aws:s3:::{BUCKET}/AWSLogs/*/CloudTrail-Digest/*",
    ),
)
# A Deny with an operator trailkit does not evaluate, which might match CloudTrail's upload.
TLS_DENY = _policy(ACL_CHECK, WRITE, _deny("OldTls", {"NumericLessThan": {"s3:TlsVersion": "1.2"}}))
# Nothing lets CloudTrail write (a policy for another writer only).
NO_CLOUDTRAIL = _policy(
    {
        "Sid": "OtherWriter",
        "Effect": "Allow",
        "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:role/writer"},
        "Action": "s3:PutObject",
        "Resource": f"arn:aws:s3:::{BUCKET}/*",
    }
)


def _trail(policy: str | None = STANDARD, key: str | None = OLD, **kw: Any) -> Trail:
    bucket = kw.pop("bucket", BucketInfo(name=BUCKET, region="us-east-1", policy=policy))
    base = Trail(
        name="t",
        arn=TRAIL_ARN,
        home_region="us-east-1",
        account=ACCOUNT,
        multi_region=False,
        organization=False,
        bucket_name=BUCKET,
        s3_prefix=None,
        kms_key_id=key,
        log_file_validation=False,
        bucket=bucket,
    )
    return replace(base, **kw)


def _key(arn: str) -> KeyInfo:
    return KeyInfo(
        arn=arn,
        key_id=arn.rsplit("/", 1)[1],
        account=ACCOUNT,
        region="us-east-1",
        aliases=(f"alias/{arn[-4:]}",),
        state="Enabled",
        key_spec="SYMMETRIC_DEFAULT",
        key_usage="ENCRYPT_DECRYPT",
        manager="CUSTOMER",
        policy=json.dumps(KEY_POLICY),
    )


def _report(trail: Trail, target: str | None, **lookup: Any) -> Report:
    text = "" if target is None else target
    key = None if target is None or lookup else _key(target)
    return preflight(
        trail=trail,
        trail_input=trail.name,
        key_input=text,
        lookup=KeyLookup(ref=parse_key_id(lookup.pop("text", text)), key=key, **lookup),
        caller_account=ACCOUNT,
    )


def _bucket_codes(report: Report) -> set[str]:
    return {f.code for f in report.findings if f.code.startswith("bucket-policy")}


# -- the requests ----------------------------------------------------------------------------


def test_a_kms_delivery_carries_the_key_arn_and_every_documented_context_key() -> None:
    requests = delivery_requests(
        trail_arn=TRAIL_ARN, bucket_name=BUCKET, source_account=ACCOUNT, key_arn=NEW
    )
    assert set(requests) == {"log"}
    log = requests["log"]
    assert log.principal.kind == "Service" and log.principal.value == CLOUDTRAIL_SERVICE
    assert log.action == "s3:PutObject"
    assert log.resource.startswith(f"arn:aws:s3:::{BUCKET}/AWSLogs/{ACCOUNT}/CloudTrail/us-east-1/")
    assert log.resource.endswith(".json.gz")
    assert dict(log.context) == {
        "s3:x-amz-acl": "bucket-owner-full-control",
        "aws:SourceArn": TRAIL_ARN,
        "aws:SourceAccount": ACCOUNT,
        "aws:PrincipalIsAWSService": True,
        "aws:PrincipalServiceName": CLOUDTRAIL_SERVICE,
        "aws:SecureTransport": True,
        "s3:x-amz-server-side-encryption": "aws:kms",
        KEY_ID_HEADER: NEW,
    }


def test_an_sse_s3_delivery_is_aes256_without_a_key_id() -> None:
    (log,) = delivery_requests(
        trail_arn=TRAIL_ARN, bucket_name=BUCKET, source_account=ACCOUNT, key_arn=None
    ).values()
    assert log.context["s3:x-amz-server-side-encryption"] == "AES256"
    assert KEY_ID_HEADER not in log.context


def test_digest_prefix_organization_and_partition_shape_the_object_arns() -> None:
    cn_trail = f"arn:aws-cn:cloudtrail:cn-north-1:{ACCOUNT}:trail/org"
    requests = delivery_requests(
        trail_arn=cn_trail,
        bucket_name=BUCKET,
        source_account=ACCOUNT,
        key_arn=None,
        prefix="/team/a/",
        organization_id="o-abcd123456",
        digests=True,
    )
    base = f"arn:aws-cn:s3:::{BUCKET}/team/a/AWSLogs/o-abcd123456/{ACCOUNT}"
    assert requests["log"].resource.startswith(f"{base}/CloudTrail/cn-north-1/")
    assert requests["digest"].resource.startswith(f"{base}/CloudTrail-Digest/cn-north-1/")
    assert "_CloudTrail-Digest_cn-north-1_org_" in requests["digest"].resource


# -- the rule, table-driven ------------------------------------------------------------------

# name, trail, target key (None: disable), bucket codes expected, verdict
CASES: list[tuple[str, Trail, str | None, set[str], str]] = [
    ("standard policy, new key", _trail(), NEW, set(), "ready"),
    ("standard policy, disable", _trail(), None, set(), "ready"),
    ("issue 1: pinned to the current key, new key", _trail(PIN_OLD), NEW,
     {"bucket-policy-denies-delivery"}, "blocked"),
    ("issue 1: pinned to the current key, same key", _trail(PIN_OLD), OLD, set(), "ready"),
    ("issue 1: pinned to the current key, disable", _trail(PIN_OLD), None,
     {"bucket-policy-denies-delivery"}, "blocked"),
    ("pinned only for KMS uploads, new key", _trail(PIN_OLD_IF_KMS), NEW,
     {"bucket-policy-denies-delivery"}, "blocked"),
    ("pinned only for KMS uploads, disable", _trail(PIN_OLD_IF_KMS), None, set(), "ready"),
    ("issue 2: aws:kms only, disable", _trail(KMS_ONLY), None,
     {"bucket-policy-denies-delivery"}, "blocked"),
    ("issue 2: aws:kms only, new key", _trail(KMS_ONLY), NEW, set(), "ready"),
    ("issue 2: aws:kms only, from SSE-S3 to a key", _trail(KMS_ONLY, key=None), NEW, set(),
     "ready"),
    ("the only Allow wants aws:kms, disable", _trail(ALLOW_KMS_ONLY), None,
     {"bucket-policy-denies-delivery"}, "blocked"),
    ("digests must be aws:kms, disable with validation",
     _trail(DIGESTS_KMS_ONLY, log_file_validation=True), None,
     {"bucket-policy-denies-delivery"}, "blocked"),
    ("digests must be aws:kms, disable without validation", _trail(DIGESTS_KMS_ONLY), None,
     set(), "ready"),
    ("already broken: pinned to a third key", _trail(_policy(
        ACL_CHECK, WRITE, _deny("DenyOtherKeys", {"StringNotEquals": {KEY_ID_HEADER: THIRD}})
    )), NEW, {"bucket-policy-already-denies-delivery"}, "ready"),
    ("already broken: nothing lets CloudTrail write", _trail(NO_CLOUDTRAIL), NEW,
     {"bucket-policy-already-denies-delivery"}, "ready"),
    ("no bucket policy at all", _trail(None), NEW, set(), "ready"),
    ("policy unreadable", _trail(bucket=BucketInfo(
        name=BUCKET, region="us-east-1", policy_error="AccessDenied", error="AccessDenied"
    )), NEW, {"bucket-policy-unverified"}, "unverifiable"),
    ("policy unreadable, disable", _trail(bucket=BucketInfo(
        name=BUCKET, region="us-east-1", policy_error="AccessDenied", error="AccessDenied"
    )), None, {"bucket-policy-unverified"}, "unverifiable"),
    ("bucket not read at all", _trail(bucket=BucketInfo(
        name=BUCKET, region=None, error="AccessDenied"
    )), NEW, {"bucket-policy-unverified"}, "unverifiable"),
    # no delivery finding: the bucket rule blocks (bucket-not-found)
    ("bucket missing", _trail(bucket=BucketInfo(name=BUCKET, region=None, missing=True)), NEW,
     set(), "blocked"),
    ("an operator trailkit does not evaluate", _trail(TLS_DENY), NEW,
     {"bucket-policy-unverified"}, "unverifiable"),
    ("not a policy", _trail("{not json"), NEW, {"bucket-policy-unverified"}, "unverifiable"),
]  # fmt: skip


@pytest.mark.parametrize(
    ("name", "trail", "target", "codes", "verdict"), CASES, ids=[c[0] for c in CASES]
)
def test_bucket_policy_for_the_delivery_after_the_change(
    name: str, trail: Trail, target: str | None, codes: set[str], verdict: str
) -> None:
    report = _report(trail, target)
    assert _bucket_codes(report) == codes, report.findings
    if target == OLD:
        assert report.nothing_to_do
    assert str(report.verdict) == verdict, report.findings
    for f in report.findings:
        assert f.code in CATALOGUE and f.severity is CATALOGUE[f.code].severity
        assert f.message and f.remedy


def _one(report: Report, code: str) -> Any:
    (finding,) = [f for f in report.findings if f.code == code]
    return finding


def test_issue_example_1_names_the_statement_and_the_keys() -> None:
    finding = _one(_report(_trail(PIN_OLD), NEW), "bucket-policy-denies-delivery")
    assert finding.severity is Severity.ERROR and finding.blocking
    assert 'statement "DenyOtherKeys"' in finding.message
    assert NEW in finding.message and "log files" in finding.message
    assert "stop arriving" in finding.message
    assert 'statement "DenyOtherKeys"' in finding.remedy and OLD in finding.remedy


def test_issue_example_2_names_the_statement_and_aes256() -> None:
    report = _report(_trail(KMS_ONLY, log_file_validation=True), None)
    finding = _one(report, "bucket-policy-denies-delivery")
    assert 'statement "DenyNonKmsUploads"' in finding.message
    assert "AES256" in finding.message and "log files and digest files" in finding.message
    assert report.disable and not report.ready
    # the new rule decides a disable exactly: the AES256 hedge is not repeated
    assert "bucket-policy-aes256" not in {f.code for f in report.findings}


def test_aes256_warning_stays_for_a_change_to_a_key_with_validation() -> None:
    report = _report(_trail(KMS_ONLY, log_file_validation=True), NEW)
    assert {f.code for f in report.findings} >= {"bucket-policy-aes256", "digest-files"}
    assert "bucket-policy-denies-delivery" not in {f.code for f in report.findings}
    assert report.ready


def test_a_default_deny_names_the_closest_statement() -> None:
    finding = _one(_report(_trail(ALLOW_KMS_ONLY), None), "bucket-policy-denies-delivery")
    assert 'statement "WriteKmsOnly"' in finding.message
    assert "s3:x-amz-server-side-encryption" in finding.message


def test_only_the_digest_files_refused_says_so() -> None:
    report = _report(_trail(DIGESTS_KMS_ONLY, log_file_validation=True), None)
    finding = _one(report, "bucket-policy-denies-delivery")
    assert "denies the digest files" in finding.message and "log files" not in finding.message
    assert 'statement "DigestsKmsOnly"' in finding.message


def test_an_already_broken_delivery_is_not_blamed_on_the_change() -> None:
    trail = _trail(NO_CLOUDTRAIL, status=TrailStatus(latest_delivery_error="AccessDenied"))
    report = _report(trail, NEW)
    finding = _one(report, "bucket-policy-already-denies-delivery")
    assert finding.severity is Severity.WARNING and not finding.blocking
    assert "already refuses" in finding.message and "not the cause" in finding.message
    assert "LatestDeliveryError AccessDenied" in finding.message
    assert "organization" not in finding.message
    assert report.ready  # the change itself is accepted, and changes nothing for delivery
    # an organization trail's files are under AWSLogs/ORG-ID/ACCOUNT/: a policy that refuses
    # them whatever the organization id refuses the real ones, with no hedge
    # (tests/test_request_paths.py has the cases where the id decides)
    org = _one(_report(replace(trail, organization=True), NEW), finding.code)
    assert "organization" not in org.message and org.message == finding.message


def test_an_unreadable_policy_says_which_permission_would_let_it_be_checked() -> None:
    bucket = BucketInfo(name=BUCKET, region="us-east-1", policy_error="AccessDenied")
    report = _report(_trail(bucket=bucket), NEW)
    finding = _one(report, "bucket-policy-unverified")
    assert "bucket-policy-unverified" in UNVERIFIED_CODES
    assert "AccessDenied" in finding.message
    assert f"s3:GetBucketPolicy on arn:aws:s3:::{BUCKET}" in finding.remedy
    assert str(report.verdict) == "unverifiable" and not report.ready


def test_an_unevaluated_operator_is_unverified_with_the_reason() -> None:
    finding = _one(_report(_trail(TLS_DENY), NEW), "bucket-policy-unverified")
    assert "NumericLessThan" in finding.message


def test_a_key_that_could_not_be_described_is_not_taken_for_a_disable() -> None:
    # an alias of another account's key: its ARN (the header CloudTrail sends) is unknown
    unreadable = {"problem": "unreadable", "message": "AccessDenied"}
    alias = f"arn:aws:kms:us-east-1:{ACCOUNT}:alias/elsewhere"
    report = _report(_trail(KMS_ONLY), alias, **unreadable)
    assert _bucket_codes(report) == set()
    # given as a key ARN, the key id is known: the bucket policy is checked with it
    report = _report(_trail(PIN_OLD), NEW, **unreadable)
    assert "bucket-policy-denies-delivery" in _bucket_codes(report)


def test_a_prefix_is_part_of_the_object_the_policy_must_accept() -> None:
    prefixed = {**WRITE, "Resource": f"arn:aws:s3:::{BUCKET}/team/a/AWSLogs/{ACCOUNT}/*"}
    trail = _trail(_policy(ACL_CHECK, prefixed), s3_prefix="team/a")
    assert check_delivery(trail, NEW) == []
    # the same policy for a trail without the prefix: refused now and after
    assert [f.code for f in check_delivery(replace(trail, s3_prefix=None), NEW)] == [
        "bucket-policy-already-denies-delivery"
    ]


def test_ranking_blocks_every_key_the_bucket_policy_refuses() -> None:
    keys = [_key(OLD), _key(NEW), _key(THIRD)]
    verdicts = {v.key.arn: v for v in rank_candidates(_trail(PIN_OLD), keys, ACCOUNT)}
    assert str(verdicts[OLD].kind) == "ready"
    for arn in (NEW, THIRD):
        assert str(verdicts[arn].kind) == "blocked"
        assert verdicts[arn].code == "bucket-policy-denies-delivery"


def test_bucket_info_keeps_why_the_policy_could_not_be_read() -> None:
    info = bucket_info(BUCKET, "us-east-1", ("AES256", None, False, None), (None, "AccessDenied"))
    assert info.policy is None and info.policy_error == "AccessDenied"
    assert (
        bucket_info(BUCKET, "us-east-1", ("AES256", None, False, None), (None, None)).policy_error
        is None
    )


# -- through the CLI and the demo estate -------------------------------------------------------


def _cli(argv: list[str]) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = main(argv, out=out, err=err)
    return code, out.getvalue(), err.getvalue()


def test_cli_check_blocks_a_switch_away_from_the_pinned_key(demo: Any) -> None:
    endpoint, _ = demo
    _, out, err = _cli(
        [
            "--endpoint-url",
            endpoint,
            "check",
            "--trail",
            "pinned-key-trail",
            "--key",
            "alias/multi-region-good",
            "--format",
            "json",
        ]
    )
    data = json.loads(out)
    assert data["verdict"] == "blocked" and data["ready"] is False, err
    (finding,) = [f for f in data["findings"] if f["code"] == "bucket-policy-denies-delivery"]
    assert finding["severity"] == "error"
    assert 'statement "DenyOtherKmsKeys"' in finding["message"]
    assert [f["code"] for f in data["findings"] if f["severity"] == "error"] == [
        "bucket-policy-denies-delivery"
    ]


def test_cli_check_accepts_the_pinned_trail_on_its_own_key(demo: Any) -> None:
    endpoint, _ = demo
    _, out, err = _cli(
        [
            "--endpoint-url",
            endpoint,
            "check",
            "--trail",
            "pinned-key-trail",
            "--key",
            "alias/cloudtrail-good",
            "--format",
            "json",
        ]
    )
    data = json.loads(out)
    assert data["verdict"] == "ready", err
    assert not {f["code"] for f in data["findings"]} & {
        "bucket-policy-denies-delivery",
        "bucket-policy-already-denies-delivery",
        "bucket-policy-unverified",
    }


def test_cli_disable_refuses_a_trail_whose_bucket_accepts_only_aws_kms(demo: Any) -> None:
    endpoint, _ = demo
    disable = ["disable", "--trail", "app-trail", "--dry-run", "--format", "json"]
    code, out, err = _cli(["--endpoint-url", endpoint, *disable])
    assert code == 1, err  # EXIT_NO: refused, nothing sent
    assert "refused: app-trail" in err and "bucket-policy-denies-delivery" in err
    (plan,) = json.loads(out)["plans"]
    assert plan["blocked"] is True and plan["request"]["KmsKeyId"] == ""
    (finding,) = [f for f in plan["findings"] if f["code"] == "bucket-policy-denies-delivery"]
    assert 'statement "DenyNonKmsUploads"' in finding["message"]
    assert "AES256" in finding["message"]
