"""Layer tars in and out of overlayfs directories.

* :func:`apply_layer` unpacks an OCI layer tar (plain, gzip, zstd; also bzip2
  and xz like ``docker import``) into a layer directory, turning OCI
  whiteouts into overlayfs ones, and returns its DiffID.
* :func:`write_diff` writes an overlayfs upper directory back out as an OCI
  layer tar; :func:`export_tree` writes a plain tar of a whole tree
  (``docker export``).
* :func:`changes` is ``docker diff``.

Safety: nothing is ever written outside ``dest``.  Names are cleaned as if
rooted at ``dest`` (``../x`` and ``/x`` both land at ``x``), parent
directories are opened one component at a time with ``O_NOFOLLOW`` and
symlinks among them are resolved *inside* ``dest``
(:mod:`dockyard.util.safepath`, ``openat2(RESOLVE_IN_ROOT)``), the last
component is never followed (an existing entry is removed and replaced), and
hard links may only name entries inside ``dest``.  This is what the real
dockerd does by extracting in a chroot, and what it accepts and refuses is
mirrored here (observed with dockerd 20.10, overlay2):

======================================  ====================================
tar                                     dockerd / dockyard
======================================  ====================================
``../evil``, ``a/../../evil``           accepted, written to ``/evil``
``/etc/evil``                           accepted, written to ``/etc/evil``
``etc -> /etc`` then ``etc/evil``       refused: ``open /etc/evil: too many
                                        levels of symbolic links``
``lnk -> /d`` then ``lnk/evil``         accepted, written to ``/d/evil``
hard link to ``/etc/passwd`` (absent)   refused: ``link /etc/passwd /passwd:
                                        no such file or directory``
hard link to a layer entry              accepted (absolute names too)
two entries with the same name          refused: ``duplicates of file paths
                                        not supported`` (tar-split's rule)
``.wh.x`` after ``x`` in one layer      refused: ``file exists``
======================================  ====================================

Refusals raise :class:`dockyard.errdefs.InvalidArgument`; disk faults raise
:class:`dockyard.errdefs.System`.  The tar formats written follow Go's
``archive/tar`` as Docker drives it: USTAR headers with the file type bits in
the mode field, PAX records only where needed, names without ``./`` and
directories with a trailing ``/``, mtimes in whole seconds.
"""

from __future__ import annotations

import bz2
import errno
import fcntl
import hashlib
import lzma
import os
import queue
import shutil
import stat
import struct
import subprocess
import tempfile
import threading
import zlib
from collections import OrderedDict
from dataclasses import dataclass
from typing import BinaryIO, Callable, NamedTuple

from dockyard import errdefs
from dockyard.util import gopath, safepath
from dockyard.util.tarfields import BLOCK, tar_header

__all__ = ["AppliedLayer", "Change", "apply_layer", "write_diff", "export_tree", "changes"]

CHUNK = 1 << 20
ZERO_BLOCK = bytes(BLOCK)
MAX_SPECIAL_SIZE = 1 << 20  # PAX and GNU long-name data, as Go's archive/tar limits it

WHITEOUT_PREFIX = ".wh."
WHITEOUT_META_PREFIX = ".wh..wh."
WHITEOUT_OPAQUE = ".wh..wh..opq"
OPAQUE_XATTR = "trusted.overlay.opaque"
OVERLAY_XATTR_PREFIX = "trusted.overlay."

# External decompressors, tried in order (argv; must read stdin, write stdout).
# Measured on this 2-core box applying a 647 MB, 57.8k-entry tar (259 MB gzipped)
# to tmpfs, medians of 5: pigz -dc 3.3 s, zlib in a thread 3.8 s, GNU gzip -dc
# 5.1 s (GNU tar -xzf: 4.1 s).  So GNU gzip is not listed: without pigz, zlib
# runs in a thread (it drops the GIL while inflating).
GZIP_COMMANDS: list[list[str]] = [["pigz", "-dc"]]
ZSTD_COMMANDS: list[list[str]] = [["zstd", "-dc", "-q"]]

_SYSTEM_ERRNOS = {errno.ENOSPC, errno.EDQUOT, errno.EIO, errno.EROFS, errno.ENOMEM, errno.EMFILE,
                  errno.ENFILE}


@dataclass(frozen=True)
class AppliedLayer:
    """What :func:`apply_layer` found.

    ``diff_id`` is the sha256 of the uncompressed tar stream (OCI DiffID),
    ``size`` the unpacked content size the way docker reports layer sizes
    (file and symlink sizes, a hard-linked inode once, directories 0),
    ``compressed_digest`` the sha256 of the raw bytes read when the input was
    compressed (None otherwise), ``compression`` its kind.
    """

    diff_id: str
    size: int
    compressed_digest: str | None = None
    compression: str | None = None


class Change(NamedTuple):
    """One ``docker diff`` line: ``kind`` is "A", "C" or "D"; ``path`` starts with ``/``."""

    kind: str
    path: str


# --------------------------------------------------------------------------
# input: compression detection and decompression


def _detect(prefix: bytes) -> str | None:
    if len(prefix) >= BLOCK and _valid_header(prefix[:BLOCK]):
        return None  # a tar whose first name happens to start like a magic number ("BZh...")
    if prefix.startswith(b"\x1f\x8b"):
        return "gzip"
    if prefix.startswith(b"\x28\xb5\x2f\xfd"):
        return "zstd"
    if prefix.startswith(b"BZh"):
        return "bzip2"
    if prefix.startswith(b"\xfd7zXZ\x00"):
        return "xz"
    return None


def _reader_of(src: BinaryIO) -> Callable[[memoryview], int]:
    readinto = getattr(src, "readinto", None)
    if readinto is not None:
        return lambda mv: readinto(mv) or 0

    def via_read(mv: memoryview) -> int:
        data = src.read(len(mv))
        if not data:
            return 0
        mv[:len(data)] = data
        return len(data)
    return via_read


def _grow_pipe(fd: int) -> None:
    try:
        fcntl.fcntl(fd, 1031, CHUNK)  # F_SETPIPE_SZ
    except OSError:
        pass


