"""A container's cgroup counters, read straight from cgroupfs (v1, v2, or hybrid where runc uses v1).

``locate`` finds the directories of a container's cgroup: from ``/proc/<pid>/cgroup`` when the
container runs (exact, whatever the cgroup parent was), else from the ``cgroupsPath`` given to
runc (``/dockyard/<id>``, or ``<CgroupParent>/<id>``) under each controller's mount. ``read``
takes one sample of the counters Docker's stats show (cpu, memory, blkio, pids) into a
``CgroupSample``. Reads are plain file reads, no subprocess: a sample of one container is a
dozen small reads, cheap enough to take for a hundred containers at once.

Units follow Docker's: CPU times in nanoseconds, memory and I/O in bytes.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field

CGROUP_ROOT = "/sys/fs/cgroup"
# kernel clock ticks per second, for cpuacct.stat and /proc/stat
CLK_TCK = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100
NS_PER_TICK = 1_000_000_000 // CLK_TCK

# memory.stat keys Docker reports on cgroup v1 (containerd's v1 metrics), each always present
V1_MEMORY_KEYS = (
    "active_anon", "active_file", "cache", "dirty", "hierarchical_memory_limit", "hierarchical_memsw_limit",
    "inactive_anon", "inactive_file", "mapped_file", "pgfault", "pgmajfault", "pgpgin", "pgpgout", "rss",
    "rss_huge", "total_active_anon", "total_active_file", "total_cache", "total_dirty", "total_inactive_anon",
    "total_inactive_file", "total_mapped_file", "total_pgfault", "total_pgmajfault", "total_pgpgin",
    "total_pgpgout", "total_rss", "total_rss_huge", "total_unevictable", "total_writeback", "unevictable",
    "writeback",
)

_V1_CONTROLLERS = ("cpu", "cpuacct", "memory", "blkio", "pids")


@dataclass(frozen=True)
class CgroupPaths:
    """Where a container's counters live: one dir per v1 controller, or the one v2 dir."""

    version: int  # 1 or 2
    dirs: dict[str, str] = field(default_factory=dict)  # v1: controller -> dir
    unified: str = ""  # v2 dir

    def v1(self, controller: str) -> str | None:
        return self.dirs.get(controller)


@dataclass
class CgroupSample:
    version: int = 1
    cpu_total: int = 0
    cpu_percpu: list[int] = field(default_factory=list)
    cpu_user: int = 0
    cpu_kernel: int = 0
    throttle_periods: int = 0
    throttled_periods: int = 0
    throttled_time: int = 0
    mem_usage: int = 0
    mem_max_usage: int = 0
    mem_limit: int = 0
    mem_failcnt: int = 0
    mem_stats: dict[str, int] = field(default_factory=dict)
    # (major, minor, op, value)
    io_bytes: list[tuple[int, int, str, int]] = field(default_factory=list)
    io_ops: list[tuple[int, int, str, int]] = field(default_factory=list)
    pids_current: int = 0
    pids_limit: int = 0  # 0: no limit ("max")
    procs: list[int] = field(default_factory=list)

    @property
    def cache(self) -> int:
        """Page cache the CLI leaves out of MEM USAGE (v1 total_inactive_file, v2 inactive_file)."""
        key = "total_inactive_file" if self.version == 1 else "inactive_file"
        return self.mem_stats.get(key, 0)


# -- small readers ----------------------------------------------------------------------------------

def read_text(path: str) -> str | None:
    try:
        fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    except OSError:
        return None
    try:
        chunks = []
        while True:
            b = os.read(fd, 65536)
            if not b:
                break
            chunks.append(b)
        return b"".join(chunks).decode("ascii", "replace")
    except OSError:
        return None
    finally:
        os.close(fd)


def read_int(path: str, default: int = 0) -> int:
    text = read_text(path)
    if text is None:
        return default
    text = text.strip()
    if text == "max":
        return 0
    try:
        return int(text)
    except ValueError:
        return default


