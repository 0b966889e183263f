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


def parse_args(argv: list[str] | None = None) -> DaemonConfig:
    p = argparse.ArgumentParser(prog="dockyardd", description="dockyard: a container engine serving the Docker API")
    p.add_argument("--data-root", "-g", default=DEFAULT_DATA_ROOT, help="root of persistent state")
    p.add_argument("--exec-root", default="", help="root of runtime state (default: <data-root>/run)")
    p.add_argument("--host", "-H", action="append", default=[], help="unix:///path.sock or tcp://addr:port (TLS only)")
    p.add_argument("--runtime", "--default-runtime", dest="runtime", default="runc", help="OCI runtime binary")
    p.add_argument("--conmon", default="conmon", help="container monitor binary")
    p.add_argument("--init-path", default="/usr/bin/docker-init", help="init binary for --init (tini)")
    p.add_argument("--debug", "-D", action="store_true")
    p.add_argument("--tls", action="store_true")
    p.add_argument("--tlsverify", action="store_true")
    p.add_argument("--tlscacert", default="")
    p.add_argument("--tlscert", default="")
    p.add_argument("--tlskey", default="")
    a = p.parse_args(argv)
    return DaemonConfig(data_root=a.data_root, exec_root=a.exec_root, hosts=a.host or [DEFAULT_HOST],
                        runtime=a.runtime, conmon=a.conmon, init_path=a.init_path, debug=a.debug, tls=a.tls,
                        tlsverify=a.tlsverify, tlscacert=a.tlscacert, tlscert=a.tlscert, tlskey=a.tlskey)
