"""Health of a trail's current encryption: is what is in place still working? (pure)

:func:`health` evaluates a trail *as it is now* with the rules of a change: the trail with its own
key, as if it were applied again (:func:`trailkit.rules.checks.preflight`), plus what
``GetTrailStatus`` says about the deliveries. No AWS call: it works on what the inventory read
(the trail with its status and bucket facts, and its key with its policy).
"""

from __future__ import annotations

import enum
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Any

from trailkit.arn import arn_account, arn_region
from trailkit.errors import InputError, KeyIdError, sentence
from trailkit.i18n import N_, _, local_time, ngettext
from trailkit.records import Inventory, KeyInfo, Trail, TrailStatus, utc_iso
from trailkit.rules.checks import CATALOGUE, Finding, KeyLookup, Severity, preflight
from trailkit.rules.delivery import delivery_cause
from trailkit.rules.keyids import KeyIdKind, parse_key_id

__all__ = [
    "HEALTH_WORDS",
    "STALE_AFTER",
    "Health",
    "HealthKind",
    "HealthReason",
    "health",
    "health_counts",
    "inventory_health",
    "parse_health_filter",
]

#: A logging trail whose last delivery is older than this is ``at-risk`` (``delivery-stale``).
STALE_AFTER = timedelta(hours=2)


class HealthKind(enum.StrEnum):
    """The one-word health of a trail's encryption, most urgent first."""

    BROKEN = "broken"
    AT_RISK = "at-risk"
    UNVERIFIABLE = "unverifiable"
    HEALTHY = "healthy"
    SSE_S3 = "sse-s3"


#: A health as a person reads it (the code stays in JSON and CSV), translated where shown: the
#: one map every view uses (terminal, notebook tables, widgets).
HEALTH_WORDS: Mapping[str, str] = {
    HealthKind.BROKEN: N_("broken"),
    HealthKind.AT_RISK: N_("at risk"),
    HealthKind.UNVERIFIABLE: N_("unverifiable"),
    HealthKind.HEALTHY: N_("healthy"),
    HealthKind.SSE_S3: N_("SSE-S3"),
}

#: Most urgent first: the health of a trail is the first of these that one of its reasons has.
_ORDER = (HealthKind.BROKEN, HealthKind.AT_RISK, HealthKind.UNVERIFIABLE)


def _codes(health: str) -> frozenset[str]:
    return frozenset(code for code, check in CATALOGUE.items() if check.health == health)


#: What each pre-flight finding means for a trail's current encryption is data: the ``health``
#: of its entry in ``rules/catalogue.json`` (prowler keeps check metadata as data, too).
#: Broken: CloudTrail cannot encrypt and deliver with the key now.
_BROKEN = _codes("broken")
#: A documented risk while it works; one that would refuse the change (severity error, e.g.
#: ``policy-describe`` when the bucket uses an S3 Bucket Key) is broken.
_AT_RISK = _codes("at-risk")
#: Something could not be read or evaluated.
_UNVERIFIABLE = _codes("unverifiable")
#: The codes a keyless (SSE-S3) trail is judged on: the deliveries, whatever the encryption.
_DELIVERY = frozenset(
    {"bucket-not-found", "bucket-policy-denies-delivery", "bucket-policy-already-denies-delivery"}
)


@dataclass(frozen=True)
class HealthReason:
    """Why a trail has its health: one finding.

    Parameters
    ----------
    code
        Stable kebab-case code: a pre-flight finding code (``rules/catalogue.json``) or one of
        ``delivery-error``, ``digest-delivery-error``, ``delivery-stale``, ``status-unreadable``.
    health
        The health this reason alone gives (``broken``, ``at-risk``, ``unverifiable``).
    message, fix
        What is wrong and what to do, in the operator's language.
    permission
        For a reason that something could not be read: the IAM action that would let trailkit
        read it (empty when no permission of the caller can: another account's key).
    """

    code: str
    health: HealthKind
    message: str
    fix: str
    permission: str = ""
    delivery: Mapping[str, Any] | None = None

    def as_dict(self) -> dict[str, Any]:
        """The JSON shape (``health_reasons`` of ``trailkit inventory --format json``); a
        ``delivery-error`` / ``digest-delivery-error`` reason also has ``delivery``: the raw
        ``error``, its ``cause`` code (:mod:`trailkit.rules.delivery`), ``last_delivery`` (UTC
        ISO, or None) and ``failed_at`` (UTC ISO when CloudTrail still sends the attempt times,
        else None)."""
        out: dict[str, Any] = {
            "code": self.code,
            "health": str(self.health),
            "message": self.message,
            "fix": self.fix,
            "permission": self.permission or None,
        }
        if self.delivery is not None:
            out["delivery"] = dict(self.delivery)
        return out


