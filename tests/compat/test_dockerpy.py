"""docker-py 7.2, unchanged, drives the engine as it drives Docker.

Run against the oracle with ``DOCKYARD_TEST_HOST=unix:///tmp/refdocker/docker.sock``: every
container and image made here carries a unique name and the session label ``LABEL``, and only
those are removed (prunes are always filtered by that label), so other users' objects survive.
"""

from __future__ import annotations

import io
import re
import socket as pysocket
import tarfile
import threading
import time
import uuid
from datetime import datetime, timedelta, timezone

import docker
import pytest
import requests
from docker.utils.socket import frames_iter, next_frame_header, read_exactly

from tests.helpers import tar_of, wait_for

SESSION = uuid.uuid4().hex[:8]
LABEL = "dockyard-compat"
LABELS = {LABEL: SESSION}
TS = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z ")


@pytest.fixture(scope="module")
def dc(engine):
    client = engine.client()
    yield client
    client.close()


@pytest.fixture
def made(dc):
    """Collects containers and images a test makes; removes them whatever the outcome."""

    class Made:
        containers: list[str] = []
        images: list[str] = []

    m = Made()
    m.containers, m.images = [], []
    yield m
    for ref in m.containers:
        try:
            dc.api.remove_container(ref, force=True)
        except docker.errors.NotFound:
            pass
        except docker.errors.APIError:
            pass
    for ref in m.images:
        try:
            dc.api.remove_image(ref, force=True)
        except docker.errors.APIError:
            pass


def legacy(dc) -> bool:
    """True for the oracle, dockerd 20.10, where a few error statuses predate Docker 23's fixes."""
    return dc.version()["Version"].startswith("20.10")


def uname(kind: str = "c") -> str:
    return f"dpy-{kind}-{SESSION}-{uuid.uuid4().hex[:6]}"


def create(dc, made, command, **kw):
    kw.setdefault("name", uname())
    labels = dict(LABELS, **kw.pop("labels", {}))
    c = dc.containers.create("busybox", command, labels=labels, **kw)
    made.containers.append(c.id)
    return c


def run_detached(dc, made, command, **kw):
    c = create(dc, made, command, **kw)
    c.start()
    c.reload()
    return c


def loop(trap: str = "") -> list[str]:
    """A PID 1 shell that stays up, answering signals as ``trap`` says, and exiting promptly on TERM
    by default (PID 1 has no default signal handlers)."""
    trap = trap or "trap 'exit 0' TERM"
    return ["sh", "-c", f"{trap}; while true; do sleep 0.1; done"]


# -- system ---------------------------------------------------------------------------
def test_ping_version_info(dc):
    assert dc.ping() is True
    v = dc.version()
    assert v["ApiVersion"] and v["Version"] and v["Os"] == "linux" and v["Arch"]
    assert v["MinAPIVersion"] and v["GoVersion"] is not None
    info = dc.info()
    for key in ("ID", "Containers", "ContainersRunning", "ContainersPaused", "ContainersStopped",
                "Images", "Driver", "ServerVersion", "OperatingSystem", "NCPU", "MemTotal",
                "DockerRootDir", "KernelVersion", "Name"):
        assert key in info, key
    assert info["Containers"] == (info["ContainersRunning"] + info["ContainersPaused"]
                                  + info["ContainersStopped"])
    assert info["Images"] >= 1


def test_info_counts_follow_containers(dc, made):
    before = dc.info()
    c = run_detached(dc, made, loop())
    after = dc.info()
    assert after["Containers"] >= before["Containers"] + 1
    assert after["ContainersRunning"] >= 1
    c.remove(force=True)


def test_df(dc, made):
    c = create(dc, made, ["true"])
    df = dc.df()
    for key in ("LayersSize", "Images", "Containers", "Volumes"):
        assert key in df, key
    mine = [x for x in df["Containers"] if x["Id"] == c.id]
    assert len(mine) == 1
    assert mine[0]["Names"] == [f"/{c.name}"] and mine[0]["Image"] == "busybox"
    assert mine[0]["State"] == "created" and mine[0]["SizeRootFs"] > 0
    bb = [i for i in df["Images"] if "busybox:latest" in (i.get("RepoTags") or [])]
    assert len(bb) == 1 and bb[0]["Containers"] >= 1 and bb[0]["Size"] > 0


# -- containers.run -----------------------------------------------------------------
def test_run_remove_returns_stdout_only(dc):
    n = uname()
    out = dc.containers.run("busybox", ["sh", "-c", "echo out; echo err >&2"], name=n,
                            labels=LABELS, remove=True)
    assert out == b"out\n"
    assert dc.containers.list(all=True, filters={"name": n}) == []


def test_run_returns_stderr_when_asked(dc):
    cmd = ["sh", "-c", "echo out; sleep 0.1; echo err >&2"]
    out = dc.containers.run("busybox", cmd, labels=LABELS, remove=True, stderr=True)
    assert out == b"out\nerr\n"
    out = dc.containers.run("busybox", cmd, labels=LABELS, remove=True, stdout=False, stderr=True)
    assert out == b"err\n"


def test_run_string_command_and_stream(dc):
    out = dc.containers.run("busybox", "echo hello world", labels=LABELS, remove=True)
    assert out == b"hello world\n"
    gen = dc.containers.run("busybox", ["sh", "-c", "echo a; echo b"], labels=LABELS,
                            remove=True, stream=True)
    assert b"".join(gen) == b"a\nb\n"


