"""Helpers for the browser tests: Debian's Chromium, JupyterLab and Voila servers, Playwright.

Follows the shared testing notes: Chromium from Debian (``apt-get install -y chromium``, never
``playwright install``), every request that is not to 127.0.0.1 aborted, Jupyter's directories
under a temp dir, servers stopped with SIGTERM, Playwright's ``expect`` timeout raised to 60 s.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parent.parent
CHROMIUM = Path("/usr/bin/chromium")
ARTIFACTS = REPO / "test-artifacts"
READY_TIMEOUT = 90.0
UI_TIMEOUT_MS = 60_000
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
]
_LOCAL = urllib.request.build_opener(urllib.request.ProxyHandler({}))


# -- Chromium ----------------------------------------------------------------------------------


def _chromium_works() -> bool:
    if not CHROMIUM.exists():
        return False
    proc = subprocess.run(
        [str(CHROMIUM), "--version"], capture_output=True, text=True, check=False, timeout=60
    )
    return proc.returncode == 0 and "Chromium" in proc.stdout


def _apt(*args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    return subprocess.run(
        ["apt-get", *args], capture_output=True, text=True, check=False, env=env, timeout=900
    )


def _apt_install(package: str, works: Callable[[], bool], what: str) -> None:
    """``apt-get install -y PACKAGE`` until ``works()``; if that fails, ``apt-get update`` and
    again. Needs root; the test FAILS, saying what to run, when it cannot be done."""
    if not hasattr(os, "geteuid") or os.geteuid() != 0 or shutil.which("apt-get") is None:
        pytest.fail(
            f"{what} is missing and cannot be installed here (needs root and apt-get): "
            f"run `apt-get install -y {package}` as root"
        )
    first = _apt("install", "-y", package)
    if first.returncode != 0 or not works():
        update = _apt("update")
        second = _apt("install", "-y", package)
        if second.returncode != 0 or not works():
            pytest.fail(
                f"could not install Debian's {package} ({what}); run "
                f"`apt-get update && apt-get install -y {package}` as root:\n"
                f"install: {first.stderr[-2000:]}\nupdate: {update.stderr[-2000:]}\n"
                f"install again: {second.stderr[-2000:]}"
            )


def ensure_chromium() -> Path:
    """Debian's Chromium, installed with apt-get when missing; the test FAILS when it cannot be.

    ``apt-get install -y chromium`` first; if that fails, ``apt-get update`` and again. Needs
    root. Playwright's own browser download is never used.
    """
    if not _chromium_works():
        _apt_install("chromium", _chromium_works, str(CHROMIUM))
    return CHROMIUM


#: Debian's package of the Noto CJK fonts, and the font Chromium then draws Japanese with.
CJK_PACKAGE = "fonts-noto-cjk"
CJK_FONT = "Noto Sans CJK JP"


def japanese_fonts() -> list[str]:
    """The font families fontconfig (which Chromium asks) has for Japanese, or [] when none
    (or when ``fc-list`` is missing)."""
    if shutil.which("fc-list") is None:
        return []
    proc = subprocess.run(
        ["fc-list", ":lang=ja", "family"],
        capture_output=True, text=True, check=False, timeout=60,
    )  # fmt: skip
    return sorted({line.strip() for line in proc.stdout.splitlines() if line.strip()})


def _cjk_installed() -> bool:
    return any(CJK_FONT in family for family in japanese_fonts())


def ensure_cjk_fonts() -> str:
    """Debian's ``fonts-noto-cjk``, installed with apt-get as :func:`ensure_chromium` installs
    Chromium (the test FAILS, saying what to run, when it cannot be): without it Chromium draws
    Japanese text as empty boxes (tofu). Returns the font family Japanese is drawn with."""
    if not _cjk_installed():
        _apt_install(CJK_PACKAGE, _cjk_installed, f"a Japanese font ({CJK_FONT})")
    return CJK_FONT


# -- servers -----------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def http_ok(url: str, timeout: float = 1.0) -> bool:
    try:
        with _LOCAL.open(url, timeout=timeout) as response:
            return bool(response.status == 200)
    except (OSError, urllib.error.URLError):
        return False


def _write_json(path: Path, data: Any) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data))


def jupyter_env(tmp: Path, endpoint: str | None, journal: Path) -> dict[str, str]:
    """An environment with every Jupyter directory under ``tmp``, Lab settings made quiet
    (no autosave, no news, no update check, no windowing), and AWS pointed at ``endpoint``."""
    jupyter = tmp / "jupyter"
    settings = jupyter / "lab-settings"
    _write_json(
        settings / "@jupyterlab/docmanager-extension/plugin.jupyterlab-settings",
        {"autosave": False},
    )
    _write_json(
        settings / "@jupyterlab/apputils-extension/notification.jupyterlab-settings",
        {"fetchNews": "false", "checkForUpdates": False},
    )
    _write_json(
        settings / "@jupyterlab/notebook-extension/tracker.jupyterlab-settings",
        {"windowingMode": "none"},
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "JUPYTER"))}
    env.update(
        JUPYTER_CONFIG_DIR=str(jupyter / "config"),
        JUPYTER_DATA_DIR=str(jupyter / "data"),
        JUPYTER_RUNTIME_DIR=str(jupyter / "runtime"),
        JUPYTERLAB_SETTINGS_DIR=str(settings),
        JUPYTERLAB_WORKSPACES_DIR=str(jupyter / "workspaces"),
        IPYTHONDIR=str(jupyter / "ipython"),
        JUPYTER_PLATFORM_DIRS="1",
        HOME=str(tmp / "home"),
        AWS_CONFIG_FILE=str(tmp / "no-aws-config"),
        AWS_SHARED_CREDENTIALS_FILE=str(tmp / "no-aws-credentials"),
        TRAILKIT_JOURNAL=str(journal),
        PYTHONPATH=str(REPO),
        PYTHONUNBUFFERED="1",
        NO_PROXY="127.0.0.1,localhost",
        no_proxy="127.0.0.1,localhost",
    )
    if endpoint is not None:
        env.update(
            AWS_ENDPOINT_URL=endpoint,
            AWS_DEFAULT_REGION="us-east-1",
            AWS_ACCESS_KEY_ID="trailkit-demo",
            AWS_SECRET_ACCESS_KEY="trailkit-demo",
            TRAILKIT_BACKEND="demo",
        )
    (tmp / "home").mkdir(exist_ok=True)
    return env


class Server:
    """A child server process with its log, stopped with SIGTERM (SIGKILL after 20 s)."""

    def __init__(self, cmd: list[str], env: dict[str, str], cwd: Path, log: Path) -> None:
        self.log = log
        self._sink = log.open("wb")
        self.proc = subprocess.Popen(
            cmd,
            env=env,
            cwd=cwd,
            stdout=self._sink,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    def wait_until(self, ready: Callable[[], bool], what: str) -> None:
        deadline = time.monotonic() + READY_TIMEOUT
        while not ready():
            if self.proc.poll() is not None:
                pytest.fail(f"{what} exited with {self.proc.returncode}:\n{self.text()}")
            if time.monotonic() > deadline:
                pytest.fail(f"{what} was not ready after {READY_TIMEOUT} s:\n{self.text()}")
            time.sleep(0.2)

    def text(self) -> str:
        return self.log.read_text(errors="replace")[-6000:]

    def stop(self) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()
        self._sink.close()
        return int(self.proc.returncode)


@contextlib.contextmanager
def jupyterlab(root: Path, env: dict[str, str], log: Path) -> Iterator[str]:
    """JupyterLab on ``root`` (no token, 127.0.0.1); yields its base URL."""
    port = free_port()
    cmd = [
        sys.executable, "-m", "jupyterlab", "--no-browser",
        f"--ServerApp.port={port}", "--ServerApp.port_retries=0",
        "--ServerApp.token=", "--ServerApp.password=", "--ServerApp.ip=127.0.0.1",
        "--allow-root", "--ServerApp.disable_check_xsrf=True",
        "--LabApp.expose_app_in_browser=True",
        "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
        f"--ServerApp.root_dir={root}",
    ]  # fmt: skip
    server = Server(cmd, env, root, log)
    base = f"http://127.0.0.1:{port}"
    try:
        server.wait_until(lambda: http_ok(f"{base}/api/status"), "JupyterLab")
        yield base
    finally:
        with contextlib.suppress(OSError, urllib.error.URLError, ValueError):
            with _LOCAL.open(f"{base}/api/sessions", timeout=5) as response:
                sessions = json.loads(response.read())
            for session in sessions:
                request = urllib.request.Request(
                    f"{base}/api/sessions/{session['id']}", method="DELETE"
                )
                _LOCAL.open(request, timeout=10).close()
        server.stop()


@contextlib.contextmanager
def trailkit_app(env: dict[str, str], log: Path) -> Iterator[tuple[str, Server]]:
    """``trailkit app`` (the Voila app with its own demo) on a free port; yields (URL, server),
    the URL as the app printed it: ``http://127.0.0.1:PORT/?token=...``."""
    port = free_port()
    cmd = [sys.executable, "-m", "trailkit", "app", "--port", str(port)]
    server = Server(cmd, env, REPO, log)
    base = f"http://127.0.0.1:{port}"
    try:
        printed = re.compile(rf"{re.escape(base)}/\?token=[\w-]+")  # in any language
        server.wait_until(
            lambda: (
                bool(printed.search(server.text())) and http_ok(f"{base}/voila/static/voila.js")
            ),
            "trailkit app (Voila)",
        )
        match = printed.search(server.text())
        assert match, server.text()
        url = match.group(0)
        yield url, server
    finally:
        server.stop()


