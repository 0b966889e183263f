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


class LogRotator:
    """Docker's ``max-size``/``max-file`` rotation for conmon-written logs.

    While the daemon runs it watches the size of each log that has a ``max-file`` above 1;
    past ``max-size`` it renames ``log`` → ``log.1`` (shifting older ones up) and asks conmon
    to reopen its log (ctl message 2). conmon keeps appending to the renamed file until it
    reopens, so the files stay contiguous. While the daemon is away, conmon's own
    ``--log-size-max`` (set to max-size × max-file) bounds the disk used."""

    def __init__(self, interval: float = 0.25) -> None:
        self.interval = interval
        self._watched: dict[str, tuple[str, int, int]] = {}
        self._task: asyncio.Task | None = None

    @staticmethod
    def monitor_limit(max_size: int, max_files: int) -> int:
        """The size at which conmon itself truncates the log."""
        if max_size <= 0:
            return -1
        return max_size * max_files if max_files > 1 else max_size

    def start(self) -> None:
        self._task = asyncio.ensure_future(self._run())

    def watch(self, log_path: str, bundle: str, max_size: int, max_files: int) -> None:
        if max_size > 0 and max_files > 1:
            self._watched[log_path] = (bundle, max_size, max_files)

    def unwatch(self, log_path: str) -> None:
        self._watched.pop(log_path, None)

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(self.interval)
            for path, (bundle, max_size, max_files) in list(self._watched.items()):
                try:
                    if os.stat(path).st_size > max_size:
                        self.rotate(path, bundle, max_files)
                except OSError:
                    continue

    @staticmethod
    def rotate(log_path: str, bundle: str, max_files: int) -> None:
        for n in range(max_files - 1, 0, -1):
            src = f"{log_path}.{n}"
            if not os.path.exists(src):
                continue
            if n + 1 >= max_files:
                os.unlink(src)
            else:
                os.replace(src, f"{log_path}.{n + 1}")
        os.replace(log_path, f"{log_path}.1")
        try:
            fd = os.open(os.path.join(bundle, "ctl"), os.O_WRONLY | os.O_NONBLOCK | os.O_CLOEXEC)
        except OSError:
            return
        try:
            os.write(fd, b"2 0 0\n")  # conmon: reopen the log file
        except OSError:
            pass
        finally:
            os.close(fd)

    def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
