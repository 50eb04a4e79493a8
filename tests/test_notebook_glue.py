"""The notebook glue (:mod:`trailkit.ui.notebook`) and the widgets on the real runbook, against
the demo estate (conftest's moto server): the flows ``test_widgets.py`` shows with fakes, here
with real reads, real journaled writes and real read-backs.

Tests that change the estate use ``demo_rw`` (reseeded afterwards).
"""

from __future__ import annotations

import json
import threading
from functools import partial
from pathlib import Path
from typing import Any

import pytest
from widget_fakes import DENY, GOOD, GOOD_USW2, NO_CLOUDTRAIL, SHARED, FakeEstate

from tests.conftest import fail_call
from trailkit.aws.reader import Reader
from trailkit.aws.session import Connection
from trailkit.aws.writes import read_trail_key
from trailkit.change.journal import Journal
from trailkit.demo import DEMO_REGIONS
from trailkit.errors import RefusedError
from trailkit.records import Outcome
from trailkit.runbook import Runbook
from trailkit.ui.notebook import (
    bulk_update,
    changes_table,
    check_trails,
    guided_update,
    journal_view,
    key_policy,
    runbook,
)
from trailkit.ui.widgets import ChangePanel, ConnectionBanner, KeyPicker, PolicyPanel, TrailsTable


@pytest.fixture
def journal(tmp_path: Path) -> Journal:
    return Journal(tmp_path / "journal.jsonl")


@pytest.fixture
def book(demo_conn: Connection, journal: Journal) -> Runbook:
    return runbook(demo_conn, journal, regions=DEMO_REGIONS)


# -- the fakes of test_widgets.py tell the truth --------------------------------------------------


def test_the_widgets_show_the_demo_as_the_fakes_do(demo: Any, book: Runbook) -> None:
    _, estate = demo
    fake = FakeEstate()
    banner = ConnectionBanner(book.info())
    assert "tk-banner-demo" in banner._w_html._dom_classes

    inventory = Reader(book.conn).scan(DEMO_REGIONS)
    table = TrailsTable(inventory)
    names = [t.name for t in table.value]
    assert sorted(names) == sorted(set(names))  # each trail once (shadow trails folded in)
    assert {t.name for t in fake.trails.values()} <= set(names)
    assert table._w_table.value.count(">org-trail<") == 1

    # The same verdict (kind and code) for every key both estates have.
    org = book.find_trail("org-trail")
    picker = KeyPicker(book.rank)
    picker.set_trail(org)
    real = {v.key.alias: (v.kind, v.code) for v in picker.verdicts}
    faked = {v.key.alias: (v.kind, v.code) for v in fake.rank(fake.trail("org-trail"))}
    shared = set(real) & set(faked)
    assert {GOOD, DENY, NO_CLOUDTRAIL} <= shared
    assert {a: real[a] for a in shared} == {a: faked[a] for a in shared}
    good_id = estate.key_id(GOOD)[:8]
    assert f"{GOOD} ({good_id}) - ready" in picker.labels

    # The same findings for the checklists' reports. The fakes model another account out of
    # reach (its key unreadable): a role that does not exist there (through the default role,
    # the log-archive account reads its own key, policy and all).
    unreachable = runbook(book.conn, book.journal, regions=DEMO_REGIONS, role_name="NoSuchRole")
    for key, fake_key in [
        (GOOD, GOOD),
        (NO_CLOUDTRAIL, NO_CLOUDTRAIL),
        (DENY, DENY),
        (estate.keys[SHARED], fake.arn(SHARED)),
    ]:
        got = unreachable.check("org-trail", key)
        want = fake.check("org-trail", fake_key)
        assert [f.code for f in got.findings] == [f.code for f in want.findings], key
        assert got.verdict is want.verdict


# -- ChangePanel -------------------------------------------------------------------------------


def test_change_panel_applies_and_rolls_back_for_real(
    demo_rw: Any, demo_conn: Connection, book: Runbook, journal: Journal
) -> None:
    _, estate = demo_rw
    panel = ChangePanel(partial(book.apply, confirmed=True), partial(book.rollback, confirmed=True))
    panel.set_plan(book.plan_for("org-trail", GOOD))
    panel._w_confirm.value = True
    panel._w_apply.click()
    arn = estate.trails["org-trail"]
    assert read_trail_key(demo_conn, arn, "us-east-1") == estate.keys[GOOD]
    assert "read back and verified" in panel._w_result.value
    assert "no delivery errors" in panel._w_result.value
    panel._w_rollback_confirm.value = True
    panel._w_rollback.click()
    assert read_trail_key(demo_conn, arn, "us-east-1") is None
    assert [c.status for c in journal.changes()] == ["done", "done"]


