"""The image store: image records (config + tags) over unpacked layer snapshots.

An image is its config blob (its ID is the config's digest); its layers are
committed snapshots keyed by chain ID, shared by every image that has the same
layer prefix. Tags map normalized references to image IDs.
"""

from __future__ import annotations

import json
import re
import time
from dataclasses import dataclass, field
from typing import BinaryIO

from dockyard import errdefs
from dockyard.image import archive
from dockyard.oci import digest as dg
from dockyard.oci import image as oimage
from dockyard.oci import reference
from dockyard.store.content import ContentStore
from dockyard.store.metadata import MetadataDB
from dockyard.store.snapshots.overlay import OverlaySnapshotter
from dockyard.util import ids
from dockyard.util.timeutil import format_ns, parse_rfc3339_ns

_HEX_PREFIX = re.compile(r"^(sha256:)?[a-f0-9]{1,64}$")


@dataclass
class Image:
    id: str
    config: dict
    size: int
    created: int
    added: int
    tags: list[str] = field(default_factory=list)

    @property
    def diff_ids(self) -> list[str]:
        return list((self.config.get("rootfs") or {}).get("diff_ids") or [])

    @property
    def chain(self) -> list[str]:
        return dg.chain_ids(self.diff_ids)

    @property
    def top_layer(self) -> str | None:
        chain = self.chain
        return chain[-1] if chain else None

    @property
    def container_config(self) -> dict:
        return self.config.get("config") or {}


@dataclass(frozen=True)
class Layer:
    chain_id: str
    diff_id: str
    size: int


# An uncompressed tar with no entries: a step that changed no file adds no layer.
EMPTY_LAYER_DIFF_ID = "sha256:5f70bf18a086007016e948b04aed3b82103a36bea41755b6cddfaf10ace3c6ef"

_LAYER_MEDIA = {"gzip": oimage.MEDIA_LAYER_GZIP, "zstd": oimage.MEDIA_LAYER + "+zstd"}


class _Tee:
    """A reader that also writes everything read into a content writer."""

    def __init__(self, src: BinaryIO, sink) -> None:
        self._src = src
        self._sink = sink

    def readinto(self, buf) -> int:
        readinto = getattr(self._src, "readinto", None)
        if readinto is not None:
            n = readinto(buf) or 0
        else:
            data = self._src.read(len(buf))
            n = len(data)
            buf[:n] = data
        if n:
            self._sink.write(bytes(memoryview(buf)[:n]))
        return n

    def read(self, n: int = -1) -> bytes:
        data = self._src.read(n)
        if data:
            self._sink.write(data)
        return data


