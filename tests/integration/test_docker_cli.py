"""The real docker CLI, pointed at the engine, doing what issue 2's acceptance lists."""

from __future__ import annotations

import os
import subprocess
import tarfile
import time

import pytest

from tests.conftest import DOCKER_CLI
from tests.helpers import wait_for


def test_run_rm_echo(engine):
    r = engine.docker("run", "--rm", "busybox", "echo", "hi")
    assert (r.returncode, r.stdout) == (0, "hi\n")


@pytest.mark.parametrize("cmd,code", [(["true"], 0), (["sh", "-c", "exit 3"], 3),
                                      (["/etc/passwd"], 126), (["no-such-command"], 127)])
def test_run_exit_codes(engine, cmd, code):
    r = engine.docker("run", "--rm", "busybox", *cmd)
    assert r.returncode == code, r.stderr
    if code in (126, 127):
        assert "Error response from daemon" in r.stderr


def test_run_daemon_refusal_is_125(engine, name):
    assert engine.docker("create", "--name", name, "busybox").returncode == 0
    try:
        r = engine.docker("run", "--name", name, "busybox", "true")
        assert r.returncode == 125 and "is already in use" in r.stderr
        r = engine.docker("run", "--rm", "-u", "nosuchuser", "busybox", "true")
        assert r.returncode == 125 and "unable to find user nosuchuser" in r.stderr
    finally:
        engine.docker("rm", "-f", name)


def test_detached_container_lifecycle(engine, name):
    r = engine.docker("run", "-d", "--name", name, "busybox", "sh", "-c",
                      "echo started; trap 'echo bye; exit 0' TERM; while true; do sleep 0.1; done")
    assert r.returncode == 0 and len(r.stdout.strip()) == 64
    try:
        ps = engine.docker("ps", "--filter", f"name={name}")
        lines = ps.stdout.splitlines()
        assert lines[0].split() == ["CONTAINER", "ID", "IMAGE", "COMMAND", "CREATED", "STATUS", "PORTS", "NAMES"]
        assert lines[1].endswith(name) and "Up " in lines[1]
        r = engine.docker("exec", name, "ps")
        assert r.returncode == 0 and "while true" in r.stdout
        assert engine.docker("logs", name).stdout == "started\n"
        assert engine.docker("inspect", "--format", "{{.State.Running}}", name).stdout == "true\n"
        top = engine.docker("top", name)
        assert top.returncode == 0 and "PID" in top.stdout.splitlines()[0]
        assert engine.docker("pause", name).returncode == 0
        assert engine.docker("inspect", "--format", "{{.State.Status}}", name).stdout == "paused\n"
        assert "(Paused)" in engine.docker("ps", "--filter", f"name={name}").stdout
        assert engine.docker("unpause", name).returncode == 0
        assert engine.docker("stop", name).returncode == 0
        # it got SIGTERM and its trap ran ("bye", exit 0), rather than a SIGKILL after the timeout (137)
        assert engine.docker("logs", name).stdout == "started\nbye\n"
        assert engine.docker("inspect", "--format", "{{.State.ExitCode}}", name).stdout == "0\n"
        assert engine.docker("restart", name).returncode == 0
        assert engine.docker("inspect", "--format", "{{.State.Running}}", name).stdout == "true\n"
        assert engine.docker("rm", "-f", name).returncode == 0
        assert engine.docker("inspect", name).returncode == 1
    finally:
        engine.docker("rm", "-f", name)


def test_stop_waits_out_the_timeout_for_a_process_ignoring_sigterm(engine, name):
    assert engine.docker("run", "-d", "--name", name, "busybox", "sh", "-c",
                         "trap '' TERM; echo ready; while true; do sleep 0.1; done").returncode == 0
    try:
        wait_for(lambda: "ready" in engine.docker("logs", name).stdout, what="the trap set")
        t0 = time.monotonic()
        assert engine.docker("stop", "-t", "2", name).returncode == 0
        assert time.monotonic() - t0 >= 2
        assert engine.docker("inspect", "--format", "{{.State.ExitCode}}", name).stdout == "137\n"
    finally:
        engine.docker("rm", "-f", name)


