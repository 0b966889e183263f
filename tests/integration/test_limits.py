"""Resource limits hold: each one is tried by a workload that wants more than it was given.

Memory hog → OOM kill (137, State.OOMKilled, ``oom`` before ``die``); fork loop under
--pids-limit; two CPU burners pinned to one CPU with shares 1024 vs 512; --cpus 0.5; dd with
oflag=direct under --device-write-bps on a loop device; ulimits, sysctls, /dev/shm; and
``update`` (docker CLI, dockyard CLI, docker-py, the API) changing a running container's cgroup.
The cgroup files are read on the host, found through /proc/<pid>/cgroup (so the same tests run
against dockerd as the oracle).
"""

from __future__ import annotations

import json
import os
import resource
import subprocess
import time

import pytest

from tests.helpers import request, wait_for

MB = 1024 * 1024
BURN = ["sh", "-c", "while :; do :; done"]


@pytest.fixture
def names(engine):
    made: list[str] = []
    yield made
    if made:
        engine.docker("rm", "-f", *made)


def run_d(engine, names, name, *args):
    names.append(name)
    r = engine.docker("run", "-d", "--name", name, *args)
    assert r.returncode == 0, r.stderr
    return inspect(engine, name)


def inspect(engine, name) -> dict:
    r = engine.docker("inspect", name)
    assert r.returncode == 0, r.stderr
    return json.loads(r.stdout)[0]


def cgroup_dir(pid: int, controller: str) -> str:
    """The host directory of ``pid``'s cgroup for a v1 controller (or the v2 unified one)."""
    with open(f"/proc/{pid}/cgroup") as f:
        for line in f:
            _, ctls, path = line.rstrip("\n").split(":", 2)
            if controller in ctls.split(","):
                for mnt in (f"/sys/fs/cgroup/{controller}", f"/sys/fs/cgroup/{ctls}"):
                    if os.path.isdir(mnt):
                        return mnt + path
    raise AssertionError(f"no {controller} cgroup for pid {pid}")


def cg(pid: int, controller: str, name: str) -> str:
    with open(os.path.join(cgroup_dir(pid, controller), name)) as f:
        return f.read().strip()


# -- memory ------------------------------------------------------------------------------------------

def test_memory_hog_is_oom_killed(engine, name, names):
    names.append(name)
    since = str(int(time.time()) - 1)
    r = engine.docker("run", "--name", name, "-m", "32m", "busybox", "sh", "-c",
                      'x=$(head -c 200m /dev/zero | tr "\\0" a); echo survived', timeout=120)
    assert r.returncode == 137, (r.stdout, r.stderr)
    assert "survived" not in r.stdout
    st = inspect(engine, name)["State"]
    assert st["OOMKilled"] is True and st["ExitCode"] == 137 and st["Status"] == "exited"
    ev = engine.docker("events", "--since", since, "--until", str(int(time.time()) + 1),
                       "--filter", f"container={name}", "--format", "{{.Action}}")
    actions = ev.stdout.split()
    assert "oom" in actions and "die" in actions and actions.index("oom") < actions.index("die"), actions
    # the same container started again without being killed is not reported as OOM-killed
    r = engine.docker("start", "-a", name)
    assert r.returncode == 137 and inspect(engine, name)["State"]["OOMKilled"] is True


def test_a_child_killed_for_memory_marks_the_container_oom_killed(engine, name, names):
    # the shell survives the kill of its greedy child and exits 0: Docker still reports OOMKilled
    # (the child raises its own oom_score_adj, so the kernel's choice of victim is never the shell)
    # Under load the kernel sometimes kills a second task once the first victim's memory is reaped,
    # and that can be the shell (exit 137, nothing printed): not what this test is about, so such a
    # run is tried again with a new container (seen once in ~50 full runs).
    for attempt in range(3):
        ctr = f"{name}-{attempt}"
        names.append(ctr)
        r = engine.docker("run", "--name", ctr, "-m", "32m", "busybox", "sh", "-c",
                          "head -c 200m /dev/zero | sh -c 'echo 1000 > /proc/self/oom_score_adj && exec tail'; "
                          "echo child=$?", timeout=120)
        if not (r.returncode == 137 and r.stdout == ""):
            break
    assert r.returncode == 0 and "child=137" in r.stdout, (r.stdout, r.stderr)
    st = inspect(engine, ctr)["State"]
    assert st["OOMKilled"] is True and st["ExitCode"] == 0


