"""``bench/inventory.py --smoke``: the benchmark runs and reports consistent counts (how fast it
is, is not checked here)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parent.parent
TRAILKIT_ROWS = ("trailkit", "cold", "on-demand", "no-latency", "no-rotation")


@pytest.fixture(scope="module")
def smoke(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict[str, Any], str]:
    out = tmp_path_factory.mktemp("bench") / "inventory.json"
    done = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "inventory.py"), "--smoke", "--json", str(out)],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=ROOT,
    )
    assert done.returncode == 0, done.stderr
    return json.loads(out.read_text()), done.stdout


@pytest.mark.slow
def test_the_smoke_run_prints_the_table(smoke: tuple[dict[str, Any], str]) -> None:
    report, stdout = smoke
    assert "wall s" in stdout and "API calls" in stdout and "sequential baseline" in stdout
    assert "lower bound: 5 dependent calls" in stdout
    assert [r["key"] for r in report["rows"]] == [*TRAILKIT_ROWS, "baseline", "lower-bound"]
    assert all(row["wall_s"] > 0 for row in report["rows"])


@pytest.mark.slow
def test_trailkit_counts_add_up_and_are_the_fewest_for_the_estate(
    smoke: tuple[dict[str, Any], str],
) -> None:
    report, _ = smoke
    rows = {r["key"]: r for r in report["rows"]}
    expected = report["expected_calls"]
    for key in TRAILKIT_ROWS:
        row = rows[key]
        assert row["api_calls"] == sum(row["calls_by_operation"].values())
        assert row["answers_agree"], key  # every repetition read the same thing
    assert rows["trailkit"]["calls_by_operation"] == expected["trailkit"]
    assert rows["no-latency"]["calls_by_operation"] == expected["trailkit"]
    assert rows["on-demand"]["calls_by_operation"] == expected["trailkit"]
    assert rows["cold"]["calls_by_operation"] == expected["trailkit_cold"]
    # the same run before the key facts: only GetKeyRotationStatus less
    assert rows["no-rotation"]["calls_by_operation"] == expected["trailkit_no_rotation"]
    # Prefetched, on demand, cold or warm: the same inventory and the same verdicts.
    assert len({rows[k]["answer"] for k in TRAILKIT_ROWS}) == 1
    estate = report["estate"]
    summary = rows["trailkit"]["summary"]
    assert summary["trails"] == estate["trails"] and summary["errors"] == 0
    assert summary["verdicts"] == estate["trails"] * estate["keys_per_region"]


@pytest.mark.slow
def test_the_baseline_makes_the_calls_of_its_formula(smoke: tuple[dict[str, Any], str]) -> None:
    report, _ = smoke
    estate = report["estate"]
    baseline = next(r for r in report["rows"] if r["key"] == "baseline")
    regions = len(estate["regions"])
    keys = estate["customer_keys"] + estate["aws_managed_keys"]
    assert baseline["api_calls"] == 2 * regions + estate["trails"] + 3 * keys
    assert baseline["calls_by_operation"] == report["expected_calls"]["baseline"]
    assert baseline["api_calls"] == sum(baseline["calls_by_operation"].values())
    assert baseline["summary"] == {"trails": estate["trails"], "keys": keys}


@pytest.mark.slow
def test_the_lower_bound_and_the_pure_layer_are_reported(
    smoke: tuple[dict[str, Any], str],
) -> None:
    report, _ = smoke
    bound = report["lower_bound"]
    assert len(bound["chain"]) == 5
    assert bound["wall_s"] == pytest.approx(5 * report["config"]["latency_ms"] / 1000)
    pure = report["pure"]
    assert pure["preflight_verdicts"] == 100
    assert pure["table_trails"] == 50 and pure["dropdown_labels"] == 200
    assert {t["target"] for t in report["targets"]} >= {
        "at least 20x faster than the sequential baseline",
        "within 3x of the lower bound",
    }


# -- bench/org.py (issue 16): an organization scan ---------------------------------------------

SCANNER = "trailkit.aws.org.scan_accounts"


@pytest.fixture(scope="module")
def org_smoke(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict[str, Any], str]:
    out = tmp_path_factory.mktemp("bench") / "org.json"
    done = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "org.py"), "--smoke", "--json", str(out)],
        capture_output=True,
        text=True,
        timeout=180,
        cwd=ROOT,
    )
    assert done.returncode == 0, done.stderr
    return json.loads(out.read_text()), done.stdout


@pytest.mark.slow
def test_the_org_smoke_run_measures_scan_accounts_and_prints_the_goals(
    org_smoke: tuple[dict[str, Any], str],
) -> None:
    report, stdout = org_smoke
    assert [r["accounts"] for r in report["runs"]] == [2, 3]
    assert report["baseline"]["accounts"] == 2 and report["baseline"]["workers"] == 1
    for run in [*report["runs"], report["baseline"]]:
        assert run["scanner"] == SCANNER  # not the harness's stand-in
        assert run["wall_s"] > 0 and run["client_cpu_s"] > 0 and run["peak_rss_mib"] > 0
        assert run["clients"] == sum(run["clients_by_service"].values()) > 0
        assert run["lower_bound_s"] == pytest.approx(
            len(run["chain"]) * report["config"]["latency_ms"] / 1000
        )
    assert "sequential (workers=1), N = 2" in stdout and "lower bound:" in stdout
    assert [g["goal"] for g in report["goals"]] == [
        "N = 50 in at most 15 s",
        "at least 50x faster than the sequential baseline",
        "at least 50x faster than a straightforward script",
        "wall time growing no faster than linearly in N",
        "peak RSS at most 1024 MiB at N = 100",
        "projection for 1,000 accounts (from the slope)",
    ]
    assert report["projection"]["wall_s"] is not None


@pytest.mark.slow
def test_the_org_scan_reads_every_account_once_with_its_calls_counted(
    org_smoke: tuple[dict[str, Any], str],
) -> None:
    report, _ = org_smoke
    estate = report["estate"]
    assert estate["trails"] == 2 * len(estate["accounts"]) + 1
    for run in [*report["runs"], report["baseline"]]:
        n, summary, calls = run["accounts"], run["summary"], run["calls_by_operation"]
        assert run["api_calls"] == sum(calls.values())
        # two trails of its own in each account, the organization trail once
        assert summary["trails"] == 2 * n + 1 and summary["accounts_with_trails"] == n
        assert summary["organization_trails"] == 1 and summary["errors"] == 0
        # its status read in every member account (not the management account)
        assert list(summary["member_status"].values()) == [n - 1]
        assert calls["organizations:ListAccounts"] == 1
        assert calls["sts:AssumeRole"] == n - 1  # once per member; the caller's own directly
    # One call at a time or 32 at a time: the same answer from the same calls.
    same = next(r for r in report["runs"] if r["accounts"] == report["baseline"]["accounts"])
    assert report["answers_agree"] is True
    assert same["calls_by_operation"] == report["baseline"]["calls_by_operation"]


@pytest.mark.slow
def test_the_org_script_baseline_reads_every_key_of_every_region_of_each_account(
    org_smoke: tuple[dict[str, Any], str],
) -> None:
    report, stdout = org_smoke
    estate, script = report["estate"], report["script"]
    n, regions = script["accounts"], len(estate["regions"])
    keys = n * regions * estate["keys_per_region"]
    assert script["summary"]["keys"] == keys
    calls = script["calls_by_operation"]
    assert calls["cloudtrail:DescribeTrails"] == calls["kms:ListKeys"] == n * regions
    assert calls["kms:DescribeKey"] == calls["kms:ListAliases"] == calls["kms:GetKeyPolicy"] == keys
    assert calls["sts:AssumeRole"] == n - 1
    assert script["api_calls"] == sum(calls.values())
    assert "a straightforward script, one call at a time" in stdout
