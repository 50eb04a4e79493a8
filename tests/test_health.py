"""Issue 15, step 1: the health of every trail's current encryption.

The pure rule (``trailkit.rules.health``) case by case, the demo estate's health pinned through
``trailkit inventory --format json``, the ``--health`` filter (bad values are usage errors), and
the inventory's health column in Japanese."""

from __future__ import annotations

import io
import json
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from english import assert_japanese

from trailkit import i18n
from trailkit.errors import InputError
from trailkit.records import BucketInfo, KeyInfo, Trail, TrailStatus
from trailkit.rules.health import HealthKind, health, parse_health_filter
from trailkit.ui.cli import main

MGMT, OTHER = "111111111111", "999999999999"
TRAIL_ARN = f"arn:aws:cloudtrail:us-east-1:{MGMT}:trail/ct-trail"
KEY_ARN = f"arn:aws:kms:us-east-1:{MGMT}:key/1234abcd-12ab-34cd-56ef-1234567890ab"
OTHER_KEY = f"arn:aws:kms:us-east-1:{OTHER}:key/1234abcd-12ab-34cd-56ef-1234567890ab"
EU_KEY = f"arn:aws:kms:eu-west-1:{MGMT}:key/1234abcd-12ab-34cd-56ef-1234567890ab"
NOW = datetime(2026, 12, 5, 12, 0, tzinfo=UTC)

ROOT = {
    "Sid": "Root",
    "Effect": "Allow",
    "Principal": {"AWS": f"arn:aws:iam::{MGMT}:root"},
    "Action": "kms:*",
    "Resource": "*",
}
ENCRYPT = {
    "Sid": "Encrypt",
    "Effect": "Allow",
    "Principal": {"Service": "cloudtrail.amazonaws.com"},
    "Action": "kms:GenerateDataKey*",
    "Resource": "*",
    "Condition": {
        "StringLike": {
            "kms:EncryptionContext:aws:cloudtrail:arn": f"arn:aws:cloudtrail:*:{MGMT}:trail/*"
        }
    },
}
DESCRIBE = {
    "Sid": "Describe",
    "Effect": "Allow",
    "Principal": {"Service": "cloudtrail.amazonaws.com"},
    "Action": "kms:DescribeKey",
    "Resource": "*",
}
DECRYPT = {
    "Sid": "Decrypt",
    "Effect": "Allow",
    "Principal": {"Service": "cloudtrail.amazonaws.com"},
    "Action": "kms:Decrypt",
    "Resource": "*",
}
DENY = {
    "Sid": "NoCloudTrail",
    "Effect": "Deny",
    "Principal": {"Service": "cloudtrail.amazonaws.com"},
    "Action": "kms:GenerateDataKey*",
    "Resource": "*",
}
BUCKET_DENY = json.dumps(
    {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "AllowCloudTrail",
                "Effect": "Allow",
                "Principal": {"Service": "cloudtrail.amazonaws.com"},
                "Action": "s3:PutObject",
                "Resource": "arn:aws:s3:::ct-logs/*",
            },
            {
                "Sid": "OnlyOtherKey",
                "Effect": "Deny",
                "Principal": "*",
                "Action": "s3:PutObject",
                "Resource": "arn:aws:s3:::ct-logs/*",
                "Condition": {
                    "StringNotEquals": {"s3:x-amz-server-side-encryption-aws-kms-key-id": EU_KEY}
                },
            },
        ],
    }
)


def _policy(*statements: dict[str, Any]) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)})


GOOD = _policy(ROOT, ENCRYPT, DESCRIBE)


def _trail(**kw: Any) -> Trail:
    base = Trail(
        name="ct-trail",
        arn=TRAIL_ARN,
        home_region="us-east-1",
        account=MGMT,
        multi_region=True,
        organization=False,
        bucket_name="ct-logs",
        s3_prefix=None,
        kms_key_id=KEY_ARN,
        log_file_validation=False,
        status=TrailStatus(is_logging=True, latest_delivery_time=NOW - timedelta(minutes=5)),
        bucket=BucketInfo(name="ct-logs", region="us-east-1"),
    )
    return replace(base, **kw)


