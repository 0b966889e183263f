"""Prometheus metrics (``dockyardd --metrics-addr 127.0.0.1:9323``, path ``/metrics``).

Served over plain HTTP on that address only, in the text exposition format 0.0.4 that Prometheus
scrapes, written by hand (no client library: a few families, rendered at scrape time):

* per running container, labels ``id`` and ``name`` (cAdvisor's names): CPU seconds (total, user,
  system), memory usage and working set, memory limit, block I/O bytes read/written, network bytes and
  packets per interface, pids;
* the engine: containers by state and images (``engine_daemon_container_states_containers`` as
  dockerd names it), API requests by route (the route's canonical path, ``/containers/{id}/json``,
  never the raw URL) method and status code, and the container start latency histogram
  (``engine_daemon_container_actions_seconds{action="start"}``, Prometheus' default buckets).

Requests are counted by an aiohttp middleware on the API app; start latencies come from
``ContainerService.start_timers`` (services never import this module).
"""

from __future__ import annotations

import re
import time
from typing import TYPE_CHECKING

from aiohttp import web

if TYPE_CHECKING:
    from dockyard.api.server.app import Services

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
# Prometheus client libraries' default histogram buckets (dockerd's container action timers use them too)
BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
_VERSION_PREFIX = re.compile(r"^/\{ver[^/]*\}(?=/)")


def escape_label(value: str) -> str:
    return value.replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


def format_value(v: float) -> str:
    if isinstance(v, bool):
        return "1" if v else "0"
    if isinstance(v, int):
        return str(v)
    if v != v:
        return "NaN"
    if v in (float("inf"), float("-inf")):
        return "+Inf" if v > 0 else "-Inf"
    return repr(float(v))


class Family:
    """One metric family: HELP, TYPE, then its samples, contiguous as the format requires."""

    def __init__(self, name: str, kind: str, help_: str) -> None:
        self.name, self.kind, self.help = name, kind, help_
        self.samples: list[tuple[str, dict[str, str], float]] = []

    def add(self, value: float, suffix: str = "", **labels: str) -> None:
        self.samples.append((self.name + suffix, labels, value))

    def render(self, out: list[str]) -> None:
        out.append(f"# HELP {self.name} {self.help.replace(chr(92), chr(92) * 2).replace(chr(10), '')}\n")
        out.append(f"# TYPE {self.name} {self.kind}\n")
        for name, labels, value in self.samples:
            if labels:
                lab = ",".join(f'{k}="{escape_label(str(v))}"' for k, v in labels.items())
                out.append(f"{name}{{{lab}}} {format_value(value)}\n")
            else:
                out.append(f"{name} {format_value(value)}\n")


class Histogram:
    def __init__(self, buckets: tuple[float, ...] = BUCKETS) -> None:
        self.buckets = buckets
        self.counts = [0] * len(buckets)
        self.sum = 0.0
        self.count = 0

    def observe(self, value: float) -> None:
        for i, le in enumerate(self.buckets):
            if value <= le:
                self.counts[i] += 1
        self.sum += value
        self.count += 1

    def add_to(self, fam: Family, **labels: str) -> None:
        for le, n in zip(self.buckets, self.counts):
            fam.add(n, "_bucket", **labels, le=format_value(le))
        fam.add(self.count, "_bucket", **labels, le="+Inf")
        fam.add(self.sum, "_sum", **labels)
        fam.add(self.count, "_count", **labels)


