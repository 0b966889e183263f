"""Host ports: reserving them (port-in-use detection), picking random ones, and a userland proxy.

How a published port is reached on 127.0.0.1, decided: by the kernel, not by a proxy.
A connection to ``127.0.0.1:8080`` is DNATed in the nat/output hook like any other local
address (:mod:`dockyard.network.firewall`). Leaving through the bridge with a loopback source
is what the kernel refuses unless ``net.ipv4.conf.<bridge>.route_localnet=1``, so the bridge
gets that (:meth:`Bridges.ensure_bridge`), and the firewall masquerades 127.0.0.0/8 sources
leaving through a bridge and drops packets a bridge sends to 127.0.0.0/8 (a container must not
reach the host's loopback-only services through route_localnet). This is Docker's own setup
with ``--userland-proxy=false``; throughput is the kernel's (no copy through the daemon), and
the daemon is not on the data path, so published ports keep working while it restarts.

The host port is still *reserved* by a socket bound in the daemon (TCP: bound, never listening;
UDP: bound): binding is the port-in-use check, done before any rule is made, and it keeps
another program from taking the port later and being shadowed by the DNAT. A restarted daemon
reserves the ports of running containers again.

The userland proxy (:func:`start_proxy`, an asyncio TCP/UDP forwarder with backpressure)
serves where NAT is not in use: ``--iptables=false`` (Docker's docker-proxy still publishes
ports then), or a published port whose traffic must pass through the daemon. It takes over
the reserving socket, so there is no window in which the port is free.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import logging
import socket
import threading
import time
from dataclasses import dataclass
from ipaddress import IPv4Address, ip_address
from typing import Iterable, Sequence

from dockyard import errdefs
from dockyard.network import netns as _netns

log = logging.getLogger(__name__)

UDP_IDLE_TIMEOUT = 90.0  # docker-proxy's UDPConnTrackTimeout
UDP_BUF = 65535


class PortInUse(errdefs.System):
    """The host port is taken by another program (or another container)."""


def _family(host_ip: str | IPv4Address | None) -> tuple[int, str]:
    if host_ip is None or str(host_ip) in ("", "0.0.0.0"):
        return socket.AF_INET, "0.0.0.0"
    a = ip_address(str(host_ip))
    return (socket.AF_INET6 if a.version == 6 else socket.AF_INET), str(a)


def reserve(proto: str, host_ip: str | IPv4Address | None, port: int, *, reuse_addr: bool = False,
            netns: str | None = None) -> socket.socket:
    """Bind ``host_ip:port`` (None or 0.0.0.0: every address) and return the socket that holds it.

    Raises PortInUse with Docker's wording when something else has the port, InvalidArgument
    for an address that is not on this host. Without ``reuse_addr`` the port is held strictly
    (no SO_REUSEADDR: with it, Linux lets two bound, non-listening sockets share a port); a
    socket meant for :func:`start_proxy` may set it, so that its accepted connections lingering
    in TIME_WAIT do not keep the port from being bound again. ``netns``: the namespace whose
    port it is (None: the daemon's own).
    """
    if proto not in ("tcp", "udp"):
        raise errdefs.InvalidArgument(f"invalid proto '{proto}'")
    family, host = _family(host_ip)
    s = _netns.socket_in(netns, family, socket.SOCK_STREAM if proto == "tcp" else socket.SOCK_DGRAM)
    try:
        s.set_inheritable(False)
        if family == socket.AF_INET6:  # [::]:port is IPv6's alone: 0.0.0.0:port is held by its own socket
            s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
        if proto == "tcp" and reuse_addr:
            s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind((host, port))
    except OSError as e:
        s.close()
        label = f"{host}:{port}" if family == socket.AF_INET else f"[{host}]:{port}"
        if e.errno == errno.EADDRINUSE:
            raise PortInUse(f"Bind for {label} failed: port is already allocated") from None
        if e.errno == errno.EADDRNOTAVAIL:
            raise errdefs.InvalidArgument(f"cannot publish on {label}: address not available on this host") from None
        if e.errno == errno.EACCES:
            raise PortInUse(f"Bind for {label} failed: permission denied") from None
        raise
    return s


def ipv6_available() -> bool:
    """Whether the host has IPv6: dockerd publishes a port on [::] beside 0.0.0.0 then."""
    try:
        s = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
    except OSError:
        return False
    try:
        s.bind(("::1", 0))
        return True
    except OSError:
        return False
    finally:
        s.close()


def reserve_all(ports: Iterable[tuple[str, str | IPv4Address | None, int]], *,
                netns: str | None = None, reuse_addr: bool = False) -> list[socket.socket]:
    """Reserve every (proto, host_ip, port), or none: on the first failure the others are released."""
    held: list[socket.socket] = []
    try:
        for proto, host_ip, port in ports:
            held.append(reserve(proto, host_ip, port, netns=netns, reuse_addr=reuse_addr))
    except BaseException:
        for s in held:
            s.close()
        raise
    return held


def local_port_range(netns: str | None = None) -> tuple[int, int]:
    """The kernel's ephemeral range (``net.ipv4.ip_local_port_range``), where Docker takes ``-p 80``'s port."""
    try:
        lo, hi = (int(x) for x in _netns.read_sysctl(netns, "net.ipv4.ip_local_port_range").split())
        return lo, hi
    except (OSError, ValueError):
        return 32768, 60999


class PortAllocator:
    """Random host ports for ``-p 80`` / ``-P``: the next free one after the last handed out, as Docker's allocator does.

    "Free" means bindable right now; the port comes back with the socket that reserves it.
    """

    def __init__(self, port_range: tuple[int, int] | None = None, *, netns: str | None = None) -> None:
        self.netns = netns
        self.lo, self.hi = port_range or local_port_range(netns)
        self._last: dict[tuple[str, str], int] = {}
        self._lock = threading.Lock()

    def allocate(self, proto: str, host_ip: str | IPv4Address | None = None) -> tuple[int, socket.socket]:
        key = (proto, _family(host_ip)[1])
        with self._lock:
            start = self._last.get(key, self.hi) + 1
            span = self.hi - self.lo + 1
            for i in range(span):
                port = self.lo + (start - self.lo + i) % span
                try:
                    s = reserve(proto, host_ip, port, netns=self.netns)
                except PortInUse:
                    continue
                self._last[key] = port
                return port, s
        raise PortInUse(f"no free port in {self.lo}-{self.hi} for {proto}")


# -- the userland proxy ----------------------------------------------------------------------


class _Pipe(asyncio.Protocol):
    """One side of a proxied TCP connection; writes what it reads into its peer's transport.

    Backpressure: when the peer's write buffer passes its high-water mark the peer's protocol
    gets ``pause_writing`` and stops this side's reading until the buffer drains.
    """

    def __init__(self, conns: set) -> None:
        self.transport: asyncio.Transport | None = None
        self.peer: _Pipe | None = None
        self.eof = False
        self.conns = conns

    def connection_made(self, transport) -> None:
        self.transport = transport
        transport.set_write_buffer_limits(high=256 * 1024)
        self.conns.add(self)

    def data_received(self, data: bytes) -> None:
        if self.peer is not None and self.peer.transport is not None:
            self.peer.transport.write(data)

    def eof_received(self) -> bool:
        self.eof = True
        peer = self.peer
        if peer is None or peer.transport is None:
            return False
        if peer.eof:
            peer.transport.close()
            return False
        if peer.transport.can_write_eof():
            peer.transport.write_eof()
        return True  # keep our transport open for the other direction

    def pause_writing(self) -> None:
        if self.peer is not None and self.peer.transport is not None:
            self.peer.transport.pause_reading()

    def resume_writing(self) -> None:
        if self.peer is not None and self.peer.transport is not None:
            self.peer.transport.resume_reading()

    def connection_lost(self, exc) -> None:
        self.conns.discard(self)
        if self.peer is not None and self.peer.transport is not None:
            self.peer.transport.close()  # flushes what is buffered first


class _Front(_Pipe):
    """The accepted side: connects to the target, then pipes both ways."""

    def __init__(self, proxy: "TCPProxy") -> None:
        super().__init__(proxy._conns)
        self.proxy = proxy

    def connection_made(self, transport) -> None:
        super().connection_made(transport)
        transport.pause_reading()
        self.proxy._spawn(self._connect())

    async def _connect(self) -> None:
        loop = asyncio.get_running_loop()
        back = _Pipe(self.conns)
        back.peer = self
        try:
            await asyncio.wait_for(loop.create_connection(lambda: back, *self.proxy.target), self.proxy.connect_timeout)
        except (OSError, asyncio.TimeoutError) as e:
            log.debug("portproxy: connect to %s:%s failed: %s", *self.proxy.target, e)
            if self.transport is not None:
                self.transport.abort()
            return
        self.peer = back
        if self.transport is not None and not self.transport.is_closing():
            self.transport.resume_reading()
        elif back.transport is not None:
            back.transport.close()


class TCPProxy:
    """Accepts on a reserved socket and forwards each connection to ``target``."""

    def __init__(self, sock: socket.socket, target: tuple[str, int], *, connect_timeout: float = 10.0) -> None:
        self.sock = sock
        self.target = (str(target[0]), int(target[1]))
        self.connect_timeout = connect_timeout
        self._server: asyncio.AbstractServer | None = None
        self._conns: set[_Pipe] = set()
        self._tasks: set[asyncio.Task] = set()

    def _spawn(self, coro) -> None:
        t = asyncio.get_running_loop().create_task(coro)
        self._tasks.add(t)
        t.add_done_callback(self._tasks.discard)

    async def start(self) -> None:
        self.sock.setblocking(False)
        self.sock.listen(1024)
        self._server = await asyncio.get_running_loop().create_server(lambda: _Front(self), sock=self.sock)

    async def close(self) -> None:
        if self._server is not None:
            self._server.close()
        for p in list(self._conns):
            if p.transport is not None:
                p.transport.abort()
        for t in list(self._tasks):
            t.cancel()
        if self._server is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._server.wait_closed(), 1)


@dataclass
class _Flow:
    transport: asyncio.DatagramTransport | None
    pending: list[bytes]
    last: float


class _UDPBack(asyncio.DatagramProtocol):
    def __init__(self, proxy: "UDPProxy", client) -> None:
        self.proxy = proxy
        self.client = client

    def datagram_received(self, data: bytes, addr) -> None:
        flow = self.proxy._flows.get(self.client)
        if flow is not None:
            flow.last = time.monotonic()
        front = self.proxy._front
        if front is not None and front.get_write_buffer_size() < 4 * UDP_BUF:  # else drop: UDP has no backpressure
            front.sendto(data, self.client)

    def error_received(self, exc: Exception) -> None:
        pass


class _UDPFront(asyncio.DatagramProtocol):
    def __init__(self, proxy: "UDPProxy") -> None:
        self.proxy = proxy

    def datagram_received(self, data: bytes, addr) -> None:
        self.proxy._from_client(data, addr)

    def error_received(self, exc: Exception) -> None:
        pass


class UDPProxy:
    """Relays datagrams between clients of a reserved socket and ``target``; one flow per client, idle ones expire."""

    def __init__(self, sock: socket.socket, target: tuple[str, int], *, idle_timeout: float = UDP_IDLE_TIMEOUT) -> None:
        self.sock = sock
        self.target = (str(target[0]), int(target[1]))
        self.idle_timeout = idle_timeout
        self._front: asyncio.DatagramTransport | None = None
        self._flows: dict[object, _Flow] = {}
        self._reaper: asyncio.Task | None = None

    async def start(self) -> None:
        self.sock.setblocking(False)
        loop = asyncio.get_running_loop()
        self._front, _ = await loop.create_datagram_endpoint(lambda: _UDPFront(self), sock=self.sock)
        self._reaper = loop.create_task(self._reap())

    def _from_client(self, data: bytes, addr) -> None:
        flow = self._flows.get(addr)
        if flow is None:
            flow = self._flows[addr] = _Flow(None, [data], time.monotonic())
            asyncio.get_running_loop().create_task(self._open(addr, flow))
        elif flow.transport is None:
            if len(flow.pending) < 64:
                flow.pending.append(data)
        else:
            flow.last = time.monotonic()
            flow.transport.sendto(data)

    async def _open(self, addr, flow: _Flow) -> None:
        loop = asyncio.get_running_loop()
        try:
            transport, _ = await loop.create_datagram_endpoint(lambda: _UDPBack(self, addr), remote_addr=self.target)
        except OSError as e:
            log.debug("portproxy: udp to %s:%s failed: %s", *self.target, e)
            self._flows.pop(addr, None)
            return
        if self._flows.get(addr) is not flow:
            transport.close()
            return
        flow.transport = transport
        for d in flow.pending:
            transport.sendto(d)
        flow.pending.clear()

    async def _reap(self) -> None:
        while True:
            await asyncio.sleep(min(self.idle_timeout, 5.0))
            now = time.monotonic()
            for addr, flow in list(self._flows.items()):
                if now - flow.last > self.idle_timeout:
                    self._flows.pop(addr, None)
                    if flow.transport is not None:
                        flow.transport.close()

    async def close(self) -> None:
        if self._reaper is not None:
            self._reaper.cancel()
        for flow in self._flows.values():
            if flow.transport is not None:
                flow.transport.close()
        self._flows.clear()
        if self._front is not None:
            self._front.close()


async def start_proxy(proto: str, sock: socket.socket, target: tuple[str, int]) -> TCPProxy | UDPProxy:
    """Forward what arrives on ``sock`` (from :func:`reserve`) to ``target``; ``await proxy.close()`` stops it."""
    proxy: TCPProxy | UDPProxy = TCPProxy(sock, target) if proto == "tcp" else UDPProxy(sock, target)
    await proxy.start()
    return proxy


def release(socks: Sequence[socket.socket]) -> None:
    for s in socks:
        with contextlib.suppress(OSError):
            s.close()
