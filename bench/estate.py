"""The synthetic estate of the benchmarks: its size, its keys and policies, and the same estate as
trailkit records (for the benchmarks of the pure layer, which need no AWS).

Per region: ``keys_per_region`` customer keys (70 % symmetric and enabled; the rest disabled,
pending deletion, signing, HMAC or RSA-encryption keys), four fifths with an alias, some with two,
plus three AWS managed keys (``alias/aws/s3``, ``ebs``, ``rds``). Key policies: CloudTrail's
default (half of the keys), root only, an explicit Deny of CloudTrail, or CloudTrail's default for
another account's trails. Trails are spread over every region; their buckets (about four trails
per bucket, as central log buckets are) sit in ``bucket_regions`` regions; 60 % of the trails use
SSE-KMS with a good key of their bucket's region, every tenth is multi-Region, half validate log
files.
"""

from __future__ import annotations

import json
import zlib
from dataclasses import dataclass
from typing import Any

from trailkit.demo import OTHER_ACCOUNT, cloudtrail_bucket_policy, cloudtrail_key_policy
from trailkit.demo import root_key_policy as _root_key_policy
from trailkit.records import BucketInfo, KeyInfo, Trail, TrailStatus

#: The regions of a synthetic estate, in this order (17 commercial regions, then any others).
REGIONS = (
    "us-east-1",
    "eu-west-1",
    "ap-northeast-1",
    "us-west-2",
    "us-east-2",
    "us-west-1",
    "eu-west-2",
    "eu-west-3",
    "eu-central-1",
    "eu-north-1",
    "ap-northeast-2",
    "ap-northeast-3",
    "ap-southeast-1",
    "ap-southeast-2",
    "ap-south-1",
    "ca-central-1",
    "sa-east-1",
)
ACCOUNT = "123456789012"
#: AWS managed keys per region (``alias/aws/...``, KeyManager AWS), besides the customer keys.
AWS_MANAGED = ("alias/aws/s3", "alias/aws/ebs", "alias/aws/rds")


