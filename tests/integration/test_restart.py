"""Restart policies: what comes back, how fast, and what stays down (Docker 20.10's behaviour)."""

from __future__ import annotations

import json
import os
import signal
import time

import pytest

from tests.helpers import wait_for


def inspect(eng, name: str) -> dict:
    r = eng.cli("inspect", name)
    assert r.returncode == 0, r.stderr
    return json.loads(r.stdout)[0]


def events(eng, since: float, cid: str) -> list[dict]:
    """The container's events from ``since`` until now, as the real docker CLI prints them."""
    time.sleep(0.2)
    r = eng.docker("events", "--since", f"{since:.3f}", "--until", f"{time.time():.3f}", "--filter",
                   f"container={cid}", "--format", "{{json .}}")
    assert r.returncode == 0, r.stderr
    return [json.loads(line) for line in r.stdout.splitlines() if line.strip()]


def run_d(eng, name: str, *args: str) -> str:
    r = eng.cli("run", "-d", "--name", name, "--network", "none", *args)
    assert r.returncode == 0, r.stderr
    return r.stdout.strip()


def test_always_restarts_a_crashing_container_with_doubling_backoff(engine, name):
    t0 = time.time()
    cid = run_d(engine, name, "--restart", "always", "busybox", "sh", "-c", "exit 3")
    try:
        wait_for(lambda: inspect(engine, name)["RestartCount"] >= 5, timeout=30, what="5 restarts")
        # between two runs it is "restarting": still running to every verb, no process, the last exit code
        st = wait_for(lambda: (s := inspect(engine, name)["State"])["Restarting"] and s, timeout=10)
        assert st["Status"] == "restarting" and st["Running"] is True and st["Pid"] == 0 and st["ExitCode"] == 3
        ps = engine.docker("ps", "--filter", f"name={name}", "--format", "{{.Status}}|{{.State}}").stdout.strip()
        assert ps.startswith("Restarting (3) ") and ps.endswith(" ago|restarting"), ps
        ps = engine.cli("ps", "--filter", f"name={name}", "--format", "{{.Status}}").stdout.strip()
        assert ps.startswith("Restarting (3) "), ps

        evs = [e for e in events(engine, t0, cid) if e["Action"] in ("start", "die")]
        assert [e["Action"] for e in evs[:10]] == ["start", "die"] * 5
        assert all(e["Actor"]["Attributes"]["exitCode"] == "3" for e in evs if e["Action"] == "die")
        # the wait from a die to the next start: 100 ms, then doubling (plus the start itself)
        gaps = [(evs[i + 1]["timeNano"] - evs[i]["timeNano"]) / 1e9 for i in range(1, 9, 2)]
        for gap, delay in zip(gaps, (0.1, 0.2, 0.4, 0.8)):
            assert gap >= delay * 0.95, gaps
        assert gaps[3] - gaps[0] >= 0.3, gaps  # 0.7 s apart, whatever a start costs

        # a stop by the user while it waits: it stays exited, only "stop" is reported
        t1 = time.time()
        r = engine.docker("stop", name)
        assert r.returncode == 0, r.stderr
        st = inspect(engine, name)
        count = st["RestartCount"]
        assert (st["State"]["Status"], st["State"]["Restarting"], st["State"]["ExitCode"]) == ("exited", False, 3)
        time.sleep(2)
        st = inspect(engine, name)
        assert st["State"]["Status"] == "exited" and st["RestartCount"] == count
        assert [e["Action"] for e in events(engine, t1, cid)] == ["stop"]

        # a start by the user starts the count over
        assert count >= 5
        assert engine.cli("start", name).returncode == 0
        assert inspect(engine, name)["RestartCount"] < count
    finally:
        engine.cli("rm", "-f", name)


def test_on_failure_gives_up_after_its_maximum(engine, name):
    t0 = time.time()
    cid = run_d(engine, name, "--restart", "on-failure:2", "busybox", "sh", "-c", "exit 4")
    try:
        wait_for(lambda: inspect(engine, name)["State"]["Status"] == "exited"
                 and inspect(engine, name)["RestartCount"] == 2, timeout=20, what="two restarts, then exited")
        time.sleep(1.5)
        st = inspect(engine, name)
        assert st["RestartCount"] == 2 and st["State"]["Status"] == "exited" and st["State"]["ExitCode"] == 4
        assert st["HostConfig"]["RestartPolicy"] == {"Name": "on-failure", "MaximumRetryCount": 2}
        acts = [e["Action"] for e in events(engine, t0, cid) if e["Action"] in ("start", "die")]
        assert acts == ["start", "die"] * 3
    finally:
        engine.cli("rm", "-f", name)


def test_on_failure_does_not_restart_after_success(engine, name):
    run_d(engine, name, "--restart", "on-failure", "busybox", "true")
    try:
        wait_for(lambda: inspect(engine, name)["State"]["Status"] == "exited", timeout=20)
        time.sleep(1)
        st = inspect(engine, name)
        assert st["RestartCount"] == 0 and st["State"]["Status"] == "exited" and st["State"]["ExitCode"] == 0
    finally:
        engine.cli("rm", "-f", name)


