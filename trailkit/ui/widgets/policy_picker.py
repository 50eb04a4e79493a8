"""Notebook 03's view: pick a trail and a key, see the pre-flight and the add-only policy repair.

The trail and key pickers are notebook 02's (:class:`TrailPicker`, :class:`KeyPicker`); the
repair is the :class:`PolicyPanel`. The "after" pre-flight appears only once the key policy was
changed from here (before that it would only repeat the "before").
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import ipywidgets as widgets

from trailkit.errors import InputError, TrailkitError
from trailkit.i18n import _
from trailkit.records import PolicyResult, Trail
from trailkit.rules.checks import Report, Verdict
from trailkit.rules.flags import parse_flag, parse_names, parse_text
from trailkit.rules.repair import Repair
from trailkit.ui.widgets._common import (
    Step,
    error_html,
    esc,
    id_html,
    need_trails,
    note_html,
    root,
    section_title,
    show,
)
from trailkit.ui.widgets.checklist import checklist_html
from trailkit.ui.widgets.keys import KeyChoice, KeyPicker
from trailkit.ui.widgets.policy import PolicyPanel
from trailkit.ui.widgets.trails import TrailPicker

__all__ = ["KeyPolicyView"]


def _hint() -> str:
    return '<div class="tk-hint">' + esc(_("Choose a trail and a key above.")) + "</div>"


class KeyPolicyView:
    """Choose a trail and a key; the key's pre-flight for the trail, the add-only repair of its
    policy, and after a policy change the pre-flight again.

    Parameters
    ----------
    trails
        The trails to offer.
    rank
        ``rank(trail) -> [Verdict]``: the candidate keys of the trail's bucket region.
    check
        ``check(trail, key) -> Report``: the pre-flight (read fresh after a change: see
        ``refresh``).
    plan_repair
        ``plan_repair(trails, key) -> Repair``: the add-only repair of the key's policy.
    apply
        ``apply(repair) -> PolicyResult``: sends the repair (confirmed by the panel).
    refresh
        Forget what was read, so the "after" pre-flight reads the new policy.
    reread
        ``reread(trail) -> trail``: a picked trail read again with its bucket facts (the
        trails offered may be listed without them); None: taken as offered.
    demo
        The demo backend (False: real AWS, where the key's alias or id must be typed too).
    """

    def __init__(
        self,
        trails: Sequence[Trail],
        *,
        rank: Callable[[Trail], Sequence[Verdict]],
        check: Callable[[Trail, str], Report],
        plan_repair: Callable[[list[Trail], str], Repair],
        apply: Callable[[Repair], PolicyResult],
        refresh: Callable[[], None] | None = None,
        reread: Callable[[Trail], Trail] | None = None,
        demo: bool = True,
    ) -> None:
        need_trails(trails, "")
        for label, action in (
            ("rank", rank),
            ("check", check),
            ("plan_repair", plan_repair),
            ("apply", apply),
        ):
            if not callable(action):
                raise InputError(
                    _("{name} must be callable, not {kind}.").format(
                        name=label, kind=type(action).__name__
                    ),
                    "",
                )
        self._rank = rank
        self._check = check
        self._plan_repair = plan_repair
        self._refresh = refresh
        self._reread = reread
        self._trail: Trail | None = None
        self._trail_error = ""
        self._also: list[Trail] = []  # more trails named by the parameters, until a new pick
        self._before: list[Report] = []
        self._after: list[Report] = []
        self._quiet = False
        self.trails = TrailPicker(trails, on_change=self._trail_chosen)
        # one voice: the pre-flight's checklist below says why a key is not ready
        self.keys = KeyPicker(
            lambda t: list(rank(t)), self._key_chosen, allow_disable=False, explain=False
        )
        # one voice: the pre-flight's checklist above lists the findings the repair fixes
        self.policy = PolicyPanel(
            apply, demo=parse_flag(demo, "demo"), on_done=self._done, explain=False
        )
        self._w_also = widgets.HTML()
        self._w_also.add_class("tk-policy-also")
        self._w_before = widgets.HTML(_hint())
        self._w_before.add_class("tk-policy-before")
        self._w_after = widgets.HTML()
        self._w_after.add_class("tk-policy-after")
        self._w_after_box = widgets.VBox(
            [widgets.HTML(section_title(5, _("After: the pre-flight again"))), self._w_after]
        )
        self._w_after_box.layout.display = "none"
        self.layout = widgets.VBox(
            [
                widgets.HTML(section_title(1, _("Choose the trail"))),
                self.trails.layout,
                self._w_also,
                widgets.HTML(section_title(2, _("Choose the key"))),
                self.keys.layout,
                widgets.HTML(section_title(3, _("Before: the pre-flight of the key"))),
                self._w_before,
                widgets.HTML(section_title(4, _("The add-only repair"))),
                self.policy.layout,
                self._w_after_box,
            ]
        )
        self.layout.add_class("tk-key-policy-view")
        self._update()

    # -- values ----------------------------------------------------------------------------
    @property
    def chosen_trails(self) -> list[Trail]:
        """The trail picked, and any more the parameters named (until another pick)."""
        first = self._trail
        return [first, *self._also] if first is not None else []

    @property
    def trail_names(self) -> list[str]:
        """The names of :attr:`chosen_trails` (what ``notebook.check_trails`` takes)."""
        return [t.name for t in self.chosen_trails]

    @property
    def key(self) -> str | None:
        """The chosen key's ARN, or the identifier typed (None: no key chosen)."""
        return self.keys.key_text or None

    @property
    def value(self) -> Repair | None:
        """The repair shown (None: nothing chosen, or no repair could be planned)."""
        return self.policy.value

    @property
    def result(self) -> PolicyResult | None:
        """The result of the policy change made here (None until one was made)."""
        return self.policy.result

    @property
    def before(self) -> list[Report]:
        """The pre-flight of the key for each chosen trail."""
        return list(self._before)

    # -- events ----------------------------------------------------------------------------
    def _read(self, trail: Trail) -> Trail:
        return self._reread(trail) if self._reread is not None else trail

    def _trail_chosen(self, trail: Trail | None) -> None:
        if not self._quiet:
            self._also = []
        self._trail = None
        self._trail_error = ""
        if trail is not None:
            try:
                trail = self._read(trail)
            except TrailkitError as err:
                self._trail_error = error_html(err)
                trail = None
            else:
                self.trails.replace(trail)
        self._trail = trail
        self.keys.set_trail(trail)  # notifies _key_chosen

    def _key_chosen(self, _choice: KeyChoice) -> None:
        if not self._quiet:
            self._update()

    def _update(self) -> None:
        trails, key = self.chosen_trails, self.key
        self._after = []
        self._w_after.value = ""
        self._w_after_box.layout.display = "none"
        self._w_also.value = (
            '<div class="tk-hint">'
            + esc(
                _("Also for: {trails} (from the parameters; a new pick drops them).").format(
                    trails=", ".join(t.name for t in self._also)
                )
            )
            + "</div>"
            if self._also
            else ""
        )
        if not trails or not key:
            self._before = []
            self._w_before.value = self._trail_error or _hint()
            self.policy.show(None, _hint())
            return
        try:
            self._before = [self._check(t, key) for t in trails]
        except TrailkitError as err:
            self._before = []
            self._w_before.value = error_html(err)
        else:
            self._w_before.value = "".join(checklist_html(r) for r in self._before)
        try:
            repair = self._plan_repair(trails, key)
        except TrailkitError as err:
            self.policy.show_error(err)
        else:
            self.policy.show(repair)

    def _done(self, result: PolicyResult) -> None:
        if not result.outcome.succeeded:
            return
        trails, key = self.chosen_trails, self.key
        if not trails or not key:
            return
        if self._refresh is not None:
            self._refresh()
        try:
            self._after = [self._check(t, key) for t in trails]
        except TrailkitError as err:
            self._after = []
            self._w_after.value = error_html(err)
        else:
            self._w_after.value = "".join(checklist_html(r) for r in self._after)
        self._w_after_box.layout.display = "flex"

    # -- headless --------------------------------------------------------------------------
    def choose(self, trails: Sequence[str] | str | None, key: str | None) -> None:
        """Pick trails (names or ARNs; the first in the trail picker) and a key, like the
        operator. A name not offered leaves the trail unpicked and says so.

        Raises
        ------
        InputError
            ``trails`` is not a list of names, or ``key`` not a text.
        """
        names = parse_names(trails, "trails") or []
        key = parse_text(key, "key")
        found = [self.trails.find(n) for n in names]
        unknown = [n for n, t in zip(names, found, strict=True) if t is None]
        picked = [t for t in found if t is not None]
        self._quiet = True
        try:
            before = self.trails.value
            self.trails.select(picked[0].arn if picked and not unknown else None)
            if self.trails.value is before:  # no change event: read and rank all the same
                self._trail_chosen(before)
            self._also = []
            for t in picked[1:] if not unknown and self._trail is not None else []:
                try:
                    self._also.append(self._read(t))
                except TrailkitError as err:
                    self._trail_error = error_html(err)
                    self._trail = None
            if self._trail is not None and key:
                self.keys.select(key)
        finally:
            self._quiet = False
        self._update()
        if unknown:
            offered = ", ".join(t.name for t in self.trails.trails) or _("none")
            self._w_before.value = error_html(
                InputError(
                    _("Not among the trails offered: {unknown} (offered: {offered}).").format(
                        unknown=", ".join(unknown), offered=offered
                    ),
                    _("give trail names or ARNs of the regions listed"),
                )
            )

    def apply(self, confirm: object = False) -> Step | None:
        """Headless: when ``confirm`` and a repair is needed, confirm and send it (see
        :meth:`PolicyPanel.apply`); the "after" pre-flight then appears."""
        return self.policy.apply(confirm)

    def after(self) -> Step | None:
        """The pre-flight again after a policy change made here; None before any change."""
        if self.result is None or not self._after:
            return None
        ok = all(r.ready for r in self._after)
        return Step(
            _("Pre-flight of {key} after the change").format(key=self.key),
            ok,
            "".join(checklist_html(r) for r in self._after),
            list(self._after),
        )

    def html(self) -> str:
        """Choice, pre-flight, repair (and the pre-flight after a change) as HTML."""
        chosen = ", ".join(self.trail_names) or _("none")
        head = note_html(
            "info",
            esc(_("Trails: {trails} · key: {key}")).format(
                trails=f"<b>{esc(chosen)}</b>",
                key="<code>" + id_html(self.key or _("none")) + "</code>",
            ),
        )
        after = self._w_after.value if self._after else ""
        return f"{head}{self._w_before.value}{self.policy.html()}{after}"

    def _ipython_display_(self) -> None:
        show(root(self.layout), self.html(), f"<KeyPolicyView: {', '.join(self.trail_names)}>")
