"""Pure pre-flight rules: table-driven over hand-made records (no AWS)."""

from __future__ import annotations

import json
from dataclasses import replace
from typing import Any

import pytest

from trailkit.records import BucketInfo, KeyInfo, Trail
from trailkit.rules.checks import CATALOGUE, KeyLookup, Severity, preflight, rank_candidates
from trailkit.rules.keyids import parse_key_id

MGMT, MEMBER = "111111111111", "222222222222"
TRAIL_ARN = f"arn:aws:cloudtrail:us-east-1:{MGMT}:trail/org"
KEY_ARN = f"arn:aws:kms:us-east-1:{MGMT}:key/1234abcd-12ab-34cd-56ef-1234567890ab"

GOOD_POLICY = {
    "Version": "2012-10-17",
    "Statement": [
        {
            "Sid": "Root",
            "Effect": "Allow",
            "Principal": {"AWS": f"arn:aws:iam::{MGMT}:root"},
            "Action": "kms:*",
            "Resource": "*",
        },
        {
            "Sid": "Encrypt",
            "Effect": "Allow",
            "Principal": {"Service": "cloudtrail.amazonaws.com"},
            "Action": "kms:GenerateDataKey*",
            "Resource": "*",
            "Condition": {
                "StringLike": {
                    "kms:EncryptionContext:aws:cloudtrail:arn": (
                        f"arn:aws:cloudtrail:*:{MGMT}:trail/*"
                    )
                }
            },
        },
        {
            "Sid": "Describe",
            "Effect": "Allow",
            "Principal": {"Service": "cloudtrail.amazonaws.com"},
            "Action": "kms:DescribeKey",
            "Resource": "*",
        },
    ],
}


def _trail(**kw: Any) -> Trail:
    base = Trail(
        name="org",
        arn=TRAIL_ARN,
        home_region="us-east-1",
        account=MGMT,
        multi_region=True,
        organization=True,
        bucket_name="logs",
        s3_prefix=None,
        kms_key_id=None,
        log_file_validation=False,
        bucket=BucketInfo(name="logs", region="us-east-1"),
    )
    return replace(base, **kw)


def _key(policy: Any = GOOD_POLICY, **kw: Any) -> KeyInfo:
    base = KeyInfo(
        arn=KEY_ARN,
        key_id=KEY_ARN.rsplit("/", 1)[1],
        account=MGMT,
        region="us-east-1",
        aliases=("alias/ct",),
        state="Enabled",
        key_spec="SYMMETRIC_DEFAULT",
        key_usage="ENCRYPT_DECRYPT",
        manager="CUSTOMER",
        policy=policy if policy is None or isinstance(policy, str) else json.dumps(policy),
    )
    return replace(base, **kw)


def _codes(
    trail: Trail | None, key_text: str, key: KeyInfo | None, caller: str = MGMT, **lookup: Any
) -> set[str]:
    ref = parse_key_id(key_text)
    report = preflight(
        trail=trail,
        trail_input="org",
        key_input=key_text,
        lookup=KeyLookup(ref=ref, key=key, **lookup),
        caller_account=caller,
    )
    return {f.code for f in report.findings}


def _policy_with(extra: dict[str, Any]) -> dict[str, Any]:
    return {**GOOD_POLICY, "Statement": [*GOOD_POLICY["Statement"], extra]}


