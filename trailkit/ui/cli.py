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
import unicodedata
from collections.abc import Callable, Iterator, Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO, cast

from trailkit import __version__
from trailkit.errors import InputError, RefusedError, TrailkitError, UnverifiableError
from trailkit.i18n import N_, _, ngettext

if TYPE_CHECKING:
    from trailkit.records import Trail

__all__ = ["main"]

EXIT_OK, EXIT_NO, EXIT_ERROR = 0, 1, 2
#: ``trailkit check``: some rule could not be checked (never read as "go ahead").
EXIT_UNVERIFIABLE = 3
#: ``trailkit journal``: the newest changes shown in the table (rich lays out a few hundred rows
#: a second; ``--all`` prints every change one line each, ``--format json`` every field).
JOURNAL_ROWS = 50
#: ``trailkit journal --all``: the fields of each line (``role_arn``: the role assumed to make
#: a change in another account, ``-`` for the caller's own; ``delivery``: the newest delivery
#: proof's status, ``-`` when none).
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
    "role_arn",
    "via_account",
    "delivery",
)


#: argparse's own texts that a trailkit operator can meet (``usage:``, the group titles,
#: ``-h``'s help, the usage errors), with argparse's exact message ids and %-placeholders:
#: marked here so that they are extracted into trailkit's catalogue, and translated there.
#: argparse looks them up with its module's ``_()`` (the stdlib ``argparse`` gettext domain,
#: which has no Japanese); :func:`_argparse_speaks_ours` points that at trailkit's catalogue
#: while a trailkit parser is built, formats its help or parses.
ARGPARSE_MESSAGES = (
    N_("usage: "),
    N_("positional arguments"),
    N_("options"),
    N_("show this help message and exit"),
    N_("argument %(argument_name)s: %(message)s"),
    N_("unrecognized arguments: %s"),
    N_("not allowed with argument %s"),
    N_("ignored explicit argument %r"),
    N_("the following arguments are required: %s"),
    N_("one of the arguments %s is required"),
    N_("expected one argument"),
    N_("expected at most one argument"),
    N_("expected at least one argument"),
    N_("ambiguous option: %(option)s could match %(matches)s"),
    N_("invalid choice: %(value)r (choose from %(choices)s)"),
    N_("invalid %(type)s value: %(value)r"),
    N_("unknown parser %(parser_name)r (choices: %(choices)s)"),
)


#: Codes a line of the command line shows, as a person reads them (the same message ids as the
#: terminal's views, so one translation): English shows the code itself (outcomes in capitals),
#: ``--format json`` and the journal keep the code.
OUTCOME_WORDS = {
    "done": N_("DONE"),
    "unchanged": N_("UNCHANGED"),
    "failed": N_("FAILED"),
    "refused": N_("REFUSED"),
    "unknown": N_("UNKNOWN"),
}
VERDICT_WORDS = {"ready": N_("ready"), "blocked": N_("blocked"), "unverifiable": N_("unverifiable")}


def _word(value: Any, words: Mapping[str, str], *, upper: bool = False) -> str:
    """A code (an enum member or its value) as a person reads it; an unknown code as it is."""
    code = str(getattr(value, "value", value))
    word = words.get(code.lower())
    if word is not None:
        return _(word)
    return code.upper() if upper else code


@contextlib.contextmanager
def _argparse_speaks_ours() -> Iterator[None]:
    """argparse's ``_()`` and ``ngettext()`` are trailkit's inside the block (the language
    chosen by ``--lang``, ``TRAILKIT_LANG`` or the locale), then what they were (nesting is
    safe: each block puts back what it found). A text trailkit's catalogue does not have stays
    as argparse wrote it (English)."""
    saved = (getattr(argparse, "_"), getattr(argparse, "ngettext"))  # noqa: B009
    setattr(argparse, "_", _)  # noqa: B010
    setattr(argparse, "ngettext", ngettext)  # noqa: B010
    try:
        yield
    finally:
        setattr(argparse, "_", saved[0])  # noqa: B010
        setattr(argparse, "ngettext", saved[1])  # noqa: B010


def _columns(text: str) -> int:
    """How many terminal columns ``text`` takes: a wide character (Japanese) takes two."""
    return sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in text)


#: Punctuation a line never starts with (it stays with the character before it).
_NO_LINE_START = frozenset(
    "),.:;]!?、。，．・：；？！）」』】〕ー々ぁぃぅぇぉっゃゅょァィゥェォッャュョ"
)


def _wrap_wide(text: str, width: int) -> list[str]:
    """``text`` (blanks already collapsed) in lines of at most ``width`` columns, counted as a
    terminal shows them: a line may break between two wide characters (Japanese has no
    spaces) or at a space, never inside a word of Latin letters, nor before closing
    punctuation."""
    units: list[str] = []
    for char in text:
        wide = unicodedata.east_asian_width(char) in "WF"
        if units and (
            char in _NO_LINE_START
            or (
                (char == " " or not wide)
                and not (units[-1].endswith(" ") or _columns(units[-1][-1:]) == 2)
            )
        ):
            units[-1] += char
        else:
            units.append(char)
    lines: list[str] = []
    line = ""
    for unit in units:
        if line and _columns(line + unit.rstrip()) > width:
            lines.append(line.rstrip())
            line = unit.lstrip()
        else:
            line += unit
    if line.strip():
        lines.append(line.rstrip())
    return lines


class _Formatter(argparse.HelpFormatter):
    """argparse's help, with Japanese lines wrapped by the columns they take (argparse counts
    characters, and a Japanese character takes two columns). English help is wrapped exactly
    as argparse does."""

    def _split_lines(self, text: str, width: int) -> list[str]:
        if _columns(text) == len(text):
            return super()._split_lines(text, width)
        return _wrap_wide(" ".join(text.split()), width)

    def _fill_text(self, text: str, width: int, indent: str) -> str:
        if _columns(text) == len(text):
            return super()._fill_text(text, width, indent)
        return "\n".join(indent + line for line in _wrap_wide(" ".join(text.split()), width))


