"""Container statistics: Docker's ``StatsJSON`` from cgroup counters, one-shot, windowed, or streamed.

Docker's daemon samples each watched container once a second and sends every sample with the
previous one as ``precpu_stats``. Here:

* ``stream=true``: a frame at once (``precpu_stats`` zeroed, as Docker's first frame), then one
  every ``interval`` (1 s) with the previous sample as ``precpu_stats``.
* ``stream=false``: two samples ``window`` apart (0.5 s; Docker's are its 1 s collector ticks), the
  second sent with the first as ``precpu_stats``, so CPU % is meaningful.
* ``one-shot=true`` (with ``stream=false``): one sample now, ``precpu_stats`` zeroed.

A container that is not running gives Docker's zeroed frame. Samples are plain file reads
(``runtime.cgroups``) done on the event loop: about 0.2 ms a container, no subprocess.
"""

from __future__ import annotations

import asyncio
import os
import time
from dataclasses import dataclass
from typing import AsyncIterator

from dockyard import errdefs
from dockyard.runtime import cgroups
from dockyard.runtime.cgroups import CgroupPaths, CgroupSample
from dockyard.services.containers import Container, ContainerService
from dockyard.util.timeutil import format_ns

BLKIO_KEYS = ("io_service_bytes_recursive", "io_serviced_recursive", "io_queue_recursive",
              "io_service_time_recursive", "io_wait_time_recursive", "io_merged_recursive", "io_time_recursive",
              "sectors_recursive")


@dataclass
class Sample:
    """One reading of a running container: its cgroup counters, the host's CPU time, its interfaces."""

    read_ns: int
    cg: CgroupSample
    system_cpu: int
    networks: dict[str, dict[str, int]] | None


def _empty_cpu() -> dict:
    return {"cpu_usage": {"total_usage": 0, "usage_in_kernelmode": 0, "usage_in_usermode": 0},
            "throttling_data": {"periods": 0, "throttled_periods": 0, "throttled_time": 0}}


def zeroed_frame(name: str, cid: str) -> dict:
    """What Docker sends for a container that is not running."""
    return {"read": format_ns(0), "preread": format_ns(0), "pids_stats": {},
            "blkio_stats": dict.fromkeys(BLKIO_KEYS), "num_procs": 0, "storage_stats": {},
            "cpu_stats": _empty_cpu(), "precpu_stats": _empty_cpu(), "memory_stats": {}, "name": "/" + name,
            "id": cid}


def cpu_json(s: Sample | None, ncpu: int) -> dict:
    if s is None:
        return _empty_cpu()
    cg = s.cg
    usage = {"total_usage": cg.cpu_total}
    if cg.cpu_percpu:
        usage["percpu_usage"] = cg.cpu_percpu
    usage["usage_in_kernelmode"] = cg.cpu_kernel
    usage["usage_in_usermode"] = cg.cpu_user
    out = {"cpu_usage": usage}
    if s.system_cpu:
        out["system_cpu_usage"] = s.system_cpu
    if ncpu:
        out["online_cpus"] = ncpu
    out["throttling_data"] = {"periods": cg.throttle_periods, "throttled_periods": cg.throttled_periods,
                              "throttled_time": cg.throttled_time}
    return out


def memory_json(cg: CgroupSample, machine_memory: int) -> dict:
    out: dict = {}
    if cg.mem_usage:
        out["usage"] = cg.mem_usage
    if cg.mem_max_usage:
        out["max_usage"] = cg.mem_max_usage
    if cg.mem_stats:
        out["stats"] = dict(sorted(cg.mem_stats.items()))
    if cg.mem_failcnt:
        out["failcnt"] = cg.mem_failcnt
    limit = cg.mem_limit
    if not limit or (machine_memory and limit > machine_memory):
        limit = machine_memory  # no limit: the machine's memory, as Docker reports it
    if limit:
        out["limit"] = limit
    return out


def _blkio_entries(entries: list[tuple[int, int, str, int]]) -> list[dict]:
    return [{"major": a, "minor": b, "op": op, "value": v} for a, b, op, v in entries]


