"""What the runbook notebooks call: each function is about one cell's worth of work.

The widgets never call AWS; this module hands them a :class:`~trailkit.runbook.Runbook` (one
connection, one reader, one journal), the same use cases the command line calls, so a notebook
stays a list of single calls (no loops, no function definitions) and a papermill run takes the
same path as a click.

Every function checks its arguments and raises :class:`~trailkit.errors.InputError` naming the
parameter (never an ``AttributeError`` or ``TypeError`` from deep inside, and never a string
iterated by character): yes/no parameters are read by :func:`trailkit.rules.flags.parse_flag`
(``"false"``, ``"no"``, ``0`` are no); where a list of names is expected (``trails``,
``regions``) one name alone is accepted as a one-item list. ``reader_accounts`` (accounts whose
principals must be able to decrypt the logs, like ``--reader-account``) is a list of 12-digit
account ids or one text of ids separated by commas
(:func:`trailkit.rules.principals.parse_accounts`).

Other accounts (issue 16; the options of ``trailkit inventory`` of the same names):
``role_name`` (None: ``OrganizationAccountAccessRole``) and ``external_id`` (None: none) say how
another account is reached (:func:`org_runbook`); ``org`` (yes/no), ``accounts`` and
``exclude_accounts`` which accounts :func:`org_inventory` reads. An empty value is never read as
"none" or "every": ``""``, ``[]`` or a blank text is an :class:`~trailkit.errors.InputError`
naming the parameter (None is the way to say "not given").
"""

from __future__ import annotations

import html
import os
import re
import sys
import threading
import time
from collections.abc import Callable, Sequence
from contextlib import suppress
from functools import partial
from pathlib import Path
from typing import Any, cast

import pandas as pd

from trailkit.arn import arn_account
from trailkit.aws.accounts import AccountAccess
from trailkit.aws.session import Connection, is_local_endpoint
from trailkit.change.journal import Journal, default_path
from trailkit.errors import InputError, TrailkitError
from trailkit.i18n import _, language
from trailkit.records import Inventory, KeyInfo, Proof, ProofStatus, Trail
from trailkit.records.journal import changes_frame
from trailkit.rules.accounts import (
    DEFAULT_ROLE_NAME,
    NOTEBOOK_PARAMETERS,
    parse_account_text,
)
from trailkit.rules.checks import Report
from trailkit.rules.explain import Explanation
from trailkit.rules.flags import parse_flag, parse_names, parse_text
from trailkit.rules.health import Health, inventory_health
from trailkit.rules.principals import parse_accounts
from trailkit.rules.proof import MAX_WAIT, parse_wait
from trailkit.runbook import Runbook
from trailkit.ui.accountfile import account_text
from trailkit.ui.progress import progress_bar, scan
from trailkit.ui.tables import TableFrame, encryption_by_region
from trailkit.ui.widgets import (
    BulkUpdate,
    ChangeAsCode,
    DeliveryProof,
    GuidedUpdate,
    JournalView,
    PolicyPanel,
    Step,
    TrailExplorer,
)
from trailkit.ui.widgets._common import error_html, esc, note_html, section_title
from trailkit.ui.widgets.banner import partial_sentence
from trailkit.ui.widgets.checklist import checklist_html
from trailkit.ui.widgets.policy_picker import KeyPolicyView
from trailkit.ui.widgets.proof import proof_html

__all__ = [
    "AccountChoice",
    "account_access",
    "account_choice",
    "bulk_update",
    "change_as_code",
    "changes_table",
    "check_flags",
    "check_trails",
    "current_health",
    "encryption_chart",
    "guided_update",
    "install_error_display",
    "journal_view",
    "key_policy",
    "key_policy_view",
    "open_journal",
    "org_inventory",
    "org_runbook",
    "partial_banner",
    "prove_applied",
    "prove_delivery",
    "runbook",
    "trail_explorer",
    "wait_seconds",
]


def _need(value: object, kind: type, name: str, fix: str) -> None:
    if not isinstance(value, kind):
        raise InputError(
            _("{name} must be a {kind}, not {given}.").format(
                name=name, kind=kind.__name__, given=type(value).__name__
            ),
            fix,
        )


def _conn(conn: object) -> None:
    _need(conn, Connection, "conn", _("pass conn = tk.connect(...)"))


def _journal(journal: object) -> None:
    _need(journal, Journal, "journal", _("pass journal = notebook.open_journal(journal_path)"))


def check_flags(**flags: object) -> None:
    """Read every yes/no parameter of a notebook before anything is read or sent.

    Examples: ``notebook.check_flags(apply=apply, rollback=rollback)``. Papermill passes
    ``-p apply false`` as the text ``"false"``: that is no, as are ``"no"``, ``"0"`` and ``0``.

    Raises
    ------
    InputError
        A value that is not an unambiguous yes or no (``"maybe"``, ``2``, ``""``, ``None``),
        naming the parameter; the run stops there and nothing is sent.
    """
    for name, value in flags.items():
        parse_flag(value, name)


