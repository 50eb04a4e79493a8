"""Benchmark of an organization scan (issue 16): one inventory across N accounts x 17 regions,
on a local AWS with latency (not a test: it measures, and prints what it measured).

    .venv/bin/python bench/org.py                    # N = 25, 50, 100 + the sequential N = 25
    .venv/bin/python bench/org.py --sizes 25 --baseline-accounts 0   # one size, no baseline
    .venv/bin/python bench/org.py --smoke            # tiny sizes, a few seconds

It starts a moto server in a process of its own (this file with ``--serve``: moto's server app
behind ``bench/latency_server.py``'s :class:`LatencyApp`, every AWS request delayed by
``--latency-ms``) and seeds a synthetic organization there once, for the largest size:

* the management account ``123456789012`` (the caller) creates the organization with
  Organizations' own ``CreateAccount`` (moto creates ``OrganizationAccountAccessRole`` in each
  new account, trusting the management account); account 1 is ``log-archive`` (the two log
  buckets), the others ``member-NNN``;
* one organization trail in the management account (multi-Region, SSE-KMS with a key of the
  management account, writing to ``log-archive``'s organization bucket);
* in every account (management and log-archive included) two trails of its own writing to
  ``log-archive``'s member bucket: a multi-Region trail in us-east-1 encrypted with a key of its
  own account, and a single-Region trail (its home region rotates over the regions) without KMS;
* ``--keys-per-region`` customer keys (default 10) per region per account (half with
  CloudTrail's key policy, half root only).

Each measurement runs in a child process of its own (this file with ``--measure``), cold, as one
CLI run would be: a new ``Connection`` (demo credentials, moto's default account, the management
account), then, timed, ``AccountAccess(conn).accounts(org=True, given=<the first N accounts>)``
(``ListAccounts``) and ``trailkit.aws.org.scan_accounts(access, accounts, regions,
workers=...)``. The child reports wall time, client CPU seconds (every thread), API calls by
operation (``Connection.calls``: the assumed connections share the count), botocore clients
created (``botocore.session.Session.create_client`` counted), peak RSS (``ru_maxrss`` of the
child), the moto server's CPU seconds during the scan, and what was read (trails per account,
member statuses of the organization trail, errors by code) with a digest to check that the
sequential and concurrent runs read the same thing.

Measured, in one run: N = ``--sizes`` (default 25, 50, 100; ``--repeat`` runs each, the median
kept) with ``--workers`` (default: trailkit's); the same for the first size with the regions
given to ``scan_accounts`` (``DescribeTrails`` in every region of every account instead of
``ListTrails``; ``--no-every-region`` skips it); the sequential baseline (``workers=1``: the
same calls one at a time) for N = ``--baseline-accounts`` (25); and the lower bound: the
longest chain of calls that depend on each other (``GetCallerIdentity`` -> ``ListAccounts`` ->
``AssumeRole`` -> ``ListTrails`` -> ``DescribeTrails`` -> ``DescribeKey`` -> ``GetKeyPolicy``
-> ``GetKeyRotationStatus``, limited to the operations the scan made) times the latency.
Prints the figures with the goals of issue 16 (N = 50 in at most 15 s; at least 50x faster than
sequential; wall time no faster than linear in N, with the slope; peak RSS at most 1 GiB at
N = 100; a projection for 1,000 accounts, wall time, calls and peak RSS, from the slopes)
and writes the same as JSON (``--json``, default ``bench/results/org.json``).
"""

from __future__ import annotations

import argparse
import hashlib
import inspect
import json
import math
import os
import platform
import resource
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from estate import region_names

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
DEFAULT_JSON = HERE / "results" / "org.json"
MANAGEMENT = "123456789012"
#: Goals of issue 16 (Performance).
GOAL_N50_S = 15.0
GOAL_SPEEDUP = 50.0
GOAL_RSS_MIB = 1024.0
GOAL_EXPONENT = 1.1  # wall ~ N^k: "no faster than linearly", with 10 % for noise
PROJECT_TO = 1000
#: The chain of dependent calls of an organization inventory, in order; the lower bound counts
#: those the scan made (ListTrails only if the fan-out uses it).
CHAIN = (
    "sts:GetCallerIdentity",  # the caller's account: read directly, never through a role
    "organizations:ListAccounts",  # which accounts
    "ec2:DescribeRegions",  # only if the scan lists the regions before it starts
    "sts:AssumeRole",  # into each
    "cloudtrail:ListTrails",  # every trail of the account with its home region
    "cloudtrail:DescribeTrails",  # the trail names its key
    "kms:DescribeKey",  # the key in use
    "kms:GetKeyPolicy",  # after DescribeKey (the key's ARN and manager)
    "kms:GetKeyRotationStatus",  # after the key is known to be customer managed
)


