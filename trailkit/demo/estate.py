"""The demo estate: what :func:`seed_demo` builds, read from data files, and the policy templates.

Which accounts, regions, keys (alias, region, key policy template and its options, state) and
trails (home region, bucket, bucket policy template, default encryption) exist is data:
``trailkit/demo/resources/{accounts,keys,trails}.json``, read with :mod:`importlib.resources`
(see :func:`load_estate_spec`). This module keeps the policy templates and the seeding logic.
The estate is an AWS Organizations organization (four regions) built to exercise every
pre-check of the product, every health of a trail's encryption (``trailkit inventory``'s
``health``) and the reach into member accounts (``trailkit inventory --org``)::

    account        id            in the organization                 role trailkit can assume
    management     123456789012  management account (moto's default) - (the caller's own)
    log-archive    210987654321  member                              OrganizationAccountAccessRole
    workload-prod  333344445555  member                              OrganizationAccountAccessRole
    workload-dev   555566667777  member                              OrganizationAccountAccessRole
    sandbox        666677778888  member, created with RoleName       AWSControlTowerExecution only
                                 AWSControlTowerExecution            (the default role is refused)
    bucket-owner   444455556666  no (owns one bucket)                -
    outside        999988887777  no (owns nothing)                   -

The management account makes the organization (``CreateOrganization``) and each member account
(``CreateAccount``, which creates the member's role trusting the management account; moto's
random account ids are replaced by the estate's through
:data:`~trailkit.demo.patches.ACCOUNT_ID_TAG`). The trails of the management account:

    trail                 home            bucket (its region)                encryption
    org-trail             us-east-1 (MR)  tk-org-logs-123456789012 (use1)    SSE-S3, organization
    app-trail             eu-west-1       tk-app-logs-euw1 (euw1)            cloudtrail-good-euw1
    tokyo-trail           ap-northeast-1  tk-tokyo-logs-usw2 (usw2)          SSE-S3, bucket in usw2
    bucketkey-trail       us-west-2       tk-bucketkey-logs-usw2 (usw2)      SSE-S3, S3 Bucket Key
    stale-key-trail       us-east-1       tk-stale-logs-use1 (use1)          disabled key, stopped
    pinned-key-trail      us-east-1       tk-pinned-logs-use1 (use1)         cloudtrail-good, bucket
                                                                             policy pins that key
    partner-bucket-trail  us-west-2       tk-partner-logs-use1 (use1)        SSE-S3; the bucket is
                                                                             444455556666's, unread
    deleted-bucket-trail  us-east-1       tk-deleted-logs-use1 (deleted)     SSE-S3; no bucket
    stripped-policy-trail us-east-1       tk-stripped-logs-use1 (use1)       no-cloudtrail: set up
                                                                             with CloudTrail's key
                                                                             policy, then stripped
                                                                             to root only (broken)
    retiring-key-trail    us-east-1       tk-retiring-logs-use1 (use1)       pending-deletion: the
                                                                             deletion scheduled (7
                                                                             days) after set-up
    no-readers-trail      us-east-1       tk-no-readers-logs-use1 (use1)     no-readers: CloudTrail
                                                                             encrypts, nobody may
                                                                             decrypt (at-risk)

and of the other accounts, each with its bucket and key in its own account::

    trail           account        home            bucket (its region)                 encryption
    archive-trail   log-archive    us-east-1       tk-archive-logs-210987654321 (use1) SSE-S3
    prod-trail      workload-prod  us-east-1 (MR)  tk-prod-logs-333344445555 (use1)    prod-logs
                                                                                       (both in a
                                                                                       stack, *)
    dev-trail       workload-dev   eu-west-1       tk-dev-logs-555566667777 (euw1)     dev-logs,
                                                                                       disabled
    sandbox-trail   sandbox        us-west-2       tk-sandbox-logs-666677778888 (usw2) SSE-S3
    aws-controltower-BaselineCloudTrail (**)
                    sandbox        us-east-1 (MR)  aws-controltower-logs-666677778888- aws-control
                                                   us-east-1 (use1)                    tower-mrk

(*) prod-trail and its key ``alias/prod-logs`` carry the tags CloudFormation puts on what a
stack creates: ``aws:cloudformation:stack-name`` ``workload-prod-logging``, ``stack-id`` (the
stack's ARN) and ``logical-id`` ``Trail`` / ``TrailKey`` (``managed-by`` names that stack).
(**) A Control Tower-style trail: multi-Region, log file validation on, its key
``alias/aws-controltower-mrk`` a multi-Region (``mrk-``) key whose policy lets CloudTrail use
it (the key works: ``healthy``; Control Tower does not support multi-Region keys, which
``controltower-key`` reports), tagged like a StackSet's stack
(``StackSet-AWSControlTowerBP-BASELINE-CLOUDTRAIL-...``).

org-trail is an organization trail: every member sees it (``ListTrails``, ``DescribeTrails``,
``GetTrail``/``GetTrailStatus`` by ARN, :func:`~trailkit.demo.patches.patch_moto`), and in
workload-dev its status has ``LatestDeliveryError`` ``AccessDenied`` (as if the log bucket's
organization write left that account out; the status is a tag of the trail,
:data:`~trailkit.demo.patches.MEMBER_STATUS_TAG`: the simulated delivery delivers the
management account's files only). Elsewhere its status is moto's, or the simulation's.

Delivery (:mod:`trailkit.demo.delivery`): nothing is scheduled while seeding; at its end, every
logging trail whose delivery CloudTrail could make gets one log file (and a digest file with log
file validation on) in its bucket and a ``LatestDeliveryTime``. The trails whose delivery would
fail (stripped-policy-trail, retiring-key-trail, deleted-bucket-trail, dev-trail) are left as
moto reports them, without a delivery error, so their documented health below does not change
(a delivery error would add a ``delivery-error`` reason). From then on every change
(``UpdateTrail``, ``StartLogging``, ``DisableKey``, ...) and the demo server's periodic round
deliver, and a failing delivery shows as ``LatestDeliveryError``.

What happens to a key after the trails are set up is seeded after them, in this order: a key
policy replaced (``setup_policy`` then ``policy`` in ``keys.json``), a key disabled or scheduled
for deletion (``state``); then the deleted buckets are deleted. So every trail was created on a
key CloudTrail could use, as in AWS, where ``CreateTrail`` refuses a key it cannot use.

Their health (``tests/test_demo_health.py`` pins it): broken: stale-key-trail, deleted-bucket-trail,
stripped-policy-trail, retiring-key-trail; at-risk: no-readers-trail; healthy: app-trail,
pinned-key-trail; sse-s3: the others. In the member accounts (``tests/test_demo_org.py`` pins the
estate): prod-trail healthy (its own key with CloudTrail's key policy); dev-trail broken (its key
disabled after set-up) and the organization trail's delivery error there; sandbox-trail sse-s3
and aws-controltower-BaselineCloudTrail healthy, seen only with ``--role-name
AWSControlTowerExecution`` (with the default role, sandbox is one AssumeRole AccessDenied
error); archive-trail sse-s3.
"""

