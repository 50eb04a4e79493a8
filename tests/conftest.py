"""Shared fixtures: a local moto server, connections to it, and fault injection hooks."""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import requests
from moto.server import ThreadedMotoServer

from trailkit.aws.session import Connection

logging.getLogger("werkzeug").setLevel(logging.ERROR)

# Connections to the local moto server sign with the environment's credentials (moto accepts
# any): without any configured, the demo's placeholder ones. ``Connection`` itself has no
# demo-only fallback; ``trailkit.demo.demo_connection`` passes them explicitly.
# The tests read trailkit's English texts: English whatever the machine's locale (the Japanese
# ones are tested where the language is set on purpose, tests/test_i18n.py).
os.environ["TRAILKIT_LANG"] = "en"
if not os.environ.get("AWS_ACCESS_KEY_ID"):
    os.environ["AWS_ACCESS_KEY_ID"] = os.environ["AWS_SECRET_ACCESS_KEY"] = "trailkit-demo"


@pytest.fixture(autouse=True)
def _language_restored() -> Iterator[None]:
    """Each test starts in the language the one before it started in: a CLI run with
    ``--lang ja`` chooses Japanese for the process (as it should for a real process), which
    made a later file's English assertions fail depending on the order the files ran in."""
    from trailkit import i18n

    current, process = i18n._current.get(), list(i18n._process)
    yield
    i18n._current.set(current)
    i18n._process[:] = process


@pytest.fixture(scope="session")
def moto_endpoint() -> Iterator[str]:
    """A moto server on a free port of 127.0.0.1 for this test session (with the demo's moto
    fixes: AWS-shaped multi-Region key ids, separate replica configuration, lazy RSA keys)."""
    from trailkit.demo import patch_moto

    patch_moto()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    yield f"http://{host}:{port}"
    server.stop()


@pytest.fixture
def clean_moto(moto_endpoint: str) -> str:
    """The moto endpoint, emptied before the test."""
    requests.post(f"{moto_endpoint}/moto-api/reset", timeout=10)
    _STATE["seeded"] = False
    return moto_endpoint


@pytest.fixture
def conn(clean_moto: str) -> Connection:
    """A connection to an empty moto server."""
    return Connection(endpoint_url=clean_moto, region="us-east-1", workers=4)


def fail_call(
    conn: Connection,
    service: str,
    operation: str,
    *,
    code: str = "AccessDeniedException",
    status: int = 400,
    message: str = "injected",
    regions: tuple[str, ...] | None = None,
    when: Callable[[dict[str, Any]], bool] | None = None,
) -> None:
    """Make ``operation`` fail with ``code`` (for chosen regions) on this connection's clients.

    Works by registering a ``before-call`` handler that returns a canned error response, so the
    request never reaches the server (botocore raises ``ClientError`` from it).
    """

    def handler(model: Any, params: Any, context: Any, **_: Any) -> Any:
        region = context.get("client_region")
        if regions is not None and region not in regions:
            return None
        if when is not None and not when(params):
            return None
        body = {
            "Error": {"Code": code, "Message": message},
            "ResponseMetadata": {"HTTPStatusCode": status, "RequestId": "injected"},
        }
        return _FakeHttp(status), body

    original = conn.client

    def client(svc: str, region: str | None = None) -> Any:
        c = original(svc, region)
        if svc == service and not getattr(c, f"_tk_fail_{operation}", False):
            c.meta.events.register_first(f"before-call.{service}.{operation}", handler)
            setattr(c, f"_tk_fail_{operation}", True)
        return c

    conn.client = client  # type: ignore[method-assign]


class _FakeHttp:
    def __init__(self, status: int) -> None:
        self.status_code = status
        self.headers: dict[str, str] = {}
        self.content = b""


# -- the demo estate ---------------------------------------------------------------------------
# moto keeps its state per process, shared by every server in it: one server, reseeded when a
# test has changed it (tests that change state use ``demo_rw``; ``clean_moto`` empties it).

_STATE = {"seeded": False}


@pytest.fixture
def demo(moto_endpoint: str) -> Any:
    """The seeded demo estate (read-only use): ``(endpoint, DemoEstate)``."""
    from trailkit.demo import reset, seed_demo

    if not _STATE["seeded"]:
        reset(moto_endpoint)
        _STATE["estate"] = seed_demo(Connection(endpoint_url=moto_endpoint, region="us-east-1"))
        _STATE["seeded"] = True
    return moto_endpoint, _STATE["estate"]


@pytest.fixture
def demo_rw(demo: Any) -> Iterator[Any]:
    """The seeded demo estate for a test that changes it (reseeded afterwards)."""
    yield demo
    _STATE["seeded"] = False


@pytest.fixture
def demo_conn(demo: Any) -> Connection:
    """A connection to the demo estate as the management account."""
    return Connection(endpoint_url=demo[0], region="us-east-1", workers=8)
