"""Issue "Every command does exactly what it says", the journal's fault classes: an undo that
redoes (4), a journal that contradicts AWS (5), a journal path that hangs (12), large journals
(13), a pending change on a deleted trail (15), credential screening by names (16) and the demo
writing into the real journal (18).
"""

from __future__ import annotations

import dataclasses
import errno
import io
import json
import os
import socket
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

import trailkit.change.journal as journal_mod
from trailkit.aws.reader import Reader
from trailkit.aws.session import Connection
from trailkit.aws.writes import read_key_policy, read_trail_key
from trailkit.change.journal import Journal, Kind, Phase, Record, in_flight, reconcile
from trailkit.change.update import apply, put_key_policy, reconcile_journal
from trailkit.demo.lab import lab_environment
from trailkit.errors import JournalError, NothingToUndo, RefusedError
from trailkit.records import Change, Outcome
from trailkit.records.journal import changes_frame, undoable
from trailkit.rules.plan import plan_change
from trailkit.runbook import Runbook, check
from trailkit.ui import notebook
from trailkit.ui.cli import main
from trailkit.ui.widgets.journal import journal_html

ROOT = Path(__file__).resolve().parent.parent
ACCOUNT = "111122223333"
TRAIL = f"arn:aws:cloudtrail:us-east-1:{ACCOUNT}:trail/main"
KEY_A = f"arn:aws:kms:us-east-1:{ACCOUNT}:key/1234abcd-12ab-34cd-56ef-1234567890ab"
KEY_B = f"arn:aws:kms:us-east-1:{ACCOUNT}:key/2234abcd-12ab-34cd-56ef-1234567890ab"
CALLER = f"arn:aws:sts::{ACCOUNT}:assumed-role/Admin/alice"


