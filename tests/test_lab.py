"""``trailkit lab``: its environment, its input checks, and (slow) a real JupyterLab + kernel."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.request
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from trailkit.demo import PLACEHOLDER_CREDENTIAL, lab_environment, run_lab
from trailkit.demo.lab import LAB_CONFIG_DIR, lab_command
from trailkit.errors import InputError

REPO = Path(__file__).resolve().parent.parent
ENDPOINT = "http://127.0.0.1:45678"
READY_TIMEOUT = 90.0
STOP_TIMEOUT = 20.0


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _port_free(port: int) -> bool:
    with socket.socket() as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def _clean_base(tmp_path: Path, **extra: str) -> dict[str, str]:
    """An environment with no AWS settings at all (and AWS files that do not exist)."""
    base = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    base.update(
        HOME=str(tmp_path / "home"),
        AWS_SHARED_CREDENTIALS_FILE=str(tmp_path / "no-credentials"),
        AWS_CONFIG_FILE=str(tmp_path / "no-config"),
    )
    base.update(extra)
    return base


# -- the environment ---------------------------------------------------------------------------


def test_demo_environment_points_every_kernel_at_the_demo(tmp_path: Path) -> None:
    base = _clean_base(
        tmp_path,
        AWS_ENDPOINT_URL="https://elsewhere.example",
        AWS_ENDPOINT_URL_S3="https://s3.elsewhere.example",
        AWS_IGNORE_CONFIGURED_ENDPOINT_URLS="true",
        AWS_DEFAULT_REGION="eu-central-1",
    )
    env = lab_environment(endpoint=ENDPOINT, base=base)
    assert env["AWS_ENDPOINT_URL"] == ENDPOINT
    assert env["AWS_DEFAULT_REGION"] == "us-east-1"
    assert env["TRAILKIT_BACKEND"] == "demo"
    assert env["AWS_ACCESS_KEY_ID"] == PLACEHOLDER_CREDENTIAL
    assert env["AWS_SECRET_ACCESS_KEY"] == PLACEHOLDER_CREDENTIAL
    assert "AWS_ENDPOINT_URL_S3" not in env
    assert "AWS_IGNORE_CONFIGURED_ENDPOINT_URLS" not in env
    assert base["AWS_ENDPOINT_URL"] == "https://elsewhere.example"  # not modified
    assert str(REPO) in env["PYTHONPATH"].split(os.pathsep)


def test_demo_environment_keeps_configured_credentials(tmp_path: Path) -> None:
    with_keys = _clean_base(tmp_path, AWS_ACCESS_KEY_ID="AKIAREAL", AWS_SECRET_ACCESS_KEY="s")
    env = lab_environment(endpoint=ENDPOINT, base=with_keys)
    assert env["AWS_ACCESS_KEY_ID"] == "AKIAREAL"
    assert env["AWS_SECRET_ACCESS_KEY"] == "s"

    with_profile = _clean_base(tmp_path, AWS_PROFILE="dev")
    assert "AWS_ACCESS_KEY_ID" not in lab_environment(endpoint=ENDPOINT, base=with_profile)

    credentials = tmp_path / "credentials"
    credentials.write_text("[default]\naws_access_key_id = AKIAFILE\naws_secret_access_key = x\n")
    from_file = _clean_base(tmp_path, AWS_SHARED_CREDENTIALS_FILE=str(credentials))
    assert "AWS_ACCESS_KEY_ID" not in lab_environment(endpoint=ENDPOINT, base=from_file)

    config = tmp_path / "config"
    config.write_text("[default]\nregion = eu-west-1\n")  # a region is not a credential
    region_only = _clean_base(tmp_path, AWS_CONFIG_FILE=str(config))
    env = lab_environment(endpoint=ENDPOINT, base=region_only)
    assert env["AWS_ACCESS_KEY_ID"] == PLACEHOLDER_CREDENTIAL


def test_aws_environment(tmp_path: Path) -> None:
    base = _clean_base(
        tmp_path,
        AWS_ENDPOINT_URL=ENDPOINT,
        AWS_ACCESS_KEY_ID=PLACEHOLDER_CREDENTIAL,
        AWS_SECRET_ACCESS_KEY=PLACEHOLDER_CREDENTIAL,
        AWS_DEFAULT_REGION="eu-west-1",
        TRAILKIT_BACKEND="demo",
    )
    env = lab_environment(aws=True, profile="prod", base=base)
    assert "AWS_ENDPOINT_URL" not in env
    assert env["TRAILKIT_BACKEND"] == "aws"
    assert env["AWS_PROFILE"] == "prod"
    assert env["AWS_DEFAULT_REGION"] == "eu-west-1"
    assert "AWS_ACCESS_KEY_ID" not in env  # the demo's placeholders never go to real AWS
    assert "AWS_SECRET_ACCESS_KEY" not in env

    real = _clean_base(tmp_path, AWS_ACCESS_KEY_ID="AKIAREAL", AWS_SECRET_ACCESS_KEY="s")
    env = lab_environment(aws=True, base=real)
    assert env["AWS_ACCESS_KEY_ID"] == "AKIAREAL"
    assert "AWS_PROFILE" not in env
    kept = {"TRAILKIT_BACKEND", "PYTHONPATH", "TRAILKIT_LANG"}
    assert {k: v for k, v in env.items() if k not in kept} == {
        k: v for k, v in real.items() if k not in kept
    }


@pytest.mark.parametrize("aws", [False, True])
def test_kernels_speak_the_language_of_the_command(tmp_path: Path, aws: bool) -> None:
    """``trailkit --lang ja lab``: the notebooks' ``lang = None`` means ``TRAILKIT_LANG``, so
    the kernels get the language this process speaks (or the one asked for)."""
    from trailkit import i18n

    base = _clean_base(tmp_path, TRAILKIT_LANG="en")
    endpoint = None if aws else ENDPOINT
    try:
        i18n.set_language("ja")
        assert lab_environment(aws=aws, endpoint=endpoint, base=base)["TRAILKIT_LANG"] == "ja"
    finally:
        i18n.set_language("en")
    assert lab_environment(aws=aws, endpoint=endpoint, base=base)["TRAILKIT_LANG"] == "en"
    env = lab_environment(aws=aws, endpoint=endpoint, base=base, lang="ja")
    assert env["TRAILKIT_LANG"] == "ja"


def test_demo_environment_bypasses_proxies_for_the_demo(tmp_path: Path) -> None:
    base = _clean_base(tmp_path, HTTPS_PROXY="http://proxy:3128", NO_PROXY="internal.example")
    env = lab_environment(endpoint=ENDPOINT, base=base)
    assert env["NO_PROXY"].split(",") == ["internal.example", "127.0.0.1", "localhost"]
    assert "127.0.0.1" in env["no_proxy"].split(",")
    unproxied = lab_environment(endpoint=ENDPOINT, base=_clean_base(tmp_path))
    assert unproxied.get("NO_PROXY") == os.environ.get("NO_PROXY")


def test_demo_environment_needs_an_endpoint() -> None:
    with pytest.raises(InputError):
        lab_environment()


# -- input checks (no Jupyter is started) ------------------------------------------------------


def test_missing_notebook_dir_is_an_input_error(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="does not exist"):
        run_lab(notebook_dir=tmp_path / "missing", port=_free_port())


def test_busy_lab_port_is_an_input_error(tmp_path: Path) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        port = sock.getsockname()[1]
        with pytest.raises(InputError, match="in use"):
            run_lab(notebook_dir=tmp_path, port=port)


def test_unknown_profile_is_an_input_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "no-credentials"))
    with pytest.raises(InputError, match="profile"):
        run_lab(aws=True, profile="no-such-profile", notebook_dir=tmp_path, port=_free_port())


# -- a quiet JupyterLab: one URL, no news, no update check (no Jupyter is started) -------------

NOTIFICATION = "@jupyterlab/apputils-extension:notification"


def test_lab_command_logs_only_warnings_and_never_checks_for_updates(tmp_path: Path) -> None:
    cmd = lab_command(8890, tmp_path)
    assert cmd[1:3] == ["-m", "jupyterlab"]
    # Jupyter's INFO banner would print a second URL, its token masked ("?token=...").
    assert "--Application.log_level=WARN" in cmd
    assert "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate" in cmd
    assert "--no-browser" in cmd
    assert "--no-browser" not in lab_command(8890, tmp_path, open_browser=True)
    assert not any("token" in arg.lower() for arg in cmd)  # the token is never on the command line


def test_lab_config_turns_news_and_update_checks_off_with_settings_jupyterlab_knows() -> None:
    """The defaults the lab's config directory gives name a real JupyterLab plugin and valid
    values of its schema (a renamed setting would otherwise be ignored without a word)."""
    overrides = json.loads(
        (LAB_CONFIG_DIR / "labconfig" / "default_setting_overrides.json").read_text()
    )
    assert overrides == {NOTIFICATION: {"fetchNews": "false", "checkForUpdates": False}}
    plugin, name = NOTIFICATION.split(":")
    schema_file = Path(sys.prefix, "share/jupyter/lab/schemas", plugin, f"{name}.json")
    properties = json.loads(schema_file.read_text())["properties"]
    assert {"const": "false", "title": "Never"} in properties["fetchNews"]["oneOf"]
    assert properties["checkForUpdates"]["type"] == "boolean"


def _url_lines(text: str) -> list[str]:
    return [line for line in text.splitlines() if re.search(r"https?://\S*(/lab\b|token=)", line)]


def _assert_quiet_start(text: str, port: int, token: str) -> None:
    """Exactly one JupyterLab URL in the whole output, the one with the real token; no
    warnings up to it. (Later, each kernel start logs two that are not the lab's to fix:
    ipykernel's "running over TCP without encryption" and jupyter_server's websocket ping
    timeout, jupyter-server/jupyter_server#1612.)"""
    assert _url_lines(text) == [
        f"trailkit lab: JupyterLab is ready at http://127.0.0.1:{port}/lab?token={token}"
    ]
    assert re.fullmatch(r"[0-9a-f]{64}", token)
    start = text.split("Press Ctrl-C", 1)[0]
    assert not re.search(r"warning|\[W ", start, re.IGNORECASE), start


# -- the real thing ----------------------------------------------------------------------------

KERNEL_CODE = """
import os, boto3
names = sorted(t["Name"] for t in boto3.client("cloudtrail").describe_trails()["trailList"])
print("TRAILS=" + ",".join(names))
print("BACKEND=" + os.environ.get("TRAILKIT_BACKEND", ""))
"""


def _lab_command(lab_port: int, demo_port: int, notebooks: Path) -> list[str]:
    if (REPO / "trailkit" / "cli.py").exists():
        return [
            sys.executable,
            "-m",
            "trailkit",
            "lab",
            "--port",
            str(lab_port),
            "--demo-port",
            str(demo_port),
            "--notebook-dir",
            str(notebooks),
        ]
    code = (
        "import sys; from pathlib import Path; from trailkit.demo import run_lab; "
        f"sys.exit(run_lab(port={lab_port}, demo_port={demo_port}, "
        f"notebook_dir=Path({str(notebooks)!r})))"
    )
    return [sys.executable, "-c", code]


def _api(port: int, token: str, path: str, method: str = "GET", body: Any = None) -> Any:
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}{path}",
        data=data,
        method=method,
        headers={"Authorization": f"token {token}", "Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        raw = response.read()
    return json.loads(raw) if raw else None


def _message(msg_type: str, content: dict[str, Any], session: str) -> dict[str, Any]:
    return {
        "header": {
            "msg_id": uuid.uuid4().hex,
            "msg_type": msg_type,
            "username": "test",
            "session": session,
            "date": datetime.now(UTC).isoformat(),
            "version": "5.3",
        },
        "parent_header": {},
        "metadata": {},
        "content": content,
        "channel": "shell",
        "buffers": [],
    }


async def _run_in_kernel(port: int, token: str, kernel_id: str, code: str) -> str:
    """Run ``code`` over the kernel's websocket (what the browser does); returns its stdout."""
    from tornado.websocket import websocket_connect

    session = uuid.uuid4().hex
    url = (
        f"ws://127.0.0.1:{port}/api/kernels/{kernel_id}/channels?session_id={session}&token={token}"
    )
    ws = await asyncio.wait_for(websocket_connect(url), timeout=30)
    try:

        async def reply_to(msg: dict[str, Any], stdout: list[str]) -> dict[str, Any]:
            ws.write_message(json.dumps(msg))
            reply: dict[str, Any] | None = None
            idle = False
            while reply is None or not idle:
                raw = await asyncio.wait_for(ws.read_message(), timeout=60)
                assert raw is not None, "the kernel websocket closed"
                got = json.loads(raw)
                if got.get("parent_header", {}).get("msg_id") != msg["header"]["msg_id"]:
                    continue
                kind = got["header"]["msg_type"]
                if kind == "stream":
                    stdout.append(got["content"]["text"])
                elif kind == "error":
                    stdout.append("\n".join(got["content"]["traceback"]))
                elif kind == "status" and got["content"]["execution_state"] == "idle":
                    idle = True
                elif kind.endswith("_reply"):
                    reply = got
            return reply

        await reply_to(_message("kernel_info_request", {}, session), [])
        stdout: list[str] = []
        content = {
            "code": code,
            "silent": False,
            "store_history": False,
            "user_expressions": {},
            "allow_stdin": False,
            "stop_on_error": True,
        }
        reply = await reply_to(_message("execute_request", content, session), stdout)
        assert reply["content"]["status"] == "ok", "".join(stdout)
        return "".join(stdout)
    finally:
        ws.close()


def _jupyter_pids(runtime: Path) -> list[int]:
    pids = []
    for info in runtime.glob("jpserver-*.json"):
        with contextlib.suppress(ValueError, OSError):
            pids.append(int(json.loads(info.read_text())["pid"]))
    return pids


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # pragma: no cover
        return True
    return True


@pytest.mark.slow
def test_lab_kernel_reaches_the_demo_and_stops_on_sigterm(tmp_path: Path) -> None:
    lab_port, demo_port = _free_port(), _free_port()
    while demo_port == lab_port:
        demo_port = _free_port()
    notebooks = tmp_path / "notebooks"
    notebooks.mkdir()
    jupyter = tmp_path / "jupyter"
    runtime = jupyter / "runtime"
    env = _clean_base(tmp_path)
    env.update(
        JUPYTER_CONFIG_DIR=str(jupyter / "config"),
        JUPYTER_DATA_DIR=str(jupyter / "data"),
        JUPYTER_RUNTIME_DIR=str(runtime),
        JUPYTERLAB_SETTINGS_DIR=str(jupyter / "lab-settings"),
        JUPYTERLAB_WORKSPACES_DIR=str(jupyter / "lab-workspaces"),
        IPYTHONDIR=str(jupyter / "ipython"),
        JUPYTER_PLATFORM_DIRS="1",
        PYTHONPATH=str(REPO),
        PYTHONUNBUFFERED="1",
    )
    log = tmp_path / "lab.log"
    started = time.monotonic()
    with log.open("wb") as sink:
        proc = subprocess.Popen(
            _lab_command(lab_port, demo_port, notebooks),
            cwd=REPO,
            env=env,
            stdout=sink,
            stderr=subprocess.STDOUT,
        )
    jupyter_pids: list[int] = []
    try:
        pattern = re.compile(rf"ready at (http://127\.0\.0\.1:{lab_port}/lab\?token=(\w+))")
        found = None
        while found is None:
            assert proc.poll() is None, log.read_text()
            assert time.monotonic() - started < READY_TIMEOUT, log.read_text()
            time.sleep(0.25)
            found = pattern.search(log.read_text())
        ready_after = time.monotonic() - started
        token = found.group(2)
        text = log.read_text()
        assert f"DEMO backend at http://127.0.0.1:{demo_port}" in text
        assert PLACEHOLDER_CREDENTIAL not in text  # credentials are never printed
        assert "started" in _api(lab_port, token, "/api/status")
        notification = _api(lab_port, token, f"/lab/api/settings/{NOTIFICATION}")
        defaults = notification["schema"]["properties"]
        assert defaults["fetchNews"]["default"] == "false"  # no "receive news?" on first open
        assert defaults["checkForUpdates"]["default"] is False
        assert _api(lab_port, token, "/lab/api/update")["notification"] is None
        jupyter_pids = _jupyter_pids(runtime)
        assert jupyter_pids, list(runtime.iterdir())

        kernel = _api(lab_port, token, "/api/kernels", "POST", {"name": "python3"})
        kernel_started = time.monotonic()
        output = asyncio.run(_run_in_kernel(lab_port, token, kernel["id"], KERNEL_CODE))
        kernel_after = time.monotonic() - kernel_started
        trails = re.search(r"TRAILS=(.*)", output)
        assert trails, output
        assert "org-trail" in trails.group(1).split(","), output
        assert "BACKEND=demo" in output

        stop_started = time.monotonic()
        proc.send_signal(signal.SIGTERM)
        code = proc.wait(timeout=STOP_TIMEOUT)
        stop_after = time.monotonic() - stop_started
        assert code == 0, log.read_text()
        _assert_quiet_start(log.read_text(), lab_port, token)  # the whole run's output
        assert _port_free(lab_port)
        assert _port_free(demo_port)
        assert not any(_alive(pid) for pid in jupyter_pids)
        print(
            f"lab ready after {ready_after:.1f} s, kernel ran after {kernel_after:.1f} s, "
            f"stopped in {stop_after:.1f} s"
        )
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        for pid in jupyter_pids or _jupyter_pids(runtime):
            if _alive(pid):
                os.kill(pid, signal.SIGKILL)
