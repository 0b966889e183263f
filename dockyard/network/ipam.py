"""IPv4 address management: a subnet per network, an address per container, kept in SQLite.

Pools follow Docker's defaults (moby ``libnetwork/ipamutils``, ``localScopeDefaultNetworks``)::

    172.17.0.0/16  172.18.0.0/16  172.19.0.0/16     one /16 each
    172.20.0.0/14  172.24.0.0/14  172.28.0.0/14     split into /16s (172.20 ... 172.31)
    192.168.0.0/16                                  split into /20s (192.168.0.0, 192.168.16.0, ...)

A network without ``--subnet`` takes the first of these that overlaps neither another
network's subnet nor a route already on the host (the default bridge thus gets
172.17.0.0/16 unless the host routes it elsewhere). A user-given subnet is only checked
against other networks (Docker refuses the overlap with "Pool overlaps with other one on this
address space", and does not look at host routes for it).

Inside a network the gateway is the first address unless given, and is reserved. Container
addresses come from ``--ip-range`` (or the whole subnet) in serial order: the next free address
after the last one handed out, wrapping around, as Docker's allocator does, so a released
address is not reused at once. A static ``--ip`` may be anywhere in the subnet.

Tables (in the metadata DB; created here until metadata.py owns the DDL)::

    net_ipam_pools(network PK, subnet, gateway, ip_range, user_subnet, last)
        last   the last address handed out (integer), where the serial search resumes
    net_ipam_addrs(network -> net_ipam_pools, address, owner; PK(network, address))
        owner  whatever the caller names (an endpoint or container ID)
"""

from __future__ import annotations

import re
import struct
import threading
from dataclasses import dataclass
from ipaddress import IPv4Address, IPv4Interface, IPv4Network, ip_address, ip_interface, ip_network
from typing import Callable, Iterable, Iterator

from dockyard import errdefs
from dockyard.network import netns as _netns
from dockyard.store.metadata import MetadataDB

# (base, size of each subnet carved from it): moby's localScopeDefaultNetworks
DEFAULT_POOLS: tuple[tuple[str, int], ...] = (
    ("172.17.0.0/16", 16),
    ("172.18.0.0/16", 16),
    ("172.19.0.0/16", 16),
    ("172.20.0.0/14", 16),
    ("172.24.0.0/14", 16),
    ("172.28.0.0/14", 16),
    ("192.168.0.0/16", 20),
)

_DDL = (
    """CREATE TABLE IF NOT EXISTS net_ipam_pools (
        network TEXT PRIMARY KEY, subnet TEXT NOT NULL, gateway TEXT, ip_range TEXT,
        user_subnet INTEGER NOT NULL DEFAULT 0, last INTEGER NOT NULL DEFAULT 0)""",
    """CREATE TABLE IF NOT EXISTS net_ipam_addrs (
        network TEXT NOT NULL REFERENCES net_ipam_pools(network) ON DELETE CASCADE,
        address TEXT NOT NULL, owner TEXT NOT NULL, PRIMARY KEY (network, address))""",
    "CREATE INDEX IF NOT EXISTS net_ipam_addrs_owner ON net_ipam_addrs(owner)",
)


@dataclass(frozen=True)
class Pool:
    """The addresses of one network."""

    network: str
    subnet: IPv4Network
    gateway: IPv4Address | None
    ip_range: IPv4Network | None
    user_subnet: bool      # the subnet was given (--subnet/--bip): static --ip is allowed

    @property
    def gateway_interface(self) -> IPv4Interface | None:
        """The gateway with the subnet's prefix, as the bridge carries it."""
        return IPv4Interface(f"{self.gateway}/{self.subnet.prefixlen}") if self.gateway else None


def mac_for(address: IPv4Address | str) -> str:
    """Docker's MAC for a container address: 02:42 followed by the four IPv4 bytes."""
    return "02:42:" + ":".join(f"{b:02x}" for b in IPv4Address(str(address).split("/")[0]).packed)


_MAC = re.compile(r"[0-9A-Fa-f]{2}([:-])[0-9A-Fa-f]{2}(\1[0-9A-Fa-f]{2}){4}")


def normalize_mac(text: str) -> str:
    """An Ethernet MAC as Go's net.ParseMAC reads it (':' or '-' separated), lower-cased with ':'.

    Raises ValueError for anything else."""
    if not _MAC.fullmatch(text):
        raise ValueError(f"invalid MAC address: {text}")
    return text.replace("-", ":").lower()


def default_candidates(pools: Iterable[tuple[str, int]] = DEFAULT_POOLS) -> Iterator[IPv4Network]:
    for base, size in pools:
        yield from ip_network(base).subnets(new_prefix=size)


