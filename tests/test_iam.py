"""Least privilege: the shipped IAM policies are generated from the code, every AWS call site is
declared, and the full flow runs against moto with IAM enforcement on for a user that has exactly
those policies; without any one permission it fails, naming that permission.

moto enforces IAM when ``settings.INITIAL_NO_AUTH_ACTION_COUNT`` is reached (``POST
/moto-api/reset-auth`` with a count sets it and resets the request counter). The setting is
process-wide, so these tests run their own moto server in a subprocess and never touch the shared
one. Three moto gaps are closed in that subprocess: moto authorises some S3 operations as
actions IAM does not check (``GetBucketEncryption`` as ``s3:ListBucket`` before moto 5.2.6 and as
``s3:GetBucketEncryption`` since; ``HeadBucket`` as ``s3:HeadBucket``; ``ListBuckets`` as
``s3:ListBuckets`` since 5.2.6), and each is mapped to the action AWS checks
(``s3:GetEncryptionConfiguration``, ``s3:ListBucket``, ``s3:ListAllMyBuckets``); and
``DescribeRegions`` lists only the regions of the caller's partition, as AWS does (moto lists
cn-* and us-gov-* too, where the IAM user does not exist). The demo's moto fixes
(``patch_moto``) apply as well.

The estate is the demo organization: the flow's ``inventory --org --accounts MANAGEMENT,MEMBER``
lists it (``organizations:ListAccounts``), assumes the role
in a member account (``sts:AssumeRole``) and reads that member's inventory with the role's
policy set to the generated ``iam/trailkit-member-read-only.json`` (moto evaluates an assumed
role's own policies; it does not evaluate trust policies); and it changes workload-prod's trail
and rolls it back through its role, whose policy is ``iam/trailkit-member-operator.json``.
"""

from __future__ import annotations

import ast
import io
import json
import os
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
import pytest
import requests
from botocore import xform_name

from trailkit.aws.session import Connection
from trailkit.change.journal import Journal
from trailkit.demo import seed_demo
from trailkit.demo.estate import cloudtrail_key_policy
from trailkit.errors import ConnectionFailed, TrailkitError
from trailkit.permissions import CALLER_ONLY
from trailkit.rules.accounts import DEFAULT_ROLE_NAME, role_arn
from trailkit.ui.cli import main

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tools"))
import gen_iam  # noqa: E402

_SERVER = textwrap.dedent(
    """
    import logging, sys
    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    from moto.server import ThreadedMotoServer
    from moto.s3 import responses as s3_responses
    from trailkit.demo import patch_moto

    patch_moto()
    # moto < 5.2.6 names the S3 action from ACTION_MAP: GetBucketEncryption is authorised as
    # s3:ListBucket (no "encryption" entry) and HeadBucket as s3:HeadBucket.
    s3_responses.ACTION_MAP["BUCKET"]["GET"]["encryption"] = "GetEncryptionConfiguration"
    s3_responses.ACTION_MAP["BUCKET"]["HEAD"]["DEFAULT"] = "ListBucket"
    # moto >= 5.2.6 names it after the API operation (s3:GetBucketEncryption, s3:HeadBucket,
    # s3:ListBuckets), which are not all IAM actions. Authorise each as the IAM action AWS checks
    # (Service Authorization Reference, Amazon S3), whichever moto names it.
    from moto.iam import access_control

    S3_IAM_ACTION = {
        "s3:GetBucketEncryption": "s3:GetEncryptionConfiguration",
        "s3:PutBucketEncryption": "s3:PutEncryptionConfiguration",
        "s3:HeadBucket": "s3:ListBucket",
        "s3:ListBuckets": "s3:ListAllMyBuckets",
        "s3:ListObjects": "s3:ListBucket",
        "s3:ListObjectsV2": "s3:ListBucket",
        "s3:HeadObject": "s3:GetObject",
    }
    _s3_init = access_control.S3IAMRequest.__init__

    def s3_init(self, *args, **kwargs):
        _s3_init(self, *args, **kwargs)
        self._action = S3_IAM_ACTION.get(self._action, self._action)

    access_control.S3IAMRequest.__init__ = s3_init
    # moto's DescribeRegions lists the regions of every partition (cn-*, us-gov-*); AWS lists
    # those of the caller's partition only (and IAM users of one partition exist only there).
    from moto.ec2.models.availability_zones_and_regions import RegionsAndZonesBackend
    from moto.utilities.utils import get_partition

    _describe_regions = RegionsAndZonesBackend.describe_regions

    def describe_regions(self, region_names=None):
        mine = get_partition(self.region_name)
        regions = _describe_regions(self, region_names)
        return [r for r in regions if get_partition(r.name) == mine]

    RegionsAndZonesBackend.describe_regions = describe_regions
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    print(f"http://{host}:{port}", flush=True)
    sys.stdin.read()  # until the test closes stdin
    server.stop()
    """
)


