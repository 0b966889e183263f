"""Data that outlives containers: bind mounts, volumes, tmpfs, --volumes-from — the seeds' walk-throughs."""

from __future__ import annotations

import json
import os
import textwrap

import pytest

from tests.conftest import cleanup_engine, start_engine


def d(engine, *args, **kw):
    r = engine.docker(*args, **kw)
    return r


@pytest.fixture
def cleanup(engine):
    names: list[str] = []
    volumes: list[str] = []
    yield names, volumes
    if names:
        engine.docker("rm", "-f", "-v", *names)
    if volumes:
        engine.docker("volume", "rm", "-f", *volumes)


def test_one_host_directory_in_three_containers(engine, tmp_path, name, cleanup):
    """The seeds: bind-mount a host htdocs directory into three containers, edit once on the host."""
    names, _ = cleanup
    htdocs = tmp_path / "htdocs"
    htdocs.mkdir()
    (htdocs / "index.html").write_text("v1\n")
    for i in range(3):
        names.append(f"{name}-{i}")
        assert d(engine, "run", "-d", "--name", names[-1], "-v", f"{htdocs}:/usr/local/apache2/htdocs",
                 "busybox", "sleep", "300").returncode == 0
    (htdocs / "index.html").write_text("v2 from the host\n")
    for n in names:
        r = d(engine, "exec", n, "cat", "/usr/local/apache2/htdocs/index.html")
        assert r.stdout == "v2 from the host\n"
    # and a write inside shows on the host
    assert d(engine, "exec", names[0], "sh", "-c", "echo from-ctr > /usr/local/apache2/htdocs/new").returncode == 0
    assert (htdocs / "new").read_text() == "from-ctr\n"
    d(engine, "rm", "-f", "-v", *names)
    assert (htdocs / "index.html").exists() and (htdocs / "new").exists()  # removal never touches host data


def test_missing_host_path_is_created_for_v_but_refused_for_mount(engine, tmp_path, name, cleanup):
    names, _ = cleanup
    missing = tmp_path / "made-by-v"
    names.append(name)
    r = d(engine, "run", "--name", name, "-v", f"{missing}:/data", "busybox", "sh", "-c", "echo hi > /data/f")
    assert r.returncode == 0, r.stderr
    assert (missing / "f").read_text() == "hi\n"
    r = d(engine, "run", "--rm", "--mount", f"type=bind,source={tmp_path}/nope,target=/data", "busybox", "true")
    assert r.returncode == 125 and "bind source path does not exist" in r.stderr


def test_data_container_volumes_from_and_backup_restore(engine, tmp_path, name, cleanup):
    """The seeds: a data container, --volumes-from it, back up its volume with tar, restore elsewhere."""
    names, _ = cleanup
    data, app, restore = f"{name}-data", f"{name}-app", f"{name}-restore"
    names += [data, app, restore]
    assert d(engine, "create", "-v", "/dbdata", "--name", data, "busybox").returncode == 0
    r = d(engine, "run", "--name", app, "--volumes-from", data, "busybox", "sh", "-c",
          "echo precious > /dbdata/db.txt; mkdir /dbdata/sub; echo deep > /dbdata/sub/x")
    assert r.returncode == 0, r.stderr
    backup = tmp_path / "backup"
    backup.mkdir()
    r = d(engine, "run", "--rm", "--volumes-from", app, "-v", f"{backup}:/backup", "busybox",
          "tar", "cvf", "/backup/backup.tar", "/dbdata")
    assert r.returncode == 0, r.stderr
    assert (backup / "backup.tar").stat().st_size > 0
    assert d(engine, "create", "-v", "/dbdata", "--name", restore, "busybox").returncode == 0
    r = d(engine, "run", "--rm", "--volumes-from", restore, "-v", f"{backup}:/backup", "busybox", "sh", "-c",
          "cd /dbdata && tar xvf /backup/backup.tar --strip 1")
    assert r.returncode == 0, r.stderr
    r = d(engine, "run", "--rm", "--volumes-from", restore, "busybox", "cat", "/dbdata/db.txt", "/dbdata/sub/x")
    assert r.stdout == "precious\ndeep\n"
    # the data container's volume is shared, not copied: the app wrote into it
    src = json.loads(d(engine, "inspect", data).stdout)[0]["Mounts"][0]
    via = json.loads(d(engine, "inspect", app).stdout)[0]["Mounts"][0]
    assert src["Name"] == via["Name"] and src["Destination"] == "/dbdata"


