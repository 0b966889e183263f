"""A thin wrapper over an OCI runtime's command line (runc by default).

It runs the verbs and turns the runtime's error output into errors; it keeps no
state and knows nothing about containers beyond their IDs.
"""

from __future__ import annotations

import asyncio
import json
import os
import re

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
        try:
            await self._run("delete", *(["--force"] if force else []), cid)
        except errdefs.NotFound:
            pass

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
