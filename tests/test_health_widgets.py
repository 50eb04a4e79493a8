"""Health in the notebooks (issue 15 item 5): notebook 01's summary, the trails table coloured by
health, the guided update's warning about a broken trail and the repair it offers.

The widgets are tested headless on the fake estate (``tests/widget_fakes.py``: no AWS); the
summary and the warning are then checked on the seeded demo (moto) through the notebook glue.
Per-trail health is pinned for the trails named here only, never total counts: the demo grows.
"""

from __future__ import annotations

import dataclasses
import html
import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from types import MappingProxyType
from typing import Any

import pytest
from english import assert_japanese
from widget_fakes import (
    ACCOUNT,
    INFO,
    NO_CLOUDTRAIL,
    FakeEstate,
    FakeRunbook,
    make_trail,
)

from tests.test_notebooks import cell_html, kernel_env, run
from trailkit import i18n
from trailkit.errors import AccessDenied
from trailkit.records import Inventory, ScanError, Trail
from trailkit.rules.health import Health, HealthKind, HealthReason, health
from trailkit.ui import tables
from trailkit.ui.widgets import GuidedUpdate, HealthSummary, TrailsTable
from trailkit.ui.widgets.health import health_warning_html

__all__ = ["kernel_env"]  # the fixture (papermill kernels' environment), for the tests below

_TAG = re.compile(r"<[^>]+>")
_STYLE = re.compile(r"<style>.*?</style>", re.S)


def _text(value: str) -> str:
    """What a person reads in HTML: no stylesheet, no tags."""
    value = _STYLE.sub(" ", value)
    value = re.sub(r"<code[^>]*>(.*?)</code>", r"`\1`", value, flags=re.S)  # code stays code
    value = re.sub(r"<(?:br|/div|/li|/tr|/p)[^>]*>", "\n", value)
    return html.unescape(_TAG.sub(" ", value))


@pytest.fixture
def estate() -> FakeEstate:
    return FakeEstate()


def _health_of(estate: FakeEstate) -> Any:
    """What the notebook glue injects (``notebook.current_health``), on the fake estate: the
    trail's key as it is now in the estate, judged by the pure rule."""

    def judge(trail: Trail) -> Health:
        key = next((k for k in estate.keys.values() if k.arn == trail.kms_key_id), None)
        return health(trail, key, ACCOUNT)

    return judge


def _cards(page: str) -> list[tuple[str, str]]:
    """(health, trail name) of each trail card of a summary, in the order shown."""
    return re.findall(r'class="tk-health-trail tk-health-([\w-]+)" data-trail="([^"]+)"', page)


def _card(page: str, name: str) -> str:
    start = page.index(f'data-trail="{name}"')
    end = page.find('class="tk-health-trail', start)
    return page[start : end if end > 0 else len(page)]


# -- the summary ---------------------------------------------------------------------------------


def test_the_summary_counts_and_shows_the_broken_trail_first_with_reason_and_fix(
    estate: FakeEstate,
) -> None:
    summary = HealthSummary(estate.inventory())
    value = summary.value
    stale = estate.trail("stale-key-trail")
    assert value[stale.arn].kind is HealthKind.BROKEN
    assert value[estate.trail("app-trail").arn].kind is HealthKind.HEALTHY
    assert value[estate.trail("org-trail").arn].kind is HealthKind.SSE_S3
    counts = summary.counts
    assert set(counts) == {str(k) for k in HealthKind}
    assert sum(counts.values()) == len(estate.trails)
    assert counts["broken"] == sum(h.kind is HealthKind.BROKEN for h in value.values())

    page = summary.html()
    assert _cards(page)[0] == ("broken", "stale-key-trail")
    card = _text(_card(page, "stale-key-trail"))
    assert "Disabled" in card and "key-state" in card  # the reason, with its code
    assert "What to do:" in card and "enable the key" in card  # and its fix
    assert "alias/cloudtrail-disabled" in card
    # the healthy and SSE-S3 trails after the cards, by name
    assert page.index("stale-key-trail") < page.index("tk-health-names-healthy")
    names = re.search(r'tk-health-names-healthy".*?</div>', page, re.S)
    assert names is not None and "app-trail" in names.group()
    assert "tk-headline tk-blocked" in page and "1 trail is broken" in _text(page)
    # the live widget shows the same HTML
    assert summary._w_html.value == page
    assert "tk-health-summary" in summary._w_html._dom_classes


