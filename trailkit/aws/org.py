"""One inventory across accounts x regions (``trailkit inventory --org`` / ``--accounts``).

:func:`scan_accounts` reads every account asked for through
:class:`~trailkit.aws.accounts.AccountAccess` (the caller's own account directly, the others
through their role) and merges what it read into one :class:`~trailkit.records.Inventory`.

How it is scheduled
-------------------
* **One bounded pool for every account.** Each account has its own
  :class:`~trailkit.aws.reader.Reader` (its own connection, clients and caches), but all of them
  run their calls on one :class:`~trailkit.aws.scheduler.Pool` of ``workers`` threads, so at
  most ``workers`` calls are in flight whatever the number of accounts. ``AssumeRole`` is a task
  of that pool like any call; an account's reads are chained onto it (a finished call schedules
  the calls that depend on it), so no pool thread ever waits for another task.
* **Fewest calls.** Without ``regions``, each account is read from ``ListTrails`` (one call in
  one region names every trail of the account with its home region, organization trails seen
  from a member included) and ``DescribeTrails`` is asked only in the home regions of the
  account's own trails, instead of in every region (17 calls per account). An organization
  trail a member lists is not described there when its owner is read in the same scan: only
  ``GetTrailStatus`` by ARN. The regions are not listed at all (no ``DescribeRegions``). An
  account that refuses ``ListTrails`` is an error row naming ``cloudtrail:ListTrails`` (its fix:
  grant it, or name the regions). With ``regions``, every account is asked ``DescribeTrails``
  in each of those regions (the single-account way). Bucket and key reads
  stay as in one account (once per bucket and key per account); change history is never read.
* **An organization trail once.** Its owner (the management account) reads it as its own
  (status, bucket, key); every member account in the scan reads only its status there
  (``GetTrailStatus`` by ARN: a member's delivery errors show only in the member), kept in
  :attr:`Inventory.member_status`. Its bucket and key are not read again from each member.
* **A key shared by accounts is read once, by its owner.** A trail whose key is in another
  account of the scan (the log-archive account's key, used by every member's trail) has its key
  read by that account's reader: ``DescribeKey``, ``GetKeyPolicy`` and
  ``GetKeyRotationStatus`` once for the whole scan, with the owner's rights (its policy is then
  known, where a member could not read it).
* **Failures.** An account whose role cannot be assumed is one error row (``AssumeRole``,
  ``ScanError.account``); its other rows are absent and every other account is complete
  (PARTIAL RESULT). The caller's own credentials expiring or refused
  (:class:`~trailkit.errors.ConnectionFailed`) stops the whole scan with one error instead of a
  row per account and region.
"""

from __future__ import annotations

from collections.abc import Sequence
from concurrent.futures import Future
from dataclasses import replace
from types import MappingProxyType
from typing import Any

from trailkit.arn import arn_account
from trailkit.aws.accounts import AccountAccess
from trailkit.aws.reader import CallCounter, Progress, Reader
from trailkit.aws.scheduler import Pool, gather, on_pool_thread, run_now, settled, then
from trailkit.aws.service import error_order, scan_error
from trailkit.aws.session import Connection, check_workers
from trailkit.errors import (
    AssumeRoleFailed,
    AwsError,
    ConnectionFailed,
    TrailkitError,
    caller_expired,
    credentials_refused,
)
from trailkit.permissions import requires
from trailkit.records import Account, Inventory, KeyInfo, ScanError, Trail, TrailStatus

__all__ = ["scan_accounts"]

#: ``AssumeRole`` first: every read of an account waits for it.
_P_ASSUME = 7


def _assume_error(err: TrailkitError, account: Account, role_arn: str | None) -> ScanError:
    """The one error row of an account whose role could not be assumed."""
    row = scan_error(err, region=None, resource=role_arn)
    return replace(
        row,
        operation=row.operation or "AssumeRole",
        permission=row.permission or "sts:AssumeRole",
        account=account.account_id,
    )


def _stops(err: BaseException) -> bool:
    return isinstance(err, ConnectionFailed) or caller_expired(err)


