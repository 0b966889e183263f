"""The daemon's command line."""

from __future__ import annotations

import argparse
from dataclasses import dataclass, field

DEFAULT_DATA_ROOT = "/var/lib/dockyard"
DEFAULT_HOST = "unix:///run/dockyard/dockyard.sock"


@dataclass
class DaemonConfig:
    data_root: str = DEFAULT_DATA_ROOT
    exec_root: str = ""
    hosts: list[str] = field(default_factory=list)
    runtime: str = "runc"
    conmon: str = "conmon"
    init_path: str = "/usr/bin/docker-init"
    debug: bool = False
    tls: bool = False
    tlsverify: bool = False
    tlscacert: str = ""
    tlscert: str = ""
    tlskey: str = ""
    bridge_name: str = "dockyard0"
    bridge: str = ""
    bip: str = ""
    fixed_cidr: str = ""
    mtu: int = 1500
    icc: bool = True
    ip_forward: bool = True
    iptables: bool = True
    nft_table: str = "dockyard"
    metrics_addr: str = ""
    userns_remap: str = ""


def parse_args(argv: list[str] | None = None) -> DaemonConfig:
    p = argparse.ArgumentParser(prog="dockyardd", description="dockyard: a container engine serving the Docker API")
    p.add_argument("--data-root", "-g", default=DEFAULT_DATA_ROOT, help="root of persistent state")
    p.add_argument("--exec-root", default="", help="root of runtime state (default: <data-root>/run)")
    p.add_argument("--host", "-H", action="append", default=[], help="unix:///path.sock or tcp://addr:port (TLS only)")
    p.add_argument("--runtime", "--default-runtime", dest="runtime", default="runc", help="OCI runtime binary")
    p.add_argument("--conmon", default="conmon", help="container monitor binary")
    p.add_argument("--init-path", default="/usr/bin/docker-init", help="init binary for --init (tini)")
    p.add_argument("--debug", "-D", action="store_true")
    p.add_argument("--metrics-addr", default="", type=_host_port,
                   help="serve Prometheus metrics over plain HTTP on this address (e.g. 127.0.0.1:9323), path /metrics")
    p.add_argument("--userns-remap", default="", help="map container root to this user's subordinate ids "
                                                      "('default': the dockremap user)")
    p.add_argument("--tls", action="store_true")
    p.add_argument("--tlsverify", action="store_true")
    p.add_argument("--tlscacert", default="")
    p.add_argument("--tlscert", default="")
    p.add_argument("--tlskey", default="")
    p.add_argument("--bridge-name", default="dockyard0", help="name of the default bridge dockyard creates")
    p.add_argument("--bridge", "-b", default="", help="attach the default network to this existing bridge "
                                                      "('none': no default bridge network)")
    p.add_argument("--bip", default="", help="the default bridge's address and subnet, e.g. 172.18.0.1/16")
    p.add_argument("--fixed-cidr", default="", help="restrict the default bridge's container addresses")
    p.add_argument("--mtu", type=int, default=1500)
    p.add_argument("--icc", type=_bool, default=True, help="traffic between containers of the default bridge")
    p.add_argument("--ip-forward", type=_bool, default=True)
    p.add_argument("--iptables", type=_bool, default=True, help="manage firewall rules (nftables)")
    p.add_argument("--nft-table", default="dockyard", help="name of dockyard's own nftables table")
    a = p.parse_args(argv)
    return DaemonConfig(data_root=a.data_root, exec_root=a.exec_root, hosts=a.host or [DEFAULT_HOST],
                        metrics_addr=a.metrics_addr,
                        runtime=a.runtime, conmon=a.conmon, init_path=a.init_path, debug=a.debug, tls=a.tls,
                        tlsverify=a.tlsverify, tlscacert=a.tlscacert, tlscert=a.tlscert, tlskey=a.tlskey,
                        bridge_name=a.bridge_name, bridge=a.bridge, bip=a.bip, fixed_cidr=a.fixed_cidr, mtu=a.mtu,
                        icc=a.icc, ip_forward=a.ip_forward, iptables=a.iptables, nft_table=a.nft_table,
                        userns_remap=a.userns_remap)


def _host_port(text: str) -> str:
    if not text:
        return ""
    host, sep, port = text.rpartition(":")
    if not sep or not port.isdigit() or not 0 < int(port) < 65536:
        raise argparse.ArgumentTypeError(f"invalid --metrics-addr {text!r}: use host:port, e.g. 127.0.0.1:9323")
    return text


def _bool(text: str) -> bool:
    if text.lower() in ("1", "true", "yes", "on"):
        return True
    if text.lower() in ("0", "false", "no", "off"):
        return False
    raise argparse.ArgumentTypeError(f"not a boolean: {text!r}")
