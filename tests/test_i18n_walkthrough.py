"""Issue "日本語", acceptance: a fixed walk-through in Japanese prints no English sentence.

Inventory, the check of a blocked and of a ready key, the plan, the apply (typed confirmation
on a terminal), the journal, the rollback and the journal again, each run through the CLI with
``--lang ja`` on the demo estate. Everything it prints, on stdout and stderr, is judged by
``tests/english.py``: codes, ARNs, names, API operations and actions, key states and commands
may stay English; any other English word fails the test with the line it is in.
"""

from __future__ import annotations

import io
import json
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.english import assert_japanese
from trailkit import i18n
from trailkit.ui.cli import main

TRAIL = "org-trail"
BLOCKED, READY = "alias/explicit-deny", "alias/cloudtrail-good"


class _Terminal(io.StringIO):
    """stdin of an operator at a terminal who types ``yes``."""

    def isatty(self) -> bool:
        return True


def _names(endpoint: str) -> list[str]:
    """The demo's trail and bucket names (they stay as they are)."""
    out = io.StringIO()
    assert main(["--endpoint-url", endpoint, "inventory", "--format", "json"], out=out) == 0
    rows = json.loads(out.getvalue())
    rows = rows.get("trails", rows) if isinstance(rows, dict) else rows
    names = set()
    for row in rows:
        for field in ("name", "trail", "bucket", "s3_bucket_name", "home_region"):
            if isinstance(row.get(field), str):
                names.add(row[field])
    return sorted(names)


@pytest.fixture(autouse=True)
def _english_afterwards() -> Any:
    yield
    i18n.set_language("en")


def test_the_walk_through_in_japanese_prints_no_english_sentence(
    demo_rw: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    endpoint, _ = demo_rw
    journal = str(tmp_path / "journal.jsonl")
    names = _names(endpoint)
    monkeypatch.setenv("TRAILKIT_JOURNAL", journal)
    steps: list[tuple[str, list[str], set[int]]] = [
        ("inventory", ["inventory"], {0, 1}),
        ("check of a blocked key", ["check", "--trail", TRAIL, "--key", BLOCKED], {1}),
        ("check of a ready key", ["check", "--trail", TRAIL, "--key", READY], {0}),
        ("plan", ["update", "--trail", TRAIL, "--key", READY, "--dry-run"], {0}),
        ("apply", ["update", "--trail", TRAIL, "--key", READY], {0}),
        ("journal", ["journal"], {0}),
        ("rollback", ["rollback", "--last"], {0}),
        ("journal after the rollback", ["journal"], {0}),
    ]
    for what, argv, codes in steps:
        out, err = io.StringIO(), io.StringIO()
        monkeypatch.setattr(sys, "stdin", _Terminal("yes\n"))
        code = main(["--lang", "ja", "--endpoint-url", endpoint, *argv], out=out, err=err)
        text = out.getvalue() + err.getvalue()
        assert code in codes, f"{what}: exit {code}\n{text}"
        assert text.strip(), what
        assert_japanese(text, names, what=what)
    records = Path(journal).read_text(encoding="utf-8")
    assert records and all(ord(c) < 0x3000 for c in records), "journal records stay English"
