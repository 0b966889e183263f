"""``dockyard build``, ``save``, ``load``, ``commit`` without a daemon: context tars, requests, output.

The expected texts were recorded from the real thing: a dockerd 20.10 answered
classic builds (``POST /build``), the docker 20.10 CLI printed those answers
(``DOCKER_BUILDKIT=0 /usr/bin/docker build``), and here a scripted daemon
replays the same answers to ``dockyard``, whose output must be the same bytes.
When that docker CLI is installed (the oracle of ``tests/conftest.py``), the
context tars and requests are also compared with the ones it sends to a
recording socket.
"""

from __future__ import annotations

import io
import json
import os
import re
import shutil
import socket
import stat
import subprocess
import sys
import tarfile
import threading
from pathlib import Path
from urllib.parse import parse_qsl, urlsplit

import pytest

from dockyard.cli.buildcontext import ContextError, is_archive, local_context, stdin_context, tar_header
from dockyard.cli.jsonmessage import JSONError, ProgressLine, display_stream, progress_string
from tests.helpers import read_http_request

REPO = Path(__file__).resolve().parents[2]
DOCKER_CLI = shutil.which("docker", path="/usr/bin") or shutil.which("docker")
IS_ROOT = os.geteuid() == 0


# --------------------------------------------------------------------------- a scripted daemon


class Daemon:
    """Answers ``/_ping`` (GET and HEAD, API 1.41) and replays ``routes[(method, path)] -> (status, ctype, body)``;
    records every other request as ``(method, target, headers, body)``."""

    def __init__(self, path: str, routes: dict | None = None) -> None:
        self.routes = routes or {}
        self.requests: list[tuple[str, str, dict, bytes]] = []
        self.srv = socket.socket(socket.AF_UNIX)
        self.srv.bind(path)
        self.srv.listen(8)
        self.host = f"unix://{path}"
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        while True:
            try:
                conn, _ = self.srv.accept()
            except OSError:
                return
            threading.Thread(target=self._conn, args=(conn,), daemon=True).start()

    def _conn(self, conn) -> None:
        f = conn.makefile("rb")
        try:
            while True:
                request = read_http_request(f)
                if request is None:
                    return
                method, target, headers, body = request
                path = urlsplit(target).path
                if path.endswith("/_ping"):
                    payload = b"" if method == "HEAD" else b"OK"
                    conn.sendall(b"HTTP/1.1 200 OK\r\nApi-Version: 1.41\r\nOstype: linux\r\n"
                                 b"Content-Length: 2\r\n\r\n" + payload)
                    continue
                self.requests.append((method, target, headers, body))
                key = (method, re.sub(r"^/v[0-9.]+", "", path))
                status, ctype, out = self.routes.get(key, (404, "application/json", b'{"message":"page not found"}'))
                conn.sendall(b"HTTP/1.1 %d X\r\nContent-Type: %s\r\nContent-Length: %d\r\n\r\n%s"
                             % (status, ctype.encode(), len(out), out))
        except OSError:
            pass
        finally:
            conn.close()

    def close(self) -> None:
        self.srv.close()


@pytest.fixture
def daemon(tmp_path):
    d = Daemon(str(tmp_path / "d.sock"))
    yield d
    d.close()


def dockyard(host: str, *args: str, cwd=None, input: bytes | None = None, env=None):
    return subprocess.run([sys.executable, "-m", "dockyard.cli", "-H", host, *args], cwd=cwd, input=input,
                          capture_output=True, timeout=60, env=dict(os.environ, PYTHONPATH=str(REPO), **(env or {})))


def docker(host: str, *args: str, cwd=None, input: bytes | None = None):
    return subprocess.run([DOCKER_CLI, "-H", host, *args], cwd=cwd, input=input, capture_output=True, timeout=60,
                          env=dict(os.environ, DOCKER_BUILDKIT="0"))


class Member(tarfile.TarInfo):
    """A tar entry with its content as ``data`` (None for non-files)."""

    data: bytes | None = None


def members(data: bytes) -> list[Member]:
    with tarfile.open(fileobj=io.BytesIO(data), tarinfo=Member) as t:
        out = t.getmembers()
        for m in out:
            m.data = t.extractfile(m).read() if m.isfile() else None
        return out


def context_tar(path, dockerfile=None, data=None) -> tuple[str, bytes]:
    c = local_context(str(path), dockerfile, data)
    return c.dockerfile, b"".join(c.chunks())


def write(p: Path, text: str | bytes, mode: int | None = None) -> Path:
    p.parent.mkdir(parents=True, exist_ok=True)
    p.write_bytes(text.encode() if isinstance(text, str) else text)
    if mode is not None:
        os.chmod(p, mode)
    return p


# --------------------------------------------------------------------------- the context tar


def test_context_applies_dockerignore_but_always_sends_the_build_files(tmp_path):
    write(tmp_path / "Dockerfile", "FROM busybox\n")
    write(tmp_path / ".dockerignore", "# comment\n*\n!keep*\n!sub/inner\n")
    write(tmp_path / "keep.txt", "k")
    write(tmp_path / "drop.txt", "d")
    write(tmp_path / "sub/inner/x", "x")
    write(tmp_path / "sub/other", "o")
    name, data = context_tar(tmp_path)
    assert name == "Dockerfile"
    assert [m.name for m in members(data)] == [".dockerignore", "Dockerfile", "keep.txt", "sub/inner", "sub/inner/x"]


def test_context_excluded_dockerfile_with_another_name_is_still_sent(tmp_path):
    write(tmp_path / "build/app.df", "FROM busybox\n")
    write(tmp_path / ".dockerignore", "build\n*.df\n")
    write(tmp_path / "build/other", "o")
    name, data = context_tar(tmp_path, str(tmp_path / "build/app.df"))
    assert name == "build/app.df"
    assert [m.name for m in members(data)] == [".dockerignore", "build/app.df"]


def test_context_lowercase_dockerfile_is_found(tmp_path):
    write(tmp_path / "dockerfile", "FROM busybox\n")
    assert context_tar(tmp_path)[0] == "dockerfile"


def test_context_entries_keep_types_modes_and_times_with_root_owners(tmp_path):
    import grp
    import pwd

    write(tmp_path / "Dockerfile", "FROM busybox\n")
    write(tmp_path / "bin/tool", "#!/bin/sh\n", 0o755)
    write(tmp_path / "suid", "s", 0o4750)
    write(tmp_path / "ro", "r", 0o400)
    os.symlink("bin/tool", tmp_path / "link")
    os.symlink("/nowhere", tmp_path / "dangling")
    os.link(tmp_path / "bin/tool", tmp_path / "hard")
    os.mkdir(tmp_path / "empty", 0o700)
    os.mkfifo(tmp_path / "fifo")
    s = socket.socket(socket.AF_UNIX)
    s.bind(str(tmp_path / "sock"))  # sockets are skipped, as moby's archive does
    os.utime(tmp_path / "bin/tool", (1_600_000_000.75, 1_600_000_000.75))
    if IS_ROOT:
        os.lchown(tmp_path / "ro", 1234, 5678)
    _, data = context_tar(tmp_path)
    s.close()
    by = {m.name: m for m in members(data)}
    assert list(by) == ["Dockerfile", "bin", "bin/tool", "dangling", "empty", "fifo", "hard", "link", "ro", "suid"]
    # the mode is the whole st_mode, file type bits included (moby 20.10's fillGo18FileTypeBits)
    assert by["bin"].isdir() and by["empty"].isdir() and by["empty"].mode == 0o40700
    assert by["bin/tool"].isfile() and by["bin/tool"].mode == 0o100755 and by["bin/tool"].mtime == 1_600_000_000
    assert by["hard"].islnk() and by["hard"].linkname == "bin/tool" and by["hard"].size == 0
    assert by["link"].issym() and by["link"].linkname == "bin/tool" and by["link"].mode == 0o120777
    assert by["dangling"].issym() and by["dangling"].linkname == "/nowhere"
    assert by["fifo"].isfifo() and stat.S_ISFIFO(by["fifo"].mode)
    assert by["suid"].mode == 0o104750 and by["ro"].mode == 0o100400 and by["ro"].data == b"r"
    for path, m in by.items():  # sent as 0:0 (ChownOpts), but named after the real owners, as Go does
        st = os.lstat(tmp_path / path)
        uname = {u.pw_uid: u.pw_name for u in pwd.getpwall()}.get(st.st_uid, "")
        gname = {g.gr_gid: g.gr_name for g in grp.getgrall()}.get(st.st_gid, "")
        assert (m.uid, m.gid, m.uname, m.gname) == (0, 0, uname, gname), path
    raw = data
    assert len(raw) % 512 == 0 and raw.endswith(b"\0" * 1024)  # no padding to a 10 kB record
    assert raw[:512][100:108] == b"0100644\0"
    assert tarfile.open(fileobj=io.BytesIO(raw)).getmember("Dockerfile").pax_headers == {}


