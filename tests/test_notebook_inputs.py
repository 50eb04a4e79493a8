"""Notebooks do exactly what their parameters say, and run to their end on thin results.

- A yes/no parameter that means no acts on nothing: ``-p apply false`` (papermill's text
  ``"false"``), ``-p apply no`` and ``-p apply 0`` (papermill's int 0) send nothing; ``-p apply
  maybe`` stops the run at the flags cell with an ``InputError`` (one line, no traceback) before
  anything is read or sent.
- Every notebook runs to its end on an empty account, on a region that fails, and on a partial
  result (the failed regions table and the export still run).

The papermill command line is used where its reading of ``-p`` values matters.
"""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import nbformat
import papermill
import pytest

from tests.test_notebooks import NOTEBOOKS, cell_html, kernel_env, run
from trailkit.aws.session import Connection
from trailkit.aws.writes import read_trail_key
from trailkit.change.journal import Journal

__all__ = ["kernel_env"]  # the fixture, re-used

pytestmark = pytest.mark.slow
GOOD = "alias/cloudtrail-good"
FAILING = "us-east-9"  # not a region: its calls fail, as a disabled or denied region's do


def _papermill_cli(
    name: str, tmp_path: Path, endpoint: str, *params: str
) -> tuple[subprocess.CompletedProcess[str], nbformat.NotebookNode]:
    out = tmp_path / f"out-{name}"
    args = [sys.executable, "-m", "papermill", str(NOTEBOOKS / name), str(out)]
    args += ["-p", "endpoint_url", endpoint, "--cwd", str(tmp_path), "--no-progress-bar"]
    for i in range(0, len(params), 2):
        args += ["-p", params[i], params[i + 1]]
    proc = subprocess.run(
        args, capture_output=True, text=True, timeout=300, env=dict(os.environ), check=False
    )
    return proc, nbformat.read(out, as_version=4)


def _errors(nb: nbformat.NotebookNode) -> list[dict[str, Any]]:
    return [
        o for c in nb.cells if c.cell_type == "code" for o in c.outputs if o.output_type == "error"
    ]


# -- 1. a parameter that means "no" acts on nothing -------------------------------------------


