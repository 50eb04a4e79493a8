"""Key facts an investigator asks for (issue 15, item 3): days left before a key's deletion, its
rotation status (``GetKeyRotationStatus``, the one new read), manager, origin, multi-Region role,
creation date. Pure rules as tables; the read against moto (state), fail_call (AccessDenied) and
Stubber (the response shape AWS sends, which moto trims); the CLI's JSON, table and check line;
Japanese judged by ``assert_japanese``."""

from __future__ import annotations

import io
import json
import re
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from botocore.stub import Stubber

from tests.conftest import fail_call
from tests.english import assert_japanese
from trailkit import i18n
from trailkit.aws.reader import Reader
from trailkit.aws.session import Connection
from trailkit.records import Inventory, KeyInfo, Trail
from trailkit.rules.keyfacts import (
    days_left,
    key_facts,
    pending_deletion,
    rotation_readable,
    rotation_state,
    rotation_text,
)
from trailkit.ui.cli import main
from trailkit.ui.tables import keys_frame
from trailkit.ui.terminal import KEY_TABLE, deletion_text, key_rows, records_table

ACCOUNT = "123456789012"
ARN = f"arn:aws:kms:us-east-1:{ACCOUNT}:key/1111aaaa-0000-0000-0000-000000000001"
NOW = datetime(2026, 12, 5, 1, 0, tzinfo=UTC)


@pytest.fixture(autouse=True)
def _english() -> Any:
    yield
    i18n.set_language("en")


def _key(**kw: Any) -> KeyInfo:
    base: dict[str, Any] = {
        "arn": ARN,
        "key_id": ARN.rsplit("/", 1)[1],
        "account": ACCOUNT,
        "region": "us-east-1",
        "state": "Enabled",
        "manager": "CUSTOMER",
    }
    return KeyInfo(**{**base, **kw})


# -- pure rules ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("state", "deletion", "expected"),
    [
        ("PendingDeletion", NOW + timedelta(days=7), 7),
        ("PendingDeletion", NOW + timedelta(days=6, hours=12), 7),  # rounded up
        ("PendingDeletion", NOW + timedelta(hours=2), 1),
        ("PendingDeletion", NOW, 0),
        ("PendingDeletion", NOW - timedelta(days=1), 0),  # overdue: never negative
        ("PendingReplicaDeletion", NOW + timedelta(days=30), 30),
        ("PendingDeletion", None, None),  # no date read
        ("Enabled", NOW + timedelta(days=7), None),  # a stale date of a cancelled deletion
        ("Disabled", None, None),
    ],
)
def test_days_left(state: str, deletion: datetime | None, expected: int | None) -> None:
    key = _key(state=state, deletion_date=deletion)
    assert days_left(key, NOW) == expected
    facts = key_facts(key, NOW)
    assert facts.days_left == expected
    assert facts.urgent is (pending_deletion(key) and deletion is not None)


@pytest.mark.parametrize(
    ("kw", "state", "text"),
    [
        ({"rotation": True}, "enabled", "Automatic rotation is on."),
        ({"rotation": False}, "disabled", "Automatic rotation is off."),
        (
            {"rotation_error": "denied: the caller lacks kms:GetKeyRotationStatus"},
            "unknown",
            "Automatic rotation is unknown: denied: the caller lacks kms:GetKeyRotationStatus",
        ),
        ({"manager": "AWS"}, "aws", "AWS rotates this AWS managed key every year."),
        (
            {"state": "PendingDeletion"},
            "not-read",
            "Automatic rotation was not read: the key is pending deletion.",
        ),
        ({}, "not-read", "Automatic rotation was not read."),
    ],
)
def test_rotation_wording(kw: dict[str, Any], state: str, text: str) -> None:
    key = _key(**kw)
    assert rotation_state(key) == state
    assert rotation_text(key) == text
    with i18n.speaking("ja"):  # (the error is AWS's text, as it came)
        assert_japanese(rotation_text(key), [str(kw.get("rotation_error", ""))])


@pytest.mark.parametrize(
    ("kw", "readable"),
    [
        ({}, True),
        ({"manager": "AWS"}, False),
        ({"state": "PendingDeletion"}, False),
        ({"state": "Disabled"}, True),  # KMS answers for a disabled key
        ({"account": "999999999999"}, False),  # another account's key
        ({"error": "gone"}, False),
    ],
)
def test_rotation_is_read_only_for_own_customer_keys_not_pending_deletion(
    kw: dict[str, Any], readable: bool
) -> None:
    assert rotation_readable(_key(**kw), ACCOUNT) is readable


