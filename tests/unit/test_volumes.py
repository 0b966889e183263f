"""VolumeService on a MetadataDB in a temporary directory: Docker's local driver, no daemon.

Mount tests do real mounts (root); every mount is undone in a ``finally``.
"""

from __future__ import annotations

import asyncio
import errno
import os
import stat

import pytest

from dockyard import errdefs
from dockyard.services import volumes as vmod
from dockyard.services.volumes import ANONYMOUS_LABEL, VolumeService
from dockyard.store import mount as mnt
from dockyard.store.metadata import MetadataDB
from dockyard.util.filters import Filters

INVALID = ('" includes invalid characters for a local volume name, only "[a-zA-Z0-9][a-zA-Z0-9_.-]" are allowed. '
           'If you intended to pass a host directory, use absolute path')


class Recorder:
    """An event bus that remembers what was published."""

    def __init__(self) -> None:
        self.events: list[tuple[str, str, str, dict]] = []

    def publish(self, type: str, action: str, actor_id: str, **attributes: str) -> None:
        self.events.append((type, action, actor_id, {k: str(v) for k, v in attributes.items()}))

    def actions(self) -> list[tuple[str, str]]:
        return [(action, actor) for _, action, actor, _ in self.events]


@pytest.fixture
def root(tmp_path):
    return tmp_path / "root"


@pytest.fixture
def bus():
    return Recorder()


@pytest.fixture
def svc(root, bus):
    root.mkdir()
    db = MetadataDB(str(root / "dockyard.db"))
    service = VolumeService(db=db, events=bus, data_root=str(root))
    try:
        yield service
    finally:
        for point in vmod._mount_points_under(str(root)):
            mnt.unmount(point, detach=True)
        db.close()


def prune(svc, **filters):
    return asyncio.run(svc.prune(Filters({k: list(v) for k, v in filters.items()})))


def tmpfs(svc, name, o="size=10m"):
    return svc.create(name, driver_opts={"type": "tmpfs", "device": "tmpfs", "o": o})


# -- create -------------------------------------------------------------------------

def test_create_makes_the_data_directory(svc, root, bus):
    vol = svc.create("data1", labels={"a": "1"})
    assert vol.name == "data1" and vol.driver == "local" and vol.scope == "local"
    assert vol.mountpoint == str(root / "volumes" / "data1" / "_data")
    assert os.path.isdir(vol.mountpoint)
    assert stat.S_IMODE(os.stat(vol.mountpoint).st_mode) == 0o755
    assert stat.S_IMODE(os.stat(root / "volumes" / "data1").st_mode) == 0o701
    assert vol.labels == {"a": "1"} and vol.options is None and not vol.anonymous
    assert abs(vol.created - __import__("time").time_ns()) < 10 ** 10
    assert bus.events == [("volume", "create", "data1", {"driver": "local"})]


def test_create_of_an_existing_name_returns_it_unchanged(svc, bus):
    first = svc.create("same", labels={"a": "1"})
    again = svc.create("same", labels={"b": "2"}, driver_opts={"type": "tmpfs", "device": "tmpfs"})
    assert again == first
    assert bus.actions() == [("create", "same")]  # Docker 23+: an event only when made


def test_none_and_empty_labels_and_options_stay_apart(svc):
    assert svc.create("nothing").labels is None
    empty = svc.create("empty", labels={}, driver_opts={})
    assert empty.labels == {} and empty.options == {}


def test_create_without_a_name_is_anonymous(svc):
    vol = svc.create()
    assert len(vol.name) == 64 and all(c in "0123456789abcdef" for c in vol.name)
    assert vol.anonymous and vol.labels == {ANONYMOUS_LABEL: ""}
    named_anon = svc.create(labels={"x": "y"}, anonymous=True)
    assert named_anon.labels == {"x": "y", ANONYMOUS_LABEL: ""}
    assert svc.create().name != vol.name


@pytest.mark.parametrize("name", ["a/b", "..", "../x", ".hidden", "-x", "a b", "x\ny", "ab/../..", "/abs/path"])
def test_invalid_names_are_refused(svc, name, root):
    with pytest.raises(errdefs.InvalidArgument) as e:
        svc.create(name)
    quoted = name.replace("\n", "\\n")  # Go's %q
    assert str(e.value) == f'create {name}: "{quoted}{INVALID}'
    assert os.listdir(root / "volumes") == ["_trash"]


