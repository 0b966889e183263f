"""Tar streams for ``docker cp`` as dockerd writes and checks them (see :mod:`dockyard.services.archive`).

* :class:`TreeTar` writes the tar of one path of a container byte for byte as
  dockerd 20.10 does (Go's ``archive/tar`` driven by ``pkg/archive``): USTAR
  headers, PAX only where USTAR cannot say it, user and group names from the
  container's own ``/etc/passwd`` and ``/etc/group``, only the
  ``security.capability`` xattr, whole-second mtimes, entries in lexical order,
  every directory opened ``O_NOFOLLOW`` from its parent's fd.
* :class:`TarGuard` sits between a request body and
  :func:`dockyard.image.archive.apply_layer`, checking each header as it
  streams by with :class:`Checker` (dockerd's ``Unpack`` rules and words).

The copy rules are written in Go's path functions (:mod:`dockyard.util.gopath`).
"""

from __future__ import annotations

import bz2
import errno
import json
import lzma
import os
import stat
import zlib
from dataclasses import dataclass
from typing import BinaryIO, Callable, Protocol

from dockyard import errdefs
from dockyard.util import safepath
from dockyard.util.gopath import base as go_base, clean as go_clean, dir as go_dir, join as go_join, within_root
from dockyard.util.tarfields import BLOCK, tar_header

CHUNK = 1 << 20
O_DIR = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC


class Root(Protocol):
    """A container's filesystem as the writer needs it (``archive._Root``)."""

    shadow: int
    pruned: frozenset[str]

    def open(self, path: str, flags: int) -> int: ...

    def lstat(self, path: str) -> os.stat_result: ...


# --------------------------------------------------------------------------
# Go's quoting


def go_quote(s: str) -> str:
    """Go's ``%q`` for the texts dockerd quotes (close enough outside control characters)."""
    return json.dumps(s, ensure_ascii=False)


# --------------------------------------------------------------------------
# tar writing, the way dockerd writes it


class _Names:
    """uid/gid → user/group names from the container's own /etc/passwd and /etc/group
    (dockerd tars in a chroot of the container, so Go's user lookups read those)."""

    def __init__(self, root: Root) -> None:
        self._root = root
        self._users: dict[int, str] | None = None
        self._groups: dict[int, str] | None = None

    def _load(self, path: str) -> dict[int, str]:
        out: dict[int, str] = {}
        try:
            fd = self._root.open(path, os.O_RDONLY)
        except OSError:
            return out
        with os.fdopen(fd, "rb") as f:
            data = f.read(4 << 20)
        for line in data.decode("utf-8", "surrogateescape").splitlines():
            fields = line.split(":")
            if len(fields) >= 3 and fields[2].isdigit():
                out.setdefault(int(fields[2]), fields[0])
        return out

    def user(self, uid: int) -> str:
        if self._users is None:
            self._users = self._load("/etc/passwd")
        return self._users.get(uid, "")

    def group(self, gid: int) -> str:
        if self._groups is None:
            self._groups = self._load("/etc/group")
        return self._groups.get(gid, "")


def _capability(target: int | str) -> dict[str, bytes] | None:
    try:
        value = os.getxattr(target, "security.capability", follow_symlinks=isinstance(target, int))
    except OSError:
        return None
    return {"security.capability": value}


class Vanished(Exception):
    """An entry that went away (or changed kind) between listing and reading."""


