"""Network namespaces as files: create, enter, sockets inside, delete (real kernel objects, root)."""

from __future__ import annotations

import os
import socket
import threading

import pytest

from dockyard import errdefs
from dockyard.network import netns


@pytest.fixture
def nsdir(tmp_path):
    d = str(tmp_path / "netns")
    yield d
    netns.release_dir(d)


def _mounted(path: str) -> bool:
    with open("/proc/self/mountinfo") as f:
        return any(line.split()[4] == path for line in f)


def test_create_enter_delete(nsdir):
    path = os.path.join(nsdir, "c1")
    netns.create(path)
    assert netns.exists(path) and _mounted(path)
    assert netns.identity(path) != netns.identity(None)
    # the namespace holds only lo, and lo is up
    names = netns.run_in(path, lambda: [n for _, n in socket.if_nameindex()])
    assert names == ["lo"]
    assert netns.read_sysctl(path, "net.ipv4.conf.lo.forwarding") in ("0", "1")
    # the daemon's thread never moved
    me = netns.identity(None)
    netns.run_in(path, lambda: None)
    assert netns.identity(None) == me
    with pytest.raises(errdefs.AlreadyExists):
        netns.create(path)
    netns.delete(path)
    assert not os.path.exists(path) and not _mounted(path)
    netns.delete(path)  # idempotent
    with pytest.raises(errdefs.NotFound):
        netns.run_in(path, lambda: None)


def test_sockets_made_inside_stay_inside(nsdir):
    a, b = os.path.join(nsdir, "a"), os.path.join(nsdir, "b")
    netns.create(a)
    netns.create(b)
    # the same loopback address in two namespaces: two different sockets, no conflict
    sa = netns.socket_in(a, socket.AF_INET, socket.SOCK_DGRAM)
    sb = netns.socket_in(b, socket.AF_INET, socket.SOCK_DGRAM)
    with sa, sb:
        sa.bind(("127.0.0.11", 5353))
        sb.bind(("127.0.0.11", 5353))
        ca = netns.socket_in(a, socket.AF_INET, socket.SOCK_DGRAM)
        with ca:
            ca.sendto(b"to-a", ("127.0.0.11", 5353))  # used from this (main) thread
            sa.settimeout(2)
            assert sa.recv(10) == b"to-a"
            sb.setblocking(False)
            with pytest.raises(BlockingIOError):
                sb.recv(10)


def test_sysctl_is_per_namespace(nsdir):
    a = os.path.join(nsdir, "a")
    netns.create(a)
    host = netns.read_sysctl(None, "net.ipv4.ip_local_port_range")
    netns.write_sysctl(a, "net.ipv4.ip_local_port_range", "40000\t40100")
    assert netns.read_sysctl(a, "net.ipv4.ip_local_port_range").split() == ["40000", "40100"]
    assert netns.read_sysctl(None, "net.ipv4.ip_local_port_range") == host


def test_lo_down_then_up(nsdir):
    a = os.path.join(nsdir, "a")
    netns.create(a, lo_up=False)

    assert not netns.run_in(a, _ifflags, "lo") & 1
    netns.lo_up(a)
    assert netns.run_in(a, _ifflags, "lo") & 1


def _ifflags(name: str) -> int:
    import fcntl
    import struct

    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        return struct.unpack("16sH14x", fcntl.ioctl(s, netns.SIOCGIFFLAGS, struct.pack("16sH14x", name.encode(), 0)))[1]


def test_arun_in_keeps_the_loop_running(nsdir):
    import asyncio

    a = os.path.join(nsdir, "a")
    netns.create(a)
    ticks = []

    async def main():
        async def tick():
            for _ in range(3):
                ticks.append(1)
                await asyncio.sleep(0.01)

        t = asyncio.create_task(tick())
        ident = await netns.arun_in(a, lambda: (threading.get_native_id(), netns.identity(None)))
        await t
        return ident

    tid, ident = asyncio.run(main())
    assert ident == netns.identity(a) and tid != threading.get_native_id()
    assert len(ticks) == 3


def test_release_dir_deletes_everything(tmp_path):
    d = str(tmp_path / "ns")
    for n in ("x", "y"):
        netns.create(os.path.join(d, n))
    assert _mounted(d)
    netns.release_dir(d)
    assert os.listdir(d) == [] and not _mounted(d)
