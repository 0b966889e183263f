"""The embedded DNS server: container names on user-defined networks, other names forwarded.

Like Docker's, the resolver a container sees is ``127.0.0.11:53`` inside its own network
namespace. One asyncio server in the daemon serves every container: for each sandbox (a
network namespace, shared by every container that joins it) it opens a UDP and a TCP socket
*inside* that namespace, bound to 127.0.0.11 on random ports, and adds two DNAT rules there
(table ``ip dockyard_dns``) sending 127.0.0.11:53 to those ports. That is Docker's approach,
and the reason for it holds here too: a socket bound to 127.0.0.11:53 itself would make a
container's own DNS server fail to bind ``0.0.0.0:53``. The sockets stay in the namespace
whichever thread reads them, so the daemon's loop serves them directly; the socket a query
came in on tells which sandbox, hence which networks, answers it.

Answers: A and AAAA for names registered on the sandbox's networks (container names, aliases,
``--link`` aliases; also ``name.<network>``), PTR for their addresses (``name.network``),
NXDOMAIN for unknown names under a network's own suffix, NODATA (an empty NOERROR) for a known
name without an address of the asked family. Everything else goes to the upstream resolvers:
the host's (``/etc/resolv.conf``, asked from the daemon's namespace, so a host-local resolver
such as 127.0.0.53 works) or a sandbox's own (``--dns``), over UDP and again over TCP when the
UDP answer comes back truncated; a client asking over TCP is forwarded over TCP. A sandbox
whose networks are all ``--internal`` gets no forwarding (SERVFAIL), as Docker does.

The wire format is the small part of RFC 1035 this needs, written here (stdlib only).
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import logging
import random
import socket
import struct
from dataclasses import dataclass, field
from ipaddress import IPv4Address, IPv6Address, ip_address
from typing import Iterable, Sequence

from dockyard import errdefs
from dockyard.network import netns as _netns
from dockyard.network.etcfiles import DEFAULT_NAMESERVERS, read_host_file
from dockyard.network.nft import Nft

log = logging.getLogger(__name__)

RESOLVER_IP = "127.0.0.11"
TTL = 600  # Docker's respTTL

# RR types, classes, rcodes
A, NS, CNAME, SOA, PTR, MX, TXT, AAAA, OPT, ANY = 1, 2, 5, 6, 12, 15, 16, 28, 41, 255
CLASS_IN = 1
NOERROR, FORMERR, SERVFAIL, NXDOMAIN, NOTIMP, REFUSED = 0, 1, 2, 3, 4, 5
QR, AA, TC, RD, RA = 0x8000, 0x0400, 0x0200, 0x0100, 0x0080

_HEADER = struct.Struct("!HHHHHH")


class DNSFormatError(ValueError):
    pass


# -- wire codec ------------------------------------------------------------------------------


def encode_name(name: str) -> bytes:
    """``www.example.com`` -> length-prefixed labels ending in the root label."""
    name = name.rstrip(".")
    out = bytearray()
    if name:
        for label in name.split("."):
            raw = label.encode("idna") if not label.isascii() else label.encode()
            if not 0 < len(raw) < 64:
                raise DNSFormatError(f"bad label in {name!r}")
            out.append(len(raw))
            out += raw
    out.append(0)
    if len(out) > 255:
        raise DNSFormatError("name too long")
    return bytes(out)


def decode_name(data: bytes, offset: int) -> tuple[str, int]:
    """(dotted name, offset after it), following compression pointers."""
    labels: list[str] = []
    end = None
    jumps = 0
    while True:
        if offset >= len(data):
            raise DNSFormatError("name runs past the message")
        n = data[offset]
        if n & 0xC0 == 0xC0:
            if offset + 1 >= len(data):
                raise DNSFormatError("truncated pointer")
            if end is None:
                end = offset + 2
            offset = ((n & 0x3F) << 8) | data[offset + 1]
            jumps += 1
            if jumps > 64:
                raise DNSFormatError("pointer loop")
            continue
        if n & 0xC0:
            raise DNSFormatError("bad label type")
        offset += 1
        if n == 0:
            break
        if offset + n > len(data):
            raise DNSFormatError("label runs past the message")
        labels.append(data[offset:offset + n].decode("ascii", "replace"))
        offset += n
    return ".".join(labels), (end if end is not None else offset)


@dataclass(frozen=True)
class Query:
    id: int
    flags: int
    name: str
    qtype: int
    qclass: int
    question: bytes           # the question section as received (echoed in answers)
    udp_size: int = 512       # the client's EDNS buffer size, 512 without EDNS

    @property
    def opcode(self) -> int:
        return (self.flags >> 11) & 0xF


def parse_query(data: bytes) -> Query:
    if len(data) < 12:
        raise DNSFormatError("short message")
    qid, flags, qd, an, ns, ar = _HEADER.unpack_from(data)
    if flags & QR:
        raise DNSFormatError("not a query")
    if qd != 1:
        raise DNSFormatError("exactly one question expected")
    name, off = decode_name(data, 12)
    if off + 4 > len(data):
        raise DNSFormatError("truncated question")
    qtype, qclass = struct.unpack_from("!HH", data, off)
    question = data[12:off + 4]
    off += 4
    udp_size = 512
    for i in range(an + ns + ar):
        _, off = decode_name(data, off)
        if off + 10 > len(data):
            raise DNSFormatError("truncated record")
        rtype, rclass, _ttl, rdlen = struct.unpack_from("!HHIH", data, off)
        off += 10 + rdlen
        if rtype == OPT and i >= an + ns:
            udp_size = max(512, rclass)
    return Query(qid, flags, name, qtype, qclass, question, udp_size)


def build_response(q: Query, rcode: int, answers: Sequence[tuple[int, bytes]] = (), *,
                   authoritative: bool = True, max_size: int | None = None) -> bytes:
    """An answer to ``q``; ``answers`` are (type, rdata) for the question's name (TTL 600)."""
    flags = QR | (q.flags & (0x7800 | RD)) | RA | (AA if authoritative else 0) | (rcode & 0xF)
    body = bytearray()
    count = 0
    for rtype, rdata in answers:
        rr = struct.pack("!HHHIH", 0xC00C, rtype, CLASS_IN, TTL, len(rdata)) + rdata
        if max_size is not None and 12 + len(q.question) + len(body) + len(rr) > max_size:
            flags |= TC
            break
        body += rr
        count += 1
    return _HEADER.pack(q.id, flags, 1, count, 0, 0) + q.question + bytes(body)


