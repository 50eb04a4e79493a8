"""The runbook notebooks: committed thin and clean, and run end to end with papermill.

The kernels are separate processes: they reach this test session's moto server (conftest's
``demo`` fixtures) over HTTP through ``AWS_ENDPOINT_URL`` and the ``endpoint_url`` parameter.
Runs that change the estate use ``demo_rw`` so it is reseeded afterwards.
"""

from __future__ import annotations

import ast
import csv
import html
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import nbformat
import papermill
import pytest
from english import assert_japanese

from trailkit.aws.reader import Reader
from trailkit.aws.session import Connection
from trailkit.aws.writes import read_trail_key
from trailkit.change.journal import Journal
from trailkit.demo import DEMO_REGIONS, PLACEHOLDER_CREDENTIAL
from trailkit.runbook import check

REPO = Path(__file__).resolve().parent.parent
NOTEBOOKS = REPO / "notebooks"
GOOD = "alias/cloudtrail-good"

pytestmark = pytest.mark.slow


def _names() -> list[str]:
    sys.path.insert(0, str(REPO / "tools"))
    try:
        import make_notebooks
    finally:
        sys.path.pop(0)
    return sorted(make_notebooks.NOTEBOOKS)


# -- the committed notebooks --------------------------------------------------------------------


def test_notebooks_equal_what_the_generator_writes() -> None:
    proc = subprocess.run(
        [sys.executable, "tools/make_notebooks.py", "--check"],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert sorted(p.name for p in NOTEBOOKS.glob("*.ipynb")) == _names()


_LOOPS = (
    ast.FunctionDef,
    ast.AsyncFunctionDef,
    ast.ClassDef,
    ast.Lambda,
    ast.For,
    ast.AsyncFor,
    ast.While,
    ast.ListComp,
    ast.SetComp,
    ast.DictComp,
    ast.GeneratorExp,
)


@pytest.mark.parametrize("name", _names())
def test_notebook_is_thin_and_committed_without_outputs(name: str) -> None:
    nb = nbformat.read(NOTEBOOKS / name, as_version=4)
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert code[0].metadata.get("tags") == ["parameters"], "the first code cell is `parameters`"
    assert sum("parameters" in c.metadata.get("tags", []) for c in code) == 1
    for cell in code:
        assert cell.outputs == [] and cell.execution_count is None, cell.source
        assert "boto3" not in cell.source and "botocore" not in cell.source
        tree = ast.parse(cell.source)
        bad = [type(node).__name__ for node in ast.walk(tree) if isinstance(node, _LOOPS)]
        assert not bad, f"{bad} in {cell.source!r}"
        calls = [n for n in ast.walk(tree) if isinstance(n, ast.Call)]
        assert len(calls) <= 2, f"more than one package call: {cell.source!r}"
    params = {
        t.id
        for node in ast.parse(code[0].source).body
        if isinstance(node, ast.Assign)
        for t in node.targets
        if isinstance(t, ast.Name)
    }
    inferred = set(papermill.inspect_notebook(str(NOTEBOOKS / name)))
    assert inferred == params  # every parameter is visible to `papermill --help-notebook`


def test_guided_update_has_the_parameters_of_the_runbook() -> None:
    params = set(papermill.inspect_notebook(str(NOTEBOOKS / "02_guided_update.ipynb")))
    assert {
        "trail",
        "key",
        "apply",
        "rollback",
        "accept_unverifiable",
        "journal_path",
        "endpoint_url",
        "profile",
    } <= params


# -- running them ------------------------------------------------------------------------------


@pytest.fixture
def kernel_env(monkeypatch: pytest.MonkeyPatch, moto_endpoint: str, tmp_path: Path) -> str:
    """The environment papermill's kernels inherit: the demo endpoint and placeholder keys."""
    for name in ("AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_SESSION_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_ENDPOINT_URL", moto_endpoint)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", PLACEHOLDER_CREDENTIAL)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", PLACEHOLDER_CREDENTIAL)
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-aws-config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "no-aws-credentials"))
    monkeypatch.setenv("TRAILKIT_JOURNAL", str(tmp_path / "default-journal.jsonl"))
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    return moto_endpoint