def _cli(*argv: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    return main(list(argv), out=out, err=err), out.getvalue(), err.getvalue()


def _ago(seconds: float) -> str:
    return (datetime.now(UTC) - timedelta(seconds=seconds)).strftime("%Y-%m-%dT%H:%M:%SZ")


def _intent(journal: Journal, **over: Any) -> Record:
    fields: dict[str, Any] = {
        "kind": Kind.TRAIL_KEY,
        "target_arn": TRAIL,
        "region": "us-east-1",
        "before": None,
        "after": KEY_A,
        "caller_arn": CALLER,
        "account": ACCOUNT,
        "endpoint": "",
        "backend": "aws",
    }
    fields.update(over)
    return journal.record_intent(**fields)


# ============================================================================================
# 4. An undo that redoes
# ============================================================================================

# Each step: (id, target, rollback_of, applied). Expected: what ``rollback --last`` considers
# (newest first) and what a view offers when rollbacks may be picked by id.
UNDO_CASES = [
    pytest.param([("a", "T1", None, True)], ["a"], ["a"], id="one change"),
    pytest.param(
        [("a", "T1", None, True), ("r", "T1", "a", True)],
        [],
        ["r"],
        id="undone: --last finds nothing; the rollback only by id",
    ),
    pytest.param(
        [("a", "T1", None, True), ("r", "T1", "a", True), ("rr", "T1", "r", True)],
        ["a"],
        ["rr", "a"],
        id="undo of the undo puts the change back in force",
    ),
    pytest.param(
        [("a", "T1", None, True), ("b", "T1", None, True)],
        ["b"],
        ["b"],
        id="older change of the same trail is not offered",
    ),
    pytest.param(
        [("a", "T1", None, True), ("b", "T1", None, True), ("r", "T1", "b", True)],
        ["a"],
        ["r", "a"],
        id="after undoing the newer one, the older one is next",
    ),
    pytest.param(
        [("a", "T1", None, True), ("b", "T2", None, True), ("r", "T1", "a", True)],
        ["b"],
        ["r", "b"],
        id="other trails are independent",
    ),
    pytest.param(
        [("a", "T1", None, True), ("b", "T1", None, False)],
        ["a"],
        ["a"],
        id="a failed change blocks nothing",
    ),
    pytest.param(
        [("a", "T1", None, True), ("r", "T1", "a", False)],
        ["a"],
        ["a"],
        id="a failed rollback undoes nothing",
    ),
    pytest.param(
        [
            ("a", "T1", None, True),
            ("b", "T1", None, True),
            ("rb", "T1", "b", True),
            ("ra", "T1", "a", True),
        ],
        [],
        ["ra"],
        id="a rollback of an older change blocks undoing the newer rollback",
    ),
]


def _journal_of(path: Path, steps: list[tuple[str, str, str | None, bool]]) -> list[Change]:
    journal = Journal(path)
    for change_id, target, rollback_of, applied in steps:
        intent = _intent(
            journal,
            change_id=change_id,
            target_arn=f"arn:aws:cloudtrail:us-east-1:{ACCOUNT}:trail/{target}",
            rollback_of=rollback_of,
        )
        journal.record_outcome(intent, Phase.DONE if applied else Phase.FAILED, after=KEY_A)
    return journal.changes()


@pytest.mark.parametrize(("steps", "last", "offered"), UNDO_CASES)
def test_undoable_offers_only_true_undos(
    tmp_path: Path,
    steps: list[tuple[str, str, str | None, bool]],
    last: list[str],
    offered: list[str],
) -> None:
    changes = _journal_of(tmp_path / "j.jsonl", steps)
    assert [c.change_id for c in undoable(changes)] == last
    assert [c.change_id for c in undoable(changes, rollbacks=True)] == offered


def test_undoable_considers_only_the_connected_account_and_endpoint(tmp_path: Path) -> None:
    journal = Journal(tmp_path / "j.jsonl")
    for change_id, account, endpoint in [
        ("here", ACCOUNT, "https://*.us-east-1.amazonaws.com (AWS default)"),
        ("demo", ACCOUNT, "http://127.0.0.1:5000"),
        ("other-account", "999988887777", ""),
    ]:
        intent = _intent(
            journal,
            change_id=change_id,
            account=account,
            endpoint=endpoint,
            target_arn=f"arn:aws:cloudtrail:us-east-1:{account}:trail/{change_id}",
        )
        journal.record_outcome(intent, Phase.DONE, after=KEY_A)
    changes = journal.changes()
    # Every AWS default endpoint is the same place, whatever region the connection was opened in.
    aws_eu = "https://*.eu-west-1.amazonaws.com (AWS default)"
    assert [c.change_id for c in undoable(changes, account=ACCOUNT, endpoint=aws_eu)] == ["here"]
    assert [
        c.change_id for c in undoable(changes, account=ACCOUNT, endpoint="http://127.0.0.1:5000/")
    ] == ["demo"]
    assert [c.change_id for c in undoable(changes, account="999988887777", endpoint="")] == [
        "other-account"
    ]


def test_rollback_last_twice_does_not_redo(demo_rw: Any, tmp_path: Path) -> None:
    """The issue's example: a second ``rollback --last --yes`` re-applied the change."""
    endpoint, estate = demo_rw
    good = estate.keys["alias/cloudtrail-good"]
    trail_arn = estate.trails["org-trail"]
    conn = Connection(endpoint_url=endpoint, region="us-east-1")
    j = str(tmp_path / "j.jsonl")
    base = ("--endpoint-url", endpoint)
    code, _, err = _cli(
        *base, "update", "--trail", "org-trail", "--key", "alias/cloudtrail-good", "--yes",
        "--journal", j,
    )  # fmt: skip
    assert code == 0, err
    code, _, err = _cli(*base, "rollback", "--last", "--yes", "--journal", j)
    assert code == 0, err
    assert read_trail_key(conn, trail_arn, "us-east-1") is None

    # Nothing left to undo is "nothing to do" (exit 0, README's exit codes), not an error.
    code, out, err = _cli(*base, "rollback", "--last", "--yes", "--journal", j)
    assert code == 0, err
    assert out.startswith("Nothing to undo: every trail change made on account 123456789012")
    assert "is undone already" in out
    assert "name its change id: `trailkit rollback --change ID`" in out
    assert read_trail_key(conn, trail_arn, "us-east-1") is None  # not re-applied
    first, undo = Journal(j).changes()
    assert undo.intent.rollback_of == first.change_id and len(Journal(j).changes()) == 2

    # Named, a rollback is undone: the original change is in force again...
    code, _, err = _cli(*base, "rollback", "--change", undo.change_id, "--yes", "--journal", j)
    assert code == 0, err
    assert read_trail_key(conn, trail_arn, "us-east-1") == good
    # ...so --last undoes it once more, and only once.
    code, _, err = _cli(*base, "rollback", "--last", "--yes", "--journal", j)
    assert code == 0, err
    assert Journal(j).changes()[-1].intent.rollback_of == first.change_id
    assert read_trail_key(conn, trail_arn, "us-east-1") is None
    code, out, err = _cli(*base, "rollback", "--last", "--yes", "--journal", j)
    assert code == 0 and "Nothing to undo" in out
    assert read_trail_key(conn, trail_arn, "us-east-1") is None

    # Naming a change that is undone already is refused, naming the rollback.
    code, _, err = _cli(*base, "rollback", "--change", first.change_id, "--yes", "--journal", j)
    assert code == 1 and "already undone by" in err
    assert "`trailkit rollback --change chg-" in err  # a command that exists


def test_rollback_last_warns_of_a_torn_journal_line_and_says_what_to_do(
    demo_rw: Any, tmp_path: Path
) -> None:
    """A torn last line (an interrupted write) is reported by ``rollback --last`` as by
    ``trailkit journal``, with the advice that is true: ``journal`` shows the damage, and a
    change whose outcome line was lost has no outcome, which ``journal --reconcile`` settles."""
    endpoint, _ = demo_rw
    j = tmp_path / "j.jsonl"
    base = ("--endpoint-url", endpoint)
    code, _, err = _cli(
        *base, "update", "--trail", "org-trail", "--key", "alias/cloudtrail-good", "--yes",
        "--journal", str(j),
    )  # fmt: skip
    assert code == 0, err
    with j.open("a") as f:
        f.write('{"change_id": "x", "pha')
    _, _, listed = _cli(*base, "journal", "--journal", str(j))
    warning = f"warning: {j}: line 3: truncated JSON (the last write may have been interrupted)"
    assert warning in listed
    code, _, err = _cli(*base, "rollback", "--last", "--dry-run", "--journal", str(j))
    assert code == 0, err
    assert warning in err
    assert "`trailkit journal` lists them" in err and "`trailkit journal --reconcile`" in err
    # and when there is nothing to undo, the warning still comes first
    code, _, err = _cli(*base, "rollback", "--last", "--yes", "--journal", str(j))
    assert code == 0, err
    code, out, err = _cli(*base, "rollback", "--last", "--yes", "--journal", str(j))
    assert code == 0 and "Nothing to undo" in out
    assert "line 3: not valid JSON" in err and "--reconcile" in err


def test_rollback_last_without_a_journal_file_says_so_in_one_line(
    demo: Any, tmp_path: Path
) -> None:
    endpoint, _ = demo
    path = tmp_path / "none.jsonl"
    code, out, err = _cli("--endpoint-url", endpoint, "rollback", "--last", "--journal", str(path))
    assert code == 2 and out == ""
    assert err == (
        f"trailkit: No journal at {path}: no change was made with trailkit through this journal,"
        " so there is nothing to undo. Fix: give the journal the change was recorded in with "
        "--journal (or $TRAILKIT_JOURNAL)\n"
    )
    assert not path.exists()


def test_rollback_last_with_a_change_without_outcome_points_to_reconcile(
    demo: Any, demo_conn: Connection, tmp_path: Path
) -> None:
    """The only change made here has no outcome (its outcome line was lost): it may have been
    applied, so this is not "nothing to undo" (exit 2, and the advice is --reconcile)."""
    endpoint, estate = demo
    info = demo_conn.info()
    journal = Journal(tmp_path / "j.jsonl")
    _intent(
        journal, change_id="chg-pending", target_arn=estate.trails["org-trail"],
        account=info.account, endpoint=info.endpoint, backend="demo",
    )  # fmt: skip
    code, out, err = _cli("--endpoint-url", endpoint, "rollback", "--last", "--journal",
                          str(journal.path))  # fmt: skip
    assert code == 2 and out == ""
    assert "chg-pending has no outcome" in err and "`trailkit journal --reconcile`" in err


def test_rolling_back_an_older_change_is_refused_naming_the_newer(
    demo_rw: Any, demo_conn: Connection, tmp_path: Path
) -> None:
    journal = Journal(tmp_path / "j.jsonl")
    book = Runbook(demo_conn, journal)
    older = book.apply(book.plan_for("org-trail", "alias/cloudtrail-good"), confirmed=True)
    book.refresh()
    newer = book.apply(book.plan_disable("org-trail"), confirmed=True)
    assert older.outcome is Outcome.DONE and newer.outcome is Outcome.DONE
    assert older.change_id and newer.change_id
    with pytest.raises(RefusedError, match=f"{newer.change_id}.*changed it later"):
        book.rollback(older.change_id, confirmed=True)
    assert [c.change_id for c in book.undoable()] == [newer.change_id]
    assert book.plan_rollback().rollback_of == newer.change_id


def test_rollback_last_ignores_changes_made_elsewhere(
    demo_rw: Any, demo_conn: Connection, tmp_path: Path
) -> None:
    journal = Journal(tmp_path / "j.jsonl")
    book = Runbook(demo_conn, journal)
    mine = book.apply(book.plan_for("org-trail", "alias/cloudtrail-good"), confirmed=True)
    info = demo_conn.info()
    # A newer change recorded against real AWS for the same account (same trail ARN).
    elsewhere = _intent(
        journal,
        account=info.account,
        endpoint="https://*.us-east-1.amazonaws.com (AWS default)",
        target_arn=mine.plan.trail.arn,
        before=None,
        after=KEY_B,
    )
    journal.record_outcome(elsewhere, Phase.DONE, after=KEY_B)
    assert book.plan_rollback().rollback_of == mine.change_id
    with pytest.raises(RefusedError, match=r"was made on account .*\(AWS default\)"):
        book.plan_rollback(elsewhere.change_id)


def test_policy_restore_twice_does_not_redo(
    demo_rw: Any, demo_conn: Connection, tmp_path: Path
) -> None:
    journal = Journal(tmp_path / "j.jsonl")
    book = Runbook(demo_conn, journal)
    repair = book.plan_repair(["org-trail"], "alias/no-cloudtrail")
    key_arn = repair.key.arn
    region = key_arn.split(":")[3]
    assert book.apply_repair(repair, confirmed=True).outcome is Outcome.DONE
    restored = book.restore_policy(confirmed=True)
    assert restored.outcome is Outcome.DONE
    assert json.loads(read_key_policy(demo_conn, key_arn, region) or "") == json.loads(
        repair.original_text
    )
    with pytest.raises(NothingToUndo, match="Nothing to undo: every key policy change made on"):
        book.restore_policy(confirmed=True)
    with pytest.raises(RefusedError, match="already undone") as refused:
        book.restore_policy(journal.changes()[0].change_id, confirmed=True)
    # The advice names a command that exists (it said `--change`, which policy has not).
    assert "`trailkit policy --restore chg-" in refused.value.fix
    assert json.loads(read_key_policy(demo_conn, key_arn, region) or "") == json.loads(
        repair.original_text
    )


# ============================================================================================
# 5. The journal contradicts AWS
# ============================================================================================


def test_disk_full_after_update_trail_reports_what_aws_did(
    demo_rw: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The issue's example: FAILED "Cannot write the journal", exit 2, but the trail changed."""
    endpoint, estate = demo_rw
    good = estate.keys["alias/cloudtrail-good"]
    write_all = journal_mod._write_all

    def disk_full_for_outcomes(fd: int, data: bytes) -> None:
        if b'"phase": "intent"' not in data:
            raise OSError(errno.ENOSPC, "No space left on device")
        write_all(fd, data)

    monkeypatch.setattr(journal_mod, "_write_all", disk_full_for_outcomes)
    j = tmp_path / "j.jsonl"
    code, out, err = _cli(
        "--endpoint-url", endpoint, "update", "--trail", "org-trail", "--key",
        "alias/cloudtrail-good", "--yes", "--journal", str(j),
    )  # fmt: skip
    assert code == 2
    text = " ".join(out.split())  # the result's message is wrapped at the terminal width
    assert "FAILED" not in text and "DONE" in text and "The journal could not be written" in text
    assert "No space left on device" in text
    lines = [line for line in err.splitlines() if line.startswith("{")]
    assert len(lines) == 1
    record = Record.from_json(lines[0])
    (pending,) = Journal(j).pending()
    assert record.change_id == pending.change_id
    assert (record.phase, record.after) == (Phase.DONE, good)
    conn = Connection(endpoint_url=endpoint, region="us-east-1")
    assert read_trail_key(conn, estate.trails["org-trail"], "us-east-1") == good


def test_reconcile_leaves_an_intent_whose_writer_is_still_running(tmp_path: Path) -> None:
    journal = Journal(tmp_path / "j.jsonl")
    writer = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        intent = dataclasses.replace(
            _intent(journal, change_id="chg-other-process"), pid=writer.pid
        )
        journal = Journal(tmp_path / "j2.jsonl")
        journal.append(intent)
        skipped: list[str] = []
        result = reconcile(journal, lambda _: None, on_skip=lambda change, why: skipped.append(why))
        assert result == [] and len(skipped) == 1
        assert f"process {writer.pid} on this host" in skipped[0]
        # The real outcome arrives a moment later and is the change's status.
        journal.record_outcome(intent, Phase.DONE, after=KEY_A)
        (change,) = journal.changes()
        assert change.status == "done"
    finally:
        writer.kill()
        writer.wait()
    # An intent of a process that is gone is settled.
    dead = dataclasses.replace(intent, change_id="chg-dead")
    journal.append(dead)
    ((settled, _),) = reconcile(journal, lambda _: KEY_A)
    assert settled.change_id == "chg-dead" and settled.status == "reconciled-done"


def test_a_real_outcome_supersedes_an_early_reconcile(tmp_path: Path) -> None:
    journal = Journal(tmp_path / "j.jsonl")
    intent = _intent(journal, change_id="chg-raced", time=_ago(3600))
    journal.record_outcome(intent, Phase.RECONCILED, after=None, note="not-applied")
    assert journal.get("chg-raced").status == "reconciled-not-applied"
    journal.record_outcome(intent, Phase.DONE, after=KEY_A)
    assert journal.get("chg-raced").status == "done"
    assert journal.read().problems == ()
    # A second reconcile record is still reported and ignored.
    journal.record_outcome(intent, Phase.RECONCILED, after=None, note="not-applied")
    assert journal.get("chg-raced").status == "done"
    assert len(journal.read().problems) == 1


@pytest.mark.parametrize(
    ("host", "pid", "age", "settled"),
    [
        ("another-host", 4242, 5, False),  # cannot be checked: within the lease
        ("another-host", 4242, 3600, True),
        (None, None, 5, False),  # an old-format intent, written seconds ago
        (None, None, 3600, True),  # an old-format intent from an old journal
    ],
)
def test_reconcile_lease_for_writers_it_cannot_check(
    tmp_path: Path, host: str | None, pid: int | None, age: float, settled: bool
) -> None:
    journal = Journal(tmp_path / "j.jsonl")
    intent = dataclasses.replace(
        _intent(Journal(tmp_path / "scratch.jsonl"), time=_ago(age)), host=host, pid=pid
    )
    journal.append(intent)
    if host is None:
        assert '"pid"' not in (tmp_path / "j.jsonl").read_text()  # written as older versions
    skipped: list[str] = []
    result = reconcile(journal, lambda _: KEY_A, on_skip=lambda c, why: skipped.append(why))
    assert bool(result) is settled
    if not settled:
        assert "may still be in flight" in skipped[0]


def test_old_journal_lines_without_writer_fields_still_read(tmp_path: Path) -> None:
    path = tmp_path / "j.jsonl"
    old = {
        "change_id": "chg-old", "phase": "intent", "kind": "trail-key",
        "time": "2025-01-01T00:00:00Z", "caller_arn": CALLER, "account": ACCOUNT,
        "endpoint": "", "backend": "aws", "target_arn": TRAIL, "region": "us-east-1",
        "before": None, "after": KEY_A, "request_id": None, "error": None,
        "rollback_of": None, "trail_arn": None, "note": None,
    }  # fmt: skip
    path.write_text(json.dumps(old) + "\n")
    (change,) = Journal(path).changes()
    assert (change.intent.host, change.intent.pid, change.status) == (None, None, "pending")
    new = _intent(Journal(path))
    assert new.host == socket.gethostname() and new.pid == os.getpid()
    assert Journal(path).read().problems == ()


def test_reconcile_in_this_process_leaves_a_change_in_flight(
    demo_rw: Any, demo_conn: Connection, tmp_path: Path
) -> None:
    journal = Journal(tmp_path / "j.jsonl")
    plan = plan_change(check(Reader(demo_conn), "org-trail", "alias/cloudtrail-good"))
    seen: list[tuple[list[Any], list[str]]] = []

    def reconcile_meanwhile() -> None:
        skipped: list[str] = []
        settled = reconcile_journal(demo_conn, journal, on_skip=lambda c, why: skipped.append(why))
        seen.append((settled, skipped))

    result = apply(demo_conn, plan, journal, confirmed=True, after_send=reconcile_meanwhile)
    assert seen == [([], ["this process is still sending it"])]
    assert result.outcome is Outcome.DONE
    assert [c.status for c in journal.changes()] == ["done"]
    assert journal.read().problems == ()
    with in_flight("x"):
        assert "x" in journal_mod._IN_FLIGHT
    assert "x" not in journal_mod._IN_FLIGHT


@pytest.mark.parametrize(
    ("account", "endpoint", "why"),
    [
        ("demo", "other", "not to this connection's account"),
        ("999988887777", "demo", "sent to account 999988887777"),
        ("demo", "demo", None),
    ],
)
def test_reconcile_uses_the_endpoint_and_account_of_the_intent(
    demo_rw: Any, tmp_path: Path, account: str, endpoint: str, why: str | None
) -> None:
    url, estate = demo_rw
    conn = Connection(endpoint_url=url, region="us-east-1")
    info = conn.info()
    j = tmp_path / "j.jsonl"
    _intent(
        Journal(j),
        change_id="chg-x",
        account=info.account if account == "demo" else account,
        endpoint=info.endpoint if endpoint == "demo" else "http://127.0.0.1:9",
        backend="demo",
        target_arn=estate.trails["org-trail"],
        time=_ago(3600),
    )
    code, _out, err = _cli("--endpoint-url", url, "journal", "--reconcile", "--journal", str(j))
    assert code == 0, err
    if why is None:
        assert "reconciled chg-x: reconciled-not-applied" in err
        assert Journal(j).pending() == []
    else:
        assert "left pending chg-x:" in err and why in err
        assert "nothing to reconcile" not in err
        assert [c.change_id for c in Journal(j).pending()] == ["chg-x"]


# ============================================================================================
# 12. A journal path that hangs the tool
# ============================================================================================


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no FIFOs here")
def test_a_fifo_journal_is_refused_not_waited_on(demo: Any, tmp_path: Path) -> None:
    fifo = tmp_path / "journal.fifo"
    os.mkfifo(fifo)
    journal = Journal(fifo)
    for action in (journal.read, journal.changes, journal.pending):
        with pytest.raises(JournalError, match="FIFO"):
            action()
    with pytest.raises(JournalError, match="FIFO"):
        _intent(journal)
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    for argv in (
        ["journal", "--journal", str(fifo)],
        ["--endpoint-url", demo[0], "rollback", "--last", "--yes", "--journal", str(fifo)],
    ):
        done = subprocess.run(
            [sys.executable, "-m", "trailkit", *argv],
            capture_output=True,
            text=True,
            env=env,
            timeout=60,
            check=False,
        )
        assert done.returncode == 2, done.stderr
        assert "FIFO (named pipe), not a regular file" in done.stderr
        assert "Traceback" not in done.stderr


# ============================================================================================
# 13. Large journals
# ============================================================================================


def test_the_journal_command_parses_the_file_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "j.jsonl"
    journal = Journal(path)
    for i in range(40):
        intent = _intent(journal, change_id=f"chg-{i:03d}")
        if i % 2:
            journal.record_outcome(intent, Phase.DONE, after=KEY_A)
    parsed: list[bytes | str] = []
    original = journal_mod.record_from_line  # every line is tried here first

    def counting(line: bytes | str, *rest: Any) -> Record | None:
        parsed.append(line)
        return original(line, *rest)

    monkeypatch.setattr(journal_mod, "record_from_line", counting)
    code, out, err = _cli("journal", "--journal", str(path))
    assert code == 0, err
    assert len(parsed) == 60  # every line once (read, changes and pending share one parse)
    assert "chg-039" in out and "20 changes have no outcome" in err
    # A changed file is parsed again.
    _intent(journal, change_id="chg-new")
    assert journal.get("chg-new").status == "pending" and len(parsed) == 121


def test_bench_journal_smoke(tmp_path: Path) -> None:
    report = tmp_path / "journal.json"
    done = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "journal.py"), "--smoke", "--json", str(report)],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=ROOT,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    figures = json.loads(report.read_text())
    assert figures["records"] == 300 and figures["parsed_lines_for_three_reads"] == 300
    assert figures["list_s"] > 0 and figures["list_rss_mb"] > 0 and figures["rollback_last_s"] > 0
    assert figures["list_all_s"] > 0 and figures["list_all_rss_mb"] > 0
    assert figures["rollback_last_picked"] is not None
    assert "journal (list): wall s" in done.stdout and "/goal" in done.stdout


