"""The demo server and its seeded estate (``trailkit.demo``), checked through boto3."""

from __future__ import annotations

import inspect
import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
import tomllib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import botocore.exceptions
import pytest

from trailkit.aws.session import Connection
from trailkit.demo import (
    DEMO_ACCOUNT,
    DEMO_REGIONS,
    PLACEHOLDER_CREDENTIAL,
    SECOND_ACCOUNT,
    DemoEstate,
    DemoServer,
    as_account,
    demo_connection,
    load_estate_spec,
    reset,
    seed_demo,
    start_demo,
)
from trailkit.errors import InputError

REPO = Path(__file__).resolve().parent.parent

MAIN_TRAILS = {
    # name: (home region, bucket, bucket region)
    "org-trail": ("us-east-1", f"tk-org-logs-{DEMO_ACCOUNT}", "us-east-1"),
    "app-trail": ("eu-west-1", "tk-app-logs-euw1", "eu-west-1"),
    "tokyo-trail": ("ap-northeast-1", "tk-tokyo-logs-usw2", "us-west-2"),
    "bucketkey-trail": ("us-west-2", "tk-bucketkey-logs-usw2", "us-west-2"),
    "stale-key-trail": ("us-east-1", "tk-stale-logs-use1", "us-east-1"),
    "pinned-key-trail": ("us-east-1", "tk-pinned-logs-use1", "us-east-1"),
    "stripped-policy-trail": ("us-east-1", "tk-stripped-logs-use1", "us-east-1"),
    "retiring-key-trail": ("us-east-1", "tk-retiring-logs-use1", "us-east-1"),
    "no-readers-trail": ("us-east-1", "tk-no-readers-logs-use1", "us-east-1"),
}
#: Management trails whose bucket the management account cannot read: same shape.
BUCKET_TRAILS = {
    "partner-bucket-trail": ("us-west-2", "tk-partner-logs-use1", "us-east-1"),  # 444455556666's
    "deleted-bucket-trail": ("us-east-1", "tk-deleted-logs-use1", "us-east-1"),  # deleted
}
BUCKET_OWNER = "444455556666"
#: Trails and keys of the other accounts (pinned in detail in tests/test_demo_org.py).
OTHER_TRAILS = {
    "archive-trail",
    "prod-trail",
    "dev-trail",
    "sandbox-trail",
    "aws-controltower-BaselineCloudTrail",
}
OTHER_KEYS = {
    "alias/shared-logs-key",
    "alias/prod-logs",
    "alias/dev-logs",
    "alias/aws-controltower-mrk",
}
MEMBERS = {
    "210987654321": "log-archive",
    "333344445555": "workload-prod",
    "555566667777": "workload-dev",
    "666677778888": "sandbox",
}
KEYS = {
    # alias: (region, state, key spec, key usage)
    "alias/cloudtrail-good": ("us-east-1", "Enabled", "SYMMETRIC_DEFAULT", "ENCRYPT_DECRYPT"),
    "alias/no-cloudtrail": ("us-east-1", "Enabled", "SYMMETRIC_DEFAULT", "ENCRYPT_DECRYPT"),
    "alias/encrypt-no-describe": ("us-east-1", "Enabled", "SYMMETRIC_DEFAULT", "ENCRYPT_DECRYPT"),
    "alias/explicit-deny": ("us-east-1", "Enabled", "SYMMETRIC_DEFAULT", "ENCRYPT_DECRYPT"),
    "alias/other-account-context": (
        "us-east-1",
        "Enabled",
        "SYMMETRIC_DEFAULT",
        "ENCRYPT_DECRYPT",
    ),
    "alias/cloudtrail-disabled": ("us-east-1", "Disabled", "SYMMETRIC_DEFAULT", "ENCRYPT_DECRYPT"),
    "alias/pending-deletion": (
        "us-east-1",
        "PendingDeletion",
        "SYMMETRIC_DEFAULT",
        "ENCRYPT_DECRYPT",
    ),
    "alias/rsa-signing": ("us-east-1", "Enabled", "RSA_2048", "SIGN_VERIFY"),
    "alias/no-readers": ("us-east-1", "Enabled", "SYMMETRIC_DEFAULT", "ENCRYPT_DECRYPT"),
    "alias/multi-region-good": ("us-east-1", "Enabled", "SYMMETRIC_DEFAULT", "ENCRYPT_DECRYPT"),
    "alias/cloudtrail-good-euw1": ("eu-west-1", "Enabled", "SYMMETRIC_DEFAULT", "ENCRYPT_DECRYPT"),
    "alias/cloudtrail-good-usw2": ("us-west-2", "Enabled", "SYMMETRIC_DEFAULT", "ENCRYPT_DECRYPT"),
    "alias/cloudtrail-bucketkey-usw2": (
        "us-west-2",
        "Enabled",
        "SYMMETRIC_DEFAULT",
        "ENCRYPT_DECRYPT",
    ),
    "alias/bucket-default-usw2": ("us-west-2", "Enabled", "SYMMETRIC_DEFAULT", "ENCRYPT_DECRYPT"),
    "alias/cloudtrail-good-apne1": (
        "ap-northeast-1",
        "Enabled",
        "SYMMETRIC_DEFAULT",
        "ENCRYPT_DECRYPT",
    ),
}


