"""The pure parts of stats, metrics and top: cgroup file parsing, Docker's JSON, the docker CLI's sums."""

from __future__ import annotations

import json
import re

import pytest

from dockyard import errdefs
from dockyard.api.server import metrics as m
from dockyard.cli.commands import stats as cli_stats
from dockyard.runtime import cgroups
from dockyard.services import stats as svc_stats
from dockyard.services import top


# -- cgroup files -------------------------------------------------------------------------------------

def test_parse_blkio_v1_skips_the_total_line():
    text = "254:0 Read 24576\n254:0 Write 21024768\n254:0 Sync 21049344\n254:0 Async 0\n" \
           "254:0 Discard 0\n254:0 Total 21049344\nTotal 21049344\n"
    got = cgroups.parse_blkio_v1(text)
    assert got[0] == (254, 0, "Read", 24576)
    assert got[1] == (254, 0, "Write", 21024768)
    assert len(got) == 6 and got[-1][2] == "Total"


def test_parse_io_stat_v2_as_docker_converts_it():
    by, ios = cgroups.parse_io_stat_v2("8:0 rbytes=4096 wbytes=8192 rios=1 wios=2 dbytes=0 dios=0\n")
    assert by == [(8, 0, "read", 4096), (8, 0, "write", 8192)]
    assert ios == [(8, 0, "read", 1), (8, 0, "write", 2)]


def test_parse_net_dev_leaves_out_lo():
    text = ("Inter-|   Receive                                                |  Transmit\n"
            " face |bytes    packets errs drop fifo frame compressed multicast|bytes    packets errs drop fifo colls "
            "carrier compressed\n"
            "    lo:     100       1    0    0    0     0          0         0      100       1    0    0    0     0"
            "       0          0\n"
            "  eth0:    2474      25    1    2    0     0          0         0      516       6    3    4    0     0"
            "       0          0\n")
    assert cgroups.parse_net_dev(text) == {"eth0": {
        "rx_bytes": 2474, "rx_packets": 25, "rx_errors": 1, "rx_dropped": 2,
        "tx_bytes": 516, "tx_packets": 6, "tx_errors": 3, "tx_dropped": 4}}


def _write(d, name, text):
    (d / name).write_text(text)


def test_read_v1_from_a_fake_hierarchy(tmp_path):
    dirs = {}
    for ctl in ("cpu", "cpuacct", "memory", "blkio", "pids"):
        d = tmp_path / ctl / "dockyard" / "abc"
        d.mkdir(parents=True)
        dirs[ctl] = str(d)
    _write(tmp_path / "cpuacct/dockyard/abc", "cpuacct.usage", "3000\n")
    _write(tmp_path / "cpuacct/dockyard/abc", "cpuacct.usage_percpu", "1000 2000 \n")
    _write(tmp_path / "cpuacct/dockyard/abc", "cpuacct.stat", "user 7\nsystem 3\n")
    _write(tmp_path / "cpu/dockyard/abc", "cpu.stat", "nr_periods 10\nnr_throttled 4\nthrottled_time 999\n")
    mem = tmp_path / "memory/dockyard/abc"
    _write(mem, "memory.usage_in_bytes", "4096000\n")
    _write(mem, "memory.max_usage_in_bytes", "5000000\n")
    _write(mem, "memory.limit_in_bytes", "9223372036854771712\n")
    _write(mem, "memory.failcnt", "0\n")
    _write(mem, "memory.stat", "cache 100\nshmem 5\ntotal_inactive_file 4000\nrss 20\n")
    _write(tmp_path / "blkio/dockyard/abc", "blkio.throttle.io_service_bytes", "8:0 Read 10\n8:0 Write 20\nTotal 30\n")
    _write(tmp_path / "blkio/dockyard/abc", "blkio.throttle.io_serviced", "8:0 Read 1\n8:0 Write 2\nTotal 3\n")
    _write(tmp_path / "pids/dockyard/abc", "pids.current", "3\n")
    _write(tmp_path / "pids/dockyard/abc", "pids.max", "max\n")
    s = cgroups.read(cgroups.CgroupPaths(1, dirs=dirs))
    assert s.cpu_total == 3000 and s.cpu_percpu == [1000, 2000]
    assert s.cpu_user == 7 * cgroups.NS_PER_TICK and s.cpu_kernel == 3 * cgroups.NS_PER_TICK
    assert (s.throttle_periods, s.throttled_periods, s.throttled_time) == (10, 4, 999)
    assert s.mem_usage == 4096000 and s.mem_max_usage == 5000000
    # exactly Docker's keys: present even when the kernel lacks them, none of the others (shmem)
    assert set(s.mem_stats) == set(cgroups.V1_MEMORY_KEYS) and s.mem_stats["cache"] == 100
    assert s.cache == 4000
    assert s.io_bytes == [(8, 0, "Read", 10), (8, 0, "Write", 20)]
    assert s.pids_current == 3 and s.pids_limit == 0
    # a cgroup that went away: no sample
    assert cgroups.read(cgroups.CgroupPaths(1, dirs={"cpuacct": str(tmp_path / "gone")})) is None


