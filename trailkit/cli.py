"""The ``trailkit`` command line.

Exit codes: 0 success (or nothing to do); 1 the answer is "no" (blocking findings, a refused
change, or a partial inventory); 2 usage errors and AWS errors (no credentials, access denied,
unreachable endpoint). Expected failures print one message on stderr, never a traceback.
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, TextIO

from trailkit import __version__
from trailkit.errors import TrailkitError

__all__ = ["main"]

EXIT_OK, EXIT_NO, EXIT_ERROR = 0, 1, 2


class _Parser(argparse.ArgumentParser):
    """argparse with the usage message and exit code 2 for every usage error."""

    def error(self, message: str) -> Any:
        self.print_usage(sys.stderr)
        self.exit(EXIT_ERROR, f"{self.prog}: error: {message}\n")


def _regions(text: str) -> list[str]:
    regions = [r.strip() for r in text.split(",") if r.strip()]
    if not regions:
        raise argparse.ArgumentTypeError("give at least one region, e.g. us-east-1,eu-west-1")
    return regions


def _positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < 1:
        raise argparse.ArgumentTypeError("must be at least 1")
    return value


def _port(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a port number") from None
    if not 0 <= value <= 65535:
        raise argparse.ArgumentTypeError("a port is between 0 and 65535")
    return value


def build_parser() -> argparse.ArgumentParser:
    """The argument parser (exposed for tests and documentation)."""
    common = argparse.ArgumentParser(add_help=False)
    g = common.add_argument_group("connection")
    g.add_argument("--profile", default=argparse.SUPPRESS, help="AWS profile name")
    g.add_argument(
        "--region", default=argparse.SUPPRESS, help="region for global calls (default: profile's)"
    )
    g.add_argument(
        "--endpoint-url",
        default=argparse.SUPPRESS,
        help="one endpoint for every service, e.g. the demo's (default: $AWS_ENDPOINT_URL)",
    )
    g.add_argument(
        "--retry-mode",
        choices=["standard", "adaptive"],
        default=argparse.SUPPRESS,
        help="botocore retry mode (default: standard)",
    )
    g.add_argument(
        "--workers", type=_positive, default=argparse.SUPPRESS, help="concurrent AWS calls"
    )
    g.add_argument(
        "-v",
        "--verbose",
        action="store_true",
        default=argparse.SUPPRESS,
        help="also print the API calls made, by operation",
    )

    parser = _Parser(
        prog="trailkit",
        description="See, check and safely change the KMS encryption of CloudTrail trails.",
        parents=[common],
    )
    parser.add_argument("--version", action="version", version=f"trailkit {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    sub.required = True

    p = sub.add_parser(
        "inventory", parents=[common], help="every trail with its encryption and key"
    )
    p.add_argument("--format", choices=["table", "json", "csv"], default="table")
    p.add_argument("--regions", type=_regions, help="comma-separated regions (default: all)")
    p.set_defaults(func=cmd_inventory)

    p = sub.add_parser("demo", help="run the embedded demo AWS (local moto server)")
    p.add_argument("--port", type=_port, default=0, help="port on 127.0.0.1 (default: free)")
    p.set_defaults(func=cmd_demo)

    p = sub.add_parser("lab", help="JupyterLab on the demo estate (or real AWS with --aws)")
    p.add_argument("--aws", action="store_true", help="use real AWS instead of the demo")
    p.add_argument("--profile", dest="lab_profile", help="AWS profile (with --aws)")
    p.add_argument("--port", type=_port, default=8888, help="JupyterLab port (default 8888)")
    p.add_argument("--demo-port", type=_port, default=0, help="demo server port (default: free)")
    p.add_argument("--notebook-dir", type=Path, help="notebooks folder (default: notebooks/)")
    p.add_argument("--browser", action="store_true", help="open a browser")
    p.set_defaults(func=cmd_lab)

    for extra in _EXTRA_COMMANDS:
        extra(sub, common)
    return parser


#: Other modules add their sub-commands here (kept as a list so the parser stays one place).
_EXTRA_COMMANDS: list[Callable[[Any, argparse.ArgumentParser], None]] = []


def _connect(args: argparse.Namespace) -> Any:
    from trailkit.session import connect

    return connect(
        profile=getattr(args, "profile", None),
        region=getattr(args, "region", None),
        endpoint_url=getattr(args, "endpoint_url", None),
        retry_mode=getattr(args, "retry_mode", "standard"),
        workers=getattr(args, "workers", 16),
    )


def _print_calls(conn: Any, err: TextIO) -> None:
    calls = dict(sorted(conn.calls.items()))
    total = sum(calls.values())
    err.write(f"API calls: {total}\n")
    for op, n in calls.items():
        err.write(f"  {op:<40} {n}\n")


def write_records(
    rows: list[dict[str, Any]], fmt: str, out: TextIO, columns: Sequence[str]
) -> None:
    """Print records as an aligned table, JSON, or CSV."""
    if fmt == "json":
        json.dump(rows, out, indent=2, default=str)
        out.write("\n")
        return
    if fmt == "csv":
        buf = io.StringIO()
        writer = csv.DictWriter(buf, fieldnames=list(columns), extrasaction="ignore")
        writer.writeheader()
        writer.writerows(rows)
        out.write(buf.getvalue())
        return
    import pandas as pd

    if not rows:
        out.write("(nothing)\n")
        return
    frame = pd.DataFrame(rows, columns=list(columns)).fillna("-")
    with pd.option_context("display.width", 250, "display.max_columns", None):
        out.write(frame.to_string(index=False))
        out.write("\n")


def cmd_inventory(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    """``trailkit inventory``."""
    from trailkit.inventory import scan
    from trailkit.tables import KEY_COLUMNS, TRAIL_COLUMNS, inventory_records, keys_frame

    conn = _connect(args)
    inv = scan(conn, args.regions, progress=err.isatty())
    rows = inventory_records(inv)
    if args.format == "table":
        out.write(inv.connection.header() + "\n")
        out.write(f"regions scanned: {len(inv.regions)} · trails: {len(inv.trails)}\n\n")
        short = [c for c in TRAIL_COLUMNS if c not in ("trail_arn", "key_arn", "account")]
        write_records(rows, "table", out, short)
        keys = keys_frame(inv)
        if len(keys):
            out.write("\nKeys in use:\n")
            write_records(keys.to_dict("records"), "table", out, KEY_COLUMNS)
    else:
        columns = TRAIL_COLUMNS
        write_records(rows, args.format, out, columns)
    for e in inv.errors:
        err.write(f"warning: {e.message}\n")
    if getattr(args, "verbose", False):
        _print_calls(conn, err)
    if inv.partial:
        err.write(
            f"PARTIAL RESULT: {len(inv.errors)} region(s) or call(s) failed; "
            "the table may be incomplete.\n"
        )
        return EXIT_NO
    return EXIT_OK


def cmd_demo(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    """``trailkit demo``."""
    from trailkit.demo import run_demo

    return run_demo(args.port, out=out)


def cmd_lab(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    """``trailkit lab``."""
    from trailkit.demo import run_lab

    return run_lab(
        aws=args.aws,
        profile=args.lab_profile or getattr(args, "profile", None),
        demo_port=args.demo_port,
        port=args.port,
        notebook_dir=args.notebook_dir,
        open_browser=args.browser,
        out=out,
    )


def main(
    argv: Sequence[str] | None = None, out: TextIO | None = None, err: TextIO | None = None
) -> int:
    """Run the command line; returns the exit code (also the console script's entry point)."""
    out = out or sys.stdout
    err = err or sys.stderr
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:
        return int(exc.code) if isinstance(exc.code, int) else EXIT_ERROR
    try:
        return int(args.func(args, out, err))
    except TrailkitError as exc:
        err.write(f"trailkit: {exc}\n")
        return EXIT_ERROR
    except KeyboardInterrupt:
        err.write("trailkit: interrupted\n")
        return 130
    except BrokenPipeError:
        return EXIT_OK
