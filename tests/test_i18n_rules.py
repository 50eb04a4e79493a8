"""The rules layer in Japanese (issue 14): every finding's message and remedy of a check of the
demo's organization trail against every demo key, the policy evaluator's explanations, key id
errors; and the cached rules answer in the language spoken at each call."""

from __future__ import annotations

import io
import json
import unicodedata
from collections.abc import Iterator
from typing import Any

import pytest
from english import assert_japanese

from trailkit import i18n
from trailkit.arn import show
from trailkit.ui.cli import main

ORG_KEYS = [
    "alias/cloudtrail-good",
    "alias/encrypt-no-describe",
    "alias/multi-region-good",
    "alias/no-readers",
    "alias/cloudtrail-disabled",
    "alias/explicit-deny",
    "alias/no-cloudtrail",
    "alias/other-account-context",
    "alias/pending-deletion",
    "alias/rsa-signing",
    "alias/no-such-key-anywhere",
]


@pytest.fixture(autouse=True)
def _english_afterwards() -> Iterator[None]:
    yield
    i18n.set_language("en")


def _names(estate: Any) -> list[str]:
    """What stays as it is in a Japanese message: trails, buckets, keys, accounts, regions."""
    names = [*estate.trails, *estate.trails.values(), *estate.trail_buckets.values()]
    names += [*estate.keys, *estate.keys.values(), *estate.replica_keys.values()]
    names += [*estate.buckets, *estate.accounts, *estate.regions]
    return names


def _check(endpoint: str, key: str, lang: str) -> dict[str, Any]:
    out, err = io.StringIO(), io.StringIO()
    argv = ["--endpoint-url", endpoint, "--lang", lang, "check", "--trail", "org-trail"]
    main([*argv, "--key", key, "--format", "json"], out=out, err=err)
    assert out.getvalue(), err.getvalue()
    return dict(json.loads(out.getvalue()))


@pytest.mark.parametrize("key", ORG_KEYS)
def test_check_org_trail_findings_are_japanese(demo: Any, key: str) -> None:
    endpoint, estate = demo
    report = _check(endpoint, key, "ja")
    assert report["findings"], report
    for finding in report["findings"]:
        for field in ("message", "remedy"):
            assert_japanese(
                finding[field] or "", _names(estate), what=f"{finding['code']} {field} ({key})"
            )


def test_cached_rules_speak_the_language_of_each_call(demo: Any) -> None:
    """The readers rule is cached (functools.lru_cache): the same check in en, ja, en gives
    English, Japanese, English."""
    endpoint, estate = demo
    first = _check(endpoint, "alias/no-readers", "en")
    japanese = _check(endpoint, "alias/no-readers", "ja")
    again = _check(endpoint, "alias/no-readers", "en")
    readers = [f for f in first["findings"] if f["code"] == "policy-readers"]
    assert readers and readers[0]["message"].startswith("Nobody in account")
    assert first == again
    for finding in japanese["findings"]:
        assert_japanese(finding["message"], _names(estate), what=finding["code"])


from trailkit.rules import checks  # noqa: E402
from trailkit.rules import policy as pol  # noqa: E402

_CT = pol.Principal(kind="Service", value="cloudtrail.amazonaws.com")
_PUT = pol.Request(
    principal=_CT,
    action="s3:PutObject",
    resource="arn:aws:s3:::b/AWSLogs/111122223333/x",
    context={"s3:x-amz-server-side-encryption": "AES256"},
)
_DENY = json.dumps(
    {
        "Statement": [
            {
                "Sid": "DenyAES",
                "Effect": "Deny",
                "Principal": "*",
                "Action": "s3:PutObject",
                "Resource": "*",
                "Condition": {"StringEquals": {"s3:x-amz-server-side-encryption": "AES256"}},
            }
        ]
    }
)