def _report(request: pytest.FixtureRequest, message: str) -> None:
    """Show ``message`` on the terminal even while output is captured."""
    reporter = request.config.pluginmanager.get_plugin("terminalreporter")
    capture = request.config.pluginmanager.get_plugin("capturemanager")
    if reporter is None or capture is None:  # pragma: no cover - plugins disabled
        print(message)
        return
    with capture.global_and_fixture_disabled():
        reporter.write_line(f"\n[test_demo] {message}")


def _forget_shared_estate() -> None:
    """moto state is per process, so resetting it here makes the estate that ``conftest.py``
    caches for other test modules stale: tell it to seed again when next asked."""
    state = getattr(sys.modules.get("conftest"), "_STATE", None)
    if isinstance(state, dict):
        state["seeded"] = False


@pytest.fixture(scope="module")
def demo(request: pytest.FixtureRequest) -> Iterator[tuple[DemoServer, DemoEstate]]:
    """One seeded demo server for the module (moto state is per process, so one is enough)."""
    with DemoServer() as server:
        reset(server.endpoint)  # state may be left over from other tests in this process
        _forget_shared_estate()
        estate = seed_demo(server.connection())
        _report(request, f"demo estate seeded in {estate.seconds:.2f} s ({estate.summary()})")
        yield server, estate
    _forget_shared_estate()


@pytest.fixture(scope="module")
def conn(demo: tuple[DemoServer, DemoEstate]) -> Connection:
    return Connection(endpoint_url=demo[0].endpoint, region="us-east-1")


@pytest.fixture(scope="module")
def estate(demo: tuple[DemoServer, DemoEstate]) -> DemoEstate:
    return demo[1]


def _trails(conn: Connection, region: str) -> dict[str, dict[str, Any]]:
    found = conn.client("cloudtrail", region).describe_trails(includeShadowTrails=False)
    return {t["Name"]: t for t in found["trailList"]}


def _all_trails(conn: Connection) -> dict[str, dict[str, Any]]:
    trails: dict[str, dict[str, Any]] = {}
    for region in DEMO_REGIONS:
        trails.update(_trails(conn, region))
    return trails


def _aliases(conn: Connection, region: str) -> dict[str, dict[str, Any]]:
    found = conn.client("kms", region).list_aliases()["Aliases"]
    return {a["AliasName"]: a for a in found if not a["AliasName"].startswith("alias/aws/")}


def _policy(conn: Connection, region: str, key: str) -> dict[str, Any]:
    text = conn.client("kms", region).get_key_policy(KeyId=key, PolicyName="default")["Policy"]
    policy: dict[str, Any] = json.loads(text)
    return policy


def _sids(policy: dict[str, Any]) -> list[str]:
    return [str(s.get("Sid")) for s in policy["Statement"]]


def _statement(policy: dict[str, Any], sid: str) -> dict[str, Any]:
    matches: list[dict[str, Any]] = [s for s in policy["Statement"] if s.get("Sid") == sid]
    assert len(matches) == 1, (sid, _sids(policy))
    return matches[0]


def _port_free(port: int) -> bool:
    with socket.socket() as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


# -- the estate record -------------------------------------------------------------------------


def test_seeding_is_recorded(estate: DemoEstate) -> None:
    assert estate.seconds > 0  # the time is reported, not asserted (no timed assertions)
    assert set(estate.trails) == {*MAIN_TRAILS, *BUCKET_TRAILS, *OTHER_TRAILS}
    assert set(estate.keys) == {*KEYS, *OTHER_KEYS}
    assert set(estate.replica_keys) == {"alias/multi-region-good"}
    assert estate.buckets == {
        **{bucket: region for _, bucket, region in MAIN_TRAILS.values()},
        "tk-partner-logs-use1": "us-east-1",
        f"tk-archive-logs-{SECOND_ACCOUNT}": "us-east-1",
        "tk-prod-logs-333344445555": "us-east-1",
        "tk-dev-logs-555566667777": "eu-west-1",
        "tk-sandbox-logs-666677778888": "us-west-2",
        "aws-controltower-logs-666677778888-us-east-1": "us-east-1",
    }  # the deleted bucket is only in trail_buckets
    assert estate.trail_buckets["deleted-bucket-trail"] == "tk-deleted-logs-use1"
    assert estate.accounts == {DEMO_ACCOUNT: "management", BUCKET_OWNER: "bucket-owner", **MEMBERS}
    assert set(estate.member_roles) == set(MEMBERS)
    assert estate.organization is not None and estate.organization.startswith("o-")
    assert estate.regions == DEMO_REGIONS
    assert estate.trail_region("tokyo-trail") == "ap-northeast-1"
    assert estate.trail_buckets["tokyo-trail"] == "tk-tokyo-logs-usw2"
    assert estate.key_id("alias/cloudtrail-good") == estate.keys["alias/cloudtrail-good"][-36:]
    assert "16 trails" in estate.summary() and "in 6 accounts" in estate.summary()
    assert f"Organization {estate.organization}: " in estate.summary()
    assert "and 4 member accounts." in estate.summary()
    for alias, (region, *_) in KEYS.items():
        assert estate.keys[alias].startswith(f"arn:aws:kms:{region}:{DEMO_ACCOUNT}:key/"), alias
    assert estate.keys["alias/shared-logs-key"].startswith(
        f"arn:aws:kms:us-east-1:{SECOND_ACCOUNT}:key/"
    )


