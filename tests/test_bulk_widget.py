"""The bulk update widget, headless on fakes (issue 13): every selected trail gets a result, the
counts add up, and the per-region key lists say which keys are ready.

Like ``test_widgets.py``: no moto and no AWS client; the runbook is
:class:`widget_fakes.FakeRunbook` on :class:`widget_fakes.FakeEstate`.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import replace
from functools import partial
from typing import Any

import botocore.client
import botocore.session
import pytest
from english import assert_japanese
from widget_fakes import (
    BUCKETKEY_KEY,
    GOOD,
    GOOD_USW2,
    NO_CLOUDTRAIL,
    UNREADABLE,
    FakeEstate,
    FakeRunbook,
)

from trailkit import i18n
from trailkit.errors import InputError, RefusedError, TrailkitError
from trailkit.records import ApplyResult, BucketInfo, Outcome, ScanError
from trailkit.ui.tables import ONE_LINE, WRAPPER_STYLE
from trailkit.ui.widgets import BulkUpdate
from trailkit.ui.widgets.bulk import plural


def _refuse_aws(*_args: Any, **_kwargs: Any) -> Any:
    raise AssertionError("a widget test tried to create or call an AWS client")


@pytest.fixture(autouse=True)
def no_aws(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    monkeypatch.setattr(botocore.session.Session, "create_client", _refuse_aws)
    monkeypatch.setattr(botocore.client.BaseClient, "_make_api_call", _refuse_aws)
    yield


@pytest.fixture
def estate() -> FakeEstate:
    return FakeEstate()


@pytest.fixture
def book(estate: FakeEstate) -> FakeRunbook:
    return FakeRunbook(estate)


def _bulk(book: FakeRunbook, estate: FakeEstate, **kw: Any) -> BulkUpdate:
    return BulkUpdate(
        estate.inventory().trails,
        keys=book.candidate_keys,
        rank=book.rank,
        plan=book.plan_many,
        apply=partial(book.apply_many, confirmed=True),
        **kw,
    )


THREE = ["org-trail", "tokyo-trail", "bucketkey-trail"]
KEYS = {"us-east-1": GOOD, "us-west-2": GOOD_USW2}


def test_plural() -> None:
    assert plural(1, "trail") == "1 trail"
    assert plural(2, "trail") == "2 trails"
    assert plural(0, "trail") == "0 trails"


def test_three_trails_one_blocked_every_trail_has_a_result_and_the_counts_add_up(
    estate: FakeEstate, book: FakeRunbook
) -> None:
    bulk = _bulk(book, estate)
    bulk.choose(THREE, KEYS)
    assert sorted(p.trail.name for p in bulk.ready) == ["org-trail", "tokyo-trail"]
    step = bulk.apply(True)
    assert step is not None
    assert not step.ok  # one trail was not changed: the step is not all good
    # the two sent plans, as before
    assert [r.outcome for r in bulk.results] == [Outcome.DONE, Outcome.DONE]
    # every selected trail with its outcome
    outcomes = {o.trail.name: o for o in bulk.outcomes}
    assert sorted(outcomes) == sorted(THREE)
    assert outcomes["org-trail"].status == "changed"
    assert outcomes["tokyo-trail"].status == "changed"
    assert outcomes["bucketkey-trail"].status == "blocked"
    assert "policy-bucket-key-decrypt" in outcomes["bucketkey-trail"].message
    html = bulk._w_results.value
    assert "2 of 3 trails changed, 1 blocked" in html
    assert "trail(s)" not in html
    assert "bucketkey-trail" in html and "policy-bucket-key-decrypt" in html
    assert html.count("<tr>") == 1 + 3  # the head and one row per trail
    assert estate.trail("bucketkey-trail").kms_key_id is None


def test_one_trail_changed_says_1_trail(estate: FakeEstate, book: FakeRunbook) -> None:
    bulk = _bulk(book, estate)
    bulk.choose(["org-trail"], {"us-east-1": GOOD})
    assert "1 trail selected" in bulk._w_status.value
    step = bulk.apply(True)
    assert step is not None and step.ok
    assert "1 of 1 trail changed." in bulk._w_results.value


def test_a_failed_apply_is_failed_and_a_trail_without_a_plan_is_not_sent(
    estate: FakeEstate, book: FakeRunbook
) -> None:
    def one_fails(plans: Any) -> list[ApplyResult]:
        first, *rest = plans
        return [
            ApplyResult(first, Outcome.FAILED, "AccessDenied (fake)."),
            *book.apply_many(rest, confirmed=True),
        ]

    bulk = BulkUpdate(
        estate.inventory().trails,
        keys=book.candidate_keys,
        plan=book.plan_many,
        apply=one_fails,
    )
    # no key for us-west-2: tokyo-trail gets no plan
    bulk.choose(["org-trail", "stale-key-trail", "tokyo-trail"], {"us-east-1": GOOD})
    bulk.apply(True)
    statuses = {o.trail.name: o.status for o in bulk.outcomes}
    assert statuses == {
        "org-trail": "failed",
        "stale-key-trail": "changed",
        "tokyo-trail": "not sent",
    }
    assert "1 of 3 trails changed, 1 not sent, 1 failed" in bulk._w_results.value
    assert "No key was chosen for us-west-2" in bulk._w_results.value
    assert "<code></code>" not in bulk._w_results.value  # nothing sent: no change id


def _without_bucket(estate: FakeEstate) -> None:
    """Two more trails: one whose bucket was deleted, one whose bucket's region is unreadable."""
    base = estate.trail("stale-key-trail")
    for name, bucket in [
        (
            "deleted-bucket-trail",
            BucketInfo("tk-deleted-logs", None, error="NoSuchBucket", missing=True),
        ),
        (
            "partner-bucket-trail",
            BucketInfo("tk-partner-logs", None, error="AccessDenied: s3:ListBucket"),
        ),
    ]:
        trail = replace(
            base,
            name=name,
            arn=base.arn.replace("stale-key-trail", name),
            bucket_name=bucket.name,
            bucket=bucket,
        )
        estate.trails[trail.arn] = trail