# ============================================================================================
# 15. A pending change on a deleted trail
# ============================================================================================


def test_a_pending_change_on_a_deleted_trail_is_settled_as_gone(
    demo_rw: Any, tmp_path: Path
) -> None:
    endpoint, estate = demo_rw
    conn = Connection(endpoint_url=endpoint, region="us-east-1")
    j = tmp_path / "j.jsonl"
    plan = plan_change(check(Reader(conn), "org-trail", "alias/cloudtrail-good"))

    class Crash(BaseException):
        pass

    def crash() -> None:
        raise Crash

    with pytest.raises(Crash):
        apply(conn, plan, Journal(j), confirmed=True, after_send=crash)
    # moto deletes by name only (AWS takes the ARN as well).
    conn.client("cloudtrail", "us-east-1").delete_trail(Name="org-trail")
    assert estate.trails["org-trail"].endswith(":trail/org-trail")

    code, out, err = _cli("--endpoint-url", endpoint, "journal", "--reconcile", "--journal", str(j))
    assert code == 0, err
    assert "nothing to reconcile" not in err
    assert "reconciled-target-gone (target-gone)" in err
    assert "reconciled-target-gone" in out
    (change,) = Journal(j).changes()
    assert change.status == "reconciled-target-gone" and change.outcome is not None
    assert change.outcome.after is None
    assert Journal(j).pending() == []


