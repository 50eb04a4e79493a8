"""``trailkit lab`` opens working copies, so running the notebooks never modifies the repository.

The repository's ``notebooks/`` stay clean and without outputs; JupyterLab's root is a
git-ignored ``.trailkit-lab/`` (in a source checkout) holding copies, refreshed from the
repository when its version changed, and never overwritten once the user edited them.
"""

from __future__ import annotations

import io
import json
import os
import shutil
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.test_notebooks import kernel_env
from trailkit.demo import lab
from trailkit.demo.lab import default_copies_dir, run_lab, working_copies

__all__ = ["kernel_env"]

REPO = Path(__file__).resolve().parent.parent
NOTEBOOKS = REPO / "notebooks"


def _same_notebooks(copies: Path) -> None:
    names = sorted(p.name for p in NOTEBOOKS.glob("*.ipynb"))
    assert sorted(p.name for p in copies.glob("*.ipynb")) == names and names
    for name in names:
        assert (copies / name).read_bytes() == (NOTEBOOKS / name).read_bytes(), name


def test_the_default_copies_folder_is_git_ignored_in_the_checkout() -> None:
    assert default_copies_dir() == REPO / ".trailkit-lab"
    proc = subprocess.run(
        ["git", "check-ignore", "-q", str(REPO / ".trailkit-lab" / "01_x.ipynb")],
        cwd=REPO,
        check=False,
    )
    assert proc.returncode == 0


def test_run_lab_serves_working_copies_equal_to_the_repository(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    seen: dict[str, Any] = {}

    class FakeProc:
        def __init__(self, cmd: list[str], *, cwd: Path, **_: Any) -> None:
            seen["cmd"], seen["cwd"] = cmd, Path(cwd)

    monkeypatch.setattr(lab.subprocess, "Popen", FakeProc)
    monkeypatch.setattr(lab, "supervise", lambda *a, **k: 0)
    copies = tmp_path / "copies"
    assert run_lab(aws=True, port=0, copies_dir=copies, out=io.StringIO()) == 0
    assert seen["cwd"] == copies.resolve()
    assert f"--ServerApp.root_dir={copies.resolve()}" in seen["cmd"]
    _same_notebooks(copies)
    assert (copies / ".gitignore").read_text().splitlines()[-1] == "*"


def test_copies_are_refreshed_unless_the_user_edited_them(tmp_path: Path) -> None:
    source, dest = tmp_path / "repo", tmp_path / "copies"
    shutil.copytree(NOTEBOOKS, source)
    out = io.StringIO()
    working_copies(source, dest, out=out)
    a, b, c = (sorted(source.glob("*.ipynb")))[:3]

    # the user ran A (outputs only), edited B; the repository changes A, B and C
    ran = json.loads((dest / a.name).read_text())
    ran["cells"][-1]["outputs"] = [{"output_type": "stream", "name": "stdout", "text": "x"}]
    (dest / a.name).write_text(json.dumps(ran))
    edited = json.loads((dest / b.name).read_text())
    edited["cells"][-1]["source"] = "my own cell"
    (dest / b.name).write_text(json.dumps(edited))
    for nb in (a, b, c):
        data = json.loads(nb.read_text())
        data["cells"].append(
            {"cell_type": "markdown", "id": "new", "metadata": {}, "source": "new"}
        )
        nb.write_text(json.dumps(data))

    out = io.StringIO()
    working_copies(source, dest, out=out)
    assert (dest / a.name).read_bytes() == a.read_bytes()  # only outputs: refreshed
    assert (dest / c.name).read_bytes() == c.read_bytes()
    assert json.loads((dest / b.name).read_text()) == edited  # edited: kept, and said so
    assert f"kept your edited {dest / b.name}" in out.getvalue()
    assert f"{a.name} refreshed" in out.getvalue()

    (dest / b.name).unlink()  # deleting the copy brings the repository's version back
    working_copies(source, dest, out=io.StringIO())
    assert (dest / b.name).read_bytes() == b.read_bytes()


@pytest.fixture
def copies() -> Iterator[Path]:
    folder = default_copies_dir() / f"pytest-{uuid.uuid4().hex[:8]}"
    yield folder
    shutil.rmtree(folder, ignore_errors=True)


def _status() -> str:
    return subprocess.run(
        ["git", "status", "--porcelain", "--untracked-files=all"],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=True,
    ).stdout


@pytest.mark.slow
def test_running_a_notebook_in_the_working_copies_leaves_git_status_clean(
    demo: Any, kernel_env: str, copies: Path
) -> None:
    before = _status()
    working_copies(NOTEBOOKS, copies)
    notebook = copies / "01_encryption_inventory.ipynb"
    args = [sys.executable, "-m", "papermill", str(notebook), str(notebook)]  # saved in place
    args += ["-p", "endpoint_url", kernel_env, "-p", "regions", "us-east-1"]
    args += ["--cwd", str(copies), "--no-progress-bar"]
    proc = subprocess.run(
        args,
        capture_output=True,
        text=True,
        timeout=300,
        env=dict(os.environ),
        check=False,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert (copies / "trails.csv").is_file()  # the export went next to the copy
    assert "outputs" in notebook.read_text() and not (NOTEBOOKS / "trails.csv").exists()
    assert _status() == before  # nothing new or modified in the repository
    _same_notebooks(NOTEBOOKS)  # (trivially) and the repo's notebooks are still outputless
    for nb in NOTEBOOKS.glob("*.ipynb"):
        assert all(c.get("outputs", []) == [] for c in json.loads(nb.read_text())["cells"])
