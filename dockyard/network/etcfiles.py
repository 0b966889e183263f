"""The /etc/hosts, /etc/resolv.conf and /etc/hostname a container gets, as Docker writes them."""

from __future__ import annotations

import re

DEFAULT_HOSTS = """127.0.0.1\tlocalhost
::1\tlocalhost ip6-localhost ip6-loopback
fe00::0\tip6-localnet
ff00::0\tip6-mcastprefix
ff02::1\tip6-allnodes
ff02::2\tip6-allrouters
"""

# Docker's fallback when the host only has local resolvers (which a container cannot reach).
DEFAULT_NAMESERVERS = ["8.8.8.8", "8.8.4.4"]

_LOCAL_NS = re.compile(r"^\s*nameserver\s+(127\.\d+\.\d+\.\d+|::1)\s*$")


def hosts_file(hostname: str, domainname: str = "", ip: str | None = None,
               extra: list[tuple[str, str]] = ()) -> str:
    """``extra`` holds (host, ip) pairs from ``--add-host``, listed after the defaults, as Docker does."""
    out = DEFAULT_HOSTS
    for host, addr in extra:
        out += f"{addr}\t{host}\n"
    if ip:
        names = f"{hostname}.{domainname} {hostname}" if domainname else hostname
        out += f"{ip}\t{names}\n"
    return out


def resolv_conf(host_resolv: str, *, dns: list[str] = (), search: list[str] = (), options: list[str] = (),
                keep_local: bool = False) -> str:
    """The host's resolv.conf with local-only nameservers dropped, or the ``--dns*`` settings."""
    lines = host_resolv.splitlines()
    out: list[str] = []
    nameservers = 0
    for line in lines:
        s = line.strip()
        if s.startswith("nameserver"):
            if dns:
                continue
            if not keep_local and _LOCAL_NS.match(s):
                continue
            nameservers += 1
        elif s.startswith("search") or s.startswith("domain"):
            if search:
                continue
        elif s.startswith("options"):
            if options:
                continue
        out.append(line)
    if search:
        out.append("search " + " ".join(search))
    if options:
        out.append("options " + " ".join(options))
    if dns:
        out.extend(f"nameserver {d}" for d in dns)
    elif nameservers == 0:
        out.extend(f"nameserver {d}" for d in DEFAULT_NAMESERVERS)
    return "\n".join(out) + "\n"


def read_host_file(path: str) -> str:
    try:
        with open(path) as f:
            return f.read()
    except OSError:
        return ""


EMBEDDED_RESOLVER = "127.0.0.11"


def resolv_conf_embedded(host_resolv: str, *, search: list[str] = (), options: list[str] = ()) -> str:
    """The resolv.conf of a container on a user-defined network, whose resolver is the embedded DNS.

    Only ``nameserver 127.0.0.11``; the host's search list (or ``--dns-search``); the host's
    options (or ``--dns-option``) with ``ndots:0`` added unless they set ndots, as Docker
    writes it. The real upstreams (host's or ``--dns``) are the DNS server's business.
    """
    host_search: list[str] = []
    host_options: list[str] = []
    for line in host_resolv.splitlines():
        parts = line.split()
        if not parts:
            continue
        if parts[0] in ("search", "domain"):
            host_search = parts[1:]
        elif parts[0] == "options":
            host_options.extend(parts[1:])
    search = list(search) or host_search
    opts = list(options) or host_options
    if not any(o.startswith("ndots:") for o in opts):
        opts.append("ndots:0")
    out = [f"nameserver {EMBEDDED_RESOLVER}"]
    if search:
        out.append("search " + " ".join(search))
    out.append("options " + " ".join(opts))
    return "\n".join(out) + "\n"
