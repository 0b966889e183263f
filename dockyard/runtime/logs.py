"""Container logs as conmon writes them (the k8s-file format), read back exactly.

Each line is ``<RFC 3339 time> <stdout|stderr> <P|F> <bytes>``: ``F`` ends a
line the container wrote (its newline is implied), ``P`` is a part without a
newline yet (a long line, or the last bytes before exit). Joining the parts
gives back exactly what the container wrote.
"""

from __future__ import annotations

import asyncio
import os
from collections import deque
from dataclasses import dataclass
from typing import AsyncIterator, Callable, Iterator

from dockyard.util.timeutil import parse_rfc3339_ns


@dataclass
class LogEntry:
    time_ns: int
    stream: str        # "stdout" | "stderr"
    data: bytes


class _Assembler:
    """Turns k8s-file lines into whole messages, per stream."""

    def __init__(self) -> None:
        self.partial: dict[str, LogEntry] = {}

    def feed(self, line: bytes) -> LogEntry | None:
        try:
            ts, stream, tag, content = line.split(b" ", 3)
        except ValueError:
            # "<ts> <stream> <tag>" with empty content has no trailing space-separated field
            try:
                ts, stream, tag = line.split(b" ", 2)
                content = b""
            except ValueError:
                return None
        try:
            t = parse_rfc3339_ns(ts.decode())
        except ValueError:
            return None
        s = stream.decode()
        pending = self.partial.pop(s, None)
        if tag == b"P":
            if pending is None:
                pending = LogEntry(t, s, content)
            else:
                pending.data += content
            self.partial[s] = pending
            return None
        if pending is None:
            return LogEntry(t, s, content + b"\n")
        pending.data += content + b"\n"
        return pending

    def flush(self) -> list[LogEntry]:
        out = sorted(self.partial.values(), key=lambda e: e.time_ns)
        self.partial.clear()
        return out


def read_entries(path: str) -> Iterator[LogEntry]:
    """Every complete message in the file, then the trailing partial ones."""
    asm = _Assembler()
    try:
        f = open(path, "rb")
    except FileNotFoundError:
        return
    with f:
        for line in f:
            if not line.endswith(b"\n"):
                break  # a line conmon is still writing
            e = asm.feed(line[:-1])
            if e is not None:
                yield e
    yield from asm.flush()


def select(entries: Iterator[LogEntry], *, stdout: bool, stderr: bool, since_ns: int = 0,
           until_ns: int = 0, tail: int = -1) -> list[LogEntry]:
    picked: deque[LogEntry] | list[LogEntry] = deque(maxlen=tail) if tail >= 0 else []
    for e in entries:
        if (e.stream == "stdout" and not stdout) or (e.stream == "stderr" and not stderr):
            continue
        if since_ns and e.time_ns < since_ns:
            continue
        if until_ns and e.time_ns > until_ns:
            continue
        picked.append(e)
    return list(picked)


async def follow(path: str, *, stdout: bool, stderr: bool, since_ns: int = 0, until_ns: int = 0,
                 tail: int = -1, running: Callable[[], bool], poll: float = 0.05) -> AsyncIterator[LogEntry]:
    """The selected history, then new messages as they are written, until the container stops."""
    asm = _Assembler()
    buf = b""
    pos = 0
    history: deque[LogEntry] | list[LogEntry] = deque(maxlen=tail) if tail >= 0 else []
    first = True
    ino = None
    while True:
        # Looked at before reading: once the container is gone, conmon has written everything.
        alive = running()
        try:
            st = os.stat(path)
        except FileNotFoundError:
            st = None
        if st is not None and (ino != st.st_ino or st.st_size < pos):
            ino, pos, buf = st.st_ino, 0, b""  # rotated or truncated: start over on the new file
        chunk = b""
        if st is not None and st.st_size > pos:
            with open(path, "rb") as f:
                f.seek(pos)
                chunk = f.read(st.st_size - pos)
            pos += len(chunk)
        buf += chunk
        lines = buf.split(b"\n")
        buf = lines.pop()
        for line in lines:
            e = asm.feed(line)
            if e is None or not _wanted(e, stdout, stderr, since_ns):
                continue
            if until_ns and e.time_ns > until_ns:
                return
            if first:
                history.append(e)
            else:
                yield e
        if first:
            first = False
            for e in history:
                yield e
        if not chunk and not alive:
            for e in asm.flush():
                if _wanted(e, stdout, stderr, since_ns):
                    yield e
            return
        if not chunk:
            await asyncio.sleep(poll)


def _wanted(e: LogEntry, stdout: bool, stderr: bool, since_ns: int) -> bool:
    if (e.stream == "stdout" and not stdout) or (e.stream == "stderr" and not stderr):
        return False
    return not (since_ns and e.time_ns < since_ns)