def test_run_with_options(dc):
    cmd = ["sh", "-c", 'echo "$FOO|$(pwd)|$(id -u)|$(hostname)"']
    out = dc.containers.run("busybox", cmd, labels=LABELS, remove=True, environment={"FOO": "bar"},
                            working_dir="/tmp", user="nobody", hostname="h0st", network_mode="none")
    assert out == b"bar|/tmp|65534|h0st\n"
    out = dc.containers.run("busybox", ["a", "b"], entrypoint=["echo", "e"], labels=LABELS, remove=True)
    assert out == b"e a b\n"


def test_run_failing_command_raises_container_error(dc):
    n = uname()
    with pytest.raises(docker.errors.ContainerError) as ei:
        dc.containers.run("busybox", ["sh", "-c", "echo out; echo boom >&2; exit 3"], name=n,
                          labels=LABELS, remove=True)
    e = ei.value
    assert e.exit_status == 3
    assert e.stderr == b"boom\n"
    assert e.image == "busybox"
    assert "returned non-zero exit status 3" in str(e)
    assert dc.containers.list(all=True, filters={"name": n}) == []


def test_run_missing_command_raises(dc, made):
    # Docker fails the start with 400 ("executable file not found"); the container stays, exit 127.
    n = uname()
    made.containers.append(n)
    with pytest.raises(docker.errors.APIError) as ei:
        dc.containers.run("busybox", ["no-such-binary"], name=n, labels=LABELS)
    assert ei.value.status_code == 400
    assert 'exec: "no-such-binary": executable file not found in $PATH' in ei.value.explanation
    assert dc.containers.get(n).attrs["State"]["ExitCode"] == 127


def test_run_tty_output(dc):
    out = dc.containers.run("busybox", ["sh", "-c", "echo out; echo err >&2"], tty=True, labels=LABELS,
                            remove=True)
    assert out == b"out\r\nerr\r\n"


def test_run_detach(dc, made):
    c = dc.containers.run("busybox", loop(), name=uname(), labels=LABELS, detach=True)
    made.containers.append(c.id)
    assert isinstance(c, docker.models.containers.Container)
    c.reload()
    assert c.status == "running"
    assert c.attrs["State"]["Running"] is True and c.attrs["State"]["Pid"] > 0
    assert c.image.tags and "busybox:latest" in c.image.tags
    assert c.labels == LABELS
    c.stop(timeout=5)
    c.reload()
    assert c.status == "exited" and c.attrs["State"]["ExitCode"] == 0


def test_run_detach_remove_sets_auto_remove(dc, made):
    n = uname()
    c = dc.containers.run("busybox", ["true"], name=n, labels=LABELS, detach=True, remove=True)
    made.containers.append(c.id)
    # sparse: a full list inspects each container, which races with the removal being waited for
    wait_for(lambda: not dc.containers.list(all=True, filters={"name": n}, sparse=True), what="auto-removed")


def test_create_reflects_config(dc, made):
    c = create(dc, made, ["sleep", "1"], environment=["A=1"], working_dir="/srv", user="nobody",
               hostname="hh", entrypoint=["/bin/sh", "-c"], stop_signal="SIGUSR1", tty=True,
               stdin_open=True, labels={"x": "y"}, network_mode="none")
    cfg = c.attrs["Config"]
    assert "A=1" in cfg["Env"] and cfg["WorkingDir"] == "/srv" and cfg["User"] == "nobody"
    assert cfg["Hostname"] == "hh" and cfg["Entrypoint"] == ["/bin/sh", "-c"]
    assert cfg["Cmd"] == ["sleep", "1"] and cfg["StopSignal"] == "SIGUSR1"
    assert cfg["Tty"] is True and cfg["OpenStdin"] is True
    assert cfg["Labels"] == dict(LABELS, x="y") and cfg["Image"] == "busybox"
    assert c.attrs["HostConfig"]["NetworkMode"] == "none"
    assert c.status == "created" and c.name == c.attrs["Name"].lstrip("/")
    assert c.short_id == c.id[:12] and len(c.id) == 64


# -- logs ---------------------------------------------------------------------------
def test_logs_stdout_stderr_tail_timestamps(dc, made):
    c = create(dc, made, ["sh", "-c", "echo one; sleep 0.1; echo two >&2; sleep 0.1; echo three"])
    c.start()
    assert c.wait(timeout=30)["StatusCode"] == 0
    assert c.logs() == b"one\ntwo\nthree\n"
    assert c.logs(stderr=False) == b"one\nthree\n"
    assert c.logs(stdout=False) == b"two\n"
    assert c.logs(tail=1) == b"three\n"
    assert c.logs(tail=2) == b"two\nthree\n"
    assert c.logs(tail=0) == b""
    lines = c.logs(timestamps=True).decode().splitlines()
    assert len(lines) == 3 and all(TS.match(line) for line in lines)
    assert [line.split(" ", 1)[1] for line in lines] == ["one", "two", "three"]


def _ts(line: str) -> datetime:
    stamp = line.split(" ", 1)[0].rstrip("Z")
    whole, _, frac = stamp.partition(".")
    return datetime.strptime(whole, "%Y-%m-%dT%H:%M:%S").replace(
        tzinfo=timezone.utc) + timedelta(microseconds=int((frac + "000000")[:6]))


def test_logs_since_and_until(dc, made):
    c = create(dc, made, ["sh", "-c", "echo early; sleep 1.5; echo late"])
    c.start()
    c.wait(timeout=30)
    lines = c.logs(timestamps=True).decode().splitlines()
    late = _ts(lines[1])
    cut = late - timedelta(seconds=0.7)
    assert c.logs(since=cut.timestamp()) == b"late\n"
    assert c.logs(until=cut.timestamp()) == b"early\n"
    assert c.logs(since=int(late.timestamp()) + 5) == b""
    assert c.logs(since=datetime.now(timezone.utc) - timedelta(hours=1)) == b"early\nlate\n"


