"""``dockyard volume ...`` next to ``docker volume ...`` on the same engine: the same bytes out.

Runs against the oracle too (``DOCKYARD_TEST_HOST=unix:///tmp/refdocker/docker.sock``), which is
shared: every volume has a unique name and this test's label, prunes are filtered by it, and the
``vols`` fixture removes what a test made whatever its outcome.

The docker CLI here is 20.10's (API 1.41); dockyard's CLI speaks the engine's version (1.44 with
dockyard). Where Docker changed volume prune at API 1.42 (anonymous volumes only, ``-a`` for all),
the two CLIs differ on dockyard on purpose, and the tests say which output belongs to which version.
"""

from __future__ import annotations

import os
import re
import uuid

import pytest

from tests.helpers import request

LABEL = "dockyard-test-cli-volume"
UNUSED_WARNING = ("WARNING! This will remove anonymous local volumes not used by at least one container.\n"
                  "Are you sure you want to continue? [y/N] ")
ALL_WARNING = ("WARNING! This will remove all local volumes not used by at least one container.\n"
               "Are you sure you want to continue? [y/N] ")


def api_version(engine) -> tuple[int, int]:
    v = request(engine.socket, "GET", "/_ping")[1].getheader("Api-Version")
    major, minor = v.split(".")
    return int(major), int(minor)


@pytest.fixture
def vols(engine):
    class Vols:
        tag = uuid.uuid4().hex[:8]
        names: list[str] = []
        containers: list[str] = []

        def name(self, stem: str) -> str:
            n = f"dyc-{self.tag}-{stem}"
            self.names.append(n)
            return n

        def create(self, stem: str, *flags: str) -> str:
            n = self.name(stem)
            r = engine.cli("volume", "create", "--label", f"{LABEL}={self.tag}", *flags, n)
            assert (r.returncode, r.stdout, r.stderr) == (0, n + "\n", "")
            return n

    v = Vols()
    v.names, v.containers = [], []
    yield v
    for cid in v.containers:
        request(engine.socket, "DELETE", f"/containers/{cid}?force=1")
    for n in v.names:
        request(engine.socket, "DELETE", f"/volumes/{n}?force=1")


def same(engine, *args, input=None):
    """Run both CLIs; their status, stdout and stderr must be identical."""
    r = engine.cli(*args, input=input)
    d = engine.docker(*args, input=input)
    assert (r.returncode, r.stdout, r.stderr) == (d.returncode, d.stdout, d.stderr), args
    return r


def test_create_prints_the_name_and_checks_its_flags(engine, vols):
    n = vols.name("a")
    assert same(engine, "volume", "create", "--label", f"{LABEL}={vols.tag}", n).stdout == n + "\n"
    hidden = vols.name("hidden")
    r = engine.cli("volume", "create", "--name", hidden)
    assert (r.returncode, r.stdout) == (0, hidden + "\n")
    r = same(engine, "volume", "create", "--name", "x1", "x2")
    assert (r.returncode, r.stderr) == (
        1, "conflicting options: either specify --name or provide positional arg, not both\n")
    bad = vols.name("bad")
    for args in (("-o", "foo=bar", bad), ("-d", "nope", bad), ("-o", "type=tmpfs", bad), ("a/b",)):
        r = same(engine, "volume", "create", *args)
        assert r.returncode == 1 and r.stderr.startswith("Error response from daemon: create "), r.stderr
    r = engine.cli("volume", "create", "--label", "=x", bad)
    assert r.returncode == 125
    assert r.stderr.splitlines()[0] == engine.docker("volume", "create", "--label", "=x", bad).stderr.splitlines()[0]
    assert r.stderr.splitlines()[0] == """invalid argument "=x" for "--label" flag: invalid label '=x': empty name"""


def test_ls_table_quiet_and_formats(engine, vols):
    names = [vols.create(stem) for stem in ("v10", "v2", "v1")]
    vols.create("opt", "-o", "type=tmpfs", "-o", "device=tmpfs", "--label", "second=2")
    f = ("--filter", f"label={LABEL}={vols.tag}")
    r = same(engine, "volume", "ls", *f)
    lines = r.stdout.splitlines()
    assert lines[0] == "DRIVER    VOLUME NAME"
    # natural order: v1 v2 v10
    assert [ln.split()[1] for ln in lines[1:]] == [f"dyc-{vols.tag}-opt", names[2], names[1], names[0]]
    assert same(engine, "volume", "list", "-q", *f).stdout.split() == [ln.split()[1] for ln in lines[1:]]
    same(engine, "volume", "ls", "-q", "--format", "table", *f)
    same(engine, "volume", "ls", "--format", "raw", *f)
    same(engine, "volume", "ls", "-q", "--format", "{{.Driver}} {{.Name}}", *f)
    same(engine, "volume", "ls", "--format", "json", "--filter", f"name={names[0]}")
    same(engine, "volume", "ls", "--format", "{{json .}}", "--filter", f"name={names[1]}")
    same(engine, "volume", "ls", "--format",
         'table {{.Name}}\t{{.Driver}}\t{{.Scope}}\t{{.Mountpoint}}\t{{.Links}}\t{{.Size}}\t{{.Label "second"}}', *f)
    same(engine, "volume", "ls", "--filter", "dangling=true", *f)
    same(engine, "volume", "ls", "--filter", f"name={vols.tag}-v1", *f)
    r = engine.cli("volume", "ls", "--filter", "nope=1")
    assert (r.returncode, r.stderr.lower()) == (1, "error response from daemon: invalid filter 'nope'\n")


