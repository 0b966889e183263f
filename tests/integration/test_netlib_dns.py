"""The embedded DNS server answering inside container namespaces at 127.0.0.11:53.

The upstream resolver is a fake one in a namespace of the test (linked to the lab host, which
is where the server forwards from); nothing is ever sent to a real resolver.
"""

from __future__ import annotations

import asyncio
import os
import socket
import struct
import subprocess
import threading
from ipaddress import ip_address, ip_interface

import pytest

from dockyard.network import dns, netns
from dockyard.network.bridge import Bridges
from dockyard.network.testing import Lab

UPSTREAM = "10.200.41.2"


def _fake_upstream(lab: Lab, ns: str) -> list[str]:
    """A resolver for *.test: example.test A 10.200.99.99; trunc.test is truncated over UDP,
    whole over TCP; everything else NXDOMAIN. Returns the log of (proto, name) it was asked."""
    asked: list[str] = []

    def answer(data: bytes, proto: str) -> bytes:
        q = dns.parse_query(data)
        asked.append(f"{proto}:{q.name}")
        if q.name == "example.test" and q.qtype == dns.A:
            return dns.build_response(q, dns.NOERROR, [(dns.A, ip_address("10.200.99.99").packed)])
        if q.name == "trunc.test":
            if proto == "udp":
                r = bytearray(dns.build_response(q, dns.NOERROR))
                r[2] |= dns.TC >> 8
                return bytes(r)
            return dns.build_response(q, dns.NOERROR, [(dns.A, ip_address(f"10.200.99.{i}").packed) for i in (1, 2, 3)])
        return dns.build_response(q, dns.NXDOMAIN)

    lab.udp_server(ns, UPSTREAM, 53, lambda peer, data: answer(data, "udp"))
    srv = netns.socket_in(ns, socket.AF_INET, socket.SOCK_STREAM)
    srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    srv.bind((UPSTREAM, 53))
    srv.listen(8)

    def serve_tcp():
        while True:
            try:
                conn, _ = srv.accept()
            except OSError:
                return
            with conn:
                n = struct.unpack("!H", conn.recv(2))[0]
                data = b""
                while len(data) < n:
                    data += conn.recv(n - len(data))
                out = answer(data, "tcp")
                conn.sendall(struct.pack("!H", len(out)) + out)

    threading.Thread(target=serve_tcp, daemon=True).start()
    lab.defer(srv.close)
    return asked


class Loop:
    """An asyncio loop in a thread, standing for the daemon's."""

    def __init__(self):
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()

    def run(self, coro, timeout=10):
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)

    def close(self):
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(5)
        self.loop.close()


@pytest.fixture
def world(tmp_path):
    lab = Lab(str(tmp_path))
    loop = Loop()
    server = None
    try:
        upstream = lab.netns("upstream")
        lab.link(lab.host, upstream, "10.200.41.1/24", f"{UPSTREAM}/24")
        asked = _fake_upstream(lab, upstream)
        server = dns.DNSServer(upstreams=[UPSTREAM], netns=lab.host, timeout=2)
        br = lab.name("dyb")
        bridges = Bridges(lab.host)
        bridges.ensure_bridge(br, address=ip_interface("10.200.40.1/24"))
        ns = {}
        for i, name in enumerate(("web", "client", "other")):
            ns[name] = lab.netns(name)
            bridges.attach(br, ns[name], address=ip_interface(f"10.200.40.{i + 2}/24"),
                           gateway=ip_address("10.200.40.1"))
        server.set_network("n1", "netone")
        server.add_name("n1", "web", "10.200.40.2")
        server.add_name("n1", "webalias", "10.200.40.2", ptr=False)
        server.add_name("n1", "client", "10.200.40.3")
        server.set_network("n2", "nettwo")
        loop.run(server.add_sandbox("web", ns["web"], ["n1"]))
        loop.run(server.add_sandbox("client", ns["client"], ["n1"]))
        loop.run(server.add_sandbox("other", ns["other"], ["n2"]))
        yield lab, loop, server, ns, asked
    finally:
        if server is not None:
            loop.run(server.close())
        loop.close()
        lab.close()


def ask(ns: str, name: str, qtype: int = dns.A, *, tcp: bool = False) -> dns.Response:
    q = dns.build_query(name, qtype)
    if tcp:
        s = netns.socket_in(ns, socket.AF_INET, socket.SOCK_STREAM)
        with s:
            s.settimeout(5)
            s.connect((dns.RESOLVER_IP, 53))
            s.sendall(struct.pack("!H", len(q)) + q)
            n = struct.unpack("!H", s.recv(2))[0]
            data = b""
            while len(data) < n:
                data += s.recv(n - len(data))
    else:
        s = netns.socket_in(ns, socket.AF_INET, socket.SOCK_DGRAM)
        with s:
            s.settimeout(5)
            s.sendto(q, (dns.RESOLVER_IP, 53))
            data, peer = s.recvfrom(4096)
            assert peer == (dns.RESOLVER_IP, 53)  # the DNAT is undone on the way back
    r = dns.parse_response(data)
    assert r.id == struct.unpack("!H", q[:2])[0]
    return r


