"""``trailkit explain``: one trail's drill-down (issue 15 item 5).

The pure assembly (:func:`trailkit.rules.explain.explain`) table by table on records built by
hand; then :meth:`Runbook.explain`, the command line and the notebook glue against the demo
estate. ``Reader.history`` (the change history) and ``trailkit.rules.history.parse_since`` are
replaced by fakes here: they are written elsewhere, and their own tests pin what they read.
"""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from english import assert_japanese
from widget_fakes import ACCOUNT, make_key, make_trail

from trailkit import i18n
from trailkit.aws.reader import Reader
from trailkit.demo.estate import cloudtrail_key_policy, no_readers_key_policy, root_key_policy
from trailkit.errors import AccessDenied
from trailkit.records import KeyInfo, ScanError, Trail, TrailStatus
from trailkit.records.history import History, HistoryEvent
from trailkit.rules.explain import Explanation, explain
from trailkit.rules.readers import Access
from trailkit.ui.cli import main

NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
TRAIL_ARN = f"arn:aws:cloudtrail:us-east-1:{ACCOUNT}:trail/t"
_CT = "cloudtrail.amazonaws.com"


def _trail(key: KeyInfo | None = None, **kw: Any) -> Trail:
    trail = make_trail("t", "us-east-1", "tk-logs", "us-east-1", key=key.arn if key else None)
    return replace(trail, **kw)


def _key(policy: dict[str, Any] | None = None, **kw: Any) -> KeyInfo:
    key = make_key(
        "alias/k",
        policy=policy if policy is not None else cloudtrail_key_policy(ACCOUNT, region="us-east-1"),
    )
    return replace(key, **kw)


def _run(
    trail: Trail, key: KeyInfo | None, history: History | None = None, **kw: Any
) -> Explanation:
    return explain(trail, key, ACCOUNT, history, NOW, **kw)


def _policy(*statements: dict[str, Any]) -> dict[str, Any]:
    return {
        "Version": "2012-10-17",
        "Statement": [*root_key_policy(ACCOUNT)["Statement"], *statements],
    }


_DENY = {
    "Sid": "DenyCloudTrail",
    "Effect": "Deny",
    "Principal": {"Service": _CT},
    "Action": "kms:GenerateDataKey*",
    "Resource": "*",
}
_OTHER_TRAIL = {
    "Sid": "OnlyOtherTrail",
    "Effect": "Allow",
    "Principal": {"Service": _CT},
    "Action": "kms:GenerateDataKey*",
    "Resource": "*",
    "Condition": {
        "StringEquals": {"aws:SourceArn": f"arn:aws:cloudtrail:us-east-1:{ACCOUNT}:trail/other"}
    },
}


# -- the pure assembly -------------------------------------------------------------------------

#: case -> (key policy, the encrypt decision, the statements' (sid, effect, role), health codes)
POLICY_CASES: dict[
    str, tuple[dict[str, Any], str, list[tuple[str | None, str, str]], list[str]]
] = {
    "console policy": (
        cloudtrail_key_policy(ACCOUNT, region="us-east-1"),
        "allowed",
        [("Allow CloudTrail to encrypt logs", "Allow", "deciding")],
        [],
    ),
    "explicit deny": (
        cloudtrail_key_policy(ACCOUNT, region="us-east-1", extra=(_DENY,)),
        "denied",
        [("DenyCloudTrail", "Deny", "deciding")],
        ["policy-deny"],
    ),
    "no CloudTrail statement": (
        root_key_policy(ACCOUNT),
        "denied",
        [],
        ["policy-encrypt", "policy-describe"],
    ),
    "condition names another trail": (
        _policy(_OTHER_TRAIL),
        "denied",
        [("OnlyOtherTrail", "Allow", "near-miss")],
        ["policy-encrypt", "policy-describe"],
    ),
}


@pytest.mark.parametrize("case", list(POLICY_CASES))
def test_policy_decisions(case: str) -> None:
    policy, decision, statements, codes = POLICY_CASES[case]
    key = _key(policy)
    ex = _run(_trail(key), key)
    encrypt = ex.policy.decisions[0]
    assert (encrypt.request, encrypt.action, encrypt.required) == (
        "encrypt",
        "kms:GenerateDataKey*",
        "required",
    )
    assert encrypt.decision == decision
    assert [(s.sid, s.effect, s.role) for s in encrypt.statements] == statements
    assert [r.code for r in ex.health.reasons if r.code.startswith("policy-")] == codes
    # the statement as written in the policy, for the views to show
    for note in encrypt.statements:
        assert note.statement is not None and note.statement["Sid"] == note.sid
    assert ex.policy.unread is None