def test_logs_stream_follow(dc, made):
    c = create(dc, made, ["sh", "-c", "echo start; sleep 2; echo end"])
    c.start()
    stream = c.logs(stream=True, follow=True)
    got = b""
    for chunk in stream:
        got += chunk
        if got == b"start\n":
            # the stream gives output as it is written, while the container still runs
            c.reload()
            assert c.status == "running"
    assert got == b"start\nend\n"


def test_logs_stream_without_follow_ends(dc, made):
    c = run_detached(dc, made, ["sh", "-c", "echo a; echo b; exec sleep 30"])
    wait_for(lambda: c.logs() == b"a\nb\n", what="logs")
    # docker-py follows by default when streaming: follow=False must end at the current end,
    # while the container still runs (a followed stream would last until its exit)
    assert b"".join(c.logs(stream=True, follow=False)) == b"a\nb\n"
    c.reload()
    assert c.status == "running"
    c.kill()


def test_logs_follow_on_exited_container_ends(dc, made):
    c = create(dc, made, ["echo", "done"])
    c.start()
    c.wait(timeout=30)
    assert b"".join(c.logs(stream=True, follow=True)) == b"done\n"


def test_logs_tty_container_are_raw(dc, made):
    c = create(dc, made, ["sh", "-c", "echo out; echo err >&2"], tty=True)
    c.start()
    c.wait(timeout=30)
    assert c.logs() == b"out\r\nerr\r\n"


# -- exec ---------------------------------------------------------------------------
def test_exec_run_output_and_exit_code(dc, made):
    c = run_detached(dc, made, loop())
    r = c.exec_run("echo hi")
    assert r.exit_code == 0 and r.output == b"hi\n"
    r = c.exec_run(["sh", "-c", "echo out; echo err >&2; exit 5"])
    assert r.exit_code == 5 and b"out\n" in r.output and b"err\n" in r.output
    r = c.exec_run(["sh", "-c", "echo out; echo err >&2"], stderr=False)
    assert r.output == b"out\n"


def test_exec_run_demux(dc, made):
    c = run_detached(dc, made, loop())
    r = c.exec_run(["sh", "-c", "echo out; echo err >&2"], demux=True)
    assert r.exit_code == 0 and r.output == (b"out\n", b"err\n")
    r = c.exec_run(["sh", "-c", "echo out"], demux=True)
    assert r.output == (b"out\n", None)


def test_exec_run_stream(dc, made):
    c = run_detached(dc, made, loop())
    r = c.exec_run(["sh", "-c", "echo 1; sleep 0.3; echo 2"], stream=True)
    assert r.exit_code is None
    assert b"".join(r.output) == b"1\n2\n"
    r = c.exec_run(["sh", "-c", "echo o; echo e >&2"], stream=True, demux=True)
    parts = list(r.output)
    assert (b"o\n", None) in parts and (None, b"e\n") in parts


def test_exec_run_environment_workdir_user(dc, made):
    c = run_detached(dc, made, loop(), environment=["FROMC=c"])
    r = c.exec_run(["sh", "-c", 'echo "$FOO $FROMC"'], environment={"FOO": "bar"})
    assert r.output == b"bar c\n"
    r = c.exec_run(["sh", "-c", 'echo "$FOO"'], environment=["FOO=baz"])
    assert r.output == b"baz\n"
    assert c.exec_run("pwd", workdir="/tmp").output == b"/tmp\n"
    assert c.exec_run("pwd").output == b"/\n"
    assert c.exec_run("id -u", user="nobody").output == b"65534\n"
    assert c.exec_run("id -u", user="65534:65534").output == b"65534\n"
    assert c.exec_run("id -u").output == b"0\n"


def test_exec_run_tty(dc, made):
    c = run_detached(dc, made, loop())
    r = c.exec_run(["sh", "-c", "test -t 1 && echo tty; echo err >&2"], tty=True)
    assert r.exit_code == 0 and r.output == b"tty\r\nerr\r\n"
    r = c.exec_run(["sh", "-c", "test -t 1 || echo notty"])
    assert r.output == b"notty\n"


def test_exec_run_detach(dc, made):
    c = run_detached(dc, made, loop())
    r = c.exec_run(["sh", "-c", "echo x > /tmp/detached"], detach=True)
    assert not r.output
    wait_for(lambda: c.exec_run("cat /tmp/detached").output == b"x\n", what="detached exec")


def test_exec_inspect_through_low_level_api(dc, made):
    c = run_detached(dc, made, loop())
    ex = dc.api.exec_create(c.id, ["sh", "-c", "exit 4"], environment=["Z=1"], workdir="/tmp")
    assert re.fullmatch(r"[0-9a-f]{64}", ex["Id"])
    info = dc.api.exec_inspect(ex["Id"])
    assert info["Running"] is False and info["ExitCode"] is None
    assert info["ContainerID"] == c.id
    assert info["ProcessConfig"]["entrypoint"] == "sh"
    assert info["ProcessConfig"]["arguments"] == ["-c", "exit 4"]
    assert dc.api.exec_start(ex["Id"]) == b""
    info = dc.api.exec_inspect(ex["Id"])
    assert info["ExitCode"] == 4 and info["Running"] is False and info["Pid"] > 0
    with pytest.raises(docker.errors.NotFound):
        dc.api.exec_inspect("0" * 64)


def test_exec_in_stopped_container_is_409(dc, made):
    c = create(dc, made, ["true"])
    with pytest.raises(docker.errors.APIError) as ei:
        c.exec_run("true")
    assert ei.value.status_code == 409 and "is not running" in ei.value.explanation