def addrs(r: dns.Response) -> list[str]:
    return sorted(str(v) for _, t, v in r.answers if t in (dns.A, dns.AAAA))


def test_names_on_the_network(world):
    lab, loop, server, ns, asked = world
    c = ns["client"]
    for tcp in (False, True):
        assert addrs(ask(c, "web", tcp=tcp)) == ["10.200.40.2"]
    assert addrs(ask(c, "WEB.netone")) == ["10.200.40.2"]
    assert addrs(ask(c, "webalias")) == ["10.200.40.2"]
    r = ask(c, "web", dns.AAAA)
    assert r.rcode == dns.NOERROR and r.answers == []
    r = ask(c, dns.reverse_name("10.200.40.2"), dns.PTR)
    assert [v for _, t, v in r.answers if t == dns.PTR] == ["web.netone"]
    assert ask(c, "nosuch.netone").rcode == dns.NXDOMAIN
    assert asked == []  # none of that went upstream


def test_other_names_are_forwarded(world):
    lab, loop, server, ns, asked = world
    c = ns["client"]
    assert addrs(ask(c, "example.test")) == ["10.200.99.99"]
    assert addrs(ask(c, "example.test", tcp=True)) == ["10.200.99.99"]
    assert ask(c, "nosuch.test").rcode == dns.NXDOMAIN
    # truncated over UDP: asked again over TCP, and the whole answer fits the client's UDP
    r = ask(c, "trunc.test")
    assert not r.truncated and addrs(r) == ["10.200.99.1", "10.200.99.2", "10.200.99.3"]
    assert asked == ["udp:example.test", "tcp:example.test", "udp:nosuch.test", "udp:trunc.test", "tcp:trunc.test"]
    # names of a network the sandbox is not on are not answered (they go upstream)
    assert ask(ns["other"], "web").rcode == dns.NXDOMAIN and asked[-1] == "udp:web"


def test_sandbox_networks_follow_connect_and_disconnect(world):
    lab, loop, server, ns, asked = world
    server.set_sandbox_networks("other", ["n2", "n1"])
    assert addrs(ask(ns["other"], "web")) == ["10.200.40.2"]
    server.remove_name("n1", "web")
    assert addrs(ask(ns["other"], "webalias")) == ["10.200.40.2"]
    assert ask(ns["other"], "web.netone").rcode == dns.NXDOMAIN
    server.set_sandbox_networks("other", ["n2"], forward=False)
    assert ask(ns["other"], "example.test").rcode == dns.SERVFAIL  # internal only: nothing forwarded


def test_busybox_nslookup_and_ping_by_name(world, tmp_path):
    lab, loop, server, ns, asked = world
    p = subprocess.run(["nsenter", f"--net={ns['client']}", "busybox", "nslookup", "web", dns.RESOLVER_IP],
                       capture_output=True, text=True, timeout=20)
    assert p.returncode == 0, p.stdout + p.stderr
    assert "10.200.40.2" in p.stdout
    # ping resolves through resolv.conf: give it one naming only the embedded resolver (private mount namespace)
    conf = tmp_path / "resolv.conf"
    conf.write_text("nameserver 127.0.0.11\noptions ndots:0\n")
    hosts = tmp_path / "hosts"
    hosts.write_text("127.0.0.1 localhost\n")
    script = (f"mount --bind {conf} /etc/resolv.conf && mount --bind {hosts} /etc/hosts && "
              "busybox ping -c 1 -W 2 web")
    p = subprocess.run(["nsenter", f"--net={ns['client']}", "unshare", "--mount", "--propagation", "private",
                        "sh", "-c", script], capture_output=True, text=True, timeout=20)
    assert p.returncode == 0, p.stdout + p.stderr
    assert "10.200.40.2" in p.stdout


def test_readding_a_sandbox_replaces_its_listeners(world):
    lab, loop, server, ns, asked = world
    ports = loop.run(server.add_sandbox("client", ns["client"], ["n1"]))
    assert addrs(ask(ns["client"], "web")) == ["10.200.40.2"]
    text = netns.run_in(ns["client"], lambda: subprocess.run(["nft", "list", "table", "ip", "dockyard_dns"],
                                                             capture_output=True, text=True).stdout)
    assert f"127.0.0.11:{ports[0]}" in text and f"127.0.0.11:{ports[1]}" in text
    loop.run(server.remove_sandbox("client"))
    with pytest.raises(ConnectionRefusedError):
        ask(ns["client"], "web", tcp=True)
    assert "dockyard_dns" not in netns.run_in(
        ns["client"], lambda: subprocess.run(["nft", "list", "tables"], capture_output=True, text=True).stdout)
    assert os.path.exists(ns["client"])
