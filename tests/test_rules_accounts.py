"""Which accounts a scan of several accounts looks at, and the role assumed in each (issue 16):
the pure rules of :mod:`trailkit.rules.accounts`, table by table (``--role-name``,
``--external-id``, ``--accounts`` text and files, ``--org`` with ``--accounts`` and
``--exclude-accounts``)."""

from __future__ import annotations

import pytest

from tests.english import assert_japanese
from trailkit import i18n
from trailkit.errors import InputError
from trailkit.i18n import speaking
from trailkit.records import Account
from trailkit.rules.accounts import (
    ACTIVE,
    DEFAULT_ROLE_NAME,
    SESSION_NAME,
    check_external_id,
    check_role_name,
    parse_account_text,
    role_arn,
    select_accounts,
)

CALLER = "123456789012"
A = "111122223333"
B = "444455556666"
C = "777788889999"


@pytest.fixture(autouse=True)
def _english() -> None:
    i18n.set_language("en")


def test_the_defaults_are_what_organizations_and_cloudtrail_show() -> None:
    assert DEFAULT_ROLE_NAME == "OrganizationAccountAccessRole"
    assert SESSION_NAME == "trailkit"
    assert ACTIVE == "ACTIVE"


# -- --role-name ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("OrganizationAccountAccessRole", "OrganizationAccountAccessRole"),
        ("AWSControlTowerExecution", "AWSControlTowerExecution"),
        ("a", "a"),
        ("x" * 64, "x" * 64),
        ("trail+kit=ops,audit.read@team-1_a", "trail+kit=ops,audit.read@team-1_a"),
        ("service-role/Audit", "service-role/Audit"),
        ("/service-role/Audit", "service-role/Audit"),
    ],
)
def test_role_names_iam_accepts(given: str, expected: str) -> None:
    assert check_role_name(given) == expected


@pytest.mark.parametrize(
    ("given", "says"),
    [
        ("", "must name an IAM role"),
        ("   ", "must name an IAM role"),
        (None, "must name an IAM role"),
        (42, "must name an IAM role"),
        (
            "arn:aws:iam::111122223333:role/OrganizationAccountAccessRole",
            "not its ARN",
        ),
        ("x" * 65, "is not an IAM role name"),
        ("Org Access", "is not an IAM role name"),
        ("role*", "is not an IAM role name"),
        ("path with space/Role", "is not an IAM role name"),
        ("a//b", "is not an IAM role name"),
    ],
)
def test_role_names_iam_refuses(given: object, says: str) -> None:
    with pytest.raises(InputError, match=says) as caught:
        check_role_name(given)
    assert "role" in caught.value.fix


@pytest.mark.parametrize("given", ["Rôle", "ロール"])
def test_role_names_are_ascii(given: str) -> None:
    with pytest.raises(InputError, match="is not an IAM role name"):
        check_role_name(given)


@pytest.mark.parametrize("given", ["naïve-id", "外部ID12"])
def test_external_ids_are_ascii(given: str) -> None:
    with pytest.raises(InputError, match="is not an external id STS accepts"):
        check_external_id(given)


# -- --external-id --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "given",
    [None, "ab", "x" * 1224, "Trailkit-2026:ops/audit@example.com+=,.-_"],
)
def test_external_ids_sts_accepts(given: str | None) -> None:
    assert check_external_id(given) == given


@pytest.mark.parametrize("given", ["", "a", "x" * 1225, "two words", "a;b", "a\nb", 12345])
def test_external_ids_sts_refuses(given: object) -> None:
    with pytest.raises(InputError, match="is not an external id STS accepts") as caught:
        check_external_id(given)
    assert "leave --external-id out when the role needs none" in caught.value.fix


