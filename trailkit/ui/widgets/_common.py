"""What the components share: the stylesheet, small HTML helpers, the confirmation box, steps.

Everything here is presentation: no AWS calls, no domain decisions.
"""

from __future__ import annotations

import html
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import ipywidgets as widgets
import pandas as pd
from IPython.display import display

from trailkit.errors import (
    AccessDenied,
    AwsError,
    ConnectionFailed,
    InputError,
    JournalError,
    NotFound,
    RefusedError,
    TrailkitError,
)
from trailkit.i18n import N_, _, ngettext

__all__ = [
    "CSS",
    "AcceptUnverifiable",
    "Confirm",
    "Step",
    "account_words",
    "badge",
    "codes_html",
    "error_html",
    "esc",
    "frame_html",
    "id_html",
    "ids_html",
    "note_html",
    "plural",
    "root",
    "rows_html",
    "section_title",
    "select_value",
    "set_options",
    "show",
    "spinner_html",
    "state_html",
    "style_widget",
    "text_html",
    "wide_table_html",
]

GREEN, GREEN_BG = "#1b5e20", "#e8f5e9"
RED, RED_BG = "#b71c1c", "#fdecea"
AMBER, AMBER_BG = "#7a5d00", "#fff8e1"
BLUE, BLUE_BG = "#0d47a1", "#e3f2fd"

