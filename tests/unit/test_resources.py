"""HostConfig resources → OCI spec, Docker's checks and messages, and the update merge (no daemon needed)."""

from __future__ import annotations

import dataclasses
import os
import stat

import pytest

from dockyard import errdefs
from dockyard.cli.commands.update import UPDATE, update_body
from dockyard.runtime import resources as r
from dockyard.services import container_update as cu

MB = 1024 * 1024

# a cgroup v1 host like the test machine: 2 CPUs, one memory node, swap accounting, no blkio weight
HOST = r.HostInfo(ncpu=2, cpus="0-1", mems="0", cgroup2=False, memory=True, swap_limit=True, swappiness=True,
                  kernel_memory=True, oom_kill_disable=True, pids=True, cpu_shares=True, cpu_cfs=True, cpu_rt=True,
                  cpuset=True, blkio_weight=False, blkio_weight_device=False, blkio_throttle=True)


def check(hc: dict, **kw) -> tuple[dict, list[str]]:
    hc = dict(hc)
    return hc, r.check(hc, info=HOST, **kw)


def refused(hc: dict, **kw) -> str:
    with pytest.raises(errdefs.InvalidArgument) as e:
        r.check(dict(hc), info=HOST, **kw)
    return str(e.value)


def a_block_device() -> str:
    for name in sorted(os.listdir("/dev")):
        path = os.path.join("/dev", name)
        try:
            if stat.S_ISBLK(os.stat(path).st_mode):
                return path
        except OSError:
            continue
    pytest.fail("no block device in /dev")


# -- Docker's checks, with its words -------------------------------------------------------------

@pytest.mark.parametrize("hc, message", [
    ({"Memory": 4 * MB}, "Minimum memory limit allowed is 6MB"),
    ({"Memory": -5}, "Minimum memory limit allowed is 6MB"),
    ({"Memory": 10 * MB, "MemorySwap": 5 * MB},
     "Minimum memoryswap limit should be larger than memory limit, see usage"),
    ({"MemorySwap": 100 * MB}, "You should always set the Memory limit when using Memoryswap limit, see usage"),
    ({"Memory": 10 * MB, "MemoryReservation": 20 * MB},
     "Minimum memory limit can not be less than memory reservation limit, see usage"),
    ({"MemoryReservation": 1000}, "Minimum memory reservation allowed is 6MB"),
    ({"MemorySwappiness": 200}, "Invalid value: 200, valid memory swappiness range is 0-100"),
    ({"KernelMemory": 1000}, "Minimum kernel memory limit allowed is 6MB"),
    ({"NanoCpus": 5 * 10 ** 9}, "Range of CPUs is from 0.01 to 2.00, as there are only 2 CPUs available"),
    ({"NanoCpus": 10 ** 9, "CpuPeriod": 1000}, "Conflicting options: Nano CPUs and CPU Period cannot both be set"),
    ({"NanoCpus": 10 ** 9, "CpuQuota": 1000}, "Conflicting options: Nano CPUs and CPU Quota cannot both be set"),
    ({"CpuPeriod": 500}, "CPU cfs period can not be less than 1ms (i.e. 1000) or larger than 1s (i.e. 1000000)"),
    ({"CpuPeriod": 2_000_000}, "CPU cfs period can not be less than 1ms (i.e. 1000) or larger than 1s (i.e. 1000000)"),
    ({"CpuQuota": 500}, "CPU cfs quota can not be less than 1ms (i.e. 1000)"),
    ({"CpuRealtimePeriod": 500, "CpuRealtimeRuntime": 1000},
     "cpu real-time runtime cannot be higher than cpu real-time period"),
    ({"CpusetCpus": "5"}, "Requested CPUs are not available - requested 5, available: 0-1"),
    ({"CpusetCpus": "0-3"}, "Requested CPUs are not available - requested 0-3, available: 0-1"),
    ({"CpusetCpus": "abc"}, "Invalid value abc for cpuset cpus: invalid format: abc"),
    ({"CpusetMems": "3"}, "Requested memory nodes are not available - requested 3, available: 0"),
    ({"IOMaximumIOps": 4}, "Invalid QoS settings: linux does not support configuration of maximum IOPs"),
    ({"IOMaximumBandwidth": 4}, "Invalid QoS settings: linux does not support configuration of maximum bandwidth"),
    ({"OomScoreAdj": 5000}, "Invalid value 5000, range for oom score adj is [-1000, 1000]"),
    ({"Ulimits": [{"Name": "bogus", "Soft": 1, "Hard": 1}]}, "invalid ulimit type: bogus"),
    ({"Ulimits": [{"Name": "nofile", "Soft": 10, "Hard": 5}]},
     "ulimit soft limit must be less than or equal to hard limit: 10 > 5"),
    ({"BlkioDeviceWriteBps": [{"Path": "/dev/nonexistent-dev", "Rate": 1}]},
     "stat /dev/nonexistent-dev: no such file or directory"),
    ({"BlkioDeviceReadIOps": [{"Path": "/dev/null", "Rate": 1}]}, "/dev/null is not a block device"),
])
def test_refused_with_dockers_message(hc, message):
    assert refused(hc) == message