class TreeTar:
    """A tar of one path of a container, entries named from ``prefix`` (dockerd's rebase)."""

    def __init__(self, root: Root, out: BinaryIO, id_map=None) -> None:
        self.root = root
        self.out = out
        self.id_map = id_map  # host → container ids (--userns-remap)
        self.names = _Names(root)
        self.links: dict[tuple[int, int], str] = {}
        self.buf = bytearray()
        self.data = bytearray(CHUNK)
        self.mv = memoryview(self.data)

    def _write(self, b: bytes) -> None:
        self.buf += b
        if len(self.buf) >= CHUNK:
            self._flush()

    def _flush(self) -> None:
        if self.buf:
            self.out.write(self.buf)
            self.buf = bytearray()

    def _header(self, name: str, st: os.stat_result, typ: bytes, size: int = 0, link: str = "",
                xattrs: dict[str, bytes] | None = None) -> None:
        dev = st.st_rdev if typ in (b"3", b"4") else 0
        uid, gid = self.id_map(st.st_uid, st.st_gid) if self.id_map is not None else (st.st_uid, st.st_gid)
        self._write(tar_header(name, st.st_mode, uid, gid, size, st.st_mtime_ns // 1_000_000_000,
                               typ, link,
                               self.names.user(uid), self.names.group(gid),
                               os.major(dev) if dev else 0, os.minor(dev) if dev else 0, xattrs))

    def write(self, target: str, prefix: str) -> None:
        """The tar of ``target``; what changed since its stat (gone, swapped for a link) is left
        out, as dockerd logs and skips what it cannot read: the stream stays a valid tar."""
        try:
            st = self.root.lstat(target)
            if stat.S_ISDIR(st.st_mode):
                fd = self.root.open(target, O_DIR)
                self._walk(fd, target, prefix, st)
            else:
                pfd = self.root.open(go_dir(target), os.O_PATH | os.O_DIRECTORY)
                try:
                    self._nondir(pfd, go_base(target), prefix, st)
                finally:
                    os.close(pfd)
        except (Vanished, FileNotFoundError, NotADirectoryError):
            pass
        except OSError as e:
            if e.errno != errno.ELOOP:
                raise
        self._write(bytes(2 * BLOCK))
        self._flush()

    def _walk(self, top_fd: int, top_path: str, top_name: str, top_st: os.stat_result) -> None:
        self._header(top_name + "/", top_st, b"5", xattrs=_capability(top_fd))
        stack = [(top_fd, top_path, top_name, self._children(top_fd))]
        try:
            while stack:
                fd, cpath, name, children = stack[-1]
                if not children:
                    stack.pop()
                    os.close(fd)
                    continue
                child, st = children.pop()
                child_path = (cpath.rstrip("/") + "/" + child)
                child_name = name + "/" + child
                if stat.S_ISDIR(st.st_mode):
                    try:
                        if self.root.shadow >= 0 and child_path in self.root.pruned:
                            cfd = safepath.open_in_root(self.root.shadow, child_path, O_DIR)
                            st = os.fstat(cfd)
                        else:
                            cfd = os.open(child, O_DIR, dir_fd=fd)
                    except OSError:
                        continue  # gone, or no longer a directory: dockerd logs and skips it
                    try:
                        self._header(child_name + "/", st, b"5", xattrs=_capability(cfd))
                        grand = self._children(cfd)
                    except BaseException:
                        os.close(cfd)
                        raise
                    stack.append((cfd, child_path, child_name, grand))
                else:
                    try:
                        self._nondir(fd, child, child_name, st)
                    except Vanished:
                        continue  # gone or replaced meanwhile: dockerd logs and skips it
        finally:
            for fd, *_ in stack:
                os.close(fd)

    @staticmethod
    def _children(fd: int) -> list[tuple[str, os.stat_result]]:
        items = []
        for child in os.listdir(fd):
            try:
                st = os.stat(child, dir_fd=fd, follow_symlinks=False)
            except OSError:
                continue
            items.append((os.fsencode(child), child, st))
        items.sort(reverse=True)  # popped from the end: lexical order
        return [(c, st) for _, c, st in items]

    def _nondir(self, pfd: int, base: str, name: str, st: os.stat_result) -> None:
        mode = st.st_mode
        if stat.S_ISSOCK(mode):
            return  # Go's tar has no sockets: dockerd skips them
        if st.st_nlink > 1:
            key = (st.st_dev, st.st_ino)
            first = self.links.get(key)
            if first is not None:
                self._header(name, st, b"1", link=first, xattrs=_capability(f"/proc/self/fd/{pfd}/{base}"))
                return
            self.links[key] = name
        if stat.S_ISREG(mode):
            try:
                fd = os.open(base, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC, dir_fd=pfd)
            except OSError as e:
                raise Vanished() from e
            try:
                self._header(name, st, b"0", size=st.st_size, xattrs=_capability(fd))
                self._copy(fd, st.st_size)
            finally:
                os.close(fd)
            return
        xattrs = _capability(f"/proc/self/fd/{pfd}/{base}")
        if stat.S_ISLNK(mode):
            try:
                link = os.readlink(base, dir_fd=pfd)
            except OSError as e:
                raise Vanished() from e
            self._header(name, st, b"2", link=link, xattrs=xattrs)
        elif stat.S_ISCHR(mode):
            self._header(name, st, b"3", xattrs=xattrs)
        elif stat.S_ISBLK(mode):
            self._header(name, st, b"4", xattrs=xattrs)
        elif stat.S_ISFIFO(mode):
            self._header(name, st, b"6", xattrs=xattrs)

    def _copy(self, fd: int, size: int) -> None:
        left = size
        if left >= CHUNK:
            self._flush()
        while left:
            want = min(left, CHUNK)
            n = os.readv(fd, [self.mv[:want]])
            if not n:  # the file shrank while we read it: keep the tar well-formed
                self.mv[:want] = bytes(want)
                n = want
            if n >= 65536:
                self._flush()
                self.out.write(self.mv[:n])
            else:
                self._write(self.mv[:n])
            left -= n
        if size % BLOCK:
            self._write(bytes(-size % BLOCK))