class _Input:
    """The uncompressed bytes of ``src``, read with :meth:`readinto`.

    Compressed input is decompressed concurrently (an external tool, or a
    decompressor object in a thread) into a pipe, so decompression and
    extraction use both cores and memory stays bounded by the pipe sizes.
    """

    def __init__(self, src: BinaryIO) -> None:
        self._src_readinto = _reader_of(src)
        head = bytearray()
        buf = bytearray(CHUNK)
        mv = memoryview(buf)
        while len(head) < BLOCK:
            n = self._src_readinto(mv)
            if not n:
                break
            head += mv[:n]
        self._head = bytes(head)
        self.compression = _detect(self._head)
        self._raw_hash = hashlib.sha256() if self.compression else None
        self._proc: subprocess.Popen | None = None
        self._thread: threading.Thread | None = None
        self._thread_error: BaseException | None = None
        self._killed = False
        self._eof = False
        self._stderr_cache: str | None = None
        self._rfd = -1
        if self.compression is None:
            self._pending = memoryview(self._head)
            return
        cmd = self._command()
        if cmd is not None:
            self._stderr = tempfile.TemporaryFile()
            self._proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                          stderr=self._stderr, bufsize=0, close_fds=True)
            self._rfd = self._proc.stdout.fileno()
            wfd = self._proc.stdin.fileno()
            _grow_pipe(wfd)
            _grow_pipe(self._rfd)
            target = self._feed_process
            args = (wfd,)
        else:
            make = self._decompressor()
            self._rfd, wfd = os.pipe2(os.O_CLOEXEC)
            _grow_pipe(wfd)
            target = self._decompress_thread
            args = (wfd, make)
        self._thread = threading.Thread(target=self._guard, args=(target, args), daemon=True,
                                        name=f"layer-{self.compression}")
        self._thread.start()

    # -- choosing a decompressor

    def _command(self) -> list[str] | None:
        cmds = {"gzip": GZIP_COMMANDS, "zstd": ZSTD_COMMANDS}.get(self.compression, [])
        for cmd in cmds:
            if shutil.which(cmd[0]):
                return cmd
        return None

    def _decompressor(self) -> Callable[[], object]:
        if self.compression == "gzip":
            return lambda: _ZlibAdapter(zlib.decompressobj(31))
        if self.compression == "bzip2":
            return bz2.BZ2Decompressor
        if self.compression == "xz":
            return lzma.LZMADecompressor
        try:
            from compression import zstd  # Python 3.14+
        except ImportError:
            raise errdefs.NotImplementedErr(
                "zstd-compressed layers need the zstd tool (apt-get install zstd)") from None
        return zstd.ZstdDecompressor

    # -- the raw side

    def _raw_chunks(self):
        if self._head:
            self._raw_hash.update(self._head)
            yield self._head
        buf = bytearray(CHUNK)
        mv = memoryview(buf)
        while True:
            n = self._src_readinto(mv)
            if not n:
                return
            chunk = mv[:n]
            self._raw_hash.update(chunk)
            yield chunk

    def _guard(self, target, args) -> None:
        try:
            target(*args)
        except BaseException as e:  # reported by finish()
            self._thread_error = e

    def _feed_process(self, wfd: int) -> None:
        try:
            for chunk in self._raw_chunks():
                _write_all(wfd, chunk)
        except BrokenPipeError:
            pass  # the tool died or we stopped reading: finish()/close() tell which
        finally:
            self._proc.stdin.close()

    def _decompress_thread(self, wfd: int, make) -> None:
        try:
            d = make()
            for chunk in self._raw_chunks():
                data = bytes(chunk)
                while True:
                    if d.eof:
                        if not data.strip(b"\0"):
                            break  # trailing padding
                        d = make()  # another member (gzip, bzip2, xz and zstd all allow several)
                    if not data and d.needs_input:
                        break
                    out = d.decompress(data, CHUNK)  # bounded: no decompression bombs in memory
                    data = d.unused_data if d.eof else b""
                    if out:
                        _write_all(wfd, out)
            if not d.eof:
                raise errdefs.InvalidArgument(f"invalid {self.compression} stream: unexpected end of data")
        except BrokenPipeError:
            pass
        except (zlib.error, OSError, EOFError, ValueError, lzma.LZMAError) as e:
            raise errdefs.InvalidArgument(f"invalid {self.compression} stream: {e}") from e
        finally:
            os.close(wfd)

    # -- the reading side

    def readinto(self, mv: memoryview) -> int:
        if self._rfd < 0:
            if self._pending:
                n = min(len(mv), len(self._pending))
                mv[:n] = self._pending[:n]
                self._pending = self._pending[n:]
                return n
            return self._src_readinto(mv)
        n = os.readv(self._rfd, [mv])
        if not n:
            self._eof = True
        return n

    def finish(self) -> str | None:
        """After EOF: wait for the decompressor, raise what it hit; the raw digest."""
        if self._thread is not None:
            self._thread.join()
        err = self._decompressor_error()
        if err is not None:
            raise err
        return f"sha256:{self._raw_hash.hexdigest()}" if self._raw_hash else None

    def _decompressor_error(self) -> errdefs.DockyardError | None:
        e = self._thread_error
        if isinstance(e, errdefs.DockyardError):
            return e
        if e is not None:
            return errdefs.InvalidArgument(f"invalid {self.compression} stream: {e}")
        if self._proc is not None:
            rc = self._proc.wait()
            if rc != 0 and not self._killed:
                msg = self._stderr_text() or f"exit status {rc}"
                return errdefs.InvalidArgument(f"invalid {self.compression} stream: {msg}")
        return None

    def _stderr_text(self) -> str:
        if self._stderr_cache is None:
            self._stderr.seek(0)
            self._stderr_cache = "; ".join(
                line.strip() for line in self._stderr.read(4096).decode(errors="replace").splitlines() if line.strip())
        return self._stderr_cache

    def fail(self, err: BaseException) -> BaseException:
        """Tear down after ``err``; a decompression failure explains a short tar better."""
        if self._proc is not None and self._proc.poll() is None:
            try:
                if not self._eof:
                    raise subprocess.TimeoutExpired(self._proc.args, 0)
                self._proc.wait(timeout=5)  # it closed its output: it is exiting, let it say why
            except subprocess.TimeoutExpired:
                self._proc.kill()
                self._killed = True
        self.close()
        if isinstance(err, errdefs.DockyardError):
            return self._decompressor_error() or err
        return err

    def close(self) -> None:
        """Tear everything down (after success or failure)."""
        if self._rfd >= 0:
            if self._proc is not None:
                self._proc.stdout.close()
            else:
                os.close(self._rfd)
            self._rfd = -1
        if self._thread is not None:
            self._thread.join(timeout=10)
        if self._proc is not None:
            if self._proc.poll() is None:
                self._proc.kill()
                self._killed = True
            self._proc.wait()
            self._stderr_text()
            self._stderr.close()


