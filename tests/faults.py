"""Deterministic fault injection for tests against the local moto server.

Two injectors share one description of the faults (:class:`Fault`) and one decision procedure
(:class:`FaultInjector`):

* **in process**: :meth:`FaultInjector.install` (one :class:`~trailkit.aws.session.Connection`) or
  :meth:`FaultInjector.patch_connections` (every connection made while a test runs, e.g. by
  ``trailkit.ui.cli.main``) registers a botocore ``before-send`` handler on each client. The handler
  returns a canned :class:`~botocore.awsrequest.AWSResponse` (throttling, HTML 500, access
  denied, expired token, in the service's own wire protocol) or raises botocore's own transport
  errors (connection reset, read timeout). Everything after ``before-send`` is botocore's real
  code: response parsing, the ``standard``/``adaptive`` retry decision, the retry quota, the
  backoff sleep and the client-side rate limiter.
* **across processes**: :class:`FaultProxy` is a small HTTP server in front of the moto server
  that applies the same faults on the wire (including a real TCP reset), for tests that run
  ``python -m trailkit`` in a subprocess with ``--endpoint-url`` pointing at the proxy.

Faults hit chosen operations, services and regions, either at a rate or on chosen attempts. The
rate is decided per request from a hash of ``(seed, service, operation, region, request body,
attempt number of that request)``, so the same seed injects the same faults whatever order the
worker threads send their requests in.

Kinds (:data:`KINDS`)::

    throttle          the service's throttling error (ThrottlingException, SlowDown, ...)
    500               HTTP 500 with a generic HTML body (``<html>...``), which botocore retries
    html-500          moto's own internal error page (``<!doctype html>...``): botocore retries it
                      for JSON services but cannot parse it for XML ones (STS, EC2, S3)
    reset             connection reset before the request reaches the server
    timeout           read timeout before the request reaches the server
    reset-after-send  the server receives and applies the request, then the connection resets
    timeout-after-send  the server applies it, then the read times out
    denied            access denied naming the IAM action (``moto_style``: moto's 403 XML)
    expired           expired security token
"""

from __future__ import annotations

import contextlib
import hashlib
import http.client
import json
import random
import socket
import struct
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

import botocore.exceptions
import pytest
from botocore.awsrequest import AWSResponse

from trailkit.aws.session import Connection

__all__ = [
    "KINDS",
    "Fault",
    "FaultInjector",
    "FaultProxy",
    "Injection",
    "faults_fixture",
    "iam_action",
    "quick_backoff_fixture",
]

KINDS = (
    "throttle",
    "500",
    "html-500",
    "reset",
    "timeout",
    "reset-after-send",
    "timeout-after-send",
    "denied",
    "expired",
)

#: Wire protocol of each service trailkit talks to.
PROTOCOLS = {
    "cloudtrail": "json",
    "kms": "json",
    "sts": "query",
    "iam": "query",
    "ec2": "ec2",
    "s3": "rest-xml",
}

#: IAM actions whose name differs from ``service:Operation``.
_ACTION_NAMES = {
    ("s3", "GetBucketEncryption"): "s3:GetEncryptionConfiguration",
    ("s3", "HeadBucket"): "s3:ListBucket",
}

_S3_QUERY_OPERATIONS = {
    "location": "GetBucketLocation",
    "encryption": "GetBucketEncryption",
    "policy": "GetBucketPolicy",
}

_CALLER = "arn:aws:iam::123456789012:user/trailkit-test"


def iam_action(service: str, operation: str) -> str:
    """The IAM action an operation needs (``s3:GetBucketEncryption`` is special)."""
    return _ACTION_NAMES.get((service, operation), f"{service}:{operation}")


@dataclass(frozen=True)
class Fault:
    """One kind of fault and where it strikes.

    Parameters
    ----------
    kind
        One of :data:`KINDS`.
    operations, services, regions
        Only requests of these operations (``"DescribeTrails"``), services (``"kms"``) and
        regions; None matches all.
    rate
        Probability that a matching attempt is hit (decided by the seeded hash).
    calls
        Hit exactly these matching attempts (1-based, counted in the order they are sent);
        overrides ``rate``.
    limit
        Hit at most this many attempts in total.
    moto_style
        For ``denied``: answer as moto's IAM enforcement does (HTTP 403, XML body, so botocore
        reads ``Error.Code`` ``"403"`` for JSON services) instead of AWS's JSON error.
    """

    kind: str
    operations: frozenset[str] | None = None
    services: frozenset[str] | None = None
    regions: frozenset[str] | None = None
    rate: float = 1.0
    calls: frozenset[int] | None = None
    limit: int | None = None
    moto_style: bool = False

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"unknown fault kind {self.kind!r}; use one of {KINDS}")
        for name in ("operations", "services", "regions", "calls"):
            value = getattr(self, name)
            if value is not None and not isinstance(value, frozenset):
                object.__setattr__(self, name, frozenset(value))

    def matches(self, service: str, operation: str, region: str) -> bool:
        """True when a request of this service, operation and region is in scope."""
        return (
            (self.operations is None or operation in self.operations)
            and (self.services is None or service in self.services)
            and (self.regions is None or region in self.regions)
        )


