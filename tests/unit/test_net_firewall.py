"""The firewall's scripts and bookkeeping, against a recording stand-in for nftables."""

from __future__ import annotations

from ipaddress import ip_address, ip_network

import pytest

from dockyard import errdefs
from dockyard.network.firewall import Firewall, LinkRule, NetworkRules, PortMapping


class Recorder:
    def __init__(self):
        self.scripts: list[str] = []
        self.fail = False

    def run(self, script: str) -> str:
        if self.fail:
            raise errdefs.System("nftables: refused")
        self.scripts.append(script)
        return ""

    def close(self):
        pass


@pytest.fixture
def fw():
    rec = Recorder()
    f = Firewall(table="dyt", nft=rec)
    f.rebuild([NetworkRules("br0", ip_network("10.200.1.0/24"))])
    rec.scripts.clear()
    return f, rec


def test_mapping_validation():
    m = PortMapping("tcp", 8080, "10.0.0.2", 80, host_ip="0.0.0.0")
    assert m.host_ip is None and m.container_ip == ip_address("10.0.0.2") and m.host_label == "0.0.0.0:8080"
    for bad in (dict(proto="sctp"), dict(host_port=0), dict(container_port=70000), dict(host_ip="::1")):
        args = dict(proto="tcp", host_port=1, container_ip="10.0.0.2", container_port=1) | bad
        with pytest.raises(errdefs.InvalidArgument):
            PortMapping(**args)
    with pytest.raises(errdefs.InvalidArgument):
        Firewall(table="bad table", nft=Recorder())


def test_rebuild_is_one_transaction_replacing_the_table():
    rec = Recorder()
    f = Firewall(table="dyt", nft=rec)
    f.rebuild([NetworkRules("br0", ip_network("10.200.1.0/24"))], {"c1": [PortMapping("tcp", 8080, "10.200.1.2", 80)]})
    (script,) = rec.scripts
    assert script.startswith("add table inet dyt\ndelete table inet dyt\ntable inet dyt {")
    assert "tcp . 8080 : 10.200.1.2 . 80" in script and "10.200.1.2 . tcp . 80" in script
    assert 'ip saddr 10.200.1.0/24 oifname != "br0" masquerade' in script
    assert 'oifname "br0" ip saddr 127.0.0.0/8 masquerade' in script
    assert "policy drop" not in script  # never cut the rest of the host's traffic


def test_network_rules(fw):
    f, rec = fw
    f.add_network(NetworkRules("br1", ip_network("10.200.2.0/24"), internal=True, icc=False))
    (script,) = rec.scripts
    assert script.startswith("flush set inet dyt bridges\nadd element inet dyt bridges { \"br0\", \"br1\" }")
    assert 'add rule inet dyt nets_fwd iifname "br1" oifname != "br1" drop' in script
    assert 'add rule inet dyt nets_fwd iifname "br1" oifname "br1" drop' in script
    assert "10.200.2.0/24 oifname" not in script  # internal: no masquerade
    assert 'iifname "br0" oifname @bridges oifname != "br0" drop' in script
    rec.scripts.clear()
    f.remove_network("br1")
    f.remove_network("br1")  # gone already: nothing to do
    assert len(rec.scripts) == 1 and "br1" not in rec.scripts[0]
    assert [n.bridge for n in f.networks()] == ["br0"]


def test_publish_deltas_count_shared_elements(fw):
    f, rec = fw
    f.publish("c1", [PortMapping("tcp", 8080, "10.200.1.2", 80)])
    f.publish("c2", [PortMapping("tcp", 8081, "10.200.1.2", 80)])  # the same container port again
    rec.scripts.clear()
    f.unpublish("c1")
    (script,) = rec.scripts
    assert "delete element inet dyt pub_any { tcp . 8080 }" in script
    assert "published" not in script and "hairpin" not in script  # still used by c2
    rec.scripts.clear()
    f.unpublish("c2")
    assert "delete element inet dyt published { 10.200.1.2 . tcp . 80 }" in rec.scripts[0]
    rec.scripts.clear()
    f.unpublish("c2")
    assert rec.scripts == []


def test_failed_transaction_keeps_the_old_state(fw):
    f, rec = fw
    f.publish("c1", [PortMapping("udp", 53, "10.200.1.2", 53, host_ip="127.0.0.1")])
    rec.fail = True
    with pytest.raises(errdefs.System):
        f.publish("c1", [PortMapping("udp", 54, "10.200.1.2", 53)])
    with pytest.raises(errdefs.System):
        f.add_network(NetworkRules("br9", ip_network("10.200.9.0/24")))
    rec.fail = False
    assert f.published("c1") == (PortMapping("udp", 53, ip_address("10.200.1.2"), 53, ip_address("127.0.0.1")),)
    assert [n.bridge for n in f.networks()] == ["br0"]


def test_conflicts(fw):
    f, _ = fw
    f.publish("a", [PortMapping("tcp", 80, "10.200.1.2", 80, host_ip="127.0.0.1")])
    f.publish("b", [PortMapping("tcp", 80, "10.200.1.3", 80, host_ip="127.0.0.2")])  # another address: fine
    with pytest.raises(errdefs.Conflict):
        f.publish("c", [PortMapping("tcp", 80, "10.200.1.4", 80)])  # every address includes 127.0.0.1
    with pytest.raises(errdefs.Conflict):
        f.publish("c", [PortMapping("tcp", 81, "10.200.1.4", 80), PortMapping("tcp", 81, "10.200.1.4", 81)])
    with pytest.raises(errdefs.Conflict):
        f.rebuild([], {"x": [PortMapping("udp", 1, "10.0.0.1", 1)], "y": [PortMapping("udp", 1, "10.0.0.2", 1)]})


def test_links(fw):
    f, rec = fw
    f.set_links("c1", [LinkRule("10.200.1.2", "10.200.1.3", "tcp", 80)])
    assert "add element inet dyt links { 10.200.1.2 . 10.200.1.3 . tcp . 80 }" in rec.scripts[-1]
    f.set_links("c1", [])
    assert "delete element inet dyt links { 10.200.1.2 . 10.200.1.3 . tcp . 80 }" in rec.scripts[-1]