#: One stylesheet for every component (repeating it when several are shown is harmless).
CSS = f"""
<style>
.tk-root, .tk-root .widget-html-content, .tk-root .widget-label, .tk-root select,
.tk-root input, .tk-root button {{
  font-family: system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial,
    sans-serif;
  font-size: 14px;
}}
.tk-root {{ color: #1f2933; line-height: 1.45; max-width: 1100px; }}
.tk-root .widget-html-content {{ line-height: 1.45; }}
.tk-root code, .tk-root pre {{
  font-family: ui-monospace, "SFMono-Regular", Menlo, Consolas, "DejaVu Sans Mono", monospace;
  font-size: 12.5px;
}}
.tk-section-title {{
  font-size: 16px; font-weight: 650; color: #102a43; margin: 18px 0 6px 0;
  padding-bottom: 4px; border-bottom: 2px solid #d9e2ec;
}}
.tk-section-title .tk-step-no {{
  display: inline-block; min-width: 22px; height: 22px; line-height: 22px; margin-right: 8px;
  border-radius: 11px; background: #334e68; color: #fff; text-align: center; font-size: 13px;
}}
.tk-hint {{ color: #52606d; font-size: 13px; margin: 2px 0 6px 0; }}
.tk-note {{ padding: 6px 10px; border-radius: 4px; margin: 4px 0; }}
.tk-note-ok {{ background: {GREEN_BG}; color: {GREEN}; border-left: 5px solid #2e7d32; }}
.tk-note-bad {{ background: {RED_BG}; color: {RED}; border-left: 5px solid #c62828; }}
.tk-note-warn {{ background: {AMBER_BG}; color: {AMBER}; border-left: 5px solid #f9a825; }}
.tk-note-info {{ background: {BLUE_BG}; color: {BLUE}; border-left: 5px solid #1565c0; }}
.tk-badge {{
  display: inline-block; padding: 1px 8px; border-radius: 10px; font-size: 12px;
  font-weight: 700; letter-spacing: .02em; white-space: nowrap;
}}
.tk-badge-ready, .tk-badge-done, .tk-badge-pass {{ background: #c8e6c9; color: {GREEN}; }}
.tk-badge-blocked, .tk-badge-failed, .tk-badge-refused, .tk-badge-error
  {{ background: #ffcdd2; color: {RED}; }}
.tk-badge-unverifiable, .tk-badge-warning, .tk-badge-pending, .tk-badge-unchanged,
.tk-badge-unknown
  {{ background: #ffecb3; color: {AMBER}; }}
.tk-badge-info {{ background: #bbdefb; color: {BLUE}; }}
.tk-headline {{
  padding: 10px 14px; border-radius: 6px; font-size: 17px; font-weight: 750; margin: 4px 0 8px 0;
}}
.tk-headline small {{ font-size: 13px; font-weight: 500; margin-left: 10px; }}
.tk-headline.tk-ready {{ background: {GREEN_BG}; color: {GREEN}; border-left: 7px solid #2e7d32; }}
.tk-headline.tk-blocked {{ background: {RED_BG}; color: {RED}; border-left: 7px solid #c62828; }}
.tk-headline.tk-unverifiable, .tk-headline.tk-warn {{
  background: {AMBER_BG}; color: {AMBER}; border-left: 7px solid #f9a825;
}}
.tk-headline.tk-info {{ background: {BLUE_BG}; color: {BLUE}; border-left: 7px solid #1565c0; }}
.tk-findings {{ display: flex; flex-direction: column; gap: 4px; }}
.tk-finding {{
  display: grid; grid-template-columns: 26px 1fr; column-gap: 6px; padding: 6px 10px;
  border-radius: 4px; border-left: 5px solid transparent;
}}
.tk-finding .tk-icon {{ font-weight: 800; font-size: 15px; }}
.tk-finding .tk-code {{ font-family: ui-monospace, Menlo, Consolas, monospace; font-size: 12px;
  opacity: .85; margin-left: 6px; }}
.tk-finding .tk-remedy {{ grid-column: 2; color: #3e4c59; font-size: 13px; }}
.tk-finding-error {{ background: {RED_BG}; border-left-color: #c62828; }}
.tk-finding-error .tk-icon {{ color: #c62828; }}
.tk-finding-warning {{ background: {AMBER_BG}; border-left-color: #f9a825; }}
.tk-finding-warning .tk-icon {{ color: #b28704; }}
.tk-finding-info {{ background: {BLUE_BG}; border-left-color: #1565c0; }}
.tk-finding-info .tk-icon {{ color: #1565c0; }}
.tk-passes {{
  background: #f3faf3; border-left: 5px solid #66bb6a; border-radius: 4px; padding: 6px 10px;
}}
.tk-passes-title {{ color: {GREEN}; font-weight: 650; }}
.tk-root ul.tk-pass-list {{ columns: 2 320px; column-gap: 24px; margin: 4px 0 0 0;
  padding: 0; list-style: none; font-size: 13px; color: #334e68; }}
.tk-root ul.tk-pass-list li {{ break-inside: avoid; margin: 1px 0; list-style: none; }}
.tk-pass-list .tk-icon {{ color: #2e7d32; font-weight: 800; margin-right: 6px; }}
.tk-root .tk-table table, .tk-root table.tk-table {{
  border-collapse: collapse; font-size: 13px; margin: 4px 0;
}}
.tk-root .tk-table th, .tk-root .tk-table td, .tk-root table.tk-table th,
.tk-root table.tk-table td {{
  border: 1px solid #d9e2ec; padding: 4px 8px; text-align: left; vertical-align: top;
}}
.tk-root .tk-table th, .tk-root table.tk-table th {{
  background: #f0f4f8; color: #243b53; font-weight: 650;
}}
.tk-table td {{ word-break: break-word; }}
.tk-wide {{ overflow-x: auto; }}
.tk-wide td, .tk-wide th {{ white-space: nowrap; }}
.tk-plan-table td:nth-child(3) {{ font-weight: 600; }}
.tk-plan-table td:first-child, .tk-table th {{ white-space: nowrap; }}
.tk-root .tk-diff {{
  background: #fbfcfd; border: 1px solid #d9e2ec; border-radius: 4px; padding: 8px;
  max-height: 420px; overflow: auto; white-space: pre; margin: 4px 0;
}}
.tk-root .tk-diff > span {{ display: block; min-height: 1.3em; }}
.tk-diff .tk-add {{ background: #e6ffed; color: #1b5e20; display: block; }}
.tk-diff .tk-del {{ background: #ffeef0; color: #b71c1c; display: block; }}
.tk-diff .tk-hunk {{ color: #6f42c1; display: block; }}
.tk-root details summary {{ cursor: pointer; color: #334e68; font-weight: 600; }}
.tk-root details pre {{ max-height: 320px; overflow: auto; background: #fbfcfd;
  border: 1px solid #d9e2ec; padding: 8px; border-radius: 4px; }}
.tk-spinner {{
  display: inline-block; width: 13px; height: 13px; margin-right: 8px; vertical-align: -2px;
  border: 2px solid #90caf9; border-top-color: #1565c0; border-radius: 50%;
  animation: tk-spin .8s linear infinite;
}}
@keyframes tk-spin {{ to {{ transform: rotate(360deg); }} }}
.tk-root .widget-button, .tk-root .jupyter-button {{ font-weight: 600; border-radius: 4px; }}
.tk-root .widget-dropdown select {{ font-size: 14px; }}
.tk-current {{ color: #334e68; margin: 2px 0 4px 0; }}
</style>
"""


