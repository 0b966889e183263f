"""Parsing -v, --mount, --tmpfs and --volumes-from into mount points, with Docker's errors."""

from __future__ import annotations

import pytest

from dockyard import errdefs
from dockyard.services import mounts


@pytest.mark.parametrize("spec,kind,src,name,dst,mode,rw,prop,anon,copy", [
    ("/data", "volume", "", "", "/data", "", True, "", True, True),
    ("/data:ro", "volume", "", "", "/data", "ro", False, "", True, True),
    ("vol:/data", "volume", "", "vol", "/data", "z", True, "", False, True),
    ("vol:/data:ro,nocopy", "volume", "", "vol", "/data", "ro,nocopy", False, "", False, False),
    ("/host:/ctr", "bind", "/host", "", "/ctr", "", True, "rprivate", False, True),
    ("/host/:/ctr/:ro", "bind", "/host", "", "/ctr", "ro", False, "rprivate", False, True),
    ("/host:/ctr:rshared,z", "bind", "/host", "", "/ctr", "rshared,z", True, "rshared", False, True),
])
def test_bind_specs(spec, kind, src, name, dst, mode, rw, prop, anon, copy):
    mp = mounts.parse_bind(spec)
    assert (mp.type, mp.source, mp.name, mp.destination, mp.mode, mp.rw, mp.propagation, mp.anonymous,
            mp.copy_data) == (kind, src, name, dst, mode, rw, prop, anon, copy)


@pytest.mark.parametrize("spec,message", [
    ("relative", "mount path must be absolute"),
    ("vol:relative", "mount path must be absolute"),
    ("/host:/", "destination can't be '/'"),
    ("../escape:/data", "includes invalid characters for a local volume name"),
    ("a/b:/data", "includes invalid characters"),
    ("/host:/ctr:bogus", "invalid mode: bogus"),
    ("/host:/ctr:ro,rw", "invalid mode: ro,rw"),
    ("vol:/data:rshared", "invalid mode: rshared"),
    ("a:b:c:d", "invalid volume specification"),
])
def test_bad_bind_specs(spec, message):
    with pytest.raises(errdefs.InvalidArgument) as e:
        mounts.parse_bind(spec)
    assert message in str(e.value)


def test_mount_entries(tmp_path):
    mp = mounts.parse_mount({"Type": "bind", "Source": str(tmp_path), "Target": "/x", "ReadOnly": True})
    assert (mp.type, mp.source, mp.rw, mp.mode, mp.propagation) == ("bind", str(tmp_path), False, "ro", "rprivate")
    mp = mounts.parse_mount({"Type": "volume", "Source": "v1", "Target": "/v",
                             "VolumeOptions": {"NoCopy": True, "Labels": {"a": "b"},
                                               "DriverConfig": {"Name": "local", "Options": {"type": "tmpfs"}}}})
    assert (mp.name, mp.copy_data, mp.mode, mp.anonymous) == ("v1", False, "z", False)
    assert mp.volume_options == {"driver_opts": {"type": "tmpfs"}, "labels": {"a": "b"}}
    mp = mounts.parse_mount({"Type": "tmpfs", "Target": "/t", "TmpfsOptions": {"SizeBytes": 1048576, "Mode": 0o700}})
    assert mp.tmpfs_options == ["size=1048576", "mode=700"] and mp.listed
    assert mounts.parse_mount({"Type": "volume", "Target": "/anon"}).anonymous


@pytest.mark.parametrize("m,message", [
    ({"Type": "bind", "Source": "/no/such/dir/here", "Target": "/x"}, "bind source path does not exist: /no/such"),
    ({"Type": "bind", "Target": "/x"}, "field Source must not be empty"),
    ({"Type": "bind", "Source": "/tmp"}, "field Target must not be empty"),
    ({"Type": "tmpfs", "Source": "x", "Target": "/t"}, "field Source must not be specified"),
    ({"Type": "npipe", "Target": "/t"}, "mount type unknown"),
    ({"Type": "volume", "Source": "v", "Target": "rel"}, "mount path must be absolute"),
])
def test_bad_mount_entries(m, message):
    with pytest.raises(errdefs.InvalidArgument) as e:
        mounts.parse_mount(m)
    assert message in str(e.value)


def test_plan_precedence_and_duplicates():
    hc = {"Binds": ["/h:/a", "named:/b"], "Tmpfs": {"/t": "size=1m"}}
    inherited = [mounts.inherit([mounts.parse_bind("other:/b"), mounts.parse_bind("fromvf:/c"),
                                 mounts.MountPoint("tmpfs", "/tt")], "ro")]
    plan = {mp.destination: mp for mp in mounts.plan(hc, {"/a": {}, "/img": {}}, inherited)}
    assert set(plan) == {"/a", "/b", "/t", "/c", "/img"}
    assert plan["/a"].type == "bind"                        # the explicit bind wins over the image VOLUME
    assert plan["/b"].name == "named"                       # ... and over --volumes-from
    assert plan["/c"].name == "fromvf" and plan["/c"].rw is False and not plan["/c"].copy_data
    assert plan["/img"].anonymous and plan["/img"].copy_data
    assert not plan["/t"].listed
    with pytest.raises(errdefs.InvalidArgument, match="Duplicate mount point: /a"):
        mounts.plan({"Binds": ["/h:/a", "vv:/a"]}, None, [])


def test_sorted_parents_first():
    mps = [mounts.MountPoint("volume", d) for d in ("/a/b/c", "/a", "/a/b")]
    assert [m.destination for m in mounts.sorted_for_mounting(mps)] == ["/a", "/a/b", "/a/b/c"]


def test_inspect_shape():
    assert mounts.parse_bind("/h:/c:ro").inspect() == {"Type": "bind", "Source": "/h", "Destination": "/c",
                                                       "Mode": "ro", "RW": False, "Propagation": "rprivate"}
    mp = mounts.parse_bind("vol:/d")
    mp.source = "/var/lib/dockyard/volumes/vol/_data"
    assert mp.inspect() == {"Type": "volume", "Name": "vol", "Source": "/var/lib/dockyard/volumes/vol/_data",
                            "Destination": "/d", "Driver": "local", "Mode": "z", "RW": True, "Propagation": ""}


def test_a_volume_is_filled_only_where_some_layer_has_content(tmp_path):
    """The rootfs is mounted at create only when a layer holds something at a volume's mount point
    (or a symlink on the way there, which only the mounted rootfs can resolve)."""
    from dockyard.services.container_mounts import ContainerMounts

    top, base = tmp_path / "top", tmp_path / "base"
    (base / "usr" / "share").mkdir(parents=True)
    (base / "usr" / "share" / "f").write_text("x")
    (top / "etc").mkdir(parents=True)
    (top / "link").symlink_to("/usr")
    layers = [str(top), str(base)]

    def fill(*specs):
        return ContainerMounts.may_fill(layers, [mounts.parse_bind(s) for s in specs])

    assert not fill("/data", "/etc/app", "vol:/usr/lib")          # nothing there in any layer
    assert fill("/usr/share")                                     # the lower layer has it
    assert fill("/data", "vol:/etc")                              # any of them
    assert fill("/link/share")                                    # through a symlink: look in the rootfs
    assert not fill("vol:/usr/share:nocopy", "/host:/etc")        # nocopy, and binds, are never filled
    assert not ContainerMounts.may_fill([], [mounts.parse_bind("/etc")])
