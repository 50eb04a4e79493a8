"""What ``trailkit demo`` and ``trailkit lab`` run: the seeded demo, and JupyterLab on top of it.

:func:`start_demo` starts a :class:`~trailkit.demo.server.DemoServer` and seeds it;
:func:`run_demo` keeps it running until a signal; :func:`run_lab` runs JupyterLab with
:func:`lab_environment` (the demo, or real AWS), supervised by :func:`supervise` (which
``trailkit app`` uses too).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import secrets
import shutil
import signal
import subprocess
import sys
import threading
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from types import FrameType
from typing import TextIO

import platformdirs

from trailkit.aws.session import Connection, credentials_configured
from trailkit.change.journal import JOURNAL_ENV, demo_path
from trailkit.demo.delivery import default_interval, delivery_delay
from trailkit.demo.estate import DemoEstate, seed_demo
from trailkit.demo.server import (
    HOST,
    LOCAL_OPENER,
    PLACEHOLDER_CREDENTIAL,
    DemoServer,
    free_port,
    port_is_free,
)
from trailkit.errors import InputError
from trailkit.i18n import _, language

__all__ = [
    "LAB_CONFIG_DIR",
    "default_copies_dir",
    "delivery_line",
    "lab_command",
    "lab_environment",
    "run_demo",
    "run_lab",
    "start_demo",
    "supervise",
    "working_copies",
]

_STOP_GRACE_SECONDS = 10.0
_PROXY_ENV = ("HTTP_PROXY", "HTTPS_PROXY", "http_proxy", "https_proxy")
#: The variable that tells the notebooks (``lang = None``) which language to speak.
LANG_ENV = "TRAILKIT_LANG"


def start_demo(
    port: int = 0, seed: bool = True, *, delivery_interval: float | None = None
) -> tuple[DemoServer, DemoEstate]:
    """Start a :class:`DemoServer`, (by default) seed it, and start its periodic simulated
    delivery (:mod:`trailkit.demo.delivery`): ``trailkit demo``, ``lab`` and ``app`` start
    here.

    Parameters
    ----------
    port
        Port on ``127.0.0.1``; ``0`` picks a free one.
    seed
        Build the demo estate; otherwise the returned estate is empty.
    delivery_interval
        Seconds between two deliveries for every logging trail; default
        :func:`~trailkit.demo.delivery.default_interval` (60 s, or the environment variable
        ``TRAILKIT_DEMO_DELIVERY_INTERVAL``); 0: no periodic delivery.

    Returns
    -------
    tuple[DemoServer, DemoEstate]
        The running server (stop it when done) and what was seeded.
    """
    server = DemoServer(port).start()
    interval = default_interval() if delivery_interval is None else delivery_interval
    try:
        estate = seed_demo(server.connection()) if seed else DemoEstate(endpoint=server.endpoint)
        if interval > 0:
            server.start_delivery(interval)
    except BaseException:
        server.stop()
        raise
    return server, estate


def delivery_line(server: DemoServer) -> str:
    """One sentence on the demo's simulated CloudTrail delivery (:mod:`trailkit.demo.delivery`):
    the delay after a change, and the periodic interval when ``server`` delivers periodically."""
    delay = f"{delivery_delay():g}"
    interval = server.delivery_interval
    if interval is None:
        return _("Simulated CloudTrail delivery: {delay} s after each change.").format(delay=delay)
    return _(
        "Simulated CloudTrail delivery: {delay} s after each change, and every {interval} s for "
        "every logging trail."
    ).format(delay=delay, interval=f"{interval:g}")


@contextlib.contextmanager
def _stop_signals(stop: threading.Event) -> Iterator[None]:
    """While inside, SIGINT and SIGTERM set ``stop`` (main thread only; elsewhere a no-op)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def handler(signum: int, frame: FrameType | None) -> None:
        stop.set()

    previous = {sig: signal.signal(sig, handler) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for sig, old in previous.items():
            signal.signal(sig, old)


def _say(out: TextIO, text: str = "") -> None:
    out.write(text + "\n")
    out.flush()


def run_demo(port: int = 0, *, out: TextIO = sys.stdout) -> int:
    """``trailkit demo``: run the seeded demo AWS until SIGINT or SIGTERM.

    Parameters
    ----------
    port
        Port on ``127.0.0.1``; ``0`` picks a free one.
    out
        Where the endpoint and the shell settings are printed.

    Returns
    -------
    int
        ``0`` after a clean stop.
    """
    stop = threading.Event()
    with _stop_signals(stop):
        server, estate = start_demo(port)
        try:
            _say(
                out,
                _("trailkit demo: local AWS (moto) listening on {endpoint}").format(
                    endpoint=server.endpoint
                ),
            )
            _say(out, _("Point the AWS CLI, boto3 or trailkit at it from another shell:"))
            _say(out, f"  export AWS_ENDPOINT_URL={server.endpoint}")
            _say(out, "  export AWS_DEFAULT_REGION=us-east-1")
            _say(out, f"  export {JOURNAL_ENV}={os.environ.get(JOURNAL_ENV) or demo_path()}")
            _say(out, f"  export AWS_ACCESS_KEY_ID={PLACEHOLDER_CREDENTIAL}")
            _say(out, f"  export AWS_SECRET_ACCESS_KEY={PLACEHOLDER_CREDENTIAL}")
            _say(out, estate.summary())
            _say(out, delivery_line(server))
            _say(out, _("Press Ctrl-C (or send SIGTERM) to stop."))
            while not stop.wait(0.5):
                pass
            _say(out, _("trailkit demo: stopping."))
        finally:
            server.stop()
    return 0


def _source_root() -> Path | None:
    """The repository root when trailkit runs from a source checkout (else ``None``)."""
    root = Path(__file__).resolve().parents[2]
    if (root / "pyproject.toml").is_file() and "site-packages" not in root.parts:
        return root
    return None


def lab_environment(
    *,
    aws: bool = False,
    endpoint: str | None = None,
    profile: str | None = None,
    base: Mapping[str, str] | None = None,
    lang: str | None = None,
) -> dict[str, str]:
    """The environment JupyterLab (and so every kernel) runs with.

    Whatever the backend, ``TRAILKIT_LANG`` is the language chosen for this command
    (``trailkit --lang ja lab``, ``TRAILKIT_LANG``, else the locale): the notebooks' ``lang``
    parameter is None by default, which means ``TRAILKIT_LANG``, so they speak it too.

    Parameters
    ----------
    aws
        Real AWS: ``AWS_ENDPOINT_URL`` is removed, ``TRAILKIT_BACKEND=aws`` and ``AWS_PROFILE``
        (when ``profile`` is given) are set, and the demo's placeholder keys, if exported, are
        dropped. Nothing else changes (but ``TRAILKIT_LANG``, as for the demo).
    endpoint
        Demo: the demo server's URL. Sets ``AWS_ENDPOINT_URL``, ``AWS_DEFAULT_REGION=us-east-1``
        and ``TRAILKIT_BACKEND=demo``; removes per-service endpoint overrides and
        ``AWS_IGNORE_CONFIGURED_ENDPOINT_URLS`` so that every service reaches the demo; adds
        ``127.0.0.1`` to ``NO_PROXY`` when a proxy is set; sets placeholder keys only when no
        credentials are configured (environment, ``AWS_PROFILE`` or the shared files' default
        profile; instance metadata is not probed); sets ``TRAILKIT_JOURNAL`` to the demo's own
        journal (:func:`trailkit.change.journal.demo_path`) unless it is already set.
    profile
        AWS profile for real AWS.
    base
        The starting environment (default: ``os.environ``).
    lang
        The language the kernels speak (default: :func:`trailkit.i18n.language`, the one
        this process speaks).

    Returns
    -------
    dict[str, str]
        A new environment; ``base`` is not modified.
    """
    env = dict(os.environ if base is None else base)
    env[LANG_ENV] = lang or language()
    if aws:
        env.pop("AWS_ENDPOINT_URL", None)
        env["TRAILKIT_BACKEND"] = "aws"
        if profile:
            env["AWS_PROFILE"] = profile
        if env.get("AWS_ACCESS_KEY_ID") == PLACEHOLDER_CREDENTIAL:
            env.pop("AWS_ACCESS_KEY_ID", None)
            env.pop("AWS_SECRET_ACCESS_KEY", None)
    else:
        if not endpoint:
            raise InputError(_("The demo environment needs the demo endpoint."), "")
        for name in list(env):
            if name.startswith("AWS_ENDPOINT_URL_"):
                del env[name]
        env.pop("AWS_IGNORE_CONFIGURED_ENDPOINT_URLS", None)
        env["AWS_ENDPOINT_URL"] = endpoint
        env["AWS_DEFAULT_REGION"] = "us-east-1"
        env["TRAILKIT_BACKEND"] = "demo"
        if any(env.get(name) for name in _PROXY_ENV):
            for name in ("NO_PROXY", "no_proxy"):
                hosts = [h for h in env.get(name, "").split(",") if h.strip()]
                hosts += [h for h in (HOST, "localhost") if h not in hosts]
                env[name] = ",".join(hosts)
        if not env.get(JOURNAL_ENV, "").strip():
            # The demo's changes go to a journal of its own, never the operator's real one.
            env[JOURNAL_ENV] = str(demo_path())
        if not credentials_configured(env):
            env["AWS_ACCESS_KEY_ID"] = PLACEHOLDER_CREDENTIAL
            env["AWS_SECRET_ACCESS_KEY"] = PLACEHOLDER_CREDENTIAL
    root = _source_root()
    if root is not None:
        paths = [p for p in env.get("PYTHONPATH", "").split(os.pathsep) if p]
        if str(root) not in paths:
            env["PYTHONPATH"] = os.pathsep.join([str(root), *paths])
    return env


def _packaged_notebooks() -> Path | None:
    """The repository's ``notebooks/`` folder, when trailkit runs from a checkout that has it."""
    packaged = Path(__file__).resolve().parents[2] / "notebooks"
    return packaged if packaged.is_dir() else None


#: The folder of the working copies in a source checkout (git-ignored).
COPIES_FOLDER = ".trailkit-lab"
_MANIFEST = ".trailkit-copies.json"


def default_copies_dir() -> Path:
    """Where ``trailkit lab`` keeps its working copies of the notebooks.

    In a source checkout: ``.trailkit-lab/`` at the repository root (git-ignored); otherwise
    ``<user data dir>/trailkit/lab``.
    """
    root = _source_root()
    if root is not None:
        return root / COPIES_FOLDER
    return platformdirs.user_data_path("trailkit", appauthor=False) / "lab"


def _cells_digest(path: Path) -> str:
    """A digest of a notebook's cells (type and source), so outputs alone are not an edit."""
    try:
        nb = json.loads(path.read_text(encoding="utf-8"))
        cells = [(c.get("cell_type"), "".join(c.get("source", ""))) for c in nb.get("cells", [])]
        text = json.dumps(cells)
    except (OSError, ValueError, AttributeError, TypeError):
        text = path.read_bytes().hex() if path.is_file() else ""
    return hashlib.sha256(text.encode()).hexdigest()


def working_copies(source: Path, dest: Path, *, out: TextIO | None = None) -> Path:
    """Copy the notebooks of ``source`` into ``dest``, where JupyterLab opens and saves them.

    So that running the notebooks never modifies the repository: outputs and exports
    (``trails.csv``) are written next to the copies. On every start:

    - a notebook without a copy is copied;
    - a copy whose cells are what was copied last time (outputs aside) is refreshed when the
      repository's version changed (its outputs are cleared);
    - a copy the user edited is kept as it is, never overwritten, and a message says so
      (delete it to get the repository's version at the next start).

    Parameters
    ----------
    source
        The repository's ``notebooks/`` folder.
    dest
        The working-copy folder (created, with a ``.gitignore`` that ignores everything in it).
    out
        Where the messages go (None: nowhere).

    Returns
    -------
    Path
        ``dest``, resolved.
    """
    dest = dest.expanduser().resolve()
    dest.mkdir(parents=True, exist_ok=True)
    ignore = dest / ".gitignore"
    if not ignore.exists():
        ignore.write_text("# trailkit lab working copies: never committed\n*\n")
    manifest_path = dest / _MANIFEST
    try:
        manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
        if not isinstance(manifest, dict):
            manifest = {}
    except (OSError, ValueError):
        manifest = {}
    for original in sorted(source.glob("*.ipynb")):
        copy = dest / original.name
        fresh = _cells_digest(original)
        copied = manifest.get(original.name)
        if not copy.exists():
            shutil.copyfile(original, copy)
            manifest[original.name] = fresh
        elif copied == fresh:
            continue  # the repository's version did not change: keep the copy (and outputs)
        elif copied is not None and _cells_digest(copy) == copied:
            shutil.copyfile(original, copy)
            manifest[original.name] = fresh
            if out is not None:
                _say(
                    out,
                    _("trailkit lab: {name} refreshed from the repository.").format(name=copy.name),
                )
        elif out is not None:
            _say(
                out,
                _(
                    "trailkit lab: kept your edited {path} (the repository's version changed; "
                    "delete the copy to get it at the next start)."
                ).format(path=copy),
            )
    manifest_path.write_text(json.dumps(manifest, indent=1, sort_keys=True) + "\n")
    return dest


def _lab_ready(port: int, token: str) -> bool:
    request = urllib.request.Request(
        f"http://{HOST}:{port}/api/status", headers={"Authorization": f"token {token}"}
    )
    try:
        with LOCAL_OPENER.open(request, timeout=1.0) as response:
            return bool(response.status == 200)
    except (OSError, urllib.error.URLError):
        return False


def _stop_process(proc: subprocess.Popen[bytes], grace: float = _STOP_GRACE_SECONDS) -> int:
    """SIGTERM, wait ``grace`` seconds, then SIGKILL; returns the exit code."""
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=grace)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
    return int(proc.returncode)


