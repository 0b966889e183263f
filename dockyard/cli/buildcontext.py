"""The build context ``dockyard build`` sends: a tar made the way the docker CLI makes it.

The docker CLI's classic build (``cli/command/image/build.go`` and
``cli/command/image/build/context.go``, moby's ``archive.TarWithOptions``):

* the context directory is resolved (symlinks followed) and must be a
  directory; the Dockerfile is ``-f`` (relative to the *current* directory)
  or ``PATH/Dockerfile`` (``PATH/dockerfile`` if only that exists);
* ``.dockerignore`` patterns filter the context (:mod:`dockyard.util.dockerignore`),
  except that ``.dockerignore`` and the Dockerfile are always sent
  (``keep_build_files``); unreadable files stop the build before anything is
  sent (``error checking context: ...``);
* entries come in ``filepath.Walk`` order (sorted, a directory before its
  contents), the root itself left out; owners are ``0:0`` (``ChownOpts``) but
  the user and group *names* are those of the real owners (Go looks them up
  before the override); the mode is the whole ``st_mode``, file type bits
  included (moby 20.10's ``fillGo18FileTypeBits``); times are cut to whole
  seconds; symlinks stay symlinks; a file seen
  again through another hard link is a hard-link entry; sockets are skipped;
  ``security.capability`` xattrs travel as PAX records;
* a Dockerfile outside the context (or ``-f -``) is appended under a random
  name ``.dockerfile.<20 hex>`` (mode 0600), and ``.dockerignore`` gets that
  name appended (or is created as ``.dockerignore\\n<name>\\n``), so the daemon
  drops both from the context after reading them;
* the tar is Go's: a USTAR header when the entry fits one (long paths split
  into prefix/name), PAX otherwise; two zero blocks at the end and no padding
  to a record size, so the byte count printed as ``Sending build context to
  Docker daemon`` is docker's.

``local_context(path, dockerfile)`` returns a :class:`Context` whose
``chunks()`` yields the tar; ``stdin_context(data, dockerfile)`` does the same
for ``build -`` (an archive is sent as is, anything else is a Dockerfile).
"""

from __future__ import annotations

import os
import stat
import time

from dockyard.util import dockerignore, tarfields
from dockyard.util.tarfields import BLOCK

_CHUNK = 256 * 1024
_BIG = 1 << 20


class ContextError(Exception):
    """The context cannot be prepared or read; ``str()`` is the docker CLI's message."""


# --------------------------------------------------------------------------- tar headers (Go's archive/tar)


def _pad(n: int) -> bytes:
    return b"\0" * (-n % BLOCK)


def tar_header(name: str, *, mode: int, size: int = 0, mtime: int = 0, typeflag: bytes = b"0",
               linkname: str = "", uid: int = 0, gid: int = 0, uname: str = "", gname: str = "",
               devmajor: int = 0, devminor: int = 0, xattrs: dict[str, bytes] | None = None) -> bytes:
    """The header block(s) of one entry: USTAR when possible, else a PAX extended header first."""
    return tarfields.tar_header(name, mode, uid, gid, size, mtime, typeflag, linkname, uname, gname,
                                devmajor, devminor, xattrs)


END_OF_ARCHIVE = b"\0" * (2 * BLOCK)


# --------------------------------------------------------------------------- the context


class Entry:
    __slots__ = ("rel", "path", "st")

    def __init__(self, rel: str, path: str, st: os.stat_result) -> None:
        self.rel = rel
        self.path = path
        self.st = st


