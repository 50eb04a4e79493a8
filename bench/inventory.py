"""Benchmark of trailkit's read layer against a straightforward script, on a local AWS with
latency (not a test: it measures, and prints what it measured).

    .venv/bin/python bench/inventory.py                # the default estate, ~5 minutes
    .venv/bin/python bench/inventory.py --smoke        # tiny sizes, a few seconds
    .venv/bin/python bench/inventory.py --baseline-repeat 0   # skip the slow baseline

It starts ``bench/latency_server.py`` (moto, every request delayed by ``--latency-ms``) in a
process of its own, seeds a synthetic estate there (see ``bench/estate.py``), and measures, in one
run, medians of ``--repeat`` repetitions:

* trailkit: ``Reader.scan(regions, candidates=True)`` then ``runbook.candidates(reader, trail)``
  for every trail: the inventory plus the ranked candidate keys of every trail (the candidate keys
  of each bucket region are read once and cached);
* the same with a new ``Connection`` per repetition (what one CLI invocation pays for creating
  boto3 clients), the same without the prefetch (candidates read on demand, trail by trail), and
  the same with no latency at all (the CPU cost of the calls: client and server), and the same
  as before issue 15's key facts (no ``GetKeyRotationStatus``: the "before" figures, in the
  same run);
* the sequential baseline: what a straightforward script does, one call at a time: for every
  region, ``DescribeTrails``, ``GetTrailStatus`` per trail, ``ListKeys``, then ``DescribeKey``,
  ``ListAliases`` and ``GetKeyPolicy`` for every key;
* the lower bound: the longest chain of calls that depend on each other, times the latency.

And the change history (issue 15; fetched only when asked for, never by the inventory):
``Reader.history`` of every trail of the estate (30 days, several trails at a time), its
``LookupEvents`` calls and wall time next to the inventory's, with one reader (each Region's
lookups made once) and with a new reader per trail (no cache), both paced to the two lookups a
second per Region that AWS accepts. (The latency server seeds through moto's backends, so the
history it answers is empty: one page per lookup, what the calls and the pacing cost.)

And the pure layer (no AWS, CPU time): pre-flight verdicts for 1,000 trail/key pairs
(``rank_candidates``, which runs ``preflight`` for each pair), and the trails table and key
dropdown of a large estate (``tables.trails_frame`` for 500 trails, ``Verdict.label`` for 2,000
verdicts).

Prints a table and writes the same as JSON (``--json``, default ``bench/results/inventory.json``).
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import inspect
import json
import os
import platform
import statistics
import subprocess
import sys
import time
import urllib.request
from collections import Counter
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from types import MappingProxyType
from typing import Any

import botocore.exceptions
from estate import ACCOUNT, REGIONS, key_records, trail_records

from trailkit.aws import history as aws_history
from trailkit.aws.reader import Reader
from trailkit.aws.session import Connection, ConnectionInfo
from trailkit.demo import demo_connection
from trailkit.records import Inventory
from trailkit.rules.checks import Verdict, rank_candidates
from trailkit.rules.health import inventory_health
from trailkit.rules.history import DEFAULT_SINCE, KEY_EVENTS, TRAIL_EVENTS
from trailkit.runbook import candidates
from trailkit.ui.tables import trails_frame

HERE = Path(__file__).resolve().parent
DEFAULT_JSON = HERE / "results" / "inventory.json"
#: The longest chain of calls that depend on each other in "inventory + candidate verdicts".
CHAIN = (
    "cloudtrail:DescribeTrails",  # the trail names its bucket
    "s3:HeadBucket",  # the bucket's region is where candidate keys live
    "kms:ListKeys",  # the keys of that region
    "kms:DescribeKey",  # state, spec, manager: the cheap filters
    "kms:GetKeyPolicy",  # only for keys that pass them
)
#: "Instant" for an interactive table or dropdown.
INSTANT_S = 0.1
_LOCAL = urllib.request.build_opener(urllib.request.ProxyHandler({}))


# -- the server --------------------------------------------------------------------------------


class LatencyServer:
    """``bench/latency_server.py`` in a child process."""

    def __init__(self, spec: dict[str, int]) -> None:
        env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
        self.proc = subprocess.Popen(
            [sys.executable, str(HERE / "latency_server.py"), json.dumps(spec)],
            stdout=subprocess.PIPE,
            text=True,
            env=env,
        )
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline()
        if not line:
            self.proc.wait(timeout=10)
            raise SystemExit(f"the latency server did not start (exit {self.proc.returncode})")
        ready = json.loads(line)
        self.endpoint = f"http://127.0.0.1:{ready['port']}"
        self.estate: dict[str, Any] = ready["estate"]

    def _get(self, path: str, method: str = "GET") -> dict[str, Any]:
        request = urllib.request.Request(self.endpoint + path, method=method)
        with _LOCAL.open(request, timeout=10) as response:
            return dict(json.loads(response.read()))

    def set_latency(self, ms: float) -> None:
        self._get(f"/_bench/latency?ms={ms}", method="POST")

    def stats(self) -> dict[str, Any]:
        return self._get("/_bench/stats")

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


# -- measured runs -----------------------------------------------------------------------------


@dataclass
class Run:
    wall_s: float
    cpu_s: float
    calls: dict[str, int]
    server_cpu_s: float
    answer: str  # digest of what was read, to check that variants agree
    summary: dict[str, int] = field(default_factory=dict)
    health_cpu_s: float = 0.0  # the inventory's health, judged on what the scan read

    @property
    def total_calls(self) -> int:
        return sum(self.calls.values())


def _digest(value: Any) -> str:
    return hashlib.sha256(json.dumps(value, sort_keys=True, default=str).encode()).hexdigest()[:16]


def _connection(endpoint: str, workers: int) -> Connection:
    return demo_connection(endpoint, region="us-east-1", workers=workers)


class _NoRotationReader(Reader):
    """The reader as it was before the key facts: keys in use without their rotation status
    (the "before" figures of the same run)."""

    def _with_rotation(self, key: Any) -> Any:
        return key


def trailkit_run(
    server: LatencyServer,
    regions: Sequence[str],
    workers: int,
    *,
    conn: Connection | None = None,
    prefetch: bool = True,
    rotation: bool = True,
) -> Run:
    """Inventory + ranked candidate keys of every trail; ``conn=None``: a new connection;
    ``rotation=False``: as before issue 15's key facts (no ``GetKeyRotationStatus``)."""
    before = server.stats()
    started, cpu = time.perf_counter(), time.process_time()
    if conn is None:
        conn = _connection(server.endpoint, workers)
    else:
        conn.reset_counts()
    reader = (Reader if rotation else _NoRotationReader)(conn, workers=workers)
    inv = reader.scan(regions, candidates=prefetch)
    # The inventory's health (issue 15): pure, on what the scan read; no API call of its own.
    judged = time.process_time()
    healths = inventory_health(inv)
    health_cpu = time.process_time() - judged
    ranked: dict[str, list[tuple[str, str, str | None]]] = {}
    for trail in inv.trails:
        if trail.bucket_region is None:
            continue
        _, verdicts = candidates(reader, trail)
        ranked[trail.arn] = [(v.key.arn, v.kind.value, v.code) for v in verdicts]
    wall, cpu = time.perf_counter() - started, time.process_time() - cpu
    after = server.stats()
    kinds = Counter(kind for rows in ranked.values() for _, kind, _ in rows)
    answer = {
        "trails": [(t.arn, t.kms_key_id, t.bucket_region, t.seen_in) for t in inv.trails],
        "keys": sorted(inv.keys),
        "verdicts": ranked,
        "errors": [e.as_dict() for e in inv.errors],
        "health": {arn: (str(h.kind), h.codes) for arn, h in sorted(healths.items())},
    }
    health_kinds = Counter(str(h.kind) for h in healths.values())
    return Run(
        wall_s=wall,
        cpu_s=cpu,
        calls=dict(sorted(conn.calls.items())),
        server_cpu_s=after["cpu_s"] - before["cpu_s"],
        answer=_digest(answer),
        summary={
            "trails": len(inv.trails),
            "keys_in_use": len(inv.keys),
            "errors": len(inv.errors),
            "verdicts": sum(kinds.values()),
            **{f"verdicts_{k}": n for k, n in sorted(kinds.items())},
            **{f"health_{k}": n for k, n in sorted(health_kinds.items())},
        },
        health_cpu_s=health_cpu,
    )