def parse_flat_keyed(text: str | None) -> dict[str, int]:
    """``key value`` lines (memory.stat, cpu.stat, cpuacct.stat)."""
    out: dict[str, int] = {}
    for line in (text or "").splitlines():
        k, _, v = line.partition(" ")
        try:
            out[k] = int(v)
        except ValueError:
            pass
    return out


def parse_blkio_v1(text: str | None) -> list[tuple[int, int, str, int]]:
    """``8:0 Read 4096`` lines of blkio.throttle.io_service_bytes/io_serviced; the last ``Total N`` is skipped."""
    out = []
    for line in (text or "").splitlines():
        fields = line.split()
        if len(fields) < 3:
            continue
        major, _, minor = fields[0].partition(":")
        try:
            if len(fields) == 3:
                out.append((int(major), int(minor), fields[1], int(fields[2])))
            else:
                out.append((int(major), int(minor), "", int(fields[1])))
        except ValueError:
            continue
    return out


def parse_io_stat_v2(text: str | None) -> tuple[list, list]:
    """io.stat (``8:0 rbytes=1 wbytes=2 rios=3 wios=4 dbytes=0 dios=0``) -> (bytes, ios) entries as Docker
    converts them: ops ``read``/``write``."""
    by, ios = [], []
    for line in (text or "").splitlines():
        fields = line.split()
        if not fields:
            continue
        major, _, minor = fields[0].partition(":")
        try:
            maj, mnr = int(major), int(minor)
        except ValueError:
            continue
        kv = {}
        for f in fields[1:]:
            k, _, v = f.partition("=")
            try:
                kv[k] = int(v)
            except ValueError:
                pass
        by += [(maj, mnr, "read", kv.get("rbytes", 0)), (maj, mnr, "write", kv.get("wbytes", 0))]
        ios += [(maj, mnr, "read", kv.get("rios", 0)), (maj, mnr, "write", kv.get("wios", 0))]
    return by, ios


# -- where --------------------------------------------------------------------------------------------

# The v1 hierarchies runc (1.1, libcontainer/cgroups/fs) puts every container process in: its
# controllers and the named systemd hierarchy.
RUNC_V1_HIERARCHIES = frozenset({"cpuset", "devices", "memory", "cpu", "cpuacct", "pids", "blkio", "hugetlb",
                                 "net_cls", "net_prio", "perf_event", "freezer", "rdma", "name=systemd"})
# v1 super options that name no controller
_V1_FLAGS = frozenset({"rw", "ro", "none", "xattr", "noprefix", "clone_children", "cpuset_v2_mode", "favordynmods"})

_Hierarchies = list[tuple[str, frozenset[str]]]
_mounts_cache: tuple[_Hierarchies, dict[str, str], str] | None = None


def _cgroup_fs(mountinfo: str) -> tuple[_Hierarchies, dict[str, str], str]:
    """The cgroup mounts: v1 hierarchies (mount point, controllers and ``name=``; the first mount of
    each), v1 controller -> mount point for the counters read here, the v2 mount point or "".
    Cached for ``/proc/self/mountinfo`` (cgroup mounts do not move)."""
    global _mounts_cache
    if _mounts_cache is not None and mountinfo == "/proc/self/mountinfo":
        return _mounts_cache
    hierarchies: _Hierarchies = []
    v2 = ""
    for line in (read_text(mountinfo) or "").splitlines():
        left, sep, right = line.partition(" - ")
        fields, rest = left.split(), right.split()
        if not sep or len(fields) < 5 or not rest:
            continue
        point = fields[4]
        if rest[0] == "cgroup2":
            if not v2 or point == CGROUP_ROOT:
                v2 = point
        elif rest[0] == "cgroup" and len(rest) >= 3:
            ctls = frozenset(o for o in rest[2].split(",") if o not in _V1_FLAGS and not o.startswith("release_agent="))
            if ctls and all(ctls != c for _, c in hierarchies):
                hierarchies.append((point, ctls))
    v1 = {ctl: point for point, ctls in reversed(hierarchies) for ctl in ctls if ctl in _V1_CONTROLLERS}
    result = (hierarchies, v1, v2)
    if mountinfo == "/proc/self/mountinfo":
        _mounts_cache = result
    return result


