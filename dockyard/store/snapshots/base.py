"""The snapshotter interface (containerd's nine verbs).

Lifecycle: ``prepare(key, parent)`` makes an *active* snapshot (writable); it is
either ``commit``-ed under a name (becoming a *committed*, read-only parent for
others) or ``remove``-d. ``view`` makes a read-only active snapshot. A committed
snapshot with children cannot be removed. Keys are caller-chosen strings: chain
IDs for image layers, container IDs for container layers.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterator, Protocol

from dockyard.store.mount import Mount

KIND_ACTIVE = "active"
KIND_VIEW = "view"
KIND_COMMITTED = "committed"


@dataclass(frozen=True)
class Info:
    key: str
    parent: str | None
    kind: str
    created: int
    sid: str


class Snapshotter(Protocol):
    def stat(self, key: str) -> Info: ...
    def usage(self, key: str) -> int: ...
    def mounts(self, key: str) -> list[Mount]: ...
    def prepare(self, key: str, parent: str | None) -> list[Mount]: ...
    def view(self, key: str, parent: str | None) -> list[Mount]: ...
    def commit(self, name: str, key: str) -> None: ...
    def remove(self, key: str) -> None: ...
    def walk(self) -> Iterator[Info]: ...
    def upper_dir(self, key: str) -> str: ...