class Metrics:
    """The engine's own counters, and the scrape that renders them with the containers' figures."""

    def __init__(self) -> None:
        self.requests: dict[tuple[str, str, str], int] = {}
        self.start_latency = Histogram()

    # -- collection ------------------------------------------------------------------------------------
    def observe_start(self, _container, seconds: float) -> None:
        self.start_latency.observe(seconds)

    @staticmethod
    def route_of(request: web.Request) -> str:
        """The canonical path of the route that served the request (``/containers/{id}/json``)."""
        try:
            resource = request.match_info.route.resource
        except AttributeError:
            resource = None
        if resource is None:
            return "unmatched"
        return _VERSION_PREFIX.sub("", resource.canonical) or "/"

    def middleware(self):
        @web.middleware
        async def count_requests(request: web.Request, handler):
            status = 500
            try:
                resp = await handler(request)
                status = resp.status
                return resp
            except web.HTTPException as e:
                status = e.status
                raise
            finally:
                key = (self.route_of(request), request.method, str(status))
                self.requests[key] = self.requests.get(key, 0) + 1
        return count_requests

    # -- exposition ------------------------------------------------------------------------------------
    def render(self, svc: "Services") -> str:
        fams: list[Family] = []

        def fam(name: str, kind: str, help_: str) -> Family:
            f = Family(name, kind, help_)
            fams.append(f)
            return f

        states = {"running": 0, "paused": 0, "stopped": 0}
        for c in svc.containers.all():
            st = c.state.status.value
            key = "paused" if st == "paused" else "running" if c.state.running else "stopped"
            states[key] += 1
        f = fam("engine_daemon_container_states_containers", "gauge", "The count of containers in various states")
        for k, v in states.items():
            f.add(v, state=k)
        fam("dockyard_images", "gauge", "The number of images").add(len(svc.images.list(all=True)))
        f = fam("engine_daemon_container_actions_seconds", "histogram",
                "The number of seconds it takes to process each container action")
        self.start_latency.add_to(f, action="start")
        f = fam("dockyard_api_requests_total", "counter", "API requests by route, method and status code")
        for (route, method, code), n in sorted(self.requests.items()):
            f.add(n, route=route, method=method, code=code)

        cpu = fam("container_cpu_usage_seconds_total", "counter", "Cumulative CPU time consumed, in seconds")
        cpu_user = fam("container_cpu_user_seconds_total", "counter", "Cumulative user CPU time, in seconds")
        cpu_sys = fam("container_cpu_system_seconds_total", "counter", "Cumulative system CPU time, in seconds")
        throttled = fam("container_cpu_cfs_throttled_seconds_total", "counter",
                        "Total time the container was throttled, in seconds")
        mem = fam("container_memory_usage_bytes", "gauge", "Current memory usage in bytes, including page cache")
        wset = fam("container_memory_working_set_bytes", "gauge",
                   "Memory usage without inactive page cache (docker stats' MEM USAGE), in bytes")
        limit = fam("container_spec_memory_limit_bytes", "gauge", "Memory limit in bytes (0: none)")
        rd = fam("container_fs_reads_bytes_total", "counter", "Cumulative bytes read from block devices")
        wr = fam("container_fs_writes_bytes_total", "counter", "Cumulative bytes written to block devices")
        rxb = fam("container_network_receive_bytes_total", "counter", "Cumulative bytes received")
        txb = fam("container_network_transmit_bytes_total", "counter", "Cumulative bytes transmitted")
        rxp = fam("container_network_receive_packets_total", "counter", "Cumulative packets received")
        txp = fam("container_network_transmit_packets_total", "counter", "Cumulative packets transmitted")
        pids = fam("container_pids", "gauge", "Number of processes and threads in the container (pids.current)")
        stats = svc.stats
        machine = stats.machine_memory if stats is not None else 0
        for c, s in (stats.running_samples() if stats is not None else []):
            lab = {"id": c.id, "name": c.name}
            cg = s.cg
            cpu.add(cg.cpu_total / 1e9, **lab)
            cpu_user.add(cg.cpu_user / 1e9, **lab)
            cpu_sys.add(cg.cpu_kernel / 1e9, **lab)
            throttled.add(cg.throttled_time / 1e9, **lab)
            mem.add(cg.mem_usage, **lab)
            wset.add(max(0, cg.mem_usage - cg.cache), **lab)
            limit.add(cg.mem_limit if cg.mem_limit and (not machine or cg.mem_limit < machine) else 0, **lab)
            r = w = 0
            for _, _, op, v in cg.io_bytes:
                if op[:1] in ("r", "R"):
                    r += v
                elif op[:1] in ("w", "W"):
                    w += v
            rd.add(r, **lab)
            wr.add(w, **lab)
            for ifname, n in sorted((s.networks or {}).items()):
                rxb.add(n["rx_bytes"], **lab, interface=ifname)
                txb.add(n["tx_bytes"], **lab, interface=ifname)
                rxp.add(n["rx_packets"], **lab, interface=ifname)
                txp.add(n["tx_packets"], **lab, interface=ifname)
            pids.add(cg.pids_current, **lab)
        out: list[str] = []
        for f in fams:
            f.render(out)
        return "".join(out)


def make_metrics_app(metrics: Metrics, svc: "Services") -> web.Application:
    """The plain-HTTP app of ``--metrics-addr``: ``GET /metrics`` only."""
    async def handle(_request: web.Request) -> web.Response:
        t0 = time.perf_counter()
        body = metrics.render(svc)
        body += (f"# HELP dockyard_metrics_scrape_seconds Time taken to render this scrape\n"
                 f"# TYPE dockyard_metrics_scrape_seconds gauge\n"
                 f"dockyard_metrics_scrape_seconds {format_value(time.perf_counter() - t0)}\n")
        return web.Response(body=body.encode(), headers={"Content-Type": CONTENT_TYPE})

    app = web.Application()
    app.router.add_get("/metrics", handle)
    return app