# --------------------------------------------------------------------------
# extraction: dockerd's Unpack checks on a streaming tar


@dataclass
class _Entry:
    name: str
    type: int
    linkname: str


_TYPE_DIR = 0x35
_TYPE_SYMLINK = 0x32
_TYPE_HARDLINK = 0x31
_HEADER_ONLY = frozenset(b"123456")


class Refused(errdefs.System):
    pass


def _parse_num(field: bytes) -> int:
    if field and field[0] & 0x80:
        b = bytearray(field)
        b[0] &= 0x7F
        return int.from_bytes(b, "big")
    s = field.split(b"\0", 1)[0].strip(b" ")
    return int(s, 8) if s else 0


def _parse_pax(data: bytes) -> dict[bytes, bytes]:
    recs: dict[bytes, bytes] = {}
    pos = 0
    while pos < len(data):
        sp = data.find(b" ", pos)
        if sp < 0:
            break
        length = int(data[pos:sp])
        if length <= 0:
            break
        rec = data[sp + 1:pos + length]
        key, _, value = rec.rstrip(b"\n").partition(b"=")
        recs[key] = value
        pos += length
    return recs


class _Decompressed:
    """``readinto`` over the decompressed bytes of a gzip, bzip2 or xz stream."""

    def __init__(self, src, make) -> None:
        self._src = src
        self._make = make
        self._d = make()
        self._pending = b""
        self._eof = False

    def readinto(self, mv: memoryview) -> int:
        while not self._pending:
            if self._eof:
                return 0
            raw = self._src.read(CHUNK)
            if not raw:
                self._eof = True
                return 0
            out = []
            while raw:
                if self._d.eof:
                    if not raw.strip(b"\0"):
                        break
                    self._d = self._make()
                out.append(self._d.decompress(raw))
                raw = self._d.unused_data if self._d.eof else b""
            self._pending = b"".join(out)
        n = min(len(mv), len(self._pending))
        mv[:n] = self._pending[:n]
        self._pending = self._pending[n:]
        return n


class _Gunzip:
    def __init__(self) -> None:
        self._d = zlib.decompressobj(31)

    def decompress(self, data: bytes) -> bytes:
        return self._d.decompress(data)

    @property
    def eof(self) -> bool:
        return self._d.eof

    @property
    def unused_data(self) -> bytes:
        return self._d.unused_data


class TarGuard:
    """The request body as ``apply_layer`` reads it, each header checked as it streams by.

    The checks see an entry when its header is read ahead into apply_layer's
    buffer, i.e. possibly before the entries just before it are written; that
    is the same answer, as an entry never changes what an earlier one found
    (names in one tar are unique, and under ``noOverwriteDirNonDir`` nothing
    is replaced by something of another kind).
    """

    def __init__(self, src, check: Callable[[_Entry], None]) -> None:
        self._check = check
        head = src.peek(6)[:6] if hasattr(src, "peek") else b""
        if head.startswith(b"\x1f\x8b"):
            src = _Decompressed(src, _Gunzip)
        elif head.startswith(b"BZh"):
            src = _Decompressed(src, bz2.BZ2Decompressor)
        elif head.startswith(b"\xfd7zXZ\x00"):
            src = _Decompressed(src, lzma.LZMADecompressor)
        self._src = src
        self._done = head.startswith(b"\x28\xb5\x2f\xfd")  # zstd: applied unchecked
        self._skip = 0            # data bytes to let through
        self._hdr = bytearray()   # a header block being collected
        self._special: int = 0    # bytes of PAX / GNU long name data still to collect
        self._special_type = 0
        self._special_buf = bytearray()
        self._special_pad = 0
        self._pax: dict[bytes, bytes] = {}
        self._longname: bytes | None = None
        self._longlink: bytes | None = None

    def readinto(self, mv: memoryview) -> int:
        n = self._src.readinto(mv)
        if n and not self._done:
            try:
                self._scan(mv[:n])
            except (ValueError, IndexError):
                self._done = True  # not a tar we can follow: apply_layer says what is wrong with it
        return n

    def _scan(self, data: memoryview) -> None:
        pos, n = 0, len(data)
        while pos < n and not self._done:
            if self._skip:
                take = min(self._skip, n - pos)
                self._skip -= take
                pos += take
                continue
            if self._special:
                take = min(self._special, n - pos)
                self._special_buf += data[pos:pos + take]
                self._special -= take
                pos += take
                if not self._special:
                    self._end_special()
                continue
            take = min(BLOCK - len(self._hdr), n - pos)
            self._hdr += data[pos:pos + take]
            pos += take
            if len(self._hdr) == BLOCK:
                blk = bytes(self._hdr)
                self._hdr.clear()
                self._header(blk)

    def _end_special(self) -> None:
        data = bytes(self._special_buf)
        self._special_buf.clear()
        if self._special_type == 0x78:
            self._pax.update(_parse_pax(data))
        elif self._special_type == 0x4C:
            self._longname = data.split(b"\0", 1)[0]
        elif self._special_type == 0x4B:
            self._longlink = data.split(b"\0", 1)[0]
        self._skip = self._special_pad

    def _header(self, blk: bytes) -> None:
        if not blk.strip(b"\0"):
            self._done = True  # the end of the archive
            return
        typ = blk[156]
        size = _parse_num(blk[124:136])
        if typ in (0x78, 0x67, 0x4C, 0x4B):  # PAX, global PAX, GNU long name / link
            if size > 1 << 20:
                raise ValueError("special header too large")
            self._special_type = typ
            self._special = size
            self._special_pad = -size % BLOCK
            if not size:
                self._end_special()
            return
        name = blk[0:100].split(b"\0", 1)[0]
        if blk[257:263] == b"ustar\0" and blk[345]:
            name = blk[345:500].split(b"\0", 1)[0] + b"/" + name
        link = blk[157:257].split(b"\0", 1)[0]
        if self._longname is not None:
            name = self._longname
        if self._longlink is not None:
            link = self._longlink
        pax = self._pax
        name = pax.get(b"path", name)
        link = pax.get(b"linkpath", link)
        if b"size" in pax:
            size = int(pax[b"size"])
        self._pax, self._longname, self._longlink = {}, None, None
        if typ == 0 and name.endswith(b"/"):
            typ = _TYPE_DIR
        self._check(_Entry(os.fsdecode(name), typ, os.fsdecode(link)))
        self._skip = 0 if typ in _HEADER_ONLY else size + (-size % BLOCK)


