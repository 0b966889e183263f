"""``docker cp`` and the archive API (``HEAD|GET|PUT /containers/{id}/archive``), both CLIs.

Every test runs against the engine under test with the dockyard CLI and the real docker CLI side
by side, and asserts what dockerd 20.10 does: run it with
``DOCKYARD_TEST_HOST=unix:///tmp/refdocker/docker.sock`` to check the assertions against Docker
(all pass there: 20.10 extracts and archives in a chroot of the container, so the escape tests
hold for it too).

The safety tests put a marker directory on the host and assert it is untouched after each attack:
symlinks out of the container (absolute, ``../../..``), tar entries that climb, and the
CVE-2018-15664 race (a directory swapped for a symlink while copies run).
"""

from __future__ import annotations

import base64
import hashlib
import io
import json
import os
import stat
import tarfile
import time
import uuid
from pathlib import Path

import pytest

from tests.helpers import request, tar_of

BUSYBOX_SETUP = ("mkdir -p /d/sub /e; echo hi > /d/f; echo x > /d/sub/g; ln -s /etc /d/lnk; ln -s f /d/rel; "
                 "ln /d/f /d/hard; chmod 4751 /d/sub/g; echo e > /e/file")


@pytest.fixture
def cleanup(engine):
    names: list[str] = []
    yield names
    if names:
        engine.cli("rm", "-f", *names, timeout=120)


def start(engine, cleanup, *cmd: str, extra: tuple = (), running: bool = True) -> str:
    name = f"cp-{uuid.uuid4().hex[:10]}"
    cleanup.append(name)
    script = BUSYBOX_SETUP + "; " + (" ".join(cmd) if cmd else "sleep 1000")
    if running:
        r = engine.cli("run", "-d", "--name", name, *extra, "busybox", "sh", "-c", script)
        assert r.returncode == 0, r.stderr
        wait(lambda: engine.cli("exec", name, "test", "-e", "/e/file").returncode == 0, "setup")
    else:
        r = engine.cli("create", "--name", name, *extra, "busybox", "sh", "-c", "sleep 1000")
        assert r.returncode == 0, r.stderr
    return name


def wait(fn, what: str, timeout: float = 20.0):
    deadline = time.monotonic() + timeout
    while not fn():
        if time.monotonic() > deadline:
            pytest.fail(f"timed out waiting for {what}")
        time.sleep(0.05)


def tree(root: Path) -> list[tuple]:
    """(path, type and mode, content digest or link target) of everything under ``root``."""
    out = []
    for dp, dns, fns in os.walk(root):
        for n in dns + fns:
            p = os.path.join(dp, n)
            st = os.lstat(p)
            if stat.S_ISREG(st.st_mode):
                extra = hashlib.sha256(open(p, "rb").read()).hexdigest()[:12]
            elif stat.S_ISLNK(st.st_mode):
                extra = os.readlink(p)
            else:
                extra = ""
            out.append((os.path.relpath(p, root), oct(st.st_mode), extra))
    return sorted(out)


def both(engine, tmp_path: Path, *args: str, setup=None):
    """Run ``cp ARGS`` with the dockyard CLI and the docker CLI, each in its own local directory
    (``{L}`` in an argument stands for it); (result of dockyard, result of docker, their dirs)."""
    results = []
    for who in ("dockyard", "docker"):
        local = tmp_path / who
        if not local.exists():
            local.mkdir()
            if setup:
                setup(local)
        argv = [a.replace("{L}", str(local)) for a in args]
        run = engine.cli if who == "dockyard" else engine.docker
        r = run("cp", *argv)
        results.append((r, local))
    (a, la), (b, lb) = results
    err_a = a.stderr.replace(str(la), "{L}")
    # docker's own tar writer logs a "level=error" line when the copy stops early: not part of the answer
    err_b = "".join(line + "\n" for line in b.stderr.replace(str(lb), "{L}").splitlines()
                    if "level=error" not in line)
    assert (a.returncode, a.stdout, err_a) == (b.returncode, b.stdout, err_b), args
    return a, err_a, la, lb


def local_files(local: Path) -> None:
    (local / "exist").mkdir()
    (local / "file").write_text("f\n")
    (local / "srcd" / "sub").mkdir(parents=True)
    (local / "srcd" / "one").write_text("1")
    (local / "srcd" / "sub" / "two").write_text("2")
    os.symlink("file", local / "flink")
    os.symlink("srcd", local / "dlink")


