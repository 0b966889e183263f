"""Networks and the endpoints containers have on them, with Docker's semantics.

Three predefined networks (``bridge``: the default bridge; ``host``; ``none``), user-defined
bridge networks, and for each running container on a bridge network: its own network
namespace (made before the runtime starts the container), a veth pair to each of its networks'
bridges with an address from IPAM, its published ports (held sockets + nftables DNAT; on ``[::]``
too, as dockerd, through a userland proxy in the daemon), and, on
user-defined networks, the embedded DNS at 127.0.0.11. What a restarted daemon needs to take
running containers back is in the DB (``net_endpoints``, ``net_sandboxes``); the kernel objects
stay while the daemon is away.

    networks            net_networks(id PK, name UNIQUE, driver, ...config JSON)
    container ──< endpoint (net_endpoints: network, container, config + address, mac, veth)
    container ── sandbox (net_sandboxes: netns path, published ports JSON)
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import ipaddress
import json
import logging
import os
import re
import time
from dataclasses import dataclass, field
from typing import Callable

from dockyard import errdefs
from dockyard.network import dns as netdns
from dockyard.network import etcfiles, netns, portproxy
from dockyard.network.bridge import Bridges
from dockyard.network.firewall import Firewall, LinkRule, NetworkRules, PortMapping
from dockyard.network.ipam import IPAM, mac_for, normalize_mac, parse_bip
from dockyard.services.events import EventBus
from dockyard.store.metadata import MetadataDB, dumps
from dockyard.util import ids
from dockyard.util.filters import Filters
from dockyard.util.timeutil import format_ns, parse_timestamp_ns

log = logging.getLogger(__name__)

_DDL = [
    """CREATE TABLE IF NOT EXISTS net_networks (
        id TEXT PRIMARY KEY, name TEXT NOT NULL UNIQUE, driver TEXT NOT NULL, created INTEGER NOT NULL,
        config TEXT NOT NULL)""",
    """CREATE TABLE IF NOT EXISTS net_endpoints (
        network TEXT NOT NULL, container TEXT NOT NULL, config TEXT NOT NULL, state TEXT,
        PRIMARY KEY (network, container))""",
    """CREATE TABLE IF NOT EXISTS net_sandboxes (
        container TEXT PRIMARY KEY, netns TEXT NOT NULL, ports TEXT NOT NULL)""",
]

PREDEFINED = ("bridge", "host", "none")
_NAME = re.compile(r"^[a-zA-Z0-9][a-zA-Z0-9_.-]*$")


@dataclass
class Network:
    id: str
    name: str
    driver: str                  # bridge | host | null
    created: int
    internal: bool = False
    attachable: bool = False
    labels: dict = field(default_factory=dict)
    options: dict = field(default_factory=dict)
    ipam: dict = field(default_factory=dict)       # {"Subnet":..,"Gateway":..,"IPRange":..} (user given)
    bridge: str = ""
    default: bool = False          # the default bridge (legacy links, no embedded DNS)
    user_subnet: bool = False

    @property
    def predefined(self) -> bool:
        return self.name in PREDEFINED

    def config_json(self) -> str:
        return dumps({"internal": self.internal, "attachable": self.attachable, "labels": self.labels,
                      "options": self.options, "ipam": self.ipam, "bridge": self.bridge, "default": self.default,
                      "user_subnet": self.user_subnet})


@dataclass(frozen=True)
class EndpointConfig:
    """What a container asked for on one network (fixed at create or connect)."""

    ipv4: str = ""
    aliases: list[str] = field(default_factory=list)
    links: list[str] = field(default_factory=list)
    mac: str = ""
    driver_opts: dict = field(default_factory=dict)


# Decoded once per distinct text: the container list reads every endpoint row, and rows change
# only when a container starts, stops or connects.
@functools.lru_cache(maxsize=4096)
def _endpoint_config(text: str) -> EndpointConfig:
    return EndpointConfig(**json.loads(text))


@functools.lru_cache(maxsize=4096)
def _endpoint_state(text: str) -> tuple:
    """(id, address, gateway, mac, host_ifname) of a running endpoint."""
    st = json.loads(text)
    return (st["id"], ipaddress.IPv4Interface(st["address"]),
            ipaddress.IPv4Address(st["gateway"]) if st.get("gateway") else None, st["mac"], st["host_ifname"])


@dataclass
class Endpoint:
    network: Network
    container: str
    config: EndpointConfig
    id: str = ""
    address: ipaddress.IPv4Interface | None = None
    gateway: ipaddress.IPv4Address | None = None
    mac: str = ""
    host_ifname: str = ""


@dataclass
class NetworkOptions:
    """The daemon's networking flags."""

    bridge_name: str = "dockyard0"
    bridge: str = ""             # --bridge: an existing bridge to use, or "none"
    bip: str = ""
    fixed_cidr: str = ""
    mtu: int = 1500
    icc: bool = True
    ip_forward: bool = True
    iptables: bool = True
    nft_table: str = "dockyard"
    resolv_conf: str = "/etc/resolv.conf"


