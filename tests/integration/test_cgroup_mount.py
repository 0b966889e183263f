"""On a cgroup v1 host a container's /sys/fs/cgroup looks as runc makes it, whether dockyard gives
runc the container's cgroup dirs as bind mounts (an absolute cgroup parent, the default: runc then
skips reading the host's mount table) or leaves the ``cgroup`` mount to runc (a relative parent)."""

from __future__ import annotations

import os

import pytest

from tests.helpers import wait_for

V1 = os.path.isdir("/sys/fs/cgroup/memory") and not os.path.exists("/sys/fs/cgroup/cgroup.controllers")
pytestmark = pytest.mark.skipif(not V1, reason="the bind mounts replace runc's v1 cgroup mount only")

SHOW = ("grep ' /sys/fs/cgroup' /proc/self/mountinfo; echo ==; cat /proc/self/cgroup; echo ==; "
        "cat /sys/fs/cgroup/memory/memory.limit_in_bytes; "
        "mkdir /sys/fs/cgroup/memory/probe 2>/dev/null && rmdir /sys/fs/cgroup/memory/probe && echo cgroup-writable "
        "|| echo cgroup-read-only; "
        "touch /sys/fs/cgroup/x && echo tmpfs-writable")


def view(engine, *args: str) -> tuple[set, dict, list[str]]:
    """(the /sys/fs/cgroup mounts with the container's own path cut from their roots, the container's
    cgroup per hierarchy, what the probes printed)"""
    r = engine.cli("run", "--rm", "-m", "64m", *args, "busybox", "sh", "-c", SHOW)
    assert r.returncode == 0, r.stderr
    mounts_text, cgroup_text, rest = r.stdout.split("==\n")
    own = {}
    for line in cgroup_text.splitlines():
        _, ctls, path = line.split(":", 2)
        own[ctls] = path
    cid = os.path.basename(own["memory"])
    mounts = set()
    for line in mounts_text.splitlines():
        left, _, right = line.partition(" - ")
        _, _, _, root, point, opts = left.split()[:6]
        if right.startswith("cgroup "):
            assert root.endswith("/" + cid), line  # each hierarchy shows the container's own cgroup
            root = "<own>"
        mounts.add((point, opts, root, right))
    return mounts, own, rest.split()


def remove_cgroup_tree(path: str) -> bool:
    """rmdir ``path`` and the cgroups under it (once their processes are gone); True when none is left."""
    if not os.path.isdir(path):
        return True
    for entry in os.scandir(path):
        if entry.is_dir(follow_symlinks=False) and not remove_cgroup_tree(entry.path):
            return False
    try:
        os.rmdir(path)
    except OSError:
        return False
    return True


def test_container_sees_its_cgroups_as_runc_shows_them(engine):
    ours, own, probes = view(engine)
    assert own["memory"].startswith("/dockyard/")
    try:
        runcs, own_r, probes_r = view(engine, "--cgroup-parent", "dytest-relative")
    finally:  # runc made the parent under its own cgroup in each hierarchy, and leaves it
        parents = set()
        for line in open("/proc/self/cgroup"):
            _, ctls, path = line.rstrip("\n").split(":", 2)
            names = {ctls.replace("name=", ""), *(c.removeprefix("name=") for c in ctls.split(","))} if ctls \
                else {"unified"}  # a hierarchy mounted as cpu,cpuacct, or the v2 one of a hybrid host
            for n in names:
                parents.add(f"/sys/fs/cgroup/{n}{path.rstrip('/')}/dytest-relative")
        wait_for(lambda: all(remove_cgroup_tree(p) for p in parents), what="the relative parent's cgroups removed")
    assert "/dytest-relative/" in own_r["memory"]  # runc made this one: the path is relative to its own cgroup
    assert ours == runcs
    assert {p for p, *_ in ours} >= {"/sys/fs/cgroup", "/sys/fs/cgroup/memory", "/sys/fs/cgroup/cpu"}
    # the limit is the container's, the hierarchies read-only, the tmpfs above them writable, as runc leaves it
    assert probes == probes_r == ["67108864", "cgroup-read-only", "tmpfs-writable"]


def test_privileged_container_may_write_its_cgroups(engine):
    mounts, _, probes = view(engine, "--privileged")
    binds = [opts for point, opts, root, _ in mounts if root == "<own>"]
    assert binds and all(opts.startswith("rw,") for opts in binds), mounts
    assert probes[:2] == ["67108864", "cgroup-writable"]