def host_routes(netns: str | None = None) -> list[IPv4Network]:
    """Destinations of the IPv4 routes in the main table (the default route left out)."""

    def read() -> list[IPv4Network]:
        with open("/proc/thread-self/net/route") as f:
            lines = f.read().splitlines()[1:]
        out = []
        for line in lines:
            fields = line.split()
            if len(fields) < 8:
                continue
            dst = IPv4Address(struct.pack("<I", int(fields[1], 16)))
            mask = IPv4Address(struct.pack("<I", int(fields[7], 16)))
            net = IPv4Network(f"{dst}/{mask}", strict=False)
            if net.prefixlen:
                out.append(net)
        return out

    return _netns.run_in(netns, read)


def parse_bip(bip: str) -> tuple[IPv4Network, IPv4Address]:
    """``--bip 172.18.0.5/16`` -> (172.18.0.0/16, 172.18.0.5): the default bridge's subnet and gateway."""
    try:
        iface = ip_interface(bip)
    except ValueError:
        raise errdefs.InvalidArgument(f"invalid bip: {bip}") from None
    if iface.version != 4 or "/" not in bip:
        raise errdefs.InvalidArgument(f"invalid bip: {bip}: an IPv4 address with a prefix is needed")
    return iface.network, iface.ip


def _parse_net(value: str | IPv4Network, what: str) -> IPv4Network:
    try:
        net = ip_network(str(value), strict=False)
    except ValueError:
        raise errdefs.InvalidArgument(f"invalid {what}: {value}") from None
    if net.version != 4:
        raise errdefs.InvalidArgument(f"invalid {what}: {value}: only IPv4 is supported")
    if str(net) != str(value) and isinstance(value, str) and "/" in value:
        raise errdefs.InvalidArgument(f"invalid {what} {value}: it should be {net}")
    return net


def _parse_addr(value: str | IPv4Address, what: str) -> IPv4Address:
    try:
        addr = ip_address(str(value))
    except ValueError:
        raise errdefs.InvalidArgument(f"invalid {what}: {value}") from None
    if addr.version != 4:
        raise errdefs.InvalidArgument(f"invalid {what}: {value}: only IPv4 is supported")
    return addr


