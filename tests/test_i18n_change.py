"""The change engine in Japanese (issue "日本語"): the operator reads Japanese, the journal stays
English and byte-for-byte the same records an English run writes.

* a change applied, refused as stale, rolled back and refused again in ``ja`` on the demo writes
  the records an ``en`` run writes (same fields and values, ids and times aside), with no
  Japanese in any of them, while every result and refusal the operator reads is Japanese;
* a note made while the operator reads Japanese (a read-back that failed) is journaled English;
* table-driven: every error and text of ``runbook``, ``change/*`` and ``records/*`` that a person
  reads is Japanese in ``ja`` (:func:`english.assert_japanese`) and unchanged in ``en``.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from botocore.stub import Stubber
from english import assert_japanese

from trailkit import i18n
from trailkit.aws.reader import Reader
from trailkit.aws.session import Connection
from trailkit.change import update
from trailkit.change.journal import Journal, Kind, Phase, Record, writer_running
from trailkit.change.protocol import NOTE_READ_BACK_FAILED
from trailkit.errors import NothingToUndo, RefusedError, TrailkitError
from trailkit.i18n import speaking
from trailkit.records import ConnectionInfo, Delivery, KeyInfo, Outcome, TrailStatus
from trailkit.rules.plan import plan_change
from trailkit.runbook import Runbook, check, require_key

ACCOUNT = "123456789012"
#: Hiragana, katakana, CJK ideographs, full-width forms: what a Japanese text is written in.
JAPANESE = re.compile(r"[\u3000-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uff00-\uffef]")


@pytest.fixture(autouse=True)
def _english_afterwards() -> Iterator[None]:
    yield
    i18n.set_language("en")


def _names(estate: Any) -> list[str]:
    """What stays as it is in any language: the demo's trails, buckets, keys and account."""
    return [
        *estate.trails,
        *estate.trails.values(),
        *estate.trail_buckets.values(),
        *estate.keys,
        *estate.keys.values(),
    ]


# -- a change in Japanese: the journal stays English ------------------------------------------


def _run(conn: Connection, journal: Journal, lang: str) -> list[str]:
    """Apply, refuse the stale plan, roll back, refuse a second rollback and the undone change's
    undo, speaking ``lang``; what the operator reads, in order."""
    with speaking(lang):
        book = Runbook(conn, journal)
        plan = book.plan_for("org-trail", "alias/cloudtrail-good")
        done = book.apply(plan, confirmed=True)
        assert done.outcome is Outcome.DONE and done.verified and done.delivery is not None
        with pytest.raises(RefusedError) as stale:  # the protocol's guard: the trail moved on
            update.apply(conn, plan, journal, confirmed=True)
        back = book.rollback(confirmed=True)
        assert back.outcome is Outcome.DONE and back.verified
        with pytest.raises(NothingToUndo) as nothing:
            book.rollback(confirmed=True)
        with pytest.raises(RefusedError) as undone:
            book.plan_rollback(done.change_id)
        return [
            done.message,
            done.delivery.summary(),
            str(stale.value),
            back.message,
            str(nothing.value),
            str(undone.value),
        ]


def _shapes(journal: Journal) -> list[dict[str, Any]]:
    """The journal's records with what differs from run to run (ids, times, request ids, the
    writing process) replaced by what it stands for."""
    records = journal.read().records
    ids = {r.change_id: f"change-{i}" for i, r in enumerate(records) if r.phase is Phase.INTENT}
    shapes = []
    for record in records:
        data = record.as_dict()
        data["change_id"] = ids[record.change_id]
        data["rollback_of"] = ids.get(record.rollback_of or "")
        data["time"] = "TIME" if data["time"] else None
        data["request_id"] = "REQUEST" if data["request_id"] else None
        data.pop("host", None)
        data.pop("pid", None)
        shapes.append(data)
    return shapes