def _policy(actions: list[str]) -> str:
    return json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [{"Effect": "Allow", "Action": actions, "Resource": "*"}],
        }
    )


@dataclass
class IamServer:
    endpoint: str
    keys: dict[str, tuple[str, str]]  # user -> (access key id, secret)
    member: str  # a member account whose role has iam/trailkit-member-read-only.json
    new_key: str  # a key of PROD (whose role has iam/trailkit-member-operator.json) for its trail

    def admin(self) -> Connection:
        key, secret = self.keys["admin"]
        return _as(self.endpoint, key, secret)


def _as(endpoint: str, key: str, secret: str) -> Connection:
    conn = Connection(endpoint_url=endpoint, region="us-east-1", workers=8)
    conn._session = boto3.Session(aws_access_key_id=key, aws_secret_access_key=secret)
    return conn


MANAGEMENT = "123456789012"  # the demo's account, where the users are
PROD = "333344445555"  # the demo's workload-prod: a member with its own trail, bucket and key
PROD_TRAIL = f"arn:aws:cloudtrail:us-east-1:{PROD}:trail/prod-trail"
OPERATOR = json.loads((ROOT / "iam" / "trailkit-operator.json").read_text())
READ_ONLY = json.loads((ROOT / "iam" / "trailkit-read-only.json").read_text())
MEMBER_OPERATOR = json.loads((ROOT / "iam" / "trailkit-member-operator.json").read_text())
MEMBER_READ_ONLY = json.loads((ROOT / "iam" / "trailkit-member-read-only.json").read_text())
MEMBER_TRUST = json.loads((ROOT / "iam" / "trailkit-member-trust.json").read_text())
OPERATOR_ACTIONS: list[str] = OPERATOR["Statement"][0]["Action"]
# sts:GetCallerIdentity needs no permission (AWS and moto allow it even under an explicit Deny),
# so removing it cannot make anything fail; it stays in the policy to document the call.
# A bucket's region comes from HeadBucket (s3:ListBucket) or, when that gives none,
# GetBucketLocation: each stands in for the other, so only removing both fails.
REGION_PAIR = ("s3:ListBucket", "s3:GetBucketLocation")
REMOVABLE = [a for a in OPERATOR_ACTIONS if a != "sts:GetCallerIdentity" and a not in REGION_PAIR]


