"""Defects of the break-it pass of issue 16 fixed on main: a command about one trail never
advises an option it does not have."""

from __future__ import annotations

import io
from typing import Any

import pytest

from trailkit.ui.cli import main

SANDBOX_TRAIL = "arn:aws:cloudtrail:us-west-2:666677778888:trail/sandbox-trail"


@pytest.mark.parametrize(
    "argv",
    [
        ["explain", "--trail", SANDBOX_TRAIL, "--no-history"],
        ["keys", "--trail", SANDBOX_TRAIL],
        ["disable", "--trail", SANDBOX_TRAIL, "--dry-run"],
    ],
)
def test_a_refused_role_on_one_trail_does_not_advise_exclude_accounts(
    demo: tuple[str, Any], tmp_path: Any, argv: list[str]
) -> None:
    """sandbox's OrganizationAccountAccessRole does not exist: the refusal names the account and
    the role, and advises --role-name, never --exclude-accounts (these commands lack it)."""
    out, err = io.StringIO(), io.StringIO()
    journal = ["--journal", str(tmp_path / "j.jsonl")] if argv[0] == "disable" else []
    code = main(["--endpoint-url", demo[0], *argv, *journal], out=out, err=err)
    text = out.getvalue() + err.getvalue()
    assert code == 2, text
    assert "666677778888" in text and "OrganizationAccountAccessRole" in text
    assert "--role-name" in text
    assert "--exclude-accounts" not in text
    assert "Traceback" not in text
