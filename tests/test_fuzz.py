"""Hostile and sloppy input: key identifiers, trail names and ARNs, key policies, journal lines
and command lines. Never a traceback; always a specific finding or a specific error."""

from __future__ import annotations

import io
import json
import string
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from trailkit.aws.reader import Reader
from trailkit.aws.session import Connection
from trailkit.change.journal import Journal, Kind, Phase
from trailkit.errors import InputError, KeyIdError
from trailkit.records import BucketInfo, KeyInfo, Trail
from trailkit.rules.checks import CATALOGUE, check_policy
from trailkit.rules.keyids import parse_key_id
from trailkit.runbook import check
from trailkit.ui.cli import main

FIXTURES = [HealthCheck.function_scoped_fixture, HealthCheck.too_slow]
ACCOUNT = "123456789012"
TRAIL_ARN = f"arn:aws:cloudtrail:us-east-1:{ACCOUNT}:trail/org-trail"
KEY_ARN = f"arn:aws:kms:us-east-1:{ACCOUNT}:key/1234abcd-12ab-34cd-56ef-1234567890ab"


def _cli(*argv: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = main(list(argv), out=out, err=err)
    return code, out.getvalue(), err.getvalue()


# -- key identifiers through `trailkit check` ------------------------------------------------------

_HEX = "0123456789abcdef"
_uuidish = st.lists(st.sampled_from(_HEX + "-ABCDEFxyz_"), min_size=30, max_size=40).map("".join)
_regionish = st.sampled_from(
    ["us-east-1", "eu-west-1", "us-west-2", "US-EAST-1", "", "us-east", "mars-1", "cn-north-1"]
)
_accountish = st.sampled_from([ACCOUNT, "210987654321", "123", "12345678901a", "", "*"])
KEY_IDS = st.one_of(
    st.text(max_size=200),
    st.text(alphabet=string.printable, max_size=120),
    st.binary(max_size=80).map(lambda b: b.decode("latin-1")),
    st.builds(lambda s: "alias/" + s, st.text(max_size=60)),
    st.builds(lambda s: "alias/aws/" + s, st.text(alphabet=string.ascii_lowercase, max_size=20)),
    _uuidish,
    st.builds(lambda s: "mrk-" + s, st.text(alphabet=_HEX, min_size=0, max_size=40)),
    st.builds(
        lambda p, r, a, kind, rest: f"arn:{p}:kms:{r}:{a}:{kind}/{rest}",
        st.sampled_from(["aws", "aws-cn", "aws-us-gov", "awz", ""]),
        _regionish,
        _accountish,
        st.sampled_from(["key", "alias", "keys", "", "key/"]),
        st.one_of(_uuidish, st.text(max_size=30)),
    ),
)


@settings(max_examples=25, deadline=None, suppress_health_check=FIXTURES)
@given(key=KEY_IDS)
@example(key="alias/does-not-exist")
@example(key="arn:aws:kms:us-east-1:123456789012:key/00000000-0000-0000-0000-000000000000")
@example(key="alias/aws/cloudtrail")
@example(key="\x00")
@example(key="alias/cloudtrail-good\x00")
@example(key="key/1234")
@example(key="-:")
@example(key="a" * 5000)
def test_any_key_identifier_is_a_finding_never_a_traceback(demo: Any, key: str) -> None:
    try:
        if parse_key_id(key).is_disable:
            return  # "" (or blank) means "turn SSE-KMS off": not a key identifier
        malformed = False
    except KeyIdError:
        malformed = True
    trail = demo[1].trails["app-trail"]  # by ARN: one GetTrail, no search of every region
    # --key=VALUE: a value that starts with "-" would otherwise be read as an option (argparse).
    code, out, err = _cli(
        "--endpoint-url", demo[0], "check", "--trail", trail, f"--key={key}", "--format", "json"
    )
    assert "Traceback" not in err
    assert code == 1, (key, err)
    report = json.loads(out)
    errors = [f["code"] for f in report["findings"] if f["severity"] == "error"]
    assert errors and all(c in CATALOGUE for c in errors), report
    assert report["verdict"] == "blocked"
    if malformed:
        assert "key-id-format" in errors


# -- trail names and ARNs ------------------------------------------------------------------------

TRAILS = st.one_of(
    st.text(max_size=150),
    st.text(alphabet=string.ascii_letters + string.digits + "._-/:", min_size=1, max_size=140),
    st.builds(
        lambda r, a, rest: f"arn:aws:cloudtrail:{r}:{a}:trail/{rest}",
        st.one_of(_regionish, st.text(max_size=15)),
        _accountish,
        st.text(max_size=40),
    ),
    st.builds(lambda s: "arn:" + s, st.text(max_size=60)),
)


@pytest.fixture(scope="module")
def shared_reader(moto_endpoint: str) -> Reader:
    return Reader(Connection(endpoint_url=moto_endpoint, region="us-east-1", workers=8))


@settings(max_examples=50, deadline=None, suppress_health_check=FIXTURES)
@given(text=TRAILS)
@example(text="arn:aws:cloudtrail:US-EAST-1:123456789012:trail/x")
@example(text="arn:aws:cloudtrail:../../:123456789012:trail/x")
@example(text="arn:aws:cloudtrail:us-east-1.evil.example:123456789012:trail/x")
@example(text="arn:aws:cloudtrail:us-east-1:123456789012:trail/")
@example(text="arn:aws:s3:::bucket")
@example(text="org-trail\u200b")
@example(text="\x00")
def test_any_trail_text_is_an_input_error_or_not_found(
    demo: Any, shared_reader: Reader, text: str
) -> None:
    shared_reader.refresh()
    existing = {name: arn for name, arn in demo[1].trails.items()}
    if text.strip() in existing or text.strip() in existing.values():
        return
    try:
        report = check(shared_reader, text, "alias/cloudtrail-good")
    except InputError as err:
        assert err.message and "Fix" not in err.message  # one sentence, then the fix
        return
    codes = [f.code for f in report.errors]
    assert codes[:1] == ["trail-not-found"] or "trail-not-owned" in codes, (text, codes)


TRAIL_CASES = [
    # (text, exit code, phrase)
    ("", 2, "is not a trail name or ARN"),
    ("two words", 2, "is not a trail name or ARN"),
    ("x" * 3000, 2, "is not a trail name or ARN"),
    ("arn:aws:s3:::bucket", 2, "is not a trail ARN"),
    ("arn:aws:cloudtrail:US-EAST-1:123456789012:trail/x", 2, "is not an AWS region name"),
    ("arn:aws:cloudtrail:a/b:123456789012:trail/x", 2, "is not an AWS region name"),
    ("arn:aws:cloudtrail:us-east-1:210987654321:trail/nope", 1, "trail-not-found"),
    ("arn:aws:cloudtrail:eu-west-1:123456789012:trail/\x00", 1, "trail-not-found"),
]


@pytest.mark.parametrize("text, code, phrase", TRAIL_CASES)
def test_cli_trail_text(demo: Any, text: str, code: int, phrase: str) -> None:
    got, out, err = _cli(
        "--endpoint-url", demo[0], "check", "--trail", text, "--key", "alias/cloudtrail-good"
    )
    assert got == code, err
    assert phrase in out + err
    assert "Traceback" not in err
    if code == 2:
        assert err.count("\n") == 1


# -- key policies ------------------------------------------------------------------------------

_TRAIL = Trail(
    name="org-trail",
    arn=TRAIL_ARN,
    home_region="us-east-1",
    account=ACCOUNT,
    multi_region=True,
    organization=False,
    bucket_name="tk-logs",
    s3_prefix=None,
    kms_key_id=None,
    log_file_validation=True,
    bucket=BucketInfo(name="tk-logs", region="us-east-1", bucket_key=True),
)


def _key(policy: str | None) -> KeyInfo:
    return KeyInfo(
        arn=KEY_ARN,
        key_id=KEY_ARN.rsplit("/", 1)[1],
        account=ACCOUNT,
        region="us-east-1",
        state="Enabled",
        key_spec="SYMMETRIC_DEFAULT",
        key_usage="ENCRYPT_DECRYPT",
        manager="CUSTOMER",
        policy=policy,
    )


_scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(allow_nan=False),
    st.text(max_size=30),
    st.sampled_from(
        [
            "*",
            "Allow",
            "Deny",
            "kms:*",
            "kms:GenerateDataKey*",
            "kms:Decrypt",
            "cloudtrail.amazonaws.com",
            f"arn:aws:iam::{ACCOUNT}:root",
            "StringLike",
            "ArnLike",
            "kms:EncryptionContext:aws:cloudtrail:arn",
            "aws:SourceArn",
            TRAIL_ARN,
        ]
    ),
)
_json = st.recursive(
    _scalars,
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner, max_size=4)
    ),
    max_leaves=25,
)
_field = st.one_of(_json, _scalars)
_statement = st.fixed_dictionaries(
    {},
    optional={
        "Sid": _field,
        "Effect": _field,
        "Principal": st.one_of(
            _field,
            st.fixed_dictionaries({}, optional={"AWS": _field, "Service": _field}),
        ),
        "NotPrincipal": _field,
        "Action": _field,
        "NotAction": _field,
        "Resource": _field,
        "NotResource": _field,
        "Condition": st.one_of(
            _field,
            st.dictionaries(
                st.sampled_from(["StringEquals", "StringLike", "ArnLike", "Bool", "Null", "Foo"]),
                st.dictionaries(st.text(max_size=40), _field, max_size=3),
                max_size=3,
            ),
        ),
    },
)
_policies = st.fixed_dictionaries(
    {},
    optional={
        "Version": _field,
        "Id": _field,
        "Statement": st.one_of(
            _field, _statement, st.lists(st.one_of(_statement, _field), max_size=5)
        ),
    },
)
POLICY_TEXTS = st.one_of(
    st.text(max_size=300),
    _json.map(json.dumps),
    _policies.map(json.dumps),
    # malformed JSON: a valid policy cut short, or with a byte changed
    st.tuples(_policies.map(json.dumps), st.integers(0, 400)).map(lambda t: t[0][: t[1]]),
    st.tuples(_policies.map(json.dumps), st.integers(0, 400), st.characters()).map(
        lambda t: t[0][: t[1]] + t[2] + t[0][t[1] + 1 :]
    ),
)