# -- the organization ------------------------------------------------------------------------


@dataclass(frozen=True)
class OrgSpec:
    """The size of the synthetic organization."""

    accounts: int = 100
    regions: int = 17
    keys_per_region: int = 10

    @property
    def region_names(self) -> tuple[str, ...]:
        return region_names(self.regions)

    @property
    def account_ids(self) -> list[str]:
        """The management account first, then log-archive, then the members."""
        return [MANAGEMENT] + [f"{200000000000 + i:012d}" for i in range(1, self.accounts)]


def account_name(index: int) -> str:
    return {0: "management", 1: "log-archive"}.get(index, f"member-{index:03d}")


ORG_BUCKET = "bench-org-trail-logs"
MEMBER_BUCKET = "bench-member-trail-logs"
ORG_TRAIL = "bench-org-trail"


@dataclass
class OrgEstate:
    """What was seeded (JSON-ready)."""

    accounts: list[str]
    regions: list[str]
    keys_per_region: int
    trails: int = 0
    own_trails_per_account: int = 2
    organization_trails: int = 0
    keys: int = 0
    buckets: int = 0
    seconds: float = 0.0
    names: dict[str, str] = field(default_factory=dict)


def seed(spec: OrgSpec) -> OrgEstate:
    """Build the organization in this process's moto backends (moto must run in this process)."""
    from moto.cloudtrail.models import cloudtrail_backends
    from moto.kms.models import kms_backends
    from moto.organizations import utils as org_utils
    from moto.organizations.models import organizations_backends
    from moto.s3.models import s3_backends

    from trailkit.demo import cloudtrail_bucket_policy, cloudtrail_key_policy, patch_moto
    from trailkit.demo import root_key_policy as _root_key_policy

    started = time.perf_counter()
    patch_moto()
    ids = spec.account_ids
    regions = list(spec.region_names)
    estate = OrgEstate(accounts=ids, regions=regions, keys_per_region=spec.keys_per_region)
    estate.names = {a: account_name(i) for i, a in enumerate(ids)}

    org = organizations_backends[MANAGEMENT]["aws"]
    org.create_organization(region="us-east-1", FeatureSet="ALL")
    pending = iter(ids[1:])
    original = org_utils.make_random_account_id
    org_utils.make_random_account_id = lambda: next(pending)  # the estate's ids, seeding only
    try:
        for i in range(1, len(ids)):
            name = account_name(i)
            org.create_account(AccountName=name, Email=f"{name}@example.com")
    finally:
        org_utils.make_random_account_id = original

    log_archive = ids[1] if len(ids) > 1 else MANAGEMENT
    s3 = s3_backends[log_archive]["aws"]
    org_trail_arn = f"arn:aws:cloudtrail:us-east-1:{MANAGEMENT}:trail/{ORG_TRAIL}"
    for bucket in (ORG_BUCKET, MEMBER_BUCKET):
        s3.create_bucket(bucket, "us-east-1")
        policy = cloudtrail_bucket_policy(bucket, log_archive, org_trail_arn)
        s3.put_bucket_policy(bucket, json.dumps(policy).encode())
    estate.buckets = 2

    used_key: dict[str, str] = {}
    for account in ids:
        for region in regions:
            kms = kms_backends[account][region]
            for j in range(spec.keys_per_region):
                doc = (
                    cloudtrail_key_policy(account, region=region)
                    if j % 2 == 0
                    else _root_key_policy(account)
                )
                key = kms.create_key(
                    json.dumps(doc), "ENCRYPT_DECRYPT", "SYMMETRIC_DEFAULT", f"bench {j}", []
                )
                if j % 5 != 4:
                    kms.create_alias(key.id, f"alias/bench-{account}-{region}-{j:02d}")
                if region == "us-east-1" and j == 0:
                    used_key[account] = key.arn
                estate.keys += 1

    for i, account in enumerate(ids):
        main = cloudtrail_backends[account]["us-east-1"]
        # positional: name, bucket, prefix, SNS topic, global events, multi-Region,
        # validation, organization trail, CloudWatch Logs group, CloudWatch Logs role, key, tags
        main.create_trail(
            f"bench-{i:03d}-main", MEMBER_BUCKET, account, None, True, True, True, False,
            None, None, used_key.get(account), [],
        )  # fmt: skip
        main.start_logging(f"bench-{i:03d}-main")
        home = regions[1 + i % (len(regions) - 1)] if len(regions) > 1 else regions[0]
        regional = cloudtrail_backends[account][home]
        regional.create_trail(
            f"bench-{i:03d}-{home}", MEMBER_BUCKET, account, None, False, False, False, False,
            None, None, None, [],
        )  # fmt: skip
        regional.start_logging(f"bench-{i:03d}-{home}")
        estate.trails += 2
    management = cloudtrail_backends[MANAGEMENT]["us-east-1"]
    management.create_trail(
        ORG_TRAIL, ORG_BUCKET, None, None, True, True, True, True,
        None, None, used_key.get(MANAGEMENT), [],
    )  # fmt: skip
    management.start_logging(ORG_TRAIL)
    estate.trails += 1
    estate.organization_trails = 1
    estate.seconds = time.perf_counter() - started
    return estate


