"""Container logs as conmon writes them (the k8s-file format), read back exactly.

Each line is ``<RFC 3339 time> <stdout|stderr> <P|F> <bytes>``: ``F`` ends a
line the container wrote (its newline is implied), ``P`` is a part without a
newline yet (a long line, or the last bytes before exit). Joining the parts
gives back exactly what the container wrote.
"""

from __future__ import annotations

import asyncio
import logging
import os
from collections import deque
from dataclasses import dataclass
from typing import AsyncIterator, Callable, Iterator

from dockyard.util.inotify import IN_MODIFY, IN_MOVED_TO, Inotify
from dockyard.util.timeutil import parse_rfc3339_ns

log = logging.getLogger(__name__)


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

    The daemon watches (inotify) the logs that have a ``max-file`` above 1; past ``max-size`` it
    renames ``log`` → ``log.1`` (shifting older ones up) and asks conmon to reopen its log (ctl
    message 2). conmon keeps appending to the renamed file until it reopens, so the files stay
    contiguous. (Should conmon ever replace the log on its own, the numbered files would no
    longer join up with the new one, and are dropped: a shorter history, never one with a hole.)"""

    def __init__(self) -> None:
        self._ino = Inotify()
        self._by_wd: dict[int, str] = {}
        self._watched: dict[str, _RotatedLog] = {}
        self._loop: asyncio.AbstractEventLoop | None = None

    @staticmethod
    def monitor_limit(max_size: int, max_files: int) -> int:
        """The size at which conmon itself truncates the log: only without rotation (``max-file`` 1).

        With rotation the daemon alone cuts the log, so rotated files always join up; while the
        daemon is away the log grows past ``max-size`` and is rotated when it is back."""
        if max_size <= 0 or max_files > 1:
            return -1
        return max_size

    def start(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._loop.add_reader(self._ino.fd, self._ready)

    def watch(self, log_path: str, bundle: str, max_size: int, max_files: int) -> None:
        if max_size <= 0 or max_files <= 1 or log_path in self._watched:
            return
        wd = self._ino.add_watch(os.path.dirname(log_path), IN_MODIFY | IN_MOVED_TO)
        self._by_wd[wd] = log_path
        self._watched[log_path] = _RotatedLog(log_path, bundle, max_size, max_files, wd)
        self._check(self._watched[log_path])

    def unwatch(self, log_path: str) -> None:
        """The container exited (conmon has closed the log): a last rotation, and no file over max-size."""
        entry = self._watched.pop(log_path, None)
        if entry is None:
            return
        self._by_wd.pop(entry.wd, None)
        self._ino.rm_watch(entry.wd)
        try:
            if os.path.exists(log_path) and os.stat(log_path).st_size > entry.max_size:
                rotate_files(log_path, entry.max_files, entry.max_size)
            _enforce_size(log_path, entry.max_size)
        except OSError as e:
            log.warning("rotating %s: %s", log_path, e)

    def _ready(self) -> None:
        base_of = {}
        for wd, mask, name in self._ino.read():
            path = self._by_wd.get(wd)
            if path is None or name != os.path.basename(path):
                continue
            entry = self._watched[path]
            if mask & IN_MOVED_TO:
                if entry.expect_reopen:
                    entry.expect_reopen = False
                else:
                    entry.drop_rotated()  # conmon cut the log on its own: what came before is not adjacent
            base_of[path] = entry
        for entry in base_of.values():
            self._check(entry)

    @staticmethod
    def _check(entry: "_RotatedLog") -> None:
        try:
            if not entry.expect_reopen and os.stat(entry.path).st_size > entry.max_size:
                entry.rotate()
        except OSError:
            pass

    def close(self) -> None:
        if self._loop is not None:
            self._loop.remove_reader(self._ino.fd)
        self._ino.close()


class _RotatedLog:
    def __init__(self, path: str, bundle: str, max_size: int, max_files: int, wd: int) -> None:
        self.path, self.bundle, self.max_size, self.max_files, self.wd = path, bundle, max_size, max_files, wd
        self.expect_reopen = False

    def rotate(self) -> None:
        rotate_files(self.path, self.max_files, self.max_size)
        try:
            fd = os.open(os.path.join(self.bundle, "ctl"), os.O_WRONLY | os.O_NONBLOCK | os.O_CLOEXEC)
        except OSError:
            return
        try:
            os.write(fd, b"2 0 0\n")  # conmon: reopen the log file
            self.expect_reopen = True
        except OSError:
            pass
        finally:
            os.close(fd)

    def drop_rotated(self) -> None:
        for name in log_files(self.path)[:-1]:
            try:
                os.unlink(name)
            except FileNotFoundError:
                pass


def rotate_files(log_path: str, max_files: int, max_size: int = 0) -> None:
    """``log.N-1`` → ``log.N`` … ``log`` → ``log.1``; files past ``max_files`` are deleted.

    A writer faster than the daemon's watch can leave a rotated file over ``max-size``: its oldest
    lines are cut when it moves on (conmon is done with it by then)."""
    if max_size > 0:
        _enforce_size(log_path, max_size)
    for n in range(max_files - 1, 0, -1):
        src = f"{log_path}.{n}"
        if not os.path.exists(src):
            continue
        if n + 1 >= max_files:
            os.unlink(src)
        else:
            os.replace(src, f"{log_path}.{n + 1}")
    os.replace(log_path, f"{log_path}.1")


def _enforce_size(log_path: str, max_size: int) -> None:
    """No rotated file over ``max_size``: the first (newest) one that is loses its oldest lines, and the
    older files go too, since they would no longer join up with it."""
    rotated = log_files(log_path)[:-1][::-1]  # .1, .2, ... newest first
    for i, name in enumerate(rotated):
        if os.stat(name).st_size > max_size:
            _trim_head(name, max_size)
            for older in rotated[i + 1:]:
                os.unlink(older)
            return


def _trim_head(path: str, max_size: int) -> None:
    """Keep the last ``max_size`` bytes of a closed log file, from a line start."""
    try:
        size = os.stat(path).st_size
    except FileNotFoundError:
        return
    if size <= max_size:
        return
    with open(path, "rb") as f:
        f.seek(size - max_size)
        data = f.read()
    cut = data.find(b"\n")
    data = data[cut + 1:] if cut >= 0 else b""
    tmp = path + ".trim"
    with open(tmp, "wb") as f:
        f.write(data)
    os.replace(tmp, path)
