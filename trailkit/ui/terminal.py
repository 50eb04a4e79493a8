"""The command line's terminal output, on ``rich``: width, colour, tables and the plan.

Width
    ``$COLUMNS`` when set; else the terminal's width when the output is a terminal; else
    :data:`DEFAULT_WIDTH` (120: output to a file, a pipe or CI). Tables and views are laid out
    when printed, for that width: names and ids are never broken (each line of such a cell is
    whole), free text wraps between words and goes under its row when there is no room beside
    the other columns (:func:`records_table`).
Colour
    Only on a terminal, never with ``NO_COLOR`` set to anything (https://no-color.org) or
    ``TERM=dumb``: without colour there are no escape codes at all, not even bold. Verdicts,
    key states, severities, journal statuses and outcomes are coloured: green for
    ready/enabled/done, yellow for unverifiable/pending/warnings, red for
    blocked/disabled/failed.
Values
    Tables show ARNs in a short form (:func:`trailkit.arn.short_arn`: the trail name,
    ``key/1234abcd…``, the alias), and so does free text for an ARN too long for its line;
    ``--format json`` and ``csv`` keep every value whole. The request a plan will send is
    always shown whole, each value on one line.

rich is imported here and nowhere else in trailkit (the import contracts keep it in
:mod:`trailkit.ui`).
"""

from __future__ import annotations

import io
import os
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, TextIO

from rich.cells import cell_len
from rich.console import Console, ConsoleOptions, Group, RenderableType, RenderResult
from rich.measure import Measurement
from rich.text import Text

from trailkit.arn import arn_account, arn_region, short_arn
from trailkit.i18n import N_, _, local_time, ngettext
from trailkit.records import ConnectionInfo
from trailkit.records.journal import DELIVERY_WORDS, STATUS_WORDS, proof_reason
from trailkit.rules.health import HEALTH_WORDS
from trailkit.rules.history import change_detail
from trailkit.rules.keyfacts import ROTATION_WORDS, days_left