@requires("sts:AssumeRole", "cloudtrail:ListTrails", "cloudtrail:DescribeTrails")
def scan_accounts(
    access: AccountAccess,
    accounts: Sequence[Account],
    regions: Sequence[str] | None = None,
    *,
    workers: int | None = None,
    progress: Progress | None = None,
) -> Inventory:
    """One inventory of the trails of several accounts, every region, with their keys.

    Parameters
    ----------
    access : AccountAccess
        The caller's connection and the role to assume in each other account.
    accounts : sequence of Account
        The accounts to read (:meth:`AccountAccess.accounts`), each once, in this order.
    regions : sequence of str, optional
        Ask ``DescribeTrails`` in these regions of every account. Default: each account's
        ``ListTrails`` (every trail, any region) and ``DescribeTrails`` in the home regions only;
        the inventory's ``regions`` are then the regions read.
    workers : int, optional
        Calls in flight at most, for all accounts together (default: the connection's).
        ``1`` reads one call at a time in the calling thread.
    progress : Progress, optional
        ``progress(done, total)`` after every call (``AssumeRole`` included).

    Returns
    -------
    Inventory
        ``trails``: every account's trails (``Trail.account``), an organization trail once;
        ``member_status``: the organization trails' status in each member read; ``keys`` of every
        account; ``errors`` each with its ``account`` (an account whose role could not be
        assumed: one row, operation ``AssumeRole``); ``accounts``: those asked; ``calls``: every
        call of the scan, all accounts summed; ``connection``: the caller's.

    Raises
    ------
    ConnectionFailed
        The caller's own credentials expired or were refused (during the scan too: one error,
        not a row per account and region).
    InputError
        ``workers`` is not a whole number from 1 to the maximum.
    RuntimeError
        Called from a pool thread (it blocks until the scan is done).
    """
    if on_pool_thread():
        raise RuntimeError("scan_accounts blocks: it cannot be called from a pool thread")
    conn = access.conn
    size = check_workers(conn.workers if workers is None else workers)
    caller = conn.info()  # ConnectionFailed here: nothing is worth starting
    wanted = list(dict.fromkeys(accounts))
    read_ids = frozenset(a.account_id for a in wanted)
    pool = Pool(size, "trailkit-org") if size > 1 else None
    counter = CallCounter(progress) if progress is not None else None
    # Without regions, nothing asks for the region list: ListTrails names each account's.
    asked = list(dict.fromkeys(regions)) if regions is not None else []

    def reach(account: Account) -> Connection:
        if counter is not None:
            counter.started()
        try:
            return access.connection(account)
        finally:
            if counter is not None:
                counter.finished()

    readers: dict[str, Future[Reader]] = {a.account_id: Future() for a in wanted}

    def read(account: Account, member: Connection) -> Future[Inventory]:
        reader = Reader(member, workers=size, pool=pool)
        reader.stop_on_connection = True
        reader.count_into(counter)
        reader.key_owner = readers.get
        readers[account.account_id].set_result(reader)
        if regions is None:
            return reader.listed_scan_f(account=account.account_id, owners_read=read_ids)
        return reader.regions_scan_f(asked, account=account.account_id)

    def start(account: Account) -> Future[Inventory]:
        if pool is None:
            reached: Future[Connection] = run_now(reach, account)
        else:
            reached = pool.run(_P_ASSUME, reach, account)

        def unreached(done: Future[Connection]) -> None:
            exc = done.exception()
            if exc is not None:
                readers[account.account_id].set_exception(exc)

        reached.add_done_callback(unreached)
        return then(reached, lambda member: read(account, member))

    outcomes = gather([settled(start(account)) for account in wanted]).result()
    return _merge(access, caller, wanted, outcomes, asked, dict(conn.calls))


#: The reads that list an account's trails: when one failed, an organization trail the account
#: does not show may still apply to it (its status there is unknown, not absent).
_LISTING = ("ListTrails", "DescribeTrails")


def _unread_members(
    trails: dict[str, Trail], unlisted: dict[str, str], members: dict[str, dict[str, TrailStatus]]
) -> None:
    """Each organization trail's status in the accounts of the scan whose trails could not be
    listed (role not assumed, ``ListTrails`` refused): not read, with why (``TrailStatus.error``,
    so :func:`~trailkit.rules.health.health` names them in ``member-status-unreadable`` and
    counts the members over every account asked for, not only those read). An account read in
    full that does not list the trail is not one of its members and is left out."""
    for arn, trail in trails.items():
        if not trail.organization:
            continue
        owner = trail.account or arn_account(arn)
        for account_id, why in unlisted.items():
            if account_id != owner and account_id not in members.get(arn, {}):
                members.setdefault(arn, {})[account_id] = TrailStatus(error=why)


def _merge(
    access: AccountAccess,
    caller: Any,
    accounts: list[Account],
    outcomes: list[Future[Inventory]],
    regions: list[str],
    calls: dict[str, int],
) -> Inventory:
    """The accounts' inventories as one (see :func:`scan_accounts`)."""
    own: dict[str, Trail] = {}
    seen_elsewhere: dict[str, Trail] = {}
    members: dict[str, dict[str, TrailStatus]] = {}
    keys: dict[str, KeyInfo] = {}
    errors: list[ScanError] = []
    unlisted: dict[str, str] = {}  # account -> why its trails could not be (all) listed
    read_regions: set[str] = set()
    for account, done in zip(accounts, outcomes, strict=True):
        exc = done.exception()
        if exc is not None:
            if _stops(exc):
                raise exc
            if not isinstance(exc, TrailkitError):
                raise exc
            if isinstance(exc, AssumeRoleFailed) or (
                isinstance(exc, AwsError) and exc.operation == "AssumeRole"
            ):
                errors.append(_assume_error(exc, account, access.role_arn(account.account_id)))
            else:
                errors.append(replace(scan_error(exc, region=None), account=account.account_id))
            unlisted[account.account_id] = errors[-1].message
            continue
        inv = done.result()
        read_regions.update(inv.regions)
        mine: list[ScanError] = []
        for err in inv.errors:
            if caller_expired(err):
                raise credentials_refused(err.operation, err.code, region=err.region)
            mine.append(replace(err, account=account.account_id))
            if err.operation in _LISTING:
                unlisted.setdefault(account.account_id, err.message)
        errors.extend(sorted(mine, key=error_order))
        for trail in inv.trails:
            if trail.account and trail.account != account.account_id:
                if trail.status is not None:
                    members.setdefault(trail.arn, {})[account.account_id] = trail.status
                seen_elsewhere.setdefault(trail.arn, trail)
            else:
                own.setdefault(trail.arn, trail)
        for arn, key in inv.keys.items():
            keys.setdefault(arn, key)
    for arn, trail in seen_elsewhere.items():
        if arn not in own:
            # Its owner was not read: the trail as a member sees it, its status being a member's.
            own[arn] = replace(trail, status=None)
    _unread_members(own, unlisted, members)
    return Inventory(
        connection=caller,
        regions=tuple(regions) if regions else tuple(sorted(read_regions)),
        trails=tuple(own.values()),
        keys=MappingProxyType(dict(sorted(keys.items()))),
        errors=tuple(errors),
        calls=MappingProxyType(calls),
        accounts=tuple(accounts),
        member_status=MappingProxyType(
            {arn: MappingProxyType(dict(by)) for arn, by in sorted(members.items())}
        ),
        account_names=MappingProxyType(dict(access.names)),
    )
