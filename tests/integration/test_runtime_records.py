"""After a container exits, nothing of it stays behind in the kernel or in runc's state: its cgroup
directories in every hierarchy and runc's record go away, whether dockyard removes them itself
(a container with its own PID namespace) or leaves it to ``runc delete`` (one sharing the host's)."""

from __future__ import annotations

import json
import os

import pytest

from tests.helpers import wait_for


def cgroup_dirs(pid: int) -> list[str]:
    """The host directories of every cgroup ``pid`` is in (v1 hierarchies and the v2 one)."""
    out = []
    with open(f"/proc/{pid}/cgroup") as f:
        for line in f:
            _, ctls, path = line.rstrip("\n").split(":", 2)
            names = [c.removeprefix("name=") for c in ctls.split(",")] if ctls else ["unified", ""]
            for mnt in [f"/sys/fs/cgroup/{n}" for n in names] + [f"/sys/fs/cgroup/{ctls}"]:
                if os.path.isdir(mnt) and os.path.isdir(mnt + path) and path != "/":
                    out.append(mnt + path)
                    break
    return sorted(set(out))


@pytest.mark.parametrize("pid_mode", ["", "host"])
def test_exit_leaves_no_cgroup_and_no_runtime_record(engine, pid_mode):
    name = f"records-{pid_mode or 'private'}"
    extra = ["--pid", pid_mode] if pid_mode else []
    r = engine.docker("run", "-d", "--name", name, *extra, "busybox", "sleep", "300")
    assert r.returncode == 0, r.stderr
    try:
        info = json.loads(engine.docker("inspect", name).stdout)[0]
        cid, pid = info["Id"], info["State"]["Pid"]
        dirs = cgroup_dirs(pid)
        assert any(cid in d for d in dirs), dirs  # the container has cgroups of its own
        record = engine.data_root / "run" / "runtime" / cid if engine.data_root else None
        if record is not None:
            assert (record / "state.json").is_file()
        assert engine.docker("stop", "-t", "0", name).returncode == 0
        wait_for(lambda: not [d for d in dirs if os.path.isdir(d)], timeout=10,
                 what=f"the cgroups of {name} to be removed")
        if record is not None:
            wait_for(lambda: not record.exists(), timeout=10, what="runc's state of the container to go")
        # and the container starts again from its exited state
        assert engine.docker("start", name).returncode == 0
        pid2 = json.loads(engine.docker("inspect", name).stdout)[0]["State"]["Pid"]
        assert pid2 and pid2 != pid
    finally:
        engine.docker("rm", "-f", name)


@pytest.mark.skipif(bool(os.environ.get("DOCKYARD_TEST_HOST")), reason="writes into dockyard's own runc root")
@pytest.mark.parametrize("leftover", ["an empty record", "a record of a stopped container"])
def test_a_start_cut_short_does_not_block_the_next(engine, leftover):
    """A daemon killed during `runc create` leaves runc a record of the ID, and runc refuses to create
    an ID it has a record of ("container with given ID already exists"): the next start clears it."""
    name = "records-" + leftover.split()[-2]
    r = engine.docker("create", "--name", name, "busybox", "echo", "started")
    assert r.returncode == 0, r.stderr
    cid = r.stdout.strip()
    record = engine.data_root / "run" / "runtime" / cid
    try:
        record.mkdir(parents=True)
        if leftover != "an empty record":
            (record / "state.json").write_text(json.dumps({
                "id": cid, "init_process_pid": 0, "init_process_start": 0, "cgroup_paths": {},
                "config": {"namespaces": [{"type": "NEWPID"}]}}))
        r = engine.docker("start", "-a", name)
        assert (r.returncode, r.stdout) == (0, "started\n"), r.stderr
    finally:
        engine.docker("rm", "-f", name)


def test_containers_started_at_once_each_get_their_own_process(engine):
    """Starts that overlap each wait for their own runc pid file (one inotify watch per bundle, on
    one instance shared by all starts): every one succeeds and reports the PID of its own process."""
    from concurrent.futures import ThreadPoolExecutor

    names = [f"records-at-once-{i}" for i in range(6)]
    try:
        with ThreadPoolExecutor(len(names)) as pool:
            results = list(pool.map(lambda n: engine.docker("run", "-d", "--name", n, "busybox",
                                                            "sleep", f"30{names.index(n)}"), names))
        assert all(r.returncode == 0 for r in results), [r.stderr for r in results]
        for i, n in enumerate(names):
            pid = json.loads(engine.docker("inspect", n).stdout)[0]["State"]["Pid"]
            with open(f"/proc/{pid}/cmdline", "rb") as f:
                assert f.read().split(b"\0")[:2] == [b"sleep", f"30{i}".encode()]
    finally:
        engine.docker("rm", "-f", *names)
