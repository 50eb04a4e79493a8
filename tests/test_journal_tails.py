"""``rollback --last`` reads the journal from its end (issue 11, class 13).

:meth:`Journal.tails` yields growing suffixes of the journal's changes; ``last_undoable`` and
``check_undo`` stop at the first one that answers. These tests check, on random journals with
rollbacks of rollbacks, failures, pending changes, late outcomes and two accounts, that the
answer from the tails is always the answer of the whole journal, and that the whole journal is
not parsed when the newest changes answer.
"""

from __future__ import annotations

import random
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

import trailkit.change.journal as journal_mod
from trailkit.change.journal import Journal, Kind, Phase, Record
from trailkit.change.update import check_undo, last_undoable
from trailkit.errors import JournalError, RefusedError
from trailkit.records.journal import newer_change, undoable, undone_by

ACCOUNTS = ("111122223333", "444455556666")
ENDPOINT = "http://127.0.0.1:5000"
KEYS = tuple(
    f"arn:aws:kms:us-east-1:{ACCOUNTS[0]}:key/{i}234abcd-12ab-34cd-56ef-1234567890ab"
    for i in range(3)
)
TRAILS = tuple(f"arn:aws:cloudtrail:us-east-1:{ACCOUNTS[0]}:trail/t{i}" for i in range(3))


def _conn(account: str = ACCOUNTS[0]) -> Any:
    info = SimpleNamespace(account=account, endpoint=ENDPOINT)
    return SimpleNamespace(info=lambda: info)


def _random_journal(path: Path, seed: int, changes: int) -> None:
    """Write a journal as concurrent operators would: outcomes sometimes land late."""
    rng = random.Random(seed)
    journal = Journal(path)
    open_intents: list[Record] = []
    written: list[str] = []
    for n in range(changes):
        kind = Kind.KEY_POLICY if rng.random() < 0.2 else Kind.TRAIL_KEY
        target = rng.choice(KEYS if kind is Kind.KEY_POLICY else TRAILS)
        rollback_of = rng.choice(written) if written and rng.random() < 0.4 else None
        intent = journal.record_intent(
            change_id=f"chg-{seed}-{n:04d}",
            kind=kind,
            target_arn=target,
            region="us-east-1",
            before=None,
            after=rng.choice(KEYS) if kind is Kind.TRAIL_KEY else '{"Statement": []}',
            caller_arn="arn:aws:sts::111122223333:assumed-role/Admin/alice",
            account=rng.choice(ACCOUNTS),
            endpoint=ENDPOINT,
            backend="demo",
            rollback_of=rollback_of,
        )
        written.append(intent.change_id)
        open_intents.append(intent)
        while open_intents and rng.random() < 0.7:
            done = open_intents.pop(rng.randrange(len(open_intents)))
            if rng.random() < 0.05:
                continue  # left pending (the writer died)
            phase = Phase.DONE if rng.random() < 0.85 else Phase.FAILED
            journal.record_outcome(done, phase, after=done.after)


def _whole_answer(path: Path, kind: Kind, account: str) -> str | None:
    for change in undoable(Journal(path).changes(), account=account, endpoint=ENDPOINT):
        if change.intent.kind is kind:
            return change.change_id
    return None


def _whole_verdict(path: Path, change_id: str) -> str:
    changes = Journal(path).changes()
    change = next(c for c in changes if c.change_id == change_id)
    by = undone_by(changes).get(change_id)
    if by is not None:
        return f"undone by {by.change_id}"
    newer = newer_change(changes, change)
    return f"newer {newer.change_id}" if newer is not None else "ok"


def _tails_verdict(path: Path, change_id: str, account: str) -> str:
    journal = Journal(path)
    change = journal.get(change_id)
    fresh = Journal(path)  # no cached whole parse: check_undo must use the tails
    try:
        check_undo(fresh, change, _conn(account))
    except RefusedError as exc:
        text = exc.message
        if "already undone by" in text:
            return "undone by " + text.split("already undone by ")[1].rstrip(".")
        if "changed it later" in text:
            return "newer " + text.split(": ", 1)[1].split(" ", 1)[0]
        raise
    return "ok"


