"""The change journal view: every recorded change, and the rollback of a chosen one."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import ipywidgets as widgets

from trailkit.arn import resource_id, short_arn
from trailkit.errors import (
    InputError,
    JournalError,
    RefusedError,
    TrailkitError,
    UnverifiableError,
)
from trailkit.i18n import N_, _, ngettext
from trailkit.records import ApplyResult, Change, Kind, PolicyResult
from trailkit.records.journal import DELIVERY_WORDS, changes_frame, undoable
from trailkit.rules.flags import parse_flag, parse_text
from trailkit.rules.plan import Plan
from trailkit.rules.repair import Restore
from trailkit.ui.tables import ONE_LINE, WRAPPER_STYLE, cell_html, local_time
from trailkit.ui.widgets._common import (
    AcceptUnverifiable,
    Confirm,
    Step,
    badge,
    error_html,
    esc,
    id_html,
    note_html,
    root,
    select_value,
    set_options,
    show,
    spinner_html,
)
from trailkit.ui.widgets._ports import JournalSource
from trailkit.ui.widgets.change import result_html, rollback_preview_html
from trailkit.ui.widgets.policy import policy_result_html, restore_preview_html

__all__ = ["JournalView", "journal_html"]

_STATUS_BADGE = {
    "done": "done",
    "reconciled-done": "done",
    "failed": "failed",
    "pending": "pending",
    "reconciled-not-applied": "unchanged",
    "reconciled-changed": "warning",
    "reconciled-target-gone": "warning",
}
#: A change's newest delivery proof (``changes_frame``'s ``delivery``) as a badge.
_DELIVERY_BADGE = {
    "proven": "done",
    "pending": "pending",
    "failed": "failed",
    "unverifiable": "warning",
}
#: How each journal status is said on screen: the code itself in English (the message ids are
#: the codes), words in other languages; the journal keeps the code.
_STATUS_TEXT = {
    "done": N_("done"),
    "reconciled-done": N_("reconciled-done"),
    "failed": N_("failed"),
    "pending": N_("pending"),
    "reconciled-not-applied": N_("reconciled-not-applied"),
    "reconciled-changed": N_("reconciled-changed"),
    "reconciled-target-gone": N_("reconciled-target-gone"),
}
#: The table's column headings: the field names in English (as before), words in other
#: languages (the row keys of ``changes_frame`` stay as they are).
_HEADINGS = {
    "change_id": N_("change_id"),
    "time": N_("time"),
    "kind": N_("kind"),
    "status": N_("status"),
    "delivery": N_("delivery"),
    "target": N_("target"),
    "before": N_("before"),
    "after": N_("after"),
    "rollback_of": N_("rollback_of"),
    "undone_by": N_("undone_by"),
    "backend": N_("backend"),
    "endpoint": N_("endpoint"),
    "account": N_("account"),
}
_COLUMNS = [
    "change_id",
    "time",
    "kind",
    "status",
    "delivery",
    "target",
    "before",
    "after",
    "rollback_of",
    "undone_by",
    "backend",
    "endpoint",
    "account",
]


def _short(value: Any) -> str:
    """A trail's key as the labels show it: SSE-S3 when there is none, a key ARN shortened."""
    if value is None:
        return "SSE-S3"
    text = str(value)
    if text.startswith("arn:") and "/" in text:
        return short_arn(text)
    return text


_POLICY_SIZE = re.compile(r"^policy \((\d+) bytes, (\d+) statements?\)$")
_POLICY_NOT_JSON = re.compile(r"^policy \((\d+) bytes, not JSON\)$")


def _policy_text(value: Any) -> Any:
    """A key policy as the journal table abbreviates it, in the operator's language."""
    if not isinstance(value, str):
        return value
    if match := _POLICY_SIZE.match(value):
        size, count = int(match.group(1)), int(match.group(2))
        return ngettext(
            "policy ({size} bytes, {n} statement)", "policy ({size} bytes, {n} statements)", count
        ).format(size=size, n=count)
    if match := _POLICY_NOT_JSON.match(value):
        return _("policy ({size} bytes, not JSON)").format(size=int(match.group(1)))
    return value


def _status(status: str) -> str:
    text = _STATUS_TEXT.get(status)
    return _(text) if text is not None else status