@dataclass(frozen=True)
class EstateSpec:
    """The size of a synthetic estate."""

    regions: int = 17
    trails: int = 40
    bucket_regions: int = 4
    keys_per_region: int = 100

    @property
    def region_names(self) -> tuple[str, ...]:
        return region_names(self.regions)

    @property
    def bucket_region_names(self) -> tuple[str, ...]:
        return self.region_names[: max(1, min(self.bucket_regions, self.regions))]

    @property
    def buckets(self) -> list[tuple[str, str]]:
        """(name, region) of the log buckets: about four trails per bucket."""
        regions = self.bucket_region_names
        count = max(len(regions), self.trails // 4) if self.trails else 0
        return [
            (f"bench-logs-{i:03d}-{regions[i % len(regions)]}", regions[i % len(regions)])
            for i in range(count)
        ]


def region_names(count: int) -> tuple[str, ...]:
    """The first ``count`` regions (beyond 17, other regions that have KMS, sorted)."""
    if count <= len(REGIONS):
        return REGIONS[:count]
    import boto3

    extra = [r for r in boto3.Session().get_available_regions("kms") if r not in REGIONS]
    return (REGIONS + tuple(sorted(extra)))[:count]


def key_kind(j: int) -> tuple[str, str, str]:
    """(state, key spec, key usage) of the j-th customer key of a region."""
    kinds = {
        0: ("Disabled", "SYMMETRIC_DEFAULT", "ENCRYPT_DECRYPT"),
        1: ("PendingDeletion", "SYMMETRIC_DEFAULT", "ENCRYPT_DECRYPT"),
        2: ("Enabled", "RSA_2048", "SIGN_VERIFY"),
        3: ("Enabled", "ECC_NIST_P256", "SIGN_VERIFY"),
        4: ("Enabled", "HMAC_256", "GENERATE_VERIFY_MAC"),
        5: ("Enabled", "RSA_2048", "ENCRYPT_DECRYPT"),
    }
    return kinds.get(j % 20, ("Enabled", "SYMMETRIC_DEFAULT", "ENCRYPT_DECRYPT"))


def is_usable(j: int) -> bool:
    """Whether the j-th key passes trailkit's cheap filters (Enabled, symmetric encryption)."""
    return key_kind(j) == ("Enabled", "SYMMETRIC_DEFAULT", "ENCRYPT_DECRYPT")


def is_good(j: int) -> bool:
    """Whether the j-th key is usable and has CloudTrail's default policy for this account."""
    return is_usable(j) and j % 10 < 5


def key_aliases(j: int, region: str) -> tuple[str, ...]:
    names = []
    if j % 5 != 4:  # a fifth of the keys have no alias
        names.append(f"alias/team{j % 7}-{region}-{j:04d}")
    if j % 9 == 0:
        names.append(f"alias/legacy-{region}-{j:04d}")
    return tuple(sorted(names))


def key_policy(j: int, region: str) -> dict[str, Any]:
    """CloudTrail's default (half), root only, an explicit Deny of CloudTrail, or CloudTrail's
    default for another account's trails."""
    kind = j % 10
    if kind < 5:
        return cloudtrail_key_policy(ACCOUNT, region=region)
    if kind < 8:
        return _root_key_policy(ACCOUNT)
    if kind == 8:
        deny = {
            "Sid": "DenyCloudTrailEncrypt",
            "Effect": "Deny",
            "Principal": {"Service": "cloudtrail.amazonaws.com"},
            "Action": "kms:GenerateDataKey*",
            "Resource": "*",
        }
        return cloudtrail_key_policy(ACCOUNT, region=region, extra=(deny,))
    return cloudtrail_key_policy(ACCOUNT, region=region, trail_account=OTHER_ACCOUNT)


@dataclass(frozen=True)
class TrailPlan:
    """One trail of the estate."""

    name: str
    home: str
    bucket: str
    bucket_region: str
    multi_region: bool
    validation: bool
    key_index: int | None  # index j of the good key of the bucket region it uses

    @property
    def arn(self) -> str:
        return f"arn:aws:cloudtrail:{self.home}:{ACCOUNT}:trail/{self.name}"


def trail_plans(spec: EstateSpec) -> list[TrailPlan]:
    regions = spec.region_names
    buckets = spec.buckets
    good = [j for j in range(spec.keys_per_region) if is_good(j)]
    plans = []
    for i in range(spec.trails):
        bucket, bucket_region = buckets[i % len(buckets)]
        plans.append(
            TrailPlan(
                name=f"bench-trail-{i:03d}",
                home=regions[i % len(regions)],
                bucket=bucket,
                bucket_region=bucket_region,
                multi_region=i % 10 == 0,
                validation=i % 2 == 0,
                key_index=good[i % len(good)] if i % 5 < 3 and good else None,
            )
        )
    return plans


def bucket_policy(bucket: str, trail_arns: list[str]) -> dict[str, Any]:
    """The standard CloudTrail bucket policy, for every trail writing to the bucket."""
    doc = cloudtrail_bucket_policy(bucket, ACCOUNT, trail_arns[0])
    for statement in doc["Statement"]:
        condition = statement.get("Condition", {}).get("StringEquals", {})
        if "aws:SourceArn" in condition:
            condition["aws:SourceArn"] = trail_arns if len(trail_arns) > 1 else trail_arns[0]
    return doc


# -- the same estate as records (no AWS) -----------------------------------------------------


def key_records(region: str, count: int, *, start: int = 0) -> list[KeyInfo]:
    """``count`` customer keys of ``region`` as the read layer would return them."""
    keys = []
    for j in range(start, start + count):
        state, spec, usage = key_kind(j)
        key_id = f"{j:08x}-0000-4000-8000-{zlib.crc32(region.encode()):012d}"
        keys.append(
            KeyInfo(
                arn=f"arn:aws:kms:{region}:{ACCOUNT}:key/{key_id}",
                key_id=key_id,
                account=ACCOUNT,
                region=region,
                aliases=key_aliases(j, region),
                state=state,
                key_spec=spec,
                key_usage=usage,
                manager="CUSTOMER",
                policy=json.dumps(key_policy(j, region)) if is_usable(j) else None,
            )
        )
    return keys


def trail_records(count: int, regions: tuple[str, ...], keys: list[KeyInfo]) -> list[Trail]:
    """``count`` trails (with status and bucket facts) using ``keys`` as the estate's do."""
    spec = EstateSpec(regions=len(regions), trails=count, keys_per_region=len(keys))
    plans = trail_plans(spec)
    writers: dict[str, list[str]] = {}
    for plan in plans:
        writers.setdefault(plan.bucket, []).append(plan.arn)
    policies = {b: json.dumps(bucket_policy(b, arns)) for b, arns in writers.items()}
    trails = []
    for plan in plans:
        key = keys[plan.key_index] if plan.key_index is not None else None
        trails.append(
            Trail(
                name=plan.name,
                arn=plan.arn,
                home_region=plan.home,
                account=ACCOUNT,
                multi_region=plan.multi_region,
                organization=False,
                bucket_name=plan.bucket,
                s3_prefix=None,
                kms_key_id=key.arn if key else None,
                log_file_validation=plan.validation,
                seen_in=(plan.home,),
                status=TrailStatus(is_logging=True),
                bucket=BucketInfo(
                    name=plan.bucket,
                    region=plan.bucket_region,
                    default_encryption="AES256",
                    policy=policies[plan.bucket],
                ),
            )
        )
    return trails