# -- trails ------------------------------------------------------------------------------------


def test_every_trail_exists_in_its_home_region(conn: Connection, estate: DemoEstate) -> None:
    trails = _all_trails(conn)
    assert set(trails) == {*MAIN_TRAILS, *BUCKET_TRAILS}
    for name, (home, bucket, _) in {**MAIN_TRAILS, **BUCKET_TRAILS}.items():
        trail = trails[name]
        assert trail["HomeRegion"] == home
        assert trail["TrailARN"] == f"arn:aws:cloudtrail:{home}:{DEMO_ACCOUNT}:trail/{name}"
        assert trail["TrailARN"] == estate.trails[name]
        assert trail["S3BucketName"] == bucket
        assert name in _trails(conn, home)


def test_trail_settings(conn: Connection, estate: DemoEstate) -> None:
    trails = _all_trails(conn)
    org = trails["org-trail"]
    assert org["IsOrganizationTrail"] is True
    assert org["IsMultiRegionTrail"] is True
    assert org["LogFileValidationEnabled"] is True
    assert not org.get("KmsKeyId")

    app = trails["app-trail"]
    assert app["KmsKeyId"] == estate.keys["alias/cloudtrail-good-euw1"]
    assert app["KmsKeyId"].startswith(f"arn:aws:kms:eu-west-1:{DEMO_ACCOUNT}:key/")
    assert app["IsMultiRegionTrail"] is False
    assert app["LogFileValidationEnabled"] is True

    stale = trails["stale-key-trail"]
    assert stale["KmsKeyId"] == estate.keys["alias/cloudtrail-disabled"]
    assert stale["LogFileValidationEnabled"] is False

    for name, alias in (
        ("stripped-policy-trail", "alias/no-cloudtrail"),
        ("retiring-key-trail", "alias/pending-deletion"),
        ("no-readers-trail", "alias/no-readers"),
    ):
        assert trails[name]["KmsKeyId"] == estate.keys[alias], name

    for name in ("tokyo-trail", "bucketkey-trail"):
        assert not trails[name].get("KmsKeyId"), name
        assert trails[name]["LogFileValidationEnabled"] is False, name
        assert trails[name]["IsMultiRegionTrail"] is False, name
        assert trails[name]["IsOrganizationTrail"] is False, name


def test_logging_status(conn: Connection) -> None:
    ct = conn.client("cloudtrail", "us-east-1")
    for name, (home, _, _) in MAIN_TRAILS.items():
        status = conn.client("cloudtrail", home).get_trail_status(Name=name)
        assert status["IsLogging"] is (name != "stale-key-trail"), name
    assert ct.get_trail_status(Name="stale-key-trail")["IsLogging"] is False


def test_org_trail_has_shadow_copies(conn: Connection) -> None:
    shadows = conn.client("cloudtrail", "eu-west-1").describe_trails(includeShadowTrails=True)
    assert "org-trail" in {t["Name"] for t in shadows["trailList"]}


# -- buckets -----------------------------------------------------------------------------------


def test_buckets_regions_policies_and_encryption(conn: Connection, estate: DemoEstate) -> None:
    s3 = conn.client("s3", "us-east-1")
    listed = {b["Name"] for b in s3.list_buckets()["Buckets"]}
    for name, (_, bucket, region) in MAIN_TRAILS.items():
        assert bucket in listed
        location = s3.get_bucket_location(Bucket=bucket)["LocationConstraint"]
        assert (location or "us-east-1") == region, bucket
        policy = json.loads(s3.get_bucket_policy(Bucket=bucket)["Policy"])
        acl = _statement(policy, "AWSCloudTrailAclCheck")
        write = _statement(policy, "AWSCloudTrailWrite")
        assert acl["Condition"]["StringEquals"]["aws:SourceArn"] == estate.trails[name]
        assert write["Resource"] == f"arn:aws:s3:::{bucket}/AWSLogs/{DEMO_ACCOUNT}/*"
        rules = s3.get_bucket_encryption(Bucket=bucket)["ServerSideEncryptionConfiguration"]
        assert len(rules["Rules"]) == 1, bucket

    tokyo = conn.client("s3", "us-west-2").head_bucket(Bucket="tk-tokyo-logs-usw2")
    assert tokyo["BucketRegion"] == "us-west-2"


