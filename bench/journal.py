"""How long reading a large change journal takes, and how much memory (not a test).

    .venv/bin/python bench/journal.py                  # 100,000 records
    .venv/bin/python bench/journal.py --records 20000 --json out.json
    .venv/bin/python bench/journal.py --smoke          # a few hundred records, for the test suite

A journal of ``--records`` lines (intent and outcome pairs; every tenth change a key policy
change, every fifth trail change a rollback) is written to a temporary file. Each figure is taken
in a fresh interpreter, so that peak RSS is that of the measured work alone:

* ``journal`` (list): ``trailkit journal --journal FILE`` as a user runs it (table to
  ``/dev/null``); wall time and peak RSS of the process. Goal: 2 s and 150 MB for 100,000 records
  (issue "Every command does exactly what it says", class 13). The table shows the newest
  changes only (``JOURNAL_ROWS``), so the same goal is also measured for:
* ``journal --all``: every change, one line each (what the table used to print).
* ``rollback --last`` planning, the journal part: pick the change to undo and check that undoing
  it is a true undo (``last_undoable`` and ``check_undo`` on this account and endpoint, what
  ``Runbook.plan_rollback`` does before it reads AWS); the pick is checked against the whole
  journal's answer. Goal: 0.5 s.
* ``read()`` + ``changes()`` + ``pending()`` on one :class:`Journal`: the file is parsed once.

The table prints each figure and its ratio to the goal (below 1.0 is within the goal). The
process exits 0 whatever the figures: they are for reading.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
GOALS = {"list_s": 2.0, "list_rss_mb": 150.0, "rollback_last_s": 0.5}
ACCOUNT = "111122223333"
ENDPOINT = "https://*.us-east-1.amazonaws.com (AWS default)"

_CHILD = r"""
import json, resource, sys, time
mode, path = sys.argv[1], sys.argv[2]
start = time.perf_counter()
if mode in ("list", "list-all"):
    import io, os
    from trailkit.ui.cli import main
    argv = ["journal", "--journal", path] + (["--all"] if mode == "list-all" else [])
    with open(os.devnull, "w") as sink:
        code = main(argv, out=sink, err=io.StringIO())
    assert code == 0, code
    extra = {}
elif mode == "rollback-last":
    from types import SimpleNamespace
    from trailkit.change.journal import Journal, Kind
    from trailkit.change.update import check_undo, last_undoable
    from trailkit.records.journal import undoable
    # What plan_rollback does with the journal before it reads AWS; conn.info() is all these
    # two functions ask of the connection.
    info = SimpleNamespace(account=sys.argv[3], endpoint=sys.argv[4])
    conn = SimpleNamespace(info=lambda: info)
    journal = Journal(path)
    start = time.perf_counter()
    picked = last_undoable(journal, Kind.TRAIL_KEY, conn)
    check_undo(journal, picked, conn)
    took = time.perf_counter() - start
    # The answer must be the one the whole journal gives (outside the timing).
    whole = [c for c in undoable(Journal(path).changes(), account=info.account,
             endpoint=info.endpoint) if c.intent.kind is Kind.TRAIL_KEY][:1]
    assert whole and whole[0].change_id == picked.change_id, (whole, picked)
    extra = {"picked": picked.change_id}
else:
    import trailkit.change.journal as cj
    from trailkit.change.journal import Journal
    calls = [0]
    original = cj.record_from_line  # every line is tried here first
    def counting(line, *rest):
        calls[0] += 1
        return original(line, *rest)
    cj.record_from_line = counting
    journal = Journal(path)
    start = time.perf_counter()
    journal.read(); journal.changes(); journal.pending()
    extra = {"parsed_lines": calls[0]}
if mode != "rollback-last":
    took = time.perf_counter() - start
