"""The notebook widgets, headless and without AWS: set ``_w_...`` values, click, assert on domain
results and HTML.

No moto server and no AWS client: trails, buckets and keys are records built by hand
(``widget_fakes``, mirroring the demo estate), reports and plans come from the pure rules, and
the actions are fakes (:class:`widget_fakes.FakeRunbook` implements the widgets' ``GuidedRunbook``
port and records its calls; :class:`widget_fakes.FakeJournal` is a ``JournalSource`` in memory).
The autouse guard below fails a test that creates an AWS client, asks for a moto fixture, or
imports the AWS or change layers. The same flows against the real runbook and the demo estate are
in ``test_notebook_glue.py``.
"""

from __future__ import annotations

import dataclasses
import json
import re
import sys
from collections.abc import Iterator
from functools import partial
from typing import Any

import botocore.client
import botocore.session
import pytest
from widget_fakes import (
    BUCKETKEY_KEY,
    DENY,
    GOOD,
    GOOD_USW2,
    INFO,
    NO_CLOUDTRAIL,
    SHARED,
    UNREADABLE,
    FakeEstate,
    FakeRunbook,
    make_key,
)

from trailkit.errors import (
    InputError,
    JournalError,
    RefusedError,
    TrailkitError,
    UnverifiableError,
)
from trailkit.records import ApplyResult, Kind, Outcome, PolicyResult
from trailkit.rules.checks import VerdictKind
from trailkit.rules.plan import Plan
from trailkit.ui.widgets import (
    BulkUpdate,
    ChangePanel,
    Checklist,
    ConnectionBanner,
    GuidedUpdate,
    JournalView,
    KeyPicker,
    PolicyPanel,
    TrailPicker,
    TrailsTable,
)
from trailkit.ui.widgets._common import error_html
from trailkit.ui.widgets._ports import GuidedRunbook
from trailkit.ui.widgets.checklist import checklist_html
from trailkit.ui.widgets.keys import DISABLE

# -- the guard: no moto server, no AWS -----------------------------------------------------------

_MOTO_FIXTURES = {"moto_endpoint", "clean_moto", "conn", "demo", "demo_rw", "demo_conn"}
_FORBIDDEN_MODULES = (
    "moto",
    "boto3.resources",
    "trailkit.aws",
    "trailkit.change",
    "trailkit.runbook",
)


def _refuse_aws(*_args: Any, **_kwargs: Any) -> Any:
    raise AssertionError("a widget test tried to create or call an AWS client")


