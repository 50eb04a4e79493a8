"""A delivery proof recorded against a change (issue 17, API plan section 2).

``Journal.record_verification(change, proof)`` appends a ``verified`` record after an applied
change's outcome. It is never an outcome: the change's status, ``pending()``, reconcile,
``last()``, rollback and the journal's tails ignore it; the newest one is the change's
``verification`` and the journal views show it in a Delivery column.

``trailkit.records.proof`` (``Proof``, ``ProofStatus``, ``DeliveredObject``) is helper
"proof"'s file and does not exist on this branch: the journal reads only the attributes of
``trailkit.records.journal.ProofLike``, and these tests use the small stand-ins below with the
same attribute names and types.
"""

from __future__ import annotations

import enum
import io
import itertools
import json
import random
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from english import assert_japanese
from rich.console import Console

import trailkit.change.journal as journal_mod
from trailkit.change.journal import Change, Journal, Kind, Phase, Record, reconcile
from trailkit.change.update import last_undoable
from trailkit.errors import InputError
from trailkit.i18n import speaking
from trailkit.records.journal import PROOF_STATUSES, changes_frame, record_from_line
from trailkit.ui import notebook
from trailkit.ui.cli import main
from trailkit.ui.terminal import JOURNAL_TABLE, journal_rows, records_table
from trailkit.ui.widgets.journal import JournalView, journal_html

ACCOUNT = "111122223333"
ENDPOINT = "http://127.0.0.1:5000"
TRAIL = f"arn:aws:cloudtrail:us-east-1:{ACCOUNT}:trail/main"
KEY_A = f"arn:aws:kms:us-east-1:{ACCOUNT}:key/1234abcd-12ab-34cd-56ef-1234567890ab"
KEY_B = f"arn:aws:kms:us-east-1:{ACCOUNT}:key/2234abcd-12ab-34cd-56ef-1234567890ab"
CALLER = f"arn:aws:sts::{ACCOUNT}:assumed-role/Admin/alice"
LOG = f"AWSLogs/{ACCOUNT}/CloudTrail/us-east-1/2026/12/05/{ACCOUNT}_CloudTrail_us-east-1_x.json.gz"
DIGEST = f"AWSLogs/{ACCOUNT}/CloudTrail-Digest/us-east-1/2026/12/05/{ACCOUNT}_digest.json.gz"
CHECKED = datetime(2026, 12, 5, 9, 30, 12, 345000, tzinfo=UTC)


class Status(enum.StrEnum):
    """Stand-in for ``trailkit.records.proof.ProofStatus``."""

    PROVEN = "proven"
    PENDING = "pending"
    FAILED = "failed"
    UNVERIFIABLE = "unverifiable"


@dataclass(frozen=True)
class Delivered:
    """Stand-in for ``trailkit.records.proof.DeliveredObject`` (the attributes read)."""

    key: str
    encryption: str | None
    kms_key_id: str | None


@dataclass(frozen=True)
class FakeProof:
    """Stand-in for ``trailkit.records.proof.Proof`` (the attributes the journal reads)."""

    status: Status
    reason: str = ""
    log: Delivered | None = None
    digest: Delivered | None = None
    checked_at: datetime | None = CHECKED
    change_id: str | None = None


def proven(key: str = KEY_A, **over: Any) -> FakeProof:
    fields: dict[str, Any] = {
        "status": Status.PROVEN,
        "reason": "The newest log and digest files are encrypted with the new key.",
        "log": Delivered(LOG, "aws:kms", key),
        "digest": Delivered(DIGEST, "aws:kms", key),
    }
    fields.update(over)
    return FakeProof(**fields)


def failed(reason: str = "CloudTrail cannot use the key: KMS.DisabledException.") -> FakeProof:
    return FakeProof(Status.FAILED, reason)


def _intent(journal: Journal, **over: Any) -> Record:
    fields: dict[str, Any] = {
        "kind": Kind.TRAIL_KEY,
        "target_arn": TRAIL,
        "region": "us-east-1",
        "before": None,
        "after": KEY_A,
        "caller_arn": CALLER,
        "account": ACCOUNT,
        "endpoint": ENDPOINT,
        "backend": "demo",
    }
    fields.update(over)
    return journal.record_intent(**fields)