@pytest.mark.parametrize("policy", ["always", "unless-stopped"])
def test_stop_or_kill_by_the_user_keeps_it_down(engine, name, policy):
    run_d(engine, name, "--restart", policy, "busybox", "sh", "-c", "trap 'exit 5' TERM; sleep 1000 & wait")
    try:
        assert engine.docker("stop", "-t", "1", name).returncode == 0
        time.sleep(1.5)
        st = inspect(engine, name)
        assert st["State"]["Status"] == "exited" and st["RestartCount"] == 0
        # any kill through the API counts, even with a signal the process handles by exiting
        assert engine.cli("start", name).returncode == 0
        assert engine.docker("kill", "-s", "TERM", name).returncode == 0
        time.sleep(1.5)
        st = inspect(engine, name)["State"]
        assert (st["Status"], st["ExitCode"]) == ("exited", 5)
    finally:
        engine.cli("rm", "-f", name)


def test_always_brings_back_a_process_killed_from_the_host(engine, name):
    run_d(engine, name, "--restart", "always", "busybox", "sleep", "1000")
    try:
        pid = inspect(engine, name)["State"]["Pid"]
        os.kill(pid, signal.SIGKILL)
        st = wait_for(lambda: (s := inspect(engine, name))["State"]["Status"] == "running"
                      and s["State"]["Pid"] not in (0, pid) and s, timeout=20, what="a new process")
        assert st["RestartCount"] == 1 and st["State"]["ExitCode"] == 0
        assert os.path.exists(f"/proc/{st['State']['Pid']}")
    finally:
        engine.cli("rm", "-f", name)


def test_restarting_container_can_be_removed_and_refuses_exec(engine, name):
    run_d(engine, name, "--restart", "always", "busybox", "sh", "-c", "exit 1")
    try:
        wait_for(lambda: inspect(engine, name)["RestartCount"] >= 4, timeout=20)
        wait_for(lambda: inspect(engine, name)["State"]["Restarting"], timeout=10)
        r = engine.docker("exec", name, "true")
        assert r.returncode != 0 and "is restarting, wait until the container is running" in r.stderr
        r = engine.docker("rm", name)
        assert r.returncode != 0 and "You cannot remove a restarting container" in r.stderr
        r = engine.docker("rm", "-f", name)
        assert r.returncode == 0, r.stderr
        assert engine.cli("inspect", name).returncode != 0
    finally:
        engine.cli("rm", "-f", name)


def test_policies_at_daemon_start(own_engine):
    eng = own_engine
    run_d(eng, "always", "--restart", "always", "busybox", "sleep", "1000")
    run_d(eng, "always-stopped", "--restart", "always", "busybox", "sleep", "1000")
    run_d(eng, "unless-stopped", "--restart", "unless-stopped", "busybox", "sleep", "1000")
    run_d(eng, "unless-killed", "--restart", "unless-stopped", "busybox", "sleep", "1000")
    run_d(eng, "no-policy", "busybox", "sleep", "1000")
    run_d(eng, "checked", "--health-cmd", "true", "--health-interval", "300ms", "busybox", "sleep", "1000")
    assert eng.cli("stop", "-t", "1", "unless-stopped", "always-stopped").returncode == 0
    pids = {n: inspect(eng, n)["State"]["Pid"] for n in ("always", "unless-killed", "no-policy")}

    eng.kill9()
    # while the daemon is away, the processes die
    for pid in pids.values():
        os.kill(pid, signal.SIGKILL)
    time.sleep(1)
    t_boot = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime())
    eng.start()

    def state(n):
        s = inspect(eng, n)["State"]
        return s["Status"], s["Pid"]

    # brought back: always (even the one stopped by the user, as Docker does at daemon start) and an
    # unless-stopped that the user did not stop; left down: the one the user stopped, and no policy
    for n in ("always", "always-stopped", "unless-killed"):
        status, pid = state(n)
        assert status == "running" and pid not in (0, pids.get(n)), (n, status)
        assert os.path.exists(f"/proc/{pid}")
    assert state("unless-stopped") == ("exited", 0)
    assert inspect(eng, "unless-stopped")["State"]["ExitCode"] == 137
    assert state("no-policy")[0] == "exited"
    ps = eng.docker("ps", "--format", "{{.Names}}").stdout.split()
    assert sorted(ps) == ["always", "always-stopped", "checked", "unless-killed"]
    # health checks go on for the containers that kept running
    n = len(inspect(eng, "checked")["State"]["Health"]["Log"])
    wait_for(lambda: inspect(eng, "checked")["State"]["Health"]["FailingStreak"] == 0
             and inspect(eng, "checked")["State"]["Health"]["Log"][-1]["Start"] > t_boot, timeout=10,
             what="a probe after the daemon restart")
    assert inspect(eng, "checked")["State"]["Health"]["Status"] == "healthy" and n >= 1

    # the user's stop survives a second daemon restart too (it is kept in the state database)
    eng.stop()
    eng.start()
    assert state("unless-stopped") == ("exited", 0)
    assert state("always")[0] == "running"
