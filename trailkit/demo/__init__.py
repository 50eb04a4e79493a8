"""The demo: a local AWS (moto) with a seeded CloudTrail/KMS estate, and JupyterLab on top of it.

Three layers, each usable on its own:

* :class:`DemoServer` runs moto's HTTP server on ``127.0.0.1`` inside this process.
* :func:`seed_demo` builds the demo estate through an ordinary
  :class:`~trailkit.aws.session.Connection` (so it works against any moto endpoint) and returns
  a :class:`DemoEstate` that says what it made.
* :func:`run_demo` and :func:`run_lab` are what ``trailkit demo`` and ``trailkit lab`` run.

The estate (two accounts, four regions) is built to exercise every pre-check of the product::

    trail            home            bucket (its region)                  encryption
    org-trail        us-east-1 (MR)  tk-org-logs-123456789012 (use1)      SSE-S3, organization
    app-trail        eu-west-1       tk-app-logs-euw1 (euw1)              cloudtrail-good-euw1
    tokyo-trail      ap-northeast-1  tk-tokyo-logs-usw2 (usw2)            SSE-S3, bucket elsewhere
    bucketkey-trail  us-west-2       tk-bucketkey-logs-usw2 (usw2)        SSE-S3, S3 Bucket Key
    stale-key-trail  us-east-1       tk-stale-logs-use1 (use1)            disabled key, stopped
    archive-trail    us-east-1       tk-archive-logs-210987654321 (use1)  SSE-S3 (second account)

moto quirks handled here (see ``docs/testing-notes.md`` in the shared docs):

* ``DisableKey``/``ScheduleKeyDeletion``/``ReplicateKey`` fail with key ARNs: bare key ids are sent.
* ``DescribeKey`` omits ``KeyUsage``/``MultiRegion`` unless given at creation: always given.
* ``GetBucketEncryption`` is 404 on a new bucket: every bucket gets explicit default encryption.
* ``ReplicateKey`` makes a *shallow* copy of the primary key, so primary and replica share their
  ``MultiRegionConfiguration``, alias and grant dictionaries. Describing the replica then flips the
  primary's ``MultiRegionKeyType`` to ``REPLICA``, and an alias created for the replica shows up on
  the primary (or is refused as a duplicate). When moto runs in this process (:class:`DemoServer`),
  :func:`patch_moto` fixes ``ReplicateKey`` so the replica gets its own copies. Against a moto
  server in another process the fix cannot be applied: readers should then tell primary from
  replica by comparing the key ARN with ``MultiRegionConfiguration.PrimaryKey.Arn`` (always right),
  and the replica's alias is reported as already existing (the seeding tolerates that).
"""

from __future__ import annotations

import configparser
import contextlib
import json
import logging
import os
import re
import secrets
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType, TracebackType
from typing import Any, TextIO

import botocore.exceptions

from trailkit.aws.session import DEMO_ACCOUNT, Connection
from trailkit.errors import InputError

__all__ = [
    "DEMO_ACCOUNT",
    "DEMO_REGIONS",
    "OTHER_ACCOUNT",
    "PLACEHOLDER_CREDENTIAL",
    "SECOND_ACCOUNT",
    "DemoEstate",
    "DemoServer",
    "cloudtrail_bucket_policy",
    "cloudtrail_key_policy",
    "lab_environment",
    "patch_moto",
    "reset",
    "root_key_policy",
    "run_demo",
    "run_lab",
    "seed_demo",
    "start_demo",
]

#: The log-archive account of the demo (a second moto account).
SECOND_ACCOUNT = "210987654321"
#: The regions the demo estate uses.
DEMO_REGIONS = ("us-east-1", "eu-west-1", "ap-northeast-1", "us-west-2")
#: Access key id and secret of the demo: not secret, only something to sign requests with.
PLACEHOLDER_CREDENTIAL = "trailkit-demo"
#: An account that no demo trail belongs to (for the wrong-account key policy).
OTHER_ACCOUNT = "999988887777"

_HOST = "127.0.0.1"
_CLOUDTRAIL = "cloudtrail.amazonaws.com"
_STOP_GRACE_SECONDS = 10.0
# Local servers are reached directly, whatever HTTP(S)_PROXY says.
_LOCAL_OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))
_PROXY_ENV = ("HTTP_PROXY", "HTTPS_PROXY", "http_proxy", "https_proxy")
_log = logging.getLogger(__name__)


# -- the moto server -------------------------------------------------------------------------


class _LazyPrivateKey:
    """Stands in for moto's per-key private key and makes it on first use (Sign/Verify/...)."""

    def __init__(self, factory: Callable[[str], Any], key_spec: str) -> None:
        self._factory = factory
        self._key_spec = key_spec
        self._key: Any = None
        self._lock = threading.Lock()

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_"):  # copy/pickle probes, and our own fields before __init__
            raise AttributeError(name)
        with self._lock:
            if self._key is None:
                self._key = self._factory(self._key_spec)
        return getattr(self._key, name)


