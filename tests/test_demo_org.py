"""The demo as an organization: moto patches (trailkit.demo.patches) and the estate.

Pinned with boto3 only (no trailkit scan code): what a member account sees of the management
account's organization trail, ``ListTrails`` account-wide, ``AssumeRole`` refused for a role that
does not exist, and the demo organization's accounts, trails, keys and roles.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import boto3
import botocore.exceptions
import pytest

MANAGEMENT = "123456789012"


def _client(
    endpoint: str, service: str, region: str = "us-east-1", account: str | None = None
) -> Any:
    client = boto3.client(
        service,
        region_name=region,
        endpoint_url=endpoint,
        aws_access_key_id="trailkit-demo",
        aws_secret_access_key="trailkit-demo",
    )
    if account is not None:

        def header(request: Any, **kwargs: Any) -> None:
            request.headers["x-moto-account-id"] = account

        client.meta.events.register("before-send", header)
    return client


def _assumed(endpoint: str, role_arn: str) -> Callable[..., Any]:
    """Clients acting through ``role_arn`` (assumed from the management account)."""
    creds = _client(endpoint, "sts").assume_role(RoleArn=role_arn, RoleSessionName="trailkit")[
        "Credentials"
    ]

    def make(service: str, region: str = "us-east-1") -> Any:
        return boto3.client(
            service,
            region_name=region,
            endpoint_url=endpoint,
            aws_access_key_id=creds["AccessKeyId"],
            aws_secret_access_key=creds["SecretAccessKey"],
            aws_session_token=creds["SessionToken"],
        )

    return make


def _bucket(endpoint: str, name: str, account: str | None = None) -> None:
    _client(endpoint, "s3", account=account).create_bucket(Bucket=name)


# -- the patches, on a small organization made here ------------------------------------------


@pytest.fixture
def small_org(clean_moto: str) -> dict[str, Any]:
    """Management account with an organization, two members (one created with another role
    name), an organization trail (multi-Region, us-east-1), a single-Region organization trail
    (eu-west-1), and trails of the management account and of a member."""
    endpoint = clean_moto
    org = _client(endpoint, "organizations")
    org.create_organization(FeatureSet="ALL")
    member = org.create_account(AccountName="member", Email="m@example.com")
    member_id = member["CreateAccountStatus"]["AccountId"]
    other = org.create_account(AccountName="other", Email="o@example.com", RoleName="OtherRole")
    other_id = other["CreateAccountStatus"]["AccountId"]
    _bucket(endpoint, "org-logs")
    east = _client(endpoint, "cloudtrail")
    west = _client(endpoint, "cloudtrail", "eu-west-1")
    org_arn = east.create_trail(
        Name="org-trail", S3BucketName="org-logs", IsMultiRegionTrail=True, IsOrganizationTrail=True
    )["TrailARN"]
    east.start_logging(Name="org-trail")
    euw1_arn = west.create_trail(
        Name="org-euw1", S3BucketName="org-logs", IsOrganizationTrail=True
    )["TrailARN"]
    own_arn = west.create_trail(Name="own-euw1", S3BucketName="org-logs")["TrailARN"]
    _bucket(endpoint, "member-logs", member_id)
    member_arn = _client(endpoint, "cloudtrail", "ap-northeast-1", member_id).create_trail(
        Name="member-trail", S3BucketName="member-logs"
    )["TrailARN"]
    return {
        "endpoint": endpoint,
        "member": member_id,
        "other": other_id,
        "org_arn": org_arn,
        "euw1_arn": euw1_arn,
        "own_arn": own_arn,
        "member_arn": member_arn,
    }


def _arns(answer: dict[str, Any], key: str) -> dict[str, str]:
    return {t["TrailARN"]: t["HomeRegion"] for t in answer[key]}


def test_list_trails_lists_every_trail_of_the_account_in_every_region(
    small_org: dict[str, Any],
) -> None:
    endpoint = small_org["endpoint"]
    for region in ("us-east-1", "eu-west-1", "us-west-2"):
        listed = _arns(_client(endpoint, "cloudtrail", region).list_trails(), "Trails")
        assert listed == {
            small_org["org_arn"]: "us-east-1",
            small_org["euw1_arn"]: "eu-west-1",
            small_org["own_arn"]: "eu-west-1",
        }, region


def test_a_member_lists_its_own_trails_and_the_organization_trails(
    small_org: dict[str, Any],
) -> None:
    endpoint, member = small_org["endpoint"], small_org["member"]
    listed = _arns(_client(endpoint, "cloudtrail", "us-west-2", member).list_trails(), "Trails")
    assert listed == {
        small_org["member_arn"]: "ap-northeast-1",
        small_org["org_arn"]: "us-east-1",
        small_org["euw1_arn"]: "eu-west-1",
    }


def test_a_member_describes_organization_trails_where_they_are_shadowed(
    small_org: dict[str, Any],
) -> None:
    endpoint, member = small_org["endpoint"], small_org["member"]
    org_arn, euw1_arn = small_org["org_arn"], small_org["euw1_arn"]
    seen = {
        region: _arns(
            _client(endpoint, "cloudtrail", region, member).describe_trails(), "trailList"
        )
        for region in ("us-east-1", "eu-west-1", "ap-northeast-1")
    }
    assert seen["us-east-1"] == {org_arn: "us-east-1"}
    assert seen["eu-west-1"] == {org_arn: "us-east-1", euw1_arn: "eu-west-1"}
    assert seen["ap-northeast-1"] == {
        org_arn: "us-east-1",
        small_org["member_arn"]: "ap-northeast-1",
    }
    described = _client(endpoint, "cloudtrail", "eu-west-1", member).describe_trails()
    org_trail = next(t for t in described["trailList"] if t["TrailARN"] == org_arn)
    assert org_trail["IsOrganizationTrail"] is True
    assert org_trail["S3BucketName"] == "org-logs"
    # "If you do not include shadow trails, organization trails in a member account ... will not
    # be returned."
    own_only = _client(endpoint, "cloudtrail", "eu-west-1", member).describe_trails(
        includeShadowTrails=False
    )
    assert own_only["trailList"] == []


def test_an_account_outside_the_organization_does_not_see_its_trails(
    small_org: dict[str, Any],
) -> None:
    endpoint = small_org["endpoint"]
    outside = _client(endpoint, "cloudtrail", account="999988887777")
    assert outside.list_trails()["Trails"] == []
    assert outside.describe_trails()["trailList"] == []
    with pytest.raises(botocore.exceptions.ClientError) as caught:
        outside.get_trail_status(Name=small_org["org_arn"])
    assert caught.value.response["Error"]["Code"] == "TrailNotFoundException"


def test_a_member_reads_an_organization_trail_by_arn_with_its_own_status(
    small_org: dict[str, Any],
) -> None:
    from trailkit.demo.patches import set_member_trail_status

    endpoint, member, org_arn = small_org["endpoint"], small_org["member"], small_org["org_arn"]
    ct = _client(endpoint, "cloudtrail", "eu-west-1", member)
    trail = ct.get_trail(Name=org_arn)["Trail"]
    assert trail["TrailARN"] == org_arn
    assert trail["IsOrganizationTrail"] is True
    status = ct.get_trail_status(Name=org_arn)
    assert status["IsLogging"] is True
    assert "LatestDeliveryError" not in status
    set_member_trail_status(org_arn, member, LatestDeliveryError="AccessDenied")
    assert ct.get_trail_status(Name=org_arn)["LatestDeliveryError"] == "AccessDenied"
    # Only in that member: the management account's own status is unchanged.
    assert "LatestDeliveryError" not in _client(endpoint, "cloudtrail").get_trail_status(
        Name=org_arn
    )
    # Not by name (the name is another account's), not where it is not shadowed.
    with pytest.raises(botocore.exceptions.ClientError) as caught:
        ct.get_trail(Name="org-trail")
    assert caught.value.response["Error"]["Code"] == "TrailNotFoundException"
    with pytest.raises(botocore.exceptions.ClientError):
        _client(endpoint, "cloudtrail", "us-east-1", member).get_trail_status(
            Name=small_org["euw1_arn"]
        )
    with pytest.raises(LookupError):
        set_member_trail_status(small_org["own_arn"], member, LatestDeliveryError="x")


def test_a_member_status_tag_gives_the_status_in_that_member(small_org: dict[str, Any]) -> None:
    from trailkit.demo.patches import MEMBER_STATUS_TAG

    endpoint, member, arn = small_org["endpoint"], small_org["member"], small_org["euw1_arn"]
    fields = {"LatestDeliveryError": "NoSuchBucket", "LatestDigestDeliveryError": "NoSuchBucket"}
    _client(endpoint, "cloudtrail", "eu-west-1").add_tags(
        ResourceId=arn, TagsList=[{"Key": MEMBER_STATUS_TAG + member, "Value": json.dumps(fields)}]
    )
    status = _client(endpoint, "cloudtrail", "eu-west-1", member).get_trail_status(Name=arn)
    assert {k: status.get(k) for k in fields} == fields
    other = _client(endpoint, "cloudtrail", "eu-west-1", small_org["other"])
    assert "LatestDeliveryError" not in other.get_trail_status(Name=arn)


def test_a_member_cannot_change_the_organization_trail(small_org: dict[str, Any]) -> None:
    ct = _client(small_org["endpoint"], "cloudtrail", "us-east-1", small_org["member"])
    for call in (ct.stop_logging, ct.start_logging):
        with pytest.raises(botocore.exceptions.ClientError) as caught:
            call(Name=small_org["org_arn"])
        assert caught.value.response["Error"]["Code"] == "TrailNotFoundException"


def test_assume_role_into_a_role_that_exists_acts_in_that_account(
    small_org: dict[str, Any],
) -> None:
    endpoint, member = small_org["endpoint"], small_org["member"]
    make = _assumed(endpoint, f"arn:aws:iam::{member}:role/OrganizationAccountAccessRole")
    assert make("sts").get_caller_identity()["Account"] == member
    assert small_org["member_arn"] in _arns(make("cloudtrail").list_trails(), "Trails")
    other = _assumed(endpoint, f"arn:aws:iam::{small_org['other']}:role/OtherRole")
    assert other("sts").get_caller_identity()["Account"] == small_org["other"]


@pytest.mark.parametrize(
    "role",
    [
        "arn:aws:iam::{other}:role/OrganizationAccountAccessRole",  # created with OtherRole
        "arn:aws:iam::{member}:role/NoSuchRole",
        "arn:aws:iam::999988887777:role/OrganizationAccountAccessRole",  # outside
        "arn:aws:iam::{member}:role/some/path/OrganizationAccountAccessRole",  # another path
    ],
)
def test_assume_role_into_a_role_that_does_not_exist_is_access_denied(
    small_org: dict[str, Any], role: str
) -> None:
    arn = role.format(member=small_org["member"], other=small_org["other"])
    sts = _client(small_org["endpoint"], "sts")
    caller = sts.get_caller_identity()["Arn"]
    with pytest.raises(botocore.exceptions.ClientError) as caught:
        sts.assume_role(RoleArn=arn, RoleSessionName="trailkit")
    error = caught.value.response["Error"]
    assert error["Code"] == "AccessDenied"
    assert error["Message"] == (
        f"User: {caller} is not authorized to perform: sts:AssumeRole on resource: {arn}"
    )
    assert caught.value.response["ResponseMetadata"]["HTTPStatusCode"] == 403


def test_create_account_takes_its_id_from_the_demo_tag(small_org: dict[str, Any]) -> None:
    from trailkit.demo.patches import ACCOUNT_ID_TAG

    endpoint = small_org["endpoint"]
    org = _client(endpoint, "organizations")

    def create(name: str, tags: list[dict[str, str]]) -> str:
        made = org.create_account(AccountName=name, Email=f"{name}@example.com", Tags=tags)
        return str(made["CreateAccountStatus"]["AccountId"])

    fixed = create(
        "fixed", [{"Key": ACCOUNT_ID_TAG, "Value": "777788889999"}, {"Key": "k", "Value": "v"}]
    )
    assert fixed == "777788889999"
    assert org.list_tags_for_resource(ResourceId=fixed)["Tags"] == [{"Key": "k", "Value": "v"}]
    # The role is made in that account.
    make = _assumed(endpoint, f"arn:aws:iam::{fixed}:role/OrganizationAccountAccessRole")
    assert make("sts").get_caller_identity()["Account"] == fixed
    # An id already in the organization, or not 12 digits: a random id, as moto gives.
    for value in ("777788889999", small_org["member"], "12345"):
        other = create(f"again-{value}", [{"Key": ACCOUNT_ID_TAG, "Value": value}])
        assert other != value and len(other) == 12 and other.isdigit()
    assert len(create("plain", [])) == 12


def test_a_role_whose_trust_policy_asks_for_an_external_id_needs_it(
    small_org: dict[str, Any],
) -> None:
    endpoint, member = small_org["endpoint"], small_org["member"]
    trust = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"AWS": f"arn:aws:iam::{MANAGEMENT}:root"},
                "Action": "sts:AssumeRole",
                "Condition": {"StringEquals": {"sts:ExternalId": "trailkit-demo-42"}},
            }
        ],
    }
    arn = _client(endpoint, "iam", account=member).create_role(
        RoleName="TrailkitMember", AssumeRolePolicyDocument=json.dumps(trust)
    )["Role"]["Arn"]
    sts = _client(endpoint, "sts")
    for given in ({}, {"ExternalId": "wrong-id"}):
        with pytest.raises(botocore.exceptions.ClientError) as caught:
            sts.assume_role(RoleArn=arn, RoleSessionName="trailkit", **given)
        assert caught.value.response["Error"]["Code"] == "AccessDenied"
    made = sts.assume_role(RoleArn=arn, RoleSessionName="trailkit", ExternalId="trailkit-demo-42")
    assert made["AssumedRoleUser"]["Arn"].startswith(f"arn:aws:sts::{member}:assumed-role/")
    # The roles Organizations made ask for none.
    sts.assume_role(
        RoleArn=f"arn:aws:iam::{member}:role/OrganizationAccountAccessRole",
        RoleSessionName="trailkit",
        ExternalId="anything",
    )


def test_a_reset_forgets_the_organization_memberships(small_org: dict[str, Any]) -> None:
    import requests

    endpoint, member = small_org["endpoint"], small_org["member"]
    requests.post(f"{endpoint}/moto-api/reset", timeout=10)
    # The former member can found an organization of its own (moto refused: "already in one").
    org = _client(endpoint, "organizations", account=member)
    assert org.create_organization(FeatureSet="ALL")["Organization"]["MasterAccountId"] == member
    requests.post(f"{endpoint}/moto-api/reset", timeout=10)


# -- the demo organization -------------------------------------------------------------------

ORG_TRAIL = f"arn:aws:cloudtrail:us-east-1:{MANAGEMENT}:trail/org-trail"
SANDBOX = "666677778888"
#: The organization's accounts: id -> (name, the role Organizations created in it).
ORGANIZATION = {
    MANAGEMENT: ("management", None),
    "210987654321": ("log-archive", "OrganizationAccountAccessRole"),
    "333344445555": ("workload-prod", "OrganizationAccountAccessRole"),
    "555566667777": ("workload-dev", "OrganizationAccountAccessRole"),
    "666677778888": ("sandbox", "AWSControlTowerExecution"),
}
#: Each member's own trail: (ARN, bucket and its region, key alias or None, key state or None).
MEMBER_TRAILS: dict[str, tuple[str, str, str, str | None, str | None]] = {
    "210987654321": (
        "arn:aws:cloudtrail:us-east-1:210987654321:trail/archive-trail",
        "tk-archive-logs-210987654321",
        "us-east-1",
        None,
        None,
    ),
    "333344445555": (
        "arn:aws:cloudtrail:us-east-1:333344445555:trail/prod-trail",
        "tk-prod-logs-333344445555",
        "us-east-1",
        "alias/prod-logs",
        "Enabled",
    ),
    "555566667777": (
        "arn:aws:cloudtrail:eu-west-1:555566667777:trail/dev-trail",
        "tk-dev-logs-555566667777",
        "eu-west-1",
        "alias/dev-logs",
        "Disabled",
    ),
    "666677778888": (
        "arn:aws:cloudtrail:us-west-2:666677778888:trail/sandbox-trail",
        "tk-sandbox-logs-666677778888",
        "us-west-2",
        None,
        None,
    ),
}
OUTSIDE = ("444455556666", "999988887777")  # bucket-owner, outside
#: Control Tower's trail in sandbox (besides sandbox-trail): its ARN and home region.
CONTROL_TOWER_TRAIL = (
    "arn:aws:cloudtrail:us-east-1:666677778888:trail/aws-controltower-BaselineCloudTrail"
)
#: Every member's trails as ListTrails lists them inside the member: ARN -> home region.
OWN_TRAILS = {
    account: {arn: region, **({CONTROL_TOWER_TRAIL: "us-east-1"} if account == SANDBOX else {})}
    for account, (arn, _bucket, region, _alias, _state) in MEMBER_TRAILS.items()
}


def _role(account: str) -> str:
    return f"arn:aws:iam::{account}:role/{ORGANIZATION[account][1]}"


def test_the_demo_is_an_organization_of_five_accounts(demo: Any) -> None:
    endpoint, estate = demo
    org = _client(endpoint, "organizations")
    described = org.describe_organization()["Organization"]
    assert described["Id"] == estate.organization
    assert described["MasterAccountId"] == MANAGEMENT
    accounts = org.list_accounts()["Accounts"]
    assert {a["Id"]: a["Name"] for a in accounts} == {k: v[0] for k, v in ORGANIZATION.items()}
    assert {a["Status"] for a in accounts} == {"ACTIVE"}
    assert estate.member_roles == {k: v[1] for k, v in ORGANIZATION.items() if v[1]}
    assert not set(OUTSIDE) & {a["Id"] for a in accounts}
    # Members know their organization too.
    member = _client(endpoint, "organizations", account="333344445555")
    assert member.describe_organization()["Organization"]["Id"] == estate.organization


@pytest.mark.parametrize("account", sorted(MEMBER_TRAILS))
def test_each_member_has_its_own_trail_bucket_and_key_and_sees_the_organization_trail(
    demo: Any, account: str
) -> None:
    endpoint, estate = demo
    arn, bucket, region, alias, state = MEMBER_TRAILS[account]
    make = _assumed(endpoint, _role(account))
    assert make("sts").get_caller_identity()["Account"] == account
    listed = _arns(make("cloudtrail").list_trails(), "Trails")
    assert listed == {**OWN_TRAILS[account], ORG_TRAIL: "us-east-1"}
    name = arn.rsplit("/", 1)[1]
    assert estate.trails[name] == arn
    trail = make("cloudtrail", region).get_trail(Name=name)["Trail"]
    assert trail["S3BucketName"] == bucket == estate.trail_buckets[name]
    assert bucket in {b["Name"] for b in make("s3").list_buckets()["Buckets"]}
    assert make("cloudtrail", region).get_trail_status(Name=name)["IsLogging"] is True
    if alias is None:
        assert not trail.get("KmsKeyId")
        return
    kms = make("kms", region)
    key = kms.describe_key(KeyId=alias)["KeyMetadata"]
    assert trail["KmsKeyId"] == key["Arn"] == estate.keys[alias]
    assert key["Arn"].startswith(f"arn:aws:kms:{region}:{account}:key/")
    assert key["KeyState"] == state
    policy = json.loads(kms.get_key_policy(KeyId=key["KeyId"], PolicyName="default")["Policy"])
    encrypt = next(s for s in policy["Statement"] if s["Sid"] == "Allow CloudTrail to encrypt logs")
    assert encrypt["Condition"]["StringLike"]["aws:SourceArn"] == (
        f"arn:aws:cloudtrail:*:{account}:trail/*"
    )


def test_the_organization_trail_has_a_delivery_error_in_workload_dev_only(demo: Any) -> None:
    endpoint = demo[0]
    for account in MEMBER_TRAILS:
        make = _assumed(endpoint, _role(account))
        for region in ("us-east-1", "ap-northeast-1"):  # multi-Region: seen everywhere
            status = make("cloudtrail", region).get_trail_status(Name=ORG_TRAIL)
            assert status["IsLogging"] is True
            expected = "AccessDenied" if account == "555566667777" else None
            assert status.get("LatestDeliveryError") == expected, (account, region)
    assert "LatestDeliveryError" not in _client(endpoint, "cloudtrail").get_trail_status(
        Name="org-trail"
    )


def test_the_management_account_lists_only_its_own_trails(demo: Any) -> None:
    endpoint, estate = demo
    listed = _arns(_client(endpoint, "cloudtrail", "eu-west-1").list_trails(), "Trails")
    own = {arn for arn in estate.trails.values() if f":{MANAGEMENT}:" in arn}
    assert set(listed) == own and len(own) == 11
    assert listed[ORG_TRAIL] == "us-east-1"
    assert listed[estate.trails["tokyo-trail"]] == "ap-northeast-1"


@pytest.mark.parametrize(
    "role",
    [
        "arn:aws:iam::666677778888:role/OrganizationAccountAccessRole",  # sandbox
        "arn:aws:iam::444455556666:role/OrganizationAccountAccessRole",  # bucket-owner
        "arn:aws:iam::999988887777:role/OrganizationAccountAccessRole",  # outside
        "arn:aws:iam::333344445555:role/AWSControlTowerExecution",  # not workload-prod's role
    ],
)
def test_the_roles_that_do_not_exist_cannot_be_assumed(demo: Any, role: str) -> None:
    with pytest.raises(botocore.exceptions.ClientError) as caught:
        _assumed(demo[0], role)
    assert caught.value.response["Error"]["Code"] == "AccessDenied"
    assert role in caught.value.response["Error"]["Message"]


def test_the_summary_names_the_organization_in_english_and_japanese(demo: Any) -> None:
    from tests.english import assert_japanese
    from trailkit import i18n

    estate = demo[1]
    assert estate.summary().endswith(
        f"Organization {estate.organization}: the management account {MANAGEMENT} and 4 member "
        "accounts."
    )
    i18n.set_language("ja")
    try:
        text = estate.summary()
    finally:
        i18n.set_language("en")
    assert estate.organization in text and MANAGEMENT in text
    assert_japanese(text, [str(estate.organization)], what="demo summary")


# -- who owns what: CloudFormation and Control Tower (issue 17) -------------------------------

PROD_STACK_ID = (
    "arn:aws:cloudformation:us-east-1:333344445555:stack/workload-prod-logging/"
    "4f6e0a10-8c3b-11ef-9a4e-0affd3c1b2a5"
)


def _trail_tags(make: Callable[..., Any], arn: str, region: str) -> dict[str, str]:
    answer = make("cloudtrail", region).list_tags(ResourceIdList=[arn])["ResourceTagList"]
    assert [t["ResourceId"] for t in answer] == [arn]
    return {t["Key"]: t["Value"] for t in answer[0]["TagsList"]}


def test_prod_trail_and_its_key_carry_the_tags_of_their_cloudformation_stack(demo: Any) -> None:
    """As CloudFormation tags what a stack creates: stack name, stack id, logical id."""
    endpoint, estate = demo
    make = _assumed(endpoint, _role("333344445555"))
    tags = _trail_tags(make, estate.trails["prod-trail"], "us-east-1")
    assert tags["aws:cloudformation:stack-name"] == "workload-prod-logging"
    assert tags["aws:cloudformation:stack-id"] == PROD_STACK_ID
    assert tags["aws:cloudformation:logical-id"] == "Trail"
    kms = make("kms", "us-east-1")
    listed = kms.list_resource_tags(KeyId=estate.keys["alias/prod-logs"])["Tags"]
    key_tags = {t["TagKey"]: t["TagValue"] for t in listed}
    assert key_tags["aws:cloudformation:stack-name"] == "workload-prod-logging"
    assert key_tags["aws:cloudformation:stack-id"] == PROD_STACK_ID
    assert key_tags["aws:cloudformation:logical-id"] == "TrailKey"
    # The management account's trails claim no stack.
    mgmt = _client(endpoint, "cloudtrail", "us-east-1")
    listed_mgmt = mgmt.list_tags(ResourceIdList=[estate.trails["pinned-key-trail"]])
    pinned = {t["Key"] for t in listed_mgmt["ResourceTagList"][0]["TagsList"]}
    assert pinned and not any(k.startswith("aws:cloudformation:") for k in pinned)


def test_sandbox_has_a_control_tower_trail_on_a_multi_region_key(demo: Any) -> None:
    """aws-controltower-BaselineCloudTrail: multi-Region, log file validation on, its own bucket,
    a multi-Region (mrk-) key whose policy lets CloudTrail use it, tagged like a StackSet's."""
    endpoint, estate = demo
    make = _assumed(endpoint, _role(SANDBOX))
    assert estate.trails["aws-controltower-BaselineCloudTrail"] == CONTROL_TOWER_TRAIL
    trail = make("cloudtrail", "us-east-1").get_trail(Name="aws-controltower-BaselineCloudTrail")[
        "Trail"
    ]
    assert trail["IsMultiRegionTrail"] is True and trail["LogFileValidationEnabled"] is True
    assert trail["S3BucketName"] == "aws-controltower-logs-666677778888-us-east-1"
    assert trail["IsOrganizationTrail"] is False
    key = make("kms", "us-east-1").describe_key(KeyId="alias/aws-controltower-mrk")["KeyMetadata"]
    assert trail["KmsKeyId"] == key["Arn"] == estate.keys["alias/aws-controltower-mrk"]
    assert key["KeyId"].startswith("mrk-") and key["MultiRegion"] is True
    assert (key["KeySpec"], key["KeyUsage"], key["KeyState"]) == (
        "SYMMETRIC_DEFAULT",
        "ENCRYPT_DECRYPT",
        "Enabled",
    )
    policy = json.loads(
        make("kms", "us-east-1").get_key_policy(KeyId=key["KeyId"], PolicyName="default")["Policy"]
    )
    encrypt = next(s for s in policy["Statement"] if s["Sid"] == "Allow CloudTrail to encrypt logs")
    assert encrypt["Principal"] == {"Service": "cloudtrail.amazonaws.com"}
    tags = _trail_tags(make, CONTROL_TOWER_TRAIL, "us-east-1")
    stack = tags["aws:cloudformation:stack-name"]
    assert stack.startswith("StackSet-AWSControlTowerBP-BASELINE-CLOUDTRAIL-")
    assert tags["aws:cloudformation:stack-id"].startswith(
        f"arn:aws:cloudformation:us-east-1:{SANDBOX}:stack/{stack}/"
    )