def test_memory_limits_in_the_cgroup_and_inspect(engine, name, names):
    c = run_d(engine, names, name, "-m", "64m", "--memory-reservation", "32m", "--memory-swappiness", "10",
              "busybox", "sleep", "300")
    pid, hc = c["State"]["Pid"], c["HostConfig"]
    assert (hc["Memory"], hc["MemorySwap"], hc["MemoryReservation"]) == (64 * MB, 128 * MB, 32 * MB)
    assert hc["MemorySwappiness"] == 10 and hc["OomKillDisable"] is False
    assert int(cg(pid, "memory", "memory.limit_in_bytes")) == 64 * MB
    assert int(cg(pid, "memory", "memory.soft_limit_in_bytes")) == 32 * MB
    assert int(cg(pid, "memory", "memory.swappiness")) == 10
    if os.path.exists(os.path.join(cgroup_dir(pid, "memory"), "memory.memsw.limit_in_bytes")):
        assert int(cg(pid, "memory", "memory.memsw.limit_in_bytes")) == 128 * MB  # twice the memory
    # -1: unlimited swap; --oom-kill-disable reaches the kernel
    c = run_d(engine, names, name + "-2", "-m", "64m", "--memory-swap", "-1", "--oom-kill-disable",
              "busybox", "sleep", "300")
    assert c["HostConfig"]["MemorySwap"] == -1 and c["HostConfig"]["OomKillDisable"] is True
    pid = c["State"]["Pid"]
    if os.path.exists(os.path.join(cgroup_dir(pid, "memory"), "memory.memsw.limit_in_bytes")):
        assert int(cg(pid, "memory", "memory.memsw.limit_in_bytes")) > 1 << 60
    assert "oom_kill_disable 1" in cg(pid, "memory", "memory.oom_control")


# -- pids ------------------------------------------------------------------------------------------

def test_fork_loop_stays_inside_pids_limit(engine, name, names):
    # a subshell forks children until the kernel refuses (20 pids allowed); the host keeps working
    c = run_d(engine, names, name, "--pids-limit", "20", "busybox", "sh", "-c",
              "(while :; do sleep 300 & done) 2>/dev/null; exec sleep 300")
    pid = c["State"]["Pid"]
    assert c["HostConfig"]["PidsLimit"] == 20
    assert cg(pid, "pids", "pids.max") == "20"
    wait_for(lambda: int(cg(pid, "pids", "pids.current")) >= 19, timeout=30, what="the container to fill its pids")
    time.sleep(0.5)
    assert 19 <= int(cg(pid, "pids", "pids.current")) <= 20
    assert int(cg(pid, "pids", "pids.events").split()[-1]) > 0  # forks were refused
    assert subprocess.run(["sh", "-c", "true"]).returncode == 0   # the host still forks
    r = engine.docker("rm", "-f", name)
    assert r.returncode == 0, r.stderr


# -- cpu -------------------------------------------------------------------------------------------

def _usage(pid: int) -> int:
    return int(cg(pid, "cpuacct", "cpuacct.usage"))


def test_cpu_shares_split_one_cpu_about_two_to_one(engine, name, names):
    big = run_d(engine, names, name + "-1024", "--cpuset-cpus", "0", "-c", "1024", "busybox", *BURN)
    small = run_d(engine, names, name + "-512", "--cpuset-cpus", "0", "-c", "512", "busybox", *BURN)
    pb, ps_ = big["State"]["Pid"], small["State"]["Pid"]
    assert cg(pb, "cpuset", "cpuset.cpus") == "0" and cg(ps_, "cpu", "cpu.shares") == "512"
    time.sleep(0.5)
    b0, s0 = _usage(pb), _usage(ps_)
    time.sleep(4)
    b1, s1 = _usage(pb), _usage(ps_)
    ratio = (b1 - b0) / max(1, s1 - s0)
    assert 1.5 <= ratio <= 2.7, ratio