def history_run(
    server: LatencyServer, regions: Sequence[str], workers: int, *, shared: bool = True
) -> dict[str, Any]:
    """``Reader.history`` of every trail (the last 30 days), ``workers`` trails at a time, on a
    new connection (so a fresh pacer); ``shared``: one reader for all (each Region's lookups made
    once), else a new reader per trail. The scan that finds the trails is not timed."""
    conn = _connection(server.endpoint, workers)
    reader = Reader(conn, workers=workers)
    inv = reader.scan(regions)
    conn.reset_counts()
    # The latency server is on loopback, which trailkit treats as the demo and does not pace:
    # measure what AWS costs, with AWS's pacing.
    pacer = aws_history.Pacer()
    aws_history.pacer_for = lambda _conn: pacer  # type: ignore[assignment]
    since = datetime.now(UTC) - DEFAULT_SINCE
    trail_regions = {t.home_region for t in inv.trails}
    key_regions = {inv.keys[t.kms_key_id].region for t in inv.trails if t.kms_key_id in inv.keys}

    def one(trail: Any) -> Any:
        mine = reader if shared else Reader(conn, workers=workers)
        return mine.history(trail, inv.keys.get(trail.kms_key_id or ""), since=since)

    before = server.stats()
    started, cpu = time.perf_counter(), time.process_time()
    with ThreadPoolExecutor(max_workers=workers) as pool:
        histories = list(pool.map(one, inv.trails))
    wall, cpu = time.perf_counter() - started, time.process_time() - cpu
    after = server.stats()
    return {
        "wall_s": wall,
        "client_cpu_s": cpu,
        "server_cpu_s": after["cpu_s"] - before["cpu_s"],
        "trails": len(inv.trails),
        "api_calls": conn.total_calls,
        "calls_by_operation": dict(sorted(conn.calls.items())),
        "expected_lookups": len(TRAIL_EVENTS) * len(trail_regions)
        + len(KEY_EVENTS) * len(key_regions),
        "trail_regions": len(trail_regions),
        "key_regions": len(key_regions),
        "events": sum(len(h.events) for h in histories),
        "errors": sum(len(h.errors) for h in histories),
    }