class IPAM:
    """Pools and addresses of every network, persisted in ``db``.

    ``routes`` returns the host's routes, for skipping automatic subnets that overlap them
    (default: :func:`host_routes` of the daemon's namespace). Thread-safe: every change is
    one transaction.
    """

    def __init__(self, db: MetadataDB, *, pools: Iterable[tuple[str, int]] = DEFAULT_POOLS,
                 routes: Callable[[], Iterable[IPv4Network]] = host_routes) -> None:
        self.db = db
        self._pools = tuple(pools)
        self._routes = routes
        self._lock = threading.Lock()
        for stmt in _DDL:
            db.execute(stmt)

    # -- pools -----------------------------------------------------------------------------

    def request_pool(self, network: str, *, subnet: str | IPv4Network | None = None,
                     gateway: str | IPv4Address | None = None,
                     ip_range: str | IPv4Network | None = None) -> Pool:
        """Give ``network`` its subnet: the one asked for, or the first free default pool.

        Raises AlreadyExists when the network has a pool, Forbidden when ``subnet`` overlaps
        another network's, InvalidArgument for a malformed or inconsistent request.
        """
        gw = _parse_addr(gateway, "gateway") if gateway is not None else None
        net = _parse_net(subnet, "subnet") if subnet is not None else None
        rng = _parse_net(ip_range, "ip-range") if ip_range is not None else None
        if net is not None:
            self._validate(net, gw, rng)
        with self._lock, self.db.tx() as c:
            if c.execute("SELECT 1 FROM net_ipam_pools WHERE network=?", (network,)).fetchone():
                raise errdefs.AlreadyExists(f"network {network} already has an address pool")
            taken = [ip_network(r[0]) for r in c.execute("SELECT subnet FROM net_ipam_pools")]
            user = net is not None
            if net is None:
                net = self._pick(taken)
                if rng is not None or gw is not None:
                    self._validate(net, gw, rng)
            elif any(net.overlaps(t) for t in taken):
                raise errdefs.Forbidden("Pool overlaps with other one on this address space")
            if gw is None:
                gw = net.network_address + 1
            c.execute("INSERT INTO net_ipam_pools (network, subnet, gateway, ip_range, user_subnet, last) "
                      "VALUES (?, ?, ?, ?, ?, 0)",
                      (network, str(net), str(gw), str(rng) if rng else None, int(user)))
        return Pool(network, net, gw, rng, user)

    @staticmethod
    def _validate(net: IPv4Network, gw: IPv4Address | None, rng: IPv4Network | None) -> None:
        if net.prefixlen > 30:
            raise errdefs.InvalidArgument(f"subnet {net} is too small")
        if gw is not None and (gw not in net or gw in (net.network_address, net.broadcast_address)):
            raise errdefs.InvalidArgument(f"gateway {gw} is not a usable address of subnet {net}")
        if rng is not None and not rng.subnet_of(net):
            raise errdefs.InvalidArgument(f"ip-range {rng} is not within subnet {net}")

    def _pick(self, taken: list[IPv4Network]) -> IPv4Network:
        routes = list(self._routes())
        for cand in default_candidates(self._pools):
            if any(cand.overlaps(t) for t in taken) or any(cand.overlaps(r) for r in routes):
                continue
            return cand
        raise errdefs.InvalidArgument("all predefined address pools have been fully subnetted")

    def release_pool(self, network: str) -> None:
        """Forget ``network``'s pool and every address in it; nothing to do when it has none."""
        with self._lock, self.db.tx() as c:
            c.execute("DELETE FROM net_ipam_addrs WHERE network=?", (network,))
            c.execute("DELETE FROM net_ipam_pools WHERE network=?", (network,))

    def get_pool(self, network: str) -> Pool:
        row = self.db.query_one("SELECT * FROM net_ipam_pools WHERE network=?", (network,))
        if row is None:
            raise errdefs.NotFound(f"network {network} has no address pool")
        return self._row(row)

    def pools(self) -> list[Pool]:
        return [self._row(r) for r in self.db.query("SELECT * FROM net_ipam_pools ORDER BY rowid")]

    @staticmethod
    def _row(row) -> Pool:
        return Pool(row["network"], ip_network(row["subnet"]),
                    ip_address(row["gateway"]) if row["gateway"] else None,
                    ip_network(row["ip_range"]) if row["ip_range"] else None, bool(row["user_subnet"]))

    # -- addresses -------------------------------------------------------------------------

    def allocate(self, network: str, owner: str, *, address: str | IPv4Address | None = None) -> IPv4Interface:
        """An address of ``network`` for ``owner``, with the subnet's prefix.

        Idempotent per owner: an owner that holds an address here gets it again (a daemon
        restarted half way). ``address`` asks for a static one (``--ip``): Conflict when it is
        taken, InvalidArgument when it is outside the subnet or is the gateway.
        """
        want = _parse_addr(address, "IP address") if address is not None else None
        with self._lock, self.db.tx() as c:
            row = c.execute("SELECT * FROM net_ipam_pools WHERE network=?", (network,)).fetchone()
            if row is None:
                raise errdefs.NotFound(f"network {network} has no address pool")
            pool = self._row(row)
            prefix = pool.subnet.prefixlen
            held = c.execute("SELECT address FROM net_ipam_addrs WHERE network=? AND owner=?",
                             (network, owner)).fetchone()
            if held is not None and (want is None or str(want) == held[0]):
                return IPv4Interface(f"{held[0]}/{prefix}")
            taken = {r[0] for r in c.execute("SELECT address FROM net_ipam_addrs WHERE network=?", (network,))}
            if want is not None:
                if want not in pool.subnet or want in (pool.subnet.network_address, pool.subnet.broadcast_address):
                    raise errdefs.InvalidArgument(
                        f"no configured subnet or ip-range contain the IP address {want}")
                if want == pool.gateway or str(want) in taken:
                    raise errdefs.Conflict(f"Address already in use: {want}")
                got = want
            else:
                got = self._next_free(pool, int(row["last"]), taken)
                c.execute("UPDATE net_ipam_pools SET last=? WHERE network=?", (int(got), network))
            c.execute("INSERT INTO net_ipam_addrs (network, address, owner) VALUES (?, ?, ?)",
                      (network, str(got), owner))
        return IPv4Interface(f"{got}/{prefix}")

    @staticmethod
    def _next_free(pool: Pool, last: int, taken: set[str]) -> IPv4Address:
        space = pool.ip_range or pool.subnet
        lo, hi = int(space.network_address), int(space.broadcast_address)
        skip = {int(pool.subnet.network_address), int(pool.subnet.broadcast_address)}
        if pool.gateway is not None:
            skip.add(int(pool.gateway))
        start = last + 1 if lo <= last < hi else lo
        for i in range(hi - lo + 1):
            n = start + i
            if n > hi:
                n -= hi - lo + 1
            if n in skip:
                continue
            a = IPv4Address(n)
            if str(a) not in taken:
                return a
        raise errdefs.Unavailable(f"no available IPv4 addresses on this network's address pools: {pool.network}")

    def release(self, network: str, address: str | IPv4Address | IPv4Interface) -> None:
        """Give an address back; nothing to do when it was not allocated."""
        addr = str(address).split("/")[0]
        with self._lock:
            self.db.execute("DELETE FROM net_ipam_addrs WHERE network=? AND address=?", (network, addr))

    def release_owner(self, owner: str, network: str | None = None) -> None:
        """Give back everything ``owner`` holds (on one network, or on all)."""
        with self._lock:
            if network is None:
                self.db.execute("DELETE FROM net_ipam_addrs WHERE owner=?", (owner,))
            else:
                self.db.execute("DELETE FROM net_ipam_addrs WHERE network=? AND owner=?", (network, owner))

    def allocations(self, network: str) -> dict[IPv4Address, str]:
        """address -> owner for ``network``."""
        return {ip_address(r["address"]): r["owner"]
                for r in self.db.query("SELECT address, owner FROM net_ipam_addrs WHERE network=?", (network,))}