def test_read_v2_from_a_fake_dir(tmp_path):
    _write(tmp_path, "cpu.stat", "usage_usec 1500\nuser_usec 1000\nsystem_usec 500\nnr_periods 2\n"
                                 "nr_throttled 1\nthrottled_usec 7\n")
    _write(tmp_path, "memory.current", "8192\n")
    _write(tmp_path, "memory.max", "max\n")
    _write(tmp_path, "memory.stat", "anon 4096\ninactive_file 1024\n")
    _write(tmp_path, "io.stat", "8:0 rbytes=1 wbytes=2 rios=3 wios=4\n")
    _write(tmp_path, "pids.current", "2\n")
    _write(tmp_path, "pids.max", "100\n")
    s = cgroups.read(cgroups.CgroupPaths(2, unified=str(tmp_path)))
    assert (s.cpu_total, s.cpu_user, s.cpu_kernel, s.throttled_time) == (1_500_000, 1_000_000, 500_000, 7000)
    assert s.mem_usage == 8192 and s.mem_limit == 0 and s.cache == 1024
    assert s.io_bytes == [(8, 0, "read", 1), (8, 0, "write", 2)]
    assert (s.pids_current, s.pids_limit) == (2, 100)


def test_system_cpu_usage_sums_user_to_softirq(tmp_path):
    _write(tmp_path, "stat", "cpu  10 20 30 40 50 60 70 80 0 0\ncpu0 1 2 3 4 5 6 7 8 0 0\n")
    assert cgroups.system_cpu_usage(str(tmp_path / "stat")) == 280 * cgroups.NS_PER_TICK


def test_cgroup_mounts_from_mountinfo(tmp_path):
    _write(tmp_path, "mountinfo",
           "30 25 0:26 / /sys/fs/cgroup/memory rw,relatime shared:11 - cgroup cgroup rw,memory\n"
           "31 25 0:27 / /sys/fs/cgroup/cpu,cpuacct rw,relatime shared:12 - cgroup cgroup rw,cpu,cpuacct\n"
           "32 25 0:28 / /sys/fs/cgroup/unified rw,relatime shared:13 - cgroup2 cgroup2 rw\n")
    v1, v2 = cgroups.cgroup_mounts(str(tmp_path / "mountinfo"))
    assert v1 == {"memory": "/sys/fs/cgroup/memory", "cpu": "/sys/fs/cgroup/cpu,cpuacct",
                  "cpuacct": "/sys/fs/cgroup/cpu,cpuacct"}
    assert v2 == "/sys/fs/cgroup/unified"



HYBRID = ("30 25 0:26 / /sys/fs/cgroup/memory rw,relatime shared:11 - cgroup cgroup rw,memory\n"
          "31 25 0:27 / /sys/fs/cgroup/systemd rw,relatime shared:12 - cgroup cgroup rw,xattr,name=systemd\n"
          "32 25 0:28 / /sys/fs/cgroup/unified rw,relatime shared:13 - cgroup2 cgroup2 rw\n"
          "33 25 0:29 / /sys/fs/cgroup/pids rw,relatime shared:14 - cgroup cgroup rw,pids\n"
          "34 40 0:26 / /mnt/again rw,relatime shared:11 - cgroup cgroup rw,memory\n")


def test_v1_hierarchies_from_mountinfo(tmp_path):
    _write(tmp_path, "mountinfo", HYBRID)
    assert cgroups.v1_hierarchies(str(tmp_path / "mountinfo")) == [
        ("/sys/fs/cgroup/memory", frozenset({"memory"})), ("/sys/fs/cgroup/systemd", frozenset({"name=systemd"})),
        ("/sys/fs/cgroup/pids", frozenset({"pids"}))]  # cgroup2 left out, a second mount of memory too


