"""Dockerfile builds through the classic builder protocol, checked against a real Docker.

Each case is built from the same context by dockyard and by the session's own dockerd
(``tests/oracle.py``); the images must agree on their config, their number of layers,
and their files (names, modes, owners, contents).
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import subprocess
import tarfile
import textwrap

import pytest

from tests.conftest import DOCKER_CLI
from tests.oracle import oracle  # noqa: F401 (fixture)

CONFIG_KEYS = ["Env", "Cmd", "Entrypoint", "WorkingDir", "User", "ExposedPorts", "Volumes", "Labels",
               "StopSignal", "Healthcheck", "Shell", "OnBuild"]

# Docker's runtime adds these to every container; they are not part of the image.
RUNTIME_FILES = {".dockerenv", "etc/hostname", "etc/hosts", "etc/resolv.conf", "etc/mtab", "dev/console",
                 "dev", "dev/pts", "dev/shm", "proc", "sys", "etc"}

CASES = {
    "metadata": """
        FROM busybox
        MAINTAINER someone <someone@example.com>
        LABEL a=1 "b c"=d
        ENV X=1 Y="two words"
        ENV Z ${X}-z
        EXPOSE 80 53/udp
        VOLUME /data ["/more"]
        USER nobody:nogroup
        WORKDIR /srv
        WORKDIR sub
        STOPSIGNAL SIGINT
        HEALTHCHECK --interval=5s --retries=2 CMD wget -q localhost || exit 1
        ONBUILD RUN echo child
        SHELL ["/bin/sh", "-ec"]
        ENTRYPOINT ["echo"]
        CMD ["hello"]
    """,
    "files": """
        FROM busybox
        COPY a.txt /
        COPY a.txt /dst/renamed.txt
        COPY dir /copied/
        COPY dir /copied-into
        COPY *.txt /globbed/
        COPY --chown=nobody:nogroup a.txt /owned.txt
        ADD archive.tar /unpacked/
        ADD a.txt /added.txt
        RUN mkdir -p /made && echo run > /made/f && rm /bin/vi && chmod 700 /made
        WORKDIR /newdir
        RUN ln -s /made/f /link
    """,
    "args": """
        ARG BASE=busybox
        FROM $BASE
        ARG GREETING=hi
        ARG NUM
        ENV FROM_ARG=${GREETING}-${NUM:-none}
        RUN echo "$GREETING $NUM" > /greeting
        CMD echo shell form
    """,
    "multistage": """
        FROM busybox AS builder
        RUN mkdir /out && echo artifact > /out/a && echo other > /out/b
        FROM busybox AS unused
        RUN echo never
        FROM busybox
        COPY --from=builder /out/a /final/a
        COPY --from=0 /out /final/all/
        CMD ["cat", "/final/a"]
    """,
}


def make_context(tmp_path, dockerfile: str) -> str:
    ctx = tmp_path / "ctx"
    (ctx / "dir" / "nested").mkdir(parents=True)
    (ctx / "a.txt").write_text("alpha\n")
    (ctx / "b.txt").write_text("beta\n")
    (ctx / "dir" / "one").write_text("1\n")
    (ctx / "dir" / "nested" / "two").write_text("2\n")
    os.chmod(ctx / "dir" / "one", 0o751)
    os.symlink("one", ctx / "dir" / "link-to-one")
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as t:
        info = tarfile.TarInfo("inner/x")
        info.size = 2
        t.addfile(info, io.BytesIO(b"x\n"))
    (ctx / "archive.tar").write_bytes(buf.getvalue())
    (ctx / "Dockerfile").write_text(textwrap.dedent(dockerfile).lstrip())
    return str(ctx)


def build(run_docker, ctx: str, tag: str, *extra: str) -> subprocess.CompletedProcess:
    r = run_docker("build", "-t", tag, *extra, ctx)
    assert r.returncode == 0, r.stdout + r.stderr
    return r


def image_facts(run_docker, tag: str) -> tuple[dict, int, dict]:
    info = json.loads(run_docker("image", "inspect", tag).stdout)[0]
    config = {k: info["Config"].get(k) for k in CONFIG_KEYS}
    config["Author"] = info.get("Author")
    for k, v in list(config.items()):
        if v in ({}, [], "", None):
            config[k] = None
    cid = run_docker("create", tag, "true").stdout.strip()
    try:
        raw = subprocess.run([DOCKER_CLI, "-H", run_docker.host, "export", cid], capture_output=True, check=True).stdout
    finally:
        run_docker("rm", "-f", cid)
    files = {}
    with tarfile.open(fileobj=io.BytesIO(raw)) as t:
        for m in t.getmembers():
            name = m.name.rstrip("/")
            if name in RUNTIME_FILES:
                continue
            digest = hashlib.sha256(t.extractfile(m).read()).hexdigest()[:16] if m.isfile() else ""
            files[name] = (m.type, oct(m.mode), m.uid, m.gid, m.linkname, digest)
    return config, len(info["RootFS"]["Layers"]), files


class Docker:
    """Calls the real docker CLI against one engine, classic builder on."""

    def __init__(self, host: str) -> None:
        self.host = host

    def __call__(self, *args: str, input=None) -> subprocess.CompletedProcess:
        return subprocess.run([DOCKER_CLI, "-H", self.host, *args], input=input, capture_output=True, text=True,
                              timeout=300, env=dict(os.environ, DOCKER_BUILDKIT="0"))


@pytest.mark.parametrize("case", sorted(CASES))
def test_build_matches_docker(engine, oracle, tmp_path, case, name):  # noqa: F811
    ctx = make_context(tmp_path, CASES[case])
    ours, theirs = Docker(engine.host), Docker(oracle.host)
    extra = ("--build-arg", "NUM=7", "--build-arg", "GREETING=hey") if case == "args" else ()
    build(ours, ctx, name, *extra)
    build(theirs, ctx, name, *extra)
    try:
        mine, docker = image_facts(ours, name), image_facts(theirs, name)
        assert mine[0] == docker[0], "config differs"
        assert mine[1] == docker[1], "number of layers differs"
        only_mine = {k: v for k, v in mine[2].items() if docker[2].get(k) != v}
        only_docker = {k: v for k, v in docker[2].items() if mine[2].get(k) != v}
        assert only_mine == only_docker == {}, "files differ"
    finally:
        ours("rmi", "-f", name)
        theirs("rmi", "-f", name)


def test_copy_chmod(engine, tmp_path, name):
    """--chmod is BuildKit's (the classic builder of Docker 20.10 refuses it); dockyard takes it."""
    ctx = make_context(tmp_path, """
        FROM busybox
        COPY --chmod=600 a.txt /private.txt
        COPY --chmod=751 dir /d/
    """)
    d = Docker(engine.host)
    build(d, ctx, name)
    try:
        out = d("run", "--rm", name, "stat", "-c", "%a %n", "/private.txt", "/d/one", "/d/nested/two").stdout
        assert out.split("\n")[:3] == ["600 /private.txt", "751 /d/one", "751 /d/nested/two"]
    finally:
        d("rmi", "-f", name)


