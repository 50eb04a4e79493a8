"""The rules layer in Japanese (issue 14): every finding's message and remedy of a check of the
demo's organization trail against every demo key, the policy evaluator's explanations, key id
errors; and the cached rules answer in the language spoken at each call."""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from typing import Any

import pytest
from english import assert_japanese

from trailkit import i18n
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