def ctr_listing(engine, ctr: str, *paths: str) -> str:
    r = engine.cli("exec", ctr, "sh", "-c", f"cd / && find {' '.join(paths)} | sort | "
                   "while read p; do stat -c '%n %A %u %g %s %N' \"$p\"; done")
    assert r.returncode == 0, r.stderr
    return r.stdout


def stat_header(resp) -> dict:
    return json.loads(base64.b64decode(resp.getheader("X-Docker-Container-Path-Stat")))


# ---------------------------------------------------------------- out of a container


@pytest.mark.parametrize("args, rc, err", [
    (("CTR:/d/f", "{L}/exist"), 0, ""),                 # a file into an existing directory
    (("CTR:/d/f", "{L}/newname"), 0, ""),               # a file to a new name
    (("CTR:/d", "{L}/newdir"), 0, ""),                  # a directory to a new name
    (("CTR:/d/.", "{L}/exist"), 0, ""),                 # a directory's contents
    (("CTR:/d", "{L}/missing2/"), 0, ""),               # a directory to a new name given with a slash
    (("CTR:/d/f", "{L}/missing/"), 1, "no such directory\n"),
    (("CTR:/d", "{L}/file"), 1, "cannot copy directory\n"),
    (("CTR:/d/f", "{L}/file/"), 1, "stat {L}/file/: not a directory\n"),
    (("CTR:/d/f", "{L}/nodir/sub/x"), 1, 'invalid output path: directory "{L}/nodir/sub" does not exist\n'),
    (("CTR:/nope", "{L}/x"), 1, "Error: No such container:path: CTR:/nope\n"),
    (("CTR:/d/lnk", "{L}/lnkcopy"), 0, ""),             # a symlink is copied as a symlink
    (("-L", "CTR:/d/lnk", "{L}/lnkcopyL"), 0, ""),      # -L: what it points to, named after it
    (("-L", "CTR:/d/rel", "{L}/relL"), 0, ""),
    (("CTR:d/f", "{L}/relative"), 0, ""),               # a relative container path starts at /
    (("CTR:/d/sub/g", "{L}/exist"), 0, ""),
])
def test_cp_out_of_a_running_container(engine, cleanup, tmp_path, args, rc, err):
    ctr = start(engine, cleanup)
    argv = [a.replace("CTR", ctr) for a in args]
    r, shown_err, la, lb = both(engine, tmp_path, *argv, setup=local_files)
    assert (r.returncode, shown_err) == (rc, err.replace("CTR", ctr))
    assert tree(la) == tree(lb)


def test_cp_out_results(engine, cleanup, tmp_path):
    ctr = start(engine, cleanup)
    local = tmp_path / "out"
    local.mkdir()
    for args in (("CTR:/d", "newdir"), ("CTR:/d/.", "dot"), ("CTR:/d/f", "named"), ("-L", "CTR:/d/lnk", "etc")):
        r = engine.cli("cp", *[a.replace("CTR", ctr) for a in args[:-1]], str(local / args[-1]))
        assert (r.returncode, r.stdout, r.stderr) == (0, "", ""), args
    assert sorted(os.listdir(local / "newdir")) == ["f", "hard", "lnk", "rel", "sub"]
    assert sorted(os.listdir(local / "dot")) == ["f", "hard", "lnk", "rel", "sub"]
    assert os.readlink(local / "newdir" / "lnk") == "/etc"          # never followed out
    assert os.stat(local / "newdir" / "f").st_ino == os.stat(local / "newdir" / "hard").st_ino
    assert stat.S_IMODE(os.stat(local / "newdir" / "sub" / "g").st_mode) == 0o4751
    assert (local / "named").read_text() == "hi\n"
    assert (local / "etc" / "passwd").read_text().startswith("root:")
    assert os.stat(local / "newdir" / "f").st_uid == os.getuid()     # docker cp never chowns locally


def test_cp_out_to_stdout_is_the_daemons_tar(engine, cleanup):
    ctr = start(engine, cleanup)
    for run in (engine.cli, engine.docker):
        r = run("cp", f"{ctr}:/d", "-", input=b"")
        assert r.returncode == 0, r.stderr
        names = [m.name for m in tarfile.open(fileobj=io.BytesIO(r.stdout))]
        assert names == ["d", "d/f", "d/hard", "d/lnk", "d/rel", "d/sub", "d/sub/g"]
        r = run("cp", f"{ctr}:/d/.", "-", input=b"")
        assert [m.name for m in tarfile.open(fileobj=io.BytesIO(r.stdout))][:2] == [".", "./f"]


