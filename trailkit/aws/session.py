"""Connection to AWS: the only place boto3 sessions and clients are made.

A :class:`Connection` holds one boto3 session (profile, region), the endpoint URL
(``--endpoint-url`` or ``AWS_ENDPOINT_URL``), botocore's retry configuration and a bounded worker
count. It makes
clients on demand (one per service and region, shared between threads), counts every API call by
operation, and knows the caller's identity (``sts:GetCallerIdentity``) so that every view can say
which account and endpoint it is looking at. A connection to a local endpoint is the *demo*
backend and says so wherever it is shown.
"""

from __future__ import annotations

import configparser
import os
import threading
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import boto3
import botocore.config
import botocore.exceptions

from trailkit.arn import is_region
from trailkit.errors import ConnectionFailed, InputError, assume_role_error, translate
from trailkit.i18n import _
from trailkit.permissions import requires
from trailkit.records import ConnectionInfo

__all__ = [
    "LOCAL_PLACEHOLDER_CREDENTIAL",
    "MAX_WORKERS",
    "Connection",
    "ConnectionInfo",
    "check_endpoint_url",
    "check_workers",
    "connect",
    "credentials_configured",
    "is_local_endpoint",
]

_LOCAL_HOSTS = {"127.0.0.1", "localhost", "::1", "0.0.0.0"}  # noqa: S104
RETRY_MODES = ("standard", "adaptive", "legacy")
#: The most concurrent AWS calls one reader makes. More threads only add contention (one CPython
#: process, botocore's CPU per call) and throttling: ``--workers 100000`` made an inventory ten
#: times slower. 64 is where the benchmark still gained at 200 ms latency (README, Performance).
MAX_WORKERS = 64


def check_workers(workers: object) -> int:
    """``workers`` if it is a whole number of concurrent calls between 1 and :data:`MAX_WORKERS`.

    Parameters
    ----------
    workers
        The number asked for (``--workers``, or a ``Connection``/``Reader`` argument).

    Returns
    -------
    int
        ``workers`` unchanged.

    Raises
    ------
    InputError
        Not an int (a bool is not a count either), or outside 1 to :data:`MAX_WORKERS`.
    """
    if isinstance(workers, bool) or not isinstance(workers, int):
        raise InputError(
            _("--workers must be a whole number, not {value}.").format(value=repr(workers)),
            _("use a number from 1 to {most}, e.g. --workers 32").format(most=MAX_WORKERS),
        )
    if not 1 <= workers <= MAX_WORKERS:
        raise InputError(
            _("--workers must be between 1 and {most}, not {value}.").format(
                most=MAX_WORKERS, value=workers
            ),
            _("use a number from 1 to {most} (default 32)").format(most=MAX_WORKERS),
        )
    return workers


def is_local_endpoint(endpoint: str | None) -> bool:
    """Whether ``endpoint`` is a loopback URL (a local AWS such as the demo's moto server).

    Text that is not a URL (``http://[::1``) is not a loopback URL; it is refused, with the
    reason, by :func:`check_endpoint_url` when a :class:`Connection` is made.
    """
    if not endpoint:
        return False
    try:
        host = urlparse(endpoint).hostname or ""
    except ValueError:
        return False
    return host in _LOCAL_HOSTS or host.startswith("127.")


def _endpoint_problem(url: str) -> str | None:
    """Why ``url`` cannot be an AWS endpoint URL, or None when it can."""
    if url != url.strip() or any(c.isspace() or not c.isprintable() for c in url):
        return _("it contains spaces or control characters")
    try:
        parts = urlparse(url)
        port = parts.port  # raises for a port that is not a number or out of range
        host = parts.hostname
    except ValueError as exc:  # "Invalid IPv6 URL", "Port out of range 0-65535", ...
        return _("it is not a URL ({error})").format(error=exc)
    if parts.scheme.lower() not in ("http", "https"):
        return _("it does not start with http:// or https://")
    if not host:
        return _("it names no host")
    if port == 0:
        return _("port 0 cannot be connected to")
    if (
        parts.path not in ("", "/")
        or parts.params
        or parts.query
        or parts.fragment
        or "?" in url
        or "#" in url  # a bare '?' or '#' parses as empty but is not an endpoint either
    ):
        return _("an endpoint is a scheme, host and port only, with no path or query")
    if parts.username is not None or parts.password is not None:
        return _("it contains a user name or password")
    return None


