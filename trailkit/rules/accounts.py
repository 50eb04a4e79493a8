"""Which accounts a scan of several accounts looks at, and the role it assumes in each (issue 16).

Pure: the options ``--accounts`` (ids separated by commas, or the text of a file: one or more
ids a line, ``#`` comments), ``--exclude-accounts``, ``--role-name`` and ``--external-id`` are
read here, and :func:`select_accounts` turns the organization's account list (or the ids given)
into the :class:`~trailkit.records.Account` records a scan works through. Listing the
organization and assuming the roles is :mod:`trailkit.aws.accounts`.

Sources
-------
* Role names: IAM ``CreateRole`` ``RoleName``, pattern ``[\\w+=,.@-]+``, 1 to 64 characters;
  ``Path`` ``/`` or ``/.../``
  (https://docs.aws.amazon.com/IAM/latest/APIReference/API_CreateRole.html).
* ``AssumeRole``: ``ExternalId`` 2 to 1224 characters of ``[\\w+=,.@:\\/-]``,
  ``RoleSessionName`` 2 to 64 of ``[\\w+=,.@-]``
  (https://docs.aws.amazon.com/STS/latest/APIReference/API_AssumeRole.html).
* ``OrganizationAccountAccessRole`` is the role Organizations creates in an account it creates;
  ``AWSControlTowerExecution`` the one AWS Control Tower uses
  (https://docs.aws.amazon.com/organizations/latest/userguide/orgs_manage_accounts_access.html,
  https://docs.aws.amazon.com/controltower/latest/userguide/awscontroltowerexecution.html).
* ``ListAccounts`` gives each account's ``Status`` (``ACTIVE``, ``SUSPENDED``,
  ``PENDING_CLOSURE``); only active accounts can be looked at
  (https://docs.aws.amazon.com/organizations/latest/APIReference/API_Account.html).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from trailkit.errors import InputError, option_text
from trailkit.i18n import _
from trailkit.records import Account
from trailkit.rules.principals import parse_accounts

__all__ = [
    "ACTIVE",
    "CLI_OPTIONS",
    "DEFAULT_ROLE_NAME",
    "NOTEBOOK_PARAMETERS",
    "SESSION_NAME",
    "AccountOptions",
    "check_external_id",
    "check_role_name",
    "parse_account_text",
    "role_arn",
    "select_accounts",
]

#: The role assumed in each account unless ``--role-name`` says otherwise.
DEFAULT_ROLE_NAME = "OrganizationAccountAccessRole"
#: ``RoleSessionName`` of every role trailkit assumes: what CloudTrail records as the session.
SESSION_NAME = "trailkit"
#: Organizations' status of an account that can be looked at.
ACTIVE = "ACTIVE"


@dataclass(frozen=True)
class AccountOptions:
    """How a front end names the account options in its messages: the command line's options
    (:data:`CLI_OPTIONS`, ``--role-name``) or a notebook's parameters
    (:data:`NOTEBOOK_PARAMETERS`, ``role_name``). One message, the name of the front end's.

    Parameters
    ----------
    org, accounts, exclude_accounts, role_name, external_id : str
        The option (``--org``) or the parameter (``org``).
    """

    org: str = "--org"
    accounts: str = "--accounts"
    exclude_accounts: str = "--exclude-accounts"
    role_name: str = "--role-name"
    external_id: str = "--external-id"

    def given(self, option: str, value: str | None = None) -> str:
        """``option`` given ``value`` as the front end writes it
        (:func:`trailkit.errors.option_text`): ``--accounts 111122223333`` or
        ``accounts="111122223333"``; without a value, the flag (``--org`` or ``org=True``)."""
        return option_text(option, value)


#: The command line's options (``trailkit inventory --org --role-name ...``).
CLI_OPTIONS = AccountOptions()
#: The notebooks' parameters (``org``, ``accounts``, ``exclude_accounts``, ``role_name``,
#: ``external_id``: papermill ``-p`` or the parameters cell).
NOTEBOOK_PARAMETERS = AccountOptions(
    org="org",
    accounts="accounts",
    exclude_accounts="exclude_accounts",
    role_name="role_name",
    external_id="external_id",
)

_ROLE_NAME = re.compile(r"[\w+=,.@-]{1,64}", re.ASCII)
_PATH_PART = re.compile(r"[\w+=,.@-]+", re.ASCII)
_EXTERNAL_ID = re.compile(r"[\w+=,.@:/-]{2,1224}", re.ASCII)


def check_role_name(value: object, option: str = "--role-name") -> str:
    """``value`` if it can be the name of an IAM role (``--role-name``), optionally with a path.

    Parameters
    ----------
    value
        ``OrganizationAccountAccessRole``, ``AWSControlTowerExecution``, or ``PATH/NAME``
        (``service-role/Audit``) for a role with a path.
    option
        The option or parameter named in the message (``--role-name``; a notebook's
        ``role_name``).

    Returns
    -------
    str
        The name, unchanged.

    Raises
    ------
    InputError
        Not a text, empty, a full ARN, a ``/`` at the end (``/x/`` is a path, not a role: it is
        refused rather than read as ``x``; one leading ``/``, as IAM writes a path, is dropped),
        or characters IAM does not allow in a role name.
    """
    if not isinstance(value, str) or not value.strip():
        raise InputError(
            _("{option} must name an IAM role, not {value}.").format(
                option=option, value=repr(value)
            ),
            _("give the role's name, e.g. {example}").format(
                example=option_text(option, DEFAULT_ROLE_NAME)
            ),
        )
    if value.startswith("arn:"):
        raise InputError(
            _("{option} takes the role's name, not its ARN ({value}).").format(
                option=option, value=repr(value[:80])
            ),
            _(
                "give only the name, e.g. {example}: trailkit builds the ARN for each account"
            ).format(example=option_text(option, "AWSControlTowerExecution")),
        )
    # IAM writes a path as /PATH/: one leading / is the path's, a trailing one leaves no name.
    value = value[1:] if value.startswith("/") else value
    *path, name = value.split("/")
    if not _ROLE_NAME.fullmatch(name) or not all(_PATH_PART.fullmatch(p) for p in path):
        raise InputError(
            _("{option} {value} is not an IAM role name.").format(
                option=option, value=repr(value[:80])
            ),
            _(
                "a role name is 1 to 64 letters, digits and the characters + = , . @ - _ "
                "(a path before it is separated by /, with no / at the end)"
            ),
        )
    return value


def check_external_id(value: object, option: str = "--external-id") -> str | None:
    """``value`` if it can be an ``AssumeRole`` ``ExternalId`` (``--external-id``), or None.

    Parameters
    ----------
    value
        None (no external id) or the text the role's trust policy expects.
    option
        The option or parameter named in the message (``--external-id``; a notebook's
        ``external_id``).

    Returns
    -------
    str or None

    Raises
    ------
    InputError
        An empty text (an empty value never means "none"), or not 2 to 1224 of the characters
        STS allows.
    """
    if value is None:
        return None
    if not isinstance(value, str) or not _EXTERNAL_ID.fullmatch(value):
        raise InputError(
            _("{option} {value} is not an external id STS accepts.").format(
                option=option, value=repr(value)[:80]
            ),
            _(
                "give the external id the role's trust policy expects: 2 to 1224 letters, "
                "digits and + = , . @ : / - _; leave {option} out when the role needs none"
            ).format(option=option),
        )
    return value


def role_arn(account_id: str, role_name: str, partition: str = "aws") -> str:
    """The ARN of role ``role_name`` (possibly ``PATH/NAME``) in ``account_id``."""
    return f"arn:{partition}:iam::{account_id}:role/{role_name}"


def parse_account_text(text: str, option: str = "--accounts") -> tuple[str, ...]:
    """Account ids from a text: separated by commas, spaces or lines; ``#`` starts a comment.

    Parameters
    ----------
    text
        ``111122223333,444455556666`` or a file's text (one or more ids a line).
    option
        The option named in the message.

    Returns
    -------
    tuple of str
        The ids in the order given, each once.

    Raises
    ------
    InputError
        A piece that is not a 12-digit account id, or no id at all (an empty list never means
        "every account").
    """
    pieces = [
        piece
        for line in text.splitlines()
        for piece in re.split(r"[,\s]+", line.split("#", 1)[0])
        if piece
    ]
    if not pieces:
        raise InputError(
            _("{option} names no account.").format(option=option),
            _("give 12-digit account ids separated by commas, e.g. {option} 111122223333").format(
                option=option
            ),
        )
    return parse_accounts(pieces, option)


def select_accounts(
    caller: str,
    *,
    listed: Sequence[Account] | None = None,
    given: Iterable[str] = (),
    exclude: Iterable[str] = (),
    role_name: str = DEFAULT_ROLE_NAME,
    partition: str = "aws",
    options: AccountOptions = CLI_OPTIONS,
) -> list[Account]:
    """The accounts to look at, each with the role to assume in it (none for ``caller``).

    Parameters
    ----------
    caller
        The caller's own account: read directly, never through a role.
    listed
        The organization's accounts (``ListAccounts``) for ``--org``; only ``ACTIVE`` ones are
        kept (a suspended or closing account cannot be read). None when not listed.
    given
        ``--accounts``: the ids to look at (with ``listed``: only those of the organization).
    exclude
        ``--exclude-accounts``: ids left out.
    role_name
        ``--role-name``.
    partition
        The caller's partition, for the role ARNs.
    options
        How the messages name the options (:data:`CLI_OPTIONS`, or a notebook's
        :data:`NOTEBOOK_PARAMETERS`).

    Returns
    -------
    list of Account
        In the order listed or given, each once; the caller's account first when it is one
        of them.

    Raises
    ------
    InputError
        Neither ``listed`` nor ``given``; an id of ``given`` that ``listed`` does not hold;
        nothing left after ``exclude``.
    """
    given = tuple(given)
    excluded = set(exclude)
    if listed is None and not given:
        raise InputError(
            _("No account to look at."),
            _("give {org} (every account of the organization) or {accounts}").format(
                org=options.given(options.org), accounts=options.given(options.accounts, "ID[,ID]")
            ),
        )
    if listed is not None:
        known = {a.account_id: a for a in listed}
        strangers = [a for a in given if a not in known]
        if strangers:
            raise InputError(
                _("The organization has no account {accounts}.").format(
                    accounts=", ".join(strangers)
                ),
                _("check the ids against `trailkit inventory --org`, or leave out {org}").format(
                    org=options.given(options.org)
                ),
            )
        pool = [known[a] for a in given] if given else [a for a in listed if a.status == ACTIVE]
    else:
        pool = [Account(a) for a in given]
    # A mistyped id to leave out must not pass silently (the account it meant is then read).
    looked_at = {p.account_id for p in pool}
    listing = listed is not None and not given
    unknown = [
        a
        for a in dict.fromkeys(exclude)
        if a not in looked_at and not (listing and a in known)  # an inactive account: fine
    ]
    if unknown:
        raise InputError(
            _(
                "{exclude_accounts} names {accounts}, which is not among the accounts to look at."
            ).format(exclude_accounts=options.exclude_accounts, accounts=", ".join(unknown)),
            _("check the ids against the organization's accounts (`trailkit inventory --org`)")
            if listing
            else _("leave out only ids that {accounts} names").format(accounts=options.accounts),
        )
    chosen: dict[str, Account] = {}
    for account in pool:
        if account.account_id in excluded or account.account_id in chosen:
            continue
        arn = (
            None
            if account.account_id == caller
            else role_arn(account.account_id, role_name, partition)
        )
        chosen[account.account_id] = Account(account.account_id, account.name, account.status, arn)
    if not chosen and not pool:
        raise InputError(
            _("The organization lists no active account."),
            _(
                "check that the caller is in an organization, or name the accounts with {accounts}"
            ).format(accounts=options.accounts),
        )
    if not chosen:
        raise InputError(
            _("Every account was excluded: nothing is left to look at."),
            _("check {exclude_accounts}").format(exclude_accounts=options.exclude_accounts),
        )
    ordered = sorted(chosen.values(), key=lambda a: a.account_id != caller)
    return ordered
