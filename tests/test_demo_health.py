"""Issue 15, item 6 and the first acceptance item: the demo estate shows each health case, and
every demo trail's health is pinned.

Each trail's health and reason codes are written out here by hand, from what the estate is
(``trailkit/demo/resources``) and the issue's definitions, not derived from ``rules/health.py``:
broken (a disabled key, a key pending deletion, a key policy stripped after set-up, a deleted
bucket), at-risk (nobody may decrypt the logs), healthy, sse-s3. The seeding is checked to tell
the story true: every trail is created on a key CloudTrail can use, and the key is changed after
(``PutKeyPolicy``, ``DisableKey``, ``ScheduleKeyDeletion``), as ``CreateTrail`` would refuse an
unusable key in AWS. The demo's ``GetTrailStatus`` (moto) reports a fresh ``LatestDeliveryTime``
for every logging trail, so no demo trail is ``delivery-stale``.
"""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from tests.english import assert_japanese
from trailkit import i18n
from trailkit.aws.session import Connection
from trailkit.demo import seed_demo
from trailkit.demo.estate import SECOND_ACCOUNT, root_key_policy
from trailkit.demo.server import as_account
from trailkit.ui.cli import main

MGMT = "123456789012"

#: Every trail of the management account: (health, [(reason code, the reason's health), ...]).
DEMO_HEALTH: dict[str, tuple[str, list[tuple[str, str]]]] = {
    "org-trail": ("sse-s3", []),
    "app-trail": ("healthy", []),
    "tokyo-trail": ("sse-s3", []),
    "bucketkey-trail": ("sse-s3", []),
    "stale-key-trail": ("broken", [("key-state", "broken")]),
    "pinned-key-trail": ("healthy", []),
    "partner-bucket-trail": ("sse-s3", []),
    "deleted-bucket-trail": ("broken", [("bucket-not-found", "broken")]),
    # root-only policy: no kms:GenerateDataKey* (broken) and no kms:DescribeKey (best practice)
    "stripped-policy-trail": (
        "broken",
        [("policy-encrypt", "broken"), ("policy-describe", "at-risk")],
    ),
    "retiring-key-trail": ("broken", [("key-state", "broken")]),
    "no-readers-trail": ("at-risk", [("policy-readers", "at-risk")]),
}
BROKEN = ["deleted-bucket-trail", "retiring-key-trail", "stale-key-trail", "stripped-policy-trail"]
AT_RISK = ["no-readers-trail"]