def test_near_miss_says_which_condition_fails() -> None:
    key = _key(_policy(_OTHER_TRAIL))
    (note,) = _run(_trail(key), key).policy.decisions[0].statements
    assert "aws:SourceArn" in note.why and "trail/other" in note.why and "trail/t" in note.why


def test_deciding_deny_says_why() -> None:
    key = _key(cloudtrail_key_policy(ACCOUNT, region="us-east-1", extra=(_DENY,)))
    (note,) = _run(_trail(key), key).policy.decisions[0].statements
    assert "explicitly denies" in note.why


@pytest.mark.parametrize(
    ("bucket_key", "requests"),
    [
        (False, [("encrypt", "required"), ("describe", "best-practice")]),
        (True, [("encrypt", "required"), ("describe", "required"), ("decrypt", "required")]),
        (
            None,
            [("encrypt", "required"), ("describe", "if-bucket-key"), ("decrypt", "if-bucket-key")],
        ),
    ],
)
def test_requests_follow_the_bucket_key(bucket_key: bool | None, requests: list[Any]) -> None:
    key = _key()
    trail = _trail(key)
    assert trail.bucket is not None
    trail = replace(trail, bucket=replace(trail.bucket, bucket_key=bucket_key))
    ex = _run(trail, key)
    assert [(d.request, d.required) for d in ex.policy.decisions] == requests


def test_policy_not_evaluated_says_why_and_permission() -> None:
    unread = _key(policy_error="AccessDeniedException: kms:GetKeyPolicy")
    unread = replace(unread, policy=None)
    ex = _run(_trail(unread), unread)
    assert ex.policy.decisions == ()
    assert "kms:GetKeyPolicy" in (ex.policy.unread or "")
    assert ex.policy.permission == "kms:GetKeyPolicy"
    assert ex.readers == ()
    gone = replace(_key(), error="NotFoundException: no such key", missing=True, policy=None)
    ex = _run(_trail(gone), gone)
    assert ex.policy.permission == "kms:DescribeKey"
    assert ex.facts is None
    assert "key-not-found" in ex.health.codes
    assert ex.as_dict()["key"]["error"] == "NotFoundException: no such key"


def test_sse_s3_trail() -> None:
    ex = _run(_trail(), None)
    assert str(ex.health.kind) == "sse-s3"
    assert ex.key is None and ex.facts is None and ex.readers == ()
    assert ex.policy.decisions == () and "SSE-S3" in (ex.policy.unread or "")
    data = ex.as_dict()
    assert data["key"] is None and data["trail"]["encryption"] == "SSE-S3"


@pytest.mark.parametrize(
    ("policy", "access"),
    [
        (cloudtrail_key_policy(ACCOUNT, region="us-east-1"), Access.ANY),
        (no_readers_key_policy(ACCOUNT, region="us-east-1"), Access.NOBODY),
    ],
)
def test_readers_per_account(policy: dict[str, Any], access: Access) -> None:
    key = _key(policy)
    ex = _run(_trail(key), key, reader_accounts=["210987654321"])
    assert (ex.readers[0].account, ex.readers[0].access) == (ACCOUNT, access)
    assert [r.account for r in ex.readers] == [ACCOUNT, "210987654321"]
    assert ex.as_dict()["readers"][0]["access"] == str(access)


def test_pending_deletion_facts() -> None:
    key = _key(state="PendingDeletion", deletion_date=NOW + timedelta(days=6, hours=1))
    ex = _run(_trail(key), key)
    assert ex.facts is not None and ex.facts.days_left == 7
    data = ex.as_dict()["key"]
    assert (data["state"], data["days_left"], data["deletion_date"]) == (
        "PendingDeletion",
        7,
        "2026-12-07T13:00:00Z",
    )
    assert str(ex.health.kind) == "broken"


def test_delivery_errors_have_cause_and_fix() -> None:
    key = _key()
    status = TrailStatus(
        is_logging=True,
        latest_delivery_error="KMS.DisabledException: key is disabled",
        latest_digest_delivery_error="AccessDenied",
        latest_delivery_time=NOW - timedelta(minutes=10),
    )
    ex = _run(_trail(key, status=status), key)
    assert [(p.digest, p.cause.code) for p in ex.delivery.problems] == [
        (False, "kms-disabled"),
        (True, "s3-access-denied"),
    ]
    assert "enable-key" in ex.delivery.problems[0].cause.fix
    data = ex.as_dict()["delivery"]
    assert data["latest_delivery_time"] == "2026-12-01T11:50:00Z"
    assert data["errors"][0]["cause"] == "kms-disabled"