class NetworkService:
    def __init__(self, *, db: MetadataDB, events: EventBus, exec_root: str, options: NetworkOptions) -> None:
        self.db = db
        self.events = events
        self.opts = options
        self.netns_dir = os.path.join(exec_root, "netns")
        # the user namespace a container's netns belongs to (--userns-remap), set by the container service
        self.userns_owner: Callable | None = None
        os.makedirs(self.netns_dir, exist_ok=True)
        for stmt in _DDL:
            db.execute(stmt)
        self.ipam = IPAM(db)
        self.bridges = Bridges()
        self.firewall = Firewall(table=options.nft_table) if options.iptables else None
        self.dns = netdns.DNSServer(resolv_conf=options.resolv_conf)
        self._networks: dict[str, Network] = {}
        self._held: dict[str, list] = {}          # container -> sockets holding its published host ports
        #                                           (its IPv4 mappings' in their order, then its [::] ones')
        self._releasing: dict[str, asyncio.Future] = {}  # container -> its veths and netns being deleted
        self._proxies: dict[str, list] = {}       # container -> userland proxies (--iptables=false; [::] ports)
        self._ipv6: bool | None = None             # whether the host has IPv6: probed at the first publish
        self.container_lookup: Callable[[str], object] | None = None
        self._lock = asyncio.Lock()
        # container -> (running, (Networks, Ports)) for the container list, until the rows change
        self._views: dict[str, tuple[bool, tuple[dict, list[dict]]]] = {}

    # -- daemon start --------------------------------------------------------------
    async def start(self, running: list) -> None:
        """Make the predefined networks and the bridges; take back the running containers' endpoints."""
        for r in self.db.query("SELECT * FROM net_networks"):
            cfg = json.loads(r["config"])
            self._networks[r["id"]] = Network(r["id"], r["name"], r["driver"], r["created"], **cfg)
        if self.opts.ip_forward:
            with contextlib.suppress(OSError):
                self.bridges.set_ip_forward(True)
        self._ensure_predefined()
        for net in self._networks.values():
            if net.driver == "bridge":
                await asyncio.to_thread(self._ensure_bridge, net)
        ports: dict[str, list[PortMapping]] = {}
        ports_v6: dict[str, tuple[dict, ...]] = {}
        alive = {c.id for c in running}
        for c in running:
            sb = self._sandbox_row(c.id)
            if sb is None:
                continue
            mappings, ports_v6[c.id] = _published(sb["ports"])
            ports[c.id] = mappings
            with contextlib.suppress(errdefs.DockyardError):
                held = portproxy.reserve_all([(m.proto, m.host_ip, m.host_port) for m in mappings],
                                             reuse_addr=self.firewall is None)
                try:
                    held += portproxy.reserve_all([(p["proto"], p["host_ip"], p["host_port"]) for p in ports_v6[c.id]],
                                                  reuse_addr=True)
                except BaseException:
                    portproxy.release(held)
                    raise
                self._held[c.id] = held
        if self.firewall is not None:
            links = {c.id: rules for c in running if (rules := self._link_rules(c))}
            await asyncio.to_thread(self.firewall.rebuild, self._rules(), ports, links)
        for net in self._networks.values():
            if net.driver == "bridge" and not net.default:
                self.dns.set_network(net.id, net.name)
        for c in running:
            if c.id not in alive:
                continue
            for ep in self.endpoints(c.id):
                if ep.address is not None and not ep.network.default:
                    for n in self._dns_names(c, ep):
                        self.dns.add_name(ep.network.id, n, ep.address.ip, ptr=n == c.name)
            await self._add_dns_sandbox(c)
            await self._start_proxies(c.id, ports.get(c.id, []), ports_v6.get(c.id, ()))
        # endpoints of containers that stopped while the daemon was away
        for r in self.db.query("SELECT DISTINCT container FROM net_sandboxes"):
            if r["container"] not in alive:
                await self._release_sandbox(r["container"])

    def _ensure_predefined(self) -> None:
        have = {n.name for n in self._networks.values()}
        now = time.time_ns()
        if "bridge" not in have and self.opts.bridge != "none":
            net = Network(ids.new_id(), "bridge", "bridge", now, default=True,
                          bridge=self.opts.bridge or self.opts.bridge_name,
                          options={"com.docker.network.bridge.default_bridge": "true",
                                   "com.docker.network.bridge.enable_icc": str(self.opts.icc).lower(),
                                   "com.docker.network.bridge.enable_ip_masquerade": "true",
                                   "com.docker.network.bridge.host_binding_ipv4": "0.0.0.0",
                                   "com.docker.network.bridge.name": self.opts.bridge or self.opts.bridge_name,
                                   "com.docker.network.driver.mtu": str(self.opts.mtu)})
            self._save(net)
        for name, driver in (("host", "host"), ("none", "null")):
            if name not in have:
                self._save(Network(ids.new_id(), name, driver, now))

    def _ensure_bridge(self, net: Network) -> None:
        try:
            pool = self.ipam.get_pool(net.id)
        except errdefs.NotFound:
            pool = None
        if pool is None:
            subnet = gateway = ip_range = None
            if net.default and self.opts.bridge and self.bridges.exists(self.opts.bridge):
                addrs = self.bridges.bridge_addresses(self.opts.bridge)
                if addrs:
                    subnet, gateway = addrs[0].network, addrs[0].ip
            elif net.default and self.opts.bip:
                subnet, gateway = parse_bip(self.opts.bip)
            elif net.default and self.bridges.exists(net.bridge) and \
                    (addrs := self.bridges.bridge_addresses(net.bridge)):
                # as dockerd with an existing docker0: its address is the network's (a new data root on the
                # same bridge must not add a second subnet to it)
                subnet, gateway = addrs[0].network, addrs[0].ip
            elif net.ipam:
                subnet, gateway, ip_range = net.ipam.get("Subnet"), net.ipam.get("Gateway"), net.ipam.get("IPRange")
            if net.default and self.opts.fixed_cidr:
                ip_range = self.opts.fixed_cidr
            pool = self.ipam.request_pool(net.id, subnet=subnet, gateway=gateway, ip_range=ip_range)
        mtu = int(net.options.get("com.docker.network.driver.mtu") or self.opts.mtu)
        self.bridges.ensure_bridge(net.bridge, address=pool.gateway_interface, mtu=mtu)

    def _rules(self) -> list[NetworkRules]:
        out = []
        for net in self._networks.values():
            if net.driver != "bridge":
                continue
            try:
                pool = self.ipam.get_pool(net.id)
            except errdefs.NotFound:
                continue
            icc = net.options.get("com.docker.network.bridge.enable_icc", "true") != "false"
            masq = net.options.get("com.docker.network.bridge.enable_ip_masquerade", "true") != "false"
            out.append(NetworkRules(net.bridge, pool.subnet, internal=net.internal, icc=icc, masquerade=masq))
        return out

    def _save(self, net: Network) -> None:
        self.db.execute("INSERT OR REPLACE INTO net_networks (id, name, driver, created, config) VALUES (?,?,?,?,?)",
                        (net.id, net.name, net.driver, net.created, net.config_json()))
        self._networks[net.id] = net

    async def _released(self, cid: str | None = None) -> None:
        """Wait for the background teardown of ``cid`` (of every container when None)."""
        pending = list(self._releasing.values()) if cid is None else [self._releasing.get(cid)]
        for fut in pending:
            if fut is not None:
                with contextlib.suppress(Exception):
                    await asyncio.shield(fut)

    async def close(self) -> None:
        await self._released()
        for proxies in self._proxies.values():  # first: a proxy's transport must let go of its socket
            for p in proxies:
                await p.close()
        for socks in self._held.values():
            for s in socks:
                s.close()
        await self.dns.close()
        if self.firewall is not None:
            self.firewall.close()

    # -- lookup ----------------------------------------------------------------------
    def get(self, ref: str) -> Network:
        if ref in self._networks:
            return self._networks[ref]
        for net in self._networks.values():
            if net.name == ref:
                return net
        found = [n for n in self._networks.values() if n.id.startswith(ref)] if ref else []
        if len(found) == 1:
            return found[0]
        if len(found) > 1:
            raise errdefs.InvalidArgument(f"network {ref} is ambiguous ({len(found)} matches found based on ID prefix)")
        raise errdefs.NotFound(f"network {ref} not found")

    def all(self) -> list[Network]:
        return sorted(self._networks.values(), key=lambda n: n.created)

    def list(self, filters: Filters | None = None) -> list[Network]:
        f = filters or Filters()
        f.validate({"driver", "id", "label", "name", "scope", "type", "dangling"})
        out = []
        for net in self.all():
            if f.get("driver") and net.driver not in f.get("driver"):
                continue
            if f.get("id") and not any(net.id.startswith(i) for i in f.get("id")):
                continue
            if f.get("name") and not any(re.search(n, net.name) or n in net.name for n in f.get("name")):
                continue
            if not f.match_labels(net.labels):
                continue
            if f.get("scope") and "local" not in f.get("scope"):
                continue
            if f.get("type"):
                kind = "builtin" if net.predefined else "custom"
                if kind not in f.get("type"):
                    continue
            if f.get("dangling"):
                want = f.get("dangling")[0].lower() in ("true", "1")
                if want == bool(self._users(net.id)) or (want and net.predefined):
                    continue
            out.append(net)
        return out

    def _users(self, network_id: str) -> list[str]:
        return [r["container"] for r in self.db.query("SELECT container FROM net_endpoints WHERE network=?",
                                                      (network_id,))]

    # -- networks ----------------------------------------------------------------------
    async def create(self, name: str, *, driver: str = "bridge", ipam: dict | None = None, internal: bool = False,
                     attachable: bool = False, labels: dict | None = None, options: dict | None = None,
                     check_duplicate: bool = True, enable_ipv6: bool = False) -> tuple[Network, str]:
        if not name or not _NAME.match(name):
            raise errdefs.InvalidArgument(f"invalid network name {name!r}")
        driver = driver or "bridge"
        if driver in ("host", "null"):
            raise errdefs.Forbidden(f"only one instance of \"{driver}\" network is allowed")
        if driver != "bridge":
            raise errdefs.NotFound(f"plugin \"{driver}\" not found")
        if name in PREDEFINED:
            raise errdefs.Forbidden(f"{name} is a pre-defined network and cannot be created")
        if any(n.name == name for n in self._networks.values()):
            raise errdefs.Conflict(f"network with name {name} already exists")
        if enable_ipv6:
            raise errdefs.NotImplementedErr("IPv6 networks are not supported yet")
        configs = (ipam or {}).get("Config") or []
        if len(configs) > 1:
            raise errdefs.InvalidArgument("only one IPv4 pool per network is supported")
        cfg = configs[0] if configs else {}
        opts = dict(options or {})
        net_id = ids.new_id()
        bridge = opts.get("com.docker.network.bridge.name") or f"br-{net_id[:12]}"
        if len(bridge) > 15:
            raise errdefs.InvalidArgument(f"bridge name {bridge} is longer than 15 characters")
        if any(n.bridge == bridge for n in self._networks.values()):
            raise errdefs.Conflict(f"bridge name {bridge} is already in use by another network")
        net = Network(net_id, name, "bridge", time.time_ns(), internal=internal, attachable=attachable,
                      labels=dict(labels or {}), options=opts, bridge=bridge,
                      ipam={k: v for k, v in (("Subnet", cfg.get("Subnet")), ("Gateway", cfg.get("Gateway")),
                                              ("IPRange", cfg.get("IPRange")),
                                              ("AuxiliaryAddresses", cfg.get("AuxiliaryAddresses"))) if v},
                      user_subnet=bool(cfg.get("Subnet")))
        if cfg.get("Gateway") and not cfg.get("Subnet"):
            raise errdefs.InvalidArgument("a gateway needs a subnet")
        pool = self.ipam.request_pool(net.id, subnet=cfg.get("Subnet") or None, gateway=cfg.get("Gateway") or None,
                                      ip_range=cfg.get("IPRange") or None)
        if not cfg.get("Subnet"):
            net.ipam = {}
        try:
            await asyncio.to_thread(self._ensure_bridge, net)
            self._save(net)
            if self.firewall is not None:
                await asyncio.to_thread(self.firewall.add_network, self._rule_for(net, pool.subnet))
        except BaseException:
            self._networks.pop(net.id, None)
            self.db.execute("DELETE FROM net_networks WHERE id=?", (net.id,))
            self.ipam.release_pool(net.id)
            with contextlib.suppress(errdefs.DockyardError):
                await asyncio.to_thread(self.bridges.delete_bridge, bridge)
            raise
        self.dns.set_network(net.id, net.name)
        self.events.publish("network", "create", net.id, name=net.name, type=net.driver)
        return net, ""

    def _rule_for(self, net: Network, subnet) -> NetworkRules:
        icc = net.options.get("com.docker.network.bridge.enable_icc", "true") != "false"
        masq = net.options.get("com.docker.network.bridge.enable_ip_masquerade", "true") != "false"
        return NetworkRules(net.bridge, subnet, internal=net.internal, icc=icc, masquerade=masq)

    async def remove(self, ref: str) -> None:
        net = self.get(ref)
        if net.predefined:
            raise errdefs.Forbidden(f"{net.name} is a pre-defined network and cannot be removed")
        users = self._users(net.id)
        if users:
            raise errdefs.Forbidden(f"error while removing network: network {net.name} id {net.id} has active "
                                    f"endpoints")
        await self._delete(net)

    async def _delete(self, net: Network) -> None:
        await self._released()
        if self.firewall is not None:
            await asyncio.to_thread(self.firewall.remove_network, net.bridge)
        await asyncio.to_thread(self.bridges.delete_bridge, net.bridge)
        self.ipam.release_pool(net.id)
        self.dns.remove_network(net.id)
        self.db.execute("DELETE FROM net_networks WHERE id=?", (net.id,))
        self._networks.pop(net.id, None)
        self.events.publish("network", "destroy", net.id, name=net.name, type=net.driver)

    async def prune(self, filters: Filters) -> list[str]:
        filters.validate({"until", "label", "label!"})
        until = parse_timestamp_ns(filters.get("until")[0]) if filters.get("until") else 0
        deleted = []
        for net in list(self._networks.values()):
            if net.predefined or self._users(net.id):
                continue
            if until and net.created >= until:
                continue
            if not filters.match_labels(net.labels):
                continue
            await self._delete(net)
            deleted.append(net.name)
        return deleted

    # -- endpoints (container side) -------------------------------------------------------
    def plan(self, host_config: dict, networking_config: dict | None, mac_address: str = "",
             exposed_ports: dict | None = None) -> dict[str, dict]:
        """At create: the networks a container joins with its endpoint settings {network id: config}.

        Refuses unknown networks and a static address on a network whose subnet Docker chose."""
        mode = host_config.get("NetworkMode") or "default"
        if mode.startswith("container:"):
            _check_container_mode(host_config, networking_config, mac_address, exposed_ports)
        if mode in ("host", "none") or mode.startswith("container:"):
            return {}
        if mode == "default" and self.opts.bridge == "none" and \
                set((networking_config or {}).get("EndpointsConfig") or {}) <= {"default"}:
            return {}  # as dockerd --bridge none: the container gets a network namespace with lo only
        primary = "bridge" if mode == "default" else mode
        endpoints = dict(((networking_config or {}).get("EndpointsConfig") or {}))
        plan: dict[str, dict] = {}
        for name in [primary, *[n for n in endpoints if n not in (primary, mode)]]:
            net = self.get(name)
            if net.driver != "bridge":
                raise errdefs.InvalidArgument(f"container cannot be connected to {net.name} and other networks")
            ep = endpoints.get(name) or (endpoints.get("default") if name == primary else None) or {}
            ipv4 = ((ep.get("IPAMConfig") or {}).get("IPv4Address")) or ""
            if ipv4:
                self._check_static(net, ipv4)
            aliases = list(ep.get("Aliases") or [])
            if aliases and net.default:
                raise errdefs.InvalidArgument("network-scoped alias is supported only for containers in user "
                                              "defined networks")
            links = list(ep.get("Links") or [])
            if name == primary:
                links = list(host_config.get("Links") or []) + links
            mac = ep.get("MacAddress") or (mac_address if name == primary else "")
            if mac:
                try:
                    mac = normalize_mac(mac)
                except ValueError as e:
                    raise errdefs.InvalidArgument(str(e)) from None
            plan[net.id] = EndpointConfig(ipv4, aliases, links, mac).__dict__
        return plan

    def _check_static(self, net: Network, ipv4: str) -> None:
        try:
            ipaddress.IPv4Address(ipv4)
        except ValueError:
            raise errdefs.InvalidArgument(f"invalid IPv4 address: {ipv4}") from None
        if net.default or not net.user_subnet:
            raise errdefs.InvalidArgument("user specified IP address is supported only when connecting to networks "
                                          "with user configured subnets")

    def record(self, container_id: str, plan: dict[str, dict]) -> None:
        with self.db.tx() as tx:
            for net_id, cfg in plan.items():
                tx.execute("INSERT OR REPLACE INTO net_endpoints (network, container, config, state) VALUES "
                           "(?,?,?,NULL)", (net_id, container_id, dumps(cfg)))
        self._views.clear()

    def _write(self, sql: str, args: tuple) -> None:
        """A change to the endpoint or sandbox rows (the only way they change): the container
        list's views are built again."""
        self.db.execute(sql, args)
        self._views.clear()

    def endpoints(self, container_id: str) -> list[Endpoint]:
        rows = self.db.query("SELECT * FROM net_endpoints WHERE container=? ORDER BY rowid", (container_id,))
        return [ep for ep in map(self._endpoint_from_row, rows) if ep is not None]

    def _endpoint_from_row(self, r) -> Endpoint | None:
        net = self._networks.get(r["network"])
        if net is None:
            return None
        ep = Endpoint(net, r["container"], _endpoint_config(r["config"]))
        if r["state"]:
            ep.id, ep.address, ep.gateway, ep.mac, ep.host_ifname = _endpoint_state(r["state"])
        return ep

    def netns_path(self, container_id: str) -> str:
        return os.path.join(self.netns_dir, container_id)

    def _sandbox_row(self, container_id: str):
        return self.db.query_one("SELECT * FROM net_sandboxes WHERE container=?", (container_id,))

    async def setup(self, c) -> str | None:
        """At start, before the runtime runs: the container's netns with its endpoints and published ports.

        Returns the netns path for the runtime (None: the container has no bridge endpoint)."""
        eps = self.endpoints(c.id)
        if not eps:
            return None
        path = self.netns_path(c.id)
        await self._released(c.id)
        async with self._lock:
            owner = self.userns_owner(c) if self.userns_owner is not None else None
            await asyncio.to_thread(self._make_netns, path, owner)
            self._write("INSERT OR REPLACE INTO net_sandboxes (container, netns, ports) VALUES (?,?,?)",
                        (c.id, path, "[]"))
            try:
                for i, ep in enumerate(eps):
                    await self._attach(c, ep, path, ifname=f"eth{i}", default_route=i == 0)
                await self._publish(c, self.endpoints(c.id)[0])
                await self._allow_links(c)
                await self._add_dns_sandbox(c)
            except BaseException:
                await self._release_sandbox(c.id)
                raise
        return path

    async def _allow_links(self, c) -> None:
        """On an ``--icc=false`` default bridge, open the linked containers' exposed ports to ``c`` (as
        Docker's legacy links do: only those ports, only from the linking container)."""
        rules = self._link_rules(c)
        if rules and self.firewall is not None:
            await asyncio.to_thread(self.firewall.set_links, c.id, rules)

    def _link_rules(self, c) -> list[LinkRule]:
        rules: list[LinkRule] = []
        for ep in self.endpoints(c.id):
            icc = ep.network.options.get("com.docker.network.bridge.enable_icc", "true") != "false"
            if not ep.network.default or icc or ep.address is None:
                continue
            for target, _alias in map(_split_link, ep.config.links):
                other = self.container_lookup(target) if self.container_lookup else None
                dst = next((e.address for e in self.endpoints(other.id) if e.network.default and e.address),
                           None) if other is not None else None
                if dst is None:
                    continue
                for spec in other.config.get("ExposedPorts") or {}:
                    port, _, proto = spec.partition("/")
                    if port.isdigit():
                        rules.append(LinkRule(ep.address.ip, dst.ip, proto or "tcp", int(port)))
        return rules

    @staticmethod
    def _make_netns(path: str, owner: str | None = None) -> None:
        if netns.exists(path):
            netns.delete(path)
        netns.create(path, owner=owner)

    async def _attach(self, c, ep: Endpoint, path: str, *, ifname: str, default_route: bool) -> None:
        net = ep.network
        addr = self.ipam.allocate(net.id, c.id, address=ep.config.ipv4 or None)
        pool = self.ipam.get_pool(net.id)
        gateway = None if net.internal else pool.gateway
        mac = ep.config.mac or mac_for(addr.ip)
        mtu = int(net.options.get("com.docker.network.driver.mtu") or self.opts.mtu)
        try:
            att = await asyncio.to_thread(self.bridges.attach, net.bridge, path, address=addr, gateway=gateway,
                                          mac=mac, mtu=mtu, ifname=ifname, default_route=default_route)
        except BaseException:
            self.ipam.release_owner(c.id, net.id)
            raise
        state = {"id": ids.new_id(), "address": str(addr), "gateway": str(pool.gateway) if pool.gateway else "",
                 "mac": att.mac, "host_ifname": att.host_ifname}
        self._write("UPDATE net_endpoints SET state=? WHERE network=? AND container=?",
                    (dumps(state), net.id, c.id))
        ep.id, ep.address, ep.gateway, ep.mac, ep.host_ifname = state["id"], addr, pool.gateway, att.mac, att.host_ifname
        if not net.default:
            for n in self._dns_names(c, ep):
                self.dns.add_name(net.id, n, addr.ip, ptr=n == c.name)

    @staticmethod
    def _dns_names(c, ep: Endpoint) -> list[str]:
        names = [c.name, c.id[:12], *ep.config.aliases]
        return list(dict.fromkeys(names))

    async def _add_dns_sandbox(self, c) -> None:
        nets = [ep.network.id for ep in self.endpoints(c.id) if not ep.network.default]
        if not nets:
            return
        dns = list(c.host_config.get("Dns") or [])
        forward = not all(ep.network.internal for ep in self.endpoints(c.id) if not ep.network.default)
        await self.dns.add_sandbox(c.id, self.netns_path(c.id), nets, upstreams=dns or None, forward=forward)

    async def _publish(self, c, primary: Endpoint) -> None:
        """Reserve host ports and map them to the container (its first network's address).

        A binding with no host address (``-p 8080:80``, ``-P``) is every address, IPv6's too: as
        dockerd (docker-proxy), the port is also published on ``[::]`` when the host has IPv6, the
        same number as on 0.0.0.0, through a userland proxy to the container's IPv4 address (NAT
        maps IPv4 only). ``-p 0.0.0.0:8080:80`` is IPv4's alone; ``-p [::1]:8080:80`` IPv6's alone, by
        a proxy as well."""
        bindings = _port_bindings(c)
        if not bindings or primary.address is None:
            return
        mappings: list[PortMapping] = []
        v6: list[dict] = []
        entries: list[dict] = []  # both, as the sandbox row keeps them: in Docker's order
        held, held_v6 = [], []
        allocator = portproxy.PortAllocator()
        if self._ipv6 is None:
            self._ipv6 = portproxy.ipv6_available()

        def add_v6(proto: str, number: int, port: int, host: str, sock) -> None:
            held_v6.append(sock)
            v6.append({"proto": proto, "host_port": number, "container_ip": str(primary.address.ip),
                       "container_port": port, "host_ip": host})
            entries.append(v6[-1])

        try:
            for (port, proto), hosts in sorted(bindings.items()):
                # dockerd's order (nat.SortPortMap): by the host port asked for, a random one (0) first
                for host_ip, host_port in sorted(hosts, key=_asked_port):
                    if ":" in host_ip:  # an IPv6 address: no NAT, a proxy alone
                        hip6 = str(ipaddress.ip_address(host_ip))
                        number, socks = _reserve_port(allocator, proto, hip6, host_port, False, True)
                        add_v6(proto, number, port, hip6, socks[0])
                        continue
                    hip = host_ip or None
                    also_v6 = self._ipv6 and not host_ip
                    number, socks = _reserve_port(allocator, proto, hip, host_port, also_v6, self.firewall is None)
                    held.append(socks[0])
                    mappings.append(PortMapping(proto, number, primary.address.ip, port, hip))
                    entries.append(_pm_to_json(mappings[-1]))
                    if also_v6:
                        add_v6(proto, number, port, "::", socks[1])
            if self.firewall is not None:
                await asyncio.to_thread(self.firewall.publish, c.id, mappings)
        except BaseException:
            for s in held + held_v6:
                s.close()
            raise
        self._held[c.id] = held + held_v6
        self._write("UPDATE net_sandboxes SET ports=? WHERE container=?",
                    (dumps(entries), c.id))
        await self._start_proxies(c.id, mappings, v6)

    async def _start_proxies(self, cid: str, mappings: list[PortMapping], v6: list[dict] | tuple[dict, ...]) -> None:
        """The userland proxies of a container: for every mapping without NAT (``--iptables=false``), and
        for its ``[::]`` ports always. They take over the sockets that reserve the ports."""
        held = self._held.get(cid, [])
        proxies = []
        if self.firewall is None:
            for m, sock in zip(mappings, held):
                proxies.append(await portproxy.start_proxy(m.proto, sock, (str(m.container_ip), m.container_port)))
        for p, sock in zip(v6, held[len(mappings):]):
            proxies.append(await portproxy.start_proxy(p["proto"], sock, (p["container_ip"], p["container_port"])))
        self._proxies[cid] = proxies

    async def teardown(self, c) -> None:
        """The container stopped: its endpoints, ports and netns go; its network memberships stay.

        Its ports, rules and names go now; deleting its veth pairs (~20 ms of netlink each) and netns, and
        only then freeing its addresses, goes on in the background: an exit does not wait for it."""
        async with self._lock:
            await self._release_sandbox(c.id, background=True)

    async def _release_sandbox(self, cid: str, *, background: bool = False) -> None:
        for p in self._proxies.pop(cid, []):
            await p.close()  # (a coroutine: not awaited, the transport kept the fd registered after the socket closed)
        for s in self._held.pop(cid, []):
            s.close()
        if self.firewall is not None:
            with contextlib.suppress(errdefs.DockyardError):
                await asyncio.to_thread(self.firewall.unpublish, cid)
            with contextlib.suppress(errdefs.DockyardError):
                await asyncio.to_thread(self.firewall.set_links, cid, [])
        with contextlib.suppress(Exception):
            await self.dns.remove_sandbox(cid)
        eps = self.endpoints(cid)
        for ep in eps:
            if ep.address is not None and not ep.network.default:
                for name in self._names_of(ep):
                    self.dns.remove_name(ep.network.id, name, ep.address.ip)
        self._write("UPDATE net_endpoints SET state=NULL WHERE container=?", (cid,))
        self._write("DELETE FROM net_sandboxes WHERE container=?", (cid,))
        path = self.netns_path(cid)

        async def delete_links() -> None:
            for ep in eps:
                if ep.host_ifname:
                    with contextlib.suppress(errdefs.DockyardError):
                        await asyncio.to_thread(self.bridges.detach, ep.host_ifname)
                # the address is free once no interface on the bridge carries it (nor its MAC) any more
                if ep.address is not None:
                    self.ipam.release_owner(cid, ep.network.id)
            with contextlib.suppress(OSError, errdefs.DockyardError):
                await asyncio.to_thread(netns.delete, path)

        if not background:
            await delete_links()
            return
        fut = asyncio.ensure_future(delete_links())
        self._releasing[cid] = fut
        fut.add_done_callback(lambda f, cid=cid: self._releasing.pop(cid, None) if self._releasing.get(cid) is f
                              else None)

    def _names_of(self, ep: Endpoint) -> list[str]:
        c = self.container_lookup(ep.container) if self.container_lookup else None
        names = [ep.container[:12], *ep.config.aliases]
        if c is not None:
            names.insert(0, c.name)
        return names

    def forget(self, container_id: str) -> None:
        """The container is removed: it leaves every network."""
        self._write("DELETE FROM net_endpoints WHERE container=?", (container_id,))

    async def connect(self, net_ref: str, c, *, ipv4: str = "", aliases: list[str] = (), links: list[str] = (),
                      driver_opts: dict | None = None) -> None:
        net = self.get(net_ref)
        await self._released()
        mode = c.host_config.get("NetworkMode") or "default"
        if mode in ("host", "none") or mode.startswith("container:") or net.driver != "bridge":
            raise errdefs.Forbidden(f"container cannot be disconnected from host network or connected to host "
                                    f"network" if net.driver == "host" or mode == "host" else
                                    f"container sharing network namespace with another container or host "
                                    f"cannot be connected to any other network")
        if any(ep.network.id == net.id for ep in self.endpoints(c.id)):
            raise errdefs.Forbidden(f"endpoint with name {c.name} already exists in network {net.name}")
        if ipv4:
            self._check_static(net, ipv4)
        cfg = EndpointConfig(ipv4, list(aliases), list(links), driver_opts=dict(driver_opts or {}))
        self.record(c.id, {net.id: cfg.__dict__})
        if c.state.running:
            path = self.netns_path(c.id)
            try:
                async with self._lock:
                    ep = next(e for e in self.endpoints(c.id) if e.network.id == net.id)
                    await self._attach(c, ep, path, ifname=f"eth{len(self.endpoints(c.id)) - 1}",
                                       default_route=False)
                    await self._add_dns_sandbox(c)
                    self._refresh_resolv_conf(c)
            except BaseException:
                self._write("DELETE FROM net_endpoints WHERE network=? AND container=?", (net.id, c.id))
                raise
        self.events.publish("network", "connect", net.id, container=c.id, name=net.name, type=net.driver)

    async def disconnect(self, net_ref: str, c, force: bool = False) -> None:
        net = self.get(net_ref)
        ep = next((e for e in self.endpoints(c.id) if e.network.id == net.id), None)
        if ep is None:
            raise errdefs.Forbidden(f"container {c.id} is not connected to network {net.name}")
        async with self._lock:
            if ep.host_ifname:
                with contextlib.suppress(errdefs.DockyardError):
                    await asyncio.to_thread(self.bridges.detach, ep.host_ifname)
            if ep.address is not None:
                if not net.default:
                    for name in self._names_of(ep):
                        self.dns.remove_name(net.id, name, ep.address.ip)
                self.ipam.release_owner(c.id, net.id)
            self._write("DELETE FROM net_endpoints WHERE network=? AND container=?", (net.id, c.id))
            if c.state.running:
                nets = [e.network.id for e in self.endpoints(c.id) if not e.network.default]
                if nets:
                    self.dns.set_sandbox_networks(c.id, nets)
                else:
                    with contextlib.suppress(Exception):
                        await self.dns.remove_sandbox(c.id)
                self._refresh_resolv_conf(c)
        self.events.publish("network", "disconnect", net.id, container=c.id, name=net.name, type=net.driver)

    # -- what a container's /etc files and inspect show ------------------------------------------
    def etc_hosts_entries(self, c) -> tuple[str | None, list[tuple[str, str]]]:
        """(the container's own address, [(names, address)] for its --link aliases)."""
        eps = self.endpoints(c.id)
        own = str(eps[0].address.ip) if eps and eps[0].address else None
        extra: list[tuple[str, str]] = []
        for ep in eps:
            if not ep.network.default:
                continue
            for link in ep.config.links:
                target, alias = _split_link(link)
                other = self.container_lookup(target) if self.container_lookup else None
                if other is None:
                    continue
                oth = [e for e in self.endpoints(other.id) if e.network.default and e.address]
                if not oth:
                    continue
                names = " ".join(dict.fromkeys([alias, other.config.get("Hostname") or other.id[:12], other.name]))
                extra.append((names, str(oth[0].address.ip)))
        return own, extra

    def link_env(self, c) -> list[str]:
        """Docker's legacy link variables (``ALIAS_PORT_80_TCP_ADDR`` ...) for --link on the default bridge."""
        env: list[str] = []
        for ep in self.endpoints(c.id):
            if not ep.network.default:
                continue
            for link in ep.config.links:
                target, alias = _split_link(link)
                other = self.container_lookup(target) if self.container_lookup else None
                if other is None:
                    continue
                addrs = [e for e in self.endpoints(other.id) if e.network.default and e.address]
                if not addrs:
                    continue
                env += _link_variables(alias, c.name, other, str(addrs[0].address.ip))
        return env

    def resolv_conf(self, c, host_resolv: str) -> str:
        hc = c.host_config
        uses_embedded = any(not ep.network.default for ep in self.endpoints(c.id))
        if uses_embedded:
            return etcfiles.resolv_conf_embedded(host_resolv, search=hc.get("DnsSearch") or [],
                                                 options=hc.get("DnsOptions") or [])
        return etcfiles.resolv_conf(host_resolv, dns=hc.get("Dns") or [], search=hc.get("DnsSearch") or [],
                                    options=hc.get("DnsOptions") or [])

    def _refresh_resolv_conf(self, c) -> None:
        """Joining (or leaving) a user-defined network switches the embedded DNS on (off), as Docker
        rewrites the running container's resolv.conf (in place: it is bind-mounted)."""
        path = c.extra.get("resolv_conf_path")
        if not path or not os.path.exists(path):
            return
        with open(path, "r+") as f:
            f.seek(0)
            f.write(self.resolv_conf(c, etcfiles.read_host_file(self.opts.resolv_conf)))
            f.truncate()

    def default_gateway(self) -> str | None:
        for net in self._networks.values():
            if net.default:
                with contextlib.suppress(errdefs.NotFound):
                    gw = self.ipam.get_pool(net.id).gateway
                    return str(gw) if gw else None
        return None

    def settings(self, c) -> dict:
        """``NetworkSettings`` of container inspect, in Docker's shape."""
        running = c.state.running
        eps = self.endpoints(c.id)
        networks = self._networks_view(c, eps)
        primary = eps[0] if eps and eps[0].address else None
        # as dockerd: ports only while the container runs on a network that maps them (a bridge);
        # none, host and container:<id> show none, an exited or created container none
        ports = self.ports_view(c) if running and eps else {}
        return {
            "Bridge": "", "SandboxID": c.id if running else "", "HairpinMode": False,
            "LinkLocalIPv6Address": "", "LinkLocalIPv6PrefixLen": 0, "Ports": ports,
            "SandboxKey": (self.netns_path(c.id) if eps else f"/proc/{c.state.pid}/ns/net") if running else "",
            "SecondaryIPAddresses": None, "SecondaryIPv6Addresses": None,
            "EndpointID": primary.id if primary and primary.network.default else "",
            "Gateway": str(primary.gateway or "") if primary and primary.network.default else "",
            "GlobalIPv6Address": "", "GlobalIPv6PrefixLen": 0,
            "IPAddress": str(primary.address.ip) if primary and primary.network.default else "",
            "IPPrefixLen": primary.address.network.prefixlen if primary and primary.network.default else 0,
            "IPv6Gateway": "", "MacAddress": primary.mac if primary and primary.network.default else "",
            "Networks": networks,
        }

    def _networks_view(self, c, eps: list[Endpoint]) -> dict[str, dict]:
        """``NetworkSettings.Networks``."""
        mode = c.host_config.get("NetworkMode") or "default"
        networks: dict[str, dict] = {}
        if mode in ("host", "none"):
            networks[mode] = _endpoint_json(None, self.get(mode).id if c.state.running else "")
        for ep in eps:
            networks[ep.network.name] = _endpoint_json(ep, ep.network.id)
        return networks

    def list_views(self, containers) -> dict[str, tuple[dict, list[dict]]]:
        """For the container list: each container's ``NetworkSettings.Networks`` and ``Ports``. Kept
        until an endpoint or sandbox row changes (or the container starts or stops); the ones
        missing are read with two queries in all (``ps`` with hundreds of containers)."""
        views = self._views
        missing = [c for c in containers if c.id not in views or views[c.id][0] != c.state.running]
        if missing:
            eps: dict[str, list[Endpoint]] = {}
            for r in self.db.query("SELECT * FROM net_endpoints ORDER BY rowid"):
                ep = self._endpoint_from_row(r)
                if ep is not None:
                    eps.setdefault(ep.container, []).append(ep)
            sandboxes = {r["container"]: r for r in self.db.query("SELECT container, ports FROM net_sandboxes")}
            for c in missing:
                own = eps.get(c.id, [])
                views[c.id] = (c.state.running, (self._networks_view(c, own), self.ports_summary(
                    c, _bindings_shown(sandboxes.get(c.id)) if own else None)))
        return {c.id: views[c.id][1] for c in containers}

    def ports_view(self, c) -> dict:
        """``NetworkSettings.Ports`` of a running container: every exposed port, with its host bindings or null."""
        out: dict[str, list | None] = {}
        for key in (c.config.get("ExposedPorts") or {}):
            out[key if "/" in key else f"{key}/tcp"] = None
        for key in (c.host_config.get("PortBindings") or {}):
            out.setdefault(key if "/" in key else f"{key}/tcp", None)
        for proto, port, host_ip, host_port in _bindings_shown(self._sandbox_row(c.id)):
            k = f"{port}/{proto}"
            if out.get(k) is None:
                out[k] = []
            out[k].append({"HostIp": host_ip, "HostPort": str(host_port)})
        return out

    def ports_summary(self, c, published: list[tuple[str, int, str, int]] | None) -> list[dict]:
        """The container list's ``Ports``: its host bindings (``published``, from :func:`_bindings_shown`;
        None when it has no endpoint), then the exposed ports without one. As ``NetworkSettings.Ports``:
        none unless it runs on a bridge."""
        out: list[dict] = []
        if not c.state.running or published is None:
            return out
        seen = set()
        for proto, port, host_ip, host_port in published:
            out.append({"IP": host_ip, "PrivatePort": port, "PublicPort": host_port, "Type": proto})
            seen.add((port, proto))
        for key in (c.config.get("ExposedPorts") or {}):
            port, _, proto = key.partition("/")
            if (int(port), proto or "tcp") not in seen and port.isdigit():
                out.append({"PrivatePort": int(port), "Type": proto or "tcp"})
        return out

    def inspect(self, net: Network, *, with_containers: bool = True) -> dict:
        try:
            pool = self.ipam.get_pool(net.id)
            config = [{"Subnet": str(pool.subnet), **({"IPRange": str(pool.ip_range)} if pool.ip_range else {}),
                       **({"Gateway": str(pool.gateway)} if pool.gateway else {}),
                       **({"AuxiliaryAddresses": net.ipam["AuxiliaryAddresses"]}
                          if net.ipam.get("AuxiliaryAddresses") else {})}]
        except errdefs.NotFound:
            config = []
        containers = {}
        if with_containers:
            for r in self.db.query("SELECT container, state FROM net_endpoints WHERE network=? AND state IS NOT NULL",
                                   (net.id,)):
                st = json.loads(r["state"])
                c = self.container_lookup(r["container"]) if self.container_lookup else None
                containers[r["container"]] = {"Name": c.name if c else "", "EndpointID": st["id"],
                                              "MacAddress": st["mac"], "IPv4Address": st["address"],
                                              "IPv6Address": ""}
        return {
            "Name": net.name, "Id": net.id, "Created": format_ns(net.created), "Scope": "local",
            "Driver": net.driver, "EnableIPv6": False,
            "IPAM": {"Driver": "default", "Options": None if net.predefined else {}, "Config": config},
            "Internal": net.internal, "Attachable": net.attachable, "Ingress": False,
            "ConfigFrom": {"Network": ""}, "ConfigOnly": False, "Containers": containers,
            "Options": dict(net.options), "Labels": dict(net.labels),
        }


