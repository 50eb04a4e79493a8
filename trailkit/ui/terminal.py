"""The command line's terminal output, on ``rich``: width, colour, tables and the plan.

Width
    ``$COLUMNS`` when set; else the terminal's width when the output is a terminal; else
    :data:`DEFAULT_WIDTH` (120: output to a file, a pipe or CI). No line is wider: rich wraps
    text at spaces and folds longer words, cell by cell.
Colour
    Only on a terminal, never with ``NO_COLOR`` set to anything (https://no-color.org) or
    ``TERM=dumb``: without colour there are no escape codes at all, not even bold. Verdicts,
    key states, severities, journal statuses and outcomes are coloured: green for
    ready/enabled/done, yellow for unverifiable/pending/warnings, red for
    blocked/disabled/failed.
Values
    Tables show ARNs in a short form (:func:`trailkit.arn.short_arn`: the trail name,
    ``key/1234abcd…``, the alias); ``--format json`` and ``csv`` keep every value whole. The
    request a plan will send is always shown whole.

rich is imported here and nowhere else in trailkit (the import contracts keep it in
:mod:`trailkit.ui`).
"""

from __future__ import annotations

import io
import os
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, TextIO

from rich import box
from rich.console import Console, Group, RenderableType
from rich.table import Table
from rich.text import Text

from trailkit.arn import arn_account, arn_region, short_arn
from trailkit.records import ConnectionInfo

__all__ = [
    "DEFAULT_WIDTH",
    "ENCRYPTION_STYLES",
    "KEY_STATE_STYLES",
    "OUTCOME_STYLES",
    "SEVERITY_STYLES",
    "STATUS_STYLES",
    "VERDICT_STYLES",
    "Col",
    "console_for",
    "emit",
    "findings_table",
    "header_text",
    "journal_rows",
    "plan_view",
    "records_table",
    "styled",
    "terminal_width",
    "use_colour",
]

_ARN_RE = re.compile(r"arn:[^\s,;()]+")
_SGR_RE = re.compile(r"\x1b\[[0-9;]*m")
_TAIL_RE = re.compile(r"(?: |\x1b\[[0-9;]*m)+$")

#: Width when the output is not a terminal and ``$COLUMNS`` is not set.
DEFAULT_WIDTH = 120

_GOOD, _WARN, _BAD = "bold green", "bold yellow", "bold red"

#: ``trailkit check`` / ``keys`` verdicts.
VERDICT_STYLES: Mapping[str, str] = {"ready": _GOOD, "unverifiable": _WARN, "blocked": _BAD}
#: KMS key states (``DescribeKey``'s ``KeyState``); only Enabled keys can be used.
KEY_STATE_STYLES: Mapping[str, str] = {
    "enabled": "green",
    "disabled": _BAD,
    "pendingdeletion": _BAD,
    "pendingreplicadeletion": _BAD,
    "unavailable": _BAD,
    "pendingimport": _WARN,
    "creating": _WARN,
    "updating": _WARN,
}
#: Finding severities.
SEVERITY_STYLES: Mapping[str, str] = {"error": _BAD, "warning": "yellow", "info": "cyan"}
#: Journal statuses (:attr:`trailkit.records.journal.Change.status`).
STATUS_STYLES: Mapping[str, str] = {
    "done": "green",
    "reconciled-done": "green",
    "failed": _BAD,
    "pending": _WARN,
    "reconciled-not-applied": "yellow",
    "reconciled-changed": _WARN,
    "reconciled-target-gone": "yellow",
}
#: Write outcomes (:class:`trailkit.records.Outcome`).
OUTCOME_STYLES: Mapping[str, str] = {
    "done": _GOOD,
    "unchanged": "green",
    "failed": _BAD,
    "refused": _BAD,
    "unknown": _WARN,
}
#: A trail's encryption (as the notebook's trails table colours it).
ENCRYPTION_STYLES: Mapping[str, str] = {"sse-kms": "green", "sse-s3": "yellow"}
#: Yes/no columns where "no" deserves a look (a trail that is not logging).
_NO_IS_BAD: Mapping[str, str] = {"no": "yellow"}


def _env(name: str) -> str:
    return os.environ.get(name, "")


def _isatty(out: TextIO) -> bool:
    try:
        return bool(out.isatty())
    except (OSError, ValueError):
        return False