def test_a_bucket_of_another_account_answers_403_without_its_region(
    conn: Connection, estate: DemoEstate
) -> None:
    """AWS refuses a cross-account read the bucket policy does not allow; the demo's HeadBucket
    403 also leaves out x-amz-bucket-region, so the region cannot be learned (patch_moto)."""
    bucket = BUCKET_TRAILS["partner-bucket-trail"][1]
    s3 = conn.client("s3", "us-east-1")
    with pytest.raises(botocore.exceptions.ClientError) as head:
        s3.head_bucket(Bucket=bucket)
    assert head.value.response["Error"]["Code"] == "403"
    assert "x-amz-bucket-region" not in head.value.response["ResponseMetadata"]["HTTPHeaders"]
    for call in (s3.get_bucket_location, s3.get_bucket_policy, s3.get_bucket_encryption):
        with pytest.raises(botocore.exceptions.ClientError) as denied:
            call(Bucket=bucket)
        assert denied.value.response["Error"]["Code"] == "AccessDenied", call
    assert bucket not in {b["Name"] for b in s3.list_buckets()["Buckets"]}
    with pytest.raises(botocore.exceptions.ClientError) as taken:  # still one namespace
        s3.create_bucket(Bucket=bucket)
    assert taken.value.response["Error"]["Code"] == "BucketAlreadyExists"

    owner = as_account(conn, BUCKET_OWNER).client("s3", "us-east-1")
    assert owner.head_bucket(Bucket=bucket)["BucketRegion"] == "us-east-1"
    assert bucket in {b["Name"] for b in owner.list_buckets()["Buckets"]}
    policy = json.loads(owner.get_bucket_policy(Bucket=bucket)["Policy"])
    write = _statement(policy, "AWSCloudTrailWrite")  # the trail's account writes its prefix
    assert write["Resource"] == f"arn:aws:s3:::{bucket}/AWSLogs/{DEMO_ACCOUNT}/*"
    assert (
        write["Condition"]["StringEquals"]["aws:SourceArn"]
        == (estate.trails["partner-bucket-trail"])
    )


def test_a_deleted_bucket_is_404_and_its_trail_still_names_it(conn: Connection) -> None:
    home, bucket, _ = BUCKET_TRAILS["deleted-bucket-trail"]
    with pytest.raises(botocore.exceptions.ClientError) as head:
        conn.client("s3").head_bucket(Bucket=bucket)
    assert head.value.response["Error"]["Code"] == "404"
    with pytest.raises(botocore.exceptions.ClientError) as location:
        conn.client("s3").get_bucket_location(Bucket=bucket)
    assert location.value.response["Error"]["Code"] == "NoSuchBucket"
    assert _trails(conn, home)["deleted-bucket-trail"]["S3BucketName"] == bucket


def _default_encryption(conn: Connection, bucket: str) -> dict[str, Any]:
    found = conn.client("s3").get_bucket_encryption(Bucket=bucket)
    rule: dict[str, Any] = found["ServerSideEncryptionConfiguration"]["Rules"][0]
    return rule


def test_bucket_default_encryption(conn: Connection, estate: DemoEstate) -> None:
    org = _default_encryption(conn, f"tk-org-logs-{DEMO_ACCOUNT}")
    assert org["ApplyServerSideEncryptionByDefault"]["SSEAlgorithm"] == "AES256"

    bucket_key = _default_encryption(conn, "tk-bucketkey-logs-usw2")
    assert bucket_key["BucketKeyEnabled"] is True
    default = bucket_key["ApplyServerSideEncryptionByDefault"]
    assert default["SSEAlgorithm"] == "aws:kms"
    assert default["KMSMasterKeyID"] == estate.keys["alias/bucket-default-usw2"]

    app = _default_encryption(conn, "tk-app-logs-euw1")
    assert app["ApplyServerSideEncryptionByDefault"]["SSEAlgorithm"] == "aws:kms"
    assert (
        app["ApplyServerSideEncryptionByDefault"]["KMSMasterKeyID"]
        == estate.keys["alias/cloudtrail-good-euw1"]
    )
    for bucket in ("tk-tokyo-logs-usw2", "tk-stale-logs-use1"):
        rule = _default_encryption(conn, bucket)
        assert rule["ApplyServerSideEncryptionByDefault"]["SSEAlgorithm"] == "AES256", bucket


def test_app_bucket_denies_non_kms_uploads(conn: Connection) -> None:
    policy = json.loads(conn.client("s3").get_bucket_policy(Bucket="tk-app-logs-euw1")["Policy"])
    deny = _statement(policy, "DenyNonKmsUploads")
    assert deny["Effect"] == "Deny"
    assert deny["Action"] == "s3:PutObject"
    assert deny["Condition"] == {"StringNotEquals": {"s3:x-amz-server-side-encryption": "aws:kms"}}
    other = json.loads(conn.client("s3").get_bucket_policy(Bucket="tk-stale-logs-use1")["Policy"])
    assert "DenyNonKmsUploads" not in _sids(other)


def test_pinned_bucket_denies_uploads_with_another_kms_key(
    conn: Connection, estate: DemoEstate
) -> None:
    trail = _all_trails(conn)["pinned-key-trail"]
    assert trail["KmsKeyId"] == estate.keys["alias/cloudtrail-good"]
    policy = json.loads(conn.client("s3").get_bucket_policy(Bucket="tk-pinned-logs-use1")["Policy"])
    deny = _statement(policy, "DenyOtherKmsKeys")
    header = "s3:x-amz-server-side-encryption-aws-kms-key-id"
    assert deny["Effect"] == "Deny" and deny["Action"] == "s3:PutObject"
    assert deny["Condition"] == {
        "Null": {header: "false"},
        "StringNotEquals": {header: estate.keys["alias/cloudtrail-good"]},
    }