def test_context_long_and_non_ascii_names(tmp_path):
    write(tmp_path / "Dockerfile", "FROM busybox\n")
    deep = "d" * 80 + "/" + "e" * 90
    write(tmp_path / deep, "split into prefix and name")
    write(tmp_path / ("n" * 120), "needs a PAX path")
    write(tmp_path / "héllo", "needs a PAX path too")
    _, data = context_tar(tmp_path)
    ms = members(data)
    assert [m.name for m in ms] == ["Dockerfile", "d" * 80, deep, "héllo", "n" * 120]
    assert ms[2].pax_headers == {} and ms[2].data == b"split into prefix and name"
    assert ms[3].pax_headers == {"path": "héllo"} and ms[4].pax_headers == {"path": "n" * 120}


def test_context_big_file_streams_in_pieces(tmp_path):
    write(tmp_path / "Dockerfile", "FROM busybox\n")
    blob = os.urandom(3 * 1024 * 1024 + 7)
    write(tmp_path / "big", blob)
    c = local_context(str(tmp_path))
    chunks = list(c.chunks())
    assert len(chunks) > 3 and c.size == sum(map(len, chunks))
    assert members(b"".join(chunks))[1].data == blob


def test_context_dockerfile_outside_gets_a_random_name(tmp_path):
    ctx = tmp_path / "ctx"
    write(ctx / "a", "a")
    df = write(tmp_path / "elsewhere/Dockerfile.dev", "FROM busybox\nCOPY a /a\n")
    name, data = context_tar(ctx, str(df))
    assert re.fullmatch(r"\.dockerfile\.[0-9a-f]{20}", name)
    ms = members(data)
    assert [m.name for m in ms] == ["a", name, ".dockerignore"]
    assert ms[1].data == df.read_bytes() and (ms[1].mode, ms[1].uname) == (0o600, "")
    assert ms[2].data == f".dockerignore\n{name}\n".encode() and ms[2].mode == 0o600
    # another run, another name
    assert context_tar(ctx, str(df))[0] != name


def test_context_dockerfile_outside_amends_an_existing_dockerignore(tmp_path):
    ctx = tmp_path / "ctx"
    write(ctx / ".dockerignore", "*.log\n", 0o640)
    write(ctx / "a.log", "l")
    write(ctx / "b", "b")
    name, data = context_tar(ctx, str(write(tmp_path / "Dockerfile", "FROM busybox\n")))
    ms = members(data)
    assert [m.name for m in ms] == [".dockerignore", "b", name]
    assert ms[0].data == f"*.log\n\n{name}\n".encode() and ms[0].mode == 0o100640


def test_context_dockerfile_from_stdin(tmp_path):
    write(tmp_path / "x", "x")
    name, data = context_tar(tmp_path, "-", b"FROM busybox\n")
    assert re.fullmatch(r"\.dockerfile\.[0-9a-f]{20}", name)
    assert [(m.name, m.data) for m in members(data)] == [
        ("x", b"x"), (name, b"FROM busybox\n"), (".dockerignore", f".dockerignore\n{name}\n".encode())]


def test_context_dockerfile_relative_to_the_working_directory(tmp_path, monkeypatch):
    write(tmp_path / "ctx/sub/Dockerfile", "FROM busybox\n")
    monkeypatch.chdir(tmp_path / "ctx")
    assert context_tar(".", "sub/Dockerfile")[0] == "sub/Dockerfile"
    monkeypatch.chdir(tmp_path)
    assert context_tar("ctx", "ctx/sub/Dockerfile")[0] == "sub/Dockerfile"


@pytest.mark.parametrize("setup,args,message", [
    (lambda p: None, ("ctx",), "unable to prepare context: unable to evaluate symlinks in Dockerfile path: "
                                "lstat {p}/ctx/Dockerfile: no such file or directory"),
    (lambda p: write(p / "ctx/Dockerfile", "x"), ("ctx", "nope"),
     "unable to prepare context: unable to evaluate symlinks in Dockerfile path: lstat {p}/nope: "
     "no such file or directory"),
    (lambda p: write(p / "ctx/file", "x"), ("ctx/file",), "unable to prepare context: context must be a directory: "
                                                          "{p}/ctx/file"),
    (lambda p: (write(p / "ctx/Dockerfile", "x"), write(p / "ctx/.dockerignore", "[\n")), ("ctx",),
     "error checking context: syntax error in pattern"),
])
def test_context_errors_are_the_docker_cli_s(tmp_path, monkeypatch, setup, args, message):
    (tmp_path / "ctx").mkdir()
    setup(tmp_path)
    monkeypatch.chdir(tmp_path)
    with pytest.raises(ContextError) as e:
        local_context(*args)
    assert str(e.value) == message.format(p=tmp_path)


SETPRIV = shutil.which("setpriv")


@pytest.mark.skipif(IS_ROOT and SETPRIV is None, reason="root reads everything (setpriv could drop that)")
def test_context_unreadable_file_stops_before_sending(tmp_path):
    """As root the check runs without CAP_DAC_OVERRIDE/CAP_DAC_READ_SEARCH, so mode 000 means unreadable."""
    write(tmp_path / "Dockerfile", "FROM busybox\n")
    write(tmp_path / "secret", "s", 0o000)
    write(tmp_path / "ignored", "s", 0o000)  # excluded files are not checked
    write(tmp_path / ".dockerignore", "ignored\n")
    code = ("import sys\nfrom dockyard.cli.buildcontext import ContextError, local_context\n"
            "try:\n    local_context(sys.argv[1])\nexcept ContextError as e:\n    print(e)\n")
    prefix = [SETPRIV, "--bounding-set", "-dac_override,-dac_read_search"] if IS_ROOT else []
    r = subprocess.run([*prefix, sys.executable, "-c", code, str(tmp_path)], capture_output=True, text=True,
                       env=dict(os.environ, PYTHONPATH=str(REPO)))
    assert r.stdout == f"error checking context: no permission to read from '{tmp_path}/secret'\n", r.stderr


def test_stdin_context_archive_or_dockerfile(tmp_path):
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as t:
        ti = tarfile.TarInfo("Dockerfile")
        ti.size = 5
        t.addfile(ti, io.BytesIO(b"FROM "))
    tar = buf.getvalue()
    assert is_archive(tar[:1024]) and is_archive(b"\x1f\x8b\x08\x00") and not is_archive(b"FROM busybox\n")
    c = stdin_context(io.BytesIO(tar).read, "sub/Df")
    assert (c.dockerfile, b"".join(c.chunks())) == ("sub/Df", tar)  # sent as is
    c = stdin_context(io.BytesIO(b"FROM busybox\n").read, None)
    ms = members(b"".join(c.chunks()))
    assert c.dockerfile == "Dockerfile"
    assert [(m.name, m.data, m.uid) for m in ms] == [("Dockerfile", b"FROM busybox\n", os.geteuid())]
    assert stat.S_ISREG(ms[0].mode)
    with pytest.raises(ContextError, match="build context is not an archive"):
        stdin_context(io.BytesIO(b"FROM busybox\n").read, "-")


