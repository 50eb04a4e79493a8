"""The key policy panel: the current policy, the add-only repair as a diff, confirm and apply."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import ipywidgets as widgets

from trailkit.errors import InputError, RefusedError, TrailkitError
from trailkit.i18n import _, ngettext
from trailkit.records import Outcome, PolicyResult
from trailkit.rules.flags import parse_flag
from trailkit.rules.repair import Repair, Restore
from trailkit.ui.widgets._common import (
    Confirm,
    Step,
    badge,
    error_html,
    esc,
    id_html,
    note_html,
    root,
    rows_html,
    show,
    spinner_html,
    text_html,
)

__all__ = ["PolicyPanel", "diff_html", "policy_result_html", "restore_preview_html"]


def diff_html(diff: str) -> str:
    """A unified diff with added lines in green and removed lines in red."""
    lines = []
    for line in diff.splitlines():
        if line.startswith(("+++", "---")):
            cls = "tk-file"
        elif line.startswith("+"):
            cls = "tk-add"
        elif line.startswith("-"):
            cls = "tk-del"
        elif line.startswith("@@"):
            cls = "tk-hunk"
        else:
            cls = "tk-ctx"
        # each line as code: policy JSON and diff marks stay as they are in every language
        lines.append(f'<span class="{cls}"><code>{esc(line) or " "}</code></span>')
    return f'<div class="tk-diff">{"".join(lines)}</div>'


def restore_preview_html(restore: Restore) -> str:
    """What restoring a key policy will send, before it can be confirmed (as ``trailkit policy
    --restore`` shows it): the diff from the key's current policy to the restored one, and
    whether the restore would be refused (the policy changed since) or has nothing to do."""
    key = f"<code>{id_html(restore.key_arn)}</code>"
    change = f"<code>{esc(restore.change_id)}</code>"
    if restore.changed_since:
        text = esc(
            _(
                "The policy of {key} changed since change {change}: the restore will be refused "
                "(nothing is sent)."
            )
        ).format(key=key, change=change)
        head = note_html("bad", f"{badge('blocked')} {text}")
    elif not restore.needed:
        text = esc(_("{key} already has the policy that would be put back.")).format(key=key)
        head = note_html("info", badge("unchanged", _("NOTHING TO DO")) + f" {text}")
    else:
        text = text_html(
            _(
                "Puts back the policy of {key} recorded before change {change}: one "
                "`PutKeyPolicy`, read back and journaled."
            )
        ).format(key=key, change=change)
        head = note_html("warn", badge("warning", _("RESTORE")) + f" {text}")
    return head + diff_html(restore.diff() or _("(no difference)"))


def _pretty(text: str) -> str:
    try:
        return json.dumps(json.loads(text), indent=2)
    except ValueError:
        return text


def policy_result_html(result: PolicyResult) -> str:
    """One key policy change: status, message, journal id."""
    kind = {Outcome.DONE: "ok", Outcome.UNCHANGED: "info"}.get(result.outcome, "bad")
    rows = [(_("key"), f"<code>{id_html(result.key_arn)}</code>")]
    if result.change_id:
        rows.append((_("journal change id"), f"<code>{esc(result.change_id)}</code>"))
    if result.request_id:
        rows.append((_("AWS request id"), f"<code>{esc(result.request_id)}</code>"))
    # "Key policy updated…" says what it is about already: never "Key policy: Key policy…"
    first = " ".join(result.message.lower().split()[:3])
    said = "policy" in first or "キーポリシー" in result.message[:12]
    what = "" if said else "<b>" + esc(_("Key policy:")) + "</b> "
    head = note_html(kind, f"{badge(result.outcome.value)} {what}{text_html(result.message)}")
    return head + rows_html(rows)


class PolicyPanel:
    """Shows what the add-only repair appends to a key policy, and applies it when confirmed.

    Parameters
    ----------
    apply
        ``apply(repair) -> PolicyResult``: sends the repaired policy
        (``trailkit.change.update.put_key_policy`` with a journal and ``confirmed=True``).
    repair
        The repair to show first (``trailkit.runbook.plan_policy_repair``), if any.
    demo
        The demo backend (False: real AWS, where the key's alias or id must be typed as well).
    on_done
        Called with the result after a policy change was sent.
    explain
        Name the findings the repair fixes. False where a checklist next to it lists them:
        the note then refers to it (one voice).
    """

    def __init__(
        self,
        apply: Callable[[Repair], PolicyResult],
        repair: Repair | None = None,
        *,
        demo: bool = True,
        on_done: Callable[[PolicyResult], None] | None = None,
        explain: bool = True,
    ) -> None:
        if not callable(apply):
            raise InputError(
                _("{name} must be callable, not {kind}.").format(
                    name="apply", kind=type(apply).__name__
                ),
                "",
            )
        if repair is not None and not isinstance(repair, Repair):
            raise InputError(
                _("repair must be a Repair or None, not {kind}.").format(
                    kind=type(repair).__name__
                ),
                "",
            )
        if on_done is not None and not callable(on_done):
            raise InputError(
                _("{name} must be callable or None, not {kind}.").format(
                    name="on_done", kind=type(on_done).__name__
                ),
                "",
            )
        self._apply = apply
        self._explain = explain
        self._demo = parse_flag(demo, "demo")
        self._on_done = on_done
        self._repair: Repair | None = None
        self._result: PolicyResult | None = None
        self._error: BaseException | None = None
        self._busy = False
        self._w_summary = widgets.HTML()
        self._w_summary.add_class("tk-policy-summary")
        self._w_current = widgets.HTML()
        self._w_current.add_class("tk-policy-current")
        self._w_diff = widgets.HTML()
        self._w_diff.add_class("tk-policy-diff")
        self._confirm = Confirm(
            _("I have reviewed the statements to add and want to update the key policy"),
            typed_hint=_("type the key's alias (or id) to confirm"),
            on_change=self._refresh,
        )
        self._confirm._w_box.add_class("tk-policy-confirm")
        self._w_confirm = self._confirm._w_box
        self._w_typed = self._confirm._w_typed
        self._w_apply = widgets.Button(
            description=_("Update key policy"),
            icon="shield",
            button_style="success",
            disabled=True,
            layout=widgets.Layout(width="auto", align_self="flex-start"),
        )
        self._w_apply.add_class("tk-policy-apply")
        self._w_apply.on_click(self._do_apply)
        self._w_progress = widgets.HTML()
        self._w_progress.add_class("tk-progress")
        self._w_result = widgets.HTML()
        self._w_result.add_class("tk-policy-result")
        self._w_actions = widgets.VBox([self._confirm.layout, self._w_apply])
        self.layout = widgets.VBox(
            [
                self._w_summary,
                self._w_current,
                self._w_diff,
                self._w_actions,
                self._w_progress,
                self._w_result,
            ]
        )
        self.layout.add_class("tk-policy-panel")
        self.show(repair)

    @property
    def value(self) -> Repair | None:
        """The repair shown."""
        return self._repair

    @property
    def result(self) -> PolicyResult | None:
        """The result of the last policy update."""
        return self._result

    @property
    def error(self) -> BaseException | None:
        """The error of the last update that raised."""
        return self._error

    @property
    def can_apply(self) -> bool:
        """True when the update button is enabled."""
        return (
            self._repair is not None
            and self._repair.needed
            and self._result is None
            and not self._busy
            and self._confirm.confirmed
        )

    def _expected_text(self, repair: Repair) -> str:
        return repair.key.confirm_name

    def show(self, repair: Repair | None, note: str = "") -> None:
        """Show ``repair`` (None: nothing to repair; ``note`` is HTML saying why)."""
        self._repair = repair
        self._result = None
        self._confirm.reset()
        self._w_result.value = ""
        if repair is None:
            self._w_summary.value = note
            self._w_current.value = ""
            self._w_diff.value = ""
            self._w_actions.layout.display = "none"
            self._refresh()
            return
        key = repair.key
        name = key.confirm_name
        trails = ", ".join(t.name for t in repair.trails)
        if repair.needed:
            fixes = ", ".join(repair.fixes) or "readers"
            which = (
                esc(_("fixes: {codes}")).format(codes=f"<code>{esc(fixes)}</code>")
                if self._explain
                else esc(_("see the checklist"))
            )
            n = len(repair.added)
            text = esc(
                ngettext(
                    "The policy of {key} must admit CloudTrail for {trails} ({which}). trailkit "
                    "appends {n} statement; nothing existing is changed or removed. New size: "
                    "{size} bytes.",
                    "The policy of {key} must admit CloudTrail for {trails} ({which}). trailkit "
                    "appends {n} statements; nothing existing is changed or removed. New size: "
                    "{size} bytes.",
                    n,
                )
            ).format(
                key=f"<b>{esc(name)}</b>", trails=esc(trails), which=which, n=n, size=repair.size
            )
            self._w_summary.value = note_html("warn", badge("warning", _("REPAIR")) + f" {text}")
            self._w_diff.value = diff_html(repair.diff())
            self._w_actions.layout.display = "flex"
        else:
            text = esc(
                _(
                    "The policy of {key} already lets CloudTrail use the key for {trails}: "
                    "nothing to add."
                )
            ).format(key=f"<b>{esc(name)}</b>", trails=esc(trails))
            self._w_summary.value = note_html("ok", f"{badge('pass', 'OK')} {text}")
            self._w_diff.value = ""
            self._w_actions.layout.display = "none"
        self._w_current.value = (
            "<details><summary>" + esc(_("Current key policy")) + "</summary>"
            f"<pre><code>{esc(_pretty(repair.original_text))}</code></pre></details>"
        )
        self._confirm.require_typed(None if self._demo else self._expected_text(repair))
        self._refresh()

    def show_result(self, result: PolicyResult) -> None:
        """Show the result of a policy update made earlier (e.g. after the view was re-read)."""
        self._result = result
        self._w_result.value = policy_result_html(result)
        self._refresh()

    def show_error(self, err: BaseException) -> None:
        """No repair can be planned: show why."""
        self.show(None, error_html(err))

    def confirm_and_apply(self, typed: str | None = None) -> PolicyResult | None:
        """Tick (and type) the confirmation and press the button; None if it stayed disabled."""
        self._confirm.confirm(typed)
        before = self._result
        self._w_apply.click()
        return self._result if self._result is not before else None

    def apply(self, confirm: object = False) -> Step | None:
        """Headless: when ``confirm`` and a repair is needed, confirm and send it.

        ``confirm`` is read strictly (:func:`~trailkit.rules.flags.parse_flag`).
        Returns None when not confirmed or when nothing needs to change.

        Raises
        ------
        InputError
            ``confirm`` is not an unambiguous yes or no (parameter ``apply``); nothing is sent.
        TrailkitError
            The update was refused or failed.
        """
        confirm = parse_flag(confirm, "apply")
        repair = self._repair
        if not confirm or repair is None or not repair.needed:
            return None
        result = self.confirm_and_apply(self._expected_text(repair))
        if result is None:
            raise self._error or RefusedError(_("The key policy update did not run."), "")
        if not result.outcome.succeeded:
            raise TrailkitError(result.message)
        return Step(_("Key policy update"), True, policy_result_html(result), result)

    def _refresh(self) -> None:
        self._w_apply.disabled = not self.can_apply
        repair = self._repair
        self._confirm.set_disabled(
            self._busy or repair is None or not repair.needed or self._result is not None
        )

    def _do_apply(self, _button: Any = None) -> None:
        repair = self._repair
        if repair is None or not self.can_apply:
            return
        self._busy = True
        self._refresh()
        self._w_progress.value = spinner_html(_("Updating the key policy and reading it back…"))
        result: PolicyResult | None = None
        self._error = None
        try:
            result = self._apply(repair)
        except Exception as err:  # shown to the operator, never as a traceback
            self._error = err
            self._w_result.value = error_html(err)
        else:
            self._result = result
            self._w_result.value = policy_result_html(result)
        finally:
            self._busy = False
            self._w_progress.value = ""
        self._refresh()
        if result is not None and self._on_done is not None:
            self._on_done(result)

    def html(self) -> str:
        """Summary, diff and result as HTML."""
        return f"{self._w_summary.value}{self._w_diff.value}{self._w_result.value}"

    def _ipython_display_(self) -> None:
        show(root(self.layout), self.html(), "<PolicyPanel>")
