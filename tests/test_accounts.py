"""Reaching other accounts (issue 16): ``ListAccounts`` and ``AssumeRole`` as AWS answers them.

botocore's Stubber pins the exact requests (``ListAccounts`` across three pages of
``NextToken``; ``AssumeRole`` with the role ARN, the session name ``trailkit``, the duration and
the external id) and the failures moto does not produce (``AccessDenied``,
``RegionDisabledException``, ``ExpiredToken`` at the first ``AssumeRole`` and at a refresh in the
middle of a scan, ``AWSOrganizationsNotInUseException``, ``AccessDeniedException``). An
in-process moto organization checks that the assumed connection really acts in the member.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import botocore.exceptions
import pytest
from botocore.stub import Stubber

from tests.english import assert_japanese
from trailkit import i18n
from trailkit.aws.accounts import AccountAccess, list_accounts
from trailkit.aws.session import Connection, ConnectionInfo
from trailkit.errors import (
    AccessDenied,
    AssumeRoleFailed,
    AwsError,
    ConnectionFailed,
    assume_role_error,
    caller_expired,
    credentials_refused,
    list_accounts_error,
    translate,
)
from trailkit.i18n import speaking
from trailkit.records import Account, ScanError

CALLER = "123456789012"
MEMBER = "111122223333"
OTHER = "444455556666"
ROLE = f"arn:aws:iam::{MEMBER}:role/OrganizationAccountAccessRole"


@pytest.fixture(autouse=True)
def _english() -> None:
    i18n.set_language("en")


def _conn(region: str = "us-east-1") -> Connection:
    conn = Connection(endpoint_url="http://127.0.0.1:9", region=region, workers=1)
    conn._info = ConnectionInfo(
        account=CALLER,
        caller_arn=f"arn:aws:iam::{CALLER}:user/ops",
        endpoint="stub",
        region=region,
        demo=False,
    )
    return conn


def _account(account_id: str, name: str, status: str = "ACTIVE") -> dict[str, Any]:
    return {
        "Id": account_id,
        "Arn": f"arn:aws:organizations::{CALLER}:account/o-abc123defg/{account_id}",
        "Email": f"{name}@example.com",
        "Name": name,
        "Status": status,
        "JoinedMethod": "CREATED",
        "JoinedTimestamp": datetime(2024, 1, 1, tzinfo=UTC),
    }


def _assumed(account: str = MEMBER, minutes: int = 60) -> dict[str, Any]:
    return {
        "Credentials": {
            "AccessKeyId": "ASIAEXAMPLEEXAMPLE01",
            "SecretAccessKey": "secret",
            "SessionToken": "token",
            "Expiration": datetime.now(UTC) + timedelta(minutes=minutes),
        },
        "AssumedRoleUser": {
            "AssumedRoleId": "AROAEXAMPLE:trailkit",
            "Arn": f"arn:aws:sts::{account}:assumed-role/OrganizationAccountAccessRole/trailkit",
        },
    }


def _request(role: str = ROLE, **extra: Any) -> dict[str, Any]:
    return {"RoleArn": role, "RoleSessionName": "trailkit", "DurationSeconds": 3600, **extra}


# -- ListAccounts ---------------------------------------------------------------------------------


def test_list_accounts_reads_every_page() -> None:
    conn = _conn()
    with Stubber(conn.client("organizations")) as stub:
        stub.add_response(
            "list_accounts",
            {"Accounts": [_account(CALLER, "management")], "NextToken": "t-2"},
            {},
        )
        stub.add_response(
            "list_accounts",
            {
                "Accounts": [
                    _account(MEMBER, "workload-prod"),
                    _account(OTHER, "old", "SUSPENDED"),
                ],
                "NextToken": "t-3",
            },
            {"NextToken": "t-2"},
        )
        stub.add_response(
            "list_accounts",
            {"Accounts": [_account("555566667777", "sandbox")]},
            {"NextToken": "t-3"},
        )
        accounts = list_accounts(conn)
        stub.assert_no_pending_responses()
    assert accounts == [
        Account(CALLER, "management", "ACTIVE"),
        Account(MEMBER, "workload-prod", "ACTIVE"),
        Account(OTHER, "old", "SUSPENDED"),
        Account("555566667777", "sandbox", "ACTIVE"),
    ]


def test_org_keeps_active_accounts_the_caller_first_each_with_its_role() -> None:
    conn = _conn()
    with Stubber(conn.client("organizations")) as stub:
        stub.add_response(
            "list_accounts",
            {
                "Accounts": [
                    _account(MEMBER, "workload-prod"),
                    _account(CALLER, "management"),
                    _account(OTHER, "old", "SUSPENDED"),
                ]
            },
            {},
        )
        access = AccountAccess(conn, role_name="AWSControlTowerExecution")
        chosen = access.accounts(org=True)
    assert chosen == [
        Account(CALLER, "management", "ACTIVE", None),
        Account(
            MEMBER,
            "workload-prod",
            "ACTIVE",
            f"arn:aws:iam::{MEMBER}:role/AWSControlTowerExecution",
        ),
    ]


def _client_error(code: str, message: str, operation: str, status: int = 400) -> Exception:
    return botocore.exceptions.ClientError(
        {
            "Error": {"Code": code, "Message": message},
            "ResponseMetadata": {"HTTPStatusCode": status, "RequestId": "req-1"},
        },
        operation,
    )


@pytest.mark.parametrize(
    ("code", "status", "cls", "says"),
    [
        (
            "AWSOrganizationsNotInUseException",
            400,
            AwsError,
            "the caller's account is not a member of an organization",
        ),
        (
            "AccessDeniedException",
            400,
            AccessDenied,
            "only the management account or a delegated administrator may",
        ),
    ],
)
def test_list_accounts_refused_says_why_and_names_accounts(
    code: str, status: int, cls: type[AwsError], says: str
) -> None:
    conn = _conn()
    with Stubber(conn.client("organizations")) as stub:
        stub.add_client_error("list_accounts", code, "no", status, expected_params={})
        with pytest.raises(cls) as caught:
            AccountAccess(conn).accounts(org=True)
    error = caught.value
    english = str(error)
    assert type(error) is cls
    assert error.code == code
    assert error.operation == "ListAccounts"
    assert says in error.message
    assert "--accounts 111122223333,444455556666" in error.fix
    assert not caller_expired(error)
    with speaking("ja"):
        japanese = list_accounts_error(_client_error(code, "no", "ListAccounts", status))
        assert_japanese(str(japanese), [code])
        assert "--accounts" in str(japanese)
        assert japanese.english() == english


def test_list_accounts_with_expired_credentials_is_one_connection_failure() -> None:
    conn = _conn()
    with Stubber(conn.client("organizations")) as stub:
        stub.add_client_error("list_accounts", "ExpiredTokenException", "expired", 400)
        with pytest.raises(ConnectionFailed) as caught:
            list_accounts(conn)
    assert caller_expired(caught.value)


# -- AssumeRole -----------------------------------------------------------------------------------


def test_assume_role_request_and_the_connection_it_gives() -> None:
    conn = _conn()
    access = AccountAccess(conn, external_id="ext-1234")
    with Stubber(conn.client("sts")) as stub:
        stub.add_response("assume_role", _assumed(), _request(ExternalId="ext-1234"))
        member = access.connection(Account(MEMBER, "workload-prod"))
        again = access.connection(MEMBER)  # kept: no second AssumeRole
        stub.assert_no_pending_responses()
    assert again is member
    assert access.connection(CALLER) is conn  # the caller's own account: no role
    info = member.info()
    assert info.account == MEMBER
    assert info.role_arn == ROLE
    assert info.caller_arn.endswith(":assumed-role/OrganizationAccountAccessRole/trailkit")
    assert member.role_arn == ROLE
    assert member.calls is conn.calls  # one count for the whole scan
    frozen = member._session.get_credentials().get_frozen_credentials()
    assert frozen.access_key == "ASIAEXAMPLEEXAMPLE01"
    assert frozen.token == "token"


def test_a_recorded_role_is_assumed_and_kept_apart_from_the_access_role() -> None:
    """``role_arn=``: a journal's role for a rollback, whatever --role-name is now."""
    conn = _conn()
    access = AccountAccess(conn, role_name="AWSControlTowerExecution")
    recorded = f"arn:aws:iam::{MEMBER}:role/OrganizationAccountAccessRole"
    with Stubber(conn.client("sts")) as stub:
        stub.add_response("assume_role", _assumed(), _request(recorded))
        stub.add_response(
            "assume_role",
            _assumed(),
            _request(f"arn:aws:iam::{MEMBER}:role/AWSControlTowerExecution"),
        )
        by_record = access.connection(MEMBER, role_arn=recorded)
        assert access.connection(MEMBER, role_arn=recorded) is by_record
        own = access.connection(MEMBER)
        assert access.connection(MEMBER, role_arn=access.role_arn(MEMBER)) is own
        stub.assert_no_pending_responses()
    assert own is not by_record
    assert by_record.role_arn == recorded
    with pytest.raises(ValueError, match="not a role of account"):
        access.connection(OTHER, role_arn=recorded)