def _run(endpoint: str, *argv: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = main(["--endpoint-url", endpoint, *argv], out=out, err=err)
    return code, out.getvalue(), err.getvalue()


def _inventory(endpoint: str, *argv: str) -> list[dict[str, Any]]:
    code, out, err = _run(endpoint, "inventory", "--format", "json", *argv)
    assert code == 0, err
    rows: list[dict[str, Any]] = json.loads(out)
    return rows


def _by_name(rows: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {r["name"]: r for r in rows}


def test_every_demo_trail_health_is_pinned(demo: Any) -> None:
    rows = _inventory(demo[0])
    assert len(rows) == len(DEMO_HEALTH) == 11  # each trail once
    found = {
        r["name"]: (r["health"], [(x["code"], x["health"]) for x in r["health_reasons"]])
        for r in rows
    }
    assert found == DEMO_HEALTH
    for row in rows:
        for reason in row["health_reasons"]:
            assert reason["message"] and reason["fix"], (row["name"], reason["code"])
            assert reason["permission"] is None  # nothing in the demo is unreadable by the caller


#: The trails each member account sees (its own and the organization trail), by account id:
#: (health, [(reason code, the reason's health), ...]) read from inside that account.
MEMBER_HEALTH: dict[str, dict[str, tuple[str, list[tuple[str, str]]]]] = {
    SECOND_ACCOUNT: {"org-trail": ("sse-s3", []), "archive-trail": ("sse-s3", [])},
    # workload-prod: its own key, with CloudTrail's key policy for its own trails
    "333344445555": {"org-trail": ("sse-s3", []), "prod-trail": ("healthy", [])},
    # workload-dev: its key disabled after set-up; the organization trail's delivery error shows
    # only there
    "555566667777": {
        "org-trail": ("broken", [("delivery-error", "broken")]),
        "dev-trail": ("broken", [("key-state", "broken")]),
    },
    # sandbox: reachable only through AWSControlTowerExecution (see tests/test_demo_org.py);
    # Control Tower's trail on a multi-Region key whose policy lets CloudTrail use it (healthy:
    # the key works; that Control Tower does not support it is an ownership finding of a change)
    "666677778888": {
        "org-trail": ("sse-s3", []),
        "sandbox-trail": ("sse-s3", []),
        "aws-controltower-BaselineCloudTrail": ("healthy", []),
    },
}


def _scan_health(endpoint: str, account: str) -> dict[str, tuple[str, list[tuple[str, str]]]]:
    """What ``trailkit inventory`` finds inside ``account`` (the same scan and rule)."""
    from trailkit.rules.health import inventory_health
    from trailkit.ui.progress import scan

    member = as_account(Connection(endpoint_url=endpoint, region="us-east-1"), account)
    inv = scan(member, ["us-east-1", "eu-west-1", "ap-northeast-1", "us-west-2"], progress=False)
    assert not inv.errors, inv.errors
    healths = inventory_health(inv)
    return {
        t.name: (
            str(healths[t.arn].kind),
            [(r.code, str(r.health)) for r in healths[t.arn].reasons],
        )
        for t in inv.trails
    }


def test_the_second_account_trail_is_sse_s3(demo: Any) -> None:
    """archive-trail is in the log-archive account: not in the management account's inventory,
    and ``sse-s3`` from its own account (the same scan and rule as ``trailkit inventory``), where
    the organization trail is seen too."""
    endpoint = demo[0]
    assert "archive-trail" not in {r["name"] for r in _inventory(endpoint)}
    assert _scan_health(endpoint, SECOND_ACCOUNT) == MEMBER_HEALTH[SECOND_ACCOUNT]


@pytest.mark.parametrize("account", sorted(MEMBER_HEALTH))
def test_every_member_trail_health_is_pinned(demo: Any, account: str) -> None:
    assert _scan_health(demo[0], account) == MEMBER_HEALTH[account]


def test_stripped_policy_trail(demo: Any) -> None:
    endpoint, estate = demo
    row = _by_name(_inventory(endpoint))["stripped-policy-trail"]
    assert (row["key_alias"], row["key_state"]) == ("alias/no-cloudtrail", "Enabled")
    assert row["key_arn"] == estate.keys["alias/no-cloudtrail"]
    assert row["logging"] is True
    encrypt = row["health_reasons"][0]
    assert encrypt["code"] == "policy-encrypt"
    assert "kms:GenerateDataKey" in encrypt["message"]
    assert "stripped-policy-trail" in encrypt["message"]
    # What the key's policy is now: root only, as alias/no-cloudtrail always ended up.
    kms = Connection(endpoint_url=endpoint, region="us-east-1").client("kms", "us-east-1")
    policy = kms.get_key_policy(KeyId=row["key_arn"], PolicyName="default")["Policy"]
    assert json.loads(policy) == root_key_policy(MGMT)


def test_retiring_key_trail_shows_the_deletion_date(demo: Any) -> None:
    endpoint, estate = demo
    row = _by_name(_inventory(endpoint))["retiring-key-trail"]
    assert (row["key_alias"], row["key_state"]) == ("alias/pending-deletion", "PendingDeletion")
    assert row["key_arn"] == estate.keys["alias/pending-deletion"]
    assert row["health_reasons"][0]["message"] == (
        "The key is PendingDeletion; CloudTrail can only use an Enabled key."
    )
    # Scheduled with the shortest window (7 days) when the estate was seeded (less than a day
    # ago: this session's demo fixture).
    deletion = datetime.fromisoformat(row["key_deletion_date"].replace("Z", "+00:00"))
    assert timedelta(days=6) < deletion - datetime.now(UTC) <= timedelta(days=7)
    assert row["key_days_left"] == 7
    assert row["key_rotation"] == "not-read"  # KMS answers false for a key pending deletion
    code, out, _err = _run(endpoint, "inventory", "--health", "broken")
    assert code == 0
    line = next(x for x in out.splitlines() if x.startswith("retiring-key-trail"))
    assert "PendingDeletion" in line
    assert f"Key deletion on {deletion:%Y-%m-%d}" in out
    assert "7 days left" in out


def test_no_readers_trail(demo: Any) -> None:
    endpoint, estate = demo
    row = _by_name(_inventory(endpoint))["no-readers-trail"]
    assert (row["key_alias"], row["key_state"]) == ("alias/no-readers", "Enabled")
    (reason,) = row["health_reasons"]
    assert reason["message"] == (
        f"Nobody in account {MGMT} (the trail's account) may kms:Decrypt with this key, so "
        "nobody there can read the encrypted logs and digest files."
    )
    assert f"--readers {MGMT}" in reason["fix"]
    assert estate.keys["alias/no-readers"] in reason["fix"]


def test_no_demo_trail_is_delivery_stale(demo: Any) -> None:
    """moto's GetTrailStatus sets LatestDeliveryTime to now for a logging trail and keeps the
    start time for a stopped one (stale-key-trail, which is not judged on it): every logging
    demo trail has delivered within the threshold, with no delivery error."""
    rows = _inventory(demo[0])
    now = datetime.now(UTC)
    for row in rows:
        assert row["latest_delivery_error"] is None, row["name"]
        assert row["latest_digest_delivery_error"] is None, row["name"]
        when = datetime.fromisoformat(row["latest_delivery_time"].replace("Z", "+00:00"))
        if row["logging"]:
            assert now - when < timedelta(hours=2), row["name"]
    assert [r["name"] for r in rows if not r["logging"]] == ["stale-key-trail"]


@pytest.mark.parametrize(
    ("value", "names"),
    [
        ("broken", BROKEN),
        ("at-risk", AT_RISK),
        ("broken,at-risk", sorted([*BROKEN, *AT_RISK])),
        ("healthy", ["app-trail", "pinned-key-trail"]),
        ("unverifiable", []),
    ],
)
def test_health_filter_on_the_demo(demo: Any, value: str, names: list[str]) -> None:
    rows = _inventory(demo[0], "--health", value)
    assert sorted(r["name"] for r in rows) == names
    assert {r["health"] for r in rows} <= set(value.split(","))


def test_health_filter_table_lists_the_broken_and_their_keys(demo: Any) -> None:
    code, out, _err = _run(demo[0], "inventory", "--health", "broken,at-risk")
    assert code == 0
    trails, keys = out.split("Keys in use:")
    first_words = {line.split()[0] for line in trails.splitlines() if line.strip()}
    assert first_words & set(DEMO_HEALTH) == {*BROKEN, *AT_RISK}
    used = {line.split()[0] for line in keys.splitlines() if line.startswith("alias/")}
    assert used == {
        "alias/no-cloudtrail",
        "alias/pending-deletion",
        "alias/cloudtrail-disabled",
        "alias/no-readers",
    }


def test_new_reasons_in_japanese(demo: Any) -> None:
    endpoint, estate = demo
    i18n.set_language("ja")
    try:
        rows = _by_name(_inventory(endpoint, "--lang", "ja", "--health", "broken,at-risk"))
    finally:
        i18n.set_language("en")
    kept = [*DEMO_HEALTH, *estate.keys.values(), "Enabled", "PendingDeletion", MGMT]
    for name in ("stripped-policy-trail", "retiring-key-trail", "no-readers-trail"):
        assert rows[name]["health"] == DEMO_HEALTH[name][0]  # codes stay as they are
        for reason in rows[name]["health_reasons"]:
            assert_japanese(reason["message"], kept, what=f"{name}: {reason['code']}")
            assert_japanese(reason["fix"], kept, what=f"{name}: {reason['code']} fix")


# -- the story is true in the seeding ------------------------------------------------------------


@pytest.fixture
def recorded(clean_moto: str) -> Iterator[list[tuple[str, dict[str, Any]]]]:
    """The management account's calls of a fresh seeding, in order (operation, parameters)."""
    calls: list[tuple[str, dict[str, Any]]] = []
    conn = Connection(endpoint_url=clean_moto, region="us-east-1")
    original = conn.client

    def record(params: Any, model: Any, **_kw: Any) -> None:
        calls.append((model.name, dict(params)))

    def client(service: str, region: str | None = None) -> Any:
        made = original(service, region)
        if not getattr(made, "_tk_recorded", False):
            made.meta.events.register("provide-client-params", record)
            made._tk_recorded = True
        return made

    conn.client = client  # type: ignore[method-assign]
    estate = seed_demo(conn)
    calls.append(("-", {"estate": estate}))
    yield calls


def _index(calls: list[tuple[str, dict[str, Any]]], op: str, **match: Any) -> int:
    hits = [
        i
        for i, (name, params) in enumerate(calls)
        if name == op and all(params.get(k) == v for k, v in match.items())
    ]
    assert len(hits) == 1, (op, match, hits)
    return hits[0]


def test_trails_are_set_up_before_their_keys_change(
    recorded: list[tuple[str, dict[str, Any]]],
) -> None:
    estate = recorded[-1][1]["estate"]

    def key_id(alias: str) -> str:
        return str(estate.key_id(alias))

    created = _index(recorded, "CreateAlias", AliasName="alias/no-cloudtrail")
    setup = json.loads(recorded[created - 1][1]["Policy"])  # CreateKey, just before its alias
    assert recorded[created - 1][0] == "CreateKey"
    sids = {s["Sid"] for s in setup["Statement"]}
    assert {"Allow CloudTrail to encrypt logs", "Allow CloudTrail to describe key"} <= sids

    stripped_trail = _index(recorded, "CreateTrail", Name="stripped-policy-trail")
    stripped = _index(recorded, "PutKeyPolicy", KeyId=key_id("alias/no-cloudtrail"))
    assert json.loads(recorded[stripped][1]["Policy"]) == root_key_policy(MGMT)
    assert created < stripped_trail < stripped

    retiring_trail = _index(recorded, "CreateTrail", Name="retiring-key-trail")
    scheduled = _index(recorded, "ScheduleKeyDeletion", KeyId=key_id("alias/pending-deletion"))
    assert recorded[scheduled][1]["PendingWindowInDays"] == 7
    assert retiring_trail < scheduled

    stale_trail = _index(recorded, "CreateTrail", Name="stale-key-trail")
    disabled = _index(recorded, "DisableKey", KeyId=key_id("alias/cloudtrail-disabled"))
    assert stale_trail < disabled

    # every new trail: management account, us-east-1, its own bucket in us-east-1, its key
    for name, alias in (
        ("stripped-policy-trail", "alias/no-cloudtrail"),
        ("retiring-key-trail", "alias/pending-deletion"),
        ("no-readers-trail", "alias/no-readers"),
    ):
        trail = recorded[_index(recorded, "CreateTrail", Name=name)][1]
        assert trail["KmsKeyId"] == estate.keys[alias]
        assert estate.trails[name] == f"arn:aws:cloudtrail:us-east-1:{MGMT}:trail/{name}"
        assert estate.buckets[trail["S3BucketName"]] == "us-east-1"