@dataclass(frozen=True)
class Health:
    """A trail's health and its reasons, most urgent first."""

    trail_arn: str
    kind: HealthKind
    reasons: tuple[HealthReason, ...] = ()

    @property
    def codes(self) -> tuple[str, ...]:
        """The reasons' codes."""
        return tuple(r.code for r in self.reasons)


def _reason(finding: Finding, kind: HealthKind, permission: str = "") -> HealthReason:
    return HealthReason(finding.code, kind, finding.message, finding.remedy, permission)


def _kind_of(finding: Finding) -> HealthKind | None:
    code = finding.code
    if code in _BROKEN or (code in _AT_RISK and finding.severity is Severity.ERROR):
        return HealthKind.BROKEN
    if code in _AT_RISK:
        return HealthKind.AT_RISK
    if code in _UNVERIFIABLE:
        return HealthKind.UNVERIFIABLE
    return None


def _permission(code: str, trail: Trail, key: KeyInfo | None, caller: str) -> str:
    """The IAM action that would let trailkit read what ``code`` says it could not read."""
    bucket = trail.bucket
    own_key = key is not None and key.account == caller
    if code == "key-unreadable":
        return "kms:DescribeKey" if arn_account(trail.kms_key_id or "") == caller else ""
    if code == "policy-unverifiable":
        readable = own_key and key is not None and key.policy is None and not key.error
        return "kms:GetKeyPolicy" if readable else ""
    if code in ("bucket-unreadable", "key-region-unverified"):
        return "s3:ListBucket, s3:GetBucketLocation"
    if code == "bucket-key-unverified":
        return "s3:GetEncryptionConfiguration"
    if code == "bucket-policy-unverified" and bucket is not None and bucket.policy is None:
        return "s3:GetBucketPolicy"
    return ""


def _lookup(trail: Trail, key: KeyInfo | None, caller: str) -> tuple[KeyLookup | None, str | None]:
    """The key lookup the pre-flight needs, from what the inventory read about the trail's key
    (CloudTrail stores a key ARN); or the parser's message when the stored value is not one."""
    text = trail.kms_key_id or ""
    try:
        ref = parse_key_id(text)
    except KeyIdError as err:
        return None, err.message
    place = (arn_account(text), arn_region(text)) if ref.kind is KeyIdKind.KEY_ARN else None
    if key is None:
        return KeyLookup(ref=ref, problem="unreadable", resolved_in=place), None
    if key.error:
        # DescribeKey answered "no such key" in the caller's account: deleted (or never was).
        # In another account the same answer may mean "not allowed": it cannot be told.
        gone = key.missing and key.account == caller
        return (
            KeyLookup(
                ref=ref,
                problem="not-found" if gone else "unreadable",
                message=key.error,
                resolved_in=place,
            ),
            None,
        )
    return KeyLookup(ref=ref, key=key, resolved_in=place), None


def _failed_at(status: TrailStatus) -> datetime | None:
    """When the latest (failed) log delivery was attempted: only from the deprecated attempt
    fields, and only when the attempt is later (to the second) than both the last successful
    attempt and ``LatestDeliveryTime``."""
    tried = status.latest_delivery_attempt_time
    if tried is None:
        return None

    def second(when: datetime) -> datetime:
        return (when if when.tzinfo else when.replace(tzinfo=UTC)).replace(microsecond=0)

    done = [status.latest_delivery_attempt_succeeded, status.latest_delivery_time]
    if any(d is not None and second(d) >= second(tried) for d in done):
        return None
    return tried


