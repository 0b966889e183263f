"""Resource limits: a container's HostConfig turned into the OCI spec's ``linux.resources``,
``process.rlimits`` and ``linux.sysctl``, and checked the way Docker checks them.

Docker (moby 20.10 ``daemon/daemon_unix.go`` ``verifyPlatformContainerResources`` and
``oci_linux.go`` ``getMemoryResources``/``getCPUResources``/``getBlkio*``) is the model:

- ``check(hc, update=...)`` validates the resource fields of a HostConfig (or of an update
  body) with Docker's messages, fills Docker's defaults (``MemorySwap`` twice ``Memory``,
  ``OomKillDisable`` false, ``PidsLimit`` ≤ 0 meaning unlimited) and discards what this
  kernel cannot do, returning Docker's warnings.
- ``linux_resources(hc)`` is the ``linux.resources`` object (without ``devices``: device rules
  belong to the device code); ``rlimits(hc)`` and ``sysctls(hc, ...)`` are the rest.
- ``host()`` describes what this host offers (CPUs, memory nodes, cgroup files), read once.

runc applies the same spec on cgroup v1 and v2 (it converts the v1-style values), so nothing
here depends on the cgroup version beyond what the kernel supports.
"""

from __future__ import annotations

import functools
import os
import stat
from dataclasses import dataclass

from dockyard import errdefs

MIN_MEMORY = 6 * 1024 * 1024
CFS_PERIOD = 100_000  # µs: the period --cpus uses (100 ms)

# Sysctls that live in a namespace of the container's own (runc's validator).
_IPC_SYSCTLS = {"kernel.msgmax", "kernel.msgmnb", "kernel.msgmni", "kernel.sem", "kernel.shmall", "kernel.shmmax",
                "kernel.shmmni", "kernel.shm_rmid_forced"}

# go-units ulimit names → OCI rlimit types
ULIMIT_NAMES = ("core", "cpu", "data", "fsize", "locks", "memlock", "msgqueue", "nice", "nofile", "nproc",
                "rss", "rtprio", "rttime", "sigpending", "stack")

# blkio HostConfig keys → (OCI blockIO key, Docker's "not supported" warning)
_THROTTLES = (
    ("BlkioDeviceReadBps", "throttleReadBpsDevice", "blkio.throttle.read_bps_device",
     "Your kernel does not support BPS Block I/O read limit or the cgroup is not mounted. "
     "Block I/O BPS read limit discarded."),
    ("BlkioDeviceWriteBps", "throttleWriteBpsDevice", "blkio.throttle.write_bps_device",
     "Your kernel does not support BPS Block I/O write limit or the cgroup is not mounted. "
     "Block I/O BPS write limit discarded."),
    ("BlkioDeviceReadIOps", "throttleReadIOPSDevice", "blkio.throttle.read_iops_device",
     "Your kernel does not support IOPS Block read limit or the cgroup is not mounted. "
     "Block I/O IOPS read limit discarded."),
    ("BlkioDeviceWriteIOps", "throttleWriteIOPSDevice", "blkio.throttle.write_iops_device",
     "Your kernel does not support IOPS Block write limit or the cgroup is not mounted. "
     "Block I/O IOPS write limit discarded."),
)


@dataclass(frozen=True)
class HostInfo:
    """What this host's kernel and cgroups offer (moby's ``sysinfo``)."""

    ncpu: int
    cpus: str                      # online CPUs, as the cpuset root shows them ("0-1")
    mems: str                      # online memory nodes ("0")
    cgroup2: bool
    memory: bool
    swap_limit: bool
    swappiness: bool
    kernel_memory: bool
    oom_kill_disable: bool
    pids: bool
    cpu_shares: bool
    cpu_cfs: bool
    cpu_rt: bool
    cpuset: bool
    blkio_weight: bool
    blkio_weight_device: bool
    blkio_throttle: bool


def _read(path: str) -> str:
    try:
        with open(path) as f:
            return f.read().strip()
    except OSError:
        return ""


