"""Shared fixtures: a real dockyardd per test session, and the CLIs that talk to it.

Set ``DOCKYARD_TEST_HOST=unix:///path/docker.sock`` to run the same tests against
another engine (the real dockerd is the oracle: a test that fails there asserts
something Docker does not do). That engine must already hold ``busybox:latest``.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
DOCKER_CLI = shutil.which("docker", path="/usr/bin") or shutil.which("docker")


def _wait_for_socket(path: str, proc: subprocess.Popen | None, timeout: float = 15.0) -> None:
    import socket

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"dockyardd exited with {proc.returncode}")
        try:
            s = socket.socket(socket.AF_UNIX)
            s.connect(path)
            s.sendall(b"GET /_ping HTTP/1.0\r\n\r\n")
            if s.recv(12).startswith(b"HTTP/1."):
                s.close()
                return
        except OSError:
            pass
        time.sleep(0.05)
    raise RuntimeError(f"dockyardd did not answer on {path}")


@dataclass
class Engine:
    """One engine under test, and ways to drive it."""

    host: str
    data_root: Path | None = None
    proc: subprocess.Popen | None = None
    log_path: Path | None = None
    args: list[str] = field(default_factory=list)
    bridge_name: str = ""
    nft_table: str = ""

    @property
    def socket(self) -> str:
        return self.host.removeprefix("unix://")

    @property
    def env(self) -> dict[str, str]:
        return dict(os.environ, DOCKYARD_HOST=self.host, DOCKER_HOST=self.host)

    def cli(self, *args: str, input: bytes | str | None = None, timeout: float = 60,
            check: bool = False) -> subprocess.CompletedProcess:
        """Run ``dockyard ARGS`` against this engine; text output."""
        return subprocess.run([sys.executable, "-m", "dockyard.cli", *args], env=self.env,
                              input=input, capture_output=True, text=not isinstance(input, bytes),
                              timeout=timeout, check=check)

    def docker(self, *args: str, input: bytes | str | None = None, timeout: float = 60,
               check: bool = False) -> subprocess.CompletedProcess:
        """Run the real docker CLI against this engine."""
        if DOCKER_CLI is None:
            pytest.fail("the docker CLI is not installed (apt-get install docker.io)")
        return subprocess.run([DOCKER_CLI, "-H", self.host, *args], env=self.env, input=input,
                              capture_output=True, text=not isinstance(input, bytes),
                              timeout=timeout, check=check)

    def client(self):
        import docker

        return docker.DockerClient(base_url=self.host, timeout=60)

    # daemon control, for restart tests (only for engines this session started)
    def kill9(self) -> None:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(10)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)

    def start(self) -> None:
        assert self.data_root is not None
        log = open(self.log_path, "ab")
        self.proc = subprocess.Popen([sys.executable, "-m", "dockyard.daemon", *self.args],
                                     stdout=log, stderr=log, start_new_session=True)
        _wait_for_socket(self.socket, self.proc)


def start_engine(base: Path, *extra: str) -> Engine:
    """Start a dockyardd with its own data root and socket under ``base``."""
    base.mkdir(parents=True, exist_ok=True)
    data_root = base / "data"
    sock = base / "d.sock"
    # its own default bridge and nftables table, so daemons of the same test run never share them
    tag = uuid.uuid4().hex[:8]
    args = ["--data-root", str(data_root), "--host", f"unix://{sock}", "--debug", "--bridge-name", f"dyt{tag}",
            "--nft-table", f"dyt_{tag}", *extra]
    engine = Engine(host=f"unix://{sock}", data_root=data_root, log_path=base / "dockyardd.log", args=args,
                    bridge_name=f"dyt{tag}", nft_table=f"dyt_{tag}")
    engine.start()
    return engine


def cleanup_engine(engine: Engine) -> None:
    """Stop the daemon, then remove every container it left, so no process or mount outlives the test."""
    if engine.proc is None:
        return
    bridges = []
    try:
        ids = engine.cli("ps", "-aq").stdout.split()
        if ids:
            engine.cli("rm", "-f", *ids, timeout=120)
        import json as _json

        nets = _json.loads(engine.cli("network", "inspect", *engine.cli("network", "ls", "-q").stdout.split()).stdout
                           or "[]")
        bridges = [n["Options"].get("com.docker.network.bridge.name") or f"br-{n['Id'][:12]}" for n in nets
                   if n["Driver"] == "bridge"]
        engine.cli("network", "prune", "-f")
    except Exception:
        pass
    engine.stop()
    # The daemon leaves its bridges and firewall table behind (as Docker leaves docker0): a test run does not.
    for br in {*bridges, engine.bridge_name}:
        if br:
            subprocess.run(["ip", "link", "delete", br], capture_output=True)
    if engine.nft_table:
        subprocess.run(["nft", "delete", "table", "inet", engine.nft_table], capture_output=True)
    # Anything still mounted under the data root (a crashed test) is unmounted here.
    if engine.data_root is not None:
        with open("/proc/self/mountinfo") as f:
            points = [line.split()[4] for line in f]
        for p in sorted((p for p in points if p.startswith(str(engine.data_root))), reverse=True):
            subprocess.run(["umount", "-l", p], capture_output=True)
        subprocess.run(["pkill", "-f", f"conmon.*{engine.data_root}"], capture_output=True)
        # a container the daemon was still starting (a test failed, the daemon was killed) keeps a
        # `runc init` waiting on its exec fifo, out of reach of the above: runc's own state finds it
        root = str(engine.data_root / "run" / "runtime")
        left = subprocess.run(["runc", "--root", root, "list", "-q"], capture_output=True, text=True).stdout.split()
        for cid in left:
            subprocess.run(["runc", "--root", root, "delete", "--force", cid], capture_output=True)


@pytest.fixture
def own_engine(tmp_path):
    """A dockyardd of the test's own, with busybox (for tests that kill or restart the daemon);
    started again if the test left it down, then cleaned up."""
    eng = start_engine(tmp_path / "engine")
    try:
        assert eng.cli("busybox-image").returncode == 0
        yield eng
    finally:
        if eng.proc is None or eng.proc.poll() is not None:
            eng.start()
        cleanup_engine(eng)


@pytest.fixture(scope="session")
def engine(tmp_path_factory) -> Engine:
    """The engine every integration test talks to, with ``busybox:latest`` in it."""
    external = os.environ.get("DOCKYARD_TEST_HOST")
    if external:
        yield Engine(host=external)
        return
    base = Path(tmp_path_factory.mktemp("engine"))
    eng = start_engine(base)
    try:
        r = eng.cli("busybox-image")
        assert r.returncode == 0, r.stderr
        yield eng
    finally:
        cleanup_engine(eng)
        if eng.log_path and os.environ.get("DOCKYARD_TEST_SHOW_LOG"):
            print(eng.log_path.read_text()[-20000:])


@pytest.fixture
def name() -> str:
    """A container name no other test uses."""
    return f"t-{uuid.uuid4().hex[:10]}"