# ============================================================================================
# 16. Credential screening looks at values, not names
# ============================================================================================


def _with_statement(policy: str, statement: dict[str, Any]) -> str:
    doc = json.loads(policy)
    doc["Statement"].append(statement)
    return json.dumps(doc)


@pytest.mark.parametrize(
    ("statement", "journaled"),
    [
        (
            {
                "Sid": "AllowSessionTokenUsers",
                "Effect": "Allow",
                "Principal": {"AWS": "arn:aws:iam::123456789012:root"},
                "Action": "kms:Decrypt",
                "Resource": "*",
            },
            True,
        ),
        (
            {
                "Sid": "Pasted",
                "Effect": "Allow",
                "Principal": {"AWS": "arn:aws:iam::123456789012:root"},
                "Action": "kms:Decrypt",
                "Resource": "*",
                "Condition": {"StringEquals": {"aws:SourceIdentity": "AKIAIOSFODNN7EXAMPLE"}},
            },
            False,
        ),
    ],
)
def test_key_policy_changes_are_screened_by_value_shape(
    demo_rw: Any, demo_conn: Connection, tmp_path: Path, statement: dict[str, Any], journaled: bool
) -> None:
    _, estate = demo_rw
    key = estate.keys["alias/cloudtrail-good"]
    before = read_key_policy(demo_conn, key, "us-east-1") or ""
    after = _with_statement(before, statement)
    journal = Journal(tmp_path / "j.jsonl")
    if journaled:
        result = put_key_policy(demo_conn, key, before, after, journal, confirmed=True)
        assert result.outcome is Outcome.DONE
        assert [c.status for c in journal.changes()] == ["done"]
    else:
        with pytest.raises(JournalError, match="looks like an AWS access key id"):
            put_key_policy(demo_conn, key, before, after, journal, confirmed=True)
        assert journal.changes() == []
        assert read_key_policy(demo_conn, key, "us-east-1") == before  # nothing was sent