@pytest.fixture(scope="module")
def iam_server() -> Iterator[IamServer]:
    proc = subprocess.Popen(
        [sys.executable, "-c", _SERVER],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        env={k: v for k, v in os.environ.items() if not k.startswith("AWS_")},
    )
    assert proc.stdout is not None and proc.stdin is not None
    endpoint = proc.stdout.readline().strip()
    assert endpoint.startswith("http://"), endpoint
    try:
        # Enforcement is off until reset-auth: seed the demo and create the users as "root".
        root = Connection(endpoint_url=endpoint, region="us-east-1")
        seed_demo(root)
        member, new_key = _organization(root)
        iam = root.client("iam")
        users = {
            "admin": ["*"],
            "operator": None,
            "read-only": None,
            **{
                f"minus-{a.replace(':', '-')}": [b for b in OPERATOR_ACTIONS if b != a]
                for a in (*REMOVABLE, *REGION_PAIR)
            },
            "minus-region-pair": [b for b in OPERATOR_ACTIONS if b not in REGION_PAIR],
        }
        keys = {}
        for user, actions in users.items():
            iam.create_user(UserName=user)
            if user == "operator":
                document = json.dumps(OPERATOR)
            elif user == "read-only":
                document = json.dumps(READ_ONLY)
            else:
                document = _policy(actions or [])
            arn = iam.create_policy(PolicyName=f"tk-{user}", PolicyDocument=document)["Policy"][
                "Arn"
            ]
            iam.attach_user_policy(UserName=user, PolicyArn=arn)
            key = iam.create_access_key(UserName=user)["AccessKey"]
            keys[user] = (key["AccessKeyId"], key["SecretAccessKey"])
        response = requests.post(f"{endpoint}/moto-api/reset-auth", data=b"0", timeout=10)
        assert response.ok
        yield IamServer(endpoint, keys, member, new_key)
    finally:
        proc.stdin.close()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def _organization(root: Connection) -> tuple[str, str]:
    """In the demo organization, give the role in one member account the member read-only
    policy and the role in workload-prod the member operator policy, and make a key there that
    its trail can use: (the read-only member's id, the new key's ARN)."""
    org = root.client("organizations")
    caller = root.info().account
    members = [
        str(a["Id"])
        for a in org.list_accounts()["Accounts"]
        if a["Id"] not in (caller, PROD) and a["Status"] == "ACTIVE"
    ]
    prod = root.assumed(role_arn(PROD, DEFAULT_ROLE_NAME))
    prod.client("iam").put_role_policy(
        RoleName=DEFAULT_ROLE_NAME,
        PolicyName="trailkit-member-operator",
        PolicyDocument=json.dumps(MEMBER_OPERATOR),
    )
    policy = json.dumps(cloudtrail_key_policy(PROD, region="us-east-1"))
    new_key = prod.client("kms", "us-east-1").create_key(Policy=policy)["KeyMetadata"]["Arn"]
    for account in members:
        try:
            member = root.assumed(role_arn(account, DEFAULT_ROLE_NAME))
        except TrailkitError:
            continue  # the demo's account whose role cannot be assumed
        member.client("iam").put_role_policy(
            RoleName=DEFAULT_ROLE_NAME,
            PolicyName="trailkit-member-read-only",
            PolicyDocument=json.dumps(MEMBER_READ_ONLY),
        )
        return account, str(new_key)
    raise AssertionError("no member account whose role can be assumed")


# -- the policy documents --------------------------------------------------------------------


def test_the_policy_documents_are_generated_from_the_declarations() -> None:
    for name, text in gen_iam.documents().items():
        path = ROOT / "iam" / name
        assert path.read_text(encoding="utf-8") == text, f"{name} is stale: run tools/gen_iam.py"
    assert gen_iam.main(["--check"]) == 0


def test_read_only_is_a_subset_of_operator_and_lacks_only_the_writes() -> None:
    read = set(READ_ONLY["Statement"][0]["Action"])
    operate = set(OPERATOR_ACTIONS)
    assert read < operate
    assert operate - read == {"cloudtrail:UpdateTrail", "kms:PutKeyPolicy"}
    assert all(":" in a and "*" not in a for a in operate)  # no wildcards


def test_the_caller_lists_the_organization_and_assumes_roles_the_member_role_does_not() -> None:
    assert {"organizations:ListAccounts", "sts:AssumeRole"} == CALLER_ONLY
    read = set(READ_ONLY["Statement"][0]["Action"])
    operate = set(OPERATOR_ACTIONS)
    assert read >= CALLER_ONLY
    member_read = set(MEMBER_READ_ONLY["Statement"][0]["Action"])
    member_operate = set(MEMBER_OPERATOR["Statement"][0]["Action"])
    assert member_read == read - CALLER_ONLY
    assert member_operate == operate - CALLER_ONLY
    assert member_operate - member_read == {"cloudtrail:UpdateTrail", "kms:PutKeyPolicy"}
    assert MEMBER_READ_ONLY["Statement"][0]["Sid"] == "TrailkitMemberRead"


def test_the_member_trust_policy_names_the_management_account_and_the_external_id() -> None:
    (statement,) = MEMBER_TRUST["Statement"]
    assert MEMBER_TRUST["Version"] == "2012-10-17"
    assert statement["Effect"] == "Allow"
    assert statement["Action"] == "sts:AssumeRole"
    assert statement["Principal"] == {"AWS": "arn:aws:iam::MANAGEMENT_ACCOUNT_ID:root"}
    assert statement["Condition"] == {"StringEquals": {"sts:ExternalId": "EXTERNAL_ID"}}