def test_volumes_from_read_only(engine, name, cleanup):
    names, _ = cleanup
    names += [name, name + "-ro"]
    assert d(engine, "create", "-v", "/shared", "--name", name, "busybox").returncode == 0
    r = d(engine, "run", "--name", name + "-ro", "--volumes-from", f"{name}:ro", "busybox", "touch", "/shared/x")
    assert r.returncode != 0 and "Read-only file system" in r.stderr


def test_image_volume_is_filled_from_the_image(engine, tmp_path, name, cleanup):
    """A data-packed image: ADD htdocs + VOLUME; the data appears in the volume, owners and modes kept."""
    names, _ = cleanup
    ctx = tmp_path / "ctx"
    (ctx / "htdocs").mkdir(parents=True)
    (ctx / "htdocs" / "index.html").write_text("<h1>packed</h1>\n")
    (ctx / "Dockerfile").write_text(textwrap.dedent("""
        FROM busybox
        ADD htdocs /usr/local/apache2/htdocs
        RUN chown -R nobody:nogroup /usr/local/apache2/htdocs && chmod 640 /usr/local/apache2/htdocs/index.html \\
            && ln -s index.html /usr/local/apache2/htdocs/link
        VOLUME /usr/local/apache2/htdocs
    """))
    r = engine.docker("build", "-t", name, str(ctx))
    assert r.returncode == 0, r.stderr
    try:
        names.append(name)
        assert d(engine, "create", "--name", name, name).returncode == 0
        r = d(engine, "run", "--rm", "--volumes-from", name, "busybox", "sh", "-c",
              "cat /usr/local/apache2/htdocs/index.html; stat -c '%U %a' /usr/local/apache2/htdocs/index.html;"
              " readlink /usr/local/apache2/htdocs/link")
        assert r.stdout == "<h1>packed</h1>\nnobody 640\nindex.html\n", r.stderr
    finally:
        engine.docker("rm", "-f", "-v", name)
        engine.docker("rmi", "-f", name)


def test_named_volume_outlives_its_container_and_nocopy(engine, name, cleanup):
    names, volumes = cleanup
    vol = f"{name}-vol"
    volumes.append(vol)
    r = d(engine, "run", "--rm", "-v", f"{vol}:/etc", "busybox", "sh", "-c", "ls /etc/passwd && echo kept > /etc/k")
    assert r.returncode == 0, r.stderr  # an empty named volume is filled from the image at its mount point
    r = d(engine, "run", "--rm", "-v", f"{vol}:/data", "busybox", "cat", "/data/k", "/data/group")
    assert r.stdout.startswith("kept\nroot:x:0:")
    fresh = f"{name}-nocopy"
    volumes.append(fresh)
    r = d(engine, "run", "--rm", "--mount", f"type=volume,src={fresh},dst=/etc,volume-nocopy", "busybox",
          "ls", "/etc")
    # only the runtime's own mount points (hosts, hostname, resolv.conf): nothing copied from the image
    assert r.returncode == 0 and "passwd" not in r.stdout and "group" not in r.stdout


def test_rm_v_removes_anonymous_volumes_only(engine, name, cleanup):
    names, volumes = cleanup
    named = f"{name}-named"
    volumes.append(named)
    assert d(engine, "create", "--name", name, "-v", "/anon", "-v", f"{named}:/named", "busybox").returncode == 0
    mounts = {m["Destination"]: m for m in json.loads(d(engine, "inspect", name).stdout)[0]["Mounts"]}
    anon = mounts["/anon"]["Name"]
    assert d(engine, "rm", "-v", name).returncode == 0
    assert d(engine, "volume", "inspect", anon).returncode != 0
    assert d(engine, "volume", "inspect", named).returncode == 0