def _check_container_mode(hc: dict, networking_config: dict | None, mac: str, exposed: dict | None) -> None:
    """What dockerd refuses with ``--network container:X``: the other container's network decides these."""
    if hc.get("PortBindings") or hc.get("PublishAllPorts"):
        raise errdefs.InvalidArgument("conflicting options: port publishing and the container type network mode")
    if hc.get("Links"):
        raise errdefs.InvalidArgument("conflicting options: container type network can't be used with links. "
                                      "This would result in undefined behavior")
    if hc.get("Dns") or hc.get("DnsSearch") or hc.get("DnsOptions"):
        raise errdefs.InvalidArgument("conflicting options: dns and the network mode")
    if hc.get("ExtraHosts"):
        raise errdefs.InvalidArgument("conflicting options: custom host-to-IP mapping and the network mode")
    if mac:
        raise errdefs.InvalidArgument("conflicting options: mac-address and the network mode")
    if exposed:  # as the request gives them: an image's EXPOSE does not count
        raise errdefs.InvalidArgument("conflicting options: port exposing and the container type network mode")


def _published(text: str) -> tuple[list[PortMapping], tuple[dict, ...]]:
    """A sandbox's ``ports``, parted: its IPv4 mappings (what NAT or a proxy serves on IPv4), and its
    IPv6 ports (``::`` beside a 0.0.0.0 one, or an IPv6 address of their own; see ``_publish``), each
    served by a proxy."""
    entries = json.loads(text)
    return ([PortMapping(**_pm_from_json(p)) for p in entries if not _is_v6(p)],
            tuple(p for p in entries if _is_v6(p)))


