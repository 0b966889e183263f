"""The overlayfs snapshotter.

Layout under ``root``::

    <sid>/diff     the layer's own files (upper dir while active)
    <sid>/work     overlayfs work dir (active snapshots only)
    l/<SHORT>      symlink to ../<sid>/diff; 26 characters, so a 128-layer
                   lowerdir written with relative paths fits in one page
    trash/<sid>    removed snapshots, until ``purge_trash`` deletes their files

Which snapshot is which lives in the metadata DB (table ``snapshots``), cached
in memory: this object is its only writer.
"""

from __future__ import annotations

import os
import secrets
import shutil
import string
import time
from typing import Iterator

from dockyard import errdefs
from dockyard.store.metadata import MetadataDB
from dockyard.store.mount import MAX_MOUNT_DATA, MS_BIND, MS_RDONLY, MS_REC, Mount
from dockyard.store.snapshots.base import KIND_ACTIVE, KIND_COMMITTED, KIND_VIEW, Info

_SHORT_ALPHABET = string.ascii_uppercase + string.digits


class OverlaySnapshotter:
    def __init__(self, root: str, db: MetadataDB) -> None:
        self.root = root
        self._real_root = os.path.realpath(root)  # as getcwd() gives it
        self.db = db
        os.makedirs(os.path.join(root, "l"), exist_ok=True)
        self.trash = os.path.join(root, "trash")
        os.makedirs(self.trash, exist_ok=True)
        self._rows: dict[str, dict] = {}
        for r in db.query("SELECT key, sid, parent, kind, short, created, size FROM snapshots"):
            self._rows[r["key"]] = dict(r)

    # -- queries ---------------------------------------------------------
    def _row(self, key: str) -> dict:
        try:
            return self._rows[key]
        except KeyError:
            raise errdefs.NotFound(f"snapshot {key} does not exist") from None

    def exists(self, key: str) -> bool:
        return key in self._rows

    def stat(self, key: str) -> Info:
        r = self._row(key)
        return Info(key, r["parent"], r["kind"], r["created"], r["sid"])

    def walk(self) -> Iterator[Info]:
        for key in list(self._rows):
            yield self.stat(key)

    def dir(self, key: str) -> str:
        return os.path.join(self.root, self._row(key)["sid"])

    def upper_dir(self, key: str) -> str:
        return os.path.join(self.dir(key), "diff")

    def chain(self, key: str | None) -> list[str]:
        """Keys from ``key`` down to the base layer."""
        out = []
        while key is not None:
            out.append(key)
            key = self._row(key)["parent"]
        return out

    def lower_dirs(self, key: str) -> list[str]:
        """Diff dirs of the parents of ``key``, topmost first (overlay's lowerdir order)."""
        return [self.upper_dir(k) for k in self.chain(self._row(key)["parent"])]

    def usage(self, key: str) -> int:
        r = self._row(key)
        if r["kind"] == KIND_COMMITTED and r["size"] >= 0:
            return r["size"]
        return dir_size(self.upper_dir(key))

    def children(self, key: str) -> list[str]:
        return [k for k, r in self._rows.items() if r["parent"] == key]

    # -- mounts ----------------------------------------------------------
    def mounts(self, key: str) -> list[Mount]:
        r = self._row(key)
        parents = self.chain(r["parent"])
        diff = self.upper_dir(key)
        if r["kind"] == KIND_VIEW:
            if len(parents) == 1:
                return [Mount("bind", self.upper_dir(parents[0]), ("ro", "rbind"), flags=MS_BIND | MS_REC | MS_RDONLY)]
            return [self._overlay(parents, None)]
        if not parents:
            return [Mount("bind", diff, ("rw", "rbind"), flags=MS_BIND | MS_REC)]
        return [self._overlay(parents, key)]

    def _overlay(self, parents: list[str], active: str | None) -> Mount:
        """Layer paths relative to ``root`` when the process works from there (the daemon does): the
        kernel shows the options as given, so each running container's line in /proc/self/mountinfo
        stays short, and runc reads that file several times per start. Otherwise absolute paths, or
        relative ones mounted from ``root`` by a child when absolute ones overflow the page."""
        shorts = [self._rows[k]["short"] for k in parents]

        def options(prefix: str) -> tuple[str, ...]:
            opts = ["lowerdir=" + ":".join(f"{prefix}l/{s}" for s in shorts)]
            if active is not None:
                sid = self._rows[active]["sid"]
                opts += [f"upperdir={prefix}{sid}/diff", f"workdir={prefix}{sid}/work",
                         # redirects and metacopy would put content where a layer diff does not look
                         "redirect_dir=off", "metacopy=off"]
            return tuple(opts)

        if os.getcwd() == self._real_root:
            return Mount("overlay", "overlay", options(""), cwd=self._real_root)
        absolute = options(self.root + "/")
        if len(",".join(absolute)) <= MAX_MOUNT_DATA:
            return Mount("overlay", "overlay", absolute)
        return Mount("overlay", "overlay", options(""), cwd=self._real_root)

    # -- changes ---------------------------------------------------------
    def _create(self, key: str, parent: str | None, kind: str) -> None:
        if key in self._rows:
            raise errdefs.AlreadyExists(f"snapshot {key} already exists")
        if parent is not None:
            p = self._row(parent)
            if p["kind"] != KIND_COMMITTED:
                raise errdefs.InvalidArgument(f"parent snapshot {parent} is not committed")
        sid = secrets.token_hex(16)
        short = "".join(secrets.choice(_SHORT_ALPHABET) for _ in range(26))
        d = os.path.join(self.root, sid)
        os.makedirs(os.path.join(d, "diff"), mode=0o755)
        if kind == KIND_ACTIVE:
            os.mkdir(os.path.join(d, "work"), 0o700)
        os.symlink(f"../{sid}/diff", os.path.join(self.root, "l", short))
        row = dict(key=key, sid=sid, parent=parent, kind=kind, short=short, created=time.time_ns(), size=-1)
        self.db.execute("INSERT INTO snapshots (key, sid, parent, kind, short, created, size) VALUES (?,?,?,?,?,?,?)",
                        (key, sid, parent, kind, short, row["created"], -1))
        self._rows[key] = row

    def prepare(self, key: str, parent: str | None) -> list[Mount]:
        self._create(key, parent, KIND_ACTIVE)
        return self.mounts(key)

    def view(self, key: str, parent: str | None) -> list[Mount]:
        if parent is None:
            raise errdefs.InvalidArgument("a view needs a parent")
        self._create(key, parent, KIND_VIEW)
        return self.mounts(key)

    def commit(self, name: str, key: str) -> None:
        r = self._row(key)
        if r["kind"] != KIND_ACTIVE:
            raise errdefs.FailedPrecondition(f"snapshot {key} is not active")
        if name in self._rows:
            raise errdefs.AlreadyExists(f"snapshot {name} already exists")
        size = dir_size(self.upper_dir(key))
        shutil.rmtree(os.path.join(self.dir(key), "work"), ignore_errors=True)
        with self.db.tx() as c:
            c.execute("UPDATE snapshots SET key=?, kind=?, size=? WHERE key=?", (name, KIND_COMMITTED, size, key))
        del self._rows[key]
        r.update(key=name, kind=KIND_COMMITTED, size=size)
        self._rows[name] = r

    def remove(self, key: str) -> None:
        r = self._row(key)
        if self.children(key):
            raise errdefs.FailedPrecondition(f"snapshot {key} has children")
        self.db.execute("DELETE FROM snapshots WHERE key=?", (key,))
        del self._rows[key]
        try:
            os.unlink(os.path.join(self.root, "l", r["short"]))
        except FileNotFoundError:
            pass
        # Renamed into the trash at once (cheap); purge_trash deletes the files, in a thread if the caller likes.
        try:
            os.rename(os.path.join(self.root, r["sid"]), os.path.join(self.trash, r["sid"]))
        except FileNotFoundError:
            pass

    def purge_trash(self) -> None:
        """Delete the files of removed snapshots (blocking; safe to run in a thread)."""
        for name in os.listdir(self.trash):
            # The work dir may hold root-owned 000 dirs from overlay; rmtree copes as root.
            shutil.rmtree(os.path.join(self.trash, name), ignore_errors=True)


def dir_size(path: str) -> int:
    """Bytes used by regular files and symlinks under ``path``; hard links counted once."""
    total, seen = 0, set()
    stack = [path]
    while stack:
        try:
            it = os.scandir(stack.pop())
        except (FileNotFoundError, NotADirectoryError, PermissionError):
            continue
        with it:
            for e in it:
                try:
                    st = e.stat(follow_symlinks=False)
                except FileNotFoundError:
                    continue
                if e.is_dir(follow_symlinks=False):
                    stack.append(e.path)
                    continue
                if st.st_nlink > 1:
                    if (st.st_dev, st.st_ino) in seen:
                        continue
                    seen.add((st.st_dev, st.st_ino))
                total += st.st_size
    return total