__all__ = [
    "DEFAULT_WIDTH",
    "ENCRYPTION_STYLES",
    "HEALTH_STYLES",
    "HEALTH_WORDS",
    "KEY_STATE_STYLES",
    "OUTCOME_STYLES",
    "SEVERITY_STYLES",
    "STATUS_STYLES",
    "VERDICT_STYLES",
    "Col",
    "console_for",
    "emit",
    "explain_view",
    "findings_table",
    "header_parts",
    "header_text",
    "journal_rows",
    "local_time",
    "plan_view",
    "records_table",
    "styled",
    "terminal_width",
    "use_colour",
    "verdict_word",
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
#: Trail health (``trailkit.rules.health``): broken red, at-risk amber.
HEALTH_STYLES: Mapping[str, str] = {
    "broken": _BAD,
    "at-risk": _WARN,
    "unverifiable": "yellow",
    "healthy": "green",
}
#: Yes/no columns where "no" deserves a look (a trail that is not logging).
_NO_IS_BAD: Mapping[str, str] = {"no": "yellow"}

#: What a person reads for a verdict (the code, e.g. ``ready``, stays in JSON): translated
#: where shown (:func:`styled`'s ``words``), in capitals in English.
VERDICT_WORDS: Mapping[str, str] = {
    "ready": N_("READY"),
    "blocked": N_("BLOCKED"),
    "unverifiable": N_("UNVERIFIABLE"),
}
#: Finding severities as a person reads them.
SEVERITY_WORDS: Mapping[str, str] = {
    "error": N_("error"),
    "warning": N_("warning"),
    "info": N_("info"),
}
#: Write outcomes as a person reads them, in capitals in English.
OUTCOME_WORDS: Mapping[str, str] = {
    "done": N_("DONE"),
    "unchanged": N_("UNCHANGED"),
    "failed": N_("FAILED"),
    "refused": N_("REFUSED"),
    "unknown": N_("UNKNOWN"),
}


def verdict_word(verdict: Any) -> str:
    """A verdict (``ready``, a :class:`~trailkit.rules.checks.Verdict`) as a person reads it:
    ``READY`` in English, 適用可能 in Japanese (the glossary's words); the code itself stays
    in JSON."""
    code = str(getattr(verdict, "value", verdict))
    word = VERDICT_WORDS.get(code.lower())
    return _(word) if word else code.upper()


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
    with console.capture() as capture:  # not cropped: a value wider than the terminal is whole
        console.print(*renderables, crop=False)
    console.file.write("\n".join(_rstrip(line) for line in capture.get().split("\n")))


def _rstrip(line: str) -> str:
    """``line`` without trailing spaces, keeping the escape codes among them (a style's end)."""
    tail = _TAIL_RE.search(line)
    if tail is None:
        return line
    return line[: tail.start()] + "".join(_SGR_RE.findall(tail.group()))


def styled(
    value: Any,
    styles: Mapping[str, str] | None = None,
    *,
    upper: bool = False,
    words: Mapping[str, str] | None = None,
) -> Text:
    """``value`` as text (``None`` as ``-``, booleans as yes/no), styled by its lower-case text.

    Parameters
    ----------
    value
        A cell's value (a :class:`~rich.text.Text` is used as it is).
    styles
        Lower-case text to rich style (e.g. :data:`VERDICT_STYLES`).
    upper
        Show the text in capitals (verdicts and outcomes, so they stand out without colour).
    words
        Lower-case text to the message a person reads instead (:data:`VERDICT_WORDS`),
        translated here; the style is still chosen by the value itself.
    """
    if isinstance(value, Text):  # a cell laid out and styled already
        return value.copy()
    if value is None or (isinstance(value, float) and value != value):  # None or NaN
        text = "-"
    elif isinstance(value, bool):
        text = "yes" if value else "no"
    else:
        text = str(value)
    style = (styles or {}).get(text.lower(), "")
    word = (words or {}).get(text.lower())
    out = Text()  # the style covers this text only, not what a caller appends
    out.append(_(word) if word else text.upper() if upper else text, style=style)
    return out


@dataclass(frozen=True)
class Col:
    """One column of a terminal table.

    Parameters
    ----------
    field
        The record's key.
    header
        The column's title (default: ``field``; it may wrap at its spaces), marked with
        ``N_()`` and translated where it is shown (:attr:`title`).
    styles
        Lower-case text to rich style, for the cells of this column.
    short
        Show ARNs in their short form (:func:`trailkit.arn.short_arn`).
    upper
        Show the text in capitals.
    sub
        Another field shown dimmed on a second line of the cell (a name's region).
    lines
        Further lines of the cell: each the cells of other fields joined by `` · `` (fields
        without a value are left out, and so is a line without any).
    free
        Free text (messages, reasons): it wraps between words, and goes on lines of its own
        under the row when the terminal has no room for it beside the other columns; an ARN
        in it too long for the line is shown short (:func:`trailkit.arn.short_arn`). Every
        other cell is names and ids: each of its lines is shown whole, never wrapped.
    notes
        (Free text) a long remark in brackets that the column says more than once, e.g. the
        reason of two errors, is shown once, as a numbered footnote under the table.
    words
        Lower-case value to the word a person reads (:data:`VERDICT_WORDS`), translated.
    """

    field: str
    header: str | None = None
    styles: Mapping[str, str] | None = None
    short: bool = False
    upper: bool = False
    sub: str | None = None
    lines: tuple[tuple[Col, ...], ...] = ()
    free: bool = False
    notes: bool = False
    words: Mapping[str, str] | None = None

    @property
    def title(self) -> str:
        """The column's header, in the language spoken now."""
        return _(self.header or self.field)

    def cell(self, row: Mapping[str, Any]) -> Text:
        """The cell of ``row`` in this column."""
        value = row.get(self.field)
        if self.short and isinstance(value, str):
            value = _short_all(value)
        text = styled(value, self.styles, upper=self.upper, words=self.words)
        if self.sub is not None and row.get(self.sub) is not None:
            text.append("\n")
            text.append(str(row[self.sub]), style="dim")
        for line in self.lines:
            parts = [col.cell(row) for col in line if row.get(col.field) is not None]
            if parts:
                text.append("\n")
                text.append_text(Text(" · ").join(parts))
        return text


class Columns(tuple[Col, ...]):
    """A table's columns, and the columns to use instead when they do not fit the terminal
    (e.g. several short columns stacked into one cell).

    Parameters
    ----------
    columns
        The columns, widest layout.
    narrow
        The same information in fewer columns, tried when ``columns`` do not fit.
    """

    narrow: tuple[Col, ...]

    def __new__(cls, columns: Iterable[Col], narrow: Iterable[Col] = ()) -> Columns:
        new = super().__new__(cls, columns)
        new.narrow = tuple(narrow)
        return new


#: Spaces between two columns.
_GAP = 2
#: Free text gets at least this many columns beside the others (or its longest word when
#: longer, or less when it is all shorter); with less room it goes under its row.
_FREE_MIN = 30
#: Free text under its row is indented this much.
_UNDER = 2
#: A remark in brackets (the ``(why)`` of an error) long enough to be worth a footnote.
_REMARK_RE = re.compile(r" ?\(([^()]{24,})\)")


def records_table(rows: Iterable[Mapping[str, Any]], columns: Sequence[Col]) -> RenderableType:
    """A left-aligned table of records, laid out for the console's width when printed.

    Names and ids are never broken: a cell that is not free text shows each of its lines whole.
    The first of these layouts that fits is used: every column side by side; free text on lines
    of its own under each row; the narrower columns (:class:`Columns`) the same two ways; and,
    when even those do not fit, each record as a block of ``header: value`` lines. A free-text
    column without any value is left out. A long remark in brackets that a column repeats
    (:attr:`Col.notes`) is shown once, as a footnote under the table.

    Parameters
    ----------
    rows
        Records (dicts) with at least the columns' fields (a missing one shows ``-``).
    columns
        What to show, in order (a :class:`Columns` may say what to show when it is too wide).
    """
    records = [dict(r) for r in rows]
    notes = _footnotes(records, [c.field for c in columns if c.notes])
    layouts = [tuple(columns)]
    narrow = getattr(columns, "narrow", ())
    if narrow:
        layouts.append(tuple(narrow))
    return _AtWidth(lambda console, width: _records_lines(console, records, layouts, notes, width))


class _AtWidth:
    """A renderable drawn for the width it is given: ``build(console, width)`` gives its lines."""

    def __init__(self, build: Any) -> None:
        self._build = build

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        lines: list[Text] = self._build(console, options.max_width)
        out = Text("\n").join(lines)
        out.no_wrap = True
        out.overflow = "ignore"
        yield out

    def __rich_measure__(self, console: Console, options: ConsoleOptions) -> Measurement:
        return Measurement(1, options.max_width)


def _footnotes(rows: list[dict[str, Any]], fields: Sequence[str]) -> list[str]:
    """Replace a bracketed remark that the free text of ``fields`` says more than once with a
    marker ``[n]``, in place; the remarks, in the order of their numbers."""
    seen: dict[str, int] = {}
    for row in rows:
        for field in fields:
            if isinstance(row.get(field), str):
                for remark in _REMARK_RE.findall(row[field]):
                    seen[remark] = seen.get(remark, 0) + 1
    notes = [remark for remark, n in seen.items() if n > 1]
    if not notes:
        return []

    def mark(m: re.Match[str]) -> str:
        return f" [{notes.index(m.group(1)) + 1}]" if m.group(1) in notes else m.group()

    for row in rows:
        for field in fields:
            if isinstance(row.get(field), str):
                row[field] = _REMARK_RE.sub(mark, row[field])
    return notes


def _words(text: Text) -> int:
    """The longest word (between spaces and line breaks) of ``text``."""
    return max((cell_len(w) for w in re.split(r"[ \n]+", text.plain)), default=0)


def _widest(text: Text) -> int:
    return max((cell_len(line) for line in text.plain.split("\n")), default=0)


def _wrap(console: Console, text: Text, width: int) -> list[Text]:
    """Free ``text`` wrapped between words at ``width``.

    An ARN longer than the line is shown short (:func:`trailkit.arn.short_arn`: the trail's
    name, ``key/1234abcd…``, the alias) rather than broken; ``--format json`` has it whole.
    Only a word that is still too long (not an ARN) is folded.
    """
    width = max(width, 1)
    if _words(text) > width:
        plain = re.sub(
            r"\S+",
            lambda w: _short_all(w.group()) if cell_len(w.group()) > width else w.group(),
            text.plain,
        )
        if plain != text.plain:
            text = Text(plain, style=text.style)
    return list(text.wrap(console, width, overflow="fold"))


def _records_lines(
    console: Console,
    rows: Sequence[Mapping[str, Any]],
    layouts: Sequence[Sequence[Col]],
    notes: Sequence[str],
    width: int,
) -> list[Text]:
    lines: list[Text] | None = None
    for columns in layouts:
        columns = [c for c in columns if not c.free or any(r.get(c.field) for r in rows)]
        cells = [[c.cell(r) for c in columns] for r in rows]
        for beside, headers in ((True, True), (False, True), (True, False), (False, False)):
            lines = _side_by_side(
                console, columns, cells, width, free_beside=beside, whole_headers=headers
            )
            if lines:
                break
        if lines:
            break
    if not lines:
        lines = _blocks(console, columns, cells, width)
    for n, note in enumerate(notes, 1):  # [n] the remark (lines after the first indented)
        mark = f"[{n}]"
        lines += _labelled(console, Text(mark), Text(note), len(mark) + 1, width)
    return lines


def _side_by_side(
    console: Console,
    columns: Sequence[Col],
    cells: Sequence[Sequence[Text]],
    width: int,
    *,
    free_beside: bool,
    whole_headers: bool,
) -> list[Text] | None:
    """The table with its columns side by side (free text beside the other columns or under
    each row; headers on one line, or wrapped at their spaces), or None when it does not fit
    ``width``."""
    beside = [i for i, c in enumerate(columns) if free_beside or not c.free]
    under = [i for i, c in enumerate(columns) if not free_beside and c.free]
    widths: dict[int, int] = {}
    spare: dict[int, int] = {}  # how much more a free column could use
    for i in beside:
        col = columns[i]
        header = Text(col.title)
        if col.free:
            longest = max([_words(header), *(_words(r[i]) for r in cells)])
            wanted = max([_widest(header), *(_widest(r[i]) for r in cells)])
            widths[i] = max(longest, min(wanted, _FREE_MIN))
            spare[i] = wanted - widths[i]
        else:
            title = _widest(header) if whole_headers else _words(header)
            widths[i] = max([title, *(_widest(r[i]) for r in cells)])
    used = sum(widths.values()) + _GAP * (len(beside) - 1)
    if used > width:
        return None
    room = width - used
    while room > 0 and any(spare.values()):  # share the room among the free columns
        for i in spare:
            if spare[i] and room:
                widths[i], spare[i], room = widths[i] + 1, spare[i] - 1, room - 1
    lines = _row_lines(
        console, [Text(columns[i].title, style="bold") for i in beside], widths, beside
    )
    ruled = sum(widths.values()) + _GAP * (len(beside) - 1)
    body: list[Text] = []
    for row in cells:
        body += _row_lines(console, [row[i] for i in beside], widths, beside)
        shown = [i for i in under if row[i].plain not in ("", "-")]
        for i in shown:
            text = Text(f"{columns[i].title}: ") if len(shown) > 1 else Text()
            text.append_text(row[i])
            for line in _wrap(console, text, width - _UNDER):
                body.append(Text(" " * _UNDER) + line)
                ruled = max(ruled, _UNDER + cell_len(line.plain))
    return [*lines, Text("─" * min(ruled, width)), *body]


def _row_lines(
    console: Console, row: Sequence[Text], widths: Mapping[int, int], order: Sequence[int]
) -> list[Text]:
    """One row's cells laid side by side: each cell wrapped (free text) or split at its line
    breaks, padded to its column's width."""
    parts = [_wrap(console, cell, widths[i]) for cell, i in zip(row, order, strict=True)]
    height = max((len(p) for p in parts), default=0)
    out = []
    for n in range(height):
        line = Text()
        for k, (part, i) in enumerate(zip(parts, order, strict=True)):
            if k:
                line.append(" " * _GAP)
            piece = part[n] if n < len(part) else Text()
            line.append_text(piece)
            line.append(" " * (widths[i] - cell_len(piece.plain)))
        line.rstrip()
        out.append(line)
    return out


def _blocks(
    console: Console, columns: Sequence[Col], cells: Sequence[Sequence[Text]], width: int
) -> list[Text]:
    """Each record as its first cell, then ``header: value`` lines (a table too wide for the
    terminal even in its narrow form).

    Only the record's first line starts at column 0: the other lines of its first cell (a
    trail's region) are joined to it with `` · `` when they fit, else indented, and a value's
    further lines (a bucket's region, wrapped free text) are indented under the value, so no
    line looks like a new record. A field without a value is left out.
    """
    out: list[Text] = []
    for row in cells:
        first = _wrap(console, row[0], width) if columns[0].free else row[0].split("\n")
        joined = Text(" · ").join(first)
        if len(first) > 1 and cell_len(joined.plain) <= width:
            first = [joined]
        out += first[:1] + [Text(" " * _UNDER) + line for line in first[1:]]
        for col, cell in zip(columns[1:], row[1:], strict=True):
            if cell.plain.strip() in ("", "-"):
                continue
            label = f"{' ' * _UNDER}{col.title}:"
            size = cell_len(label)
            indent = size + 1 if width - size > _FREE_MIN else _UNDER * 2
            out += _labelled(console, Text(label), cell, indent, width, whole=not col.free)
    return out


_AWS_DEFAULT = " (AWS default)"


def endpoint_text(endpoint: str | None) -> str:
    """An endpoint as a person reads it: a URL as it is; AWS's own endpoints (``""``, or
    ``https://*.<region>.amazonaws.com (AWS default)`` as the connection names them) say
    that they are AWS's default, in the language spoken now."""
    if not endpoint:
        return _("AWS default")
    if endpoint.endswith(_AWS_DEFAULT):
        return _("{url} (AWS default)").format(url=endpoint[: -len(_AWS_DEFAULT)])
    return endpoint


def header_parts(info: ConnectionInfo) -> tuple[str, ...]:
    """:meth:`ConnectionInfo.header_parts` in the language spoken now: backend, account,
    endpoint, region, caller."""
    return (
        _("DEMO (local moto server)") if info.demo else _("REAL AWS"),
        _("account {account}").format(account=info.account),
        _("endpoint {endpoint}").format(endpoint=endpoint_text(info.endpoint)),
        _("region {region}").format(region=info.region),
        _("caller {caller}").format(caller=info.caller_arn),
    )


def header_text(info: ConnectionInfo, width: int) -> Text:
    """Who and where, as lines of at most ``width`` cells broken between parts.

    The backend comes first (``REAL AWS`` in bold red on a terminal), then account, endpoint,
    region and caller (:func:`header_parts`); a part longer than the line is folded by rich.
    """
    parts = header_parts(info)
    lines: list[list[str]] = [[]]
    used = 0
    for part in parts:
        need = cell_len(part) + (3 if lines[-1] else 0)
        if lines[-1] and used + need > width:
            lines.append([])
            used, need = 0, cell_len(part)
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


def findings_table(findings: Iterable[Mapping[str, Any]], *, remedy: bool = True) -> RenderableType:
    """Findings as severity, code and message (the remedy, when asked, under the message);
    the message goes under its row when the width has no room for it beside the code.

    Parameters
    ----------
    findings
        ``Finding.as_dict()`` records.
    remedy
        Add each finding's remedy on a line of its own, after ``→``.
    """
    rows = []
    for f in findings:
        message = str(f.get("message") or "")
        if remedy and f.get("remedy"):
            message += f"\n→ {f['remedy']}"
        rows.append({**f, "message": message})
    return records_table(rows, FINDING_TABLE)


def _key_label(plan: Any, arn: str | None, aliases: Mapping[str, str]) -> Text:
    """``SSE-S3``, or ``SSE-KMS`` with the key's alias (when known) and short id."""
    text = Text()
    if arn is None:
        text.append("SSE-S3", style=ENCRYPTION_STYLES["sse-s3"])
        return text
    text.append("SSE-KMS", style=ENCRYPTION_STYLES["sse-kms"])
    key = plan.report.key
    mine = key is not None and key.arn == arn
    alias = key.alias if mine else aliases.get(arn)
    text.append(f" {alias} ({short_arn(arn)})" if alias else f" {short_arn(arn)}")
    if mine and key.state and key.state != "Enabled":
        text.append(" ")
        text.append(key.state, style=KEY_STATE_STYLES.get(key.state.lower(), ""))
    return text


def plan_view(
    plan: Any,
    *,
    number: int = 1,
    of: int = 1,
    aliases: Mapping[str, str] | None = None,
    role_arn: str | None = None,
    account_name: str | None = None,
) -> RenderableType:
    """A plan as the operator reads it before confirming, top to bottom.

    trail, encryption before → after, where the request is sent, the verdict and findings, and
    the exact request. Every value of the request is whole on one line, so it can be copied:
    after its name when there is room, else on the next line, indented as far as the width
    allows (a value wider than the terminal is still printed whole, on a line of its own).

    Parameters
    ----------
    plan
        A :class:`trailkit.rules.plan.Plan`.
    number, of
        Its place among the plans of the command (shown when there are several).
    aliases
        Key ARN to alias name, for keys other than the plan's report's (the key the trail
        uses now, which a disable or a rollback leaves): both sides name a key by its alias
        when it is known.
    role_arn
        The role assumed to make the change in the trail's account (another account than the
        caller's, issue 16): shown on its own line, so the operator sees through which role
        the change is sent before confirming.
    account_name
        The name of the trail's account (AWS Organizations), when known: shown with its id.
    """
    heading = _("Plan {number} of {of}:").format(number=number, of=of) if of > 1 else _("Plan:")
    title = Text(heading + " ", style="bold")
    title.append(plan.trail.name, style="bold")
    known = dict(aliases or {})
    return Group(
        title,
        _AtWidth(
            lambda console, width: _plan_lines(
                console, plan, width, known, role_arn=role_arn, account_name=account_name
            )
        ),
    )


def plan_verdict(plan: Any) -> Text:
    """A plan's verdict in capitals, coloured, with what it means for the request.

    Turning SSE-KMS off that AWS would accept is ``ENCRYPTION OFF`` in amber, never a green
    READY (as the notebooks' headline says): it lowers the protection of the logs.
    """
    verdict = plan.report.verdict.value
    text = styled(verdict, VERDICT_STYLES, upper=True, words=VERDICT_WORDS)
    if plan.nothing_to_do:
        text.append(" " + _("(nothing to do: the trail already is in this state)"))
    elif plan.blocked:
        text.append(" " + _("(blocking findings: nothing will be sent)"))
    elif plan.report.unverifiable:
        text.append(
            " " + _("(checks that could not be verified: sent only with --accept-unverifiable)")
        )
    elif plan.disable:
        text = Text(_("ENCRYPTION OFF"), style=_WARN)
        text.append(
            " " + _("(AWS will accept it: new log files will be encrypted with SSE-S3 only)")
        )
    return text


#: The plan's labels (translated where shown).
_PLAN_LABELS = (
    N_("trail"),
    N_("rollback of"),
    N_("encryption"),
    N_("sent to"),
    N_("through role"),
    N_("verdict"),
    N_("findings"),
    N_("request"),
)


def _plan_lines(
    console: Console,
    plan: Any,
    width: int,
    aliases: Mapping[str, str],
    *,
    role_arn: str | None = None,
    account_name: str | None = None,
) -> list[Text]:
    labels = [
        label
        for label in _PLAN_LABELS
        if (label != "rollback of" or plan.rollback_of) and (label != "through role" or role_arn)
    ]
    indent = max(cell_len(_(label)) for label in labels) + _GAP
    out: list[Text] = []

    def row(label: str, value: Text | list[Text], *, whole: bool = False) -> None:
        head = Text(_(label), style="bold")
        out.extend(_labelled(console, head, value, indent, width, whole=whole))

    trail = Text()
    trail.append(plan.trail.name, style="bold")
    row("trail", trail, whole=True)
    out.extend(_hung(Text(plan.trail.arn), indent, width))
    if plan.rollback_of:
        row("rollback of", Text(plan.rollback_of), whole=True)
    change = _key_label(plan, plan.before_key, aliases)
    change.append("  →  ")
    change.append_text(_key_label(plan, plan.after_key, aliases))
    row("encryption", change)
    row(
        "sent to",
        Text(
            _("UpdateTrail in {region} (account {account})").format(
                region=plan.region,
                account=f"{account_name} ({plan.account})" if account_name else plan.account,
            )
        ),
    )
    if role_arn:
        row("through role", Text(role_arn), whole=True)
    row("verdict", plan_verdict(plan))
    findings = [f.as_dict() for f in plan.report.findings]
    if findings:
        row("findings", _render_lines(console, findings_table(findings), width - indent))
    else:
        row("findings", Text(_("none")))
    row("request", Text("UpdateTrail"))
    names = max([indent - _UNDER, *(len(name) + _GAP for name in plan.request)])
    for name, value in plan.request.items():  # the values in line with the plan's other values
        line = Text(" " * _UNDER + name.ljust(names))
        shown = Text(value or '""')
        if _UNDER + names + cell_len(shown.plain) <= width:
            out.append(line + shown)
        else:  # the value whole on the next line, indented as far as it fits
            out.append(_rstripped(line))
            out.extend(_hung(shown, _UNDER * 2, width))
    return out


def _labelled(
    console: Console,
    label: Text,
    value: Text | list[Text],
    indent: int,
    width: int,
    *,
    whole: bool = False,
) -> list[Text]:
    """``label`` then ``value`` from column ``indent``: free text wrapped to the width, or
    (``whole``) names and ids one per line as they are, or lines already laid out."""
    if isinstance(value, Text):
        lines = list(value.split("\n")) if whole else _wrap(console, value, width - indent)
    else:
        lines = value
    out = []
    for n, line in enumerate(lines or [Text()]):
        head = Text()  # the label's style only: a Text's own style would cover what is added
        if n == 0:
            head.append_text(label)
        head.append(" " * max(indent - cell_len(head.plain), 1))
        out.append(head + line)
    return out


def _hung(text: Text, indent: int, width: int) -> list[Text]:
    """``text`` (one value) whole on a line of its own, indented by ``indent`` when it fits,
    else by as much as leaves it room, else not at all (and then wider than ``width``)."""
    room = max(0, min(indent, width - cell_len(text.plain)))
    return [Text(" " * room) + text]


def _render_lines(console: Console, renderable: RenderableType, width: int) -> list[Text]:
    """A renderable drawn at ``width``, as lines of text (styles kept)."""
    out = []
    for segments in console.render_lines(renderable, console.options.update(width=width)):
        line = Text()
        for segment in segments:
            line.append(segment.text, segment.style)
        out.append(_rstripped(line))
    return out


def _rstripped(text: Text) -> Text:
    text.rstrip()
    return text


#: Automatic rotation: off is worth a look (yellow), unknown too (dim); on is plain.
ROTATION_STYLES: Mapping[str, str] = {"disabled": _WARN, "unknown": "dim"}
#: A key's deletion date: the most urgent line on the page.
_DELETION_STYLE = "bold red"


def deletion_text(deletion_date: Any, days: int) -> str:
    """A key pending deletion's date (in the operator's timezone) and days left, translated."""
    when = local_time(deletion_date)
    if days == 0:
        return _("Key deletion due {date}: today or overdue.").format(date=when)
    return ngettext(
        "Key deletion on {date}: {days} day left.",
        "Key deletion on {date}: {days} days left.",
        days,
    ).format(date=when, days=days)


def _with_role(region: Any, role: Any) -> Any:
    """A key's region, with ``PRIMARY`` or ``REPLICA`` after it for a multi-Region key."""
    return f"{region} · {role}" if isinstance(role, str) else region


def _deletion_cell(days: Any) -> Text | None:
    """The short red line under a trail or key pending deletion."""
    if days is None or isinstance(days, float):  # None, or NaN from a frame
        return None
    if days == 0:
        return Text(_("key deletion due"), style=_DELETION_STYLE)
    text = ngettext("key deleted in {days} day", "key deleted in {days} days", int(days))
    return Text(text.format(days=days), style=_DELETION_STYLE)


#: ``trailkit inventory``: the trails, each name with its region under it, and its health
#: (JSON and CSV have every field of ``INVENTORY_COLUMNS``); on a narrow terminal the health goes
#: under the name, and the encryption, key and key state share a column. Headers are marked
#: with ``N_()`` and translated where shown.
TRAIL_TABLE = Columns(
    (
        Col("name", N_("trail"), sub="home_region", lines=((Col("key_deletion"),),)),
        Col("health", N_("health"), styles=HEALTH_STYLES, words=HEALTH_WORDS),
        Col("encryption", N_("encryption"), styles=ENCRYPTION_STYLES),
        Col("key_alias", N_("key"), short=True, sub="key_region"),
        Col("key_state", N_("key state"), styles=KEY_STATE_STYLES),
        Col("bucket", N_("bucket"), sub="bucket_region"),
        Col("managed_by", N_("managed by"), free=True),
        Col("problems", N_("problems"), free=True, notes=True),
    ),
    narrow=(
        Col(
            "name",
            N_("trail / health"),
            sub="home_region",
            lines=(
                (Col("key_deletion"),),
                (Col("health", styles=HEALTH_STYLES, words=HEALTH_WORDS),),
            ),
        ),
        Col(
            "encryption",
            N_("encryption / key"),
            styles=ENCRYPTION_STYLES,
            lines=(
                (Col("key_alias", short=True),),
                (Col("key_region"), Col("key_state", styles=KEY_STATE_STYLES)),
            ),
        ),
        Col("bucket", N_("bucket"), sub="bucket_region", lines=((Col("managed_by"),),)),
        Col("problems", N_("problems"), free=True, notes=True),
    ),
)
#: ``trailkit inventory --org|--accounts`` over more than one account: the trails with an
#: Account column first (the account's name, else its id).
_ACCOUNT_COL = Col("account_label", N_("account"))
ORG_TRAIL_TABLE = Columns((_ACCOUNT_COL, *TRAIL_TABLE), narrow=(_ACCOUNT_COL, *TRAIL_TABLE.narrow))
#: ``trailkit inventory``: the keys in use.
KEY_TABLE = Columns(
    (
        Col("key", N_("key"), short=True, sub="region"),
        Col("account", N_("account")),
        Col("state", N_("state"), styles=KEY_STATE_STYLES, lines=((Col("deletion"),),)),
        Col("rotation", N_("rotation"), styles=ROTATION_STYLES, words=ROTATION_WORDS),
        Col("manager", N_("manager / origin"), sub="origin"),
        Col("used_by", N_("used by"), free=True),
        Col("problems", N_("problems"), free=True, notes=True),
    ),
    narrow=(
        Col("key", N_("key"), short=True, sub="region"),
        Col("account", N_("account / manager"), sub="manager"),
        Col(
            "state",
            N_("state / rotation"),
            styles=KEY_STATE_STYLES,
            lines=(
                (Col("deletion"),),
                (Col("rotation", styles=ROTATION_STYLES, words=ROTATION_WORDS),),
            ),
        ),
        Col("used_by", N_("used by"), free=True),
        Col("problems", N_("problems"), free=True, notes=True),
    ),
)
#: ``trailkit keys``: the candidates, ranked.
CANDIDATE_TABLE: tuple[Col, ...] = (
    Col("verdict", N_("verdict"), styles=VERDICT_STYLES, upper=True, words=VERDICT_WORDS),
    Col("key", N_("key"), short=True),
    Col("code", N_("code / warnings")),
    Col("reason", N_("reason"), free=True),
)
#: ``trailkit journal``: one change per row (JSON and ``--all`` have every field whole).
#: A change's newest delivery proof (:attr:`trailkit.records.journal.Change.proof`).
DELIVERY_STYLES: Mapping[str, str] = {
    "proven": "green",
    "pending": _WARN,
    "failed": _BAD,
    "unverifiable": "yellow",
}
JOURNAL_TABLE: tuple[Col, ...] = (
    Col("change_id", N_("change id / time"), sub="time"),
    Col("status", N_("status"), styles=STATUS_STYLES, words=STATUS_WORDS),
    Col("delivery", N_("delivery"), styles=DELIVERY_STYLES, words=DELIVERY_WORDS),
    Col("what", N_("what / where"), free=True),
)
#: Findings (``check``, the plans): the message with its remedy under it.
FINDING_TABLE: tuple[Col, ...] = (
    Col("severity", N_("severity"), styles=SEVERITY_STYLES, words=SEVERITY_WORDS),
    Col("code", N_("code")),
    Col("message", N_("message"), free=True),
)


def _short_all(text: str) -> str:
    return _ARN_RE.sub(lambda m: short_arn(m.group()), text)


def printable(text: str, keep: str = "") -> str:
    """``text`` with every character that is not printable escaped (``\x1b``, ``\n``, ...):
    what the terminal shows of text it must not interpret (ANSI sequences, newlines).
    ``keep``: characters to leave as they are (``"\n\t"`` for a message of several lines)."""
    if text.isprintable():
        return text
    return "".join(
        c if c.isprintable() or c in keep else c.encode("unicode_escape").decode() for c in text
    )


def sse_s3_shown(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """``changes_frame`` rows with a trail's missing key (before or after) shown as ``SSE-S3``.

    In the journal, None for a trail key means the trail used (or is to use) SSE-S3; a table
    shows the word, where ``-`` would read as "unknown" (a trail found deleted by reconcile
    keeps ``-`` after). Text with control characters (a damaged or forged journal line) is
    shown escaped (:func:`printable`), so it cannot move the cursor or forge a row. Rows are
    changed in place.
    """
    for r in rows:
        for name, value in r.items():
            if isinstance(value, str) and not value.isprintable():
                r[name] = printable(value)
        if r.get("kind") == "trail-key":
            if r.get("before") is None:
                r["before"] = "SSE-S3"
            if r.get("after") is None and r.get("status") != "reconciled-target-gone":
                r["after"] = "SSE-S3"
    return rows


#: A key policy as ``changes_frame`` abbreviates it (journal records stay English).
_POLICY_RE = re.compile(r"^policy \((\d+) bytes, (?:(not JSON)|(\d+) statements?)\)$")


def _policy_text(value: str) -> str:
    """``policy (<n> bytes, <m> statements)`` in the language spoken now."""
    m = _POLICY_RE.match(value)
    if m is None:
        return value
    size = int(m.group(1))
    if m.group(2):
        return _("policy ({size} bytes, not JSON)").format(size=size)
    count = int(m.group(3))
    return ngettext(
        "policy ({size} bytes, {count} statement)",
        "policy ({size} bytes, {count} statements)",
        count,
    ).format(size=size, count=count)


def journal_rows(records: Iterable[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """``changes_frame`` rows with what changed (kind, target, before → after, the change it
    undoes, the rollback that undid it, why a failed change failed, why its delivery is not
    proven) and where (backend, account, endpoint) in one cell each, ARNs shortened, a trail's
    missing key shown as SSE-S3 and the time in the operator's timezone (:func:`local_time`);
    ``delivery`` stays the code (``-`` when the change's delivery was never proven)."""
    rows = []
    for r in sse_s3_shown([dict(r) for r in records]):
        before, after = (
            _policy_text(_short_all(str(r.get(k) or "-"))) for k in ("before", "after")
        )
        what = f"{r.get('kind')} {_short_all(str(r.get('target_arn') or '-'))}: {before} → {after}"
        if r.get("rollback_of"):
            what += "\n" + _("rollback of {change}").format(change=r["rollback_of"])
        if r.get("undone_by"):
            what += "\n" + _("undone by {change}").format(change=r["undone_by"])
        if r.get("status") == "failed" and r.get("error"):  # why it failed, wrapped with the rest
            what += "\n" + _("failed: {error}").format(error=r["error"])
        proof = r.get("proof")
        if isinstance(proof, Mapping) and proof.get("reason"):  # why delivery is not proven
            reason = printable(proof_reason(proof))
            what += "\n" + _("delivery proof: {reason}").format(reason=reason)
        account = _("account {account}").format(account=r.get("account") or "-")
        endpoint = endpoint_text(r["endpoint"]) if r.get("endpoint") else "-"
        where = f"{r.get('backend') or '-'} · {account} · {endpoint}"
        rows.append(
            {
                **r,
                "time": local_time(r.get("time")),
                "what": f"{what}\n{where}",
                "where": where,
            }
        )
    return rows


def trail_rows(records: Iterable[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Inventory records with the key shown by alias (else its short id) and every problem of
    the trail (not logging, read errors, the latest delivery errors) in one ``problems`` cell.
    A delivery error is shown by its health reason when the record has one (its cause, fix and
    times, :mod:`trailkit.rules.delivery`), else as the raw text."""
    rows = []
    for r in records:
        reasons = list(r.get("health_reasons") or ())
        explained = {str(x.get("code")) for x in reasons}
        problems = [_("not logging")] if r.get("logging") is False else []
        days = r.get("key_days_left")
        if days is not None:  # the most urgent problem of all: first
            problems.insert(0, deletion_text(r.get("key_deletion_date"), int(days)))
        if r.get("error"):
            problems.append(str(r["error"]))
        if r.get("latest_delivery_error") and "delivery-error" not in explained:
            problems.append(_("delivery: {error}").format(error=r["latest_delivery_error"]))
        if r.get("latest_digest_delivery_error") and "digest-delivery-error" not in explained:
            problems.append(
                _("digest delivery: {error}").format(error=r["latest_digest_delivery_error"])
            )
        for reason in reasons:
            # the health's reasons, but not a read error said already
            message = str(reason.get("message") or "")
            if reason.get("code") in (
                "delivery-error",
                "digest-delivery-error",
                "member-delivery-error",
            ):
                problems.append(
                    _("{message} Fix: {fix}").format(message=message, fix=reason.get("fix"))
                )
                continue
            if any(message.startswith(p) or p.startswith(message) for p in problems):
                continue
            problems.append(message)
        rows.append(
            {
                **r,
                "name": trail_name_text(r),
                "account_label": r.get("account_name") or r.get("account"),
                "key_deletion": _deletion_cell(days),
                "key_alias": r.get("key_alias") or r.get("key_arn"),
                "problems": join_problems(problems),
            }
        )
    return rows


def join_problems(problems: Sequence[str]) -> str | None:
    """Problems in one cell: a sentence (ending in ``.`` or ``。``) is followed by a space, a
    phrase by ``"; "``, so a full stop is never followed by a semicolon; None when there is none."""
    if not problems:
        return None
    text = problems[0]
    for problem in problems[1:]:
        text += (" " if text.rstrip().endswith((".", "。")) else "; ") + problem
    return text


def key_rows(records: Iterable[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """``keys_frame`` records with a ``key`` cell (the aliases, else the key ARN) and the key's
    problems (a region other than its trails' buckets', a read error) in one cell."""
    rows = []
    for r in records:
        problems = [] if r.get("in_bucket_region") is not False else [_("not in the bucket region")]
        days = r.get("days_left")
        if isinstance(days, float):  # NaN: not pending deletion
            days = None
        if days is not None:  # the most urgent problem of all: first
            problems.insert(0, deletion_text(r.get("deletion_date"), int(days)))
        if r.get("error"):
            problems.append(str(r["error"]))
        multi = r.get("multi_region_role")
        rows.append(
            {
                **r,
                "deletion": _deletion_cell(days),
                "rotation": r.get("rotation"),
                "origin": r.get("origin") if isinstance(r.get("origin"), str) else None,
                "region": f"{r.get('region')} · {multi}"
                if isinstance(multi, str)
                else r.get("region"),
                # NaN (a frame's missing alias) is truthy: only a text alias names the key
                "key": alias
                if isinstance(alias := r.get("alias"), str) and alias
                else r.get("key_arn"),
                "problems": join_problems(problems),
            }
        )
    return rows


def candidate_rows(verdicts: Iterable[Any]) -> list[dict[str, Any]]:
    """``trailkit keys`` rows: verdict, the key by alias (else its ARN), the codes, and the
    reason (which names a key state other than Enabled); JSON and CSV keep
    ``Verdict.as_dict``.

    The codes cell has the deciding code first (the one that blocks the key, or left it
    unverifiable; a ready key has none), in the verdict's colour, then each warning on a line
    of its own marked ``warning:`` (in yellow): they read apart with or without colour. A key
    with neither shows ``-``.
    """
    rows = []
    for v in verdicts:
        codes = Text()
        if v.code:
            codes.append(v.code, style=VERDICT_STYLES.get(str(v.kind).lower(), ""))
        for warning in getattr(v, "warnings", ()):
            if codes.plain:
                codes.append("\n")
            codes.append(
                _("warning: {code}").format(code=warning), style=SEVERITY_STYLES["warning"]
            )
        rows.append(
            {
                "verdict": str(v.kind),
                "key": v.key.alias or v.key.arn,
                "code": codes if codes.plain else None,
                "reason": v.reason,
            }
        )
    return rows


def _key_line(key: Any, arn: str) -> Text:
    """A key as alias (short id) · region · account · state (coloured when not Enabled)."""
    label = f"{key.alias} ({short_arn(arn)})" if key is not None and key.alias else short_arn(arn)
    text = Text(label)
    region, account = arn_region(arn), arn_account(arn)
    if region:
        text.append(f" · {region}")
    if account:
        text.append(" · " + _("account {account}").format(account=account))
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
    rows: list[tuple[str, Text]] = []
    trail = report.trail
    if trail is None:
        found = _("{name} (not found)").format(name=repr(report.trail_input))
        rows.append((_("trail:"), Text(found)))
    else:
        account = _("account {account}").format(account=trail.account)
        rows.append((_("trail:"), Text(f"{trail.name} · {trail.home_region} · {account}")))
    typed = Text(repr(report.key_input))  # what was typed, whole and quoted: never shortened
    key = Text("→ ")
    if report.key_arn:
        key.append_text(_key_line(report.key, report.key_arn))
    else:
        key.append("-")
    rows.append((_("key:"), typed))
    checked = report.key if report.key is not None and report.key.arn == report.key_arn else None
    days = days_left(checked, datetime.now(UTC)) if checked is not None else None
    if checked is not None and days is not None:
        text = Text(deletion_text(checked.deletion_date, days), style=_DELETION_STYLE)
        rows.append((_("deletion:"), text))
    if trail is not None:
        rows.append((_("bucket:"), Text(bucket_text(trail))))
    verdict = styled(report.verdict.value, VERDICT_STYLES, upper=True, words=VERDICT_WORDS)
    rows.append((_("verdict:"), verdict))
    indent = max(cell_len(label) for label, __ in rows) + 1

    def head(console: Console, width: int) -> list[Text]:
        out = []
        for label, value in rows:
            if value is typed:  # `'typed' → resolved` on one line when it fits, else two
                one = typed + Text(" ") + key
                if indent + cell_len(one.plain) <= width:
                    out += _labelled(console, Text(label), one, indent, width)
                    continue
                out += _typed(console, Text(label), typed, indent, width)
                out += _labelled(console, Text(""), key, indent, width)
            else:
                out += _labelled(console, Text(label), value, indent, width)
        return out

    findings = [f.as_dict() for f in report.findings]
    body = findings_table(findings) if findings else Text(_("No findings: every check passed."))
    return Group(_AtWidth(head), Text(""), body)


def _typed(console: Console, label: Text, value: Text, indent: int, width: int) -> list[Text]:
    """``label`` then ``value`` (what the operator typed) whole: after the label when it fits,
    else on the next line, indented as far as it fits, else folded (never
    shortened: it is the operator's own text, to compare with what it resolved to)."""
    size = cell_len(value.plain)
    if indent + size <= width:
        return _labelled(console, label, value, indent, width, whole=True)
    head = [_rstripped(label.copy())] if label.plain else []
    if size <= width:
        return head + _hung(value, indent, width)
    room = width - indent if width - indent >= _FREE_MIN else width
    pad = Text(" " * (width - room))
    return head + [pad + line for line in value.wrap(console, room, overflow="fold")]


def bucket_text(trail: Any) -> str:
    """A trail's bucket and where it is: ``NAME in REGION``, ``NAME (does not exist)`` or
    ``NAME (region unknown)``, in the language spoken now."""
    name = trail.bucket_name
    if trail.bucket is not None and trail.bucket.missing:
        return _("{bucket} (does not exist)").format(bucket=name)
    if trail.bucket_region:
        return _("{bucket} in {region}").format(bucket=name, region=trail.bucket_region)
    return _("{bucket} (region unknown)").format(bucket=name)


def trail_name_text(row: Mapping[str, Any]) -> str:
    """A trails-table row's name as a person reads it: the trail's name, or, for a region
    whose trails could not be listed (the row :func:`trailkit.ui.tables.inventory_records`
    adds, named in English for JSON and CSV), what could not be read, translated."""
    name = row.get("name")
    if name is None:
        return "-"
    region = row.get("home_region")
    if region and name == f"(region {region} could not be read)":
        return _("(region {region} could not be read)").format(region=region)
    if name == "(read failed)":
        return _("(read failed)")
    account = row.get("account")
    if account and name == f"(account {account} could not be read)":
        return _("(account {account} could not be read)").format(account=account)
    return str(name)


def _label_rows(rows: Sequence[tuple[str, Text]]) -> _AtWidth:
    """``label: value`` rows, the values in one column, wrapped between words at the width."""
    indent = max((cell_len(label) for label, __ in rows), default=0) + 1

    def draw(console: Console, width: int) -> list[Text]:
        return [
            line
            for label, value in rows
            for line in _labelled(console, Text(label), value, indent, width)
        ]

    return _AtWidth(draw)


#: Diff lines: what a policy change adds, removes, and the diff's own headers.
_DIFF_STYLES = (("+++", "bold"), ("---", "bold"), ("@@", "cyan"), ("+", "green"), ("-", "red"))
#: The names :mod:`trailkit.rules.repair` gives the two sides of a policy diff (its
#: ``---``/``+++`` lines), translated where shown.
_DIFF_NAMES: Mapping[str, str] = {
    "current policy": N_("current policy"),
    "repaired policy": N_("repaired policy"),
    "restored policy": N_("restored policy"),
}


def _diff_header(line: str) -> str:
    """A diff's ``---``/``+++`` line with the side's name in the language spoken now."""
    if line[:4] in ("--- ", "+++ ") and line[4:] in _DIFF_NAMES:
        return line[:4] + _(_DIFF_NAMES[line[4:]])
    return line


def diff_view(diff: str) -> RenderableType:
    """A unified diff, each line coloured by its first characters (``+`` green, ``-`` red, ``@@``
    cyan) on a terminal. A line wider than the terminal is wrapped between words, its further
    lines starting with the same mark and indented 4 more than the line itself (a word longer
    than the room, e.g. a long ARN in quotes, stays whole)."""
    lines = [_diff_header(line) for line in diff.split("\n")]

    def draw(console: Console, width: int) -> list[Text]:
        out = []
        for line in lines:
            style = next((st for mark, st in _DIFF_STYLES if line.startswith(mark)), "")
            out += [Text(piece, style=style) for piece in _diff_pieces(line, width)]
        return out

    return _AtWidth(draw)


def _diff_pieces(line: str, width: int) -> list[str]:
    """``line`` of a diff in pieces of at most ``width`` between words (see :func:`diff_view`)."""
    if cell_len(line) <= width or line.startswith(("+++", "---", "@@")):
        return [line]
    mark, body = line[:1], line[1:]
    indent = len(body) - len(body.lstrip(" "))
    lead = mark + " " * (indent + 4)
    if width - cell_len(lead) < 16:  # no room to go on: the whole line
        return [line]
    pieces: list[str] = []
    current = mark + " " * indent
    for word in body.split():
        start = current.strip() == mark
        wanted = current + ("" if start else " ") + word
        if cell_len(wanted) <= width or start:
            current = wanted
        else:  # the next piece indented less when the word would not fit after the lead
            pieces.append(current)
            room = max(1, min(len(lead), width - cell_len(word)))
            current = lead[:room] + word
    pieces.append(current)
    return pieces


def policy_view(repair: Any) -> RenderableType:
    """``trailkit policy``: the key (by alias), the trails, what the repair fixes and adds, the
    size of the policy before and after, then the diff (:func:`diff_view`).

    Parameters
    ----------
    repair
        A :class:`trailkit.rules.repair.Repair`.
    """
    rows: list[tuple[str, Text]] = [
        (_("key:"), _key_line(repair.key, repair.key.arn)),
        (_("trails:"), Text(", ".join(t.name for t in repair.trails))),
    ]
    if not repair.needed:
        already = _("it already lets CloudTrail use this key for these trails.")
        rows.append((_("policy:"), Text(already)))
        return _label_rows(rows)
    size = len(repair.original_text.encode())
    added = len(repair.added)
    rows += [
        (_("fixes:"), Text(", ".join(repair.fixes) or _("readers"))),
        (
            _("change:"),
            Text(
                ngettext(
                    "{count} statement added, none changed or removed",
                    "{count} statements added, none changed or removed",
                    added,
                ).format(count=added)
            ),
        ),
        (_("size:"), Text(_("{before} → {after} bytes").format(before=size, after=repair.size))),
    ]
    return Group(_label_rows(rows), Text(""), diff_view(repair.diff()))


def restore_view(restore: Any, key: Any = None) -> RenderableType:
    """``trailkit policy --restore``: which policy is put back, then the diff from the current
    one (:func:`diff_view`), or ``(no difference)``.

    Parameters
    ----------
    restore
        A :class:`trailkit.rules.repair.Restore`.
    key
        The key's :class:`~trailkit.records.KeyInfo` when read (its alias is shown).
    """
    recorded = _("the key policy recorded before change {change}").format(change=restore.change_id)
    rows = [
        (_("restore:"), Text(recorded)),
        (_("key:"), _key_line(key, restore.key_arn) if key is not None else Text(restore.key_arn)),
    ]
    diff = restore.diff()
    same = Text(_("(no difference)"))
    return Group(_label_rows(rows), Text(""), diff_view(diff) if diff else same)


def delivery_summary(delivery: Any) -> str:
    """:meth:`trailkit.records.Delivery.summary` in the language spoken now, the latest
    delivery's time in the operator's timezone (:func:`local_time`). The errors are AWS's
    own text."""
    s = delivery.status
    if not delivery.ok:
        errors = []
        if s.latest_delivery_error:
            errors.append(_("log delivery: {error}").format(error=s.latest_delivery_error))
        if s.latest_digest_delivery_error:
            errors.append(
                _("digest delivery: {error}").format(error=s.latest_digest_delivery_error)
            )
        if s.error:
            errors.append(_("status unreadable: {error}").format(error=s.error))
        return _("DELIVERY ERRORS: {errors} — consider rolling back.").format(
            errors="; ".join(errors)
        )
    when = s.latest_delivery_time
    shown = local_time(when) if when else _("none yet")
    return _("no delivery errors (latest delivery: {time})").format(time=shown)


def results_view(results: Iterable[Any], journal_path: Any) -> RenderableType:
    """What each write did: outcome, message, change id, delivery, and how to undo it.

    Parameters
    ----------
    results
        :class:`trailkit.records.WriteResult` records of trail changes.
    journal_path
        Where the change ids are recorded.
    """
    rows = []
    for r in results:
        lines = [f"{r.plan.trail.name}: {r.message}"]
        if r.change_id:
            lines.append(
                _("change id {change} (journal: {path})").format(
                    change=r.change_id, path=journal_path
                )
            )
        if r.delivery is not None:
            lines.append(_("delivery: {summary}").format(summary=delivery_summary(r.delivery)))
            if not r.delivery.ok and r.change_id:
                lines.append(
                    _("undo: trailkit rollback --change {change}").format(change=r.change_id)
                )
        outcome = styled(r.outcome.value, OUTCOME_STYLES, upper=True, words=OUTCOME_WORDS)
        rows.append((outcome, Text("\n".join(lines))))
    indent = max((cell_len(label.plain) for label, __ in rows), default=0) + 1

    def draw(console: Console, width: int) -> list[Text]:
        return [
            line
            for label, value in rows
            for line in _labelled(console, label, value, indent, width)
        ]

    return _AtWidth(draw)


# -- trailkit explain ------------------------------------------------------------------------

#: A key policy's answer to one of CloudTrail's requests (``rules.policy.Decision`` values).
DECISION_STYLES: Mapping[str, str] = {"allowed": "green", "denied": _BAD, "cannot-verify": _WARN}
#: What a person reads for a decision (the code stays in JSON).
DECISION_WORDS: Mapping[str, str] = {
    "allowed": N_("allowed"),
    "denied": N_("denied"),
    "cannot-verify": N_("cannot verify"),
}
#: A deciding statement's colour: an Allow that allows, a Deny that denies, an Allow that
#: fails a condition.
_STATEMENT_STYLES: Mapping[str, str] = {"Allow": "green", "Deny": _BAD, "near-miss": "yellow"}

#: ``trailkit explain``: the health's reasons (the fix and the permission under the message).
REASON_TABLE: tuple[Col, ...] = (
    Col("health", N_("health"), styles=HEALTH_STYLES, words=HEALTH_WORDS),
    Col("code", N_("code")),
    Col("message", N_("message"), free=True),
)
#: ``trailkit explain``: each request CloudTrail makes of KMS and the key policy's answer.
REQUEST_TABLE: tuple[Col, ...] = (
    Col("action", N_("request"), sub="required"),
    Col("decision", N_("decision"), styles=DECISION_STYLES, upper=True, words=DECISION_WORDS),
    Col("why", N_("deciding statements"), free=True),
)
#: ``trailkit explain``: the change history, newest first.
HISTORY_TABLE: tuple[Col, ...] = (
    Col("time", N_("time")),
    Col("event", N_("event"), sub="failed"),
    Col("actor", N_("who / from where"), short=True, sub="source_ip"),
    Col("region", N_("region")),
)


def _flag(value: bool | None, yes: str, no: str, *, bad: bool | None = None) -> Text:
    """``yes`` or ``no`` (messages marked by the caller, translated here), ``unknown`` for None;
    ``bad``: the value that deserves a look (yellow)."""
    if value is None:
        return Text(_("unknown"), style="dim")
    return Text(_(yes) if value else _(no), style="yellow" if value is bad else "")


#: How the drill-down says its yes/no facts (one pair of words per fact).
FLAG_WORDS: Mapping[str, tuple[str, str]] = {
    "multi_region": (N_("all regions"), N_("home region only")),
    "organization": (N_("organization trail"), N_("this account only")),
    "on_off": (N_("on"), N_("off")),
}


def _section(title: str) -> Text:
    return Text(title, style="bold underline")


def _facts(rows: Sequence[tuple[str, Text]], whole: Sequence[str] = ()) -> _AtWidth:
    """:func:`_label_rows`, with the values of the labels in ``whole`` (ARNs) shown whole, to be
    copied: after the label when they fit, else on the next line, indented as far as the width
    allows (wider than the terminal: on a line of its own, as a plan's request values)."""
    indent = max((cell_len(label) for label, __ in rows), default=0) + 1

    def draw(console: Console, width: int) -> list[Text]:
        out: list[Text] = []
        for label, value in rows:
            if label in whole and indent + cell_len(value.plain) > width:
                out += [Text(label), *_hung(value, indent, width)]
            elif label in whole:
                out += _labelled(console, Text(label), value, indent, width, whole=True)
            else:
                out += _labelled(console, Text(label), value, indent, width)
        return out

    return _AtWidth(draw)


def _trail_rows(ex: Any) -> list[tuple[str, Text]]:
    trail = ex.trail
    account = _("account {account}").format(account=trail.account)
    bucket = trail.bucket
    logging = trail.status.is_logging if trail.status is not None else None
    return [
        (_("trail:"), Text(f"{trail.name} · {trail.home_region} · {account}")),
        (_("ARN:"), Text(trail.arn)),
        (_("multi-Region:"), _flag(trail.multi_region, *FLAG_WORDS["multi_region"])),
        (_("organization:"), _flag(trail.organization, *FLAG_WORDS["organization"])),
        (_("logging:"), _flag(logging, *FLAG_WORDS["on_off"], bad=False)),
        (_("bucket:"), Text(bucket_text(trail))),
        (
            _("S3 Bucket Key:"),
            _flag(bucket.bucket_key if bucket is not None else None, *FLAG_WORDS["on_off"]),
        ),
        (_("prefix:"), Text(trail.s3_prefix or _("(none)"))),
    ]


def _key_rows(ex: Any) -> list[tuple[str, Text]]:
    """The key card: the deletion date first (red), then the key and its facts."""
    trail, key, facts = ex.trail, ex.key, ex.facts
    arn = key.arn if key is not None else trail.kms_key_id
    rows: list[tuple[str, Text]] = []
    if facts is not None and facts.days_left is not None:
        text = deletion_text(facts.deletion_date, facts.days_left)
        rows.append((_("deletion:"), Text(text, style=_DELETION_STYLE)))
    rows.append((_("key:"), _key_line(key, arn)))
    rows.append((_("ARN:"), Text(arn)))
    if key is not None and key.error:
        rows.append((_("error:"), Text(key.error, style="yellow")))
    if facts is None or key is None:
        return rows
    from trailkit.rules.keyfacts import rotation_text

    rotation = Text(rotation_text(key), style=ROTATION_STYLES.get(facts.rotation, ""))
    rows.append((_("rotation:"), rotation))
    manager = " · ".join(v for v in (facts.manager, facts.origin) if v) or "-"
    rows.append((_("manager / origin:"), Text(manager)))
    if facts.multi_region == "PRIMARY":
        replicas = ", ".join(facts.replica_arns) or _("(none)")
        said = _("primary key; replicas: {replicas}").format(replicas=replicas)
        rows.append((_("multi-Region:"), Text(said)))
    elif facts.multi_region == "REPLICA":
        said = _("replica of {primary}").format(primary=facts.primary_arn or "-")
        rows.append((_("multi-Region:"), Text(said)))
    else:
        rows.append((_("multi-Region:"), Text(_("single-Region key"))))
    rows.append((_("created:"), Text(local_time(facts.created))))
    return rows


def _reason_rows(ex: Any) -> list[dict[str, Any]]:
    rows = []
    for r in ex.health.reasons:
        message = r.message
        if r.fix:
            message += f"\n→ {r.fix}"
        if r.permission:
            message += "\n" + _("permission that would let trailkit read it: {permission}").format(
                permission=r.permission
            )
        rows.append({"health": str(r.health), "code": r.code, "message": message})
    return rows


def _request_rows(ex: Any) -> list[dict[str, Any]]:
    from trailkit.rules.explain import REQUIRED_WORDS

    rows = []
    for d in ex.policy.decisions:
        # the deciding statements (else the closest that fail), each with why; the evaluator's
        # sentence when there is none
        why = Text() if d.statements else Text(d.reason)
        for note in d.statements:
            style = _STATEMENT_STYLES["near-miss" if note.role == "near-miss" else note.effect]
            if why.plain:
                why.append("\n")
            line = _("{statement} · {effect}: {why}").format(
                statement=note.label, effect=note.effect, why=note.why
            )
            why.append(line, style=style)
        for reason in d.unverifiable:
            if reason not in why.plain:
                why.append("\n")
                why.append(reason, style="yellow")
        rows.append(
            {
                "action": d.action,
                "required": _(REQUIRED_WORDS[d.required]),
                "decision": d.decision,
                "why": why,
            }
        )
    return rows


def _delivery_rows(ex: Any) -> list[tuple[str, Text]]:
    d = ex.delivery
    if d.unread is not None:
        said = _(
            "could not be read ({why}); permission that would let trailkit read it: {permission}"
        ).format(why=d.unread, permission=d.permission)
        return _with_members([(_("status:"), Text(said, style="yellow"))], d)
    none = _("(none recorded)")
    rows = [
        (_("logging:"), _flag(d.logging, *FLAG_WORDS["on_off"], bad=False)),
        (_("last delivery:"), Text(local_time(d.latest_delivery, none=none))),
        (_("last digest delivery:"), Text(local_time(d.latest_digest_delivery, none=none))),
    ]
    for p in d.problems:
        label = _("digest delivery error:") if p.digest else _("delivery error:")
        text = Text(p.cause.error, style=_BAD)
        text.append("\n" + p.cause.cause)
        text.append("\n→ " + p.cause.fix)
        rows.append((label, text))
    if not d.problems:
        rows.append((_("delivery errors:"), Text(_("none"))))
    return _with_members(rows, d)


def _ownership_rows(ex: Any) -> list[tuple[str, Text]]:
    """Who manages the trail and its key (issue 17), and the ownership findings."""
    own = getattr(ex, "ownership", None)
    if own is None:
        return []
    rows: list[tuple[str, Text]] = []
    for owner in own.owners:
        label = _("trail:") if owner.resource == "trail" else _("key:")
        rows.append((label, Text(owner.label)))
    if not own.owners:
        said = _("no owner told by the tags") if own.read else _("tags not read")
        rows.append((_("owner:"), Text(said, style="dim")))
    for error in (own.trail_tags_error, own.key_tags_error):
        if error:
            rows.append((_("tags could not be read:"), Text(error, style="yellow")))
    for finding in own.findings:
        text = Text(finding.message, style=_BAD if finding.blocking else "yellow")
        text.append("\n→ " + finding.remedy)
        rows.append((finding.code, text))
    return rows


def _with_members(rows: list[tuple[str, Text]], d: Any) -> list[tuple[str, Text]]:
    """An organization trail's delivery rows end with the note that its member accounts' status
    was not read (``DeliveryView.members_unread``)."""
    if d.members_unread is not None:
        rows.append((_("member accounts:"), Text(d.members_unread, style="yellow")))
    return rows


def _history_rows(ex: Any) -> list[dict[str, Any]]:
    rows = []
    for e in ex.events:
        failed = None
        if e.error_code:
            failed = Text(_("FAILED: {code}").format(code=e.error_code), style=_BAD)
        elif (what := change_detail(e)) is not None:
            failed = Text(what)
        rows.append(
            {
                "time": local_time(e.time),
                "event": e.name,
                "failed": failed,
                "actor": e.actor or "-",
                "source_ip": e.source_ip or None,
                "region": e.region,
            }
        )
    return rows


def _unread_lines(errors: Iterable[Any]) -> list[tuple[str, Text]]:
    rows = []
    for e in errors:
        text = Text(e.message, style="yellow")
        if e.permission:
            text.append(
                "\n"
                + _("permission that would let trailkit read it: {permission}").format(
                    permission=e.permission
                )
            )
        rows.append((_("could not be read:"), text))
    return rows


def explain_view(ex: Any) -> RenderableType:
    """``trailkit explain``: one trail's drill-down, top to bottom: the trail and its bucket,
    the key card (a pending deletion first, in red), the health and its reasons with their
    fixes, the key policy's answer to each request CloudTrail makes of KMS with the deciding
    statements highlighted (an Allow green, a Deny red, an Allow that fails a condition yellow),
    who may decrypt the logs, the delivery status, the change history (newest first, failed
    calls marked) and what could not be read.

    Parameters
    ----------
    ex
        A :class:`trailkit.rules.explain.Explanation`.
    """
    arn = (_("ARN:"),)
    parts: list[RenderableType] = [
        Text(""),
        _section(_("Trail and bucket")),
        _facts(_trail_rows(ex), arn),
    ]
    if ex.trail.kms_key_id is not None:
        parts += [Text(""), _section(_("Key")), _facts(_key_rows(ex), arn)]
    else:
        parts += [Text(""), _section(_("Key")), Text(_("none: the trail uses SSE-S3"))]
    kind = str(ex.health.kind)
    headline = Text(_("Health:") + " ", style="bold")
    headline.append_text(styled(kind, HEALTH_STYLES, words=HEALTH_WORDS))
    parts += [Text(""), headline]
    reasons = _reason_rows(ex)
    if reasons:
        parts.append(records_table(reasons, REASON_TABLE))
    elif ex.delivery.members_unread is not None:  # an organization trail: members not read
        unread = _("No problem found in this account; its member accounts were not read.")
        parts.append(Text(unread))
    else:
        parts.append(Text(_("No problem found.")))
    if ex.trail.kms_key_id is not None:
        parts += [Text(""), _section(_("Key policy: what CloudTrail asks of KMS"))]
        if ex.policy.unread is not None:
            said = Text(ex.policy.unread, style="yellow")
            if ex.policy.permission:
                said.append(
                    "\n"
                    + _("permission that would let trailkit read it: {permission}").format(
                        permission=ex.policy.permission
                    )
                )
            parts.append(said)
        else:
            parts.append(records_table(_request_rows(ex), REQUEST_TABLE))
        parts += [Text(""), _section(_("Who may decrypt the logs"))]
        if ex.readers:
            parts.append(_label_rows([("•", Text(r.describe())) for r in ex.readers]))
        else:
            parts.append(Text(_("cannot be told: the key policy was not read")))
    parts += [Text(""), _section(_("Delivery")), _label_rows(_delivery_rows(ex))]
    owned = _ownership_rows(ex)
    if owned:
        parts += [Text(""), _section(_("Managed by")), _label_rows(owned)]
    parts += [Text(""), _section(_("Change history"))]
    history = ex.history
    if history is None:
        parts.append(Text(_("not looked up (--no-history)")))
    else:
        window = _("since {since} · regions: {regions}").format(
            since=local_time(history.since), regions=", ".join(history.regions) or "-"
        )
        parts.append(Text(window, style="dim"))
        rows = _history_rows(ex)
        if rows:
            parts.append(records_table(rows, HISTORY_TABLE))
        elif history.complete:
            parts.append(Text(_("No change to the trail or its key in this window.")))
        if history.errors:
            parts.append(_label_rows(_unread_lines(history.errors)))
    if ex.errors:
        parts += [Text(""), _section(_("What could not be read"))]
        parts.append(_label_rows(_unread_lines(ex.errors)))
    return Group(*parts)


# -- trailkit verify -------------------------------------------------------------------------


def proof_view(proof: Any) -> RenderableType:
    """``trailkit verify``: the proof's status, what was expected and seen, the reason and fix.

    Parameters
    ----------
    proof : trailkit.records.Proof
        From :meth:`trailkit.runbook.Runbook.verify_change`.
    """
    styles = {"proven": _GOOD, "pending": _WARN, "failed": _BAD, "unverifiable": _WARN}
    words = {
        "proven": N_("PROVEN"),
        "pending": N_("PENDING DELIVERY"),
        "failed": N_("FAILED"),
        "unverifiable": N_("UNVERIFIABLE"),
    }

    def seen(label: str, obj: Any) -> list[tuple[str, Text]]:
        if obj is None:
            # Without a recorded change (since None) the newest files were looked for.
            none = _("none since the change") if proof.since is not None else _("none found")
            return [(label, Text(none, style="dim"))]
        how = f"{obj.encryption or '-'} {obj.kms_key_id}" if obj.kms_key_id else obj.encryption
        return [
            (label, Text(obj.key)),
            (
                "",
                Text(
                    _("stored {time}; {encryption}").format(
                        time=local_time(obj.last_modified), encryption=how or "-"
                    )
                ),
            ),
        ]

    expected = proof.expected_encryption
    if proof.expected_key:
        expected = f"{expected} {proof.expected_key}"
    log_label, digest_label = _("log file"), _("digest file")
    rows: list[tuple[str, Text]] = [
        (_("delivery proof"), styled(proof.status.value, styles, words=words)),
        (_("trail"), Text(proof.trail_arn)),
        (_("change"), Text(proof.change_id or _("none recorded: the current setting"))),
        (_("since"), Text(local_time(proof.since) if proof.since else "-")),
        (_("expected"), Text(expected)),
        *seen(log_label, proof.log),
    ]
    if proof.digest_expected or proof.digest is not None:
        rows += seen(digest_label, proof.digest)
    rows.append((_("checked"), Text(local_time(proof.checked_at) if proof.checked_at else "-")))
    rows.append((_("reason"), Text(proof.reason)))
    if proof.fix:
        rows.append((_("fix"), Text(proof.fix)))
    return _facts(rows, whole=(_("trail"), log_label, digest_label))