_MRK_ID = re.compile(r"mrk-[0-9a-fA-F]{32}")
_patch_lock = threading.Lock()
_patched = False


def patch_moto() -> None:
    """Fix three moto KMS behaviours in this process (idempotent; moto running elsewhere is not
    affected).

    * ``ReplicateKey`` copies the primary key shallowly, so both keys share one
      ``multi_region_configuration`` (describing the replica then reports the *primary* as
      ``REPLICA`` too) and one alias and grant dictionary. After the patch the replica has its own
      configuration (``MultiRegionKeyType`` ``REPLICA``; the list of replicas stays shared, as in
      AWS), and starts without aliases or grants.
    * Multi-Region key ids are ``mrk-`` and a hyphenated UUID in moto, but ``mrk-`` and 32 hex
      digits in AWS (which :mod:`trailkit.rules.keyids` insists on). After the patch they are
      AWS-shaped and moto accepts them as bare key ids. (This also keeps them at 36 characters,
      the length moto's ciphertext header has room for.)
    * Every key gets an RSA private key at creation (~30 ms each, even symmetric keys); after the
      patch it is made the first time Sign, Verify or GetPublicKey needs it.
    """
    global _patched
    with _patch_lock:
        if _patched:
            return
        from moto.kms import models as _kms_models
        from moto.kms import responses as _kms_responses

        kms_models: Any = _kms_models
        kms_responses: Any = _kms_responses

        needed = (
            hasattr(kms_models.KmsBackend, "replicate_key"),
            hasattr(kms_models, "generate_key_id"),
            hasattr(kms_models, "generate_private_key"),
            hasattr(kms_responses.KmsResponse, "_validate_cmk_id"),
        )
        if not all(needed):  # pragma: no cover - a moto this module does not know
            _log.warning("moto's KMS internals changed; the demo runs without its fixes")
            _patched = True
            return

        backend_cls: Any = kms_models.KmsBackend
        original_replicate: Callable[..., Any] = backend_cls.replicate_key

        def replicate_key(self: Any, key_id: str, replica_region: str) -> Any:
            replica = original_replicate(self, key_id, replica_region)
            shared = replica.multi_region_configuration
            replica.multi_region_configuration = {
                "MultiRegionKeyType": "REPLICA",
                "PrimaryKey": dict(shared["PrimaryKey"]),
                "ReplicaKeys": shared["ReplicaKeys"],
            }
            shared["MultiRegionKeyType"] = "PRIMARY"
            replica.aliases = {}
            replica.grants = {}
            return replica

        backend_cls.replicate_key = replicate_key

        original_key_id: Callable[..., str] = kms_models.generate_key_id

        def generate_key_id(multi_region: bool = False) -> str:
            if multi_region:
                return "mrk-" + uuid.uuid4().hex
            return original_key_id(multi_region)

        kms_models.generate_key_id = generate_key_id

        # moto's own check of bare key ids only knows its hyphenated form: hand it such an id as
        # a key ARN, which it accepts and reduces to the bare id again.
        response_cls: Any = kms_responses.KmsResponse
        original_validate: Callable[..., None] = response_cls._validate_cmk_id

        def _validate_cmk_id(self: Any, key_id: str) -> None:
            if _MRK_ID.fullmatch(key_id):
                key_id = f"arn:aws:kms:{self.region}:{self.current_account}:key/{key_id}"
            original_validate(self, key_id)

        response_cls._validate_cmk_id = _validate_cmk_id

        make_private_key: Callable[[str], Any] = kms_models.generate_private_key

        def generate_private_key(key_spec: str) -> Any:
            return _LazyPrivateKey(make_private_key, key_spec)

        kms_models.generate_private_key = generate_private_key
        _patched = True


def _port_is_free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((_HOST, port))
        except OSError:
            return False
    return True


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((_HOST, 0))
        return int(sock.getsockname()[1])


