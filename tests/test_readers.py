"""Who may decrypt the logs (``policy-readers``): the principals a key policy names, evaluated per
reader account (pure, table-driven; no AWS)."""

from __future__ import annotations

import json
from dataclasses import replace
from typing import Any

import pytest

from trailkit.errors import InputError
from trailkit.records import BucketInfo, KeyInfo, Trail
from trailkit.rules import policy as pol
from trailkit.rules.checks import CATALOGUE, KeyLookup, Severity, preflight, rank_candidates
from trailkit.rules.keyids import parse_key_id
from trailkit.rules.principals import parse_account, parse_accounts
from trailkit.rules.readers import Access, account_readers, reader_accounts, short_list

ACCOUNT, LOG_ARCHIVE, OTHER = "111122223333", "444455556666", "777788889999"
TRAIL_ARN = f"arn:aws:cloudtrail:us-east-1:{ACCOUNT}:trail/main"
KEY_ARN = f"arn:aws:kms:us-east-1:{ACCOUNT}:key/1234abcd-12ab-34cd-56ef-1234567890ab"
SECOPS = f"arn:aws:iam::{ACCOUNT}:role/SecOps"
EC_ARN = "kms:EncryptionContext:aws:cloudtrail:arn"

# What CloudTrail itself needs (so only the readers rule can fire).
CLOUDTRAIL = [
    {
        "Sid": "Encrypt",
        "Effect": "Allow",
        "Principal": {"Service": "cloudtrail.amazonaws.com"},
        "Action": "kms:GenerateDataKey*",
        "Resource": "*",
        "Condition": {"StringLike": {EC_ARN: f"arn:aws:cloudtrail:*:{ACCOUNT}:trail/*"}},
    },
    {
        "Sid": "Describe",
        "Effect": "Allow",
        "Principal": {"Service": "cloudtrail.amazonaws.com"},
        "Action": "kms:DescribeKey",
        "Resource": "*",
    },
]


def _decrypt(principal: Any, sid: str = "Readers", **condition: dict[str, Any]) -> dict[str, Any]:
    statement: dict[str, Any] = {
        "Sid": sid,
        "Effect": "Allow",
        "Principal": principal,
        "Action": ["kms:Decrypt", "kms:ReEncryptFrom"],
        "Resource": "*",
    }
    if condition:
        statement["Condition"] = condition
    return statement


ROOT = {
    "Sid": "Enable IAM User Permissions",
    "Effect": "Allow",
    "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:root"},
    "Action": "kms:*",
    "Resource": "*",
}
ADMIN = {
    "Sid": "KeyAdmins",
    "Effect": "Allow",
    "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:role/KeyAdmin"},
    "Action": ["kms:Describe*", "kms:Put*", "kms:Get*"],
    "Resource": "*",
}
STAR_IN_ACCOUNT = _decrypt(
    {"AWS": "*"},
    StringEquals={"kms:CallerAccount": ACCOUNT},
    StringLike={EC_ARN: f"arn:aws:cloudtrail:*:{ACCOUNT}:trail/*"},
)


def _trail(owner: str | None = None) -> Trail:
    return Trail(
        name="main",
        arn=TRAIL_ARN,
        home_region="us-east-1",
        account=ACCOUNT,
        multi_region=True,
        organization=False,
        bucket_name="logs",
        s3_prefix=None,
        kms_key_id=None,
        log_file_validation=False,
        bucket=BucketInfo(name="logs", region="us-east-1", owner_account=owner),
    )


def _key(*statements: dict[str, Any], arn: str = KEY_ARN) -> KeyInfo:
    policy = {"Version": "2012-10-17", "Statement": [*CLOUDTRAIL, *statements]}
    return KeyInfo(
        arn=arn,
        key_id=arn.rsplit("/", 1)[1],
        account=ACCOUNT,
        region="us-east-1",
        aliases=("alias/logs",),
        state="Enabled",
        key_spec="SYMMETRIC_DEFAULT",
        key_usage="ENCRYPT_DECRYPT",
        manager="CUSTOMER",
        policy=json.dumps(policy),
    )


def _report(key: KeyInfo, trail: Trail | None = None, readers: tuple[str, ...] = ()) -> Any:
    return preflight(
        trail=trail or _trail(),
        trail_input="main",
        key_input=key.arn,
        lookup=KeyLookup(ref=parse_key_id(key.arn), key=key),
        caller_account=ACCOUNT,
        reader_accounts=readers,
    )


