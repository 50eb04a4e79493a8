"""The read layer's concurrency: the same answers and the same calls with 1, 2 or 16 workers, each
thing read once, caches that hold until refresh(), and reads that start as soon as what they
depend on is known (ordering checked with events, never with timings)."""

from __future__ import annotations

import json
import threading
from collections import Counter
from dataclasses import replace
from typing import Any

import pytest

from trailkit.aws.reader import Reader
from trailkit.aws.session import Connection
from trailkit.demo import DEMO_REGIONS, cloudtrail_key_policy, root_key_policy
from trailkit.records import Inventory, Trail
from trailkit.runbook import candidates

ACCOUNT = "123456789012"
SYNTHETIC_REGIONS = ["us-east-1", "eu-west-1", "ap-southeast-2"]
BUCKET_REGIONS = {"logs-use1": "us-east-1", "logs-euw1": "eu-west-1"}


# -- helpers -----------------------------------------------------------------------------------


def record_calls(
    conn: Connection, answered: list[tuple[str, dict[str, Any]]] | None = None
) -> list[tuple[str, str, dict[str, Any]]]:
    """Every API call made through ``conn`` from now on: (operation, region, parameters).

    ``answered``, when given, collects (operation, parameters) of the calls AWS answered
    successfully (HTTP 2xx): a call that failed (a timeout on a loaded machine) is read again
    by design (the reader forgets failures), so "read once" is about successful reads."""
    calls: list[tuple[str, str, dict[str, Any]]] = []
    lock = threading.Lock()

    def handler(model: Any, params: Any, context: Any, **_: Any) -> None:
        with lock:
            calls.append((model.name, context.get("client_region"), dict(params)))
            context["tk_params"] = dict(params)

    def after(model: Any, http_response: Any, context: Any, **_: Any) -> None:
        ok = http_response is not None and 200 <= http_response.status_code < 300
        if answered is not None and ok:
            with lock:
                answered.append((model.name, context.get("tk_params", {})))

    original = conn.client

    def client(service: str, region: str | None = None) -> Any:
        c = original(service, region)
        if not getattr(c, "_tk_recorded", False):
            c.meta.events.register("before-parameter-build", handler)
            c.meta.events.register("after-call", after)
            c._tk_recorded = True
        return c

    conn.client = client  # type: ignore[method-assign]
    return calls


def run_everything(conn: Connection, regions: list[str], workers: int) -> dict[str, Any]:
    """Inventory (with the candidate prefetch) + ranked candidate keys of every trail."""
    reader = Reader(conn, workers=workers)
    inv = reader.scan(regions, candidates=True)
    verdicts = {}
    for trail in inv.trails:
        if trail.bucket_region is None:
            continue
        _, ranked = candidates(reader, trail)
        verdicts[trail.arn] = [(v.key, v.kind, v.code, v.reason) for v in ranked]
    return {
        "inventory": _comparable(inv),
        "verdicts": verdicts,
        "candidates": {
            r: reader.candidate_keys(r)
            for r in sorted({t.bucket_region for t in inv.trails} - {None})
        },
        "calls": dict(conn.calls),
    }


def _comparable(inv: Inventory) -> dict[str, Any]:
    return {
        "regions": inv.regions,
        "trails": tuple(_timeless(t) for t in inv.trails),
        "keys": dict(inv.keys),
        "errors": inv.errors,
        "connection": inv.connection,
    }


def _timeless(trail: Trail) -> Trail:
    """moto's GetTrailStatus reports "now" as the latest delivery and delivery attempt: not part of
    the comparison."""
    if trail.status is None:
        return trail
    status = replace(
        trail.status,
        latest_delivery_time=None,
        latest_digest_delivery_time=None,
        latest_delivery_attempt_time=None,
        latest_delivery_attempt_succeeded=None,
    )
    return replace(trail, status=status)


# -- a synthetic estate ------------------------------------------------------------------------