def check_endpoint_url(url: str, option: str = "--endpoint-url") -> str:
    """``url`` if it can be an endpoint for every service (``http(s)://host[:port]``).

    botocore refuses some bad endpoints only when the first request is made, with a bare
    ``ValueError`` (``Invalid endpoint``, ``Port out of range``, ``Invalid IPv6 URL``), and sends
    others (a path, a query) to somewhere that answers with what is not an AWS response. This
    says what is wrong before anything is sent.

    Parameters
    ----------
    url
        The endpoint URL.
    option
        Where it came from, named in the message (``--endpoint-url`` or ``AWS_ENDPOINT_URL``).

    Returns
    -------
    str
        ``url`` unchanged.

    Raises
    ------
    InputError
        ``url`` is not ``http://`` or ``https://`` with a host, an optional port from 1 to
        65535, and no path, query, fragment or credentials.
    """
    problem = _endpoint_problem(url)
    if problem is not None:
        raise InputError(
            _("{option} {url} is not a usable endpoint URL: {why}.").format(
                option=option, url=repr(url[:80]), why=problem
            ),
            _(
                "give http(s)://HOST[:PORT], e.g. http://127.0.0.1:5000 for the demo "
                "(`trailkit demo` prints it), or leave it out for AWS"
            ),
        )
    return url


def _generic_html_errors(response_dict: dict[str, Any], **_: Any) -> None:
    """Treat an HTML page with a 5xx status as a generic server error.

    Proxies, load balancers and moto's internal errors answer ``<!doctype html>...``; botocore
    only recognises pages that start with ``<html>``, tries to parse the others as XML (STS, EC2,
    S3) and raises ``ResponseParserError``, which is neither retried nor a ``BotoCoreError``.
    With the body dropped, botocore reports a plain HTTP 500 and retries it.
    """
    body = response_dict.get("body")
    if (
        int(response_dict.get("status_code") or 0) >= 500
        and isinstance(body, bytes)
        and body.lstrip()[:15].lower().startswith((b"<!doctype html", b"<html"))
    ):
        response_dict["body"] = b""


#: What requests to a loopback endpoint (the demo's moto server, LocalStack) are signed with
#: when no credentials are configured: such servers take any signature, botocore needs one.
#: Not a secret, and never used for any other endpoint.
LOCAL_PLACEHOLDER_CREDENTIAL = "trailkit-demo"

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


def credentials_configured(env: Mapping[str, str]) -> bool:
    """Whether ``env`` (or the shared AWS files) configure credentials; IMDS is not probed.

    Parameters
    ----------
    env : mapping of str to str
        The environment (``os.environ``): access keys, a profile, web identity or container
        credentials, or a ``[default]`` section with credentials in the shared files.

    Returns
    -------
    bool
    """
    if any(env.get(name) for name in _CREDENTIAL_ENV):
        return True
    home = Path(env.get("HOME") or Path.home())
    credentials = Path(env.get("AWS_SHARED_CREDENTIALS_FILE") or home / ".aws" / "credentials")
    config = Path(env.get("AWS_CONFIG_FILE") or home / ".aws" / "config")
    return _has_default_credentials(credentials, "default") or _has_default_credentials(
        config, "default"
    )


