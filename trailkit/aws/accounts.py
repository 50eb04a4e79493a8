"""The accounts of an organization, and a connection into each through a role (issue 16).

:func:`list_accounts` lists the organization's accounts (``organizations:ListAccounts``, from
the management account or a delegated administrator); :class:`AccountAccess` gives a
:class:`~trailkit.aws.session.Connection` acting in each account: the caller's own account
directly, every other one through ``sts:AssumeRole`` into ``--role-name`` (default
``OrganizationAccountAccessRole``) with the session name ``trailkit``. Which accounts to look at
is decided by :func:`trailkit.rules.accounts.select_accounts`.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable
from typing import Any

import botocore.exceptions

from trailkit.arn import arn_partition
from trailkit.aws.session import Connection
from trailkit.errors import AssumeRoleFailed, list_accounts_error
from trailkit.permissions import requires
from trailkit.records import Account
from trailkit.rules.accounts import (
    CLI_OPTIONS,
    DEFAULT_ROLE_NAME,
    SESSION_NAME,
    AccountOptions,
    check_external_id,
    check_role_name,
    role_arn,
    select_accounts,
)

__all__ = ["AccountAccess", "list_accounts"]


@requires("organizations:ListAccounts")
def list_accounts(conn: Connection, options: AccountOptions = CLI_OPTIONS) -> list[Account]:
    """Every account of the caller's organization (``ListAccounts``, every page).

    Parameters
    ----------
    conn : Connection
        The management account's or a delegated administrator's connection.
    options : AccountOptions
        How the errors name ``--org`` and ``--accounts`` (a notebook's ``org``, ``accounts``).

    Returns
    -------
    list of Account
        Id, name and status (``Status``; ``State`` when AWS sends it instead), no role yet.

    Raises
    ------
    AwsError
        The caller's account is in no organization (``AWSOrganizationsNotInUseException``).
    AccessDenied
        Not the management account nor a delegated administrator, or no
        ``organizations:ListAccounts`` (``AccessDeniedException``).
    ConnectionFailed
        The caller's credentials are expired or invalid.

    The first two name ``--accounts`` as the way on
    (:func:`trailkit.errors.list_accounts_error`).
    """
    accounts: list[Account] = []
    try:
        token: str | None = None
        while True:
            page = conn.client("organizations").list_accounts(
                **({"NextToken": token} if token else {})
            )
            for item in page.get("Accounts", []):
                accounts.append(
                    Account(
                        str(item["Id"]),
                        name=item.get("Name"),
                        status=item.get("Status") or item.get("State"),
                    )
                )
            token = page.get("NextToken")
            if not token:
                break
    except (botocore.exceptions.BotoCoreError, botocore.exceptions.ClientError) as exc:
        raise list_accounts_error(
            exc, region=conn.region, org_option=options.org, accounts_option=options.accounts
        ) from None
    return accounts


class AccountAccess:
    """A connection into each account: the caller's own directly, the others through a role.

    Parameters
    ----------
    conn : Connection
        The caller's connection.
    role_name : str
        The role assumed in every other account (``--role-name``).
    external_id : str, optional
        ``--external-id``.
    options : AccountOptions
        How the messages name the options: the command line's (default) or a notebook's
        parameters (:data:`~trailkit.rules.accounts.NOTEBOOK_PARAMETERS`), in the role and
        external id checks, the account list's errors and a refused role's fix.

    Raises
    ------
    InputError
        ``role_name`` or ``external_id`` cannot be what IAM and STS accept.
    """

    def __init__(
        self,
        conn: Connection,
        *,
        role_name: str = DEFAULT_ROLE_NAME,
        external_id: str | None = None,
        options: AccountOptions = CLI_OPTIONS,
    ) -> None:
        self.conn = conn
        self.options = options
        self.role_name = check_role_name(role_name, options.role_name)
        self.external_id = check_external_id(external_id, options.external_id)
        self._lock = threading.Lock()
        self._account_locks: dict[str, threading.Lock] = {}
        self._connections: dict[str, Connection | AssumeRoleFailed] = {}
        #: Account id -> name of every account :meth:`accounts` listed (excluded ones too).
        self.names: dict[str, str | None] = {}

    @property
    def caller(self) -> str:
        """The caller's own account."""
        return self.conn.info().account

    @property
    def partition(self) -> str:
        """The caller's partition (``aws``, ``aws-cn``, ...)."""
        return arn_partition(self.conn.info().caller_arn) or "aws"

    def role_arn(self, account_id: str) -> str | None:
        """The role assumed in ``account_id``; None for the caller's own account."""
        if account_id == self.caller:
            return None
        return role_arn(account_id, self.role_name, self.partition)

    def accounts(
        self, *, org: bool = False, given: Iterable[str] = (), exclude: Iterable[str] = ()
    ) -> list[Account]:
        """The accounts to look at (:func:`~trailkit.rules.accounts.select_accounts`).

        ``org``: list the organization (``ListAccounts``) and keep its active accounts (or,
        with ``given``, those of them).
        """
        listed = list_accounts(self.conn, self.options) if org else None
        return select_accounts(
            self.caller,
            listed=self._named(listed),
            given=given,
            exclude=exclude,
            role_name=self.role_name,
            partition=self.partition,
            options=self.options,
        )

    def _named(self, listed: list[Account] | None) -> list[Account] | None:
        """The organization's listing, its names kept in :attr:`names`."""
        self.names.update((a.account_id, a.name) for a in listed or ())
        return listed

    def connection(self, account: str | Account, *, role_arn: str | None = None) -> Connection:
        """A connection acting in ``account``: the role is assumed once per account.

        The answer is kept, a refusal too: a scan that asks again for the same account (one
        region after another) gets the same connection, or the same :class:`AssumeRoleFailed`,
        without another ``AssumeRole``. Threads asking for the same account wait for one
        ``AssumeRole``; different accounts are assumed in parallel.

        Parameters
        ----------
        account : str or Account
            The account id (or record).
        role_arn : str, optional
            Another role than :meth:`role_arn` gives (e.g. the role a journal recorded for a
            change being rolled back), kept the same way. None: the access's own role (none
            for the caller's account).

        Raises
        ------
        AssumeRoleFailed
            The role cannot be assumed in that account (``.account``, ``.role_arn``, ``.code``;
            the message says why): one account's failure, the others can go on.
        ConnectionFailed
            The caller's own credentials are expired or invalid: every account would fail
            (:func:`trailkit.errors.caller_expired`). Not kept: asking again tries again.
        ValueError
            ``role_arn`` is not a role of ``account``.
        """
        account_id = account.account_id if isinstance(account, Account) else account
        own = self.role_arn(account_id)
        if role_arn is not None and role_arn != own:
            if role_arn.split(":")[4:5] != [account_id]:
                raise ValueError(f"{role_arn} is not a role of account {account_id}")
            arn, key = role_arn, role_arn
        elif own is None:
            return self.conn
        else:
            arn, key = own, account_id
        with self._lock:
            lock = self._account_locks.setdefault(key, threading.Lock())
        with lock:
            known = self._connections.get(key)
            if isinstance(known, AssumeRoleFailed):
                raise known
            if known is not None:
                return known
            try:
                made = self.conn.assumed(
                    arn, external_id=self.external_id, session_name=SESSION_NAME
                )
            except AssumeRoleFailed as refused:
                if self.options != CLI_OPTIONS:  # the fix names the notebook's parameters,
                    # or (no exclude option: a command about one trail) leaves it out
                    refused = refused.named(self.options.role_name, self.options.exclude_accounts)
                self._connections[key] = refused
                raise refused from None
            self._connections[key] = made
            return made

    def refused(self) -> dict[str, AssumeRoleFailed]:
        """The accounts whose role (the access's own) could not be assumed so far, with why."""
        with self._lock:
            return {
                key: known
                for key, known in self._connections.items()
                if isinstance(known, AssumeRoleFailed) and not key.startswith("arn:")
            }

    def reach(self) -> str:
        """The command-line options that reach the other accounts as this access does
        (`` --role-name NAME``, `` --external-id EXTERNAL_ID``: the id itself is not printed),
        to append to a ``trailkit`` command a message prints; empty for the defaults."""
        words = ""
        if self.role_name != DEFAULT_ROLE_NAME:
            words += f" --role-name {self.role_name}"
        if self.external_id is not None:
            words += " --external-id EXTERNAL_ID"
        return words

    def describe(self) -> dict[str, Any]:
        """JSON-ready: the role name and whether an external id is used (never its value)."""
        return {"role_name": self.role_name, "external_id": self.external_id is not None}
