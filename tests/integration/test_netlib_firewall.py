"""NAT, isolation, published ports: dockyard's nftables table on real bridges and namespaces.

Each test's "host" is a lab namespace (dockyard.network.testing.Lab), so the table, bridges
and sysctls are its own and vanish with it; the "outside world" is another namespace linked to
that host, with no route back to the containers' subnets, so only NAT can answer it.
"""

from __future__ import annotations

import re
import subprocess
from ipaddress import ip_address, ip_interface, ip_network

import pytest
from pyroute2 import IPRoute

from dockyard import errdefs
from dockyard.network import netns, portproxy
from dockyard.network.bridge import Bridges
from dockyard.network.firewall import Firewall, LinkRule, NetworkRules, PortMapping
from dockyard.network.nft import Nft
from dockyard.network.testing import Lab

FAIL = 0.5  # seconds to wait for something that must not answer


@pytest.fixture
def lab(tmp_path):
    with Lab(str(tmp_path)) as lab:
        yield lab


class Net:
    """A bridge network in the lab host, with containers attached."""

    def __init__(self, lab: Lab, n: int, **rules):
        self.lab = lab
        self.bridge = lab.name("dyb")
        self.subnet = ip_network(f"10.200.{n}.0/24")
        self.gateway = ip_address(f"10.200.{n}.1")
        self.bridges = Bridges(lab.host)
        self.bridges.ensure_bridge(self.bridge, address=ip_interface(f"{self.gateway}/24"))
        self.rules = NetworkRules(self.bridge, self.subnet, **rules)
        self.next = 2

    def container(self, ns: str | None = None, *, ifname: str = "eth0", default_route: bool = True) -> tuple[str, str]:
        ns = ns or self.lab.netns(self.lab.name("c"))
        ip = str(self.subnet.network_address + self.next)
        self.next += 1
        self.bridges.attach(self.bridge, ns, address=ip_interface(f"{ip}/24"),
                            gateway=None if self.rules.internal else self.gateway,
                            ifname=ifname, default_route=default_route)
        return ns, ip


def test_outbound_masquerade_and_no_nat_on_the_bridge(lab):
    net = Net(lab, 20)
    outside = lab.outside("out", "10.200.21.1/24", "10.200.21.2/24")
    port = lab.tcp_server(outside, "10.200.21.2", 0)
    c1, ip1 = net.container()
    c2, ip2 = net.container()
    srv = lab.tcp_server(c1, ip1, 0)
    assert not lab.reaches(c1, "10.200.21.2", port, timeout=FAIL)  # no route back without NAT
    fw = Firewall(table="dyt", netns=lab.host)
    fw.rebuild([net.rules])
    seen = lab.tcp_ask(c1, "10.200.21.2", port).decode()
    assert seen.startswith("10.200.21.1:")  # the host's address on the way out
    assert lab.tcp_ask(c2, ip1, srv).decode().startswith(f"{ip2}:")  # on the bridge: the container's own
    fw.remove_network(net.bridge)
    assert not lab.reaches(c1, "10.200.21.2", port, timeout=FAIL)


def test_isolation_between_bridges_and_a_container_on_both(lab):
    a, b = Net(lab, 22), Net(lab, 23)
    ca, ipa = a.container()
    cb, ipb = b.container()
    both = lab.netns("both")
    _, ipa2 = a.container(both)
    _, ipb2 = b.container(both, ifname="eth1", default_route=False)
    pa, pb = lab.tcp_server(ca, ipa, 0), lab.tcp_server(cb, ipb, 0)
    assert lab.reaches(ca, ipb, pb)  # plain routing through the host, before the rules
    fw = Firewall(table="dyt", netns=lab.host)
    fw.rebuild([a.rules, b.rules])
    assert not lab.reaches(ca, ipb, pb, timeout=FAIL)
    assert not lab.reaches(cb, ipa, pa, timeout=FAIL)
    assert lab.tcp_ask(both, ipa, pa).decode().startswith(f"{ipa2}:")
    assert lab.tcp_ask(both, ipb, pb).decode().startswith(f"{ipb2}:")
    assert lab.ping(both, ipa) and lab.ping(both, ipb)
    # a published port is open to the other network too (through a host address)
    fw.publish("cb", [PortMapping("tcp", 42400, ipb, pb)])
    # (leaving its subnet through another bridge, it is masqueraded, as Docker's rule does)
    assert lab.tcp_ask(ca, str(a.gateway), 42400).decode().startswith(f"{b.gateway}:")
    assert not lab.reaches(ca, ipb, pb, timeout=FAIL)  # directly still not


