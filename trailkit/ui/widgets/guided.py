"""The guided update: connection, trail, key, checklist, key policy, plan, apply, verify, rollback,
the delivery proof and the change as code.

One composite for notebook ``02_guided_update`` and the Voila app. It reads and changes AWS only
through the runbook it is given (:class:`~trailkit.ui.widgets._ports.GuidedRunbook`, in
practice :class:`trailkit.runbook.Runbook`), and holds no rule of its own. The headless methods
(:meth:`GuidedUpdate.choose`, :meth:`~GuidedUpdate.apply`, ...) drive the same widgets the
operator uses, so a papermill run takes exactly the path a click takes, enable/disable rules
included.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from functools import partial
from typing import Any

import ipywidgets as widgets

from trailkit.arn import resource_id
from trailkit.errors import InputError, JournalError, RefusedError, TrailkitError
from trailkit.i18n import _, ngettext
from trailkit.records import ApplyResult, Kind, PolicyResult, Trail
from trailkit.records.journal import same_place
from trailkit.rules.checks import UNVERIFIED_CODES, Report
from trailkit.rules.flags import parse_flag, parse_text
from trailkit.rules.health import Health, HealthKind
from trailkit.rules.plan import Plan
from trailkit.rules.repair import Repair
from trailkit.ui.widgets._common import (
    Step,
    badge,
    error_html,
    esc,
    id_html,
    note_html,
    root,
    rows_html,
    section_title,
    show,
    spinner_html,
    text_html,
)
from trailkit.ui.widgets._ports import GuidedRunbook
from trailkit.ui.widgets.banner import ConnectionBanner
from trailkit.ui.widgets.change import ChangePanel, result_html
from trailkit.ui.widgets.checklist import Checklist, checklist_html
from trailkit.ui.widgets.health import REPAIRABLE_HEALTH_CODES, health_warning_html
from trailkit.ui.widgets.journal import JournalView
from trailkit.ui.widgets.keys import DISABLE, KeyChoice, KeyPicker, choice_text
from trailkit.ui.widgets.policy import PolicyPanel, policy_result_html
from trailkit.ui.widgets.proof import DeliveryProof, proof_html
from trailkit.ui.widgets.snippet import ChangeAsCode
from trailkit.ui.widgets.trails import TrailPicker

__all__ = ["GuidedUpdate"]


class GuidedUpdate:
    """The whole runbook for one trail, wired: pick, check, repair, plan, apply, roll back.

    Parameters
    ----------
    runbook
        The use cases (:class:`trailkit.runbook.Runbook`): reads, pre-flight, plans, and the
        journaled writes. The widget's own confirmation (checkbox, and on real AWS the typed
        name) is the operator's yes, so it calls the writes with ``confirmed=True``.
    trails
        The trails to offer (default: every trail the runbook lists).
    policy
        Show the key policy repair step.
    health
        The health of a trail's encryption as it is now (in practice
        :func:`trailkit.rules.health.health` of the trail, its key and the caller, read by the
        notebook glue): when the chosen trail is broken (or at risk) the view warns, says why
        and what to do, and when the fix is the add-only key policy repair, offers it (the same
        repair step as any key: preview, confirmation, journal). None: no warning.

    When the runbook has ``verify_change`` (:meth:`trailkit.runbook.Runbook.verify_change`)
    the view ends with the delivery proof of the chosen trail's change: its newest change in the
    journal made from here (the one applied here, or an earlier one), which must be applied (a
    failed or pending change, or none, leaves nothing to prove: the step says so and does not
    judge the trail's current setting), and when it has ``snippet``
    (:meth:`trailkit.runbook.Runbook.snippet`) with the change as code for the chosen trail
    and key (CloudFormation, Terraform, CDK).
    """

    def __init__(
        self,
        runbook: GuidedRunbook,
        *,
        trails: Sequence[Trail] | None = None,
        policy: bool = True,
        health: Callable[[Trail], Health] | None = None,
    ) -> None:
        missing = [m for m in _RUNBOOK_METHODS if not callable(getattr(runbook, m, None))]
        if missing:
            raise InputError(
                _("runbook must be a Runbook; {kind} lacks {missing}.").format(
                    kind=type(runbook).__name__, missing=", ".join(missing)
                ),
                _("pass trailkit.runbook.Runbook(conn, journal)"),
            )
        if trails is not None and (
            isinstance(trails, str)
            or not isinstance(trails, Sequence)
            or not all(isinstance(t, Trail) for t in trails)
        ):
            raise InputError(_("trails must be a list of Trail records or None."), "")
        policy = parse_flag(policy, "policy")
        self._runbook = runbook
        apply = partial(runbook.apply, confirmed=True)
        rollback = partial(runbook.rollback, confirmed=True)
        apply_policy = partial(runbook.apply_repair, confirmed=True) if policy else None
        self._apply_policy = apply_policy
        self._given_trails = list(trails) if trails is not None else None
        self._loaded = False
        self._trail: Trail | None = None
        self._report: Report | None = None
        self._health_of = health
        self._health: Health | None = None
        self._quiet = False
        verify_change = getattr(runbook, "verify_change", None)
        make_snippet = getattr(runbook, "snippet", None)
        self._verify_change = verify_change if callable(verify_change) else None
        self._make_snippet = make_snippet if callable(make_snippet) else None
        self._applied: dict[str, str] = {}  # trail ARN -> the change applied here last
        self._retarget = False  # the trail changed while a proof ran

        info = runbook.info()
        self._info = info
        self._demo = info.demo
        self.banner = ConnectionBanner(info)
        self.trails = TrailPicker([], on_change=self._trail_chosen)
        # one voice: the checklist says why; the key picker and the plan name the codes
        self.keys = KeyPicker(runbook.rank, on_change=self._key_chosen, explain=False)
        self.checklist = Checklist()
        self.policy = PolicyPanel(
            apply_policy or _no_policy_action,
            demo=self._demo,
            on_done=self._policy_done,
            explain=False,
        )
        preview = getattr(runbook, "plan_rollback", None)
        self.change = ChangePanel(
            apply,
            rollback,
            demo=self._demo,
            on_done=self._change_done,
            explain=False,
            preview_rollback=preview if callable(preview) else None,
        )
        self.journal = JournalView(runbook.journal, demo=self._demo)
        self.proof: DeliveryProof | None = (
            DeliveryProof(demo=self._demo, on_done=self._proof_done)
            if self._verify_change is not None
            else None
        )
        self.code: ChangeAsCode | None = (
            ChangeAsCode(eager=False) if self._make_snippet is not None else None
        )
        self._w_status = widgets.HTML()
        self._w_status.add_class("tk-status")
        self._w_health = widgets.HTML()
        self._w_health.add_class("tk-health-current")
        self._w_fix = widgets.Button(
            description=_("Check the current key and its repair"),
            button_style="warning",
            layout=widgets.Layout(width="auto", display="none"),
        )
        self._w_fix.add_class("tk-health-repair")
        self._w_fix.on_click(lambda _b: self.check_current_key())

        def title(n: int, text: str) -> Any:
            return widgets.HTML(section_title(n, text))

        parts: list[Any] = [
            widgets.HTML(section_title(1, _("Connection"))),
            self.banner._w_html,
            self._w_status,
            title(2, _("Choose the trail")),
            self.trails.layout,
            self._w_health,
            self._w_fix,
            title(3, _("Choose the key")),
            self.keys.layout,
            title(4, _("Pre-flight checklist")),
            self.checklist.layout,
        ]
        n = 5
        if apply_policy is not None:
            parts += [title(n, _("Key policy (repair if needed)")), self.policy.layout]
            n += 1
        parts += [title(n, _("Plan, apply, verify, roll back")), self.change.layout]
        n += 1
        if self.proof is not None:
            parts += [title(n, _("Prove delivery")), self.proof.layout]
            n += 1
        if self.code is not None:
            parts += [title(n, _("Change as code")), self.code.layout]
            n += 1
        parts += [title(n, _("Change journal")), self.journal.layout]
        self.layout = root(*parts)
        self.layout.add_class("tk-guided")
        self._set_policy_idle()

    # -- values ----------------------------------------------------------------------------
    @property
    def value(self) -> Plan | None:
        """The current plan (None until a trail and a key are chosen and checked)."""
        return self.change.plan

    @property
    def trail(self) -> Trail | None:
        """The chosen trail, as last read from AWS."""
        return self._trail

    @property
    def report(self) -> Report | None:
        """The pre-flight report of the chosen trail and key."""
        return self._report

    @property
    def demo(self) -> bool:
        """True on the demo backend."""
        return self._demo

    @property
    def health(self) -> Health | None:
        """The health of the chosen trail's encryption as it is now (None: no trail chosen,
        the view was built without ``health``, or it could not be read)."""
        return self._health

    @property
    def repair_offered(self) -> bool:
        """True when the chosen trail is broken for a reason the add-only key policy repair
        fixes (:data:`~trailkit.ui.widgets.health.REPAIRABLE_HEALTH_CODES`)."""
        found, trail = self._health, self._trail
        return (
            self._apply_policy is not None
            and trail is not None
            and trail.kms_key_id is not None
            and found is not None
            and found.kind is HealthKind.BROKEN
            and bool(set(found.codes) & REPAIRABLE_HEALTH_CODES)
        )

    def health_html(self) -> str:
        """The warning about the chosen trail's encryption as it is now (empty when it is
        neither broken nor at risk)."""
        if self._trail is None or self._health is None:
            return ""
        return health_warning_html(self._trail, self._health, repair=self.repair_offered)

    # -- loading ---------------------------------------------------------------------------
    def load(self) -> None:
        """Read the trails to offer (once; the display does it, so progress is visible)."""
        if self._loaded:
            return
        self._loaded = True
        regions = self._runbook.regions
        where = ", ".join(regions) if regions else _("every enabled region")
        self._busy(_("Reading the trails of {where}…").format(where=where))
        try:
            found = (
                self._given_trails
                if self._given_trails is not None
                else self._runbook.list_trails()
            )
        except TrailkitError as err:
            self._w_status.value = error_html(err)
            return
        self.trails.set_trails(found)
        said = ngettext("{n} trail found in {where}.", "{n} trails found in {where}.", len(found))
        self._w_status.value = (
            f'<div class="tk-hint">{esc(said.format(n=len(found), where=where))}</div>'
        )

    def _busy(self, text: str) -> None:
        self._w_status.value = spinner_html(text)

    # -- events ----------------------------------------------------------------------------
    def _trail_chosen(self, trail: Trail | None) -> None:
        shown = self.change.value
        if shown is not None and (trail is None or shown.plan.trail.arn != trail.arn):
            self.change.clear_result()  # another trail: the previous one's result goes
        self._trail = None
        if trail is not None:
            self._busy(_("Reading {trail}, its bucket and its status…").format(trail=trail.name))
            try:
                trail = self._runbook.reread(trail)
            except TrailkitError as err:
                self._w_status.value = error_html(err)
                trail = None
            else:
                self._w_status.value = ""
                self._trail = trail
                self.trails.replace(trail)
        self._show_health()
        self._set_proof_target()
        self.keys.set_trail(self._trail)

    def _set_proof_target(self) -> None:
        """Prove the chosen trail's change (see :meth:`_proved_change`)."""
        proof, verify_change, trail = self.proof, self._verify_change, self._trail
        if proof is None or verify_change is None:
            return
        if proof.running:  # another trail was chosen: stop waiting, then prove that one
            self._retarget = True
            proof.cancel()
            return
        if trail is None:
            proof.set_target(None)
            return
        proof.set_target(partial(self._prove, verify_change, trail), trail.name)

    def _prove(self, verify_change: Callable[..., Any], trail: Trail, **how: Any) -> Any:
        """The proof of ``trail``'s change (``how``: the wait, cancel and progress of the
        Prove delivery step); the change is looked up when the proof starts."""
        return verify_change(trail, change_id=self._proved_change(trail), **how)

    def _proved_change(self, trail: Trail) -> str:
        """The id of the change Prove delivery proves: the trail's newest trail change in the
        journal made from this account and endpoint (through a role from it too, as
        ``rollback --last`` finds them), the one applied here included.

        Raises
        ------
        InputError
            There is no such change, or the newest one is not applied (failed, or pending):
            there is no applied change to prove, and nothing is recorded. The trail's current
            setting is not judged as if it were a change (``trailkit verify`` without a
            recorded change does that, saying so).
        JournalError
            The journal cannot be read.
        """
        info = self._info
        for change in reversed(self._runbook.journal.changes()):
            if (
                change.intent.kind is Kind.TRAIL_KEY
                and change.intent.target_arn == trail.arn
                and same_place(change.intent, info.account, info.endpoint, roles=True)
            ):
                break
        else:
            raise InputError(
                _(
                    "No change of {trail} is recorded in the journal: there is no applied "
                    "change to prove."
                ).format(trail=trail.name),
                _("apply a change of the trail first, then prove it"),
            )
        if not change.applied:
            raise InputError(
                _(
                    "The last change of {trail}, {change_id}, is {status}: there is no applied "
                    "change to prove."
                ).format(trail=trail.name, change_id=change.change_id, status=change.status_text),
                _(
                    "fix what stopped it and apply the change again, then prove it (a pending "
                    "change is settled by `trailkit journal --reconcile`)"
                ),
            )
        return change.change_id

    def _proof_done(self, result: Any) -> None:
        """A proof run ended (``result``: its proof, or the error that stopped it)."""
        # the proof is recorded against its change: the journal's Delivery column shows it
        try:
            self.journal.refresh()
        except TrailkitError as err:
            self._w_status.value = error_html(err)
        if self._retarget:  # the trail changed while it ran (proof or error alike)
            self._retarget = False
            self._set_proof_target()

    def _set_code_source(self, trail: Trail | None, key: str | None) -> None:
        code, make = self.code, self._make_snippet
        if code is None or make is None:
            return
        if trail is None or key is None:
            code.set_source(None)
            return
        said = (
            _("The change of {trail} to SSE-S3, as code.").format(trail=trail.name)
            if key == DISABLE
            else _("The change of {trail} to {key}, as code.").format(trail=trail.name, key=key)
        )
        code.set_source(partial(make, trail, key), said)

    def _show_health(self) -> None:
        """Judge the chosen trail's encryption as it is now, and warn when it is broken."""
        self._health = None
        self._w_health.value = ""
        trail = self._trail
        if trail is not None and self._health_of is not None:
            try:
                self._health = self._health_of(trail)
            except TrailkitError as err:
                self._w_health.value = error_html(err)
            else:
                self._w_health.value = self.health_html()
        self._w_fix.layout.display = None if self.repair_offered else "none"

    def check_current_key(self) -> Step | None:
        """The offered fix of a broken key policy: choose the trail's current key, so its
        pre-flight, the add-only repair (key policy step) and the plan are shown. Nothing is
        sent: the repair waits for its own confirmation (headless: ``repair_policy(True)``).

        Returns what :meth:`choose` returns, or None when no trail with a key is chosen.
        """
        trail = self._trail
        if trail is None or trail.kms_key_id is None:
            return None
        return self.choose(None, trail.kms_key_id)

    def _key_chosen(self, choice: KeyChoice) -> None:
        if self._quiet:
            return
        trail = self._trail
        key = choice_text(choice)
        self._report = None
        self._set_code_source(trail, key)
        if trail is None or key is None:
            self.checklist.show(None)
            self._set_policy_idle()
            self.change.set_plan(None)
            return
        self._busy(_("Checking {key} for {trail}…").format(key=key, trail=trail.name))
        try:
            report = self._runbook.check(trail, key)
        except TrailkitError as err:
            self._w_status.value = error_html(err)
            self.checklist.show(None)
            self._set_policy_idle()
            self.change.show_error(err)
            return
        self._w_status.value = ""
        self._report = report
        self.checklist.show(report)
        self._plan_policy(trail, report)
        try:
            plan = self._runbook.plan(report)
        except TrailkitError as err:
            self.change.set_plan(None, _no_plan_html(report, err))
        else:
            self.change.set_plan(plan)

    def _set_policy_idle(self, text: str = "") -> None:
        self.policy.show(
            None,
            text
            or '<div class="tk-hint">'
            + esc(_("Shown when the key policy must admit CloudTrail."))
            + "</div>",
        )

    def _plan_policy(self, trail: Trail, report: Report) -> None:
        if self._apply_policy is None:
            return
        if report.disable:
            self._set_policy_idle(
                _not_applicable(esc(_("turning SSE-KMS off uses no key policy.")))
            )
            return
        unverified = [f.code for f in report.findings if f.code in UNVERIFIED_CODES]
        if report.key is None:
            if report.errors:
                self._set_policy_idle(_not_applicable(_blocked_by(report)))
            elif unverified:
                self._set_policy_idle(
                    _unverifiable(
                        esc(
                            _(
                                "the key could not be read from here, so its policy cannot "
                                "be checked or repaired (see the checklist)."
                            )
                        )
                    )
                )
            else:
                self._set_policy_idle()
            return
        self._busy(_("Working out whether the key policy needs the add-only repair…"))
        try:
            repair = self._runbook.repair_for(report)
        except RefusedError as err:
            deny = [f.code for f in report.errors if f.code == "policy-deny"]
            if deny:
                self._set_policy_idle(
                    _not_applicable(
                        esc(
                            _(
                                "an explicit Deny of the key policy (see the checklist) can be "
                                "narrowed only by its owner; trailkit only adds statements: it "
                                "will not edit the Deny."
                            )
                        )
                    )
                )
            else:
                self.policy.show_error(err)
        except TrailkitError as err:
            self.policy.show_error(err)
        else:
            if repair is not None:
                self.policy.show(repair)
            elif report.errors:
                self._set_policy_idle(_not_applicable(_blocked_by(report)))
            elif "policy-unverifiable" in unverified:
                self._set_policy_idle(
                    _unverifiable(
                        esc(_("the key policy could not be read from here (see the checklist)."))
                    )
                )
            else:
                self._set_policy_idle(
                    note_html(
                        "ok", badge("pass", "OK") + " " + esc(_("The key policy needs no change."))
                    )
                )
        self._w_status.value = ""

    def _policy_done(self, result: PolicyResult) -> None:
        self._resync()
        self.policy.show_result(result)  # the re-check showed the policy as it is now

    def _change_done(self, result: ApplyResult) -> None:
        if result.change_id and result.changed:
            self._applied[result.plan.trail.arn] = result.change_id
        self._resync(result.plan.trail)

    def _resync(self, written: Trail | None = None) -> None:
        """After a write: re-read the trail, then re-render every section that depends on the
        trail, the key, the plan or the journal (one state, many views).

        The key choice is kept (the candidates are ranked again, e.g. the SSE-S3 choice appears
        once the trail has a key) and checked again, so the checklist, the key policy section
        and the plan describe the trail as it is now; the result just shown stays.
        """
        self.journal.refresh()
        trail = self._trail
        if trail is None:
            if written is not None:  # no trail chosen (a headless rollback): keep its row fresh
                try:
                    self.trails.replace(self._runbook.reread(written))
                except TrailkitError as err:
                    self._w_status.value = error_html(err)
            return
        key = self.keys.key_text
        self._runbook.refresh()
        self._quiet = True
        try:
            self._trail_chosen(trail)  # re-read the trail and re-rank the keys
            if self._trail is not None and key is not None:
                self.keys.select(key)
        finally:
            self._quiet = False
        self._key_chosen(self.keys.value)

    # -- headless steps (papermill), the same widgets an operator uses ----------------------
    def choose(self, trail: str | None = None, key: str | None = None) -> Step | None:
        """Choose the trail (name or ARN) and the key (alias, ARN, id; ``"SSE-S3"`` to turn
        SSE-KMS off, the dropdown's explicit choice).

        Returns the checklist and plan as a :class:`Step`, or None when nothing was given.

        Raises
        ------
        InputError
            The trail is not offered and cannot be found; ``key`` is empty or blank (an empty
            value never means "off": a papermill ``-p key ""`` or an unset variable must not
            turn encryption off).
        """
        trail = parse_text(trail, "trail")
        key = parse_text(key, "key")
        if key is not None and not key.strip():
            raise InputError(
                _("key {key} is empty: an empty key would turn SSE-KMS off.").format(key=repr(key)),
                _(
                    "give an alias, alias ARN, key ARN or key id; to turn encryption off, say "
                    "so: {example}"
                ).format(example='key="SSE-S3"'),
            )
        if key is not None and key.strip().upper() == "SSE-S3":
            key = DISABLE
        self.load()
        if trail is None and key is None:
            return None
        if trail is not None:
            found = self.trails.find(trail)
            if found is None:
                found = self._runbook.find_trail(trail)  # NotFound for an unknown trail
                self.trails.add(found)
            self.trails.select(found.arn)
        if self._trail is None:
            raise InputError(
                _("Choose a trail before a key."), _("pass the trail parameter (name or ARN)")
            )
        if key is not None:
            self.keys.select(key)
            if key.strip() and self.keys.value is None:
                raise InputError(
                    self.keys.typed_error
                    or _("{key} is not a key identifier.").format(key=repr(key)),
                    _("give an alias name, alias ARN, key ARN or key id"),
                )
        parts = [self.health_html()]
        if self._report:
            parts.append(checklist_html(self._report))
        parts.append(self.change.html())
        ok = self._report is not None and not self._report.errors
        return Step(
            _("Pre-flight and plan for {trail}").format(trail=self._trail.name),
            ok,
            "".join(parts),
            self.value,
        )

    def repair_policy(self, confirm: object = False) -> Step | None:
        """When ``confirm`` and the key policy needs the add-only repair: send it, re-check.

        ``confirm`` is read strictly (:func:`~trailkit.rules.flags.parse_flag`): ``"false"``,
        ``"no"`` and ``0`` are no; anything not an unambiguous yes or no is an
        :class:`InputError` (parameter ``repair_policy``) and nothing is sent.

        Returns None when not confirmed or when no repair is needed.
        """
        confirm = parse_flag(confirm, "repair_policy")
        repair = self.policy.value
        if not confirm or repair is None or not repair.needed:
            return None
        if self._apply_policy is None:
            raise InputError(_("This view was built without a key policy action."), "")
        typed = repair.key.confirm_name
        result = self.policy.confirm_and_apply(typed)
        if result is None:
            if self.policy.error is not None:
                raise self.policy.error
            raise RefusedError(_("The key policy update could not be started."), "")
        return Step(
            _("Key policy repair"),
            result.outcome.succeeded,
            policy_result_html(result) + (checklist_html(self._report) if self._report else ""),
            result,
        )

    def apply(self, confirm: object = False, accept_unverifiable: object = False) -> Step | None:
        """When ``confirm``: tick, (type,) press Apply. Returns None when not confirmed.

        ``confirm`` and ``accept_unverifiable`` are read strictly
        (:func:`~trailkit.rules.flags.parse_flag`). An UNVERIFIABLE plan is sent only with
        ``accept_unverifiable`` as well (the command line's ``--accept-unverifiable``; in the
        widget, its own checkbox): ``confirm`` alone is not a yes to what could not be checked.

        Raises
        ------
        InputError
            ``confirm`` or ``accept_unverifiable`` is not an unambiguous yes or no (nothing is
            sent), or there is no plan: no trail or key was chosen.
        RefusedError
            The plan is blocked, or UNVERIFIABLE without ``accept_unverifiable`` (nothing is
            sent).
        TrailkitError
            AWS refused the change (it is journaled as failed).
        """
        accepted = parse_flag(accept_unverifiable, "accept_unverifiable")
        if not parse_flag(confirm, "apply"):
            return None
        plan = self.change.plan
        if plan is None:
            raise InputError(
                _("There is no plan to apply: choose a trail and a key first."),
                _("pass the trail and key parameters"),
            )
        plan.require_applicable()
        if self.change.needs_acceptance:
            if not accepted:
                codes = [f.code for f in plan.report.findings if f.code in UNVERIFIED_CODES]
                raise RefusedError(
                    ngettext(
                        "The plan for {trail} is UNVERIFIABLE: {n} check could not be verified "
                        "({codes}). Nothing was sent.",
                        "The plan for {trail} is UNVERIFIABLE: {n} checks could not be verified "
                        "({codes}). Nothing was sent.",
                        len(codes),
                    ).format(trail=plan.trail.name, n=len(codes), codes=", ".join(codes)),
                    _(
                        "once the key's and the bucket's owners confirmed them, pass "
                        "accept_unverifiable=True (the command line's --accept-unverifiable)"
                    ),
                )
            self.change.accept_unverifiable()
        if plan.nothing_to_do:
            return Step(
                _("Apply"),
                True,
                note_html(
                    "info",
                    esc(
                        _("{trail} already is in this state: nothing was sent.").format(
                            trail=plan.trail.name
                        )
                    ),
                ),
                None,
            )
        result = self.change.confirm_and_apply(plan.trail.name)
        if result is None:
            if self.change.error is not None:
                raise self.change.error
            raise RefusedError(
                _("Apply stayed disabled: {why}.").format(why="; ".join(self.change.blockers)),
                "",
            )
        if not result.outcome.succeeded:  # failed, or unknown (pending intent)
            raise result.error or TrailkitError(result.message)
        return Step(_("Apply"), result.changed, result_html(result, _("Apply")), result)

    def verify(self) -> Step | None:
        """Re-read the chosen trail and its delivery status (None when no trail is chosen)."""
        trail = self._trail
        if trail is None:
            return None
        fresh = self._runbook.reread(trail)
        self._trail = fresh
        self.trails.replace(fresh)
        delivery = self._runbook.verify(fresh)
        rows = [
            (_("trail"), id_html(fresh.arn)),
            (_("encryption now"), f"<b>{esc(fresh.encryption)}</b>"),
            (_("key now"), "<code>" + id_html(fresh.kms_key_id or _("none (SSE-S3)")) + "</code>"),
        ]
        if delivery is not None:
            kind = "pass" if delivery.ok else "error"
            rows.append(
                (
                    _("delivery"),
                    badge(kind, "OK" if delivery.ok else _("ERRORS"))
                    + " "
                    + f"{esc(delivery.summary())}",
                )
            )
        ok = delivery is None or delivery.ok
        return Step(
            _("Verify {trail}").format(trail=fresh.name), ok, rows_html(rows), (fresh, delivery)
        )

    def prove_delivery(self, wait: float | None = None) -> Step | None:
        """Prove the change applied here (:meth:`apply`): wait up to ``wait`` seconds (None:
        the view's choice, 1 minute on the demo, 15 on AWS) for CloudTrail to deliver a log
        file (and a digest) after it, and read their encryption; the same as pressing Prove
        delivery, in the kernel's own thread. The proof is recorded in the journal.

        Returns None when no change was applied here (nothing to prove), or when the runbook
        cannot prove delivery. A proof that is pending or failed is returned, not raised: its
        card says why and what to do.

        Raises
        ------
        InputError
            ``wait`` is not a number of seconds from 0 to 24 hours; a proof started with the
            Prove delivery button still runs (it is not cancelled: wait for it, or press
            Cancel); or the trail's newest change is not applied (failed or pending): there is
            no applied change to prove.
        TrailkitError
            The proof could not be made at all.
        """
        if wait is not None and (
            isinstance(wait, bool)
            or not isinstance(wait, int | float)
            or not 0 <= wait <= 24 * 3600
        ):
            raise InputError(
                _("wait must be a number of seconds from 0 to 86400, not {value}.").format(
                    value=repr(wait)[:40]
                ),
                _("pass verify_wait as 90s, 15m or 1h (notebook.wait_seconds)"),
            )
        trail, proof = self._trail, self.proof
        if proof is None or trail is None or trail.arn not in self._applied:
            return None
        if proof.running:  # the button's proof: never cancelled from here
            raise InputError(
                _("A delivery proof of {trail} is running (Prove delivery).").format(
                    trail=proof.target or trail.name
                ),
                _("wait for it to end, or press Cancel, then run this cell again"),
            )
        self._set_proof_target()
        found = proof.prove(wait)
        status = str(getattr(found.status, "value", found.status))
        return Step(
            _("Delivery proof for {trail}").format(trail=trail.name),
            status == "proven",
            proof_html(found),
            found,
        )

    def change_as_code(self) -> ChangeAsCode | None:
        """The change of the chosen trail and key as code, every format written (the Change
        as code tabs); None when no trail and key are chosen or the runbook cannot write it.
        A format that could not be written shows why in its tab (:attr:`ChangeAsCode.errors`).
        """
        code = self.code
        if code is None or self._trail is None or choice_text(self.keys.value) is None:
            return None
        code.load_all()
        return code

    def rollback(self, confirm: object = False, accept_unverifiable: object = False) -> Step | None:
        """When ``confirm``: roll back the change applied here, or else the last recorded,
        not yet rolled back change of the chosen trail (of any trail when none is chosen),
        through the same confirmation as the Rollback button (ticked; on real AWS the trail
        name typed).

        ``confirm`` and ``accept_unverifiable`` are read strictly
        (:func:`~trailkit.rules.flags.parse_flag`); an UNVERIFIABLE rollback is sent only with
        ``accept_unverifiable`` as well.

        Raises
        ------
        InputError
            ``confirm`` or ``accept_unverifiable`` is not an unambiguous yes or no.
        JournalError
            Nothing to roll back.
        UnverifiableError
            The rollback plan is UNVERIFIABLE and ``accept_unverifiable`` is not given.
        """
        accepted = parse_flag(accept_unverifiable, "accept_unverifiable")
        if not parse_flag(confirm, "rollback"):
            return None
        if self.change.rollback_of is None:
            changes = self._runbook.undoable(self._trail.arn if self._trail else None)
            if not changes:
                raise JournalError(
                    _("Nothing to roll back in {path}.").format(path=self._runbook.journal.path),
                    _("apply a change first (apply=True)"),
                )
            target = changes[0].intent.target_arn
            self.change.offer_rollback(changes[0].change_id, resource_id(target))
        preview = self.change.rollback_preview  # pressing Rollback clears it once done
        result = self.change.press_rollback(self.change.rollback_name, accept_unverifiable=accepted)
        if result is None:
            if self.change.error is not None:
                raise self.change.error
            raise RefusedError(_("Rollback stayed disabled."), "")
        if not result.outcome.succeeded:  # failed, or unknown (pending intent)
            raise result.error or TrailkitError(result.message)
        # the same preview as every write, before the result
        html = preview + result_html(result, _("Rollback"))
        return Step(_("Rollback"), result.changed, html, result)

    # -- display ---------------------------------------------------------------------------
    def html(self) -> str:
        """A static summary (for notebooks saved without widget state)."""
        parts = [self.banner._render()]
        if self._trail is not None:
            said = esc(_("Trail: {name}")).format(name=f"<b>{esc(self._trail.name)}</b>")
            parts.append(f"<div>{said}</div>")
            parts.append(self.health_html())
        if self._report is not None:
            parts.append(checklist_html(self._report))
        parts.append(self.change.html())
        if self.proof is not None and self.proof.value is not None:
            parts.append(proof_html(self.proof.value))
        return "".join(parts)

    def _ipython_display_(self) -> None:
        show(self.layout, self.html(), "<GuidedUpdate>")
        self.load()


