"""The low-level Engine API client: one method per HTTP verb, JSON in and out.

    api = APIClient("unix:///run/dockyard/dockyard.sock")
    api.get("/containers/{}/json", "web")            # -> dict (path args are quoted)
    api.post("/containers/create", params={"name": "web"}, json=config)
    api.delete("/containers/{}", cid, params={"force": True})
    for ev in api.stream_json("GET", "/events"): ...
    with api.hijack("POST", "/containers/{}/attach", cid, params={...}) as sock: ...

The API version is negotiated lazily on the first call (``GET /_ping``, header
``Api-Version``): the client uses 1.44, or the daemon's version when that is
lower. ``DOCKER_API_VERSION`` in the environment pins it, as for the docker CLI. Every call of one client goes over one keep-alive connection; streams
that must run beside other calls use ``fork()`` (same settings, own connection)
or ``hijack()`` (always a new connection). Error statuses raise the typed
errors of ``errors.py``; per-resource helpers live in ``resources.py``.
"""

import _socket

from . import errors
from . import jsonc as _json
from .environ import getenv
from .transport import connector, default_host, parse_host
from .wire import Connection, Response

DEFAULT_API_VERSION = "1.44"
MIN_API_VERSION = "1.24"
USER_AGENT = "dockyard-client/0.1"