def test_cpus_caps_usage_at_half_a_cpu(engine, name, names):
    c = run_d(engine, names, name, "--cpus", "0.5", "busybox", *BURN)
    pid = c["State"]["Pid"]
    assert c["HostConfig"]["NanoCpus"] == 500_000_000
    assert cg(pid, "cpu", "cpu.cfs_quota_us") == "50000" and cg(pid, "cpu", "cpu.cfs_period_us") == "100000"
    time.sleep(0.3)
    u0, t0 = _usage(pid), time.monotonic()
    time.sleep(3)
    share = (_usage(pid) - u0) / ((time.monotonic() - t0) * 1e9)
    assert 0 < share <= 0.6, share  # never more than half a CPU (plus measuring slack)
    stat = dict(line.split() for line in cg(pid, "cpu", "cpu.stat").splitlines())
    assert int(stat["nr_periods"]) > 0  # CFS bandwidth control is on for the container
    if share >= 0.3:  # not starved by other load: it ran into its quota
        assert int(stat["nr_throttled"]) > 0, stat


# -- block I/O -------------------------------------------------------------------------------------

@pytest.fixture
def loop_fs(tmp_path):
    """A 64 MB ext4 filesystem on a loop device, mounted at ``tmp_path/mnt``: (device, mountpoint)."""
    img = tmp_path / "disk.img"
    with open(img, "wb") as f:
        f.truncate(64 * MB)
    dev = subprocess.run(["losetup", "--find", "--show", str(img)], capture_output=True, text=True,
                         check=True).stdout.strip()
    mnt = tmp_path / "mnt"
    mnt.mkdir()
    try:
        subprocess.run(["mkfs.ext4", "-q", "-F", dev], check=True, capture_output=True)
        subprocess.run(["mount", dev, str(mnt)], check=True, capture_output=True)
        try:
            yield dev, str(mnt)
        finally:
            subprocess.run(["umount", str(mnt)], capture_output=True)
    finally:
        subprocess.run(["losetup", "-d", dev], capture_output=True)


def test_device_write_bps_throttles_direct_writes(engine, name, names, loop_fs):
    dev, mnt = loop_fs
    st = os.stat(dev)
    dd = "dd if=/dev/zero of=/data/f bs=64k count=48 oflag=direct 2>/dev/null; sync"
    # unthrottled first: the device itself is fast
    t0 = time.monotonic()
    r = engine.docker("run", "--rm", "-v", f"{mnt}:/data", "busybox", "sh", "-c", dd)
    assert r.returncode == 0, r.stderr
    fast = time.monotonic() - t0
    # 3 MB at 1 MB/s takes about three seconds
    names.append(name)
    t0 = time.monotonic()
    r = engine.docker("run", "--name", name, "-v", f"{mnt}:/data", "--device-write-bps", f"{dev}:1mb",
                      "busybox", "sh", "-c", dd)
    slow = time.monotonic() - t0
    assert r.returncode == 0, r.stderr
    assert slow >= 2.0 and slow > fast + 1.0, (fast, slow)
    hc = inspect(engine, name)["HostConfig"]
    assert hc["BlkioDeviceWriteBps"] == [{"Path": dev, "Rate": MB}]
    # while running, the rule is in the container's blkio cgroup
    c = run_d(engine, names, name + "-2", "--device-read-iops", f"{dev}:100", "--device-write-bps", f"{dev}:1mb",
              "busybox", "sleep", "300")
    rules = cg(c["State"]["Pid"], "blkio", "blkio.throttle.write_bps_device")
    assert f"{os.major(st.st_rdev)}:{os.minor(st.st_rdev)} {MB}" in rules
    assert f"{os.major(st.st_rdev)}:{os.minor(st.st_rdev)} 100" in cg(c["State"]["Pid"], "blkio",
                                                                      "blkio.throttle.read_iops_device")


@pytest.fixture
def loop_dev(tmp_path):
    """A bare 32 MB loop device."""
    img = tmp_path / "raw.img"
    with open(img, "wb") as f:
        f.truncate(32 * MB)
    dev = subprocess.run(["losetup", "--find", "--show", str(img)], capture_output=True, text=True,
                         check=True).stdout.strip()
    try:
        yield dev
    finally:
        subprocess.run(["losetup", "-d", dev], capture_output=True)


