"""Events: every state change of a container is reported with Docker's action and attributes, and
``--since``/``--until`` and the filters select them as Docker's do (checked with the real docker CLI too)."""

from __future__ import annotations

import json
import time
import uuid

from tests.helpers import request, wait_for


def ts(t: float | str) -> str:
    return t if isinstance(t, str) else f"{t:.6f}"


def docker_events(eng, since: float | str, until: float | str, *filters: str) -> list[dict]:
    args = [a for f in filters for a in ("--filter", f)]
    r = eng.docker("events", "--since", ts(since), "--until", ts(until), *args, "--format", "{{json .}}")
    assert r.returncode == 0, r.stderr
    return [json.loads(line) for line in r.stdout.splitlines() if line.strip()]


def settle() -> float:
    time.sleep(0.3)
    return time.time()


def test_container_lifecycle_events(engine, name):
    t0 = time.time()
    new_name = name + "-renamed"
    r = engine.docker("create", "--name", name, "--network", "none", "--label", "team=blue", "-t", "busybox",
                      "sh", "-c", "trap 'exit 7' HUP; sleep 1000 & wait")
    assert r.returncode == 0, r.stderr
    cid = r.stdout.strip()
    try:
        assert engine.docker("start", name).returncode == 0
        # an attach (stream=0 returns at once), a resize and a top
        status, _, _ = request(engine.socket, "POST", f"/containers/{cid}/attach?stream=0&stdout=1")
        assert status == 200
        status, _, _ = request(engine.socket, "POST", f"/containers/{cid}/resize?h=10&w=20")
        assert status == 200
        assert engine.docker("top", name).returncode == 0
        assert engine.docker("exec", name, "sh", "-c", "exit 2").returncode == 2
        assert engine.docker("rename", name, new_name).returncode == 0
        assert engine.docker("pause", new_name).returncode == 0
        assert engine.docker("unpause", new_name).returncode == 0
        assert engine.docker("kill", "-s", "HUP", new_name).returncode == 0
        wait_for(lambda: engine.docker("inspect", "-f", "{{.State.Status}}", new_name).stdout.strip() == "exited")
        assert engine.docker("restart", "-t", "1", new_name).returncode == 0
        assert engine.docker("stop", "-t", "1", new_name).returncode == 0
        assert engine.docker("rm", new_name).returncode == 0
        t1 = settle()

        evs = docker_events(engine, t0, t1, f"container={cid}")
        acts = [e["Action"] for e in evs]
        exec_id = next(e["Actor"]["Attributes"]["execID"] for e in evs if e["Action"].startswith("exec_create"))
        assert acts == [
            "create", "start", "attach", "resize", "top",
            "exec_create: sh -c exit 2", "exec_start: sh -c exit 2", "exec_die",
            "rename", "pause", "unpause", "kill", "die",
            "start", "restart",   # docker restart of an exited container: no stop
            "kill", "kill", "die", "stop", "destroy",
        ], acts
        by = {}
        for e in evs:
            by.setdefault(e["Action"], []).append(e)
            assert e["Type"] == "container" and e["Actor"]["ID"] == cid and e["id"] == cid
            assert e["status"] == e["Action"] and e["from"] == "busybox" and e["scope"] == "local"
            assert e["time"] == e["timeNano"] // 10**9
            attrs = e["Actor"]["Attributes"]
            assert attrs["image"] == "busybox" and attrs["team"] == "blue"
        assert by["create"][0]["Actor"]["Attributes"] == {"image": "busybox", "name": name, "team": "blue"}
        assert by["resize"][0]["Actor"]["Attributes"] == {"height": "10", "width": "20", "image": "busybox",
                                                          "name": name, "team": "blue"}
        assert by["exec_die"][0]["Actor"]["Attributes"] == {"execID": exec_id, "exitCode": "2", "image": "busybox",
                                                            "name": name, "team": "blue"}
        assert by["rename"][0]["Actor"]["Attributes"]["oldName"] == "/" + name
        assert by["rename"][0]["Actor"]["Attributes"]["name"] == new_name
        assert [e["Actor"]["Attributes"]["signal"] for e in by["kill"]] == ["1", "15", "9"]
        assert [e["Actor"]["Attributes"]["exitCode"] for e in by["die"]] == ["7", "137"]
        times = [e["timeNano"] for e in evs]
        assert times == sorted(times)

        # filters: event (with and without the exec command), type, label, image, name
        assert [e["Action"] for e in docker_events(engine, t0, t1, f"container={cid}", "event=die")] == ["die", "die"]
        assert len(docker_events(engine, t0, t1, f"container={cid}", "event=exec_create")) == 1
        assert [e["Action"] for e in docker_events(engine, t0, t1, f"container={new_name}", "event=destroy")] == \
            ["destroy"]
        assert len(docker_events(engine, t0, t1, "label=team=blue", "type=container")) == len(evs)
        assert docker_events(engine, t0, t1, "label=team=red") == []
        assert len(docker_events(engine, t0, t1, f"container={cid}", "image=busybox")) == len(evs)
        assert docker_events(engine, t0, t1, f"container={cid}", "type=image") == []
        # --until in the middle: only what came before
        ns = by["rename"][0]["timeNano"]
        mid = f"{ns // 10**9}.{ns % 10**9:09d}"
        early = docker_events(engine, t0, mid, f"container={cid}")
        assert [e["Action"] for e in early] == acts[:acts.index("rename") + 1]

        # dockyard's own CLI prints Docker's line format
        r = engine.cli("events", "--since", f"{t0:.6f}", "--until", f"{t1:.6f}", "--filter", f"container={cid}",
                       "--filter", "event=rename")
        assert r.returncode == 0, r.stderr
        line = r.stdout.strip()
        assert f" container rename {cid} (image=busybox, name={new_name}, oldName=/{name}, team=blue)" in line
    finally:
        engine.cli("rm", "-f", name, new_name)


