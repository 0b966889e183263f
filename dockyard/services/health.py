"""Health checks: run a container's HEALTHCHECK probe now and then and keep ``State.Health`` as Docker does.

Rules kept from moby's ``daemon/health.go`` (20.10, plus the API 1.44 ``StartInterval``):

- A container has a ``State.Health`` only when its ``Config.Healthcheck.Test`` is ``CMD`` or
  ``CMD-SHELL`` (``NONE`` or no test: none). Each start sets it to ``starting`` with a failing
  streak of 0 and keeps the log; an exit sets it to ``unhealthy`` (ContainerService._mark_exited).
- The first probe runs one interval after the start, the next one interval after the previous one
  ended (``StartInterval``, when set, instead of the interval while ``starting`` within the start
  period). Defaults: interval 30 s, timeout 30 s, 3 retries, start period 0. Probes pause with the
  container and end with it.
- A probe is an exec (``CMD-SHELL`` through the image's shell, ``/bin/sh -c``), as the container's
  user and working directory; its ``exec_create``/``exec_start``/``exec_die`` events are published
  as Docker publishes them. Output is stdout and stderr together, cut at 4096 bytes (then ``...``).
- Exit 0 is healthy (failing streak back to 0); anything else is a failure, which counts toward
  ``retries`` except while ``starting`` within the start period. A probe that cannot run counts as
  exit -1 with the runtime's error as output; one that outlives the timeout is killed and counts
  as -1 with "Health check exceeded timeout (30s)".
- The log keeps the last 5 results; each change of status publishes ``health_status: <status>``.
"""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import time

from dockyard import errdefs
from dockyard.services.containers import Container, ContainerService, Status
from dockyard.services.events import EventBus, label_attributes
from dockyard.services.exec import ExecService
from dockyard.util.timeutil import format_ns

log = logging.getLogger(__name__)

STARTING, HEALTHY, UNHEALTHY, NONE = "starting", "healthy", "unhealthy", "none"
STATUSES = (STARTING, HEALTHY, UNHEALTHY, NONE)

DEFAULT_INTERVAL = 30.0
DEFAULT_TIMEOUT = 30.0
DEFAULT_RETRIES = 3
DEFAULT_START_PERIOD = 0.0
MAX_LOG_ENTRIES = 5
MAX_OUTPUT = 4096


def probe_command(config: dict) -> list[str] | None:
    """The probe's argv from ``Config.Healthcheck`` (and ``Config.Shell``), or None when there is none."""
    test = list((config.get("Healthcheck") or {}).get("Test") or [])
    if not test:
        return None
    if test[0] == "CMD":
        return test[1:] or None
    if test[0] == "CMD-SHELL":
        shell = list(config.get("Shell") or ["/bin/sh", "-c"])
        return [*shell, *test[1:]]
    return None  # NONE, or a kind Docker does not know either


def health_status(c: Container) -> str:
    """For ``--filter health=``: the status, or ``none`` without a health check."""
    return (c.state.health or {}).get("Status") or NONE


def go_duration(seconds: float) -> str:
    """Go's ``time.Duration.String()``: 500ms, 1s, 1.5s, 1m30s, 2h0m0s."""
    ns = int(round(seconds * 1e9))
    if ns == 0:
        return "0s"
    sign = "-" if ns < 0 else ""
    ns = abs(ns)
    if ns < 1_000_000_000:
        for unit, size in (("ms", 1_000_000), ("µs", 1_000), ("ns", 1)):
            if ns >= size:
                return sign + _frac(ns, size) + unit
    h, rest = divmod(ns, 3_600_000_000_000)
    m, rest = divmod(rest, 60_000_000_000)
    out = _frac(rest, 1_000_000_000) + "s"
    if h:
        return f"{sign}{h}h{m}m{out}"
    if m:
        return f"{sign}{m}m{out}"
    return sign + out


def _frac(value: int, unit: int) -> str:
    whole, frac = divmod(value, unit)
    if not frac:
        return str(whole)
    digits = len(str(unit)) - 1
    return f"{whole}." + f"{frac:0{digits}d}".rstrip("0")


def _seconds(value, default: float) -> float:
    """A Healthcheck duration (nanoseconds; 0 or absent: the default)."""
    try:
        ns = int(value or 0)
    except (TypeError, ValueError):
        ns = 0
    return ns / 1e9 if ns > 0 else default


def record(health: dict, result: dict, *, retries: int, within_start_period: bool) -> str | None:
    """Docker's handleProbeResult on ``health`` (changed in place); returns the new status when it changed."""
    old = health.get("Status")
    log_ = health.setdefault("Log", [])
    log_.append(result)
    del log_[:-MAX_LOG_ENTRIES]
    if result["ExitCode"] == 0:
        health["FailingStreak"] = 0
        health["Status"] = HEALTHY
    elif not (health.get("Status") == STARTING and within_start_period):
        health["FailingStreak"] = health.get("FailingStreak", 0) + 1
        if health["FailingStreak"] >= (retries if retries > 0 else DEFAULT_RETRIES):
            health["Status"] = UNHEALTHY
    return health["Status"] if health["Status"] != old else None