def seed_synthetic(conn: Connection) -> dict[str, Any]:
    """Three regions, two bucket regions, six keys of different kinds per region, seven trails
    (two multi-Region, four with SSE-KMS, one naming a key that does not exist)."""
    made: dict[str, Any] = {"good": {}, "unusable": set(), "usable": set()}
    for region in SYNTHETIC_REGIONS:
        kms = conn.client("kms", region)
        kinds = [
            (
                "good",
                "SYMMETRIC_DEFAULT",
                "ENCRYPT_DECRYPT",
                cloudtrail_key_policy(ACCOUNT, region=region),
            ),
            ("root-only", "SYMMETRIC_DEFAULT", "ENCRYPT_DECRYPT", root_key_policy(ACCOUNT)),
            (
                "disabled",
                "SYMMETRIC_DEFAULT",
                "ENCRYPT_DECRYPT",
                cloudtrail_key_policy(ACCOUNT, region=region),
            ),
            (
                "pending",
                "SYMMETRIC_DEFAULT",
                "ENCRYPT_DECRYPT",
                cloudtrail_key_policy(ACCOUNT, region=region),
            ),
            ("signing", "RSA_2048", "SIGN_VERIFY", root_key_policy(ACCOUNT)),
            ("hmac", "HMAC_256", "GENERATE_VERIFY_MAC", root_key_policy(ACCOUNT)),
        ]
        for name, spec, usage, policy in kinds:
            meta = kms.create_key(KeySpec=spec, KeyUsage=usage, Policy=json.dumps(policy))[
                "KeyMetadata"
            ]
            kms.create_alias(AliasName=f"alias/{name}-{region}", TargetKeyId=meta["KeyId"])
            if name == "disabled":
                kms.disable_key(KeyId=meta["KeyId"])
            if name == "pending":
                kms.schedule_key_deletion(KeyId=meta["KeyId"], PendingWindowInDays=7)
            if name in ("good", "root-only"):
                made["usable"].add(meta["Arn"])
            else:
                made["unusable"].add(meta["Arn"])
            if name == "good":
                made["good"][region] = meta["Arn"]
    for bucket, region in BUCKET_REGIONS.items():
        s3 = conn.client("s3", region)
        if region == "us-east-1":
            s3.create_bucket(Bucket=bucket)
        else:
            s3.create_bucket(
                Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": region}
            )
        s3.put_bucket_policy(
            Bucket=bucket,
            Policy=json.dumps(
                {
                    "Version": "2012-10-17",
                    "Statement": [
                        {
                            "Sid": "AWSCloudTrailWrite",
                            "Effect": "Allow",
                            "Principal": {"Service": "cloudtrail.amazonaws.com"},
                            "Action": "s3:PutObject",
                            "Resource": f"arn:aws:s3:::{bucket}/*",
                        }
                    ],
                }
            ),
        )
    missing = f"arn:aws:kms:eu-west-1:{ACCOUNT}:key/00000000-0000-4000-8000-000000000000"
    trails = [
        ("all-regions", "us-east-1", "logs-use1", True, made["good"]["us-east-1"]),
        ("eu-local", "eu-west-1", "logs-euw1", False, made["good"]["eu-west-1"]),
        ("eu-plain", "eu-west-1", "logs-euw1", False, None),
        ("sydney", "ap-southeast-2", "logs-use1", False, made["good"]["us-east-1"]),
        ("sydney-eu", "ap-southeast-2", "logs-euw1", False, None),
        ("eu-global", "eu-west-1", "logs-use1", True, None),
        ("eu-missing-key", "eu-west-1", "logs-euw1", False, missing),
    ]
    for name, region, bucket, multi, key in trails:
        kwargs: dict[str, Any] = {"Name": name, "S3BucketName": bucket, "IsMultiRegionTrail": multi}
        if key:
            kwargs["KmsKeyId"] = key
        conn.client("cloudtrail", region).create_trail(**kwargs)
    made["used"] = {t[4] for t in trails if t[4]}
    made["missing"] = missing
    return made


@pytest.fixture
def synthetic(clean_moto: str) -> tuple[str, dict[str, Any]]:
    made = seed_synthetic(Connection(endpoint_url=clean_moto, region="us-east-1"))
    return clean_moto, made


# -- the same answers whatever the concurrency -------------------------------------------------


@pytest.mark.parametrize("workers", [2, 16])
def test_demo_estate_answers_and_calls_do_not_depend_on_workers(demo: Any, workers: int) -> None:
    endpoint, _ = demo
    regions = list(DEMO_REGIONS)
    one = run_everything(Connection(endpoint_url=endpoint, workers=1), regions, 1)
    many = run_everything(Connection(endpoint_url=endpoint, workers=workers), regions, workers)

    assert many["inventory"] == one["inventory"]
    assert many["verdicts"] == one["verdicts"]
    assert many["candidates"] == one["candidates"]
    assert many["calls"] == one["calls"]  # each thing read once, however many threads
    assert one["inventory"]["errors"] == ()
    assert {k.rsplit(":", 1)[0] for k in one["calls"]} == {"cloudtrail", "kms", "s3", "sts"}
    assert sum(len(v) for v in one["verdicts"].values()) > 0