def _whole(log: Path) -> str:
    return log.read_text(errors="replace")


@contextlib.contextmanager
def trailkit_lab(
    clone: Path, env: dict[str, str], log: Path, trailkit: Path
) -> Iterator[tuple[str, Server]]:
    """``trailkit lab --port N`` as ``make lab`` runs it, from ``clone`` (its working directory
    and first on ``PYTHONPATH``, so the lab's working copies go to ``clone/.trailkit-lab``);
    yields (URL, server), the URL as the lab printed it: ``http://127.0.0.1:N/lab?token=...``.

    The lab's own command line is not changed: what the browser needs (``window.jupyterapp``,
    no update check) is set in a ``jupyter_lab_config.json`` under ``JUPYTER_CONFIG_DIR``.
    """
    config = Path(env["JUPYTER_CONFIG_DIR"]) / "jupyter_lab_config.json"
    _write_json(
        config,
        {
            "LabApp": {
                "expose_app_in_browser": True,
                "check_for_updates_class": "jupyterlab.NeverCheckForUpdate",
            }
        },
    )
    port = free_port()
    server = Server([str(trailkit), "lab", "--port", str(port)], env, clone, log)
    base = f"http://127.0.0.1:{port}"
    try:
        printed = re.compile(rf"{re.escape(base)}/lab\?token=[\w-]+")  # in any language
        server.wait_until(lambda: bool(printed.search(_whole(log))), "trailkit lab (JupyterLab)")
        match = printed.search(_whole(log))
        assert match, _whole(log)
        url = match.group(0)
        yield url, server
    finally:
        server.stop()