def test_unreadable_status() -> None:
    ex = _run(_trail(status=TrailStatus(error="AccessDenied: cloudtrail:GetTrailStatus")), None)
    assert ex.delivery.unread == "AccessDenied: cloudtrail:GetTrailStatus"
    assert ex.delivery.permission == "cloudtrail:GetTrailStatus"


def _event(name: str, days: float, **kw: Any) -> HistoryEvent:
    return HistoryEvent(
        time=NOW - timedelta(days=days),
        name=name,
        source=kw.pop("source", "kms.amazonaws.com"),
        region="us-east-1",
        resource=TRAIL_ARN,
        **kw,
    )


def test_history_newest_first_and_partial() -> None:
    events = (_event("PutKeyPolicy", 5), _event("DisableKey", 1), _event("UpdateTrail", 3))
    failed = ScanError(
        "LookupEvents", "AccessDenied", "not allowed", "eu-west-1", "cloudtrail:LookupEvents"
    )
    history = History(events, NOW - timedelta(days=30), NOW, ("us-east-1", "eu-west-1"), (failed,))
    ex = _run(_trail(), None, history)
    assert [e.name for e in ex.events] == ["DisableKey", "UpdateTrail", "PutKeyPolicy"]
    assert ex.partial and ex.all_errors == (failed,)
    data = ex.as_dict()
    assert [e["event"] for e in data["history"]["events"]] == [
        "DisableKey",
        "UpdateTrail",
        "PutKeyPolicy",
    ]
    assert data["history"]["errors"][0]["permission"] == "cloudtrail:LookupEvents"
    assert data["partial"] is True
    complete = _run(_trail(), None, replace(history, errors=()))
    assert not complete.partial
    assert _run(_trail(), None, None).as_dict()["history"] is None


def test_read_errors_make_a_partial_result() -> None:
    failed = ScanError("GetKeyRotationStatus", "AccessDeniedException", "denied", "us-east-1")
    ex = _run(_trail(), None, errors=[failed])
    assert ex.partial and ex.as_dict()["errors"][0]["operation"] == "GetKeyRotationStatus"


#: The top-level fields of ``trailkit explain --format json`` (stable, English).
JSON_FIELDS = {
    "account",
    "generated_at",
    "trail",
    "bucket",
    "key",
    "health",
    "health_reasons",
    "policy",
    "readers",
    "delivery",
    "history",
    "ownership",  # issue 17: who manages the trail and its key
    "errors",
    "partial",
}


def test_json_fields() -> None:
    key = _key()
    data = _run(_trail(key), key).as_dict()
    assert set(data) == JSON_FIELDS
    assert set(data["trail"]) == {
        "name",
        "arn",
        "home_region",
        "account",
        "multi_region",
        "organization",
        "logging",
        "log_file_validation",
        "encryption",
        "kms_key_id",
    }
    assert set(data["bucket"]) == {
        "name",
        "region",
        "bucket_key",
        "prefix",
        "owner_account",
        "missing",
        "error",
    }
    assert {"arn", "alias", "state", "deletion_date", "days_left", "rotation", "manager"} <= set(
        data["key"]
    )
    assert json.loads(json.dumps(data)) == data  # JSON as it is


def test_terminal_view_puts_the_deletion_first_in_red() -> None:
    from trailkit.ui.terminal import console_for, emit, explain_view

    key = _key(state="PendingDeletion", deletion_date=NOW + timedelta(days=3))
    ex = _run(_trail(key), key)
    out = io.StringIO()
    emit(console_for(out, width=100, colour=True), explain_view(ex))
    (line,) = [x for x in out.getvalue().splitlines() if "Key deletion on" in x]
    assert "\x1b[1;31m" in line  # bold red
    plain = io.StringIO()
    emit(console_for(plain, width=100, colour=False), explain_view(ex))
    card = plain.getvalue().split("\nKey\n")[1].splitlines()
    assert card[0].startswith("deletion:") and "Key deletion on" in card[0]  # first of the card
    assert card[1].startswith("key:")