def test_cached_bucket_policy_evaluation_and_parse_follow_the_language() -> None:
    bad = '{"Statement": [{"Effect": "Maybe", "Action": "*", "Resource": "*"}]}'
    answers = []
    for lang in ("en", "ja", "en"):
        with i18n.speaking(lang):
            parsed = pol.parse_policy(bad)
            assert isinstance(parsed, pol.Policy)
            answers.append(
                (checks._evaluate_bucket_policy(_DENY, _PUT).reason, parsed.statements[0].problems)
            )
    assert answers[0] == answers[2]
    assert answers[0][0].startswith('Statement "DenyAES" explicitly denies s3:PutObject')
    assert 'has Effect "Maybe"' in " ".join(answers[0][1])
    assert_japanese(answers[1][0], ["DenyAES", "cloudtrail.amazonaws.com"], what="evaluation")
    for problem in answers[1][1]:
        assert_japanese(problem, ['"Maybe"'], what="parse problem")


_ALLOW_WITH_CONDITION = {
    "Statement": [
        {
            "Sid": "AllowCloudTrail",
            "Effect": "Allow",
            "Principal": {"Service": "cloudtrail.amazonaws.com"},
            "Action": "kms:GenerateDataKey*",
            "Resource": "*",
            "Condition": {
                "StringLike": {
                    "kms:EncryptionContext:aws:cloudtrail:arn": (
                        "arn:aws:cloudtrail:*:999988887777:trail/*"
                    )
                },
                "StringNotEquals": {"aws:SourceAccount": ["111122223333", "222233334444"]},
                "Null": {"aws:PrincipalTag/team": "true"},
            },
        }
    ]
}

# policy documents, each evaluated in Japanese: every reason and explanation is Japanese
POLICIES = [
    _ALLOW_WITH_CONDITION,
    {"Statement": [{"Effect": "Deny", "Principal": "*", "Action": "*", "Resource": "*"}]},
    {"Statement": [{"Effect": "Allow", "Principal": "*", "Action": "*", "Resource": "*"}]},
    {
        "Statement": [
            {"Effect": "Allow", "Principal": "*", "Action": "*", "Resource": "*"},
            {
                "Effect": "Deny",
                "Principal": "*",
                "Action": "*",
                "Resource": "*",
                "Condition": {"IpAddress": {"aws:SourceIp": "10.0.0.0/8"}},
            },
        ]
    },
    {
        "Statement": [
            {"Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::*:root"}, "Action": "*"}
        ]
    },
    {"Statement": [{"Effect": "Allow", "Principal": "*", "NotAction": "${aws:x}", "Resource": 5}]},
    # (not JSON: the decoder's own words, "Expecting value", stay as Python says them)
    "[]",
    "",
    {"Version": "1999", "Statement": []},
    {"Statement": [{"Sid": 3, "Effect": 1, "Action": [], "Resource": [1], "Bogus": 1}]},
    {
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"Odd": "x"},
                "Action": "*",
                "Resource": "*",
                "Condition": {
                    "Bool": {"aws:x": "maybe"},
                    "Nope": {"aws:team": "v"},
                    "StringEquals": {"aws:team": {"a": 1}},
                },
            }
        ]
    },
]


@pytest.mark.parametrize("document", POLICIES)
def test_policy_explanations_are_japanese(document: Any) -> None:
    request = pol.Request(
        principal=_CT,
        action="kms:GenerateDataKey",
        resource="arn:aws:kms:us-east-1:111122223333:key/k",
        context={
            "kms:EncryptionContext:aws:cloudtrail:arn": (
                "arn:aws:cloudtrail:us-east-1:111122223333:trail/t"
            ),
            "aws:SourceAccount": "111122223333",
        },
    )
    with i18n.speaking("ja"):
        ev = pol.evaluate(document, request)
        texts = [ev.reason, *ev.unverifiable, *(m.describe() for m in ev.near_misses)]
        parsed = pol.parse_policy(document if isinstance(document, str) else json.dumps(document))
        if isinstance(parsed, pol.Policy):
            texts += [*parsed.notes, *(p for s in parsed.statements for p in s.problems)]
            texts += [s.ref.label() for s in parsed.statements]
        else:
            texts.append(parsed)
    # names, and a condition operator and JSON values that the policy itself spells
    names = ["AllowCloudTrail", "cloudtrail.amazonaws.com", '"Odd"', '"Bogus"', '"Nope"']
    names += ['"maybe"', "Bool", "true", "false"]
    for text in texts:
        assert_japanese(text, names, what="policy explanation")


