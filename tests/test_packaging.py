"""The project's own files agree with each other."""

from __future__ import annotations

import ast
import os
import re
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path
from typing import Any

import pytest
import yaml

import trailkit.errors

ROOT = Path(__file__).resolve().parent.parent


def _pyproject() -> dict[str, object]:
    return tomllib.loads((ROOT / "pyproject.toml").read_text())


def test_environment_yml_lists_exactly_the_pyproject_dependencies() -> None:
    project = _pyproject()["project"]
    assert isinstance(project, dict)
    wanted = set(project["dependencies"])
    for extra in project["optional-dependencies"].values():
        wanted |= set(extra)
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    pip = next(d["pip"] for d in env["dependencies"] if isinstance(d, dict) and "pip" in d)
    assert set(pip) == wanted
    python = [d for d in env["dependencies"] if isinstance(d, str) and d.startswith("python")]
    assert python == ["python" + project["requires-python"]]


def test_ci_runs_exactly_make_test() -> None:
    lines = [
        line.strip()
        for line in (ROOT / ".ci" / "run").read_text().splitlines()
        if line.strip() and not line.strip().startswith("#")
    ]
    assert "make test" in lines


def test_readme_quick_start_is_make_lab_and_make_test() -> None:
    readme = (ROOT / "README.md").read_text()
    quick = readme.split("## Quick start", 1)[1].split("\n## ", 1)[0]
    commands = [
        line.strip()
        for line in quick.splitlines()
        if line.startswith("    ") or line.strip().startswith("make ")
    ]
    assert [c for c in commands if c.startswith("make ")] == ["make lab", "make test"]


def test_errors_all_is_complete_and_the_tree_is_drawn() -> None:
    public = {
        name
        for name, obj in vars(trailkit.errors).items()
        if isinstance(obj, type)
        and issubclass(obj, Exception)
        and obj.__module__ == "trailkit.errors"
    }
    assert public <= set(trailkit.errors.__all__)
    doc = trailkit.errors.__doc__ or ""
    for name in public:
        assert name in doc, f"{name} missing from the tree in the errors docstring"


def test_only_the_aws_layers_import_boto3() -> None:
    allowed = {"aws", "demo"}
    for path in sorted((ROOT / "trailkit").rglob("*.py")):
        tree = ast.parse(path.read_text())
        imported = set()
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                imported |= {a.name.split(".")[0] for a in node.names}
            elif isinstance(node, ast.ImportFrom) and node.module:
                imported.add(node.module.split(".")[0])
        if not allowed & set(path.relative_to(ROOT / "trailkit").parts[:1]):
            assert not imported & {"boto3", "botocore"}, f"{path} imports boto3/botocore"


def test_python_m_trailkit_and_the_console_script_agree() -> None:
    out = subprocess.run(
        [sys.executable, "-m", "trailkit", "--version"], capture_output=True, text=True, check=True
    )
    assert out.stdout.startswith("trailkit ")
    script = Path(sys.executable).parent / "trailkit"
    assert script.exists()
    out2 = subprocess.run([str(script), "--version"], capture_output=True, text=True, check=True)
    assert out2.stdout == out.stdout


def test_readme_documents_every_check_code_with_its_aws_error() -> None:
    from trailkit.rules.checks import CATALOGUE

    readme = (ROOT / "README.md").read_text()
    for check in CATALOGUE.values():
        line = next((ln for ln in readme.splitlines() if ln.startswith(f"| `{check.code}` |")), "")
        assert line, f"{check.code} missing from the README's check catalogue"
        assert f"| {check.severity} |" in line
        if check.aws_error:
            assert check.aws_error in line


def _gen_catalogue() -> Any:
    sys.path.insert(0, str(ROOT / "tools"))
    try:
        import gen_catalogue
    finally:
        sys.path.remove(str(ROOT / "tools"))
    return gen_catalogue


def test_readme_catalogue_table_is_generated_from_the_catalogue() -> None:
    gen = _gen_catalogue()
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert readme.count(gen.START) == 1 and readme.count(gen.END) == 1
    assert gen.readme_table(readme) == gen.render_table(), "run python tools/gen_catalogue.py"
    assert gen.update_readme(readme) == readme
    assert gen.main(["--check"]) == 0