def cgroup_mounts(mountinfo: str = "/proc/self/mountinfo") -> tuple[dict[str, str], str]:
    """(v1 controller -> mount point, v2 mount point or "")."""
    _, v1, v2 = _cgroup_fs(mountinfo)
    return v1, v2


def v1_hierarchies(mountinfo: str = "/proc/self/mountinfo") -> _Hierarchies:
    """The v1 hierarchies mounted here: (mount point, its controllers and ``name=``), the first mount of each."""
    return _cgroup_fs(mountinfo)[0]


def container_binds(cgroups_path: str, hierarchies: _Hierarchies | None = None,
                    ) -> list[tuple[str, str]] | None:
    """The container's own cgroup dirs as runc's v1 ``/sys/fs/cgroup`` mount shows them: (host dir,
    name under /sys/fs/cgroup) for each hierarchy; None where runc must make that mount itself (a v2
    host, a relative cgroups path, a hierarchy runc does not manage or one with several controllers,
    which runc shows through symlinks).

    Given to runc as plain bind mounts they look the same inside the container, and runc skips
    reading the host's whole mount table to find them: with a few hundred mounts on the host (other
    engines' containers) one read costs a container start 2-3 ms."""
    if not cgroups_path.startswith("/"):
        return None
    hierarchies = v1_hierarchies() if hierarchies is None else hierarchies
    if not hierarchies:
        return None
    binds = []
    for point, ctls in hierarchies:
        name = os.path.basename(point)
        if not ctls <= RUNC_V1_HIERARCHIES or "," in name:
            return None
        binds.append((point + cgroups_path.rstrip("/"), name))
    return binds


def locate(cgroups_path: str, pid: int = 0) -> CgroupPaths:
    """The container's cgroup dirs: v1 if the memory/cpuacct controllers are mounted as v1 (hybrid hosts
    included, as runc does), else v2."""
    v1_mounts, v2_mount = cgroup_mounts()
    own = _proc_cgroup(pid) if pid > 0 else {}
    if v1_mounts.get("memory") or v1_mounts.get("cpuacct"):
        dirs = {}
        for ctl, point in v1_mounts.items():
            rel = own.get(ctl) or cgroups_path
            dirs[ctl] = point + "/" + rel.strip("/")
        return CgroupPaths(1, dirs=dirs)
    rel = own.get("") or cgroups_path
    return CgroupPaths(2, unified=(v2_mount or CGROUP_ROOT) + "/" + rel.strip("/"))


def _proc_cgroup(pid: int) -> dict[str, str]:
    """controller -> path from /proc/<pid>/cgroup ("" is the v2 hierarchy)."""
    out: dict[str, str] = {}
    for line in (read_text(f"/proc/{pid}/cgroup") or "").splitlines():
        parts = line.split(":", 2)
        if len(parts) != 3:
            continue
        if not parts[1]:
            out[""] = parts[2]
        for ctl in parts[1].split(","):
            if ctl.startswith("name="):
                continue
            out[ctl] = parts[2]
    return out


def whole_disk(dev: int) -> tuple[int, int] | None:
    """(major, minor) of the disk a block device number belongs to (a partition's parent), or None when
    the number is no block device (tmpfs, overlay, btrfs subvolumes: major 0)."""
    if os.major(dev) == 0:
        return None
    sysdir = f"/sys/dev/block/{os.major(dev)}:{os.minor(dev)}"
    if not os.path.isdir(sysdir):
        return None
    if os.path.exists(sysdir + "/partition"):
        sysdir = os.path.realpath(sysdir) + "/.."
    text = read_text(sysdir + "/dev") or ""
    major, sep, minor = text.strip().partition(":")
    return (int(major), int(minor)) if sep and major.isdigit() and minor.isdigit() else None