def test_short_name_and_dots_inside_a_name(svc):
    with pytest.raises(errdefs.InvalidArgument, match="^create x: volume name is too short, names should be at "
                                                       "least two alphanumeric characters$"):
        svc.create("x")
    # one directory name, never a path: Docker accepts dots inside a name
    assert os.path.isdir(svc.create("a..b").mountpoint)


def test_other_drivers_are_not_found(svc):
    with pytest.raises(errdefs.NotFound) as e:
        svc.create("v1", driver="foo")
    assert str(e.value) == 'create v1: error looking up volume plugin foo: plugin "foo" not found'


@pytest.mark.parametrize("opts,message", [
    ({"foo": "bar"}, 'invalid option: "foo"'),
    ({"type": "tmpfs", "device": "tmpfs", "uid": "1"}, 'invalid option: "uid"'),
    ({"type": "tmpfs"}, 'missing required option: "device"'),
    ({"device": "tmpfs"}, 'missing required option: "type"'),
    ({"o": "size=1m"}, 'missing required option: "device"'),
    ({"size": "10m"}, "quota size requested but no quota support"),
    ({"size": "abc"}, "invalid size: 'abc'"),
])
def test_driver_options_are_checked_at_create(svc, root, opts, message):
    with pytest.raises(errdefs.InvalidArgument) as e:
        svc.create("v1", driver_opts=opts)
    assert str(e.value) == f"create v1: {message}"
    assert svc.lookup("v1") is None and not os.path.exists(root / "volumes" / "v1")


def test_options_are_kept_and_say_whether_a_mount_is_needed(svc):
    vol = tmpfs(svc, "t1", "size=10m,uid=1000")
    assert vol.options == {"type": "tmpfs", "device": "tmpfs", "o": "size=10m,uid=1000"}
    assert vol.needs_mount
    assert not svc.create("zero", driver_opts={"size": "0"}).needs_mount
    assert not svc.create("plain").needs_mount


def test_a_directory_left_by_a_crash_is_not_reused(svc, root):
    stale = root / "volumes" / "left" / "_data"
    stale.mkdir(parents=True)
    (stale / "old").write_text("from before")
    vol = svc.create("left")
    assert os.listdir(vol.mountpoint) == []


def test_volumes_survive_a_new_service_on_the_same_root(svc, root, bus):
    svc.create("keep", labels={"a": "b"}, driver_opts={"type": "tmpfs", "device": "tmpfs", "o": "size=1m"})
    anon = svc.create()
    svc.add_refs("c1", ["keep"])
    again = VolumeService(db=MetadataDB(str(root / "dockyard.db")), events=bus, data_root=str(root))
    assert again.get("keep") == svc.get("keep")
    assert again.get(anon.name).anonymous
    assert again.refs("keep") == ["c1"]


# -- list ---------------------------------------------------------------------------

def test_list_filters(svc):
    svc.create("web1", labels={"app": "web", "tier": "front"})
    svc.create("web10", labels={"app": "web"})
    svc.create("db1", labels={"app": "db"})
    svc.add_refs("c1", ["db1"])

    def names(**filters):
        return [v.name for v in svc.list(Filters({k: list(v) for k, v in filters.items()}))]

    assert names() == ["db1", "web1", "web10"]
    assert names(name=["web"]) == ["web1", "web10"]
    assert names(name=["b1$"]) == ["db1", "web1"]          # a regular expression, as Docker's filters.Match
    assert names(name=["db", "10"]) == ["db1", "web10"]    # any of them
    assert names(driver=["local"]) == ["db1", "web1", "web10"]
    assert names(driver=["loc"]) == []                     # drivers match exactly
    assert names(label=["app=web"]) == ["web1", "web10"]
    assert names(label=["app=web", "tier"]) == ["web1"]    # all of them
    assert names(**{"label!": ["tier"]}) == ["db1", "web10"]
    assert names(dangling=["true"]) == ["web1", "web10"]
    assert names(dangling=["0"]) == ["db1"]
    with pytest.raises(errdefs.InvalidArgument, match=r"^invalid filter 'dangling=\[maybe\]'$"):
        names(dangling=["maybe"])
    with pytest.raises(errdefs.InvalidArgument, match="^invalid filter 'until'$"):
        names(until=["1h"])


