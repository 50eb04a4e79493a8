"""Plans: the exact change that would be sent, made from a pre-flight report (pure).

A :class:`Plan` names the trail, its home region and owning account, the key before and after
(``None`` = SSE-S3), the pre-flight findings, and the exact ``UpdateTrail`` request: always the
resolved key ARN (or ``""`` to turn SSE-KMS off), sent to the trail's home region. A plan with an
error finding cannot be applied.

A plan also goes stale: while the operator read it, the key may have been disabled, its policy
stripped, or the trail's bucket changed. :func:`plan_drift` compares the plan's report with a
pre-flight made from fresh reads just before sending, and :meth:`Plan.require_current` refuses
when the verdict would differ (the runbook calls it for every plan it sends).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

from trailkit.errors import InputError, KeyIdError, RefusedError, UnverifiableError
from trailkit.i18n import N_, _
from trailkit.records import BucketInfo, KeyInfo, Trail
from trailkit.rules.checks import UNVERIFIED_CODES, Report, Severity
from trailkit.rules.keyids import KeyIdKind, parse_key_id
from trailkit.rules.trails import list_trails_fix

__all__ = ["Plan", "bucket_region_key", "plan_change", "plan_drift", "verdict_basis"]


@dataclass(frozen=True)
class Plan:
    """One trail, one target: what will be sent and why it is (or is not) safe."""

    trail: Trail
    report: Report
    target_input: str
    before_key: str | None
    after_key: str | None
    request: Mapping[str, str]
    rollback_of: str | None = None

    @property
    def region(self) -> str:
        """Where ``UpdateTrail`` is sent: the trail's home region."""
        return self.trail.home_region

    @property
    def account(self) -> str:
        """The account that owns the trail."""
        return self.trail.account

    @property
    def disable(self) -> bool:
        """True when the plan turns SSE-KMS off."""
        return self.after_key is None

    @property
    def blocked(self) -> bool:
        """True when a finding is an error and there is something to send: the plan must not
        be applied. A plan with nothing to do (the trail already is in the target state) is
        never "blocked": nothing would be sent (``disable`` of an SSE-S3 trail whose bucket is
        gone said "BLOCKED (nothing to do)" and exited 1)."""
        return bool(self.report.errors) and not self.nothing_to_do

    @property
    def nothing_to_do(self) -> bool:
        """True when the trail already is in the target state."""
        return self.before_key == self.after_key

    def describe_state(self, key: str | None) -> str:
        """``SSE-S3`` or ``SSE-KMS (alias, ARN)`` for the before/after table."""
        if key is None:
            return "SSE-S3"
        if self.report.key is not None and self.report.key.arn == key and self.report.key.alias:
            return f"SSE-KMS {self.report.key.alias} ({key})"
        return f"SSE-KMS ({key})"

    def rows(self) -> tuple[tuple[str, str, str], ...]:
        """The before/after table shown before anything is sent.

        Returns
        -------
        tuple of (label, before, after)
            trail, encryption, where it is sent, the exact request, the blocking findings.
        """
        return (
            (_("trail"), self.trail.arn, self.trail.arn),
            (
                _("encryption"),
                self.describe_state(self.before_key),
                self.describe_state(self.after_key),
            ),
            (
                _("sent to"),
                "",
                _("UpdateTrail in {region} (account {account})").format(
                    region=self.region, account=self.account
                ),
            ),
            (_("request"), "", ", ".join(f"{k}={v!r}" for k, v in self.request.items())),
            (
                _("blocking findings"),
                "",
                ", ".join(f.code for f in self.report.errors) or _("none"),
            ),
        )

    def require_applicable(self) -> None:
        """Raise :class:`RefusedError` when the plan must not be sent."""
        if self.blocked:
            codes = ", ".join(f.code for f in self.report.errors)
            raise RefusedError(
                _("The plan for {trail} has blocking findings ({codes}); nothing was sent.").format(
                    trail=self.trail.name, codes=codes
                ),
                self.report.errors[0].remedy,
            )

    def require_verified(self, accepted: bool) -> None:
        """Raise :class:`UnverifiableError` for an UNVERIFIABLE plan that was not accepted as
        such (the command line's ``--accept-unverifiable``; the widgets' own checkbox).

        Parameters
        ----------
        accepted
            The operator's separate yes to what could not be verified.
        """
        if accepted or self.blocked or self.nothing_to_do or not self.report.unverifiable:
            return
        codes = tuple(f.code for f in self.report.findings if f.code in UNVERIFIED_CODES)
        n = len(codes)
        said = (
            _(
                "The plan for {trail} is UNVERIFIABLE: {count} check could not be verified "
                "({codes}). Nothing was sent."
            )
            if n == 1
            else _(
                "The plan for {trail} is UNVERIFIABLE: {count} checks could not be verified "
                "({codes}). Nothing was sent."
            )
        )
        raise UnverifiableError(
            said.format(trail=self.trail.name, count=n, codes=", ".join(codes)),
            _(
                "once the key's and the bucket's owners confirmed them, accept the unverifiable "
                "plan (--accept-unverifiable; in a notebook, its checkbox)"
            ),
            unverified=codes,
        )

    def require_current(self, fresh: Report) -> None:
        """Raise :class:`RefusedError` when a fresh pre-flight would give another verdict.

        Parameters
        ----------
        fresh
            Pre-flight of the same trail and the same key input, made from fresh reads just
            before sending.

        Raises
        ------
        RefusedError
            The verdict, the key, or the blocking or warning findings differ from the plan's
            (see :func:`plan_drift`); the message lists what changed. Nothing was sent.
        """
        drift = plan_drift(self.report, fresh)
        if drift:
            raise RefusedError(
                _("{trail} changed since the plan was made: {changes}. Nothing was sent.").format(
                    trail=self.trail.name, changes="; ".join(drift)
                ),
                _("check again and make a new plan from the current state"),
            )

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {
            "trail_arn": self.trail.arn,
            "home_region": self.region,
            "account": self.account,
            "before_key": self.before_key,
            "after_key": self.after_key,
            "request": dict(self.request),
            "verdict": str(self.report.verdict),
            "blocked": self.blocked,
            "nothing_to_do": self.nothing_to_do,
            "rollback_of": self.rollback_of,
            "findings": [f.as_dict() for f in self.report.findings],
        }