def test_tar_header_matches_go_for_a_plain_file():
    h = tar_header("a", mode=0o644, size=3, mtime=1_700_000_000)
    t = tarfile.TarInfo.frombuf(h, "utf-8", "strict")
    assert (t.name, t.mode, t.size, t.mtime, t.uid, t.gid) == ("a", 0o644, 3, 1_700_000_000, 0, 0)
    assert h[257:265] == b"ustar\x0000" and h[329:345] == b"0000000\x000000000\x00"


# --------------------------------------------------------------------------- against the docker CLI itself

needs_docker = pytest.mark.skipif(DOCKER_CLI is None, reason="the docker CLI is not installed")
OK_BUILD = (200, "application/json", b'{"aux":{"ID":"sha256:' + b"1" * 64 + b'"}}\r\n'
            b'{"stream":"Successfully built 111111111111\\n"}\r\n')


def rich_context(p: Path) -> Path:
    write(p / "Dockerfile", "FROM busybox\n")
    write(p / ".dockerignore", "vendor\n!vendor/keep\n*.log\n")
    write(p / "sub/a", "a", 0o755)
    os.utime(p / "sub/a", (1_700_000_000, 1_700_000_000))
    write(p / "suid", "s", 0o4755)
    os.symlink("sub/a", p / "link")
    os.symlink("/nonexistent", p / "dangling")
    os.link(p / "sub/a", p / "hard")
    (p / "emptydir").mkdir()
    os.mkfifo(p / "fifo")
    write(p / ("x" * 60) / ("y" * 60) / ("z" * 30), "long")
    write(p / ("n" * 120), "unsplittable")
    write(p / "dé/héllo", "utf")
    write(p / "big", os.urandom(700_000))
    write(p / "vendor/keep/k", "k")
    write(p / "vendor/drop/d", "d")
    write(p / "x.log", "l")
    return p


def sent(d: Daemon, path: str) -> tuple[str, dict, bytes]:
    (method, target, headers, body), = [r for r in d.requests if urlsplit(r[1]).path.endswith(path)]
    d.requests.clear()
    return f"{method} {re.sub(r'^/v[0-9.]+', '', target)}", headers, body


@needs_docker
def test_context_tar_is_byte_for_byte_the_docker_cli_s(tmp_path, daemon):
    ctx = rich_context(tmp_path / "ctx")
    daemon.routes[("POST", "/build")] = OK_BUILD
    d = docker(daemon.host, "build", str(ctx))
    assert d.returncode == 0, d.stderr
    _, dh, docker_tar = sent(daemon, "/build")
    r = dockyard(daemon.host, "build", str(ctx))
    assert r.returncode == 0, r.stderr
    _, h, tar = sent(daemon, "/build")
    assert tar == docker_tar
    assert (h["content-type"], h["x-registry-config"], h["transfer-encoding"]) == (
        dh["content-type"], dh["x-registry-config"], "chunked")
    assert r.stdout == d.stdout  # "Sending build context to Docker daemon  718.3kB\r\r\n..." included


@needs_docker
@pytest.mark.parametrize("args", [
    ["-t", "a:1", "-t", "b", "--build-arg", "FOO=1", "--build-arg", "HOME", "--build-arg", "NOPE_X",
     "--label", "l1=v", "--label", "l2", "--target", "t", "--no-cache", "--pull", "--force-rm",
     "--network", "host", "--platform", "linux/amd64"],
    ["--rm=false", "-q"],
    ["--add-host", "h:1.2.3.4", "--cgroup-parent", "cg", "--cpu-shares", "5", "--cpu-period", "1000",
     "--cpu-quota", "500", "--cpuset-cpus", "0", "--cpuset-mems", "0", "-m", "64m", "--memory-swap", "128m",
     "--shm-size", "32m", "--ulimit", "nofile=100:200", "--cache-from", "busybox", "--security-opt",
     "seccomp=unconfined", "--isolation", "default"],
    ["--network", "default", "--memory-swap", "-1", "--isolation", "process", "--platform", "Linux/AMD64",
     "--cache-from", "a,b", "--cache-from", "c", "--security-opt", "a=b,c=d", "--label", "k=<&>"],
    ["-f", "sub/Df", "--iidfile", "iid"],
])
def test_build_request_is_the_docker_cli_s(tmp_path, daemon, args):
    tmp_path = tmp_path / "ctx"  # not beside the daemon's socket
    write(tmp_path / "Dockerfile", "FROM busybox\n")
    write(tmp_path / "sub/Df", "FROM busybox\n")
    daemon.routes[("POST", "/build")] = OK_BUILD
    d = docker(daemon.host, "build", *args, ".", cwd=tmp_path)
    assert d.returncode == 0, d.stderr
    docker_line, docker_headers, docker_tar = sent(daemon, "/build")
    r = dockyard(daemon.host, "build", *args, ".", cwd=tmp_path)
    assert (r.returncode, r.stdout, r.stderr) == (0, d.stdout, d.stderr)
    line, headers, tar = sent(daemon, "/build")
    assert (line, tar) == (docker_line, docker_tar)
    for h in ("content-type", "x-registry-config", "transfer-encoding"):
        assert headers[h] == docker_headers[h]


def test_build_request_query(tmp_path, daemon):
    """The query of the docker CLI for a few flag sets (recorded from docker 20.10.24)."""
    tmp_path = tmp_path / "ctx"
    write(tmp_path / "Dockerfile", "FROM busybox\n")
    daemon.routes[("POST", "/build")] = OK_BUILD
    cases = {
        ("-t", "a:1", "-t", "b", "--build-arg", "FOO=1", "--build-arg", "HOME", "--build-arg", "NOPE_X",
         "--label", "l1=v", "--label", "l2", "--target", "t", "--no-cache", "--pull", "--force-rm",
         "--network", "host", "--platform", "linux/amd64"):
            "POST /build?buildargs=%7B%22FOO%22%3A%221%22%2C%22HOME%22%3A%22%2Froot%22%2C%22NOPE_X%22%3Anull%7D"
            "&cachefrom=%5B%5D&cgroupparent=&cpuperiod=0&cpuquota=0&cpusetcpus=&cpusetmems=&cpushares=0"
            "&dockerfile=Dockerfile&forcerm=1&labels=%7B%22l1%22%3A%22v%22%2C%22l2%22%3A%22%22%7D&memory=0"
            "&memswap=0&networkmode=host&nocache=1&platform=linux%2Famd64&pull=1&rm=1&shmsize=0&t=a%3A1&t=b"
            "&target=t&ulimits=null&version=1",
        ("--rm=false", "-q"):
            "POST /build?buildargs=%7B%7D&cachefrom=%5B%5D&cgroupparent=&cpuperiod=0&cpuquota=0&cpusetcpus="
            "&cpusetmems=&cpushares=0&dockerfile=Dockerfile&labels=%7B%7D&memory=0&memswap=0"
            "&networkmode=default&q=1&rm=0&shmsize=0&target=&ulimits=null&version=1",
        ("--add-host", "h:1.2.3.4", "--cgroup-parent", "cg", "--cpu-shares", "5", "--cpu-period", "1000",
         "--cpu-quota", "500", "--cpuset-cpus", "0", "--cpuset-mems", "0", "-m", "64m", "--memory-swap", "128m",
         "--shm-size", "32m", "--ulimit", "nofile=100:200", "--cache-from", "busybox", "--security-opt",
         "seccomp=unconfined", "--isolation", "default"):
            "POST /build?buildargs=%7B%7D&cachefrom=%5B%22busybox%22%5D&cgroupparent=cg&cpuperiod=1000"
            "&cpuquota=500&cpusetcpus=0&cpusetmems=0&cpushares=5&dockerfile=Dockerfile&extrahosts=h%3A1.2.3.4"
            "&labels=%7B%7D&memory=67108864&memswap=134217728&networkmode=default&rm=1"
            "&securityopt=seccomp%3Dunconfined&shmsize=33554432&target="
            "&ulimits=%5B%7B%22Name%22%3A%22nofile%22%2C%22Hard%22%3A200%2C%22Soft%22%3A100%7D%5D&version=1",
        ("--network", "default", "--memory-swap", "-1", "--isolation", "process", "--platform", "Linux/AMD64",
         "--cache-from", "a,b", "--cache-from", "c", "--security-opt", "a=b,c=d"):
            "POST /build?buildargs=%7B%7D&cachefrom=%5B%22a%22%2C%22b%22%2C%22c%22%5D&cgroupparent="
            "&cpuperiod=0&cpuquota=0&cpusetcpus=&cpusetmems=&cpushares=0&dockerfile=Dockerfile"
            "&isolation=process&labels=%7B%7D&memory=0&memswap=-1&networkmode=default&platform=linux%2Famd64"
            "&rm=1&securityopt=a%3Db&securityopt=c%3Dd&shmsize=0&target=&ulimits=null&version=1",
    }
    for args, expected in cases.items():
        r = dockyard(daemon.host, "build", *args, ".", cwd=tmp_path, env={"HOME": "/root"})
        assert r.returncode == 0, r.stderr
        line, headers, _ = sent(daemon, "/build")
        assert line == expected
        assert headers["content-type"] == "application/x-tar" and headers["x-registry-config"] == "e30="


