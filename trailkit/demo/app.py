"""``trailkit app``: the guided update (notebook 02) as a standalone web app, served by Voila.

Like ``trailkit lab``: unless ``aws``, the seeded demo AWS runs in this process for as long as
Voila runs, and Voila's kernels reach it through ``AWS_ENDPOINT_URL``. Voila is a child process
bound to ``127.0.0.1``; SIGINT and SIGTERM stop it (SIGTERM, then SIGKILL after 10 s) and the
demo server. Voila shows widgets and outputs only, never code.
"""

from __future__ import annotations

import subprocess
import sys
import threading
import urllib.error
import urllib.request
from pathlib import Path
from typing import TextIO

from trailkit.aws.session import Connection
from trailkit.demo.lab import _say, _stop_signals, lab_environment, start_demo, supervise
from trailkit.demo.server import HOST, LOCAL_OPENER, DemoServer, free_port, port_is_free
from trailkit.errors import InputError

__all__ = ["APP_NOTEBOOK", "app_command", "notebook_path", "run_app"]

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
        f"The app notebook {APP_NOTEBOOK} was not found next to trailkit.",
        "run `trailkit app` from a source checkout (make app)",
    )


def app_command(notebook: Path, port: int) -> list[str]:
    """The Voila command line (``--Voila.ip``: plain ``--ip`` is silently ignored)."""
    return [
        sys.executable,
        "-m",
        "voila",
        str(notebook),
        "--no-browser",
        f"--port={port}",
        f"--Voila.ip={HOST}",
        "--Voila.port_retries=0",
        "--theme=light",
        "--strip_sources=True",
        "--show_tracebacks=False",
    ]


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
    """Serve the guided update with Voila until SIGINT or SIGTERM.

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
        Where the URL and progress are printed (never credentials).

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
    if port == 0:
        port = free_port()
    elif not port_is_free(port):
        raise InputError(f"Port {port} on {HOST} is already in use.", "choose another --port")
    if aws and profile:
        Connection(profile=profile)  # raises InputError for an unknown profile

    stop = threading.Event()
    server: DemoServer | None = None
    with _stop_signals(stop):
        try:
            if aws:
                env = lab_environment(aws=True, profile=profile)
                _say(out, "trailkit app: REAL AWS" + (f" (profile {profile})" if profile else ""))
            else:
                if profile:
                    _say(out, f"trailkit app: --profile {profile} is only used with --aws.")
                server, estate = start_demo(demo_port)
                env = lab_environment(endpoint=server.endpoint)
                _say(out, f"trailkit app: DEMO backend at {server.endpoint}")
                _say(out, estate.summary())
                # lab_environment gave the demo its own journal (demo-journal.jsonl).
            if stop.is_set():
                return 0
            url = f"http://{HOST}:{port}/"
            _say(out, f"trailkit app: starting Voila on port {port} ({notebook.name})")
            proc = subprocess.Popen(
                app_command(notebook, port),
                env=env,
                cwd=notebook.parent,
                start_new_session=True,
            )
            return supervise(
                proc,
                stop,
                lambda: _voila_ready(port),
                command="app",
                server_name="Voila",
                url=url,
                out=out,
            )
        finally:
            if server is not None:
                server.stop()