class Checker:
    """dockerd's per-entry ``Unpack`` checks against the target directory ``dest`` (fd ``dfd``)."""

    def __init__(self, dest: str, dfd: int, no_overwrite_dir_non_dir: bool) -> None:
        self.dest = dest
        self.dfd = dfd
        self.no_overwrite = no_overwrite_dir_non_dir
        self.names: list[str] = []

    def _inside(self, path: str) -> bool:
        return self.dest == "/" or path == self.dest or path.startswith(self.dest + "/")

    def __call__(self, e: _Entry) -> None:
        name = go_clean(e.name)
        path = go_join(self.dest, name)
        if not self._inside(path):
            raise Refused(f"{go_quote(name)} is outside of {go_quote(self.dest)}")
        rel = within_root(name)
        if self.no_overwrite:
            st = self._lstat(rel)
            if st is not None:
                is_dir = stat.S_ISDIR(st.st_mode)
                if is_dir and e.type != _TYPE_DIR:
                    raise Refused(f"cannot overwrite directory {go_quote(path)} with non-directory "
                                   f"{go_quote(self.dest)}")
                if not is_dir and e.type == _TYPE_DIR:
                    raise Refused(f"cannot overwrite non-directory {go_quote(path)} with directory "
                                   f"{go_quote(self.dest)}")
        if e.type == _TYPE_SYMLINK:
            target = go_join(go_dir(path), e.linkname)
            if not target.startswith(self.dest):
                raise Refused(f"invalid symlink {go_quote(path)} -> {go_quote(e.linkname)}")
        elif e.type == _TYPE_HARDLINK:
            target = go_join(self.dest, e.linkname)
            if not target.startswith(self.dest):
                raise Refused(f"invalid hardlink {go_quote(target)} -> {go_quote(e.linkname)}")
        if rel:
            self.names.append(rel)

    def _lstat(self, rel: str) -> os.stat_result | None:
        if not rel:
            return os.fstat(self.dfd)
        parent, _, base = rel.rpartition("/")
        try:
            pfd = safepath.open_dir_in_root(self.dfd, parent, os.O_PATH) if parent else os.dup(self.dfd)
        except OSError:
            return None
        try:
            return os.stat(base, dir_fd=pfd, follow_symlinks=False)
        except OSError:
            return None
        finally:
            os.close(pfd)


def chown_all(dfd: int, names: list[str], uid: int, gid: int) -> None:
    for rel in names:
        parent, _, base = rel.rpartition("/")
        try:
            pfd = safepath.open_dir_in_root(dfd, parent, os.O_PATH) if parent else os.dup(dfd)
        except OSError:
            continue
        try:
            os.chown(base, uid, gid, dir_fd=pfd, follow_symlinks=False)
        except OSError:
            pass
        finally:
            os.close(pfd)