def test_diff_export_wait(engine, name, tmp_path):
    assert engine.docker("run", "--name", name, "busybox", "sh", "-c",
                         "mkdir /data; echo x > /data/f; rm /bin/vi; exit 4").returncode == 4
    try:
        assert engine.docker("wait", name).stdout == "4\n"
        diff = set(engine.docker("diff", name).stdout.splitlines())
        assert {"A /data", "A /data/f", "C /bin", "D /bin/vi"} <= diff
        out = tmp_path / "fs.tar"
        assert engine.docker("export", "-o", str(out), name).returncode == 0
        with tarfile.open(out) as tar:
            names = set(tar.getnames())
        assert "data/f" in names and "bin/vi" not in names and "bin/sh" in names
    finally:
        engine.docker("rm", "-f", name)


def test_run_it_is_a_terminal(engine, name):
    import pexpect

    child = pexpect.spawn(DOCKER_CLI, ["-H", engine.host, "run", "-it", "--name", name, "busybox", "sh"],
                          timeout=30, dimensions=(30, 100))
    try:
        child.expect("# ")
        child.sendline("stty size; tty")
        child.expect(r"30 100\r\n/dev/pts/\d+\r\n")
        child.sendline("exit 6")
        child.expect(pexpect.EOF)
        child.close()
        assert child.exitstatus == 6
    finally:
        engine.docker("rm", "-f", name)


def test_exec_it_and_resize(engine, name):
    import pexpect

    assert engine.docker("run", "-d", "--name", name, "busybox", "sleep", "300").returncode == 0
    try:
        child = pexpect.spawn(DOCKER_CLI, ["-H", engine.host, "exec", "-it", name, "sh"], timeout=30,
                              dimensions=(33, 111))
        child.expect("# ")
        child.sendline("stty size")
        child.expect(r"33 111\r\n")
        child.setwinsize(40, 120)
        time.sleep(0.5)
        child.sendline("stty size")
        child.expect(r"40 120\r\n")
        child.sendline("exit 2")
        child.expect(pexpect.EOF)
        child.close()
        assert child.exitstatus == 2
    finally:
        engine.docker("rm", "-f", name)


def test_stdin_piped_through_run_i(engine):
    r = engine.docker("run", "--rm", "-i", "busybox", "sh", "-c", "tr a-z A-Z; echo done", input="hello\n")
    assert (r.returncode, r.stdout) == (0, "HELLO\ndone\n")


def test_env_workdir_user_hostname(engine, tmp_path):
    envfile = tmp_path / "env"
    envfile.write_text("FROMFILE=yes\n")
    r = engine.docker("run", "--rm", "-e", "A=1", "--env-file", str(envfile), "-w", "/tmp", "-u", "nobody",
                      "-h", "myhost", "busybox", "sh", "-c", 'echo $A $FROMFILE $(pwd) $(id -un) $(hostname)')
    assert r.stdout == "1 yes /tmp nobody myhost\n", r.stderr
    r = engine.docker("run", "--rm", "--entrypoint", "", "busybox", "whoami")
    assert r.stdout == "root\n"


def test_import_then_run(engine, name, tmp_path):
    tarpath = tmp_path / "fs.tar"
    assert engine.docker("create", "--name", name, "busybox").returncode == 0
    try:
        with open(tarpath, "wb") as f:
            subprocess.run([DOCKER_CLI, "-H", engine.host, "export", name], stdout=f, check=True)
    finally:
        engine.docker("rm", "-f", name)
    assert os.path.getsize(tarpath) > 1_000_000
    r = engine.docker("import", "-c", 'CMD ["echo", "imported"]', str(tarpath), f"{name}:v1")
    assert r.returncode == 0 and r.stdout.startswith("sha256:")
    try:
        assert engine.docker("run", "--rm", f"{name}:v1").stdout == "imported\n"
    finally:
        engine.docker("rmi", f"{name}:v1")