def test_second_build_is_all_cache_and_a_change_rebuilds_from_its_step(engine, tmp_path, name):
    ctx = make_context(tmp_path, """
        FROM busybox
        ENV A=1
        COPY a.txt /a.txt
        RUN cat /a.txt > /copy
        COPY b.txt /b.txt
    """)
    d = Docker(engine.host)
    build(d, ctx, name)
    try:
        again = build(d, ctx, name).stdout
        assert again.count("Using cache") == 4
        with open(os.path.join(ctx, "a.txt"), "a") as f:
            f.write("changed\n")
        third = build(d, ctx, name).stdout
        steps = third.split("Step ")[1:]
        cached = ["Using cache" in s for s in steps]
        assert cached == [False, True, False, False, False]  # FROM, ENV cached; from COPY a.txt on: rebuilt
        assert d("run", "--rm", name, "cat", "/copy").stdout == "alpha\nchanged\n"
        nocache = build(d, ctx, name, "--no-cache").stdout
        assert "Using cache" not in nocache
    finally:
        d("rmi", "-f", name)


def test_run_output_and_failure(engine, tmp_path, name):
    ctx = make_context(tmp_path, """
        FROM busybox
        RUN echo visible-output
        RUN sh -c 'exit 3'
    """)
    d = Docker(engine.host)
    r = d("build", "-t", name, ctx)
    assert r.returncode != 0
    assert "visible-output" in r.stdout
    assert "The command '/bin/sh -c sh -c 'exit 3'' returned a non-zero code: 3" in r.stderr
    # Docker's classic rule: the failed step's container stays for inspection, unless --force-rm
    failed = r.stdout.split("Running in ")[-1].split()[0]
    assert d("inspect", "--format", "{{.State.ExitCode}}", failed).stdout == "3\n"
    d("rm", failed)
    r = d("build", "--force-rm", "-t", name, ctx)
    failed = r.stdout.split("Running in ")[-1].split()[0]
    assert r.returncode != 0 and d("inspect", failed).returncode != 0