class ImageStore:
    def __init__(self, db: MetadataDB, content: ContentStore, snapshots: OverlaySnapshotter) -> None:
        self.db = db
        self.content = content
        self.snapshots = snapshots

    # -- lookup ----------------------------------------------------------
    def _load(self, image_id: str) -> Image | None:
        r = self.db.query_one("SELECT id, config, size, created, added FROM images WHERE id=?", (image_id,))
        if r is None:
            return None
        tags = [t["ref"] for t in self.db.query("SELECT ref FROM tags WHERE image_id=? ORDER BY added", (image_id,))]
        return Image(r["id"], json.loads(r["config"]), r["size"], r["created"], r["added"], tags)

    def get(self, name: str) -> Image:
        """Resolve a reference, a full ID or a unique ID prefix, in Docker's order."""
        img = self.lookup(name)
        if img is None:
            raise errdefs.NotFound(f"No such image: {name}")
        return img

    def lookup(self, name: str) -> Image | None:
        if dg.is_digest(name):
            return self._load(name)
        try:
            ref = reference.parse(name)
        except errdefs.InvalidArgument:
            ref = None
        if ref is not None and ref.digest is None:
            r = self.db.query_one("SELECT image_id FROM tags WHERE ref=?", (str(ref),))
            if r is not None:
                return self._load(r["image_id"])
        if _HEX_PREFIX.match(name):
            prefix = name if name.startswith("sha256:") else "sha256:" + name
            found = ids.find_by_prefix(prefix, (r["id"] for r in self.db.query(
                "SELECT id FROM images WHERE id >= ? AND id < ?", (prefix, prefix + "g"))), "image")
            if found:
                return self._load(found)
        return None

    def list(self) -> list[Image]:
        tags: dict[str, list[str]] = {}
        for t in self.db.query("SELECT ref, image_id FROM tags ORDER BY added"):
            tags.setdefault(t["image_id"], []).append(t["ref"])
        return [Image(r["id"], json.loads(r["config"]), r["size"], r["created"], r["added"], tags.get(r["id"], []))
                for r in self.db.query("SELECT id, config, size, created, added FROM images")]

    # -- layers ----------------------------------------------------------
    def unpack_layer(self, stream: BinaryIO, parent: str | None, *, blob: str | None = None) -> Layer:
        """Apply one layer tar on top of the chain ``parent``; an identical layer is shared, not duplicated.

        The bytes as they came are kept as a content blob too, so save and push give them back unchanged
        (``blob``: they are a stored blob already)."""
        key = f"extract-{ids.new_id()[:16]}"
        self.snapshots.prepare(key, parent)
        writer = self.content.writer() if blob is None else None
        try:
            applied = archive.apply_layer(_Tee(stream, writer) if writer else stream, self.snapshots.upper_dir(key))
            if writer is not None:
                blob = writer.commit()
        except BaseException:
            if writer is not None:
                writer.abort()
            self.snapshots.remove(key)
            raise
        media = _LAYER_MEDIA.get(applied.compression or "", oimage.MEDIA_LAYER)
        if self.db.execute("INSERT OR IGNORE INTO layer_blobs (diff_id, digest, media_type, size) "
                           "VALUES (?,?,?,?)", (applied.diff_id, blob, media, self.content.size(blob))) == 0:
            kept = self.layer_blob(applied.diff_id)
            if kept is not None and kept[0] != blob:
                self.content.delete(blob)  # the same layer is already kept in another encoding
        chain_id = applied.diff_id if parent is None else dg.sha256_bytes(f"{parent} {applied.diff_id}".encode())
        if self.snapshots.exists(chain_id):
            self.snapshots.remove(key)
        else:
            self.snapshots.commit(chain_id, key)
        return Layer(chain_id, applied.diff_id, self.snapshots.usage(chain_id))

    def layer_from_dir(self, upper: str, parent: str | None, *, id_map=None) -> Layer | None:
        """A new layer holding what the overlay upper dir ``upper`` changed; None when it changed nothing.

        ``id_map`` turns the owners on disk into the layer's (a container under --userns-remap)."""
        writer = self.content.writer()
        try:
            diff_id = archive.write_diff(upper, writer, id_map=id_map)
            if diff_id == EMPTY_LAYER_DIFF_ID:
                writer.abort()
                return None
            blob = writer.commit()
        except BaseException:
            writer.abort()
            raise
        with self.content.open(blob) as f:
            return self.unpack_layer(f, parent, blob=blob)

    def layer_blob(self, diff_id: str) -> tuple[str, str, int] | None:
        """(digest, media type, size) of the stored tar of a layer, if kept."""
        r = self.db.query_one("SELECT digest, media_type, size FROM layer_blobs WHERE diff_id=?", (diff_id,))
        return (r["digest"], r["media_type"], r["size"]) if r else None

    def layer_size(self, chain_id: str) -> int:
        return self.snapshots.usage(chain_id)

    # -- records ---------------------------------------------------------
    def create(self, config: dict, tags: list[str] = (), *, raw: bytes | None = None) -> Image:
        """Record an image whose layers are unpacked already; returns it (existing if identical).

        ``raw``: the config exactly as it came (a load or a pull): its bytes are the image's ID,
        however another engine serialized them."""
        for chain_id in dg.chain_ids(config.get("rootfs", {}).get("diff_ids") or []):
            if not self.snapshots.exists(chain_id):
                raise errdefs.System(f"layer {chain_id} is not unpacked")
        if raw is None:
            raw = oimage.canonical_json(config)
        image_id = self.content.write_bytes(raw)
        size = sum(self.layer_size(c) for c in dg.chain_ids(config["rootfs"]["diff_ids"]))
        created = _created_ns(config.get("created"))
        now = time.time_ns()
        with self.db.tx() as c:
            c.execute("INSERT OR IGNORE INTO images (id, config, size, created, added) VALUES (?,?,?,?,?)",
                      (image_id, raw.decode("utf-8", errors="surrogateescape"), size, created, now))
            for t in tags:
                c.execute("INSERT OR REPLACE INTO tags (ref, image_id, added) VALUES (?,?,?)", (t, image_id, now))
        return self._load(image_id)

    def tag(self, image_id: str, ref: str) -> str | None:
        """Point ``ref`` at the image; returns the image it pointed at before, if any."""
        with self.db.tx() as c:
            old = c.execute("SELECT image_id FROM tags WHERE ref=?", (ref,)).fetchone()
            c.execute("INSERT OR REPLACE INTO tags (ref, image_id, added) VALUES (?,?,?)",
                      (ref, image_id, time.time_ns()))
        return old[0] if old and old[0] != image_id else None

    def untag(self, ref: str) -> None:
        self.db.execute("DELETE FROM tags WHERE ref=?", (ref,))

    def tags_of(self, image_id: str) -> list[str]:
        return [t["ref"] for t in self.db.query("SELECT ref FROM tags WHERE image_id=? ORDER BY added", (image_id,))]

    def delete(self, image_id: str) -> list[str]:
        """Forget the image and release layers nothing else uses; returns the released chain IDs."""
        img = self._load(image_id)
        if img is None:
            raise errdefs.NotFound(f"No such image: {image_id}")
        with self.db.tx() as c:
            c.execute("DELETE FROM tags WHERE image_id=?", (image_id,))
            c.execute("DELETE FROM images WHERE id=?", (image_id,))
        self.content.delete(image_id)
        released = self.release_layers(img.chain)
        self.release_blobs(img.diff_ids)
        return released

    def release_blobs(self, diff_ids: list[str]) -> None:
        """Drop kept layer tars no image refers to any more."""
        used: set[str] = set()
        for r in self.db.query("SELECT config FROM images"):
            used.update(json.loads(r["config"]).get("rootfs", {}).get("diff_ids") or [])
        for diff_id in set(diff_ids) - used:
            blob = self.layer_blob(diff_id)
            if blob is not None:
                self.db.execute("DELETE FROM layer_blobs WHERE diff_id=?", (diff_id,))
                self.content.delete(blob[0])

    def _used_chains(self) -> set[str]:
        used: set[str] = set()
        for r in self.db.query("SELECT config FROM images"):
            used.update(dg.chain_ids(json.loads(r["config"]).get("rootfs", {}).get("diff_ids") or []))
        return used

    def layer_in_use(self, chain_id: str) -> bool:
        """Whether some image has this layer."""
        return chain_id in self._used_chains()

    def release_layers(self, chain: list[str]) -> list[str]:
        """Remove layer snapshots of ``chain`` (top down) that no image and no child snapshot uses.

        A top layer's shared container init layer (``init:<chain id>``) goes first when no container
        uses it any more."""
        used = self._used_chains()
        if chain and chain[-1] not in used:
            init_key = f"init:{chain[-1]}"
            if self.snapshots.exists(init_key) and not self.snapshots.children(init_key):
                self.snapshots.remove(init_key)
        released = []
        for chain_id in reversed(chain):
            if chain_id in used or not self.snapshots.exists(chain_id) or self.snapshots.children(chain_id):
                break
            self.snapshots.remove(chain_id)
            released.append(chain_id)
        return released

    def children_of(self, image_id: str) -> list[Image]:
        """Images whose config names this one as parent (rmi's 'image has dependent child images')."""
        return [img for img in self.list() if img.config.get("parent") == image_id]


def _created_ns(created: str | None) -> int:
    if not created:
        return 0
    try:
        return parse_rfc3339_ns(created)
    except ValueError:
        return 0


def new_import_config(diff_id: str, *, container_config: dict, comment: str, created_ns: int,
                      docker_version: str) -> dict:
    created = format_ns(created_ns)
    return {
        "architecture": oimage.go_arch(),
        "comment": comment,
        "config": container_config,
        "container_config": oimage.empty_container_config(),
        "created": created,
        "docker_version": docker_version,
        "history": [{"created": created, "comment": comment}],
        "os": "linux",
        "rootfs": {"type": "layers", "diff_ids": [diff_id]},
    }