def _is_v6(entry: dict) -> bool:
    return ":" in (entry.get("host_ip") or "")


def _bindings_shown(sb) -> list[tuple[str, int, str, int]]:
    """(proto, container port, host address, host port) of every published port, in the row's order
    (Docker's: see ``_publish``)."""
    return list(_shown(sb["ports"])) if sb else []


@functools.lru_cache(maxsize=4096)
def _shown(text: str) -> tuple[tuple[str, int, str, int], ...]:
    return tuple((p["proto"], p["container_port"], p.get("host_ip") or "0.0.0.0", p["host_port"])
                 for p in json.loads(text))


def _asked_port(binding: tuple[str, int | tuple[int, int] | None]) -> int:
    """The host port a binding asks for, to order them: 0 for any, a range's first."""
    asked = binding[1]
    return 0 if asked is None else asked[0] if isinstance(asked, tuple) else asked


def _endpoint_json(ep: Endpoint | None, network_id: str) -> dict:
    out = {"IPAMConfig": None, "Links": None, "Aliases": None, "MacAddress": "", "NetworkID": network_id,
           "EndpointID": "", "Gateway": "", "IPAddress": "", "IPPrefixLen": 0, "IPv6Gateway": "",
           "GlobalIPv6Address": "", "GlobalIPv6PrefixLen": 0, "DriverOpts": None, "DNSNames": None}
    if ep is None:
        return out
    if ep.config.ipv4:
        out["IPAMConfig"] = {"IPv4Address": ep.config.ipv4}
    if ep.config.links:
        out["Links"] = list(ep.config.links)
    if ep.config.driver_opts:
        out["DriverOpts"] = dict(ep.config.driver_opts)
    if not ep.network.default:
        out["Aliases"] = [*ep.config.aliases, ep.container[:12]]
    if ep.address is not None:
        out.update({"EndpointID": ep.id, "Gateway": str(ep.gateway or ""), "IPAddress": str(ep.address.ip),
                    "IPPrefixLen": ep.address.network.prefixlen, "MacAddress": ep.mac})
    return out