def error_response(data: bytes, rcode: int) -> bytes | None:
    """A bare error answer for a message that could not be parsed (None when not even a header)."""
    if len(data) < 12:
        return None
    qid, flags = struct.unpack_from("!HH", data)
    return _HEADER.pack(qid, QR | (flags & (0x7800 | RD)) | RA | rcode, 0, 0, 0, 0)


def build_query(name: str, qtype: int, *, qid: int | None = None) -> bytes:
    """A recursive query (tests, health checks)."""
    qid = random.getrandbits(16) if qid is None else qid
    return _HEADER.pack(qid, RD, 1, 0, 0, 0) + encode_name(name) + struct.pack("!HH", qtype, CLASS_IN)


@dataclass(frozen=True)
class Response:
    id: int
    flags: int
    rcode: int
    answers: list[tuple[str, int, object]]   # (name, type, value: address / name / raw bytes)

    @property
    def truncated(self) -> bool:
        return bool(self.flags & TC)


def parse_response(data: bytes) -> Response:
    if len(data) < 12:
        raise DNSFormatError("short message")
    qid, flags, qd, an, _ns, _ar = _HEADER.unpack_from(data)
    off = 12
    for _ in range(qd):
        _, off = decode_name(data, off)
        off += 4
    answers: list[tuple[str, int, object]] = []
    for _ in range(an):
        name, off = decode_name(data, off)
        if off + 10 > len(data):
            raise DNSFormatError("truncated record")
        rtype, _rclass, _ttl, rdlen = struct.unpack_from("!HHIH", data, off)
        off += 10
        rdata = data[off:off + rdlen]
        value: object = rdata
        if rtype == A and rdlen == 4:
            value = IPv4Address(rdata)
        elif rtype == AAAA and rdlen == 16:
            value = IPv6Address(rdata)
        elif rtype in (PTR, CNAME, NS):
            value = decode_name(data, off)[0]
        answers.append((name, rtype, value))
        off += rdlen
    return Response(qid, flags, flags & 0xF, answers)