from __future__ import annotations

import json
import logging
import sys
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from typing import Any

import botocore.exceptions

from trailkit.arn import arn_region, resource_id
from trailkit.aws.session import Connection
from trailkit.demo import delivery
from trailkit.demo.history import seed_history
from trailkit.demo.patches import (
    ACCOUNT_ID_TAG,
    MEMBER_STATUS_TAG,
    name_organization_account,
    patch_moto,
)
from trailkit.demo.server import as_account, with_header
from trailkit.errors import InputError
from trailkit.i18n import _, ngettext
from trailkit.rules.requests import CLOUDTRAIL_SERVICE

__all__ = [
    "BUCKET_POLICIES",
    "DEMO_ACCOUNT",
    "DEMO_REGIONS",
    "KEY_POLICIES",
    "MEMBER_ACCOUNTS",
    "OTHER_ACCOUNT",
    "SECOND_ACCOUNT",
    "DemoEstate",
    "EstateSpec",
    "KeySpec",
    "TrailSpec",
    "cloudtrail_bucket_policy",
    "cloudtrail_key_policy",
    "load_estate_spec",
    "no_readers_key_policy",
    "root_key_policy",
    "seed_demo",
]

_RESOURCES = "trailkit.demo.resources"
_DEMO_TAG = "trailkit:demo"
#: ``KeySpec.state`` values.
_KEY_STATES = ("enabled", "disabled", "pending-deletion")
_log = logging.getLogger(__name__)


# -- the estate as data ------------------------------------------------------------------------


@dataclass(frozen=True)
class KeySpec:
    """One KMS key of the demo estate (an entry of ``keys.json``).

    Attributes
    ----------
    account
        Account role (a key of :attr:`EstateSpec.accounts`), e.g. ``management``.
    region
        The key's region.
    alias
        Its alias (``alias/...``).
    policy
        Key policy template: a name in :data:`KEY_POLICIES`.
    describe
        ``cloudtrail`` template: include *Allow CloudTrail to describe key*.
    trail_account
        ``cloudtrail`` template: account role whose trails may use the key (default: the key's).
    extra
        ``cloudtrail`` template: names of extra statements (``deny-cloudtrail-encrypt``,
        ``bucket-key-decrypt``).
    state
        ``enabled``, ``disabled`` or ``pending-deletion`` (7 days), applied once the trails exist
        (a trail is set up on a usable key, which is disabled or scheduled for deletion later).
    setup_policy
        Key policy template the key is created with, if not ``policy``: the trails are set up
        with it, then ``policy`` replaces it (``PutKeyPolicy``), as when a key policy is
        overwritten after set-up (``alias/no-cloudtrail``: CloudTrail's policy, then root only).
    key_spec, key_usage
        As in ``CreateKey``.
    multi_region
        A multi-Region primary key.
    replicas
        Regions of its replicas (same template for the replica's region, same alias).
    tags
        Tags the key is created with (``CreateKey``), e.g. CloudFormation's
        ``aws:cloudformation:stack-name`` / ``stack-id`` / ``logical-id``.
    """

    account: str
    region: str
    alias: str
    policy: str
    describe: bool = True
    trail_account: str | None = None
    extra: tuple[str, ...] = ()
    state: str = "enabled"
    setup_policy: str | None = None
    key_spec: str = "SYMMETRIC_DEFAULT"
    key_usage: str = "ENCRYPT_DECRYPT"
    multi_region: bool = False
    replicas: tuple[str, ...] = ()
    tags: dict[str, str] | None = None