def open_journal(path: str | Path | None = None, *, demo: bool | None = None) -> Journal:
    """The change journal at ``path``.

    None: ``$TRAILKIT_JOURNAL``, else the user data dir's journal, or on the demo backend
    (``demo``; None: ``TRAILKIT_BACKEND=demo`` or a loopback ``AWS_ENDPOINT_URL``) the demo's
    own ``demo-journal.jsonl``, so demo changes never mix with real ones.

    Raises
    ------
    InputError
        ``path`` is not a text, a path or None, or it is blank.
    """
    if path is not None and not isinstance(path, str | Path):
        raise InputError(
            _("journal_path must be a path or None, not {kind}.").format(kind=type(path).__name__),
            _("pass a file path, or None for the default journal"),
        )
    if isinstance(path, str) and not path.strip():
        raise InputError(_("journal_path must not be blank."), _("pass a file path, or None"))
    if path is not None:
        return Journal(path)
    if demo is None:
        backend = os.environ.get("TRAILKIT_BACKEND", "")
        demo = backend == "demo" or (
            backend != "aws" and is_local_endpoint(os.environ.get("AWS_ENDPOINT_URL"))
        )
    return Journal(default_path(demo=demo))


def runbook(
    conn: Connection,
    journal: Journal,
    *,
    regions: Sequence[str] | None = None,
    reader_accounts: Sequence[str] | str | None = None,
    role_name: str | None = None,
    external_id: str | None = None,
) -> Runbook:
    """The use cases bound to ``conn`` and ``journal`` (what every view below is given).

    ``reader_accounts``: accounts, besides the trail's and the bucket owner's, whose principals
    must be able to decrypt the logs; every pre-flight of the runbook checks them.
    ``role_name``, ``external_id``: how a trail of another account is reached (see
    :func:`account_access`).

    Raises
    ------
    InputError
        ``conn`` or ``journal`` is not one, ``regions`` is not a list of region names,
        ``reader_accounts`` holds something that is not a 12-digit account id, or
        ``role_name`` / ``external_id`` cannot be what IAM and STS accept.
    """
    _conn(conn)
    _journal(journal)
    return Runbook(
        conn,
        journal,
        regions=parse_names(regions, "regions"),
        reader_accounts=reader_accounts,
        access=account_access(conn, role_name=role_name, external_id=external_id),
    )


# -- other accounts (issue 16) -----------------------------------------------------------------


def account_access(
    conn: Connection, *, role_name: object = None, external_id: object = None
) -> AccountAccess:
    """How another account is reached: the caller's own directly, every other one through
    ``sts:AssumeRole`` into ``role_name`` (``--role-name``) with ``external_id``
    (``--external-id``) and the session name ``trailkit``.

    Parameters
    ----------
    conn : Connection
        The caller's connection.
    role_name : str or None
        The role's name in each other account, optionally ``PATH/NAME``; None:
        ``OrganizationAccountAccessRole`` (``AWSControlTowerExecution`` in AWS Control Tower).
    external_id : str or None
        The external id the role's trust policy asks for; None: none is sent.

    Raises
    ------
    InputError
        ``conn`` is not a connection; ``role_name`` or ``external_id`` is an empty or blank
        text (never read as "the default" or "none": leave the parameter None), not a text,
        or not what IAM (a role name: 1 to 64 of ``[\\w+=,.@-]``) or STS (an external id: 2 to
        1224 of ``[\\w+=,.@:/-]``) accepts.
    """
    _conn(conn)
    if role_name is not None and (not isinstance(role_name, str) or not role_name.strip()):
        raise InputError(
            _("role_name must name an IAM role, not {value}.").format(value=repr(role_name)[:80]),
            _("give the role's name, e.g. AWSControlTowerExecution, or None for {default}").format(
                default=DEFAULT_ROLE_NAME
            ),
        )
    if external_id is not None and (not isinstance(external_id, str) or not external_id.strip()):
        raise InputError(
            _("external_id must be the external id the role asks for, not {value}.").format(
                value=repr(external_id)[:80]
            ),
            _("give the external id of the role's trust policy, or None when it needs none"),
        )
    # the notebook's parameters named in every message (role_name, not --role-name)
    return AccountAccess(
        conn,
        role_name=role_name if role_name is not None else DEFAULT_ROLE_NAME,
        external_id=external_id,
        options=NOTEBOOK_PARAMETERS,
    )


def org_runbook(
    conn: Connection,
    *,
    role_name: str | None = None,
    external_id: str | None = None,
    regions: Sequence[str] | None = None,
    reader_accounts: Sequence[str] | str | None = None,
) -> Runbook:
    """Notebook 01: the runbook that reads every account (nothing is written: its journal is
    the default one and is never appended to), reaching the other accounts as
    :func:`account_access` says.

    Raises
    ------
    InputError
        As :func:`runbook` and :func:`account_access`.
    """
    _conn(conn)
    return runbook(
        conn,
        Journal(),
        regions=regions,
        reader_accounts=reader_accounts,
        role_name=role_name,
        external_id=external_id,
    )


