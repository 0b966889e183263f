"""The DNS wire codec and the embedded server's answers (no sockets: DNSServer.answer directly)."""

from __future__ import annotations

import asyncio
import struct
from ipaddress import ip_address

import pytest

from dockyard.network import dns


def test_names_round_trip_and_compression():
    assert dns.encode_name("www.Example.com.") == b"\x03www\x07Example\x03com\x00"
    assert dns.encode_name("") == b"\x00"
    msg = b"\x00" * 12 + b"\x03www\x07example\x03com\x00" + b"\x04mail\xc0\x10"
    assert dns.decode_name(msg, 12) == ("www.example.com", 29)
    assert dns.decode_name(msg, 29) == ("mail.example.com", 36)
    with pytest.raises(dns.DNSFormatError):
        dns.decode_name(b"\x00" * 12 + b"\xc0\x0c", 12)  # a pointer to itself
    with pytest.raises(dns.DNSFormatError):
        dns.decode_name(b"\x05ab", 0)
    with pytest.raises(dns.DNSFormatError):
        dns.encode_name("a" * 64 + ".com")


def test_query_parse_and_response():
    q = dns.parse_query(dns.build_query("web", dns.A, qid=0x1234))
    assert (q.id, q.name, q.qtype, q.qclass, q.udp_size) == (0x1234, "web", dns.A, dns.CLASS_IN, 512)
    resp = dns.build_response(q, dns.NOERROR, [(dns.A, ip_address("10.0.0.2").packed),
                                               (dns.PTR, dns.encode_name("web.net"))])
    r = dns.parse_response(resp)
    assert r.id == 0x1234 and r.rcode == dns.NOERROR and not r.truncated
    assert r.answers == [("web", dns.A, ip_address("10.0.0.2")), ("web", dns.PTR, "web.net")]
    flags = struct.unpack_from("!H", resp, 2)[0]
    assert flags & dns.QR and flags & dns.RD and flags & dns.RA and flags & dns.AA


def test_edns_size_and_truncation():
    opt = b"\x00" + struct.pack("!HHIH", dns.OPT, 1232, 0, 0)
    base = bytearray(dns.build_query("many", dns.A, qid=7))
    base[10:12] = b"\x00\x01"
    q = dns.parse_query(bytes(base) + opt)
    assert q.udp_size == 1232
    plain = dns.parse_query(dns.build_query("many", dns.A))
    answers = [(dns.A, bytes([10, 0, 0, i])) for i in range(60)]
    r = dns.parse_response(dns.build_response(plain, dns.NOERROR, answers, max_size=512))
    assert r.truncated and len(r.answers) < 60
    assert len(dns.parse_response(dns.build_response(q, dns.NOERROR, answers, max_size=q.udp_size)).answers) == 60


def test_malformed_messages():
    assert dns.error_response(b"\x00", dns.FORMERR) is None
    bad = dns.error_response(b"\xab\xcd" + b"\x00" * 10, dns.FORMERR)
    assert dns.parse_response(bad).rcode == dns.FORMERR and dns.parse_response(bad).id == 0xABCD
    two = bytearray(dns.build_query("a", dns.A))
    two[5] = 2
    with pytest.raises(dns.DNSFormatError):
        dns.parse_query(bytes(two))


def test_reverse_names_and_resolv_conf():
    assert dns.reverse_name("10.200.40.2") == "2.40.200.10.in-addr.arpa"
    assert dns._from_reverse("2.40.200.10.in-addr.arpa") == "10.200.40.2"
    assert dns._from_reverse(dns.reverse_name("fd00::1")) == "fd00::1"
    assert dns._from_reverse("1.2.in-addr.arpa") is None
    text = "# c\nnameserver 10.0.0.53\nsearch x\nnameserver ::1\n"
    assert dns.upstreams_from_resolv(text) == ["10.0.0.53", "::1"]
    assert dns._server_addr("10.0.0.53") == ("10.0.0.53", 53)
    assert dns._server_addr("10.0.0.53:5353") == ("10.0.0.53", 5353)
    assert dns._server_addr("[fd00::1]:54") == ("fd00::1", 54) and dns._server_addr("::1") == ("::1", 53)


