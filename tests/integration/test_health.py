"""Health checks: State.Health, the ps column, the health= filter and health_status events, as Docker shows them."""

from __future__ import annotations

import json
import time
import uuid

import pytest

from tests.helpers import request, wait_for


def inspect(eng, name: str) -> dict:
    r = eng.cli("inspect", name)
    assert r.returncode == 0, r.stderr
    return json.loads(r.stdout)[0]


def health(eng, name: str) -> dict | None:
    return inspect(eng, name)["State"].get("Health")


def run_d(eng, name: str, *args: str) -> str:
    r = eng.cli("run", "-d", "--name", name, "--network", "none", *args)
    assert r.returncode == 0, r.stderr
    return r.stdout.strip()


def ps_status(eng, name: str, *, docker: bool = False) -> str:
    tool = eng.docker if docker else eng.cli
    r = tool("ps", "-a", "--filter", f"name=^{name}$", "--format", "{{.Status}}")
    assert r.returncode == 0, r.stderr
    return r.stdout.strip()


def ps_names(eng, *filters: str) -> list[str]:
    args = [a for f in filters for a in ("--filter", f)]
    r = eng.docker("ps", "-a", *args, "--format", "{{.Names}}")
    assert r.returncode == 0, r.stderr
    return r.stdout.split()


@pytest.fixture
def names(engine):
    made: list[str] = []

    def make() -> str:
        n = f"t-{uuid.uuid4().hex[:10]}"
        made.append(n)
        return n

    yield make
    if made:
        engine.cli("rm", "-f", *made)


def test_healthy_and_unhealthy_checks(engine, names):
    t0 = time.time()
    good, bad, waiting = names(), names(), names()
    run_d(engine, waiting, "--health-cmd", "true", "--health-interval", "1h", "busybox", "sleep", "1000")
    good_id = run_d(engine, good, "--health-cmd", "echo ok", "--health-interval", "1s", "busybox", "sleep", "1000")
    run_d(engine, bad, "--health-cmd", "echo bad; exit 1", "--health-interval", "300ms", "--health-retries", "2",
          "busybox", "sleep", "1000")

    # before the first probe (one interval after the start): starting
    for docker in (False, True):
        assert ps_status(engine, waiting, docker=docker).endswith(" (health: starting)")
    assert health(engine, waiting) == {"Status": "starting", "FailingStreak": 0, "Log": []}
    assert waiting in ps_names(engine, "health=starting") and good not in ps_names(engine, "health=none")

    wait_for(lambda: health(engine, good)["Status"] == "healthy", timeout=20, what="healthy")
    h = health(engine, good)
    assert h["FailingStreak"] == 0
    entry = h["Log"][0]
    assert set(entry) == {"Start", "End", "ExitCode", "Output"}
    assert entry["ExitCode"] == 0 and entry["Output"] == "ok\n" and entry["Start"] < entry["End"]
    assert entry["Start"].endswith("Z") and "T" in entry["Start"]

    # two failures in a row make it unhealthy; the log keeps the last five
    wait_for(lambda: len(health(engine, bad)["Log"]) == 5 and health(engine, bad)["FailingStreak"] >= 6,
             timeout=30, what="six failed probes")
    h = health(engine, bad)
    assert h["Status"] == "unhealthy"
    assert all(e["ExitCode"] == 1 and e["Output"] == "bad\n" for e in h["Log"])
    starts = [e["Start"] for e in h["Log"]]
    assert starts == sorted(starts)

    for docker in (False, True):
        assert " (healthy)" in ps_status(engine, good, docker=docker)
        assert ps_status(engine, good, docker=docker).startswith("Up ")
        assert ps_status(engine, bad, docker=docker).endswith(" (unhealthy)")
    assert good in ps_names(engine, "health=healthy") and bad not in ps_names(engine, "health=healthy")
    assert bad in ps_names(engine, "health=unhealthy") and good not in ps_names(engine, "health=unhealthy")
    assert good not in ps_names(engine, "health=none")
    r = engine.docker("ps", "--filter", "health=bogus")
    assert r.returncode != 0 and "Unrecognised filter value for health: bogus" in r.stderr

    # one health_status event per change, as Docker words it
    time.sleep(0.2)
    r = engine.docker("events", "--since", f"{t0:.3f}", "--until", f"{time.time():.3f}", "--filter",
                      f"container={good_id}", "--filter", "event=health_status", "--format", "{{json .}}")
    evs = [json.loads(line) for line in r.stdout.splitlines()]
    assert [e["Action"] for e in evs] == ["health_status: healthy"]
    assert evs[0]["status"] == "health_status: healthy"
    assert evs[0]["Actor"]["Attributes"] == {"image": "busybox", "name": good}
    # the probes are execs, and say so in the events as Docker's do
    r = engine.docker("events", "--since", f"{t0:.3f}", "--until", f"{time.time():.3f}", "--filter",
                      f"container={good_id}", "--format", "{{.Action}}")
    assert "exec_create: /bin/sh -c echo ok" in r.stdout.splitlines()
    # probe execs are not left behind in the container's ExecIDs (the one running now is listed, as in Docker)
    assert len(inspect(engine, good)["ExecIDs"] or []) <= 1

    # docker-py sees the same
    client = engine.client()
    try:
        attrs = client.containers.get(good).attrs
        assert attrs["State"]["Health"]["Status"] == "healthy"
        assert attrs["Config"]["Healthcheck"] == {"Test": ["CMD-SHELL", "echo ok"], "Interval": 1_000_000_000}
    finally:
        client.close()

    # a stopped container's health is unhealthy and its probes stop
    assert engine.cli("stop", "-t", "1", good).returncode == 0
    h = health(engine, good)
    assert h["Status"] == "unhealthy"
    n = len(h["Log"])
    time.sleep(1.5)
    assert len(health(engine, good)["Log"]) == n
    assert ps_status(engine, good).startswith("Exited (137)")
    # a new start: starting again, the log kept
    assert engine.cli("start", good).returncode == 0
    h = health(engine, good)
    assert h["Status"] == "starting" and len(h["Log"]) == n


