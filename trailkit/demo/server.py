"""The demo's local AWS: moto's HTTP server in this process, and connections to it.

:class:`DemoServer` runs moto on ``127.0.0.1``; :func:`demo_connection` and :func:`as_account`
make :class:`~trailkit.aws.session.Connection` objects that sign with the demo's placeholder
credentials and, to act as another account of the server, send moto's ``x-moto-account-id``
header. Nothing here is used against real AWS.
"""

from __future__ import annotations

import copy
import logging
import socket
import threading
import urllib.request
from types import TracebackType
from typing import Any

from trailkit.aws.session import LOCAL_PLACEHOLDER_CREDENTIAL, Connection
from trailkit.demo.delivery import PeriodicDelivery, default_interval
from trailkit.demo.patches import patch_moto
from trailkit.errors import InputError
from trailkit.i18n import _

__all__ = [
    "HOST",
    "LOCAL_OPENER",
    "PLACEHOLDER_CREDENTIAL",
    "DemoServer",
    "as_account",
    "demo_connection",
    "free_port",
    "port_is_free",
    "reset",
    "with_header",
]

#: Access key id and secret of the demo: not secret, only something to sign requests with.
PLACEHOLDER_CREDENTIAL = LOCAL_PLACEHOLDER_CREDENTIAL
#: The address every local server of the demo listens on.
HOST = "127.0.0.1"

# Local servers are reached directly, whatever HTTP(S)_PROXY says.
LOCAL_OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))

_ACCOUNT_HEADER = "x-moto-account-id"


def demo_connection(
    endpoint: str,
    *,
    region: str = "us-east-1",
    account: str | None = None,
    workers: int = 32,
    retry_mode: str = "standard",
) -> Connection:
    """A connection to the moto server at ``endpoint``, signed with the placeholder credentials.

    Parameters
    ----------
    endpoint
        The server's URL, e.g. ``http://127.0.0.1:5000``.
    region
        The connection's default region.
    account
        Act as this account of the server (moto's ``x-moto-account-id`` header); ``None`` is
        moto's default account.
    workers, retry_mode
        See :class:`~trailkit.aws.session.Connection`.

    Returns
    -------
    Connection
        An ordinary connection; its :meth:`~trailkit.aws.session.Connection.info` reports the
        demo backend because the endpoint is local.
    """
    hooks: list[tuple[str, Any]] = []
    if account is not None:
        if not (account.isdigit() and len(account) == 12):
            raise InputError(
                _("{account} is not an AWS account id.").format(account=repr(account[:40])),
                _("use 12 digits"),
            )
        chosen = account

        def _account_header(request: Any, **kwargs: Any) -> None:
            request.headers[_ACCOUNT_HEADER] = chosen

        hooks.append(("before-send", _account_header))
    return Connection(
        endpoint_url=endpoint,
        region=region,
        retry_mode=retry_mode,
        workers=workers,
        credentials=(PLACEHOLDER_CREDENTIAL, PLACEHOLDER_CREDENTIAL),
        hooks=hooks,
    )


def as_account(conn: Connection, account: str) -> Connection:
    """The same moto endpoint as ``conn``, acting as ``account`` (e.g. the log-archive account).

    Parameters
    ----------
    conn
        A connection to a moto server (it must have an endpoint URL).
    account
        The 12-digit account to act as.

    Returns
    -------
    Connection
        A new connection with ``conn``'s endpoint, region, retry mode and worker count.

    Raises
    ------
    InputError
        ``conn`` has no endpoint: only a moto server can switch accounts by header.
    """
    if not conn.endpoint_url:
        raise InputError(
            _("Only a demo (moto) endpoint can act as another account."), _("pass --endpoint-url")
        )
    made = demo_connection(
        conn.endpoint_url,
        region=conn.region,
        account=account,
        workers=conn.workers,
        retry_mode=conn.retry_mode,
    )
    # Share botocore's loader, as Connection.assumed does: the service models are read once,
    # not once per account (the demo seeds seven accounts).
    core = getattr(getattr(conn, "_session", None), "_session", None)
    if core is not None:
        made._session._session.register_component("data_loader", core.get_component("data_loader"))
    return made