def serve(spec: OrgSpec) -> None:
    """Seed, print ``{"port", "estate"}`` as one JSON line, serve until killed."""
    from latency_server import serve_seeded

    serve_seeded(lambda: seed(spec))


def _control(endpoint: str, path: str, method: str = "GET") -> dict[str, Any]:
    """A control route of ``bench/latency_server.py``'s wrapper (never delayed, never moto)."""
    import urllib.request

    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    with opener.open(urllib.request.Request(endpoint + path, method=method), timeout=10) as r:
        return dict(json.loads(r.read()))


class OrgServer:
    """This file's ``--serve`` in a child process (the moto server with latency)."""

    def __init__(self, spec: OrgSpec) -> None:
        env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
        self.proc = subprocess.Popen(
            [sys.executable, __file__, "--serve", json.dumps(asdict(spec))],
            stdout=subprocess.PIPE,
            text=True,
            env=env,
        )
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline()
        if not line:
            self.proc.wait(timeout=10)
            raise SystemExit(f"the org server did not start (exit {self.proc.returncode})")
        ready = json.loads(line)
        self.endpoint = f"http://127.0.0.1:{ready['port']}"
        self.estate: dict[str, Any] = ready["estate"]

    def set_latency(self, ms: float) -> None:
        _control(self.endpoint, f"/_bench/latency?ms={ms}", method="POST")

    def stats(self) -> dict[str, Any]:
        return _control(self.endpoint, "/_bench/stats")

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


# -- one measurement (in a child process) ----------------------------------------------------


def _rss_mib() -> float:
    try:
        with open("/proc/self/statm", encoding="ascii") as f:
            pages = int(f.read().split()[1])
        return pages * os.sysconf("SC_PAGE_SIZE") / 2**20
    except OSError:  # pragma: no cover - not Linux
        return float("nan")


def _digest(value: Any) -> str:
    return hashlib.sha256(json.dumps(value, sort_keys=True, default=str).encode()).hexdigest()[:16]