def bucket_region_key(trail: Trail, keys_by_region: Mapping[str, str]) -> str:
    """The key chosen for the region of ``trail``'s bucket (a bulk update's one key per bucket
    region).

    Raises
    ------
    RefusedError
        The bucket does not exist, or its region could not be read: the real reason, never
        "no key was chosen" for an unknown region.
    InputError
        No key was chosen for the bucket's region.
    """
    region = trail.bucket_region
    bucket = trail.bucket
    if region is None:
        if bucket is not None and bucket.missing:
            raise RefusedError(
                _(
                    "The bucket {bucket} does not exist: the trail cannot deliver logs and no key "
                    "can be checked for it."
                ).format(bucket=trail.bucket_name),
                _("create the bucket, or point the trail at one that exists"),
            )
        unread = (
            _(
                "The region of the bucket {bucket} could not be read ({why}): no key can be "
                "checked for it."
            ).format(bucket=trail.bucket_name, why=bucket.error)
            if bucket is not None and bucket.error
            else _(
                "The region of the bucket {bucket} could not be read: no key can be checked for it."
            ).format(bucket=trail.bucket_name)
        )
        raise RefusedError(
            unread,
            _(
                "ask the bucket's owner to allow s3:ListBucket (or s3:GetBucketLocation) to this "
                "caller"
            ),
        )
    key = keys_by_region.get(region)
    if key is None:
        raise InputError(
            _("No key was chosen for {region}.").format(region=region),
            _("choose a key for every bucket region"),
        )
    return key


def plan_change(report: Report, *, rollback_of: str | None = None) -> Plan:
    """The plan for a pre-flight report (``trailkit.check``'s answer).

    Parameters
    ----------
    report
        Pre-flight for one trail and one target (a key, or ``""`` to turn SSE-KMS off).
    rollback_of
        The change id this plan undoes, if any.

    Raises
    ------
    RefusedError
        The trail was not found or the key did not resolve: there is nothing to plan.
    """
    trail = report.trail
    if trail is None:
        raise RefusedError(
            _("No trail {trail}: there is nothing to plan.").format(trail=repr(report.trail_input)),
            list_trails_fix(report.trail_input)
            or _("check the trail name with `trailkit inventory`"),
        )
    after = None if report.disable else report.key_arn
    if not report.disable and after is None and not report.errors:
        # Another account's key that could not be described: CloudTrail accepts its key ARN.
        try:
            ref = parse_key_id(report.key_input)
        except KeyIdError:
            ref = None
        if ref is not None and ref.kind is KeyIdKind.KEY_ARN:
            after = ref.arn()
    if not report.disable and after is None:
        first = report.errors[0] if report.errors else None
        raise RefusedError(
            _("The key {key} could not be resolved to a key ARN: {why}").format(
                key=repr(report.key_input), why=first.message if first else _("unknown key")
            ),
            first.remedy if first else _("give the key ARN"),
        )
    return Plan(
        trail=trail,
        report=report,
        target_input=report.key_input,
        before_key=trail.kms_key_id,
        after_key=after,
        request=MappingProxyType({"Name": trail.arn, "KmsKeyId": after or ""}),
        rollback_of=rollback_of,
    )


def verdict_basis(report: Report) -> tuple[str, str | None, frozenset[str], frozenset[str]]:
    """What a plan's verdict is made of: the verdict, the key ARN, the error and warning codes.

    Two reports with the same basis lead to the same decision (send or refuse) and show the
    operator the same problems; ``info`` findings (context such as ``digest-files`` or
    ``already-using-key``) are not part of it. A change of the trail's own key is the
    concurrency guard's to report (:mod:`trailkit.change.protocol`).

    Parameters
    ----------
    report
        A pre-flight report.

    Returns
    -------
    tuple
        ``(verdict, key ARN, error codes, warning codes)``.
    """
    return (
        str(report.verdict),
        report.key_arn,
        frozenset(f.code for f in report.findings if f.severity is Severity.ERROR),
        frozenset(f.code for f in report.findings if f.severity is Severity.WARNING),
    )