CASES = [
    ("ready", _trail(), KEY_ARN, _key(), MGMT, {}, set()),
    ("trail-not-owned", _trail(), KEY_ARN, _key(), MEMBER, {}, {"trail-not-owned"}),
    (
        "bare id from a member",
        _trail(),
        "1234abcd-12ab-34cd-56ef-1234567890ab",
        _key(),
        MEMBER,
        {},
        {"trail-not-owned", "key-id-needs-arn"},
    ),
    (
        "bucket unreadable",
        _trail(bucket=BucketInfo(name="logs", region=None, error="denied")),
        KEY_ARN,
        _key(),
        MGMT,
        {},
        {"bucket-unreadable"},
    ),
    ("aws managed", _trail(), KEY_ARN, _key(manager="AWS"), MGMT, {}, {"key-aws-managed"}),
    ("not found", _trail(), "alias/nope", None, MGMT, {"problem": "not-found"}, {"key-not-found"}),
    ("pending import", _trail(), KEY_ARN, _key(state="PendingImport"), MGMT, {}, {"key-state"}),
    (
        "hmac",
        _trail(),
        KEY_ARN,
        _key(key_spec="HMAC_256", key_usage="GENERATE_VERIFY_MAC"),
        MGMT,
        {},
        {"key-not-symmetric"},
    ),
    (
        "policy unreadable",
        _trail(),
        KEY_ARN,
        _key(policy=None, policy_error="AccessDenied"),
        MGMT,
        {},
        {"policy-unverifiable"},
    ),
    (
        "policy not json",
        _trail(),
        KEY_ARN,
        _key(policy="{not json"),
        MGMT,
        {},
        {"policy-unverifiable"},
    ),
    (
        "unknown operator on the encrypt statement",
        _trail(),
        KEY_ARN,
        _key(
            policy=_policy_with(
                {
                    "Sid": "Maybe",
                    "Effect": "Deny",
                    "Principal": "*",
                    "Action": "kms:GenerateDataKey*",
                    "Resource": "*",
                    "Condition": {"DateGreaterThan": {"aws:CurrentTime": "2020-01-01"}},
                }
            )
        ),
        MGMT,
        {},
        {"policy-unverifiable"},
    ),
    (
        "bucket key without decrypt",
        _trail(bucket=BucketInfo(name="logs", region="us-east-1", bucket_key=True)),
        KEY_ARN,
        _key(),
        MGMT,
        {},
        {"policy-bucket-key-decrypt"},
    ),
    ("digest files", _trail(log_file_validation=True), KEY_ARN, _key(), MGMT, {}, {"digest-files"}),
    ("already", _trail(kms_key_id=KEY_ARN), KEY_ARN, _key(), MGMT, {}, {"already-using-key"}),
]


@pytest.mark.parametrize(
    "name, trail, text, key, caller, lookup, expected", CASES, ids=[c[0] for c in CASES]
)
def test_rules(
    name: str,
    trail: Trail,
    text: str,
    key: KeyInfo | None,
    caller: str,
    lookup: dict[str, Any],
    expected: set[str],
) -> None:
    codes = _codes(trail, text, key, caller, **lookup)
    blocking = {c for c in codes if CATALOGUE[c].severity is Severity.ERROR}
    assert expected <= codes
    if not expected:
        assert not blocking


def test_trail_not_found_and_bad_key_text_are_findings_not_exceptions() -> None:
    report = preflight(
        trail=None,
        trail_input="ghost",
        key_input="not a key",
        lookup=None,
        caller_account=MGMT,
        key_error="bad",
    )
    assert {f.code for f in report.findings} == {"trail-not-found", "key-id-format"}
    assert not report.ready and report.verdict.value == "blocked"
    assert report.as_dict()["key_arn"] is None


def test_every_finding_has_a_catalogued_code_severity_and_remedy() -> None:
    for name, trail, text, key, caller, lookup, _ in CASES:
        ref = parse_key_id(text)
        report = preflight(
            trail=trail,
            trail_input="org",
            key_input=text,
            lookup=KeyLookup(ref=ref, key=key, **lookup),
            caller_account=caller,
        )
        for f in report.findings:
            assert f.code in CATALOGUE, name
            assert f.severity is CATALOGUE[f.code].severity
            assert f.message and f.remedy


def test_rank_candidates_orders_ready_unverifiable_blocked() -> None:
    keys = [
        _key(state="Disabled", arn=KEY_ARN.replace("1234abcd", "aaaaaaaa"), aliases=("alias/a",)),
        _key(
            policy=None,
            policy_error="x",
            arn=KEY_ARN.replace("1234abcd", "bbbbbbbb"),
            aliases=("alias/b",),
        ),
        _key(arn=KEY_ARN.replace("1234abcd", "cccccccc"), aliases=("alias/c",)),
    ]
    verdicts = rank_candidates(_trail(), keys, MGMT)
    assert [v.key.aliases[0] for v in verdicts] == ["alias/c", "alias/b", "alias/a"]
    assert [v.label.split(" - ")[1] for v in verdicts] == [
        "ready",
        "unverifiable",
        "blocked: key-state",
    ]
