"""Notebook 01 over several accounts (issue 16 item 6): the account summary, headless, and the
strict reading of the notebook's account parameters.

The inventory here is built by hand (records only, no AWS): what ``Runbook.scan_accounts``
returns for a small organization. The papermill run on the demo organization is in
tests/test_notebooks.py.
"""

from __future__ import annotations

import dataclasses
import html
import re
from collections.abc import Iterator
from pathlib import Path
from types import MappingProxyType
from typing import Any

import pytest
from english import assert_japanese
from widget_fakes import ACCOUNT, INFO, FakeEstate, make_trail

from trailkit import i18n
from trailkit.aws.session import Connection
from trailkit.errors import AccessDenied, InputError
from trailkit.records import Account, Inventory, ScanError, Trail, TrailStatus
from trailkit.rules.accounts import DEFAULT_ROLE_NAME
from trailkit.rules.health import Health, HealthKind
from trailkit.runbook import Runbook
from trailkit.ui import notebook
from trailkit.ui.widgets import AccountSummary, HealthSummary
from trailkit.ui.widgets.accounts import account_rows

PROD, DEV, SANDBOX = "333344445555", "444455556666", "555566667777"
ROLE = "arn:aws:iam::{}:role/OrganizationAccountAccessRole"
DENIED = (
    f"User: arn:aws:iam::{ACCOUNT}:user/operator is not authorized to perform: sts:AssumeRole "
    f"on resource: {ROLE.format(SANDBOX)}"
)


def _in(trail: Trail, account: str) -> Trail:
    """``trail`` as if it were in ``account``."""
    arn = trail.arn.replace(f":{ACCOUNT}:", f":{account}:")
    return dataclasses.replace(trail, arn=arn, account=account)


@pytest.fixture
def org() -> Inventory:
    """The management account (an organization trail and an own trail), workload-prod (one
    healthy trail), workload-dev (a broken trail, one failed region, the organization trail's
    delivery failing there) and sandbox (its role cannot be assumed)."""
    org_trail = make_trail("org-trail", "us-east-1", "org-logs", "us-east-1", organization=True)
    own = make_trail("mgmt-trail", "us-east-1", "mgmt-logs", "us-east-1", key="k")
    prod = _in(make_trail("prod-trail", "eu-west-1", "prod-logs", "eu-west-1", key="k"), PROD)
    dev = _in(make_trail("dev-trail", "us-west-2", "dev-logs", "us-west-2", key="k"), DEV)
    return Inventory(
        connection=INFO,
        regions=("us-east-1", "eu-west-1", "us-west-2"),
        trails=(org_trail, own, prod, dev),
        errors=(
            ScanError("DescribeTrails", "AccessDenied", "denied", "eu-west-1", account=DEV),
            ScanError("AssumeRole", "AccessDenied", DENIED, "us-east-1", account=SANDBOX),
        ),
        accounts=(
            Account(ACCOUNT, "management", "ACTIVE"),
            Account(PROD, "workload-prod", "ACTIVE", ROLE.format(PROD)),
            Account(DEV, "workload-dev", "ACTIVE", ROLE.format(DEV)),
            Account(SANDBOX, "sandbox", "ACTIVE", ROLE.format(SANDBOX)),
        ),
        member_status=MappingProxyType(
            {
                org_trail.arn: MappingProxyType(
                    {
                        PROD: TrailStatus(is_logging=True),
                        DEV: TrailStatus(is_logging=True, latest_delivery_error="AccessDenied"),
                    }
                )
            }
        ),
    )


def _healths(inv: Inventory) -> dict[str, Health]:
    kinds = {
        "org-trail": HealthKind.SSE_S3,
        "mgmt-trail": HealthKind.AT_RISK,
        "prod-trail": HealthKind.HEALTHY,
        "dev-trail": HealthKind.BROKEN,
    }
    return {t.arn: Health(t.arn, kinds[t.name]) for t in inv.trails}


def _text(page: str) -> str:
    page = re.sub(r"<style>.*?</style>", " ", page, flags=re.S)
    page = re.sub(r"<(?:br|/div|/li|/tr|/p)[^>]*>", "\n", page)
    return html.unescape(re.sub(r"<[^>]+>", " ", page))


