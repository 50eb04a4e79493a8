"""Notebook 03's view on the real runbook and the demo estate (moto): the parameters are the
first choice, the "after" pre-flight appears only after a change (issue 13)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from widget_fakes import DENY, NO_CLOUDTRAIL

from trailkit.aws.session import Connection
from trailkit.change.journal import Journal
from trailkit.demo import DEMO_REGIONS
from trailkit.errors import InputError
from trailkit.ui.notebook import check_trails, key_policy_view


@pytest.fixture
def journal(tmp_path: Path) -> Journal:
    return Journal(tmp_path / "journal.jsonl")


def test_key_policy_view_repairs_and_then_shows_the_after_preflight(
    demo_rw: Any, demo_conn: Connection, journal: Journal
) -> None:
    view = key_policy_view(
        demo_conn,
        journal,
        NO_CLOUDTRAIL,
        ["org-trail"],
        regions=list(DEMO_REGIONS),
        reader_accounts="444455556666",
    )
    assert view.trail_names == ["org-trail"]
    assert "BLOCKED" in view._w_before.value and "policy-encrypt" in view._w_before.value
    assert view.value is not None and view.value.needed
    before = check_trails(demo_conn, view.trail_names, view.key)
    assert before is not None and not before.ok
    assert check_trails(demo_conn, view.trail_names, view.key, after=view) is None
    assert view.after() is None
    step = view.apply(True)
    assert step is not None and step.ok
    after = view.after()
    assert after is not None and after.ok and "policy-readers" in after.html
    again = check_trails(demo_conn, view.trail_names, view.key, after=view)
    assert again is not None and again.ok
    assert [c.intent.kind.value for c in journal.changes()] == ["key-policy"]


def test_key_policy_view_without_a_choice_or_with_a_refusal(
    demo: Any, demo_conn: Connection, journal: Journal
) -> None:
    empty = key_policy_view(demo_conn, journal, regions=list(DEMO_REGIONS))
    assert empty.trail_names == [] and empty.value is None
    assert "org-trail" in [t.name for t in empty.trails.trails]
    refused = key_policy_view(demo_conn, journal, DENY, "org-trail", regions=list(DEMO_REGIONS))
    assert refused.value is None and "Deny" in refused.policy._w_summary.value
    with pytest.raises(InputError, match="after"):
        check_trails(demo_conn, ["org-trail"], DENY, after="yes")  # type: ignore[arg-type]
    assert journal.changes() == []