# -- keys --------------------------------------------------------------------------------------


def test_every_key_alias_state_and_spec(conn: Connection, estate: DemoEstate) -> None:
    by_region = {region: _aliases(conn, region) for region in DEMO_REGIONS}
    for alias, (region, state, spec, usage) in KEYS.items():
        assert alias in by_region[region], (alias, region)
        listed = by_region[region][alias]
        assert listed["AliasArn"] == f"arn:aws:kms:{region}:{DEMO_ACCOUNT}:{alias}"
        meta = conn.client("kms", region).describe_key(KeyId=alias)["KeyMetadata"]
        assert meta["Arn"] == estate.keys[alias]
        assert listed["TargetKeyId"] == meta["KeyId"]
        assert meta["KeyState"] == state, alias
        assert meta["Enabled"] is (state == "Enabled"), alias
        assert meta["KeySpec"] == spec, alias
        assert meta["KeyUsage"] == usage, alias
        assert meta["KeyManager"] == "CUSTOMER"
        assert meta["MultiRegion"] is (alias == "alias/multi-region-good"), alias
        if state == "PendingDeletion":
            assert "DeletionDate" in meta
    # Every alias of the demo account is one named above (plus the replica's alias).
    names = {alias for aliases in by_region.values() for alias in aliases}
    assert names == set(KEYS)
    assert sorted(by_region["us-west-2"]) == sorted(
        [
            "alias/cloudtrail-good-usw2",
            "alias/cloudtrail-bucketkey-usw2",
            "alias/bucket-default-usw2",
            "alias/multi-region-good",
        ]
    )
    assert "alias/cloudtrail-good-apne1" in by_region["ap-northeast-1"]
    assert "alias/cloudtrail-good-apne1" not in by_region["us-west-2"]


def test_multi_region_primary_and_replica(conn: Connection, estate: DemoEstate) -> None:
    primary_arn = estate.keys["alias/multi-region-good"]
    replica_arn = estate.replica_keys["alias/multi-region-good"]
    key_id = primary_arn.rsplit("/", 1)[1]
    assert re.fullmatch(r"mrk-[0-9a-f]{32}", key_id), key_id  # AWS's form (moto's is patched)
    assert replica_arn == f"arn:aws:kms:us-west-2:{DEMO_ACCOUNT}:key/{key_id}"

    usw2 = conn.client("kms", "us-west-2")
    replica = usw2.describe_key(KeyId="alias/multi-region-good")["KeyMetadata"]
    assert replica["Arn"] == replica_arn
    assert replica["MultiRegion"] is True
    assert replica["MultiRegionConfiguration"]["MultiRegionKeyType"] == "REPLICA"
    assert replica["MultiRegionConfiguration"]["PrimaryKey"]["Arn"] == primary_arn
    # Describing the replica must not turn the primary into a replica (the moto trap).
    primary = conn.client("kms").describe_key(KeyId=primary_arn)["KeyMetadata"]
    config = primary["MultiRegionConfiguration"]
    assert config["MultiRegionKeyType"] == "PRIMARY"
    assert [r["Arn"] for r in config["ReplicaKeys"]] == [replica_arn]
    # Bare mrk ids work (moto only knew its own hyphenated form).
    assert usw2.describe_key(KeyId=key_id)["KeyMetadata"]["Arn"] == replica_arn
    # The replica has its own alias and policy, for its own region.
    alias = _aliases(conn, "us-west-2")["alias/multi-region-good"]
    assert alias["AliasArn"].startswith("arn:aws:kms:us-west-2:")
    assert alias["TargetKeyId"] == key_id
    policy = _policy(conn, "us-west-2", key_id)
    via = _statement(policy, "Allow alias creation during setup")["Condition"]["StringEquals"]
    assert via["kms:ViaService"] == "ec2.us-west-2.amazonaws.com"


def test_patched_moto_keys_still_work(conn: Connection, estate: DemoEstate) -> None:
    """The lazily made private key signs; a 36-character mrk id round-trips ciphertext."""
    kms = conn.client("kms")
    signed = kms.sign(
        KeyId="alias/rsa-signing", Message=b"trail", SigningAlgorithm="RSASSA_PSS_SHA_256"
    )
    verified = kms.verify(
        KeyId="alias/rsa-signing",
        Message=b"trail",
        Signature=signed["Signature"],
        SigningAlgorithm="RSASSA_PSS_SHA_256",
    )
    assert verified["SignatureValid"] is True
    blob = kms.encrypt(KeyId="alias/multi-region-good", Plaintext=b"log")["CiphertextBlob"]
    decrypted = kms.decrypt(CiphertextBlob=blob)
    assert decrypted["Plaintext"] == b"log"
    assert decrypted["KeyId"] == estate.keys["alias/multi-region-good"]


