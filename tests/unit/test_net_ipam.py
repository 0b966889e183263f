"""Address pools and container addresses, persisted in the metadata DB (no kernel objects)."""

from __future__ import annotations

from ipaddress import ip_address, ip_interface, ip_network

import pytest

from dockyard import errdefs
from dockyard.network.ipam import IPAM, default_candidates, host_routes, mac_for, parse_bip
from dockyard.store.metadata import MetadataDB


@pytest.fixture
def db(tmp_path):
    d = MetadataDB(str(tmp_path / "dockyard.db"))
    yield d
    d.close()


def ipam(db, routes=()):
    return IPAM(db, routes=lambda: [ip_network(r) for r in routes])


def test_default_pools_follow_docker():
    cands = [str(n) for n in default_candidates()]
    assert cands[:3] == ["172.17.0.0/16", "172.18.0.0/16", "172.19.0.0/16"]
    assert cands[3:16] == [f"172.{i}.0.0/16" for i in range(20, 32)] + ["192.168.0.0/20"]
    assert cands[-1] == "192.168.240.0/20" and len(cands) == 15 + 16


def test_automatic_pools_skip_taken_and_routed_subnets(db):
    im = ipam(db, routes=["172.17.5.0/24", "10.0.0.0/8"])
    p = im.request_pool("bridge")
    assert str(p.subnet) == "172.18.0.0/16" and str(p.gateway) == "172.18.0.1" and not p.user_subnet
    assert str(im.request_pool("n2").subnet) == "172.19.0.0/16"
    assert str(im.request_pool("n3").subnet) == "172.20.0.0/16"
    im.release_pool("n2")
    assert str(im.request_pool("n4").subnet) == "172.19.0.0/16"
    with pytest.raises(errdefs.AlreadyExists):
        im.request_pool("n4")


def test_exhausted_pools(db):
    im = IPAM(db, pools=[("10.200.0.0/23", 24)], routes=lambda: [])
    im.request_pool("a")
    im.request_pool("b")
    with pytest.raises(errdefs.InvalidArgument, match="fully subnetted"):
        im.request_pool("c")


def test_user_subnets(db):
    im = ipam(db, routes=["172.22.0.0/16"])  # a user subnet is not checked against routes
    p = im.request_pool("n", subnet="172.22.16.0/24", gateway="172.22.16.1")
    assert p.user_subnet and p.gateway_interface == ip_interface("172.22.16.1/24")
    with pytest.raises(errdefs.Forbidden, match="Pool overlaps"):
        im.request_pool("m", subnet="172.22.0.0/16")
    with pytest.raises(errdefs.InvalidArgument, match="it should be 10.200.1.0/24"):
        im.request_pool("x", subnet="10.200.1.5/24")
    with pytest.raises(errdefs.InvalidArgument):
        im.request_pool("x", subnet="10.200.1.0/24", gateway="10.200.2.1")
    with pytest.raises(errdefs.InvalidArgument):
        im.request_pool("x", subnet="10.200.1.0/24", ip_range="10.200.0.0/16")
    with pytest.raises(errdefs.InvalidArgument):
        im.request_pool("x", subnet="fd00::/64")
    with pytest.raises(errdefs.InvalidArgument):
        im.request_pool("x", subnet="nonsense")
    # nothing half-made by the failures
    assert [p.network for p in im.pools()] == ["n"]
    assert parse_bip("172.18.0.5/16") == (ip_network("172.18.0.0/16"), ip_address("172.18.0.5"))


def test_serial_allocation_and_release(db):
    im = ipam(db)
    im.request_pool("n", subnet="10.200.2.0/29")  # .1 gateway, .2 - .6 for containers
    got = [str(im.allocate("n", f"c{i}")) for i in range(3)]
    assert got == ["10.200.2.2/29", "10.200.2.3/29", "10.200.2.4/29"]
    assert str(im.allocate("n", "c0")) == "10.200.2.2/29"  # the same owner: the same address
    im.release("n", "10.200.2.3")
    # serial: a released address is not handed out again before the others
    assert str(im.allocate("n", "c3")) == "10.200.2.5/29"
    assert str(im.allocate("n", "c4")) == "10.200.2.6/29"
    assert str(im.allocate("n", "c5")) == "10.200.2.3/29"  # wrapped around
    with pytest.raises(errdefs.Unavailable, match="no available IPv4 addresses"):
        im.allocate("n", "c6")
    im.release_owner("c4")
    assert im.allocations("n")[ip_address("10.200.2.2")] == "c0"
    assert ip_address("10.200.2.6") not in im.allocations("n")


def test_static_addresses_and_ip_range(db):
    im = ipam(db)
    im.request_pool("n", subnet="10.200.3.0/24", gateway="10.200.3.254", ip_range="10.200.3.128/25")
    assert str(im.allocate("n", "a")) == "10.200.3.128/24"
    assert str(im.allocate("n", "s", address="10.200.3.10")) == "10.200.3.10/24"  # outside the range: allowed
    with pytest.raises(errdefs.Conflict, match="Address already in use"):
        im.allocate("n", "t", address="10.200.3.10")
    with pytest.raises(errdefs.Conflict):
        im.allocate("n", "t", address="10.200.3.254")  # the gateway
    with pytest.raises(errdefs.InvalidArgument, match="no configured subnet"):
        im.allocate("n", "t", address="10.200.4.1")
    with pytest.raises(errdefs.InvalidArgument):
        im.allocate("n", "t", address="10.200.3.255")
    with pytest.raises(errdefs.NotFound):
        im.allocate("nosuch", "t")
    # .128 - .253 of the range: the gateway (.254) and the broadcast address (.255) are never handed out
    got = {im.allocate("n", f"x{i}").ip for i in range(125)}
    assert max(got) == ip_address("10.200.3.253")
    with pytest.raises(errdefs.Unavailable):
        im.allocate("n", "one-too-many")


def test_allocations_survive_a_restart(tmp_path):
    path = str(tmp_path / "dockyard.db")
    db = MetadataDB(path)
    im = IPAM(db, routes=lambda: [])
    im.request_pool("bridge")
    im.request_pool("user", subnet="10.200.5.0/24", ip_range="10.200.5.64/26")
    a = im.allocate("bridge", "c1")
    b = im.allocate("user", "c1")
    im.allocate("user", "c2")
    im.release("user", "10.200.5.65")
    db.close()

    db = MetadataDB(path)
    im = IPAM(db, routes=lambda: [ip_network("172.17.0.0/16")])  # now routed: the pool is kept anyway
    assert im.get_pool("bridge").subnet == ip_network("172.17.0.0/16")
    assert im.get_pool("user").ip_range == ip_network("10.200.5.64/26") and im.get_pool("user").user_subnet
    assert im.allocate("bridge", "c1") == a and im.allocate("user", "c1") == b
    assert str(im.allocate("user", "c3")) == "10.200.5.66/24"  # the serial cursor persisted too
    im.release_pool("user")
    assert im.allocations("user") == {}
    with pytest.raises(errdefs.NotFound):
        im.get_pool("user")
    db.close()


def test_mac_follows_the_address():
    assert mac_for("172.17.0.2") == "02:42:ac:11:00:02"
    assert mac_for(ip_interface("10.200.10.255/24")) == "02:42:0a:c8:0a:ff"


def test_host_routes_reads_the_main_table():
    routes = host_routes()
    assert all(r.prefixlen > 0 for r in routes)  # the default route is left out