@functools.lru_cache(maxsize=1)
def host() -> HostInfo:
    root = "/sys/fs/cgroup"
    ncpu = len(os.sched_getaffinity(0))
    if os.path.exists(os.path.join(root, "cgroup.controllers")):
        ctl = set(_read(os.path.join(root, "cgroup.controllers")).split())
        cpus = _read(os.path.join(root, "cpuset.cpus.effective")) or _read("/sys/devices/system/cpu/online")
        mems = _read(os.path.join(root, "cpuset.mems.effective")) or _read("/sys/devices/system/node/online") or "0"
        io = "io" in ctl
        return HostInfo(ncpu=ncpu, cpus=cpus, mems=mems, cgroup2=True, memory="memory" in ctl,
                        swap_limit="memory" in ctl, swappiness=False, kernel_memory=False,
                        oom_kill_disable=False, pids="pids" in ctl, cpu_shares="cpu" in ctl, cpu_cfs="cpu" in ctl,
                        cpu_rt=False, cpuset="cpuset" in ctl, blkio_weight=io, blkio_weight_device=io,
                        blkio_throttle=io)

    def has(ctl: str, name: str) -> bool:
        return os.path.exists(os.path.join(root, ctl, name))

    cpus = _read(os.path.join(root, "cpuset", "cpuset.effective_cpus")) or \
        _read(os.path.join(root, "cpuset", "cpuset.cpus")) or _read("/sys/devices/system/cpu/online")
    mems = _read(os.path.join(root, "cpuset", "cpuset.effective_mems")) or \
        _read(os.path.join(root, "cpuset", "cpuset.mems")) or "0"
    weight = has("blkio", "blkio.weight") or has("blkio", "blkio.bfq.weight")
    return HostInfo(
        ncpu=ncpu, cpus=cpus, mems=mems, cgroup2=False,
        memory=has("memory", "memory.limit_in_bytes"), swap_limit=has("memory", "memory.memsw.limit_in_bytes"),
        swappiness=has("memory", "memory.swappiness"), kernel_memory=has("memory", "memory.kmem.limit_in_bytes"),
        oom_kill_disable=has("memory", "memory.oom_control"), pids=has("pids", "pids.max") or
        os.path.isdir(os.path.join(root, "pids")),
        cpu_shares=has("cpu", "cpu.shares"), cpu_cfs=has("cpu", "cpu.cfs_quota_us"),
        cpu_rt=has("cpu", "cpu.rt_runtime_us"), cpuset=os.path.isdir(os.path.join(root, "cpuset")),
        blkio_weight=weight, blkio_weight_device=has("blkio", "blkio.weight_device") or
        has("blkio", "blkio.bfq.weight_device"),
        blkio_throttle=has("blkio", "blkio.throttle.read_bps_device"))


# -- cpusets ----------------------------------------------------------------

def _uint(s: str) -> bool:
    return s.isascii() and s.isdigit()


def parse_cpuset(text: str, limit: int | None = None) -> set[int]:
    """``0-2,5`` → {0, 1, 2, 5}; ValueError("invalid format: ...") as moby's ``parsers.ParseUintList``.

    With ``limit``, a range is cut at it (its end, at most ``limit``, stands in for the rest)."""
    out: set[int] = set()
    if text == "":
        return out
    for part in text.split(","):
        lo, sep, hi = part.partition("-")
        if not _uint(lo) or (sep and not _uint(hi)):
            raise ValueError(f"invalid format: {text}")
        if not sep:
            out.add(int(lo))
            continue
        a, b = int(lo), int(hi)
        if b < a:
            raise ValueError(f"invalid range format: {part}")
        if limit is not None and b > limit:
            out.update(range(min(a, limit), limit + 1))
            continue
        out.update(range(a, b + 1))
    return out


def _check_cpuset(value: str, available: str, what: str, label: str) -> None:
    if not value:
        return
    try:
        have = parse_cpuset(available)
    except ValueError:
        have = set()
    try:
        # never expand a range past what the host has (a client may ask for 0-99999999999)
        wanted = parse_cpuset(value, limit=max(have, default=0) + 1)
    except ValueError as e:
        raise errdefs.InvalidArgument(f"Invalid value {value} for cpuset {what}: {e}") from None
    if have and not wanted <= have:
        raise errdefs.InvalidArgument(f"Requested {label} are not available - requested {value}, "
                                      f"available: {available}")


