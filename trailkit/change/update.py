"""The write layer: apply a plan safely, verify it, journal it, and undo it.

Order of a change (:func:`apply`):

1. refuse a plan with blocking findings, or one not explicitly confirmed;
2. re-read the trail in its home region and refuse if its key changed since the plan
   (concurrency guard: no lost update);
3. validate the request against botocore's model;
4. journal the *intent* (fsync'ed) — a crash from here on leaves a pending intent that
   ``trailkit journal --reconcile`` settles by reading the trail;
5. ``UpdateTrail`` in the home region; a failure is journaled as *failed* with the translated
   error when it is certain that nothing was applied (AWS rejected the first and only attempt
   with a 4xx error). After an ambiguous failure (HTTP 5xx, connection reset, timeout, or an
   error after retries, any of which may follow an attempt the server applied) the trail is
   read back and the journal records what is true: *done* if it carries the new key, *failed*
   if it still carries the old one; if it cannot be read (or shows a third value) the intent
   stays pending and the result is ``unknown`` (``trailkit journal --reconcile`` settles it);
6. read the trail back and compare the stored key with the plan, journal the *outcome*;
7. read ``GetTrailStatus`` for delivery errors.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import botocore.exceptions
import botocore.validate

from trailkit.aws.reader import Reader
from trailkit.aws.session import Connection
from trailkit.change.journal import Change, Journal, Kind, Phase, Record, reconcile
from trailkit.errors import InputError, RefusedError, TrailkitError, translate
from trailkit.permissions import requires
from trailkit.records import Trail, TrailStatus
from trailkit.rules.plan import Plan, plan_change
from trailkit.runbook import check

__all__ = [
    "ApplyResult",
    "Delivery",
    "apply",
    "apply_many",
    "disable",
    "put_key_policy",
    "read_key_policy",
    "read_trail_key",
    "reconcile_journal",
    "restore_policy",
    "rollback",
    "validate_request",
    "verify_delivery",
]

_BOTO_ERRORS = (botocore.exceptions.BotoCoreError, botocore.exceptions.ClientError)


@dataclass(frozen=True)
class Delivery:
    """Delivery health after a change (``GetTrailStatus``)."""

    status: TrailStatus

    @property
    def errors(self) -> tuple[str, ...]:
        """The latest log and digest delivery errors, if any."""
        s = self.status
        out = []
        if s.latest_delivery_error:
            out.append(f"log delivery: {s.latest_delivery_error}")
        if s.latest_digest_delivery_error:
            out.append(f"digest delivery: {s.latest_digest_delivery_error}")
        if s.error:
            out.append(f"status unreadable: {s.error}")
        return tuple(out)

    @property
    def ok(self) -> bool:
        """No delivery error is reported."""
        return not self.errors

    def summary(self) -> str:
        """One line for the operator."""
        if not self.ok:
            return "DELIVERY ERRORS: " + "; ".join(self.errors) + " — consider rolling back."
        when = self.status.latest_delivery_time
        return f"no delivery errors (latest delivery: {when or 'none yet'})"


@dataclass(frozen=True)
class ApplyResult:
    """What happened to one plan."""

    plan: Plan
    status: str  # "done", "unchanged", "failed", "refused", "unknown" (intent left pending)
    message: str
    change_id: str | None = None
    key_after: str | None = None
    verified: bool = False
    request_id: str | None = None
    error: TrailkitError | None = None
    delivery: Delivery | None = None

    @property
    def changed(self) -> bool:
        """True when UpdateTrail was accepted."""
        return self.status == "done"

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {
            "trail_arn": self.plan.trail.arn,
            "status": self.status,
            "message": self.message,
            "change_id": self.change_id,
            "key_before": self.plan.before_key,
            "key_after": self.key_after,
            "verified": self.verified,
            "request_id": self.request_id,
            "delivery_errors": list(self.delivery.errors) if self.delivery else [],
        }


def validate_request(conn: Connection, region: str, operation: str, params: dict[str, Any]) -> None:
    """Validate request parameters against botocore's service model before sending.

    Raises
    ------
    InputError
        A parameter is missing, unknown or of the wrong type.
    """
    service = "cloudtrail" if operation == "UpdateTrail" else "kms"
    model = conn.client(service, region).meta.service_model.operation_model(operation)
    report = botocore.validate.ParamValidator().validate(params, model.input_shape)
    if report.has_errors():
        raise InputError(
            f"The {operation} request is not valid: {report.generate_report()}",
            "report this as a bug in trailkit: the plan produced an invalid request",
        )


@requires("cloudtrail:GetTrail")
def read_trail_key(conn: Connection, trail_arn: str, region: str) -> str | None:
    """The key ARN a trail uses now (None for SSE-S3), read in its home region."""
    try:
        data = conn.client("cloudtrail", region).get_trail(Name=trail_arn)
    except _BOTO_ERRORS as exc:
        raise translate(exc, "GetTrail", permission="cloudtrail:GetTrail", region=region) from None
    return (data.get("Trail") or {}).get("KmsKeyId") or None


@requires("cloudtrail:GetTrailStatus")
def verify_delivery(conn: Connection, trail: Trail) -> Delivery:
    """Read ``GetTrailStatus`` and report the latest delivery and digest delivery errors."""
    try:
        data = conn.client("cloudtrail", trail.home_region).get_trail_status(Name=trail.arn)
    except _BOTO_ERRORS as exc:
        err = translate(
            exc, "GetTrailStatus", permission="cloudtrail:GetTrailStatus", region=trail.home_region
        )
        return Delivery(TrailStatus(error=str(err)))
    return Delivery(TrailStatus.from_api(data))


def _certainly_rejected(exc: BaseException) -> bool:
    """True when AWS answered the first and only attempt with a 4xx error: nothing was applied.

    Anything else (a 5xx, a transport error, or a failure after retries, whose earlier attempts
    may have reached the server) leaves the outcome open until the state is read back.
    """
    response = getattr(exc, "response", None)
    if not isinstance(response, dict):
        return False
    meta = response.get("ResponseMetadata") or {}
    status = meta.get("HTTPStatusCode")
    return isinstance(status, int) and 400 <= status < 500 and not meta.get("RetryAttempts")


def _record_fields(conn: Connection) -> dict[str, str]:
    info = conn.info()
    return {
        "caller_arn": info.caller_arn,
        "account": info.account,
        "endpoint": info.endpoint,
        "backend": info.backend,
    }


@requires("cloudtrail:UpdateTrail", "cloudtrail:GetTrail", role="operate")
def apply(
    conn: Connection,
    plan: Plan,
    journal: Journal,
    *,
    confirmed: bool,
    verify: bool = True,
    after_send: Callable[[], None] | None = None,
) -> ApplyResult:
    """Send a plan's ``UpdateTrail`` with every safety step (see the module docstring).

    Parameters
    ----------
    conn
        The connection (its identity is journaled).
    plan
        From :func:`trailkit.rules.plan.plan_change`.
    journal
        Where the intent and outcome are recorded.
    confirmed
        The operator's explicit confirmation; nothing is sent without it.
    verify
        Read ``GetTrailStatus`` afterwards.
    after_send
        Test hook called right after AWS accepted the change, before the outcome is journaled.

    Returns
    -------
    ApplyResult
        ``done``, ``unchanged`` (already in that state), ``failed`` (not applied; journaled) or
        ``unknown`` (the call failed ambiguously and the trail could not be read back; the
        intent stays pending for ``trailkit journal --reconcile``).

    Raises
    ------
    RefusedError
        Blocking findings, no confirmation, or the trail changed since the plan.
    """
    plan.require_applicable()
    if not confirmed:
        raise RefusedError(
            f"The change to {plan.trail.name} was not confirmed; nothing was sent.",
            "review the plan, then confirm (--yes on the command line)",
        )
    current = read_trail_key(conn, plan.trail.arn, plan.region)
    if current != plan.before_key:
        raise RefusedError(
            f"{plan.trail.name} changed since the plan was made: it now uses "
            f"{current or 'SSE-S3'}, the plan expected {plan.before_key or 'SSE-S3'}. Nothing "
            "was sent.",
            "make a new plan from the trail's current state",
        )
    if plan.nothing_to_do:
        return ApplyResult(
            plan,
            "unchanged",
            f"{plan.trail.name} already uses {plan.describe_state(plan.after_key)}; nothing sent.",
            key_after=current,
            verified=True,
        )
    params = dict(plan.request)
    validate_request(conn, plan.region, "UpdateTrail", params)
    intent = journal.record_intent(
        kind=Kind.TRAIL_KEY,
        target_arn=plan.trail.arn,
        region=plan.region,
        before=plan.before_key,
        after=plan.after_key,
        rollback_of=plan.rollback_of,
        **_record_fields(conn),
    )
    try:
        response = conn.client("cloudtrail", plan.region).update_trail(**params)
    except _BOTO_ERRORS as exc:
        err = translate(exc, "UpdateTrail", permission="cloudtrail:UpdateTrail", region=plan.region)
        request_id = getattr(err, "request_id", None)
        if _certainly_rejected(exc):
            journal.record_outcome(
                intent, Phase.FAILED, after=plan.before_key, request_id=request_id, error=str(err)
            )
            return ApplyResult(
                plan,
                "failed",
                str(err),
                change_id=intent.change_id,
                key_after=plan.before_key,
                error=err,
            )
        return _settle_ambiguous(conn, plan, journal, intent, err, verify=verify)
    if after_send is not None:
        after_send()
    request_id = (response.get("ResponseMetadata") or {}).get("RequestId")
    try:
        stored = read_trail_key(conn, plan.trail.arn, plan.region)
    except TrailkitError as err:
        journal.record_outcome(
            intent,
            Phase.DONE,
            after=plan.after_key,
            request_id=request_id,
            note=f"accepted; read-back failed: {err}",
        )
        return ApplyResult(
            plan,
            "done",
            f"UpdateTrail was accepted but the trail could not be read back: {err}",
            change_id=intent.change_id,
            key_after=plan.after_key,
            request_id=request_id,
        )
    verified = stored == plan.after_key
    journal.record_outcome(
        intent,
        Phase.DONE,
        after=stored,
        request_id=request_id,
        note=None if verified else f"read back {stored!r}, expected {plan.after_key!r}",
    )
    delivery = verify_delivery(conn, plan.trail) if verify else None
    state = plan.describe_state(stored)
    message = (
        f"{plan.trail.name} now uses {state} (read back and verified)."
        if verified
        else f"{plan.trail.name} reads back {state}, not what was planned."
    )
    return ApplyResult(
        plan,
        "done",
        message,
        change_id=intent.change_id,
        key_after=stored,
        verified=verified,
        request_id=request_id,
        delivery=delivery,
    )


def _settle_ambiguous(
    conn: Connection,
    plan: Plan,
    journal: Journal,
    intent: Record,
    err: TrailkitError,
    *,
    verify: bool,
) -> ApplyResult:
    """UpdateTrail failed in a way that does not say whether it was applied: read the trail
    back and journal what is true, or leave the intent pending when that cannot be known."""
    stored: str | None = None
    unreadable: TrailkitError | None = None
    try:
        stored = read_trail_key(conn, plan.trail.arn, plan.region)
    except TrailkitError as read_err:
        unreadable = read_err
    request_id = getattr(err, "request_id", None)
    if unreadable is None and stored == plan.after_key:
        journal.record_outcome(
            intent,
            Phase.DONE,
            after=stored,
            request_id=request_id,
            note=f"UpdateTrail reported an error but the trail reads back the new key: {err}",
        )
        state = plan.describe_state(stored)
        return ApplyResult(
            plan,
            "done",
            f"{plan.trail.name} now uses {state} (read back and verified after UpdateTrail "
            f"reported: {err.message})",
            change_id=intent.change_id,
            key_after=stored,
            verified=True,
            request_id=request_id,
            error=err,
            delivery=verify_delivery(conn, plan.trail) if verify else None,
        )
    if unreadable is None and stored == plan.before_key:
        journal.record_outcome(
            intent,
            Phase.FAILED,
            after=stored,
            request_id=request_id,
            error=str(err),
            note="read back: not applied",
        )
        return ApplyResult(
            plan,
            "failed",
            f"{err} (read back: the trail still uses {plan.describe_state(stored)})",
            change_id=intent.change_id,
            key_after=stored,
            error=err,
        )
    why = (
        f"the trail could not be read back ({unreadable})"
        if unreadable is not None
        else f"the trail now reads back {plan.describe_state(stored)}, neither the old nor the "
        "new state"
    )
    return ApplyResult(
        plan,
        "unknown",
        f"UpdateTrail failed ({err.message}) and it is not known whether it was applied: {why}. "
        f"The journal keeps change {intent.change_id} pending; run `trailkit journal "
        "--reconcile` to settle it from the trail's state.",
        change_id=intent.change_id,
        error=err,
    )


def apply_many(
    conn: Connection, plans: Sequence[Plan], journal: Journal, *, confirmed: bool
) -> list[ApplyResult]:
    """Apply several plans one after another; one result per trail, never a silent stop.

    A refused or failed plan is reported and the others still run; an unexpected error stops
    the run, and every plan not attempted is reported as ``refused`` with the reason.
    """
    results: list[ApplyResult] = []
    for i, plan in enumerate(plans):
        try:
            results.append(apply(conn, plan, journal, confirmed=confirmed))
        except RefusedError as err:
            results.append(ApplyResult(plan, "refused", str(err), error=err))
        except TrailkitError as err:
            results.append(ApplyResult(plan, "failed", str(err), error=err))
            for rest in plans[i + 1 :]:
                results.append(
                    ApplyResult(
                        rest,
                        "refused",
                        f"not attempted: the run stopped at {plan.trail.name} ({err.message})",
                    )
                )
            break
    return results


def disable(reader: Reader, trail: str | Trail) -> Plan:
    """The plan that returns a trail to SSE-S3 (``KmsKeyId=""``), with its warning finding."""
    return plan_change(check(reader, trail, ""))


def rollback(reader: Reader, journal: Journal, change_id: str | None = None) -> Plan:
    """The plan that restores the state recorded before a change (the last one by default).

    The restored state is the exact previous one: a key ARN, or SSE-S3 (``KmsKeyId=""``). The
    plan goes through pre-flight like any other; apply it with :func:`apply`.

    Raises
    ------
    JournalError
        No such change, or nothing to roll back.
    RefusedError
        The change did not complete, so there is nothing to undo.
    """
    change: Change = journal.get(change_id) if change_id else journal.last(kind=Kind.TRAIL_KEY)
    if change.intent.kind is not Kind.TRAIL_KEY:
        raise RefusedError(
            f"Change {change.change_id} is a key policy change; restore it with "
            "`trailkit policy --restore`.",
            "",
        )
    if change.status not in ("done", "reconciled-done"):
        raise RefusedError(
            f"Change {change.change_id} is {change.status}; there is nothing to roll back.",
            "run `trailkit journal --reconcile` first if it is pending",
        )
    target = change.intent.before or ""
    plan = plan_change(
        check(reader, change.intent.target_arn, target), rollback_of=change.change_id
    )
    return plan


@requires("cloudtrail:GetTrail", "kms:GetKeyPolicy")
def reconcile_journal(conn: Connection, journal: Journal) -> list[tuple[Change, Record]]:
    """Settle intents without an outcome by reading the actual state from AWS."""

    def read_state(intent: Record) -> str | None:
        if intent.kind is Kind.TRAIL_KEY:
            return read_trail_key(conn, intent.target_arn, intent.region)
        try:
            data = conn.client("kms", intent.region).get_key_policy(
                KeyId=intent.target_arn, PolicyName="default"
            )
        except _BOTO_ERRORS as exc:
            raise translate(
                exc, "GetKeyPolicy", permission="kms:GetKeyPolicy", region=intent.region
            ) from None
        return str(data.get("Policy"))

    return reconcile(journal, read_state)


@dataclass(frozen=True)
class PolicyResult:
    """What happened to one key policy change."""

    key_arn: str
    status: str  # "done", "unchanged", "failed", "unknown" (intent left pending)
    message: str
    change_id: str | None = None
    request_id: str | None = None

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {
            "key_arn": self.key_arn,
            "status": self.status,
            "message": self.message,
            "change_id": self.change_id,
            "request_id": self.request_id,
        }


@requires("kms:GetKeyPolicy")
def read_key_policy(conn: Connection, key_arn: str, region: str) -> str:
    """The current key policy text."""
    try:
        data = conn.client("kms", region).get_key_policy(KeyId=key_arn, PolicyName="default")
    except _BOTO_ERRORS as exc:
        raise translate(exc, "GetKeyPolicy", permission="kms:GetKeyPolicy", region=region) from None
    return str(data.get("Policy") or "")


def _same_policy(a: str, b: str) -> bool:
    try:
        return bool(json.loads(a) == json.loads(b))
    except ValueError:
        return a == b


@requires("kms:PutKeyPolicy", "kms:GetKeyPolicy", role="operate")
def put_key_policy(
    conn: Connection,
    key_arn: str,
    before: str,
    after: str,
    journal: Journal,
    *,
    confirmed: bool,
    trail_arn: str | None = None,
    rollback_of: str | None = None,
) -> PolicyResult:
    """Replace a key policy (``before`` -> ``after``) with the same safety steps as a trail change.

    The current policy is re-read and must still equal ``before``; the request is validated
    against botocore's model and never sets ``BypassPolicyLockoutSafetyCheck``; intent and
    outcome (with both policies) are journaled so the change can be restored.

    Raises
    ------
    RefusedError
        Not confirmed, or the policy changed since it was read.
    """
    if not confirmed:
        raise RefusedError(
            f"The policy change to {key_arn} was not confirmed; nothing was sent.",
            "review the diff, then confirm (--yes on the command line)",
        )
    region = key_arn.split(":")[3]
    current = read_key_policy(conn, key_arn, region)
    if not _same_policy(current, before):
        raise RefusedError(
            f"The policy of {key_arn} changed since it was read; nothing was sent.",
            "read the key again and make a new repair plan",
        )
    if _same_policy(current, after):
        return PolicyResult(key_arn, "unchanged", "The policy already is as requested.")
    params = {"KeyId": key_arn, "PolicyName": "default", "Policy": after}
    validate_request(conn, region, "PutKeyPolicy", params)
    intent = journal.record_intent(
        kind=Kind.KEY_POLICY,
        target_arn=key_arn,
        region=region,
        before=current,
        after=after,
        trail_arn=trail_arn,
        rollback_of=rollback_of,
        **_record_fields(conn),
    )
    try:
        response = conn.client("kms", region).put_key_policy(**params)
    except _BOTO_ERRORS as exc:
        err = translate(exc, "PutKeyPolicy", permission="kms:PutKeyPolicy", region=region)
        request_id = getattr(err, "request_id", None)
        observed: str | None = current
        if not _certainly_rejected(exc):  # may have been applied: read back what is true
            try:
                observed = read_key_policy(conn, key_arn, region)
            except TrailkitError as read_err:
                return PolicyResult(
                    key_arn,
                    "unknown",
                    f"PutKeyPolicy failed ({err.message}) and the policy could not be read back "
                    f"({read_err}); change {intent.change_id} stays pending: run `trailkit "
                    "journal --reconcile`.",
                    change_id=intent.change_id,
                )
            if _same_policy(observed, after) and not _same_policy(observed, current):
                journal.record_outcome(
                    intent,
                    Phase.DONE,
                    after=observed,
                    request_id=request_id,
                    note=f"PutKeyPolicy reported an error but the policy reads back as sent: {err}",
                )
                return PolicyResult(
                    key_arn,
                    "done",
                    "Key policy updated and read back (after PutKeyPolicy reported an error).",
                    change_id=intent.change_id,
                )
            if not _same_policy(observed, current):
                return PolicyResult(
                    key_arn,
                    "unknown",
                    f"PutKeyPolicy failed ({err.message}) and the policy now matches neither the "
                    f"old nor the new one; change {intent.change_id} stays pending: run "
                    "`trailkit journal --reconcile`.",
                    change_id=intent.change_id,
                )
        journal.record_outcome(
            intent, Phase.FAILED, after=observed, request_id=request_id, error=str(err)
        )
        return PolicyResult(key_arn, "failed", str(err), change_id=intent.change_id)
    request_id = (response.get("ResponseMetadata") or {}).get("RequestId")
    try:
        stored = read_key_policy(conn, key_arn, region)
    except TrailkitError as read_err:
        journal.record_outcome(
            intent,
            Phase.DONE,
            after=after,
            request_id=request_id,
            note=f"accepted; read-back failed: {read_err}",
        )
        return PolicyResult(
            key_arn,
            "done",
            f"PutKeyPolicy was accepted but the policy could not be read back: {read_err}",
            change_id=intent.change_id,
            request_id=request_id,
        )
    verified = _same_policy(stored, after)
    journal.record_outcome(
        intent,
        Phase.DONE,
        after=stored,
        request_id=request_id,
        note=None if verified else "read-back policy differs from the one sent",
    )
    message = (
        "Key policy updated and read back."
        if verified
        else ("PutKeyPolicy was accepted but the policy read back differs.")
    )
    return PolicyResult(key_arn, "done", message, change_id=intent.change_id, request_id=request_id)


def restore_policy(
    conn: Connection, journal: Journal, change_id: str | None = None, *, confirmed: bool
) -> PolicyResult:
    """Put back the key policy recorded before a policy change (the last one by default)."""
    change = journal.get(change_id) if change_id else journal.last(kind=Kind.KEY_POLICY)
    if change.intent.kind is not Kind.KEY_POLICY:
        raise RefusedError(
            f"Change {change.change_id} is a trail change; undo it with `trailkit rollback`.", ""
        )
    if not change.applied or change.outcome is None or change.intent.before is None:
        raise RefusedError(f"Change {change.change_id} is {change.status}; nothing to restore.", "")
    return put_key_policy(
        conn,
        change.intent.target_arn,
        change.outcome.after or "",
        change.intent.before,
        journal,
        confirmed=confirmed,
        trail_arn=change.intent.trail_arn,
        rollback_of=change.change_id,
    )