class Connection:
    """A boto3 session plus everything needed to make clients the same way everywhere.

    Parameters
    ----------
    profile
        Named AWS profile; ``None`` uses the default credential chain.
    region
        Default region for global calls (STS, EC2 ``DescribeRegions``); falls back to the
        profile's region, then ``us-east-1``.
    endpoint_url
        One endpoint for every service (a local moto server); defaults to ``AWS_ENDPOINT_URL``.
        Either must be ``http(s)://HOST[:PORT]`` (see :func:`check_endpoint_url`), else
        :class:`~trailkit.errors.InputError` naming the option.
    retry_mode
        botocore retry mode: ``standard`` (default) or ``adaptive`` (client-side rate limiting).
    max_attempts
        Total attempts per call, including the first.
    workers
        Upper bound of concurrent AWS calls made by the read layer (default 32; 1 to
        :data:`MAX_WORKERS`, else :class:`~trailkit.errors.InputError`).
    credentials
        ``(access key id, secret access key)`` to sign with instead of the profile or the
        default credential chain. They are handed to boto3 and not kept, shown or logged.
    hooks
        ``(event name, handler)`` pairs registered on every client this connection makes
        (botocore events such as ``before-send``).
    connect_timeout, read_timeout
        Seconds, as in :class:`botocore.config.Config`.

    Notes
    -----
    A loopback endpoint (``127.0.0.1``, ``localhost``, ...) is the *demo* backend: :attr:`demo`
    and :meth:`info` say so, so that every view shows which endpoint it is looking at.
    """

    def __init__(
        self,
        *,
        profile: str | None = None,
        region: str | None = None,
        endpoint_url: str | None = None,
        retry_mode: str = "standard",
        max_attempts: int = 8,
        workers: int = 32,
        credentials: tuple[str, str] | None = None,
        hooks: Sequence[tuple[str, Callable[..., Any]]] = (),
        connect_timeout: float = 5.0,
        read_timeout: float = 30.0,
    ) -> None:
        if retry_mode not in RETRY_MODES:
            raise InputError(
                _("Unknown retry mode {mode}.").format(mode=repr(retry_mode)),
                _("use one of {modes}").format(modes=", ".join(RETRY_MODES)),
            )
        check_workers(workers)
        if profile and credentials is not None:
            raise InputError(
                _("Pass a profile or credentials, not both."), _("leave out --profile")
            )
        if endpoint_url:
            check_endpoint_url(endpoint_url, "--endpoint-url")
        elif os.environ.get("AWS_ENDPOINT_URL"):
            check_endpoint_url(os.environ["AWS_ENDPOINT_URL"], "AWS_ENDPOINT_URL")
        self.endpoint_url = endpoint_url or os.environ.get("AWS_ENDPOINT_URL") or None
        self.profile = profile
        self.workers = workers
        self.retry_mode = retry_mode
        self._hooks = tuple(hooks)
        kwargs: dict[str, Any] = {}
        if profile:
            kwargs["profile_name"] = profile
        if region:
            kwargs["region_name"] = region
        if credentials is not None:
            kwargs["aws_access_key_id"], kwargs["aws_secret_access_key"] = credentials
        try:
            self._session = boto3.Session(**kwargs)
        except botocore.exceptions.ProfileNotFound as exc:
            raise InputError(
                _("The AWS profile {profile} does not exist.").format(profile=repr(profile)),
                _("check `aws configure list-profiles` or leave out --profile"),
            ) from exc
        self.region = region or self._session.region_name or "us-east-1"
        self._config = botocore.config.Config(
            # botocore's "max_attempts" counts retries only; "total_max_attempts" includes the
            # first attempt, as documented for ``max_attempts`` above.
            retries={"mode": retry_mode, "total_max_attempts": max_attempts},
            connect_timeout=connect_timeout,
            read_timeout=read_timeout,
            max_pool_connections=max(10, workers * 2),
        )
        self._clients: dict[tuple[str, str], Any] = {}
        self._lock = threading.Lock()
        self._info: ConnectionInfo | None = None
        self.calls: Counter[str] = Counter()
        # Shared with the connections made by :meth:`assumed`, so that the calls of a scan of
        # several accounts are counted in one place.
        self._calls_lock = threading.Lock()
        #: The role this connection acts through (:meth:`assumed`), or None.
        self.role_arn: str | None = None

    # -- clients -------------------------------------------------------------------------
    def client(self, service: str, region: str | None = None) -> Any:
        """A boto3 client for ``service`` in ``region`` (cached; safe to share between threads)."""
        where = region or self.region
        if not is_region(where):
            # e.g. the region of a hand-typed ARN: botocore would build a URL from it (or refuse
            # it with an unexplained error) and a local endpoint answers with a 500.
            raise InputError(
                _("{region} is not an AWS region name.").format(region=repr(where[:40])),
                _("use a region such as us-east-1"),
            )
        key = (service, where)
        with self._lock:
            existing = self._clients.get(key)
            if existing is not None:
                return existing
            try:
                client = self._session.client(
                    service, region_name=where, endpoint_url=self.endpoint_url, config=self._config
                )
            except (ValueError, botocore.exceptions.BotoCoreError) as exc:
                # botocore refuses a bad endpoint here with a bare ValueError ("Invalid endpoint")
                doing = _("creating the {service} client").format(service=service)
                raise translate(exc, doing, region=where) from None
            client.meta.events.register("before-call", self._count)
            client.meta.events.register("before-parse", _generic_html_errors)
            for event, handler in self._hooks:
                client.meta.events.register(event, handler)
            self._clients[key] = client
            return client

    def _count(self, model: Any, **_: Any) -> None:
        with self._calls_lock:
            self.calls[f"{model.service_model.service_name}:{model.name}"] += 1

    def reset_counts(self) -> None:
        """Forget the API call counts."""
        with self._calls_lock:
            self.calls.clear()

    # -- another account -------------------------------------------------------------------
    @requires("sts:AssumeRole")
    def assumed(
        self,
        role_arn: str,
        *,
        external_id: str | None = None,
        session_name: str = "trailkit",
        duration: int = 3600,
    ) -> Connection:
        """A connection acting in the role's account through ``sts:AssumeRole``.

        The role is assumed once here (so that a role that cannot be assumed fails here, with
        its reason) and again by botocore before the credentials expire
        (:class:`botocore.credentials.RefreshableCredentials`), so a long scan never uses
        expired credentials. The new connection shares this one's endpoint, retry
        configuration, hooks, worker count, call counts and botocore's loader (the service
        models are parsed once, not once per account); it has its own clients.

        Parameters
        ----------
        role_arn : str
            ``arn:PARTITION:iam::ACCOUNT:role/NAME``.
        external_id : str, optional
            ``ExternalId`` the role's trust policy asks for.
        session_name : str
            ``RoleSessionName``: what the member account's CloudTrail records as the session.
        duration : int
            Seconds the credentials last (``DurationSeconds``, 900 to the role's maximum).

        Returns
        -------
        Connection
            Its :meth:`info` (account, the assumed-role session ARN, ``role_arn``) comes from
            the ``AssumeRole`` answer: no ``GetCallerIdentity`` call.

        Raises
        ------
        AssumeRoleFailed
            The role cannot be assumed (:func:`trailkit.errors.assume_role_error`: the account,
            the role and why).
        ConnectionFailed
            The caller's own credentials are expired or invalid, or STS cannot be reached: also
            raised later, by the call during which botocore refreshes the credentials.
        """
        import botocore.credentials
        import botocore.session

        request: dict[str, Any] = {
            "RoleArn": role_arn,
            "RoleSessionName": session_name,
            "DurationSeconds": duration,
        }
        if external_id is not None:
            request["ExternalId"] = external_id

        def fetch() -> tuple[dict[str, str], dict[str, Any]]:
            try:
                answer = self.client("sts").assume_role(**request)
            except (botocore.exceptions.BotoCoreError, botocore.exceptions.ClientError) as exc:
                # Also when botocore refreshes the credentials in the middle of a scan: the
                # caller's expired credentials are then one ConnectionFailed, raised by the
                # call that needed fresh ones (errors.caller_expired).
                raise assume_role_error(
                    exc, role_arn, external_id=external_id is not None, region=self.region
                ) from None
            creds = answer["Credentials"]
            expiry = creds["Expiration"]
            metadata = {
                "access_key": creds["AccessKeyId"],
                "secret_key": creds["SecretAccessKey"],
                "token": creds["SessionToken"],
                "expiry_time": expiry.isoformat() if hasattr(expiry, "isoformat") else expiry,
            }
            return metadata, answer

        metadata, answer = fetch()
        credentials = botocore.credentials.RefreshableCredentials.create_from_metadata(
            metadata=metadata,
            refresh_using=lambda: fetch()[0],
            method="sts-assume-role",
        )
        core = botocore.session.Session()
        core.register_component("data_loader", self._session._session.get_component("data_loader"))
        core._credentials = credentials  # botocore reads a session's credentials from here
        core.set_config_variable("region", self.region)
        child = Connection.__new__(Connection)
        child.endpoint_url = self.endpoint_url
        child.profile = self.profile
        child.workers = self.workers
        child.retry_mode = self.retry_mode
        child._hooks = self._hooks
        child._session = boto3.Session(botocore_session=core)
        child.region = self.region
        child._config = self._config
        child._clients = {}
        child._lock = threading.Lock()
        child.calls = self.calls
        child._calls_lock = self._calls_lock
        child.role_arn = role_arn
        mine = self.info()
        child._info = ConnectionInfo(
            account=role_arn.split(":")[4],
            caller_arn=str(answer["AssumedRoleUser"]["Arn"]),
            endpoint=mine.endpoint,
            region=self.region,
            demo=self.demo,
            profile=self.profile,
            role_arn=role_arn,
            via_account=mine.via_account or mine.account,
        )
        return child

    @property
    def total_calls(self) -> int:
        """Every API call made through this connection so far (retries excluded)."""
        return sum(self.calls.values())

    # -- identity ------------------------------------------------------------------------
    @requires("sts:GetCallerIdentity")
    def info(self, *, refresh: bool = False) -> ConnectionInfo:
        """Account, caller and endpoint (``sts:GetCallerIdentity``; cached).

        Raises
        ------
        ConnectionFailed
            No or expired credentials, or the endpoint cannot be reached.
        """
        if self._info is not None and not refresh:
            return self._info
        try:
            ident = self.client("sts").get_caller_identity()
        except (
            botocore.exceptions.BotoCoreError,
            botocore.exceptions.ClientError,
            ValueError,  # botocore's "Port out of range", "Invalid IPv6 URL" for the endpoint
        ) as exc:
            err = translate(exc, "GetCallerIdentity", permission="sts:GetCallerIdentity")
            if isinstance(err, ConnectionFailed | InputError):
                raise err from None
            raise ConnectionFailed(err.message, err.fix, operation="GetCallerIdentity") from None
        endpoint = self.endpoint_url or f"https://*.{self.region}.amazonaws.com (AWS default)"
        self._info = ConnectionInfo(
            account=str(ident["Account"]),
            caller_arn=str(ident["Arn"]),
            endpoint=endpoint,
            region=self.region,
            demo=self.demo,
            profile=self.profile,
        )
        return self._info

    @property
    def demo(self) -> bool:
        """Whether the endpoint is on this machine (loopback): the demo backend, not AWS."""
        return is_local_endpoint(self.endpoint_url)

    @property
    def account(self) -> str:
        """The caller's account id."""
        return self.info().account

    def __repr__(self) -> str:
        kind = "demo" if self.demo else "aws"
        return f"<Connection {kind} endpoint={self.endpoint_url!r} region={self.region!r}>"