@needs_docker
@pytest.mark.parametrize("args", [
    ["commit", "-a", "Me <m@x>", "-m", "a msg", "-c", "ENV A=1", "-c", 'CMD ["sh"]', "-p=false", "ctr", "repo/x:tag"],
    ["commit", "ctr"], ["container", "commit", "ctr", "foo"], ["commit", "ctr", "localhost:5000/a/b:v1"],
    ["save", "busybox", "x:1"], ["image", "save", "busybox"],
    ["load", "-i", "{tar}"], ["image", "load", "-q", "-i", "{tar}"],
])
def test_commit_save_load_requests_are_the_docker_cli_s(tmp_path, daemon, args):
    daemon.routes.update({
        ("POST", "/commit"): (201, "application/json", b'{"Id":"sha256:' + b"2" * 64 + b'"}\n'),
        ("GET", "/images/get"): (200, "application/x-tar", b"TARDATA"),
        ("POST", "/images/load"): (200, "application/json", b'{"stream":"Loaded image: busybox:latest\\n"}\r\n'),
    })
    write(tmp_path / "in.tar", b"LOADME" * 1000)
    args = [a.replace("{tar}", str(tmp_path / "in.tar")) for a in args]
    d = docker(daemon.host, *args)
    (dm, dt, _, dbody), = daemon.requests
    daemon.requests.clear()
    r = dockyard(daemon.host, *args)
    (m, t, _, body), = daemon.requests
    assert (r.returncode, r.stdout, r.stderr) == (d.returncode, d.stdout, b"")
    # the same query, decoded (Go escapes a space as "+", dockyard as "%20")
    assert (m, urlsplit(t).path.rsplit("/", 1)[-1], parse_qsl(urlsplit(t).query, keep_blank_values=True), body) == \
        (dm, urlsplit(dt).path.rsplit("/", 1)[-1], parse_qsl(urlsplit(dt).query, keep_blank_values=True), dbody)


# --------------------------------------------------------------------------- output: recorded streams