def test_events_api_since_until_and_live(engine, name):
    t0 = time.time()
    r = engine.cli("run", "--name", name, "--network", "none", "busybox", "sh", "-c", "exit 3")
    assert r.returncode == 3
    try:
        t1 = settle()
        from urllib.parse import quote

        filters = quote(json.dumps({"container": [name], "event": ["die"]}))
        status, _, body = request(engine.socket, "GET", f"/events?since={t0:.6f}&until={t1:.6f}&filters={filters}")
        assert status == 200
        evs = [body] if isinstance(body, dict) else [json.loads(x) for x in body.decode().splitlines() if x.strip()]
        assert len(evs) == 1 and evs[0]["Actor"]["Attributes"]["exitCode"] == "3"
        # until in the future: live events arrive, then the stream ends on time
        import threading

        got: list[str] = []

        def watch():
            r = engine.docker("events", "--since", f"{time.time():.6f}", "--until", f"{time.time() + 3:.6f}",
                              "--filter", f"container={name}", "--format", "{{.Action}}", timeout=20)
            got.extend(r.stdout.split())

        th = threading.Thread(target=watch)
        th.start()
        time.sleep(1)
        assert engine.cli("start", name).returncode == 0
        th.join(15)
        assert not th.is_alive()
        assert got[:2] == ["start", "die"], got
    finally:
        engine.cli("rm", "-f", name)


def test_labels_named_like_event_attributes(engine):
    """A label called name or image must not break events (Docker's own attributes win). An attached
    run reports its attach before the start."""
    name = f"t-{uuid.uuid4().hex[:10]}"
    t0 = time.time()
    r = engine.docker("run", "--name", name, "--network", "none", "--label", "name=other", "--label", "image=x",
                      "busybox", "true")
    assert r.returncode == 0, r.stderr
    try:
        evs = docker_events(engine, t0, settle(), f"container={name}")
        assert [e["Action"] for e in evs][:4] == ["create", "attach", "start", "die"]
        assert all(e["Actor"]["Attributes"]["name"] == name and e["Actor"]["Attributes"]["image"] == "busybox"
                   for e in evs)
    finally:
        engine.cli("rm", "-f", name)


def test_oom_and_update_events(engine, name):
    t0 = time.time()
    other = name + "-upd"
    # the pipe's reader is OOM-killed, the shell goes on: oom, then a die with the shell's own code. The
    # reader asks to be the kernel's first choice (oom_score_adj 1000): on a loaded machine the kernel
    # has been seen to take the shell (pid 1, as small as head) instead
    r = engine.docker("run", "--name", name, "--network", "none", "-m", "16m", "--memory-swap", "16m", "busybox",
                      "sh", "-c", "head -c 200m /dev/zero | (echo 1000 > /proc/self/oom_score_adj && exec tail); "
                      "exit 5")
    assert r.returncode == 5, (r.returncode, r.stderr)
    try:
        st = engine.docker("inspect", "-f", "{{.State.OOMKilled}} {{.State.ExitCode}}", name).stdout.strip()
        assert st == "true 5", st
        assert engine.docker("run", "-d", "--name", other, "--network", "none", "--label", "team=blue", "busybox",
                             "sleep", "1000").returncode == 0
        r = engine.docker("update", "--cpu-shares", "512", other)
        assert r.returncode == 0, r.stderr
        t1 = settle()
        acts = [e["Action"] for e in docker_events(engine, t0, t1, f"container={name}")]
        assert acts[:3] == ["create", "attach", "start"] and acts[-1] == "die" and "oom" in acts, acts
        assert set(acts[3:-1]) == {"oom"}, acts
        up = docker_events(engine, t0, t1, f"container={other}", "event=update")
        assert [e["Actor"]["Attributes"] for e in up] == [{"image": "busybox", "name": other, "team": "blue"}], up
    finally:
        engine.cli("rm", "-f", name, other)
