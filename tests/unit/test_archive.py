"""dockyard.image.archive: layer tars in and out of overlayfs directories (runs as root).

What the real dockerd (20.10, overlay2) did with each hostile tar is written
next to the test that mirrors it; see also the module docstring.
"""

from __future__ import annotations

import contextlib
import gzip
import hashlib
import io
import os
import shutil
import stat
import struct
import subprocess
import sys
import tarfile
import textwrap
from pathlib import Path

import pytest

from dockyard import errdefs
from dockyard.image import archive
from dockyard.image.archive import Change
from dockyard.util import busyboxroot

MTIME = 1_600_000_000


# ---------------------------------------------------------------- helpers


def entry(name: str, kind: str = "f", data: bytes = b"", **kw) -> tuple[tarfile.TarInfo, bytes]:
    """A TarInfo: kind f(ile) d(ir) l(symlink) h(ardlink) c(har) b(lock) p(fifo)."""
    ti = tarfile.TarInfo(name)
    ti.type = {"f": tarfile.REGTYPE, "d": tarfile.DIRTYPE, "l": tarfile.SYMTYPE, "h": tarfile.LNKTYPE,
               "c": tarfile.CHRTYPE, "b": tarfile.BLKTYPE, "p": tarfile.FIFOTYPE}[kind]
    ti.mode = kw.pop("mode", 0o755 if kind == "d" else 0o644)
    ti.mtime = kw.pop("mtime", MTIME)
    ti.size = len(data) if kind == "f" else 0
    for k, v in kw.items():
        setattr(ti, k, v)
    return ti, data


def mktar(*entries: tuple[tarfile.TarInfo, bytes], trailer: bytes = b"") -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as t:
        for ti, data in entries:
            t.addfile(ti, io.BytesIO(data) if ti.size else None)
    return buf.getvalue() + trailer


def apply(data: bytes, dest: Path) -> archive.AppliedLayer:
    dest.mkdir(exist_ok=True)
    return archive.apply_layer(io.BytesIO(data), str(dest))


def members(data: bytes) -> dict[str, tarfile.TarInfo]:
    with tarfile.open(fileobj=io.BytesIO(data)) as t:
        return {m.name: m for m in t.getmembers()}