# -- references and remove ------------------------------------------------------------------

def test_refs_and_remove_in_use(svc, bus):
    svc.create("used")
    svc.add_refs("c1", ["used"])
    svc.add_refs("c2", ["used"])
    svc.add_refs("c1", ["used"])  # once
    assert svc.refs("used") == ["c1", "c2"]
    for force in (False, True):
        with pytest.raises(errdefs.Conflict) as e:
            svc.remove("used", force=force)
        assert str(e.value) == "remove used: volume is in use - [c1 c2]"
    svc.remove_refs("c1", ["used"])
    svc.remove_refs("c2", ["used"])
    svc.remove_refs("c2", ["used"])  # gone already: fine
    assert svc.refs("used") == []
    svc.remove("used")
    assert svc.lookup("used") is None
    assert bus.actions()[-1] == ("destroy", "used")
    assert bus.events[-1][3] == {"driver": "local"}


def test_refs_are_added_all_or_none(svc):
    svc.create("v1")
    svc.create("v2")
    with pytest.raises(errdefs.NotFound, match="^get nope: no such volume$"):
        svc.add_refs("c1", ["v1", "nope", "v2"])
    assert svc.refs("v1") == svc.refs("v2") == []
    svc.add_refs("c1", ["v1", "v2"])
    assert svc.refs("v1") == svc.refs("v2") == ["c1"]


def test_a_removed_volume_is_not_seen_again_and_its_name_can_be_reused(svc):
    first = svc.create("again", labels={"v": "1"})
    assert svc.get("again") == first
    svc.remove("again")
    assert svc.lookup("again") is None
    second = svc.create("again", labels={"v": "2"})
    assert svc.get("again") == second != first
    assert svc.get("again").labels == {"v": "2"}


def test_missing_volumes(svc):
    for call in (lambda: svc.get("nope"), lambda: svc.remove("nope"), lambda: svc.add_refs("c1", ["nope"]),
                 lambda: svc.size("nope"), lambda: svc.mount("nope", "c1")):
        with pytest.raises(errdefs.NotFound, match="^get nope: no such volume$"):
            call()
    svc.remove("nope", force=True)  # force ignores a missing volume


def test_remove_deletes_the_data_and_follows_no_symlink(svc, root, tmp_path):
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "precious").write_text("keep me")
    vol = svc.create("links")
    data = vol.mountpoint
    os.makedirs(os.path.join(data, "sub", "deeper"))
    with open(os.path.join(data, "sub", "deeper", "f"), "w") as f:
        f.write("x")
    os.symlink(str(outside), os.path.join(data, "dir-link"))
    os.symlink(str(outside / "precious"), os.path.join(data, "sub", "file-link"))
    os.symlink("../../../../outside", os.path.join(data, "relative-link"))
    svc.remove("links")
    assert not os.path.exists(root / "volumes" / "links")
    assert os.listdir(root / "volumes" / "_trash") == []
    assert (outside / "precious").read_text() == "keep me"
    assert os.listdir(outside) == ["precious"]


def test_remove_of_a_bind_volume_keeps_the_host_directory(svc, tmp_path):
    host = tmp_path / "host"
    host.mkdir()
    (host / "data.txt").write_text("host data")
    vol = svc.create("bound", driver_opts={"type": "none", "o": "bind", "device": str(host)})
    path = svc.mount("bound", "c1")
    assert open(os.path.join(path, "data.txt")).read() == "host data"
    # the daemon died with the volume mounted: nobody is registered as a user any more
    svc._users.clear()
    svc.remove("bound")
    assert not mnt.is_mounted(vol.mountpoint)
    assert (host / "data.txt").read_text() == "host data"


def test_remove_never_deletes_through_a_mount_inside_the_volume(svc, tmp_path):
    host = tmp_path / "host2"
    (host / "inner").mkdir(parents=True)
    (host / "inner" / "f").write_text("host file")
    vol = svc.create("nested")
    inside = os.path.join(vol.mountpoint, "a", "mnt")
    os.makedirs(inside)
    mnt.bind(str(host), inside)
    try:
        svc.remove("nested")
    finally:
        mnt.unmount(inside, detach=True)
    assert (host / "inner" / "f").read_text() == "host file"