def test_exec_missing_binary(dc, made):
    c = run_detached(dc, made, loop())
    r = c.exec_run("no-such-binary")
    # dockerd: exit code 126 and the runtime's message on the exec's output
    assert r.exit_code == 126
    assert b'exec: "no-such-binary": executable file not found in $PATH' in r.output


def test_exec_in_paused_container_is_409(dc, made):
    c = run_detached(dc, made, loop())
    c.pause()
    try:
        with pytest.raises(docker.errors.APIError) as ei:
            c.exec_run("true")
        assert ei.value.status_code == 409 and "paused" in ei.value.explanation
    finally:
        c.unpause()


# -- attach -------------------------------------------------------------------------
def test_attach_stream_with_logs(dc, made):
    c = create(dc, made, ["sh", "-c", "echo hello; sleep 2; echo bye; echo last"])
    c.start()
    wait_for(lambda: c.logs() == b"hello\n", what="first line logged")
    got = b"".join(c.attach(stream=True, logs=True))
    # logs=True replays "hello"; the live stream carries the rest. docker-py reads the hijacked
    # socket underneath http.client's buffer, so bytes that arrive together with the response
    # headers (the replay) can be lost on the client side; it happens with dockerd too.
    assert got in (b"hello\nbye\nlast\n", b"bye\nlast\n")


def test_attach_before_start_sees_everything(dc, made):
    c = create(dc, made, ["sh", "-c", "echo one; sleep 0.3; echo two >&2"])
    chunks: list[bytes] = []
    t = threading.Thread(target=lambda: chunks.extend(c.attach(stream=True, stdout=True, stderr=True)))
    t.start()
    time.sleep(0.5)
    c.start()
    t.join(30)
    assert not t.is_alive()
    assert b"".join(chunks) == b"one\ntwo\n"


def test_attach_stdout_only(dc, made):
    c = create(dc, made, ["sh", "-c", "echo one; sleep 0.3; echo two >&2; sleep 0.3; echo three"])
    chunks: list[bytes] = []
    t = threading.Thread(target=lambda: chunks.extend(c.attach(stream=True, stdout=True, stderr=False)))
    t.start()
    time.sleep(0.5)
    c.start()
    t.join(30)
    assert b"".join(chunks) == b"one\nthree\n"


def test_attach_demux(dc, made):
    c = create(dc, made, ["sh", "-c", "echo o; sleep 0.3; echo e >&2"])
    parts: list = []
    t = threading.Thread(target=lambda: parts.extend(c.attach(stream=True, demux=True)))
    t.start()
    time.sleep(0.5)
    c.start()
    t.join(30)
    assert parts == [(b"o\n", None), (None, b"e\n")]


def test_attach_socket_stdin_stdout_multiplexed(dc, made):
    c = create(dc, made, ["sh", "-c", "cat; echo eof"], stdin_open=True)
    sock = c.attach_socket(params={"stdin": 1, "stdout": 1, "stderr": 1, "stream": 1})
    try:
        c.start()
        sock._sock.sendall(b"ping\n")
        sock._sock.settimeout(10)
        stream, size = next_frame_header(sock)
        assert stream == 1 and read_exactly(sock, size) == b"ping\n"
        sock._sock.shutdown(pysocket.SHUT_WR)  # closes the container's stdin
        stream, size = next_frame_header(sock)
        assert stream == 1 and read_exactly(sock, size) == b"eof\n"
        assert c.wait(timeout=30)["StatusCode"] == 0
    finally:
        sock.close()


def test_attach_socket_tty_is_raw(dc, made):
    c = create(dc, made, ["sh", "-c", "read line; echo \"got $line\""], stdin_open=True, tty=True)
    sock = c.attach_socket(params={"stdin": 1, "stdout": 1, "stream": 1})
    try:
        c.start()
        sock._sock.settimeout(10)
        sock._sock.sendall(b"abc\n")
        out = b""
        deadline = time.monotonic() + 10
        while b"got abc" not in out and time.monotonic() < deadline:
            chunk = sock.read(4096)
            if not chunk:
                break
            out += chunk
        # the terminal echoes the input, then the answer; no 8-byte frame headers
        assert b"got abc\r\n" in out and out.startswith(b"abc")
        assert c.wait(timeout=30)["StatusCode"] == 0
    finally:
        sock.close()


def test_attach_socket_frames_iter(dc, made):
    c = create(dc, made, ["sh", "-c", "echo o; sleep 0.2; echo e >&2"])
    sock = c.attach_socket(params={"stdout": 1, "stderr": 1, "stream": 1})
    try:
        c.start()
        sock._sock.settimeout(10)
        frames = list(frames_iter(sock, tty=False))
        assert frames == [(1, b"o\n"), (2, b"e\n")]
    finally:
        sock.close()


# -- lifecycle verbs ------------------------------------------------------------------
def test_stop_timeout(dc, made):
    quick = run_detached(dc, made, loop("trap 'exit 7' TERM"))
    stubborn = run_detached(dc, made, loop("trap '' TERM"))
    time.sleep(0.3)
    t0 = time.monotonic()
    quick.stop(timeout=10)
    fast = time.monotonic() - t0
    t0 = time.monotonic()
    stubborn.stop(timeout=1)
    slow = time.monotonic() - t0
    quick.reload()
    stubborn.reload()
    assert quick.attrs["State"]["ExitCode"] == 7
    assert stubborn.attrs["State"]["ExitCode"] == 137 and stubborn.status == "exited"
    assert fast < 5 and slow >= 1