def test_tmpfs_and_read_only_root(engine, name, cleanup):
    names, volumes = cleanup
    vol = f"{name}-rw"
    volumes.append(vol)
    r = d(engine, "run", "--rm", "--read-only", "--tmpfs", "/run:size=1m", "--mount",
          "type=tmpfs,dst=/scratch,tmpfs-size=2m", "-v", f"{vol}:/data", "busybox", "sh", "-c",
          "echo a > /run/a && echo b > /scratch/b && echo c > /data/c && grep -E ' /(run|scratch) ' /proc/mounts"
          " | wc -l; touch /rootfile")
    assert "2\n" in r.stdout
    assert r.returncode != 0 and "Read-only file system" in r.stderr


def test_mounts_in_inspect(engine, tmp_path, name, cleanup):
    names, volumes = cleanup
    names.append(name)
    volumes.append(f"{name}-v")
    assert d(engine, "create", "--name", name, "-v", f"{tmp_path}:/b:ro", "-v", f"{name}-v:/v",
             "--mount", "type=tmpfs,dst=/t", "--tmpfs", "/hidden", "busybox").returncode == 0
    got = sorted(json.loads(d(engine, "inspect", name).stdout)[0]["Mounts"], key=lambda m: m["Destination"])
    assert [m["Destination"] for m in got] == ["/b", "/t", "/v"]  # --tmpfs mounts are not listed
    assert got[0] == {"Type": "bind", "Source": str(tmp_path), "Destination": "/b", "Mode": "ro", "RW": False,
                      "Propagation": "rprivate"}
    assert got[1] == {"Type": "tmpfs", "Source": "", "Destination": "/t", "Mode": "", "RW": True, "Propagation": ""}
    assert got[2]["Type"] == "volume" and got[2]["Name"] == f"{name}-v" and got[2]["Driver"] == "local"
    assert got[2]["Mode"] == "z" and got[2]["RW"] is True and got[2]["Source"].endswith(f"/{name}-v/_data")


@pytest.mark.parametrize("spec,message", [
    ("../evil:/data", "includes invalid characters"),
    ("vol:relative", "invalid mount path: 'relative' mount path must be absolute"),
    ("/tmp:relative", "invalid mount path: 'relative' mount path must be absolute"),
    ("/tmp:/", "destination can't be '/'"),
])
def test_bad_volume_specs(engine, spec, message):
    r = d(engine, "run", "--rm", "-v", spec, "busybox", "true")
    assert r.returncode == 125 and message in r.stderr


def test_docker_py_volumes_and_mounts(engine, tmp_path, name):
    import docker

    client = engine.client()
    vol = client.volumes.create(f"{name}-py", labels={"t": name})
    try:
        (tmp_path / "f").write_text("from host\n")
        out = client.containers.run("busybox", ["sh", "-c", "cat /h/f; echo v > /v/x; cat /v/x"], remove=True,
                                    volumes={str(tmp_path): {"bind": "/h", "mode": "ro"}, vol.name: {"bind": "/v"}})
        assert out == b"from host\nv\n"
        out = client.containers.run("busybox", ["cat", "/m/x"], remove=True,
                                    mounts=[docker.types.Mount("/m", vol.name, type="volume", read_only=True)])
        assert out == b"v\n"
        assert vol.name in [v.name for v in client.volumes.list(filters={"label": f"t={name}"})]
    finally:
        vol.remove(force=True)


def test_named_volume_survives_daemon_kill(tmp_path):
    eng = start_engine(tmp_path / "engine")
    try:
        assert eng.cli("busybox-image").returncode == 0
        assert eng.docker("run", "--rm", "-v", "keep:/data", "busybox", "sh", "-c", "echo safe > /data/f").returncode == 0
        eng.kill9()
        eng.start()
        r = eng.docker("run", "--rm", "-v", "keep:/data", "busybox", "cat", "/data/f")
        assert r.stdout == "safe\n"
        eng.stop()
        eng.start()
        assert eng.docker("run", "--rm", "-v", "keep:/data", "busybox", "cat", "/data/f").stdout == "safe\n"
        assert os.path.isdir(eng.data_root / "volumes" / "keep" / "_data")
    finally:
        if eng.proc is None or eng.proc.poll() is not None:
            eng.start()
        cleanup_engine(eng)