@pytest.mark.parametrize("no", ["false", "no", "0", "FALSE", " No "])
def test_02_apply_no_sends_nothing(demo_rw: Any, kernel_env: str, tmp_path: Path, no: str) -> None:
    _, estate = demo_rw
    journal = tmp_path / "journal.jsonl"
    proc, nb = _papermill_cli(
        "02_guided_update.ipynb",
        tmp_path,
        kernel_env,
        *("trail", "org-trail", "key", GOOD, "apply", no, "rollback", no, "repair_policy", no),
        *("journal_path", str(journal)),
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    conn = Connection(endpoint_url=kernel_env, region="us-east-1")
    assert read_trail_key(conn, estate.trails["org-trail"], "us-east-1") is None  # still SSE-S3
    assert not journal.exists() or Journal(journal).changes() == []
    assert "READY" in cell_html(nb, "guided.choose(")  # it did plan: only the send was a no
    assert cell_html(nb, "guided.apply(") == "" and not _errors(nb)


def test_02_apply_maybe_stops_with_an_input_error_and_sends_nothing(
    demo_rw: Any, kernel_env: str, tmp_path: Path
) -> None:
    _, estate = demo_rw
    journal = tmp_path / "journal.jsonl"
    proc, nb = _papermill_cli(
        "02_guided_update.ipynb",
        tmp_path,
        kernel_env,
        *("trail", "org-trail", "key", GOOD, "apply", "maybe", "journal_path", str(journal)),
    )
    assert proc.returncode != 0
    (error,) = _errors(nb)
    assert error["ename"] == "InputError" and error["evalue"].startswith("apply must be yes or no")
    assert error["traceback"] == [f"Invalid input: {error['evalue']}"]  # one line, no stack
    shown = "\n".join(error["traceback"])
    assert "Traceback" not in shown and "File " not in shown and "---->" not in shown
    flags = next(c for c in nb.cells if "notebook.check_flags(" in c.source)
    assert flags.outputs == [error]  # stopped at the flags cell, before connecting
    conn = Connection(endpoint_url=kernel_env, region="us-east-1")
    assert read_trail_key(conn, estate.trails["org-trail"], "us-east-1") is None
    assert not journal.exists()


def test_02_reader_account_as_papermill_passes_it_is_checked(
    demo: Any, kernel_env: str, tmp_path: Path
) -> None:
    """``-p reader_accounts 444455556666`` (papermill reads a number) reaches the pre-flight."""
    proc, nb = _papermill_cli(
        "02_guided_update.ipynb",
        tmp_path,
        kernel_env,
        *("trail", "org-trail", "key", GOOD, "reader_accounts", "444455556666"),
        *("journal_path", str(tmp_path / "journal.jsonl")),
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    chosen = cell_html(nb, "guided.choose(")
    assert "READY" in chosen and "policy-readers" in chosen and "444455556666" in chosen


def test_02_bad_reader_account_stops_with_an_input_error_and_sends_nothing(
    demo_rw: Any, kernel_env: str, tmp_path: Path
) -> None:
    _, estate = demo_rw
    journal = tmp_path / "journal.jsonl"
    proc, nb = _papermill_cli(
        "02_guided_update.ipynb",
        tmp_path,
        kernel_env,
        *("trail", "org-trail", "key", GOOD, "apply", "true", "reader_accounts", "12"),
        *("journal_path", str(journal)),
    )
    assert proc.returncode != 0
    (error,) = _errors(nb)
    assert error["ename"] == "InputError"
    assert error["evalue"].startswith("reader_accounts must hold 12-digit AWS account ids")
    assert error["traceback"] == [f"Invalid input: {error['evalue']}"]  # one line, no stack
    made = next(c for c in nb.cells if "notebook.guided_update(" in c.source)
    assert made.outputs == [error]  # stopped where the runbook is made, before any check
    conn = Connection(endpoint_url=kernel_env, region="us-east-1")
    assert read_trail_key(conn, estate.trails["org-trail"], "us-east-1") is None
    assert not journal.exists()


@pytest.mark.parametrize(
    ("name", "params"),
    [
        ("03_key_policy.ipynb", {"apply": "0"}),
        ("04_bulk_update.ipynb", {"apply": "no"}),
    ],
)
def test_03_and_04_apply_no_sends_nothing(
    demo_rw: Any, kernel_env: str, tmp_path: Path, name: str, params: dict[str, str]
) -> None:
    journal = tmp_path / "journal.jsonl"
    flat = [x for kv in params.items() for x in kv]
    proc, nb = _papermill_cli(name, tmp_path, kernel_env, *flat, "journal_path", str(journal))
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert not journal.exists() or Journal(journal).changes() == []
    proc, nb = _papermill_cli(
        name, tmp_path, kernel_env, "apply", "2", "journal_path", str(journal)
    )
    assert proc.returncode != 0
    (error,) = _errors(nb)
    assert error["ename"] == "InputError" and error["evalue"].startswith("apply must be yes or no")
    assert not journal.exists()


# -- 11. empty and partial results ------------------------------------------------------------


def _ran_to_the_end(nb: nbformat.NotebookNode) -> None:
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert not _errors(nb)
    assert all(c.execution_count is not None for c in code)


def test_01_on_an_empty_account_runs_to_the_export(
    clean_moto: str, kernel_env: str, tmp_path: Path
) -> None:
    csv_path = tmp_path / "trails.csv"
    nb = run(
        "01_encryption_inventory.ipynb",
        tmp_path,
        kernel_env,
        regions=["us-east-1"],
        csv_path=str(csv_path),
    )
    _ran_to_the_end(nb)
    assert "No trail to chart" in cell_html(nb, "encryption_chart(")
    with csv_path.open() as f:
        assert list(csv.DictReader(f)) == []


@pytest.mark.parametrize("regions", [[FAILING], ["us-east-1", FAILING]], ids=["failed", "partial"])
def test_01_with_a_failed_region_shows_it_and_exports(
    demo: Any, kernel_env: str, tmp_path: Path, regions: list[str]
) -> None:
    csv_path = tmp_path / "trails.csv"
    nb = run(
        "01_encryption_inventory.ipynb",
        tmp_path,
        kernel_env,
        regions=regions,
        csv_path=str(csv_path),
    )
    _ran_to_the_end(nb)
    assert "PARTIAL RESULT" in cell_html(nb, "ConnectionBanner")
    assert FAILING in cell_html(nb, "errors_frame(")
    with csv_path.open() as f:
        rows = list(csv.DictReader(f))
    if len(regions) == 1:
        assert "No trail to chart" in cell_html(nb, "encryption_chart(")
    else:
        assert any(r["name"] == "org-trail" for r in rows)
        chart = next(c for c in nb.cells if "encryption_chart(" in c.source)
        assert any("image/png" in o.get("data", {}) for o in chart.outputs)


@pytest.mark.parametrize(
    "name",
    [
        "02_guided_update.ipynb",
        "03_key_policy.ipynb",
        "04_bulk_update.ipynb",
        "05_change_journal.ipynb",
    ],
)
def test_every_notebook_runs_to_its_end_on_an_empty_account(
    clean_moto: str, kernel_env: str, tmp_path: Path, name: str
) -> None:
    params: dict[str, Any] = {"journal_path": str(tmp_path / "journal.jsonl")}
    if name != "03_key_policy.ipynb" and name != "05_change_journal.ipynb":
        params["regions"] = ["us-east-1"]
    nb = run(name, tmp_path, kernel_env, **params)
    _ran_to_the_end(nb)
    if name == "04_bulk_update.ipynb":
        assert "Not among the trails offered" in cell_html(nb, "bulk.choose(")


@pytest.mark.parametrize("regions", [[FAILING], ["us-east-1", FAILING]], ids=["failed", "partial"])
@pytest.mark.parametrize("name", ["02_guided_update.ipynb", "04_bulk_update.ipynb"])
def test_02_and_04_run_to_their_end_with_a_failed_region(
    demo: Any, kernel_env: str, tmp_path: Path, name: str, regions: list[str]
) -> None:
    nb = run(name, tmp_path, kernel_env, regions=regions, journal_path=str(tmp_path / "j.jsonl"))
    _ran_to_the_end(nb)
    if name == "04_bulk_update.ipynb":
        assert "PARTIAL RESULT" in cell_html(nb, "ConnectionBanner")


def test_papermill_reads_the_values_as_the_tests_assume(tmp_path: Path) -> None:
    """The parameters cell papermill writes: "false" stays a text, 0 becomes an int."""
    out = tmp_path / "params.ipynb"
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "papermill",
            str(NOTEBOOKS / "02_guided_update.ipynb"),
            str(out),
            "-p",
            "apply",
            "false",
            "-p",
            "rollback",
            "0",
            "--prepare-only",
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    injected = next(
        c
        for c in nbformat.read(out, as_version=4).cells
        if "injected-parameters" in c.metadata.get("tags", [])
    )
    assert 'apply = "false"' in injected.source and "rollback = 0" in injected.source
    assert json.dumps(papermill.__version__)