def test_kill_with_signal(dc, made):
    c = run_detached(dc, made, loop("trap 'exit 9' USR1"))
    time.sleep(0.3)
    c.kill(signal="SIGUSR1")
    assert c.wait(timeout=30) == {"StatusCode": 9, "Error": None}
    c2 = run_detached(dc, made, loop("trap 'exit 12' USR2"))
    time.sleep(0.3)
    c2.kill(signal=12)
    assert c2.wait(timeout=30)["StatusCode"] == 12
    c3 = run_detached(dc, made, loop("trap '' TERM"))
    c3.kill()
    assert c3.wait(timeout=30)["StatusCode"] == 137
    with pytest.raises(docker.errors.APIError) as ei:
        c3.kill()
    assert ei.value.status_code == 409


def test_kill_bad_signal_is_400(dc, made):
    c = run_detached(dc, made, loop())
    with pytest.raises(docker.errors.APIError) as ei:
        c.kill(signal="SIGNOPE")
    assert ei.value.status_code == 400
    c.reload()
    assert c.status == "running"


def test_pause_unpause(dc, made):
    c = run_detached(dc, made, loop())
    c.pause()
    c.reload()
    assert c.status == "paused" and c.attrs["State"]["Paused"] is True
    with pytest.raises(docker.errors.APIError) as ei:
        c.pause()
    assert ei.value.status_code == 409
    c.unpause()
    c.reload()
    assert c.status == "running" and c.attrs["State"]["Paused"] is False
    with pytest.raises(docker.errors.APIError) as ei:
        c.unpause()
    # dockerd 20.10 answers a plain error (500) here; a conflict is a 409 (and pause's twin is one)
    assert ei.value.status_code == (500 if legacy(dc) else 409)
    assert "is not paused" in ei.value.explanation


def test_verbs_on_a_paused_container(dc, made):
    # each acts on the frozen process as Docker does: thaw as needed, no error
    c = run_detached(dc, made, loop())
    c.pause()
    c.kill()
    assert c.wait(timeout=30)["StatusCode"] == 137
    c = run_detached(dc, made, loop("trap '' TERM"))
    c.pause()
    c.stop(timeout=1)
    c.reload()
    assert c.status == "exited" and c.attrs["State"]["ExitCode"] == 137
    c = run_detached(dc, made, loop())
    c.pause()
    c.restart(timeout=1)
    c.reload()
    assert c.status == "running" and c.attrs["State"]["Paused"] is False
    c.pause()
    c.remove(force=True)
    with pytest.raises(docker.errors.NotFound):
        c.reload()


def test_restart(dc, made):
    c = run_detached(dc, made, loop())
    pid, started = c.attrs["State"]["Pid"], c.attrs["State"]["StartedAt"]
    time.sleep(1.1)
    c.restart(timeout=2)
    c.reload()
    assert c.status == "running"
    assert c.attrs["State"]["Pid"] != pid and c.attrs["State"]["StartedAt"] != started
    # an exited container restarts too
    c.stop(timeout=2)
    c.restart(timeout=1)
    c.reload()
    assert c.status == "running"


def test_rename(dc, made):
    c = create(dc, made, ["true"])
    other = create(dc, made, ["true"])
    new = uname()
    c.rename(new)
    c.reload()
    assert c.name == new
    assert dc.containers.get(new).id == c.id
    with pytest.raises(docker.errors.APIError) as ei:
        c.rename(other.name)
    assert ei.value.status_code == 409
    with pytest.raises(docker.errors.NotFound):
        dc.containers.get(f"dpy-none-{SESSION}")


def test_wait(dc, made):
    c = create(dc, made, ["sh", "-c", "sleep 0.5; exit 3"])
    c.start()
    assert c.wait() == {"StatusCode": 3, "Error": None}
    assert c.wait(condition="not-running")["StatusCode"] == 3
    running = run_detached(dc, made, loop())
    with pytest.raises(requests.exceptions.ConnectionError):
        running.wait(timeout=1)  # ReadTimeout (a ConnectionError subclass in docker-py's use)


def test_wait_removed(dc, made):
    c = create(dc, made, ["sh", "-c", "sleep 0.5"])
    result = {}
    t = threading.Thread(target=lambda: result.update(c.wait(condition="removed", timeout=30)))
    t.start()
    time.sleep(0.3)
    c.start()
    c.wait(timeout=30)
    c.remove()
    t.join(30)
    assert result.get("StatusCode") == 0


def test_top(dc, made):
    c = run_detached(dc, made, ["sh", "-c", "exec sleep 300"])
    top = c.top()
    assert top["Titles"][:2] == ["UID", "PID"] and "CMD" in top["Titles"]
    cmd = top["Titles"].index("CMD")
    assert any("sleep 300" in p[cmd] for p in top["Processes"])
    top = c.top(ps_args="-o pid,comm")
    assert top["Titles"] == ["PID", "COMMAND"]
    assert any(p[1] == "sleep" for p in top["Processes"])
    stopped = create(dc, made, ["true"])
    with pytest.raises(docker.errors.APIError) as ei:
        stopped.top()
    assert ei.value.status_code == 409


def test_diff(dc, made):
    c = create(dc, made, ["sh", "-c", "mkdir /newdir && touch /newdir/f /tmp/x && rm /bin/vi"])
    c.start()
    assert c.wait(timeout=30)["StatusCode"] == 0
    changes = {d["Path"]: d["Kind"] for d in c.diff()}
    assert changes["/newdir"] == 1 and changes["/newdir/f"] == 1 and changes["/tmp/x"] == 1
    assert changes["/tmp"] == 0 and changes["/bin"] == 0 and changes["/bin/vi"] == 2


