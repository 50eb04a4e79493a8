"""Change history, the reads (issue 15, item 4): ``Reader.history`` against botocore's Stubber
(the exact ``LookupEvents`` requests: one attribute, the window, ``MaxResults``, pagination
across ``NextToken``, access denied, too many pages, another account's trail) and against the
demo's ``LookupEvents`` (the seeded story, the changes made through the demo, throttling retried
by botocore, the reader's cache), and the demo's ``LookupEvents`` itself (AWS's shape and
errors, per account and Region, forgotten by a reset)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import botocore.exceptions
import pytest
from botocore.stub import Stubber

from tests.english import assert_japanese
from tests.faults import FaultInjector
from tests.faults import quick_backoff_fixture as quick_backoff_fixture
from trailkit import i18n
from trailkit.aws import history as aws_history
from trailkit.aws.history import EventHistory, Pacer
from trailkit.aws.reader import Reader
from trailkit.aws.session import Connection, ConnectionInfo
from trailkit.records import History, KeyInfo, Trail
from trailkit.rules.history import KEY_EVENTS, TRAIL_EVENTS, Lookup

ACCOUNT = "111122223333"
TRAIL_ARN = f"arn:aws:cloudtrail:us-east-1:{ACCOUNT}:trail/ops-trail"
KEY_ID = "1234abcd-12ab-34cd-56ef-1234567890ab"
KEY_ARN = f"arn:aws:kms:us-west-2:{ACCOUNT}:key/{KEY_ID}"


@pytest.fixture
def fast_pacing(monkeypatch: pytest.MonkeyPatch) -> None:
    """No waiting between lookups (the pacing itself is tested in tests/test_history.py)."""
    pacer = Pacer(1e6, 1_000_000)
    monkeypatch.setattr(aws_history, "pacer_for", lambda conn: pacer)


def _stub_connection() -> Connection:
    conn = Connection(endpoint_url="http://127.0.0.1:9", region="us-east-1", workers=1)
    conn._info = ConnectionInfo(
        account=ACCOUNT,
        caller_arn=f"arn:aws:iam::{ACCOUNT}:user/test",
        endpoint="stub",
        region="us-east-1",
        demo=True,
    )
    return conn


def _trail(**kw: Any) -> Trail:
    base: dict[str, Any] = {
        "name": "ops-trail",
        "arn": TRAIL_ARN,
        "home_region": "us-east-1",
        "account": ACCOUNT,
        "multi_region": False,
        "organization": False,
        "bucket_name": "logs",
        "s3_prefix": None,
        "kms_key_id": KEY_ARN,
        "log_file_validation": True,
    }
    base.update(kw)
    return Trail(**base)


def _key() -> KeyInfo:
    return KeyInfo(arn=KEY_ARN, key_id=KEY_ID, account=ACCOUNT, region="us-west-2")


def _window() -> tuple[datetime, datetime]:
    until = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=1)
    return until - timedelta(days=30), until


def _request(
    name: str, since: datetime, until: datetime, token: str | None = None
) -> dict[str, Any]:
    """The exact LookupEvents request of one lookup (page)."""
    params: dict[str, Any] = {
        "LookupAttributes": [{"AttributeKey": "EventName", "AttributeValue": name}],
        "StartTime": since,
        "EndTime": until,
        "MaxResults": 50,
    }
    if token is not None:
        params["NextToken"] = token
    return params


def _event(event: str, event_id: str, when: datetime, **params: Any) -> dict[str, Any]:
    """An Events item as AWS sends it (CloudTrail API reference, LookupEvents, Event)."""
    kms = event in KEY_EVENTS
    resource = KEY_ARN if kms else TRAIL_ARN
    if not kms and params.get("name", "ops-trail") not in ("ops-trail", TRAIL_ARN):
        resource = TRAIL_ARN.replace("ops-trail", str(params["name"]))
    record = {
        "eventVersion": "1.09",
        "userIdentity": {
            "type": "IAMUser",
            "arn": f"arn:aws:iam::{ACCOUNT}:user/alice",
            "accountId": ACCOUNT,
            "accessKeyId": "AKIAEXAMPLE",
            "userName": "alice",
        },
        "eventTime": when.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "eventSource": "kms.amazonaws.com" if kms else "cloudtrail.amazonaws.com",
        "eventName": event,
        "awsRegion": "us-west-2" if kms else "us-east-1",
        "sourceIPAddress": "198.51.100.7",
        "userAgent": "aws-cli/2.17.0",
        "requestParameters": params,
        "responseElements": None,
        "eventID": event_id,
        "readOnly": False,
        "resources": [{"ARN": resource, "accountId": ACCOUNT}],
    }
    return {
        "EventId": event_id,
        "EventName": event,
        "ReadOnly": "false",
        "AccessKeyId": "AKIAEXAMPLE",
        "EventTime": when,
        "EventSource": record["eventSource"],
        "Username": "alice",
        "Resources": [
            {
                "ResourceType": "AWS::KMS::Key" if kms else "AWS::CloudTrail::Trail",
                "ResourceName": resource,
            }
        ],
        "CloudTrailEvent": json.dumps(record),
    }


# -- the exact requests (Stubber) ---------------------------------------------------------------


def test_trail_and_key_lookups_with_pagination_stubbed(fast_pacing: None) -> None:
    conn = _stub_connection()
    since, until = _window()
    day = until - timedelta(days=2)
    east = conn.client("cloudtrail", "us-east-1")
    west = conn.client("cloudtrail", "us-west-2")
    with Stubber(east) as trail_stub, Stubber(west) as key_stub:
        for name in TRAIL_EVENTS:
            if name == "UpdateTrail":
                page1 = {
                    "Events": [
                        _event(name, "u2", day, name="ops-trail", kmsKeyId=KEY_ARN),
                        _event(name, "x1", day, name="another-trail"),
                    ],
                    "NextToken": "page-2",
                }
                trail_stub.add_response("lookup_events", page1, _request(name, since, until))
                page2 = {"Events": [_event(name, "u1", day - timedelta(days=5), name=TRAIL_ARN)]}
                trail_stub.add_response(
                    "lookup_events", page2, _request(name, since, until, "page-2")
                )
            else:
                trail_stub.add_response(
                    "lookup_events", {"Events": []}, _request(name, since, until)
                )
        for name in KEY_EVENTS:
            events = []
            if name == "DisableKey":
                events = [_event(name, "d1", day + timedelta(hours=3), keyId=KEY_ID)]
            key_stub.add_response("lookup_events", {"Events": events}, _request(name, since, until))
        history = Reader(conn, workers=1).history(_trail(), _key(), since=since, until=until)
        trail_stub.assert_no_pending_responses()
        key_stub.assert_no_pending_responses()
    assert isinstance(history, History)
    assert history.complete
    assert history.regions == ("us-east-1", "us-west-2")
    assert (history.since, history.until) == (since, until)
    assert [(e.event_id, e.name, e.resource) for e in history.events] == [
        ("d1", "DisableKey", KEY_ARN),
        ("u2", "UpdateTrail", TRAIL_ARN),
        ("u1", "UpdateTrail", TRAIL_ARN),
    ]
    assert history.events[1].detail == {"name": "ops-trail", "kmsKeyId": KEY_ARN}
    assert history.events[0].region == "us-west-2"


def test_access_denied_becomes_an_error_naming_the_permission(fast_pacing: None) -> None:
    conn = _stub_connection()
    since, until = _window()
    east = conn.client("cloudtrail", "us-east-1")
    with Stubber(east) as stub:
        for name in TRAIL_EVENTS:
            if name == "StopLogging":
                stub.add_response(
                    "lookup_events",
                    {"Events": [_event(name, "s1", until - timedelta(hours=2), name="ops-trail")]},
                    _request(name, since, until),
                )
            else:
                stub.add_client_error(
                    "lookup_events",
                    service_error_code="AccessDeniedException",
                    service_message="User is not authorized to perform: cloudtrail:LookupEvents",
                    http_status_code=400,
                    expected_params=_request(name, since, until),
                )
        history = Reader(conn, workers=1).history(
            _trail(kms_key_id=None), None, since=since, until=until
        )
    assert [e.event_id for e in history.events] == ["s1"]  # what could be read is kept
    assert not history.complete
    assert len(history.errors) == 4
    for error in history.errors:
        assert error.operation == "LookupEvents"
        assert error.code == "AccessDeniedException"
        assert error.permission == "cloudtrail:LookupEvents"
        assert error.region == "us-east-1"
        assert "cloudtrail:LookupEvents" in error.message


def test_throttled_on_every_attempt_is_an_error_not_an_exception(fast_pacing: None) -> None:
    """A Stubber answer skips botocore's retries: this is what is left once they are spent."""
    conn = _stub_connection()
    since, until = _window()
    with Stubber(conn.client("cloudtrail", "us-east-1")) as stub:
        stub.add_client_error(
            "lookup_events",
            service_error_code="ThrottlingException",
            service_message="Rate exceeded",
            http_status_code=400,
        )
        for _name in TRAIL_EVENTS[1:]:
            stub.add_response("lookup_events", {"Events": []})
        history = Reader(conn, workers=1).history(
            _trail(kms_key_id=None), None, since=since, until=until
        )
    (error,) = history.errors
    assert error.code == "ThrottlingException"
    assert error.resource == "CreateTrail"


