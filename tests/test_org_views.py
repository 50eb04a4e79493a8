"""Notebook 01's views over several accounts (issue 16, the polish after notebook 01): the
connection banner, the trail explorer, the health summary, the trails table and its CSV name the
account; the account errors name the notebook's parameters in a notebook; a member's delivery
error of an organization trail names the member's path in the bucket.

Records only (no AWS): the organization of tests/test_account_widgets.py.
"""

# ruff: noqa: F811  (the ``org`` fixture of tests/test_account_widgets.py, used by name)

from __future__ import annotations

import dataclasses
import html
import re
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from english import assert_japanese
from test_account_widgets import DENIED, DEV, PROD, ROLE, SANDBOX, _in, org  # noqa: F401
from widget_fakes import ACCOUNT, INFO, make_trail

from trailkit import i18n
from trailkit.aws.session import Connection
from trailkit.errors import AssumeRoleFailed, InputError, assume_role_error, list_accounts_error
from trailkit.records import Inventory, ScanError, TrailStatus
from trailkit.rules import accounts as rules_accounts
from trailkit.rules.delivery import ORGANIZATION_ID_PLACEHOLDER, delivery_cause
from trailkit.rules.health import health
from trailkit.ui import notebook, tables
from trailkit.ui.widgets import ConnectionBanner, HealthSummary, TrailsTable
from trailkit.ui.widgets.explore import TrailExplorer

NOW = datetime(2026, 12, 5, 8, 0, tzinfo=UTC)


def _text(page: str) -> str:
    page = re.sub(r"<style>.*?</style>", " ", page, flags=re.S)
    page = re.sub(r"<(?:br|/div|/li|/tr|/p)[^>]*>", "\n", page)
    return re.sub(r"[ \t]+", " ", html.unescape(re.sub(r"<[^>]+>", " ", page)))


def _refused_only(inv: Inventory) -> Inventory:
    """Only sandbox's refused role, as the scan records it (no region: none was read)."""
    refused = next(e for e in inv.errors if e.operation == "AssumeRole")
    return dataclasses.replace(inv, errors=(dataclasses.replace(refused, region=None),))


@pytest.fixture
def ja() -> Iterator[None]:
    i18n.set_language("ja")
    yield
    i18n.set_language(None)


# -- 1. the connection banner ----------------------------------------------------------------


def test_the_banner_names_the_unreadable_account_and_never_an_unknown_region(
    org: Inventory,
) -> None:
    said = _text(ConnectionBanner(INFO, _refused_only(org)).html())
    assert f"PARTIAL RESULT: 1 call failed (accounts: sandbox ({SANDBOX})); see" in said
    assert "?" not in said and "regions" not in said


def test_the_banner_says_what_the_notebooks_partial_banner_says(org: Inventory) -> None:
    for inv in (org, _refused_only(org)):
        banner = _text(ConnectionBanner(INFO, inv).html())
        glue = _text(notebook.partial_banner(inv) or "")
        assert glue.strip() and glue.strip() in banner
    both = _text(ConnectionBanner(INFO, org).html())
    assert f"accounts: workload-dev ({DEV}), sandbox ({SANDBOX}); regions: eu-west-1" in both


def test_a_failed_call_without_account_or_region_is_counted_without_a_question_mark(
    org: Inventory,
) -> None:
    one = Inventory(
        connection=INFO,
        regions=("us-east-1",),
        trails=(),
        errors=(ScanError("ListTrails", "Throttling", "slow down", None),),
    )
    said = _text(ConnectionBanner(INFO, one).html())
    assert "PARTIAL RESULT: 1 call failed; see the errors table." in said
    assert "?" not in said


def test_the_banner_names_the_account_in_japanese(org: Inventory, ja: None) -> None:
    said = _text(ConnectionBanner(INFO, _refused_only(org)).html())
    assert "sandbox" in said and "?" not in said
    assert_japanese(said, ["sandbox", SANDBOX, ACCOUNT, INFO.caller_arn, INFO.endpoint])


# -- 2. the trail explorer --------------------------------------------------------------------


def _twins(org: Inventory) -> Inventory:
    """workload-prod and workload-dev each with a trail named ``audit``, in the same region."""
    audit = make_trail("audit", "eu-west-1", "audit-logs", "eu-west-1", key="k")
    return dataclasses.replace(org, trails=(*org.trails, _in(audit, PROD), _in(audit, DEV)))


def _explain(arn: str) -> Any:
    raise AssertionError("nothing is read here")


def _labels(explorer: TrailExplorer) -> list[str]:
    return [label for label, _arn in explorer._w_select.options[1:]]


