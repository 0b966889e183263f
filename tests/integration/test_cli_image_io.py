"""``dockyard save``, ``load`` and ``commit`` against a real engine, next to the docker CLI."""

from __future__ import annotations

import io
import json
import os
import re
import subprocess
import sys
import tarfile
import uuid

import pytest

from tests.conftest import DOCKER_CLI, REPO


@pytest.fixture
def repo(engine):
    """A unique repository name; every tag of it is removed at the end."""
    name = f"dockyard-io-{uuid.uuid4().hex[:10]}"
    yield name
    refs = engine.cli("images", "--format", "{{.Repository}}:{{.Tag}}", name).stdout.split()
    if refs:
        engine.cli("rmi", *refs)


def tar_names(data: bytes) -> list[str]:
    with tarfile.open(fileobj=io.BytesIO(data)) as t:
        return sorted(t.getnames())


def tar_file(data: bytes, name: str) -> bytes:
    with tarfile.open(fileobj=io.BytesIO(data)) as t:
        return t.extractfile(name).read()


def on_a_terminal(argv: list[str], env: dict, stdin_tty: bool = False) -> tuple[int, bytes, bytes]:
    """Run argv with stdout (and maybe stdin) on a pseudo-terminal: (status, what it showed, stderr)."""
    import pty

    master, slave = pty.openpty()
    p = subprocess.Popen(argv, stdout=slave, stdin=slave if stdin_tty else subprocess.DEVNULL,
                         stderr=subprocess.PIPE, env=env)
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
    p.wait(60)
    os.close(master)
    return p.returncode, shown, err


def test_save_to_a_file_and_to_stdout(engine, tmp_path):
    out = tmp_path / "bb.tar"
    r = engine.cli("save", "-o", str(out), "busybox")
    assert (r.returncode, r.stdout, r.stderr) == (0, "", "")
    data = out.read_bytes()
    assert oct(out.stat().st_mode & 0o777) == "0o600"
    names = tar_names(data)
    assert "manifest.json" in names and "repositories" in names
    manifest = json.loads(tar_file(data, "manifest.json"))
    assert manifest[0]["RepoTags"] == ["busybox:latest"]
    r = engine.cli("image", "save", "busybox", input=b"")
    assert r.returncode == 0
    assert tar_names(r.stdout) == names
    theirs = engine.docker("save", "busybox", input=b"")
    assert tar_names(theirs.stdout) == names
    assert json.loads(tar_file(theirs.stdout, "manifest.json")) == manifest


def test_save_errors_match_docker(engine, tmp_path):
    missing = f"nosuch-{uuid.uuid4().hex[:8]}"
    for args in (["save", missing], ["save", "-o", str(tmp_path / "no/dir/x.tar"), "busybox"], ["save"]):
        r = engine.cli(*args, input="")
        d = engine.docker(*args, input="")
        assert (r.returncode, r.stdout) == (d.returncode, d.stdout), args
        assert r.stderr == re.sub(r"\bdocker (save|commit)\b", r"dockyard \1", d.stderr), args


def test_save_refuses_a_terminal_load_an_empty_terminal(engine):
    env = dict(engine.env, PYTHONPATH=str(REPO))
    mine = on_a_terminal([sys.executable, "-m", "dockyard.cli", "save", "busybox"], env)
    assert mine == (1, b"", b"cowardly refusing to save to a terminal. Use the -o flag or redirect\n")
    mine = on_a_terminal([sys.executable, "-m", "dockyard.cli", "load"], env, stdin_tty=True)
    assert mine == (1, b"", b"requested load from stdin, but stdin is empty\n")
    if DOCKER_CLI:
        assert on_a_terminal([DOCKER_CLI, "-H", engine.host, "save", "busybox"], env)[2] == \
            b"cowardly refusing to save to a terminal. Use the -o flag or redirect\n"


def test_load_prints_what_docker_prints(engine, repo, tmp_path):
    assert engine.cli("tag", "busybox", f"{repo}:v1").returncode == 0
    saved = tmp_path / "img.tar"
    assert engine.cli("save", "-o", str(saved), f"{repo}:v1").returncode == 0
    assert engine.cli("rmi", f"{repo}:v1").returncode == 0
    r = engine.cli("load", "-i", str(saved))
    assert (r.returncode, r.stdout, r.stderr) == (0, f"Loaded image: {repo}:v1\n", "")
    assert engine.cli("rmi", f"{repo}:v1").returncode == 0
    d = engine.docker("load", "-i", str(saved))
    assert d.stdout == r.stdout
    for args, stdin in ((["load"], saved.read_bytes()), (["image", "load", "-q"], saved.read_bytes())):
        r = engine.cli(*args, input=stdin)
        d = engine.docker(*args, input=stdin)
        assert (r.returncode, r.stdout, r.stderr) == (d.returncode, d.stdout, d.stderr) == \
            (0, f"Loaded image: {repo}:v1\n".encode(), b""), args
    assert engine.cli("run", "--rm", f"{repo}:v1", "echo", "loaded").stdout == "loaded\n"


def test_load_errors_match_docker(engine, tmp_path):
    junk = b"this is not a tar archive" * 100
    for args, stdin in ((["load"], junk), (["load", "-i", str(tmp_path / "nope.tar")], None)):
        r = engine.cli(*args, input=stdin)
        d = engine.docker(*args, input=stdin)
        assert (r.returncode, r.stdout, r.stderr) == (d.returncode, d.stdout, d.stderr), args
        assert r.returncode == 1


def test_commit(engine, repo, name):
    r = engine.cli("run", "--name", name, "busybox", "sh", "-c", f"echo {repo} > /made")
    assert r.returncode == 0, r.stderr
    try:
        r = engine.cli("commit", "-a", "Me <me@example.com>", "-m", "a message", "-c", "ENV A=1",
                       "-c", 'CMD ["cat", "/made"]', name, f"{repo}:c1")
        assert r.returncode == 0, r.stderr
        assert re.fullmatch(r"sha256:[0-9a-f]{64}\n", r.stdout)
        doc = json.loads(engine.cli("image", "inspect", f"{repo}:c1").stdout)[0]
        assert doc["Id"] == r.stdout.strip()
        assert (doc["Author"], doc["Comment"]) == ("Me <me@example.com>", "a message")
        assert doc["Config"]["Cmd"] == ["cat", "/made"] and "A=1" in doc["Config"]["Env"]
        assert engine.cli("run", "--rm", f"{repo}:c1").stdout == f"{repo}\n"
        r = engine.cli("container", "commit", "--pause=false", name, repo)  # :latest implied
        assert r.returncode == 0, r.stderr
        assert json.loads(engine.cli("image", "inspect", repo).stdout)[0]["Id"] == r.stdout.strip()
        r = engine.cli("commit", name)  # no reference: a dangling image
        assert r.returncode == 0, r.stderr
        engine.cli("rmi", r.stdout.strip())
    finally:
        engine.cli("rm", "-f", name)


def test_commit_errors_match_docker(engine, repo, name):
    missing = f"nosuch-{uuid.uuid4().hex[:8]}"
    for args in (["commit", missing], ["commit", missing, "Bad"], ["commit"]):
        r = engine.cli(*args)
        d = engine.docker(*args)
        assert (r.returncode, r.stdout) == (d.returncode, d.stdout), args
        assert r.stderr == re.sub(r"\bdocker (save|commit)\b", r"dockyard \1", d.stderr), args