def connect(
    *,
    profile: str | None = None,
    region: str | None = None,
    endpoint_url: str | None = None,
    retry_mode: str = "standard",
    workers: int = 32,
    credentials: tuple[str, str] | None = None,
    check: bool = True,
) -> Connection:
    """Open a :class:`Connection` and (by default) check it with ``GetCallerIdentity``.

    Parameters
    ----------
    profile, region, endpoint_url, retry_mode, workers, credentials
        See :class:`Connection`. For a loopback endpoint (``endpoint_url`` or
        ``$AWS_ENDPOINT_URL``) with no profile, no credentials given and none configured,
        requests are signed with :data:`LOCAL_PLACEHOLDER_CREDENTIAL`, so the demo needs only
        ``AWS_ENDPOINT_URL``.
    check
        Call STS at once so that bad credentials fail here, with one clear message.

    Raises
    ------
    TrailkitError
        Bad options, missing or expired credentials, or an unreachable endpoint.
    """
    if credentials is None and not profile:
        endpoint = endpoint_url or os.environ.get("AWS_ENDPOINT_URL")
        if is_local_endpoint(endpoint) and not credentials_configured(os.environ):
            credentials = (LOCAL_PLACEHOLDER_CREDENTIAL, LOCAL_PLACEHOLDER_CREDENTIAL)
    conn = Connection(
        profile=profile,
        region=region,
        endpoint_url=endpoint_url,
        retry_mode=retry_mode,
        workers=workers,
        credentials=credentials,
    )
    if check:
        conn.info()
    return conn
