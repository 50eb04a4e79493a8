"""Plans: the exact change that would be sent, made from a pre-flight report (pure).

A :class:`Plan` names the trail, its home region and owning account, the key before and after
(``None`` = SSE-S3), the pre-flight findings, and the exact ``UpdateTrail`` request: always the
resolved key ARN (or ``""`` to turn SSE-KMS off), sent to the trail's home region. A plan with an
error finding cannot be applied.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

from trailkit.errors import KeyIdError, RefusedError
from trailkit.records import Trail
from trailkit.rules.checks import Report
from trailkit.rules.keyids import KeyIdKind, parse_key_id

__all__ = ["Plan", "plan_change"]


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
        """True when a finding is an error: the plan must not be applied."""
        return bool(self.report.errors)

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

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {
            "trail_arn": self.trail.arn,
            "home_region": self.region,
            "account": self.account,
            "before_key": self.before_key,
            "after_key": self.after_key,
            "request": dict(self.request),
            "blocked": self.blocked,
            "nothing_to_do": self.nothing_to_do,
            "rollback_of": self.rollback_of,
            "findings": [f.as_dict() for f in self.report.findings],
        }


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