def test_access_denied_is_one_account_refused_with_the_reasons_aws_does_not_tell_apart() -> None:
    conn = _conn()
    access = AccountAccess(conn)
    message = (
        f"User: arn:aws:iam::{CALLER}:user/ops is not authorized to perform: sts:AssumeRole "
        f"on resource: {ROLE}"
    )
    with Stubber(conn.client("sts")) as stub:
        stub.add_client_error(
            "assume_role", "AccessDenied", message, 403, expected_params=_request()
        )
        with pytest.raises(AssumeRoleFailed) as caught:
            access.connection(MEMBER)
        # The refusal is kept: asking again (the next region) makes no second AssumeRole.
        with pytest.raises(AssumeRoleFailed) as again:
            access.connection(Account(MEMBER))
        stub.assert_no_pending_responses()
    error = caught.value
    assert again.value is error
    assert (error.account, error.role_arn, error.code, error.operation) == (
        MEMBER,
        ROLE,
        "AccessDenied",
        "AssumeRole",
    )
    assert error.message == (
        f"The role {ROLE} in account {MEMBER} cannot be assumed (AssumeRole, AccessDenied): "
        "the caller lacks sts:AssumeRole, the role's trust policy does not name the caller (or "
        "asks for an external id), a service control policy (SCP) refuses it, the role does "
        "not exist there, or the account is suspended; AWS does not say which."
    )
    assert "iam/trailkit-member-trust.json" in error.fix
    assert f"--exclude-accounts {MEMBER}" in error.fix
    assert "--role-name" in error.fix
    assert not caller_expired(error)
    assert access.refused() == {MEMBER: error}
    english = str(error)
    with speaking("ja"):
        assert_japanese(str(error.remake() if error.remake else ""), [ROLE, "AccessDenied"])
        assert error.english() == english
        assert error.title == "アカウントにアクセスできません"
    assert error.title == "Cannot reach the account"