def run(name: str, tmp_path: Path, endpoint: str, **params: Any) -> nbformat.NotebookNode:
    """Execute ``notebooks/name`` with papermill in ``tmp_path``; returns the output notebook."""
    out = tmp_path / f"out-{name}"
    papermill.execute_notebook(
        str(NOTEBOOKS / name),
        str(out),
        parameters={"endpoint_url": endpoint, **params},
        kernel_name="python3",
        cwd=str(tmp_path),
        progress_bar=False,
        log_output=False,
        execution_timeout=120,
    )
    return nbformat.read(out, as_version=4)


def cells_html(nb: nbformat.NotebookNode, source: str, *, exact: bool = False) -> list[str]:
    """The HTML outputs of each code cell whose source contains (or is) ``source``."""
    return [
        "".join(str(o.get("data", {}).get("text/html", "")) for o in c.get("outputs", []))
        for c in nb.cells
        if c.cell_type == "code" and (c.source == source if exact else source in c.source)
    ]


def cell_html(nb: nbformat.NotebookNode, source: str) -> str:
    """The HTML outputs of the first code cell whose source contains ``source``."""
    return cells_html(nb, source)[0]


def test_01_inventory_lists_the_organization_trail_once_as_sse_s3(
    demo: Any, kernel_env: str, tmp_path: Path
) -> None:
    nb = run(
        "01_encryption_inventory.ipynb",
        tmp_path,
        kernel_env,
        regions=list(DEMO_REGIONS),
        csv_path=str(tmp_path / "trails.csv"),
    )
    with (tmp_path / "trails.csv").open() as f:
        rows = list(csv.DictReader(f))
    org = [r for r in rows if r["name"] == "org-trail"]
    assert len(org) == 1 and org[0]["encryption"] == "SSE-S3"
    assert org[0]["organization"] == "True"
    app = next(r for r in rows if r["name"] == "app-trail")
    assert app["encryption"] == "SSE-KMS" and app["key_alias"] == "alias/cloudtrail-good-euw1"

    banner = cell_html(nb, "ConnectionBanner")
    assert "DEMO backend" in banner and "123456789012" in banner
    table = cell_html(nb, "TrailsTable")
    assert table.count(">org-trail<") == 1
    row = table[table.index(">org-trail<") :].split("</tr>")[0]
    assert ">SSE-S3<" in row
    chart = next(c for c in nb.cells if "encryption_chart(" in c.source)
    assert any("image/png" in o.get("data", {}) for o in chart.outputs)


def _journal(tmp_path: Path) -> Path:
    return tmp_path / "journal.jsonl"


def test_02_sends_an_unverifiable_plan_only_with_accept_unverifiable(
    demo_rw: Any, kernel_env: str, tmp_path: Path
) -> None:
    """partner-bucket-trail's bucket region is unknown: its plan is UNVERIFIABLE, and
    ``-p apply True`` alone sends nothing (the command line's exit 3 without
    --accept-unverifiable); ``-p accept_unverifiable True`` as well sends it."""
    _, estate = demo_rw
    journal = _journal(tmp_path)
    key = str(estate.keys["alias/cloudtrail-good"])
    params = {"trail": "partner-bucket-trail", "key": key, "journal_path": str(journal)}
    with pytest.raises(papermill.PapermillExecutionError) as caught:
        run("02_guided_update.ipynb", tmp_path, kernel_env, apply=True, **params)
    assert "UNVERIFIABLE" in str(caught.value) and "accept_unverifiable=True" in str(caught.value)
    assert not journal.exists() or Journal(journal).changes() == []
    run(
        "02_guided_update.ipynb", tmp_path, kernel_env, apply=True, accept_unverifiable=True,
        **params,
    )  # fmt: skip
    (change,) = Journal(journal).changes()
    assert change.status == "done" and change.intent.after == key