# -- the browser -------------------------------------------------------------------------------


def _local_only(route: Any) -> None:
    url = route.request.url
    if url.startswith(("http://127.0.0.1", "ws://127.0.0.1", "data:", "blob:")):
        route.continue_()
    else:
        route.abort()


@contextlib.contextmanager
def browser_page(chromium: Path) -> Iterator[Any]:
    """A Playwright page in headless Debian Chromium that can only reach 127.0.0.1."""
    from playwright.sync_api import expect, sync_playwright

    expect.set_options(timeout=UI_TIMEOUT_MS)
    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=str(chromium), headless=True, args=CHROMIUM_ARGS
        )
        try:
            context = browser.new_context(viewport={"width": 1280, "height": 1000})
            context.route("**/*", _local_only)
            context.set_default_timeout(UI_TIMEOUT_MS)
            page = context.new_page()
            yield page
            context.close()
        finally:
            browser.close()


# -- notebooks in JupyterLab -------------------------------------------------------------------

KERNEL_IDLE = """() => {
  const w = window.jupyterapp && window.jupyterapp.shell.currentWidget;
  const kernel = w && w.sessionContext && w.sessionContext.session
    && w.sessionContext.session.kernel;
  return !!kernel && kernel.status === 'idle';
}"""
OPEN_NOTEBOOK = """async (path) => {
  const app = window.jupyterapp;
  const w = await app.commands.execute('docmanager:open', {path, factory: 'Notebook'});
  await w.context.ready;
  app.shell.activateById(w.id);
  return app.shell.currentWidget === w ? w.context.path : null;
}"""
# Finished: the kernel is idle, no cell shows [*], and the run has started (a code cell has an
# execution count: the notebooks are saved without any).
RUN_FINISHED = """() => {
  const w = window.jupyterapp.shell.currentWidget;
  const kernel = w && w.sessionContext && w.sessionContext.session
    && w.sessionContext.session.kernel;
  if (!kernel || kernel.status !== 'idle') return false;
  const prompts = [...w.node.querySelectorAll('.jp-InputPrompt')].map(p => p.textContent);
  if (prompts.some(t => t.includes('[*]'))) return false;
  return w.content.widgets.some(c => c.model.type === 'code' && c.model.executionCount);
}"""


