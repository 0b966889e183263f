"""The installed `dockyard` command (`.venv/bin/dockyard`, written by scripts/setup) works as users call it.

The rest of the suite drives the CLI as ``python -m dockyard.cli`` with the venv's interpreter; the
launcher runs it without ``site`` and, where Debian's own python of the same version exists, with
that interpreter (it starts sooner): these tests run the very file users run, so a standard-library
difference between the two interpreters would show here.
"""

from __future__ import annotations

import json
import subprocess

import pytest

from tests.conftest import REPO

LAUNCHER = REPO / ".venv" / "bin" / "dockyard"

pytestmark = pytest.mark.skipif(not LAUNCHER.exists(), reason="no .venv/bin/dockyard: run scripts/setup")


def dockyard(engine, *args: str, input: bytes | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([str(LAUNCHER), *args], env=engine.env, input=input, capture_output=True, timeout=60)


def test_launcher_runs_without_site_on_a_python_of_the_venvs_version():
    first = LAUNCHER.read_text().splitlines()[0]
    interpreter, flag = first.removeprefix("#!").split()
    assert flag == "-S"
    venv_version = subprocess.run([str(REPO / ".venv" / "bin" / "python3"), "-c",
                                   "import sys; print(sys.version_info[:2])"], capture_output=True, text=True).stdout
    used = subprocess.run([interpreter, "-S", "-c", "import sys; print(sys.version_info[:2])"], capture_output=True,
                          text=True).stdout
    assert used == venv_version


def test_run_ps_cp_and_inspect_through_the_launcher(engine, tmp_path):
    name = "entry-point"
    r = dockyard(engine, "run", "--rm", "-e", "WHO=launcher", "busybox", "sh", "-c", "echo hello $WHO")
    assert (r.returncode, r.stdout, r.stderr) == (0, b"hello launcher\n", b"")
    r = dockyard(engine, "run", "-d", "--name", name, "-m", "64m", "--cpus", "0.5", "busybox", "sleep", "60")
    assert r.returncode == 0, r.stderr
    try:
        ps = dockyard(engine, "ps", "--filter", f"name={name}")
        assert ps.returncode == 0 and name in ps.stdout.decode(), ps
        info = json.loads(dockyard(engine, "inspect", name).stdout)[0]
        assert info["HostConfig"]["Memory"] == 64 << 20 and info["HostConfig"]["NanoCpus"] == 500_000_000
        (tmp_path / "f.txt").write_text("copied\n")
        assert dockyard(engine, "cp", str(tmp_path / "f.txt"), f"{name}:/tmp/f.txt").returncode == 0
        out = tmp_path / "out"
        assert dockyard(engine, "cp", f"{name}:/tmp/f.txt", str(out)).returncode == 0
        assert out.read_text() == "copied\n"
        r = dockyard(engine, "exec", "-i", name, "cat", input=b"through stdin\n")
        assert (r.returncode, r.stdout) == (0, b"through stdin\n")
    finally:
        dockyard(engine, "rm", "-f", name)
