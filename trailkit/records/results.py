"""What a change did: :class:`Outcome`, :class:`WriteResult`, :class:`ApplyResult`,
:class:`PolicyResult` and :class:`Delivery`, so that every front end can show a result without
importing the change engine. Bottom layer.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import Any, Protocol

from trailkit.i18n import _, local_time
from trailkit.records.read import Trail, TrailStatus

__all__ = ["ApplyResult", "Delivery", "Outcome", "PlanView", "PolicyResult", "WriteResult"]


class Outcome(enum.StrEnum):
    """What happened to one write (``UpdateTrail`` or ``PutKeyPolicy``).

    The values are the strings of the JSON output and of the command line's ``DONE``/``FAILED``
    lines; compare with the members (``result.outcome is Outcome.DONE``), never with the text.
    """

    DONE = "done"
    """AWS accepted the write (or it is known to have taken effect); journaled ``done``."""
    UNCHANGED = "unchanged"
    """The target already was in the requested state; nothing was sent or journaled."""
    FAILED = "failed"
    """Not applied; journaled ``failed`` with the translated error."""
    REFUSED = "refused"
    """Not attempted (blocking findings, no confirmation, changed since the plan, or a bulk run
    that stopped earlier); nothing was sent."""
    UNKNOWN = "unknown"
    """The call failed ambiguously and the state could not be read back: the journal keeps the
    intent pending for ``trailkit journal --reconcile``."""

    @property
    def succeeded(self) -> bool:
        """True for :attr:`DONE` and :attr:`UNCHANGED`: the target is in the requested state."""
        return self in (Outcome.DONE, Outcome.UNCHANGED)


@dataclass(frozen=True)
class WriteResult:
    """What one journaled write did, the same for ``UpdateTrail`` and ``PutKeyPolicy``.

    Parameters
    ----------
    outcome
        What happened.
    message
        One sentence for the operator.
    change_id
        The journal's change id (None when nothing was journaled).
    after
        The state read back after the call (a key ARN or None for SSE-S3; a policy's JSON); the
        requested state when AWS accepted the call but it could not be read back; None when the
        outcome is unknown.
    verified
        The state was read back and equals the requested one.
    request_id
        The AWS request id of the call that changed the state (``done`` only).
    error
        The translated error (a :class:`~trailkit.errors.TrailkitError`) when the call failed.
    unjournaled
        The outcome record (one line of JSON) that could not be written to the journal (a full
        disk, say); None when the journal has it. The outcome is still what was read back.
    """

    outcome: Outcome
    message: str
    change_id: str | None = None
    after: str | None = None
    verified: bool = False
    request_id: str | None = None
    error: Exception | None = None
    unjournaled: str | None = None

    @property
    def changed(self) -> bool:
        """True when the write took effect (:attr:`Outcome.DONE`)."""
        return self.outcome is Outcome.DONE


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
            out.append(_("log delivery: {error}").format(error=s.latest_delivery_error))
        if s.latest_digest_delivery_error:
            out.append(_("digest delivery: {error}").format(error=s.latest_digest_delivery_error))
        if s.error:
            out.append(_("status unreadable: {error}").format(error=s.error))
        return tuple(out)

    @property
    def ok(self) -> bool:
        """No delivery error is reported."""
        return not self.errors

    def summary(self) -> str:
        """One line for the operator."""
        if not self.ok:
            return _("DELIVERY ERRORS: {errors} — consider rolling back.").format(
                errors="; ".join(self.errors)
            )
        when = self.status.latest_delivery_time
        if not when:
            return _("no delivery errors (latest delivery: none yet)")
        return _("no delivery errors (latest delivery: {time})").format(time=local_time(when))


class PlanView(Protocol):
    """What a result needs of the plan it came from.

    :class:`trailkit.rules.plan.Plan` is one; the records stay below the rules layer by naming
    only this.
    """

    @property
    def trail(self) -> Trail:
        """The trail the plan changes."""
        ...

    @property
    def before_key(self) -> str | None:
        """The key before (None = SSE-S3)."""
        ...

    @property
    def after_key(self) -> str | None:
        """The key requested (None = SSE-S3)."""
        ...

    @property
    def rollback_of(self) -> str | None:
        """The change id the plan undoes, if any."""
        ...

    def describe_state(self, key: str | None) -> str:
        """``SSE-S3`` or ``SSE-KMS (alias, ARN)``."""
        ...


@dataclass(frozen=True)
class ApplyResult:
    """What happened to one trail plan (``UpdateTrail``)."""

    plan: PlanView
    outcome: Outcome
    message: str
    change_id: str | None = None
    key_after: str | None = None
    verified: bool = False
    request_id: str | None = None
    error: Exception | None = None
    delivery: Delivery | None = None
    unjournaled: str | None = None
    """The outcome record the journal could not take (see :class:`WriteResult`)."""

    @classmethod
    def from_write(
        cls, plan: PlanView, written: WriteResult, delivery: Delivery | None = None
    ) -> ApplyResult:
        """The result of ``plan`` from what its journaled write did."""
        return cls(
            plan,
            written.outcome,
            written.message,
            change_id=written.change_id,
            key_after=written.after,
            verified=written.verified,
            request_id=written.request_id,
            error=written.error,
            delivery=delivery,
            unjournaled=written.unjournaled,
        )

    @property
    def changed(self) -> bool:
        """True when UpdateTrail was accepted (:attr:`Outcome.DONE`)."""
        return self.outcome is Outcome.DONE

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {
            "trail_arn": self.plan.trail.arn,
            "status": self.outcome.value,
            "message": self.message,
            "change_id": self.change_id,
            "key_before": self.plan.before_key,
            "key_after": self.key_after,
            "verified": self.verified,
            "request_id": self.request_id,
            "delivery_errors": list(self.delivery.errors) if self.delivery else [],
            "journaled": self.unjournaled is None,
        }


@dataclass(frozen=True)
class PolicyResult:
    """What happened to one key policy change (``PutKeyPolicy``)."""

    key_arn: str
    outcome: Outcome
    message: str
    change_id: str | None = None
    request_id: str | None = None
    error: Exception | None = None
    unjournaled: str | None = None
    """The outcome record the journal could not take (see :class:`WriteResult`)."""

    @classmethod
    def from_write(cls, key_arn: str, written: WriteResult) -> PolicyResult:
        """The result of a policy change from what its journaled write did."""
        return cls(
            key_arn,
            written.outcome,
            written.message,
            change_id=written.change_id,
            request_id=written.request_id,
            error=written.error,
            unjournaled=written.unjournaled,
        )

    @property
    def changed(self) -> bool:
        """True when PutKeyPolicy was accepted (:attr:`Outcome.DONE`)."""
        return self.outcome is Outcome.DONE

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {
            "key_arn": self.key_arn,
            "status": self.outcome.value,
            "message": self.message,
            "change_id": self.change_id,
            "request_id": self.request_id,
            "journaled": self.unjournaled is None,
        }