def _readers_message(
    key: KeyInfo, trail: Trail | None = None, readers: tuple[str, ...] = ()
) -> str | None:
    """The policy-readers message, or None when there is no such finding."""
    report = _report(key, trail, readers)
    found = [f for f in report.findings if f.code == "policy-readers"]
    assert len(found) <= 1
    if found:
        assert found[0].severity is Severity.WARNING and not found[0].blocking
    return found[0].message if found else None


def _access(key: KeyInfo, account: str) -> Any:
    parsed = pol.parse_policy(key.policy or "")
    assert isinstance(parsed, pol.Policy)
    return account_readers(
        parsed, account=account, why="test", key_arn=key.arn, trail_arn=TRAIL_ARN
    )


# -- the finding, case by case ----------------------------------------------------------------

# id, key, reader accounts, bucket owner, texts the message has, texts it must not have
# (message None: no policy-readers finding at all)
FINDINGS: list[tuple[str, KeyInfo, tuple[str, ...], str | None, list[str] | None, list[str]]] = [
    (
        "secops-role-only",
        _key(ADMIN, _decrypt({"AWS": SECOPS})),
        (),
        None,
        [f"In account {ACCOUNT} (the trail's account) only {SECOPS} may kms:Decrypt"],
        ["no principal", "No principal", "Nobody", "nobody"],
    ),
    ("star-narrowed-to-the-account", _key(STAR_IN_ACCOUNT), (), None, None, []),
    (
        "star-narrowed-to-the-account-and-a-log-archive",
        _key(STAR_IN_ACCOUNT),
        (LOG_ARCHIVE,),
        None,
        [
            f"Nobody in account {LOG_ARCHIVE} (given as a reader account) may kms:Decrypt",
            f"Any principal of account {ACCOUNT} (the trail's account) may kms:Decrypt",
        ],
        [f"Nobody in account {ACCOUNT}"],
    ),
    ("account-root-only", _key(ROOT), (), None, None, []),
    (
        "account-root-and-a-log-archive",
        _key(ROOT),
        (LOG_ARCHIVE,),
        None,
        [
            f"Nobody in account {LOG_ARCHIVE}",
            f"In account {ACCOUNT} (the trail's account) principals may kms:Decrypt via IAM "
            f"policies of account {ACCOUNT}",
        ],
        [f"Nobody in account {ACCOUNT}"],
    ),
    (
        "no-reader-statement",
        _key(ADMIN),
        (),
        None,
        [f"Nobody in account {ACCOUNT} (the trail's account) may kms:Decrypt"],
        [],
    ),
    (
        "log-archive-not-covered",
        _key(ROOT, STAR_IN_ACCOUNT),
        (LOG_ARCHIVE,),
        None,
        [f"Nobody in account {LOG_ARCHIVE} (given as a reader account)"],
        [],
    ),
    (
        "log-archive-root-named",
        _key(ROOT, _decrypt({"AWS": f"arn:aws:iam::{LOG_ARCHIVE}:root"})),
        (LOG_ARCHIVE,),
        None,
        None,
        [],
    ),
    (
        "log-archive-by-bare-account-id",
        _key(ROOT, _decrypt({"AWS": LOG_ARCHIVE})),
        (LOG_ARCHIVE,),
        None,
        None,
        [],
    ),
    (
        "log-archive-by-principal-account",
        _key(ROOT, _decrypt({"AWS": "*"}, StringEquals={"aws:PrincipalAccount": LOG_ARCHIVE})),
        (LOG_ARCHIVE,),
        None,
        None,
        [],
    ),
    (
        "bucket-owner-not-covered",
        _key(ROOT),
        (),
        LOG_ARCHIVE,
        [f"Nobody in account {LOG_ARCHIVE} (the bucket owner's account)"],
        [],
    ),
    ("bucket-owner-is-the-trail-account", _key(ROOT), (), ACCOUNT, None, []),
    (
        "bucket-owner-given-again",
        _key(ROOT),
        (LOG_ARCHIVE,),
        LOG_ARCHIVE,
        [f"account {LOG_ARCHIVE} (the bucket owner's account)"],
        ["given as a reader account"],
    ),
    (
        "log-archive-role-named",
        _key(ROOT, _decrypt({"AWS": f"arn:aws:iam::{LOG_ARCHIVE}:role/Athena"})),
        (LOG_ARCHIVE,),
        None,
        [
            f"In account {LOG_ARCHIVE} (given as a reader account) only "
            f"arn:aws:iam::{LOG_ARCHIVE}:role/Athena may"
        ],
        ["Nobody"],
    ),
    (
        "many-roles-are-cut-short",
        _key(
            _decrypt({"AWS": [f"arn:aws:iam::{ACCOUNT}:role/R{i}" for i in range(1, 6)]}),
        ),
        (),
        None,
        [
            f"only arn:aws:iam::{ACCOUNT}:role/R1, arn:aws:iam::{ACCOUNT}:role/R2, "
            f"arn:aws:iam::{ACCOUNT}:role/R3 and 2 more may",
        ],
        ["role/R4", "role/R5"],
    ),
    (
        "a-role-and-a-user",
        _key(_decrypt({"AWS": [SECOPS, f"arn:aws:iam::{ACCOUNT}:user/alice"]})),
        (),
        None,
        [f"only {SECOPS} and arn:aws:iam::{ACCOUNT}:user/alice may"],
        [],
    ),
    (
        "star-with-a-principal-arn",
        _key(_decrypt({"AWS": "*"}, ArnEquals={"aws:PrincipalArn": SECOPS})),
        (),
        None,
        [f"only {SECOPS} may"],
        ["Nobody"],
    ),
    (
        "star-with-a-principal-arn-pattern",
        _key(
            _decrypt(
                {"AWS": "*"},
                StringLike={"aws:PrincipalArn": f"arn:aws:iam::{ACCOUNT}:role/LogReader*"},
            )
        ),
        (),
        None,
        [f"only principals matching arn:aws:iam::{ACCOUNT}:role/LogReader* may"],
        ["Nobody"],
    ),
    (
        "role-whose-condition-fails",
        _key(
            _decrypt(
                {"AWS": SECOPS}, StringEquals={"kms:ViaService": "ec2.us-east-1.amazonaws.com"}
            )
        ),
        (),
        None,
        [f"Nobody in account {ACCOUNT}"],
        [SECOPS],
    ),
    (
        "role-only-via-s3",
        _key(
            _decrypt({"AWS": SECOPS}, StringEquals={"kms:ViaService": "s3.us-east-1.amazonaws.com"})
        ),
        (),
        None,
        [f"only {SECOPS} may"],
        [],
    ),
    (
        "role-with-the-guide-null-condition",
        _key(_decrypt({"AWS": SECOPS}, Null={EC_ARN: "false"})),
        (),
        None,
        [f"only {SECOPS} may"],
        [],
    ),
    (
        "role-explicitly-denied",
        _key(
            _decrypt({"AWS": SECOPS}),
            {
                "Sid": "NoDecrypt",
                "Effect": "Deny",
                "Principal": {"AWS": "*"},
                "Action": "kms:Decrypt",
                "Resource": "*",
            },
        ),
        (),
        None,
        [
            f"Nobody in account {ACCOUNT} (the trail's account) may kms:Decrypt with this key "
            '(statement "NoDecrypt" explicitly denies it)'
        ],
        [SECOPS],
    ),
    (
        "organization-condition-cannot-be-told",
        _key(_decrypt("*", sid="Org", StringEquals={"aws:PrincipalOrgID": "o-abc123"})),
        (),
        None,
        [
            f"Whether anyone in account {ACCOUNT} (the trail's account) may kms:Decrypt with this "
            "key cannot be told",
            "aws:PrincipalOrgID",
        ],
        ["Nobody", "nobody in"],
    ),
    (
        "unimplemented-operator-cannot-be-told",
        _key(_decrypt({"AWS": SECOPS}, DateLessThan={"aws:CurrentTime": "2030-01-01T00:00:00Z"})),
        (),
        None,
        ["cannot be told", "DateLessThan"],
        ["Nobody"],
    ),
    (
        "other-accounts-roles-do-not-count",
        _key(_decrypt({"AWS": f"arn:aws:iam::{OTHER}:role/SecOps"})),
        (),
        None,
        [f"Nobody in account {ACCOUNT}"],
        [OTHER],
    ),
    (
        "the-representative-role-named-is-not-everyone",
        _key(_decrypt({"AWS": f"arn:aws:iam::{ACCOUNT}:role/trailkit-log-reader"})),
        (),
        None,
        [f"only arn:aws:iam::{ACCOUNT}:role/trailkit-log-reader may"],
        ["Any principal"],
    ),
]