@dataclass(frozen=True)
class TrailSpec:
    """One trail of the demo estate and its log bucket (an entry of ``trails.json``).

    Attributes
    ----------
    account
        Account role (a key of :attr:`EstateSpec.accounts`).
    name, region
        The trail's name and home region.
    bucket, bucket_region
        Its log bucket (``{account}`` in the name is replaced by the account id) and that
        bucket's region.
    key
        Alias of the trail's KMS key; ``None`` is SSE-S3.
    multi_region, organization, validation
        As in ``CreateTrail``.
    logging
        Whether the trail is left logging.
    bucket_policy
        Bucket policy template: a name in :data:`BUCKET_POLICIES`.
    bucket_default_key
        Alias of the bucket's default SSE-KMS key; ``None`` is AES256.
    bucket_key_enabled
        The S3 Bucket Key setting of the bucket's default encryption.
    bucket_account
        Account role that owns the bucket (default: the trail's account). The demo server
        refuses other accounts' reads of it (:func:`~trailkit.demo.patches.patch_moto`).
    bucket_deleted
        Delete the bucket once the trail exists (CloudTrail then answers
        ``S3BucketDoesNotExistException`` to an update).
    member_status
        An organization trail's own ``GetTrailStatus`` fields in member accounts: account role
        -> fields (e.g. ``{"workload-dev": {"LatestDeliveryError": "AccessDenied"}}``), given to
        the trail as :data:`~trailkit.demo.patches.MEMBER_STATUS_TAG` tags (the simulated
        delivery, :mod:`trailkit.demo.delivery`, delivers the trail's own account's files only).
    tags
        Tags the trail is created with (``CreateTrail`` ``TagsList``), e.g. CloudFormation's
        ``aws:cloudformation:stack-name`` / ``stack-id`` / ``logical-id``.
    """

    account: str
    name: str
    region: str
    bucket: str
    bucket_region: str
    key: str | None = None
    multi_region: bool = False
    organization: bool = False
    validation: bool = False
    logging: bool = True
    bucket_policy: str = "cloudtrail"
    bucket_default_key: str | None = None
    bucket_key_enabled: bool = False
    bucket_account: str | None = None
    bucket_deleted: bool = False
    member_status: dict[str, dict[str, Any]] | None = None
    tags: dict[str, str] | None = None

    @property
    def bucket_owner(self) -> str:
        """Account role that owns the bucket."""
        return self.bucket_account or self.account


@dataclass(frozen=True)
class EstateSpec:
    """The whole demo estate as the data files describe it.

    Attributes
    ----------
    accounts
        Account role -> account id (``management`` is moto's default account).
    regions
        The regions used.
    keys
        KMS keys, in creation order.
    trails
        Trails with their buckets, in creation order (bucket names resolved).
    organization
        The member accounts of the management account's organization: account role -> the
        ``RoleName`` its ``CreateAccount`` was given (the role Organizations creates in it).
    """

    accounts: dict[str, str]
    regions: tuple[str, ...]
    keys: tuple[KeySpec, ...]
    trails: tuple[TrailSpec, ...]
    organization: dict[str, str] = field(default_factory=dict)

    def account(self, role: str) -> str:
        """The account id of ``role`` (e.g. ``management``)."""
        try:
            return self.accounts[role]
        except KeyError:
            raise InputError(
                _("The demo estate has no {role} account.").format(role=repr(role)), ""
            ) from None


def _read(name: str) -> dict[str, Any]:
    data = json.loads(resources.files(_RESOURCES).joinpath(name).read_text(encoding="utf-8"))
    if not isinstance(data, dict):
        raise ValueError(f"{name}: a JSON object was expected")
    return data


def _entries(name: str, kind: type[Any], items: list[dict[str, Any]]) -> list[Any]:
    known = set(kind.__dataclass_fields__)
    made = []
    for item in items:
        unknown = set(item) - known
        if unknown:
            raise ValueError(f"{name}: unknown fields {sorted(unknown)} in {item}")
        fields = {k: tuple(v) if isinstance(v, list) else v for k, v in item.items()}
        made.append(kind(**fields))
    return made


@cache
def load_estate_spec() -> EstateSpec:
    """Read the demo estate from ``trailkit/demo/resources/*.json`` (cached).

    Returns
    -------
    EstateSpec
        Accounts, regions, keys and trails, checked: every account role, key alias and template
        a key or trail names exists.

    Raises
    ------
    ValueError
        A data file is malformed.
    """
    base = _read("accounts.json")
    accounts = {str(k): str(v) for k, v in base["accounts"].items()}
    keys: list[KeySpec] = _entries("keys.json", KeySpec, _read("keys.json")["keys"])
    trails: list[TrailSpec] = _entries("trails.json", TrailSpec, _read("trails.json")["trails"])
    aliases = {k.alias for k in keys}
    for k in keys:
        roles = {k.account, k.trail_account or k.account}
        templates = {k.policy, k.setup_policy or k.policy}
        if not roles <= set(accounts) or not templates <= set(KEY_POLICIES):
            raise ValueError(f"keys.json: unknown account or template in {k}")
        if k.state not in _KEY_STATES:
            raise ValueError(f"keys.json: unknown state {k.state!r} of {k.alias}")
        if not set(k.extra) <= set(_EXTRA_STATEMENTS):
            raise ValueError(f"keys.json: unknown extra statement in {k}")
    organization = {str(k): str(v) for k, v in base.get("organization", {}).items()}
    if not set(organization) <= set(accounts) - {"management"}:
        raise ValueError("accounts.json: an organization member is not a known account")
    resolved = []
    for t in trails:
        named = {a for a in (t.key, t.bucket_default_key) if a}
        if {t.account, t.bucket_owner} - set(accounts) or t.bucket_policy not in BUCKET_POLICIES:
            raise ValueError(f"trails.json: unknown account or template in {t}")
        if t.member_status and (
            not t.organization
            or t.account != "management"
            or set(t.member_status) - set(organization)
        ):
            raise ValueError(f"trails.json: member_status of a trail that members do not see: {t}")
        if not named <= aliases:
            raise ValueError(f"trails.json: unknown key alias in {t}")
        bucket = t.bucket.format(account=accounts[t.account])
        resolved.append(TrailSpec(**{**t.__dict__, "bucket": bucket}))
    return EstateSpec(
        accounts=accounts,
        regions=tuple(str(r) for r in base["regions"]),
        keys=tuple(keys),
        trails=tuple(resolved),
        organization=organization,
    )