def test_device_write_bps_on_a_device_passed_in(engine, loop_dev):
    # the example: --device-write-bps DEV:RATE throttles dd ... oflag=direct on that device
    dd = ["dd", "if=/dev/zero", "of=/dev/xdisk", "bs=64k", "count=32", "oflag=direct"]
    t0 = time.monotonic()
    r = engine.docker("run", "--rm", "--device", f"{loop_dev}:/dev/xdisk", "--device-write-bps", f"{loop_dev}:1mb",
                      "busybox", *dd)
    slow = time.monotonic() - t0
    assert r.returncode == 0, r.stderr
    assert "32+0 records out" in r.stderr
    assert slow >= 1.5, slow  # 2 MB at 1 MB/s


def refusal(engine, host_config: dict) -> str:
    """The error of creating and starting a container with ``host_config``.

    dockyard refuses at create (400); dockerd 20.10 creates, then fails the start (500)."""
    status, _, body = request(engine.socket, "POST", "/containers/create",
                              {"Image": "busybox", "Cmd": ["true"], "HostConfig": host_config})
    if status == 400:
        return body["message"]
    assert status == 201, body
    cid = body["Id"]
    try:
        status, _, body = request(engine.socket, "POST", f"/containers/{cid}/start")
        assert status == 500, body
        return body["message"]
    finally:
        request(engine.socket, "DELETE", f"/containers/{cid}?force=1")


def test_throttling_a_path_that_is_no_block_device_is_refused(engine):
    msg = refusal(engine, {"BlkioDeviceWriteBps": [{"Path": "/dev/null", "Rate": 1}]})
    assert msg == "/dev/null is not a block device" or "no such device" in msg  # dockerd: runc's write fails
    msg = refusal(engine, {"BlkioDeviceReadBps": [{"Path": "/dev/nope", "Rate": 1}]})
    assert msg == "stat /dev/nope: no such file or directory"


# -- ulimits, sysctls, shm -------------------------------------------------------------------------

def test_ulimits_are_set_and_never_above_the_daemons_hard_limit(engine):
    r = engine.docker("run", "--rm", "--ulimit", "nofile=100:200", "--ulimit", "nproc=50", "busybox", "sh", "-c",
                      "ulimit -n; ulimit -Hn; ulimit -u")
    assert r.returncode == 0, r.stderr
    assert r.stdout.split() == ["100", "200", "50"]
    # without --ulimit the container keeps the daemon's limits
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    r = engine.docker("run", "--rm", "busybox", "sh", "-c", "ulimit -Hn")
    assert r.stdout.strip() == ("unlimited" if hard == resource.RLIM_INFINITY else str(hard))
    if hard != resource.RLIM_INFINITY:
        # raising the hard limit needs CAP_SYS_RESOURCE, which this host withholds: refused like Docker
        over = hard + 1
        r = engine.docker("run", "--rm", "--ulimit", f"nofile={over}:{over}", "busybox", "true")
        assert r.returncode == 125 and "error setting rlimit" in r.stderr and "operation not permitted" in r.stderr


def test_namespaced_sysctls_apply_and_others_are_refused(engine):
    r = engine.docker("run", "--rm", "--sysctl", "net.ipv4.ip_forward=1", "--sysctl", "kernel.shmmax=123456789",
                      "--sysctl", "net.core.somaxconn=1234", "busybox", "sh", "-c",
                      "cat /proc/sys/net/ipv4/ip_forward /proc/sys/kernel/shmmax /proc/sys/net/core/somaxconn")
    assert r.returncode == 0, r.stderr
    assert r.stdout.split() == ["1", "123456789", "1234"]
    with open("/proc/sys/kernel/shmmax") as f:
        assert f.read().strip() != "123456789"  # the host's own value is untouched
    r = engine.docker("run", "--rm", "--sysctl", "vm.swappiness=1", "busybox", "true")
    assert r.returncode == 125 and "sysctl 'vm.swappiness=1' is not" in r.stderr  # "allowed" (or "whitelisted")
    for hc, msg in (({"Sysctls": {"vm.swappiness": "1"}},
                     'sysctl "vm.swappiness" is not in a separate kernel namespace'),
                    ({"Sysctls": {"net.ipv4.ip_forward": "1"}, "NetworkMode": "host"},
                     'sysctl "net.ipv4.ip_forward" not allowed in host network namespace')):
        assert msg in refusal(engine, hc)  # dockerd words it "...runc create failed: <msg>: unknown"