def _exit_code(code: int) -> int:
    return 128 - code if code < 0 else code


def supervise(
    proc: subprocess.Popen[bytes],
    stop: threading.Event,
    ready: Callable[[], bool],
    *,
    command: str,
    server_name: str,
    url: str,
    out: TextIO,
) -> int:
    """Run a server subprocess until it exits or ``stop`` is set; announce it once ready.

    Used by ``trailkit lab`` (JupyterLab) and ``trailkit app`` (Voila).

    Parameters
    ----------
    proc
        The server process; it is stopped (SIGTERM, then SIGKILL) on the way out.
    stop
        Set by a signal handler to ask for a stop.
    ready
        Whether the server answers yet (polled until it does).
    command, server_name, url
        For the messages: ``trailkit COMMAND: SERVER_NAME is ready at URL``.
    out
        Where the messages go.

    Returns
    -------
    int
        0 for a clean stop on request, otherwise the server's exit code (signals as 128 + n).
    """
    announced = False
    try:
        while proc.poll() is None and not stop.is_set():
            if not announced and ready():
                announced = True
                _say(
                    out,
                    _("trailkit {command}: {server} is ready at {url}").format(
                        command=command, server=server_name, url=url
                    ),
                )
                _say(out, _("Press Ctrl-C (or send SIGTERM) to stop."))
            stop.wait(0.25)
    finally:
        code = _stop_process(proc)
    if stop.is_set():
        _say(out, _("trailkit {command}: stopped.").format(command=command))
        return 0 if code in (0, -signal.SIGTERM) else _exit_code(code)
    _say(
        out,
        _("trailkit {command}: {server} exited with code {code}.").format(
            command=command, server=server_name, code=code
        ),
    )
    return _exit_code(code)