def test_02_applies_the_change_and_rolls_it_back(
    demo_rw: Any, kernel_env: str, tmp_path: Path
) -> None:
    _, estate = demo_rw
    journal = _journal(tmp_path)
    nb = run(
        "02_guided_update.ipynb",
        tmp_path,
        kernel_env,
        trail="org-trail",
        key=GOOD,
        apply=True,
        rollback=True,
        journal_path=str(journal),
        regions=list(DEMO_REGIONS),
    )
    changes = Journal(journal).changes()
    assert [c.status for c in changes] == ["done", "done"]
    first, second = changes
    assert first.intent.target_arn == estate.trails["org-trail"]
    assert first.intent.before is None and first.intent.after == estate.keys[GOOD]
    assert second.intent.rollback_of == first.change_id and second.intent.after is None
    conn = Connection(endpoint_url=kernel_env, region="us-east-1")
    assert read_trail_key(conn, estate.trails["org-trail"], "us-east-1") is None

    assert "READY" in cell_html(nb, "guided.choose(")
    applied = cell_html(nb, "guided.apply(")
    assert "read back and verified" in applied and first.change_id in applied
    assert estate.keys[GOOD] in cell_html(nb, "guided.verify(")  # verified before rollback
    rolled_back = cell_html(nb, "guided.rollback(")
    assert "Rollback" in rolled_back and "now uses SSE-S3" in rolled_back
    # the rollback's preview first (verdict with the SSE-S3 warning, the plan), then the result
    off, table = (
        rolled_back.index("ENCRYPTION OFF"),
        rolled_back.index('class="tk-table tk-plan-table"'),
    )
    assert off < table < rolled_back.index("now uses SSE-S3")


def test_02_proves_delivery_with_the_new_key_and_writes_the_change_as_code(
    demo_rw: Any, kernel_env: str, tmp_path: Path
) -> None:
    """Issue 17 on the demo: update, then the proof reads the log (and digest) objects the
    demo delivered after the change and answers proven with the new key; the proof is
    recorded against the change; the change as code names the same key in every format."""
    _, estate = demo_rw
    journal = _journal(tmp_path)
    key = estate.keys[GOOD]
    nb = run(
        "02_guided_update.ipynb",
        tmp_path,
        kernel_env,
        trail="org-trail",
        key=GOOD,
        apply=True,
        verify_wait="60s",
        journal_path=str(journal),
        regions=list(DEMO_REGIONS),
    )
    proof = cell_html(nb, "guided.prove_delivery(")
    assert "tk-proof-proven" in proof and "PROVEN" in proof
    assert "aws:kms" in proof and key in proof  # SSEKMSKeyId of the delivered objects
    # the log object's key under the trail's prefix (an organization trail's has the org id)
    assert re.search(r"AWSLogs/(o-[a-z0-9]+/)?123456789012/CloudTrail/us-east-1/", proof)
    (change,) = Journal(journal).changes()
    assert change.proof == "proven"  # Journal.record_verification (API plan, section 2)
    code = cell_html(nb, "guided.change_as_code(")
    for title in ("CloudFormation", "Terraform", "CDK (Python)"):
        assert title in code
    assert code.count(key) >= 3 and "tk-error" not in code


def test_02_refuses_a_wait_that_is_not_a_duration_before_sending(
    demo: Any, kernel_env: str, tmp_path: Path
) -> None:
    journal = _journal(tmp_path)
    with pytest.raises(papermill.PapermillExecutionError) as caught:
        run(
            "02_guided_update.ipynb",
            tmp_path,
            kernel_env,
            trail="org-trail",
            key=GOOD,
            apply=True,
            verify_wait="soon",
            journal_path=str(journal),
            regions=list(DEMO_REGIONS),
        )
    assert caught.value.ename == "InputError" and "verify_wait" in caught.value.evalue
    assert not journal.exists()