def stats_json(c_name: str, cid: str, cur: Sample, pre: Sample | None, *, ncpu: int, machine_memory: int,
               pre_read_ns: int = 0) -> dict:
    """Docker's StatsJSON for a running container (key order as dockerd writes it)."""
    cg = cur.cg
    pids: dict = {}
    if cg.pids_current:
        pids["current"] = cg.pids_current
    if cg.pids_limit:
        pids["limit"] = cg.pids_limit
    blkio = dict.fromkeys(BLKIO_KEYS)
    for k in BLKIO_KEYS:
        blkio[k] = []
    blkio["io_service_bytes_recursive"] = _blkio_entries(cg.io_bytes)
    blkio["io_serviced_recursive"] = _blkio_entries(cg.io_ops)
    out = {
        "read": format_ns(cur.read_ns), "preread": format_ns(pre.read_ns if pre else pre_read_ns),
        "pids_stats": pids, "blkio_stats": blkio, "num_procs": 0, "storage_stats": {},
        "cpu_stats": cpu_json(cur, ncpu), "precpu_stats": cpu_json(pre, ncpu),
        "memory_stats": memory_json(cg, machine_memory), "name": "/" + c_name, "id": cid,
    }
    if cur.networks:
        out["networks"] = cur.networks
    return out


class StatsService:
    def __init__(self, containers: ContainerService, *, interval: float = 1.0, window: float = 0.5) -> None:
        self.containers = containers
        self.interval = interval
        self.window = window
        self.ncpu = cgroups.online_cpus()
        self.machine_memory = cgroups.machine_memory()
        self._paths: dict[str, tuple[int, CgroupPaths]] = {}
        self._system: tuple[float, int] = (0.0, 0)
        containers.on_exit_hooks.append(lambda c: self._paths.pop(c.id, None))

    # -- sampling -------------------------------------------------------------------------------------
    def paths(self, c: Container) -> CgroupPaths | None:
        pid = c.state.pid
        if not c.state.running or pid <= 0:
            return None
        cached = self._paths.get(c.id)
        if cached is not None and cached[0] == pid:
            return cached[1]
        p = cgroups.locate(os.path.join(c.host_config.get("CgroupParent") or "/dockyard", c.id), pid)
        self._paths[c.id] = (pid, p)
        return p

    def system_cpu(self) -> int:
        """/proc/stat's CPU time, read at most once per millisecond (a batch of containers shares it)."""
        now = time.monotonic()
        at, value = self._system
        if now - at > 0.001:
            value = cgroups.system_cpu_usage()
            self._system = (now, value)
        return value

    def sample(self, c: Container, *, with_procs: bool = False) -> Sample | None:
        """A reading of a running container, or None (not running, or its cgroup went meanwhile)."""
        p = self.paths(c)
        if p is None:
            return None
        cg = cgroups.read(p, with_procs=with_procs)
        if cg is None:
            self._paths.pop(c.id, None)
            return None
        nets = None
        if (c.host_config.get("NetworkMode") or "default") != "host":
            nets = cgroups.net_dev(c.state.pid)
        return Sample(time.time_ns(), cg, self.system_cpu(), nets)

    def frame(self, c: Container, cur: Sample | None, pre: Sample | None) -> dict:
        if cur is None:
            return zeroed_frame(c.name, c.id)
        return stats_json(c.name, c.id, cur, pre, ncpu=self.ncpu, machine_memory=self.machine_memory)

    # -- the API's three forms -------------------------------------------------------------------------
    async def stats(self, ref: str, *, stream: bool = True, one_shot: bool = False) -> AsyncIterator[dict]:
        """Frames for ``GET /containers/{id}/stats``; raises NotFound/InvalidArgument before the first."""
        if stream and one_shot:
            raise errdefs.InvalidArgument("cannot have stream=true and one-shot=true")
        c = self.containers.get(ref)
        return self._frames(c, stream, one_shot)

    async def _frames(self, c: Container, stream: bool, one_shot: bool) -> AsyncIterator[dict]:
        if not stream:
            cur = self.sample(c)
            if cur is None or one_shot:
                yield self.frame(c, cur, None)
                return
            await asyncio.sleep(self.window)
            nxt = self.sample(c)
            yield self.frame(c, nxt, cur if nxt is not None else None)
            return
        pre: Sample | None = None
        while True:
            if self.containers.lookup(c.id) is not c:
                return  # removed: the stream ends, as Docker's does
            cur = self.sample(c)
            yield self.frame(c, cur, pre)
            pre = cur
            await asyncio.sleep(self.interval)

    def running_samples(self) -> list[tuple[Container, Sample]]:
        """A reading of every running container (for the metrics endpoint)."""
        out = []
        for c in self.containers.all():
            if c.state.running:
                s = self.sample(c)
                if s is not None:
                    out.append((c, s))
        return out