def _key(**kw: Any) -> KeyInfo:
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
        policy=GOOD,
    )
    return replace(base, **kw)


def _status(**kw: Any) -> TrailStatus:
    return replace(
        TrailStatus(is_logging=True, latest_delivery_time=NOW - timedelta(minutes=5)), **kw
    )


_GONE = "No key arn:aws:kms:... (NotFoundException)."

#: (case, trail, key, expected health, expected codes in order)
CASES: list[tuple[str, Trail, KeyInfo | None, str, list[str]]] = [
    ("healthy", _trail(), _key(), "healthy", []),
    ("sse-s3", _trail(kms_key_id=None), None, "sse-s3", []),
    (
        "sse-s3 bucket gone",
        _trail(kms_key_id=None, bucket=BucketInfo(name="ct-logs", region=None, missing=True)),
        None,
        "broken",
        ["bucket-not-found"],
    ),
    (
        "sse-s3 unreadable bucket is no reason",
        _trail(kms_key_id=None, bucket=BucketInfo(name="ct-logs", region=None, error="denied")),
        None,
        "sse-s3",
        [],
    ),
    (
        "sse-s3 delivery error",
        _trail(kms_key_id=None, status=_status(latest_delivery_error="AccessDenied")),
        None,
        "broken",
        ["delivery-error"],
    ),
    (
        "sse-s3 stale delivery stays sse-s3",
        _trail(kms_key_id=None, status=_status(latest_delivery_time=NOW - timedelta(hours=3))),
        None,
        "sse-s3",
        ["delivery-stale"],
    ),
    ("key disabled", _trail(), _key(state="Disabled"), "broken", ["key-state"]),
    ("key pending deletion", _trail(), _key(state="PendingDeletion"), "broken", ["key-state"]),
    (
        "key deleted",
        _trail(),
        _key(error=_GONE, policy=None, policy_error=_GONE, missing=True, state=None),
        "broken",
        ["key-not-found"],
    ),
    (
        "key not describable (denied)",
        _trail(),
        _key(error="AccessDenied", policy=None, policy_error="AccessDenied", state=None),
        "unverifiable",
        ["key-unreadable", "policy-unverifiable"],
    ),
    (
        "other account's key not found: cannot be told from denied",
        _trail(kms_key_id=OTHER_KEY),
        _key(arn=OTHER_KEY, account=OTHER, error=_GONE, policy=None, missing=True),
        "unverifiable",
        ["key-unreadable", "policy-unverifiable"],
    ),
    ("asymmetric key", _trail(), _key(key_spec="RSA_2048"), "broken", ["key-not-symmetric"]),
    ("AWS managed key", _trail(), _key(manager="AWS"), "broken", ["key-aws-managed"]),
    (
        "key not in the bucket's region",
        _trail(kms_key_id=EU_KEY),
        _key(arn=EU_KEY, region="eu-west-1"),
        "broken",
        ["key-region-mismatch"],
    ),
    (
        "policy stripped of the CloudTrail statements",
        _trail(),
        _key(policy=_policy(ROOT)),
        "broken",
        ["policy-encrypt", "policy-describe"],
    ),
    (
        "explicit Deny",
        _trail(),
        _key(policy=_policy(ROOT, ENCRYPT, DESCRIBE, DENY)),
        "broken",
        ["policy-deny"],
    ),
    (
        "Bucket Key without Decrypt",
        _trail(bucket=BucketInfo(name="ct-logs", region="us-east-1", bucket_key=True)),
        _key(),
        "broken",
        ["policy-bucket-key-decrypt"],
    ),
    (
        "Bucket Key without DescribeKey",
        _trail(bucket=BucketInfo(name="ct-logs", region="us-east-1", bucket_key=True)),
        _key(policy=_policy(ROOT, ENCRYPT, DECRYPT)),
        "broken",
        ["policy-describe"],
    ),
    (
        "no DescribeKey without a Bucket Key",
        _trail(),
        _key(policy=_policy(ROOT, ENCRYPT)),
        "at-risk",
        ["policy-describe"],
    ),
    (
        "nobody can read the logs",
        _trail(),
        _key(policy=_policy(ENCRYPT, DESCRIBE)),
        "at-risk",
        ["policy-readers"],
    ),
    (
        "bucket policy refuses the deliveries",
        _trail(bucket=BucketInfo(name="ct-logs", region="us-east-1", policy=BUCKET_DENY)),
        _key(),
        "broken",
        ["bucket-policy-already-denies-delivery"],
    ),
    (
        "delivery error",
        _trail(status=_status(latest_delivery_error="InsufficientEncryptionPolicyException")),
        _key(),
        "broken",
        ["delivery-error"],
    ),
    (
        "digest delivery error",
        _trail(status=_status(latest_digest_delivery_error="AccessDenied")),
        _key(),
        "at-risk",
        ["digest-delivery-error"],
    ),
    (
        "stale delivery while logging",
        _trail(status=_status(latest_delivery_time=NOW - timedelta(hours=2, minutes=1))),
        _key(),
        "at-risk",
        ["delivery-stale"],
    ),
    (
        "not stale within the threshold",
        _trail(status=_status(latest_delivery_time=NOW - timedelta(hours=1, minutes=59))),
        _key(),
        "healthy",
        [],
    ),
    (
        "old delivery while not logging is no reason",
        _trail(status=_status(is_logging=False, latest_delivery_time=NOW - timedelta(days=3))),
        _key(),
        "healthy",
        [],
    ),
    (
        "no delivery yet is no reason",
        _trail(status=_status(latest_delivery_time=None)),
        _key(),
        "healthy",
        [],
    ),
    (
        "status unreadable",
        _trail(status=TrailStatus(error="AccessDenied")),
        _key(),
        "unverifiable",
        ["status-unreadable"],
    ),
    (
        "key policy unreadable",
        _trail(),
        _key(policy=None, policy_error="AccessDeniedException"),
        "unverifiable",
        ["policy-unverifiable"],
    ),
    (
        "bucket region unknown",
        _trail(bucket=BucketInfo(name="ct-logs", region=None, bucket_key=None, error="denied")),
        _key(),
        "unverifiable",
        [
            "bucket-unreadable",
            "key-region-unverified",
            "bucket-key-unverified",
            "bucket-policy-unverified",
        ],
    ),
    (
        "broken wins over at-risk",
        _trail(status=_status(latest_delivery_time=NOW - timedelta(hours=5))),
        _key(state="Disabled"),
        "broken",
        ["key-state", "delivery-stale"],
    ),
    (
        "at-risk named before what could not be checked",
        _trail(status=TrailStatus(error="AccessDenied")),
        _key(policy=_policy(ENCRYPT, DESCRIBE)),
        "at-risk",
        ["policy-readers", "status-unreadable"],
    ),
]


