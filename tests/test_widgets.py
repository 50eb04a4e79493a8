"""The notebook widgets, headless: set ``_w_...`` values, click, assert on domain results and HTML.

Domain objects come from the demo estate (conftest's moto server); the tests that change it use
``demo_rw``. Actions are either the real change engine (``trailkit.ui.notebook.Actions``) or
recording fakes, when what matters is whether the widget calls them at all.
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Any

import pytest

from trailkit.aws.reader import Reader
from trailkit.aws.session import Connection
from trailkit.aws.writes import read_trail_key
from trailkit.change.journal import Journal
from trailkit.demo import DEMO_REGIONS
from trailkit.errors import RefusedError
from trailkit.records import ApplyResult, Outcome
from trailkit.rules.checks import VerdictKind
from trailkit.rules.plan import Plan, plan_change
from trailkit.runbook import candidates, check, plan_policy_repair
from trailkit.ui.notebook import Actions, bulk_update, guided_update, journal_view, key_policy
from trailkit.ui.widgets import (
    ChangePanel,
    Checklist,
    ConnectionBanner,
    GuidedUpdate,
    KeyPicker,
    PolicyPanel,
    TrailPicker,
    TrailsTable,
)
from trailkit.ui.widgets.checklist import checklist_html
from trailkit.ui.widgets.keys import DISABLE

GOOD = "alias/cloudtrail-good"
DENY = "alias/explicit-deny"


@pytest.fixture
def reader(demo_conn: Connection) -> Reader:
    return Reader(demo_conn)


@pytest.fixture
def journal(tmp_path: Path) -> Journal:
    return Journal(tmp_path / "journal.jsonl")


def _plan(reader: Reader, trail: str, key: str) -> Plan:
    return plan_change(check(reader, trail, key))


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


def test_banner_is_blue_on_the_demo_and_red_on_real_aws(demo_conn: Connection) -> None:
    info = demo_conn.info()
    demo = ConnectionBanner(info)
    assert demo.value is info
    assert "tk-banner-demo" in demo._w_html._dom_classes
    assert "DEMO backend" in demo._w_html.value and "#1565c0" in demo._w_html.value
    real = ConnectionBanner(dataclasses.replace(info, demo=False))
    assert "tk-banner-aws" in real._w_html._dom_classes
    assert "REAL AWS" in real._w_html.value and "#b71c1c" in real._w_html.value


# -- TrailsTable and TrailPicker ----------------------------------------------------------------


def test_trails_table_filters_by_region_and_encryption(demo: Any, reader: Reader) -> None:
    inventory = reader.scan(DEMO_REGIONS)
    table = TrailsTable(inventory)
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


def test_trail_picker_value_is_the_trail_and_on_change_fires(demo: Any, reader: Reader) -> None:
    trails = reader.scan_trails(DEMO_REGIONS)[0]
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


def test_key_picker_lists_ready_keys_first_with_their_labels(demo: Any, reader: Reader) -> None:
    _, estate = demo
    trail, verdicts = candidates(reader, "org-trail")
    seen: list[Any] = []
    picker = KeyPicker(lambda t: candidates(reader, t)[1], on_change=seen.append)
    picker.set_trail(trail)
    labels = picker.labels
    assert labels == [v.label for v in verdicts]
    kinds = [v.kind for v in picker.verdicts]
    order = [VerdictKind.READY, VerdictKind.UNVERIFIABLE, VerdictKind.BLOCKED]
    assert kinds == sorted(kinds, key=order.index)
    assert kinds[0] is VerdictKind.READY and kinds[-1] is VerdictKind.BLOCKED
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
    assert picker.key_text == estate.keys[DENY]
    reason = picker._w_reason.value
    assert "BLOCKED" in reason and "explicitly denies" in reason and "What to do" in reason


def test_key_picker_validates_the_typed_identifier(demo: Any, reader: Reader) -> None:
    _, estate = demo
    trail = reader.find_trail("org-trail")
    seen: list[Any] = []
    picker = KeyPicker(lambda t: candidates(reader, t)[1], on_change=seen.append)
    picker.set_trail(trail)

    picker._w_text.value = "alias with space"
    assert "tk-key-error" in picker._w_error._dom_classes
    assert "whitespace" in picker._w_error.value and "Not a key identifier" in picker._w_error.value
    assert picker._w_use.disabled
    picker._w_use.click()
    assert picker.value is None

    picker._w_text.value = "arn:aws:kms:us-east-1:123:key/abc"
    assert "12 digits" in picker._w_error.value

    other = estate.keys["alias/shared-logs-key"]
    picker._w_text.value = other
    assert picker._w_error.value == "" and not picker._w_use.disabled
    assert picker.value is None  # typed, not yet used
    picker._w_use.click()
    assert picker.value == other and seen[-1] == other
    assert "Typed identifier" in picker._w_reason.value

    ready = picker.verdicts[0]
    picker._w_select.value = ready
    assert picker.value is ready and picker._w_text.value == ""


def test_key_picker_offers_sse_s3_for_a_trail_with_a_key(demo: Any, reader: Reader) -> None:
    picker = KeyPicker(lambda t: candidates(reader, t)[1])
    picker.set_trail(reader.find_trail("app-trail", DEMO_REGIONS))
    assert any(value == DISABLE for _, value in picker._w_select.options)
    picker.select("")
    assert picker.value == DISABLE and "SSE-S3" in picker._w_reason.value


# -- Checklist ---------------------------------------------------------------------------------


def test_checklist_headlines_and_rows(demo: Any, reader: Reader) -> None:
    _, estate = demo
    checklist = Checklist()
    assert checklist.value is None and "Choose a trail" in checklist.html()
    assert "tk-checklist" in checklist._w_html._dom_classes

    ready = check(reader, "org-trail", GOOD)
    checklist.show(ready)
    html = checklist.html()
    assert checklist.value is ready
    assert 'class="tk-headline tk-ready">READY' in html
    assert "tk-finding-info" in html and "digest-files" in html
    assert "tk-finding-pass" in html and "The key is Enabled." in html

    blocked = check(reader, "org-trail", "alias/no-cloudtrail")
    checklist.show(blocked)
    html = checklist.html()
    assert 'class="tk-headline tk-blocked">BLOCKED' in html
    assert html.count("tk-finding-error") == 2  # policy-encrypt, policy-describe
    assert "kms:GenerateDataKey" in html and "What to do: add the CloudTrail" in html
    assert "InsufficientEncryptionPolicyException" in html
    assert "lets CloudTrail call kms:GenerateDataKey" not in html  # no false pass row

    denied = checklist_html(check(reader, "org-trail", DENY))
    assert "policy-deny" in denied and "No Deny statement" not in denied
    assert "lets CloudTrail call" not in denied  # a Deny: no Allow rule is claimed to pass

    unverifiable = check(reader, "org-trail", estate.keys["alias/shared-logs-key"])
    checklist.show(unverifiable)
    html = checklist.html()
    assert 'class="tk-headline tk-unverifiable">UNVERIFIABLE' in html
    assert "tk-finding-warning" in html


# -- ChangePanel -------------------------------------------------------------------------------


def test_apply_stays_disabled_while_the_plan_is_blocked(demo: Any, reader: Reader) -> None:
    fake = Recorder()
    panel = ChangePanel(fake.apply, fake.rollback)
    assert panel._w_apply.disabled and "tk-apply" in panel._w_apply._dom_classes
    panel.set_plan(_plan(reader, "org-trail", DENY))
    assert panel._w_apply.disabled
    panel._w_confirm.value = True
    assert panel._w_apply.disabled
    assert "BLOCKED (policy-deny)" in panel._w_why.value
    panel._w_apply.click()  # even a programmatic click sends nothing
    assert fake.applied == [] and panel.value is None
    assert "cannot be applied" in panel._w_plan.value


def test_apply_is_enabled_after_confirming_and_rollback_after_applying(
    demo: Any, reader: Reader
) -> None:
    fake = Recorder()
    done: list[ApplyResult] = []
    panel = ChangePanel(fake.apply, fake.rollback, on_done=done.append)
    plan = _plan(reader, "org-trail", GOOD)
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
    assert not panel._w_rollback.disabled and "tk-rollback" in panel._w_rollback._dom_classes

    panel._w_rollback.click()
    assert fake.rolled_back == ["chg-fake-1"]
    assert "rolled back (fake)" in panel._w_result.value
    assert panel._w_rollback.disabled
    assert [r.message for r in done] == ["applied (fake)", "rolled back (fake)"]


def test_on_real_aws_the_trail_name_must_be_typed(demo: Any, reader: Reader) -> None:
    fake = Recorder()
    panel = ChangePanel(fake.apply, fake.rollback, demo=False)
    panel.set_plan(_plan(reader, "org-trail", GOOD))
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
    assert not panel._w_rollback.disabled  # the typed name still matches
    panel._w_typed.value = ""
    assert panel._w_rollback.disabled


def test_errors_render_as_html_in_the_panel_never_a_traceback(demo: Any, reader: Reader) -> None:
    def refuse(plan: Plan) -> ApplyResult:
        raise RefusedError("org-trail changed since the plan was made.", "make a new plan")

    panel = ChangePanel(refuse, Recorder().rollback)
    panel.set_plan(_plan(reader, "org-trail", GOOD))
    panel._w_confirm.value = True
    panel._w_apply.click()  # does not raise
    assert "tk-error" in panel._w_result.value and "RefusedError" in panel._w_result.value
    assert "make a new plan" in panel._w_result.value
    assert isinstance(panel.error, RefusedError)
    assert panel._w_progress.value == ""  # the progress line is gone

    panel.show_error(RefusedError("No trail 'nope': there is nothing to plan.", "check it"))
    assert "nothing to plan" in panel._w_plan.value and panel._w_apply.disabled


def test_an_unknown_outcome_offers_no_rollback(demo: Any, reader: Reader) -> None:
    def unknown(plan: Plan) -> ApplyResult:
        return ApplyResult(
            plan,
            Outcome.UNKNOWN,
            "UpdateTrail timed out; run `trailkit journal --reconcile`.",
            change_id="chg-x",
        )

    panel = ChangePanel(unknown, Recorder().rollback)
    panel.set_plan(_plan(reader, "org-trail", GOOD))
    panel._w_confirm.value = True
    panel._w_apply.click()
    assert "tk-badge-unknown" in panel._w_result.value and "reconcile" in panel._w_result.value
    assert panel._w_apply.disabled and panel._w_rollback.disabled


def test_change_panel_applies_and_rolls_back_for_real(
    demo_rw: Any, demo_conn: Connection, journal: Journal
) -> None:
    _, estate = demo_rw
    actions = Actions(demo_conn, journal)
    panel = ChangePanel(actions.apply, actions.rollback)
    panel.set_plan(_plan(Reader(demo_conn), "org-trail", GOOD))
    panel._w_confirm.value = True
    panel._w_apply.click()
    arn = estate.trails["org-trail"]
    assert read_trail_key(demo_conn, arn, "us-east-1") == estate.keys[GOOD]
    assert "read back and verified" in panel._w_result.value
    assert "no delivery errors" in panel._w_result.value
    panel._w_rollback.click()
    assert read_trail_key(demo_conn, arn, "us-east-1") is None
    assert [c.status for c in journal.changes()] == ["done", "done"]


# -- PolicyPanel -------------------------------------------------------------------------------


def test_policy_panel_shows_the_add_only_diff_and_applies_it(
    demo_rw: Any, demo_conn: Connection, journal: Journal
) -> None:
    reader = Reader(demo_conn)
    repair = plan_policy_repair(reader, ["org-trail"], "alias/no-cloudtrail")
    actions = Actions(demo_conn, journal)
    panel = PolicyPanel(actions.apply_policy, repair)
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
    assert check(Reader(demo_conn), "org-trail", "alias/no-cloudtrail").ready
    (change,) = journal.changes()
    assert change.intent.kind.value == "key-policy"


def test_policy_panel_with_nothing_to_repair_or_a_refusal(
    demo: Any, demo_conn: Connection, journal: Journal
) -> None:
    ok = key_policy(demo_conn, journal, GOOD, ["org-trail"])
    assert ok.value is not None and not ok.value.needed
    assert "nothing to add" in ok._w_summary.value
    assert ok._w_actions.layout.display == "none" and ok.apply(True) is None

    refused = key_policy(demo_conn, journal, DENY, ["org-trail"])
    assert refused.value is None
    assert "RefusedError" in refused._w_summary.value and "Deny" in refused._w_summary.value


# -- JournalView -------------------------------------------------------------------------------


def test_journal_view_lists_changes_and_rolls_one_back(
    demo_rw: Any, demo_conn: Connection, journal: Journal
) -> None:
    _, estate = demo_rw
    actions = Actions(demo_conn, journal)
    first = actions.apply(_plan(Reader(demo_conn), "org-trail", GOOD))
    view = journal_view(demo_conn, journal)
    assert [c.change_id for c in view.value] == [first.change_id]
    assert first.change_id in view._w_table.value and "tk-badge-done" in view._w_table.value
    assert view._w_rollback.disabled
    view._w_select.value = first.change_id
    assert view._w_rollback.disabled
    view._w_confirm.value = True
    assert not view._w_rollback.disabled
    view._w_rollback.click()
    assert view.result is not None and view.result.outcome is Outcome.DONE
    assert read_trail_key(demo_conn, estate.trails["org-trail"], "us-east-1") is None
    assert len(view.value) == 2 and view.value[1].intent.rollback_of == first.change_id
    offered = [v for _, v in view._w_select.options if v]
    assert offered == [view.value[1].change_id]  # the original is undone; the undo can be
    assert "Rollback of" in view._w_result.value


# -- BulkUpdate --------------------------------------------------------------------------------


def test_bulk_update_plans_every_trail_and_applies_only_the_ready_ones(
    demo_rw: Any, demo_conn: Connection, journal: Journal
) -> None:
    _, estate = demo_rw
    inventory = Reader(demo_conn).scan(DEMO_REGIONS)
    bulk = bulk_update(demo_conn, journal, inventory)
    step = bulk.choose(
        ["org-trail", "tokyo-trail", "bucketkey-trail"],
        {"us-east-1": GOOD, "us-west-2": "alias/cloudtrail-good-usw2"},
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
    assert "2 of 2 trail(s) changed" in bulk._w_results.value
    assert (
        read_trail_key(demo_conn, estate.trails["tokyo-trail"], "ap-northeast-1")
        == (estate.keys["alias/cloudtrail-good-usw2"])
    )
    assert read_trail_key(demo_conn, estate.trails["bucketkey-trail"], "us-west-2") is None


# -- GuidedUpdate ------------------------------------------------------------------------------


def _guided(conn: Connection, journal: Journal) -> GuidedUpdate:
    return guided_update(conn, journal, regions=DEMO_REGIONS)


def test_guided_update_wires_every_step(
    demo_rw: Any, demo_conn: Connection, journal: Journal
) -> None:
    _, estate = demo_rw
    guided = _guided(demo_conn, journal)
    guided.load()
    assert "trail(s) found" in guided._w_status.value
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
    assert "explicitly denies" in guided.keys._w_reason.value
    assert "will not edit the Deny" in guided.policy._w_summary.value

    good = next(v for v in guided.keys.verdicts if v.key.arn == estate.keys[GOOD])
    guided.keys._w_select.value = good
    assert "READY" in guided.checklist.html()
    assert "needs no change" in guided.policy._w_summary.value
    assert guided.change._w_apply.disabled
    guided.change._w_confirm.value = True
    assert not guided.change._w_apply.disabled
    guided.change._w_apply.click()

    assert "read back and verified" in guided.change._w_result.value
    assert read_trail_key(demo_conn, org.arn, "us-east-1") == estate.keys[GOOD]
    assert "SSE-KMS" in guided.trails._w_info.value  # re-read after the change
    assert "tk-badge-done" in guided.journal._w_table.value
    assert not guided.change._w_rollback.disabled
    guided.change._w_rollback.click()
    assert read_trail_key(demo_conn, org.arn, "us-east-1") is None
    assert "Now: <b>SSE-S3</b>" in guided.trails._w_info.value
    assert len(guided.journal.value) == 2


def test_guided_update_headless_repairs_the_policy_then_applies(
    demo_rw: Any, demo_conn: Connection, journal: Journal
) -> None:
    _, estate = demo_rw
    guided = _guided(demo_conn, journal)
    step = guided.choose("org-trail", "alias/no-cloudtrail")
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
    key = estate.keys["alias/no-cloudtrail"]
    assert read_trail_key(demo_conn, estate.trails["org-trail"], "us-east-1") == key
    verified = guided.verify()
    assert verified is not None and key in verified.html
    back = guided.rollback(True)
    assert back is not None and back.ok
    assert read_trail_key(demo_conn, estate.trails["org-trail"], "us-east-1") is None
    kinds = [c.intent.kind.value for c in journal.changes()]
    assert kinds == ["key-policy", "trail-key", "trail-key"]
    assert guided.choose() is None and guided.rollback(False) is None


def test_guided_update_shows_read_errors_as_html(demo: Any, demo_conn: Connection) -> None:
    def broken() -> list[Any]:
        raise RefusedError("The trails cannot be listed here.", "grant cloudtrail:DescribeTrails")

    guided = GuidedUpdate(
        Reader(demo_conn),
        Journal("/nonexistent/j.jsonl"),
        apply=Recorder().apply,
        rollback=Recorder().rollback,
        list_trails=broken,
    )
    guided.load()
    assert "tk-error" in guided._w_status.value and "DescribeTrails" in guided._w_status.value
    assert json.dumps(guided.html())  # a static summary is always available
