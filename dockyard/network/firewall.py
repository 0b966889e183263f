"""dockyard's packet filter and NAT rules: one nftables table of its own, ``inet dockyard``.

Why nftables, and why one table of our own: every rule lives in a table that nothing else
writes, so dockyard never reads, orders around or deletes anybody else's rule (Docker's
iptables-nft chains sit in ``ip filter`` / ``ip nat``; firewalld and libvirt have theirs), and
the whole state can be swept by deleting the table. ``inet`` rather than ``ip``: one table
for both address families, so IPv6 rules can join later without a second table; NAT in the
inet family needs kernel 5.2 / nft 0.9.4, long since normal.

Layout (``nft list table inet dockyard``)::

    set  bridges      every dockyard bridge (isolation, loopback guard)
    map  pub_any      proto . host port            : container ip . port   (published on all host addresses)
    map  pub_addr     host ip . proto . host port  : container ip . port   (published on one address)
    set  published    container ip . proto . port  (forward accept for DNATed traffic)
    set  hairpin      container ip . container ip . proto . port (masquerade a container reaching itself)
    set  links        src ip . dst ip . proto . port (``--link`` allowances on ``--icc=false`` bridges)
    chain raw_pre     prerouting/raw: a bridge may not send to 127.0.0.0/8 (route_localnet is on)
    chain prerouting  nat/dstnat: to a local address -> publish
    chain output      nat/dstnat: the same for the host's own connections (127.0.0.1:port too)
    chain publish     dnat through pub_addr, then pub_any
    chain postrouting nat/srcnat: hairpin masquerade -> nets_post
    chain nets_post   per network: loopback-sourced masquerade; masquerade out of the subnet
    chain forward     filter/forward -> nets_fwd
    chain nets_fwd    --internal; published (DNATed) traffic; per network: isolation, --icc,
                      inbound only if established

Base chains have policy accept: a packet that does not touch a dockyard bridge passes through
untouched (a drop policy would cut the rest of the host's forwarding). Another table can still
drop what this one accepts (nftables runs every base chain on a hook): with Docker's own
iptables rules active and its FORWARD policy DROP, traffic of dockyard bridges needs an accept
in Docker's ``DOCKER-USER`` chain, which is the user's to add (we never touch other tables).

Changes are atomic per resource: a network's rules are rewritten with one script that flushes
and refills the per-network chains; a container's published ports are element additions and
removals in the maps and sets, one script per container. :meth:`Firewall.rebuild` replaces
the whole table in one transaction (``add table; delete table; table {...}``), which is how the
daemon sweeps rules left from a crash at start.

Traffic between two ports of one bridge reaches the IP hooks only with ``br_netfilter`` and
``net.bridge.bridge-nf-call-iptables=1``, which the firewall turns on when it has networks,
as Docker does: ``--icc=false`` needs it (an error without the module), and so does a
container reaching a published port of a neighbour on its own bridge, whose direct answer
conntrack must translate back. The bridge family's ``meta ibrname`` would do for icc without
it, but needs ``nft_meta_bridge``, which kernels do not all have (this one does not).
"""

from __future__ import annotations

import threading
from collections import Counter
from dataclasses import dataclass
from ipaddress import IPv4Address, IPv4Network, ip_address
from typing import Iterable, Mapping, Sequence

from dockyard import errdefs
from dockyard.network import netns as _netns
from dockyard.network.nft import Nft, quote

PROTOS = ("tcp", "udp")


@dataclass(frozen=True)
class NetworkRules:
    """What the firewall needs to know about one bridge network."""

    bridge: str
    subnet: IPv4Network
    internal: bool = False
    icc: bool = True
    masquerade: bool = True


