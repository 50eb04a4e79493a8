"""A parameter that means "no" never acts: one strict yes/no reader, used at every entry point.

Papermill passes ``-p apply false`` as the text ``"false"`` and ``-p apply 0`` as the integer 0;
both are no. Anything that is not an unambiguous yes or no is an ``InputError`` naming the
parameter, and nothing is sent. The widgets' headless methods are tested here on the fakes of
``test_widgets.py`` (no AWS); the notebooks themselves in ``test_notebook_inputs.py``.
"""

from __future__ import annotations

from functools import partial
from typing import Any

import pytest
from widget_fakes import GOOD, NO_CLOUDTRAIL, FakeEstate, FakeJournal, FakeRunbook

from trailkit.errors import InputError
from trailkit.rules.flags import parse_flag, parse_mapping, parse_names, parse_text
from trailkit.ui.widgets import BulkUpdate, GuidedUpdate, JournalView, PolicyPanel

YES: list[object] = [True, 1, "true", "True", "TRUE", " yes ", "Yes", "1", "\t1\n", "tRuE"]
NO: list[object] = [False, 0, "false", "False", "FALSE", "no", " No ", "0", " 0 ", "fAlSe"]
NEITHER: list[object] = [
    None,
    "",
    "   ",
    "maybe",
    "flase",
    "ture",
    "y",
    "n",
    "on",
    "off",
    "yes please",
    "2",
    "-1",
    "0.0",
    2,
    -1,
    0.0,
    1.0,
    [],
    ["true"],
    {},
    b"true",
]


@pytest.mark.parametrize("value", YES)
def test_yes(value: object) -> None:
    assert parse_flag(value, "apply") is True


@pytest.mark.parametrize("value", NO)
def test_no(value: object) -> None:
    assert parse_flag(value, "apply") is False


@pytest.mark.parametrize("value", NEITHER, ids=repr)
def test_anything_else_is_an_input_error_naming_the_parameter(value: object) -> None:
    with pytest.raises(InputError, match=r"^repair_policy must be yes or no") as info:
        parse_flag(value, "repair_policy")
    assert "yes/no" in info.value.fix


def test_names_take_one_text_as_a_list_of_one_never_its_characters() -> None:
    assert parse_names("org-trail", "trails") == ["org-trail"]
    assert parse_names(["a", " b "], "trails") == ["a", "b"]
    assert parse_names(("a",), "trails") == ["a"]
    assert parse_names(None, "trails") is None
    assert parse_names([], "trails") == []
    for bad in (3, {"a": "b"}, ["a", None], ["a", ""], [["a"]], b"a"):
        with pytest.raises(InputError, match=r"^trails must"):
            parse_names(bad, "trails")
    with pytest.raises(InputError, match=r"^regions must"):
        parse_names(None, "regions", optional=False)


def test_texts_and_mappings() -> None:
    assert parse_text("", "key") == "" and parse_text(None, "key") is None
    for bad in (1, ["k"], True):
        with pytest.raises(InputError, match=r"^key must be a text"):
            parse_text(bad, "key")
    with pytest.raises(InputError, match=r"^key must be a text,"):
        parse_text(None, "key", optional=False)
    assert parse_mapping({"us-east-1": "k"}, "keys_by_region") == {"us-east-1": "k"}
    for bad in ("k", ["k"], {"us-east-1": 3}, {1: "k"}):
        with pytest.raises(InputError, match=r"^keys_by_region must"):
            parse_mapping(bad, "keys_by_region")


# -- every headless method reads its flag strictly (fakes, no AWS) ---------------------------


def _writes(book: FakeRunbook) -> list[tuple[Any, ...]]:
    return [c for c in book.calls if c[0] in ("apply", "rollback", "apply_repair", "apply_many")]


@pytest.mark.parametrize("no", ["false", "no", "0", 0, " False "])
def test_guided_update_sends_nothing_on_a_no(no: object) -> None:
    estate = FakeEstate()
    book = FakeRunbook(estate)
    guided = GuidedUpdate(book)
    guided.choose("org-trail", NO_CLOUDTRAIL)
    assert guided.repair_policy(no) is None
    guided.choose("org-trail", GOOD)
    assert guided.apply(no) is None
    assert guided.rollback(no) is None
    assert _writes(book) == [] and estate.trail("org-trail").kms_key_id is None


@pytest.mark.parametrize("bad", ["maybe", "", 2, None, "flase"], ids=repr)
def test_guided_update_refuses_an_unclear_flag_and_sends_nothing(bad: object) -> None:
    estate = FakeEstate()
    book = FakeRunbook(estate)
    guided = GuidedUpdate(book)
    guided.choose("org-trail", NO_CLOUDTRAIL)
    with pytest.raises(InputError, match=r"^repair_policy must be yes or no"):
        guided.repair_policy(bad)
    guided.choose("org-trail", GOOD)
    with pytest.raises(InputError, match=r"^apply must be yes or no"):
        guided.apply(bad)
    with pytest.raises(InputError, match=r"^rollback must be yes or no"):
        guided.rollback(bad)
    assert _writes(book) == [] and estate.trail("org-trail").kms_key_id is None


def test_guided_update_acts_on_a_typed_yes() -> None:
    estate = FakeEstate()
    book = FakeRunbook(estate)
    guided = GuidedUpdate(book)
    guided.choose("org-trail", GOOD)
    applied = guided.apply(" TRUE ")
    assert applied is not None and applied.ok
    assert estate.trail("org-trail").kms_key_id == estate.arn(GOOD)
    assert guided.rollback("yes") is not None
    assert estate.trail("org-trail").kms_key_id is None


def test_bulk_update_sends_nothing_unless_an_unambiguous_yes() -> None:
    estate = FakeEstate()
    book = FakeRunbook(estate)
    bulk = BulkUpdate(
        estate.inventory().trails,
        keys=book.candidate_keys,
        plan=book.plan_many,
        apply=partial(book.apply_many, confirmed=True),
    )
    bulk.choose("org-trail", {"us-east-1": GOOD})  # one name alone is a list of one
    assert [p.trail.name for p in bulk.ready] == ["org-trail"]
    for no in ("false", "no", 0, "0"):
        assert bulk.apply(no) is None
    for bad in ("maybe", 2, None, ""):
        with pytest.raises(InputError, match=r"^apply must be yes or no"):
            bulk.apply(bad)
    assert book.called("apply_many") == [] and estate.trail("org-trail").kms_key_id is None
    step = bulk.apply("Yes")
    assert step is not None and step.ok
    assert estate.trail("org-trail").kms_key_id == estate.arn(GOOD)


def test_policy_panel_sends_nothing_unless_an_unambiguous_yes() -> None:
    estate = FakeEstate()
    sent: list[Any] = []
    panel = PolicyPanel(sent.append, estate.repair(["org-trail"], NO_CLOUDTRAIL))
    for no in ("false", "no", 0, "0"):
        assert panel.apply(no) is None
    for bad in ("maybe", 2, None, ""):
        with pytest.raises(InputError, match=r"^apply must be yes or no"):
            panel.apply(bad)
    assert sent == []


def test_journal_view_rollback_takes_a_change_id_not_a_flag() -> None:
    view = JournalView(FakeJournal(), lambda change_id: None)  # type: ignore[arg-type,return-value]
    assert view.rollback(None) is None
    for bad in (True, 1, ["chg-1"]):
        with pytest.raises(InputError, match=r"^rollback_change must be a text"):
            view.rollback(bad)  # type: ignore[arg-type]
