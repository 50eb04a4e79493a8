"""Notebook 03's view, headless on fakes (issue 13): trail and key pickers drive the pre-flight
and the add-only repair; the "after" pre-flight appears only after a policy change."""

from __future__ import annotations

from collections.abc import Iterator
from functools import partial
from typing import Any

import botocore.client
import botocore.session
import pytest
from widget_fakes import GOOD, NO_CLOUDTRAIL, FakeEstate, FakeRunbook

from trailkit.errors import InputError
from trailkit.ui.widgets.policy_picker import KeyPolicyView


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


def _view(book: FakeRunbook, estate: FakeEstate) -> KeyPolicyView:
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


def test_nothing_chosen_shows_a_hint_and_no_after(estate: FakeEstate, book: FakeRunbook) -> None:
    view = _view(book, estate)
    assert view.trail_names == [] and view.key is None and view.value is None
    assert "Choose a trail and a key" in view._w_before.value
    assert view._w_after_box.layout.display == "none"
    assert view.after() is None


def test_the_pickers_drive_the_preflight_and_the_repair(
    estate: FakeEstate, book: FakeRunbook
) -> None:
    view = _view(book, estate)
    view.choose(["org-trail"], NO_CLOUDTRAIL)
    assert view.trail_names == ["org-trail"] and view.key == estate.arn(NO_CLOUDTRAIL)
    assert "BLOCKED" in view._w_before.value and "policy-encrypt" in view._w_before.value
    assert view.value is not None and view.value.needed
    # one voice: the pre-flight's checklist lists the findings; the key picker and the repair
    # note refer to it
    assert "policy-encrypt" not in view.keys._w_reason.value + " ".join(view.keys.labels)
    assert "see the checklist" in view.keys._w_reason.value
    assert "policy-encrypt" not in view.policy._w_summary.value
    # the key picker ranks the trail's bucket region, ready first (as in notebook 02)
    assert view.keys.labels[0].startswith(GOOD)
    # another key picked by the operator: no code edited
    view.keys._w_select.value = next(v for v in view.keys.verdicts if v.key.aliases == (GOOD,))
    assert view.key == estate.arn(GOOD)
    assert "READY" in view._w_before.value
    assert view.value is not None and not view.value.needed
    # another trail picked: the keys of its bucket region
    view.trails.select("tokyo-trail")
    assert view.trail_names == ["tokyo-trail"] and view.key is None
    assert all(v.key.region == "us-west-2" for v in view.keys.verdicts)


def test_after_appears_only_after_a_change(estate: FakeEstate, book: FakeRunbook) -> None:
    view = _view(book, estate)
    view.choose(["org-trail"], NO_CLOUDTRAIL)
    assert view._w_after_box.layout.display == "none" and view.after() is None
    assert view._w_after.value == ""
    assert view.apply(False) is None
    assert view.after() is None
    step = view.apply(True)
    assert step is not None and step.ok
    assert view._w_after_box.layout.display == "flex"
    after = view.after()
    assert after is not None and after.ok and "READY" in after.html
    assert book.called("refresh")  # the after pre-flight read the new policy
    # a new choice hides it again
    view.choose(["org-trail"], GOOD)
    assert view._w_after_box.layout.display == "none" and view.after() is None


def test_several_trails_from_the_parameters_until_another_pick(
    estate: FakeEstate, book: FakeRunbook
) -> None:
    view = _view(book, estate)
    view.choose(["org-trail", "stale-key-trail"], NO_CLOUDTRAIL)
    assert view.trail_names == ["org-trail", "stale-key-trail"]
    assert "stale-key-trail" in view._w_also.value
    assert view.value is not None and [t.name for t in view.value.trails] == view.trail_names
    view.trails.select("app-trail")
    assert view.trail_names == ["app-trail"] and view._w_also.value == ""


def test_an_unknown_trail_is_said_and_nothing_is_picked(
    estate: FakeEstate, book: FakeRunbook
) -> None:
    view = _view(book, estate)
    view.choose(["org-trial"], NO_CLOUDTRAIL)
    assert view.trail_names == [] and view.value is None
    assert "org-trial" in view._w_before.value and "Not among the trails" in view._w_before.value
    with pytest.raises(InputError):
        view.choose(42, NO_CLOUDTRAIL)  # type: ignore[arg-type]
