"""The records of the change journal: what a change modifies (:class:`Kind`), which record of
a change a line is (:class:`Phase`), one line (:class:`Record`) and one change folded from its
lines (:class:`Change`). The file itself is :mod:`trailkit.change.journal`. Bottom layer, so that
views can show the journal without importing the change engine.
"""

from __future__ import annotations

import dataclasses
import enum
import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol

import msgspec

from trailkit.errors import JournalError
from trailkit.i18n import N_, _, language

__all__ = [
    "DELIVERY_WORDS",
    "NOTE_APPLIED",
    "NOTE_CHANGED",
    "NOTE_NOT_APPLIED",
    "NOTE_TARGET_GONE",
    "OUTCOME_PHASES",
    "PROOF_STATUSES",
    "Change",
    "Kind",
    "Phase",
    "ProofLike",
    "ProofObject",
    "ReadResult",
    "Record",
    "changes_frame",
    "newer_change",
    "proof_reason",
    "same_place",
    "undoable",
    "undone_by",
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
    VERIFIED = "verified"
    """A delivery proof of an applied change (``trailkit verify``, issue 17), written after its
    outcome; any number of them, the newest wins. Never an outcome: it settles, supersedes and
    undoes nothing."""


#: The phases that settle a change (``VERIFIED`` is not one of them).
OUTCOME_PHASES = frozenset({Phase.DONE, Phase.FAILED, Phase.RECONCILED})

#: The values of a ``VERIFIED`` record's ``note``: a delivery proof's status
#: (``trailkit.records.proof.ProofStatus``).
PROOF_STATUSES = ("proven", "pending", "failed", "unverifiable")

#: Notes written by :func:`reconcile` on ``RECONCILED`` records.
NOTE_APPLIED = "applied"
NOTE_NOT_APPLIED = "not-applied"
NOTE_CHANGED = "changed-by-someone-else"
NOTE_TARGET_GONE = "target-gone"

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
_OPTIONAL = (
    "request_id",
    "error",
    "rollback_of",
    "trail_arn",
    "note",
    "host",
    "role_arn",
    "via_account",
    "log_object",
    "digest_object",
)
# Optional integer fields (written by newer versions; absent in older journals).
_OPTIONAL_INT = ("pid",)
_NON_EMPTY = ("change_id", "time")


def _short(value: object, limit: int = 40) -> str:
    """``repr`` of a value, cut to ``limit`` characters (problems never echo whole lines)."""
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _type_name(value: object) -> str:
    """The JSON type of a value, in words (``null`` is JSON's own word in any language)."""
    if value is None:
        return "null"
    name = _JSON_TYPES.get(type(value))
    return _(name) if name is not None else type(value).__name__


_JSON_TYPES: dict[type, str] = {
    bool: N_("boolean"),
    int: N_("number"),
    float: N_("number"),
    str: N_("string"),
    list: N_("array"),
    dict: N_("object"),
}


@dataclass(frozen=True, slots=True)
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
        Free text; :func:`reconcile` writes ``applied``, ``not-applied``,
        ``changed-by-someone-else`` or ``target-gone``.
    host, pid
        The host name and process id of the process that wrote an intent, so that reconcile
        never settles a change whose writer may still be running. Optional: journals written
        before these fields existed still read (both are then None).
    role_arn
        The role assumed to act in ``account`` when the change was made in another account
        than the caller's own (``arn:aws:iam::ACCOUNT:role/NAME``, issue 16); ``caller_arn`` is
        then that role's session. None (and absent from the line) for a change made with the
        caller's own credentials, and in journals written before the field existed. A rollback
        of the change assumes this role again. It must be a role of ``account``.
    via_account
        With ``role_arn``: the caller's own account, the one that assumed the role (issue 16),
        so that ``rollback --last`` offers only the role changes made from that account. None
        (and absent from the line) for a change made with the caller's own credentials, and in
        journals written before the field existed (their role changes are undone by id only).
    log_object, digest_object
        For ``VERIFIED``: the S3 keys of the newest log file and digest file whose encryption
        was read (``HeadObject``) to prove delivery, None when none was found. Absent from
        every other line, and from journals written before issue 17.

    Raises
    ------
    JournalError
        A field has the wrong type, ``phase``/``kind`` is not a known value, ``change_id`` or
        ``time`` is empty, or ``role_arn`` is not a role of ``account``. Plain strings for
        ``phase``/``kind`` are converted to the enums.
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
    host: str | None = None
    pid: int | None = None
    role_arn: str | None = None
    via_account: str | None = None
    log_object: str | None = None
    digest_object: str | None = None

    def __post_init__(self) -> None:
        # One pass with exact type checks first: a large journal builds many records.
        for name in _REQUIRED_STR:
            value: object = getattr(self, name)
            if type(value) is not str and not isinstance(value, str):
                raise JournalError(
                    _("field {field} must be a string, not {type}.").format(
                        field=repr(name), type=_type_name(value)
                    )
                )
        for name in _NULLABLE_STR:
            value = getattr(self, name)
            if value is not None and type(value) is not str and not isinstance(value, str):
                raise JournalError(
                    _("field {field} must be a string or null, not {type}.").format(
                        field=repr(name), type=_type_name(value)
                    )
                )
        for name in _OPTIONAL_INT:
            value = getattr(self, name)
            if value is not None and (not isinstance(value, int) or isinstance(value, bool)):
                raise JournalError(
                    _("field {field} must be a whole number or null, not {type}.").format(
                        field=repr(name),
                        type=_short(value) if isinstance(value, float) else _type_name(value),
                    )
                )
        for name in _NON_EMPTY:
            if not getattr(self, name).strip():
                raise JournalError(_("field {field} must not be empty.").format(field=repr(name)))
        phase = _PHASES.get(self.phase)
        if phase is None:
            known = ", ".join(p.value for p in Phase)
            raise JournalError(
                _("unknown phase {value} (expected one of {known}).").format(
                    value=_short(self.phase), known=known
                )
            )
        kind = _KINDS.get(self.kind)
        if kind is None:
            known = ", ".join(k.value for k in Kind)
            raise JournalError(
                _("unknown kind {value} (expected one of {known}).").format(
                    value=_short(self.kind), known=known
                )
            )
        if self.role_arn is not None and not _role_of(self.role_arn, self.account):
            raise JournalError(
                _("field 'role_arn' is not a role of account {account} ({value}).").format(
                    account=self.account, value=_short(self.role_arn, 80)
                )
            )
        object.__setattr__(self, "phase", phase)
        object.__setattr__(self, "kind", kind)

    def as_dict(self) -> dict[str, str | int | None]:
        """All fields as a JSON-ready mapping (enums as their string values).

        ``host``, ``pid``, ``role_arn``, ``via_account``, ``log_object`` and ``digest_object``
        are left out when None, so a record without them is written as older versions wrote
        it.
        """
        out: dict[str, str | int | None] = {}
        for f in dataclasses.fields(self):
            value = getattr(self, f.name)
            if value is None and f.name in _WRITER_FIELDS:
                continue
            out[f.name] = value.value if isinstance(value, enum.Enum) else value
        return out

    def as_json(self) -> str:
        """The record as one line of JSON (keys sorted, ASCII only, no newline at the end)."""
        return json.dumps(self.as_dict(), sort_keys=True, ensure_ascii=True, allow_nan=False)

    @classmethod
    def from_json(cls, line: str, shared: dict[str, str] | None = None) -> Record:
        """Parse one journal line.

        Parameters
        ----------
        line
            The text of one line (surrounding whitespace is ignored).
        shared
            Strings already seen (a reader of many lines passes one dict for all of them): a
            repeated value (an account, an ARN, a key) is then kept once in memory.

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
            data = _DECODER.decode(line)
        except json.JSONDecodeError as exc:
            stripped = line.rstrip()
            if exc.pos >= len(stripped) and stripped:
                raise JournalError(
                    _("truncated JSON (a write may have been interrupted).")
                ) from None
            # json's messages "Unterminated string starting at" and "Invalid control character
            # at" end in "at" already: "starting at column 20", never "starting at at column".
            what = exc.msg.removesuffix(" at")
            raise JournalError(
                _("not valid JSON ({what} at column {column}).").format(
                    what=_(_JSON_ERRORS[what]) if what in _JSON_ERRORS else what,
                    column=exc.colno,
                )
            ) from None
        except ValueError as exc:
            raise JournalError(_("not valid JSON ({error}).").format(error=exc)) from None
        except RecursionError:
            raise JournalError(_("not valid JSON (nested too deeply).")) from None
        if not isinstance(data, dict):
            raise JournalError(_("not a JSON object (got {type}).").format(type=_type_name(data)))
        if not data.keys() >= _REQUIRED_KEYS:
            missing = next(n for n in _REQUIRED_STR + _REQUIRED_OPTIONAL if n not in data)
            raise JournalError(_("missing field {field}.").format(field=repr(missing)))
        if shared is not None:
            for name in _SHARED:
                value = data.get(name)
                if type(value) is str:
                    data[name] = shared.setdefault(value, value)
        record = _build(cls, data)
        try:
            datetime.fromisoformat(record.time)
        except ValueError:
            raise JournalError(
                _("field 'time' is not an ISO 8601 time ({value}).").format(
                    value=_short(record.time)
                )
            ) from None
        return record


_WRITER_FIELDS = frozenset(
    {"host", "pid", "role_arn", "via_account", "log_object", "digest_object"}
)
_SLOT_SETTERS = tuple((f.name, Record.__dict__[f.name].__set__) for f in dataclasses.fields(Record))
_NULLABLE_STR = _REQUIRED_OPTIONAL + _OPTIONAL
_REQUIRED_KEYS = frozenset(_REQUIRED_STR + _REQUIRED_OPTIONAL)
# The string fields whose values repeat from record to record.
_SHARED = (
    "caller_arn",
    "account",
    "endpoint",
    "backend",
    "target_arn",
    "region",
    "before",
    "after",
    "trail_arn",
    "host",
    "role_arn",
    "via_account",
)
_PHASES: dict[object, Phase] = {p.value: p for p in Phase}
_KINDS: dict[object, Kind] = {k.value: k for k in Kind}


def _role_of(role_arn: str, account: str) -> bool:
    """Whether ``role_arn`` is an IAM role ARN (``arn:PARTITION:iam::ACCOUNT:role/...``) of
    ``account``: a journal line whose role is another account's cannot be undone through it."""
    parts = role_arn.split(":", 5)
    return (
        len(parts) == 6
        and parts[0] == "arn"
        and parts[2] == "iam"
        and parts[4] == account
        and parts[5].startswith("role/")
    )


def _reject_constant(name: str) -> Any:
    raise ValueError(_("{name} is not allowed").format(name=name))


#: What Python's ``json`` says is wrong with a line (its messages, without a trailing " at"),
#: in words the operator reads; a message not listed here is shown as ``json`` wrote it.
_JSON_ERRORS = {
    "Expecting value": N_("Expecting value"),
    "Expecting property name enclosed in double quotes": N_(
        "Expecting property name enclosed in double quotes"
    ),
    "Expecting ':' delimiter": N_("Expecting ':' delimiter"),
    "Expecting ',' delimiter": N_("Expecting ',' delimiter"),
    "Unterminated string starting": N_("Unterminated string starting"),
    "Invalid control character": N_("Invalid control character"),
    "Invalid \\escape": N_("Invalid \\escape"),
    "Invalid \\uXXXX escape": N_("Invalid \\uXXXX escape"),
    "Extra data": N_("Extra data"),
    "Illegal trailing comma before end of object": N_(
        "Illegal trailing comma before end of object"
    ),
    "Illegal trailing comma before end of array": N_("Illegal trailing comma before end of array"),
}


_DECODER = json.JSONDecoder(parse_constant=_reject_constant)


def _line_struct() -> type[msgspec.Struct]:
    """A msgspec type with Record's fields, each typed as ``from_json`` checks it.

    Built from the field lists above, so it cannot drift from ``Record``: ``phase`` and ``kind``
    decode to the enums, the other required fields to ``str`` (``before``/``after`` may be
    null), the optional ones default to None. Unknown keys are ignored, as in ``from_json``.
    """
    fields: list[tuple[str, Any] | tuple[str, Any, Any]] = []
    for f in dataclasses.fields(Record):
        name = f.name
        if name == "phase":
            fields.append((name, Phase))
        elif name == "kind":
            fields.append((name, Kind))
        elif name in _REQUIRED_STR:
            fields.append((name, str))
        elif name in _REQUIRED_OPTIONAL:
            fields.append((name, str | None))
        elif name in _OPTIONAL_INT:
            fields.append((name, int | None, None))
        else:
            fields.append((name, str | None, None))
    return msgspec.defstruct("_Line", fields)


_LINE_DECODER = msgspec.json.Decoder(_line_struct())
_SETTERS = tuple(setter for _name, setter in _SLOT_SETTERS)
_SHARED_AT = tuple(i for i, (name, _) in enumerate(_SLOT_SETTERS) if name in _SHARED)
_CHANGE_ID_AT = [name for name, _setter in _SLOT_SETTERS].index("change_id")
_TIME_AT = [name for name, _setter in _SLOT_SETTERS].index("time")
_ROLE_AT = [name for name, _setter in _SLOT_SETTERS].index("role_arn")
_ACCOUNT_AT = [name for name, _setter in _SLOT_SETTERS].index("account")


def record_from_line(line: bytes | str, shared: dict[str, str] | None = None) -> Record | None:
    """The record on one journal line, or None when the line needs :meth:`Record.from_json`.

    The fast path for a large journal: the line is decoded and type-checked in one step by
    msgspec (a maintained C decoder) instead of ``json`` plus a Python check per field, about
    three times faster. It accepts exactly the lines :meth:`Record.from_json` accepts and gives
    an equal record; for any other line (blank, not UTF-8, not JSON, a wrong type, an unknown
    phase, an empty id, a bad time, an integer beyond 64 bits) it returns None, and the caller
    asks :meth:`Record.from_json`, which says what is wrong.

    Parameters
    ----------
    line
        One line of the journal (UTF-8 bytes or text, surrounding whitespace allowed).
    shared
        As for :meth:`Record.from_json`: repeated strings are kept once in memory.

    Returns
    -------
    Record or None
    """
    try:
        decoded = _LINE_DECODER.decode(line)
    except (msgspec.DecodeError, ValueError, RecursionError):
        return None
    values = list(msgspec.structs.astuple(decoded))
    change_id, when = values[_CHANGE_ID_AT], values[_TIME_AT]
    if not change_id.strip() or not when.strip():
        return None
    try:
        datetime.fromisoformat(when)
    except ValueError:
        return None
    role = values[_ROLE_AT]
    if role is not None and not _role_of(role, values[_ACCOUNT_AT]):
        return None
    if shared is not None:
        for i in _SHARED_AT:
            value = values[i]
            if value is not None:
                values[i] = shared.setdefault(value, value)
    record = object.__new__(Record)
    for setter, value in zip(_SETTERS, values, strict=True):
        setter(record, value)
    return record


def _build(cls: type[Record], values: dict[str, Any]) -> Record:
    """``cls(**values)`` without the frozen ``__init__``'s per-field ``object.__setattr__``.

    The slots are filled through their descriptors and ``__post_init__`` validates exactly as
    the constructor does; a 100,000-line journal is parsed about four times faster this way.
    """
    record = object.__new__(cls)
    for name, setter in _SLOT_SETTERS:
        setter(record, values.get(name))
    record.__post_init__()
    return record


#: :attr:`Change.status` in words (each code is its own English word): the one map every view
#: that shows a status to a person uses (the journal, tables and JSON keep the code).
STATUS_WORDS: Mapping[str, str] = {
    "done": N_("done"),
    "failed": N_("failed"),
    "pending": N_("pending"),
    "reconciled-done": N_("reconciled-done"),
    "reconciled-not-applied": N_("reconciled-not-applied"),
    "reconciled-changed": N_("reconciled-changed"),
    "reconciled-target-gone": N_("reconciled-target-gone"),
}


#: A change's delivery proof (:attr:`Change.proof`) in words: the journal's Delivery column;
#: tables and JSON keep the code. ``pending`` has words of its own: the journal status
#: "pending" means "no outcome recorded", a pending proof "nothing delivered since yet".
DELIVERY_WORDS: Mapping[str, str] = {
    "proven": N_("proven"),
    "pending": N_("awaiting delivery"),
    "failed": N_("failed"),
    "unverifiable": N_("unverifiable"),
}


class ProofObject(Protocol):
    """What the journal reads of a delivered S3 object
    (``trailkit.records.proof.DeliveredObject``)."""

    @property
    def key(self) -> str: ...

    @property
    def encryption(self) -> str | None: ...

    @property
    def kms_key_id(self) -> str | None: ...


class ProofLike(Protocol):
    """What :meth:`trailkit.change.journal.Journal.record_verification` reads of a delivery
    proof (``trailkit.records.proof.Proof``): the journal depends on these attributes only."""

    @property
    def status(self) -> str: ...  # a ProofStatus: a StrEnum, so its str() is its value

    @property
    def reason(self) -> str: ...

    @property
    def log(self) -> ProofObject | None: ...

    @property
    def digest(self) -> ProofObject | None: ...

    @property
    def checked_at(self) -> datetime | None: ...

    @property
    def change_id(self) -> str | None: ...


@dataclass(frozen=True, slots=True)
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
    verification
        The newest ``verified`` record (a delivery proof, issue 17), or None when the change's
        delivery was never proven. It does not settle the change.
    """

    change_id: str
    intent: Record
    outcome: Record | None
    verification: Record | None = None

    @property
    def proof(self) -> str | None:
        """The status of the newest delivery proof (``proven``, ``pending``, ``failed`` or
        ``unverifiable``, :data:`PROOF_STATUSES`), None when there is none."""
        return self.verification.note if self.verification is not None else None

    @property
    def status(self) -> str:
        """``done``, ``failed``, ``pending`` (intent without outcome), ``reconciled-done``,
        ``reconciled-not-applied``, ``reconciled-changed`` (the live state matched neither the
        value before nor the value requested: someone else changed it) or
        ``reconciled-target-gone`` (the trail or key no longer exists).
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
        if self.outcome.note == NOTE_TARGET_GONE:
            return "reconciled-target-gone"
        return "reconciled-changed"

    @property
    def status_text(self) -> str:
        """:attr:`status` in the operator's language, for a sentence (the code stays English
        in tables and JSON)."""
        return _(STATUS_WORDS[self.status])

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


def changes_frame(
    changes: list[Change], undone: Mapping[str, Change] | None = None
) -> list[dict[str, Any]]:
    """Flat, JSON-ready rows for tables (one per change).

    Each row has ``change_id, time`` (of the intent), ``kind, status, target_arn, region,
    before, after`` (the outcome's ``after`` when there is one, else the requested value),
    ``rollback_of``, ``undone_by`` (the applied rollback that undoes the change now, else
    None), ``caller_arn, account, role_arn, endpoint, backend, request_id`` and ``error`` (the
    backend, endpoint and account say where the change was made: demo or real AWS; ``role_arn``
    the role assumed to make it in another account, else None), then ``delivery`` (the status
    of the newest delivery proof, :attr:`Change.proof`, else None) and ``proof`` (that proof:
    ``{status, time, reason, log_object, digest_object}``, ``reason`` None when proven; None
    when there is none). Key policies are
    abbreviated to ``"policy (<n> bytes, <m> statements)"``; for a trail, None means SSE-S3.

    Parameters
    ----------
    changes
        The changes to show, oldest first.
    undone
        :func:`undone_by` of the whole journal. Default: computed from ``changes``, which is
        right when ``changes`` is the whole journal or its newest part (whether a change is
        undone depends only on the changes after it).
    """
    if undone is None:
        undone = undone_by(changes)
    rows: list[dict[str, Any]] = []
    for change in changes:
        by = undone.get(change.change_id)
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
                "undone_by": by.change_id if by is not None else None,
                "caller_arn": intent.caller_arn,
                "account": intent.account,
                "role_arn": intent.role_arn,
                "via_account": intent.via_account,
                "endpoint": intent.endpoint,
                "backend": intent.backend,
                "request_id": outcome.request_id if outcome is not None else intent.request_id,
                "error": outcome.error if outcome is not None else None,
                "delivery": change.proof,
                "proof": _proof_row(change.verification),
            }
        )
    return rows