def _delivery_reason(trail: Trail, error: str, *, digest: bool) -> HealthReason:
    """A delivery error as a reason: its cause and fix (:func:`~trailkit.rules.delivery.
    delivery_cause`), the time of the last delivery and, when known, of the failure."""
    status = trail.status or TrailStatus()
    cause = delivery_cause(trail, error, digest=digest)
    last = status.latest_digest_delivery_time if digest else status.latest_delivery_time
    failed = None if digest else _failed_at(status)
    if digest:
        first = _(
            "CloudTrail's latest delivery of digest files to bucket {bucket} failed ({error}); "
            "log file integrity cannot be validated."
        ).format(bucket=trail.bucket_name, error=error)
    else:
        first = _(
            "CloudTrail's latest delivery of log files to bucket {bucket} failed ({error})."
        ).format(bucket=trail.bucket_name, error=error)
    if failed is not None:
        when = _("It failed at {failed}; the last successful delivery was at {last}.").format(
            failed=local_time(failed), last=local_time(last) if last else _("(none recorded)")
        )
    elif last is not None:
        when = _("The last successful delivery was at {last}.").format(last=local_time(last))
    else:
        when = _("No successful delivery is recorded.")
    return HealthReason(
        "digest-delivery-error" if digest else "delivery-error",
        HealthKind.AT_RISK if digest else HealthKind.BROKEN,
        _("{what} {cause} {when}").format(what=first, cause=cause.cause, when=when),
        cause.fix,
        delivery={
            "error": error,
            "cause": cause.code,
            "last_delivery": utc_iso(last),
            "failed_at": utc_iso(failed),
        },
    )