def _account_ids(value: object, name: str) -> tuple[str, ...] | None:
    """``accounts`` / ``exclude_accounts``: None (not given), a list of 12-digit ids, one id
    (text or whole number), a text of ids separated by commas, spaces or lines (``#`` starts a
    comment), or ``@PATH`` of a file of such ids (the command line's ``@FILE``)."""
    if value is None:
        return None
    fix = _(
        'pass {name} as ["111122223333", "444455556666"], "111122223333,444455556666" or '
        '"@accounts.txt"; None when not wanted'
    ).format(name=name)
    if isinstance(value, str):
        text = account_text(value, name, fix)
        if not text.replace(",", " ").strip():
            raise InputError(
                _("{name} is empty; an empty value never means every account or none.").format(
                    name=name
                ),
                fix,
            )
        return parse_account_text(text, name)
    if isinstance(value, list | tuple | set | frozenset) and not value:
        raise InputError(
            _("{name} is empty; an empty value never means every account or none.").format(
                name=name
            ),
            fix,
        )
    return parse_accounts(value, name)


class AccountChoice:
    """Which accounts notebook 01 reads, from its parameters (:func:`account_choice`).

    ``org``: every active account of the organization; ``accounts``: these (with ``org``:
    only those of the organization); ``exclude``: left out; ``several``: False for the
    caller's own account only (the scan of one account, as before issue 16).
    """

    def __init__(self, org: bool, accounts: tuple[str, ...], exclude: tuple[str, ...]) -> None:
        self.org = org
        self.accounts = accounts
        self.exclude = exclude

    @property
    def several(self) -> bool:
        """True when other accounts than the caller's are asked for."""
        return self.org or bool(self.accounts)

    def __repr__(self) -> str:
        return (
            f"AccountChoice(org={self.org!r}, accounts={self.accounts!r}, exclude={self.exclude!r})"
        )


def account_choice(
    org: object = False, accounts: object = None, exclude_accounts: object = None
) -> AccountChoice:
    """Read notebook 01's ``org``, ``accounts`` and ``exclude_accounts`` strictly, before
    anything is read (the meaning of ``--org``, ``--accounts``, ``--exclude-accounts``).

    Raises
    ------
    InputError
        ``org`` is no clear yes or no (None included); ``accounts`` or ``exclude_accounts`` is
        empty (``""``, ``[]``: never "every account" nor "none"), holds something that is not a
        12-digit account id, or names a file that cannot be read; ``exclude_accounts`` without
        ``org`` or ``accounts`` (there is nothing to leave out of).
    """
    wanted = parse_flag(org, "org")
    given = _account_ids(accounts, "accounts")
    excluded = _account_ids(exclude_accounts, "exclude_accounts")
    if excluded and not wanted and given is None:
        raise InputError(
            _("exclude_accounts leaves accounts out of org=True or accounts, and neither is set."),
            _(
                "set org=True (every account of the organization) or accounts, or leave "
                "exclude_accounts None"
            ),
        )
    return AccountChoice(wanted, given or (), excluded or ())


def org_inventory(
    book: Runbook,
    regions: Sequence[str] | str | None = None,
    *,
    org: object = False,
    accounts: object = None,
    exclude_accounts: object = None,
    progress: bool | str = "notebook",
) -> Inventory:
    """Notebook 01: the inventory of the caller's account, or of several accounts in one
    (``org=True``: every active account of the organization; ``accounts``: those given).

    Without ``org`` and ``accounts`` this is ``tk.scan(book.conn, regions)``, the scan of one
    account. Otherwise every account is read through its role (:meth:`Runbook.scan_accounts`)
    into one inventory: each trail once with its ``account``, an organization trail once with
    its status in each member account, and an account whose role could not be assumed as an
    error row naming it (a PARTIAL RESULT, shown by :class:`~trailkit.ui.widgets.AccountSummary`
    and the errors table; the other accounts are complete).

    Parameters
    ----------
    book : Runbook
        :func:`org_runbook` (its role name and external id reach the other accounts).
    regions : list of str, str or None
        Regions to read in every account; None: every enabled region.
    org, accounts, exclude_accounts
        As :func:`account_choice` reads them.
    progress : bool or str
        ``"notebook"`` (a notebook bar counting API calls), ``True`` (on stderr) or ``False``.

    Raises
    ------
    InputError
        A parameter of the wrong kind or value (see :func:`account_choice`).
    TrailkitError
        The organization cannot be listed (``org=True`` outside the management or a delegated
        administrator account), or the caller's own credentials failed (one message).
    """
    _need(book, Runbook, "book", _("pass book = notebook.org_runbook(conn)"))
    chosen = account_choice(org, accounts, exclude_accounts)
    names = parse_names(regions, "regions")
    if not chosen.several:
        return scan(book.conn, names, progress=progress)
    with progress_bar(progress) as report:
        return book.scan_accounts(
            org=chosen.org,
            accounts=chosen.accounts,
            exclude=chosen.exclude,
            regions=names,
            progress=report,
        )


