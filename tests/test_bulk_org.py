"""The bulk update across accounts (issue 16, notebook 04 with ``org`` / ``accounts``), headless.

The key is chosen per account and bucket region: a member's trails get their own key lists
(read in that account), each account's trails are planned with that account's keys, the plan
and result tables say each trail's account, and a trail whose account's role cannot be assumed
is that trail's error row, with nothing sent for it.

No moto and no AWS client: :class:`FakeOrg` is three reachable accounts and one whose role is
refused, each with its own trails and keys, judged by the pure rules (as
:mod:`widget_fakes` does for one account). The notebook itself runs on the demo organization in
``tests/test_notebooks.py``.
"""

from __future__ import annotations

import html
import json
import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import replace
from functools import partial
from typing import Any

import botocore.client
import botocore.session
import pytest
from english import assert_japanese
from widget_fakes import ACCOUNT, GOOD, FakeEstate, make_key

from trailkit import i18n
from trailkit.demo.estate import cloudtrail_bucket_policy, cloudtrail_key_policy
from trailkit.errors import AssumeRoleFailed, InputError, TrailkitError
from trailkit.records import (
    ApplyResult,
    BucketInfo,
    KeyInfo,
    Outcome,
    Trail,
    TrailStatus,
)
from trailkit.rules.checks import KeyLookup, Verdict, preflight, rank_candidates
from trailkit.rules.keyids import parse_key_id
from trailkit.rules.plan import Plan, bucket_region_key, plan_change
from trailkit.ui.widgets import BulkUpdate

PROD = "333344445555"
DEV = "555566667777"
SANDBOX = "666677778888"
NAMES = {ACCOUNT: "management", PROD: "workload-prod", DEV: "workload-dev", SANDBOX: "sandbox"}
PROD_KEY = "alias/prod-logs"
DEV_KEY = "alias/dev-logs"
ROLE = "arn:aws:iam::{account}:role/OrganizationAccountAccessRole"


def _refuse_aws(*_args: Any, **_kwargs: Any) -> Any:
    raise AssertionError("a widget test tried to create or call an AWS client")