def reverse_name(address: str | IPv4Address | IPv6Address) -> str:
    """``10.0.0.2`` -> ``2.0.0.10.in-addr.arpa``."""
    return ip_address(str(address)).reverse_pointer


def upstreams_from_resolv(text: str) -> list[str]:
    """The nameserver lines of a resolv.conf."""
    out = []
    for line in text.splitlines():
        parts = line.split()
        if len(parts) >= 2 and parts[0] == "nameserver":
            out.append(parts[1])
    return out


def _server_addr(server: str) -> tuple[str, int]:
    """``1.2.3.4``, ``1.2.3.4:5353``, ``[::1]:53`` or ``::1`` -> (host, port)."""
    if server.startswith("["):
        host, _, port = server[1:].partition("]")
        return host, int(port.lstrip(":") or 53)
    if server.count(":") == 1:
        host, port = server.split(":")
        return host, int(port)
    return server, 53


# -- the server ------------------------------------------------------------------------------


@dataclass
class _Sandbox:
    id: str
    netns: str
    networks: list[str]
    upstreams: list[str] | None
    forward: bool
    transports: list = field(default_factory=list)
    server: asyncio.AbstractServer | None = None
    ports: tuple[int, int] = (0, 0)


class _UDPProtocol(asyncio.DatagramProtocol):
    def __init__(self, server: "DNSServer", sandbox: _Sandbox) -> None:
        self.server = server
        self.sandbox = sandbox
        self.transport: asyncio.DatagramTransport | None = None

    def connection_made(self, transport) -> None:
        self.transport = transport

    def datagram_received(self, data: bytes, addr) -> None:
        self.server._spawn(self._answer(data, addr))

    async def _answer(self, data: bytes, addr) -> None:
        resp = await self.server._handle(self.sandbox, data, tcp=False)
        if resp is not None and self.transport is not None and not self.transport.is_closing():
            self.transport.sendto(resp, addr)

    def error_received(self, exc: Exception) -> None:  # ICMP errors back from a client: nothing to do
        pass