def guided_update(
    conn: Connection,
    journal: Journal,
    *,
    regions: Sequence[str] | None = None,
    reader_accounts: Sequence[str] | str | None = None,
    role_name: str | None = None,
    external_id: str | None = None,
) -> GuidedUpdate:
    """The guided update view of notebook 02 and the Voila app, on the runbook.

    A trail of another account, given by ARN, is read and changed through ``role_name`` in
    that account (with ``external_id``; see :func:`account_access`).

    Nothing is read until it is displayed (or a headless step runs), so progress is visible.
    When a trail is chosen its encryption as it is now is judged (:func:`current_health`): a
    broken trail is warned about, with why and what to do, and the key policy repair is
    offered when that is the fix.

    Raises
    ------
    InputError
        ``conn`` or ``journal`` is not one, ``regions`` is not a list of region names, or
        ``reader_accounts`` is not a list of account ids (see :func:`runbook`).
    """
    book = runbook(
        conn,
        journal,
        regions=regions,
        reader_accounts=reader_accounts,
        role_name=role_name,
        external_id=external_id,
    )
    return GuidedUpdate(book, health=partial(current_health, book))


def current_health(book: Runbook, trail: Trail) -> Health:
    """The health of ``trail``'s encryption as it is now (:func:`trailkit.rules.health.health`):
    its key read again with its policy, as the inventory reads it (``kms:DescribeKey``,
    ``kms:GetKeyPolicy``; a key that cannot be described is judged from the error), the trail
    as given (re-read by the caller, with its bucket and status), and the runbook's reader
    accounts. What the guided update warns with.

    Raises
    ------
    InputError
        ``book`` is not a runbook or ``trail`` not a trail.
    """
    _need(book, Runbook, "book", _("pass book = notebook.runbook(conn, journal)"))
    _need(trail, Trail, "trail", _("pass a trail the runbook read"))
    return book.health(trail)


def key_policy(
    conn: Connection, journal: Journal, key: str | None, trails: Sequence[str] | str | None
) -> PolicyPanel:
    """Notebook 03: the add-only repair of ``key``'s policy for ``trails``, ready to apply.

    Raises
    ------
    InputError
        An argument of the wrong kind (``trails``: a list of names, or one name).
    """
    book = runbook(conn, journal)
    key = parse_text(key, "key")
    names = parse_names(trails, "trails")
    panel = PolicyPanel(partial(book.apply_repair, confirmed=True), demo=book.demo)
    if not key or not names:
        said = esc(_("Set {key} and {trails} in the parameters cell.")).format(
            key="<code>key</code>", trails="<code>trails</code>"
        )
        panel.show(None, f'<div class="tk-hint">{said}</div>')
        return panel
    try:
        panel.show(book.plan_repair(names, key))
    except TrailkitError as err:
        panel.show_error(err)
    return panel


def key_policy_view(
    conn: Connection,
    journal: Journal,
    key: str | None = None,
    trails: Sequence[str] | str | None = None,
    *,
    regions: Sequence[str] | None = None,
    reader_accounts: Sequence[str] | str | None = None,
    role_name: str | None = None,
    external_id: str | None = None,
) -> KeyPolicyView:
    """Notebook 03: trail and key pickers (notebook 02's), the key's pre-flight, the add-only
    repair of its policy, and the pre-flight again once the policy was changed.
    A trail or key of another account is read (and the key policy changed) through
    ``role_name`` there (with ``external_id``; see :func:`account_access`).

    ``key`` and ``trails`` are the initial choice (papermill's parameters); the first trail is
    picked, further ones are repaired for too until another trail is picked. The trails offered
    are those of ``regions`` (None: every enabled region) and any named by ARN elsewhere.

    Raises
    ------
    InputError
        An argument of the wrong kind (see :func:`runbook`; ``trails``: a list of names).
    """
    book = runbook(
        conn,
        journal,
        regions=regions,
        reader_accounts=reader_accounts,
        role_name=role_name,
        external_id=external_id,
    )
    key = parse_text(key, "key")
    names = parse_names(trails, "trails") or []
    offered = book.list_trails()
    for name in names:
        if not any(name in (t.name, t.arn) for t in offered):
            with suppress(TrailkitError):  # else the view says it is not offered
                offered.append(book.find_trail(name))
    view = KeyPolicyView(
        offered,
        rank=book.rank,
        check=book.check,
        plan_repair=book.plan_repair,
        apply=partial(book.apply_repair, confirmed=True),
        refresh=book.refresh,
        reread=book.reread,
        demo=book.demo,
    )
    if names:
        view.choose(names, key)
    return view


def check_trails(
    conn: Connection,
    trails: Sequence[str] | str | None,
    key: str | None,
    *,
    reader_accounts: Sequence[str] | str | None = None,
    after: KeyPolicyView | None = None,
) -> Step | None:
    """Pre-flight of ``key`` for each trail (read fresh), as one step of checklists.

    ``trails`` is a list of names or ARNs (one name alone counts as a list of one). Returns
    None when no trail or no key is given. ``reader_accounts`` as for :func:`runbook`.
    ``after``: the view the key policy is changed from; then None until a change was made
    there (the pre-flight "after" would only repeat the one before).

    Raises
    ------
    InputError
        An argument of the wrong kind.
    """
    _conn(conn)
    if after is not None:
        _need(after, KeyPolicyView, "after", _("pass the view of notebook.key_policy_view"))
        if after.result is None or not after.result.outcome.succeeded:
            return None
    names = parse_names(trails, "trails")
    key = parse_text(key, "key")
    accounts = parse_accounts(reader_accounts, "reader_accounts")
    if not names or key is None:
        return None
    book = Runbook(conn, Journal(), reader_accounts=accounts)
    reports: list[Report] = [book.check(name, key) for name in names]
    ok = all(r.ready for r in reports)
    html = "".join(checklist_html(r) for r in reports)
    return Step(_("Pre-flight of {key}").format(key=key), ok, html, reports)