class HealthMonitor:
    """One probing task per running container that has a health check."""

    def __init__(self, *, containers: ContainerService, execs: ExecService, events: EventBus) -> None:
        self.containers = containers
        self.execs = execs
        self.events = events
        self._tasks: dict[str, asyncio.Task] = {}
        containers.on_start_hooks.append(self._started)
        containers.on_exit_hooks.append(self._exited)

    # -- container hooks ------------------------------------------------------------------
    def _started(self, c: Container) -> None:
        if probe_command(c.config) is None:
            return
        h = c.state.health or {"Status": STARTING, "FailingStreak": 0, "Log": []}
        h["Status"], h["FailingStreak"] = STARTING, 0
        h.setdefault("Log", [])
        c.state.health = h
        self.containers._save_state(c)
        self._watch(c)

    def _exited(self, c: Container) -> None:
        self._unwatch(c.id)  # (the status went to unhealthy with the exit itself)

    def start_at_boot(self) -> None:
        """Probe again the containers found running when the daemon starts."""
        for c in self.containers.all():
            if c.state.status in (Status.RUNNING, Status.PAUSED) and probe_command(c.config) is not None:
                if not c.state.health:
                    c.state.health = {"Status": STARTING, "FailingStreak": 0, "Log": []}
                    self.containers._save_state(c)
                self._watch(c)

    def _watch(self, c: Container) -> None:
        self._unwatch(c.id)
        t = asyncio.ensure_future(self._monitor(c))
        self._tasks[c.id] = t
        t.add_done_callback(lambda _t, cid=c.id: self._tasks.get(cid) is _t and self._tasks.pop(cid, None))

    def _unwatch(self, cid: str) -> None:
        t = self._tasks.pop(cid, None)
        if t is not None:
            t.cancel()

    def close(self) -> None:
        for cid in list(self._tasks):
            self._unwatch(cid)

    # -- probing --------------------------------------------------------------------------
    async def _monitor(self, c: Container) -> None:
        hc = c.config.get("Healthcheck") or {}
        interval = _seconds(hc.get("Interval"), DEFAULT_INTERVAL)
        timeout = _seconds(hc.get("Timeout"), DEFAULT_TIMEOUT)
        start_period = _seconds(hc.get("StartPeriod"), DEFAULT_START_PERIOD)
        start_interval = _seconds(hc.get("StartInterval"), 0.0)
        retries = int(hc.get("Retries") or 0)
        while True:
            wait = interval
            h = c.state.health or {}
            if (start_interval and h.get("Status") == STARTING
                    and time.time_ns() - c.state.started_at < start_period * 1e9):
                wait = start_interval
            await asyncio.sleep(wait)
            if c.state.status == Status.PAUSED:
                continue
            if c.state.status != Status.RUNNING:
                return
            cmd = probe_command(c.config)
            if cmd is None:
                return
            start_ns, result = await self._probe(c, cmd, timeout)
            if c.state.status != Status.RUNNING or c.state.health is None:
                return
            changed = record(c.state.health, result, retries=retries,
                             within_start_period=start_ns - c.state.started_at < start_period * 1e9)
            self.containers._save_state(c)
            if changed:
                self.events.publish("container", f"health_status: {changed}", c.id, image=c.config.get("Image"),
                                    name=c.name, **label_attributes(c.config.get("Labels")))

    async def _probe(self, c: Container, cmd: list[str], timeout: float) -> tuple[int, dict]:
        """(start time in ns, the result as ``State.Health.Log`` shows it)."""
        start = time.time_ns()

        def result(code: int, output: str) -> tuple[int, dict]:
            return start, {"Start": format_ns(start), "End": format_ns(time.time_ns()), "ExitCode": code,
                           "Output": output}

        try:
            e = self.execs.create(c.id, {"Cmd": cmd, "AttachStdout": True, "AttachStderr": True,
                                         "User": c.config.get("User") or "",
                                         "WorkingDir": c.config.get("WorkingDir") or ""})
        except errdefs.DockyardError as err:
            return result(-1, str(err))
        buf = bytearray()
        truncated = False

        async def run() -> None:
            nonlocal truncated
            await self.execs.start(e.id)
            while (item := await e.session.read()) is not None:
                data = item[1]
                keep = MAX_OUTPUT - len(buf)
                if keep > 0:
                    buf.extend(data[:keep])
                if len(data) > max(keep, 0):
                    truncated = True
            await e.done.wait()

        try:
            try:
                await asyncio.wait_for(run(), timeout)
            except asyncio.TimeoutError:
                await self._kill(e)
                return result(-1, f"Health check exceeded timeout ({go_duration(timeout)})")
            except errdefs.DockyardError as err:
                return result(-1, str(err))
            except asyncio.CancelledError:
                await asyncio.shield(self._kill(e))
                raise
            if e.error:
                return result(-1, e.error)
            out = buf.decode("utf-8", errors="replace") + ("..." if truncated else "")
            return result(e.exit_code if e.exit_code is not None else -1, out)
        finally:
            if e.session is not None:
                e.session.close()
            self.execs.discard(e.id)

    async def _kill(self, e) -> None:
        """Kill a probe that outlived its timeout and wait (a little) for it to be gone."""
        if not e.running:
            return
        pid = e.pid or e.runtime_pid  # the process in the container; runc exits after it
        if pid > 0:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        try:
            await asyncio.wait_for(e.done.wait(), 5)
        except asyncio.TimeoutError:
            log.warning("health probe %s of %s did not exit after SIGKILL", e.id[:12], e.container_id[:12])