def enable_io_accounting(path: str, parent: str = "dockyard") -> str | None:
    """Make cgroup v1 count block I/O on the disk that holds ``path``; the ``MAJ:MIN`` it did, or None.

    Since Linux 6.11 blk-throttle sets itself up on a disk only when a throttle rule is first
    written for it, and until then v1's ``blkio.throttle.io_service_bytes`` stay empty for every
    cgroup: ``stats`` would show no block I/O at all on a fresh boot. Writing a rule of 0 (no
    limit, the default) into our own parent cgroup sets it up and limits nothing. Older kernels,
    v2's ``io.stat`` and disks already set up need nothing; a failure only costs the counters.
    """
    blk = cgroup_mounts()[0].get("blkio")
    try:
        disk = whole_disk(os.stat(path).st_dev)
    except OSError:
        return None
    if not blk or disk is None:
        return None
    rule = f"{disk[0]}:{disk[1]}"
    d = os.path.join(blk, parent)
    try:
        os.makedirs(d, exist_ok=True)
        if any(line.split()[:1] == [rule] for line in (read_text(d + "/blkio.throttle.read_bps_device") or "")
               .splitlines()):
            return rule  # someone's limit is there: set up already, and never to be overwritten
        with open(d + "/blkio.throttle.read_bps_device", "w") as f:
            f.write(rule + " 0")
    except OSError:
        return None
    return rule


# -- what ---------------------------------------------------------------------------------------------

def read(paths: CgroupPaths, *, with_procs: bool = False) -> CgroupSample | None:
    """One sample; None when the cgroup is gone (the container stopped meanwhile)."""
    if paths.version == 1:
        return read_v1(paths, with_procs=with_procs)
    return read_v2(paths.unified, with_procs=with_procs)


def read_v1(paths: CgroupPaths, *, with_procs: bool = False) -> CgroupSample | None:
    s = CgroupSample(version=1)
    acct = paths.v1("cpuacct")
    if acct:
        total = read_text(acct + "/cpuacct.usage")
        if total is None:
            return None
        s.cpu_total = int(total.strip() or 0)
        s.cpu_percpu = [int(x) for x in (read_text(acct + "/cpuacct.usage_percpu") or "").split()]
        st = parse_flat_keyed(read_text(acct + "/cpuacct.stat"))
        s.cpu_user, s.cpu_kernel = st.get("user", 0) * NS_PER_TICK, st.get("system", 0) * NS_PER_TICK
    cpu = paths.v1("cpu")
    if cpu:
        st = parse_flat_keyed(read_text(cpu + "/cpu.stat"))
        s.throttle_periods, s.throttled_periods = st.get("nr_periods", 0), st.get("nr_throttled", 0)
        s.throttled_time = st.get("throttled_time", 0)
    mem = paths.v1("memory")
    if mem:
        usage = read_text(mem + "/memory.usage_in_bytes")
        if usage is None and not acct:
            return None
        s.mem_usage = int((usage or "0").strip() or 0)
        s.mem_max_usage = read_int(mem + "/memory.max_usage_in_bytes")
        s.mem_limit = read_int(mem + "/memory.limit_in_bytes")
        s.mem_failcnt = read_int(mem + "/memory.failcnt")
        raw = parse_flat_keyed(read_text(mem + "/memory.stat"))
        s.mem_stats = {k: raw.get(k, 0) for k in V1_MEMORY_KEYS}
    blk = paths.v1("blkio")
    if blk:
        # CFQ's recursive files when the kernel has them and they hold data, else the throttle ones
        # (as containerd reads them)
        s.io_bytes = parse_blkio_v1(read_text(blk + "/blkio.io_service_bytes_recursive"))
        s.io_ops = parse_blkio_v1(read_text(blk + "/blkio.io_serviced_recursive"))
        if not s.io_bytes and not s.io_ops:
            s.io_bytes = parse_blkio_v1(read_text(blk + "/blkio.throttle.io_service_bytes"))
            s.io_ops = parse_blkio_v1(read_text(blk + "/blkio.throttle.io_serviced"))
    pids = paths.v1("pids")
    if pids:
        s.pids_current = read_int(pids + "/pids.current")
        s.pids_limit = read_int(pids + "/pids.max")
        if with_procs:
            s.procs = [int(p) for p in (read_text(pids + "/cgroup.procs") or "").split()]
    return s