@pytest.mark.parametrize("width", [60, 80, 120])
def test_terminal_view_fits_the_width(width: int) -> None:
    from rich.cells import cell_len

    from trailkit.ui.terminal import console_for, emit, explain_view

    key = _key(cloudtrail_key_policy(ACCOUNT, region="us-east-1", extra=(_DENY,)))
    history = History((_event("DisableKey", 1, error_code="AccessDenied"),), NOW, NOW)
    out = io.StringIO()
    emit(console_for(out, width=width, colour=False), explain_view(_run(_trail(key), key, history)))
    long = [
        line
        for line in out.getvalue().splitlines()
        if cell_len(line) > width and "arn:" not in line  # an ARN is shown whole
    ]
    assert not long


# -- the runbook, the command line and the notebook glue on the demo ----------------------------


class FakeHistory:
    """``Reader.history`` as a fake: records each call and returns a seeded history."""

    def __init__(
        self, *, fail: Exception | None = None, errors: tuple[ScanError, ...] = ()
    ) -> None:
        self.calls: list[dict[str, Any]] = []
        self.fail = fail
        self.errors = errors

    def __call__(
        self,
        reader: Reader,
        trail: Trail,
        key: KeyInfo | None,
        *,
        since: datetime,
        until: datetime | None = None,
    ) -> History:
        self.calls.append({"trail": trail, "key": key, "since": since, "until": until})
        if self.fail is not None:
            raise self.fail
        now = datetime.now(UTC)
        events = (
            HistoryEvent(
                time=now - timedelta(days=3),
                name="PutKeyPolicy",
                source="kms.amazonaws.com",
                region="us-east-1",
                resource=key.arn if key is not None else trail.arn,
                actor=f"arn:aws:iam::{ACCOUNT}:role/Automation",
                source_ip="cloudformation.amazonaws.com",
            ),
            HistoryEvent(
                time=now - timedelta(days=1),
                name="DisableKey",
                source="kms.amazonaws.com",
                region="us-east-1",
                resource=key.arn if key is not None else trail.arn,
                actor=f"arn:aws:iam::{ACCOUNT}:user/mallory",
                source_ip="203.0.113.9",
            ),
            HistoryEvent(
                time=now - timedelta(hours=5),
                name="StartLogging",
                source="cloudtrail.amazonaws.com",
                region="us-east-1",
                resource=trail.arn,
                actor=f"arn:aws:iam::{ACCOUNT}:user/mallory",
                source_ip="203.0.113.9",
                error_code="AccessDenied",
            ),
        )
        return History(events, since, until or now, ("us-east-1",), self.errors)

    def install(self, monkeypatch: pytest.MonkeyPatch) -> FakeHistory:
        """Put this fake in place of ``Reader.history`` (a method: bound to each reader)."""

        def history(
            reader: Reader,
            trail: Trail,
            key: KeyInfo | None,
            *,
            since: datetime,
            until: datetime | None = None,
        ) -> History:
            return self(reader, trail, key, since=since, until=until)

        monkeypatch.setattr(Reader, "history", history, raising=False)
        return self


@pytest.fixture
def history(monkeypatch: pytest.MonkeyPatch) -> FakeHistory:
    return FakeHistory().install(monkeypatch)


