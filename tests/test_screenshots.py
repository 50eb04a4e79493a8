"""Screenshots of notebooks 01-05 in JupyterLab and of the Voila app, for the README.

One demo AWS (``trailkit demo`` in its own process, so its moto state is not the test session's
shared one) and one JupyterLab on copies of ``notebooks/`` for the whole module. Each notebook
is opened, run with Run All until the kernel is idle and every code cell has run; no cell may
show an error; what the notebook is for must be visible; then a compact PNG (1000 px wide,
under 300 KB) goes to ``test-artifacts/`` and, when missing or with
``TRAILKIT_UPDATE_DOCS_IMAGE=1``, to ``docs/screenshots/`` (so a test run does not rewrite the
committed images: ports, ids and times differ from run to run). Nothing is ever saved: the
copies stay byte for byte as they were, and ``git status notebooks/`` does not change.
"""

from __future__ import annotations

import contextlib
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from browser_setup import (
    GUIDED,
    REPO,
    Server,
    browser_page,
    choose,
    ensure_chromium,
    jupyter_env,
    jupyterlab,
    run_all,
    save_docs_image,
    screenshot,
    trailkit_app,
)

pytestmark = [pytest.mark.browser, pytest.mark.slow]

NOTEBOOKS = REPO / "notebooks"
SHOTS = REPO / "docs" / "screenshots"
WIDTH = 1066  # the notebook panel is then about 1000 px wide: no downscaling, sharp text
PANEL = ".jp-NotebookPanel:not(.lm-mod-hidden)"
CONTENT = f"{PANEL} .jp-WindowedPanel-viewport"  # the cells, taller than the panel shows
# What went wrong in the open notebook: a code cell that did not run, an error output, or a
# traceback printed as text (a refusal printed as a plain message is an expected outcome).
PROBLEMS = """() => {
  const w = window.jupyterapp.shell.currentWidget;
  const problems = [];
  w.content.widgets.forEach((cell, i) => {
    if (cell.model.type !== 'code') return;
    if (!cell.model.executionCount) problems.push(`cell ${i}: not run`);
    const outputs = cell.model.outputs;
    for (let j = 0; j < outputs.length; j++) {
      const out = outputs.get(j).toJSON();
      const text = Array.isArray(out.text) ? out.text.join('') : (out.text || '');
      if (out.output_type === 'error') problems.push(`cell ${i}: ${out.ename}: ${out.evalue}`);
      else if (text.includes('Traceback (most recent call last)'))
        problems.push(`cell ${i}: traceback printed: ${text.slice(-500)}`);
    }
  });
  return problems;
}"""
# Close the open notebook without saving it, and shut its kernel down (one kernel at a time on
# a small machine).
CLOSE_UNSAVED = """async () => {
  const w = window.jupyterapp.shell.currentWidget;
  await w.sessionContext.shutdown();
  w.dispose();
}"""


@dataclass(frozen=True)
class Notebook:
    file: str
    image: str
    shows: tuple[tuple[str, str], ...]  # (CSS selector, text it must contain)

    @property
    def target(self) -> Path:
        return SHOTS / self.image


NOTEBOOK_SHOTS = [
    Notebook(
        "01_encryption_inventory.ipynb",
        "01-inventory.png",
        ((".tk-banner", "DEMO"), (".tk-trails", "org-trail"), (".tk-trails", "tokyo-trail")),
    ),
    Notebook(
        "02_guided_update.ipynb",
        "02-guided-update.png",
        (
            (GUIDED, "org-trail"),
            (".tk-checklist", "BLOCKED"),
            (".tk-key-reason", "see the checklist"),
        ),
    ),
    Notebook(
        "03_key_policy.ipynb",
        "03-key-policy.png",
        ((".tk-key-policy-view", "org-trail"), (".tk-policy-panel", "no-cloudtrail")),
    ),
    Notebook(
        "04_bulk_update.ipynb",
        "04-bulk-update.png",
        ((".tk-bulk-plans", "org-trail"), (".tk-bulk-plans", "tokyo-trail")),
    ),
    Notebook(
        "05_change_journal.ipynb",
        "05-change-journal.png",
        ((".tk-journal-view", "org-trail"), (".tk-journal-view", "2 changes")),
    ),
]


