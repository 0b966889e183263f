"""Privilege settings of a container, applied to its OCI spec as Docker applies them.

Capabilities (``CapAdd``/``CapDrop``/``ALL``/``Privileged``, moby ``oci/caps``), devices
(``Devices``, ``DeviceCgroupRules``, all host devices when privileged, moby ``oci/devices_linux.go``),
``SecurityOpt`` (seccomp, no-new-privileges, apparmor, label; moby ``daemon/create.go``
``parseSecurityOpt``) and what ``--privileged`` lifts (masked paths, read-only /sys).

Validation happens at create (400 with Docker's messages); the host lookups (device nodes) at
start, as Docker does them, with Docker's start errors.
"""

from __future__ import annotations

import functools
import logging
import os
import re
import stat
from dataclasses import dataclass, field

from dockyard import errdefs
from dockyard.runtime import seccomp
from dockyard.runtime.caps import CAP_NAMES, bounding_caps

log = logging.getLogger(__name__)

DEFAULT_CAPS = [
    "CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_FSETID", "CAP_FOWNER", "CAP_MKNOD", "CAP_NET_RAW",
    "CAP_SETGID", "CAP_SETUID", "CAP_SETFCAP", "CAP_SETPCAP", "CAP_NET_BIND_SERVICE",
    "CAP_SYS_CHROOT", "CAP_KILL", "CAP_AUDIT_WRITE",
]

_CGROUP_RULE_RE = re.compile(r"^([acb]) ([0-9]+|\*):([0-9]+|\*) ([rwm]{1,3})$")

# runc's HostDevices walk skips these directories of /dev (and /dev/console).
_SKIP_DEV_DIRS = {"pts", "shm", "fd", "mqueue", ".lxc", ".lxd-mounts", ".udev"}


@functools.cache
def known_caps() -> tuple[str, ...]:
    """Every capability the running kernel knows (Docker's ``GetAllCapabilities``)."""
    try:
        with open("/proc/sys/kernel/cap_last_cap") as f:
            last = int(f.read())
    except (OSError, ValueError):
        last = len(CAP_NAMES) - 1
    return tuple(CAP_NAMES[: last + 1])


@functools.cache
def _grantable() -> tuple[str, ...]:
    return tuple(bounding_caps())


def normalize_caps(caps: list[str] | None, field_name: str) -> list[str]:
    """``sys_admin``, ``CAP_SYS_ADMIN``, ``ALL`` → canonical names; 400 for an unknown one."""
    out = []
    valid = known_caps()
    for c in caps or []:
        c = c.upper()
        if c == "ALL":
            out.append(c)
            continue
        if not c.startswith("CAP_"):
            c = "CAP_" + c
        if c not in valid:
            raise errdefs.InvalidArgument(f'invalid {field_name}: unknown capability: "{c}"')
        out.append(c)
    return out


def effective_caps(cap_add: list[str] | None, cap_drop: list[str] | None, privileged: bool) -> list[str]:
    """Docker's ``TweakCapabilities``, limited to what this daemon can grant (its bounding set)."""
    grantable = _grantable()
    if privileged:
        wanted = list(known_caps())
    else:
        adds = normalize_caps(cap_add, "CapAdd")
        drops = normalize_caps(cap_drop, "CapDrop")
        if not adds and not drops:
            return list(DEFAULT_CAPS)
        if "ALL" in adds:
            wanted = [c for c in known_caps() if c not in drops]
        elif "ALL" in drops:
            wanted = [c for c in adds if c != "ALL"]
        else:
            wanted = [c for c in DEFAULT_CAPS if c not in drops]
            wanted += [c for c in adds if c not in wanted]
    caps = [c for c in wanted if c in grantable]
    if len(caps) != len(wanted):
        log.debug("capabilities not in the daemon's bounding set, not granted: %s",
                  ", ".join(c for c in wanted if c not in grantable))
    return caps


@dataclass
class SecurityOptions:
    """``HostConfig.SecurityOpt`` parsed."""

    seccomp: str = ""            # "" default profile, "unconfined", or a profile document (JSON)
    no_new_privileges: bool = False
    apparmor: str = ""
    labels: list[str] = field(default_factory=list)
    unconfined_paths: bool = False   # systempaths=unconfined


_TRUE = {"1", "t", "T", "TRUE", "true", "True"}
_FALSE = {"0", "f", "F", "FALSE", "false", "False"}