@pytest.mark.parametrize("key, value", [
    ("vm.swappiness", 'sysctl "vm.swappiness" is not in a separate kernel namespace'),
    ("kernel.pid_max", 'sysctl "kernel.pid_max" is not in a separate kernel namespace'),
    ("kernel.hostname", 'sysctl "kernel.hostname" is not allowed; it should be set using uts namespace'),
])
def test_sysctls_outside_the_containers_namespaces_are_refused(key, value):
    assert refused({"Sysctls": {key: "1"}}) == value


def test_sysctls_of_the_containers_namespaces_are_allowed():
    ok = {"kernel.shmmax": "1", "kernel.msgmax": "1", "kernel.sem": "1 2 3 4", "fs.mqueue.msg_max": "1",
          "net.ipv4.ip_forward": "1", "net.core.somaxconn": "1", "kernel.domainname": "x"}
    hc, w = check({"Sysctls": ok})
    assert w == [] and hc["Sysctls"] == ok
    assert refused({"Sysctls": {"net.ipv4.ip_forward": "1"}, "NetworkMode": "host"}) == \
        'sysctl "net.ipv4.ip_forward" not allowed in host network namespace'
    assert refused({"Sysctls": {"kernel.shmmax": "1"}, "IpcMode": "host"}) == \
        'sysctl "kernel.shmmax" not allowed in host ipc namespace'


def test_defaults_as_docker_stores_them():
    hc, w = check({"Memory": 64 * MB, "PidsLimit": -1, "MemorySwappiness": -1})
    assert w == []
    assert hc["MemorySwap"] == 128 * MB          # twice the memory
    assert hc["OomKillDisable"] is False
    assert hc["PidsLimit"] is None               # 0 and -1: unlimited, shown as null
    assert hc["MemorySwappiness"] is None
    hc, _ = check({"Memory": 64 * MB, "MemorySwap": -1, "PidsLimit": 0})
    assert hc["MemorySwap"] == -1 and hc["PidsLimit"] is None
    hc, _ = check({"MemorySwap": 0})
    assert hc["MemorySwap"] == 0  # no memory limit: no swap limit either


def test_warnings_and_discarded_values():
    hc, w = check({"BlkioWeight": 500, "BlkioWeightDevice": [{"Path": "/dev/x", "Weight": 10}], "CpuPercent": 5})
    assert w == ["linux does not support CPU percent. Percent discarded.",
                 "Your kernel does not support Block I/O weight or the cgroup is not mounted. Weight discarded.",
                 "Your kernel does not support Block I/O weight_device or the cgroup is not mounted. "
                 "Weight-device discarded."]
    assert hc["BlkioWeight"] == 0 and hc["BlkioWeightDevice"] == [] and hc["CpuPercent"] == 0
    _, w = check({"OomKillDisable": True})
    assert w == ["OOM killer is disabled for the container, but no memory limit is set, this can result in the "
                 "system running out of resources."]
    assert check({"OomKillDisable": True, "Memory": 64 * MB})[1] == []
    _, w = check({"KernelMemory": 64 * MB})
    assert w == ["Specifying a kernel memory limit is deprecated and will be removed in a future release."]
    # no swap accounting: the memory is limited without swap
    noswap = dataclasses.replace(HOST, swap_limit=False)
    hc = {"Memory": 64 * MB}
    assert r.check(hc, info=noswap) == ["Your kernel does not support swap limit capabilities or the cgroup is not "
                                        "mounted. Memory limited without swap."]
    assert hc["MemorySwap"] == -1


def test_cpuset_lists():
    assert r.parse_cpuset("0-2,5") == {0, 1, 2, 5}
    assert r.parse_cpuset("") == set()
    for bad in ("a", "1-", "-1", "3-1", "1,,2", "\u00b2", " 1"):
        with pytest.raises(ValueError):
            r.parse_cpuset(bad)
    assert check({"CpusetCpus": "0,1", "CpusetMems": "0"})[1] == []