_RUNBOOK_METHODS = ("info", "list_trails", "check", "plan", "apply", "rollback", "rank")


def _not_applicable(why_html: str) -> str:
    return note_html("info", badge("info", _("NOT APPLICABLE")) + f" {why_html}")


def _unverifiable(why_html: str) -> str:
    return note_html("warn", f"{badge('unverifiable')} {why_html}")


def _blocked_by(report: Report) -> str:
    return esc(
        _(
            "AWS would refuse this key for a reason no key policy change can fix (see the "
            "checklist)."
        )
    )


def _no_plan_html(report: Report, err: TrailkitError) -> str:
    """Why there is no plan, in the checklist's words (its verdict, its codes)."""
    what = esc(_("What to do:"))
    todo = f" {what} {text_html(err.fix)}" if err.fix else ""
    if report.errors:
        return note_html("bad", badge("blocked") + " " + esc(_("No plan: see the checklist.")))
    unverified = [f.code for f in report.findings if f.code in UNVERIFIED_CODES]
    if unverified:
        said = _(
            "No plan: {key} could not be resolved to a key ARN from here (see the checklist)."
        ).format(key=report.key_input)
        return note_html("warn", f"{badge('unverifiable')} {esc(said)}{todo}")
    return error_html(err)


def _no_policy_action(repair: Repair) -> PolicyResult:
    raise InputError(_("This view was built without a key policy action."), "")
