"""The records of the change journal: what a change modifies (:class:`Kind`), which record of
a change a line is (:class:`Phase`), one line (:class:`Record`) and one change folded from its
lines (:class:`Change`). The file itself is :mod:`trailkit.change.journal`. Bottom layer, so that
views can show the journal without importing the change engine.
"""

from __future__ import annotations

import dataclasses
import enum
import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from trailkit.errors import JournalError

__all__ = [
    "NOTE_APPLIED",
    "NOTE_CHANGED",
    "NOTE_NOT_APPLIED",
    "OUTCOME_PHASES",
    "Change",
    "Kind",
    "Phase",
    "ReadResult",
    "Record",
    "changes_frame",
    "undoable",
    "utc_now",
]


def utc_now() -> str:
    """The current time as ISO 8601 UTC with a ``Z`` (second precision)."""
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


class Kind(enum.StrEnum):
    """What a change modifies."""

    TRAIL_KEY = "trail-key"
    """A trail's KMS key (``UpdateTrail``); ``before``/``after`` are key ARNs, None = SSE-S3."""
    KEY_POLICY = "key-policy"
    """A KMS key policy (``PutKeyPolicy``); ``before``/``after`` are whole policy JSON strings."""


class Phase(enum.StrEnum):
    """Which record of a change this is."""

    INTENT = "intent"
    """Written and fsync'ed before the AWS call."""
    DONE = "done"
    """The call succeeded."""
    FAILED = "failed"
    """The call failed; ``error`` holds the translated message."""
    RECONCILED = "reconciled"
    """The outcome was unknown and was settled later by reading the live state."""


OUTCOME_PHASES = frozenset({Phase.DONE, Phase.FAILED, Phase.RECONCILED})

#: Notes written by :func:`reconcile` on ``RECONCILED`` records.
NOTE_APPLIED = "applied"
NOTE_NOT_APPLIED = "not-applied"
NOTE_CHANGED = "changed-by-someone-else"

# Fields that must be present in every stored record (``before``/``after`` may be null).
_REQUIRED_STR = (
    "change_id",
    "phase",
    "kind",
    "time",
    "caller_arn",
    "account",
    "endpoint",
    "backend",
    "target_arn",
    "region",
)
_REQUIRED_OPTIONAL = ("before", "after")
_OPTIONAL = ("request_id", "error", "rollback_of", "trail_arn", "note")
_NON_EMPTY = ("change_id", "time")


def _short(value: object, limit: int = 40) -> str:
    """``repr`` of a value, cut to ``limit`` characters (problems never echo whole lines)."""
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _type_name(value: object) -> str:
    if value is None:
        return "null"
    return {
        bool: "boolean",
        int: "number",
        float: "number",
        str: "string",
        list: "array",
        dict: "object",
    }.get(type(value), type(value).__name__)


