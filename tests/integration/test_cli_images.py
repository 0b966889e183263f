"""The dockyard CLI's image commands against a real engine, checked against docker's behaviour."""

from __future__ import annotations

import io
import json
import re
import tarfile
import uuid

import pytest


@pytest.fixture
def repo(engine):
    """A unique repository name; every tag of it is removed when the test ends."""
    name = f"dockyard-test-{uuid.uuid4().hex[:10]}"
    yield name
    # Remove by reference only: an ID may be shared with busybox:latest (see test_tag_rmi).
    refs = engine.cli("images", "--format", "{{.Repository}}:{{.Tag}}", name).stdout.split()
    if refs:
        engine.cli("rmi", *refs)


def rootfs_tar(files: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as t:
        for path, data in files.items():
            ti = tarfile.TarInfo(path)
            ti.size = len(data)
            ti.mode = 0o755
            t.addfile(ti, io.BytesIO(data))
    return buf.getvalue()


def ours_and_dockers(engine, *args):
    """Both CLIs' output of ``images ARGS``, taken again (up to 3 times) while they differ: the CREATED
    column ("20 seconds ago") may tick between the two calls; any other difference stays."""
    for _ in range(3):
        r = engine.cli("images", *args)
        d = engine.docker("images", *args)
        if r.stdout == d.stdout.replace("\\u003c", "<").replace("\\u003e", ">"):
            break
    return r, d


def test_images_table_and_quiet(engine):
    r, d = ours_and_dockers(engine, "busybox")
    assert r.returncode == 0
    assert re.match(r"^REPOSITORY   TAG       IMAGE ID       CREATED +SIZE$", r.stdout.splitlines()[0])
    assert re.match(r"^busybox      latest    [0-9a-f]{12}   ", r.stdout.splitlines()[1])
    assert r.stdout == d.stdout
    assert engine.cli("images", "-q", "busybox").stdout == d.stdout.splitlines()[1].split()[2] + "\n"
    assert engine.cli("images", "-q", "--no-trunc", "busybox").stdout.startswith("sha256:")
    for fmt in ("{{.Repository}}:{{.Tag}} {{.Size}}", "table {{.Repository}}\t{{.Tag}}\t{{.ID}}",
                "{{json .}}"):
        r, d = ours_and_dockers(engine, "--format", fmt, "busybox")
        assert r.stdout == d.stdout.replace("\\u003c", "<").replace("\\u003e", ">"), fmt
    r = engine.cli("image", "ls", "--digests", "busybox")
    assert r.stdout.splitlines()[0].startswith("REPOSITORY   TAG       DIGEST    IMAGE ID ")


def test_tag_rmi(engine, repo):
    r = engine.cli("tag", "busybox", f"{repo}:v1")
    assert (r.returncode, r.stdout) == (0, "")
    assert engine.cli("tag", "busybox:latest", repo).returncode == 0  # :latest implied
    r = engine.cli("images", "--format", "{{.Repository}} {{.Tag}}", repo)
    assert sorted(r.stdout.splitlines()) == [f"{repo} latest", f"{repo} v1"]
    busybox_id = engine.cli("images", "-q", "busybox").stdout
    assert engine.cli("images", "-q", repo).stdout == busybox_id * 2
    r = engine.cli("rmi", f"{repo}:v1", repo)
    assert (r.returncode, r.stdout) == (0, f"Untagged: {repo}:v1\nUntagged: {repo}:latest\n")
    assert engine.cli("images", "-q", repo).stdout == ""
    missing = f"{repo}:nope"
    r = engine.cli("rmi", missing)
    d = engine.docker("rmi", missing)
    assert (r.returncode, r.stderr) == (d.returncode, d.stderr) == (1, f"Error: No such image: {missing}\n")


def test_tag_errors(engine, repo):
    r = engine.cli("tag", "busybox", "BAD")
    d = engine.docker("tag", "busybox", "BAD")
    assert (r.returncode, r.stderr) == (d.returncode, d.stderr) == (1, d.stderr)
    r = engine.cli("tag", f"{repo}-missing", f"{repo}:x")
    d = engine.docker("tag", f"{repo}-missing", f"{repo}:x")
    assert (r.returncode, r.stderr) == (d.returncode, d.stderr)
    assert r.stderr.startswith("Error response from daemon: No such image: ")


def test_history(engine):
    for args in (["history", "busybox"], ["history", "--no-trunc", "busybox"], ["history", "-q", "busybox"],
                 ["history", "-H=false", "busybox"], ["history", "--format", "{{.ID}} {{.Comment}}", "busybox"]):
        r = engine.cli(*args)
        d = engine.docker(*args)
        assert (r.returncode, r.stdout) == (0, d.stdout), args
    assert engine.cli("history", "busybox").stdout.startswith("IMAGE          CREATED ")


def test_import_file_stdin_changes_message(engine, repo, tmp_path, name):
    export = tmp_path / "rootfs.tar"
    assert engine.cli("create", "--name", name, "busybox").returncode == 0
    try:
        assert engine.cli("export", "-o", str(export), name).returncode == 0
    finally:
        engine.cli("rm", name)

    r = engine.cli("import", str(export), f"{repo}:file")
    assert r.returncode == 0, r.stderr
    assert re.match(r"^sha256:[0-9a-f]{64}\n$", r.stdout)
    r = engine.cli("run", "--rm", f"{repo}:file", "echo", "from-import")
    # an imported rootfs has no CMD, but echo runs as given
    assert (r.returncode, r.stdout) == (0, "from-import\n"), r.stderr

    r = engine.cli("import", "-c", 'CMD ["sh", "-c", "echo default-cmd"]', "-c", "ENV FOO=bar", "-m", "hello",
                   "-", f"{repo}:stdin", input=export.read_bytes())
    assert r.returncode == 0, r.stderr
    out = engine.cli("inspect", "-f", "{{json .Config.Cmd}} {{.Config.Env}} {{.Comment}}", f"{repo}:stdin")
    assert out.stdout == '["sh","-c","echo default-cmd"] [FOO=bar] hello\n'
    r = engine.cli("run", "--rm", f"{repo}:stdin")
    assert (r.returncode, r.stdout) == (0, "default-cmd\n")
    assert engine.cli("history", "--format", "{{.Comment}}", f"{repo}:stdin").stdout == "hello\n"


def test_import_errors(engine, tmp_path):
    missing = tmp_path / "nope.tar"
    r = engine.cli("import", str(missing))
    d = engine.docker("import", str(missing))
    assert (r.returncode, r.stderr) == (d.returncode, d.stderr) == (1, f"open {missing}: no such file or directory\n")


def test_busybox_image_builds_a_runnable_base_image(engine, repo):
    r = engine.cli("busybox-image", "--tag", f"{repo}:bb")
    assert r.returncode == 0, r.stderr
    assert re.match(r"^sha256:[0-9a-f]{64}\n$", r.stdout)
    assert engine.cli("inspect", "-f", "{{json .Config.Cmd}}", f"{repo}:bb").stdout == '["sh"]\n'
    r = engine.cli("run", "--rm", "-u", "nobody", f"{repo}:bb", "sh", "-c", "id -un; ls /bin/busybox; echo $PATH")
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    assert lines[0] == "nobody" and lines[1] == "/bin/busybox"


def test_image_inspect_and_untyped_inspect(engine):
    from tests.integration.test_cli_containers import same_api_version

    r, d = same_api_version(engine, "image", "inspect", "busybox")
    assert r.returncode == 0 and r.stdout == d.stdout
    doc = json.loads(r.stdout)
    assert doc[0]["RepoTags"] and doc[0]["Id"].startswith("sha256:")
    assert engine.cli("inspect", "-f", "{{.Os}}", "busybox").stdout == "linux\n"
    missing = f"nosuch-{uuid.uuid4().hex[:8]}"
    r = engine.cli("image", "inspect", missing)
    d = engine.docker("image", "inspect", missing)
    assert (r.returncode, r.stdout, r.stderr) == (d.returncode, d.stdout, d.stderr)


def test_image_prune_with_a_label_filter(engine):
    label = f"dockyard-test={uuid.uuid4().hex}"
    r = engine.cli("image", "prune", "-f", "--filter", f"label={label}")
    assert (r.returncode, r.stdout) == (0, "Total reclaimed space: 0B\n")