def test_start_period_timeout_and_probe_failures(engine, names):
    period, slow, missing, chatty = names(), names(), names(), names()
    run_d(engine, period, "--health-cmd", "exit 1", "--health-interval", "300ms", "--health-retries", "1",
          "--health-start-period", "60s", "busybox", "sleep", "1000")
    run_d(engine, slow, "--health-cmd", "sleep 5", "--health-interval", "500ms", "--health-timeout", "300ms",
          "--health-retries", "1", "busybox", "sleep", "1000")
    status, _, _ = request(engine.socket, "POST", f"/containers/create?name={missing}", {
        "Image": "busybox", "Cmd": ["sleep", "1000"], "HostConfig": {"NetworkMode": "none"},
        "Healthcheck": {"Test": ["CMD", "no-such-probe"], "Interval": 300_000_000, "Retries": 1}})
    assert status == 201
    assert engine.cli("start", missing).returncode == 0
    run_d(engine, chatty, "--health-cmd", "head -c 5000 /dev/zero | tr '\\0' x", "--health-interval", "300ms",
          "busybox", "sleep", "1000")

    # the start interval (API 1.44) paces the probes while starting within the start period
    quick = names()
    run_d(engine, quick, "--health-cmd", "true", "--health-interval", "1h", "--health-start-period", "60s",
          "--health-start-interval", "300ms", "busybox", "sleep", "1000")
    wait_for(lambda: (health(engine, quick) or {}).get("Status") == "healthy", timeout=20, what="start interval")

    # failures within the start period do not count
    wait_for(lambda: len(health(engine, period)["Log"]) >= 3, timeout=20, what="three probes")
    h = health(engine, period)
    assert h["Status"] == "starting" and h["FailingStreak"] == 0 and all(e["ExitCode"] == 1 for e in h["Log"])

    # a probe that outlives its timeout is killed and fails with Docker's words
    wait_for(lambda: (health(engine, slow) or {}).get("Status") == "unhealthy", timeout=20, what="timeout")
    entry = health(engine, slow)["Log"][0]
    assert entry["ExitCode"] == -1 and entry["Output"] == "Health check exceeded timeout (300ms)"
    r = engine.cli("exec", slow, "ps")
    assert r.stdout.count("sleep 5") <= 1, r.stdout  # killed probes do not pile up

    # a probe that cannot even start fails with the runtime's error
    wait_for(lambda: (health(engine, missing) or {}).get("Status") == "unhealthy", timeout=20, what="exec error")
    entry = health(engine, missing)["Log"][0]
    assert entry["ExitCode"] == -1
    assert entry["Output"].startswith("OCI runtime exec failed: ")
    assert 'exec: "no-such-probe": executable file not found in $PATH' in entry["Output"]

    # output is cut at 4096 bytes, then "..."
    wait_for(lambda: (health(engine, chatty) or {}).get("Status") == "healthy", timeout=20, what="healthy")
    out = health(engine, chatty)["Log"][0]["Output"]
    assert out == "x" * 4096 + "..."


def test_image_healthcheck_and_no_healthcheck(engine, names, tmp_path):
    tag = f"hc-{uuid.uuid4().hex[:8]}"
    (tmp_path / "Dockerfile").write_text("FROM busybox\nHEALTHCHECK --interval=300ms --retries=1 CMD [\"true\"]\n")
    r = engine.cli("build", "-q", "-t", tag, str(tmp_path))
    assert r.returncode == 0, r.stderr
    inherited, disabled, plain = names(), names(), names()
    try:
        run_d(engine, inherited, tag, "sleep", "1000")
        run_d(engine, disabled, "--no-healthcheck", tag, "sleep", "1000")
        run_d(engine, plain, "busybox", "sleep", "1000")
        assert inspect(engine, inherited)["Config"]["Healthcheck"]["Test"] == ["CMD", "true"]
        wait_for(lambda: health(engine, inherited)["Status"] == "healthy", timeout=20, what="healthy")

        c = inspect(engine, disabled)
        # Docker merges the image's settings under the user's NONE, and keeps no Health
        assert c["Config"]["Healthcheck"] == {"Test": ["NONE"], "Interval": 300_000_000, "Retries": 1}
        assert "Health" not in c["State"]
        assert "Health" not in inspect(engine, plain)["State"]
        assert "(" not in ps_status(engine, disabled, docker=True)
        none = ps_names(engine, "health=none")
        assert disabled in none and plain in none and inherited not in none
    finally:
        engine.cli("rm", "-f", inherited, disabled, plain)
        engine.cli("rmi", tag)
