"""Image archives: what ``docker save`` writes and ``docker load`` reads.

Written (:func:`save`): the layout of Docker 25's ``docker save`` (moby v25 ``image/tarexport``),
a Docker archive and an OCI image layout sharing one set of blobs::

    manifest.json   [{"Config": "blobs/sha256/<config hex>", "RepoTags": ["busybox:latest"],
                      "Layers": ["blobs/sha256/<layer hex>", ...]}]            (RepoTags null if saved by ID)
    repositories    {"busybox": {"latest": "<hex of the top layer's DiffID>"}}  (only if something is tagged)
    oci-layout      {"imageLayoutVersion": "1.0.0"}
    index.json      OCI index, one descriptor of the image's OCI manifest per tag, annotated with
                    io.containerd.image.name=docker.io/library/busybox:latest and
                    org.opencontainers.image.ref.name=latest (an untagged image: one bare descriptor)
    blobs/sha256/   the OCI manifest of each image, each config (its exact bytes: the image ID
                    is their digest) and each layer tar as it was imported (ImageStore.layer_blob)

A layer imported compressed stays compressed, named by its compressed digest; the manifests carry
its media type (Docker 25 always writes uncompressed tars named by DiffID; Docker's loader
decompresses either).  Differences from Docker 25 on purpose: the small metadata files come first
and the layer blobs last (Docker sorts entries by name, so its ``manifest.json`` comes after every
blob), which lets :func:`load` unpack each layer while the archive is still arriving instead of
spooling it to disk; manifest.json has no ``LayerSources`` (Docker 25 lists every layer there,
though it only matters for foreign layers); an untagged image saved together with tagged ones gets
its own index.json descriptor (Docker 25 forgets it).  Images without layers are refused like
Docker does (``empty export - not implemented``).

Read (:func:`load`):

* the Docker 25 layout above (manifest.json wins when both it and index.json are present);
* the layout of Docker 1.10 to 24, which the real Docker 20.10 on our test machines writes:
  ``<config hex>.json``, ``<v1 id>/layer.tar``, ``<v1 id>/VERSION``, ``<v1 id>/json``,
  ``manifest.json`` (``"Config": "<hex>.json"``, ``"Layers": ["<v1 id>/layer.tar"]``) and
  ``repositories``; when two saved images share a layer at different positions, Docker writes the
  second ``layer.tar`` as a symlink ``../<v1 id>/layer.tar`` to the first;
* a plain OCI image layout without manifest.json: ``index.json`` → image manifests (OCI or Docker
  v2; a nested index or manifest list gives the manifest for this platform) → configs and layers.
  Tags come from ``io.containerd.image.name``, or from ``org.opencontainers.image.ref.name`` when
  that holds a whole reference (a bare tag like ``v1.0`` names no repository: the image loads
  untagged);
* the archive itself plain, gzip, bzip2 or xz; layers in whatever :func:`archive.apply_layer` takes.

Docker before 1.10 wrote no manifest.json (only ``repositories`` and v1 ``json`` files): refused.

Checks on load: every config's sha256 must match the name it is stored under
(``blobs/sha256/<hex>``, ``<hex>.json``) or the descriptor pointing at it; each layer's DiffID, computed
while it is unpacked, must match the config's ``rootfs.diff_ids`` (``invalid diffID for layer N``);
manifest.json's Layers must be as many as the DiffIDs.  The outer tar is read entry by entry and
never extracted: names that are absolute or hold ``..`` are refused, as are links whose target
lies outside the archive; links inside it are followed when a manifest names them (Docker 20.10's
shared layers).  Layers that are needed once and arrive after the manifest and their configs are
unpacked straight from the stream; everything else is kept until the end, small entries in memory
(bounded) and larger ones in unlinked temporary files under ``spool_dir``.  A failed load releases
the layers it unpacked that no image uses.  A layer already unpacked is not unpacked again (Docker
only checks that it exists), unless its tar was never kept (an older data root): then the archive's
copy is taken, so that the image can be saved.
"""

from __future__ import annotations

import bz2
import contextlib
import errno
import io
import json
import lzma
import os
import posixpath
import re
import shutil
import tarfile
import tempfile
import time
import zlib
from dataclasses import dataclass, field
from typing import BinaryIO, Callable

from dockyard import errdefs
from dockyard.image import archive
from dockyard.image.images import Image, ImageStore
from dockyard.oci import digest as dg
from dockyard.oci import image as oimage
from dockyard.oci import reference

__all__ = ["SaveImage", "resolve_names", "save", "load", "LoadedImage"]

MANIFEST = "manifest.json"
INDEX = "index.json"
LAYOUT = "oci-layout"
REPOSITORIES = "repositories"
LAYOUT_CONTENT = b'{"imageLayoutVersion": "1.0.0"}'
ANNOTATION_IMAGE_NAME = "io.containerd.image.name"
ANNOTATION_REF_NAME = "org.opencontainers.image.ref.name"

CHUNK = 1 << 20
SMALL_ENTRY = 1 << 20        # entries up to this size are kept in memory while loading ...
MEMORY_BUDGET = 64 << 20     # ... as long as all of them together stay under this
MAX_JSON = 64 << 20          # the largest manifest, index or config accepted
PROGRESS_INTERVAL = 0.1      # Docker's progress reader: at most 10 updates a second