# name: (HTTP status, body the real dockerd 20.10 sent, {flags: (stdout, stderr, exit status, iidfile)})
# as the docker 20.10.24 CLI printed them (DOCKER_BUILDKIT=0 /usr/bin/docker build [-q] --iidfile F CONTEXT);
# iidfile "OUT" means the same text as stdout (with -q, docker writes its quiet output there).
RECORDED_BUILDS = {
    'ok': (200, (
        b'{"stream":"Step 1/6 : FROM busybox"}\r\n'
        b'{"stream":"\\n"}\r\n'
        b'{"stream":" ---\\u003e 52c8be21c97b\\n"}\r\n'
        b'{"stream":"Step 2/6 : LABEL x=y"}\r\n'
        b'{"stream":"\\n"}\r\n'
        b'{"stream":" ---\\u003e Running in 695942d7f42c\\n"}\r\n'
        b'{"stream":"Removing intermediate container 695942d7f42c\\n"}\r\n'
        b'{"stream":" ---\\u003e 21d001ca6c9f\\n"}\r\n'
        b'{"stream":"Step 3/6 : RUN echo out; echo err \\u003e\\u00262"}\r\n'
        b'{"stream":"\\n"}\r\n'
        b'{"stream":" ---\\u003e Running in 701bad388293\\n"}\r\n'
        b'{"stream":"\\u001b[91merr\\n\\u001b[0m"}\r\n'
        b'{"stream":"out\\n"}\r\n'
        b'{"stream":"Removing intermediate container 701bad388293\\n"}\r\n'
        b'{"stream":" ---\\u003e e5f9c44cc2ca\\n"}\r\n'
        b'{"stream":"Step 4/6 : COPY f /f"}\r\n'
        b'{"stream":"\\n"}\r\n'
        b'{"stream":" ---\\u003e 97339ad16050\\n"}\r\n'
        b'{"stream":"Step 5/6 : ENV A=b"}\r\n'
        b'{"stream":"\\n"}\r\n'
        b'{"stream":" ---\\u003e Running in 70654478ce74\\n"}\r\n'
        b'{"stream":"Removing intermediate container 70654478ce74\\n"}\r\n'
        b'{"stream":" ---\\u003e 88d97cf83dba\\n"}\r\n'
        b'{"stream":"Step 6/6 : CMD [\\"sh\\"]"}\r\n'
        b'{"stream":"\\n"}\r\n'
        b'{"stream":" ---\\u003e Running in 7fb2dfd8046f\\n"}\r\n'
        b'{"stream":"Removing intermediate container 7fb2dfd8046f\\n"}\r\n'
        b'{"stream":" ---\\u003e ac1d0fd50598\\n"}\r\n'
        b'{"aux":{"ID":"sha256:ac1d0fd50598323ee371c1827778faceacc1e788718248b7e616d5a6e48e6abd"}}\r\n'
        b'{"stream":"Successfully built ac1d0fd50598\\n"}\r\n'
        b'{"stream":"Successfully tagged bhtest:ok\\n"}\r\n'
        b'{"stream":"Successfully tagged bhtest:ok2\\n"}\r\n'
    ), {
        '': (
            (
                'Sending build context to Docker daemon  3.072kB\r'
                '\r\n'
                'Step 1/6 : FROM busybox\n'
                ' ---> 52c8be21c97b\n'
                'Step 2/6 : LABEL x=y\n'
                ' ---> Running in 695942d7f42c\n'
                'Removing intermediate container 695942d7f42c\n'
                ' ---> 21d001ca6c9f\n'
                'Step 3/6 : RUN echo out; echo err >&2\n'
                ' ---> Running in 701bad388293\n'
                '\x1b[91merr\n'
                '\x1b[0mout\n'
                'Removing intermediate container 701bad388293\n'
                ' ---> e5f9c44cc2ca\n'
                'Step 4/6 : COPY f /f\n'
                ' ---> 97339ad16050\n'
                'Step 5/6 : ENV A=b\n'
                ' ---> Running in 70654478ce74\n'
                'Removing intermediate container 70654478ce74\n'
                ' ---> 88d97cf83dba\n'
                'Step 6/6 : CMD ["sh"]\n'
                ' ---> Running in 7fb2dfd8046f\n'
                'Removing intermediate container 7fb2dfd8046f\n'
                ' ---> ac1d0fd50598\n'
                'Successfully built ac1d0fd50598\n'
                'Successfully tagged bhtest:ok\n'
                'Successfully tagged bhtest:ok2\n'
            ),
            '',
            0, 'sha256:ac1d0fd50598323ee371c1827778faceacc1e788718248b7e616d5a6e48e6abd'),
        '-q': (
            (
                'Step 1/6 : FROM busybox\n'
                ' ---> 52c8be21c97b\n'
                'Step 2/6 : LABEL x=y\n'
                ' ---> Running in 695942d7f42c\n'
                'Removing intermediate container 695942d7f42c\n'
                ' ---> 21d001ca6c9f\n'
                'Step 3/6 : RUN echo out; echo err >&2\n'
                ' ---> Running in 701bad388293\n'
                '\x1b[91merr\n'
                '\x1b[0mout\n'
                'Removing intermediate container 701bad388293\n'
                ' ---> e5f9c44cc2ca\n'
                'Step 4/6 : COPY f /f\n'
                ' ---> 97339ad16050\n'
                'Step 5/6 : ENV A=b\n'
                ' ---> Running in 70654478ce74\n'
                'Removing intermediate container 70654478ce74\n'
                ' ---> 88d97cf83dba\n'
                'Step 6/6 : CMD ["sh"]\n'
                ' ---> Running in 7fb2dfd8046f\n'
                'Removing intermediate container 7fb2dfd8046f\n'
                ' ---> ac1d0fd50598\n'
                'Successfully built ac1d0fd50598\n'
                'Successfully tagged bhtest:ok\n'
                'Successfully tagged bhtest:ok2\n'
            ),
            '',
            0, 'OUT'),
    }),
    'cached': (200, (
        b'{"stream":"Step 1/6 : FROM busybox"}\r\n'
        b'{"stream":"\\n"}\r\n'
        b'{"stream":" ---\\u003e 52c8be21c97b\\n"}\r\n'
        b'{"stream":"Step 2/6 : LABEL x=y"}\r\n'
        b'{"stream":"\\n"}\r\n'
        b'{"stream":" ---\\u003e Using cache\\n"}\r\n'
        b'{"stream":" ---\\u003e 21d001ca6c9f\\n"}\r\n'
        b'{"stream":"Step 3/6 : RUN echo out; echo err \\u003e\\u00262"}\r\n'
        b'{"stream":"\\n"}\r\n'
        b'{"stream":" ---\\u003e Using cache\\n"}\r\n'
        b'{"stream":" ---\\u003e e5f9c44cc2ca\\n"}\r\n'
        b'{"stream":"Step 4/6 : COPY f /f"}\r\n'
        b'{"stream":"\\n"}\r\n'
        b'{"stream":" ---\\u003e Using cache\\n"}\r\n'
        b'{"stream":" ---\\u003e 97339ad16050\\n"}\r\n'
        b'{"stream":"Step 5/6 : ENV A=b"}\r\n'
        b'{"stream":"\\n"}\r\n'
        b'{"stream":" ---\\u003e Using cache\\n"}\r\n'
        b'{"stream":" ---\\u003e 88d97cf83dba\\n"}\r\n'
        b'{"stream":"Step 6/6 : CMD [\\"sh\\"]"}\r\n'
        b'{"stream":"\\n"}\r\n'
        b'{"stream":" ---\\u003e Using cache\\n"}\r\n'
        b'{"stream":" ---\\u003e ac1d0fd50598\\n"}\r\n'
        b'{"aux":{"ID":"sha256:ac1d0fd50598323ee371c1827778faceacc1e788718248b7e616d5a6e48e6abd"}}\r\n'
        b'{"stream":"Successfully built ac1d0fd50598\\n"}\r\n'
        b'{"stream":"Successfully tagged bhtest:ok\\n"}\r\n'
    ), {
        '': (
            (
                'Sending build context to Docker daemon  3.072kB\r'
                '\r\n'
                'Step 1/6 : FROM busybox\n'
                ' ---> 52c8be21c97b\n'
                'Step 2/6 : LABEL x=y\n'
                ' ---> Using cache\n'
                ' ---> 21d001ca6c9f\n'
                'Step 3/6 : RUN echo out; echo err >&2\n'
                ' ---> Using cache\n'
                ' ---> e5f9c44cc2ca\n'
                'Step 4/6 : COPY f /f\n'
                ' ---> Using cache\n'
                ' ---> 97339ad16050\n'
                'Step 5/6 : ENV A=b\n'
                ' ---> Using cache\n'
                ' ---> 88d97cf83dba\n'
                'Step 6/6 : CMD ["sh"]\n'
                ' ---> Using cache\n'
                ' ---> ac1d0fd50598\n'
                'Successfully built ac1d0fd50598\n'
                'Successfully tagged bhtest:ok\n'
            ),
            '',
            0, 'sha256:ac1d0fd50598323ee371c1827778faceacc1e788718248b7e616d5a6e48e6abd'),
        '-q': (
            (
                'Step 1/6 : FROM busybox\n'
                ' ---> 52c8be21c97b\n'
                'Step 2/6 : LABEL x=y\n'
                ' ---> Using cache\n'
                ' ---> 21d001ca6c9f\n'
                'Step 3/6 : RUN echo out; echo err >&2\n'
                ' ---> Using cache\n'
                ' ---> e5f9c44cc2ca\n'
                'Step 4/6 : COPY f /f\n'
                ' ---> Using cache\n'
                ' ---> 97339ad16050\n'
                'Step 5/6 : ENV A=b\n'
                ' ---> Using cache\n'
                ' ---> 88d97cf83dba\n'
                'Step 6/6 : CMD ["sh"]\n'
                ' ---> Using cache\n'
                ' ---> ac1d0fd50598\n'
                'Successfully built ac1d0fd50598\n'
                'Successfully tagged bhtest:ok\n'
            ),
            '',
            0, 'OUT'),
    }),
    'quiet': (200, (
        b'{"stream":"sha256:9e25c77777c0c3893a65d700182fd05132c95129e9437702784fca8ab7899076\\n"}\r\n'
    ), {
        '': (
            'Sending build context to Docker daemon  3.072kB\r\r\nsha256:9e25c77777c0c3893a65d700182fd05132c95129e9437702784fca8ab7899076\n',
            'Server did not provide an image ID. Cannot write {iidfile}\n',
            1, None),
        '-q': (
            'sha256:9e25c77777c0c3893a65d700182fd05132c95129e9437702784fca8ab7899076\n',
            '',
            0, 'OUT'),
    }),
    'fail2': (200, (
        b'{"stream":"Step 1/3 : FROM busybox"}\r\n'
        b'{"stream":"\\n"}\r\n'
        b'{"stream":" ---\\u003e 52c8be21c97b\\n"}\r\n'
        b'{"stream":"Step 2/3 : RUN echo before"}\r\n'
        b'{"stream":"\\n"}\r\n'
        b'{"stream":" ---\\u003e Running in 414b9c586f5b\\n"}\r\n'
        b'{"stream":"before\\n"}\r\n'
        b'{"stream":"Removing intermediate container 414b9c586f5b\\n"}\r\n'
        b'{"stream":" ---\\u003e a67754741bd4\\n"}\r\n'
        b'{"stream":"Step 3/3 : RUN exit 3"}\r\n'
        b'{"stream":"\\n"}\r\n'
        b'{"stream":" ---\\u003e Running in 1d2504d631c9\\n"}\r\n'
        b'{"errorDetail":{"code":3,"message":"The command \'/bin/sh -c exit 3\' returned a non-zero code: 3"},"error":"The command \'/bin/sh -c exit 3\' returned a non-zero code: 3"}\r\n'
    ), {
        '': (
            (
                'Sending build context to Docker daemon  3.072kB\r'
                '\r\n'
                'Step 1/3 : FROM busybox\n'
                ' ---> 52c8be21c97b\n'
                'Step 2/3 : RUN echo before\n'
                ' ---> Running in 414b9c586f5b\n'
                'before\n'
                'Removing intermediate container 414b9c586f5b\n'
                ' ---> a67754741bd4\n'
                'Step 3/3 : RUN exit 3\n'
                ' ---> Running in 1d2504d631c9\n'
            ),
            "The command '/bin/sh -c exit 3' returned a non-zero code: 3\n",
            3, None),
        '-q': (
            '',
            (
                'Sending build context to Docker daemon  3.072kB\r'
                '\r\n'
                'Step 1/3 : FROM busybox\n'
                ' ---> 52c8be21c97b\n'
                'Step 2/3 : RUN echo before\n'
                ' ---> Running in 414b9c586f5b\n'
                'before\n'
                'Removing intermediate container 414b9c586f5b\n'
                ' ---> a67754741bd4\n'
                'Step 3/3 : RUN exit 3\n'
                ' ---> Running in 1d2504d631c9\n'
                "The command '/bin/sh -c exit 3' returned a non-zero code: 3\n"
            ),
            3, None),
    }),
    'fail4': (200, (
        b'{"stream":"Step 1/1 : FROM nosuchimage-bh:1"}\r\n'
        b'{"stream":"\\n"}\r\n'
        b'{"errorDetail":{"message":"Get \\"https://registry-1.docker.io/v2/\\": dial tcp: lookup registry-1.docker.io on 10.255.255.53:53: no such host"},"error":"Get \\"https://registry-1.docker.io/v2/\\": dial tcp: lookup registry-1.docker.io on 10.255.255.53:53: no such host"}\r\n'
    ), {
        '': (
            'Sending build context to Docker daemon  3.072kB\r\r\nStep 1/1 : FROM nosuchimage-bh:1\n',
            'Get "https://registry-1.docker.io/v2/": dial tcp: lookup registry-1.docker.io on 10.255.255.53:53: no such host\n',
            1, None),
        '-q': (
            '',
            (
                'Sending build context to Docker daemon  3.072kB\r'
                '\r\n'
                'Step 1/1 : FROM nosuchimage-bh:1\n'
                'Get "https://registry-1.docker.io/v2/": dial tcp: lookup registry-1.docker.io on 10.255.255.53:53: no such host\n'
            ),
            1, None),
    }),
    'fail5': (200, (
        b'{"stream":"Step 1/2 : FROM busybox"}\r\n'
        b'{"stream":"\\n"}\r\n'
        b'{"stream":" ---\\u003e 52c8be21c97b\\n"}\r\n'
        b'{"stream":"Step 2/2 : COPY missing /x"}\r\n'
        b'{"stream":"\\n"}\r\n'
        b'{"errorDetail":{"message":"COPY failed: file not found in build context or excluded by .dockerignore: stat missing: file does not exist"},"error":"COPY failed: file not found in build context or excluded by .dockerignore: stat missing: file does not exist"}\r\n'
    ), {
        '': (
            (
                'Sending build context to Docker daemon  3.072kB\r'
                '\r\n'
                'Step 1/2 : FROM busybox\n'
                ' ---> 52c8be21c97b\n'
                'Step 2/2 : COPY missing /x\n'
            ),
            'COPY failed: file not found in build context or excluded by .dockerignore: stat missing: file does not exist\n',
            1, None),
        '-q': (
            '',
            (
                'Sending build context to Docker daemon  3.072kB\r'
                '\r\n'
                'Step 1/2 : FROM busybox\n'
                ' ---> 52c8be21c97b\n'
                'Step 2/2 : COPY missing /x\n'
                'COPY failed: file not found in build context or excluded by .dockerignore: stat missing: file does not exist\n'
            ),
            1, None),
    }),
    'fail3': (400, (
        b'{"message":"dockerfile parse error line 2: unknown instruction: RUNN"}\n'
    ), {
        '': (
            'Sending build context to Docker daemon  3.072kB\r\r\n',
            'Error response from daemon: dockerfile parse error line 2: unknown instruction: RUNN\n',
            1, None),
        '-q': (
            '',
            'Sending build context to Docker daemon  3.072kB\r\r\nError response from daemon: dockerfile parse error line 2: unknown instruction: RUNN\n',
            1, None),
    }),
    'badtarget': (400, (
        b'{"message":"failed to reach build target nope in Dockerfile"}\n'
    ), {
        '': (
            'Sending build context to Docker daemon  3.072kB\r\r\n',
            'Error response from daemon: failed to reach build target nope in Dockerfile\n',
            1, None),
        '-q': (
            '',
            'Sending build context to Docker daemon  3.072kB\r\r\nError response from daemon: failed to reach build target nope in Dockerfile\n',
            1, None),
    }),
}

