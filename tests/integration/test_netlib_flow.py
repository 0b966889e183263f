"""The pieces together, as a NetworkService will drive them: IPAM -> bridge -> firewall -> DNS,
then a "daemon restart" (new objects over the same DB and kernel state) that keeps everything."""

from __future__ import annotations

import asyncio
import socket
import threading

import pytest

from dockyard.network import dns, netns, portproxy
from dockyard.network.bridge import Bridges
from dockyard.network.firewall import Firewall, NetworkRules, PortMapping
from dockyard.network.ipam import IPAM, host_routes, mac_for
from dockyard.network.testing import Lab
from dockyard.store.metadata import MetadataDB


@pytest.fixture
def lab(tmp_path):
    with Lab(str(tmp_path)) as lab:
        yield lab


def test_network_lifecycle_and_restart(lab, tmp_path):
    outside = lab.netns("out")
    # the host routes 10.200.64.0/24 already (its link to the outside world): IPAM must skip it
    lab.link(lab.host, outside, "10.200.64.1/24", "10.200.64.2/24", gateway_b="10.200.64.1")
    db_path = str(tmp_path / "dockyard.db")
    db = MetadataDB(db_path)
    ipam = IPAM(db, pools=[("10.200.64.0/18", 24)], routes=lambda: host_routes(lab.host))
    bridges = Bridges(lab.host, veth_prefix=lab.name("v")[:8])
    fw = Firewall(table="dyt", netns=lab.host)
    fw.rebuild()

    pool = ipam.request_pool("net1")
    assert str(pool.subnet) == "10.200.65.0/24"
    br = lab.name("dyb")
    bridges.ensure_bridge(br, address=pool.gateway_interface)
    fw.add_network(NetworkRules(br, pool.subnet))

    containers = {}
    for name in ("web", "client"):
        ns = lab.netns(name)
        addr = ipam.allocate("net1", name)
        att = bridges.attach(br, ns, address=addr, gateway=pool.gateway, mac=mac_for(addr.ip))
        containers[name] = (ns, addr, att)
    web_ns, web_addr, _ = containers["web"]
    srv = lab.tcp_server(web_ns, str(web_addr.ip), 80)
    (hold,) = portproxy.reserve_all([("tcp", None, 8080)], netns=lab.host)
    fw.publish("web", [PortMapping("tcp", 8080, web_addr.ip, 80)])
    assert lab.tcp_ask(outside, "10.200.64.1", 8080).startswith(b"10.200.64.2:")

    loop = asyncio.new_event_loop()
    t = threading.Thread(target=loop.run_forever, daemon=True)
    t.start()
    server = dns.DNSServer(upstreams=[], netns=lab.host, timeout=1)
    try:
        server.set_network("net1", "net1")
        for name, (ns, addr, _) in containers.items():
            server.add_name("net1", name, addr.ip)
        client_ns = containers["client"][0]
        asyncio.run_coroutine_threadsafe(server.add_sandbox("client", client_ns, ["net1"]), loop).result(5)

        def resolve(name: str) -> str:
            s = netns.socket_in(client_ns, socket.AF_INET, socket.SOCK_DGRAM)
            with s:
                s.settimeout(3)
                s.sendto(dns.build_query(name, dns.A), ("127.0.0.11", 53))
                return str(dns.parse_response(s.recv(512)).answers[0][2])

        assert resolve("web") == str(web_addr.ip)
        assert lab.tcp_ask(client_ns, resolve("web"), 80)

        # kill -9 of the daemon: its memory is gone, the kernel objects stay and keep working
        asyncio.run_coroutine_threadsafe(server.close(), loop).result(5)
        hold.close()
        del fw, ipam, server
        db.close()
        assert lab.tcp_ask(outside, "10.200.64.1", 8080)

        # the new daemon: state from the DB, rules rebuilt, resolvers re-adopted
        db = MetadataDB(db_path)
        ipam = IPAM(db, pools=[("10.200.64.0/18", 24)], routes=lambda: host_routes(lab.host))
        assert ipam.allocate("net1", "web") == web_addr  # the address is still the container's
        (hold,) = portproxy.reserve_all([("tcp", None, 8080)], netns=lab.host)
        fw = Firewall(table="dyt", netns=lab.host)
        pool = ipam.get_pool("net1")
        fw.rebuild([NetworkRules(br, pool.subnet)], {"web": [PortMapping("tcp", 8080, web_addr.ip, 80)]})
        assert lab.tcp_ask(outside, "10.200.64.1", 8080)
        server = dns.DNSServer(upstreams=[], netns=lab.host, timeout=1)
        server.set_network("net1", "net1")
        server.add_name("net1", "web", web_addr.ip)
        asyncio.run_coroutine_threadsafe(server.add_sandbox("client", client_ns, ["net1"]), loop).result(5)
        assert resolve("web") == str(web_addr.ip)

        # remove the container: nothing of it is left
        fw.unpublish("web")
        hold.close()
        bridges.detach(containers["web"][2].host_ifname)
        ipam.release_owner("web")
        server.remove_name("net1", "web")
        assert not lab.reaches(outside, "10.200.64.1", 8080, timeout=0.5)
        assert containers["web"][2].host_ifname not in bridges.links(bridges.veth_prefix)
        assert "8080" not in fw.ruleset()
        asyncio.run_coroutine_threadsafe(server.close(), loop).result(5)
    finally:
        loop.call_soon_threadsafe(loop.stop)
        t.join(5)
        loop.close()
        db.close()
    del srv