def test_rank_reason_and_label_in_japanese(demo: Any) -> None:
    endpoint, estate = demo
    out, err = io.StringIO(), io.StringIO()
    argv = ["--endpoint-url", endpoint, "--lang", "ja", "keys", "--trail", "org-trail"]
    main([*argv, "--format", "json"], out=out, err=err)
    verdicts = json.loads(out.getvalue())
    rows = verdicts if isinstance(verdicts, list) else verdicts.get("keys") or verdicts["verdicts"]
    assert rows
    for row in rows:
        assert_japanese(row["reason"], _names(estate), what=f"keys reason {row['alias']}")


# Texts the operator types that are not what they should be: each error in Japanese.
BAD_KEYS = [
    "mrk-12",
    "mrk-zz34abcd12ab34cd56ef1234567890ab",
    "1234abcd12ab34cd56ef1234567890ab",
    "1234abcd-12ab-34cd-56ef-1234567890",
    "1234abcd-12ab-34cd-56ef-1234567890ag",
    "1234abcd-12ab-34cd-56ef1-234567890ab",
    "Alias/x",
    "alias:x",
    "alias/",
    "alias/" + "a" * 300,
    "alias/bad key!",
    "alias/bad$%^&*()",
    '{"KeyId": "x"}',
    '"alias/x"',
    "<your-key>",
    "arn:aws:cloudtrail:us-east-1:111122223333:trail/t",
    "arn:aws:s3:::bucket",
    "arn:aws:kms::111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab",
    "arn:aws:kms:us-east-1:aws:key/1234abcd-12ab-34cd-56ef-1234567890ab",
    "arn:aws:kms:us-east-1:111122223333:1234abcd-12ab-34cd-56ef-1234567890ab",
    "arn:aws:kms:us-east-1:111122223333:thing",
    "arn:aws:kms:us-east-1:111122223333:alias/",
    "arn:aws:kms:us-east-1:111122223333:Key/x",
    "arn:aws:kms:us-east-1:111122223333:key/",
    "arn:aws:kms:us-east-1:111122223333:key/alias/x",
    "arn:aws:kms:us-east-1:111122223333:key/mykey",
    "arn:aws:kms:us-east-1:111122223333:key/1234",
    "arn:aws:kms:us-east-1:1111:key/1234abcd-12ab-34cd-56ef-1234567890ab",
    "arn:aws:kms:us-east-1:11112222333x:key/1234abcd-12ab-34cd-56ef-1234567890ab",
    "arn:AWS:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab",
    "arn:aws:kms:US-EAST-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab",
    "arn:aws:kms:cn-north-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab",
    "ARN:aws:kms",
    "arn:aws:kms",
    "key/1234abcd-12ab-34cd-56ef-1234567890ab",
    "mykey",
    "my key",
    "alias/x\u2013y",
    "alias/x\x07",
    "a" * 3000,
]