# The docker CLI's `load` of LOAD_PROGRESS_STREAM on a terminal (script(1), stty cols 200 / 80),
# the tty's CR LF turned back into LF.
LOAD_PROGRESS_STREAM = b'{"status":"Loading layer","progressDetail":{"current":2048,"total":2048},"progress":"[==================================================\\u003e]  2.048kB/2.048kB","id":"b8ce231ff1c6"}\r\n{"status":"Loading layer","progressDetail":{"current":2048,"total":2048},"progress":"[==================================================\\u003e]  2.048kB/2.048kB","id":"b8ce231ff1c6"}\r\n{"stream":"Loaded image: bhtest:ok\\n"}\r\n'
TTY_LOAD_200 = b'\n\x1b[1A\x1b[2K\rb8ce231ff1c6: Loading layer [==================================================>]  2.048kB/2.048kB\r\x1b[1B\x1b[1A\x1b[2K\rb8ce231ff1c6: Loading layer [==================================================>]  2.048kB/2.048kB\r\x1b[1BLoaded image: bhtest:ok\n'
TTY_LOAD_80 = b'\n\x1b[1A\x1b[2K\rb8ce231ff1c6: Loading layer  2.048kB/2.048kB\r\x1b[1B\x1b[1A\x1b[2K\rb8ce231ff1c6: Loading layer  2.048kB/2.048kB\r\x1b[1BLoaded image: bhtest:ok\n'


def _context_like_the_recording(p: Path) -> Path:
    """The recordings were made with this context: 3 entries of under 512 bytes -> 3.072kB."""
    write(p / "Dockerfile", "FROM busybox\nLABEL x=y\nRUN echo out; echo err >&2\nCOPY f /f\nENV A=b\nCMD [\"sh\"]\n")
    write(p / "f", "data\n")
    return p


@pytest.mark.parametrize("name", list(RECORDED_BUILDS))
@pytest.mark.parametrize("quiet", ["", "-q"])
def test_build_output_is_the_docker_cli_s(tmp_path, daemon, name, quiet):
    status, body, outputs = RECORDED_BUILDS[name]
    daemon.routes[("POST", "/build")] = (status, "application/json", body)
    ctx = _context_like_the_recording(tmp_path / "ctx")
    iidfile = tmp_path / "iid"
    r = dockyard(daemon.host, "build", *([quiet] if quiet else []), "--iidfile", str(iidfile), str(ctx))
    out, err, code, iid = outputs[quiet]
    out = "".join(out)
    assert r.stdout.decode() == out
    assert r.stderr.decode() == "".join(err).format(iidfile=iidfile)
    assert r.returncode == code
    if iid is None:
        assert not iidfile.exists()
    else:
        assert iidfile.read_text() == (out if iid == "OUT" else iid)


def test_build_removes_a_stale_iidfile_first(tmp_path, daemon):
    status, body, _ = RECORDED_BUILDS["fail5"]
    daemon.routes[("POST", "/build")] = (status, "application/json", body)
    iidfile = write(tmp_path / "iid", "stale")
    r = dockyard(daemon.host, "build", "--iidfile", str(iidfile), str(_context_like_the_recording(tmp_path / "c")))
    assert r.returncode == 1 and not iidfile.exists()