@pytest.mark.parametrize("dockerfile,message", [
    ("FROM busybox\nRUNN echo\n", "unknown instruction: RUNN"),
    ("FROM busybox\nCOPY ../outside /x\n", "forbidden path outside the build context"),
    ("FROM busybox\nCOPY missing.txt /x\n", "missing.txt"),
    ("FROM busybox\nCOPY --from=nostage /a /b\n", "nostage"),
    ("", "cannot be empty"),
])
def test_bad_dockerfiles_are_refused(engine, tmp_path, name, dockerfile, message):
    ctx = make_context(tmp_path, "FROM busybox\n")
    with open(os.path.join(ctx, "Dockerfile"), "w") as f:
        f.write(dockerfile)
    r = Docker(engine.host)("build", "-t", name, ctx)
    assert r.returncode != 0 and message in r.stderr + r.stdout


def test_copy_through_a_symlink_leaving_the_context_stays_inside(engine, tmp_path, name):
    secret = tmp_path / "host-secret"
    secret.write_text("host data\n")
    ctx = make_context(tmp_path, """
        FROM busybox
        COPY escape /copied
    """)
    os.symlink(str(secret), os.path.join(ctx, "escape"))
    d = Docker(engine.host)
    r = d("build", "-t", name, ctx)
    try:
        if r.returncode == 0:
            out = d("run", "--rm", name, "cat", "/copied")
            assert "host data" not in out.stdout
        else:
            assert "escape" in r.stderr + r.stdout
    finally:
        d("rmi", "-f", name)


def test_context_tar_with_dotdot_entries_writes_nothing_outside(engine, tmp_path, name):
    import http.client
    import socket

    marker = f"/tmp/dockyard-build-escape-{name}"
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as t:
        df = b"FROM busybox\nCOPY . /ctx\n"
        i = tarfile.TarInfo("Dockerfile")
        i.size = len(df)
        t.addfile(i, io.BytesIO(df))
        evil = tarfile.TarInfo("../../../../../.." + marker)
        evil.size = 1
        t.addfile(evil, io.BytesIO(b"x"))

    class Conn(http.client.HTTPConnection):
        def connect(self):
            self.sock = socket.socket(socket.AF_UNIX)
            self.sock.connect(engine.socket)

    c = Conn("localhost", timeout=60)
    c.request("POST", f"/build?t={name}", body=buf.getvalue(), headers={"Content-Type": "application/x-tar"})
    c.getresponse().read()
    assert not os.path.exists(marker)
    Docker(engine.host)("rmi", "-f", name)


def test_dockerignore_and_target(engine, tmp_path, name):
    ctx = make_context(tmp_path, """
        FROM busybox AS first
        COPY . /ctx
        FROM busybox
        RUN false
    """)
    with open(os.path.join(ctx, ".dockerignore"), "w") as f:
        f.write("*.txt\n!b.txt\ndir/nested\n")
    d = Docker(engine.host)
    build(d, ctx, name, "--target", "first")
    try:
        listing = d("run", "--rm", name, "find", "/ctx", "-type", "f").stdout.split()
        assert "/ctx/b.txt" in listing and "/ctx/a.txt" not in listing
        assert "/ctx/dir/one" in listing and "/ctx/dir/nested/two" not in listing
    finally:
        d("rmi", "-f", name)


def test_onbuild_triggers_run_in_the_child(engine, tmp_path, name):
    ctx = make_context(tmp_path, """
        FROM busybox
        ONBUILD RUN echo triggered > /trigger
    """)
    d = Docker(engine.host)
    build(d, ctx, name + "-parent")
    child = os.path.join(ctx, "Dockerfile")
    with open(child, "w") as f:
        f.write(f"FROM {name}-parent\nRUN cat /trigger\n")
    try:
        r = build(d, ctx, name)
        assert "triggered" in r.stdout
        assert d("run", "--rm", name, "cat", "/trigger").stdout == "triggered\n"
    finally:
        d("rmi", "-f", name, name + "-parent")
