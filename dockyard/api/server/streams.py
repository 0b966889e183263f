"""Wire formats of the Engine API's streams: multiplexed stdio frames, JSON message
streams, and connections hijacked for attach/exec (``Upgrade: tcp``).

This module is the only place that knows how container bytes look on the wire.
"""

from __future__ import annotations

import asyncio
import json
import struct

from aiohttp import web

RAW_STREAM = "application/vnd.docker.raw-stream"
MUX_STREAM = "application/vnd.docker.multiplexed-stream"

_HEADER = struct.Struct(">BxxxL")


def frame(stream: int, data: bytes) -> bytes:
    """Docker's 8-byte header (stream type, 3 zero bytes, big-endian length) then the payload."""
    return _HEADER.pack(stream, len(data)) + data


def json_line(obj, sep: bytes = b"\n") -> bytes:
    return json.dumps(obj, separators=(",", ":")).encode() + sep


async def json_stream_response(request: web.Request, status: int = 200) -> web.StreamResponse:
    resp = web.StreamResponse(status=status, headers={"Content-Type": "application/json"})
    resp.enable_chunked_encoding()
    await resp.prepare(request)
    return resp


class _HijackProtocol(asyncio.Protocol):
    """Takes over a connection from aiohttp: raw bytes in, raw bytes out, half-close allowed."""

    def __init__(self, previous: asyncio.BaseProtocol) -> None:
        self.previous = previous
        self.reader = asyncio.StreamReader(limit=1 << 20)
        self.closed = asyncio.Event()
        self._can_write = asyncio.Event()
        self._can_write.set()

    def data_received(self, data: bytes) -> None:
        self.reader.feed_data(data)

    def eof_received(self) -> bool:
        self.reader.feed_eof()
        return True  # the client closed its sending side (stdin ended); we keep writing

    def connection_lost(self, exc: BaseException | None) -> None:
        self.reader.feed_eof()
        self.closed.set()
        self._can_write.set()
        try:
            self.previous.connection_lost(exc)
        except Exception:
            pass

    def pause_writing(self) -> None:
        self._can_write.clear()

    def resume_writing(self) -> None:
        self._can_write.set()


class _TailCollector:
    """Stands in as aiohttp's payload parser for one call, to collect bytes it already read."""

    def __init__(self) -> None:
        self.data = b""

    def feed_data(self, data: bytes) -> tuple[bool, bytes]:
        self.data += data
        return False, b""

    def feed_eof(self) -> None:
        pass


class Hijacked:
    """A hijacked connection: ``read()`` gives what the client sends (stdin), ``write()`` sends raw bytes."""

    def __init__(self, transport: asyncio.Transport, proto: _HijackProtocol) -> None:
        self.transport = transport
        self.proto = proto

    @property
    def closed(self) -> bool:
        return self.proto.closed.is_set() or self.transport.is_closing()

    async def read(self, n: int = 65536) -> bytes:
        return await self.proto.reader.read(n)

    async def write(self, data: bytes) -> None:
        if self.closed:
            raise ConnectionResetError("client went away")
        self.transport.write(data)
        await self.proto._can_write.wait()

    async def wait_closed(self) -> None:
        await self.proto.closed.wait()

    def close(self) -> None:
        if not self.transport.is_closing():
            self.transport.close()


async def hijack(request: web.Request, content_type: str = RAW_STREAM) -> Hijacked:
    """Answer ``101 UPGRADED`` (or ``200`` to a client that did not ask to upgrade) and take the socket."""
    upgrade = request.headers.get("Upgrade", "").lower() == "tcp"
    if upgrade:
        resp = web.StreamResponse(status=101, reason="UPGRADED",
                                  headers={"Content-Type": content_type, "Connection": "Upgrade", "Upgrade": "tcp"})
    else:
        resp = web.StreamResponse(status=200, headers={"Content-Type": content_type})
        resp._length_check = False  # raw bytes until close: neither chunked nor sized
    resp.force_close()
    await resp.prepare(request)
    protocol = request.protocol
    transport = request.transport
    assert transport is not None
    collector = _TailCollector()
    protocol.set_parser(collector)  # hands over bytes aiohttp read past the request
    proto = _HijackProtocol(protocol)
    transport.set_protocol(proto)
    if collector.data:
        proto.reader.feed_data(collector.data)
    if not transport.is_reading():
        transport.resume_reading()
    return Hijacked(transport, proto)