def _git_status(*paths: str) -> str:
    return subprocess.run(
        ["git", "status", "--porcelain", "--untracked-files=all", "--", *paths],
        cwd=REPO, capture_output=True, text=True, check=True, timeout=60,
    ).stdout  # fmt: skip


@dataclass
class Lab:
    base: str
    page: Any
    root: Path
    env: dict[str, str]
    notebooks_status: str  # `git status notebooks/` before anything ran


@pytest.fixture(scope="module")
def chromium() -> Path:
    return ensure_chromium()


@pytest.fixture(scope="module")
def page(chromium: Path) -> Iterator[Any]:
    """One browser page for the module (Playwright's sync API cannot be started twice at once)."""
    with browser_page(chromium) as page:
        page.set_viewport_size({"width": WIDTH, "height": 1000})
        yield page


@pytest.fixture(scope="module")
def lab(page: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Lab]:
    """The demo AWS, JupyterLab on copies of every notebook, and the page on the Lab with the
    file browser collapsed."""
    tmp = tmp_path_factory.mktemp("screenshots")
    status_before = _git_status("notebooks")
    root = tmp / "notebooks"
    root.mkdir()
    for shot in NOTEBOOK_SHOTS:
        shutil.copy(NOTEBOOKS / shot.file, root / shot.file)
    env = jupyter_env(tmp, None, tmp / "journal.jsonl")
    demo = Server([sys.executable, "-m", "trailkit", "demo"], env, tmp, tmp / "demo.log")
    try:
        demo.wait_until(lambda: "Press Ctrl-C" in demo.log.read_text(), "trailkit demo")
        endpoint = demo.log.read_text().split("listening on ", 1)[1].split()[0]
        env = jupyter_env(tmp, endpoint, tmp / "journal.jsonl")
        with jupyterlab(root, env, tmp / "lab.log") as base:
            page.goto(f"{base}/lab")
            page.wait_for_function("() => !!window.jupyterapp", timeout=60_000)
            page.evaluate("window.jupyterapp.restored")
            page.evaluate("window.jupyterapp.shell.collapseLeft()")
            yield Lab(base, page, root, env, status_before)
    finally:
        demo.stop()


def _cli(env: dict[str, str], *args: str) -> None:
    """A trailkit command against the demo (with the Lab's journal)."""
    proc = subprocess.run(
        [sys.executable, "-m", "trailkit", *args],
        env=env, cwd=REPO, capture_output=True, text=True, check=False, timeout=120,
    )  # fmt: skip
    assert proc.returncode == 0, f"trailkit {' '.join(args)}: {proc.stdout}\n{proc.stderr}"


def _prepare(lab: Lab, shot: Notebook) -> None:
    """What a notebook needs before it runs, or after, so that its picture says something."""
    if shot.file.startswith("05"):  # changes for the journal to show: applied, rolled back
        _cli(lab.env, "update", "--trail", "org-trail", "--key", "alias/cloudtrail-good", "--yes")
        _cli(lab.env, "rollback", "--last", "--yes")


def _operate(page: Any, shot: Notebook) -> None:
    """What the operator does in the notebook's view before the picture (nothing is sent)."""
    if shot.file.startswith("02"):  # the trail, and a key the checklist says will not work
        choose(page, ".tk-trail-select select", "org-trail ·")
        choose(page, ".tk-key-select select", "alias/explicit-deny (")


@pytest.mark.parametrize("shot", NOTEBOOK_SHOTS, ids=[s.file[:2] for s in NOTEBOOK_SHOTS])
def test_notebook_runs_and_is_pictured(lab: Lab, shot: Notebook) -> None:
    from playwright.sync_api import expect

    page = lab.page
    _prepare(lab, shot)
    try:
        run_all(page, shot.file)
        assert page.evaluate(PROBLEMS) == []
        _operate(page, shot)
        for selector, text in shot.shows:
            locator = page.locator(f"{PANEL} {selector}").first
            expect(locator).to_be_visible()
            expect(locator).to_contain_text(text)
        expect(page.locator(f"{PANEL} .tk-error")).to_have_count(0)
        image = save_docs_image(page, shot.target, selector=PANEL, tall=CONTENT)
    except BaseException:
        with contextlib.suppress(Exception):  # the first failure is the one to see
            screenshot(page, f"shot-{shot.image[:-4]}-failure.png")
            page.evaluate(CLOSE_UNSAVED)
        raise
    page.evaluate(CLOSE_UNSAVED)
    assert image.stat().st_size < 300_000


