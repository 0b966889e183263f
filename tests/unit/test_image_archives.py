"""dockyard.image.archives: docker save / docker load archives, on a real ImageStore in a temp dir (root).

The archives of other engines are made by hand here, in the layouts the module docstring
describes (real Docker 20.10's were checked against these; tests/integration/test_save_load.py
uses real dockerd output).
"""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import os
import tarfile

import pytest

from dockyard import errdefs
from dockyard.image import archive, archives
from dockyard.image.images import ImageStore
from dockyard.oci import image as oimage
from dockyard.store.content import ContentStore
from dockyard.store.metadata import MetadataDB
from dockyard.store.snapshots.overlay import OverlaySnapshotter

MTIME = 1_600_000_000


# ---------------------------------------------------------------- helpers


def sha(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def hexof(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def layer_tar(files: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as t:
        for name, data in files.items():
            ti = tarfile.TarInfo(name)
            ti.size, ti.mode, ti.mtime = len(data), 0o644, MTIME
            t.addfile(ti, io.BytesIO(data))
    return buf.getvalue()


def config(layers: list[bytes], cmd: list[str] | None = None, **extra) -> bytes:
    """A config for uncompressed layer tars, serialized compactly (as Go and dockyard do)."""
    cfg = {"architecture": oimage.go_arch(), "config": {"Cmd": cmd or ["sh"], "Env": ["PATH=/bin"]},
           "created": "2024-01-02T03:04:05Z", "history": [{"created": "2024-01-02T03:04:05Z"} for _ in layers],
           "os": "linux", "rootfs": {"type": "layers", "diff_ids": [sha(x) for x in layers]}, **extra}
    return json.dumps(cfg, separators=(",", ":")).encode()


def entry(name: str, data: bytes = b"", kind: bytes = tarfile.REGTYPE, linkname: str = "") -> tuple:
    ti = tarfile.TarInfo(name)
    ti.type = kind
    ti.size = len(data) if kind == tarfile.REGTYPE else 0
    ti.mode = 0o755 if kind == tarfile.DIRTYPE else 0o644
    ti.linkname = linkname
    ti.mtime = MTIME
    return ti, data


def mktar(*entries: tuple) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as t:
        for ti, data in entries:
            t.addfile(ti, io.BytesIO(data) if ti.size else None)
    return buf.getvalue()


def docker25(images: list[tuple[bytes, list[bytes], list[str]]]) -> bytes:
    """A Docker 25 ``docker save`` archive (name-sorted, as Docker writes it): (config, layers, tags)."""
    files: dict[str, bytes] = {}
    manifest = []
    for cfg, layers, tags in images:
        files["blobs/sha256/" + hexof(cfg)] = cfg
        for x in layers:
            files["blobs/sha256/" + hexof(x)] = x
        manifest.append({"Config": "blobs/sha256/" + hexof(cfg), "RepoTags": tags or None,
                         "Layers": ["blobs/sha256/" + hexof(x) for x in layers]})
    files["manifest.json"] = json.dumps(manifest).encode() + b"\n"
    return mktar(*(entry(n, files[n]) for n in sorted(files)))


@pytest.fixture
def store(tmp_path):
    db = MetadataDB(str(tmp_path / "meta.db"))
    yield ImageStore(db, ContentStore(str(tmp_path / "content")), OverlaySnapshotter(str(tmp_path / "overlay"), db))
    db.close()


@pytest.fixture
def other(tmp_path):
    """A second, empty store: where saved archives are loaded back."""
    db = MetadataDB(str(tmp_path / "other.db"))
    yield ImageStore(db, ContentStore(str(tmp_path / "other-content")),
                     OverlaySnapshotter(str(tmp_path / "other-overlay"), db))
    db.close()


class Recorder:
    def __init__(self) -> None:
        self.messages: list[str] = []
        self.progress: list[tuple[str, int, int]] = []
        self.loaded: list[str] = []

    def kwargs(self, progress: bool = False) -> dict:
        return {"on_message": self.messages.append, "on_loaded": self.loaded.append,
                "on_progress": (lambda *a: self.progress.append(a)) if progress else None}


def load(store: ImageStore, data: bytes, spool_dir: str | None = None, progress: bool = False) -> Recorder:
    rec = Recorder()
    archives.load(store, io.BytesIO(data), spool_dir=spool_dir, **rec.kwargs(progress))
    return rec


def save(store: ImageStore, *names: str) -> bytes:
    out = io.BytesIO()
    archives.save(store, archives.resolve_names(store, list(names)), out)
    return out.getvalue()


def members(data: bytes) -> dict[str, bytes | None]:
    out = {}
    with tarfile.open(fileobj=io.BytesIO(data)) as t:
        for m in t:
            out[m.name] = t.extractfile(m).read() if m.isreg() else None
    return out


def file_in_image(store: ImageStore, image: str, path: str) -> bytes:
    """Read ``path`` from the topmost layer of ``image`` that has it (no mounting)."""
    for chain_id in reversed(store.get(image).chain):
        p = os.path.join(store.snapshots.upper_dir(chain_id), path)
        if os.path.exists(p):
            with open(p, "rb") as f:
                return f.read()
    raise FileNotFoundError(path)


BASE = layer_tar({"bin/sh": b"#!fake shell\n", "etc/passwd": b"root:x:0:0::/root:/bin/sh\n"})
APP = layer_tar({"app/hello.txt": b"hello\n"})


@pytest.fixture
def two_images(store):
    """app:v1 = [BASE, APP], base:latest = [BASE] (+ base:other), loaded into ``store``."""
    load(store, docker25([(config([BASE, APP], ["cat", "/app/hello.txt"]), [BASE, APP], ["app:v1"]),
                          (config([BASE]), [BASE], ["base:latest", "base:other"])]))
    return store


# ---------------------------------------------------------------- save


def test_save_writes_docker25_layout_with_oci_index(two_images):
    store = two_images
    app = store.get("app:v1")
    data = save(store, "app:v1")
    m = members(data)
    cfg_hex = app.id.removeprefix("sha256:")
    layers = [f"blobs/sha256/{hexof(BASE)}", f"blobs/sha256/{hexof(APP)}"]
    assert m["manifest.json"] == (json.dumps([{"Config": f"blobs/sha256/{cfg_hex}", "RepoTags": ["app:v1"],
                                               "Layers": layers}], separators=(",", ":")) + "\n").encode()
    assert m["repositories"] == ('{"app":{"v1":"%s"}}\n' % hexof(APP)).encode()
    assert m["oci-layout"] == b'{"imageLayoutVersion": "1.0.0"}'
    index = json.loads(m["index.json"])
    assert index["schemaVersion"] == 2 and index["mediaType"] == oimage.MEDIA_INDEX
    [desc] = index["manifests"]
    assert desc["annotations"] == {"io.containerd.image.name": "docker.io/library/app:v1",
                                   "org.opencontainers.image.ref.name": "v1"}
    manifest = m["blobs/sha256/" + desc["digest"].removeprefix("sha256:")]
    assert sha(manifest) == desc["digest"] and len(manifest) == desc["size"]
    manifest = json.loads(manifest)
    assert manifest["mediaType"] == oimage.MEDIA_MANIFEST
    assert manifest["config"] == {"mediaType": oimage.MEDIA_CONFIG, "digest": app.id,
                                  "size": len(m["blobs/sha256/" + cfg_hex])}
    assert [(x["digest"], x["size"], x["mediaType"]) for x in manifest["layers"]] == \
        [(sha(BASE), len(BASE), oimage.MEDIA_LAYER), (sha(APP), len(APP), oimage.MEDIA_LAYER)]
    for name, content in m.items():  # every blob is named by its digest
        if name.startswith("blobs/sha256/") and content is not None:
            assert hexof(content) == name.rsplit("/", 1)[1]
    assert m[layers[0]] == BASE and m[layers[1]] == APP  # the tars as they were imported


def test_save_puts_metadata_first_and_ends_like_go(two_images):
    data = save(two_images, "app:v1")
    with tarfile.open(fileobj=io.BytesIO(data)) as t:
        infos = t.getmembers()
    names = [i.name for i in infos]
    assert names[:6] == ["manifest.json", "repositories", "oci-layout", "index.json", "blobs", "blobs/sha256"]
    assert names[-2:] == [f"blobs/sha256/{hexof(BASE)}", f"blobs/sha256/{hexof(APP)}"]  # layers last
    assert all(i.uname == "root" and i.uid == 0 for i in infos)
    created = 1704164645  # 2024-01-02T03:04:05Z: configs and layers carry the image's creation time
    assert {i.mtime for i in infos if i.name in names[-2:]} == {created}
    assert data.endswith(bytes(1024)) and len(data) % 512 == 0


def test_save_names_follow_docker(two_images):
    store = two_images
    base = store.get("base:latest")
    # a repository alone: all its tags
    m = members(save(store, "base"))
    assert json.loads(m["manifest.json"])[0]["RepoTags"] == ["base:latest", "base:other"]
    assert json.loads(m["repositories"]) == {"base": {"latest": hexof(BASE), "other": hexof(BASE)}}
    assert len(json.loads(m["index.json"])["manifests"]) == 2
    # by ID (full, short, sha256: prefixed): no tags, no repositories, a bare index descriptor
    for name in (base.id, base.id[7:], base.id[7:19], base.id[:19]):
        m = members(save(store, name))
        assert json.loads(m["manifest.json"])[0]["RepoTags"] is None
        assert "repositories" not in m
        assert "annotations" not in json.loads(m["index.json"])["manifests"][0]
    # the same image twice is saved once, tags merged; layers shared by images written once
    m = members(save(store, "base:other", "base:latest", "app:v1", "base:other"))
    assert [x["RepoTags"] for x in json.loads(m["manifest.json"])] == [["base:other", "base:latest"], ["app:v1"]]
    with tarfile.open(fileobj=io.BytesIO(save(store, "base:latest", "app:v1"))) as t:
        names = t.getnames()
    assert len(names) == len(set(names))
    with pytest.raises(errdefs.NotFound, match="^reference does not exist$"):
        archives.resolve_names(store, ["base:nope"])
    with pytest.raises(errdefs.NotFound, match="^No such image: nothere$"):
        archives.resolve_names(store, ["nothere"])
    with pytest.raises(errdefs.NotFound, match="^No such image: sha256:ffff$"):
        archives.resolve_names(store, ["sha256:ffff"])
    with pytest.raises(errdefs.InvalidArgument):
        archives.resolve_names(store, ["Bad Name"])


def test_save_refuses_an_image_without_layers(store):
    load(store, docker25([(config([]), [], ["empty:1"])]))
    with pytest.raises(errdefs.NotImplementedErr, match="empty export - not implemented"):
        save(store, "empty:1")


def test_save_regenerates_a_layer_whose_tar_was_not_kept(store, tmp_path):
    # A layer that write_diff wrote in the first place comes out byte for byte the same again.
    tree = tmp_path / "tree"
    (tree / "etc").mkdir(parents=True)
    (tree / "etc" / "motd").write_text("regenerated\n")
    os.utime(tree / "etc" / "motd", (MTIME, MTIME))
    os.utime(tree / "etc", (MTIME, MTIME))
    buf = io.BytesIO()
    archive.write_diff(str(tree), buf)
    layer = buf.getvalue()
    load(store, docker25([(config([layer]), [layer], ["regen:1"])]))
    blob = store.layer_blob(sha(layer))[0]
    store.db.execute("DELETE FROM layer_blobs WHERE diff_id=?", (sha(layer),))
    store.content.delete(blob)
    assert members(save(store, "regen:1"))[f"blobs/sha256/{hexof(layer)}"] == layer
    # A tar written by another tool does not come out the same: refused, not saved unloadable.
    load(store, docker25([(config([APP]), [APP], ["foreign:1"])]))
    store.db.execute("DELETE FROM layer_blobs WHERE diff_id=?", (sha(APP),))
    with pytest.raises(errdefs.System, match="cannot be saved"):
        save(store, "foreign:1")


# ---------------------------------------------------------------- round trip


@pytest.mark.parametrize("order", ["dockyard", "docker25"])
def test_load_keeps_the_tar_of_a_layer_that_was_unpacked_without_it(two_images, other, order):
    # (a layer unpacked before layer tars were kept): loading an archive that has it keeps it now
    data = save(two_images, "app:v1")
    if order == "docker25":
        data = docker25([(config([BASE, APP], ["cat", "/app/hello.txt"]), [BASE, APP], ["app:v1"])])
    load(other, data)
    for x in (BASE, APP):
        other.db.execute("DELETE FROM layer_blobs WHERE diff_id=?", (sha(x),))
        other.content.delete(sha(x))
    load(other, data)
    assert other.layer_blob(sha(BASE)) and other.layer_blob(sha(APP))
    assert members(save(other, "app:v1"))[f"blobs/sha256/{hexof(APP)}"] == APP



def test_round_trip_keeps_id_tags_config_and_layers(two_images, other, tmp_path):
    data = save(two_images, "app:v1", "base")
    missing = str(tmp_path / "no-such-dir")  # dockyard's own archive streams: nothing is spooled
    rec = load(other, data, spool_dir=missing)
    assert rec.messages == ["Loaded image: app:v1\n", "Loaded image: base:latest\n", "Loaded image: base:other\n"]
    for name in ("app:v1", "base:latest"):
        a, b = two_images.get(name), other.get(name)
        assert (a.id, a.tags, a.config, a.diff_ids) == (b.id, b.tags, b.config, b.diff_ids)
    assert rec.loaded == [two_images.get("app:v1").id, two_images.get("base:latest").id]
    assert file_in_image(other, "app:v1", "app/hello.txt") == b"hello\n"
    assert other.layer_blob(sha(APP)) == (sha(APP), oimage.MEDIA_LAYER, len(APP))
    assert save(other, "app:v1", "base") == data  # the same archive again, byte for byte


def test_round_trip_of_a_gzip_layer_keeps_it_compressed(store, other):
    gz = gzip.compress(APP, mtime=0)
    load(store, docker25([(config([BASE, APP]), [BASE, gz], ["gz:1"])]))
    m = members(save(store, "gz:1"))
    assert m[f"blobs/sha256/{hexof(gz)}"] == gz
    manifest = json.loads(m["blobs/sha256/" + json.loads(m["index.json"])["manifests"][0]["digest"][7:]])
    assert manifest["layers"][1] == {"mediaType": oimage.MEDIA_LAYER_GZIP, "digest": sha(gz), "size": len(gz)}
    load(other, save(store, "gz:1"))
    assert other.get("gz:1").id == store.get("gz:1").id


# ---------------------------------------------------------------- load: formats


def docker2010(images: list[tuple[bytes, list[bytes], list[str]]]) -> bytes:
    """The layout real Docker 20.10 writes: <config hex>.json, <v1 id>/layer.tar|VERSION|json, a layer
    shared at another position as a symlink to the first copy (name-sorted, like Docker)."""
    files: dict[str, tuple] = {}
    manifest = []
    first_copy: dict[str, str] = {}
    for n, (cfg, layers, tags) in enumerate(images):
        files[hexof(cfg) + ".json"] = entry(hexof(cfg) + ".json", cfg)
        paths = []
        for i, x in enumerate(layers):
            v1 = hexof(f"{n}/{i}/{hexof(x)}".encode())  # stands in for v1.CreateID: differs per position
            files[v1 + "/"] = entry(v1, kind=tarfile.DIRTYPE)
            files[v1 + "/VERSION"] = entry(v1 + "/VERSION", b"1.0")
            files[v1 + "/json"] = entry(v1 + "/json", json.dumps({"id": v1}).encode())
            if sha(x) in first_copy:
                files[v1 + "/layer.tar"] = entry(v1 + "/layer.tar", kind=tarfile.SYMTYPE,
                                                 linkname=f"../{first_copy[sha(x)]}/layer.tar")
            else:
                first_copy[sha(x)] = v1
                files[v1 + "/layer.tar"] = entry(v1 + "/layer.tar", x)
            paths.append(v1 + "/layer.tar")
        manifest.append({"Config": hexof(cfg) + ".json", "RepoTags": tags or None, "Layers": paths})
    files["manifest.json"] = entry("manifest.json", json.dumps(manifest).encode())
    files["repositories"] = entry("repositories", b"{}")
    return mktar(*(files[n] for n in sorted(files)))


def test_load_docker_2010_layout_with_a_shared_layer_symlink(store):
    other_layer = layer_tar({"other": b"x"})
    # APP sits on BASE in one image and alone in the other: two different chains, one tar (the symlink).
    data = docker2010([(config([BASE, APP]), [BASE, APP], ["app:v1"]),
                       (config([other_layer, APP]), [other_layer, APP], ["lone:1"])])
    assert b"../" in data  # the symlink is there
    rec = load(store, data)
    assert rec.messages == ["Loaded image: app:v1\n", "Loaded image: lone:1\n"]
    assert file_in_image(store, "lone:1", "app/hello.txt") == b"hello\n"
    assert store.get("app:v1").chain[-1] != store.get("lone:1").chain[-1]
    assert store.snapshots.exists(store.get("lone:1").chain[-1])


def oci_layout(index_manifests: list[dict], blobs: list[bytes], prefix: str = "", layout: bool = True) -> bytes:
    files = [entry(prefix + "blobs/", kind=tarfile.DIRTYPE), entry(prefix + "blobs/sha256/", kind=tarfile.DIRTYPE)]
    files += [entry(f"{prefix}blobs/sha256/{hexof(b)}", b) for b in blobs]
    if layout:
        files.append(entry(prefix + "oci-layout", b'{"imageLayoutVersion":"1.0.0"}'))
    files.append(entry(prefix + "index.json", json.dumps({"schemaVersion": 2, "manifests": index_manifests}).encode()))
    return mktar(*files)


def manifest_of(cfg: bytes, layers: list[tuple[bytes, str]]) -> bytes:
    return json.dumps({"schemaVersion": 2, "mediaType": oimage.MEDIA_MANIFEST,
                       "config": {"mediaType": oimage.MEDIA_CONFIG, "digest": sha(cfg), "size": len(cfg)},
                       "layers": [{"mediaType": mt, "digest": sha(b), "size": len(b)} for b, mt in layers]}).encode()


def desc(blob: bytes, media: str = oimage.MEDIA_MANIFEST, **kw) -> dict:
    return {"mediaType": media, "digest": sha(blob), "size": len(blob), **kw}


def test_load_plain_oci_layout_with_gzip_layers_nested_index_and_dot_slash_names(store):
    gz_base = gzip.compress(BASE, mtime=0)
    cfg = config([BASE, APP], ["cat", "/app/hello.txt"])
    man = manifest_of(cfg, [(gz_base, oimage.MEDIA_LAYER_GZIP), (APP, oimage.MEDIA_LAYER)])
    foreign_cfg = config([APP], os="windows")
    foreign = manifest_of(foreign_cfg, [(APP, oimage.MEDIA_LAYER)])
    nested = json.dumps({"schemaVersion": 2, "mediaType": oimage.MEDIA_INDEX, "manifests": [
        desc(foreign, platform={"os": "windows", "architecture": "amd64"}),
        desc(man, platform={"os": "linux", "architecture": oimage.go_arch()}),
        {"mediaType": "application/vnd.example.unknown", "digest": sha(b"?"), "size": 1}]}).encode()
    data = oci_layout([desc(nested, oimage.MEDIA_INDEX,
                            annotations={"org.opencontainers.image.ref.name": "example.com/team/app:2.0"}),
                       desc(man, annotations={"org.opencontainers.image.ref.name": "v1.0"}),  # a bare tag
                       {"mediaType": "application/xml", "digest": sha(b"<x/>"), "size": 4}],
                      [gz_base, APP, cfg, man, foreign_cfg, foreign, nested], prefix="./")
    rec = load(store, data)
    img = store.get("example.com/team/app:2.0")
    assert img.id == sha(cfg)
    assert rec.messages == ["Loaded image: example.com/team/app:2.0\n"]
    assert store.layer_blob(sha(BASE)) == (sha(gz_base), oimage.MEDIA_LAYER_GZIP, len(gz_base))
    assert file_in_image(store, img.id, "etc/passwd").startswith(b"root:")


def test_load_oci_layout_takes_containerd_image_name(store):
    cfg = config([APP])
    man = manifest_of(cfg, [(APP, oimage.MEDIA_LAYER)])
    data = oci_layout([desc(man, annotations={"io.containerd.image.name": "docker.io/library/ctr:7",
                                              "org.opencontainers.image.ref.name": "7"})], [APP, cfg, man],
                      layout=False)
    assert load(store, data).messages == ["Loaded image: ctr:7\n"]


def test_docker25_archive_loads_through_manifest_json(store, other):
    # Docker's own order (blobs before manifest.json): layers are spooled, then unpacked.
    rec = load(store, docker25([(config([BASE, APP]), [BASE, APP], ["app:v1"])]), progress=True)
    assert rec.messages == ["Loaded image: app:v1\n"]
    assert {p[0] for p in rec.progress} == {hexof(BASE)[:12], hexof(APP)[:12]}
    assert (hexof(APP)[:12], len(APP), len(APP)) in rec.progress  # the last update: current == total


def test_compressed_archive_loads(store):
    data = docker25([(config([BASE]), [BASE], ["gzipped:1"])])
    load(store, gzip.compress(data[:5000]) + gzip.compress(data[5000:]) + bytes(20))  # two members + padding
    assert store.get("gzipped:1")


def test_untagged_images_print_their_ids_as_docker_does(store):
    a, b = config([BASE], ["a"]), config([BASE], ["b"])
    rec = load(store, docker25([(a, [BASE], []), (b, [BASE], [])]))
    assert rec.messages == [f"Loaded image ID: {sha(a)}\nLoaded image ID: {sha(b)}\n"]
    # Docker's quirk: the ID lines are written only when the last image had no tag
    rec = load(store, docker25([(a, [BASE], []), (b, [BASE], ["tagged:1"])]))
    assert rec.messages == ["Loaded image: tagged:1\n"]


def test_a_loaded_tag_moves_from_the_image_that_had_it(store):
    old, new = config([BASE], ["old"]), config([BASE], ["new"])
    load(store, docker25([(old, [BASE], ["moving:1", "keep:1"])]))
    rec = load(store, docker25([(new, [BASE], ["moving:1"])]))
    assert rec.messages == [f"The image moving:1 already exists, renaming the old one with ID {sha(old)} to "
                            f"empty string\n", "Loaded image: moving:1\n"]
    assert store.get("moving:1").id == sha(new)
    assert store.get(sha(old)).tags == ["docker.io/library/keep:1"]


# ---------------------------------------------------------------- load: refusals


def refused(store: ImageStore, data: bytes, match: str, kind=errdefs.InvalidArgument) -> None:
    with pytest.raises(kind, match=match):
        load(store, data)


def test_path_escapes_in_the_archive_are_refused(store):
    refused(store, mktar(entry("../evil", b"x")), "leaves the archive")
    refused(store, mktar(entry("a/../../evil", b"x")), "leaves the archive")
    refused(store, mktar(entry("/etc/evil", b"x")), "absolute path")
    refused(store, mktar(entry("lnk", kind=tarfile.SYMTYPE, linkname="/etc/passwd")), "links outside")
    refused(store, mktar(entry("d/lnk", kind=tarfile.SYMTYPE, linkname="../../etc/passwd")), "links outside")
    refused(store, mktar(entry("hard", kind=tarfile.LNKTYPE, linkname="../x")), "links outside")
    refused(store, mktar(entry("a", b"1"), entry("./a", b"2")), "a appears twice")
    # manifest paths are checked too
    cfg = config([BASE])
    refused(store, mktar(entry("c.json", cfg), entry("manifest.json", json.dumps(
        [{"Config": "c.json", "Layers": ["../../layer.tar"]}]).encode())), "leaves the archive")


def test_bad_manifests_and_configs_are_refused(store):
    cfg = config([BASE])
    refused(store, mktar(entry("manifest.json", b"[x")), "^invalid manifest.json: ")
    refused(store, mktar(entry("manifest.json", b'{"a":1}')), "not a JSON array")
    refused(store, mktar(entry("manifest.json", b'[{"Config":"nope.json"}]')), "config nope.json is not in")
    refused(store, mktar(entry("c.json", b"{nope"), entry("manifest.json", b'[{"Config":"c.json"}]')),
            "invalid config c.json")
    wrong = f"blobs/sha256/{'0' * 64}"
    refused(store, mktar(entry(wrong, cfg), entry("manifest.json", json.dumps(
        [{"Config": wrong, "Layers": ["l"]}]).encode())), "does not match its digest")
    refused(store, mktar(entry("c.json", cfg), entry("manifest.json", json.dumps(
        [{"Config": "c.json", "Layers": []}]).encode())), "layers length mismatch: expected 0, got 1")
    refused(store, mktar(entry("c.json", cfg), entry("l", BASE), entry("manifest.json", json.dumps(
        [{"Config": "c.json", "Layers": ["l"], "RepoTags": ["notag"]}]).encode())), 'invalid tag "notag"')
    refused(store, docker25([(config([BASE], os="windows"), [BASE], [])]), "cannot load windows image on linux")
    refused(store, mktar(entry("repositories", b"{}")), "before Docker 1.10")
    refused(store, mktar(entry("x", b"x")), "neither manifest.json")
    refused(store, b"", "invalid tar archive")
    refused(store, docker25([(config([BASE]), [BASE], ["t:1"])])[:3000], "invalid tar archive")
    refused(store, gzip.compress(b"x" * 100)[:20], "invalid gzip archive")


def test_missing_layer_is_refused(store):
    cfg = config([BASE, APP])
    data = mktar(entry("c.json", cfg), entry("l1", BASE),
                 entry("manifest.json", json.dumps([{"Config": "c.json", "Layers": ["l1", "l2"]}]).encode()))
    refused(store, data, "layer l2 is not in the archive")
    assert store.list() == []
    assert not store.snapshots.exists(sha(BASE))  # what the failed load unpacked is released


def test_layer_that_does_not_match_its_diff_id_is_refused_and_released(store):
    cfg = config([BASE, APP])
    for data in (docker25([(cfg, [BASE, APP], ["x:1"])]).replace(b"hello\n", b"HELLO\n"),   # spooled
                 save_order([(cfg, [BASE, APP], ["x:1"])], swap=APP, to=layer_tar({"evil": b"1"}))):  # streamed
        refused(store, data, f'invalid diffID for layer 1: expected "{sha(APP)}", got "sha256:')
        assert store.list() == []
        assert [s for s in store.snapshots.walk()] == []
        assert list(store.content.walk()) == []  # the layers' kept tars went too


def save_order(images, swap: bytes, to: bytes) -> bytes:
    """A dockyard-ordered archive (manifest first) in which the tar of layer ``swap`` is ``to``."""
    entries = []
    manifest = []
    for cfg, layers, tags in images:
        manifest.append({"Config": "blobs/sha256/" + hexof(cfg), "RepoTags": tags,
                         "Layers": ["blobs/sha256/" + hexof(x) for x in layers]})
    entries.append(entry("manifest.json", json.dumps(manifest).encode()))
    for cfg, layers, _ in images:
        entries.append(entry("blobs/sha256/" + hexof(cfg), cfg))
        entries += [entry("blobs/sha256/" + hexof(x), to if x == swap else x) for x in layers]
    return mktar(*entries)


def test_load_keeps_the_id_of_a_config_serialized_differently(store):
    cfg = config([BASE], ["sh", "-c", "true && echo <ok>"]).replace(b"&", b"\\u0026").replace(b"<", b"\\u003c")
    load(store, docker25([(cfg, [BASE], ["escaped:1"])]))
    assert store.get("escaped:1").id == sha(cfg)