class _Parser(argparse.ArgumentParser):
    """argparse with the usage message and exit code 2 for every usage error, speaking the
    chosen language (its own texts too: see :data:`ARGPARSE_MESSAGES`)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("formatter_class", _Formatter)
        with _argparse_speaks_ours():  # the group titles and -h's help are made here
            super().__init__(*args, **kwargs)

    def parse_args(  # type: ignore[override]
        self, args: Sequence[str] | None = None, namespace: argparse.Namespace | None = None
    ) -> argparse.Namespace:
        with _argparse_speaks_ours():  # "unrecognized arguments" is said here
            return super().parse_args(args, namespace)

    def parse_known_args(  # type: ignore[override]
        self, args: Sequence[str] | None = None, namespace: argparse.Namespace | None = None
    ) -> tuple[argparse.Namespace, list[str]]:
        with _argparse_speaks_ours():
            return super().parse_known_args(args, namespace)

    def format_usage(self) -> str:
        with _argparse_speaks_ours():
            return super().format_usage()

    def format_help(self) -> str:
        with _argparse_speaks_ours():
            return super().format_help()

    def error(self, message: str) -> Any:
        self.print_usage(sys.stderr)
        self.exit(
            EXIT_ERROR, _("{prog}: error: {message}").format(prog=self.prog, message=message) + "\n"
        )


def _healths(text: str) -> frozenset[str]:
    """``--health``: comma-separated health kinds, strictly (an empty or unknown one is a usage
    error, exit 2)."""
    from trailkit.rules.health import parse_health_filter

    try:
        return frozenset(str(k) for k in parse_health_filter(text))
    except InputError as err:
        raise argparse.ArgumentTypeError(err.message) from None


class _Union(argparse.Action):
    """A repeatable set option: ``--health broken --health at-risk`` means ``broken,at-risk``
    (argparse's default would keep only the last)."""

    def __call__(
        self,
        parser: argparse.ArgumentParser,
        namespace: argparse.Namespace,
        values: Any,
        option_string: str | None = None,
    ) -> None:
        setattr(namespace, self.dest, (getattr(namespace, self.dest, None) or frozenset()) | values)


def _regions(text: str) -> list[str]:
    """``--regions``: comma-separated region names, each shaped like one (``us-east-1``).

    A name that cannot be a region (``US-EAST-1``, ``useast1``) is a usage error: scanned, it
    would only come back as a failed region and a partial result.
    """
    from trailkit.arn import is_region

    regions = [r.strip() for r in text.split(",") if r.strip()]
    if not regions:
        raise argparse.ArgumentTypeError(_("give at least one region, e.g. us-east-1,eu-west-1"))
    bad = [r for r in regions if not is_region(r)]
    if bad:
        names = ", ".join(map(repr, bad))
        if is_region(bad[0].lower()):
            raise argparse.ArgumentTypeError(
                _(
                    "{names} is not a region name (did you mean {region}?); give names such as "
                    "us-east-1,eu-west-1"
                ).format(names=names, region=bad[0].lower())
            )
        raise argparse.ArgumentTypeError(
            _("{names} is not a region name; give names such as us-east-1,eu-west-1").format(
                names=names
            )
        )
    return regions


def _endpoint_url(text: str) -> str:
    """``--endpoint-url``: given, it must say something (an empty value is not "the default")."""
    if not text.strip():
        from trailkit.errors import InputError

        raise InputError(
            _("--endpoint-url {value} is empty.").format(value=repr(text)),
            _(
                "give http(s)://HOST[:PORT] (e.g. the demo's), or leave the option out to use "
                "$AWS_ENDPOINT_URL or AWS itself"
            ),
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


def _owner_tag(text: str) -> str:
    """``--owner-tag``: a tag key (1 to 128 characters, as AWS allows), spaces around it
    dropped."""
    from trailkit.errors import InputError

    key = text.strip()
    if not key or len(key) > 128:
        raise InputError(
            _("{value} is not a tag key for --owner-tag.").format(value=repr(text)),
            _("give a tag key of 1 to 128 characters, e.g. --owner-tag ManagedBy"),
        )
    return key


def _account_list(option: str) -> Callable[[str], tuple[str, ...]]:
    """``--accounts`` / ``--exclude-accounts``: ids separated by commas, or ``@FILE`` (a file of
    ids: separated by commas, spaces or lines, ``#`` starts a comment; UTF-8 with or without a
    BOM). Each option may be given several times: the ids add up (``action="extend"``)."""

    def parse(text: str) -> tuple[str, ...]:
        from trailkit.rules.accounts import parse_account_text
        from trailkit.ui.accountfile import account_text

        return parse_account_text(account_text(text, option), option)

    return parse


def _role_name(text: str) -> str:
    """``--role-name``: an IAM role name (optionally PATH/NAME)."""
    from trailkit.rules.accounts import check_role_name

    return check_role_name(text)


def _external_id(text: str) -> str:
    """``--external-id``: never empty (an empty value never means "none")."""
    from trailkit.rules.accounts import check_external_id

    value = check_external_id(text)
    assert value is not None
    return value


def _workers(text: str) -> int:
    """``--workers``: 1 to ``MAX_WORKERS`` concurrent calls (the same bound as ``Connection``)."""
    from trailkit.aws.session import MAX_WORKERS

    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            _("{value} is not a whole number").format(value=repr(text))
        ) from None
    if not 1 <= value <= MAX_WORKERS:
        raise argparse.ArgumentTypeError(
            _("must be between 1 and {most}, not {value}").format(most=MAX_WORKERS, value=value)
        )
    return value


def _journal_path(text: str) -> Path:
    """``--journal``: a path; empty or blank text is not one (``Path("")`` would be ``.``)."""
    if not text.strip():
        raise argparse.ArgumentTypeError(
            _("The journal path is empty: give a file path, or leave --journal out for the default")
        )
    return Path(text)


def _wait(text: str) -> float:
    """``--wait``: seconds (:func:`trailkit.rules.proof.parse_wait`; an InputError naming
    ``--wait`` is a usage error, exit 2)."""
    from trailkit.rules.proof import parse_wait

    return parse_wait(text)


def _port(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            _("{value} is not a port number").format(value=repr(text))
        ) from None
    if not 0 <= value <= 65535:
        raise argparse.ArgumentTypeError(_("a port is between 0 and 65535"))
    return value


def build_parser() -> argparse.ArgumentParser:
    """The argument parser (exposed for tests and documentation)."""
    common = _Parser(add_help=False)
    g = common.add_argument_group(_("connection"))
    g.add_argument("--profile", default=argparse.SUPPRESS, help=_("AWS profile name"))
    g.add_argument(
        "--region",
        default=argparse.SUPPRESS,
        help=_("region for global calls (default: profile's)"),
    )
    g.add_argument(
        "--endpoint-url",
        type=_endpoint_url,
        default=argparse.SUPPRESS,
        help=_("one endpoint for every service, e.g. the demo's (default: $AWS_ENDPOINT_URL)"),
    )
    g.add_argument(
        "--retry-mode",
        choices=["standard", "adaptive"],
        default=argparse.SUPPRESS,
        help=_("botocore retry mode (default: standard)"),
    )
    g.add_argument(
        "--workers",
        type=_workers,
        default=argparse.SUPPRESS,
        help=_("concurrent AWS calls, 1-64 (default 32)"),
    )
    g.add_argument(
        "--lang",
        choices=["ja", "en"],
        type=str.lower,
        default=argparse.SUPPRESS,
        help=_("language of the output: ja or en (default: $TRAILKIT_LANG, else the locale)"),
    )
    g.add_argument(
        "-v",
        "--verbose",
        action="store_true",
        default=argparse.SUPPRESS,
        help=_("also print the API calls made, by operation"),
    )

    readers = _Parser(add_help=False)
    readers.add_argument(
        "--reader-account",
        dest="reader_accounts",
        action="append",
        default=[],
        type=_reader_account,
        metavar="ACCOUNT",
        help=_(
            "also check that principals of this account can decrypt the logs (repeatable; a "
            "12-digit account id, e.g. the log-archive account). The trail's account and the "
            "bucket owner's are always checked"
        ),
    )

    # Who manages a trail or key (issue 17): tag keys added to the ownership rules' defaults.
    owners = _Parser(add_help=False)
    owners.add_argument(
        "--owner-tag",
        dest="owner_tags",
        action="append",
        default=[],
        type=_owner_tag,
        metavar="KEY",
        help=_(
            "also take this tag key, on a trail or key, to name the tool that manages it "
            "(repeatable; added to the defaults: `ManagedBy`, `managed-by`, `terraform`, ... "
            "and CloudFormation's `aws:cloudformation:stack-name`)"
        ),
    )

    # The role trailkit assumes in another account (issue 16): every command that reads or
    # changes a trail of another account, and the scans of several accounts.
    roles = _Parser(add_help=False)
    g = roles.add_argument_group(_("other accounts"))
    g.add_argument(
        "--role-name",
        type=_role_name,
        default=argparse.SUPPRESS,
        help=_(
            "the role assumed in each other account (default OrganizationAccountAccessRole; "
            "AWSControlTowerExecution in AWS Control Tower)"
        ),
    )
    g.add_argument(
        "--external-id",
        type=_external_id,
        default=argparse.SUPPRESS,
        help=_("the external id the role's trust policy asks for"),
    )
    # Which accounts a scan of several accounts looks at (issue 16).
    fanout = _Parser(add_help=False)
    g = fanout.add_argument_group(_("accounts"))
    g.add_argument(
        "--org",
        action="store_true",
        default=False,
        help=_(
            "every active account of the organization (organizations:ListAccounts, from the "
            "management or a delegated administrator account)"
        ),
    )
    g.add_argument(
        "--accounts",
        type=_account_list("--accounts"),
        action="extend",
        default=None,
        metavar="ID[,ID]|@FILE",
        help=_(
            "these accounts (12-digit ids separated by commas, or @FILE of ids; repeatable, the "
            "ids add up)"
        ),
    )
    g.add_argument(
        "--exclude-accounts",
        type=_account_list("--exclude-accounts"),
        action="extend",
        default=None,
        metavar="ID[,ID]|@FILE",
        help=_("leave these accounts out"),
    )

    parser = _Parser(
        prog="trailkit",
        description=_("See, check and safely change the KMS encryption of CloudTrail trails."),
        parents=[common],
    )
    parser.add_argument(
        "--version",
        action="version",
        version=f"trailkit {__version__}",
        help=_("show program's version number and exit"),
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    sub.required = True

    p = sub.add_parser(
        "inventory",
        parents=[common, fanout, roles, owners],
        help=_("every trail with its encryption and key"),
    )
    p.add_argument("--format", choices=["table", "json", "csv"], default="table")
    p.add_argument("--regions", type=_regions, help=_("comma-separated regions (default: all)"))
    p.add_argument(
        "--health",
        type=_healths,
        action=_Union,
        metavar="HEALTH[,HEALTH]",
        help=_(
            "only the trails with this health: comma-separated broken, at-risk, unverifiable, "
            "healthy, sse-s3"
        ),
    )
    p.set_defaults(func=cmd_inventory)

    p = sub.add_parser("demo", help=_("run the embedded demo AWS (local moto server)"))
    p.add_argument("--port", type=_port, default=0, help=_("port on 127.0.0.1 (default: free)"))
    p.set_defaults(func=cmd_demo)

    p = sub.add_parser("lab", help=_("JupyterLab on the demo estate (or real AWS with --aws)"))
    p.add_argument("--aws", action="store_true", help=_("use real AWS instead of the demo"))
    p.add_argument("--profile", dest="lab_profile", help=_("AWS profile (with --aws)"))
    p.add_argument("--port", type=_port, default=8888, help=_("JupyterLab port (default 8888)"))
    p.add_argument("--demo-port", type=_port, default=0, help=_("demo server port (default: free)"))
    p.add_argument("--notebook-dir", type=Path, help=_("notebooks folder (default: notebooks/)"))
    p.add_argument("--browser", action="store_true", help=_("open a browser"))
    p.set_defaults(func=cmd_lab)

    p = sub.add_parser(
        "check",
        parents=[common, readers, roles, owners],
        help=_("will this key work for this trail? (changes nothing)"),
        description=_(
            "Pre-flight: every rule AWS applies when the trail is switched to the key. "
            "Exit status: 0 ready, 1 blocked, 3 unverifiable (some rule could not be checked), "
            "2 trailkit could not run the check (bad input, no connection)."
        ),
    )
    p.add_argument("--trail", required=True, help=_("trail name or ARN"))
    p.add_argument(
        "--key",
        required=True,
        help=_("key id, key ARN, alias name or alias ARN (to preview SSE-S3: disable --dry-run)"),
    )
    p.add_argument("--format", choices=["table", "json"], default="table")
    p.set_defaults(func=cmd_check)

    p = sub.add_parser(
        "keys",
        parents=[common, readers, roles],
        help=_("rank every candidate key for a trail: ready first"),
    )
    p.add_argument("--trail", required=True, help=_("trail name or ARN"))
    p.add_argument("--format", choices=["table", "json", "csv"], default="table")
    p.set_defaults(func=cmd_keys)

    p = sub.add_parser(
        "explain",
        parents=[common, readers, roles, owners],
        help=_("one trail's drill-down: key, health, key policy, delivery, history"),
        description=_(
            "Everything about one trail's encryption as it is now: the trail and its bucket, the "
            "key and its facts, the health with each reason and fix, the key policy statements "
            "that decide CloudTrail's access, who may decrypt the logs, the delivery status and "
            "the recent change history (cloudtrail:LookupEvents). Changes nothing. Exit status: "
            "0 done, 1 partial result (something could not be read), 2 trailkit could not run "
            "(bad input, unknown trail, no connection)."
        ),
    )
    p.add_argument("--trail", required=True, help=_("trail name or ARN"))
    window = p.add_mutually_exclusive_group()
    window.add_argument(
        "--since",
        metavar="WHEN",
        help=_("history from this time: 30d, 12h, or a date (default: the last 30 days)"),
    )
    window.add_argument(
        "--no-history",
        dest="history",
        action="store_false",
        help=_("do not look the change history up (no cloudtrail:LookupEvents call)"),
    )
    p.add_argument("--format", choices=["table", "json"], default="table")
    p.set_defaults(func=cmd_explain)

    change = _Parser(add_help=False)
    cg = change.add_argument_group(_("change"))
    cg.add_argument("--dry-run", action="store_true", help=_("show the plan, send nothing"))
    cg.add_argument("--yes", action="store_true", help=_("confirm without asking"))
    cg.add_argument(
        "--journal",
        type=_journal_path,
        help=_("journal file (default: $TRAILKIT_JOURNAL or the user data dir)"),
    )
    cg.add_argument("--format", choices=["table", "json"], default="table")
    accept = _Parser(add_help=False)
    accept.add_argument_group(_("unverifiable plans")).add_argument(
        "--accept-unverifiable",
        action="store_true",
        help=_(
            "send a plan whose verdict is UNVERIFIABLE (a rule trailkit could not check, e.g. "
            "another account's key or bucket): only after its owner confirmed what trailkit could "
            "not; without it such a plan is refused (exit 3)"
        ),
    )

    p = sub.add_parser(
        "update",
        parents=[common, change, readers, accept, roles, owners],
        help=_("switch a trail to a key (plan, confirm, apply)"),
    )
    p.add_argument(
        "--trail",
        required=True,
        action="append",
        help=_("trail name or ARN (repeat for several trails)"),
    )
    p.add_argument("--key", required=True, help=_("key id, key ARN, alias name or alias ARN"))
    p.set_defaults(func=cmd_update)

    p = sub.add_parser(
        "disable",
        parents=[common, change, accept, roles, owners],
        help=_("return a trail to SSE-S3"),
    )
    p.add_argument("--trail", required=True, action="append", help=_("trail name or ARN"))
    p.set_defaults(func=cmd_disable)

    p = sub.add_parser(
        "rollback",
        parents=[common, change, accept, roles, owners],
        help=_("restore the state before a recorded change"),
    )
    which = p.add_mutually_exclusive_group(required=True)
    which.add_argument("--change", help=_("change id from `trailkit journal`"))
    which.add_argument("--last", action="store_true", help=_("the most recent completed change"))
    p.set_defaults(func=cmd_rollback)

    p = sub.add_parser(
        "verify",
        parents=[common, roles],
        help=_("prove that logs delivered since a change carry its encryption"),
        description=_(
            "Delivery proof: reads GetTrailStatus and the newest log and digest files CloudTrail "
            "delivered after the change (ListObjectsV2, HeadObject) and checks their encryption; "
            "looks again until --wait is over. Ctrl-C stops waiting. Exit status: 0 proven, "
            "1 failed, 3 pending or unverifiable, 2 trailkit could not run (bad input, unknown "
            "trail, no connection)."
        ),
    )
    p.add_argument("--trail", required=True, help=_("trail name or ARN"))
    p.add_argument(
        "--change",
        help=_("change id from `trailkit journal` (default: the newest change of the trail)"),
    )
    p.add_argument(
        "--wait",
        type=_wait,
        default=0.0,
        metavar="DURATION",
        help=_(
            "keep looking while pending, up to this long: `90s`, `15m`, `1h` (default 0: look once)"
        ),
    )
    p.add_argument("--journal", type=_journal_path, help=_("journal file"))
    p.add_argument("--format", choices=["table", "json"], default="table")
    p.set_defaults(func=cmd_verify)

    p = sub.add_parser("journal", parents=[common, roles], help=_("the recorded changes"))
    p.add_argument("--journal", type=_journal_path, help=_("journal file"))
    p.add_argument(
        "--reconcile",
        action="store_true",
        help=_("settle intents without an outcome by reading AWS"),
    )
    p.add_argument("--format", choices=["table", "json"], default="table")
    p.add_argument(
        "--all",
        action="store_true",
        help=_(
            "every change, one line each, values whole (default: the newest {rows} "
            "in a table that fits the terminal)"
        ).format(rows=JOURNAL_ROWS),
    )
    p.set_defaults(func=cmd_journal)

    p = sub.add_parser(
        "policy",
        parents=[common, change, roles],
        help=_("add-only repair of a key policy for trails"),
    )
    p.add_argument("--trail", action="append", default=[], help=_("trail name or ARN (repeatable)"))
    p.add_argument("--key", help=_("the key whose policy to repair"))
    p.add_argument(
        "--readers",
        action="append",
        default=[],
        metavar="PRINCIPAL",
        help=_(
            "also let this principal decrypt the logs (repeatable): a 12-digit account id or "
            "an IAM role, user or root ARN, no wildcards"
        ),
    )
    p.add_argument("--apply", action="store_true", help=_("send the repaired policy"))
    p.add_argument(
        "--restore",
        metavar="CHANGE_ID",
        nargs="?",
        const="last",
        help=_(
            "put back the policy recorded before a policy change (default: last; shows the "
            "diff from the current policy first)"
        ),
    )
    p.set_defaults(func=cmd_policy)

    p = sub.add_parser(
        "snippet",
        parents=[common, readers, roles, owners],
        help=_("the change as code for `cloudformation`, `terraform` or `cdk` (changes nothing)"),
        description=_(
            "Prints the change `trailkit update` would make, written for the tool that deploys "
            "the trail and its key: the trail's key (`KMSKeyId`, `kms_key_id`, "
            "`encryption_key`) and the key policy statements `trailkit policy` would add, with "
            "the same values. The code goes to stdout (redirect it to a file), the explanations "
            "to stderr. Exit "
            "status: 0 written, 1 the change is blocked, 2 trailkit could not run."
        ),
    )
    p.add_argument("--trail", required=True, help=_("trail name or ARN"))
    p.add_argument("--key", required=True, help=_("key id, key ARN, alias name or alias ARN"))
    p.add_argument(
        "--format",
        required=True,
        choices=SNIPPET_FORMATS,
        help=_("the tool: `cloudformation` (JSON), `terraform` (`HCL`) or `cdk` (`Python`)"),
    )
    p.set_defaults(func=cmd_snippet)

    p = sub.add_parser(
        "app",
        help=_("the guided update as a standalone web app (Voila, 127.0.0.1, behind a token)"),
    )
    p.add_argument("--aws", action="store_true", help=_("use real AWS instead of the demo"))
    p.add_argument("--profile", dest="lab_profile", help=_("AWS profile (with --aws)"))
    p.add_argument("--port", type=_port, default=8866, help=_("app port (default 8866)"))
    p.add_argument("--demo-port", type=_port, default=0, help=_("demo server port (default: free)"))
    p.set_defaults(func=cmd_app)
    return parser


#: ``trailkit snippet --format`` (:data:`trailkit.rules.snippet.FORMATS`; a test keeps them equal).
SNIPPET_FORMATS = ("cloudformation", "terraform", "cdk")
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


def _access(args: argparse.Namespace, conn: Any) -> Any:
    """How other accounts are reached: ``--role-name`` / ``--external-id`` (issue 16)."""
    from dataclasses import replace

    from trailkit.aws.accounts import AccountAccess
    from trailkit.rules.accounts import CLI_OPTIONS, DEFAULT_ROLE_NAME

    # A command about one trail has no --exclude-accounts: its refusals must not advise it.
    options = CLI_OPTIONS if hasattr(args, "org") else replace(CLI_OPTIONS, exclude_accounts="")
    return AccountAccess(
        conn,
        role_name=getattr(args, "role_name", DEFAULT_ROLE_NAME),
        external_id=getattr(args, "external_id", None),
        options=options,
    )


def _runbook(args: argparse.Namespace) -> Any:
    """The use cases on this command's connection and journal (nothing is read yet)."""
    from trailkit.runbook import Runbook

    conn = _connect(args)
    # A dry run's Runbook refuses every write itself, whatever the command goes on to do.
    return Runbook(
        conn,
        _journal(args),
        dry_run=bool(getattr(args, "dry_run", False)),
        reader_accounts=getattr(args, "reader_accounts", None),
        access=_access(args, conn),
        owner_tags=getattr(args, "owner_tags", None) or (),
    )


def _require_key(key: str) -> str:
    """An empty or blank ``--key`` is a usage error (exit 2), checked before connecting."""
    from trailkit.runbook import require_key

    return require_key(key)


def _failed_calls(errors: Sequence[Any]) -> str:
    """What failed in a partial inventory, as the notebooks say it: ``1 call``, ``2 calls in
    1 region`` (each error is a call; those of a region that could not be scanned name it)."""
    regions = {e.region for e in errors if getattr(e, "region", None)}
    calls = ngettext("{n} call", "{n} calls", len(errors)).format(n=len(errors))
    if not regions:
        return calls
    where = ngettext("{n} region", "{n} regions", len(regions)).format(n=len(regions))
    return _("{calls} in {regions}").format(calls=calls, regions=where)


def _print_calls(conn: Any, err: TextIO) -> None:
    calls = dict(sorted(conn.calls.items()))
    total = sum(calls.values())
    err.write(_("API calls: {total}").format(total=total) + "\n")
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
        out.write(_("(nothing)") + "\n")
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
    return "trailkit: " + _interruption(marks)


def _interruption(marks: tuple[int, int]) -> str:
    """:func:`_interrupted` without the ``trailkit:`` prefix."""
    journal = sys.modules.get("trailkit.change.journal")  # imported only if a write began
    if journal is None:
        return _("interrupted")
    flying = journal.interrupted_changes()[marks[0] :]
    if flying:
        return _(
            "interrupted while change {change} was being sent: it may have been "
            "applied (its intent is in the journal, its outcome is not). Fix: run `trailkit "
            "journal --reconcile` to settle it from what AWS now holds, before anything else."
        ).format(change=flying[-1])
    started = journal.started_changes()[marks[1] :]
    if not started:
        return _("interrupted")
    from trailkit.records.journal import STATUS_WORDS

    path, change_id = started[-1]
    try:
        status = journal.Journal(path).get(change_id).status
    except TrailkitError:
        status = "pending"
    if status == "pending":
        return _(
            "interrupted after change {change} was journaled and before its "
            "outcome: it may or may not have been sent. Fix: run `trailkit journal --reconcile` "
            "to settle it from what AWS now holds, before anything else."
        ).format(change=change_id)
    return _(
        "interrupted after change {change} had its outcome: the journal records "
        "it as {status} (`trailkit journal`)."
    ).format(change=change_id, status=_word(status, STATUS_WORDS))


def _json_text(value: Any) -> str | None:
    """A list or dict as one JSON text (a CSV cell keeps it whole); None stays None."""
    if value is None:
        return None
    return json.dumps(value, ensure_ascii=False, default=str)


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
        out.write(_("(nothing)") + "\n")
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
    from dataclasses import replace
    from types import MappingProxyType

    from trailkit.rules.health import inventory_health
    from trailkit.rules.ownership import owner_tag_keys
    from trailkit.ui.progress import progress_bar, scan
    from trailkit.ui.tables import (
        INVENTORY_COLUMNS,
        ORG_INVENTORY_COLUMNS,
        inventory_records,
        keys_frame,
    )

    conn = _connect(args)
    several = bool(getattr(args, "org", False) or getattr(args, "accounts", None))
    if several:
        # One inventory across the accounts (issue 16), on one bounded pool of calls.
        from trailkit.aws.org import scan_accounts

        access = _access(args, conn)
        chosen = access.accounts(
            org=bool(getattr(args, "org", False)),
            given=getattr(args, "accounts", None) or (),
            exclude=getattr(args, "exclude_accounts", None) or (),
        )
        with progress_bar(err.isatty()) as report:
            inv = scan_accounts(access, chosen, args.regions, progress=report)
    else:
        if getattr(args, "exclude_accounts", None):
            raise InputError(
                _("--exclude-accounts leaves accounts out of a scan of several accounts."),
                _("add --org or --accounts"),
            )
        for option, dest in (("--role-name", "role_name"), ("--external-id", "external_id")):
            # taken in silence, the operator who forgot --org would get one account, no word
            if hasattr(args, dest):
                raise InputError(
                    _(
                        "{option} names how to reach the other accounts of a scan of several "
                        "accounts; without --org or --accounts, inventory reads only the "
                        "caller's account."
                    ).format(option=option),
                    _("add --org or --accounts"),
                )
        inv = scan(conn, args.regions, progress=err.isatty())
    now = datetime.now(UTC)
    tag_keys = owner_tag_keys(getattr(args, "owner_tags", None) or ())
    rows = inventory_records(inv, inventory_health(inv), now=now, owner_tags=tag_keys)
    wanted = getattr(args, "health", None)
    shown = inv
    if wanted is not None:
        # an account or region that could not be read (no trail ARN) stays: it may hide any
        rows = [r for r in rows if r.get("trail_arn") is None or r.get("health") in wanted]
        # the keys table lists the keys of the trails shown, and says which of them use each
        arns = {r["trail_arn"] for r in rows}
        trails = tuple(t for t in inv.trails if t.arn in arns)
        used = {t.kms_key_id for t in trails}
        keys = MappingProxyType({a: k for a, k in inv.keys.items() if a in used})
        shown = replace(inv, trails=trails, keys=keys)
    if args.format == "table":
        from trailkit.ui.terminal import KEY_TABLE, TRAIL_TABLE, key_rows, trail_rows

        _print_header(inv.connection, out)
        if several:
            _say(
                out,
                _("accounts: {accounts} · regions: {regions} · trails: {trails}").format(
                    accounts=len(inv.accounts), regions=len(inv.regions), trails=len(inv.trails)
                )
                + "\n",
            )
        else:
            _say(
                out,
                _("regions scanned: {regions} · trails: {trails}").format(
                    regions=len(inv.regions), trails=len(inv.trails)
                )
                + "\n",
            )
        if several:  # one member's scan lists the management's organization trail too
            from trailkit.ui.terminal import ORG_TRAIL_TABLE

            _print_table(trail_rows(rows), out, ORG_TRAIL_TABLE)
        else:
            _print_table(trail_rows(rows), out, TRAIL_TABLE)
        keys = keys_frame(shown, now)
        if len(keys):
            out.write("\n" + _("Keys in use:") + "\n")
            _print_table(key_rows(keys.to_dict("records")), out, KEY_TABLE)
    else:
        if args.format == "csv":
            rows = [
                {
                    **r,
                    "health_reasons": _json_text(r.get("health_reasons")),
                    "key_replica_arns": _json_text(r.get("key_replica_arns")),
                }
                for r in rows
            ]
        columns = ORG_INVENTORY_COLUMNS if several else INVENTORY_COLUMNS
        write_records(rows, args.format, out, columns)
    for e in inv.errors:
        if e.account:
            name = inv.account_name(e.account)
            err.write(
                _("warning: account {account}: {problem}").format(
                    account=f"{name} ({e.account})" if name else e.account, problem=e.message
                )
                + "\n"
            )
        else:
            err.write(_("warning: {problem}").format(problem=e.message) + "\n")
    if getattr(args, "verbose", False):
        _print_calls(conn, err)
    if inv.partial:
        # "PARTIAL RESULT:" stays as it is in every language: a script may look for it.
        err.write(
            _("PARTIAL RESULT: {calls} failed; the table may be incomplete.").format(
                calls=_failed_calls(inv.errors)
            )
            + "\n"
        )
        return EXIT_NO
    return EXIT_OK


def _bucket_where(trail: Trail) -> str:
    """``in REGION``, ``(does not exist)`` or ``(region unknown)`` for a trail's bucket."""
    bucket = trail.bucket
    if bucket is not None and bucket.missing:
        return _("(does not exist)")
    if trail.bucket_region:
        return _("in {region}").format(region=trail.bucket_region)
    return _("(region unknown)")


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
        err.write("trailkit: " + _("blocked: {problem}").format(problem=_shown(exc)) + "\n")
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
        _say(
            out,
            _("trail: {trail} · bucket region: {region}").format(trail=trail.name, region=where)
            + "\n",
        )
        _print_table(candidate_rows(verdicts), out, CANDIDATE_TABLE)
    if getattr(args, "verbose", False):
        _print_calls(conn, err)
    kinds = {v.kind for v in verdicts}
    if VerdictKind.READY in kinds:
        return EXIT_OK
    return EXIT_UNVERIFIABLE if VerdictKind.UNVERIFIABLE in kinds else EXIT_NO


def cmd_explain(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    """``trailkit explain``: one trail's drill-down. Exit 0, or 1 for a partial result (a read
    or a history lookup failed: said on stderr as ``PARTIAL RESULT``); 2 for trailkit's own
    errors (usage, an unknown trail, no connection)."""
    from trailkit.rules.history import NOTE_CODES, parse_since

    since = None
    if args.since is not None:
        since = parse_since(args.since, datetime.now(UTC))  # InputError: exit 2, nothing read
    book = _runbook(args)
    conn = book.conn
    if args.format == "table":
        _print_header(conn.info(), out)  # who and where first, before anything is read
    found = book.explain(args.trail, since=since, history=args.history)
    if args.format == "json":
        _json_out(found.as_dict(), out, indent=2, default=str)
        out.write("\n")
    else:
        from trailkit.ui.terminal import explain_view

        _print(out, explain_view(found))
    if args.format == "json":  # (the table shows them in its "could not be read" lines)
        for e in found.all_errors:
            err.write(_("warning: {problem}").format(problem=e.message) + "\n")
    if getattr(args, "verbose", False):
        _print_calls(conn, err)
    if found.partial:
        # Notes of the history that are no failed call: another account's trail or key (not
        # looked up), more events than trailkit reads.
        failed = [e for e in found.all_errors if e.code not in NOTE_CODES]
        # "PARTIAL RESULT:" stays as it is in every language: a script may look for it.
        if failed:
            text = _("PARTIAL RESULT: {calls} failed; the drill-down may be incomplete.").format(
                calls=_failed_calls(failed)
            )
        else:
            text = _(
                "PARTIAL RESULT: part of the change history was not read (said above); the "
                "drill-down may be incomplete."
            )
        err.write(text + "\n")
        return EXIT_NO
    return EXIT_OK


def _pause(seconds: float) -> None:
    """How ``trailkit verify`` waits between looks (replaced in tests)."""
    import time

    time.sleep(seconds)


def _clock() -> float:
    """``trailkit verify``'s clock (replaced in tests)."""
    import time

    return time.monotonic()


def cmd_verify(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    """``trailkit verify``: the delivery proof of a trail's change. Exit 0 proven, 1 failed,
    3 pending or unverifiable (Ctrl-C while waiting: pending, recorded, no traceback); 2 for
    trailkit's own errors (usage, unknown trail, no connection)."""
    from trailkit.records import ProofStatus

    book = _runbook(args)
    info = book.info()
    if args.format == "table":
        _print_header(info, out)  # who and where first, before anything is read
    bar: Any = None
    if args.wait > 0 and err.isatty():
        from tqdm import tqdm

        bar = tqdm(
            total=int(args.wait),
            desc=_("waiting for delivery"),
            bar_format="{desc}: {bar} {n_fmt}/{total_fmt} s",
            file=err,
            leave=False,
        )

    def progress(proof: Any, left: float) -> None:
        if bar is not None:
            bar.n = int(max(args.wait - left, 0))
            bar.refresh()

    try:
        proof = book.verify_change(
            args.trail,
            change_id=args.change,
            wait=args.wait,
            progress=progress,
            sleep=_pause,
            clock=_clock,
        )
    finally:
        if bar is not None:
            bar.close()
    if args.format == "json":
        _json_out({"connection": info.as_dict(), "proof": proof.as_dict()}, out, indent=2)
        out.write("\n")
    else:
        from trailkit.ui.terminal import proof_view

        _print(out, proof_view(proof))
    if getattr(args, "verbose", False):
        _print_calls(book.conn, err)
    if proof.status is ProofStatus.PROVEN:
        return EXIT_OK
    if proof.status is ProofStatus.FAILED:
        return EXIT_NO
    return EXIT_UNVERIFIABLE


def _next_verify(
    results: Sequence[Any], out: TextIO, args: argparse.Namespace, journal: Any
) -> None:
    """After changes were applied: the command that proves each one's delivery, one line, as
    it must be run: with the role (``--role-name`` given, or the role a change of another
    account was made through, when not the default), ``--external-id`` and ``--journal`` when
    given."""
    import shlex

    from trailkit.records import Outcome
    from trailkit.rules.accounts import DEFAULT_ROLE_NAME

    for r in results:
        if r.outcome is Outcome.DONE and r.change_id:
            words = ["trailkit", "verify", "--trail", r.plan.trail.arn]
            role = getattr(args, "role_name", None)
            if role is None:
                with contextlib.suppress(TrailkitError):
                    role_arn = journal.get(r.change_id).intent.role_arn
                    role = role_arn.split(":role/", 1)[1] if role_arn else None
            if role and role != DEFAULT_ROLE_NAME:
                words += ["--role-name", role]
            if getattr(args, "external_id", None):
                words += ["--external-id", args.external_id]
            if getattr(args, "journal", None) is not None:
                words += ["--journal", str(args.journal)]
            words += ["--wait", "15m"]
            out.write(_("next: `{command}`").format(command=shlex.join(words)) + "\n")


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
            "trailkit: "
            + _(
                "the journal could not record the outcome of change {change}; "
                "the outcome record follows (keep it):"
            ).format(change=r.change_id)
            + "\n"
        )
        err.write(r.unjournaled + "\n")
    return bool(missing)


def _confirm_texts(action: str) -> tuple[str, str, str]:
    """(no terminal to ask on, the demo's question, real AWS's question) for ``action``: whole
    sentences in the language spoken (an action is never a fragment put into a sentence: the
    word order differs in Japanese).

    What the operator must type is the same in every language: ``yes`` on the demo, the names
    given in the question (the trail's, or the key's for a policy) on real AWS. A translation
    changes only the sentence around it, so an answer never depends on the language.
    """
    if action == "apply-unverifiable":
        return (
            _(
                "Refusing to apply this UNVERIFIABLE change without confirmation: there is no "
                "terminal to ask on."
            ),
            _("apply this UNVERIFIABLE change on the DEMO backend? Type 'yes' to confirm: "),
            _(
                "REAL AWS account {account}: type the trail name ({names}) to apply this "
                "UNVERIFIABLE change: "
            ),
        )
    if action == "replace-policy":
        return (
            _(
                "Refusing to replace the key policy without confirmation: there is no terminal "
                "to ask on."
            ),
            _("replace the key policy on the DEMO backend? Type 'yes' to confirm: "),
            _("REAL AWS account {account}: type the key ({names}) to replace the key policy: "),
        )
    if action == "restore-policy":
        return (
            _(
                "Refusing to restore the key policy without confirmation: there is no terminal "
                "to ask on."
            ),
            _("restore the key policy on the DEMO backend? Type 'yes' to confirm: "),
            _("REAL AWS account {account}: type the key ARN ({names}) to restore the key policy: "),
        )
    return (
        _("Refusing to apply this change without confirmation: there is no terminal to ask on."),
        _("apply this change on the DEMO backend? Type 'yes' to confirm: "),
        _("REAL AWS account {account}: type the trail name ({names}) to apply this change: "),
    )


def _confirm(
    args: argparse.Namespace,
    conn: Any,
    action: str,
    names: list[str],
    err: TextIO,
    *,
    account: str | None = None,
    notes: Sequence[str] = (),
) -> bool:
    """--yes, or a question on a terminal; no terminal and no --yes is a usage error.

    ``action``: ``apply``, ``apply-unverifiable``, ``replace-policy`` or ``restore-policy``
    (:func:`_confirm_texts`). The answer to type (``yes``, or the names) is not translated.
    ``account``: the account(s) the change is made in, when not the connection's own (a trail
    of another account, changed through its role). ``notes``: sentences said before the real
    AWS question (who manages the trail, :func:`_owner_notes`); the answer does not change.
    """
    from trailkit.errors import InputError

    if args.yes:
        return True
    refusal, demo_question, aws_question = _confirm_texts(action)
    if not sys.stdin.isatty():
        raise InputError(refusal, _("review the plan with --dry-run, then run again with --yes"))
    info = conn.info()
    if info.demo:
        err.write(demo_question)
        err.flush()
        return sys.stdin.readline().strip() == "yes"
    for note in notes:
        err.write(note + "\n")
    err.write(aws_question.format(account=account or info.account, names=", ".join(names)))
    err.flush()
    return sys.stdin.readline().strip() in (", ".join(names), *names[:1])


def _owner_notes(plans: Sequence[Any], args: argparse.Namespace) -> list[str]:
    """Who manages each planned trail and its target key (tags, Control Tower's name), one
    sentence per resource, for the real AWS confirmation: the change may not last
    (:mod:`trailkit.rules.ownership`). A trail is said to be managed only for its own owners;
    the target key's owners are said of the key, as ``trailkit check`` does."""
    from trailkit.rules.ownership import owner_tag_keys

    tag_keys = owner_tag_keys(getattr(args, "owner_tags", None) or ())
    notes: list[str] = []
    for plan in plans:
        trail = plan.report.trail or plan.trail
        notes += _resource_owner_notes(trail, plan.report.key, tag_keys)
    return list(dict.fromkeys(notes))


def _resource_owner_notes(trail: Any, key: Any, tag_keys: Sequence[str]) -> list[str]:
    """ "T is managed by ..." for the trail's owners, "The key K is managed by ..." for the
    key's (``key`` None: the trail's only)."""
    from trailkit.rules.ownership import owners

    found = owners(trail, key, tag_keys) if trail is not None else ()
    notes = []
    on_trail = list(dict.fromkeys(o.label for o in found if o.resource == "trail"))
    if on_trail:
        notes.append(
            _("{trail} is managed by {owners}; the next deployment may put it back.").format(
                trail=trail.name, owners=", ".join(on_trail)
            )
        )
    on_key = list(dict.fromkeys(o.label for o in found if o.resource == "key"))
    if key is not None and on_key:
        notes.append(
            _(
                "The key {key} is managed by {owners}; its next deployment may put its key "
                "policy back."
            ).format(key=key.label, owners=", ".join(on_key))
        )
    return notes


def _key_owner_notes(book: Any, repair: Any, args: argparse.Namespace) -> list[str]:
    """Who manages the key whose policy ``policy --apply`` replaces (its tags, read in the
    key's account by ``book``), for the real AWS confirmation: a stack that owns the key puts
    its own policy back, or a policy it deploys drops CloudTrail's statements (issue 17's
    motivating incident). A key whose tags cannot be read names no owner."""
    from trailkit.rules.ownership import owner_tag_keys, owners

    tag_keys = owner_tag_keys(getattr(args, "owner_tags", None) or ())
    try:
        key = book.reader.key_tags(repair.key)
    except TrailkitError:
        key = repair.key
    if not repair.trails:
        return []
    found = owners(repair.trails[0], key, tag_keys)
    on_key = list(dict.fromkeys(o.label for o in found if o.resource == "key"))
    if not on_key:
        return []
    return [
        _(
            "The key {key} is managed by {owners}; its next deployment may put its key policy back."
        ).format(key=key.label, owners=", ".join(on_key))
    ]


def _aliases(book: Any, plans: list[Any]) -> dict[str, str]:
    """Key ARN -> alias of the keys the plans' trails use now (the plan's report knows only
    the target key), so a plan names both sides by alias. Only the caller's own account's
    aliases can be listed; a key whose aliases cannot be read keeps its short id."""
    from trailkit.arn import arn_account, arn_region

    found: dict[str, str] = {}
    for plan in plans:
        arn = plan.before_key
        key = plan.report.key
        try:
            where = book.for_trail(plan.trail)  # the trail's account lists its own aliases
            caller = where.conn.info().account
            if not arn or (key is not None and key.arn == arn) or arn_account(arn) != caller:
                continue
            names = where.reader.aliases(arn_region(arn)).get(arn.rsplit("/", 1)[-1], ())
        except TrailkitError:
            continue
        if names:
            found[arn] = names[0]
    return found


def _plan_dict(book: Any, plan: Any) -> dict[str, Any]:
    """A plan as JSON, with ``role_arn``: the role assumed to change a trail of another
    account (None for the connection's own account)."""
    return {**plan.as_dict(), "role_arn": book.for_trail(plan.trail).conn.info().role_arn}


def _show_plans(plans: list[Any], args: argparse.Namespace, book: Any, out: TextIO) -> None:
    if args.format == "json":
        return
    from trailkit.ui.terminal import plan_view

    _print_header(book.conn.info(), out)
    aliases = _aliases(book, plans)
    for number, plan in enumerate(plans, 1):
        out.write("\n")
        role = book.for_trail(plan.trail).conn.info().role_arn
        _print(out, plan_view(plan, number=number, of=len(plans), aliases=aliases, role_arn=role))


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
        _json_out({"plans": [_plan_dict(book, p) for p in plans], "results": []}, out, indent=2)
        out.write("\n")
    for p in blocked:
        err.write(
            _("refused: {trail}: blocking findings ({codes}); nothing will be sent").format(
                trail=p.trail.name, codes=", ".join(f.code for f in p.report.errors)
            )
            + "\n"
        )
    if blocked:
        others = [p.trail.name for p in todo]
        if others:
            err.write(
                _(
                    "Nothing was sent to {trails} either: a change to several trails is "
                    "sent whole or not at all. Fix the blocked trails, or leave them out."
                ).format(trails=", ".join(others))
                + "\n"
            )
        return EXIT_NO
    if not todo:
        if args.format != "json":
            out.write(
                "\n" + _("Nothing to do: every trail already is in the requested state.") + "\n"
            )
        return EXIT_OK
    unverified = [p for p in todo if p.report.unverifiable]
    accepted = getattr(args, "accept_unverifiable", False) is True
    for p in unverified:
        codes = ", ".join(f.code for f in p.report.findings if f.code in UNVERIFIED_CODES)
        if accepted:
            line = _(
                "warning: {trail}: UNVERIFIABLE ({codes}): trailkit could not check everything "
                "AWS will; sending anyway (--accept-unverifiable)"
            )
        else:
            line = _(
                "refused: {trail}: UNVERIFIABLE ({codes}): trailkit could not check everything "
                "AWS will; nothing will be sent without --accept-unverifiable, given once the "
                "key's and the bucket's owners confirmed what could not be checked"
            )
        err.write(line.format(trail=p.trail.name, codes=codes) + "\n")
    if args.dry_run:
        if args.format != "json":
            out.write("\n" + _("Dry run: nothing was sent.") + "\n")
        return EXIT_UNVERIFIABLE if unverified and not accepted else EXIT_OK
    if unverified and not accepted:
        return EXIT_UNVERIFIABLE
    names = [p.trail.name for p in todo]
    action = "apply-unverifiable" if unverified else "apply"
    accounts = ", ".join(sorted({p.account for p in todo}))
    notes = _owner_notes(todo, args)
    if not _confirm(args, conn, action, names, err, account=accounts, notes=notes):
        err.write(_("Not confirmed: nothing was sent.") + "\n")
        return EXIT_NO
    journal = book.journal
    results = book.apply_many(todo, confirmed=True)
    if args.format == "json":
        _json_out(
            {
                "plans": [_plan_dict(book, p) for p in plans],
                "results": [r.as_dict() for r in results],
            },
            out,
            indent=2,
        )
        out.write("\n")
    else:
        from trailkit.ui.terminal import results_view

        out.write("\n")
        _print(out, results_view(results, journal.path))
    # JSON on stdout stays one document: the next step goes to stderr there.
    _next_verify(results, err if args.format == "json" else out, args, book.journal)
    outcomes = {r.outcome for r in results}
    if _report_unjournaled(results, err):
        return EXIT_ERROR
    if Outcome.UNKNOWN in outcomes:
        err.write(_("outcome unknown for some changes: run `trailkit journal --reconcile`") + "\n")
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
            "plans": [_plan_dict(book, p) for p in plans],
            "results": [],
            "errors": [{"trail": t, "message": str(e)} for t, e in failed],
        }
        _json_out(payload, out, indent=2)
        out.write("\n")
    elif plans:
        _show_plans(plans, args, book, out)
    for trail, problem in failed:
        err.write(
            "trailkit: "
            + _("{trail}: cannot be planned: {problem}").format(trail=trail, problem=problem)
            + "\n"
        )
    planned = ", ".join(p.trail.name for p in plans)
    if planned:
        text = _(
            "Nothing was sent, to {trails} either: a change to several trails is sent whole or "
            "not at all. Fix the trails named above, or leave them out."
        ).format(trails=planned)
    else:
        text = _(
            "Nothing was sent: a change to several trails is sent whole or not at all. Fix the "
            "trails named above, or leave them out."
        )
    err.write(text + "\n")
    return EXIT_ERROR


def _warn_damage(journal: Any, err: TextIO) -> None:
    """The damaged-line warnings ``trailkit journal`` prints, for a command that read the journal
    to choose a change: a torn line may be a lost outcome, which leaves its change without one."""
    try:
        problems = journal.parsed_problems()
    except TrailkitError:  # unreadable: the command's own error says so
        return
    for problem in problems:
        err.write(_("warning: {path}: {problem}").format(path=journal.path, problem=problem) + "\n")
    if problems:
        err.write(
            ngettext(
                "warning: {n} damaged line in the journal was skipped: "
                "`trailkit journal` lists them; a change whose outcome line was lost shows no "
                "outcome there, and `trailkit journal --reconcile` settles it from AWS",
                "warning: {n} damaged lines in the journal were skipped: "
                "`trailkit journal` lists them; a change whose outcome line was lost shows no "
                "outcome there, and `trailkit journal --reconcile` settles it from AWS",
                len(problems),
            ).format(n=len(problems))
            + "\n"
        )


def _nothing_to_undo(exc: Any, args: argparse.Namespace, out: TextIO) -> int:
    """``--last`` found every change made here undone already: nothing to do, exit 0."""
    if args.format == "json":
        _json_out({"plans": [], "results": [], "message": exc.message}, out, indent=2)
        out.write("\n")
    else:
        fix = f"{exc.fix[:1].upper()}{exc.fix[1:]}"
        out.write(_("{message} {fix}.").format(message=exc.message, fix=fix) + "\n")
    return EXIT_OK


def cmd_rollback(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    """``trailkit rollback``: ``--last`` with every change made here undone already exits 0
    (nothing to do); no journal, or a change without an outcome, is an error (exit 2)."""
    from trailkit.errors import NothingToUndo

    book = _runbook(args)
    try:
        change = book.rollback_target(None if args.last else args.change)
        # A change made in another account is undone there, through the role it recorded:
        # the header, the plan, the question and the write all name that account.
        book = book.for_change(change)
        plan = book.plan_rollback(change.change_id)
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
    from trailkit.records.journal import STATUS_WORDS, changes_frame, undone_by

    journal = _journal(args)
    named = getattr(args, "journal", None) is not None or bool(
        os.environ.get("TRAILKIT_JOURNAL", "").strip()
    )
    if named and not journal.path.exists():
        from trailkit.errors import JournalError

        raise JournalError(
            _("No journal at {path}: nothing was recorded there.").format(path=journal.path),
            _(
                "check the path given with --journal (or $TRAILKIT_JOURNAL); without either, "
                "`trailkit journal` shows the default journal"
            ),
        )
    if args.reconcile:
        from trailkit.runbook import Runbook  # boto3 only when AWS is read (0.3-0.6 s)

        skipped: list[str] = []
        conn = _connect(args)
        book = Runbook(conn, journal, access=_access(args, conn))
        settled = book.reconcile(
            on_skip=lambda change, why: skipped.append(
                _("left pending {change}: {why}").format(change=change.change_id, why=why) + "\n"
            )
        )
        for change, record in settled:
            err.write(
                _("reconciled {change}: {status} ({note})").format(
                    change=change.change_id,
                    status=_word(change.status, STATUS_WORDS),
                    note=record.note,
                )
                + "\n"
            )
        for line in skipped:
            err.write(line)
        if not settled and not skipped:
            err.write(_("nothing to reconcile") + "\n")
    result = journal.read()
    for problem in result.problems:
        err.write(_("warning: {path}: {problem}").format(path=journal.path, problem=problem) + "\n")
    changes = journal.changes()
    if args.format == "json":
        _json_out(changes_frame(changes), out, indent=2, default=str)
        out.write("\n")
    elif args.all:
        from trailkit.ui.terminal import sse_s3_shown

        out.write(_("journal: {path}").format(path=journal.path) + "\n")
        _write_plain_table(sse_s3_shown(changes_frame(changes)), out, JOURNAL_COLUMNS)
    else:
        from trailkit.ui.terminal import JOURNAL_TABLE, journal_rows

        _say(out, _("journal: {path}").format(path=journal.path))
        shown = changes[-JOURNAL_ROWS:]
        rows = changes_frame(shown, undone_by(changes))
        # The delivery column only once some change shown has a delivery proof: a journal
        # without any keeps its width for what changed.
        proved = any(change.verification is not None for change in shown)
        columns = tuple(c for c in JOURNAL_TABLE if proved or c.field != "delivery")
        _print_table(journal_rows(rows), out, columns)
        left_out = changes[: len(changes) - len(shown)]
        if left_out:
            unsettled = sum(1 for c in left_out if not c.settled)
            if unsettled:
                text = _(
                    "Showing the newest {shown} of {total} changes: {older} older ones are not "
                    "shown ({unsettled} of them without an outcome). Every change: `trailkit "
                    "journal --all` (one line each) or `--format json`."
                )
            else:
                text = _(
                    "Showing the newest {shown} of {total} changes: {older} older ones are not "
                    "shown. Every change: `trailkit journal --all` (one line each) or "
                    "`--format json`."
                )
            out.write("\n")
            _say(
                out,
                text.format(
                    shown=len(shown), total=len(changes), older=len(left_out), unsettled=unsettled
                ),
            )
    pending = [c for c in changes if not c.settled]
    if pending and not args.reconcile:
        err.write(
            ngettext(
                "{n} change has no outcome: run `trailkit journal --reconcile`",
                "{n} changes have no outcome: run `trailkit journal --reconcile`",
                len(pending),
            ).format(n=len(pending))
            + "\n"
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
                _("--restore puts back a recorded policy; {options} would be ignored.").format(
                    options=_(" and ").join(extra)
                ),
                _(
                    "give --restore [CHANGE_ID] alone (the change names its key), or repair with "
                    "--trail and --key without --restore"
                ),
            )
        return _restore_policy(args, out, err)
    if args.key is not None:
        _require_key(args.key)
    if not args.trail or not args.key:
        raise InputError(
            _("policy needs --trail and --key (or --restore)."), _("see trailkit policy -h")
        )
    parse_principals(args.readers)  # a bad --readers is a usage error, before any AWS call
    book = _runbook(args)
    conn = book.conn
    repair = book.plan_repair(args.trail, args.key, readers=args.readers)
    book = book.for_key(repair.key.arn)  # a key of another account is changed there
    conn = book.conn
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
                "\n"
                + (
                    _("Dry run: nothing was sent.")
                    if args.dry_run
                    else _("Nothing sent (add --apply to send it).")
                )
                + "\n"
            )
        return EXIT_OK
    notes = [] if args.yes else _key_owner_notes(book, repair, args)
    if not _confirm(args, conn, "replace-policy", [repair.key.label], err, notes=notes):
        err.write(_("Not confirmed: nothing was sent.") + "\n")
        return EXIT_NO
    result = book.apply_repair(repair, confirmed=True)
    if args.format != "json":
        out.write(
            "\n"
            + _("{outcome}: {message} (change {change})").format(
                outcome=_word(result.outcome, OUTCOME_WORDS, upper=True),
                message=result.message,
                change=result.change_id,
            )
            + "\n"
        )
    if _report_unjournaled([result], err) or result.outcome in (Outcome.FAILED, Outcome.UNKNOWN):
        return EXIT_ERROR
    book.refresh()
    worst = EXIT_OK
    for trail in repair.trails:
        report = book.check(trail.arn, repair.key.arn)
        if args.format != "json":
            out.write(
                _("pre-flight {trail}: {verdict}").format(
                    trail=trail.name, verdict=_word(report.verdict, VERDICT_WORDS)
                )
                + "\n"
            )
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
            out.write("\n" + _("Nothing to do: the key already has that policy.") + "\n")
    elif restore.changed_since:
        err.write(
            _(
                "refused: the policy of {key} changed since change {change}; nothing will be "
                "sent (review it with `trailkit policy --trail T --key K`)"
            ).format(key=restore.key_arn, change=restore.change_id)
            + "\n"
        )
        code = EXIT_NO
    elif args.dry_run:
        if args.format != "json":
            out.write("\n" + _("Dry run: nothing was sent.") + "\n")
    elif not _confirm(args, conn, "restore-policy", [restore.key_arn], err):
        err.write(_("Not confirmed: nothing was sent.") + "\n")
        code = EXIT_NO
    else:
        result = book.apply_restore(restore, confirmed=True)
        if args.format != "json":
            out.write(
                "\n"
                + _("{outcome}: {message}").format(
                    outcome=_word(result.outcome, OUTCOME_WORDS, upper=True), message=result.message
                )
                + "\n"
            )
        if _report_unjournaled([result], err):
            code = EXIT_ERROR
        elif result.outcome not in (Outcome.DONE, Outcome.UNCHANGED):
            code = EXIT_NO if result.outcome is Outcome.REFUSED else EXIT_ERROR
    if args.format == "json":
        payload = {"restore": restore.as_dict(), "result": result.as_dict() if result else None}
        _json_out(payload, out, indent=2)
        out.write("\n")
    return code


def cmd_snippet(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    """``trailkit snippet``: the code alone on stdout; the connection and the notes on stderr."""
    _require_key(args.key)
    book = _runbook(args)
    _print_header(book.conn.info(), err)
    made = book.snippet(args.trail, args.key, args.format)
    for note in made.notes:  # whole lines: a wrap could split a `name` in two
        err.write(note + "\n")
    out.write(made.text)
    return EXIT_OK


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
    """(option, value) of the last ``--lang`` in ``argv``, else of ``TRAILKIT_LANG`` if set.

    argparse takes an abbreviation of an option (``--lan ja``, ``--la=ja``), so this does too:
    else the language asked for would be parsed and never spoken."""
    asked: tuple[str, str] | None = None
    words = list(argv)
    for i, word in enumerate(words):
        if word == "--":
            break
        option, equals, value = word.partition("=")
        if len(option) < len("--la") or not "--lang".startswith(option):
            continue
        if equals:
            asked = ("--lang", value)
        elif i + 1 < len(words):
            asked = ("--lang", words[i + 1])
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
        # Said in the language the environment asks for (the one asked for is not spoken).
        set_language(None)
        return "trailkit: " + _(
            "{option} {value} is not a language trailkit speaks: give {languages} (e.g. {example})"
        ).format(
            option=option,
            value=repr(value),
            languages=_(" or ").join(LANGUAGES),
            example=f"{option}{' ' if option == '--lang' else '='}ja",
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
        err.write("trailkit: " + _("refused: {problem}").format(problem=_shown(exc)) + "\n")
        return EXIT_NO
    except UnverifiableError as exc:
        err.write("trailkit: " + _("unverifiable: {problem}").format(problem=_shown(exc)) + "\n")
        return EXIT_UNVERIFIABLE
    except TrailkitError as exc:
        err.write(f"trailkit: {_shown(exc)}\n")
        return EXIT_ERROR
    except KeyboardInterrupt:
        err.write(_interrupted(marks) + "\n")
        return 130