@pytest.mark.parametrize(
    ("key", "readers", "owner", "has", "has_not"),
    [case[1:] for case in FINDINGS],
    ids=[case[0] for case in FINDINGS],
)
def test_policy_readers_names_who_may_decrypt(
    key: KeyInfo,
    readers: tuple[str, ...],
    owner: str | None,
    has: list[str] | None,
    has_not: list[str],
) -> None:
    message = _readers_message(key, _trail(owner), readers)
    if has is None:
        assert message is None
        return
    assert message is not None
    for text in has:
        assert text in message
    for text in has_not:
        assert text not in message


# -- per account ------------------------------------------------------------------------------

# id, key, account, access, principals
ACCESS: list[tuple[str, KeyInfo, str, Access, tuple[str, ...]]] = [
    ("secops", _key(_decrypt({"AWS": SECOPS})), ACCOUNT, Access.NAMED, (SECOPS,)),
    ("star-own-account", _key(STAR_IN_ACCOUNT), ACCOUNT, Access.ANY, ()),
    ("star-other-account", _key(STAR_IN_ACCOUNT), LOG_ARCHIVE, Access.NOBODY, ()),
    ("root", _key(ROOT), ACCOUNT, Access.IAM, ()),
    ("root-other-account", _key(ROOT), LOG_ARCHIVE, Access.NOBODY, ()),
    ("root-and-role", _key(ROOT, _decrypt({"AWS": SECOPS})), ACCOUNT, Access.IAM, (SECOPS,)),
    ("root-and-star", _key(ROOT, STAR_IN_ACCOUNT), ACCOUNT, Access.ANY, ()),
    ("nothing", _key(), ACCOUNT, Access.NOBODY, ()),
    ("admin-only", _key(ADMIN), ACCOUNT, Access.NOBODY, ()),
]