def test_02_then_05_rolls_the_change_back_from_the_journal(
    demo_rw: Any, kernel_env: str, tmp_path: Path
) -> None:
    _, estate = demo_rw
    journal = _journal(tmp_path)
    arn = estate.trails["tokyo-trail"]
    key = estate.keys["alias/cloudtrail-good-usw2"]
    run(
        "02_guided_update.ipynb",
        tmp_path,
        kernel_env,
        trail="tokyo-trail",
        key=key,
        apply=True,
        journal_path=str(journal),
        regions=list(DEMO_REGIONS),
    )
    conn = Connection(endpoint_url=kernel_env, region="us-east-1")
    assert read_trail_key(conn, arn, "ap-northeast-1") == key
    (change,) = Journal(journal).changes()

    nb = run(
        "05_change_journal.ipynb",
        tmp_path,
        kernel_env,
        journal_path=str(journal),
        rollback_change=change.change_id,
    )
    assert read_trail_key(conn, arn, "ap-northeast-1") is None
    changes = Journal(journal).changes()
    assert [c.intent.rollback_of for c in changes] == [None, change.change_id]
    rolled_back = cell_html(nb, "view.rollback(")
    assert f"Rollback of {change.change_id}" in rolled_back
    # the preview first: checklist, verdict (back to SSE-S3 is said), the plan; then the result
    assert "tk-headline" in rolled_back
    off, table = (
        rolled_back.index("ENCRYPTION OFF"),
        rolled_back.index('class="tk-table tk-plan-table"'),
    )
    assert off < table < rolled_back.index("now uses SSE-S3")
    table = cell_html(nb, "notebook.changes_table(")
    assert table.count(change.change_id) == 2  # its own row, and the rollback's rollback_of


def test_02_with_a_blocked_key_fails_and_sends_nothing(
    demo: Any, kernel_env: str, tmp_path: Path
) -> None:
    journal = _journal(tmp_path)
    with pytest.raises(papermill.PapermillExecutionError) as info:
        run(
            "02_guided_update.ipynb",
            tmp_path,
            kernel_env,
            trail="org-trail",
            key="alias/explicit-deny",
            apply=True,
            journal_path=str(journal),
            regions=list(DEMO_REGIONS),
        )
    assert info.value.ename == "RefusedError" and "policy-deny" in info.value.evalue
    assert not journal.exists()


def test_02_without_parameters_only_shows_the_view(
    demo: Any, kernel_env: str, tmp_path: Path
) -> None:
    nb = run("02_guided_update.ipynb", tmp_path, kernel_env, regions=list(DEMO_REGIONS))
    shown = [
        c.source.splitlines()[-1] for c in nb.cells if c.cell_type == "code" and c.get("outputs")
    ]
    # what the Voila app shows: the prose in the notebook's language, the view, nothing else
    assert shown == ['prose.show("guided-update.intro")', "guided"]
    (output,) = next(c for c in nb.cells if c.source == "guided").outputs
    assert "application/vnd.jupyter.widget-view+json" in output["data"]
    assert "DEMO backend" in output["data"]["text/html"]


def test_03_repairs_the_key_policy(demo_rw: Any, kernel_env: str, tmp_path: Path) -> None:
    journal = _journal(tmp_path)
    nb = run(
        "03_key_policy.ipynb",
        tmp_path,
        kernel_env,
        key="alias/no-cloudtrail",
        trails=["org-trail"],
        apply=True,
        journal_path=str(journal),
        reader_accounts="444455556666",
    )
    (change,) = Journal(journal).changes()
    assert change.intent.kind.value == "key-policy" and change.status == "done"
    conn = Connection(endpoint_url=kernel_env, region="us-east-1")
    assert check(Reader(conn), "org-trail", "alias/no-cloudtrail").ready
    (after,) = cells_html(nb, "notebook.check_trails(")
    assert "READY" in after
    assert "policy-readers" in after and "444455556666" in after  # the reader account checked
    (shown,) = cells_html(nb, "panel", exact=True)
    assert "TrailkitCloudTrailEncrypt" in shown and 'class="tk-add"' in shown
    # One voice: the panel's pre-flight is the one place the findings before the change are
    # listed (no second "Before" cell repeating them).
    visible = re.sub(r"<[^>]*>", " ", shown)  # the text shown, not the markup
    assert visible.count("policy-encrypt") == 1 and "BLOCKED" in visible
    assert "updated and read back" in cell_html(nb, "panel.apply(")