def test_too_many_pages_keep_the_newest_and_say_so(
    fast_pacing: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(aws_history, "MAX_PAGES", 3)
    conn = _stub_connection()
    since, until = _window()
    with Stubber(conn.client("cloudtrail", "us-east-1")) as stub:
        token = None
        for page in range(3):
            when = until - timedelta(hours=page + 1)
            stub.add_response(
                "lookup_events",
                {"Events": [_event("UpdateTrail", f"u{page}", when)], "NextToken": f"t{page}"},
                _request("UpdateTrail", since, until, token),
            )
            token = f"t{page}"
        events, error = EventHistory(conn).lookup(Lookup("us-east-1", "UpdateTrail"), since, until)
        stub.assert_no_pending_responses()  # a fourth page is not asked for
    assert [e["EventId"] for e in events] == ["u0", "u1", "u2"]
    assert error is not None
    assert error.code == "TooManyEvents"
    assert error.operation == "LookupEvents"
    assert "only the newest 3 were read" in error.message


def test_another_accounts_trail_and_key_are_not_looked_up(fast_pacing: None) -> None:
    conn = _stub_connection()
    since, until = _window()
    other = "444455556666"
    trail = _trail(arn=TRAIL_ARN.replace(ACCOUNT, other), account=other)
    key = KeyInfo(
        arn=KEY_ARN.replace(ACCOUNT, other), key_id=KEY_ID, account=other, region="us-west-2"
    )
    with Stubber(conn.client("cloudtrail", "us-east-1")) as east:
        history = Reader(conn, workers=1).history(trail, key, since=since, until=until)
        east.assert_no_pending_responses()
    assert history.events == ()
    assert history.regions == ()
    assert [e.code for e in history.errors] == ["OtherAccount", "OtherAccount"]
    assert conn.calls["cloudtrail:LookupEvents"] == 0
    assert other in history.errors[0].message


def test_history_notes_in_japanese(fast_pacing: None, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(aws_history, "MAX_PAGES", 1)
    conn = _stub_connection()
    since, until = _window()
    other = "444455556666"
    trail = _trail(arn=TRAIL_ARN.replace(ACCOUNT, other), account=other, kms_key_id=None)
    with i18n.speaking("ja"):
        history = Reader(conn, workers=1).history(trail, None, since=since, until=until)
        with Stubber(conn.client("cloudtrail", "us-east-1")) as stub:
            stub.add_response(
                "lookup_events",
                {"Events": [_event("UpdateTrail", "u", until)], "NextToken": "more"},
            )
            _found, cut = EventHistory(conn).lookup(
                Lookup("us-east-1", "UpdateTrail"), since, until
            )
    assert cut is not None
    names = [trail.arn, ACCOUNT, other, "UpdateTrail", "us-east-1", "--since"]
    assert_japanese(history.errors[0].message, names, what="another account's history")
    assert_japanese(cut.message, names, what="too many events")


def test_lookup_events_is_declared_for_both_policies() -> None:
    from trailkit.permissions import permissions_for

    assert "cloudtrail:LookupEvents" in permissions_for("read")
    assert Reader.history.__trailkit_permissions__ == ("cloudtrail:LookupEvents",)  # type: ignore[attr-defined]


# -- against the demo ------------------------------------------------------------------------------


def _demo_reader(endpoint: str, **kw: Any) -> Reader:
    return Reader(Connection(endpoint_url=endpoint, region="us-east-1", **kw), workers=8)


def test_the_seeded_story_of_stale_key_trail(demo: Any) -> None:
    """With the real pacing (two lookups a second per Region)."""
    endpoint, estate = demo
    reader = _demo_reader(endpoint)
    trail = reader.find_trail("stale-key-trail")
    key = reader.key(trail.kms_key_id or "")
    assert key.arn == estate.keys["alias/cloudtrail-disabled"]
    history = reader.history(trail, key, since=datetime.now(UTC) - timedelta(days=30))
    assert history.complete, history.errors
    assert history.regions == ("us-east-1",)
    story = [(e.name, e.resource, e.error_code) for e in history.events]
    assert story == [
        ("StopLogging", trail.arn, ""),
        ("EnableKey", key.arn, "AccessDeniedException"),
        ("DisableKey", key.arn, ""),
        ("StartLogging", trail.arn, ""),
        ("CreateTrail", trail.arn, ""),
    ]
    disable = history.events[2]
    assert disable.actor == "arn:aws:sts::123456789012:assumed-role/OpsEngineer/dan.miller"
    assert disable.source_ip == "203.0.113.77"
    assert disable.user_agent.startswith("aws-cli/")
    assert disable.detail == {"keyId": key.key_id}
    assert timedelta(days=3) < datetime.now(UTC) - disable.time < timedelta(days=3, hours=3)
    create = history.events[-1]
    assert create.detail["kmsKeyId"] == key.arn
    assert create.detail["s3BucketName"] == estate.trail_buckets["stale-key-trail"]
    # Nothing from the seeding's own calls (all made at seeding time, from 127.0.0.1).
    assert all(e.source_ip != "127.0.0.1" for e in history.events)
    assert reader.conn.calls["cloudtrail:LookupEvents"] == 10


def test_app_trail_update_is_in_its_home_region(demo: Any, fast_pacing: None) -> None:
    endpoint, estate = demo
    reader = _demo_reader(endpoint)
    trail = reader.find_trail("app-trail")
    history = reader.history(trail, None, since=datetime.now(UTC) - timedelta(days=30))
    assert history.regions == ("eu-west-1",)
    assert [e.name for e in history.events] == ["UpdateTrail", "StartLogging", "CreateTrail"]
    assert history.events[0].detail["kmsKeyId"] == estate.keys["alias/cloudtrail-good-euw1"]
    assert {e.region for e in history.events} == {"eu-west-1"}
    # A shorter window: only the update.
    recent = reader.history(trail, None, since=datetime.now(UTC) - timedelta(days=14))
    assert [e.name for e in recent.events] == ["UpdateTrail"]


def test_history_is_cached_per_region_until_refresh(demo: Any, fast_pacing: None) -> None:
    endpoint, _estate = demo
    reader = _demo_reader(endpoint)
    stale = reader.find_trail("stale-key-trail")
    pinned = reader.find_trail("pinned-key-trail")
    since = datetime.now(UTC) - timedelta(days=30)
    first = reader.history(stale, None, since=since)
    assert reader.conn.calls["cloudtrail:LookupEvents"] == 10
    second = reader.history(pinned, None, since=since + timedelta(seconds=5))
    assert reader.conn.calls["cloudtrail:LookupEvents"] == 10  # same Region: asked once
    assert [e.name for e in second.events] == ["CreateTrail"]
    assert all(e.resource == pinned.arn for e in second.events)
    assert first.events != second.events
    reader.refresh()
    reader.history(pinned, None, since=since)
    assert reader.conn.calls["cloudtrail:LookupEvents"] == 20


def test_changes_made_through_the_demo_are_recorded(demo_rw: Any, fast_pacing: None) -> None:
    endpoint, estate = demo_rw
    conn = Connection(endpoint_url=endpoint, region="us-east-1")
    kms = conn.client("kms", "us-east-1")
    good = estate.keys["alias/cloudtrail-good"]
    kms.disable_key(KeyId=estate.key_id("alias/cloudtrail-good"))
    ct = conn.client("cloudtrail", "us-east-1")
    ct.update_trail(Name="pinned-key-trail", KmsKeyId=estate.keys["alias/no-readers"])
    with pytest.raises(botocore.exceptions.ClientError):
        ct.stop_logging(Name="no-such-trail")
    reader = _demo_reader(endpoint)
    trail = reader.find_trail("pinned-key-trail")
    key = reader.key(good)
    history = reader.history(trail, key, since=datetime.now(UTC) - timedelta(hours=1))
    assert [e.name for e in history.events][:2] in (
        ["UpdateTrail", "DisableKey"],
        ["DisableKey", "UpdateTrail"],
    )
    by_name = {e.name: e for e in history.events}
    update, disable = by_name["UpdateTrail"], by_name["DisableKey"]
    for event in (update, disable):
        assert event.source_ip == "127.0.0.1"
        assert event.user_agent.startswith("Boto3/")
        assert event.actor == "arn:aws:sts::123456789012:user/moto"
        assert event.succeeded
        assert datetime.now(UTC) - event.time < timedelta(minutes=5)
    assert update.resource == trail.arn
    assert update.detail["kmsKeyId"] == estate.keys["alias/no-readers"]
    assert disable.resource == good
    assert disable.detail == {"keyId": estate.key_id("alias/cloudtrail-good")}
    # The refused call is recorded too, with its error code, under the name it was given.
    raw = ct.lookup_events(
        LookupAttributes=[{"AttributeKey": "EventName", "AttributeValue": "StopLogging"}],
        StartTime=datetime.now(UTC) - timedelta(hours=1),
    )["Events"]
    (refused,) = [e for e in raw if "no-such-trail" in e["CloudTrailEvent"]]
    record = json.loads(refused["CloudTrailEvent"])
    assert record["errorCode"] == "TrailNotFoundException"
    assert record["responseElements"] is None


def test_throttling_is_retried_not_reported(
    demo: Any, fast_pacing: None, quick_backoff: None
) -> None:
    endpoint, _estate = demo
    faults = FaultInjector(seed=7).add(
        "throttle", operations={"LookupEvents"}, calls=frozenset({1, 2, 3})
    )
    conn = faults.install(Connection(endpoint_url=endpoint, region="us-east-1", workers=4))
    reader = Reader(conn, workers=1)
    trail = reader.find_trail("stale-key-trail")
    history = reader.history(trail, None, since=datetime.now(UTC) - timedelta(days=30))
    assert faults.count("throttle", "LookupEvents") == 3
    assert history.complete, history.errors
    # (No key given: the trail's KmsKeyId is followed.)
    assert [e.name for e in history.events] == [
        "StopLogging",
        "EnableKey",
        "DisableKey",
        "StartLogging",
        "CreateTrail",
    ]
    assert conn.calls["cloudtrail:LookupEvents"] == 10  # retries are not extra calls


def test_the_inventory_scan_never_reads_history(demo: Any) -> None:
    endpoint, _estate = demo
    reader = _demo_reader(endpoint)
    inventory = reader.scan(["us-east-1", "eu-west-1"])
    assert inventory.trails
    assert "cloudtrail:LookupEvents" not in inventory.calls


# -- the demo's LookupEvents itself --------------------------------------------------------------


def test_demo_lookup_events_has_the_aws_shape_and_pages(demo: Any) -> None:
    endpoint, estate = demo
    ct = Connection(endpoint_url=endpoint, region="us-east-1").client("cloudtrail", "us-east-1")
    key = estate.keys["alias/cloudtrail-disabled"]
    by_key = ct.lookup_events(
        LookupAttributes=[{"AttributeKey": "ResourceName", "AttributeValue": key}]
    )["Events"]
    assert [e["EventName"] for e in by_key] == ["EnableKey", "DisableKey"]
    event = by_key[1]
    assert set(event) == {
        "EventId",
        "EventName",
        "ReadOnly",
        "AccessKeyId",
        "EventTime",
        "EventSource",
        "Username",
        "Resources",
        "CloudTrailEvent",
    }
    assert event["ReadOnly"] == "false"
    assert event["Username"] == "dan.miller"
    assert event["EventSource"] == "kms.amazonaws.com"
    assert event["Resources"] == [{"ResourceType": "AWS::KMS::Key", "ResourceName": key}]
    assert isinstance(event["EventTime"], datetime)
    assert json.loads(event["CloudTrailEvent"])["eventID"] == event["EventId"]
    # One event a page, newest first, across NextToken.
    seen, token = [], None
    while True:
        kwargs: dict[str, Any] = {"MaxResults": 1}
        if token:
            kwargs["NextToken"] = token
        page = ct.lookup_events(**kwargs)
        seen += [e["EventId"] for e in page["Events"]]
        token = page.get("NextToken")
        if not token:
            break
    everything = ct.lookup_events()["Events"]
    assert seen == [e["EventId"] for e in everything]
    times = [e["EventTime"] for e in everything]
    assert times == sorted(times, reverse=True)
    # By user name, and the window.
    ops = ct.lookup_events(
        LookupAttributes=[{"AttributeKey": "Username", "AttributeValue": "dan.miller"}]
    )["Events"]
    assert {e["EventName"] for e in ops} == {"DisableKey", "StopLogging"}
    old = ct.lookup_events(EndTime=datetime.now(UTC) - timedelta(days=20))["Events"]
    assert old and all(e["EventName"] in ("CreateTrail", "StartLogging") for e in old)


def test_demo_lookup_events_per_account_and_region(demo: Any) -> None:
    from trailkit.demo import SECOND_ACCOUNT, as_account

    endpoint, estate = demo
    conn = Connection(endpoint_url=endpoint, region="us-east-1")
    names = {
        region: {
            e["EventName"] for e in conn.client("cloudtrail", region).lookup_events()["Events"]
        }
        for region in ("us-east-1", "eu-west-1", "ap-northeast-1")
    }
    assert "DisableKey" in names["us-east-1"] and "DisableKey" not in names["eu-west-1"]
    assert "UpdateTrail" in names["eu-west-1"]
    archive = as_account(conn, SECOND_ACCOUNT).client("cloudtrail", "us-east-1")
    events = archive.lookup_events()["Events"]
    assert {json.loads(e["CloudTrailEvent"])["requestParameters"]["name"] for e in events} == {
        "archive-trail"
    }
    assert estate.trails["archive-trail"] in {e["Resources"][0]["ResourceName"] for e in events}


@pytest.mark.parametrize(
    ("kwargs", "code"),
    [
        (
            {
                "LookupAttributes": [
                    {"AttributeKey": "EventName", "AttributeValue": "DisableKey"},
                    {"AttributeKey": "Username", "AttributeValue": "x"},
                ]
            },
            "InvalidLookupAttributesException",
        ),
        ({"MaxResults": 51}, "InvalidMaxResultsException"),
        ({"NextToken": "not-a-token"}, "InvalidNextTokenException"),
        (
            {
                "StartTime": datetime(2026, 12, 2, tzinfo=UTC),
                "EndTime": datetime(2026, 12, 1, tzinfo=UTC),
            },
            "InvalidTimeRangeException",
        ),
    ],
)
def test_demo_lookup_events_refuses_as_aws_does(
    demo: Any, kwargs: dict[str, Any], code: str
) -> None:
    endpoint, _estate = demo
    ct = Connection(endpoint_url=endpoint, region="us-east-1").client("cloudtrail", "us-east-1")
    with pytest.raises(botocore.exceptions.ClientError) as caught:
        ct.lookup_events(**kwargs)
    assert caught.value.response["Error"]["Code"] == code


def test_a_reset_forgets_the_history(conn: Connection) -> None:
    ct = conn.client("cloudtrail", "us-east-1")
    assert ct.lookup_events()["Events"] == []


def test_the_seeded_story_skips_what_the_estate_does_not_have() -> None:
    """The story names trails other work adds (``stripped-policy-trail``,
    ``retiring-key-trail``): without them their events are left out, with them they are told."""
    from trailkit.demo.estate import DemoEstate
    from trailkit.demo.history import history_records

    now = datetime(2026, 12, 5, 12, 0, tzinfo=UTC)
    account = "123456789012"
    trail = f"arn:aws:cloudtrail:us-east-1:{account}:trail/stale-key-trail"
    disabled = f"arn:aws:kms:us-east-1:{account}:key/11111111-2222-3333-4444-555555555555"
    stripped_key = f"arn:aws:kms:us-east-1:{account}:key/66666666-2222-3333-4444-555555555555"
    small = DemoEstate(
        endpoint=None,
        trails={"stale-key-trail": trail},
        keys={"alias/cloudtrail-disabled": disabled, "alias/no-cloudtrail": stripped_key},
        accounts={account: "management"},
    )
    records, accounts = history_records(object(), small, now)  # type: ignore[arg-type]
    assert accounts == [account]
    assert [r["eventName"] for r in records] == [
        "CreateTrail",
        "StartLogging",
        "DisableKey",
        "EnableKey",
        "StopLogging",
    ]
    assert all(r["recipientAccountId"] == account for r in records)
    # With the trail whose key policy was replaced, the pipeline's PutKeyPolicy is told.
    bigger = DemoEstate(
        endpoint=None,
        trails={
            "stale-key-trail": trail,
            "stripped-policy-trail": trail.replace("stale-key", "stripped-policy"),
        },
        keys=small.keys,
        accounts=small.accounts,
    )
    records, _accounts = history_records(object(), bigger, now)  # type: ignore[arg-type]
    (put,) = [r for r in records if r["eventName"] == "PutKeyPolicy"]
    assert put["sourceIPAddress"] == "cloudformation.amazonaws.com"
    assert put["userIdentity"]["invokedBy"] == "cloudformation.amazonaws.com"
    assert put["userIdentity"]["arn"].endswith(
        ":assumed-role/DeploymentPipelineRole/AWSCloudFormation"
    )
    assert put["resources"][0]["ARN"] == stripped_key
    assert put["eventTime"] == "2026-12-03T12:00:00Z"  # two days before the seeding
    assert put["requestParameters"]["keyId"] == "66666666-2222-3333-4444-555555555555"