@dataclass(frozen=True)
class PortMapping:
    """``host_ip:host_port -> container_ip:container_port``; ``host_ip`` None (or 0.0.0.0) is every host address."""

    proto: str
    host_port: int
    container_ip: IPv4Address
    container_port: int
    host_ip: IPv4Address | None = None

    def __post_init__(self) -> None:
        if self.proto not in PROTOS:
            raise errdefs.InvalidArgument(f"invalid proto '{self.proto}'")
        for p in (self.host_port, self.container_port):
            if not 0 < p < 65536:
                raise errdefs.InvalidArgument(f"invalid port {p}")
        object.__setattr__(self, "container_ip", IPv4Address(self.container_ip))
        if self.host_ip is not None:
            hip = ip_address(self.host_ip)
            if hip.version != 4:
                raise errdefs.InvalidArgument(f"only IPv4 host addresses are supported: {hip}")
            object.__setattr__(self, "host_ip", None if hip.is_unspecified else hip)

    @property
    def host_label(self) -> str:
        return f"{self.host_ip or '0.0.0.0'}:{self.host_port}"


@dataclass(frozen=True)
class LinkRule:
    """On an ``--icc=false`` bridge, let ``src`` open connections to ``dst:port`` (``--link``)."""

    src: IPv4Address
    dst: IPv4Address
    proto: str
    port: int

    def __post_init__(self) -> None:
        if self.proto not in PROTOS:
            raise errdefs.InvalidArgument(f"invalid proto '{self.proto}'")
        object.__setattr__(self, "src", IPv4Address(self.src))
        object.__setattr__(self, "dst", IPv4Address(self.dst))


# element kind -> (nft object, is map)
_PUB_ANY, _PUB_ADDR, _PUBLISHED, _HAIRPIN, _LINKS = "pub_any", "pub_addr", "published", "hairpin", "links"


def _port_elements(m: PortMapping) -> list[tuple[str, str, str | None]]:
    """(object, key, value) for one mapping."""
    target = f"{m.container_ip} . {m.container_port}"
    if m.host_ip is None:
        first = (_PUB_ANY, f"{m.proto} . {m.host_port}", target)
    else:
        first = (_PUB_ADDR, f"{m.host_ip} . {m.proto} . {m.host_port}", target)
    return [first,
            (_PUBLISHED, f"{m.container_ip} . {m.proto} . {m.container_port}", None),
            (_HAIRPIN, f"{m.container_ip} . {m.container_ip} . {m.proto} . {m.container_port}", None)]


def _link_elements(r: LinkRule) -> list[tuple[str, str, str | None]]:
    return [(_LINKS, f"{r.src} . {r.dst} . {r.proto} . {r.port}", None)]


