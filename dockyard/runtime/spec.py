"""Docker's container configuration turned into an OCI runtime spec (``config.json``).

The defaults here are Docker's (moby ``oci/defaults.go`` and ``daemon/oci_linux.go``):
the same mounts, capabilities, masked paths and device rules, so a program
sees the same container under dockyard as under Docker.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from dockyard.runtime import namespaces as rns
from dockyard.runtime import security
from dockyard.runtime.caps import bounding_caps
from dockyard.runtime.security import DEFAULT_CAPS

DEFAULT_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

MASKED_PATHS = [
    "/proc/asound", "/proc/acpi", "/proc/kcore", "/proc/keys", "/proc/latency_stats",
    "/proc/timer_list", "/proc/timer_stats", "/proc/sched_debug", "/proc/scsi", "/sys/firmware",
    "/sys/devices/virtual/powercap",
]

READONLY_PATHS = ["/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger"]

# deny everything, then allow mknod of anything and use of the usual character devices
DEFAULT_DEVICE_RULES = [
    {"allow": False, "access": "rwm"},
    {"allow": True, "type": "c", "access": "m"},
    {"allow": True, "type": "b", "access": "m"},
    {"allow": True, "type": "c", "major": 1, "minor": 3, "access": "rwm"},
    {"allow": True, "type": "c", "major": 1, "minor": 8, "access": "rwm"},
    {"allow": True, "type": "c", "major": 1, "minor": 7, "access": "rwm"},
    {"allow": True, "type": "c", "major": 5, "minor": 0, "access": "rwm"},
    {"allow": True, "type": "c", "major": 1, "minor": 5, "access": "rwm"},
    {"allow": True, "type": "c", "major": 1, "minor": 9, "access": "rwm"},
    {"allow": True, "type": "c", "major": 5, "minor": 1, "access": "rwm"},
    {"allow": True, "type": "c", "major": 136, "access": "rwm"},
    {"allow": True, "type": "c", "major": 5, "minor": 2, "access": "rwm"},
    {"allow": True, "type": "c", "major": 10, "minor": 200, "access": "rwm"},
]

INIT_PATH = "/sbin/docker-init"
DEFAULT_SHM_SIZE = 64 * 1024 * 1024


@dataclass
class User:
    uid: int = 0
    gid: int = 0
    additional_gids: list[int] = field(default_factory=list)


@dataclass
class SpecInput:
    """Everything the spec is built from, resolved already (user looked up, command merged)."""

    args: list[str]
    env: list[str]
    cwd: str
    user: User
    rootfs: str
    hostname: str
    domainname: str = ""
    tty: bool = False
    readonly_rootfs: bool = False
    network: str = "new"            # "new" | "host" | a netns path to join
    shm_size: int = DEFAULT_SHM_SIZE
    cgroups_path: str = ""
    etc_files: dict[str, str] = field(default_factory=dict)   # /etc/hosts → host file
    init_binary: str | None = None
    extra_mounts: list[dict] = field(default_factory=list)
    resources: dict = field(default_factory=dict)
    annotations: dict[str, str] = field(default_factory=dict)
    # capabilities, devices, seccomp, no-new-privileges (None: Docker's defaults)
    privileges: security.Privileges | None = None
    namespaces: rns.NamespaceModes | None = None


def build_env(config_env: list[str] | None, hostname: str, tty: bool) -> list[str]:
    """PATH, HOSTNAME and TERM first, then the container's own variables replacing them (Docker's order)."""
    env = [f"PATH={DEFAULT_PATH}", f"HOSTNAME={hostname}"]
    if tty:
        env.append("TERM=xterm")
    return replace_or_append_env(env, config_env or [])


def replace_or_append_env(base: list[str], overrides: list[str]) -> list[str]:
    out = list(base)
    index = {e.split("=", 1)[0]: i for i, e in enumerate(out)}
    for e in overrides:
        key = e.split("=", 1)[0]
        if "=" not in e:
            continue  # a bare name unset on the client side has no value to pass
        if key in index:
            out[index[key]] = e
        else:
            index[key] = len(out)
            out.append(e)
    return out


def build_spec(inp: SpecInput) -> dict:
    caps = list(DEFAULT_CAPS)
    args = list(inp.args)
    mounts = [
        {"destination": "/proc", "type": "proc", "source": "proc", "options": ["nosuid", "noexec", "nodev"]},
        {"destination": "/dev", "type": "tmpfs", "source": "tmpfs",
         "options": ["nosuid", "strictatime", "mode=755", "size=65536k"]},
        {"destination": "/dev/pts", "type": "devpts", "source": "devpts",
         "options": ["nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", "gid=5"]},
        {"destination": "/sys", "type": "sysfs", "source": "sysfs", "options": ["nosuid", "noexec", "nodev", "ro"]},
        {"destination": "/sys/fs/cgroup", "type": "cgroup", "source": "cgroup",
         "options": ["ro", "nosuid", "noexec", "nodev"]},
        {"destination": "/dev/mqueue", "type": "mqueue", "source": "mqueue", "options": ["nosuid", "noexec", "nodev"]},
        {"destination": "/dev/shm", "type": "tmpfs", "source": "shm",
         "options": ["nosuid", "noexec", "nodev", "mode=1777", f"size={inp.shm_size}"]},
    ]
    for dest, src in inp.etc_files.items():
        mounts.append({"destination": dest, "type": "bind", "source": src, "options": ["rbind", "rprivate"]})
    mounts.extend(inp.extra_mounts)
    if inp.init_binary:
        mounts.append({"destination": INIT_PATH, "type": "bind", "source": inp.init_binary,
                       "options": ["bind", "ro"]})
        args = [INIT_PATH, "--", *args]

    namespaces = [{"type": "pid"}, {"type": "ipc"}, {"type": "uts"}, {"type": "mount"}]
    sysctl: dict[str, str] = {}
    if inp.network != "host":
        ns: dict = {"type": "network"}
        if inp.network != "new":
            ns["path"] = inp.network
        namespaces.append(ns)
        # Docker lets unprivileged processes bind low ports and ping inside their own network namespace.
        sysctl = {"net.ipv4.ip_unprivileged_port_start": "0", "net.ipv4.ping_group_range": "0 2147483647"}

    resources = {"devices": DEFAULT_DEVICE_RULES, **inp.resources}
    process = {
        "terminal": inp.tty,
        "user": {"uid": inp.user.uid, "gid": inp.user.gid,
                 **({"additionalGids": inp.user.additional_gids} if inp.user.additional_gids else {})},
        "args": args,
        "env": inp.env,
        "cwd": inp.cwd or "/",
        "capabilities": {"bounding": caps, "effective": caps, "permitted": caps},
        "noNewPrivileges": False,
    }
    spec = {
        "ociVersion": "1.0.2",
        "process": process,
        "root": {"path": inp.rootfs, "readonly": inp.readonly_rootfs},
        "hostname": inp.hostname,
        "mounts": mounts,
        "linux": {
            "sysctl": sysctl,
            "resources": resources,
            "cgroupsPath": inp.cgroups_path,
            "namespaces": namespaces,
            "maskedPaths": MASKED_PATHS,
            "readonlyPaths": READONLY_PATHS,
        },
    }
    if inp.domainname:
        spec["domainname"] = inp.domainname
    if inp.annotations:
        spec["annotations"] = inp.annotations
    if inp.namespaces is not None:
        rns.apply(spec, inp.namespaces)
    security.apply(spec, inp.privileges or security.Privileges())
    return spec


def bind_cgroup_hierarchies(spec: dict, binds: list[tuple[str, str]] | None) -> None:
    """Replace the v1 ``cgroup`` mount at /sys/fs/cgroup by what runc would make of it: a tmpfs
    (``rw``, mode 755, as runc leaves it) and each hierarchy's container dir bound under it with the
    cgroup mount's flags (``ro`` but when privileged). ``binds`` come from ``cgroups.container_binds``;
    with a cgroup or user namespace runc's own way stays (it mounts differently there)."""
    if not binds or any(ns["type"] in ("cgroup", "user") for ns in spec["linux"]["namespaces"]):
        return
    mounts = spec["mounts"]
    i = next((k for k, m in enumerate(mounts) if m["destination"] == "/sys/fs/cgroup" and m["type"] == "cgroup"),
             None)
    if i is None:
        return
    flags = [o for o in mounts[i]["options"] if o in ("ro", "rw", "nosuid", "noexec", "nodev")]
    expanded = [{"destination": "/sys/fs/cgroup", "type": "tmpfs", "source": "tmpfs",
                 "options": ["nosuid", "noexec", "nodev", "mode=755"]}]
    for source, name in binds:
        expanded.append({"destination": f"/sys/fs/cgroup/{name}", "type": "bind", "source": source,
                         "options": ["rbind", *flags]})
    mounts[i:i + 1] = expanded


def exec_process(base: dict, *, args: list[str], env: list[str], cwd: str | None, user: User | None,
                 tty: bool, privileged: bool) -> dict:
    """The ``process`` object for ``runc exec``, starting from the container's own process."""
    proc = dict(base)
    proc["args"] = args
    proc["env"] = replace_or_append_env(base.get("env", []), env)
    proc["terminal"] = tty
    if cwd:
        proc["cwd"] = cwd
    if user is not None:
        proc["user"] = {"uid": user.uid, "gid": user.gid,
                        **({"additionalGids": user.additional_gids} if user.additional_gids else {})}
    if privileged:
        allcaps = bounding_caps()
        proc["capabilities"] = {"bounding": allcaps, "effective": allcaps, "permitted": allcaps}
    proc.pop("consoleSize", None)
    return proc
