"""A local moto server where every AWS request waits a configurable latency, seeded with a
synthetic CloudTrail/KMS estate. Run by ``bench/inventory.py`` in a process of its own, so that
the server's CPU does not compete with the measured client for one GIL.

Usage (what ``bench/inventory.py`` does)::

    python bench/latency_server.py '{"regions": 17, "trails": 40, ...}'

prints one JSON line ``{"port": ..., "estate": {...}}`` once the estate is seeded, then serves on
``127.0.0.1`` until killed. Two control routes are not delayed and never reach moto:

* ``POST /_bench/latency?ms=50`` sets the latency of every later request;
* ``GET /_bench/stats`` returns ``{"requests": n, "cpu_s": s}`` (AWS requests served, CPU time of
  this process).

Seeding goes straight through moto's backends in this process (no HTTP, no latency), with
:func:`trailkit.demo.patch_moto` making the RSA private keys moto creates for every KMS key lazy;
1,700 keys take a fraction of a second.

Two moto costs that real AWS does not have are cached away here (they are per request and would
dominate the server's CPU): moto lists its own package directory on every request to find the
service (``moto.backends.list_of_moto_modules``) and inspects the response class's methods
(``moto.core.utils.method_names_from_class``). Both answers never change while the server runs.
"""

from __future__ import annotations

import functools
import json
import logging
import sys
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field
from typing import Any
from urllib.parse import parse_qs

from estate import (
    ACCOUNT,
    AWS_MANAGED,
    EstateSpec,
    bucket_policy,
    is_usable,
    key_aliases,
    key_kind,
    key_policy,
    trail_plans,
)

StartResponse = Callable[..., Any]
Environ = dict[str, Any]


# -- the estate ------------------------------------------------------------------------------


@dataclass
class Estate:
    """What was seeded (JSON-ready)."""

    regions: list[str]
    bucket_regions: list[str]
    trails: int = 0
    multi_region_trails: int = 0
    kms_trails: int = 0
    buckets: int = 0
    customer_keys: int = 0
    aws_managed_keys: int = 0
    usable_keys: dict[str, int] = field(default_factory=dict)
    keys_per_region: int = 0
    #: Keys trails use whose rotation status the inventory reads (not pending deletion).
    rotation_keys: int = 0
    #: Issue 17's ownership reads: ``ListTags`` once per home region and 20 trails, and
    #: ``ListResourceTags`` once per (customer) key a trail uses.
    list_tags_calls: int = 0
    tagged_keys: int = 0
    seconds: float = 0.0