def _reason(code: str, kind: HealthKind, permission: str = "") -> HealthReason:
    return HealthReason(code, kind, f"message of {code}", f"fix of {code}", permission)


def test_broken_then_at_risk_then_unverifiable_each_with_every_reason(
    estate: FakeEstate,
) -> None:
    inv = estate.inventory()
    by_name = {t.name: t for t in inv.trails}
    healths = {
        by_name["app-trail"].arn: Health(
            by_name["app-trail"].arn,
            HealthKind.UNVERIFIABLE,
            (_reason("bucket-key-unverified", HealthKind.UNVERIFIABLE, "s3:GetEncryption"),),
        ),
        by_name["tokyo-trail"].arn: Health(
            by_name["tokyo-trail"].arn,
            HealthKind.AT_RISK,
            (_reason("policy-readers", HealthKind.AT_RISK),),
        ),
        by_name["org-trail"].arn: Health(
            by_name["org-trail"].arn,
            HealthKind.BROKEN,
            (
                _reason("policy-encrypt", HealthKind.BROKEN),
                _reason("delivery-stale", HealthKind.AT_RISK),
            ),
        ),
    }
    summary = HealthSummary(inv, healths)
    page = summary.html()
    assert [name for __, name in _cards(page)] == ["org-trail", "tokyo-trail", "app-trail"]
    org = _text(_card(page, "org-trail"))
    assert "message of policy-encrypt" in org and "fix of policy-encrypt" in org
    assert "message of delivery-stale" in org  # every reason, whatever the health
    app = _text(_card(page, "app-trail"))
    assert "s3:GetEncryption" in app  # what could not be read: the permission that would
    assert summary.counts == {
        "broken": 1,
        "at-risk": 1,
        "unverifiable": 1,
        "healthy": 0,
        "sse-s3": 0,
    }
    assert "tk-headline tk-blocked" in page


def test_a_key_pending_deletion_shows_its_date_and_days_left(estate: FakeEstate) -> None:
    now = datetime(2026, 12, 5, 12, 0, tzinfo=UTC)
    alias = "alias/cloudtrail-disabled"
    estate.keys[alias] = dataclasses.replace(
        estate.keys[alias], state="PendingDeletion", deletion_date=now + timedelta(days=6, hours=1)
    )
    page = HealthSummary(estate.inventory(), now=now).html()
    card = _text(_card(page, "stale-key-trail"))
    assert "PendingDeletion" in card
    assert re.search(r"Key deletion on .*: 7 days left\.", card)


def test_the_summary_of_nothing_and_of_a_partial_scan(estate: FakeEstate) -> None:
    empty = Inventory(connection=INFO, regions=("us-east-1",), trails=(), keys=MappingProxyType({}))
    page = HealthSummary(empty).html()
    assert "No trail to judge." in page and "tk-health-trail" not in page
    partial = dataclasses.replace(
        estate.inventory(),
        errors=(
            ScanError(
                region="us-east-9",
                operation="DescribeTrails",
                code="AccessDenied",
                message="denied",
            ),
        ),
    )
    assert "not counted" in HealthSummary(partial).html()


def test_every_trail_healthy_says_so_in_green(estate: FakeEstate) -> None:
    inv = estate.inventory()
    fine = dataclasses.replace(inv, trails=tuple(t for t in inv.trails if t.name == "app-trail"))
    page = HealthSummary(fine).html()
    assert "tk-headline tk-ready" in page
    assert "Every trail's encryption works as it is set up." in html.unescape(page)


# -- the trails table ----------------------------------------------------------------------------


def _row(page: str, name: str) -> tuple[str, list[str]]:
    """The row id prefix (``T_x_row4``) and the cells of the trail ``name``."""
    match = re.search(
        rf'<td id="(T_\w+_row\d+)_col0"[^>]*>{re.escape(name)}</td>(.*?)</tr>', page, re.S
    )
    assert match is not None, name
    return match.group(1), re.findall(r"<td[^>]*>(.*?)</td>", match.group(2), re.S)


