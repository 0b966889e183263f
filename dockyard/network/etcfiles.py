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