def measure(cfg: dict[str, Any]) -> dict[str, Any]:
    """Scan the first ``cfg["accounts"]`` accounts of the organization at ``cfg["endpoint"]``
    with ``cfg["workers"]`` workers, cold; return the figures (JSON-ready)."""
    for name in [n for n in os.environ if n.startswith("AWS_")]:
        del os.environ[name]  # only the local server is asked, with the demo's credentials
    import botocore.session

    lock = threading.Lock()
    clients: Counter[str] = Counter()
    client_s = [0.0]
    create = botocore.session.Session.create_client

    def counted(self: Any, service_name: str, *args: Any, **kwargs: Any) -> Any:
        started = time.thread_time()  # this thread's CPU: other threads run meanwhile
        try:
            return create(self, service_name, *args, **kwargs)
        finally:
            with lock:
                client_s[0] += time.thread_time() - started
                clients[service_name] += 1

    botocore.session.Session.create_client = counted  # type: ignore[method-assign]

    from trailkit.aws.session import Connection

    assumed_s = [0.0]
    assumed = Connection.assumed

    def timed_assumed(self: Any, *args: Any, **kwargs: Any) -> Any:
        started = time.thread_time()
        try:
            return assumed(self, *args, **kwargs)
        finally:
            with lock:
                assumed_s[0] += time.thread_time() - started

    Connection.assumed = timed_assumed  # type: ignore[method-assign]

    from trailkit.aws.accounts import AccountAccess
    from trailkit.aws.org import scan_accounts
    from trailkit.demo import demo_connection
    from trailkit.rules.health import inventory_health

    wanted = list(cfg["ids"])
    regions = list(cfg["regions"]) if cfg.get("regions") else None
    workers = int(cfg["workers"])
    load = os.getloadavg()[0]
    rss_before = _rss_mib()
    server_before = _control(cfg["endpoint"], "/_bench/stats")
    conn = demo_connection(cfg["endpoint"], region="us-east-1", workers=max(workers, 1))
    started, cpu = time.perf_counter(), time.process_time()
    access = AccountAccess(conn)
    accounts = access.accounts(org=True, given=wanted)
    inv = scan_accounts(access, accounts, regions, workers=workers)
    wall, cpu = time.perf_counter() - started, time.process_time() - cpu
    server_after = _control(cfg["endpoint"], "/_bench/stats")
    judged = time.process_time()
    healths = inventory_health(inv)
    health_cpu = time.process_time() - judged
    peak_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux
    per_account = Counter(t.account for t in inv.trails)
    errors = Counter(f"{e.operation}:{e.code}" for e in inv.errors)
    member_status = {arn: len(m) for arn, m in inv.member_status.items()}
    answer = {
        "trails": sorted((t.arn, t.kms_key_id, t.account) for t in inv.trails),
        "keys": sorted(inv.keys),
        "errors": sorted(errors.items()),
        "member_status": sorted(
            (arn, acct, s.is_logging, s.latest_delivery_error)
            for arn, members in inv.member_status.items()
            for acct, s in members.items()
        ),
    }
    return {
        "scanner": f"{scan_accounts.__module__}.{scan_accounts.__name__}",
        "regions_given": regions is not None,
        "accounts": len(accounts),
        "workers": workers,
        "wall_s": wall,
        "client_cpu_s": cpu,
        "health_cpu_s": health_cpu,
        "server_cpu_s": server_after["cpu_s"] - server_before["cpu_s"],
        "server_requests": server_after["requests"] - server_before["requests"],
        "api_calls": sum(conn.calls.values()),
        "calls_by_operation": dict(sorted(conn.calls.items())),
        "clients": sum(clients.values()),
        "clients_by_service": dict(sorted(clients.items())),
        "client_creation_cpu_s": client_s[0],
        # AssumeRole's CPU, its botocore session and its STS client included (not the wait)
        "assume_role_cpu_s": assumed_s[0],
        "load_before": load,
        "rss_before_mib": rss_before,
        "peak_rss_mib": peak_mib,
        "summary": {
            "trails": len(inv.trails),
            "accounts_with_trails": len(per_account),
            "organization_trails": sum(1 for t in inv.trails if t.organization),
            "member_status": member_status,
            "keys": len(inv.keys),
            "errors": sum(errors.values()),
            "errors_by_code": dict(sorted(errors.items())),
            "health": dict(sorted(Counter(str(h.kind) for h in healths.values()).items())),
        },
        "answer": _digest(answer),
    }


def script_measure(cfg: dict[str, Any]) -> dict[str, Any]:
    """What a straightforward script does, one call at a time (the single-account baseline of
    ``bench/inventory.py`` in every account): ``AssumeRole``, then in every region
    ``DescribeTrails``, ``GetTrailStatus`` per trail, ``ListKeys``, and ``DescribeKey``,
    ``ListAliases`` and ``GetKeyPolicy`` for every key."""
    for name in [n for n in os.environ if n.startswith("AWS_")]:
        del os.environ[name]
    from inventory import script_region

    from trailkit.aws.accounts import AccountAccess
    from trailkit.demo import demo_connection

    regions = list(cfg["all_regions"])
    load = os.getloadavg()[0]
    server_before = _control(cfg["endpoint"], "/_bench/stats")
    conn = demo_connection(cfg["endpoint"], region="us-east-1", workers=1)
    started, cpu = time.perf_counter(), time.process_time()
    access = AccountAccess(conn)
    trails = keys = 0
    accounts = access.accounts(org=True, given=list(cfg["ids"]))
    for account in accounts:
        member = access.connection(account)
        for region in regions:
            found = script_region(member, region)
            trails, keys = trails + found[0], keys + found[1]
    wall, cpu = time.perf_counter() - started, time.process_time() - cpu
    server_after = _control(cfg["endpoint"], "/_bench/stats")
    return {
        "accounts": len(accounts),
        "wall_s": wall,
        "client_cpu_s": cpu,
        "server_cpu_s": server_after["cpu_s"] - server_before["cpu_s"],
        "api_calls": sum(conn.calls.values()),
        "calls_by_operation": dict(sorted(conn.calls.items())),
        "summary": {"trails": trails, "keys": keys},
        "load_before": load,
    }