# -- HostConfig → OCI --------------------------------------------------------------------------------

def test_linux_resources_as_docker_writes_them():
    dev = a_block_device()
    st = os.stat(dev)
    hc, _ = check({"Memory": 64 * MB, "MemoryReservation": 10 * MB, "KernelMemory": 50 * MB, "MemorySwappiness": 10,
                   "NanoCpus": 1_500_000_000, "CpuShares": 512, "CpusetCpus": "0", "CpusetMems": "0",
                   "PidsLimit": 100, "BlkioDeviceWriteBps": [{"Path": dev, "Rate": MB}],
                   "BlkioDeviceReadIOps": [{"Path": dev, "Rate": 10}]})
    res = r.linux_resources(hc)
    assert res["memory"] == {"limit": 64 * MB, "reservation": 10 * MB, "swap": 128 * MB, "swappiness": 10,
                             "disableOOMKiller": False, "kernel": 50 * MB}
    assert res["cpu"] == {"shares": 512, "period": 100000, "quota": 150000, "cpus": "0", "mems": "0"}
    assert res["pids"] == {"limit": 100}
    mm = {"major": os.major(st.st_rdev), "minor": os.minor(st.st_rdev)}
    assert res["blockIO"] == {"throttleWriteBpsDevice": [{**mm, "rate": MB}],
                              "throttleReadIOPSDevice": [{**mm, "rate": 10}]}
    assert "devices" not in res


def test_period_and_quota_and_unlimited_values():
    hc, _ = check({"CpuPeriod": 50000, "CpuQuota": 25000, "CpuRealtimePeriod": 1000000, "CpuRealtimeRuntime": 950000})
    assert r.linux_resources(hc)["cpu"] == {"period": 50000, "quota": 25000, "realtimePeriod": 1000000,
                                            "realtimeRuntime": 950000}
    hc, _ = check({"Memory": 64 * MB, "MemorySwap": -1})
    assert r.linux_resources(hc)["memory"]["swap"] == -1
    # nothing set: nothing but the OOM killer flag
    assert r.linux_resources(check({})[0]) == {"memory": {"disableOOMKiller": False}}


def test_rlimits_and_spec_application():
    hc = {"Ulimits": [{"Name": "nofile", "Soft": 100, "Hard": 200}, {"Name": "nproc", "Soft": 50, "Hard": 50}],
          "Sysctls": {"net.core.somaxconn": "1024"}, "Memory": 64 * MB, "PidsLimit": 10}
    assert r.rlimits(hc) == [{"type": "RLIMIT_NOFILE", "hard": 200, "soft": 100},
                             {"type": "RLIMIT_NPROC", "hard": 50, "soft": 50}]
    spec = {"process": {}, "linux": {"resources": {"devices": ["d"]}, "sysctl": {"net.ipv4.ping_group_range": "0 1"}}}
    r.apply(spec, hc)
    assert spec["linux"]["resources"]["devices"] == ["d"]  # the device rules stay
    assert spec["linux"]["resources"]["memory"]["limit"] == 64 * MB
    assert spec["linux"]["resources"]["pids"] == {"limit": 10}
    assert spec["process"]["rlimits"][0]["type"] == "RLIMIT_NOFILE"
    assert spec["linux"]["sysctl"] == {"net.ipv4.ping_group_range": "0 1", "net.core.somaxconn": "1024"}
    bare = {"process": {}, "linux": {"resources": {}, "sysctl": {}}}
    r.apply(bare, {})
    assert "rlimits" not in bare["process"]  # no ulimits: the process keeps the daemon's limits


def test_host_info_reads_this_machine():
    h = r.host()
    assert h.ncpu >= 1 and h.cpus and h.mems
    assert r.parse_cpuset(h.cpus)


# -- update ------------------------------------------------------------------------------------------

CID = "c" * 64


def test_update_merges_nonzero_fields():
    cur = {"Memory": 64 * MB, "MemorySwap": 128 * MB, "CpuShares": 0, "NanoCpus": 0, "PidsLimit": None,
           "RestartPolicy": {"Name": "no", "MaximumRetryCount": 0}, "AutoRemove": False}
    hc = cu.merge(CID, cur, {"Memory": 100 * MB, "CpuShares": 512, "NanoCpus": 0, "PidsLimit": -1,
                             "RestartPolicy": {"Name": "on-failure", "MaximumRetryCount": 3}})
    assert hc["Memory"] == 100 * MB and hc["MemorySwap"] == 128 * MB and hc["CpuShares"] == 512
    assert hc["PidsLimit"] == 0 and hc["RestartPolicy"] == {"Name": "on-failure", "MaximumRetryCount": 3}
    assert cur["Memory"] == 64 * MB  # the stored config is not touched
    # runc update gets everything that is set, -1 to lift the pids limit
    assert r.linux_resources(hc, update=True) == {"memory": {"limit": 100 * MB, "swap": 128 * MB},
                                                  "cpu": {"shares": 512}, "pids": {"limit": -1}}


