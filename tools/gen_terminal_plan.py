"""Draw ``docs/terminal-plan.svg``: the plan ``trailkit update --dry-run`` prints before it asks.

    python tools/gen_terminal_plan.py                  # writes docs/terminal-plan.svg
    python tools/gen_terminal_plan.py --out plan.svg   # elsewhere
    python tools/gen_terminal_plan.py --port 0         # any free port (the picture shows it)

The demo estate is seeded into a moto server started here, on a fixed port and with moto's
random numbers seeded first, so the key ids and the endpoint, and with them the picture, are
the same on every run. The command then runs in this process as an operator runs it: on a
terminal 100 columns wide, in colour. Its output, escape codes and all, is replayed into a
recording ``rich`` console and exported as SVG (``Console.export_svg``).
"""

from __future__ import annotations

import argparse
import io
import os
import sys
import tempfile
import urllib.request
from pathlib import Path

from rich.console import Console
from rich.text import Text

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "docs" / "terminal-plan.svg"
#: The command shown (after ``--endpoint-url``, which the demo's environment sets).
COMMAND = ["update", "--trail", "org-trail", "--key", "alias/cloudtrail-good", "--dry-run"]
WIDTH = 100
PORT = 45123
SEED = 13


class _Terminal(io.StringIO):
    """What the command writes to: a terminal, as far as it can tell."""

    def isatty(self) -> bool:
        return True


def render(port: int = PORT, width: int = WIDTH) -> str:
    """Run :data:`COMMAND` against a freshly seeded demo and return the SVG of its output.

    Parameters
    ----------
    port
        The demo server's port (``0``: a free one; the endpoint is part of the picture).
    width
        Terminal columns.
    """
    from trailkit.demo import PLACEHOLDER_CREDENTIAL, DemoServer, seed_demo
    from trailkit.ui.cli import main

    server = DemoServer(port).start()
    saved = dict(os.environ)
    try:
        request = urllib.request.Request(f"{server.endpoint}/moto-api/seed?a={SEED}", b"")
        with urllib.request.urlopen(request, timeout=10):  # same key ids on every run
            pass
        seed_demo(server.connection())
        with tempfile.TemporaryDirectory(prefix="trailkit-plan-") as tmp:
            for name in ("NO_COLOR", "FORCE_COLOR", "AWS_PROFILE"):
                os.environ.pop(name, None)
            os.environ.update(
                {
                    "COLUMNS": str(width),
                    "TERM": "xterm-256color",
                    "AWS_ACCESS_KEY_ID": PLACEHOLDER_CREDENTIAL,
                    "AWS_SECRET_ACCESS_KEY": PLACEHOLDER_CREDENTIAL,
                    "TRAILKIT_JOURNAL": str(Path(tmp) / "journal.jsonl"),
                }
            )
            out = _Terminal()
            code = main(["--endpoint-url", server.endpoint, *COMMAND], out=out, err=io.StringIO())
            if code != 0:
                raise SystemExit(f"trailkit {' '.join(COMMAND)} exited {code}:\n{out.getvalue()}")
    finally:
        os.environ.clear()
        os.environ.update(saved)
        server.stop()
    console = Console(
        record=True,
        width=width,
        file=io.StringIO(),
        force_terminal=True,
        color_system="standard",
        highlight=False,
        markup=False,
        emoji=False,
        legacy_windows=False,
    )
    console.print(Text(f"$ trailkit {' '.join(COMMAND)}", style="bold"))
    console.print(Text.from_ansi(out.getvalue().rstrip("\n")))
    return console.export_svg(title=f"trailkit {' '.join(COMMAND)}", unique_id="terminal-plan")


def main(argv: list[str] | None = None) -> int:
    """Write the SVG; exit 0."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=OUT, help=f"default: {OUT.relative_to(ROOT)}")
    parser.add_argument("--port", type=int, default=PORT, help=f"demo port (default {PORT})")
    args = parser.parse_args(argv)
    svg = render(args.port)
    args.out.write_text(svg, encoding="utf-8")
    print(f"wrote {args.out} ({len(svg)} characters)", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