def script_region(conn: Connection, region: str) -> tuple[int, int]:
    """What a straightforward script reads in one region, one call at a time: every trail and
    its status, every key described with its aliases and policy. Returns (trails, keys)."""
    trails = keys = 0
    cloudtrail = conn.client("cloudtrail", region)
    for trail in cloudtrail.describe_trails(includeShadowTrails=False)["trailList"]:
        cloudtrail.get_trail_status(Name=trail["TrailARN"])
        trails += 1
    kms = conn.client("kms", region)
    for page in kms.get_paginator("list_keys").paginate():
        for item in page["Keys"]:
            kms.describe_key(KeyId=item["KeyArn"])
            kms.list_aliases(KeyId=item["KeyId"])
            with contextlib.suppress(botocore.exceptions.ClientError):
                kms.get_key_policy(KeyId=item["KeyArn"], PolicyName="default")
            keys += 1
    return trails, keys


def baseline_run(server: LatencyServer, regions: Sequence[str], conn: Connection) -> Run:
    """A straightforward script: every region in turn, one call at a time."""
    before = server.stats()
    conn.reset_counts()
    started, cpu = time.perf_counter(), time.process_time()
    trails = keys = 0
    for region in regions:
        found = script_region(conn, region)
        trails, keys = trails + found[0], keys + found[1]
    wall, cpu = time.perf_counter() - started, time.process_time() - cpu
    after = server.stats()
    return Run(
        wall_s=wall,
        cpu_s=cpu,
        calls=dict(sorted(conn.calls.items())),
        server_cpu_s=after["cpu_s"] - before["cpu_s"],
        answer=_digest([trails, keys]),
        summary={"trails": trails, "keys": keys},
    )


def baseline_formula(estate: dict[str, Any]) -> dict[str, int]:
    """The baseline's calls: 2 per region, 1 per trail, 3 per key (AWS managed keys included)."""
    regions = len(estate["regions"])
    keys = estate["customer_keys"] + estate["aws_managed_keys"]
    return {
        "cloudtrail:DescribeTrails": regions,
        "cloudtrail:GetTrailStatus": estate["trails"],
        "kms:DescribeKey": keys,
        "kms:GetKeyPolicy": keys,
        "kms:ListAliases": keys,
        "kms:ListKeys": regions,
    }