# -- policies --------------------------------------------------------------------------------


def _trail_pattern(account: str) -> str:
    return f"arn:aws:cloudtrail:*:{account}:trail/*"


def _root_statement(account: str) -> dict[str, Any]:
    return {
        "Sid": "Enable IAM User Permissions",
        "Effect": "Allow",
        "Principal": {"AWS": f"arn:aws:iam::{account}:root"},
        "Action": "kms:*",
        "Resource": "*",
    }


def root_key_policy(account: str) -> dict[str, Any]:
    """KMS's default key policy: only the account root (``kms:*``).

    Parameters
    ----------
    account
        The key's account.
    """
    return {"Version": "2012-10-17", "Id": "key-default-1", "Statement": [_root_statement(account)]}


_KEY_ADMIN_ACTIONS = [
    "kms:Create*",
    "kms:Describe*",
    "kms:Enable*",
    "kms:List*",
    "kms:Put*",
    "kms:Update*",
    "kms:Revoke*",
    "kms:Disable*",
    "kms:Get*",
    "kms:Delete*",
    "kms:TagResource",
    "kms:UntagResource",
    "kms:ScheduleKeyDeletion",
    "kms:CancelKeyDeletion",
]


def no_readers_key_policy(account: str, *, region: str) -> dict[str, Any]:
    """A key CloudTrail can use but nobody in the account can decrypt with.

    A key-administrator role may manage the key (no ``kms:Decrypt``) and CloudTrail may encrypt
    and describe: the trail works, but its logs cannot be read (the ``policy-readers`` case).
    """
    keep = {"Allow CloudTrail to encrypt logs", "Allow CloudTrail to describe key"}
    statements = [
        s for s in cloudtrail_key_policy(account, region=region)["Statement"] if s["Sid"] in keep
    ]
    admin = {
        "Sid": "Allow access for Key Administrators",
        "Effect": "Allow",
        "Principal": {"AWS": f"arn:aws:iam::{account}:role/KeyAdmin"},
        "Action": _KEY_ADMIN_ACTIONS,
        "Resource": "*",
    }
    return {"Version": "2012-10-17", "Id": "key-no-readers", "Statement": [admin, *statements]}


def cloudtrail_key_policy(
    account: str,
    *,
    region: str,
    trail_account: str | None = None,
    describe: bool = True,
    extra: tuple[dict[str, Any], ...] = (),
) -> dict[str, Any]:
    """The CloudTrail console's default key policy for trails.

    Statements: *Enable IAM User Permissions* (root ``kms:*``), *Allow CloudTrail to encrypt logs*
    (``kms:GenerateDataKey*`` with ``StringLike`` on the encryption context and on
    ``aws:SourceArn``, both ``arn:aws:cloudtrail:*:TRAIL_ACCOUNT:trail/*``), *Allow CloudTrail to
    describe key*, *Allow principals in the account to decrypt log files*, *Allow alias creation
    during setup* and *Enable cross account log decryption*.

    Parameters
    ----------
    account
        The key's account (root statement, callers allowed to decrypt).
    region
        The key's region (used in the alias-creation statement's ``kms:ViaService``).
    trail_account
        The account whose trails may use the key; defaults to ``account``.
    describe
        Include *Allow CloudTrail to describe key*.
    extra
        Statements appended at the end.
    """
    trails = trail_account or account
    pattern = _trail_pattern(trails)
    context = {"kms:EncryptionContext:aws:cloudtrail:arn": pattern}
    statements: list[dict[str, Any]] = [
        _root_statement(account),
        {
            "Sid": "Allow CloudTrail to encrypt logs",
            "Effect": "Allow",
            "Principal": {"Service": CLOUDTRAIL_SERVICE},
            "Action": "kms:GenerateDataKey*",
            "Resource": "*",
            "Condition": {"StringLike": {**context, "aws:SourceArn": pattern}},
        },
    ]
    if describe:
        statements.append(
            {
                "Sid": "Allow CloudTrail to describe key",
                "Effect": "Allow",
                "Principal": {"Service": CLOUDTRAIL_SERVICE},
                "Action": "kms:DescribeKey",
                "Resource": "*",
            }
        )
    statements += [
        {
            "Sid": "Allow principals in the account to decrypt log files",
            "Effect": "Allow",
            "Principal": {"AWS": "*"},
            "Action": ["kms:Decrypt", "kms:ReEncryptFrom"],
            "Resource": "*",
            "Condition": {
                "StringEquals": {"kms:CallerAccount": account},
                "StringLike": dict(context),
            },
        },
        {
            "Sid": "Allow alias creation during setup",
            "Effect": "Allow",
            "Principal": {"AWS": "*"},
            "Action": "kms:CreateAlias",
            "Resource": "*",
            "Condition": {
                "StringEquals": {
                    "kms:ViaService": f"ec2.{region}.amazonaws.com",
                    "kms:CallerAccount": account,
                }
            },
        },
        {
            "Sid": "Enable cross account log decryption",
            "Effect": "Allow",
            "Principal": {"AWS": "*"},
            "Action": ["kms:Decrypt", "kms:ReEncryptFrom"],
            "Resource": "*",
            "Condition": {
                "StringEquals": {"kms:CallerAccount": trails},
                "StringLike": dict(context),
            },
        },
    ]
    statements.extend(extra)
    return {
        "Version": "2012-10-17",
        "Id": "Key policy created by CloudTrail",
        "Statement": statements,
    }


def _deny_encrypt_statement() -> dict[str, Any]:
    return {
        "Sid": "DenyCloudTrailEncrypt",
        "Effect": "Deny",
        "Principal": {"Service": CLOUDTRAIL_SERVICE},
        "Action": "kms:GenerateDataKey*",
        "Resource": "*",
    }