def _applied(journal: Journal, **over: Any) -> Change:
    intent = _intent(journal, **over)
    journal.record_outcome(intent, Phase.DONE, after=intent.after, request_id="req-1")
    return journal.get(intent.change_id)


def _lines(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text("utf-8").splitlines()]


@pytest.fixture
def journal(tmp_path: Path) -> Journal:
    return Journal(tmp_path / "journal.jsonl")


# -- the record --------------------------------------------------------------------------------


def test_a_proof_is_recorded_as_a_verified_record_of_the_change(journal: Journal) -> None:
    change = _applied(journal)
    record = journal.record_verification(change, proven())
    assert record.phase is Phase.VERIFIED
    assert (record.change_id, record.kind, record.target_arn) == (change.change_id, *_kt(change))
    assert (record.note, record.after, record.error) == ("proven", KEY_A, None)
    assert (record.log_object, record.digest_object) == (LOG, DIGEST)
    assert record.time == "2026-12-05T09:30:12Z"  # checked_at, UTC, second precision
    assert record.before == change.intent.before and record.request_id is None
    assert record.host is None and record.pid is None
    line = _lines(journal.path)[-1]
    assert line["phase"] == "verified" and line["log_object"] == LOG
    assert line["digest_object"] == DIGEST and "host" not in line and "pid" not in line
    again = journal.get(change.change_id)
    assert again.verification == record and again.proof == "proven"
    assert again.status == "done" and again.outcome == change.outcome


def _kt(change: Change) -> tuple[Kind, str]:
    return change.intent.kind, change.intent.target_arn


@pytest.mark.parametrize(
    ("proof", "note", "after", "error", "log", "digest"),
    [
        pytest.param(failed(), "failed", None, failed().reason, None, None, id="failed"),
        pytest.param(
            FakeProof(Status.PENDING, "Nothing was delivered since the change yet."),
            "pending",
            None,
            "Nothing was delivered since the change yet.",
            None,
            None,
            id="pending",
        ),
        pytest.param(
            FakeProof(Status.UNVERIFIABLE, "s3:ListBucket was denied."),
            "unverifiable",
            None,
            "s3:ListBucket was denied.",
            None,
            None,
            id="unverifiable",
        ),
        pytest.param(
            FakeProof(Status.PROVEN, "AES256.", Delivered(LOG, "AES256", None), None),
            "proven",
            None,  # SSE-S3 after a disable: no key
            None,
            LOG,
            None,
            id="proven AES256 without digest",
        ),
        pytest.param(
            FakeProof(Status.FAILED, "Other key.", Delivered(LOG, "aws:kms", KEY_B), None),
            "failed",
            KEY_B,  # the key the log object was really encrypted with
            "Other key.",
            LOG,
            None,
            id="failed with another key",
        ),
    ],
)
def test_what_each_proof_writes(
    journal: Journal,
    proof: FakeProof,
    note: str,
    after: str | None,
    error: str | None,
    log: str | None,
    digest: str | None,
) -> None:
    change = _applied(journal)
    record = journal.record_verification(change, proof)
    assert (record.note, record.after, record.error) == (note, after, error)
    assert (record.log_object, record.digest_object) == (log, digest)
    line = _lines(journal.path)[-1]
    # Absent objects are left out of the line, as older versions wrote records.
    assert ("log_object" in line, "digest_object" in line) == (log is not None, digest is not None)


def test_a_plain_string_status_and_no_checked_at(journal: Journal) -> None:
    change = _applied(journal)
    before = datetime.now(UTC).replace(microsecond=0)
    record = journal.record_verification(
        change,
        FakeProof("pending", "wait", checked_at=None),  # type: ignore[arg-type]
    )
    when = datetime.fromisoformat(record.time.replace("Z", "+00:00"))
    assert record.note == "pending" and when >= before and record.time.endswith("Z")
    naive = journal.record_verification(change, proven(checked_at=datetime(2026, 12, 5, 10, 0)))
    assert naive.time == "2026-12-05T10:00:00Z"  # a naive time is UTC