@pytest.mark.parametrize("cur, body, message", [
    ({"MemorySwap": 0}, {"Memory": 100 * MB},
     "Memory limit should be smaller than already set memoryswap limit, update the memoryswap at the same time"),
    ({"NanoCpus": 10 ** 9}, {"CpuPeriod": 50000},
     "Conflicting options: CPU Period cannot be updated as NanoCPUs has already been set"),
    ({"NanoCpus": 10 ** 9}, {"CpuQuota": 50000},
     "Conflicting options: CPU Quota cannot be updated as NanoCPUs has already been set"),
    ({"CpuPeriod": 50000}, {"NanoCpus": 10 ** 9},
     "Conflicting options: Nano CPUs cannot be updated as CPU Period has already been set"),
    ({"AutoRemove": True}, {"RestartPolicy": {"Name": "always"}},
     "Restart policy cannot be updated because AutoRemove is enabled for the container"),
])
def test_update_conflicts_are_409(cur, body, message):
    with pytest.raises(errdefs.Conflict) as e:
        cu.merge(CID, cur, body)
    assert str(e.value) == f"Cannot update container {CID}: {message}"


def test_update_body_checks():
    with pytest.raises(errdefs.InvalidArgument, match="invalid restart policy 'bogus'"):
        cu.check_body({"RestartPolicy": {"Name": "bogus"}})
    with pytest.raises(errdefs.InvalidArgument, match="Minimum memory limit allowed is 6MB"):
        cu.check_body({"Memory": 5})
    body = {"MemorySwap": 200 * MB, "PidsLimit": -1}
    assert cu.check_body(body) == []   # swap alone is fine in an update
    assert body["PidsLimit"] == -1     # kept for runc to lift the limit


def test_cli_update_body_is_the_docker_clis():
    opts, args = UPDATE.parse("dockyard update", ["-m", "300m", "--cpus", "0.5", "--pids-limit", "-1",
                                                  "--restart", "on-failure:2", "a", "b"])
    assert args == ["a", "b"]
    assert update_body(opts) == {
        "BlkioWeight": 0, "CpuShares": 0, "Memory": 300 * MB, "NanoCpus": 500_000_000, "CpuPeriod": 0,
        "CpuQuota": 0, "CpuRealtimePeriod": 0, "CpuRealtimeRuntime": 0, "CpusetCpus": "", "CpusetMems": "",
        "KernelMemory": 0, "MemoryReservation": 0, "MemorySwap": 0, "PidsLimit": -1,
        "RestartPolicy": {"Name": "on-failure", "MaximumRetryCount": 2}}
    opts, _ = UPDATE.parse("dockyard update", ["--memory-swap", "-1", "a"])
    body = update_body(opts)
    assert body["MemorySwap"] == -1 and "PidsLimit" not in body and body["RestartPolicy"]["Name"] == ""


def test_cli_refuses_what_docker_cli_refuses():
    from dockyard.cli.runopts import _ulimit, _valid_sysctl

    for ok in ("net.ipv4.ip_forward=1", "kernel.shmmax=1", "fs.mqueue.msg_max=10", "kernel.sem=1 2 3 4"):
        assert _valid_sysctl(ok) == ok
    for bad in ("vm.swappiness=1", "kernel.domainname=x", "net.core.somaxconn"):
        with pytest.raises(ValueError, match=f"sysctl '{bad}' is not allowed"):
            _valid_sysctl(bad)
    assert _ulimit("nofile=100:200") == {"Name": "nofile", "Hard": 200, "Soft": 100}
    with pytest.raises(ValueError, match="invalid ulimit type: bogus"):
        _ulimit("bogus=1")


def test_hostile_values_are_400s_not_crashes():
    assert refused({"CpusetCpus": "0-99999999999"}) == \
        "Requested CPUs are not available - requested 0-99999999999, available: 0-1"
    assert refused({"BlkioDeviceReadBps": [{"Path": "/dev/\x00x", "Rate": 1}]}) == \
        "stat '/dev/\\x00x': invalid argument"
    assert refused({"BlkioDeviceReadBps": [{"Path": "", "Rate": 1}]}) == "stat : no such file or directory"
