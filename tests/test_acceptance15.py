"""Issue 15's acceptance on the demo, end to end, with nothing faked: the demo's own event
history (``LookupEvents`` served by :mod:`trailkit.demo.history`), not a stand-in."""

from __future__ import annotations

import io
import json
from datetime import UTC, datetime, timedelta
from typing import Any

from trailkit.ui.cli import main


def _cli(endpoint: str, *argv: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = main(["--endpoint-url", endpoint, *argv], out=out, err=err)
    return code, out.getvalue(), err.getvalue()


def test_explain_stale_key_trail_shows_the_disabled_key_the_fix_and_the_history(demo: Any) -> None:
    code, out, err = _cli(demo[0], "explain", "--trail", "stale-key-trail")
    assert code == 0, err
    assert out.startswith("DEMO (local moto server)")
    assert "alias/cloudtrail-disabled" in out and "· Disabled" in out
    assert "Health: broken" in out and "key-state" in out
    assert "→ enable the key (or cancel its deletion), or choose another key" in out
    history = out.split("Change history", 1)[1]
    names = [
        n
        for line in history.splitlines()
        for n in ("StopLogging", "EnableKey", "DisableKey", "CreateTrail")
        if f" {n} " in f" {line} "
    ]
    assert names == ["StopLogging", "EnableKey", "DisableKey", "CreateTrail"]  # newest first
    assert "assumed-role/OpsEngineer/dan.miller" in history  # who
    assert "203.0.113.77" in history  # from where
    assert "FAILED: AccessDeniedException" in history  # the refused EnableKey
    assert "PARTIAL RESULT" not in err


def test_explain_json_history_is_the_seeded_story_in_utc(demo: Any) -> None:
    code, out, err = _cli(demo[0], "explain", "--trail", "stale-key-trail", "--format", "json")
    assert code == 0, err
    data = json.loads(out)
    events = data["history"]["events"]
    disable = next(e for e in events if e["event"] == "DisableKey")
    assert disable["actor"].endswith(":assumed-role/OpsEngineer/dan.miller")
    assert disable["source_ip"] == "203.0.113.77" and disable["time"].endswith("Z")
    age = datetime.now(UTC) - datetime.fromisoformat(disable["time"].replace("Z", "+00:00"))
    assert timedelta(days=2) < age < timedelta(days=4)
    assert data["history"]["errors"] == [] and data["partial"] is False
    assert data["health"] == "broken"


def test_since_narrows_the_window(demo: Any) -> None:
    code, out, err = _cli(
        demo[0], "explain", "--trail", "stale-key-trail", "--since", "1d", "--format", "json"
    )
    assert code == 0, err
    assert json.loads(out)["history"]["events"] == []  # everything was 3 days ago or more
    code, out, err = _cli(demo[0], "explain", "--trail", "stale-key-trail", "--since", "0d")
    assert code == 2 and "Traceback" not in err and err.strip()


def test_history_of_the_new_trails(demo: Any) -> None:
    code, out, err = _cli(demo[0], "explain", "--trail", "stripped-policy-trail")
    assert code == 0, err
    assert "policy-encrypt" in out and "PutKeyPolicy" in out
    assert "cloudformation.amazonaws.com" in out
    assert "key policy replaced" in out  # what the event changed
    code, out, err = _cli(demo[0], "explain", "--trail", "retiring-key-trail")
    assert code == 0, err
    assert out.index("deletion:") < out.index("key:")  # the most urgent line first
    assert "7 days left" in out and "ScheduleKeyDeletion" in out
    assert "deleted after 8 days" in out  # scheduled a day ago with 8 days: 7 left
    assert "no KMS key (SSE-S3)" not in out  # the trail was created with its key


def test_inventory_never_reads_history_explain_does(demo: Any) -> None:
    from trailkit.aws.reader import Reader
    from trailkit.aws.session import Connection

    conn = Connection(endpoint_url=demo[0], region="us-east-1", workers=4)
    reader = Reader(conn)
    inventory = reader.scan(["us-east-1"])
    assert conn.calls.get("cloudtrail:DescribeTrails") and inventory.trails
    assert "cloudtrail:LookupEvents" not in conn.calls
    trail = next(t for t in inventory.trails if t.name == "stale-key-trail")
    reader.history(trail, inventory.keys.get(trail.kms_key_id or ""), since=_days_ago(30))
    assert conn.calls["cloudtrail:LookupEvents"] == 10  # 5 trail and 5 key events, one region


def _days_ago(days: int) -> datetime:
    return datetime.now(UTC) - timedelta(days=days)


def test_another_accounts_key_is_a_note_not_a_failed_call(demo_rw: Any) -> None:
    """A trail on a key of another account: its key's history is in that account (not looked
    up). The result is partial (exit 1), said once in the view, and PARTIAL RESULT does not
    claim a call failed."""
    from trailkit.aws.session import Connection

    endpoint, estate = demo_rw
    shared = estate.keys["alias/shared-logs-key"]
    conn = Connection(endpoint_url=endpoint, region="us-east-1")
    conn.client("cloudtrail", "us-east-1").create_trail(
        Name="xacct-trail", S3BucketName="tk-stale-logs-use1", KmsKeyId=shared
    )
    code, out, err = _cli(endpoint, "explain", "--trail", "xacct-trail")
    assert code == 1
    assert "PARTIAL RESULT: part of the change history was not read" in err
    assert "failed" not in err and "warning:" not in err
    assert out.count(shared.split(":")[4]) >= 1 and "Traceback" not in out + err
    code, out, err = _cli(endpoint, "explain", "--trail", "xacct-trail", "--format", "json")
    assert code == 1 and json.loads(out)["partial"] is True
    assert "warning:" in err  # JSON on stdout: what is missing is said on stderr