#: A Jupyter config directory shipped with trailkit, added to ``JUPYTER_CONFIG_PATH`` for the lab:
#: its ``labconfig/default_setting_overrides.json`` turns JupyterLab's news (and its first-open
#: "receive official Jupyter news?" question) and update check off by default. Only defaults: a
#: user's own Lab settings still win, and nothing is written to the user's Jupyter directories.
LAB_CONFIG_DIR = Path(__file__).resolve().parent / "resources" / "lab-config"

#: What ``trailkit lab`` passes to JupyterLab besides the address, the root and ``--no-browser``.
LAB_FLAGS = (
    # Jupyter's INFO banner prints the URL again with the token masked (``?token=...``), which
    # opens a login page: trailkit prints the one URL that works. Warnings and errors still show.
    "--Application.log_level=WARN",
    # No request to pypi.org for a newer JupyterLab.
    "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
    # notebook_shim's server extension only carries classic-notebook (NotebookApp) settings over;
    # its scan of every server setting prints a DeprecationWarning (ServerApp.token) at each
    # start once Voila's extension has turned traitlets' deprecation warnings on.
    "--ServerApp.jpserver_extensions=notebook_shim=False",
)


def lab_command(port: int, root: Path, *, open_browser: bool = False) -> list[str]:
    """The JupyterLab command line of ``trailkit lab`` (see :data:`LAB_FLAGS`; the token goes in
    the environment as ``JUPYTER_TOKEN``, never on the command line)."""
    cmd = [
        sys.executable,
        "-m",
        "jupyterlab",
        f"--ServerApp.ip={HOST}",
        f"--ServerApp.port={port}",
        "--ServerApp.port_retries=0",
        f"--ServerApp.root_dir={root}",
        *LAB_FLAGS,
    ]
    if not open_browser:
        cmd.append("--no-browser")
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        cmd.append("--allow-root")
    return cmd