def _split_link(link: str) -> tuple[str, str]:
    target, _, alias = link.partition(":")
    target = target.lstrip("/")
    return target, (alias or target).split("/")[-1]


def _link_variables(alias: str, own_name: str, other, ip: str) -> list[str]:
    """Docker's ``links.Link.ToEnv``."""
    prefix = alias.upper().replace("-", "_")
    env = [f"{prefix}_NAME=/{own_name}/{alias}"]
    ports = sorted(((int(p.split("/")[0]), (p.split("/") + ["tcp"])[1])
                    for p in (other.config.get("ExposedPorts") or {})), key=lambda x: (x[0], x[1]))
    if ports:
        port, proto = ports[0]
        env.append(f"{prefix}_PORT={proto}://{ip}:{port}")
    for port, proto in ports:
        p = f"{prefix}_PORT_{port}_{proto.upper()}"
        env += [f"{p}={proto}://{ip}:{port}", f"{p}_ADDR={ip}", f"{p}_PORT={port}", f"{p}_PROTO={proto}"]
    for e in other.config.get("Env") or []:
        k, sep, v = e.partition("=")
        if sep and k not in ("HOME", "HOSTNAME", "PATH"):
            env.append(f"{prefix}_ENV_{k}={v}")
    return env


def _port_bindings(c) -> dict[tuple[int, str], list[tuple[str, int | tuple[int, int] | None]]]:
    """{(container port, proto): [(host ip, host port | (first, last) | None)]} from PortBindings and -P."""
    out: dict[tuple[int, str], list] = {}
    for key, bindings in (c.host_config.get("PortBindings") or {}).items():
        port, _, proto = key.partition("/")
        proto = proto or "tcp"
        for b in bindings or [{}]:
            host_port = (b or {}).get("HostPort") or ""
            if "-" in host_port:
                lo, hi = host_port.split("-", 1)
                hp: int | tuple[int, int] | None = (int(lo), int(hi))
            else:
                hp = int(host_port) if host_port else None
            out.setdefault((int(port), proto), []).append(((b or {}).get("HostIp") or "", hp))
    if c.host_config.get("PublishAllPorts"):
        for key in (c.config.get("ExposedPorts") or {}):
            port, _, proto = key.partition("/")
            out.setdefault((int(port), proto or "tcp"), [("", None)])
    return out