# -- PolicyPanel and key_policy ----------------------------------------------------------------


def test_policy_panel_shows_the_add_only_diff_and_applies_it(
    demo_rw: Any, book: Runbook, journal: Journal
) -> None:
    repair = book.plan_repair(["org-trail"], NO_CLOUDTRAIL)
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
    book.refresh()
    assert book.check("org-trail", NO_CLOUDTRAIL).ready
    (change,) = journal.changes()
    assert change.intent.kind.value == "key-policy"


def test_key_policy_applies_headless(demo_rw: Any, demo_conn: Connection, journal: Journal) -> None:
    panel = key_policy(demo_conn, journal, NO_CLOUDTRAIL, ["org-trail"])
    assert panel.value is not None and panel.value.needed
    assert panel.apply(False) is None
    step = panel.apply(True)
    assert step is not None and step.ok and "updated and read back" in step.html
    assert [c.intent.kind.value for c in journal.changes()] == ["key-policy"]


def test_policy_panel_with_nothing_to_repair_or_a_refusal(
    demo: Any, demo_conn: Connection, journal: Journal
) -> None:
    ok = key_policy(demo_conn, journal, GOOD, ["org-trail"])
    assert ok.value is not None and not ok.value.needed
    assert "nothing to add" in ok._w_summary.value
    assert ok._w_actions.layout.display == "none" and ok.apply(True) is None

    refused = key_policy(demo_conn, journal, DENY, ["org-trail"])
    assert refused.value is None
    assert "Refused:" in refused._w_summary.value and "Deny" in refused._w_summary.value

    unset = key_policy(demo_conn, journal, None, ["org-trail"])
    assert unset.value is None and "parameters cell" in unset._w_summary.value
    assert journal.changes() == []


# -- check_trails and changes_table --------------------------------------------------------------


def test_check_trails_and_changes_table(demo: Any, demo_conn: Connection, journal: Journal) -> None:
    assert check_trails(demo_conn, None, GOOD) is None
    step = check_trails(demo_conn, ["org-trail"], GOOD)
    assert step is not None and step.ok and "READY" in step.html
    blocked = check_trails(demo_conn, ["org-trail", "tokyo-trail"], GOOD)
    assert blocked is not None and not blocked.ok and len(blocked.value) == 2
    assert changes_table(journal).empty


# -- JournalView -------------------------------------------------------------------------------


def test_journal_view_lists_changes_and_rolls_one_back(
    demo_rw: Any, demo_conn: Connection, book: Runbook, journal: Journal
) -> None:
    _, estate = demo_rw
    first = book.apply(book.plan_for("org-trail", GOOD), confirmed=True)
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
    assert list(changes_table(journal)["change_id"]) == [c.change_id for c in view.value]


def test_journal_view_restores_a_key_policy(
    demo_rw: Any, demo_conn: Connection, book: Runbook, journal: Journal
) -> None:
    repaired = book.apply_repair(book.plan_repair(["org-trail"], NO_CLOUDTRAIL), confirmed=True)
    assert repaired.change_id is not None
    view = journal_view(demo_conn, journal)
    step = view.rollback(repaired.change_id)
    assert step is not None and step.ok and "Key policy" in step.html
    book.refresh()
    assert not book.check("org-trail", NO_CLOUDTRAIL).ready  # the old policy is back


# -- BulkUpdate --------------------------------------------------------------------------------


def test_bulk_update_plans_every_trail_and_applies_only_the_ready_ones(
    demo_rw: Any, demo_conn: Connection, journal: Journal
) -> None:
    _, estate = demo_rw
    inventory = Reader(demo_conn).scan(DEMO_REGIONS)
    bulk = bulk_update(demo_conn, journal, inventory)
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
    assert bulk.key_labels["us-east-1"][0].endswith("- ready")
    assert any("blocked: policy-bucket-key-decrypt" in k for k in bulk.key_labels["us-west-2"])
    assert (
        read_trail_key(demo_conn, estate.trails["tokyo-trail"], "ap-northeast-1")
        == (estate.keys["alias/cloudtrail-good-usw2"])
    )
    assert read_trail_key(demo_conn, estate.trails["bucketkey-trail"], "us-west-2") is None


# -- GuidedUpdate ------------------------------------------------------------------------------


def test_guided_update_wires_every_step(
    demo_rw: Any, demo_conn: Connection, journal: Journal
) -> None:
    _, estate = demo_rw
    guided = guided_update(demo_conn, journal, regions=DEMO_REGIONS)
    guided.load()
    assert " found in " in guided._w_status.value
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
    assert "see the checklist" in guided.keys._w_reason.value  # one voice
    assert "explicitly denies" in guided.checklist.html()
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
    guided.change._w_rollback_confirm.value = True
    assert not guided.change._w_rollback.disabled
    guided.change._w_rollback.click()
    assert read_trail_key(demo_conn, org.arn, "us-east-1") is None
    assert "Now: <b>SSE-S3</b>" in guided.trails._w_info.value
    assert len(guided.journal.value) == 2