class DNSServer:
    """Name tables per network, and the resolvers listening in each sandbox.

    ``upstreams`` are the servers names are forwarded to (default: the nameservers of
    ``resolv_conf``, or Docker's fallback 8.8.8.8/8.8.4.4 when it lists none), asked from the
    namespace ``netns`` (None: the daemon's). All methods run on the daemon's event loop.
    """

    def __init__(self, *, upstreams: Sequence[str] | None = None, resolv_conf: str = "/etc/resolv.conf",
                 timeout: float = 4.0, max_inflight: int = 256, netns: str | None = None) -> None:
        self.netns = netns
        if upstreams is None:
            upstreams = upstreams_from_resolv(read_host_file(resolv_conf)) or list(DEFAULT_NAMESERVERS)
        self.upstreams = list(upstreams)
        self.timeout = timeout
        self._names: dict[str, dict[str, list[str]]] = {}     # network -> name -> addresses
        self._ptrs: dict[str, dict[str, list[str]]] = {}      # network -> address -> names
        self._netnames: dict[str, str] = {}                   # network -> its name (the suffix)
        self._sandboxes: dict[str, _Sandbox] = {}
        self._tasks: set[asyncio.Task] = set()
        self._inflight = asyncio.Semaphore(max_inflight)

    # -- records ---------------------------------------------------------------------------

    def set_network(self, network: str, name: str) -> None:
        """Declare a network and its name (``name.<network name>`` resolves; unknown names under it are NXDOMAIN)."""
        self._netnames[network] = name.lower()
        self._names.setdefault(network, {})
        self._ptrs.setdefault(network, {})

    def remove_network(self, network: str) -> None:
        self._netnames.pop(network, None)
        self._names.pop(network, None)
        self._ptrs.pop(network, None)

    def add_name(self, network: str, name: str, address: str | IPv4Address | IPv6Address, *, ptr: bool = True) -> None:
        """``name`` resolves to ``address`` on ``network`` (several addresses per name are answered together).

        ``ptr`` also answers the reverse lookup of ``address`` with ``name.<network name>``
        (Docker does this for container names, not for aliases).
        """
        addr = str(ip_address(str(address)))
        key = name.lower().rstrip(".")
        names = self._names.setdefault(network, {})
        lst = names.setdefault(key, [])
        if addr not in lst:
            lst.append(addr)
        if ptr:
            netname = self._netnames.get(network)
            full = f"{key}.{netname}" if netname else key
            plst = self._ptrs.setdefault(network, {}).setdefault(addr, [])
            if full not in plst:
                plst.append(full)

    def remove_name(self, network: str, name: str, address: str | IPv4Address | IPv6Address | None = None) -> None:
        """Forget ``name`` (only its ``address`` when given) on ``network``."""
        key = name.lower().rstrip(".")
        names = self._names.get(network, {})
        addrs = names.get(key, [])
        gone = [a for a in addrs if address is None or a == str(ip_address(str(address)))]
        remaining = [a for a in addrs if a not in gone]
        if remaining:
            names[key] = remaining
        else:
            names.pop(key, None)
        netname = self._netnames.get(network)
        full = f"{key}.{netname}" if netname else key
        ptrs = self._ptrs.get(network, {})
        for a in gone:
            lst = [n for n in ptrs.get(a, []) if n != full]
            if lst:
                ptrs[a] = lst
            else:
                ptrs.pop(a, None)

    def lookup(self, networks: Iterable[str], name: str) -> list[str] | None:
        """Addresses of ``name`` on the first of ``networks`` that knows it; None when none does."""
        key = name.lower().rstrip(".")
        for net in networks:
            names = self._names.get(net, {})
            if key in names:
                return list(names[key])
            netname = self._netnames.get(net)
            if netname and key.endswith("." + netname) and key[: -len(netname) - 1] in names:
                return list(names[key[: -len(netname) - 1]])
        return None

    def reverse(self, networks: Iterable[str], address: str) -> list[str]:
        for net in networks:
            names = self._ptrs.get(net, {}).get(address)
            if names:
                return list(names)
        return []

    # -- sandboxes -------------------------------------------------------------------------

    async def add_sandbox(self, sandbox: str, netns: str, networks: Sequence[str], *,
                          upstreams: Sequence[str] | None = None, forward: bool = True) -> tuple[int, int]:
        """Start answering at 127.0.0.11:53 inside ``netns`` for ``networks``; (udp port, tcp port) used.

        ``upstreams`` replaces the daemon's for this sandbox (``--dns``); ``forward=False``
        answers only the networks' own names (a sandbox on internal networks only). Calling
        it again for a known sandbox replaces the listeners (a restarted daemon re-adopting a
        running container: the rules in the namespace are rewritten atomically).
        """
        if sandbox in self._sandboxes:
            await self.remove_sandbox(sandbox, keep_rules=True)
        sb = _Sandbox(sandbox, netns, list(networks), list(upstreams) if upstreams else None, forward)
        loop = asyncio.get_running_loop()
        udp = _netns.socket_in(netns, socket.AF_INET, socket.SOCK_DGRAM)
        tcp = _netns.socket_in(netns, socket.AF_INET, socket.SOCK_STREAM)
        try:
            udp.bind((RESOLVER_IP, 0))
            tcp.bind((RESOLVER_IP, 0))
            udp.setblocking(False)
            tcp.setblocking(False)
            sb.ports = (udp.getsockname()[1], tcp.getsockname()[1])
            await _netns.arun_in(None, _install_dnat, netns, *sb.ports)
            transport, _ = await loop.create_datagram_endpoint(lambda: _UDPProtocol(self, sb), sock=udp)
            sb.transports.append(transport)
            sb.server = await asyncio.start_server(
                lambda r, w: self._serve_tcp(sb, r, w), sock=tcp, backlog=128)
        except BaseException:
            for t in sb.transports:
                t.close()
            udp.close()
            tcp.close()
            raise
        self._sandboxes[sandbox] = sb
        return sb.ports

    def set_sandbox_networks(self, sandbox: str, networks: Sequence[str], *, forward: bool | None = None) -> None:
        """The networks a sandbox answers for changed (``network connect`` / ``disconnect``)."""
        sb = self._sandboxes.get(sandbox)
        if sb is None:
            raise errdefs.NotFound(f"no DNS resolver for sandbox {sandbox}")
        sb.networks = list(networks)
        if forward is not None:
            sb.forward = forward

    async def remove_sandbox(self, sandbox: str, *, keep_rules: bool = False) -> None:
        """Stop answering in a sandbox; removes the DNAT rules unless the namespace is gone anyway."""
        sb = self._sandboxes.pop(sandbox, None)
        if sb is None:
            return
        for t in sb.transports:
            t.close()
        if sb.server is not None:
            sb.server.close()
            with contextlib.suppress(Exception):
                await sb.server.wait_closed()
        if not keep_rules:
            with contextlib.suppress(errdefs.NotFound, OSError):
                await _netns.arun_in(None, _remove_dnat, sb.netns)

    def sandboxes(self) -> list[str]:
        return list(self._sandboxes)

    async def close(self) -> None:
        """Stop every listener (the rules stay: a restarted daemon re-adds the sandboxes)."""
        for sid in list(self._sandboxes):
            await self.remove_sandbox(sid, keep_rules=True)
        for t in list(self._tasks):
            t.cancel()

    # -- answering -------------------------------------------------------------------------

    def _spawn(self, coro) -> None:
        task = asyncio.get_running_loop().create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _serve_tcp(self, sb: _Sandbox, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                try:
                    hdr = await asyncio.wait_for(reader.readexactly(2), timeout=10)
                    data = await asyncio.wait_for(reader.readexactly(struct.unpack("!H", hdr)[0]), timeout=10)
                except (asyncio.IncompleteReadError, asyncio.TimeoutError, ConnectionError):
                    return
                resp = await self._handle(sb, data, tcp=True)
                if resp is None:
                    return
                writer.write(struct.pack("!H", len(resp)) + resp)
                await writer.drain()
        finally:
            writer.close()

    async def answer(self, networks: Sequence[str], data: bytes, *, tcp: bool = False,
                     upstreams: Sequence[str] | None = None, forward: bool = True) -> bytes | None:
        """The response to one DNS message for a sandbox on ``networks`` (None: no answer at all)."""
        try:
            q = parse_query(data)
        except DNSFormatError:
            return error_response(data, FORMERR)
        max_size = None if tcp else q.udp_size
        if q.opcode != 0:
            return build_response(q, NOTIMP, max_size=max_size)
        name = q.name.lower().rstrip(".")
        if q.qclass in (CLASS_IN, ANY) and q.qtype in (A, AAAA, ANY):
            addrs = self.lookup(networks, name)
            if addrs is not None:
                want = [a for a in addrs if (q.qtype == ANY or (q.qtype == A) == (":" not in a))]
                random.shuffle(want)  # round robin over the holders of a shared alias, as Docker does
                answers = [(A if ":" not in a else AAAA, ip_address(a).packed) for a in want]
                return build_response(q, NOERROR, answers, max_size=max_size)
        if q.qclass in (CLASS_IN, ANY) and q.qtype == PTR and name.endswith((".in-addr.arpa", ".ip6.arpa")):
            addr = _from_reverse(name)
            names = self.reverse(networks, addr) if addr else []
            if names:
                return build_response(q, NOERROR, [(PTR, encode_name(n)) for n in names], max_size=max_size)
        for net in networks:
            netname = self._netnames.get(net)
            if netname and (name == netname or name.endswith("." + netname)):
                return build_response(q, NXDOMAIN, max_size=max_size)
        if not forward:
            return build_response(q, SERVFAIL, max_size=max_size)
        return await self._forward(q, data, tcp, list(upstreams) if upstreams else self.upstreams)

    async def _handle(self, sb: _Sandbox, data: bytes, *, tcp: bool) -> bytes | None:
        if self._inflight.locked():
            return error_response(data, SERVFAIL)
        async with self._inflight:
            try:
                return await self.answer(sb.networks, data, tcp=tcp, upstreams=sb.upstreams, forward=sb.forward)
            except Exception:
                log.exception("dns: answering in sandbox %s", sb.id)
                return error_response(data, SERVFAIL)

    async def _forward(self, q: Query, data: bytes, tcp: bool, upstreams: list[str]) -> bytes:
        for server in upstreams:
            try:
                addr = _server_addr(server)
                if tcp:
                    return await self._ask_tcp(addr, data)
                resp = await self._ask_udp(addr, data, q.id)
                if len(resp) >= 4 and struct.unpack_from("!H", resp, 2)[0] & TC:
                    with contextlib.suppress(OSError, asyncio.TimeoutError, DNSFormatError):
                        full = await self._ask_tcp(addr, data)
                        if len(full) <= q.udp_size:
                            return full
                return resp
            except (OSError, asyncio.TimeoutError, DNSFormatError, ValueError) as e:
                log.debug("dns: upstream %s failed: %s", server, e)
                continue
        return build_response(q, SERVFAIL, authoritative=False)

    async def _ask_udp(self, addr: tuple[str, int], data: bytes, qid: int) -> bytes:
        loop = asyncio.get_running_loop()
        fut: asyncio.Future[bytes] = loop.create_future()

        class Proto(asyncio.DatagramProtocol):
            def datagram_received(self, resp: bytes, _addr) -> None:
                if len(resp) >= 2 and struct.unpack_from("!H", resp)[0] == qid and not fut.done():
                    fut.set_result(resp)

            def error_received(self, exc: Exception) -> None:
                if not fut.done():
                    fut.set_exception(exc)

        family = socket.AF_INET6 if ":" in addr[0] else socket.AF_INET
        sock = _netns.socket_in(self.netns, family, socket.SOCK_DGRAM)
        try:
            sock.setblocking(False)
            sock.connect(addr)
        except BaseException:
            sock.close()
            raise
        transport, _ = await loop.create_datagram_endpoint(Proto, sock=sock)
        try:
            transport.sendto(data)
            return await asyncio.wait_for(fut, self.timeout)
        finally:
            transport.close()

    async def _ask_tcp(self, addr: tuple[str, int], data: bytes) -> bytes:
        loop = asyncio.get_running_loop()
        family = socket.AF_INET6 if ":" in addr[0] else socket.AF_INET
        sock = _netns.socket_in(self.netns, family, socket.SOCK_STREAM)
        try:
            sock.setblocking(False)
            await asyncio.wait_for(loop.sock_connect(sock, addr), self.timeout)
            reader, writer = await asyncio.open_connection(sock=sock)
        except BaseException:
            sock.close()
            raise
        try:
            writer.write(struct.pack("!H", len(data)) + data)
            await writer.drain()
            n = struct.unpack("!H", await asyncio.wait_for(reader.readexactly(2), self.timeout))[0]
            resp = await asyncio.wait_for(reader.readexactly(n), self.timeout)
            if len(resp) < 12:
                raise DNSFormatError("short answer")
            return resp
        except asyncio.IncompleteReadError as e:
            raise OSError(errno.ECONNRESET, "upstream closed the connection") from e
        finally:
            writer.close()


def _from_reverse(name: str) -> str | None:
    try:
        if name.endswith(".in-addr.arpa"):
            parts = name[: -len(".in-addr.arpa")].split(".")
            if len(parts) != 4:
                return None
            return str(IPv4Address(".".join(reversed(parts))))
        nibbles = name[: -len(".ip6.arpa")].split(".")
        if len(nibbles) != 32:
            return None
        h = "".join(reversed(nibbles))
        return str(IPv6Address(int(h, 16)))
    except ValueError:
        return None


_DNS_TABLE = "dockyard_dns"


def _dnat_script(udp_port: int, tcp_port: int) -> str:
    t = f"ip {_DNS_TABLE}"
    return (f"add table {t}\ndelete table {t}\n"
            f"table {t} {{\n"
            f"  chain output {{\n"
            f"    type nat hook output priority -100; policy accept;\n"
            f"    ip daddr {RESOLVER_IP} udp dport 53 dnat to {RESOLVER_IP}:{udp_port}\n"
            f"    ip daddr {RESOLVER_IP} tcp dport 53 dnat to {RESOLVER_IP}:{tcp_port}\n"
            f"  }}\n"
            f"}}\n")


def _install_dnat(netns: str, udp_port: int, tcp_port: int) -> None:
    with Nft(netns) as nft:
        nft.run(_dnat_script(udp_port, tcp_port))


def _remove_dnat(netns: str) -> None:
    with Nft(netns) as nft:
        nft.run(f"add table ip {_DNS_TABLE}\ndelete table ip {_DNS_TABLE}\n")
