"""stats: the API's three forms, the counters behind them, and the CLIs (dockyard, docker, docker-py); top.

Every test runs its own containers and removes them. Workloads prove each counter: a CPU burner,
50 MiB written to /dev/shm, background processes, host pings over the default bridge, direct I/O.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import time
import uuid

import pytest

from dockyard.util.timeutil import parse_rfc3339_ns
from tests.helpers import UnixHTTPConnection, request, wait_for

MIB = 1 << 20


@pytest.fixture
def made(engine):
    names: list[str] = []
    yield names
    if names:
        engine.cli("rm", "-f", *names, timeout=120)


def run_d(engine, made, *args: str) -> str:
    name = f"st-{uuid.uuid4().hex[:10]}"
    made.append(name)
    r = engine.cli("run", "-d", "--name", name, *args)
    assert r.returncode == 0, r.stderr
    return name


def stats(engine, name: str, **params) -> dict:
    q = "&".join(f"{k.replace('_', '-')}={v}" for k, v in {"stream": "false", **params}.items())
    status, _, body = request(engine.socket, "GET", f"/v1.44/containers/{name}/stats?{q}")
    assert status == 200, body
    return body


def cpu_percent(f: dict) -> float:
    """The docker CLI's formula."""
    cpu_delta = f["cpu_stats"]["cpu_usage"]["total_usage"] - f["precpu_stats"]["cpu_usage"]["total_usage"]
    sys_delta = f["cpu_stats"].get("system_cpu_usage", 0) - f["precpu_stats"].get("system_cpu_usage", 0)
    if cpu_delta > 0 and sys_delta > 0:
        return cpu_delta / sys_delta * f["cpu_stats"]["online_cpus"] * 100.0
    return 0.0


def mem_used(f: dict) -> int:
    m = f["memory_stats"]
    return m["usage"] - m["stats"].get("total_inactive_file", m["stats"].get("inactive_file", 0))


def test_one_shot_windowed_and_stopped_forms(engine, made):
    name = run_d(engine, made, "busybox", "sleep", "1000")
    one = stats(engine, name, one_shot="true")
    assert one["name"] == f"/{name}" and len(one["id"]) == 64
    assert one["preread"] == "0001-01-01T00:00:00Z"
    assert one["precpu_stats"] == {"cpu_usage": {"total_usage": 0, "usage_in_kernelmode": 0, "usage_in_usermode": 0},
                                   "throttling_data": {"periods": 0, "throttled_periods": 0, "throttled_time": 0}}
    assert one["cpu_stats"]["system_cpu_usage"] > 0 and one["cpu_stats"]["online_cpus"] >= 1
    assert one["pids_stats"]["current"] == 1 and one["num_procs"] == 0 and one["storage_stats"] == {}
    assert one["memory_stats"]["usage"] > 0 and one["memory_stats"]["limit"] > 0
    assert set(one["blkio_stats"]) == {"io_service_bytes_recursive", "io_serviced_recursive", "io_queue_recursive",
                                       "io_service_time_recursive", "io_wait_time_recursive", "io_merged_recursive",
                                       "io_time_recursive", "sectors_recursive"}
    # stream=false: two samples, the first sent as precpu_stats
    two = stats(engine, name)
    assert two["preread"] != "0001-01-01T00:00:00Z"
    assert 0.3e9 < parse_rfc3339_ns(two["read"]) - parse_rfc3339_ns(two["preread"]) < 5e9
    assert 0 < two["precpu_stats"]["system_cpu_usage"] < two["cpu_stats"]["system_cpu_usage"]
    assert two["precpu_stats"]["cpu_usage"]["total_usage"] <= two["cpu_stats"]["cpu_usage"]["total_usage"]
    # a container that does not run: Docker's zeroed frame
    engine.cli("kill", name)
    wait_for(lambda: stats(engine, name, one_shot="true")["read"] == "0001-01-01T00:00:00Z", what="zeroed stats")
    z = stats(engine, name)
    assert z["memory_stats"] == {} and z["pids_stats"] == {} and z["blkio_stats"]["io_service_bytes_recursive"] is None
    assert z["name"] == f"/{name}" and "networks" not in z


def test_no_networks_without_interfaces_and_paused_containers_still_counted(engine, made):
    name = run_d(engine, made, "--network", "none", "busybox", "sleep", "1000")
    f = stats(engine, name, one_shot="true")
    assert "networks" not in f  # only lo: Docker leaves the key out
    assert engine.cli("pause", name).returncode == 0
    try:
        f = stats(engine, name, one_shot="true")
        assert f["pids_stats"]["current"] == 1 and f["memory_stats"]["usage"] > 0
        assert f["read"] != "0001-01-01T00:00:00Z"
    finally:
        engine.cli("unpause", name)