@pytest.mark.parametrize(
    ("case", "trail", "key", "kind", "codes"), CASES, ids=[c[0] for c in CASES]
)
def test_health_rule(
    case: str, trail: Trail, key: KeyInfo | None, kind: str, codes: list[str]
) -> None:
    found = health(trail, key, MGMT, now=NOW)
    assert (str(found.kind), list(found.codes)) == (kind, codes), case
    for reason in found.reasons:
        assert reason.message and reason.fix
        assert reason.code == reason.code.lower() and " " not in reason.code


def test_a_deleted_key_says_to_repoint_the_trail() -> None:
    """The pre-flight's fix for key-not-found ("check the identifier and the region") speaks to
    someone who typed a key; the trail's own key was deleted: point the trail at a key that
    exists (and its old logs cannot be decrypted any more)."""
    gone = _key(error=_GONE, policy=None, policy_error=_GONE, missing=True, state=None)
    trail = _trail()
    (reason,) = health(trail, gone, MGMT, now=NOW).reasons
    assert reason.code == "key-not-found"
    assert "check the identifier" not in reason.fix
    assert f"trailkit update --trail {trail.name} --key KEY" in reason.fix


def test_unverifiable_reasons_name_the_permission() -> None:
    found = health(_trail(status=TrailStatus(error="AccessDenied")), _key(error="denied"), MGMT)
    permissions = {r.code: r.permission for r in found.reasons}
    assert permissions == {
        "key-unreadable": "kms:DescribeKey",
        "policy-unverifiable": "",
        "status-unreadable": "cloudtrail:GetTrailStatus",
    }
    unread = health(_trail(), _key(policy=None), MGMT, now=NOW)
    assert [r.permission for r in unread.reasons] == ["kms:GetKeyPolicy"]