# -- validation -------------------------------------------------------------

def check(hc: dict, *, update: bool = False, info: HostInfo | None = None) -> list[str]:
    """Docker's checks of the resource fields of ``hc``, which is adjusted in place; the warnings.

    Raises ``InvalidArgument`` (400) with Docker's message for values Docker refuses.
    """
    h = info or host()
    w: list[str] = []
    if hc.get("MemorySwappiness") == -1:
        hc["MemorySwappiness"] = None
    mem = hc.get("Memory") or 0
    if mem != 0 and mem < MIN_MEMORY:
        raise errdefs.InvalidArgument("Minimum memory limit allowed is 6MB")
    if mem > 0 and not h.memory:
        w.append("Your kernel does not support memory limit capabilities or the cgroup is not mounted. "
                 "Limitation discarded.")
        hc["Memory"], hc["MemorySwap"], mem = 0, -1, 0
    swap = hc.get("MemorySwap") or 0
    if mem > 0 and swap != -1 and not h.swap_limit:
        w.append("Your kernel does not support swap limit capabilities or the cgroup is not mounted. "
                 "Memory limited without swap.")
        hc["MemorySwap"] = swap = -1
    if mem > 0 and swap > 0 and swap < mem:
        raise errdefs.InvalidArgument("Minimum memoryswap limit should be larger than memory limit, see usage")
    if mem == 0 and swap > 0 and not update:
        raise errdefs.InvalidArgument("You should always set the Memory limit when using Memoryswap limit, see usage")
    swappiness = hc.get("MemorySwappiness")
    if swappiness is not None and not h.swappiness:
        w.append("Your kernel does not support memory swappiness capabilities or the cgroup is not mounted. "
                 "Memory swappiness discarded.")
        hc["MemorySwappiness"] = swappiness = None
    if swappiness is not None and not 0 <= swappiness <= 100:
        raise errdefs.InvalidArgument(f"Invalid value: {swappiness}, valid memory swappiness range is 0-100")
    reservation = hc.get("MemoryReservation") or 0
    if reservation > 0 and reservation < MIN_MEMORY:
        raise errdefs.InvalidArgument("Minimum memory reservation allowed is 6MB")
    if mem > 0 and reservation > 0 and mem < reservation:
        raise errdefs.InvalidArgument("Minimum memory limit can not be less than memory reservation limit, see usage")
    kmem = hc.get("KernelMemory") or 0
    if kmem > 0:
        # deprecated since kernel 5.4 (runc 1.1 ignores it); Docker accepts it with this warning
        w.append("Specifying a kernel memory limit is deprecated and will be removed in a future release.")
        if not h.kernel_memory:
            w.append("Your kernel does not support kernel memory limit capabilities or the cgroup is not mounted. "
                     "Limitation discarded.")
            hc["KernelMemory"] = kmem = 0
    if kmem > 0 and kmem < MIN_MEMORY:
        raise errdefs.InvalidArgument("Minimum kernel memory limit allowed is 6MB")
    if hc.get("OomKillDisable") and not h.oom_kill_disable:
        w.append("Your kernel does not support OomKillDisable. OomKillDisable discarded.")
        hc["OomKillDisable"] = False
    if hc.get("OomKillDisable") and mem == 0:
        w.append("OOM killer is disabled for the container, but no memory limit is set, this can result in "
                 "the system running out of resources.")
    pids = hc.get("PidsLimit")
    if pids is not None and pids <= 0 and not update:
        hc["PidsLimit"] = None  # 0 and -1 are "unlimited", shown as null
    if (hc.get("PidsLimit") or 0) > 0 and not h.pids:
        w.append("Your kernel does not support PIDs limit capabilities or the cgroup is not mounted. "
                 "PIDs limit discarded.")
        hc["PidsLimit"] = None

    nano = hc.get("NanoCpus") or 0
    if nano > 0 and (hc.get("CpuPeriod") or 0) > 0:
        raise errdefs.InvalidArgument("Conflicting options: Nano CPUs and CPU Period cannot both be set")
    if nano > 0 and (hc.get("CpuQuota") or 0) > 0:
        raise errdefs.InvalidArgument("Conflicting options: Nano CPUs and CPU Quota cannot both be set")
    if nano > 0 and not h.cpu_cfs:
        raise errdefs.InvalidArgument("NanoCPUs can not be set, as your kernel does not support CPU CFS scheduler "
                                      "or the cgroup is not mounted")
    if nano < 0 or nano > h.ncpu * 10 ** 9:
        raise errdefs.InvalidArgument(f"Range of CPUs is from 0.01 to {h.ncpu}.00, as there are only {h.ncpu} "
                                      "CPUs available")
    if (hc.get("CpuShares") or 0) > 0 and not h.cpu_shares:
        w.append("Your kernel does not support CPU shares or the cgroup is not mounted. Shares discarded.")
        hc["CpuShares"] = 0
    if ((hc.get("CpuPeriod") or 0) or (hc.get("CpuQuota") or 0)) and not h.cpu_cfs:
        w.append("Your kernel does not support CPU CFS scheduler. CPU period/quota discarded.")
        hc["CpuPeriod"] = hc["CpuQuota"] = 0
    period = hc.get("CpuPeriod") or 0
    if period != 0 and not 1000 <= period <= 1_000_000:
        raise errdefs.InvalidArgument("CPU cfs period can not be less than 1ms (i.e. 1000) or larger than 1s "
                                      "(i.e. 1000000)")
    quota = hc.get("CpuQuota") or 0
    if 0 < quota < 1000:
        raise errdefs.InvalidArgument("CPU cfs quota can not be less than 1ms (i.e. 1000)")
    if (hc.get("CpuPercent") or 0) > 0:
        w.append("linux does not support CPU percent. Percent discarded.")
        hc["CpuPercent"] = 0
    rt_period, rt_runtime = hc.get("CpuRealtimePeriod") or 0, hc.get("CpuRealtimeRuntime") or 0
    if (rt_period > 0 or rt_runtime > 0) and not h.cpu_rt:
        raise errdefs.InvalidArgument("Your kernel does not support CPU real-time scheduler")
    if rt_period and rt_runtime and rt_period < rt_runtime:
        raise errdefs.InvalidArgument("cpu real-time runtime cannot be higher than cpu real-time period")

    if (hc.get("CpusetCpus") or hc.get("CpusetMems")) and not h.cpuset:
        w.append("Your kernel does not support cpuset or the cgroup is not mounted. Cpuset discarded.")
        hc["CpusetCpus"] = hc["CpusetMems"] = ""
    _check_cpuset(hc.get("CpusetCpus") or "", h.cpus, "cpus", "CPUs")
    _check_cpuset(hc.get("CpusetMems") or "", h.mems, "mems", "memory nodes")

    weight = hc.get("BlkioWeight") or 0
    if weight > 0 and not h.blkio_weight:
        w.append("Your kernel does not support Block I/O weight or the cgroup is not mounted. Weight discarded.")
        hc["BlkioWeight"] = weight = 0
    if weight > 0 and not 10 <= weight <= 1000:
        raise errdefs.InvalidArgument("Range of blkio weight is from 10 to 1000")
    if hc.get("IOMaximumBandwidth"):
        raise errdefs.InvalidArgument("Invalid QoS settings: linux does not support configuration of maximum bandwidth")
    if hc.get("IOMaximumIOps"):
        raise errdefs.InvalidArgument("Invalid QoS settings: linux does not support configuration of maximum IOPs")
    if hc.get("BlkioWeightDevice") and not h.blkio_weight_device:
        w.append("Your kernel does not support Block I/O weight_device or the cgroup is not mounted. "
                 "Weight-device discarded.")
        hc["BlkioWeightDevice"] = []
    for key, _oci, _file, warning in _THROTTLES:
        if hc.get(key) and not h.blkio_throttle:
            w.append(warning)
            hc[key] = []
        for dev in hc.get(key) or []:
            block_device(dev.get("Path") or "")
    for dev in hc.get("BlkioWeightDevice") or []:
        block_device(dev.get("Path") or "")

    if update:
        return w
    # create only: host-config level checks (verifyPlatformContainerSettings)
    if hc.get("OomKillDisable") is None:
        hc["OomKillDisable"] = False
    if mem > 0 and (hc.get("MemorySwap") or 0) == 0 and h.swap_limit:
        hc["MemorySwap"] = mem * 2  # Docker's default: as much swap as memory
    adj = hc.get("OomScoreAdj") or 0
    if not -1000 <= adj <= 1000:
        raise errdefs.InvalidArgument(f"Invalid value {adj}, range for oom score adj is [-1000, 1000]")
    check_sysctls(hc.get("Sysctls") or {}, network_mode=hc.get("NetworkMode") or "default",
                  ipc_mode=hc.get("IpcMode") or "private", uts_mode=hc.get("UTSMode") or "")
    for u in hc.get("Ulimits") or []:
        name = u.get("Name") or ""
        if name not in ULIMIT_NAMES:
            raise errdefs.InvalidArgument(f"invalid ulimit type: {name}")
        if (u.get("Soft") or 0) > (u.get("Hard") or 0):
            raise errdefs.InvalidArgument(f"ulimit soft limit must be less than or equal to hard limit: "
                                          f"{u.get('Soft')} > {u.get('Hard')}")
    return w