def _bucket_key_decrypt_statement(account: str) -> dict[str, Any]:
    return {
        "Sid": "Allow CloudTrail to decrypt for the S3 Bucket Key",
        "Effect": "Allow",
        "Principal": {"Service": CLOUDTRAIL_SERVICE},
        "Action": "kms:Decrypt",
        "Resource": "*",
        "Condition": {
            "StringLike": {"kms:EncryptionContext:aws:cloudtrail:arn": _trail_pattern(account)}
        },
    }


def cloudtrail_bucket_policy(
    bucket: str,
    account: str,
    trail_arn: str,
    *,
    require_kms: bool = False,
    pin_key: str | None = None,
    organization: bool = False,
) -> dict[str, Any]:
    """The standard CloudTrail bucket policy (``AWSCloudTrailAclCheck`` + ``AWSCloudTrailWrite``).

    Parameters
    ----------
    bucket
        Bucket name.
    account
        The trail's account (the ``AWSLogs/ACCOUNT/`` prefix).
    trail_arn
        The trail allowed to write (``aws:SourceArn``).
    require_kms
        Add ``DenyNonKmsUploads``: deny ``s3:PutObject`` unless
        ``s3:x-amz-server-side-encryption`` is ``aws:kms`` (the trap for SSE-S3 digest files, and
        for a disable).
    pin_key
        Add ``DenyOtherKmsKeys``: deny an ``s3:PutObject`` that names a KMS key
        (``s3:x-amz-server-side-encryption-aws-kms-key-id`` present) other than this key ARN
        (the trap for a change of key; SSE-S3 uploads pass).
    organization
        Add ``AWSCloudTrailOrganizationWrite``: the same write under ``AWSLogs/o-*/``, where an
        organization trail delivers (``AWSLogs/ORG-ID/ACCOUNT/``; CloudTrail user guide,
        "Create a bucket policy for an organization trail", with the id as a wildcard here).
    """
    statements: list[dict[str, Any]] = [
        {
            "Sid": "AWSCloudTrailAclCheck",
            "Effect": "Allow",
            "Principal": {"Service": CLOUDTRAIL_SERVICE},
            "Action": "s3:GetBucketAcl",
            "Resource": f"arn:aws:s3:::{bucket}",
            "Condition": {"StringEquals": {"aws:SourceArn": trail_arn}},
        },
        {
            "Sid": "AWSCloudTrailWrite",
            "Effect": "Allow",
            "Principal": {"Service": CLOUDTRAIL_SERVICE},
            "Action": "s3:PutObject",
            "Resource": f"arn:aws:s3:::{bucket}/AWSLogs/{account}/*",
            "Condition": {
                "StringEquals": {
                    "s3:x-amz-acl": "bucket-owner-full-control",
                    "aws:SourceArn": trail_arn,
                }
            },
        },
    ]
    if organization:
        statements.append(
            {
                "Sid": "AWSCloudTrailOrganizationWrite",
                "Effect": "Allow",
                "Principal": {"Service": CLOUDTRAIL_SERVICE},
                "Action": "s3:PutObject",
                "Resource": f"arn:aws:s3:::{bucket}/AWSLogs/o-*/*",
                "Condition": {
                    "StringEquals": {
                        "s3:x-amz-acl": "bucket-owner-full-control",
                        "aws:SourceArn": trail_arn,
                    }
                },
            }
        )
    if require_kms:
        statements.append(
            {
                "Sid": "DenyNonKmsUploads",
                "Effect": "Deny",
                "Principal": "*",
                "Action": "s3:PutObject",
                "Resource": f"arn:aws:s3:::{bucket}/*",
                "Condition": {"StringNotEquals": {"s3:x-amz-server-side-encryption": "aws:kms"}},
            }
        )
    if pin_key is not None:
        header = "s3:x-amz-server-side-encryption-aws-kms-key-id"
        statements.append(
            {
                "Sid": "DenyOtherKmsKeys",
                "Effect": "Deny",
                "Principal": "*",
                "Action": "s3:PutObject",
                "Resource": f"arn:aws:s3:::{bucket}/*",
                "Condition": {"Null": {header: "false"}, "StringNotEquals": {header: pin_key}},
            }
        )
    return {"Version": "2012-10-17", "Statement": statements}


#: Key policy templates by name: ``(account, region, spec, estate) -> policy``.
KEY_POLICIES: dict[str, Callable[[str, str, KeySpec, EstateSpec], dict[str, Any]]] = {
    "root": lambda account, region, spec, estate: root_key_policy(account),
    "no-readers": lambda account, region, spec, estate: no_readers_key_policy(
        account, region=region
    ),
    "cloudtrail": lambda account, region, spec, estate: cloudtrail_key_policy(
        account,
        region=region,
        trail_account=estate.account(spec.trail_account) if spec.trail_account else None,
        describe=spec.describe,
        extra=tuple(_EXTRA_STATEMENTS[name](account) for name in spec.extra),
    ),
}

_EXTRA_STATEMENTS: dict[str, Callable[[str], dict[str, Any]]] = {
    "deny-cloudtrail-encrypt": lambda account: _deny_encrypt_statement(),
    "bucket-key-decrypt": _bucket_key_decrypt_statement,
}

