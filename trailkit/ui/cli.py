"""The ``trailkit`` command line.

Exit codes: 0 success (or nothing to do); 1 the answer is "no" (blocking findings, a refused
change, or a partial inventory); 2 usage errors and AWS errors (no credentials, access denied,
unreachable endpoint). Expected failures print one message on stderr, never a traceback.
"""

from __future__ import annotations

import argparse
import contextlib
import csv
import io
import json
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO, cast

from trailkit import __version__
from trailkit.errors import RefusedError, TrailkitError, UnverifiableError

if TYPE_CHECKING:
    from trailkit.records import Trail

__all__ = ["main"]

EXIT_OK, EXIT_NO, EXIT_ERROR = 0, 1, 2
#: ``trailkit check``: some rule could not be checked (never read as "go ahead").
EXIT_UNVERIFIABLE = 3
#: ``trailkit journal``: the newest changes shown in the table (rich lays out a few hundred rows
#: a second; ``--all`` prints every change one line each, ``--format json`` every field).
JOURNAL_ROWS = 50
#: ``trailkit journal --all``: the fields of each line.
JOURNAL_COLUMNS = (
    "change_id",
    "time",
    "kind",
    "status",
    "target_arn",
    "before",
    "after",
    "rollback_of",
    "undone_by",
    "backend",
    "endpoint",
    "account",
)


class _Parser(argparse.ArgumentParser):
    """argparse with the usage message and exit code 2 for every usage error."""

    def error(self, message: str) -> Any:
        self.print_usage(sys.stderr)
        self.exit(EXIT_ERROR, f"{self.prog}: error: {message}\n")


def _regions(text: str) -> list[str]:
    """``--regions``: comma-separated region names, each shaped like one (``us-east-1``).

    A name that cannot be a region (``US-EAST-1``, ``useast1``) is a usage error: scanned, it
    would only come back as a failed region and a partial result.
    """
    from trailkit.arn import is_region

    regions = [r.strip() for r in text.split(",") if r.strip()]
    if not regions:
        raise argparse.ArgumentTypeError("give at least one region, e.g. us-east-1,eu-west-1")
    bad = [r for r in regions if not is_region(r)]
    if bad:
        hint = f" (did you mean {bad[0].lower()}?)" if is_region(bad[0].lower()) else ""
        raise argparse.ArgumentTypeError(
            f"{', '.join(map(repr, bad))} is not a region name{hint}; give names such as "
            "us-east-1,eu-west-1"
        )
    return regions


def _endpoint_url(text: str) -> str:
    """``--endpoint-url``: given, it must say something (an empty value is not "the default")."""
    if not text.strip():
        from trailkit.errors import InputError

        raise InputError(
            f"--endpoint-url {text!r} is empty.",
            "give http(s)://HOST[:PORT] (e.g. the demo's), or leave the option out to use "
            "$AWS_ENDPOINT_URL or AWS itself",
        )
    return text


def _reader_account(text: str) -> str:
    """``--reader-account``: a 12-digit account id.

    A bad value raises :class:`~trailkit.errors.InputError`, which argparse does not catch
    (it catches only ``ArgumentTypeError``, ``TypeError`` and ``ValueError``): the command line
    prints its one line naming the option and the fix, not argparse's usage message.
    """
    from trailkit.rules.principals import parse_account

    return parse_account(text, "--reader-account")


def _workers(text: str) -> int:
    """``--workers``: 1 to ``MAX_WORKERS`` concurrent calls (the same bound as ``Connection``)."""
    from trailkit.aws.session import MAX_WORKERS

    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if not 1 <= value <= MAX_WORKERS:
        raise argparse.ArgumentTypeError(f"must be between 1 and {MAX_WORKERS}, not {value}")
    return value