class Context:
    """A build context ready to send: ``chunks()`` yields the tar, ``dockerfile`` is the ``dockerfile=`` value."""

    def __init__(self, dockerfile: str, entries: list[Entry] | None = None, raw=None,
                 extra_dockerfile: bytes | None = None, now: float | None = None) -> None:
        self.dockerfile = dockerfile
        self.entries = entries or []
        self.raw = raw  # bytes chunks sent as they are (a tar from stdin)
        self.extra_dockerfile = extra_dockerfile
        self.now = time.time() if now is None else now
        if extra_dockerfile is not None:
            self.dockerfile = ".dockerfile." + os.urandom(10).hex()
        self.size = 0  # bytes yielded so far

    def chunks(self):
        """Yield the context in pieces (``size`` counts the bytes yielded so far)."""
        source = self.raw if self.raw is not None else self._tar()
        for chunk in source:
            if chunk:
                self.size += len(chunk)
                yield chunk

    # -- the tar of a directory --------------------------------------------------------
    def _tar(self):
        buf = bytearray()
        seen: dict[int, str] = {}
        random_name = self.dockerfile if self.extra_dockerfile is not None else None
        dockerignore_done = False
        names = _Names()
        for e in self.entries:
            st = e.st
            mode = st.st_mode
            fmt = stat.S_IFMT(mode)
            mtime = int(st.st_mtime)
            name = e.rel + "/" if fmt == stat.S_IFDIR else e.rel
            xattrs = _capability(e.path)
            own = {"uname": names.user(st.st_uid), "gname": names.group(st.st_gid), "xattrs": xattrs}
            if fmt != stat.S_IFDIR and st.st_nlink > 1:
                first = seen.get(st.st_ino)
                if first is not None:
                    buf += tar_header(name, mode=mode, mtime=mtime, typeflag=b"1", linkname=first, **own)
                    continue
                seen[st.st_ino] = e.rel
            if fmt == stat.S_IFREG:
                if random_name is not None and e.rel == ".dockerignore":
                    dockerignore_done = True
                    data = _read_all(e.path) + b"\n" + random_name.encode() + b"\n"
                    buf += tar_header(name, mode=mode, size=len(data), mtime=mtime, **own)
                    buf += data + _pad(len(data))
                    continue
                try:
                    f = open(e.path, "rb", buffering=0)
                except OSError:
                    continue  # gone or unreadable since the walk: moby logs and skips it
                with f:
                    size = st.st_size
                    buf += tar_header(name, mode=mode, size=size, mtime=mtime, **own)
                    if size <= _CHUNK:
                        data = f.read(size) if size else b""
                        if len(data) < size:
                            data += b"\0" * (size - len(data))
                        buf += data + _pad(size)
                    else:
                        if buf:
                            yield bytes(buf)
                            buf.clear()
                        left = size
                        while left > 0:
                            data = f.read(min(_BIG, left))
                            if not data:
                                data = b"\0" * min(_BIG, left)  # the file shrank: keep the header's size
                            left -= len(data)
                            yield data
                        pad = _pad(size)
                        if pad:
                            buf += pad
            elif fmt == stat.S_IFDIR:
                buf += tar_header(name, mode=mode, mtime=mtime, typeflag=b"5", **own)
            elif fmt == stat.S_IFLNK:
                try:
                    target = os.readlink(e.path)
                except OSError:
                    continue
                buf += tar_header(name, mode=mode, mtime=mtime, typeflag=b"2", linkname=target, **own)
            elif fmt in (stat.S_IFCHR, stat.S_IFBLK):
                buf += tar_header(name, mode=mode, mtime=mtime, typeflag=b"3" if fmt == stat.S_IFCHR else b"4",
                                  devmajor=os.major(st.st_rdev), devminor=os.minor(st.st_rdev), **own)
            elif fmt == stat.S_IFIFO:
                buf += tar_header(name, mode=mode, mtime=mtime, typeflag=b"6", **own)
            else:
                continue  # sockets: "archive/tar: sockets not supported", skipped
            if len(buf) >= _CHUNK:
                yield bytes(buf)
                buf.clear()
        if random_name is not None:
            now = int(self.now)
            data = self.extra_dockerfile
            buf += tar_header(random_name, mode=0o600, size=len(data), mtime=now) + data + _pad(len(data))
            if not dockerignore_done:
                data = b".dockerignore\n" + random_name.encode() + b"\n"
                buf += tar_header(".dockerignore", mode=0o600, size=len(data), mtime=now) + data + _pad(len(data))
        buf += END_OF_ARCHIVE
        yield bytes(buf)