def test_container_binds_only_where_runc_would_bind_the_same(tmp_path):
    _write(tmp_path, "mountinfo", HYBRID)
    h = cgroups.v1_hierarchies(str(tmp_path / "mountinfo"))
    assert cgroups.container_binds("/dockyard/c1", h) == [
        ("/sys/fs/cgroup/memory/dockyard/c1", "memory"), ("/sys/fs/cgroup/systemd/dockyard/c1", "systemd"),
        ("/sys/fs/cgroup/pids/dockyard/c1", "pids")]
    assert cgroups.container_binds("parent/c1", h) is None  # relative to runc's own cgroup: runc knows
    assert cgroups.container_binds("/dockyard/c1", []) is None  # cgroup v2
    # runc shows cpu,cpuacct through symlinks, and leaves a controller it does not manage at its own cgroup
    assert cgroups.container_binds("/dockyard/c1", h + [("/sys/fs/cgroup/cpu,cpuacct", frozenset({"cpu", "cpuacct"}))]) is None
    assert cgroups.container_binds("/dockyard/c1", h + [("/sys/fs/cgroup/misc", frozenset({"misc"}))]) is None

# -- Docker's JSON ---------------------------------------------------------------------------------------

def _sample(**kw) -> svc_stats.Sample:
    cg = cgroups.CgroupSample(cpu_total=2_000_000_000, cpu_percpu=[1_500_000_000, 500_000_000], cpu_user=1_900_000_000,
                              cpu_kernel=100_000_000, mem_usage=50 << 20, mem_max_usage=60 << 20,
                              mem_limit=9223372036854771712, mem_stats={k: 0 for k in cgroups.V1_MEMORY_KEYS},
                              io_bytes=[(8, 0, "Read", 4096), (8, 0, "Write", 8192)], pids_current=2)
    for k, v in kw.items():
        setattr(cg, k, v)
    return svc_stats.Sample(read_ns=1_700_000_000_123_456_789, cg=cg, system_cpu=10_000_000_000_000,
                            networks={"eth0": {"rx_bytes": 10, "rx_packets": 1, "rx_errors": 0, "rx_dropped": 0,
                                               "tx_bytes": 20, "tx_packets": 2, "tx_errors": 0, "tx_dropped": 0}})


def test_stats_json_shape_and_order():
    cur, pre = _sample(), _sample(cpu_total=1_000_000_000)
    pre.read_ns -= 500_000_000
    pre.system_cpu -= 1_000_000_000
    out = svc_stats.stats_json("web", "abc", cur, pre, ncpu=2, machine_memory=1 << 30)
    assert list(out) == ["read", "preread", "pids_stats", "blkio_stats", "num_procs", "storage_stats", "cpu_stats",
                         "precpu_stats", "memory_stats", "name", "id", "networks"]
    assert out["read"] == "2023-11-14T22:13:20.123456789Z"
    assert out["name"] == "/web" and out["pids_stats"] == {"current": 2}
    assert list(out["cpu_stats"]) == ["cpu_usage", "system_cpu_usage", "online_cpus", "throttling_data"]
    assert list(out["cpu_stats"]["cpu_usage"]) == ["total_usage", "percpu_usage", "usage_in_kernelmode",
                                                   "usage_in_usermode"]
    # no limit: the machine's memory, as Docker reports it
    assert out["memory_stats"]["limit"] == 1 << 30
    assert list(out["memory_stats"]) == ["usage", "max_usage", "stats", "limit"]
    assert out["blkio_stats"]["io_service_bytes_recursive"][0] == {"major": 8, "minor": 0, "op": "Read", "value": 4096}
    assert out["blkio_stats"]["sectors_recursive"] == []
    json.dumps(out)


