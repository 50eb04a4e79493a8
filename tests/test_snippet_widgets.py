"""The change as code (:class:`~trailkit.ui.widgets.ChangeAsCode`) and its place in the guided
update, headless and without AWS.

The snippets are a stand-in dataclass with the fields of :class:`trailkit.rules.snippet.Snippet`
(the widget reads them by attribute).
"""

from __future__ import annotations

import dataclasses
import html
import re
from collections.abc import Iterator
from typing import Any

import pytest
from english import assert_japanese
from test_proof_widgets import ProvingRunbook
from widget_fakes import GOOD, FakeEstate

from trailkit import i18n
from trailkit.errors import InputError, NotFound
from trailkit.ui.widgets import ChangeAsCode, GuidedUpdate
from trailkit.ui.widgets.snippet import FORMATS

KEY = "arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"
LANGUAGES = {"cloudformation": "json", "terraform": "hcl", "cdk": "python"}


@dataclasses.dataclass(frozen=True)
class SnippetStandIn:
    """Stand-in for ``trailkit.rules.snippet.Snippet``."""

    format: str
    language: str
    text: str
    key_arn: str
    statements: tuple[dict[str, Any], ...]


class Maker:
    """A fake ``make(fmt)``; the formats in ``fail`` raise that error."""

    def __init__(self, fail: dict[str, Exception] | None = None) -> None:
        self.calls: list[str] = []
        self.fail = fail or {}

    def __call__(self, fmt: str) -> SnippetStandIn:
        self.calls.append(fmt)
        if fmt in self.fail:
            raise self.fail[fmt]
        text = f'{fmt} <KMSKeyId> & "{KEY}"'
        return SnippetStandIn(fmt, LANGUAGES[fmt], text, KEY, ({"Sid": "a"}, {"Sid": "b"}))


def _text(value: str) -> str:
    return html.unescape(re.sub(r"<[^>]+>", " ", value))


def test_three_tabs_each_with_its_text_escaped_and_a_copy_box() -> None:
    make = Maker()
    view = ChangeAsCode(make)
    assert make.calls == list(FORMATS)
    assert view._w_tabs.titles == ("CloudFormation", "Terraform", "CDK (Python)")
    for fmt in FORMATS:
        shown = view._w_html[fmt].value
        assert f"{fmt} &lt;KMSKeyId&gt; &amp; &quot;{KEY}&quot;" in shown  # escaped in <pre>
        assert "<KMSKeyId>" not in shown and "<pre" in shown
        assert f"tk-snippet-{LANGUAGES[fmt]}" in shown
        assert view.text(fmt) == f'{fmt} <KMSKeyId> & "{KEY}"'  # the copy box: the text as is
        assert view._w_text[fmt].layout.display is None
        assert "adds 2 key policy statements" in _text(shown)
    assert view.format == "cloudformation" and view.value.format == "cloudformation"
    static = view.html()
    assert [t for t in ("CloudFormation", "Terraform", "CDK (Python)") if t in static]
    assert static.index("CloudFormation") < static.index("Terraform") < static.index("CDK")


def test_an_error_is_the_error_card_in_its_tab_and_the_others_are_written() -> None:
    make = Maker({"terraform": NotFound("No trail named gone-trail.", "check the name")})
    view = ChangeAsCode(make)
    card = view._w_html["terraform"].value
    assert "tk-error" in card and "No trail named gone-trail." in card and "check the name" in card
    assert "Traceback" not in card and view.text("terraform") == ""
    assert set(view.snippets) == {"cloudformation", "cdk"} and set(view.errors) == {"terraform"}
    assert "tk-error" in view.html()


@pytest.mark.parametrize(
    ("statements", "said"),
    [
        ((), "adds no key policy statement for CloudTrail"),
        (({"Sid": "a"},), "adds 1 key policy statement for CloudTrail"),
    ],
)
def test_the_statements_added_are_counted_in_words(
    statements: tuple[dict[str, str], ...], said: str
) -> None:
    view = ChangeAsCode(lambda fmt: SnippetStandIn(fmt, "json", "{}", KEY, statements))
    shown = " ".join(_text(view._w_html["cloudformation"].value).split())
    assert said in shown and "adds 0" not in shown