def _cli(endpoint: str, *argv: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = main(["--endpoint-url", endpoint, *argv], out=out, err=err)
    return code, out.getvalue(), err.getvalue()


def test_explain_stale_key_trail(demo: Any, history: FakeHistory) -> None:
    """The issue's acceptance: the disabled key, the fix and the history."""
    before = datetime.now(UTC)
    code, out, err = _cli(demo[0], "explain", "--trail", "stale-key-trail")
    after = datetime.now(UTC)
    assert code == 0, err
    assert out.startswith("DEMO (local moto server)")  # who and where first
    assert "alias/cloudtrail-disabled" in out and "Disabled" in out
    assert "Health: broken" in out and "key-state" in out
    assert "→ enable the key (or cancel its deletion), or choose another key" in out
    assert 'statement "Allow CloudTrail to encrypt logs" · Allow' in out
    assert "Change history" in out
    lines = out.split("Change history")[1].splitlines()
    order = [
        n for line in lines for n in ("StartLogging", "DisableKey", "PutKeyPolicy") if n in line
    ]
    assert order == ["StartLogging", "DisableKey", "PutKeyPolicy"]  # newest first
    assert "FAILED: AccessDenied" in out
    assert "203.0.113.9" in out
    assert "PARTIAL RESULT" not in err
    (call,) = history.calls
    assert call["trail"].name == "stale-key-trail"
    assert call["key"] is not None and call["key"].state == "Disabled"
    assert before - timedelta(days=30) <= call["since"] <= after - timedelta(days=30)


def test_explain_json(demo: Any, history: FakeHistory) -> None:
    code, out, _err = _cli(demo[0], "explain", "--trail", "stale-key-trail", "--format", "json")
    assert code == 0
    data = json.loads(out)
    assert set(data) == JSON_FIELDS
    assert data["trail"]["name"] == "stale-key-trail"
    assert (
        data["key"]["state"] == "Disabled" and data["key"]["alias"] == "alias/cloudtrail-disabled"
    )
    assert data["health"] == "broken"
    assert [r["code"] for r in data["health_reasons"]] == ["key-state"]
    assert [r["request"] for r in data["policy"]["requests"]] == ["encrypt", "describe"]
    assert data["policy"]["requests"][0]["decision"] == "allowed"
    assert data["delivery"]["logging"] is False
    assert [e["event"] for e in data["history"]["events"]] == [
        "StartLogging",
        "DisableKey",
        "PutKeyPolicy",
    ]
    assert data["history"]["events"][0]["error_code"] == "AccessDenied"
    assert data["partial"] is False


def test_no_history_makes_no_history_call(demo: Any, history: FakeHistory) -> None:
    code, out, _err = _cli(demo[0], "explain", "--trail", "stale-key-trail", "--no-history")
    assert code == 0
    assert history.calls == []
    assert "not looked up (--no-history)" in out
    code, out, _err = _cli(
        demo[0], "explain", "--trail", "stale-key-trail", "--no-history", "--format", "json"
    )
    assert json.loads(out)["history"] is None and history.calls == []


def test_unknown_trail_is_a_clear_error(demo: Any, history: FakeHistory) -> None:
    code, out, err = _cli(demo[0], "explain", "--trail", "no-such-trail", "--format", "json")
    assert code == 2
    assert out == ""
    assert "No trail named 'no-such-trail' is visible to this caller." in err
    assert "Traceback" not in err
    assert history.calls == []


@pytest.fixture
def since_module(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """``trailkit.rules.history.parse_since`` recorded: ``parse_since("3d")`` is 3 days before
    ``now``; anything else is an InputError (the real parser is tested in test_history.py)."""
    from trailkit.errors import InputError

    asked: list[str] = []

    def parse_since(value: str, now: datetime) -> datetime:
        asked.append(value)
        if value != "3d":
            raise InputError(f"--since {value!r} is not a time.", "for example `--since 30d`")
        return now - timedelta(days=3)

    from trailkit.rules import history as history_rules

    monkeypatch.setattr(history_rules, "parse_since", parse_since)
    return asked


def test_since(demo: Any, history: FakeHistory, since_module: list[str]) -> None:
    before = datetime.now(UTC)
    code, _out, _err = _cli(demo[0], "explain", "--trail", "stale-key-trail", "--since", "3d")
    after = datetime.now(UTC)
    assert code == 0 and since_module == ["3d"]
    (call,) = history.calls
    assert before - timedelta(days=3) <= call["since"] <= after - timedelta(days=3)
    code, out, err = _cli(demo[0], "explain", "--trail", "stale-key-trail", "--since", "soon")
    assert code == 2 and out == "" and "is not a time" in err
    assert len(history.calls) == 1  # nothing read for a bad --since
    code, _out, err = _cli(
        demo[0], "explain", "--trail", "stale-key-trail", "--since", "3d", "--no-history"
    )
    assert code == 2 and "not allowed with argument" in err


def test_history_errors_are_a_partial_result(demo: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    failed = ScanError(
        "LookupEvents",
        "AccessDeniedException",
        "LookupEvents in eu-west-1 was refused",
        "eu-west-1",
        "cloudtrail:LookupEvents",
    )
    FakeHistory(errors=(failed,)).install(monkeypatch)
    code, out, err = _cli(demo[0], "explain", "--trail", "stale-key-trail")
    assert code == 1
    assert "PARTIAL RESULT: 1 call in 1 region failed" in err
    assert "LookupEvents in eu-west-1 was refused" in out
    assert "cloudtrail:LookupEvents" in out
    assert "DisableKey" in out  # what could be read is still shown


def test_history_lookup_refused_altogether(
    demo_conn: Any, monkeypatch: pytest.MonkeyPatch, tmp_path: Any
) -> None:
    from trailkit.change.journal import Journal
    from trailkit.runbook import Runbook

    denied = AccessDenied(
        "cloudtrail:LookupEvents was denied.",
        "grant cloudtrail:LookupEvents",
        permission="cloudtrail:LookupEvents",
        operation="LookupEvents",
        code="AccessDeniedException",
    )
    FakeHistory(fail=denied).install(monkeypatch)
    ex = Runbook(demo_conn, Journal(tmp_path / "j.jsonl")).explain("stale-key-trail")
    assert ex.partial and ex.history is not None and ex.events == ()
    (error,) = ex.history.errors
    assert (error.operation, error.permission) == ("LookupEvents", "cloudtrail:LookupEvents")
    assert str(ex.health.kind) == "broken"  # the rest is still there


def test_runbook_read_failure_is_shown(demo_conn: Any, history: FakeHistory, tmp_path: Any) -> None:
    from conftest import fail_call

    from trailkit.change.journal import Journal
    from trailkit.runbook import Runbook

    fail_call(demo_conn, "cloudtrail", "GetTrailStatus", code="AccessDeniedException")
    book = Runbook(demo_conn, Journal(tmp_path / "j.jsonl"))
    trail = book.find_trail("stale-key-trail")
    ex = book.explain(trail, history=False)  # a Trail record is read again by its ARN
    assert history.calls == []
    assert ex.partial
    assert [e.operation for e in ex.errors] == ["GetTrailStatus"]
    assert ex.delivery.permission == "cloudtrail:GetTrailStatus"
    assert "status-unreadable" in ex.health.codes


def test_notebook_explorer_on_the_demo(demo_conn: Any, history: FakeHistory) -> None:
    from trailkit.aws.reader import scan
    from trailkit.ui import notebook

    inventory = scan(demo_conn)
    explorer = notebook.trail_explorer(demo_conn, inventory)
    broken = {
        "deleted-bucket-trail",
        "stale-key-trail",
        "stripped-policy-trail",
        "retiring-key-trail",
    }
    first = explorer.trails[: len(broken)]
    assert {t.name for t in first} == broken  # broken first
    assert explorer.trails[len(broken)].name == "no-readers-trail"  # then at-risk
    found = explorer.select("stale-key-trail")
    assert found is not None and str(found.health.kind) == "broken"
    assert "Disabled" in explorer.html() and "DisableKey" in explorer.html()
    quiet = notebook.trail_explorer(demo_conn, inventory, history="false")
    calls = len(history.calls)
    assert quiet.select("stale-key-trail") is not None and len(history.calls) == calls


def test_notebook_explorer_refuses_wrong_arguments(demo_conn: Any) -> None:
    from trailkit.errors import InputError
    from trailkit.ui import notebook

    with pytest.raises(InputError, match="inventory"):
        notebook.trail_explorer(demo_conn, [])  # type: ignore[arg-type]
    with pytest.raises(InputError, match="history"):
        notebook.trail_explorer(demo_conn, _inventory_stub(), history="maybe")
    with pytest.raises(InputError, match="source"):
        notebook.trail_explorer("conn", _inventory_stub())  # type: ignore[arg-type]


def _inventory_stub() -> Any:
    from widget_fakes import FakeEstate

    return FakeEstate().inventory()


# -- Japanese ---------------------------------------------------------------------------------


@pytest.fixture
def ja() -> Iterator[None]:
    i18n.set_language("ja")
    yield
    i18n.set_language("en")


def test_explain_in_japanese(demo: Any, history: FakeHistory, ja: None) -> None:
    endpoint, estate = demo
    code, out, err = _cli(endpoint, "--lang", "ja", "explain", "--trail", "stale-key-trail")
    assert code == 0, err
    names = [
        "user/mallory",
        "role/Automation",
        "cloudformation.amazonaws.com",
        *estate.keys.values(),
        "Allow CloudTrail to encrypt logs",
        "Allow CloudTrail to describe key",
        "Allow",
        "Disabled",
        "CUSTOMER",
        "AWS_KMS",
        "PutKeyPolicy",
        "DisableKey",
        "StartLogging",
        "AccessDenied",
        "Automation",
        "mallory",
    ]
    assert_japanese(out, names, what="explain")


def test_the_help_is_japanese(ja: None) -> None:
    from test_i18n_cli import _assert_help_japanese

    out, err = io.StringIO(), io.StringIO()
    code = main(["--lang", "ja", "explain", "--help"], out=out, err=err)
    assert code == 0 and err.getvalue() == ""
    assert out.getvalue().startswith("使い方: trailkit explain")
    _assert_help_japanese(out.getvalue(), "trailkit explain --help", ["30d", "12h"])