def test_good_key_policy_is_the_console_default(conn: Connection, estate: DemoEstate) -> None:
    policy = _policy(conn, "us-east-1", estate.keys["alias/cloudtrail-good"])
    assert _sids(policy) == [
        "Enable IAM User Permissions",
        "Allow CloudTrail to encrypt logs",
        "Allow CloudTrail to describe key",
        "Allow principals in the account to decrypt log files",
        "Allow alias creation during setup",
        "Enable cross account log decryption",
    ]
    root = _statement(policy, "Enable IAM User Permissions")
    assert root["Principal"] == {"AWS": f"arn:aws:iam::{DEMO_ACCOUNT}:root"}
    assert root["Action"] == "kms:*"
    encrypt = _statement(policy, "Allow CloudTrail to encrypt logs")
    assert encrypt["Principal"] == {"Service": "cloudtrail.amazonaws.com"}
    assert encrypt["Action"] == "kms:GenerateDataKey*"
    pattern = f"arn:aws:cloudtrail:*:{DEMO_ACCOUNT}:trail/*"
    assert encrypt["Condition"] == {
        "StringLike": {
            "kms:EncryptionContext:aws:cloudtrail:arn": pattern,
            "aws:SourceArn": pattern,
        }
    }
    decrypt = _statement(policy, "Allow principals in the account to decrypt log files")
    assert decrypt["Principal"] == {"AWS": "*"}
    assert decrypt["Action"] == ["kms:Decrypt", "kms:ReEncryptFrom"]
    assert decrypt["Condition"]["StringEquals"] == {"kms:CallerAccount": DEMO_ACCOUNT}


def test_faulty_key_policies(conn: Connection, estate: DemoEstate) -> None:
    def policy(alias: str) -> dict[str, Any]:
        region = KEYS[alias][0]
        return _policy(conn, region, estate.keys[alias])

    assert _sids(policy("alias/no-cloudtrail")) == ["Enable IAM User Permissions"]
    assert _sids(policy("alias/bucket-default-usw2")) == ["Enable IAM User Permissions"]
    assert "Allow CloudTrail to describe key" not in _sids(policy("alias/encrypt-no-describe"))
    assert "Allow CloudTrail to encrypt logs" in _sids(policy("alias/encrypt-no-describe"))

    deny = _statement(policy("alias/explicit-deny"), "DenyCloudTrailEncrypt")
    assert deny["Effect"] == "Deny"
    assert deny["Principal"] == {"Service": "cloudtrail.amazonaws.com"}
    assert deny["Action"] == "kms:GenerateDataKey*"

    other = _statement(policy("alias/other-account-context"), "Allow CloudTrail to encrypt logs")
    like = other["Condition"]["StringLike"]
    assert like["kms:EncryptionContext:aws:cloudtrail:arn"] == (
        "arn:aws:cloudtrail:*:999988887777:trail/*"
    )
    assert like["aws:SourceArn"] == "arn:aws:cloudtrail:*:999988887777:trail/*"

    def service_decrypts(alias: str) -> bool:
        return any(
            s["Effect"] == "Allow"
            and s.get("Principal") == {"Service": "cloudtrail.amazonaws.com"}
            and "kms:Decrypt" in ([s["Action"]] if isinstance(s["Action"], str) else s["Action"])
            for s in policy(alias)["Statement"]
        )

    assert service_decrypts("alias/cloudtrail-bucketkey-usw2")
    assert not service_decrypts("alias/cloudtrail-good-usw2")
    for alias in ("alias/cloudtrail-disabled", "alias/pending-deletion", "alias/rsa-signing"):
        assert "Allow CloudTrail to encrypt logs" in _sids(policy(alias)), alias


# -- the second account ------------------------------------------------------------------------


def test_second_account_is_separate(conn: Connection, estate: DemoEstate) -> None:
    second = as_account(conn, SECOND_ACCOUNT)
    assert second.info().account == SECOND_ACCOUNT
    assert conn.info().account == DEMO_ACCOUNT

    archive = _trails(second, "us-east-1")
    assert set(archive) == {"archive-trail"}
    assert archive["archive-trail"]["TrailARN"] == estate.trails["archive-trail"]
    assert archive["archive-trail"]["S3BucketName"] == f"tk-archive-logs-{SECOND_ACCOUNT}"
    assert second.client("cloudtrail").get_trail_status(Name="archive-trail")["IsLogging"]
    assert "archive-trail" not in _all_trails(conn)

    shared_arn = estate.keys["alias/shared-logs-key"]
    assert set(_aliases(second, "us-east-1")) == {"alias/shared-logs-key"}
    assert "alias/shared-logs-key" not in _aliases(conn, "us-east-1")
    meta = second.client("kms").describe_key(KeyId="alias/shared-logs-key")["KeyMetadata"]
    assert meta["Arn"] == shared_arn
    policy = _policy(second, "us-east-1", shared_arn)
    encrypt = _statement(policy, "Allow CloudTrail to encrypt logs")
    assert encrypt["Condition"]["StringLike"]["kms:EncryptionContext:aws:cloudtrail:arn"] == (
        f"arn:aws:cloudtrail:*:{DEMO_ACCOUNT}:trail/*"
    )
    root = _statement(policy, "Enable IAM User Permissions")
    assert root["Principal"] == {"AWS": f"arn:aws:iam::{SECOND_ACCOUNT}:root"}
    # From the demo account the key's policy cannot be read (cross-account is not modelled).
    with pytest.raises(botocore.exceptions.ClientError):
        conn.client("kms").get_key_policy(KeyId=shared_arn, PolicyName="default")

    bucket = f"tk-archive-logs-{SECOND_ACCOUNT}"
    assert bucket in {b["Name"] for b in second.client("s3").list_buckets()["Buckets"]}
    assert bucket not in {b["Name"] for b in conn.client("s3").list_buckets()["Buckets"]}