def _with_lab_config(env: dict[str, str]) -> None:
    """Put :data:`LAB_CONFIG_DIR` on ``JUPYTER_CONFIG_PATH``, after any directories already there
    (so that the user's own ones keep priority)."""
    paths = [p for p in env.get("JUPYTER_CONFIG_PATH", "").split(os.pathsep) if p]
    if str(LAB_CONFIG_DIR) not in paths:
        env["JUPYTER_CONFIG_PATH"] = os.pathsep.join([*paths, str(LAB_CONFIG_DIR)])


def new_token() -> str:
    """A fresh token for one run of the lab or the app: 256 random bits as hex (``[0-9a-f]``, so
    it needs no quoting in a URL, a header or a shell)."""
    return secrets.token_hex(32)


@dataclass
class Backend:
    """What a server started by ``trailkit lab`` or ``trailkit app`` runs against."""

    env: dict[str, str]
    """The server's environment (the demo endpoint, or real AWS; never credentials)."""
    port: int
    """The server's port (a free one when ``0`` was asked for)."""
    stop: threading.Event
    """Set by SIGTERM/SIGINT."""


@contextlib.contextmanager
def backend(
    command: str,
    *,
    aws: bool,
    profile: str | None,
    demo_port: int,
    port: int,
    out: TextIO,
) -> Iterator[Backend]:
    """The shared start of ``trailkit lab`` and ``trailkit app``: check the port and profile,
    then start the demo (or use real AWS) and say which; the demo stops on exit.

    Parameters
    ----------
    command
        ``"lab"`` or ``"app"``, for the messages.
    aws, profile, demo_port, port, out
        As for :func:`run_lab`.

    Raises
    ------
    InputError
        The port is in use, or the profile is unknown.
    """
    if port == 0:
        port = free_port()
    elif not port_is_free(port):
        raise InputError(
            _("Port {port} on {host} is already in use.").format(port=port, host=HOST),
            _("choose another --port"),
        )
    if aws and profile:
        Connection(profile=profile)  # raises InputError for an unknown profile
    stop = threading.Event()
    server: DemoServer | None = None
    with _stop_signals(stop):
        try:
            if aws:
                env = lab_environment(aws=True, profile=profile)
                if profile:
                    said = _("trailkit {command}: REAL AWS (profile {profile})")
                else:
                    said = _("trailkit {command}: REAL AWS")
                _say(out, said.format(command=command, profile=profile))
            else:
                if profile:
                    _say(
                        out,
                        _(
                            "trailkit {command}: --profile {profile} is only used with --aws."
                        ).format(command=command, profile=profile),
                    )
                server, estate = start_demo(demo_port)
                # lab_environment also gives the demo its own journal (demo-journal.jsonl).
                env = lab_environment(endpoint=server.endpoint)
                _say(
                    out,
                    _("trailkit {command}: DEMO backend at {endpoint}").format(
                        command=command, endpoint=server.endpoint
                    ),
                )
                _say(out, estate.summary())
                _say(out, delivery_line(server))
            yield Backend(env, port, stop)
        finally:
            if server is not None:
                server.stop()