def test_access_denied_with_an_external_id_names_it() -> None:
    exc = _client_error("AccessDenied", "no", "AssumeRole", 403)
    error = assume_role_error(exc, ROLE, external_id=True, region="us-east-1")
    assert isinstance(error, AssumeRoleFailed)
    assert "expects another external id" in error.message
    with speaking("ja"):
        assert_japanese(str(assume_role_error(exc, ROLE, external_id=True)), [ROLE, "AccessDenied"])


def test_region_disabled_names_the_region_and_the_account() -> None:
    conn = _conn("eu-south-1")
    access = AccountAccess(conn)
    with Stubber(conn.client("sts")) as stub:
        stub.add_client_error(
            "assume_role",
            "RegionDisabledException",
            "STS is not activated in this region for account:111122223333.",
            403,
            expected_params=_request(),
        )
        with pytest.raises(AssumeRoleFailed) as caught:
            access.connection(MEMBER)
    error = caught.value
    assert error.code == "RegionDisabledException"
    assert error.region == "eu-south-1"
    assert "STS is not activated in eu-south-1 for that account" in error.message
    assert f"account {MEMBER}" in error.fix and "--region" in error.fix
    with speaking("ja"):
        assert_japanese(str(error.remake() if error.remake else ""), [ROLE, "eu-south-1"])