def bulk_update(
    conn: Runbook | Connection,
    journal: Journal | None = None,
    inventory: Inventory | None = None,
    *,
    reader_accounts: Sequence[str] | str | None = None,
    role_name: str | None = None,
    external_id: str | None = None,
) -> BulkUpdate:
    """Notebook 04: several trails of ``inventory``, one key per bucket region, apply all.

    ``conn`` is a connection (then a runbook on it and ``journal``, with
    ``reader_accounts``, ``role_name``, ``external_id``) or a runbook (:func:`runbook`: its
    own journal, reader accounts and role; the one :func:`org_inventory` read with, so each
    account's role is assumed once). Trails of other accounts are planned and changed through
    the role there (see :func:`account_access`).

    Each region's key list is ranked for the selected trails whose bucket is there (ready,
    unverifiable, blocked); after Apply every selected trail has a result.
    ``reader_accounts`` as for :func:`runbook`: every plan's pre-flight and ranking checks them.

    An inventory of several accounts (:func:`org_inventory` with ``org`` or ``accounts``):
    the key is chosen per account and bucket region (a member's keys are listed in that
    account, ``Runbook.in_account(account).candidate_keys(region)``), each account's trails
    are planned through its runbook, and the tables say each trail's account (its name when
    Organizations gave it). A trail whose account's role cannot be assumed is that trail's
    error row: nothing is sent for it.

    Raises
    ------
    InputError
        An argument of the wrong kind (``inventory``: what ``tk.scan`` or
        :func:`org_inventory` returned; ``reader_accounts``: account ids), or a runbook given
        with ``journal``, ``reader_accounts``, ``role_name`` or ``external_id`` (the runbook's
        own are used: say them to :func:`runbook`).
    """
    if isinstance(conn, Runbook):
        given = {
            "journal": journal,
            "reader_accounts": reader_accounts,
            "role_name": role_name,
            "external_id": external_id,
        }
        extra = [name for name, value in given.items() if value is not None]
        if extra:
            raise InputError(
                _("{names}: a runbook was given, and it has its own.").format(
                    names=", ".join(extra)
                ),
                _("give them to notebook.runbook(conn, journal, ...), or pass conn instead"),
            )
        book = conn
    else:
        _need(conn, Connection, "conn", _("pass conn = tk.connect(...) or a runbook"))
        _journal(journal)
        assert isinstance(journal, Journal)
        book = runbook(
            conn,
            journal,
            reader_accounts=reader_accounts,
            role_name=role_name,
            external_id=external_id,
        )
    _need(inventory, Inventory, "inventory", _("pass inventory = tk.scan(conn, regions)"))
    assert isinstance(inventory, Inventory)
    names = {a.account_id: a.name for a in inventory.accounts}
    return BulkUpdate(
        inventory.trails,
        keys=partial(_account_keys, book),
        rank=book.rank,
        plan=book.plan_many,
        apply=partial(book.apply_many, confirmed=True),
        demo=book.demo,
        by_account=True if inventory.accounts else None,
        account_names=names,
        account_roles={a.account_id: a.role_arn for a in inventory.accounts},
        errors=inventory.errors,
    )


def _account_keys(book: Runbook, region: str, account: str | None = None) -> tuple[KeyInfo, ...]:
    """The candidate keys of ``region`` in ``account`` (None: the runbook's own account), read
    through that account's role (:meth:`Runbook.in_account`): what notebook 04 lists for one
    account and bucket region.

    Raises
    ------
    AwsError
        The role cannot be assumed in that account, or the keys cannot be listed.
    """
    return (book.in_account(account) if account else book).candidate_keys(region)


def trail_explorer(
    source: Runbook | Connection,
    inventory: Inventory,
    *,
    history: bool = True,
    reader_accounts: Sequence[str] | str | None = None,
) -> TrailExplorer:
    """Notebook 01: a picker of ``inventory``'s trails (broken and at-risk first) showing the
    chosen trail's drill-down, the same as ``trailkit explain --trail T``. A trail of another
    account (an inventory of several accounts) is read in its account, through the runbook's
    role there (:meth:`Runbook.in_account`).

    ``source`` is a runbook (:func:`runbook`) or a connection (then a runbook of its own, with
    the default journal: the explorer writes nothing). Each choice reads the trail fresh
    (:meth:`Runbook.explain`); ``history`` (yes/no) looks its change history up too.
    ``reader_accounts`` as for :func:`runbook` (with a connection only; a runbook has its own).

    Raises
    ------
    InputError
        ``source`` is neither, ``inventory`` is not what ``tk.scan`` returned, ``history`` is no
        clear yes or no, or ``reader_accounts`` is not a list of account ids.
    """
    _need(inventory, Inventory, "inventory", _("pass inventory = tk.scan(conn, regions)"))
    wanted = parse_flag(history, "history")
    if isinstance(source, Runbook):
        book = source
    else:
        _need(source, Connection, "source", _("pass conn = tk.connect(...) or a runbook"))
        book = Runbook(source, Journal(), reader_accounts=reader_accounts)

    def explain(arn: str) -> Explanation:
        # A trail of another account is read in that account, through its role (a role that
        # cannot be assumed is an error the explorer shows).
        trail = inventory.trail(arn)
        account = trail.account if trail is not None else arn_account(arn)
        return book.in_account(account).explain(arn, history=wanted)

    return TrailExplorer(
        inventory.trails, explain, healths=inventory_health(inventory), accounts=inventory.accounts
    )


