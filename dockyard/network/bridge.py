"""Linux bridges and veth attachments, through netlink (pyroute2; nothing shells out to ``ip``).

One :class:`Bridges` works in one namespace, the "host" side (``None``: the daemon's own;
tests give it a namespace of their own so nothing touches the real host). Each call opens a
netlink socket for its own use and closes it, so calls are safe from any thread; they block
for a few milliseconds at most, so an asyncio caller runs them with ``asyncio.to_thread``.

Attaching a container makes one veth pair with a single netlink request: the host end (named
``veth`` + 7 hex digits, as Docker names them) is created in the host namespace and its peer is
born inside the container's namespace, already named ``eth0`` and carrying the container's
MAC and MTU (Docker creates it in the host namespace, moves it and renames it: three steps
where one does). The host end joins the bridge with hairpin mode on (Docker turns hairpin on
when it publishes ports with NAT instead of its userland proxy, which is what dockyard does,
so a container reaches its own published port); inside, the address, the link and the default
route via the gateway are set. Deleting either end deletes the pair.
"""

from __future__ import annotations

import contextlib
import errno
import os
import secrets
from dataclasses import dataclass
from ipaddress import IPv4Address, IPv4Interface
from typing import Iterator

from pyroute2 import IPRoute
from pyroute2.netlink.exceptions import NetlinkError

from dockyard import errdefs
from dockyard.network import netns as _netns

IFNAMSIZ = 15
VETH_PREFIX = "veth"


@dataclass(frozen=True)
class Attachment:
    """One container interface on a bridge (what :meth:`Bridges.attach` made)."""

    bridge: str
    host_ifname: str       # the veth end on the bridge, in the host namespace
    ifname: str            # the name inside the container (eth0, eth1, ...)
    address: IPv4Interface
    mac: str
    gateway: IPv4Address | None
    mtu: int


def random_mac() -> str:
    """A locally administered unicast MAC in Docker's 02:42 range."""
    return "02:42:" + ":".join(f"{b:02x}" for b in secrets.token_bytes(4))


def _check_ifname(name: str) -> None:
    if not name or len(name) > IFNAMSIZ or "/" in name or any(c.isspace() for c in name) or name in (".", ".."):
        raise errdefs.InvalidArgument(f"invalid interface name {name!r} (at most {IFNAMSIZ} characters)")


def _err(e: NetlinkError, what: str) -> errdefs.DockyardError:
    if e.code == errno.EEXIST:
        return errdefs.AlreadyExists(f"{what}: exists")
    if e.code in (errno.ENODEV, errno.ENOENT):
        return errdefs.NotFound(f"{what}: not found")
    return errdefs.System(f"{what}: {os.strerror(e.code)}")