def test_zeroed_frame_is_dockers():
    z = svc_stats.zeroed_frame("s3", "ecf7")
    assert json.dumps(z, separators=(",", ":")) == (
        '{"read":"0001-01-01T00:00:00Z","preread":"0001-01-01T00:00:00Z","pids_stats":{},"blkio_stats":'
        '{"io_service_bytes_recursive":null,"io_serviced_recursive":null,"io_queue_recursive":null,'
        '"io_service_time_recursive":null,"io_wait_time_recursive":null,"io_merged_recursive":null,'
        '"io_time_recursive":null,"sectors_recursive":null},"num_procs":0,"storage_stats":{},"cpu_stats":'
        '{"cpu_usage":{"total_usage":0,"usage_in_kernelmode":0,"usage_in_usermode":0},"throttling_data":'
        '{"periods":0,"throttled_periods":0,"throttled_time":0}},"precpu_stats":{"cpu_usage":{"total_usage":0,'
        '"usage_in_kernelmode":0,"usage_in_usermode":0},"throttling_data":{"periods":0,"throttled_periods":0,'
        '"throttled_time":0}},"memory_stats":{},"name":"/s3","id":"ecf7"}')


# -- the docker CLI's calculations -----------------------------------------------------------------------

def test_cpu_percent_is_delta_over_system_times_cpus():
    frame = {"cpu_stats": {"cpu_usage": {"total_usage": 2_000}, "system_cpu_usage": 10_000, "online_cpus": 2},
             "precpu_stats": {"cpu_usage": {"total_usage": 1_000}, "system_cpu_usage": 8_000}}
    assert cli_stats.cpu_percent(frame) == pytest.approx(100.0)
    # online_cpus missing: the length of percpu_usage
    frame["cpu_stats"].pop("online_cpus")
    frame["cpu_stats"]["cpu_usage"]["percpu_usage"] = [1, 1, 1, 1]
    assert cli_stats.cpu_percent(frame) == pytest.approx(200.0)
    # nothing moved: 0
    assert cli_stats.cpu_percent({"cpu_stats": {}, "precpu_stats": {}}) == 0.0


def test_memory_usage_leaves_out_inactive_file():
    assert cli_stats.mem_usage_no_cache({"usage": 1000, "stats": {"total_inactive_file": 300}}) == 700
    assert cli_stats.mem_usage_no_cache({"usage": 1000, "stats": {"inactive_file": 100}}) == 900  # v2
    assert cli_stats.mem_usage_no_cache({"usage": 100, "stats": {"total_inactive_file": 300}}) == 100
    assert cli_stats.mem_percent(0, 10) == 0.0
    assert cli_stats.mem_percent(200, 50) == 25.0


def test_block_io_and_network_sums():
    blk = {"io_service_bytes_recursive": [
        {"op": "Read", "value": 10}, {"op": "Write", "value": 20}, {"op": "read", "value": 1},
        {"op": "Total", "value": 31}, {"op": "", "value": 5}]}
    assert cli_stats.block_io(blk) == (11, 20)
    assert cli_stats.network_io({"eth0": {"rx_bytes": 1, "tx_bytes": 2}, "eth1": {"rx_bytes": 3, "tx_bytes": 4}}) \
        == (4, 6)


def test_entry_row_as_docker_prints_it():
    e = cli_stats.Entry("s4")
    e.update({"name": "/s4", "id": "e676b6c6f64fe472571ac522ec7d8321151f02eb871e4d4eb67b3249c0f8183e",
              "memory_stats": {"usage": 360448, "stats": {"total_inactive_file": 0}, "limit": 25276510208},
              "blkio_stats": {"io_service_bytes_recursive": [{"op": "Read", "value": 24576},
                                                             {"op": "Write", "value": 21024768}]},
              "pids_stats": {"current": 1}, "cpu_stats": {}, "precpu_stats": {}})
    r = e.row(trunc=True)
    # docker stats printed: e676b6c6f64f   s4   0.00%   352KiB / 23.54GiB   0.00%   0B / 0B   24.6kB / 21MB   1
    assert (r["ID"], r["Name"], r["CPUPerc"], r["MemUsage"], r["MemPerc"], r["NetIO"], r["BlockIO"], r["PIDs"]) == \
        ("e676b6c6f64f", "s4", "0.00%", "352KiB / 23.54GiB", "0.00%", "0B / 0B", "24.6kB / 21MB", "1")
    stopped = cli_stats.Entry("x")
    stopped.update(svc_stats.zeroed_frame("s3", "ecf7c82ba67f"))
    assert stopped.row(True)["MemUsage"] == "0B / 0B" and stopped.row(True)["PIDs"] == "0"
    bad = cli_stats.Entry("gone")
    bad.invalid = True
    assert bad.row(True)["Name"] == "--" and bad.row(True)["MemUsage"] == "-- / --"


