"""Change history, the pure part (issue 15, item 4): ``--since`` (:func:`parse_since`), the
window, which lookups to make, which events are about a trail or its key, and the merge
(each event once, only the names that matter, newest first); ``HistoryEvent.from_api`` of
events shaped as AWS documents them; the pacing of lookups; Japanese for the errors."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from tests.english import assert_japanese
from trailkit import i18n
from trailkit.aws.history import Pacer
from trailkit.errors import InputError
from trailkit.records import HistoryEvent, KeyInfo, Trail
from trailkit.rules.history import (
    DEFAULT_SINCE,
    KEY_EVENTS,
    MAX_LOOKBACK,
    TRAIL_EVENTS,
    Lookup,
    about_key,
    about_trail,
    followed_key,
    lookups,
    merge_events,
    parse_since,
    select,
    window,
)

NOW = datetime(2026, 12, 5, 12, 0, tzinfo=UTC)
ACCOUNT = "111122223333"
TRAIL_ARN = f"arn:aws:cloudtrail:us-east-1:{ACCOUNT}:trail/ops-trail"
KEY_ID = "1234abcd-12ab-34cd-56ef-1234567890ab"
KEY_ARN = f"arn:aws:kms:us-west-2:{ACCOUNT}:key/{KEY_ID}"


def _trail(**kw: Any) -> Trail:
    base: dict[str, Any] = {
        "name": "ops-trail",
        "arn": TRAIL_ARN,
        "home_region": "us-east-1",
        "account": ACCOUNT,
        "multi_region": True,
        "organization": False,
        "bucket_name": "logs",
        "s3_prefix": None,
        "kms_key_id": KEY_ARN,
        "log_file_validation": True,
    }
    base.update(kw)
    return Trail(**base)


def _key(**kw: Any) -> KeyInfo:
    base: dict[str, Any] = {
        "arn": KEY_ARN,
        "key_id": KEY_ID,
        "account": ACCOUNT,
        "region": "us-west-2",
    }
    base.update(kw)
    return KeyInfo(**base)


# -- --since -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("30d", NOW - timedelta(days=30)),
        ("12h", NOW - timedelta(hours=12)),
        ("2w", NOW - timedelta(weeks=2)),
        (" 7D ", NOW - timedelta(days=7)),
        ("90d", NOW - timedelta(days=90)),
        ("1h", NOW - timedelta(hours=1)),
        ("2026-11-01", datetime(2026, 11, 1, tzinfo=UTC)),
        ("2026-12-05", datetime(2026, 12, 5, tzinfo=UTC)),
        ("2026-11-01T09:00+09:00", datetime(2026, 11, 1, 0, 0, tzinfo=UTC)),
        ("2026-11-01T09:30:15Z", datetime(2026, 11, 1, 9, 30, 15, tzinfo=UTC)),
        ("2026-12-05T11:59:59+00:00", datetime(2026, 12, 5, 11, 59, 59, tzinfo=UTC)),
    ],
)
def test_parse_since_accepts(text: str, expected: datetime) -> None:
    since = parse_since(text, NOW)
    assert since == expected
    assert since.tzinfo is not None and since.utcoffset() == timedelta(0)


def test_parse_since_takes_now_in_any_zone() -> None:
    tokyo = NOW.astimezone(datetime.fromisoformat("2026-01-01T00:00+09:00").tzinfo)
    assert parse_since("1d", tokyo) == NOW - timedelta(days=1)


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("", "needs a value"),
        ("   ", "needs a value"),
        ("0d", "empty window"),
        ("0h", "empty window"),
        ("yesterday", "not a duration, a date or a time"),
        ("30", "not a duration, a date or a time"),
        ("30m", "not a duration, a date or a time"),
        ("-3d", "not a duration, a date or a time"),
        ("3 days", "not a duration, a date or a time"),
        ("2026-02-30", "not a date"),
        ("2026-11-01T09:00", "has no time zone"),
        ("2026-12-06", "in the future"),
        ("2026-12-05T12:00:01Z", "in the future"),
        ("91d", "more than 90 days ago"),
        ("13w", "more than 90 days ago"),
        ("2026-09-01", "more than 90 days ago"),
        ("99999w", "more than 90 days ago"),
    ],
)
def test_parse_since_refuses_and_says_what_to_type(text: str, says: str) -> None:
    with pytest.raises(InputError) as caught:
        parse_since(text, NOW)
    assert says in caught.value.message
    assert caught.value.fix  # always what to type instead
    assert "--since" in caught.value.message


def test_the_defaults_are_what_aws_keeps() -> None:
    assert timedelta(days=30) == DEFAULT_SINCE
    assert timedelta(days=90) == MAX_LOOKBACK
    assert parse_since("30d", NOW) == NOW - DEFAULT_SINCE


def test_parse_since_errors_in_japanese() -> None:
    for text in ("", "0d", "yesterday", "2026-02-30", "2026-11-01T09:00", "2026-12-06", "91d"):
        with i18n.speaking("ja"), pytest.raises(InputError) as caught:
            parse_since(text, NOW)
        with i18n.speaking("ja"):
            shown = str(caught.value)
        assert_japanese(shown, ["--since", text, "12h", "30d", "2w", "90d", "UTC", "Z"])


# -- the window ------------------------------------------------------------------------------------


def test_window_defaults_to_now_and_clamps_to_90_days() -> None:
    assert window(NOW - timedelta(days=3), None, NOW) == (NOW - timedelta(days=3), NOW)
    start, end = window(NOW - timedelta(days=200), NOW + timedelta(days=1), NOW)
    assert (start, end) == (NOW - MAX_LOOKBACK, NOW)
    naive = datetime(2026, 12, 1, 0, 0)
    assert window(naive, None, NOW)[0] == datetime(2026, 12, 1, tzinfo=UTC)
    with pytest.raises(InputError, match="starts"):
        window(NOW - timedelta(days=1), NOW - timedelta(days=2), NOW)


# -- which lookups -------------------------------------------------------------------------------


def test_lookups_by_event_name_in_the_trail_and_key_regions() -> None:
    planned = lookups("us-east-1", "us-west-2")
    assert [(p.region, p.event_name) for p in planned] == [
        *(("us-east-1", n) for n in TRAIL_EVENTS),
        *(("us-west-2", n) for n in KEY_EVENTS),
    ]
    assert [p.for_key for p in planned] == [False] * 5 + [True] * 5
    assert planned[0].attributes == [{"AttributeKey": "EventName", "AttributeValue": "CreateTrail"}]
    assert [p.event_name for p in lookups("eu-west-1", None)] == list(TRAIL_EVENTS)
    assert set(TRAIL_EVENTS) >= {"CreateTrail", "UpdateTrail", "StopLogging", "StartLogging"}
    assert set(KEY_EVENTS) == {
        "DisableKey",
        "ScheduleKeyDeletion",
        "CancelKeyDeletion",
        "PutKeyPolicy",
        "EnableKey",
    }


def test_followed_key_is_the_key_given_else_the_trails_key_arn() -> None:
    assert followed_key(_trail(), _key()) == (KEY_ARN, KEY_ID, "us-west-2", ACCOUNT)
    # A key that could not be described still has its ARN.
    gone = _key(error="not found", missing=True)
    assert followed_key(_trail(), gone) == (KEY_ARN, KEY_ID, "us-west-2", ACCOUNT)
    assert followed_key(_trail(), None) == (KEY_ARN, KEY_ID, "us-west-2", ACCOUNT)
    assert followed_key(_trail(kms_key_id=None), None) is None
    alias = f"arn:aws:kms:us-west-2:{ACCOUNT}:alias/logs"
    assert followed_key(_trail(kms_key_id=alias), None) is None


# -- events as AWS documents them ------------------------------------------------------------------

# The DisableKey record of the AWS KMS developer guide ("DisableKey", ct-disablekey), as
# LookupEvents returns it (CloudTrail API reference, Event).
DISABLE_RECORD = {
    "eventVersion": "1.02",
    "userIdentity": {
        "type": "IAMUser",
        "principalId": "EX_PRINCIPAL_ID",
        "arn": f"arn:aws:iam::{ACCOUNT}:user/Alice",
        "accountId": ACCOUNT,
        "accessKeyId": "EXAMPLE_KEY_ID",
        "userName": "Alice",
    },
    "eventTime": "2026-12-02T00:52:43Z",
    "eventSource": "kms.amazonaws.com",
    "eventName": "DisableKey",
    "awsRegion": "us-west-2",
    "sourceIPAddress": "192.0.2.0",
    "userAgent": "AWS Internal",
    "requestParameters": {"keyId": KEY_ID},
    "responseElements": {"keyId": KEY_ARN},
    "requestID": "12345126-30d5-4b28-98b9-9153da559963",
    "eventID": "abcde202-ba1a-467c-b4ba-f729d45ae521",
    "readOnly": False,
    "resources": [{"ARN": KEY_ARN, "accountId": ACCOUNT}],
    "eventType": "AwsApiCall",
    "recipientAccountId": ACCOUNT,
}


def _event(record: dict[str, Any], *, resources: list[str] | None = None) -> dict[str, Any]:
    """A ``LookupEvents`` ``Events`` item for ``record``."""
    return {
        "EventId": record["eventID"],
        "EventName": record["eventName"],
        "ReadOnly": "false",
        "AccessKeyId": record["userIdentity"].get("accessKeyId", ""),
        "EventTime": datetime.fromisoformat(record["eventTime"].replace("Z", "+00:00")),
        "EventSource": record["eventSource"],
        "Username": record["userIdentity"].get("userName", ""),
        "Resources": [
            {"ResourceType": "AWS::KMS::Key", "ResourceName": name}
            for name in (resources if resources is not None else [])
        ],
        "CloudTrailEvent": json.dumps(record),
    }


def _trail_record(event: str, event_id: str, when: str, **params: Any) -> dict[str, Any]:
    return {
        "userIdentity": {
            "type": "AssumedRole",
            "arn": f"arn:aws:sts::{ACCOUNT}:assumed-role/Deploy/AWSCloudFormation",
            "accountId": ACCOUNT,
            "invokedBy": "cloudformation.amazonaws.com",
        },
        "eventTime": when,
        "eventSource": "cloudtrail.amazonaws.com",
        "eventName": event,
        "awsRegion": "us-east-1",
        "sourceIPAddress": "cloudformation.amazonaws.com",
        "userAgent": "cloudformation.amazonaws.com",
        "requestParameters": params,
        "responseElements": None,
        "eventID": event_id,
        "readOnly": False,
    }


def test_from_api_of_a_documented_kms_event() -> None:
    event = HistoryEvent.from_api(
        _event(DISABLE_RECORD, resources=[KEY_ARN]), resource=KEY_ARN, region="us-west-2"
    )
    assert event.time == datetime(2026, 12, 2, 0, 52, 43, tzinfo=UTC)
    assert event.name == "DisableKey"
    assert event.source == "kms.amazonaws.com"
    assert event.actor == f"arn:aws:iam::{ACCOUNT}:user/Alice"
    assert event.source_ip == "192.0.2.0"
    assert event.user_agent == "AWS Internal"
    assert event.event_id == "abcde202-ba1a-467c-b4ba-f729d45ae521"
    assert event.succeeded and event.error_code == ""
    assert event.detail == {"keyId": KEY_ID}
    assert event.as_dict()["time"] == "2026-12-02T00:52:43Z"


def test_from_api_of_a_refused_call_by_a_service() -> None:
    record = _trail_record(
        "UpdateTrail", "e-1", "2026-12-03T10:00:00Z", name="ops-trail", kmsKeyId=KEY_ARN
    )
    record["errorCode"] = "InsufficientEncryptionPolicyException"
    event = HistoryEvent.from_api(_event(record), resource=TRAIL_ARN, region="us-east-1")
    assert not event.succeeded
    assert event.error_code == "InsufficientEncryptionPolicyException"
    assert event.source_ip == "cloudformation.amazonaws.com"
    assert event.actor.endswith(":assumed-role/Deploy/AWSCloudFormation")
    assert event.detail["kmsKeyId"] == KEY_ARN


@pytest.mark.parametrize(
    ("data", "about"),
    [
        # the resource, the request's key id or ARN, or the response's key ARN
        (_event(DISABLE_RECORD, resources=[KEY_ARN]), True),
        (_event({**DISABLE_RECORD, "resources": [], "responseElements": None}), True),
        (
            _event(
                {
                    **DISABLE_RECORD,
                    "resources": [],
                    "responseElements": None,
                    "requestParameters": {"keyId": KEY_ARN},
                }
            ),
            True,
        ),
        (
            _event(
                {
                    **DISABLE_RECORD,
                    "resources": [],
                    "requestParameters": {"keyId": "other"},
                    "responseElements": {"keyId": KEY_ARN},
                }
            ),
            True,
        ),
        # another key
        (
            _event(
                {
                    **DISABLE_RECORD,
                    "resources": [{"ARN": KEY_ARN.replace("1234abcd", "9999abcd")}],
                    "requestParameters": {"keyId": "9999abcd-12ab-34cd-56ef-1234567890ab"},
                    "responseElements": None,
                }
            ),
            False,
        ),
        # no CloudTrailEvent text at all, or text that is not JSON: only Resources decide
        ({"EventName": "DisableKey", "Resources": [{"ResourceName": KEY_ARN}]}, True),
        ({"EventName": "DisableKey", "CloudTrailEvent": "{not json"}, False),
    ],
)
def test_about_key(data: dict[str, Any], about: bool) -> None:
    assert about_key(data, KEY_ARN, KEY_ID) is about


@pytest.mark.parametrize(
    ("params", "resources", "about"),
    [
        ({"name": "ops-trail"}, [], True),
        ({"name": TRAIL_ARN}, [], True),
        ({}, [TRAIL_ARN], True),
        ({"name": "other-trail"}, [], False),
        ({"name": TRAIL_ARN.replace("ops-trail", "ops-trail-2")}, [], False),
        ({}, [], False),
    ],
)
def test_about_trail(params: dict[str, Any], resources: list[str], about: bool) -> None:
    data = _event(_trail_record("StopLogging", "e", "2026-12-01T00:00:00Z", **params))
    data["Resources"] = [
        {"ResourceType": "AWS::CloudTrail::Trail", "ResourceName": r} for r in resources
    ]
    assert about_trail(data, _trail()) is about


def test_about_trail_by_the_trail_arn_of_a_create_response() -> None:
    record = _trail_record("CreateTrail", "e", "2026-12-01T00:00:00Z", name="x")
    record["responseElements"] = {"trailARN": TRAIL_ARN}
    assert about_trail(_event(record), _trail())


def test_select_keeps_this_trail_and_key_in_the_window() -> None:
    window_start, window_end = NOW - timedelta(days=30), NOW
    ours = _trail_record("StopLogging", "t1", "2026-12-01T00:00:00Z", name="ops-trail")
    theirs = _trail_record("StopLogging", "t2", "2026-12-01T01:00:00Z", name="other")
    too_old = _trail_record("StopLogging", "t3", "2026-10-01T00:00:00Z", name="ops-trail")
    wrong_name = _trail_record("StartLogging", "t4", "2026-12-01T02:00:00Z", name="ops-trail")
    lookup = Lookup("us-east-1", "StopLogging")
    kept = select(
        [_event(r) for r in (ours, theirs, too_old, wrong_name)],
        lookup,
        _trail(),
        (KEY_ARN, KEY_ID),
        since=window_start,
        until=window_end,
    )
    assert [(e.event_id, e.resource, e.region) for e in kept] == [("t1", TRAIL_ARN, "us-east-1")]
    key_lookup = Lookup("us-west-2", "DisableKey")
    kept = select(
        [_event(DISABLE_RECORD)],
        key_lookup,
        _trail(),
        (KEY_ARN, KEY_ID),
        since=window_start,
        until=window_end,
    )
    assert [(e.event_id, e.resource) for e in kept] == [(DISABLE_RECORD["eventID"], KEY_ARN)]
    assert (
        select(
            [_event(DISABLE_RECORD)],
            key_lookup,
            _trail(),
            None,
            since=window_start,
            until=window_end,
        )
        == []
    )


# -- merge -----------------------------------------------------------------------------------------


def _he(name: str, hours_ago: float, event_id: str, resource: str = TRAIL_ARN) -> HistoryEvent:
    return HistoryEvent(
        time=NOW - timedelta(hours=hours_ago),
        name=name,
        source="cloudtrail.amazonaws.com",
        region="us-east-1",
        resource=resource,
        event_id=event_id,
    )


def test_merge_dedups_filters_and_sorts_newest_first() -> None:
    a = [_he("UpdateTrail", 5, "u1"), _he("StopLogging", 1, "s1"), _he("GetTrailStatus", 0, "g")]
    b = [_he("StopLogging", 1, "s1"), _he("DisableKey", 3, "d1", KEY_ARN)]
    c = [_he("CreateTrail", 300, "c1"), _he("PutKeyPolicy", 3, "p1", KEY_ARN)]
    merged = merge_events([a, b, c])
    assert [e.event_id for e in merged] == ["s1", "d1", "p1", "u1", "c1"]
    # Ties keep one order, whatever order the lookups answered in.
    assert merge_events([c, b, a]) == merged
    assert merge_events([]) == ()


def test_merge_without_event_ids_dedups_by_what_the_event_says() -> None:
    one = _he("StopLogging", 2, "")
    twin = _he("StopLogging", 2, "")
    other = HistoryEvent(
        time=one.time,
        name="StopLogging",
        source=one.source,
        region="us-east-1",
        resource=TRAIL_ARN,
        actor="someone",
    )
    assert len(merge_events([[one], [twin, other]])) == 2


# -- pacing ---------------------------------------------------------------------------------------


class _Clock:
    def __init__(self) -> None:
        self.now = 100.0
        self.slept: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(round(seconds, 6))
        self.now += seconds


def test_pacer_spaces_requests_per_region_to_the_rate() -> None:
    clock = _Clock()
    pacer = Pacer(2.0, 2, clock=clock, sleep=clock.sleep)
    waits = [pacer.wait("us-east-1") for _i in range(5)]
    assert waits == [0.0, 0.0, 0.5, 0.5, 0.5]  # a burst of two, then one every half second
    assert pacer.wait("eu-west-1") == 0.0  # another region has its own budget
    clock.now += 10  # a quiet period refills the burst, not more
    assert [pacer.wait("us-east-1") for _i in range(3)] == [0.0, 0.0, 0.5]
    assert clock.slept == [0.5, 0.5, 0.5, 0.5]


# -- what an event changed, in a few words --------------------------------------------------------


def _changed(event_name: str, error: str = "", /, **detail: Any) -> HistoryEvent:
    return HistoryEvent(
        time=datetime(2026, 12, 1, tzinfo=UTC),
        name=event_name,
        source="cloudtrail.amazonaws.com",
        region="us-east-1",
        resource="arn:aws:cloudtrail:us-east-1:123456789012:trail/t",
        error_code=error,
        detail=detail,
    )


@pytest.mark.parametrize(
    ("event", "said"),
    [
        (_changed("UpdateTrail", kmsKeyId="alias/new", name="t"), "key: alias/new"),
        (_changed("UpdateTrail", kmsKeyId="", name="t"), "SSE-KMS turned off (SSE-S3)"),
        (_changed("UpdateTrail", name="t", s3BucketName="b2"), "bucket: b2"),
        (
            _changed("UpdateTrail", name="t", kmsKeyId="k", s3BucketName="b2"),
            "key: k · bucket: b2",
        ),
        (_changed("UpdateTrail", name="t"), None),  # encryption not touched
        (_changed("CreateTrail", name="t", s3BucketName="b"), "no KMS key (SSE-S3)"),
        (_changed("CreateTrail", name="t", kmsKeyId="arn:k"), "key: arn:k"),
        (_changed("ScheduleKeyDeletion", keyId="k", pendingWindowInDays=7), "deleted after 7 days"),
        (_changed("ScheduleKeyDeletion", keyId="k", pendingWindowInDays=1), "deleted after 1 day"),
        (_changed("PutKeyPolicy", keyId="k", policy="{...}"), "key policy replaced"),
        (_changed("DisableKey", keyId="k"), None),
        (_changed("UpdateTrail", "AccessDenied", kmsKeyId="alias/new"), None),  # nothing changed
    ],
)
def test_change_detail(event: HistoryEvent, said: str | None) -> None:
    from trailkit.rules.history import change_detail

    assert change_detail(event) == said


def test_change_detail_in_japanese() -> None:

    from trailkit.rules.history import change_detail

    with i18n.speaking("ja"):
        for event in (
            _changed("UpdateTrail", kmsKeyId="", name="t"),
            _changed("ScheduleKeyDeletion", keyId="k", pendingWindowInDays=7),
            _changed("PutKeyPolicy", keyId="k"),
            _changed("CreateTrail", name="t"),
        ):
            said = change_detail(event)
            assert said is not None
            assert_japanese(said, [], what=event.name)
