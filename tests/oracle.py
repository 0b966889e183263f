"""A real dockerd of the test session's own, for differential tests (dockyard vs Docker).

Debian's docker.io (installed by scripts/setup) runs on a scratch data root and socket,
with no bridge and no iptables, and gets the same busybox image dockyard makes.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import tempfile
import time
from dataclasses import dataclass

import pytest

from tests.conftest import DOCKER_CLI


@dataclass
class Oracle:
    host: str
    root: str
    proc: subprocess.Popen

    def docker(self, *args: str, input: bytes | str | None = None, timeout: float = 120,
               env: dict | None = None) -> subprocess.CompletedProcess:
        e = dict(os.environ, DOCKER_BUILDKIT="0", **(env or {}))
        return subprocess.run([DOCKER_CLI, "-H", self.host, *args], input=input, capture_output=True,
                              text=not isinstance(input, bytes), timeout=timeout, env=e)


def _wait(sock: str, proc: subprocess.Popen, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"dockerd exited with {proc.returncode}")
        r = subprocess.run([DOCKER_CLI, "-H", f"unix://{sock}", "version"], capture_output=True)
        if r.returncode == 0:
            return
        time.sleep(0.2)
    raise RuntimeError("dockerd did not come up")


def start_oracle() -> Oracle:
    dockerd = shutil.which("dockerd")
    if dockerd is None:
        pytest.fail("dockerd is not installed: scripts/setup installs docker.io")
    root = tempfile.mkdtemp(prefix="oracle-", dir="/var/tmp")
    sock = os.path.join(root, "docker.sock")
    log = open(os.path.join(root, "dockerd.log"), "wb")
    proc = subprocess.Popen([dockerd, "--data-root", f"{root}/data", "--exec-root", f"{root}/exec",
                             "--pidfile", f"{root}/dockerd.pid", "--host", f"unix://{sock}", "--bridge", "none",
                             "--iptables=false", "--ip6tables=false", "--containerd-namespace", "oracle",
                             "--containerd-plugins-namespace", "oracle-plugins"],
                            stdout=log, stderr=log, start_new_session=True)
    oracle = Oracle(f"unix://{sock}", root, proc)
    try:
        _wait(sock, proc)
        from dockyard.util.busyboxroot import write_rootfs_tar

        tarpath = os.path.join(root, "busybox.tar")
        with open(tarpath, "wb") as f:
            write_rootfs_tar(f)
        r = oracle.docker("import", "-c", 'CMD ["sh"]', tarpath, "busybox:latest")
        assert r.returncode == 0, r.stderr
    except BaseException:
        stop_oracle(oracle)
        raise
    return oracle


def stop_oracle(oracle: Oracle) -> None:
    try:
        ids = oracle.docker("ps", "-aq").stdout.split()
        if ids:
            oracle.docker("rm", "-f", *ids)
    except Exception:
        pass
    if oracle.proc.poll() is None:
        oracle.proc.send_signal(signal.SIGTERM)
        try:
            oracle.proc.wait(30)
        except subprocess.TimeoutExpired:
            oracle.proc.kill()
            oracle.proc.wait(10)
    with open("/proc/self/mountinfo") as f:
        points = [line.split()[4] for line in f]
    for p in sorted((p for p in points if p.startswith(oracle.root)), reverse=True):
        subprocess.run(["umount", "-l", p], capture_output=True)
    subprocess.run(["pkill", "-f", f"containerd.*{oracle.root}"], capture_output=True)
    shutil.rmtree(oracle.root, ignore_errors=True)


@pytest.fixture(scope="session")
def oracle():
    o = start_oracle()
    try:
        yield o
    finally:
        stop_oracle(o)