def style_widget() -> Any:
    """An (invisible) HTML widget carrying :data:`CSS`."""
    w = widgets.HTML(CSS)
    w.add_class("tk-style")
    return w


def set_options(dropdown: Any, options: list[tuple[str, Any]], value: Any = None) -> None:
    """Replace a dropdown's options and choose ``value``.

    The index goes through None first, so that the browser re-selects even when the new index
    equals the old one (otherwise a replaced ``<select>`` can show up blank).
    """
    dropdown.index = None
    dropdown.options = options
    select_value(dropdown, value)


def select_value(dropdown: Any, value: Any) -> None:
    """Choose ``value``; None shows the placeholder option (the one whose value is None).

    A Dropdown given ``value=None`` selects no option at all and shows up blank; the
    placeholder ("— choose a trail —") is chosen by its index instead.
    """
    if value is None:
        values = [v for __, v in dropdown.options]
        # via None: a value that becomes None takes the index to None (ipywidgets), and only
        # then can the placeholder's index be set without the value changing again
        dropdown.index = None
        if None in values:
            dropdown.index = values.index(None)
    else:
        dropdown.value = value


def root(*children: Any) -> Any:
    """A box with the stylesheet and the ``tk-root`` class around ``children``."""
    box = widgets.VBox([style_widget(), *children])
    box.add_class("tk-root")
    return box


def esc(value: object) -> str:
    """HTML-escape ``value`` (None becomes an empty string)."""
    return "" if value is None else html.escape(str(value))


_ARN = re.compile(r"arn:[^\s()]+")


def ids_html(text: str) -> str:
    """Text with every ARN in it shortened, the full value on hover (:func:`id_html`)."""
    out, end = [], 0
    for match in _ARN.finditer(text):
        out += [esc(text[end : match.start()]), id_html(match.group())]
        end = match.end()
    return "".join([*out, esc(text[end:])])


def section_title(number: int | None, title: str) -> str:
    """The heading of one step of a runbook view (ARNs in it shortened, full on hover)."""
    no = f'<span class="tk-step-no">{number}</span>' if number is not None else ""
    return f'<div class="tk-section-title">{no}{ids_html(title)}</div>'


#: The words of the badges shown without a text of their own (translated when shown).
_BADGE_WORDS = {
    "ready": N_("READY"),
    "blocked": N_("BLOCKED"),
    "unverifiable": N_("UNVERIFIABLE"),
    "done": N_("DONE"),
    "unchanged": N_("UNCHANGED"),
    "failed": N_("FAILED"),
    "refused": N_("REFUSED"),
    "unknown": N_("UNKNOWN"),
    "pending": N_("PENDING"),
    "warning": N_("WARNING"),
    "error": N_("ERROR"),
    "info": N_("INFO"),
    "pass": N_("PASS"),
}


def badge(kind: str, text: str | None = None) -> str:
    """A small coloured label (``ready``, ``blocked``, ``done``, ``warning``, ...); without
    ``text`` the kind's word in the operator's language (``READY`` in English)."""
    word = text or (_(_BADGE_WORDS[kind]) if kind in _BADGE_WORDS else kind.upper())
    return f'<span class="tk-badge tk-badge-{esc(kind)}">{esc(word)}</span>'


def note_html(kind: str, body_html: str, cls: str = "") -> str:
    """A coloured note; ``kind`` is ``ok``, ``bad``, ``warn`` or ``info``; ``body_html`` is HTML."""
    extra = f" {cls}" if cls else ""
    return f'<div class="tk-note tk-note-{kind}{extra}">{body_html}</div>'