def test_remove_tree_handles_deep_nesting_and_leaves_other_file_systems(tmp_path):
    top = tmp_path / "deep"
    top.mkdir()
    fd = os.open(top, os.O_RDONLY | os.O_DIRECTORY)
    fds = [fd]
    try:
        for _ in range(1500):  # deeper than PATH_MAX (4.5k characters) and than Python recurses
            os.mkdir("dd", dir_fd=fds[-1])
            fds.append(os.open("dd", os.O_RDONLY | os.O_DIRECTORY, dir_fd=fds[-1]))
        with open(os.open("f", os.O_WRONLY | os.O_CREAT, 0o644, dir_fd=fds[-1]), "w") as f:
            f.write("bottom")
    finally:
        for d in fds:
            os.close(d)
    vmod.remove_tree(str(top))
    assert not top.exists()

    other = tmp_path / "other"
    other.mkdir()
    (tmp_path / "shared").mkdir()
    (tmp_path / "shared" / "keep").write_text("k")
    os.mkdir(other / "m")
    mnt.bind(str(tmp_path / "shared"), str(other / "m"))
    try:
        with pytest.raises(OSError) as e:
            vmod.remove_tree(str(other))
        assert e.value.errno == errno.EBUSY
    finally:
        mnt.unmount(str(other / "m"), detach=True)
    assert (tmp_path / "shared" / "keep").read_text() == "k"


# -- mounts ------------------------------------------------------------------------------

def test_tmpfs_volume_is_mounted_for_the_first_user_and_unmounted_after_the_last(svc, bus):
    vol = tmpfs(svc, "scratch", "size=10m,uid=1000")
    assert not mnt.is_mounted(vol.mountpoint)
    try:
        assert svc.mount("scratch", "c1") == vol.mountpoint
        assert mnt.is_mounted(vol.mountpoint)
        st = os.statvfs(vol.mountpoint)
        assert st.f_blocks * st.f_frsize == 10 * 1024 * 1024
        assert os.stat(vol.mountpoint).st_uid == 1000
        with open(os.path.join(vol.mountpoint, "f"), "w") as f:
            f.write("in tmpfs")
        svc.mount("scratch", "c2")
        assert len(vmod._mount_points_under(vol.mountpoint)) == 1  # one mount, two users
        svc.unmount("scratch", "c1")
        assert mnt.is_mounted(vol.mountpoint)
        svc.unmount("scratch", "c2")
        assert not mnt.is_mounted(vol.mountpoint)
        assert os.listdir(vol.mountpoint) == []
        svc.unmount("scratch", "c2")  # not a user any more: nothing happens
    finally:
        mnt.unmount(vol.mountpoint, detach=True)
    assert [a for a, _ in bus.actions()] == ["create"]  # uses without a destination are silent


def test_mount_of_a_volume_mounted_before_a_restart_reuses_it(svc, root, bus):
    vol = tmpfs(svc, "survivor")
    try:
        svc.mount("survivor", "c1")
        open(os.path.join(vol.mountpoint, "f"), "w").close()
        again = VolumeService(db=svc.db, events=bus, data_root=str(root))
        again.mount("survivor", "c1", destination="/data", quiet=True)
        assert os.listdir(vol.mountpoint) == ["f"]
        assert len(vmod._mount_points_under(vol.mountpoint)) == 1
        again.unmount("survivor", "c1")
        assert not mnt.is_mounted(vol.mountpoint)
    finally:
        mnt.unmount(vol.mountpoint, detach=True)


def test_mount_events_carry_docker_attributes(svc, bus):
    svc.create("ev")
    svc.mount("ev", "c1", destination="/data", read_write=False, propagation="")
    svc.mount("ev", "c1")  # copy-up or cp: silent, and its unmount too
    svc.unmount("ev", "c1")
    svc.unmount("ev", "c1")
    assert bus.events[1:] == [
        ("volume", "mount", "ev", {"container": "c1", "destination": "/data", "driver": "local",
                                   "propagation": "", "read/write": "false"}),
        ("volume", "unmount", "ev", {"container": "c1", "driver": "local"}),
    ]