# ---------------------------------------------------------------- into a container


@pytest.mark.parametrize("args, rc, err", [
    (("{L}/file", "CTR:/tmp/"), 0, ""),
    (("{L}/file", "CTR:/tmp/newf"), 0, ""),
    (("{L}/srcd", "CTR:/tmp/newd"), 0, ""),
    (("{L}/srcd/.", "CTR:/tmp/newd2"), 0, ""),
    (("{L}/file", "CTR:/d/lnk"), 0, ""),                 # a symlink destination is followed
    (("{L}/file", "CTR:/d/rel"), 0, ""),
    (("-L", "{L}/flink", "CTR:/tmp/"), 0, ""),
    (("{L}/flink", "CTR:/tmp/"), 0, ""),
    (("{L}/dlink/", "CTR:/tmp/dl1"), 0, ""),
    (("-L", "{L}/dlink", "CTR:/tmp/dl2"), 0, ""),
    (("{L}/file", "CTR:tmp"), 0, ""),
    (("{L}/file", "CTR:/tmp/nodir/"), 1, "no such directory\n"),
    (("{L}/file", "CTR:/nodir/x"), 1, "Error: No such container:path: CTR:/nodir\n"),
    (("{L}/srcd", "CTR:/d/f"), 1, "cannot copy directory\n"),
    (("{L}/nosuchfile", "CTR:/tmp"), 1, "lstat {L}/nosuchfile: no such file or directory\n"),
    (("{L}/file", "CTR:/e/file/x"), 1, None),
    (("{L}/file", "nosuchctr:/tmp"), 1, "Error: No such container:path: nosuchctr:/\n"),
    (("a", "b"), 1, "must specify at least one container source\n"),
    (("CTR:/a", "CTR:/b"), 1, "copying between containers is not supported\n"),
])
def test_cp_into_a_running_container(engine, cleanup, tmp_path, args, rc, err):
    ctrs = [start(engine, cleanup), start(engine, cleanup)]
    results = []
    for run, ctr, who in ((engine.cli, ctrs[0], "dockyard"), (engine.docker, ctrs[1], "docker")):
        local = tmp_path / who
        local.mkdir()
        local_files(local)
        r = run("cp", *[a.replace("CTR", ctr).replace("{L}", str(local)) for a in args])
        shown = "".join(line + "\n" for line in r.stderr.replace(str(local), "{L}").replace(ctr, "CTR")
                        .splitlines() if "level=error" not in line)
        results.append((r.returncode, r.stdout, shown))
    assert results[0] == results[1]
    assert results[0][0] == rc
    if err is not None:
        assert results[0][2] == err
    assert ctr_listing(engine, ctrs[0], "tmp", "d", "e", "etc") == ctr_listing(engine, ctrs[1], "tmp", "d", "e", "etc")


def test_cp_into_results_and_owners(engine, cleanup, tmp_path):
    ctr = start(engine, cleanup)
    src = tmp_path / "owned"
    src.mkdir()
    (src / "a").write_text("a\n")
    os.chown(src / "a", 1234, 4321)
    os.chmod(src / "a", 0o4750)  # after the chown, which clears setuid
    os.chown(src, 1234, 4321)
    for flags, dest in (((), "/tmp/plain"), (("-a",), "/tmp/arch")):
        r = engine.cli("cp", *flags, str(src), f"{ctr}:{dest}")
        assert (r.returncode, r.stdout, r.stderr) == (0, "", "")
    out = engine.cli("exec", ctr, "stat", "-c", "%n %a %u %g", "/tmp/plain", "/tmp/plain/a", "/tmp/arch/a").stdout
    # dockerd keeps the tar's owners (the CLI's tar carries the local ones) with or without -a
    assert out == "/tmp/plain 755 1234 4321\n/tmp/plain/a 4750 1234 4321\n/tmp/arch/a 4750 1234 4321\n"
    r = engine.cli("cp", str(tmp_path / "owned" / "a"), f"{ctr}:/d/lnk")   # through the link: /etc/a
    assert r.returncode == 0, r.stderr
    assert engine.cli("exec", ctr, "cat", "/etc/a").stdout == "a\n"