def spinner_html(text: str) -> str:
    """A busy line: a spinning circle and ``text``."""
    return f'<div class="tk-busy"><span class="tk-spinner"></span>{esc(text)}</div>'


_BACKTICKED = re.compile(r"`([^`]+)`")


def text_html(text: object) -> str:
    """Plain text as HTML: escaped, with `backticked` commands shown as code."""
    return _BACKTICKED.sub(r"<code>\1</code>", esc(text))


def id_html(value: object) -> str:
    """An ARN shortened (``key/1234abcd…``, the trail name, the alias) with the full value on
    hover; anything else escaped as it is."""
    from trailkit.ui.tables import cell_html

    return "" if value is None else cell_html("", value, {})


def state_html(plan: Any, key: str | None) -> str:
    """``plan.describe_state(key)`` (``SSE-S3``, ``SSE-KMS alias (ARN)``) with the ARN shortened
    and the full value on hover."""
    text = str(plan.describe_state(key))
    if key and key.startswith("arn:") and key in text:
        before, __, after = text.partition(key)
        return f"{esc(before)}{id_html(key)}{esc(after)}"
    return esc(text)


def wide_table_html(
    head: Sequence[str], rows: Iterable[Sequence[str]], cls: str = "", text: Sequence[str] = ()
) -> str:
    """A table of HTML cells in the wrapper that scrolls sideways (``WRAPPER_STYLE``): every
    cell on one line (``ONE_LINE``: names and ids never broken), except the columns named in
    ``text`` (free text, wrapped between words only)."""
    from trailkit.ui.tables import FREE_TEXT, ONE_LINE, WRAPPER_STYLE

    styles = [FREE_TEXT if h in text else ONE_LINE for h in head]
    th = "".join(f'<th style="{ONE_LINE}">{esc(h)}</th>' for h in head)
    body = "".join(
        "<tr>"
        + "".join(
            f'<td style="{style}">{cell}</td>' for style, cell in zip(styles, row, strict=True)
        )
        + "</tr>"
        for row in rows
    )
    classes = " ".join(c for c in ("tk-table", cls) if c)
    return (
        f'<div class="tk-wide" style="{WRAPPER_STYLE}"><table class="{classes}">'
        f"<thead><tr>{th}</tr></thead><tbody>{body}</tbody></table></div>"
    )


def codes_html(codes: Iterable[str]) -> str:
    """Finding codes as code, comma separated."""
    return ", ".join(f"<code>{esc(c)}</code>" for c in codes)


def need_trails(trails: object, fix: str = "") -> None:
    """Refuse ``trails`` unless it is a list (or tuple) of :class:`Trail` records.

    Raises
    ------
    InputError
        Naming the parameter and the type given.
    """
    from trailkit.records import Trail

    if (
        isinstance(trails, str)
        or not isinstance(trails, Sequence)
        or not all(isinstance(t, Trail) for t in trails)
    ):
        raise InputError(
            _("trails must be a list of Trail records, not {kind}.").format(
                kind=type(trails).__name__
            ),
            fix,
        )


def plural(count: int, one: str, many: str | None = None) -> str:
    """``1 check``, ``2 checks`` (``many`` defaults to ``one + "s"``): English only (a
    Japanese text says its counts with :func:`~trailkit.i18n.ngettext`)."""
    return f"{count} {one if count == 1 else (many or one + 's')}"


#: What an error is called on screen (never a Python class name); the first match counts.
_ERROR_LABELS: tuple[tuple[type[BaseException], str], ...] = (
    (AccessDenied, N_("Access denied")),
    (NotFound, N_("Not found")),
    (ConnectionFailed, N_("Cannot connect")),
    (AwsError, N_("AWS refused")),
    (InputError, N_("Not valid")),
    (RefusedError, N_("Refused")),
    (JournalError, N_("Change journal")),
    (TrailkitError, N_("Error")),
)


def error_label(err: BaseException) -> str:
    """The word an error is shown under (``Refused``, ``Not valid``, ...)."""
    for cls, label in _ERROR_LABELS:
        if isinstance(err, cls):
            return _(label)
    return _("Unexpected error")