@dataclass(frozen=True)
class Injection:
    """A record of one injected fault."""

    kind: str
    service: str
    operation: str
    region: str


@dataclass
class _Canned:
    status: int
    headers: dict[str, str]
    body: bytes


class _Raw:
    """The ``raw`` object botocore reads an :class:`AWSResponse` body from."""

    def __init__(self, body: bytes) -> None:
        self._body = body

    def stream(self, **_: Any) -> Iterator[bytes]:
        yield self._body


@dataclass
class FaultInjector:
    """Decides which requests fail and how; installs itself on connections.

    Parameters
    ----------
    faults
        The faults, tried in order; the first that matches and fires wins.
    seed
        Seed of the per-request decisions.
    """

    faults: list[Fault] = field(default_factory=list)
    seed: int = 0
    injected: list[Injection] = field(default_factory=list)
    sent: Counter[str] = field(default_factory=Counter)
    enabled: bool = True

    def __post_init__(self) -> None:
        self._lock = threading.Lock()
        self._attempts: Counter[str] = Counter()
        self._matching: Counter[int] = Counter()
        self._fired: Counter[int] = Counter()

    # -- configuration -------------------------------------------------------------------
    def add(self, kind: str, **where: Any) -> FaultInjector:
        """Add a fault (see :class:`Fault`); returns self for chaining."""
        self.faults.append(Fault(kind, **where))
        return self

    def clear(self) -> None:
        """Remove every fault (requests pass through from now on)."""
        with self._lock:
            self.faults.clear()

    def count(self, kind: str | None = None, operation: str | None = None) -> int:
        """How many faults were injected (of this kind, for this operation)."""
        with self._lock:
            return sum(
                1
                for i in self.injected
                if (kind is None or i.kind == kind)
                and (operation is None or i.operation == operation)
            )

    # -- the decision --------------------------------------------------------------------
    def decide(self, service: str, operation: str, region: str, identity: bytes) -> Fault | None:
        """The fault for this attempt of a request, or None to let it through.

        ``identity`` is what makes two requests the same (body, path and query); the n-th
        attempt of the same request gets the same answer with the same seed.
        """
        digest = hashlib.sha256(identity).hexdigest()[:16]
        key = f"{service}|{operation}|{region}|{digest}"
        with self._lock:
            self.sent[f"{service}:{operation}"] += 1
            if not self.enabled:
                return None
            self._attempts[key] += 1
            attempt = self._attempts[key]
            for index, fault in enumerate(self.faults):
                if not fault.matches(service, operation, region):
                    continue
                self._matching[index] += 1
                if fault.limit is not None and self._fired[index] >= fault.limit:
                    continue
                if fault.calls is not None:
                    fire = self._matching[index] in fault.calls
                else:
                    roll = random.Random(f"{self.seed}|{index}|{key}|{attempt}").random()
                    fire = roll < fault.rate
                if fire:
                    self._fired[index] += 1
                    self.injected.append(Injection(fault.kind, service, operation, region))
                    return fault
        return None

    # -- canned responses ----------------------------------------------------------------
    @staticmethod
    def canned(fault: Fault, service: str, operation: str) -> _Canned:
        """The HTTP response a fault of a response kind produces, in the service's protocol."""
        protocol = PROTOCOLS.get(service, "json")
        rid = (
            "fault-"
            + hashlib.sha256(f"{service}{operation}{time.time_ns()}".encode()).hexdigest()[:12]
        )
        if fault.kind == "500":  # a generic HTML 5xx, as botocore recognises it
            body = b"<html><body><b>500 Internal Server Error</b></body></html>"
            return _Canned(500, {"Content-Type": "text/html; charset=utf-8"}, body)
        if fault.kind == "html-500":  # moto's (werkzeug's) internal error page, byte for byte
            body = (
                b"<!doctype html>\n<html lang=en>\n<title>500 Internal Server Error</title>\n"
                b"<h1>Internal Server Error</h1>\n<p>The server encountered an internal error "
                b"and was unable to complete your request.</p>\n"
            )
            return _Canned(500, {"Content-Type": "text/html; charset=utf-8"}, body)
        action = iam_action(service, operation)
        if fault.kind == "throttle":
            code = {
                "json": "ThrottlingException",
                "query": "Throttling",
                "ec2": "RequestLimitExceeded",
                "rest-xml": "SlowDown",
            }[protocol]
            status = 503 if protocol in ("ec2", "rest-xml") else 400
            message = "Rate exceeded"
        elif fault.kind == "denied":
            code = {
                "json": "AccessDeniedException",
                "query": "AccessDenied",
                "ec2": "UnauthorizedOperation",
                "rest-xml": "AccessDenied",
            }[protocol]
            status = 400 if protocol == "json" else 403
            message = f"User: {_CALLER} is not authorized to perform: {action}"
            if fault.moto_style:
                body = (
                    "<?xml version='1.0' encoding='UTF-8'?><ErrorResponse><Errors><Error>"
                    f"<Code>AccessDenied</Code><Message>{message}</Message></Error></Errors>"
                    "</ErrorResponse>"
                ).encode()
                return _Canned(403, {"Content-Type": "application/xml"}, body)
        elif fault.kind == "expired":
            code = {
                "json": "ExpiredTokenException",
                "query": "ExpiredToken",
                "ec2": "RequestExpired",
                "rest-xml": "ExpiredToken",
            }[protocol]
            status = 400 if protocol in ("json", "rest-xml", "ec2") else 403
            message = "The security token included in the request is expired"
        else:
            raise ValueError(f"{fault.kind} is not a response fault")
        if protocol == "json":
            payload = json.dumps({"__type": code, "message": message}).encode()
            headers = {"Content-Type": "application/x-amz-json-1.1", "x-amzn-RequestId": rid}
            return _Canned(status, headers, payload)
        if protocol == "ec2":
            xml = (
                f"<Response><Errors><Error><Code>{code}</Code><Message>{message}</Message>"
                f"</Error></Errors><RequestID>{rid}</RequestID></Response>"
            )
        elif protocol == "rest-xml":
            xml = (
                f"<Error><Code>{code}</Code><Message>{message}</Message>"
                f"<RequestId>{rid}</RequestId></Error>"
            )
        else:
            xml = (
                f"<ErrorResponse><Error><Type>Sender</Type><Code>{code}</Code>"
                f"<Message>{message}</Message></Error><RequestId>{rid}</RequestId>"
                "</ErrorResponse>"
            )
        return _Canned(status, {"Content-Type": "text/xml", "x-amzn-RequestId": rid}, xml.encode())

    # -- in process: botocore before-send ------------------------------------------------
    def _handler(self, client: Any) -> Callable[..., Any]:
        service = client.meta.service_model.endpoint_prefix
        region = client.meta.region_name

        def before_send(request: Any, event_name: str = "", **_: Any) -> Any:
            operation = event_name.rsplit(".", 1)[-1]
            body = request.body or b""
            if isinstance(body, str):
                body = body.encode()
            if not isinstance(body, bytes):  # a stream: identify by URL only
                body = b""
            parts = urlsplit(request.url)
            fault = self.decide(
                service, operation, region, body + parts.path.encode() + parts.query.encode()
            )
            if fault is None:
                return None
            if fault.kind in ("reset", "timeout", "reset-after-send", "timeout-after-send"):
                if fault.kind.endswith("-after-send"):
                    response = client._endpoint.http_session.send(request)
                    _ = response.content  # the server has answered; the client never hears it
                if fault.kind.startswith("reset"):
                    raise botocore.exceptions.ConnectionClosedError(endpoint_url=request.url)
                raise botocore.exceptions.ReadTimeoutError(endpoint_url=request.url)
            canned = self.canned(fault, service, operation)
            return AWSResponse(request.url, canned.status, canned.headers, _Raw(canned.body))

        return before_send

    def install(self, conn: Connection) -> Connection:
        """Inject into every client ``conn`` makes (made before or after this call)."""
        original = conn.client

        def client(service: str, region: str | None = None) -> Any:
            c = original(service, region)
            self._arm(c)
            return c

        conn.client = client  # type: ignore[method-assign]
        return conn

    def _arm(self, client: Any) -> None:
        with self._lock:
            if getattr(client, "_tk_faults", None) is self:
                return
            client._tk_faults = self
        client.meta.events.register_first("before-send", self._handler(client))

    def patch_connections(self, monkeypatch: pytest.MonkeyPatch) -> None:
        """Inject into every client of every :class:`Connection` until the test ends."""
        original = Connection.client
        injector = self

        def client(conn: Connection, service: str, region: str | None = None) -> Any:
            c = original(conn, service, region)
            injector._arm(c)
            return c

        monkeypatch.setattr(Connection, "client", client)


