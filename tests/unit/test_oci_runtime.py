"""runtime/oci.py's own clean-up of a stopped container's runc record (what ``runc delete`` does)."""

from __future__ import annotations

import json
import os

from dockyard.runtime import oci


def _start_time(pid: int) -> int:
    with open(f"/proc/{pid}/stat") as f:
        return int(f.read().rsplit(")", 1)[1].split()[19])


def _record(tmp_path, *, pid: int, start: int, namespaces=None, hooks=None) -> tuple[str, list[str]]:
    cg = [tmp_path / "cg" / ctl / "dockyard" / "c1" for ctl in ("memory", "pids", "unified")]
    for d in cg:
        (d / "child").mkdir(parents=True)  # a sub-cgroup the container made: removed first
    state_dir = tmp_path / "state" / "c1"
    state_dir.mkdir(parents=True)
    config = {"namespaces": namespaces if namespaces is not None else [{"type": "NEWPID", "path": ""}]}
    if hooks:
        config["Hooks"] = hooks
    (state_dir / "state.json").write_text(json.dumps({
        "id": "c1", "init_process_pid": pid, "init_process_start": start, "config": config,
        "cgroup_paths": {"memory": str(cg[0]), "pids": str(cg[1]), "": str(cg[2])}}))
    return str(state_dir), [str(d) for d in cg]


def test_dead_init_record_and_cgroups_removed(tmp_path):
    state_dir, cgroups = _record(tmp_path, pid=2 ** 22 + 7, start=1)  # a PID no process has
    assert oci.forget_stopped(state_dir)
    assert not os.path.exists(state_dir)
    assert not any(os.path.exists(d) for d in cgroups)


def test_pid_reused_by_another_process_counts_as_dead(tmp_path):
    state_dir, cgroups = _record(tmp_path, pid=os.getpid(), start=_start_time(os.getpid()) + 1)
    assert oci.forget_stopped(state_dir)
    assert not os.path.exists(state_dir)


def test_live_init_is_left_to_runc(tmp_path):
    state_dir, cgroups = _record(tmp_path, pid=os.getpid(), start=_start_time(os.getpid()))
    assert not oci.forget_stopped(state_dir)
    assert os.path.exists(os.path.join(state_dir, "state.json"))
    assert all(os.path.isdir(d) for d in cgroups)


def test_shared_pid_namespace_or_hooks_are_left_to_runc(tmp_path):
    for kw in ({"namespaces": [{"type": "NEWPID", "path": "/proc/1/ns/pid"}]}, {"namespaces": []},
               {"hooks": {"poststop": [{"path": "/bin/true"}]}}):
        state_dir, cgroups = _record(tmp_path / str(len(os.listdir(tmp_path))), pid=2 ** 22 + 7, start=1, **kw)
        assert not oci.forget_stopped(state_dir), kw
        assert all(os.path.isdir(d) for d in cgroups)


def test_missing_record_is_nothing_to_do(tmp_path):
    assert oci.forget_stopped(str(tmp_path / "absent"))