def test_03_without_apply_has_no_after_section(demo: Any, kernel_env: str, tmp_path: Path) -> None:
    nb = run(
        "03_key_policy.ipynb",
        tmp_path,
        kernel_env,
        key="alias/no-cloudtrail",
        trails=["org-trail"],
        journal_path=str(_journal(tmp_path)),
    )
    (after,) = cells_html(nb, "notebook.check_trails(")
    assert after == ""  # no change was made: nothing to repeat
    (shown,) = cells_html(nb, "panel", exact=True)
    assert "TrailkitCloudTrailEncrypt" in shown and "org-trail" in shown
    assert "tk-policy-after" not in shown


def test_04_bulk_update_applies_the_ready_plans(
    demo_rw: Any, kernel_env: str, tmp_path: Path
) -> None:
    _, estate = demo_rw
    journal = _journal(tmp_path)
    nb = run(
        "04_bulk_update.ipynb",
        tmp_path,
        kernel_env,
        trails=["org-trail", "stale-key-trail", "bucketkey-trail"],
        keys_by_region={"us-east-1": GOOD, "us-west-2": "alias/cloudtrail-good-usw2"},
        apply=True,
        journal_path=str(journal),
        regions=list(DEMO_REGIONS),
        reader_accounts=["444455556666"],  # a warning: planned, shown, rechecked alike, sent
    )
    conn = Connection(endpoint_url=kernel_env, region="us-east-1")
    for name in ("org-trail", "stale-key-trail"):
        assert read_trail_key(conn, estate.trails[name], "us-east-1") == estate.keys[GOOD]
    assert read_trail_key(conn, estate.trails["bucketkey-trail"], "us-west-2") is None
    assert sorted(c.intent.target_arn for c in Journal(journal).changes()) == sorted(
        [estate.trails["org-trail"], estate.trails["stale-key-trail"]]
    )
    plans = cell_html(nb, "bulk.choose(")
    assert "policy-bucket-key-decrypt" in plans and "tk-badge-blocked" in plans
    assert "policy-readers: Nobody in account 444455556666" in plans
    assert "2 of 3 trails changed, 1 blocked" in cell_html(nb, "bulk.apply(")
    # issue 17: the delivery proof of both changed trails, with the key read from the objects;
    # stale-key-trail is stopped (IsLogging false): pending at once, the fix is to start logging
    proofs = cell_html(nb, "notebook.prove_applied(")
    assert "1 of 2 changed trails proven" in proofs and proofs.count("tk-proof-proven") == 1
    assert proofs.count("tk-proof-pending") == 1 and "The trail is not logging" in proofs
    assert f"start-logging --name {estate.trails['stale-key-trail']}" in proofs
    assert estate.keys[GOOD] in proofs


def _prod_trail_and_new_key(endpoint: str) -> tuple[str, str, Connection, str, str]:
    """workload-prod's trail on the demo, reached through its role, and a new key there with
    CloudTrail's policy: (account, trail ARN, connection, its key before, the new key's ARN)."""
    import json

    from trailkit.demo.estate import cloudtrail_key_policy

    prod_id = "333344445555"
    arn = f"arn:aws:cloudtrail:us-east-1:{prod_id}:trail/prod-trail"
    role = f"arn:aws:iam::{prod_id}:role/OrganizationAccountAccessRole"
    prod = Connection(endpoint_url=endpoint, region="us-east-1").assumed(role)
    before = prod.client("cloudtrail").get_trail(Name=arn)["Trail"]["KmsKeyId"]
    policy = json.dumps(cloudtrail_key_policy(prod_id, region="us-east-1"))
    key = prod.client("kms").create_key(Policy=policy)["KeyMetadata"]["Arn"]
    return prod_id, arn, prod, before, key