def terminal_width(out: TextIO) -> int:
    """The width to render for: ``$COLUMNS``, else the terminal's, else :data:`DEFAULT_WIDTH`.

    Parameters
    ----------
    out
        The stream the command writes its results to.
    """
    columns = _env("COLUMNS").strip()
    if columns.isdigit() and int(columns) > 0:
        return int(columns)
    if _isatty(out):
        try:
            size = os.get_terminal_size(out.fileno()).columns
        except (OSError, ValueError, AttributeError, io.UnsupportedOperation):
            size = 0  # a stream without a descriptor that says it is a terminal
        if size > 0:
            return size
    return DEFAULT_WIDTH


def use_colour(out: TextIO) -> bool:
    """Colour only on a terminal; never with ``NO_COLOR`` set to a non-empty value, nor on
    ``TERM=dumb``. Output to a file or a pipe has no escape codes, whatever the environment."""
    if _env("NO_COLOR") or _env("TERM") == "dumb":
        return False
    return _isatty(out)


def console_for(out: TextIO, *, width: int | None = None, colour: bool | None = None) -> Console:
    """A rich console writing to ``out`` with trailkit's width and colour rules.

    Markup, emoji codes and rich's automatic highlighting are off: text from AWS (a message
    with ``[brackets]``, an ARN with numbers) is printed as it is, and only the styles this
    module chooses are coloured.

    Parameters
    ----------
    out
        The stream to write to.
    width, colour
        Override :func:`terminal_width` and :func:`use_colour` (tests, tools).
    """
    colour = use_colour(out) if colour is None else colour
    return Console(
        file=out,
        width=width or terminal_width(out),
        height=25,
        force_terminal=colour,
        force_jupyter=False,
        force_interactive=False,
        color_system="standard" if colour else None,
        no_color=not colour,
        markup=False,
        emoji=False,
        highlight=False,
        soft_wrap=False,
        legacy_windows=False,
        safe_box=True,
    )


def emit(console: Console, *renderables: RenderableType) -> None:
    """Print ``renderables`` on ``console`` without the spaces rich pads lines with."""
    with console.capture() as capture:
        console.print(*renderables)
    console.file.write("\n".join(_rstrip(line) for line in capture.get().split("\n")))


def _rstrip(line: str) -> str:
    """``line`` without trailing spaces, keeping the escape codes among them (a style's end)."""
    tail = _TAIL_RE.search(line)
    if tail is None:
        return line
    return line[: tail.start()] + "".join(_SGR_RE.findall(tail.group()))


def styled(value: Any, styles: Mapping[str, str] | None = None, *, upper: bool = False) -> Text:
    """``value`` as text (``None`` as ``-``, booleans as yes/no), styled by its lower-case text.

    Parameters
    ----------
    value
        A cell's value.
    styles
        Lower-case text to rich style (e.g. :data:`VERDICT_STYLES`).
    upper
        Show the text in capitals (verdicts and outcomes, so they stand out without colour).
    """
    if value is None or (isinstance(value, float) and value != value):  # None or NaN
        text = "-"
    elif isinstance(value, bool):
        text = "yes" if value else "no"
    else:
        text = str(value)
    style = (styles or {}).get(text.lower(), "")
    out = Text()  # the style covers this text only, not what a caller appends
    out.append(text.upper() if upper else text, style=style)
    return out


@dataclass(frozen=True)
class Col:
    """One column of a terminal table.

    Parameters
    ----------
    field
        The record's key.
    header
        The column's title (default: ``field``).
    styles
        Lower-case text to rich style, for the cells of this column.
    short
        Show ARNs in their short form (:func:`trailkit.arn.short_arn`).
    upper
        Show the text in capitals.
    no_wrap
        Keep the cell on one line when there is room for it (short words: verdicts, states).
    sub
        Another field shown dimmed on a second line of the cell (a name's region).
    """

    field: str
    header: str | None = None
    styles: Mapping[str, str] | None = None
    short: bool = False
    upper: bool = False
    no_wrap: bool = False
    sub: str | None = None

    def cell(self, row: Mapping[str, Any]) -> Text:
        """The cell of ``row`` in this column."""
        value = row.get(self.field)
        if self.short and isinstance(value, str):
            value = _short_all(value)
        text = styled(value, self.styles, upper=self.upper)
        if self.sub is not None and row.get(self.sub) is not None:
            text.append("\n")
            text.append(str(row[self.sub]), style="dim")
        return text