def test_inspect(engine, vols):
    a = vols.create("a", "--label", "x=1")
    b = vols.create("b", "-o", "type=none", "-o", "o=bind", "-o", "device=/tmp")
    r = same(engine, "volume", "inspect", a, b)
    assert r.stdout.startswith("[\n    {\n        \"CreatedAt\": ")
    same(engine, "volume", "inspect", "--format", "{{.Name}} {{.Driver}} {{.Mountpoint}} {{json .Options}}", a, b)
    same(engine, "volume", "inspect", "-f", "json", b)
    missing = vols.name("missing")
    r = same(engine, "volume", "inspect", missing, a)
    assert r.returncode == 1
    assert r.stderr == f"Error: No such volume: {missing}\n"
    r = engine.cli("inspect", "--type", "volume", a)
    assert r.stdout == engine.docker("inspect", "--type", "volume", a).stdout


def test_rm(engine, vols):
    missing = vols.name("missing")
    outputs = []
    for cli in (engine.cli, engine.docker):
        a, b = vols.create("a"), vols.create("b")
        r = cli("volume", "rm", a, missing, b)
        outputs.append((r.returncode, r.stdout, r.stderr))
    assert outputs[0] == outputs[1] == (
        1, f"{vols.names[1]}\n{vols.names[2]}\n", f"Error: No such volume: {missing}\n")
    r = same(engine, "volume", "rm", "-f", missing)
    assert (r.returncode, r.stdout) == (0, f"{missing}\n")
    used = vols.create("used")
    status, _, out = request(engine.socket, "POST", "/containers/create",
                             {"Image": "busybox", "HostConfig": {"Binds": [f"{used}:/data"]}})
    assert status == 201, out
    vols.containers.append(out["Id"])
    r = same(engine, "volume", "remove", "-f", used)
    assert (r.returncode, r.stderr) == (1, f"Error response from daemon: remove {used}: volume is in use - "
                                           f"[{out['Id']}]\n")


def test_prune(engine, vols):
    modern = api_version(engine) >= (1, 42)
    f = ("--filter", f"label={LABEL}={vols.tag}")
    named = vols.create("named")
    with open(os.path.join(engine.cli("volume", "inspect", "-f", "{{.Mountpoint}}", named).stdout.strip(),
                           "f"), "wb") as out:
        out.write(b"p" * 2345)

    # The docker CLI speaks API 1.41: the old warning, and the daemon prunes named volumes too.
    declined = "Total reclaimed space: 0B\n"
    r = engine.docker("volume", "prune", *f, input="n\n")
    assert (r.returncode, r.stdout, r.stderr) == (0, ALL_WARNING + declined, "")
    r = engine.cli("volume", "prune", *f, input="n\n")
    assert (r.returncode, r.stdout, r.stderr) == (0, (UNUSED_WARNING if modern else ALL_WARNING) + declined, "")
    assert engine.cli("volume", "ls", "-q", *f).stdout == f"{named}\n"

    r = engine.cli("volume", "prune", "-f", *f)
    if modern:
        # API 1.42+: anonymous volumes only; -a for the named ones
        assert (r.returncode, r.stdout) == (0, "Total reclaimed space: 0B\n")
        r = engine.cli("volume", "prune", "-a", *f, input="y\n")
        assert r.stdout.startswith(ALL_WARNING)
        r_out = r.stdout[len(ALL_WARNING):]
    else:
        r_out = r.stdout
        a = engine.cli("volume", "prune", "-a", "-f", *f)
        assert (a.returncode, a.stderr) == (
            1, '"--all" requires API version 1.42, but the Docker daemon API version is 1.41\n')
    assert (r.returncode, r_out) == (0, f"Deleted Volumes:\n{named}\n\nTotal reclaimed space: 2.345kB\n")

    again = vols.create("again")
    r = engine.docker("volume", "prune", "-f", *f)
    assert (r.returncode, r.stdout) == (0, f"Deleted Volumes:\n{again}\n\nTotal reclaimed space: 0B\n")


def test_system_df_shows_volume_usage(engine, vols):
    n = vols.create("df")
    path = engine.cli("volume", "inspect", "-f", "{{.Mountpoint}}", n).stdout.strip()
    with open(os.path.join(path, "data"), "wb") as out:
        out.write(b"d" * 12000)

    def row(cli):
        r = cli("system", "df", "-v")
        assert r.returncode == 0, r.stderr
        return [ln.split() for ln in r.stdout.splitlines() if ln.startswith(n)]

    assert row(engine.cli) == row(engine.docker) == [[n, "0", "12kB"]]
    r = engine.cli("system", "df", "--format", "{{.Type}} {{.TotalCount}}")
    assert re.search(r"^Local Volumes [1-9]\d*$", r.stdout, re.M), r.stdout


def test_tmpfs_volume_is_mounted_while_a_container_uses_it(engine, vols):
    n = vols.create("tmpfs", "-o", "type=tmpfs", "-o", "device=tmpfs", "-o", "o=size=10m,uid=1000")
    mountpoint = engine.cli("volume", "inspect", "-f", "{{.Mountpoint}}", n).stdout.strip()
    script = "grep ' /d ' /proc/mounts; stat -c '%u %a' /d; echo x > /d/f; ls /d"
    for cli in (engine.cli, engine.docker):
        r = cli("run", "--rm", "-v", f"{n}:/d", "busybox", "sh", "-c", script)
        assert (r.returncode, r.stdout) == (0, "tmpfs /d tmpfs rw,relatime,size=10240k,uid=1000 0 0\n"
                                               "1000 1777\nf\n"), r.stderr
        # unmounted when the container is gone: what it wrote went with the tmpfs
        assert os.listdir(mountpoint) == []