def _status_reasons(trail: Trail, now: datetime, stale_after: timedelta) -> list[HealthReason]:
    status = trail.status
    if status is None:
        return []
    if status.error:
        return [
            HealthReason(
                "status-unreadable",
                HealthKind.UNVERIFIABLE,
                _(
                    "The delivery status of {trail} could not be read ({why}), so whether its "
                    "logs arrive is unknown."
                ).format(trail=trail.name, why=status.error),
                _("grant cloudtrail:GetTrailStatus on {arn}").format(arn=trail.arn),
                "cloudtrail:GetTrailStatus",
            )
        ]
    out = []
    if status.latest_delivery_error:
        out.append(_delivery_reason(trail, status.latest_delivery_error, digest=False))
    if status.latest_digest_delivery_error:
        out.append(_delivery_reason(trail, status.latest_digest_delivery_error, digest=True))
    last = status.latest_delivery_time
    if status.is_logging and last is not None:
        when = last if last.tzinfo else last.replace(tzinfo=UTC)
        if now - when > stale_after:
            hours = int(stale_after.total_seconds() // 3600)
            out.append(
                HealthReason(
                    "delivery-stale",
                    HealthKind.AT_RISK,
                    _(
                        "{trail} is logging but its last log file delivery was at {time}, "
                        "more than {hours} hours ago."
                    ).format(trail=trail.name, time=local_time(when), hours=hours),
                    _(
                        "look at the trail's delivery status (`aws cloudtrail get-trail-status "
                        "--name {arn} --region {region}`) and at the key and bucket it delivers "
                        "with"
                    ).format(arn=trail.arn, region=trail.home_region),
                )
            )
    return out


def _member_label(account: str, names: Mapping[str, str | None]) -> str:
    name = names.get(account)
    return f"{name} ({account})" if name else account


def _member_reasons(
    trail: Trail,
    members: Mapping[str, TrailStatus],
    names: Mapping[str, str | None],
    organization_id: str | None = None,
) -> list[HealthReason]:
    """An organization trail's statuses in its member accounts as (at most) two reasons: ONE
    line for the members whose ``GetTrailStatus`` reports a ``LatestDeliveryError`` (AWS: a
    member's delivery errors show only in that member), one for those where it could not be
    read. Each member's cause names that member's path in the bucket
    (``AWSLogs/ORG-ID/MEMBER/``: :func:`~trailkit.rules.delivery.delivery_cause`'s ``member``)."""
    if not members:
        return []
    total = len(members)
    out: list[HealthReason] = []
    failing = sorted((a, s) for a, s in members.items() if s.latest_delivery_error)
    if failing:
        causes = [
            (
                a,
                delivery_cause(
                    trail,
                    s.latest_delivery_error or "",
                    digest=False,
                    member=a,
                    organization_id=organization_id,
                ),
            )
            for a, s in failing
        ]
        details = "; ".join(
            _("{account}: {cause}").format(account=_member_label(a, names), cause=c.cause)
            for a, c in causes
        )
        message = ngettext(
            "Delivery errors in {failed} of {total} member account of the organization: {details}",
            "Delivery errors in {failed} of {total} member accounts of the organization: {details}",
            total,
        ).format(failed=len(failing), total=total, details=details)
        fixes = list(dict.fromkeys(c.fix for _a, c in causes))
        out.append(
            HealthReason(
                "member-delivery-error",
                HealthKind.BROKEN,
                message,
                "; ".join(fixes),
            )
        )
    out.extend(_unread_members(trail, members, names))
    return out


def _unread_members(
    trail: Trail, members: Mapping[str, TrailStatus], names: Mapping[str, str | None]
) -> list[HealthReason]:
    """``member-status-unreadable``: the members where the organization trail's status is not
    known, counted over every member asked for: ``GetTrailStatus`` failed there, or the account
    itself could not be read (its role not assumed, its trails not listed: the scan gives it a
    status with that error, :func:`trailkit.aws.org.scan_accounts`). Each account's error row
    says which."""
    unread = sorted(a for a, s in members.items() if s.error)
    if not unread:
        return []
    total = len(members)
    return [
        HealthReason(
            "member-status-unreadable",
            HealthKind.UNVERIFIABLE,
            ngettext(
                "The status of {trail} could not be read in {failed} of {total} member "
                "account: {accounts}.",
                "The status of {trail} could not be read in {failed} of {total} member "
                "accounts: {accounts}.",
                total,
            ).format(
                trail=trail.name,
                failed=len(unread),
                total=total,
                accounts=", ".join(_member_label(a, names) for a in unread),
            ),
            _(
                "see each account's error: the role trailkit assumes there could not be "
                "assumed, the account's trails could not be listed, or the role may not call "
                "cloudtrail:GetTrailStatus (grant it)"
            ),
            "cloudtrail:GetTrailStatus",
        )
    ]


def health(
    trail: Trail,
    key: KeyInfo | None,
    caller_account: str,
    *,
    now: datetime | None = None,
    stale_after: timedelta = STALE_AFTER,
    reader_accounts: Sequence[str] = (),
    organization_id: str | None = None,
    members: Mapping[str, TrailStatus] | None = None,
    account_names: Mapping[str, str | None] | None = None,
) -> Health:
    """The health of ``trail``'s current encryption, with every reason.

    The trail is checked with its own key as if the change were applied again
    (:func:`trailkit.rules.checks.preflight`: the same rules as a change, so the same answer as
    ``trailkit check --trail T --key <its key>``), and its ``GetTrailStatus`` facts are read for
    the deliveries. Sources: ``docs/cloudtrail-kms.md`` (CloudTrail user guide, "Configure AWS
    KMS key policies for CloudTrail", "How AWS CloudTrail uses AWS KMS", "Amazon S3 bucket policy
    for CloudTrail"; CloudTrail API reference, ``GetTrailStatus``; KMS ``DescribeKey``).

    Decisions:

    * ``broken``: CloudTrail cannot encrypt and deliver with that key now. The pre-flight codes
      ``key-state`` (Disabled, PendingDeletion, ...: ``GenerateDataKey`` fails), ``key-not-found``
      (``DescribeKey`` in the caller's account says the key does not exist: deleted),
      ``key-not-symmetric``, ``key-aws-managed`` (its policy cannot admit CloudTrail),
      ``key-region-mismatch`` (key not in the bucket's region), ``policy-encrypt`` (no
      ``kms:GenerateDataKey*`` for the trail), ``policy-deny`` (an explicit Deny),
      ``policy-bucket-key-decrypt`` and ``policy-describe`` as an error (the bucket uses an S3
      Bucket Key, which needs ``kms:DescribeKey`` and ``kms:Decrypt``: the seed page and the
      CloudTrail guide), ``bucket-not-found``, ``bucket-policy-already-denies-delivery`` (the
      bucket policy refuses the uploads as the trail is now; ``bucket-policy-denies-delivery``
      cannot occur for the same key but is mapped alike); and ``delivery-error``:
      ``GetTrailStatus`` reports a ``LatestDeliveryError`` (AWS: it occurs "only when there is
      a problem with the destination S3 bucket"; CloudTrail keeps retrying up to 30 days).
    * ``at-risk``: working as far as can be told, with a documented risk: ``policy-readers`` (in
      an account that reads the logs, not every principal, or nobody, may decrypt them),
      ``policy-describe`` as a warning (no ``kms:DescribeKey`` for CloudTrail: best practice,
      required with a Bucket Key), ``delivery-stale`` (the trail is logging and its
      ``LatestDeliveryTime`` is older than ``stale_after``, 2 hours by default; no delivery time
      at all, as for a trail that has not delivered yet, is no reason), and
      ``digest-delivery-error`` (a ``LatestDigestDeliveryError``: the log files still arrive,
      their validation does not).
    * ``unverifiable``: something could not be read or evaluated (``key-unreadable``,
      ``policy-unverifiable``, ``key-region-unverified``, ``bucket-key-unverified``,
      ``bucket-policy-unverified``, ``bucket-unreadable``, ``status-unreadable``), each reason
      with the IAM action that would let trailkit read it (``permission``; none for another
      account's key, which only its owner can show). A key of another account that
      ``DescribeKey`` says does not exist is unverifiable too: from outside, "not found" and "not
      allowed" look alike.
    * The health is the most urgent of its reasons' in the order broken, at-risk, unverifiable
      (the issue's order: a known problem is named before what could not be checked; every
      reason is listed whatever the health); none: ``healthy``.
    * ``sse-s3``: a trail without a KMS key. Key rules do not apply; the delivery rules that do
      not depend on the key still do: a bucket that does not exist, a bucket policy that refuses
      the uploads, or a delivery error make it ``broken`` (its logs do not arrive). A stale
      delivery, a digest delivery error or an unreadable status are listed as reasons and the
      health stays ``sse-s3``; what could not be read about its bucket is not a reason (``sse-s3``
      claims nothing about a key, and the inventory shows the read error already).
    * Not reasons: ``trail-not-owned`` (an organization trail seen from a member account is
      still checked), ``already-using-key``, ``digest-files``, ``bucket-policy-aes256`` (a
      change's warning: since November 2025 digest files use the key, which the delivery rule
      models), and a trail that is not logging (shown as such by the inventory, not an
      encryption fault).

    Parameters
    ----------
    trail
        The trail with its status and bucket facts (``Reader.scan``).
    key
        Its key as the inventory read it (``Inventory.key_for``), with its policy; None when the
        trail has no key or the key was not read.
    caller_account
        The account the facts were read from.
    now
        The time to judge the last delivery against (default: now, UTC).
    stale_after
        How old the last delivery of a logging trail may be.
    reader_accounts, organization_id
        As for :func:`~trailkit.rules.checks.preflight`.
    members
        An organization trail's status in each member account read (``Inventory.member_status``
        of a scan of several accounts): the members whose status reports a delivery error are
        ONE reason, ``member-delivery-error`` (broken: those members' logs do not arrive),
        naming each member and the cause; those where it could not be read,
        ``member-status-unreadable`` (unverifiable).
    account_names
        Account id -> name, to name the members.

    Returns
    -------
    Health
        Its kind and reasons (most urgent first, then in rule order).
    """
    now = now or datetime.now(UTC)
    status = _status_reasons(trail, now, stale_after)
    status += _member_reasons(trail, members or {}, account_names or {}, organization_id)
    if trail.kms_key_id is None:
        report = preflight(
            trail=trail,
            trail_input=trail.arn,
            key_input="",
            lookup=KeyLookup(ref=parse_key_id("")),
            caller_account=caller_account,
        )
        reasons = [
            _reason(f, kind)
            for f in report.findings
            if (kind := _kind_of(f)) is not None and f.code in _DELIVERY
        ]
        reasons = [_refused_now(r, trail, report.findings) for r in reasons]
        reasons = [*reasons, *status]
        broken = [r for r in reasons if r.health is HealthKind.BROKEN]
        kind = HealthKind.BROKEN if broken else HealthKind.SSE_S3
        return Health(trail.arn, kind, tuple(_sorted(reasons)))
    lookup, key_error = _lookup(trail, key, caller_account)
    report = preflight(
        trail=trail,
        trail_input=trail.arn,
        key_input=trail.kms_key_id,
        lookup=lookup,
        caller_account=caller_account,
        key_error=key_error,
        reader_accounts=reader_accounts,
        organization_id=organization_id,
    )
    described = lookup.key if lookup is not None else None
    reasons = [
        _reason(f, kind, _permission(f.code, trail, described, caller_account))
        for f in report.findings
        if (kind := _kind_of(f)) is not None
    ]
    reasons = [_gone_fix(r, trail) if r.code == "key-not-found" else r for r in reasons]
    reasons = [_refused_now(r, trail, report.findings) for r in reasons]
    reasons = [_unreadable_now(r, lookup) for r in reasons]
    reasons = _sorted([*reasons, *status])
    kind = next((k for k in _ORDER if any(r.health is k for r in reasons)), HealthKind.HEALTHY)
    return Health(trail.arn, kind, tuple(reasons))


def _gone_fix(reason: HealthReason, trail: Trail) -> HealthReason:
    """``key-not-found`` for the trail's own key: the pre-flight's fix ("check the identifier")
    speaks to someone who typed a key; here the key the trail uses is gone (deleted)."""
    fix = _(
        "the key no longer exists: point the trail at an existing key in the bucket's region "
        "(`trailkit update --trail {trail} --key KEY`); the logs it encrypted can no longer be "
        "decrypted"
    ).format(trail=trail.name)
    return replace(reason, fix=fix)


def _refused_now(reason: HealthReason, trail: Trail, findings: Sequence[Finding]) -> HealthReason:
    """``bucket-policy-already-denies-delivery``: the pre-flight's message speaks of a change
    ("they stay refused after the change, which is not the cause"); a health judges the trail as
    it is, so it says only that the bucket policy refuses its uploads now."""
    if reason.code != "bucket-policy-already-denies-delivery":
        return reason
    found = next((f for f in findings if f.code == reason.code), None)
    if found is None or not found.detail:
        return reason
    key = trail.kms_key_id
    message = _(
        "The policy of bucket {bucket} refuses CloudTrail's uploads as {trail} is now "
        "({encryption}): {why}."
    ).format(
        bucket=trail.bucket_name,
        trail=trail.name,
        encryption="AES256" if key is None else _("aws:kms, key {arn}").format(arn=key),
        why="; ".join(found.detail),
    )
    error = trail.status.latest_delivery_error if trail.status else None
    if error:
        message += " " + _("GetTrailStatus reports LatestDeliveryError {error}.").format(
            error=error
        )
    return replace(reason, message=message)


def _unreadable_now(reason: HealthReason, lookup: KeyLookup | None) -> HealthReason:
    """``key-unreadable``: the pre-flight's message says the key "is checked by AWS only when
    the change is sent"; a health sends no change, so it says what cannot be told from here."""
    if reason.code != "key-unreadable" or lookup is None or lookup.key is not None:
        return reason
    message = _(
        "{key} could not be described from this account: {why} Its state, type and region "
        "cannot be checked from here."
    ).format(key=lookup.ref.text, why=sentence(lookup.message))
    return replace(reason, message=message)


def _sorted(reasons: list[HealthReason]) -> list[HealthReason]:
    rank = {k: i for i, k in enumerate(_ORDER)}
    return sorted(reasons, key=lambda r: rank.get(r.health, len(rank)))


def inventory_health(
    inv: Inventory, *, now: datetime | None = None, stale_after: timedelta = STALE_AFTER
) -> dict[str, Health]:
    """The health of every trail of an inventory, by trail ARN (no AWS call).

    On a scan of several accounts each trail is judged from the account it was read in (its
    own), and an organization trail with its status in each member account
    (``Inventory.member_status``, see :func:`health`'s ``members``)."""
    now = now or datetime.now(UTC)
    caller = inv.connection.account
    names = {a: inv.account_name(a) for by in inv.member_status.values() for a in by}
    return {
        t.arn: health(
            t,
            inv.key_for(t),
            (t.account or caller) if inv.accounts else caller,
            now=now,
            stale_after=stale_after,
            members=inv.member_status.get(t.arn),
            account_names=names,
        )
        for t in inv.trails
    }


def parse_health_filter(value: str) -> frozenset[HealthKind]:
    """``--health broken,at-risk``: the kinds named, strictly.

    Raises
    ------
    InputError
        The text is empty, or names something that is not a health.
    """
    names = [part.strip() for part in value.split(",")]
    known = {str(k): k for k in HealthKind}
    choices = ", ".join(known)
    if not value.strip() or any(not n for n in names):
        raise InputError(
            _("--health needs one or more of {choices}, separated by commas.").format(
                choices=choices
            ),
            _("for example `--health broken,at-risk`"),
        )
    unknown = [n for n in names if n not in known]
    if unknown:
        raise InputError(
            _("{value} is not a health; choose from {choices}.").format(
                value=repr(unknown[0]), choices=choices
            ),
            _("for example `--health broken,at-risk`"),
        )
    return frozenset(known[n] for n in names)


def health_counts(healths: Mapping[str, Health]) -> dict[str, int]:
    """How many trails have each health (every kind, zero included)."""
    counts = {str(k): 0 for k in HealthKind}
    for h in healths.values():
        counts[str(h.kind)] += 1
    return counts