class Firewall:
    """The rules of one dockyard instance, in table ``inet <table>`` of namespace ``netns``.

    Keeps the desired state in memory and mirrors every change to the kernel in one
    transaction; the state is applied only once the kernel took it. Call :meth:`rebuild` at
    daemon start with everything that should exist: it replaces whatever a previous run left.
    Thread-safe; each call is a few hundred microseconds of netlink work (call it from a
    worker thread in an asyncio daemon if that matters).
    """

    def __init__(self, *, table: str = "dockyard", netns: str | None = None, nft: Nft | None = None) -> None:
        if not table.replace("_", "").replace("-", "").isalnum():
            raise errdefs.InvalidArgument(f"invalid table name {table!r}")
        self.table = table
        self.netns = netns
        self._nft = nft or Nft(netns)
        self._lock = threading.RLock()
        self._networks: dict[str, NetworkRules] = {}
        self._ports: dict[str, tuple[PortMapping, ...]] = {}
        self._links: dict[str, tuple[LinkRule, ...]] = {}
        self._built = False

    # -- whole table ---------------------------------------------------------------------

    def rebuild(self, networks: Iterable[NetworkRules] = (),
                ports: Mapping[str, Sequence[PortMapping]] | None = None,
                links: Mapping[str, Sequence[LinkRule]] | None = None) -> None:
        """Replace the table with exactly these networks, published ports and links (by owner)."""
        nets = {n.bridge: n for n in networks}
        ports_ = {o: tuple(m) for o, m in (ports or {}).items() if m}
        links_ = {o: tuple(r) for o, r in (links or {}).items() if r}
        self._check_port_conflicts(ports_)
        with self._lock:
            self._require_br_netfilter(nets.values())
            self._nft.run(self._table_script(nets, ports_, links_))
            self._networks, self._ports, self._links = nets, ports_, links_
            self._built = True

    def delete(self) -> None:
        """Remove the table (``--iptables=false``, tests) and forget the state."""
        t = f"inet {self.table}"
        with self._lock:
            self._nft.run(f"add table {t}\ndelete table {t}\n")
            self._networks, self._ports, self._links = {}, {}, {}
            self._built = False

    def ruleset(self) -> str:
        """The table as ``nft list table`` shows it (debugging, tests)."""
        return self._nft.run(f"list table inet {self.table}\n")

    def close(self) -> None:
        self._nft.close()

    # -- networks ------------------------------------------------------------------------

    def add_network(self, net: NetworkRules) -> None:
        """Add (or replace) a network's rules; the other networks' isolation is updated with it."""
        with self._lock:
            nets = dict(self._networks)
            nets[net.bridge] = net
            self._apply_networks(nets)

    def remove_network(self, bridge: str) -> None:
        with self._lock:
            if bridge not in self._networks and self._built:
                return
            nets = dict(self._networks)
            nets.pop(bridge, None)
            self._apply_networks(nets)

    def networks(self) -> list[NetworkRules]:
        with self._lock:
            return list(self._networks.values())

    def _apply_networks(self, nets: dict[str, NetworkRules]) -> None:
        self._require_br_netfilter(nets.values())
        self._ensure_built()
        self._nft.run(self._network_script(nets))
        self._networks = nets

    def _ensure_built(self) -> None:
        # first change without a rebuild(): replace what a previous run left with the state held now
        if not self._built:
            self._nft.run(self._table_script(self._networks, self._ports, self._links))
            self._built = True

    def _require_br_netfilter(self, nets: Iterable[NetworkRules]) -> None:
        """Traffic between two ports of a bridge must pass the IP hooks (as Docker also sets up):
        for ``--icc=false`` drops, and for a container reaching a published port of another
        container on its own bridge, whose direct answer conntrack must translate back."""
        nets = list(nets)
        if not nets:
            return
        key = "net.bridge.bridge-nf-call-iptables"
        try:
            if _netns.read_sysctl(self.netns, key) != "1":
                _netns.write_sysctl(self.netns, key, 1)
        except FileNotFoundError:
            if not all(n.icc for n in nets):
                raise errdefs.FailedPrecondition(
                    "--icc=false needs the br_netfilter kernel module (modprobe br_netfilter)") from None

    # -- published ports -----------------------------------------------------------------

    def publish(self, owner: str, mappings: Sequence[PortMapping]) -> None:
        """Set the published ports of ``owner`` (a container or endpoint ID), replacing its previous ones.

        Raises Conflict when another owner already publishes one of the host ports; nothing
        changes then.
        """
        mappings = tuple(dict.fromkeys(mappings))
        with self._lock:
            new = dict(self._ports)
            if mappings:
                new[owner] = mappings
            else:
                new.pop(owner, None)
            self._check_port_conflicts(new)
            self._apply_elements(self._ports, new, _port_elements)
            self._ports = new

    def unpublish(self, owner: str) -> None:
        """Remove every published port of ``owner`` (nothing to do when it has none)."""
        self.publish(owner, ())

    def published(self, owner: str) -> tuple[PortMapping, ...]:
        """The ports ``owner`` publishes now."""
        with self._lock:
            return self._ports.get(owner, ())

    @staticmethod
    def _check_port_conflicts(ports: Mapping[str, Sequence[PortMapping]]) -> None:
        """A host port is published once on every address, or once per single address."""
        on_any: set[tuple[str, int]] = set()
        on_addr: set[tuple[str, int, IPv4Address]] = set()
        for ms in ports.values():
            for m in ms:
                k = (m.proto, m.host_port)
                if m.host_ip is None:
                    clash = k in on_any or any(a[:2] == k for a in on_addr)
                    on_any.add(k)
                else:
                    clash = k in on_any or (*k, m.host_ip) in on_addr
                    on_addr.add((*k, m.host_ip))
                if clash:
                    raise errdefs.Conflict(f"Bind for {m.host_label} failed: port is already allocated")

    # -- links (icc=false) -----------------------------------------------------------------

    def set_links(self, owner: str, rules: Sequence[LinkRule]) -> None:
        """Set the ``--link`` allowances of ``owner`` (used on ``--icc=false`` bridges); empty removes them."""
        rules = tuple(dict.fromkeys(rules))
        with self._lock:
            new = dict(self._links)
            if rules:
                new[owner] = rules
            else:
                new.pop(owner, None)
            self._apply_elements(self._links, new, _link_elements)
            self._links = new

    # -- scripts ---------------------------------------------------------------------------

    def _apply_elements(self, old: Mapping[str, Sequence], new: Mapping[str, Sequence], elements) -> None:
        def count(state: Mapping[str, Sequence]) -> Counter:
            c: Counter = Counter()
            for items in state.values():
                for item in items:
                    c.update(elements(item))
            return c

        self._ensure_built()
        before, after = count(old), count(new)
        gone = [e for e in before if e not in after]
        added = [e for e in after if e not in before]
        if not gone and not added:
            return
        t = f"inet {self.table}"
        lines = []
        for obj, key, value in gone:  # add-then-delete: removal succeeds even if the element went missing
            el = f"{key} : {value}" if value is not None else key
            lines.append(f"add element {t} {obj} {{ {el} }}")
            lines.append(f"delete element {t} {obj} {{ {key} }}")
        for obj, key, value in added:
            el = f"{key} : {value}" if value is not None else key
            lines.append(f"add element {t} {obj} {{ {el} }}")
        self._nft.run("\n".join(lines) + "\n")

    def _network_script(self, nets: Mapping[str, NetworkRules]) -> str:
        t = f"inet {self.table}"
        out = [f"flush set {t} bridges"]
        if nets:
            out.append(f"add element {t} bridges {{ {', '.join(quote(b) for b in nets)} }}")
        for chain, rules in (("nets_fwd", _forward_rules(nets)), ("nets_post", _post_rules(nets))):
            out.append(f"flush chain {t} {chain}")
            out.extend(f"add rule {t} {chain} {r}" for r in rules)
        return "\n".join(out) + "\n"

    def _table_script(self, nets: Mapping[str, NetworkRules], ports: Mapping[str, Sequence[PortMapping]],
                      links: Mapping[str, Sequence[LinkRule]]) -> str:
        els: dict[str, dict[str, str | None]] = {k: {} for k in (_PUB_ANY, _PUB_ADDR, _PUBLISHED, _HAIRPIN, _LINKS)}
        for ms in ports.values():
            for m in ms:
                for obj, key, value in _port_elements(m):
                    els[obj][key] = value
        for rs in links.values():
            for r in rs:
                for obj, key, value in _link_elements(r):
                    els[obj][key] = value

        def elements(obj: str) -> str:
            if not els[obj]:
                return ""
            items = [f"{k} : {v}" if v is not None else k for k, v in els[obj].items()]
            return f"    elements = {{ {', '.join(items)} }}\n"

        def chain(name: str, rules: list[str], hook: str = "") -> str:
            body = f"    {hook}\n" if hook else ""
            body += "".join(f"    {r}\n" for r in rules)
            return f"  chain {name} {{\n{body}  }}\n"

        bridges = f"    elements = {{ {', '.join(quote(b) for b in nets)} }}\n" if nets else ""
        t = f"inet {self.table}"
        return (
            f"add table {t}\ndelete table {t}\n"
            f"table {t} {{\n"
            f"  set bridges {{\n    type ifname\n{bridges}  }}\n"
            f"  map {_PUB_ANY} {{\n    type inet_proto . inet_service : ipv4_addr . inet_service\n{elements(_PUB_ANY)}  }}\n"
            f"  map {_PUB_ADDR} {{\n    type ipv4_addr . inet_proto . inet_service : ipv4_addr . inet_service\n"
            f"{elements(_PUB_ADDR)}  }}\n"
            f"  set {_PUBLISHED} {{\n    type ipv4_addr . inet_proto . inet_service\n{elements(_PUBLISHED)}  }}\n"
            f"  set {_HAIRPIN} {{\n    type ipv4_addr . ipv4_addr . inet_proto . inet_service\n{elements(_HAIRPIN)}  }}\n"
            f"  set {_LINKS} {{\n    type ipv4_addr . ipv4_addr . inet_proto . inet_service\n{elements(_LINKS)}  }}\n"
            + chain("raw_pre", ["iifname @bridges ip daddr 127.0.0.0/8 drop"],
                    "type filter hook prerouting priority raw; policy accept;")
            + chain("publish", [f"dnat ip to ip daddr . meta l4proto . th dport map @{_PUB_ADDR}",
                                f"dnat ip to meta l4proto . th dport map @{_PUB_ANY}"])
            + chain("prerouting", ["meta nfproto ipv4 meta l4proto { tcp, udp } fib daddr type local jump publish"],
                    "type nat hook prerouting priority dstnat; policy accept;")
            + chain("output", ["meta nfproto ipv4 meta l4proto { tcp, udp } fib daddr type local jump publish"],
                    "type nat hook output priority -100; policy accept;")
            + chain("nets_post", _post_rules(nets))
            + chain("postrouting", [f"ct status dnat ip saddr . ip daddr . meta l4proto . th dport @{_HAIRPIN} masquerade",
                                    "jump nets_post"],
                    "type nat hook postrouting priority srcnat; policy accept;")
            + chain("nets_fwd", _forward_rules(nets))
            + chain("forward", ["jump nets_fwd"], "type filter hook forward priority filter; policy accept;")
            + "}\n"
        )


