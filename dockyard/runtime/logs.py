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

from dockyard.util.inotify import IN_MOVED_TO, Inotify
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


def log_files(path: str) -> list[str]:
    """The rotated files (``path.N`` … ``path.1``) then ``path``: oldest first."""
    d, base = os.path.split(path)
    rotated = []
    try:
        for name in os.listdir(d):
            suffix = name[len(base) + 1:]
            if name.startswith(base + ".") and suffix.isdigit():
                rotated.append((int(suffix), os.path.join(d, name)))
    except FileNotFoundError:
        return []
    return [p for _, p in sorted(rotated, reverse=True)] + [path]


def read_entries(path: str) -> Iterator[LogEntry]:
    """Every complete message in the log and its rotated files, then the trailing partial ones."""
    asm = _Assembler()
    for name in log_files(path):
        try:
            f = open(name, "rb")
        except FileNotFoundError:
            continue
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
    """The selected history, then new messages as they are written, until the container stops.

    The open file is read to its end before following a rotation to the new one, so nothing
    written just before a rotation is skipped."""
    asm = _Assembler()
    history: deque[LogEntry] | list[LogEntry] = deque(maxlen=tail) if tail >= 0 else []
    for name in log_files(path)[:-1]:
        with open(name, "rb") as f:
            for line in f:
                e = asm.feed(line.rstrip(b"\n"))
                if e is not None and _wanted(e, stdout, stderr, since_ns):
                    history.append(e)
    f = _open_or_none(path)
    buf = b""
    first = True
    try:
        while True:
            # Looked at before reading: once the container is gone, conmon has written everything.
            alive = running()
            chunk = f.read() if f is not None else b""
            if not chunk:
                newer = _open_or_none(path)
                if newer is not None and (f is None or os.fstat(newer.fileno()).st_ino != os.fstat(f.fileno()).st_ino):
                    if f is not None:
                        chunk = f.read()  # the rest of the file conmon just rotated away
                        f.close()
                    f = newer
                    chunk += f.read()
                elif newer is not None:
                    newer.close()
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
    finally:
        if f is not None:
            f.close()


def _open_or_none(path: str):
    try:
        return open(path, "rb")
    except FileNotFoundError:
        return None


def _wanted(e: LogEntry, stdout: bool, stderr: bool, since_ns: int) -> bool:
    if (e.stream == "stdout" and not stdout) or (e.stream == "stderr" and not stderr):
        return False
    return not (since_ns and e.time_ns < since_ns)


class LogKeeper:
    """Docker's ``max-file`` rotation on top of conmon's ``--log-size-max``.

    conmon replaces a full log by a new empty file (rename over it), which on its own keeps
    no history. A hard link ``<log>.keep`` always names the current file; when conmon replaces
    it, the old inode lives on through that link and is shifted into ``<log>.1``, ``.2``...
    While the daemon is down the link still saves the first replaced file; it is moved into
    place at the next start."""

    def __init__(self) -> None:
        self._ino = Inotify()
        self._watches: dict[int, tuple[str, int]] = {}
        self._by_path: dict[str, int] = {}
        self._loop: asyncio.AbstractEventLoop | None = None

    def start(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._loop.add_reader(self._ino.fd, self._ready)

    def watch(self, log_path: str, max_files: int) -> None:
        if max_files <= 1 or log_path in self._by_path:
            return
        keep = log_path + ".keep"
        try:
            if os.path.exists(keep) and os.stat(keep).st_ino != os.stat(log_path).st_ino:
                self._rotate(log_path, max_files)  # conmon rotated while we were away
            elif not os.path.exists(keep):
                os.link(log_path, keep)
        except FileNotFoundError:
            pass
        wd = self._ino.add_watch(os.path.dirname(log_path), IN_MOVED_TO)
        self._watches[wd] = (log_path, max_files)
        self._by_path[log_path] = wd

    def unwatch(self, log_path: str) -> None:
        wd = self._by_path.pop(log_path, None)
        if wd is not None:
            self._watches.pop(wd, None)
            self._ino.rm_watch(wd)

    def _ready(self) -> None:
        for wd, _mask, name in self._ino.read():
            entry = self._watches.get(wd)
            if entry and name == os.path.basename(entry[0]):
                self._rotate(*entry)

    @staticmethod
    def _rotate(log_path: str, max_files: int) -> None:
        keep = log_path + ".keep"
        for n in range(max_files - 1, 0, -1):
            src = f"{log_path}.{n}"
            if os.path.exists(src):
                if n + 1 >= max_files:
                    os.unlink(src)
                else:
                    os.replace(src, f"{log_path}.{n + 1}")
        if os.path.exists(keep):
            os.replace(keep, f"{log_path}.1")
        try:
            os.link(log_path, keep)
        except (FileNotFoundError, FileExistsError):
            pass

    def close(self) -> None:
        if self._loop is not None:
            self._loop.remove_reader(self._ino.fd)
        self._ino.close()