_HEX64 = re.compile(r"^[a-f0-9]{64}$")
_MANIFEST_TYPES = {oimage.MEDIA_MANIFEST, oimage.DOCKER_MANIFEST}
_INDEX_TYPES = {oimage.MEDIA_INDEX, oimage.DOCKER_LIST}


def _json_bytes(obj, *, newline: bool = False, sort_keys: bool = False) -> bytes:
    """Go's json.Marshal (compact); ``newline`` as json.Encoder.Encode writes it."""
    out = json.dumps(obj, separators=(",", ":"), ensure_ascii=False, sort_keys=sort_keys).encode()
    return out + b"\n" if newline else out


def _blob_name(digest: str) -> str:
    return f"blobs/sha256/{dg.hex_of(digest)}"


def _created_s(img: Image) -> int:
    return max(img.created // 1_000_000_000, 0)


# ==========================================================================
# save


@dataclass
class SaveImage:
    """One image to save and the tags it is saved under (none when it was named by ID)."""

    image: Image
    refs: list[reference.Reference] = field(default_factory=list)


def resolve_names(store: ImageStore, names: list[str]) -> list[SaveImage]:
    """What ``docker save NAMES`` saves, in Docker's way (moby ``tarexport.parseNames``).

    ``repo:tag`` saves that tag; a bare repository saves every tag of it; an ID, an ID prefix or
    ``sha256:<hex>`` saves the image without tags.  Each image appears once, its tags merged.
    Unknown names raise NotFound before anything is written.
    """
    out: dict[str, SaveImage] = {}

    def add(img: Image, ref: reference.Reference | None = None) -> None:
        item = out.setdefault(img.id, SaveImage(img))
        if ref is not None and str(ref) not in {str(r) for r in item.refs}:
            item.refs.append(ref)

    for name in names:
        if dg.is_digest(name) or _HEX64.match(name):
            add(store.get(name if name.startswith("sha256:") else "sha256:" + name))
            continue
        ref = reference.parse(name, default_tag=False)
        if ref.familiar_name == "sha256" and ref.tag:  # "sha256:<ID prefix>"
            img = store.lookup(name)
            if img is None:
                raise errdefs.NotFound(f"No such image: {name}")
            add(img)
            continue
        if ref.digest:
            raise errdefs.NotFound("reference does not exist")  # no digests are recorded (nothing is pulled)
        if ref.tag is None:
            tagged = []
            for img in store.list():
                for t in img.tags:
                    r = reference.parse(t, default_tag=False)
                    if r.name == ref.name:
                        tagged.append((str(r), img, r))
            for _, img, r in sorted(tagged, key=lambda x: x[0]):
                add(img, r)
            if not tagged:
                img = store.lookup(name) if re.fullmatch(r"(sha256:)?[a-f0-9]{1,64}", name) else None
                if img is None:
                    raise errdefs.NotFound(f"No such image: {name}")
                add(img)
            continue
        img = store.lookup(str(ref))
        if img is None:
            raise errdefs.NotFound("reference does not exist")
        add(img, ref)
    return list(out.values())


@dataclass
class _Blob:
    digest: str
    media_type: str
    size: int
    mtime: int
    data: bytes | None = None        # small blobs (manifests, configs)
    file: BinaryIO | None = None     # layer tars: an open file, so a concurrent rmi cannot pull it away


def save(store: ImageStore, images: list[SaveImage], out: BinaryIO, *, spool_dir: str | None = None) -> None:
    """Write the archive of ``images`` (from :func:`resolve_names`) to ``out``, streaming.

    Every blob is opened (or regenerated) before the first byte is written, so a missing one
    fails the save before any output.  Memory use does not depend on the layers' sizes.
    """
    with contextlib.ExitStack() as stack:
        layers: dict[str, _Blob] = {}      # by DiffID
        manifests: list[_Blob] = []
        configs: list[_Blob] = []
        items: list[dict] = []
        index: list[dict] = []
        repos: dict[str, dict[str, str]] = {}
        for entry in images:
            img = entry.image
            if not img.diff_ids:
                raise errdefs.NotImplementedErr("empty export - not implemented")
            mtime = _created_s(img)
            config = _Blob(img.id, oimage.MEDIA_CONFIG, 0, mtime, data=_config_bytes(store, img))
            config.size = len(config.data)
            configs.append(config)
            own: list[_Blob] = []
            for diff_id, chain_id in zip(img.diff_ids, img.chain):
                blob = layers.get(diff_id)
                if blob is None:
                    blob = layers[diff_id] = _layer(store, stack, diff_id, chain_id, mtime, spool_dir)
                own.append(blob)
            mdata = _json_bytes(oimage.manifest_for(img.id, config.size,
                                                    [(b.digest, b.size, b.media_type) for b in own]))
            mdigest = dg.sha256_bytes(mdata)
            manifests.append(_Blob(mdigest, oimage.MEDIA_MANIFEST, len(mdata), 0, data=mdata))
            desc = {"mediaType": oimage.MEDIA_MANIFEST, "digest": mdigest, "size": len(mdata)}
            for ref in entry.refs:
                index.append({**desc, "annotations": {ANNOTATION_IMAGE_NAME: str(ref),
                                                      ANNOTATION_REF_NAME: ref.tag}})
                repos.setdefault(ref.familiar_name, {})[ref.tag] = dg.hex_of(img.diff_ids[-1])
            if not entry.refs:
                index.append(desc)
            items.append({"Config": _blob_name(img.id),
                          "RepoTags": [r.familiar() for r in entry.refs] or None,
                          "Layers": [_blob_name(b.digest) for b in own]})

        w = _TarWriter(out)
        w.file(MANIFEST, _json_bytes(items, newline=True))
        if repos:
            w.file(REPOSITORIES, _json_bytes(repos, newline=True, sort_keys=True))
        w.file(LAYOUT, LAYOUT_CONTENT)
        w.file(INDEX, _json_bytes({"schemaVersion": 2, "mediaType": oimage.MEDIA_INDEX, "manifests": index}))
        w.dir("blobs/")
        w.dir("blobs/sha256/")
        written: set[str] = set()
        for blob in [*manifests, *configs, *layers.values()]:
            if blob.digest in written:
                continue
            written.add(blob.digest)
            if blob.data is not None:
                w.file(_blob_name(blob.digest), blob.data, mtime=blob.mtime)
            else:
                w.copy(_blob_name(blob.digest), blob.file, blob.size, mtime=blob.mtime)
        w.close()


def _config_bytes(store: ImageStore, img: Image) -> bytes:
    """The config exactly as stored: its sha256 is the image ID."""
    try:
        raw = store.content.read(img.id)
    except errdefs.NotFound:
        raw = oimage.canonical_json(img.config)
    if dg.sha256_bytes(raw) != img.id:
        raise errdefs.System(f"the config of image {img.id} is damaged: its digest is {dg.sha256_bytes(raw)}")
    return raw


def _layer(store: ImageStore, stack: contextlib.ExitStack, diff_id: str, chain_id: str, mtime: int,
           spool_dir: str | None) -> _Blob:
    kept = store.layer_blob(diff_id)
    if kept is not None:
        digest, media_type, _ = kept
        try:
            f = stack.enter_context(store.content.open(digest))
        except errdefs.NotFound:
            pass
        else:
            return _Blob(digest, media_type, os.fstat(f.fileno()).st_size, mtime, file=f)
    # No kept tar (an image unpacked before layer tars were kept, or its blob lost): write the layer
    # again from its snapshot.  That gives the same bytes only if the original was written the same
    # way (dockyard's own commits and builds); otherwise the DiffID differs and no loader would take
    # the image, so the save is refused rather than writing an archive that cannot load.
    f = stack.enter_context(tempfile.TemporaryFile(dir=spool_dir))
    got = archive.write_diff(store.snapshots.upper_dir(chain_id), f)
    if got != diff_id:
        raise errdefs.System(f"layer {diff_id} was not kept as a tar and writing it again from its "
                             f"snapshot gives different bytes ({got}); it cannot be saved")
    size = f.seek(0, os.SEEK_END)
    f.seek(0)
    return _Blob(diff_id, oimage.MEDIA_LAYER, size, mtime, file=f)


class _TarWriter:
    """USTAR entries owned by root, as Docker's archive.Tar writes them; no record padding."""

    def __init__(self, out: BinaryIO) -> None:
        self.out = out
        self._sendfile = True

    @staticmethod
    def _header(name: str, size: int, mtime: int, kind: bytes) -> bytes:
        ti = tarfile.TarInfo(name)
        ti.type = kind
        ti.mode = 0o755 if kind == tarfile.DIRTYPE else 0o644
        ti.size = size
        ti.mtime = mtime
        ti.uname = ti.gname = "root"
        return ti.tobuf(tarfile.USTAR_FORMAT, "utf-8", "strict")

    def dir(self, name: str, mtime: int = 0) -> None:
        self.out.write(self._header(name, 0, mtime, tarfile.DIRTYPE))

    def file(self, name: str, data: bytes, mtime: int = 0) -> None:
        self.out.write(self._header(name, len(data), mtime, tarfile.REGTYPE))
        self.out.write(data)
        self._pad(len(data))

    def copy(self, name: str, src: BinaryIO, size: int, mtime: int = 0) -> None:
        self.out.write(self._header(name, size, mtime, tarfile.REGTYPE))
        done = self._sendfile_copy(src, size) if self._sendfile else 0
        src.seek(done)
        while done < size:
            data = src.read(min(CHUNK, size - done))
            if not data:
                raise errdefs.System(f"{name}: the file shrank while it was being saved")
            self.out.write(data)
            done += len(data)
        self._pad(size)

    def _sendfile_copy(self, src: BinaryIO, size: int) -> int:
        """Kernel-side copy when both ends are real files (a pipe to the HTTP side, in the daemon)."""
        try:
            ofd, ifd = self.out.fileno(), src.fileno()
        except (AttributeError, OSError, io.UnsupportedOperation):
            self._sendfile = False
            return 0
        self.out.flush()
        done = 0
        while done < size:
            try:
                n = os.sendfile(ofd, ifd, done, min(size - done, 1 << 30))
            except OSError as e:
                if done == 0 and e.errno in (errno.EINVAL, errno.ENOSYS, errno.EOPNOTSUPP):
                    self._sendfile = False
                    return 0
                raise
            if n == 0:
                break  # short file: the caller's read loop reports it
            done += n
        return done

    def _pad(self, size: int) -> None:
        if size % 512:
            self.out.write(bytes(512 - size % 512))

    def close(self) -> None:
        self.out.write(bytes(1024))
        self.out.flush()


# ==========================================================================
# load


@dataclass
class LoadedImage:
    id: str
    tags: list[str]   # normalized references now pointing at it


def load(store: ImageStore, src: BinaryIO, *, spool_dir: str | None = None,
         on_message: Callable[[str], None] = lambda text: None,
         on_progress: Callable[[str, int, int], None] | None = None,
         on_loaded: Callable[[str], None] = lambda image_id: None) -> list[LoadedImage]:
    """Load every image of the archive read from ``src`` (see the module docstring).

    ``on_message`` gets the lines Docker writes to the load's output stream ("Loaded image:
    busybox:latest\\n"), ``on_progress(id, current, total)`` the "Loading layer" progress (None:
    quiet), ``on_loaded(image_id)`` each image once it is recorded and tagged.  Errors are
    :class:`errdefs.InvalidArgument` for a bad archive, :class:`errdefs.System` for disk faults.
    """
    loader = _Loader(store, spool_dir, on_progress)
    try:
        loader.read(src)
        return loader.finish(on_message, on_loaded)
    except BaseException:
        loader.release()
        raise
    finally:
        loader.close()


@dataclass
class _Entry:
    """A regular file of the archive: in memory, in a spool file, or gone (streamed into a layer)."""

    size: int
    data: bytes | None = None
    file: BinaryIO | None = None

    @property
    def available(self) -> bool:
        return self.data is not None or self.file is not None

    def open(self) -> BinaryIO:
        if self.data is not None:
            return io.BytesIO(self.data)
        assert self.file is not None
        self.file.seek(0)
        return self.file

    def read(self) -> bytes:
        return self.open().read()


@dataclass
class _PlanImage:
    """An image to load: its config and, per layer, the archive path that holds its tar."""

    config: dict
    layer_paths: list[str]
    tags: list[reference.Reference]
    chain_ids: list[str] = field(default_factory=list)
    done: int = 0                     # layers known to be unpacked
    raw: bytes | None = None          # the config's bytes as they came: they make the image ID

    @property
    def diff_ids(self) -> list[str]:
        return self.config["rootfs"]["diff_ids"]


class _Loader:
    def __init__(self, store: ImageStore, spool_dir: str | None,
                 on_progress: Callable[[str, int, int], None] | None) -> None:
        self.store = store
        self.spool_dir = spool_dir
        self.on_progress = on_progress
        self.entries: dict[str, _Entry] = {}
        self.links: dict[str, str] = {}
        self.memory = 0
        self.manifest: list | None = None
        self.plan: list[_PlanImage] | None = None
        self.unpacked: list[tuple[str, str]] = []   # (chain ID, DiffID) this load unpacked
        self.refresh: set[tuple[int, int]] = set()   # (image, layer): unpacked already but its tar not kept
        self.images: list[LoadedImage] = []

    # -- reading the archive ---------------------------------------------------
    def read(self, src: BinaryIO) -> None:
        src = _decompressed(src)
        try:
            with tarfile.open(fileobj=src, mode="r|", bufsize=CHUNK) as tar:
                for m in tar:
                    self._member(tar, m)
        except (tarfile.TarError, EOFError) as e:
            raise errdefs.InvalidArgument(f"invalid tar archive: {e}") from e
        except OSError as e:
            raise errdefs.System(f"loading the archive: {e}") from e

    def _member(self, tar: tarfile.TarFile, m: tarfile.TarInfo) -> None:
        name = _entry_name(m.name)
        if name is None or m.isdir():
            return
        if name in self.entries or name in self.links:
            raise errdefs.InvalidArgument(f"invalid archive: {name} appears twice")
        if m.issym():
            if m.linkname.startswith("/"):
                raise errdefs.InvalidArgument(f"invalid archive: {name} links outside the archive "
                                              f"(to {m.linkname})")
            self.links[name] = _inside(posixpath.join(posixpath.dirname(name), m.linkname), name, m.linkname)
            return
        if m.islnk():
            self.links[name] = _inside(m.linkname, name, m.linkname)
            return
        if not m.isreg():
            return  # devices, fifos: not part of any image format
        f = tar.extractfile(m)
        slot = self._streamable(name)
        if slot is not None:
            self.entries[name] = _Entry(m.size)   # its bytes go straight into the layer
            self._unpack(*slot, f, m.size)
            self._advance()
            return
        self.entries[name] = self._keep(f, m.size)
        if name == MANIFEST:
            self.manifest = _parse_json(self._read_small(MANIFEST, "file"), MANIFEST)
            if not isinstance(self.manifest, list):
                raise errdefs.InvalidArgument("invalid manifest.json: not a JSON array")
        if self.plan is None and self.manifest is not None and self._configs_present():
            self.plan = self._plan_docker()
        if self.plan is not None:
            self._advance()

    def _keep(self, f: BinaryIO, size: int) -> _Entry:
        if size <= SMALL_ENTRY and self.memory + size <= MEMORY_BUDGET:
            data = f.read()
            self.memory += len(data)
            return _Entry(size, data=data)
        spool = tempfile.TemporaryFile(dir=self.spool_dir)
        try:
            shutil.copyfileobj(f, spool, CHUNK)
        except BaseException:
            spool.close()
            raise
        return _Entry(size, file=spool)

    # -- links ------------------------------------------------------------------
    def _resolve(self, path: str) -> str:
        """``path`` with the archive's links followed (lexically: nothing here touches a filesystem)."""
        for _ in range(64):
            parts = path.split("/")
            for j in range(1, len(parts) + 1):
                target = self.links.get("/".join(parts[:j]))
                if target is not None:
                    path = _inside("/".join([target, *parts[j:]]), path, target)
                    break
            else:
                return path
        raise errdefs.InvalidArgument(f"invalid archive: too many levels of links at {path}")

    def _entry(self, path: str, what: str) -> _Entry:
        e = self.entries.get(self._resolve(path))
        if e is None:
            raise errdefs.InvalidArgument(f"invalid archive: {what} {path} is not in the archive")
        if not e.available:
            raise errdefs.InvalidArgument(f"invalid archive: {what} {path} is linked to an entry that was "
                                          f"already used up")
        return e

    def _read_small(self, path: str, what: str) -> bytes:
        e = self._entry(path, what)
        if e.size > MAX_JSON:
            raise errdefs.InvalidArgument(f"invalid archive: {what} {path} is too large ({e.size} bytes)")
        return e.read()

    # -- plans ------------------------------------------------------------------
    def _configs_present(self) -> bool:
        for item in self.manifest:
            cfg = item.get("Config") if isinstance(item, dict) else None
            if not isinstance(cfg, str):
                return True  # let the plan report the problem
            try:
                e = self.entries.get(self._resolve(_ref_path(cfg, MANIFEST)))
            except errdefs.InvalidArgument:
                return True
            if e is None:
                return False
        return True

    def _plan_docker(self) -> list[_PlanImage]:
        """The images manifest.json describes (Docker 1.10+)."""
        plan = []
        for item in self.manifest:
            if not isinstance(item, dict) or not isinstance(item.get("Config"), str):
                raise errdefs.InvalidArgument("invalid manifest.json: an entry without Config")
            layers = item.get("Layers") or []
            tags = item.get("RepoTags") or []
            if not isinstance(layers, list) or not all(isinstance(x, str) for x in layers):
                raise errdefs.InvalidArgument("invalid manifest.json: Layers must be a list of paths")
            if not isinstance(tags, list) or not all(isinstance(x, str) for x in tags):
                raise errdefs.InvalidArgument("invalid manifest.json: RepoTags must be a list of strings")
            cfg_path = _ref_path(item["Config"], MANIFEST)
            raw = self._read_small(cfg_path, "config")
            m = re.fullmatch(r"(?:.*/)?(?:blobs/sha256/([a-f0-9]{64})|([a-f0-9]{64})\.json)", cfg_path)
            expected = "sha256:" + (m.group(1) or m.group(2)) if m else None
            plan.append(self._plan_image(cfg_path, raw, expected, [_ref_path(x, MANIFEST) for x in layers],
                                         [_tag_ref(t) for t in tags]))
        return plan

    def _plan_oci(self) -> list[_PlanImage]:
        """The images of an OCI image layout (index.json), for archives without manifest.json."""
        if LAYOUT in self.entries:
            layout = _parse_json(self._read_small(LAYOUT, "file"), LAYOUT)
            if not isinstance(layout, dict) or "imageLayoutVersion" not in layout:
                raise errdefs.InvalidArgument("invalid oci-layout: no imageLayoutVersion")
        index = _parse_json(self._read_small(INDEX, "file"), INDEX)
        if not isinstance(index, dict) or not isinstance(index.get("manifests") or [], list):
            raise errdefs.InvalidArgument("invalid index.json: not an image index")
        by_manifest: dict[str, _PlanImage] = {}
        for desc in index.get("manifests") or []:
            tags = _oci_tags(desc)
            for mdigest, manifest in self._manifests(desc, INDEX, 0):
                img = by_manifest.get(mdigest)
                if img is None:
                    img = by_manifest[mdigest] = self._plan_manifest(mdigest, manifest)
                img.tags.extend(t for t in tags if str(t) not in {str(x) for x in img.tags})
        if not by_manifest:
            raise errdefs.InvalidArgument(f"invalid archive: index.json lists no image for linux/"
                                          f"{oimage.go_arch()}")
        return list(by_manifest.values())

    def _manifests(self, desc, source: str, depth: int) -> list[tuple[str, dict]]:
        """Image manifests reached from ``desc``: itself, or the one(s) for this platform of an index."""
        if not isinstance(desc, dict):
            raise errdefs.InvalidArgument(f"invalid {source}: a descriptor is not an object")
        media = desc.get("mediaType")
        if media not in _MANIFEST_TYPES and media not in _INDEX_TYPES:
            return []  # "An encountered mediaType that is unknown MUST NOT generate an error"
        digest = _descriptor_digest(desc, source)
        data = self._blob(digest, "manifest")
        doc = _parse_json(data, _blob_name(digest))
        if not isinstance(doc, dict):
            raise errdefs.InvalidArgument(f"invalid manifest {_blob_name(digest)}: not an object")
        if media in _MANIFEST_TYPES:
            return [(digest, doc)]
        if depth >= 4:
            raise errdefs.InvalidArgument(f"invalid archive: indexes nested too deep at {_blob_name(digest)}")
        out = []
        for child in doc.get("manifests") or []:
            platform = child.get("platform") if isinstance(child, dict) else None
            if isinstance(platform, dict) and (platform.get("os") != "linux" or
                                               platform.get("architecture") != oimage.go_arch()):
                continue
            out.extend(self._manifests(child, _blob_name(digest), depth + 1))
            if out:
                break  # the first manifest for this platform, as a pull would choose
        return out

    def _plan_manifest(self, mdigest: str, manifest: dict) -> _PlanImage:
        source = _blob_name(mdigest)
        config = manifest.get("config")
        layers = manifest.get("layers") or []
        if not isinstance(config, dict) or not isinstance(layers, list):
            raise errdefs.InvalidArgument(f"invalid manifest {source}: no config or layers")
        cdigest = _descriptor_digest(config, source)
        raw = self._blob(cdigest, "config")
        return self._plan_image(_blob_name(cdigest), raw, cdigest,
                                [_blob_name(_descriptor_digest(layer, source)) for layer in layers], [])

    def _blob(self, digest: str, what: str) -> bytes:
        data = self._read_small(_blob_name(digest), what)
        if dg.sha256_bytes(data) != digest:
            raise errdefs.InvalidArgument(f"invalid {what} {_blob_name(digest)}: its content does not match "
                                          f"its digest (it is {dg.sha256_bytes(data)})")
        return data

    def _plan_image(self, source: str, raw: bytes, expected: str | None, layer_paths: list[str],
                    tags: list[reference.Reference]) -> _PlanImage:
        image_id = dg.sha256_bytes(raw)
        if expected is not None and image_id != expected:
            raise errdefs.InvalidArgument(f"invalid config {source}: its content does not match its digest "
                                          f"{expected} (it is {image_id})")
        config = _parse_json(raw, f"config {source}")
        if not isinstance(config, dict):
            raise errdefs.InvalidArgument(f"invalid config {source}: not a JSON object")
        os_name = config.get("os") or ""
        if os_name and os_name != "linux":
            raise errdefs.InvalidArgument(f"cannot load {os_name} image on linux")
        rootfs = config.get("rootfs")
        if not isinstance(rootfs, dict):
            raise errdefs.InvalidArgument(f"invalid image JSON in {source}, no RootFS key")
        diff_ids = rootfs.get("diff_ids") or []
        if not isinstance(diff_ids, list) or not all(isinstance(d, str) and dg.is_digest(d) for d in diff_ids):
            raise errdefs.InvalidArgument(f"invalid config {source}: rootfs.diff_ids must be sha256 digests")
        if len(layer_paths) != len(diff_ids):
            raise errdefs.InvalidArgument(f"invalid manifest, layers length mismatch: expected "
                                          f"{len(layer_paths)}, got {len(diff_ids)}")
        return _PlanImage(config, layer_paths, tags, dg.chain_ids(diff_ids), raw=raw)

    # -- unpacking --------------------------------------------------------------
    def _streamable(self, name: str) -> tuple[int, int] | None:
        """The one layer slot (image, layer) the entry ``name`` can fill now, if its bytes need not be kept."""
        if self.plan is None:
            return None
        slots: dict[str, tuple[int, int]] = {}
        for k, img in enumerate(self.plan):
            for i in range(len(img.layer_paths)):
                if (i >= img.done or (k, i) in self.refresh) and self._resolve(img.layer_paths[i]) == name:
                    slots.setdefault(img.chain_ids[i], (k, i))
        if len(slots) != 1:
            return None  # unused (yet), or needed on different parents: keep it
        k, i = next(iter(slots.values()))
        img = self.plan[k]
        if not self._wanted(img, i):
            return None
        if i > 0 and not self.store.snapshots.exists(img.chain_ids[i - 1]):
            return None
        return k, i

    def _wanted(self, img: _PlanImage, i: int) -> bool:
        """Whether layer ``i`` needs its tar: not unpacked yet, or unpacked without a kept tar (which
        save needs; Docker only checks that the layer exists)."""
        return not self.store.snapshots.exists(img.chain_ids[i]) or self.store.layer_blob(img.diff_ids[i]) is None

    def _available(self, img: _PlanImage, i: int) -> _Entry | None:
        e = self.entries.get(self._resolve(img.layer_paths[i]))
        return e if e is not None and e.available else None

    def _advance(self) -> None:
        """Unpack every layer whose tar and parent are at hand."""
        for k, i in sorted(self.refresh):
            e = self._available(self.plan[k], i)
            if not self._wanted(self.plan[k], i):
                self.refresh.discard((k, i))
            elif e is not None:
                self._unpack(k, i, e.open(), e.size)
        progress = True
        while progress:
            progress = False
            for k, img in enumerate(self.plan):
                while img.done < len(img.layer_paths):
                    i = img.done
                    if self._wanted(img, i):
                        e = self._available(img, i)
                        if e is not None:
                            self._unpack(k, i, e.open(), e.size)
                        elif self.store.snapshots.exists(img.chain_ids[i]):
                            self.refresh.add((k, i))  # its tar may still come: keep it then
                        else:
                            break
                    img.done += 1
                    progress = True

    def _unpack(self, k: int, i: int, f: BinaryIO, size: int) -> None:
        img = self.plan[k]
        expected = img.diff_ids[i]
        if self.on_progress is not None:
            f = _ProgressReader(f, size, dg.hex_of(expected)[:12], self.on_progress)
        layer = self.store.unpack_layer(f, img.chain_ids[i - 1] if i else None)
        self.unpacked.append((layer.chain_id, layer.diff_id))
        if layer.diff_id != expected:
            raise errdefs.InvalidArgument(f'invalid diffID for layer {i}: expected "{expected}", '
                                          f'got "{layer.diff_id}"')
        self.refresh.discard((k, i))

    # -- the end ----------------------------------------------------------------
    def finish(self, on_message: Callable[[str], None], on_loaded: Callable[[str], None]) -> list[LoadedImage]:
        if self.plan is None:
            if self.manifest is not None:
                self.plan = self._plan_docker()
            elif INDEX in self.entries:
                self.plan = self._plan_oci()
            elif REPOSITORIES in self.entries:
                raise errdefs.InvalidArgument("unsupported archive: it has no manifest.json (the format of "
                                              "docker save before Docker 1.10)")
            else:
                raise errdefs.InvalidArgument("invalid archive: it has neither manifest.json (docker save) "
                                              "nor index.json (OCI image layout)")
        self._advance()
        for img in self.plan:
            if img.done < len(img.layer_paths):
                self._entry(img.layer_paths[img.done], "layer")  # missing, or used up: raises
        # Docker's output, quirk included: the "Loaded image ID" lines of every image are written
        # only when the last image had no tag (moby tarexport.loadHelper).
        ids_text = ""
        last_tags = 0
        for p in self.plan:
            img = self.store.create(p.config, [], raw=p.raw)
            ids_text += f"Loaded image ID: {img.id}\n"
            tags = []
            for ref in p.tags:
                previous = self.store.tag(img.id, str(ref))
                if previous:
                    on_message(f"The image {ref.familiar()} already exists, renaming the old one with ID "
                               f"{previous} to empty string\n")
                on_message(f"Loaded image: {ref.familiar()}\n")
                tags.append(str(ref))
            last_tags = len(p.tags)
            self.images.append(LoadedImage(img.id, tags))
            on_loaded(img.id)
        if last_tags == 0 and ids_text:
            on_message(ids_text)
        return self.images

    def release(self) -> None:
        """After a failure: drop the layers this load unpacked that no image uses."""
        released: list[str] = []
        for chain_id, diff_id in reversed(self.unpacked):
            with contextlib.suppress(Exception):
                if self.store.release_layers([chain_id]):
                    released.append(diff_id)
        if released:
            with contextlib.suppress(Exception):
                self.store.release_blobs(released)  # the kept tars of those layers

    def close(self) -> None:
        for e in self.entries.values():
            if e.file is not None:
                e.file.close()
                e.file = None
        self.entries.clear()


# -- helpers ------------------------------------------------------------------


def _entry_name(name: str) -> str | None:
    """The archive path of a tar entry (``./a//b/`` → ``a/b``); refuses absolute names and ``..``."""
    if name.startswith("/"):
        raise errdefs.InvalidArgument(f"invalid archive: absolute path {name!r}")
    parts = [p for p in name.split("/") if p not in ("", ".")]
    if ".." in parts:
        raise errdefs.InvalidArgument(f"invalid archive: path {name!r} leaves the archive")
    return "/".join(parts) or None


def _inside(path: str, name: str, target: str) -> str:
    """Normalize a path inside the archive; a link leading out of it is refused."""
    norm = posixpath.normpath(path)
    if norm.startswith("/") or norm == ".." or norm.startswith("../"):
        raise errdefs.InvalidArgument(f"invalid archive: {name} links outside the archive (to {target})")
    return "" if norm == "." else norm


def _ref_path(path: str, source: str) -> str:
    """A path named by a manifest, as an archive path."""
    if path.startswith("/"):
        raise errdefs.InvalidArgument(f"invalid {source}: absolute path {path!r}")
    norm = posixpath.normpath(path)
    if norm == ".." or norm.startswith("../"):
        raise errdefs.InvalidArgument(f"invalid {source}: path {path!r} leaves the archive")
    return norm


def _parse_json(data: bytes, what: str):
    try:
        return json.loads(data)
    except (ValueError, UnicodeDecodeError) as e:
        raise errdefs.InvalidArgument(f"invalid {what}: {e}") from None


def _tag_ref(text: str) -> reference.Reference:
    try:
        ref = reference.parse(text, default_tag=False)
    except errdefs.InvalidArgument as e:
        raise errdefs.InvalidArgument(f"invalid tag {text!r} in manifest.json: {e}") from None
    if ref.tag is None or ref.digest is not None:
        raise errdefs.InvalidArgument(f'invalid tag "{text}"')
    return ref


def _oci_tags(desc) -> list[reference.Reference]:
    """The tag an index.json descriptor gives its image, if it names a repository."""
    ann = desc.get("annotations") if isinstance(desc, dict) else None
    if not isinstance(ann, dict):
        return []
    for key in (ANNOTATION_IMAGE_NAME, ANNOTATION_REF_NAME):
        text = ann.get(key)
        if not isinstance(text, str) or (key == ANNOTATION_REF_NAME and not re.search(r"[:/]", text)):
            continue  # a bare tag ("latest", "v1.0") names no repository
        try:
            ref = reference.parse(text)
        except errdefs.InvalidArgument:
            continue
        if ref.digest is None:
            return [ref]
    return []


def _descriptor_digest(desc, source: str) -> str:
    digest = desc.get("digest") if isinstance(desc, dict) else None
    if not isinstance(digest, str) or not dg.is_digest(digest):
        if isinstance(digest, str) and ":" in digest and not digest.startswith("sha256:"):
            raise errdefs.InvalidArgument(f"invalid {source}: unsupported digest algorithm in {digest}")
        raise errdefs.InvalidArgument(f"invalid {source}: bad descriptor digest {digest!r}")
    return digest


class _ProgressReader:
    """Reports "Loading layer" progress the way Docker's progress reader paces it."""

    def __init__(self, src: BinaryIO, total: int, ident: str, report: Callable[[str, int, int], None]) -> None:
        self._src = src
        self._total = total
        self._ident = ident
        self._report = report
        self._current = 0
        self._last = 0.0

    def _count(self, n: int) -> None:
        self._current += n
        now = time.monotonic()
        if n and (self._current == self._total or now - self._last >= PROGRESS_INTERVAL):
            self._last = now
            self._report(self._ident, self._current, self._total)

    def readinto(self, buf) -> int:
        readinto = getattr(self._src, "readinto", None)
        if readinto is not None:
            n = readinto(buf) or 0
        else:
            data = self._src.read(len(buf))
            n = len(data)
            buf[:n] = data
        self._count(n)
        return n

    def read(self, n: int = -1) -> bytes:
        data = self._src.read(n)
        self._count(len(data))
        return data


# -- the archive's own compression (docker load takes a gzipped save) -----------


def _decompressed(src: BinaryIO) -> BinaryIO:
    head = src.read(6)
    if head.startswith(b"\x1f\x8b"):
        kind = "gzip"
    elif head.startswith(b"BZh"):
        kind = "bzip2"
    elif head.startswith(b"\xfd7zXZ\x00"):
        kind = "xz"
    elif head.startswith(b"\x28\xb5\x2f\xfd"):
        raise errdefs.InvalidArgument("zstd-compressed archives are not supported: decompress it first")
    else:
        return _Prefixed(head, src)
    return _Decompressing(_Prefixed(head, src), kind)


class _Prefixed(io.RawIOBase):
    """``src`` with ``head`` (already read from it) put back in front."""

    def __init__(self, head: bytes, src: BinaryIO) -> None:
        self._head = head
        self._src = src

    def readable(self) -> bool:
        return True

    def readinto(self, buf) -> int:
        if self._head:
            n = min(len(buf), len(self._head))
            buf[:n] = self._head[:n]
            self._head = self._head[n:]
            return n
        data = self._src.read(len(buf))
        buf[:len(data)] = data
        return len(data)


class _Decompressing(io.RawIOBase):
    """A decompressed view of ``src``; each call's output is bounded, so no bomb lands in memory."""

    def __init__(self, src: io.RawIOBase, kind: str) -> None:
        self._src = src
        self._kind = kind
        self._d = None       # the current member's decompressor (gzip, bzip2 and xz all allow several)
        self._in = b""       # raw bytes not given to a decompressor yet

    def readable(self) -> bool:
        return True

    def _new(self):
        if self._kind == "gzip":
            return _ZlibAdapter(zlib.decompressobj(31))
        return bz2.BZ2Decompressor() if self._kind == "bzip2" else lzma.LZMADecompressor()

    def readinto(self, buf) -> int:
        try:
            while True:
                if self._d is None:
                    if not self._in:
                        self._in = self._src.read(CHUNK)
                        if not self._in:
                            return 0
                    if not self._in.strip(b"\0"):
                        self._in = b""   # zero padding after the last member
                        continue
                    self._d = self._new()
                data = b""
                if self._d.needs_input:
                    if not self._in:
                        self._in = self._src.read(CHUNK)
                        if not self._in:
                            raise errdefs.InvalidArgument(f"invalid {self._kind} archive: unexpected end of data")
                    data, self._in = self._in, b""
                out = self._d.decompress(data, len(buf))
                if self._d.eof:
                    self._in = self._d.unused_data + self._in
                    self._d = None
                if out:
                    buf[:len(out)] = out
                    return len(out)
        except (zlib.error, OSError, EOFError, lzma.LZMAError) as e:
            raise errdefs.InvalidArgument(f"invalid {self._kind} archive: {e}") from e


class _ZlibAdapter:
    """zlib's decompressobj behind the interface of bz2's and lzma's decompressors."""

    def __init__(self, d) -> None:
        self._d = d
        self._full = False

    def decompress(self, data: bytes, max_length: int) -> bytes:
        out = self._d.decompress(self._d.unconsumed_tail + data, max_length)
        self._full = len(out) == max_length
        return out

    @property
    def eof(self) -> bool:
        return self._d.eof

    @property
    def needs_input(self) -> bool:
        return not self._d.unconsumed_tail and not self._full

    @property
    def unused_data(self) -> bytes:
        return self._d.unused_data
