"""The journaled write: the one way trailkit changes anything in AWS.

A trail's key (``UpdateTrail``) and a key policy (``PutKeyPolicy``) are both changed by
:func:`journaled_write`, a chain of short steps, each calling the next:

1. **confirm**: ``confirmed`` must be the bool ``True``; otherwise :class:`RefusedError` and
   nothing is sent;
2. **guard**: re-read the target and refuse if it no longer equals ``before`` (no lost update);
3. **nothing to do**: it already equals ``after``: :attr:`Outcome.UNCHANGED`, nothing sent;
4. **validate** the request against botocore's model;
5. **journal the intent** (fsync'ed): a crash from here on leaves a pending intent that
   ``trailkit journal --reconcile`` settles by reading the state;
6. **send**; on an error, **classify** it:

   * AWS *certainly rejected* it (a 4xx on the first and only attempt): journal ``failed``;
   * otherwise it is *ambiguous* (a 5xx, a reset, a timeout, a failure after retries: an
     earlier attempt may have been applied), so **read back**: the requested state → journal
     ``done`` with a note; the previous state → journal ``failed`` with a note; a third state or
     no answer → leave the intent pending, :attr:`Outcome.UNKNOWN`;

7. on success, **read back** and **journal the outcome** (``done``; a failed read-back is
   ``done`` with the note ``accepted; read-back failed: ...``).

Once the request was sent, the result is what the read-back showed even when the journal cannot
take the outcome record (a full disk): the result then says so and carries the record in
``unjournaled`` for the front end to print in full. From the intent to the outcome the change is
marked :func:`~trailkit.change.journal.in_flight`, so a reconcile in this process leaves it alone.

What differs between the two writes is in a :class:`WriteSpec` (the calls, the comparison, how a
state is named) and in the wording of the messages; the steps are the same.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from trailkit.aws.writes import Sent
from trailkit.change.journal import Journal, Kind, Phase, Record, in_flight
from trailkit.errors import JournalError, RefusedError, TrailkitError
from trailkit.i18n import N_, _, speaking
from trailkit.records import ConnectionInfo, Outcome, WriteResult

__all__ = ["NOTE_NOT_APPLIED", "NOTE_READ_BACK_FAILED", "Wording", "WriteSpec", "journaled_write"]

#: The note of a ``failed`` outcome settled by reading back after an ambiguous error.
NOTE_NOT_APPLIED = "read back: not applied"
#: The start of the note of a ``done`` outcome whose read-back failed.
NOTE_READ_BACK_FAILED = "accepted; read-back failed"


@dataclass(frozen=True)
class Wording:
    """The operator's sentences for one kind of write (``str.format`` templates).

    Every template may use ``{name}`` (the target as the spec names it), ``{op}`` (the AWS
    operation), ``{after}`` (the requested state, described), and where they apply ``{now}`` (the
    state read, described), ``{expected}`` (``before``, described), ``{error}`` (the translated
    error's message), ``{failure}`` (the whole translated error), ``{read_error}``,
    ``{change_id}``, ``{stored!r}`` and ``{wanted!r}`` (raw read-back and requested values).
    """

    op: str
    not_confirmed: str
    confirm_fix: str
    changed: str
    changed_fix: str
    unchanged: str
    verified: str
    differs: str
    differs_note: str
    applied_after_error: str
    applied_note: str
    not_applied: str
    unreadable: str
    neither: str
    unreadable_after_accept: str


TRAIL_WORDING = Wording(
    op="UpdateTrail",
    not_confirmed=N_("The change to {name} was not confirmed; nothing was sent."),
    confirm_fix=N_("review the plan, then confirm (--yes on the command line)"),
    changed=N_(
        "{name} changed since the plan was made: it now uses {now}, the plan expected "
        "{expected}. Nothing was sent."
    ),
    changed_fix=N_("make a new plan from the trail's current state"),
    unchanged=N_("{name} already uses {after}; nothing sent."),
    verified=N_("{name} now uses {now}; read back and verified."),
    differs=N_("{name} reads back {now}, not what was planned."),
    differs_note="read back {stored!r}, expected {wanted!r}",
    applied_after_error=N_(
        "{name} now uses {now}; read back and verified after {op} reported: {error}"
    ),
    applied_note="{op} reported an error but the trail reads back the new key: {failure}",
    not_applied=N_("{failure} (read back: the trail still uses {now})"),
    unreadable=N_(
        "{op} failed ({error}) and it is not known whether it was applied: the trail could not "
        "be read back ({read_error}). The journal keeps change {change_id} pending; run "
        "`trailkit journal --reconcile` to settle it from the trail's state."
    ),
    neither=N_(
        "{op} failed ({error}) and it is not known whether it was applied: the trail now reads "
        "back {now}, neither the old nor the new state. The journal keeps change {change_id} "
        "pending; run `trailkit journal --reconcile` to settle it from the trail's state."
    ),
    unreadable_after_accept=N_(
        "{op} was accepted but the trail could not be read back: {read_error}"
    ),
)

POLICY_WORDING = Wording(
    op="PutKeyPolicy",
    not_confirmed=N_("The policy change to {name} was not confirmed; nothing was sent."),
    confirm_fix=N_("review the diff, then confirm (--yes on the command line)"),
    changed=N_("The policy of {name} changed since it was read; nothing was sent."),
    changed_fix=N_("read the key again and make a new repair plan"),
    unchanged=N_("The policy already is as requested."),
    verified=N_("Key policy updated and read back."),
    differs=N_("{op} was accepted but the policy read back differs."),
    differs_note="read-back policy differs from the one sent",
    applied_after_error=N_("Key policy updated and read back (after {op} reported an error)."),
    applied_note="{op} reported an error but the policy reads back as sent: {failure}",
    not_applied=N_("{failure} (read back: the policy is unchanged)"),
    unreadable=N_(
        "{op} failed ({error}) and the policy could not be read back ({read_error}); change "
        "{change_id} stays pending: run `trailkit journal --reconcile`."
    ),
    neither=N_(
        "{op} failed ({error}) and the policy now matches neither the old nor the new one; "
        "change {change_id} stays pending: run `trailkit journal --reconcile`."
    ),
    unreadable_after_accept=N_(
        "{op} was accepted but the policy could not be read back: {read_error}"
    ),
)

_WORDING = {Kind.TRAIL_KEY: TRAIL_WORDING, Kind.KEY_POLICY: POLICY_WORDING}


@dataclass(frozen=True)
class WriteSpec:
    """One write to make: what, where, from which state to which, and how.

    Parameters
    ----------
    kind
        What is changed (journaled as the record's ``kind``; picks the :class:`Wording`).
    name
        How messages name the target (a trail's name, a key's ARN).
    target_arn, region
        Journaled; ``region`` is where the calls go.
    before, after
        The state the change was planned from, and the state requested.
    read
        Reads the current state; raises :class:`~trailkit.errors.TrailkitError` when it cannot.
    validate
        Checks the request before anything is journaled or sent; raises
        :class:`~trailkit.errors.InputError` for an invalid request.
    send
        Sends the request; returns :class:`~trailkit.aws.writes.Sent` (never raises for an AWS
        failure).
    same
        Whether two states are the same (key ARNs: equal; policies: equal as JSON).
    describe
        A state in words, for messages.
    who
        The caller's identity, journaled with the intent: its account, caller ARN, endpoint,
        backend and, for a connection into another account, the role assumed there.
    trail_arn, rollback_of
        Journaled: the trail a policy change was for; the change this one undoes.
    """

    kind: Kind
    name: str
    target_arn: str
    region: str
    before: str | None
    after: str | None
    read: Callable[[], str | None]
    validate: Callable[[], None]
    send: Callable[[], Sent]
    same: Callable[[str | None, str | None], bool]
    describe: Callable[[str | None], str]
    who: Callable[[], ConnectionInfo]
    trail_arn: str | None = None
    rollback_of: str | None = None


def journaled_write(
    spec: WriteSpec,
    journal: Journal,
    *,
    confirmed: bool,
    after_send: Callable[[], None] | None = None,
) -> WriteResult:
    """Make one write with every safety step (see the module docstring).

    Parameters
    ----------
    spec
        The write.
    journal
        Where the intent and the outcome are recorded.
    confirmed
        The operator's explicit confirmation: only the bool ``True`` counts.
    after_send
        Test hook called right after AWS accepted the request, before anything is read back or
        journaled.

    Returns
    -------
    WriteResult
        ``done``, ``unchanged``, ``failed`` (not applied; journaled) or ``unknown`` (the intent
        stays pending for ``trailkit journal --reconcile``).

    Raises
    ------
    RefusedError
        Not confirmed, or the target changed since ``before`` was read; nothing was sent or
        journaled.
    TrailkitError
        The guard's read or the validation failed; nothing was sent or journaled.
    """
    write = _Write(spec, journal, after_send)
    result = write.confirm(confirmed)
    if write.unwritten is None:
        return result
    record, failure = write.unwritten
    return dataclasses.replace(
        result,
        message=(
            result.message
            + " "
            + _(
                "The journal could not be written ({failure}): the outcome of change {change_id} "
                "({phase}, as read back) is not recorded; keep the record printed with this "
                "message."
            ).format(failure=failure.message, change_id=record.change_id, phase=record.phase.value)
        ),
        unjournaled=record.as_json(),
    )


class _Write:
    """The steps of :func:`journaled_write`; each returns the next one's result."""

    def __init__(
        self, spec: WriteSpec, journal: Journal, after_send: Callable[[], None] | None
    ) -> None:
        self.spec = spec
        self.journal = journal
        self.after_send = after_send
        self.words = _WORDING[spec.kind]
        self.unwritten: tuple[Record, JournalError] | None = None

    def outcome(self, intent: Record, phase: Phase, **fields: Any) -> None:
        """Journal the outcome; a journal that cannot take it does not change what happened.

        AWS was called and its answer read back, so the result stays what the read-back showed;
        the record is kept in :attr:`unwritten` for the caller to report in full.
        """
        try:
            self.journal.record_outcome(intent, phase, **fields)
        except JournalError as err:
            self.unwritten = (self.journal.outcome_record(intent, phase, **fields), err)

    def say(self, template: str, **fields: Any) -> str:
        """A sentence for the operator, in their language."""
        return self._format(_(template), **fields)

    def note(self, template: str, **fields: Any) -> str:
        """A note for the journal: English, as every journal record is, whatever language the
        operator reads (the states are described in English too)."""
        with speaking("en"):
            return self._format(template, **fields)

    def _format(self, template: str, **fields: Any) -> str:
        spec = self.spec
        return template.format(
            name=spec.name, op=self.words.op, after=spec.describe(spec.after), **fields
        )

    # 1 -------------------------------------------------------------------------------------
    def confirm(self, confirmed: object) -> WriteResult:
        if confirmed is not True:
            raise RefusedError(self.say(self.words.not_confirmed), _(self.words.confirm_fix))
        return self.guard()

    # 2, 3 ----------------------------------------------------------------------------------
    def guard(self) -> WriteResult:
        spec = self.spec
        current = spec.read()
        if not spec.same(current, spec.before):
            raise RefusedError(
                self.say(
                    self.words.changed,
                    now=spec.describe(current),
                    expected=spec.describe(spec.before),
                ),
                _(self.words.changed_fix),
            )
        if spec.same(current, spec.after):
            return WriteResult(
                Outcome.UNCHANGED, self.say(self.words.unchanged), after=current, verified=True
            )
        return self.validate(current)

    # 4, 5 ----------------------------------------------------------------------------------
    def validate(self, current: str | None) -> WriteResult:
        self.spec.validate()
        return self.journal_intent(current)

    def journal_intent(self, current: str | None) -> WriteResult:
        spec = self.spec
        who = spec.who()
        intent = self.journal.record_intent(
            kind=spec.kind,
            target_arn=spec.target_arn,
            region=spec.region,
            before=current,
            after=spec.after,
            trail_arn=spec.trail_arn,
            rollback_of=spec.rollback_of,
            caller_arn=who.caller_arn,
            account=who.account,
            endpoint=who.endpoint,
            backend=who.backend,
            role_arn=who.role_arn,
            via_account=who.via_account,
        )
        with in_flight(intent.change_id):
            return self.send(_Intent(intent, current))

    # 6 -------------------------------------------------------------------------------------
    def send(self, intent: _Intent) -> WriteResult:
        sent = self.spec.send()
        if sent.error is not None:
            return self.classify(intent, sent, sent.error)
        if self.after_send is not None:
            self.after_send()
        return self.read_back(intent, sent)

    def classify(self, intent: _Intent, sent: Sent, err: TrailkitError) -> WriteResult:
        if sent.rejected:
            return self.rejected(intent, sent, err)
        return self.settle_ambiguous(intent, sent, err)

    def rejected(self, intent: _Intent, sent: Sent, err: TrailkitError) -> WriteResult:
        self.outcome(
            intent.record,
            Phase.FAILED,
            after=intent.before,
            request_id=sent.request_id,
            error=err.english(),  # journal records stay English
        )
        return WriteResult(
            Outcome.FAILED, str(err), intent.change_id, after=intent.before, error=err
        )

    def settle_ambiguous(self, intent: _Intent, sent: Sent, err: TrailkitError) -> WriteResult:
        spec, words = self.spec, self.words
        try:
            stored = spec.read()
        except TrailkitError as read_err:
            return self.unknown(intent, err, words.unreadable, read_error=read_err)
        said = {"now": spec.describe(stored), "error": err.message, "failure": err}
        if spec.same(stored, spec.after):
            self.outcome(
                intent.record,
                Phase.DONE,
                after=stored,
                request_id=sent.request_id,
                note=self.note(words.applied_note, **{**said, "failure": err.english()}),
            )
            return WriteResult(
                Outcome.DONE,
                self.say(words.applied_after_error, **said),
                intent.change_id,
                after=stored,
                verified=True,
                request_id=sent.request_id,
                error=err,
            )
        if spec.same(stored, intent.before):
            self.outcome(
                intent.record,
                Phase.FAILED,
                after=stored,
                request_id=sent.request_id,
                error=err.english(),  # journal records stay English
                note=NOTE_NOT_APPLIED,
            )
            return WriteResult(
                Outcome.FAILED,
                self.say(words.not_applied, **said),
                intent.change_id,
                after=stored,
                error=err,
            )
        return self.unknown(intent, err, words.neither, now=spec.describe(stored))

    def unknown(
        self, intent: _Intent, err: TrailkitError, template: str, **fields: object
    ) -> WriteResult:
        """Leave the intent pending: nothing true can be journaled yet."""
        message = self.say(template, error=err.message, change_id=intent.change_id, **fields)
        return WriteResult(Outcome.UNKNOWN, message, intent.change_id, error=err)

    # 7 -------------------------------------------------------------------------------------
    def read_back(self, intent: _Intent, sent: Sent) -> WriteResult:
        spec, words = self.spec, self.words
        try:
            stored = spec.read()
        except TrailkitError as read_err:
            self.outcome(
                intent.record,
                Phase.DONE,
                after=spec.after,
                request_id=sent.request_id,
                # journal records stay English
                note=f"{NOTE_READ_BACK_FAILED}: {read_err.english()}",
            )
            return WriteResult(
                Outcome.DONE,
                self.say(words.unreadable_after_accept, read_error=read_err),
                intent.change_id,
                after=spec.after,
                request_id=sent.request_id,
            )
        verified = spec.same(stored, spec.after)
        self.outcome(
            intent.record,
            Phase.DONE,
            after=stored,
            request_id=sent.request_id,
            note=None
            if verified
            else self.note(words.differs_note, stored=stored, wanted=spec.after),
        )
        message = words.verified if verified else words.differs
        return WriteResult(
            Outcome.DONE,
            self.say(message, now=spec.describe(stored)),
            intent.change_id,
            after=stored,
            verified=verified,
            request_id=sent.request_id,
        )


@dataclass(frozen=True)
class _Intent:
    """The journaled intent and the state it was written against."""

    record: Record
    before: str | None

    @property
    def change_id(self) -> str:
        return self.record.change_id