def journal_view(
    conn: Connection,
    journal: Journal,
    *,
    role_name: str | None = None,
    external_id: str | None = None,
) -> JournalView:
    """Notebook 05: the recorded changes, with rollback (policy changes: restore).

    A change made in another account is undone through the role it recorded; ``role_name``
    (and ``external_id``) only for a change that recorded none (see :func:`account_access`).

    Raises
    ------
    InputError
        ``conn`` or ``journal`` is not one.
    """
    book = runbook(conn, journal, role_name=role_name, external_id=external_id)
    return JournalView(
        journal, partial(book.undo, confirmed=True), demo=book.demo, preview=book.preview_undo
    )


# -- after the change: the delivery proof and the change as code (issue 17) ---------------------


def _proves(book: object, name: str = "book") -> Runbook:
    _need(book, Runbook, name, _("pass book = notebook.runbook(conn, journal)"))
    return cast(Runbook, book)


def wait_seconds(verify_wait: object, name: str = "verify_wait") -> float | None:
    """Read a notebook's wait for the delivery proof strictly, before anything is sent.

    ``None``: the view's own (1 minute on the demo, 15 minutes on AWS). A text is a duration as
    ``trailkit verify --wait`` reads it (``90``, ``90s``, ``15m``, ``1h``, ``1h30m``; ``0``
    looks once); a whole number is seconds.

    Raises
    ------
    InputError
        Naming ``name``: an empty or blank text, a negative or unreadable duration, more than
        24 hours, or a value of another kind (``True``, a list).
    """
    fix = _('give {name} as "90s", "15m", "1h" or "1h30m" ("0": look once), or None').format(
        name=name
    )
    if verify_wait is None:
        return None
    if isinstance(verify_wait, bool) or not isinstance(verify_wait, str | int | float):
        raise InputError(
            _("{name} must be a duration such as 15m, not {kind}.").format(
                name=name, kind=type(verify_wait).__name__
            ),
            fix,
        )
    if isinstance(verify_wait, str):
        try:
            seconds = parse_wait(verify_wait)
        except InputError as err:
            raise InputError(
                _("{name} is not a duration from 0 to 24 hours: {value}.").format(
                    name=name, value=repr(verify_wait)[:40]
                ),
                fix,
            ) from err
    else:
        seconds = float(verify_wait)
    if not 0 <= seconds <= MAX_WAIT:
        raise InputError(
            _("{name} is not a duration from 0 to 24 hours: {value}.").format(
                name=name, value=repr(verify_wait)[:40]
            ),
            fix,
        )
    return seconds


def prove_delivery(
    book: Runbook,
    trail: str | Trail,
    *,
    wait: object = None,
    change_id: str | None = None,
) -> DeliveryProof:
    """The delivery proof of ``trail``'s change (``trailkit verify --trail T``): do the log and
    digest files CloudTrail delivered after it carry the new encryption?

    The change proved is ``change_id``, else the trail's newest applied change in the journal
    (:meth:`Runbook.verify_change`). With ``wait`` (a duration, see :func:`wait_seconds`) the
    proof runs here and now and the view shows it (``value``: the proof, recorded in the
    journal); without, the view waits for its Prove delivery button (it runs in the
    background, with a Cancel button).

    Raises
    ------
    InputError
        ``book`` is not a runbook, ``trail`` is empty, or ``wait`` is not a duration.
    TrailkitError
        The trail cannot be found, or the proof could not be made at all.
    """
    proves = _proves(book)
    seconds = wait_seconds(wait, "wait")
    if isinstance(trail, str):
        given = parse_text(trail, "trail")
        if given is None or not given.strip():
            raise InputError(_("trail must name a trail."), _("pass a trail name or ARN"))
        name = given
    else:
        _need(trail, Trail, "trail", _("pass a trail name or ARN"))
        name = trail.name
    view = DeliveryProof(
        partial(proves.verify_change, trail, change_id=parse_text(change_id, "change_id")),
        demo=book.demo,
        target=name,
    )
    if seconds is not None:
        view.prove(seconds)
    return view