def _cell_css(page: str, row: str, col: int) -> str:
    """The CSS pandas wrote for one cell (it groups cells that share a style)."""
    found = re.findall(r"([^{}]+)\{([^}]*)\}", page)
    return " ".join(css for sel, css in found if re.search(rf"#{row}_col{col}\b", sel))


def test_the_trails_table_is_coloured_by_health_and_says_it_in_words(estate: FakeEstate) -> None:
    table = TrailsTable(estate.inventory())
    page = table.html()
    stale_row, stale = _row(page, "stale-key-trail")
    app_row, app = _row(page, "app-trail")
    org_row, org = _row(page, "org-trail")
    # the health in words, right after the name: readable without colour
    assert stale[0] == "broken" and app[0] == "healthy" and org[0] == "SSE-S3"
    assert stale[1] == app[1] == "SSE-KMS"
    # a trail on a Disabled key: its SSE-KMS is red, never the green of a healthy one
    assert "#fdecea" in _cell_css(page, stale_row, 2) and "#e8f5e9" not in _cell_css(
        page, stale_row, 2
    )
    assert "#e8f5e9" in _cell_css(page, app_row, 2)
    assert "#fdecea" in _cell_css(page, stale_row, 1)  # the health cell
    assert "#e8f5e9" in _cell_css(page, app_row, 1)
    assert "background" not in _cell_css(page, org_row, 1)  # sse-s3: neutral
    assert "#c62828" in _cell_css(page, stale_row, 0)  # the red edge of its name


def test_the_trails_table_filters_by_health(estate: FakeEstate) -> None:
    table = TrailsTable(estate.inventory())
    assert table.healths[estate.trail("stale-key-trail").arn].kind is HealthKind.BROKEN
    table.filter(health="broken")
    assert [t.name for t in table.value] == ["stale-key-trail"]
    assert ">app-trail<" not in table._w_table.value
    table.filter()
    assert len(table.value) == len(estate.trails)
    labels = [label for label, __ in table._w_health.options]
    assert labels[1:] == ["broken", "at risk", "unverifiable", "healthy", "SSE-S3"]


def test_without_health_a_disabled_key_is_still_not_green(estate: FakeEstate) -> None:
    frame = tables.trails_frame(estate.inventory())
    page = tables.table_html(tables.style_trails(frame))
    row, cells = _row(page, "stale-key-trail")
    assert cells[0] == "SSE-KMS"
    assert "#fdecea" in _cell_css(page, row, 1) and "#e8f5e9" not in _cell_css(page, row, 1)


# -- the guided update's warning -----------------------------------------------------------------


def _policy_broken_trail(estate: FakeEstate) -> Trail:
    """A trail on a key whose policy does not admit CloudTrail (what a stripped policy does)."""
    trail = make_trail(
        "stripped-trail",
        "us-east-1",
        "tk-stripped-logs-use1",
        "us-east-1",
        key=estate.arn(NO_CLOUDTRAIL),
    )
    estate.trails[trail.arn] = trail
    return trail


def test_a_broken_trail_is_warned_about_with_why_and_what_to_do(estate: FakeEstate) -> None:
    book = FakeRunbook(estate)
    guided = GuidedUpdate(book, health=_health_of(estate))
    step = guided.choose("stale-key-trail")
    assert guided.health is not None and guided.health.kind is HealthKind.BROKEN
    warning = guided._w_health.value
    assert "tk-health-broken" in warning and 'role="alert"' in warning
    said = _text(warning)
    assert "stale-key-trail is broken now" in said
    assert "Disabled" in said and "enable the key" in said
    # the key's state is not a policy: no repair offered, the button stays hidden
    assert not guided.repair_offered
    assert guided._w_fix.layout.display == "none"
    assert step is not None and "stale-key-trail is broken now" in _text(step.html)
    assert "stale-key-trail is broken now" in _text(guided.html())