def test_load_output_on_a_terminal_and_elsewhere():
    msgs = [json.loads(line) for line in LOAD_PROGRESS_STREAM.splitlines()]
    for width, expected in ((200, TTY_LOAD_200), (80, TTY_LOAD_80)):
        out = io.StringIO()
        display_stream(iter(msgs), out, is_terminal=True, width=width)
        assert out.getvalue().encode() == expected
    out = io.StringIO()
    display_stream(iter(msgs), out, is_terminal=False)
    assert out.getvalue() == "Loaded image: bhtest:ok\n"  # progress bars only on a terminal


def test_jsonmessage_status_ids_aux_and_errors():
    seen = []
    out = io.StringIO()
    display_stream(iter([
        {"status": "Pulling from library/busybox", "id": "latest"},
        {"status": "Pulling fs layer", "progressDetail": {}, "id": "abc"},
        {"status": "Downloading", "progressDetail": {"current": 5, "total": 10}, "progress": "[=>]", "id": "abc"},
        {"aux": {"ID": "sha256:x"}},
        {"status": "Digest: sha256:y"},
        {"stream": "no newline"},
    ]), out, aux=seen.append)
    assert out.getvalue() == "latest: Pulling from library/busybox\nabc: Pulling fs layer\nDigest: sha256:y\nno newline"
    assert seen == [{"ID": "sha256:x"}]
    with pytest.raises(JSONError) as e:
        display_stream(iter([{"stream": "a\n"}, {"errorDetail": {"code": 3, "message": "boom"}, "error": "boom"},
                             {"stream": "never\n"}]), io.StringIO())
    assert (e.value.message, e.value.code) == ("boom", 3)
    with pytest.raises(JSONError) as e:
        display_stream(iter([{"errorDetail": {"code": 401, "message": "x"}}]), io.StringIO())
    assert e.value.message == "authentication is required"


def test_progress_string_is_go_s():
    assert progress_string({"current": 3072}) == " 3.072kB"
    assert progress_string({}) == ""
    assert progress_string({"current": 5, "units": "items"}) == "5 items"
    assert progress_string({"current": 512, "total": 1024}, width=80) == "    512B/1.024kB"
    assert progress_string({"current": 512, "total": 1024}, width=120) == \
        "[" + "=" * 25 + ">" + " " * 25 + "]     512B/1.024kB"
    assert progress_string({"current": 2000, "total": 1024}, width=80) == "     2kB"
    assert progress_string({"current": 25, "total": 100, "start": 1000}, width=80, now=1030) == \
        "     25B/100B 1m30s"
    assert progress_string({"current": 1, "total": 2, "hidecounts": True}, width=120).endswith("] ")


def test_sending_context_progress_line():
    out = io.StringIO()
    p = ProgressLine(out, "Sending build context to Docker daemon", is_terminal=False)
    p.update(10 << 20)
    p.done(10 << 20)
    assert out.getvalue() == "Sending build context to Docker daemon  10.49MB\r\r\n"
    out = io.StringIO()
    p = ProgressLine(out, "Sending build context to Docker daemon", is_terminal=True)
    p.update(100)  # under 512 kB: nothing yet
    p.update(600_000)
    p.update(700_000)  # not 512 kB more since the last update
    p.done(700_000)
    assert out.getvalue() == ("Sending build context to Docker daemon    600kB\r"
                              "Sending build context to Docker daemon    700kB\r\r\n")


# --------------------------------------------------------------------------- client-side errors and --print-ast


@pytest.mark.parametrize("args,stdin,message,code", [
    (["nosuchdir"], None, 'unable to prepare context: path "nosuchdir" not found\n', 1),
    (["-f", "-", "-"], None, "invalid argument: can't use stdin for both build context and dockerfile\n", 1),
    (["-t", "BAD", "."], None, 'invalid argument "BAD" for "-t, --tag" flag: invalid reference format: '
                               "repository name must be lowercase\nSee 'dockyard build --help'.\n", 125),
    (["--build-arg", "=x", "."], None, 'invalid argument "=x" for "--build-arg" flag: invalid environment '
                                       "variable: =x\nSee 'dockyard build --help'.\n", 125),
    (["--label", "=x", "."], None, 'invalid argument "=x" for "--label" flag: invalid label \'=x\': empty name\n'
                                   "See 'dockyard build --help'.\n", 125),
    (["-f", "-", "."], b"", None, 0),
    (["-"], b"FROM busybox\n", None, 0),
])
def test_build_client_side_errors(tmp_path, daemon, args, stdin, message, code):
    write(tmp_path / "Dockerfile", "FROM busybox\n")
    daemon.routes[("POST", "/build")] = OK_BUILD
    r = dockyard(daemon.host, "build", *args, cwd=tmp_path, input=stdin if stdin is not None else b"")
    if message is not None:
        assert r.stderr.decode() == message
    assert r.returncode == code, r.stderr
    assert bool(daemon.requests) == (code == 0)


def test_build_compress_sends_the_tar_gzipped(tmp_path, daemon):
    import gzip

    ctx = write(tmp_path / "ctx/Dockerfile", "FROM busybox\n").parent
    daemon.routes[("POST", "/build")] = OK_BUILD
    r = dockyard(daemon.host, "image", "build", "--compress", str(ctx))
    assert r.returncode == 0, r.stderr
    _, _, body = sent(daemon, "/build")
    assert [m.name for m in members(gzip.decompress(body))] == ["Dockerfile"]
    assert r.stdout.decode().startswith(f"Sending build context to Docker daemon {len(body):>7}B\r\r\n")


def test_build_needs_exactly_one_argument(tmp_path):
    r = dockyard("unix:///nonexistent", "build")
    assert r.returncode == 1
    assert r.stderr.decode().startswith("\"dockyard build\" requires exactly 1 argument.\nSee 'dockyard build --help'.")


def test_print_ast_needs_no_daemon(tmp_path):
    df = write(tmp_path / "Dockerfile", 'FROM busybox AS b\nCOPY --from=b /a /b\nRUN ["echo", "hi"]\n'
                                        "ENV A=1 B=2\nONBUILD RUN echo hi\nCMD\n")
    expected = ('(from "busybox" "AS" "b")\n(copy ["--from=b"] "/a" "/b")\n(run "echo" "hi")\n'
                '(env "A" "1" "=" "B" "2" "=")\n(onbuild (run "echo hi"))\n(cmd)\n')
    for args in (["-f", str(df)], [str(tmp_path)], ["-f", str(df), "ignored-context"]):
        r = dockyard("unix:///nonexistent", "build", "--print-ast", *args)
        assert (r.returncode, r.stdout.decode(), r.stderr) == (0, expected, b""), args
    r = dockyard("unix:///nonexistent", "build", "--print-ast", "-f", "-", input=df.read_bytes())
    assert r.stdout.decode() == expected


@pytest.mark.parametrize("text,error", [
    ("FROM busybox\nRUNN x\n", "Dockerfile:2: unknown instruction: RUNN"),
    ("# only a comment\n", "Dockerfile:0: file with no instructions"),
    ("FROM busybox\nENV A\n", "Dockerfile:2: ENV must have two arguments"),
    ('FROM busybox\nCMD ["a", 1]\n', None),
])
def test_print_ast_rejects_what_docker_rejects(tmp_path, text, error):
    from dockyard.dockerfile.parser import DockerfileError, parse

    df = write(tmp_path / "Dockerfile", text)
    with pytest.raises(DockerfileError) as e:
        parse(text)
    r = dockyard("unix:///nonexistent", "build", "--print-ast", "-f", str(df))
    assert (r.returncode, r.stdout, r.stderr.decode()) == (1, b"", str(e.value) + "\n")
    if error is not None and not error.startswith("Dockerfile:0"):
        assert r.stderr.decode() == error + "\n"


