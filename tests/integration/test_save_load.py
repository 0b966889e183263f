"""``docker save`` / ``docker load`` with the real docker CLI, and archives crossing engines.

The cross-engine cases use a dockerd of the test session's own (``tests/oracle.py``: Debian's
docker.io, 20.10, which writes the pre-25 layout: ``<id>.json``, ``<v1 id>/layer.tar``, symlinks
for a layer shared at another position); dockyard writes Docker 25's layout and must load both.
Images are busybox-sized; the 500 MiB case lives in bench/.
"""

from __future__ import annotations

import functools
import gzip
import hashlib
import io
import json
import tarfile
import time
import uuid

import pytest

from tests.helpers import request
from tests.oracle import oracle  # noqa: F401 (fixture)


# ---------------------------------------------------------------- archives made by hand


def sha(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


@functools.lru_cache(maxsize=1)
def busybox_layer() -> bytes:
    from dockyard.util.busyboxroot import write_rootfs_tar

    buf = io.BytesIO()
    write_rootfs_tar(buf)
    return buf.getvalue()


def tar_of(files: dict[str, bytes], links: dict[str, str] = {}) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as t:
        for name, data in files.items():
            ti = tarfile.TarInfo(name)
            ti.size, ti.mode, ti.mtime = len(data), 0o644, 1_700_000_000
            t.addfile(ti, io.BytesIO(data))
        for name, target in links.items():
            ti = tarfile.TarInfo(name)
            ti.type, ti.linkname = tarfile.SYMTYPE, target
            t.addfile(ti)
    return buf.getvalue()


def config(layers: list[bytes], cmd: list[str], history: list[dict] | None = None) -> bytes:
    """A config for uncompressed layer tars, compact as Go writes it."""
    return json.dumps({
        "architecture": "amd64", "author": "save-load test", "config": {
            "Cmd": cmd, "Env": ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"],
            "Labels": {"test": "save-load"}},
        "created": "2024-05-06T07:08:09Z",
        "history": history or [{"created": "2024-05-06T07:08:09Z", "created_by": f"layer {i}"}
                               for i in range(len(layers))],
        "os": "linux", "rootfs": {"type": "layers", "diff_ids": [sha(x) for x in layers]},
    }, separators=(",", ":")).encode()


def docker_archive(images: list[tuple[bytes, list[bytes], list[str]]]) -> bytes:
    """manifest.json + blobs/sha256/ (Docker 25's names): (config, layer blobs, tags)."""
    files: dict[str, bytes] = {}
    manifest = []
    for cfg, layers, tags in images:
        files["blobs/sha256/" + sha(cfg)[7:]] = cfg
        for x in layers:
            files["blobs/sha256/" + sha(x)[7:]] = x
        manifest.append({"Config": "blobs/sha256/" + sha(cfg)[7:], "RepoTags": tags,
                         "Layers": ["blobs/sha256/" + sha(x)[7:] for x in layers]})
    files["manifest.json"] = json.dumps(manifest).encode()
    return tar_of(files)


def members(path) -> dict[str, tarfile.TarInfo]:
    with tarfile.open(path) as t:
        return {m.name: m for m in t.getmembers()}


def read_member(path, name: str) -> bytes:
    with tarfile.open(path) as t:
        return t.extractfile(name).read()


def image_id(eng, ref: str) -> str:
    r = eng.docker("image", "inspect", "--format", "{{.Id}}", ref)
    assert r.returncode == 0, r.stderr
    return r.stdout.strip()


def layers_of(eng, ref: str) -> list[str]:
    r = eng.docker("image", "inspect", "--format", "{{json .RootFS.Layers}}", ref)
    assert r.returncode == 0, r.stderr
    return json.loads(r.stdout)


def loaded(eng, path) -> list[str]:
    r = eng.docker("load", "-i", str(path))
    assert r.returncode == 0, r.stderr
    return r.stdout.splitlines()


@pytest.fixture
def repo(engine):
    """A unique repository name; its tags are removed (dangling images pruned) at the end."""
    name = f"save-load-{uuid.uuid4().hex[:10]}"
    yield name
    refs = engine.docker("images", "--format", "{{.Repository}}:{{.Tag}}", name).stdout.split()
    if refs:
        engine.docker("rmi", "-f", *refs)


@pytest.fixture
def oracle_repo(oracle):  # noqa: F811
    name = f"save-load-{uuid.uuid4().hex[:10]}"
    yield name
    refs = oracle.docker("images", "--format", "{{.Repository}}:{{.Tag}}", name).stdout.split()
    if refs:
        oracle.docker("rmi", "-f", *refs)


# ---------------------------------------------------------------- across engines


def test_real_docker_save_loads_and_runs_in_dockyard(engine, oracle, oracle_repo, tmp_path):  # noqa: F811
    repo = oracle_repo
    # Real Docker's own busybox (imported by that dockerd: a config Docker serialized) ...
    assert oracle.docker("tag", "busybox:latest", f"{repo}:bb").returncode == 0
    # ... and two images sharing a layer at different positions: Docker 20.10 writes the second
    # copy of that layer as a symlink to the first.
    shared = tar_of({"shared.txt": b"shared layer\n"})
    app = config([busybox_layer(), shared], ["cat", "/shared.txt"])
    lone = config([shared], ["/shared.txt"])
    src = tmp_path / "made.tar"
    src.write_bytes(docker_archive([(app, [busybox_layer(), shared], [f"{repo}:app"]),
                                    (lone, [shared], [f"{repo}:lone"])]))
    assert loaded(oracle, src) == [f"Loaded image: {repo}:app", f"Loaded image: {repo}:lone"]
    saved = tmp_path / "from-docker.tar"
    r = oracle.docker("save", "-o", str(saved), f"{repo}:bb", f"{repo}:app", f"{repo}:lone")
    assert r.returncode == 0, r.stderr
    names = members(saved)
    assert "manifest.json" in names and not any(n.startswith("blobs/") for n in names)  # the pre-25 layout
    assert any(m.issym() for m in names.values())  # the shared layer's symlink is exercised

    try:
        assert sorted(loaded(engine, saved)) == sorted(f"Loaded image: {repo}:{t}" for t in ("bb", "app", "lone"))
        for tag in ("bb", "app", "lone"):
            assert image_id(engine, f"{repo}:{tag}") == image_id(oracle, f"{repo}:{tag}")
            assert layers_of(engine, f"{repo}:{tag}") == layers_of(oracle, f"{repo}:{tag}")
        r = engine.docker("run", "--rm", f"{repo}:bb", "cat", "/etc/passwd")
        assert (r.returncode, r.stdout.splitlines()[0]) == (0, "root:x:0:0:root:/root:/bin/sh"), r.stderr
        r = engine.docker("run", "--rm", f"{repo}:app")
        assert (r.returncode, r.stdout) == (0, "shared layer\n"), r.stderr
    finally:
        refs = engine.docker("images", "--format", "{{.Repository}}:{{.Tag}}", repo).stdout.split()
        if refs:
            engine.docker("rmi", "-f", *refs)


def test_dockyard_save_loads_and_runs_in_real_docker(engine, oracle, repo, tmp_path):  # noqa: F811
    # A layer that arrived gzipped is saved as it came (gzip, by its compressed digest); Docker decompresses it.
    app_layer = tar_of({"app/hello.txt": b"hello from dockyard\n"})
    gz = gzip.compress(app_layer, mtime=0)
    cfg = config([busybox_layer(), app_layer], ["cat", "/app/hello.txt"])
    src = tmp_path / "made.tar"
    src.write_bytes(docker_archive([(cfg, [busybox_layer(), gz], [f"{repo}:app"])]))
    assert loaded(engine, src) == [f"Loaded image: {repo}:app"]
    assert engine.docker("tag", "busybox:latest", f"{repo}:bb").returncode == 0
    saved = tmp_path / "from-dockyard.tar"
    r = engine.docker("save", "-o", str(saved), f"{repo}:bb", f"{repo}:app")
    assert r.returncode == 0, r.stderr

    try:
        assert sorted(loaded(oracle, saved)) == [f"Loaded image: {repo}:app", f"Loaded image: {repo}:bb"]
        for tag in ("bb", "app"):
            assert image_id(oracle, f"{repo}:{tag}") == image_id(engine, f"{repo}:{tag}")
            assert layers_of(oracle, f"{repo}:{tag}") == layers_of(engine, f"{repo}:{tag}")
        r = oracle.docker("run", "--rm", "--network", "none", f"{repo}:app")
        assert (r.returncode, r.stdout) == (0, "hello from dockyard\n"), r.stderr
        r = oracle.docker("run", "--rm", "--network", "none", f"{repo}:bb", "cat", "/etc/group")
        assert (r.returncode, r.stdout.splitlines()[0]) == (0, "root:x:0:"), r.stderr
    finally:
        refs = oracle.docker("images", "--format", "{{.Repository}}:{{.Tag}}", repo).stdout.split()
        if refs:
            oracle.docker("rmi", "-f", *refs)


# ---------------------------------------------------------------- dockyard alone


def test_save_writes_docker25_layout_for_several_images_and_tags(engine, repo, tmp_path):
    other = tar_of({"other.txt": b"other\n"})
    cfg = config([busybox_layer(), other], ["cat", "/other.txt"])
    src = tmp_path / "made.tar"
    src.write_bytes(docker_archive([(cfg, [busybox_layer(), other], [f"{repo}-other:x"])]))
    assert loaded(engine, src) == [f"Loaded image: {repo}-other:x"]
    for tag in ("a", "b"):
        assert engine.docker("tag", "busybox:latest", f"{repo}:{tag}").returncode == 0
    busybox_id = image_id(engine, "busybox:latest")
    saved = tmp_path / "several.tar"
    try:
        # a bare repository name saves all its tags; the image with two of them is in once
        r = engine.docker("save", "-o", str(saved), repo, f"{repo}-other:x")
        assert r.returncode == 0, r.stderr
        names = members(saved)
        for n in ("manifest.json", "repositories", "oci-layout", "index.json"):
            assert names[n].isreg(), n
        manifest = json.loads(read_member(saved, "manifest.json"))
        assert [(m["Config"], m["RepoTags"]) for m in manifest] == [
            (f"blobs/sha256/{busybox_id[7:]}", [f"{repo}:a", f"{repo}:b"]),
            (f"blobs/sha256/{sha(cfg)[7:]}", [f"{repo}-other:x"])]
        for m in manifest:
            for path in [m["Config"], *m["Layers"]]:
                assert hashlib.sha256(read_member(saved, path)).hexdigest() == path.rsplit("/", 1)[1]
        index = json.loads(read_member(saved, "index.json"))
        assert sorted(d["annotations"]["io.containerd.image.name"] for d in index["manifests"]) == \
            [f"docker.io/library/{repo}-other:x", f"docker.io/library/{repo}:a", f"docker.io/library/{repo}:b"]
        assert json.loads(read_member(saved, "repositories")).keys() == {repo, f"{repo}-other"}
        assert len([n for n in names if n == f"blobs/sha256/{sha(busybox_layer())[7:]}"]) <= 1
        # the same through the single-image endpoint
        status, _, body = request(engine.socket, "GET", f"/images/{repo}:a/get")
        assert status == 200 and tarfile.open(fileobj=io.BytesIO(body)).getnames()[0] == "manifest.json"
        # unknown names fail before any byte, as Docker's do
        r = engine.docker("save", f"{repo}:nope")
        assert (r.returncode, r.stderr) == (1, "Error response from daemon: reference does not exist\n")
    finally:
        engine.docker("rmi", f"{repo}-other:x")


def test_save_rmi_load_round_trip_keeps_id_tags_history_and_layers(engine, repo, name, tmp_path):
    r = engine.docker("run", "--name", name, "busybox", "sh", "-c", "echo committed > /hi")
    assert r.returncode == 0, r.stderr
    r = engine.docker("commit", "-a", "tester", "-m", "a message", "-c", 'CMD ["cat", "/hi"]', name, f"{repo}:v1")
    engine.docker("rm", "-f", name)
    assert r.returncode == 0, r.stderr
    assert engine.docker("tag", f"{repo}:v1", f"{repo}:v2").returncode == 0

    def state():
        inspect = json.loads(engine.docker("image", "inspect", f"{repo}:v1").stdout)[0]
        history = engine.docker("history", "--no-trunc", "--format", "{{.CreatedBy}}|{{.Comment}}|{{.Size}}",
                                f"{repo}:v1").stdout
        return (inspect["Id"], sorted(inspect["RepoTags"]), inspect["RootFS"]["Layers"], inspect["Config"],
                inspect["Author"], inspect["Comment"], history)

    before = state()
    assert len(before[2]) == 2
    saved = tmp_path / "round.tar"
    since = int(time.time())
    assert engine.docker("save", "-o", str(saved), f"{repo}:v1", f"{repo}:v2").returncode == 0
    r = engine.docker("rmi", f"{repo}:v1", f"{repo}:v2")
    assert r.returncode == 0, r.stderr
    assert engine.docker("image", "inspect", before[0]).returncode == 1  # really gone
    assert loaded(engine, saved) == [f"Loaded image: {repo}:v1", f"Loaded image: {repo}:v2"]
    assert state() == before
    r = engine.docker("run", "--rm", f"{repo}:v2")
    assert (r.returncode, r.stdout) == (0, "committed\n"), r.stderr
    r = engine.docker("events", "--since", str(since), "--until", str(int(time.time()) + 1),
                      "--filter", "type=image", "--format", "{{.Action}} {{.Actor.ID}}")
    assert f"save {before[0]}" in r.stdout.splitlines() and f"load {before[0]}" in r.stdout.splitlines()

    # Loading it again over itself: nothing moves; with quiet=0 the raw stream is Docker's JSON lines.
    status, resp, body = request(engine.socket, "POST", "/images/load?quiet=0", body=saved.read_bytes(),
                                 headers={"Content-Type": "application/x-tar"})
    assert status == 200 and resp.getheader("Content-Type") == "application/json"
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    assert raw == (f'{{"stream":"Loaded image: {repo}:v1\\n"}}\r\n'
                   f'{{"stream":"Loaded image: {repo}:v2\\n"}}\r\n').encode()


def test_load_shows_layer_progress_when_not_quiet(engine, repo, tmp_path):
    layer = tar_of({"big.bin": bytes(range(256)) * 8192})  # 2 MiB: some progress updates
    cfg = config([busybox_layer(), layer], ["sh"])
    status, _, body = request(engine.socket, "POST", "/images/load?quiet=0",
                              body=docker_archive([(cfg, [busybox_layer(), layer], [f"{repo}:p"])]),
                              headers={"Content-Type": "application/x-tar"})
    assert status == 200
    lines = [json.loads(x) for x in (body if isinstance(body, bytes) else b"").split(b"\r\n") if x]
    progress = [m for m in lines if m.get("status") == "Loading layer"]
    assert progress and progress[-1]["id"] == sha(layer)[7:19]
    assert progress[-1]["progressDetail"] == {"current": len(layer), "total": len(layer)}
    assert progress[-1]["progress"].startswith("[" + "=" * 50 + ">] ")
    assert lines[-1] == {"stream": f"Loaded image: {repo}:p\n"}


def test_oci_layout_tar_loads_and_runs(engine, repo, tmp_path):
    gz = gzip.compress(busybox_layer(), mtime=0)
    cfg = config([busybox_layer()], ["cat", "/etc/passwd"])
    manifest = json.dumps({
        "schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": sha(cfg), "size": len(cfg)},
        "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip", "digest": sha(gz),
                    "size": len(gz)}]}).encode()
    nested = json.dumps({"schemaVersion": 2, "mediaType": "application/vnd.oci.image.index.v1+json", "manifests": [
        {"mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": sha(manifest), "size": len(manifest),
         "platform": {"architecture": "amd64", "os": "linux"}}]}).encode()
    index = json.dumps({"schemaVersion": 2, "manifests": [
        {"mediaType": "application/vnd.oci.image.index.v1+json", "digest": sha(nested), "size": len(nested),
         "annotations": {"io.containerd.image.name": f"docker.io/library/{repo}:oci",
                         "org.opencontainers.image.ref.name": "oci"}}]}).encode()
    blobs = {f"blobs/sha256/{sha(b)[7:]}": b for b in (gz, cfg, manifest, nested)}
    src = tmp_path / "oci.tar"
    src.write_bytes(tar_of({"oci-layout": b'{"imageLayoutVersion":"1.0.0"}', "index.json": index, **blobs}))
    assert loaded(engine, src) == [f"Loaded image: {repo}:oci"]
    assert image_id(engine, f"{repo}:oci") == sha(cfg)
    r = engine.docker("run", "--rm", f"{repo}:oci")
    assert (r.returncode, r.stdout.splitlines()[0]) == (0, "root:x:0:0:root:/root:/bin/sh"), r.stderr


def test_bad_archives_fail_with_a_message(engine, tmp_path):
    # a layer no engine has (one it has already needs no tar, in Docker as in dockyard)
    cfg = config([tar_of({f"{uuid.uuid4().hex}.txt": b"x"})], ["sh"])
    cases = {
        "notjson": (tar_of({"manifest.json": b"[{nope"}), "invalid manifest.json"),
        "missing": (tar_of({"c.json": cfg, "manifest.json": json.dumps(
            [{"Config": "c.json", "RepoTags": None, "Layers": ["gone/layer.tar"]}]).encode()}),
            "layer gone/layer.tar is not in the archive"),
        "escape": (tar_of({"../evil": b"x"}), "leaves the archive"),
        "symlink": (tar_of({}, {"lnk": "/etc/passwd"}), "links outside the archive"),
    }
    for case, (data, message) in cases.items():
        path = tmp_path / f"{case}.tar"
        path.write_bytes(data)
        r = engine.docker("load", "-i", str(path))
        assert r.returncode == 1 and r.stderr.strip(), case
        if engine.proc is not None:  # dockyard's own words (Docker 20.10 says others, or extracts ../evil)
            assert message in r.stderr, (case, r.stderr)