@pytest.mark.parametrize("outcome", ["failed", "pending", "reconciled-not-applied"])
def test_a_change_that_is_not_applied_is_refused(
    journal: Journal, outcome: str, tmp_path: Path
) -> None:
    intent = _intent(journal)
    if outcome == "failed":
        journal.record_outcome(intent, Phase.FAILED, after=None, error="denied")
    elif outcome == "reconciled-not-applied":
        journal.record_outcome(intent, Phase.RECONCILED, after=None, note="not-applied")
    change = journal.get(intent.change_id)
    assert change.status == outcome
    size = journal.path.stat().st_size
    with pytest.raises(
        InputError, match=f"Cannot record a delivery proof for change {intent.change_id}"
    ):
        journal.record_verification(change, proven())
    assert journal.path.stat().st_size == size  # nothing written


def test_a_proof_of_another_change_or_an_unknown_status_is_refused(journal: Journal) -> None:
    change = _applied(journal)
    size = journal.path.stat().st_size
    with pytest.raises(InputError, match="is of change chg-other, not of change"):
        journal.record_verification(change, proven(change_id="chg-other"))
    with pytest.raises(InputError, match="unknown delivery proof status 'maybe'"):
        journal.record_verification(change, FakeProof("maybe"))  # type: ignore[arg-type]
    assert journal.path.stat().st_size == size
    ok = journal.record_verification(change, proven(change_id=change.change_id))
    assert ok.note == "proven" and set(PROOF_STATUSES) == {s.value for s in Status}


def test_a_verified_record_is_not_an_outcome(journal: Journal) -> None:
    intent = _intent(journal)
    with pytest.raises(InputError, match="an outcome cannot have phase 'verified'"):
        journal.record_outcome(intent, Phase.VERIFIED, after=KEY_A)


def test_old_lines_without_the_new_fields_read_as_before(journal: Journal) -> None:
    """A journal written before issue 17: no log_object/digest_object keys, no verified
    lines; the fast path and the careful parser read the same records."""
    intent = _intent(journal)
    journal.record_outcome(intent, Phase.DONE, after=KEY_A)
    text = journal.path.read_text("utf-8")
    assert "log_object" not in text and "digest_object" not in text
    for line in text.splitlines():
        fast, slow = record_from_line(line), Record.from_json(line)
        assert fast == slow and slow.log_object is None and slow.digest_object is None
    change = journal.changes()[0]
    assert change.verification is None and change.proof is None
    journal.record_verification(change, proven())
    verified = journal.path.read_text("utf-8").splitlines()[-1]
    assert record_from_line(verified) == Record.from_json(verified)
    assert Record.from_json(verified).log_object == LOG
    bad = json.loads(verified) | {"log_object": 7}
    assert record_from_line(json.dumps(bad)) is None
    with pytest.raises(Exception, match="'log_object' must be a string or null"):
        Record.from_json(json.dumps(bad))


# -- folding -----------------------------------------------------------------------------------


def _line(base: Record, phase: Phase, **over: Any) -> str:
    fields = base.as_dict() | {"phase": phase.value, "host": None, "pid": None} | over
    return json.dumps(
        {k: v for k, v in fields.items() if v is not None or k in ("before", "after")}
    )


@pytest.mark.parametrize("order", list(itertools.permutations(range(4))))
def test_verified_lines_in_any_order_fold_to_the_newest_proof(
    tmp_path: Path, order: tuple[int, ...]
) -> None:
    """Intent, outcome and two proofs in every order: the change is done, its verification is
    the proof written last in the file, and nothing is reported."""
    scratch = Journal(tmp_path / "scratch.jsonl")
    intent = _intent(scratch)
    lines = [
        _line(intent, Phase.INTENT, host=intent.host, pid=intent.pid),
        _line(intent, Phase.DONE, after=KEY_A),
        _line(intent, Phase.VERIFIED, note="failed", error="late", after=None),
        _line(intent, Phase.VERIFIED, note="proven", log_object=LOG),
    ]
    path = tmp_path / "j.jsonl"
    path.write_text("".join(lines[i] + "\n" for i in order), "utf-8")
    journal = Journal(path)
    assert journal.read().problems == ()
    (change,) = journal.changes()
    assert change.status == "done" and change.outcome is not None
    newest = json.loads(lines[max(2, 3, key=order.index)])["note"]
    assert change.proof == newest and change.verification is not None
    assert journal.pending() == [] and journal.last().change_id == change.change_id