def run_all(page: Any, name: str) -> None:
    """Open notebook ``name`` in Lab, wait for its kernel, Run All, and wait until the run has
    settled (finished twice, half a second apart: no late cell, no late busy)."""
    assert page.evaluate(OPEN_NOTEBOOK, name) == name
    page.wait_for_function(KERNEL_IDLE, timeout=60_000)
    page.evaluate("window.jupyterapp.commands.execute('runmenu:run-all')")
    finished, deadline = 0, time.monotonic() + 180
    while finished < 2:
        assert time.monotonic() < deadline, f"{name}: Run All did not settle in 180 s"
        page.wait_for_function(RUN_FINISHED, timeout=120_000, polling=200)
        page.wait_for_timeout(500)
        finished = finished + 1 if page.evaluate(RUN_FINISHED) else 0


# -- the guided update, as an operator drives it -----------------------------------------------


def option_value(page: Any, select_css: str, starts_with: str) -> str:
    """The value of the first option of ``select_css`` whose label starts with ``starts_with``.

    ipywidgets writes option labels with non-breaking spaces; the ``value`` attribute keeps
    the label with plain spaces.
    """
    page.wait_for_function(
        """([css, start]) => [...document.querySelectorAll(css + ' option')]
              .some(o => o.value.startsWith(start))""",
        arg=[select_css, starts_with],
        timeout=UI_TIMEOUT_MS,
    )
    values: list[str] = page.eval_on_selector_all(
        f"{select_css} option", "els => els.map(e => e.value)"
    )
    return next(v for v in values if v.startswith(starts_with))


def choose(page: Any, select_css: str, starts_with: str) -> str:
    """Select the option whose label starts with ``starts_with``, as the operator would."""
    value = option_value(page, select_css, starts_with)
    page.locator(select_css).select_option(value=value)
    return value


GUIDED = ".tk-guided"
# The height of the first element matching the selector, scrolled to the top of its panel
# (its own height even where Lab or Voila clips it in a scrolling panel).
_HEIGHT = """(css) => {
  const g = document.querySelector(css);
  if (!g) return 0;
  g.scrollIntoView({block: 'start'});
  return Math.ceil(g.getBoundingClientRect().height);
}"""


@contextlib.contextmanager
def tall_viewport(page: Any, selector: str = GUIDED, extra: int = 200) -> Iterator[None]:
    """Make the viewport tall enough to show the whole of ``selector`` (the guided view by
    default) plus ``extra`` pixels: Lab and Voila scroll inside their own panels, so a
    full-page screenshot would only show the viewport. At most 5000 pixels."""
    size = page.viewport_size
    height = int(page.evaluate(_HEIGHT, selector))
    page.set_viewport_size(
        {"width": size["width"], "height": min(max(size["height"], height + extra), 5000)}
    )
    page.evaluate(_HEIGHT, selector)
    page.wait_for_timeout(300)
    try:
        yield
    finally:
        page.set_viewport_size(size)


def screenshot(page: Any, name: str) -> Path:
    """A screenshot of the page with the whole guided view, in ``test-artifacts/``."""
    ARTIFACTS.mkdir(exist_ok=True)
    path = ARTIFACTS / name
    with tall_viewport(page):
        page.screenshot(path=str(path))
    return path


def drive_guided_update(page: Any, name: str, *, docs_image: Path | None = None) -> None:
    """Trail, a blocked key (Apply stays disabled, the reason shows), a ready key, confirm,
    apply, success with the new key, roll back. Screenshots go to ``test-artifacts/`` (and
    ``<name>-failure.png`` when a step fails)."""
    try:
        _drive(page, name, docs_image)
    except BaseException:
        with contextlib.suppress(Exception):
            screenshot(page, f"{name}-failure.png")
        raise


