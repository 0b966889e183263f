"""A small HTTP/1.1 client connection over any stream socket.

Why not ``http.client``: importing it costs about 35 ms (it pulls in ``email``
and ``ssl``), which is more than half of the time budget of a whole
``dockyard ps``. This module speaks the subset of HTTP/1.1 the Engine API
needs (keep-alive, Content-Length and chunked bodies both ways, streaming
responses, connection hijacking) with nothing but ``socket`` and the file
object it makes. Its shape follows ``http.client``: ``Connection.request()``,
``Connection.getresponse()``, ``Response.status/.reason/.getheader()/.read()/
.read1()/.readline()``.

The socket comes from a ``connect`` callable, so the transport (unix socket,
TCP, TCP+TLS) is chosen elsewhere (``transport.py``).
"""

import io

_CRLF = b"\r\n"


class ProtocolError(OSError):
    """The peer sent something that is not HTTP/1.1, or closed too early."""


class Response:
    """One HTTP response; the body is read lazily from the connection."""

    def __init__(self, fp, method: str) -> None:
        self.fp = fp
        self._method = method
        line = fp.readline(65537)
        if not line:
            raise ProtocolError("connection closed before a response arrived")
        try:
            version, status, *reason = line.decode("latin-1").rstrip("\r\n").split(" ", 2)
            self.status = int(status)
        except ValueError:
            raise ProtocolError(f"malformed status line: {line[:80]!r}") from None
        if not version.startswith("HTTP/"):
            raise ProtocolError(f"malformed status line: {line[:80]!r}")
        self.reason = reason[0] if reason else ""
        self.headers: dict[str, str] = {}
        while True:
            h = fp.readline(65537)
            if h in (b"\r\n", b"\n", b""):
                break
            k, _, v = h.decode("latin-1").partition(":")
            k = k.strip().lower()
            v = v.strip()
            self.headers[k] = f"{self.headers[k]}, {v}" if k in self.headers else v
        te = self.headers.get("transfer-encoding", "").lower()
        self.chunked = "chunked" in te
        self._chunk_left = 0  # bytes left in the current chunk (chunked)
        self._eof = False
        conn_hdr = self.headers.get("connection", "").lower()
        self.will_close = "close" in conn_hdr or version == "HTTP/1.0"
        self.length: int | None = None
        if method == "HEAD" or self.status in (204, 304) or 100 <= self.status < 200:
            self.length = 0
        elif not self.chunked and "content-length" in self.headers:
            try:
                self.length = int(self.headers["content-length"])
            except ValueError:
                raise ProtocolError("bad Content-Length") from None
        elif not self.chunked:
            self.will_close = True  # body runs to EOF
        if self.length == 0:
            self._eof = True

    # -- headers -------------------------------------------------------------
    def getheader(self, name: str, default: str | None = None) -> str | None:
        return self.headers.get(name.lower(), default)

    @property
    def complete(self) -> bool:
        """True once the whole body was consumed (the connection may be reused)."""
        return self._eof

    # -- body ----------------------------------------------------------------
    def _next_chunk(self) -> bool:
        """Position at the next chunk; False at the terminating chunk."""
        line = self.fp.readline(65537)
        if not line:
            raise ProtocolError("connection closed inside a chunked body")
        try:
            size = int(line.split(b";", 1)[0].strip(), 16)
        except ValueError:
            raise ProtocolError(f"bad chunk size line {line[:40]!r}") from None
        if size == 0:
            # trailers, until an empty line
            while True:
                t = self.fp.readline(65537)
                if t in (b"\r\n", b"\n", b""):
                    break
            self._eof = True
            return False
        self._chunk_left = size
        return True

    def _end_chunk(self) -> None:
        if self._chunk_left == 0:
            self.fp.readline(3)  # the CRLF after the chunk data

    def read1(self, n: int = 65536) -> bytes:
        """Return some bytes (at most ``n``), blocking only until some are there; b'' at the end."""
        if self._eof or n == 0:
            return b""
        if self.chunked:
            if self._chunk_left == 0 and not self._next_chunk():
                return b""
            data = self.fp.read1(min(n, self._chunk_left))
            if not data:
                raise ProtocolError("connection closed inside a chunk")
            self._chunk_left -= len(data)
            self._end_chunk()
            return data
        if self.length is not None:
            data = self.fp.read1(min(n, self.length))
            if not data:
                raise ProtocolError("connection closed before the body ended")
            self.length -= len(data)
            if self.length == 0:
                self._eof = True
            return data
        data = self.fp.read1(n)
        if not data:
            self._eof = True
        return data

    def read(self, n: int = -1) -> bytes:
        """Read ``n`` bytes (fewer only at the end of the body), or the whole rest when n < 0."""
        if n is None or n < 0:
            if not self.chunked and self.length is not None and not self._eof:
                data = self.fp.read(self.length)
                if len(data) < self.length:
                    raise ProtocolError("connection closed before the body ended")
                self.length = 0
                self._eof = True
                return data
            parts = []
            while True:
                d = self.read1(262144)
                if not d:
                    return b"".join(parts)
                parts.append(d)
        parts = []
        while n > 0:
            d = self.read1(n)
            if not d:
                break
            parts.append(d)
            n -= len(d)
        return b"".join(parts)

    def readline(self, limit: int = 1 << 20) -> bytes:
        """Read one line (with its newline), or what is left at the end."""
        if not self.chunked and self.length is None:
            data = self.fp.readline(limit)
            if not data:
                self._eof = True
            return data
        parts = []
        total = 0
        while total < limit:
            if self.chunked:
                if self._chunk_left == 0 and (self._eof or not self._next_chunk()):
                    break
                data = self.fp.readline(min(limit - total, self._chunk_left))
                if not data:
                    raise ProtocolError("connection closed inside a chunk")
                self._chunk_left -= len(data)
                self._end_chunk()
            else:
                if self._eof:
                    break
                data = self.fp.readline(min(limit - total, self.length))
                if not data:
                    raise ProtocolError("connection closed before the body ended")
                self.length -= len(data)
                if self.length == 0:
                    self._eof = True
            parts.append(data)
            total += len(data)
            if data.endswith(b"\n"):
                break
        return b"".join(parts)

    def __iter__(self):
        while True:
            line = self.readline()
            if not line:
                return
            yield line

    def drain(self) -> None:
        """Read and drop what is left of the body."""
        while self.read1(262144):
            pass


