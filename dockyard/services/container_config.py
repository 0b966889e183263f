"""What ``create`` does to the Config and HostConfig it is given, before anything runs.

Docker fills defaults, merges the image's config into the container's (Env,
Cmd/Entrypoint, Labels, WorkingDir, User, ExposedPorts, Volumes...), and
rejects impossible combinations with 400s. Both documents are then stored as
they will be shown by ``inspect``.
"""

from __future__ import annotations

import copy
import re
import signal as _signal

from dockyard import errdefs
from dockyard.oci import image as oimage
from dockyard.runtime import resources

NAME_RE = re.compile(r"^/?[a-zA-Z0-9][a-zA-Z0-9_.-]+$")

DEFAULT_SHM_SIZE = 64 * 1024 * 1024

# Docker's HostConfig with every field at the value it reports when not set, in Docker's order.
_HOST_CONFIG_DEFAULTS: dict = {
    "Binds": None, "ContainerIDFile": "", "LogConfig": {"Type": "json-file", "Config": {}},
    "NetworkMode": "default", "PortBindings": {}, "RestartPolicy": {"Name": "no", "MaximumRetryCount": 0},
    "AutoRemove": False, "VolumeDriver": "", "VolumesFrom": None, "ConsoleSize": [0, 0],
    "Annotations": None, "CapAdd": None, "CapDrop": None, "CgroupnsMode": "host", "Dns": [],
    "DnsOptions": [], "DnsSearch": [], "ExtraHosts": None, "GroupAdd": None, "IpcMode": "private",
    "Cgroup": "", "Links": None, "OomScoreAdj": 0, "PidMode": "", "Privileged": False,
    "PublishAllPorts": False, "ReadonlyRootfs": False, "SecurityOpt": None, "UTSMode": "",
    "UsernsMode": "", "ShmSize": DEFAULT_SHM_SIZE, "Runtime": "runc", "Isolation": "", "CpuShares": 0,
    "Memory": 0, "NanoCpus": 0, "CgroupParent": "", "BlkioWeight": 0, "BlkioWeightDevice": [],
    "BlkioDeviceReadBps": None, "BlkioDeviceWriteBps": None, "BlkioDeviceReadIOps": None,
    "BlkioDeviceWriteIOps": None, "CpuPeriod": 0, "CpuQuota": 0, "CpuRealtimePeriod": 0,
    "CpuRealtimeRuntime": 0, "CpusetCpus": "", "CpusetMems": "", "Devices": [], "DeviceCgroupRules": None,
    "DeviceRequests": None, "MemoryReservation": 0, "MemorySwap": 0, "MemorySwappiness": None,
    "OomKillDisable": None, "PidsLimit": None, "Ulimits": None, "CpuCount": 0, "CpuPercent": 0,
    "IOMaximumIOps": 0, "IOMaximumBandwidth": 0, "MaskedPaths": None, "ReadonlyPaths": None,
}

# Config fields Docker omits from JSON when empty (``omitempty`` in its Go struct).
_CONFIG_OMITEMPTY = ("ExposedPorts", "Healthcheck", "ArgsEscaped", "NetworkDisabled", "MacAddress",
                     "StopSignal", "StopTimeout", "Shell")

RESTART_POLICIES = {"", "no", "always", "unless-stopped", "on-failure"}


def validate_name(name: str) -> str:
    """The stored form of a user-given name (no leading slash)."""
    if not NAME_RE.match(name):
        raise errdefs.InvalidArgument(
            f"Invalid container name ({name}), only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed")
    return name.lstrip("/")


def normalize_host_config(hc: dict | None, *, masked: list[str], readonly: list[str],
                          runtime: str, warnings: list[str] | None = None) -> dict:
    out = copy.deepcopy(_HOST_CONFIG_DEFAULTS)
    for k, v in (hc or {}).items():
        out[k] = v
    if not out.get("LogConfig") or not out["LogConfig"].get("Type"):
        cfg = (out.get("LogConfig") or {}).get("Config") or {}
        out["LogConfig"] = {"Type": "json-file", "Config": cfg}
    if out["LogConfig"].get("Config") is None:
        out["LogConfig"]["Config"] = {}
    rp = out.get("RestartPolicy") or {}
    out["RestartPolicy"] = {"Name": rp.get("Name") or "no", "MaximumRetryCount": rp.get("MaximumRetryCount") or 0}
    for key, default in (("NetworkMode", "default"), ("IpcMode", "private"), ("CgroupnsMode", "host"),
                         ("Runtime", runtime)):
        if not out.get(key):
            out[key] = default
    if not out.get("ShmSize"):
        out["ShmSize"] = DEFAULT_SHM_SIZE
    if out.get("PortBindings") is None:
        out["PortBindings"] = {}
    for key in ("Dns", "DnsOptions", "DnsSearch", "BlkioWeightDevice", "Devices"):
        if out.get(key) is None:
            out[key] = []
    if out.get("ConsoleSize") is None:
        out["ConsoleSize"] = [0, 0]
    if out.get("Privileged"):
        out["MaskedPaths"], out["ReadonlyPaths"] = None, None
    elif "systempaths=unconfined" in (out.get("SecurityOpt") or []):
        out["MaskedPaths"], out["ReadonlyPaths"] = [], []   # what the docker CLI sends for it
    else:
        if out.get("MaskedPaths") is None:
            out["MaskedPaths"] = list(masked)
        if out.get("ReadonlyPaths") is None:
            out["ReadonlyPaths"] = list(readonly)
    validate_host_config(out, warnings)
    return out


