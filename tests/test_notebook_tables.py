"""How notebook tables, the chart, the PARTIAL RESULT line and expected errors look (issue 13).

Headless: the HTML the frames of :mod:`trailkit.ui.tables` and the glue of
:mod:`trailkit.ui.notebook` hand a notebook, rendered here without a kernel (the error display
runs in an IPython shell of its own process, so this session never gets one).
"""

from __future__ import annotations

import html
import io
import re
import subprocess
import sys
import textwrap
import time
from dataclasses import replace
from pathlib import Path

import matplotlib
import pandas as pd
import pytest
from widget_fakes import FakeEstate

from trailkit.change.journal import Journal
from trailkit.records import Inventory
from trailkit.records.journal import Kind, Phase
from trailkit.records.read import ScanError
from trailkit.ui import notebook, tables
from trailkit.ui.widgets import TrailsTable

matplotlib.use("Agg")

REPO = Path(__file__).resolve().parent.parent
LONG_KEY = "arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"
TRAIL = "arn:aws:cloudtrail:us-east-1:123456789012:trail/org-trail"
REQUEST = "8f2c1e0a-5b6d-4c3e-9f10-a1b2c3d4e5f6"


@pytest.fixture
def inventory() -> Inventory:
    return FakeEstate().inventory()


def partial(inv: Inventory) -> Inventory:
    failed = ScanError("DescribeTrails", "AccessDenied", "denied", region="us-east-9")
    return replace(inv, errors=(failed,))


def cells(page: str) -> list[str]:
    return re.findall(r"<td[^>]*>(.*?)</td>", page, re.S)


def row_of(page: str, name: str) -> list[str]:
    row = next(r for r in re.findall(r"<tr>(.*?)</tr>", page, re.S) if f">{name}<" in r)
    return cells(row)


# -- no NaN -------------------------------------------------------------------------------------


def test_trails_frame_keeps_raw_values_but_shows_no_nan(inventory: Inventory) -> None:
    frame = tables.trails_frame(inventory)
    org = frame[frame["name"] == "org-trail"].iloc[0]
    assert org["encryption"] == "SSE-S3" and pd.isna(org["key_arn"])  # the data is unchanged
    assert isinstance(frame, pd.DataFrame)

    page = frame._repr_html_()
    assert "NaN" not in page and "None" not in page and "nan" not in page
    columns = list(frame.columns)
    row = row_of(page, "org-trail")
    assert row[columns.index("key_alias")] == tables.NO_KEY == "none (SSE-S3)"
    assert row[columns.index("key_arn")] == "none (SSE-S3)"
    assert row[columns.index("key_state")] == "-"
    assert row[columns.index("error")] == "-"


def test_a_region_that_could_not_be_read_shows_dashes(inventory: Inventory) -> None:
    page = tables.trails_frame(partial(inventory))._repr_html_()
    row = row_of(page, "(region us-east-9 could not be read)")
    assert "NaN" not in page and set(row) - {
        "us-east-9",
        "denied",
        "(region us-east-9 could not be read)",
    } == {"-"}


def test_absent_values_say_what_they_mean() -> None:
    kms = {"encryption": "SSE-KMS", "trail_arn": TRAIL, "key_state": None}
    assert tables.missing_text("key_state", kms) == "unknown"  # the key could not be read
    assert tables.missing_text("key_alias", kms) == "unknown"
    assert tables.missing_text("key_alias", {**kms, "key_state": "Enabled"}) == "-"
    assert tables.missing_text("bucket_region", kms) == "unknown"
    assert tables.missing_text("latest_delivery_error", kms) == "-"
    assert tables.missing_text("before", {"kind": "trail-key"}) == "SSE-S3"
    assert tables.missing_text("before", {"kind": "key-policy"}) == "-"
    assert tables.missing_text("in_bucket_region", {"alias": None}) == "unknown"


def test_keys_and_errors_frames_show_no_nan(inventory: Inventory) -> None:
    keys = tables.keys_frame(inventory)
    assert keys["error"].isna().all()
    page = keys._repr_html_()
    assert "NaN" not in page and "None" not in page
    errors = tables.errors_frame(partial(inventory))._repr_html_()
    assert "NaN" not in errors and "None" not in errors and "us-east-9" in errors
    assert "(no rows)" in tables.errors_frame(inventory)._repr_html_()


def test_the_trails_widget_shows_sse_s3_and_no_nan(inventory: Inventory) -> None:
    page = TrailsTable(inventory).html()
    assert "NaN" not in page and page.count(">org-trail<") == 1
    assert "none (SSE-S3)" in " ".join(row_of(page, "org-trail"))
    assert "#e8f5e9" in page and "#fff8e1" in page  # the colours come from the raw values


# -- long ids, wrapping, the wrapper ------------------------------------------------------------