def read_v2(d: str, *, with_procs: bool = False) -> CgroupSample | None:
    s = CgroupSample(version=2)
    cpu_text = read_text(d + "/cpu.stat")
    if cpu_text is None:
        return None
    st = parse_flat_keyed(cpu_text)
    s.cpu_total = st.get("usage_usec", 0) * 1000
    s.cpu_user, s.cpu_kernel = st.get("user_usec", 0) * 1000, st.get("system_usec", 0) * 1000
    s.throttle_periods, s.throttled_periods = st.get("nr_periods", 0), st.get("nr_throttled", 0)
    s.throttled_time = st.get("throttled_usec", 0) * 1000
    s.mem_usage = read_int(d + "/memory.current")
    s.mem_limit = read_int(d + "/memory.max")
    s.mem_stats = parse_flat_keyed(read_text(d + "/memory.stat"))
    s.io_bytes, s.io_ops = parse_io_stat_v2(read_text(d + "/io.stat"))
    s.pids_current = read_int(d + "/pids.current")
    s.pids_limit = read_int(d + "/pids.max")
    if with_procs:
        s.procs = [int(p) for p in (read_text(d + "/cgroup.procs") or "").split()]
    return s


def procs(paths: CgroupPaths) -> list[int] | None:
    """The PIDs in the container's cgroup (``docker top``), or None if it cannot be read."""
    d = paths.unified if paths.version == 2 else (paths.v1("pids") or paths.v1("memory") or paths.v1("cpu"))
    if not d:
        return None
    text = read_text(d + "/cgroup.procs")
    if text is None:
        return None
    return [int(p) for p in text.split()]


# -- host ---------------------------------------------------------------------------------------------

def system_cpu_usage(stat_path: str = "/proc/stat") -> int:
    """Docker's system CPU usage: user..softirq of /proc/stat's ``cpu`` line, in nanoseconds."""
    text = read_text(stat_path) or ""
    first = text.split("\n", 1)[0].split()
    if not first or first[0] != "cpu" or len(first) < 8:
        return 0
    return sum(int(v) for v in first[1:8]) * NS_PER_TICK


def online_cpus() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return os.cpu_count() or 1


def machine_memory() -> int:
    for line in (read_text("/proc/meminfo") or "").splitlines():
        if line.startswith("MemTotal:"):
            return int(line.split()[1]) * 1024
    return 0


def net_dev(pid: int) -> dict[str, dict[str, int]] | None:
    """Interface counters of the network namespace of ``pid`` (``lo`` left out), as Docker names them."""
    text = read_text(f"/proc/{pid}/net/dev")
    if text is None:
        return None
    return parse_net_dev(text)


def parse_net_dev(text: str) -> dict[str, dict[str, int]]:
    out = {}
    for line in text.splitlines()[2:]:
        name, sep, rest = line.partition(":")
        name = name.strip()
        if not sep or name == "lo":
            continue
        f = rest.split()
        if len(f) < 12:
            continue
        out[name] = {"rx_bytes": int(f[0]), "rx_packets": int(f[1]), "rx_errors": int(f[2]),
                     "rx_dropped": int(f[3]), "tx_bytes": int(f[8]), "tx_packets": int(f[9]),
                     "tx_errors": int(f[10]), "tx_dropped": int(f[11])}
    return out
