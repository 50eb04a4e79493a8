"""The pre-flight checklist: one clear verdict, then every finding with its remedy."""

from __future__ import annotations

import ipywidgets as widgets

from trailkit.i18n import N_, _, ngettext
from trailkit.rules.checks import Finding, Report, Severity, VerdictKind
from trailkit.ui.widgets._common import esc, id_html, root, show, text_html

__all__ = ["Checklist", "checklist_html", "passed_checks"]

_ICON = {Severity.ERROR: "✖", Severity.WARNING: "!", Severity.INFO: "i"}
_HEADLINE = {
    VerdictKind.READY: (N_("READY"), N_("AWS will accept this change.")),
    VerdictKind.BLOCKED: (
        N_("BLOCKED"),
        N_("AWS would refuse this change: fix the red items first."),
    ),
    VerdictKind.UNVERIFIABLE: (
        N_("UNVERIFIABLE"),
        N_("Nothing is known to be wrong, but part of it could not be checked from here."),
    ),
}

# What a rule looks like when it passes; shown only when the rule really ran (see below).
_PASS_TEXT = {
    "trail-not-owned": N_("The trail belongs to the connected account."),
    "key-aws-managed": N_("The key is customer managed (its policy can admit CloudTrail)."),
    "key-state": N_("The key is Enabled."),
    "key-not-symmetric": N_("The key is a symmetric encryption key."),
    "key-region-mismatch": N_("The key is in the region of the trail's S3 bucket."),
    "policy-encrypt": N_("The key policy lets CloudTrail call kms:GenerateDataKey for this trail."),
    "policy-describe": N_("The key policy lets CloudTrail call kms:DescribeKey."),
    "policy-deny": N_("No Deny statement of the key policy matches CloudTrail."),
    "policy-bucket-key-decrypt": N_(
        "S3 Bucket Key: the key policy lets CloudTrail call kms:Decrypt."
    ),
}


def passed_checks(report: Report) -> list[str]:
    """The rules that ran and found nothing wrong, as sentences in the operator's language
    (never a guess).

    Key rules count only when the key was described; policy rules only when the policy was
    read and evaluated (no ``policy-unverifiable``, not an AWS managed key), and the Allow rules
    not at all when an explicit Deny was found.
    """
    if report.disable or report.trail is None:
        return []
    codes = {f.code for f in report.findings}
    out: list[str] = []
    if "trail-not-owned" not in codes:
        out.append("trail-not-owned")
    key = report.key
    if key is None:
        return [_(_PASS_TEXT[c]) for c in out]
    out += [c for c in ("key-aws-managed", "key-state", "key-not-symmetric") if c not in codes]
    if report.trail.bucket_region and "key-region-mismatch" not in codes:
        out.append("key-region-mismatch")
    policy_ran = (
        key.policy is not None
        and "policy-unverifiable" not in codes
        and "key-aws-managed" not in codes
    )
    if policy_ran:
        rules = ["policy-deny"]
        if "policy-deny" not in codes:  # a Deny can hit any of the CloudTrail requests
            rules += ["policy-encrypt", "policy-describe"]
            if report.trail.bucket and report.trail.bucket.bucket_key:
                rules.append("policy-bucket-key-decrypt")
        out += [c for c in rules if c not in codes]
    return [_(_PASS_TEXT[c]) for c in out]


def finding_row(f: Finding) -> str:
    """One finding as the checklist shows it (message, code, what to do), as HTML."""
    what = esc(_("What to do:"))
    aws = (
        ' <span class="tk-hint">'
        + esc(_("(prevents AWS error {error})").format(error=f.aws_error))
        + "</span>"
        if f.aws_error and f.blocking
        else ""
    )
    return (
        f'<div class="tk-finding tk-finding-{esc(str(f.severity))}" data-code="{esc(f.code)}">'
        f'<span class="tk-icon">{_ICON[f.severity]}</span>'
        f'<span class="tk-message">{text_html(f.message)}<span class="tk-code">{esc(f.code)}'
        f"</span></span>"
        f'<span class="tk-remedy">{what} {text_html(f.remedy)}{aws}</span></div>'
    )


def checklist_html(report: Report) -> str:
    """The checklist of one report as HTML (headline, failures, warnings, info, passes)."""
    kind = report.verdict
    word, meaning = (_(text) for text in _HEADLINE[kind])
    style = kind.value
    if report.nothing_to_do:
        meaning = _("The trail already is in this state: nothing to change.")
        if kind is VerdictKind.READY:  # the plan says NOTHING TO DO: so does the checklist
            word, style = _("NOTHING TO DO"), "info"
    elif report.disable and kind is VerdictKind.READY:
        # AWS accepts it, but it lowers the protection of the logs: amber, never a green READY
        word, style = _("ENCRYPTION OFF"), "warn"
        meaning = _(
            "AWS will accept this change: new log files will be encrypted with SSE-S3 only."
        )
    target = _("turn SSE-KMS off") if report.disable else (report.key_arn or report.key_input)
    trail = report.trail.name if report.trail else report.trail_input
    head = (
        f'<div class="tk-headline tk-{style}">{esc(word)}'
        f"<small>{esc(meaning)}</small></div>"
        '<div class="tk-hint">'
        + _("Trail {trail} → {target}").format(
            trail=f"<b>{esc(trail)}</b>", target=f"<code>{id_html(target)}</code>"
        )
        + "</div>"
    )
    order = {Severity.ERROR: 0, Severity.WARNING: 1, Severity.INFO: 2}
    rows = [finding_row(f) for f in sorted(report.findings, key=lambda f: order[f.severity])]
    passes = passed_checks(report)
    if passes:
        items = "".join(
            f'<li class="tk-finding-pass"><span class="tk-icon">✔</span>{esc(text)}</li>'
            for text in passes
        )
        rows.append(
            '<div class="tk-passes"><div class="tk-passes-title">✔ '
            + esc(
                ngettext("{n} check passed", "{n} checks passed", len(passes)).format(n=len(passes))
            )
            + "</div>"
            f'<ul class="tk-pass-list">{items}</ul></div>'
        )
    return f'{head}<div class="tk-findings">{"".join(rows)}</div>'


class Checklist:
    """The pre-flight findings of one trail and key as pass/fail rows under a clear headline.

    Parameters
    ----------
    report
        The report to show first (``trailkit.check``'s answer), if any.
    """

    def __init__(self, report: Report | None = None) -> None:
        self._report: Report | None = None
        self._w_html = widgets.HTML()
        self._w_html.add_class("tk-checklist")
        self.layout = widgets.VBox([self._w_html])
        self.show(report)

    @property
    def value(self) -> Report | None:
        """The report shown."""
        return self._report

    def show(self, report: Report | None) -> None:
        """Show ``report`` (None: an empty checklist waiting for a choice)."""
        self._report = report
        self._w_html.value = (
            checklist_html(report)
            if report is not None
            else '<div class="tk-hint">'
            + esc(_("Choose a trail and a key: the pre-flight checks appear here."))
            + "</div>"
        )

    def html(self) -> str:
        """The rendered checklist."""
        return str(self._w_html.value)

    def _ipython_display_(self) -> None:
        verdict = self._report.verdict.value if self._report else "empty"
        show(root(self.layout), self.html(), f"<Checklist: {verdict}>")