def test_several_proofs_newest_wins_and_status_never_changes(journal: Journal) -> None:
    change = _applied(journal)
    journal.record_verification(change, FakeProof(Status.PENDING, "not yet"))
    journal.record_verification(change, failed())
    last = journal.record_verification(change, proven())
    (folded,) = journal.changes()
    assert folded.verification == last and folded.proof == "proven"
    assert folded.status == "done" and journal.read().problems == ()
    row = changes_frame([folded])[0]
    assert row["delivery"] == "proven"
    assert row["proof"] == {
        "status": "proven",
        "time": "2026-12-05T09:30:12Z",
        "reason": None,
        "log_object": LOG,
        "digest_object": DIGEST,
    }
    assert row["status"] == "done" and row["after"] == KEY_A  # the outcome's, not the proof's


def test_a_verified_record_without_intent_or_of_another_target_is_a_problem(
    journal: Journal,
) -> None:
    change = _applied(journal)
    orphan = _line(change.intent, Phase.VERIFIED, change_id="chg-none", note="proven")
    other = _line(change.intent, Phase.VERIFIED, target_arn=TRAIL + "-b", note="proven")
    kind = _line(change.intent, Phase.VERIFIED, kind="key-policy", note="failed")
    with journal.path.open("a", encoding="utf-8") as out:
        out.write(f"{orphan}\n{other}\n{kind}\n")
    problems = journal.read().problems
    assert problems == (
        "line 3: verified record for chg-none has no intent record",
        f"line 4: verified record for {change.change_id} does not match its intent (kind or "
        "target differs); ignored",
        f"line 5: verified record for {change.change_id} does not match its intent (kind or "
        "target differs); ignored",
    )
    (folded,) = journal.changes()
    assert folded.verification is None and folded.status == "done"


def test_a_proof_never_moves_a_change_to_last_or_settles_a_pending_one(journal: Journal) -> None:
    first = _applied(journal, change_id="chg-1")
    second = _applied(journal, change_id="chg-2", target_arn=TRAIL + "-b")
    pending = _intent(journal, change_id="chg-3", target_arn=TRAIL + "-c")
    journal.record_verification(first, proven())
    # A hand-written proof of the pending change: still pending, still reconciled.
    with journal.path.open("a", encoding="utf-8") as out:
        out.write(_line(pending, Phase.VERIFIED, note="pending") + "\n")
    assert journal.last().change_id == second.change_id
    assert [c.change_id for c in journal.pending()] == ["chg-3"]
    assert journal.read().problems == ()
    read: list[str] = []

    def read_state(intent: Record) -> str | None:
        read.append(intent.change_id)
        return intent.after

    settled = reconcile(journal, read_state, now=lambda: "2030-01-01T00:00:00Z")
    assert read == ["chg-3"] and [c.change_id for c, _r in settled] == ["chg-3"]
    assert [r.phase for _c, r in settled] == [Phase.RECONCILED]
    again = {c.change_id: c for c in journal.changes()}
    assert again["chg-3"].status == "reconciled-done" and again["chg-3"].proof == "pending"
    assert again["chg-1"].proof == "proven" and again["chg-2"].proof is None
    assert reconcile(journal, read_state) == []  # the proofs are nothing to settle
    assert journal.read().problems == ()


# -- tails and the fast path -------------------------------------------------------------------


def _conn(account: str = ACCOUNT) -> Any:
    info = SimpleNamespace(account=account, endpoint=ENDPOINT)
    return SimpleNamespace(info=lambda: info)