def block_device(path: str) -> tuple[int, int]:
    """(major, minor) of a block device; 400 with the stat error or when it is no block device."""
    try:
        st = os.stat(path)
    except ValueError:  # an embedded NUL
        raise errdefs.InvalidArgument(f"stat {path!r}: invalid argument") from None
    except OSError as e:
        raise errdefs.InvalidArgument(f"stat {path}: {(e.strerror or str(e)).lower()}") from None
    if not stat.S_ISBLK(st.st_mode):
        raise errdefs.InvalidArgument(f"{path} is not a block device")
    return os.major(st.st_rdev), os.minor(st.st_rdev)


def check_sysctls(sysctls: dict, *, network_mode: str, ipc_mode: str, uts_mode: str) -> None:
    """Only sysctls of the container's own namespaces (runc's rules, refused at create with runc's words)."""
    for key in sysctls:
        if key in _IPC_SYSCTLS or key.startswith("fs.mqueue."):
            if ipc_mode == "host":
                raise errdefs.InvalidArgument(f'sysctl "{key}" not allowed in host ipc namespace')
            continue
        if key.startswith("net."):
            if network_mode == "host":
                raise errdefs.InvalidArgument(f'sysctl "{key}" not allowed in host network namespace')
            continue
        if uts_mode != "host" and key == "kernel.domainname":
            continue
        if uts_mode != "host" and key == "kernel.hostname":
            raise errdefs.InvalidArgument('sysctl "kernel.hostname" is not allowed; it should be set using '
                                          'uts namespace')
        raise errdefs.InvalidArgument(f'sysctl "{key}" is not in a separate kernel namespace')


