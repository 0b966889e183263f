"""``docker cp``'s path, stat and tar rules (services.archive, the CLI's cp helpers), no daemon."""

from __future__ import annotations

import base64
import gzip
import io
import json
import os
import stat
import tarfile
import time

import pytest

from dockyard import errdefs
from dockyard.cli.commands import cp
from dockyard.services import archive as sa
from dockyard.services import archive_tar as at
from dockyard.util import gopath


# ---------------------------------------------------------------- paths as dockerd cleans them


@pytest.mark.parametrize("path, want", [
    ("/d", "/d"), ("d", "/d"), ("/d/", "/d/"), ("/d/.", "/d/."), ("d/./", "/d/./"), ("/", "/"),
    ("/d/..", "/"), ("../../etc", "/etc"), ("/a//b/", "/a/b/"), (".", "/."), ("/d/../.", "/."),
])
def test_abs_path_keeps_a_trailing_slash_or_dot(path, want):
    assert sa.abs_path(path) == want


def test_go_path_functions():
    assert (gopath.base("/d/"), gopath.base("/"), gopath.base(""), gopath.base("/d/.")) == ("d", "/", ".", ".")
    assert (gopath.dir("/a/b"), gopath.dir("/a"), gopath.dir("a")) == ("/a", "/", ".")
    assert gopath.split("/a/b/") == ("/a/b/", "")
    assert gopath.join("/tmp", "/etc") == "/tmp/etc"
    assert gopath.join("/tmp", "../x") == "/x"
    assert gopath.join("", "") == ""
    assert (gopath.clean(""), gopath.clean("a/../.."), gopath.clean("/../a//b/./")) == (".", "..", "/a/b")
    # a tar entry's place under a root: ".." stops at the root, absolute names are taken as relative
    assert [gopath.within_root(n) for n in ("a/../../b", "/etc/passwd", "./", "", "x//y/.")] == \
        ["b", "etc/passwd", "", "", "x/y"]


def test_go_file_mode_bits():
    assert sa.go_mode(stat.S_IFDIR | 0o755) == 0x80000000 | 0o755
    assert sa.go_mode(stat.S_IFDIR | 0o1777) == 0x80000000 | 0x100000 | 0o777
    assert sa.go_mode(stat.S_IFLNK | 0o777) == 0x8000000 | 0o777
    assert sa.go_mode(stat.S_IFREG | 0o4751) == 0x800000 | 0o751
    assert sa.go_mode(stat.S_IFREG | 0o2644) == 0x400000 | 0o644
    assert sa.go_mode(stat.S_IFCHR | 0o666) == 0x4000000 | 0x200000 | 0o666
    assert sa.go_mode(stat.S_IFIFO | 0o644) == 0x2000000 | 0o644


def test_go_time_and_the_stat_header(monkeypatch):
    monkeypatch.setenv("TZ", "UTC")
    time.tzset()
    try:
        assert sa.go_time(1795399756_373688708) == "2026-11-23T02:09:16.373688708Z"
        assert sa.go_time(1795399756_370000000) == "2026-11-23T02:09:16.37Z"
        assert sa.go_time(0) == "1970-01-01T00:00:00Z"
        st = sa.PathStat("d<", 4096, sa.go_mode(stat.S_IFDIR | 0o755), 1795399756_373688708, "")
        raw = base64.b64decode(sa.encode_stat(st))
        assert raw == (b'{"name":"d\\u003c","size":4096,"mode":2147484141,'
                       b'"mtime":"2026-11-23T02:09:16.373688708Z","linkTarget":""}')
        monkeypatch.setenv("TZ", "CET-1")
        time.tzset()
        assert sa.go_time(0) == "1970-01-01T01:00:00+01:00"
    finally:
        monkeypatch.delenv("TZ")
        time.tzset()


# ---------------------------------------------------------------- headers as Go writes them


def test_tar_header_is_gos_ustar_block():
    """The header dockerd 20.10 wrote for a directory ``d`` (captured from its GET /archive)."""
    want = (b"d/".ljust(100, b"\0") + b"0040755\0" + b"0000000\0" * 2 + b"00000000000\0" + b"15300720114\0"
            + b"011274\0 " + b"5" + bytes(100) + b"ustar\x0000" + b"root".ljust(32, b"\0") * 2
            + b"0000000\0" * 2 + bytes(167))
    got = at.tar_header("d/", stat.S_IFDIR | 0o755, 0, 0, 0, int("15300720114", 8), b"5", uname="root",
                        gname="root")
    assert got == want