def test_a_trail_without_a_plan_says_the_real_reason_and_is_not_sent(
    estate: FakeEstate, book: FakeRunbook
) -> None:
    _without_bucket(estate)
    bulk = BulkUpdate(
        list(estate.trails.values()),
        keys=book.candidate_keys,
        plan=book.plan_many,
        apply=partial(book.apply_many, confirmed=True),
    )
    names = [*THREE, "deleted-bucket-trail", "partner-bucket-trail"]
    bulk.choose(names, KEYS)
    plans = bulk._w_table.value
    assert "the bucket region (unknown)" not in plans and "No key was chosen" not in plans
    assert "tk-deleted-logs does not exist" in plans
    assert "region of the bucket tk-partner-logs could not be read" in plans
    bulk.apply(True)
    statuses = {o.trail.name: o.status for o in bulk.outcomes}
    assert statuses["deleted-bucket-trail"] == statuses["partner-bucket-trail"] == "not sent"
    results = bulk._w_results.value
    assert "2 of 5 trails changed, 1 blocked, 2 not sent." in results
    assert "FAILED" not in results and "<code></code>" not in results


def test_bulk_tables_scroll_keep_cells_on_one_line_and_shorten_arns(
    estate: FakeEstate, book: FakeRunbook
) -> None:
    bulk = _bulk(book, estate)
    bulk.choose(THREE, KEYS)
    bulk.apply(True)
    for page in (bulk._w_table.value, bulk._w_results.value):
        assert page.count(f'style="{WRAPPER_STYLE}"') == 1
        cells = re.findall(r'<td style="([^"]*)">(.*?)</td>', page, re.S)
        names = [c for st, c in cells if "-trail<" in c]
        assert names and all(st == ONE_LINE for st, c in cells if c in names)
    plan_cells = re.findall(r"<td[^>]*>(.*?)</td>", bulk._w_table.value, re.S)
    good = estate.arn(GOOD)
    shown = f'<span title="{good}">key/{good.split("/")[-1][:8]}…</span>'
    assert any(shown in c for c in plan_cells)
    assert not any(f">{good}" in c or f"({good})" in c for c in plan_cells)


def test_the_key_lists_of_each_region_say_whether_each_key_is_ready(
    estate: FakeEstate, book: FakeRunbook
) -> None:
    bulk = _bulk(book, estate)
    bulk.choose(THREE, {})
    east = bulk.key_labels["us-east-1"]
    west = bulk.key_labels["us-west-2"]
    # ready keys first, as in notebook 02's key picker
    assert east[0].startswith(GOOD) and east[0].endswith("- ready")
    (no_ct,) = [label for label in east if label.startswith(NO_CLOUDTRAIL)]
    assert "- blocked: " in no_ct
    # a key ready for one trail of the region and blocked for another says for which
    (bucketkey,) = [label for label in west if label.startswith(BUCKETKEY_KEY)]
    assert bucketkey.endswith("- ready")
    (good_usw2,) = [label for label in west if label.startswith(GOOD_USW2 + " ")]
    assert "blocked: policy-bucket-key-decrypt" in good_usw2 and "bucketkey-trail" in good_usw2
    assert west.index(bucketkey) < west.index(good_usw2)
    # the chosen key's readiness is said under the list
    bulk.choose(THREE, KEYS)
    assert "policy-bucket-key-decrypt" in bulk._key_notes["us-west-2"].value
    assert "tk-badge-ready" in bulk._key_notes["us-east-1"].value