def _assert_findings(findings: list[Any], text: str | None) -> None:
    assert isinstance(findings, list)
    for f in findings:
        assert f.code in CATALOGUE and f.message
    if not findings:  # only a document that really allows CloudTrail may pass every check
        assert text is not None and '"Allow"' in text and "Statement" in text


@settings(max_examples=300, deadline=None)
@given(text=POLICY_TEXTS)
@example(text="")
@example(text="null")
@example(text="[]")
@example(text='{"Statement": "not a list"}')
@example(text='{"Statement": [1, 2, 3]}')
@example(text='{"Statement": [{"Effect": "Allow", "Principal": 7, "Action": {}, "Resource": []}]}')
@example(text='{"Statement": [{"Effect": "Allow", "Condition": {"StringLike": 5}}]}')
@example(text="\ud800")
def test_any_key_policy_is_findings_never_an_exception(text: str) -> None:
    findings = check_policy(_key(text), _TRAIL)
    _assert_findings(findings, text)
    if not text.lstrip().startswith("{"):
        assert [f.code for f in findings] == ["policy-unverifiable"]


@settings(max_examples=50, deadline=None)
@given(doc=_policies)
def test_policy_shaped_mappings_with_wrong_types(doc: dict[str, Any]) -> None:
    text = json.dumps(doc)
    _assert_findings(check_policy(_key(text), _TRAIL), text)


