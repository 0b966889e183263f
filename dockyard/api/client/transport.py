"""Where the bytes go: turn a daemon address into a socket factory.

``unix:///path`` opens an AF_UNIX stream socket; ``tcp://host:port`` a TCP
socket, wrapped in TLS when a ``TLSConfig`` is given (``ssl`` is imported only
then). Everything above this module sees just ``connect() -> socket``.
"""

import _socket

from .environ import getenv

DEFAULT_HOST = "unix:///run/dockyard/dockyard.sock"


class TransportError(OSError):
    """The daemon address is malformed, or the daemon cannot be reached."""


class TLSConfig:
    """Client TLS settings for tcp:// hosts (plain class: dataclasses cost 10 ms to import)."""

    __slots__ = ("ca_cert", "client_cert", "client_key", "verify")

    def __init__(self, ca_cert: str | None = None, client_cert: str | None = None,
                 client_key: str | None = None, verify: bool = True) -> None:
        self.ca_cert = ca_cert
        self.client_cert = client_cert
        self.client_key = client_key
        self.verify = verify


def default_host() -> str:
    """The daemon address from the environment: DOCKYARD_HOST, then DOCKER_HOST."""
    return getenv("DOCKYARD_HOST") or getenv("DOCKER_HOST") or DEFAULT_HOST


def parse_host(host: str | None) -> tuple[str, str]:
    """Split a daemon address into (scheme, address): ("unix", "/path") or ("tcp", "host:port")."""
    host = (host or default_host()).strip()
    if host.startswith("unix://"):
        path = host[len("unix://"):]
        if not path:
            raise TransportError(f"invalid host {host!r}: empty socket path")
        return "unix", path
    if host.startswith("/"):
        return "unix", host
    for prefix in ("tcp://", "http://", "https://"):
        if host.startswith(prefix):
            addr = host[len(prefix):].rstrip("/")
            if ":" not in addr.rsplit("]", 1)[-1]:
                addr += ":2376" if prefix == "https://" else ":2375"
            return "tcp", addr
    raise TransportError(f"invalid host {host!r}: expected unix:///path or tcp://host:port")


def connector(host: str | None, timeout: float | None = None, tls: TLSConfig | None = None):
    """Return a function that opens a new connected socket to the daemon at ``host``."""
    scheme, addr = parse_host(host)
    if scheme == "unix":
        def connect_unix():
            # _socket, not socket: a CLI call saves the socket module's enum import (~4 ms)
            s = _socket.socket(_socket.AF_UNIX, _socket.SOCK_STREAM)
            s.settimeout(timeout)
            try:
                s.connect(addr)
            except OSError as e:
                s.close()
                raise TransportError(f"Cannot connect to the dockyard daemon at unix://{addr}. "
                                     "Is the dockyard daemon running?") from e
            return s
        return connect_unix

    h, _, port = addr.rpartition(":")
    h = h.strip("[]")

    import socket

    def connect_tcp():
        try:
            s = socket.create_connection((h, int(port)), timeout=timeout)
        except OSError as e:
            raise TransportError(f"Cannot connect to the dockyard daemon at tcp://{addr}. "
                                 "Is the dockyard daemon running?") from e
        s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        if tls is None:
            return s
        import ssl

        ctx = ssl.create_default_context(cafile=tls.ca_cert)
        if not tls.verify:
            ctx.check_hostname = False
            ctx.verify_mode = ssl.CERT_NONE
        if tls.client_cert:
            ctx.load_cert_chain(tls.client_cert, tls.client_key)
        return ctx.wrap_socket(s, server_hostname=h)
    return connect_tcp