class Bridges:
    """Bridges and attachments in the host namespace ``netns`` (None: the caller's)."""

    def __init__(self, netns: str | None = None, *, veth_prefix: str = VETH_PREFIX) -> None:
        if len(veth_prefix) > IFNAMSIZ - 7:
            raise errdefs.InvalidArgument(f"veth prefix {veth_prefix!r} too long")
        self.netns = netns
        self.veth_prefix = veth_prefix

    @contextlib.contextmanager
    def _ipr(self, path: str | None = None) -> Iterator[IPRoute]:
        target = path if path is not None else self.netns
        ipr = IPRoute() if target is None else IPRoute(use_socket=_netns.netlink_socket(target))
        try:
            yield ipr
        finally:
            ipr.close()

    @staticmethod
    def _index(ipr: IPRoute, ifname: str) -> int | None:
        found = ipr.link_lookup(ifname=ifname)
        return found[0] if found else None

    # -- bridges -------------------------------------------------------------------------

    def ensure_bridge(self, name: str, *, address: IPv4Interface | None = None, mtu: int = 1500,
                      mac: str | None = None, route_localnet: bool = True) -> None:
        """Create the bridge ``name`` (or adopt an existing one), give it ``address``, set it up.

        Idempotent: an existing bridge keeps its MAC and other addresses. ``route_localnet``
        lets connections to a port published on 127.0.0.1 leave through the bridge after DNAT
        (Docker sets the same when it publishes without its userland proxy).
        """
        _check_ifname(name)
        with self._ipr() as ipr:
            idx = self._index(ipr, name)
            if idx is None:
                try:
                    # a fixed MAC: a bridge otherwise takes its lowest port's, changing as containers come and go
                    ipr.link("add", ifname=name, kind="bridge", address=mac or random_mac(), mtu=mtu)
                except NetlinkError as e:
                    if e.code != errno.EEXIST:
                        raise _err(e, f"create bridge {name}") from None
                idx = self._index(ipr, name)
            else:
                link = ipr.link("get", index=idx)[0]
                kind = (link.get(("linkinfo", "kind")) or "")
                if kind != "bridge":
                    raise errdefs.Conflict(f"interface {name} exists and is not a bridge")
                if link.get("mtu") != mtu:
                    ipr.link("set", index=idx, mtu=mtu)
            if address is not None:
                have = {(a.get("address"), a["prefixlen"]) for a in ipr.addr("dump", index=idx, family=2)}
                if (str(address.ip), address.network.prefixlen) not in have:
                    try:
                        ipr.addr("add", index=idx, address=str(address.ip), prefixlen=address.network.prefixlen,
                                 broadcast=str(address.network.broadcast_address))
                    except NetlinkError as e:
                        if e.code != errno.EEXIST:
                            raise _err(e, f"address {address} on {name}") from None
            ipr.link("set", index=idx, state="up")
        if route_localnet:
            _netns.write_sysctl(self.netns, f"net/ipv4/conf/{name}/route_localnet", 1)

    def delete_bridge(self, name: str) -> None:
        """Delete the bridge; nothing to do when it is gone. Attached veths stay (delete them first)."""
        self._delete_link(name, f"delete bridge {name}")

    def _delete_link(self, name: str, what: str) -> None:
        """Delete an interface of the host namespace; one already gone is fine."""
        with self._ipr() as ipr:
            idx = self._index(ipr, name)
            if idx is None:
                return
            try:
                ipr.link("del", index=idx)
            except NetlinkError as e:
                if e.code not in (errno.ENODEV, errno.ENOENT):
                    raise _err(e, what) from None

    def bridge_addresses(self, name: str) -> list[IPv4Interface]:
        """The IPv4 addresses of an existing bridge (``--bridge NAME`` adopts the first)."""
        with self._ipr() as ipr:
            idx = self._index(ipr, name)
            if idx is None:
                raise errdefs.NotFound(f"bridge {name} not found")
            return [IPv4Interface(f"{a.get('address')}/{a['prefixlen']}") for a in ipr.addr("dump", index=idx, family=2)]

    def exists(self, ifname: str) -> bool:
        with self._ipr() as ipr:
            return self._index(ipr, ifname) is not None

    def ports(self, bridge: str) -> list[str]:
        """Names of the interfaces attached to ``bridge``."""
        with self._ipr() as ipr:
            idx = self._index(ipr, bridge)
            if idx is None:
                return []
            return [link.get("ifname") for link in ipr.link("dump") if link.get("master") == idx]

    # -- attachments -----------------------------------------------------------------------

    def attach(self, bridge: str, container_netns: str, *, address: IPv4Interface,
               gateway: IPv4Address | None, mac: str | None = None, mtu: int = 1500, ifname: str = "eth0",
               host_ifname: str | None = None, hairpin: bool = True, default_route: bool = True) -> Attachment:
        """Connect the namespace at ``container_netns`` to ``bridge`` through a new veth pair.

        ``gateway=None`` (an ``--internal`` network) or ``default_route=False`` (a second
        network) leaves the container without a default route through this interface.
        Nothing is left behind when a step fails.
        """
        _check_ifname(ifname)
        if host_ifname is not None:
            _check_ifname(host_ifname)
        mac = mac or random_mac()
        address = IPv4Interface(address)
        with self._ipr() as ipr:
            br = self._index(ipr, bridge)
            if br is None:
                raise errdefs.NotFound(f"bridge {bridge} not found")
            while host_ifname is None:  # veth + 7 hex digits, as Docker names them; never one in use
                name = f"{self.veth_prefix}{secrets.token_hex(4)[:7]}"
                if self._index(ipr, name) is None:
                    host_ifname = name
            try:
                fd = os.open(container_netns, os.O_RDONLY | os.O_CLOEXEC)
            except FileNotFoundError:
                raise errdefs.NotFound(f"network namespace {container_netns} not found") from None
            try:
                ipr.link("add", ifname=host_ifname, kind="veth", mtu=mtu,
                         peer={"ifname": ifname, "net_ns_fd": fd, "address": mac, "mtu": mtu})
            except NetlinkError as e:
                if e.code == errno.EEXIST:
                    raise errdefs.Conflict(f"interface {host_ifname} or {ifname} (in the container) exists") from None
                raise _err(e, f"create veth {host_ifname}") from None
            finally:
                os.close(fd)
            try:
                idx = self._index(ipr, host_ifname)
                ipr.link("set", index=idx, master=br)
                if hairpin:
                    ipr.brport("set", index=idx, mode=1)
                ipr.link("set", index=idx, state="up")
                with self._ipr(container_netns) as cipr:
                    cidx = self._index(cipr, ifname)
                    cipr.addr("add", index=cidx, address=str(address.ip), prefixlen=address.network.prefixlen,
                              broadcast=str(address.network.broadcast_address))
                    cipr.link("set", index=cidx, state="up")
                    if gateway is not None and default_route:
                        cipr.route("add", dst="0.0.0.0/0", gateway=str(gateway), oif=cidx)
            except BaseException as e:
                with contextlib.suppress(Exception):
                    ipr.link("del", ifname=host_ifname)
                if isinstance(e, NetlinkError):
                    raise _err(e, f"attach {host_ifname} to {bridge}") from None
                raise
        return Attachment(bridge=bridge, host_ifname=host_ifname, ifname=ifname, address=address, mac=mac,
                          gateway=gateway if default_route else None, mtu=mtu)

    def detach(self, host_ifname: str) -> None:
        """Delete a veth pair by its host end; nothing to do when it is gone (its namespace went first)."""
        self._delete_link(host_ifname, f"delete {host_ifname}")

    def links(self, prefix: str) -> list[str]:
        """Names of the interfaces in the host namespace that start with ``prefix``."""
        with self._ipr() as ipr:
            return sorted(n for n in (link.get("ifname") for link in ipr.link("dump")) if n and n.startswith(prefix))

    def cleanup(self, prefix: str, *, keep: set[str] | frozenset[str] = frozenset()) -> list[str]:
        """Delete interfaces named ``prefix*`` that are not in ``keep`` (leftovers of a crash); their names."""
        removed = []
        with self._ipr() as ipr:
            for link in ipr.link("dump"):
                name = link.get("ifname")
                if name and name.startswith(prefix) and name not in keep:
                    try:
                        ipr.link("del", index=link["index"])
                    except NetlinkError as e:
                        if e.code not in (errno.ENODEV, errno.ENOENT):
                            raise _err(e, f"delete {name}") from None
                    removed.append(name)
        return removed

    def set_ip_forward(self, enabled: bool = True) -> None:
        """``net.ipv4.ip_forward`` of the host namespace (the daemon's ``--ip-forward``)."""
        _netns.write_sysctl(self.netns, "net.ipv4.ip_forward", int(enabled))
