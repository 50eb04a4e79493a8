"""Key facts an investigator asks for (issue 15, item 3): pure, no AWS call.

For a key a trail uses: when it will be deleted and how many days are left (the most urgent fact
of all: once the key is gone, the logs it encrypted can never be read again), whether KMS
rotates it, who manages it, where its material comes from, its multi-Region role and when it
was created. ``now`` is always given, so that "days left" is testable.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from trailkit.i18n import N_, _
from trailkit.records import KeyInfo, utc_iso

__all__ = [
    "FACT_FIELDS",
    "ROTATION_WORDS",
    "KeyFacts",
    "days_left",
    "key_facts",
    "pending_deletion",
    "rotation_readable",
    "rotation_state",
    "rotation_text",
]

#: ``rotation_state`` values, as a person reads them (marked here, translated where shown).
ROTATION_WORDS: dict[str, str] = {
    "enabled": N_("on"),
    "disabled": N_("off"),
    "unknown": N_("unknown"),
    "aws": N_("by AWS"),
    "not-read": "-",
}


def pending_deletion(key: KeyInfo) -> bool:
    """The key is scheduled for deletion (``PendingDeletion`` or ``PendingReplicaDeletion``)."""
    return key.state in ("PendingDeletion", "PendingReplicaDeletion")


def rotation_readable(key: KeyInfo, caller: str) -> bool:
    """Whether ``GetKeyRotationStatus`` is worth asking for ``key``: described, customer managed,
    in the caller's account (another account's key answers only if its policy says so: not a
    fact to spend a call and a warning on) and not pending deletion (KMS then answers false
    whatever the setting was, and restores it if the deletion is cancelled: the answer would
    mislead; GetKeyRotationStatus docs, "Pending deletion")."""
    return (
        key.error is None
        and key.manager == "CUSTOMER"
        and key.account == caller
        and not pending_deletion(key)
    )


def days_left(key: KeyInfo, now: datetime) -> int | None:
    """Whole days until a key pending deletion is deleted, rounded up (0 once the date has
    passed); None for a key not pending deletion or without a date.

    Parameters
    ----------
    key : KeyInfo
    now : datetime
        The current time (aware).
    """
    if not pending_deletion(key) or key.deletion_date is None:
        return None
    remaining = (key.deletion_date - now) / timedelta(days=1)
    return max(0, math.ceil(remaining))


def rotation_state(key: KeyInfo) -> str:
    """``enabled``, ``disabled``, ``unknown`` (the read failed: see ``rotation_error``), ``aws``
    (an AWS managed key: AWS rotates it every year) or ``not-read`` (not asked: another
    account's key, a key pending deletion, a key that could not be described)."""
    if key.rotation is not None:
        return "enabled" if key.rotation else "disabled"
    if key.rotation_error is not None:
        return "unknown"
    if key.manager == "AWS":
        return "aws"
    return "not-read"


def rotation_text(key: KeyInfo) -> str:
    """The rotation status as a sentence, translated (for a key card or a footnote)."""
    state = rotation_state(key)
    if state == "enabled":
        return _("Automatic rotation is on.")
    if state == "disabled":
        return _("Automatic rotation is off.")
    if state == "unknown":
        return _("Automatic rotation is unknown: {error}").format(error=key.rotation_error)
    if state == "aws":
        return _("AWS rotates this AWS managed key every year.")
    if pending_deletion(key):
        return _("Automatic rotation was not read: the key is pending deletion.")
    return _("Automatic rotation was not read.")


@dataclass(frozen=True)
class KeyFacts:
    """What an investigator asks about a key, computed at ``now``."""

    deletion_date: datetime | None
    days_left: int | None
    rotation: str
    rotation_error: str | None
    manager: str | None
    origin: str | None
    created: datetime | None
    multi_region: str | None  # PRIMARY, REPLICA, or None for a single-Region key
    primary_arn: str | None
    replica_arns: tuple[str, ...]

    @property
    def urgent(self) -> bool:
        """The key is pending deletion: the most urgent line of any page it is on."""
        return self.deletion_date is not None or self.days_left is not None

    def as_dict(self) -> dict[str, Any]:
        """JSON fields (``key_`` prefixed, times as UTC ISO text)."""
        return {
            "key_deletion_date": utc_iso(self.deletion_date),
            "key_days_left": self.days_left,
            "key_rotation": self.rotation,
            "key_rotation_error": self.rotation_error,
            "key_manager": self.manager,
            "key_origin": self.origin,
            "key_created": utc_iso(self.created),
            "key_multi_region": self.multi_region,
            "key_primary_arn": self.primary_arn,
            "key_replica_arns": list(self.replica_arns),
        }


#: The JSON fields of :meth:`KeyFacts.as_dict`, in order (None for a trail without a key).
FACT_FIELDS = (
    "key_deletion_date",
    "key_days_left",
    "key_rotation",
    "key_rotation_error",
    "key_manager",
    "key_origin",
    "key_created",
    "key_multi_region",
    "key_primary_arn",
    "key_replica_arns",
)


def key_facts(key: KeyInfo, now: datetime) -> KeyFacts:
    """The facts of ``key`` at ``now``.

    Parameters
    ----------
    key : KeyInfo
    now : datetime
        The current time (aware), for the days left before deletion.
    """
    pending = pending_deletion(key)
    return KeyFacts(
        deletion_date=key.deletion_date if pending else None,
        days_left=days_left(key, now),
        rotation=rotation_state(key),
        rotation_error=key.rotation_error,
        manager=key.manager,
        origin=key.origin,
        created=key.created,
        multi_region=key.multi_region_role if key.multi_region else None,
        primary_arn=key.primary_arn,
        replica_arns=key.replica_arns,
    )