def test_the_explorer_labels_name_the_account_of_each_trail(org: Inventory) -> None:
    inv = _twins(org)
    explorer = TrailExplorer(inv.trails, _explain, accounts=inv.accounts)
    audits = sorted(label for label in _labels(explorer) if label.startswith("audit"))
    assert audits == ["audit · workload-dev · eu-west-1", "audit · workload-prod · eu-west-1"]


def test_an_account_without_a_name_is_shown_by_its_id(org: Inventory) -> None:
    inv = _twins(org)
    explorer = TrailExplorer(inv.trails, _explain)  # no accounts given: the trails' ids
    assert f"audit · {PROD} · eu-west-1" in _labels(explorer)


def test_one_account_shows_no_account_in_the_labels() -> None:
    trail = make_trail("audit", "eu-west-1", "audit-logs", "eu-west-1", key="k")
    explorer = TrailExplorer([trail], _explain)
    assert _labels(explorer) == ["audit · eu-west-1"]


def test_a_name_in_several_accounts_says_accounts_not_regions(org: Inventory) -> None:
    inv = _twins(org)
    explorer = TrailExplorer(inv.trails, _explain, accounts=inv.accounts)
    assert explorer.select("audit") is None
    assert isinstance(explorer.error, InputError)
    assert "audit names trails in several accounts." in str(explorer.error)
    same_account = [
        make_trail("audit", "eu-west-1", "b", "eu-west-1"),
        make_trail("audit", "us-west-2", "b", "eu-west-1"),
    ]
    alone = TrailExplorer(same_account, _explain)
    alone.select("audit")
    assert "audit names trails in several regions." in str(alone.error)


def test_the_notebook_explorer_passes_the_account_names(org: Inventory) -> None:
    book = notebook.org_runbook(Connection(endpoint_url="http://127.0.0.1:9", region="us-east-1"))
    explorer = notebook.trail_explorer(book, _twins(org), history=False)
    audits = [label for label in _labels(explorer) if label.startswith("audit ·")]
    assert len(audits) == 2 and all(" · workload-" in label for label in audits)
    assert any(label.endswith("· workload-prod · eu-west-1") for label in audits)


def test_the_explorer_in_japanese(org: Inventory, ja: None) -> None:
    inv = _twins(org)
    explorer = TrailExplorer(inv.trails, _explain, accounts=inv.accounts)
    explorer.select("audit")
    assert_japanese(str(explorer.error), ["audit"])


# -- 3. the health summary and the trails table -----------------------------------------------


def test_health_cards_name_the_trails_account(org: Inventory) -> None:
    page = HealthSummary(org, now=NOW).html()
    dev = page[page.index('data-trail="dev-trail"') :]
    head = _text(dev[: dev.index("</div>")])
    assert "dev-trail · workload-dev · us-west-2" in head
    assert f'data-account="{DEV}"' in page


def test_one_account_health_cards_name_no_account() -> None:
    broken = make_trail("solo", "us-east-1", "solo-logs", "us-east-1", key="k")
    fine = make_trail("plain", "us-east-1", "plain-logs", "us-east-1")
    inv = Inventory(connection=INFO, regions=("us-east-1",), trails=(broken, fine))
    page = _text(HealthSummary(inv, now=NOW).html())
    assert "solo · us-east-1 · SSE-KMS" in page
    assert "plain" in page and "plain (" not in page and ACCOUNT not in page


def test_healthy_trails_named_in_one_line_say_their_account(org: Inventory) -> None:
    page = _text(HealthSummary(org, now=NOW).html())
    assert "org-trail (management)" in page or "org-trail · management" in page


def test_the_trails_table_has_an_account_name_column_and_an_account_filter(
    org: Inventory,
) -> None:
    table = TrailsTable(org)
    columns = list(table.frame.columns)
    assert columns.index("account_name") == columns.index("account") + 1
    assert "account_name" in table.html() or "workload-dev" in table.html()
    assert "workload-dev" in _text(table.html())
    table.filter(account=DEV)
    assert {t.name for t in table.value} == {"dev-trail"}
    assert set(table.frame["account"]) == {DEV}
    table.filter()
    assert len(table.value) == len(org.trails)
    with pytest.raises(InputError, match="999999999999"):
        table.filter(account="999999999999")