def sha(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def busybox_tar() -> bytes:
    buf = io.BytesIO()
    busyboxroot.write_rootfs_tar(buf)
    return buf.getvalue()


def snapshot(path: Path) -> list[tuple[str, int, int, float]]:
    """Everything under ``path`` (name, mode, size, mtime): to prove it was not touched."""
    out = []
    for p in sorted(path.rglob("*")):
        st = p.lstat()
        out.append((str(p), st.st_mode, st.st_size, st.st_mtime))
    return out


@contextlib.contextmanager
def overlay(tmp: Path, lowers: list[Path], upper: Path | None = None):
    merged = tmp / "merged"
    merged.mkdir(exist_ok=True)
    opts = "lowerdir=" + ":".join(str(p) for p in lowers)
    if upper is not None:
        work = tmp / "work"
        work.mkdir(exist_ok=True)
        opts += f",upperdir={upper},workdir={work}"
    subprocess.run(["mount", "-t", "overlay", "overlay", "-o", opts, str(merged)], check=True)
    try:
        yield merged
    finally:
        subprocess.run(["umount", str(merged)], check=True)


@pytest.fixture
def area(tmp_path: Path):
    """(dest, host): extract into dest; host is a sibling holding files nothing may touch."""
    dest = tmp_path / "dest"
    host = tmp_path / "host"
    dest.mkdir()
    host.mkdir()
    (host / "passwd").write_text("root:x:0:0\n")
    before = snapshot(host)
    yield dest, host
    assert snapshot(host) == before
    assert not Path("/evil").exists() and not Path("/etc/evil").exists()


# ---------------------------------------------------------------- round trips


def test_busybox_round_trip_and_diff_id(tmp_path):
    data = busybox_tar()
    res = apply(data, tmp_path / "l")
    assert res.diff_id == sha(data)
    sha256sum = subprocess.run(["sha256sum"], input=data, capture_output=True, check=True).stdout.split()[0]
    assert res.diff_id == "sha256:" + sha256sum.decode()
    assert res.compressed_digest is None and res.compression is None
    bb = os.path.getsize("/bin/busybox")
    assert res.size == bb + sum(len(x.encode()) for x in (busyboxroot.PASSWD, busyboxroot.GROUP)) + 54

    out = io.BytesIO()
    diff_id = archive.write_diff(str(tmp_path / "l"), out)
    assert diff_id == sha(out.getvalue())
    orig, back = members(data), members(out.getvalue())
    assert set(orig) == set(back)
    for name, o in orig.items():
        b = back[name]
        assert (b.mode & 0o7777, b.uid, b.gid, b.mtime) == (o.mode & 0o7777, o.uid, o.gid, o.mtime), name
        assert b.isdir() == o.isdir() and b.issym() == o.issym(), name
    links = [m for m in back.values() if m.islnk()]
    assert len(links) == len(busyboxroot.applets("/bin/busybox"))
    assert {m.linkname for m in links} == {"bin/["}  # the first name in sorted order holds the data


def test_write_diff_is_deterministic_and_tar_readable(tmp_path):
    # every directory has its own entry: an implicit one would get the time of the apply as mtime
    data = mktar(entry("d", "d"), entry("d/f", data=b"x" * 700), entry("z", "l", linkname="/d/f"),
                 entry("a" * 120, "d"), entry("a" * 120 + "/" + "b" * 120, data=b"long"), entry("ünï", data=b"u"))
    ids = []
    for i in range(2):
        apply(data, tmp_path / f"t{i}")
        out = io.BytesIO()
        ids.append(archive.write_diff(str(tmp_path / f"t{i}"), out))
        listing = subprocess.run(["tar", "--quoting-style=literal", "-tvf", "-"], input=out.getvalue(),
                                 capture_output=True, check=True)
        names = [line.split(maxsplit=5)[5] for line in listing.stdout.decode().splitlines()]
        assert names == ["a" * 120 + "/", "a" * 120 + "/" + "b" * 120, "d/", "d/f", "z -> /d/f", "ünï"]
    assert ids[0] == ids[1]


def test_attributes_survive_apply_and_write(tmp_path):
    cap = struct.pack("<IIIII", 0x02000001, 1 << 10, 0, 0, 0)  # cap_net_bind_service+ep
    data = mktar(
        entry("dir", "d", mode=0o2775, uid=1000, gid=1001, mtime=MTIME - 100,
              pax_headers={"SCHILY.xattr.trusted.dirnote": "yes"}),
        entry("dir/suid", data=b"#!", mode=0o4755, uid=1000, gid=1000),
        entry("dir/caps", data=b"bin", mode=0o755, uid=1000, gid=1000,
              pax_headers={"SCHILY.xattr.user.note": "hello"}),
        entry("sticky", "d", mode=0o1777),
        entry("sticky/link", "l", linkname="/etc/../dir/suid", uid=7, gid=8, mtime=MTIME - 5),
        entry("dir/hard", "h", linkname="dir/suid", mode=0o4755, uid=1000, gid=1000),
        entry("null", "c", devmajor=1, devminor=3, mode=0o666),
        entry("loop0", "b", devmajor=7, devminor=0, mode=0o660, gid=6),
        entry("fifo", "p", mode=0o600),
        entry("odd\nname", data=b"n"),
    )
    dest = tmp_path / "l"
    res = apply(data, dest)
    assert res.size == 2 + 3 + len("/etc/../dir/suid") + 1
    st = os.lstat(dest / "dir")
    assert (stat.S_IMODE(st.st_mode), st.st_uid, st.st_gid, st.st_mtime) == (0o2775, 1000, 1001, MTIME - 100)
    assert os.getxattr(dest / "dir", "trusted.dirnote") == b"yes"
    st = os.lstat(dest / "dir/suid")
    assert stat.S_IMODE(st.st_mode) == 0o4755 and (st.st_uid, st.st_gid) == (1000, 1000)
    assert st.st_ino == os.lstat(dest / "dir/hard").st_ino and st.st_nlink == 2
    assert os.getxattr(dest / "dir/caps", "user.note") == b"hello"
    assert stat.S_IMODE(os.lstat(dest / "sticky").st_mode) == 0o1777
    st = os.lstat(dest / "sticky/link")
    assert os.readlink(dest / "sticky/link") == "/etc/../dir/suid"
    assert (st.st_uid, st.st_gid, st.st_mtime) == (7, 8, MTIME - 5)
    st = os.lstat(dest / "null")
    assert stat.S_ISCHR(st.st_mode) and (os.major(st.st_rdev), os.minor(st.st_rdev)) == (1, 3)
    assert stat.S_IMODE(st.st_mode) == 0o666
    st = os.lstat(dest / "loop0")
    assert stat.S_ISBLK(st.st_mode) and os.major(st.st_rdev) == 7 and st.st_gid == 6
    assert stat.S_ISFIFO(os.lstat(dest / "fifo").st_mode)
    assert (dest / "odd\nname").read_bytes() == b"n"

    # a binary security.capability must be set after chown (which clears it) and come back out
    os.setxattr(dest / "dir/caps", "security.capability", cap)
    out = io.BytesIO()
    archive.write_diff(str(dest), out)
    dest2 = tmp_path / "l2"
    apply(out.getvalue(), dest2)
    assert os.getxattr(dest2 / "dir/caps", "security.capability") == cap
    assert os.lstat(dest2 / "dir/caps").st_uid == 1000
    again = io.BytesIO()
    archive.write_diff(str(dest2), again)
    assert again.getvalue() == out.getvalue()
    m = members(out.getvalue())
    assert m["dir"].pax_headers["SCHILY.xattr.trusted.dirnote"] == "yes"
    assert m["null"].ischr() and (m["null"].devmajor, m["null"].devminor) == (1, 3)
    assert m["dir/suid"].islnk() or m["dir/hard"].islnk()


def test_directory_mtimes_are_set_after_their_contents(tmp_path):
    data = mktar(entry("a", "d", mtime=1000), entry("a/b", "d", mtime=2000), entry("a/b/f", data=b"1"),
                 entry("a/b/.wh.gone", data=b""), entry("a/c", "l", linkname="b"), entry("a/n/implicit", data=b"2"))
    dest = tmp_path / "l"
    apply(data, dest)
    assert os.lstat(dest / "a").st_mtime == 1000
    assert os.lstat(dest / "a/b").st_mtime == 2000
    assert stat.S_IMODE(os.lstat(dest / "a/n").st_mode) == 0o755  # implicit parents: 0755 root, like docker


def test_many_directories_exercise_the_fd_cache(tmp_path):
    n = archive._CACHE_MAX + 44
    entries = []
    for i in range(n):
        entries += [entry(f"d{i}", "d"), entry(f"d{i}/f", data=str(i).encode())]
    entries += [entry(f"d{i}/g", data=b"again") for i in range(n)]  # revisit evicted directories
    entries += [entry("deep/" + "/".join(["x"] * 300) + "/leaf", data=b"deep")]
    dest = tmp_path / "l"
    apply(mktar(*entries), dest)
    assert all((dest / f"d{i}/f").read_bytes() == str(i).encode() for i in range(n))
    assert (dest / ("deep/" + "/".join(["x"] * 300) + "/leaf")).read_bytes() == b"deep"


# ---------------------------------------------------------------- whiteouts


def test_whiteouts_become_overlay_whiteouts(tmp_path):
    base = mktar(entry("keep", data=b"k"), entry("gone", data=b"g"), entry("dir", "d"),
                 entry("dir/old", data=b"o"), entry("dir/sub", "d"), entry("dir/sub/deep", data=b"d"),
                 entry("tree", "d"), entry("tree/x", data=b"x"))
    top = mktar(entry(".wh.gone", data=b""), entry("dir", "d"), entry("dir/.wh..wh..opq", data=b""),
                entry("dir/new", data=b"n"), entry(".wh.tree", data=b""), entry("nodir/.wh.ghost", data=b""))
    l1, l2 = tmp_path / "l1", tmp_path / "l2"
    apply(base, l1)
    res = apply(top, l2)
    assert res.size == 1
    st = os.lstat(l2 / "gone")
    assert stat.S_ISCHR(st.st_mode) and st.st_rdev == 0
    assert os.getxattr(l2 / "dir", "trusted.overlay.opaque") == b"y"
    assert not (l2 / ".wh.gone").exists() and not (l2 / "dir/.wh..wh..opq").exists()
    assert stat.S_ISCHR(os.lstat(l2 / "nodir/ghost").st_mode)
    with overlay(tmp_path, [l2, l1]) as merged:
        assert sorted(os.listdir(merged)) == ["dir", "keep", "nodir"]
        assert os.listdir(merged / "dir") == ["new"]
        assert (merged / "keep").read_text() == "k"


def test_write_diff_turns_overlay_whiteouts_back(tmp_path):
    lower, upper = tmp_path / "lower", tmp_path / "upper"
    apply(mktar(entry("etc", "d"), entry("etc/group", data=b"g"), entry("etc/passwd", data=b"p"),
                entry("usr", "d", mode=0o750), entry("usr/sbin", "d"), entry("usr/sbin/x", data=b"x"),
                entry("var", "d"), entry("var/spool", "d"), entry("var/spool/q", data=b"q")), lower)
    upper.mkdir()
    with overlay(tmp_path, [lower], upper) as m:
        (m / "etc/group").unlink()
        shutil.rmtree(m / "usr")
        (m / "usr").mkdir(mode=0o750)
        (m / "usr/new").write_text("n")
        shutil.rmtree(m / "var/spool")
        with open(m / "etc/passwd", "a") as f:
            f.write("more")
    assert any(k.startswith("trusted.overlay.") for k in os.listxattr(upper / "usr"))
    out = io.BytesIO()
    archive.write_diff(str(upper), out)
    m = members(out.getvalue())
    wh = m["etc/.wh.group"]
    assert wh.isreg() and wh.size == 0 and wh.mode == 0o600 and not wh.linkname
    opq = m["usr/.wh..wh..opq"]
    assert opq.isreg() and opq.size == 0 and opq.mode == 0o750 and opq.mtime == 0
    assert m["var/.wh.spool"].isreg()
    assert not any(k.startswith("SCHILY.xattr.trusted.overlay") for x in m.values() for k in x.pax_headers)
    names = list(m)
    assert names.index("usr") + 1 == names.index("usr/.wh..wh..opq")  # right after its directory
    # applying the diff again gives an equivalent layer: same merged view
    again = tmp_path / "again"
    apply(out.getvalue(), again)
    with overlay(tmp_path, [again, lower]) as merged:
        assert sorted(os.listdir(merged / "etc")) == ["passwd"]
        assert (merged / "etc/passwd").read_text() == "pmore"
        assert os.listdir(merged / "usr") == ["new"]
        assert os.listdir(merged / "var") == []


def test_changes_matches_docker_diff(tmp_path):
    """The same edits in a real busybox container gave this `docker diff` (dockerd 20.10, overlay2).

    dockerd prints them in Go map order; the set is the same, ours in tree order.  Note what it
    leaves out: a chmod to the same mode (/etc/shadow) and a directory whose mtime alone changed (/root).
    """
    lower, upper = tmp_path / "lower", tmp_path / "upper"
    apply(busybox_tar(), lower)
    upper.mkdir()
    with overlay(tmp_path, [lower], upper) as m:
        subprocess.run(textwrap.dedent("""\
            set -e
            echo x > newfile; mkdir -p newdir/sub && echo y > newdir/sub/f; echo z >> etc/passwd
            rm etc/group; rm -rf var/spool; mkdir home/u; rm -rf usr && mkdir usr && echo q > usr/q
            chmod 600 etc/shadow; mkdir -p tmp/a/b/c; touch root; ln -s /x sym; rm bin/ls
            """), shell=True, check=True, cwd=m)
    got = archive.changes(str(upper), [str(lower)])
    assert got == [
        Change("C", "/bin"), Change("D", "/bin/ls"),
        Change("C", "/etc"), Change("D", "/etc/group"), Change("C", "/etc/passwd"),
        Change("C", "/home"), Change("A", "/home/u"),
        Change("A", "/newdir"), Change("A", "/newdir/sub"), Change("A", "/newdir/sub/f"),
        Change("A", "/newfile"), Change("A", "/sym"),
        Change("C", "/tmp"), Change("A", "/tmp/a"), Change("A", "/tmp/a/b"), Change("A", "/tmp/a/b/c"),
        Change("C", "/usr"), Change("A", "/usr/q"), Change("D", "/usr/sbin"),
        Change("C", "/var"), Change("D", "/var/spool"),
    ]


def test_changes_over_several_lowers(tmp_path):
    l1, l2, upper = tmp_path / "l1", tmp_path / "l2", tmp_path / "upper"
    apply(mktar(entry("a", "d"), entry("a/x", data=b"1"), entry("a/y", data=b"2"), entry("b", data=b"b")), l1)
    apply(mktar(entry(".wh.b", data=b""), entry("a", "d"), entry("a/.wh.x", data=b""), entry("c", data=b"c")), l2)
    upper.mkdir()
    with overlay(tmp_path, [l2, l1], upper) as m:
        (m / "a/y").unlink()
        (m / "b").write_text("back")  # hidden by l2, so new
        (m / "c").chmod(0o600)
    assert archive.changes(str(upper), [str(l2), str(l1)]) == [
        Change("C", "/a"), Change("D", "/a/y"), Change("A", "/b"), Change("C", "/c")]


# ---------------------------------------------------------------- hostile tars


def test_dotdot_and_absolute_names_stay_inside(area):
    """dockerd: `../evil`, `a/../../evil` land at /evil; `/etc/evil` at /etc/evil (its chroot contains them)."""
    dest, _ = area
    apply(mktar(entry("../evil", data=b"1"), entry("a/../../../evil2", data=b"2"),
                entry("/etc/evil", data=b"3"), entry("./././ok", data=b"4")), dest)
    assert (dest / "evil").read_bytes() == b"1" and (dest / "evil2").read_bytes() == b"2"
    assert (dest / "etc/evil").read_bytes() == b"3" and (dest / "ok").read_bytes() == b"4"


@pytest.mark.parametrize("target", ["/etc", "../../../../etc", "/../etc"])
def test_symlinked_parent_to_itself_is_refused(area, target):
    """dockerd: `etc -> /etc` then `etc/evil`: "open /etc/evil: too many levels of symbolic links"."""
    dest, _ = area
    with pytest.raises(errdefs.InvalidArgument, match="open /etc/evil: too many levels of symbolic links"):
        apply(mktar(entry("etc", "l", linkname=target), entry("etc/evil", data=b"x")), dest)


def test_symlinked_parents_resolve_inside_dest(area):
    """dockerd: `lnk -> /d` then `lnk/evil` writes /d/evil; `up -> ../../..` then `up/evil` writes /evil."""
    dest, host = area
    apply(mktar(entry("d", "d"), entry("lnk", "l", linkname="/d"), entry("lnk/evil", data=b"1"),
                entry("up", "l", linkname="../../../../.."), entry("up/evil", data=b"2"),
                entry("hostdir", "l", linkname=str(host)), entry(str(host).lstrip("/"), "d"),
                entry("hostdir/passwd", data=b"pwned")), dest)
    assert (dest / "d/evil").read_bytes() == b"1"
    assert (dest / "evil").read_bytes() == b"2"
    assert (dest / str(host).lstrip("/") / "passwd").read_bytes() == b"pwned"


def test_symlink_to_missing_host_dir_is_refused(area):
    dest, host = area
    with pytest.raises(errdefs.InvalidArgument, match="no such file or directory"):
        apply(mktar(entry("hostdir", "l", linkname=str(host)), entry("hostdir/new", data=b"x")), dest)


def test_existing_symlink_is_replaced_not_followed(area):
    dest, host = area
    os.symlink(host / "passwd", dest / "passwd")
    os.symlink(host, dest / "dir")
    apply(mktar(entry("passwd", data=b"mine"), entry("dir", "d"), entry("dir/f", data=b"f")), dest)
    assert not (dest / "passwd").is_symlink() and (dest / "passwd").read_bytes() == b"mine"
    assert not (dest / "dir").is_symlink() and (dest / "dir/f").read_bytes() == b"f"


def test_symlink_swap_within_one_layer(area):
    """A directory, then the same path as a symlink (spelled /a to dodge the duplicate check), then a/evil."""
    dest, host = area
    data = mktar(entry("a", "d"), entry("a/x", data=b"x"), entry("/a", "l", linkname=str(host)),
                 entry("./a/evil", data=b"evil"))
    with pytest.raises(errdefs.InvalidArgument, match="no such file or directory"):
        apply(data, dest)
    assert os.readlink(dest / "a") == str(host)
    data = mktar(entry("b", "d"), entry("b/x", data=b"x"), entry("/b", "l", linkname="/c"), entry("c", "d"),
                 entry("./b/evil", data=b"evil"))
    apply(data, dest)
    assert (dest / "c/evil").read_bytes() == b"evil" and not (dest / "c/x").exists()


@pytest.mark.parametrize("linkname,message", [
    ("/etc/passwd", "link /etc/passwd /passwd: no such file or directory"),       # dockerd: same message
    ("../../etc/passwd", "link /etc/passwd /passwd: no such file or directory"),  # dockerd: same message
    ("hostdir/passwd", "link /hostdir/passwd /passwd: no such file or directory"),
])
def test_hardlinks_outside_are_refused(area, linkname, message):
    dest, host = area
    data = mktar(entry("hostdir", "l", linkname=str(host)), entry("passwd", "h", linkname=linkname))
    with pytest.raises(errdefs.InvalidArgument, match=message):
        apply(data, dest)
    assert os.lstat(host / "passwd").st_nlink == 1


def test_hardlink_through_self_symlink_is_refused(area):
    """dockerd: `etc -> /etc`, hard link to etc/passwd: "link /etc/passwd /passwd: too many levels of symbolic links"."""
    dest, _ = area
    with pytest.raises(errdefs.InvalidArgument, match="too many levels of symbolic links"):
        apply(mktar(entry("etc", "l", linkname="/etc"), entry("passwd", "h", linkname="etc/passwd")), dest)


def test_hardlinks_inside_the_layer(area):
    """dockerd accepts absolute link names that exist in the layer; links to a symlink link the symlink."""
    dest, _ = area
    res = apply(mktar(entry("etc/passwd", data=b"12345"), entry("passwd", "h", linkname="/etc/passwd"),
                      entry("lnk", "l", linkname="/etc/passwd"), entry("h", "h", linkname="lnk"),
                      entry("c", "l", linkname="etc"), entry("via", "h", linkname="c/passwd")), dest)
    assert os.lstat(dest / "passwd").st_ino == os.lstat(dest / "etc/passwd").st_ino == os.lstat(dest / "via").st_ino
    assert os.path.islink(dest / "h") and os.lstat(dest / "h").st_ino == os.lstat(dest / "lnk").st_ino
    assert res.size == 5 + len("/etc/passwd") + len("etc")  # each inode once, as docker counts


def test_hardlink_to_directory_is_refused(area):
    dest, _ = area
    with pytest.raises(errdefs.InvalidArgument, match="link /d /h: operation not permitted"):
        apply(mktar(entry("d", "d"), entry("h", "h", linkname="d")), dest)


@pytest.mark.parametrize("entries", [
    [entry("f", data=b"1"), entry("f", data=b"2")],
    [entry("d", "d"), entry("./d/", "d")],
    [entry("d", "d"), entry("d/x", data=b"x"), entry("d", data=b"file")],
])
def test_duplicate_paths_are_refused(area, entries):
    """dockerd (tar-split): "duplicates of file paths not supported"."""
    dest, _ = area
    with pytest.raises(errdefs.InvalidArgument, match="duplicates of file paths not supported"):
        apply(mktar(*entries), dest)


def test_whiteout_edge_cases(area):
    dest, _ = area
    with pytest.raises(errdefs.InvalidArgument, match="file exists"):  # dockerd: mknod ... file exists
        apply(mktar(entry("x", data=b"x"), entry(".wh.x", data=b"")), dest / "a")
    with pytest.raises(errdefs.InvalidArgument, match="mknod /a: file exists"):  # an implicit parent: same
        apply(mktar(entry("a/b/file", data=b"x"), entry(".wh.a", data=b"")), dest / "a2")
    apply(mktar(entry(".wh.y", data=b""), entry("y", data=b"y")), dest / "b")  # dockerd: y wins
    assert (dest / "b/y").read_bytes() == b"y"
    for bad in (".wh...", "d/.wh..", ".wh."):
        with pytest.raises(errdefs.InvalidArgument, match="invalid whiteout"):
            apply(mktar(entry(bad, data=b"")), dest / "c")
    apply(mktar(entry(".wh..wh..opq", data=b"")), dest / "d")  # opaque layer root
    assert os.getxattr(dest / "d", "trusted.overlay.opaque") == b"y"
    # a layer cannot set overlayfs' own xattrs directly
    apply(mktar(entry("e", "d", pax_headers={"SCHILY.xattr.trusted.overlay.redirect": "/etc"})), dest / "e")
    assert "trusted.overlay.redirect" not in os.listxattr(dest / "e/e")


def test_root_entries_are_ignored(area):
    dest, _ = area
    os.chmod(dest, 0o711)
    apply(mktar(entry(".", "d", mode=0o777), entry("/", "d", mode=0o777), entry("f", data=b"f")), dest)
    assert stat.S_IMODE(os.lstat(dest).st_mode) == 0o711


@pytest.mark.parametrize("data,message", [
    (mktar(entry("f", data=b"x" * 1000))[:1024], "unexpected EOF"),
    (b"x" * 512, "invalid tar header"),
    (bytes(512) + b"y" * 512, "invalid tar header"),
])
def test_malformed_tars(tmp_path, data, message):
    with pytest.raises(errdefs.InvalidArgument, match=message):
        apply(data, tmp_path / "l")


def test_empty_stream_and_trailing_bytes_count_in_diff_id(tmp_path):
    assert apply(b"", tmp_path / "a").diff_id == sha(b"")
    data = mktar(entry("f", data=b"1"), trailer=b"\0" * 4096 + b"junk")
    assert apply(data, tmp_path / "b").diff_id == sha(data)


# ---------------------------------------------------------------- compression


@pytest.fixture(params=["external", "in-process"])
def gzip_mode(request, monkeypatch):
    monkeypatch.setattr(archive, "GZIP_COMMANDS", [["gzip", "-dc"]] if request.param == "external" else [])
    return request.param


def test_gzip_input(tmp_path, gzip_mode):
    data = busybox_tar()
    gz = gzip.compress(data[:300_000]) + gzip.compress(data[300_000:])  # two members, like pigz can write
    res = apply(gz, tmp_path / "l")
    assert (res.diff_id, res.compressed_digest, res.compression) == (sha(data), sha(gz), "gzip")
    assert (tmp_path / "l/etc/passwd").read_text() == busyboxroot.PASSWD


@pytest.mark.parametrize("damage", ["truncate", "corrupt"])
def test_bad_gzip_is_refused(tmp_path, gzip_mode, damage):
    gz = gzip.compress(busybox_tar())
    gz = gz[: len(gz) // 2] if damage == "truncate" else gz[:5000] + bytes(200) + gz[5200:]
    with pytest.raises(errdefs.InvalidArgument):
        apply(gz, tmp_path / "l")


def test_zstd_bzip2_xz_input(tmp_path):
    data = mktar(entry("d", "d"), entry("d/f", data=os.urandom(100_000)))
    for tool in ("bzip2", "xz", "zstd"):
        packed = subprocess.run([tool, "-c"], input=data, capture_output=True, check=True).stdout
        res = apply(packed, tmp_path / tool)
        assert (res.diff_id, res.compressed_digest, res.compression) == (sha(data), sha(packed), tool)


def test_plain_tar_whose_first_name_looks_like_a_magic_number(tmp_path):
    data = mktar(entry("BZh91AY&SY", data=b"not bzip2"), entry("\x1f\x8b", data=b"not gzip"))
    res = apply(data, tmp_path / "l")
    assert res.compression is None and (tmp_path / "l/BZh91AY&SY").read_bytes() == b"not bzip2"


def test_reads_from_a_pipe(tmp_path):
    data = busybox_tar()
    (tmp_path / "layer.gz").write_bytes(gzip.compress(data))
    proc = subprocess.Popen(["cat", str(tmp_path / "layer.gz")], stdout=subprocess.PIPE)
    try:
        res = archive.apply_layer(proc.stdout, str(tmp_path))
    finally:
        proc.stdout.close()
        proc.wait()
    assert res.diff_id == sha(data)


# ---------------------------------------------------------------- big files


BIG_SCRIPT = r"""
import hashlib, io, resource, sys, tarfile
from dockyard.image import archive

SIZE = 200 << 20

class Stream(io.RawIOBase):
    '''A 200 MiB one-file tar made on the fly: mostly zeros, every 7th MiB pseudo-random.'''
    def __init__(self):
        ti = tarfile.TarInfo("big.bin"); ti.size = SIZE
        self.head = ti.tobuf(tarfile.PAX_FORMAT)
        self.pos = 0
        self.total = len(self.head) + SIZE + 1024
        self.hash = hashlib.sha256()
    def readable(self): return True
    def readinto(self, b):
        h = len(self.head)
        if self.pos < h:
            chunk = self.head[self.pos:self.pos + len(b)]
        elif self.pos < h + SIZE:
            q = self.pos - h
            n = min(len(b), SIZE - q, 1 << 16)
            if (q >> 20) % 7 == 0:
                chunk = (hashlib.sha512(q.to_bytes(8, "little")).digest() * (n // 64 + 1))[:n]
            else:
                chunk = bytes(n)
        else:
            chunk = bytes(min(len(b), self.total - self.pos))
        n = len(chunk)
        b[:n] = chunk
        self.hash.update(chunk)
        self.pos += n
        return n

before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
s = Stream()
res = archive.apply_layer(io.BufferedReader(s, 1 << 16), sys.argv[1])
after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
assert res.diff_id == "sha256:" + s.hash.hexdigest(), res
print(before, after, res.size)
"""


def test_big_file_streams_in_bounded_memory(tmp_path):
    dest = tmp_path / "l"
    dest.mkdir()
    r = subprocess.run([sys.executable, "-c", BIG_SCRIPT, str(dest)], capture_output=True, text=True,
                       env=dict(os.environ, PYTHONPATH=str(Path(archive.__file__).parents[2])))
    assert r.returncode == 0, r.stderr
    before_kib, after_kib, size = map(int, r.stdout.split())
    assert size == 200 << 20
    assert os.path.getsize(dest / "big.bin") == 200 << 20
    assert after_kib - before_kib < 40 * 1024, f"peak RSS grew by {(after_kib - before_kib) // 1024} MiB"


# ---------------------------------------------------------------- export


def test_export_tree_format(tmp_path):
    root = tmp_path / "rootfs"
    apply(mktar(entry("bin", "d"), entry("bin/sh", data=b"sh", mode=0o755), entry("bin/ash", "h", linkname="bin/sh"),
                entry("etc", "d"), entry(".wh.gone", data=b""), entry("proc", "d")), root)
    (root / ".dockerenv").touch(mode=0o755)
    os.setxattr(root / "etc", "user.x", b"1")
    subprocess.run(["mount", "-t", "tmpfs", "tmpfs", str(root / "proc")], check=True)
    try:
        (root / "proc" / "inside-another-mount").write_text("no")
        out = io.BytesIO()
        archive.export_tree(str(root), out)
    finally:
        subprocess.run(["umount", str(root / "proc")], check=True)
    raw = out.getvalue()
    assert raw[:10] == b".dockerenv" and raw.endswith(bytes(1024))
    with tarfile.open(fileobj=io.BytesIO(raw)) as t:
        got = [(m.name + ("/" if m.isdir() else ""), m.type) for m in t.getmembers()]
        assert got == [(".dockerenv", b"0"), ("bin/", b"5"), ("bin/ash", b"0"), ("bin/sh", b"1"),
                       ("etc/", b"5"), ("gone", b"3"), ("proc/", b"5")]
        assert t.getmember("etc").pax_headers["SCHILY.xattr.user.x"] == "1"
    assert b"bin/\0" in raw  # directories named with a trailing slash, as docker writes them
    assert b"0100755\0" in raw  # and modes carrying the file type bits, as Go's archive/tar does


def test_write_diff_refuses_missing_dir(tmp_path):
    with pytest.raises(errdefs.NotFound):
        archive.write_diff(str(tmp_path / "nope"), io.BytesIO())
    with pytest.raises(errdefs.NotFound):
        archive.apply_layer(io.BytesIO(b""), str(tmp_path / "nope"))


def test_gnu_tar_long_names_apply(tmp_path):
    src = tmp_path / "src"
    long = "n" * 150 + "/" + "m" * 150
    (src / long).parent.mkdir(parents=True)
    (src / long).write_text("long")
    os.symlink("t" * 200, src / "sym")
    data = subprocess.run(["tar", "--format=gnu", "-cf", "-", "-C", str(src), "."], capture_output=True,
                          check=True).stdout
    res = apply(data, tmp_path / "l")
    assert (tmp_path / "l" / long).read_text() == "long"
    assert os.readlink(tmp_path / "l/sym") == "t" * 200
    assert res.diff_id == sha(data)


def test_pax_headers_are_named_as_go_names_them(tmp_path):
    """Go's archive/tar names an entry's PAX header ``path.Join(path.Split(name))`` made ASCII:
    ``dir/PaxHeaders.0/file`` for a file, ``dir/PaxHeaders.0`` for a directory (``dir/``)."""
    upper = tmp_path / "upper"
    (upper / "dé").mkdir(parents=True)
    (upper / "dé" / "fé").write_bytes(b"x")
    out = io.BytesIO()
    archive.write_diff(str(upper), out)
    data = out.getvalue()
    pax_names = {}
    pos = 0
    while pos + 512 <= len(data) and data[pos:pos + 512] != bytes(512):
        h = data[pos:pos + 512]
        size = int(h[124:136].rstrip(b"\0 ") or b"0", 8)
        if h[156:157] == b"x":
            recs = data[pos + 512:pos + 512 + size]
            path = [r.split(b"=", 1)[1] for r in recs.split(b"\n") if b" path=" in r][0]
            pax_names[path.decode()] = h[:100].rstrip(b"\0").decode()
        pos += 512 + -(-size // 512) * 512
    assert pax_names == {"dé/": "d/PaxHeaders.0", "dé/fé": "d/PaxHeaders.0/f"}
