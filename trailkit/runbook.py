"""The operations a runbook performs, shared by the command line and the notebooks.

Each function takes a :class:`~trailkit.inventory.Reader` (which holds the connection and what
it has read) and returns domain objects; nothing here prints.
"""

from __future__ import annotations

from trailkit.checks import KeyLookup, Report, Verdict, preflight, rank_candidates
from trailkit.errors import InputError, KeyIdError, NotFound
from trailkit.inventory import Reader
from trailkit.keyids import parse_key_id
from trailkit.models import Trail

__all__ = ["candidates", "check"]


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