def trailkit_formula(
    estate: dict[str, Any], *, cold: bool, rotation: bool = True
) -> dict[str, int]:
    """The fewest calls for the answer: each region's trails once, each trail's status once, each
    bucket once (3 calls: HeadBucket names the region, so no GetBucketLocation), ListBuckets once
    (who owns the buckets), and in each bucket region: ListKeys, ListAliases, DescribeKey per
    customer key (AWS managed keys are recognised by their alias) and GetKeyPolicy per key that
    passes the cheap filters. Keys the trails use are among those (a good key of the bucket's
    region), so they cost nothing more."""
    bucket_regions = estate["bucket_regions"]
    calls = {
        "cloudtrail:DescribeTrails": len(estate["regions"]),
        "cloudtrail:GetTrailStatus": estate["trails"],
        "kms:DescribeKey": estate["keys_per_region"] * len(bucket_regions),
        "kms:GetKeyPolicy": sum(estate["usable_keys"][r] for r in bucket_regions),
        "kms:ListAliases": len(bucket_regions),
        "kms:ListKeys": len(bucket_regions),
        "s3:GetBucketEncryption": estate["buckets"],
        "s3:GetBucketPolicy": estate["buckets"],
        "s3:HeadBucket": estate["buckets"],
        "s3:ListBuckets": 1,
    }
    if rotation and estate.get("rotation_keys"):
        # issue 15's key facts: GetKeyRotationStatus once per customer key a trail uses (not
        # pending deletion)
        calls["kms:GetKeyRotationStatus"] = estate["rotation_keys"]
    if estate.get("list_tags_calls"):
        # issue 17's ownership: ListTags once per home region and 20 trails
        calls["cloudtrail:ListTags"] = estate["list_tags_calls"]
    if estate.get("tagged_keys"):
        # ... and ListResourceTags once per key a trail uses
        calls["kms:ListResourceTags"] = estate["tagged_keys"]
    if cold:
        calls["sts:GetCallerIdentity"] = 1
    return dict(sorted(calls.items()))


# -- the pure layer ----------------------------------------------------------------------------


def _cpu(func: Callable[[], Any], repeat: int) -> tuple[float, Any]:
    times, result = [], None
    for _ in range(repeat):
        started = time.process_time()
        result = func()
        times.append(time.process_time() - started)
    return statistics.median(times), result