def test_the_trails_table_of_one_account_is_unchanged() -> None:
    trail = make_trail("solo", "us-east-1", "solo-logs", "us-east-1")
    inv = Inventory(connection=INFO, regions=("us-east-1",), trails=(trail,))
    table = TrailsTable(inv)
    assert "account_name" not in table.frame.columns
    assert table._w_account not in table.layout.children[1].children
    table.filter(account=ACCOUNT)  # its only account: every row, as without the filter
    assert [t.name for t in table.value] == ["solo"]
    with pytest.raises(InputError):
        table.filter(account=PROD)


def test_the_trails_table_account_filter_is_shown_for_several_accounts(org: Inventory) -> None:
    table = TrailsTable(org)
    filters = table.layout.children[1].children
    assert table._w_account in filters
    labels = [label for label, _v in table._w_account.options]
    assert f"workload-dev ({DEV})" in labels


# -- 4. the notebook's CSV ----------------------------------------------------------------------


def test_the_notebook_csv_of_an_organization_has_account_name_where_the_cli_has_it(
    org: Inventory,
) -> None:
    frame = tables.trails_frame(org)
    assert list(frame.columns) == tables.ORG_TRAIL_COLUMNS
    order = [c for c in tables.ORG_INVENTORY_COLUMNS if c in tables.ORG_TRAIL_COLUMNS]
    assert order == tables.ORG_TRAIL_COLUMNS  # the CLI's order, its extra columns aside
    named = dict(zip(frame["name"], frame["account_name"], strict=True))
    assert named["dev-trail"] == "workload-dev" and named["org-trail"] == "management"
    assert named[f"(account {SANDBOX} could not be read)"] == "sandbox"


def test_the_notebook_csv_of_one_account_keeps_its_columns() -> None:
    trail = make_trail("solo", "us-east-1", "solo-logs", "us-east-1")
    inv = Inventory(connection=INFO, regions=("us-east-1",), trails=(trail,))
    assert list(tables.trails_frame(inv).columns) == tables.TRAIL_COLUMNS


# -- 5. the account errors name the notebook's parameters ---------------------------------------


@pytest.mark.parametrize(
    ("role_name", "external_id", "named", "not_named"),
    [
        (
            "arn:aws:iam::333344445555:role/Audit",
            None,
            'role_name="AWSControlTowerExecution"',
            "--",
        ),
        ("bad name!", None, "role_name 'bad name!' is not an IAM role name", "--"),
        (None, "x", "external_id 'x' is not an external id", "--"),
    ],
)
def test_the_notebook_names_its_parameters_not_the_options(
    role_name: object, external_id: object, named: str, not_named: str
) -> None:
    conn = Connection(endpoint_url="http://127.0.0.1:9", region="us-east-1")
    with pytest.raises(InputError) as caught:
        notebook.account_access(conn, role_name=role_name, external_id=external_id)
    assert named in str(caught.value)
    assert not_named not in str(caught.value)


def test_the_command_line_keeps_its_options() -> None:
    with pytest.raises(InputError, match="--role-name AWSControlTowerExecution"):
        rules_accounts.check_role_name("arn:aws:iam::333344445555:role/Audit")
    with pytest.raises(InputError, match="--external-id 'x'"):
        rules_accounts.check_external_id("x")
    with pytest.raises(InputError, match="check --exclude-accounts"):
        rules_accounts.select_accounts(ACCOUNT, given=[PROD], exclude=[PROD])


def test_the_account_list_errors_name_the_notebook_parameters() -> None:
    options = rules_accounts.NOTEBOOK_PARAMETERS
    with pytest.raises(InputError) as caught:
        rules_accounts.select_accounts(ACCOUNT, given=[PROD], exclude=[PROD], options=options)
    assert "check exclude_accounts" in str(caught.value)
    with pytest.raises(InputError) as caught:
        rules_accounts.select_accounts(ACCOUNT, options=options)
    assert 'give org=True (every account of the organization) or accounts="ID[,ID]"' in str(
        caught.value
    )
    assert "--" not in str(caught.value)


def _client_error(code: str, message: str = "denied") -> Exception:
    import botocore.exceptions

    return botocore.exceptions.ClientError(
        {"Error": {"Code": code, "Message": message}}, "AssumeRole"
    )


def test_a_refused_role_in_a_notebook_names_role_name_and_exclude_accounts() -> None:
    error = assume_role_error(_client_error("AccessDenied", DENIED), ROLE.format(SANDBOX))
    assert isinstance(error, AssumeRoleFailed)
    assert "--role-name" in error.fix and f"--exclude-accounts {SANDBOX}" in error.fix
    named = error.named("role_name", "exclude_accounts")
    assert "role_name" in named.fix and f'exclude_accounts="{SANDBOX}"' in named.fix
    assert "--" not in named.fix
    assert named.account == SANDBOX and named.code == "AccessDenied"
    assert "--" not in named.english()