def test_export(dc, made):
    c = create(dc, made, ["sh", "-c", "echo payload > /exported"])
    c.start()
    c.wait(timeout=30)
    data = b"".join(c.export())
    with tarfile.open(fileobj=io.BytesIO(data)) as tar:
        names = {n.lstrip("./").rstrip("/") for n in tar.getnames()}
        assert "exported" in names and "bin/sh" in names and "etc/passwd" in names
        member = next(m for m in tar.getmembers() if m.name.lstrip("./") == "exported")
        assert tar.extractfile(member).read() == b"payload\n"


def test_remove(dc, made):
    c = run_detached(dc, made, loop())
    with pytest.raises(docker.errors.APIError) as ei:
        c.remove()
    assert ei.value.status_code == 409
    c.remove(force=True, v=True)
    with pytest.raises(docker.errors.NotFound):
        c.reload()
    with pytest.raises(docker.errors.NotFound) as ei:
        c.remove()
    assert ei.value.status_code == 404


# -- list / get / prune -----------------------------------------------------------
def test_list_and_filters(dc, made):
    tag = uuid.uuid4().hex[:8]
    run = run_detached(dc, made, loop(), labels={"pick": tag})
    ex = create(dc, made, ["sh", "-c", "exit 3"], labels={"pick": tag, "which": "exited"})
    ex.start()
    ex.wait(timeout=30)
    fresh = create(dc, made, ["true"], labels={"pick": tag})
    by = lambda **f: {c.id for c in dc.containers.list(all=True, filters=dict(f, label=f"pick={tag}"))}
    assert by() == {run.id, ex.id, fresh.id}
    assert {c.id for c in dc.containers.list(filters={"label": f"pick={tag}"})} == {run.id}
    assert by(status="exited") == {ex.id}
    assert by(status="created") == {fresh.id}
    assert by(status="running") == {run.id}
    assert by(exited=3) == {ex.id}
    assert by(name=ex.name) == {ex.id}
    assert by(id=fresh.id[:12]) == {fresh.id}
    assert by(ancestor="busybox") == {run.id, ex.id, fresh.id}
    assert {c.id for c in dc.containers.list(all=True, filters={"label": ["which=exited", f"pick={tag}"]})} == {ex.id}
    assert len(dc.containers.list(all=True, limit=1, filters={"label": f"pick={tag}"})) == 1
    # newest first, like `docker ps`
    assert [c.id for c in dc.containers.list(all=True, filters={"label": f"pick={tag}"})] == [
        fresh.id, ex.id, run.id]
    sparse = dc.containers.list(all=True, sparse=True, filters={"label": f"pick={tag}"})
    assert {c.id for c in sparse} == {run.id, ex.id, fresh.id}
    assert all("State" in c.attrs and "Names" in c.attrs for c in sparse)


def test_list_before_since_and_quiet(dc, made):
    tag = uuid.uuid4().hex[:8]
    first, second, third = (create(dc, made, ["true"], labels={"order": tag}) for _ in range(3))
    label = {"label": f"order={tag}"}
    ids = lambda **f: [c.id for c in dc.containers.list(all=True, filters=dict(label, **f))]
    assert ids(before=second.name) == [first.id]
    assert ids(since=second.id) == [third.id]
    assert ids(before=third.id, since=first.name) == [second.id]
    quiet = dc.api.containers(all=True, quiet=True, filters=label)
    assert quiet == [{"Id": c} for c in (third.id, second.id, first.id)]


def test_list_bad_filter_is_400(dc):
    with pytest.raises(docker.errors.APIError) as ei:
        dc.containers.list(all=True, filters={"nosuchfilter": "x"})
    assert ei.value.status_code == 400


def test_get_by_name_and_short_id(dc, made):
    c = create(dc, made, ["true"])
    assert dc.containers.get(c.name).id == c.id
    assert dc.containers.get(c.id[:12]).id == c.id
    assert dc.containers.get(c.id).name == c.name
    with pytest.raises(docker.errors.NotFound) as ei:
        dc.containers.get(f"dpy-missing-{SESSION}")
    assert ei.value.status_code == 404
    assert f"No such container: dpy-missing-{SESSION}" in ei.value.explanation


def test_prune(dc, made):
    tag = uuid.uuid4().hex[:8]
    running = run_detached(dc, made, loop(), labels={"prune": tag})
    stopped = create(dc, made, ["true"], labels={"prune": tag})
    stopped.start()
    stopped.wait(timeout=30)
    created = create(dc, made, ["true"], labels={"prune": tag})
    res = dc.containers.prune(filters={"label": f"prune={tag}"})
    assert set(res["ContainersDeleted"]) == {stopped.id, created.id}
    assert isinstance(res["SpaceReclaimed"], int)
    running.reload()
    assert running.status == "running"
    res = dc.containers.prune(filters={"label": f"prune={tag}"})
    assert not res["ContainersDeleted"]


# -- events -------------------------------------------------------------------------
def test_events_since_until(dc, made):
    since = int(time.time()) - 1
    c = create(dc, made, ["sh", "-c", "exit 3"])
    c.start()
    c.wait(timeout=30)
    c.remove()
    until = int(time.time()) + 1
    time.sleep(1.1)
    evs = list(dc.events(decode=True, since=since, until=until, filters={"container": c.id}))
    actions = [e["Action"] for e in evs]
    for a in ("create", "start", "die", "destroy"):
        assert a in actions, (a, actions)
    assert actions.index("create") < actions.index("start") < actions.index("die") < actions.index("destroy")
    die = next(e for e in evs if e["Action"] == "die")
    assert die["Type"] == "container" and die["Actor"]["ID"] == c.id
    assert die["Actor"]["Attributes"]["exitCode"] == "3"
    assert die["Actor"]["Attributes"]["name"] == c.name
    assert die["Actor"]["Attributes"][LABEL] == SESSION
    assert die["status"] == "die" and die["id"] == c.id and die["from"] == "busybox"
    assert isinstance(die["time"], int) and isinstance(die["timeNano"], int)
    only_die = list(dc.events(decode=True, since=since, until=until,
                              filters={"container": c.id, "event": "die"}))
    assert [e["Action"] for e in only_die] == ["die"]
    by_label = list(dc.events(decode=True, since=since, until=until,
                              filters={"label": f"{LABEL}={SESSION}", "type": "container",
                                       "event": "destroy"}))
    assert c.id in {e["id"] for e in by_label}