def _reserve_port(allocator: portproxy.PortAllocator, proto: str, host_ip, host_port, also_v6: bool,
                  proxied: bool) -> tuple[int, list]:
    """The host port a binding asks for (a number, a (first, last) range, None: any) and the sockets
    that reserve it: on ``host_ip``, and with ``also_v6`` on ``[::]`` too. ``proxied``: a proxy will
    serve the first one (no NAT)."""
    if host_port is None:
        return _allocate(allocator, proto, host_ip, also_v6)
    if isinstance(host_port, tuple):
        return _reserve_in_range(proto, host_ip, host_port, also_v6, proxied)
    return host_port, _reserve_both(proto, host_ip, host_port, also_v6, proxied)


def _reserve_both(proto: str, host_ip, number: int, also_v6: bool, proxied: bool) -> list:
    """The sockets reserving ``host_ip:number`` and, with ``also_v6``, ``[::]:number``: both or none.

    A socket a proxy serves (every IPv6 one) may share its port with the TIME_WAIT connections an
    earlier proxy on it left (SO_REUSEADDR): else a container published again on the same port
    within a minute of a client's visit would be refused. One NAT holds is held strictly."""
    first = portproxy.reserve(proto, host_ip, number, reuse_addr=proxied)
    if not also_v6:
        return [first]
    try:
        return [first, portproxy.reserve(proto, "::", number, reuse_addr=True)]
    except BaseException:
        first.close()
        raise