def test_facts_json_is_utc_iso_and_names_the_multi_region_role() -> None:
    created = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
    key = _key(
        state="PendingDeletion",
        deletion_date=NOW + timedelta(days=3),
        created=created,
        origin="AWS_KMS",
        multi_region=True,
        multi_region_role="PRIMARY",
        replica_arns=("arn:aws:kms:eu-west-1:123456789012:key/mrk-1",),
    )
    assert key_facts(key, NOW).as_dict() == {
        "key_deletion_date": "2026-12-08T01:00:00Z",
        "key_days_left": 3,
        "key_rotation": "not-read",
        "key_rotation_error": None,
        "key_manager": "CUSTOMER",
        "key_origin": "AWS_KMS",
        "key_created": "2026-01-02T03:04:05Z",
        "key_multi_region": "PRIMARY",
        "key_primary_arn": None,
        "key_replica_arns": ["arn:aws:kms:eu-west-1:123456789012:key/mrk-1"],
    }


def test_describe_key_dates_are_kept_in_utc() -> None:
    meta = {
        "Arn": ARN,
        "KeyId": ARN.rsplit("/", 1)[1],
        "KeyState": "PendingDeletion",
        "Origin": "EXTERNAL",
        "CreationDate": datetime(2026, 1, 1, 9, 0, tzinfo=UTC) + timedelta(),
        "DeletionDate": 1_796_000_000.0,  # epoch seconds, as the wire has it
    }
    key = KeyInfo.from_api(meta)
    assert key.origin == "EXTERNAL"
    assert key.created == datetime(2026, 1, 1, 9, 0, tzinfo=UTC)
    assert key.deletion_date == datetime.fromtimestamp(1_796_000_000, UTC)


# -- the keys table: deletion first, red, in the operator's timezone ----------------------------


def _inventory(*keys: KeyInfo) -> Inventory:
    from trailkit.records import ConnectionInfo

    trails = tuple(
        Trail(
            name=f"trail-{i}",
            arn=f"arn:aws:cloudtrail:us-east-1:{ACCOUNT}:trail/trail-{i}",
            home_region="us-east-1",
            account=ACCOUNT,
            multi_region=False,
            organization=False,
            bucket_name="b",
            s3_prefix=None,
            kms_key_id=k.arn,
            log_file_validation=True,
        )
        for i, k in enumerate(keys)
    )
    info = ConnectionInfo(
        account=ACCOUNT,
        caller_arn="arn:aws:iam::123456789012:user/t",
        endpoint="x",
        region="us-east-1",
        demo=True,
    )
    return Inventory(
        connection=info, regions=("us-east-1",), trails=trails, keys={k.arn: k for k in keys}
    )


