"""The guided update in a real browser: JupyterLab (notebook 02) and the Voila app.

Playwright drives Debian's Chromium (installed by :func:`browser_setup.ensure_chromium` when
missing; the test fails if it cannot be). The operator's flow: choose a trail, choose a blocked
key (Apply stays disabled, the reason is visible), choose a ready key, confirm, apply, see the
success and the new key, roll back. Screenshots go to ``test-artifacts/``; the Voila one after
the apply also becomes ``docs/guided-update.png`` for the README.
"""

from __future__ import annotations

import io
import json
import shutil
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
import warnings
from pathlib import Path
from typing import Any

import pytest
from browser_setup import (
    KERNEL_IDLE,
    REPO,
    browser_page,
    drive_guided_update,
    ensure_chromium,
    jupyter_env,
    jupyterlab,
    run_all,
    screenshot,
    trailkit_app,
    trailkit_lab,
)

from trailkit.aws.session import Connection
from trailkit.aws.writes import read_trail_key
from trailkit.change.journal import Journal
from trailkit.demo import PLACEHOLDER_CREDENTIAL
from trailkit.demo.app import app_command, notebook_path, run_app
from trailkit.errors import InputError

NOTEBOOK = REPO / "notebooks" / "02_guided_update.ipynb"


@pytest.fixture(scope="module")
def chromium() -> Path:
    return ensure_chromium()


def _journal_statuses(path: Path) -> list[tuple[str, str | None]]:
    return [(c.status, c.intent.after) for c in Journal(path).changes()]


@pytest.mark.browser
@pytest.mark.slow
def test_guided_update_in_jupyterlab(chromium: Path, demo_rw: Any, tmp_path: Path) -> None:
    endpoint, estate = demo_rw
    root = tmp_path / "notebooks"
    root.mkdir()
    shutil.copy(NOTEBOOK, root / NOTEBOOK.name)  # Lab works on a copy
    journal = tmp_path / "journal.jsonl"
    env = jupyter_env(tmp_path, endpoint, journal)
    with jupyterlab(root, env, tmp_path / "lab.log") as base, browser_page(chromium) as page:
        page.goto(f"{base}/lab/tree/{NOTEBOOK.name}")
        page.wait_for_function(KERNEL_IDLE, timeout=60_000)
        page.evaluate("window.jupyterapp.commands.execute('notebook:run-all-cells')")
        page.wait_for_selector(".tk-guided", timeout=60_000)
        drive_guided_update(page, "lab")

    good = estate.keys["alias/cloudtrail-good"]
    assert _journal_statuses(journal) == [("done", good), ("done", None)]
    conn = Connection(endpoint_url=endpoint, region="us-east-1")
    assert read_trail_key(conn, estate.trails["org-trail"], "us-east-1") is None


@pytest.mark.browser
@pytest.mark.slow
def test_guided_update_in_the_voila_app(chromium: Path, tmp_path: Path) -> None:
    journal = tmp_path / "journal.jsonl"
    env = jupyter_env(tmp_path, None, journal)  # `trailkit app` starts its own demo
    with trailkit_app(env, tmp_path / "app.log") as (url, server), browser_page(chromium) as page:
        page.goto(url)  # with the token the app printed
        page.wait_for_selector(".tk-guided", timeout=60_000)
        drive_guided_update(page, "voila", docs_image=REPO / "docs" / "guided-update.png")
        assert "DEMO backend at http://127.0.0.1:" in server.text()
    assert server.proc.returncode == 0, server.text()  # SIGTERM stops it cleanly
    assert "trailkit app: stopped." in server.text()
    assert PLACEHOLDER_CREDENTIAL not in server.text()  # credentials are never printed
    statuses = _journal_statuses(journal)
    assert [s for s, _ in statuses] == ["done", "done"] and statuses[1][1] is None


# -- a clean clone: `make lab`, Run All in every notebook, `git status` stays empty --------------