def _median_run(tries: list[dict[str, Any]]) -> dict[str, Any]:
    """The run with the median wall time, with every try's wall time."""
    ordered = sorted(tries, key=lambda r: r["wall_s"])
    median = dict(ordered[(len(ordered) - 1) // 2])
    median["wall_s_all"] = [round(r["wall_s"], 3) for r in tries]
    median["answers_agree"] = len({r["answer"] for r in tries}) == 1
    return median


def run_child(
    server: OrgServer,
    ids: Sequence[str],
    workers: int,
    *,
    every_region: bool = False,
    script: bool = False,
) -> dict[str, Any]:
    """One measurement in a new process; ``every_region``: pass the regions to
    ``scan_accounts`` (``DescribeTrails`` in every region of every account) instead of letting
    it find the trails with ``ListTrails``."""
    cfg = {
        "endpoint": server.endpoint,
        "ids": list(ids),
        "regions": server.estate["regions"] if every_region else None,
        "all_regions": server.estate["regions"],
        "workers": workers,
        "script": script,
    }
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), str(HERE)])}
    done = subprocess.run(
        [sys.executable, __file__, "--measure", json.dumps(cfg)],
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )
    if done.returncode != 0:
        raise SystemExit(f"the measurement failed (exit {done.returncode}):\n{done.stderr}")
    return dict(json.loads(done.stdout.strip().splitlines()[-1]))


# -- the report --------------------------------------------------------------------------------


def fit(points: Sequence[tuple[float, float]]) -> dict[str, float | None]:
    """Least squares ``wall = intercept + slope x N`` and ``wall ~ N^exponent`` (log-log)."""
    n = len(points)
    if n < 2:
        return {"slope": None, "intercept": None, "r2": None, "exponent": None}
    xs, ys = [p[0] for p in points], [p[1] for p in points]
    mx, my = sum(xs) / n, sum(ys) / n
    sxx = sum((x - mx) ** 2 for x in xs)
    slope = sum((x - mx) * (y - my) for x, y in points) / sxx
    intercept = my - slope * mx
    ss_tot = sum((y - my) ** 2 for y in ys)
    ss_res = sum((y - intercept - slope * x) ** 2 for x, y in points)
    lx, ly = [math.log(x) for x in xs], [math.log(y) for y in ys]
    mlx, mly = sum(lx) / n, sum(ly) / n
    exponent = sum((a - mlx) * (b - mly) for a, b in zip(lx, ly, strict=True)) / sum(
        (a - mlx) ** 2 for a in lx
    )
    return {
        "slope": slope,
        "intercept": intercept,
        "r2": 1 - ss_res / ss_tot if ss_tot else 1.0,
        "exponent": exponent,
    }


def chain_of(calls: dict[str, int]) -> list[str]:
    """The dependent chain, limited to the operations the scan made."""
    return [op for op in CHAIN if calls.get(op)]


def _fmt(value: float | None, spec: str, suffix: str = "") -> str:
    return "-" if value is None else f"{value:{spec}}{suffix}"


def _ratio(value: float, bound: float) -> float | None:
    return value / bound if bound else None


