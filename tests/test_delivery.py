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


# --- Issue 15 item 2: delivery status that says what it means ------------------------------
# ``LatestDeliveryError`` / ``LatestDigestDeliveryError`` mapped to a cause and fix
# (:mod:`trailkit.rules.delivery`), in health, in the inventory's problem line and in JSON.

from datetime import UTC, datetime, timedelta  # noqa: E402

from botocore.stub import Stubber  # noqa: E402
from english import assert_japanese  # noqa: E402

from trailkit import i18n  # noqa: E402
from trailkit.aws.reader import Reader  # noqa: E402
from trailkit.aws.session import Connection, ConnectionInfo  # noqa: E402
from trailkit.rules.delivery import UNKNOWN, delivery_cause, error_name  # noqa: E402
from trailkit.rules.health import health  # noqa: E402
from trailkit.ui.terminal import trail_rows  # noqa: E402

NOW = datetime(2026, 12, 5, 12, 0, tzinfo=UTC)
HEALTHY_POLICY = json.dumps(KEY_POLICY)
CT_ARN = f"arn:aws:cloudtrail:us-east-1:{ACCOUNT}:trail/ct-trail"


def _ct_trail(key: str | None = OLD, **status: Any) -> Trail:
    return Trail(
        name="ct-trail",
        arn=CT_ARN,
        home_region="us-east-1",
        account=ACCOUNT,
        multi_region=False,
        organization=False,
        bucket_name=BUCKET,
        s3_prefix="pre",
        kms_key_id=key,
        log_file_validation=True,
        status=TrailStatus(
            is_logging=True, latest_delivery_time=NOW - timedelta(minutes=5), **status
        ),
        bucket=BucketInfo(name=BUCKET, region="us-east-1"),
    )


def _ct_key() -> KeyInfo:
    return KeyInfo(
        arn=OLD,
        key_id=OLD.rsplit("/", 1)[1],
        account=ACCOUNT,
        region="us-east-1",
        aliases=("alias/logs",),
        state="Enabled",
        key_spec="SYMMETRIC_DEFAULT",
        key_usage="ENCRYPT_DECRYPT",
        manager="CUSTOMER",
        policy=HEALTHY_POLICY,
    )


OBJECT = f"arn:aws:s3:::{BUCKET}/pre/AWSLogs/{ACCOUNT}/*"

#: error text, the trail's key, cause code, what the English cause and fix must name.
CAUSE_TABLE: list[tuple[str, str | None, str, list[str], list[str]]] = [
    ("KMS.DisabledException", OLD, "kms-disabled", [OLD, "is disabled", BUCKET], ["enable-key"]),
    ("DisabledException", OLD, "kms-disabled", [OLD, "is disabled"], [f"--key-id {OLD}"]),
    (
        "KMS.KMSInvalidStateException: pending deletion",
        OLD,
        "kms-invalid-state",
        [OLD, "pending deletion"],
        ["cancel-key-deletion", "enable-key"],
    ),
    ("KMS.NotFoundException", OLD, "kms-not-found", [OLD, "cannot be found"], ["--trail ct-trail"]),
    (
        "KMS.AccessDeniedException",
        OLD,
        "kms-access-denied",
        [OLD, "kms:GenerateDataKey*", CLOUDTRAIL_SERVICE, f"aws:SourceArn = {CT_ARN}"],
        ["encrypt statement", "trailkit policy --apply"],
    ),
    (
        "InsufficientEncryptionPolicyException",
        OLD,
        "kms-access-denied",
        [f"arn:aws:cloudtrail:*:{ACCOUNT}:trail/*"],
        ["trailkit policy --apply"],
    ),
    (
        "AccessDenied",
        OLD,
        "s3-access-denied",
        [BUCKET, "s3:PutObject", OBJECT, "bucket-owner-full-control", "s3:GetBucketAcl", OLD],
        ["bucket policy", "trailkit policy --apply"],
    ),
    (
        "AccessDenied",
        None,
        "s3-access-denied",
        [BUCKET, "s3:PutObject", OBJECT, "s3:GetBucketAcl"],
        ["bucket policy"],
    ),
    ("NoSuchBucket", OLD, "s3-no-such-bucket", [BUCKET, "does not exist"], ["update-trail"]),
    (
        "SlowDown: please reduce your request rate",
        OLD,
        UNKNOWN,
        ["SlowDown: please reduce your request rate", "does not document", BUCKET],
        ["check that the next delivery succeeds"],
    ),
    ("", OLD, UNKNOWN, ["does not document"], ["next delivery"]),
]