#: Bucket policy templates by name: ``(bucket, account, trail ARN, trail's key ARN) -> policy``
#: (an organization trail's bucket also gets the organization write, see :func:`_seed_bucket`).
BUCKET_POLICIES: dict[str, Callable[[str, str, str, str | None], dict[str, Any]]] = {
    "cloudtrail": lambda bucket, account, trail_arn, key: cloudtrail_bucket_policy(
        bucket, account, trail_arn
    ),
    "cloudtrail-require-kms": lambda bucket, account, trail_arn, key: cloudtrail_bucket_policy(
        bucket, account, trail_arn, require_kms=True
    ),
    "cloudtrail-pin-key": lambda bucket, account, trail_arn, key: cloudtrail_bucket_policy(
        bucket, account, trail_arn, pin_key=key
    ),
}

#: The management account of the demo (moto's default account).
DEMO_ACCOUNT = load_estate_spec().account("management")
#: The log-archive account of the demo (a second moto account).
SECOND_ACCOUNT = load_estate_spec().account("log-archive")
#: An account that no demo trail belongs to (for the wrong-account key policy).
OTHER_ACCOUNT = load_estate_spec().account("outside")
#: The regions the demo estate uses.
DEMO_REGIONS = load_estate_spec().regions
#: The member accounts of the demo organization: account id -> role name in the estate
#: (``log-archive``, ``workload-prod``, ``workload-dev``, ``sandbox``).
MEMBER_ACCOUNTS = {
    load_estate_spec().account(role): role for role in load_estate_spec().organization
}


# -- the estate ------------------------------------------------------------------------------


@dataclass(frozen=True)
class DemoEstate:
    """What :func:`seed_demo` made.

    Attributes
    ----------
    endpoint
        The endpoint it was seeded through (``None`` if the connection had none).
    trails
        Trail name -> trail ARN, both accounts (``archive-trail`` is in :data:`SECOND_ACCOUNT`).
    trail_buckets
        Trail name -> bucket name.
    keys
        Alias name -> key ARN. Each alias names one key, in the region of its ARN; for
        ``alias/multi-region-good`` that is the us-east-1 primary; ``alias/shared-logs-key``
        is in :data:`SECOND_ACCOUNT`.
    replica_keys
        Alias name -> key ARN of multi-Region replicas (``alias/multi-region-good`` in us-west-2).
    buckets
        Bucket name -> bucket region of the buckets that exist (a trail's deleted bucket is only
        in :attr:`trail_buckets`).
    accounts
        Account id -> role of the accounts that own something or belong to the organization
        (``management``, ``log-archive``, ``workload-prod``, ``workload-dev``, ``sandbox``,
        ``bucket-owner``).
    organization
        The organization's id (``o-...``), or None when it could not be made (a moto server in
        another process without :func:`~trailkit.demo.patches.patch_moto`).
    member_roles
        Member account id -> the role Organizations created in it (``CreateAccount``'s
        ``RoleName``); empty without an organization.
    regions
        The regions used.
    seconds
        How long the seeding took.
    """

    endpoint: str | None
    trails: dict[str, str] = field(default_factory=dict)
    trail_buckets: dict[str, str] = field(default_factory=dict)
    keys: dict[str, str] = field(default_factory=dict)
    replica_keys: dict[str, str] = field(default_factory=dict)
    buckets: dict[str, str] = field(default_factory=dict)
    accounts: dict[str, str] = field(default_factory=dict)
    organization: str | None = None
    member_roles: dict[str, str] = field(default_factory=dict)
    regions: tuple[str, ...] = DEMO_REGIONS
    seconds: float = 0.0

    def key_id(self, alias: str) -> str:
        """The bare key id of the key behind ``alias`` (as :attr:`keys` records it)."""
        return resource_id(self.keys[alias])

    def trail_region(self, name: str) -> str:
        """The home region of trail ``name``."""
        return arn_region(self.trails[name])

    def summary(self) -> str:
        """One line: how much there is."""
        if not self.trails and not self.keys:
            return _("Demo estate: empty (not seeded).")
        keys = len(self.keys) + len(self.replica_keys)
        line = _(
            "Demo estate: {trails} trails, {keys} KMS keys, {buckets} buckets in {accounts} "
            "accounts and {regions} regions (seeded in {seconds} s)."
        ).format(
            trails=len(self.trails),
            keys=keys,
            buckets=len(self.buckets),
            accounts=len(self.accounts),
            regions=len(self.regions),
            seconds=f"{self.seconds:.1f}",
        )
        if self.organization is None:
            return line
        members = len(self.member_roles)
        organization = ngettext(
            "Organization {organization}: the management account {account} and {members} "
            "member account.",
            "Organization {organization}: the management account {account} and {members} "
            "member accounts.",
            members,
        ).format(organization=self.organization, account=DEMO_ACCOUNT, members=members)
        return f"{line} {organization}"


def _create_key(
    conn: Connection,
    region: str,
    alias: str,
    policy: dict[str, Any],
    *,
    key_spec: str = "SYMMETRIC_DEFAULT",
    key_usage: str = "ENCRYPT_DECRYPT",
    multi_region: bool = False,
    tags: Mapping[str, str] | None = None,
) -> tuple[str, str]:
    """Create a key with ``alias`` (and ``tags`` besides the demo's own); returns (key id, key
    ARN)."""
    kms = conn.client("kms", region)
    meta = kms.create_key(
        Policy=json.dumps(policy),
        Description=f"trailkit demo: {alias}",
        KeyUsage=key_usage,
        KeySpec=key_spec,
        MultiRegion=multi_region,
        Tags=[
            {"TagKey": _DEMO_TAG, "TagValue": "true"},
            *({"TagKey": k, "TagValue": v} for k, v in (tags or {}).items()),
        ],
    )["KeyMetadata"]
    kms.create_alias(AliasName=alias, TargetKeyId=meta["KeyId"])
    return str(meta["KeyId"]), str(meta["Arn"])


