"""``trailkit.aws.org.scan_accounts``: one inventory across accounts x regions (issue 16).

An organization built in moto for each test (management account, two members whose role can
be assumed, one whose role does not exist), read through the demo's moto patches (ListTrails
account-wide, the organization trail visible in members, AssumeRole refused for a missing role).
"""

from __future__ import annotations

import threading
from collections import Counter
from dataclasses import dataclass
from typing import Any

import pytest

from tests.conftest import fail_call
from trailkit.aws.accounts import AccountAccess
from trailkit.aws.org import scan_accounts
from trailkit.aws.session import Connection
from trailkit.demo.patches import set_member_trail_status
from trailkit.errors import ConnectionFailed
from trailkit.records import Account, Trail, TrailStatus
from trailkit.rules.health import health, inventory_health

MANAGEMENT = "123456789012"


@dataclass
class Org:
    conn: Connection
    access: AccountAccess
    accounts: list[Account]
    prod: str
    dev: str
    sandbox: str
    org_trail: str
    prod_trail: str
    prod_key: str


def _build(endpoint: str, *, hooks: tuple[tuple[str, Any], ...] = ()) -> Org:
    conn = Connection(endpoint_url=endpoint, region="us-east-1", workers=8, hooks=hooks)
    org = conn.client("organizations")
    org.create_organization(FeatureSet="ALL")
    made = {}
    for name, role in (("prod", None), ("dev", None), ("sandbox", "SomeOtherRole")):
        extra = {"RoleName": role} if role else {}
        answer = org.create_account(Email=f"{name}@example.com", AccountName=name, **extra)
        made[name] = answer["CreateAccountStatus"]["AccountId"]
    conn.client("s3").create_bucket(Bucket="org-logs")
    org_trail = conn.client("cloudtrail").create_trail(
        Name="org-trail", S3BucketName="org-logs", IsMultiRegionTrail=True, IsOrganizationTrail=True
    )["TrailARN"]
    access = AccountAccess(conn)
    prod = conn.assumed(str(access.role_arn(made["prod"])))
    prod.client("s3", "eu-west-1").create_bucket(
        Bucket="prod-logs", CreateBucketConfiguration={"LocationConstraint": "eu-west-1"}
    )
    key = prod.client("kms", "eu-west-1").create_key(Description="prod trail key")["KeyMetadata"]
    prod_trail = prod.client("cloudtrail", "eu-west-1").create_trail(
        Name="prod-trail", S3BucketName="prod-logs", KmsKeyId=key["Arn"]
    )["TrailARN"]
    set_member_trail_status(org_trail, made["dev"], LatestDeliveryError="AccessDenied")
    accounts = access.accounts(org=True)
    conn.reset_counts()
    return Org(
        conn, access, accounts, made["prod"], made["dev"], made["sandbox"], org_trail,
        prod_trail, key["Arn"],
    )  # fmt: skip


@pytest.fixture
def org(clean_moto: str) -> Org:
    return _build(clean_moto)


def test_one_inventory_lists_every_accounts_trails_once_with_their_account(org: Org) -> None:
    inv = scan_accounts(org.access, org.accounts)
    by_arn = {t.arn: t for t in inv.trails}
    assert sorted(by_arn) == sorted([org.org_trail, org.prod_trail])
    assert by_arn[org.prod_trail].account == org.prod
    assert by_arn[org.org_trail].account == MANAGEMENT
    # the member's trail was read in the member: its bucket and key
    assert by_arn[org.prod_trail].bucket is not None
    assert by_arn[org.prod_trail].bucket.region == "eu-west-1"
    assert inv.keys[org.prod_key].account == org.prod
    assert [a.account_id for a in inv.accounts] == [a.account_id for a in org.accounts]
    assert inv.account_name(org.prod) == "prod"
    assert inv.connection.account == MANAGEMENT