def _row_html(page: str, account: str) -> str:
    start = page.index(f'data-account="{account}"')
    return page[start : page.find("</tr>", start)]


# -- the summary ---------------------------------------------------------------------------------


def test_one_row_per_account_in_the_order_asked_with_its_trails_and_health_counts(
    org: Inventory,
) -> None:
    summary = AccountSummary(org, _healths(org))
    rows = summary.value
    assert [r.account_id for r in rows] == [ACCOUNT, PROD, DEV, SANDBOX]
    mgmt, prod, dev, sandbox = rows
    # the organization trail is counted once, in its management account
    assert [t.name for t in mgmt.trails] == ["org-trail", "mgmt-trail"]
    assert mgmt.counts["sse-s3"] == 1 and mgmt.counts["at-risk"] == 1
    assert [t.name for t in prod.trails] == ["prod-trail"] and prod.counts["healthy"] == 1
    assert dev.counts["broken"] == 1 and sum(dev.counts.values()) == 1
    assert sandbox.trails == () and sum(sandbox.counts.values()) == 0
    assert [r.state for r in rows] == ["complete", "complete", "partial", "unreadable"]
    assert summary.unreadable == [sandbox]
    assert summary.row(SANDBOX) is sandbox and summary.row("999999999999") is None
    # every error is on the row of the account it was made in
    assert [e.operation for e in dev.errors] == ["DescribeTrails"]
    assert (
        sandbox.assume_role_error is not None and sandbox.assume_role_error.code == "AccessDenied"
    )
    # the organization trail's status in each member: delivery errors only where reported
    org_arn = org.trails[0].arn
    assert dev.delivery_errors == {org_arn: "AccessDenied"} and prod.delivery_errors == {}
    assert dev.as_dict()["organization_trail_delivery_errors"] == {org_arn: "AccessDenied"}
    assert sandbox.as_dict()["state"] == "unreadable" and sandbox.as_dict()["account"] == SANDBOX


def test_an_account_that_could_not_be_read_says_why_and_counts_nothing(org: Inventory) -> None:
    page = AccountSummary(org, _healths(org)).html()
    row = _text(_row_html(page, SANDBOX))
    assert "sandbox" in row and "not read" in row
    assert "the role could not be assumed (AccessDenied)" in row and "sts:AssumeRole" in row
    assert " 0 " not in row  # no zero that would read as "nothing wrong"
    assert 'data-state="unreadable"' in page
    head = _text(page.split("<table", 1)[0])
    assert "4 accounts looked at." in head and "1 of them could not be read" in head
    assert "1 account has a broken trail." in head
    assert "1 account reports delivery errors of an organization trail." in head
    assert "tk-headline tk-blocked" in page


def test_a_member_row_notes_its_failed_calls_and_the_organization_trails_delivery_error(
    org: Inventory,
) -> None:
    page = AccountSummary(org, _healths(org)).html()
    dev = _text(_row_html(page, DEV))
    assert "1 call failed (regions: eu-west-1)" in dev
    assert "Organization trail org-trail: delivery error in this account: AccessDenied" in dev
    assert "partly read" in dev
    prod = _text(_row_html(page, PROD))
    assert "delivery error" not in prod and "failed" not in prod
    # the live widget shows the same HTML
    summary = AccountSummary(org, _healths(org))
    assert summary._w_html.value == summary.html()
    assert "tk-account-summary" in summary._w_html._dom_classes


def test_one_account_scanned_is_one_row_whose_counts_are_the_health_summarys() -> None:
    inv = FakeEstate().inventory()
    (row,) = AccountSummary(inv).value
    assert row.account_id == ACCOUNT and row.account.name is None and row.state == "complete"
    assert dict(row.counts) == HealthSummary(inv).counts
    assert len(row.trails) == len(inv.trails)