def _journal_path(text: str) -> Path:
    """``--journal``: a path; empty or blank text is not one (``Path("")`` would be ``.``)."""
    if not text.strip():
        raise argparse.ArgumentTypeError(
            "The journal path is empty: give a file path, or leave --journal out for the default"
        )
    return Path(text)


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
    common = _Parser(add_help=False)
    g = common.add_argument_group("connection")
    g.add_argument("--profile", default=argparse.SUPPRESS, help="AWS profile name")
    g.add_argument(
        "--region", default=argparse.SUPPRESS, help="region for global calls (default: profile's)"
    )
    g.add_argument(
        "--endpoint-url",
        type=_endpoint_url,
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
        "--workers",
        type=_workers,
        default=argparse.SUPPRESS,
        help="concurrent AWS calls, 1-64 (default 32)",
    )
    g.add_argument(
        "--lang",
        choices=["ja", "en"],
        type=str.lower,
        default=argparse.SUPPRESS,
        help="language of the output: ja or en (default: $TRAILKIT_LANG, else the locale)",
    )
    g.add_argument(
        "-v",
        "--verbose",
        action="store_true",
        default=argparse.SUPPRESS,
        help="also print the API calls made, by operation",
    )

    readers = _Parser(add_help=False)
    readers.add_argument(
        "--reader-account",
        dest="reader_accounts",
        action="append",
        default=[],
        type=_reader_account,
        metavar="ACCOUNT",
        help=(
            "also check that principals of this account can decrypt the logs (repeatable; a "
            "12-digit account id, e.g. the log-archive account). The trail's account and the "
            "bucket owner's are always checked"
        ),
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

    p = sub.add_parser(
        "check",
        parents=[common, readers],
        help="will this key work for this trail? (changes nothing)",
        description="Pre-flight: every rule AWS applies when the trail is switched to the key. "
        "Exit status: 0 ready, 1 blocked, 3 unverifiable (some rule could not be checked), "
        "2 trailkit could not run the check (bad input, no connection).",
    )
    p.add_argument("--trail", required=True, help="trail name or ARN")
    p.add_argument(
        "--key",
        required=True,
        help="key id, key ARN, alias name or alias ARN (to preview SSE-S3: disable --dry-run)",
    )
    p.add_argument("--format", choices=["table", "json"], default="table")
    p.set_defaults(func=cmd_check)

    p = sub.add_parser(
        "keys", parents=[common, readers], help="rank every candidate key for a trail: ready first"
    )
    p.add_argument("--trail", required=True, help="trail name or ARN")
    p.add_argument("--format", choices=["table", "json", "csv"], default="table")
    p.set_defaults(func=cmd_keys)

    change = _Parser(add_help=False)
    cg = change.add_argument_group("change")
    cg.add_argument("--dry-run", action="store_true", help="show the plan, send nothing")
    cg.add_argument("--yes", action="store_true", help="confirm without asking")
    cg.add_argument(
        "--journal",
        type=_journal_path,
        help="journal file (default: $TRAILKIT_JOURNAL or the user data dir)",
    )
    cg.add_argument("--format", choices=["table", "json"], default="table")
    accept = _Parser(add_help=False)
    accept.add_argument_group("unverifiable plans").add_argument(
        "--accept-unverifiable",
        action="store_true",
        help="send a plan whose verdict is UNVERIFIABLE (a rule trailkit could not check, e.g. "
        "another account's key or bucket): only after its owner confirmed what trailkit could "
        "not; without it such a plan is refused (exit 3)",
    )

    p = sub.add_parser(
        "update",
        parents=[common, change, readers, accept],
        help="switch a trail to a key (plan, confirm, apply)",
    )
    p.add_argument(
        "--trail",
        required=True,
        action="append",
        help="trail name or ARN (repeat for several trails)",
    )
    p.add_argument("--key", required=True, help="key id, key ARN, alias name or alias ARN")
    p.set_defaults(func=cmd_update)

    p = sub.add_parser("disable", parents=[common, change, accept], help="return a trail to SSE-S3")
    p.add_argument("--trail", required=True, action="append", help="trail name or ARN")
    p.set_defaults(func=cmd_disable)

    p = sub.add_parser(
        "rollback",
        parents=[common, change, accept],
        help="restore the state before a recorded change",
    )
    which = p.add_mutually_exclusive_group(required=True)
    which.add_argument("--change", help="change id from `trailkit journal`")
    which.add_argument("--last", action="store_true", help="the most recent completed change")
    p.set_defaults(func=cmd_rollback)

    p = sub.add_parser("journal", parents=[common], help="the recorded changes")
    p.add_argument("--journal", type=_journal_path, help="journal file")
    p.add_argument(
        "--reconcile", action="store_true", help="settle intents without an outcome by reading AWS"
    )
    p.add_argument("--format", choices=["table", "json"], default="table")
    p.add_argument(
        "--all",
        action="store_true",
        help=f"every change, one line each, values whole (default: the newest {JOURNAL_ROWS} "
        "in a table that fits the terminal)",
    )
    p.set_defaults(func=cmd_journal)

    p = sub.add_parser(
        "policy", parents=[common, change], help="add-only repair of a key policy for trails"
    )
    p.add_argument("--trail", action="append", default=[], help="trail name or ARN (repeatable)")
    p.add_argument("--key", help="the key whose policy to repair")
    p.add_argument(
        "--readers",
        action="append",
        default=[],
        metavar="PRINCIPAL",
        help=(
            "also let this principal decrypt the logs (repeatable): a 12-digit account id or "
            "an IAM role, user or root ARN, no wildcards"
        ),
    )
    p.add_argument("--apply", action="store_true", help="send the repaired policy")
    p.add_argument(
        "--restore",
        metavar="CHANGE_ID",
        nargs="?",
        const="last",
        help="put back the policy recorded before a policy change (default: last; shows the "
        "diff from the current policy first)",
    )
    p.set_defaults(func=cmd_policy)

    p = sub.add_parser(
        "app", help="the guided update as a standalone web app (Voila, 127.0.0.1, behind a token)"
    )
    p.add_argument("--aws", action="store_true", help="use real AWS instead of the demo")
    p.add_argument("--profile", dest="lab_profile", help="AWS profile (with --aws)")
    p.add_argument("--port", type=_port, default=8866, help="app port (default 8866)")
    p.add_argument("--demo-port", type=_port, default=0, help="demo server port (default: free)")
    p.set_defaults(func=cmd_app)
    return parser


#: The sub-commands that change AWS: each has ``--dry-run`` (a test checks the parser).
WRITE_COMMANDS = ("update", "disable", "rollback", "policy")


def _connect(args: argparse.Namespace) -> Any:
    from trailkit.aws.session import connect

    return connect(
        profile=getattr(args, "profile", None),
        region=getattr(args, "region", None),
        endpoint_url=getattr(args, "endpoint_url", None),
        retry_mode=getattr(args, "retry_mode", "standard"),
        workers=getattr(args, "workers", 32),
    )


def _runbook(args: argparse.Namespace) -> Any:
    """The use cases on this command's connection and journal (nothing is read yet)."""
    from trailkit.runbook import Runbook

    # A dry run's Runbook refuses every write itself, whatever the command goes on to do.
    return Runbook(
        _connect(args),
        _journal(args),
        dry_run=bool(getattr(args, "dry_run", False)),
        reader_accounts=getattr(args, "reader_accounts", None),
    )


def _require_key(key: str) -> str:
    """An empty or blank ``--key`` is a usage error (exit 2), checked before connecting."""
    from trailkit.runbook import require_key

    return require_key(key)


def _n(n: int, one: str, many: str | None = None) -> str:
    """``n`` and the noun in the right number: ``1 region``, ``2 calls``."""
    return f"{n} {one if n == 1 else many or one + 's'}"


def _failed_calls(errors: Sequence[Any]) -> str:
    """What failed in a partial inventory, as the notebooks say it: ``1 call``, ``2 calls in
    1 region`` (each error is a call; those of a region that could not be scanned name it)."""
    regions = {e.region for e in errors if getattr(e, "region", None)}
    where = f" in {_n(len(regions), 'region')}" if regions else ""
    return f"{_n(len(errors), 'call')}{where}"


def _print_calls(conn: Any, err: TextIO) -> None:
    calls = dict(sorted(conn.calls.items()))
    total = sum(calls.values())
    err.write(f"API calls: {total}\n")
    for op, n in calls.items():
        err.write(f"  {op:<40} {n}\n")


def write_records(
    rows: list[dict[str, Any]], fmt: str, out: TextIO, columns: Sequence[str]
) -> None:
    """Print records as JSON, CSV (every value whole), or a table fitted to the terminal."""
    if fmt == "json":
        _json_out(rows, out, indent=2, default=str)
        out.write("\n")
        return
    if fmt == "csv":
        buf = io.StringIO()
        writer = csv.DictWriter(buf, fieldnames=list(columns), extrasaction="ignore")
        writer.writeheader()
        writer.writerows(rows)
        out.write(buf.getvalue())
        return
    from trailkit.ui.terminal import Col

    _print_table(rows, out, [Col(c) for c in columns])


def _print_table(rows: Sequence[dict[str, Any]], out: TextIO, columns: Sequence[Any]) -> None:
    """``rows`` as a rich table of ``columns`` (:class:`trailkit.ui.terminal.Col`)."""
    from trailkit.ui.terminal import records_table

    if not rows:
        out.write("(nothing)\n")
        return
    _print(out, records_table(rows, columns))


def _print(out: TextIO, *renderables: Any) -> None:
    """rich renderables, fitted to the terminal's width, coloured only on a terminal."""
    from trailkit.ui.terminal import console_for, emit

    emit(console_for(out), *renderables)


def _say(out: TextIO, text: str) -> None:
    """One line of text, wrapped at the terminal's width."""
    from rich.text import Text

    _print(out, Text(text))


def _print_header(info: Any, out: TextIO) -> None:
    """The connection header (backend, account, endpoint, region, caller) fitted to the width."""
    from trailkit.ui.terminal import header_text, terminal_width

    _print(out, header_text(info, terminal_width(out)))


def _write_marks() -> tuple[int, int]:
    """How many changes this process had interrupted and started before this command: an
    interrupt speaks only of the command's own (``main`` may run many times in one process)."""
    journal = sys.modules.get("trailkit.change.journal")
    if journal is None:
        return 0, 0
    return len(journal.interrupted_changes()), len(journal.started_changes())


def _interrupted(marks: tuple[int, int]) -> str:
    """What an interrupt means: nothing, a change that may have been applied, or one that was."""
    journal = sys.modules.get("trailkit.change.journal")  # imported only if a write began
    if journal is None:
        return "trailkit: interrupted"
    flying = journal.interrupted_changes()[marks[0] :]
    if flying:
        return (
            f"trailkit: interrupted while change {flying[-1]} was being sent: it may have been "
            "applied (its intent is in the journal, its outcome is not). Fix: run `trailkit "
            "journal --reconcile` to settle it from what AWS now holds, before anything else."
        )
    started = journal.started_changes()[marks[1] :]
    if not started:
        return "trailkit: interrupted"
    path, change_id = started[-1]
    try:
        status = journal.Journal(path).get(change_id).status
    except TrailkitError:
        status = "pending"
    if status == "pending":
        return (
            f"trailkit: interrupted after change {change_id} was journaled and before its "
            "outcome: it may or may not have been sent. Fix: run `trailkit journal --reconcile` "
            "to settle it from what AWS now holds, before anything else."
        )
    return (
        f"trailkit: interrupted after change {change_id} had its outcome: the journal records "
        f"it as {status} (`trailkit journal`)."
    )


def _json_out(value: Any, out: TextIO, **kw: Any) -> None:
    """``json.dump`` as one write: ``json.dump`` writes each token on its own (3.4 million
    writes for a 50,000-change journal, 8-11 s through the pipe-safe wrapper; now well under
    a second)."""
    out.write(json.dumps(value, **kw))


def _write_plain_table(rows: list[dict[str, Any]], out: TextIO, columns: Sequence[str]) -> None:
    """An aligned text table written line by line (no pandas: a journal may have 100,000 rows).

    None is shown as ``-``; columns are left-aligned and separated by two spaces.
    """
    if not rows:
        out.write("(nothing)\n")
        return
    # Cells are built once and formatted with one format string: 100,000 rows in well under 1 s.
    cells = [["-" if v is None else str(v) for v in map(row.get, columns)] for row in rows]
    by_column = zip(*cells, strict=True)
    widths = [max(len(name), *map(len, col)) for name, col in zip(columns, by_column, strict=True)]
    fmt = "  ".join(f"{{:<{w}}}" for w in widths[:-1]) + ("  {}" if len(columns) > 1 else "{}")
    out.write(fmt.format(*columns).rstrip() + "\n")
    for start in range(0, len(cells), 5000):
        chunk = cells[start : start + 5000]
        out.write("".join(fmt.format(*row).rstrip() + "\n" for row in chunk))


def cmd_inventory(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    """``trailkit inventory``."""
    from trailkit.ui.progress import scan
    from trailkit.ui.tables import TRAIL_COLUMNS, inventory_records, keys_frame

    conn = _connect(args)
    inv = scan(conn, args.regions, progress=err.isatty())
    rows = inventory_records(inv)
    if args.format == "table":
        from trailkit.ui.terminal import KEY_TABLE, TRAIL_TABLE, key_rows, trail_rows

        _print_header(inv.connection, out)
        _say(out, f"regions scanned: {len(inv.regions)} · trails: {len(inv.trails)}\n")
        _print_table(trail_rows(rows), out, TRAIL_TABLE)
        keys = keys_frame(inv)
        if len(keys):
            out.write("\nKeys in use:\n")
            _print_table(key_rows(keys.to_dict("records")), out, KEY_TABLE)
    else:
        write_records(rows, args.format, out, TRAIL_COLUMNS)
    for e in inv.errors:
        err.write(f"warning: {e.message}\n")
    if getattr(args, "verbose", False):
        _print_calls(conn, err)
    if inv.partial:
        err.write(
            f"PARTIAL RESULT: {_failed_calls(inv.errors)} failed; the table may be incomplete.\n"
        )
        return EXIT_NO
    return EXIT_OK


def _bucket_where(trail: Trail) -> str:
    """``in REGION``, ``(does not exist)`` or ``(region unknown)`` for a trail's bucket."""
    bucket = trail.bucket
    if bucket is not None and bucket.missing:
        return "(does not exist)"
    return f"in {trail.bucket_region}" if trail.bucket_region else "(region unknown)"


def cmd_check(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    """``trailkit check``: exit 0 ready, 1 blocked, 3 unverifiable (2: trailkit's own errors).

    A script that gates on the exit code must not proceed on an unverifiable key, so
    unverifiable has a code of its own, distinct from ready.
    """
    _require_key(args.key)
    book = _runbook(args)
    conn = book.conn
    report = book.check(args.trail, args.key)
    if args.format == "json":
        _json_out(report.as_dict(), out, indent=2)
        out.write("\n")
    else:
        from trailkit.ui.terminal import check_view

        _print_header(conn.info(), out)
        _print(out, check_view(report))
    if getattr(args, "verbose", False):
        _print_calls(conn, err)
    if report.errors:
        return EXIT_NO
    return EXIT_UNVERIFIABLE if report.unverifiable else EXIT_OK


def cmd_keys(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    """``trailkit keys``: every candidate key of the bucket's region, ranked.

    Exit codes as for ``check``, for the best key: 0 a ready key exists, 1 none (every key is
    blocked, there is none, or the bucket does not exist), 3 none is ready but one is
    unverifiable, or the bucket's region (so the list of keys) is unknown; 2 trailkit's own
    errors (usage, connection).
    """
    from trailkit.rules.checks import VerdictKind

    book = _runbook(args)
    conn = book.conn
    trail = book.find_trail(args.trail)
    try:
        verdicts = book.rank(trail)  # UnverifiableError: exit 3 (_main)
    except RefusedError as exc:  # the bucket does not exist: no key can be used
        err.write(f"trailkit: blocked: {exc}\n")
        return EXIT_NO
    if args.format != "table":
        rows = [v.as_dict() for v in verdicts]
        columns = ["verdict", "alias", "code", "reason", "warnings", "key_arn"]
        if args.format != "json":  # one cell: "policy-readers, digest-files"
            rows = [{**row, "warnings": ", ".join(row["warnings"]) or None} for row in rows]
        write_records(rows, args.format, out, columns)
    else:
        from trailkit.ui.terminal import CANDIDATE_TABLE, candidate_rows

        _print_header(conn.info(), out)
        where = trail.bucket_region or _bucket_where(trail)
        _say(out, f"trail: {trail.name} · bucket region: {where}\n")
        _print_table(candidate_rows(verdicts), out, CANDIDATE_TABLE)
    if getattr(args, "verbose", False):
        _print_calls(conn, err)
    kinds = {v.kind for v in verdicts}
    if VerdictKind.READY in kinds:
        return EXIT_OK
    return EXIT_UNVERIFIABLE if VerdictKind.UNVERIFIABLE in kinds else EXIT_NO


def _journal(args: argparse.Namespace) -> Any:
    """``--journal``, else ``$TRAILKIT_JOURNAL``, else the real journal, or on a loopback
    endpoint (the demo) the demo's own journal, so demo changes never mix with real ones."""
    from trailkit.change.journal import Journal, default_path

    given = getattr(args, "journal", None)
    if given is not None:
        return Journal(given)
    from trailkit.aws.session import is_local_endpoint  # imports boto3: only when needed

    endpoint = getattr(args, "endpoint_url", None) or os.environ.get("AWS_ENDPOINT_URL")
    return Journal(default_path(demo=is_local_endpoint(endpoint)))


def _report_unjournaled(results: Sequence[Any], err: TextIO) -> bool:
    """Print each outcome the journal could not take as one JSON line on stderr."""
    missing = [r for r in results if getattr(r, "unjournaled", None)]
    for r in missing:
        err.write(
            f"trailkit: the journal could not record the outcome of change {r.change_id}; "
            "the outcome record follows (keep it):\n"
        )
        err.write(r.unjournaled + "\n")
    return bool(missing)


def _confirm(args: argparse.Namespace, conn: Any, what: str, names: list[str], err: TextIO) -> bool:
    """--yes, or a question on a terminal; no terminal and no --yes is a usage error."""
    from trailkit.errors import InputError

    if args.yes:
        return True
    if not sys.stdin.isatty():
        raise InputError(
            f"Refusing to {what} without confirmation: there is no terminal to ask on.",
            "review the plan with --dry-run, then run again with --yes",
        )
    info = conn.info()
    if info.demo:
        err.write(f"{what} on the DEMO backend? Type 'yes' to confirm: ")
        err.flush()
        return sys.stdin.readline().strip() == "yes"
    err.write(
        f"REAL AWS account {info.account}: type the trail name ({', '.join(names)}) to {what}: "
    )
    err.flush()
    return sys.stdin.readline().strip() in (", ".join(names), *names[:1])


def _aliases(book: Any, plans: list[Any]) -> dict[str, str]:
    """Key ARN -> alias of the keys the plans' trails use now (the plan's report knows only
    the target key), so a plan names both sides by alias. Only the caller's own account's
    aliases can be listed; a key whose aliases cannot be read keeps its short id."""
    from trailkit.arn import arn_account, arn_region

    caller = book.conn.info().account
    found: dict[str, str] = {}
    for plan in plans:
        arn = plan.before_key
        key = plan.report.key
        if not arn or (key is not None and key.arn == arn) or arn_account(arn) != caller:
            continue
        try:
            names = book.reader.aliases(arn_region(arn)).get(arn.rsplit("/", 1)[-1], ())
        except TrailkitError:
            continue
        if names:
            found[arn] = names[0]
    return found


def _show_plans(plans: list[Any], args: argparse.Namespace, book: Any, out: TextIO) -> None:
    if args.format == "json":
        return
    from trailkit.ui.terminal import plan_view

    _print_header(book.conn.info(), out)
    aliases = _aliases(book, plans)
    for number, plan in enumerate(plans, 1):
        out.write("\n")
        _print(out, plan_view(plan, number=number, of=len(plans), aliases=aliases))


def _run_plans(
    plans: list[Any], args: argparse.Namespace, book: Any, out: TextIO, err: TextIO
) -> int:
    """Preview, confirm and send ``plans`` (one per trail: a trail named twice, e.g. by name and
    by ARN, is planned once); with ``--verbose`` the API calls made are printed, so a dry run
    shows that no ``UpdateTrail`` was sent."""
    seen: set[str] = set()
    distinct = []
    for plan in plans:
        if plan.trail.arn not in seen:
            seen.add(plan.trail.arn)
            distinct.append(plan)
    try:
        return _send_plans(distinct, args, book, out, err)
    finally:
        if getattr(args, "verbose", False):
            _print_calls(book.conn, err)


def _send_plans(
    plans: list[Any], args: argparse.Namespace, book: Any, out: TextIO, err: TextIO
) -> int:
    from trailkit.records import Outcome
    from trailkit.rules.checks import UNVERIFIED_CODES

    conn = book.conn
    _show_plans(plans, args, book, out)
    blocked = [p for p in plans if p.blocked]
    todo = [p for p in plans if not p.blocked and not p.nothing_to_do]
    if args.format == "json" and (args.dry_run or blocked or not todo):
        _json_out({"plans": [p.as_dict() for p in plans], "results": []}, out, indent=2)
        out.write("\n")
    for p in blocked:
        err.write(
            f"refused: {p.trail.name}: blocking findings "
            f"({', '.join(f.code for f in p.report.errors)}); nothing will be sent\n"
        )
    if blocked:
        others = [p.trail.name for p in todo]
        if others:
            err.write(
                f"Nothing was sent to {', '.join(others)} either: a change to several trails is "
                "sent whole or not at all. Fix the blocked trails, or leave them out.\n"
            )
        return EXIT_NO
    if not todo:
        if args.format != "json":
            out.write("\nNothing to do: every trail already is in the requested state.\n")
        return EXIT_OK
    unverified = [p for p in todo if p.report.unverifiable]
    accepted = getattr(args, "accept_unverifiable", False) is True
    for p in unverified:
        codes = ", ".join(f.code for f in p.report.findings if f.code in UNVERIFIED_CODES)
        err.write(
            f"{'warning' if accepted else 'refused'}: {p.trail.name}: UNVERIFIABLE ({codes}): "
            "trailkit could not check everything AWS will; "
            + (
                "sending anyway (--accept-unverifiable)\n"
                if accepted
                else "nothing will be sent without --accept-unverifiable, given once the key's "
                "and the bucket's owners confirmed what could not be checked\n"
            )
        )
    if args.dry_run:
        if args.format != "json":
            out.write("\nDry run: nothing was sent.\n")
        return EXIT_UNVERIFIABLE if unverified and not accepted else EXIT_OK
    if unverified and not accepted:
        return EXIT_UNVERIFIABLE
    names = [p.trail.name for p in todo]
    what = "apply this UNVERIFIABLE change" if unverified else "apply this change"
    if not _confirm(args, conn, what, names, err):
        err.write("Not confirmed: nothing was sent.\n")
        return EXIT_NO
    journal = book.journal
    results = book.apply_many(todo, confirmed=True)
    if args.format == "json":
        _json_out(
            {"plans": [p.as_dict() for p in plans], "results": [r.as_dict() for r in results]},
            out,
            indent=2,
        )
        out.write("\n")
    else:
        from trailkit.ui.terminal import results_view

        out.write("\n")
        _print(out, results_view(results, journal.path))
    outcomes = {r.outcome for r in results}
    if _report_unjournaled(results, err):
        return EXIT_ERROR
    if Outcome.UNKNOWN in outcomes:
        err.write("outcome unknown for some changes: run `trailkit journal --reconcile`\n")
    if outcomes & {Outcome.FAILED, Outcome.UNKNOWN}:
        return EXIT_ERROR
    if Outcome.REFUSED in outcomes:
        return EXIT_NO
    return EXIT_OK


def cmd_update(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    """``trailkit update``: an empty ``--key`` is refused (turning SSE-KMS off is ``disable``)."""
    _require_key(args.key)
    book = _runbook(args)
    return _plan_each(args, book, lambda t: book.plan_for(t, args.key), out, err)


def cmd_disable(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    """``trailkit disable``: the one command that returns trails to SSE-S3."""
    book = _runbook(args)
    return _plan_each(args, book, book.plan_disable, out, err)


def _plan_each(args: argparse.Namespace, book: Any, make: Any, out: TextIO, err: TextIO) -> int:
    """Plan every ``--trail``; when one cannot be planned (an unknown name, a key that cannot
    be found from its region), the others are still shown, each failure names its trail, and
    nothing is sent to any of them: a change to several trails is sent whole or not at all."""
    plans, failed = [], []
    for trail in args.trail:
        try:
            plans.append(make(trail))
        except TrailkitError as exc:
            if len(args.trail) == 1:
                raise
            failed.append((trail, exc))
    if not failed:
        return _run_plans(plans, args, book, out, err)
    if args.format == "json":
        payload = {
            "plans": [p.as_dict() for p in plans],
            "results": [],
            "errors": [{"trail": t, "message": str(e)} for t, e in failed],
        }
        _json_out(payload, out, indent=2)
        out.write("\n")
    elif plans:
        _show_plans(plans, args, book, out)
    for trail, problem in failed:
        err.write(f"trailkit: {trail}: cannot be planned: {problem}\n")
    planned = ", ".join(p.trail.name for p in plans)
    err.write(
        "Nothing was sent"
        + (f", to {planned} either" if planned else "")
        + ": a change to several trails is sent whole or not at all. Fix the trails named "
        "above, or leave them out.\n"
    )
    return EXIT_ERROR


def _warn_damage(journal: Any, err: TextIO) -> None:
    """The damaged-line warnings ``trailkit journal`` prints, for a command that read the journal
    to choose a change: a torn line may be a lost outcome, which leaves its change without one."""
    try:
        problems = journal.parsed_problems()
    except TrailkitError:  # unreadable: the command's own error says so
        return
    for problem in problems:
        err.write(f"warning: {journal.path}: {problem}\n")
    if problems:
        err.write(
            f"warning: {_n(len(problems), 'damaged line')} in the journal "
            f"{'was' if len(problems) == 1 else 'were'} skipped: "
            "`trailkit journal` lists them; a change whose outcome line was lost shows no "
            "outcome there, and `trailkit journal --reconcile` settles it from AWS\n"
        )


def _nothing_to_undo(exc: Any, args: argparse.Namespace, out: TextIO) -> int:
    """``--last`` found every change made here undone already: nothing to do, exit 0."""
    if args.format == "json":
        _json_out({"plans": [], "results": [], "message": exc.message}, out, indent=2)
        out.write("\n")
    else:
        out.write(f"{exc.message} {exc.fix[:1].upper()}{exc.fix[1:]}.\n")
    return EXIT_OK


def cmd_rollback(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    """``trailkit rollback``: ``--last`` with every change made here undone already exits 0
    (nothing to do); no journal, or a change without an outcome, is an error (exit 2)."""
    from trailkit.errors import NothingToUndo

    book = _runbook(args)
    try:
        plan = book.plan_rollback(None if args.last else args.change)
    except NothingToUndo as exc:
        _warn_damage(book.journal, err)
        return _nothing_to_undo(exc, args, out)
    except TrailkitError:
        _warn_damage(book.journal, err)
        raise
    _warn_damage(book.journal, err)
    return _run_plans([plan], args, book, out, err)


def cmd_journal(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    """``trailkit journal``."""
    from trailkit.records.journal import changes_frame, undone_by

    journal = _journal(args)
    named = getattr(args, "journal", None) is not None or bool(
        os.environ.get("TRAILKIT_JOURNAL", "").strip()
    )
    if named and not journal.path.exists():
        from trailkit.errors import JournalError

        raise JournalError(
            f"No journal at {journal.path}: nothing was recorded there.",
            "check the path given with --journal (or $TRAILKIT_JOURNAL); without either, "
            "`trailkit journal` shows the default journal",
        )
    if args.reconcile:
        from trailkit.runbook import Runbook  # boto3 only when AWS is read (0.3-0.6 s)

        skipped: list[str] = []
        book = Runbook(_connect(args), journal)
        settled = book.reconcile(
            on_skip=lambda change, why: skipped.append(f"left pending {change.change_id}: {why}\n")
        )
        for change, record in settled:
            err.write(f"reconciled {change.change_id}: {change.status} ({record.note})\n")
        for line in skipped:
            err.write(line)
        if not settled and not skipped:
            err.write("nothing to reconcile\n")
    result = journal.read()
    for problem in result.problems:
        err.write(f"warning: {journal.path}: {problem}\n")
    changes = journal.changes()
    if args.format == "json":
        _json_out(changes_frame(changes), out, indent=2, default=str)
        out.write("\n")
    elif args.all:
        from trailkit.ui.terminal import sse_s3_shown

        out.write(f"journal: {journal.path}\n")
        _write_plain_table(sse_s3_shown(changes_frame(changes)), out, JOURNAL_COLUMNS)
    else:
        from trailkit.ui.terminal import JOURNAL_TABLE, journal_rows

        _say(out, f"journal: {journal.path}")
        shown = changes[-JOURNAL_ROWS:]
        rows = changes_frame(shown, undone_by(changes))
        _print_table(journal_rows(rows), out, JOURNAL_TABLE)
        left_out = changes[: len(changes) - len(shown)]
        if left_out:
            unsettled = sum(1 for c in left_out if not c.settled)
            note = f" ({unsettled} of them without an outcome)" if unsettled else ""
            out.write("\n")
            _say(
                out,
                f"Showing the newest {len(shown)} of {len(changes)} changes: {len(left_out)} "
                f"older ones are not shown{note}. Every change: `trailkit journal --all` (one "
                "line each) or `--format json`.",
            )
    pending = [c for c in changes if not c.settled]
    if pending and not args.reconcile:
        has = "has" if len(pending) == 1 else "have"
        err.write(
            f"{_n(len(pending), 'change')} {has} no outcome: run `trailkit journal --reconcile`\n"
        )
    return EXIT_OK


def cmd_policy(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    """``trailkit policy``: show (and with --apply send) the add-only key policy repair."""
    from trailkit.errors import InputError
    from trailkit.records import Outcome
    from trailkit.rules.principals import parse_principals

    if args.restore is not None:
        given = [o for o, v in (("--trail", args.trail), ("--key", args.key)) if v]
        if given or args.readers or args.apply:
            extra = given + (["--readers"] if args.readers else []) + (["--apply"] * args.apply)
            raise InputError(
                f"--restore puts back a recorded policy; {' and '.join(extra)} would be ignored.",
                "give --restore [CHANGE_ID] alone (the change names its key), or repair with "
                "--trail and --key without --restore",
            )
        return _restore_policy(args, out, err)
    if args.key is not None:
        _require_key(args.key)
    if not args.trail or not args.key:
        raise InputError("policy needs --trail and --key (or --restore).", "see trailkit policy -h")
    parse_principals(args.readers)  # a bad --readers is a usage error, before any AWS call
    book = _runbook(args)
    conn = book.conn
    repair = book.plan_repair(args.trail, args.key, readers=args.readers)
    summary = {
        "key_arn": repair.key.arn,
        "trails": [t.arn for t in repair.trails],
        "fixes": list(repair.fixes),
        "added": list(repair.added),
        "size_before": len(repair.original_text.encode()),
        "size_after": repair.size,
    }
    if args.format == "json":
        _json_out(summary, out, indent=2)
        out.write("\n")
    else:
        from trailkit.ui.terminal import policy_view

        _print_header(conn.info(), out)
        _print(out, policy_view(repair))
    if not repair.needed or not args.apply or args.dry_run:
        if repair.needed and args.format != "json":
            out.write(
                "\nDry run: nothing was sent.\n"
                if args.dry_run
                else "\nNothing sent (add --apply to send it).\n"
            )
        return EXIT_OK
    if not _confirm(args, conn, "replace the key policy", [repair.key.label], err):
        err.write("Not confirmed: nothing was sent.\n")
        return EXIT_NO
    result = book.apply_repair(repair, confirmed=True)
    if args.format != "json":
        out.write(
            f"\n{result.outcome.value.upper()}: {result.message} (change {result.change_id})\n"
        )
    if _report_unjournaled([result], err) or result.outcome in (Outcome.FAILED, Outcome.UNKNOWN):
        return EXIT_ERROR
    book.refresh()
    worst = EXIT_OK
    for trail in repair.trails:
        report = book.check(trail.arn, repair.key.arn)
        if args.format != "json":
            out.write(f"pre-flight {trail.name}: {report.verdict.value}\n")
        if report.errors:
            worst = EXIT_NO
    return worst


def _known_key(book: Any, arn: str) -> Any:
    """The key's description without its policy (for its alias), or None when it cannot be
    read: the view then names the key by its ARN."""
    try:
        return book.reader.key(arn, with_policy=False)
    except TrailkitError:
        return None


def _restore_policy(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    """``trailkit policy --restore``: the diff first, then --dry-run, confirmation, the write."""
    from trailkit.errors import NothingToUndo
    from trailkit.records import Outcome

    book = _runbook(args)
    conn = book.conn
    try:
        restore = book.plan_restore(None if args.restore == "last" else args.restore)
    except NothingToUndo as exc:
        _warn_damage(book.journal, err)
        return _nothing_to_undo(exc, args, out)
    except TrailkitError:
        _warn_damage(book.journal, err)
        raise
    _warn_damage(book.journal, err)
    if args.format != "json":
        from trailkit.ui.terminal import restore_view

        _print_header(conn.info(), out)
        _print(out, restore_view(restore, _known_key(book, restore.key_arn)))
    result = None
    code = EXIT_OK
    if not restore.needed:
        if args.format != "json":
            out.write("\nNothing to do: the key already has that policy.\n")
    elif restore.changed_since:
        err.write(
            f"refused: the policy of {restore.key_arn} changed since change {restore.change_id}; "
            "nothing will be sent (review it with `trailkit policy --trail T --key K`)\n"
        )
        code = EXIT_NO
    elif args.dry_run:
        if args.format != "json":
            out.write("\nDry run: nothing was sent.\n")
    elif not _confirm(args, conn, "restore the key policy", [restore.key_arn], err):
        err.write("Not confirmed: nothing was sent.\n")
        code = EXIT_NO
    else:
        result = book.apply_restore(restore, confirmed=True)
        if args.format != "json":
            out.write(f"\n{result.outcome.value.upper()}: {result.message}\n")
        if _report_unjournaled([result], err):
            code = EXIT_ERROR
        elif result.outcome not in (Outcome.DONE, Outcome.UNCHANGED):
            code = EXIT_NO if result.outcome is Outcome.REFUSED else EXIT_ERROR
    if args.format == "json":
        payload = {"restore": restore.as_dict(), "result": result.as_dict() if result else None}
        _json_out(payload, out, indent=2)
        out.write("\n")
    return code


def cmd_app(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    """``trailkit app``."""
    from trailkit.demo.app import run_app

    return run_app(
        aws=args.aws,
        profile=args.lab_profile or getattr(args, "profile", None),
        demo_port=args.demo_port,
        port=args.port,
        out=out,
    )


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


class _Output(io.TextIOBase):
    """A stream that a failure to print cannot stop: once writing fails (the reader of a pipe
    went away: ``trailkit update ... | head -1``), everything more is dropped, and the command
    goes on doing exactly what it would have done. The exit code and the journal say what
    happened; the output was only ever a view of it."""

    def __init__(self, target: TextIO) -> None:
        super().__init__()
        self.target = target
        self.broken = False

    def writable(self) -> bool:
        return True

    def write(self, text: str) -> int:
        if not self.broken:
            try:
                self.target.write(text)
            except UnicodeEncodeError:
                # A stream that cannot encode "→" or "…" (PYTHONIOENCODING=ascii, a cp1252
                # console): the text is still printed, with those characters replaced. Never
                # taken for a closed pipe, or a plan or result would vanish.
                self._write_replaced(text)
            except (OSError, ValueError):  # EPIPE, EBADF, ...; ValueError: a closed file
                self.broken = True
        return len(text)

    def _write_replaced(self, text: str) -> None:
        encoding = getattr(self.target, "encoding", None) or "ascii"
        try:
            self.target.write(text.encode(encoding, "replace").decode(encoding, "replace"))
        except (OSError, ValueError):
            self.broken = True

    def flush(self) -> None:
        if not self.broken:
            try:
                self.target.flush()
            except (OSError, ValueError):
                self.broken = True

    def isatty(self) -> bool:
        try:
            return bool(self.target.isatty())
        except (OSError, ValueError):
            return False

    def fileno(self) -> int:
        """The target's descriptor (the terminal's width is read from it)."""
        return self.target.fileno()


def _silence(output: _Output) -> None:
    """After a broken pipe, point the stream's descriptor at /dev/null (as Python's docs on
    SIGPIPE recommend), so that the interpreter's last flush at exit cannot fail either."""
    output.flush()
    if not output.broken:
        return
    with contextlib.suppress(OSError, ValueError, io.UnsupportedOperation):
        fd = output.target.fileno()
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, fd)
        os.close(devnull)


def main(
    argv: Sequence[str] | None = None, out: TextIO | None = None, err: TextIO | None = None
) -> int:
    """Run the command line; returns the exit code (also the console script's entry point).

    Parameters
    ----------
    argv
        The arguments (default: ``sys.argv[1:]``).
    out, err
        Where results and messages go (default: ``sys.stdout``, ``sys.stderr``). A failure to
        write to them (a closed pipe) never changes what the command does or its exit code.

    Returns
    -------
    int
        0 done, ready or nothing to do; 1 the answer is no; 2 usage and AWS errors.
    """
    out_ = _Output(out or sys.stdout)
    err_ = _Output(err or sys.stderr)
    try:
        return _main(argv, cast(TextIO, out_), cast(TextIO, err_))
    finally:
        _silence(out_)
        _silence(err_)


def _language_asked(argv: Sequence[str]) -> tuple[str, str] | None:
    """(option, value) of the last ``--lang`` in ``argv``, else of ``TRAILKIT_LANG`` if set."""
    asked: tuple[str, str] | None = None
    words = list(argv)
    for i, word in enumerate(words):
        if word == "--":
            break
        if word == "--lang" and i + 1 < len(words):
            asked = ("--lang", words[i + 1])
        elif word.startswith("--lang="):
            asked = ("--lang", word.partition("=")[2])
    if asked is None and "TRAILKIT_LANG" in os.environ:
        asked = ("TRAILKIT_LANG", os.environ["TRAILKIT_LANG"])
    return asked


def _choose_language(argv: Sequence[str]) -> str | None:
    """Set the language before anything is said (help texts included); the error, if any.

    ``--lang`` wins over ``TRAILKIT_LANG``, which wins over the locale. An explicit value must
    be ``ja`` or ``en`` (any case): an empty or unknown one is an error, never a default.
    """
    from trailkit.i18n import LANGUAGES, set_language

    asked = _language_asked(argv)
    if asked is None:
        set_language(None)
        return None
    option, value = asked
    if value.strip().lower() not in LANGUAGES:
        return (
            f"trailkit: {option} {value!r} is not a language trailkit speaks: give "
            f"{' or '.join(LANGUAGES)} (e.g. {option}{' ' if option == '--lang' else '='}ja)"
        )
    set_language(value.strip().lower())
    return None


def _shown(exc: BaseException) -> str:
    """An error as the terminal shows it: control characters it echoes from the operator's
    input or a journal (an ANSI escape in a change id) are escaped, never sent raw; line breaks
    and tabs are kept."""
    text = str(exc)
    if text.isprintable():
        return text  # rich is imported (by terminal) only for a message that needs escaping
    from trailkit.ui.terminal import printable

    return printable(text, keep="\n\t")


def _main(argv: Sequence[str] | None, out: TextIO, err: TextIO) -> int:
    words = sys.argv[1:] if argv is None else list(argv)
    problem = _choose_language(words)
    if problem is not None:
        err.write(problem + "\n")
        return EXIT_ERROR
    parser = build_parser()
    marks = _write_marks()
    try:
        # argparse writes usage, --help and --version to sys.stderr/stdout: send them to err/out.
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            args = parser.parse_args(words)
    except SystemExit as exc:
        return int(exc.code) if isinstance(exc.code, int) else EXIT_ERROR
    except TrailkitError as exc:  # an option's value checked by trailkit (--reader-account)
        err.write(f"trailkit: {_shown(exc)}\n")
        return EXIT_ERROR
    try:
        return int(args.func(args, out, err))
    except RefusedError as exc:
        err.write(f"trailkit: refused: {_shown(exc)}\n")
        return EXIT_NO
    except UnverifiableError as exc:
        err.write(f"trailkit: unverifiable: {_shown(exc)}\n")
        return EXIT_UNVERIFIABLE
    except TrailkitError as exc:
        err.write(f"trailkit: {_shown(exc)}\n")
        return EXIT_ERROR
    except KeyboardInterrupt:
        err.write(_interrupted(marks) + "\n")
        return 130