# ============================================================================================
# 18. The demo writes into the operator's real journal
# ============================================================================================


@pytest.fixture
def data_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.delenv("TRAILKIT_JOURNAL", raising=False)
    return tmp_path / "data" / "trailkit"


def test_demo_environments_use_the_demo_journal(data_home: Path) -> None:
    env = lab_environment(endpoint="http://127.0.0.1:5000", base={"PATH": "/bin"})
    assert env["TRAILKIT_JOURNAL"] == str(data_home / "demo-journal.jsonl")
    own = lab_environment(
        endpoint="http://127.0.0.1:5000", base={"TRAILKIT_JOURNAL": "/tmp/mine.jsonl"}
    )
    assert own["TRAILKIT_JOURNAL"] == "/tmp/mine.jsonl"  # the user's choice wins
    assert "TRAILKIT_JOURNAL" not in lab_environment(aws=True, base={"PATH": "/bin"})


@pytest.mark.parametrize(
    ("env", "name"),
    [
        ({"TRAILKIT_BACKEND": "demo"}, "demo-journal.jsonl"),
        ({"AWS_ENDPOINT_URL": "http://127.0.0.1:5000"}, "demo-journal.jsonl"),
        ({"AWS_ENDPOINT_URL": "http://127.0.0.1:5000", "TRAILKIT_BACKEND": "aws"}, "journal.jsonl"),
        ({}, "journal.jsonl"),
    ],
)
def test_notebook_journal_follows_the_backend(
    data_home: Path, monkeypatch: pytest.MonkeyPatch, env: dict[str, str], name: str
) -> None:
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    monkeypatch.delenv("TRAILKIT_BACKEND", raising=False)
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    assert notebook.open_journal().path == data_home / name


