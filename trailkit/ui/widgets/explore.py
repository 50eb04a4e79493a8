"""The trail explorer: pick a trail (broken and at-risk ones first), see its drill-down.

The same drill-down as ``trailkit explain`` (:class:`trailkit.rules.explain.Explanation`),
rendered as HTML: the trail and its bucket, the key card (a pending deletion first, in red), the
health with each reason and fix, the key policy's answer to each request CloudTrail makes of
KMS with the deciding statements highlighted, who may decrypt the logs, the delivery status, the
change history and what could not be read. The widget reads nothing itself: it is given the
trails and an ``explain(trail_arn)`` callable (the glue passes ``Runbook.explain``).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import ipywidgets as widgets

from trailkit.errors import InputError, TrailkitError
from trailkit.i18n import N_, _, local_time, ngettext
from trailkit.records import Account, ScanError, Trail
from trailkit.rules.checks import Finding, Severity
from trailkit.rules.explain import REQUIRED_WORDS, Explanation
from trailkit.rules.health import HEALTH_WORDS, Health, HealthKind
from trailkit.rules.history import change_detail
from trailkit.rules.keyfacts import rotation_text
from trailkit.ui.widgets._common import (
    account_words,
    badge,
    error_html,
    esc,
    id_html,
    note_html,
    root,
    rows_html,
    section_title,
    select_value,
    show,
    spinner_html,
    text_html,
    wide_table_html,
)
from trailkit.ui.widgets.checklist import finding_row

__all__ = ["TrailExplorer", "explanation_html", "trail_order"]

#: Most urgent first: the order of the picker.
_RANK = {
    HealthKind.BROKEN: 0,
    HealthKind.AT_RISK: 1,
    HealthKind.UNVERIFIABLE: 2,
    HealthKind.HEALTHY: 3,
    HealthKind.SSE_S3: 4,
}
#: The headline's colour for a health (the classes of ``tk-headline``).
_HEADLINE = {
    HealthKind.BROKEN: "blocked",
    HealthKind.AT_RISK: "warn",
    HealthKind.UNVERIFIABLE: "unverifiable",
    HealthKind.HEALTHY: "ready",
    HealthKind.SSE_S3: "info",
}
_SEVERITY = {
    HealthKind.BROKEN: Severity.ERROR,
    HealthKind.AT_RISK: Severity.WARNING,
    HealthKind.UNVERIFIABLE: Severity.WARNING,
}
#: A key policy decision: badge kind and word.
_DECISION = {
    "allowed": ("ready", N_("allowed")),
    "denied": ("blocked", N_("denied")),
    "cannot-verify": ("unverifiable", N_("cannot verify")),
}
_GREEN, _RED, _AMBER = "#1b5e20", "#b71c1c", "#7a5d00"
#: How a yes/no fact is said (the terminal view's words, the same messages).
_FLAG_WORDS = {
    "multi_region": (N_("all regions"), N_("home region only")),
    "organization": (N_("organization trail"), N_("this account only")),
    "on_off": (N_("on"), N_("off")),
}


def trail_order(
    trails: Sequence[Trail], healths: Mapping[str, Health] | None = None
) -> list[Trail]:
    """``trails`` with the broken first, then at-risk, unverifiable, healthy, SSE-S3 (a trail
    without a known health last), each group by name."""
    known = healths or {}

    def rank(trail: Trail) -> tuple[int, str, str]:
        found = known.get(trail.arn)
        return (_RANK[found.kind] if found is not None else len(_RANK), trail.name, trail.arn)

    return sorted(trails, key=rank)


def _label(trail: Trail, found: Health | None, accounts: Mapping[str, str] | None = None) -> str:
    parts = [trail.name, trail.home_region]
    if accounts is not None:  # several accounts: same-named trails differ by their account
        parts.insert(1, accounts.get(trail.account, trail.account))
    if found is not None:
        parts.insert(1, _(HEALTH_WORDS[found.kind]))
    return " · ".join(parts)


def _flag(value: bool | None, words: str) -> str:
    """A yes/no fact in the drill-down's words for it (``FLAG_WORDS`` of the terminal view:
    the same messages), ``unknown`` for None."""
    if value is None:
        return esc(_("unknown"))
    yes, no = _FLAG_WORDS[words]
    return esc(_(yes) if value else _(no))


def _time(value: Any) -> str:
    return esc(local_time(value, none=_("(none recorded)")))


def _trail_html(ex: Explanation) -> str:
    trail, bucket = ex.trail, ex.trail.bucket
    logging = trail.status.is_logging if trail.status is not None else None
    if bucket is not None and bucket.missing:
        where = esc(_("{bucket} (does not exist)").format(bucket=trail.bucket_name))
    elif trail.bucket_region:
        where = esc(
            _("{bucket} in {region}").format(bucket=trail.bucket_name, region=trail.bucket_region)
        )
    else:
        where = esc(_("{bucket} (region unknown)").format(bucket=trail.bucket_name))
    rows = [
        (_("trail"), f"<b>{esc(trail.name)}</b> · {esc(trail.home_region)}"),
        (_("ARN"), f"<code>{esc(trail.arn)}</code>"),
        (_("account"), esc(trail.account)),
        (_("multi-Region"), _flag(trail.multi_region, "multi_region")),
        (_("organization"), _flag(trail.organization, "organization")),
        (_("logging"), _flag(logging, "on_off")),
        (_("bucket"), where),
        (_("S3 Bucket Key"), _flag(bucket.bucket_key if bucket is not None else None, "on_off")),
        (_("prefix"), esc(trail.s3_prefix or _("(none)"))),
    ]
    return section_title(None, _("Trail and bucket")) + rows_html(rows)


def _key_html(ex: Explanation) -> str:
    title = section_title(None, _("Key"))
    if ex.trail.kms_key_id is None:
        return title + note_html("info", esc(_("none: the trail uses SSE-S3")))
    key, facts = ex.key, ex.facts
    arn = key.arn if key is not None else ex.trail.kms_key_id
    out = title
    if facts is not None and facts.days_left is not None:
        if facts.days_left == 0:
            said = _("Key deletion due {date}: today or overdue.").format(
                date=local_time(facts.deletion_date)
            )
        else:
            said = ngettext(
                "Key deletion on {date}: {days} day left.",
                "Key deletion on {date}: {days} days left.",
                facts.days_left,
            ).format(date=local_time(facts.deletion_date), days=facts.days_left)
        out += note_html("bad", f"<b>{esc(said)}</b>", "tk-deletion")
    state = key.state if key is not None and key.state else "-"
    state_kind = "ready" if state == "Enabled" else "blocked"
    rows = [
        (_("key"), esc(key.alias if key is not None and key.alias else _("(no alias)"))),
        (_("ARN"), f"<code>{esc(arn)}</code>"),
        (_("state"), badge(state_kind, state)),
    ]
    if key is not None and key.error:
        rows.append((_("error"), text_html(key.error)))
    if facts is not None and key is not None:
        manager = " · ".join(v for v in (facts.manager, facts.origin) if v) or "-"
        if facts.multi_region == "PRIMARY":
            multi = _("primary key; replicas: {replicas}").format(
                replicas=", ".join(facts.replica_arns) or _("(none)")
            )
        elif facts.multi_region == "REPLICA":
            multi = _("replica of {primary}").format(primary=facts.primary_arn or "-")
        else:
            multi = _("single-Region key")
        rows += [
            (_("rotation"), esc(rotation_text(key))),
            (_("manager / origin"), esc(manager)),
            (_("multi-Region"), esc(multi)),
            (_("created"), _time(facts.created)),
        ]
    return out + rows_html(rows)


def _health_html(ex: Explanation) -> str:
    kind = ex.health.kind
    said = esc(_("Health:")) + " " + esc(_(HEALTH_WORDS[kind]))
    head = (
        f'<div class="tk-headline tk-{_HEADLINE[kind]} tk-health" data-health="{esc(str(kind))}">'
        f"{said}</div>"
    )
    if not ex.health.reasons:
        if ex.delivery.members_unread is not None:  # an organization trail: members not read
            said = _("No problem found in this account; its member accounts were not read.")
            return head + f'<div class="tk-hint">{esc(said)}</div>'
        return head + f'<div class="tk-hint">{esc(_("No problem found."))}</div>'
    rows = []
    for r in ex.health.reasons:
        row = finding_row(Finding(r.code, _SEVERITY[r.health], r.message, r.fix))
        if r.permission:
            said = _("permission that would let trailkit read it: {permission}").format(
                permission=r.permission
            )
            row = row.replace("</div>", f'<span class="tk-remedy">{esc(said)}</span></div>', 1)
        rows.append(row)
    return head + f'<div class="tk-findings">{"".join(rows)}</div>'


def _statement_html(note: Any) -> str:
    colour = _AMBER if note.role == "near-miss" else (_RED if note.effect == "Deny" else _GREEN)
    said = _("{statement} · {effect}: {why}").format(
        statement=note.label, effect=note.effect, why=note.why
    )
    doc = ""
    if note.statement is not None:
        text = json.dumps(note.statement, indent=2, ensure_ascii=False)
        summary = esc(_("the statement as written"))
        doc = f"<details><summary>{summary}</summary><pre>{esc(text)}</pre></details>"
    return (
        f'<div class="tk-statement tk-statement-{esc(note.role)}" style="color:{colour};'
        f'border-left:4px solid {colour};padding-left:6px;margin:2px 0">'
        f"<b>{esc(said)}</b>{doc}</div>"
    )


def _policy_html(ex: Explanation) -> str:
    out = section_title(None, _("Key policy: what CloudTrail asks of KMS"))
    policy = ex.policy
    if policy.unread is not None:
        said = esc(policy.unread)
        if policy.permission:
            said += "<br>" + esc(
                _("permission that would let trailkit read it: {permission}").format(
                    permission=policy.permission
                )
            )
        return out + note_html("warn", said)
    rows = []
    for d in policy.decisions:
        kind, word = _DECISION.get(d.decision, ("unknown", d.decision))
        notes = "".join(_statement_html(n) for n in d.statements)
        why = notes or text_html(d.reason)
        for reason in d.unverifiable:
            why += f'<div class="tk-hint">{text_html(reason)}</div>'
        rows.append(
            [
                f"<code>{esc(d.action)}</code><br><small>{esc(_(REQUIRED_WORDS[d.required]))}"
                "</small>",
                badge(kind, _(word)),
                why,
            ]
        )
    head = [_("request"), _("decision"), _("deciding statements")]
    return out + wide_table_html(head, rows, "tk-policy-requests", text=[head[2]])


def _readers_html(ex: Explanation) -> str:
    out = section_title(None, _("Who may decrypt the logs"))
    if not ex.readers:
        return out + note_html("warn", esc(_("cannot be told: the key policy was not read")))
    items = "".join(
        f'<li class="tk-reader" data-access="{esc(str(r.access))}">{esc(r.describe())}</li>'
        for r in ex.readers
    )
    return out + f"<ul>{items}</ul>"


def _delivery_html(ex: Explanation) -> str:
    out = section_title(None, _("Delivery"))
    d = ex.delivery
    if d.unread is not None:
        said = _(
            "could not be read ({why}); permission that would let trailkit read it: {permission}"
        ).format(why=d.unread, permission=d.permission)
        return out + note_html("warn", esc(said))
    rows = [
        (_("logging"), _flag(d.logging, "on_off")),
        (_("last delivery"), _time(d.latest_delivery)),
        (_("last digest delivery"), _time(d.latest_digest_delivery)),
    ]
    if d.members_unread is not None:
        rows.append((_("member accounts:"), esc(d.members_unread)))
    out += rows_html(rows)
    for p in d.problems:
        label = _("digest delivery error:") if p.digest else _("delivery error:")
        fix = esc(_("What to do:"))
        out += note_html(
            "bad",
            f"<b>{esc(label)}</b> <code>{esc(p.cause.error)}</code><div>{text_html(p.cause.cause)}"
            f"</div><div><b>{fix}</b> {text_html(p.cause.fix)}</div>",
            "tk-delivery-error",
        )
    return out


def _unread_html(errors: Sequence[ScanError]) -> str:
    out = []
    for e in errors:
        said = esc(e.message)
        if e.permission:
            said += "<br>" + esc(
                _("permission that would let trailkit read it: {permission}").format(
                    permission=e.permission
                )
            )
        out.append(note_html("warn", said, "tk-unread"))
    return "".join(out)


def _history_html(ex: Explanation) -> str:
    out = section_title(None, _("Change history"))
    history = ex.history
    if history is None:
        return out + f'<div class="tk-hint">{esc(_("not looked up (--no-history)"))}</div>'
    out += '<div class="tk-hint">' + esc(
        _("since {since} · regions: {regions}").format(
            since=local_time(history.since), regions=", ".join(history.regions) or "-"
        )
    )
    out += "</div>"
    events = ex.events
    if events:
        rows = []
        for e in events:
            what = change_detail(e)
            failed = (
                " " + badge("failed", _("FAILED: {code}").format(code=e.error_code))
                if e.error_code
                else (f'<div class="tk-hint">{esc(what)}</div>' if what else "")
            )
            rows.append(
                [
                    esc(local_time(e.time)),
                    f"<code>{esc(e.name)}</code>{failed}",
                    id_html(e.actor) if e.actor else "-",
                    esc(e.source_ip or "-"),
                    esc(e.region),
                ]
            )
        head = [_("time"), _("event"), _("who"), _("from where"), _("region")]
        out += wide_table_html(head, rows, "tk-history")
    elif history.complete:
        said = _("No change to the trail or its key in this window.")
        out += f'<div class="tk-hint">{esc(said)}</div>'
    return out + _unread_html(history.errors)


def _ownership_html(ex: Explanation) -> str:
    """Who manages the trail and its key (issue 17), and the ownership findings."""
    own = ex.ownership
    if own is None:
        return ""
    out = section_title(None, _("Managed by"))
    rows = [(_("trail:") if o.resource == "trail" else _("key:"), esc(o.label)) for o in own.owners]
    if not own.owners:
        said = _("no owner told by the tags") if own.read else _("tags not read")
        rows.append((_("owner:"), esc(said)))
    out += rows_html(rows)
    for error in (own.trail_tags_error, own.key_tags_error):
        if error:
            out += note_html("warn", esc(_("tags could not be read:")) + " " + esc(error))
    for finding in own.findings:
        fix = esc(_("What to do:"))
        out += note_html(
            "bad" if finding.blocking else "warn",
            f"<b>{esc(finding.code)}</b> {text_html(finding.message)}"
            f"<div><b>{fix}</b> {text_html(finding.remedy)}</div>",
            "tk-ownership",
        )
    return out


def explanation_html(ex: Explanation) -> str:
    """The drill-down of one trail as HTML (the sections of ``trailkit explain``)."""
    parts = [_health_html(ex), _trail_html(ex), _key_html(ex)]
    if ex.trail.kms_key_id is not None:
        parts += [_policy_html(ex), _readers_html(ex)]
    parts += [_delivery_html(ex), _ownership_html(ex), _history_html(ex)]
    if ex.errors:
        parts += [section_title(None, _("What could not be read")), _unread_html(ex.errors)]
    return f'<div class="tk-explain" data-trail="{esc(ex.trail.arn)}">{"".join(parts)}</div>'


class TrailExplorer:
    """A trail picker (broken and at-risk trails first) and the chosen trail's drill-down.

    Parameters
    ----------
    trails
        The trails to offer (the inventory's).
    explain
        ``explain(trail_arn) -> Explanation``: reads the trail's drill-down (the glue passes
        ``Runbook.explain``); a :class:`TrailkitError` it raises is shown, not raised.
    healths
        Each trail's health by ARN (:func:`trailkit.rules.health.inventory_health`): the order
        and the labels of the picker. None: by name.
    accounts
        The scan's accounts (``Inventory.accounts``): with several accounts each label names the
        trail's account (its name when known, else its id). Empty: the trails' own accounts.
    """

    def __init__(
        self,
        trails: Sequence[Trail],
        explain: Callable[[str], Explanation],
        *,
        healths: Mapping[str, Health] | None = None,
        accounts: Sequence[Account] = (),
    ) -> None:
        self._explain = explain
        self._accounts = account_words(accounts, trails)
        self._healths = dict(healths or {})
        self._trails = trail_order(trails, self._healths)
        self._value: Explanation | None = None
        self._error: TrailkitError | None = None
        first = _("— choose a trail —") if self._trails else _("(no trails found)")
        options: list[tuple[str, str | None]] = [(first, None)]
        options += [
            (_label(t, self._healths.get(t.arn), self._accounts), t.arn) for t in self._trails
        ]
        self._w_select = widgets.Dropdown(
            options=options, index=0, layout=widgets.Layout(width="min(640px, 100%)")
        )
        self._w_select.add_class("tk-explore-select")
        self._w_view = widgets.HTML()
        self._w_view.add_class("tk-explore-view")
        self._w_select.observe(self._changed, names="value")
        self.layout = root(self._w_select, self._w_view)
        self.layout.add_class("tk-trail-explorer")

    @property
    def trails(self) -> list[Trail]:
        """The trails offered, in the picker's order."""
        return list(self._trails)

    @property
    def value(self) -> Explanation | None:
        """The chosen trail's drill-down (None: none chosen, or it could not be read)."""
        return self._value

    @property
    def error(self) -> TrailkitError | None:
        """Why the chosen trail's drill-down could not be read, if it could not."""
        return self._error

    def select(self, name_or_arn: str | None) -> Explanation | None:
        """Choose a trail by name or ARN (None clears) and read its drill-down.

        Returns
        -------
        Explanation or None
            None when the trail is not offered or its drill-down could not be read
            (:attr:`error` says why).
        """
        arn = None
        if name_or_arn:
            named = [t for t in self._trails if name_or_arn in (t.arn, t.name)]
            if len(named) != 1:
                select_value(self._w_select, None)
                if not named:
                    said = _("No trail {trail} is offered here.").format(trail=name_or_arn)
                elif len({t.account for t in named}) > 1:
                    said = _("{trail} names trails in several accounts.").format(trail=name_or_arn)
                else:
                    said = _("{trail} names trails in several regions.").format(trail=name_or_arn)
                self._error = InputError(said, _("give one of the trails listed, by name or ARN"))
                self._w_view.value = error_html(self._error)
                return None
            arn = named[0].arn
        select_value(self._w_select, arn)
        return self._value

    def html(self) -> str:
        """What the view shows now."""
        return str(self._w_view.value)

    def _changed(self, _change: Any = None) -> None:
        arn = self._w_select.value
        self._value, self._error = None, None
        if arn is None:
            self._w_view.value = ""
            return
        self._w_view.value = spinner_html(_("Reading the trail, its key and its history…"))
        try:
            self._value = self._explain(arn)
        except TrailkitError as err:
            self._error = err
            self._w_view.value = error_html(err)
            return
        self._w_view.value = explanation_html(self._value)

    def _ipython_display_(self) -> None:
        chosen = self._value.trail.name if self._value is not None else None
        show(self.layout, self.html(), f"<TrailExplorer: {chosen}>")
