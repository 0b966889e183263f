"""The event bus: every state change is published here and streamed by ``/events``.

Events are kept in a bounded ring so ``--since`` can replay recent history, as
Docker keeps its last 256 events.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from dataclasses import dataclass, field
from typing import AsyncIterator

from dockyard.util.filters import Filters

HISTORY = 1024


@dataclass
class Event:
    type: str                 # container | image | volume | network | daemon
    action: str               # create, start, die, ...
    actor_id: str
    attributes: dict[str, str] = field(default_factory=dict)
    time_ns: int = field(default_factory=time.time_ns)
    scope: str = "local"

    def to_json(self) -> dict:
        out: dict = {}
        if self.type in ("container", "image"):
            # the pre-1.22 fields, still sent by Docker
            out["status"] = self.action
            out["id"] = self.actor_id
            if self.type == "container" and "image" in self.attributes:
                out["from"] = self.attributes["image"]
        out.update({
            "Type": self.type, "Action": self.action,
            "Actor": {"ID": self.actor_id, "Attributes": dict(self.attributes)},
            "scope": self.scope, "time": self.time_ns // 1_000_000_000, "timeNano": self.time_ns,
        })
        return out


# attributes a container event sets itself; a label of the same name gives way (Docker sets image and
# name over the labels; the others are dropped rather than passed twice)
_OWN_ATTRIBUTES = frozenset({"image", "name", "exitCode", "signal", "oldName", "height", "width", "execID"})


def label_attributes(labels: dict | None) -> dict[str, str]:
    """A container's labels as event attributes (Docker copies them into every container event)."""
    return {k: v for k, v in (labels or {}).items() if k not in _OWN_ATTRIBUTES}


def matches(ev: Event, f: Filters) -> bool:
    if not f.match_any("type", ev.type):
        return False
    if "event" in f and ev.action.split(":")[0] not in f.get("event") and ev.action not in f.get("event"):
        return False
    if not f.match_labels(ev.attributes):
        return False
    for key, kind in (("container", "container"), ("image", "image"), ("volume", "volume"), ("network", "network")):
        wanted = f.get(key)
        if not wanted:
            continue
        if ev.type == kind:
            name = ev.attributes.get("name", "")
            if not any(w == ev.actor_id or ev.actor_id.startswith(w) or w == name for w in wanted):
                return False
        elif kind == "image" and ev.type == "container":
            if ev.attributes.get("image") not in wanted:
                return False
        else:
            return False
    if "daemon" in f and ev.type != "daemon":
        return False
    return True


class EventBus:
    def __init__(self) -> None:
        self._history: deque[Event] = deque(maxlen=HISTORY)
        self._subscribers: set[asyncio.Queue] = set()

    def publish(self, type: str, action: str, actor_id: str, /, **attributes: str) -> Event:
        ev = Event(type, action, actor_id, {k: str(v) for k, v in attributes.items() if v is not None})
        self._history.append(ev)
        for q in list(self._subscribers):
            q.put_nowait(ev)
        return ev

    async def subscribe(self, f: Filters, since_ns: int = 0, until_ns: int = 0) -> AsyncIterator[Event]:
        """Past events from ``since_ns``, then live ones until ``until_ns`` (forever when 0)."""
        q: asyncio.Queue = asyncio.Queue()
        self._subscribers.add(q)
        try:
            now = time.time_ns()
            if since_ns:
                for ev in list(self._history):
                    if ev.time_ns >= since_ns and (not until_ns or ev.time_ns <= until_ns) and matches(ev, f):
                        yield ev
            if until_ns and until_ns <= now:
                return
            while True:
                timeout = None
                if until_ns:
                    timeout = max(0.0, (until_ns - time.time_ns()) / 1e9)
                try:
                    ev = await asyncio.wait_for(q.get(), timeout)
                except asyncio.TimeoutError:
                    return
                if ev.time_ns < since_ns:
                    continue
                if matches(ev, f):
                    yield ev
        finally:
            self._subscribers.discard(q)