def test_an_account_whose_trails_could_not_be_listed_is_not_read(org: Inventory) -> None:
    listed = ScanError("ListTrails", "AccessDenied", "no ListTrails", "us-east-1", account=PROD)
    gone = dataclasses.replace(
        org, trails=tuple(t for t in org.trails if t.account != PROD), errors=(listed,)
    )
    summary = AccountSummary(gone, {})
    row = summary.row(PROD)
    assert row is not None and row.state == "unreadable" and row.unread_error is listed
    assert row.assume_role_error is None
    assert "Not read: ListTrails failed (AccessDenied)." in _text(summary.html())
    # a ListTrails failure after which trails were still read (in their regions) is partial
    kept = dataclasses.replace(org, errors=(listed,))
    row = AccountSummary(kept, {}).row(PROD)
    assert row is not None and row.state == "partial" and row.unread_error is None


def test_errors_without_an_account_are_the_callers_and_no_account_is_dropped(
    org: Inventory,
) -> None:
    stray = _in(make_trail("stray", "us-east-1", "b", "us-east-1"), "666677778888")
    inv = dataclasses.replace(
        org,
        trails=(*org.trails, stray),
        errors=(*org.errors, ScanError("ListTrails", "Throttling", "slow down", "us-east-1")),
    )
    rows = account_rows(inv, {})
    assert [r.account_id for r in rows] == [ACCOUNT, PROD, DEV, SANDBOX, "666677778888"]
    assert [e.code for e in rows[0].errors] == ["Throttling"]
    assert rows[-1].trails == (stray,)
    assert sum(len(r.trails) for r in rows) == len(inv.trails)
    assert sum(len(r.errors) for r in rows) == len(inv.errors)


@pytest.fixture
def ja() -> Iterator[None]:
    i18n.set_language("ja")
    yield
    i18n.set_language(None)


def test_the_account_summary_in_japanese(org: Inventory, ja: None) -> None:
    page = _text(AccountSummary(org, _healths(org)).html())
    assert "アカウント" in page and "読み取れていません" in page
    names = ["management", "workload-prod", "workload-dev", "sandbox", "org-trail"]
    names += [DENIED, "AccessDenied", "denied"]
    assert_japanese(page, names, what="account summary")
    banner = _text(notebook.partial_banner(org) or "")
    assert "アカウント: workload-dev" in banner
    assert_japanese(banner, names, what="partial banner")


# -- the notebook's account parameters: strict ------------------------------------------------


@pytest.mark.parametrize(
    ("org_", "accounts", "exclude", "expected"),
    [
        (False, None, None, (False, (), ())),
        ("false", None, None, (False, (), ())),
        (True, None, None, (True, (), ())),
        ("yes", None, [DEV], (True, (), (DEV,))),
        (False, PROD, None, (False, (PROD,), ())),
        (False, int(PROD), None, (False, (PROD,), ())),  # papermill -p accounts 333344445555
        (False, f"{PROD}, {DEV}\n{SANDBOX} # lab", None, (False, (PROD, DEV, SANDBOX), ())),
        (False, [PROD, DEV, PROD], f"{DEV}", (False, (PROD, DEV), (DEV,))),
    ],
)
def test_the_account_parameters_mean_what_the_options_mean(
    org_: object, accounts: object, exclude: object, expected: tuple[Any, ...]
) -> None:
    chosen = notebook.account_choice(org_, accounts, exclude)
    assert (chosen.org, chosen.accounts, chosen.exclude) == expected
    assert chosen.several is (expected[0] or bool(expected[1]))


@pytest.mark.parametrize(
    ("org_", "accounts", "exclude", "named"),
    [
        (None, None, None, "org"),  # None is not "no"
        ("maybe", None, None, "org"),
        (False, "", None, "accounts"),  # empty never means "every account" nor "none"
        (False, "  , ", None, "accounts"),
        (False, [], None, "accounts"),
        (True, None, "", "exclude_accounts"),
        (True, None, [], "exclude_accounts"),
        (False, "12345", None, "accounts"),
        (False, ["333344445555", None], None, "accounts"),
        (False, {"a": 1}, None, "accounts"),
        (False, None, [DEV], "exclude_accounts"),  # nothing to leave out of
        (False, "@/nonexistent/accounts.txt", None, "accounts"),
    ],
)
def test_the_account_parameters_refuse_what_they_cannot_read(
    org_: object, accounts: object, exclude: object, named: str
) -> None:
    with pytest.raises(InputError, match=named):
        notebook.account_choice(org_, accounts, exclude)