class _ZlibAdapter:
    """zlib's decompressobj behind the bz2/lzma decompressor interface."""

    def __init__(self, d) -> None:
        self._d = d

    def decompress(self, data: bytes, max_length: int) -> bytes:
        if not data:
            data = self._d.unconsumed_tail
        return self._d.decompress(data, max_length)

    @property
    def eof(self) -> bool:
        return self._d.eof

    @property
    def needs_input(self) -> bool:
        return not self._d.unconsumed_tail

    @property
    def unused_data(self) -> bytes:
        return self._d.unused_data


def _write_all(fd: int, data) -> None:
    mv = memoryview(data)
    while mv:
        n = os.write(fd, mv)
        mv = mv[n:]


class _BackgroundHash:
    """sha256 computed on another thread (hashlib drops the GIL), so hashing overlaps the I/O.

    Measured applying a 1 GiB one-file layer to tmpfs: 1.19 s hashing inline, 0.93 s this way.
    """

    def __init__(self) -> None:
        self._h = hashlib.sha256()
        self._q: queue.Queue = queue.Queue(maxsize=8)
        self._t = threading.Thread(target=self._run, daemon=True, name="layer-sha256")
        self._t.start()
        self._digest: str | None = None

    def _run(self) -> None:
        while (data := self._q.get()) is not None:
            self._h.update(data)

    def update(self, data) -> None:
        self._q.put(bytes(data))

    def close(self) -> None:
        if self._t.is_alive():
            self._q.put(None)
            self._t.join()

    def hexdigest(self) -> str:
        if self._digest is None:
            self.close()
            self._digest = self._h.hexdigest()
        return self._digest


# --------------------------------------------------------------------------
# tar reading


class _TarStream:
    """Buffered reads over the uncompressed stream, hashing every byte read."""

    def __init__(self, readinto: Callable[[memoryview], int]) -> None:
        self._readinto = readinto
        self.hash = _BackgroundHash()
        self._buf = bytearray(CHUNK)
        self._mv = memoryview(self._buf)
        self._start = 0
        self._end = 0
        self._eof = False

    def _fill(self, need: int) -> int:
        """Make at least ``need`` bytes (<= CHUNK) available unless EOF; return how many are."""
        avail = self._end - self._start
        if avail >= need or self._eof:
            return avail
        if self._start:
            self._buf[:avail] = self._mv[self._start:self._end]
            self._start, self._end = 0, avail
        while self._end - self._start < need:
            n = self._readinto(self._mv[self._end:])
            if not n:
                self._eof = True
                break
            self.hash.update(self._mv[self._end:self._end + n])
            self._end += n
        return self._end - self._start

    def block(self) -> bytes | None:
        """The next 512-byte block; None at a clean EOF."""
        avail = self._fill(BLOCK)
        if avail < BLOCK:
            if avail == 0:
                return None
            raise errdefs.InvalidArgument("unexpected EOF")
        s = self._start
        self._start = s + BLOCK
        return bytes(self._mv[s:s + BLOCK])

    def read(self, n: int) -> bytes:
        out = bytearray()
        while len(out) < n:
            avail = self._fill(min(n - len(out), CHUNK))
            if not avail:
                raise errdefs.InvalidArgument("unexpected EOF")
            take = min(avail, n - len(out))
            out += self._mv[self._start:self._start + take]
            self._start += take
        self.skip(-n % BLOCK)
        return bytes(out)

    def copy_to(self, fd: int, n: int) -> None:
        """Write the next ``n`` bytes to ``fd`` and skip the block padding."""
        left = n
        while left:
            avail = self._fill(1)
            if not avail:
                raise errdefs.InvalidArgument("unexpected EOF")
            take = min(avail, left)
            _write_all(fd, self._mv[self._start:self._start + take])
            self._start += take
            left -= take
        self.skip(-n % BLOCK)

    def skip(self, n: int) -> None:
        while n:
            avail = self._fill(1)
            if not avail:
                raise errdefs.InvalidArgument("unexpected EOF")
            take = min(avail, n)
            self._start += take
            n -= take

    def drain(self) -> None:
        """Read (and hash) everything up to EOF, as docker does after the archive's end."""
        self._start = self._end
        while self._fill(CHUNK):
            self._start = self._end


def _parse_octal(field: bytes) -> int:
    if field and field[0] & 0x80:  # GNU base-256
        b = bytearray(field)
        neg = b[0] & 0x40
        if neg:
            b = bytearray(c ^ 0xFF for c in b)
        b[0] &= 0x7F
        x = int.from_bytes(b, "big")
        return ~x if neg else x
    s = field.strip(b" \0").split(b"\0", 1)[0].strip(b" ")
    if not s:
        return 0
    if not s.isdigit():
        raise errdefs.InvalidArgument("archive/tar: invalid tar header")
    try:
        return int(s, 8)
    except ValueError:
        raise errdefs.InvalidArgument("archive/tar: invalid tar header") from None


def _cstr(field: bytes) -> bytes:
    i = field.find(b"\0")
    return field if i < 0 else field[:i]


def _parse_pax(data: bytes) -> dict[bytes, bytes]:
    recs: dict[bytes, bytes] = {}
    pos = 0
    while pos < len(data):
        sp = data.find(b" ", pos)
        if sp < 0:
            break
        try:
            length = int(data[pos:sp])
        except ValueError:
            raise errdefs.InvalidArgument("archive/tar: invalid tar header") from None
        rec = data[sp + 1:pos + length]
        if length <= sp - pos or not rec.endswith(b"\n") or b"=" not in rec:
            raise errdefs.InvalidArgument("archive/tar: invalid tar header")
        key, value = rec[:-1].split(b"=", 1)
        recs[key] = value
        pos += length
    return recs


def _pax_time_ns(value: bytes) -> int:
    s = value.decode("ascii", "replace")
    sec, _, frac = s.partition(".")
    try:
        secs = int(sec or "0")
        ns = int((frac + "000000000")[:9]) if frac else 0
    except ValueError:
        raise errdefs.InvalidArgument("archive/tar: invalid tar header") from None
    return secs * 1_000_000_000 + (-ns if s.startswith("-") else ns)