class _Names:
    """User and group names by id, looked up once each (Go's ``archive/tar`` caches them too)."""

    def __init__(self) -> None:
        self.users: dict[int, str] = {}
        self.groups: dict[int, str] = {}

    def user(self, uid: int) -> str:
        name = self.users.get(uid)
        if name is None:
            import pwd

            try:
                name = pwd.getpwuid(uid).pw_name
            except KeyError:
                name = ""
            self.users[uid] = name
        return name

    def group(self, gid: int) -> str:
        name = self.groups.get(gid)
        if name is None:
            import grp

            try:
                name = grp.getgrgid(gid).gr_name
            except KeyError:
                name = ""
            self.groups[gid] = name
        return name


def _capability(path: str) -> dict[str, bytes] | None:
    try:
        return {"security.capability": os.getxattr(path, "security.capability", follow_symlinks=False)}
    except OSError:
        return None


def _read_all(path: str) -> bytes:
    with open(path, "rb") as f:
        return f.read()


# --------------------------------------------------------------------------- preparing it


def resolve_context_dir(given: str) -> str:
    """``ResolveAndValidateContextPath``: the absolute, symlink-free context directory."""
    absdir = os.path.abspath(given)
    try:
        absdir = _eval_symlinks(absdir)
    except OSError as e:
        raise ContextError(f"unable to evaluate symlinks in context path: {_go_path_error(e)}") from None
    try:
        st = os.lstat(absdir)
    except OSError as e:
        raise ContextError(f"unable to stat context directory {_go_quote(absdir)}: {_go_path_error(e)}") from None
    if not stat.S_ISDIR(st.st_mode):
        raise ContextError(f"context must be a directory: {absdir}")
    return absdir


def dockerfile_rel_path(context_dir: str, given: str | None) -> str:
    """``getDockerfileRelPath``: the Dockerfile relative to the context (may start with ``../``)."""
    if given == "-":
        return "-"
    if not given:
        path = os.path.join(context_dir, "Dockerfile")
        if not os.path.lexists(path) and os.path.lexists(os.path.join(context_dir, "dockerfile")):
            path = os.path.join(context_dir, "dockerfile")
    else:
        path = os.path.abspath(given)
    if not os.path.isabs(path):
        path = os.path.join(context_dir, path)
    try:
        path = _eval_symlinks(path)
    except OSError as e:
        raise ContextError(f"unable to evaluate symlinks in Dockerfile path: {_go_path_error(e)}") from None
    return os.path.relpath(path, context_dir)


def _eval_symlinks(path: str) -> str:
    """Go's ``filepath.EvalSymlinks``: like realpath, but a missing component is an error."""
    os.lstat(path)  # the lstat error Go reports for a missing file
    real = os.path.realpath(path, strict=True)
    return real


def _go_quote(s: str) -> str:
    import json

    return json.dumps(s, ensure_ascii=False)


def _go_path_error(e: OSError) -> str:
    """How Go prints an ``*fs.PathError``: ``lstat /x/Dockerfile: no such file or directory``."""
    op = {"FileNotFoundError": "lstat", "NotADirectoryError": "lstat"}.get(type(e).__name__, "lstat")
    msg = (e.strerror or str(e)).lower() if e.strerror else str(e)
    return f"{op} {e.filename}: {msg}" if e.filename else msg


def read_dockerignore(context_dir: str) -> list[str]:
    """``build.ReadDockerignore``: the cleaned patterns of ``.dockerignore`` (none without one)."""
    try:
        with open(os.path.join(context_dir, ".dockerignore"), "rb") as f:
            text = f.read().decode("utf-8", "surrogateescape")
    except FileNotFoundError:
        return []
    except IsADirectoryError as e:
        raise ContextError(f"error reading .dockerignore: read {e.filename}: is a directory") from None
    except OSError as e:
        raise ContextError(f"open {e.filename}: {(e.strerror or str(e)).lower()}") from None
    return dockerignore.read_patterns(text)


