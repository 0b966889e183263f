"""Host port reservation, random ports, and the userland TCP/UDP proxy (loopback only)."""

from __future__ import annotations

import asyncio
import os
import socket

import pytest

from dockyard import errdefs
from dockyard.network import netns, portproxy


def _free_port(kind=socket.SOCK_STREAM) -> int:
    with socket.socket(socket.AF_INET, kind) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_reserve_detects_ports_in_use():
    other = socket.socket()
    other.bind(("127.0.0.1", 0))
    other.listen(1)
    port = other.getsockname()[1]
    with other:
        with pytest.raises(portproxy.PortInUse, match=f"Bind for 127.0.0.1:{port} failed: port is already allocated"):
            portproxy.reserve("tcp", "127.0.0.1", port)
        with pytest.raises(portproxy.PortInUse, match=f"0.0.0.0:{port}"):
            portproxy.reserve("tcp", None, port)
        assert isinstance(portproxy.PortInUse("x"), errdefs.System)  # a 500, as Docker answers
        portproxy.reserve("udp", "127.0.0.1", port).close()  # the other protocol is free
    held = portproxy.reserve("tcp", "127.0.0.1", port)
    with held, pytest.raises(portproxy.PortInUse):
        portproxy.reserve("tcp", "127.0.0.1", port)  # held strictly: no SO_REUSEADDR sharing
    with pytest.raises(errdefs.InvalidArgument, match="not available"):
        portproxy.reserve("tcp", "203.0.113.77", port)  # not an address of this host (binding sends nothing)
    with pytest.raises(errdefs.InvalidArgument):
        portproxy.reserve("sctp", None, port)


def test_ipv6_any_is_held_apart_from_ipv4_any():
    # dockerd publishes -p P on 0.0.0.0:P and [::]:P: two sockets, each family its own
    assert portproxy.ipv6_available()  # this machine has ::1; the [::] publishing tests rely on it
    port = _free_port()
    v4 = portproxy.reserve("tcp", None, port)
    with v4:
        v6 = portproxy.reserve("tcp", "::", port)
        with v6:
            assert v6.family == socket.AF_INET6 and v6.getsockname()[:2] == ("::", port)
            with pytest.raises(portproxy.PortInUse, match=rf"Bind for \[::\]:{port} failed"):
                portproxy.reserve("tcp", "::", port)


def test_reserve_all_is_all_or_nothing():
    a, b = _free_port(), _free_port()
    blocker = portproxy.reserve("tcp", "127.0.0.1", b)
    with blocker:
        with pytest.raises(portproxy.PortInUse):
            portproxy.reserve_all([("tcp", "127.0.0.1", a), ("tcp", "127.0.0.1", b)])
        portproxy.reserve("tcp", "127.0.0.1", a).close()  # released again


def test_allocator_hands_out_ports_in_order(tmp_path):
    path = str(tmp_path / "ns" / "a")
    netns.create(path)  # a namespace of its own: every port in the range is free there
    try:
        alloc = portproxy.PortAllocator((40000, 40003), netns=path)
        blocker = portproxy.reserve("tcp", None, 40001, netns=path)
        got = [alloc.allocate("tcp") for _ in range(3)]
        assert [p for p, _ in got] == [40000, 40002, 40003]
        with pytest.raises(portproxy.PortInUse, match="no free port"):
            alloc.allocate("tcp")
        got[0][1].close()
        assert alloc.allocate("tcp")[0] == 40000  # wrapped around to the freed one
        assert alloc.allocate("udp")[0] == 40000  # each protocol counts separately
        blocker.close()
        assert portproxy.PortAllocator(netns=path).lo == portproxy.local_port_range(path)[0]
    finally:
        netns.release_dir(os.path.dirname(path))