def test_threshold_is_a_parameter() -> None:
    trail = _trail(status=_status(latest_delivery_time=NOW - timedelta(minutes=30)))
    assert health(trail, _key(), MGMT, now=NOW).kind is HealthKind.HEALTHY
    late = health(trail, _key(), MGMT, now=NOW, stale_after=timedelta(minutes=10))
    assert late.codes == ("delivery-stale",)


def test_health_is_the_check_of_the_same_key() -> None:
    """The same rules as a change: the health's pre-flight codes are those of a check of the
    trail with its own key (minus the codes that only speak of a change)."""
    from trailkit.rules.checks import KeyLookup, preflight
    from trailkit.rules.keyids import parse_key_id

    key = _key(policy=_policy(ROOT, ENCRYPT))
    report = preflight(
        trail=_trail(),
        trail_input=TRAIL_ARN,
        key_input=KEY_ARN,
        lookup=KeyLookup(ref=parse_key_id(KEY_ARN), key=key),
        caller_account=MGMT,
    )
    shown = {f.code for f in report.findings} - {"already-using-key"}
    assert set(health(_trail(), key, MGMT, now=NOW).codes) == shown


@pytest.mark.parametrize(
    ("text", "kinds"),
    [
        ("broken", {"broken"}),
        ("broken,at-risk", {"broken", "at-risk"}),
        (" at-risk , sse-s3 ", {"at-risk", "sse-s3"}),
        ("healthy,unverifiable", {"healthy", "unverifiable"}),
    ],
)
def test_parse_health_filter(text: str, kinds: set[str]) -> None:
    assert {str(k) for k in parse_health_filter(text)} == kinds


@pytest.mark.parametrize("text", ["", " ", "broken,", ",broken", "Broken", "at_risk", "ok"])
def test_parse_health_filter_refuses(text: str) -> None:
    with pytest.raises(InputError):
        parse_health_filter(text)


# -- the demo estate ---------------------------------------------------------------------------

#: Every demo trail's health and reasons (issue 15, acceptance: "a test pins every demo trail's
#: health"; tests/test_demo_health.py has each reason's own health and the estate's stories).
DEMO_HEALTH = {
    "tokyo-trail": ("sse-s3", []),
    "app-trail": ("healthy", []),
    "deleted-bucket-trail": ("broken", ["bucket-not-found"]),
    "org-trail": ("sse-s3", []),
    "pinned-key-trail": ("healthy", []),
    "stale-key-trail": ("broken", ["key-state"]),
    "bucketkey-trail": ("sse-s3", []),
    "partner-bucket-trail": ("sse-s3", []),
    "stripped-policy-trail": ("broken", ["policy-encrypt", "policy-describe"]),
    "retiring-key-trail": ("broken", ["key-state"]),
    "no-readers-trail": ("at-risk", ["policy-readers"]),
}


DEMO_KINDS = ["broken", "at-risk", "unverifiable", "healthy", "sse-s3"]