def _allocate(allocator: portproxy.PortAllocator, proto: str, host_ip, also_v6: bool) -> tuple[int, list]:
    """A random free host port (free on ``[::]`` too with ``also_v6``) and its sockets."""
    for _ in range(64):
        number, sock = allocator.allocate(proto, host_ip)
        if not also_v6:
            return number, [sock]
        try:
            return number, [sock, portproxy.reserve(proto, "::", number, reuse_addr=True)]
        except portproxy.PortInUse:
            sock.close()
    raise portproxy.PortInUse(f"no host port free on both 0.0.0.0 and [::] for {proto}")


def _reserve_in_range(proto: str, host_ip, rng: tuple[int, int], also_v6: bool, proxied: bool
                      ) -> tuple[int, list]:
    last_error: Exception | None = None
    for number in range(rng[0], rng[1] + 1):
        try:
            return number, _reserve_both(proto, host_ip, number, also_v6, proxied)
        except portproxy.PortInUse as e:
            last_error = e
    raise last_error or errdefs.System("no free port in range")


def _pm_to_json(m: PortMapping) -> dict:
    return {"proto": m.proto, "host_port": m.host_port, "container_ip": str(m.container_ip),
            "container_port": m.container_port, "host_ip": str(m.host_ip) if m.host_ip else None}


def _pm_from_json(d: dict) -> dict:
    return dict(d)

