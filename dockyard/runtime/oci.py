"""A thin wrapper over an OCI runtime's command line (runc by default).

It runs the verbs and turns the runtime's error output into errors; it keeps no
state and knows nothing about containers beyond their IDs.
"""

from __future__ import annotations

import asyncio
import errno
import json
import os
import re
import shutil
import time

from dockyard import errdefs

_MSG = re.compile(r'msg="((?:[^"\\]|\\.)*)"')


def runtime_error_text(stderr: str) -> str:
    """The human part of runc's ``time=... level=error msg="..."`` lines."""
    msgs = [bytes(m, "utf-8").decode("unicode_escape", errors="replace") for m in _MSG.findall(stderr)]
    if msgs:
        return msgs[-1]
    return stderr.strip().splitlines()[-1] if stderr.strip() else "unknown runtime error"


def _release_exec_fifo(path: str) -> None:
    fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    try:
        data = b""
        while chunk := os.read(fd, 64):
            data += chunk
    finally:
        os.close(fd)
    if not data:
        raise errdefs.Conflict("cannot start an already running container")
    os.unlink(path)


def _init_alive(pid: int, start: int) -> bool:
    """Whether runc's init process (same PID *and* start time, as runc checks) still runs."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
    except (FileNotFoundError, ProcessLookupError, IndexError):
        return False
    return fields[0] not in ("Z", "X") and int(fields[19]) == start


def _remove_cgroup(path: str) -> bool:
    """runc's cgroups.RemovePath: rmdir, children first, retrying while the kernel still counts an
    exiting task (EBUSY); True once the directory is gone."""
    delay = 0.002
    for _ in range(6):
        try:
            os.rmdir(path)
            return True
        except FileNotFoundError:
            return True
        except OSError as e:
            if e.errno not in (errno.EBUSY, errno.ENOTEMPTY, errno.EEXIST):
                return False
        try:
            children = [d.path for d in os.scandir(path) if d.is_dir(follow_symlinks=False)]
        except FileNotFoundError:
            return True
        if children:
            if not all(_remove_cgroup(c) for c in children):
                return False
            continue
        time.sleep(delay)
        delay *= 2
    return False


def forget_stopped(state_dir: str) -> bool:
    """What ``runc delete`` does for a container whose processes are all gone, without running runc
    (a Go process, ~12 ms of CPU on every container exit): remove its cgroups and its state
    directory. Only for the plain case -- its own PID namespace (so no process can outlive init),
    no poststop hooks, no Intel RDT group; returns False (nothing done beyond cgroup dirs already
    empty) when runc itself must do it."""
    try:
        with open(os.path.join(state_dir, "state.json")) as f:
            state = json.load(f)
    except FileNotFoundError:
        return True  # no record: nothing to delete
    except ValueError:
        return False
    config = state.get("config") or {}
    own_pid_ns = any(ns.get("type") == "NEWPID" and not ns.get("path") for ns in config.get("namespaces") or [])
    if (not own_pid_ns or (config.get("Hooks") or {}).get("poststop") or state.get("intel_rdt_path")
            or _init_alive(int(state.get("init_process_pid") or 0), int(state.get("init_process_start") or 0))):
        return False
    paths = sorted(set((state.get("cgroup_paths") or {}).values()))
    if not all(_remove_cgroup(p) for p in paths if p):
        return False
    shutil.rmtree(state_dir, ignore_errors=True)
    return True


class OCIRuntime:
    def __init__(self, binary: str = "runc", root: str | None = None) -> None:
        self.binary = binary
        self.root = root
        if root:
            os.makedirs(root, mode=0o700, exist_ok=True)

    @property
    def name(self) -> str:
        return os.path.basename(self.binary)

    def base_args(self) -> list[str]:
        args = [self.binary]
        if self.root:
            args += ["--root", self.root]
        return args

    async def _run(self, *args: str, input: bytes | None = None) -> str:
        proc = await asyncio.create_subprocess_exec(
            *self.base_args(), *args, stdin=asyncio.subprocess.PIPE if input else asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
        out, err = await proc.communicate(input)
        if proc.returncode != 0:
            text = runtime_error_text(err.decode(errors="replace"))
            if "does not exist" in text or "not found" in text and "container" in text:
                raise errdefs.NotFound(text)
            raise errdefs.System(text)
        return out.decode(errors="replace")

    async def start(self, cid: str) -> None:
        fifo = os.path.join(self.root, cid, "exec.fifo") if self.root and self.name == "runc" else None
        if fifo and os.path.exists(fifo):
            # What ``runc start`` does, without starting a Go binary (~10 ms): runc's init waits,
            # blocked, to write into exec.fifo; reading it lets init exec the process.
            await asyncio.get_running_loop().run_in_executor(None, _release_exec_fifo, fifo)
            return
        await self._run("start", cid)

    async def kill(self, cid: str, signal: int, all_processes: bool = False) -> None:
        args = ["kill"] + (["--all"] if all_processes else []) + [cid, str(signal)]
        await self._run(*args)

    async def delete(self, cid: str, force: bool = False) -> None:
        if self.root and self.name == "runc":
            state_dir = os.path.join(self.root, cid)
            if await asyncio.get_running_loop().run_in_executor(None, forget_stopped, state_dir):
                return
        try:
            await self._run("delete", *(["--force"] if force else []), cid)
        except errdefs.NotFound:
            pass

    async def clear_stale(self, cid: str) -> None:
        """Remove what a start cut short (a daemon killed during ``runc create``) left of ``cid``:
        runc refuses to create an ID it still has a record of."""
        if not self.root or not os.path.lexists(os.path.join(self.root, cid)):
            return
        await self.delete(cid, force=True)
        shutil.rmtree(os.path.join(self.root, cid), ignore_errors=True)  # a record runc could not read

    async def state(self, cid: str) -> dict | None:
        try:
            return json.loads(await self._run("state", cid))
        except errdefs.NotFound:
            return None

    async def pause(self, cid: str) -> None:
        await self._run("pause", cid)

    async def resume(self, cid: str) -> None:
        await self._run("resume", cid)

    async def pids(self, cid: str) -> list[int]:
        out = await self._run("ps", "--format", "json", cid)
        return [int(p) for p in json.loads(out or "[]") or []]

    async def update(self, cid: str, resources: dict) -> None:
        await self._run("update", "--resources", "-", cid, input=json.dumps(resources).encode())

    def exec_args(self, cid: str, process_file: str, *, tty: bool, pid_file: str | None,
                  log_file: str | None = None) -> list[str]:
        """``runc exec``; with ``log_file`` the runtime's own errors land there (JSON lines) too."""
        args = self.base_args()
        if log_file:
            args += ["--log", log_file, "--log-format", "json"]
        args += ["exec", "--process", process_file]
        if tty:
            args.append("--tty")
        if pid_file:
            args += ["--pid-file", pid_file]
        return [*args, cid]

    async def version(self) -> dict:
        out = await self._run("--version")
        info = {"Version": "", "GitCommit": ""}
        for line in out.splitlines():
            if line.startswith(f"{self.name} version"):
                info["Version"] = line.split()[-1]
            elif line.startswith("commit:"):
                info["GitCommit"] = line.split(":", 1)[1].strip()
        return info