def _delivery(row: dict[str, Any]) -> str:
    """The Delivery cell: the newest delivery proof's status as a badge, with when it was
    checked and why it is not proven (else the log object read) on hover; blank when the
    change's delivery was never proven."""
    status, proof = row.get("delivery"), row.get("proof")
    if not status or not isinstance(proof, dict):
        return ""
    word = _(DELIVERY_WORDS[status]) if status in DELIVERY_WORDS else str(status)
    hover = [_("checked {time}").format(time=local_time(proof.get("time")))]
    hover += [str(proof[k]) for k in ("reason", "log_object") if proof.get(k)]
    title = esc(" · ".join(hover))
    return f'<span title="{title}">{badge(_DELIVERY_BADGE.get(status, "info"), word)}</span>'


def _code(value: Any) -> str:
    return f"<code>{esc(value)}</code>" if value else ""


def journal_html(changes: list[Change]) -> str:
    """The journal as an HTML table: one line per change (ids and times never wrap; ARNs
    shortened with the full value on hover, a trail's missing key as SSE-S3), status
    coloured, scrolling sideways when wider than the page."""
    if not changes:
        return (
            '<div class="tk-hint">'
            + esc(_("The journal is empty: no change was made yet."))
            + "</div>"
        )
    head = "".join(f'<th style="{ONE_LINE}">{esc(_(_HEADINGS[c]))}</th>' for c in _COLUMNS)
    body = []
    for row in changes_frame(changes):
        cells = {
            "change_id": _code(row["change_id"]),
            "time": esc(local_time(row["time"])),
            "kind": esc(row["kind"]),
            "status": badge(_STATUS_BADGE.get(row["status"], "info"), _status(row["status"])),
            "delivery": _delivery(row),
            "target": cell_html("target_arn", row["target_arn"], row),
            "before": cell_html("before", _policy_text(row["before"]), row),
            "after": cell_html("after", _policy_text(row["after"]), row),
            "rollback_of": _code(row["rollback_of"]),
            "undone_by": _code(row["undone_by"]),
            "backend": badge("info", row["backend"]),
            "endpoint": esc(row["endpoint"] or _("AWS default")),
            "account": esc(row["account"]),
        }
        body.append(
            "<tr>" + "".join(f'<td style="{ONE_LINE}">{cells[c]}</td>' for c in _COLUMNS) + "</tr>"
        )
    return (
        f'<div class="tk-wide" style="{WRAPPER_STYLE}">'
        f'<table class="tk-table tk-journal-table"><thead><tr>{head}</tr></thead>'
        f"<tbody>{''.join(body)}</tbody></table></div>"
    )


def _label(change: Change) -> str:
    intent = change.intent
    target = resource_id(intent.target_arn)
    if intent.kind is Kind.TRAIL_KEY:
        what = f"{_short(intent.before)} → {_short(intent.after)}"
    else:
        what = _("key policy")
    return f"{change.change_id} · {intent.kind.value} · {target} · {what}"