@pytest.fixture(autouse=True)
def no_aws(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Fail the test if it uses a moto fixture, creates or calls a boto client, or imports the
    AWS, change or runbook layers (or moto) while it runs."""
    assert not _MOTO_FIXTURES & set(request.fixturenames), "widget tests use no moto fixture"
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    monkeypatch.setattr(botocore.session.Session, "create_client", _refuse_aws)
    monkeypatch.setattr(botocore.client.BaseClient, "_make_api_call", _refuse_aws)
    before = set(sys.modules)
    yield
    imported = sorted(
        m for m in set(sys.modules) - before if m.startswith(_FORBIDDEN_MODULES) or m == "moto"
    )
    assert not imported, f"a widget test imported {imported}"


def test_the_guard_refuses_aws_clients() -> None:
    import boto3

    with pytest.raises(AssertionError, match="AWS client"):
        boto3.client("sts", region_name="us-east-1")


def test_the_fake_runbook_satisfies_the_port() -> None:
    book: GuidedRunbook = FakeRunbook()  # type-checked against the Protocol
    for name in (
        "journal",
        "regions",
        "info",
        "refresh",
        "list_trails",
        "find_trail",
        "reread",
        "rank",
        "check",
        "plan",
        "repair_for",
        "apply",
        "rollback",
        "apply_repair",
        "verify",
        "undoable",
    ):
        assert hasattr(book, name)
    assert book.info() is INFO


# -- fixtures and helpers ------------------------------------------------------------------------


@pytest.fixture
def estate() -> FakeEstate:
    return FakeEstate()


@pytest.fixture
def book(estate: FakeEstate) -> FakeRunbook:
    return FakeRunbook(estate)


class Recorder:
    """Fake apply/rollback actions that record their calls."""

    def __init__(self) -> None:
        self.applied: list[Plan] = []
        self.rolled_back: list[str] = []

    def apply(self, plan: Plan) -> ApplyResult:
        self.applied.append(plan)
        return ApplyResult(
            plan,
            Outcome.DONE,
            "applied (fake)",
            change_id="chg-fake-1",
            key_after=plan.after_key,
            verified=True,
        )

    def rollback(self, change_id: str) -> ApplyResult:
        self.rolled_back.append(change_id)
        plan = self.applied[-1]
        back = dataclasses.replace(plan, before_key=plan.after_key, after_key=plan.before_key)
        return ApplyResult(
            back,
            Outcome.DONE,
            "rolled back (fake)",
            change_id="chg-fake-2",
            key_after=plan.before_key,
            verified=True,
        )


# -- ConnectionBanner --------------------------------------------------------------------------


def test_banner_is_blue_on_the_demo_and_red_on_real_aws() -> None:
    info = INFO
    demo = ConnectionBanner(info)
    assert demo.value is info
    assert "tk-banner-demo" in demo._w_html._dom_classes
    assert "DEMO backend" in demo._w_html.value and "#1565c0" in demo._w_html.value
    real = ConnectionBanner(dataclasses.replace(info, demo=False))
    assert "tk-banner-aws" in real._w_html._dom_classes
    assert "REAL AWS" in real._w_html.value and "#b71c1c" in real._w_html.value


# -- TrailsTable and TrailPicker ----------------------------------------------------------------


def test_trails_table_filters_by_region_and_encryption(estate: FakeEstate) -> None:
    table = TrailsTable(estate.inventory())
    names = [t.name for t in table.value]
    assert sorted(names) == sorted(set(names))  # each trail once
    assert {"org-trail", "app-trail", "tokyo-trail"} <= set(names)
    html = table._w_table.value
    assert html.count(">org-trail<") == 1
    assert "#e8f5e9" in html and "#fff8e1" in html  # SSE-KMS green, SSE-S3 amber

    table._w_encryption.value = "SSE-KMS"
    assert {t.encryption for t in table.value} == {"SSE-KMS"}
    assert "app-trail" in [t.name for t in table.value]
    assert ">org-trail<" not in table._w_table.value

    table._w_encryption.value = "(all)"
    table._w_region.value = "eu-west-1"
    assert [t.name for t in table.value] == ["app-trail"]
    assert "1 of" in table._w_count.value


def test_trail_picker_value_is_the_trail_and_on_change_fires(estate: FakeEstate) -> None:
    trails = list(estate.trails.values())
    seen: list[Any] = []
    picker = TrailPicker(trails, on_change=seen.append)
    assert picker.value is None
    org = next(t for t in trails if t.name == "org-trail")
    picker._w_select.value = org
    assert picker.value == org and seen == [org]
    assert "SSE-S3" in picker._w_info.value
    assert picker.select("app-trail") is not None and seen[-1].name == "app-trail"
    labels = [label for label, _ in picker._w_select.options]
    assert any(
        label.startswith("org-trail · us-east-1 · SSE-S3 · organization") for label in labels
    )


# -- KeyPicker ---------------------------------------------------------------------------------


def test_key_picker_lists_ready_keys_first_with_their_labels(estate: FakeEstate) -> None:
    trail = estate.trail("org-trail")
    verdicts = estate.rank(trail)
    seen: list[Any] = []
    picker = KeyPicker(estate.rank, on_change=seen.append)
    picker.set_trail(trail)
    labels = picker.labels
    assert labels == [v.label for v in verdicts]
    kinds = [v.kind for v in picker.verdicts]
    order = [VerdictKind.READY, VerdictKind.UNVERIFIABLE, VerdictKind.BLOCKED]
    assert kinds == sorted(kinds, key=order.index)
    assert kinds[0] is VerdictKind.READY and kinds[-1] is VerdictKind.BLOCKED
    assert VerdictKind.UNVERIFIABLE in kinds  # the fake estate has all three kinds
    good_id = estate.key_id(GOOD)[:8]
    assert f"{GOOD} ({good_id}) - ready" in labels
    deny_id = estate.key_id(DENY)[:8]
    assert f"{DENY} ({deny_id}) - blocked: policy-deny" in labels
    assert labels.index(f"{GOOD} ({good_id}) - ready") < labels.index(
        f"{DENY} ({deny_id}) - blocked: policy-deny"
    )
    assert "ready" in picker._w_status.value

    blocked = next(v for v in picker.verdicts if v.code == "policy-deny")
    picker._w_select.value = blocked
    assert picker.value is blocked and seen[-1] is blocked
    assert picker.key_text == estate.arn(DENY)
    reason = picker._w_reason.value
    assert "BLOCKED" in reason and "explicitly denies" in reason and "What to do" in reason


def test_key_picker_shows_a_ranking_error_as_html(estate: FakeEstate) -> None:
    def broken(_trail: Any) -> list[Any]:
        raise RefusedError("The keys of us-east-1 cannot be listed.", "grant kms:ListKeys")

    picker = KeyPicker(broken)
    picker.set_trail(estate.trail("org-trail"))
    assert "tk-error" in picker._w_status.value and "kms:ListKeys" in picker._w_status.value
    assert picker.verdicts == [] and picker.value is None


def test_key_picker_validates_the_typed_identifier(estate: FakeEstate) -> None:
    trail = estate.trail("org-trail")
    seen: list[Any] = []
    picker = KeyPicker(estate.rank, on_change=seen.append)
    picker.set_trail(trail)

    picker._w_text.value = "alias with space"
    assert "tk-key-error" in picker._w_error._dom_classes
    assert "whitespace" in picker._w_error.value and "Not a key identifier" in picker._w_error.value
    assert picker._w_use.disabled
    picker._w_use.click()
    assert picker.value is None

    picker._w_text.value = "arn:aws:kms:us-east-1:123:key/abc"
    assert "12 digits" in picker._w_error.value

    other = estate.arn(SHARED)
    picker._w_text.value = other
    assert picker._w_error.value == "" and not picker._w_use.disabled
    assert picker.value is None  # typed, not yet used
    picker._w_use.click()
    assert picker.value == other and seen[-1] == other
    assert "Typed identifier" in picker._w_reason.value

    ready = picker.verdicts[0]
    picker._w_select.value = ready
    assert picker.value is ready and picker._w_text.value == ""


def test_key_picker_offers_sse_s3_for_a_trail_with_a_key(estate: FakeEstate) -> None:
    picker = KeyPicker(estate.rank)
    picker.set_trail(estate.trail("app-trail"))
    assert any(value == DISABLE for _, value in picker._w_select.options)
    picker.select("")
    assert picker.value == DISABLE and "SSE-S3" in picker._w_reason.value


# -- Checklist ---------------------------------------------------------------------------------


def test_checklist_headlines_and_rows(estate: FakeEstate) -> None:
    checklist = Checklist()
    assert checklist.value is None and "Choose a trail" in checklist.html()
    assert "tk-checklist" in checklist._w_html._dom_classes

    ready = estate.check("org-trail", GOOD)
    checklist.show(ready)
    html = checklist.html()
    assert checklist.value is ready
    assert 'class="tk-headline tk-ready">READY' in html
    assert "tk-finding-info" in html and "digest-files" in html
    assert "tk-finding-pass" in html and "The key is Enabled." in html

    blocked = estate.check("org-trail", NO_CLOUDTRAIL)
    checklist.show(blocked)
    html = checklist.html()
    assert 'class="tk-headline tk-blocked">BLOCKED' in html
    assert html.count("tk-finding-error") == 1  # policy-encrypt
    # policy-describe: a warning on a bucket without an S3 Bucket Key (issue 12)
    assert 'tk-finding-warning" data-code="policy-describe"' in html
    assert "kms:GenerateDataKey" in html and "What to do: add the CloudTrail" in html
    assert "InsufficientEncryptionPolicyException" in html
    assert "lets CloudTrail call kms:GenerateDataKey" not in html  # no false pass row

    denied = checklist_html(estate.check("org-trail", DENY))
    assert "policy-deny" in denied and "No Deny statement" not in denied
    assert "lets CloudTrail call" not in denied  # a Deny: no Allow rule is claimed to pass

    unverifiable = estate.check("org-trail", estate.arn(SHARED))
    checklist.show(unverifiable)
    html = checklist.html()
    assert 'class="tk-headline tk-unverifiable">UNVERIFIABLE' in html
    assert "tk-finding-warning" in html


# -- ChangePanel -------------------------------------------------------------------------------


def test_the_plan_table_scrolls_keeps_ids_whole_and_shows_the_request_as_parameters(
    estate: FakeEstate,
) -> None:
    from trailkit.ui.tables import ONE_LINE, WRAPPER_STYLE

    panel = ChangePanel(Recorder().apply, Recorder().rollback)
    plan = estate.plan("org-trail", GOOD)
    panel.set_plan(plan)
    page = panel._w_plan.value
    assert f'style="{WRAPPER_STYLE}"' in page
    cells = re.findall(r'<td style="([^"]*)">(.*?)</td>', page, re.S)
    assert cells and all(style == ONE_LINE for style, _ in cells)
    key = estate.arn(GOOD)
    # trail and key shortened, the full value on hover
    assert f'<span title="{plan.trail.arn}">org-trail</span>' in page
    assert f'<span title="{key}">key/' in page
    # the request: parameter names and the full values that are sent, not Python
    assert f"Name <code>{plan.request['Name']}</code>" in page
    assert f"KmsKeyId <code>{key}</code>" in page
    assert "Name='" not in page and "KmsKeyId='" not in page and "Name=&#x27;" not in page


def test_apply_stays_disabled_while_the_plan_is_blocked(estate: FakeEstate) -> None:
    fake = Recorder()
    panel = ChangePanel(fake.apply, fake.rollback)
    assert panel._w_apply.disabled and "tk-apply" in panel._w_apply._dom_classes
    panel.set_plan(estate.plan("org-trail", DENY))
    assert panel._w_apply.disabled
    panel._w_confirm.value = True
    assert panel._w_apply.disabled
    assert "BLOCKED (policy-deny)" in panel._w_why.value
    panel._w_apply.click()  # even a programmatic click sends nothing
    assert fake.applied == [] and panel.value is None
    assert "cannot be applied" in panel._w_plan.value


def test_apply_is_enabled_after_confirming_and_rollback_after_applying(
    estate: FakeEstate,
) -> None:
    fake = Recorder()
    done: list[ApplyResult] = []
    panel = ChangePanel(fake.apply, fake.rollback, on_done=done.append)
    plan = estate.plan("org-trail", GOOD)
    panel.set_plan(plan)
    assert "SSE-S3" in panel._w_plan.value and GOOD in panel._w_plan.value
    assert panel._w_apply.disabled and "tick the confirmation box" in panel._w_why.value
    assert panel._w_typed.layout.display == "none"  # demo: no typed name needed
    assert panel._w_rollback.disabled

    panel._w_confirm.value = True
    assert not panel._w_apply.disabled and panel._w_why.value == ""
    panel._w_apply.click()

    assert fake.applied == [plan]
    assert panel.value is not None and panel.value.outcome is Outcome.DONE
    assert "tk-result" in panel._w_result._dom_classes
    assert "applied (fake)" in panel._w_result.value and "chg-fake-1" in panel._w_result.value
    assert panel._w_apply.disabled and not panel._w_confirm.value  # spent; confirm unticked
    assert "tk-rollback" in panel._w_rollback._dom_classes
    # Rollback is a write too: preview first, then the same confirmation as Apply
    assert "Restores org-trail from" in panel._w_rollback_preview.value
    assert panel._w_rollback.disabled
    panel._w_rollback.click()
    assert fake.rolled_back == []
    panel._w_rollback_confirm.value = True
    assert not panel._w_rollback.disabled
    panel._w_rollback.click()
    assert fake.rolled_back == ["chg-fake-1"]
    assert "rolled back (fake)" in panel._w_result.value
    assert panel._w_rollback.disabled
    assert [r.message for r in done] == ["applied (fake)", "rolled back (fake)"]


def test_an_unverifiable_plan_needs_its_own_acknowledgement(estate: FakeEstate) -> None:
    """The command line sends an UNVERIFIABLE plan only with --accept-unverifiable; the panel
    asks for the same separate yes: a box naming how many checks could not be verified. The
    ordinary confirmation alone leaves Apply disabled and sends nothing."""
    fake = Recorder()
    panel = ChangePanel(fake.apply, fake.rollback)
    plan = estate.plan("org-trail", UNREADABLE)
    assert plan.report.unverifiable and not plan.blocked
    panel.set_plan(plan)
    assert panel.needs_acceptance and panel._w_accept.layout.display == "flex"
    assert panel._w_accept.description.startswith(
        "1 check could not be verified (policy-unverifiable): "
    )
    panel._w_confirm.value = True
    assert panel._w_apply.disabled
    assert "acknowledge what could not be verified" in panel._w_why.value
    panel._w_apply.click()
    assert fake.applied == [] and panel.value is None
    assert panel.confirm_and_apply() is None and fake.applied == []

    panel._w_accept.value = True
    assert not panel._w_apply.disabled and panel._w_why.value == ""
    panel._w_apply.click()
    assert fake.applied == [plan]
    assert not panel._w_accept.value  # spent: a new plan asks again

    # a new plan asks again, and a ready plan never shows the box
    panel.set_plan(plan)
    assert panel.needs_acceptance and not panel._w_accept.value
    panel.set_plan(estate.plan("org-trail", GOOD))
    assert not panel.needs_acceptance and panel._w_accept.layout.display == "none"
    panel._w_confirm.value = True
    assert not panel._w_apply.disabled


def test_guided_apply_of_an_unverifiable_plan_needs_accept_unverifiable(
    book: FakeRunbook,
) -> None:
    guided = GuidedUpdate(book)
    guided.choose("org-trail", UNREADABLE)
    with pytest.raises(RefusedError, match=r"UNVERIFIABLE: 1 check could not be verified") as e:
        guided.apply(True)
    assert "accept_unverifiable=True" in e.value.fix
    assert book.called("apply") == []
    with pytest.raises(TrailkitError, match="accept_unverifiable"):
        guided.apply(True, accept_unverifiable="maybe")
    assert book.called("apply") == []
    step = guided.apply(True, accept_unverifiable=True)
    assert step is not None and len(book.called("apply")) == 1


def test_on_real_aws_the_trail_name_must_be_typed(estate: FakeEstate) -> None:
    fake = Recorder()
    panel = ChangePanel(fake.apply, fake.rollback, demo=False)
    panel.set_plan(estate.plan("org-trail", GOOD))
    assert panel._w_typed.layout.display != "none"
    panel._w_confirm.value = True
    assert panel._w_apply.disabled and "type the trail name" in panel._w_why.value
    panel._w_typed.value = "org-trai"
    assert panel._w_apply.disabled
    panel._w_apply.click()
    assert fake.applied == []
    panel._w_typed.value = "org-trail"
    assert not panel._w_apply.disabled
    panel._w_apply.click()
    assert len(fake.applied) == 1
    panel._w_rollback_confirm.value = True
    assert panel._w_rollback.disabled  # on real AWS the trail name is typed for Rollback too
    assert panel._w_rollback_typed.layout.display != "none"
    panel._w_rollback_typed.value = "org-trail"
    assert not panel._w_rollback.disabled


def test_errors_render_as_html_in_the_panel_never_a_traceback(estate: FakeEstate) -> None:
    def refuse(plan: Plan) -> ApplyResult:
        raise RefusedError("org-trail changed since the plan was made.", "make a new plan")

    panel = ChangePanel(refuse, Recorder().rollback)
    panel.set_plan(estate.plan("org-trail", GOOD))
    panel._w_confirm.value = True
    panel._w_apply.click()  # does not raise
    assert "tk-error" in panel._w_result.value and "Refused:" in panel._w_result.value
    assert "make a new plan" in panel._w_result.value
    assert isinstance(panel.error, RefusedError)
    assert panel._w_progress.value == ""  # the progress line is gone

    panel.show_error(RefusedError("No trail 'nope': there is nothing to plan.", "check it"))
    assert "nothing to plan" in panel._w_plan.value and panel._w_apply.disabled


def test_an_unknown_outcome_offers_no_rollback(estate: FakeEstate) -> None:
    def unknown(plan: Plan) -> ApplyResult:
        return ApplyResult(
            plan,
            Outcome.UNKNOWN,
            "UpdateTrail timed out; run `trailkit journal --reconcile`.",
            change_id="chg-x",
        )

    panel = ChangePanel(unknown, Recorder().rollback)
    panel.set_plan(estate.plan("org-trail", GOOD))
    panel._w_confirm.value = True
    panel._w_apply.click()
    assert "tk-badge-unknown" in panel._w_result.value and "reconcile" in panel._w_result.value
    assert panel._w_apply.disabled and panel._w_rollback.disabled


def test_change_panel_applies_and_rolls_back_through_the_runbook(
    estate: FakeEstate, book: FakeRunbook
) -> None:
    panel = ChangePanel(partial(book.apply, confirmed=True), partial(book.rollback, confirmed=True))
    panel.set_plan(estate.plan("org-trail", GOOD))
    panel._w_confirm.value = True
    panel._w_apply.click()
    assert estate.trail("org-trail").kms_key_id == estate.arn(GOOD)
    assert "read back and verified" in panel._w_result.value
    assert "no delivery errors" in panel._w_result.value
    panel._w_rollback_confirm.value = True
    panel._w_rollback.click()
    assert estate.trail("org-trail").kms_key_id is None
    assert [c.status for c in book.journal.changes()] == ["done", "done"]
    (applied,) = book.called("apply")[:1]
    assert applied[1] is True  # the widget's own confirmation is the go-ahead
    first = book.journal.changes()[0].change_id
    assert book.called("rollback") == [(first, True)]


# -- PolicyPanel -------------------------------------------------------------------------------


def test_policy_panel_shows_the_add_only_diff_and_applies_it(
    estate: FakeEstate, book: FakeRunbook
) -> None:
    repair = estate.repair(["org-trail"], NO_CLOUDTRAIL)
    panel = PolicyPanel(partial(book.apply_repair, confirmed=True), repair)
    assert panel.value is repair
    diff = panel._w_diff.value
    assert 'class="tk-add"' in diff and "TrailkitCloudTrailEncrypt" in diff
    assert 'class="tk-del"' not in diff  # add-only
    assert "Current key policy" in panel._w_current.value
    assert panel._w_apply.disabled
    panel._w_confirm.value = True
    assert not panel._w_apply.disabled
    panel._w_apply.click()
    assert panel.result is not None and panel.result.outcome is Outcome.DONE
    assert "updated and read back" in panel._w_result.value
    assert panel._w_apply.disabled
    assert estate.check("org-trail", NO_CLOUDTRAIL).ready  # the repaired policy passes
    (change,) = book.journal.changes()
    assert change.intent.kind.value == "key-policy"
    assert book.called("apply_repair") == [(repair, True)]


def test_policy_panel_on_real_aws_needs_the_key_name_typed(estate: FakeEstate) -> None:
    sent: list[Any] = []

    def apply(repair: Any) -> PolicyResult:
        sent.append(repair)
        return PolicyResult(repair.key.arn, Outcome.DONE, "Key policy updated and read back.")

    panel = PolicyPanel(apply, estate.repair(["org-trail"], NO_CLOUDTRAIL), demo=False)
    panel._w_confirm.value = True
    assert panel._w_apply.disabled
    panel._w_typed.value = NO_CLOUDTRAIL
    assert not panel._w_apply.disabled
    step = panel.apply(True)
    assert step is not None and step.ok and len(sent) == 1


def test_policy_panel_with_nothing_to_repair_or_a_refusal(estate: FakeEstate) -> None:
    sent: list[Any] = []

    def never(repair: Any) -> PolicyResult:
        sent.append(repair)
        raise AssertionError("nothing should be sent")

    ok = PolicyPanel(never, estate.repair(["org-trail"], GOOD))
    assert ok.value is not None and not ok.value.needed
    assert "nothing to add" in ok._w_summary.value
    assert ok._w_actions.layout.display == "none" and ok.apply(True) is None

    refused = PolicyPanel(never)
    with pytest.raises(RefusedError) as caught:
        estate.repair(["org-trail"], DENY)
    refused.show_error(caught.value)
    assert refused.value is None
    assert "Refused:" in refused._w_summary.value and "Deny" in refused._w_summary.value
    assert sent == []


def test_policy_panel_shows_a_failed_update_as_html(estate: FakeEstate) -> None:
    def fail(_repair: Any) -> PolicyResult:
        raise TrailkitError("PutKeyPolicy was refused.", "grant kms:PutKeyPolicy")

    panel = PolicyPanel(fail, estate.repair(["org-trail"], NO_CLOUDTRAIL))
    panel._w_confirm.value = True
    panel._w_apply.click()  # does not raise
    assert "tk-error" in panel._w_result.value and "kms:PutKeyPolicy" in panel._w_result.value
    assert panel.result is None and isinstance(panel.error, TrailkitError)
    with pytest.raises(TrailkitError, match="refused"):
        panel.apply(True)


# -- JournalView -------------------------------------------------------------------------------


def test_journal_view_lists_changes_and_rolls_one_back(
    estate: FakeEstate, book: FakeRunbook
) -> None:
    first = book.apply(estate.plan("org-trail", GOOD), confirmed=True)
    view = JournalView(book.journal, partial(book.undo, confirmed=True))
    assert [c.change_id for c in view.value] == [first.change_id]
    assert first.change_id in view._w_table.value and "tk-badge-done" in view._w_table.value
    assert view._w_rollback.disabled
    view._w_select.value = first.change_id
    assert view._w_rollback.disabled
    view._w_confirm.value = True
    assert not view._w_rollback.disabled
    view._w_rollback.click()
    assert view.result is not None and view.result.outcome is Outcome.DONE
    assert estate.trail("org-trail").kms_key_id is None
    assert len(view.value) == 2 and view.value[1].intent.rollback_of == first.change_id
    offered = [v for _, v in view._w_select.options if v]
    assert offered == [view.value[1].change_id]  # the original is undone; the undo can be
    assert "Rollback of" in view._w_result.value
    assert book.called("undo") == [(first.change_id, True)]


def test_an_unverifiable_rollback_needs_its_own_acknowledgement(
    estate: FakeEstate, book: FakeRunbook
) -> None:
    """Undoing the change from an unreadable key back to it is an UNVERIFIABLE plan: the
    journal view and the guided update refuse it (nothing sent) until the separate box that
    names the unverified check is ticked, as ``trailkit rollback`` needs
    --accept-unverifiable."""
    first = book.apply(estate.plan("org-trail", UNREADABLE), confirmed=True)
    second = book.apply(estate.plan("org-trail", GOOD), confirmed=True)
    assert first.outcome is Outcome.DONE and second.outcome is Outcome.DONE
    view = JournalView(book.journal, partial(book.undo, confirmed=True))
    assert view._w_accept.layout.display == "none"
    view._w_select.value = second.change_id
    view._w_confirm.value = True
    view._w_rollback.click()
    assert view.result is None and "UNVERIFIABLE" in view._w_result.value
    assert estate.trail("org-trail").kms_key_id == estate.arn(GOOD)  # nothing was sent
    assert view.selected == second.change_id and view._w_accept.layout.display == "flex"
    assert view._w_accept.description.startswith(
        "1 check could not be verified (policy-unverifiable): "
    )
    assert view._w_rollback.disabled  # the confirmation alone is not the yes
    view._w_accept.value = True
    view._w_confirm.value = True
    assert not view._w_rollback.disabled
    view._w_rollback.click()
    assert view.result is not None and view.result.outcome is Outcome.DONE
    assert estate.trail("org-trail").kms_key_id == estate.arn(UNREADABLE)


def test_guided_rollback_of_an_unverifiable_plan_needs_accept_unverifiable(
    estate: FakeEstate, book: FakeRunbook
) -> None:
    book.apply(estate.plan("org-trail", UNREADABLE), confirmed=True)
    book.apply(estate.plan("org-trail", GOOD), confirmed=True)
    guided = GuidedUpdate(book)
    guided.choose("org-trail")
    with pytest.raises(UnverifiableError, match="UNVERIFIABLE: 1 check could not be verified"):
        guided.rollback(True)
    assert estate.trail("org-trail").kms_key_id == estate.arn(GOOD)
    assert guided.change._w_rollback_accept.layout.display == "flex"
    step = guided.rollback(True, accept_unverifiable=True)
    assert step is not None and step.ok
    assert estate.trail("org-trail").kms_key_id == estate.arn(UNREADABLE)


def test_journal_view_shows_unreadable_lines_and_refuses_unknown_changes(
    book: FakeRunbook,
) -> None:
    book.journal.problems.append("line 3: truncated JSON (a write may have been interrupted).")
    view = JournalView(book.journal)  # no undo: read-only
    assert "truncated JSON" in view._w_problems.value
    assert "The journal is empty" in view._w_table.value
    assert view._w_actions.layout.display == "none"
    with pytest.raises(TrailkitError, match="chg-nope"):
        view.rollback("chg-nope")


# -- BulkUpdate --------------------------------------------------------------------------------


def test_bulk_update_plans_every_trail_and_applies_only_the_ready_ones(
    estate: FakeEstate, book: FakeRunbook
) -> None:
    bulk = BulkUpdate(
        estate.inventory().trails,
        keys=book.candidate_keys,
        plan=book.plan_many,
        apply=partial(book.apply_many, confirmed=True),
    )
    step = bulk.choose(
        ["org-trail", "tokyo-trail", "bucketkey-trail"],
        {"us-east-1": GOOD, "us-west-2": GOOD_USW2},
    )
    assert step is not None
    assert set(bulk.keys_by_region) == {"us-east-1", "us-west-2"}
    table = bulk._w_table.value
    assert "org-trail" in table and "tokyo-trail" in table and "bucketkey-trail" in table
    assert "policy-bucket-key-decrypt" in table and "tk-badge-blocked" in table
    assert sorted(p.trail.name for p in bulk.ready) == ["org-trail", "tokyo-trail"]
    assert bulk._w_apply.disabled
    bulk._w_confirm.value = True
    assert not bulk._w_apply.disabled
    bulk._w_apply.click()
    assert [r.outcome for r in bulk.results] == [Outcome.DONE, Outcome.DONE]
    assert "2 of 3 trails changed, 1 blocked" in bulk._w_results.value
    assert estate.trail("tokyo-trail").kms_key_id == estate.arn(GOOD_USW2)
    assert estate.trail("bucketkey-trail").kms_key_id is None
    ((names, confirmed),) = book.called("apply_many")
    assert sorted(names) == ["org-trail", "tokyo-trail"] and confirmed is True


def test_bulk_update_on_real_aws_needs_the_count_typed(
    estate: FakeEstate, book: FakeRunbook
) -> None:
    bulk = BulkUpdate(
        estate.inventory().trails,
        keys=book.candidate_keys,
        plan=book.plan_many,
        apply=partial(book.apply_many, confirmed=True),
        demo=False,
    )
    bulk.choose(["bucketkey-trail"], {"us-west-2": BUCKETKEY_KEY})
    assert [p.trail.name for p in bulk.ready] == ["bucketkey-trail"]
    bulk._w_confirm.value = True
    assert bulk._w_apply.disabled
    bulk._w_typed.value = "1"
    assert not bulk._w_apply.disabled
    assert book.called("apply_many") == []


def test_bulk_update_headless_apply_fails_when_the_action_raises(
    estate: FakeEstate, book: FakeRunbook
) -> None:
    def throttled(_plans: Any) -> list[ApplyResult]:
        raise TrailkitError("UpdateTrail was throttled.", "try again")

    bulk = BulkUpdate(
        estate.inventory().trails, keys=book.candidate_keys, plan=book.plan_many, apply=throttled
    )
    bulk.choose(["org-trail"], {"us-east-1": GOOD})
    with pytest.raises(TrailkitError, match="throttled"):
        bulk.apply(True)  # like the other headless steps: a failed action is never "ok"
    assert "tk-error" in bulk._w_results.value and "throttled" in bulk._w_results.value
    assert bulk.results == []


# -- GuidedUpdate ------------------------------------------------------------------------------


def test_guided_update_wires_every_step(estate: FakeEstate, book: FakeRunbook) -> None:
    guided = GuidedUpdate(book)
    guided.load()
    assert "5 trails found in" in guided._w_status.value
    org = guided.trails.find("org-trail")
    assert org is not None
    guided.trails._w_select.value = org
    assert guided.trail is not None and guided.trail.bucket_region == "us-east-1"
    assert guided.keys.labels[0].endswith("- ready")

    deny = next(v for v in guided.keys.verdicts if v.code == "policy-deny")
    guided.keys._w_select.value = deny
    assert "BLOCKED" in guided.checklist.html()
    assert guided.change._w_apply.disabled
    guided.change._w_confirm.value = True
    assert guided.change._w_apply.disabled
    assert "see the checklist" in guided.keys._w_reason.value
    assert "explicitly denies" in guided.checklist.html()
    assert "will not edit the Deny" in guided.policy._w_summary.value

    good = next(v for v in guided.keys.verdicts if v.key.arn == estate.arn(GOOD))
    guided.keys._w_select.value = good
    assert "READY" in guided.checklist.html()
    assert "needs no change" in guided.policy._w_summary.value
    assert guided.change._w_apply.disabled
    guided.change._w_confirm.value = True
    assert not guided.change._w_apply.disabled
    guided.change._w_apply.click()

    assert "read back and verified" in guided.change._w_result.value
    assert estate.trail("org-trail").kms_key_id == estate.arn(GOOD)
    assert "SSE-KMS" in guided.trails._w_info.value  # re-read after the change
    assert "tk-badge-done" in guided.journal._w_table.value
    assert guided.change._w_rollback.disabled  # until confirmed, like Apply
    guided.change._w_rollback_confirm.value = True
    assert not guided.change._w_rollback.disabled
    guided.change._w_rollback.click()
    assert estate.trail("org-trail").kms_key_id is None
    assert "Now: <b>SSE-S3</b>" in guided.trails._w_info.value
    assert len(guided.journal.value) == 2

    # Only the runbook was called, and every write with the widget's confirmation.
    assert [c[-1] for c in book.calls if c[0] in ("apply", "rollback")] == [True, True, True]
    assert book.called("check")[-1] == (org.arn, estate.arn(GOOD))


def test_guided_update_headless_repairs_the_policy_then_applies(
    estate: FakeEstate, book: FakeRunbook
) -> None:
    guided = GuidedUpdate(book)
    step = guided.choose("org-trail", NO_CLOUDTRAIL)
    assert step is not None and not step.ok and "BLOCKED" in step._repr_html_()
    assert guided.apply(False) is None
    with pytest.raises(RefusedError, match="policy-encrypt"):
        guided.apply(True)
    assert guided.policy.value is not None and guided.policy.value.needed

    repaired = guided.repair_policy(True)
    assert repaired is not None and repaired.ok
    assert guided.report is not None and guided.report.ready
    assert "updated and read back" in guided.policy._w_result.value

    applied = guided.apply(True)
    assert applied is not None and applied.ok
    key = estate.arn(NO_CLOUDTRAIL)
    assert estate.trail("org-trail").kms_key_id == key
    verified = guided.verify()
    assert verified is not None and key in verified.html
    back = guided.rollback(True)
    assert back is not None and back.ok
    assert estate.trail("org-trail").kms_key_id is None
    kinds = [c.intent.kind.value for c in book.journal.changes()]
    assert kinds == ["key-policy", "trail-key", "trail-key"]
    assert guided.choose() is None and guided.rollback(False) is None
    assert "refresh" in [c[0] for c in book.calls]  # re-read after the policy change


def test_guided_update_rolls_back_the_journals_last_change_of_the_trail(
    estate: FakeEstate, book: FakeRunbook
) -> None:
    earlier = book.apply(estate.plan("org-trail", GOOD), confirmed=True)
    guided = GuidedUpdate(book)
    guided.choose("org-trail")
    assert guided.trail is not None and guided.trail.kms_key_id == estate.arn(GOOD)
    back = guided.rollback(True)
    assert back is not None and back.ok
    assert book.called("rollback") == [(earlier.change_id, True)]
    assert estate.trail("org-trail").kms_key_id is None
    # Rolling back again does not re-apply what was just undone (an undo that redoes): a
    # rollback is undone only by naming its change id, as the journal view offers it.
    with pytest.raises(JournalError, match="Nothing to roll back"):
        guided.rollback(True)
    assert estate.trail("org-trail").kms_key_id is None
    assert book.called("rollback") == [(earlier.change_id, True)]

    empty = GuidedUpdate(FakeRunbook())
    empty.choose("org-trail")
    with pytest.raises(JournalError, match="Nothing to roll back"):
        empty.rollback(True)


def test_guided_update_shows_read_errors_as_html() -> None:
    broken = RefusedError("The trails cannot be listed here.", "grant cloudtrail:DescribeTrails")
    guided = GuidedUpdate(FakeRunbook(fail={"list_trails": broken}))
    guided.load()
    assert "tk-error" in guided._w_status.value and "DescribeTrails" in guided._w_status.value
    assert json.dumps(guided.html())  # a static summary is always available


def test_guided_update_shows_a_failed_check_and_a_failed_reread_as_html(
    book: FakeRunbook,
) -> None:
    guided = GuidedUpdate(book)
    guided.load()
    book.fail["check"] = RefusedError("kms:DescribeKey was denied.", "grant kms:DescribeKey")
    guided.choose("org-trail")
    guided.keys.select(GOOD)
    assert "tk-error" in guided._w_status.value and "kms:DescribeKey" in guided._w_status.value
    assert guided.value is None and "kms:DescribeKey" in guided.change._w_plan.value

    book.fail["reread"] = RefusedError("The trail cannot be read.", "grant DescribeTrails")
    guided.trails.select("app-trail")
    assert "tk-error" in guided._w_status.value and guided.trail is None


# -- One state, many views (issue 13) -------------------------------------------------------------


def _sections(guided: GuidedUpdate) -> dict[str, str]:
    """What each dependent section of the guided update shows now."""
    return {
        "trail": guided.trails._w_info.value,
        "keys": guided.keys._w_status.value + guided.keys._w_reason.value,
        "checklist": guided.checklist.html(),
        "policy": guided.policy.html(),
        "plan": guided.change._w_plan.value,
        "result": guided.change._w_result.value,
        "journal": guided.journal._w_table.value,
    }


def test_every_section_follows_a_policy_repair(estate: FakeEstate, book: FakeRunbook) -> None:
    guided = GuidedUpdate(book)
    guided.choose("org-trail", NO_CLOUDTRAIL)
    assert "BLOCKED" in _sections(guided)["checklist"]
    assert guided.repair_policy(True) is not None
    now = _sections(guided)
    assert "The journal is empty" not in now["journal"]
    assert "key-policy" in now["journal"] and "1 change" in now["journal"]
    assert 'tk-headline tk-ready">READY' in now["checklist"]
    assert "tk-badge-ready" in now["plan"] and "cannot be applied" not in now["plan"]
    assert "updated and read back" in now["policy"]


def test_every_section_follows_apply_and_rollback(estate: FakeEstate, book: FakeRunbook) -> None:
    guided = GuidedUpdate(book)
    guided.choose("org-trail", GOOD)
    assert guided.apply(True) is not None
    now = _sections(guided)
    assert "Now: <b>SSE-KMS</b>" in now["trail"]
    # the trail now uses the key: the checklist and the plan say so, not READY to change it
    assert "already is in this state" in now["checklist"]
    assert 'tk-headline tk-info">NOTHING TO DO' in now["checklist"]
    assert "NOTHING TO DO" in now["plan"] and "tk-badge-ready" not in now["plan"]
    assert "read back and verified" in now["result"]  # the result of this trail stays
    assert "tk-badge-done" in now["journal"]
    assert guided.change.rollback_of is not None and guided.change.rollback_name == "org-trail"
    # the disable choice is offered now that the trail has a key
    assert any(v == DISABLE for _, v in guided.keys._w_select.options)

    assert guided.rollback(True) is not None
    now = _sections(guided)
    assert "Now: <b>SSE-S3</b>" in now["trail"]
    assert 'tk-headline tk-ready">READY' in now["checklist"]  # SSE-S3 → GOOD again
    assert "already is in this state" not in now["checklist"]
    assert "tk-badge-ready" in now["plan"]
    assert "rolled back" in now["result"] or "Rollback" in now["result"]
    assert now["journal"].count("tk-badge-done") == 2
    assert not any(v == DISABLE for _, v in guided.keys._w_select.options)


def test_choosing_another_trail_clears_the_previous_trails_result(
    estate: FakeEstate, book: FakeRunbook
) -> None:
    guided = GuidedUpdate(book)
    guided.choose("org-trail", GOOD)
    guided.apply(True)
    guided.rollback(True)
    assert "Rollback" in guided.change._w_result.value
    guided.choose("app-trail")
    now = _sections(guided)
    assert now["result"] == "" and "org-trail" not in now["plan"]
    assert guided.change._w_rollback.layout.display == "none"
    assert guided.change.value is None
    assert guided.policy.result is None and "updated" not in now["policy"]
    assert "org-trail" not in now["checklist"]


# -- One voice (issue 13) --------------------------------------------------------------------------

_CLASS_NAMES = ("RefusedError", "InputError", "KeyIdError", "JournalError", "TrailkitError")


def test_the_policy_section_is_not_applicable_for_an_aws_managed_key(
    estate: FakeEstate, book: FakeRunbook
) -> None:
    managed = dataclasses.replace(
        make_key("alias/aws-managed-for-s3", policy=estate_policy(estate)), manager="AWS"
    )
    estate.keys["alias/aws-managed-for-s3"] = managed
    guided = GuidedUpdate(book)
    guided.choose("org-trail", managed.arn)
    now = _sections(guided)
    assert 'tk-headline tk-blocked">BLOCKED' in now["checklist"]
    assert "needs no change" not in now["policy"] and "tk-note-ok" not in now["policy"]
    assert "not applicable" in now["policy"].lower() and "see the checklist" in now["policy"]
    assert "key-aws-managed" in now["checklist"] and "key-aws-managed" not in now["policy"]


def estate_policy(estate: FakeEstate) -> dict[str, Any]:
    policy = estate.keys[GOOD].policy
    assert policy is not None
    loaded: dict[str, Any] = json.loads(policy)
    return loaded


def test_unverifiable_is_shown_the_same_way_in_every_section(
    estate: FakeEstate, book: FakeRunbook
) -> None:
    other = estate.keys[SHARED]
    alias_arn = f"arn:aws:kms:us-east-1:{other.account}:alias/shared-logs-key"
    guided = GuidedUpdate(book)
    guided.choose("org-trail", alias_arn)
    now = _sections(guided)
    assert 'tk-headline tk-unverifiable">UNVERIFIABLE' in now["checklist"]
    assert "tk-badge-unverifiable" in now["plan"]
    assert "tk-note-bad" not in now["plan"] and "tk-error" not in now["plan"]
    assert not any(name in html for html in now.values() for name in _CLASS_NAMES)
    assert "tk-note-ok" not in now["policy"]

    guided.choose("org-trail", other.arn)  # a key ARN: the plan can be made, but not checked
    now = _sections(guided)
    assert 'tk-headline tk-unverifiable">UNVERIFIABLE' in now["checklist"]
    assert "tk-badge-unverifiable" in now["plan"] and "tk-badge-ready" not in now["plan"]


def test_a_finding_is_shown_once_per_view(estate: FakeEstate, book: FakeRunbook) -> None:
    guided = GuidedUpdate(book)
    guided.choose("org-trail", DENY)
    now = _sections(guided)
    assert "".join(now.values()).count("explicitly denies") == 1
    assert "explicitly denies" in now["checklist"]
    # The checklist lists the finding; every other place refers to it, without its code.
    shown = {name: html.count("policy-deny") for name, html in now.items()}
    assert shown["checklist"] >= 1 and sum(shown.values()) == shown["checklist"], shown
    assert all(f"blocked: {'policy-deny'}" not in label for label in guided.keys.labels)
    assert "see the checklist" in now["plan"] and "see the checklist" in now["policy"]
    assert "see the checklist" in guided.change._w_why.value
    assert "not applicable" in now["policy"].lower()
    assert "Not applicable:" not in now["policy"]  # said once, by the badge
    assert not any(name in html for html in now.values() for name in _CLASS_NAMES)


def test_errors_are_shown_without_python_class_names() -> None:
    refused = error_html(RefusedError("Nothing was sent.", "run `trailkit journal`"))
    assert "RefusedError" not in refused and "Nothing was sent." in refused
    assert "<code>trailkit journal</code>" in refused and "`" not in refused
    other = error_html(ValueError("boom"))
    assert "ValueError" not in other and "boom" in other


def test_turning_encryption_off_is_amber_not_a_green_ready(
    estate: FakeEstate, book: FakeRunbook
) -> None:
    guided = GuidedUpdate(book)
    guided.choose("org-trail", GOOD)
    guided.apply(True)
    guided.choose("org-trail", "SSE-S3")
    assert guided.report is not None and guided.report.disable and guided.report.ready
    now = _sections(guided)
    assert "tk-headline tk-ready" not in now["checklist"]
    assert "tk-headline tk-warn" in now["checklist"] and "SSE-S3" in now["checklist"]
    assert "tk-badge-ready" not in now["plan"] and "tk-note-warn" in now["plan"]
    assert "not applicable" in now["policy"].lower()


def test_checklist_plurals_and_commands_as_code(estate: FakeEstate) -> None:
    one = checklist_html(estate.check("org-trail", "alias/no-such-key"))
    assert "1 check passed" in one and "1 checks" not in one
    many = checklist_html(estate.check("org-trail", GOOD))
    assert "checks passed" in many
    remedy = checklist_html(estate.check("org-trail", NO_CLOUDTRAIL))
    assert "`" not in remedy
    assert re.search(
        r"<code>trailkit policy --trail org-trail --key arn:aws:kms:\S+ --apply</code>", remedy
    )


def test_every_dropdown_starts_on_its_placeholder(estate: FakeEstate, book: FakeRunbook) -> None:
    def shown(dropdown: Any) -> str | None:
        return None if dropdown.index is None else dropdown.options[dropdown.index][0]

    picker = TrailPicker(list(estate.trails.values()))
    assert shown(picker._w_select) == "— choose a trail —" and picker.value is None
    keys = KeyPicker(estate.rank)
    assert shown(keys._w_select) == "— choose a trail first —"
    keys.set_trail(estate.trail("org-trail"))
    assert shown(keys._w_select) == "— choose a key —" and keys.value is None
    keys.select(GOOD)
    keys.select(None)
    assert shown(keys._w_select) == "— choose a key —" and keys.value is None
    picker.select("org-trail")
    picker.select(None)
    assert shown(picker._w_select) == "— choose a trail —"
    view = JournalView(book.journal)
    assert shown(view._w_select) == "(nothing to roll back)"
    guided = GuidedUpdate(book)
    guided.load()
    assert shown(guided.trails._w_select) == "— choose a trail —"
    assert shown(guided.keys._w_select) == "— choose a trail first —"


def test_every_write_has_a_preview_then_the_same_confirmation(
    estate: FakeEstate, book: FakeRunbook
) -> None:
    guided = GuidedUpdate(book)
    guided.choose("org-trail", NO_CLOUDTRAIL)
    # key policy repair: the diff, then the checkbox
    assert "tk-add" in guided.policy._w_diff.value and guided.policy._w_apply.disabled
    guided.policy._w_confirm.value = True
    guided.policy._w_apply.click()
    # apply: the plan, then the checkbox
    assert "tk-badge-ready" in guided.change._w_plan.value and guided.change._w_apply.disabled
    guided.change._w_confirm.value = True
    guided.change._w_apply.click()
    # rollback: what it restores, then the checkbox
    assert "Restores org-trail from" in guided.change._w_rollback_preview.value
    assert guided.change._w_rollback.disabled
    # restore from the journal: what it restores, then the checkbox
    view = JournalView(book.journal, partial(book.undo, confirmed=True))
    policy_change = book.journal.changes()[0].change_id
    view.select(policy_change)
    assert "key policy" in view._w_preview.value and view._w_rollback.disabled
    trail_change = book.journal.changes()[1].change_id
    view.select(trail_change)
    assert "Restores org-trail from" in view._w_preview.value and view._w_rollback.disabled
    view._w_confirm.value = True
    assert not view._w_rollback.disabled
    boxes = [
        guided.policy._w_confirm,
        guided.change._w_confirm,
        guided.change._w_rollback_confirm,
        view._w_confirm,
    ]
    assert all(isinstance(b, type(view._w_confirm)) for b in boxes)


@pytest.mark.parametrize("blank", ["", " ", "\t\n"])
def test_guided_update_refuses_an_empty_key_and_sends_nothing(
    estate: FakeEstate, book: FakeRunbook, blank: str
) -> None:
    """Found by a break-it pass: papermill ``-p key ""`` (or ``-r key " "``) with apply True
    turned SSE-KMS off. An empty value never means off; "SSE-S3" says it."""
    guided = GuidedUpdate(book)
    with pytest.raises(InputError, match=r"key .* is empty") as caught:
        guided.choose("stale-key-trail", blank)
    assert 'key="SSE-S3"' in caught.value.fix
    assert guided.keys.value is None
    with pytest.raises(InputError, match="no plan to apply"):
        guided.apply(True)  # nothing chosen: nothing to send
    assert not book.called("apply")
    assert estate.trail("stale-key-trail").kms_key_id == estate.arn("alias/cloudtrail-disabled")


@pytest.mark.parametrize("text", ["SSE-S3", "sse-s3", " SSE-S3 "])
def test_guided_update_turns_encryption_off_only_when_asked_by_name(
    estate: FakeEstate, book: FakeRunbook, text: str
) -> None:
    guided = GuidedUpdate(book)
    step = guided.choose("stale-key-trail", text)
    assert step is not None and guided.keys.value == DISABLE
    assert "SSE-S3" in guided.change.html()


def test_key_arns_in_the_checklist_and_step_titles_are_short_with_the_full_value_on_hover(
    estate: FakeEstate,
) -> None:
    from trailkit.ui.widgets import Step
    from trailkit.ui.widgets.checklist import checklist_html

    key = estate.arn(GOOD)
    shown = f'<span title="{key}">key/'
    page = checklist_html(estate.check("org-trail", GOOD))
    assert "→ <code>" in page and shown in page and f">{key}<" not in page
    title = Step(f"Pre-flight of {key}", True, "")._repr_html_()
    assert shown in title and f"of {key}" not in title


def test_results_say_what_they_are_about_once() -> None:
    from trailkit.ui.widgets.policy import policy_result_html

    key = "arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"
    done = PolicyResult(key, Outcome.DONE, "Key policy updated and read back.")
    page = policy_result_html(done)
    assert "Key policy updated" in page and "Key policy:</b> Key policy" not in page
    failed = policy_result_html(PolicyResult(key, Outcome.FAILED, "Access denied."))
    assert "<b>Key policy:</b> Access denied." in failed


# -- Rollback: the same preview as every write, before the result (issue 13) --------------------


def test_a_headless_journal_rollback_shows_its_plan_before_the_result(
    estate: FakeEstate, book: FakeRunbook
) -> None:
    first = book.apply(estate.plan("org-trail", GOOD), confirmed=True)
    view = JournalView(book.journal, partial(book.undo, confirmed=True), preview=book.plan_rollback)
    view.select(first.change_id)
    shown = view._w_preview.value
    # interactively: checklist, verdict (turning SSE-KMS off is said), before → after, request
    assert "tk-headline" in shown and "ENCRYPTION OFF" in shown
    assert "tk-plan-table" in shown and "KmsKeyId" in shown
    good = estate.arn(GOOD)
    assert f'from <b><span title="{good}">key/' in shown  # short, the full ARN on hover
    view._w_select.value = None
    step = view.rollback(first.change_id)
    assert step is not None
    page = step.html
    assert page.index("ENCRYPTION OFF") < page.index("tk-plan-table") < page.index("Rollback of")
    assert "read back and verified" in page


def test_a_headless_guided_rollback_shows_its_plan_before_the_result(
    estate: FakeEstate, book: FakeRunbook
) -> None:
    guided = GuidedUpdate(book)
    guided.choose("org-trail", GOOD)
    guided.apply(True)
    preview = guided.change.rollback_preview
    assert "ENCRYPTION OFF" in preview and "tk-plan-table" in preview  # before it is confirmed
    step = guided.rollback(True)
    assert step is not None
    page = step.html
    assert page.index("ENCRYPTION OFF") < page.index("tk-plan-table") < page.index("Rollback:")
    assert estate.trail("org-trail").kms_key_id is None


def test_a_policy_restore_shows_its_diff_before_it_can_be_confirmed(book: FakeRunbook) -> None:
    from trailkit.rules.repair import Restore

    key = "arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"
    change_id = book.journal.record(
        Kind.KEY_POLICY, key, '{"Statement": []}', '{"Statement": [{"Sid": "Added"}]}'
    )
    restore = Restore(
        change_id,
        key,
        None,
        expected='{"Statement": [{"Sid": "Added"}]}',
        restored='{"Statement": []}',
        current='{"Statement": [{"Sid": "Added"}]}',
    )
    view = JournalView(book.journal, lambda *_a, **_k: None, preview=lambda _id: restore)
    view.select(change_id)
    shown = view._w_preview.value
    assert "tk-diff" in shown and 'class="tk-del"' in shown and "Added" in shown
    assert "PutKeyPolicy" in shown