SAVE_AND_CLOSE = """async () => {
  const app = window.jupyterapp;
  const w = app.shell.currentWidget;
  await app.commands.execute('docmanager:save');
  const dirty = w.context.model.dirty;
  await w.sessionContext.shutdown();  // one kernel at a time on a small machine
  w.dispose();
  return dirty;
}"""


def _git(cwd: Path, *args: str) -> str:
    return subprocess.run(
        ["git", *args], cwd=cwd, capture_output=True, text=True, check=True, timeout=120
    ).stdout


def _clean_clone(dest: Path) -> Path:
    """A clone of this repository's HEAD (committed work only, as a newcomer would get it)."""
    if _git(REPO, "status", "--porcelain", "--untracked-files=no").strip():
        warnings.warn("uncommitted changes are not in the clone: it has HEAD", stacklevel=2)
    head = _git(REPO, "rev-parse", "HEAD").strip()
    subprocess.run(
        ["git", "clone", "-q", "--no-checkout", str(REPO), str(dest)],
        check=True,
        capture_output=True,
        timeout=300,
    )
    _git(dest, "checkout", "-q", "--detach", head)
    return dest


def _served_notebooks(url: str) -> list[str]:
    base, token = url.split("/lab?token=")
    request = urllib.request.Request(
        f"{base}/api/contents", headers={"Authorization": f"token {token}"}
    )
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    with opener.open(request, timeout=30) as response:
        listing = json.loads(response.read())
    return sorted(item["name"] for item in listing["content"] if item["type"] == "notebook")


def _problems(path: Path) -> list[str]:
    """What went wrong in a saved notebook: a code cell that did not run, an error output, or a
    traceback printed as text. (A refusal printed as a plain message is an expected outcome.)"""
    problems = []
    for i, cell in enumerate(json.loads(path.read_text())["cells"]):
        if cell["cell_type"] != "code":
            continue
        if cell.get("execution_count") is None:
            problems.append(f"{path.name} cell {i}: not run")
        for out in cell.get("outputs", []):
            text = out.get("text", "")
            text = "".join(text) if isinstance(text, list) else text
            if out["output_type"] == "error":
                problems.append(f"{path.name} cell {i}: {out['ename']}: {out['evalue']}")
            elif "Traceback (most recent call last)" in text:
                problems.append(f"{path.name} cell {i}: traceback printed: {text[-500:]}")
    return problems


def _has_outputs(path: Path) -> bool:
    if not path.is_file():
        return False
    cells = json.loads(path.read_text())["cells"]
    return any(c.get("outputs") for c in cells if c["cell_type"] == "code")


def _run_all_and_save(page: Any, name: str) -> None:
    """Open ``name`` in Lab, wait for its kernel, Run All, wait until it is done, save, close."""
    run_all(page, name)
    assert page.evaluate(SAVE_AND_CLOSE) is False, f"{name} still has unsaved changes"


