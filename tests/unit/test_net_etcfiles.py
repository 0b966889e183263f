"""resolv.conf for containers whose resolver is the embedded DNS server."""

from __future__ import annotations

from dockyard.network.etcfiles import resolv_conf_embedded

HOST = "nameserver 10.0.0.53\nnameserver 127.0.0.53\nsearch corp.example lab\noptions edns0 trust-ad\n"


def test_only_the_embedded_resolver_with_the_hosts_search_and_options():
    assert resolv_conf_embedded(HOST) == ("nameserver 127.0.0.11\nsearch corp.example lab\n"
                                          "options edns0 trust-ad ndots:0\n")


def test_overrides_and_ndots():
    out = resolv_conf_embedded(HOST, search=["x.test"], options=["ndots:2", "timeout:1"])
    assert out == "nameserver 127.0.0.11\nsearch x.test\noptions ndots:2 timeout:1\n"
    assert resolv_conf_embedded("") == "nameserver 127.0.0.11\noptions ndots:0\n"