def test_the_member_trust_policy_is_one_iam_accepts(iam_server: IamServer) -> None:
    """With the placeholders filled in, IAM takes it as a role's trust policy (CreateRole)."""
    text = (ROOT / "iam" / "trailkit-member-trust.json").read_text()
    text = text.replace("MANAGEMENT_ACCOUNT_ID", "123456789012").replace("EXTERNAL_ID", "ext-1")
    iam = iam_server.admin().client("iam")
    role = iam.create_role(RoleName="TrailkitMemberTrustCheck", AssumeRolePolicyDocument=text)
    try:
        assert role["Role"]["Arn"] == "arn:aws:iam::123456789012:role/TrailkitMemberTrustCheck"
    finally:
        iam.delete_role(RoleName="TrailkitMemberTrustCheck")


# -- every call site is declared -----------------------------------------------------------------

_SPECIAL_ACTIONS = {
    ("s3", "GetBucketEncryption"): "s3:GetEncryptionConfiguration",
    ("s3", "HeadBucket"): "s3:ListBucket",
    ("s3", "ListBuckets"): "s3:ListAllMyBuckets",
    ("s3", "ListObjectsV2"): "s3:ListBucket",
    ("s3", "HeadObject"): "s3:GetObject",
}
_METHODS: dict[str, dict[str, str]] = {}


def _operation(service: str, method: str) -> str | None:
    """botocore's operation name for a client method (None if ``method`` is not an API call)."""
    if service not in _METHODS:
        client = boto3.client(
            service,
            region_name="us-east-1",
            aws_access_key_id="x",
            aws_secret_access_key="x",
        )
        _METHODS[service] = dict(client.meta.method_to_api_mapping)
    return _METHODS[service].get(method)


def _action(service: str, operation: str) -> str:
    return _SPECIAL_ACTIONS.get((service, operation), f"{service}:{operation}")


def _declared(func: ast.FunctionDef | ast.AsyncFunctionDef) -> set[str] | None:
    for deco in func.decorator_list:
        if isinstance(deco, ast.Call) and getattr(deco.func, "id", None) == "requires":
            return {a.value for a in deco.args if isinstance(a, ast.Constant)}
    return None


@dataclass
class CallSite:
    module: str
    line: int
    action: str
    permission: str | None  # what the call site names in its error messages
    functions: list[ast.FunctionDef | ast.AsyncFunctionDef]  # enclosing, innermost first


def _call_sites(path: Path) -> tuple[list[CallSite], ast.Module]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    sites: list[CallSite] = []

    def visit(node: ast.AST, stack: list[Any], service: str | None = None) -> None:
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            stack = [node, *stack]
        if isinstance(node, ast.ClassDef):
            service = _class_service(node)
        if isinstance(node, ast.Call):
            found = _site(node, service)
            if found is not None:
                service, operation, permission = found
                sites.append(
                    CallSite(path.stem, node.lineno, _action(service, operation), permission, stack)
                )
        for child in ast.iter_child_nodes(node):
            visit(child, stack, service)

    visit(tree, [])
    return sites, tree


def _const(node: ast.AST) -> str | None:
    return node.value if isinstance(node, ast.Constant) and isinstance(node.value, str) else None


def _class_service(node: ast.ClassDef) -> str | None:
    """The ``service = "..."`` of a :class:`~trailkit.aws.service.ServiceReader` subclass."""
    for stmt in node.body:
        if isinstance(stmt, ast.Assign):
            targets = [getattr(t, "id", None) for t in stmt.targets]
        elif isinstance(stmt, ast.AnnAssign) and stmt.value is not None:
            targets = [getattr(stmt.target, "id", None)]
        else:
            continue
        if "service" in targets:
            return _const(stmt.value) if stmt.value is not None else None
    return None


def _keyword(call: ast.Call, name: str) -> str | None:
    return next((_const(k.value) for k in call.keywords if k.arg == name), None)


