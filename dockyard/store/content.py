"""The content-addressed blob store: ``blobs/sha256/<hex>``, written through ``ingest/``.

A blob becomes visible only after its digest and size have been checked, by an
atomic rename, so a reader never sees a partial blob and a crash leaves at most
a stale ingest file.
"""

from __future__ import annotations

import hashlib
import os
import shutil
from typing import BinaryIO, Iterator, Protocol

from dockyard import errdefs
from dockyard.oci import digest as dg


class Provider(Protocol):
    def open(self, digest: str) -> BinaryIO: ...
    def read(self, digest: str) -> bytes: ...
    def size(self, digest: str) -> int: ...
    def exists(self, digest: str) -> bool: ...


class Ingester(Protocol):
    def writer(self) -> "Writer": ...
    def write_bytes(self, data: bytes, expected: str | None = None) -> str: ...


class Writer:
    """An open ingest: write(), then commit() to verify and publish, or abort()."""

    def __init__(self, store: "ContentStore") -> None:
        self._store = store
        self._hash = hashlib.sha256()
        self._size = 0
        fd_path = os.path.join(store.root, "ingest", f"{os.getpid()}-{id(self)}-{os.urandom(4).hex()}")
        self.path = fd_path
        self._f = open(fd_path, "wb")

    def write(self, data: bytes) -> int:
        self._f.write(data)
        self._hash.update(data)
        self._size += len(data)
        return len(data)

    @property
    def digest(self) -> str:
        return "sha256:" + self._hash.hexdigest()

    @property
    def size(self) -> int:
        return self._size

    def commit(self, expected: str | None = None, size: int | None = None) -> str:
        self._f.close()
        actual = self.digest
        if expected is not None and expected != actual:
            self.abort()
            raise errdefs.InvalidArgument(f"unexpected commit digest {actual}, expected {expected}")
        if size is not None and size != self._size:
            self.abort()
            raise errdefs.InvalidArgument(f"unexpected commit size {self._size}, expected {size}")
        dest = self._store.path(actual)
        if os.path.exists(dest):
            os.unlink(self.path)
        else:
            os.replace(self.path, dest)
        return actual

    def abort(self) -> None:
        if not self._f.closed:
            self._f.close()
        try:
            os.unlink(self.path)
        except FileNotFoundError:
            pass

    def __enter__(self) -> "Writer":
        return self

    def __exit__(self, *exc) -> None:
        if not self._f.closed:
            self.abort()


class ContentStore:
    """Local CAS rooted at ``root``."""

    def __init__(self, root: str) -> None:
        self.root = root
        os.makedirs(os.path.join(root, "blobs", "sha256"), exist_ok=True)
        ingest = os.path.join(root, "ingest")
        shutil.rmtree(ingest, ignore_errors=True)  # partial writes of a previous run
        os.makedirs(ingest, exist_ok=True)

    def path(self, digest: str) -> str:
        dg.validate(digest)
        return os.path.join(self.root, "blobs", "sha256", dg.hex_of(digest))

    def exists(self, digest: str) -> bool:
        return os.path.exists(self.path(digest))

    def size(self, digest: str) -> int:
        try:
            return os.stat(self.path(digest)).st_size
        except FileNotFoundError:
            raise errdefs.NotFound(f"content {digest}: not found") from None

    def open(self, digest: str) -> BinaryIO:
        try:
            return open(self.path(digest), "rb")
        except FileNotFoundError:
            raise errdefs.NotFound(f"content {digest}: not found") from None

    def read(self, digest: str) -> bytes:
        with self.open(digest) as f:
            return f.read()

    def writer(self) -> Writer:
        return Writer(self)

    def write_bytes(self, data: bytes, expected: str | None = None) -> str:
        actual = dg.sha256_bytes(data)
        if expected is not None and expected != actual:
            raise errdefs.InvalidArgument(f"unexpected digest {actual}, expected {expected}")
        dest = self.path(actual)
        if not os.path.exists(dest):
            with self.writer() as w:
                w.write(data)
                w.commit(actual)
        return actual

    def delete(self, digest: str) -> None:
        try:
            os.unlink(self.path(digest))
        except FileNotFoundError:
            pass

    def walk(self) -> Iterator[str]:
        for name in os.listdir(os.path.join(self.root, "blobs", "sha256")):
            yield "sha256:" + name