class Connection:
    """One persistent HTTP/1.1 connection, reopened when the peer closed it."""

    def __init__(self, connect, host_header: str = "docker") -> None:
        self._connect = connect
        self.host_header = host_header
        self.sock = None
        self.fp = None
        self._response: Response | None = None  # the last response, maybe still being read
        self._reusable = False

    def close(self) -> None:
        if self.fp is not None:
            try:
                self.fp.close()
            except OSError:
                pass
        if self.sock is not None:
            try:
                self.sock.close()
            except OSError:
                pass
        self.sock = self.fp = None
        self._response = None
        self._reusable = False

    def _ensure(self) -> bool:
        """Make sure a usable socket is open; True when it is a reused one."""
        r = self._response
        if r is not None and (not r.complete or r.will_close):
            self.close()
        if self.sock is not None and self._reusable:
            return True
        self.close()
        self.sock = self._connect()
        self.fp = io.BufferedReader(_SocketReader(self.sock), 65536)
        self._reusable = True
        return False

    def _head(self, method: str, path: str, headers: dict | None, body) -> tuple[bytes, object]:
        h = {"Host": self.host_header}
        if headers:
            h.update(headers)
        stream_body = None
        if body is None:
            if method in ("POST", "PUT") and "Content-Length" not in h:
                h["Content-Length"] = "0"
        elif isinstance(body, (bytes, bytearray, memoryview)):
            h["Content-Length"] = str(len(body))
        elif isinstance(body, str):
            body = body.encode()
            h["Content-Length"] = str(len(body))
        else:
            h["Transfer-Encoding"] = "chunked"
            stream_body, body = body, None
        lines = [f"{method} {path} HTTP/1.1"]
        lines.extend(f"{k}: {v}" for k, v in h.items())
        head = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")
        if body is not None:
            return head + bytes(body), None
        return head, stream_body

    def send(self, method: str, path: str, body=None, headers: dict | None = None) -> None:
        """Send a request without reading the response (see ``getresponse``)."""
        for attempt in (0, 1):
            reused = self._ensure()
            head, rest = self._head(method, path, headers, body)
            try:
                self.sock.sendall(head)
                break
            except (BrokenPipeError, ConnectionResetError):
                self.close()
                if not reused or attempt:
                    raise
        self._pending_method = method
        self._pending_retry = (method, path, body, headers) if (reused and rest is None) else None
        if rest is not None:
            _send_body(self.sock, rest)

    def getresponse(self) -> Response:
        try:
            r = Response(self.fp, self._pending_method)
        except (ProtocolError, ConnectionResetError) as e:
            retry = self._pending_retry
            self.close()
            if retry is None or (isinstance(e, ProtocolError) and "before a response" not in str(e)):
                raise
            # The peer closed an idle keep-alive connection under us: one more try.
            self.send(*retry)
            self._pending_retry = None
            r = Response(self.fp, self._pending_method)
        self._response = r
        if r.will_close:
            self._reusable = False
        return r

    def request(self, method: str, path: str, body=None, headers: dict | None = None) -> Response:
        self.send(method, path, body, headers)
        return self.getresponse()

    def detach(self):
        """Hand the socket and its reader over to the caller (for hijacked streams)."""
        sock, fp = self.sock, self.fp
        self.sock = self.fp = None
        self._response = None
        self._reusable = False
        return sock, fp


def _send_body(sock, body) -> None:
    """Send an iterable of bytes, or a readable file object, as a chunked body."""
    if hasattr(body, "read"):
        reader = body.read1 if hasattr(body, "read1") else body.read

        def it():
            while True:
                d = reader(65536)
                if not d:
                    return
                yield d
        source = it()
    else:
        source = body
    for d in source:
        if d:
            sock.sendall(b"%x\r\n" % len(d) + bytes(d) + _CRLF)
    sock.sendall(b"0\r\n\r\n")


class _SocketReader(io.RawIOBase):
    """The reading half of ``socket.makefile("rb")`` (``socket.SocketIO``) for any object with
    ``recv_into``: the client's unix sockets are ``_socket.socket``s, without the ``socket`` module
    (and its enum import) or its ``makefile``."""

    def __init__(self, sock) -> None:
        super().__init__()
        self._sock = sock

    def readable(self) -> bool:
        return True

    def readinto(self, b) -> int:
        return self._sock.recv_into(b)

    def fileno(self) -> int:
        return self._sock.fileno()
