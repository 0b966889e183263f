"""The dockyard CLI's container commands against a real engine, checked against docker's behaviour.

Run against the real dockerd with
``DOCKYARD_TEST_HOST=unix:///tmp/refdocker/docker.sock pytest tests/integration/test_cli_containers.py``
(which proves each assertion is Docker's behaviour), and against dockyardd by default.
"""

from __future__ import annotations

import io
import os
import re
import shutil
import sys
import tarfile
import time
import uuid

import pytest

DOCKER_CLI = shutil.which("docker", path="/usr/bin") or shutil.which("docker")
HEX64 = re.compile(r"^[0-9a-f]{64}\n$")


@pytest.fixture
def cleanup(engine):
    """Names/IDs of containers to remove when the test ends, whatever happened."""
    items: list[str] = []
    yield items
    if items:
        engine.cli("rm", "-f", *items, timeout=120)


@pytest.fixture
def ctr(name, cleanup):
    cleanup.append(name)
    return name


def wait_for(fn, what: str, timeout: float = 20.0):
    """Poll ``fn`` until it returns something truthy (a readiness wait, not a timing assertion)."""
    deadline = time.monotonic() + timeout
    while True:
        v = fn()
        if v:
            return v
        if time.monotonic() > deadline:
            pytest.fail(f"timed out waiting for {what}")
        time.sleep(0.1)


def run_detached(engine, name: str, *cmd: str, extra: tuple = ()) -> str:
    r = engine.cli("run", "-d", "--name", name, *extra, "busybox", *cmd)
    assert r.returncode == 0, r.stderr
    assert HEX64.match(r.stdout), r.stdout
    return r.stdout.strip()


def inspect(engine, fmt: str, ref: str) -> str:
    r = engine.cli("inspect", "--format", fmt, ref)
    assert r.returncode == 0, r.stderr
    return r.stdout


# -- run: output and exit codes ---------------------------------------------------------

def test_run_prints_the_output_and_exits_zero(engine):
    r = engine.cli("run", "--rm", "busybox", "echo", "hello", "world")
    assert (r.returncode, r.stdout, r.stderr) == (0, "hello world\n", "")


def test_run_keeps_stdout_and_stderr_apart_and_returns_the_exit_code(engine):
    r = engine.cli("run", "--rm", "busybox", "sh", "-c", "echo out; echo err >&2; exit 3")
    assert (r.returncode, r.stdout, r.stderr) == (3, "out\n", "err\n")


def test_run_feeds_stdin_with_i(engine):
    r = engine.cli("run", "--rm", "-i", "busybox", "sh", "-c", "tr a-z A-Z; echo done", input="abc\nxyz\n")
    assert (r.returncode, r.stdout) == (0, "ABC\nXYZ\ndone\n")


def test_run_env_workdir_user_hostname_entrypoint_labels(engine, ctr, tmp_path):
    env_file = tmp_path / "env"
    env_file.write_text("# a comment\nFROM_FILE=f\n")
    r = engine.cli("run", "--name", ctr, "-e", "A=1", "--env-file", str(env_file), "-w", "/tmp", "-u", "nobody",
                   "-h", "myhost", "-l", "team=core", "--entrypoint", "sh", "busybox",
                   "-c", "echo $A $FROM_FILE; pwd; id -un; hostname")
    assert (r.returncode, r.stdout) == (0, "1 f\n/tmp\nnobody\nmyhost\n"), r.stderr
    assert inspect(engine, '{{index .Config.Labels "team"}} {{json .Config.Entrypoint}}', ctr) == 'core ["sh"]\n'


def test_run_error_unknown_flag_value_is_125_with_dockers_message(engine):
    r = engine.cli("run", "--rm", "-m", "12x", "busybox", "true")
    d = engine.docker("run", "--rm", "-m", "12x", "busybox", "true")
    assert r.returncode == d.returncode == 125
    assert r.stderr == d.stderr.replace("docker", "dockyard")
    assert r.stderr == 'invalid argument "12x" for "-m, --memory" flag: invalid size: \'12x\'\n' \
                       "See 'dockyard run --help'.\n"