@pytest.fixture(autouse=True)
def no_aws(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    monkeypatch.setattr(botocore.session.Session, "create_client", _refuse_aws)
    monkeypatch.setattr(botocore.client.BaseClient, "_make_api_call", _refuse_aws)
    yield


def member_trail(name: str, account: str, bucket_region: str, home: str = "us-east-1") -> Trail:
    """A member account's own trail writing to a bucket of its own."""
    arn = f"arn:aws:cloudtrail:{home}:{account}:trail/{name}"
    bucket = f"tk-{name}-logs-{account}"
    policy = cloudtrail_bucket_policy(bucket, account, arn)
    return Trail(
        name=name,
        arn=arn,
        home_region=home,
        account=account,
        multi_region=False,
        organization=False,
        bucket_name=bucket,
        s3_prefix=None,
        kms_key_id=None,
        log_file_validation=True,
        seen_in=(home,),
        status=TrailStatus(is_logging=True),
        bucket=BucketInfo(
            name=bucket,
            region=bucket_region,
            default_encryption="AES256",
            policy=json.dumps(policy),
        ),
    )


def _refused(account: str) -> AssumeRoleFailed:
    return AssumeRoleFailed(
        f"The role {ROLE.format(account=account)} cannot be assumed in account {account}: "
        "AccessDenied (fake).",
        "add the caller to the role's trust policy",
        account=account,
        role_arn=ROLE.format(account=account),
        operation="AssumeRole",
        code="AccessDenied",
    )


class FakeOrg:
    """The management account of :class:`FakeEstate` and three member accounts.

    workload-prod and workload-dev have a trail each whose bucket is in us-east-1 (the same
    region as the management account's org-trail) and a key of their own there; sandbox's role
    is refused (its trail was read before, the role refuses now). Every call is recorded in
    :attr:`calls`; ``apply_many`` changes :attr:`trails`.
    """

    def __init__(self) -> None:
        self.estate = FakeEstate()
        self.keys: list[KeyInfo] = [k for k in self.estate.keys.values() if k.account == ACCOUNT]
        for account, alias in ((PROD, PROD_KEY), (DEV, DEV_KEY)):
            self.keys.append(
                make_key(
                    alias,
                    policy=cloudtrail_key_policy(account, region="us-east-1"),
                    account=account,
                )
            )
        members = [
            member_trail("prod-trail", PROD, "us-east-1"),
            member_trail("dev-trail", DEV, "us-east-1"),
            member_trail("sandbox-trail", SANDBOX, "us-west-2", home="us-west-2"),
        ]
        self.trails: dict[str, Trail] = {**self.estate.trails, **{t.arn: t for t in members}}
        self.calls: list[tuple[Any, ...]] = []
        self.refused = {SANDBOX}

    def trail(self, name: str, account: str = ACCOUNT) -> Trail:
        (found,) = [t for t in self.trails.values() if t.name == name and t.account == account]
        return found

    def key(self, alias: str) -> KeyInfo:
        (found,) = [k for k in self.keys if alias in k.aliases]
        return found

    def _reach(self, account: str) -> None:
        if account in self.refused:
            raise _refused(account)

    # -- what notebook.bulk_update gives the widget, per account ---------------------------
    def candidate_keys(self, region: str, account: str | None = None) -> tuple[KeyInfo, ...]:
        account = account or ACCOUNT
        self.calls.append(("keys", region, account))
        self._reach(account)
        return tuple(k for k in self.keys if k.region == region and k.account == account)

    def rank(self, trail: Trail) -> list[Verdict]:
        self.calls.append(("rank", trail.arn))
        self._reach(trail.account)
        keys = self.candidate_keys(str(trail.bucket_region), trail.account)
        return rank_candidates(trail, keys, trail.account)

    def _lookup(self, text: str, trail: Trail) -> KeyLookup:
        ref = parse_key_id(text)
        account, region = (
            (str(ref.account), str(ref.region))
            if ref.is_arn
            else (trail.account, trail.home_region)
        )
        for key in self.keys:
            if (
                key.account == account
                and key.region == region
                and (text.strip() in (key.arn, key.key_id) or ref.alias in key.aliases)
            ):
                return KeyLookup(ref=ref, key=key, resolved_in=(account, region))
        return KeyLookup(
            ref=ref,
            problem="not-found",
            message="NotFoundException (fake).",
            resolved_in=(account, region),
        )

    def plan_many(self, trails: Sequence[Trail], keys_by_region: Mapping[str, str]) -> list[Any]:
        """As ``Runbook.plan_many``: each trail read in its account (a refused role: the
        trail's error), planned with the key of its bucket region."""
        self.calls.append(("plan_many", tuple(t.arn for t in trails), dict(keys_by_region)))
        rows: list[Any] = []
        for given in trails:
            try:
                self._reach(given.account)
                trail = self.trails[given.arn]
                key = bucket_region_key(trail, keys_by_region)
            except TrailkitError as err:
                rows.append((given, err))
                continue
            report = preflight(
                trail=trail,
                trail_input=trail.arn,
                key_input=key,
                lookup=self._lookup(key, trail),
                caller_account=trail.account,
            )
            rows.append((trail, plan_change(report)))
        return rows

    def apply_many(self, plans: Sequence[Plan], *, confirmed: bool) -> list[ApplyResult]:
        self.calls.append(("apply_many", tuple(p.trail.arn for p in plans), confirmed))
        results = []
        for i, plan in enumerate(plans):
            trail = self.trails[plan.trail.arn]
            self.trails[trail.arn] = replace(trail, kms_key_id=plan.after_key)
            results.append(
                ApplyResult(
                    plan,
                    Outcome.DONE,
                    f"{trail.name} changed (fake).",
                    change_id=f"chg-{i}",
                    key_after=plan.after_key,
                    verified=True,
                )
            )
        return results

    def called(self, name: str) -> list[tuple[Any, ...]]:
        return [c[1:] for c in self.calls if c[0] == name]


@pytest.fixture
def org() -> FakeOrg:
    return FakeOrg()


def _bulk(org: FakeOrg, *, rank: bool = True, **kw: Any) -> BulkUpdate:
    return BulkUpdate(
        list(org.trails.values()),
        keys=org.candidate_keys,
        rank=org.rank if rank else None,
        plan=org.plan_many,
        apply=partial(org.apply_many, confirmed=True),
        account_names=NAMES,
        account_roles={a: None if a == ACCOUNT else ROLE.format(account=a) for a in NAMES},
        **kw,
    )


THREE = [
    "org-trail",
    f"arn:aws:cloudtrail:us-east-1:{PROD}:trail/prod-trail",
    f"arn:aws:cloudtrail:us-east-1:{DEV}:trail/dev-trail",
]


def _text(page: str) -> str:
    page = re.sub(r"<style>.*?</style>", " ", page, flags=re.S)
    page = re.sub(r"<(?:br|/div|/li|/tr|/p)[^>]*>", "\n", page)
    return html.unescape(re.sub(r"<[^>]+>", " ", page))


def test_three_accounts_same_bucket_region_get_a_key_list_each_from_their_account(
    org: FakeOrg,
) -> None:
    bulk = _bulk(org, rank=False)
    assert bulk.by_account  # the trails are of several accounts
    bulk.choose(THREE, {})
    groups = sorted(bulk.key_labels)
    assert groups == [f"{ACCOUNT}/us-east-1", f"{PROD}/us-east-1", f"{DEV}/us-east-1"]
    # each account's list holds that account's keys only, read in that account
    assert sorted(org.called("keys")) == sorted(
        [("us-east-1", ACCOUNT), ("us-east-1", PROD), ("us-east-1", DEV)]
    )
    prod = bulk.key_labels[f"{PROD}/us-east-1"]
    assert [label.split(" (")[0] for label in prod] == [PROD_KEY]
    assert not any(label.startswith(PROD_KEY) for label in bulk.key_labels[f"{ACCOUNT}/us-east-1"])
    descriptions = [box.children[0].description for box in bulk._w_keys.children]
    assert "workload-prod (333344445555) · us-east-1" in descriptions
    assert "3 trails selected, of management (123456789012), workload-prod" in bulk._w_status.value


def test_each_account_is_planned_with_its_own_key_and_every_row_says_its_account(
    org: FakeOrg,
) -> None:
    bulk = _bulk(org)
    step = bulk.choose(
        THREE,
        {
            "us-east-1": GOOD,  # the management account's: no entry of its own
            f"{PROD}/us-east-1": org.key(PROD_KEY).arn,
            "workload-dev/us-east-1": DEV_KEY,  # by the account's name, an alias of that account
        },
    )
    assert step is not None and step.ok
    # one plan call per account, each with that account's key for the region
    calls = {trails[0].split(":")[4]: keys for trails, keys in org.called("plan_many")}
    assert calls == {
        ACCOUNT: {"us-east-1": org.key(GOOD).arn},
        PROD: {"us-east-1": org.key(PROD_KEY).arn},
        DEV: {"us-east-1": org.key(DEV_KEY).arn},
    }
    assert [p.after_key for p in bulk.ready] == [
        org.key(GOOD).arn,
        org.key(PROD_KEY).arn,
        org.key(DEV_KEY).arn,
    ]
    table = bulk._w_table.value
    assert ">account</th>" in table
    for name in ("management (123456789012)", "workload-prod (333344445555)", "workload-dev"):
        assert name in table
    rows = re.findall(r"<tr>(.*?)</tr>", table, re.S)[1:]
    assert ["prod-trail" in r and "workload-prod" in r for r in rows] == [False, True, False]
    # the role each member is changed through; the caller's own account is used directly
    roles = ["through the role OrganizationAccountAccessRole" in r for r in rows]
    assert roles == [False, True, True]
    assert f'title="{ROLE.format(account=PROD)}"' in rows[1]
    step = bulk.apply(True)
    assert step is not None and step.ok
    assert org.trail("prod-trail", PROD).kms_key_id == org.key(PROD_KEY).arn
    assert org.trail("dev-trail", DEV).kms_key_id == org.key(DEV_KEY).arn
    results = bulk._w_results.value
    assert "3 of 3 trails changed." in results
    assert "workload-dev (555566667777)" in results and ">account</th>" in results


def test_a_bare_region_is_the_key_of_every_account_without_an_entry_of_its_own(
    org: FakeOrg,
) -> None:
    bulk = _bulk(org)
    bulk.choose(THREE[1:], {"us-east-1": PROD_KEY, f"{DEV}/us-east-1": DEV_KEY})
    assert bulk.keys_by_group == {
        (PROD, "us-east-1"): org.key(PROD_KEY).arn,
        (DEV, "us-east-1"): org.key(DEV_KEY).arn,
    }


def test_a_trail_whose_role_is_refused_is_its_error_row_and_nothing_is_sent_for_it(
    org: FakeOrg,
) -> None:
    bulk = _bulk(org)
    sandbox = f"arn:aws:cloudtrail:us-west-2:{SANDBOX}:trail/sandbox-trail"
    bulk.choose([THREE[1], sandbox], {f"{PROD}/us-east-1": PROD_KEY, "us-west-2": "alias/any"})
    # its key list could not be read: the reason is said under it
    note = bulk._key_notes[f"{SANDBOX}/us-west-2"].value
    assert "cannot be assumed in account 666677778888" in note
    rows = dict((t.name, item) for t, item in bulk.rows)
    assert isinstance(rows["prod-trail"], Plan)
    assert isinstance(rows["sandbox-trail"], AssumeRoleFailed)
    assert "sandbox (666677778888)" in bulk._w_table.value
    bulk.apply(True)
    ((sent, _confirmed),) = org.called("apply_many")
    assert sent == (f"arn:aws:cloudtrail:us-east-1:{PROD}:trail/prod-trail",)
    outcomes = {o.trail.name: o for o in bulk.outcomes}
    assert outcomes["prod-trail"].status == "changed"
    assert outcomes["sandbox-trail"].status == "not sent"
    assert "666677778888" in outcomes["sandbox-trail"].message
    assert "1 of 2 trails changed, 1 not sent." in bulk._w_results.value


def test_a_plan_call_that_fails_for_one_account_is_the_row_of_each_of_its_trails(
    org: FakeOrg,
) -> None:
    def plan(trails: Sequence[Trail], keys: Mapping[str, str]) -> list[Any]:
        if trails[0].account == DEV:
            raise _refused(DEV)
        return org.plan_many(trails, keys)

    bulk = BulkUpdate(
        list(org.trails.values()),
        rank=org.rank,
        plan=plan,
        apply=partial(org.apply_many, confirmed=True),
        account_names=NAMES,
    )
    bulk.choose(THREE, {"us-east-1": GOOD, f"{PROD}/us-east-1": PROD_KEY})
    kinds = [(t.name, type(item).__name__) for t, item in bulk.rows]
    assert kinds == [
        ("org-trail", "Plan"),
        ("prod-trail", "Plan"),
        ("dev-trail", "AssumeRoleFailed"),
    ]
    bulk.apply(True)
    assert org.trail("dev-trail", DEV).kms_key_id is None
    assert {o.trail.name: o.status for o in bulk.outcomes}["dev-trail"] == "not sent"


def test_a_name_in_several_accounts_is_refused_and_its_arn_is_taken(org: FakeOrg) -> None:
    twin = replace(
        org.trail("prod-trail", PROD),
        arn=f"arn:aws:cloudtrail:us-east-1:{DEV}:trail/prod-trail",
        account=DEV,
    )
    org.trails[twin.arn] = twin
    bulk = _bulk(org)
    step = bulk.choose(["prod-trail"], {"us-east-1": PROD_KEY})
    assert step is not None and not step.ok
    assert "More than one trail offered has the name prod-trail" in bulk._w_table.value
    assert not org.called("plan_many") and bulk.ready == []
    step = bulk.choose([twin.arn], {f"{DEV}/us-east-1": DEV_KEY})
    assert [t.arn for t, __ in bulk.rows] == [twin.arn]


@pytest.mark.parametrize(
    ("entry", "says"),
    [
        ("workload-qa/us-east-1", "'workload-qa' is not the id of an account"),
        (f"{PROD}/", "keys_by_region has a region named"),
        ("12345/us-east-1", "'12345' is not the id of an account"),
    ],
)
def test_an_account_entry_that_names_no_account_is_refused(
    org: FakeOrg, entry: str, says: str
) -> None:
    bulk = _bulk(org)
    with pytest.raises(InputError, match=re.escape(says)):
        bulk.choose(THREE, {entry: PROD_KEY})
    assert not org.called("plan_many") and not org.called("apply_many")


def test_one_accounts_trails_keep_the_key_per_region(org: FakeOrg) -> None:
    """An inventory of the caller's account only: no account column, one key per region (as
    before issue 16); an ``ACCOUNT/REGION`` entry of that account is taken too."""
    bulk = BulkUpdate(
        list(org.estate.trails.values()),
        rank=org.rank,
        plan=org.plan_many,
        apply=partial(org.apply_many, confirmed=True),
    )
    assert not bulk.by_account
    bulk.choose(["org-trail", "stale-key-trail"], {f"{ACCOUNT}/us-east-1": GOOD})
    assert list(bulk.keys_by_region) == ["us-east-1"]
    assert ">account</th>" not in bulk._w_table.value
    assert len(org.called("plan_many")) == 1
    assert [p.after_key for p in bulk.ready] == [org.key(GOOD).arn] * 2


@pytest.fixture
def ja() -> Iterator[None]:
    i18n.set_language("ja")
    yield
    i18n.set_language(None)


def test_across_accounts_in_japanese(org: FakeOrg, ja: None) -> None:
    bulk = _bulk(org)
    sandbox = f"arn:aws:cloudtrail:us-west-2:{SANDBOX}:trail/sandbox-trail"
    bulk.choose([*THREE, sandbox], {"us-east-1": GOOD, f"{PROD}/us-east-1": PROD_KEY})
    names = [*NAMES.values(), "org-trail", "prod-trail", "dev-trail", "sandbox-trail"]
    names += [GOOD, PROD_KEY, DEV_KEY, "AccessDenied", "(fake)"]
    status = _text(bulk._w_status.value)
    assert "アカウント" in status or "証跡" in status
    assert_japanese(status, names, what="bulk update's status")
    head = re.search(r"<thead>.*?</thead>", bulk._w_table.value, re.S)
    assert head is not None
    assert_japanese(_text(head.group(0)), names, what="bulk plan table's head")
    roles = re.findall(r'class="tk-bulk-role"[^>]*>(.*?)</small>', bulk._w_table.value)
    assert len(roles) == 3 and all("ロール" in r for r in roles)  # prod, dev, sandbox
    said = "\n".join(html.unescape(r) for r in roles)
    assert_japanese(said, [*names, "OrganizationAccountAccessRole"], what="the role acted through")
    with pytest.raises(InputError) as caught:
        bulk.choose(THREE, {"workload-qa/us-east-1": GOOD})
    assert_japanese(f"{caught.value.message}\n{caught.value.fix}", names, what="entry error")


def test_a_plan_that_leaves_a_trail_out_gives_it_a_row_saying_nothing_is_sent(
    org: FakeOrg,
) -> None:
    def plan(trails: Sequence[Trail], keys: Mapping[str, str]) -> list[Any]:
        return org.plan_many([t for t in trails if t.name != "dev-trail"], keys)

    bulk = BulkUpdate(
        list(org.trails.values()),
        rank=org.rank,
        plan=plan,
        apply=partial(org.apply_many, confirmed=True),
    )
    bulk.choose(THREE, {"us-east-1": GOOD, f"{PROD}/us-east-1": PROD_KEY})
    (dev,) = [item for t, item in bulk.rows if t.name == "dev-trail"]
    assert isinstance(dev, TrailkitError) and "nothing will be sent" in str(dev)
    assert [t.name for t, __ in bulk.rows] == ["org-trail", "prod-trail", "dev-trail"]


# -- the notebook glue: notebook.bulk_update ------------------------------------------------


def _runbook(tmp_path: Any) -> Any:
    from trailkit.aws.session import Connection
    from trailkit.change.journal import Journal
    from trailkit.runbook import Runbook

    conn = Connection(endpoint_url="http://127.0.0.1:9", region="us-east-1")
    return Runbook(conn, Journal(tmp_path / "journal.jsonl"))


def _org_inventory(org: FakeOrg) -> Any:
    from trailkit.records.org import Account

    accounts = tuple(
        Account(a, NAMES[a], "ACTIVE", None if a == ACCOUNT else ROLE.format(account=a))
        for a in NAMES
    )
    return replace(org.estate.inventory(), trails=tuple(org.trails.values()), accounts=accounts)


def test_the_glue_chooses_by_account_for_an_inventory_of_several_accounts(
    org: FakeOrg, tmp_path: Any
) -> None:
    from trailkit.ui import notebook

    book = _runbook(tmp_path)
    bulk = notebook.bulk_update(book, inventory=_org_inventory(org))
    assert bulk.by_account and bulk.account_label(PROD) == "workload-prod (333344445555)"
    one = notebook.bulk_update(book, inventory=org.estate.inventory())
    assert not one.by_account  # the caller's account only: one key per region, as before


@pytest.mark.parametrize("given", ["journal", "role_name", "reader_accounts", "external_id"])
def test_the_glue_refuses_a_runbook_with_settings_of_its_own(
    org: FakeOrg, tmp_path: Any, given: str
) -> None:
    from trailkit.ui import notebook

    book = _runbook(tmp_path)
    value = book.journal if given == "journal" else "x" * 12
    with pytest.raises(InputError, match=f"{given}: a runbook was given"):
        notebook.bulk_update(book, inventory=org.estate.inventory(), **{given: value})


def test_a_members_keys_are_listed_in_that_account(
    org: FakeOrg, tmp_path: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from trailkit.ui import notebook

    book = _runbook(tmp_path)
    asked: list[str] = []

    class Member:
        def candidate_keys(self, region: str) -> tuple[KeyInfo, ...]:
            return org.candidate_keys(region, PROD)

    def in_account(account: str) -> Member:
        asked.append(account)
        return Member()

    monkeypatch.setattr(book, "in_account", in_account)
    monkeypatch.setattr(book, "candidate_keys", partial(org.candidate_keys, account=ACCOUNT))
    assert notebook._account_keys(book, "us-east-1", PROD) == (org.key(PROD_KEY),)
    assert asked == [PROD]
    own = notebook._account_keys(book, "us-east-1")
    assert org.key(GOOD) in own and asked == [PROD]