def test_04_with_org_changes_a_member_trail_through_its_role_and_it_rolls_back(
    demo_rw: Any, kernel_env: str, tmp_path: Path
) -> None:
    """Issue 16: notebook 04 with ``-p org True`` offers every readable account's trails; the
    key is chosen per account and bucket region (``ACCOUNT/REGION``); workload-prod's trail is
    changed through its role next to the management account's org-trail, the plan and result
    tables say each trail's account, the journal records the role, and ``trailkit rollback``
    undoes the member's change through that role."""
    import io

    from trailkit.ui.cli import main

    _, estate = demo_rw
    prod_id, arn, prod, before, key = _prod_trail_and_new_key(kernel_env)
    role = f"arn:aws:iam::{prod_id}:role/OrganizationAccountAccessRole"
    journal = _journal(tmp_path)
    nb = run(
        "04_bulk_update.ipynb",
        tmp_path,
        kernel_env,
        org=True,
        trails=["org-trail", arn],
        # the management account's trail: the region's key; workload-prod's: its own key
        keys_by_region={"us-east-1": GOOD, f"{prod_id}/us-east-1": key},
        apply=True,
        journal_path=str(journal),
        regions=list(DEMO_REGIONS),
    )
    conn = Connection(endpoint_url=kernel_env, region="us-east-1")
    assert read_trail_key(conn, estate.trails["org-trail"], "us-east-1") == estate.keys[GOOD]
    assert prod.client("cloudtrail").get_trail(Name=arn)["Trail"]["KmsKeyId"] == key
    changes = {c.intent.target_arn: c for c in Journal(journal).changes()}
    assert sorted(changes) == sorted([estate.trails["org-trail"], arn])
    member = changes[arn]
    assert (member.intent.account, member.intent.role_arn) == (prod_id, role)
    assert changes[estate.trails["org-trail"]].intent.role_arn is None  # the caller's own
    assert "PARTIAL RESULT" in cell_html(nb, "ConnectionBanner")  # sandbox's role is refused
    plans = cell_html(nb, "bulk.choose(")
    assert ">account</th>" in plans and "workload-prod (333344445555)" in plans
    assert "through the role OrganizationAccountAccessRole" in plans
    assert "2 of 2 trails changed." in cell_html(nb, "bulk.apply(")

    out, err = io.StringIO(), io.StringIO()
    argv = ["--endpoint-url", kernel_env, "rollback", "--change", member.change_id, "--yes"]
    code = main([*argv, "--journal", str(journal)], out, err)
    assert code == 0, err.getvalue() + out.getvalue()
    assert prod.client("cloudtrail").get_trail(Name=arn)["Trail"]["KmsKeyId"] == before
    undo = [c for c in Journal(journal).changes() if c.intent.rollback_of == member.change_id]
    assert [(c.status, c.intent.role_arn) for c in undo] == [("done", role)]


