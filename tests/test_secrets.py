"""Secrets and outputs: recognisable fake credentials never reach an output, a notebook, a log or
the journal; journal files are private; the notebooks in the repository carry no outputs."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import nbformat
import pytest
from nbclient import NotebookClient

ROOT = Path(__file__).resolve().parent.parent

ACCESS_KEY = "AKIAFAKEFAKEFAKE1234"
SECRET_KEY = "fakeSECRETfakeSECRETfakeSECRETfakeSECRE"
SESSION_TOKEN = "FAKETOKEN" + "fAkEtOkEn0123456789" * 8
# Also look for pieces, in case something prints a truncated or split value.
NEEDLES = [ACCESS_KEY, ACCESS_KEY[4:], SECRET_KEY, SECRET_KEY[:20], SESSION_TOKEN, "FAKETOKEN"]


def _leaks(text: str) -> list[str]:
    return [n for n in NEEDLES if n in text]


def _files(*roots: Path) -> Iterator[Path]:
    for root in roots:
        yield from (p for p in root.rglob("*") if p.is_file())


@pytest.fixture
def fake_env(demo: Any, tmp_path: Path) -> dict[str, str]:
    """A process environment with the fake credentials, the demo endpoint and a private HOME."""
    home = tmp_path / "home"
    home.mkdir()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "TRAILKIT_"))}
    env.update(
        HOME=str(home),
        XDG_DATA_HOME=str(home / ".local" / "share"),
        XDG_CONFIG_HOME=str(home / ".config"),
        AWS_ACCESS_KEY_ID=ACCESS_KEY,
        AWS_SECRET_ACCESS_KEY=SECRET_KEY,
        AWS_SESSION_TOKEN=SESSION_TOKEN,
        AWS_ENDPOINT_URL=demo[0],
        AWS_DEFAULT_REGION="us-east-1",
        PYTHONUNBUFFERED="1",
    )
    return env


def _trailkit(env: dict[str, str], *argv: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "trailkit", *argv],
        capture_output=True,
        text=True,
        env=env,
        cwd=env["HOME"],
        timeout=120,
        preexec_fn=lambda: os.umask(0),  # the most permissive umask: privacy must be explicit
    )


def test_cli_outputs_and_the_journal_never_contain_credentials(
    demo_rw: Any, fake_env: dict[str, str], tmp_path: Path
) -> None:
    runs = [
        ["-v", "inventory", "--regions", "us-east-1,eu-west-1"],
        ["inventory", "--format", "json"],
        ["check", "--trail", "org-trail", "--key", "alias/cloudtrail-good", "--format", "json"],
        ["-v", "update", "--trail", "org-trail", "--key", "alias/cloudtrail-good", "--yes"],
        ["rollback", "--last", "--yes", "--format", "json"],
        ["policy", "--trail", "org-trail", "--key", "alias/no-cloudtrail", "--apply", "--yes"],
        ["journal", "--format", "json"],
        ["check", "--trail", "org-trail", "--key", "not a key"],  # an error path
    ]
    codes = []
    for argv in runs:
        proc = _trailkit(fake_env, *argv)
        codes.append(proc.returncode)
        assert "Traceback" not in proc.stderr, proc.stderr
        assert not _leaks(proc.stdout + proc.stderr), (argv, _leaks(proc.stdout + proc.stderr))
    assert codes == [0, 0, 0, 0, 0, 0, 0, 1], codes

    # The default journal (no --journal, no $TRAILKIT_JOURNAL) is under the private HOME; on the
    # demo endpoint it is the demo's own journal, and the real one is never created.
    home = Path(fake_env["HOME"])
    assert list(home.rglob("journal.jsonl")) == []
    journals = list(home.rglob("demo-journal.jsonl"))
    assert len(journals) == 1
    records = [json.loads(line) for line in journals[0].read_text().splitlines()]
    assert [r["phase"] for r in records] == ["intent", "done"] * 3
    # Created private under the most permissive umask, and so are the directories it made.
    assert stat.S_IMODE(journals[0].stat().st_mode) == 0o600
    for directory in (journals[0].parent, journals[0].parent.parent.parent):  # trailkit/, .local/
        assert stat.S_IMODE(directory.stat().st_mode) == 0o700, directory
    for path in _files(home, tmp_path):
        text = path.read_bytes().decode("utf-8", "replace")
        assert not _leaks(text), (path, _leaks(text))


def test_notebook_01_output_never_contains_credentials(
    fake_env: dict[str, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in list(os.environ):
        if name.startswith("AWS_"):
            monkeypatch.delenv(name)
    for name, value in fake_env.items():
        if name.startswith(("AWS_", "HOME", "XDG_")):
            monkeypatch.setenv(name, value)  # the kernel inherits this environment
    work = tmp_path / "work"
    work.mkdir()
    nb = nbformat.read(ROOT / "notebooks" / "01_encryption_inventory.ipynb", as_version=4)
    client = NotebookClient(
        nb,
        timeout=120,
        kernel_name="python3",
        resources={"metadata": {"path": str(work)}},
        store_widget_state=True,
    )
    client.execute()
    executed = nbformat.writes(nb)
    errors = [
        o
        for c in nb.cells
        if c.cell_type == "code"
        for o in c.get("outputs", [])
        if o.get("output_type") == "error"
    ]
    assert not errors, errors
    assert "123456789012" in executed  # the notebook did reach the demo account
    assert not _leaks(executed)
    out = tmp_path / "executed.ipynb"
    out.write_text(executed)
    for path in _files(work, Path(fake_env["HOME"])):
        text = path.read_bytes().decode("utf-8", "replace")
        assert not _leaks(text), path


def test_the_notebooks_in_the_repository_carry_no_outputs() -> None:
    notebooks = sorted((ROOT / "notebooks").glob("*.ipynb"))
    assert notebooks
    for path in notebooks:
        nb = nbformat.read(path, as_version=4)
        for cell in nb.cells:
            if cell.cell_type == "code":
                assert cell.outputs == [], f"{path.name}: a cell has outputs"
                assert cell.execution_count is None, f"{path.name}: a cell was executed"
        assert "widgets" not in nb.metadata, f"{path.name}: saved widget state"
        assert not _leaks(path.read_text())