# -- role ARNs ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("account", "name", "partition", "expected"),
    [
        (A, DEFAULT_ROLE_NAME, "aws", f"arn:aws:iam::{A}:role/OrganizationAccountAccessRole"),
        (A, "service-role/Audit", "aws", f"arn:aws:iam::{A}:role/service-role/Audit"),
        (
            B,
            "AWSControlTowerExecution",
            "aws-cn",
            f"arn:aws-cn:iam::{B}:role/AWSControlTowerExecution",
        ),
        (C, "Ops", "aws-us-gov", f"arn:aws-us-gov:iam::{C}:role/Ops"),
    ],
)
def test_role_arn(account: str, name: str, partition: str, expected: str) -> None:
    assert role_arn(account, name, partition) == expected


# -- --accounts text ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (A, (A,)),
        (f"{A},{B}", (A, B)),
        (f" {A} , {B} ,", (A, B)),
        (f"{A} {B}\t{C}", (A, B, C)),
        (f"{B},{A},{B}", (B, A)),  # in the order given, each once
        (f"# workloads\n{A}  # prod\n\n{B},{C}\n# {CALLER} left out\n", (A, B, C)),
        (f"{A}\r\n{B}\r\n", (A, B)),
    ],
)
def test_account_text(text: str, expected: tuple[str, ...]) -> None:
    assert parse_account_text(text) == expected


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("", "--accounts names no account"),
        (" , ,\n", "--accounts names no account"),
        ("# nothing but a comment\n", "--accounts names no account"),
        ("12345", "12-digit"),
        (f"{A},1111-2222-3333", "12-digit"),
        ("arn:aws:iam::111122223333:root", "12-digit"),
    ],
)
def test_account_text_refused(text: str, says: str) -> None:
    with pytest.raises(InputError, match=says):
        parse_account_text(text)


def test_account_text_names_the_option() -> None:
    with pytest.raises(InputError, match="--exclude-accounts names no account") as caught:
        parse_account_text("", "--exclude-accounts")
    assert "--exclude-accounts 111122223333" in caught.value.fix


# -- select_accounts ------------------------------------------------------------------------------

ORG = (
    Account(A, "workload-prod", ACTIVE),
    Account(CALLER, "management", ACTIVE),
    Account(B, "old", "SUSPENDED"),
    Account(C, "sandbox", "PENDING_CLOSURE"),
    Account("210987654321", "log-archive", ACTIVE),
)


def _role(account: str, name: str = DEFAULT_ROLE_NAME) -> str:
    return f"arn:aws:iam::{account}:role/{name}"


@pytest.mark.parametrize(
    ("listed", "given", "exclude", "expected"),
    [
        # --org: the active accounts, the caller first (read directly), names kept
        (
            ORG,
            (),
            (),
            [
                Account(CALLER, "management", ACTIVE),
                Account(A, "workload-prod", ACTIVE, _role(A)),
                Account("210987654321", "log-archive", ACTIVE, _role("210987654321")),
            ],
        ),
        # --org --exclude-accounts
        (
            ORG,
            (),
            (CALLER, "210987654321"),
            [Account(A, "workload-prod", ACTIVE, _role(A))],
        ),
        # --org --accounts: those of the organization, in the order given, whatever their status
        (
            ORG,
            (B, A),
            (),
            [
                Account(B, "old", "SUSPENDED", _role(B)),
                Account(A, "workload-prod", ACTIVE, _role(A)),
            ],
        ),
        # --accounts alone: no names, no status; the caller's own account first and direct
        (
            None,
            (A, CALLER, A),
            (),
            [Account(CALLER), Account(A, role_arn=_role(A))],
        ),
        # --accounts --exclude-accounts
        (None, (A, B, C), (B,), [Account(A, role_arn=_role(A)), Account(C, role_arn=_role(C))]),
    ],
)
def test_select_accounts(
    listed: tuple[Account, ...] | None,
    given: tuple[str, ...],
    exclude: tuple[str, ...],
    expected: list[Account],
) -> None:
    assert select_accounts(CALLER, listed=listed, given=given, exclude=exclude) == expected


