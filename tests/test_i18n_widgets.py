"""The widgets in Japanese (issue "日本語"): every text an operator sees, no English left.

Headless and without AWS, like ``test_widgets.py``: the widgets are built after the language is
chosen (as a notebook does with its ``lang`` parameter), driven through their main path with
the fakes of ``widget_fakes``, and every visible text (descriptions, labels, HTML values
without their tags, dropdown option labels, placeholders and tooltips) goes to the one judge
of English left (``tests/english.py``). Codes, ARNs, names and API parameter names stay as
they are. The English texts are checked by the other widget tests (unchanged).
"""

from __future__ import annotations

import dataclasses
import html
import re
import time
from collections.abc import Iterator
from functools import partial
from typing import Any

import ipywidgets as widgets
import pytest
from english import assert_japanese
from widget_fakes import (
    DENY,
    GOOD,
    GOOD_USW2,
    INFO,
    NO_CLOUDTRAIL,
    FakeEstate,
    FakeRunbook,
)

from trailkit import i18n
from trailkit.ui.widgets import (
    BulkUpdate,
    ConnectionBanner,
    GuidedUpdate,
    JournalView,
    TrailsTable,
)
from trailkit.ui.widgets.journal import local_time
from trailkit.ui.widgets.policy_picker import KeyPolicyView


@pytest.fixture(autouse=True)
def japanese() -> Iterator[None]:
    """Speak Japanese while the widgets are built and driven; English again afterwards."""
    i18n.set_language("ja")
    try:
        yield
    finally:
        i18n.set_language("en")


@pytest.fixture
def estate() -> FakeEstate:
    return FakeEstate()


@pytest.fixture
def book(estate: FakeEstate) -> FakeRunbook:
    return FakeRunbook(estate)


def _names(estate: FakeEstate) -> list[str]:
    """What stays as it is: trail, bucket and key names, regions, accounts, and the request's
    API parameter names (``Name``, ``KmsKeyId``: what is sent)."""
    out = ["Name", "KmsKeyId", INFO.account, INFO.endpoint, "operator"]
    for t in estate.trails.values():
        out += [t.name, t.arn, t.home_region, t.bucket_name or "", t.bucket_region or ""]
    for alias, k in estate.keys.items():
        out += [alias, k.arn, k.key_id, k.account]
    return out


_STYLE = re.compile(r"<style>.*?</style>", re.S)
_TAG = re.compile(r"<[^>]+>")
_ICON = re.compile(r'<span class="tk-icon">[^<]*</span>')


def _backticked(match: re.Match[str]) -> str:
    """Code as the judge reads it: each of its lines in backticks."""
    return "\n".join(f"`{line}`" if line.strip() else line for line in match.group(1).split("\n"))


def _html_text(value: str) -> str:
    """What a person reads in an HTML value: no stylesheet, no tags; code kept as code."""
    value = _STYLE.sub(" ", value)
    value = _ICON.sub(" ", value)  # ✖ ! i: signs, not words (the browser judge skips them too)
    value = re.sub(r"<code>(.*?)</code>", _backticked, value, flags=re.S)
    value = re.sub(r"<(?:br|/div|/li|/tr|/p|/summary)[^>]*>", "\n", value)
    return html.unescape(_TAG.sub(" ", value))


def visible_text(widget: Any) -> str:
    """Every text of ``widget`` and its children an operator may see."""
    out: list[str] = []

    def walk(w: Any) -> None:
        if isinstance(w, widgets.HTML):
            out.append(_html_text(str(w.value)))
        for attr in ("description", "placeholder", "tooltip", "description_tooltip"):
            text = getattr(w, attr, None)
            if isinstance(text, str) and text:
                out.append(text)
        options = getattr(w, "options", None)
        if options:
            for option in options:
                out.append(option[0] if isinstance(option, tuple) else str(option))
        for child in getattr(w, "children", ()):
            walk(child)

    walk(widget)
    return "\n".join(out)


def _judge(text: str, estate: FakeEstate, what: str) -> None:
    assert re.search(r"[\u3040-\u30ff\u4e00-\u9fff]", text), f"no Japanese in the {what}"
    assert_japanese(text, _names(estate), what=what)