def test_bind_volume_read_only_and_a_missing_device(svc, tmp_path):
    host = tmp_path / "ro-host"
    host.mkdir()
    (host / "f").write_text("x")
    vol = svc.create("robind", driver_opts={"type": "none", "o": "bind,ro", "device": str(host)})
    try:
        path = svc.mount("robind", "c1")
        assert os.listdir(path) == ["f"]
        with pytest.raises(OSError) as e:
            open(os.path.join(path, "new"), "w")
        assert e.value.errno == errno.EROFS
        svc.unmount("robind", "c1")
        assert os.listdir(vol.mountpoint) == []
    finally:
        mnt.unmount(vol.mountpoint, detach=True)
    bad = svc.create("badbind", driver_opts={"type": "none", "o": "bind", "device": "/nonexistent/dir"})
    with pytest.raises(errdefs.System) as e:
        svc.mount("badbind", "c1")
    assert str(e.value) == (f"error while mounting volume '{bad.mountpoint}': failed to mount local volume: "
                            f"mount /nonexistent/dir:{bad.mountpoint}, flags: 0x1000: no such file or directory")
    assert svc._users == {}


def test_mount_option_parsing():
    assert vmod.parse_mount_options("size=10m,uid=1000") == (0, "size=10m,uid=1000")
    assert vmod.parse_mount_options("bind,ro") == (vmod.MS_BIND | vmod.MS_RDONLY, "")
    assert vmod.parse_mount_options("rbind,rw,defaults") == (vmod.MS_BIND | vmod.MS_REC, "defaults")
    assert vmod.parse_mount_options("") == (0, "")
    assert vmod.ram_in_bytes("10m") == 10 << 20
    assert vmod.ram_in_bytes("1.5 GiB") == 3 << 29
    assert vmod.ram_in_bytes("0") == 0
    assert vmod.ram_in_bytes("ten") is None


# -- size and prune -------------------------------------------------------------------------

def test_size_counts_files_once_and_follows_no_link(svc, tmp_path):
    vol = svc.create("sized")
    big = tmp_path / "big"
    big.write_bytes(b"x" * 100000)
    os.makedirs(os.path.join(vol.mountpoint, "d"))
    with open(os.path.join(vol.mountpoint, "d", "a"), "wb") as f:
        f.write(b"a" * 3000)
    os.link(os.path.join(vol.mountpoint, "d", "a"), os.path.join(vol.mountpoint, "hard"))
    os.symlink(str(big), os.path.join(vol.mountpoint, "link"))
    assert svc.size("sized") == 3000 + len(str(big))
    usage = {v.name: (size, refs) for v, size, refs in asyncio.run(svc.disk_usage())}
    assert usage == {"sized": (3000 + len(str(big)), 0)}


def test_prune_takes_unused_anonymous_volumes_by_default(svc, bus):
    named = svc.create("named")
    anon = svc.create()
    used = svc.create()
    svc.add_refs("c1", [used.name])
    with open(os.path.join(anon.mountpoint, "f"), "wb") as f:
        f.write(b"z" * 1234)
    assert prune(svc) == ([anon.name], 1234)
    assert {v.name for v in svc.list()} == {named.name, used.name}
    assert bus.events[-1] == ("volume", "prune", "", {"reclaimed": "1234"})
    assert ("destroy", anon.name) in bus.actions()
    assert prune(svc, all=["true"]) == (["named"], 0)
    assert [v.name for v in svc.list()] == [used.name]


def test_prune_leaves_volumes_with_driver_options(svc):
    tmpfs(svc, "opts")
    svc.create("zero", driver_opts={"size": "0"})
    svc.create("emptyopts", driver_opts={})
    assert prune(svc, all=["true"]) == (["emptyopts"], 0)


def test_prune_filters(svc):
    svc.create("keep1", labels={"keep": "yes"})
    svc.create("drop1", labels={"team": "a"})
    svc.create("drop2", labels={"team": "a", "keep": "no"})
    assert prune(svc, all=["1"], label=["team=a"], **{"label!": ["keep=no"]}) == (["drop1"], 0)
    assert prune(svc, all=["false"], label=["team"]) == ([], 0)  # not anonymous
    for bad, message in (({"all": ["maybe"]}, r"invalid filter 'all=\[maybe\]'"),
                         ({"all": ["true", "false"]}, r"invalid filter 'all=\[true false\]'"),
                         ({"until": ["1h"]}, "invalid filter 'until'"),
                         ({"dangling": ["true"]}, "invalid filter 'dangling'")):
        with pytest.raises(errdefs.InvalidArgument, match=f"^{message}$"):
            prune(svc, **bad)
    assert sorted(v.name for v in svc.list()) == ["drop2", "keep1"]