def with_header(conn: Connection, name: str, value: str) -> Connection:
    """A copy of ``conn`` whose requests also carry the HTTP header ``name: value`` (its own
    clients; endpoint, credentials, hooks and call counts shared), e.g. the demo's
    :data:`~trailkit.demo.delivery.SEEDING_HEADER`.

    Parameters
    ----------
    conn
        The connection to copy.
    name, value
        The header.
    """

    def _header(request: Any, **kwargs: Any) -> None:
        request.headers[name] = value

    made = copy.copy(conn)
    made._hooks = (*conn._hooks, ("before-send", _header))
    made._clients = {}
    made._lock = threading.Lock()
    return made


def port_is_free(port: int) -> bool:
    """Whether TCP ``port`` on ``127.0.0.1`` can be bound now.

    Parameters
    ----------
    port
        The port to try.
    """
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((HOST, port))
        except OSError:
            return False
    return True


def free_port() -> int:
    """A TCP port on ``127.0.0.1`` that was free a moment ago (the OS picks it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
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
    ...     conn = server.connection()
    """

    def __init__(self, port: int = 0) -> None:
        if not 0 <= port <= 65535:
            raise InputError(
                _("{port} is not a TCP port.").format(port=port),
                _("use a number between 0 and 65535"),
            )
        self._requested_port = port
        self._moto: Any = None
        self._port: int | None = None
        self._delivery: PeriodicDelivery | None = None

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
                _("The demo needs moto, which is not installed."),
                "pip install 'trailkit[demo]'",
            ) from exc
        if self._requested_port and not port_is_free(self._requested_port):
            raise InputError(
                _("Port {port} on {host} is already in use.").format(
                    port=self._requested_port, host=HOST
                ),
                _("choose another port, or 0 for a free one"),
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

        server = _Server(ip_address=HOST, port=self._requested_port, verbose=False)
        server.start()
        if server.failure is not None:
            raise InputError(
                _("The demo server could not listen on {host}:{port} ({failure}).").format(
                    host=HOST, port=self._requested_port, failure=repr(server.failure)
                ),
                _("choose another port, or 0 for a free one"),
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
        return f"http://{HOST}:{self.port}"

    def connection(self, region: str = "us-east-1", *, account: str | None = None) -> Connection:
        """A :class:`Connection` to this server with the placeholder credentials.

        Parameters
        ----------
        region
            The connection's default region.
        account
            Act as this account of the server; ``None`` is moto's default account
            (:data:`~trailkit.demo.estate.DEMO_ACCOUNT`).
        """
        return demo_connection(self.endpoint, region=region, account=account)

    def start_delivery(self, interval: float | None = None) -> PeriodicDelivery:
        """Deliver logs for every logging trail every ``interval`` seconds until :meth:`stop`
        (:class:`~trailkit.demo.delivery.PeriodicDelivery`; no-op when already delivering).

        Parameters
        ----------
        interval
            Seconds between deliveries; default
            :func:`~trailkit.demo.delivery.default_interval` (60 s, or
            ``TRAILKIT_DEMO_DELIVERY_INTERVAL``).
        """
        if self._delivery is None or not self._delivery.running:
            self._delivery = PeriodicDelivery(interval or default_interval()).start()
        return self._delivery

    @property
    def delivering(self) -> bool:
        """Whether periodic delivery runs."""
        return self._delivery is not None and self._delivery.running

    @property
    def delivery_interval(self) -> float | None:
        """Seconds between periodic deliveries, or None when not delivering."""
        return self._delivery.interval if self.delivering and self._delivery else None

    def stop_delivery(self) -> None:
        """Stop periodic delivery (no-op when not delivering)."""
        periodic, self._delivery = self._delivery, None
        if periodic is not None:
            periodic.stop()

    def stop(self) -> None:
        """Stop periodic delivery and the server and release its port (no-op when not
        running)."""
        self.stop_delivery()
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
        raise InputError(
            _("{endpoint} is not an http(s) URL.").format(endpoint=repr(endpoint)),
            _("pass the demo endpoint URL"),
        )
    url = endpoint.rstrip("/") + "/moto-api/reset"
    request = urllib.request.Request(url, method="POST")  # noqa: S310 - http(s) only
    with LOCAL_OPENER.open(request, timeout=timeout) as response:
        response.read()