@pytest.mark.parametrize("workers", [2, 16])
def test_synthetic_estate_answers_and_calls_do_not_depend_on_workers(
    synthetic: tuple[str, dict[str, Any]], workers: int
) -> None:
    endpoint, made = synthetic
    one = run_everything(Connection(endpoint_url=endpoint, workers=1), SYNTHETIC_REGIONS, 1)
    many = run_everything(
        Connection(endpoint_url=endpoint, workers=workers), SYNTHETIC_REGIONS, workers
    )

    assert many == one
    inv = one["inventory"]
    assert sorted(t.name for t in inv["trails"]) == [
        "all-regions",
        "eu-global",
        "eu-local",
        "eu-missing-key",
        "eu-plain",
        "sydney",
        "sydney-eu",
    ]
    everywhere = next(t for t in inv["trails"] if t.name == "all-regions")
    assert everywhere.seen_in == tuple(SYNTHETIC_REGIONS)  # region order, not completion order
    # The key that does not exist is a fact read completely (its trail is broken), not a failed
    # read: no scan error, and a KeyInfo that says so.
    assert not inv["errors"]
    assert inv["keys"][made["missing"]].error and inv["keys"][made["missing"]].missing
    calls = Counter(one["calls"])
    assert calls["cloudtrail:DescribeTrails"] == len(SYNTHETIC_REGIONS)
    assert calls["cloudtrail:GetTrailStatus"] == 7
    assert calls["s3:HeadBucket"] == len(BUCKET_REGIONS)  # once per bucket
    assert calls["s3:GetBucketLocation"] == 0  # HeadBucket named every region
    assert calls["s3:ListBuckets"] == 1  # once per reader
    assert calls["kms:ListKeys"] == len(set(BUCKET_REGIONS.values()))  # once per bucket region
    assert calls["kms:ListAliases"] == len(set(BUCKET_REGIONS.values()))
    # Every verdict of a trail covers every key of its bucket's region.
    for trail in inv["trails"]:
        assert len(one["verdicts"][trail.arn]) == 6


# -- each thing read once, and only what the answer needs ---------------------------------------


def test_only_used_and_usable_candidate_keys_get_their_policy_read(
    synthetic: tuple[str, dict[str, Any]],
) -> None:
    endpoint, made = synthetic
    conn = Connection(endpoint_url=endpoint, workers=16)
    answered: list[tuple[str, dict[str, Any]]] = []
    calls = record_calls(conn, answered)
    run_everything(conn, SYNTHETIC_REGIONS, 16)

    policy_reads = Counter(p["KeyId"] for op, p in answered if op == "GetKeyPolicy")
    described = Counter(p["KeyId"] for op, p in answered if op == "DescribeKey")
    attempted = {p["KeyId"] for op, _, p in calls if op == "GetKeyPolicy"}
    assert attempted == set(policy_reads)  # every key whose policy was asked for was read
    bucket_regions = set(BUCKET_REGIONS.values())
    usable_there = {a for a in made["usable"] if a.split(":")[3] in bucket_regions}
    in_use = made["used"] - {made["missing"]}
    assert set(policy_reads) == usable_there | in_use
    assert not set(policy_reads) & made["unusable"]  # disabled, pending, signing, HMAC: no policy
    assert set(policy_reads.values()) == {1}  # read once per key (successfully)
    assert set(described.values()) == {1}  # once per key, whether used, candidate or both
    # Nothing is read in the region without buckets beyond its trails.
    assert {r for op, r, _ in calls if op.startswith(("ListKeys", "DescribeKey"))} <= (
        bucket_regions
    )


def test_demo_estate_policies_are_read_for_used_and_usable_keys_only(demo: Any) -> None:
    endpoint, estate = demo
    conn = Connection(endpoint_url=endpoint, workers=16)
    calls = record_calls(conn)
    run_everything(conn, list(DEMO_REGIONS), 16)

    policy_reads = {p["KeyId"] for op, _, p in calls if op == "GetKeyPolicy"}
    keys = estate.keys
    assert keys["alias/cloudtrail-disabled"] in policy_reads  # disabled, but a trail uses it
    assert keys["alias/pending-deletion"] in policy_reads  # pending deletion, used (retiring-key)
    assert keys["alias/rsa-signing"] not in policy_reads  # blocked whatever the policy: not read
    assert keys["alias/cloudtrail-good"] in policy_reads  # usable candidate of us-east-1
    assert keys["alias/cloudtrail-good-apne1"] not in policy_reads  # no bucket in ap-northeast-1
    assert estate.keys["alias/shared-logs-key"] not in policy_reads  # another account's key