def test_a_healthy_trail_gets_no_warning(estate: FakeEstate) -> None:
    guided = GuidedUpdate(FakeRunbook(estate), health=_health_of(estate))
    guided.choose("app-trail")
    assert guided.health is not None and guided.health.kind is HealthKind.HEALTHY
    assert guided._w_health.value == ""
    guided.choose("org-trail")  # SSE-S3, nothing wrong
    assert guided._w_health.value == ""


def test_a_broken_key_policy_offers_the_existing_repair_and_sends_nothing_by_itself(
    estate: FakeEstate,
) -> None:
    trail = _policy_broken_trail(estate)
    book = FakeRunbook(estate)
    guided = GuidedUpdate(book, health=_health_of(estate))
    guided.choose(trail.name)
    assert guided.health is not None and guided.health.kind is HealthKind.BROKEN
    assert "policy-encrypt" in guided.health.codes
    assert guided.repair_offered and guided._w_fix.layout.display is None
    assert "add-only repair" in _text(guided._w_health.value)

    guided._w_fix.click()  # the offered fix: the current key, through the usual steps
    assert guided.keys.key_text == estate.arn(NO_CLOUDTRAIL)
    repair = guided.policy.value
    assert repair is not None and repair.needed  # the key policy step shows the repair
    assert book.called("apply_repair") == []  # nothing sent without its confirmation

    done = guided.repair_policy(True)  # the confirmation: the same write path as any key
    assert done is not None and done.ok
    assert len(book.called("apply_repair")) == 1
    # judged again after the write: the trail works now, the warning is gone
    after = guided.health  # (read again: mypy keeps the narrowing of the first read)
    assert after is not None and after.kind is HealthKind.HEALTHY
    assert guided._w_health.value == "" and guided._w_fix.layout.display == "none"


def test_a_health_that_cannot_be_read_is_shown_not_raised(estate: FakeEstate) -> None:
    def denied(trail: Trail) -> Health:
        raise AccessDenied("kms:DescribeKey was denied.", "grant kms:DescribeKey")

    guided = GuidedUpdate(FakeRunbook(estate), health=denied)
    guided.choose("stale-key-trail")
    assert guided.health is None
    assert "kms:DescribeKey was denied." in guided._w_health.value
    assert guided.trail is not None  # the view goes on: keys and checklist still work


def test_without_a_health_callable_there_is_no_warning(estate: FakeEstate) -> None:
    guided = GuidedUpdate(FakeRunbook(estate))
    guided.choose("stale-key-trail")
    assert guided.health is None and guided._w_health.value == ""


def test_an_at_risk_trail_is_noted_in_amber(estate: FakeEstate) -> None:
    trail = estate.trail("app-trail")
    found = Health(trail.arn, HealthKind.AT_RISK, (_reason("policy-readers", HealthKind.AT_RISK),))
    page = health_warning_html(trail, found)
    assert "tk-health-at-risk" in page and "fix of policy-readers" in page
    assert health_warning_html(trail, Health(trail.arn, HealthKind.HEALTHY)) == ""


# -- in Japanese ---------------------------------------------------------------------------------


@pytest.fixture
def japanese() -> Iterator[None]:
    i18n.set_language("ja")
    try:
        yield
    finally:
        i18n.set_language("en")


def _names(estate: FakeEstate) -> list[str]:
    out = [INFO.account, "stripped-trail", "tk-stripped-logs-use1"]
    for t in estate.trails.values():
        out += [t.name, t.arn, t.home_region, t.bucket_name or "", t.bucket_region or ""]
    for alias, k in estate.keys.items():
        out += [alias, k.arn, k.key_id, k.account]
    return out


def test_the_summary_table_and_warning_in_japanese(estate: FakeEstate, japanese: None) -> None:
    _policy_broken_trail(estate)
    summary = HealthSummary(estate.inventory())
    text = _text(summary.html())
    assert "故障" in text and "対処:" in text
    assert_japanese(text, _names(estate), what="health summary")
    table = TrailsTable(estate.inventory())
    _row_id, cells = _row(table.html(), "stale-key-trail")
    assert cells[0] == "故障"
    assert_japanese(
        "\n".join(label for label, __ in table._w_health.options)
        + "\n"
        + table._w_health.description,
        _names(estate),
        what="health filter",
    )
    guided = GuidedUpdate(FakeRunbook(estate), health=_health_of(estate))
    guided.choose("stripped-trail")
    warning = _text(guided._w_health.value)
    assert "故障" in warning
    assert_japanese(warning + "\n" + guided._w_fix.description, _names(estate), what="warning")


