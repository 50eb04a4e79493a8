"""The guided update in a real browser: JupyterLab (notebook 02) and the Voila app.

Playwright drives Debian's Chromium (installed by :func:`browser_setup.ensure_chromium` when
missing; the test fails if it cannot be). The operator's flow: choose a trail, choose a blocked
key (Apply stays disabled, the reason is visible), choose a ready key, confirm, apply, see the
success and the new key, roll back. Screenshots go to ``test-artifacts/``; the Voila one after
the apply also becomes ``docs/guided-update.png`` for the README.
"""

from __future__ import annotations

import io
import shutil
import socket
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import pytest
from browser_setup import (
    REPO,
    browser_page,
    drive_guided_update,
    ensure_chromium,
    jupyter_env,
    jupyterlab,
    trailkit_app,
)

from trailkit.aws.session import Connection
from trailkit.aws.writes import read_trail_key
from trailkit.change.journal import Journal
from trailkit.demo import PLACEHOLDER_CREDENTIAL
from trailkit.demo.app import app_command, notebook_path, run_app
from trailkit.errors import InputError

NOTEBOOK = REPO / "notebooks" / "02_guided_update.ipynb"
KERNEL_IDLE = """() => {
  const w = window.jupyterapp && window.jupyterapp.shell.currentWidget;
  const kernel = w && w.sessionContext && w.sessionContext.session
    && w.sessionContext.session.kernel;
  return !!kernel && kernel.status === 'idle';
}"""


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