def test_a_change_in_japanese_journals_the_records_an_english_run_writes(
    demo_rw: Any, demo_conn: Connection, tmp_path: Path
) -> None:
    _, estate = demo_rw
    english = Journal(tmp_path / "en.jsonl")
    japanese = Journal(tmp_path / "ja.jsonl")

    said_en = _run(demo_conn, english, "en")
    said_ja = _run(demo_conn, japanese, "ja")

    # The journal: English, the same records as the English run's.
    assert _shapes(japanese) == _shapes(english)
    assert [r.phase for r in japanese.read().records] == [
        Phase.INTENT,
        Phase.DONE,
        Phase.INTENT,
        Phase.DONE,
    ]
    raw = japanese.path.read_bytes()
    assert raw.isascii() and b"\\u" not in raw  # not even as JSON escapes
    for line in raw.decode("ascii").splitlines():
        for field, value in json.loads(line).items():
            assert not JAPANESE.search(str(value)), (field, value)

    # The operator: Japanese, with the same facts.
    names = _names(estate) + [r.change_id for r in japanese.read().records]
    for text in said_ja:
        assert JAPANESE.search(text), text
        assert_japanese(text, names, what="change result")
    assert said_en[0].startswith("org-trail now uses SSE-KMS alias/cloudtrail-good")
    assert "changed since the plan was made" in said_en[2]
    assert said_en[4].startswith("Nothing to undo: every trail change made on account")
    assert "is already undone by" in said_en[5]
    assert said_ja[0].startswith("org-trail は SSE-KMS alias/cloudtrail-good")
    assert "元に戻すものはありません" in said_ja[4]


def test_a_note_made_while_the_operator_reads_japanese_is_journaled_in_english(
    demo: Any, tmp_path: Path
) -> None:
    """UpdateTrail accepted, the read-back fails: the result says so in Japanese, the outcome's
    note (``accepted; read-back failed: ...``) holds the read error in English."""
    endpoint, estate = demo
    conn = Connection(endpoint_url=endpoint, region="us-east-1", max_attempts=1)
    plan = plan_change(check(Reader(conn), "org-trail", "alias/cloudtrail-good"))
    journal = Journal(tmp_path / "j.jsonl")
    trail = {"Name": "org-trail", "TrailARN": estate.trails["org-trail"]}
    with Stubber(conn.client("cloudtrail", "us-east-1")) as stub, speaking("ja"):
        stub.add_response("get_trail", {"Trail": trail})  # the re-read guard: still SSE-S3
        stub.add_response("update_trail", {"ResponseMetadata": {"RequestId": "req-ok"}})
        stub.add_client_error(
            "get_trail", service_error_code="InternalServerError", http_status_code=500
        )
        result = update.apply(conn, plan, journal, confirmed=True, verify=False)
    assert result.outcome is Outcome.DONE and "読み戻せませんでした" in result.message
    assert_japanese(result.message, _names(estate), what="result")
    outcome = journal.changes()[0].outcome
    assert outcome is not None and outcome.note is not None
    assert outcome.note.startswith(f"{NOTE_READ_BACK_FAILED}: GetTrail in us-east-1 failed")
    assert not JAPANESE.search(outcome.note)


# -- every text a person reads, table-driven ---------------------------------------------------


def _record(**changes: Any) -> Record:
    fields: dict[str, Any] = {
        "change_id": "chg-20261205T000000Z-abc123",
        "phase": Phase.INTENT,
        "kind": Kind.TRAIL_KEY,
        "time": "2026-12-05T00:00:00Z",
        "caller_arn": f"arn:aws:iam::{ACCOUNT}:root",
        "account": ACCOUNT,
        "endpoint": "http://127.0.0.1:5000",
        "backend": "demo",
        "target_arn": f"arn:aws:cloudtrail:us-east-1:{ACCOUNT}:trail/org-trail",
        "region": "us-east-1",
        "before": None,
        "after": f"arn:aws:kms:us-east-1:{ACCOUNT}:key/k",
    }
    fields.update(changes)
    return Record(**fields)


def _line(**changes: Any) -> str:
    data: dict[str, Any] = _record().as_dict()
    data.update(changes)
    return json.dumps(data)


def _raised(action: Callable[[], object]) -> str:
    try:
        action()
    except TrailkitError as err:
        return str(err)
    raise AssertionError("no error was raised")


def _write_journal_to(path: Path) -> str:
    return _raised(lambda: Journal(path).append(_record()))


def _notes(path: Path) -> str:
    path.write_text("# my notes\nnothing to see here\n")
    return _write_journal_to(path)


def _directory(path: Path) -> str:
    path.mkdir()
    return _write_journal_to(path)


def _no_such_change(path: Path) -> str:
    journal = Journal(path)
    journal.append(_record())
    return _raised(lambda: journal.get("chg-20261205T000000Z-ffffff"))


def _credentials(path: Path) -> str:
    return _raised(lambda: Journal(path).append(_record(note="key AKIAABCDEFGHIJKLMNOP here")))


def _too_long(path: Path) -> str:
    return _raised(lambda: Journal(path).append(_record(note="x" * (1 << 20))))


def _outcome_of_an_outcome(path: Path) -> str:
    done = _record(phase=Phase.DONE)
    return _raised(lambda: Journal(path).outcome_record(done, Phase.DONE, after=None))