def prove_applied(book: Runbook, bulk: BulkUpdate, wait: object = None) -> DeliveryProof | None:
    """Notebook 04: the delivery proof of every trail changed by ``bulk`` (its Apply), one
    after the other within one wait (the first waits longest; later ones have mostly been
    delivered meanwhile). None when nothing was changed.

    The proofs run here and now (up to ``wait``; None: 1 minute on the demo, 15 on AWS) in a
    :class:`~trailkit.ui.widgets.DeliveryProof` view: its bar follows the wait, and each
    ``verify_change`` is given the view's cancel event and progress callback. Interrupting
    the kernel cancels the wait of the trail being proved (recorded, pending); afterwards the
    view's Prove delivery button proves them again in the background, with a Cancel button.
    ``value``: a :class:`~trailkit.ui.widgets._common.Step` whose ``value`` holds each proof
    (or the error of a trail whose proof could not be made at all, shown in its place).

    Raises
    ------
    InputError
        ``book`` is not a runbook, ``bulk`` not the bulk view, or ``wait`` not a duration.
    """
    proves = _proves(book)
    _need(bulk, BulkUpdate, "bulk", _("pass bulk = notebook.bulk_update(book, inventory=...)"))
    seconds = wait_seconds(wait, "verify_wait")
    applied = [r for r in bulk.results if r.changed and r.change_id]
    if not applied:
        return None
    view = DeliveryProof(
        partial(_prove_each, proves, applied),
        demo=book.demo,
        target=", ".join(r.plan.trail.name for r in applied),
        card=_step_card,
    )
    view.prove(seconds)
    return view


def _step_card(step: Step) -> str:
    return section_title(None, step.title) + step.html


def _prove_each(
    proves: Runbook,
    applied: list[Any],
    *,
    wait: float,
    cancel: threading.Event,
    progress: Callable[[Proof, float], None],
) -> Step:
    """The proofs of :func:`prove_applied`, within one ``wait``; once ``cancel`` is set (the
    Cancel button) the trails left are looked at once, not waited for."""
    deadline = time.monotonic() + wait
    parts: list[str] = []
    proofs: list[Proof | TrailkitError] = []
    proven = 0
    for result in applied:
        left = 0.0 if cancel.is_set() else max(0.0, deadline - time.monotonic())
        name = f"<h4>{esc(result.plan.trail.name)}</h4>"
        try:
            # the runbook proves a trail of another account in that account (its role)
            proof = proves.verify_change(
                result.plan.trail,
                change_id=result.change_id,
                wait=left,
                cancel=cancel,
                progress=progress,
            )
        except TrailkitError as err:  # this trail's proof failed: the others are still proved
            parts.append(name + error_html(err))
            proofs.append(err)
            continue
        proofs.append(proof)
        proven += proof.status == ProofStatus.PROVEN
        parts.append(name + proof_html(proof))
    title = _("Delivery proof: {proven} of {n} changed trails proven").format(
        proven=proven, n=len(applied)
    )
    return Step(title, proven == len(applied), "".join(parts), proofs)


def change_as_code(book: Runbook, trail: str | Trail, key: str) -> ChangeAsCode:
    """The change of ``trail`` to ``key`` as code (``trailkit snippet``): CloudFormation,
    Terraform and CDK (Python) tabs, every one written (a format that could not be written
    shows why in its tab).

    Raises
    ------
    InputError
        ``book`` is not a runbook, or ``trail`` or ``key`` is empty.
    """
    proves = _proves(book)
    if isinstance(trail, str):
        trail = parse_text(trail, "trail") or ""
        if not trail.strip():
            raise InputError(_("trail must name a trail."), _("pass a trail name or ARN"))
    else:
        _need(trail, Trail, "trail", _("pass a trail name or ARN"))
    chosen = parse_text(key, "key")
    if chosen is None or not chosen.strip():
        raise InputError(
            _("key must name a KMS key."), _("give an alias, alias ARN, key ARN or key id")
        )
    return ChangeAsCode(partial(proves.snippet, trail, chosen))


def changes_table(journal: Journal) -> pd.DataFrame:
    """The journal as a DataFrame (one row per change), shown as a trailkit table (change ids
    whole, ARNs and request ids shortened with the full value on hover, no ``NaN``).

    Raises
    ------
    InputError
        ``journal`` is not one.
    """
    _journal(journal)
    return TableFrame(changes_frame(journal.changes()))


def encryption_chart(inventory: Inventory) -> Step | None:
    """Notebook 01: trails by home region and encryption, as a stacked bar chart.

    Draws the chart (shown by the notebook's inline backend; the count axis has whole numbers
    only) and returns None; when the inventory has no trail (an empty account, or every region
    failed) there is nothing to draw and it returns a note saying so instead (a warning when
    regions failed), so the cells after it still run.

    Raises
    ------
    InputError
        ``inventory`` is not what ``tk.scan`` returned.
    """
    _need(inventory, Inventory, "inventory", _("pass inventory = tk.scan(conn, regions)"))
    table = encryption_by_region(inventory)
    if table.empty:
        said = (
            _("No trail to chart (some regions failed: see below).")
            if inventory.partial
            else _("No trail to chart (the account has none).")
        )
        return Step(
            _("Trails by encryption"),
            not inventory.partial,
            note_html("warn" if inventory.partial else "info", esc(said)),
            table,
        )
    _draw(table)
    return None


