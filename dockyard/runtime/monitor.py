"""Per-container monitors: conmon owns the container's stdio, log and exit status.

conmon double-forks away from the daemon, so containers outlive a daemon
restart. It runs ``runc create`` and reports the container's PID (or the
runtime's error) on a sync pipe; the daemon then connects attach clients and
runs ``runc start``. On exit conmon writes the exit code to ``<exit_dir>/<id>``,
which ``ExitWatcher`` picks up through inotify — live or at the next start.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import shutil
import subprocess
from dataclasses import dataclass
from typing import Callable

from dockyard import errdefs
from dockyard.runtime.oci import OCIRuntime, runtime_error_text
from dockyard.util.inotify import IN_CLOSE_WRITE, IN_MOVED_TO, Inotify

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class MonitorSpec:
    container_id: str
    bundle: str
    log_path: str
    tty: bool = False
    stdin: bool = False
    stdin_once: bool = False
    log_size_max: int = -1


class ConmonMonitor:
    """Launches conmon for containers; ``exit_dir`` and ``socket_dir`` are shared by all of them."""

    def __init__(self, runtime: OCIRuntime, *, exit_dir: str, socket_dir: str, persist_dir: str,
                 binary: str = "conmon") -> None:
        self.runtime = runtime
        self.exit_dir = exit_dir
        self.socket_dir = socket_dir
        self.persist_dir = persist_dir
        self.binary = binary
        self._pidfiles = _PidFileWatch()
        for d in (exit_dir, socket_dir, persist_dir):
            os.makedirs(d, mode=0o700, exist_ok=True)

    def exit_file(self, cid: str) -> str:
        return os.path.join(self.exit_dir, cid)

    def oom_file(self, cid: str) -> str:
        return os.path.join(self.persist_dir, cid, "oom")

    @staticmethod
    def attach_path(bundle: str) -> str:
        return os.path.join(bundle, "attach")

    @staticmethod
    def ctl_path(bundle: str) -> str:
        return os.path.join(bundle, "ctl")

    def _args(self, spec: MonitorSpec) -> list[str]:
        cid = spec.container_id
        args = [
            self.binary, "--api-version", "1", "-c", cid, "-u", cid[:12], "-n", cid[:12],
            "-r", self.runtime.binary, "-b", spec.bundle,
            "-p", os.path.join(spec.bundle, "pidfile"),
            "-P", os.path.join(spec.bundle, "conmon.pid"),
            "--exit-dir", self.exit_dir,
            "--persist-dir", os.path.join(self.persist_dir, cid),
            "--socket-dir-path", self.socket_dir,
            "-l", f"k8s-file:{spec.log_path}",
            "--log-level", "error",
        ]
        if self.runtime.root:
            args += ["--runtime-arg", "--root", "--runtime-arg", self.runtime.root]
        if spec.log_size_max > 0:
            args += ["--log-size-max", str(spec.log_size_max)]
        if spec.tty:
            args.append("-t")
        if spec.stdin:
            args.append("-i")
            if not spec.stdin_once:
                args.append("--leave-stdin-open")
        return args

    async def create(self, spec: MonitorSpec) -> int:
        """Start conmon, which runs ``runc create``; returns the container's PID."""
        pidfile = os.path.join(spec.bundle, "pidfile")
        for stale in (self.exit_file(spec.container_id), pidfile, os.path.join(spec.bundle, "attach"),
                      os.path.join(spec.bundle, "ctl"), os.path.join(spec.bundle, "winsz")):
            try:
                os.unlink(stale)
            except FileNotFoundError:
                pass
        # conmon records the exit status (and an OOM kill) here; it does not create the directory itself
        persist = os.path.join(self.persist_dir, spec.container_id)
        os.makedirs(persist, mode=0o700, exist_ok=True)
        # runc's pid file is renamed into place once the container is created (its init waits on
        # exec.fifo); runc itself then takes ~1 ms more to exit, and conmon reports only after that.
        # Watching for the file lets the start go on as soon as it is there.
        wd = self._pidfiles.watch(spec.bundle) if self.runtime.name == "runc" else None
        sync_r, sync_w = os.pipe2(os.O_CLOEXEC)
        env = {"PATH": os.environ.get("PATH", "/usr/sbin:/usr/bin:/sbin:/bin"), "_OCI_SYNCPIPE": str(sync_w)}
        try:
            # conmon forks and its parent exits at once; the child lives on in its own session.
            proc = subprocess.Popen(self._args(spec), pass_fds=(sync_w,), env=env, stdin=subprocess.DEVNULL,
                                    stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
                                    cwd=persist)  # conmon also writes an "oom" file in its working directory
        except FileNotFoundError:
            os.close(sync_r)
            os.close(sync_w)
            if wd is not None:
                self._pidfiles.unwatch(wd)
            raise errdefs.System(f"container monitor {self.binary!r} not found: install conmon") from None
        os.close(sync_w)
        loop = asyncio.get_running_loop()
        if wd is not None:
            try:
                created = await self._pidfiles.wait(wd, sync_r)
            except BaseException:
                os.close(sync_r)
                raise
            if created:
                pid = _read_pid(pidfile)
                if pid > 0:
                    _drain_report(loop, sync_r, proc)  # conmon's own report follows; read it, reap conmon
                    return pid
        try:
            data = await loop.run_in_executor(None, _read_all, sync_r)
        finally:
            os.close(sync_r)
        await loop.run_in_executor(None, proc.wait)
        msg = _first_json(data)
        if msg is None:
            raise errdefs.System("container monitor exited without reporting the container's PID")
        pid = int(msg.get("data", -1))
        if pid <= 0:
            detail = _clean_runtime_message(msg.get("message", "runtime failed to create the container"))
            raise errdefs.System(f"failed to create task for container: OCI runtime create failed: "
                                 f"{self.runtime.name} create failed: {detail}: unknown")
        return pid

    @staticmethod
    def monitor_pid(bundle: str) -> int:
        try:
            with open(os.path.join(bundle, "conmon.pid")) as f:
                return int(f.read().strip() or 0)
        except (FileNotFoundError, ValueError):
            return 0

    def read_exit_code(self, cid: str) -> int | None:
        try:
            with open(self.exit_file(cid)) as f:
                text = f.read().strip()
        except FileNotFoundError:
            return None
        try:
            return int(text)
        except ValueError:
            return None

    def oom_killed(self, cid: str) -> bool:
        return os.path.exists(self.oom_file(cid))

    def forget(self, cid: str) -> None:
        """Drop what conmon left for a container that is gone (exit file, persist dir, socket link)."""
        for path in (self.exit_file(cid), os.path.join(self.socket_dir, cid[:12])):
            try:
                os.unlink(path)
            except FileNotFoundError:
                pass
        shutil.rmtree(os.path.join(self.persist_dir, cid), ignore_errors=True)