def test_shm_size(engine):
    r = engine.docker("run", "--rm", "--shm-size", "16m", "busybox", "sh", "-c", "df -k /dev/shm | tail -1")
    assert r.returncode == 0, r.stderr
    assert r.stdout.split()[1] == "16384"
    # more than that does not fit
    r = engine.docker("run", "--rm", "--shm-size", "8m", "busybox", "sh", "-c",
                      "dd if=/dev/zero of=/dev/shm/f bs=1M count=16 2>&1; ls -l /dev/shm/f")
    assert "No space left on device" in r.stdout and f" {8 * MB} " in r.stdout


# -- validation ------------------------------------------------------------------------------------

def test_impossible_limits_are_refused_with_dockers_words(engine):
    ncpu = len(os.sched_getaffinity(0))
    cases = [
        (["-m", "4m"], "Minimum memory limit allowed is 6MB"),
        (["-m", "10m", "--memory-swap", "5m"],
         "Minimum memoryswap limit should be larger than memory limit, see usage"),
        (["-m", "10m", "--memory-reservation", "20m"],
         "Minimum memory limit can not be less than memory reservation limit, see usage"),
        (["--cpus", str(ncpu + 1)],
         f"Range of CPUs is from 0.01 to {ncpu}.00, as there are only {ncpu} CPUs available"),
        (["--cpus", "1", "--cpu-period", "1000"], "Conflicting options: Nano CPUs and CPU Period cannot both be set"),
        (["--cpus", "1", "--cpu-quota", "1000"], "Conflicting options: Nano CPUs and CPU Quota cannot both be set"),
        (["--cpuset-cpus", "99"], "Requested CPUs are not available - requested 99, available: "),
        (["--cpuset-mems", "99"], "Requested memory nodes are not available - requested 99, available: "),
        (["--cpu-period", "500"],
         "CPU cfs period can not be less than 1ms (i.e. 1000) or larger than 1s (i.e. 1000000)"),
        (["--memory-swap", "100m"], "You should always set the Memory limit when using Memoryswap limit, see usage"),
    ]
    for flags, msg in cases:
        r = engine.docker("create", *flags, "busybox", "true")
        assert r.returncode != 0 and f"Error response from daemon: {msg}" in r.stderr, (flags, r.stderr)
    status, _, body = request(engine.socket, "POST", "/containers/create",
                              {"Image": "busybox", "Cmd": ["true"], "HostConfig": {"MemorySwappiness": 200}})
    assert status == 400 and body["message"] == "Invalid value: 200, valid memory swappiness range is 0-100"


def test_create_warnings(engine, names):
    status, _, body = request(engine.socket, "POST", "/containers/create",
                              {"Image": "busybox", "Cmd": ["true"], "HostConfig": {"OomKillDisable": True}})
    assert status == 201
    names.append(body["Id"])
    assert body["Warnings"] == ["OOM killer is disabled for the container, but no memory limit is set, this can "
                                "result in the system running out of resources."]


# -- update ----------------------------------------------------------------------------------------

def test_docker_update_changes_a_running_containers_cgroup(engine, name, names):
    c = run_d(engine, names, name, "-m", "64m", "--cpus", "1", "--pids-limit", "100", "busybox", "sleep", "300")
    pid = c["State"]["Pid"]
    since = str(int(time.time()) - 1)
    r = engine.docker("update", "-m", "100m", "--memory-swap", "300m", "--cpus", "0.5", "--pids-limit", "50",
                      "--cpu-shares", "512", "--restart", "on-failure:3", name)
    assert r.returncode == 0, r.stderr
    assert r.stdout == f"{name}\n"
    assert int(cg(pid, "memory", "memory.limit_in_bytes")) == 100 * MB
    assert cg(pid, "cpu", "cpu.cfs_quota_us") == "50000" and cg(pid, "cpu", "cpu.shares") == "512"
    assert cg(pid, "pids", "pids.max") == "50"
    hc = inspect(engine, name)["HostConfig"]
    assert (hc["Memory"], hc["MemorySwap"], hc["NanoCpus"], hc["PidsLimit"], hc["CpuShares"]) == \
        (100 * MB, 300 * MB, 500_000_000, 50, 512)
    assert hc["RestartPolicy"] == {"Name": "on-failure", "MaximumRetryCount": 3}
    # lifting the pids limit
    assert engine.docker("update", "--pids-limit", "-1", name).returncode == 0
    assert cg(pid, "pids", "pids.max") == "max"
    assert inspect(engine, name)["HostConfig"]["PidsLimit"] == 0
    ev = engine.docker("events", "--since", since, "--until", str(int(time.time()) + 1),
                       "--filter", f"container={name}", "--filter", "event=update", "--format", "{{.Action}}")
    assert ev.stdout.split() == ["update", "update"]
    # the new limit holds: more than 100m is OOM-killed
    r = engine.docker("exec", name, "sh", "-c", 'x=$(head -c 400m /dev/zero | tr "\\0" a); echo survived')
    assert "survived" not in r.stdout