@pytest.mark.browser
@pytest.mark.slow
def test_make_lab_on_a_clean_clone_run_every_notebook_git_status_stays_empty(
    chromium: Path, tmp_path: Path
) -> None:
    """Issue 11: on a clean clone, after `make lab` and running every notebook in JupyterLab,
    `git status` shows no change. `make lab` is `trailkit lab --port N` (the demo backend,
    working copies in the clone's git-ignored .trailkit-lab/); this venv's entry point runs it
    from the clone, with the clone first on PYTHONPATH as its own venv would have it."""
    trailkit = Path(sys.executable).parent / "trailkit"
    assert trailkit.is_file(), f"no trailkit entry point next to {sys.executable}"
    clone = _clean_clone(tmp_path / "clone")
    env = jupyter_env(tmp_path, None, tmp_path / "unused-journal.jsonl")
    for name in [n for n in env if n.startswith("TRAILKIT_")]:
        del env[name]  # as on a newcomer's machine: the demo keeps its own journal
    env["PYTHONPATH"] = str(clone)
    env["XDG_DATA_HOME"] = str(tmp_path / "home" / ".local" / "share")
    imported = subprocess.run(
        [sys.executable, "-c", "import trailkit; print(trailkit.__file__)"],
        cwd=clone, env=env, capture_output=True, text=True, check=True, timeout=60,
    ).stdout.strip()  # fmt: skip
    assert Path(imported).is_relative_to(clone), imported  # else the copies land elsewhere
    names = sorted(p.name for p in (clone / "notebooks").glob("*.ipynb"))
    assert names

    problems: list[str] = []
    started = time.monotonic()
    with trailkit_lab(clone, env, tmp_path / "lab.log", trailkit) as (url, server):
        lab_up = time.monotonic() - started
        assert "DEMO backend at http://127.0.0.1:" in server.text()
        assert _served_notebooks(url) == names  # every notebook the lab serves
        with browser_page(chromium) as page:
            page.goto(url)  # with the token the lab printed
            page.wait_for_function("() => !!window.jupyterapp", timeout=60_000)
            page.evaluate("window.jupyterapp.restored")
            timings = []
            for name in names:
                begun = time.monotonic()
                try:
                    _run_all_and_save(page, name)
                except BaseException:
                    screenshot(page, f"clean-clone-{name}-failure.png")
                    raise
                timings.append(f"{name} {time.monotonic() - begun:.1f} s")
    assert server.proc.returncode == 0, server.text()  # SIGTERM stops the lab cleanly
    assert "trailkit lab: stopped." in server.text()
    print(f"lab up after {lab_up:.1f} s; " + ", ".join(timings))

    status = _git(clone, "status", "--porcelain", "--untracked-files=all")
    assert status == "", f"running the notebooks changed the clone:\n{status}"
    copies = clone / ".trailkit-lab"
    for name in names:
        assert _has_outputs(copies / name), f"{copies / name} was not run and saved"
        problems += _problems(copies / name)
    assert problems == [], "\n".join(problems)


# -- the app's command line (no server started) ------------------------------------------------


def test_app_serves_notebook_02_with_voila_on_localhost_only() -> None:
    notebook = notebook_path()
    assert notebook == NOTEBOOK
    cmd = app_command(notebook, 8899)
    assert cmd[1:4] == ["-m", "voila", str(NOTEBOOK)]
    assert "--Voila.ip=127.0.0.1" in cmd and "--port=8899" in cmd and "--no-browser" in cmd
    assert "--strip_sources=True" in cmd  # the app shows widgets, never code
    assert "--Voila.auto_token=True" in cmd  # a token is required ...
    assert not any("token=" in c.lower() and "auto_token" not in c for c in cmd)  # ... not shown


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


_OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}), _NoRedirect())


def _status(url: str) -> tuple[int, str]:
    """The HTTP status of a GET (redirects not followed) and where a redirect points."""
    try:
        with _OPENER.open(url, timeout=120) as response:
            return int(response.status), ""
    except urllib.error.HTTPError as err:
        return int(err.code), str(err.headers.get("Location") or "")


@pytest.mark.slow
def test_the_app_is_served_only_with_its_token(tmp_path: Path) -> None:
    env = jupyter_env(tmp_path, None, tmp_path / "journal.jsonl")
    with trailkit_app(env, tmp_path / "app.log") as (url, server):
        base, token = url.split("/?token=")
        assert len(token) >= 40 and base.startswith("http://127.0.0.1:")
        assert token not in " ".join(app_command(NOTEBOOK, 1))
        for anonymous in (f"{base}/", f"{base}/?token=wrong", f"{base}/api/kernels"):
            status, where = _status(anonymous)
            assert status in (401, 403) or (status == 302 and "/login" in where), (
                anonymous,
                status,
                where,
            )
        assert _status(url)[0] == 200
        assert f"ready at {url}" in server.text()


def test_app_refuses_a_port_in_use() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        with pytest.raises(InputError, match="in use"):
            run_app(port=sock.getsockname()[1], out=io.StringIO())