def test_events_live_stream(dc, made):
    n = uname()
    events = dc.events(decode=True, filters={"container": n})
    seen: list[dict] = []

    def reader():
        for e in events:
            seen.append(e)
            if e["Action"] == "destroy":
                return

    t = threading.Thread(target=reader, daemon=True)
    t.start()
    time.sleep(0.5)
    out = dc.containers.run("busybox", ["sh", "-c", "exit 0"], name=n, labels=LABELS, remove=True)
    assert out == b""
    t.join(20)
    events.close()
    actions = [e["Action"] for e in seen]
    assert actions[:2] == ["create", "attach"] or actions[0] == "create"
    assert {"create", "start", "die", "destroy"} <= set(actions), actions
    assert next(e for e in seen if e["Action"] == "die")["Actor"]["Attributes"]["exitCode"] == "0"


def test_image_events(dc, made):
    since = int(time.time()) - 1
    repo = f"dpy-ev-{SESSION}"
    made.images.append(f"{repo}:e1")
    dc.images.get("busybox").tag(repo, "e1")
    dc.images.remove(f"{repo}:e1")
    until = int(time.time()) + 1
    time.sleep(1.1)
    iid = dc.images.get("busybox").id
    evs = list(dc.events(decode=True, since=since, until=until, filters={"type": "image", "image": iid}))
    assert all(e["Type"] == "image" and e["Actor"]["ID"] == iid for e in evs)
    tag = [i for i, e in enumerate(evs) if e["Action"] == "tag"
           and e["Actor"]["Attributes"]["name"] == f"{repo}:e1"]
    assert len(tag) == 1, evs
    # dockerd names the image by its id in an untag event
    assert any(e["Action"] == "untag" for e in evs[tag[0] + 1:]), evs


# -- images -------------------------------------------------------------------------
def _import(dc, made, repo: str, content: bytes, changes: list[str] | None = None) -> str:
    info = tarfile.TarInfo("hello.txt")
    data = tar_of([(info, content)])
    out = dc.api.import_image_from_data(data, repository=repo, changes=changes)
    m = re.search(r'"status":\s*"(sha256:[0-9a-f]{64})"', out if isinstance(out, str) else out.decode())
    assert m, out
    made.images.append(m.group(1))
    return m.group(1)


def test_images_list_and_get(dc):
    imgs = dc.images.list()
    bb = [i for i in imgs if "busybox:latest" in i.tags]
    assert len(bb) == 1
    img = dc.images.get("busybox")
    assert img.id == bb[0].id and img.id.startswith("sha256:") and len(img.id) == 71
    assert img.short_id == img.id[:19]
    assert dc.images.get("busybox:latest").id == img.id
    assert dc.images.get(img.id).id == img.id
    assert dc.images.get(img.id[7:19]).id == img.id
    assert img.attrs["Config"]["Cmd"] == ["sh"]
    assert img.attrs["Os"] == "linux" and img.attrs["Architecture"]
    assert img.attrs["RootFS"]["Type"] == "layers" and img.attrs["RootFS"]["Layers"]
    assert [i.id for i in dc.images.list(name="busybox")] == [img.id]
    assert img.id in {i.id for i in dc.images.list(filters={"reference": "busybox:*"})}
    assert dc.images.list(name=f"dpy-none-{SESSION}") == []


def test_image_history(dc):
    img = dc.images.get("busybox")
    hist = img.history()
    assert hist and hist[0]["Id"] == img.id
    for h in hist:
        for key in ("Id", "Created", "CreatedBy", "Tags", "Size", "Comment"):
            assert key in h, key
    assert "busybox:latest" in hist[0]["Tags"]
    assert sum(h["Size"] for h in hist) == img.attrs["Size"]


def test_image_tag_and_remove(dc, made):
    img = dc.images.get("busybox")
    repo = f"dpy-img-{SESSION}"
    made.images.append(f"{repo}:t1")
    made.images.append(f"{repo}:latest")
    assert img.tag(repo, "t1") is True
    assert img.tag(repo) is True
    img.reload()
    assert f"{repo}:t1" in img.tags and f"{repo}:latest" in img.tags
    assert dc.images.get(f"{repo}:t1").id == img.id
    res = dc.api.remove_image(f"{repo}:t1")
    assert res == [{"Untagged": f"{repo}:t1"}]
    dc.images.remove(f"{repo}:latest")
    with pytest.raises(docker.errors.ImageNotFound):
        dc.images.get(f"{repo}:t1")
    # busybox is still there
    assert dc.images.get("busybox").id == img.id


def test_image_tag_errors(dc):
    img = dc.images.get("busybox")
    with pytest.raises(docker.errors.APIError) as ei:
        img.tag("Bad Repo Name", "x")
    # dockerd 20.10 lets the reference parse error through as a 500; Docker 23+ answers 400
    assert ei.value.status_code == (500 if legacy(dc) else 400)
    with pytest.raises(docker.errors.ImageNotFound):
        dc.api.tag(f"dpy-none-{SESSION}", f"dpy-img-{SESSION}", "x")