@pytest.mark.parametrize(("error", "key", "code", "says", "fix_says"), CAUSE_TABLE)
@pytest.mark.parametrize("digest", [False, True])
def test_delivery_error_has_a_cause_and_a_fix(
    error: str, key: str | None, code: str, says: list[str], fix_says: list[str], digest: bool
) -> None:
    found = delivery_cause(_ct_trail(key), error, digest=digest)
    assert found.code == code
    assert found.error == error
    for part in says:
        assert part in found.cause, part
    for part in fix_says:
        assert part in found.fix, part
    assert ("digest files" if digest else "log files") in found.cause or code == "kms-not-found"
    assert found.as_dict()["cause"] == code
    assert found.as_dict()["error"] == error


@pytest.mark.parametrize("error", ["KMS.DisabledException", "KMS.KMSInvalidStateException"])
def test_kms_commands_in_the_fix_name_the_key_region(error: str) -> None:
    """KMS is regional: `aws kms enable-key --key-id ARN` is sent to the shell's default region,
    which does not know a key of another region (NotFoundException). The fix's commands say
    ``--region`` of the key, whatever the operator's default."""
    key = OLD.replace(":us-east-1:", ":eu-west-1:")
    found = delivery_cause(_ct_trail(key), error)
    commands = [c for c in found.fix.split("`") if c.startswith("aws kms ")]
    assert commands
    for command in commands:
        assert command.endswith(f"--key-id {key} --region eu-west-1"), command
    with i18n.speaking("ja"):
        ja = delivery_cause(_ct_trail(key), error)
    assert f"--key-id {key} --region eu-west-1`" in ja.fix


@pytest.mark.parametrize(("error", "key", "code", "says", "fix_says"), CAUSE_TABLE)
def test_delivery_cause_in_japanese(
    error: str, key: str | None, code: str, says: list[str], fix_says: list[str]
) -> None:
    with i18n.speaking("ja"):
        found = delivery_cause(_ct_trail(key), error)
    assert found.code == code
    names = ["ct-trail", BUCKET, error, "KEY", "BUCKET", "pre"]
    assert_japanese(found.cause, names, what=f"cause of {error!r}")
    assert_japanese(found.fix, names, what=f"fix of {error!r}")


def test_a_digest_access_denied_names_the_same_objects_and_digest_files() -> None:
    found = delivery_cause(_ct_trail(), "AccessDenied", digest=True)
    assert OBJECT in found.cause
    assert "upload of digest files" in found.cause


@pytest.mark.parametrize(
    ("text", "name"),
    [
        ("KMS.DisabledException", "DisabledException"),
        ("kms.NotFoundException: gone", "NotFoundException"),
        ("AccessDenied. ", "AccessDenied"),
        ("  NoSuchBucket", "NoSuchBucket"),
        ("", ""),
        ("???", ""),
    ],
)
def test_error_name(text: str, name: str) -> None:
    assert error_name(text) == name


