"""The Engine API's stream formats, client side, in one place.

* Multiplexed stdio (logs, attach and exec of non-TTY containers): frames of an
  8-byte header ``[stream, 0, 0, 0, size(uint32 big-endian)]`` and ``size``
  bytes of payload; stream 0 is stdin (echoed), 1 stdout, 2 stderr, 3 an error
  from the daemon ("systemerr").
* Raw stdio (TTY containers): plain bytes.
* JSON message streams (events, pull/import progress): JSON objects one after
  the other, normally one per line, possibly split across reads.
* Hijacked connections (attach, exec start): after ``101 UPGRADED`` (or a plain
  200) the socket carries stdin one way and the output the other way.
"""

from __future__ import annotations


STDIN, STDOUT, STDERR, SYSTEMERR = 0, 1, 2, 3


def iter_frames(read):
    """Yield ``(stream, payload)`` (stream: int, payload: bytes) for each multiplexed frame; ``read(n)`` returns n bytes or fewer at EOF."""
    while True:
        header = read(8)
        if not header:
            return
        if len(header) < 8:
            from .errors import StreamParseError

            raise StreamParseError(f"truncated frame header ({len(header)} bytes)")
        size = int.from_bytes(header[4:8], "big")
        payload = read(size) if size else b""
        if len(payload) < size:
            from .errors import StreamParseError

            raise StreamParseError("stream ended inside a frame")
        yield header[0], payload


def iter_raw(read1, bufsize: int = 65536):
    """Yield bytes as they arrive until EOF."""
    while True:
        d = read1(bufsize)
        if not d:
            return
        yield d


_SHUT_WR = 1  # socket.SHUT_WR (the socket module costs an enum import)


def iter_json(read1):
    """Yield each JSON value of a JSON message stream."""
    import json  # (build and pull streams only: the hot paths do without the json module)

    decoder = json.JSONDecoder()
    buf = ""
    pending = b""
    while True:
        chunk = read1(65536)
        if not chunk:
            break
        pending += chunk
        try:
            text = pending.decode("utf-8")
            pending = b""
        except UnicodeDecodeError:
            continue  # a multi-byte character split across reads
        buf += text
        while True:
            buf = buf.lstrip()
            if not buf:
                break
            try:
                obj, end = decoder.raw_decode(buf)
            except ValueError:
                break  # incomplete: wait for more
            buf = buf[end:]
            yield obj
    buf = (buf + pending.decode("utf-8", "replace")).strip()
    if buf:
        from .errors import StreamParseError

        try:
            obj, end = decoder.raw_decode(buf)
        except ValueError as e:
            raise StreamParseError(f"bad JSON in stream: {buf[:80]!r}") from e
        yield obj


class HijackedSocket:
    """A connection the daemon handed over to raw stdio after ``101 UPGRADED``.

    Reads go through ``fp`` (which may already hold bytes that arrived with the
    response head); writes go straight to the socket.
    """

    def __init__(self, sock, fp, response=None) -> None:
        self.sock = sock
        self.fp = fp
        self.response = response

    def read1(self, n: int = 65536) -> bytes:
        try:
            return self.fp.read1(n)
        except (ConnectionResetError, OSError) as e:
            if getattr(e, "errno", None) in (None, 9, 104, 107):  # EBADF, ECONNRESET, ENOTCONN
                return b""
            raise

    def read(self, n: int) -> bytes:
        return self.fp.read(n)

    def frames(self):
        return iter_frames(self.read)

    def raw(self):
        return iter_raw(self.read1)

    def send(self, data: bytes) -> None:
        self.sock.sendall(data)

    def close_write(self) -> None:
        """Half-close: tell the daemon stdin ended, keep reading the output."""
        try:
            self.sock.shutdown(_SHUT_WR)
        except OSError:
            pass

    def fileno(self) -> int:
        return self.sock.fileno()

    def close(self) -> None:
        for obj in (self.fp, self.sock):
            try:
                obj.close()
            except OSError:
                pass

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        self.close()