#: Notebook 01's health summary alone (README, "Health"): what the notebook opens with.
HEALTH_SUMMARY = SHOTS / "01-health-summary.png"


def test_the_health_summary_is_pictured(lab: Lab) -> None:
    """Notebook 01 on the demo opens, right after the connection banner, with the health
    summary: the counts, then the broken trails first (stale-key-trail on its Disabled key),
    each with its reason and what to do."""
    from playwright.sync_api import expect

    page = lab.page
    summary_css = f"{PANEL} .tk-health-summary"
    try:
        run_all(page, "01_encryption_inventory.ipynb")
        assert page.evaluate(PROBLEMS) == []
        summary = page.locator(summary_css).first
        expect(summary).to_be_visible()
        expect(summary.locator(".tk-health-counts")).to_contain_text("broken")
        first = summary.locator(".tk-health-trail").first
        expect(first).to_have_class(re.compile(r"\btk-health-broken\b"))
        stale = summary.locator('.tk-health-trail[data-trail="stale-key-trail"]')
        expect(stale).to_have_class(re.compile(r"\btk-health-broken\b"))
        expect(stale).to_contain_text("Disabled")
        expect(stale).to_contain_text("What to do:")
        # the banner comes first, the summary right after it
        order = page.evaluate(
            """(css) => {
              const banner = document.querySelector(css + ' .tk-banner');
              const summary = document.querySelector(css + ' .tk-health-summary');
              return !!(banner && summary &&
                banner.compareDocumentPosition(summary) & Node.DOCUMENT_POSITION_FOLLOWING);
            }""",
            PANEL,
        )
        assert order, "the health summary is not after the connection banner"
        image = save_docs_image(page, HEALTH_SUMMARY, selector=summary_css)
    except BaseException:
        with contextlib.suppress(Exception):  # the first failure is the one to see
            screenshot(page, "shot-01-health-summary-failure.png")
            page.evaluate(CLOSE_UNSAVED)
        raise
    page.evaluate(CLOSE_UNSAVED)
    assert image.stat().st_size < 300_000


def test_no_notebook_was_saved(lab: Lab) -> None:
    """After every notebook ran (tests run in file order): Lab saved no copy, and
    ``git status notebooks/`` is as it was before."""
    for shot in NOTEBOOK_SHOTS:
        assert (lab.root / shot.file).read_bytes() == (NOTEBOOKS / shot.file).read_bytes()
    assert _git_status("notebooks") == lab.notebooks_status


def test_the_app_is_pictured(page: Any, tmp_path: Path) -> None:
    """The Voila app with a trail and a ready key chosen: the checklist and the plan."""
    from playwright.sync_api import expect

    env = jupyter_env(tmp_path, None, tmp_path / "journal.jsonl")  # the app runs its own demo
    with trailkit_app(env, tmp_path / "app.log") as (url, _):
        page.goto(url)  # last in the module: the Lab's page is no longer needed
        try:
            page.wait_for_selector(GUIDED, timeout=60_000)
            choose(page, ".tk-trail-select select", "org-trail ·")
            choose(page, ".tk-key-select select", "alias/cloudtrail-good (")
            expect(page.locator(".tk-checklist")).to_contain_text("READY")
            expect(page.locator(".tk-key-reason")).to_contain_text("AWS will accept this key")
            expect(page.locator("button.tk-apply")).to_be_disabled()  # not confirmed: not sent
            image = save_docs_image(page, SHOTS / "app.png", selector="body", tall=GUIDED)
        except BaseException:
            with contextlib.suppress(Exception):
                screenshot(page, "shot-app-failure.png")
            raise
    assert image.stat().st_size < 300_000
