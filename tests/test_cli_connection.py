"""Bad connection options (``--endpoint-url``, ``AWS_ENDPOINT_URL``, ``--workers``): one line on
stderr and exit 2, never a traceback; the library refuses them with an ``InputError`` too."""

from __future__ import annotations

import io
from typing import Any

import boto3
import botocore.config
import pytest

from trailkit.aws.reader import Reader
from trailkit.aws.session import MAX_WORKERS, Connection
from trailkit.errors import InputError, translate
from trailkit.ui.cli import main

GOOD = "alias/cloudtrail-good"


def _cli(argv: list[str]) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    return main(argv, out=out, err=err), out.getvalue(), err.getvalue()


BAD_ENDPOINTS = [
    "garbage",
    "http://",
    "http://127.0.0.1:99999",
    "http://[::1",
    "ftp://127.0.0.1:5000",
    "http://127.0.0.1:0",
    "http://127.0.0.1:5000/wrong/path",
    "http://127.0.0.1:5000?region=us-east-1",
    "http://user:secret@127.0.0.1:5000",
    "http://127.0.0.1:port",
    " http://127.0.0.1:5000",
    # a bare '#' or '?' parses as an empty fragment or query, but is not an endpoint either
    "http://127.0.0.1:5000#",
    "http://127.0.0.1:5000?",
]


@pytest.mark.parametrize("source", ["--endpoint-url", "AWS_ENDPOINT_URL"])
@pytest.mark.parametrize("url", BAD_ENDPOINTS)
def test_a_bad_endpoint_is_one_line_and_exit_2(
    monkeypatch: pytest.MonkeyPatch, source: str, url: str
) -> None:
    if source == "AWS_ENDPOINT_URL":
        monkeypatch.setenv("AWS_ENDPOINT_URL", url)
        argv = ["inventory", "--regions", "us-east-1"]
    else:
        monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
        argv = ["--endpoint-url", url, "inventory", "--regions", "us-east-1"]
    code, out, err = _cli(argv)
    assert code == 2
    assert "Traceback" not in err
    assert len(err.strip().splitlines()) == 1, err
    assert source in err and "endpoint URL" in err
    assert out == ""


def test_the_endpoint_path_is_checked_against_a_live_server(demo: Any) -> None:
    endpoint, _ = demo
    code, _, err = _cli(["--endpoint-url", f"{endpoint}/wrong/path", "inventory"])
    assert code == 2 and "no path" in err and "Traceback" not in err
    code, _, err = _cli(
        ["--endpoint-url", f"{endpoint}/", "check", "--trail", "org-trail", "--key", GOOD]
    )
    assert code == 0, err


@pytest.mark.parametrize(
    "url", ["garbage", "http://", "http://127.0.0.1:99999", "http://[::1", "ftp://127.0.0.1:1"]
)
def test_botocores_endpoint_errors_are_translated(url: str) -> None:
    # what botocore raises for these, without trailkit's own check in front of it
    client_error: BaseException | None = None
    try:
        client = boto3.Session(aws_access_key_id="x", aws_secret_access_key="x").client(
            "sts",
            region_name="us-east-1",
            endpoint_url=url,
            config=botocore.config.Config(retries={"total_max_attempts": 1}),
        )
        client.get_caller_identity()
    except Exception as exc:
        client_error = exc
    assert client_error is not None
    err = translate(client_error, "GetCallerIdentity")
    assert isinstance(err, InputError)
    assert "endpoint URL" in str(err) and "\n" not in str(err)


@pytest.mark.parametrize("url", ["garbage", "http://[::1", "http://127.0.0.1:99999"])
def test_a_connection_refuses_a_bad_endpoint(url: str) -> None:
    with pytest.raises(InputError, match="--endpoint-url"):
        Connection(endpoint_url=url)


@pytest.mark.parametrize("workers", ["0", "-1", "65", "100000", "many", "1.5"])
def test_workers_outside_1_to_64_is_a_usage_error(workers: str) -> None:
    code, out, err = _cli(["--workers", workers, "inventory"])
    assert code == 2 and out == "" and "Traceback" not in err
    assert "argument --workers" in err
    if workers.lstrip("-").isdigit():
        assert f"between 1 and {MAX_WORKERS}" in err


@pytest.mark.parametrize("workers", [0, -1, MAX_WORKERS + 1, 100_000, True])
def test_connection_and_reader_refuse_unbounded_workers(workers: int) -> None:
    with pytest.raises(InputError, match="--workers"):
        Connection(endpoint_url="http://127.0.0.1:1", workers=workers)
    conn = Connection(endpoint_url="http://127.0.0.1:1", workers=MAX_WORKERS)
    with pytest.raises(InputError, match="--workers"):
        Reader(conn, workers=workers)
    assert Reader(conn).workers == MAX_WORKERS and Reader(conn, workers=1).workers == 1