def test_update_conflicts_and_errors(engine, name, names):
    run_d(engine, names, name, "--cpus", "1", "busybox", "sleep", "300")
    cid = inspect(engine, name)["Id"]
    r = engine.docker("update", "-m", "100m", name)
    assert r.returncode == 1 and r.stderr.strip() == (
        f"Error response from daemon: Cannot update container {cid}: Memory limit should be smaller than already "
        "set memoryswap limit, update the memoryswap at the same time")
    status, _, body = request(engine.socket, "POST", f"/containers/{name}/update", {"CpuPeriod": 50000})
    assert status == 409 and body["message"] == (f"Cannot update container {cid}: Conflicting options: CPU Period "
                                                 "cannot be updated as NanoCPUs has already been set")
    status, _, body = request(engine.socket, "POST", f"/containers/{name}/update", {"Memory": 5})
    assert status == 400 and body["message"] == "Minimum memory limit allowed is 6MB"
    status, _, body = request(engine.socket, "POST", "/containers/no-such-ctr/update", {"Memory": 64 * MB})
    assert status == 404 and body["message"] == "No such container: no-such-ctr"
    status, _, body = request(engine.socket, "POST", f"/containers/{name}/update", {"CpuShares": 100})
    assert status == 200 and body == {"Warnings": None}
    r = engine.docker("update", name)
    assert r.returncode == 1 and "you must provide one or more flags when using this command" in r.stderr


def test_dockyard_update_and_stopped_containers(engine, name, names):
    names.append(name)
    assert engine.cli("create", "--name", name, "busybox", "sleep", "300").returncode == 0
    r = engine.cli("update", "-m", "48m", "--memory-swap", "96m", "--cpuset-cpus", "0", "--pids-limit", "30", name,
                   "no-such-ctr")
    assert r.returncode == 1
    assert r.stdout == f"{name}\n"
    assert r.stderr.strip() == "Error response from daemon: No such container: no-such-ctr"
    # stored now, applied at the next start
    assert engine.cli("start", name).returncode == 0
    pid = inspect(engine, name)["State"]["Pid"]
    assert int(cg(pid, "memory", "memory.limit_in_bytes")) == 48 * MB
    assert cg(pid, "cpuset", "cpuset.cpus") == "0" and cg(pid, "pids", "pids.max") == "30"
    r = engine.cli("container", "update", "--memory-reservation", "16m", name)
    assert r.returncode == 0, r.stderr
    assert int(cg(pid, "memory", "memory.soft_limit_in_bytes")) == 16 * MB


def test_docker_py_container_update(engine, name, names):
    client = engine.client()
    try:
        ctr = client.containers.run("busybox", ["sleep", "300"], name=name, detach=True, mem_limit="64m")
        names.append(name)
        ctr.reload()
        pid = ctr.attrs["State"]["Pid"]
        assert ctr.update(mem_limit="150m", memswap_limit="300m", cpu_shares=256, cpu_quota=20000,
                          cpu_period=100000) == {"Warnings": None}
        assert int(cg(pid, "memory", "memory.limit_in_bytes")) == 150 * MB
        assert cg(pid, "cpu", "cpu.shares") == "256" and cg(pid, "cpu", "cpu.cfs_quota_us") == "20000"
        ctr.reload()
        assert ctr.attrs["HostConfig"]["Memory"] == 150 * MB and ctr.attrs["HostConfig"]["CpuQuota"] == 20000
    finally:
        client.close()