def test_cp_tar_from_stdin(engine, cleanup):
    ctr = start(engine, cleanup)
    ti = tarfile.TarInfo("fromstdin/x")
    data = tar_of([(ti, b"stdin data")])
    for run in (engine.cli, engine.docker):
        r = run("cp", "-", f"{ctr}:/tmp", input=data)
        assert (r.returncode, r.stderr) == (0, b"")
        r = run("cp", "-", f"{ctr}:/d/f", input=data)
        assert (r.returncode, r.stderr) == (1, f'destination "{ctr}:/d/f" must be a directory\n'.encode())
    assert engine.cli("exec", ctr, "cat", "/tmp/fromstdin/x").stdout == "stdin data"


def test_cp_overwrite_rules(engine, cleanup, tmp_path):
    ctr = start(engine, cleanup)
    (tmp_path / "etc").write_text("not a dir")
    for run in (engine.cli, engine.docker):
        r = run("cp", str(tmp_path / "etc"), f"{ctr}:/")
        assert r.returncode == 1
        assert r.stderr.splitlines()[-1] == ('Error response from daemon: Error processing tar file(exit status 1): '
                                             'cannot overwrite directory "/etc" with non-directory "/"')
    local = tmp_path / "out"
    (local / "f").mkdir(parents=True)
    r = engine.cli("cp", f"{ctr}:/d/f", str(local))
    assert (r.returncode, r.stderr) == (1, f'cannot overwrite directory "{local}/f" with non-directory "{local}"\n')


def test_cp_stopped_container_both_ways(engine, cleanup, tmp_path):
    ctr = start(engine, cleanup, running=False)
    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "x").write_text("x\n")
    for run in (engine.cli, engine.docker):
        r = run("cp", str(tmp_path / "in"), f"{ctr}:/tmp/in")
        assert (r.returncode, r.stderr) == (0, "")
    out = tmp_path / "out"
    r = engine.cli("cp", f"{ctr}:/tmp/in", str(out))
    assert (r.returncode, r.stderr) == (0, "")
    assert (out / "x").read_text() == "x\n"
    r = engine.docker("cp", f"{ctr}:/etc/passwd", str(tmp_path / "passwd"))
    assert r.returncode == 0 and (tmp_path / "passwd").read_text().startswith("root:")
    r = engine.cli("cp", f"{ctr}:/nope", str(tmp_path / "nope"))
    assert (r.returncode, r.stderr) == (1, f"Error: No such container:path: {ctr}:/nope\n")
    assert engine.cli("start", ctr).returncode == 0
    assert engine.cli("exec", ctr, "cat", "/tmp/in/x").stdout == "x\n"


def test_cp_big_file_integrity(engine, cleanup, tmp_path):
    ctr = start(engine, cleanup)
    big = tmp_path / "big.bin"
    data = os.urandom(1 << 20) * 24 + os.urandom(12345)
    big.write_bytes(data)
    want = hashlib.sha256(data).hexdigest()
    r = engine.cli("cp", str(big), f"{ctr}:/tmp/big.bin")
    assert (r.returncode, r.stderr) == (0, "")
    assert engine.cli("exec", ctr, "sha256sum", "/tmp/big.bin").stdout.split()[0] == want
    for run, name in ((engine.cli, "back1"), (engine.docker, "back2")):
        r = run("cp", f"{ctr}:/tmp/big.bin", str(tmp_path / name))
        assert (r.returncode, r.stderr) == (0, "")
        assert hashlib.sha256((tmp_path / name).read_bytes()).hexdigest() == want


def test_cp_read_only_rootfs_and_volumes(engine, cleanup, tmp_path):
    vol = tmp_path / "vol"
    vol.mkdir()
    name = f"cp-{uuid.uuid4().hex[:10]}"
    cleanup.append(name)
    r = engine.cli("run", "-d", "--name", name, "--read-only", "-v", f"{vol}:/vol", "-v", f"{vol}:/rovol:ro",
                   "--tmpfs", "/run", "busybox", "sleep", "1000")
    assert r.returncode == 0, r.stderr
    (tmp_path / "f").write_text("f")
    for run in (engine.cli, engine.docker):
        for dest, err in (("/tmp/", "container rootfs is marked read-only"), ("/run/", "container rootfs is marked read-only"),
                          ("/rovol/", "mounted volume is marked read-only"), ("/vol/", None)):
            r = run("cp", str(tmp_path / "f"), f"{name}:{dest}")
            if err is None:
                assert (r.returncode, r.stderr) == (0, "")
            else:
                assert (r.returncode, r.stderr.splitlines()[-1]) == (1, f"Error response from daemon: {err}")
    assert (vol / "f").read_text() == "f"