#: What the texts below name and what stays English in them: change ids, JSON field names,
#: the journal's phase and kind codes, a host, a short key id, and the values a damaged line
#: holds (echoed as they are).
NAMES = [
    "chg-20261205T000000Z-abc123",
    "chg-20261205T000000Z-ffffff",
    "chg-20261205T000000Z-000000",
    *(f"'{field}'" for field in Record.__dataclass_fields__),
    *(phase.value for phase in Phase),
    *(kind.value for kind in Kind),
    "null",
    "elsewhere.example",
    "1234abcd",
    "'sent'",
    "'bucket'",
    "'yesterday'",
]

#: (name, what makes the text from a scratch path, a piece of the English text)
TEXTS: list[tuple[str, Callable[[Path], str], str]] = [
    (
        "empty change id",
        lambda p: _raised(lambda: update.named_change("", "--change")),
        "--change '' is empty: name a change id from `trailkit journal`. Fix: give --change "
        "CHANGE_ID, or --last for the newest change made here",
    ),
    (
        "blank restore id",
        lambda p: _raised(lambda: update.named_change("  ", "--restore")),
        "or --restore alone for the newest change made here",
    ),
    (
        "empty key",
        lambda p: _raised(lambda: require_key("")),
        "--key '' is empty: an empty key identifier would turn SSE-KMS off.",
    ),
    ("empty journal path", lambda p: _raised(lambda: Journal(" ")), "The journal path is empty."),
    ("not a journal", _notes, "is not a trailkit journal: none of its first lines"),
    ("a directory", _directory, "is a directory, not a regular file."),
    ("no such change", _no_such_change, "No change chg-20261205T000000Z-ffffff in "),
    (
        "nothing applied",
        lambda p: _raised(lambda: Journal(p).last()),
        "no applied change in ",
    ),
    ("credentials", _credentials, "field 'note' contains what looks like an AWS access key id."),
    ("over-long record", _too_long, "-byte line limit."),
    ("outcome of an outcome", _outcome_of_an_outcome, "not its 'done' record."),
    (
        "policy described",
        lambda p: update.describe_policy(json.dumps({"Statement": [{}, {}]})),
        "policy (23 bytes, 2 statements)",
    ),
    ("no policy", lambda p: update.describe_policy(None), "no policy"),
    ("policy not JSON", lambda p: update.describe_policy("{"), "policy (1 bytes, not JSON)"),
    (
        "writer elsewhere",
        lambda p: (
            writer_running(
                _record(host="elsewhere.example", pid=42, time=datetime.now(UTC).isoformat()),
                datetime.now(UTC),
            )
            or ""
        ),
        "s ago by process 42 on elsewhere.example that cannot be checked from here",
    ),
    (
        "delivery errors",
        lambda p: Delivery(
            TrailStatus(latest_delivery_error="AccessDenied", error="AccessDeniedException")
        ).summary(),
        "DELIVERY ERRORS: log delivery: AccessDenied; status unreadable: AccessDeniedException "
        "— consider rolling back.",
    ),
    (
        "no delivery yet",
        lambda p: Delivery(TrailStatus()).summary(),
        "no delivery errors (latest delivery: none yet)",
    ),
    (
        "header, demo",
        lambda p: ConnectionInfo(
            ACCOUNT, f"arn:aws:iam::{ACCOUNT}:root", "http://127.0.0.1:5000", "us-east-1", True
        ).header(),
        "DEMO (local moto server) · account 123456789012 · endpoint http://127.0.0.1:5000",
    ),
    (
        "header, real AWS",
        lambda p: ConnectionInfo(
            ACCOUNT, f"arn:aws:iam::{ACCOUNT}:root", "", "us-east-1", False
        ).header(),
        "REAL AWS · account 123456789012",
    ),
    (
        "key without an alias",
        lambda p: (
            KeyInfo.from_api(
                {"Arn": f"arn:aws:kms:us-east-1:{ACCOUNT}:key/1234abcd-0000-0000-0000-000000000000"}
            ).display_name
        ),
        "(no alias) (1234abcd)",
    ),
]


@pytest.mark.parametrize(("name", "make", "english"), TEXTS, ids=[t[0] for t in TEXTS])
def test_each_text_is_japanese_in_ja_and_unchanged_in_english(
    tmp_path: Path, name: str, make: Callable[[Path], str], english: str
) -> None:
    assert english in make(tmp_path / "en")
    with speaking("ja"):
        text = make(tmp_path / "ja")
    assert JAPANESE.search(text), text
    assert_japanese(text, NAMES, what=name)