@dataclass(frozen=True)
class Record:
    """One line of the journal.

    Parameters
    ----------
    change_id
        Identifies the change; shared by its intent and outcome records
        (e.g. ``"chg-20261129T051200Z-3f9a1c"``).
    phase
        Intent, or which outcome.
    kind
        What is changed.
    time
        When the record was written, ISO 8601 UTC with ``Z``.
    caller_arn, account, endpoint, backend
        Who made the change, in which account, through which endpoint (``""`` = AWS default),
        with which backend (``"demo"`` or ``"aws"``).
    target_arn
        The trail ARN (``TRAIL_KEY``) or the key ARN (``KEY_POLICY``).
    region
        The region the call is sent to.
    before, after
        ``TRAIL_KEY``: the key ARN before and requested (intent) or observed (outcome) after,
        None for SSE-S3. ``KEY_POLICY``: the policy JSON before and after.
    request_id
        The AWS request id of the call, when known.
    error
        For ``FAILED``: the translated error message.
    rollback_of
        The ``change_id`` this change undoes.
    trail_arn
        For ``KEY_POLICY``: the trail the repair was for.
    note
        Free text; :func:`reconcile` writes ``applied``, ``not-applied`` or
        ``changed-by-someone-else``.

    Raises
    ------
    JournalError
        A field has the wrong type, ``phase``/``kind`` is not a known value, or ``change_id`` or
        ``time`` is empty. Plain strings for ``phase``/``kind`` are converted to the enums.
    """

    change_id: str
    phase: Phase
    kind: Kind
    time: str
    caller_arn: str
    account: str
    endpoint: str
    backend: str
    target_arn: str
    region: str
    before: str | None
    after: str | None
    request_id: str | None = None
    error: str | None = None
    rollback_of: str | None = None
    trail_arn: str | None = None
    note: str | None = None

    def __post_init__(self) -> None:
        for name in _REQUIRED_STR:
            value: object = getattr(self, name)
            if not isinstance(value, str):
                raise JournalError(f"field {name!r} must be a string, not {_type_name(value)}.")
        for name in _REQUIRED_OPTIONAL + _OPTIONAL:
            value = getattr(self, name)
            if value is not None and not isinstance(value, str):
                raise JournalError(
                    f"field {name!r} must be a string or null, not {_type_name(value)}."
                )
        for name in _NON_EMPTY:
            if not getattr(self, name).strip():
                raise JournalError(f"field {name!r} must not be empty.")
        try:
            object.__setattr__(self, "phase", Phase(self.phase))
        except ValueError:
            known = ", ".join(p.value for p in Phase)
            raise JournalError(
                f"unknown phase {_short(self.phase)} (expected one of {known})."
            ) from None
        try:
            object.__setattr__(self, "kind", Kind(self.kind))
        except ValueError:
            known = ", ".join(k.value for k in Kind)
            raise JournalError(
                f"unknown kind {_short(self.kind)} (expected one of {known})."
            ) from None

    def as_dict(self) -> dict[str, str | None]:
        """All fields as a JSON-ready mapping (enums as their string values)."""
        out: dict[str, str | None] = {}
        for f in dataclasses.fields(self):
            value = getattr(self, f.name)
            out[f.name] = value.value if isinstance(value, enum.Enum) else value
        return out

    def as_json(self) -> str:
        """The record as one line of JSON (keys sorted, ASCII only, no newline at the end)."""
        return json.dumps(self.as_dict(), sort_keys=True, ensure_ascii=True, allow_nan=False)

    @classmethod
    def from_json(cls, line: str) -> Record:
        """Parse one journal line.

        Parameters
        ----------
        line
            The text of one line (surrounding whitespace is ignored).

        Returns
        -------
        Record

        Raises
        ------
        JournalError
            The text is not JSON, not a JSON object, misses a field, has a field of the wrong
            type, or names an unknown phase or kind. Unknown extra keys are ignored, so newer
            journals stay readable.
        """
        try:
            data = json.loads(line, parse_constant=_reject_constant)
        except json.JSONDecodeError as exc:
            stripped = line.rstrip()
            if exc.pos >= len(stripped) and stripped:
                raise JournalError("truncated JSON (a write may have been interrupted).") from None
            raise JournalError(f"not valid JSON ({exc.msg} at column {exc.colno}).") from None
        except ValueError as exc:
            raise JournalError(f"not valid JSON ({exc}).") from None
        except RecursionError:
            raise JournalError("not valid JSON (nested too deeply).") from None
        if not isinstance(data, dict):
            raise JournalError(f"not a JSON object (got {_type_name(data)}).")
        kwargs: dict[str, Any] = {}
        for name in _REQUIRED_STR + _REQUIRED_OPTIONAL:
            if name not in data:
                raise JournalError(f"missing field {name!r}.")
            kwargs[name] = data[name]
        for name in _OPTIONAL:
            kwargs[name] = data.get(name)
        record = cls(**kwargs)
        try:
            datetime.fromisoformat(record.time)
        except ValueError:
            raise JournalError(
                f"field 'time' is not an ISO 8601 time ({_short(record.time)})."
            ) from None
        return record


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not allowed")