def parse_security_opts(opts: list[str] | None) -> SecurityOptions:
    """Docker's ``parseSecurityOpt``; 400 for what it refuses."""
    out = SecurityOptions()
    for opt in opts or []:
        if opt == "no-new-privileges":
            out.no_new_privileges = True
            continue
        if opt == "disable":
            out.labels.append("disable")
            continue
        if "=" in opt:
            key, value = opt.split("=", 1)
        elif ":" in opt:
            key, value = opt.split(":", 1)
        else:
            raise errdefs.InvalidArgument(f'invalid --security-opt 1: "{opt}"')
        if key == "label":
            out.labels.append(value)
        elif key == "apparmor":
            out.apparmor = value
        elif key == "seccomp":
            out.seccomp = "" if value == "builtin" else value
        elif key == "no-new-privileges":
            if value in _TRUE:
                out.no_new_privileges = True
            elif value in _FALSE:
                out.no_new_privileges = False
            else:
                raise errdefs.InvalidArgument(f'invalid --security-opt 2: "{opt}"')
        elif key == "systempaths" and value == "unconfined":
            out.unconfined_paths = True
        else:
            raise errdefs.InvalidArgument(f'invalid --security-opt 2: "{opt}"')
    return out


def parse_cgroup_rule(rule: str) -> dict:
    """``c 1:3 rwm`` → an OCI device cgroup rule."""
    m = _CGROUP_RULE_RE.match(rule)
    if m is None:
        raise errdefs.InvalidArgument(f"invalid device cgroup rule format: '{rule}'")
    out: dict = {"allow": True, "type": m.group(1), "access": m.group(4)}
    if m.group(2) != "*":
        out["major"] = int(m.group(2))
    if m.group(3) != "*":
        out["minor"] = int(m.group(3))
    return out


def validate(hc: dict) -> None:
    """What ``create`` refuses in the privilege settings of a HostConfig (400s)."""
    normalize_caps(hc.get("CapAdd"), "CapAdd")
    normalize_caps(hc.get("CapDrop"), "CapDrop")
    sec = parse_security_opts(hc.get("SecurityOpt"))
    if sec.seccomp and sec.seccomp != "unconfined" and not hc.get("Privileged"):
        seccomp.load_profile(sec.seccomp, DEFAULT_CAPS)
    for rule in hc.get("DeviceCgroupRules") or []:
        parse_cgroup_rule(rule)
    for d in hc.get("Devices") or []:
        perms = d.get("CgroupPermissions") or "rwm"
        if not d.get("PathOnHost") or any(ch not in "rwm" for ch in perms):
            raise errdefs.InvalidArgument(f"invalid device specification: {d.get('PathOnHost', '')}")


def _device_of(path: str, perms: str) -> tuple[dict, dict] | None:
    st = os.stat(path)  # follows symlinks, as DevicesFromPath does after EvalSymlinks
    if stat.S_ISCHR(st.st_mode):
        kind = "c"
    elif stat.S_ISBLK(st.st_mode):
        kind = "b"
    else:
        return None
    major, minor = os.major(st.st_rdev), os.minor(st.st_rdev)
    dev = {"path": path, "type": kind, "major": major, "minor": minor,
           "fileMode": stat.S_IMODE(st.st_mode), "uid": st.st_uid, "gid": st.st_gid}
    return dev, {"allow": True, "type": kind, "major": major, "minor": minor, "access": perms}


def devices_from_path(on_host: str, in_container: str, perms: str) -> tuple[list[dict], list[dict]]:
    """Docker's ``DevicesFromPath``: one device node, or every node under a directory of them."""
    perms = perms or "rwm"
    try:
        found = _device_of(on_host, perms)
    except OSError as e:
        raise _spec_error(f'error gathering device information while adding custom device "{on_host}": '
                          f"{_go_strerror(e)}") from None
    if found is not None:
        dev, rule = found
        dev["path"] = in_container or on_host
        return [dev], [rule]
    devs: list[dict] = []
    rules: list[dict] = []
    resolved = os.path.realpath(on_host)
    if os.path.isdir(resolved):
        for dirpath, dirnames, filenames in os.walk(resolved):
            dirnames.sort()
            for name in sorted(filenames):
                p = os.path.join(dirpath, name)
                try:
                    child = _device_of(p, perms)
                except OSError:
                    continue
                if child is None:
                    continue
                dev, rule = child
                dev["path"] = p.replace(resolved, in_container or on_host, 1)
                devs.append(dev)
                rules.append(rule)
    if devs:
        return devs, rules
    raise _spec_error(f'error gathering device information while adding custom device "{on_host}": '
                      "not a device node")