def _run(endpoint: str, *argv: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = main(["--endpoint-url", endpoint, *argv], out=out, err=err)
    return code, out.getvalue(), err.getvalue()


def test_demo_health_pinned(demo: Any) -> None:
    code, out, _err = _run(demo[0], "inventory", "--format", "json")
    rows = json.loads(out)
    found = {r["name"]: (r["health"], [x["code"] for x in r["health_reasons"]]) for r in rows}
    assert found == DEMO_HEALTH
    stale = next(r for r in rows if r["name"] == "stale-key-trail")
    (reason,) = stale["health_reasons"]
    assert reason == {
        "code": "key-state",
        "health": "broken",
        "message": "The key is Disabled; CloudTrail can only use an Enabled key.",
        "fix": "enable the key (or cancel its deletion), or choose another key",
        "permission": None,
    }
    assert code == 0


def test_health_filter(demo: Any) -> None:
    code, out, _err = _run(demo[0], "inventory", "--format", "json", "--health", "broken")
    assert code == 0
    assert sorted(r["name"] for r in json.loads(out)) == [
        "deleted-bucket-trail",
        "retiring-key-trail",
        "stale-key-trail",
        "stripped-policy-trail",
    ]
    code, out, _err = _run(demo[0], "inventory", "--format", "json", "--health", "healthy,sse-s3")
    want = sorted(n for n, (h, _c) in DEMO_HEALTH.items() if h in ("healthy", "sse-s3"))
    assert sorted(r["name"] for r in json.loads(out)) == want
    code, out, _err = _run(demo[0], "inventory", "--format", "json", "--health", "at-risk")
    assert (code, [r["name"] for r in json.loads(out)]) == (0, ["no-readers-trail"])


def test_health_filter_repeated_adds_up(demo: Any) -> None:
    """``--health broken --health sse-s3`` lists both kinds (as ``broken,sse-s3``): a repeated
    option used to keep only its last value, silently dropping the broken trails."""
    code, out, _err = _run(
        demo[0], "inventory", "--format", "json", "--health", "broken", "--health", "sse-s3"
    )
    want = sorted(n for n, (h, _c) in DEMO_HEALTH.items() if h in ("broken", "sse-s3"))
    assert code == 0
    assert sorted(r["name"] for r in json.loads(out)) == want


def test_health_csv(demo: Any) -> None:
    import csv

    code, out, _err = _run(demo[0], "inventory", "--format", "csv", "--health", "broken")
    rows = list(csv.DictReader(io.StringIO(out)))
    assert code == 0
    assert {r["name"]: r["health"] for r in rows} == {
        "deleted-bucket-trail": "broken",
        "stale-key-trail": "broken",
        "stripped-policy-trail": "broken",
        "retiring-key-trail": "broken",
    }
    stale = next(r for r in rows if r["name"] == "stale-key-trail")
    assert [x["code"] for x in json.loads(stale["health_reasons"])] == ["key-state"]


@pytest.mark.parametrize("value", ["", "bogus", "broken,", "BROKEN"])
def test_health_filter_refuses_bad_values(demo: Any, value: str) -> None:
    code, out, err = _run(demo[0], "inventory", f"--health={value}")
    assert code == 2
    assert out == ""
    assert "--health" in err
    assert "broken, at-risk, unverifiable, healthy, sse-s3" in err
    assert "Traceback" not in err


def test_health_column(demo: Any) -> None:
    code, out, _err = _run(demo[0], "inventory", "--health", "broken")
    lines = out.splitlines()
    head = next(line for line in lines if line.startswith("trail"))
    assert head.split()[:2] == ["trail", "health"]
    stale = next(line for line in lines if line.startswith("stale-key-trail"))
    assert stale.split()[1] == "broken"
    assert "The key is Disabled" in out
    assert "app-trail" not in out
    keys = out.split("Keys in use:")[1]
    assert "alias/cloudtrail-disabled" in keys and "alias/cloudtrail-good" not in keys
    assert code == 0


def test_health_under_the_name_on_a_narrow_terminal(demo: Any) -> None:
    from trailkit.ui.terminal import TRAIL_TABLE, console_for, emit, records_table, trail_rows

    _code, out, _err = _run(demo[0], "inventory", "--format", "json")
    rows = trail_rows(json.loads(out))
    text = io.StringIO()
    emit(console_for(text, width=80, colour=False), records_table(rows, TRAIL_TABLE))
    shown = text.getvalue()
    assert "trail / health" in shown
    assert "healthy" in shown and "broken" in shown


def test_health_column_colours() -> None:
    from trailkit.ui.terminal import HEALTH_STYLES, styled

    def style(value: str) -> str:
        return " ".join(str(span.style) for span in styled(value, HEALTH_STYLES).spans)

    assert "red" in style("broken")
    assert "yellow" in style("at-risk")  # amber on a terminal
    assert "red" not in style("healthy") and "yellow" not in style("healthy")


@pytest.fixture
def ja() -> Any:
    i18n.set_language("ja")
    yield
    i18n.set_language("en")


def test_health_in_japanese(demo: Any, ja: None) -> None:
    endpoint, estate = demo
    code, out, err = _run(endpoint, "--lang", "ja", "inventory", "--health", "broken,at-risk")
    assert code == 0
    names = ["Name", *estate.keys.values(), "S3BucketDoesNotExistException", "HeadBucket"]
    assert_japanese(out, names, what="inventory --health")
    code, out, _err = _run(endpoint, "--lang", "ja", "inventory", "--format", "json")
    rows = json.loads(out)
    stale = next(r for r in rows if r["name"] == "stale-key-trail")
    assert stale["health"] == "broken"  # codes stay as they are
    assert_japanese(stale["health_reasons"][0]["message"], names, what="health reason")
    assert_japanese(stale["health_reasons"][0]["fix"], names, what="health fix")
    code, _out, err = _run(endpoint, "--lang", "ja", "inventory", "--health", "bogus")
    assert code == 2
    values = ["bogus", "--health", *DEMO_KINDS]  # the option's values stay as typed
    assert_japanese(err.splitlines()[-1].split(":", 2)[-1], values, what="usage")


@pytest.mark.parametrize(
    ("case", "trail", "key", "kind", "codes"), CASES, ids=[c[0] for c in CASES]
)
def test_health_reasons_in_japanese(
    case: str, trail: Trail, key: KeyInfo | None, kind: str, codes: list[str], ja: None
) -> None:
    found = health(trail, key, MGMT, now=NOW)
    assert (str(found.kind), list(found.codes)) == (kind, codes), case  # codes stay English
    kept = [
        "ct-trail",
        "ct-logs",
        "alias/ct",
        "AccessDenied",
        "AccessDeniedException",
        "InsufficientEncryptionPolicyException",
        "denied",
        _GONE,
        "NoCloudTrail",
        "OnlyOtherKey",
        "Root",
    ]
    for reason in found.reasons:
        assert_japanese(reason.message, kept, what=f"{case}: {reason.code}")
        assert_japanese(reason.fix, kept, what=f"{case}: {reason.code} fix")


def test_health_counts_every_kind() -> None:
    from trailkit.rules.health import health_counts

    judged = {c[0]: health(c[1], c[2], MGMT, now=NOW) for c in CASES}
    counts = health_counts(judged)
    assert list(counts) == ["broken", "at-risk", "unverifiable", "healthy", "sse-s3"]
    assert sum(counts.values()) == len(CASES)
    assert counts == {k: sum(1 for c in CASES if c[3] == k) for k in counts}


# -- the health of each code is data (rules/catalogue.json) ------------------------------------


def test_the_catalogue_says_what_each_finding_means_for_health() -> None:
    """Pinned from the issue's definitions (not read from the code under test): the pre-flight
    codes that make a trail broken, at-risk or unverifiable, and the health-only codes."""
    from trailkit.rules.checks import CATALOGUE, HEALTH_CODES

    by_health: dict[str | None, set[str]] = {}
    for code, check in CATALOGUE.items():
        by_health.setdefault(check.health, set()).add(code)
    assert by_health["broken"] == {
        "bucket-not-found",
        "key-not-found",
        "key-state",
        "key-not-symmetric",
        "key-region-mismatch",
        "key-aws-managed",
        "policy-encrypt",
        "policy-deny",
        "policy-bucket-key-decrypt",
        "bucket-policy-denies-delivery",
        "bucket-policy-already-denies-delivery",
    }
    assert by_health["at-risk"] == {"policy-readers", "policy-describe"}
    assert by_health["unverifiable"] == {
        "key-unreadable",
        "policy-unverifiable",
        "key-region-unverified",
        "bucket-key-unverified",
        "bucket-policy-unverified",
        "bucket-unreadable",
        "key-id-format",
        "key-id-needs-arn",
    }
    assert {c: h.health for c, h in HEALTH_CODES.items()} == {
        "delivery-error": "broken",
        "digest-delivery-error": "at-risk",
        "delivery-stale": "at-risk",
        "status-unreadable": "unverifiable",
        "member-delivery-error": "broken",
        "member-status-unreadable": "unverifiable",
    }


def test_every_reason_health_gives_is_catalogued_with_that_health() -> None:
    """Each reason of the pure cases above has a catalogued code whose health is the reason's
    (a finding that refuses the change, such as ``policy-describe`` with an S3 Bucket Key, may
    be broken although catalogued at-risk)."""
    from trailkit.rules.checks import CATALOGUE, HEALTH_CODES

    seen = 0
    for _name, trail, key, _kind, _codes in CASES:
        for reason in health(trail, key, MGMT, now=NOW).reasons:
            seen += 1
            entry = CATALOGUE.get(reason.code) or HEALTH_CODES.get(reason.code)
            assert entry is not None, reason.code
            assert entry.health == str(reason.health) or (
                entry.health == "at-risk" and reason.health is HealthKind.BROKEN
            ), reason
    assert seen > 20


@pytest.mark.parametrize(
    ("change", "error"),
    [
        (lambda e: e.update(health="fine"), "unknown health"),
        (lambda e: e.pop("health"), "fields"),
    ],
)
def test_a_bad_health_in_the_catalogue_is_refused(change: Any, error: str) -> None:
    from importlib import resources

    from trailkit.rules.checks import load_catalogue, load_health_codes

    document = json.loads(
        resources.files("trailkit.rules").joinpath("catalogue.json").read_text("utf-8")
    )
    change(document["checks"][0])
    with pytest.raises(ValueError, match=error):
        load_catalogue(json.dumps(document))
    document = json.loads(
        resources.files("trailkit.rules").joinpath("catalogue.json").read_text("utf-8")
    )
    change(document["health_codes"][0])
    with pytest.raises(ValueError, match=error):
        load_health_codes(json.dumps(document))


def test_a_deleted_key_is_a_broken_trail_not_a_partial_inventory(clean_moto: str) -> None:
    """A trail whose key KMS says does not exist is a fact the inventory read completely (as a
    deleted bucket is): health ``broken`` with ``key-not-found``, no scan error, exit 0."""
    from trailkit.aws.session import Connection

    conn = Connection(endpoint_url=clean_moto, region="us-east-1", workers=4)
    conn.client("s3", "us-east-1").create_bucket(Bucket="gone-key-logs")
    kms = conn.client("kms", "us-east-1")
    meta = kms.create_key(Description="soon gone")["KeyMetadata"]
    conn.client("cloudtrail", "us-east-1").create_trail(
        Name="gone-key-trail", S3BucketName="gone-key-logs", KmsKeyId=meta["Arn"]
    )
    # moto cannot delete a key at once: name a key id that never existed instead
    gone = meta["Arn"].rsplit("/", 1)[0] + "/00000000-0000-4000-8000-000000000000"
    conn.client("cloudtrail", "us-east-1").update_trail(Name="gone-key-trail", KmsKeyId=gone)
    out, err = io.StringIO(), io.StringIO()
    code = main(
        ["inventory", "--endpoint-url", clean_moto, "--regions", "us-east-1", "--format", "json"],
        out=out,
        err=err,
    )
    (row,) = json.loads(out.getvalue())
    assert row["health"] == "broken", row
    assert [r["code"] for r in row["health_reasons"]] == ["key-not-found"]
    assert code == 0, err.getvalue()
    assert "PARTIAL" not in err.getvalue() + out.getvalue()


@pytest.mark.parametrize(
    ("problems", "cell"),
    [
        ([], None),
        (["one"], "one"),
        (["Key deletion on X: 7 days left.", "The key is PendingDeletion."], None),
        (["not in the bucket region", "denied"], "not in the bucket region; denied"),
        (["残り 7 日です。", "キーは無効です。"], "残り 7 日です。 キーは無効です。"),
    ],
)
def test_problems_cell_never_puts_a_semicolon_after_a_full_stop(
    problems: list[str], cell: str | None
) -> None:
    from trailkit.ui.terminal import join_problems

    joined = join_problems(problems)
    if cell is not None or not problems:
        assert joined == cell
    else:
        assert joined == " ".join(problems) and ".;" not in joined