class _PidFileWatch:
    """Waits for runc's pid file to be renamed into a bundle, or for conmon's report, whichever is first.

    One inotify instance serves every start, with a watch per bundle while it starts: closing an
    inotify descriptor waits for the kernel's SRCU grace period (up to 16 ms measured here), so an
    instance per start would cost more than the wait it saves."""

    def __init__(self) -> None:
        self._ino: Inotify | None = None
        self._waiting: dict[int, asyncio.Future[bool]] = {}

    def watch(self, bundle: str) -> int:
        """Start watching ``bundle`` (before conmon is started, so the rename cannot be missed)."""
        if self._ino is None:
            self._ino = Inotify()
        return self._ino.add_watch(bundle, IN_MOVED_TO)

    async def wait(self, wd: int, sync_fd: int) -> bool:
        """True when the pid file came first; False when conmon reported first (an error, usually).
        Ends the watch ``wd`` either way."""
        assert self._ino is not None
        loop = asyncio.get_running_loop()
        done: asyncio.Future[bool] = loop.create_future()
        if not self._waiting:
            loop.add_reader(self._ino.fd, self._renamed)
        self._waiting[wd] = done

        def report_ready() -> None:
            if not done.done():
                done.set_result(False)

        loop.add_reader(sync_fd, report_ready)
        try:
            return await done
        finally:
            loop.remove_reader(sync_fd)
            del self._waiting[wd]
            if not self._waiting:
                loop.remove_reader(self._ino.fd)
            self.unwatch(wd)

    def unwatch(self, wd: int) -> None:
        self._ino.rm_watch(wd)

    def _renamed(self) -> None:
        for wd, _mask, name in self._ino.read():
            fut = self._waiting.get(wd)
            if name == "pidfile" and fut is not None and not fut.done():
                fut.set_result(True)


def _read_pid(path: str) -> int:
    # O_NOATIME: runc has just written the file with O_SYNC, and the atime update of a plain read
    # waited for that journal commit (0.4 ms per start, measured with cProfile)
    try:
        fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC | os.O_NOATIME)
    except FileNotFoundError:
        return 0
    try:
        return int(os.read(fd, 64).strip() or 0)
    except ValueError:
        return 0
    finally:
        os.close(fd)


def _drain_report(loop: asyncio.AbstractEventLoop, fd: int, proc: subprocess.Popen) -> None:
    """Read conmon's report off the sync pipe when it comes (conmon must not find the pipe closed
    while it writes), then close the pipe and reap conmon's first process (long exited by then)."""
    def ready() -> None:
        try:
            data = os.read(fd, 65536)
        except OSError:
            data = b""
        if data and b"\n" not in data:
            return
        loop.remove_reader(fd)
        os.close(fd)
        proc.poll()

    loop.add_reader(fd, ready)


def _read_all(fd: int) -> bytes:
    chunks = []
    while True:
        b = os.read(fd, 65536)
        if not b:
            return b"".join(chunks)
        chunks.append(b)
        if b"\n" in b:  # conmon sends one JSON line per message; the PID is the first
            return b"".join(chunks)


def _first_json(data: bytes) -> dict | None:
    for line in data.splitlines():
        try:
            return json.loads(line)
        except ValueError:
            continue
    return None


def _clean_runtime_message(message: str) -> str:
    """conmon wraps runc's stderr (``... msg="runc create failed: unable to start container process: ..."``)."""
    message = message.strip()
    if 'msg="' in message:
        message = runtime_error_text(message)
    message = message.replace('\\"', '"').rstrip('"')
    for prefix in ("runc create failed: ", "crun create failed: "):
        if prefix in message:
            message = message.split(prefix, 1)[1]
    return message.splitlines()[0] if message else message


class ExitWatcher:
    """Calls ``on_exit(container_id)`` whenever conmon writes an exit file."""

    def __init__(self, exit_dir: str, on_exit: Callable[[str], None]) -> None:
        self.exit_dir = exit_dir
        self.on_exit = on_exit
        self._ino = Inotify()
        self._ino.add_watch(exit_dir, IN_CLOSE_WRITE | IN_MOVED_TO)
        self._loop: asyncio.AbstractEventLoop | None = None

    def start(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._loop.add_reader(self._ino.fd, self._ready)

    def _ready(self) -> None:
        for _wd, _mask, name in self._ino.read():
            if name and not name.startswith("."):
                try:
                    self.on_exit(name)
                except Exception:  # a bad exit file must not stop the watcher
                    log.exception("handling exit of %s", name)

    def close(self) -> None:
        if self._loop is not None:
            self._loop.remove_reader(self._ino.fd)
        self._ino.close()
