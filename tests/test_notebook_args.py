"""The notebook API checks its arguments: every public call of :mod:`trailkit.ui.notebook` (and
the widgets and headless steps it hands out) answers None or a wrong type with an ``InputError``
naming the parameter, never an AttributeError/TypeError from inside, never a text iterated by
character. One name where a list of names is expected is a list of one (documented in the module).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

import trailkit as tk
from trailkit.aws.session import Connection
from trailkit.change.journal import Journal
from trailkit.demo import DEMO_REGIONS
from trailkit.errors import InputError
from trailkit.ui import notebook
from trailkit.ui.widgets import BulkUpdate, GuidedUpdate, JournalView, PolicyPanel, Step

GOOD = "alias/cloudtrail-good"


@pytest.fixture
def journal(tmp_path: Path) -> Journal:
    return Journal(tmp_path / "journal.jsonl")


Call = Callable[[Connection, Journal], Any]

#: (call with one bad argument, the parameter the error must name)
BAD_CALLS: list[tuple[str, Call, str]] = [
    ("open_journal(3)", lambda c, j: notebook.open_journal(3), "journal_path"),  # type: ignore[arg-type]
    ("open_journal(['x'])", lambda c, j: notebook.open_journal(["x"]), "journal_path"),  # type: ignore[arg-type]
    ("open_journal('')", lambda c, j: notebook.open_journal(""), "journal_path"),
    ("runbook(None, j)", lambda c, j: notebook.runbook(None, j), "conn"),  # type: ignore[arg-type]
    ("runbook('c', j)", lambda c, j: notebook.runbook("c", j), "conn"),  # type: ignore[arg-type]
    ("runbook(c, None)", lambda c, j: notebook.runbook(c, None), "journal"),  # type: ignore[arg-type]
    ("runbook(c, 'path')", lambda c, j: notebook.runbook(c, "p"), "journal"),  # type: ignore[arg-type]
    ("runbook(regions=3)", lambda c, j: notebook.runbook(c, j, regions=3), "regions"),  # type: ignore[arg-type]
    ("runbook(regions=[None])", lambda c, j: notebook.runbook(c, j, regions=[None]), "regions"),  # type: ignore[list-item]
    (
        "runbook(reader_accounts='12')",
        lambda c, j: notebook.runbook(c, j, reader_accounts="12"),
        "reader_accounts",
    ),
    (
        "runbook(reader_accounts={})",
        lambda c, j: notebook.runbook(c, j, reader_accounts={"a": "444455556666"}),  # type: ignore[arg-type]
        "reader_accounts",
    ),
    ("guided_update(None, j)", lambda c, j: notebook.guided_update(None, j), "conn"),  # type: ignore[arg-type]
    (
        "guided_update(reader_accounts=[None])",
        lambda c, j: notebook.guided_update(c, j, reader_accounts=[None]),  # type: ignore[list-item]
        "reader_accounts",
    ),
    ("guided_update(c, None)", lambda c, j: notebook.guided_update(c, None), "journal"),  # type: ignore[arg-type]
    (
        "guided_update(regions={})",
        lambda c, j: notebook.guided_update(c, j, regions={"a": 1}),  # type: ignore[arg-type]
        "regions",
    ),
    ("key_policy(None, ...)", lambda c, j: notebook.key_policy(None, j, GOOD, ["t"]), "conn"),  # type: ignore[arg-type]
    ("key_policy(c, None)", lambda c, j: notebook.key_policy(c, None, GOOD, ["t"]), "journal"),  # type: ignore[arg-type]
    ("key_policy(key=3)", lambda c, j: notebook.key_policy(c, j, 3, ["t"]), "key"),  # type: ignore[arg-type]
    ("key_policy(trails=3)", lambda c, j: notebook.key_policy(c, j, GOOD, 3), "trails"),  # type: ignore[arg-type]
    ("key_policy(trails=[1])", lambda c, j: notebook.key_policy(c, j, GOOD, [1]), "trails"),  # type: ignore[list-item]
    ("check_trails(None, ...)", lambda c, j: notebook.check_trails(None, ["t"], GOOD), "conn"),  # type: ignore[arg-type]
    ("check_trails(trails=3)", lambda c, j: notebook.check_trails(c, 3, GOOD), "trails"),  # type: ignore[arg-type]
    ("check_trails(trails=[None])", lambda c, j: notebook.check_trails(c, [None], GOOD), "trails"),  # type: ignore[list-item]
    ("check_trails(key=3)", lambda c, j: notebook.check_trails(c, ["t"], 3), "key"),  # type: ignore[arg-type]
    ("check_trails(key=['k'])", lambda c, j: notebook.check_trails(c, ["t"], ["k"]), "key"),  # type: ignore[arg-type]
    (
        "check_trails(reader_accounts='x')",
        lambda c, j: notebook.check_trails(c, None, None, reader_accounts="x"),
        "reader_accounts",
    ),
    ("bulk_update(None, ...)", lambda c, j: notebook.bulk_update(None, j, None), "conn"),  # type: ignore[arg-type]
    ("bulk_update(c, None, inv)", lambda c, j: notebook.bulk_update(c, None, None), "journal"),  # type: ignore[arg-type]
    ("bulk_update(inventory=None)", lambda c, j: notebook.bulk_update(c, j, None), "inventory"),  # type: ignore[arg-type]
    ("bulk_update(inventory=[])", lambda c, j: notebook.bulk_update(c, j, []), "inventory"),  # type: ignore[arg-type]
    (
        "bulk_update(reader_accounts=4.5)",
        lambda c, j: notebook.bulk_update(c, j, None, reader_accounts=4.5),  # type: ignore[arg-type]
        "reader_accounts",
    ),
    ("journal_view(None, j)", lambda c, j: notebook.journal_view(None, j), "conn"),  # type: ignore[arg-type]
    ("journal_view(c, None)", lambda c, j: notebook.journal_view(c, None), "journal"),  # type: ignore[arg-type]
    ("journal_view(c, 'p')", lambda c, j: notebook.journal_view(c, "p"), "journal"),  # type: ignore[arg-type]
    ("changes_table(None)", lambda c, j: notebook.changes_table(None), "journal"),  # type: ignore[arg-type]
    ("changes_table('p')", lambda c, j: notebook.changes_table("p"), "journal"),  # type: ignore[arg-type]
    ("encryption_chart(None)", lambda c, j: notebook.encryption_chart(None), "inventory"),  # type: ignore[arg-type]
    ("check_flags(apply=None)", lambda c, j: notebook.check_flags(apply=None), "apply"),
    (
        "check_flags(rollback='maybe')",
        lambda c, j: notebook.check_flags(rollback="maybe"),
        "rollback",
    ),
    ("tk.scan(None)", lambda c, j: tk.scan(None), "conn"),  # type: ignore[arg-type]
    ("tk.scan(regions=3)", lambda c, j: tk.scan(c, 3), "regions"),  # type: ignore[arg-type]
    # the widgets the glue hands out
    ("GuidedUpdate(None)", lambda c, j: GuidedUpdate(None), "runbook"),  # type: ignore[arg-type]
    (
        "GuidedUpdate(policy='maybe')",
        lambda c, j: GuidedUpdate(notebook.runbook(c, j), policy="maybe"),
        "policy",
    ),  # type: ignore[arg-type]
    (
        "GuidedUpdate(trails='t')",
        lambda c, j: GuidedUpdate(notebook.runbook(c, j), trails="t"),
        "trails",
    ),  # type: ignore[arg-type]
    ("BulkUpdate(None)", lambda c, j: BulkUpdate(None, keys=len, plan=len, apply=len), "trails"),  # type: ignore[arg-type]
    ("BulkUpdate('t')", lambda c, j: BulkUpdate("t", keys=len, plan=len, apply=len), "trails"),  # type: ignore[arg-type]
    ("BulkUpdate(keys=None)", lambda c, j: BulkUpdate([], keys=None, plan=len, apply=len), "keys"),  # type: ignore[arg-type]
    (
        "BulkUpdate(apply=None)",
        lambda c, j: BulkUpdate([], keys=len, plan=len, apply=None),
        "apply",
    ),  # type: ignore[arg-type]
    ("PolicyPanel(None)", lambda c, j: PolicyPanel(None), "apply"),  # type: ignore[arg-type]
    ("PolicyPanel(repair='r')", lambda c, j: PolicyPanel(len, "r"), "repair"),  # type: ignore[arg-type]
    ("JournalView(None)", lambda c, j: JournalView(None), "journal"),  # type: ignore[arg-type]
    ("JournalView(j, undo='x')", lambda c, j: JournalView(j, "x"), "undo"),  # type: ignore[arg-type]
    # their headless steps
    ("guided.choose(trail=3)", lambda c, j: notebook.guided_update(c, j).choose(3), "trail"),  # type: ignore[arg-type]
    (
        "guided.choose(key=['k'])",
        lambda c, j: notebook.guided_update(c, j).choose("t", ["k"]),
        "key",
    ),  # type: ignore[arg-type]
    ("guided.apply(None)", lambda c, j: notebook.guided_update(c, j).apply(None), "apply"),
    ("guided.rollback('x')", lambda c, j: notebook.guided_update(c, j).rollback("x"), "rollback"),
    (
        "guided.repair_policy(2)",
        lambda c, j: notebook.guided_update(c, j).repair_policy(2),
        "repair_policy",
    ),
    ("panel.apply(None)", lambda c, j: notebook.key_policy(c, j, None, None).apply(None), "apply"),
    ("view.rollback(1)", lambda c, j: notebook.journal_view(c, j).rollback(1), "rollback_change"),  # type: ignore[arg-type]
]


@pytest.mark.parametrize(
    ("call", "name"), [(f, n) for _, f, n in BAD_CALLS], ids=[i for i, _, _ in BAD_CALLS]
)
def test_a_bad_argument_is_an_input_error_naming_it(
    demo_conn: Connection, journal: Journal, call: Call, name: str
) -> None:
    with pytest.raises(InputError) as info:
        call(demo_conn, journal)
    assert info.value.message.startswith(f"{name} must"), info.value.message


def test_bulk_choose_checks_its_arguments(demo_conn: Connection, journal: Journal) -> None:
    inventory = tk.scan(demo_conn, DEMO_REGIONS)
    bulk = notebook.bulk_update(demo_conn, journal, inventory)
    with pytest.raises(InputError, match=r"^trails must"):
        bulk.choose(3, None)  # type: ignore[arg-type]
    with pytest.raises(InputError, match=r"^keys_by_region must"):
        bulk.choose(["org-trail"], "alias/cloudtrail-good")  # type: ignore[arg-type]
    with pytest.raises(InputError, match=r"^apply must"):
        bulk.apply("maybe")


def test_one_trail_name_is_one_trail_never_its_characters(demo_conn: Connection) -> None:
    step = notebook.check_trails(demo_conn, "org-trail", GOOD)  # the example
    assert isinstance(step, Step) and step.ok
    (report,) = step.value
    assert report.trail is not None and report.trail.name == "org-trail"
    assert len(tk.scan(demo_conn, "us-east-1").regions) == 1  # one region, not 9 "regions"


def test_key_policy_takes_one_trail_name(demo_conn: Connection, journal: Journal) -> None:
    panel = notebook.key_policy(demo_conn, journal, "alias/no-cloudtrail", "org-trail")
    assert panel.value is not None and [t.name for t in panel.value.trails] == ["org-trail"]


def test_reader_accounts_reach_the_pre_flight(demo_conn: Connection, journal: Journal) -> None:
    """A text of ids separated by commas, a list, or papermill's number for ``-p reader_accounts
    444455556666``: the pre-flight checks those accounts (``policy-readers`` names them)."""
    for given in ("444455556666, 777788889999", ["444455556666", "777788889999"]):
        step = notebook.check_trails(demo_conn, "org-trail", GOOD, reader_accounts=given)
        assert isinstance(step, Step) and step.ok  # a warning does not block
        (report,) = step.value
        (finding,) = [f for f in report.findings if f.code == "policy-readers"]
        assert "444455556666" in finding.message and "777788889999" in finding.message
    book = notebook.runbook(demo_conn, journal, reader_accounts=444455556666)
    assert book.reader_accounts == ("444455556666",)
    assert notebook.guided_update(demo_conn, journal, reader_accounts=None) is not None


@pytest.mark.parametrize("value", [3, "", "xx", ["ja"], "ja,en"])
def test_the_language_call_names_lang_and_says_what_to_give(value: object) -> None:
    from trailkit.ui import prose

    with pytest.raises(InputError) as info:
        prose.use_language(value)
    assert info.value.message.startswith("lang "), info.value.message
    assert "ja or en" in info.value.fix and "-p lang ja" in info.value.fix


@pytest.mark.parametrize("key", [3, None, "guided-update", "nosuch.intro"])
def test_an_unknown_prose_section_is_an_input_error(key: object) -> None:
    from trailkit.ui import prose

    with pytest.raises(InputError, match="No notebook section"):
        prose.show(key)  # type: ignore[arg-type]