@pytest.mark.parametrize("text", BAD_KEYS)
def test_key_id_errors_are_japanese(text: str) -> None:
    from trailkit.errors import KeyIdError
    from trailkit.rules.keyids import parse_key_id

    with i18n.speaking("ja"), pytest.raises(KeyIdError) as caught:
        parse_key_id(text)
    # What stays as written: the text echoed (cut), the Unicode names of its characters, the
    # literal syntax the messages quote ('key/', 'alias:' ...) and the API's field names.
    names = [show(text), show(text, 60), show(text, 40), show(text, 30), show(text[4:], 50)]
    names += [show(p, 30) for p in text.split(":")] + [show(text[:6].strip(), 30)]
    names += [unicodedata.name(c, "") for c in text] + [repr(text[:6]), repr(text[:4])]
    names += ["'key/...'", "'key/'", "key/KEY-ID", "'key'", "'alias'", "'alias:'", "'alias/'"]
    names += ["KmsKeyId", "KeyId", "KeyArn", "ExampleAlias", "MyKey", "ASCII", "s3", "'Key'"]
    names += [repr(c) for c in text] + [f"U+{ord(c):04X}" for c in text] + ["'mykey'"]
    assert_japanese(caught.value.message, names, what=f"key id error for {text!r}")
    assert_japanese(caught.value.fix, names, what=f"key id fix for {text!r}")


def test_key_id_error_english_unchanged() -> None:
    from trailkit.errors import KeyIdError
    from trailkit.rules.keyids import parse_key_id

    with pytest.raises(KeyIdError) as caught:
        parse_key_id("1234abcd12ab34cd56ef1234567890ab")
    assert caught.value.message == (
        "'1234abcd12ab34cd56ef1234567890ab' is not a usable KMS key identifier: this is a key id "
        "without its dashes (a key id is grouped 8-4-4-4-12)."
    )
    assert caught.value.fix.startswith(
        "write it as 1234abcd-12ab-34cd-56ef-1234567890ab. Accepted forms are"
    )


BAD_PRINCIPALS = [
    "",
    "a b",
    "arn:aws:iam::*:root",
    "arn:aws:iam::111122223333:role/*",
    "1234",
    "someone",
    "arn:aws:sts::111122223333:assumed-role/R/s",
    "arn:aws:s3:::b",
    "arn:aws:iam:us-east-1:111122223333:role/R",
    "arn:aws:iam:::role/R",
    "arn:aws:iam::111122223333:group/G",
    "arn:aws:iam::111122223333:thing/G",
    "arn:aws:iam::111122223333:role/",
    "arn:aws:iam::111122223333:role/bad!name",
]


@pytest.mark.parametrize("text", BAD_PRINCIPALS)
def test_principal_errors_are_japanese(text: str) -> None:
    from trailkit.errors import InputError
    from trailkit.rules.principals import parse_principal

    with i18n.speaking("ja"), pytest.raises(InputError) as caught:
        parse_principal(text)
    with i18n.speaking("ja"):
        said = str(caught.value)
    # (role, user, group: IAM resource types, as written in ARNs)
    names = [repr(text), "role", "user", "group", "'thing'", "'bad!name'", "s3", "sts", "root"]
    assert_japanese(said, names, what=f"principal error for {text!r}")


@pytest.mark.parametrize(
    ("call", "value"),
    [
        ("flag", "maybe"),
        ("text", 3),
        ("names", 3),
        ("names", [""]),
        ("mapping", 3),
        ("mapping", {"a": 1}),
        ("account", "12"),
        ("account", 12),
        ("account", "000000000000"),
        ("account", "arn:aws:iam::111122223333:root"),
        ("account", "12345678901x"),
        ("account", 1.5),
        ("accounts", {"a": 1}),
    ],
)
def test_parameter_errors_are_japanese(call: str, value: Any) -> None:
    from trailkit.errors import InputError
    from trailkit.rules import flags, principals

    parse = {
        "flag": flags.parse_flag,
        "text": flags.parse_text,
        "names": flags.parse_names,
        "mapping": flags.parse_mapping,
        "account": principals.parse_account,
        "accounts": principals.parse_accounts,
    }[call]
    with i18n.speaking("ja"), pytest.raises(InputError) as caught:
        parse(value, "reader_accounts")
    with i18n.speaking("ja"):
        said = str(caught.value)
    names = ["reader_accounts", repr(value), "None", "True", "False", "dict", "float"]
    names += ["true/false", '["a", "b"]', "'a'", "'x'", "U+0078", unicodedata.name("x")]
    assert_japanese(said, names, what=f"{call} error for {value!r}")