def seed(spec: EstateSpec) -> Estate:
    """Build the estate in this process's moto backends (moto must run in this process)."""
    from moto.cloudtrail.models import cloudtrail_backends
    from moto.kms.models import kms_backends
    from moto.s3.models import s3_backends

    from trailkit.demo import patch_moto

    started = time.perf_counter()
    patch_moto()
    regions = list(spec.region_names)
    estate = Estate(regions=regions, bucket_regions=list(spec.bucket_region_names))
    estate.keys_per_region = spec.keys_per_region
    key_arns: dict[str, list[str]] = {}
    tags = [{"TagKey": "trailkit:bench", "TagValue": "true"}]
    for region in regions:
        kms = kms_backends[ACCOUNT][region]
        arns = key_arns[region] = []
        for j in range(spec.keys_per_region):
            state, key_spec, usage = key_kind(j)
            policy = json.dumps(key_policy(j, region))
            key = kms.create_key(policy, usage, key_spec, f"bench key {j}", tags)
            arns.append(key.arn)
            for alias in key_aliases(j, region):
                kms.create_alias(key.id, alias)
            if state == "Disabled":
                kms.disable_key(key.id)
            elif state == "PendingDeletion":
                kms.schedule_key_deletion(key.id, 7)
        for alias in AWS_MANAGED:
            key = kms.create_key(None, "ENCRYPT_DECRYPT", "SYMMETRIC_DEFAULT", "Default key", None)
            key.key_manager = "AWS"
            kms.create_alias(key.id, alias)
        estate.customer_keys += spec.keys_per_region
        estate.aws_managed_keys += len(AWS_MANAGED)
        estate.usable_keys[region] = sum(is_usable(j) for j in range(spec.keys_per_region))

    s3 = s3_backends[ACCOUNT]["aws"]
    for name, region in spec.buckets:
        s3.create_bucket(name, region)
        s3.put_bucket_encryption(
            name,
            {
                "Rule": {
                    "ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"},
                    "BucketKeyEnabled": "false",
                }
            },
        )
    estate.buckets = len(spec.buckets)

    writers: dict[str, list[str]] = {}
    rotation_keys: set[str] = set()
    used_keys: set[str] = set()
    homes: dict[str, int] = {}
    for plan in trail_plans(spec):
        key_arn = (
            key_arns[plan.bucket_region][plan.key_index] if plan.key_index is not None else None
        )
        backend = cloudtrail_backends[ACCOUNT][plan.home]
        backend.create_trail(
            plan.name,
            plan.bucket,
            None,  # S3 key prefix
            None,  # SNS topic
            True,  # global service events
            plan.multi_region,
            plan.validation,
            False,  # organization trail
            None,  # CloudWatch Logs group
            None,  # CloudWatch Logs role
            key_arn,  # moto stores it as sent: the key ARN, as AWS would
            [],
        )
        backend.start_logging(plan.name)
        writers.setdefault(plan.bucket, []).append(plan.arn)
        estate.trails += 1
        estate.multi_region_trails += int(plan.multi_region)
        estate.kms_trails += int(key_arn is not None)
        pending = plan.key_index is not None and key_kind(plan.key_index)[0] == "PendingDeletion"
        if key_arn is not None and not pending:
            rotation_keys.add(key_arn)
        if key_arn is not None:
            used_keys.add(key_arn)
        homes[plan.home] = homes.get(plan.home, 0) + 1
    estate.rotation_keys = len(rotation_keys)
    estate.tagged_keys = len(used_keys)
    estate.list_tags_calls = sum(-(-n // 20) for n in homes.values())
    for name, _ in spec.buckets:
        arns = writers.get(name) or [f"arn:aws:cloudtrail:us-east-1:{ACCOUNT}:trail/none"]
        s3.put_bucket_policy(name, json.dumps(bucket_policy(name, arns)).encode())
    estate.seconds = time.perf_counter() - started
    return estate


# -- the server ------------------------------------------------------------------------------


def _speed_up_moto() -> None:
    """Cache two per-request answers of moto that never change (see the module docstring)."""
    import moto.backends
    import moto.core.responses

    modules = tuple(moto.backends.list_of_moto_modules())
    moto.backends.list_of_moto_modules = lambda: modules  # type: ignore[assignment]
    cached = functools.lru_cache(maxsize=None)(moto.core.responses.method_names_from_class)
    moto.core.responses.method_names_from_class = cached  # type: ignore[assignment]


class LatencyApp:
    """WSGI wrapper: every AWS request waits ``latency`` seconds, then goes to moto."""

    def __init__(self, app: Callable[[Environ, StartResponse], Iterable[bytes]]) -> None:
        self.app = app
        self.latency = 0.0
        self.requests = 0
        self._lock = threading.Lock()

    def __call__(self, environ: Environ, start_response: StartResponse) -> Iterable[bytes]:
        path = environ.get("PATH_INFO", "")
        if path.startswith("/_bench/"):
            return self._control(path, environ, start_response)
        with self._lock:
            self.requests += 1
        if self.latency > 0:
            time.sleep(self.latency)
        return self.app(environ, start_response)

    def _control(self, path: str, environ: Environ, start_response: StartResponse) -> list[bytes]:
        if path == "/_bench/latency":
            query = parse_qs(environ.get("QUERY_STRING", ""))
            self.latency = float(query.get("ms", ["0"])[0]) / 1000.0
            body: dict[str, Any] = {"latency_ms": self.latency * 1000}
        elif path == "/_bench/stats":
            body = {"requests": self.requests, "cpu_s": time.process_time()}
        else:
            start_response("404 Not Found", [("Content-Type", "application/json")])
            return [b"{}"]
        data = json.dumps(body).encode()
        start_response(
            "200 OK", [("Content-Type", "application/json"), ("Content-Length", str(len(data)))]
        )
        return [data]


def serve(spec: EstateSpec) -> None:
    """Seed, print ``{"port", "estate"}`` as one JSON line, serve until killed."""
    serve_seeded(lambda: seed(spec))


def serve_seeded(seed_estate: Callable[[], Any]) -> None:
    """Seed with ``seed_estate()`` (a dataclass), print ``{"port", "estate"}`` as one JSON line,
    then serve moto behind :class:`LatencyApp` until killed (``bench/org.py`` seeds its own)."""
    from moto.server import DomainDispatcherApplication, MotoRequestHandler, create_backend_app
    from werkzeug.serving import make_server

    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    _speed_up_moto()
    estate = seed_estate()
    app = LatencyApp(DomainDispatcherApplication(create_backend_app))
    server = make_server("127.0.0.1", 0, app, threaded=True, request_handler=MotoRequestHandler)
    server.daemon_threads = True  # type: ignore[attr-defined]
    port = server.server_address[1]
    print(json.dumps({"port": port, "estate": asdict(estate)}), flush=True)
    server.serve_forever()


if __name__ == "__main__":
    serve(EstateSpec(**json.loads(sys.argv[1] if len(sys.argv) > 1 else "{}")))