def pure_benchmarks(repeat: int, *, pairs: int, trails: int, keys: int) -> dict[str, Any]:
    region = REGIONS[0]
    per_trail = 100 if pairs >= 100 else pairs
    verdict_keys = key_records(region, per_trail)
    verdict_trails = trail_records(max(1, pairs // per_trail), REGIONS, verdict_keys)

    def verdicts() -> int:
        return sum(len(rank_candidates(t, verdict_keys, ACCOUNT)) for t in verdict_trails)

    preflight_s, counted = _cpu(verdicts, repeat)

    many_keys = key_records(region, keys)
    table_trails = trail_records(trails, REGIONS, many_keys)
    inv = Inventory(
        connection=ConnectionInfo(
            account=ACCOUNT, caller_arn="bench", endpoint="bench", region=region, demo=True
        ),
        regions=REGIONS,
        trails=tuple(table_trails),
        keys=MappingProxyType({k.arn: k for k in many_keys}),
    )
    table_s, frame = _cpu(lambda: trails_frame(inv), repeat)
    health_s, judged = _cpu(lambda: inventory_health(inv), repeat)
    ranked: list[Verdict] = rank_candidates(table_trails[0], many_keys, ACCOUNT)
    labels_s, labels = _cpu(lambda: [v.label for v in ranked], repeat)
    return {
        "preflight_verdicts": counted,
        "preflight_cpu_s": preflight_s,
        "preflight_per_verdict_ms": preflight_s / max(1, counted) * 1000,
        "table_trails": len(frame),
        "table_cpu_s": table_s,
        "dropdown_labels": len(labels),
        "dropdown_cpu_s": labels_s,
        "health_trails": len(judged),
        "health_cpu_s": health_s,
    }


# -- the report --------------------------------------------------------------------------------


def _median(runs: list[Run]) -> float:
    return statistics.median(r.wall_s for r in runs)


def _row(name: str, runs: list[Run], baseline_s: float | None, bound_s: float) -> dict[str, Any]:
    wall = _median(runs)
    return {
        "scenario": name,
        "wall_s": wall,
        "wall_s_all": [round(r.wall_s, 4) for r in runs],
        "client_cpu_s": statistics.median(r.cpu_s for r in runs),
        "health_cpu_s": statistics.median(r.health_cpu_s for r in runs),
        "server_cpu_s": statistics.median(r.server_cpu_s for r in runs),
        "api_calls": runs[0].total_calls,
        "calls_by_operation": runs[0].calls,
        "speedup_vs_baseline": (baseline_s / wall) if baseline_s else None,
        "ratio_to_lower_bound": wall / bound_s if bound_s else None,
        "answer": runs[0].answer,
        "answers_agree": len({r.answer for r in runs}) == 1,
        "summary": runs[0].summary,
    }


def _fmt(value: float | None, spec: str, suffix: str = "") -> str:
    return "-" if value is None else f"{value:{spec}}{suffix}"


def print_report(report: dict[str, Any]) -> None:
    cfg, est = report["config"], report["estate"]
    keys = est["customer_keys"] + est["aws_managed_keys"]
    print(
        f"\ntrailkit read-layer benchmark · {len(est['regions'])} regions · {est['trails']} trails "
        f"({est['buckets']} buckets in {len(est['bucket_regions'])} regions) · {keys} KMS keys "
        f"· latency {cfg['latency_ms']:g} ms · workers {cfg['workers']} · "
        f"median of {cfg['repeat']} (baseline: {cfg['baseline_repeat']})"
    )
    header = f"{'scenario':<52} {'wall s':>8} {'API calls':>10} {'speedup':>12} {'vs bound':>9}"
    print(header)
    print("-" * len(header))
    for row in report["rows"]:
        print(
            f"{row['scenario']:<52} {row['wall_s']:>8.3f} {_fmt(row['api_calls'], 'd'):>10} "
            f"{_fmt(row['speedup_vs_baseline'], '.1f', 'x faster'):>12} "
            f"{_fmt(row['ratio_to_lower_bound'], '.1f', 'x'):>9}"
        )
    pure = report["pure"]
    print(
        f"\npure layer (CPU): {pure['preflight_verdicts']} pre-flight verdicts "
        f"{pure['preflight_cpu_s']:.3f} s ({pure['preflight_per_verdict_ms']:.2f} ms each) · "
        f"trails table ({pure['table_trails']} trails) {pure['table_cpu_s'] * 1000:.1f} ms · "
        f"dropdown labels ({pure['dropdown_labels']} verdicts) "
        f"{pure['dropdown_cpu_s'] * 1000:.1f} ms · "
        f"health ({pure['health_trails']} trails) {pure['health_cpu_s'] * 1000:.1f} ms"
    )
    main_row = next(r for r in report["rows"] if r.get("key") == "trailkit")
    print(
        f"inventory health (issue 15): {main_row['health_cpu_s'] * 1000:.1f} ms CPU for "
        f"{main_row['summary'].get('trails', 0)} trails, no API call of its own "
        f"({main_row['api_calls']} calls in all)"
    )
    history = report.get("history") or {}
    if history:
        shared = history["shared"]
        print(
            f"change history (issue 15, on demand, never in the inventory): Reader.history of "
            f"{shared['trails']} trails (last 30 days): {shared['api_calls']} LookupEvents calls "
            f"(5 event names x ({shared['trail_regions']} trail regions + "
            f"{shared['key_regions']} key regions) = {shared['expected_lookups']}), "
            f"{shared['wall_s']:.2f} s wall, {shared['errors']} errors; "
            f"{shared['api_calls'] / max(1, main_row['api_calls']):.2f}x the inventory's calls, "
            f"{shared['wall_s'] / main_row['wall_s']:.1f}x its wall time "
            f"(paced to 2 lookups/s per region)"
        )
        alone = history.get("per_trail")
        if alone:
            print(
                f"  a new reader per trail (no cache): {alone['api_calls']} calls "
                f"({alone['api_calls'] / max(1, shared['api_calls']):.1f}x), "
                f"{alone['wall_s']:.2f} s ({alone['wall_s'] / shared['wall_s']:.1f}x)"
            )
    print(
        "\ntargets"
        + (" (smoke sizes: not the estate the targets are about)" if cfg["smoke"] else "")
        + ":"
    )
    for target in report["targets"]:
        mark = {True: "met", False: "NOT met", None: "not measured"}[target["met"]]
        print(f"  [{mark}] {target['target']}: {target['measured']}")
    if report.get("json"):
        print(f"\nwritten: {report['json']}")


def _targets(report: dict[str, Any]) -> list[dict[str, Any]]:
    rows = {r["key"]: r for r in report["rows"]}
    main, base = rows["trailkit"], rows.get("baseline")
    pure = report["pure"]
    speed = main["speedup_vs_baseline"]
    share = main["api_calls"] / base["api_calls"] if base else None
    ui_s = pure["table_cpu_s"] + pure["dropdown_cpu_s"]
    per_1000 = pure["preflight_cpu_s"] / max(1, pure["preflight_verdicts"]) * 1000
    return [
        {
            "target": "at least 20x faster than the sequential baseline",
            "met": None if speed is None else speed >= 20,
            "measured": _fmt(speed, ".1f", "x"),
        },
        {
            "target": "within 3x of the lower bound",
            "met": main["ratio_to_lower_bound"] <= 3,
            "measured": f"{main['ratio_to_lower_bound']:.1f}x "
            f"({main['wall_s']:.3f} s vs {report['lower_bound']['wall_s']:.3f} s; "
            f"the same work without latency takes {rows['no-latency']['wall_s']:.3f} s)",
        },
        {
            "target": "at most a third of the baseline's API calls",
            "met": None if share is None else share <= 1 / 3,
            "measured": "-" if share is None else f"{share:.1%} ({main['api_calls']} calls)",
        },
        {
            "target": "1,000 pre-flight verdicts well under a second of CPU",
            "met": per_1000 < 0.5,
            "measured": f"{per_1000:.3f} s per 1,000",
        },
        {
            "target": f"table + dropdown of the large estate feel instant (< {INSTANT_S} s)",
            "met": ui_s < INSTANT_S,
            "measured": f"{ui_s * 1000:.1f} ms",
        },
    ]


# -- main --------------------------------------------------------------------------------------


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--latency-ms", type=float, default=50.0, help="per request (default 50)")
    p.add_argument("--regions", type=int, default=17, help="regions (default 17)")
    p.add_argument("--trails", type=int, default=40, help="trails (default 40)")
    p.add_argument("--bucket-regions", type=int, default=4, help="regions of the buckets (4)")
    p.add_argument("--keys-per-region", type=int, default=100, help="customer keys (100)")
    p.add_argument("--repeat", type=int, default=5, help="repetitions, medians (default 5)")
    p.add_argument(
        "--baseline-repeat",
        type=int,
        default=1,
        help="repetitions of the slow baseline (default 1; 0 skips it)",
    )
    p.add_argument("--workers", type=int, default=None, help="trailkit's pool (default: 16)")
    p.add_argument(
        "--history",
        choices=("both", "shared", "none"),
        default="both",
        help="change history: one reader and a reader per trail (both), one reader, or none",
    )
    p.add_argument("--json", type=Path, default=DEFAULT_JSON, help=f"default {DEFAULT_JSON}")
    p.add_argument("--smoke", action="store_true", help="tiny sizes (the test suite's run)")
    return p


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if args.smoke:
        args.regions, args.trails, args.bucket_regions, args.keys_per_region = 3, 6, 2, 10
        args.latency_ms, args.repeat, args.baseline_repeat = min(args.latency_ms, 5.0), 1, 1
    workers = args.workers or int(inspect.signature(Connection).parameters["workers"].default)
    for name in [n for n in os.environ if n.startswith("AWS_")]:
        del os.environ[name]  # only the local server is asked, with the demo's credentials

    def say(text: str) -> None:
        print(text, file=sys.stderr, flush=True)

    say("pure layer ...")
    if args.smoke:
        pure = pure_benchmarks(1, pairs=100, trails=50, keys=200)
    else:
        pure = pure_benchmarks(args.repeat, pairs=1000, trails=500, keys=2000)

    spec = {
        "regions": args.regions,
        "trails": args.trails,
        "bucket_regions": args.bucket_regions,
        "keys_per_region": args.keys_per_region,
    }
    say(f"starting the latency server and seeding {spec} ...")
    server = LatencyServer(spec)
    try:
        estate = server.estate
        regions = estate["regions"]
        latency_s = args.latency_ms / 1000
        warm = _connection(server.endpoint, workers)
        server.set_latency(0)
        trailkit_run(server, regions, workers, conn=warm)  # clients made, code paths warm
        server.set_latency(args.latency_ms)
        runs: dict[str, list[Run]] = {
            "trailkit": [],
            "cold": [],
            "on-demand": [],
            "no-latency": [],
            "no-rotation": [],
        }
        for i in range(args.repeat):
            say(f"trailkit, repetition {i + 1}/{args.repeat} ...")
            runs["trailkit"].append(trailkit_run(server, regions, workers, conn=warm))
            runs["cold"].append(trailkit_run(server, regions, workers))
            runs["on-demand"].append(
                trailkit_run(server, regions, workers, conn=warm, prefetch=False)
            )
            runs["no-rotation"].append(
                trailkit_run(server, regions, workers, conn=warm, rotation=False)
            )
        server.set_latency(0)
        for _ in range(args.repeat):
            runs["no-latency"].append(trailkit_run(server, regions, workers, conn=warm))
        server.set_latency(args.latency_ms)
        history: dict[str, Any] = {}
        if args.history != "none":
            say("change history of every trail, one reader ...")
            history["shared"] = history_run(server, regions, workers)
            if args.history == "both" and not args.smoke:
                say("change history of every trail, a new reader per trail ...")
                history["per_trail"] = history_run(server, regions, workers, shared=False)
        baseline: list[Run] = []
        if args.baseline_repeat > 0:
            sequential = _connection(server.endpoint, 1)
            for region in regions:  # clients made before timing, as for trailkit
                sequential.client("cloudtrail", region)
                sequential.client("kms", region)
            for i in range(args.baseline_repeat):
                expected = sum(baseline_formula(estate).values())
                say(
                    f"sequential baseline {i + 1}/{args.baseline_repeat} "
                    f"({expected} calls, about {expected * (latency_s + 0.004):.0f} s) ..."
                )
                baseline.append(baseline_run(server, regions, sequential))
    finally:
        server.stop()

    bound_s = len(CHAIN) * latency_s
    baseline_s = _median(baseline) if baseline else None
    names = {
        "trailkit": "trailkit: scan(candidates=True) + candidates/trail",
        "cold": "  same, new Connection each time (CLI start)",
        "on-demand": "  same, candidates on demand (no prefetch)",
        "no-latency": "  same, 0 ms latency (CPU cost of the calls)",
        "no-rotation": "  same, before key facts (no rotation read)",
    }
    rows = []
    for key, name in names.items():
        row = _row(name, runs[key], baseline_s, bound_s)
        row["key"] = key
        if key == "no-latency":  # not comparable with runs at --latency-ms
            row["speedup_vs_baseline"] = row["ratio_to_lower_bound"] = None
        rows.append(row)
    if baseline:
        row = _row("sequential baseline (one call at a time)", baseline, baseline_s, bound_s)
        row["key"] = "baseline"
        rows.append(row)
    rows.append(
        {
            "key": "lower-bound",
            "scenario": f"lower bound: {len(CHAIN)} dependent calls x {args.latency_ms:g} ms",
            "wall_s": bound_s,
            "api_calls": None,
            "speedup_vs_baseline": (baseline_s / bound_s) if baseline_s and bound_s else None,
            "ratio_to_lower_bound": 1.0 if bound_s else None,
        }
    )
    report: dict[str, Any] = {
        "config": {
            "latency_ms": args.latency_ms,
            "workers": workers,
            "repeat": args.repeat,
            "baseline_repeat": args.baseline_repeat,
            "smoke": args.smoke,
            "python": platform.python_version(),
            "cpus": os.cpu_count(),
        },
        "estate": estate,
        "rows": rows,
        "lower_bound": {"chain": list(CHAIN), "latency_s": latency_s, "wall_s": bound_s},
        "expected_calls": {
            "trailkit": trailkit_formula(estate, cold=False),
            "trailkit_cold": trailkit_formula(estate, cold=True),
            "trailkit_no_rotation": trailkit_formula(estate, cold=False, rotation=False),
            "baseline": baseline_formula(estate),
        },
        "pure": pure,
        "history": history,
    }
    report["targets"] = _targets(report)
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
        report["json"] = str(args.json)
    print_report(report)
    return 0


if __name__ == "__main__":
    sys.exit(main())