def host_devices() -> list[dict]:
    """Every device node of the host's /dev, for a privileged container (runc's ``HostDevices``)."""
    out = []
    for dirpath, dirnames, filenames in os.walk("/dev"):
        if dirpath == "/dev":
            dirnames[:] = [d for d in dirnames if d not in _SKIP_DEV_DIRS]
        dirnames.sort()
        for name in sorted(filenames):
            p = os.path.join(dirpath, name)
            if p == "/dev/console":
                continue
            try:
                st = os.lstat(p)
            except OSError:
                continue
            if stat.S_ISCHR(st.st_mode):
                kind = "c"
            elif stat.S_ISBLK(st.st_mode):
                kind = "b"
            else:
                continue
            out.append({"path": p, "type": kind, "major": os.major(st.st_rdev), "minor": os.minor(st.st_rdev),
                        "fileMode": stat.S_IMODE(st.st_mode), "uid": st.st_uid, "gid": st.st_gid})
    return out


@dataclass
class Privileges:
    """The privilege part of a container's HostConfig, as the spec builder needs it."""

    privileged: bool = False
    cap_add: list[str] = field(default_factory=list)
    cap_drop: list[str] = field(default_factory=list)
    security_opt: list[str] = field(default_factory=list)
    devices: list[dict] = field(default_factory=list)          # HostConfig.Devices
    device_cgroup_rules: list[str] = field(default_factory=list)

    @classmethod
    def from_host_config(cls, hc: dict) -> "Privileges":
        return cls(privileged=bool(hc.get("Privileged")), cap_add=list(hc.get("CapAdd") or []),
                   cap_drop=list(hc.get("CapDrop") or []), security_opt=list(hc.get("SecurityOpt") or []),
                   devices=list(hc.get("Devices") or []),
                   device_cgroup_rules=list(hc.get("DeviceCgroupRules") or []))


def apply(spec: dict, priv: Privileges) -> None:
    """Set capabilities, devices, seccomp and no-new-privileges in a spec built with Docker's defaults."""
    sec = parse_security_opts(priv.security_opt)
    proc = spec["process"]
    linux = spec["linux"]
    caps = effective_caps(priv.cap_add, priv.cap_drop, priv.privileged)
    proc["capabilities"] = {"bounding": caps, "effective": caps, "permitted": caps}
    if sec.no_new_privileges:
        proc["noNewPrivileges"] = True
    resources = linux.setdefault("resources", {})
    if priv.privileged:
        linux["devices"] = host_devices()
        resources["devices"] = [{"allow": True, "access": "rwm"}]
        linux["maskedPaths"], linux["readonlyPaths"] = [], []
        for m in spec["mounts"]:
            if m["destination"] in ("/sys", "/sys/fs/cgroup"):
                m["options"] = [o for o in m["options"] if o != "ro"] + ["rw"]
    else:
        devices: list[dict] = []
        rules = list(resources.get("devices") or [])
        for d in priv.devices:
            devs, perms = devices_from_path(d.get("PathOnHost") or "", d.get("PathInContainer") or "",
                                            d.get("CgroupPermissions") or "rwm")
            devices += devs
            rules += perms
        for rule in priv.device_cgroup_rules:
            rules.append(parse_cgroup_rule(rule))
        if devices:
            linux["devices"] = devices
        resources["devices"] = rules
        if sec.seccomp != "unconfined":
            profile = (seccomp.load_profile(sec.seccomp, caps) if sec.seccomp
                       else seccomp.default_profile(caps))
            if profile is not None:
                linux["seccomp"] = profile
    if sec.unconfined_paths:
        linux["maskedPaths"], linux["readonlyPaths"] = [], []


def _go_strerror(e: OSError) -> str:
    """An errno as Go prints it (``no such file or directory``), as Docker's messages show it."""
    text = os.strerror(e.errno) if e.errno else str(e)
    return text[:1].lower() + text[1:]


def _spec_error(msg: str) -> errdefs.System:
    """A start failure of the spec itself (500, exit code 128), not of the container's command."""
    err = errdefs.System(msg)
    err.spec_error = True  # type: ignore[attr-defined]
    return err