def validate_host_config(hc: dict, warnings: list[str] | None = None) -> None:
    rp = hc["RestartPolicy"]
    if rp["Name"] not in RESTART_POLICIES:
        raise errdefs.InvalidArgument(f"invalid restart policy: unknown policy '{rp['Name']}'; use one of "
                                      "'no', 'always', 'on-failure', or 'unless-stopped'")
    if rp["MaximumRetryCount"] < 0:
        raise errdefs.InvalidArgument("invalid restart policy: maximum retry count cannot be negative")
    if rp["Name"] != "on-failure" and rp["MaximumRetryCount"]:
        raise errdefs.InvalidArgument(f"invalid restart policy: maximum retry count can only be used "
                                      f"with 'on-failure'")
    if hc.get("AutoRemove") and rp["Name"] not in ("", "no"):
        raise errdefs.InvalidArgument("can't create 'AutoRemove' container with restart policy")
    if (hc.get("ShmSize") or 0) < 0:
        raise errdefs.InvalidArgument("SHM size can not be less than 0")
    if (hc.get("CpuShares") or 0) < 0:
        raise errdefs.InvalidArgument("shares: invalid argument")
    # resource limits: Docker's checks, defaults and warnings (runtime/resources.py)
    found = resources.check(hc)
    if warnings is not None:
        warnings.extend(found)


def parse_signal(value: str | int | None, default: int = _signal.SIGTERM) -> int:
    """``9``, ``KILL``, ``SIGKILL``, ``sigkill`` → 9; 400 for anything else."""
    if value is None or value == "":
        return default
    if isinstance(value, int) or (isinstance(value, str) and value.isdigit()):
        n = int(value)
        if 0 < n < 65:
            return n
        raise errdefs.InvalidArgument(f"Invalid signal: {value}")
    name = str(value).upper()
    if not name.startswith("SIG"):
        name = "SIG" + name
    if name.startswith("SIGRTMIN") or name.startswith("SIGRTMAX"):
        base = _signal.SIGRTMIN if name.startswith("SIGRTMIN") else _signal.SIGRTMAX
        rest = name[8:]
        try:
            return int(base) + (int(rest) if rest else 0)
        except ValueError:
            pass
    sig = getattr(_signal.Signals, name, None) if name in _signal.Signals.__members__ else None
    if sig is None:
        raise errdefs.InvalidArgument(f"Invalid signal: {value}")
    return int(sig)


def merge_image_config(user: dict, image: dict) -> dict:
    """Docker's ``merge(userConf, imageConf)``: the image fills what the user left out."""
    out = oimage.empty_container_config()
    out.update({k: v for k, v in user.items()})
    if not out.get("User"):
        out["User"] = image.get("User") or ""
    if image.get("ExposedPorts"):
        ports = dict(image["ExposedPorts"])
        ports.update(out.get("ExposedPorts") or {})
        out["ExposedPorts"] = ports
    env = list(out.get("Env") or [])
    if not env:
        env = list(image.get("Env") or [])
    else:
        keys = {e.split("=", 1)[0] for e in env}
        env += [e for e in image.get("Env") or [] if e.split("=", 1)[0] not in keys]
    out["Env"] = env or None
    if image.get("Labels"):
        labels = dict(image["Labels"])
        labels.update(out.get("Labels") or {})
        out["Labels"] = labels
    entrypoint = out.get("Entrypoint")
    reset_entrypoint = entrypoint == [""]
    if not entrypoint:
        if not out.get("Cmd"):
            out["Cmd"] = image.get("Cmd")
            if image.get("ArgsEscaped"):
                out["ArgsEscaped"] = image["ArgsEscaped"]
        if entrypoint is None:
            out["Entrypoint"] = image.get("Entrypoint")
    if reset_entrypoint:
        out["Entrypoint"] = None
    hc = image.get("Healthcheck")
    if hc:
        mine = out.get("Healthcheck") or {}
        merged = dict(hc)
        merged.update({k: v for k, v in mine.items() if v})
        if mine.get("Test"):
            merged["Test"] = mine["Test"]
        out["Healthcheck"] = merged
    if out.get("Healthcheck"):
        out["Healthcheck"] = {k: v for k, v in out["Healthcheck"].items() if v}  # Go's omitempty, as Docker shows it
    if not out.get("WorkingDir"):
        out["WorkingDir"] = image.get("WorkingDir") or ""
    if image.get("Volumes"):
        vols = dict(image["Volumes"])
        vols.update(out.get("Volumes") or {})
        out["Volumes"] = vols
    if not out.get("StopSignal") and image.get("StopSignal"):
        out["StopSignal"] = image["StopSignal"]
    if out.get("OnBuild") is None and image.get("OnBuild"):
        out["OnBuild"] = None
    if not out.get("Shell") and image.get("Shell"):
        out["Shell"] = image["Shell"]
    for key in _CONFIG_OMITEMPTY:
        if key in out and not out[key]:
            del out[key]
    return out


def command_of(config: dict) -> tuple[str, list[str]]:
    """(Path, Args) as Docker derives them from Entrypoint and Cmd."""
    entrypoint = list(config.get("Entrypoint") or [])
    cmd = list(config.get("Cmd") or [])
    if entrypoint:
        return entrypoint[0], entrypoint[1:] + cmd
    if not cmd:
        raise errdefs.InvalidArgument("No command specified")
    return cmd[0], cmd[1:]