def test_01_with_org_shows_every_account_of_the_organization(
    demo: Any, kernel_env: str, tmp_path: Path
) -> None:
    """Issue 16 item 6: ``-p org True`` reads every active account of the demo organization
    through its role; the account whose role cannot be assumed is a row that says why (and an
    error row), the others are complete, and the notebook runs to its export."""
    from trailkit.aws.accounts import list_accounts

    conn = Connection(endpoint_url=kernel_env, region="us-east-1")
    active = [a for a in list_accounts(conn) if a.status == "ACTIVE"]
    assert len(active) >= 4  # the management account, log-archive and three members at least
    nb = run(
        "01_encryption_inventory.ipynb",
        tmp_path,
        kernel_env,
        org=True,
        regions=list(DEMO_REGIONS),
        csv_path=str(tmp_path / "trails.csv"),
    )
    summary = cell_html(nb, "AccountSummary(")
    shown = re.findall(r'data-account="(\d{12})" data-state="(\w+)"', summary)
    assert sorted(a for a, _ in shown) == sorted(a.account_id for a in active)
    unread = [a for a, state in shown if state == "unreadable"]
    assert len(unread) == 1, shown  # the member created without OrganizationAccountAccessRole
    row = summary[summary.index(f'data-account="{unread[0]}"') :].split("</tr>")[0]
    assert "AssumeRole" in row or "AccessDenied" in row
    assert "could not be read" in summary
    names = {a.name for a in active if a.name}
    assert all(name in summary for name in names)
    # the trails of every readable account, each trail once, with its account
    with (tmp_path / "trails.csv").open() as f:
        every = list(csv.DictReader(f))
    rows = [r for r in every if r["trail_arn"]]  # without the error rows
    arns = [r["trail_arn"] for r in rows]
    assert len(arns) == len(set(arns))
    assert any(r["account"] == unread[0] and r["error"] for r in every)  # its error row
    owners = {r["account"] for r in rows}
    assert owners <= {a for a, state in shown if state != "unreadable"}
    assert len(owners) >= 3  # the management account's, log-archive's, the members' own
    assert sum(r["name"] == "org-trail" for r in rows) == 1
    assert "PARTIAL RESULT" in cell_html(nb, "ConnectionBanner")
    assert unread[0] in cell_html(nb, "errors_frame(")
    explorer = cells_html(nb, "trail_explorer(")
    assert explorer and all(
        c.execution_count is not None for c in nb.cells if c.cell_type == "code"
    )


def test_01_with_org_in_japanese_says_each_account_in_japanese(
    demo: Any, kernel_env: str, tmp_path: Path
) -> None:
    """The account summary of ``-p org True -p lang ja``: Japanese but for names, ids, codes
    and ARNs (the unread account's reason included: translated where it was read)."""
    from trailkit.aws.accounts import list_accounts

    _, estate = demo
    conn = Connection(endpoint_url=kernel_env, region="us-east-1")
    accounts = [a.name for a in list_accounts(conn) if a.name]
    nb = run(
        "01_encryption_inventory.ipynb",
        tmp_path,
        kernel_env,
        org=True,
        lang="ja",
        regions=list(DEMO_REGIONS),
        csv_path=str(tmp_path / "trails.csv"),
    )
    page = cell_html(nb, "AccountSummary(")
    page = re.sub(r"<style>.*?</style>", " ", page, flags=re.S)
    page = re.sub(r"<code[^>]*>(.*?)</code>", r"`\1`", page, flags=re.S)
    text = re.sub(r"<(?:br|/div|/li|/tr|/p)[^>]*>", "\n", page)
    text = html.unescape(re.sub(r"<[^>]+>", " ", text))
    assert "読み取れていません" in text
    names = [*accounts, *estate.trails, *estate.keys, *DEMO_REGIONS]
    assert_japanese(text, names, what="notebook 01's account summary")


def test_02_changes_a_member_accounts_trail_through_its_role_and_rolls_it_back(
    demo_rw: Any, kernel_env: str, tmp_path: Path
) -> None:
    """Issue 16: notebook 02 given a member trail's ARN (workload-prod's) and a key of that
    account applies the change through the role (the notebook's ``role_name``, here the
    default given explicitly) and rolls it back the same way."""

    prod_id, arn, prod, before, key = _prod_trail_and_new_key(kernel_env)
    role = f"arn:aws:iam::{prod_id}:role/OrganizationAccountAccessRole"
    journal = _journal(tmp_path)
    nb = run(
        "02_guided_update.ipynb",
        tmp_path,
        kernel_env,
        trail=arn,
        key=key,
        apply=True,
        rollback=True,
        journal_path=str(journal),
        role_name="OrganizationAccountAccessRole",
        regions=list(DEMO_REGIONS),
    )
    first, second = Journal(journal).changes()
    assert first.status == second.status == "done"
    assert first.intent.target_arn == arn and first.intent.after == key
    assert first.intent.role_arn == second.intent.role_arn == role  # through the role
    assert second.intent.rollback_of == first.change_id and second.intent.after == before
    assert prod.client("cloudtrail").get_trail(Name=arn)["Trail"]["KmsKeyId"] == before
    assert "read back and verified" in cell_html(nb, "guided.apply(")