rss_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(json.dumps({"s": took, "rss_mb": rss_kb / 1024, **extra}))
"""


def write_journal(path: Path, records: int) -> None:
    """Write ``records`` lines (intent/outcome pairs) shaped like real ones."""
    trails = [f"arn:aws:cloudtrail:us-east-1:{ACCOUNT}:trail/trail-{i:03d}" for i in range(50)]
    keys = [
        f"arn:aws:kms:us-east-1:{ACCOUNT}:key/{i:08x}-1111-2222-3333-444455556666"
        for i in range(20)
    ]
    policy = json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {"Sid": f"S{i}", "Effect": "Allow", "Principal": {"AWS": "*"}, "Action": "kms:*"}
                for i in range(4)
            ],
        }
    )
    common = {
        "caller_arn": f"arn:aws:sts::{ACCOUNT}:assumed-role/Admin/ops",
        "account": ACCOUNT,
        "endpoint": ENDPOINT,
        "backend": "aws",
        "region": "us-east-1",
        "error": None,
        "note": None,
        "request_id": None,
        "trail_arn": None,
    }
    with path.open("w", encoding="ascii") as out:
        previous: str | None = None
        for n in range(records // 2):
            change_id = f"chg-20260101T{n // 3600 % 24:02d}{n // 60 % 60:02d}{n % 60:02d}Z-{n:06x}"
            time = f"2026-01-01T{n // 3600 % 24:02d}:{n // 60 % 60:02d}:{n % 60:02d}Z"
            if n % 10 == 9:
                fields = {
                    "kind": "key-policy",
                    "target_arn": keys[n % len(keys)],
                    "before": policy,
                    "after": policy.replace("S3", f"T{n}"),
                    "rollback_of": None,
                }
            else:
                rollback = n % 5 == 4 and previous is not None
                fields = {
                    "kind": "trail-key",
                    "target_arn": trails[n % len(trails)],
                    "before": keys[n % len(keys)],
                    "after": keys[(n + 1) % len(keys)],
                    "rollback_of": previous if rollback else None,
                }
                previous = change_id
            intent = {**common, **fields, "change_id": change_id, "time": time, "phase": "intent"}
            done = {**intent, "phase": "done", "request_id": f"req-{n}"}
            out.write(json.dumps(intent, sort_keys=True) + "\n")
            out.write(json.dumps(done, sort_keys=True) + "\n")


def _child(mode: str, path: Path) -> dict[str, Any]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    done = subprocess.run(
        [sys.executable, "-c", _CHILD, mode, str(path), ACCOUNT, ENDPOINT],
        capture_output=True,
        text=True,
        env=env,
        cwd=ROOT,
        check=False,
    )
    if done.returncode != 0:
        raise SystemExit(f"{mode} failed:\n{done.stderr}")
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def main(argv: list[str] | None = None) -> int:
    """Measure and print the table (and ``--json``); exit 0."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=100_000)
    parser.add_argument("--smoke", action="store_true", help="300 records: does it run")
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args(argv)
    records = 300 if args.smoke else args.records
    with tempfile.TemporaryDirectory(prefix="trailkit-bench-") as tmp:
        path = Path(tmp) / "journal.jsonl"
        write_journal(path, records)
        size_mb = path.stat().st_size / 1e6
        listing = _child("list", path)
        listing_all = _child("list-all", path)
        last = _child("rollback-last", path)
        once = _child("parse-count", path)
    scale = records / 100_000
    figures = {
        "records": records,
        "file_mb": round(size_mb, 1),
        "list_s": listing["s"],
        "list_rss_mb": listing["rss_mb"],
        "list_all_s": listing_all["s"],
        "list_all_rss_mb": listing_all["rss_mb"],
        "rollback_last_s": last["s"],
        "rollback_last_picked": last["picked"],
        "parsed_lines_for_three_reads": once["parsed_lines"],
        "goals_for_100k": GOALS,
    }
    print(f"journal: {records} records, {size_mb:.1f} MB")
    print(f"{'measure':38} {'figure':>10} {'goal':>8} {'/goal':>6}")
    rows = [
        ("journal (list): wall s", listing["s"], GOALS["list_s"] * max(scale, 1e-9)),
        ("journal (list): peak RSS MB", listing["rss_mb"], GOALS["list_rss_mb"]),
        ("journal --all: wall s", listing_all["s"], GOALS["list_s"] * max(scale, 1e-9)),
        ("journal --all: peak RSS MB", listing_all["rss_mb"], GOALS["list_rss_mb"]),
        ("rollback --last, journal part: s", last["s"], GOALS["rollback_last_s"] * scale),
    ]
    for what, figure, goal in rows:
        print(f"{what:38} {figure:10.2f} {goal:8.2f} {figure / goal:6.2f}")
    print(f"{'lines parsed by read+changes+pending':38} {once['parsed_lines']:10d} {records:8d}")
    print("(time goals are scaled to the number of records; RSS goal is absolute)")
    if args.json:
        args.json.write_text(json.dumps(figures, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
