"""Bulk update: several trails, one target key per bucket region, one plan table, apply all.

With the trails of several accounts (notebook 04 with ``org`` or ``accounts``, issue 16) the
target key is chosen per account and bucket region: a key ARN names one key of one account and
region, and an alias is resolved in each trail's own account, so one key per region cannot be
right for several accounts. Each account's trails are planned together (``plan`` called once
per account) and every row says the trail's account.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from functools import partial
from typing import Any

import ipywidgets as widgets

from trailkit.arn import arn_account, arn_region, arn_service, resource_id
from trailkit.errors import InputError, RefusedError, TrailkitError
from trailkit.i18n import N_, _, ngettext
from trailkit.records import ApplyResult, KeyInfo, Outcome, ScanError, Trail
from trailkit.rules.checks import UNVERIFIED_CODES, Severity, Verdict, VerdictKind
from trailkit.rules.flags import parse_flag, parse_mapping, parse_names
from trailkit.rules.plan import Plan
from trailkit.ui.widgets._common import (
    AcceptUnverifiable,
    Confirm,
    Step,
    badge,
    error_html,
    esc,
    need_trails,
    note_html,
    root,
    show,
    spinner_html,
    state_html,
    text_html,
    wide_table_html,
)
from trailkit.ui.widgets.trails import trail_label

__all__ = [
    "BulkUpdate",
    "KeyChoiceLabel",
    "PlanRow",
    "TrailOutcome",
    "outcomes_of",
    "plans_html",
    "plural",
    "results_html",
]

#: One trail's plan, or why there is none.
PlanRow = tuple[Trail, Plan | TrailkitError]
#: A key of a region's list: its label and its key ARN.
KeyChoiceLabel = tuple[str, str]

_ORDER = {VerdictKind.READY: 0, VerdictKind.UNVERIFIABLE: 1, VerdictKind.BLOCKED: 2}
_NOTE_KIND = {VerdictKind.READY: "ok", VerdictKind.UNVERIFIABLE: "warn", VerdictKind.BLOCKED: "bad"}


def plural(n: int, word: str) -> str:
    """``1 trail``, ``2 trails``, ``0 trails`` (English only: the views say their counts with
    :func:`~trailkit.i18n.ngettext`)."""
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


@dataclass(frozen=True)
class TrailOutcome:
    """What happened to one selected trail of a bulk update.

    ``status`` (a code, said on screen by :data:`_STATUS_BADGE`) is ``changed``,
    ``unchanged``, ``blocked`` (never sent; ``message`` is why),
    ``not sent`` (no plan, e.g. the bucket does not exist, or a plan left out; ``message`` is
    why), ``failed`` (sent, and the change was not made) or ``unknown`` (the write's effect
    could not be read back: reconcile the journal). ``result`` is the apply result when it was
    sent. ``message`` is in the operator's language.
    """

    trail: Trail
    status: str
    message: str
    result: ApplyResult | None = None


def _blocked_why(plan: Plan) -> str:
    return "; ".join(f"{f.code}: {f.message}" for f in plan.report.errors)


def _sent(trail: Trail, r: ApplyResult) -> TrailOutcome:
    status = {
        Outcome.DONE: "changed",
        Outcome.UNCHANGED: "unchanged",
        Outcome.UNKNOWN: "unknown",
    }.get(r.outcome, "failed")
    return TrailOutcome(trail, status, r.message, r)


def outcomes_of(
    rows: Sequence[PlanRow] | None, results: Sequence[ApplyResult]
) -> list[TrailOutcome]:
    """Every planned trail with its outcome: the apply result of the plans sent, and for the
    others why they were not sent (blocked, nothing to do, no plan), in the order planned.
    Without ``rows``: the results alone."""
    if rows is None:
        return [_sent(r.plan.trail, r) for r in results]
    sent = {r.plan.trail.arn: r for r in results}
    out = []
    for trail, item in rows:
        r = sent.get(trail.arn)
        if r is not None:
            out.append(_sent(trail, r))
        elif isinstance(item, TrailkitError):
            out.append(TrailOutcome(trail, "not sent", _("No plan: {why}").format(why=item)))
        elif item.blocked:
            out.append(TrailOutcome(trail, "blocked", _blocked_why(item)))
        elif item.nothing_to_do:
            out.append(
                TrailOutcome(trail, "unchanged", _("Already in this state: nothing to send."))
            )
        else:
            out.append(TrailOutcome(trail, "not sent", _("Planned but not sent.")))
    return out


#: ``account(id) -> (label, role ARN or None)``: how the account column says an account.
AccountLabel = Callable[[str], tuple[str, str | None]]


def _account_cell(account: AccountLabel | None, trail: Trail) -> tuple[str, ...]:
    """The account cell of a row (none when the table is of one account): its label and, under
    it, the role trailkit acts through there (its name; the whole ARN on hover)."""
    if account is None:
        return ()
    label, role = account(trail.account)
    cell = f'<span class="tk-bulk-account" data-account="{esc(trail.account)}">{esc(label)}</span>'
    if role:
        said = _("through the role {role}").format(role=role.rpartition(":role/")[2] or role)
        cell += f'<br><small class="tk-bulk-role" title="{esc(role)}">{esc(said)}</small>'
    return (cell,)


def plans_html(rows: Sequence[PlanRow], *, account: AccountLabel | None = None) -> str:
    """The plan table of a bulk update; ``account(id) -> (label, role ARN or None)``: a first
    column naming each trail's account and the role acted through (the trails of several
    accounts)."""
    if not rows:
        hint = (
            _("Choose trails and a key per account and bucket region, then press Plan.")
            if account is not None
            else _("Choose trails and a key per region, then press Plan.")
        )
        return '<div class="tk-hint">' + esc(hint) + "</div>"
    why_head = _("why")
    head = (
        *((_("account"),) if account is not None else ()),
        _("trail"),
        _("home region"),
        _("bucket region"),
        _("before"),
        _("after"),
        _("verdict"),
        why_head,
    )
    body = []
    for trail, item in rows:
        if isinstance(item, Plan):
            if item.blocked:
                verdict = badge("blocked")
                why = esc("; ".join(f"{f.code}: {f.message}" for f in item.report.errors))
            elif item.nothing_to_do:
                verdict = badge("unchanged", _("NOTHING TO DO"))
                why = esc(_("already in this state"))
            elif item.report.unverifiable:
                verdict, why = badge("unverifiable"), esc(_("part could not be verified"))
            else:
                verdict, why = badge("ready"), ""
            if not item.blocked and not item.nothing_to_do:
                # Warnings do not block, but are said (e.g. policy-readers: who may decrypt).
                warned = [
                    esc(f"{f.code}: {f.message}")
                    for f in item.report.findings
                    if f.severity is Severity.WARNING
                ]
                why = "; ".join(part for part in (why, *warned) if part)
            before = state_html(item, item.before_key)
            after = state_html(item, item.after_key)
        else:
            verdict, why = badge("error", _("NO PLAN")), text_html(item)
            before = after = ""
        body.append(
            (
                *_account_cell(account, trail),
                f"<b>{esc(trail.name)}</b>",
                esc(trail.home_region),
                esc(trail.bucket_region or _("unknown")),
                before,
                after,
                verdict,
                why,
            )
        )
    return wide_table_html(head, body, "tk-bulk-table", text=(why_head,))


def unread_trail(arn: str, errors: Sequence[ScanError]) -> PlanRow | None:
    """The error row of a trail ARN in an account the inventory could not read, else None.

    ``errors`` are the inventory's (``Inventory.errors``). The ARN's account is unread when an
    error names it (``ScanError.account``) for the whole account (no region: e.g.
    ``AssumeRole``, the account's role that cannot be assumed) or for the trail's home region.
    The row's trail is known only by its ARN (no bucket, no key read); its error names the
    account and the error's message. Nothing is ever sent for it.
    """
    account, region = arn_account(arn), arn_region(arn)
    if arn_service(arn) != "cloudtrail" or not account:
        return None
    theirs = [e for e in errors if e.account == account and e.region in (None, region)]
    if not theirs:
        return None
    error = min(theirs, key=lambda e: e.region is not None)  # the whole account's first
    trail = Trail(
        name=resource_id(arn),
        arn=arn,
        home_region=region,
        account=account,
        multi_region=False,
        organization=False,
        bucket_name="",
        s3_prefix=None,
        kms_key_id=None,
        log_file_validation=False,
    )
    problem = _(
        "The trail {trail} is in the account {account}, which the inventory could not read "
        "({operation}): {reason} Nothing will be sent for it."
    ).format(
        trail=trail.name,
        account=account,
        operation=error.operation or error.code,
        reason=error.message,
    )
    if error.operation == "AssumeRole":
        hint = _(
            "let the caller assume the role in {account} (its trust policy), or pass the "
            "role_name (and external_id) of a role it has there, then run the inventory again"
        ).format(account=account)
    else:
        hint = _("fix the inventory's error in {account}, then run the inventory again").format(
            account=account
        )
    return trail, TrailkitError(problem, hint)


def _no_row(trail: Trail) -> TrailkitError:
    return TrailkitError(
        _("The plan of {trail} was not made: nothing will be sent for it.").format(
            trail=trail.name
        ),
        _("press Plan again"),
    )


_STATUS_BADGE = {
    "changed": ("done", N_("CHANGED")),
    "unchanged": ("unchanged", N_("UNCHANGED")),
    "blocked": ("blocked", N_("BLOCKED")),
    "not sent": ("unchanged", N_("NOT SENT")),
    "failed": ("failed", N_("FAILED")),
    "unknown": ("unknown", N_("UNKNOWN")),
}
#: The counts above the results, e.g. "1 blocked" (one form per status).
_COUNT_TEXT = {
    "unchanged": N_("{n} unchanged"),
    "blocked": N_("{n} blocked"),
    "not sent": N_("{n} not sent"),
    "failed": N_("{n} failed"),
    "unknown": N_("{n} unknown"),
}


def results_html(
    results: Sequence[ApplyResult],
    rows: Sequence[PlanRow] | None = None,
    *,
    account: AccountLabel | None = None,
) -> str:
    """One row per trail (every planned trail when ``rows`` are given): status, message,
    verified, change id; above it the counts, e.g. ``2 of 3 trails changed, 1 blocked.``
    ``account``: a first column naming each trail's account, as in :func:`plans_html`."""
    outcomes = outcomes_of(rows, results)
    message_head = _("message")
    head = (
        *((_("account"),) if account is not None else ()),
        _("trail"),
        _("status"),
        message_head,
        _("verified"),
        _("change id"),
    )
    body = []
    for o in outcomes:
        r = o.result
        kind, text = _STATUS_BADGE[o.status]
        change = f"<code>{esc(r.change_id)}</code>" if r is not None and r.change_id else "-"
        body.append(
            (
                *_account_cell(account, o.trail),
                f"<b>{esc(o.trail.name)}</b>",
                badge(kind, _(text)),
                text_html(o.message),
                esc(_("yes")) if r is not None and r.verified else "-",
                change,
            )
        )
    done = sum(o.status == "changed" for o in outcomes)
    others = [
        _(_COUNT_TEXT[status]).format(n=sum(o.status == status for o in outcomes))
        for status in ("unchanged", "blocked", "not sent", "failed", "unknown")
        if any(o.status == status for o in outcomes)
    ]
    changed = ngettext(
        "{done} of {n} trail changed", "{done} of {n} trails changed", len(outcomes)
    ).format(done=done, n=len(outcomes))
    counts = ", ".join([changed, *others])
    kind = "ok" if all(o.status in ("changed", "unchanged") for o in outcomes) else "warn"
    summary = note_html(kind, f"{esc(counts)}.", "tk-bulk-counts")
    return summary + wide_table_html(head, body, "tk-bulk-results-table", text=(message_head,))


def key_choices(
    trails: Sequence[Trail], ranked: Sequence[Sequence[Verdict]]
) -> list[tuple[KeyChoiceLabel, VerdictKind, Verdict]]:
    """One region's keys for the trails whose bucket is there, ranked for all of them at once.

    ``ranked[i]`` are the verdicts of ``trails[i]``. A key's readiness is its worst for any of
    the trails (blocked, then unverifiable, then ready), and when the trails disagree the label
    names the trails it holds for: ``alias (id) - blocked: code (for bucketkey-trail)``. Ready
    keys come first, as in the key picker of notebook 02.
    """
    worst: dict[str, Verdict] = {}
    kinds: dict[str, dict[VerdictKind, list[str]]] = {}
    order: list[str] = []
    for trail, verdicts in zip(trails, ranked, strict=True):
        for v in verdicts:
            arn = v.key.arn
            if arn not in worst:
                order.append(arn)
                worst[arn] = v
                kinds[arn] = {}
            elif _ORDER[v.kind] > _ORDER[worst[arn].kind]:
                worst[arn] = v
            kinds[arn].setdefault(v.kind, []).append(trail.name)
    out = []
    for arn in sorted(order, key=lambda a: _ORDER[worst[a].kind]):
        v = worst[arn]
        label = v.label
        if len(kinds[arn]) > 1:
            label += _(" (for {trails})").format(trails=", ".join(kinds[arn][v.kind]))
        out.append(((label, arn), v.kind, v))
    return out


class BulkUpdate:
    """Several trails at once: one target key per bucket region, a plan table, apply all.

    Blocked plans are never sent: Apply sends the ready ones and reports every trail.

    With the trails of several accounts the key is chosen per account and bucket region (a
    *group*, named ``ACCOUNT/REGION`` in :attr:`keys_by_region` and in :meth:`choose`), each
    account's trails are planned with one call of ``plan`` (an error of that call, e.g. the
    account's role that cannot be assumed, is the error row of each of its trails: nothing is
    sent for them) and the plan and result tables have an account column.

    Parameters
    ----------
    trails
        The trails to choose from (with bucket facts, e.g. ``inventory.trails``).
    keys
        ``keys(region) -> keys``: the candidate keys of a bucket region (labelled without a
        verdict; used when no ``rank`` is given). With several accounts
        ``keys(region, account)``: that account's keys of the region.
    rank
        ``rank(trail) -> [Verdict]``: the candidate keys of the trail's bucket region, ranked
        (``Runbook.rank``). Each region's list then says, for the selected trails whose bucket
        is there, which keys are ready, unverifiable or blocked (as notebook 02's key picker).
    plan
        ``plan(trails, keys_by_region) -> [(trail, Plan | TrailkitError)]``.
    apply
        ``apply(plans) -> [ApplyResult]`` (``trailkit.change.update.apply_many``, confirmed).
    demo
        The demo backend (False: real AWS, where the number of changes must be typed too).
    by_account
        Choose the key per account and bucket region; None: when ``trails`` are of more than
        one account.
    account_names
        Account id -> name (Organizations' names, ``Inventory.accounts``), to label accounts
        and to accept a name in ``ACCOUNT/REGION``.
    account_roles
        Account id -> the role ARN trailkit acts through there (``Account.role_arn``; None for
        the caller's own): said on hover over the account in the plan and result tables.
    errors
        The inventory's errors (``Inventory.errors``): in :meth:`choose`, a trail ARN not
        offered whose account the inventory could not read (an error with that
        ``ScanError.account``, e.g. its role that cannot be assumed) is an error row naming the
        account and the error, and the other trails are planned; nothing is sent for it.
    """

    def __init__(
        self,
        trails: Sequence[Trail],
        *,
        keys: Callable[..., Sequence[KeyInfo]] | None = None,
        plan: Callable[[list[Trail], dict[str, str]], list[PlanRow]],
        apply: Callable[[list[Plan]], list[ApplyResult]],
        rank: Callable[[Trail], Sequence[Verdict]] | None = None,
        demo: bool = True,
        by_account: bool | None = None,
        account_names: Mapping[str, str | None] | None = None,
        account_roles: Mapping[str, str | None] | None = None,
        errors: Sequence[ScanError] | None = None,
    ) -> None:
        need_trails(trails, _("pass inventory.trails"))
        for label, action in (("plan", plan), ("apply", apply)):
            if not callable(action):
                raise InputError(
                    _("{name} must be callable, not {kind}.").format(
                        name=label, kind=type(action).__name__
                    ),
                    "",
                )
        for label, given in (("keys", keys), ("rank", rank)):
            if given is not None and not callable(given):
                raise InputError(
                    _("{name} must be callable or None, not {kind}.").format(
                        name=label, kind=type(given).__name__
                    ),
                    "",
                )
        if keys is None and rank is None:
            raise InputError(
                _("keys must be callable when no rank is given, not NoneType."),
                _("pass keys (a region's keys) or rank (a trail's keys, ranked)"),
            )
        demo = parse_flag(demo, "demo")
        for label, given_map in (
            ("account_names", account_names),
            ("account_roles", account_roles),
        ):
            if given_map is not None and not isinstance(given_map, Mapping):
                raise InputError(
                    _("{name} must be a mapping of account ids to texts, not {kind}.").format(
                        name=label, kind=type(given_map).__name__
                    ),
                    _("pass a mapping of account ids to texts, or None"),
                )
        if errors is not None and (
            isinstance(errors, str | bytes)
            or not isinstance(errors, Sequence)
            or not all(isinstance(e, ScanError) for e in errors)
        ):
            raise InputError(
                _("errors must be the inventory's errors, not {kind}.").format(
                    kind=type(errors).__name__
                ),
                _("pass inventory.errors, or None"),
            )
        self._errors = tuple(errors or ())
        #: the error rows of trails named in choose() whose accounts were not read
        self._unread: list[PlanRow] = []
        self._names = {a: n for a, n in (account_names or {}).items() if n}
        self._roles = {a: r for a, r in (account_roles or {}).items() if r}
        several = len({t.account for t in trails}) > 1
        self._by_account = several if by_account is None else parse_flag(by_account, "by_account")
        self._trails = list(trails)
        self._keys = keys
        self._rank = rank
        self._plan = plan
        self._apply = apply
        self._demo = demo
        self._rows: list[PlanRow] = []
        self._results: list[ApplyResult] = []
        self._error: BaseException | None = None
        self._busy = False
        self._key_widgets: dict[str, Any] = {}
        self._key_notes: dict[str, Any] = {}
        self._key_boxes: dict[str, Any] = {}
        self._key_trails: dict[str, tuple[str, ...]] = {}
        self._key_errors: dict[str, str] = {}
        self._key_verdicts: dict[str, dict[str, tuple[VerdictKind, Verdict, str]]] = {}
        #: group name (``REGION``, or ``ACCOUNT/REGION`` by account) -> (account, region)
        self._groups: dict[str, tuple[str | None, str]] = {}
        self._w_trails = widgets.SelectMultiple(
            options=[(trail_label(t), t.arn) for t in self._trails],
            value=(),
            rows=min(10, max(3, len(self._trails))),
            layout=widgets.Layout(width="min(640px, 100%)"),
        )
        self._w_trails.add_class("tk-bulk-trails")
        self._w_trails.observe(self._trails_changed, names="value")
        self._w_status = widgets.HTML()
        self._w_status.add_class("tk-status")
        self._w_keys = widgets.VBox()
        self._w_keys.add_class("tk-bulk-keys")
        self._w_plan_button = widgets.Button(
            description=_("Plan"), icon="list", button_style="info"
        )
        self._w_plan_button.add_class("tk-bulk-plan")
        self._w_plan_button.on_click(self._do_plan)
        self._w_table = widgets.HTML(plans_html([], account=self._column))
        self._w_table.add_class("tk-bulk-plans")
        self._confirm = Confirm(
            _("I have reviewed every plan and want to send the ready ones"),
            typed_hint=_("type the number of changes to confirm"),
            on_change=self._refresh,
        )
        self._confirm._w_box.add_class("tk-bulk-confirm")
        self._w_confirm = self._confirm._w_box
        self._w_typed = self._confirm._w_typed
        # the command line's --accept-unverifiable: a separate yes for UNVERIFIABLE plans
        self._accept = AcceptUnverifiable(on_change=self._refresh)
        self._w_accept = self._accept.layout
        self._w_apply = widgets.Button(
            description=_("Apply the ready plans"),
            icon="check",
            button_style="success",
            disabled=True,
            layout=widgets.Layout(width="auto", align_self="flex-start"),
        )
        self._w_apply.add_class("tk-bulk-apply")
        self._w_apply.on_click(self._do_apply)
        self._w_progress = widgets.HTML()
        self._w_progress.add_class("tk-progress")
        self._w_results = widgets.HTML()
        self._w_results.add_class("tk-bulk-results")
        self.layout = widgets.VBox(
            [
                widgets.HTML(
                    '<div class="tk-hint">'
                    + esc(_("Trails (Ctrl/Shift-click for several):"))
                    + "</div>"
                ),
                self._w_trails,
                self._w_status,
                self._w_keys,
                self._w_plan_button,
                self._w_table,
                self._w_accept,
                self._confirm.layout,
                self._w_apply,
                self._w_progress,
                self._w_results,
            ]
        )
        self.layout.add_class("tk-bulk")

    # -- values ----------------------------------------------------------------------------
    @property
    def selected(self) -> list[Trail]:
        """The chosen trails."""
        chosen = set(self._w_trails.value)
        return [t for t in self._trails if t.arn in chosen]

    @property
    def by_account(self) -> bool:
        """True when the key is chosen per account and bucket region."""
        return self._by_account

    @property
    def keys_by_region(self) -> dict[str, str]:
        """The chosen key (ARN or typed identifier) per bucket region; by account, per
        ``ACCOUNT/REGION`` (the account's id)."""
        return {r: w.value for r, w in self._key_widgets.items() if w.value}

    @property
    def keys_by_group(self) -> dict[tuple[str | None, str], str]:
        """The chosen key per (account, bucket region); the account is None when the key is
        chosen per region only and the region's trails are of several accounts."""
        return {self._groups[g]: k for g, k in self.keys_by_region.items()}

    def account_label(self, account: str) -> str:
        """``name (id)`` when the account's name is known, else the id."""
        name = self._names.get(account)
        return f"{name} ({account})" if name else account

    @property
    def _column(self) -> AccountLabel | None:
        """The account column's labels and roles, when the key is chosen by account."""
        if not self._by_account:
            return None
        return lambda account: (self.account_label(account), self._roles.get(account))

    def _group(self, account: str | None, region: str) -> str:
        return f"{account}/{region}" if self._by_account else region

    @property
    def key_labels(self) -> dict[str, list[str]]:
        """Each bucket region's key list as shown (without the placeholder)."""
        return {
            r: [label for label, v in w.options if v is not None]
            for r, w in self._key_widgets.items()
        }

    @property
    def value(self) -> list[Plan]:
        """The plans made (trails without a plan are left out)."""
        return [p for __, p in self._rows if isinstance(p, Plan)]

    @property
    def rows(self) -> list[PlanRow]:
        """Every chosen trail with its plan or the reason there is none."""
        return list(self._rows)

    @property
    def ready(self) -> list[Plan]:
        """The plans Apply would send."""
        return [p for p in self.value if not p.blocked and not p.nothing_to_do]

    @property
    def unverified(self) -> list[str]:
        """What could not be verified in the ready plans, ``trail: code`` each: Apply then also
        needs the acknowledgement (:meth:`accept_unverifiable`)."""
        return [
            f"{p.trail.name}: {f.code}"
            for p in self.ready
            for f in p.report.findings
            if f.code in UNVERIFIED_CODES
        ]

    def accept_unverifiable(self) -> None:
        """Tick the acknowledgement of what could not be verified, as the operator would."""
        self._accept.accept()

    @property
    def results(self) -> list[ApplyResult]:
        """One result per plan sent, after Apply."""
        return list(self._results)

    @property
    def outcomes(self) -> list[TrailOutcome]:
        """After Apply: every planned trail with its outcome (changed, unchanged, blocked with
        the reason, failed, unknown), in the order planned; empty before."""
        if not self._results:
            return []
        return outcomes_of(self._rows, self._results)

    @property
    def can_apply(self) -> bool:
        """True when Apply is enabled."""
        return (
            bool(self.ready)
            and not self._busy
            and not self._results
            and self._confirm.confirmed
            and self._accept.accepted
        )

    # -- events ----------------------------------------------------------------------------
    def _region_choices(
        self, region: str, trails: list[Trail], account: str | None = None
    ) -> tuple[list[KeyChoiceLabel], dict[str, tuple[VerdictKind, Verdict, str]]]:
        """The labelled keys of ``region`` for ``trails`` (ranked when ``rank`` was given; a
        trail whose keys cannot be ranked is left out of the labels and its error is said under
        the region's list). ``region`` is the group's name; ``account`` (by account) the
        account whose keys are listed."""
        if self._rank is not None:
            ranked, ok, errors = [], [], []
            for t in trails:
                try:
                    ranked.append(list(self._rank(t)))
                except TrailkitError as err:
                    errors.append(error_html(err))
                else:
                    ok.append(t)
            self._key_errors[region] = "".join(errors)
            chosen = key_choices(ok, ranked)
            notes = {}
            for (label, arn), kind, verdict in chosen:
                tail = label[len(verdict.label) :]
                notes[arn] = (kind, verdict, tail)
            return [c[0] for c in chosen], notes
        assert self._keys is not None
        bucket_region = self._groups[region][1] if region in self._groups else region
        keys = (
            self._keys(bucket_region, account)
            if self._by_account and account is not None
            else self._keys(bucket_region)
        )
        return [(k.display_name, k.arn) for k in keys], {}

    def _trails_changed(self, _change: Any = None) -> None:
        self._unread = []
        selected = self.selected
        groups: dict[str, tuple[str | None, str]] = {}
        for t in selected:
            if t.bucket_region:
                groups.setdefault(
                    self._group(t.account, t.bucket_region),
                    (t.account if self._by_account else None, t.bucket_region),
                )
        if not self._by_account:  # one account's trails: the group is that account's too
            for g, (__, r) in list(groups.items()):
                owners = {t.account for t in selected if t.bucket_region == r}
                groups[g] = (owners.pop() if len(owners) == 1 else None, r)
        regions = sorted(groups)
        self._groups = groups
        for region in list(self._key_widgets):
            if region not in regions:
                for d in (
                    self._key_widgets,
                    self._key_notes,
                    self._key_boxes,
                    self._key_trails,
                    self._key_errors,
                ):
                    d.pop(region, None)
                self._key_verdicts.pop(region, None)
        for region in regions:
            account, bucket_region = groups[region]
            here = [
                t
                for t in selected
                if t.bucket_region == bucket_region
                and (not self._by_account or t.account == account)
            ]
            arns = tuple(t.arn for t in here)
            if region in self._key_widgets and (
                self._rank is None or self._key_trails.get(region) == arns
            ):
                continue
            self._w_status.value = spinner_html(
                _("Reading the candidate keys of {region}…").format(region=bucket_region)
                if not self._by_account
                else _("Reading the candidate keys of {account} in {region}…").format(
                    account=self.account_label(str(account)), region=bucket_region
                )
            )
            self._key_errors[region] = ""
            try:
                choices, verdicts = self._region_choices(region, here, account)
            except TrailkitError as err:
                self._key_errors[region] = error_html(err)
                choices, verdicts = [], {}
            options: list[tuple[str, str | None]] = [(_("— choose a key —"), None), *choices]
            old = self._key_widgets.get(region)
            keep = old.value if old is not None else None
            if keep is not None and keep not in {v for __, v in options}:
                keep = None
            w = widgets.Dropdown(
                options=options,
                value=keep,
                description=(
                    f"{self.account_label(str(account))} · {bucket_region}"
                    if self._by_account
                    else region
                ),
                tooltip=region,
                style={"description_width": "280px" if self._by_account else "120px"},
                layout=widgets.Layout(
                    width="min(800px, 100%)" if self._by_account else "min(640px, 100%)"
                ),
            )
            w.add_class("tk-bulk-key")
            w.add_class(f"tk-bulk-key-{bucket_region}")
            if self._by_account:
                w.add_class(f"tk-bulk-key-{account}")
            w.observe(partial(self._keys_changed, region), names="value")
            note = widgets.HTML()
            note.add_class("tk-bulk-key-reason")
            self._key_widgets[region] = w
            self._key_notes[region] = note
            self._key_boxes[region] = widgets.VBox([w, note])
            self._key_trails[region] = arns
            self._key_verdicts[region] = verdicts
            self._show_key_note(region)
        if self._by_account:
            accounts = sorted({t.account for t in selected})
            said = ngettext(
                "{n} trail selected, of {accounts}; their buckets are in {regions}: choose one "
                "key per account and region.",
                "{n} trails selected, of {accounts}; their buckets are in {regions}: choose one "
                "key per account and region.",
                len(selected),
            ).format(
                n=len(selected),
                accounts=", ".join(self.account_label(a) for a in accounts),
                regions=", ".join(sorted({r for __, r in groups.values()})) or _("no known region"),
            )
        else:
            said = ngettext(
                "{n} trail selected; their buckets are in {regions}: choose one key per region.",
                "{n} trails selected; their buckets are in {regions}: choose one key per region.",
                len(selected),
            ).format(n=len(selected), regions=", ".join(regions) or _("no known region"))
        self._w_status.value = f'<div class="tk-hint">{esc(said)}</div>'
        self._w_keys.children = [self._key_boxes[r] for r in regions]
        self._clear_plans()

    def _show_key_note(self, region: str) -> None:
        w, note = self._key_widgets[region], self._key_notes[region]
        key = w.value
        found = self._key_verdicts.get(region, {}).get(key) if key else None
        errors = self._key_errors.get(region, "")
        if not key:
            note.value = errors
        elif found is None:
            note.value = errors + (
                '<div class="tk-hint">'
                + esc(_("The plan says whether this key will work."))
                + "</div>"
                if self._rank is not None
                else ""
            )
        else:
            kind, v, tail = found
            code = f" <code>{esc(v.code)}</code>" if v.code else ""
            note.value = errors + note_html(
                _NOTE_KIND[kind], f"{badge(str(kind))} {esc(v.reason)}{code}{esc(tail)}"
            )

    def _keys_changed(self, region: str, _change: Any = None) -> None:
        if region in self._key_notes:
            self._show_key_note(region)
        self._clear_plans()

    def _clear_plans(self) -> None:
        self._rows = []
        self._results = []
        self._w_table.value = plans_html([], account=self._column)
        self._w_results.value = ""
        self._confirm.reset()
        self._accept.require([])
        self._refresh()

    def _refresh(self) -> None:
        self._w_apply.disabled = not self.can_apply
        n = len(self.ready)
        self._confirm.require_typed(None if self._demo or not n else str(n))
        self._w_apply.description = (
            ngettext("Apply the {n} ready plan", "Apply the {n} ready plans", n).format(n=n)
            if n
            else _("Apply")
        )

    def _do_plan(self, _button: Any = None) -> None:
        trails = self.selected
        if not trails and not self._unread:
            self._w_table.value = note_html("warn", esc(_("Choose at least one trail.")))
            return
        self._w_progress.value = spinner_html(
            ngettext("Checking {n} trail…", "Checking {n} trails…", len(trails)).format(
                n=len(trails)
            )
        )
        try:
            self._rows = [*(self._plan_all(trails) if trails else []), *self._unread]
        except Exception as err:  # shown to the operator, never as a traceback
            self._rows = []
            self._w_table.value = error_html(err)
        else:
            self._w_table.value = plans_html(self._rows, account=self._column)
        finally:
            self._w_progress.value = ""
        self._results = []
        self._w_results.value = ""
        self._confirm.reset()
        self._accept.require(self.unverified)
        self._refresh()

    def _plan_all(self, trails: list[Trail]) -> list[PlanRow]:
        """One call of ``plan`` with the keys by region; by account, one call per account with
        that account's keys (an error of the call is each of its trails' row), the rows in the
        order of ``trails``."""
        if not self._by_account:
            return self._plan(trails, self.keys_by_region)
        chosen = self.keys_by_group
        accounts: dict[str, list[Trail]] = {}
        for t in trails:
            accounts.setdefault(t.account, []).append(t)
        by_arn: dict[str, PlanRow] = {}
        for account, theirs in accounts.items():
            keys = {r: k for (a, r), k in chosen.items() if a == account}
            try:
                rows = self._plan(theirs, keys)
            except TrailkitError as err:  # e.g. the account's role cannot be assumed
                rows = [(t, err) for t in theirs]
            for row in rows:
                by_arn[row[0].arn] = row
        return [by_arn.get(t.arn, (t, _no_row(t))) for t in trails]

    def _do_apply(self, _button: Any = None) -> None:
        plans = self.ready
        if not plans or not self.can_apply:
            return
        self._busy = True
        self._refresh()
        self._w_progress.value = spinner_html(
            ngettext(
                "Applying {n} change, one by one…", "Applying {n} changes, one by one…", len(plans)
            ).format(n=len(plans))
        )
        self._error = None
        try:
            self._results = self._apply(plans)
        except Exception as err:  # shown to the operator, never as a traceback
            self._results = []
            self._error = err
            self._w_results.value = error_html(err)
        else:
            self._w_results.value = results_html(self._results, self._rows, account=self._column)
        finally:
            self._busy = False
            self._w_progress.value = ""
        self._confirm.reset()
        self._accept.reset()
        self._refresh()

    # -- headless --------------------------------------------------------------------------
    def choose(
        self, trails: Sequence[str] | str | None, keys_by_region: Mapping[str, str] | None
    ) -> Step | None:
        """Select trails (names or ARNs) and a key per bucket region, then press Plan.

        One name alone is taken as a one-item list. When a named trail is not among the trails
        offered (not in the inventory: another region, a typo, an empty account), or a name is
        that of trails in several accounts, nothing is selected or planned: the step says which
        names are unknown or ambiguous and Apply has nothing to send, so a typo never turns into
        a partial change.

        A trail ARN whose account the inventory could not read (``errors``: e.g. the account's
        role that cannot be assumed) is not unknown: it is an error row naming the account and
        the error (nothing is sent for it), and the other trails are planned as usual.

        ``keys_by_region`` maps a bucket region to its key. With the trails of several
        accounts an entry ``"ACCOUNT/REGION"`` (the account's id, or its name when the
        inventory knows it) is the key of that account's trails whose bucket is in that
        region; a bare ``"REGION"`` is the key of every account's trails there that have no
        entry of their own (an alias is resolved in each trail's account; a key ARN names one
        key).

        Raises
        ------
        InputError
            ``trails`` is not a list of names, ``keys_by_region`` not a mapping of texts, a
            region is blank, a key is empty, or an ``ACCOUNT/REGION`` names an account that is
            neither a 12-digit id nor a name the inventory knows (or the name of several).
        """
        names = parse_names(trails, "trails")
        chosen_keys = parse_mapping(keys_by_region, "keys_by_region") or {}
        for region, key in chosen_keys.items():
            if not region.strip():
                raise InputError(
                    _(
                        "keys_by_region has a region named {region}: every key is for a bucket "
                        "region."
                    ).format(region=repr(region)),
                    _("give region names, e.g. {example}").format(
                        example='{"us-east-1": "alias/cloudtrail"}'
                    ),
                )
            if not key.strip():
                raise InputError(
                    _(
                        "keys_by_region[{region}] is {key}: an empty key would turn SSE-KMS off."
                    ).format(region=repr(region), key=repr(key)),
                    _(
                        "give an alias, alias ARN, key ARN or key id for each region; bulk "
                        "updates never turn encryption off (use notebook 02 or `trailkit "
                        "disable`)"
                    ),
                )
        by_group = {self._entry(given): key for given, key in chosen_keys.items()}
        if not names:
            return None
        arns = []
        unknown = []
        ambiguous = []
        unread: list[PlanRow] = []
        for name in names:
            match = [t for t in self._trails if name in (t.arn, t.name)]
            if len(match) > 1:
                ambiguous.append(name)
            elif match:
                arns.append(match[0].arn)
            elif (row := unread_trail(name, self._errors)) is not None:
                unread.append(row)
            else:
                unknown.append(name)
        if ambiguous and not unknown:
            self._w_trails.value = ()
            self._unread = []
            self._clear_plans()
            err = InputError(
                _(
                    "More than one trail offered has the name {names} (in several accounts): "
                    "nothing was planned."
                ).format(names=", ".join(ambiguous)),
                _("give the trail's ARN, which names its account"),
            )
            self._w_table.value = error_html(err)
            return Step(_("Plans"), False, error_html(err), [])
        unknown += ambiguous
        if unknown:
            self._w_trails.value = ()
            self._unread = []
            self._clear_plans()
            offered = ", ".join(t.name for t in self._trails) or _("none: the inventory is empty")
            err = InputError(
                _("Not among the trails offered: {unknown} (offered: {offered}).").format(
                    unknown=", ".join(unknown), offered=offered
                ),
                _("give trail names or ARNs from the inventory (and the regions they are in)"),
            )
            self._w_table.value = error_html(err)
            nothing = note_html("warn", esc(_("Nothing was planned.")))
            return Step(_("Plans"), False, error_html(err) + nothing, [])
        self._w_trails.value = tuple(arns)
        self._unread = unread  # after the selection, which clears them
        for group, w in self._key_widgets.items():
            account, region = self._groups[group]
            given = by_group.get((account, region)) if account is not None else None
            if given is None:
                given = by_group.get((None, region))
            if given is None:
                continue
            values = {v for __, v in w.options}
            chosen = next(
                (k for k in values if k and given in (k, resource_id(k))),
                None,
            )
            if chosen is None:
                chosen = next(
                    (v for label, v in w.options if v and label.split(" (")[0] == given), None
                )
            if chosen is None:  # a key of another account or region: offered as typed
                w.options = [*w.options, (given, given)]
                chosen = given
            w.value = chosen
        self._w_plan_button.click()
        ok = bool(self._rows) and all(isinstance(p, Plan) and not p.blocked for __, p in self._rows)
        return Step(_("Plans"), ok, str(self._w_table.value), self.value)

    def apply(self, confirm: object = False, accept_unverifiable: object = False) -> Step | None:
        """When ``confirm``: tick (and type), press Apply; returns the per-trail results.

        ``confirm`` and ``accept_unverifiable`` are read strictly
        (:func:`~trailkit.rules.flags.parse_flag`). When a ready plan is UNVERIFIABLE nothing is
        sent without ``accept_unverifiable`` as well (the command line's
        ``--accept-unverifiable``; in the widget, its own checkbox).

        Raises
        ------
        InputError
            ``confirm`` or ``accept_unverifiable`` is not an unambiguous yes or no; nothing is
            sent.
        RefusedError
            A ready plan is UNVERIFIABLE and ``accept_unverifiable`` is not given; nothing is
            sent.
        """
        accepted = parse_flag(accept_unverifiable, "accept_unverifiable")
        if not parse_flag(confirm, "apply"):
            return None
        n = len(self.ready)
        if not n:
            return Step(
                _("Apply"), False, note_html("warn", esc(_("No ready plan: nothing was sent."))), []
            )
        unverified = self.unverified
        if unverified and not accepted:
            raise RefusedError(
                ngettext(
                    "{n} check of the plans could not be verified ({codes}). Nothing was sent.",
                    "{n} checks of the plans could not be verified ({codes}). Nothing was sent.",
                    len(unverified),
                ).format(n=len(unverified), codes=", ".join(unverified)),
                _(
                    "once the keys' and the buckets' owners confirmed them, pass "
                    "accept_unverifiable=True (the command line's --accept-unverifiable)"
                ),
            )
        if unverified:
            self._accept.accept()
        self._confirm.confirm(str(n))
        self._error = None
        self._w_apply.click()
        if self._error is not None:  # the action itself failed: nothing is claimed as done
            raise self._error
        outcomes = self.outcomes
        ok = bool(outcomes) and all(o.status in ("changed", "unchanged") for o in outcomes)
        return Step(_("Apply"), ok, str(self._w_results.value), self.results)

    def _entry(self, given: str) -> tuple[str | None, str]:
        """``"REGION"`` -> (None, region); ``"ACCOUNT/REGION"`` -> (account id, region).

        Raises
        ------
        InputError
            A blank region, or an account that is neither a 12-digit id nor one known name.
        """
        account, sep, region = given.strip().rpartition("/")
        example = '{"us-east-1": "alias/cloudtrail"}'
        if self._by_account:
            example = '{"111122223333/us-east-1": "alias/cloudtrail"}'
        if not region.strip():
            raise InputError(
                _(
                    "keys_by_region has a region named {region}: every key is for a bucket region."
                ).format(region=repr(given)),
                _("give region names, e.g. {example}").format(example=example),
            )
        if not sep:
            return None, region.strip()
        account = account.strip()
        if account.isdigit() and len(account) == 12:
            return account, region.strip()
        named = sorted({a for a, n in self._names.items() if n == account})
        if len(named) != 1:
            known = ", ".join(self.account_label(a) for a in sorted(self._names)) or _("none")
            raise InputError(
                _(
                    "keys_by_region[{entry}]: {account} is not the id of an account, nor the "
                    "name of one account of the inventory (names known: {known})."
                ).format(entry=repr(given), account=repr(account), known=known),
                _("write the account's 12-digit id, e.g. {example}").format(
                    example='{"111122223333/us-east-1": "alias/cloudtrail"}'
                ),
            )
        return named[0], region.strip()

    def html(self) -> str:
        """Plans and results as HTML."""
        return f"{self._w_table.value}{self._w_results.value}"

    def _ipython_display_(self) -> None:
        show(root(self.layout), self.html(), f"<BulkUpdate: {len(self._rows)} plans>")
