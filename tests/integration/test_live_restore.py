"""Containers outlive the daemon: kill -9 it, restart it, and everything is as it should be."""

from __future__ import annotations

import os
import time

from tests.helpers import wait_for


def inspect(eng, fmt, name):
    r = eng.cli("inspect", "--format", fmt, name)
    assert r.returncode == 0, r.stderr
    return r.stdout.strip()


def test_kill9_daemon_keeps_containers_and_finds_them_again(own_engine):
    eng = own_engine
    # one that keeps running and writes while the daemon is down; one that exits meanwhile with 3
    assert eng.cli("run", "-d", "--name", "ticker", "busybox", "sh", "-c",
                   "i=0; while true; do echo tick $i; i=$((i+1)); sleep 0.2; done").returncode == 0
    assert eng.cli("run", "-d", "--name", "shortlived", "busybox", "sh", "-c", "sleep 2; exit 3").returncode == 0
    assert eng.cli("run", "-d", "--name", "stoppable", "busybox", "sh", "-c",
                   "trap 'exit 0' TERM; while true; do sleep 0.1; done").returncode == 0
    pid_before = int(inspect(eng, "{{.State.Pid}}", "ticker"))

    eng.kill9()
    time.sleep(3)  # shortlived exits while nobody watches; ticker keeps logging
    assert os.path.exists(f"/proc/{pid_before}"), "the container died with the daemon"
    eng.start()

    assert inspect(eng, "{{.State.Status}} {{.State.Pid}}", "ticker") == f"running {pid_before}"
    assert inspect(eng, "{{.State.Status}} {{.State.ExitCode}}", "shortlived") == "exited 3"
    ps = eng.cli("ps", "--format", "{{.Names}}").stdout.split()
    assert "ticker" in ps and "stoppable" in ps and "shortlived" not in ps
    # the lines written while the daemon was down are in the log, in order, none missing
    logs = eng.cli("logs", "ticker").stdout.split("\n")
    ticks = [int(line.split()[1]) for line in logs if line.startswith("tick ")]
    assert len(ticks) >= 15 and ticks == list(range(len(ticks)))
    # the monitor still reports exits to the new daemon
    assert eng.cli("stop", "stoppable").returncode == 0
    assert inspect(eng, "{{.State.Status}} {{.State.ExitCode}}", "stoppable") == "exited 0"
    assert eng.cli("exec", "ticker", "true").returncode == 0
    assert eng.cli("rm", "-f", "ticker").returncode == 0
    assert not os.path.exists(f"/proc/{pid_before}") or wait_for(lambda: not os.path.exists(f"/proc/{pid_before}"))


def test_second_daemon_on_same_data_root_is_refused(own_engine):
    import subprocess
    import sys

    other = own_engine.socket + ".2"
    r = subprocess.run([sys.executable, "-m", "dockyard.daemon", "--data-root", str(own_engine.data_root),
                        "--host", f"unix://{other}"], capture_output=True, text=True, timeout=30)
    assert r.returncode != 0 and "another dockyardd" in r.stderr
    assert own_engine.cli("version").returncode == 0


def test_tcp_without_tls_is_refused(tmp_path):
    import subprocess
    import sys

    tag = os.urandom(4).hex()
    try:
        r = subprocess.run([sys.executable, "-m", "dockyard.daemon", "--data-root", str(tmp_path / "d"),
                            "--host", "tcp://127.0.0.1:23750", "--bridge-name", f"dyt{tag}",
                            "--nft-table", f"dyt_{tag}"], capture_output=True, text=True, timeout=30)
        assert r.returncode != 0 and "TLS" in r.stderr
        # refused before anything was set up: no bridge, no firewall table
        assert subprocess.run(["ip", "link", "show", f"dyt{tag}"], capture_output=True).returncode != 0
        assert subprocess.run(["nft", "list", "table", "inet", f"dyt_{tag}"], capture_output=True).returncode != 0
    finally:
        subprocess.run(["ip", "link", "delete", f"dyt{tag}"], capture_output=True)
        subprocess.run(["nft", "delete", "table", "inet", f"dyt_{tag}"], capture_output=True)


def test_clean_shutdown_keeps_containers_too(own_engine):
    eng = own_engine
    assert eng.cli("run", "-d", "--name", "survivor", "busybox", "sleep", "300").returncode == 0
    eng.stop()
    eng.start()
    assert inspect(eng, "{{.State.Running}}", "survivor") == "true"
    assert eng.cli("rm", "-f", "survivor").returncode == 0