def _draw(table: pd.DataFrame) -> Any:
    import matplotlib
    from matplotlib.ticker import MaxNLocator

    # The texts are made inside the context, so they keep its fonts when the figure is drawn
    # after the cell (the inline backend).
    with matplotlib.rc_context({"font.family": chart_fonts()}):
        axes = table.plot.bar(
            stacked=True, color=["#2e7d32", "#f9a825"], title=_("Trails by encryption")
        )
        axes.yaxis.set_major_locator(MaxNLocator(integer=True))  # trails come whole
        axes.set_ylabel(_("trails"))
        axes.set_xlabel(_("home region"))
        if axes.get_legend() is not None:
            axes.get_legend().set_title(_("encryption"))
    return axes


#: Fonts with Japanese glyphs, best first (matplotlib's default, DejaVu Sans, has none: a
#: Japanese chart title would be drawn as boxes). Debian's ``fonts-noto-cjk`` gives the first.
CJK_FONTS = (
    "Noto Sans CJK JP",
    "Noto Sans JP",
    "Source Han Sans JP",
    "IPAexGothic",
    "IPAGothic",
    "TakaoGothic",
    "VL Gothic",
    "Hiragino Sans",
    "Yu Gothic",
    "Meiryo",
    "MS Gothic",
)


def chart_fonts() -> list[str]:
    """``font.family`` for a chart in the language spoken: matplotlib's own, then, in Japanese,
    the installed fonts of :data:`CJK_FONTS` (matplotlib falls back to them glyph by glyph).

    matplotlib lists the system's fonts once, in a cache; fonts installed after it was made
    (``fonts-noto-cjk`` added by the test setup) are not in it, so when it knows none of
    :data:`CJK_FONTS` the system's CJK fonts are added to it first. No Japanese font at all:
    matplotlib's own (the labels are then drawn as boxes, with matplotlib's warning).
    """
    import matplotlib
    from matplotlib import font_manager

    own = list(matplotlib.rcParams["font.family"])
    if language() != "ja":
        return own

    def known() -> list[str]:
        names = {f.name for f in font_manager.fontManager.ttflist}
        return [name for name in CJK_FONTS if name in names]

    found = known()
    if not found:
        for path in font_manager.findSystemFonts():
            if re.search(r"CJK|IPA|Takao|VL-?Gothic|ipag|NotoSansJP", Path(path).name, re.I):
                with suppress(Exception):  # an unreadable font file is not the chart's problem
                    font_manager.fontManager.addfont(path)
        found = known()
    return own + [name for name in found if name not in own]


#: The PARTIAL RESULT line: a warning (amber), never the blue of ordinary information.
PARTIAL_STYLE = (
    "background:#fff8e1;color:#7a5d00;border-left:6px solid #f9a825;padding:6px 10px;"
    "border-radius:4px;font-weight:bold;margin-top:4px"
)


def partial_banner(inventory: Inventory) -> str | None:
    """The PARTIAL RESULT warning for ``inventory`` as HTML (amber, class ``tk-note-warn``), or
    None when the scan is complete. The style is inline, so it shows inside any banner. On a
    scan of several accounts it names the accounts the failed calls were made in.

    Raises
    ------
    InputError
        ``inventory`` is not what ``tk.scan`` returned.
    """
    _need(inventory, Inventory, "inventory", _("pass inventory = tk.scan(conn, regions)"))
    said = partial_sentence(inventory)
    if said is None:
        return None
    return (
        f'<div class="tk-banner-partial tk-note tk-note-warn" role="alert" '
        f'style="{PARTIAL_STYLE}">{html.escape(said)}</div>'
    )


# -- expected errors in a notebook: one line, no traceback -------------------------------------


_BACKTICKED = re.compile(r"`([^`]+)`")


def _one_line(
    shell: Any, etype: type[BaseException], value: BaseException, tb: Any, tb_offset: Any = None
) -> list[str]:
    """IPython's handler for :class:`TrailkitError`: the message and fix on one line, no stack.

    Shown through the shell's own error output (the cell still fails: papermill stops there,
    ``%debug`` still finds the stack).
    """
    title = value.title if isinstance(value, TrailkitError) else etype.__name__
    # `backticked` commands as code: the line is text (ANSI), so bold, without the backticks
    stb = [_BACKTICKED.sub("\x1b[1m\\1\x1b[22m", f"{title}: {value}")]
    sys.last_type, sys.last_value, sys.last_traceback = etype, value, tb  # for %debug
    if sys.version_info >= (3, 12):
        sys.last_exc = value
    shell._showtraceback(etype, value, stb)
    return stb


def install_error_display(shell: Any = None) -> bool:
    """Make an expected failure (:class:`TrailkitError`) end a notebook cell with its one-line
    message, never a traceback: IPython's custom exception handler for that class.

    Done when this module is imported (the second cell of every runbook notebook), so no cell
    has to ask for it. ``shell``: None for the running IPython, if any. Returns whether the
    handler is installed; a handler someone else installed is left in place (False).
    """
    if shell is None:
        try:
            from IPython import get_ipython
        except ImportError:  # pragma: no cover - IPython comes with the notebook extra
            return False
        shell = get_ipython()
    if shell is None or not hasattr(shell, "set_custom_exc"):
        return False
    current = tuple(getattr(shell, "custom_exceptions", ()) or ())
    if current == (TrailkitError,):
        return True
    if current:
        return False
    shell.set_custom_exc((TrailkitError,), _one_line)
    return True


install_error_display()