# ---------------------------------------------------------------- the API


def test_archive_api_stat_and_errors(engine, cleanup):
    ctr = start(engine, cleanup)
    sock = engine.socket
    url = f"/v1.41/containers/{ctr}/archive?path="
    cases = {
        "/d": {"name": "d", "mode": 0x80000000 | 0o755, "linkTarget": ""},
        "/d/": {"name": "d", "mode": 0x80000000 | 0o755, "linkTarget": ""},
        "/d/.": {"name": ".", "mode": 0x80000000 | 0o755, "linkTarget": ""},
        "/d/f": {"name": "f", "size": 3, "mode": 0o644, "linkTarget": ""},
        "/d/lnk": {"name": "lnk", "size": 4, "mode": 0x8000000 | 0o777, "linkTarget": "/etc"},
        "/d/rel": {"name": "rel", "size": 1, "mode": 0x8000000 | 0o777, "linkTarget": "/d/f"},
        "/d/lnk/": {"name": "lnk", "mode": 0x80000000 | 0o755, "linkTarget": ""},
        "/d/sub/g": {"name": "g", "mode": 0x800000 | 0o751},
        "/tmp": {"name": "tmp", "mode": 0x80000000 | 0x100000 | 0o777},
        "/": {"name": "/", "mode": 0x80000000 | 0o755},
        "/d/..": {"name": "/"},
        "d/f": {"name": "f"},
    }
    for path, want in cases.items():
        for method in ("HEAD", "GET"):
            status, resp, body = request(sock, method, url + path, timeout=120)
            assert status == 200, (path, method, body)
            got = stat_header(resp)
            assert list(got) == ["name", "size", "mode", "mtime", "linkTarget"]
            assert {k: got[k] for k in want} == want, (path, got)
            if method == "GET":
                assert resp.getheader("Content-Type") == "application/x-tar"
    status, resp, body = request(sock, "GET", url + "/nope")
    assert (status, body) == (404, {"message": f"Could not find the file /nope in container {ctr}"})
    status, resp, body = request(sock, "HEAD", url + "/nope")
    assert (status, body) == (404, b"")
    status, resp, body = request(sock, "GET", url)
    assert (status, body) == (400, {"message": "bad parameter: pathcannot be empty"})
    status, resp, body = request(sock, "GET", "/v1.41/containers/nosuchctr/archive?path=/")
    assert (status, body) == (404, {"message": "No such container: nosuchctr"})
    status, resp, body = request(sock, "GET", url + "/d/f/")
    assert status == 500 and body["message"].endswith("/d/f/: not a directory")
    for path, status_want, msg in (("/nope", 404, f"Could not find the file /nope in container {ctr}"),
                                   ("/d/f", 500, "extraction point is not a directory"),
                                   ("", 400, "bad parameter: pathcannot be empty")):
        status, resp, body = request(sock, "PUT", url + path, body=tar_of([]),
                                     headers={"Content-Type": "application/x-tar"})
        assert (status, body) == (status_want, {"message": msg})


def _golden_tar() -> bytes:
    """Entries exercising every header form: owners without names, a hard link, a huge uid (PAX),
    a setuid file, long names (USTAR prefix and PAX path), a FIFO, a pre-1970 mtime, a non-ASCII
    name, a capability xattr."""
    buf = io.BytesIO()
    tf = tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT)

    def add(name, typ, data=b"", mode=0o644, uid=0, gid=0, link="", mtime=1600000000, pax=None):
        ti = tarfile.TarInfo(name)
        ti.type, ti.mode, ti.uid, ti.gid, ti.linkname, ti.mtime, ti.size = typ, mode, uid, gid, link, mtime, len(data)
        if pax:
            ti.pax_headers = pax
        tf.addfile(ti, io.BytesIO(data) if typ == tarfile.REGTYPE else None)

    add("x", tarfile.DIRTYPE, mode=0o755, mtime=1500000000)
    add("x/a", tarfile.REGTYPE, b"hello\n", uid=1234, gid=99)
    add("x/b", tarfile.LNKTYPE, link="x/a", uid=1234, gid=99)
    add("x/sym", tarfile.SYMTYPE, link="../etc/passwd", mode=0o777)
    add("x/sub", tarfile.DIRTYPE, mode=0o1750, uid=1, gid=1, mtime=1400000000)
    add("x/sub/" + "L" * 120, tarfile.REGTYPE, b"long", mode=0o4755)
    add("x/sub/" + "d" * 90 + "/" + "e" * 60, tarfile.REGTYPE, b"split")
    add("x/sub/" + "d" * 90, tarfile.DIRTYPE, mode=0o700)
    add("x/big", tarfile.REGTYPE, bytes(range(256)) * 4000, mode=0o600, uid=3000000, gid=5)
    add("x/fifo", tarfile.FIFOTYPE, mode=0o644)
    add("x/neg", tarfile.REGTYPE, b"old", mtime=-100)
    add("x/\u00fctf", tarfile.REGTYPE, b"u")
    add("x/cap", tarfile.REGTYPE, b"c", pax={"SCHILY.xattr.security.capability":
                                              "\x01\x00\x00\x02\x00\x04" + "\x00" * 14})
    tf.close()
    return buf.getvalue()