def test_keys_table_puts_the_key_pending_deletion_first_with_its_date(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("TZ", "Asia/Tokyo")
    import time

    time.tzset()
    try:
        fine = _key(aliases=("alias/a-fine",), rotation=True)
        going = _key(
            arn=ARN.replace("1111aaaa", "9999ffff"),
            key_id="9999ffff-0000-0000-0000-000000000001",
            aliases=("alias/z-going",),
            state="PendingDeletion",
            deletion_date=NOW + timedelta(days=7),
        )
        frame = keys_frame(_inventory(fine, going), NOW)
        assert list(frame["alias"]) == ["alias/z-going", "alias/a-fine"]
        assert list(frame["days_left"]) == [7, None]
        rows = key_rows(frame.to_dict("records"))
        assert rows[0]["problems"].startswith(
            "Key deletion on 2026-12-12 10:00:00 JST: 7 days left."
        )
        assert rows[0]["deletion"].plain == "key deleted in 7 days"
        assert "red" in str(rows[0]["deletion"].style)
        assert rows[1]["deletion"] is None and rows[1]["rotation"] == "enabled"
        text = _render(records_table(rows, KEY_TABLE))
        assert text.index("alias/z-going") < text.index("alias/a-fine")
        assert "key deleted in 7 days" in text and " on " in text
        with i18n.speaking("ja"):
            rows = key_rows(keys_frame(_inventory(fine, going), NOW).to_dict("records"))
            ja = _render(records_table(rows, KEY_TABLE))
            assert_japanese(ja, ["alias/z-going", "alias/a-fine", ACCOUNT, "trail-0", "trail-1"])
            assert "2026-12-12 10:00:00 JST" in ja
    finally:
        monkeypatch.delenv("TZ")
        time.tzset()


def test_deletion_text_singular_and_due() -> None:
    assert deletion_text("2026-12-06T00:00:00Z", 1).endswith(": 1 day left.")
    assert "today or overdue" in deletion_text("2026-12-06T00:00:00Z", 0)


def _render(renderable: Any) -> str:
    from rich.console import Console

    buf = io.StringIO()
    Console(file=buf, width=160, color_system=None).print(renderable)
    return buf.getvalue()


# -- the read: moto, AccessDenied, and the shape AWS sends --------------------------------------


def test_moto_rotation_and_deletion_date(conn: Connection) -> None:
    kms = conn.client("kms", "us-east-1")
    on = kms.create_key(Description="on")["KeyMetadata"]["Arn"]
    kms.enable_key_rotation(KeyId=on)
    off = kms.create_key(Description="off")["KeyMetadata"]["Arn"]
    going = kms.create_key(Description="going")["KeyMetadata"]["Arn"]
    # (moto's ScheduleKeyDeletion takes a key id, not an ARN)
    kms.schedule_key_deletion(KeyId=going.rsplit("/", 1)[1], PendingWindowInDays=7)

    reader = Reader(conn)
    keys = reader.keys([on, off, going])
    assert (keys[on].rotation, keys[off].rotation, keys[going].rotation) == (True, False, None)
    assert keys[on].origin == "AWS_KMS" and keys[on].created is not None
    assert keys[going].state == "PendingDeletion"
    assert keys[going].deletion_date is not None
    assert days_left(keys[going], datetime.now(UTC)) == 7
    # one GetKeyRotationStatus per readable key; none for the key pending deletion
    assert conn.calls.get("kms:GetKeyRotationStatus") == 2
    reader.keys([on, off, going])
    assert conn.calls.get("kms:GetKeyRotationStatus") == 2  # cached


def test_rotation_denied_is_unknown_naming_the_permission(conn: Connection) -> None:
    kms = conn.client("kms", "us-east-1")
    arn = kms.create_key()["KeyMetadata"]["Arn"]
    fail_call(conn, "kms", "GetKeyRotationStatus", message="not allowed")
    reader = Reader(conn)
    key = reader.keys([arn])[arn]
    assert key.error is None and key.state == "Enabled"  # the rest of the key is read
    assert key.rotation is None
    assert key.rotation_error is not None and "kms:GetKeyRotationStatus" in key.rotation_error
    assert rotation_state(key) == "unknown"
    (error,) = reader.errors
    assert error.operation == "GetKeyRotationStatus"
    assert error.permission == "kms:GetKeyRotationStatus"


def test_rotation_request_and_the_response_aws_sends() -> None:
    """moto answers only ``KeyRotationEnabled``; AWS also sends the period and next date."""
    conn = Connection(endpoint_url="http://127.0.0.1:9", region="us-east-1", workers=1)
    from trailkit.aws.kms import Kms

    notes: list[Any] = []
    kms = Kms(conn, lambda e, candidate=False: notes.append(e))
    with Stubber(conn.client("kms", "us-east-1")) as stub:
        stub.add_response(
            "get_key_rotation_status",
            {
                "KeyRotationEnabled": True,
                "KeyId": ARN,
                "RotationPeriodInDays": 365,
                "NextRotationDate": datetime(2027, 1, 1, tzinfo=UTC),
            },
            {"KeyId": ARN},
        )
        assert kms.rotation_status(ARN, "us-east-1") == (True, None)
        stub.add_client_error(
            "get_key_rotation_status",
            service_error_code="AccessDeniedException",
            service_message="User is not authorized to perform: kms:GetKeyRotationStatus",
            http_status_code=400,
            expected_params={"KeyId": ARN},
        )
        enabled, error = kms.rotation_status(ARN, "us-east-1")
        stub.assert_no_pending_responses()
    assert enabled is None and error is not None and "kms:GetKeyRotationStatus" in error
    assert len(notes) == 1


# -- the CLI on the demo -------------------------------------------------------------------------


def _cli(endpoint: str, *argv: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = main(["--endpoint-url", endpoint, *argv], out=out, err=err)
    return code, out.getvalue(), err.getvalue()


def test_inventory_json_has_the_key_facts(demo: Any) -> None:
    endpoint, _estate = demo
    _code, out, err = _cli(endpoint, "inventory", "--format", "json")
    rows = {r["name"]: r for r in json.loads(out)}
    org = rows["app-trail"]
    assert org["key_manager"] == "CUSTOMER" and org["key_origin"] == "AWS_KMS"
    assert org["key_rotation"] in ("enabled", "disabled")
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z", org["key_created"])
    assert org["key_deletion_date"] is None and org["key_days_left"] is None
    assert isinstance(org["key_replica_arns"], list)
    for row in rows.values():
        if row["encryption"] == "SSE-S3":
            assert row["key_rotation"] is None and row["key_manager"] is None
    # the disabled key of stale-key-trail is still asked (KMS answers for a disabled key)
    assert rows["stale-key-trail"]["key_rotation"] in ("enabled", "disabled")
    assert "GetKeyRotationStatus" not in err


def test_inventory_table_in_japanese_has_no_english_left(demo: Any) -> None:
    endpoint, estate = demo
    with i18n.speaking("ja"):
        _code, out, __ = _cli(endpoint, "--lang", "ja", "inventory")
    assert "自動ローテーション" in out
    names = ["Name", *estate.keys.values(), "S3BucketDoesNotExistException", "HeadBucket"]
    assert_japanese(out, names, what="inventory")


def _pending_estate(endpoint: str) -> str:
    """A trail whose key is pending deletion (7 days), in a clean moto: the key's alias."""
    conn = Connection(endpoint_url=endpoint, region="us-east-1", workers=4)
    conn.client("s3", "us-east-1").create_bucket(Bucket="kf-logs")
    kms = conn.client("kms", "us-east-1")
    meta = kms.create_key(Description="going")["KeyMetadata"]
    kms.create_alias(AliasName="alias/going", TargetKeyId=meta["KeyId"])
    conn.client("cloudtrail", "us-east-1").create_trail(
        Name="kf-trail", S3BucketName="kf-logs", KmsKeyId=meta["Arn"]
    )
    kms.schedule_key_deletion(KeyId=meta["KeyId"], PendingWindowInDays=7)
    return "alias/going"


def test_pending_deletion_is_the_first_line_of_inventory_and_check(clean_moto: str) -> None:
    alias = _pending_estate(clean_moto)
    code, out, _err = _cli(clean_moto, "inventory", "--regions", "us-east-1")
    assert "key deleted in 7 days" in out  # the red line under the trail
    trail_part, keys_part = out.split("Keys in use:")
    assert "Key deletion on " in trail_part and ": 7 days left." in trail_part
    assert "Key deletion on " in keys_part
    code, out, _err = _cli(clean_moto, "inventory", "--regions", "us-east-1", "--format", "json")
    (row,) = json.loads(out)
    assert row["key_days_left"] == 7 and row["key_deletion_date"].endswith("Z")
    assert row["key_rotation"] == "not-read"  # KMS would say false: not asked
    code, out, _err = _cli(clean_moto, "check", "--trail", "kf-trail", "--key", alias)
    assert code == 1  # blocked: key-state
    lines = out.splitlines()
    deletion = next(i for i, line in enumerate(lines) if line.startswith("deletion:"))
    assert ": 7 days left." in lines[deletion]
    assert deletion < next(i for i, line in enumerate(lines) if line.startswith("verdict:"))
    with i18n.speaking("ja"):
        code, out, _err = _cli(clean_moto, "--lang", "ja", "inventory", "--regions", "us-east-1")
        assert "7 日後にキー削除" in out and "残り 7 日です。" in out
        assert_japanese(out, ["kf-trail", "kf-logs", alias, "PendingDeletion"], what="inventory")
        code, out, __ = _cli(
            clean_moto, "--lang", "ja", "check", "--trail", "kf-trail", "--key", alias
        )
        assert "削除予定:" in out and "残り 7 日です。" in out


def test_notebook_keys_table_shows_dates_locally_and_the_deletion_red(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from trailkit.ui.tables import table_html

    monkeypatch.setenv("TZ", "Asia/Tokyo")
    import time

    time.tzset()
    try:
        going = _key(
            state="PendingDeletion",
            deletion_date=NOW + timedelta(days=7),
            created=datetime(2026, 1, 1, tzinfo=UTC),
        )
        fine = _key(arn=ARN.replace("1111aaaa", "2222bbbb"), rotation=False)
        html = table_html(keys_frame(_inventory(going, fine), NOW))
        assert "2026-12-12 10:00:00 UTC+09:00" in html  # deletion date, operator's zone
        assert "2026-01-01 09:00:00 UTC+09:00" in html  # creation date
        assert "#b71c1c" in html  # the deletion cells are red
        assert ">off<" in html
        with i18n.speaking("ja"):
            assert ">オフ<" in table_html(keys_frame(_inventory(going, fine), NOW))
    finally:
        monkeypatch.delenv("TZ")
        time.tzset()


def test_keys_table_names_a_key_without_alias_by_its_arn() -> None:
    """``keys_frame(...).to_dict("records")`` gives NaN, not None, for the alias of a key that
    has none (e.g. a multi-Region replica) when another key has one: the keys table showed "-"
    in the key column, so the operator could not tell which key it was."""
    from trailkit.ui.terminal import key_rows

    records = [
        {"alias": "alias/logs", "key_arn": ARN, "region": "us-east-1"},
        {"alias": float("nan"), "key_arn": ARN.replace("us-east-1", "us-west-2")},
    ]
    rows = key_rows(records)
    assert rows[0]["key"] == "alias/logs"
    assert rows[1]["key"] == ARN.replace("us-east-1", "us-west-2")