def test_errors(engine, made):
    status, _, body = request(engine.socket, "GET", "/v1.44/containers/no-such-ctr-x/stats?stream=false")
    assert (status, body) == (404, {"message": "No such container: no-such-ctr-x"})
    name = run_d(engine, made, "busybox", "sleep", "1000")
    status, _, body = request(engine.socket, "GET", f"/v1.44/containers/{name}/stats?stream=true&one-shot=true")
    assert (status, body) == (400, {"message": "cannot have stream=true and one-shot=true"})


def test_stream_sends_a_frame_a_second_with_the_previous_as_precpu(engine, made):
    name = run_d(engine, made, "busybox", "sleep", "1000")
    conn = UnixHTTPConnection(engine.socket, timeout=30)
    try:
        conn.request("GET", f"/v1.44/containers/{name}/stats")
        resp = conn.getresponse()
        assert resp.status == 200
        frames = [json.loads(resp.readline()) for _ in range(3)]
    finally:
        conn.close()
    assert frames[0]["preread"] == "0001-01-01T00:00:00Z"
    for a, b in zip(frames, frames[1:]):
        assert b["preread"] == a["read"]
        assert b["precpu_stats"] == a["cpu_stats"]


def _proc_cpu_ns(pids: list[int]) -> int:
    """utime + stime of these host processes (from /proc, not from cgroups), in ns."""
    total = 0
    for pid in pids:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        total += int(fields[11]) + int(fields[12])
    return total * (1_000_000_000 // os.sysconf("SC_CLK_TCK"))


def test_cpu_burner_shows_over_50_percent(engine, made):
    name = run_d(engine, made, "busybox", "sh", "-c", "while :; do :; done & while :; do :; done")

    def burners() -> list[int]:
        _, _, top = request(engine.socket, "GET", f"/v1.44/containers/{name}/top?ps_args=-o%20pid")
        return [int(p[0]) for p in top["Processes"]]

    pids = wait_for(lambda: len(burners()) == 2 and burners(), what="both burners")
    # CPU % over a 3 s window, computed as the docker CLI does, and the same window measured from the
    # processes' own CPU times (/proc/<pid>/stat), over the same system CPU time
    p0, f0 = _proc_cpu_ns(pids), stats(engine, name, one_shot="true")
    time.sleep(3)
    f1, p1 = stats(engine, name, one_shot="true"), _proc_cpu_ns(pids)
    sys_delta = f1["cpu_stats"]["system_cpu_usage"] - f0["cpu_stats"]["system_cpu_usage"]
    ncpu = f1["cpu_stats"]["online_cpus"]
    shown = (f1["cpu_stats"]["cpu_usage"]["total_usage"] - f0["cpu_stats"]["cpu_usage"]["total_usage"]) \
        / sys_delta * ncpu * 100
    measured = (p1 - p0) / sys_delta * ncpu * 100
    assert abs(shown - measured) <= max(5.0, 0.2 * measured), (shown, measured)
    # two burners get well over half a CPU unless the machine is too busy to give it (a loaded 2-CPU box
    # gives the whole /dockyard cgroup one share against every other task): then the figures above agree
    if measured > 55:
        assert shown > 50, (shown, measured)
    r = engine.cli("stats", "--no-stream", "--format", "{{.CPUPerc}}", name)
    assert re.fullmatch(r"\d+\.\d\d%\n", r.stdout), r.stdout


def test_memory_in_tmpfs_shows_up(engine, made):
    name = run_d(engine, made, "--shm-size", "128m", "busybox", "sh", "-c",
                 "dd if=/dev/zero of=/dev/shm/fill bs=1M count=50 && touch /done; sleep 1000")
    wait_for(lambda: engine.cli("exec", name, "test", "-e", "/done").returncode == 0, what="the 50 MiB written")
    f = stats(engine, name, one_shot="true")
    assert mem_used(f) >= 50 * MIB, f["memory_stats"]
    assert f["memory_stats"]["max_usage"] >= f["memory_stats"]["usage"]
    r = engine.cli("stats", "--no-stream", "--format", "{{.MemUsage}}|{{.MemPerc}}", name)
    usage, perc = r.stdout.strip().split("|")
    value, unit = re.fullmatch(r"([\d.]+)(MiB|GiB) / [\d.]+(MiB|GiB|TiB)", usage).group(1, 2)
    assert float(value) * (1024 if unit == "GiB" else 1) >= 50
    assert re.fullmatch(r"\d+\.\d\d%", perc)


def test_pids_count_and_limit(engine, made):
    name = run_d(engine, made, "--pids-limit", "50", "busybox", "sh", "-c", "sleep 1000 & sleep 1000 & wait")
    wait_for(lambda: stats(engine, name, one_shot="true")["pids_stats"].get("current") == 3, what="3 pids")
    assert stats(engine, name, one_shot="true")["pids_stats"] == {"current": 3, "limit": 50}
    r = engine.cli("stats", "--no-stream", "--format", "{{.Name}} {{.PIDs}}", name)
    assert r.stdout == f"{name} 3\n", r.stderr


def test_network_counters_grow_with_pings_from_the_host(engine, made):
    busybox = shutil.which("busybox")
    if busybox is None:
        pytest.fail("busybox is not installed on the host (apt-get install busybox-static)")
    name = run_d(engine, made, "busybox", "sleep", "1000")
    ip = json.loads(engine.docker("inspect", name).stdout)[0]["NetworkSettings"]["IPAddress"]
    assert ip
    before = stats(engine, name, one_shot="true")["networks"]["eth0"]
    r = subprocess.run([busybox, "ping", "-c", "3", "-i", "0.2", "-W", "2", "-s", "1000", ip], capture_output=True,
                       text=True, timeout=30)
    assert r.returncode == 0, r.stdout + r.stderr
    after = stats(engine, name, one_shot="true")["networks"]["eth0"]
    assert after["rx_bytes"] >= before["rx_bytes"] + 3000 and after["rx_packets"] >= before["rx_packets"] + 3
    assert after["tx_bytes"] >= before["tx_bytes"] + 3000 and after["tx_packets"] >= before["tx_packets"] + 3
    r = engine.cli("stats", "--no-stream", "--format", "{{.NetIO}}", name)
    rx = re.fullmatch(r"([\d.]+)(kB|MB) / [\d.]+(kB|MB)\n", r.stdout)
    assert rx, r.stdout


def test_direct_writes_show_in_blkio(engine, made):
    name = run_d(engine, made, "busybox", "sh", "-c",
                 "dd if=/dev/zero of=/f bs=1M count=8 oflag=direct && touch /done; sleep 1000")
    wait_for(lambda: engine.cli("exec", name, "test", "-e", "/done").returncode == 0, what="the writes")
    entries = stats(engine, name, one_shot="true")["blkio_stats"]["io_service_bytes_recursive"]
    written = sum(e["value"] for e in entries if e["op"] in ("Write", "write"))
    assert written >= 8 * MIB, entries
    assert all(set(e) == {"major", "minor", "op", "value"} for e in entries)
    r = engine.cli("stats", "--no-stream", "--format", "{{.BlockIO}}", name)
    assert re.fullmatch(r"[\d.]+[kMG]?B / [\d.]+MB\n", r.stdout), r.stdout


# -- the clients -------------------------------------------------------------------------------------

ROW = re.compile(r"^(?P<id>[0-9a-f]{12})\s{3,}(?P<name>\S+)\s{3,}(?P<cpu>\d+\.\d\d%)\s{3,}"
                 r"(?P<mem>[\d.]+[KMGT]?i?B / [\d.]+[KMGT]?i?B)\s{3,}(?P<memp>\d+\.\d\d%)\s{3,}"
                 r"(?P<net>[\d.]+[kMG]?B / [\d.]+[kMG]?B)\s{3,}(?P<blk>[\d.]+[kMG]?B / [\d.]+[kMG]?B)\s{3,}"
                 r"(?P<pids>\d+)$")
HEADER = re.compile(r"^CONTAINER ID\s{3,}NAME\s{3,}CPU %\s{3,}MEM USAGE / LIMIT\s{3,}MEM %\s{3,}NET I/O\s{3,}"
                    r"BLOCK I/O\s{3,}PIDS$")


@pytest.mark.parametrize("client", ["docker", "dockyard"])
def test_stats_no_stream_table_parses(engine, made, client):
    a = run_d(engine, made, "busybox", "sleep", "1000")
    b = run_d(engine, made, "busybox", "sleep", "1000")
    run = engine.docker if client == "docker" else engine.cli
    r = run("stats", "--no-stream", a, b)
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    assert HEADER.match(lines[0]), lines[0]
    rows = [ROW.match(line) for line in lines[1:]]
    assert all(rows), lines
    assert [m["name"] for m in rows] == [a, b]
    assert all(m["pids"] == "1" for m in rows)
    # all running containers, listed newest first
    r = run("stats", "--no-stream")
    names = [ROW.match(line)["name"] for line in r.stdout.splitlines()[1:]]
    assert names.index(b) < names.index(a)


LOOP_CTL_ADD, LOOP_CTL_REMOVE = 0x4C80, 0x4C81


@pytest.fixture
def fresh_disk(tmp_path):
    """A 128 MB ext4 on a loop device made new for the test (its own request queue, which no throttle
    rule has ever named: a reused loop device keeps what an earlier test set up), mounted at
    ``tmp_path/mnt``."""
    import errno
    import fcntl
    import random

    img = tmp_path / "disk.img"
    with open(img, "wb") as f:
        f.truncate(128 * MIB)
    ctl = os.open("/dev/loop-control", os.O_RDWR)
    try:
        for _ in range(50):
            idx = random.randrange(200, 4000)
            try:
                fcntl.ioctl(ctl, LOOP_CTL_ADD, idx)
                break
            except OSError as e:
                if e.errno != errno.EEXIST:
                    raise
        dev = f"/dev/loop{idx}"
        wait_for(lambda: os.path.exists(dev), timeout=5, what=dev)
        mnt = tmp_path / "mnt"
        mnt.mkdir()
        try:
            subprocess.run(["losetup", dev, str(img)], check=True, capture_output=True)
            subprocess.run(["mkfs.ext4", "-q", "-F", dev], check=True, capture_output=True)
            subprocess.run(["mount", dev, str(mnt)], check=True, capture_output=True)
            yield dev, mnt
        finally:
            subprocess.run(["umount", "-l", str(mnt)], capture_output=True)
            subprocess.run(["losetup", "-d", dev], capture_output=True)
            try:
                fcntl.ioctl(ctl, LOOP_CTL_REMOVE, idx)
            except OSError:
                pass
    finally:
        os.close(ctl)


def test_block_io_is_counted_on_a_disk_never_throttled(fresh_disk):
    # Linux 6.11+ counts v1 blkio only on disks some throttle rule has named: a daemon whose data root
    # is on such a fresh disk must still show its containers' writes
    from tests.conftest import cleanup_engine, start_engine

    dev, mnt = fresh_disk
    eng = start_engine(mnt / "engine")
    try:
        assert eng.cli("busybox-image").returncode == 0
        name = run_d(eng, [], "--network", "none", "busybox", "sh", "-c",
                     "dd if=/dev/zero of=/f bs=1M count=8 oflag=direct && touch /done; sleep 1000")
        wait_for(lambda: eng.cli("exec", name, "test", "-e", "/done").returncode == 0, what="the writes")
        rdev = os.stat(dev).st_rdev
        entries = stats(eng, name, one_shot="true")["blkio_stats"]["io_service_bytes_recursive"]
        written = sum(e["value"] for e in entries if e["op"] in ("Write", "write")
                      and (e["major"], e["minor"]) == (os.major(rdev), os.minor(rdev)))
        assert written >= 8 * MIB, entries
        # and nothing is limited: the rule that set the disk up is "no limit"
        r = eng.cli("exec", name, "dd", "if=/dev/zero", "of=/g", "bs=1M", "count=32", "oflag=direct")
        assert r.returncode == 0, r.stderr
    finally:
        cleanup_engine(eng)


def test_cli_formats_and_errors(engine, made):
    a = run_d(engine, made, "busybox", "sleep", "1000")
    r = engine.cli("stats", "--no-stream", "--format", "json", a)
    row = json.loads(r.stdout)
    assert sorted(row) == ["BlockIO", "CPUPerc", "Container", "ID", "MemPerc", "MemUsage", "Name", "NetIO", "PIDs"]
    assert row["Container"] == a and row["Name"] == a and row["PIDs"] == "1"
    r = engine.cli("stats", "--no-stream", "--no-trunc", "--format", "{{.ID}}", a)
    assert re.fullmatch(r"[0-9a-f]{64}\n", r.stdout)
    r = engine.cli("stats", "--no-stream", a, "no-such-ctr-y")
    assert r.returncode == 1 and r.stdout == ""
    assert r.stderr.strip() == "Error response from daemon: No such container: no-such-ctr-y"
    # --all includes stopped containers, zeroed
    stopped = f"st-{uuid.uuid4().hex[:10]}"
    made.append(stopped)
    assert engine.cli("create", "--name", stopped, "busybox", "true").returncode == 0
    r = engine.cli("stats", "--no-stream", "--all", "--format", "{{.Name}}|{{.MemUsage}}|{{.PIDs}}")
    assert f"{stopped}|0B / 0B|0" in r.stdout.splitlines()


def test_cli_stream_redraws_in_place(engine, made):
    a = run_d(engine, made, "busybox", "sleep", "1000")
    p = subprocess.Popen([sys.executable, "-m", "dockyard.cli", "stats", a], env=engine.env, stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE)
    try:
        time.sleep(2.2)
    finally:
        p.terminate()
        out, _ = p.communicate(timeout=10)
    screens = out.decode().split("\033[H")[1:]
    assert len(screens) >= 3, out
    for s in screens:
        assert s.endswith("\033[J")
        lines = s[:-3].split("\033[K\n")
        assert HEADER.match(lines[0]) and ROW.match(lines[1]) and lines[2] == ""


def test_docker_py_stats(engine, made):
    a = run_d(engine, made, "busybox", "sleep", "1000")
    client = engine.client()
    try:
        s = client.containers.get(a).stats(stream=False)
        assert s["name"] == f"/{a}" and s["precpu_stats"]["system_cpu_usage"] > 0
        frames = client.containers.get(a).stats(stream=True, decode=True)
        first, second = next(frames), next(frames)
        assert second["precpu_stats"] == first["cpu_stats"]
        frames.close()
    finally:
        client.close()


# -- top -----------------------------------------------------------------------------------------------

def test_top_with_ps_options(engine, made):
    a = run_d(engine, made, "busybox", "sh", "-c", "sleep 1000 & wait")
    r = engine.cli("top", a, "aux")
    lines = r.stdout.splitlines()
    assert lines[0].split() == ["USER", "PID", "%CPU", "%MEM", "VSZ", "RSS", "TTY", "STAT", "START", "TIME", "COMMAND"]
    assert sorted(line.split(None, 10)[10] for line in lines[1:]) == ["sh -c sleep 1000 & wait", "sleep 1000"]
    r = engine.cli("top", a, "-o", "pid,comm")
    assert [line.split() for line in r.stdout.splitlines()][0] == ["PID", "COMMAND"]
    assert sorted(line.split()[1] for line in r.stdout.splitlines()[1:]) == ["sh", "sleep"]
    # the same through the docker CLI
    assert engine.docker("top", a, "-o", "pid,comm").stdout == r.stdout
    r = engine.cli("top", a, "-o", "comm")
    assert r.returncode == 1 and "Couldn't find PID field in ps output" in r.stderr
    r = engine.cli("top", a, "-eo", "pid,user=PID")
    assert r.returncode == 1 and 'specifying "pid,user=PID" is not allowed' in r.stderr


def test_top_api_json(engine, made):
    a = run_d(engine, made, "busybox", "sleep", "1000")

    def top():
        status, _, body = request(engine.socket, "GET", f"/v1.44/containers/{a}/top?ps_args=-o%20pid,args")
        assert status == 200 and body["Titles"] == ["PID", "COMMAND"]
        return [p[1] for p in body["Processes"]]

    wait_for(lambda: top() == ["sleep 1000"], what="top showing the command")  # (runc init execs it)


def test_v2_cpu_reader_agrees_with_v1_on_this_hybrid_host(engine, made):
    """runc uses the v1 controllers here, but the kernel also keeps CPU time in the v2 hierarchy
    (/sys/fs/cgroup/unified): the v2 reader must find the same CPU time as the v1 one."""
    from dockyard.runtime import cgroups

    name = run_d(engine, made, "busybox", "sh", "-c", "i=0; while [ $i -lt 300000 ]; do i=$((i+1)); done; sleep 1000")
    pid = json.loads(engine.docker("inspect", name).stdout)[0]["State"]["Pid"]
    with open(f"/proc/{pid}/cgroup") as f:
        unified = [line.split(":", 2)[2].strip() for line in f if line.startswith("0::")][0]
    v1_mounts, v2_mount = cgroups.cgroup_mounts()
    assert v1_mounts.get("cpuacct") and v2_mount, "this host is expected to be hybrid (v1 controllers + v2 mount)"
    time.sleep(1.5)  # the loop is over by now: the counters stay put
    v2 = cgroups.read_v2(v2_mount + unified)
    v1 = cgroups.read(cgroups.locate("", pid))
    assert v1.version == 1 and v2 is not None and v2.cpu_total > 0
    assert abs(v2.cpu_total - v1.cpu_total) <= max(20_000_000, 0.05 * v1.cpu_total), (v1.cpu_total, v2.cpu_total)