def goals(report: dict[str, Any]) -> list[dict[str, Any]]:
    runs = {r["accounts"]: r for r in report["runs"]}
    base = report.get("baseline")
    trend = report["fit"]
    out = []
    n50 = runs.get(50)
    out.append(
        {
            "goal": f"N = 50 in at most {GOAL_N50_S:g} s",
            "met": None if n50 is None else n50["wall_s"] <= GOAL_N50_S,
            "measured": "-"
            if n50 is None
            else f"{n50['wall_s']:.1f} s ({n50['wall_s'] / GOAL_N50_S:.2f}x the goal)",
        }
    )
    same = runs.get(base["accounts"]) if base else None
    speed = base["wall_s"] / same["wall_s"] if base and same else None
    out.append(
        {
            "goal": f"at least {GOAL_SPEEDUP:g}x faster than the sequential baseline",
            "met": None if speed is None else speed >= GOAL_SPEEDUP,
            "measured": "-"
            if speed is None or base is None or same is None
            else f"{speed:.1f}x (N = {base['accounts']}: {same['wall_s']:.1f} s vs "
            f"{base['wall_s']:.1f} s sequential)",
        }
    )
    script = report.get("script")
    first = runs[min(runs)] if runs else None
    projected = (
        script["wall_s"] / script["accounts"] * first["accounts"] if script and first else None
    )
    out.append(
        {
            "goal": f"at least {GOAL_SPEEDUP:g}x faster than a straightforward script",
            "met": None
            if projected is None or first is None
            else projected / first["wall_s"] >= GOAL_SPEEDUP,
            "measured": "-"
            if projected is None or first is None or script is None
            else f"{projected / first['wall_s']:.0f}x (N = {first['accounts']}: "
            f"{first['wall_s']:.1f} s vs {projected:.0f} s, the script's time for "
            f"{script['accounts']} accounts, {script['wall_s']:.1f} s, x {first['accounts']}"
            f"/{script['accounts']}: it is sequential, so linear in accounts)",
        }
    )
    k = trend["exponent"]
    out.append(
        {
            "goal": "wall time growing no faster than linearly in N",
            "met": None if k is None else k <= GOAL_EXPONENT,
            "measured": "-"
            if k is None
            else f"wall ~ N^{k:.2f}; slope {trend['slope']:.3f} s per account, "
            f"intercept {trend['intercept']:.2f} s, R^2 {trend['r2']:.3f}",
        }
    )
    biggest = runs[max(runs)] if runs else None
    out.append(
        {
            "goal": f"peak RSS at most {GOAL_RSS_MIB:g} MiB at N = 100",
            "met": None
            if biggest is None or biggest["accounts"] < 100
            else biggest["peak_rss_mib"] <= GOAL_RSS_MIB,
            "measured": "-"
            if biggest is None
            else f"{biggest['peak_rss_mib']:.0f} MiB at N = {biggest['accounts']} "
            f"({biggest['rss_before_mib']:.0f} MiB before the scan)",
        }
    )
    proj = report["projection"]
    out.append(
        {
            "goal": f"projection for {PROJECT_TO:,} accounts (from the slope)",
            "met": None,
            "measured": "-"
            if proj["wall_s"] is None
            else f"{proj['wall_s']:.0f} s ({proj['wall_s'] / 60:.1f} min), about "
            f"{proj['api_calls']:,.0f} calls, peak RSS about {proj['peak_rss_mib'] or 0:,.0f} MiB",
        }
    )
    return out