def test_the_notebook_access_renames_a_refusal_it_caches() -> None:
    class _Conn:
        def info(self) -> Any:
            return INFO

        def assumed(self, arn: str, **kwargs: Any) -> Any:
            raise assume_role_error(_client_error("AccessDenied", DENIED), arn)

    from trailkit.aws.accounts import AccountAccess

    access = AccountAccess(_Conn(), options=rules_accounts.NOTEBOOK_PARAMETERS)  # type: ignore[arg-type]
    for _attempt in range(2):  # the second answer is the one kept
        with pytest.raises(AssumeRoleFailed) as caught:
            access.connection(SANDBOX)
        assert f'exclude_accounts="{SANDBOX}"' in caught.value.fix
    cli = AccountAccess(_Conn())  # type: ignore[arg-type]
    with pytest.raises(AssumeRoleFailed) as caught:
        cli.connection(SANDBOX)
    assert f"--exclude-accounts {SANDBOX}" in caught.value.fix


def test_the_organization_list_error_names_org_and_accounts_in_a_notebook() -> None:
    exc = _client_error("AWSOrganizationsNotInUseException", "not in use")
    error = list_accounts_error(exc, org_option="org", accounts_option="accounts")
    assert str(error).startswith("org=True cannot list the organization's accounts")
    assert 'accounts="111122223333,444455556666"' in str(error)
    assert "--" not in str(error) and "--" not in error.english()
    cli = list_accounts_error(exc)
    assert "--org cannot list" in str(cli) and "--accounts @FILE" in str(cli)


def test_the_notebook_parameter_errors_in_japanese(ja: None) -> None:
    conn = Connection(endpoint_url="http://127.0.0.1:9", region="us-east-1")
    with pytest.raises(InputError) as caught:
        notebook.account_access(conn, role_name="arn:aws:iam::333344445555:role/Audit")
    text = str(caught.value)
    assert "role_name" in text and "--role-name" not in text
    assert_japanese(
        text, ["role_name", "AWSControlTowerExecution", "arn:aws:iam::333344445555:role/Audit"]
    )
    named = assume_role_error(_client_error("AccessDenied", DENIED), ROLE.format(SANDBOX))
    assert isinstance(named, AssumeRoleFailed)
    fix = named.named("role_name", "exclude_accounts").fix
    assert "--" not in fix
    assert_japanese(
        fix, ["role_name", "exclude_accounts", SANDBOX, "iam/trailkit-member-trust.json"]
    )


# -- 6. a member's delivery error names the member's path --------------------------------------


def test_a_member_delivery_error_names_the_members_path_under_the_organization() -> None:
    org_trail = make_trail("org-trail", "us-east-1", "org-logs", "us-east-1", organization=True)
    cause = delivery_cause(org_trail, "AccessDenied", member=DEV, organization_id="o-abc123def4")
    assert f"arn:aws:s3:::org-logs/AWSLogs/o-abc123def4/{DEV}/*" in cause.cause
    assert f"AWSLogs/{ACCOUNT}/*" not in cause.cause
    unknown = delivery_cause(org_trail, "AccessDenied", member=DEV)
    assert f"org-logs/AWSLogs/{ORGANIZATION_ID_PLACEHOLDER}/{DEV}/*" in unknown.cause


def test_an_own_trail_keeps_its_accounts_path() -> None:
    own = make_trail("mgmt-trail", "us-east-1", "mgmt-logs", "us-east-1")
    cause = delivery_cause(own, "AccessDenied")
    assert f"arn:aws:s3:::mgmt-logs/AWSLogs/{ACCOUNT}/*" in cause.cause


def test_the_member_delivery_health_line_names_each_members_path(org: Inventory) -> None:
    org_trail = org.trails[0]
    members = {
        PROD: TrailStatus(is_logging=True),
        DEV: TrailStatus(is_logging=True, latest_delivery_error="AccessDenied"),
    }
    found = health(org_trail, None, ACCOUNT, now=NOW, members=members)
    line = next(r for r in found.reasons if r.code == "member-delivery-error")
    assert f"AWSLogs/{ORGANIZATION_ID_PLACEHOLDER}/{DEV}/*" in line.message
    assert f"AWSLogs/{ACCOUNT}/*" not in line.message
    known = health(
        org_trail, None, ACCOUNT, now=NOW, members=members, organization_id="o-abc123def4"
    )
    line = next(r for r in known.reasons if r.code == "member-delivery-error")
    assert f"AWSLogs/o-abc123def4/{DEV}/*" in line.message