def test_run_error_unknown_flag_is_125(engine):
    r = engine.cli("run", "--no-such-flag", "busybox")
    d = engine.docker("run", "--no-such-flag", "busybox")
    assert r.returncode == d.returncode == 125
    assert r.stderr == d.stderr.replace("docker", "dockyard")


def test_run_error_name_in_use_is_125(engine, ctr):
    assert engine.cli("create", "--name", ctr, "busybox", "true").returncode == 0
    r = engine.cli("run", "--rm", "--name", ctr, "busybox", "true")
    assert r.returncode == 125
    assert r.stderr.startswith("dockyard: Error response from daemon: Conflict. The container name "
                               f'"/{ctr}" is already in use by container')
    assert r.stderr.endswith(" to be able to reuse that name.\nSee 'dockyard run --help'.\n")
    r = engine.cli("create", "--name", ctr, "busybox", "true")
    assert r.returncode == 1 and r.stderr.startswith("Error response from daemon: Conflict. The container name")


@pytest.mark.parametrize("cmd,status", [("/etc/passwd", 126), ("no-such-command", 127),
                                        ("/no/such/file", 127)])
def test_run_error_command_cannot_be_invoked(engine, cmd, status):
    r = engine.cli("run", "--rm", "busybox", cmd)
    d = engine.docker("run", "--rm", "busybox", cmd)
    assert r.returncode == d.returncode == status
    assert r.stderr.startswith("dockyard: Error response from daemon: ")
    assert r.stdout == ""


def test_run_missing_image_tries_a_pull(engine):
    image = f"dockyard-test-missing-{uuid.uuid4().hex[:8]}"
    r = engine.cli("run", "--rm", image)
    assert r.returncode == 125
    assert r.stderr.startswith(f"Unable to find image '{image}:latest' locally\n")
    assert "Error response from daemon" in r.stderr or "dockyard: " in r.stderr


def test_run_detach_conflicts_with_attach(engine):
    r = engine.cli("run", "-d", "-a", "stdout", "busybox", "true")
    d = engine.docker("run", "-d", "-a", "stdout", "busybox", "true")
    assert r.returncode == d.returncode == 1
    assert r.stderr == d.stderr == "Conflicting options: -a and -d\n"


@pytest.mark.parametrize("args", [("--rm", "--restart", "always"), ("--no-healthcheck", "--health-cmd", "true"),
                                  ("--cpus", "abc"), ("--ulimit", "nofile"), ("-e", "=x"), ("-a", "foo")])
def test_run_option_errors_are_dockers(engine, args):
    r = engine.cli("run", *args, "busybox", "true")
    d = engine.docker("run", *args, "busybox", "true")
    assert r.returncode == d.returncode == 125
    assert r.stderr == d.stderr.replace("docker", "dockyard")


def test_run_cidfile_and_rm(engine, tmp_path, cleanup):
    cid_path = tmp_path / "cid"
    r = engine.cli("run", "--rm", "--cidfile", str(cid_path), "busybox", "true")
    assert r.returncode == 0, r.stderr
    cid = cid_path.read_text()
    assert re.match(r"^[0-9a-f]{64}$", cid)
    cleanup.append(cid)
    r = engine.cli("ps", "-aq", "--no-trunc", "--filter", f"id={cid}")
    assert r.stdout == ""  # --rm removed it


# -- detached life cycle: ps, logs, stop, rm --------------------------------------------------

