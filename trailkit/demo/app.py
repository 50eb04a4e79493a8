"""``trailkit app``: the guided update (notebook 02) as a standalone web app, served by Voila.

Like ``trailkit lab``: unless ``aws``, the seeded demo AWS runs in this process for as long as
Voila runs, and Voila's kernels reach it through ``AWS_ENDPOINT_URL``. Voila is a child process
bound to ``127.0.0.1``; SIGINT and SIGTERM stop it (SIGTERM, then SIGKILL after 10 s) and the
demo server. Voila shows widgets and outputs only, never code.

The app changes trails with the operator's credentials, so, as JupyterLab does, it is served
with a token: a fresh ``secrets.token_urlsafe()`` per run, given to Voila (``--Voila.auto_token``
turns its token check on; the value travels in ``JUPYTER_TOKEN``, which Voila's identity
provider reads, so it does not show in the process list) and printed once in the URL to open. A
request without it is redirected to Voila's login page; the page, its kernel and its websocket
are only served after the token was given (Voila then keeps it in a cookie). Should
``JUPYTER_TOKEN`` be missing, Voila makes up a token of its own: never no token.
"""

from __future__ import annotations

import subprocess
import sys
import urllib.error
import urllib.request
from pathlib import Path
from typing import TextIO

from trailkit.demo.lab import _say, backend, new_token, supervise
from trailkit.demo.server import HOST, LOCAL_OPENER
from trailkit.errors import InputError
from trailkit.i18n import _

__all__ = ["APP_NOTEBOOK", "app_command", "app_url", "new_token", "notebook_path", "run_app"]

#: The notebook the app serves.
APP_NOTEBOOK = "02_guided_update.ipynb"


def notebook_path() -> Path:
    """Where notebook 02 is: the repository's ``notebooks/`` (source checkout or install)."""
    package = Path(__file__).resolve().parents[1]
    for candidate in (
        package.parent / "notebooks" / APP_NOTEBOOK,
        package / "notebooks" / APP_NOTEBOOK,
    ):
        if candidate.is_file():
            return candidate
    raise InputError(
        _("The app notebook {name} was not found next to trailkit.").format(name=APP_NOTEBOOK),
        _("run `trailkit app` from a source checkout (make app)"),
    )


def app_command(notebook: Path, port: int) -> list[str]:
    """The Voila command line (``--Voila.ip``: plain ``--ip`` is silently ignored).

    ``--Voila.auto_token=True`` makes Voila require a token; its value is passed in the
    environment (``JUPYTER_TOKEN``, set by :func:`run_app`), not on the command line.
    """
    return [
        sys.executable,
        "-m",
        "voila",
        str(notebook),
        "--no-browser",
        f"--port={port}",
        f"--Voila.ip={HOST}",
        "--Voila.port_retries=0",
        "--Voila.auto_token=True",
        "--theme=light",
        "--strip_sources=True",
        "--show_tracebacks=False",
    ]


def app_url(port: int, token: str) -> str:
    """The URL to open: the app on ``127.0.0.1`` with its token."""
    return f"http://{HOST}:{port}/?token={token}"


def _voila_ready(port: int) -> bool:
    # Every GET / starts a kernel: probe a static file instead.
    url = f"http://{HOST}:{port}/voila/static/voila.js"
    try:
        with LOCAL_OPENER.open(url, timeout=1.0) as response:
            return bool(response.status == 200)
    except (OSError, urllib.error.URLError):
        return False


def run_app(
    *,
    aws: bool = False,
    profile: str | None = None,
    demo_port: int = 0,
    port: int = 8866,
    out: TextIO = sys.stdout,
) -> int:
    """Serve the guided update with Voila, behind a token, until SIGINT or SIGTERM.

    Parameters
    ----------
    aws
        Real AWS instead of the demo (see :func:`trailkit.demo.lab_environment`).
    profile
        AWS profile (only with ``aws``).
    demo_port
        Port of the demo server; ``0`` picks a free one.
    port
        The app's port; ``0`` picks a free one.
    out
        Where the URL (with the app's token) and progress are printed (never AWS credentials).

    Returns
    -------
    int
        ``0`` after a stop by signal; otherwise Voila's own exit code (``128 + N`` when it died
        of signal ``N``).

    Raises
    ------
    InputError
        The port is in use, the profile is unknown, or the notebook is missing.
    """
    notebook = notebook_path()
    with backend("app", aws=aws, profile=profile, demo_port=demo_port, port=port, out=out) as run:
        if run.stop.is_set():
            return 0
        port, env = run.port, run.env
        token = new_token()
        env["JUPYTER_TOKEN"] = token  # Voila's identity provider reads it
        env.pop("JUPYTER_TOKEN_FILE", None)
        url = app_url(port, token)
        _say(
            out,
            _("trailkit app: starting Voila on port {port} ({name})").format(
                port=port, name=notebook.name
            ),
        )
        proc = subprocess.Popen(
            app_command(notebook, port),
            env=env,
            cwd=notebook.parent,
            start_new_session=True,
        )
        return supervise(
            proc,
            run.stop,
            lambda: _voila_ready(port),
            command="app",
            server_name="Voila",
            url=url,
            out=out,
        )