def test_the_unassumable_account_is_one_error_row_naming_it(org: Org) -> None:
    inv = scan_accounts(org.access, org.accounts)
    assert inv.partial
    assert [(e.account, e.operation) for e in inv.errors] == [(org.sandbox, "AssumeRole")]
    error = inv.errors[0]
    assert error.code == "AccessDenied"
    assert org.sandbox in error.message
    assert error.resource == org.access.role_arn(org.sandbox)


def test_the_organization_trail_is_read_once_and_its_member_statuses_kept(org: Org) -> None:
    inv = scan_accounts(org.access, org.accounts)
    members = inv.member_status[org.org_trail]
    # sandbox could not be read (its role): its status there is unknown, with why, not absent
    assert set(members) == {org.prod, org.dev, org.sandbox}
    assert members[org.dev].latest_delivery_error == "AccessDenied"
    assert members[org.prod].latest_delivery_error is None
    assert members[org.prod].error is None
    unread = members[org.sandbox]
    assert unread.error is not None and org.sandbox in unread.error
    assert unread.latest_delivery_error is None and unread.is_logging is None
    # its bucket is read once, by its owner, not again from each member
    assert inv.calls["s3:HeadBucket"] == 2  # org-logs (management), prod-logs (prod)


def test_member_delivery_errors_are_one_health_line_naming_the_member(org: Org) -> None:
    inv = scan_accounts(org.access, org.accounts)
    health = inventory_health(inv)[org.org_trail]
    member = [r for r in health.reasons if r.code == "member-delivery-error"]
    assert len(member) == 1
    assert str(health.kind) == "broken"
    # counted over every member asked for: sandbox, whose role could not be assumed, too
    assert "1 of 3 member accounts" in member[0].message
    assert f"dev ({org.dev})" in member[0].message
    assert f"prod ({org.prod})" not in member[0].message
    assert member[0].fix
    (unread,) = [r for r in health.reasons if r.code == "member-status-unreadable"]
    assert str(unread.health) == "unverifiable"
    assert "1 of 3 member accounts" in unread.message
    assert f"sandbox ({org.sandbox})" in unread.message
    assert org.dev not in unread.message and org.prod not in unread.message


def test_listtrails_replaces_describetrails_in_every_region(org: Org) -> None:
    inv = scan_accounts(org.access, org.accounts)
    calls = inv.calls
    # one ListTrails per account read; DescribeTrails only where the account's own trails live:
    # management us-east-1, prod eu-west-1, dev none (the organization trail it sees is
    # described by its owner, read in the same scan: only its status is read in dev)
    assert calls["cloudtrail:ListTrails"] == 3
    assert calls["cloudtrail:DescribeTrails"] == 2
    assert calls["sts:AssumeRole"] == 3
    assert "ec2:DescribeRegions" not in calls  # ListTrails names the regions that matter
    # each trail's status in each account that sees it
    assert calls["cloudtrail:GetTrailStatus"] == 4


def test_without_its_owner_the_organization_trail_is_described_by_a_member(org: Org) -> None:
    prod = [a for a in org.accounts if a.account_id == org.prod]
    inv = scan_accounts(org.access, prod)
    by_arn = {t.arn: t for t in inv.trails}
    assert set(by_arn) == {org.org_trail, org.prod_trail}
    assert by_arn[org.org_trail].bucket_name == "org-logs"  # described (DescribeTrails in prod)
    assert by_arn[org.org_trail].status is None  # prod's status is a member's, kept apart
    assert set(inv.member_status[org.org_trail]) == {org.prod}
    assert inv.calls["cloudtrail:DescribeTrails"] == 2  # eu-west-1 and us-east-1


def test_with_regions_every_account_is_asked_in_each_region(org: Org) -> None:
    inv = scan_accounts(org.access, org.accounts, ["us-east-1", "eu-west-1"])
    assert inv.calls["cloudtrail:DescribeTrails"] == 3 * 2
    assert "cloudtrail:ListTrails" not in inv.calls
    assert sorted(t.arn for t in inv.trails) == sorted([org.org_trail, org.prod_trail])
    assert inv.regions == ("us-east-1", "eu-west-1")