def test_imported_image_remove_and_delete(dc, made):
    repo = f"dpy-imp-{SESSION}"
    iid = _import(dc, made, f"{repo}:v1", b"hello " + SESSION.encode())
    img = dc.images.get(f"{repo}:v1")
    assert img.id == iid and img.tags == [f"{repo}:v1"]
    hist = img.history()
    assert hist[0]["Id"] == iid and hist[0]["Comment"] == "Imported from -"
    res = dc.api.remove_image(f"{repo}:v1")
    assert {"Untagged": f"{repo}:v1"} in res and {"Deleted": iid} in res
    with pytest.raises(docker.errors.ImageNotFound):
        dc.images.get(iid)


def test_image_in_use_cannot_be_removed(dc, made):
    repo = f"dpy-use-{SESSION}"
    iid = _import(dc, made, f"{repo}:v1", b"in use " + SESSION.encode(), changes=['CMD ["true"]'])
    c = dc.containers.create(f"{repo}:v1", name=uname(), labels=LABELS)
    made.containers.append(c.id)
    with pytest.raises(docker.errors.APIError) as ei:
        dc.images.remove(iid)
    assert ei.value.status_code == 409
    c.remove()
    dc.images.remove(iid)
    with pytest.raises(docker.errors.ImageNotFound):
        dc.images.get(iid)


def test_images_prune(dc, made):
    repo = f"dpy-prn-{SESSION}"
    changes = [f"LABEL {LABEL}={SESSION}", f"LABEL prune={SESSION}"]
    old = _import(dc, made, f"{repo}:v", b"first " + SESSION.encode(), changes=changes)
    new = _import(dc, made, f"{repo}:v", b"second " + SESSION.encode(), changes=changes)
    assert old != new
    dangling = {i.id for i in dc.images.list(filters={"dangling": True, "label": f"prune={SESSION}"})}
    assert dangling == {old}
    res = dc.images.prune(filters={"dangling": True, "label": f"prune={SESSION}"})
    assert {"Deleted": old} in (res["ImagesDeleted"] or [])
    assert isinstance(res["SpaceReclaimed"], int)
    with pytest.raises(docker.errors.ImageNotFound):
        dc.images.get(old)
    assert dc.images.get(f"{repo}:v").id == new
    res = dc.images.prune(filters={"dangling": True, "label": f"prune={SESSION}"})
    assert not res["ImagesDeleted"]


# -- errors -------------------------------------------------------------------------
def test_error_types(dc, made):
    with pytest.raises(docker.errors.NotFound) as ei:
        dc.containers.get(f"dpy-none-{SESSION}")
    assert not isinstance(ei.value, docker.errors.ImageNotFound)
    assert ei.value.is_client_error() and ei.value.response.status_code == 404
    with pytest.raises(docker.errors.ImageNotFound) as ei:
        dc.images.get(f"dpy-none-{SESSION}:latest")
    assert ei.value.status_code == 404
    with pytest.raises(docker.errors.ImageNotFound):
        dc.containers.create(f"dpy-none-{SESSION}:latest", "true")
    with pytest.raises(docker.errors.ImageNotFound):
        dc.images.remove(f"dpy-none-{SESSION}:latest")


def test_name_conflict_is_409(dc, made):
    c = create(dc, made, ["true"])
    with pytest.raises(docker.errors.APIError) as ei:
        create(dc, made, ["true"], name=c.name)
    e = ei.value
    assert e.status_code == 409 and e.is_client_error()
    assert f'The container name "/{c.name}" is already in use by container "{c.id}"' in e.explanation


def test_invalid_name_is_400(dc, made):
    with pytest.raises(docker.errors.APIError) as ei:
        create(dc, made, ["true"], name="bad/name")
    assert ei.value.status_code == 400 and "Invalid container name" in ei.value.explanation


def test_low_level_create_and_inspect(dc, made):
    host_config = dc.api.create_host_config(auto_remove=False, network_mode="none", init=False)
    r = dc.api.create_container("busybox", ["true"], name=uname(), labels=LABELS,
                                host_config=host_config)
    made.containers.append(r["Id"])
    assert set(r) >= {"Id", "Warnings"}
    info = dc.api.inspect_container(r["Id"])
    for key in ("Id", "Created", "Path", "Args", "State", "Image", "ResolvConfPath", "HostnamePath",
                "HostsPath", "LogPath", "Name", "RestartCount", "Driver", "Platform", "MountLabel",
                "ProcessLabel", "AppArmorProfile", "HostConfig", "GraphDriver", "Mounts", "Config",
                "NetworkSettings"):
        assert key in info, key
    st = info["State"]
    for key in ("Status", "Running", "Paused", "Restarting", "OOMKilled", "Dead", "Pid", "ExitCode",
                "Error", "StartedAt", "FinishedAt"):
        assert key in st, key
    assert info["Image"].startswith("sha256:") and info["Driver"] == info["GraphDriver"]["Name"]


def test_resize_through_low_level_api(dc, made):
    c = run_detached(dc, made, ["sh", "-c", "trap 'exit 0' TERM; while true; do stty size; sleep 0.2; done"],
                     tty=True, stdin_open=True)
    dc.api.resize(c.id, height=33, width=77)
    wait_for(lambda: b"33 77" in c.logs(), what="resized tty")
    plain = run_detached(dc, made, loop())
    dc.api.resize(plain.id, height=10, width=10)  # no tty: Docker accepts and ignores it
    stopped = create(dc, made, ["true"], tty=True)
    with pytest.raises(docker.errors.APIError) as ei:
        dc.api.resize(stopped.id, height=10, width=10)
    assert ei.value.status_code == 409 and "is not running" in ei.value.explanation
