"""The trail explorer widget, headless and without AWS: records from ``widget_fakes``, the
drill-down from the pure assembly (:func:`trailkit.rules.explain.explain`), the ``explain``
action a fake that records its calls."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from english import assert_japanese
from widget_fakes import ACCOUNT, DENY, FakeEstate

from trailkit import i18n
from trailkit.errors import NotFound
from trailkit.records.history import History, HistoryEvent
from trailkit.rules.explain import Explanation, explain
from trailkit.rules.health import inventory_health
from trailkit.ui.widgets import TrailExplorer

NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)


class FakeExplain:
    """``explain(trail_arn)`` over the fake estate, with a short history; records each call."""

    def __init__(self, estate: FakeEstate) -> None:
        self.estate = estate
        self.calls: list[str] = []

    def __call__(self, arn: str) -> Explanation:
        self.calls.append(arn)
        trail = self.estate.trail(arn)  # NotFound for a trail that is gone
        key = self.estate.inventory().key_for(trail)
        events = (
            HistoryEvent(
                time=NOW - timedelta(days=2),
                name="DisableKey",
                source="kms.amazonaws.com",
                region="us-east-1",
                resource=key.arn if key else trail.arn,
                actor=f"arn:aws:iam::{ACCOUNT}:user/mallory",
                source_ip="203.0.113.9",
            ),
            HistoryEvent(
                time=NOW - timedelta(hours=1),
                name="EnableKey",
                source="kms.amazonaws.com",
                region="us-east-1",
                resource=key.arn if key else trail.arn,
                actor=f"arn:aws:iam::{ACCOUNT}:user/mallory",
                source_ip="203.0.113.9",
                error_code="AccessDenied",
            ),
        )
        history = History(events, NOW - timedelta(days=30), NOW, ("us-east-1",))
        return explain(trail, key, ACCOUNT, history, NOW)


def _explorer(estate: FakeEstate | None = None) -> tuple[TrailExplorer, FakeExplain]:
    estate = estate or FakeEstate()
    action = FakeExplain(estate)
    inventory = estate.inventory()
    return TrailExplorer(inventory.trails, action, healths=inventory_health(inventory)), action


def test_broken_trails_first() -> None:
    explorer, action = _explorer()
    names = [t.name for t in explorer.trails]
    assert names[0] == "stale-key-trail"  # the only broken one of the fake estate
    assert names.index("app-trail") < names.index("org-trail")  # healthy before SSE-S3
    labels = [label for label, __ in explorer._w_select.options]
    assert labels[1].startswith("stale-key-trail · broken")
    assert explorer.value is None and action.calls == []  # nothing read until chosen


def test_choose_a_trail_shows_its_drill_down() -> None:
    explorer, action = _explorer()
    found = explorer.select("stale-key-trail")
    assert isinstance(found, Explanation) and explorer.value is found
    assert action.calls == [found.trail.arn]
    html = explorer.html()
    assert 'data-health="broken"' in html
    assert "Disabled" in html and "key-state" in html
    assert "enable the key (or cancel its deletion), or choose another key" in html
    assert "Allow CloudTrail to encrypt logs" in html and "tk-statement-deciding" in html
    # history newest first, the failed call marked
    assert html.index("EnableKey") < html.index("DisableKey")
    assert "FAILED: AccessDenied" in html
    explorer.select(None)
    assert explorer.value is None and explorer.html() == ""


def test_a_deny_is_highlighted() -> None:
    estate = FakeEstate()
    trail = estate.trail("stale-key-trail")
    denied = replace(trail, kms_key_id=estate.arn(DENY))
    estate.trails[trail.arn] = denied
    explorer, _action = _explorer(estate)
    found = explorer.select("stale-key-trail")
    assert found is not None
    encrypt = found.policy.decisions[0]
    assert encrypt.decision == "denied" and encrypt.statements[0].effect == "Deny"
    assert "tk-statement-deciding" in explorer.html() and "DenyCloudTrailEncrypt" in explorer.html()


def test_pending_deletion_is_first_and_red() -> None:
    estate = FakeEstate()
    trail = estate.trail("app-trail")
    key = estate.keys["alias/cloudtrail-good-euw1"]
    estate.keys["alias/cloudtrail-good-euw1"] = replace(
        key, state="PendingDeletion", deletion_date=NOW + timedelta(days=4)
    )
    explorer, _action = _explorer(estate)
    explorer.select(trail.arn)
    html = explorer.html()
    key_section = html[html.index(">Key<") :]
    assert key_section.index("tk-deletion") < key_section.index("<table")
    assert "tk-note-bad tk-deletion" in html and "4 days left" in html


def test_an_error_is_shown_not_raised() -> None:
    estate = FakeEstate()
    explorer, action = _explorer(estate)
    gone = estate.trail("tokyo-trail")
    del estate.trails[gone.arn]  # deleted after the inventory
    assert explorer.select("tokyo-trail") is None
    assert isinstance(explorer.error, NotFound)
    assert "tk-error" in explorer.html()
    assert action.calls == [gone.arn]


def test_sse_s3_trail_has_no_key_sections() -> None:
    explorer, _action = _explorer()
    found = explorer.select("org-trail")
    assert found is not None and found.key is None
    html = explorer.html()
    assert "none: the trail uses SSE-S3" in html
    assert "tk-policy-requests" not in html


@pytest.fixture
def ja() -> Any:
    i18n.set_language("ja")
    yield
    i18n.set_language("en")


def test_explorer_in_japanese(ja: None) -> None:
    import html as html_lib
    import re

    explorer, _action = _explorer()
    explorer.select("stale-key-trail")
    text = html_lib.unescape(re.sub(r"<[^>]+>", "\n", explorer.html()))
    estate = FakeEstate()
    names = [
        "user/mallory",
        *(k.aliases[0] for k in estate.keys.values()),
        "Allow CloudTrail to encrypt logs",
        "Allow CloudTrail to describe key",
        "Allow",
        "Disabled",
        "CUSTOMER",
        "EnableKey",
        "DisableKey",
        "AccessDenied",
        "mallory",
        "Sid",
        "Effect",
        "Principal",
        "Service",
        "Action",
        "Resource",
        "Condition",
        "StringLike",
        "StringEquals",
    ]
    # the statements as written (JSON) stay as they are
    shown = "\n".join(
        line for line in text.splitlines() if not line.strip().startswith(('"', "}", "{", "]", "["))
    )
    assert_japanese(shown, names, what="trail explorer")
    labels = " ".join(label for label, __ in explorer._w_select.options)
    assert_japanese(labels, [t.name for t in explorer.trails], what="trail explorer picker")


def test_an_unknown_trail_says_so() -> None:
    explorer, action = _explorer()
    explorer.select("stale-key-trail")
    assert explorer.select("no-such-trail") is None
    assert explorer.value is None and explorer.error is not None
    assert "no-such-trail" in explorer.error.message and "no-such-trail" in explorer.html()
    assert len(action.calls) == 1  # nothing read for it


def test_an_organization_trail_says_its_member_accounts_were_not_read() -> None:
    """The explorer explains one account: for an organization trail it says the members were
    not read (their delivery errors show only there), never a bare "No problem found."."""
    explorer, __ = _explorer()
    found = explorer.select("org-trail")
    assert isinstance(found, Explanation) and found.trail.organization
    assert found.delivery.members_unread is not None
    page = explorer.html()
    assert "its member accounts were not read" in page
    assert "No problem found.<" not in page
    assert "inventory --org" in page
    app = explorer.select("app-trail")
    assert app is not None and app.delivery.members_unread is None
    assert "member accounts:" not in explorer.html()
