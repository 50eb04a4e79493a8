"""The one journaled write (``trailkit.change.protocol``): how a send's outcome is classified and
journaled, table-driven and run once for ``UpdateTrail`` and once for ``PutKeyPolicy``.

botocore's Stubber answers every call of the write's client (the re-read guard, the send and the
read-back), so each row can say exactly what AWS answered; only ``GetCallerIdentity`` (journaled
identity) reaches the demo moto server.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import botocore.exceptions
import pytest
from botocore.stub import Stubber

from trailkit.aws.reader import Reader
from trailkit.aws.session import Connection
from trailkit.aws.writes import certainly_rejected
from trailkit.change.journal import Journal, Kind, Phase
from trailkit.change.protocol import NOTE_NOT_APPLIED, NOTE_READ_BACK_FAILED
from trailkit.change.update import apply, put_key_policy
from trailkit.errors import AwsError, RefusedError
from trailkit.records import ApplyResult, Outcome, PolicyResult
from trailkit.rules.plan import plan_change
from trailkit.runbook import check


def _policy(sid: str) -> str:
    return json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Sid": sid,
                    "Effect": "Allow",
                    "Principal": {"AWS": "arn:aws:iam::123456789012:root"},
                    "Action": "kms:*",
                    "Resource": "*",
                }
            ],
        }
    )


@dataclass
class Write:
    """One of the two writes, set up against the demo estate."""

    kind: Kind
    service: str
    read: str  # the client method that reads the state
    send: str  # the client method that writes it
    error_code: str  # a 5xx error code of the service
    before: str | None
    after: str | None
    other: str | None  # a third state: neither before nor after
    answer: Callable[[str | None], dict[str, Any]]  # the read's response for a state
    run: Callable[..., ApplyResult | PolicyResult]  # (conn, journal, confirmed) -> result
    run_unchanged: Callable[..., ApplyResult | PolicyResult]  # a write from "after" to "after"


def _trail_write(demo: Any, conn: Connection) -> Write:
    _, estate = demo
    arn = estate.trails["org-trail"]
    plan = plan_change(check(Reader(conn), "org-trail", "alias/cloudtrail-good"))
    assert plan.before_key is None and plan.after_key
    same = dataclasses.replace(plan, before_key=plan.after_key)

    def answer(state: str | None) -> dict[str, Any]:
        trail: dict[str, Any] = {"Name": "org-trail", "TrailARN": arn}
        if state:
            trail["KmsKeyId"] = state
        return {"Trail": trail}

    return Write(
        kind=Kind.TRAIL_KEY,
        service="cloudtrail",
        read="get_trail",
        send="update_trail",
        error_code="InternalServerError",
        before=plan.before_key,
        after=plan.after_key,
        other=estate.keys["alias/multi-region-good"],
        answer=answer,
        run=lambda c, j, confirmed=True: apply(c, plan, j, confirmed=confirmed, verify=False),
        run_unchanged=lambda c, j: apply(c, same, j, confirmed=True, verify=False),
    )


def _policy_write(demo: Any, conn: Connection) -> Write:
    _, estate = demo
    key = estate.keys["alias/cloudtrail-good"]
    before, after = _policy("Before"), _policy("After")
    return Write(
        kind=Kind.KEY_POLICY,
        service="kms",
        read="get_key_policy",
        send="put_key_policy",
        error_code="KMSInternalException",
        before=before,
        after=after,
        other=_policy("SomeoneElse"),
        answer=lambda state: {"Policy": state, "PolicyName": "default"},
        run=lambda c, j, confirmed=True: put_key_policy(
            c, key, before, after, j, confirmed=confirmed
        ),
        run_unchanged=lambda c, j: put_key_policy(c, key, after, after, j, confirmed=True),
    )


WRITES = {"UpdateTrail": _trail_write, "PutKeyPolicy": _policy_write}


@dataclass(frozen=True)
class Case:
    """One row: what AWS answers the send with (None: accepted, else an HTTP status) and the
    read-back with (a state name, an HTTP status: the read fails, or None: no read-back), and
    what must follow."""

    send: int | None
    read_back: str | int | None  # None: no read-back is made
    outcome: Outcome
    journaled: str  # the journal's status of the change
    after: str | None  # which state the outcome record holds: "before", "after", "other", None
    note: str | None  # what the outcome record's note starts with (None: no note)
    says: str  # in the result's message


CASES = {
    "rejected": Case(400, None, Outcome.FAILED, "failed", "before", None, "was denied"),
    "ambiguous-applied": Case(
        500, "after", Outcome.DONE, "done", "after", "{op} reported an error but", "read back"
    ),
    "ambiguous-not-applied": Case(
        500, "before", Outcome.FAILED, "failed", "before", NOTE_NOT_APPLIED, "read back"
    ),
    "ambiguous-unreadable": Case(
        500, 500, Outcome.UNKNOWN, "pending", None, None, "journal --reconcile"
    ),
    "ambiguous-third-state": Case(
        500, "other", Outcome.UNKNOWN, "pending", None, None, "journal --reconcile"
    ),
    "accepted-readback-fails": Case(
        None, 500, Outcome.DONE, "done", "after", NOTE_READ_BACK_FAILED, "could not be read back"
    ),
    "accepted": Case(None, "after", Outcome.DONE, "done", "after", None, "read back"),
}


def _answer(stub: Stubber, write: Write, case: Case, states: dict[str, str | None]) -> None:
    """Queue what AWS answers in ``case``: the re-read guard, the send, the read-back."""
    stub.add_response(write.read, write.answer(write.before))  # the re-read guard
    if case.send is None:
        stub.add_response(
            write.send, {"ResponseMetadata": {"RequestId": "req-ok", "HTTPStatusCode": 200}}
        )
    else:
        stub.add_client_error(
            write.send,
            service_error_code="AccessDeniedException" if case.send < 500 else write.error_code,
            service_message="nope",
            http_status_code=case.send,
            response_meta={"RequestId": "req-err"},
        )
    if isinstance(case.read_back, str):
        stub.add_response(write.read, write.answer(states[case.read_back]))
    elif isinstance(case.read_back, int):
        stub.add_client_error(
            write.read, service_error_code=write.error_code, http_status_code=case.read_back
        )


@pytest.mark.parametrize("case_name", list(CASES))
@pytest.mark.parametrize("write_name", list(WRITES))
def test_the_outcome_of_a_send_is_classified_and_journaled(
    demo: Any, tmp_path: Path, write_name: str, case_name: str
) -> None:
    endpoint, _ = demo
    case = CASES[case_name]
    conn = Connection(endpoint_url=endpoint, region="us-east-1", max_attempts=1)
    write = WRITES[write_name](demo, conn)
    op = write_name
    states = {"before": write.before, "after": write.after, "other": write.other}
    journal = Journal(tmp_path / "j.jsonl")

    with Stubber(conn.client(write.service, "us-east-1")) as stub:
        _answer(stub, write, case, states)
        result = write.run(conn, journal)
        stub.assert_no_pending_responses()  # exactly the calls of the row, nothing more

    assert result.outcome is case.outcome, result.message
    assert case.says in result.message
    (change,) = journal.changes()
    assert change.intent.kind is write.kind
    assert result.change_id == change.change_id
    assert change.intent.before == write.before and change.intent.after == write.after
    assert change.status == case.journaled
    if case.journaled == "pending":
        assert change.outcome is None  # nothing true to journal: reconcile settles it later
        assert change.change_id in result.message
        assert isinstance(result.error, AwsError)
        return
    outcome = change.outcome
    assert outcome is not None
    assert outcome.after == states[case.after] if case.after else outcome.after is None
    if case.note is None:
        assert outcome.note is None
    else:
        assert (outcome.note or "").startswith(case.note.format(op=op)), outcome.note
    if case.send is None:  # accepted: the response's request id
        assert outcome.request_id == "req-ok" and result.request_id == "req-ok"
        assert outcome.phase is Phase.DONE and outcome.error is None
        assert result.error is None
    else:  # the error's request id is journaled, its text too when not applied
        assert outcome.request_id == "req-err"
        assert isinstance(result.error, AwsError) and op in str(result.error)
        if case.outcome is Outcome.FAILED:
            assert outcome.phase is Phase.FAILED and outcome.error == str(result.error)
            assert result.request_id is None
        else:
            assert outcome.phase is Phase.DONE and outcome.error is None
            assert result.request_id == "req-err"
    if isinstance(result, ApplyResult):  # the trail's result carries the state read back
        assert result.key_after == (states[case.after] if case.after else None)
        assert result.verified is (case.read_back == "after")


@pytest.mark.parametrize("confirmed", [False, None, 1, "yes", [True]])
@pytest.mark.parametrize("write_name", list(WRITES))
def test_only_the_bool_true_confirms_a_write(
    demo: Any, tmp_path: Path, write_name: str, confirmed: Any
) -> None:
    endpoint, _ = demo
    conn = Connection(endpoint_url=endpoint, region="us-east-1", max_attempts=1)
    write = WRITES[write_name](demo, conn)
    journal = Journal(tmp_path / "j.jsonl")
    with Stubber(conn.client(write.service, "us-east-1")) as stub:  # any call would fail
        with pytest.raises(RefusedError, match="not confirmed; nothing was sent"):
            write.run(conn, journal, confirmed=confirmed)
        stub.assert_no_pending_responses()
    assert journal.changes() == []


@pytest.mark.parametrize("write_name", list(WRITES))
def test_a_target_changed_since_the_plan_is_refused_and_nothing_is_sent(
    demo: Any, tmp_path: Path, write_name: str
) -> None:
    endpoint, _ = demo
    conn = Connection(endpoint_url=endpoint, region="us-east-1", max_attempts=1)
    write = WRITES[write_name](demo, conn)
    journal = Journal(tmp_path / "j.jsonl")
    with Stubber(conn.client(write.service, "us-east-1")) as stub:
        stub.add_response(write.read, write.answer(write.other))  # someone else changed it
        with pytest.raises(RefusedError, match="changed since") as caught:
            write.run(conn, journal)
        stub.assert_no_pending_responses()  # the guard's read, and no send
    assert "othing was sent" in str(caught.value)
    assert journal.changes() == []


@pytest.mark.parametrize("write_name", list(WRITES))
def test_a_target_already_in_the_requested_state_is_unchanged_and_not_journaled(
    demo: Any, tmp_path: Path, write_name: str
) -> None:
    endpoint, _ = demo
    conn = Connection(endpoint_url=endpoint, region="us-east-1", max_attempts=1)
    write = WRITES[write_name](demo, conn)
    journal = Journal(tmp_path / "j.jsonl")
    with Stubber(conn.client(write.service, "us-east-1")) as stub:
        stub.add_response(write.read, write.answer(write.after))  # the guard's read, no send
        result = write.run_unchanged(conn, journal)
        stub.assert_no_pending_responses()
    assert result.outcome is Outcome.UNCHANGED and result.change_id is None
    assert journal.changes() == []


def _client_error(status: int | None, retries: int = 0) -> BaseException:
    meta: dict[str, Any] = {"RetryAttempts": retries}
    if status is not None:
        meta["HTTPStatusCode"] = status
    return botocore.exceptions.ClientError(
        {"Error": {"Code": "X", "Message": "m"}, "ResponseMetadata": meta}, "UpdateTrail"
    )


@pytest.mark.parametrize(
    "exc, rejected",
    [
        (_client_error(400), True),
        (_client_error(403), True),
        (_client_error(404), True),
        (_client_error(400, retries=2), False),  # an earlier attempt may have been applied
        (_client_error(500), False),
        (_client_error(503), False),
        (_client_error(None), False),
        (botocore.exceptions.ConnectionClosedError(endpoint_url="http://x"), False),
        (botocore.exceptions.ReadTimeoutError(endpoint_url="http://x"), False),
    ],
    ids=[
        "400",
        "403",
        "404",
        "400-after-retries",
        "500",
        "503",
        "no-status",
        "reset",
        "timeout",
    ],
)
def test_only_a_4xx_on_the_only_attempt_is_certainly_rejected(
    exc: BaseException, rejected: bool
) -> None:
    assert certainly_rejected(exc) is rejected


@pytest.mark.parametrize(
    ("case_name", "japanese"),
    [("rejected", "拒否されました"), ("ambiguous-applied", "読み戻して確認済み")],
)
def test_in_japanese_the_operator_reads_japanese_and_the_journal_stays_english(
    demo: Any, tmp_path: Path, case_name: str, japanese: str
) -> None:
    """The result's message is translated; the journal's ``error`` and ``note`` are not
    (journal records stay English, whoever wrote them in which language)."""
    from trailkit.i18n import speaking

    endpoint, _ = demo
    case = CASES[case_name]
    assert case.send is not None
    conn = Connection(endpoint_url=endpoint, region="us-east-1", max_attempts=1)
    write = _trail_write(demo, conn)
    journal = Journal(tmp_path / "j.jsonl")
    states = {"before": write.before, "after": write.after, "other": write.other}
    with Stubber(conn.client(write.service, "us-east-1")) as stub, speaking("ja"):
        _answer(stub, write, case, states)
        result = write.run(conn, journal)
    assert result.outcome is case.outcome and japanese in result.message
    outcome = journal.changes()[0].outcome
    assert outcome is not None
    if case.outcome is Outcome.FAILED:
        assert result.error is not None and outcome.error == result.error.english()
        assert outcome.error.startswith("UpdateTrail in us-east-1 was denied")
    else:
        assert (outcome.note or "").startswith("UpdateTrail reported an error but the trail")
        assert "Fix: check the message above" in (outcome.note or "")
        assert "対処" not in (outcome.note or "")


def test_a_verified_change_says_so_without_double_parentheses() -> None:
    from trailkit.change.protocol import TRAIL_WORDING

    now = "SSE-KMS alias/x (arn:aws:kms:us-east-1:123456789012:key/k)"
    said = str(TRAIL_WORDING.verified).format(name="org-trail", now=now)
    assert ") (" not in said and said.endswith("; read back and verified.")