def test_tar_header_long_names_and_big_numbers():
    split = "a" * 90 + "/" + "b" * 60
    h = at.tar_header(split, 0o100644, 0, 0, 0, 0, b"0")
    assert len(h) == 512 and h[345:345 + 90] == b"a" * 90 and h[:60] == b"b" * 60  # USTAR prefix
    long = "d/" + "L" * 120
    h = at.tar_header(long, 0o100644, 0, 0, 4, 0, b"0")
    assert h[:15] == b"d/PaxHeaders.0/" and h[156:157] == b"x" and b"path=" + long.encode() in h[512:1024]
    t = tarfile.open(fileobj=io.BytesIO(h + b"data".ljust(512, b"\0") + bytes(1024)))
    (m,) = t.getmembers()
    assert (m.name, m.size) == (long, 4)
    h = at.tar_header("x/", 0o40755, 3000000, 0, 0, -100, b"5")
    assert h[:15] == b"x/PaxHeaders.0\0"[:15] or h.startswith(b"x/PaxHeaders.0")
    recs = h[512:1024]
    assert b" mtime=-100\n" in recs and b" uid=3000000\n" in recs
    h = at.tar_header("cap", 0o100644, 0, 0, 0, 0, b"0", xattrs={"security.capability": b"\x01\x00"})
    assert b"SCHILY.xattr.security.capability=\x01\x00\n" in h[512:1024]


# ---------------------------------------------------------------- resolution in a container's scope


@pytest.fixture
def rootdir(tmp_path):
    r = tmp_path / "root"
    (r / "d" / "sub").mkdir(parents=True)
    (r / "d" / "f").write_text("hi\n")
    os.symlink("/etc", r / "d" / "lnk")
    os.symlink("f", r / "d" / "rel")
    os.symlink("../../../../../../..", r / "d" / "up")
    os.symlink("/nonexist/x", r / "d" / "dangle")
    os.symlink("loop2", r / "d" / "loop1")
    os.symlink("loop1", r / "d" / "loop2")
    (r / "etc").mkdir()
    (r / "etc" / "passwd").write_text("root:x:0:0:root:/root:/bin/sh\nfoo:x:1234:1234::/:/bin/sh\n")
    (r / "etc" / "group").write_text("root:x:0:\n")
    fd = os.open(r, os.O_PATH | os.O_DIRECTORY)
    root = sa._Root(fd)
    yield r, root
    root.close()


def test_follow_in_scope_never_leaves_the_root(rootdir):
    _, root = rootdir
    assert sa.follow_in_scope(root, "/d/lnk") == "/etc"
    assert sa.follow_in_scope(root, "/d/lnk/passwd") == "/etc/passwd"
    assert sa.follow_in_scope(root, "/d/rel") == "/d/f"
    assert sa.follow_in_scope(root, "/d/up") == "/"
    assert sa.follow_in_scope(root, "/d/up/etc/passwd") == "/etc/passwd"
    assert sa.follow_in_scope(root, "/d/dangle") == "/nonexist/x"
    assert sa.follow_in_scope(root, "/d/../../..") == "/"
    assert sa.follow_in_scope(root, "/missing/x/y") == "/missing/x/y"
    with pytest.raises(NotADirectoryError):
        sa.follow_in_scope(root, "/d/f/x")
    with pytest.raises(errdefs.System, match="too many links"):
        sa.follow_in_scope(root, "/d/loop1")


def _tar_names(data: bytes) -> list[tuple[str, bytes, str, str]]:
    out = []
    for m in tarfile.open(fileobj=io.BytesIO(data)):
        out.append((m.name, m.type, m.linkname, m.uname))
    return out


def test_tree_tar_names_order_links_and_owners(rootdir):
    r, root = rootdir
    os.link(r / "d" / "f", r / "d" / "hard")
    os.chown(r / "d" / "f", 1234, 0)
    out = io.BytesIO()
    at.TreeTar(root, out).write("/d", "renamed")
    got = _tar_names(out.getvalue())
    assert [n for n, *_ in got] == ["renamed", "renamed/dangle", "renamed/f", "renamed/hard", "renamed/lnk",
                                    "renamed/loop1", "renamed/loop2", "renamed/rel", "renamed/sub", "renamed/up"]
    by = {n: (t, link, u) for n, t, link, u in got}
    assert by["renamed/hard"] == (tarfile.LNKTYPE, "renamed/f", "foo")
    assert by["renamed/lnk"] == (tarfile.SYMTYPE, "/etc", "root")     # a link is archived, never followed
    assert by["renamed/f"][2] == "foo"                                   # names from the container's passwd
    raw = out.getvalue()
    assert raw.endswith(bytes(1024)) and len(raw) % 512 == 0
    out = io.BytesIO()
    at.TreeTar(root, out).write("/", "")
    assert _tar_names(out.getvalue())[0][0] == "" and out.getvalue()[:2] == b"/\0"


