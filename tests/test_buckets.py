"""What the reader learns about a trail's bucket: region (HeadBucket, even denied, then
GetBucketLocation), whether it exists, who owns it, and what could not be read.

botocore's Stubber answers what moto cannot produce (a 403 with or without the
``x-amz-bucket-region`` header, a denied GetBucketEncryption); the demo estate (moto, with the
demo's patches) checks the same facts end to end for a bucket of another account and a deleted
bucket.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from botocore.exceptions import ClientError
from botocore.stub import Stubber

from trailkit.aws.reader import Reader
from trailkit.aws.s3 import FOREIGN_REFUSAL
from trailkit.aws.session import Connection, ConnectionInfo
from trailkit.demo import DEMO_ACCOUNT, as_account, load_estate_spec
from trailkit.errors import AccessDenied, NotFound, translate

ACCOUNT = "123456789012"
BUCKET = "tk-logs"
# Stubbed reads in the order a one-worker reader makes them: HeadBucket, GetBucketLocation (only
# when HeadBucket gave no region) and ListBuckets on the connection's region (us-east-1), then
# GetBucketEncryption and GetBucketPolicy in the bucket's region.
_ENC = {
    "ServerSideEncryptionConfiguration": {
        "Rules": [
            {
                "ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"},
                "BucketKeyEnabled": True,
            }
        ]
    }
}
_POLICY = '{"Version": "2012-10-17", "Statement": []}'


def _conn() -> Connection:
    """A connection that never reaches a server: every call is answered by a Stubber."""
    conn = Connection(endpoint_url="http://127.0.0.1:9", region="us-east-1", workers=1)
    conn._info = ConnectionInfo(
        account=ACCOUNT,
        caller_arn=f"arn:aws:iam::{ACCOUNT}:user/test",
        endpoint="stub",
        region="us-east-1",
        demo=True,
    )
    return conn


@contextmanager
def _stubs(conn: Connection, *regions: str) -> Iterator[tuple[dict[str, Stubber], list[str]]]:
    """Stubbers for the S3 clients of us-east-1 and ``regions``, and the operations they were
    asked, in order (a Stubber answers before ``Connection.calls`` counts a call)."""
    sent: list[str] = []

    def record(model: Any, **_: Any) -> None:
        sent.append(model.name)

    stubs = {r: Stubber(conn.client("s3", r)) for r in dict.fromkeys(("us-east-1", *regions))}
    for stub in stubs.values():
        stub.client.meta.events.register("before-parameter-build.s3", record)
    for stub in stubs.values():
        stub.activate()
    try:
        yield stubs, sent
        for stub in stubs.values():
            stub.assert_no_pending_responses()
    finally:
        for stub in stubs.values():
            stub.deactivate()


def _denied(stub: Stubber, method: str, *, region_header: str | None = None) -> None:
    """The 403 S3 answers; a HEAD has no body, so botocore's code is the status ("403")."""
    head = method == "head_bucket"
    headers = {"x-amz-bucket-region": region_header} if region_header else {}
    stub.add_client_error(
        method,
        service_error_code="403" if head else "AccessDenied",
        service_message="Forbidden" if head else "Access Denied",
        http_status_code=403,
        response_meta={"HTTPHeaders": headers},
    )


def _listed(stub: Stubber, *names: str) -> None:
    stub.add_response(
        "list_buckets",
        {"Buckets": [{"Name": n} for n in names]},
        {"MaxBuckets": 10000},
    )


def _readable(stub: Stubber) -> None:
    stub.add_response("get_bucket_encryption", _ENC, {"Bucket": BUCKET})
    stub.add_response("get_bucket_policy", {"Policy": _POLICY}, {"Bucket": BUCKET})


def test_head_bucket_gives_the_region_and_listbuckets_the_owner() -> None:
    conn = _conn()
    reader = Reader(conn, workers=1)
    with _stubs(conn, "eu-west-1") as (stubs, sent):
        stubs["us-east-1"].add_response(
            "head_bucket", {"BucketRegion": "eu-west-1"}, {"Bucket": BUCKET}
        )
        _listed(stubs["us-east-1"], "other", BUCKET)
        _readable(stubs["eu-west-1"])
        bucket = reader.bucket(BUCKET)
    assert bucket.region == "eu-west-1"
    assert bucket.bucket_key is True and bucket.default_encryption == "AES256"
    assert bucket.policy == _POLICY
    assert bucket.owner_account == ACCOUNT
    assert not bucket.missing
    assert (bucket.error, bucket.encryption_error, bucket.policy_error) == (None, None, None)
    assert reader.errors == []
    assert sent == [
        "HeadBucket",  # answered: no GetBucketLocation
        "ListBuckets",
        "GetBucketEncryption",
        "GetBucketPolicy",
    ]