def records_table(rows: Iterable[Mapping[str, Any]], columns: Sequence[Col]) -> Table:
    """A left-aligned table of records that rich fits to the console's width.

    Long cells wrap at spaces and fold long words; the first column starts at the left margin.

    Parameters
    ----------
    rows
        Records (dicts) with at least the columns' fields (a missing one shows ``-``).
    columns
        What to show, in order.
    """
    table = _table([c.header or c.field for c in columns], no_wrap=[c.no_wrap for c in columns])
    for row in rows:
        table.add_row(*(col.cell(row) for col in columns))
    return table


def _table(headers: Sequence[str], no_wrap: Sequence[bool]) -> Table:
    table = Table(
        box=box.SIMPLE_HEAD,
        show_edge=False,
        pad_edge=False,
        padding=(0, 1, 0, 0),
        header_style="bold",
    )
    for title, keep in zip(headers, no_wrap, strict=True):
        table.add_column(title, overflow="fold", no_wrap=keep, justify="left")
    return table


def header_text(info: ConnectionInfo, width: int) -> Text:
    """Who and where, as lines of at most ``width`` characters broken between parts.

    The backend comes first (``REAL AWS`` in bold red on a terminal), then account, endpoint,
    region and caller (:meth:`ConnectionInfo.header_parts`); a part longer than the line is
    folded by rich.
    """
    parts = info.header_parts()
    lines: list[list[str]] = [[]]
    used = 0
    for part in parts:
        need = len(part) + (3 if lines[-1] else 0)
        if lines[-1] and used + need > width:
            lines.append([])
            used, need = 0, len(part)
        lines[-1].append(part)
        used += need
    text = Text()
    for i, line in enumerate(lines):
        if i:
            text.append("\n")
        for j, part in enumerate(line):
            if j:
                text.append(" · ")
            if i == 0 and j == 0:
                text.append(part, style="bold red" if not info.demo else "bold cyan")
            else:
                text.append(part)
    return text


def findings_table(findings: Iterable[Mapping[str, Any]], *, remedy: bool = True) -> Table:
    """Findings as severity, code and message (the remedy, when asked, under the message).

    Parameters
    ----------
    findings
        ``Finding.as_dict()`` records.
    remedy
        Add each finding's remedy on a line of its own, after ``→``.
    """
    table = _table(["severity", "code", "message"], no_wrap=(True, True, False))
    for f in findings:
        message = Text(str(f.get("message") or ""))
        if remedy and f.get("remedy"):
            message.append(f"\n→ {f['remedy']}")
        table.add_row(styled(f.get("severity"), SEVERITY_STYLES), styled(f.get("code")), message)
    return table


def _key_label(plan: Any, arn: str | None) -> Text:
    """``SSE-S3``, or ``SSE-KMS`` with the key's alias and short id."""
    text = Text()
    if arn is None:
        text.append("SSE-S3", style=ENCRYPTION_STYLES["sse-s3"])
        return text
    text.append("SSE-KMS", style=ENCRYPTION_STYLES["sse-kms"])
    key = plan.report.key
    if key is not None and key.arn == arn:
        if key.alias:
            text.append(f" {key.alias} ({short_arn(arn)})")
        else:
            text.append(f" {short_arn(arn)}")
        if key.state and key.state != "Enabled":
            text.append(" ")
            text.append(key.state, style=KEY_STATE_STYLES.get(key.state.lower(), ""))
    else:
        text.append(f" {short_arn(arn)}")
    return text


def plan_view(plan: Any, *, number: int = 1, of: int = 1) -> RenderableType:
    """A plan as the operator reads it before confirming, top to bottom.

    trail, encryption before → after, where the request is sent, the verdict and findings, and
    the exact request (every value whole: this is what will be sent).

    Parameters
    ----------
    plan
        A :class:`trailkit.rules.plan.Plan`.
    number, of
        Its place among the plans of the command (shown when there are several).
    """
    grid = Table.grid(padding=(0, 2))
    grid.add_column(style="bold", no_wrap=True)
    grid.add_column(overflow="fold")
    trail = Text()
    trail.append(plan.trail.name, style="bold")
    trail.append(f"\n{plan.trail.arn}")
    grid.add_row("trail", trail)
    if plan.rollback_of:
        grid.add_row("rollback of", Text(plan.rollback_of))
    change = _key_label(plan, plan.before_key)
    change.append("  →  ")
    change.append_text(_key_label(plan, plan.after_key))
    grid.add_row("encryption", change)
    grid.add_row("sent to", Text(f"UpdateTrail in {plan.region} (account {plan.account})"))
    verdict = plan.report.verdict.value
    verdict_text = styled(verdict, VERDICT_STYLES, upper=True)
    if plan.nothing_to_do:
        verdict_text.append(" (nothing to do: the trail already is in this state)")
    elif plan.blocked:
        verdict_text.append(" (blocking findings: nothing will be sent)")
    grid.add_row("verdict", verdict_text)
    findings = [f.as_dict() for f in plan.report.findings]
    grid.add_row("findings", findings_table(findings) if findings else Text("none"))
    request = Table.grid(padding=(0, 2, 0, 0))
    request.add_column(no_wrap=True)
    request.add_column(overflow="fold")
    for name, value in plan.request.items():
        request.add_row(Text(name), Text(value or '""'))
    grid.add_row("request", request)
    title = Text(f"Plan {number} of {of}: " if of > 1 else "Plan: ", style="bold")
    title.append(plan.trail.name, style="bold")
    return Group(title, grid)