def test_a_long_arn_is_shortened_with_the_full_value_on_hover() -> None:
    frame = tables.TableFrame([{"name": "main", "key_arn": LONG_KEY, "request_id": REQUEST}])
    page = frame._repr_html_()
    assert f'<span title="{LONG_KEY}">key/1234abcd…</span>' in page
    assert f'<span title="{REQUEST}">8f2c1e0a…</span>' in page
    assert f">{LONG_KEY}<" not in page


def test_cell_text_is_escaped() -> None:
    assert tables.cell_html("error", "<b>x</b> & y", {}) == "&lt;b&gt;x&lt;/b&gt; &amp; y"
    arn = 'arn:aws:s3:::b"<x>'
    assert html.escape(arn, quote=True) in tables.cell_html("resource", arn, {})


def test_names_and_ids_stay_on_one_line_and_free_text_wraps_between_words(
    inventory: Inventory,
) -> None:
    page = tables.trails_frame(inventory)._repr_html_()
    uuid = re.search(r'<table id="(T_\w+)"', page)
    assert uuid is not None
    one_line = re.search(rf"#{uuid[1]} td \{{(.*?)\}}", page, re.S)
    assert one_line is not None
    assert "white-space: nowrap" in one_line[1] and "word-break: keep-all" in one_line[1]
    error_col = list(tables.TRAIL_COLUMNS).index("error")
    text = re.search(rf"#{uuid[1]} td\.col{error_col} \{{(.*?)\}}", page, re.S)
    assert text is not None
    assert "white-space: normal" in text[1] and "word-break: normal" in text[1]
    assert "break-all" not in page and "break-word" not in page


def test_wide_tables_scroll_sideways(inventory: Inventory) -> None:
    for page in (
        tables.trails_frame(inventory)._repr_html_(),
        tables.keys_frame(inventory)._repr_html_(),
        tables.table_html(tables.style_trails(tables.trails_frame(inventory))),
    ):
        assert page.startswith('<div class="tk-table tk-wide" style="overflow-x:auto;')
        # as wide as its container, never wider (in a widget's flex box it would be clipped)
        assert "width:0;min-width:100%" in page.split(">", 1)[0]
        assert page.endswith("</div>")


def test_a_long_frame_shows_its_first_rows_and_says_so() -> None:
    frame = tables.TableFrame({"name": [f"t{i}" for i in range(100)]})
    page = tables.table_html(frame, max_rows=10)
    assert len(cells(page)) == 10 and "First 10 of 100 rows." in page
    assert len(frame[frame["name"] != "t0"]) == 99 and isinstance(frame.head(), tables.TableFrame)


def test_the_journal_table_keeps_change_ids_whole(tmp_path: Path) -> None:
    journal = Journal(tmp_path / "journal.jsonl")
    intent = journal.record_intent(
        kind=Kind.TRAIL_KEY,
        target_arn=TRAIL,
        region="us-east-1",
        before=None,
        after=LONG_KEY,
        caller_arn="arn:aws:iam::123456789012:user/operator",
        account="123456789012",
        endpoint="",
        backend="demo",
    )
    journal.record_outcome(intent, Phase.DONE, after=LONG_KEY, request_id=REQUEST)
    frame = notebook.changes_table(journal)
    assert frame["before"].isna().all()
    page = frame._repr_html_()
    columns = list(frame.columns)
    row = row_of(page, intent.change_id)
    assert row[columns.index("change_id")] == intent.change_id
    assert row[columns.index("before")] == "SSE-S3"
    assert row[columns.index("after")] == f'<span title="{LONG_KEY}">key/1234abcd…</span>'
    assert row[columns.index("rollback_of")] == "-" and "NaN" not in page
    # Not undone is "none", not "could not be read".
    assert row[columns.index("undone_by")] == "-" and "unknown" not in page


def local_time_in_tokyo(text: str) -> str:
    from datetime import datetime, timedelta

    when = datetime.fromisoformat(text.replace("Z", "+00:00")) + timedelta(hours=9)
    return f"{when:%Y-%m-%d %H:%M:%S} UTC+09:00"