def test_tree_tar_of_something_gone_is_an_empty_tar(rootdir):
    _, root = rootdir
    out = io.BytesIO()
    at.TreeTar(root, out).write("/nope", "nope")
    assert out.getvalue() == bytes(1024)


# ---------------------------------------------------------------- extraction checks


def _tar(*entries) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as tf:
        for name, typ, link in entries:
            ti = tarfile.TarInfo(name)
            ti.type, ti.linkname = typ, link
            data = b"z" if typ == tarfile.REGTYPE else None
            if data:
                ti.size = 1
            tf.addfile(ti, io.BytesIO(data) if data else None)
    return buf.getvalue()


def _guard_all(data: bytes, checker) -> None:
    g = at.TarGuard(io.BufferedReader(io.BytesIO(data)), checker)
    buf = bytearray(700)  # odd sizes: headers straddle reads
    while g.readinto(memoryview(buf)):
        pass


def test_guard_refuses_what_dockerd_refuses(rootdir):
    r, _ = rootdir
    dfd = os.open(r / "d", os.O_RDONLY | os.O_DIRECTORY)
    try:
        for entries, msg in (
            ([("../evil", tarfile.REGTYPE, "")], '"../evil" is outside of "/d"'),
            ([("up", tarfile.SYMTYPE, "../../x")], 'invalid symlink "/d/up" -> "../../x"'),
            ([("h", tarfile.LNKTYPE, "../etc/passwd")], 'invalid hardlink "/etc/passwd" -> "../etc/passwd"'),
            ([("sub", tarfile.REGTYPE, "")], 'cannot overwrite directory "/d/sub" with non-directory "/d"'),
            ([("f", tarfile.DIRTYPE, "")], 'cannot overwrite non-directory "/d/f" with directory "/d"'),
            ([("x/" + "L" * 150 + "/..", tarfile.DIRTYPE, "")], None),  # a PAX name that stays inside
            ([("x/" + "L" * 150 + "/../../..", tarfile.DIRTYPE, "")], '".." is outside of "/d"'),
        ):
            checker = at.Checker("/d", dfd, no_overwrite_dir_non_dir=True)
            if msg is None:
                _guard_all(_tar(*entries), checker)
                continue
            with pytest.raises(at.Refused) as e:
                _guard_all(_tar(*entries), checker)
            assert str(e.value) == msg
        ok = at.Checker("/d", dfd, no_overwrite_dir_non_dir=False)
        _guard_all(_tar(("sub", tarfile.REGTYPE, ""), ("/abs/x", tarfile.REGTYPE, ""),
                        ("long/" + "n" * 200, tarfile.REGTYPE, "")), ok)
        assert ok.names == ["sub", "abs/x", "long/" + "n" * 200]
        gz = at.Checker("/d", dfd, no_overwrite_dir_non_dir=False)
        _guard_all(gzip.compress(_tar(("a", tarfile.REGTYPE, ""), ("b", tarfile.DIRTYPE, ""))), gz)
        assert gz.names == ["a", "b"]
    finally:
        os.close(dfd)


# ---------------------------------------------------------------- the CLI's copy rules


@pytest.mark.parametrize("arg, want", [
    ("ctr:/p", ("ctr", "/p")), ("/abs:x", ("", "/abs:x")), ("./f:x", ("", "./f:x")), ("file", ("", "file")),
    ("ctr:", ("ctr", "")), ("ctr:rel/p", ("ctr", "rel/p")),
])
def test_split_cp_arg(arg, want):
    assert cp.split_cp_arg(arg) == want


def test_split_path_dir_entry_and_rebase_names():
    assert cp.split_path_dir_entry("/a/b/") == ("/a", "b")
    assert cp.split_path_dir_entry("/a/b/.") == ("/a/b", ".")
    assert cp.split_path_dir_entry("/") == ("/", "/")
    assert cp.get_rebase_name("/d/lnk", "/etc") == ("/etc", "lnk")
    assert cp.get_rebase_name("/d/lnk/", "/etc") == ("/etc/", "lnk")
    assert cp.get_rebase_name("/d/lnk/.", "/etc") == ("/etc/.", "")
    assert cp.get_rebase_name("/d/f", "/d/f") == ("/d/f", "")
    assert cp.rebase("d/sub/x", [("d", "new")]) == "new/sub/x"
    assert cp.rebase("./x", [(".", "new")]) == "new/x"
    assert cp.rebase("/etc", [("/", "root")]) == "root/etc"
    assert cp.rebase("etc/x", [("etc", "lnk"), ("lnk", "copy")]) == "copy/x"