def test_render_formats():
    e = cli_stats.Entry("web")
    e.update(svc_stats.zeroed_frame("web", "a" * 64))
    table = cli_stats.render([e], "", True)
    # docker stats --no-stream -a, byte for byte (a stopped container)
    assert table == ("CONTAINER ID   NAME      CPU %     MEM USAGE / LIMIT   MEM %     NET I/O   BLOCK I/O   PIDS\n"
                     "aaaaaaaaaaaa   web       0.00%     0B / 0B             0.00%     0B / 0B   0B / 0B     0\n")
    assert json.loads(cli_stats.render([e], "json", True)) == {
        "BlockIO": "0B / 0B", "CPUPerc": "0.00%", "Container": "web", "ID": "a" * 12, "MemPerc": "0.00%",
        "MemUsage": "0B / 0B", "Name": "web", "NetIO": "0B / 0B", "PIDs": "0"}
    assert cli_stats.render([e], "table {{.Container}}\t{{.Name}}", True) == "CONTAINER   NAME\nweb         web\n"
    assert cli_stats.render([e], "{{.Name}} {{.PIDs}}", True) == "web 0\n"


# -- metrics -----------------------------------------------------------------------------------------------

def test_histogram_buckets_are_cumulative():
    h = m.Histogram((0.1, 1.0))
    for v in (0.05, 0.5, 5.0):
        h.observe(v)
    f = m.Family("x_seconds", "histogram", "help")
    h.add_to(f, action="start")
    out: list[str] = []
    f.render(out)
    assert "".join(out) == (
        "# HELP x_seconds help\n# TYPE x_seconds histogram\n"
        'x_seconds_bucket{action="start",le="0.1"} 1\n'
        'x_seconds_bucket{action="start",le="1.0"} 2\n'
        'x_seconds_bucket{action="start",le="+Inf"} 3\n'
        'x_seconds_sum{action="start"} 5.55\n'
        'x_seconds_count{action="start"} 3\n')


def test_label_escaping_and_values():
    assert m.escape_label('a"b\\c\nd') == 'a\\"b\\\\c\\nd'
    assert m.format_value(3) == "3" and m.format_value(0.5) == "0.5" and m.format_value(float("inf")) == "+Inf"


def test_version_prefix_is_dropped_from_routes():
    assert m._VERSION_PREFIX.sub("", "/{ver}/containers/{id}/json") == "/containers/{id}/json"
    assert m._VERSION_PREFIX.sub("", "/_ping") == "/_ping"


# -- top -----------------------------------------------------------------------------------------------------

PS_AUX = """USER         PID %CPU %MEM    VSZ   RSS TTY      STAT START   TIME COMMAND
root           1  0.0  0.0 168000 12000 ?        Ss   03:00   0:01 /sbin/init splash
root        6696  0.0  0.0   2268  1768 ?        Ss   03:34   0:00 sleep 1000
root        6700  0.0  0.0   2268  1768 ?        S    03:34   0:00 sh -c while true; do sleep 1; done
"""


def test_parse_ps_output_keeps_the_containers_processes():
    got = top.parse_ps_output(PS_AUX, [6696, 6700])
    assert got["Titles"][1] == "PID" and len(got["Titles"]) == 11
    assert [p[1] for p in got["Processes"]] == ["6696", "6700"]
    assert got["Processes"][1][-1] == "sh -c while true; do sleep 1; done"


def test_parse_ps_output_thread_rows_follow_their_process():
    out = "PID TID CMD\n10 - a\n- 10 -\n- 11 -\n20 - b\n- 20 -\n"
    got = top.parse_ps_output(out, [10])
    assert got["Processes"] == [["10", "-", "a"], ["-", "10", "-"], ["-", "11", "-"]]


def test_ps_args_checks():
    with pytest.raises(errdefs.System, match=re.escape('specifying "pid,user=PID" is not allowed')):
        top.validate_ps_args("-eo pid,user=PID")
    top.validate_ps_args("-eo pid=PID,comm")
    with pytest.raises(errdefs.System, match="Couldn't find PID field in ps output"):
        top.parse_ps_output("COMMAND\nsleep\n", [1])