@pytest.fixture(name="faults")
def faults_fixture(monkeypatch: pytest.MonkeyPatch) -> FaultInjector:
    """A :class:`FaultInjector` (seed 1234) armed on every connection made during the test."""
    injector = FaultInjector(seed=1234)
    injector.patch_connections(monkeypatch)
    return injector


@pytest.fixture(name="quick_backoff")
def quick_backoff_fixture(monkeypatch: pytest.MonkeyPatch) -> None:
    """Compress botocore's retry timing 20x: the backoff sleeps of the standard and adaptive modes
    are 20 times shorter and the adaptive rate limiter's floor is 20 times higher (0.5 -> 10
    requests/s). The retry decisions, the retry quota and the rate limiter's logic are unchanged.
    """
    from botocore.retries import bucket, standard

    original_delay = standard.ExponentialBackoff.delay_amount
    original_init = bucket.TokenBucket.__init__

    def delay_amount(self: Any, context: Any) -> float:
        return float(original_delay(self, context)) / 20

    def init(self: Any, max_rate: float, clock: Any, min_rate: float = 0.5) -> None:
        original_init(self, max_rate, clock, min_rate=min_rate * 20)

    monkeypatch.setattr(standard.ExponentialBackoff, "delay_amount", delay_amount)
    monkeypatch.setattr(bucket.TokenBucket, "__init__", init)