@dataclass(frozen=True)
class Change:
    """The records of one ``change_id`` folded together.

    Parameters
    ----------
    change_id
        The change's id.
    intent
        The record written before the AWS call.
    outcome
        The ``done``/``failed``/``reconciled`` record, or None while the change is pending.
    """

    change_id: str
    intent: Record
    outcome: Record | None

    @property
    def status(self) -> str:
        """``done``, ``failed``, ``pending`` (intent without outcome), ``reconciled-done``,
        ``reconciled-not-applied`` or ``reconciled-changed`` (the live state matched neither the
        value before nor the value requested: someone else changed it).
        """
        if self.outcome is None:
            return "pending"
        phase = self.outcome.phase
        if phase is Phase.DONE:
            return "done"
        if phase is Phase.FAILED:
            return "failed"
        if self.outcome.note == NOTE_APPLIED:
            return "reconciled-done"
        if self.outcome.note == NOTE_NOT_APPLIED:
            return "reconciled-not-applied"
        return "reconciled-changed"

    @property
    def settled(self) -> bool:
        """True once the change has an outcome record."""
        return self.outcome is not None

    @property
    def applied(self) -> bool:
        """True if the change is known to have taken effect (``done`` or ``reconciled-done``)."""
        return self.status in {"done", "reconciled-done"}


@dataclass(frozen=True)
class ReadResult:
    """Everything readable in the journal, and what was not.

    Parameters
    ----------
    records
        Every record that parsed, in file order.
    problems
        One message per unreadable line or inconsistent record, e.g.
        ``"line 7: truncated JSON (the last write may have been interrupted)"``.
    """

    records: tuple[Record, ...]
    problems: tuple[str, ...]

    @property
    def ok(self) -> bool:
        """True when there are no problems."""
        return not self.problems


def _abbreviate(kind: Kind, value: str | None) -> str | None:
    if value is None or kind is not Kind.KEY_POLICY:
        return value
    size = len(value.encode("utf-8", "surrogatepass"))
    try:
        policy = json.loads(value)
    except (ValueError, RecursionError):
        return f"policy ({size} bytes, not JSON)"
    statements = policy.get("Statement") if isinstance(policy, dict) else None
    if isinstance(statements, list):
        count = len(statements)
    elif isinstance(statements, dict):
        count = 1
    else:
        count = 0
    return f"policy ({size} bytes, {count} statement{'' if count == 1 else 's'})"


def changes_frame(changes: list[Change]) -> list[dict[str, Any]]:
    """Flat, JSON-ready rows for tables (one per change).

    Each row has ``change_id, time`` (of the intent), ``kind, status, target_arn, region,
    before, after`` (the outcome's ``after`` when there is one, else the requested value),
    ``rollback_of, caller_arn, account, endpoint, request_id`` and ``error``. Key policies are
    abbreviated to ``"policy (<n> bytes, <m> statements)"``.
    """
    rows: list[dict[str, Any]] = []
    for change in changes:
        intent, outcome = change.intent, change.outcome
        after = outcome.after if outcome is not None else intent.after
        rows.append(
            {
                "change_id": change.change_id,
                "time": intent.time,
                "kind": intent.kind.value,
                "status": change.status,
                "target_arn": intent.target_arn,
                "region": intent.region,
                "before": _abbreviate(intent.kind, intent.before),
                "after": _abbreviate(intent.kind, after),
                "rollback_of": intent.rollback_of,
                "caller_arn": intent.caller_arn,
                "account": intent.account,
                "endpoint": intent.endpoint,
                "request_id": outcome.request_id if outcome is not None else intent.request_id,
                "error": outcome.error if outcome is not None else None,
            }
        )
    return rows


def undoable(changes: list[Change]) -> list[Change]:
    """Applied changes that were not undone yet, newest first: what a rollback may target.

    A change is undone when a later applied change names it in ``rollback_of``.
    """
    undone = {c.intent.rollback_of for c in changes if c.applied and c.intent.rollback_of}
    return [c for c in reversed(changes) if c.applied and c.change_id not in undone]