def test_the_guided_update_in_japanese(estate: FakeEstate, book: FakeRunbook) -> None:
    guided = GuidedUpdate(book)
    guided.load()
    assert "件の証跡が見つかりました" in guided._w_status.value
    _judge(visible_text(guided.layout), estate, "guided update before a choice")

    org = guided.trails.find("org-trail")
    assert org is not None
    guided.trails._w_select.value = org
    deny = next(v for v in guided.keys.verdicts if v.code == "policy-deny")
    guided.keys._w_select.value = deny  # blocked: the checklist says why
    assert guided.change._w_apply.disabled
    _judge(visible_text(guided.layout), estate, "guided update of a blocked key")

    good = next(v for v in guided.keys.verdicts if v.key.arn == estate.arn(GOOD))
    guided.keys._w_select.value = good
    assert "適用可能" in guided.checklist.html()
    _judge(visible_text(guided.layout), estate, "guided update of a ready key (preview)")

    guided.change._w_confirm.value = True
    assert not guided.change._w_apply.disabled
    guided.change._w_apply.click()
    assert estate.trail("org-trail").kms_key_id == estate.arn(GOOD)
    _judge(visible_text(guided.layout), estate, "guided update after apply")

    guided.change._w_rollback_confirm.value = True
    guided.change._w_rollback.click()
    assert estate.trail("org-trail").kms_key_id is None
    _judge(visible_text(guided.layout), estate, "guided update after rollback")


def test_the_headless_guided_steps_in_japanese(estate: FakeEstate, book: FakeRunbook) -> None:
    guided = GuidedUpdate(book)
    steps = [guided.choose("org-trail", NO_CLOUDTRAIL)]
    _judge(visible_text(guided.layout), estate, "guided update of a key to repair")
    steps.append(guided.repair_policy(True))
    steps.append(guided.apply(True))
    steps.append(guided.verify())
    steps.append(guided.rollback(True))
    for step in steps:
        assert step is not None
        _judge(f"{step.title}\n{_html_text(step.html)}", estate, f"step {step.title}")
    _judge(visible_text(guided.layout), estate, "guided update after the headless steps")


def test_real_aws_confirmation_keeps_the_word_to_type(estate: FakeEstate) -> None:
    book = FakeRunbook(estate, info=dataclasses.replace(INFO, demo=False))
    guided = GuidedUpdate(book)
    guided.choose("org-trail", GOOD)
    hint = guided.change._confirm._w_typed_hint.value
    assert "<code>org-trail</code>" in hint and "実際の AWS" in hint
    _judge(visible_text(guided.layout), estate, "guided update on real AWS")


def test_the_bulk_update_in_japanese(estate: FakeEstate, book: FakeRunbook) -> None:
    bulk = BulkUpdate(
        estate.inventory().trails,
        keys=book.candidate_keys,
        rank=book.rank,
        plan=book.plan_many,
        apply=partial(book.apply_many, confirmed=True),
    )
    _judge(visible_text(bulk.layout), estate, "bulk update before a choice")
    step = bulk.choose(
        ["org-trail", "tokyo-trail", "bucketkey-trail"],
        {"us-east-1": GOOD, "us-west-2": GOOD_USW2},
    )
    assert step is not None
    _judge(visible_text(bulk.layout), estate, "bulk update plans")
    applied = bulk.apply(True)
    assert applied is not None
    assert "3 件の証跡のうち 2 件を変更しました" in bulk._w_results.value
    _judge(visible_text(bulk.layout), estate, "bulk update results")
    _judge(f"{applied.title}\n{_html_text(applied.html)}", estate, "bulk apply step")
    wrong = bulk.choose(["no-such-trail"], {})
    assert wrong is not None
    _judge(_html_text(wrong.html), estate, "bulk update of an unknown trail")