def test_print_ast_missing_file(tmp_path):
    r = dockyard("unix:///nonexistent", "build", "--print-ast", "-f", str(tmp_path / "nope"))
    assert (r.returncode, r.stderr.decode()) == (1, f"failed to read {tmp_path}/nope: no such file or directory\n")


# --------------------------------------------------------------------------- save / load / commit


def _on_a_terminal(host: str, *args: str, stdin_tty: bool = False):
    """Run dockyard with stdout (and maybe stdin) on a pseudo-terminal; (status, what the terminal showed, stderr)."""
    import pty

    master, slave = pty.openpty()
    p = subprocess.Popen([sys.executable, "-m", "dockyard.cli", "-H", host, *args], stdout=slave,
                         stdin=slave if stdin_tty else subprocess.DEVNULL, stderr=subprocess.PIPE,
                         env=dict(os.environ, PYTHONPATH=str(REPO)))
    os.close(slave)
    shown = b""
    while True:
        try:
            d = os.read(master, 65536)
        except OSError:
            break
        if not d:
            break
        shown += d
    err = p.stderr.read()
    p.wait(30)
    os.close(master)
    return p.returncode, shown, err


def test_save_refuses_a_terminal_and_load_an_empty_stdin(daemon):
    code, shown, err = _on_a_terminal(daemon.host, "save", "busybox")
    assert (code, shown, err) == (1, b"", b"cowardly refusing to save to a terminal. Use the -o flag or redirect\n")
    code, shown, err = _on_a_terminal(daemon.host, "load", stdin_tty=True)
    assert (code, err) == (1, b"requested load from stdin, but stdin is empty\n")
    assert daemon.requests == []


def test_save_to_stdout_and_to_a_file(tmp_path, daemon):
    payload = os.urandom(3 << 20)
    tmp_path = tmp_path / "out"
    tmp_path.mkdir()
    daemon.routes[("GET", "/images/get")] = (200, "application/x-tar", payload)
    r = dockyard(daemon.host, "save", "busybox", "other:1")
    assert (r.returncode, r.stdout == payload) == (0, True)
    assert daemon.requests[-1][1].endswith("/images/get?names=busybox&names=other%3A1")
    out = tmp_path / "img.tar"
    r = dockyard(daemon.host, "image", "save", "-o", str(out), "busybox")
    assert (r.returncode, r.stdout, out.read_bytes() == payload) == (0, b"", True)
    assert stat.S_IMODE(out.stat().st_mode) == 0o600  # os.CreateTemp + rename, as the docker CLI does
    assert [p.name for p in tmp_path.iterdir()] == ["img.tar"]  # no temporary file left
    r = dockyard(daemon.host, "save", "-o", str(tmp_path / "no/such/dir/x.tar"), "busybox")
    assert (r.returncode, r.stderr.decode()) == (
        1, f'failed to save image: invalid output path: directory "{tmp_path}/no/such/dir" does not exist\n')
    r = dockyard(daemon.host, "save", "-o", "/dev/null", "busybox")
    assert (r.returncode, r.stderr.decode()) == (1, 'failed to save image: invalid output path: "/dev/null" must '
                                                    "be a directory or a regular file: got a device\n")


def test_save_error_from_the_daemon(daemon):
    daemon.routes[("GET", "/images/get")] = (404, "application/json", b'{"message":"No such image: nope"}')
    r = dockyard(daemon.host, "save", "nope")
    assert (r.returncode, r.stdout, r.stderr.decode()) == (1, b"", "Error response from daemon: No such image: nope\n")


def test_load_from_file_and_stdin(tmp_path, daemon):
    daemon.routes[("POST", "/images/load")] = (200, "application/json", LOAD_PROGRESS_STREAM)
    tar = write(tmp_path / "in.tar", os.urandom(100_000)).read_bytes()
    for args, stdin in ((["load", "-i", str(tmp_path / "in.tar")], None), (["load"], tar), (["image", "load", "-q"], tar)):
        r = dockyard(daemon.host, *args, input=stdin)
        assert (r.returncode, r.stdout, r.stderr) == (0, b"Loaded image: bhtest:ok\n", b""), args
        method, target, headers, body = daemon.requests.pop()
        assert (method, re.sub(r"^/v[0-9.]+", "", target), body == tar) == ("POST", "/images/load?quiet=1", True)
        assert headers["content-type"] == "application/x-tar"
    code, shown, _ = _on_a_terminal(daemon.host, "load", "-i", str(tmp_path / "in.tar"))
    assert code == 0 and shown.replace(b"\r\n", b"\n").endswith(b"Loaded image: bhtest:ok\n")
    assert daemon.requests.pop()[1].endswith("/images/load?quiet=0")
    r = dockyard(daemon.host, "load", "-i", str(tmp_path / "nope.tar"))
    assert (r.returncode, r.stderr.decode()) == (1, f"open {tmp_path}/nope.tar: no such file or directory\n")
    daemon.routes[("POST", "/images/load")] = (200, "application/json",
                                               b'{"errorDetail":{"message":"bad tar"},"error":"bad tar"}\n')
    r = dockyard(daemon.host, "load", input=b"x")
    assert (r.returncode, r.stderr.decode()) == (1, "bad tar\n")


def test_commit(daemon):
    daemon.routes[("POST", "/commit")] = (201, "application/json", b'{"Id":"sha256:' + b"2" * 64 + b'"}\n')
    r = dockyard(daemon.host, "commit", "-a", "Me <m@x>", "-m", "a msg", "-c", "ENV A=1", "-c", 'CMD ["sh"]',
                 "--pause=false", "ctr", "repo/x:tag")
    assert (r.returncode, r.stdout.decode()) == (0, "sha256:" + "2" * 64 + "\n")
    method, target, headers, body = daemon.requests.pop()
    assert (method, body, headers["content-type"]) == ("POST", b"null\n", "application/json")
    assert parse_qsl(urlsplit(target).query, keep_blank_values=True) == [
        ("author", "Me <m@x>"), ("changes", "ENV A=1"), ("changes", 'CMD ["sh"]'), ("comment", "a msg"),
        ("container", "ctr"), ("pause", "0"), ("repo", "repo/x"), ("tag", "tag")]
    for ref, repo, tag in (("foo", "foo", "latest"), ("docker.io/library/foo:2", "foo", "2"),
                           ("localhost:5000/a:1", "localhost:5000/a", "1"), (None, "", "")):
        r = dockyard(daemon.host, "container", "commit", "ctr", *([ref] if ref else []))
        q = dict(parse_qsl(urlsplit(daemon.requests.pop()[1]).query, keep_blank_values=True))
        assert (q["repo"], q["tag"], "pause" in q, q["author"], q["comment"]) == (repo, tag, False, "", "")
    r = dockyard(daemon.host, "commit", "ctr", "Bad")
    assert (r.returncode, r.stderr.decode()) == (1, "invalid reference format: repository name must be lowercase\n")
    r = dockyard(daemon.host, "commit", "ctr", "a@sha256:" + "a" * 64)
    assert (r.returncode, r.stderr.decode()) == (1, "refusing to create a tag with a digest reference\n")
    daemon.routes[("POST", "/commit")] = (404, "application/json", b'{"message":"No such container: ctr"}')
    r = dockyard(daemon.host, "commit", "ctr")
    assert (r.returncode, r.stderr.decode()) == (1, "Error response from daemon: No such container: ctr\n")


def test_a_long_name_goes_into_the_pax_header_with_the_other_fields_that_need_one():
    """A path that a USTAR prefix could hold still goes into the PAX header when the entry needs
    one anyway (here for its uid), as Go writes it: read back, the name is whole."""
    name = "d" * 90 + "/" + "f" * 60
    blob = tar_header(name, mode=0o644, size=1, uid=3_000_000) + b"x".ljust(512, b"\0") + bytes(1024)
    (m,) = tarfile.open(fileobj=io.BytesIO(blob)).getmembers()
    assert (m.name, m.uid, m.size) == (name, 3_000_000, 1)
