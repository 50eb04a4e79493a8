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
from trailkit.records import BucketInfo, KeyInfo, Trail
from trailkit.rules.checks import UNVERIFIED_CODES, Report, Severity
from trailkit.rules.keyids import KeyIdKind, parse_key_id

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
            ("trail", self.trail.arn, self.trail.arn),
            (
                "encryption",
                self.describe_state(self.before_key),
                self.describe_state(self.after_key),
            ),
            ("sent to", "", f"UpdateTrail in {self.region} (account {self.account})"),
            ("request", "", ", ".join(f"{k}={v!r}" for k, v in self.request.items())),
            ("blocking findings", "", ", ".join(f.code for f in self.report.errors) or "none"),
        )

    def require_applicable(self) -> None:
        """Raise :class:`RefusedError` when the plan must not be sent."""
        if self.blocked:
            codes = ", ".join(f.code for f in self.report.errors)
            raise RefusedError(
                f"The plan for {self.trail.name} has blocking findings ({codes}); nothing was "
                "sent.",
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
        raise UnverifiableError(
            f"The plan for {self.trail.name} is UNVERIFIABLE: {n} check{'s' if n != 1 else ''} "
            f"could not be verified ({', '.join(codes)}). Nothing was sent.",
            "once the key's and the bucket's owners confirmed them, accept the unverifiable "
            "plan (--accept-unverifiable; in a notebook, its checkbox)",
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
                f"{self.trail.name} changed since the plan was made: {'; '.join(drift)}. "
                "Nothing was sent.",
                "check again and make a new plan from the current state",
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
                f"The bucket {trail.bucket_name} does not exist: the trail cannot deliver logs "
                "and no key can be checked for it.",
                "create the bucket, or point the trail at one that exists",
            )
        why = f" ({bucket.error})" if bucket is not None and bucket.error else ""
        raise RefusedError(
            f"The region of the bucket {trail.bucket_name} could not be read{why}: no key "
            "can be checked for it.",
            "ask the bucket's owner to allow s3:ListBucket (or s3:GetBucketLocation) to this "
            "caller",
        )
    key = keys_by_region.get(region)
    if key is None:
        raise InputError(f"No key was chosen for {region}.", "choose a key for every bucket region")
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
            f"No trail {report.trail_input!r}: there is nothing to plan.",
            "check the trail name with `trailkit inventory`",
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
            f"The key {report.key_input!r} could not be resolved to a key ARN: "
            f"{first.message if first else 'unknown key'}",
            first.remedy if first else "give the key ARN",
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
    return "unreadable" if text is None else f"{len(text.encode('utf-8', 'replace'))} bytes"


def _on(flag: bool | None) -> str:
    return "unknown" if flag is None else "on" if flag else "off"


def _trail_facts(old: Trail, new: Trail) -> list[str]:
    out: list[str] = []
    if old.bucket_name != new.bucket_name:
        out.append(f"the trail's bucket is now {new.bucket_name} (was {old.bucket_name})")
    if old.kms_key_id != new.kms_key_id:
        out.append(
            f"the trail now uses {new.kms_key_id or 'SSE-S3'} (was {old.kms_key_id or 'SSE-S3'})"
        )
    if old.log_file_validation != new.log_file_validation:
        out.append(f"log file validation is now {_on(new.log_file_validation)}")
    empty = BucketInfo(name="", region=None)
    ob, nb = old.bucket or empty, new.bucket or empty
    if ob.region != nb.region:
        out.append(
            f"the bucket's region is now {nb.region or 'unknown'} (was {ob.region or 'unknown'})"
        )
    if ob.bucket_key != nb.bucket_key:
        out.append(f"the bucket's S3 Bucket Key is now {_on(nb.bucket_key)}")
    if _policy(ob.policy) != _policy(nb.policy):
        out.append("the bucket policy changed")
    return out


def _key_facts(old: KeyInfo | None, new: KeyInfo | None) -> list[str]:
    if old is None or new is None:
        if old is not new:
            now = new.arn if new is not None else "nothing that can be described"
            return [f"the key now resolves to {now}"]
        return []
    if old.arn != new.arn:
        return [f"the key now resolves to {new.arn} (was {old.arn})"]
    out: list[str] = []
    if old.state != new.state:
        out.append(f"the key is now {new.state or 'in an unknown state'} (was {old.state})")
    if (old.key_spec, old.key_usage) != (new.key_spec, new.key_usage):
        out.append(f"the key is now {new.key_spec} for {new.key_usage}")
    if _policy(old.policy) != _policy(new.policy):
        out.append(f"the key policy changed ({_size(old.policy)} -> {_size(new.policy)})")
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
        out.append("the trail is no longer visible")
    elif planned.trail is not None and fresh.trail is not None:
        out += _trail_facts(planned.trail, fresh.trail)
    out += _key_facts(planned.key, fresh.key)
    basis_old, basis_new = verdict_basis(planned), verdict_basis(fresh)
    codes_old = basis_old[2] | basis_old[3]
    codes_new = basis_new[2] | basis_new[3]
    for f in fresh.findings:
        if f.code in codes_new - codes_old:
            out.append(f"new {f.severity} {f.code}: {f.message}")
    for code in sorted(codes_old - codes_new):
        out.append(f"{code} no longer applies")
    if basis_old[0] != basis_new[0]:
        out.append(f"the verdict is now {basis_new[0]} (was {basis_old[0]})")
    return tuple(out)