# -- the server --------------------------------------------------------------------------------


def test_server_endpoint_and_port(demo: tuple[DemoServer, DemoEstate]) -> None:
    server, estate = demo
    assert server.running
    assert re.fullmatch(r"http://127\.0\.0\.1:\d+", server.endpoint)
    assert server.endpoint.endswith(f":{server.port}")
    assert estate.endpoint == server.endpoint
    assert not _port_free(server.port)
    assert "127.0.0.1" in repr(server)


def test_second_server_stops_and_frees_its_port() -> None:
    server, estate = start_demo(seed=False)
    port = server.port
    assert estate.trails == {} and "empty" in estate.summary()
    ident = server.connection().client("sts").get_caller_identity()
    assert ident["Account"] == DEMO_ACCOUNT
    server.stop()
    server.stop()  # idempotent
    assert not server.running
    assert _port_free(port)
    with pytest.raises(RuntimeError):
        _ = server.endpoint


def test_busy_port_is_an_input_error(demo: tuple[DemoServer, DemoEstate]) -> None:
    with pytest.raises(InputError, match="in use"):
        DemoServer(demo[0].port).start()
    with pytest.raises(InputError):
        DemoServer(70000)


def test_reset_then_seed_again(demo: tuple[DemoServer, DemoEstate]) -> None:
    """Last: empties the shared state, then rebuilds it."""
    server = demo[0]
    reset(server.endpoint)
    conn = server.connection()
    assert _trails(conn, "us-east-1") == {}
    assert _aliases(conn, "us-east-1") == {}
    estate = seed_demo(conn)
    assert set(_all_trails(conn)) == {*MAIN_TRAILS, *BUCKET_TRAILS}
    assert estate.seconds > 0
    with pytest.raises(InputError):
        reset("127.0.0.1:1")


# -- trailkit demo -----------------------------------------------------------------------------


def _demo_command() -> list[str]:
    if (REPO / "trailkit" / "cli.py").exists():
        return [sys.executable, "-m", "trailkit", "demo", "--port", "0"]
    code = "import sys; from trailkit.demo import run_demo; sys.exit(run_demo(0))"
    return [sys.executable, "-c", code]


@pytest.mark.slow
def test_run_demo_prints_settings_and_stops_on_sigterm(tmp_path: Path) -> None:
    env = {**os.environ, "PYTHONPATH": str(REPO), "PYTHONUNBUFFERED": "1"}
    log = tmp_path / "demo.log"
    with log.open("wb") as sink:
        proc = subprocess.Popen(
            _demo_command(), cwd=REPO, env=env, stdout=sink, stderr=subprocess.STDOUT
        )
    try:
        deadline = time.monotonic() + 60
        text = ""
        while "Press Ctrl-C" not in text:
            assert proc.poll() is None, log.read_text()
            assert time.monotonic() < deadline, text
            time.sleep(0.1)
            text = log.read_text()
        found = re.search(r"export AWS_ENDPOINT_URL=(http://127\.0\.0\.1:(\d+))", text)
        assert found, text
        endpoint, port = found.group(1), int(found.group(2))
        assert "export AWS_DEFAULT_REGION=us-east-1" in text
        assert "export AWS_ACCESS_KEY_ID=trailkit-demo" in text
        assert "export AWS_SECRET_ACCESS_KEY=trailkit-demo" in text
        assert "16 trails" in text and "4 member accounts" in text
        names = _trails(Connection(endpoint_url=endpoint), "us-east-1")
        assert {"org-trail", "stale-key-trail"} <= set(names)

        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=15) == 0
        assert _port_free(port)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


@pytest.mark.slow
def test_seeding_an_unpatched_moto_in_another_process() -> None:
    """``seed_demo`` also works against moto running elsewhere, without this module's fixes."""
    port = _free_port()
    code = (
        "import sys, time, logging\n"
        "logging.getLogger('werkzeug').setLevel(logging.ERROR)\n"
        "from moto.server import ThreadedMotoServer\n"
        f"server = ThreadedMotoServer(ip_address='127.0.0.1', port={port}, verbose=False)\n"
        "server.start()\n"
        "print('ready', flush=True)\n"
        "sys.stdin.read()\n"
    )
    proc = subprocess.Popen(
        [sys.executable, "-c", code],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
    )
    try:
        assert proc.stdout is not None
        assert proc.stdout.readline().strip() == b"ready"
        conn = Connection(endpoint_url=f"http://127.0.0.1:{port}", region="us-east-1")
        estate = seed_demo(conn)
        assert set(estate.keys) == {*KEYS, *OTHER_KEYS}
        assert set(_all_trails(conn)) == {*MAIN_TRAILS, *BUCKET_TRAILS}
        # Its account ids are random: the members stay outside the organization, seeded by id.
        assert estate.organization is not None and estate.member_roles == {}
        assert set(estate.trails) == {*MAIN_TRAILS, *BUCKET_TRAILS, *OTHER_TRAILS}
        org = conn.client("organizations")
        assert [a["Id"] for a in org.list_accounts()["Accounts"]] == [DEMO_ACCOUNT]
        replica = conn.client("kms", "us-west-2").describe_key(KeyId="alias/multi-region-good")
        config = replica["KeyMetadata"]["MultiRegionConfiguration"]
        # Unpatched moto may report the wrong type; the primary's ARN is always right.
        assert config["PrimaryKey"]["Arn"] == estate.keys["alias/multi-region-good"]
    finally:
        assert proc.stdin is not None
        proc.stdin.close()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


