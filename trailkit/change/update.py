"""The change engine's public functions: apply a plan, replace a key policy, undo, reconcile.

Every write goes through the one journaled write, :func:`trailkit.change.protocol.journaled_write`
(confirmation, re-read guard, botocore model validation, journal intent, send, classification of
a failure, read-back, journal outcome); this module only says *what* to write:

* :func:`apply` sends a plan's ``UpdateTrail`` (after refusing a plan with blocking findings) and
  then reads ``GetTrailStatus`` for delivery errors;
* :func:`put_key_policy` replaces a key policy (never with ``BypassPolicyLockoutSafetyCheck``);
* :func:`restore_policy` puts back the policy recorded before a policy change (a trail change is
  undone by applying :func:`trailkit.runbook.plan_rollback`);
* :func:`reconcile_journal` settles pending intents from the live state.

The AWS calls themselves are in :mod:`trailkit.aws.writes`; planning is in :mod:`trailkit.rules`
and :mod:`trailkit.runbook`.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence

from trailkit.arn import arn_region
from trailkit.aws import writes
from trailkit.aws.session import Connection
from trailkit.change.journal import Change, Journal, Kind, Record, reconcile
from trailkit.change.protocol import WriteSpec, journaled_write
from trailkit.errors import (
    InputError,
    JournalError,
    NothingToUndo,
    RefusedError,
    TrailkitError,
)
from trailkit.i18n import _, ngettext
from trailkit.permissions import requires
from trailkit.records import (
    ApplyResult,
    Delivery,
    Outcome,
    PolicyResult,
    Trail,
)
from trailkit.records.journal import newer_change, same_place, undoable, undone_by
from trailkit.rules.plan import Plan
from trailkit.rules.repair import Restore, plan_restore, same_policy

__all__ = [
    "apply",
    "apply_many",
    "apply_restore",
    "check_undo",
    "describe_policy",
    "last_undoable",
    "named_change",
    "plan_policy_restore",
    "policy_spec",
    "put_key_policy",
    "reconcile_journal",
    "restore_policy",
    "same_policy",
    "trail_spec",
    "verify_delivery",
]


def verify_delivery(conn: Connection, trail: Trail) -> Delivery:
    """Read ``GetTrailStatus`` and report the latest delivery and digest delivery errors.

    Parameters
    ----------
    conn
        The connection.
    trail
        The trail (read in its home region).

    Returns
    -------
    Delivery
        An unreadable status is reported as a delivery error, never raised.
    """
    return Delivery(writes.trail_status(conn, trail.arn, trail.home_region))


def _same_key(a: str | None, b: str | None) -> bool:
    return a == b


def trail_spec(conn: Connection, plan: Plan) -> WriteSpec:
    """The journaled write of a plan's ``UpdateTrail``.

    Parameters
    ----------
    conn
        The connection the calls go through.
    plan
        From :func:`trailkit.rules.plan.plan_change`.

    Returns
    -------
    WriteSpec
    """
    arn, region, params = plan.trail.arn, plan.region, dict(plan.request)
    return WriteSpec(
        kind=Kind.TRAIL_KEY,
        name=plan.trail.name,
        target_arn=arn,
        region=region,
        before=plan.before_key,
        after=plan.after_key,
        read=lambda: writes.read_trail_key(conn, arn, region),
        validate=lambda: writes.validate_request(conn, region, "UpdateTrail", params),
        send=lambda: writes.update_trail(conn, region, params),
        same=_same_key,
        describe=plan.describe_state,
        who=conn.info,
        rollback_of=plan.rollback_of,
    )


@requires("cloudtrail:UpdateTrail", "cloudtrail:GetTrail", role="operate")
def apply(
    conn: Connection,
    plan: Plan,
    journal: Journal,
    *,
    confirmed: bool,
    verify: bool = True,
    after_send: Callable[[], None] | None = None,
    recheck: Callable[[Plan], None] | None = None,
) -> ApplyResult:
    """Send a plan's ``UpdateTrail`` through the journaled write, then check delivery.

    Parameters
    ----------
    conn
        The connection (its identity is journaled).
    plan
        From :func:`trailkit.rules.plan.plan_change` (or :func:`trailkit.runbook.plan_rollback`,
        :func:`trailkit.runbook.plan_disable`).
    journal
        Where the intent and outcome are recorded.
    confirmed
        The operator's explicit confirmation; nothing is sent unless it is ``True``.
    verify
        Read ``GetTrailStatus`` after a change that took effect.
    after_send
        Test hook called right after AWS accepted the change, before the outcome is journaled.
    recheck
        Called with the plan once it is confirmed and applicable, just before the journaled
        write; raises :class:`RefusedError` when the plan went stale (the runbook passes a fresh
        pre-flight, see :meth:`trailkit.runbook.Runbook.apply`).

    Returns
    -------
    ApplyResult
        :attr:`~Outcome.DONE`, :attr:`~Outcome.UNCHANGED` (already in that state),
        :attr:`~Outcome.FAILED` (not applied; journaled) or :attr:`~Outcome.UNKNOWN` (the call
        failed ambiguously and the trail could not be read back; the intent stays pending for
        ``trailkit journal --reconcile``).

    Raises
    ------
    RefusedError
        Blocking findings, no confirmation, the plan went stale (``recheck``), or the trail
        changed since the plan.
    InputError
        The request is not valid for botocore's model (a bug).
    AwsError
        The trail could not be re-read before sending.
    """
    plan.require_applicable()
    if confirmed is True and recheck is not None:
        recheck(plan)
    written = journaled_write(
        trail_spec(conn, plan), journal, confirmed=confirmed, after_send=after_send
    )
    delivery = verify_delivery(conn, plan.trail) if verify and written.changed else None
    return ApplyResult.from_write(plan, written, delivery)


def apply_many(
    conn: Connection,
    plans: Sequence[Plan],
    journal: Journal,
    *,
    confirmed: bool,
    recheck: Callable[[Plan], None] | None = None,
    connection: Callable[[Plan], Connection] | None = None,
) -> list[ApplyResult]:
    """Apply several plans one after another; one result per trail, never a silent stop.

    Parameters
    ----------
    conn, journal, confirmed, recheck
        As for :func:`apply` (``recheck`` runs for each plan just before it is sent).
    plans
        The plans, applied in this order.
    connection
        The connection a plan is sent through (a trail of another account: that account's,
        through its role, see :meth:`trailkit.runbook.Runbook.in_account`); default ``conn``
        for every plan. A connection that cannot be made (the role cannot be assumed) is
        that plan's failure: nothing is journaled or sent for it.

    Returns
    -------
    list of ApplyResult
        One per plan, in order. A refused or failed plan is reported and the others still run;
        an unexpected error stops the run, and every plan not attempted is reported as
        :attr:`~Outcome.REFUSED` with the reason.
    """
    results: list[ApplyResult] = []
    for i, plan in enumerate(plans):
        try:
            through = connection(plan) if connection is not None else conn
            results.append(apply(through, plan, journal, confirmed=confirmed, recheck=recheck))
        except RefusedError as err:
            results.append(ApplyResult(plan, Outcome.REFUSED, str(err), error=err))
        except TrailkitError as err:
            results.append(ApplyResult(plan, Outcome.FAILED, str(err), error=err))
            for rest in plans[i + 1 :]:
                results.append(
                    ApplyResult(
                        rest,
                        Outcome.REFUSED,
                        _("not attempted: the run stopped at {trail} ({error})").format(
                            trail=plan.trail.name, error=err.message
                        ),
                    )
                )
            break
    return results


@requires("cloudtrail:GetTrail", "kms:GetKeyPolicy")
def reconcile_journal(
    conn: Connection,
    journal: Journal,
    *,
    on_skip: Callable[[Change, str], None] | None = None,
) -> list[tuple[Change, Record]]:
    """Settle intents without an outcome by reading the actual state from AWS.

    Only intents recorded on this connection's account and endpoint are read: a change sent to
    another endpoint (the demo, another account) is left pending with the reason, never settled
    from the wrong place.

    Parameters
    ----------
    conn
        The connection the state is read through.
    journal
        The journal to settle.
    on_skip
        Called with each change left pending and why (another place, writer still running,
        state unreadable).

    Returns
    -------
    list of (Change, Record)
        Each change settled now, with its ``reconciled`` record (see
        :func:`trailkit.change.journal.reconcile`); a change whose state cannot be read stays
        pending.
    """
    info = conn.info()

    def read_state(intent: Record) -> str | None:
        if not same_place(intent, info.account, info.endpoint):
            raise RefusedError(
                _(
                    "it was sent to account {account} at {endpoint} ({backend}), not to this "
                    "connection's account {here_account} at {here_endpoint}"
                ).format(
                    account=intent.account,
                    endpoint=intent.endpoint or "AWS",
                    backend=intent.backend,
                    here_account=info.account,
                    here_endpoint=info.endpoint,
                ),
                _("reconcile it from a connection to that account and endpoint"),
            )
        if intent.kind is Kind.TRAIL_KEY:
            return writes.read_trail_key(conn, intent.target_arn, intent.region)
        return writes.read_key_policy(conn, intent.target_arn, intent.region)

    return reconcile(journal, read_state, on_skip=on_skip)


def last_undoable(journal: Journal, kind: Kind, conn: Connection, *, roles: bool = False) -> Change:
    """The change ``--last`` undoes: the newest undoable change of ``kind`` made on this
    connection's account and endpoint (see :func:`trailkit.records.journal.undoable`); with
    ``roles``, or made at this endpoint in another account through a role (``role_arn``
    recorded: the caller reaches it again through that role, issue 16).

    Raises
    ------
    NothingToUndo
        Changes of ``kind`` were made here, and every applied one is undone already.
    JournalError
        There is nothing to undo for another reason, which the message names: the journal file
        does not exist, a change made here has no outcome (it may have been applied), or no
        change of ``kind`` was made on this account and endpoint.
    """
    info = conn.info()
    for changes in journal.tails():  # the newest changes first: --last rarely reads far back
        for change in undoable(changes, account=info.account, endpoint=info.endpoint, roles=roles):
            if change.intent.kind is kind:
                return change
    trail = kind is Kind.TRAIL_KEY
    where = {"account": info.account, "endpoint": info.endpoint, "path": journal.path}
    if not journal.path.exists():
        raise JournalError(
            _(
                "No journal at {path}: no change was made with trailkit through this journal, "
                "so there is nothing to undo."
            ).format(path=journal.path),
            _("give the journal the change was recorded in with --journal (or $TRAILKIT_JOURNAL)"),
        )
    here = [
        c
        for c in journal.changes()
        if c.intent.kind is kind and same_place(c.intent, info.account, info.endpoint, roles=roles)
    ]
    pending = [c for c in here if not c.settled]
    if pending:
        message = (
            _(
                "No trail change to undo in {path} for account {account} at {endpoint}, but "
                "{change_id} has no outcome: it may have been applied."
            )
            if trail
            else _(
                "No key policy change to undo in {path} for account {account} at {endpoint}, "
                "but {change_id} has no outcome: it may have been applied."
            )
        )
        raise JournalError(
            message.format(change_id=pending[-1].change_id, **where),
            _("settle it with `trailkit journal --reconcile`, then run the rollback again"),
        )
    if not here:
        message = (
            _(
                "No trail change in {path} was made on account {account} at {endpoint}: the "
                "journal holds none made through this connection."
            )
            if trail
            else _(
                "No key policy change in {path} was made on account {account} at {endpoint}: "
                "the journal holds none made through this connection."
            )
        )
        raise JournalError(
            message.format(**where),
            _(
                "connect to the account and endpoint the change was made on, or name a change: "
                "{command} (see `trailkit journal`)"
            ).format(command=_undo_command(kind, "ID")),
        )
    message = (
        _(
            "Nothing to undo: every trail change made on account {account} at {endpoint} "
            "recorded in {path} is undone already."
        )
        if trail
        else _(
            "Nothing to undo: every key policy change made on account {account} at {endpoint} "
            "recorded in {path} is undone already."
        )
    )
    accounts = sorted({c.intent.account for c in here})
    if accounts != [info.account]:
        # Made from this account through a role (issue 16): say where they were made.
        where["accounts"] = ", ".join(accounts)
        message = (
            _(
                "Nothing to undo: every trail change made at {endpoint} from account {account}, "
                "in accounts {accounts} (through a role in each account other than {account}), "
                "recorded in {path} is undone already."
            )
            if trail
            else _(
                "Nothing to undo: every key policy change made at {endpoint} from account "
                "{account}, in accounts {accounts} (through a role in each account other than "
                "{account}), recorded in {path} is undone already."
            )
        )
    raise NothingToUndo(
        message.format(**where),
        _("to undo a rollback, name its change id: {command} (see `trailkit journal`)").format(
            command=_undo_command(kind, "ID")
        ),
    )


def _undo_command(kind: Kind, change_id: str) -> str:
    """The command that undoes a change of this kind, as an operator types it."""
    if kind is Kind.TRAIL_KEY:
        return f"`trailkit rollback --change {change_id}`"
    return f"`trailkit policy --restore {change_id}`"


def check_undo(journal: Journal, change: Change, conn: Connection) -> None:
    """Refuse to undo ``change`` when that would not be a true undo.

    Raises
    ------
    RefusedError
        It was made on another account or endpoint, it is undone already, or a newer change in
        force on the same target would be thrown away.
    """
    for changes in journal.tails():
        # Whether a change is undone, or a newer one is in force, depends only on the changes
        # after it: the first tail that holds it answers as the whole journal would.
        if any(c.change_id == change.change_id for c in changes):
            break
    info = conn.info()
    intent = change.intent
    if not same_place(intent, info.account, info.endpoint):
        raise RefusedError(
            _(
                "Change {change_id} was made on account {account} at {endpoint} ({backend}), "
                "not on this connection's account {here_account} at {here_endpoint}."
            ).format(
                change_id=change.change_id,
                account=intent.account,
                endpoint=intent.endpoint or "AWS",
                backend=intent.backend,
                here_account=info.account,
                here_endpoint=info.endpoint,
            ),
            _("undo it from a connection to the account and endpoint it was made on"),
        )
    by = undone_by(changes).get(change.change_id)
    if by is not None:
        raise RefusedError(
            _("Change {change_id} is already undone by {by}.").format(
                change_id=change.change_id, by=by.change_id
            ),
            _("to put it back, undo {by}: {command}").format(
                by=by.change_id, command=_undo_command(intent.kind, by.change_id)
            ),
        )
    newer = newer_change(changes, change)
    if newer is not None:
        raise RefusedError(
            _(
                "Change {change_id} is not the newest change to {target}: {newer} ({time}) "
                "changed it later. Undoing the older one would throw that change away."
            ).format(
                change_id=change.change_id,
                target=intent.target_arn,
                newer=newer.change_id,
                time=newer.intent.time,
            ),
            _("undo {newer} first").format(newer=newer.change_id),
        )


def describe_policy(text: str | None) -> str:
    """A key policy in a few words for messages: ``policy (812 bytes, 3 statements)``.

    Parameters
    ----------
    text
        The policy JSON.

    Returns
    -------
    str
    """
    if text is None:
        return _("no policy")
    size = len(text.encode("utf-8", "surrogatepass"))
    try:
        statements = json.loads(text).get("Statement")
    except (ValueError, RecursionError, AttributeError):
        return _("policy ({size} bytes, not JSON)").format(size=size)
    count = len(statements) if isinstance(statements, list) else int(bool(statements))
    return ngettext(
        "policy ({size} bytes, {count} statement)",
        "policy ({size} bytes, {count} statements)",
        count,
    ).format(size=size, count=count)


def policy_spec(
    conn: Connection,
    key_arn: str,
    before: str,
    after: str,
    *,
    trail_arn: str | None = None,
    rollback_of: str | None = None,
) -> WriteSpec:
    """The journaled write of a ``PutKeyPolicy`` (``before`` -> ``after``).

    Parameters
    ----------
    conn
        The connection the calls go through.
    key_arn
        The key (its region is taken from the ARN).
    before, after
        The policy read when the change was planned, and the policy to put.
    trail_arn, rollback_of
        Journaled: the trail the change is for; the change it undoes.

    Returns
    -------
    WriteSpec
    """
    region = arn_region(key_arn)
    params = {"KeyId": key_arn, "PolicyName": "default", "Policy": after}
    return WriteSpec(
        kind=Kind.KEY_POLICY,
        name=key_arn,
        target_arn=key_arn,
        region=region,
        before=before,
        after=after,
        read=lambda: writes.read_key_policy(conn, key_arn, region),
        validate=lambda: writes.validate_request(conn, region, "PutKeyPolicy", params),
        send=lambda: writes.put_key_policy(conn, region, params),
        same=same_policy,
        describe=describe_policy,
        who=conn.info,
        trail_arn=trail_arn,
        rollback_of=rollback_of,
    )


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
    """Replace a key policy (``before`` -> ``after``) through the journaled write.

    The current policy is re-read and must still equal ``before`` (as JSON); the request is
    validated against botocore's model and never sets ``BypassPolicyLockoutSafetyCheck``;
    intent and outcome (with both policies) are journaled so the change can be restored.

    Parameters
    ----------
    conn
        The connection (its identity is journaled).
    key_arn
        The key whose ``default`` policy is replaced.
    before, after
        The policy the change was planned from, and the policy to put.
    journal
        Where the intent and outcome are recorded.
    confirmed
        The operator's explicit confirmation; nothing is sent unless it is ``True``.
    trail_arn
        The trail the change is for (journaled).
    rollback_of
        The change this one undoes (journaled).

    Returns
    -------
    PolicyResult
        :attr:`~Outcome.DONE`, :attr:`~Outcome.UNCHANGED`, :attr:`~Outcome.FAILED` or
        :attr:`~Outcome.UNKNOWN` (intent left pending), as for :func:`apply`.

    Raises
    ------
    RefusedError
        Not confirmed, or the policy changed since it was read.
    AwsError
        The policy could not be re-read before sending.
    """
    spec = policy_spec(conn, key_arn, before, after, trail_arn=trail_arn, rollback_of=rollback_of)
    return PolicyResult.from_write(key_arn, journaled_write(spec, journal, confirmed=confirmed))


def named_change(change_id: str | None, option: str, *, fix: str | None = None) -> str | None:
    """``change_id`` when one is named, None when none is (then the last one is meant).

    ``fix`` replaces the advice of the error (translated, formatted with ``{option}``): the
    default names ``--last``, which ``rollback`` has and ``verify`` has not.

    Raises
    ------
    InputError
        ``change_id`` is empty or blank: an unset variable in ``rollback --change "$ID"`` must
        not become "undo the last change" (found by a fault-finding pass: it did).
    """
    if change_id is None:
        return None
    if not isinstance(change_id, str) or not change_id.strip():
        if fix is None:
            fix = (
                _("give {option} CHANGE_ID, or --restore alone for the newest change made here")
                if option == "--restore"
                else _("give {option} CHANGE_ID, or --last for the newest change made here")
            )
        raise InputError(
            _("{option} {value} is empty: name a change id from `trailkit journal`.").format(
                option=option, value=repr(change_id)
            ),
            fix.format(option=option),
        )
    return change_id


def plan_policy_restore(
    conn: Connection, journal: Journal, change_id: str | None = None, *, read: bool = True
) -> Restore:
    """What restoring the policy recorded before a policy change would send (nothing is sent).

    Parameters
    ----------
    conn
        The connection the current policy is read through.
    journal
        The journal the change was recorded in.
    change_id
        The policy change to undo; None: the last applied one.
    read
        Read the key's current policy (``kms:GetKeyPolicy``) so the preview diffs against it.

    Returns
    -------
    Restore
        With :attr:`~trailkit.rules.repair.Restore.current` read from AWS when ``read``.

    Raises
    ------
    JournalError
        No such change, or no applied policy change.
    RefusedError
        The change is a trail change, or it did not take effect.
    AwsError
        The current policy could not be read.
    """
    named = named_change(change_id, "--restore")
    if named is not None:
        change = journal.get(named)
        if change.intent.kind is Kind.KEY_POLICY:
            check_undo(journal, change, conn)
    else:
        change = last_undoable(journal, Kind.KEY_POLICY, conn)
    restore = plan_restore(change)
    if not read:
        return restore
    current = writes.read_key_policy(conn, restore.key_arn, arn_region(restore.key_arn))
    return plan_restore(change, current)


def apply_restore(
    conn: Connection, restore: Restore, journal: Journal, *, confirmed: bool
) -> PolicyResult:
    """Send a restore from :func:`plan_policy_restore` through the journaled write.

    Parameters
    ----------
    conn, journal, confirmed
        As for :func:`put_key_policy`.
    restore
        The previewed restore; the guard re-reads the policy and refuses unless the key still
        has the policy the undone change put.

    Returns
    -------
    PolicyResult
        As for :func:`put_key_policy` (the new change has ``rollback_of`` = the undone change).
    """
    return put_key_policy(
        conn,
        restore.key_arn,
        restore.expected,
        restore.restored,
        journal,
        confirmed=confirmed,
        trail_arn=restore.trail_arn,
        rollback_of=restore.change_id,
    )


def restore_policy(
    conn: Connection, journal: Journal, change_id: str | None = None, *, confirmed: bool
) -> PolicyResult:
    """Put back the key policy recorded before a policy change (the last one by default).

    Parameters
    ----------
    conn
        The connection.
    journal
        The journal the change was recorded in.
    change_id
        The policy change to undo; None: the last applied one.
    confirmed
        The operator's explicit confirmation; nothing is sent unless it is ``True``.

    Returns
    -------
    PolicyResult
        As for :func:`put_key_policy` (the new change has ``rollback_of`` = ``change_id``).

    Raises
    ------
    JournalError
        No such change, or no applied policy change.
    RefusedError
        The change is a trail change, did not take effect, or the policy changed since.
    """
    restore = plan_policy_restore(conn, journal, change_id, read=False)
    return apply_restore(conn, restore, journal, confirmed=confirmed)
