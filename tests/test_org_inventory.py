"""``trailkit inventory --org`` / ``--accounts``: one inventory across accounts (issue 16).

On an organization built in moto (tests/test_org_scan.py's): JSON and CSV rows carry ``account``
and ``account_name``, the table an Account column, an account whose role cannot be assumed is an
error row, and the exit is 1 (PARTIAL RESULT). In Japanese too.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator

import pytest

from tests.english import assert_japanese
from tests.test_org_scan import MANAGEMENT, Org, _build
from trailkit import i18n
from trailkit.ui.cli import main


@pytest.fixture(autouse=True)
def _english_afterwards() -> Iterator[None]:
    yield
    i18n.set_language("en")


@pytest.fixture
def org(clean_moto: str) -> Org:
    return _build(clean_moto)


def _cli(endpoint: str, *argv: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = main(["inventory", "--endpoint-url", endpoint, *argv], out=out, err=err)
    return code, out.getvalue(), err.getvalue()


def test_org_json_lists_every_accounts_trails_once_and_the_unread_account(
    org: Org, clean_moto: str
) -> None:
    code, out, err = _cli(clean_moto, "--org", "--format", "json")
    assert code == 1
    rows = json.loads(out)
    trails = [r for r in rows if r["trail_arn"]]
    assert sorted(r["trail_arn"] for r in trails) == sorted([org.org_trail, org.prod_trail])
    by_arn = {r["trail_arn"]: r for r in trails}
    assert by_arn[org.prod_trail]["account"] == org.prod
    assert by_arn[org.prod_trail]["account_name"] == "prod"
    assert by_arn[org.org_trail]["account"] == MANAGEMENT
    assert by_arn[org.org_trail]["health"] == "broken"  # dev's delivery error
    codes = [x["code"] for x in by_arn[org.org_trail]["health_reasons"]]
    assert "member-delivery-error" in codes
    unread = [r for r in rows if not r["trail_arn"]]
    assert [(r["account"], r["account_name"]) for r in unread] == [(org.sandbox, "sandbox")]
    assert org.sandbox in unread[0]["error"]
    assert "PARTIAL RESULT" in err
    assert f"sandbox ({org.sandbox})" in err


def test_accounts_and_exclude_choose_the_accounts(org: Org, clean_moto: str) -> None:
    code, out, _err = _cli(
        clean_moto,
        "--accounts",
        f"{org.prod},{org.sandbox}",
        "--exclude-accounts",
        org.sandbox,
        "--format",
        "json",
    )
    assert code == 0
    by_arn = {r["trail_arn"]: r for r in json.loads(out)}
    assert set(by_arn) == {org.prod_trail, org.org_trail}
    assert by_arn[org.prod_trail]["account"] == org.prod
    assert by_arn[org.prod_trail]["account_name"] is None  # given, not listed: no name
    # the organization trail as prod sees it (its owner, the management account, not read):
    # listed once, under its owner's account
    assert by_arn[org.org_trail]["account"] == MANAGEMENT


def test_csv_has_the_account_name_column(org: Org, clean_moto: str) -> None:
    code, out, _err = _cli(clean_moto, "--org", "--format", "csv")
    assert code == 1
    rows = list(csv.DictReader(io.StringIO(out)))
    header = next(csv.reader(io.StringIO(out)))
    assert header.index("account_name") == header.index("account") + 1
    assert {r["account_name"] for r in rows} == {"master", "prod", "sandbox"}


def test_the_table_has_an_account_column_and_the_unread_account(org: Org, clean_moto: str) -> None:
    code, out, _err = _cli(clean_moto, "--org")
    assert code == 1
    assert "account" in out.splitlines()[2] or "account" in out
    assert "accounts: 4" in out
    assert f"(account {org.sandbox} could not be read)" in " ".join(out.split())
    assert "prod" in out and "master" in out


def test_exclude_accounts_alone_is_refused(clean_moto: str) -> None:
    code, _out, err = _cli(clean_moto, "--exclude-accounts", "111122223333")
    assert code == 2
    assert "--org or --accounts" in err


def test_the_org_inventory_in_japanese(org: Org, clean_moto: str) -> None:
    code, out, err = _cli(clean_moto, "--lang", "ja", "--org")
    assert code == 1
    names = {
        "org-trail",
        "prod-trail",
        "org-logs",
        "prod-logs",
        "prod",
        "dev",
        "sandbox",
        "master",
        "OrganizationAccountAccessRole",
        "AccessDenied",
        "PARTIAL RESULT",
    }
    assert "アカウント: 4" in out
    assert f"(アカウント {org.sandbox} を読み取れませんでした)" in " ".join(out.split())
    assert_japanese(out, names, what="inventory --org table")
    assert_japanese(err, names, what="inventory --org warnings")


# -- the acceptance: the demo organization -----------------------------------------------------

DEMO_ACCOUNTS = {
    "123456789012": "management",
    "210987654321": "log-archive",
    "333344445555": "workload-prod",
    "555566667777": "workload-dev",
    "666677778888": "sandbox",
}


def test_the_demo_org_inventory_lists_every_accounts_trails_once(demo: tuple[str, object]) -> None:
    """``trailkit inventory --org --format json`` on the demo: every demo account's trails once,
    ``account`` on each row, the unassumable account (sandbox) one error row, exit 1."""
    endpoint = demo[0]
    code, out, err = _cli(endpoint, "--org", "--format", "json")
    assert code == 1
    rows = json.loads(out)
    trails = [r for r in rows if r["trail_arn"]]
    arns = [r["trail_arn"] for r in trails]
    assert len(arns) == len(set(arns))  # each trail once, the organization trail too
    for row in trails:
        assert row["account"] == row["trail_arn"].split(":")[4]
        assert row["account_name"] == DEMO_ACCOUNTS[row["account"]]
    by_name = {(r["account"], r["name"]): r for r in trails}
    assert ("210987654321", "archive-trail") in by_name
    assert by_name[("333344445555", "prod-trail")]["health"] == "healthy"
    assert by_name[("555566667777", "dev-trail")]["health"] == "broken"
    org_trail = by_name[("123456789012", "org-trail")]
    member = [x for x in org_trail["health_reasons"] if x["code"] == "member-delivery-error"]
    assert len(member) == 1
    assert "workload-dev (555566667777)" in member[0]["message"]
    assert not any(r["account"] == "666677778888" for r in trails)
    unread = [r for r in rows if not r["trail_arn"]]
    assert [(r["account"], r["account_name"]) for r in unread] == [("666677778888", "sandbox")]
    assert "AssumeRole" in unread[0]["error"]
    assert "PARTIAL RESULT" in err
    # the management account's own inventory is unchanged by the organization around it
    alone = json.loads(_cli(endpoint, "--format", "json")[1])
    mine = {r["trail_arn"] for r in alone if r["trail_arn"]}
    assert mine == {r["trail_arn"] for r in trails if r["account"] == "123456789012"}


def test_the_demo_sandbox_is_read_with_its_own_role(demo: tuple[str, object]) -> None:
    code, out, _err = _cli(
        demo[0],
        "--accounts",
        "666677778888",
        "--role-name",
        "AWSControlTowerExecution",
        "--format",
        "json",
    )
    assert code == 0
    names = {(r["account"], r["name"]) for r in json.loads(out)}
    assert ("666677778888", "sandbox-trail") in names