# -- the estate as data, and the demo's connections ---------------------------------------------


def test_the_estate_comes_from_the_packaged_data_files(estate: DemoEstate) -> None:
    spec = load_estate_spec()
    assert [k.alias for k in spec.keys] == list(estate.keys)
    assert [t.name for t in spec.trails] == list(estate.trails)
    assert {t.name: t.bucket for t in spec.trails} == estate.trail_buckets
    assert {
        t.bucket: t.bucket_region for t in spec.trails if not t.bucket_deleted
    } == estate.buckets
    assert spec.regions == DEMO_REGIONS == estate.regions
    assert spec.account("management") == DEMO_ACCOUNT
    assert spec.account("log-archive") == SECOND_ACCOUNT
    assert spec.account("bucket-owner") == BUCKET_OWNER
    assert {k.alias for k in spec.keys if k.replicas} == set(estate.replica_keys)
    package_data = tomllib.loads((REPO / "pyproject.toml").read_text())["tool"]["setuptools"][
        "package-data"
    ]["trailkit"]
    assert "demo/resources/*.json" in package_data
    for name in ("accounts.json", "keys.json", "trails.json"):
        assert (REPO / "trailkit" / "demo" / "resources" / name).is_file()
    with pytest.raises(InputError):
        spec.account("nobody")


def test_connection_has_no_demo_only_settings() -> None:
    import trailkit.aws.session as session

    params = set(inspect.signature(Connection).parameters)
    assert not params & {"demo", "account_id"}
    assert not hasattr(session, "DEMO_ACCOUNT") and not hasattr(session, "_DEMO_KEY")
    assert not hasattr(Connection, "for_account")
    with pytest.raises(InputError):
        Connection(profile="x", credentials=("a", "b"))


def test_demo_connections_sign_with_placeholders_and_pick_the_account(
    demo: tuple[DemoServer, DemoEstate], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    server, _ = demo
    main = server.connection()
    assert main.demo and main.info().demo and main.info().backend == "demo"
    assert main.info().endpoint == server.endpoint
    assert PLACEHOLDER_CREDENTIAL not in repr(main) and PLACEHOLDER_CREDENTIAL not in str(
        vars(main)
    )
    assert main.info().account == DEMO_ACCOUNT
    assert server.connection(account=SECOND_ACCOUNT).info().account == SECOND_ACCOUNT
    other = demo_connection(server.endpoint, region="eu-west-1", account=SECOND_ACCOUNT)
    assert other.region == "eu-west-1" and other.info().account == SECOND_ACCOUNT
    assert as_account(main, SECOND_ACCOUNT).info().account == SECOND_ACCOUNT
    with pytest.raises(InputError):
        demo_connection(server.endpoint, account="nope")
    with pytest.raises(InputError):
        as_account(Connection(region="us-east-1", endpoint_url=None), SECOND_ACCOUNT)


def _no_credentials_env(tmp_path: Path) -> dict[str, str]:
    """The environment of a fresh shell: no AWS credentials anywhere (empty HOME)."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith("AWS_") or k in ("AWS_DEFAULT_REGION",)
    }
    env["HOME"] = str(tmp_path)
    return env


def test_connect_signs_a_local_endpoint_without_configured_credentials(
    moto_endpoint: str, tmp_path: Path
) -> None:
    """What a notebook does after `export AWS_ENDPOINT_URL=...` (README): no credentials needed."""
    env = {**_no_credentials_env(tmp_path), "AWS_ENDPOINT_URL": moto_endpoint}
    code = "import trailkit as tk; print(tk.connect().info().backend)"
    out = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=60
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "demo"
    assert PLACEHOLDER_CREDENTIAL not in out.stdout + out.stderr


def test_connect_never_invents_credentials_for_real_aws(tmp_path: Path) -> None:
    """A non-loopback endpoint with nothing configured fails with the one-line error."""
    env = {**_no_credentials_env(tmp_path), "AWS_ENDPOINT_URL": "https://sts.example.invalid"}
    code = (
        "import trailkit as tk\n"
        "from trailkit.errors import ConnectionFailed\n"
        "try:\n"
        "    tk.connect()\n"
        "except ConnectionFailed as e:\n"
        "    print('refused:', e)\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=60
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.startswith("refused: No AWS credentials were found")