# sha256 of what dockerd 20.10 (overlay2, busybox) answers for GET /tmp/x after the PUT below
GOLDEN_SHA256 = "84f4e3ee6924e52a6f224e0ffbe2c88c3bd28170d1b2404a6b696719eaaa5063"


@pytest.mark.parametrize("running", [True, False])
def test_archive_bytes_are_dockerds(engine, cleanup, running):
    ctr = start(engine, cleanup, running=running)
    sock = engine.socket
    status, _, body = request(sock, "PUT", f"/v1.41/containers/{ctr}/archive?path=/tmp", body=_golden_tar(),
                              headers={"Content-Type": "application/x-tar"})
    assert status == 200, body
    status, resp, data = request(sock, "GET", f"/v1.41/containers/{ctr}/archive?path=/tmp/x")
    assert status == 200
    assert hashlib.sha256(data).hexdigest() == GOLDEN_SHA256


def test_archive_put_refusals(engine, cleanup):
    ctr = start(engine, cleanup)
    sock = engine.socket

    def put(path, entries, query=""):
        body = tar_of(entries)
        return request(sock, "PUT", f"/v1.41/containers/{ctr}/archive?path={path}{query}", body=body,
                       headers={"Content-Type": "application/x-tar"})

    def ent(name, typ=tarfile.REGTYPE, link=""):
        ti = tarfile.TarInfo(name)
        ti.type, ti.linkname = typ, link
        if typ == tarfile.DIRTYPE:
            ti.mode = 0o755
        return ti, (b"z" if typ == tarfile.REGTYPE else None)

    prefix = "Error processing tar file(exit status 1): "
    for path, entries, query, msg in (
        ("/tmp", [ent("../evil")], "", '"../evil" is outside of "/tmp"'),
        ("/tmp", [ent("a/../../evil")], "", '"../evil" is outside of "/tmp"'),
        ("/tmp", [ent("up", tarfile.SYMTYPE, "../../x")], "", 'invalid symlink "/tmp/up" -> "../../x"'),
        ("/tmp", [ent("hl", tarfile.LNKTYPE, "../etc/passwd")], "", 'invalid hardlink "/etc/passwd" -> "../etc/passwd"'),
        ("/", [ent("etc")], "&noOverwriteDirNonDir=true", 'cannot overwrite directory "/etc" with non-directory "/"'),
        ("/etc", [ent("passwd", tarfile.DIRTYPE)], "&noOverwriteDirNonDir=1",
         'cannot overwrite non-directory "/etc/passwd" with directory "/etc"'),
    ):
        status, _, body = put(path, entries, query)
        assert (status, body) == (500, {"message": prefix + msg}), entries
    status, _, body = put("/d", [ent("f", tarfile.DIRTYPE)], "&noOverwriteDirNonDir=0")
    assert status == 200, body
    status, _, body = put("/tmp", [ent("/abs/evil")])     # absolute names land under the target
    assert status == 200
    assert engine.cli("exec", ctr, "cat", "/tmp/abs/evil").stdout == "z"