# -- on the demo (moto), through the notebook glue -------------------------------------------------


def test_on_the_demo_the_summary_lists_the_broken_trails_first(demo_conn: Any) -> None:
    import trailkit as tk

    inv = tk.scan(demo_conn)
    summary = HealthSummary(inv)
    page = summary.html()
    cards = _cards(page)
    shown = [h for h, __ in cards]
    assert shown == sorted(shown, key=[str(k) for k in HealthKind].index)  # most urgent first
    assert ("broken", "stale-key-trail") in cards
    assert cards[0][0] == "broken"
    card = _text(_card(page, "stale-key-trail"))
    assert "key-state" in card and "Disabled" in card and "What to do:" in card
    by_name = {t.name: summary.value[t.arn].kind for t in inv.trails}
    assert by_name["stale-key-trail"] is HealthKind.BROKEN
    assert by_name["app-trail"] is HealthKind.HEALTHY
    assert by_name["org-trail"] is HealthKind.SSE_S3


def test_on_the_demo_the_guided_update_warns_about_stale_key_trail(
    demo: Any, tmp_path: Any
) -> None:
    from trailkit.aws.session import Connection
    from trailkit.ui import notebook

    conn = Connection(endpoint_url=demo[0], region="us-east-1")
    journal = notebook.open_journal(tmp_path / "journal.jsonl")
    guided = notebook.guided_update(conn, journal, regions=["us-east-1"])
    step = guided.choose("stale-key-trail")
    assert guided.health is not None and guided.health.kind is HealthKind.BROKEN
    assert "key-state" in guided.health.codes
    assert step is not None and "stale-key-trail is broken now" in _text(step.html)
    book = notebook.runbook(conn, journal)
    app = book.find_trail("app-trail")
    assert notebook.current_health(book, app).kind is HealthKind.HEALTHY


# -- the notebooks, run with papermill on the demo -------------------------------------------------


def test_notebook_01_opens_with_the_summary_broken_first(
    demo: Any, kernel_env: str, tmp_path: Any
) -> None:
    from trailkit.demo.estate import DEMO_REGIONS

    nb = run(
        "01_encryption_inventory.ipynb",
        tmp_path,
        kernel_env,
        regions=list(DEMO_REGIONS),
        csv_path=str(tmp_path / "trails.csv"),
    )
    sources = [c.source for c in nb.cells if c.cell_type == "code"]
    banner = next(i for i, s in enumerate(sources) if "ConnectionBanner" in s)
    summary_at = next(i for i, s in enumerate(sources) if "HealthSummary" in s)
    between = sources[banner + 1 : summary_at]
    assert all(s.startswith("prose.show(") for s in between)  # right after the banner
    page = cell_html(nb, "HealthSummary")
    cards = _cards(page)
    assert cards[0][0] == "broken" and ("broken", "stale-key-trail") in cards
    card = _text(_card(page, "stale-key-trail"))
    assert "Disabled" in card and "What to do:" in card
    table = cell_html(nb, "TrailsTable")
    __, cells = _row(table, "stale-key-trail")
    assert cells[0] == "broken"


def test_notebook_02_warns_about_the_broken_trail_chosen(
    demo: Any, kernel_env: str, tmp_path: Any
) -> None:
    nb = run(
        "02_guided_update.ipynb",
        tmp_path,
        kernel_env,
        trail="stale-key-trail",
        regions=["us-east-1"],
        journal_path=str(tmp_path / "journal.jsonl"),
    )
    chosen = _text(cell_html(nb, "guided.choose(trail, key)"))
    assert "stale-key-trail is broken now" in chosen and "enable the key" in chosen
    assert (
        not (tmp_path / "journal.jsonl").exists()
        or not (tmp_path / "journal.jsonl").read_text().strip()
    )  # a warning, nothing sent
