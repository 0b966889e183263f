"""Exec: extra processes in a running container, through ``runc exec``.

The daemon owns an exec's stdio directly (pipes, or a pty whose other side is
runc's own stdio: runc copies it to and from the container's terminal). Execs do not outlive the daemon, as in Docker.
"""

from __future__ import annotations

import asyncio
import fcntl
import json
import logging
import os
import re
import shutil
import signal
import struct
import tempfile
import termios
from dataclasses import dataclass, field

from dockyard import errdefs
from dockyard.runtime import spec as rspec
from dockyard.runtime import stdio
from dockyard.runtime.oci import OCIRuntime
from dockyard.runtime.users import resolve_user
from dockyard.services.containers import ContainerService, Status
from dockyard.services.events import EventBus, label_attributes
from dockyard.util import ids

log = logging.getLogger(__name__)


@dataclass
class ExecInstance:
    id: str
    container_id: str
    config: dict
    running: bool = False
    exit_code: int | None = None
    pid: int = 0
    runtime_pid: int = 0
    started: bool = False
    error: str = ""  # the runtime's own error when the process never ran
    tty_master: int | None = None  # our side of the exec's terminal, from the moment it exists
    session: "ExecSession | None" = field(default=None, repr=False)
    done: asyncio.Event = field(default_factory=asyncio.Event, repr=False)

    @property
    def tty(self) -> bool:
        return bool(self.config.get("Tty"))


class ExecSession:
    """The stdio of one running exec, as (stream, bytes) reads and stdin writes."""

    def __init__(self, proc: asyncio.subprocess.Process, master_fd: int | None) -> None:
        self.proc = proc
        self.master_fd = master_fd
        self._queue: asyncio.Queue = asyncio.Queue()
        self._open_readers = 0
        self._last_cr = False
        loop = asyncio.get_running_loop()
        if master_fd is not None:
            os.set_blocking(master_fd, False)
            self._open_readers = 1
            loop.add_reader(master_fd, self._read_master)
        else:
            for stream, reader in ((stdio.STDOUT, proc.stdout), (stdio.STDERR, proc.stderr)):
                if reader is not None:
                    self._open_readers += 1
                    asyncio.ensure_future(self._pump(stream, reader))
        if self._open_readers == 0:
            self._queue.put_nowait(None)

    def _read_master(self) -> None:
        try:
            data = os.read(self.master_fd, 65536)
        except BlockingIOError:
            return
        except OSError:  # EIO: the last process holding the pty's other side is gone
            data = b""
        if data:
            self._queue.put_nowait((stdio.STDOUT, self._crlf(data)))
        else:
            asyncio.get_running_loop().remove_reader(self.master_fd)
            self._queue.put_nowait(None)

    def _crlf(self, data: bytes) -> bytes:
        """A terminal's \n → \r\n, for the lines the container's pty left untranslated.

        runc in the foreground clears ONLCR on the container's pty once it has it, but the process may
        have written before that (already \r\n); our own pty translates nothing (``_untranslated``),
        so the translation is finished here: every \n not preceded by \r gets one."""
        out = _LONE_LF.sub(b"\r\n", data)
        if data[:1] == b"\n" and self._last_cr:
            out = out[1:]  # the \r came at the end of the previous read
        self._last_cr = data[-1:] == b"\r"
        return out

    async def _pump(self, stream: int, reader: asyncio.StreamReader) -> None:
        while True:
            data = await reader.read(65536)
            if not data:
                break
            self._queue.put_nowait((stream, data))
        self._open_readers -= 1
        if self._open_readers == 0:
            self._queue.put_nowait(None)

    async def read(self) -> tuple[int, bytes] | None:
        return await self._queue.get()

    async def write(self, data: bytes) -> None:
        if self.master_fd is not None:
            loop = asyncio.get_running_loop()
            view = memoryview(data)
            while view:
                try:
                    n = os.write(self.master_fd, view)
                    view = view[n:]
                except BlockingIOError:
                    await asyncio.sleep(0.005)
                except OSError:
                    return
            del loop
        elif self.proc.stdin is not None:
            try:
                self.proc.stdin.write(data)
                await self.proc.stdin.drain()
            except (BrokenPipeError, ConnectionResetError):
                pass

    def close_stdin(self) -> None:
        if self.master_fd is None and self.proc.stdin is not None:
            self.proc.stdin.close()

    def close(self) -> None:
        if self.master_fd is not None:
            try:
                asyncio.get_running_loop().remove_reader(self.master_fd)
            except Exception:
                pass
            os.close(self.master_fd)
            self.master_fd = None