def _drive(page: Any, name: str, docs_image: Path | None) -> None:
    from playwright.sync_api import expect

    trail_select = ".tk-trail-select select"
    key_select = ".tk-key-select select"
    choose(page, trail_select, "org-trail ·")
    expect(page.locator(".tk-trail-info")).to_contain_text("SSE-S3")

    choose(page, key_select, "alias/explicit-deny (")
    expect(page.locator(".tk-checklist")).to_contain_text("BLOCKED")
    expect(page.locator(".tk-key-reason")).to_contain_text("see the checklist")
    expect(page.locator(".tk-checklist")).to_contain_text("explicitly denies")
    apply = page.locator("button.tk-apply")
    expect(apply).to_be_disabled()
    expect(page.locator(".tk-change-panel .tk-apply-confirm input")).to_be_disabled()
    expect(page.locator(".tk-apply-why")).to_contain_text("blocked: see the checklist")
    screenshot(page, f"{name}-blocked.png")

    choose(page, key_select, "alias/cloudtrail-good (")
    expect(page.locator(".tk-checklist")).to_contain_text("READY")
    expect(page.locator(".tk-key-reason")).to_contain_text("AWS will accept this key")
    expect(apply).to_be_disabled()
    page.locator(".tk-change-panel .tk-apply-confirm input").check()
    expect(apply).to_be_enabled()
    apply.click()
    result = page.locator(".tk-result")
    expect(result).to_contain_text("read back and verified")
    expect(result).to_contain_text("alias/cloudtrail-good")
    expect(page.locator(".tk-trail-info")).to_contain_text("SSE-KMS")
    rollback = page.locator("button.tk-rollback")
    expect(page.locator(".tk-rollback-preview")).to_contain_text("Restores org-trail")
    expect(rollback).to_be_disabled()  # Rollback is confirmed like Apply
    expect(apply).to_be_disabled()
    screenshot(page, f"{name}-applied.png")
    if docs_image is not None:
        save_docs_image(page, docs_image)

    page.locator(".tk-rollback-confirm input").check()
    expect(rollback).to_be_enabled()
    rollback.click()
    expect(result).to_contain_text("now uses SSE-S3")
    expect(page.locator(".tk-trail-info")).to_contain_text("Now: SSE-S3")
    expect(rollback).to_be_disabled()
    screenshot(page, f"{name}-final.png")


def save_docs_image(
    page: Any,
    target: Path,
    *,
    selector: str = GUIDED,
    tall: str | None = None,
    name: str | None = None,
    width: int = 1000,
    limit: int = 300_000,
) -> Path:
    """A compact PNG of ``selector`` (palette PNG, at most ``width`` pixels wide, under
    ``limit`` bytes) for the README; by default the guided view.

    The viewport is first made tall enough for the whole of ``tall`` (default: ``selector``
    itself; give the inner content when ``selector`` is a scrolling panel). Always written to
    ``test-artifacts/<name>`` (default: ``target``'s file name); copied to ``target`` when that
    is missing or ``TRAILKIT_UPDATE_DOCS_IMAGE=1`` (so a test run does not rewrite a committed
    file every time: ports and ids differ from run to run).
    """
    from PIL import Image

    ARTIFACTS.mkdir(exist_ok=True)
    small = ARTIFACTS / (name or target.name)
    raw = small.with_name(f"{small.stem}-raw.png")
    with tall_viewport(page, tall or selector):
        page.locator(selector).first.screenshot(path=str(raw))
    image = Image.open(raw).convert("RGB")
    if image.width > width:
        image = image.resize((width, round(image.height * width / image.width)), Image.LANCZOS)
    colors = 128
    while True:
        image.quantize(colors=colors, method=Image.Quantize.MEDIANCUT).save(small, optimize=True)
        if small.stat().st_size < limit or colors <= 16:
            break
        colors //= 2
    assert small.stat().st_size < limit, small.stat().st_size
    if not target.exists() or os.environ.get("TRAILKIT_UPDATE_DOCS_IMAGE") == "1":
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(small, target)
    return small
