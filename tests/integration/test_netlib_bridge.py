"""Bridges and veth attachments through netlink, in a lab namespace standing for the host."""

from __future__ import annotations

import secrets
import socket
from ipaddress import ip_address, ip_interface

import pytest
from pyroute2 import IPRoute

from dockyard import errdefs
from dockyard.network import netns
from dockyard.network.bridge import Bridges
from dockyard.network.ipam import mac_for
from dockyard.network.testing import Lab


@pytest.fixture
def lab(tmp_path):
    with Lab(str(tmp_path)) as lab:
        yield lab


def _links(ns: str) -> dict[str, dict]:
    with IPRoute(use_socket=netns.netlink_socket(ns)) as ipr:
        return {link.get("ifname"): link for link in ipr.link("dump")}


def test_two_containers_on_a_bridge_reach_each_other(lab):
    br = lab.name("dyb")
    bridges = Bridges(lab.host, veth_prefix=lab.name("v")[:8])
    bridges.ensure_bridge(br, address=ip_interface("10.200.10.1/24"), mtu=1450)
    bridges.ensure_bridge(br, address=ip_interface("10.200.10.1/24"), mtu=1450)  # idempotent
    assert bridges.bridge_addresses(br) == [ip_interface("10.200.10.1/24")]
    assert netns.read_sysctl(lab.host, f"net.ipv4.conf.{br}.route_localnet") == "1"
    c1, c2 = lab.netns("c1"), lab.netns("c2")
    gw = ip_address("10.200.10.1")
    a1 = bridges.attach(br, c1, address=ip_interface("10.200.10.2/24"), gateway=gw,
                        mac=mac_for("10.200.10.2"), mtu=1450)
    a2 = bridges.attach(br, c2, address=ip_interface("10.200.10.3/24"), gateway=gw, mtu=1450)
    assert sorted(bridges.ports(br)) == sorted([a1.host_ifname, a2.host_ifname])
    assert a1.host_ifname.startswith(bridges.veth_prefix) and len(a1.host_ifname) <= 15

    inside = _links(c1)
    assert set(inside) == {"lo", "eth0"}
    eth0 = inside["eth0"]
    assert eth0.get("address") == "02:42:0a:c8:0a:02" and eth0.get("mtu") == 1450
    with IPRoute(use_socket=netns.netlink_socket(c1)) as ipr:
        routes = [(r.get("dst"), r.get("gateway")) for r in ipr.route("dump", family=socket.AF_INET, table=254)]
    assert (None, "10.200.10.1") in routes
    host_end = _links(lab.host)[a1.host_ifname]
    assert host_end.get("master") == _links(lab.host)[br]["index"]
    port_info = host_end.get_attr("IFLA_LINKINFO").get_attr("IFLA_INFO_SLAVE_DATA")
    assert port_info.get_attr("IFLA_BRPORT_MODE") == 1  # hairpin, as Docker sets it without its userland proxy

    assert lab.ping(c1, "10.200.10.3")
    assert lab.ping(c2, "10.200.10.2")
    assert lab.ping(c1, "10.200.10.1")
    port = lab.tcp_server(c2, "10.200.10.3", 0)
    assert lab.tcp_ask(c1, "10.200.10.3", port).startswith(b"10.200.10.2:")  # no NAT on the bridge

    bridges.detach(a1.host_ifname)
    bridges.detach(a1.host_ifname)  # idempotent
    assert set(_links(c1)) == {"lo"}
    assert not lab.ping(c2, "10.200.10.2")
    bridges.delete_bridge(br)
    bridges.delete_bridge(br)
    assert not bridges.exists(br)


def test_internal_attachment_has_no_default_route(lab):
    br = lab.name("dyb")
    bridges = Bridges(lab.host)
    bridges.ensure_bridge(br, address=ip_interface("10.200.11.1/24"))
    c = lab.netns("c")
    a = bridges.attach(br, c, address=ip_interface("10.200.11.2/24"), gateway=None)
    b = bridges.attach(br, c, address=ip_interface("10.200.11.9/24"), gateway=ip_address("10.200.11.1"),
                       ifname="eth1", default_route=False)
    assert a.gateway is None and b.gateway is None
    with IPRoute(use_socket=netns.netlink_socket(c)) as ipr:
        assert not [r for r in ipr.route("dump", family=socket.AF_INET, table=254) if r.get("dst") is None]
    assert set(_links(c)) == {"lo", "eth0", "eth1"}


def test_attach_failures_leave_nothing(lab):
    br = lab.name("dyb")
    prefix = lab.name("vf")[:8]
    bridges = Bridges(lab.host, veth_prefix=prefix)
    bridges.ensure_bridge(br, address=ip_interface("10.200.12.1/24"))
    c = lab.netns("c")
    with pytest.raises(errdefs.NotFound):
        bridges.attach("nosuchbr0", c, address=ip_interface("10.200.12.2/24"), gateway=None)
    with pytest.raises(errdefs.NotFound):
        bridges.attach(br, c + "-missing", address=ip_interface("10.200.12.2/24"), gateway=None)
    bridges.attach(br, c, address=ip_interface("10.200.12.2/24"), gateway=None)
    with pytest.raises(errdefs.Conflict):  # eth0 exists in the container
        bridges.attach(br, c, address=ip_interface("10.200.12.3/24"), gateway=None)
    # a gateway outside the subnet fails at the route: the veth pair is removed again
    with pytest.raises(errdefs.DockyardError):
        bridges.attach(br, c, address=ip_interface("10.200.12.4/24"), gateway=ip_address("10.99.0.1"), ifname="eth1")
    assert len(bridges.links(prefix)) == 1
    assert set(_links(c)) == {"lo", "eth0"}
    with pytest.raises(errdefs.InvalidArgument):
        bridges.ensure_bridge("a-name-longer-than-15")


def test_cleanup_by_prefix_keeps_known_interfaces(lab):
    br = lab.name("dyb")
    prefix = lab.name("vc")[:8]
    bridges = Bridges(lab.host, veth_prefix=prefix)
    bridges.ensure_bridge(br, address=ip_interface("10.200.13.1/24"))
    made = [bridges.attach(br, lab.netns(f"c{i}"), address=ip_interface(f"10.200.13.{i + 2}/24"), gateway=None)
            for i in range(3)]
    keep = {made[0].host_ifname}
    removed = bridges.cleanup(prefix, keep=keep)
    assert sorted(removed) == sorted(m.host_ifname for m in made[1:])
    assert bridges.links(prefix) == [made[0].host_ifname]


def test_bridge_in_the_callers_namespace(tmp_path):
    """Bridges(None) works on the namespace it runs in (here: a thread inside a lab namespace)."""
    with Lab(str(tmp_path)) as lab:
        name = f"dyt{secrets.token_hex(4)}"

        def work():
            b = Bridges(None)
            b.ensure_bridge(name, address=ip_interface("10.200.14.1/24"), route_localnet=False)
            ok = b.exists(name)
            b.delete_bridge(name)
            return ok, b.exists(name)

        assert netns.run_in(lab.host, work) == (True, False)


def test_existing_non_bridge_is_refused(lab):
    with pytest.raises(errdefs.Conflict):
        Bridges(lab.host).ensure_bridge("lo")