def _seed_key(
    conn: Connection,
    estate: EstateSpec,
    spec: KeySpec,
    keys: dict[str, str],
    replicas: dict[str, str],
) -> None:
    """Create the key of ``spec`` (and its replicas) with its set-up policy, enabled."""
    account = estate.account(spec.account)
    template = KEY_POLICIES[spec.setup_policy or spec.policy]
    key_id, keys[spec.alias] = _create_key(
        conn,
        spec.region,
        spec.alias,
        template(account, spec.region, spec, estate),
        key_spec=spec.key_spec,
        key_usage=spec.key_usage,
        multi_region=spec.multi_region,
        tags=spec.tags,
    )
    kms = conn.client("kms", spec.region)
    for region in spec.replicas:
        # The replica gets the template for its own region, and the same alias there.
        policy = json.dumps(template(account, region, spec, estate))
        replica = kms.replicate_key(KeyId=key_id, ReplicaRegion=region, Policy=policy)
        replicas[spec.alias] = str(replica["ReplicaKeyMetadata"]["Arn"])
        kms_there = conn.client("kms", region)
        kms_there.put_key_policy(KeyId=key_id, PolicyName="default", Policy=policy)
        try:
            kms_there.create_alias(AliasName=spec.alias, TargetKeyId=key_id)
        except botocore.exceptions.ClientError as exc:
            # Unpatched moto (another process) shares the primary's aliases with the replica.
            if exc.response.get("Error", {}).get("Code") != "AlreadyExistsException":
                raise
            _log.warning(
                "moto shares aliases between %s and its replica (unpatched moto)", spec.alias
            )


def _finish_key(
    conn: Connection, estate: EstateSpec, spec: KeySpec, keys: Mapping[str, str]
) -> None:
    """What happened to the key after the trails were set up with it: its set-up policy
    replaced by its final one (``PutKeyPolicy``), then its state (``DisableKey``,
    ``ScheduleKeyDeletion`` with the shortest window, 7 days: ``DeletionDate`` is a week away)."""
    key_id = resource_id(keys[spec.alias])  # moto: bare key id only
    if spec.setup_policy is not None and spec.setup_policy != spec.policy:
        account = estate.account(spec.account)
        for region in (spec.region, *spec.replicas):
            policy = KEY_POLICIES[spec.policy](account, region, spec, estate)
            conn.client("kms", region).put_key_policy(
                KeyId=key_id, PolicyName="default", Policy=json.dumps(policy)
            )
    kms = conn.client("kms", spec.region)
    if spec.state == "disabled":
        kms.disable_key(KeyId=key_id)
    elif spec.state == "pending-deletion":
        kms.schedule_key_deletion(KeyId=key_id, PendingWindowInDays=7)


def _seed_bucket(conn: Connection, account: str, spec: TrailSpec, keys: Mapping[str, str]) -> None:
    s3 = conn.client("s3", spec.bucket_region)
    if spec.bucket_region == "us-east-1":
        s3.create_bucket(Bucket=spec.bucket)
    else:
        s3.create_bucket(
            Bucket=spec.bucket,
            CreateBucketConfiguration={"LocationConstraint": spec.bucket_region},
        )
    trail_arn = f"arn:aws:cloudtrail:{spec.region}:{account}:trail/{spec.name}"
    key = keys[spec.key] if spec.key else None
    policy = BUCKET_POLICIES[spec.bucket_policy](spec.bucket, account, trail_arn, key)
    if spec.organization:
        policy = cloudtrail_bucket_policy(
            spec.bucket,
            account,
            trail_arn,
            require_kms=spec.bucket_policy == "cloudtrail-require-kms",
            pin_key=key if spec.bucket_policy == "cloudtrail-pin-key" else None,
            organization=True,
        )
    s3.put_bucket_policy(Bucket=spec.bucket, Policy=json.dumps(policy))
    default: dict[str, Any] = {"SSEAlgorithm": "AES256"}
    if spec.bucket_default_key:
        default = {"SSEAlgorithm": "aws:kms", "KMSMasterKeyID": keys[spec.bucket_default_key]}
    s3.put_bucket_encryption(
        Bucket=spec.bucket,
        ServerSideEncryptionConfiguration={
            "Rules": [
                {
                    "ApplyServerSideEncryptionByDefault": default,
                    "BucketKeyEnabled": spec.bucket_key_enabled,
                }
            ]
        },
    )


def _seed_trail(conn: Connection, spec: TrailSpec, keys: Mapping[str, str]) -> str:
    ct = conn.client("cloudtrail", spec.region)
    kwargs: dict[str, Any] = {
        "Name": spec.name,
        "S3BucketName": spec.bucket,
        "IsMultiRegionTrail": spec.multi_region,
        "EnableLogFileValidation": spec.validation,
        "IsOrganizationTrail": spec.organization,
        "IncludeGlobalServiceEvents": True,
        "TagsList": [
            {"Key": _DEMO_TAG, "Value": "true"},
            *({"Key": k, "Value": v} for k, v in (spec.tags or {}).items()),
        ],
    }
    if spec.key:
        kwargs["KmsKeyId"] = keys[spec.key]  # moto stores it as sent: send the ARN
    arn = str(ct.create_trail(**kwargs)["TrailARN"])
    ct.start_logging(Name=spec.name)
    if not spec.logging:
        ct.stop_logging(Name=spec.name)
    return arn