@pytest.mark.parametrize("seed", range(12))
def test_tails_give_the_whole_journals_answer(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, seed: int
) -> None:
    monkeypatch.setattr(journal_mod, "_TAIL_FIRST", 700)  # about one record: many tails
    monkeypatch.setattr(journal_mod, "_TAIL_GROWTH", 2)
    path = tmp_path / "j.jsonl"
    _random_journal(path, seed, changes=60)
    for account in ACCOUNTS:
        for kind in Kind:
            want = _whole_answer(path, kind, account)
            try:
                got: str | None = last_undoable(Journal(path), kind, _conn(account)).change_id
            except JournalError:
                got = None
            assert got == want, (seed, account, kind)
    for change in Journal(path).changes():
        if change.applied and change.intent.account == ACCOUNTS[0]:
            assert _tails_verdict(path, change.change_id, ACCOUNTS[0]) == _whole_verdict(
                path, change.change_id
            ), change.change_id


def test_each_tail_is_a_suffix_of_the_changes_and_the_last_is_all_of_them(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(journal_mod, "_TAIL_FIRST", 1000)
    path = tmp_path / "j.jsonl"
    _random_journal(path, 99, changes=80)
    whole = Journal(path).changes()
    tails = list(Journal(path).tails())
    assert len(tails) >= 3
    for tail in tails:
        assert tail == whole[len(whole) - len(tail) :]
    assert tails[-1] == whole
    # Once the whole file is parsed (and unchanged), it is the only tail.
    journal = Journal(path)
    journal.changes()
    assert list(journal.tails()) == [whole]


def test_rollback_last_parses_only_the_newest_records(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "j.jsonl"
    _random_journal(path, 7, changes=3000)
    journal = Journal(path)
    # The newest change, applied, on the first account: --last finds it in the first tail.
    newest = journal.record_intent(
        kind=Kind.TRAIL_KEY,
        target_arn=TRAILS[0] + "-new",
        region="us-east-1",
        before=None,
        after=KEYS[0],
        caller_arn="arn:aws:sts::111122223333:assumed-role/Admin/alice",
        account=ACCOUNTS[0],
        endpoint=ENDPOINT,
        backend="demo",
    )
    journal.record_outcome(newest, Phase.DONE, after=KEYS[0])
    parsed = [0]
    original = journal_mod.record_from_line  # every line is tried here first

    def counting(line: bytes | str, *rest: Any) -> Record | None:
        parsed[0] += 1
        return original(line, *rest)

    monkeypatch.setattr(journal_mod, "record_from_line", counting)
    fresh = Journal(path)
    picked = last_undoable(fresh, Kind.TRAIL_KEY, _conn())
    check_undo(fresh, picked, _conn())
    assert picked.change_id == newest.change_id
    total = sum(1 for _ in path.open("rb"))
    assert total > 5000
    assert 0 < parsed[0] < 300, parsed[0]


@pytest.mark.parametrize(
    "damage",
    [
        pytest.param(b"{not json\n", id="a corrupt line"),
        pytest.param(b'{"change_id": "x"}\n', id="a record missing fields"),
    ],
)
def test_a_damaged_tail_falls_back_to_the_whole_journal(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, damage: bytes
) -> None:
    monkeypatch.setattr(journal_mod, "_TAIL_FIRST", 2000)
    path = tmp_path / "j.jsonl"
    _random_journal(path, 3, changes=40)
    with path.open("ab") as out:
        out.write(damage)
    _random_journal(tmp_path / "more.jsonl", 4, changes=2)
    with path.open("ab") as out:
        out.write((tmp_path / "more.jsonl").read_bytes())
    tails = list(Journal(path).tails())
    assert tails == [Journal(path).changes()]  # only the whole journal, which reports the line
    assert not Journal(path).read().ok
    for kind in Kind:
        want = _whole_answer(path, kind, ACCOUNTS[0])
        try:
            got: str | None = last_undoable(Journal(path), kind, _conn()).change_id
        except JournalError:
            got = None
        assert got == want
