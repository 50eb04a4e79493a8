"""The operations a runbook performs, shared by the command line and the notebooks.

Each function takes a :class:`~trailkit.aws.reader.Reader` (which holds the connection and what
it has read) and returns domain objects; nothing here prints and nothing here changes AWS (the
plans are sent by :func:`trailkit.change.update.apply`).
"""

from __future__ import annotations

from collections.abc import Sequence

from trailkit.aws.reader import Reader
from trailkit.change.journal import Journal, Kind
from trailkit.errors import InputError, KeyIdError, NotFound, RefusedError
from trailkit.records import Trail
from trailkit.rules.checks import KeyLookup, Report, Verdict, preflight, rank_candidates
from trailkit.rules.keyids import parse_key_id
from trailkit.rules.plan import Plan, plan_change
from trailkit.rules.repair import Repair, plan_repair

__all__ = ["candidates", "check", "plan_disable", "plan_policy_repair", "plan_rollback"]


def check(reader: Reader, trail: str | Trail, key: str) -> Report:
    """Pre-flight: will ``key`` work for ``trail``? Every rule, no change made.

    Parameters
    ----------
    reader
        Reads AWS (and caches) through one connection.
    trail
        Trail name, trail ARN, or a :class:`Trail` already read.
    key
        Key identifier as the operator typed it (``""`` means "turn SSE-KMS off").

    Returns
    -------
    Report
        The findings; a missing trail or malformed key is a finding, not an exception.

    Raises
    ------
    InputError
        The trail text cannot be a trail name or ARN.
    AwsError
        AWS cannot be reached, or the caller lacks a permission needed to evaluate.
    """
    caller = reader.conn.account
    if isinstance(trail, Trail):
        found: Trail | None = trail
        trail_input = trail.arn
    else:
        trail_input = trail
        try:
            found = reader.find_trail(trail)
        except NotFound:
            found = None
    try:
        ref = parse_key_id(key)
    except KeyIdError as err:
        return preflight(
            trail=found,
            trail_input=trail_input,
            key_input=key,
            lookup=None,
            caller_account=caller,
            key_error=str(err),
        )
    lookup = reader.lookup_key(ref, found) if found is not None else KeyLookup(ref=ref)
    return preflight(
        trail=found,
        trail_input=trail_input,
        key_input=key,
        lookup=lookup,
        caller_account=caller,
    )


def candidates(reader: Reader, trail: str | Trail) -> tuple[Trail, list[Verdict]]:
    """Every customer key of the trail's bucket region, ranked: ready, unverifiable, blocked.

    Raises
    ------
    NotFound
        No such trail.
    InputError
        The bucket's region could not be read, so there is no region to list keys from.
    """
    found = trail if isinstance(trail, Trail) else reader.find_trail(trail)
    region = found.bucket_region
    if region is None:
        raise InputError(
            f"The region of bucket {found.bucket_name} could not be read, so the candidate keys "
            "are unknown.",
            "grant s3:GetBucketLocation, or give a key ARN to `trailkit check`",
        )
    keys = reader.candidate_keys(region)
    return found, rank_candidates(found, keys, reader.conn.account)


def plan_policy_repair(
    reader: Reader,
    trails: Sequence[str | Trail],
    key: str,
    *,
    readers: Sequence[str] = (),
) -> Repair:
    """The add-only repair of ``key``'s policy so that every trail in ``trails`` can use it.

    Raises
    ------
    RefusedError
        The key cannot be resolved or described from here, or the repair is unsafe.
    """
    found = [t if isinstance(t, Trail) else reader.find_trail(t) for t in trails]
    if not found:
        raise InputError("Name at least one trail.", "pass --trail")
    ref = parse_key_id(key)
    if ref.is_disable:
        raise InputError("Give the key whose policy should be repaired.", "pass --key")
    lookup = reader.lookup_key(ref, found[0])
    if lookup.key is None:
        raise RefusedError(
            f"The key {key!r} cannot be described from this account ({lookup.message}).",
            "repair a key's policy from the key's own account",
        )
    return plan_repair(lookup.key, found, readers=readers)


def plan_disable(reader: Reader, trail: str | Trail) -> Plan:
    """The plan that returns a trail to SSE-S3 (``KmsKeyId=""``), with its warning finding.

    Parameters
    ----------
    reader
        Reads AWS (and caches) through one connection.
    trail
        Trail name, trail ARN, or a :class:`Trail` already read.

    Returns
    -------
    Plan
        Goes through pre-flight like any other; send it with
        :func:`trailkit.change.update.apply`.

    Raises
    ------
    InputError
        The trail text cannot be a trail name or ARN.
    AwsError
        AWS cannot be reached, or the caller lacks a permission needed to evaluate.
    """
    return plan_change(check(reader, trail, ""))


def plan_rollback(reader: Reader, journal: Journal, change_id: str | None = None) -> Plan:
    """The plan that restores the state recorded before a trail change (the last by default).

    The restored state is the exact previous one: a key ARN, or SSE-S3 (``KmsKeyId=""``). The
    plan goes through pre-flight like any other; send it with
    :func:`trailkit.change.update.apply`.

    Parameters
    ----------
    reader
        Reads AWS (and caches) through one connection.
    journal
        The journal the change was recorded in.
    change_id
        The change to undo; None: the last applied trail change.

    Returns
    -------
    Plan
        With ``rollback_of`` set to the change's id.

    Raises
    ------
    JournalError
        No such change, or nothing to roll back.
    RefusedError
        The change is a key policy change, or it did not complete, so there is nothing to undo.
    """
    change = journal.get(change_id) if change_id else journal.last(kind=Kind.TRAIL_KEY)
    if change.intent.kind is not Kind.TRAIL_KEY:
        raise RefusedError(
            f"Change {change.change_id} is a key policy change; restore it with "
            "`trailkit policy --restore`.",
            "",
        )
    if not change.applied:
        raise RefusedError(
            f"Change {change.change_id} is {change.status}; there is nothing to roll back.",
            "run `trailkit journal --reconcile` first if it is pending",
        )
    target = change.intent.before or ""
    return plan_change(
        check(reader, change.intent.target_arn, target), rollback_of=change.change_id
    )