def test_deselecting_a_trail_ranks_its_region_again(estate: FakeEstate, book: FakeRunbook) -> None:
    bulk = _bulk(book, estate)
    bulk.choose(THREE, {})
    bulk.choose(["tokyo-trail"], {"us-west-2": GOOD_USW2})
    (good_usw2,) = [
        label for label in bulk.key_labels["us-west-2"] if label.startswith(GOOD_USW2 + " ")
    ]
    assert good_usw2.endswith("- ready")
    assert bulk.keys_by_region == {"us-west-2": estate.arn(GOOD_USW2)}


def test_a_trail_whose_keys_cannot_be_ranked_is_said_under_its_region(
    estate: FakeEstate, book: FakeRunbook
) -> None:
    def rank(trail: Any) -> Any:
        if trail.name == "bucketkey-trail":
            raise InputError("The bucket of bucketkey-trail could not be read (fake).", "")
        return book.rank(trail)

    bulk = BulkUpdate(
        estate.inventory().trails,
        rank=rank,
        plan=book.plan_many,
        apply=partial(book.apply_many, confirmed=True),
    )
    bulk.choose(THREE, {})
    # the other trail of the region is still ranked, and the error is shown there
    (good_usw2,) = [
        label for label in bulk.key_labels["us-west-2"] if label.startswith(GOOD_USW2 + " ")
    ]
    assert good_usw2.endswith("- ready")
    assert "could not be read (fake)" in bulk._key_notes["us-west-2"].value
    assert bulk._key_notes["us-east-1"].value == ""


@pytest.mark.parametrize("blank", ["", "  "])
def test_a_blank_key_for_a_region_is_refused_naming_keys_by_region(
    estate: FakeEstate, book: FakeRunbook, blank: str
) -> None:
    bulk = _bulk(book, estate)
    with pytest.raises(InputError, match=r"keys_by_region\['us-west-2'\]") as caught:
        bulk.choose(THREE, {"us-east-1": GOOD, "us-west-2": blank})
    assert "never turn encryption off" in caught.value.fix
    assert not book.called("plan_many") and not book.called("apply_many")


def test_unverifiable_plans_need_their_own_acknowledgement(
    estate: FakeEstate, book: FakeRunbook
) -> None:
    """As the command line's --accept-unverifiable: a box naming the checks that could not be
    verified must be ticked as well as the confirmation; headless, accept_unverifiable=True."""
    bulk = _bulk(book, estate)
    bulk.choose(["org-trail", "tokyo-trail"], {"us-east-1": UNREADABLE, "us-west-2": GOOD_USW2})
    assert sorted(p.trail.name for p in bulk.ready) == ["org-trail", "tokyo-trail"]
    assert bulk.unverified == ["org-trail: policy-unverifiable"]
    assert bulk._w_accept.layout.display == "flex"
    assert bulk._w_accept.description.startswith(
        "1 check could not be verified (org-trail: policy-unverifiable): "
    )
    bulk._w_confirm.value = True
    assert not bulk.can_apply and bulk._w_apply.disabled
    bulk._w_apply.click()
    assert bulk.results == [] and estate.trail("tokyo-trail").kms_key_id is None
    with pytest.raises(RefusedError, match=r"1 check of the plans could not be verified"):
        bulk.apply(True)
    assert bulk.results == [] and estate.trail("tokyo-trail").kms_key_id is None

    bulk._w_accept.value = True
    assert bulk.can_apply
    step = bulk.apply(True, accept_unverifiable=True)
    assert step is not None and [r.outcome for r in bulk.results] == [Outcome.DONE] * 2


def test_ready_plans_show_no_acknowledgement(estate: FakeEstate, book: FakeRunbook) -> None:
    bulk = _bulk(book, estate)
    bulk.choose(["org-trail"], {"us-east-1": GOOD})
    assert bulk.unverified == [] and bulk._w_accept.layout.display == "none"
    bulk._w_confirm.value = True
    assert bulk.can_apply


def test_a_blank_region_name_is_refused(estate: FakeEstate, book: FakeRunbook) -> None:
    """Found by a break-it pass: ``{"": "alias/..."}`` planned nothing and exited 0."""
    bulk = _bulk(book, estate)
    with pytest.raises(InputError, match="keys_by_region has a region named ''"):
        bulk.choose(THREE, {"": GOOD})
    assert not book.called("plan_many")