# -- HostConfig → OCI ---------------------------------------------------------

def _throttle(devs: list[dict] | None) -> list[dict]:
    out = []
    for d in devs or []:
        major, minor = block_device(d.get("Path") or "")
        out.append({"major": major, "minor": minor, "rate": int(d.get("Rate") or 0)})
    return out


def linux_resources(hc: dict, *, update: bool = False) -> dict:
    """``linux.resources`` (memory, cpu, pids, blockIO) for ``hc``; devices are left to the device code.

    With ``update`` the result is the body of ``runc update --resources``: only what is set, and
    ``-1`` to lift a pids limit."""
    memory: dict = {}
    if (hc.get("Memory") or 0) > 0:
        memory["limit"] = hc["Memory"]
    if (hc.get("MemoryReservation") or 0) > 0:
        memory["reservation"] = hc["MemoryReservation"]
    if hc.get("MemorySwap"):
        memory["swap"] = hc["MemorySwap"]
    if hc.get("MemorySwappiness") is not None and hc["MemorySwappiness"] >= 0:
        memory["swappiness"] = hc["MemorySwappiness"]
    if hc.get("OomKillDisable") is not None and not update:
        memory["disableOOMKiller"] = bool(hc["OomKillDisable"])
    if hc.get("KernelMemory") and not update:
        memory["kernel"] = hc["KernelMemory"]

    cpu: dict = {}
    if (hc.get("CpuShares") or 0) > 0:
        cpu["shares"] = hc["CpuShares"]
    if (hc.get("NanoCpus") or 0) > 0:
        cpu["period"] = CFS_PERIOD
        cpu["quota"] = hc["NanoCpus"] * CFS_PERIOD // 10 ** 9
    if hc.get("CpuPeriod"):
        cpu["period"] = hc["CpuPeriod"]
    if hc.get("CpuQuota"):
        cpu["quota"] = hc["CpuQuota"]
    if hc.get("CpuRealtimePeriod"):
        cpu["realtimePeriod"] = hc["CpuRealtimePeriod"]
    if hc.get("CpuRealtimeRuntime"):
        cpu["realtimeRuntime"] = hc["CpuRealtimeRuntime"]
    if hc.get("CpusetCpus"):
        cpu["cpus"] = hc["CpusetCpus"]
    if hc.get("CpusetMems"):
        cpu["mems"] = hc["CpusetMems"]

    out: dict = {}
    if memory:
        out["memory"] = memory
    if cpu:
        out["cpu"] = cpu
    pids = hc.get("PidsLimit")
    if pids is not None and pids > 0:
        out["pids"] = {"limit": pids}
    elif pids is not None and update:
        out["pids"] = {"limit": -1}

    blkio: dict = {}
    if (hc.get("BlkioWeight") or 0) > 0:
        blkio["weight"] = hc["BlkioWeight"]
    if update:  # runc update changes the weight only
        if blkio:
            out["blockIO"] = blkio
        return out
    weights = []
    for d in hc.get("BlkioWeightDevice") or []:
        major, minor = block_device(d.get("Path") or "")
        weights.append({"major": major, "minor": minor, "weight": int(d.get("Weight") or 0)})
    if weights:
        blkio["weightDevice"] = weights
    for key, oci, _file, _warning in _THROTTLES:
        devs = _throttle(hc.get(key))
        if devs:
            blkio[oci] = devs
    if blkio:
        out["blockIO"] = blkio
    return out