class DemoServer:
    """moto's HTTP server on ``127.0.0.1``, running in a thread of this process.

    Parameters
    ----------
    port
        TCP port; ``0`` picks a free one (read it back from :attr:`port` or :attr:`endpoint`).

    Examples
    --------
    >>> with DemoServer() as server:  # doctest: +SKIP
    ...     conn = Connection(endpoint_url=server.endpoint)
    """

    def __init__(self, port: int = 0) -> None:
        if not 0 <= port <= 65535:
            raise InputError(f"{port} is not a TCP port.", "use a number between 0 and 65535")
        self._requested_port = port
        self._moto: Any = None
        self._port: int | None = None

    def start(self) -> DemoServer:
        """Start the server (no-op when running) and return ``self``.

        Raises
        ------
        InputError
            moto is not installed, or the port is in use.
        """
        if self._moto is not None:
            return self
        try:
            from moto.server import ThreadedMotoServer
        except ImportError as exc:  # pragma: no cover - depends on the installation
            raise InputError(
                "The demo needs moto, which is not installed.",
                "pip install 'trailkit[demo]'",
            ) from exc
        if self._requested_port and not _port_is_free(self._requested_port):
            raise InputError(
                f"Port {self._requested_port} on {_HOST} is already in use.",
                "choose another port, or 0 for a free one",
            )
        logging.getLogger("werkzeug").setLevel(logging.ERROR)
        patch_moto()

        class _Server(ThreadedMotoServer):
            """Does not hang in ``start()`` when the socket cannot be bound."""

            failure: BaseException | None = None

            def _server_entry(self) -> None:
                try:
                    super()._server_entry()
                except BaseException as exc:
                    self.failure = exc
                    self._server_ready_event.set()

        server = _Server(ip_address=_HOST, port=self._requested_port, verbose=False)
        server.start()
        if server.failure is not None:
            raise InputError(
                f"The demo server could not listen on {_HOST}:{self._requested_port} "
                f"({server.failure!r}).",
                "choose another port, or 0 for a free one",
            )
        self._moto = server
        self._port = int(server.get_host_and_port()[1])
        return self

    @property
    def running(self) -> bool:
        """Whether the server is started."""
        return self._moto is not None

    @property
    def port(self) -> int:
        """The port the server listens on."""
        if self._port is None:
            raise RuntimeError("the demo server is not started")
        return self._port

    @property
    def endpoint(self) -> str:
        """``http://127.0.0.1:PORT``: the endpoint URL for boto3."""
        return f"http://{_HOST}:{self.port}"

    def connection(self, region: str = "us-east-1") -> Connection:
        """A :class:`Connection` to this server (demo account, placeholder credentials)."""
        return Connection(endpoint_url=self.endpoint, region=region, demo=True)

    def stop(self) -> None:
        """Stop the server and release its port (no-op when not running)."""
        server, self._moto, self._port = self._moto, None, None
        if server is None:
            return
        server.stop()
        wsgi = getattr(server, "_server", None)
        if wsgi is not None:
            wsgi.server_close()

    def __enter__(self) -> DemoServer:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def __repr__(self) -> str:
        where = self.endpoint if self.running else "stopped"
        return f"<DemoServer {where}>"


def reset(endpoint: str, *, timeout: float = 10.0) -> None:
    """Forget every resource of the moto server at ``endpoint`` (``POST /moto-api/reset``).

    Parameters
    ----------
    endpoint
        The server's URL, e.g. ``http://127.0.0.1:5000``.
    timeout
        Seconds to wait for the answer.
    """
    if not endpoint.startswith(("http://", "https://")):
        raise InputError(f"{endpoint!r} is not an http(s) URL.", "pass the demo endpoint URL")
    url = endpoint.rstrip("/") + "/moto-api/reset"
    request = urllib.request.Request(url, method="POST")  # noqa: S310 - http(s) only
    with _LOCAL_OPENER.open(request, timeout=timeout) as response:
        response.read()


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
            "Principal": {"Service": _CLOUDTRAIL},
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
                "Principal": {"Service": _CLOUDTRAIL},
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
        "Principal": {"Service": _CLOUDTRAIL},
        "Action": "kms:GenerateDataKey*",
        "Resource": "*",
    }


def _bucket_key_decrypt_statement(account: str) -> dict[str, Any]:
    return {
        "Sid": "Allow CloudTrail to decrypt for the S3 Bucket Key",
        "Effect": "Allow",
        "Principal": {"Service": _CLOUDTRAIL},
        "Action": "kms:Decrypt",
        "Resource": "*",
        "Condition": {
            "StringLike": {"kms:EncryptionContext:aws:cloudtrail:arn": _trail_pattern(account)}
        },
    }