def _seed_organization(conn: Connection, estate: EstateSpec) -> tuple[str | None, dict[str, str]]:
    """Make the management account's organization and its member accounts (``CreateAccount``,
    which creates each member's role), with the estate's account ids.

    Returns
    -------
    tuple
        The organization id (None without members in the estate) and member account id ->
        its role name. A moto without :func:`~trailkit.demo.patches.patch_moto` (another
        process) gives accounts random ids: such an account is removed again and the member
        accounts stay outside the organization (logged), still seeded by account id.
    """
    if not estate.organization:
        return None, {}
    org = conn.client("organizations", "us-east-1")
    org_id = str(org.create_organization(FeatureSet="ALL")["Organization"]["Id"])
    name_organization_account(DEMO_ACCOUNT, DEMO_ACCOUNT, "management")
    roles: dict[str, str] = {}
    for member, role_name in estate.organization.items():
        wanted = estate.account(member)
        made = org.create_account(
            AccountName=member,
            Email=f"aws+{member}@example.com",
            RoleName=role_name,
            Tags=[{"Key": ACCOUNT_ID_TAG, "Value": wanted}],
        )["CreateAccountStatus"]
        if made.get("AccountId") != wanted:
            org.remove_account_from_organization(AccountId=str(made.get("AccountId")))
            _log.warning(
                "the demo's moto does not take fixed account ids (patch_moto() not applied?): "
                "the member accounts stay outside the organization"
            )
            break
        roles[wanted] = role_name
    return org_id, roles


def seed_demo(conn: Connection, *, initial_delivery: bool = True) -> DemoEstate:
    """Build the demo estate through ``conn`` (see the module docstring for what it contains).

    Parameters
    ----------
    conn
        A connection to a moto endpoint acting as :data:`DEMO_ACCOUNT`; the other accounts are
        reached with :func:`~trailkit.demo.server.as_account`. The server should be freshly
        reset: seeding twice fails on the existing buckets and aliases. When moto is loaded in
        this process (e.g. a ``ThreadedMotoServer`` started by a test),
        :func:`~trailkit.demo.patches.patch_moto` is applied first, so an in-process server gets
        the same fixes as :class:`~trailkit.demo.server.DemoServer`.
    initial_delivery
        With moto in this process: once seeded, deliver one log file (and digest file) for
        every logging trail whose delivery would succeed (:mod:`trailkit.demo.delivery`);
        trails whose delivery would fail are left as moto reports them. No delivery is
        scheduled while seeding, and pending ones (of an earlier estate) are cancelled.

    Returns
    -------
    DemoEstate
        Names and ARNs of everything that was made, and how long it took.
    """
    started = time.perf_counter()
    if "moto" in sys.modules:
        patch_moto()
    estate = load_estate_spec()
    keys: dict[str, str] = {}
    replicas: dict[str, str] = {}
    trails: dict[str, str] = {}
    trail_buckets: dict[str, str] = {}
    buckets: dict[str, str] = {}
    accounts: dict[str, str] = {}

    acting: dict[str, Connection] = {}

    def as_role(role: str) -> Connection:
        account = estate.account(role)
        accounts[account] = role
        if account not in acting:
            made = conn if account == DEMO_ACCOUNT else as_account(conn, account)
            # A patched moto in another process schedules no delivery for these requests.
            acting[account] = with_header(made, delivery.SEEDING_HEADER, "1")
        return acting[account]

    before = delivery.local_trails()  # moto in this process (the test's or the demo's)
    delivery.cancel_pending()
    with delivery.paused():  # the story is told first; no delivery scheduled meanwhile
        # The organization and its member accounts first (Organizations makes their roles), then
        # keys (bucket default encryption names them), then every bucket in its owner's
        # account (a trail needs its bucket to exist), then the trails, then what happened later:
        # key policies stripped, keys disabled or scheduled for deletion, buckets deleted; and an
        # organization trail's own status in members.
        organization, member_roles = _seed_organization(as_role("management"), estate)
        accounts.update({member: MEMBER_ACCOUNTS[member] for member in member_roles})
        for role in estate.accounts:
            for key in (k for k in estate.keys if k.account == role):
                _seed_key(as_role(role), estate, key, keys, replicas)
        for trail in estate.trails:
            _seed_bucket(as_role(trail.bucket_owner), estate.account(trail.account), trail, keys)
            buckets[trail.bucket] = trail.bucket_region
        for trail in estate.trails:
            trails[trail.name] = _seed_trail(as_role(trail.account), trail, keys)
            trail_buckets[trail.name] = trail.bucket
        for role in estate.accounts:
            for key in (k for k in estate.keys if k.account == role):
                _finish_key(as_role(role), estate, key, keys)
        for trail in estate.trails:
            if trail.bucket_deleted:
                as_role(trail.bucket_owner).client("s3", trail.bucket_region).delete_bucket(
                    Bucket=trail.bucket
                )
                del buckets[trail.bucket]
        for trail in estate.trails:
            if trail.member_status and member_roles:
                tags = [
                    {"Key": MEMBER_STATUS_TAG + estate.account(member), "Value": json.dumps(fields)}
                    for member, fields in trail.member_status.items()
                ]
                as_role(trail.account).client("cloudtrail", trail.region).add_tags(
                    ResourceId=trails[trail.name], TagsList=tags
                )
    if initial_delivery:
        # One delivery per logging trail that CloudTrail could deliver for now, so the buckets
        # and statuses look lived-in; a trail whose delivery would fail keeps moto's status
        # (the estate's documented health: a delivery error would add a reason).
        delivery.deliver_trails(trails.values(), only_successful=True, skip=before)

    seeded = DemoEstate(
        endpoint=conn.endpoint_url,
        trails=trails,
        trail_buckets=trail_buckets,
        keys=keys,
        replica_keys=replicas,
        buckets=buckets,
        accounts=accounts,
        organization=organization,
        member_roles=member_roles,
        regions=estate.regions,
        seconds=time.perf_counter() - started,
    )
    seed_history(conn, seeded)  # the story of the estate, in CloudTrail's event history
    return seeded