def test_accounts_may_be_read_from_a_file_as_with_at_file(tmp_path: Path) -> None:
    listed = tmp_path / "accounts.txt"
    listed.write_text(f"# members\n{PROD}\n{DEV},{SANDBOX}\n", encoding="utf-8")
    chosen = notebook.account_choice(False, f"@{listed}", None)
    assert chosen.accounts == (PROD, DEV, SANDBOX)


@pytest.fixture
def conn() -> Connection:
    return Connection(endpoint_url="http://127.0.0.1:9", region="us-east-1")


def test_role_name_and_external_id_none_means_the_default_and_none(conn: Connection) -> None:
    access = notebook.account_access(conn)
    assert access.role_name == DEFAULT_ROLE_NAME and access.external_id is None
    given = notebook.account_access(
        conn, role_name="AWSControlTowerExecution", external_id="trailkit-ext-1"
    )
    assert given.role_name == "AWSControlTowerExecution" and given.external_id == "trailkit-ext-1"
    book = notebook.org_runbook(conn, role_name="service-role/Audit", external_id="xy")
    assert book.access.role_name == "service-role/Audit" and book.access.external_id == "xy"


@pytest.mark.parametrize(
    ("role_name", "external_id", "named"),
    [
        ("", None, "role_name"),  # empty is never "the default"
        ("   ", None, "role_name"),
        (7, None, "role_name"),
        (
            "arn:aws:iam::333344445555:role/Audit",
            None,
            "role_name",
        ),  # the parameter, not --role-name
        ("bad name!", None, "IAM role name"),
        (None, "", "external_id"),  # empty is never "none"
        (None, " ", "external_id"),
        (None, "x", "external_id"),  # STS: 2 characters at least
        (None, 12, "external_id"),
    ],
)
def test_role_name_and_external_id_are_read_strictly(
    conn: Connection, role_name: object, external_id: object, named: str
) -> None:
    with pytest.raises(InputError, match=named):
        notebook.account_access(conn, role_name=role_name, external_id=external_id)


def test_org_inventory_wants_the_runbook_and_reads_its_parameters_first(conn: Connection) -> None:
    with pytest.raises(InputError, match="book"):
        notebook.org_inventory(conn, org=True)  # type: ignore[arg-type]
    book = notebook.org_runbook(conn)
    with pytest.raises(InputError, match="org"):  # refused before anything is read
        notebook.org_inventory(book, org="maybe")
    with pytest.raises(InputError, match="accounts"):
        notebook.org_inventory(book, accounts="")


# -- the drill-down of a member trail ------------------------------------------------------------


class _Book(Runbook):
    """A runbook that records which account each trail is explained in (nothing read)."""

    def __init__(self) -> None:  # no connection: nothing here reads
        self.accounts: list[str] = []

    def in_account(self, account_id: str) -> Runbook:
        self.accounts.append(account_id)
        return self

    def explain(self, trail: Any, **kwargs: Any) -> Any:
        raise AccessDenied(f"explain {trail}", "fix")


def test_a_member_trail_is_explained_in_its_own_account(org: Inventory) -> None:
    book = _Book()
    explorer = notebook.trail_explorer(book, org, history=False)
    assert explorer.select("dev-trail") is None
    assert book.accounts == [DEV]
    assert explorer.error is not None and "dev-trail" in str(explorer.error)
    explorer.select("mgmt-trail")
    assert book.accounts == [DEV, ACCOUNT]


def test_the_partial_banner_names_the_accounts_and_no_unknown_region(org: Inventory) -> None:
    refused = dataclasses.replace(org, errors=org.errors[1:2])
    assert refused.errors[0].operation == "AssumeRole"
    refused = dataclasses.replace(
        refused, errors=(dataclasses.replace(refused.errors[0], region=None),)
    )
    banner = html.unescape(notebook.partial_banner(refused) or "")
    assert f"PARTIAL RESULT: 1 call failed (accounts: sandbox ({SANDBOX})); see" in banner
    assert "?" not in banner and "regions" not in banner


def test_the_partial_banner_names_the_accounts_that_failed(org: Inventory) -> None:
    banner = notebook.partial_banner(org)
    assert banner is not None
    assert (
        f"PARTIAL RESULT: 2 calls failed (accounts: workload-dev ({DEV}), sandbox ({SANDBOX})"
        in (html.unescape(banner))
    )