def test_sequential_and_concurrent_scans_agree(org: Org) -> None:
    one = scan_accounts(org.access, org.accounts, workers=1)
    many = scan_accounts(org.access, org.accounts, workers=6)
    assert one.trails == many.trails
    assert one.errors == many.errors
    assert one.keys == many.keys
    assert {a: dict(m) for a, m in one.member_status.items()} == {
        a: dict(m) for a, m in many.member_status.items()
    }


def test_every_account_shares_one_bounded_pool(clean_moto: str) -> None:
    lock = threading.Lock()
    state = {"now": 0, "most": 0}
    threads: Counter[str] = Counter()

    def before(**_: Any) -> None:
        with lock:
            state["now"] += 1
            state["most"] = max(state["most"], state["now"])
            threads[threading.current_thread().name.rsplit("-", 1)[0]] += 1

    def after(**_: Any) -> None:
        with lock:
            state["now"] -= 1

    built = _build(clean_moto, hooks=(("before-call", before), ("after-call", after)))
    threads.clear()
    state["most"] = 0
    inv = scan_accounts(built.access, built.accounts, workers=3)
    assert inv.trails
    assert state["most"] <= 3
    # every call of every account ran on the one pool of the scan (none on a reader's own,
    # none in the calling thread)
    assert "MainThread" not in threads
    pools = {name for name in threads if name.startswith("trailkit")}
    assert pools == {"trailkit-org"}


def test_an_account_that_refuses_listtrails_is_one_error_row_naming_it(org: Org) -> None:
    original = org.access.connection
    broken: set[str] = set()

    def connection(account: str | Account) -> Connection:
        made = original(account)
        account_id = account.account_id if isinstance(account, Account) else account
        if account_id == org.prod and account_id not in broken:
            broken.add(account_id)
            fail_call(made, "cloudtrail", "ListTrails", code="AccessDeniedException")
        return made

    org.access.connection = connection  # type: ignore[method-assign]
    inv = scan_accounts(org.access, org.accounts)
    assert org.prod_trail not in {t.arn for t in inv.trails}
    assert org.org_trail in {t.arn for t in inv.trails}  # the other accounts are complete
    rows = {e.account: e for e in inv.errors}
    assert set(rows) == {org.prod, org.sandbox}
    assert rows[org.prod].operation == "ListTrails"
    assert rows[org.prod].permission == "cloudtrail:ListTrails"
    assert "--regions" in rows[org.prod].message


def test_the_callers_expired_credentials_stop_the_scan_once(org: Org) -> None:
    fail_call(org.conn, "cloudtrail", "ListTrails", code="ExpiredToken", status=403)
    with pytest.raises(ConnectionFailed):
        scan_accounts(org.access, org.accounts)


def test_expired_credentials_at_assume_role_stop_the_scan(clean_moto: str) -> None:
    built = _build(clean_moto)
    fail_call(built.conn, "sts", "AssumeRole", code="ExpiredToken", status=403)
    with pytest.raises(ConnectionFailed):
        scan_accounts(built.access, built.accounts)


def test_progress_counts_every_call_of_every_account(org: Org) -> None:
    seen: list[tuple[int, int]] = []
    inv = scan_accounts(org.access, org.accounts, progress=lambda d, t: seen.append((d, t)))
    done, total = seen[-1]
    assert done == total  # every task started was reported finished, the last one last
    # at least one report per API call of the accounts (AssumeRole included; a task answered
    # from a cache, e.g. the caller's identity, is counted too)
    assert total >= sum(inv.calls.values())
    assert [d for d, _t in seen] == list(range(1, done + 1))


# -- the health of an organization trail from its member statuses (pure) -------------------------