def rlimits(hc: dict) -> list[dict]:
    """``process.rlimits`` from ``Ulimits`` (none by default: the process inherits the daemon's limits)."""
    return [{"type": "RLIMIT_" + u["Name"].upper(), "hard": int(u.get("Hard") or 0), "soft": int(u.get("Soft") or 0)}
            for u in hc.get("Ulimits") or []]


def apply(spec: dict, hc: dict) -> None:
    """Add ``hc``'s resources, rlimits and sysctls to a spec made by ``build_spec``."""
    res = linux_resources(hc)
    if res:
        spec["linux"]["resources"].update(res)
    rl = rlimits(hc)
    if rl:
        spec["process"]["rlimits"] = rl
    if hc.get("Sysctls"):
        spec["linux"]["sysctl"].update(hc["Sysctls"])


def oom_kills(cgroups_path: str) -> int:
    """OOM kills the kernel counted in a container's memory cgroup (cgroup v1 ``memory.oom_control``,
    v2 ``memory.events``), 0 when the cgroup is gone. Read at exit, before ``runc delete``, beside
    conmon's own OOM record (which can lose the race with the exit on cgroup v1)."""
    for path in (f"/sys/fs/cgroup/memory{cgroups_path}/memory.oom_control",
                 f"/sys/fs/cgroup{cgroups_path}/memory.events"):
        text = _read(path)
        for line in text.splitlines():
            key, _, value = line.partition(" ")
            if key == "oom_kill":
                return int(value or 0)
    return 0