def test_guided_update_headless_repairs_the_policy_then_applies(
    demo_rw: Any, demo_conn: Connection, journal: Journal
) -> None:
    _, estate = demo_rw
    guided = guided_update(demo_conn, journal, regions=DEMO_REGIONS)
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


def test_guided_update_shows_read_errors_as_html(
    demo: Any, demo_conn: Connection, journal: Journal
) -> None:
    fail_call(demo_conn, "ec2", "DescribeRegions")  # every enabled region: cannot be listed
    guided = guided_update(demo_conn, journal)
    guided.load()
    assert "tk-error" in guided._w_status.value and "DescribeRegions" in guided._w_status.value
    assert json.dumps(guided.html())  # a static summary is always available


def test_guided_update_says_when_the_trails_could_not_be_listed(
    demo: Any, demo_conn: Connection, journal: Journal
) -> None:
    fail_call(demo_conn, "cloudtrail", "DescribeTrails")
    guided = guided_update(demo_conn, journal, regions=DEMO_REGIONS)
    guided.load()
    assert "tk-error" in guided._w_status.value
    assert "DescribeTrails" in guided._w_status.value
    assert " found in " not in guided._w_status.value


# -- issue 17: the delivery proof and the change as code, through the glue ------------------------
# Runbook.verify_change and Runbook.snippet are stood in for (monkeypatched): these tests are of
# the glue's wiring and argument checks; the runbook's own tests prove the methods.


class _Proof:
    status = "proven"
    trail_arn = "arn:aws:cloudtrail:us-east-1:123456789012:trail/org-trail"
    expected_encryption = "aws:kms"
    expected_key = None
    since = None
    log = None
    digest = None
    digest_expected = False
    reason = "Proven."
    fix = ""
    change_id = None
    checked_at = None


def test_prove_delivery_runs_the_runbooks_proof_with_the_wait_read_strictly(
    demo: Any, book: Runbook, monkeypatch: pytest.MonkeyPatch
) -> None:
    from trailkit.errors import InputError
    from trailkit.ui.notebook import prove_applied, prove_delivery

    calls: list[tuple[Any, dict[str, Any]]] = []

    def verify_change(self: Runbook, trail: Any, **kwargs: Any) -> Any:
        calls.append((trail, kwargs))
        return _Proof()

    monkeypatch.setattr(Runbook, "verify_change", verify_change, raising=False)
    view = prove_delivery(book, "org-trail", wait="90s", change_id="c-1")
    assert isinstance(view.value, _Proof) and "tk-proof-proven" in view.html()
    ((trail, kwargs),) = calls
    assert trail == "org-trail" and kwargs["change_id"] == "c-1" and kwargs["wait"] == 90.0
    assert prove_delivery(book, "org-trail").value is None  # no wait: the button runs it
    assert view.wait == 90.0 and len(calls) == 1
    for bad in ({"trail": ""}, {"trail": "org-trail", "wait": "later"}):
        with pytest.raises(InputError):
            prove_delivery(book, **bad)
    with pytest.raises(InputError) as caught:
        prove_delivery("book", "org-trail")  # type: ignore[arg-type]
    assert "book" in str(caught.value)
    with pytest.raises(InputError) as caught:
        prove_applied(book, "bulk")  # type: ignore[arg-type]
    assert "bulk" in str(caught.value)