@pytest.mark.parametrize("owned", [True, False], ids=["own-bucket", "other-account"])
def test_a_denied_head_bucket_still_names_the_region(owned: bool) -> None:
    """The header of the 403 is enough: no GetBucketLocation, and the denial is not reported
    (nothing stayed unknown because of it). The reads that fail are the caller's missing
    permissions for its own bucket, and facts about another account's bucket."""
    conn = _conn()
    reader = Reader(conn, workers=1)
    with _stubs(conn, "ap-northeast-1") as (stubs, sent):
        _denied(stubs["us-east-1"], "head_bucket", region_header="ap-northeast-1")
        _listed(stubs["us-east-1"], *([BUCKET] if owned else []))
        _denied(stubs["ap-northeast-1"], "get_bucket_encryption")
        _denied(stubs["ap-northeast-1"], "get_bucket_policy")
        bucket = reader.bucket(BUCKET)
    assert "GetBucketLocation" not in sent
    assert bucket.region == "ap-northeast-1"
    assert bucket.bucket_key is None  # unknown, not False
    assert bucket.policy is None
    assert bucket.encryption_error and bucket.policy_error
    assert bucket.error == f"{bucket.encryption_error}; {bucket.policy_error}"
    if owned:
        assert bucket.owner_account == ACCOUNT
        assert "s3:GetEncryptionConfiguration" in bucket.encryption_error
        assert "s3:GetBucketPolicy" in bucket.policy_error
        assert [e.operation for e in reader.errors] == ["GetBucketEncryption", "GetBucketPolicy"]
    else:
        assert bucket.owner_account is None  # ListBuckets worked and does not list it
        assert bucket.encryption_error == f"GetBucketEncryption: AccessDenied ({FOREIGN_REFUSAL})"
        assert bucket.policy_error == f"GetBucketPolicy: AccessDenied ({FOREIGN_REFUSAL})"
        assert reader.errors == []  # not the caller's missing permissions: not a partial scan


def test_a_head_bucket_403_without_the_header_falls_back_to_get_bucket_location() -> None:
    conn = _conn()
    reader = Reader(conn, workers=1)
    with _stubs(conn) as (stubs, sent):
        _denied(stubs["us-east-1"], "head_bucket")
        stubs["us-east-1"].add_response("get_bucket_location", {}, {"Bucket": BUCKET})
        _listed(stubs["us-east-1"], BUCKET)
        _readable(stubs["us-east-1"])
        bucket = reader.bucket(BUCKET)
    assert bucket.region == "us-east-1"  # a null LocationConstraint
    assert bucket.bucket_key is True and bucket.owner_account == ACCOUNT
    assert reader.errors == []  # GetBucketLocation answered: the denied HeadBucket cost nothing
    assert sent[:2] == ["HeadBucket", "GetBucketLocation"]


@pytest.mark.parametrize("owned", [True, False, None], ids=["own", "other-account", "unknown"])
def test_when_neither_call_names_the_region_nothing_else_is_read(owned: bool | None) -> None:
    conn = _conn()
    reader = Reader(conn, workers=1)
    with _stubs(conn) as (stubs, sent):
        _denied(stubs["us-east-1"], "head_bucket")
        _denied(stubs["us-east-1"], "get_bucket_location")
        if owned is None:
            _denied(stubs["us-east-1"], "list_buckets")
        else:
            _listed(stubs["us-east-1"], *([BUCKET] if owned else []))
        bucket = reader.bucket(BUCKET)
    assert sent == ["HeadBucket", "GetBucketLocation", "ListBuckets"]  # nowhere to send more
    assert bucket.region is None
    assert bucket.bucket_key is None and bucket.policy is None
    assert bucket.encryption_error and bucket.policy_error  # nothing was read
    assert not bucket.missing
    assert bucket.owner_account == (ACCOUNT if owned else None)
    assert bucket.error
    noted = [(e.operation, e.permission, e.resource) for e in reader.errors]
    if owned is False:
        assert noted == []
        assert bucket.error == (
            f"HeadBucket: 403 ({FOREIGN_REFUSAL}); GetBucketLocation: AccessDenied "
            f"({FOREIGN_REFUSAL})"
        )
        return
    assert "s3:ListBucket" in bucket.error and "s3:GetBucketLocation" in bucket.error
    expected = {
        ("HeadBucket", "s3:ListBucket", f"s3://{BUCKET}"),
        ("GetBucketLocation", "s3:GetBucketLocation", f"s3://{BUCKET}"),
    }
    if owned is None:  # and ListBuckets' own denial
        expected.add(("ListBuckets", "s3:ListAllMyBuckets", "s3:ListBuckets"))
    assert sorted(noted) == sorted(expected)


