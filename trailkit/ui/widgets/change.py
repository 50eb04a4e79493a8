"""The change panel: the plan before/after, the go-ahead, Apply, the verified result, Rollback."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import ipywidgets as widgets

from trailkit.errors import TrailkitError, UnverifiableError
from trailkit.i18n import _
from trailkit.records import ApplyResult, Outcome, PlanView
from trailkit.rules.checks import UNVERIFIED_CODES
from trailkit.rules.plan import Plan
from trailkit.ui.widgets._common import (
    AcceptUnverifiable,
    Confirm,
    badge,
    codes_html,
    error_html,
    esc,
    id_html,
    note_html,
    root,
    rows_html,
    show,
    spinner_html,
    state_html,
    text_html,
    wide_table_html,
)
from trailkit.ui.widgets.checklist import checklist_html

__all__ = [
    "ChangePanel",
    "plan_note_html",
    "plan_table_html",
    "request_html",
    "result_html",
    "rollback_preview_html",
]

_OUTCOME_NOTE = {
    Outcome.DONE: "ok",
    Outcome.UNCHANGED: "info",
    Outcome.FAILED: "bad",
    Outcome.REFUSED: "bad",
}


def _state(plan: PlanView, key: str | None) -> str:
    return state_html(plan, key)


def request_html(request: Mapping[str, str]) -> str:
    """The exact request as its parameter names and full values (what is sent; copyable),
    one parameter per line; an empty value (SSE-KMS off) says so."""
    empty = _("(empty: turns SSE-KMS off)")
    return "".join(
        f"<div>{esc(name)} <code>{esc(value)}</code></div>"
        if value
        else f'<div>{esc(name)} <code>""</code> {esc(empty)}</div>'
        for name, value in request.items()
    )


def plan_table_html(plan: Plan, *, checklist: bool = False) -> str:
    """The before/after table of ``plan`` (trail, encryption, where it is sent, the exact
    request, what blocks it): one line per cell, ARNs shortened with the full value on hover
    (the request: in full), in a wrapper that scrolls sideways. ``checklist``: a checklist next
    to it lists the findings, so this table refers to it instead of repeating their codes."""
    errors = plan.report.errors
    if not errors:
        blocking = esc(_("none"))
    elif checklist:
        blocking = esc(_("blocked: see the checklist"))
    else:
        blocking = codes_html(f.code for f in errors)
    rows = [
        (esc(_("trail")), id_html(plan.trail.arn), id_html(plan.trail.arn)),
        (esc(_("encryption")), _state(plan, plan.before_key), _state(plan, plan.after_key)),
        (
            esc(_("sent to")),
            "",
            esc(
                _("UpdateTrail in {region} (account {account})").format(
                    region=plan.region, account=plan.account
                )
            ),
        ),
        (esc(_("request")), "", request_html(plan.request)),
        (esc(_("blocking findings")), "", blocking),
    ]
    return wide_table_html(("", _("before"), _("after")), rows, "tk-plan-table")


def result_html(result: ApplyResult, title: str | None = None) -> str:
    """One apply (or rollback) result: status, message, read-back, delivery, journal id
    (``title``, translated by the caller; None: "Result")."""
    plan = result.plan
    title = _("Result") if title is None else title
    rows: list[tuple[str, str]] = [
        (_("trail"), id_html(plan.trail.arn)),
        (_("before"), _state(plan, plan.before_key)),
    ]
    if result.outcome in (Outcome.DONE, Outcome.UNCHANGED, Outcome.FAILED):
        rows.append((_("now (read back)"), f"<b>{_state(plan, result.key_after)}</b>"))
    if result.outcome is Outcome.DONE:
        rows.append(
            (
                _("verified"),
                esc(_("yes")) if result.verified else _("<b>NO</b>: read back differs"),
            )
        )
    if result.delivery is not None:
        kind = "pass" if result.delivery.ok else "error"
        rows.append(
            (
                _("delivery"),
                badge(kind, "OK" if result.delivery.ok else _("ERRORS"))
                + " "
                + f"{esc(result.delivery.summary())}",
            )
        )
    if result.change_id:
        rows.append((_("journal change id"), f"<code>{esc(result.change_id)}</code>"))
    if result.request_id:
        rows.append((_("AWS request id"), f"<code>{esc(result.request_id)}</code>"))
    if plan.rollback_of:
        rows.append((_("rolls back"), f"<code>{esc(plan.rollback_of)}</code>"))
    kind = _OUTCOME_NOTE.get(result.outcome, "warn")
    if result.outcome is Outcome.DONE and not result.verified:
        kind = "warn"
    if result.delivery is not None and not result.delivery.ok:
        kind = "warn"
    said = esc(_("{title}:").format(title=title))
    head = note_html(
        kind, f"{badge(result.outcome.value)} <b>{said}</b> {text_html(result.message)}"
    )
    error = error_html(result.error) if result.error is not None else ""
    return f"{head}{error}{rows_html(rows)}"


def plan_note_html(plan: Plan, *, demo: bool, checklist: bool) -> str:
    """The verdict above a plan: BLOCKED (why, or "see the checklist" when ``checklist``: one
    next to it lists the findings), NOTHING TO DO, UNVERIFIABLE, ENCRYPTION OFF (turning SSE-KMS
    off) or READY, with what will be sent where (``demo``: the demo backend, else REAL AWS)."""
    report = plan.report
    if plan.blocked:
        why = esc(_("see the checklist.")) if checklist else text_html(report.errors[0].message)
        cannot = esc(_("This plan cannot be applied: {why}")).format(why=why)
        return note_html("bad", f"{badge('blocked')} {cannot}")
    if plan.nothing_to_do:
        return note_html(
            "info",
            badge("unchanged", _("NOTHING TO DO"))
            + " "
            + esc(_("{trail} already is in this state.").format(trail=plan.trail.name)),
        )
    if demo:
        text = _(
            "Sends one `UpdateTrail` to the demo backend in {region}, then reads the trail back "
            "and checks delivery. Every step is written to the change journal."
        )
    else:
        text = _(
            "Sends one `UpdateTrail` to REAL AWS in {region}, then reads the trail back and "
            "checks delivery. Every step is written to the change journal."
        )
    sends = text_html(text).format(region=esc(plan.region))
    unverified = [f.code for f in report.findings if f.code in UNVERIFIED_CODES]
    if unverified:
        which = esc(_("see the checklist")) if checklist else codes_html(unverified)
        part = esc(
            _("Part of this could not be checked from here ({which}): AWS may still refuse it.")
        ).format(which=which)
        return note_html("warn", f"{badge('unverifiable')} {part} {sends}")
    if plan.disable:
        off = esc(
            _("Turns SSE-KMS off: new log files of {trail} are encrypted with SSE-S3 only.")
        ).format(trail=esc(plan.trail.name))
        return note_html("warn", badge("warning", _("ENCRYPTION OFF")) + f" {off} {sends}")
    return note_html("ok", f"{badge('ready')} {sends}")


def rollback_preview_html(plan: Plan, *, demo: bool) -> str:
    """What a rollback will send, before it can be confirmed (the same preview as any other
    write): its checklist (the findings, once), the verdict (with the ENCRYPTION OFF warning
    when it goes back to SSE-S3) and the before → after table with the exact request."""
    return (
        checklist_html(plan.report)
        + plan_note_html(plan, demo=demo, checklist=True)
        + plan_table_html(plan, checklist=True)
    )


class ChangePanel:
    """Plan table, confirmation, Apply (with progress), verified result and Rollback.

    Apply stays disabled while the plan has a blocking finding, while nothing would change,
    until the confirmation box is ticked and, on real AWS, until the trail name is typed. For an
    UNVERIFIABLE plan a second box, naming how many checks could not be verified, must be ticked
    as well (the command line's ``--accept-unverifiable``).

    Parameters
    ----------
    apply
        ``apply(plan) -> ApplyResult``: sends the change (``trailkit.change.update.apply`` with a
        journal and ``confirmed=True``).
    rollback
        ``rollback(change_id) -> ApplyResult``: undoes a recorded change; called with
        ``accept_unverifiable=True`` only once the operator ticked the acknowledgement shown
        after it refused an UNVERIFIABLE rollback
        (:class:`~trailkit.errors.UnverifiableError`).
    demo
        The demo backend (False: real AWS, where the trail name must be typed as well).
    on_done
        Called with every result (apply and rollback), e.g. to re-read the trail.
    explain
        Repeat the first blocking finding above the plan. False where a checklist next to it
        says it already: the plan then refers to it (one voice).
    preview_rollback
        ``preview_rollback(change_id) -> Plan``: the rollback's plan (read fresh, nothing sent),
        shown before the rollback can be confirmed, as every write is (None: a one-line summary
        only).
    """

    def __init__(
        self,
        apply: Callable[[Plan], ApplyResult],
        rollback: Callable[..., ApplyResult],
        *,
        demo: bool = True,
        on_done: Callable[[ApplyResult], None] | None = None,
        explain: bool = True,
        preview_rollback: Callable[[str], Plan] | None = None,
    ) -> None:
        self._explain = explain
        self._preview_rollback = preview_rollback
        self._apply = apply
        self._rollback = rollback
        self._demo = demo
        self._on_done = on_done
        self._plan: Plan | None = None
        self._spent = False
        self._busy = False
        self._applied: ApplyResult | None = None
        self._rolled_back: ApplyResult | None = None
        self._last: ApplyResult | None = None
        self._error: BaseException | None = None
        self._rollback_of: str | None = None
        self._rollback_name: str | None = None
        self._w_plan = widgets.HTML()
        self._w_plan.add_class("tk-plan")
        self._confirm = Confirm(
            _("I have reviewed this plan and want to send the change"),
            on_change=self._refresh,
        )
        self._confirm._w_box.add_class("tk-apply-confirm")
        self._w_confirm = self._confirm._w_box
        self._w_typed = self._confirm._w_typed
        self._accept = AcceptUnverifiable(on_change=self._refresh)
        self._w_accept = self._accept.layout
        self._w_apply = widgets.Button(
            description=_("Apply"), icon="check", button_style="success", disabled=True
        )
        self._w_apply.add_class("tk-apply")
        self._w_apply.on_click(self._do_apply)
        self._w_why = widgets.HTML()
        self._w_why.add_class("tk-apply-why")
        self._w_progress = widgets.HTML()
        self._w_progress.add_class("tk-progress")
        self._w_result = widgets.HTML()
        self._w_result.add_class("tk-result")
        # Rollback is a write like Apply: the same confirmation (checkbox, and on real AWS the
        # trail name typed), after a preview of what it restores
        self._w_rollback_preview = widgets.HTML()
        self._w_rollback_preview.add_class("tk-rollback-preview")
        self._rollback_confirm = Confirm(
            _("I have reviewed what Rollback restores and want to send it"),
            on_change=self._refresh,
        )
        self._rollback_confirm._w_box.add_class("tk-rollback-confirm")
        self._w_rollback_confirm = self._rollback_confirm._w_box
        self._w_rollback_typed = self._rollback_confirm._w_typed
        self._w_rollback = widgets.Button(
            description=_("Roll back this change"),
            icon="undo",
            button_style="warning",
            disabled=True,
            layout=widgets.Layout(width="auto", align_self="flex-start"),
        )
        self._w_rollback.add_class("tk-rollback")
        self._w_rollback.on_click(self._do_rollback)
        # shown once a rollback was refused as UNVERIFIABLE: the separate yes, as for Apply
        self._rollback_accept = AcceptUnverifiable(on_change=self._refresh)
        self._w_rollback_accept = self._rollback_accept.layout
        self._w_rollback_box = widgets.VBox(
            [
                self._w_rollback_preview,
                self._w_rollback_accept,
                self._rollback_confirm.layout,
                self._w_rollback,
            ]
        )
        self.layout = widgets.VBox(
            [
                self._w_plan,
                self._w_accept,
                self._confirm.layout,
                widgets.HBox([self._w_apply, self._w_why]),
                self._w_progress,
                self._w_result,
                self._w_rollback_box,
            ]
        )
        self.layout.add_class("tk-change-panel")
        self.set_plan(None)

    # -- state ---------------------------------------------------------------------------
    @property
    def plan(self) -> Plan | None:
        """The plan shown."""
        return self._plan

    @property
    def value(self) -> ApplyResult | None:
        """The latest result (of Apply or of Rollback)."""
        return self._last

    @property
    def applied(self) -> ApplyResult | None:
        """The result of Apply for the current plan."""
        return self._applied

    @property
    def rolled_back(self) -> ApplyResult | None:
        """The result of Rollback, once pressed."""
        return self._rolled_back

    @property
    def blockers(self) -> list[str]:
        """Why Apply is disabled now (empty when it is enabled)."""
        plan = self._plan
        if plan is None:
            return [_("no plan yet")]
        if plan.blocked:
            if not self._explain:  # the checklist next to it lists the findings
                return [_("the plan is blocked: see the checklist")]
            codes = ", ".join(f.code for f in plan.report.errors)
            return [_("the plan is BLOCKED ({codes})").format(codes=codes)]
        if self._spent:
            return [_("this plan was applied; choose again for a new plan")]
        if plan.nothing_to_do:
            return [_("nothing to change: the trail already is in this state")]
        out = []
        if self._busy:
            out.append(_("busy"))
        if not self._accept.accepted:
            out.append(_("acknowledge what could not be verified"))
        if not self._w_confirm.value:
            out.append(_("tick the confirmation box"))
        if self._confirm.typed_required and not self._confirm.confirmed:
            out.append(_("type the trail name"))
        return out

    @property
    def error(self) -> BaseException | None:
        """The error of the last Apply or Rollback that raised (None when it returned)."""
        return self._error

    @property
    def rollback_name(self) -> str | None:
        """The name of the trail Rollback would restore."""
        return self._rollback_name

    @property
    def rollback_of(self) -> str | None:
        """The change id Rollback is offered for (None: nothing to roll back here)."""
        return self._rollback_of

    @property
    def can_apply(self) -> bool:
        """True when Apply is enabled."""
        return not self.blockers

    @property
    def can_rollback(self) -> bool:
        """True when a change can be rolled back (after a successful Apply, until it is rolled
        back) and the rollback confirmation is given (ticked; on real AWS the name typed)."""
        return (
            self._rollback_of is not None
            and not self._busy
            and self._rollback_confirm.confirmed
            and self._rollback_accept.accepted
        )

    # -- actions -------------------------------------------------------------------------
    def set_plan(self, plan: Plan | None, note_html_text: str = "") -> None:
        """Show ``plan`` (None: nothing to plan yet; ``note_html_text`` says why).

        The confirmation is reset; a result already shown stays (with its Rollback) until a
        new plan replaces it.
        """
        self._plan = plan
        self._spent = False
        self._applied = None
        self._confirm.reset()
        self._accept.require(
            [f.code for f in plan.report.findings if f.code in UNVERIFIED_CODES]
            if plan is not None and not plan.blocked and not plan.nothing_to_do
            else []
        )
        if plan is None:
            self._w_plan.value = note_html_text or (
                '<div class="tk-hint">'
                + esc(_("The plan appears here once a trail and a key are chosen."))
                + "</div>"
            )
            self._confirm.require_typed(None)
        else:
            self._confirm.require_typed(None if self._demo else plan.trail.name)
            self._w_plan.value = self._plan_html(plan)
        self._refresh()

    def clear_result(self) -> None:
        """Forget the last result and its Rollback (e.g. another trail was chosen)."""
        self._last = None
        self._applied = None
        self._rolled_back = None
        self._error = None
        self._offer(None, None)
        self._w_result.value = ""
        self._refresh()

    def show_error(self, err: BaseException) -> None:
        """No plan can be made: show why (as HTML, never a traceback)."""
        self.set_plan(None, error_html(err))

    @property
    def needs_acceptance(self) -> bool:
        """True when the plan is UNVERIFIABLE: Apply also needs :meth:`accept_unverifiable`."""
        return self._accept.required

    def accept_unverifiable(self) -> None:
        """Tick the acknowledgement of what could not be verified, as the operator would (the
        command line's ``--accept-unverifiable``); no effect on a plan that needs none."""
        self._accept.accept()

    def confirm_and_apply(self, typed: str | None = None) -> ApplyResult | None:
        """Tick the confirmation (type ``typed`` on real AWS) and press Apply, as the operator
        would. Returns the result, or None when Apply stayed disabled (for an UNVERIFIABLE plan,
        unless :meth:`accept_unverifiable` was called: the confirmation alone is not that yes)."""
        self._confirm.confirm(typed)
        before = self._last
        self._w_apply.click()
        return self._last if self._last is not before else None

    def offer_rollback(self, change_id: str, trail_name: str, preview: str = "") -> None:
        """Offer Rollback for a recorded change (e.g. the journal's last one for this trail);
        ``preview`` (HTML) says what it restores. The rollback confirmation starts unticked."""
        self._offer(change_id, trail_name, preview)
        self._refresh()

    def _offer(self, change_id: str | None, trail_name: str | None, preview: str = "") -> None:
        self._rollback_of = change_id
        self._rollback_name = trail_name
        self._rollback_confirm.reset()
        self._rollback_accept.require([])
        self._rollback_confirm.require_typed(
            None if self._demo or change_id is None else trail_name
        )
        if change_id is None:
            self._w_rollback_preview.value = ""
            return
        restores = preview or esc(
            _("Restores the encryption {trail} had before change {change}.")
        ).format(trail=esc(trail_name), change=f"<code>{esc(change_id)}</code>")
        head = note_html(
            "warn",
            badge("warning", _("ROLLBACK"))
            + f" {restores} "
            + text_html(_("Sends one `UpdateTrail`, reads the trail back and journals it.")),
        )
        plan = ""
        if self._preview_rollback is not None:
            try:
                plan = rollback_preview_html(self._preview_rollback(change_id), demo=self._demo)
            except TrailkitError as err:  # the rollback would be refused: say why, first
                plan = error_html(err)
        self._w_rollback_preview.value = head + plan

    @property
    def rollback_preview(self) -> str:
        """What Rollback will send, as shown before it can be confirmed (HTML; empty when no
        rollback is offered)."""
        return str(self._w_rollback_preview.value)

    def press_rollback(
        self, typed: str | None = None, *, accept_unverifiable: bool = False
    ) -> ApplyResult | None:
        """Tick the rollback confirmation (type ``typed`` on real AWS) and press Rollback, as
        the operator would; returns the result, or None when Rollback stayed disabled or was
        refused. When it is refused as UNVERIFIABLE and ``accept_unverifiable``, tick the
        acknowledgement that then appears and press again."""
        self._rollback_confirm.confirm(typed)
        before = self._last
        self._w_rollback.click()
        if self._last is before and accept_unverifiable and self._rollback_accept.required:
            self._rollback_accept.accept()
            self._w_rollback.click()
        return self._last if self._last is not before else None

    def _plan_html(self, plan: Plan) -> str:
        table = plan_table_html(plan, checklist=not self._explain)
        return plan_note_html(plan, demo=self._demo, checklist=not self._explain) + table

    def _refresh(self) -> None:
        blockers = self.blockers
        self._w_apply.disabled = bool(blockers)
        idle = (
            self._busy
            or self._plan is None
            or self._plan.blocked
            or self._spent
            or self._plan.nothing_to_do
        )
        self._confirm.set_disabled(idle)
        self._accept.set_disabled(idle)
        self._w_why.value = (
            '<div class="tk-hint" style="margin-left:10px">'
            + esc(_("Apply is disabled: {why}.").format(why="; ".join(blockers)))
            + "</div>"
            if blockers and self._plan is not None
            else ""
        )
        self._w_rollback.disabled = not self.can_rollback
        self._rollback_confirm.set_disabled(self._busy or self._rollback_of is None)
        self._w_rollback.layout.display = (
            "flex" if self._rollback_of or self._rolled_back else "none"
        )
        self._w_rollback_box.layout.display = self._w_rollback.layout.display

    def _run(
        self, action: Callable[[], ApplyResult], busy_text: str, title: str, *, keep: bool = False
    ) -> ApplyResult | None:
        self._busy = True
        self._refresh()
        self._w_progress.value = spinner_html(busy_text)
        result: ApplyResult | None = None
        self._error = None
        try:
            result = action()
        except Exception as err:  # shown to the operator, never as a traceback
            self._error = err
            self._w_result.value = error_html(err) + (self._w_result.value if keep else "")
        else:
            self._last = result
            self._w_result.value = result_html(result, title)
        finally:
            self._busy = False
            self._w_progress.value = ""
        return result

    def _do_apply(self, _button: Any = None) -> None:
        plan = self._plan
        if plan is None or not self.can_apply:
            return
        result = self._run(
            lambda: self._apply(plan),
            _(
                "Applying: UpdateTrail in {region}, then reading {trail} back and checking "
                "delivery…"
            ).format(region=plan.region, trail=plan.trail.name),
            _("Apply"),
        )
        if result is not None:
            self._applied = result
            self._rolled_back = None
            if result.outcome in (Outcome.DONE, Outcome.UNCHANGED, Outcome.UNKNOWN):
                self._spent = True  # a new plan must be made from the trail's new state
                self._w_confirm.value = False
                self._accept.reset()
            if result.changed and result.change_id:
                self._offer(
                    result.change_id,
                    plan.trail.name,
                    esc(_("Restores {trail} from {after} to {before}.")).format(
                        trail=esc(plan.trail.name),
                        after=f"<b>{_state(plan, result.key_after)}</b>",
                        before=f"<b>{_state(plan, plan.before_key)}</b>",
                    ),
                )
        self._refresh()
        if result is not None and self._on_done is not None:
            self._on_done(result)

    def _do_rollback(self, _button: Any = None) -> None:
        change_id = self._rollback_of
        if change_id is None or not self.can_rollback:
            return
        applied = self._w_result.value
        accepted = self._rollback_accept.required and self._rollback_accept.accepted
        result = self._run(
            (lambda: self._rollback(change_id, accept_unverifiable=True))
            if accepted
            else (lambda: self._rollback(change_id)),
            _("Rolling back {change}: restoring the previous encryption and verifying…").format(
                change=change_id
            ),
            _("Rollback"),
            keep=True,
        )
        if isinstance(self._error, UnverifiableError):  # ask for the separate yes
            self._rollback_accept.require(self._error.unverified)
        if result is not None:
            self._rolled_back = result
            if result.outcome.succeeded:
                self._offer(None, None)
            self._w_result.value = (
                f"{self._w_result.value}<details><summary>"
                + esc(_("The change that was rolled back"))
                + f"</summary>{applied}</details>"
            )
        self._refresh()
        if result is not None and self._on_done is not None:
            self._on_done(result)

    def html(self) -> str:
        """The panel's plan and result as HTML."""
        return f"{self._w_plan.value}{self._w_result.value}"

    def _ipython_display_(self) -> None:
        status = self._last.outcome.value if self._last else "no result"
        show(root(self.layout), self.html(), f"<ChangePanel: {status}>")