def cloudtrail_bucket_policy(
    bucket: str, account: str, trail_arn: str, *, require_kms: bool = False
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
        ``s3:x-amz-server-side-encryption`` is ``aws:kms`` (the trap for SSE-S3 digest files).
    """
    statements: list[dict[str, Any]] = [
        {
            "Sid": "AWSCloudTrailAclCheck",
            "Effect": "Allow",
            "Principal": {"Service": _CLOUDTRAIL},
            "Action": "s3:GetBucketAcl",
            "Resource": f"arn:aws:s3:::{bucket}",
            "Condition": {"StringEquals": {"aws:SourceArn": trail_arn}},
        },
        {
            "Sid": "AWSCloudTrailWrite",
            "Effect": "Allow",
            "Principal": {"Service": _CLOUDTRAIL},
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
    return {"Version": "2012-10-17", "Statement": statements}


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
        Bucket name -> bucket region.
    accounts
        Account id -> role (``management`` or ``log-archive``).
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
    regions: tuple[str, ...] = DEMO_REGIONS
    seconds: float = 0.0

    def key_id(self, alias: str) -> str:
        """The bare key id of the key behind ``alias`` (as :attr:`keys` records it)."""
        return self.keys[alias].rsplit("/", 1)[1]

    def trail_region(self, name: str) -> str:
        """The home region of trail ``name``."""
        return self.trails[name].split(":")[3]

    def summary(self) -> str:
        """One line: how much there is."""
        if not self.trails and not self.keys:
            return "Demo estate: empty (not seeded)."
        keys = len(self.keys) + len(self.replica_keys)
        return (
            f"Demo estate: {len(self.trails)} trails, {keys} KMS keys, "
            f"{len(self.buckets)} buckets in {len(self.accounts)} accounts and "
            f"{len(self.regions)} regions (seeded in {self.seconds:.1f} s)."
        )


@dataclass(frozen=True)
class _TrailSpec:
    name: str
    region: str
    bucket: str
    bucket_region: str
    key_alias: str | None = None
    multi_region: bool = False
    organization: bool = False
    validation: bool = False
    logging: bool = True
    require_kms_uploads: bool = False
    bucket_default_key: str | None = None  # the bucket's default SSE-KMS key (else AES256)
    bucket_key_enabled: bool = False


_MAIN_TRAILS = (
    _TrailSpec(
        "org-trail",
        "us-east-1",
        f"tk-org-logs-{DEMO_ACCOUNT}",
        "us-east-1",
        multi_region=True,
        organization=True,
        validation=True,
    ),
    _TrailSpec(
        "app-trail",
        "eu-west-1",
        "tk-app-logs-euw1",
        "eu-west-1",
        key_alias="alias/cloudtrail-good-euw1",
        validation=True,
        require_kms_uploads=True,
        bucket_default_key="alias/cloudtrail-good-euw1",
    ),
    _TrailSpec("tokyo-trail", "ap-northeast-1", "tk-tokyo-logs-usw2", "us-west-2"),
    _TrailSpec(
        "bucketkey-trail",
        "us-west-2",
        "tk-bucketkey-logs-usw2",
        "us-west-2",
        bucket_default_key="alias/bucket-default-usw2",
        bucket_key_enabled=True,
    ),
    _TrailSpec(
        "stale-key-trail",
        "us-east-1",
        "tk-stale-logs-use1",
        "us-east-1",
        key_alias="alias/cloudtrail-disabled",
        logging=False,
    ),
)
_ARCHIVE_TRAIL = _TrailSpec(
    "archive-trail", "us-east-1", f"tk-archive-logs-{SECOND_ACCOUNT}", "us-east-1"
)


def _create_key(
    conn: Connection,
    region: str,
    alias: str,
    policy: dict[str, Any],
    *,
    key_spec: str = "SYMMETRIC_DEFAULT",
    key_usage: str = "ENCRYPT_DECRYPT",
    multi_region: bool = False,
) -> tuple[str, str]:
    """Create a key with ``alias``; returns (key id, key ARN)."""
    kms = conn.client("kms", region)
    meta = kms.create_key(
        Policy=json.dumps(policy),
        Description=f"trailkit demo: {alias}",
        KeyUsage=key_usage,
        KeySpec=key_spec,
        MultiRegion=multi_region,
        Tags=[{"TagKey": "trailkit:demo", "TagValue": "true"}],
    )["KeyMetadata"]
    kms.create_alias(AliasName=alias, TargetKeyId=meta["KeyId"])
    return str(meta["KeyId"]), str(meta["Arn"])


def _seed_keys(conn: Connection, keys: dict[str, str], replicas: dict[str, str]) -> None:
    acct = DEMO_ACCOUNT

    def good(region: str, **kw: Any) -> dict[str, Any]:
        return cloudtrail_key_policy(acct, region=region, **kw)

    use1 = "us-east-1"
    plain: list[tuple[str, str, dict[str, Any]]] = [
        (use1, "alias/cloudtrail-good", good(use1)),
        (use1, "alias/no-cloudtrail", root_key_policy(acct)),
        (use1, "alias/encrypt-no-describe", good(use1, describe=False)),
        (use1, "alias/explicit-deny", good(use1, extra=(_deny_encrypt_statement(),))),
        (use1, "alias/other-account-context", good(use1, trail_account=OTHER_ACCOUNT)),
        ("eu-west-1", "alias/cloudtrail-good-euw1", good("eu-west-1")),
        ("us-west-2", "alias/cloudtrail-good-usw2", good("us-west-2")),
        (
            "us-west-2",
            "alias/cloudtrail-bucketkey-usw2",
            good("us-west-2", extra=(_bucket_key_decrypt_statement(acct),)),
        ),
        ("us-west-2", "alias/bucket-default-usw2", root_key_policy(acct)),
        ("ap-northeast-1", "alias/cloudtrail-good-apne1", good("ap-northeast-1")),
        (use1, "alias/no-readers", no_readers_key_policy(acct, region=use1)),
    ]
    for region, alias, policy in plain:
        keys[alias] = _create_key(conn, region, alias, policy)[1]

    kms = conn.client("kms", use1)
    key_id, keys["alias/cloudtrail-disabled"] = _create_key(
        conn, use1, "alias/cloudtrail-disabled", good(use1)
    )
    kms.disable_key(KeyId=key_id)  # moto: bare key id only
    key_id, keys["alias/pending-deletion"] = _create_key(
        conn, use1, "alias/pending-deletion", good(use1)
    )
    kms.schedule_key_deletion(KeyId=key_id, PendingWindowInDays=7)
    keys["alias/rsa-signing"] = _create_key(
        conn, use1, "alias/rsa-signing", good(use1), key_spec="RSA_2048", key_usage="SIGN_VERIFY"
    )[1]

    # Multi-Region: primary in us-east-1, replica in us-west-2 with its own policy and alias.
    mrk = "alias/multi-region-good"
    key_id, keys[mrk] = _create_key(conn, use1, mrk, good(use1), multi_region=True)
    usw2 = "us-west-2"
    replica_policy = json.dumps(good(usw2))
    replica = kms.replicate_key(KeyId=key_id, ReplicaRegion=usw2, Policy=replica_policy)
    replica_arn = str(replica["ReplicaKeyMetadata"]["Arn"])
    kms_usw2 = conn.client("kms", usw2)
    kms_usw2.put_key_policy(KeyId=key_id, PolicyName="default", Policy=replica_policy)
    try:
        kms_usw2.create_alias(AliasName=mrk, TargetKeyId=key_id)
    except botocore.exceptions.ClientError as exc:
        # Unpatched moto (another process) shares the primary's aliases with the replica.
        if exc.response.get("Error", {}).get("Code") != "AlreadyExistsException":
            raise
        _log.warning("moto shares aliases between %s and its replica (unpatched moto)", mrk)
    replicas[mrk] = replica_arn


def _seed_bucket(conn: Connection, account: str, spec: _TrailSpec, keys: Mapping[str, str]) -> None:
    s3 = conn.client("s3", spec.bucket_region)
    if spec.bucket_region == "us-east-1":
        s3.create_bucket(Bucket=spec.bucket)
    else:
        s3.create_bucket(
            Bucket=spec.bucket,
            CreateBucketConfiguration={"LocationConstraint": spec.bucket_region},
        )
    trail_arn = f"arn:aws:cloudtrail:{spec.region}:{account}:trail/{spec.name}"
    policy = cloudtrail_bucket_policy(
        spec.bucket, account, trail_arn, require_kms=spec.require_kms_uploads
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


def _seed_trail(conn: Connection, spec: _TrailSpec, keys: Mapping[str, str]) -> str:
    ct = conn.client("cloudtrail", spec.region)
    kwargs: dict[str, Any] = {
        "Name": spec.name,
        "S3BucketName": spec.bucket,
        "IsMultiRegionTrail": spec.multi_region,
        "EnableLogFileValidation": spec.validation,
        "IsOrganizationTrail": spec.organization,
        "IncludeGlobalServiceEvents": True,
        "TagsList": [{"Key": "trailkit:demo", "Value": "true"}],
    }
    if spec.key_alias:
        kwargs["KmsKeyId"] = keys[spec.key_alias]  # moto stores it as sent: send the ARN
    arn = str(ct.create_trail(**kwargs)["TrailARN"])
    ct.start_logging(Name=spec.name)
    if not spec.logging:
        ct.stop_logging(Name=spec.name)
    return arn


def seed_demo(conn: Connection) -> DemoEstate:
    """Build the demo estate through ``conn`` (see the module docstring for what it contains).

    Parameters
    ----------
    conn
        A connection to a moto endpoint acting as :data:`DEMO_ACCOUNT`; the second account is
        reached with ``conn.for_account(SECOND_ACCOUNT)``. The server should be freshly reset:
        seeding twice fails on the existing buckets and aliases. When moto is loaded in this
        process (e.g. a ``ThreadedMotoServer`` started by a test), :func:`patch_moto` is applied
        first, so an in-process server gets the same fixes as :class:`DemoServer`.

    Returns
    -------
    DemoEstate
        Names and ARNs of everything that was made, and how long it took.
    """
    started = time.perf_counter()
    if "moto" in sys.modules:
        patch_moto()
    keys: dict[str, str] = {}
    replicas: dict[str, str] = {}
    trails: dict[str, str] = {}
    trail_buckets: dict[str, str] = {}
    buckets: dict[str, str] = {}

    _seed_keys(conn, keys, replicas)
    for spec in _MAIN_TRAILS:
        _seed_bucket(conn, DEMO_ACCOUNT, spec, keys)
        buckets[spec.bucket] = spec.bucket_region
        trails[spec.name] = _seed_trail(conn, spec, keys)
        trail_buckets[spec.name] = spec.bucket

    second = conn.for_account(SECOND_ACCOUNT)
    keys["alias/shared-logs-key"] = _create_key(
        second,
        "us-east-1",
        "alias/shared-logs-key",
        cloudtrail_key_policy(SECOND_ACCOUNT, region="us-east-1", trail_account=DEMO_ACCOUNT),
    )[1]
    _seed_bucket(second, SECOND_ACCOUNT, _ARCHIVE_TRAIL, keys)
    buckets[_ARCHIVE_TRAIL.bucket] = _ARCHIVE_TRAIL.bucket_region
    trails[_ARCHIVE_TRAIL.name] = _seed_trail(second, _ARCHIVE_TRAIL, keys)
    trail_buckets[_ARCHIVE_TRAIL.name] = _ARCHIVE_TRAIL.bucket

    return DemoEstate(
        endpoint=conn.endpoint_url,
        trails=trails,
        trail_buckets=trail_buckets,
        keys=keys,
        replica_keys=replicas,
        buckets=buckets,
        accounts={DEMO_ACCOUNT: "management", SECOND_ACCOUNT: "log-archive"},
        seconds=time.perf_counter() - started,
    )


def start_demo(port: int = 0, seed: bool = True) -> tuple[DemoServer, DemoEstate]:
    """Start a :class:`DemoServer` and (by default) seed it.

    Parameters
    ----------
    port
        Port on ``127.0.0.1``; ``0`` picks a free one.
    seed
        Build the demo estate; otherwise the returned estate is empty.

    Returns
    -------
    tuple[DemoServer, DemoEstate]
        The running server (stop it when done) and what was seeded.
    """
    server = DemoServer(port).start()
    if not seed:
        return server, DemoEstate(endpoint=server.endpoint)
    try:
        return server, seed_demo(server.connection())
    except BaseException:
        server.stop()
        raise


# -- command-line entry points ---------------------------------------------------------------


@contextlib.contextmanager
def _stop_signals(stop: threading.Event) -> Iterator[None]:
    """While inside, SIGINT and SIGTERM set ``stop`` (main thread only; elsewhere a no-op)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def handler(signum: int, frame: FrameType | None) -> None:
        stop.set()

    previous = {sig: signal.signal(sig, handler) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for sig, old in previous.items():
            signal.signal(sig, old)


def _say(out: TextIO, text: str = "") -> None:
    out.write(text + "\n")
    out.flush()


def run_demo(port: int = 0, *, out: TextIO = sys.stdout) -> int:
    """``trailkit demo``: run the seeded demo AWS until SIGINT or SIGTERM.

    Parameters
    ----------
    port
        Port on ``127.0.0.1``; ``0`` picks a free one.
    out
        Where the endpoint and the shell settings are printed.

    Returns
    -------
    int
        ``0`` after a clean stop.
    """
    stop = threading.Event()
    with _stop_signals(stop):
        server, estate = start_demo(port)
        try:
            _say(out, f"trailkit demo: local AWS (moto) listening on {server.endpoint}")
            _say(out, "Point the AWS CLI, boto3 or trailkit at it from another shell:")
            _say(out, f"  export AWS_ENDPOINT_URL={server.endpoint}")
            _say(out, "  export AWS_DEFAULT_REGION=us-east-1")
            _say(out, f"  export AWS_ACCESS_KEY_ID={PLACEHOLDER_CREDENTIAL}")
            _say(out, f"  export AWS_SECRET_ACCESS_KEY={PLACEHOLDER_CREDENTIAL}")
            _say(out, estate.summary())
            _say(out, "Press Ctrl-C (or send SIGTERM) to stop.")
            while not stop.wait(0.5):
                pass
            _say(out, "trailkit demo: stopping.")
        finally:
            server.stop()
    return 0


_CREDENTIAL_ENV = (
    "AWS_ACCESS_KEY_ID",
    "AWS_PROFILE",
    "AWS_DEFAULT_PROFILE",
    "AWS_WEB_IDENTITY_TOKEN_FILE",
    "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
    "AWS_CONTAINER_CREDENTIALS_FULL_URI",
)
_CONFIG_CREDENTIAL_KEYS = (
    "aws_access_key_id",
    "credential_process",
    "role_arn",
    "web_identity_token_file",
    "sso_session",
    "sso_start_url",
)


def _has_default_credentials(path: Path, section: str) -> bool:
    parser = configparser.RawConfigParser()
    try:
        parser.read(path, encoding="utf-8")
    except (OSError, configparser.Error):
        return False
    if not parser.has_section(section):
        return False
    return any(parser.has_option(section, key) for key in _CONFIG_CREDENTIAL_KEYS)


def _credentials_configured(env: Mapping[str, str]) -> bool:
    """Whether ``env`` (or the shared AWS files) configure credentials; IMDS is not probed."""
    if any(env.get(name) for name in _CREDENTIAL_ENV):
        return True
    home = Path(env.get("HOME") or Path.home())
    credentials = Path(env.get("AWS_SHARED_CREDENTIALS_FILE") or home / ".aws" / "credentials")
    config = Path(env.get("AWS_CONFIG_FILE") or home / ".aws" / "config")
    return _has_default_credentials(credentials, "default") or _has_default_credentials(
        config, "default"
    )


def _source_root() -> Path | None:
    """The repository root when trailkit runs from a source checkout (else ``None``)."""
    root = Path(__file__).resolve().parents[2]
    if (root / "pyproject.toml").is_file() and "site-packages" not in root.parts:
        return root
    return None


def lab_environment(
    *,
    aws: bool = False,
    endpoint: str | None = None,
    profile: str | None = None,
    base: Mapping[str, str] | None = None,
) -> dict[str, str]:
    """The environment JupyterLab (and so every kernel) runs with.

    Parameters
    ----------
    aws
        Real AWS: ``AWS_ENDPOINT_URL`` is removed, ``TRAILKIT_BACKEND=aws`` and ``AWS_PROFILE``
        (when ``profile`` is given) are set, and the demo's placeholder keys, if exported, are
        dropped. Nothing else changes.
    endpoint
        Demo: the demo server's URL. Sets ``AWS_ENDPOINT_URL``, ``AWS_DEFAULT_REGION=us-east-1``
        and ``TRAILKIT_BACKEND=demo``; removes per-service endpoint overrides and
        ``AWS_IGNORE_CONFIGURED_ENDPOINT_URLS`` so that every service reaches the demo; adds
        ``127.0.0.1`` to ``NO_PROXY`` when a proxy is set; sets placeholder keys only when no
        credentials are configured (environment, ``AWS_PROFILE`` or the shared files' default
        profile; instance metadata is not probed).
    profile
        AWS profile for real AWS.
    base
        The starting environment (default: ``os.environ``).

    Returns
    -------
    dict[str, str]
        A new environment; ``base`` is not modified.
    """
    env = dict(os.environ if base is None else base)
    if aws:
        env.pop("AWS_ENDPOINT_URL", None)
        env["TRAILKIT_BACKEND"] = "aws"
        if profile:
            env["AWS_PROFILE"] = profile
        if env.get("AWS_ACCESS_KEY_ID") == PLACEHOLDER_CREDENTIAL:
            env.pop("AWS_ACCESS_KEY_ID", None)
            env.pop("AWS_SECRET_ACCESS_KEY", None)
    else:
        if not endpoint:
            raise InputError("The demo environment needs the demo endpoint.", "")
        for name in list(env):
            if name.startswith("AWS_ENDPOINT_URL_"):
                del env[name]
        env.pop("AWS_IGNORE_CONFIGURED_ENDPOINT_URLS", None)
        env["AWS_ENDPOINT_URL"] = endpoint
        env["AWS_DEFAULT_REGION"] = "us-east-1"
        env["TRAILKIT_BACKEND"] = "demo"
        if any(env.get(name) for name in _PROXY_ENV):
            for name in ("NO_PROXY", "no_proxy"):
                hosts = [h for h in env.get(name, "").split(",") if h.strip()]
                hosts += [h for h in (_HOST, "localhost") if h not in hosts]
                env[name] = ",".join(hosts)
        if not _credentials_configured(env):
            env["AWS_ACCESS_KEY_ID"] = PLACEHOLDER_CREDENTIAL
            env["AWS_SECRET_ACCESS_KEY"] = PLACEHOLDER_CREDENTIAL
    root = _source_root()
    if root is not None:
        paths = [p for p in env.get("PYTHONPATH", "").split(os.pathsep) if p]
        if str(root) not in paths:
            env["PYTHONPATH"] = os.pathsep.join([str(root), *paths])
    return env


def _default_notebook_dir() -> Path:
    packaged = Path(__file__).resolve().parents[2] / "notebooks"
    return packaged if packaged.is_dir() else Path.cwd()


def _lab_ready(port: int, token: str) -> bool:
    request = urllib.request.Request(
        f"http://{_HOST}:{port}/api/status", headers={"Authorization": f"token {token}"}
    )
    try:
        with _LOCAL_OPENER.open(request, timeout=1.0) as response:
            return bool(response.status == 200)
    except (OSError, urllib.error.URLError):
        return False


def _stop_process(proc: subprocess.Popen[bytes], grace: float = _STOP_GRACE_SECONDS) -> int:
    """SIGTERM, wait ``grace`` seconds, then SIGKILL; returns the exit code."""
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=grace)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
    return int(proc.returncode)


def _exit_code(code: int) -> int:
    return 128 - code if code < 0 else code


def supervise(
    proc: subprocess.Popen[bytes],
    stop: threading.Event,
    ready: Callable[[], bool],
    *,
    command: str,
    server_name: str,
    url: str,
    out: TextIO,
) -> int:
    """Run a server subprocess until it exits or ``stop`` is set; announce it once ready.

    Used by ``trailkit lab`` (JupyterLab) and ``trailkit app`` (Voila). Returns 0 for a clean
    stop on request, otherwise the server's exit code (signals as 128 + n).
    """
    announced = False
    try:
        while proc.poll() is None and not stop.is_set():
            if not announced and ready():
                announced = True
                _say(out, f"trailkit {command}: {server_name} is ready at {url}")
                _say(out, "Press Ctrl-C (or send SIGTERM) to stop.")
            stop.wait(0.25)
    finally:
        code = _stop_process(proc)
    if stop.is_set():
        _say(out, f"trailkit {command}: stopped.")
        return 0 if code in (0, -signal.SIGTERM) else _exit_code(code)
    _say(out, f"trailkit {command}: {server_name} exited with code {code}.")
    return _exit_code(code)


def run_lab(
    *,
    aws: bool = False,
    profile: str | None = None,
    demo_port: int = 0,
    port: int = 8888,
    notebook_dir: Path | None = None,
    open_browser: bool = False,
    out: TextIO = sys.stdout,
) -> int:
    """``trailkit lab``: JupyterLab whose kernels reach the demo (or real AWS with ``aws``).

    Unless ``aws``, the seeded demo server runs in this process for as long as JupyterLab runs.
    JupyterLab is a child process (``python -m jupyterlab``) listening on ``127.0.0.1`` with a
    generated token (passed as ``JUPYTER_TOKEN``, so it does not show in the process list);
    Jupyter's config, data and runtime directories are the usual ones, or whatever
    ``JUPYTER_CONFIG_DIR`` etc. say. SIGINT and SIGTERM stop JupyterLab (SIGTERM, then SIGKILL
    after 10 s) and the demo server. When running as root, ``--allow-root`` is passed.

    Parameters
    ----------
    aws
        Real AWS instead of the demo (see :func:`lab_environment`).
    profile
        AWS profile (only with ``aws``).
    demo_port
        Port of the demo server; ``0`` picks a free one.
    port
        JupyterLab's port; ``0`` picks a free one.
    notebook_dir
        JupyterLab's root directory (default: the repository's ``notebooks/``, else the current
        directory).
    open_browser
        Let JupyterLab open a browser.
    out
        Where the URL and progress are printed (never credentials).

    Returns
    -------
    int
        ``0`` after a stop by signal (``137`` if JupyterLab had to be killed); otherwise
        JupyterLab's own exit code (``128 + N`` when it died of signal ``N``).

    Raises
    ------
    InputError
        The notebook directory does not exist, a port is in use, or the profile is unknown.
    """
    root = (notebook_dir or _default_notebook_dir()).expanduser().resolve()
    if not root.is_dir():
        raise InputError(f"The notebook directory {root} does not exist.", "pass --notebook-dir")
    if port == 0:
        port = _free_port()
    elif not _port_is_free(port):
        raise InputError(f"Port {port} on {_HOST} is already in use.", "choose another --port")
    if aws and profile:
        Connection(profile=profile, demo=False)  # raises InputError for an unknown profile

    stop = threading.Event()
    server: DemoServer | None = None
    with _stop_signals(stop):
        try:
            if aws:
                env = lab_environment(aws=True, profile=profile)
                _say(out, "trailkit lab: REAL AWS" + (f" (profile {profile})" if profile else ""))
            else:
                if profile:
                    _say(out, f"trailkit lab: --profile {profile} is only used with --aws.")
                server, estate = start_demo(demo_port)
                env = lab_environment(endpoint=server.endpoint)
                _say(out, f"trailkit lab: DEMO backend at {server.endpoint}")
                _say(out, estate.summary())
            if stop.is_set():
                return 0
            token = secrets.token_hex(24)
            env["JUPYTER_TOKEN"] = token
            cmd = [
                sys.executable,
                "-m",
                "jupyterlab",
                f"--ServerApp.ip={_HOST}",
                f"--ServerApp.port={port}",
                "--ServerApp.port_retries=0",
                f"--ServerApp.root_dir={root}",
            ]
            if not open_browser:
                cmd.append("--no-browser")
            if hasattr(os, "geteuid") and os.geteuid() == 0:
                cmd.append("--allow-root")
            url = f"http://{_HOST}:{port}/lab?token={token}"
            _say(out, f"trailkit lab: starting JupyterLab on port {port} (notebooks: {root})")
            # Own session: a terminal's Ctrl-C reaches only us, and we stop Jupyter cleanly.
            proc = subprocess.Popen(cmd, env=env, cwd=root, start_new_session=True)
            return supervise(
                proc,
                stop,
                lambda: _lab_ready(port, token),
                command="lab",
                server_name="JupyterLab",
                url=url,
                out=out,
            )
        finally:
            if server is not None:
                server.stop()