def _proof_row(record: Record | None) -> dict[str, Any] | None:
    """A ``verified`` record as the ``proof`` of a :func:`changes_frame` row."""
    if record is None:
        return None
    return {
        "status": record.note,
        "time": record.time,
        "reason": record.error,
        "log_object": record.log_object,
        "digest_object": record.digest_object,
    }


def same_place(
    record: Record, account: str | None, endpoint: str | None, *, roles: bool = False
) -> bool:
    """Whether ``record`` was made on this account and endpoint.

    ``None`` for either means "any". Endpoints are compared as written, except that every AWS
    default endpoint (``""`` or ``https://*.<region>.amazonaws.com (AWS default)``) is the same
    place whatever region the connection was opened in. With ``roles``, a change made in
    another account through a role assumed from ``account`` (``role_arn`` and ``via_account``
    recorded) counts too: it can be reached again through that role from here (issue 16). A
    role change made from another account (a shared journal), or recorded before
    ``via_account`` existed, does not.
    """
    elsewhere = account is not None and record.account != account
    if elsewhere and not (roles and record.role_arn and record.via_account == account):
        return False
    if endpoint is None:
        return True
    return _endpoint_key(record.endpoint) == _endpoint_key(endpoint)


def _endpoint_key(endpoint: str) -> str:
    text = endpoint.strip()
    if not text or text.endswith("(AWS default)"):
        return "aws-default"
    return text.rstrip("/")