class _Header:
    __slots__ = ("name", "type", "mode", "uid", "gid", "size", "mtime_ns", "atime_ns", "linkname",
                 "devmajor", "devminor", "xattrs")


_HEADER_ONLY = frozenset(b"123456")  # link, symlink, chr, blk, dir, fifo carry no data


_USTAR = struct.Struct("100s8s8s8s12s12s8sB100s6s2s32s32s8s8s155s12x")


def _oct(field: bytes) -> int:
    """A numeric header field; the plain zero-padded octal case fast."""
    try:
        v = int(field.rstrip(b"\0 ") or b"0", 8)
    except ValueError:
        return _parse_octal(field)
    if v < 0:
        raise errdefs.InvalidArgument("archive/tar: invalid tar header")
    return v


def _valid_header(blk: bytes) -> bool:
    try:
        chk = _oct(blk[148:156])
    except errdefs.InvalidArgument:
        return False
    unsigned = sum(blk) - sum(blk[148:156]) + 8 * 32
    if chk == unsigned:
        return True
    high = sum(1 for c in blk if c >= 128) - sum(1 for c in blk[148:156] if c >= 128)
    return chk == unsigned - 256 * high


def _pax_int(value: bytes) -> int:
    try:
        v = int(value)
    except ValueError:
        v = -1
    if v < 0:
        raise errdefs.InvalidArgument("archive/tar: invalid tar header")
    return v


def _next_header(ts: _TarStream) -> _Header | None:
    """The next entry's header with PAX/GNU long names folded in; None at the end."""
    pax: dict[bytes, bytes] = {}
    longname = longlink = None
    while True:
        blk = ts.block()
        if blk is None:
            return None
        if blk == ZERO_BLOCK:
            nxt = ts.block()
            if nxt is None or nxt == ZERO_BLOCK:
                return None
            raise errdefs.InvalidArgument("archive/tar: invalid tar header")
        (name, mode, uid, gid, size, mtime, _chk, typ, linkname, magic, _version, _uname, _gname,
         devmajor, devminor, prefix) = _USTAR.unpack(blk)
        if not _valid_header(blk):
            raise errdefs.InvalidArgument("archive/tar: invalid tar header")
        size = _oct(size)
        if typ in (0x78, 0x67, 0x4C, 0x4B) and size > MAX_SPECIAL_SIZE:
            raise errdefs.InvalidArgument("archive/tar: header field too long")
        if typ in (0x78, 0x67):  # 'x' PAX, 'g' global PAX (ignored, like docker)
            data = ts.read(size)
            if typ == 0x78:
                pax.update(_parse_pax(data))
            continue
        if typ in (0x4C, 0x4B):  # 'L' GNU long name, 'K' GNU long link
            data = _cstr(ts.read(size))
            if typ == 0x4C:
                longname = data
            else:
                longlink = data
            continue
        break

    h = _Header()
    if longname is not None:
        name = longname
    else:
        name = _cstr(name)
        if magic == b"ustar\0" and prefix[0]:
            name = _cstr(prefix) + b"/" + name
    linkname = longlink if longlink is not None else _cstr(linkname)
    h.mode = _oct(mode)
    h.uid = _oct(uid)
    h.gid = _oct(gid)
    h.mtime_ns = _oct(mtime) * 1_000_000_000
    h.atime_ns = None
    if typ in (0x33, 0x34) and magic.startswith(b"ustar"):
        h.devmajor, h.devminor = _oct(devmajor), _oct(devminor)
    else:
        h.devmajor = h.devminor = 0
    h.xattrs = None
    if pax:
        for key, value in pax.items():
            if key == b"path":
                name = value
            elif key == b"linkpath":
                linkname = value
            elif key == b"size":
                size = _pax_int(value)
            elif key == b"uid":
                h.uid = _pax_int(value)
            elif key == b"gid":
                h.gid = _pax_int(value)
            elif key == b"mtime":
                h.mtime_ns = _pax_time_ns(value)
            elif key == b"atime":
                h.atime_ns = _pax_time_ns(value)
            elif key.startswith(b"SCHILY.xattr."):
                if h.xattrs is None:
                    h.xattrs = {}
                h.xattrs[os.fsdecode(key[13:])] = value
            elif key.startswith(b"GNU.sparse."):
                raise errdefs.InvalidArgument("sparse files in layer tars are not supported")
    if typ == 0 and name.endswith(b"/"):
        typ = 0x35  # old tars: a '\0' entry named "x/" is a directory
    h.type = typ
    h.name = os.fsdecode(name)
    h.linkname = os.fsdecode(linkname) if linkname else ""
    h.size = 0 if typ in _HEADER_ONLY else size
    return h


# --------------------------------------------------------------------------
# applying


_O_DIR = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC
_O_NEWFILE = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC
_CACHE_MAX = 256