def test_archive_events(engine, cleanup, tmp_path):
    ctr = start(engine, cleanup)
    since = str(int(time.time()) - 1)
    (tmp_path / "f").write_text("f")
    assert engine.cli("cp", str(tmp_path / "f"), f"{ctr}:/tmp/").returncode == 0
    assert engine.cli("cp", f"{ctr}:/tmp/f", str(tmp_path / "g")).returncode == 0
    until = str(int(time.time()) + 1)
    r = engine.cli("events", "--since", since, "--until", until, "--filter", f"container={ctr}",
                   "--format", "{{.Action}} {{.Actor.Attributes.name}}")
    actions = r.stdout.splitlines()
    assert f"extract-to-dir {ctr}" in actions and f"archive-path {ctr}" in actions
    assert actions.index(f"extract-to-dir {ctr}") < actions.index(f"archive-path {ctr}")


# ---------------------------------------------------------------- safety: nothing escapes


@pytest.fixture
def host_dir(tmp_path):
    """A host directory with a marker: what an escape would reach. Also made inside containers."""
    d = tmp_path / f"hostside-{uuid.uuid4().hex[:8]}"
    d.mkdir()
    (d / "marker").write_text("HOSTSECRET")
    return d


def assert_untouched(host_dir: Path) -> None:
    assert sorted(os.listdir(host_dir)) == ["marker"]
    assert (host_dir / "marker").read_text() == "HOSTSECRET"


def test_cp_into_symlinks_out_of_the_rootfs_stays_inside(engine, cleanup, tmp_path, host_dir):
    h = str(host_dir)
    ctr = start(engine, cleanup, f"mkdir -p {h}; ln -s {h} /esc; ln -s ../../../../../../../..{h} /esc2;"
                f"mkdir -p /w; ln -s ../../../../../../../.. /w/up; sleep 1000")
    (tmp_path / "evil").write_text("evil")
    for run in (engine.cli, engine.docker):
        for dest in ("/esc/", "/esc2/", "/esc", f"/w/up{h}/", "/esc/../../../../../.." + h + "/"):
            run("cp", str(tmp_path / "evil"), f"{ctr}:{dest}")
            assert_untouched(host_dir)
    sock = engine.socket
    for path in ("/esc", "/esc2", f"/w/up{h}", "/esc/../../../../../.." + h):
        status, _, _ = request(sock, "PUT", f"/v1.41/containers/{ctr}/archive?path={path}",
                               body=tar_of([(tarfile.TarInfo("viaapi"), b"x")]),
                               headers={"Content-Type": "application/x-tar"})
        assert status == 200
        assert_untouched(host_dir)
    # what went in is in the container, at its own copy of that path
    r = engine.cli("exec", ctr, "ls", h)
    assert sorted(r.stdout.split()) == ["evil", "viaapi"]


def test_cp_tar_entries_cannot_leave_the_target(engine, cleanup, host_dir):
    h = str(host_dir)
    ctr = start(engine, cleanup)
    sock = engine.socket
    link = tarfile.TarInfo("lnk")
    link.type, link.linkname = tarfile.SYMTYPE, h
    uplink = tarfile.TarInfo("uplnk")
    uplink.type, uplink.linkname = tarfile.SYMTYPE, "../../../../../../../.." + h
    for entries in ([(tarfile.TarInfo("../../../../../../../.." + h + "/evil"), b"x")],
                    [(tarfile.TarInfo(h + "/evil"), b"x")],
                    [(link, None), (tarfile.TarInfo("lnk/evil"), b"x")],
                    [(uplink, None), (tarfile.TarInfo("uplnk/evil"), b"x")]):
        request(sock, "PUT", f"/v1.41/containers/{ctr}/archive?path=/tmp", body=tar_of(entries),
                headers={"Content-Type": "application/x-tar"})
        assert_untouched(host_dir)
    assert engine.cli("exec", ctr, "cat", f"/tmp{h}/evil").stdout == "x"