def _site(call: ast.Call, service: str | None = None) -> tuple[str, str, str | None] | None:
    """(service, operation, named permission) of an AWS call, or None.

    ``service`` is that of the enclosing ServiceReader class, if any."""
    func = call.func
    # conn.client("svc", ...).method(...)
    if (
        isinstance(func, ast.Attribute)
        and isinstance(func.value, ast.Call)
        and isinstance(func.value.func, ast.Attribute)
        and func.value.func.attr == "client"
        and func.value.args
    ):
        named = _const(func.value.args[0])
        if named is None:
            return None
        operation = _operation(named, func.attr)
        return (named, operation, None) if operation else None
    # self.call("Operation", region, ...) and self.pages(...) in a ServiceReader: the errors
    # name permission= when given, else service:Operation (as ServiceReader.call does).
    if (
        service is not None
        and isinstance(func, ast.Attribute)
        and func.attr in ("call", "pages")
        and getattr(func.value, "id", None) == "self"
        and call.args
    ):
        operation = _const(call.args[0])
        if operation is None:
            return None
        assert _operation(service, xform_name(operation)) == operation, (
            f"{operation} is not a {service} API operation"
        )
        permission = _keyword(call, "permission") or f"{service}:{operation}"
        return service, operation, permission
    return None


def _audit(paths: list[Path], declared_anywhere: set[str]) -> tuple[list[CallSite], list[str]]:
    """Every AWS call site in ``paths`` and the problems with its declaration."""
    sites: list[CallSite] = []
    problems: list[str] = []
    for path in paths:
        found, tree = _call_sites(path)
        sites += found
        functions = [
            n for n in ast.walk(tree) if isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef)
        ]
        for site in found:
            where = f"{path.name}:{site.line} ({site.action})"
            if site.action not in declared_anywhere:
                problems.append(f"{where}: not in any @requires")
            if site.permission is not None and site.permission != site.action:
                problems.append(f"{where}: error messages name {site.permission}")
            declared = [d for d in map(_declared, site.functions) if d is not None]
            if declared:
                if site.action not in declared[0]:
                    problems.append(f"{where}: the enclosing @requires lacks it")
                continue
            helper = site.functions[-1].name if site.functions else "<module>"
            callers = [
                f
                for f in functions
                if f.name != helper
                and any(
                    (isinstance(n, ast.Attribute) and n.attr == helper)
                    or (isinstance(n, ast.Name) and n.id == helper)
                    for n in ast.walk(f)
                )
            ]
            if not any(site.action in (_declared(f) or set()) for f in callers):
                problems.append(f"{where}: {helper} is undeclared and no declared caller has it")
    return sites, problems


def test_every_aws_call_site_declares_its_iam_action() -> None:
    """List every boto3 client call in trailkit (the demo seeding excepted) and check that the
    IAM action it needs is declared by an enclosing ``@requires`` (or, for a private helper, by
    a declared function of the same module that calls it), that the permission its errors name
    is that action, and that it is in the generated operator policy."""
    gen_iam.load_declarations()
    from trailkit.permissions import permissions_for

    everything = set(permissions_for("operate"))
    paths = [
        p
        for p in sorted((ROOT / "trailkit").rglob("*.py"))
        if "demo" not in p.relative_to(ROOT).parts
    ]
    sites, problems = _audit(paths, everything)
    assert not problems, "\n".join(problems)
    assert len(sites) >= 15
    # The audit saw every action the policy grants (nothing declared that is never called).
    assert {s.action for s in sites} == everything