@pytest.mark.parametrize("listed", [True, False])
def test_a_404_is_a_missing_bucket_not_a_denied_one(listed: bool) -> None:
    conn = _conn()
    reader = Reader(conn, workers=1)
    with _stubs(conn) as (stubs, sent):
        stubs["us-east-1"].add_client_error(
            "head_bucket",
            service_error_code="404",
            service_message="Not Found",
            http_status_code=404,
        )
        _listed(stubs["us-east-1"], *([BUCKET] if listed else []))
        bucket = reader.bucket(BUCKET)
    assert bucket.missing is True
    assert bucket.region is None and bucket.bucket_key is None and bucket.policy is None
    assert bucket.error == f"The bucket {BUCKET} does not exist (S3 answered 404 to HeadBucket)."
    assert bucket.encryption_error and bucket.policy_error
    assert bucket.owner_account is None
    assert reader.errors == []  # a fact about the estate, not a failed read
    assert sent == ["HeadBucket", "ListBuckets"]


def test_no_such_bucket_from_get_bucket_location_is_missing_too() -> None:
    conn = _conn()
    reader = Reader(conn, workers=1)
    with _stubs(conn) as (stubs, sent):
        _denied(stubs["us-east-1"], "head_bucket")
        stubs["us-east-1"].add_client_error(
            "get_bucket_location", service_error_code="NoSuchBucket", http_status_code=404
        )
        _listed(stubs["us-east-1"])
        bucket = reader.bucket(BUCKET)
    assert bucket.missing and bucket.region is None
    assert "NoSuchBucket to GetBucketLocation" in (bucket.error or "")
    assert reader.errors == []
    assert sent == ["HeadBucket", "GetBucketLocation", "ListBuckets"]


def test_listbuckets_is_read_once_per_reader_and_may_be_denied() -> None:
    conn = _conn()
    reader = Reader(conn, workers=1)
    with _stubs(conn) as (stubs, sent):
        stub = stubs["us-east-1"]
        stub.add_response("head_bucket", {"BucketRegion": "us-east-1"}, {"Bucket": BUCKET})
        _denied(stub, "list_buckets")
        _readable(stub)
        stub.add_response("head_bucket", {"BucketRegion": "us-east-1"}, {"Bucket": "second"})
        stub.add_response("get_bucket_encryption", _ENC, {"Bucket": "second"})
        stub.add_client_error("get_bucket_policy", service_error_code="NoSuchBucketPolicy")
        first, second = reader.bucket(BUCKET), reader.bucket("second")
    assert first.owner_account is None and second.owner_account is None  # unknown
    assert second.policy is None and second.policy_error is None  # no policy at all
    assert sent.count("ListBuckets") == 1
    (error,) = reader.errors
    assert (error.operation, error.permission) == ("ListBuckets", "s3:ListAllMyBuckets")
    reader.refresh()
    assert reader._owned == {}


def test_translate_carries_the_bucket_region_header() -> None:
    denied = translate(
        _client_error("403", 403, {"x-amz-bucket-region": "eu-central-1"}),
        "HeadBucket",
        permission="s3:ListBucket",
    )
    assert isinstance(denied, AccessDenied) and denied.bucket_region == "eu-central-1"
    assert denied.permission == "s3:ListBucket"
    missing = translate(_client_error("404", 404, {}), "HeadBucket", permission="s3:ListBucket")
    assert isinstance(missing, NotFound) and not isinstance(missing, AccessDenied)
    assert missing.bucket_region is None


