"""Who owns a trail and its key (issue 17): the pure rules of :mod:`trailkit.rules.ownership`."""

from __future__ import annotations

from collections.abc import Sequence

import pytest

from trailkit.records import KeyInfo, Trail
from trailkit.rules.checks import CATALOGUE, Severity
from trailkit.rules.ownership import (
    CONTROL_TOWER_TRAIL,
    DEFAULT_OWNER_TAG_KEYS,
    managed_by,
    owner_tag_keys,
    owners,
    ownership,
    ownership_findings,
    snippet_format,
)

ACCOUNT = "111122223333"
STACK_ID = f"arn:aws:cloudformation:us-east-1:{ACCOUNT}:stack/workload-prod-logging/6c3e0a10"


def _trail(name: str = "prod-trail", tags: Sequence[tuple[str, str]] | None = ()) -> Trail:
    return Trail(
        name=name,
        arn=f"arn:aws:cloudtrail:us-east-1:{ACCOUNT}:trail/{name}",
        home_region="us-east-1",
        account=ACCOUNT,
        multi_region=True,
        organization=False,
        bucket_name="logs",
        s3_prefix=None,
        kms_key_id=None,
        log_file_validation=True,
        tags=None if tags is None else tuple(tags),
    )


def _key(
    key_id: str = "k1",
    tags: Sequence[tuple[str, str]] | None = (),
    *,
    multi_region: bool = False,
    spec: str = "SYMMETRIC_DEFAULT",
    aliases: tuple[str, ...] = ("alias/logs",),
) -> KeyInfo:
    return KeyInfo(
        arn=f"arn:aws:kms:us-east-1:{ACCOUNT}:key/{key_id}",
        key_id=key_id,
        account=ACCOUNT,
        region="us-east-1",
        aliases=aliases,
        state="Enabled",
        key_spec=spec,
        key_usage="ENCRYPT_DECRYPT",
        manager="CUSTOMER",
        multi_region=multi_region,
        tags=None if tags is None else tuple(tags),
    )


CFN_TAGS = (
    ("aws:cloudformation:stack-name", "workload-prod-logging"),
    ("aws:cloudformation:stack-id", STACK_ID),
    ("aws:cloudformation:logical-id", "Trail"),
)


@pytest.mark.parametrize(
    ("tags", "expected"),
    [
        ((), []),
        (CFN_TAGS, [("cloudformation", "workload-prod-logging", "aws:cloudformation:stack-name")]),
        # only the stack id: the name is read from it
        (
            (("aws:cloudformation:stack-id", STACK_ID),),
            [("cloudformation", "workload-prod-logging", "aws:cloudformation:stack-id")],
        ),
        # Control Tower's StackSet instance
        (
            (
                (
                    "aws:cloudformation:stack-name",
                    "StackSet-AWSControlTowerBP-BASELINE-CLOUDTRAIL-x",
                ),
            ),
            [
                (
                    "controltower",
                    "StackSet-AWSControlTowerBP-BASELINE-CLOUDTRAIL-x",
                    "aws:cloudformation:stack-name",
                )
            ],
        ),
        ((("ManagedBy", "Terraform"),), [("terraform", "Terraform", "ManagedBy")]),
        ((("managed-by", "opentofu"),), [("terraform", "opentofu", "managed-by")]),
        ((("terraform", "true"),), [("terraform", "true", "terraform")]),
        ((("ManagedBy", "aws-cdk"),), [("cdk", "aws-cdk", "ManagedBy")]),
        ((("ManagedBy", "Pulumi"),), [("pulumi", "Pulumi", "ManagedBy")]),
        ((("ManagedBy", "Crossplane"),), [("crossplane", "Crossplane", "ManagedBy")]),
        # a tag key not in the list, or an empty value, tells nothing
        ((("Owner", "terraform"),), []),
        ((("ManagedBy", " "),), []),
        # a CDK app's stack carries CloudFormation's tags; a CloudFormation tag value too is not
        # a second owner
        (
            (*CFN_TAGS, ("ManagedBy", "CloudFormation")),
            [("cloudformation", "workload-prod-logging", "aws:cloudformation:stack-name")],
        ),
    ],
)
def test_owners_from_the_trail_tags(
    tags: tuple[tuple[str, str], ...], expected: list[tuple[str, str, str]]
) -> None:
    found = owners(_trail(tags=tags), None)
    assert [(o.tool, o.name, o.tag) for o in found] == expected
    assert all(o.resource == "trail" for o in found)