def test_detached_container_ps_logs_stop_rm(engine, ctr):
    cid = run_detached(engine, ctr, "sh", "-c", "echo hi; echo oops >&2; trap 'exit 0' TERM; sleep 300 & wait")

    r = engine.cli("ps", "--filter", f"name={ctr}")
    lines = r.stdout.splitlines()
    assert lines[0].startswith("CONTAINER ID   IMAGE     COMMAND                  CREATED ")
    assert lines[0].endswith("   PORTS     NAMES")
    assert len(lines) == 2 and lines[1].startswith(cid[:12] + "   busybox   \"sh -c 'echo hi; ech…\"   ")
    assert lines[1].endswith(f"   {ctr}") and " Up " in lines[1]
    fmt = "table {{.ID}}\t{{.Image}}\t{{.Command}}\t{{.Names}}\t{{.State}}"
    assert engine.cli("ps", "--format", fmt, "-f", f"name={ctr}").stdout == \
        engine.docker("ps", "--format", fmt, "-f", f"name={ctr}").stdout
    assert engine.cli("ps", "-q", "--filter", f"name={ctr}").stdout == cid[:12] + "\n"
    assert engine.cli("ps", "-q", "--no-trunc", "--filter", f"name={ctr}").stdout == cid + "\n"

    logs = wait_for(lambda: (lambda r: r if r.stdout == "hi\n" and r.stderr == "oops\n" else None)(
        engine.cli("logs", ctr)), "the container's output")
    assert logs.returncode == 0
    r = engine.cli("logs", "-t", ctr)
    assert re.match(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d+Z hi\n$", r.stdout), r.stdout
    r = engine.cli("logs", "--tail", "1", ctr)  # one line of the two streams (their order is not fixed)
    assert (r.stdout, r.stderr) in (("", "oops\n"), ("hi\n", ""))
    assert engine.cli("logs", "--since", "1h", ctr).stdout == "hi\n"

    r = engine.cli("stop", "-t", "10", ctr)
    assert (r.returncode, r.stdout) == (0, f"{ctr}\n")
    assert inspect(engine, "{{.State.Running}} {{.State.ExitCode}}", ctr) == "false 0\n"
    assert engine.cli("ps", "-q", "--filter", f"name={ctr}").stdout == ""
    assert engine.cli("ps", "-aq", "--filter", f"name={ctr}").stdout == cid[:12] + "\n"
    assert "Exited (0)" in engine.cli("ps", "-a", "--filter", f"name={ctr}").stdout

    r = engine.cli("rm", ctr)
    assert (r.returncode, r.stdout) == (0, f"{ctr}\n")
    assert engine.cli("ps", "-aq", "--filter", f"name={ctr}").stdout == ""


def test_rm_errors_and_force(engine, ctr):
    run_detached(engine, ctr, "sleep", "300")
    r = engine.cli("rm", ctr)
    d = engine.docker("rm", ctr)
    assert r.returncode == d.returncode == 1
    assert r.stderr == d.stderr
    assert "Stop the container before attempting removal or force remove" in r.stderr
    missing = f"nosuch-{uuid.uuid4().hex[:8]}"
    r = engine.cli("rm", missing)
    d = engine.docker("rm", missing)
    assert (r.returncode, r.stderr) == (d.returncode, d.stderr) == (1, f"Error: No such container: {missing}\n")
    r = engine.cli("rm", "-f", ctr, missing)
    assert (r.returncode, r.stdout, r.stderr) == (0, f"{ctr}\n", f"Error: No such container: {missing}\n")


def test_verbs_on_missing_containers_report_each_and_exit_1(engine):
    missing = f"nosuch-{uuid.uuid4().hex[:8]}"
    for verb in ("stop", "pause", "unpause", "wait", "restart", "kill", "top", "exec", "logs", "attach", "diff"):
        extra = ("true",) if verb == "exec" else ()
        r = engine.cli(verb, missing, *extra)
        d = engine.docker(verb, missing, *extra)
        assert r.returncode == d.returncode == 1, verb
        assert r.stderr == d.stderr, verb
    r = engine.cli("start", missing)
    assert r.returncode == 1
    assert r.stderr == f"Error response from daemon: No such container: {missing}\n" \
                       f"Error: failed to start containers: {missing}\n"


# -- inspect ------------------------------------------------------------------------------------

def test_inspect_formats(engine, ctr):
    assert engine.cli("create", "--name", ctr, "-e", "A=1", "-l", "k=v", "busybox", "echo", "x").returncode == 0
    for fmt in ("{{.State.Running}}", "{{json .Config.Cmd}}", "{{.Name}}", "{{range .Config.Env}}{{.}};{{end}}",
                "{{.Config.Labels.k}}", "{{.State.Status}} {{.HostConfig.NetworkMode}}", "{{json .Config.Labels}}"):
        r = engine.cli("inspect", "--format", fmt, ctr)
        d = engine.docker("inspect", "--format", fmt, ctr)
        assert (r.returncode, r.stdout) == (0, d.stdout), fmt
    assert engine.cli("inspect", "-f", "{{.State.Running}}", ctr).stdout == "false\n"
    assert engine.cli("container", "inspect", "-f", "{{.Name}}", ctr).stdout == f"/{ctr}\n"


def same_api_version(engine, *args: str):
    """Run both CLIs pinned to API 1.41 (what docker 20.10 speaks), so the daemon sends the same JSON."""
    import subprocess

    env = dict(engine.env, DOCKER_API_VERSION="1.41")
    ours = subprocess.run([sys.executable, "-m", "dockyard.cli", *args], env=env, capture_output=True, text=True)
    theirs = subprocess.run([DOCKER_CLI or "docker", "-H", engine.host, *args], env=env, capture_output=True,
                            text=True)
    return ours, theirs


def test_inspect_raw_json_is_dockers_byte_for_byte(engine, ctr):
    assert engine.cli("create", "--name", ctr, "busybox").returncode == 0
    r, d = same_api_version(engine, "inspect", ctr, "busybox")
    assert r.returncode == 0 and r.stdout == d.stdout
    assert r.stdout.startswith("[\n    {\n")


def test_inspect_missing_objects(engine, ctr):
    assert engine.cli("create", "--name", ctr, "busybox").returncode == 0
    missing = f"nosuch-{uuid.uuid4().hex[:8]}"
    r = engine.cli("inspect", "-f", "{{.Name}}", ctr, missing)
    assert (r.returncode, r.stdout, r.stderr) == (1, f"/{ctr}\n", f"Error: No such object: {missing}\n")
    r = engine.cli("inspect", missing)
    assert (r.returncode, r.stdout) == (1, "[]\n")
    r = engine.cli("inspect", "--type", "container", missing)
    d = engine.docker("inspect", "--type", "container", missing)
    assert (r.returncode, r.stdout, r.stderr) == (d.returncode, d.stdout, d.stderr)


# -- exec ----------------------------------------------------------------------------------------

def test_exec(engine, ctr):
    run_detached(engine, ctr, "sleep", "300")
    r = engine.cli("exec", "-e", "A=1", "-w", "/tmp", "-u", "nobody", ctr, "sh", "-c", "echo $A; pwd; id -un; exit 4")
    assert (r.returncode, r.stdout) == (4, "1\n/tmp\nnobody\n"), r.stderr
    r = engine.cli("exec", "-i", ctr, "cat", input="piped\n")
    assert (r.returncode, r.stdout) == (0, "piped\n")
    r = engine.cli("exec", ctr, "sh", "-c", "echo err >&2")
    assert (r.returncode, r.stdout, r.stderr) == (0, "", "err\n")
    r = engine.cli("exec", "-d", ctr, "sh", "-c", "echo detached > /tmp/d")
    assert (r.returncode, r.stdout) == (0, "")
    assert wait_for(lambda: engine.cli("exec", ctr, "cat", "/tmp/d").stdout == "detached\n", "the detached exec")
    r = engine.cli("exec", ctr, "no-such-command")
    d = engine.docker("exec", ctr, "no-such-command")
    assert r.returncode == d.returncode != 0
    r = engine.cli("exec", ctr, "ps")
    assert r.returncode == 0 and "sleep 300" in r.stdout


def test_exec_in_a_stopped_container_fails(engine, ctr):
    assert engine.cli("create", "--name", ctr, "busybox").returncode == 0
    r = engine.cli("exec", ctr, "true")
    d = engine.docker("exec", ctr, "true")
    assert r.returncode == d.returncode == 1
    assert r.stderr == d.stderr


# -- TTY sessions, driven through a pseudo-terminal ---------------------------------------------------

def spawn(engine, *args):
    import pexpect

    return pexpect.spawn(sys.executable, ["-m", "dockyard.cli", *args], env=engine.env, timeout=30,
                         dimensions=(30, 100))


def test_run_it_is_a_terminal(engine, ctr):
    import pexpect

    child = spawn(engine, "run", "-it", "--name", ctr, "busybox", "sh")
    child.expect("# ")
    child.sendline("stty size; tty; echo h''i")
    child.expect("30 100\r\n")
    child.expect("/dev/pts/")
    child.expect("hi\r\n")
    child.expect("# ")
    child.setwinsize(40, 120)  # SIGWINCH -> resize
    child.sendline("sleep 1; stty size")
    child.expect("40 120\r\n")
    child.sendline("exit 3")
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 3


def test_run_it_detach_with_ctrl_p_ctrl_q_then_attach(engine, ctr):
    import pexpect

    child = spawn(engine, "run", "-it", "--name", ctr, "busybox", "sh")
    child.expect("# ")
    child.sendline("echo in''side")
    child.expect("inside\r\n")
    child.send("\x10\x11")  # ctrl-p ctrl-q
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 0
    assert inspect(engine, "{{.State.Running}}", ctr) == "true\n"

    child = spawn(engine, "attach", ctr)
    child.waitnoecho()  # the CLI put the terminal in raw mode: it is attached
    child.sendline("echo again''st")
    child.expect("against\r\n")
    child.sendline("exit 5")
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 5
    assert inspect(engine, "{{.State.Running}} {{.State.ExitCode}}", ctr) == "false 5\n"


def test_run_it_needs_a_terminal(engine):
    r = engine.cli("run", "-it", "--rm", "busybox", "true", input="")
    d = engine.docker("run", "-it", "--rm", "busybox", "true", input="")
    assert r.returncode == d.returncode == 1
    assert r.stderr == d.stderr == "the input device is not a TTY\n"


def test_exec_it(engine, ctr):
    import pexpect

    run_detached(engine, ctr, "sleep", "300")
    child = spawn(engine, "exec", "-it", ctr, "sh")
    child.expect("# ")
    child.sendline("tty; exit 2")
    child.expect("/dev/pts/")
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 2


# -- pause / unpause / wait / rename / diff / export / top / kill / restart ---------------------------

def test_pause_unpause(engine, ctr):
    run_detached(engine, ctr, "sleep", "300")
    r = engine.cli("pause", ctr)
    assert (r.returncode, r.stdout) == (0, f"{ctr}\n")
    assert inspect(engine, "{{.State.Status}} {{.State.Paused}}", ctr) == "paused true\n"
    assert "(Paused)" in engine.cli("ps", "--filter", f"name={ctr}").stdout
    r = engine.cli("pause", ctr)
    assert r.returncode == 1 and "is already paused" in r.stderr
    r = engine.cli("unpause", ctr)
    assert (r.returncode, r.stdout) == (0, f"{ctr}\n")
    assert inspect(engine, "{{.State.Status}}", ctr) == "running\n"


def test_wait_prints_exit_codes(engine, ctr, cleanup):
    run_detached(engine, ctr, "sh", "-c", "sleep 1; exit 7")
    other = ctr + "-b"
    cleanup.append(other)
    run_detached(engine, other, "true")
    r = engine.cli("wait", ctr, other)
    assert (r.returncode, r.stdout) == (0, "7\n0\n")


def test_kill_and_restart(engine, ctr):
    run_detached(engine, ctr, "sleep", "300")
    r = engine.cli("kill", "-s", "KILL", ctr)
    assert (r.returncode, r.stdout) == (0, f"{ctr}\n")
    assert engine.cli("wait", ctr).stdout == "137\n"
    r = engine.cli("restart", "-t", "1", ctr)
    assert (r.returncode, r.stdout) == (0, f"{ctr}\n")
    assert inspect(engine, "{{.State.Running}} {{.RestartCount}}", ctr).startswith("true ")
    r = engine.cli("stop", "-s", "KILL", ctr)
    assert (r.returncode, r.stdout) == (0, f"{ctr}\n")
    assert inspect(engine, "{{.State.ExitCode}}", ctr) == "137\n"


def test_rename(engine, ctr, cleanup):
    assert engine.cli("create", "--name", ctr, "busybox").returncode == 0
    new = ctr + "-new"
    cleanup.append(new)
    r = engine.cli("rename", ctr, new)
    assert (r.returncode, r.stdout) == (0, "")
    assert inspect(engine, "{{.Name}}", new) == f"/{new}\n"
    missing = f"nosuch-{uuid.uuid4().hex[:8]}"
    r = engine.cli("rename", missing, "x" + missing)
    d = engine.docker("rename", missing, "x" + missing)
    assert (r.returncode, r.stderr) == (d.returncode, d.stderr) == (1, d.stderr)


def test_diff_export_top(engine, ctr, tmp_path):
    run_detached(engine, ctr, "sh", "-c", "mkdir /data && echo x > /data/file && rm /etc/group && sleep 300")
    wait_for(lambda: "A /data/file" in engine.cli("diff", ctr).stdout, "the container's changes")
    r = engine.cli("diff", ctr)
    d = engine.docker("diff", ctr)
    assert r.returncode == 0 and sorted(r.stdout.splitlines()) == sorted(d.stdout.splitlines())  # daemon order
    assert set(r.stdout.splitlines()) >= {"A /data", "A /data/file", "C /etc", "D /etc/group"}

    out = tmp_path / "c.tar"
    r = engine.cli("export", "-o", str(out), ctr)
    assert (r.returncode, r.stdout) == (0, "")
    with tarfile.open(out) as t:
        names = set(t.getnames())
        assert "data/file" in names and "bin/busybox" in names and "etc/group" not in names
        assert t.extractfile("data/file").read() == b"x\n"
    r = engine.cli("export", ctr, input=b"")
    assert r.returncode == 0
    with tarfile.open(fileobj=io.BytesIO(r.stdout)) as t:
        assert "data/file" in t.getnames()

    r = engine.cli("top", ctr, "-o", "pid,user,args")
    d = engine.docker("top", ctr, "-o", "pid,user,args")
    assert r.returncode == 0 and r.stdout == d.stdout  # (the default columns include a moving %CPU)
    r = engine.cli("top", ctr)
    assert re.match(r"^UID +PID +PPID +C +STIME +TTY +TIME +CMD\n", r.stdout) and "sleep 300" in r.stdout
    r = engine.cli("top", ctr, "-o", "pid,comm")
    assert r.stdout.splitlines()[0].split() == ["PID", "COMMAND"]


# -- start -a / attach -------------------------------------------------------------------------------

def test_create_then_start_attached(engine, ctr):
    r = engine.cli("create", "--name", ctr, "busybox", "sh", "-c", "echo started; exit 4")
    assert r.returncode == 0 and HEX64.match(r.stdout)
    r = engine.cli("start", "-a", ctr)
    assert (r.returncode, r.stdout) == (4, "started\n")
    r = engine.cli("start", ctr)
    assert (r.returncode, r.stdout) == (0, f"{ctr}\n")


def test_start_interactive(engine, ctr):
    assert engine.cli("create", "-i", "--name", ctr, "busybox", "cat").returncode == 0
    r = engine.cli("start", "-ai", ctr, input="echo me\n")
    assert (r.returncode, r.stdout) == (0, "echo me\n")


def test_attach_to_a_stopped_container(engine, ctr):
    assert engine.cli("create", "--name", ctr, "busybox").returncode == 0
    r = engine.cli("attach", ctr)
    d = engine.docker("attach", ctr)
    assert r.returncode == d.returncode == 1
    assert r.stderr == d.stderr == "You cannot attach to a stopped container, start it first\n"


def test_attach_non_tty_streams_output_until_exit(engine, ctr):
    run_detached(engine, ctr, "sh", "-c", "sleep 2; echo late; exit 6")
    r = engine.cli("attach", "--no-stdin", ctr)
    assert (r.returncode, r.stdout) == (6, "late\n")


# -- events, prune ----------------------------------------------------------------------------------

def test_events_for_a_container(engine, name):
    since = str(int(time.time()) - 1)
    r = engine.cli("run", "--rm", "--name", name, "busybox", "true")
    assert r.returncode == 0
    until = str(int(time.time()) + 1)
    args = ("events", "--since", since, "--until", until, "--filter", f"container={name}")
    r = engine.cli(*args)
    d = engine.docker(*args)
    assert r.returncode == 0 and r.stdout == d.stdout
    actions = [line.split(" ")[2] for line in r.stdout.splitlines()]
    assert actions[0] == "create" and "start" in actions and "die" in actions and actions[-1] == "destroy"
    r = engine.cli(*args, "--format", "{{.Type}} {{.Action}} {{.Actor.Attributes.name}}")
    assert r.stdout.splitlines()[0] == f"container create {name}"


def test_container_prune_with_a_label_filter(engine, ctr):
    label = f"dockyard-test={uuid.uuid4().hex}"
    r = engine.cli("create", "--name", ctr, "-l", label, "busybox")
    cid = r.stdout.strip()
    r = engine.cli("container", "prune", "-f", "--filter", f"label={label}")
    assert (r.returncode, r.stdout) == (0, f"Deleted Containers:\n{cid}\n\nTotal reclaimed space: 0B\n")
    r = engine.cli("container", "prune", "-f", "--filter", f"label={label}")
    assert (r.returncode, r.stdout) == (0, "Total reclaimed space: 0B\n")
    r = engine.cli("container", "prune", "--filter", f"label={label}", input="n\n")
    d = engine.docker("container", "prune", "--filter", f"label={label}", input="n\n")
    assert r.stdout == d.stdout == ("WARNING! This will remove all stopped containers.\n"
                                    "Are you sure you want to continue? [y/N] Total reclaimed space: 0B\n")


def test_system_prune_with_a_label_filter(engine, ctr):
    label = f"dockyard-test={uuid.uuid4().hex}"
    cid = engine.cli("create", "--name", ctr, "-l", label, "busybox").stdout.strip()
    r = engine.cli("system", "prune", "-f", "--filter", f"label={label}")
    assert r.returncode == 0, r.stderr
    assert r.stdout == f"Deleted Containers:\n{cid}\n\nTotal reclaimed space: 0B\n"


# -- system ---------------------------------------------------------------------------------------------

def test_version_info_df(engine):
    r = engine.cli("version")
    assert r.returncode == 0 and r.stdout.startswith("Client:\n Version:") and "\nServer:\n Engine:\n" in r.stdout
    r = engine.cli("version", "--format", "{{.Server.ApiVersion}}")
    assert r.returncode == 0 and re.match(r"^1\.\d+\n$", r.stdout)
    r = engine.cli("info")
    assert r.returncode == 0 and "\nServer:\n Containers: " in r.stdout
    d = engine.docker("info", "--format", "{{.Driver}} {{.OSType}}")
    assert engine.cli("info", "--format", "{{.Driver}} {{.OSType}}").stdout == d.stdout
    r = engine.cli("system", "df")
    assert r.returncode == 0
    assert r.stdout.splitlines()[0] == "TYPE            TOTAL     ACTIVE    SIZE      RECLAIMABLE"
    assert [line.split("  ")[0] for line in r.stdout.splitlines()[1:]] == [
        "Images", "Containers", "Local Volumes", "Build Cache"]
    r = engine.cli("system", "df", "-v")
    assert r.returncode == 0 and r.stdout.startswith("Images space usage:\n\nREPOSITORY ")


def test_ps_latest_last_and_size(engine, ctr, cleanup):
    assert engine.cli("create", "--name", ctr, "busybox").returncode == 0
    r = engine.cli("ps", "-l", "--format", "{{.Names}}", "--filter", f"name={ctr}")
    assert r.stdout == f"{ctr}\n"
    r = engine.cli("ps", "-n", "1", "-q", "--no-trunc", "--filter", f"name={ctr}")
    assert r.stdout == engine.cli("inspect", "-f", "{{.Id}}", ctr).stdout
    r = engine.cli("ps", "-a", "-s", "--filter", f"name={ctr}")
    assert re.search(r"   NAMES +SIZE$", r.stdout.splitlines()[0])
    assert "B (virtual " in r.stdout.splitlines()[1]
    r = engine.cli("ps", "-a", "--format", "{{json .}}", "--filter", f"name={ctr}")
    import json

    doc = json.loads(r.stdout)
    assert doc["Names"] == ctr and doc["State"] == "created" and doc["Size"].endswith(")")


def test_management_command_forms(engine, ctr):
    assert engine.cli("container", "create", "--name", ctr, "busybox").returncode == 0
    assert engine.cli("container", "ls", "-a", "-q", "-f", f"name={ctr}").stdout.strip()
    assert engine.cli("container", "list", "-aq", "-f", f"name={ctr}").stdout.strip()
    assert engine.cli("container", "rm", ctr).stdout == f"{ctr}\n"


def test_host_flag_and_environment(engine):
    env = dict(os.environ)
    env.pop("DOCKYARD_HOST", None)
    env["DOCKER_HOST"] = "unix:///nonexistent.sock"
    import subprocess

    r = subprocess.run([sys.executable, "-m", "dockyard.cli", "-H", engine.host, "ps", "-q", "-n", "1"],
                       env=env, capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