# -- on an organization in moto ------------------------------------------------------------------


def test_the_glue_over_an_organization_in_moto(clean_moto: str) -> None:
    """Notebook 01's calls on the organization of tests/test_org_scan.py: prod (a trail of its
    own, in eu-west-1), dev (the organization trail's delivery fails there) and sandbox (its
    role does not exist)."""
    from tests.test_org_scan import _build

    org = _build(clean_moto)
    book = notebook.org_runbook(org.conn)
    inv = notebook.org_inventory(book, org=True, progress=False)
    summary = AccountSummary(inv)
    rows = {r.account_id: r for r in summary.value}
    assert set(rows) == {a.account_id for a in org.accounts}
    assert [r.account_id for r in summary.unreadable] == [org.sandbox]
    assert [t.arn for t in rows[org.prod].trails] == [org.prod_trail]
    assert rows[org.dev].delivery_errors == {org.org_trail: "AccessDenied"}
    page = _text(summary.html())
    assert "Organization trail org-trail: delivery error in this account: AccessDenied" in page
    assert f"{org.sandbox}" in page and "the role could not be assumed" in page
    # only the named accounts, and the caller's when excluded is left out
    only = notebook.org_inventory(
        book, accounts=[org.prod, org.sandbox], exclude_accounts=org.sandbox, progress=False
    )
    assert [a.account_id for a in only.accounts] == [org.prod] and not only.errors
    # the member's trail opens in its own account, through its role
    explorer = notebook.trail_explorer(book, inv, history=False)
    found = explorer.select(org.prod_trail)
    assert explorer.error is None and found is not None
    assert found.trail.account == org.prod and found.key is not None
    assert found.key.arn == org.prod_key


# -- on the demo organization (moto) ---------------------------------------------------------------


def test_on_the_demo_organization_every_account_has_a_row_and_a_member_trail_opens(
    demo: Any, demo_conn: Connection
) -> None:
    """The glue of notebook 01 with ``org=True``: every active account of the demo organization
    has a row (the one whose role cannot be assumed says so), and a member account's own trail
    is explained in that account, through its role."""
    from trailkit.aws.accounts import list_accounts
    from trailkit.demo import DEMO_REGIONS

    active = {a.account_id for a in list_accounts(demo_conn) if a.status == "ACTIVE"}
    book = notebook.org_runbook(demo_conn)
    inv = notebook.org_inventory(book, list(DEMO_REGIONS), org=True, progress=False)
    summary = AccountSummary(inv)
    assert {r.account_id for r in summary.value} == active
    (unread,) = summary.unreadable
    assert unread.assume_role_error is not None and not unread.trails
    assert sum(len(r.trails) for r in summary.value) == len(inv.trails)
    member = next(
        t for t in inv.trails if t.account != demo_conn.info().account and not t.organization
    )
    explorer = notebook.trail_explorer(book, inv, history=False)
    found = explorer.select(member.arn)
    assert explorer.error is None and found is not None
    assert found.trail.arn == member.arn and found.trail.account == member.account


def test_role_name_chooses_the_role_assumed_in_every_other_account(
    demo: Any, demo_conn: Connection
) -> None:
    """The demo's sandbox was created with AWSControlTowerExecution only: with that role_name
    it is the one member read, and every other member is one that could not be read."""
    from trailkit.demo import DEMO_REGIONS

    book = notebook.org_runbook(demo_conn, role_name="AWSControlTowerExecution")
    inv = notebook.org_inventory(book, list(DEMO_REGIONS), org=True, progress=False)
    rows = AccountSummary(inv).value
    caller = demo_conn.info().account
    read = [r.account_id for r in rows if r.state != "unreadable"]
    unread = [r for r in rows if r.state == "unreadable"]
    assert len(read) == 2 and read[0] == caller
    sandbox = next(r for r in rows if r.account_id == read[1])
    assert sandbox.account.role_arn is not None
    assert sandbox.account.role_arn.endswith(":role/AWSControlTowerExecution")
    assert sandbox.trails and all(t.account == sandbox.account_id for t in sandbox.trails)
    assert len(unread) == len(rows) - 2 and all(r.assume_role_error for r in unread)