def test_candidate_keys_are_cached_per_region_until_refresh(demo: Any) -> None:
    endpoint, _ = demo
    conn = Connection(endpoint_url=endpoint, workers=8)
    reader = Reader(conn)
    first = reader.candidate_keys("us-east-1")
    assert conn.calls["kms:ListKeys"] == 1

    conn.reset_counts()
    assert reader.candidate_keys("us-east-1") == first
    assert conn.total_calls == 0  # cached: no API call at all
    reader.key(next(k.arn for k in first if k.policy is not None))
    assert conn.total_calls == 0  # the key, its aliases and its policy are cached too

    reader.refresh()
    assert reader.candidate_keys("us-east-1") == first
    assert conn.calls["kms:ListKeys"] == 1 and conn.calls["kms:DescribeKey"] == len(first)


def test_the_scan_prefetch_fills_the_candidate_cache(demo: Any) -> None:
    endpoint, _ = demo
    conn = Connection(endpoint_url=endpoint, workers=8)
    reader = Reader(conn)
    inv = reader.scan(list(DEMO_REGIONS), candidates=True)
    located = [t for t in inv.trails if t.bucket_region]  # not the unreadable or deleted bucket
    assert len(located) == len(inv.trails) - 2
    for trail in located:  # waits for the prefetch of each bucket region
        candidates(reader, trail)
    conn.reset_counts()
    for trail in located:
        candidates(reader, trail)
    assert conn.total_calls == 0


def test_a_plain_scan_reads_no_candidate_keys(demo: Any) -> None:
    endpoint, _ = demo
    conn = Connection(endpoint_url=endpoint, workers=8)
    inv = Reader(conn).scan(list(DEMO_REGIONS))
    assert conn.calls["kms:ListKeys"] == 0
    assert conn.calls["kms:DescribeKey"] == len(inv.keys)  # only the keys trails use
    assert conn.calls["kms:GetKeyPolicy"] == len(inv.keys)
    assert inv.calls == dict(conn.calls)
    assert sum(inv.calls.values()) == conn.total_calls


# -- reads start as soon as what they depend on is known ----------------------------------------


def test_bucket_and_key_reads_do_not_wait_for_every_region(
    synthetic: tuple[str, dict[str, Any]],
) -> None:
    """ap-southeast-2's DescribeTrails is held until the bucket of a us-east-1 trail has been
    located and the keys of its region listed: with phases (all regions first) this would never
    happen, and the hold would time out."""
    endpoint, _ = synthetic
    conn = Connection(endpoint_url=endpoint, workers=8)
    located = threading.Event()
    listed = threading.Event()
    released: list[bool] = []

    def handler(model: Any, context: Any, **_: Any) -> None:
        region = context.get("client_region")
        if model.name == "HeadBucket":
            located.set()
        if model.name == "ListKeys" and region == "us-east-1":
            listed.set()
        if model.name == "DescribeTrails" and region == "ap-southeast-2":
            released.append(located.wait(30) and listed.wait(30))

    original = conn.client

    def client(service: str, region: str | None = None) -> Any:
        c = original(service, region)
        if not getattr(c, "_tk_held", False):
            c.meta.events.register("before-call", handler)
            c._tk_held = True
        return c

    conn.client = client  # type: ignore[method-assign]
    reader = Reader(conn)
    inv = reader.scan(SYNTHETIC_REGIONS, candidates=True)

    assert released == [True]
    assert len(inv.trails) == 7 and not [e for e in inv.errors if e.operation != "DescribeKey"]


def test_a_pool_of_one_thread_never_deadlocks_on_nested_reads(demo: Any) -> None:
    """Reads that depend on other reads (a key needs its region's aliases, a candidate its key)
    never wait inside the pool, so even the smallest pool finishes."""
    endpoint, _ = demo
    reader = Reader(Connection(endpoint_url=endpoint), workers=2)
    reader._pool().size = 1  # one thread, but not the inline mode of workers=1
    inv = reader.scan(list(DEMO_REGIONS), candidates=True)
    for trail in inv.trails:
        if trail.bucket_region:  # no candidate keys for a bucket of unknown region
            candidates(reader, trail)
    assert inv.trails and not inv.errors