def test_not_found_keeps_aws_words_in_english_only() -> None:
    """A NotFound error carries AWS's own English words in English only; the journal's
    English text (``english()``) keeps them whatever the operator reads."""
    from botocore.exceptions import ClientError

    from trailkit.errors import translate

    exc = ClientError(
        {"Error": {"Code": "NotFoundException", "Message": "Alias alias/x is not found."}},
        "DescribeKey",
    )
    with i18n.speaking("ja"):
        err = translate(exc, "DescribeKey", region="us-east-1")
        assert_japanese(str(err), what="NotFound")
        assert err.english() == (
            "DescribeKey in us-east-1 found nothing (NotFoundException). Alias alias/x is not "
            "found."
        )
    assert str(translate(exc, "DescribeKey", region="us-east-1")) == err.english()


def test_plan_drift_is_japanese(demo: Any) -> None:
    """What changed between a plan and a fresh pre-flight, said in Japanese."""
    import dataclasses

    from trailkit.aws.reader import Reader
    from trailkit.aws.session import Connection
    from trailkit.rules.plan import plan_drift
    from trailkit.runbook import check

    endpoint, estate = demo
    conn = Connection(endpoint_url=endpoint, region="us-east-1", workers=4)
    with i18n.speaking("ja"):
        reader = Reader(conn)
        ready = check(reader, "org-trail", "alias/cloudtrail-good")
        assert ready.key is not None and ready.trail is not None
        blocked = dataclasses.replace(
            check(reader, "org-trail", "alias/cloudtrail-disabled"),
            trail=dataclasses.replace(ready.trail, log_file_validation=False, bucket_name="other"),
        )
        drift = plan_drift(ready, blocked)
    assert drift
    for line in drift:
        assert_japanese(line, [*_names(estate), "other"], what="plan drift")


def test_one_runbook_speaks_the_language_of_each_call(demo: Any, tmp_path: Any) -> None:
    """A notebook that changes its language keeps its runbook (one reader): what could not be
    read was cached as text in the first language (a bucket of another account: "HeadBucket:
    403 (the bucket belongs to another account ...)" inside a Japanese finding)."""
    from trailkit.aws.session import Connection
    from trailkit.change.journal import Journal
    from trailkit.runbook import Runbook

    endpoint, estate = demo
    book = Runbook(Connection(endpoint_url=endpoint, region="us-east-1"), Journal(tmp_path / "j"))
    said = {}
    for lang in ("en", "ja", "en"):
        i18n.set_language(lang)
        report = book.check("partner-bucket-trail", "alias/cloudtrail-good")
        said.setdefault(lang, []).append([(f.message, f.remedy) for f in report.findings])
    assert said["en"][0] == said["en"][1]
    assert "the bucket belongs to another account" in said["en"][0][0][0]
    for message, remedy in said["ja"][0]:
        assert_japanese(f"{message}\n{remedy or ''}", _names(estate), what="finding")


@pytest.mark.parametrize("value", ["12", 12, "000000000000", "arn:aws:iam::111122223333:root"])
def test_an_account_id_error_in_japanese_spaces_the_digits(value: Any) -> None:
    """ "--reader-account は12 桁の ..." had no blank between the particle and the digits (the
    catalogue puts one between Japanese and a number or a Latin word everywhere else)."""
    from trailkit.errors import InputError
    from trailkit.rules.principals import parse_account

    with i18n.speaking("ja"), pytest.raises(InputError) as caught:
        parse_account(value, "--reader-account")
    with i18n.speaking("ja"):
        said = str(caught.value)
    assert said.startswith("--reader-account は 12 桁の AWS アカウント ID"), said