def test_internal_network_reaches_nothing_outside(lab):
    net = Net(lab, 26, internal=True)
    outside = lab.netns("out")  # this outside world routes back through the host: only the rules stop it
    lab.link(lab.host, outside, "10.200.27.1/24", "10.200.27.2/24", gateway_b="10.200.27.1")
    port = lab.tcp_server(outside, "10.200.27.2", 0)
    c1, ip1 = net.container()
    c2, ip2 = net.container()
    srv1, srv2 = lab.tcp_server(c1, ip1, 0), lab.tcp_server(c2, ip2, 0)
    # the attachment has no default route (internal); add one to show the drop is the firewall's
    with IPRoute(use_socket=netns.netlink_socket(c1)) as ipr:
        ipr.route("add", dst="0.0.0.0/0", gateway=str(net.gateway))
    assert lab.reaches(c1, "10.200.27.2", port)
    fw = Firewall(table="dyt", netns=lab.host)
    fw.rebuild([net.rules])
    assert lab.tcp_ask(c1, ip2, srv2)  # inside the network: fine
    assert lab.tcp_ask(lab.host, ip1, srv1)  # the host itself still reaches it (not forwarded)
    assert not lab.reaches(c1, "10.200.27.2", port, timeout=FAIL)
    with IPRoute(use_socket=netns.netlink_socket(outside)) as ipr:
        ipr.route("add", dst=str(net.subnet), gateway="10.200.27.1")
    assert not lab.reaches(outside, ip1, srv1, timeout=FAIL)


def test_icc_false_and_links(lab):
    net = Net(lab, 28, icc=False)
    c1, ip1 = net.container()
    c2, ip2 = net.container()
    p1, p2 = lab.tcp_server(c2, ip2, 0), lab.tcp_server(c2, ip2, 0)
    assert lab.reaches(c1, ip2, p1)
    fw = Firewall(table="dyt", netns=lab.host)
    fw.rebuild([net.rules])
    assert not lab.reaches(c1, ip2, p1, timeout=FAIL)
    fw.set_links("c1", [LinkRule(ip1, ip2, "tcp", p1)])
    assert lab.reaches(c1, ip2, p1)
    assert not lab.reaches(c1, ip2, p2, timeout=FAIL)
    fw.set_links("c1", [])
    assert not lab.reaches(c1, ip2, p1, timeout=FAIL)


def test_published_ports(lab):
    net = Net(lab, 24)
    outside = lab.netns("out")
    lab.link(lab.host, outside, "10.200.25.1/24", "10.200.25.2/24", gateway_b="10.200.25.1")
    host_ip = "10.200.25.1"
    c1, ip1 = net.container()
    c2, ip2 = net.container()
    tcp = lab.tcp_server(c1, ip1, 0)
    udp = lab.udp_server(c1, ip1, 0)
    fw = Firewall(table="dyt", netns=lab.host)
    fw.rebuild([net.rules])
    assert not lab.reaches(outside, ip1, tcp, timeout=FAIL)  # unpublished: dropped even with a route

    alloc = portproxy.PortAllocator((42000, 42100), netns=lab.host)
    hp, hold1 = alloc.allocate("tcp")
    up, hold2 = alloc.allocate("udp")
    lp = portproxy.reserve("tcp", "127.0.0.1", 42200, netns=lab.host)
    fw.publish("c1", [PortMapping("tcp", hp, ip1, tcp), PortMapping("udp", up, ip1, udp),
                      PortMapping("tcp", 42200, ip1, tcp, host_ip=ip_address("127.0.0.1"))])
    # from outside, through the host's address: the server sees the real client
    assert lab.tcp_ask(outside, host_ip, hp).decode().startswith("10.200.25.2:")
    assert lab.udp_ask(outside, host_ip, up).decode().startswith("10.200.25.2:")
    # from the host itself: its own address, and loopback (route_localnet + masquerade to the bridge address)
    assert lab.tcp_ask(lab.host, host_ip, hp)
    assert lab.tcp_ask(lab.host, "127.0.0.1", hp).decode().startswith(f"{net.gateway}:")
    assert lab.tcp_ask(lab.host, "127.0.0.1", 42200)
    # a port published on 127.0.0.1 only is not on the host's other addresses
    assert not lab.reaches(outside, host_ip, 42200, timeout=FAIL)
    # from another container through the host port, and a container reaching its own published port
    assert lab.tcp_ask(c2, host_ip, hp)
    assert lab.tcp_ask(c1, host_ip, hp)
    assert lab.tcp_ask(c1, str(net.gateway), hp)

    fw.unpublish("c1")
    assert not lab.reaches(outside, host_ip, hp, timeout=FAIL)
    assert not lab.reaches(lab.host, "127.0.0.1", hp, timeout=FAIL)
    portproxy.release([hold1, hold2, lp])