def test_cli_on_the_demo_endpoint_never_touches_the_real_journal(
    demo_rw: Any, data_home: Path
) -> None:
    endpoint, _ = demo_rw
    code, out, err = _cli(
        "--endpoint-url", endpoint, "update", "--trail", "org-trail", "--key",
        "alias/cloudtrail-good", "--yes",
    )  # fmt: skip
    assert code == 0, err
    assert (data_home / "demo-journal.jsonl").exists()
    assert not (data_home / "journal.jsonl").exists()
    code, out, err = _cli("--endpoint-url", endpoint, "journal")
    assert code == 0, err
    header = out.splitlines()[1]
    assert "where" in header  # the column of backend, account and endpoint
    row = " ".join(" ".join(out.splitlines()[3:]).split())  # the change's lines, unwrapped
    assert f"demo · account 123456789012 · {endpoint}" in row


def test_every_journal_view_shows_backend_endpoint_and_account(tmp_path: Path) -> None:
    journal = Journal(tmp_path / "j.jsonl")
    _intent(journal, backend="demo", endpoint="http://127.0.0.1:5000", account="000000000000")
    _intent(journal, backend="aws", endpoint="", account=ACCOUNT)
    rows = changes_frame(journal.changes())
    assert [(r["backend"], r["endpoint"], r["account"]) for r in rows] == [
        ("demo", "http://127.0.0.1:5000", "000000000000"),
        ("aws", "", ACCOUNT),
    ]
    html = journal_html(journal.changes())
    for text in ("backend</th>", "endpoint</th>", "account</th>"):
        assert text in html
    assert "http://127.0.0.1:5000" in html and "000000000000" in html and "AWS default" in html