def _policy(text: str | None) -> object:
    if text is None:
        return None
    try:
        return json.loads(text)
    except (ValueError, RecursionError):
        return text


def _size(text: str | None) -> str:
    if text is None:
        return _("unreadable")
    return _("{count} bytes").format(count=len(text.encode("utf-8", "replace")))


def _on(flag: bool | None) -> str:
    return _("unknown") if flag is None else _("on") if flag else _("off")


#: A verdict's name for a person (the code stays English in JSON).
_VERDICTS = {"ready": N_("ready"), "blocked": N_("blocked"), "unverifiable": N_("unverifiable")}
#: "new error CODE: message", one whole phrase per severity.
_NEW_FINDING = {
    "error": N_("new error {code}: {message}"),
    "warning": N_("new warning {code}: {message}"),
    "info": N_("new info {code}: {message}"),
}


def _trail_facts(old: Trail, new: Trail) -> list[str]:
    out: list[str] = []
    if old.bucket_name != new.bucket_name:
        out.append(
            _("the trail's bucket is now {bucket} (was {old})").format(
                bucket=new.bucket_name, old=old.bucket_name
            )
        )
    if old.kms_key_id != new.kms_key_id:
        out.append(
            _("the trail now uses {key} (was {old})").format(
                key=new.kms_key_id or "SSE-S3", old=old.kms_key_id or "SSE-S3"
            )
        )
    if old.log_file_validation != new.log_file_validation:
        out.append(
            _("log file validation is now {state}").format(state=_on(new.log_file_validation))
        )
    empty = BucketInfo(name="", region=None)
    ob, nb = old.bucket or empty, new.bucket or empty
    if ob.region != nb.region:
        out.append(
            _("the bucket's region is now {region} (was {old})").format(
                region=nb.region or _("unknown"), old=ob.region or _("unknown")
            )
        )
    if ob.bucket_key != nb.bucket_key:
        out.append(_("the bucket's S3 Bucket Key is now {state}").format(state=_on(nb.bucket_key)))
    if _policy(ob.policy) != _policy(nb.policy):
        out.append(_("the bucket policy changed"))
    return out


def _key_facts(old: KeyInfo | None, new: KeyInfo | None) -> list[str]:
    if old is None or new is None:
        if old is not new:
            if new is None:
                return [_("the key now resolves to nothing that can be described")]
            return [_("the key now resolves to {arn}").format(arn=new.arn)]
        return []
    if old.arn != new.arn:
        return [_("the key now resolves to {arn} (was {old})").format(arn=new.arn, old=old.arn)]
    out: list[str] = []
    if old.state != new.state:
        out.append(
            _("the key is now {state} (was {old})").format(state=new.state, old=old.state)
            if new.state
            else _("the key is now in an unknown state (was {old})").format(old=old.state)
        )
    if (old.key_spec, old.key_usage) != (new.key_spec, new.key_usage):
        out.append(
            _("the key is now {spec} for {usage}").format(spec=new.key_spec, usage=new.key_usage)
        )
    if _policy(old.policy) != _policy(new.policy):
        out.append(
            _("the key policy changed ({old} -> {new})").format(
                old=_size(old.policy), new=_size(new.policy)
            )
        )
    return out


def plan_drift(planned: Report, fresh: Report) -> tuple[str, ...]:
    """What changed since a plan's pre-flight, when it changes the verdict.

    Parameters
    ----------
    planned
        The report the plan was made from.
    fresh
        The pre-flight of the same trail and key input from fresh reads.

    Returns
    -------
    tuple of str
        Empty when :func:`verdict_basis` is the same for both (the plan may be sent; a change
        of the trail's own key is left to the concurrency guard). Otherwise the facts that
        changed (trail, bucket, key, key policy), then the findings that appeared or went,
        one phrase each.
    """
    if verdict_basis(planned) == verdict_basis(fresh):
        return ()
    out: list[str] = []
    if planned.trail is not None and fresh.trail is None:
        out.append(_("the trail is no longer visible"))
    elif planned.trail is not None and fresh.trail is not None:
        out += _trail_facts(planned.trail, fresh.trail)
    out += _key_facts(planned.key, fresh.key)
    basis_old, basis_new = verdict_basis(planned), verdict_basis(fresh)
    codes_old = basis_old[2] | basis_old[3]
    codes_new = basis_new[2] | basis_new[3]
    for f in fresh.findings:
        if f.code in codes_new - codes_old:
            out.append(_(_NEW_FINDING[str(f.severity)]).format(code=f.code, message=f.message))
    for code in sorted(codes_old - codes_new):
        out.append(_("{code} no longer applies").format(code=code))
    if basis_old[0] != basis_new[0]:
        out.append(
            _("the verdict is now {verdict} (was {old})").format(
                verdict=_(_VERDICTS.get(basis_new[0], basis_new[0])),
                old=_(_VERDICTS.get(basis_old[0], basis_old[0])),
            )
        )
    return tuple(out)