SANDBOX = "666677778888"
SANDBOX_TRAIL = f"arn:aws:cloudtrail:us-west-2:{SANDBOX}:trail/sandbox-trail"
SANDBOX_ROLE = f"arn:aws:iam::{SANDBOX}:role/OrganizationAccountAccessRole"
#: The inventory's one error row of an account whose role could not be assumed.
ASSUME_FAILED = ScanError(
    operation="AssumeRole",
    code="AccessDenied",
    message="The role OrganizationAccountAccessRole cannot be assumed (fake).",
    permission="sts:AssumeRole",
    resource=SANDBOX_ROLE,
    account=SANDBOX,
)


def test_a_trail_of_an_unread_account_is_an_error_row_and_the_others_are_planned(
    estate: FakeEstate, book: FakeRunbook
) -> None:
    """README (Notebooks): a trail whose account's role cannot be assumed is an error row and
    nothing is sent for it; the other trails named are planned (found by the second break-it
    pass: the whole choice was refused as "Not among the trails offered")."""
    bulk = _bulk(book, estate, errors=[ASSUME_FAILED])
    step = bulk.choose(["org-trail", SANDBOX_TRAIL], {"us-east-1": GOOD})
    assert step is not None and not step.ok  # one trail has no plan
    assert [t.name for t, __ in bulk.rows] == ["org-trail", "sandbox-trail"]
    assert [p.trail.name for p in bulk.ready] == ["org-trail"]
    (row,) = [item for t, item in bulk.rows if t.arn == SANDBOX_TRAIL]
    assert isinstance(row, TrailkitError)
    assert SANDBOX in str(row) and "AssumeRole" in str(row) and "(fake)" in str(row)
    assert "Nothing was planned" not in step.html and "Not among" not in step.html
    assert "sandbox-trail" in step.html and SANDBOX in step.html
    # only the readable account's trail was planned; nothing is sent for the error row
    assert [names for names, __ in book.called("plan_many")] == [["org-trail"]]
    bulk.apply(True)
    assert [r.plan.trail.name for r in bulk.results] == ["org-trail"]
    statuses = {o.trail.name: o.status for o in bulk.outcomes}
    assert statuses == {"org-trail": "changed", "sandbox-trail": "not sent"}


def test_a_trail_of_an_unread_account_alone_is_its_error_row_and_nothing_is_planned(
    estate: FakeEstate, book: FakeRunbook
) -> None:
    bulk = _bulk(book, estate, errors=[ASSUME_FAILED])
    step = bulk.choose([SANDBOX_TRAIL], {"us-east-1": GOOD})
    assert step is not None and not step.ok
    assert [t.arn for t, __ in bulk.rows] == [SANDBOX_TRAIL]
    assert not book.called("plan_many") and bulk.ready == []


def test_an_unknown_trail_is_still_refused_whatever_the_errors_of_other_accounts(
    estate: FakeEstate, book: FakeRunbook
) -> None:
    """Only a trail ARN of an account the inventory could not read is an error row: a name, or
    the ARN of a trail in an account that was read, is unknown and nothing is planned."""
    other = ScanError(
        operation="ListTrails", code="AccessDenied", message="no.", region="eu-west-1"
    )
    bulk = _bulk(book, estate, errors=[ASSUME_FAILED, other])
    typo = f"arn:aws:cloudtrail:us-east-1:{SANDBOX[:-1]}9:trail/x"
    for names in (["org-trail", "sandbox-trail"], ["org-trail", typo]):
        step = bulk.choose(names, {"us-east-1": GOOD})
        assert step is not None and not step.ok
        assert "Not among the trails offered" in step.html and "Nothing was planned" in step.html
        assert bulk.rows == [] and not book.called("plan_many")


def test_errors_must_be_scan_errors(estate: FakeEstate, book: FakeRunbook) -> None:
    with pytest.raises(InputError, match="errors must be the inventory's errors, not str"):
        _bulk(book, estate, errors="AssumeRole failed")


def test_the_error_row_of_an_unread_account_in_japanese(
    estate: FakeEstate, book: FakeRunbook
) -> None:
    i18n.set_language("ja")
    try:
        bulk = _bulk(book, estate, errors=[replace(ASSUME_FAILED, message="拒否されました。")])
        bulk.choose([SANDBOX_TRAIL], {"us-east-1": GOOD})
        (row,) = [item for __, item in bulk.rows]
        assert isinstance(row, TrailkitError)
        text = f"{row}\n{row.fix}"
    finally:
        i18n.set_language(None)
    assert SANDBOX in text
    assert_japanese(text, ["sandbox-trail", SANDBOX, "AssumeRole", "role_name", "external_id"])
