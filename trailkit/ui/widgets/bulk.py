"""Bulk update: several trails, one target key per bucket region, one plan table, apply all."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

import ipywidgets as widgets

from trailkit.arn import resource_id
from trailkit.errors import InputError, TrailkitError
from trailkit.records import ApplyResult, KeyInfo, Trail
from trailkit.rules.checks import Severity
from trailkit.rules.flags import parse_flag, parse_mapping, parse_names
from trailkit.rules.plan import Plan
from trailkit.ui.widgets._common import (
    Confirm,
    Step,
    badge,
    error_html,
    esc,
    note_html,
    root,
    show,
    spinner_html,
)
from trailkit.ui.widgets.trails import trail_label

__all__ = ["BulkUpdate", "PlanRow", "plans_html", "results_html"]

#: One trail's plan, or why there is none.
PlanRow = tuple[Trail, Plan | TrailkitError]


def _state(plan: Plan, key: str | None) -> str:
    return esc(plan.describe_state(key))


def plans_html(rows: Sequence[PlanRow]) -> str:
    """The plan table of a bulk update."""
    if not rows:
        return '<div class="tk-hint">Choose trails and a key per region, then press Plan.</div>'
    head = "".join(
        f"<th>{h}</th>"
        for h in ("trail", "home region", "bucket region", "before", "after", "verdict", "why")
    )
    body = []
    for trail, item in rows:
        if isinstance(item, Plan):
            if item.blocked:
                verdict = badge("blocked")
                why = esc("; ".join(f"{f.code}: {f.message}" for f in item.report.errors))
            elif item.nothing_to_do:
                verdict, why = badge("unchanged", "NOTHING TO DO"), "already in this state"
            elif item.report.unverifiable:
                verdict, why = badge("unverifiable"), "part could not be verified"
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
            before, after = _state(item, item.before_key), _state(item, item.after_key)
        else:
            verdict, why, before, after = badge("error", "NO PLAN"), esc(item.message), "", ""
        body.append(
            f"<tr><td><b>{esc(trail.name)}</b></td><td>{esc(trail.home_region)}</td>"
            f"<td>{esc(trail.bucket_region)}</td><td>{before}</td><td>{after}</td>"
            f"<td>{verdict}</td><td>{why}</td></tr>"
        )
    return (
        f'<table class="tk-table tk-bulk-table"><thead><tr>{head}</tr></thead>'
        f"<tbody>{''.join(body)}</tbody></table>"
    )


def results_html(results: Sequence[ApplyResult]) -> str:
    """One row per trail: status, message, change id, verified."""
    head = "".join(f"<th>{h}</th>" for h in ("trail", "status", "message", "verified", "change id"))
    body = "".join(
        f"<tr><td><b>{esc(r.plan.trail.name)}</b></td><td>{badge(r.outcome.value)}</td>"
        f"<td>{esc(r.message)}</td><td>{'yes' if r.verified else ''}</td>"
        f"<td><code>{esc(r.change_id)}</code></td></tr>"
        for r in results
    )
    done = sum(r.changed for r in results)
    kind = "ok" if all(r.outcome.succeeded for r in results) else "warn"
    summary = note_html(kind, f"{done} of {len(results)} trail(s) changed.")
    return (
        f'{summary}<table class="tk-table tk-bulk-results-table"><thead><tr>{head}</tr></thead>'
        f"<tbody>{body}</tbody></table>"
    )


class BulkUpdate:
    """Several trails at once: one target key per bucket region, a plan table, apply all.

    Blocked plans are never sent: Apply sends the ready ones and reports every trail.

    Parameters
    ----------
    trails
        The trails to choose from (with bucket facts, e.g. ``inventory.trails``).
    keys
        ``keys(region) -> keys``: the candidate keys of a bucket region.
    plan
        ``plan(trails, keys_by_region) -> [(trail, Plan | TrailkitError)]``.
    apply
        ``apply(plans) -> [ApplyResult]`` (``trailkit.change.update.apply_many``, confirmed).
    demo
        The demo backend (False: real AWS, where the number of changes must be typed too).
    """

    def __init__(
        self,
        trails: Sequence[Trail],
        *,
        keys: Callable[[str], Sequence[KeyInfo]],
        plan: Callable[[list[Trail], dict[str, str]], list[PlanRow]],
        apply: Callable[[list[Plan]], list[ApplyResult]],
        demo: bool = True,
    ) -> None:
        if (
            isinstance(trails, str)
            or not isinstance(trails, Sequence)
            or not all(isinstance(t, Trail) for t in trails)
        ):
            raise InputError(
                f"trails must be a list of Trail records, not {type(trails).__name__}.",
                "pass inventory.trails",
            )
        for label, action in (("keys", keys), ("plan", plan), ("apply", apply)):
            if not callable(action):
                raise InputError(f"{label} must be callable, not {type(action).__name__}.", "")
        demo = parse_flag(demo, "demo")
        self._trails = list(trails)
        self._keys = keys
        self._plan = plan
        self._apply = apply
        self._demo = demo
        self._rows: list[PlanRow] = []
        self._results: list[ApplyResult] = []
        self._error: BaseException | None = None
        self._busy = False
        self._key_widgets: dict[str, Any] = {}
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
        self._w_plan_button = widgets.Button(description="Plan", icon="list", button_style="info")
        self._w_plan_button.add_class("tk-bulk-plan")
        self._w_plan_button.on_click(self._do_plan)
        self._w_table = widgets.HTML(plans_html([]))
        self._w_table.add_class("tk-bulk-plans")
        self._confirm = Confirm(
            "I have reviewed every plan and want to send the ready ones",
            typed_hint="type the number of changes to confirm",
            on_change=self._refresh,
        )
        self._confirm._w_box.add_class("tk-bulk-confirm")
        self._w_confirm = self._confirm._w_box
        self._w_typed = self._confirm._w_typed
        self._w_apply = widgets.Button(
            description="Apply the ready plans",
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
                widgets.HTML('<div class="tk-hint">Trails (Ctrl/Shift-click for several):</div>'),
                self._w_trails,
                self._w_status,
                self._w_keys,
                self._w_plan_button,
                self._w_table,
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
    def keys_by_region(self) -> dict[str, str]:
        """The chosen key (ARN or typed identifier) per bucket region."""
        return {r: w.value for r, w in self._key_widgets.items() if w.value}

    @property
    def value(self) -> list[Plan]:
        """The plans made (trails without a plan are left out)."""
        return [p for _, p in self._rows if isinstance(p, Plan)]

    @property
    def rows(self) -> list[PlanRow]:
        """Every chosen trail with its plan or the reason there is none."""
        return list(self._rows)

    @property
    def ready(self) -> list[Plan]:
        """The plans Apply would send."""
        return [p for p in self.value if not p.blocked and not p.nothing_to_do]

    @property
    def results(self) -> list[ApplyResult]:
        """One result per trail after Apply."""
        return list(self._results)

    @property
    def can_apply(self) -> bool:
        """True when Apply is enabled."""
        return (
            bool(self.ready) and not self._busy and not self._results and (self._confirm.confirmed)
        )

    # -- events ----------------------------------------------------------------------------
    def _trails_changed(self, _change: Any = None) -> None:
        regions = sorted({t.bucket_region for t in self.selected if t.bucket_region})
        keep = {r: w for r, w in self._key_widgets.items() if r in regions}
        for region in regions:
            if region in keep:
                continue
            self._w_status.value = spinner_html(f"Reading the candidate keys of {region}…")
            try:
                keys = list(self._keys(region))
            except TrailkitError as err:
                self._w_status.value = error_html(err)
                keys = []
            options: list[tuple[str, str | None]] = [("— choose a key —", None)]
            options += [(k.display_name, k.arn) for k in keys]
            w = widgets.Dropdown(
                options=options,
                value=None,
                description=region,
                style={"description_width": "120px"},
                layout=widgets.Layout(width="min(640px, 100%)"),
            )
            w.add_class("tk-bulk-key")
            w.add_class(f"tk-bulk-key-{region}")
            w.observe(self._keys_changed, names="value")
            keep[region] = w
        self._w_status.value = (
            f'<div class="tk-hint">{len(self.selected)} trail(s) selected; their buckets are in '
            f"{esc(', '.join(regions) or 'no known region')}: choose one key per region.</div>"
        )
        self._key_widgets = keep
        self._w_keys.children = [keep[r] for r in regions]
        self._clear_plans()

    def _keys_changed(self, _change: Any = None) -> None:
        self._clear_plans()

    def _clear_plans(self) -> None:
        self._rows = []
        self._results = []
        self._w_table.value = plans_html([])
        self._w_results.value = ""
        self._confirm.reset()
        self._refresh()

    def _refresh(self) -> None:
        self._w_apply.disabled = not self.can_apply
        n = len(self.ready)
        self._confirm.require_typed(None if self._demo or not n else str(n))
        self._w_apply.description = f"Apply the {n} ready plan(s)" if n else "Apply"

    def _do_plan(self, _button: Any = None) -> None:
        trails = self.selected
        if not trails:
            self._w_table.value = note_html("warn", "Choose at least one trail.")
            return
        self._w_progress.value = spinner_html(f"Checking {len(trails)} trail(s)…")
        try:
            self._rows = self._plan(trails, self.keys_by_region)
        except Exception as err:  # shown to the operator, never as a traceback
            self._rows = []
            self._w_table.value = error_html(err)
        else:
            self._w_table.value = plans_html(self._rows)
        finally:
            self._w_progress.value = ""
        self._results = []
        self._w_results.value = ""
        self._confirm.reset()
        self._refresh()

    def _do_apply(self, _button: Any = None) -> None:
        plans = self.ready
        if not plans or not self.can_apply:
            return
        self._busy = True
        self._refresh()
        self._w_progress.value = spinner_html(f"Applying {len(plans)} change(s), one by one…")
        self._error = None
        try:
            self._results = self._apply(plans)
        except Exception as err:  # shown to the operator, never as a traceback
            self._results = []
            self._error = err
            self._w_results.value = error_html(err)
        else:
            self._w_results.value = results_html(self._results)
        finally:
            self._busy = False
            self._w_progress.value = ""
        self._confirm.reset()
        self._refresh()

    # -- headless --------------------------------------------------------------------------
    def choose(
        self, trails: Sequence[str] | str | None, keys_by_region: Mapping[str, str] | None
    ) -> Step | None:
        """Select trails (names or ARNs) and a key per bucket region, then press Plan.

        One name alone is taken as a one-item list. When a named trail is not among the trails
        offered (not in the inventory: another region, a typo, an empty account), nothing is
        selected or planned: the step says which names are unknown and Apply has nothing to
        send, so a typo never turns into a partial change.

        Raises
        ------
        InputError
            ``trails`` is not a list of names, or ``keys_by_region`` not a mapping of texts.
        """
        names = parse_names(trails, "trails")
        chosen_keys = parse_mapping(keys_by_region, "keys_by_region") or {}
        if not names:
            return None
        arns = []
        unknown = []
        for name in names:
            match = [t for t in self._trails if name in (t.arn, t.name)]
            if len(match) != 1:
                unknown.append(name)
            else:
                arns.append(match[0].arn)
        if unknown:
            self._w_trails.value = ()
            self._clear_plans()
            offered = ", ".join(t.name for t in self._trails) or "none: the inventory is empty"
            err = InputError(
                f"Not among the trails offered: {', '.join(unknown)} (offered: {offered}).",
                "give trail names or ARNs from the inventory (and the regions they are in)",
            )
            self._w_table.value = error_html(err)
            nothing = note_html("warn", "Nothing was planned.")
            return Step("Plans", False, error_html(err) + nothing, [])
        self._w_trails.value = tuple(arns)
        for region, key in chosen_keys.items():
            w = self._key_widgets.get(region)
            if w is None:
                continue
            values = {v for _, v in w.options}
            chosen = next(
                (k for k in values if k and key in (k, resource_id(k))),
                None,
            )
            if chosen is None:
                chosen = next(
                    (v for label, v in w.options if v and label.split(" (")[0] == key), None
                )
            if chosen is None:  # a key of another account or region: offered as typed
                w.options = [*w.options, (key, key)]
                chosen = key
            w.value = chosen
        self._w_plan_button.click()
        ok = bool(self._rows) and all(isinstance(p, Plan) and not p.blocked for _, p in self._rows)
        return Step("Plans", ok, str(self._w_table.value), self.value)

    def apply(self, confirm: object = False) -> Step | None:
        """When ``confirm``: tick (and type), press Apply; returns the per-trail results.

        ``confirm`` is read strictly (:func:`~trailkit.rules.flags.parse_flag`).

        Raises
        ------
        InputError
            ``confirm`` is not an unambiguous yes or no (parameter ``apply``); nothing is sent.
        """
        if not parse_flag(confirm, "apply"):
            return None
        n = len(self.ready)
        if not n:
            return Step("Apply", False, note_html("warn", "No ready plan: nothing was sent."), [])
        self._confirm.confirm(str(n))
        self._error = None
        self._w_apply.click()
        if self._error is not None:  # the action itself failed: nothing is claimed as done
            raise self._error
        ok = bool(self._results) and all(r.outcome.succeeded for r in self._results)
        return Step("Apply", ok, str(self._w_results.value), self.results)

    def html(self) -> str:
        """Plans and results as HTML."""
        return f"{self._w_table.value}{self._w_results.value}"

    def _ipython_display_(self) -> None:
        show(root(self.layout), self.html(), f"<BulkUpdate: {len(self._rows)} plans>")
