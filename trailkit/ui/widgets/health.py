"""Health: is the encryption in place still working? The summary of notebook 01 and the
warning of the guided update.

Both render what :mod:`trailkit.rules.health` decided (no rule here, no AWS call): the health
of every trail (:func:`~trailkit.rules.health.inventory_health`) or of one trail as it is now
(:func:`~trailkit.rules.health.health`), each reason with what to do.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime

import ipywidgets as widgets

from trailkit.i18n import N_, _, local_time, ngettext
from trailkit.records import Inventory, KeyInfo, Trail
from trailkit.rules.health import Health, HealthKind, HealthReason, health_counts, inventory_health
from trailkit.rules.keyfacts import days_left, pending_deletion
from trailkit.rules.repair import REPAIRABLE_CODES
from trailkit.ui import tables
from trailkit.ui.widgets._common import account_words, esc, id_html, root, show, text_html

__all__ = [
    "HEALTH_PALETTE",
    "REPAIRABLE_HEALTH_CODES",
    "HealthSummary",
    "health_badge",
    "health_warning_html",
    "reasons_html",
]

#: The colours of each health: (background, text, border). Broken red, at-risk amber,
#: unverifiable blue-grey, healthy green, sse-s3 neutral grey (the same as the trails table's
#: health cells, :data:`trailkit.ui.tables.HEALTH_CELL_STYLES`).
HEALTH_PALETTE: Mapping[str, tuple[str, str, str]] = {
    "broken": ("#fdecea", "#b71c1c", "#c62828"),
    "at-risk": ("#fff8e1", "#8d6e00", "#f9a825"),
    "unverifiable": ("#eceff1", "#37474f", "#78909c"),
    "healthy": ("#e8f5e9", "#1b5e20", "#2e7d32"),
    "sse-s3": ("#f5f5f5", "#424242", "#bdbdbd"),
}
#: The order of the summary: the most urgent first.
_ORDER = tuple(str(k) for k in HealthKind)
#: Broken reasons about the key policy that the add-only repair fixes (an explicit Deny is
#: not: only its owner may narrow it).
REPAIRABLE_HEALTH_CODES = frozenset(REPAIRABLE_CODES - {"policy-deny"})
_TRAIL_ORDER = {k: i for i, k in enumerate(_ORDER)}
_WHAT_TO_DO = N_("What to do:")


def health_badge(kind: str) -> str:
    """The health as a coloured label, its word in the operator's language (``broken``,
    ``at risk``, ...)."""
    bg, fg, border = HEALTH_PALETTE.get(kind, HEALTH_PALETTE["sse-s3"])
    word = tables.health_word(kind)
    return (
        f'<span class="tk-health-badge tk-health-badge-{esc(kind)}" style="display:inline-block;'
        f"padding:1px 8px;border-radius:10px;font-size:12px;font-weight:700;white-space:nowrap;"
        f'background:{bg};color:{fg};border:1px solid {border}">{esc(word)}</span>'
    )


def reasons_html(reasons: Sequence[HealthReason]) -> str:
    """Each reason: what is wrong (its code after it), what to do, and for what could not be
    read, the permission that would let trailkit read it."""
    items = []
    for r in reasons:
        bg, fg, border = HEALTH_PALETTE.get(str(r.health), HEALTH_PALETTE["sse-s3"])
        todo = (
            f'<div class="tk-health-fix" style="color:#3e4c59;font-size:13px">'
            f"<b>{esc(_(_WHAT_TO_DO))}</b> {text_html(r.fix)}</div>"
            if r.fix
            else ""
        )
        need = (
            f'<div class="tk-health-permission" style="color:#3e4c59;font-size:13px">'
            f"<b>{esc(_('permission'))}:</b> <code>{esc(r.permission)}</code></div>"
            if r.permission
            else ""
        )
        items.append(
            f'<li class="tk-health-reason tk-health-reason-{esc(r.health)}" '
            f'style="list-style:none;margin:3px 0;padding:4px 8px;border-radius:4px;'
            f'background:{bg};border-left:4px solid {border}">'
            f'<div style="color:{fg}">{text_html(r.message)} '
            f'<code class="tk-code" style="opacity:.8">{esc(r.code)}</code></div>'
            f"{todo}{need}</li>"
        )
    return f'<ul class="tk-health-reasons" style="margin:2px 0;padding:0">{"".join(items)}</ul>'


def _deletion_html(key: KeyInfo | None, now: datetime) -> str:
    """The most urgent line about a key: its deletion date and the days left."""
    if key is None or key.error or not pending_deletion(key) or key.deletion_date is None:
        return ""
    days = days_left(key, now)
    when = local_time(key.deletion_date)
    if not days:
        text = _("Key deletion due {date}: today or overdue.").format(date=when)
    else:
        text = ngettext(
            "Key deletion on {date}: {days} day left.",
            "Key deletion on {date}: {days} days left.",
            days,
        ).format(date=when, days=days)
    return (
        f'<div class="tk-health-deletion" style="color:#b71c1c;font-weight:700">{esc(text)}</div>'
    )


def _trail_line(trail: Trail, key: KeyInfo | None, account: str | None = None) -> str:
    """``name · account · home region · encryption key`` of one trail (the account only in a
    view of several accounts: its name when known, else its id)."""
    if trail.kms_key_id:
        alias = key.alias if key is not None and key.alias else None
        what = esc(alias) if alias else id_html(trail.kms_key_id)
        encryption = f"SSE-KMS <code>{what}</code>"
    else:
        encryption = "SSE-S3"
    where = f"{esc(account)} · " if account else ""
    return f"<b>{esc(trail.name)}</b> · {where}{esc(trail.home_region)} · {encryption}"


def _card(
    trail: Trail, found: Health, key: KeyInfo | None, now: datetime, account: str | None = None
) -> str:
    border = HEALTH_PALETTE[str(found.kind)][2]
    return (
        f'<div class="tk-health-trail tk-health-{esc(found.kind)}" data-trail="{esc(trail.name)}" '
        f'data-account="{esc(trail.account)}" '
        f'style="margin:6px 0;padding:6px 10px;border-radius:4px;border:1px solid {border};'
        f'border-left:6px solid {border}">'
        f'<div class="tk-health-head">{health_badge(str(found.kind))} '
        f"{_trail_line(trail, key, account)}</div>"
        f"{_deletion_html(key, now)}{reasons_html(found.reasons)}</div>"
    )


class HealthSummary:
    """Notebook 01's opening: how many trails have each health, then the broken, at-risk and
    unverifiable trails (in that order), each with its reasons and what to do; the healthy and
    SSE-S3 trails by name.

    Parameters
    ----------
    inventory
        A scan result (:func:`trailkit.scan`).
    healths
        The health of each trail by ARN (default: :func:`~trailkit.rules.health.inventory_health`
        of ``inventory`` now).
    now
        The time key deletion days are counted from (default: now, UTC).
    """

    def __init__(
        self,
        inventory: Inventory,
        healths: Mapping[str, Health] | None = None,
        *,
        now: datetime | None = None,
    ) -> None:
        self._inventory = inventory
        self._now = now or datetime.now(UTC)
        self._healths = dict(
            healths if healths is not None else inventory_health(inventory, now=self._now)
        )
        self._w_html = widgets.HTML(self.html())
        self._w_html.add_class("tk-health-summary")
        self.layout = root(self._w_html)

    @property
    def value(self) -> dict[str, Health]:
        """The health of each trail, by trail ARN."""
        return dict(self._healths)

    @property
    def counts(self) -> dict[str, int]:
        """How many trails have each health (every kind, zero included)."""
        return health_counts(self._healths)

    def ordered(self) -> list[tuple[Trail, Health]]:
        """The trails with a health, most urgent first (by name within a health)."""
        found = [
            (t, self._healths[t.arn]) for t in self._inventory.trails if t.arn in self._healths
        ]
        return sorted(found, key=lambda th: (_TRAIL_ORDER[str(th[1].kind)], th[0].name))

    def _headline(self) -> str:
        counts = self.counts
        broken, at_risk = counts["broken"], counts["at-risk"]
        unverifiable = counts["unverifiable"]
        parts = []
        if broken:
            parts.append(
                ngettext(
                    "{n} trail is broken: CloudTrail cannot deliver its logs as it is set up now.",
                    "{n} trails are broken: CloudTrail cannot deliver their logs as they are set "
                    "up now.",
                    broken,
                ).format(n=broken)
            )
        if at_risk:
            parts.append(
                ngettext("{n} trail is at risk.", "{n} trails are at risk.", at_risk).format(
                    n=at_risk
                )
            )
        if unverifiable:
            parts.append(
                ngettext(
                    "{n} trail could not be verified.",
                    "{n} trails could not be verified.",
                    unverifiable,
                ).format(n=unverifiable)
            )
        if not self._healths:
            kind, text = "info", _("No trail to judge.")
        elif broken:
            kind, text = "blocked", " ".join(parts)
        elif parts:
            kind, text = "warn", " ".join(parts)
        else:
            kind, text = "ready", _("Every trail's encryption works as it is set up.")
        return f'<div class="tk-headline tk-{kind} tk-health-headline">{esc(text)}</div>'

    def _counts_html(self) -> str:
        chips = []
        for kind, n in self.counts.items():
            bg, fg, border = HEALTH_PALETTE[kind]
            chips.append(
                f'<span class="tk-health-count tk-health-count-{esc(kind)}" '
                f'style="display:inline-block;margin:0 6px 4px 0;padding:3px 10px;'
                f"border-radius:12px;background:{bg};color:{fg};border:1px solid {border};"
                f'opacity:{1 if n else 0.55}">'
                f"{esc(tables.health_word(kind))} <b>{n}</b></span>"
            )
        return f'<div class="tk-health-counts">{"".join(chips)}</div>'

    def html(self) -> str:
        """The summary as HTML."""
        inv = self._inventory
        parts = [self._headline(), self._counts_html()]
        if inv.partial:
            said = _(
                "The trails of regions that could not be read are not counted (see the errors "
                "table)."
            )
            parts.append(f'<div class="tk-hint">{esc(said)}</div>')
        # several accounts: each trail's account by name when known (same names in two accounts)
        accounts = account_words(inv.accounts, inv.trails)
        named: dict[str, list[str]] = {}
        for trail, found in self.ordered():
            account = accounts.get(trail.account, trail.account) if accounts else None
            if found.kind in (HealthKind.HEALTHY, HealthKind.SSE_S3) and not found.reasons:
                named.setdefault(str(found.kind), []).append(
                    f"{trail.name} ({account})" if account else trail.name
                )
            else:
                parts.append(_card(trail, found, inv.key_for(trail), self._now, account))
        for kind, names in named.items():
            parts.append(
                f'<div class="tk-health-names tk-health-names-{esc(kind)}" style="margin:4px 0">'
                f"{health_badge(kind)} {esc(', '.join(names))}</div>"
            )
        return f'<div class="tk-health">{"".join(parts)}</div>'

    def _ipython_display_(self) -> None:
        counts = ", ".join(f"{k}={n}" for k, n in self.counts.items())
        show(self.layout, self.html(), f"<HealthSummary: {counts}>")


def health_warning_html(trail: Trail, found: Health, *, repair: bool = False) -> str:
    """The guided update's warning about the trail's encryption as it is now: empty unless it
    is broken or at risk; else what is wrong and what to do, reason by reason. ``repair``: the
    add-only key policy repair is offered (say how to reach it)."""
    if found.kind is HealthKind.BROKEN:
        said = _(
            "{trail} is broken now: CloudTrail cannot deliver its logs with the encryption it "
            "has. Why, and what to do:"
        ).format(trail=trail.name)
    elif found.kind is HealthKind.AT_RISK:
        said = _("{trail} works now, with a risk. Why, and what to do:").format(trail=trail.name)
    else:
        return ""
    how = ""
    if repair:
        how = (
            '<div class="tk-health-repair-hint" style="margin-top:4px">'
            + esc(
                _(
                    "The key policy can be repaired: press the button to check the current key "
                    "below; the add-only repair is then shown in the key policy step, with its "
                    "preview, and is sent only once you confirm."
                )
            )
            + "</div>"
        )
    bg, fg, border = HEALTH_PALETTE[str(found.kind)]
    return (
        f'<div class="tk-health-warning tk-health-{esc(found.kind)}" role="alert" '
        f'style="margin:6px 0;padding:6px 10px;border-radius:4px;background:{bg};'
        f'border-left:6px solid {border}">'
        f'<div style="color:{fg};font-weight:700">{health_badge(str(found.kind))} {esc(said)}</div>'
        f"{reasons_html(found.reasons)}{how}</div>"
    )