def test_cp_out_never_follows_links_to_host_files(engine, cleanup, tmp_path, host_dir):
    h = str(host_dir)
    ctr = start(engine, cleanup, f"ln -s {h}/marker /leak; ln -s {h} /leakdir; "
                f"ln -s ../../../../../../../..{h}/marker /leak2; sleep 1000")
    out = tmp_path / "out"
    sock = engine.socket
    for run, who in ((engine.cli, "dockyard"), (engine.docker, "docker")):
        mine = out / who  # each CLI its own: a copied link is a destination the next copy would follow
        mine.mkdir(parents=True)
        for args in (("/leak", "a"), ("/leak2", "b"), ("/leakdir", "c")):
            run("cp", f"{ctr}:{args[0]}", str(mine / args[1]))
            run("cp", "-L", f"{ctr}:{args[0]}", str(mine / (args[1] + "L")))
        r = run("cp", f"{ctr}:/leakdir/", "-", input=b"")
        assert b"HOSTSECRET" not in r.stdout
        r = run("cp", f"{ctr}:/leak2", "-", input=b"")
        assert b"HOSTSECRET" not in r.stdout
    for dp, _, fns in os.walk(out):
        for n in fns:
            p = os.path.join(dp, n)
            if os.path.islink(p):
                continue
            assert b"HOSTSECRET" not in open(p, "rb").read()
    assert os.readlink(out / "docker" / "a") == os.readlink(out / "dockyard" / "a") == f"{h}/marker"
    for path in ("/leak", "/leakdir/", "/leakdir/marker", "/leak2", f"/leakdir/../../../..{h}/marker"):
        status, resp, body = request(sock, "GET", f"/v1.41/containers/{ctr}/archive?path={path}")
        assert b"HOSTSECRET" not in (body if isinstance(body, bytes) else json.dumps(body).encode())
    assert_untouched(host_dir)


def test_cp_directory_swapped_for_a_symlink_during_copies(engine, cleanup, tmp_path, host_dir):
    """CVE-2018-15664: a loop in the container swaps /w/dir between a directory and a symlink to the
    host directory's path (which exists in the container too) while copies run both ways."""
    h = str(host_dir)
    loop = (f"mkdir -p {h} /w/real; echo inner > /w/real/inner; ln -s {h} /w/link; "
            "while true; do mv /w/real /w/dir; mv /w/dir /w/real; mv /w/link /w/dir; mv /w/dir /w/link; done")
    ctr = start(engine, cleanup, loop)
    (tmp_path / "payload").write_text("payload")
    sock = engine.socket
    deadline = time.monotonic() + 8
    rounds = 0
    while time.monotonic() < deadline and rounds < 40:
        rounds += 1
        run = engine.cli if rounds % 2 else engine.docker
        run("cp", str(tmp_path / "payload"), f"{ctr}:/w/dir/")
        request(sock, "PUT", f"/v1.41/containers/{ctr}/archive?path=/w/dir",
                body=tar_of([(tarfile.TarInfo("viaapi"), b"x")]), headers={"Content-Type": "application/x-tar"})
        status, _, data = request(sock, "GET", f"/v1.41/containers/{ctr}/archive?path=/w/dir/.")
        if status == 200:
            names = [m.name for m in tarfile.open(fileobj=io.BytesIO(data))]
            assert "./marker" not in names
        assert_untouched(host_dir)
    assert rounds >= 5
    # the swap really raced the copies: some went through the link, into the container's own copy
    inside = engine.cli("exec", ctr, "ls", h).stdout.split()
    assert set(inside) & {"payload", "viaapi"}, inside


@pytest.mark.parametrize("running", [True, False])
def test_cp_through_binds_and_volumes(engine, cleanup, tmp_path, running):
    """Paths inside a bind mount or a named volume are the mount's, running or stopped."""
    bind = tmp_path / "bind"
    bind.mkdir()
    (bind / "from-host").write_text("host")
    vol = f"cpvol-{uuid.uuid4().hex[:8]}"
    try:
        ctr = start(engine, cleanup, extra=("-v", f"{bind}:/b", "-v", f"{vol}:/v"), running=running)
        (tmp_path / "f").write_text("in")
        for dest in ("/b/", "/v/"):
            r = engine.cli("cp", str(tmp_path / "f"), f"{ctr}:{dest}")
            assert (r.returncode, r.stderr) == (0, "")
        assert (bind / "f").read_text() == "in"
        r = engine.cli("cp", f"{ctr}:/b/from-host", str(tmp_path / "back"))
        assert (r.returncode, r.stderr) == (0, "")
        assert (tmp_path / "back").read_text() == "host"
        other = f"cp-{uuid.uuid4().hex[:10]}"
        cleanup.append(other)
        r = engine.cli("run", "--name", other, "-v", f"{vol}:/v", "busybox", "cat", "/v/f")
        assert (r.returncode, r.stdout) == (0, "in")
        r = engine.cli("cp", f"{ctr}:/v", "-", input=b"")
        assert [m.name for m in tarfile.open(fileobj=io.BytesIO(r.stdout))] == ["v", "v/f"]
    finally:
        engine.cli("rm", "-f", *cleanup)
        cleanup.clear()
        engine.cli("volume", "rm", "-f", vol)