def test_cloudformation_owner_keeps_the_stack_id_and_logical_id() -> None:
    (owner,) = owners(_trail(tags=CFN_TAGS), None)
    assert owner.stack_id == STACK_ID
    assert owner.logical_id == "Trail"
    assert owner.label == "CloudFormation stack workload-prod-logging"
    assert owner.as_dict()["label"] == owner.label


def test_control_tower_trail_is_told_by_its_name_even_without_tags() -> None:
    (owner,) = owners(_trail(CONTROL_TOWER_TRAIL, tags=None), None)
    assert (owner.tool, owner.name, owner.tag) == ("controltower", CONTROL_TOWER_TRAIL, "")


def test_key_owners_come_after_the_trail_and_a_control_tower_alias_tells() -> None:
    key = _key(tags=(("ManagedBy", "terraform"),), aliases=("alias/aws-controltower-key",))
    found = owners(_trail(tags=CFN_TAGS), key)
    assert [(o.resource, o.tool) for o in found] == [
        ("trail", "cloudformation"),
        ("key", "terraform"),
        ("key", "controltower"),
    ]


def test_extra_tag_keys_add_to_the_defaults() -> None:
    trail = _trail(tags=(("team:iac", "terraform"),))
    assert owners(trail, None) == ()
    keys = owner_tag_keys(["team:iac", "ManagedBy", ""])
    assert keys[: len(DEFAULT_OWNER_TAG_KEYS)] == DEFAULT_OWNER_TAG_KEYS
    assert keys[-1] == "team:iac" and keys.count("ManagedBy") == 1
    assert [o.tool for o in owners(trail, None, keys)] == ["terraform"]


@pytest.mark.parametrize(
    ("tools", "fmt"),
    [
        # no owner, or only tools trailkit writes no code for: no snippet format (a Pulumi
        # trail was sent to a CloudFormation snippet)
        ((), None),
        (("pulumi",), None),
        (("ansible",), None),
        (("cloudformation",), "cloudformation"),
        (("pulumi", "cloudformation"), "cloudformation"),
        (("terraform",), "terraform"),
        (("cloudformation", "cdk"), "cdk"),
    ],
)
def test_snippet_format_follows_the_owner(tools: tuple[str, ...], fmt: str | None) -> None:
    tags = [("ManagedBy", t) for t in tools]
    found = [o for t in tags for o in owners(_trail(tags=[t]), None)]
    assert snippet_format(found) == fmt


def test_managed_by_names_the_stack_and_says_what_happens() -> None:
    trail = _trail(tags=CFN_TAGS)
    (finding,) = ownership_findings(trail, None, _key("new"), key_input="alias/new")
    assert finding.code == "managed-by"
    assert finding.severity is Severity.WARNING and not finding.blocking
    assert "prod-trail is managed by CloudFormation stack workload-prod-logging." in finding.message
    assert "drift detection" in finding.message and "next stack update" in finding.message
    assert f"trailkit snippet --trail {trail.arn} --key alias/new --format cloudformation" in (
        finding.remedy
    )


def test_managed_by_for_terraform_says_the_next_apply_reverts_it() -> None:
    trail = _trail(tags=(("ManagedBy", "terraform"),))
    (finding,) = ownership_findings(trail, None, _key("new"))
    assert "`terraform apply` reverts the change" in finding.message
    assert "--format terraform" in finding.remedy


def test_a_managed_key_alone_gives_managed_by_naming_the_key() -> None:
    (finding,) = ownership_findings(_trail(), None, _key("new", tags=CFN_TAGS))
    assert finding.message.startswith("The key alias/logs is managed by CloudFormation stack")


def test_nothing_told_nothing_found() -> None:
    assert ownership_findings(_trail(), _key("old"), _key("new")) == []
    assert ownership_findings(_trail(tags=None), None, None) == []


@pytest.mark.parametrize(
    ("key", "blocked", "words"),
    [
        (_key("mrk", multi_region=True), True, "multi-Region"),
        (_key("rsa", spec="RSA_2048"), True, "asymmetric (RSA_2048)"),
        (_key("ok"), False, ""),
    ],
)
def test_control_tower_trail_refuses_multi_region_and_asymmetric_keys(
    key: KeyInfo, blocked: bool, words: str
) -> None:
    findings = ownership_findings(_trail(CONTROL_TOWER_TRAIL), None, key)
    codes = [f.code for f in findings]
    assert codes == (["controltower-key", "managed-by"] if blocked else ["managed-by"])
    if blocked:
        error = findings[0]
        assert error.severity is Severity.ERROR and error.blocking
        assert words in error.message
        assert "landing zone settings" in error.remedy and "not with UpdateTrail" in error.remedy
    managed = findings[-1]
    assert "landing zone settings" in managed.remedy
    assert "Control Tower reports drift" in managed.message