def test_tails_with_proofs_at_the_end_of_the_file_answer_as_the_whole_journal(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(journal_mod, "_TAIL_FIRST", 1200)
    monkeypatch.setattr(journal_mod, "_TAIL_GROWTH", 2)
    path = tmp_path / "j.jsonl"
    journal = Journal(path)
    rng = random.Random(17)
    applied: list[Change] = []
    for n in range(60):
        target = f"{TRAIL}-{n % 5}"
        change = _applied(journal, change_id=f"chg-{n:03d}", target_arn=target)
        applied.append(change)
    # Proofs of old changes (their intents far before any tail) end the file.
    for change in rng.sample(applied[:30], 12) + applied[-3:]:
        journal.record_verification(change, rng.choice([proven(), failed()]))
    whole = Journal(path).changes()
    assert Journal(path).read().problems == ()
    tails = list(Journal(path).tails())
    # The first reads held only proofs of old changes (no intent: left out, not a problem) and
    # yielded nothing; then a tail of the newest changes, before the whole journal.
    assert len(tails) >= 2 and len(tails[0]) < len(whole)
    for tail in tails:
        assert tail == whole[len(whole) - len(tail) :]  # verification included
    assert tails[-1] == whole
    assert sum(1 for c in whole if c.verification is not None) == 15
    newest = last_undoable(Journal(path), Kind.TRAIL_KEY, _conn())
    assert newest.change_id == "chg-059" and newest.proof is not None


def test_rollback_last_reads_only_the_newest_records_when_proofs_follow(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "j.jsonl"
    scratch = Journal(tmp_path / "scratch.jsonl")
    base = _intent(scratch)
    with path.open("w", encoding="utf-8") as out:  # 4,000 lines at once (no fsync each)
        for n in range(2000):
            fields = {"change_id": f"chg-{n:05d}", "target_arn": f"{TRAIL}-{n}"}
            out.write(_line(base, Phase.INTENT, **fields) + "\n")
            out.write(_line(base, Phase.DONE, **fields) + "\n")
    journal = Journal(path)
    newest = journal.get("chg-01999")
    old = journal.get("chg-00010")
    journal.record_verification(old, proven())
    journal.record_verification(newest, proven())
    parsed = [0]
    original = journal_mod.record_from_line

    def counting(line: bytes | str, *rest: Any) -> Record | None:
        parsed[0] += 1
        return original(line, *rest)

    monkeypatch.setattr(journal_mod, "record_from_line", counting)
    picked = last_undoable(Journal(path), Kind.TRAIL_KEY, _conn())
    assert picked.change_id == "chg-01999" and picked.proof == "proven"
    assert 0 < parsed[0] < 300, parsed[0]


# -- views -------------------------------------------------------------------------------------


def render(renderable: Any) -> str:
    buffer = io.StringIO()
    Console(file=buffer, width=160, color_system=None).print(renderable)
    return buffer.getvalue()


def _cli(*argv: str, lang: str = "en") -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    return main(["--lang", lang, *argv], out=out, err=err), out.getvalue(), err.getvalue()


def _proved_journal(path: Path) -> tuple[Journal, Change, Change, Change]:
    journal = Journal(path)
    good = _applied(journal, change_id="chg-good")
    bad = _applied(journal, change_id="chg-bad", target_arn=TRAIL + "-b")
    never = _applied(journal, change_id="chg-never", target_arn=TRAIL + "-c")
    journal.record_verification(good, proven())
    journal.record_verification(bad, failed("CloudTrail cannot use key 1234abcd: disabled."))
    return journal, good, bad, never


def test_the_journal_command_shows_the_delivery_column(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("COLUMNS", "160")
    journal, _good, _bad, _never = _proved_journal(tmp_path / "j.jsonl")
    code, out, err = _cli("journal", "--journal", str(journal.path))
    assert code == 0, err
    header = next(line for line in out.splitlines() if "status" in line)
    assert "delivery" in header
    rows = {c: next(line for line in out.splitlines() if c in line) for c in ("good", "bad")}
    assert "proven" in rows["good"] and "failed" in rows["bad"]
    never_line = next(line for line in out.splitlines() if "chg-never" in line)
    assert not any(word in never_line for word in PROOF_STATUSES)
    assert "delivery proof: CloudTrail cannot use key 1234abcd: disabled." in " ".join(out.split())

    code, out, err = _cli("journal", "--journal", str(journal.path), "--all")
    assert code == 0, err
    lines = {
        c: next(x for x in out.splitlines() if x.startswith(c)) for c in ("chg-good", "chg-bad")
    }
    assert lines["chg-good"].rstrip().endswith("proven")
    assert lines["chg-bad"].rstrip().endswith("failed")
    assert "delivery" in next(x for x in out.splitlines() if x.startswith("change_id"))

    code, out, err = _cli("journal", "--journal", str(journal.path), "--format", "json")
    assert code == 0, err
    rows_json = {r["change_id"]: r for r in json.loads(out)}
    assert rows_json["chg-good"]["proof"] == {
        "status": "proven",
        "time": "2026-12-05T09:30:12Z",
        "reason": None,
        "log_object": LOG,
        "digest_object": DIGEST,
    }
    assert rows_json["chg-bad"]["delivery"] == "failed"
    assert rows_json["chg-bad"]["proof"]["reason"].startswith("CloudTrail cannot use key")
    assert rows_json["chg-never"]["delivery"] is None and rows_json["chg-never"]["proof"] is None
    assert all(r["status"] == "done" for r in rows_json.values())


def test_the_widget_and_the_notebook_table_show_the_delivery_column(tmp_path: Path) -> None:
    journal, good, bad, never = _proved_journal(tmp_path / "j.jsonl")
    page = journal_html(journal.changes())
    assert "<th" in page and ">delivery</th>" in page
    rows = {
        c.change_id: page.split(c.change_id, 1)[1].split("</tr>", 1)[0] for c in (good, bad, never)
    }
    assert "tk-badge-done" in rows["chg-good"] and ">proven<" in rows["chg-good"]
    assert "tk-badge-failed" in rows["chg-bad"] and "disabled." in rows["chg-bad"]  # on hover
    assert not any(f">{word}<" in rows["chg-never"] for word in PROOF_STATUSES)
    view = JournalView(journal)
    assert ">proven<" in view._w_table.value
    frame = notebook.changes_table(journal)
    assert list(frame["delivery"][:2]) == ["proven", "failed"] and frame["delivery"].isna()[2]
    html_page = frame._repr_html_()
    assert "CloudTrail cannot use key 1234abcd: disabled." in html_page
    assert LOG in html_page  # a proven proof names the log object it read


def test_the_journal_views_in_japanese(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COLUMNS", "160")
    path = tmp_path / "j.jsonl"
    journal = Journal(path)
    good = _applied(journal, change_id="chg-good")
    bad = _applied(journal, change_id="chg-bad", target_arn=TRAIL + "-b")
    journal.record_verification(good, proven())
    # The reason is recorded in English (journal records are English); a Japanese view names
    # the status in Japanese and points to the recorded reason instead of mixing languages.
    journal.record_verification(bad, failed("The KMS key is disabled: delivery failed."))
    names = [str(path), "chg-good", "chg-bad", ENDPOINT, ACCOUNT, "main", "main-b"]
    code, out, err = _cli("journal", "--journal", str(path), lang="ja")
    assert code == 0, err
    assert_japanese(out + err, names, what="journal")
    flat = " ".join(out.split())
    assert "証明済み" in out and "配信証明: 失敗。記録された理由 (英語) は" in flat
    assert "The KMS key is disabled" not in out
    # A pending proof is "awaiting delivery", never the journal status "pending" (結果未記録:
    # no outcome recorded), which would say the change itself is unsettled.
    wait = _applied(journal, change_id="chg-wait", target_arn=TRAIL + "-c")
    journal.record_verification(wait, FakeProof(Status.PENDING, "Nothing delivered yet."))
    with speaking("ja"):
        rows = journal_rows(changes_frame(journal.changes()))
        table = render(records_table(rows, JOURNAL_TABLE))
        page = journal_html(journal.changes())
        frame_page = notebook.changes_table(journal)._repr_html_()
    assert_japanese(table, [*names, "chg-wait", "main-c"], what="journal table")
    assert "配信待ち" in table and "結果未記録" not in table
    assert ">配信<" in page and ">証明済み<" in page and ">配信待ち<" in page
    assert "証明済み" in frame_page and "配信証明" in frame_page