def test_the_audit_finds_undeclared_calls(tmp_path: Path) -> None:
    module = tmp_path / "sloppy.py"
    module.write_text(
        textwrap.dedent(
            """
            @requires("kms:DescribeKey")
            def a(conn):
                conn.client("kms", "us-east-1").describe_key(KeyId="x")
                conn.client("kms", "us-east-1").list_keys()

            def _helper(conn):
                return conn.client("s3").get_bucket_encryption(Bucket="b")

            @requires("s3:GetEncryptionConfiguration")
            def b(conn):
                return _helper(conn)

            class Sloppy(ServiceReader):
                service = "s3"

                def c(self):
                    self.call("GetBucketPolicy", None, permission="s3:GetPolicy")
            """
        )
    )
    declared = {"kms:DescribeKey", "kms:ListKeys", "s3:GetEncryptionConfiguration"}
    sites, problems = _audit([module], declared)
    assert [s.action for s in sites] == [
        "kms:DescribeKey",
        "kms:ListKeys",
        "s3:GetEncryptionConfiguration",
        "s3:GetBucketPolicy",
    ]
    assert problems == [
        "sloppy.py:5 (kms:ListKeys): the enclosing @requires lacks it",
        "sloppy.py:18 (s3:GetBucketPolicy): not in any @requires",
        "sloppy.py:18 (s3:GetBucketPolicy): error messages name s3:GetPolicy",
        "sloppy.py:18 (s3:GetBucketPolicy): c is undeclared and no declared caller has it",
    ]


# -- the full flow under IAM enforcement ---------------------------------------------------------


def _flow(journal: Path, member: str, new_key: str, *, verify: bool = True) -> list[list[str]]:
    j = ["--journal", str(journal)]
    # The delivery proof of the rollback (placed after it, so that a flow stopped by a missing
    # permission leaves the state as it found it): GetTrailStatus, ListObjectsV2 (s3:ListBucket)
    # and HeadObject (s3:GetObject) of the files the demo delivers after the change.
    proof = [["verify", "--trail", "org-trail", "--wait", "60s", *j]] if verify else []
    return [
        ["inventory"],
        # The organization from the management account: ListAccounts, its own account read
        # directly, AssumeRole into the member and the member's inventory under
        # iam/trailkit-member-read-only.json.
        ["inventory", "--org", "--accounts", f"{MANAGEMENT},{member}"],
        ["keys", "--trail", "org-trail"],
        ["check", "--trail", "org-trail", "--key", "alias/cloudtrail-good"],
        ["explain", "--trail", "stale-key-trail"],
        ["update", "--trail", "org-trail", "--key", "alias/cloudtrail-good", "--yes", *j],
        ["rollback", "--last", "--yes", *j],
        *proof,
        # A member's trail changed and put back through its role, under
        # iam/trailkit-member-operator.json.
        ["update", "--trail", PROD_TRAIL, "--key", new_key, "--yes", *j],
        ["rollback", "--last", "--yes", *j],
        ["policy", "--trail", "org-trail", "--key", "alias/no-cloudtrail", "--apply", "--yes", *j],
        ["policy", "--restore", "--yes", *j],
        ["journal", *j],
    ]


def _run_flow(
    server: IamServer,
    user: str,
    journal: Path,
    monkeypatch: pytest.MonkeyPatch,
    *,
    verify: bool = True,
) -> tuple[list[str], int, str]:
    """Run the flow as ``user`` up to the first failure: (steps passed, exit code, output)."""
    key, secret = server.keys[user]
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", key)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", secret)
    monkeypatch.delenv("AWS_SESSION_TOKEN", raising=False)
    passed: list[str] = []
    for argv in _flow(journal, server.member, server.new_key, verify=verify):
        out, err = io.StringIO(), io.StringIO()
        code = main(["--endpoint-url", server.endpoint, *argv], out=out, err=err)
        text = out.getvalue() + err.getvalue()
        assert "Traceback" not in text
        if code != 0:
            return passed, code, text
        two = argv[0] == "policy" or argv[:2] == ["inventory", "--org"]
        passed.append(" ".join(argv[:2]) if two else argv[0])
    return passed, 0, ""


def _state(server: IamServer) -> tuple[str | None, str, str | None]:
    admin = server.admin()
    trail = admin.client("cloudtrail", "us-east-1").get_trail(Name="org-trail")["Trail"]
    key = admin.client("kms", "us-east-1").describe_key(KeyId="alias/no-cloudtrail")
    policy = admin.client("kms", "us-east-1").get_key_policy(
        KeyId=key["KeyMetadata"]["KeyId"], PolicyName="default"
    )["Policy"]
    prod = admin.assumed(role_arn(PROD, DEFAULT_ROLE_NAME))
    member_trail = prod.client("cloudtrail", "us-east-1").get_trail(Name=PROD_TRAIL)["Trail"]
    return (
        trail.get("KmsKeyId") or None,
        json.dumps(json.loads(policy), sort_keys=True),
        member_trail.get("KmsKeyId") or None,
    )