def _forward_rules(nets: Mapping[str, NetworkRules]) -> list[str]:
    rules: list[str] = []
    # --internal: nothing in or out, published or not
    for b, n in nets.items():
        if n.internal:
            q = quote(b)
            rules.append(f"iifname {q} oifname != {q} drop")
            rules.append(f"oifname {q} iifname != {q} drop")
    # a published port is open to everyone, containers of other networks included (Docker's documented
    # rule: "for a port to be accessible to containers on different networks, it must be published")
    rules.append(f"ct status dnat ip daddr . meta l4proto . th dport @{_PUBLISHED} accept")
    rules.append(f"ct status dnat ip saddr . meta l4proto . th sport @{_PUBLISHED} accept")
    for b, n in nets.items():
        q = quote(b)
        # Docker's DOCKER-ISOLATION stages: nothing else crosses from one bridge to another
        rules.append(f"iifname {q} oifname @bridges oifname != {q} drop")
        if n.icc:
            rules.append(f"iifname {q} oifname {q} accept")
        else:
            rules.append(f"iifname {q} oifname {q} ct state established,related accept")
            rules.append(f"iifname {q} oifname {q} ip saddr . ip daddr . meta l4proto . th dport @{_LINKS} accept")
            rules.append(f"iifname {q} oifname {q} drop")
        # from elsewhere into the bridge: only replies (published ports were accepted above)
        rules.append(f"oifname {q} ct state established,related accept")
        rules.append(f"oifname {q} drop")
    return rules


def _post_rules(nets: Mapping[str, NetworkRules]) -> list[str]:
    rules: list[str] = []
    for b, n in nets.items():
        q = quote(b)
        # a published port reached on 127.0.0.1 leaves with a loopback source: give it the bridge's
        rules.append(f"oifname {q} ip saddr 127.0.0.0/8 masquerade")
        if n.masquerade and not n.internal:
            rules.append(f"ip saddr {n.subnet} oifname != {q} masquerade")
    return rules