def run_lab(
    *,
    aws: bool = False,
    profile: str | None = None,
    demo_port: int = 0,
    port: int = 8888,
    notebook_dir: Path | None = None,
    copies_dir: Path | None = None,
    open_browser: bool = False,
    out: TextIO = sys.stdout,
) -> int:
    """``trailkit lab``: JupyterLab whose kernels reach the demo (or real AWS with ``aws``).

    Unless ``aws``, the seeded demo server runs in this process for as long as JupyterLab runs.
    JupyterLab is a child process (``python -m jupyterlab``) listening on ``127.0.0.1`` with a
    generated token (passed as ``JUPYTER_TOKEN``, so it does not show in the process list);
    Jupyter's config, data and runtime directories are the usual ones, or whatever
    ``JUPYTER_CONFIG_DIR`` etc. say, with :data:`LAB_CONFIG_DIR` added to the config path (no
    news, no update check) and :data:`LAB_FLAGS` on the command line (only warnings and errors
    logged, so the one URL printed is trailkit's, the one with the token). SIGINT and SIGTERM
    stop JupyterLab (SIGTERM, then SIGKILL after 10 s) and the demo server. When running as
    root, ``--allow-root`` is passed.

    Parameters
    ----------
    aws
        Real AWS instead of the demo (see :func:`lab_environment`).
    profile
        AWS profile (only with ``aws``).
    demo_port
        Port of the demo server; ``0`` picks a free one.
    port
        JupyterLab's port; ``0`` picks a free one.
    notebook_dir
        JupyterLab's root directory, used as it is. Default: working copies of the
        repository's ``notebooks/`` in ``copies_dir`` (see :func:`working_copies`), so that
        running them leaves the repository clean; without a ``notebooks/`` folder (an installed
        package), the current directory.
    copies_dir
        Where the working copies go (default: :func:`default_copies_dir`, ``.trailkit-lab/``
        in a source checkout).
    open_browser
        Let JupyterLab open a browser.
    out
        Where the URL and progress are printed (never credentials).

    Returns
    -------
    int
        ``0`` after a stop by signal (``137`` if JupyterLab had to be killed); otherwise
        JupyterLab's own exit code (``128 + N`` when it died of signal ``N``).

    Raises
    ------
    InputError
        The notebook directory does not exist, a port is in use, or the profile is unknown.
    """
    if notebook_dir is not None:
        root = notebook_dir.expanduser().resolve()
    else:
        packaged = _packaged_notebooks()
        if packaged is not None:
            root = working_copies(packaged, copies_dir or default_copies_dir(), out=out)
        else:
            root = Path.cwd().resolve()
    if not root.is_dir():
        raise InputError(
            _("The notebook directory {path} does not exist.").format(path=root),
            _("pass --notebook-dir"),
        )
    with backend("lab", aws=aws, profile=profile, demo_port=demo_port, port=port, out=out) as run:
        if run.stop.is_set():
            return 0
        port, env = run.port, run.env
        token = new_token()
        env["JUPYTER_TOKEN"] = token
        _with_lab_config(env)
        cmd = lab_command(port, root, open_browser=open_browser)
        url = f"http://{HOST}:{port}/lab?token={token}"
        _say(
            out,
            _("trailkit lab: starting JupyterLab on port {port} (notebooks: {path})").format(
                port=port, path=root
            ),
        )
        # Own session: a terminal's Ctrl-C reaches only us, and we stop Jupyter cleanly.
        proc = subprocess.Popen(cmd, env=env, cwd=root, start_new_session=True)
        return supervise(
            proc,
            run.stop,
            lambda: _lab_ready(port, token),
            command="lab",
            server_name="JupyterLab",
            url=url,
            out=out,
        )