class ExecService:
    def __init__(self, *, containers: ContainerService, runtime: OCIRuntime, events: EventBus) -> None:
        self.containers = containers
        self.runtime = runtime
        self.events = events
        self._execs: dict[str, ExecInstance] = {}
        containers.on_exit_hooks.append(self._container_exited)

    def get(self, exec_id: str) -> ExecInstance:
        e = self._execs.get(exec_id)
        if e is None:
            raise errdefs.NotFound(f"No such exec instance: {exec_id}")
        return e

    def create(self, ref: str, config: dict) -> ExecInstance:
        c = self.containers.get(ref)
        if c.state.status == Status.PAUSED:
            raise errdefs.Conflict(f"Container {c.id} is paused, unpause the container before exec")
        if not c.state.running:
            raise errdefs.Conflict(f"Container {c.id} is not running")
        if c.state.status == Status.RESTARTING:
            raise errdefs.Conflict(f"Container {c.id} is restarting, wait until the container is running")
        cmd = config.get("Cmd")
        if not cmd:
            raise errdefs.InvalidArgument("No exec command specified")
        if config.get("DetachKeys"):
            stdio.parse_detach_keys(config["DetachKeys"])
        e = ExecInstance(ids.new_id(), c.id, dict(config))
        self._execs[e.id] = e
        c.exec_ids.append(e.id)
        self.events.publish("container", f"exec_create: {' '.join(cmd)}", c.id, execID=e.id,
                            image=c.config.get("Image"), name=c.name, **label_attributes(c.config.get("Labels")))
        return e

    async def start(self, exec_id: str, *, tty: bool | None = None, console_size: list[int] | None = None) -> ExecInstance:
        """Run the exec; its session (stdio) is ``e.session``; ``e.done`` is set when it exits."""
        e = self.get(exec_id)
        if e.started:
            raise errdefs.Conflict(f"Error: Exec command {exec_id} has already run")
        c = self.containers.get(e.container_id)
        if c.state.status == Status.PAUSED:
            raise errdefs.Conflict(f"Container {c.id} is paused, unpause the container before exec")
        if not c.state.running:
            raise errdefs.Conflict(f"Container {c.id} is not running")
        if tty is not None:
            e.config["Tty"] = tty
        e.started = True
        cfg = e.config
        try:
            with open(os.path.join(c.bundle, "config.json")) as f:
                base = json.load(f)["process"]
        except (OSError, ValueError, KeyError):
            raise errdefs.System(f"container {c.id} has no runtime spec") from None
        user = resolve_user(c.rootfs, cfg["User"]) if cfg.get("User") else None
        process = rspec.exec_process(base, args=list(cfg["Cmd"]), env=list(cfg.get("Env") or []),
                                     cwd=cfg.get("WorkingDir") or None, user=user, tty=e.tty,
                                     privileged=bool(cfg.get("Privileged")))
        workdir = tempfile.mkdtemp(prefix="dyexec")
        master = slave = None
        try:
            proc_file = os.path.join(workdir, "process.json")
            with open(proc_file, "w") as f:
                json.dump(process, f)
            pid_file = os.path.join(workdir, "pid")
            args = self.runtime.exec_args(c.id, proc_file, tty=e.tty, pid_file=pid_file,
                                          log_file=os.path.join(workdir, "runtime.log"))
            if e.tty:
                # runc in the foreground with a terminal makes the container's pty and copies between it and
                # its own stdio; we give it a pty of ours, whose size it copies on SIGWINCH.
                master, slave = os.openpty()
                _untranslated(slave)
                if console_size and all(console_size):
                    _set_winsize(master, console_size[0], console_size[1])
                e.tty_master = master  # a resize before the process runs sets the size runc starts with
                proc = await asyncio.create_subprocess_exec(*args, stdin=slave, stdout=slave, stderr=slave,
                                                            start_new_session=True)
                e.runtime_pid = proc.pid
                os.close(slave)
                slave = None
            else:
                stdin = asyncio.subprocess.PIPE if cfg.get("AttachStdin") else asyncio.subprocess.DEVNULL
                proc = await asyncio.create_subprocess_exec(*args, stdin=stdin, stdout=asyncio.subprocess.PIPE,
                                                            stderr=asyncio.subprocess.PIPE)
            e.pid = await self._read_pid(pid_file, proc)
        except BaseException:
            e.tty_master = None
            for fd in (master, slave):
                if fd is not None:
                    os.close(fd)
            shutil.rmtree(workdir, ignore_errors=True)
            raise
        e.running = True
        e.runtime_pid = proc.pid
        e.session = ExecSession(proc, master)
        self.events.publish("container", f"exec_start: {' '.join(cfg['Cmd'])}", c.id, execID=e.id,
                            image=c.config.get("Image"), name=c.name, **label_attributes(c.config.get("Labels")))
        asyncio.ensure_future(self._wait(e, proc, workdir))
        return e

    async def _read_pid(self, pid_file: str, proc: asyncio.subprocess.Process) -> int:
        for _ in range(400):
            try:
                with open(pid_file) as f:
                    text = f.read().strip()
                if text:
                    return int(text)
            except FileNotFoundError:
                pass
            if proc.returncode is not None:
                break
            await asyncio.sleep(0.005)
        return 0

    async def _wait(self, e: ExecInstance, proc: asyncio.subprocess.Process, workdir: str) -> None:
        try:
            code = await proc.wait()
            e.error = _runtime_error(os.path.join(workdir, "runtime.log"))
            failed = bool(e.error)
        finally:
            shutil.rmtree(workdir, ignore_errors=True)
        # The process never ran (not found, not executable): Docker's exit code for that is 126.
        e.exit_code = 126 if failed else (code if code >= 0 else 128 - code)
        e.running = False
        e.done.set()
        c = self.containers._by_id.get(e.container_id)
        self.events.publish("container", "exec_die", e.container_id, execID=e.id, exitCode=str(e.exit_code),
                            image=c.config.get("Image") if c else None, name=c.name if c else None,
                            **label_attributes(c.config.get("Labels") if c else None))

    def resize(self, exec_id: str, height: int, width: int) -> None:
        e = self.get(exec_id)
        if e.session is None and e.tty_master is not None:
            # still starting (runc sets up the process, seccomp...): runc copies this size when it is ready
            _set_winsize(e.tty_master, height, width)
            if e.runtime_pid:
                try:
                    os.kill(e.runtime_pid, signal.SIGWINCH)
                except ProcessLookupError:
                    pass
            return
        if not e.running or e.session is None:
            raise errdefs.Conflict(f"Exec {exec_id} is not running")
        if e.session.master_fd is not None:
            _set_winsize(e.session.master_fd, height, width)
            try:
                os.kill(e.runtime_pid, signal.SIGWINCH)  # runc copies the new size to the container's pty
            except ProcessLookupError:
                pass

    def inspect(self, exec_id: str) -> dict:
        e = self.get(exec_id)
        cfg = e.config
        cmd = list(cfg.get("Cmd") or [])
        return {
            "CanRemove": False, "ContainerID": e.container_id, "DetachKeys": cfg.get("DetachKeys") or "",
            "ExitCode": e.exit_code, "ID": e.id, "OpenStderr": bool(cfg.get("AttachStderr")),
            "OpenStdin": bool(cfg.get("AttachStdin")), "OpenStdout": bool(cfg.get("AttachStdout")),
            "ProcessConfig": {"arguments": cmd[1:], "entrypoint": cmd[0] if cmd else "",
                              "privileged": bool(cfg.get("Privileged")), "tty": bool(cfg.get("Tty")),
                              "user": cfg.get("User") or ""},
            "Running": e.running, "Pid": e.pid,
        }

    def discard(self, exec_id: str) -> None:
        """Forget a finished exec at once (the health checker's probes, which nobody inspects)."""
        e = self._execs.get(exec_id)
        if e is None or e.running:
            return
        del self._execs[exec_id]
        c = self.containers._by_id.get(e.container_id)
        if c is not None and exec_id in c.exec_ids:
            c.exec_ids.remove(exec_id)

    def _container_exited(self, c) -> None:
        # Docker forgets a container's execs once it stops.
        for exec_id in c.exec_ids:
            e = self._execs.get(exec_id)
            if e is not None and not e.running:
                self._execs.pop(exec_id, None)
        c.exec_ids = [i for i in c.exec_ids if i in self._execs]