class JournalView:
    """The recorded changes, with Rollback for a chosen one.

    Parameters
    ----------
    journal
        The change journal (a local file: reading it makes no AWS call); any
        :class:`~trailkit.ui.widgets._ports.JournalSource`.
    undo
        ``undo(change_id) -> ApplyResult | PolicyResult`` (with ``accept_unverifiable=True``
        only once the operator acknowledged an UNVERIFIABLE rollback it refused): rolls a
        trail change back, or
        restores the policy recorded before a key policy change.
    demo
        The demo backend (False: real AWS, where the change id must be typed as well).
    preview
        ``preview(change_id) -> Plan | Restore``: what undoing it will send, read fresh and
        shown when it is chosen, before it can be confirmed (a trail change: its rollback's
        checklist, verdict and before → after; a policy change: the diff of the restore).
        None: a one-line summary only.
    """

    def __init__(
        self,
        journal: JournalSource,
        undo: Callable[..., ApplyResult | PolicyResult] | None = None,
        *,
        demo: bool = True,
        preview: Callable[[str], Plan | Restore] | None = None,
    ) -> None:
        missing = [m for m in ("read", "changes", "get") if not callable(getattr(journal, m, None))]
        if missing:
            raise InputError(
                _("journal must be a Journal; {kind} lacks {missing}.").format(
                    kind=type(journal).__name__, missing=", ".join(missing)
                ),
                _("pass trailkit.ui.notebook.open_journal(path)"),
            )
        if undo is not None and not callable(undo):
            raise InputError(
                _("{name} must be callable or None, not {kind}.").format(
                    name="undo", kind=type(undo).__name__
                ),
                "",
            )
        self._journal = journal
        self._undo = undo
        self._preview_of = preview
        self._refused: tuple[str, ...] = ()
        self._demo = parse_flag(demo, "demo")
        self._changes: list[Change] = []
        self._result: ApplyResult | PolicyResult | None = None
        self._busy = False
        self._error: BaseException | None = None
        self._w_table = widgets.HTML()
        self._w_table.add_class("tk-journal")
        self._w_problems = widgets.HTML()
        self._w_select = widgets.Dropdown(
            options=[(_("(nothing to roll back)"), None)],
            index=0,
            layout=widgets.Layout(width="min(760px, 100%)"),
        )
        self._w_select.add_class("tk-journal-select")
        self._w_select.observe(self._selected, names="value")
        self._w_preview = widgets.HTML()
        self._w_preview.add_class("tk-journal-preview")
        self._confirm = Confirm(
            _("Roll this change back (restore the state recorded before it)"),
            typed_hint=_("type the change id to confirm"),
            on_change=self._refresh_buttons,
        )
        self._confirm._w_box.add_class("tk-journal-confirm")
        self._w_confirm = self._confirm._w_box
        self._w_typed = self._confirm._w_typed
        # shown once a rollback was refused as UNVERIFIABLE: the separate yes
        self._accept = AcceptUnverifiable(on_change=self._refresh_buttons)
        self._w_accept = self._accept.layout
        self._w_rollback = widgets.Button(
            description=_("Roll back the selected change"),
            icon="undo",
            button_style="warning",
            disabled=True,
            layout=widgets.Layout(width="auto", align_self="flex-start"),
        )
        self._w_rollback.add_class("tk-journal-rollback")
        self._w_rollback.on_click(self._do_rollback)
        self._w_progress = widgets.HTML()
        self._w_progress.add_class("tk-progress")
        self._w_result = widgets.HTML()
        self._w_result.add_class("tk-journal-result")
        self._w_actions = widgets.VBox(
            [
                self._w_select,
                self._w_preview,
                self._w_accept,
                self._confirm.layout,
                self._w_rollback,
                self._w_progress,
            ]
        )
        self.layout = widgets.VBox(
            [self._w_problems, self._w_table, self._w_actions, self._w_result]
        )
        self.layout.add_class("tk-journal-view")
        if undo is None:
            self._w_actions.layout.display = "none"
        self.refresh()

    @property
    def value(self) -> list[Change]:
        """Every recorded change, in the order they were started."""
        return list(self._changes)

    @property
    def selected(self) -> str | None:
        """The change id chosen for rollback."""
        value: str | None = self._w_select.value
        return value

    @property
    def result(self) -> ApplyResult | PolicyResult | None:
        """The result of the last rollback."""
        return self._result

    @property
    def can_rollback(self) -> bool:
        """True when the rollback button is enabled."""
        return (
            self._undo is not None
            and self.selected is not None
            and not self._busy
            and self._confirm.confirmed
            and self._accept.accepted
        )

    def refresh(self) -> None:
        """Read the journal again."""
        read = self._journal.read()
        self._changes = self._journal.changes()
        self._w_problems.value = (
            note_html(
                "warn",
                esc(
                    _("Some journal lines could not be read: {problems}").format(
                        problems="; ".join(read.problems)
                    )
                ),
            )
            if read.problems
            else ""
        )
        n = len(self._changes)
        said = esc(
            ngettext("Journal: {path} · {n} change", "Journal: {path} · {n} changes", n)
        ).format(path=f"<code>{esc(self._journal.path)}</code>", n=n)
        self._w_table.value = f'<div class="tk-hint">{said}</div>{journal_html(self._changes)}'
        options = [(_label(c), c.change_id) for c in undoable(self._changes, rollbacks=True)]
        first = _("— choose a change to roll back —") if options else _("(nothing to roll back)")
        set_options(self._w_select, [(first, None), *options], None)
        self._confirm.reset()
        self._accept.require([])
        self._refresh_buttons()

    def select(self, change_id: str | None) -> None:
        """Choose the change to roll back (None clears)."""
        select_value(self._w_select, change_id)

    def rollback(self, change_id: str | None, accept_unverifiable: object = False) -> Step | None:
        """Choose ``change_id``, confirm and press Rollback, as the operator would.

        Returns None when ``change_id`` is None. An UNVERIFIABLE rollback is refused
        (:class:`~trailkit.errors.UnverifiableError`) unless ``accept_unverifiable``: then the
        acknowledgement is ticked and Rollback pressed again.

        Raises
        ------
        JournalError
            No such change, or it cannot be rolled back (failed, or already rolled back).
        TrailkitError
            The rollback was refused or failed (the message says why).
        """
        accepted = parse_flag(accept_unverifiable, "accept_unverifiable")
        change_id = parse_text(change_id, "rollback_change")
        if change_id is None:
            return None
        offered = {value for __, value in self._w_select.options if value}
        if change_id not in offered:
            change = self._journal.get(change_id)  # JournalError when unknown
            raise JournalError(
                _(
                    "Change {change} ({status}) cannot be rolled back: it did not take effect, "
                    "or it was rolled back already."
                ).format(change=change_id, status=_status(change.status)),
                _("choose a change from the journal table that is done and not rolled back"),
            )
        self.select(change_id)
        preview = str(self._w_preview.value)  # what is sent, shown before the result
        self._confirm.confirm(change_id)
        before = self._result
        self._w_rollback.click()
        if self._result is before and accepted and self._accept.required:
            self.select(change_id)  # the refresh after the refusal cleared the choice
            self._accept.require(self._refused)
            self._accept.accept()
            self._confirm.confirm(change_id)
            self._w_rollback.click()
        result = self._result
        if result is None or result is before:
            if self._error is not None:
                raise self._error
            raise RefusedError(
                _("The rollback of {change} did not run.").format(change=change_id), ""
            )
        if not result.outcome.succeeded:
            raise result.error or TrailkitError(result.message)
        title = _("Rollback of {change}").format(change=change_id)
        html = (
            result_html(result, title)
            if isinstance(result, ApplyResult)
            else policy_result_html(result)
        )
        return Step(title, True, preview + html, result)

    def _selected(self, _change: Any = None) -> None:
        self._w_preview.value = self._preview(self.selected)
        self._confirm.reset()
        self._accept.require([])
        self._confirm.require_typed(None if self._demo or self.selected is None else self.selected)
        self._refresh_buttons()

    def _preview(self, change_id: str | None) -> str:
        """What rolling ``change_id`` back restores (shown before it can be confirmed)."""
        change = next((c for c in self._changes if c.change_id == change_id), None)
        if change is None:
            return ""
        intent = change.intent
        target = esc(resource_id(intent.target_arn))
        if intent.kind is Kind.TRAIL_KEY:
            what = esc(_("Restores {trail} from {after} to {before}.")).format(
                trail=target,
                after=f"<b>{id_html(intent.after or 'SSE-S3')}</b>",
                before=f"<b>{id_html(intent.before or 'SSE-S3')}</b>",
            )
        else:
            what = esc(
                _("Restores the key policy of {target} recorded before this change.")
            ).format(target=target)
        head = note_html("warn", badge("warning", _("ROLLBACK")) + f" {what}")
        if self._preview_of is None or change_id is None:
            return head
        try:
            shown = self._preview_of(change_id)
        except TrailkitError as err:  # the undo would be refused: say why before the button
            return head + error_html(err)
        if isinstance(shown, Restore):
            return head + restore_preview_html(shown)
        return head + rollback_preview_html(shown, demo=self._demo)

    def _refresh_buttons(self) -> None:
        self._w_rollback.disabled = not self.can_rollback

    def _do_rollback(self, _button: Any = None) -> None:
        change_id = self.selected
        if change_id is None or self._undo is None or not self.can_rollback:
            return
        self._busy = True
        self._refresh_buttons()
        self._w_progress.value = spinner_html(
            _("Rolling back {change} and verifying…").format(change=change_id)
        )
        undo = self._undo
        self._error = None
        accepted = self._accept.required and self._accept.accepted
        try:
            result = undo(change_id, accept_unverifiable=True) if accepted else undo(change_id)
        except Exception as err:  # shown to the operator, never as a traceback
            self._error = err
            self._w_result.value = error_html(err)
        else:
            self._result = result
            self._w_result.value = (
                result_html(result, _("Rollback of {change}").format(change=change_id))
                if isinstance(result, ApplyResult)
                else policy_result_html(result)
            )
        finally:
            self._busy = False
            self._w_progress.value = ""
        self.refresh()
        if isinstance(self._error, UnverifiableError):  # keep the choice, ask the separate yes
            self._refused = self._error.unverified
            self.select(change_id)
            self._accept.require(self._refused)
            self._refresh_buttons()

    def html(self) -> str:
        """Table and last result as HTML."""
        return f"{self._w_table.value}{self._w_result.value}"

    def _ipython_display_(self) -> None:
        show(root(self.layout), self.html(), f"<JournalView: {len(self._changes)} changes>")