def error_html(err: BaseException) -> str:
    """An error as one red note: what, and what to do (never a traceback, never a class name)."""
    if isinstance(err, TrailkitError):
        message, fix = err.message, err.fix
    else:
        message, fix = str(err), ""
    what = esc(_("What to do:"))
    todo = f"<div><b>{what}</b> {text_html(fix)}</div>" if fix else ""
    head = esc(_("{label}:").format(label=error_label(err)))
    return note_html("bad", f"<b>{head}</b> {text_html(message)}{todo}", "tk-error")


def frame_html(frame: pd.DataFrame, cls: str = "", *, index: bool = False) -> str:
    """A DataFrame as a plain, escaped HTML table with trailkit's table classes."""
    classes = " ".join(c for c in ("tk-table", cls) if c)
    text = frame.to_html(index=index, escape=True, na_rep="", border=0, classes=classes)
    return str(text)


def show(widget: Any, html_fallback: str, text: str) -> None:
    """Display ``widget``; notebooks saved without widget state still show ``html_fallback``.

    Frontends with the widget manager (JupyterLab, Voila) render the live widget; nbconvert,
    papermill's saved output and static viewers render the HTML.
    """
    bundle: dict[str, Any] = dict(widget._repr_mimebundle_())
    bundle["text/html"] = f'<div class="tk-root">{CSS}{html_fallback}</div>'
    bundle["text/plain"] = text
    display(bundle, raw=True)  # type: ignore[no-untyped-call]


class Confirm:
    """The operator's explicit go-ahead: a checkbox, and on real AWS a typed name as well.

    Parameters
    ----------
    label
        The checkbox text (translated by the caller).
    typed_hint
        What to type, shown as the text box placeholder (real AWS only; None: type the trail
        name).
    on_change
        Called with no argument whenever the confirmation may have changed.
    """

    def __init__(
        self,
        label: str,
        typed_hint: str | None = None,
        on_change: Callable[[], None] | None = None,
    ) -> None:
        self._expected: str | None = None
        self._on_change = on_change
        self._w_box = widgets.Checkbox(
            value=False, description=label, indent=False, layout=widgets.Layout(width="auto")
        )
        self._w_box.add_class("tk-confirm")
        self._w_typed = widgets.Text(
            value="",
            placeholder=_("type the trail name to confirm") if typed_hint is None else typed_hint,
            continuous_update=True,
            layout=widgets.Layout(width="360px", display="none"),
        )
        self._w_typed.add_class("tk-type-name")
        self._w_typed_hint = widgets.HTML("")
        self._w_typed_hint.add_class("tk-type-hint")
        self._w_typed_hint.layout.display = "none"
        self._w_box.observe(self._changed, names="value")
        self._w_typed.observe(self._changed, names="value")
        self.layout = widgets.VBox([self._w_box, self._w_typed_hint, self._w_typed])

    def require_typed(self, expected: str | None) -> None:
        """On real AWS: the operator must also type ``expected`` (None: the checkbox is enough)."""
        self._expected = expected
        shown = "none" if expected is None else "flex"
        self._w_typed.layout.display = shown
        self._w_typed_hint.layout.display = shown
        if expected is not None:
            # the word to type stays as it is in every language: only the sentence is translated
            self._w_typed_hint.value = (
                '<div class="tk-hint">'
                + _("This is <b>real AWS</b>: type {typed} to confirm.").format(
                    typed=f"<code>{esc(expected)}</code>"
                )
                + "</div>"
            )

    @property
    def typed_required(self) -> bool:
        """True when a typed confirmation is needed too."""
        return self._expected is not None

    @property
    def confirmed(self) -> bool:
        """Ticked, and (on real AWS) the expected text typed exactly."""
        if not self._w_box.value:
            return False
        return self._expected is None or self._w_typed.value.strip() == self._expected

    def confirm(self, typed: str | None = None) -> None:
        """Tick the box (and type ``typed``), as the operator would."""
        if typed is not None and self._expected is not None:
            self._w_typed.value = typed
        self._w_box.value = True

    def reset(self) -> None:
        """Untick and clear."""
        self._w_box.value = False
        self._w_typed.value = ""

    def set_disabled(self, disabled: bool) -> None:
        """Grey the inputs out (while busy, or when there is nothing to confirm)."""
        self._w_box.disabled = disabled
        self._w_typed.disabled = disabled

    def _changed(self, _change: Any = None) -> None:
        if self._on_change is not None:
            self._on_change()