def test_japanese_notebook_tables_have_japanese_headings_and_values(
    tmp_path: Path, inventory: Inventory, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Notebook 05 with ``-p lang ja``: the table of every change had English headings
    (change_id, time, kind, status, target_arn, ...) beside Japanese ones, showed "done" and
    UTC times; notebook 01's tables showed True/False."""
    from english import english_words

    from trailkit.i18n import speaking

    journal = Journal(tmp_path / "j.jsonl")
    intent = journal.record_intent(
        kind=Kind.TRAIL_KEY,
        target_arn=TRAIL,
        region="us-east-1",
        before=None,
        after=LONG_KEY,
        caller_arn="arn:aws:iam::123456789012:user/operator",
        account="123456789012",
        endpoint="",
        backend="demo",
    )
    journal.record_outcome(intent, Phase.DONE, after=LONG_KEY, request_id=REQUEST)
    frame = notebook.changes_table(journal)
    with speaking("ja"):
        page = frame._repr_html_()
    headings = [html.unescape(h) for h in re.findall(r"<th [^>]*col_heading[^>]*>(.*?)</th>", page)]
    assert len(headings) == len(frame.columns)
    for heading in headings:
        assert not english_words(heading), heading
    row = row_of(page, intent.change_id)
    assert row[list(frame.columns).index("status")] == "完了"
    assert list(frame["status"]) == ["done"]  # the frame keeps the status
    monkeypatch.setenv("TZ", "Asia/Tokyo")
    time.tzset()
    try:
        with speaking("ja"):
            shown = row_of(frame._repr_html_(), intent.change_id)[list(frame.columns).index("time")]
    finally:
        monkeypatch.delenv("TZ")
        time.tzset()
    # the operator's timezone, with the zone, as the journal view shows it; the frame keeps UTC
    assert shown == local_time_in_tokyo(intent.time) and shown.endswith(" UTC+09:00")
    assert list(frame["time"]) == [intent.time]
    with speaking("ja"):
        trails = tables.TableFrame(tables.trails_frame(inventory))._repr_html_()
    assert ">True<" not in trails and ">False<" not in trails and ">はい<" in trails
    with speaking("en"):
        english = tables.TableFrame(tables.trails_frame(inventory))._repr_html_()
        assert ">True<" in english and ">status<" in frame._repr_html_()


def test_an_error_without_an_aws_code_says_its_kind_not_a_class_name() -> None:
    from trailkit.aws.service import scan_error
    from trailkit.errors import AwsError, InputError

    error = scan_error(InputError("mars-1 is not a region.", "fix it"), region="mars-1")
    page = tables.TableFrame([error.as_dict()], columns=tables.ERROR_COLUMNS)._repr_html_()
    code = cells(page)[tables.ERROR_COLUMNS.index("code")]
    assert code == "Invalid input" and "InputError" not in page
    aws = scan_error(AwsError("denied", operation="ListKeys", code="AccessDenied"), region="x")
    assert aws.code == "AccessDenied"


# -- the chart and the PARTIAL RESULT line -------------------------------------------------------


def test_the_chart_counts_whole_trails(inventory: Inventory) -> None:
    import matplotlib.pyplot as plt
    from matplotlib.ticker import MaxNLocator

    plt.close("all")
    assert notebook.encryption_chart(inventory) is None
    axes = plt.gca()
    locator = axes.yaxis.get_major_locator()
    assert isinstance(locator, MaxNLocator) and locator._integer
    ticks = [t for t in axes.get_yticks() if axes.get_ylim()[0] <= t <= axes.get_ylim()[1]]
    assert ticks and all(float(t).is_integer() for t in ticks)
    plt.close("all")


def test_a_japanese_chart_draws_its_labels_in_a_japanese_font(inventory: Inventory) -> None:
    """Notebook 01 with ``-p lang ja``: the title and axis labels were boxes (DejaVu Sans has
    no Japanese glyph, and matplotlib's font cache predated fonts-noto-cjk)."""
    import warnings

    import matplotlib.pyplot as plt
    from matplotlib import font_manager

    from trailkit.i18n import speaking

    if not any(re.search(r"CJK|IPA|Takao", Path(f).name) for f in font_manager.findSystemFonts()):
        pytest.skip("no Japanese font installed")
    plt.close("all")
    with speaking("ja"):
        assert notebook.encryption_chart(inventory) is None
    axes = plt.gca()
    assert axes.get_title() == "暗号化別の証跡"
    fonts = notebook.CJK_FONTS
    for text in (axes.title, axes.xaxis.label, axes.yaxis.label, axes.get_legend().get_title()):
        assert any(name in fonts for name in text.get_fontfamily()), text.get_text()
    with warnings.catch_warnings(record=True) as said:
        warnings.simplefilter("always")
        axes.figure.savefig(io.BytesIO(), format="png")  # drawn after the cell, as inline does
    assert not [w for w in said if "missing from font" in str(w.message)]
    plt.close("all")
    with speaking("en"):
        assert not set(notebook.chart_fonts()) & set(fonts)  # English keeps matplotlib's own


def test_nothing_to_chart_because_regions_failed_is_a_warning(inventory: Inventory) -> None:
    failed = replace(partial(inventory), trails=(), keys={})
    step = notebook.encryption_chart(failed)
    assert step is not None and "tk-note-warn" in step.html and "tk-note-info" not in step.html
    empty = notebook.encryption_chart(replace(inventory, trails=(), keys={}))
    assert empty is not None and "tk-note-info" in empty.html


def test_the_partial_banner_is_a_warning(inventory: Inventory) -> None:
    assert notebook.partial_banner(inventory) is None
    banner = notebook.partial_banner(partial(inventory))
    assert banner is not None and "PARTIAL RESULT: 1 call failed" in banner
    assert "tk-banner-partial" in banner and "tk-note-warn" in banner
    assert "#fff8e1" in banner and "#f9a825" in banner  # amber, inline
    assert "#e3f2fd" not in banner and "#1565c0" not in banner  # not the info blue


# -- expected errors: one line, no traceback -----------------------------------------------------

_SHELL = """
from IPython.core.interactiveshell import InteractiveShell

shell = InteractiveShell.instance()
shell.run_cell("from trailkit.ui import notebook")  # what every runbook notebook's 2nd cell does
print("HANDLER", shell.custom_exceptions)
result = shell.run_cell("import trailkit as tk\\ntk.connect(endpoint_url='http://127.0.0.1:9')")
print("FAILED", type(result.error_in_exec).__name__)
result = shell.run_cell("notebook.check_flags(apply='maybe')")
print("FAILED", type(result.error_in_exec).__name__)
"""


def test_an_expected_error_in_a_notebook_is_one_line_without_traceback() -> None:
    proc = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(_SHELL)],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        env={**_clean_env(), "PYTHONPATH": str(REPO)},
    )
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, out
    assert "HANDLER (<class 'trailkit.errors.TrailkitError'>,)" in out
    assert "Traceback" not in out and "----> " not in out and 'File "' not in out
    lines = [
        line for line in out.splitlines() if line and not line.startswith(("HANDLER", "FAILED"))
    ]
    assert len(lines) == 2, out
    # A kind of failure in words, never a Python class name.
    assert lines[0].startswith("Cannot connect: GetCallerIdentity could not reach AWS")
    assert lines[1].startswith("Invalid input: ") and "apply" in lines[1]
    assert out.count("FAILED ConnectionFailed") == 1 and "FAILED InputError" in out