@pytest.mark.parametrize(
    ("key", "account", "access", "principals"),
    [case[1:] for case in ACCESS],
    ids=[case[0] for case in ACCESS],
)
def test_account_readers_classifies_each_account(
    key: KeyInfo, account: str, access: Access, principals: tuple[str, ...]
) -> None:
    found = _access(key, account)
    assert found.access is access
    assert found.principals == principals
    assert found.covered == (access in (Access.ANY, Access.IAM))


def test_iam_delegation_is_said_distinctly_never_as_nobody() -> None:
    text = _access(_key(ROOT, _decrypt({"AWS": SECOPS})), ACCOUNT).describe()
    assert f"via IAM policies of account {ACCOUNT}" in text
    assert f"the key policy itself also names {SECOPS}" in text
    assert "Nobody" not in text and "nobody" not in text


def test_the_finding_lists_problem_accounts_first_and_details_every_account() -> None:
    report = _report(_key(STAR_IN_ACCOUNT), readers=(LOG_ARCHIVE, OTHER))
    (finding,) = [f for f in report.findings if f.code == "policy-readers"]
    assert finding.message.index(LOG_ARCHIVE) < finding.message.index(OTHER)
    assert finding.message.index(OTHER) < finding.message.index(f"account {ACCOUNT}")
    assert finding.detail == (
        f"account {ACCOUNT} (the trail's account): any principal",
        f"account {LOG_ARCHIVE} (given as a reader account): nobody",
        f"account {OTHER} (given as a reader account): nobody",
    )
    # The fix is the command that lets exactly those accounts decrypt.
    assert f"--readers {LOG_ARCHIVE} --readers {OTHER}" in finding.remedy
    assert "trailkit policy --trail main --key " + KEY_ARN in finding.remedy
    assert report.ready  # a warning: the change itself would work


def test_named_only_keeps_the_catalogue_fix() -> None:
    report = _report(_key(_decrypt({"AWS": SECOPS})))
    (finding,) = [f for f in report.findings if f.code == "policy-readers"]
    assert finding.remedy == CATALOGUE["policy-readers"].remedy


def test_no_readers_finding_for_an_unreadable_policy_or_a_disable() -> None:
    key = replace(_key(), policy=None, policy_error="AccessDenied")
    assert not [f for f in _report(key).findings if f.code == "policy-readers"]
    disable = preflight(
        trail=_trail(),
        trail_input="main",
        key_input="",
        lookup=KeyLookup(ref=parse_key_id("")),
        caller_account=ACCOUNT,
        reader_accounts=(LOG_ARCHIVE,),
    )
    assert not [f for f in disable.findings if f.code == "policy-readers"]