class AcceptUnverifiable:
    """The separate yes to sending what trailkit could not check (the command line's
    ``--accept-unverifiable``): a checkbox, shown only for an UNVERIFIABLE plan, that names how
    many checks could not be verified. The ordinary confirmation is not that yes.

    Parameters
    ----------
    on_change
        Called with no argument whenever the acknowledgement may have changed.
    """

    def __init__(self, on_change: Callable[[], None] | None = None) -> None:
        self._codes: tuple[str, ...] = ()
        self._on_change = on_change
        self._w_box = widgets.Checkbox(
            value=False, description="", indent=False, layout=widgets.Layout(width="auto")
        )
        self._w_box.add_class("tk-accept-unverifiable")
        self._w_box.layout.display = "none"
        self._w_box.observe(self._changed, names="value")
        self.layout = self._w_box

    def require(self, codes: Sequence[str]) -> None:
        """Ask for the acknowledgement of these unverified checks (none: hide it); unticked."""
        self._codes = tuple(codes)
        self._w_box.value = False
        self._w_box.layout.display = "flex" if self._codes else "none"
        n = len(self._codes)
        self._w_box.description = (
            ngettext(
                "{n} check could not be verified ({codes}): the key's and the bucket's owners "
                "confirmed them; send anyway",
                "{n} checks could not be verified ({codes}): the key's and the bucket's owners "
                "confirmed them; send anyway",
                n,
            ).format(n=n, codes=", ".join(self._codes))
            if n
            else ""
        )

    @property
    def required(self) -> bool:
        """True when the plan is UNVERIFIABLE, so the acknowledgement is needed."""
        return bool(self._codes)

    @property
    def accepted(self) -> bool:
        """Ticked, or not needed."""
        return not self._codes or bool(self._w_box.value)

    def accept(self) -> None:
        """Tick it, as the operator would."""
        self._w_box.value = True

    def reset(self) -> None:
        """Untick."""
        self._w_box.value = False

    def set_disabled(self, disabled: bool) -> None:
        """Grey it out."""
        self._w_box.disabled = disabled

    def _changed(self, _change: Any = None) -> None:
        if self._on_change is not None:
            self._on_change()


@dataclass(frozen=True)
class Step:
    """The outcome of one headless runbook step, readable in a saved notebook.

    ``value`` is the domain object (``ApplyResult``, ``PolicyResult``, ...); ``html`` is what the
    notebook shows.
    """

    title: str
    ok: bool
    html: str
    value: Any = None

    def _repr_html_(self) -> str:
        return (
            f'<div class="tk-root tk-step">{CSS}{section_title(None, self.title)}{self.html}</div>'
        )

    def __repr__(self) -> str:
        return f"<Step {self.title!r} ok={self.ok}>"


def rows_html(rows: Iterable[tuple[str, str]]) -> str:
    """A two-column key/value table; values are HTML."""
    body = "".join(f"<tr><th>{esc(k)}</th><td>{v}</td></tr>" for k, v in rows)
    return f'<table class="tk-table">{body}</table>'


def account_words(accounts: Iterable[Any], trails: Iterable[Any] = ()) -> dict[str, str] | None:
    """How each account is named in a view of several accounts: id -> its name when the scan
    knows it (AWS Organizations' account name), else its id; None when there is one account
    only (then a view shows no account at all, as before issue 16).

    Parameters
    ----------
    accounts : iterable of Account
        The scan's accounts (``Inventory.accounts``; empty for a scan of one account).
    trails : iterable of Trail
        The trails shown: their accounts count too (trails given without ``accounts``).
    """
    words: dict[str, str] = {}
    for account in accounts:
        words[account.account_id] = account.name or account.account_id
    for trail in trails:
        words.setdefault(trail.account, trail.account)
    return words if len(words) > 1 else None