def undone_by(changes: list[Change]) -> dict[str, Change]:
    """For each change that is undone now: the applied rollback that undoes it.

    A rollback ``R`` undoes the change named in its ``rollback_of`` only while ``R`` is not
    undone itself (undoing a rollback puts the original change back in force).
    """
    rollbacks: dict[str, list[Change]] = {}
    for change in changes:
        target = change.intent.rollback_of
        if target and change.applied:
            rollbacks.setdefault(target, []).append(change)
    memo: dict[str, Change | None] = {}

    def undoer(change_id: str, depth: int = 0) -> Change | None:
        if change_id in memo:
            return memo[change_id]
        memo[change_id] = None  # a cycle (a damaged journal) counts as not undone
        found: Change | None = None
        if depth < 10_000:
            for rollback in rollbacks.get(change_id, ()):
                if undoer(rollback.change_id, depth + 1) is None:
                    found = rollback
        memo[change_id] = found
        return found

    out: dict[str, Change] = {}
    for change in changes:
        by = undoer(change.change_id)
        if by is not None:
            out[change.change_id] = by
    return out


def _offered(changes: list[Change]) -> dict[str, Change | None]:
    """For every applied, not undone change: the change that blocks undoing it (None: none).

    A later change of the same target (in the same account, at the same endpoint) that is
    applied and not undone blocks an undo, except a rollback of a change that is itself later
    than the one to undo (that pair cancels out).
    """
    undone = undone_by(changes)
    position = {c.change_id: i for i, c in enumerate(changes)}
    live: dict[tuple[str, str, str, str], list[Change]] = {}
    for change in changes:
        if change.applied and change.change_id not in undone:
            intent = change.intent
            where = (intent.account, _endpoint_key(intent.endpoint))
            live.setdefault((*where, intent.kind.value, intent.target_arn), []).append(change)
    out: dict[str, Change | None] = {}
    for chain in live.values():
        blocker: Change | None = None  # the newest later non-rollback, or an unpaired rollback
        lowest_target = len(changes)  # earliest change rolled back by a later live rollback
        lowest_rollback: Change | None = None
        for change in reversed(chain):
            mine = position[change.change_id]
            if blocker is not None:
                out[change.change_id] = blocker
            elif lowest_rollback is not None and lowest_target <= mine:
                out[change.change_id] = lowest_rollback
            else:
                out[change.change_id] = None
            target = change.intent.rollback_of
            if target is None:
                blocker = blocker or change
            else:
                rolled_back = position.get(target, -1)
                if rolled_back < lowest_target:
                    lowest_target, lowest_rollback = rolled_back, change
    return out