@pytest.mark.parametrize(
    "name, text",
    [
        ("deeply nested", "[" * 100_000 + "]" * 100_000),
        ("deeply nested object", '{"Statement": ' + '{"a": ' * 50_000 + "1" + "}" * 50_001),
        ("5 MB string", json.dumps({"Statement": [{"Sid": "x" * 5_000_000}]})),
        (
            "20000 statements",
            json.dumps(
                {
                    "Statement": [
                        {
                            "Effect": "Deny",
                            "Principal": "*",
                            "Action": f"kms:Op{i}",
                            "Resource": "*",
                        }
                        for i in range(20_000)
                    ]
                }
            ),
        ),
        ("NaN and Infinity", '{"Statement": [{"Effect": NaN, "Action": Infinity}]}'),
        ("duplicate keys", '{"Statement": [], "Statement": {"Effect": "Allow"}}'),
        ("a byte order mark", "\ufeff" + json.dumps({"Statement": []})),
    ],
)
def test_huge_and_strange_policy_documents(name: str, text: str) -> None:
    findings = check_policy(_key(text), _TRAIL)
    _assert_findings(findings, text)
    assert findings, name


def test_a_policy_that_cannot_be_read_is_unverifiable() -> None:
    key = KeyInfo(
        arn=KEY_ARN, key_id="k", account=ACCOUNT, region="us-east-1", policy_error="AccessDenied"
    )
    assert [f.code for f in check_policy(key, _TRAIL)] == ["policy-unverifiable"]


# -- journal lines -------------------------------------------------------------------------------


