"""Behaviour under faults: throttling, 500s, resets, timeouts, access denied, expired credentials,
crashes and a race, injected deterministically (see ``tests/faults.py``) against the moto server."""

from __future__ import annotations

import io
import json
import os
import random
import subprocess
import sys
import textwrap
import threading
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from faults import (  # noqa: F401  (faults_fixture, quick_backoff_fixture: pytest fixtures)
    FaultInjector,
    FaultProxy,
    faults_fixture,
    quick_backoff_fixture,
)

from trailkit.aws.reader import Reader, scan
from trailkit.aws.session import Connection
from trailkit.aws.writes import read_key_policy, read_trail_key
from trailkit.change.journal import Journal
from trailkit.change.update import apply, put_key_policy
from trailkit.demo import DEMO_REGIONS, PLACEHOLDER_CREDENTIAL
from trailkit.errors import RefusedError
from trailkit.records import Outcome
from trailkit.rules.health import inventory_health
from trailkit.rules.plan import plan_change
from trailkit.runbook import check
from trailkit.ui.cli import main
from trailkit.ui.tables import inventory_records
from trailkit.ui.widgets import ConnectionBanner

REGIONS = ",".join(DEMO_REGIONS)
TESTS = Path(__file__).resolve().parent


def _cli(*argv: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = main(list(argv), out=out, err=err)
    return code, out.getvalue(), err.getvalue()


def _conn(endpoint: str, **kw: Any) -> Connection:
    kw.setdefault("workers", 8)
    return Connection(endpoint_url=endpoint, region="us-east-1", **kw)


_BASELINES: dict[tuple[tuple[str, ...], tuple[str, ...] | None], list[dict[str, Any]]] = {}


def _baseline(demo: Any, regions: list[str] | None) -> list[dict[str, Any]]:
    """The fault-free inventory rows of the current demo estate (read once per seeding)."""
    endpoint, estate = demo
    key = (tuple(sorted(estate.keys.values())), tuple(regions) if regions else None)
    if key not in _BASELINES:
        _BASELINES[key] = inventory_records(scan(_conn(endpoint), regions))
    return _BASELINES[key]


#: What moto reports as "now" on every GetTrailStatus: not part of a comparison of two reads.
_NOW_FIELDS = ("latest_delivery_time", "latest_digest_delivery_time")


def _timeless(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [{k: v for k, v in r.items() if k not in _NOW_FIELDS} for r in rows]


def _said(demo: Any, regions: list[str]) -> list[dict[str, Any]]:
    """The fault-free rows as ``inventory --format json`` says them: with each trail's health
    and its key's facts."""
    endpoint, estate = demo
    key = (tuple(sorted(estate.keys.values())), tuple(regions), "health")
    if key not in _BASELINES:
        inv = scan(_conn(endpoint), regions)
        _BASELINES[key] = inventory_records(inv, inventory_health(inv), now=datetime.now(UTC))
    return _BASELINES[key]


# -- retries absorb transient faults ----------------------------------------------------------


@pytest.mark.parametrize("mode", ["standard", "adaptive"])
def test_inventory_with_30_percent_throttled_equals_the_fault_free_result(
    demo: Any, quick_backoff: None, mode: str
) -> None:
    endpoint, _ = demo
    expected = _baseline(demo, None)
    faults = FaultInjector(seed=1234).add("throttle", rate=0.3)
    conn = faults.install(_conn(endpoint, retry_mode=mode, max_attempts=12))

    inv = scan(conn)  # every region: DescribeRegions is throttled too

    assert inv.errors == ()
    assert inventory_records(inv) == expected
    throttled, sent = faults.count("throttle"), sum(faults.sent.values())
    assert 0.2 * sent < throttled < 0.4 * sent  # the faults really hit ~30% of all attempts
    # botocore retried underneath: trailkit counted each API call once, retries excluded.
    assert conn.total_calls == sent - throttled


def test_every_transient_fault_kind_is_absorbed_by_retries(demo: Any, quick_backoff: None) -> None:
    endpoint, _ = demo
    expected = _baseline(demo, list(DEMO_REGIONS))
    faults = FaultInjector(seed=99)
    for kind in ("throttle", "500", "reset", "timeout"):
        faults.add(kind, rate=0.08)
    # A burst: the first 10 DescribeTrails attempts (4 regions, so no request can run out).
    faults.add("throttle", operations={"DescribeTrails"}, calls=frozenset(range(1, 11)))
    conn = faults.install(_conn(endpoint, max_attempts=12))

    inv = scan(conn, list(DEMO_REGIONS))

    assert inv.errors == ()
    assert inventory_records(inv) == expected
    assert {i.kind for i in faults.injected} == {"throttle", "500", "reset", "timeout"}


def test_the_same_seed_makes_the_same_decisions_in_any_order() -> None:
    """Decisions depend on (seed, request, attempt), not on the order threads send requests."""
    requests = [
        ("cloudtrail", "DescribeTrails", region, f"body-{region}".encode(), attempt)
        for region in DEMO_REGIONS
        for attempt in range(3)
    ] + [("kms", "DescribeKey", "us-east-1", f"key-{i}".encode(), 0) for i in range(40)]

    def decisions(order: list[int], seed: int) -> dict[tuple[Any, ...], str | None]:
        injector = FaultInjector(seed=seed).add("throttle", rate=0.3).add("500", rate=0.2)
        seen: dict[tuple[Any, ...], str | None] = {}
        for index in order:
            service, operation, region, body, _ = requests[index]
            fault = injector.decide(service, operation, region, body)
            attempts = sum(1 for k in seen if k[:4] == requests[index][:4])
            seen[(*requests[index][:4], attempts)] = fault.kind if fault else None
        return seen

    forward = list(range(len(requests)))
    shuffled = forward[:]
    random.Random(3).shuffle(shuffled)
    assert decisions(forward, 7) == decisions(shuffled, 7)
    assert decisions(forward, 7) != decisions(forward, 8)
    kinds = list(decisions(forward, 7).values())
    assert kinds.count("throttle") and kinds.count("500") and kinds.count(None)


def test_retries_give_up_after_max_attempts_with_a_clear_error(
    demo: Any, faults: FaultInjector, quick_backoff: None
) -> None:
    endpoint, _ = demo
    faults.add("500", operations={"DescribeTrails"}, regions={"eu-west-1"})
    code, _, err = _cli("--endpoint-url", endpoint, "inventory", "--regions", REGIONS)
    assert code == 1
    assert "PARTIAL RESULT: 1 call in 1 region failed;" in err  # the plural written right
    assert "DescribeTrails in eu-west-1 failed (500)" in err
    assert faults.count("500") == 8  # Connection's default max_attempts: botocore retried 7 times
    assert "Traceback" not in err


def test_moto_style_html_500s_are_retried_too(demo: Any, quick_backoff: None) -> None:
    """moto's own internal error page (``<!doctype html>``) on the XML services (STS, EC2, S3):
    botocore cannot parse it and would neither retry it nor raise a BotoCoreError (a traceback);
    trailkit.aws.session turns it into a plain HTTP 500, which is retried."""
    endpoint, _ = demo
    expected = _baseline(demo, None)
    faults = FaultInjector(seed=5).add("html-500", services={"sts"}, calls=frozenset({1}))
    faults.add("html-500", services={"ec2", "s3"}, rate=0.5)
    inv = scan(faults.install(_conn(endpoint, max_attempts=12)))
    assert inv.errors == ()
    assert inventory_records(inv) == expected
    assert {i.service for i in faults.injected} == {"sts", "ec2", "s3"}


def test_an_html_500_after_every_retry_is_one_clear_message(
    demo: Any, faults: FaultInjector, quick_backoff: None
) -> None:
    endpoint, _ = demo
    faults.add("html-500", operations={"DescribeRegions"})
    code, out, err = _cli("--endpoint-url", endpoint, "inventory")
    assert code == 2 and out == ""
    assert err.count("\n") == 1 and "Traceback" not in err
    assert "DescribeRegions in us-east-1 failed (500)" in err
    assert faults.count("html-500") == 8


# -- access denied: partial results that say so --------------------------------------------------


@pytest.mark.parametrize("moto_style", [False, True], ids=["aws-json", "moto-403-xml"])
def test_denied_regions_are_marked_and_the_rest_is_complete(
    demo: Any, faults: FaultInjector, moto_style: bool
) -> None:
    endpoint, _ = demo
    denied = {"eu-west-1", "ap-northeast-1"}
    expected = [r for r in _said(demo, list(DEMO_REGIONS)) if r["home_region"] not in denied]
    faults.add("denied", services={"cloudtrail"}, regions=denied, moto_style=moto_style)

    code, out, err = _cli(
        "--endpoint-url", endpoint, "inventory", "--regions", REGIONS, "--format", "json"
    )

    assert code == 1  # partial
    rows = json.loads(out)
    trails = [r for r in rows if not r["name"].startswith("(region ")]
    # every trail of the readable regions, exactly as without faults
    assert _timeless(trails) == _timeless(expected)
    marked = {r["home_region"] for r in rows if r not in trails}
    assert marked == denied  # one error row per denied region
    assert "PARTIAL RESULT" in err
    for region in denied:
        assert (
            f"DescribeTrails in {region} was denied: the caller lacks cloudtrail:DescribeTrails"
            in err
        )
    assert "Traceback" not in err

    conn = _conn(endpoint)
    inv = scan(conn, list(DEMO_REGIONS))
    banner = ConnectionBanner(conn.info(), inv)
    assert banner.partial
    html = banner._w_html.value
    assert "PARTIAL" in html and "eu-west-1" in html and "ap-northeast-1" in html
    faults.clear()
    complete = ConnectionBanner(conn.info(), scan(_conn(endpoint), list(DEMO_REGIONS)))
    assert not complete.partial and "PARTIAL" not in complete._w_html.value


DENIED_CALLS = [
    ("GetTrailStatus", "cloudtrail:GetTrailStatus"),
    ("ListBuckets", "s3:ListAllMyBuckets"),
    ("GetBucketEncryption", "s3:GetEncryptionConfiguration"),
    ("GetBucketPolicy", "s3:GetBucketPolicy"),
    ("DescribeKey", "kms:DescribeKey"),
    ("GetKeyPolicy", "kms:GetKeyPolicy"),
    ("ListAliases", "kms:ListAliases"),
]


@pytest.mark.parametrize("operation, permission", DENIED_CALLS)
def test_a_denied_call_makes_a_partial_result_naming_the_permission(
    demo: Any, faults: FaultInjector, operation: str, permission: str
) -> None:
    endpoint, _ = demo
    names = {r["name"] for r in _baseline(demo, list(DEMO_REGIONS))}
    faults.add("denied", operations={operation})

    code, out, err = _cli(
        "--endpoint-url", endpoint, "inventory", "--regions", REGIONS, "--format", "json"
    )

    assert code == 1, err
    assert {r["name"] for r in json.loads(out)} == names  # every trail is still listed
    assert f"the caller lacks {permission}" in err and "PARTIAL RESULT" in err
    assert "Traceback" not in err


def test_a_bucket_region_needs_head_bucket_or_get_bucket_location(
    demo: Any, faults: FaultInjector
) -> None:
    """HeadBucket denied (this 403 has no x-amz-bucket-region header): GetBucketLocation names the
    region and nothing is missing. Both denied: the region is unknown, and both are named."""
    endpoint, _ = demo
    expected = _said(demo, list(DEMO_REGIONS))
    faults.add("denied", operations={"HeadBucket"})
    code, out, err = _cli(
        "--endpoint-url", endpoint, "inventory", "--regions", REGIONS, "--format", "json"
    )
    assert (code, err) == (0, "")
    rows = json.loads(out)
    # The same facts; only the texts of the two unreadable buckets name other answers (the
    # injected 403 has a body, so its code reads AccessDenied rather than 403).
    unread = {"deleted-bucket-trail", "partner-bucket-trail"}

    def same(r: dict[str, Any]) -> dict[str, Any]:
        if r["name"] not in unread:
            return r
        reasons = [{**x, "message": None} for x in r.get("health_reasons") or []]
        return {**r, "error": None, "health_reasons": reasons}

    assert [same(r) for r in _timeless(rows)] == [same(r) for r in _timeless(expected)]
    errors = {r["name"]: r["error"] for r in rows if r["name"] in unread}
    assert "S3 answered NoSuchBucket to GetBucketLocation" in errors["deleted-bucket-trail"]
    assert (
        "HeadBucket: AccessDenied (the bucket belongs to another account"
        in (errors["partner-bucket-trail"])
    )
    assert faults.count("denied", "HeadBucket") >= 1

    faults.add("denied", operations={"GetBucketLocation"})
    code, out, err = _cli(
        "--endpoint-url", endpoint, "inventory", "--regions", REGIONS, "--format", "json"
    )
    assert code == 1, err
    rows = json.loads(out)
    assert {r["name"] for r in rows} == {r["name"] for r in expected}
    assert all(r["bucket_region"] is None and r["bucket_key"] is None for r in rows)
    assert "the caller lacks s3:ListBucket" in err
    assert "the caller lacks s3:GetBucketLocation" in err
    assert "PARTIAL RESULT" in err and "Traceback" not in err


def test_denied_region_listing_is_an_aws_error_that_suggests_regions(
    demo: Any, faults: FaultInjector
) -> None:
    endpoint, _ = demo
    faults.add("denied", operations={"DescribeRegions"})
    code, out, err = _cli("--endpoint-url", endpoint, "inventory")
    assert code == 2 and out == ""
    assert "ec2:DescribeRegions" in err and "--regions" in err
    assert err.count("\n") == 1 and "Traceback" not in err


# -- expired or missing credentials: one message, exit 2 ------------------------------------------

COMMANDS = [
    ["inventory"],
    ["check", "--trail", "org-trail", "--key", "alias/cloudtrail-good"],
    ["keys", "--trail", "org-trail"],
    ["update", "--trail", "org-trail", "--key", "alias/cloudtrail-good", "--yes"],
    ["policy", "--trail", "org-trail", "--key", "alias/cloudtrail-good"],
]


@pytest.mark.parametrize("command", COMMANDS, ids=lambda c: c[0])
def test_expired_credentials_are_one_message_and_exit_2(
    demo: Any, faults: FaultInjector, tmp_path: Path, command: list[str]
) -> None:
    endpoint, _ = demo
    faults.add("expired")
    argv = ["--endpoint-url", endpoint, *command]
    if command[0] in ("update", "policy"):
        argv += ["--journal", str(tmp_path / "j.jsonl")]
    code, _, err = _cli(*argv)
    assert code == 2
    assert err.count("\n") == 1, err
    assert "credentials are invalid or expired (ExpiredToken)" in err
    assert "aws sso login" in err and "Traceback" not in err
    assert not (tmp_path / "j.jsonl").exists()


# What a shell pointed at the demo exports (``trailkit demo`` prints it): the demo endpoint takes
# any credentials, but trailkit no longer invents them for a local endpoint.
_DEMO_KEYS = {
    "AWS_ACCESS_KEY_ID": PLACEHOLDER_CREDENTIAL,
    "AWS_SECRET_ACCESS_KEY": PLACEHOLDER_CREDENTIAL,
}


def _env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env.update(PYTHONUNBUFFERED="1", **extra)
    return env


def test_expired_credentials_through_python_m_trailkit(demo: Any) -> None:
    endpoint, _ = demo
    injector = FaultInjector(seed=1).add("expired")
    with FaultProxy(endpoint, injector) as proxy:
        proc = subprocess.run(
            [sys.executable, "-m", "trailkit", "--endpoint-url", proxy.endpoint, "inventory"],
            capture_output=True,
            text=True,
            env=_env(**_DEMO_KEYS),
            timeout=60,
        )
    assert proc.returncode == 2, proc.stderr
    assert proc.stdout == ""
    lines = proc.stderr.splitlines()
    assert len(lines) == 1 and "expired (ExpiredToken)" in lines[0]
    assert injector.count("expired", "GetCallerIdentity") == 1


def test_missing_credentials_through_python_m_trailkit(tmp_path: Path) -> None:
    env = _env(
        HOME=str(tmp_path),
        AWS_CONFIG_FILE=str(tmp_path / "none"),
        AWS_SHARED_CREDENTIALS_FILE=str(tmp_path / "none"),
        AWS_EC2_METADATA_DISABLED="true",
        AWS_DEFAULT_REGION="us-east-1",
    )
    proc = subprocess.run(
        [sys.executable, "-m", "trailkit", "check", "--trail", "t", "--key", "alias/k"],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )
    assert proc.returncode == 2
    assert proc.stdout == ""
    lines = proc.stderr.splitlines()
    assert len(lines) == 1 and "No AWS credentials were found" in lines[0], proc.stderr


def test_a_reset_connection_through_the_proxy_is_retried(demo: Any) -> None:
    """The proxy's faults are real TCP resets and a real 500: botocore retries them."""
    endpoint, _ = demo
    injector = FaultInjector(seed=3)
    injector.add("reset", calls=frozenset({1, 3})).add("500", calls=frozenset({2}))
    with FaultProxy(endpoint, injector) as proxy:
        code, out, err = _cli("--endpoint-url", proxy.endpoint, "inventory", "--regions", REGIONS)
    assert code == 0, err
    assert "org-trail" in out
    assert injector.count("reset") == 2 and injector.count("500") == 1


def test_a_read_timeout_and_a_reset_after_the_answer_through_the_proxy(demo: Any) -> None:
    endpoint, _ = demo
    expected = Reader(_conn(endpoint)).trails_in("us-east-1")
    injector = FaultInjector(seed=4)
    injector.add("timeout", operations={"DescribeTrails"}, calls=frozenset({1}))
    injector.add("reset-after-send", operations={"DescribeTrails"}, calls=frozenset({1}))
    with FaultProxy(endpoint, injector, hold=1.0) as proxy:
        conn = Connection(endpoint_url=proxy.endpoint, region="us-east-1", read_timeout=0.3)
        assert Reader(conn).trails_in("us-east-1") == expected
    assert [i.kind for i in injector.injected] == ["timeout", "reset-after-send"]


# -- faults while changing a trail: the journal says what is true --------------------------------


APPLY_FAULTS = [
    # (fault on every UpdateTrail attempt, result outcome, journal status, applied?)
    ("500", Outcome.FAILED, "failed", False),
    ("throttle", Outcome.FAILED, "failed", False),
    ("reset", Outcome.FAILED, "failed", False),
    ("timeout", Outcome.FAILED, "failed", False),
    ("reset-after-send", Outcome.DONE, "done", True),
    ("timeout-after-send", Outcome.DONE, "done", True),
]


def test_a_fault_during_apply_is_journaled_as_what_happened(
    demo_rw: Any, quick_backoff: None, tmp_path: Path
) -> None:
    endpoint, estate = demo_rw
    arn = estate.trails["org-trail"]
    for kind, outcome, journaled, applied in APPLY_FAULTS:
        faults = FaultInjector(seed=11)
        conn = faults.install(_conn(endpoint, max_attempts=3))
        plan = plan_change(check(Reader(conn), "org-trail", "alias/cloudtrail-good"))
        journal = Journal(tmp_path / f"{kind}.jsonl")
        faults.add(kind, operations={"UpdateTrail"})

        result = apply(conn, plan, journal, confirmed=True)

        assert faults.count(kind, "UpdateTrail") == 3, kind  # every attempt botocore made
        assert result.outcome is outcome, (kind, result.message)
        (change,) = journal.changes()
        assert change.status == journaled, kind
        now = read_trail_key(conn, arn, "us-east-1")
        assert now == (plan.after_key if applied else None), kind
        assert change.outcome is not None and change.outcome.after == now, kind
        if applied:
            assert result.verified and "reads back the new key" in (change.outcome.note or "")
            faults.clear()
            conn.client("cloudtrail", "us-east-1").update_trail(Name=arn, KmsKeyId="")
        else:
            assert change.outcome.error and "UpdateTrail" in change.outcome.error, kind


def test_a_500_on_the_first_attempt_only_is_retried_and_done(
    demo_rw: Any, faults: FaultInjector, quick_backoff: None, tmp_path: Path
) -> None:
    endpoint, _ = demo_rw
    conn = faults.install(_conn(endpoint))
    plan = plan_change(check(Reader(conn), "org-trail", "alias/cloudtrail-good"))
    journal = Journal(tmp_path / "j.jsonl")
    faults.add("500", operations={"UpdateTrail"}, calls=frozenset({1}))
    result = apply(conn, plan, journal, confirmed=True)
    assert result.outcome is Outcome.DONE and result.verified
    assert [c.status for c in journal.changes()] == ["done"]
    assert faults.count("500") == 1


def test_an_unknown_outcome_stays_pending_until_reconcile_reads_the_trail(
    demo_rw: Any, faults: FaultInjector, quick_backoff: None, tmp_path: Path
) -> None:
    endpoint, estate = demo_rw
    conn = faults.install(_conn(endpoint, max_attempts=2))
    plan = plan_change(check(Reader(conn), "org-trail", "alias/cloudtrail-good"))
    path = tmp_path / "j.jsonl"
    journal = Journal(path)
    faults.add("reset-after-send", operations={"UpdateTrail"})
    # GetTrail #1 is the concurrency guard; every read-back after the reset fails.
    faults.add("500", operations={"GetTrail"}, calls=frozenset(range(2, 10)))

    result = apply(conn, plan, journal, confirmed=True)

    assert result.outcome is Outcome.UNKNOWN
    assert "journal --reconcile" in result.message
    (pending,) = journal.pending()  # neither "done" nor "failed": the journal does not know
    assert pending.change_id == result.change_id

    faults.clear()
    code, out, err = _cli(
        "--endpoint-url",
        endpoint,
        "journal",
        "--reconcile",
        "--journal",
        str(path),
        "--format",
        "json",
    )
    assert code == 0, err
    assert [r["status"] for r in json.loads(out)] == ["reconciled-done"]
    assert read_trail_key(conn, estate.trails["org-trail"], "us-east-1") == plan.after_key


def test_cli_reports_an_unknown_outcome_with_exit_2(
    demo_rw: Any, faults: FaultInjector, quick_backoff: None, tmp_path: Path
) -> None:
    endpoint, _ = demo_rw
    faults.add("reset-after-send", operations={"UpdateTrail"})
    # GetTrail #1 finds the trail for the plan, #2 is the runbook's fresh pre-flight, #3 the
    # concurrency guard, #4... read back.
    faults.add("500", operations={"GetTrail"}, calls=frozenset(range(4, 30)))
    j = str(tmp_path / "j.jsonl")
    code, out, err = _cli(
        "--endpoint-url", endpoint, "update", "--trail", "org-trail",
        "--key", "alias/cloudtrail-good", "--yes", "--journal", j,
    )  # fmt: skip
    assert code == 2
    assert "UNKNOWN" in out and "journal --reconcile" in err
    assert [c.status for c in Journal(Path(j)).changes()] == ["pending"]


def test_a_fault_during_a_key_policy_change_is_journaled_as_what_happened(
    demo_rw: Any, quick_backoff: None, tmp_path: Path
) -> None:
    endpoint, estate = demo_rw
    key = estate.keys["alias/cloudtrail-good"]
    for kind, outcome in [("500", Outcome.FAILED), ("reset-after-send", Outcome.DONE)]:
        faults = FaultInjector(seed=13)
        conn = faults.install(_conn(endpoint, max_attempts=2))
        before = read_key_policy(conn, key, "us-east-1")
        policy = json.loads(before)
        policy["Statement"].append(
            {
                "Sid": "FaultTest",
                "Effect": "Allow",
                "Principal": {"AWS": "arn:aws:iam::123456789012:root"},
                "Action": "kms:Decrypt",
                "Resource": "*",
            }
        )
        journal = Journal(tmp_path / f"{kind}.jsonl")
        faults.add(kind, operations={"PutKeyPolicy"})

        result = put_key_policy(conn, key, before, json.dumps(policy), journal, confirmed=True)

        assert result.outcome is outcome, (kind, result.message)
        assert [c.status for c in journal.changes()] == [outcome.value], kind
        now = json.loads(read_key_policy(conn, key, "us-east-1"))
        assert now == (policy if outcome is Outcome.DONE else json.loads(before)), kind


# -- a crash between sending and recording ----------------------------------------------------

_CRASH = textwrap.dedent(
    """
    import os, sys
    from trailkit.aws.reader import Reader
    from trailkit.change.journal import Journal
    from trailkit.rules.plan import plan_change
    from trailkit.runbook import check
    from trailkit.aws.session import Connection
    from trailkit.change.update import apply

    endpoint, path, where = sys.argv[1:4]
    conn = Connection(endpoint_url=endpoint, region="us-east-1")
    plan = plan_change(check(Reader(conn), "org-trail", "alias/cloudtrail-good"))

    def die(**_):
        os._exit(9)  # no cleanup, no flush: as if the machine lost power

    if where == "before-send":
        conn.client("cloudtrail", "us-east-1").meta.events.register(
            "before-send.cloudtrail.UpdateTrail", die
        )
        apply(conn, plan, Journal(path), confirmed=True)
    else:
        apply(conn, plan, Journal(path), confirmed=True, after_send=die)
    """
)


@pytest.mark.parametrize(
    "where, settled, applied",
    [("after-send", "reconciled-done", True), ("before-send", "reconciled-not-applied", False)],
)
def test_a_killed_process_leaves_an_intent_that_reconcile_settles(
    demo_rw: Any, tmp_path: Path, where: str, settled: str, applied: bool
) -> None:
    endpoint, estate = demo_rw
    path = tmp_path / "j.jsonl"
    proc = subprocess.run(
        [sys.executable, "-c", _CRASH, endpoint, str(path), where],
        capture_output=True,
        text=True,
        env=_env(**_DEMO_KEYS),
        timeout=60,
    )
    assert proc.returncode == 9, proc.stderr
    (pending,) = Journal(path).pending()

    code, out, err = _cli(
        "--endpoint-url", endpoint, "journal", "--journal", str(path), "--format", "json"
    )
    assert code == 0 and "1 change has no outcome" in err and "--reconcile" in err

    code, out, err = _cli(
        "--endpoint-url",
        endpoint,
        "journal",
        "--reconcile",
        "--journal",
        str(path),
        "--format",
        "json",
    )
    assert code == 0, err
    (row,) = json.loads(out)
    assert row["change_id"] == pending.change_id and row["status"] == settled
    now = read_trail_key(_conn(endpoint), estate.trails["org-trail"], "us-east-1")
    assert (now == estate.keys["alias/cloudtrail-good"]) is applied
    assert Journal(path).pending() == []


# -- two operators racing on one trail ------------------------------------------------------------


def test_two_operators_racing_on_one_trail_the_second_is_refused(
    demo_rw: Any, tmp_path: Path
) -> None:
    endpoint, estate = demo_rw
    first, second = _conn(endpoint), _conn(endpoint)
    # Both plan from the same state (org-trail on SSE-S3), to different keys.
    plan_a = plan_change(check(Reader(first), "org-trail", "alias/cloudtrail-good"))
    plan_b = plan_change(check(Reader(second), "org-trail", "alias/multi-region-good"))
    assert not plan_a.blocked and not plan_b.blocked
    assert plan_a.before_key is None and plan_b.before_key is None

    sent = threading.Event()
    results: dict[str, Any] = {}

    def operator_a() -> None:
        results["a"] = apply(
            first, plan_a, Journal(tmp_path / "a.jsonl"), confirmed=True, after_send=sent.set
        )

    def operator_b() -> None:
        assert sent.wait(60)
        try:
            results["b"] = apply(second, plan_b, Journal(tmp_path / "b.jsonl"), confirmed=True)
        except RefusedError as err:
            results["b"] = err

    threads = [threading.Thread(target=operator_a), threading.Thread(target=operator_b)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)

    assert results["a"].outcome is Outcome.DONE
    assert isinstance(results["b"], RefusedError)
    assert "changed since the plan" in str(results["b"]) and "Nothing was sent" in str(results["b"])
    key = read_trail_key(first, estate.trails["org-trail"], "us-east-1")
    assert key == estate.keys["alias/cloudtrail-good"]  # the first writer's change stands
    assert [c.status for c in Journal(tmp_path / "a.jsonl").changes()] == ["done"]
    assert Journal(tmp_path / "b.jsonl").changes() == []  # nothing sent, nothing to record


def test_an_unreachable_endpoint_is_said_in_words_not_an_exception_name() -> None:
    """Found by a review: "could not reach AWS (EndpointConnectionError)" put a Python class
    name in front of the operator; the name stays in ``.code`` for programs."""
    from trailkit.errors import ConnectionFailed, translate

    class EndpointConnectionError(Exception):
        pass

    err = translate(EndpointConnectionError("x"), "DescribeTrails", region="us-east-1")
    assert isinstance(err, ConnectionFailed) and err.code == "EndpointConnectionError"
    assert "EndpointConnectionError" not in str(err)
    assert "nothing answered at the endpoint" in err.message