_SAFE = frozenset(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_.-~")


def quote(s: str, safe: str = "") -> str:
    """Percent-encode ``s`` for a URL path segment or query value (like urllib.parse.quote)."""
    ok = _SAFE | frozenset(safe.encode())
    out = []
    for b in s.encode("utf-8"):
        out.append(chr(b) if b in ok else "%%%02X" % b)
    return "".join(out)


def encode_params(params: dict | None) -> str:
    """Build a query string; True/False become 1/0, None values are left out, lists repeat the key."""
    if not params:
        return ""
    parts = []
    for k, v in params.items():
        if v is None:
            continue
        for item in (v if isinstance(v, (list, tuple)) else (v,)):
            if isinstance(item, bool):
                item = "1" if item else "0"
            elif isinstance(item, (dict,)):
                item = _json.dumps(item)
            parts.append(f"{quote(str(k))}={quote(str(item))}")
    return "&".join(parts)


def version_tuple(v: str) -> tuple[int, ...]:
    try:
        return tuple(int(p) for p in v.split("."))
    except ValueError:
        raise errors.InvalidVersion(f"invalid API version {v!r}") from None


class APIClient:
    """A client of one daemon over one keep-alive connection."""

    def __init__(self, base_url: str | None = None, version: str | None = None,
                 timeout: float | None = None, tls=None, user_agent: str = USER_AGENT) -> None:
        self.base_url = base_url or default_host()
        try:
            scheme, _ = parse_host(self.base_url)
        except OSError as e:
            raise errors.DockerException(str(e)) from None
        self.timeout = timeout
        self._tls = tls
        self._connect = connector(self.base_url, timeout, tls)
        self._conn = Connection(self._connect, host_header="docker" if scheme == "unix" else
                                parse_host(self.base_url)[1])
        self.user_agent = user_agent
        if version is None:
            version = getenv("DOCKER_API_VERSION") or None
        self._version = None if version in (None, "auto") else version
        self.ping_headers: dict[str, str] = {}

    # -- lifecycle -----------------------------------------------------------
    def close(self) -> None:
        self._conn.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def fork(self) -> "APIClient":
        """A client with the same address and API version, on its own connection."""
        c = APIClient.__new__(APIClient)
        c.__dict__.update(self.__dict__)
        c._conn = Connection(self._connect, host_header=self._conn.host_header)
        return c

    # -- version -------------------------------------------------------------
    @property
    def api_version(self) -> str:
        if self._version is None:
            self._negotiate()
        return self._version

    def _negotiate(self) -> None:
        self.ping()
        server = self.ping_headers.get("api-version")
        if not server:
            self._version = MIN_API_VERSION
        elif version_tuple(server) < version_tuple(DEFAULT_API_VERSION):
            self._version = server
        else:
            self._version = DEFAULT_API_VERSION

    def ping(self) -> bool:
        """``GET /_ping``; keeps the response headers (Api-Version, OSType, ...) in ``ping_headers``."""
        r = self._raw("GET", "/_ping", None, {})
        body = r.read()
        self.ping_headers = dict(r.headers)
        if r.status >= 400:
            raise errors.from_response(r.status, r.reason, body, "/_ping")
        return True

    # -- requests ------------------------------------------------------------
    def url(self, pathfmt: str, *args, params: dict | None = None, versioned: bool = True) -> str:
        path = pathfmt.format(*(quote(str(a)) for a in args)) if args else pathfmt
        if versioned:
            path = f"/v{self.api_version}{path}"
        q = encode_params(params)
        return f"{path}?{q}" if q else path

    def _raw(self, method: str, path: str, body, headers: dict) -> Response:
        headers.setdefault("User-Agent", self.user_agent)
        try:
            return self._conn.request(method, path, body, headers)
        except errors.DockerException:
            raise
        except OSError as e:
            self._conn.close()
            raise errors.DaemonUnreachable(str(e)) from e

    def request(self, method: str, pathfmt: str, *args, params: dict | None = None, json=None,
                data=None, headers: dict | None = None, versioned: bool = True) -> Response:
        """Send one request and return the response with its body unread; raise on error statuses.

        ``json`` is sent as a JSON body; ``data`` as is (bytes, str, an iterable of
        bytes or a file object; the last two go out chunked).
        """
        h = dict(headers) if headers else {}
        body = data
        if json is not None:
            body = _json.dumps(json).encode()
            h.setdefault("Content-Type", "application/json")
        url = self.url(pathfmt, *args, params=params, versioned=versioned)
        r = self._raw(method, url, body, h)
        if r.status >= 400:
            try:
                payload = r.read()
            except OSError:
                payload = b""
            raise errors.from_response(r.status, r.reason, payload, url, response=r)
        return r

    @staticmethod
    def _decode(r: Response):
        body = r.read()
        if not body:
            return None
        ctype = r.getheader("content-type", "")
        if "json" in ctype or body[:1] in (b"{", b"["):
            try:
                return _json.loads(body)
            except ValueError:
                pass
        return body.decode("utf-8", "replace")

    def get(self, pathfmt: str, *args, params: dict | None = None, **kw):
        return self._decode(self.request("GET", pathfmt, *args, params=params, **kw))

    def post(self, pathfmt: str, *args, params: dict | None = None, json=None, data=None, **kw):
        return self._decode(self.request("POST", pathfmt, *args, params=params, json=json, data=data, **kw))

    def put(self, pathfmt: str, *args, params: dict | None = None, json=None, data=None, **kw):
        return self._decode(self.request("PUT", pathfmt, *args, params=params, json=json, data=data, **kw))

    def delete(self, pathfmt: str, *args, params: dict | None = None, **kw):
        return self._decode(self.request("DELETE", pathfmt, *args, params=params, **kw))

    def head(self, pathfmt: str, *args, params: dict | None = None, **kw) -> dict[str, str]:
        r = self.request("HEAD", pathfmt, *args, params=params, **kw)
        r.read()
        return dict(r.headers)

    def call_later(self, method: str, pathfmt: str, *args, params: dict | None = None, json=None,
                   fresh: bool = False) -> "Pending":
        """Send a request now and read its answer later (``Pending.result()``).

        With ``fresh`` the request goes over a new connection, so other calls can be
        made meanwhile (e.g. a ``wait`` registered before ``start``). Otherwise it uses
        this client's connection, and ``result()`` must come before the next call.
        """
        conn = Connection(self._connect, host_header=self._conn.host_header) if fresh else self._conn
        url = self.url(pathfmt, *args, params=params)
        h = {"User-Agent": self.user_agent}
        body = None
        if json is not None:
            body = _json.dumps(json).encode()
            h["Content-Type"] = "application/json"
        try:
            conn.send(method, url, body, h)
        except OSError as e:
            if fresh:
                conn.close()
            raise errors.DaemonUnreachable(str(e)) from e
        return Pending(self, conn, url, owned=fresh)

    # -- streams -------------------------------------------------------------
    def stream(self, method: str, pathfmt: str, *args, **kw) -> Response:
        """The response with its body unread, to be consumed by the caller."""
        return self.request(method, pathfmt, *args, **kw)

    def stream_json(self, method: str, pathfmt: str, *args, **kw):
        """Iterate over the JSON messages of a streamed response (events, progress)."""
        from .streams import iter_json

        r = self.request(method, pathfmt, *args, **kw)
        return iter_json(r.read1)

    def stream_frames(self, method: str, pathfmt: str, *args, **kw):
        """Iterate over ``(stream, bytes)`` frames of a multiplexed stdio response."""
        from .streams import iter_frames

        r = self.request(method, pathfmt, *args, **kw)
        return iter_frames(r.read)

    def stream_raw(self, method: str, pathfmt: str, *args, **kw):
        """Iterate over the bytes of a raw (TTY) stdio response as they arrive."""
        from .streams import iter_raw

        r = self.request(method, pathfmt, *args, **kw)
        return iter_raw(r.read1)

    def hijack(self, method: str, pathfmt: str, *args, params: dict | None = None, json=None):
        """Open a new connection, send an ``Upgrade: tcp`` request, and return the raw stream.

        The daemon answers ``101 UPGRADED`` (a plain 200 is accepted too); from then on
        the socket carries stdin one way and the (multiplexed or raw) output the other.
        """
        from .streams import HijackedSocket

        url = self.url(pathfmt, *args, params=params)
        conn = Connection(self._connect, host_header=self._conn.host_header)
        h = {"User-Agent": self.user_agent, "Connection": "Upgrade", "Upgrade": "tcp"}
        body = None
        if json is not None:
            body = _json.dumps(json).encode()
            h["Content-Type"] = "application/json"
        else:
            h["Content-Type"] = "text/plain"
        try:
            r = conn.request(method, url, body, h)
        except OSError as e:
            conn.close()
            raise errors.DaemonUnreachable(str(e)) from e
        if r.status >= 400:
            payload = r.read()
            conn.close()
            raise errors.from_response(r.status, r.reason, payload, url, response=r)
        sock, fp = conn.detach()
        return HijackedSocket(sock, fp, r)

    # -- resources -----------------------------------------------------------
    @property
    def containers(self):
        from .resources import Containers

        return Containers(self)

    @property
    def images(self):
        from .resources import Images

        return Images(self)

    @property
    def execs(self):
        from .resources import Execs

        return Execs(self)

    @property
    def system(self):
        from .resources import System

        return System(self)


class Pending:
    """A request that was sent and whose response has not been read yet."""

    def __init__(self, api: APIClient, conn: Connection, url: str, owned: bool) -> None:
        self.api = api
        self.conn = conn
        self.url = url
        self.owned = owned
        self._response: Response | None = None

    def ready(self, timeout: float) -> bool:
        """Wait up to ``timeout`` seconds for the response to start arriving."""
        if self._response is not None:
            return True
        sock = self.conn.sock
        if type(sock) is _socket.socket:  # a plain socket: peek at it (no select import on the CLI's path)
            old = sock.gettimeout()
            try:
                sock.settimeout(timeout)
                sock.recv(1, _socket.MSG_PEEK)
            except TimeoutError:
                return False
            except OSError:
                return True
            finally:
                sock.settimeout(old)
            return True
        import select

        try:
            r, _, _ = select.select([sock], [], [], timeout)
        except (OSError, ValueError):
            return True
        return bool(r)

    def response(self) -> Response:
        """The response, status line and headers read; raises the typed error on error statuses."""
        if self._response is None:
            try:
                self._response = self.conn.getresponse()
            except OSError as e:
                self.close()
                raise errors.DaemonUnreachable(str(e)) from e
            r = self._response
            if r.status >= 400:
                try:
                    payload = r.read()
                except OSError:
                    payload = b""
                self.close()
                raise errors.from_response(r.status, r.reason, payload, self.url, response=r)
        return self._response

    def result(self):
        """The decoded body (JSON, text or None)."""
        r = self.response()
        try:
            return self.api._decode(r)
        finally:
            if self.owned:
                self.close()

    def close(self) -> None:
        if self.owned:
            self.conn.close()