def test_the_error_display_leaves_another_handler_alone() -> None:
    class Shell:
        custom_exceptions: tuple[type[BaseException], ...] = (KeyError,)

        def set_custom_exc(self, *_: object) -> None:  # pragma: no cover - must not be called
            raise AssertionError("replaced someone else's handler")

    assert not notebook.install_error_display(Shell())
    assert not notebook.install_error_display(None)  # no IPython in this process


def _clean_env() -> dict[str, str]:
    import os

    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env.update(AWS_ACCESS_KEY_ID="placeholder", AWS_SECRET_ACCESS_KEY="placeholder")
    env["AWS_DEFAULT_REGION"] = "us-east-1"
    env.pop("TRAILKIT_BACKEND", None)
    return env


def test_the_trails_widget_is_drawn_by_the_one_table_renderer(inventory: Inventory) -> None:
    """TrailsTable's HTML is table_html's: the scrolling wrapper, one-line cells, short ARNs with
    the full value on hover, its colours, and only the columns it shows (no row numbers)."""
    table = TrailsTable(inventory)
    page = table.html()
    assert page.startswith(f'<div class="tk-table tk-wide" style="{tables.WRAPPER_STYLE}">')
    assert 'class="tk-frame tk-trails-table"' in page and "white-space: nowrap" in page
    assert "trail_arn" not in page and "row_heading" not in page
    table._w_encryption.value = "SSE-KMS"  # a filter: the frame's row numbers have gaps
    page = table.html()
    assert "row_heading" not in page and ">org-trail<" not in page
    table._w_region.value = "us-west-2"  # its one trail is SSE-S3
    assert table.frame.empty and "(no rows)" in table.html()


def test_the_progress_line_says_calls_answered_in_words(
    capsys: pytest.CaptureFixture[str],
) -> None:
    from trailkit.ui.progress import progress_bar

    with progress_bar(True) as report:
        assert report is not None
        report(2, 5)
    err = capsys.readouterr().err
    assert "reading AWS, API calls answered: 0 [00:00]" in err
    assert "0call" not in err and "?call/s" not in err and "call/s" not in err


def test_backticked_commands_in_an_expected_error_are_not_shown_with_backticks() -> None:
    from trailkit.errors import InputError

    err = InputError("No trail x.", "list trails with `trailkit inventory`")
    assert "<code>trailkit inventory</code>" in err._repr_html_() and "`" not in err._repr_html_()

    class Shell:
        def _showtraceback(self, etype: object, value: object, stb: list[str]) -> None:
            pass

    (line,) = notebook._one_line(Shell(), InputError, err, None)
    assert "`" not in line and "\x1b[1mtrailkit inventory\x1b[22m" in line
    assert line.startswith("Invalid input: No trail x.")
