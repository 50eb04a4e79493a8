"""The floor plan is a checked contract: imports only go down, and the pure layers stay light.

``lint-imports`` (import-linter) reads the contracts from ``pyproject.toml``; these tests run it
on the real package and on a copy with one forbidden import planted, so a contract that could
never fail would be noticed. A fresh interpreter shows what ``import trailkit`` really loads.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
LINT_IMPORTS = Path(sys.executable).parent / "lint-imports"
HEAVY = ("boto3", "botocore", "pandas")


def _lint(root: Path, *contracts: str) -> subprocess.CompletedProcess[str]:
    """Run lint-imports on the trailkit package under ``root`` (config from its pyproject)."""
    env = {**os.environ, "PYTHONPATH": str(root)}
    only = [arg for c in contracts for arg in ("--contract", c)]
    return subprocess.run(
        [str(LINT_IMPORTS), str(root / "pyproject.toml"), "--no-cache", *only],
        cwd=root,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )


def _copy(tmp_path: Path) -> Path:
    shutil.copytree(
        ROOT / "trailkit", tmp_path / "trailkit", ignore=shutil.ignore_patterns("*.pyc")
    )
    shutil.copy(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    return tmp_path


def _plant(path: Path, line: str) -> None:
    text = path.read_text()
    marker = "from __future__ import annotations\n"
    assert marker in text
    path.write_text(text.replace(marker, marker + line + "\n", 1))


def test_the_package_keeps_every_contract() -> None:
    result = _lint(ROOT)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Contracts: 5 kept, 0 broken." in result.stdout


@pytest.mark.parametrize(
    ("module", "line", "contract"),
    [
        # the example: a rules module that talks to AWS
        ("rules/keyids.py", "import boto3  # noqa", "pure"),
        ("rules/checks.py", "import pandas  # noqa", "pure"),
        # upward imports between layers
        ("rules/plan.py", "import trailkit.change.journal  # noqa", "layers"),
        ("aws/session.py", "import trailkit.runbook  # noqa", "layers"),
        ("records/read.py", "import trailkit.rules.keyids  # noqa", "layers"),
        # the write protocol may not reach boto3 itself
        ("change/journal.py", "import botocore  # noqa", "aws-only"),
        # a widget that calls AWS instead of an injected callable
        ("ui/widgets/banner.py", "import trailkit.aws.reader  # noqa", "widgets"),
        # terminal drawing below the user interface
        ("rules/plan.py", "import rich.table  # noqa", "terminal"),
    ],
)
def test_a_planted_violation_breaks_its_contract(
    tmp_path: Path, module: str, line: str, contract: str
) -> None:
    root = _copy(tmp_path)
    assert _lint(root, contract).returncode == 0, "the copy keeps the contract before planting"
    _plant(root / "trailkit" / module, line)
    result = _lint(root, contract)
    assert result.returncode != 0, result.stdout
    assert "BROKEN" in result.stdout
    dotted = "trailkit." + module.removesuffix(".py").replace("/", ".")
    assert dotted in result.stdout, result.stdout


def _loaded_after(statement: str) -> set[str]:
    code = (
        f"{statement}\n"
        "import sys\n"
        f"print(' '.join(sorted(m for m in {HEAVY!r} if m in sys.modules)))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT
    )
    return set(out.stdout.split())


def test_import_trailkit_loads_neither_boto3_nor_pandas() -> None:
    assert _loaded_after("import trailkit") == set()


def _pure_modules() -> list[str]:
    names = ["trailkit.records", "trailkit.arn", "trailkit.errors", "trailkit.permissions"]
    for path in sorted((ROOT / "trailkit" / "rules").glob("*.py")):
        names.append("trailkit.rules" if path.stem == "__init__" else f"trailkit.rules.{path.stem}")
    return names


@pytest.mark.parametrize("module", _pure_modules())
def test_pure_modules_load_neither_boto3_nor_pandas(module: str) -> None:
    assert _loaded_after(f"import {module}") == set()


def test_the_lazy_api_still_reaches_every_public_name() -> None:
    import trailkit

    for name in trailkit.__all__:
        assert getattr(trailkit, name) is not None
    with pytest.raises(AttributeError):
        _ = trailkit.no_such_name  # type: ignore[attr-defined]