def test_catalogue_is_packaged_data_with_stable_kebab_case_codes() -> None:
    import json
    import re

    from trailkit.rules.checks import CATALOGUE, Severity, load_catalogue

    package_data = _pyproject()["tool"]["setuptools"]["package-data"]["trailkit"]  # type: ignore[index]
    assert "rules/catalogue.json" in package_data
    path = ROOT / "trailkit" / "rules" / "catalogue.json"
    entries = json.loads(path.read_text(encoding="utf-8"))["checks"]
    assert [e["code"] for e in entries] == list(CATALOGUE)
    for code, check in CATALOGUE.items():
        assert re.fullmatch(r"[a-z0-9]+(-[a-z0-9]+)*", code) and check.code == code
        assert isinstance(check.severity, Severity) and check.meaning and check.remedy
    assert load_catalogue(path.read_text(encoding="utf-8")) == CATALOGUE
    bad = {"checks": [{**entries[0], "code": "Not_Kebab"}]}
    with pytest.raises(ValueError):
        load_catalogue(json.dumps(bad))
    with pytest.raises(ValueError):
        load_catalogue(json.dumps({"checks": [entries[0], entries[0]]}))


def test_no_other_hand_copy_of_the_catalogue_in_docs() -> None:
    from trailkit.rules.checks import CATALOGUE

    for doc in sorted((ROOT / "docs").glob("*.md")):
        text = doc.read_text(encoding="utf-8")
        rows = [c for c in CATALOGUE if f"| `{c}` |" in text]
        assert not rows, f"{doc.name} copies catalogue rows {rows}: point to the README instead"


_FAKE_PYTHON = """#!/bin/sh
# Stands in for python3, the venv's python and its trailkit: logs its arguments, and for
# `-m venv DIR` makes DIR/bin/python and DIR/bin/trailkit (copies of itself).
echo "$*" >> "$FAKE_LOG"
if [ "$1" = "-m" ] && [ "$2" = "venv" ]; then
    mkdir -p "$3/bin" && cp "$0" "$3/bin/python" && cp "$0" "$3/bin/trailkit"
fi
"""


def test_make_lab_installs_the_lab_extras_only_and_make_test_adds_the_test_tools(
    tmp_path: Path,
) -> None:
    """The Makefile's install steps, run by make with a stand-in python that logs what it is
    asked to do (nothing is installed): `make lab` installs `.[demo,notebook]`, never the test
    tools; `make pytest` (what `make test` ends with) adds them; then `make lab` installs
    nothing again. Every install is pinned by constraints.txt."""
    make = shutil.which("make")
    if make is None:
        pytest.skip("no make")
    fake = tmp_path / "python3"
    fake.write_text(_FAKE_PYTHON)
    fake.chmod(0o755)
    log = tmp_path / "calls.log"
    venv = tmp_path / "venv"
    env = {**os.environ, "FAKE_LOG": str(log)}

    def make_(target: str) -> list[str]:
        log.write_text("")
        subprocess.run(
            [make, "--no-print-directory", target, f"PYTHON={fake}", f"VENV={venv}"],
            cwd=ROOT, env=env, check=True, capture_output=True, text=True, timeout=60,
        )  # fmt: skip
        return log.read_text().splitlines()

    pip = "-m pip --quiet --disable-pip-version-check install"
    assert make_("lab") == [
        f"-m venv {venv}",
        f"{pip} --upgrade pip",
        f"{pip} -c constraints.txt -e .[demo,notebook]",
        "tools/messages.py --compile",
        "lab --port 8888",
    ]
    assert make_("lab") == ["lab --port 8888"]  # installed once
    assert make_("pytest") == [
        f"{pip} -c constraints.txt -e .[demo,notebook,test]",
        "tools/messages.py --compile",
        "-m pytest",
    ]
    assert make_("lab") == ["lab --port 8888"]  # the test install includes the lab's
    assert make_("pytest") == ["-m pytest"]
    stamps = sorted(p.name.rsplit("-", 1)[0] for p in venv.glob(".installed-*"))
    assert stamps == [".installed-lab", ".installed-test"]


def test_constraints_pin_every_dependency_exactly() -> None:
    """constraints.txt pins (==) every package pyproject.toml depends on, in every extra, so a
    clean clone installs what the suite last passed with."""
    pinned = {}
    for line in (ROOT / "constraints.txt").read_text().splitlines():
        if line and not line.startswith("#"):
            name, _, version = line.partition("==")
            assert version, f"not an exact pin: {line!r}"
            pinned[_canonical(name)] = version
    project = _pyproject()["project"]
    assert isinstance(project, dict)
    wanted = list(project["dependencies"])
    for extra in project["optional-dependencies"].values():
        wanted += extra
    for requirement in wanted:
        name = re.split(r"[\[<>=!~; ]", requirement, maxsplit=1)[0]
        assert _canonical(name) in pinned, f"{name} is not pinned in constraints.txt"


def _canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()