def test_enforcement_is_on(iam_server: IamServer) -> None:
    with pytest.raises(ConnectionFailed, match="credentials are invalid"):
        _as(iam_server.endpoint, "AKIAUNKNOWNUNKNOWN00", "nope").info()
    admin = iam_server.admin().info()
    assert admin.caller_arn == "arn:aws:iam::123456789012:user/admin"


def test_the_operator_policy_is_enough_for_the_full_flow(
    iam_server: IamServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    before = _state(iam_server)
    passed, code, text = _run_flow(iam_server, "operator", tmp_path / "j.jsonl", monkeypatch)
    assert code == 0, f"failed after {passed}: {text}"
    assert _state(iam_server) == before  # rollback and restore put everything back
    made = [
        (c.intent.account, c.intent.role_arn, c.status)
        for c in Journal(tmp_path / "j.jsonl").changes()
        if c.intent.account == PROD
    ]
    role = role_arn(PROD, DEFAULT_ROLE_NAME)
    assert made == [(PROD, role, "done"), (PROD, role, "done")]  # the update and its rollback


def test_the_read_only_policy_reads_but_cannot_change(
    iam_server: IamServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    before = _state(iam_server)
    passed, code, text = _run_flow(iam_server, "read-only", tmp_path / "j.jsonl", monkeypatch)
    assert passed == ["inventory", "inventory --org", "keys", "check", "explain"]
    assert code == 2
    assert "UpdateTrail in us-east-1 was denied: the caller lacks cloudtrail:UpdateTrail" in text
    assert _state(iam_server) == before
    (change,) = Journal(tmp_path / "j.jsonl").changes()
    assert change.status == "failed"


@pytest.mark.parametrize("action", REMOVABLE)
def test_without_one_permission_the_flow_fails_naming_it(
    iam_server: IamServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, action: str
) -> None:
    before = _state(iam_server)
    user = f"minus-{action.replace(':', '-')}"
    passed, code, text = _run_flow(iam_server, user, tmp_path / "j.jsonl", monkeypatch)
    assert code != 0, f"the flow succeeded without {action}"
    assert action in text, f"after {passed}, exit {code}: {text}"
    assert _state(iam_server) == before, f"state changed by a failed flow after {passed}"


@pytest.mark.parametrize("action", REGION_PAIR)
def test_either_region_permission_stands_in_for_the_other(
    iam_server: IamServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, action: str
) -> None:
    """Without s3:ListBucket, HeadBucket is denied (moto's 403 has no x-amz-bucket-region) and
    GetBucketLocation names the region; without s3:GetBucketLocation it is never asked. (The
    delivery proof lists the log bucket's objects: it needs s3:ListBucket whatever the region
    permissions, see the next test.)"""
    before = _state(iam_server)
    user = f"minus-{action.replace(':', '-')}"
    passed, code, text = _run_flow(
        iam_server, user, tmp_path / "j.jsonl", monkeypatch, verify=False
    )
    assert code == 0, f"failed after {passed} without {action}: {text}"
    assert _state(iam_server) == before


def test_the_delivery_proof_needs_list_bucket_and_says_so(
    iam_server: IamServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    before = _state(iam_server)
    passed, code, text = _run_flow(
        iam_server, "minus-s3-ListBucket", tmp_path / "j.jsonl", monkeypatch
    )
    assert passed[-1] == "rollback" and code == 3, f"after {passed}, exit {code}: {text}"
    assert "UNVERIFIABLE" in text and "s3:ListBucket" in text
    assert _state(iam_server) == before


def test_without_both_region_permissions_the_flow_fails_naming_them(
    iam_server: IamServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    before = _state(iam_server)
    passed, code, text = _run_flow(
        iam_server, "minus-region-pair", tmp_path / "j.jsonl", monkeypatch
    )
    assert code != 0, "the flow succeeded without s3:ListBucket and s3:GetBucketLocation"
    assert all(a in text for a in REGION_PAIR), f"after {passed}, exit {code}: {text}"
    assert _state(iam_server) == before
