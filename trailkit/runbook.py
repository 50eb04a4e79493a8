"""The use cases, shared by every front end: the command line, the notebooks, the widgets and
the Voila app all call these (one implementation of each runbook step).

The module functions take a :class:`~trailkit.aws.reader.Reader` (which holds the connection and
what it has read) and return records; :class:`Runbook` binds them to one connection, reader and
journal and adds the writes, which go through the one journaled write
(:mod:`trailkit.change.protocol`). Nothing here prints.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

from trailkit.arn import arn_account
from trailkit.aws import delivered, writes
from trailkit.aws.accounts import AccountAccess
from trailkit.aws.reader import Progress, Reader
from trailkit.aws.service import scan_error
from trailkit.aws.session import Connection
from trailkit.change import update
from trailkit.change.journal import Journal
from trailkit.errors import (
    AccessDenied,
    AwsError,
    InputError,
    KeyIdError,
    NotFound,
    RefusedError,
    TrailkitError,
    UnverifiableError,
    translate,
)
from trailkit.i18n import _, speaking
from trailkit.records import (
    ApplyResult,
    Change,
    ConnectionInfo,
    DeliveredObject,
    Delivery,
    KeyInfo,
    Kind,
    PolicyResult,
    Proof,
    ProofStatus,
    Record,
    Trail,
    TrailStatus,
)
from trailkit.records.history import History
from trailkit.records.journal import same_place, undoable, undone_by
from trailkit.records.org import Account
from trailkit.records.read import Inventory
from trailkit.rules.checks import KeyLookup, Report, Verdict, preflight, rank_candidates
from trailkit.rules.explain import Explanation, explain
from trailkit.rules.health import Health
from trailkit.rules.health import health as judge_health
from trailkit.rules.history import DEFAULT_SINCE
from trailkit.rules.keyids import parse_key_id
from trailkit.rules.ownership import owner_tag_keys, owners
from trailkit.rules.plan import Plan, bucket_region_key, plan_change
from trailkit.rules.principals import parse_accounts, parse_principals
from trailkit.rules.proof import (
    day_folders,
    digest_prefix,
    expected_encryption,
    judge,
    log_prefix,
    log_start_after,
)
from trailkit.rules.repair import Repair, Restore, plan_repair, repairable
from trailkit.rules.snippet import FORMATS, Snippet, blocking, snippet

__all__ = [
    "PlanRow",
    "Runbook",
    "candidates",
    "check",
    "plan_disable",
    "plan_policy_repair",
    "plan_rollback",
    "require_key",
]


def require_key(key: str) -> str:
    """``key`` if it names a key: an empty or blank text is refused, never read as "off".

    ``KmsKeyId=""`` turns SSE-KMS off, so an empty ``--key`` (an unset shell variable, a stray
    ``""``) would silently disable encryption. Turning it off is only ever asked for by name:
    ``trailkit disable`` (:func:`plan_disable`).

    Parameters
    ----------
    key
        The key identifier as the operator typed it.

    Returns
    -------
    str
        ``key`` unchanged.

    Raises
    ------
    InputError
        ``key`` is empty or only whitespace.
    """
    if not isinstance(key, str) or not key.strip():
        raise InputError(
            _("--key {value} is empty: an empty key identifier would turn SSE-KMS off.").format(
                value=repr(key)
            ),
            _(
                "give an alias, alias ARN, key ARN or key id; to turn encryption off use "
                "`trailkit disable` (preview it with `trailkit disable --dry-run`)"
            ),
        )
    return key


def check(
    reader: Reader,
    trail: str | Trail,
    key: str,
    *,
    reader_accounts: Sequence[str] = (),
    owner_tags: Sequence[str] = (),
) -> Report:
    """Pre-flight: will ``key`` work for ``trail``? Every rule, no change made.

    Parameters
    ----------
    reader
        Reads AWS (and caches) through one connection.
    trail
        Trail name, trail ARN, or a :class:`Trail` already read.
    key
        Key identifier as the operator typed it (``""`` means "turn SSE-KMS off").
    reader_accounts
        Accounts, besides the trail's and the bucket owner's, whose principals must be able to
        decrypt the logs (``--reader-account``): 12-digit ids, or one text of ids separated by
        commas.
    owner_tags
        Tag keys that name the tool managing a trail or key, added to
        :data:`~trailkit.rules.ownership.DEFAULT_OWNER_TAG_KEYS` (``--owner-tag``): the
        ownership rules (``managed-by``, ``controltower-key``) read the trail's, its current
        key's and the new key's tags (``cloudtrail:ListTags``, ``kms:ListResourceTags``).

    Returns
    -------
    Report
        The findings; a missing trail or malformed key is a finding, not an exception.

    Raises
    ------
    InputError
        The trail text cannot be a trail name or ARN, or a reader account is not an account id.
    AwsError
        AWS cannot be reached, or the caller lacks a permission needed to evaluate.
    """
    reader_accounts = parse_accounts(reader_accounts, "reader_accounts")
    caller = reader.conn.account
    home = reader.conn.info().via_account  # through a role: commands name the trail by ARN
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
            key_error=err.message,  # the finding adds its own remedy (no second "Fix:")
            reader_accounts=reader_accounts,
            home_account=home,
        )
    lookup = reader.lookup_key(ref, found) if found is not None else KeyLookup(ref=ref)
    current = None
    if found is not None:
        found = reader.trail_tags(found)
        current = _current_key(reader, found)
        if lookup.key is not None:
            lookup = replace(lookup, key=reader.key_tags(lookup.key))
    return preflight(
        trail=found,
        trail_input=trail_input,
        key_input=key,
        lookup=lookup,
        caller_account=caller,
        reader_accounts=reader_accounts,
        home_account=home,
        current_key=current,
        owner_tags=owner_tag_keys(owner_tags),
    )


def _current_key(reader: Reader, trail: Trail) -> KeyInfo | None:
    """The key ``trail`` uses now, with its aliases and tags (for the ownership rules); None
    when it uses none or it cannot be described (the trail's health says why, not this)."""
    if not trail.kms_key_id:
        return None
    try:
        key = reader.key(trail.kms_key_id, trail.home_region, with_policy=False)
    except TrailkitError:
        return None
    return reader.key_tags(key)


def candidates(
    reader: Reader, trail: str | Trail, *, reader_accounts: Sequence[str] = ()
) -> tuple[Trail, list[Verdict]]:
    """Every customer key of the trail's bucket region, ranked: ready, unverifiable, blocked.

    ``reader_accounts`` is as for :func:`check` (each verdict's report has the readers rule).

    Raises
    ------
    NotFound
        No such trail.
    RefusedError
        The bucket does not exist: no key can be used until it does (``bucket-not-found``).
    UnverifiableError
        The bucket's region could not be read: there is no region to list keys from.
    InputError
        A reader account is not an account id.
    """
    reader_accounts = parse_accounts(reader_accounts, "reader_accounts")
    found = trail if isinstance(trail, Trail) else reader.find_trail(trail)
    region = found.bucket_region
    if found.bucket is not None and found.bucket.missing:
        raise RefusedError(
            _(
                "The bucket {bucket} of {trail} does not exist, so no key can be chosen for it: "
                "CloudTrail refuses to update the trail (S3BucketDoesNotExistException)."
            ).format(bucket=found.bucket_name, trail=found.name),
            _(
                "create the bucket again, or point the trail at an existing bucket, then choose "
                "a key"
            ),
        )
    if region is None:
        raise UnverifiableError(
            _(
                "The region of bucket {bucket} could not be read, so the candidate keys are "
                "unknown."
            ).format(bucket=found.bucket_name),
            _(
                "grant s3:ListBucket (HeadBucket) or s3:GetBucketLocation (for another account's "
                "bucket, its bucket policy must allow it too), or give a key ARN to "
                "`trailkit check`"
            ),
        )
    keys = reader.candidate_keys(region)
    return found, rank_candidates(found, keys, reader.conn.account, reader_accounts=reader_accounts)


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
    InputError
        No trail, or a reader is not a principal KMS would accept (checked before anything is
        read, :func:`trailkit.rules.principals.parse_principals`).
    RefusedError
        The key cannot be resolved or described from here, or the repair is unsafe.
    """
    parse_principals(readers)
    found = [t if isinstance(t, Trail) else reader.find_trail(t) for t in trails]
    if not found:
        raise InputError(_("Name at least one trail."), _("pass --trail"))
    ref = parse_key_id(require_key(key))
    lookup = reader.lookup_key(ref, found[0])
    if lookup.key is None:
        raise RefusedError(
            _("The key {key} cannot be described from this account ({why}).").format(
                key=repr(key), why=lookup.message
            ),
            _("repair a key's policy from the key's own account"),
        )
    return plan_repair(lookup.key, found, readers=readers)


def plan_disable(
    reader: Reader,
    trail: str | Trail,
    *,
    reader_accounts: Sequence[str] = (),
    owner_tags: Sequence[str] = (),
) -> Plan:
    """The plan that returns a trail to SSE-S3 (``KmsKeyId=""``), with its warning finding.

    Parameters
    ----------
    reader
        Reads AWS (and caches) through one connection.
    trail
        Trail name, trail ARN, or a :class:`Trail` already read.
    reader_accounts
        As for :func:`check` (a disable runs no readers rule; passed so that the plan's recheck
        asks exactly what the plan asked).

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
    return plan_change(
        check(reader, trail, "", reader_accounts=reader_accounts, owner_tags=owner_tags)
    )


def plan_rollback(
    reader: Reader,
    journal: Journal,
    change_id: str | None = None,
    *,
    reader_accounts: Sequence[str] = (),
    owner_tags: Sequence[str] = (),
) -> Plan:
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
        The change to undo; None: the newest undoable trail change made on this connection's
        account and endpoint (never a rollback: a rollback is undone only by naming it).
    reader_accounts
        As for :func:`check`.

    Returns
    -------
    Plan
        With ``rollback_of`` set to the change's id.

    Raises
    ------
    InputError
        ``change_id`` is empty or blank (never taken to mean "the last one").
    JournalError
        No such change, or nothing to roll back.
    RefusedError
        The change is a key policy change, did not complete, is already undone, was made on
        another account or endpoint, a newer change to the same trail is in force, or the
        trail no longer uses what the change left (someone changed it since).
    """
    conn = reader.conn
    named = update.named_change(change_id, "--change")
    if named is not None:
        change = journal.get(named)
    else:
        change = update.last_undoable(journal, Kind.TRAIL_KEY, conn)
    if change.intent.kind is not Kind.TRAIL_KEY:
        raise RefusedError(
            _(
                "Change {change_id} is a key policy change; restore it with "
                "`trailkit policy --restore {change_id}`."
            ).format(change_id=change.change_id),
            "",
        )
    if not change.applied:
        raise RefusedError(
            _("Change {change_id} is {status}; there is nothing to roll back.").format(
                change_id=change.change_id, status=change.status_text
            ),
            _("run `trailkit journal --reconcile` first if it is pending"),
        )
    update.check_undo(journal, change, conn)
    target = change.intent.before or ""
    report = check(
        reader,
        change.intent.target_arn,
        target,
        reader_accounts=reader_accounts,
        owner_tags=owner_tags,
    )
    left = change.outcome.after if change.outcome is not None else change.intent.after
    now = report.trail.kms_key_id if report.trail is not None else None
    if report.trail is not None and now != left:
        # Someone changed the trail after this change (the console, another tool, another
        # endpoint spelling): undoing it now would throw their change away.
        raise RefusedError(
            _(
                "{trail} changed since change {change_id}: it now uses {now}, the change left "
                "it on {left}. Nothing will be sent."
            ).format(
                trail=report.trail.name,
                change_id=change.change_id,
                now=now or "SSE-S3",
                left=left or "SSE-S3",
            ),
            _(
                "review the trail; to return it to the state before that change, run "
                "`trailkit update` (or `trailkit disable`) with the key you want"
            ),
        )
    return plan_change(report, rollback_of=change.change_id)


#: A trail's plan in a bulk update, or why there is none.
PlanRow = tuple[Trail, Plan | TrailkitError]


class Runbook:
    """The use cases of one session, shared by every front end (CLI, notebooks, widgets, app).

    Bound to one connection, one reader (its cache) and one journal. Reads return records;
    every write goes through the one journaled write (:mod:`trailkit.change.protocol`) and
    happens only when ``confirmed is True``. Nothing here prints: the command line and the
    widgets render what these methods return, so a click, a papermill run and a command take the
    same path.

    Parameters
    ----------
    conn
        The connection (its identity is shown before any change and journaled with it).
    journal
        Where changes are recorded.
    reader
        Reads AWS and caches what it read (default: a new :class:`Reader` on ``conn``).
    regions
        Where to look for trails (default: every enabled region).
    dry_run
        Preview only: every write method raises :class:`RefusedError` before anything is
        journaled or sent, whatever ``confirmed`` says (``--dry-run``).
    reader_accounts
        Accounts, besides the trail's and the bucket owner's, whose principals must be able to
        decrypt the logs (``--reader-account``, the notebooks' ``reader_accounts``): every
        pre-flight of this runbook checks them (rule ``policy-readers``). A list of 12-digit
        account ids, or one text of ids separated by commas.
    access
        How other accounts are reached (``--role-name``, ``--external-id``): a trail of another
        account is read and changed through the role this gives (issue 16). Default: an
        :class:`~trailkit.aws.accounts.AccountAccess` on ``conn`` with
        ``OrganizationAccountAccessRole``.
    owner_tags
        Tag keys that name the tool managing a trail or key (``--owner-tag``), added to
        :data:`~trailkit.rules.ownership.DEFAULT_OWNER_TAG_KEYS` by every pre-flight, explain
        and inventory of this runbook.

    Notes
    -----
    A trail given by ARN in another account than the connection's (``check``, ``rank``,
    ``explain``, ``plan_for``, ``plan_disable``, ``plan_many``, ``apply``, ...) is read and
    changed through that account's runbook (:meth:`in_account`): the same journal, dry run,
    reader accounts and access, on a connection that assumed the role there. Its writes go
    through the same journaled write, and the journal records the account and the role
    (``role_arn``). Undoing such a change (:meth:`rollback`, :meth:`undo`) assumes the role
    the change recorded (:meth:`for_change`). A trail given by name is the connection's own.

    Raises
    ------
    InputError
        ``reader_accounts`` holds something that is not an account id
        (:func:`trailkit.rules.principals.parse_accounts`).
    """

    def __init__(
        self,
        conn: Connection,
        journal: Journal,
        *,
        reader: Reader | None = None,
        regions: Sequence[str] | None = None,
        dry_run: bool = False,
        reader_accounts: Sequence[str] | str | None = None,
        access: AccountAccess | None = None,
        owner_tags: Sequence[str] = (),
    ) -> None:
        self.reader_accounts = parse_accounts(reader_accounts, "reader_accounts")
        #: Tag keys added to the ownership rules' defaults (``--owner-tag``).
        self.owner_tags = tuple(owner_tags)
        self.access = access if access is not None else AccountAccess(conn)
        self.conn = conn
        self.journal = journal
        self.reader = reader or Reader(conn)
        self.reader.reach = self.access.reach()
        self.regions = list(regions) if regions else None
        self.dry_run = dry_run
        self._books: dict[tuple[str, str | None], Runbook] = {}
        self._books_lock = threading.Lock()
        if self.reader.key_reader is None:  # a key of another account: read by its owner
            self.reader.key_reader = self._owner_reader

    # -- other accounts (issue 16) ---------------------------------------------------------
    def in_account(self, account: str | Account, *, role_arn: str | None = None) -> Runbook:
        """This runbook acting in ``account``: the caller's own account is ``self``, another
        account's runbook acts through a role (cached: the role is assumed once).

        Parameters
        ----------
        account
            A 12-digit account id, or an :class:`~trailkit.records.org.Account`.
        role_arn
            The role to assume there (a change's recorded role, see :meth:`for_change`);
            None: the role of :attr:`access` (``--role-name``, ``--external-id``).

        Returns
        -------
        Runbook
            Same journal, dry run, reader accounts, regions and access; its own connection
            and reader (its :meth:`info` is the role's session in that account).

        Raises
        ------
        AwsError
            The role cannot be assumed in that account
            (:class:`~trailkit.errors.AssumeRoleFailed` once the access layer names it);
            nothing was read or sent.
        """
        account_id = account.account_id if isinstance(account, Account) else account
        if account_id == self.conn.info().account:
            return self
        if role_arn is not None and role_arn == self.access.role_arn(account_id):
            role_arn = None  # the access's own role: its cached connection
        key = (account_id, role_arn)
        with self._books_lock:
            known = self._books.get(key)
        if known is not None:
            return known
        conn = self.access.connection(account_id, role_arn=role_arn)
        if conn is self.conn:
            return self
        book = Runbook(
            conn,
            self.journal,
            regions=self.regions,
            dry_run=self.dry_run,
            reader_accounts=self.reader_accounts,
            access=self.access,
            owner_tags=self.owner_tags,
        )
        book.reader.key_reader = self._owner_reader  # this runbook's books, this reader
        with self._books_lock:
            return self._books.setdefault(key, book)

    def _owner_reader(self, account: str) -> Reader | None:
        """The reader of ``account`` (:meth:`in_account`: this connection for its own account,
        the role of :attr:`access` for another), for a key that account owns
        (:attr:`Reader.key_reader`); None when the role cannot be assumed there (the key is
        then read from the trail's account, as before)."""
        try:
            return self.in_account(account).reader
        except TrailkitError:
            return None

    def for_trail(self, trail: str | Trail) -> Runbook:
        """The runbook that reads and changes ``trail``: the one of the account in its ARN
        (:meth:`in_account`); ``self`` for a trail name or a trail of this account.

        Raises
        ------
        AwsError
            The role cannot be assumed in the trail's account.
        """
        arn = trail.arn if isinstance(trail, Trail) else trail.strip()
        account = arn_account(arn)
        if not account or not account.isdigit() or len(account) != 12:
            return self
        return self.in_account(account)

    def for_change(self, change: Change) -> Runbook:
        """The runbook that undoes ``change``: the one of the account it was made in, through
        the role it recorded (the current :attr:`access` role only if it recorded none).

        A change made at another endpoint (the demo, real AWS) is left to ``self``, whose
        undo refuses it by name (:func:`trailkit.change.update.check_undo`): no role is
        assumed for it.

        Raises
        ------
        AwsError
            The role cannot be assumed in that account.
        """
        intent = change.intent
        info = self.conn.info()
        if intent.account == info.account or not same_place(intent, None, info.endpoint):
            return self
        return self.in_account(intent.account, role_arn=intent.role_arn)

    def rollback_target(self, change_id: str | None = None) -> Change:
        """The trail change a rollback undoes: ``change_id``, or (None) the newest undoable
        trail change made here, in this account or in another one through a role
        (``rollback --last``). Reads only the journal.

        Raises
        ------
        InputError
            ``change_id`` is empty or blank.
        JournalError
            No such change, or nothing to roll back (:class:`~trailkit.errors.NothingToUndo`
            when everything made here is undone already).
        """
        named = update.named_change(
            change_id,
            "--change",
            fix=_("give {option} CHANGE_ID, or leave {option} out for the trail's newest change"),
        )
        if named is not None:
            return self.journal.get(named)
        return update.last_undoable(self.journal, Kind.TRAIL_KEY, self.conn, roles=True)

    def _may_write(self) -> None:
        """Refuse every write of a dry run, before the journal or AWS is touched."""
        if self.dry_run:
            raise RefusedError(_("Dry run: nothing was sent."), _("run again without --dry-run"))

    # -- who and where ---------------------------------------------------------------------
    def info(self) -> ConnectionInfo:
        """Account, caller and endpoint (``sts:GetCallerIdentity``), shown before any change."""
        return self.conn.info()

    @property
    def demo(self) -> bool:
        """True on a local (demo) endpoint; False on real AWS."""
        return bool(self.conn.demo)

    # -- reads -----------------------------------------------------------------------------
    def refresh(self) -> None:
        """Forget what was read, so the next read sees AWS as it is now."""
        self.reader.refresh()

    def scan_accounts(
        self,
        *,
        org: bool = False,
        accounts: Sequence[str] = (),
        exclude: Sequence[str] = (),
        regions: Sequence[str] | None = None,
        progress: Progress | None = None,
    ) -> Inventory:
        """One inventory of several accounts (``--org`` / ``--accounts``), through :attr:`access`.

        Parameters
        ----------
        org : bool
            The organization's active accounts (``organizations:ListAccounts``).
        accounts, exclude : sequence of str
            Account ids to read (with ``org``: those of the organization) and to leave out.
        regions : sequence of str, optional
            Default: :attr:`regions`, else each account's trails from ``ListTrails``.
        progress : Progress, optional
            ``progress(done, total)`` after every call.

        Returns
        -------
        Inventory
            As :func:`trailkit.aws.org.scan_accounts` returns it.

        Raises
        ------
        InputError
            No account to read, or an id that is not one
            (:func:`trailkit.rules.accounts.select_accounts`).
        AwsError
            The organization cannot be listed (``org``).
        ConnectionFailed
            The caller's credentials expired or were refused.
        """
        from trailkit.aws.org import scan_accounts

        chosen = self.access.accounts(org=org, given=accounts, exclude=exclude)
        return scan_accounts(
            self.access,
            chosen,
            regions if regions is not None else self.regions,
            workers=self.reader.workers,
            progress=progress,
        )

    def list_trails(self) -> list[Trail]:
        """Every trail of :attr:`regions`, counted once (shadow trails folded in).

        Raises
        ------
        AccessDenied, AwsError
            No trail could be listed because every failing region failed (for example
            ``cloudtrail:DescribeTrails`` denied): "0 trails" would be a false answer. Regions
            that failed while others answered are left out, as in ``trailkit inventory``.
        """
        trails, errors, _unused = self.reader.scan_trails(self.regions)
        if errors and not trails:
            first = errors[0]
            where = ", ".join(sorted({e.region or "?" for e in errors}))
            message = _(
                "No trail could be listed: {operation} failed in {regions} ({error})."
            ).format(operation=first.operation, regions=where, error=first.message)
            fix = (
                _("grant {permission}").format(permission=first.permission)
                if first.permission
                else _("see the error and retry")
            )
            if first.permission or first.code in ("AccessDenied", "AccessDeniedException"):
                raise AccessDenied(
                    message,
                    fix,
                    permission=first.permission,
                    operation=first.operation,
                    code=first.code,
                )
            raise AwsError(message, fix, operation=first.operation, code=first.code)
        return trails

    def find_trail(self, trail: str) -> Trail:
        """The trail with that name or ARN (another account's ARN: read in that account,
        :meth:`for_trail`). Raises :class:`NotFound` when there is none."""
        return self.for_trail(trail).reader.find_trail(trail)

    def reread(self, trail: Trail) -> Trail:
        """``trail`` read again from AWS (nothing cached), in its own account."""
        book = self.for_trail(trail)
        book.reader.refresh()
        return book.reader.find_trail(trail.arn)

    def rank(self, trail: Trail) -> list[Verdict]:
        """The candidate keys of the trail's bucket region, ranked (see :func:`candidates`),
        listed in the trail's account."""
        book = self.for_trail(trail)
        return candidates(book.reader, trail, reader_accounts=self.reader_accounts)[1]

    def health(self, trail: Trail) -> Health:
        """The health of ``trail``'s encryption as it is now (:func:`trailkit.rules.health.health`):
        its key read as the inventory reads it (``kms:DescribeKey``, ``kms:GetKeyPolicy``,
        ``kms:GetKeyRotationStatus``; a key that cannot be described is judged from the error),
        the trail as given (read by the caller, with its bucket and status), and the runbook's
        reader accounts. What the guided update warns with.

        Parameters
        ----------
        trail : Trail
            The trail as read (its ``status`` and ``bucket`` are used when present).

        Returns
        -------
        Health
            Never raises for a key that cannot be read: that is a reason (``unverifiable``).
        """
        book = self.for_trail(trail)
        if book is not self:
            return book.health(trail)
        key = None
        if trail.kms_key_id:
            key = self.reader.keys([trail.kms_key_id])[trail.kms_key_id]
        return judge_health(trail, key, self.info().account, reader_accounts=self.reader_accounts)

    def explain(
        self, trail: str | Trail, *, since: datetime | None = None, history: bool = True
    ) -> Explanation:
        """One trail's drill-down, read fresh (``trailkit explain``, the notebook's trail
        explorer): the trail with its status and bucket, its key as the inventory reads it (with
        its policy and rotation status), and, with ``history``, what CloudTrail's event history
        says about both since ``since`` (:meth:`Reader.history`).

        Parameters
        ----------
        trail
            Trail name, ARN, or a :class:`Trail` (read again by its ARN).
        since
            Start of the history window (aware); None: the last
            :data:`~trailkit.rules.history.DEFAULT_SINCE` (30 days).
        history
            Look the change history up (``cloudtrail:LookupEvents``); False makes no such call.

        Returns
        -------
        Explanation
            What could not be read is in it (``errors``, the history's ``errors``): a partial
            result, never an exception.

        Raises
        ------
        InputError
            The trail text cannot be a trail name or ARN.
        NotFound
            No visible trail has that name or ARN.
        AwsError
            AWS cannot be reached, or the trail cannot be looked up at all.
        """
        book = self.for_trail(trail)
        if book is not self:  # another account's trail: read there, through its role
            return book.explain(trail, since=since, history=history)
        # An investigation asks about now: nothing cached from an earlier read is used.
        self.reader.refresh()
        found = self.reader.find_trail(trail.arn if isinstance(trail, Trail) else trail)
        key = None
        if found.kms_key_id:
            key = self.reader.keys([found.kms_key_id])[found.kms_key_id]
        errors = tuple(self.reader.errors)
        now = datetime.now(UTC)
        events: History | None = None
        if history:
            start = since if since is not None else now - DEFAULT_SINCE
            try:
                events = self.reader.history(found, key, since=start)
            except TrailkitError as exc:  # the lookup could not be made at all: said, not raised
                events = History(
                    events=(),
                    since=start,
                    until=now,
                    regions=(found.home_region,),
                    errors=(scan_error(exc, region=found.home_region, resource=found.arn),),
                )
        return explain(
            found,
            key,
            self.conn.account,
            events,
            now,
            reader_accounts=self.reader_accounts,
            errors=errors,
            owner_tags=owner_tag_keys(self.owner_tags),
        )

    def candidate_keys(self, region: str) -> tuple[KeyInfo, ...]:
        """Every customer key of ``region`` that could encrypt a trail (cheap filters applied)."""
        return self.reader.candidate_keys(region)

    def check(self, trail: str | Trail, key: str) -> Report:
        """Pre-flight of ``key`` for ``trail`` (see :func:`check`).

        ``key=""`` is the preview of turning SSE-KMS off (the guided notebook's explicit
        choice); the command line refuses an empty ``--key`` (:func:`require_key`) and points
        to ``trailkit disable --dry-run``. Another account's trail (by ARN) is checked in
        that account, through its role (:meth:`for_trail`).
        """
        book = self.for_trail(trail)
        return check(
            book.reader,
            trail,
            key,
            reader_accounts=self.reader_accounts,
            owner_tags=self.owner_tags,
        )

    def changes(self) -> list[Change]:
        """Every recorded change, oldest first (reading the journal makes no AWS call)."""
        return self.journal.changes()

    def undoable(self, trail_arn: str | None = None) -> list[Change]:
        """Trail changes a rollback may target, newest first (of ``trail_arn`` when given).

        Made on this connection's account and endpoint (or at this endpoint in another
        account through a role, undone through that role), applied, not undone, not a
        rollback, and the newest in force on its trail (see
        :func:`trailkit.records.journal.undoable`).
        """
        info = self.conn.info()
        changes = self.journal.changes()
        return [
            c
            for c in undoable(changes, account=info.account, endpoint=info.endpoint, roles=True)
            if c.intent.kind is Kind.TRAIL_KEY
            and (trail_arn is None or c.intent.target_arn == trail_arn)
        ]

    # -- plans -----------------------------------------------------------------------------
    def plan(self, report: Report) -> Plan:
        """The exact ``UpdateTrail`` request for a pre-flight report (blocked or not)."""
        return plan_change(report)

    def plan_for(self, trail: str | Trail, key: str) -> Plan:
        """Pre-flight and plan in one: what ``trailkit update --trail T --key K`` shows.

        Raises
        ------
        InputError
            ``key`` is empty or blank (:func:`require_key`): turning SSE-KMS off is only
            :meth:`plan_disable`.
        """
        return plan_change(self.check(trail, require_key(key)))

    def plan_disable(self, trail: str | Trail) -> Plan:
        """The plan that returns ``trail`` to SSE-S3 (see :func:`plan_disable`), made in the
        trail's account."""
        book = self.for_trail(trail)
        return plan_disable(
            book.reader, trail, reader_accounts=self.reader_accounts, owner_tags=self.owner_tags
        )

    def plan_rollback(self, change_id: str | None = None) -> Plan:
        """The plan that undoes a trail change (see :func:`plan_rollback`), read in the
        account the change was made in, through the role it recorded (:meth:`for_change`).

        ``change_id`` None: the newest undoable trail change made here, in this account or
        in another through a role (:meth:`rollback_target`). Send the plan with the runbook
        of :meth:`for_change` (as :meth:`rollback` does), so that the write assumes the same
        role.
        """
        change = self.rollback_target(change_id)
        book = self.for_change(change)
        return plan_rollback(
            book.reader,
            self.journal,
            change.change_id,
            reader_accounts=self.reader_accounts,
            owner_tags=self.owner_tags,
        )

    def for_key(self, key: str, trails: Sequence[str | Trail] = ()) -> Runbook:
        """The runbook of a key's account: the one in ``key``'s ARN, else the first trail's."""
        account = arn_account(key.strip()) if isinstance(key, str) else ""
        if account.isdigit() and len(account) == 12:
            return self.in_account(account)
        return self.for_trail(trails[0]) if trails else self

    def plan_repair(
        self, trails: Sequence[str | Trail], key: str, *, readers: Sequence[str] = ()
    ) -> Repair:
        """The add-only repair of ``key``'s policy (see :func:`plan_policy_repair`), read in
        the key's account (its ARN's, else the first trail's): a key policy is changed only
        there."""
        book = self.for_key(key, trails)
        # Each trail is read where it lives (a member's trail through its role, even for a key
        # of this account), the key in its own account.
        parse_principals(readers)
        trails = [t if isinstance(t, Trail) else self.find_trail(t) for t in trails]
        return plan_policy_repair(book.reader, trails, key, readers=readers)

    def repair_for(self, report: Report) -> Repair | None:
        """The add-only key policy repair a report calls for, or None when none would help.

        Only blocking findings about the key policy
        (:data:`trailkit.rules.repair.REPAIRABLE_CODES`) lead to a repair; for an explicit Deny
        the repair is a refusal that explains why only the Deny's owner may narrow it.
        """
        if report.key is None or report.trail is None or not repairable(report):
            return None
        return self.plan_repair([report.trail], report.key.arn)

    def snippet(self, trail: str | Trail, key: str, fmt: str) -> Snippet:
        """The change of ``trailkit update --trail T --key K`` as code for the owner's tool.

        The values are trailkit's own: the plan's ``KmsKeyId`` (:meth:`plan_for`) and the
        statements ``trailkit policy`` would add (:meth:`plan_repair`), written by
        :func:`trailkit.rules.snippet.snippet`.

        Parameters
        ----------
        trail
            Trail name, trail ARN, or a :class:`Trail` already read.
        key
            Key identifier as the operator typed it (never empty: :func:`require_key`).
        fmt
            ``cloudformation``, ``terraform`` or ``cdk``
            (:data:`trailkit.rules.snippet.FORMATS`).

        Returns
        -------
        Snippet

        Raises
        ------
        InputError
            ``fmt`` is not a snippet format, or ``key`` is empty (checked before any read).
        RefusedError
            The change is blocked by a finding the added key policy statements do not fix
            (as ``trailkit update`` refuses it), or the trail or key cannot be planned.
        """
        if fmt not in FORMATS:
            raise InputError(
                _("{format} is not a snippet format.").format(format=repr(fmt)),
                _("choose one of: {formats}").format(formats=", ".join(FORMATS)),
            )
        plan = plan_change(self.check(trail, require_key(key)))
        report = plan.report
        repair: Repair | None = None
        refused: RefusedError | None = None
        if report.key is not None and report.key.policy is not None:
            try:
                repair = self.plan_repair([plan.trail], report.key.arn)
            except RefusedError as exc:  # e.g. an explicit Deny: reported if it blocks
                refused = exc
        left = blocking(plan, repair)
        if left:
            raise RefusedError(
                _(
                    "The change of {trail} to {key} is blocked by findings that the key policy "
                    "statements do not fix: {findings}. No code was written."
                ).format(
                    trail=plan.trail.name,
                    key=plan.after_key,
                    findings="; ".join(
                        f"{f.code}: {f.message.rstrip().rstrip('.。')}" for f in left
                    ),
                ),
                left[0].remedy,
            )
        if refused is not None and repairable(report):
            raise refused
        found = owners(plan.trail, report.key, owner_tag_keys(self.owner_tags))
        return snippet(plan, repair, found, fmt=fmt)

    def plan_many(
        self, trails: Sequence[Trail], keys_by_region: Mapping[str, str]
    ) -> list[PlanRow]:
        """Bulk update: one plan per trail (read fresh), with the key chosen for its bucket's
        region; a trail without a key, or whose plan fails, gets the error instead.

        A trail of another account is read and planned in that account, through its role
        (:meth:`for_trail`); an account whose role cannot be assumed is the error of each of
        its trails."""
        fresh: set[int] = set()
        rows: list[PlanRow] = []
        for given in trails:
            try:
                book = self.for_trail(given)
                if id(book) not in fresh:
                    book.reader.refresh()
                    fresh.add(id(book))
                trail = book.reader.find_trail(given.arn)
            except TrailkitError as err:
                rows.append((given, err))
                continue
            try:
                key = bucket_region_key(trail, keys_by_region)
            except TrailkitError as err:
                rows.append((trail, err))
                continue
            try:
                rows.append((trail, self.plan_for(trail, key)))
            except TrailkitError as err:
                rows.append((trail, err))
        return rows

    # -- writes (only on confirmed is True) ------------------------------------------------
    def recheck(self, plan: Plan) -> None:
        """Refuse a plan that went stale: pre-flight again from fresh reads and compare.

        Everything the verdict depended on is read again (the trail, its bucket's region,
        Bucket Key setting and policy, the key's metadata and policy); the plan's target input
        is resolved again, so an alias that now names another key counts as a change.

        Raises
        ------
        RefusedError
            The verdict, the key ARN, or the error or warning findings differ from the plan's
            (:meth:`trailkit.rules.plan.Plan.require_current`); nothing was sent.
        AwsError
            AWS could not be read again; nothing was sent.
        """
        book = self.for_trail(plan.trail)
        book.reader.refresh()
        plan.require_current(
            check(
                book.reader,
                plan.trail.arn,
                plan.target_input,
                reader_accounts=self.reader_accounts,
                owner_tags=self.owner_tags,
            )
        )

    def apply(self, plan: Plan, *, confirmed: bool) -> ApplyResult:
        """Send one plan through the journaled write (:func:`trailkit.change.update.apply`).

        Once confirmed, and immediately before sending, the plan is checked again from fresh
        reads (:meth:`recheck`): a plan whose verdict would now differ is refused with
        :class:`RefusedError` and nothing is sent or journaled. Rollback and disable plans go
        through the same. A trail of another account is sent through that account's
        connection (:meth:`for_trail`): the journal records the account and the role.
        """
        self._may_write()
        book = self.for_trail(plan.trail)
        return update.apply(
            book.conn, plan, self.journal, confirmed=confirmed, recheck=self.recheck
        )

    def apply_many(self, plans: Sequence[Plan], *, confirmed: bool) -> list[ApplyResult]:
        """Send several plans, one result per trail (:func:`trailkit.change.update.apply_many`);
        each is checked again just before it is sent (:meth:`recheck`), and a stale one is
        reported :attr:`~trailkit.records.Outcome.REFUSED` while the others still run.
        Each plan is sent through its trail's account (:meth:`for_trail`)."""
        self._may_write()
        return update.apply_many(
            self.conn,
            plans,
            self.journal,
            confirmed=confirmed,
            recheck=self.recheck,
            connection=lambda plan: self.for_trail(plan.trail).conn,
        )

    def rollback(
        self, change_id: str | None = None, *, confirmed: bool, accept_unverifiable: bool = False
    ) -> ApplyResult:
        """Plan the undo of a trail change from the live state, and send it.

        Raises
        ------
        UnverifiableError
            The rollback plan is UNVERIFIABLE and ``accept_unverifiable`` is not True (as
            ``trailkit rollback`` without ``--accept-unverifiable``): nothing is sent.

        A change made in another account is undone there, through the role it recorded
        (:meth:`for_change`): the read, the guard and the write all go through that role.
        """
        change = self.rollback_target(change_id)
        book = self.for_change(change)
        plan = book.plan_rollback(change.change_id)
        plan.require_verified(accept_unverifiable is True)
        return book.apply(plan, confirmed=confirmed)

    def apply_repair(self, repair: Repair, *, confirmed: bool) -> PolicyResult:
        """Send an add-only key policy repair (``PutKeyPolicy`` through the journaled write),
        in the key's account (:meth:`in_account`)."""
        self._may_write()
        book = self.for_key(repair.key.arn)
        trail_arn = repair.trails[0].arn if len(repair.trails) == 1 else None
        return update.put_key_policy(
            book.conn,
            repair.key.arn,
            repair.original_text,
            repair.policy_text,
            self.journal,
            confirmed=confirmed,
            trail_arn=trail_arn,
        )

    def plan_restore(self, change_id: str | None = None) -> Restore:
        """What ``trailkit policy --restore`` would put back, with the key's current policy read
        for the diff (see :func:`trailkit.change.update.plan_policy_restore`); sends nothing.
        A change made in another account is read there, through the role it recorded; the
        default (the last) is the newest policy change made from this connection's account,
        in it or through a role (as ``rollback --last`` finds trail changes)."""
        book, named = self._restorer(change_id)
        return update.plan_policy_restore(book.conn, self.journal, named)

    def _restorer(self, change_id: str | None) -> tuple[Runbook, str]:
        """The policy change to restore (``change_id``, or the last undoable one made from
        here, through a role too) and the runbook that restores it (:meth:`for_change`).

        Raises
        ------
        JournalError
            No such change, or nothing to restore (:class:`~trailkit.errors.NothingToUndo`).
        """
        named = update.named_change(change_id, "--restore")
        if named is not None:
            change = self.journal.get(named)
        else:
            change = update.last_undoable(self.journal, Kind.KEY_POLICY, self.conn, roles=True)
        return self.for_change(change), change.change_id

    def apply_restore(self, restore: Restore, *, confirmed: bool) -> PolicyResult:
        """Send a previewed restore through the journaled write (``PutKeyPolicy``), through
        the connection the change was made on (:meth:`for_change`)."""
        self._may_write()
        book, _named = self._restorer(restore.change_id)
        return update.apply_restore(book.conn, restore, self.journal, confirmed=confirmed)

    def restore_policy(self, change_id: str | None = None, *, confirmed: bool) -> PolicyResult:
        """Put back the key policy recorded before a policy change (the last by default; a
        named change of another account through the role it recorded)."""
        self._may_write()
        book, named = self._restorer(change_id)
        return update.restore_policy(book.conn, self.journal, named, confirmed=confirmed)

    def preview_undo(self, change_id: str) -> Plan | Restore:
        """What :meth:`undo` would send for ``change_id``, read fresh, nothing sent: the
        rollback's plan of a trail change (:meth:`plan_rollback`), the restore of a policy
        change with the current policy for its diff (:meth:`plan_restore`)."""
        change = self.journal.get(change_id)
        if change.intent.kind is Kind.KEY_POLICY:
            return self.plan_restore(change_id)
        return self.plan_rollback(change_id)

    def undo(
        self, change_id: str, *, confirmed: bool, accept_unverifiable: bool = False
    ) -> ApplyResult | PolicyResult:
        """Roll a trail change back (an UNVERIFIABLE rollback only with
        ``accept_unverifiable``, see :meth:`rollback`), or restore the policy recorded before a
        policy change."""
        change = self.journal.get(change_id)
        if change.intent.kind is Kind.KEY_POLICY:
            return self.restore_policy(change_id, confirmed=confirmed)
        return self.rollback(
            change_id, confirmed=confirmed, accept_unverifiable=accept_unverifiable
        )

    def verify(self, trail: Trail) -> Delivery:
        """Delivery status of a trail after a change (``GetTrailStatus``, in its account)."""
        return update.verify_delivery(self.for_trail(trail).conn, trail)

    def verify_change(
        self,
        trail: str | Trail,
        *,
        change_id: str | None = None,
        wait: float = 0.0,
        interval: float | None = None,
        cancel: threading.Event | None = None,
        progress: Callable[[Proof, float], None] | None = None,
        record: bool = True,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
    ) -> Proof:
        """The proof that what CloudTrail delivers since a change carries its encryption.

        Reads, in the trail's account: the trail and its bucket (default encryption), then on
        every look ``GetTrailStatus`` and the newest log and digest objects of the home
        region's day folders since the change (``ListObjectsV2`` with ``StartAfter``,
        ``HeadObject``; :mod:`trailkit.aws.delivered`), judged by
        :func:`trailkit.rules.proof.judge`. Looks again every ``interval`` seconds while the
        proof is ``pending``, until ``wait`` seconds have passed or ``cancel`` is set; a trail
        that is not logging (``IsLogging`` false) is answered at once (``pending``, the fix is
        to start logging: waiting cannot help).

        Parameters
        ----------
        trail : str or Trail
            The trail (name or ARN).
        change_id : str or None
            The journal change to prove; None: the newest applied trail change of this trail
            made from this account and endpoint (or through a role from it, as for
            ``rollback --last``; rollbacks included). When there is none, the trail's current
            setting is judged on its newest objects (``since`` None) and nothing is recorded.
        wait : float
            Seconds to keep looking while pending (0: look once).
        interval : float or None
            Seconds between looks (default: 1 on the demo, 15 on AWS).
        cancel : threading.Event or None
            Set to stop waiting: the last proof is returned as ``pending``, its reason says
            it was cancelled. A ``KeyboardInterrupt`` (Ctrl-C) during a look or a wait is a
            cancel too.
        progress : callable or None
            Told ``(proof so far, seconds left)`` after each pending look.
        record : bool
            Record the proof in the journal against the change
            (``Journal.record_verification``), judged again in English (journal records are
            English; the proof returned is in the operator's language).
        sleep, clock : callable
            Injected for tests (default :func:`time.sleep`, :func:`time.monotonic`).

        Returns
        -------
        Proof
            Never ``failed`` for a read trailkit was refused: that is ``unverifiable``, naming
            the permission.

        Raises
        ------
        InputError
            ``change_id`` is blank, not a trail change, not applied, or of another trail.
        JournalError
            No such change.
        NotFound, AwsError
            The trail cannot be read.
        """
        book = self.for_trail(trail)
        name = trail.arn if isinstance(trail, Trail) else trail
        book.reader.refresh()
        found = book.reader.find_trail(name)
        change = self._proved_change(found, change_id)
        since = _change_time(change) if change is not None else None
        if change is not None:
            after = change.outcome.after if change.outcome is not None else change.intent.after
            expected = expected_encryption(found, after or None)
            previous: tuple[str, str | None] | None = expected_encryption(
                found, change.intent.before or None
            )
            if previous == expected:
                previous = None
        else:
            expected = expected_encryption(found, found.kms_key_id)
            previous = None
        pause = interval if interval is not None else (1.0 if book.demo else 15.0)
        deadline = clock() + max(wait, 0.0)
        org: list[str | None] = [None]
        idle = [False]  # the last look's GetTrailStatus said IsLogging false
        # What the last look read: judged again in English for the journal (records are English).
        last: dict[str, Any] = {}

        def judged(
            status: TrailStatus | None,
            log: DeliveredObject | None,
            digest: DeliveredObject | None,
            failure: TrailkitError | None,
            final: bool,
            checked_at: datetime,
        ) -> Proof:
            return judge(
                found,
                expected=expected,
                since=since,
                status=status,
                log=log,
                digest=digest,
                previous=previous,
                unreadable=_message(failure) if failure is not None else None,
                permission=str(getattr(failure, "permission", "") or ""),
                final=final,
                change_id=change.change_id if change is not None else None,
                checked_at=checked_at,
                organization_id=org[0],
            )

        def look(final: bool) -> Proof:
            status = writes.trail_status(book.conn, found.arn, found.home_region)
            idle[0] = status.is_logging is False
            log, digest, failure = _delivered(book.conn, found, since, org)
            last.clear()
            last.update(
                status=status,
                log=log,
                digest=digest,
                failure=failure,
                final=final,
                checked_at=datetime.now(UTC),
            )
            return judged(**last)

        def unread() -> Proof:
            """The proof of a look cancelled before anything was read."""
            return Proof(
                status=ProofStatus.PENDING,
                trail_arn=found.arn,
                expected_encryption=expected[0],
                expected_key=expected[1],
                since=since,
                log=None,
                digest=None,
                digest_expected=found.log_file_validation,
                reason=_("Nothing was read from the bucket yet."),
                change_id=change.change_id if change is not None else None,
                checked_at=datetime.now(UTC),
            )

        def stopped(proof: Proof) -> Proof:
            return replace(
                proof,
                status=ProofStatus.PENDING,
                reason=_("Cancelled before the proof was complete. {reason}").format(
                    reason=proof.reason
                ),
                fix=_("run `trailkit verify --trail {trail} --wait 15m` again").format(
                    trail=found.arn
                ),
            )

        cancelled = False
        try:
            proof = look(final=wait <= 0)
        except KeyboardInterrupt:  # Ctrl-C during the first look (a slow listing): a cancel
            proof = unread()
            cancelled = True
        # a trail that is not logging delivers nothing: its pending proof is the answer at once
        while not cancelled and proof.status is ProofStatus.PENDING and not idle[0]:
            left = deadline - clock()
            if cancel is not None and cancel.is_set():
                cancelled = True
                break
            if left <= 0:
                break
            if progress is not None:
                progress(proof, left)
            try:
                sleep(min(pause, left))
                if cancel is not None and cancel.is_set():
                    cancelled = True
                    break
                proof = look(final=deadline - clock() <= 0)
            except KeyboardInterrupt:  # Ctrl-C while waiting: a cancel
                cancelled = True
                break
        if cancelled:
            proof = stopped(proof)
        if record and change is not None:
            with speaking("en"):  # the journal keeps English; the operator reads their language
                english = judged(**last) if last else unread()
                if cancelled:
                    english = stopped(english)
            self.journal.record_verification(change, english)
        return proof

    def _proved_change(self, trail: Trail, change_id: str | None) -> Change | None:
        """The change :meth:`verify_change` proves (see there); None when none is known."""
        named = update.named_change(
            change_id,
            "--change",
            fix=_("give {option} CHANGE_ID, or leave {option} out for the trail's newest change"),
        )
        if named is not None:
            change = self.journal.get(named)
            if change.intent.kind is not Kind.TRAIL_KEY:
                raise InputError(
                    _(
                        "Change {change_id} is a key policy change: only a trail change is "
                        "proved by what CloudTrail delivers."
                    ).format(change_id=change.change_id),
                    _("give a change of the trail from `trailkit journal`"),
                )
            if change.intent.target_arn != trail.arn:
                raise InputError(
                    _("Change {change_id} is a change of {other}, not of {trail}.").format(
                        change_id=change.change_id,
                        other=change.intent.target_arn,
                        trail=trail.arn,
                    ),
                    _("give the change's trail with --trail, or leave --change out"),
                )
            if not change.applied:
                raise InputError(
                    _("Change {change_id} is {status}: there is no delivery to prove.").format(
                        change_id=change.change_id, status=change.status_text
                    ),
                    _("run `trailkit journal --reconcile` first if it is pending"),
                )
            later = _later_change(self.journal.changes(), change)
            if later is not None:
                # Files delivered now carry the later change's setting: judging them against
                # this change's would record a "failed" that is not true.
                undone = undone_by(self.journal.changes()).get(change.change_id)
                message = (
                    _(
                        "Change {change_id} was rolled back by change {later}: what CloudTrail "
                        "delivers now proves {later}, not {change_id}."
                    )
                    if undone is not None
                    else _(
                        "Change {change_id} was replaced by a later change of the trail, "
                        "{later}: what CloudTrail delivers now proves {later}, not {change_id}."
                    )
                )
                raise InputError(
                    message.format(change_id=change.change_id, later=later.change_id),
                    _(
                        "verify the later change: `trailkit verify --trail {trail} --change "
                        "{later}` (`trailkit verify --trail {trail}` proves the newest change)"
                    ).format(trail=trail.arn, later=later.change_id),
                )
            return change
        info = self.conn.info()
        for change in reversed(self.journal.changes()):
            if (
                change.intent.kind is Kind.TRAIL_KEY
                and change.intent.target_arn == trail.arn
                and change.applied
                and same_place(change.intent, info.account, info.endpoint, roles=True)
            ):
                return change
        return None

    def reconcile(
        self, on_skip: Callable[[Change, str], None] | None = None
    ) -> list[tuple[Change, Record]]:
        """Settle pending intents by reading the live state (``trailkit journal --reconcile``).

        ``on_skip(change, why)`` is told about each change left pending, once.

        An intent made at this endpoint in another account through a role (``role_arn``
        recorded) is read in that account, through that role (:meth:`for_change`); when the
        role cannot be assumed, that is why the change stays pending.
        """
        info = self.conn.info()
        skipped: dict[str, tuple[Change, str, bool]] = {}

        def skip(book: Runbook) -> Callable[[Change, str], None]:
            def told(change: Change, why: str) -> None:
                # The reason given where the change was made wins over "not this account".
                here = change.intent.account == book.conn.info().account
                if here or change.change_id not in skipped:
                    skipped[change.change_id] = (change, why, here)

            return told

        settled = update.reconcile_journal(self.conn, self.journal, on_skip=skip(self))
        elsewhere: dict[tuple[str, str], Change] = {}
        for change in self.journal.pending():
            intent = change.intent
            role = intent.role_arn
            if role and intent.account != info.account and same_place(intent, None, info.endpoint):
                elsewhere.setdefault((intent.account, role), change)
        for change in elsewhere.values():
            try:
                book = self.for_change(change)
            except TrailkitError as err:
                for other in self.journal.pending():
                    if (other.intent.account, other.intent.role_arn) == (
                        change.intent.account,
                        change.intent.role_arn,
                    ):
                        skipped[other.change_id] = (other, str(err), True)
                continue
            settled += update.reconcile_journal(book.conn, self.journal, on_skip=skip(book))
        done = {change.change_id for change, _record in settled}
        if on_skip is not None:
            for change, why, _here in skipped.values():
                if change.change_id not in done:
                    on_skip(change, why)
        return settled


def _later_change(changes: Sequence[Change], change: Change) -> Change | None:
    """The newest applied trail change of ``change``'s trail made after it at the same place
    (account and endpoint), a rollback included; None when there is none."""
    intent = change.intent
    found = False
    later: Change | None = None
    for other in changes:
        if other.change_id == change.change_id:
            found = True
            continue
        if (
            found
            and other.applied
            and other.intent.kind is Kind.TRAIL_KEY
            and other.intent.target_arn == intent.target_arn
            and same_place(other.intent, intent.account, intent.endpoint)
        ):
            later = other
    return later


def _change_time(change: Change) -> datetime:
    """When ``change`` took effect: its outcome's time (the intent's when it has none), UTC."""
    stamp = change.outcome.time if change.outcome is not None else change.intent.time
    when = datetime.fromisoformat(stamp.replace("Z", "+00:00"))
    return when if when.tzinfo else when.replace(tzinfo=UTC)


def _message(err: TrailkitError) -> str:
    """``err``'s message (without its fix) in the language spoken now: an error made by
    :func:`~trailkit.errors.translate` (or with a ``remake``) is made again."""
    if err.remake is not None:
        return err.remake().message
    if err.source is not None:
        exc, operation, permission, region = err.source
        return translate(exc, operation, permission=permission, region=region).message
    return err.message


def _delivered(
    conn: Connection, trail: Trail, since: datetime | None, org: list[str | None]
) -> tuple[DeliveredObject | None, DeliveredObject | None, TrailkitError | None]:
    """The newest log and digest objects of ``trail``'s home region delivered after ``since``
    (see :meth:`Runbook.verify_change`), or why they could not be read.

    ``org`` holds the organization trail's ``o-`` folder once found (looked up once, with one
    ``ListObjectsV2`` call, while it is unknown).

    Returns
    -------
    tuple
        ``(log, digest, failure)``: the two :class:`~trailkit.records.DeliveredObject`
        (None: none found), and the error of a failed read (None: read).
    """
    bucket = trail.bucket_name
    region = trail.bucket_region or trail.home_region
    account = arn_account(trail.arn) or trail.account
    home = trail.home_region
    log: DeliveredObject | None = None
    digest: DeliveredObject | None = None
    try:
        if trail.organization and org[0] is None:
            org[0] = delivered.organization_folder(conn, bucket, region, trail.s3_prefix)
            if org[0] is None:
                return None, None, None
        found_log: tuple[str, datetime] | None = None
        found_digest: tuple[str, datetime] | None = None
        for day in day_folders(since, datetime.now(UTC)):
            if found_log is None:
                prefix = log_prefix(trail, account, home, day, org[0])
                start = log_start_after(prefix, account, home, since) if since else None
                found_log = delivered.newest_object(
                    conn, bucket, region, prefix, start_after=start, after=since
                )
            if found_digest is None and trail.log_file_validation:
                prefix = digest_prefix(trail, account, home, day, org[0])
                found_digest = delivered.newest_object(conn, bucket, region, prefix, after=since)
            if found_log is not None and (
                found_digest is not None or not trail.log_file_validation
            ):
                break
        if found_log is not None:
            log = delivered.head_object(conn, bucket, region, *found_log)
        if found_digest is not None:
            digest = delivered.head_object(conn, bucket, region, *found_digest)
    except TrailkitError as err:
        return log, digest, err
    return log, digest, None
