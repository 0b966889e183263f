"""Prometheus metrics: a private dockyardd with --metrics-addr on a free loopback port, scraped and
parsed strictly (text exposition format 0.0.4)."""

from __future__ import annotations

import math
import random
import re
import socket
import subprocess
import sys
import uuid
import urllib.error
import urllib.request

import pytest

from tests.conftest import Engine, cleanup_engine
from tests.helpers import request, wait_for

_NAME = r"[a-zA-Z_:][a-zA-Z0-9_:]*"
_SAMPLE = re.compile(rf"^({_NAME})(?:\{{(.*)\}})? (\S+)$")
_LABEL = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\["\\n])*)"(,|$)')


def parse_exposition(text: str) -> dict[str, dict]:
    """{family: {"type": ..., "samples": [(name, labels, value)]}}; raises on anything malformed: every
    sample inside its declared family (HELP, TYPE, then samples, contiguous), labels escaped."""
    families: dict[str, dict] = {}
    current = ""
    assert text.endswith("\n")
    for line in text.splitlines():
        if line.startswith("# HELP "):
            current = line.split(" ", 3)[2]
            assert re.fullmatch(_NAME, current), line
            assert current not in families, f"family {current} appears twice"
            families[current] = {"type": None, "samples": []}
            continue
        if line.startswith("# TYPE "):
            _, _, name, kind = line.split(" ")
            assert kind in ("counter", "gauge", "histogram", "summary", "untyped"), line
            assert name == current and families[name]["type"] is None, line
            families[name]["type"] = kind
            continue
        assert line and not line.startswith("#"), line
        m = _SAMPLE.match(line)
        assert m, f"bad sample line {line!r}"
        name, raw_labels, value = m.groups()
        fam = families[current]
        allowed = {current} | ({current + s for s in ("_bucket", "_sum", "_count")}
                               if fam["type"] == "histogram" else set())
        assert fam["type"] and name in allowed, f"{name} outside its family {current}"
        labels = {}
        pos = 0
        while raw_labels and pos < len(raw_labels):
            lm = _LABEL.match(raw_labels, pos)
            assert lm, f"bad labels in {line!r}"
            labels[lm.group(1)] = lm.group(2).replace('\\"', '"').replace("\\n", "\n").replace("\\\\", "\\")
            pos = lm.end()
        fam["samples"].append((name, labels, float(value)))  # +Inf and NaN parse too
    return families


def values(fams: dict, metric: str, **want) -> list[float]:
    fam_name = re.sub(r"_(bucket|sum|count)$", "", metric) if metric not in fams else metric
    return [v for n, labels, v in fams[fam_name]["samples"]
            if n == metric and all(labels.get(k) == w for k, w in want.items())]


def free_port() -> int:
    """A free loopback port below the ephemeral range (which other processes' connections draw from)."""
    for port in random.sample(range(20000, 32000), 200):
        s = socket.socket()
        try:
            s.bind(("127.0.0.1", port))
            return port
        except OSError:
            continue
        finally:
            s.close()
    raise RuntimeError("no free port")


def _start(base, port: int) -> Engine:
    """start_engine's daemon plus --metrics-addr, made here so that a start that fails can be cleaned up."""
    tag = uuid.uuid4().hex[:8]
    eng = Engine(host=f"unix://{base}/d.sock", data_root=base / "data", log_path=base / "dockyardd.log",
                 args=["--data-root", str(base / "data"), "--host", f"unix://{base}/d.sock", "--debug",
                       "--bridge-name", f"dyt{tag}", "--nft-table", f"dyt_{tag}",
                       "--metrics-addr", f"127.0.0.1:{port}"],
                 bridge_name=f"dyt{tag}", nft_table=f"dyt_{tag}")
    try:
        eng.start()
    except RuntimeError as e:
        cleanup_engine(eng)
        raise RuntimeError(f"{e}; its log:\n{eng.log_path.read_text(errors='replace')[-3000:]}") from None
    return eng


@pytest.fixture(scope="module")
def metrics_engine(tmp_path_factory):
    for attempt in range(3):
        try:
            # a port taken meanwhile, or a start-up that lost a race with another daemon: once more
            port = free_port()
            eng = _start(tmp_path_factory.mktemp("metrics"), port)
            break
        except RuntimeError as e:
            if attempt == 2:
                raise
            print(f"dockyardd with metrics did not start, trying again: {e}")
    try:
        assert eng.cli("busybox-image").returncode == 0
        yield eng, f"http://127.0.0.1:{port}"
    finally:
        cleanup_engine(eng)


def scrape(url: str) -> tuple[dict, str]:
    with urllib.request.urlopen(url + "/metrics", timeout=30) as r:
        assert r.status == 200
        ctype = r.headers["Content-Type"]
        return parse_exposition(r.read().decode()), ctype


def test_scrape_has_container_and_engine_series(metrics_engine):
    eng, url = metrics_engine
    r = eng.cli("run", "-d", "--name", "m-run", "busybox", "sh", "-c", "dd if=/dev/zero of=/f bs=1M count=4 "
                "oflag=direct; sleep 1000")
    assert r.returncode == 0, r.stderr
    cid = r.stdout.strip()
    assert eng.cli("create", "--name", "m-made", "busybox", "true").returncode == 0
    try:
        for _ in range(3):
            assert request(eng.socket, "GET", "/v1.44/containers/m-run/json")[0] == 200
        assert request(eng.socket, "GET", "/containers/no-such/json")[0] == 404
        fams, ctype = scrape(url)
        assert ctype == "text/plain; version=0.0.4; charset=utf-8"
        lab = {"id": cid, "name": "m-run"}
        assert values(fams, "container_cpu_usage_seconds_total", **lab)[0] > 0
        assert values(fams, "container_memory_usage_bytes", **lab)[0] > 0
        assert values(fams, "container_pids", **lab) == [1.0] or values(fams, "container_pids", **lab) == [2.0]
        assert values(fams, "container_network_receive_bytes_total", **lab, interface="eth0")[0] >= 0
        assert values(fams, "container_network_transmit_bytes_total", **lab, interface="eth0")[0] >= 0
        wait_for(lambda: values(scrape(url)[0], "container_fs_writes_bytes_total", **lab)[0] >= 4 << 20,
                 what="4 MiB of direct writes counted")
        assert fams["container_cpu_usage_seconds_total"]["type"] == "counter"
        assert fams["container_memory_usage_bytes"]["type"] == "gauge"
        # the engine
        assert values(fams, "engine_daemon_container_states_containers", state="running")[0] >= 1
        assert values(fams, "engine_daemon_container_states_containers", state="stopped")[0] >= 1
        assert values(fams, "dockyard_images")[0] >= 1
        # requests by the route's canonical path, versioned or not, and status code
        assert values(fams, "dockyard_api_requests_total", route="/containers/{id}/json", method="GET",
                      code="200")[0] >= 3
        assert values(fams, "dockyard_api_requests_total", route="/containers/{id}/json", method="GET",
                      code="404")[0] >= 1
        assert not any("m-run" in labels.get("route", "") for _, labels, _ in
                       fams["dockyard_api_requests_total"]["samples"])
        # start latency histogram: cumulative buckets ending in +Inf == count
        h = fams["engine_daemon_container_actions_seconds"]
        assert h["type"] == "histogram"
        buckets = [(labels["le"], v) for n, labels, v in h["samples"]
                   if n.endswith("_bucket") and labels.get("action") == "start"]
        assert buckets[-1][0] == "+Inf"
        counts = [v for _, v in buckets]
        assert counts == sorted(counts) and counts[-1] >= 1
        assert values(fams, "engine_daemon_container_actions_seconds_count", action="start") == [counts[-1]]
        assert values(fams, "engine_daemon_container_actions_seconds_sum", action="start")[0] > 0
        assert not math.isnan(values(fams, "engine_daemon_container_actions_seconds_sum", action="start")[0])
    finally:
        eng.cli("rm", "-f", "m-run", "m-made")
    # a removed container's series go with it
    fams, _ = scrape(url)
    assert not values(fams, "container_memory_usage_bytes", id=cid)


def test_only_metrics_on_loopback(metrics_engine):
    _, url = metrics_engine
    with pytest.raises(urllib.error.HTTPError) as e:
        urllib.request.urlopen(url + "/containers/json", timeout=10)
    assert e.value.code == 404
    port = int(url.rsplit(":", 1)[1])
    with open("/proc/net/tcp") as f:
        listening = [line.split()[1] for line in f.readlines()[1:] if line.split()[3] == "0A"]
    ours = [a for a in listening if int(a.split(":")[1], 16) == port]
    assert ours == ["0100007F:%04X" % port]


def test_bad_metrics_addr_is_refused(tmp_path):
    r = subprocess.run([sys.executable, "-m", "dockyard.daemon", "--data-root", str(tmp_path / "data"), "--host",
                        f"unix://{tmp_path}/d.sock", "--bridge", "none", "--metrics-addr", "nonsense"],
                       capture_output=True, text=True, timeout=60)
    assert r.returncode != 0
    assert "invalid --metrics-addr 'nonsense'" in r.stderr


def test_taken_metrics_port_stops_the_daemon_before_it_serves(tmp_path):
    taken = socket.socket()
    taken.bind(("127.0.0.1", 0))
    taken.listen(1)
    port = taken.getsockname()[1]
    try:
        r = subprocess.run([sys.executable, "-m", "dockyard.daemon", "--data-root", str(tmp_path / "data"), "--host",
                            f"unix://{tmp_path}/d.sock", "--bridge", "none", "--iptables", "false",
                            "--metrics-addr", f"127.0.0.1:{port}"], capture_output=True, text=True, timeout=60)
    finally:
        taken.close()
    assert r.returncode != 0
    assert f"metrics address 127.0.0.1:{port}: " in r.stderr, r.stderr
    assert not (tmp_path / "d.sock").exists()