def print_report(report: dict[str, Any]) -> None:
    cfg, est = report["config"], report["estate"]
    print(
        f"\ntrailkit organization benchmark · {len(est['accounts'])} accounts seeded · "
        f"{len(est['regions'])} regions · {est['trails']} trails (1 organization trail, 2 per "
        f"account) · {est['keys']:,} KMS keys ({est['keys_per_region']} per region per account) "
        f"· latency {cfg['latency_ms']:g} ms · workers {cfg['workers']} · load {cfg['load']}"
    )
    print(f"measured: {report['runs'][0]['scanner']}, each run a new process (cold, as a CLI run)")
    header = (
        f"{'scenario':<30} {'wall s':>7} {'s/acct':>7} {'calls':>6} {'clients':>7} "
        f"{'cli CPU s':>9} {'srv CPU s':>9} {'peak MiB':>8} {'vs bound':>8} {'errors':>6} "
        f"{'load':>5}"
    )
    print(header)
    print("-" * len(header))
    rows = [(f"trailkit, N = {r['accounts']}", r) for r in report["runs"]]
    if report.get("every_region"):
        e = report["every_region"]
        rows.append((f"DescribeTrails x {len(est['regions'])}, N = {e['accounts']}", e))
    if report.get("baseline"):
        b = report["baseline"]
        rows.append((f"sequential (workers=1), N = {b['accounts']}", b))
    for name, r in rows:
        print(
            f"{name:<30} {r['wall_s']:>7.2f} {r['wall_s'] / r['accounts']:>7.3f} "
            f"{r['api_calls']:>6} {r['clients']:>7} {r['client_cpu_s']:>9.2f} "
            f"{r['server_cpu_s']:>9.2f} {r['peak_rss_mib']:>8.0f} "
            f"{_fmt(_ratio(r['wall_s'], r['lower_bound_s']), '.1f', 'x'):>8} "
            f"{r['summary']['errors']:>6} "
            f"{r['load_before']:>5.1f}"
        )
    first = report["runs"][0]
    print(
        f"lower bound: {len(first['chain'])} dependent calls x {cfg['latency_ms']:g} ms = "
        f"{first['lower_bound_s']:.2f} s ({' -> '.join(first['chain'])}); "
        f"the pool alone needs calls x latency / workers "
        f"(N = {report['runs'][-1]['accounts']}: {report['runs'][-1]['pool_bound_s']:.2f} s)"
    )
    script = report.get("script")
    if script:
        print(
            f"a straightforward script, one call at a time (every region's DescribeTrails, every "
            f"key described), N = {script['accounts']}: {script['wall_s']:.1f} s, "
            f"{script['api_calls']:,} calls ({script['api_calls'] / script['accounts']:,.0f} "
            f"per account), {script['client_cpu_s']:.1f} s client CPU, "
            f"{script['summary']['trails']} trails and {script['summary']['keys']:,} keys read"
        )
    ops = sorted({op for _, r in rows for op in r["calls_by_operation"]})
    print("\nAPI calls by operation (per account in brackets)")
    head = f"{'operation':<36}" + "".join(f"{name.split(', ')[-1]:>18}" for name, _ in rows)
    print(head)
    for op in ops:
        counts = [(r["calls_by_operation"].get(op, 0), r["accounts"]) for _, r in rows]
        cells = "".join(f"{c:>9} ({c / n:>5.1f})" for c, n in counts)
        print(f"{op:<36}{cells}")
    print(
        "\nclients by service: "
        + "; ".join(
            f"{name}: {r['clients']} ({r['client_creation_cpu_s']:.2f} s CPU creating them; "
            f"AssumeRole {r['assume_role_cpu_s']:.2f} s CPU)"
            for name, r in rows
        )
    )
    print(
        "what was read: "
        + "; ".join(
            f"{name}: {r['summary']['trails']} trails in {r['summary']['accounts_with_trails']} "
            f"accounts, organization trail status in "
            f"{sum(r['summary']['member_status'].values())} members, "
            f"{r['summary']['errors']} errors {r['summary']['errors_by_code'] or ''}"
            for name, r in rows
        )
    )
    if report.get("baseline"):
        print(f"sequential and concurrent read the same: {report['answers_agree']}")
    print(
        "\ngoals"
        + (" (smoke sizes: not the organization the goals are about)" if cfg["smoke"] else "")
        + ":"
    )
    for goal in report["goals"]:
        mark = {True: "met", False: "NOT met", None: "-"}[goal["met"]]
        print(f"  [{mark}] {goal['goal']}: {goal['measured']}")
    if report.get("json"):
        print(f"\nwritten: {report['json']}")