def test_ranking_passes_the_reader_accounts_and_shows_the_warning() -> None:
    key = _key(ROOT, STAR_IN_ACCOUNT)
    (plain,) = rank_candidates(_trail(), [key], ACCOUNT)
    (with_archive,) = rank_candidates(_trail(), [key], ACCOUNT, reader_accounts=(LOG_ARCHIVE,))
    assert plain.warnings == () and with_archive.warnings == ("policy-readers",)
    assert with_archive.kind.value == "ready"
    assert with_archive.as_dict()["warnings"] == ["policy-readers"]


def test_reader_accounts_order_and_reasons() -> None:
    assert reader_accounts(_trail(LOG_ARCHIVE), (OTHER, ACCOUNT, OTHER)) == (
        (ACCOUNT, "the trail's account"),
        (LOG_ARCHIVE, "the bucket owner's account"),
        (OTHER, "given as a reader account"),
    )
    assert reader_accounts(_trail(None)) == ((ACCOUNT, "the trail's account"),)


@pytest.mark.parametrize(
    ("items", "text"),
    [
        ([], ""),
        (["a"], "a"),
        (["a", "b"], "a and b"),
        (["a", "b", "c"], "a, b and c"),
        (["a", "b", "c", "d"], "a, b, c and 1 more"),
        (["a", "b", "c", "d", "e"], "a, b, c and 2 more"),
    ],
)
def test_short_list(items: list[str], text: str) -> None:
    assert short_list(items) == text


# -- reader accounts as the operator gives them -----------------------------------------------

ACCEPTED_ACCOUNTS: list[tuple[object, tuple[str, ...]]] = [
    (None, ()),
    ("", ()),
    (LOG_ARCHIVE, (LOG_ARCHIVE,)),
    (f" {LOG_ARCHIVE} , {OTHER},", (LOG_ARCHIVE, OTHER)),
    ([LOG_ARCHIVE, OTHER, LOG_ARCHIVE], (LOG_ARCHIVE, OTHER)),
    ((LOG_ARCHIVE,), (LOG_ARCHIVE,)),
    (int(LOG_ARCHIVE), (LOG_ARCHIVE,)),  # papermill's -p reads 12 digits as a number
    ("012345678901", ("012345678901",)),
]


@pytest.mark.parametrize(("value", "expected"), ACCEPTED_ACCOUNTS)
def test_parse_accounts_accepts(value: object, expected: tuple[str, ...]) -> None:
    assert parse_accounts(value, "reader_accounts") == expected


REFUSED_ACCOUNTS: list[tuple[object, str]] = [
    ("12", "'12' is not one: it has 2 digits"),
    ("4444-5555-6666", "it contains '-'"),
    ("4444555566667", "it has 13 digits"),
    ("444455556666,12", "'12' is not one"),
    ([LOG_ARCHIVE, None], "None is not a text"),
    ([" "], "it is empty"),
    (12345678901, "quoted"),  # 012345678901 as a number lost its 0
    (True, "not bool"),
    ({"a": LOG_ARCHIVE}, "not dict"),
    (b"444455556666", "not bytes"),
    (4.5, "not float"),
    ("000000000000", "000000000000 is not one: no AWS account has that id"),
    ([LOG_ARCHIVE, " 000000000000 "], "no AWS account has that id"),
    (f"arn:aws:iam::{LOG_ARCHIVE}:role/Auditor", f"from the ARN: reader_accounts {LOG_ARCHIVE}"),
    ("arn:aws:iam::root", "is an ARN. Fix: give reader_accounts as a 12-digit"),
]


@pytest.mark.parametrize(("value", "problem"), REFUSED_ACCOUNTS)
def test_parse_accounts_refuses_naming_the_parameter(value: object, problem: str) -> None:
    with pytest.raises(InputError) as caught:
        parse_accounts(value, "reader_accounts")
    assert caught.value.message.startswith("reader_accounts must")
    assert problem in str(caught.value)


def test_parse_account_names_the_option() -> None:
    with pytest.raises(InputError) as caught:
        parse_account("12", "--reader-account")
    assert caught.value.message == (
        "--reader-account must be a 12-digit AWS account id; '12' is not one: it has 2 digits."
    )
    assert "444455556666" in caught.value.fix