def test_the_journal_view_in_japanese(
    estate: FakeEstate, book: FakeRunbook, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TZ", "Asia/Tokyo")
    time.tzset()
    try:
        guided = GuidedUpdate(book)
        guided.choose("org-trail", GOOD)
        guided.apply(True)
        view = JournalView(
            book.journal, partial(book.undo, confirmed=True), preview=book.plan_rollback
        )
        _judge(visible_text(view.layout), estate, "journal view")
        assert "UTC+09:00" in view._w_table.value  # the operator's timezone, with the zone
        change_id = view.value[-1].change_id
        view.select(change_id)
        _judge(visible_text(view.layout), estate, "journal view with a rollback preview")
        step = view.rollback(change_id)
        assert step is not None
        _judge(visible_text(view.layout), estate, "journal view after a rollback")
        _judge(f"{step.title}\n{_html_text(step.html)}", estate, "journal rollback step")
    finally:
        monkeypatch.delenv("TZ")
        time.tzset()


def test_journal_times_are_local_with_the_zone(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TZ", "Asia/Tokyo")
    time.tzset()
    try:
        assert local_time("2026-12-04T15:30:00Z") == "2026-12-05 00:30:00 UTC+09:00"
        assert local_time("2026-12-04T15:30:00+00:00") == "2026-12-05 00:30:00 UTC+09:00"
        assert local_time("not a time") == "not a time"
    finally:
        monkeypatch.delenv("TZ")
        time.tzset()
    monkeypatch.setenv("TZ", "UTC")
    time.tzset()
    try:
        assert local_time("2026-12-04T15:30:00Z") == "2026-12-04 15:30:00 UTC"
    finally:
        monkeypatch.delenv("TZ")
        time.tzset()


def _key_policy_view(estate: FakeEstate, book: FakeRunbook) -> KeyPolicyView:
    return KeyPolicyView(
        list(estate.trails.values()),
        rank=book.rank,
        check=book.check,
        plan_repair=lambda trails, key: estate.repair(
            [t.name for t in trails],
            next(a for a, k in estate.keys.items() if key in (k.arn, a)),
        ),
        apply=partial(book.apply_repair, confirmed=True),
        refresh=book.refresh,
        reread=book.reread,
    )


def test_the_key_policy_view_in_japanese(estate: FakeEstate, book: FakeRunbook) -> None:
    view = _key_policy_view(estate, book)
    _judge(visible_text(view.layout), estate, "key policy view before a choice")
    view.choose(["org-trail"], NO_CLOUDTRAIL)
    _judge(visible_text(view.layout), estate, "key policy view with a repair")
    step = view.apply(True)
    assert step is not None
    _judge(f"{step.title}\n{_html_text(step.html)}", estate, "key policy update step")
    _judge(visible_text(view.layout), estate, "key policy view after the repair")
    after = view.after()
    assert after is not None
    _judge(f"{after.title}\n{_html_text(after.html)}", estate, "pre-flight after the repair")


def test_the_key_policy_view_of_a_denied_key_in_japanese(
    estate: FakeEstate, book: FakeRunbook
) -> None:
    view = _key_policy_view(estate, book)
    view.choose(["org-trail"], DENY)
    _judge(visible_text(view.layout), estate, "key policy view of a denied key")


def test_the_banner_and_the_trails_table_in_japanese(estate: FakeEstate) -> None:
    inventory = estate.inventory()
    banner = ConnectionBanner(INFO, inventory)
    _judge(_html_text(banner.html()), estate, "connection banner")
    table = TrailsTable(inventory)
    # the filters and the count (the table's cells are the tables module's)
    controls = "\n".join(
        visible_text(w) for w in (table._w_region, table._w_encryption, table._w_count)
    )
    assert "(すべて)" in controls
    _judge(controls, estate, "trails table filters")
    table._w_encryption.value = "SSE-KMS"  # the option values stay as they are
    assert {t.encryption for t in table.value} == {"SSE-KMS"}


def test_errors_are_shown_in_japanese(estate: FakeEstate) -> None:
    from trailkit.errors import InputError
    from trailkit.ui.widgets._common import error_html

    shown = _html_text(error_html(InputError("x", "")))
    assert "無効な入力" in shown and "対処" not in shown
    guided = GuidedUpdate(FakeRunbook(estate))
    with pytest.raises(InputError) as caught:
        guided.choose(None, "")
    assert "SSE-KMS" in caught.value.message
    _judge(caught.value.message, estate, "error of an empty key")


def test_english_is_unchanged(estate: FakeEstate) -> None:
    """The same widgets in English say what they said before (the message ids)."""
    i18n.set_language("en")
    book = FakeRunbook(estate, info=dataclasses.replace(INFO, demo=False))
    guided = GuidedUpdate(book)
    guided.choose("org-trail", GOOD)
    hint = guided.change._confirm._w_typed_hint.value
    assert "This is <b>real AWS</b>: type <code>org-trail</code> to confirm." in hint
    assert guided.change._w_apply.description == "Apply"
    assert "READY<small>AWS will accept this change.</small>" in guided.checklist.html()
    assert "tick the confirmation box" in guided.change.blockers
    demo = FakeRunbook(estate)
    applied = GuidedUpdate(demo)
    applied.choose("org-trail", GOOD)
    applied.apply(True)
    view = JournalView(demo.journal, partial(demo.undo, confirmed=True))
    table = view._w_table.value
    heads = re.findall(r"<th[^>]*>([^<]*)</th>", table)
    assert heads[:4] == ["change_id", "time", "kind", "status"] and "undone_by" in heads
    assert ">done</span>" in table
    assert view._w_select.options[0][0] == "— choose a change to roll back —"
