"""The build context: the tar the client sent, kept as one spooled file and indexed.

A build whose COPY/ADD steps all come from the cache never needs the context's files on disk:
their checksums are read from the spooled tar through the index. Only the first step that
really copies extracts the context (once), filtered by .dockerignore.
"""

from __future__ import annotations

import asyncio
import hashlib
import os
import posixpath
import stat
import tarfile
from dataclasses import dataclass
from typing import AsyncIterator

from dockyard import errdefs
from dockyard.image import archive
from dockyard.util import aiopipe, dockerignore

_LINK_LIMIT = 40


@dataclass
class Entry:
    name: str           # normalized relative path
    kind: str           # file | dir | symlink | other
    mode: int
    size: int
    linkname: str
    offset: int         # where the data starts in the spooled tar (files)
    hardlink_to: str = ""


class BuildContext:
    def __init__(self, workdir: str) -> None:
        self.workdir = workdir
        self.spool = os.path.join(workdir, "context.tar")
        self.entries: dict[str, Entry] = {}
        self.dirs: set[str] = {""}
        self.excluded: set[str] = set()
        self._materialized: str | None = None
        self._materializing: asyncio.Future | None = None
        self._dockerfile = ""
        self._hashes: dict[str, str] = {}

    # -- receiving ---------------------------------------------------------------
    async def receive(self, body: AsyncIterator[bytes]) -> None:
        def spool(f) -> None:
            with open(self.spool, "wb") as out:
                while chunk := f.read(1 << 20):
                    out.write(chunk)
        await aiopipe.consume_in_thread(body, spool)
        await asyncio.get_running_loop().run_in_executor(None, self._index)

    def _index(self) -> None:
        _decompress_in_place(self.spool)
        try:
            tar = tarfile.open(self.spool, mode="r:")
        except (tarfile.TarError, EOFError) as e:
            raise errdefs.InvalidArgument(f"failed to read the build context: {e}") from None
        with tar:
            try:
                for m in tar:
                    name = _clean(m.name)
                    if name is None:
                        continue  # an entry escaping the context (``../x``): contained by dropping it
                    kind = "dir" if m.isdir() else "file" if m.isreg() else "symlink" if m.issym() else \
                        "hardlink" if m.islnk() else "other"
                    e = Entry(name, kind, m.mode, m.size, m.linkname, m.offset_data)
                    if kind == "hardlink":
                        target = _clean(m.linkname) or ""
                        e.hardlink_to = target
                    self.entries[name] = e
                    parent = posixpath.dirname(name)
                    while parent and parent not in self.dirs:
                        self.dirs.add(parent)
                        parent = posixpath.dirname(parent)
                    if kind == "dir":
                        self.dirs.add(name)
            except tarfile.TarError as e:
                raise errdefs.InvalidArgument(f"failed to read the build context: {e}") from None

    # -- .dockerignore -----------------------------------------------------------------
    def apply_dockerignore(self, dockerfile: str) -> None:
        ignore = self.read_text(".dockerignore") if ".dockerignore" in self.entries else None
        if ignore is None:
            return
        matcher = dockerignore.load(ignore)
        removed = set(dockerignore.build_files_to_remove(matcher, dockerfile))
        keep = {".dockerignore", posixpath.normpath(dockerfile)} - removed
        for name, e in list(self.entries.items()):
            if name in keep:
                continue
            if name in removed or matcher.excluded(name, is_dir=e.kind == "dir"):
                self.excluded.add(name)
        for name in self.excluded:
            if self.entries[name].kind != "dir":
                del self.entries[name]

    # -- reading -----------------------------------------------------------------------
    def resolve(self, path: str) -> str | None:
        """The entry a path names, symlinks followed inside the context; None when there is none."""
        parts = [p for p in path.split("/") if p not in ("", ".")]
        done: list[str] = []
        hops = 0
        while parts:
            part = parts.pop(0)
            if part == "..":
                if done:
                    done.pop()
                continue
            cur = "/".join([*done, part])
            e = self.entries.get(cur)
            if e is not None and e.kind == "symlink":
                hops += 1
                if hops > _LINK_LIMIT:
                    return None
                target = e.linkname
                base = [] if target.startswith("/") else done
                parts = [p for p in target.split("/") if p not in ("", ".")] + parts
                done = list(base)
                continue
            if e is None and cur not in self.dirs:
                return None
            done.append(part)
        return "/".join(done)

    def is_dir(self, name: str) -> bool:
        return name == "" or name in self.dirs and (name not in self.entries or self.entries[name].kind == "dir")

    def read_text(self, path: str) -> str | None:
        name = self.resolve(path)
        if name is None or name not in self.entries or self.entries[name].kind not in ("file", "hardlink"):
            return None
        return self._read(name).decode("utf-8", errors="replace")

    def _read(self, name: str) -> bytes:
        e = self.entries[name]
        if e.kind == "hardlink" and e.hardlink_to in self.entries:
            e = self.entries[e.hardlink_to]
        with open(self.spool, "rb") as f:
            f.seek(e.offset)
            return f.read(e.size)

    def names(self) -> list[str]:
        return sorted(set(self.entries) | (self.dirs - {""}))

    def walk(self, name: str) -> list[str]:
        """``name`` and everything below it, sorted (directories first within their parent)."""
        prefix = name + "/" if name else ""
        return [n for n in self.names() if n == name or n.startswith(prefix)]

    def file_hash(self, name: str) -> str:
        h = self._hashes.get(name)
        if h is None:
            h = hashlib.sha256(self._read(name)).hexdigest() if self.entries[name].size < (64 << 20) \
                else self._stream_hash(name)
            self._hashes[name] = h
        return h

    def _stream_hash(self, name: str) -> str:
        e = self.entries[name]
        h = hashlib.sha256()
        with open(self.spool, "rb") as f:
            f.seek(e.offset)
            left = e.size
            while left > 0:
                chunk = f.read(min(left, 1 << 20))
                if not chunk:
                    break
                h.update(chunk)
                left -= len(chunk)
        return h.hexdigest()

    # -- on disk, when a step needs the files ------------------------------------------------
    async def materialize(self) -> str:
        """The context extracted (once) and filtered; its directory."""
        if self._materialized is not None:
            return self._materialized
        if self._materializing is None:
            self._materializing = asyncio.get_running_loop().run_in_executor(None, self._extract)
        await self._materializing
        return self._materialized

    def _extract(self) -> None:
        root = os.path.join(self.workdir, "context")
        os.makedirs(root, exist_ok=True)
        with open(self.spool, "rb") as f:
            archive.apply_layer(f, root, whiteouts=False)
        for name in sorted(self.excluded, reverse=True):
            path = os.path.join(root, name)
            try:
                st = os.lstat(path)
            except FileNotFoundError:
                continue
            if not stat.S_ISDIR(st.st_mode):
                os.unlink(path)
        self._materialized = root


def _clean(name: str) -> str | None:
    """Where extraction puts an entry: ``..`` and absolute names are contained in the context root."""
    n = posixpath.normpath("/" + name).lstrip("/")
    return n or None


_COMPRESSED = (b"\x1f\x8b", b"BZh", b"\xfd7zXZ\x00")


def _decompress_in_place(path: str) -> None:
    """A compressed context (``docker build --compress``) becomes a plain tar, so members can be read by offset."""
    with open(path, "rb") as f:
        head = f.read(6)
    if not any(head.startswith(m) for m in _COMPRESSED):
        return
    import bz2
    import gzip
    import lzma

    opener = gzip.open if head.startswith(b"\x1f\x8b") else bz2.open if head.startswith(b"BZh") else lzma.open
    plain = path + ".plain"
    try:
        with opener(path, "rb") as src, open(plain, "wb") as out:
            while chunk := src.read(1 << 20):
                out.write(chunk)
    except (OSError, EOFError, lzma.LZMAError) as e:
        raise errdefs.InvalidArgument(f"failed to read the build context: {e}") from None
    os.replace(plain, path)