@pytest.fixture
def server():
    s = dns.DNSServer(upstreams=[])
    s.set_network("n1", "Front")
    s.add_name("n1", "Web", "10.0.0.2")
    s.add_name("n1", "db", "10.0.0.3")
    s.add_name("n1", "shared", "10.0.0.2", ptr=False)
    s.add_name("n1", "shared", "10.0.0.3", ptr=False)
    s.add_name("n1", "v6", "fd00::2")
    s.set_network("n2", "back")
    s.add_name("n2", "db", "10.1.0.3")
    return s


def answer(server, networks, name, qtype=dns.A, **kw):
    data = asyncio.run(server.answer(networks, dns.build_query(name, qtype), **kw))
    return dns.parse_response(data)


def test_answers_from_the_tables(server):
    assert [str(v) for *_, v in answer(server, ["n1"], "web").answers] == ["10.0.0.2"]
    assert [str(v) for *_, v in answer(server, ["n1"], "WEB.front.").answers] == ["10.0.0.2"]
    # the first network of the sandbox that knows the name answers
    assert [str(v) for *_, v in answer(server, ["n2", "n1"], "db").answers] == ["10.1.0.3"]
    assert [str(v) for *_, v in answer(server, ["n1", "n2"], "db").answers] == ["10.0.0.3"]
    assert sorted(str(v) for *_, v in answer(server, ["n1"], "shared").answers) == ["10.0.0.2", "10.0.0.3"]
    assert [str(v) for *_, v in answer(server, ["n1"], "v6", dns.AAAA).answers] == ["fd00::2"]
    r = answer(server, ["n1"], "v6")
    assert r.rcode == dns.NOERROR and r.answers == []
    r = answer(server, ["n1"], dns.reverse_name("10.0.0.2"), dns.PTR)
    assert [v for *_, v in r.answers] == ["web.front"]
    assert answer(server, ["n1"], "nosuch.front").rcode == dns.NXDOMAIN
    assert answer(server, ["n1"], "front").rcode == dns.NXDOMAIN


def test_unknown_names_without_upstreams_or_forwarding(server):
    assert answer(server, ["n1"], "example.org").rcode == dns.SERVFAIL       # no upstream at all
    assert answer(server, ["n2"], "web").rcode == dns.SERVFAIL               # not on that network
    assert answer(server, ["n1"], "example.org", forward=False).rcode == dns.SERVFAIL
    notimp = bytearray(dns.build_query("web", dns.A))
    notimp[2] |= 0x10  # opcode 2 (status)
    r = dns.parse_response(asyncio.run(server.answer(["n1"], bytes(notimp))))
    assert r.rcode == dns.NOTIMP


def test_remove_names_and_networks(server):
    server.remove_name("n1", "shared", "10.0.0.2")
    assert [str(v) for *_, v in answer(server, ["n1"], "shared").answers] == ["10.0.0.3"]
    server.remove_name("n1", "web")
    assert answer(server, ["n1"], "web.front").rcode == dns.NXDOMAIN
    assert answer(server, ["n1"], dns.reverse_name("10.0.0.2"), dns.PTR).answers == []
    server.remove_network("n1")
    assert server.lookup(["n1"], "db") is None


def test_upstreams_default_to_the_hosts(tmp_path):
    conf = tmp_path / "resolv.conf"
    conf.write_text("nameserver 10.0.0.53\n")
    assert dns.DNSServer(resolv_conf=str(conf)).upstreams == ["10.0.0.53"]
    conf.write_text("search x\n")
    assert dns.DNSServer(resolv_conf=str(conf)).upstreams == ["8.8.8.8", "8.8.4.4"]