# -- main --------------------------------------------------------------------------------------


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    p.add_argument("--latency-ms", type=float, default=50.0, help="per request (default 50)")
    p.add_argument("--sizes", default="25,50,100", help="accounts per run (default 25,50,100)")
    p.add_argument("--regions", type=int, default=17, help="regions (default 17)")
    p.add_argument("--keys-per-region", type=int, default=10, help="per account (default 10)")
    p.add_argument(
        "--baseline-accounts",
        type=int,
        default=25,
        help="accounts of the sequential baseline (workers=1; default 25, 0 skips it)",
    )
    p.add_argument(
        "--no-every-region",
        dest="every_region",
        action="store_false",
        help="skip the comparison run with DescribeTrails in every region (first size)",
    )
    p.add_argument(
        "--script-accounts",
        type=int,
        default=2,
        help="accounts of a straightforward script's run, one call at a time "
        "(default 2: about 30 s each at 50 ms; 0 skips it)",
    )
    p.add_argument("--workers", type=int, default=None, help="trailkit's pool (default: its own)")
    p.add_argument(
        "--repeat", type=int, default=1, help="runs per size, the median kept (default 1)"
    )
    p.add_argument("--json", type=Path, default=DEFAULT_JSON, help=f"default {DEFAULT_JSON}")
    p.add_argument("--smoke", action="store_true", help="tiny sizes (the test suite's run)")
    p.add_argument("--serve", metavar="SPEC", help=argparse.SUPPRESS)
    p.add_argument("--measure", metavar="CFG", help=argparse.SUPPRESS)
    return p


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if args.serve:
        serve(OrgSpec(**json.loads(args.serve)))
        return 0
    if args.measure:
        cfg = json.loads(args.measure)
        print(json.dumps((script_measure if cfg.get("script") else measure)(cfg)), flush=True)
        return 0
    if args.smoke:
        args.sizes, args.regions, args.keys_per_region = "2,3", 3, 2
        args.baseline_accounts, args.latency_ms = 2, min(args.latency_ms, 5.0)
    sizes = sorted({int(s) for s in args.sizes.split(",") if s.strip()})
    from trailkit.aws.session import Connection

    workers = args.workers or int(inspect.signature(Connection).parameters["workers"].default)

    def say(text: str) -> None:
        print(text, file=sys.stderr, flush=True)

    spec = OrgSpec(
        accounts=max([*sizes, args.baseline_accounts]),
        regions=args.regions,
        keys_per_region=args.keys_per_region,
    )
    say(f"starting the server and seeding {asdict(spec)} ...")
    server = OrgServer(spec)
    runs: list[dict[str, Any]] = []
    baseline: dict[str, Any] | None = None
    every: dict[str, Any] | None = None
    script: dict[str, Any] | None = None
    try:
        estate = server.estate
        say(f"seeded in {estate['seconds']:.1f} s")
        ids = estate["accounts"]
        say("warming the server up (moto imports each service on its first request) ...")
        server.set_latency(0)
        run_child(server, ids[: min(sizes)], workers)  # not reported
        server.set_latency(args.latency_ms)
        for n in sizes:
            tries = []
            for i in range(args.repeat):
                say(f"trailkit, N = {n}, {workers} workers ({i + 1}/{args.repeat}) ...")
                tries.append(run_child(server, ids[:n], workers))
            runs.append(_median_run(tries))
        if args.every_region:
            say(f"trailkit, N = {sizes[0]}, DescribeTrails in every region ...")
            every = run_child(server, ids[: sizes[0]], workers, every_region=True)
        if args.baseline_accounts > 0:
            say(f"sequential baseline, N = {args.baseline_accounts} (workers=1) ...")
            baseline = run_child(server, ids[: args.baseline_accounts], 1)
        if args.script_accounts > 0:
            say(f"a straightforward script, N = {args.script_accounts} (one call at a time) ...")
            script = run_child(server, ids[: args.script_accounts], 1, script=True)
    finally:
        server.stop()

    latency_s = args.latency_ms / 1000
    for r in [*runs, *([every] if every else []), *([baseline] if baseline else [])]:
        r["chain"] = chain_of(r["calls_by_operation"])
        r["lower_bound_s"] = len(r["chain"]) * latency_s
        r["pool_bound_s"] = r["api_calls"] * latency_s / r["workers"]
    trend = fit([(r["accounts"], r["wall_s"]) for r in runs])
    calls_fit = fit([(r["accounts"], r["api_calls"]) for r in runs])
    rss_fit = fit([(r["accounts"], r["peak_rss_mib"]) for r in runs])
    projection: dict[str, float | None] = {
        "accounts": PROJECT_TO,
        "wall_s": None,
        "api_calls": None,
        "peak_rss_mib": None,
    }
    if trend["slope"] is not None and calls_fit["slope"] is not None:
        assert trend["intercept"] is not None and calls_fit["intercept"] is not None
        projection["wall_s"] = trend["intercept"] + trend["slope"] * PROJECT_TO
        projection["api_calls"] = calls_fit["intercept"] + calls_fit["slope"] * PROJECT_TO
        if rss_fit["slope"] is not None and rss_fit["intercept"] is not None:
            projection["peak_rss_mib"] = rss_fit["intercept"] + rss_fit["slope"] * PROJECT_TO
    same = next((r for r in runs if baseline and r["accounts"] == baseline["accounts"]), None)
    report: dict[str, Any] = {
        "config": {
            "latency_ms": args.latency_ms,
            "workers": workers,
            "sizes": sizes,
            "baseline_accounts": args.baseline_accounts,
            "smoke": args.smoke,
            "python": platform.python_version(),
            "cpus": os.cpu_count(),
            "load": " ".join(f"{x:.2f}" for x in os.getloadavg()),
        },
        "estate": estate,
        "runs": runs,
        "baseline": baseline,
        "every_region": every,
        "script": script,
        "answers_agree": None if not (baseline and same) else baseline["answer"] == same["answer"],
        "fit": trend,
        "calls_fit": calls_fit,
        "rss_fit": rss_fit,
        "projection": projection,
    }
    report["goals"] = goals(report)
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
        report["json"] = str(args.json)
    print_report(report)
    return 0


if __name__ == "__main__":
    sys.exit(main())