def test_select_accounts_uses_the_role_name_and_partition() -> None:
    chosen = select_accounts(
        CALLER, given=(A,), role_name="AWSControlTowerExecution", partition="aws-cn"
    )
    assert chosen == [Account(A, role_arn=f"arn:aws-cn:iam::{A}:role/AWSControlTowerExecution")]


@pytest.mark.parametrize(
    ("listed", "given", "exclude", "says"),
    [
        (None, (), (), "No account to look at"),
        (ORG, ("999999999999",), (), "The organization has no account 999999999999"),
        (None, (A, B), (A, B), "Every account was excluded"),
        (ORG, (), (CALLER, A, "210987654321"), "Every account was excluded"),
        # an organization where no account is active (only suspended or closing ones)
        ((Account(B, "old", "SUSPENDED"),), (), (), "lists no active account"),
    ],
)
def test_select_accounts_refused(
    listed: tuple[Account, ...] | None,
    given: tuple[str, ...],
    exclude: tuple[str, ...],
    says: str,
) -> None:
    with pytest.raises(InputError, match=says):
        select_accounts(CALLER, listed=listed, given=given, exclude=exclude)


def test_the_rules_speak_japanese() -> None:
    with speaking("ja"):
        for call in (
            lambda: check_role_name("arn:aws:iam::111122223333:role/Ops"),
            lambda: check_role_name("Org Access"),
            lambda: check_external_id(""),
            lambda: parse_account_text(""),
            lambda: select_accounts(CALLER),
            lambda: select_accounts(CALLER, listed=ORG, given=("999999999999",)),
            lambda: select_accounts(CALLER, given=(A,), exclude=(A,)),
        ):
            with pytest.raises(InputError) as caught:
                call()
            assert_japanese(str(caught.value), ["Org Access", "ID[,ID]"])


def test_an_organization_without_an_active_account_is_not_called_excluded() -> None:
    """An organization listing only suspended accounts has nothing to look at, and says that
    (not "every account was excluded", which names an option that was not given)."""
    listed = [Account("111122223333", "gone", "SUSPENDED")]
    with pytest.raises(InputError, match="lists no active account"):
        select_accounts("999988887777", listed=listed)
    with pytest.raises(InputError, match="Every account was excluded"):
        select_accounts(
            "999988887777",
            listed=[Account("111122223333", "ok", "ACTIVE")],
            exclude=["111122223333"],
        )


@pytest.mark.parametrize("given", ["/x/", "/a/b/Audit/", "path/"])
def test_a_slash_at_the_end_of_a_role_name_is_refused(given: str) -> None:
    """``/x/`` is a path, not a role: refused rather than read as ``x``.

    One leading ``/`` is IAM's way of writing a path, and is dropped."""
    assert check_role_name("/service-role/Audit") == "service-role/Audit"
    with pytest.raises(InputError, match="is not an IAM role name"):
        check_role_name(given)
    assert check_role_name("service-role/Audit") == "service-role/Audit"


def test_an_id_to_leave_out_that_is_not_looked_at_is_refused() -> None:
    """A mistyped ``--exclude-accounts`` id would silently read the account it meant."""
    org = [
        Account("111122223333", "a", "ACTIVE"),
        Account("444455556666", "b", "ACTIVE"),
        Account("777788889999", "old", "SUSPENDED"),
    ]
    with pytest.raises(InputError, match="999999999999, which is not among"):
        select_accounts("111122223333", listed=org, exclude=["999999999999"])
    with pytest.raises(InputError, match="leave out only ids that --accounts names"):
        select_accounts("111122223333", given=["444455556666"], exclude=["777788889999"])
    # an inactive account of the organization may be named: it is not read anyway
    chosen = select_accounts("111122223333", listed=org, exclude=["777788889999", "444455556666"])
    assert [a.account_id for a in chosen] == ["111122223333"]