# -- across processes: an HTTP proxy -----------------------------------------------------------


def _describe(method: str, path: str, headers: Any, body: bytes) -> tuple[str, str, str]:
    """(service, operation, region) of a signed AWS request."""
    auth = headers.get("Authorization") or ""
    scope = auth.split("Credential=", 1)[-1].split(",", 1)[0].split("/")
    region = scope[2] if len(scope) > 3 else "us-east-1"
    service = scope[3] if len(scope) > 3 else "unknown"
    target = headers.get("X-Amz-Target")
    if target:
        return service, target.rsplit(".", 1)[-1], region
    if service == "s3":
        query = parse_qs(urlsplit(path).query, keep_blank_values=True)
        for name, operation in _S3_QUERY_OPERATIONS.items():
            if name in query:
                return service, operation, region
        return service, f"S3{method.title()}", region
    action = parse_qs(body.decode("utf-8", "replace")).get("Action") or parse_qs(
        urlsplit(path).query
    ).get("Action")
    return service, (action[0] if action else "Unknown"), region


class FaultProxy:
    """An HTTP server that forwards to ``upstream`` and injects ``injector``'s faults.

    ``timeout`` faults hold the request for ``hold`` seconds (longer than the client's read
    timeout) before closing; ``reset`` faults close the socket with a TCP RST.
    """

    def __init__(self, upstream: str, injector: FaultInjector, *, hold: float = 2.0) -> None:
        self.upstream = urlsplit(upstream)
        self.injector = injector
        self.hold = hold
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: Any) -> None:
                pass

            def _any(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                service, operation, region = _describe(self.command, self.path, self.headers, body)
                fault = proxy.injector.decide(service, operation, region, body + self.path.encode())
                if fault is not None and fault.kind in ("reset", "timeout"):
                    self._drop(fault.kind)
                    return
                if fault is not None and not fault.kind.endswith("-after-send"):
                    canned = proxy.injector.canned(fault, service, operation)
                    self._reply(canned.status, canned.headers, canned.body)
                    return
                status, headers, payload = proxy._forward(
                    self.command, self.path, self.headers, body
                )
                if fault is not None:
                    self._drop(fault.kind.removesuffix("-after-send"))
                    return
                self._reply(status, headers, payload)

            do_GET = do_POST = do_PUT = do_DELETE = do_HEAD = _any

            def _reply(self, status: int, headers: dict[str, str], body: bytes) -> None:
                self.send_response(status)
                for name, value in headers.items():
                    if name.lower() not in ("content-length", "transfer-encoding", "connection"):
                        self.send_header(name, value)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(body)

            def _drop(self, kind: str) -> None:
                if kind == "timeout":
                    time.sleep(proxy.hold)
                sock = self.connection
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                sock.close()
                self.close_connection = True

            def finish(self) -> None:
                with contextlib.suppress(OSError, ValueError):
                    super().finish()

        class Server(ThreadingHTTPServer):
            daemon_threads = True

            def handle_error(self, request: Any, client_address: Any) -> None:
                pass

        self._server = Server(("127.0.0.1", 0), Handler)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def _forward(
        self, method: str, path: str, headers: Any, body: bytes
    ) -> tuple[int, dict[str, str], bytes]:
        host = self.upstream.hostname or "127.0.0.1"
        conn = http.client.HTTPConnection(host, self.upstream.port, timeout=30)
        try:
            # The signature covers the Host header: keep the client's.
            conn.putrequest(method, path, skip_host=True, skip_accept_encoding=True)
            for name, value in headers.items():
                conn.putheader(name, value)
            conn.endheaders(body or None)
            response = conn.getresponse()
            return response.status, dict(response.getheaders()), response.read()
        finally:
            conn.close()

    @property
    def endpoint(self) -> str:
        """The proxy's URL, for ``--endpoint-url``."""
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def __enter__(self) -> FaultProxy:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()
