"""A network lab for tests: a throwaway "host" namespace with containers and an outside world in it.

Like containerd's ``testsuite`` packages, this ships with the library so every test of
networking (this package's, the services', the daemon's) builds its kernel fixtures the same
way. Everything a :class:`Lab` makes lives in namespaces it created under its own directory:
the "host" is a namespace too, so bridges, nft tables, routes and sysctls never touch the
machine's real ones, and :meth:`Lab.close` (deleting the namespaces) removes every interface
and rule at once, whatever state a failed test left. Traffic only goes to addresses the lab
assigned.
"""

from __future__ import annotations

import os
import secrets
import socket
import subprocess
import threading
from ipaddress import ip_interface
from typing import Callable

from pyroute2 import IPRoute

from dockyard.network import netns as _netns


class Lab:
    """Namespaces under ``directory``; ``host`` is the one standing for the machine."""

    def __init__(self, directory: str) -> None:
        self.directory = os.path.join(directory, "netns")
        self.tag = secrets.token_hex(3)
        self._made: list[str] = []
        self._closers: list[Callable[[], None]] = []
        self.host = self.netns("host")
        _netns.write_sysctl(self.host, "net.ipv4.ip_forward", 1)

    def name(self, prefix: str) -> str:
        """A unique interface name (at most 15 characters)."""
        return f"{prefix}{self.tag}{secrets.token_hex(2)}"[:15]

    def netns(self, name: str) -> str:
        path = os.path.join(self.directory, name)
        _netns.create(path)
        self._made.append(path)
        return path

    def link(self, a: str, b: str, addr_a: str, addr_b: str, *, gateway_b: str | None = None) -> tuple[str, str]:
        """A veth between namespaces ``a`` and ``b`` with an address on each end; (name in a, name in b).

        ``gateway_b`` sets a default route in ``b`` (an outside world that routes back to a).
        """
        ia, ib = self.name("la"), self.name("lb")
        fd = os.open(b, os.O_RDONLY | os.O_CLOEXEC)
        try:
            with IPRoute(use_socket=_netns.netlink_socket(a)) as ipr:
                ipr.link("add", ifname=ia, kind="veth", peer={"ifname": ib, "net_ns_fd": fd})
                idx = ipr.link_lookup(ifname=ia)[0]
                x = ip_interface(addr_a)
                ipr.addr("add", index=idx, address=str(x.ip), prefixlen=x.network.prefixlen)
                ipr.link("set", index=idx, state="up")
        finally:
            os.close(fd)
        with IPRoute(use_socket=_netns.netlink_socket(b)) as ipr:
            idx = ipr.link_lookup(ifname=ib)[0]
            y = ip_interface(addr_b)
            ipr.addr("add", index=idx, address=str(y.ip), prefixlen=y.network.prefixlen)
            ipr.link("set", index=idx, state="up")
            if gateway_b:
                ipr.route("add", dst="0.0.0.0/0", gateway=gateway_b)
        return ia, ib

    def outside(self, name: str, host_addr: str, outside_addr: str) -> str:
        """A namespace standing for the outside world, linked to the host; it has no route to
        anything but the link, so an answer can only reach a container through the host's NAT."""
        path = self.netns(name)
        self.link(self.host, path, host_addr, outside_addr)
        return path

    def defer(self, fn: Callable[[], None]) -> None:
        """Run ``fn`` at :meth:`close`, before the namespaces go (servers a test started itself)."""
        self._closers.append(fn)

    # -- probes ----------------------------------------------------------------------------

    def tcp_server(self, ns: str, addr: str, port: int, reply: Callable[[tuple, bytes], bytes] | None = None) -> int:
        """A threaded TCP server in ``ns``: answers each connection with ``reply(peer, data)``
        (default: the peer's address as "ip:port"). Returns the port (``port=0`` picks one)."""
        srv = _netns.socket_in(ns, socket.AF_INET, socket.SOCK_STREAM)
        srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        srv.bind((addr, port))
        srv.listen(16)
        reply = reply or (lambda peer, data: f"{peer[0]}:{peer[1]}".encode())

        def serve() -> None:
            while True:
                try:
                    conn, peer = srv.accept()
                except OSError:
                    return
                with conn:
                    conn.settimeout(5)
                    try:
                        data = conn.recv(65536)
                        conn.sendall(reply(peer, data))
                    except OSError:
                        pass

        threading.Thread(target=serve, daemon=True, name="lab-tcp").start()
        self._closers.append(lambda: _shutdown(srv))
        return srv.getsockname()[1]

    def udp_server(self, ns: str, addr: str, port: int, reply: Callable[[tuple, bytes], bytes | None] | None = None) -> int:
        srv = _netns.socket_in(ns, socket.AF_INET, socket.SOCK_DGRAM)
        srv.bind((addr, port))
        reply = reply or (lambda peer, data: f"{peer[0]}:{peer[1]}".encode())

        def serve() -> None:
            while True:
                try:
                    data, peer = srv.recvfrom(65536)
                except OSError:
                    return
                if peer is None:  # shut down
                    return
                out = reply(peer, data)
                if out is not None:
                    try:
                        srv.sendto(out, peer)
                    except OSError:
                        pass

        threading.Thread(target=serve, daemon=True, name="lab-udp").start()
        self._closers.append(lambda: _shutdown(srv))
        return srv.getsockname()[1]

    def tcp_ask(self, ns: str | None, addr: str, port: int, data: bytes = b"hi", timeout: float = 3.0) -> bytes:
        """Connect from ``ns`` to addr:port, send ``data``, return everything answered."""
        s = _netns.socket_in(ns, socket.AF_INET, socket.SOCK_STREAM)
        with s:
            s.settimeout(timeout)
            s.connect((addr, port))
            s.sendall(data)
            s.shutdown(socket.SHUT_WR)
            out = b""
            while chunk := s.recv(65536):
                out += chunk
            return out

    def udp_ask(self, ns: str | None, addr: str, port: int, data: bytes = b"hi", timeout: float = 3.0) -> bytes:
        s = _netns.socket_in(ns, socket.AF_INET, socket.SOCK_DGRAM)
        with s:
            s.settimeout(timeout)
            s.sendto(data, (addr, port))
            return s.recv(65536)

    def reaches(self, ns: str | None, addr: str, port: int, timeout: float = 1.0) -> bool:
        """True when a TCP connection from ``ns`` to addr:port is answered."""
        try:
            return bool(self.tcp_ask(ns, addr, port, timeout=timeout))
        except OSError:
            return False

    def ping(self, ns: str, addr: str, timeout: int = 1) -> bool:
        """One ICMP echo from ``ns`` (busybox ping under nsenter)."""
        p = subprocess.run(["nsenter", f"--net={ns}", "busybox", "ping", "-c", "1", "-W", str(timeout), addr],
                           capture_output=True, timeout=timeout + 5)
        return p.returncode == 0

    def close(self) -> None:
        """Stop the servers and delete every namespace (and with them every interface and rule)."""
        for c in reversed(self._closers):
            c()
        self._closers.clear()
        _netns.release_dir(self.directory)
        self._made.clear()

    def __enter__(self) -> "Lab":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _shutdown(s: socket.socket) -> None:
    try:
        s.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass
    s.close()


def subnet(n: int) -> str:
    """Test subnet number ``n`` of 10.200.0.0/16, as a /24."""
    return f"10.200.{n}.0/24"