@pytest.mark.parametrize("src, dst, want", [
    (cp.CopyInfo("/s/f", True, False), cp.CopyInfo("/t/dir", True, True), ("/t/dir", None)),
    (cp.CopyInfo("/s/f", True, False), cp.CopyInfo("/t/new"), ("/t", ("f", "new"))),
    (cp.CopyInfo("/s/d", True, True), cp.CopyInfo("/t/new/"), ("/t", ("d", "new"))),
    (cp.CopyInfo("/s/d/.", True, True), cp.CopyInfo("/t/new"), ("/t", (".", "new"))),
    (cp.CopyInfo("/s/f", True, False), cp.CopyInfo("/t/file", True, False), ("/t", ("f", "file"))),
    (cp.CopyInfo("/etc", True, True, "lnk"), cp.CopyInfo("/t/new"), ("/t", ("lnk", "new"))),
    (cp.CopyInfo("/s/d", True, True), cp.CopyInfo("/t/file", True, False), "cannot copy directory"),
    (cp.CopyInfo("/s/f", True, False), cp.CopyInfo("/t/missing/"), "no such directory"),
    (cp.CopyInfo("/s/f", True, False), cp.CopyInfo(""), "no such directory"),
])
def test_prepare_archive_copy(src, dst, want):
    if isinstance(want, str):
        with pytest.raises(cp.CopyError, match=want):
            cp.prepare_archive_copy(src, dst)
    else:
        assert cp.prepare_archive_copy(src, dst) == want


def test_local_round_trip_keeps_modes_links_and_stays_inside(tmp_path):
    src = tmp_path / "src"
    (src / "sub").mkdir(parents=True)
    (src / "f").write_text("f")
    os.chmod(src / "f", 0o4751)
    os.link(src / "f", src / "hard")
    os.symlink("/etc/passwd", src / "sub" / "lnk")
    os.utime(src / "f", (1500000000, 1500000000))
    buf = io.BytesIO()
    cp.write_source_tar(cp.CopyInfo(str(src), True, True), [("src", "copy")], buf)
    names = [m.name for m in tarfile.open(fileobj=io.BytesIO(buf.getvalue()))]
    assert names == ["copy", "copy/f", "copy/hard", "copy/sub", "copy/sub/lnk"]
    dest = tmp_path / "dest"
    dest.mkdir()
    buf.seek(0)
    cp.untar(buf, str(dest), [])
    assert stat.S_IMODE(os.stat(dest / "copy" / "f").st_mode) == 0o4751
    assert os.stat(dest / "copy" / "f").st_mtime == 1500000000
    assert os.stat(dest / "copy" / "f").st_ino == os.stat(dest / "copy" / "hard").st_ino
    assert os.readlink(dest / "copy" / "sub" / "lnk") == "/etc/passwd"
    # a hostile tar: a link out, then an entry through it; a name that climbs
    outside = tmp_path / "outside"
    outside.mkdir()
    evil = io.BytesIO()
    with tarfile.open(fileobj=evil, mode="w") as tf:
        ti = tarfile.TarInfo("esc")
        ti.type, ti.linkname = tarfile.SYMTYPE, str(outside)
        tf.addfile(ti)
        ti = tarfile.TarInfo("esc/pwned")
        ti.size = 1
        tf.addfile(ti, io.BytesIO(b"x"))
    evil.seek(0)
    target = tmp_path / "t"
    target.mkdir()
    with pytest.raises(cp.CopyError):  # the link resolves inside the destination, where it leads nowhere
        cp.untar(evil, str(target), [])
    assert os.listdir(outside) == []
    climb = io.BytesIO()
    with tarfile.open(fileobj=climb, mode="w") as tf:
        ti = tarfile.TarInfo("../pwned")
        ti.size = 1
        tf.addfile(ti, io.BytesIO(b"x"))
    climb.seek(0)
    with pytest.raises(cp.CopyError, match=r'"\.\./pwned" is outside of'):
        cp.untar(climb, str(target), [])
    assert not (tmp_path / "pwned").exists()


def test_stat_header_decoding_in_the_client():
    from dockyard.api.client.resources import Containers

    st = sa.PathStat("f", 3, 0o644, 0, "")
    got = Containers._path_stat({"X-Docker-Container-Path-Stat": sa.encode_stat(st)})
    assert got == json.loads(json.dumps(st.to_json()))
    assert Containers._path_stat({}) == {}