class _Applier:
    def __init__(self, dest: str, whiteouts: bool = True) -> None:
        self.whiteouts = whiteouts
        try:
            self.root = os.open(dest, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
        except FileNotFoundError:
            raise errdefs.NotFound(f"layer directory {dest} does not exist") from None
        except NotADirectoryError:
            raise errdefs.InvalidArgument(f"{dest} is not a directory") from None
        self.cache: OrderedDict[str, int] = OrderedDict()
        self.stale = False
        self.seen: set[str] = set()       # tar-split's duplicate check
        self.created: set[str] = set()    # paths this layer made
        self.sizes: dict[str, int] = {}
        self.dirs: list[tuple[str, int, int]] = []
        self.op: tuple[str, ...] = ()

    def close(self) -> None:
        for fd in self.cache.values():
            os.close(fd)
        self.cache.clear()
        os.close(self.root)

    # -- directory fds

    def _flush(self) -> None:
        for fd in self.cache.values():
            os.close(fd)
        self.cache.clear()
        self.stale = False

    def _put(self, rel: str, fd: int) -> None:
        old = self.cache.pop(rel, None)
        if old is not None:
            os.close(old)
        self.cache[rel] = fd
        if len(self.cache) > _CACHE_MAX:
            os.close(self.cache.popitem(last=False)[1])

    def dir(self, rel: str, create: bool = True) -> int:
        """An fd of directory ``rel``, resolved inside the root, made if missing (``create``)."""
        if self.stale:
            self._flush()
        if not rel:
            return self.root
        fd = self.cache.get(rel)
        if fd is not None:
            self.cache.move_to_end(rel)
            return fd
        parts = rel.split("/")
        i = len(parts) - 1
        fd = self.root
        while i > 0:
            hit = self.cache.get("/".join(parts[:i]))
            if hit is not None:
                fd = hit
                break
            i -= 1
        for j in range(i, len(parts)):
            sub = "/".join(parts[:j + 1]) if j else parts[0]
            fd = self._open_child(fd, parts[j], sub, create)
            self._put(sub, fd)
        return fd

    def _open_child(self, pfd: int, name: str, sub: str, create: bool) -> int:
        try:
            return os.open(name, _O_DIR, dir_fd=pfd)
        except FileNotFoundError:
            if not create:
                raise
            os.mkdir(name, 0o755, dir_fd=pfd)
            fd = os.open(name, _O_DIR, dir_fd=pfd)
            os.fchmod(fd, 0o755)  # as docker's MkdirAll, whatever the umask
            self.created.add(sub)
            return fd
        except OSError as e:
            if e.errno not in (errno.ENOTDIR, errno.ELOOP):
                raise
            # a symlink: follow it the way the container will see it
            return safepath.open_dir_in_root(self.root, sub)

    # -- replacing what is there

    def _remove(self, pfd: int, base: str, rel: str) -> None:
        st = os.stat(base, dir_fd=pfd, follow_symlinks=False)
        if stat.S_ISDIR(st.st_mode):
            shutil.rmtree(base, dir_fd=pfd)
            pre = rel + "/"
            for k in [k for k in self.sizes if k.startswith(pre)]:
                del self.sizes[k]
            self.stale = True
        else:
            os.unlink(base, dir_fd=pfd)
            if stat.S_ISLNK(st.st_mode):
                self.stale = True  # a cached directory may have been reached through it
        self.sizes.pop(rel, None)

    def _create(self, make: Callable[[], object], pfd: int, base: str, rel: str):
        try:
            return make()
        except FileExistsError:
            self._remove(pfd, base, rel)
            return make()

    # -- entries

    def apply(self, ts: _TarStream) -> None:
        while True:
            h = _next_header(ts)
            if h is None:
                break
            name = h.name
            if ("/." in name or "//" in name or name.startswith((".", "/")) or name.endswith("/")
                    or not name):
                key, rel = gopath.clean(name), gopath.within_root(name)
            else:
                key = rel = name  # already clean: the common case, kept fast
            if key in self.seen:
                raise errdefs.InvalidArgument("duplicates of file paths not supported")
            self.seen.add(key)
            if "\0" in name or "\0" in h.linkname:
                raise errdefs.InvalidArgument(f"invalid tar header: name {name!r}")
            try:
                self._entry(ts, h, rel)
            except OSError as e:
                raise self._error(e) from e
            if h.size:  # data of an entry that was not a regular file written out
                ts.skip(h.size + (-h.size % BLOCK))
        for rel, atime, mtime in self.dirs:
            parent, _, base = rel.rpartition("/")
            try:
                pfd = self.dir(parent, create=False)
                os.utime(base, ns=(atime, mtime), dir_fd=pfd, follow_symlinks=False)
            except OSError:
                pass  # replaced later in the layer

    def _error(self, e: OSError) -> errdefs.DockyardError:
        msg = (e.strerror or str(e))
        msg = msg[:1].lower() + msg[1:]
        text = " ".join(self.op) + ": " + msg if self.op else msg
        if e.errno in _SYSTEM_ERRNOS:
            return errdefs.System(text)
        return errdefs.InvalidArgument(text)

    def _entry(self, ts: _TarStream, h: _Header, rel: str) -> None:
        typ = h.type
        if not rel:
            if typ == 0x35:
                return  # "./": docker leaves the layer root alone
            raise errdefs.InvalidArgument(f"invalid tar header: {h.name!r} is not a directory")
        parent, _, base = rel.rpartition("/")
        if self.whiteouts and base.startswith(WHITEOUT_PREFIX):
            self._whiteout(h, rel, parent, base)
            return
        self.op = ("open", "/" + rel)
        pfd = self.dir(parent)
        mtime = max(h.mtime_ns, 0)
        atime = mtime if h.atime_ns is None else max(h.atime_ns, 0)
        if typ in (0x30, 0x37, 0):  # regular ('0', contiguous '7', old '\0')
            fd = self._create(lambda: os.open(base, _O_NEWFILE, 0o600, dir_fd=pfd), pfd, base, rel)
            try:
                if h.size:
                    ts.copy_to(fd, h.size)
                    self.sizes[rel] = h.size
                    h.size = 0
                os.fchown(fd, h.uid, h.gid)  # even 0:0: a setgid parent would give its own gid
                os.fchmod(fd, h.mode & 0o7777)
                if h.xattrs:
                    self._xattrs(fd, h.xattrs)
                os.utime(fd, ns=(atime, mtime))
            finally:
                os.close(fd)
        elif typ == 0x35:  # directory
            try:
                os.mkdir(base, 0o700, dir_fd=pfd)
            except FileExistsError:
                if not stat.S_ISDIR(os.stat(base, dir_fd=pfd, follow_symlinks=False).st_mode):
                    self._remove(pfd, base, rel)
                    os.mkdir(base, 0o700, dir_fd=pfd)
            fd = os.open(base, _O_DIR, dir_fd=pfd)
            self._put(rel, fd)
            os.fchown(fd, h.uid, h.gid)
            os.fchmod(fd, h.mode & 0o7777)
            if h.xattrs:
                self._xattrs(fd, h.xattrs)
            self.dirs.append((rel, atime, mtime))
        elif typ == 0x32:  # symlink
            self._create(lambda: os.symlink(h.linkname, base, dir_fd=pfd), pfd, base, rel)
            os.chown(base, h.uid, h.gid, dir_fd=pfd, follow_symlinks=False)
            if h.xattrs:
                self._xattrs(f"/proc/self/fd/{pfd}/{base}", h.xattrs)
            os.utime(base, ns=(atime, mtime), dir_fd=pfd, follow_symlinks=False)
            self.sizes[rel] = len(os.fsencode(h.linkname))
        elif typ == 0x31:  # hard link
            self._hardlink(h, rel, pfd, base, atime, mtime)
        elif typ in (0x33, 0x34, 0x36):  # char, block, fifo
            if typ == 0x36:
                make = lambda: os.mkfifo(base, 0o600, dir_fd=pfd)  # noqa: E731
            else:
                kind = stat.S_IFCHR if typ == 0x33 else stat.S_IFBLK
                dev = os.makedev(h.devmajor, h.devminor)
                make = lambda: os.mknod(base, kind | 0o600, dev, dir_fd=pfd)  # noqa: E731
            self.op = ("mknod", "/" + rel)
            self._create(make, pfd, base, rel)
            os.chown(base, h.uid, h.gid, dir_fd=pfd, follow_symlinks=False)
            os.chmod(base, h.mode & 0o7777, dir_fd=pfd)  # not a symlink: we just made it
            if h.xattrs:
                self._xattrs(f"/proc/self/fd/{pfd}/{base}", h.xattrs)
            os.utime(base, ns=(atime, mtime), dir_fd=pfd, follow_symlinks=False)
        else:
            raise errdefs.InvalidArgument(f"unhandled tar header type {typ}")
        self.created.add(rel)

    def _hardlink(self, h: _Header, rel: str, pfd: int, base: str, atime: int, mtime: int) -> None:
        target = gopath.within_root(h.linkname)
        self.op = ("link", "/" + target, "/" + rel)
        if not target:
            raise OSError(errno.EPERM, os.strerror(errno.EPERM))
        tparent, _, tbase = target.rpartition("/")
        pfd = os.dup(pfd)  # resolving the target may evict pfd from the cache
        try:
            tpfd = self.dir(tparent, create=False)
            tst = os.stat(tbase, dir_fd=tpfd, follow_symlinks=False)
            self._create(lambda: os.link(tbase, base, src_dir_fd=tpfd, dst_dir_fd=pfd,
                                         follow_symlinks=False), pfd, base, rel)
            if not stat.S_ISLNK(tst.st_mode):  # docker re-applies the header to the inode
                os.chown(base, h.uid, h.gid, dir_fd=pfd, follow_symlinks=False)
                os.chmod(base, h.mode & 0o7777, dir_fd=pfd)
                if h.xattrs:
                    self._xattrs(f"/proc/self/fd/{pfd}/{base}", h.xattrs)
                os.utime(base, ns=(atime, mtime), dir_fd=pfd, follow_symlinks=False)
        finally:
            os.close(pfd)

    def _whiteout(self, h: _Header, rel: str, parent: str, base: str) -> None:
        if base == WHITEOUT_OPAQUE:
            self.op = ("setxattr", "/" + parent, OPAQUE_XATTR)
            os.setxattr(self.dir(parent), OPAQUE_XATTR, b"y")
            return
        if base.startswith(WHITEOUT_META_PREFIX):
            return  # AUFS bookkeeping (.wh..wh.plnk and friends)
        name = base[len(WHITEOUT_PREFIX):]
        if name in ("", ".", ".."):
            raise errdefs.InvalidArgument(f"invalid whiteout {h.name!r}")
        victim = f"{parent}/{name}" if parent else name
        self.op = ("mknod", "/" + victim)
        pfd = self.dir(parent)
        make = lambda: os.mknod(name, stat.S_IFCHR, 0, dir_fd=pfd)  # noqa: E731
        if victim in self.created:
            make()  # docker: a whiteout of an entry of the same layer fails with EEXIST
        else:
            self._create(make, pfd, name, victim)
        os.chown(name, h.uid, h.gid, dir_fd=pfd, follow_symlinks=False)
        self.created.add(victim)

    @staticmethod
    def _xattrs(target: int | str, xattrs: dict[str, bytes]) -> None:
        for k, v in xattrs.items():
            if k.startswith(OVERLAY_XATTR_PREFIX):
                continue  # overlayfs' own: a layer must not steer the overlay (redirects, opaque)
            try:
                os.setxattr(target, k, v, follow_symlinks=isinstance(target, int))
            except OSError as e:
                if e.errno not in (errno.ENOTSUP, errno.EPERM):  # docker skips these too
                    raise


def apply_layer(src: BinaryIO, dest: str, *, whiteouts: bool = True) -> AppliedLayer:
    """Unpack the layer tar read from ``src`` into the existing directory ``dest``.

    Whiteouts become overlayfs ones: ``.wh.NAME`` a 0/0 character device
    ``NAME``, ``.wh..wh..opq`` the xattr ``trusted.overlay.opaque=y`` on its
    directory (``whiteouts=False`` keeps them as plain files: a build context, a ``cp`` upload).
    The whole stream is read (and hashed) up to EOF.
    """
    inp = _Input(src)
    ts = _TarStream(inp.readinto)
    try:
        applier = _Applier(dest, whiteouts)
        try:
            applier.apply(ts)
            ts.drain()
        finally:
            applier.close()
        compressed = inp.finish()
    except BaseException as e:
        ts.hash.close()
        err = inp.fail(e)
        if err is e:
            raise
        raise err from e
    inp.close()
    return AppliedLayer(diff_id=f"sha256:{ts.hash.hexdigest()}", size=sum(applier.sizes.values()),
                        compressed_digest=compressed, compression=inp.compression)


# --------------------------------------------------------------------------
# tar writing


class _Out:
    """Buffered writes to ``out``, hashed when ``hashed``."""

    def __init__(self, out: BinaryIO, hashed: bool) -> None:
        self._out = out
        self._buf = bytearray()
        self.hash = _BackgroundHash() if hashed else None

    def write(self, data) -> None:
        self._buf += data
        if len(self._buf) >= CHUNK:
            self.flush()

    def write_big(self, mv: memoryview) -> None:
        if self._buf:
            self.flush()
        self._out.write(mv)
        if self.hash is not None:
            self.hash.update(mv)

    def flush(self) -> None:
        if self._buf:
            self._out.write(bytes(self._buf))
            if self.hash is not None:
                self.hash.update(self._buf)
            self._buf.clear()


def _is_whiteout(st: os.stat_result) -> bool:
    return stat.S_ISCHR(st.st_mode) and st.st_rdev == 0


def _listxattrs(target: int | str, skip_overlay: bool) -> dict[str, bytes] | None:
    try:
        names = os.listxattr(target, follow_symlinks=isinstance(target, int))
    except OSError as e:
        if e.errno in (errno.ENOTSUP, errno.EPERM):
            return None
        raise
    out = {}
    for k in sorted(names):
        if skip_overlay and k.startswith(OVERLAY_XATTR_PREFIX):
            continue
        try:
            out[k] = os.getxattr(target, k, follow_symlinks=isinstance(target, int))
        except OSError as e:
            if e.errno not in (errno.ENODATA, errno.ENOTSUP):
                raise
    return out or None


def _fskey(name: str) -> bytes:
    return os.fsencode(name)


class _TreeWriter:
    def __init__(self, out: _Out, *, whiteouts: bool, skip_overlay_xattrs: bool,
                 one_filesystem: bool, id_map: Callable[[int, int], tuple[int, int]] | None = None) -> None:
        self.out = out
        self.id_map = id_map  # host → container ids, for a container whose root is remapped
        self.whiteouts = whiteouts
        self.skip_overlay = skip_overlay_xattrs
        self.one_fs = one_filesystem
        self.links: dict[tuple[int, int], str] = {}
        self.buf = bytearray(CHUNK)
        self.mv = memoryview(self.buf)

    def write_tree(self, root: str) -> None:
        try:
            rfd = os.open(root, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
        except FileNotFoundError:
            raise errdefs.NotFound(f"{root} does not exist") from None
        rdev = os.fstat(rfd).st_dev
        stack: list[tuple[int, str, int, list]] = [(rfd, "", rdev, self._children(rfd))]
        try:
            while stack:
                fd, rel, dev, children = stack[-1]
                if not children:
                    stack.pop()
                    os.close(fd)
                    continue
                _, name, st = children.pop()
                path = rel + name
                if stat.S_ISDIR(st.st_mode):
                    cfd = os.open(name, _O_DIR, dir_fd=fd)
                    try:
                        opaque = self._dir(cfd, path, st)
                    except BaseException:
                        os.close(cfd)
                        raise
                    if self.one_fs and st.st_dev != dev:
                        os.close(cfd)  # another mount: its mount point, not its contents
                        continue
                    if opaque:
                        self.out.write(tar_header(path + "/" + WHITEOUT_OPAQUE, st.st_mode & 0o777,
                                                  *self._owner(st), 0, 0, b"0"))
                    stack.append((cfd, path + "/", st.st_dev, self._children(cfd)))
                else:
                    self._nondir(fd, name, path, st)
        finally:
            for fd, *_ in stack:
                os.close(fd)
        self.out.write(bytes(2 * BLOCK))
        self.out.flush()

    def _owner(self, st: os.stat_result) -> tuple[int, int]:
        if self.id_map is None:
            return st.st_uid, st.st_gid
        return self.id_map(st.st_uid, st.st_gid)

    def _children(self, fd: int) -> list:
        """(sort key, name, stat) of a directory's entries, last one first (popped)."""
        items = []
        for name in os.listdir(fd):
            st = os.stat(name, dir_fd=fd, follow_symlinks=False)
            shown = WHITEOUT_PREFIX + name if self.whiteouts and _is_whiteout(st) else name
            items.append((_fskey(shown), name, st))
        items.sort(reverse=True)
        return items

    def _dir(self, cfd: int, path: str, st: os.stat_result) -> bool:
        xattrs = _listxattrs(cfd, self.skip_overlay)
        opaque = False
        if self.whiteouts:
            try:
                opaque = os.getxattr(cfd, OPAQUE_XATTR) == b"y"
            except OSError:
                opaque = False
        self.out.write(tar_header(path + "/", st.st_mode, *self._owner(st), 0,
                                  st.st_mtime_ns // 1_000_000_000, b"5", xattrs=xattrs))
        return opaque

    def _nondir(self, pfd: int, name: str, path: str, st: os.stat_result) -> None:
        mtime = st.st_mtime_ns // 1_000_000_000
        mode = st.st_mode
        if self.whiteouts and _is_whiteout(st):
            parent, _, base = path.rpartition("/")
            wh = f"{parent}/{WHITEOUT_PREFIX}{base}" if parent else WHITEOUT_PREFIX + base
            self.out.write(tar_header(wh, 0o600, *self._owner(st), 0, mtime, b"0"))
            return
        if st.st_nlink > 1:
            key = (st.st_dev, st.st_ino)
            first = self.links.get(key)
            if first is not None:
                xattrs = self._xattrs_at(pfd, name, st)
                self.out.write(tar_header(path, mode, *self._owner(st), 0, mtime, b"1", first,
                                          xattrs=xattrs))
                return
            self.links[key] = path
        if stat.S_ISREG(mode):
            fd = os.open(name, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC, dir_fd=pfd)
            try:
                xattrs = _listxattrs(fd, self.skip_overlay)
                size = st.st_size
                self.out.write(tar_header(path, mode, *self._owner(st), size, mtime, b"0",
                                          xattrs=xattrs))
                self._copy(fd, size)
            finally:
                os.close(fd)
            return
        xattrs = self._xattrs_at(pfd, name, st)
        if stat.S_ISLNK(mode):
            target = os.readlink(name, dir_fd=pfd)
            self.out.write(tar_header(path, mode, *self._owner(st), 0, mtime, b"2", target,
                                      xattrs=xattrs))
        elif stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
            typ = b"3" if stat.S_ISCHR(mode) else b"4"
            self.out.write(tar_header(path, mode, *self._owner(st), 0, mtime, typ,
                                      devmajor=os.major(st.st_rdev), devminor=os.minor(st.st_rdev),
                                      xattrs=xattrs))
        elif stat.S_ISFIFO(mode):
            self.out.write(tar_header(path, mode, *self._owner(st), 0, mtime, b"6",
                                      xattrs=xattrs))
        # sockets have no tar form: skipped, as docker does

    def _xattrs_at(self, pfd: int, name: str, st: os.stat_result) -> dict[str, bytes] | None:
        return _listxattrs(f"/proc/self/fd/{pfd}/{name}", self.skip_overlay)

    def _copy(self, fd: int, size: int) -> None:
        left = size
        while left:
            n = os.readv(fd, [self.mv[:min(left, CHUNK)]])
            if not n:  # the file shrank while we read it: keep the tar well-formed
                self.mv[:min(left, CHUNK)] = bytes(min(left, CHUNK))
                n = min(left, CHUNK)
            if n >= 65536:
                self.out.write_big(self.mv[:n])
            else:
                self.out.write(self.mv[:n])
            left -= n
        pad = -size % BLOCK
        if pad:
            self.out.write(bytes(pad))


def write_diff(upper: str, out: BinaryIO, *, id_map: Callable[[int, int], tuple[int, int]] | None = None) -> str:
    """Write the overlayfs upper directory ``upper`` as an OCI layer tar; return its DiffID.

    0/0 character devices become ``.wh.NAME`` files, opaque directories get a
    ``.wh..wh..opq`` entry, ``trusted.overlay.*`` xattrs are left out.  Entries
    come in tree order with each directory's entries sorted by name, so the
    same tree (same mtimes) always gives the same bytes.
    """
    o = _Out(out, hashed=True)
    try:
        _TreeWriter(o, whiteouts=True, skip_overlay_xattrs=True, one_filesystem=False,
                    id_map=id_map).write_tree(upper)
    finally:
        digest = o.hash.hexdigest()
    return f"sha256:{digest}"


def export_tree(root: str, out: BinaryIO, *, id_map: Callable[[int, int], tuple[int, int]] | None = None) -> None:
    """Write a plain tar of the whole tree under ``root`` (``docker export``).

    No whiteout conversion and every xattr kept; directories that are other
    mounts are written as empty directories (their contents are not the
    container's filesystem, e.g. ``/proc``).
    """
    o = _Out(out, hashed=False)
    _TreeWriter(o, whiteouts=False, skip_overlay_xattrs=False, one_filesystem=True, id_map=id_map).write_tree(root)


# --------------------------------------------------------------------------
# docker diff


def _opaque(path: str) -> bool:
    try:
        return os.getxattr(path, OPAQUE_XATTR, follow_symlinks=False) == b"y"
    except OSError:
        return False


def _lstat(path: str) -> os.stat_result | None:
    try:
        return os.lstat(path)
    except (FileNotFoundError, NotADirectoryError):
        return None


def _lower_entry(stack: list[str], name: str) -> tuple[os.stat_result | None, str, list[str]]:
    """What the lowers (merged, topmost first) show at ``name``: stat, path, directory stack."""
    first = None
    first_path = ""
    dirs: list[str] = []
    for d in stack:
        path = f"{d}/{name}"
        st = _lstat(path)
        if st is None:
            continue
        if _is_whiteout(st):
            break
        if first is None:
            first, first_path = st, path
        if not stat.S_ISDIR(st.st_mode) or not stat.S_ISDIR(first.st_mode):
            break
        dirs.append(path)
        if _opaque(path):
            break
    return first, first_path, dirs


def _lower_names(stack: list[str]) -> set[str]:
    names: set[str] = set()
    hidden: set[str] = set()
    for d in stack:
        try:
            entries = list(os.scandir(d))
        except (FileNotFoundError, NotADirectoryError):
            continue
        for e in entries:
            if e.name in hidden or e.name in names:
                continue
            st = e.stat(follow_symlinks=False)
            if _is_whiteout(st):
                hidden.add(e.name)
            else:
                names.add(e.name)
    return names


def _same_time(a: int, b: int) -> bool:
    sa, na = divmod(a, 1_000_000_000)
    sb, nb = divmod(b, 1_000_000_000)
    return sa == sb and (na == nb or na == 0 or nb == 0)


def _capability(path: str) -> bytes | None:
    try:
        return os.getxattr(path, "security.capability", follow_symlinks=False)
    except OSError:
        return None


def _differs(old: os.stat_result, new: os.stat_result, old_path: str, new_path: str) -> bool:
    """docker's statDifferent (+ capability check), from its naive differ."""
    if (old.st_mode != new.st_mode or old.st_uid != new.st_uid or old.st_gid != new.st_gid
            or old.st_rdev != new.st_rdev):
        return True
    if not stat.S_ISDIR(old.st_mode) and (not _same_time(old.st_mtime_ns, new.st_mtime_ns)
                                          or old.st_size != new.st_size):
        return True
    if stat.S_ISREG(new.st_mode):
        return _capability(old_path) != _capability(new_path)
    return False


def changes(upper: str, lowers: list[str]) -> list[Change]:
    """``docker diff`` of an overlay with upper dir ``upper`` over ``lowers`` (topmost first).

    What changed is decided the way dockerd reports it for containers
    (observed: 20.10 overlay2): the merged lower tree against the merged
    tree, an entry "C" when its mode, owner, device, or (non-directories)
    size or mtime differ, a directory that only gained, lost or changed
    entries reported "C" before them, deletions of lower entries under a
    whiteout or an opaque directory "D" (the entry only, not its contents).
    Paths come in tree order, each directory's entries sorted by name.
    """
    if not os.path.isdir(upper):
        raise errdefs.NotFound(f"{upper} does not exist")
    root_stack: list[str] = []
    for d in lowers:
        root_stack.append(d)
        if _opaque(d):
            break
    out: list[Change] = []
    _diff_dir(upper, "", root_stack, _opaque(upper), out)
    return out


def _diff_dir(udir: str, rel: str, lower: list[str], opaque: bool, out: list[Change]) -> None:
    try:
        entries = {e.name: e for e in os.scandir(udir)}
    except (FileNotFoundError, NotADirectoryError):
        entries = {}
    names = set(entries)
    if opaque and lower:
        names |= _lower_names(lower)
    for name in sorted(names, key=_fskey):
        path = f"{rel}/{name}"
        e = entries.get(name)
        ust = e.stat(follow_symlinks=False) if e is not None else None
        if ust is not None and _is_whiteout(ust):
            ust = None
            whited = True
        else:
            whited = False
        lst, lpath, ldirs = _lower_entry(lower, name) if lower else (None, "", [])
        if ust is None:
            if lst is not None and (whited or opaque):
                out.append(Change("D", path))
            continue
        upath = f"{udir}/{name}"
        if lst is None:
            out.append(Change("A", path))
            if stat.S_ISDIR(ust.st_mode):
                _diff_dir(upath, path, [], False, out)
            continue
        mark = len(out)
        changed = _differs(lst, ust, lpath, upath)
        if changed:
            out.append(Change("C", path))
        if stat.S_ISDIR(ust.st_mode):
            sub = ldirs if stat.S_ISDIR(lst.st_mode) else []
            _diff_dir(upath, path, sub, _opaque(upath), out)
            if len(out) > mark and not changed:
                out.insert(mark, Change("C", path))