#: Lines a journal may hold that are not records, and what ``read`` says of each in English.
BAD_LINES: list[tuple[str, str, str]] = [
    ("truncated", _line()[:-5], "truncated JSON"),
    ("not JSON", "{'single': 'quotes'}", "not valid JSON (Expecting property name enclosed"),
    ("not an object", "[1, 2]", "not a JSON object (got array)"),
    ("NaN", '{"a": NaN}', "not valid JSON (NaN is not allowed)"),
    ("missing field", json.dumps({"change_id": "x"}), "missing field 'phase'"),
    ("unknown phase", _line(phase="sent"), "unknown phase 'sent' (expected one of"),
    ("unknown kind", _line(kind="bucket"), "unknown kind 'bucket' (expected one of"),
    ("wrong type", _line(account=12), "field 'account' must be a string, not number"),
    ("wrong nullable type", _line(note=[]), "field 'note' must be a string or null, not array"),
    ("pid", _line(pid=1.5), "field 'pid' must be a whole number or null, not 1.5"),
    ("empty id", _line(change_id=" "), "field 'change_id' must not be empty"),
    ("bad time", _line(time="yesterday"), "field 'time' is not an ISO 8601 time ('yesterday')"),
    (
        "orphan outcome",
        _line(phase="done", change_id="chg-20261205T000000Z-000000"),
        "done record for chg-20261205T000000Z-000000 has no intent record",
    ),
    ("second intent", _line(), "second intent for chg-20261205T000000Z-abc123"),
]


@pytest.mark.parametrize(("name", "line", "english"), BAD_LINES, ids=[b[0] for b in BAD_LINES])
def test_each_journal_problem_is_japanese_in_ja_and_unchanged_in_english(
    tmp_path: Path, name: str, line: str, english: str
) -> None:
    """``Journal.read`` problems (the journal view shows them): one good record, then the line.
    The same :class:`Journal` is read in English, then in Japanese: its parse is cached per
    language, so the second read is not the first one's English."""
    journal = Journal(tmp_path / "j.jsonl")
    journal.append(_record())
    with journal.path.open("a") as fp:
        fp.write(line + "\n")
    (problem,) = journal.read().problems
    assert problem.startswith("line 2: ") and english in problem, problem
    with speaking("ja"):
        (problem,) = journal.read().problems
    assert problem.startswith("2 行目: "), problem
    assert JAPANESE.search(problem.removeprefix("2 行目: ")), problem
    assert_japanese(problem, NAMES, what=name)


def test_a_line_that_is_not_utf8_or_too_long_is_reported_in_japanese(tmp_path: Path) -> None:
    journal = Journal(tmp_path / "j.jsonl")
    journal.append(_record())
    with journal.path.open("ab") as fp:
        fp.write(b'{"note": "\xff"}\n' + b"x" * ((1 << 20) + 10) + b"\n")
    with speaking("ja"):
        problems = journal.read().problems
    assert [p.split(":")[0] for p in problems] == ["2 行目", "3 行目"]
    for problem in problems:
        assert_japanese(problem, what="journal problem")


def test_the_runbook_refusals_are_japanese(
    demo: Any, demo_conn: Connection, tmp_path: Path
) -> None:
    """A dry run's refusal, a rollback with no journal, a reconcile of another endpoint's
    change (the reason it is left pending)."""
    _, estate = demo
    journal = Journal(tmp_path / "j.jsonl")
    book = Runbook(demo_conn, journal, dry_run=True)
    plan = book.plan_for("org-trail", "alias/cloudtrail-good")
    elsewhere = _record(endpoint="http://127.0.0.2:5000", time="2026-01-01T00:00:00Z")
    texts = []
    with speaking("ja"):
        texts.append(_raised(lambda: book.apply(plan, confirmed=True)))
        texts.append(_raised(lambda: book.rollback(confirmed=True)))
        journal.append(elsewhere)
        skipped: list[str] = []
        settled = book.reconcile(on_skip=lambda change, why: skipped.append(why))
        assert settled == [] and len(skipped) == 1
        texts += skipped
    assert os.path.getsize(journal.path) == len(elsewhere.as_json()) + 1  # nothing settled
    for text in texts:
        assert JAPANESE.search(text), text
        assert_japanese(text, _names(estate), what="refusal")
    with speaking("en"):
        assert _raised(lambda: book.apply(plan, confirmed=True)).startswith(
            "Dry run: nothing was sent."
        )