def test_port_conflicts_change_nothing(lab):
    net = Net(lab, 29)
    fw = Firewall(table="dyt", netns=lab.host)
    fw.rebuild([net.rules])
    fw.publish("a", [PortMapping("tcp", 8080, "10.200.29.2", 80)])
    before = fw.ruleset()
    for clash in ([PortMapping("tcp", 8080, "10.200.29.3", 80)],
                  [PortMapping("tcp", 8081, "10.200.29.3", 80), PortMapping("tcp", 8080, "10.200.29.3", 81,
                                                                            host_ip="127.0.0.1")]):
        with pytest.raises(errdefs.Conflict, match="port is already allocated"):
            fw.publish("b", clash)
    assert fw.ruleset() == before
    fw.publish("b", [PortMapping("udp", 8080, "10.200.29.3", 80)])  # another protocol is another port
    fw.publish("a", [PortMapping("tcp", 8080, "10.200.29.2", 80)])  # the same again: nothing to do
    assert fw.published("a") == (PortMapping("tcp", 8080, ip_address("10.200.29.2"), 80),)
    # the host port is checked by binding it, before any rule: a clear error
    hold = portproxy.reserve("tcp", None, 42300, netns=lab.host)
    with pytest.raises(portproxy.PortInUse, match="127.0.0.1:42300 failed: port is already allocated"):
        portproxy.reserve_all([("tcp", None, 42301), ("tcp", "127.0.0.1", 42300)], netns=lab.host)
    portproxy.reserve("tcp", None, 42301, netns=lab.host).close()  # the first one was released again
    hold.close()


def test_rebuild_sweeps_stale_rules_and_leaves_other_tables_alone(lab):
    net = Net(lab, 30)
    nft = Nft(lab.host)
    foreign = ("table inet other {\n  chain forward {\n    type filter hook forward priority 0; policy accept;\n"
               "    ip saddr 10.200.30.0/24 counter\n  }\n}\n")
    nft.run(foreign)
    before = nft.run("list table inet other\n")
    fw = Firewall(table="dyt", netns=lab.host)
    fw.rebuild([net.rules])
    fw.publish("gone", [PortMapping("tcp", 9000, "10.200.30.2", 80)])
    # a "restarted daemon": a new Firewall that knows only what still exists
    fw2 = Firewall(table="dyt", netns=lab.host)
    fw2.rebuild([net.rules], {"kept": [PortMapping("tcp", 9001, "10.200.30.3", 80)]})
    text = fw2.ruleset()
    assert "9001" in text and "9000" not in text
    # without rebuild, the first change sweeps too
    fw3 = Firewall(table="dyt", netns=lab.host)
    fw3.publish("x", [PortMapping("udp", 9002, "10.200.30.4", 53)])
    text = fw3.ruleset()
    assert "9002" in text and "9001" not in text and net.bridge not in text
    fw3.delete()
    assert "dyt" not in nft.run("list tables\n")
    assert nft.run("list table inet other\n") == before
    nft.run("delete table inet other\n")


def test_coexists_with_dockers_iptables_rules(lab):
    """Docker's own iptables-nft rules (ip nat / ip filter) stay as they were, and both work side by side."""
    def iptables(*args: str) -> str:
        return subprocess.run(["nsenter", f"--net={lab.host}", *args], check=True, capture_output=True,
                              text=True).stdout

    for rule in (["-t", "nat", "-N", "DOCKER"],
                 ["-t", "nat", "-A", "PREROUTING", "-m", "addrtype", "--dst-type", "LOCAL", "-j", "DOCKER"],
                 ["-t", "nat", "-A", "POSTROUTING", "-s", "172.17.0.0/16", "!", "-o", "docker0", "-j", "MASQUERADE"],
                 ["-t", "nat", "-A", "DOCKER", "-i", "docker0", "-j", "RETURN"],
                 ["-N", "DOCKER-USER"], ["-A", "FORWARD", "-j", "DOCKER-USER"],
                 ["-A", "FORWARD", "-o", "docker0", "-j", "ACCEPT"]):
        iptables("iptables", *rule)
    before = iptables("iptables-save")
    net = Net(lab, 31)
    outside = lab.netns("out")
    lab.link(lab.host, outside, "10.200.32.1/24", "10.200.32.2/24", gateway_b="10.200.32.1")
    c1, ip1 = net.container()
    srv = lab.tcp_server(c1, ip1, 0)
    fw = Firewall(table="dyt", netns=lab.host)
    fw.rebuild([net.rules])
    fw.publish("c1", [PortMapping("tcp", 42500, ip1, srv)])
    assert lab.tcp_ask(outside, "10.200.32.1", 42500)
    fw.delete()
    def rules(text: str) -> list[str]:  # without comments and counters
        return [re.sub(r"\[\d+:\d+\]", "", line) for line in text.splitlines() if not line.startswith("#")]

    assert rules(iptables("iptables-save")) == rules(before)


def test_nft_backends_agree(lab):
    lib, cli = Nft(lab.host), Nft(lab.host, use_library=False)
    assert lib.backend == "libnftables" and cli.backend == "nft"
    cli.run("add table inet dyt_cli\n")
    assert "dyt_cli" in lib.run("list tables\n")
    with pytest.raises(errdefs.System, match="nftables"):
        lib.run("add rule inet nosuch nosuch accept\n")
    with pytest.raises(errdefs.System, match="nftables"):
        cli.run("add rule inet nosuch nosuch accept\n")