def test_the_journal_widget_table_keeps_each_change_on_one_line(tmp_path: Path) -> None:
    """Issue 13: ids and times wrapped over three lines, keys showed as "SSE-S3 / none" and a
    bare uuid. Every cell is one line, the table scrolls, a trail's missing key is SSE-S3 and a
    key ARN is shortened with the full ARN on hover; the undoing rollback is named."""
    import re

    journal = Journal(tmp_path / "j.jsonl")
    first = _intent(journal, change_id="chg-first", before=None, after=KEY_A)
    journal.record_outcome(first, Phase.DONE, after=KEY_A)
    undo = _intent(journal, change_id="chg-undo", before=KEY_A, after=None, rollback_of="chg-first")
    journal.record_outcome(undo, Phase.DONE, after=None)
    html = journal_html(journal.changes())
    cells = re.findall(r"<t[dh]( style=\"[^\"]*\")?>", html)
    assert cells and all("white-space:nowrap" in style for style in cells)
    assert "overflow-x:auto" in html.split("<table", 1)[0]
    assert "SSE-S3 / none" not in html and html.count(">SSE-S3<") == 2
    assert f'title="{KEY_A}"' in html and "key/" in html
    assert html.count("<code>chg-undo</code>") == 2  # its own id, and "undone by" of chg-first


def test_rollback_refuses_when_the_trail_changed_outside_trailkit(
    demo_rw: Any, tmp_path: Path
) -> None:
    """A console edit (not journaled) after a change: undoing the change would throw it away."""
    endpoint, estate = demo_rw
    mrk = estate.keys["alias/multi-region-good"]
    trail_arn = estate.trails["org-trail"]
    conn = Connection(endpoint_url=endpoint, region="us-east-1")
    j = str(tmp_path / "j.jsonl")
    base = ("--endpoint-url", endpoint)
    code, _, err = _cli(
        *base, "update", "--trail", "org-trail", "--key", "alias/cloudtrail-good", "--yes",
        "--journal", j,
    )  # fmt: skip
    assert code == 0, err
    conn.client("cloudtrail", "us-east-1").update_trail(Name="org-trail", KmsKeyId=mrk)

    for args in (("--last",), ("--change", Journal(j).changes()[0].change_id)):
        for mode in ("--dry-run", "--yes"):
            code, out, err = _cli(*base, "rollback", *args, mode, "--journal", j)
            assert code == 1, out + err
            assert "changed since change" in err and "Nothing will be sent" in err
    assert read_trail_key(conn, trail_arn, "us-east-1") == mrk  # their change stands
    assert len(Journal(j).changes()) == 1


def test_a_trail_named_twice_is_planned_and_sent_once(demo_rw: Any, tmp_path: Path) -> None:
    endpoint, estate = demo_rw
    trail_arn = estate.trails["org-trail"]
    j = str(tmp_path / "j.jsonl")
    base = ("--endpoint-url", endpoint)
    code, out, err = _cli(
        *base, "-v", "update", "--trail", "org-trail", "--trail", trail_arn,
        "--key", "alias/cloudtrail-good", "--dry-run", "--journal", j,
    )  # fmt: skip
    assert code == 0, err
    assert out.count("UpdateTrail in us-east-1") == 1  # one plan
    assert "API calls:" in err and "UpdateTrail" not in err  # -v shows what was (not) sent
    code, out, err = _cli(
        *base, "update", "--trail", "org-trail", "--trail", trail_arn,
        "--key", "alias/cloudtrail-good", "--yes", "--journal", j,
    )  # fmt: skip
    assert code == 0, err
    assert "REFUSED" not in out and len(Journal(j).changes()) == 1


@pytest.mark.parametrize("path", ["", "   "])
def test_an_empty_journal_path_says_so(demo: Any, path: str) -> None:
    endpoint, _ = demo
    with pytest.raises(JournalError, match="The journal path is empty"):
        Journal(path)
    for argv in (("journal",), ("rollback", "--last", "--yes")):
        code, _, err = _cli("--endpoint-url", endpoint, *argv, "--journal", path)
        assert code == 2 and "The journal path is empty" in err and "directory" not in err
        assert "Traceback" not in err
    assert not Path(path).exists() or Path(path).is_dir()  # no file named '   ' was created