def test_another_failure_keeps_aws_words() -> None:
    exc = _client_error("MalformedPolicyDocument", "the session policy is bad", "AssumeRole")
    error = assume_role_error(exc, ROLE)
    assert isinstance(error, AssumeRoleFailed)
    assert error.message.startswith(f"The role {ROLE} in account {MEMBER} cannot be assumed: ")
    assert "the session policy is bad" in error.message


def test_expired_caller_credentials_at_assume_role_stop_everything() -> None:
    conn = _conn()
    access = AccountAccess(conn)
    with Stubber(conn.client("sts")) as stub:
        stub.add_client_error("assume_role", "ExpiredToken", "The security token has expired.")
        stub.add_response("assume_role", _assumed(), _request())
        with pytest.raises(ConnectionFailed) as caught:
            access.connection(MEMBER)
        assert not isinstance(caught.value, AssumeRoleFailed)
        # Not kept as the account's refusal: after `aws sso login`, asking again works.
        assert access.connection(MEMBER).info().account == MEMBER
    error = caught.value
    assert caller_expired(error)
    assert error.code == "ExpiredToken"
    assert "credentials are invalid or expired" in error.message
    assert access.refused() == {}


def test_expired_caller_credentials_at_a_refresh_mid_scan_are_one_connection_failure() -> None:
    """botocore refreshes the role's credentials before they expire (within ten minutes of
    the expiry it must); when the caller's own have expired by then, the call that needed
    fresh credentials raises one ConnectionFailed, which a fan-out recognises and stops on."""
    conn = _conn()
    with Stubber(conn.client("sts")) as stub:
        stub.add_response("assume_role", _assumed(minutes=2), _request())
        stub.add_client_error("assume_role", "ExpiredToken", "The security token has expired.")
        member = conn.assumed(ROLE)
        with pytest.raises(ConnectionFailed) as caught:
            member._session.get_credentials().get_frozen_credentials()
        stub.assert_no_pending_responses()
    assert caller_expired(caught.value)
    assert caught.value.operation == "AssumeRole"


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("ExpiredToken", True),
        ("ExpiredTokenException", True),
        ("InvalidClientTokenId", True),
        ("UnrecognizedClientException", True),
        ("SignatureDoesNotMatch", True),
        ("RequestExpired", True),
        ("AccessDenied", False),
        ("RegionDisabledException", False),
        ("ThrottlingException", False),
        ("", False),
        (_client_error("ExpiredToken", "x", "DescribeTrails"), True),
        (_client_error("AccessDeniedException", "x", "DescribeTrails"), False),
        (botocore.exceptions.NoCredentialsError(), True),
        (botocore.exceptions.EndpointConnectionError(endpoint_url="http://x"), False),
        (ScanError("DescribeTrails", "ExpiredTokenException", "expired", "eu-west-1"), True),
        (ScanError("AssumeRole", "AccessDenied", "no", account=MEMBER), False),
        (ConnectionFailed("x", code="InvalidClientTokenId"), True),
        (AssumeRoleFailed("x", account=MEMBER, role_arn=ROLE, code="AccessDenied"), False),
        (None, False),
    ],
)
def test_caller_expired(given: object, expected: bool) -> None:
    assert caller_expired(given) is expected