def test_control_tower_told_by_the_current_key_or_its_stack() -> None:
    ct_key = _key("old", aliases=("alias/aws-controltower/kms",))
    findings = ownership_findings(_trail(), ct_key, _key("mrk", multi_region=True))
    assert [f.code for f in findings] == ["controltower-key", "managed-by"]
    stack = _trail(tags=(("aws:cloudformation:stack-name", "StackSet-AWSControlTowerBP-X"),))
    findings = ownership_findings(stack, None, _key("mrk", multi_region=True))
    assert findings[0].code == "controltower-key"


def test_a_disable_of_a_managed_trail_is_still_managed_by() -> None:
    (finding,) = ownership_findings(_trail(tags=CFN_TAGS), None, None)
    assert finding.code == "managed-by"


def test_ownership_summary_and_inventory_text() -> None:
    trail = _trail(tags=CFN_TAGS)
    summary = ownership(trail, _key("old", tags=(("ManagedBy", "terraform"),)))
    assert summary.labels == (
        "CloudFormation stack workload-prod-logging",
        "Terraform (ManagedBy=terraform)",
    )
    data = summary.as_dict()
    assert [o["tool"] for o in data["owners"]] == ["cloudformation", "terraform"]
    assert [f["code"] for f in data["findings"]] == ["managed-by"]
    assert data["tags_read"] is True
    assert managed_by(trail, None) == "CloudFormation stack workload-prod-logging"
    assert managed_by(_trail(), None) == ""  # read, nobody
    assert managed_by(_trail(tags=None), None) is None  # not read: not "" (it was both)
    assert managed_by(_trail(tags=None), _key(tags=(("ManagedBy", "terraform"),))) == (
        "Terraform (ManagedBy=terraform)"  # the key's tags tell even so
    )
    unread = ownership(_trail(tags=None), None)
    assert unread.as_dict()["tags_read"] is False and unread.owners == ()


def test_both_codes_are_in_the_catalogue() -> None:
    assert CATALOGUE["managed-by"].severity is Severity.WARNING
    assert CATALOGUE["controltower-key"].severity is Severity.ERROR


def test_trail_and_key_owners_are_said_apart_and_the_trails_tool_writes_the_snippet() -> None:
    key = _key("new", tags=(("ManagedBy", "terraform"),))
    (finding,) = ownership_findings(_trail(tags=CFN_TAGS), None, key)
    assert "prod-trail is managed by CloudFormation stack workload-prod-logging." in (
        finding.message
    )
    assert "The key alias/logs is managed by Terraform (ManagedBy=terraform)." in finding.message
    assert "--format cloudformation" in finding.remedy
    assert len(finding.detail) == 2


def test_control_tower_told_by_its_trail_name_is_labelled_plainly() -> None:
    (owner,) = owners(_trail(CONTROL_TOWER_TRAIL), None)
    assert owner.label == "AWS Control Tower"
    tagged = _trail(tags=(("ManagedBy", "AWSControlTower"),))
    assert [o.label for o in owners(tagged, None)] == ["AWS Control Tower (AWSControlTower)"]


def test_controltower_trail_and_key_name_control_tower_once() -> None:
    """Control Tower's trail (its StackSet's tags) on Control Tower's key (its alias): one
    owner in the inventory column, and one consequence in `managed-by`, each owner named once."""
    stack = "StackSet-AWSControlTowerBP-BASELINE-CLOUDTRAIL-1234"
    trail = _trail(CONTROL_TOWER_TRAIL, tags=(("aws:cloudformation:stack-name", stack),))
    key = _key("mrk", multi_region=True, aliases=("alias/aws-controltower-mrk",))
    assert managed_by(trail, key) == f"AWS Control Tower ({stack})"
    found = {f.code: f for f in ownership_findings(trail, key, key)}
    assert set(found) == {"controltower-key", "managed-by"}
    message = found["managed-by"].message
    assert message.count("Control Tower reports drift") == 1
    assert message.count("AWS Control Tower (alias/aws-controltower-mrk)") == 1
    assert message.count(f"AWS Control Tower ({stack})") == 2  # the trail's owner, its consequence