_ORG_TRAIL = Trail(
    name="org-trail",
    arn=f"arn:aws:cloudtrail:us-east-1:{MANAGEMENT}:trail/org-trail",
    home_region="us-east-1",
    account=MANAGEMENT,
    multi_region=True,
    organization=True,
    bucket_name="org-logs",
    s3_prefix=None,
    kms_key_id=None,
    log_file_validation=True,
    status=TrailStatus(is_logging=True),
)


@pytest.mark.parametrize(
    ("members", "codes", "kind"),
    [
        ({}, [], "sse-s3"),
        ({"111111111111": TrailStatus(is_logging=True)}, [], "sse-s3"),
        (
            {
                "111111111111": TrailStatus(is_logging=True, latest_delivery_error="AccessDenied"),
                "222222222222": TrailStatus(is_logging=True),
            },
            ["member-delivery-error"],
            "broken",
        ),
        (
            {"111111111111": TrailStatus(error="denied")},
            ["member-status-unreadable"],
            "sse-s3",
        ),
    ],
)
def test_member_statuses_make_at_most_one_line_each(
    members: dict[str, TrailStatus], codes: list[str], kind: str
) -> None:
    found = health(_ORG_TRAIL, None, MANAGEMENT, members=members)
    assert [r.code for r in found.reasons] == codes
    assert str(found.kind) == kind


def test_every_failing_member_is_named_in_the_one_line() -> None:
    members = {
        "111111111111": TrailStatus(latest_delivery_error="AccessDenied"),
        "222222222222": TrailStatus(latest_delivery_error="KMS.DisabledException"),
        "333333333333": TrailStatus(),
    }
    found = health(
        _ORG_TRAIL, None, MANAGEMENT, members=members, account_names={"111111111111": "prod"}
    )
    (reason,) = found.reasons
    assert "2 of 3 member accounts" in reason.message
    assert "prod (111111111111)" in reason.message
    assert "222222222222" in reason.message
    assert "333333333333" not in reason.message
    assert reason.fix


def test_the_runbook_scans_the_accounts_it_is_given(org: Org, tmp_path: Any) -> None:
    from trailkit.change.journal import Journal
    from trailkit.runbook import Runbook

    book = Runbook(org.conn, Journal(tmp_path / "j.jsonl"), access=org.access)
    inv = book.scan_accounts(org=True, exclude=(org.sandbox,))
    assert {a.account_id for a in inv.accounts} == {MANAGEMENT, org.prod, org.dev}
    assert not inv.errors
    assert {t.arn for t in inv.trails} == {org.org_trail, org.prod_trail}
    only = book.scan_accounts(accounts=(org.dev,))
    assert [a.account_id for a in only.accounts] == [org.dev]
    assert set(only.member_status[org.org_trail]) == {org.dev}


def test_a_key_of_another_account_of_the_scan_is_read_once_by_its_owner(org: Org) -> None:
    dev = org.access.connection(org.dev)
    dev.client("s3", "eu-west-1").create_bucket(
        Bucket="dev-logs", CreateBucketConfiguration={"LocationConstraint": "eu-west-1"}
    )
    dev_trail = dev.client("cloudtrail", "eu-west-1").create_trail(
        Name="dev-trail", S3BucketName="dev-logs", KmsKeyId=org.prod_key
    )["TrailARN"]
    org.conn.reset_counts()
    inv = scan_accounts(org.access, org.accounts)
    assert {t.arn for t in inv.trails} == {org.org_trail, org.prod_trail, dev_trail}
    key = inv.keys[org.prod_key]
    assert key.account == org.prod
    assert key.policy is not None  # read with its owner's rights, not "another account's key"
    assert key.policy_error is None
    # two trails in two accounts use it: described, its policy and rotation read once
    assert inv.calls["kms:DescribeKey"] == 1
    assert inv.calls["kms:GetKeyPolicy"] == 1
    assert inv.calls["kms:GetKeyRotationStatus"] == 1
    # without its owner in the scan, dev reads it itself (as one account would)
    alone = scan_accounts(org.access, [a for a in org.accounts if a.account_id == org.dev])
    assert alone.keys[org.prod_key].policy is None