def test_prove_applied_button_runs_in_the_background_and_cancel_stops_every_wait(
    demo: Any, book: Runbook, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Notebook 04's proof view: Prove delivery runs in the background; Cancel stops the
    wait of the trail being proved, and the trails left are looked at once (wait 0)."""
    from types import SimpleNamespace

    from trailkit.ui.notebook import bulk_update, prove_applied
    from trailkit.ui.widgets import BulkUpdate

    def result(name: str) -> Any:
        trail = SimpleNamespace(name=name, arn=f"arn:aws:cloudtrail:us-east-1:1:trail/{name}")
        return SimpleNamespace(
            plan=SimpleNamespace(trail=trail), change_id=f"c-{name}", changed=True
        )

    results = [result("a"), result("b")]
    monkeypatch.setattr(BulkUpdate, "results", property(lambda self: results))
    started = threading.Event()
    calls: list[tuple[str, dict[str, Any]]] = []

    def verify_change(self: Runbook, trail: Any, **kwargs: Any) -> Any:
        calls.append((trail.name, kwargs))
        if kwargs["wait"] > 0:  # a proof that waits: until cancelled
            kwargs["progress"](_Proof(), kwargs["wait"])
            started.set()
            assert kwargs["cancel"].wait(30), "Cancel never reached the running proof"
        return _Proof()

    monkeypatch.setattr(Runbook, "verify_change", verify_change, raising=False)
    view = prove_applied(book, bulk_update(book, inventory=Reader(book.conn).scan(DEMO_REGIONS)), 0)
    assert view is not None and [n for n, __ in calls] == ["a", "b"]
    calls.clear()
    view.set_wait(600)
    thread = view.start()
    assert thread is not None and started.wait(10) and view.running
    assert not view._w_cancel.disabled and view._w_bar.max == 600
    view._w_cancel.click()
    thread.join(30)
    assert not thread.is_alive() and not view.running
    assert [(n, kw["wait"]) for n, kw in calls][1] == ("b", 0.0)  # not waited for after Cancel
    assert "2 of 2 changed trails proven" in view.html()


def test_change_as_code_writes_every_format_of_the_runbooks_snippet(
    demo: Any, book: Runbook, monkeypatch: pytest.MonkeyPatch
) -> None:
    from trailkit.errors import InputError
    from trailkit.ui.notebook import change_as_code

    calls: list[tuple[Any, ...]] = []

    class Snip:
        def __init__(self, fmt: str, key: str) -> None:
            self.format, self.language, self.text = fmt, "json", f"{fmt}: {key}"
            self.key_arn, self.statements = key, ()

    def snippet(self: Runbook, trail: Any, key: str, fmt: str) -> Any:
        calls.append((trail, key, fmt))
        return Snip(fmt, key)

    monkeypatch.setattr(Runbook, "snippet", snippet, raising=False)
    view = change_as_code(book, "org-trail", GOOD)
    assert calls == [("org-trail", GOOD, f) for f in ("cloudformation", "terraform", "cdk")]
    assert view.text("terraform") == f"terraform: {GOOD}"
    for trail, key in (("", GOOD), ("org-trail", ""), ("org-trail", None)):
        with pytest.raises(InputError):
            change_as_code(book, trail, key)  # type: ignore[arg-type]


def test_prove_applied_proves_each_changed_trail_and_shows_a_failed_one_in_its_place(
    demo: Any, book: Runbook, monkeypatch: pytest.MonkeyPatch
) -> None:
    from types import SimpleNamespace

    from trailkit.errors import AccessDenied
    from trailkit.ui.notebook import bulk_update, prove_applied
    from trailkit.ui.widgets import BulkUpdate

    inventory = Reader(book.conn).scan(DEMO_REGIONS)
    bulk = bulk_update(book, inventory=inventory)
    assert prove_applied(book, bulk, "0") is None  # nothing applied: nothing to prove

    def result(name: str, change_id: str | None, changed: bool = True) -> Any:
        trail = SimpleNamespace(name=name, arn=f"arn:aws:cloudtrail:us-east-1:1:trail/{name}")
        return SimpleNamespace(
            plan=SimpleNamespace(trail=trail), change_id=change_id, changed=changed
        )

    results = [result("a", "c-a"), result("b", "c-b"), result("c", None, changed=False)]
    monkeypatch.setattr(BulkUpdate, "results", property(lambda self: results))
    calls: list[tuple[str, dict[str, Any]]] = []

    def verify_change(self: Runbook, trail: Any, **kwargs: Any) -> Any:
        calls.append((trail.name, kwargs))
        if trail.name == "b":
            raise AccessDenied("s3:ListBucket was denied.", "grant s3:ListBucket")
        return _Proof()

    monkeypatch.setattr(Runbook, "verify_change", verify_change, raising=False)
    view = prove_applied(book, bulk, "30s")
    assert view is not None and not view.running
    step = view.value  # the Step of every proof, the view's result
    assert step is not None and not step.ok
    assert [(name, kw["change_id"]) for name, kw in calls] == [("a", "c-a"), ("b", "c-b")]
    assert all(0 <= kw["wait"] <= 30 for __, kw in calls)
    assert "1 of 2 changed trails proven" in step.title
    assert "tk-proof-proven" in step.html and "s3:ListBucket was denied." in step.html
    assert isinstance(step.value[1], AccessDenied)
    # each proof follows the view's wait and can be cancelled from it (issue 17)
    assert all(isinstance(kw["cancel"], threading.Event) for __, kw in calls)
    assert all(kw["progress"] == view._progress for __, kw in calls)
    assert "1 of 2 changed trails proven" in view.html() and view._w_bar.max == 30