def newer_change(changes: list[Change], change: Change) -> Change | None:
    """A later change that undoing ``change`` would throw away, if any.

    That is a later change of the same target that is applied and not undone, other than a
    rollback of a change later than ``change`` (that pair cancels out). Rollbacks refuse to undo
    ``change`` while there is one: undo the newer one first.
    """
    return _offered(changes).get(change.change_id)


def undoable(
    changes: list[Change],
    *,
    account: str | None = None,
    endpoint: str | None = None,
    rollbacks: bool = False,
    roles: bool = False,
) -> list[Change]:
    """What a rollback may target, newest first.

    A change is offered when it was applied, is not undone (see :func:`undone_by`) and no later
    change of its target would be thrown away by undoing it (see :func:`newer_change`).

    Parameters
    ----------
    changes
        The journal's changes, oldest first.
    account, endpoint
        Only changes made on this account and endpoint (see :func:`same_place`); None: any.
    rollbacks
        Offer rollbacks too (a view where the operator picks a change by its id). False, for
        ``rollback --last``: a rollback is undone only by naming its change id, so running
        ``--last`` twice never re-applies what the first run undid.
    roles
        Offer too the changes made in another account through a role assumed from
        ``account`` (``role_arn`` and ``via_account`` recorded): they are undone through that
        role (see :func:`same_place`).
    """
    offered = _offered(changes)
    return [
        c
        for c in reversed(changes)
        if c.change_id in offered
        and offered[c.change_id] is None
        and (rollbacks or not c.intent.rollback_of)
        and same_place(c.intent, account, endpoint, roles=roles)
    ]


def proof_reason(proof: Mapping[str, Any]) -> str:
    """Why a recorded delivery proof is not proven, for a journal view in the operator's
    language. The journal keeps the reason in English (journal records are English, as a failed
    change's error is); a view in another language names the status in its words and where the
    recorded reason is, rather than mixing languages. Empty when there is no reason."""
    reason = str(proof.get("reason") or "")
    if not reason or language() == "en":
        return reason
    status = str(proof.get("status") or "")
    word = _(DELIVERY_WORDS[status]) if status in DELIVERY_WORDS else status
    return _(
        "{status}; the reason recorded (in English) is in `trailkit journal --format json`, and "
        "`trailkit verify` says it again"
    ).format(status=word)