def _journal_with(path: Path, changes: int) -> list[str]:
    journal = Journal(path)
    ids = []
    for i in range(changes):
        intent = journal.record_intent(
            kind=Kind.TRAIL_KEY,
            target_arn=f"arn:aws:cloudtrail:us-east-1:{ACCOUNT}:trail/t{i}",
            region="us-east-1",
            before=None,
            after=KEY_ARN,
            caller_arn=f"arn:aws:iam::{ACCOUNT}:user/op",
            account=ACCOUNT,
            endpoint="http://127.0.0.1:1",
            backend="demo",
        )
        journal.record_outcome(intent, Phase.DONE, after=KEY_ARN, request_id=f"r{i}")
        ids.append(intent.change_id)
    return ids


_garbage = st.binary(max_size=200).filter(lambda b: b"\n" not in b)


def _blank(line: bytes) -> bool:
    try:
        return not line.decode("utf-8").strip()
    except UnicodeDecodeError:
        return False


@settings(max_examples=60, deadline=None, suppress_health_check=FIXTURES)
@given(
    changes=st.integers(1, 5),
    garbage=st.lists(st.tuples(st.integers(0, 20), _garbage), max_size=5),
    cut=st.one_of(st.none(), st.integers(1, 400)),
)
def test_a_damaged_journal_still_lists_every_intact_change_and_warns(
    tmp_path_factory: pytest.TempPathFactory,
    changes: int,
    garbage: list[tuple[int, bytes]],
    cut: int | None,
) -> None:
    path = tmp_path_factory.mktemp("j") / "journal.jsonl"
    ids = _journal_with(path, changes)
    entries = [(line, False) for line in path.read_bytes().split(b"\n")[:-1]]  # (line, damaged)
    if cut is not None:  # a torn last write: the last outcome loses its tail
        last = entries[-1][0]
        entries[-1] = (last[: min(cut, len(last) - 1)], True)
    for position, junk in garbage:
        entries.insert(min(position, len(entries)), (junk, True))
    path.write_bytes(b"\n".join(line for line, _ in entries) + (b"" if cut else b"\n"))
    bad = [n for n, (line, damaged) in enumerate(entries, 1) if damaged and not _blank(line)]

    code, out, err = _cli("journal", "--journal", str(path), "--format", "json")

    assert code == 0 and "Traceback" not in err
    rows = json.loads(out)
    assert {r["change_id"] for r in rows} == set(ids)  # every change is still listed
    statuses = {r["change_id"]: r["status"] for r in rows}
    for cid in ids[:-1]:
        assert statuses[cid] == "done"
    assert statuses[ids[-1]] == ("pending" if cut is not None else "done")
    warnings = [w for w in err.splitlines() if w.startswith("warning:")]
    for number in bad:
        assert any(f": line {number}:" in w for w in warnings), (number, err)
    # The next record starts on a fresh line and is readable; nothing already there is lost.
    more = _journal_with(path, 1)
    assert {c.change_id for c in Journal(path).changes()} == set(ids) | set(more)


# -- nonsense command lines ----------------------------------------------------------------------

ARGV = [
    [],
    ["nonsense"],
    ["--nonsense"],
    ["inventory", "--format", "xml"],
    ["inventory", "--workers", "0"],
    ["inventory", "--workers", "many"],
    ["inventory", "--regions", ","],
    ["inventory", "--retry-mode", "legacy"],
    ["inventory", "extra"],
    ["check"],
    ["check", "--trail", "t"],
    ["check", "--key", "k"],
    ["check", "--trail"],
    ["keys"],
    ["update", "--trail", "t"],
    ["update", "--key", "k"],
    ["disable"],
    ["rollback"],
    ["rollback", "--change", "c", "--last"],
    ["journal", "--format", "csv"],
    ["journal", "--reconcile", "yes"],
    ["demo", "--port", "70000"],
    ["demo", "--port", "-1"],
    ["lab", "--port", "http"],
    ["policy", "--restore", "a", "b"],
    ["--endpoint-url"],
    ["-v"],
    ["inventory", "--profile"],
]


@pytest.mark.parametrize("argv", ARGV, ids=lambda a: " ".join(a) or "(nothing)")
def test_nonsense_arguments_are_a_usage_message_and_exit_2(argv: list[str]) -> None:
    code, out, err = _cli(*argv)
    assert code == 2
    assert err.startswith("usage: trailkit") and "error:" in err
    assert "Traceback" not in err and out == ""


def test_policy_without_trail_and_key_is_a_usage_error_before_connecting() -> None:
    # No endpoint and no credentials: the usage problem must be reported, not a connection one.
    code, out, err = _cli("--endpoint-url", "http://127.0.0.1:9", "policy")
    assert code == 2 and out == ""
    assert "policy needs --trail and --key" in err and err.count("\n") == 1


def test_help_and_version_exit_0() -> None:
    assert _cli("--help")[0] == 0
    assert _cli("--version")[0] == 0
