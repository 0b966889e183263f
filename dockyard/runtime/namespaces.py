"""Namespace modes of a container (IPC, PID, UTS, user) applied to its OCI spec as Docker applies them.

``IpcMode``: ``private`` (own namespace, own /dev/shm tmpfs), ``shareable`` (own namespace; its /dev/shm
is a tmpfs mounted on the host under the bundle so others can join it), ``container:ID`` (the other's
namespace and /dev/shm), ``host`` (the host's namespace and /dev/shm), ``none`` (own namespace, no
/dev/shm). ``PidMode``: own, ``host``, ``container:ID``. ``UTSMode``: own or ``host`` (no hostname
set). ``UsernsMode``: the daemon's remapping unless ``host``.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field

from dockyard import errdefs
from dockyard.store import mount as mnt

IPC_MODES = ("", "private", "shareable", "host", "none")


def valid_ipc_mode(mode: str) -> bool:
    return mode in IPC_MODES or (mode.startswith("container:") and len(mode) > len("container:"))


def valid_pid_mode(mode: str) -> bool:
    return mode in ("", "host") or (mode.startswith("container:") and len(mode) > len("container:"))


def shm_path(bundle: str) -> str:
    return os.path.join(bundle, "shm")


def setup_shareable_shm(bundle: str, size: int) -> str:
    """A host-side tmpfs for a shareable container's /dev/shm (made once per start)."""
    path = shm_path(bundle)
    os.makedirs(path, mode=0o700, exist_ok=True)
    if not os.path.ismount(path):
        mnt.mount(mnt.Mount("tmpfs", "shm", ("mode=1777", f"size={size}"),
                            flags=mnt.MS_NOSUID | mnt.MS_NODEV | mnt.MS_NOEXEC), path)
    return path


def release_shm(bundle: str) -> None:
    path = shm_path(bundle)
    if os.path.ismount(path):
        try:
            mnt.unmount(path)
        except errdefs.DockyardError:
            pass


@dataclass
class NamespaceModes:
    """Resolved namespace settings: ``None`` for a new namespace, ``"host"``, or a /proc/<pid>/ns path."""

    ipc: str | None = None
    ipc_shm: str | None = None   # host path bound at /dev/shm; "" for no /dev/shm at all
    pid: str | None = None
    uts_host: bool = False
    userns: bool = False         # a new user namespace with the mappings below
    userns_path: str | None = None
    uid_mappings: list[dict] = field(default_factory=list)
    gid_mappings: list[dict] = field(default_factory=list)


def _set(namespaces: list[dict], kind: str, value: str | None) -> list[dict]:
    """The namespace list with ``kind`` new (None), joined (a path) or removed ("host")."""
    out = [n for n in namespaces if n["type"] != kind]
    if value == "host":
        return out
    ns = {"type": kind}
    if value:
        ns["path"] = value
    out.append(ns)
    return out


def apply(spec: dict, modes: NamespaceModes) -> None:
    linux = spec["linux"]
    nss = linux["namespaces"]
    nss = _set(nss, "ipc", modes.ipc)
    nss = _set(nss, "pid", modes.pid)
    if modes.uts_host:
        nss = _set(nss, "uts", "host")
        spec.pop("hostname", None)
        spec.pop("domainname", None)
    if modes.userns:
        nss = _set(nss, "user", modes.userns_path)
        linux["uidMappings"] = modes.uid_mappings
        linux["gidMappings"] = modes.gid_mappings
        # Docker: "we cannot set up ping socket support in a user namespace" (the range names host gids)
        (linux.get("sysctl") or {}).pop("net.ipv4.ping_group_range", None)
        for m in spec["mounts"]:
            if m["destination"] == "/sys/fs/cgroup":
                # a read-only remount is refused inside a user namespace (Docker clears the flag too)
                m["options"] = [o for o in m["options"] if o != "ro"]
    linux["namespaces"] = nss
    if modes.ipc_shm is not None:
        mounts = [m for m in spec["mounts"] if m["destination"] != "/dev/shm"]
        if modes.ipc_shm:
            mounts.append({"destination": "/dev/shm", "type": "bind", "source": modes.ipc_shm,
                           "options": ["rbind", "rprivate"]})
        spec["mounts"] = mounts