async def _echo_server(*, pause_first: float = 0.0):
    async def handle(reader, writer):
        if pause_first:
            await asyncio.sleep(pause_first)
        while data := await reader.read(65536):
            writer.write(data)
            await writer.drain()
        writer.write(b"|bye")
        await writer.drain()
        writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    return server, server.sockets[0].getsockname()[1]


def test_tcp_proxy_forwards_with_half_close():
    async def main():
        server, port = await _echo_server()
        hp = _free_port()
        proxy = await portproxy.start_proxy("tcp", portproxy.reserve("tcp", "127.0.0.1", hp, reuse_addr=True),
                                            ("127.0.0.1", port))
        try:
            payload = os.urandom(3 * 1024 * 1024)
            reader, writer = await asyncio.open_connection("127.0.0.1", hp)
            writer.write(payload)
            await writer.drain()
            writer.write_eof()  # the server answers "|bye" only after our EOF reached it
            got = await asyncio.wait_for(reader.read(), 10)
            writer.close()
            assert got == payload + b"|bye"
        finally:
            await proxy.close()
            server.close()

    asyncio.run(main())


def test_tcp_proxy_backpressure_bounds_buffering():
    async def main():
        server, port = await _echo_server(pause_first=1.0)  # reads nothing for a second
        hp = _free_port()
        proxy = await portproxy.start_proxy("tcp", portproxy.reserve("tcp", "127.0.0.1", hp), ("127.0.0.1", port))
        try:
            reader, writer = await asyncio.open_connection("127.0.0.1", hp)
            chunk = b"x" * 65536
            sent = 0
            # the client keeps writing without waiting; the proxy must stop reading instead of buffering it all
            while sent < 64 * 1024 * 1024:
                writer.write(chunk)
                sent += len(chunk)
                if writer.transport.get_write_buffer_size() > 4 * 1024 * 1024:
                    break
                await asyncio.sleep(0)
            await asyncio.sleep(0.3)
            buffered = sum(p.transport.get_write_buffer_size() for p in proxy._conns if p.transport)
            assert buffered <= 512 * 1024
            assert any(not p.transport.is_reading() for p in proxy._conns if p.transport)
            writer.close()
        finally:
            await proxy.close()
            server.close()

    asyncio.run(main())


def test_tcp_proxy_closes_when_the_target_is_gone():
    async def main():
        hp, dead = _free_port(), _free_port()
        proxy = await portproxy.start_proxy("tcp", portproxy.reserve("tcp", "127.0.0.1", hp), ("127.0.0.1", dead))
        try:
            reader, writer = await asyncio.open_connection("127.0.0.1", hp)
            try:
                assert await asyncio.wait_for(reader.read(), 5) == b""
            except ConnectionResetError:
                pass
            writer.close()
        finally:
            await proxy.close()

    asyncio.run(main())


def test_udp_proxy_relays_both_ways():
    async def main():
        loop = asyncio.get_running_loop()

        class Echo(asyncio.DatagramProtocol):
            def connection_made(self, t):
                self.t = t

            def datagram_received(self, data, addr):
                self.t.sendto(b"echo:" + data, addr)

        backend, _ = await loop.create_datagram_endpoint(Echo, local_addr=("127.0.0.1", 0))
        port = backend.get_extra_info("sockname")[1]
        hp = _free_port(socket.SOCK_DGRAM)
        proxy = await portproxy.start_proxy("udp", portproxy.reserve("udp", "127.0.0.1", hp), ("127.0.0.1", port))
        try:
            socks = [socket.socket(socket.AF_INET, socket.SOCK_DGRAM) for _ in range(2)]
            for i, s in enumerate(socks):
                s.setblocking(False)
                await loop.sock_sendto(s, f"m{i}".encode(), ("127.0.0.1", hp))
            for i, s in enumerate(socks):
                data = await asyncio.wait_for(loop.sock_recv(s, 100), 5)
                assert data == f"echo:m{i}".encode()
                s.close()
            assert len(proxy._flows) == 2
        finally:
            await proxy.close()
            backend.close()

    asyncio.run(main())