#: ``trailkit inventory``: the trails, each name with its region under it (JSON and CSV have
#: every field of ``TRAIL_COLUMNS``).
TRAIL_TABLE: tuple[Col, ...] = (
    Col("name", "trail", sub="home_region", no_wrap=True),
    Col("encryption", styles=ENCRYPTION_STYLES, no_wrap=True),
    Col("key_alias", "key", short=True, sub="key_region"),
    Col("key_state", "key state", styles=KEY_STATE_STYLES),
    Col("bucket", sub="bucket_region"),
    Col("problems"),
)
#: ``trailkit inventory``: the keys in use.
KEY_TABLE: tuple[Col, ...] = (
    Col("key", short=True, sub="region"),
    Col("account"),
    Col("state", styles=KEY_STATE_STYLES),
    Col("manager"),
    Col("used_by", "used by"),
    Col("problems"),
)
#: ``trailkit keys``: the candidates, ranked.
CANDIDATE_TABLE: tuple[Col, ...] = (
    Col("verdict", styles=VERDICT_STYLES, upper=True, no_wrap=True),
    Col("key", short=True),
    Col("code", "code / warnings", sub="warnings"),
    Col("reason"),
)
#: ``trailkit journal``: one change per row (JSON and ``--all`` have every field whole).
JOURNAL_TABLE: tuple[Col, ...] = (
    Col("change_id", "change id / time", sub="time", no_wrap=True),
    Col("status", styles=STATUS_STYLES),
    Col("what", "what / where", sub="where"),
)


def _short_all(text: str) -> str:
    return _ARN_RE.sub(lambda m: short_arn(m.group()), text)


