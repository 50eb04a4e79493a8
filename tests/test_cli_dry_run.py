"""``--dry-run`` is honoured by every write command: nothing is sent or journaled, whatever else
is given, and the full preview (for a policy restore: the diff) comes before any confirmation."""

from __future__ import annotations

import io
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from trailkit.aws import writes
from trailkit.aws.reader import Reader
from trailkit.aws.session import Connection
from trailkit.change.journal import Journal
from trailkit.errors import RefusedError
from trailkit.runbook import Runbook
from trailkit.ui.cli import WRITE_COMMANDS, build_parser, main

GOOD = "alias/cloudtrail-good"
NO_DESCRIBE = "alias/encrypt-no-describe"


def _cli(argv: list[str]) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    return main(argv, out=out, err=err), out.getvalue(), err.getvalue()


def _key_of(endpoint: str, trail: str) -> str | None:
    conn = Connection(endpoint_url=endpoint, region="us-east-1", workers=4)
    return Reader(conn).find_trail(trail).kms_key_id


def _subparsers() -> dict[str, Any]:
    parser = build_parser()
    action = next(a for a in parser._actions if a.dest == "command")
    return dict(action.choices)


def test_every_write_command_and_only_those_take_dry_run() -> None:
    subs = _subparsers()
    with_yes = {
        name for name, sub in subs.items() if any("--yes" in a.option_strings for a in sub._actions)
    }
    assert with_yes == set(WRITE_COMMANDS)
    for name in WRITE_COMMANDS:
        args = build_parser().parse_args(
            [name, *(["--trail", "t"] if name in ("update", "disable") else [])]
            + (["--key", "k"] if name == "update" else [])
            + (["--last"] if name == "rollback" else [])
            + ["--dry-run"]
        )
        assert args.dry_run is True, name


def _policy_change(base: list[str], journal: str) -> None:
    repair = ["policy", "--trail", "org-trail", "--key", NO_DESCRIBE, "--apply", "--yes"]
    code, _, err = _cli([*base, *repair, "--journal", journal])
    assert code == 0, err


def _trail_change(base: list[str], journal: str) -> None:
    code, _, err = _cli(
        [*base, "update", "--trail", "org-trail", "--key", GOOD, "--yes", "--journal", journal]
    )
    assert code == 0, err


DRY_RUNS: list[tuple[str, Callable[[list[str], str], None] | None, list[str]]] = [
    # (name, a change made first, the dry run: with --yes and everything else that could send)
    ("update", None, ["update", "--trail", "org-trail", "--key", GOOD, "--yes"]),
    # (app-trail's bucket only accepts aws:kms: its disable is refused before any dry run)
    ("disable", None, ["disable", "--trail", "pinned-key-trail", "--yes"]),
    ("rollback", _trail_change, ["rollback", "--last", "--yes"]),
    (
        "policy --apply",
        None,
        ["policy", "--trail", "org-trail", "--key", NO_DESCRIBE, "--apply", "--yes"],
    ),
    # the example: after a key policy repair, a restore dry run sent PutKeyPolicy
    ("policy --restore", _policy_change, ["policy", "--restore", "--yes"]),
    ("policy --restore ID", _policy_change, ["policy", "--restore", "LAST", "--yes"]),
]


@pytest.mark.parametrize("fmt", ["table", "json"])
@pytest.mark.parametrize(("name", "setup", "argv"), DRY_RUNS, ids=[d[0] for d in DRY_RUNS])
def test_dry_run_sends_nothing_whatever_else_is_given(
    demo_rw: Any,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    name: str,
    setup: Callable[[list[str], str], None] | None,
    argv: list[str],
    fmt: str,
) -> None:
    endpoint, _ = demo_rw
    base = ["--endpoint-url", endpoint]
    journal = str(tmp_path / "j.jsonl")
    if setup is not None:
        setup(base, journal)
    before = Journal(journal).changes() if Path(journal).exists() else []
    if "LAST" in argv:
        argv = [before[-1].change_id if a == "LAST" else a for a in argv]
    sent: list[str] = []

    def spy(operation: str) -> Callable[..., Any]:
        def send(*_: Any, **__: Any) -> Any:
            sent.append(operation)
            raise AssertionError(f"{operation} was sent during a dry run")

        return send

    monkeypatch.setattr(writes, "update_trail", spy("UpdateTrail"))
    monkeypatch.setattr(writes, "put_key_policy", spy("PutKeyPolicy"))

    code, out, err = _cli([*base, *argv, "--dry-run", "--journal", journal, "--format", fmt])

    assert sent == []
    assert code == 0, err
    assert "Traceback" not in err
    after = Journal(journal).changes() if Path(journal).exists() else []
    assert [c.change_id for c in after] == [c.change_id for c in before]  # nothing journaled
    if fmt == "table":
        assert "Dry run: nothing was sent." in out
    else:
        json.loads(out)  # one JSON document, the preview


def test_policy_restore_shows_the_diff_before_asking(demo_rw: Any, tmp_path: Path) -> None:
    endpoint, _ = demo_rw
    base = ["--endpoint-url", endpoint]
    journal = str(tmp_path / "j.jsonl")
    _policy_change(base, journal)
    # no --yes, and stdin is not a terminal: refused, but only after the preview was shown
    code, out, err = _cli([*base, "policy", "--restore", "--journal", journal])
    assert code == 2 and "no terminal" in err
    assert "--- current policy" in out and "+++ restored policy" in out
    assert '-      "Action": "kms:DescribeKey"' in out  # the repair's statement goes away
    assert len(Journal(journal).changes()) == 1

    code, out, err = _cli([*base, "policy", "--restore", "--dry-run", "--journal", journal])
    assert code == 0 and '-      "Action": "kms:DescribeKey"' in out

    code, out, err = _cli([*base, "policy", "--restore", "--yes", "--journal", journal])
    assert code == 0, err
    assert "DONE" in out
    changes = Journal(journal).changes()
    assert [c.status for c in changes] == ["done", "done"]
    assert changes[1].intent.rollback_of == changes[0].change_id

    # restored: restoring the same change again is refused as already undone (an undo never
    # redoes, issue 11 class 4), naming the change that undid it; nothing is sent
    code, out, err = _cli(
        [*base, "policy", "--restore", changes[0].change_id, "--yes", "--journal", journal]
    )
    assert code == 1, err
    assert f"already undone by {changes[1].change_id}" in err
    assert len(Journal(journal).changes()) == 2
    # and with nothing left to undo, --restore (last) says so instead of redoing
    code, out, err = _cli([*base, "policy", "--restore", "--yes", "--journal", journal])
    assert code == 0 and "Traceback" not in err
    assert out.startswith("Nothing to undo: every key policy change made on account")
    assert len(Journal(journal).changes()) == 2


def test_a_dry_run_runbook_refuses_every_write(demo_conn: Connection, tmp_path: Path) -> None:
    journal = Journal(tmp_path / "j.jsonl")
    book = Runbook(demo_conn, journal, dry_run=True)
    plan = book.plan_for("org-trail", GOOD)
    with pytest.raises(RefusedError, match="Dry run"):
        book.apply(plan, confirmed=True)
    with pytest.raises(RefusedError, match="Dry run"):
        book.apply_many([plan], confirmed=True)
    with pytest.raises(RefusedError, match="Dry run"):
        book.apply_repair(book.plan_repair(["org-trail"], NO_DESCRIBE), confirmed=True)
    with pytest.raises(RefusedError, match="Dry run"):
        book.restore_policy(confirmed=True)
    assert not journal.path.exists()
    assert _key_of(demo_conn.endpoint_url or "", "org-trail") is None
