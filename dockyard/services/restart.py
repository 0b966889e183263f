"""Restart policies: bring a container back after its process exits, as Docker's restart manager does.

Docker's rules (``restartmanager`` in moby), kept exactly:

- The wait before a restart starts at 100 ms and doubles with every restart, up to one minute; it
  goes back to 100 ms when the container had run for 10 s or more before it exited.
- ``always`` restarts whatever the exit; ``unless-stopped`` likewise unless the user stopped or
  killed the container; ``on-failure[:N]`` only after a non-zero exit, at most N times (0: no limit).
- A stop or kill through the API cancels the policy until the next start through the API
  (Docker's ``ExitOnNext``); the "stopped by the user" flag itself is kept in the state row.
- ``RestartCount`` grows by one at each exit that leads to a restart and goes back to 0 when the
  user starts the container (``docker start``/``docker restart``).
- When the daemon starts, every container that has run before and whose policy would restart it
  now (``always``; ``unless-stopped`` not stopped by the user; ``on-failure`` after a failure) and is
  not running is started.

Between the exit and the new start the container is ``restarting``: ``State.Restarting`` true, no
PID, the last exit code shown. A stop or kill then only cancels the pending restart.
"""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass

from dockyard import errdefs
from dockyard.services.containers import Container, ContainerService, Status

log = logging.getLogger(__name__)

DEFAULT_DELAY = 0.1    # seconds, Docker's defaultTimeout
MAX_DELAY = 60.0       # maxRestartTimeout
MULTIPLIER = 2         # backoffMultiplier
RESET_AFTER = 10.0     # seconds of uptime after which the back-off starts over


@dataclass
class Backoff:
    """One container's restart bookkeeping (Docker's RestartManager), in memory only."""

    delay: float = 0.0          # the wait before the next restart; 0 until the first exit
    count: int = 0              # restarts made since the last start by the user (on-failure's maximum)
    cancelled: bool = False     # a stop/kill by the user: no more restarts until a start by the user

    def decide(self, policy: dict | None, exit_code: int, manually_stopped: bool, ran_for: float) -> float | None:
        """The wait before restarting (seconds), or None when the container stays down.

        The back-off moves at every exit, restart or not, as in Docker."""
        if self.cancelled:
            return None
        name = (policy or {}).get("Name") or "no"
        if name == "no":
            return None
        if ran_for >= RESET_AFTER:
            self.delay = 0.0
        if self.delay == 0:
            self.delay = DEFAULT_DELAY
        elif self.delay < MAX_DELAY:
            self.delay *= MULTIPLIER
        self.delay = min(self.delay, MAX_DELAY)
        if name == "always":
            restart = True
        elif name == "unless-stopped":
            restart = not manually_stopped
        elif name == "on-failure":
            most = int((policy or {}).get("MaximumRetryCount") or 0)
            restart = exit_code != 0 and (most == 0 or self.count < most)
        else:
            restart = False
        if not restart:
            return None
        self.count += 1
        return self.delay


def restarts_at_daemon_start(policy: dict | None, exit_code: int, manually_stopped: bool) -> bool:
    """Docker's ``container.ShouldRestart()`` with a fresh manager, as asked when the daemon starts."""
    return Backoff().decide(policy, exit_code, manually_stopped, 0.0) is not None


class RestartManager:
    """Applies containers' restart policies; the container service consults it at every exit."""

    def __init__(self, containers: ContainerService) -> None:
        self.containers = containers
        self._state: dict[str, Backoff] = {}
        self._timers: dict[str, asyncio.TimerHandle] = {}
        containers.restarts = self
        containers.on_exit_hooks.append(self._exited)

    def _backoff(self, cid: str) -> Backoff:
        b = self._state.get(cid)
        if b is None:
            b = self._state[cid] = Backoff()
        return b

    # -- consulted by the container service ---------------------------------------------
    def should_restart(self, c: Container, exit_code: int) -> bool:
        """At an exit (under the container's lock): whether the container goes to ``restarting``."""
        s = c.state
        ran_for = max(0.0, (time.time_ns() - s.started_at) / 1e9) if s.started_at else 0.0
        delay = self._backoff(c.id).decide(c.host_config.get("RestartPolicy"), exit_code, c.stop_requested, ran_for)
        return delay is not None

    def _exited(self, c: Container) -> None:
        if c.state.status != Status.RESTARTING:
            return
        old = self._timers.pop(c.id, None)
        if old is not None:
            old.cancel()
        delay = self._backoff(c.id).delay
        # a timer, not a sleeping task: cancelling it never interrupts a start half-way
        self._timers[c.id] = asyncio.get_running_loop().call_later(delay, self._due, c)

    def _due(self, c: Container) -> None:
        self._timers.pop(c.id, None)
        self.containers._spawn(self._restart(c))

    async def _restart(self, c: Container) -> None:
        svc = self.containers
        async with c.lock:
            if c.id not in svc._by_id or c.state.status != Status.RESTARTING or self._backoff(c.id).cancelled:
                return
            try:
                await svc.restart_now(c)
            except errdefs.DockyardError as e:
                log.warning("restarting container %s: %s", c.id[:12], e)

    def cancel(self, c: Container) -> bool:
        """A stop or kill by the user: no more restarts; True when a pending restart was dropped."""
        self._backoff(c.id).cancelled = True
        t = self._timers.pop(c.id, None)
        if t is not None:
            t.cancel()
            return True
        return False

    def reset(self, c: Container) -> None:
        """A start by the user: the back-off and the retry count start over."""
        t = self._timers.pop(c.id, None)
        if t is not None:
            t.cancel()
        self._state.pop(c.id, None)

    def forget(self, cid: str) -> None:
        t = self._timers.pop(cid, None)
        if t is not None:
            t.cancel()
        self._state.pop(cid, None)

    async def start_at_boot(self) -> list[str]:
        """After reconcile (and once networking is up): start what the policies want running.

        Returns the IDs started."""
        svc = self.containers
        todo = [c for c in svc.all()
                if c.state.status == Status.EXITED and c.state.started_once
                and restarts_at_daemon_start(c.host_config.get("RestartPolicy"), c.state.exit_code, c.stop_requested)]
        started = []
        for c in reversed(todo):  # oldest first
            try:
                async with c.lock:
                    await svc._start_locked(c)
                started.append(c.id)
            except errdefs.NotModified:
                pass
            except errdefs.DockyardError as e:
                log.warning("starting container %s (restart policy %s): %s", c.id[:12],
                            (c.host_config.get("RestartPolicy") or {}).get("Name"), e)
        return started

    def close(self) -> None:
        for t in list(self._timers.values()):
            t.cancel()
        self._timers.clear()
