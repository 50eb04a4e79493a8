"""Tests for trailkit.rules.keyids: every accepted form, every partition, every specific error."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from trailkit.arn import KNOWN_PARTITIONS, Arn, parse_arn, partition_for_region
from trailkit.errors import InputError, KeyIdError, TrailkitError
from trailkit.rules.keyids import (
    ACCEPTED_FORMS,
    KeyIdKind,
    KeyRef,
    key_arn,
    parse_key_id,
)

UUID = "1234abcd-12ab-34cd-56ef-1234567890ab"
MRK = "mrk-1234abcd12ab34cd56ef1234567890ab"
ACCT = "111122223333"
KEY_ARN = f"arn:aws:kms:us-east-2:{ACCT}:key/{UUID}"
ALIAS_ARN = f"arn:aws:kms:us-east-2:{ACCT}:alias/ExampleAlias"

#: (partition, a region of it) for every partition AWS publishes.
PARTITION_REGIONS = [
    ("aws", "us-east-1"),
    ("aws", "eu-west-1"),
    ("aws", "ap-southeast-7"),
    ("aws", "mx-central-1"),
    ("aws-cn", "cn-north-1"),
    ("aws-cn", "cn-northwest-1"),
    ("aws-us-gov", "us-gov-west-1"),
    ("aws-us-gov", "us-gov-east-1"),
    ("aws-iso", "us-iso-east-1"),
    ("aws-iso-b", "us-isob-east-1"),
    ("aws-iso-e", "eu-isoe-west-1"),
    ("aws-iso-f", "us-isof-south-1"),
    ("aws-eusc", "eusc-de-east-1"),
]
PR_IDS = [f"{p}/{r}" for p, r in PARTITION_REGIONS]


# --------------------------------------------------------------------------- valid forms

VALID = [
    # id, text, kind, partition, region, account, key_id, alias
    ("key-id", UUID, KeyIdKind.KEY_ID, None, None, None, UUID, None),
    ("key-id-upper", UUID.upper(), KeyIdKind.KEY_ID, None, None, None, UUID, None),
    (
        "key-id-mixed",
        "1234ABCD-12ab-34CD-56ef-1234567890AB",
        KeyIdKind.KEY_ID,
        *[None] * 3,
        UUID,
        None,
    ),
    ("mrk-id", MRK, KeyIdKind.KEY_ID, None, None, None, MRK, None),
    ("mrk-id-upper", MRK.upper(), KeyIdKind.KEY_ID, None, None, None, MRK, None),
    ("alias", "alias/ExampleAlias", KeyIdKind.ALIAS_NAME, *[None] * 4, "alias/ExampleAlias"),
    ("alias-chars", "alias/a-b_c/D9", KeyIdKind.ALIAS_NAME, *[None] * 4, "alias/a-b_c/D9"),
    ("alias-one-char", "alias/x", KeyIdKind.ALIAS_NAME, *[None] * 4, "alias/x"),
    ("alias-trailing-slash", "alias/x/", KeyIdKind.ALIAS_NAME, *[None] * 4, "alias/x/"),
    ("alias-256", "alias/" + "a" * 250, KeyIdKind.ALIAS_NAME, *[None] * 4, "alias/" + "a" * 250),
    ("alias-looks-like-uuid", f"alias/{UUID}", KeyIdKind.ALIAS_NAME, *[None] * 4, f"alias/{UUID}"),
    ("alias-aws-managed", "alias/aws/s3", KeyIdKind.ALIAS_NAME, *[None] * 4, "alias/aws/s3"),
    ("alias-aws-no-slash", "alias/aws", KeyIdKind.ALIAS_NAME, *[None] * 4, "alias/aws"),
    ("key-arn", KEY_ARN, KeyIdKind.KEY_ARN, "aws", "us-east-2", ACCT, UUID, None),
    (
        "key-arn-upper-id",
        f"arn:aws:kms:us-east-2:{ACCT}:key/{UUID.upper()}",
        KeyIdKind.KEY_ARN,
        "aws",
        "us-east-2",
        ACCT,
        UUID,
        None,
    ),
    (
        "key-arn-mrk",
        f"arn:aws:kms:eu-west-1:{ACCT}:key/{MRK}",
        KeyIdKind.KEY_ARN,
        "aws",
        "eu-west-1",
        ACCT,
        MRK,
        None,
    ),
    (
        "alias-arn",
        ALIAS_ARN,
        KeyIdKind.ALIAS_ARN,
        "aws",
        "us-east-2",
        ACCT,
        None,
        "alias/ExampleAlias",
    ),
    (
        "alias-arn-managed",
        f"arn:aws:kms:us-east-1:{ACCT}:alias/aws/cloudtrail",
        KeyIdKind.ALIAS_ARN,
        "aws",
        "us-east-1",
        ACCT,
        None,
        "alias/aws/cloudtrail",
    ),
    (
        "unlisted-partition-unknown-region",
        f"arn:aws-future:kms:zz-north-1:{ACCT}:key/{UUID}",
        KeyIdKind.KEY_ARN,
        "aws-future",
        "zz-north-1",
        ACCT,
        UUID,
        None,
    ),
]


@pytest.mark.parametrize(
    ("text", "kind", "partition", "region", "account", "key_id", "alias"),
    [v[1:] for v in VALID],
    ids=[v[0] for v in VALID],
)
def test_valid_forms(
    text: str,
    kind: KeyIdKind,
    partition: str | None,
    region: str | None,
    account: str | None,
    key_id: str | None,
    alias: str | None,
) -> None:
    ref = parse_key_id(text)
    assert ref.kind is kind
    assert ref.text == text
    assert (ref.partition, ref.region, ref.account) == (partition, region, account)
    assert ref.key_id == key_id
    assert ref.alias == alias
    assert ref.is_arn == (kind in (KeyIdKind.KEY_ARN, KeyIdKind.ALIAS_ARN))
    assert not ref.is_disable
    assert ref.notes == ()


@pytest.mark.parametrize(("partition", "region"), PARTITION_REGIONS, ids=PR_IDS)
@pytest.mark.parametrize("kid", [UUID, MRK], ids=["uuid", "mrk"])
def test_key_arn_every_partition(partition: str, region: str, kid: str) -> None:
    arn = f"arn:{partition}:kms:{region}:{ACCT}:key/{kid}"
    ref = parse_key_id(arn)
    assert ref.kind is KeyIdKind.KEY_ARN
    assert (ref.partition, ref.region, ref.account, ref.key_id) == (partition, region, ACCT, kid)
    assert ref.arn() == arn
    assert ref.multi_region == kid.startswith("mrk-")
    assert partition_for_region(region) == partition


@pytest.mark.parametrize(("partition", "region"), PARTITION_REGIONS, ids=PR_IDS)
def test_alias_arn_every_partition(partition: str, region: str) -> None:
    arn = f"arn:{partition}:kms:{region}:{ACCT}:alias/Trail-Logs"
    ref = parse_key_id(arn)
    assert ref.kind is KeyIdKind.ALIAS_ARN
    assert ref.alias == "alias/Trail-Logs"
    assert ref.arn() == arn
    assert not ref.multi_region


@pytest.mark.parametrize(("partition", "region"), PARTITION_REGIONS, ids=PR_IDS)
def test_partition_for_region(partition: str, region: str) -> None:
    assert partition_for_region(region) == partition


@pytest.mark.parametrize(
    ("region", "partition"),
    [("xx-new-1", "aws"), ("", "aws"), ("cn-future-9", "aws-cn"), ("us-isof-east-1", "aws-iso-f")],
    ids=["unknown", "empty", "cn-future", "isof-east"],
)
def test_partition_for_region_fallbacks(region: str, partition: str) -> None:
    assert partition_for_region(region) == partition


def test_known_partitions_listed() -> None:
    assert set(KNOWN_PARTITIONS) == {p for p, _ in PARTITION_REGIONS}


# --------------------------------------------------------------------------- disable, whitespace


@pytest.mark.parametrize(
    "text", ["", " ", "\t\n", "   \r\n  "], ids=["empty", "space", "tab-nl", "mixed"]
)
def test_empty_means_disable(text: str) -> None:
    ref = parse_key_id(text)
    assert ref.kind is KeyIdKind.DISABLE
    assert ref.is_disable
    assert ref.text == ""
    assert ref.arn() is None
    assert ref.canonical == ""
    assert ref.qualified(partition="aws", region="us-east-1", account=ACCT) == ""
    assert (ref.key_id, ref.alias, ref.partition) == (None, None, None)
    assert bool(ref.notes) == bool(text)


@pytest.mark.parametrize(
    "text",
    [f"  {UUID}", f"{UUID}\n", "\talias/x ", f" {KEY_ARN}\r\n", f"\u00a0{MRK}"],
    ids=["leading", "trailing-nl", "tabs", "arn-crlf", "nbsp"],
)
def test_surrounding_whitespace_is_stripped_and_noted(text: str) -> None:
    ref = parse_key_id(text)
    assert ref.text == text.strip()
    assert ref.notes and "whitespace" in ref.notes[0]
    assert ref == parse_key_id(text.strip())  # notes are not part of equality


# --------------------------------------------------------------------------- errors

ERRORS = [
    # id, text, distinctive phrase in the message
    ("empty-account", f"arn:aws:kms:us-east-1::key/{UUID}", "account field is empty"),
    ("11-digit-account", f"arn:aws:kms:us-east-1:12345678901:key/{UUID}", "this one has 11"),
    ("13-digit-account", f"arn:aws:kms:us-east-1:1234567890123:key/{UUID}", "this one has 13"),
    ("letter-account", f"arn:aws:kms:us-east-1:12345678901x:key/{UUID}", "contains 'x'"),
    ("aws-account", f"arn:aws:kms:us-east-1:aws:key/{UUID}", "not 'aws'"),
    ("wrong-service-s3", "arn:aws:s3:::my-trail-bucket", "ARN for s3, not a KMS key"),
    ("wrong-service-iam", f"arn:aws:iam::{ACCT}:role/Admin", "ARN for iam, not a KMS key"),
    ("trail-arn", f"arn:aws:cloudtrail:us-east-1:{ACCT}:trail/Main", "CloudTrail trail ARN"),
    ("missing-resource-type", f"arn:aws:kms:us-east-1:{ACCT}:{UUID}", "resource type is missing"),
    ("missing-type-alias", f"arn:aws:kms:us-east-1:{ACCT}:MyKey", "resource type is missing"),
    ("other-resource-type", f"arn:aws:kms:us-east-1:{ACCT}:keys/{UUID}", "this one is 'keys'"),
    ("resource-type-case", f"arn:aws:kms:us-east-1:{ACCT}:Key/{UUID}", "resource types are lower"),
    ("key-with-alias-name", f"arn:aws:kms:us-east-1:{ACCT}:key/MyKey", "looks like an alias name"),
    ("key-slash-alias", f"arn:aws:kms:us-east-1:{ACCT}:key/alias/MyKey", "not after 'key/'"),
    ("key-empty", f"arn:aws:kms:us-east-1:{ACCT}:key/", "key id is missing after 'key/'"),
    ("arn-short-key-id", f"arn:aws:kms:us-east-1:{ACCT}:key/{UUID[:-1]}", "in the key ARN"),
    ("arn-bad-mrk", f"arn:aws:kms:us-east-1:{ACCT}:key/mrk-1234", "this one has 4 after 'mrk-'"),
    ("region-missing", f"arn:aws:kms::{ACCT}:key/{UUID}", "region field is missing"),
    ("region-garbage", f"arn:aws:kms:useast1:{ACCT}:key/{UUID}", "is not a region name"),
    ("region-upper", f"arn:aws:kms:US-EAST-1:{ACCT}:key/{UUID}", "region names are lower case"),
    ("unknown-partition", f"arn:amazon:kms:us-east-1:{ACCT}:key/{UUID}", "unknown partition"),
    ("partition-upper", f"arn:AWS:kms:us-east-1:{ACCT}:key/{UUID}", "partitions are lower case"),
    ("partition-empty", f"arn::kms:us-east-1:{ACCT}:key/{UUID}", "partition field is empty"),
    (
        "cn-region-aws-partition",
        f"arn:aws:kms:cn-north-1:{ACCT}:alias/x",
        "belongs to partition aws-cn",
    ),
    (
        "gov-region-aws-partition",
        f"arn:aws:kms:us-gov-west-1:{ACCT}:alias/x",
        "aws-us-gov, not aws",
    ),
    ("aws-region-cn-partition", f"arn:aws-cn:kms:us-east-1:{ACCT}:alias/x", "partition aws, not"),
    ("unlisted-partition-aws-region", f"arn:aws-xyz:kms:us-east-1:{ACCT}:alias/x", "not aws-xyz"),
    ("too-few-fields", f"arn:aws:kms:us-east-1:key/{UUID}", "too few fields"),
    ("just-arn", "arn:", "this one has 2"),
    ("service-empty", f"arn:aws::us-east-1:{ACCT}:key/{UUID}", "service field is empty"),
    ("service-upper", f"arn:aws:KMS:us-east-1:{ACCT}:key/{UUID}", "not a service name"),
    ("arn-upper", f"ARN:aws:kms:us-east-1:{ACCT}:key/{UUID}", "lower-case 'arn:'"),
    ("resource-empty", f"arn:aws:kms:us-east-1:{ACCT}:", "resource part"),
    ("alias-arn-bad-char", f"arn:aws:kms:us-east-1:{ACCT}:alias/a.b", "in the alias ARN"),
    ("alias-arn-colon", f"arn:aws:kms:us-east-1:{ACCT}:alias/a:b", "bad characters: ':'"),
    ("alias-arn-empty", f"arn:aws:kms:us-east-1:{ACCT}:alias/", "'alias/' alone"),
    ("alias-alone", "alias/", "'alias/' alone"),
    ("alias-too-long", "alias/" + "a" * 251, "alias name is too long"),
    ("alias-bad-chars", "alias/my.key@x", "bad characters: '.'"),
    ("alias-bad-chars-many", "alias/a.b,c;d!e?f+g", "and 1 more"),
    ("alias-capital-prefix", "Alias/MyKey", "lower-case 'alias/'"),
    ("alias-upper-prefix", "ALIAS/MyKey", "lower-case 'alias/'"),
    ("alias-colon", "alias:MyKey", "not 'alias:'"),
    ("bare-name", "MyKeyAlias", "not a key id, alias or ARN"),
    ("bare-key-resource", f"key/{UUID}", "only valid inside a key ARN"),
    ("key-id-35", UUID[:-1], "a key id is 36 characters like"),
    ("key-id-37", UUID + "a", "this one has 37"),
    ("key-id-non-hex", UUID[:-1] + "g", "'g' (U+0067 LATIN SMALL LETTER G) at position 36"),
    ("key-id-short-and-non-hex", "1234abcd-12ab-zz", "is not a hex digit"),
    ("key-id-no-dashes", UUID.replace("-", ""), "without its dashes"),
    ("key-id-misgrouped", "1234abcd1-2ab-34cd-56ef-1234567890ab", "this one is grouped 9-3-4-4-12"),
    ("key-id-digits", "12345", "this one has 5"),
    ("mrk-short", "mrk-1234abcd", "this one has 8 after 'mrk-'"),
    ("mrk-long", MRK + "0", "this one has 33 after 'mrk-'"),
    ("mrk-non-hex", "mrk-" + "g" * 32, "contains 'g'"),
    ("mrk-dashed", "mrk-1234abcd-12ab-34cd-56ef-1234567890ab", "contains '-'"),
    ("mrk-empty", "mrk-", "this one has 0 after 'mrk-'"),
    ("internal-space", "alias/my key", "contains whitespace (a space at position 9)"),
    ("internal-newline", "alias/a\nalias/b", "a newline at position 8"),
    ("internal-tab", f"{UUID[:8]}\t{UUID[9:]}", "a tab at position 9"),
    ("nul", "alias/x\x00", "control character (a NUL character"),
    ("nul-inside", "alias/\x00x", "control character"),
    ("zero-width-space", "alias/x\u200by", "control character"),
    ("typographic-dash", UUID.replace("-", "\u2010", 1), "non-ASCII character"),
    ("non-ascii-alias", "alias/café", "non-ASCII character"),
    ("json-object", '{"KmsKeyId": "alias/x"}', "looks like JSON"),
    ("json-list", '["alias/x"]', "looks like JSON"),
    ("double-quoted", '"alias/x"', "it is quoted"),
    ("single-quoted", "'alias/x'", "it is quoted"),
    ("placeholder", "<your-key-id>", "placeholder"),
    ("cli-flag", f"--kms-key-id={UUID}", "not a key id, alias or ARN"),
    ("url", "https://console.aws.amazon.com/kms", "not a key id, alias or ARN"),
    ("very-long", "x" * 10_000, "10000 characters long"),
]


@pytest.mark.parametrize(("text", "phrase"), [e[1:] for e in ERRORS], ids=[e[0] for e in ERRORS])
def test_specific_errors(text: str, phrase: str) -> None:
    with pytest.raises(KeyIdError) as info:
        parse_key_id(text)
    err = info.value
    assert phrase in err.message
    assert "is not a usable KMS key identifier" in err.message
    assert "Accepted forms are" in err.fix
    assert len(err.message) < 600
    assert "\n" not in err.message and "\x00" not in err.message


HINTS = [
    ("alias-capital-prefix", "Alias/MyKey", "write 'alias/MyKey'"),
    ("bare-name", "MyKeyAlias", "write 'alias/MyKeyAlias'"),
    ("no-dashes", UUID.replace("-", ""), f"write it as {UUID}"),
    ("quoted", '"alias/x"', "remove the quotes: 'alias/x'"),
    ("bare-key-resource", f"key/{UUID}", f"give the key id alone ('{UUID}')"),
    (
        "missing-type",
        f"arn:aws:kms:us-east-1:{ACCT}:{UUID}",
        f"write 'arn:aws:kms:us-east-1:{ACCT}:key/{UUID}'",
    ),
    (
        "key-with-alias-name",
        f"arn:aws:kms:us-east-1:{ACCT}:key/MyKey",
        f"'arn:aws:kms:us-east-1:{ACCT}:alias/MyKey'",
    ),
    (
        "key-slash-alias",
        f"arn:aws:kms:us-east-1:{ACCT}:key/alias/MyKey",
        f"'arn:aws:kms:us-east-1:{ACCT}:alias/MyKey'",
    ),
    ("cn-region", f"arn:aws:kms:cn-north-1:{ACCT}:alias/x", "write arn:aws-cn:"),
    ("trail", f"arn:aws:cloudtrail:us-east-1:{ACCT}:trail/Main", "not the trail"),
]


@pytest.mark.parametrize(("text", "hint"), [h[1:] for h in HINTS], ids=[h[0] for h in HINTS])
def test_error_hints(text: str, hint: str) -> None:
    with pytest.raises(KeyIdError) as info:
        parse_key_id(text)
    assert hint in info.value.fix
    assert str(info.value).startswith(info.value.message + " Fix: ")


def test_key_id_error_is_an_input_error() -> None:
    with pytest.raises(InputError):
        parse_key_id("nope!")
    assert issubclass(KeyIdError, TrailkitError)


def test_very_long_input_is_refused_and_truncated() -> None:
    for junk in ("x" * 10_000, "alias/" + "a" * 10_000, "arn:" + ":" * 10_000, "1" * 2048):
        with pytest.raises(KeyIdError) as info:
            parse_key_id(junk)
        assert len(info.value.message) < 300
        assert junk[:200] not in info.value.message
        assert "characters)" in info.value.message


def test_message_shows_a_normal_key_arn_whole() -> None:
    text = f"arn:aws:kms:us-east-1:12345678901:key/{UUID}"
    with pytest.raises(KeyIdError) as info:
        parse_key_id(text)
    assert repr(text) in info.value.message


def test_non_str_is_a_key_id_error() -> None:
    with pytest.raises(KeyIdError, match="must be text"):
        parse_key_id(123)  # type: ignore[arg-type]


# --------------------------------------------------------------------------- KeyRef behaviour


@pytest.mark.parametrize(
    ("text", "short"),
    [
        (UUID, "1234abcd"),
        (MRK, "mrk-1234"),
        (KEY_ARN, "1234abcd"),
        ("alias/ExampleAlias", "alias/ExampleAlias"),
        (ALIAS_ARN, "alias/ExampleAlias"),
        ("", "(no key)"),
    ],
    ids=["uuid", "mrk", "key-arn", "alias", "alias-arn", "disable"],
)
def test_short(text: str, short: str) -> None:
    assert parse_key_id(text).short == short


@pytest.mark.parametrize(
    ("text", "aws_managed"),
    [
        ("alias/aws/s3", True),
        ("alias/aws/cloudtrail", True),
        (f"arn:aws-cn:kms:cn-north-1:{ACCT}:alias/aws/s3", True),
        ("alias/aws", False),
        ("alias/awsome", False),
        ("alias/my/aws/x", False),
        (UUID, False),
    ],
    ids=["s3", "cloudtrail", "arn", "aws-bare", "awsome", "nested", "key-id"],
)
def test_aws_managed(text: str, aws_managed: bool) -> None:
    assert parse_key_id(text).aws_managed is aws_managed


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (UUID, f"arn:aws-cn:kms:cn-north-1:{ACCT}:key/{UUID}"),
        (UUID.upper(), f"arn:aws-cn:kms:cn-north-1:{ACCT}:key/{UUID}"),
        (MRK, f"arn:aws-cn:kms:cn-north-1:{ACCT}:key/{MRK}"),
        ("alias/Logs", f"arn:aws-cn:kms:cn-north-1:{ACCT}:alias/Logs"),
        (KEY_ARN, KEY_ARN),  # an ARN means itself from anywhere
        (ALIAS_ARN, ALIAS_ARN),
        ("", ""),
    ],
    ids=["uuid", "uuid-upper", "mrk", "alias", "key-arn", "alias-arn", "disable"],
)
def test_qualified(text: str, expected: str) -> None:
    ref = parse_key_id(text)
    assert ref.qualified(partition="aws-cn", region="cn-north-1", account=ACCT) == expected


@pytest.mark.parametrize(
    ("partition", "region", "account", "phrase"),
    [
        ("aws", "us-east-1", "123", "this one has 3"),
        ("aws", "", ACCT, "region is empty"),
        ("aws", "cn-north-1", ACCT, "belongs to partition aws-cn"),
        ("Amazon", "us-east-1", ACCT, "unknown partition"),
        ("aws", "us-east-\u0661", ACCT, "not a region name"),
        ("aws", "us-east-1", "\u0661" * 12, "contains"),
    ],
    ids=["short-account", "no-region", "mismatch", "partition", "arabic-digit", "arabic-account"],
)
def test_qualified_checks_place(partition: str, region: str, account: str, phrase: str) -> None:
    for text in ("alias/x", UUID):
        with pytest.raises(InputError, match=phrase):
            parse_key_id(text).qualified(partition=partition, region=region, account=account)


@pytest.mark.parametrize(
    ("text", "canonical"),
    [
        (UUID.upper(), UUID),
        (
            f"arn:aws:kms:us-east-2:{ACCT}:key/{MRK.upper()}",
            f"arn:aws:kms:us-east-2:{ACCT}:key/{MRK}",
        ),
        (" alias/X ", "alias/X"),
        (ALIAS_ARN, ALIAS_ARN),
        ("  ", ""),
    ],
    ids=["uuid", "mrk-arn", "alias", "alias-arn", "disable"],
)
def test_canonical(text: str, canonical: str) -> None:
    assert parse_key_id(text).canonical == canonical


def test_keyref_is_frozen_and_kind_is_str() -> None:
    ref = parse_key_id(UUID)
    with pytest.raises(AttributeError):
        ref.text = "x"  # type: ignore[misc]
    assert KeyIdKind("key-id") is KeyIdKind.KEY_ID
    assert isinstance(KeyIdKind.KEY_ID, str)
    assert f"{KeyIdKind.ALIAS_ARN}" == "alias-arn"
    assert isinstance(ref, KeyRef)


# --------------------------------------------------------------------------- key_arn, parse_arn


@pytest.mark.parametrize(("partition", "region"), PARTITION_REGIONS, ids=PR_IDS)
def test_key_arn(partition: str, region: str) -> None:
    assert key_arn(partition, region, ACCT, UUID.upper()) == (
        f"arn:{partition}:kms:{region}:{ACCT}:key/{UUID}"
    )


@pytest.mark.parametrize(
    ("args", "error", "phrase"),
    [
        (("aws", "us-east-1", ACCT, "alias/x"), KeyIdError, "36 characters"),
        (("aws", "us-east-1", ACCT, "mrk-12"), KeyIdError, "after 'mrk-'"),
        (("aws", "us-east-1", "12345678901", UUID), InputError, "this one has 11"),
        (("aws", "us-east-1", "", UUID), InputError, "account field is empty"),
        (("aws", "cn-north-1", ACCT, UUID), InputError, "aws-cn"),
        (("aws", "US-EAST-1", ACCT, UUID), InputError, "not a region name"),
    ],
    ids=["alias", "mrk", "account-11", "account-empty", "partition-mismatch", "region-case"],
)
def test_key_arn_errors(
    args: tuple[str, str, str, str], error: type[Exception], phrase: str
) -> None:
    with pytest.raises(error, match=phrase):
        key_arn(*args)


PARSED_ARNS = [
    (
        "trail",
        f"arn:aws:cloudtrail:us-east-1:{ACCT}:trail/Main",
        Arn("aws", "cloudtrail", "us-east-1", ACCT, "trail/Main"),
    ),
    ("s3-object", "arn:aws:s3:::bucket/AWSLogs/x", Arn("aws", "s3", "", "", "bucket/AWSLogs/x")),
    (
        "iam-managed-policy",
        "arn:aws:iam::aws:policy/AWSCloudTrail_FullAccess",
        Arn("aws", "iam", "", "aws", "policy/AWSCloudTrail_FullAccess"),
    ),
    ("kms-key", KEY_ARN, Arn("aws", "kms", "us-east-2", ACCT, f"key/{UUID}")),
    (
        "resource-with-colons",
        f"arn:aws-us-gov:logs:us-gov-west-1:{ACCT}:log-group:a:*",
        Arn("aws-us-gov", "logs", "us-gov-west-1", ACCT, "log-group:a:*"),
    ),
]


@pytest.mark.parametrize(
    ("text", "expected"), [a[1:] for a in PARSED_ARNS], ids=[a[0] for a in PARSED_ARNS]
)
def test_parse_arn(text: str, expected: Arn) -> None:
    assert parse_arn(text) == expected
    assert str(parse_arn(text)) == text


@pytest.mark.parametrize(
    ("text", "phrase"),
    [
        ("not-an-arn", "starts with 'arn:'"),
        ("arn:aws:s3", "too few fields"),
        (f"arn:aws:kms:us-east-1:1234:key/{UUID}", "this one has 4"),
        ("arn:foo:s3:::b", "unknown partition"),
        ("arn:aws:s3:::", "resource part"),
        ("arn:aws:s3:::a b", "whitespace"),
        ("arn:aws:kms:cn-north-1:111122223333:key/x", "aws-cn"),
        ("x" * 5000, "5000 characters long"),
    ],
    ids=[
        "no-prefix",
        "few-fields",
        "account",
        "partition",
        "empty-resource",
        "space",
        "mismatch",
        "long",
    ],
)
def test_parse_arn_errors(text: str, phrase: str) -> None:
    with pytest.raises(InputError, match=phrase) as info:
        parse_arn(text)
    assert not isinstance(info.value, KeyIdError)
    assert len(info.value.message) < 400


def test_accepted_forms_name_every_form() -> None:
    for form in ("alias/", ":alias/", ":key/", "mrk-", "trailkit disable"):
        assert form in ACCEPTED_FORMS
    assert "empty value to turn" not in ACCEPTED_FORMS  # an empty key never turns it off


# --------------------------------------------------------------------------- properties

FRAGMENTS = st.sampled_from(
    [
        "arn", "ARN", ":", "aws", "aws-cn", "aws-us-gov", "aws-iso-b", "amazon", "kms", "s3",
        "cloudtrail", "us-east-1", "cn-north-1", "us-gov-west-1", "eusc-de-east-1", "US-EAST-1",
        ACCT, "12345678901", "aws", "key", "key/", "alias", "alias/", "Alias/", "alias/aws/",
        "trail/", "mrk-", UUID, UUID.upper(), UUID[:8], "1234abcd12ab34cd56ef1234567890ab", "-",
        "/", "_", ".", " ", "\n", "\x00", "\u2010", '"', "{", "}", "<", ">", "", "x", "0", "é",
    ]
)  # fmt: skip
ARNISH = st.lists(FRAGMENTS, max_size=14).map("".join)


def _parses_or_key_id_error(text: str) -> None:
    try:
        ref = parse_key_id(text)
    except KeyIdError as exc:
        assert exc.message and exc.fix
        assert len(exc.message) < 1200
        return
    assert isinstance(ref, KeyRef)
    # whatever parses, re-parses to the same thing from its canonical form
    assert parse_key_id(ref.canonical) == parse_key_id(ref.canonical)
    again = parse_key_id(ref.canonical)
    assert (again.kind, again.key_id, again.alias, again.arn()) == (
        ref.kind,
        ref.key_id,
        ref.alias,
        ref.arn(),
    )


@settings(max_examples=300, deadline=None)
@given(st.text())
def test_any_text_parses_or_raises_key_id_error(text: str) -> None:
    _parses_or_key_id_error(text)


@settings(max_examples=300, deadline=None)
@given(ARNISH)
def test_arnish_text_parses_or_raises_key_id_error(text: str) -> None:
    _parses_or_key_id_error(text)


HEX = "0123456789abcdefABCDEF"
KEY_IDS = st.one_of(
    st.uuids().map(str).flatmap(lambda u: st.sampled_from([u, u.upper()])),
    st.text(HEX, min_size=32, max_size=32).map(lambda h: "mrk-" + h),
)
ALIASES = st.text(
    "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789/_-", min_size=1, max_size=250
).map(lambda name: "alias/" + name)
PLACES = st.tuples(
    st.sampled_from(PARTITION_REGIONS), st.text("0123456789", min_size=12, max_size=12)
)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(PLACES, st.one_of(KEY_IDS, ALIASES))
def test_generated_identifiers_round_trip(place: tuple[tuple[str, str], str], ident: str) -> None:
    (partition, region), account = place
    ref = parse_key_id(ident)
    assert ref.kind in (KeyIdKind.KEY_ID, KeyIdKind.ALIAS_NAME)
    assert ref.arn() is None
    qualified = ref.qualified(partition=partition, region=region, account=account)
    as_arn = parse_key_id(qualified)
    assert as_arn.is_arn
    assert (as_arn.partition, as_arn.region, as_arn.account) == (partition, region, account)
    assert (as_arn.key_id, as_arn.alias) == (ref.key_id, ref.alias)
    assert as_arn.arn() == qualified
    # and the ARN round-trips through parse_key_id(ref.arn())
    again = parse_key_id(str(as_arn.arn()))
    assert again == as_arn
    assert again.multi_region == ident.lower().startswith("mrk-")
    assert again.aws_managed == ident.startswith("alias/aws/")
    if ref.key_id is not None:
        assert ref.key_id == ident.lower()
        assert key_arn(partition, region, account, ident) == qualified