def _client_error(code: str, status: int, headers: dict[str, str]) -> ClientError:
    response: Any = {
        "Error": {"Code": code, "Message": "Forbidden" if status == 403 else "Not Found"},
        "ResponseMetadata": {"HTTPStatusCode": status, "HTTPHeaders": headers},
    }
    return ClientError(response, "HeadBucket")


# -- the demo estate (moto, with the demo's patches) --------------------------------------------

BUCKET_OWNER = load_estate_spec().account("bucket-owner")  # 444455556666
PARTNER = "tk-partner-logs-use1"  # partner-bucket-trail's bucket, owned by 444455556666
DELETED = "tk-deleted-logs-use1"  # deleted-bucket-trail's bucket, deleted after the trail


def test_demo_bucket_of_another_account_is_unreadable_and_its_region_unknown(
    demo: Any, demo_conn: Connection
) -> None:
    _, estate = demo
    assert estate.trail_buckets["partner-bucket-trail"] == PARTNER
    assert estate.accounts[BUCKET_OWNER] == "bucket-owner"
    reader = Reader(demo_conn)
    trail = reader.find_trail("partner-bucket-trail")
    bucket = trail.bucket
    assert bucket is not None and bucket.name == PARTNER
    assert bucket.region is None and trail.bucket_region is None  # us-east-1, but unlearnable
    assert bucket.bucket_key is None and bucket.policy is None
    assert bucket.encryption_error and bucket.policy_error
    assert not bucket.missing
    assert bucket.owner_account is None  # another account's: ListBuckets does not list it
    assert bucket.error == (
        f"HeadBucket: 403 ({FOREIGN_REFUSAL}); GetBucketLocation: AccessDenied ({FOREIGN_REFUSAL})"
    )
    assert reader.errors == []  # the owner's refusal is not a permission the caller lacks
    # The bucket's owner reads it as usual: it is in us-east-1.
    owner = Reader(as_account(demo_conn, BUCKET_OWNER)).bucket(PARTNER)
    assert (owner.region, owner.owner_account, owner.error) == ("us-east-1", BUCKET_OWNER, None)
    assert owner.policy and owner.bucket_key is False


def test_demo_deleted_bucket_is_missing(demo: Any, demo_conn: Connection) -> None:
    _, estate = demo
    assert estate.trail_buckets["deleted-bucket-trail"] == DELETED
    assert DELETED not in estate.buckets
    reader = Reader(demo_conn)
    trail = reader.find_trail("deleted-bucket-trail")  # CloudTrail still names the bucket
    bucket = trail.bucket
    assert bucket is not None and bucket.name == DELETED
    assert bucket.missing is True
    assert bucket.region is None and bucket.bucket_key is None and bucket.policy is None
    assert bucket.error == f"The bucket {DELETED} does not exist (S3 answered 404 to HeadBucket)."
    assert bucket.owner_account is None
    assert reader.errors == []
    assert demo_conn.calls["s3:GetBucketLocation"] == 0  # the 404 settled it


def test_demo_own_buckets_are_owned_and_located_by_head_bucket(
    demo: Any, demo_conn: Connection
) -> None:
    _, estate = demo
    reader = Reader(demo_conn)
    inv = reader.scan(["us-east-1", "us-west-2", "ap-northeast-1", "eu-west-1"])
    assert not inv.partial, inv.errors  # neither the foreign nor the deleted bucket is an error
    by_bucket = {t.bucket_name: t.bucket for t in inv.trails if t.bucket is not None}
    for name, region in estate.buckets.items():
        if name not in by_bucket or name == PARTNER:
            continue  # not visible from here (log-archive), or not readable (PARTNER)
        bucket = by_bucket[name]
        assert (bucket.region, bucket.owner_account) == (region, DEMO_ACCOUNT), name
        assert bucket.bucket_key is not None and bucket.error is None, name
    assert by_bucket[PARTNER].region is None and by_bucket[DELETED].missing
    assert inv.calls["s3:HeadBucket"] == len(by_bucket)
    assert inv.calls["s3:GetBucketLocation"] == 1  # the foreign bucket's fallback only
    assert inv.calls["s3:ListBuckets"] == 1
