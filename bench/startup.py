"""How long the command line takes to start, and what importing the package costs (not a test).

    .venv/bin/python bench/startup.py                       # this checkout
    .venv/bin/python bench/startup.py --against /tmp/old    # and a worktree of another commit

Each command runs ``--repeat`` times in a fresh interpreter, the checkouts interleaved so that a
noisy neighbour hurts both alike; the table gives the median and best wall time and the ratio to
the goal (``trailkit --help`` under 0.25 s, issue "One house"). Another checkout is measured by
putting it first on ``PYTHONPATH``, with this interpreter and its installed packages.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
GOAL_S = 0.25
COMMANDS: dict[str, list[str]] = {
    "trailkit --help": ["-m", "trailkit", "--help"],
    "import trailkit": ["-c", "import trailkit"],
    "import trailkit.rules.keyids": ["-c", "import trailkit.rules.keyids"],
    "import trailkit.keyids (old layout)": ["-c", "import trailkit.keyids"],
}


def _time(checkout: Path, args: list[str]) -> float | None:
    env = {**os.environ, "PYTHONPATH": str(checkout)}
    start = time.perf_counter()
    done = subprocess.run(
        [sys.executable, *args], cwd=checkout, env=env, capture_output=True, check=False
    )
    elapsed = time.perf_counter() - start
    return elapsed if done.returncode == 0 else None


def main(argv: list[str] | None = None) -> int:
    """Measure, print the table; exit 0 (the figures are for reading, not for passing)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=15)
    parser.add_argument("--against", type=Path, help="a checkout of another commit")
    args = parser.parse_args(argv)
    checkouts = {"this": HERE.parent}
    if args.against:
        checkouts["against"] = args.against.resolve()
    samples: dict[tuple[str, str], list[float]] = {}
    for _ in range(args.repeat):
        for what, cmd in COMMANDS.items():
            for label, path in checkouts.items():
                took = _time(path, cmd)
                if took is not None:
                    samples.setdefault((what, label), []).append(took)
    print(f"{'command':38} {'checkout':8} {'median s':>9} {'best s':>7} {'/goal':>6}")
    for what in COMMANDS:
        for label in checkouts:
            got = samples.get((what, label))
            if not got:
                continue
            median = statistics.median(got)
            print(f"{what:38} {label:8} {median:9.3f} {min(got):7.3f} {median / GOAL_S:6.2f}")
    print(f"goal: trailkit --help under {GOAL_S} s (ratio under 1.00); {args.repeat} runs each")
    return 0


if __name__ == "__main__":
    sys.exit(main())
