"""The overlay snapshotter on real overlayfs mounts (root)."""

from __future__ import annotations

import os

import pytest

from dockyard import errdefs
from dockyard.store import mount as mnt
from dockyard.store.metadata import MetadataDB
from dockyard.store.snapshots.overlay import OverlaySnapshotter


@pytest.fixture
def snaps(tmp_path):
    db = MetadataDB(str(tmp_path / "meta.db"))
    yield OverlaySnapshotter(str(tmp_path / "overlay"), db)
    db.close()


def commit_layer(snaps, name, parent, files):
    key = f"tmp-{name}"
    snaps.prepare(key, parent)
    for path, data in files.items():
        full = os.path.join(snaps.upper_dir(key), path)
        os.makedirs(os.path.dirname(full), exist_ok=True)
        with open(full, "w") as f:
            f.write(data)
    snaps.commit(name, key)


def test_active_snapshot_over_a_chain_mounts_with_copy_on_write(snaps, tmp_path):
    commit_layer(snaps, "base", None, {"etc/a": "base-a", "etc/b": "base-b"})
    commit_layer(snaps, "mid", "base", {"etc/a": "mid-a"})
    mounts = snaps.prepare("ctr", "mid")
    target = tmp_path / "merged"
    target.mkdir()
    mnt.mount_all(mounts, str(target))
    try:
        assert (target / "etc/a").read_text() == "mid-a"
        assert (target / "etc/b").read_text() == "base-b"
        (target / "etc/b").write_text("changed")
        (target / "new").write_text("n")
    finally:
        mnt.unmount(str(target))
    assert open(os.path.join(snaps.upper_dir("ctr"), "etc/b")).read() == "changed"
    assert open(os.path.join(snaps.upper_dir("base"), "etc/b")).read() == "base-b"
    assert snaps.lower_dirs("ctr") == [snaps.upper_dir("mid"), snaps.upper_dir("base")]


def test_130_layers_mount_although_their_lowerdir_exceeds_a_page(snaps, tmp_path):
    parent = None
    for i in range(130):
        commit_layer(snaps, f"layer{i}", parent, {f"files/f{i}": str(i)})
        parent = f"layer{i}"
    mounts = snaps.prepare("ctr", parent)
    assert len(",".join(f"{snaps.root}/l/x" * 130)) > mnt.MAX_MOUNT_DATA  # absolute paths would not fit
    target = tmp_path / "merged"
    target.mkdir()
    mnt.mount_all(mounts, str(target))
    try:
        assert sorted(os.listdir(target / "files")) == sorted(f"f{i}" for i in range(130))
        assert (target / "files/f0").read_text() == "0" and (target / "files/f129").read_text() == "129"
    finally:
        mnt.unmount(str(target))
    assert not mnt.is_mounted(str(target))


def _mount_options(target: str) -> str:
    with open("/proc/self/mountinfo") as f:
        for line in f:
            if line.split()[4] == target:
                return line.split(" - ", 1)[1].split()[2]
    raise AssertionError(f"{target} is not mounted")


def test_from_the_snapshot_root_the_layers_are_named_relatively(snaps, tmp_path, monkeypatch):
    """The daemon works from the snapshot root: its mountinfo lines stay short (runc reads them all
    several times per start), and the mount is made in-process."""
    commit_layer(snaps, "base", None, {"etc/a": "base-a"})
    snaps.prepare("ctr", "base")
    target = tmp_path / "merged"
    target.mkdir()
    absolute = snaps.mounts("ctr")
    assert absolute[0].cwd is None and absolute[0].options[0].startswith(f"lowerdir={snaps.root}/l/")
    monkeypatch.chdir(snaps.root)
    mounts = snaps.mounts("ctr")
    monkeypatch.setattr(mnt.subprocess, "run", None)  # no `mount` child: the syscall, from here
    mnt.mount_all(mounts, str(target))
    try:
        opts = _mount_options(str(target))
        sid = os.path.basename(os.path.dirname(snaps.upper_dir("ctr")))
        assert f"upperdir={sid}/diff" in opts and ",lowerdir=l/" in opts and snaps.root not in opts
        assert (target / "etc/a").read_text() == "base-a"
        (target / "new").write_text("n")
    finally:
        mnt.unmount(str(target))
    assert open(os.path.join(snaps.upper_dir("ctr"), "new")).read() == "n"


def test_is_mounted_sees_binds_of_the_same_filesystem_and_follows_symlinks(tmp_path):
    src, dst = tmp_path / "src", tmp_path / "dst"
    src.mkdir()
    dst.mkdir()
    (tmp_path / "link").symlink_to(dst)
    assert not mnt.is_mounted(str(dst)) and not mnt.is_mounted(str(tmp_path / "link"))
    mnt.bind(str(src), str(dst))
    try:
        assert mnt.is_mounted(str(dst)) and mnt.is_mounted(str(tmp_path / "link"))
        assert not mnt.is_mounted(str(src)) and not mnt.is_mounted(str(tmp_path / "missing"))
    finally:
        mnt.unmount(str(dst))
    assert not mnt.is_mounted(str(dst))


def test_committed_parent_with_children_cannot_be_removed(snaps):
    commit_layer(snaps, "base", None, {"x": "1"})
    snaps.prepare("child", "base")
    with pytest.raises(errdefs.FailedPrecondition):
        snaps.remove("base")
    snaps.remove("child")
    snaps.remove("base")
    assert not snaps.exists("base")
    assert os.listdir(os.path.join(snaps.root, "l")) == []


def test_state_survives_a_reopen(tmp_path):
    db = MetadataDB(str(tmp_path / "meta.db"))
    s1 = OverlaySnapshotter(str(tmp_path / "overlay"), db)
    commit_layer(s1, "base", None, {"x": "1"})
    s1.prepare("ctr", "base")
    db.close()
    db2 = MetadataDB(str(tmp_path / "meta.db"))
    s2 = OverlaySnapshotter(str(tmp_path / "overlay"), db2)
    assert s2.stat("ctr").parent == "base" and s2.stat("base").kind == "committed"
    assert s2.usage("base") == 1
    db2.close()


def test_view_is_read_only(snaps, tmp_path):
    commit_layer(snaps, "base", None, {"x": "1"})
    commit_layer(snaps, "top", "base", {"y": "2"})
    target = tmp_path / "view"
    target.mkdir()
    mnt.mount_all(snaps.view("v", "top"), str(target))
    try:
        assert (target / "x").read_text() == "1" and (target / "y").read_text() == "2"
        with pytest.raises(OSError):
            (target / "z").write_text("no")
    finally:
        mnt.unmount(str(target))