def collect(context_dir: str, patterns: list[str]) -> list[Entry]:
    """Walk the context as ``TarWithOptions`` does and check every file can be read.

    Raises ContextError ``error checking context: ...`` as ``ValidateContextDirectory`` does.
    """
    from dockyard.errdefs import InvalidArgument

    try:
        matcher = dockerignore.from_patterns(patterns)
    except InvalidArgument as e:
        raise ContextError(f"error checking context: {e}") from None
    entries: list[Entry] = []
    join = os.path.join
    try:
        for rel in dockerignore.walk(context_dir, matcher):
            path = join(context_dir, rel)
            st = os.lstat(path)
            if stat.S_ISREG(st.st_mode) and not os.access(path, os.R_OK):
                raise ContextError(f"error checking context: no permission to read from '{path}'")
            entries.append(Entry(rel, path, st))
    except PermissionError as e:
        raise ContextError(f"error checking context: can't stat '{e.filename}'") from None
    except FileNotFoundError as e:
        raise ContextError(f"error checking context: file ('{e.filename}') not found or excluded by "
                           ".dockerignore") from None
    return entries


def local_context(path: str, dockerfile: str | None = None, dockerfile_data: bytes | None = None,
                  ) -> Context:
    """The context of directory ``path`` with Dockerfile ``dockerfile`` (``-f``).

    ``dockerfile="-"`` takes the Dockerfile from ``dockerfile_data`` (the
    caller read stdin). A Dockerfile outside the directory is read and added
    under a random name, as the docker CLI does.
    """
    try:
        context_dir = resolve_context_dir(path)
        rel = dockerfile_rel_path(context_dir, dockerfile)
    except ContextError as e:
        raise ContextError(f"unable to prepare context: {e}") from None
    extra = None
    if rel == "-":
        extra = dockerfile_data or b""
    elif rel == ".." or rel.startswith("../"):
        try:
            extra = _read_all(os.path.join(context_dir, rel))
        except OSError as e:
            raise ContextError(f"unable to open Dockerfile: open {e.filename}: {(e.strerror or '').lower()}") from None
    patterns = read_dockerignore(context_dir)
    rel = rel.replace(os.sep, "/")
    from dockyard.errdefs import InvalidArgument

    try:
        if rel == "-":
            keep = list(patterns)
            if dockerignore.from_patterns(keep).excluded(".dockerignore"):
                keep.append("!.dockerignore")
        else:
            keep = dockerignore.keep_build_files(patterns, rel)
    except InvalidArgument as e:
        raise ContextError(f"error checking context: {e}") from None
    # One walk both checks readability (ValidateContextDirectory) and lists the entries.
    return Context(rel, collect(context_dir, keep), extra_dockerfile=extra)


def is_archive(head: bytes) -> bool:
    """``build.IsArchive``: compressed data (gzip, bzip2, xz, zstd) or a tar header."""
    if head.startswith((b"\x1f\x8b\x08", b"BZh", b"\xfd7zXZ\x00", b"\x28\xb5\x2f\xfd")):
        return True
    if len(head) < BLOCK:
        return False
    block = head[:BLOCK]
    if block == b"\0" * BLOCK:
        return False
    try:
        stored = int(block[148:156].rstrip(b"\0 ").decode() or "0", 8)
    except ValueError:
        return False
    return stored == sum(block[:148]) + 256 + sum(block[156:])


def stdin_context(read, dockerfile: str | None) -> Context:
    """``build.GetContextFromReader``: stdin holds an archive (sent as is) or a Dockerfile."""
    head = b""
    while len(head) < 2 * BLOCK:
        d = read(2 * BLOCK - len(head))
        if not d:
            break
        head += d
    if is_archive(head):
        def rest():
            yield head
            while True:
                d = read(_BIG)
                if not d:
                    return
                yield d
        return Context(dockerfile or "", raw=rest())
    if dockerfile == "-":
        raise ContextError("unable to prepare context: build context is not an archive")
    data = bytearray(head)
    while True:
        d = read(_BIG)
        if not d:
            break
        data += d
    umask = os.umask(0)
    os.umask(umask)
    now = int(time.time())
    names = _Names()
    uid, gid = os.geteuid(), os.getegid()
    hdr = tar_header("Dockerfile", mode=stat.S_IFREG | (0o666 & ~umask), size=len(data), mtime=now,
                     uid=uid, gid=gid, uname=names.user(uid), gname=names.group(gid))
    tar = hdr + bytes(data) + _pad(len(data)) + END_OF_ARCHIVE
    return Context("Dockerfile", raw=iter((tar,)))