_LONE_LF = re.compile(rb"(?<!\r)\n")


def _untranslated(fd: int) -> None:
    """A pty that passes bytes through as they are, even after runc makes it "raw" (which keeps OPOST)."""
    attrs = termios.tcgetattr(fd)
    attrs[0] &= ~(termios.ICRNL | termios.INLCR | termios.IGNCR | termios.IXON)
    attrs[1] &= ~(termios.OPOST | termios.ONLCR | termios.OCRNL)
    attrs[3] &= ~(termios.ECHO | termios.ICANON | termios.ISIG | termios.IEXTEN)
    termios.tcsetattr(fd, termios.TCSANOW, attrs)


def _set_winsize(fd: int, height: int, width: int) -> None:
    # the kernel's winsize holds 16-bit values; Docker passes larger ones through truncated
    fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", height & 0xFFFF, width & 0xFFFF, 0, 0))


def _runtime_error(log_file: str) -> str:
    """runc's own error (the exec never started), as Docker words it; "" when there is none."""
    try:
        with open(log_file) as f:
            lines = [line for line in f if '"level":"error"' in line]
    except FileNotFoundError:
        return ""
    if not lines:
        return ""
    try:
        msg = json.loads(lines[-1]).get("msg") or "exec failed"
    except ValueError:
        msg = "exec failed"
    return f"OCI runtime exec failed: {msg}: unknown"