def test_health_gives_the_cause_the_fix_and_the_times(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TZ", "Asia/Tokyo")
    import time

    time.tzset()
    try:
        trail = _ct_trail(latest_delivery_error="KMS.DisabledException")
        found = health(trail, _ct_key(), ACCOUNT, now=NOW)
        (reason,) = [r for r in found.reasons if r.code == "delivery-error"]
        assert str(found.kind) == "broken"
        assert "failed (KMS.DisabledException)" in reason.message
        assert f"The KMS key {OLD} is disabled" in reason.message
        # a time shown to a person is in the operator's timezone, with the zone
        assert "The last successful delivery was at 2026-12-05 20:55:00 JST." in reason.message
        assert reason.fix.startswith("enable the key")
        out = reason.as_dict()
        assert out["delivery"] == {
            "error": "KMS.DisabledException",
            "cause": "kms-disabled",
            "last_delivery": "2026-12-05T11:55:00Z",
            "failed_at": None,
        }
    finally:
        monkeypatch.delenv("TZ")
        time.tzset()


def test_the_failure_time_comes_from_the_attempt_fields_when_aws_sends_them() -> None:
    trail = _ct_trail(
        latest_delivery_error="NoSuchBucket",
        latest_delivery_attempt_time=NOW - timedelta(minutes=1),
        latest_delivery_attempt_succeeded=NOW - timedelta(hours=3),
    )
    (reason,) = [r for r in health(trail, _ct_key(), ACCOUNT, now=NOW).reasons]
    assert reason.code == "delivery-error"
    assert "It failed at 2026-12-05 11:59:00" in reason.message
    assert reason.as_dict()["delivery"]["failed_at"] == "2026-12-05T11:59:00Z"
    assert reason.as_dict()["delivery"]["cause"] == "s3-no-such-bucket"


def test_a_success_after_the_attempt_is_no_failure_time() -> None:
    trail = _ct_trail(
        latest_delivery_error="AccessDenied",
        latest_delivery_attempt_time=NOW - timedelta(hours=1),
        latest_delivery_attempt_succeeded=NOW - timedelta(hours=1),
    )
    (reason,) = health(trail, _ct_key(), ACCOUNT, now=NOW).reasons
    assert reason.as_dict()["delivery"]["failed_at"] is None


def test_digest_delivery_error_is_at_risk_with_its_own_time() -> None:
    trail = _ct_trail(
        latest_digest_delivery_error="AccessDenied",
        latest_digest_delivery_time=datetime(2026, 12, 1, tzinfo=UTC),
    )
    found = health(trail, _ct_key(), ACCOUNT, now=NOW)
    (reason,) = found.reasons
    assert (str(found.kind), reason.code) == ("at-risk", "digest-delivery-error")
    assert "log file integrity cannot be validated" in reason.message
    assert "digest files to bucket logs" in reason.message
    assert reason.as_dict()["delivery"]["last_delivery"] == "2026-12-01T00:00:00Z"


def test_no_delivery_recorded_is_said() -> None:
    trail = replace(
        _ct_trail(),
        status=TrailStatus(is_logging=True, latest_delivery_error="NoSuchBucket"),
    )
    (reason,) = [r for r in health(trail, _ct_key(), ACCOUNT, now=NOW).reasons]
    assert "No successful delivery is recorded." in reason.message
    assert reason.as_dict()["delivery"]["last_delivery"] is None


def test_health_delivery_reason_in_japanese() -> None:
    trail = _ct_trail(latest_delivery_error="KMS.AccessDeniedException")
    with i18n.speaking("ja"):
        (reason,) = health(trail, _ct_key(), ACCOUNT, now=NOW).reasons
    assert_japanese(
        reason.message, ["ct-trail", BUCKET, "KMS.AccessDeniedException"], what="reason"
    )
    assert_japanese(reason.fix, [], what="fix")


def test_problem_line_shows_the_cause_not_the_raw_error() -> None:
    trail = _ct_trail(latest_delivery_error="NoSuchBucket")
    found = health(trail, _ct_key(), ACCOUNT, now=NOW)
    record = {
        "name": "ct-trail",
        "latest_delivery_error": "NoSuchBucket",
        "health_reasons": [r.as_dict() for r in found.reasons],
    }
    (row,) = trail_rows([record])
    assert "delivery: NoSuchBucket" not in row["problems"]
    assert (
        "The bucket logs that ct-trail writes its log files to does not exist." in row["problems"]
    )
    assert "Fix: create bucket logs" in row["problems"]
    # without health (no reasons), the raw text as before
    (plain,) = trail_rows([{"name": "ct-trail", "latest_delivery_error": "NoSuchBucket"}])
    assert plain["problems"] == "delivery: NoSuchBucket"


def _stub_connection() -> Connection:
    conn = Connection(endpoint_url="http://127.0.0.1:9", region="us-east-1", workers=1)
    conn._info = ConnectionInfo(
        account=ACCOUNT,
        caller_arn=f"arn:aws:iam::{ACCOUNT}:user/test",
        endpoint="stub",
        region="us-east-1",
        demo=True,
    )
    return conn


def test_reader_keeps_every_documented_status_field_stubbed() -> None:
    """GetTrailStatus as AWS sends it (the deprecated attempt fields still as ISO text)."""
    conn = _stub_connection()
    client = conn.client("cloudtrail", "us-east-1")
    response = {
        "IsLogging": True,
        "LatestDeliveryError": "KMS.DisabledException",
        "LatestDigestDeliveryError": "AccessDenied",
        "LatestDeliveryTime": datetime(2026, 12, 5, 9, 0, tzinfo=UTC),
        "LatestDigestDeliveryTime": datetime(2026, 12, 5, 8, 0, tzinfo=UTC),
        "StartLoggingTime": datetime(2026, 11, 1, tzinfo=UTC),
        "LatestDeliveryAttemptTime": "2026-12-05T11:58:00Z",
        "LatestDeliveryAttemptSucceeded": "2026-12-05T09:00:00Z",
        "LatestNotificationAttemptSucceeded": "",
        "TimeLoggingStarted": "2026-11-01T00:00:00Z",
    }
    with Stubber(client) as stub:
        stub.add_response("get_trail_status", response, {"Name": CT_ARN})
        status = Reader(conn, workers=1).status(_ct_trail())
        stub.assert_no_pending_responses()
    assert status.latest_delivery_error == "KMS.DisabledException"
    assert status.latest_digest_delivery_error == "AccessDenied"
    assert status.latest_delivery_attempt_time == datetime(2026, 12, 5, 11, 58, tzinfo=UTC)
    assert status.latest_delivery_attempt_succeeded == datetime(2026, 12, 5, 9, 0, tzinfo=UTC)
    trail = replace(_ct_trail(), status=status)
    reasons = {r.code: r.as_dict() for r in health(trail, _ct_key(), ACCOUNT, now=NOW).reasons}
    assert reasons["delivery-error"]["delivery"] == {
        "error": "KMS.DisabledException",
        "cause": "kms-disabled",
        "last_delivery": "2026-12-05T09:00:00Z",
        "failed_at": "2026-12-05T11:58:00Z",
    }
    assert reasons["digest-delivery-error"]["delivery"]["cause"] == "s3-access-denied"


def test_reader_without_the_deprecated_fields_stubbed() -> None:
    conn = _stub_connection()
    client = conn.client("cloudtrail", "us-east-1")
    with Stubber(client) as stub:
        stub.add_response(
            "get_trail_status",
            {"IsLogging": True, "LatestDeliveryError": "NoSuchBucket"},
            {"Name": CT_ARN},
        )
        status = Reader(conn, workers=1).status(_ct_trail())
    assert status.latest_delivery_attempt_time is None
    assert status.latest_delivery_time is None
    assert status.latest_delivery_error == "NoSuchBucket"


@pytest.mark.parametrize("text", ["", "  ", "yesterday", None, 5])
def test_unreadable_attempt_times_are_ignored(text: Any) -> None:
    status = TrailStatus.from_api({"LatestDeliveryAttemptTime": text})
    assert status.latest_delivery_attempt_time is None


def _status_with_errors(monkeypatch: pytest.MonkeyPatch, trail_name: str, **errors: Any) -> None:
    """moto cannot fail a delivery: the demo's GetTrailStatus for one trail, with errors added."""
    from trailkit.aws.cloudtrail import CloudTrail

    real = CloudTrail.trail_status

    def status(self: CloudTrail, trail: Trail) -> TrailStatus:
        found = real(self, trail)
        return replace(found, **errors) if trail.name == trail_name else found

    monkeypatch.setattr(CloudTrail, "trail_status", status)


def test_cli_inventory_json_explains_a_delivery_error(
    demo: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    _status_with_errors(
        monkeypatch,
        "pinned-key-trail",
        latest_delivery_error="AccessDenied",
        latest_digest_delivery_error="KMS.DisabledException",
    )
    out, err = io.StringIO(), io.StringIO()
    code = main(["--endpoint-url", demo[0], "inventory", "--format", "json"], out=out, err=err)
    assert code == 0, err.getvalue()
    row = next(r for r in json.loads(out.getvalue()) if r["name"] == "pinned-key-trail")
    assert row["health"] == "broken"
    assert row["latest_delivery_error"] == "AccessDenied"  # the raw text stays
    # moto reports "now" as the last delivery of a logging trail: UTC ISO text in JSON
    assert row["latest_delivery_time"].endswith("Z")
    assert datetime.fromisoformat(row["latest_delivery_time"][:-1] + "+00:00").tzinfo
    reasons = {r["code"]: r for r in row["health_reasons"]}
    log, digest = reasons["delivery-error"], reasons["digest-delivery-error"]
    assert log["delivery"]["error"] == "AccessDenied"
    assert log["delivery"]["cause"] == "s3-access-denied"
    assert log["delivery"]["last_delivery"] is None or log["delivery"]["last_delivery"].endswith(
        "Z"
    )
    assert "s3:PutObject" in log["message"]
    assert digest["delivery"]["cause"] == "kms-disabled"
    assert digest["fix"].startswith("enable the key")
    # every other reason keeps its shape (no delivery field)
    assert all("delivery" not in r for c, r in reasons.items() if "delivery-error" not in c)


def test_cli_inventory_table_shows_the_cause_under_the_trail(
    demo: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    _status_with_errors(monkeypatch, "pinned-key-trail", latest_delivery_error="NoSuchBucket")
    monkeypatch.setenv("COLUMNS", "400")
    out, err = io.StringIO(), io.StringIO()
    code = main(["--endpoint-url", demo[0], "inventory"], out=out, err=err)
    text = " ".join(out.getvalue().split())
    assert code == 0, err.getvalue()
    assert "delivery: NoSuchBucket" not in text
    # the cell wraps: look for short pieces
    assert "does not exist." in text
    assert "Fix:" in text
    assert "--s3-bucket-name" in text


def test_cli_inventory_table_in_japanese_explains_the_error(
    demo: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    _status_with_errors(
        monkeypatch, "pinned-key-trail", latest_delivery_error="KMS.DisabledException"
    )
    monkeypatch.setenv("COLUMNS", "400")
    out, err = io.StringIO(), io.StringIO()
    try:
        code = main(
            ["--endpoint-url", demo[0], "--lang", "ja", "inventory", "--health", "broken"],
            out=out,
            err=err,
        )
    finally:
        i18n.set_language("en")
    assert code == 0, err.getvalue()
    assert "KMS キー" in out.getvalue()
    assert "無効になっている" in out.getvalue()