# -- a real assumed connection (the session's moto server, emptied first) ----------------------
# Not moto's in-process mock_aws: it shares moto's backends with the session's server and, when it
# stops, empties them under the demo estate other tests read.


def test_an_assumed_connection_acts_in_the_member_account(clean_moto: str) -> None:
    conn = Connection(endpoint_url=clean_moto, region="us-east-1", workers=2)
    org = conn.client("organizations")
    org.create_organization(FeatureSet="ALL")
    status = org.create_account(AccountName="workload-prod", Email="prod@example.com")
    member_id = status["CreateAccountStatus"]["AccountId"]
    access = AccountAccess(conn)
    chosen = access.accounts(org=True)
    assert [a.account_id for a in chosen] == [access.caller, member_id]
    member = access.connection(chosen[1])
    assert member.info().account == member_id
    member.client("s3", "us-east-1").create_bucket(Bucket="member-logs")
    member.client("cloudtrail", "us-east-1").create_trail(
        Name="member-trail", S3BucketName="member-logs"
    )
    trails = member.client("cloudtrail", "us-east-1").describe_trails()["trailList"]
    assert [t["TrailARN"] for t in trails] == [
        f"arn:aws:cloudtrail:us-east-1:{member_id}:trail/member-trail"
    ]
    mine = conn.client("cloudtrail", "us-east-1").describe_trails()["trailList"]
    assert mine == []  # the trail was made in the member, not in the caller's account


def test_a_member_without_the_role_is_one_refused_account(clean_moto: str) -> None:
    """An account created with another ``RoleName`` has no OrganizationAccountAccessRole:
    AssumeRole is refused as AWS refuses it (moto with the demo's ``patch_moto``), and that
    account alone is refused; the others are reached."""
    conn = Connection(endpoint_url=clean_moto, region="us-east-1", workers=2)
    org = conn.client("organizations")
    org.create_organization(FeatureSet="ALL")
    made = [
        org.create_account(AccountName=name, Email=f"{name}@example.com", **extra)[
            "CreateAccountStatus"
        ]["AccountId"]
        for name, extra in (("workload-prod", {}), ("sandbox", {"RoleName": "OtherRole"}))
    ]
    access = AccountAccess(conn)
    chosen = access.accounts(org=True)
    assert [a.account_id for a in chosen] == [access.caller, *made]
    assert access.connection(chosen[1]).info().account == made[0]
    with pytest.raises(AssumeRoleFailed) as caught:
        access.connection(chosen[2])
    assert access.refused() == {made[1]: caught.value}
    error = caught.value
    assert (error.account, error.code) == (made[1], "AccessDenied")
    assert error.role_arn == f"arn:aws:iam::{made[1]}:role/OrganizationAccountAccessRole"
    assert error.message.startswith(
        f"The role {error.role_arn} in account {made[1]} cannot be assumed (AssumeRole, "
        "AccessDenied): "
    )
    assert not caller_expired(error)


def test_a_scan_row_of_expired_credentials_becomes_the_one_message_translate_gives() -> None:
    row = ScanError("DescribeTrails", "ExpiredToken", "expired", "eu-west-1", account=MEMBER)
    assert caller_expired(row)
    error = credentials_refused(row.operation, row.code, region=row.region)
    direct = translate(
        _client_error("ExpiredToken", "expired", "DescribeTrails"),
        "DescribeTrails",
        region="eu-west-1",
    )
    assert str(error) == str(direct)
    assert (error.operation, error.code, error.region) == (
        "DescribeTrails",
        "ExpiredToken",
        "eu-west-1",
    )
    assert "aws sso login" in error.fix
    with speaking("ja"):
        assert_japanese(str(credentials_refused("DescribeTrails", "ExpiredToken")), [])