def sse_s3_shown(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """``changes_frame`` rows with a trail's missing key (before or after) shown as ``SSE-S3``.

    In the journal, None for a trail key means the trail used (or is to use) SSE-S3; a table
    shows the word, where ``-`` would read as "unknown" (a trail found deleted by reconcile
    keeps ``-`` after). Rows are changed in place.
    """
    for r in rows:
        if r.get("kind") == "trail-key":
            if r.get("before") is None:
                r["before"] = "SSE-S3"
            if r.get("after") is None and r.get("status") != "reconciled-target-gone":
                r["after"] = "SSE-S3"
    return rows


def journal_rows(records: Iterable[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """``changes_frame`` rows with what changed (kind, target, before → after, the change it
    undoes, the rollback that undid it) and where (backend, account, endpoint) in one cell
    each, ARNs shortened and a trail's missing key shown as SSE-S3."""
    rows = []
    for r in sse_s3_shown([dict(r) for r in records]):
        what = (
            f"{r.get('kind')} {_short_all(str(r.get('target_arn') or '-'))}: "
            f"{_short_all(str(r.get('before') or '-'))} → "
            f"{_short_all(str(r.get('after') or '-'))}"
        )
        if r.get("rollback_of"):
            what += f"\nrollback of {r['rollback_of']}"
        if r.get("undone_by"):
            what += f"\nundone by {r['undone_by']}"
        where = f"{r.get('backend') or '-'} · account {r.get('account') or '-'}"
        rows.append({**r, "what": what, "where": f"{where} · {r.get('endpoint') or '-'}"})
    return rows


def trail_rows(records: Iterable[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Inventory records with the key shown by alias (else its short id) and every problem of
    the trail (not logging, read errors, the latest delivery errors) in one ``problems`` cell."""
    rows = []
    for r in records:
        problems = ["not logging"] if r.get("logging") is False else []
        if r.get("error"):
            problems.append(str(r["error"]))
        if r.get("latest_delivery_error"):
            problems.append(f"delivery: {r['latest_delivery_error']}")
        if r.get("latest_digest_delivery_error"):
            problems.append(f"digest delivery: {r['latest_digest_delivery_error']}")
        rows.append(
            {
                **r,
                "key_alias": r.get("key_alias") or r.get("key_arn"),
                "problems": "; ".join(problems) or None,
            }
        )
    return rows


def key_rows(records: Iterable[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """``keys_frame`` records with a ``key`` cell (the aliases, else the key ARN) and the key's
    problems (a region other than its trails' buckets', a read error) in one cell."""
    rows = []
    for r in records:
        problems = [] if r.get("in_bucket_region") is not False else ["not in the bucket region"]
        if r.get("error"):
            problems.append(str(r["error"]))
        rows.append(
            {
                **r,
                "key": r.get("alias") or r.get("key_arn"),
                "problems": "; ".join(problems) or None,
            }
        )
    return rows


def candidate_rows(verdicts: Iterable[Any]) -> list[dict[str, Any]]:
    """``trailkit keys`` rows: verdict, the key by alias (else its ARN), the blocking code with
    the warning codes under it, and the reason (which names a key state other than Enabled);
    JSON and CSV keep ``Verdict.as_dict``."""
    return [
        {
            "verdict": str(v.kind),
            "key": v.key.alias or v.key.arn,
            "code": v.code,
            "warnings": ", ".join(getattr(v, "warnings", ())) or None,
            "reason": v.reason,
        }
        for v in verdicts
    ]


def _key_line(key: Any, arn: str) -> Text:
    """A key as alias (short id) · region · account · state (coloured when not Enabled)."""
    label = f"{key.alias} ({short_arn(arn)})" if key is not None and key.alias else short_arn(arn)
    text = Text(label)
    region, account = arn_region(arn), arn_account(arn)
    if region:
        text.append(f" · {region}")
    if account:
        text.append(f" · account {account}")
    if key is not None and key.arn == arn and key.state:
        text.append(" · ")
        text.append(key.state, style=KEY_STATE_STYLES.get(key.state.lower(), ""))
    return text


def check_view(report: Any) -> RenderableType:
    """``trailkit check``: trail, key (what the input resolved to), bucket, verdict, findings.

    Parameters
    ----------
    report
        A :class:`trailkit.rules.checks.Report`.
    """
    grid = Table.grid(padding=(0, 1, 0, 0))
    grid.add_column(no_wrap=True)
    grid.add_column(overflow="fold")
    trail = report.trail
    if trail is None:
        grid.add_row("trail:", Text(f"{report.trail_input!r} (not found)"))
    else:
        grid.add_row(
            "trail:", Text(f"{trail.name} · {trail.home_region} · account {trail.account}")
        )
    key = Text(f"{report.key_input!r} → ")
    if report.key_arn:
        key.append_text(_key_line(report.key, report.key_arn))
    else:
        key.append("-")
    grid.add_row("key:", key)
    if trail is not None:
        if trail.bucket is not None and trail.bucket.missing:
            where = "(does not exist)"
        else:
            where = f"in {trail.bucket_region}" if trail.bucket_region else "(region unknown)"
        grid.add_row("bucket:", Text(f"{trail.bucket_name} {where}"))
    grid.add_row("verdict:", styled(report.verdict.value, VERDICT_STYLES, upper=True))
    findings = [f.as_dict() for f in report.findings]
    body = findings_table(findings) if findings else Text("No findings: every check passed.")
    return Group(grid, Text(""), body)


def results_view(results: Iterable[Any], journal_path: Any) -> RenderableType:
    """What each write did: outcome, message, change id, delivery, and how to undo it.

    Parameters
    ----------
    results
        :class:`trailkit.records.WriteResult` records of trail changes.
    journal_path
        Where the change ids are recorded.
    """
    grid = Table.grid(padding=(0, 1, 0, 0))
    grid.add_column(no_wrap=True)
    grid.add_column(overflow="fold")
    for r in results:
        lines = [f"{r.plan.trail.name}: {r.message}"]
        if r.change_id:
            lines.append(f"change id {r.change_id} (journal: {journal_path})")
        if r.delivery is not None:
            lines.append(f"delivery: {r.delivery.summary()}")
            if not r.delivery.ok and r.change_id:
                lines.append(f"undo: trailkit rollback --change {r.change_id}")
        grid.add_row(styled(r.outcome.value, OUTCOME_STYLES, upper=True), Text("\n".join(lines)))
    return grid