def test_turning_sse_kms_off_is_said_so() -> None:
    view = ChangeAsCode(lambda fmt: SnippetStandIn(fmt, "hcl", "kms_key_id = null", "", ()))
    said = _text(view._w_html["terraform"].value)
    assert "Turns SSE-KMS off" in said and "kms_key_id = null" in said


def test_an_unexpected_error_is_not_swallowed() -> None:
    with pytest.raises(ZeroDivisionError):
        ChangeAsCode(Maker({"cloudformation": ZeroDivisionError()}))


def test_lazy_tabs_are_written_when_shown() -> None:
    make = Maker()
    view = ChangeAsCode(make, eager=False)
    assert make.calls == [] and view.value is None
    view._w_tabs.selected_index = 1  # before Show: nothing is written
    assert make.calls == []
    view._w_show.click()
    assert make.calls == ["terraform"] and view.value.format == "terraform"
    assert view._w_show.layout.display == "none"
    view._w_tabs.selected_index = 2
    assert make.calls == ["terraform", "cdk"]
    view._w_tabs.selected_index = 1  # written once
    assert make.calls == ["terraform", "cdk"]
    assert view.load("cloudformation").format == "cloudformation"
    assert view._w_tabs.selected_index == 0


def test_set_source_forgets_what_was_written() -> None:
    view = ChangeAsCode(Maker())
    view.set_source(None)
    assert view.snippets == {} and view.text("cdk") == "" and view._w_show.disabled
    assert "Choose a trail and a key" in _text(view._w_hint.value)
    other = Maker()
    view.set_source(other, "The change of org-trail.")
    assert not view._w_show.disabled and "org-trail" in view._w_hint.value
    assert view.load() is not None and other.calls == ["cloudformation"]


def test_arguments_are_checked() -> None:
    with pytest.raises(InputError):
        ChangeAsCode("make")  # type: ignore[arg-type]
    with pytest.raises(InputError):
        ChangeAsCode(Maker(), formats=("pulumi",))
    with pytest.raises(InputError):
        ChangeAsCode(Maker()).load("yaml")


# -- in the guided update --------------------------------------------------------------------


def test_the_guided_update_writes_the_chosen_trail_and_key_as_code() -> None:
    estate = FakeEstate()
    book = ProvingRunbook(estate)
    guided = GuidedUpdate(book)
    assert guided.change_as_code() is None  # nothing chosen
    guided.choose("org-trail", GOOD)
    assert book.called("snippet") == []  # choosing a key stays quick: written on demand
    code = guided.change_as_code()
    assert code is guided.code and code is not None
    calls = book.called("snippet")
    assert [fmt for __, __, fmt in calls] == list(FORMATS)
    assert {t.name for t, __, __ in calls} == {"org-trail"}
    assert {key for __, key, __ in calls} == {estate.arn(GOOD)}
    # another key: what was written goes
    guided.choose(None, "alias/cloudtrail-good-usw2")
    assert code.snippets == {}


# -- Japanese ----------------------------------------------------------------------------------


@pytest.fixture
def japanese() -> Iterator[None]:
    i18n.set_language("ja")
    try:
        yield
    finally:
        i18n.set_language("en")


@pytest.mark.usefixtures("japanese")
def test_the_view_speaks_japanese() -> None:
    view = ChangeAsCode(Maker({"cdk": NotFound("証跡がありません。", "名前を確認してください")}))
    lazy = ChangeAsCode(eager=False)
    text = "\n".join(
        _text(w.value)
        for w in (
            view._w_html["cloudformation"],
            view._w_html["cdk"],
            lazy._w_hint,
        )
    )
    names = [KEY, "CloudFormation", "Terraform", "CDK", "Python"]
    # the snippet's text is code (not shown to be read as a sentence): only the sentences count
    text = text.replace(view.text("cloudformation"), "")
    assert_japanese(text + "\n" + view._w_show.description, names)