def test_the_journal_listing_says_sse_s3_and_which_rollback_undid_a_change(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A trail's missing key reads as SSE-S3 (not ``-``); an undone change names its undoer,
    in the newest-changes table, in ``--all`` and (as ``undone_by``) in ``--format json``."""
    monkeypatch.setenv("COLUMNS", "120")
    path = tmp_path / "j.jsonl"
    journal = Journal(path)
    first = _intent(journal, change_id="chg-first", before=None, after=KEY_A)
    journal.record_outcome(first, Phase.DONE, after=KEY_A)
    undo = _intent(journal, change_id="chg-undo", before=KEY_A, after=None, rollback_of="chg-first")
    journal.record_outcome(undo, Phase.DONE, after=None)
    kept = _intent(journal, change_id="chg-kept", target_arn=TRAIL + "-b")
    journal.record_outcome(kept, Phase.DONE, after=KEY_A)

    code, out, err = _cli("journal", "--journal", str(path))
    assert code == 0, err
    assert "undone by chg-undo" in out and out.count("undone by") == 1
    assert "SSE-S3 →" in out and "→ SSE-S3" in out
    code, out, err = _cli("journal", "--journal", str(path), "--all")
    assert code == 0, err
    first_line = next(line for line in out.splitlines() if line.startswith("chg-first"))
    assert "SSE-S3" in first_line and "chg-undo" in first_line
    kept_line = next(line for line in out.splitlines() if line.startswith("chg-kept"))
    assert "chg-undo" not in kept_line
    code, out, err = _cli("journal", "--journal", str(path), "--format", "json")
    rows = {r["change_id"]: r for r in json.loads(out)}
    assert rows["chg-first"]["undone_by"] == "chg-undo" and rows["chg-first"]["before"] is None
    assert rows["chg-undo"]["undone_by"] is None and rows["chg-kept"]["undone_by"] is None


@pytest.mark.parametrize("flag", [[], ["--all"]])
def test_control_characters_in_a_journal_are_shown_escaped(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, flag: list[str]
) -> None:
    """Found by a break-it pass: an ANSI sequence or a newline inside a change id reached the
    terminal raw (cursor moves could hide rows; a newline printed a forged row)."""
    monkeypatch.setenv("COLUMNS", "200")
    path = tmp_path / "j.jsonl"
    journal = Journal(path)
    forged = "chg-1\u001b[31m\u001b[1A\nFAKE done"
    rec = _intent(journal, change_id=forged, target_arn=TRAIL + "\u001b[2K")
    journal.record_outcome(rec, Phase.DONE, after=KEY_A)
    code, out, err = _cli("journal", "--journal", str(path), *flag)
    assert code == 0, err
    assert "\x1b" not in out and not any(line.startswith("FAKE") for line in out.splitlines())
    assert "\\x1b[31m" in out and "\\nFAKE done" in out


def test_an_interrupt_while_sending_says_the_change_may_be_applied(
    demo_rw: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Found by a break-it pass: Ctrl-C after UpdateTrail said only "interrupted" though the
    change had been applied. It names the change and the way to settle it."""
    import trailkit.aws.writes as writes

    endpoint, _ = demo_rw
    j = tmp_path / "j.jsonl"
    real = writes.update_trail

    def send_then_interrupt(*args: Any, **kw: Any) -> Any:
        real(*args, **kw)  # AWS has the change...
        raise KeyboardInterrupt  # ...and the operator presses Ctrl-C before the answer

    monkeypatch.setattr(writes, "update_trail", send_then_interrupt)
    code, _, err = _cli(
        "--endpoint-url", endpoint, "update", "--trail", "org-trail", "--key",
        "alias/cloudtrail-good", "--yes", "--journal", str(j),
    )  # fmt: skip
    (change,) = Journal(j).changes()
    assert code == 130 and change.status == "pending"
    assert f"while change {change.change_id} was being sent" in err
    assert "may have been applied" in err and "trailkit journal --reconcile" in err
    # An interrupt before anything was sent says only that.
    monkeypatch.setattr(journal_mod, "_INTERRUPTED", [])
    monkeypatch.setattr(
        "trailkit.ui.cli._connect", lambda args: (_ for _ in ()).throw(KeyboardInterrupt)
    )
    code, _, err = _cli("--endpoint-url", endpoint, "inventory")
    assert code == 130 and err == "trailkit: interrupted\n"


def test_listing_a_journal_path_that_does_not_exist_says_so(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Found by a break-it pass: ``journal --journal /tmp/typo.jsonl`` printed "(nothing)" and
    exited 0. A path that was named and does not exist is an error; the default journal that
    does not exist yet is just empty."""
    code, out, err = _cli("journal", "--journal", str(tmp_path / "typo.jsonl"))
    assert code == 2 and "No journal at" in err and "typo.jsonl" in err and out == ""
    monkeypatch.setenv("TRAILKIT_JOURNAL", str(tmp_path / "typo2.jsonl"))
    code, _, err = _cli("journal")
    assert code == 2 and "typo2.jsonl" in err
    monkeypatch.delenv("TRAILKIT_JOURNAL")
    monkeypatch.setattr(journal_mod, "default_path", lambda demo=False: tmp_path / "none.jsonl")
    monkeypatch.setattr("trailkit.change.journal.default_path", journal_mod.default_path)
    code, out, err = _cli("--endpoint-url", "http://127.0.0.1:9", "journal")
    assert code == 0, err


def test_a_proc_file_that_reports_size_zero_is_not_taken_for_an_empty_journal() -> None:
    """Found by a break-it pass: /proc files report st_size 0, so ``--journal /proc/uptime`` was
    judged empty and chmod-ed to 0600 before the write failed. Its bytes are read, whatever the
    size says; it is refused and left alone."""
    path = Path("/proc/version")
    if not path.exists():
        pytest.skip("no /proc")
    mode = path.stat().st_mode
    journal = Journal(path)
    with pytest.raises(JournalError, match="is not a trailkit journal"):
        _intent(journal)
    assert path.stat().st_mode == mode


def test_an_interrupt_after_the_outcome_says_what_the_journal_records(
    demo_rw: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Found by a break-it pass: Ctrl-C after the outcome was journaled but before the result
    was printed said only "interrupted" although the trail had changed."""
    import trailkit.ui.cli as cli

    endpoint, _ = demo_rw
    j = tmp_path / "j.jsonl"

    def interrupt(*_: Any, **__: Any) -> bool:
        raise KeyboardInterrupt

    monkeypatch.setattr(cli, "_report_unjournaled", interrupt)
    code, _, err = _cli(
        "--endpoint-url", endpoint, "update", "--trail", "org-trail", "--key",
        "alias/cloudtrail-good", "--yes", "--journal", str(j),
    )  # fmt: skip
    (change,) = Journal(j).changes()
    assert code == 130 and change.status == "done"
    assert f"after change {change.change_id} had its outcome" in err and "as done" in err
