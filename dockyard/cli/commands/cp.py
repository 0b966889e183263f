"""``dockyard cp``: copy files between a container and the local filesystem, with docker's rules.

The rules are docker/cli's ``cp`` over moby's ``pkg/archive`` copy helpers
(``CopyInfoSourcePath``, ``CopyInfoDestinationPath``, ``PrepareArchiveCopy``,
``RebaseArchiveEntries``, ``Untar``):

* a file copied to an existing directory goes inside it, to a missing path
  takes that name; a directory copied to a missing path becomes it, to an
  existing directory goes inside it; ``SRC/.`` copies a directory's contents;
  a missing destination ending in ``/`` is "no such directory";
* the archive's entries are renamed (rebased) so the extracted top entry gets
  the destination's name; ``-L`` follows a symlink given as the source (and
  names the copy after the link), a symlink as the destination is followed;
* ``-`` as the destination streams the daemon's tar to stdout unchanged,
  ``-`` as the source sends the tar read from stdin (the destination must be
  a directory);
* copies out keep modes and times but not owners (``docker cp`` never
  chowns local files); ``-a`` asks the daemon to keep the tar's owners.

Local extraction never leaves the destination directory: every path is
resolved inside it (:mod:`dockyard.util.safepath`), so a tar that names
``../x`` or walks through one of its own symlinks cannot write elsewhere.
Success prints nothing (docker 20.10).
"""

from __future__ import annotations

import errno
import json
import os
import shutil
import stat
import sys
import tarfile
import threading
from dataclasses import dataclass

from dockyard.api.client import errors
from dockyard.cli.common import PROG, StatusError, daemon_error, parse_command
from dockyard.cli.flags import BOOL, Flag, Spec
from dockyard.util import safepath
from dockyard.util.gopath import base as go_base, clean as go_clean, dir as go_dir, join as go_join

CP = Spec(f"cp [OPTIONS] CONTAINER:SRC_PATH DEST_PATH|-\n\t{PROG} cp [OPTIONS] SRC_PATH|- CONTAINER:DEST_PATH",
          "Copy files/folders between a container and the local filesystem", [
              Flag("archive", "a", BOOL, help="Archive mode (copy all uid/gid information)"),
              Flag("follow-link", "L", BOOL, help="Always follow symbol link in SRC_PATH"),
          ], min_args=2, max_args=2, aliases=f"{PROG} container cp, {PROG} cp")

# Go's os.FileMode bits, as the daemon's path stat carries them
MODE_DIR = 1 << 31
MODE_SYMLINK = 1 << 27
MODE_DEVICE = 1 << 26
MODE_IRREGULAR = 1 << 19

CHUNK = 1 << 20


class CopyError(Exception):
    """A failure worded as docker words it."""


@dataclass
class CopyInfo:
    path: str
    exists: bool = False
    is_dir: bool = False
    rebase_name: str = ""


# --------------------------------------------------------------------------
# Path rules (in Go's path functions, util/gopath.py)


def _specifies_current_dir(path: str) -> bool:
    return go_base(path) == "."


def _asserts_directory(path: str) -> bool:
    return path.endswith("/") or _specifies_current_dir(path)


def preserve_trailing(cleaned: str, original: str) -> str:
    """``PreserveTrailingDotOrSeparator``."""
    if not _specifies_current_dir(cleaned) and _specifies_current_dir(original):
        if not cleaned.endswith("/"):
            cleaned += "/"
        cleaned += "."
    if not cleaned.endswith("/") and original.endswith("/"):
        cleaned += "/"
    return cleaned


def split_path_dir_entry(path: str) -> tuple[str, str]:
    """``SplitPathDirEntry``: (parent, last element), a trailing ``/.`` kept as the element."""
    cleaned = go_clean(path)
    if _specifies_current_dir(path):
        cleaned += "/."
    return go_dir(cleaned), go_base(cleaned)


def get_rebase_name(path: str, resolved: str) -> tuple[str, str]:
    """``GetRebaseName``: the resolved path with the trailing ``/.`` or ``/`` of ``path`` kept,
    and the name the archive's top entry must take back (when resolving changed it)."""
    if _specifies_current_dir(path) and not _specifies_current_dir(resolved):
        resolved += "/."
    if path.endswith("/") and not resolved.endswith("/"):
        resolved += "/"
    rebase = go_base(path) if go_base(path) != go_base(resolved) else ""
    return resolved, rebase


def split_cp_arg(arg: str) -> tuple[str, str]:
    """``CONTAINER:PATH`` or a local path (absolute, ``./x:y``, or without a colon)."""
    if arg.startswith("/"):
        return "", arg
    container, sep, path = arg.partition(":")
    if not sep or container.startswith("."):
        return "", arg
    return container, path


def _go_err(op: str, path: str, e: OSError) -> str:
    text = e.strerror or str(e)
    return f"{op} {path}: {text[:1].lower()}{text[1:]}"


def _q(s: str) -> str:
    return json.dumps(s, ensure_ascii=False)


def resolve_local_path(path: str) -> str:
    return preserve_trailing(go_clean(os.path.join(os.getcwd(), path)), path)


def validate_output_path(path: str) -> None:
    """docker's ``ValidateOutputPath``."""
    parent = go_dir(go_clean(path))
    if parent not in ("", "."):
        try:
            os.stat(parent)
        except FileNotFoundError:
            raise CopyError(f"invalid output path: directory {_q(parent)} does not exist") from None
        except OSError:
            pass
    try:
        st = os.stat(path)
    except FileNotFoundError:
        return
    except OSError as e:
        raise CopyError(_go_err("stat", path, e)) from None
    if stat.S_ISDIR(st.st_mode) or stat.S_ISREG(st.st_mode):
        return
    why = "got a device" if stat.S_ISCHR(st.st_mode) or stat.S_ISBLK(st.st_mode) else "got an irregular file"
    if stat.S_ISFIFO(st.st_mode) or stat.S_ISLNK(st.st_mode) or stat.S_ISSOCK(st.st_mode):
        return
    raise CopyError(f"invalid output path: {_q(path)} must be a directory or a regular file: {why}")


def _eval_symlinks(path: str) -> str:
    """Go's ``filepath.EvalSymlinks``: the path with every link resolved; it must exist (the error
    names the first component that does not)."""
    try:
        return os.path.realpath(path, strict=True)
    except OSError:
        parts = go_clean(path).split("/")
        for i in range(1, len(parts) + 1):
            probe = "/".join(parts[:i]) or "/"
            try:
                os.stat(probe)
            except OSError as e:
                raise CopyError(_go_err("lstat", probe, e)) from None
        raise


def copy_info_source_path(path: str, follow: bool) -> CopyInfo:
    """``CopyInfoSourcePath``."""
    if follow:
        resolved, rebase = get_rebase_name(path, _eval_symlinks(path))
    else:
        d, base = path[:path.rfind("/") + 1], path[path.rfind("/") + 1:]
        rdir = _eval_symlinks(d) if d else "."
        resolved = rdir + "/" + base
        rebase = go_base(path) if path.endswith("/") and go_base(path) != go_base(resolved) else ""
    try:
        st = os.lstat(resolved)
    except OSError as e:
        raise CopyError(_go_err("lstat", resolved, e)) from None
    return CopyInfo(resolved, True, stat.S_ISDIR(st.st_mode), rebase)


def copy_info_destination_path(path: str) -> CopyInfo:
    """``CopyInfoDestinationPath``: a local destination, a symlink at it followed."""
    original = path
    try:
        st = os.lstat(path)
    except OSError as e:
        st, err = None, e
    else:
        err = None
    if st is not None and not stat.S_ISLNK(st.st_mode):
        return CopyInfo(path, True, stat.S_ISDIR(st.st_mode))
    n = 0
    while st is not None and stat.S_ISLNK(st.st_mode):
        if n > 10:
            raise CopyError(f"too many symlinks in {original}")
        n += 1
        target = os.readlink(path)
        if not target.startswith("/"):
            target = go_join(split_path_dir_entry(path)[0], target)
        path = target
        try:
            st = os.lstat(path)
        except OSError as e:
            st, err = None, e
    if st is None:
        if not isinstance(err, FileNotFoundError):
            raise CopyError(_go_err("lstat", path, err))
        parent = split_path_dir_entry(path)[0]
        try:
            pst = os.stat(parent)
        except OSError as e:
            raise CopyError(_go_err("stat", parent, e)) from None
        if not stat.S_ISDIR(pst.st_mode):
            raise CopyError("not a directory")
        return CopyInfo(path)
    return CopyInfo(path, True, stat.S_ISDIR(st.st_mode))


def prepare_archive_copy(src: CopyInfo, dst: CopyInfo) -> tuple[str, tuple[str, str] | None]:
    """``PrepareArchiveCopy``: the directory to extract into, and the rename of the archive's top
    entry (old base, new base) that makes the copy land at the destination's name."""
    dst_dir, dst_base = split_path_dir_entry(dst.path)
    _, src_base = split_path_dir_entry(src.path)
    if dst.exists and dst.is_dir:
        return dst.path, None
    if dst.exists and src.is_dir:
        raise CopyError("cannot copy directory")
    if not dst.exists and not src.is_dir and _asserts_directory(dst.path):
        raise CopyError("no such directory")
    return dst_dir, (src.rebase_name or src_base, dst_base)


def rebase(name: str, rebases: list[tuple[str, str]]) -> str:
    """``RebaseArchiveEntries``, one rename after another: the first occurrence, as Go's
    ``strings.Replace(name, old, new, 1)``; an old base of ``/`` means the root (prefix "")."""
    for old, new in rebases:
        name = name.replace("" if old == "/" else old, new, 1)
    return name


# --------------------------------------------------------------------------
# local tar of a source (TarWithOptions as the docker CLI calls it)


def _capability(path: str) -> dict[str, str] | None:
    try:
        value = os.getxattr(path, "security.capability", follow_symlinks=False)
    except OSError:
        return None
    return {"SCHILY.xattr.security.capability": value.decode("utf-8", "surrogateescape")}


class _Counted:
    """A write-only file that knows its position (what tarfile's "w" mode asks of its file)."""

    def __init__(self, out) -> None:
        self._out = out
        self._pos = 0

    def write(self, data) -> int:
        self._out.write(data)
        self._pos += len(data)
        return len(data)

    def tell(self) -> int:
        return self._pos


def write_source_tar(src: CopyInfo, rebases: list[tuple[str, str]], out) -> None:
    """The tar of ``src`` with docker's entry names, written to the binary file ``out``."""
    source_dir, source_base = split_path_dir_entry(src.path)
    top_rebases = ([(source_base, src.rebase_name)] if src.rebase_name else []) + rebases
    # mode "w" on a position-counting writer: tarfile's stream mode ("w|") re-buffers every write
    tf = tarfile.TarFile(fileobj=_Counted(out), mode="w", format=tarfile.PAX_FORMAT, copybufsize=CHUNK)
    seen: dict[tuple[int, int], str] = {}
    walk_root = source_dir.rstrip("/") + "/" + source_base

    def add(path: str, rel: str) -> bool:
        """Write one entry; True for a directory (to be walked)."""
        try:
            st = os.lstat(path)
        except OSError:
            return False
        if stat.S_ISSOCK(st.st_mode):
            return False
        is_dir = stat.S_ISDIR(st.st_mode)
        name = rebase(rel + "/" if is_dir else rel, top_rebases)
        ti = tarfile.TarInfo(name)
        ti.mode = stat.S_IMODE(st.st_mode)
        ti.uid, ti.gid = st.st_uid, st.st_gid
        ti.mtime = st.st_mtime_ns // 1_000_000_000
        caps = _capability(path)
        if caps:
            ti.pax_headers = caps
        data = None
        if not is_dir and st.st_nlink > 1 and (st.st_dev, st.st_ino) in seen:
            ti.type, ti.linkname = tarfile.LNKTYPE, seen[(st.st_dev, st.st_ino)]
        elif is_dir:
            ti.type = tarfile.DIRTYPE
        elif stat.S_ISLNK(st.st_mode):
            ti.type, ti.linkname = tarfile.SYMTYPE, os.readlink(path)
        elif stat.S_ISREG(st.st_mode):
            try:
                data = open(path, "rb")
            except OSError:
                return False
            ti.type, ti.size = tarfile.REGTYPE, st.st_size
        elif stat.S_ISFIFO(st.st_mode):
            ti.type = tarfile.FIFOTYPE
        else:
            ti.type = tarfile.CHRTYPE if stat.S_ISCHR(st.st_mode) else tarfile.BLKTYPE
            ti.devmajor, ti.devminor = os.major(st.st_rdev), os.minor(st.st_rdev)
        if not is_dir and st.st_nlink > 1 and (st.st_dev, st.st_ino) not in seen:
            seen[(st.st_dev, st.st_ino)] = name
        try:
            tf.addfile(ti, data)
        finally:
            if data is not None:
                data.close()
        return is_dir

    def rel_of(path: str) -> str:
        rel = os.path.relpath(path, source_dir) if source_dir else path
        if source_base == "." and rel != ".":
            rel = "./" + rel
        return rel

    def children(d: str) -> list[str]:
        try:
            return [d.rstrip("/") + "/" + c for c in sorted(os.listdir(d), key=os.fsencode)]
        except OSError:
            return []

    # filepath.Walk: each entry, then (a directory) its subtree, in lexical order
    if add(walk_root, rel_of(go_clean(walk_root))):
        stack = [iter(children(go_clean(walk_root)))]
        while stack:
            p = next(stack[-1], None)
            if p is None:
                stack.pop()
            elif add(p, rel_of(p)):
                stack.append(iter(children(p)))
    tf.close()


# --------------------------------------------------------------------------
# local extraction (Untar with NoLchown and NoOverwriteDirNonDir, as CopyTo does)


class _Extractor:
    def __init__(self, dest: str) -> None:
        self.dest = go_clean(dest)
        os.makedirs(self.dest, 0o755, exist_ok=True)
        self.dfd = os.open(self.dest, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
        self.dirs: list[tuple[str, int, int]] = []
        # the last parent directory opened, kept: a tar lists a directory's entries together, and
        # opening it anew (a safe walk from the root) for each of 20,000 files was most of the CLI's time
        self._parent_cache: tuple[str, int] | None = None

    def close(self) -> None:
        self._drop_parent()
        os.close(self.dfd)

    def _drop_parent(self) -> None:
        if self._parent_cache is not None:
            os.close(self._parent_cache[1])
            self._parent_cache = None

    def _inside(self, path: str) -> bool:
        return self.dest == "/" or path == self.dest or path.startswith(self.dest + "/")

    def _rel(self, path: str) -> str:
        return "" if path == self.dest else path[len(self.dest):].lstrip("/")

    def _open_parent(self, rel: str, create: bool) -> int:
        """A new descriptor of ``rel``'s parent directory, resolved inside the destination."""
        parent = rel.rpartition("/")[0]
        if not parent:
            return os.dup(self.dfd)
        try:
            return safepath.open_dir_in_root(self.dfd, parent, os.O_PATH)
        except FileNotFoundError:
            if not create:
                raise
            return safepath.mkdir_all_in_root(self.dfd, parent, 0o755)

    def _parent_fd(self, rel: str, create: bool) -> int:
        """``rel``'s parent directory, from the cache or opened into it; the extractor owns the descriptor."""
        parent = rel.rpartition("/")[0]
        if not parent:
            return self.dfd
        if self._parent_cache is not None and self._parent_cache[0] == parent:
            return self._parent_cache[1]
        fd = self._open_parent(rel, create)
        self._drop_parent()
        self._parent_cache = (parent, fd)
        return fd

    def _lstat(self, rel: str) -> os.stat_result | None:
        if not rel:
            return os.fstat(self.dfd)
        try:
            pfd = self._parent_fd(rel, create=False)
        except OSError:
            return None
        try:
            return os.stat(rel.rpartition("/")[2], dir_fd=pfd, follow_symlinks=False)
        except OSError:
            return None

    def entry(self, tf: tarfile.TarFile, m: tarfile.TarInfo, name: str, link: str) -> None:
        clean = go_clean(name)
        path = go_join(self.dest, clean)
        if not self._inside(path):
            raise CopyError(f"{_q(clean)} is outside of {_q(self.dest)}")
        rel = self._rel(path)
        st = self._lstat(rel)
        if st is not None:
            is_dir = stat.S_ISDIR(st.st_mode)
            if is_dir and not m.isdir():
                raise CopyError(f"cannot overwrite directory {_q(path)} with non-directory {_q(self.dest)}")
            if not is_dir and m.isdir():
                raise CopyError(f"cannot overwrite non-directory {_q(path)} with directory {_q(self.dest)}")
            if is_dir and clean == ".":
                return
        if not rel:
            return  # the destination itself (a "/" entry): nothing to create
        pfd = self._parent_fd(rel, create=True)
        base = rel.rpartition("/")[2]
        if st is not None and not (stat.S_ISDIR(st.st_mode) and m.isdir()):
            if stat.S_ISDIR(st.st_mode):
                shutil.rmtree(base, dir_fd=pfd)
            else:
                os.unlink(base, dir_fd=pfd)
            cached = self._parent_cache[0] if self._parent_cache is not None else None
            if cached is not None and (cached == rel or cached.startswith(rel + "/")):
                self._drop_parent()  # a symlink the cached parent was reached through is replaced
        self._create(tf, m, pfd, base, path, link)

    def _create(self, tf: tarfile.TarFile, m: tarfile.TarInfo, pfd: int, base: str, path: str,
                link: str) -> None:
        mode = m.mode & 0o7777
        mtime_ns = int(m.mtime) * 1_000_000_000
        if m.isdir():
            try:
                os.mkdir(base, mode, dir_fd=pfd)
            except FileExistsError:
                pass
            self.dirs.append((self._rel(path), mtime_ns, mode))
        elif m.isreg():
            fd = os.open(base, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC, mode,
                         dir_fd=pfd)
            try:
                src = tf.extractfile(m)
                while True:
                    chunk = src.read(CHUNK)
                    if not chunk:
                        break
                    mv = memoryview(chunk)
                    while mv:
                        mv = mv[os.write(fd, mv):]
                os.fchmod(fd, mode)  # after the data: a write would clear set-id bits
                os.utime(fd, ns=(mtime_ns, mtime_ns))
            finally:
                os.close(fd)
        elif m.issym():
            target = go_join(go_dir(path), m.linkname)
            if not target.startswith(self.dest):
                raise CopyError(f"invalid symlink {_q(path)} -> {_q(m.linkname)}")
            os.symlink(m.linkname, base, dir_fd=pfd)
        elif m.islnk():
            target = go_join(self.dest, link)
            if not target.startswith(self.dest):
                raise CopyError(f"invalid hardlink {_q(target)} -> {_q(link)}")
            trel = self._rel(target)
            tpfd = self._open_parent(trel, create=False)
            try:
                os.link(trel.rpartition("/")[2], base, src_dir_fd=tpfd, dst_dir_fd=pfd, follow_symlinks=False)
            finally:
                os.close(tpfd)
        elif m.isfifo():
            os.mkfifo(base, mode, dir_fd=pfd)
        elif m.ischr() or m.isblk():
            kind = stat.S_IFCHR if m.ischr() else stat.S_IFBLK
            os.mknod(base, kind | mode, os.makedev(m.devmajor, m.devminor), dir_fd=pfd)
        else:
            raise CopyError(f"unhandled tar header type {ord(m.type) if m.type else 0}")
        proc = f"/proc/self/fd/{pfd}/{base}"
        for key, value in (m.pax_headers or {}).items():
            if key.startswith("SCHILY.xattr."):
                try:
                    os.setxattr(proc, key[13:], value.encode("utf-8", "surrogateescape"), follow_symlinks=False)
                except OSError as e:
                    if e.errno not in (errno.ENOTSUP, errno.EPERM):
                        raise
        if m.issym():
            os.utime(base, ns=(mtime_ns, mtime_ns), dir_fd=pfd, follow_symlinks=False)
            return
        if m.isreg():
            return  # its mode and times were set on its descriptor
        if not m.isdir():
            lst = os.stat(base, dir_fd=pfd, follow_symlinks=False)
            if not stat.S_ISLNK(lst.st_mode):  # a hard link may name a symlink
                os.chmod(base, mode, dir_fd=pfd)
                os.utime(base, ns=(mtime_ns, mtime_ns), dir_fd=pfd, follow_symlinks=False)
        else:
            os.chmod(base, mode, dir_fd=pfd)

    def finish(self) -> None:
        for rel, mtime_ns, _ in self.dirs:
            try:
                fd = safepath.open_dir_in_root(self.dfd, rel, os.O_RDONLY) if rel else os.dup(self.dfd)
            except OSError:
                continue
            try:
                os.utime(fd, ns=(mtime_ns, mtime_ns))
            finally:
                os.close(fd)


def untar(stream, dest: str, rebases: list[tuple[str, str]]) -> None:
    """Extract the tar read from ``stream`` into ``dest`` (docker's ``CopyTo``)."""
    ex = _Extractor(dest)
    try:
        try:
            tf = tarfile.open(fileobj=stream, mode="r|", bufsize=CHUNK)
        except tarfile.ReadError as e:
            if "empty file" in str(e):
                return
            raise CopyError(f"archive/tar: {e}") from None
        with tf:
            for m in tf:
                name = rebase(m.name + "/" if m.isdir() else m.name, rebases)
                link = rebase(m.linkname, rebases) if m.islnk() else m.linkname
                ex.entry(tf, m, name, link)
        ex.finish()
    except OSError as e:
        raise CopyError(_go_err("open", dest, e) if not e.filename else
                        _go_err("open", str(e.filename), e)) from None
    finally:
        ex.close()


# --------------------------------------------------------------------------
# the command


def cmd_cp(cli, prog, argv):
    opts, args = parse_command(CP, prog, argv)
    src, dst = args
    if not src:
        raise StatusError(1, "source can not be empty")
    if not dst:
        raise StatusError(1, "destination can not be empty")
    src_ctr, src_path = split_cp_arg(src)
    dst_ctr, dst_path = split_cp_arg(dst)
    if src_ctr and dst_ctr:
        raise StatusError(1, "copying between containers is not supported")
    if not src_ctr and not dst_ctr:
        raise StatusError(1, "must specify at least one container source")
    try:
        if src_ctr:
            _from_container(cli, src_ctr, src_path, dst_path, opts.follow_link)
        else:
            _to_container(cli, dst_ctr, dst_path, src_path, opts.follow_link, opts.archive)
    except CopyError as e:
        raise StatusError(1, str(e)) from None
    except errors.APIError as e:
        raise StatusError(1, daemon_error(e)) from None
    return 0


def _not_found(ctr: str, path: str) -> CopyError:
    """The docker 20.10 client's words for a 404 of the archive endpoints."""
    return CopyError(f"Error: No such container:path: {ctr}:{path}")


def _from_container(cli, ctr: str, src_path: str, dst_path: str, follow: bool) -> None:
    api = cli.api.containers
    if dst_path != "-":
        dst_path = resolve_local_path(dst_path)
    validate_output_path(dst_path)
    rebase_name = ""
    if follow:
        try:
            st = api.stat_path(ctr, src_path)
        except errors.DockerException:
            st = {}
        if st.get("mode", 0) & MODE_SYMLINK:
            target = st.get("linkTarget", "")
            if not target.startswith("/"):
                target = go_join(split_path_dir_entry(src_path)[0], target)
            src_path, rebase_name = get_rebase_name(src_path, target)
    try:
        r, st = api.get_archive(ctr, src_path)
    except errors.NotFound:
        raise _not_found(ctr, src_path) from None
    if dst_path == "-":
        sys.stdout.flush()
        while True:
            chunk = r.read1(CHUNK)
            if not chunk:
                return
            mv = memoryview(chunk)
            while mv:
                mv = mv[os.write(1, mv):]
    src = CopyInfo(src_path, True, bool(st.get("mode", 0) & MODE_DIR), rebase_name)
    rebases = [(split_path_dir_entry(src_path)[1], rebase_name)] if rebase_name else []
    dst = copy_info_destination_path(dst_path)
    dst_dir, top = prepare_archive_copy(src, dst)
    if top is not None:
        rebases.append(top)
    untar(r, dst_dir, rebases)


def _put(api, ctr: str, path: str, data, archive: bool) -> None:
    try:
        api.put_archive(ctr, path, data, copy_uid_gid=archive)
    except errors.NotFound:
        raise _not_found(ctr, path) from None


def _to_container(cli, ctr: str, dst_path: str, src_path: str, follow: bool, archive: bool) -> None:
    api = cli.api.containers
    if src_path != "-":
        src_path = resolve_local_path(src_path)
    dst = CopyInfo(dst_path)
    try:
        st, ok = api.stat_path(ctr, dst_path), True
    except errors.DockerException:
        st, ok = {}, False
    if ok and st.get("mode", 0) & MODE_SYMLINK:
        target = st.get("linkTarget", "")
        if not target.startswith("/"):
            target = go_join(split_path_dir_entry(dst_path)[0], target)
        dst.path = target
        try:
            st, ok = api.stat_path(ctr, target), True
        except errors.DockerException:
            st, ok = {}, False
    mode = st.get("mode", 0)
    if mode & MODE_DEVICE or mode & MODE_IRREGULAR:
        why = "got a device" if mode & MODE_DEVICE else "got an irregular file"
        raise CopyError(f'destination "{ctr}:{dst_path}" must be a directory or a regular file: {why}')
    if ok:
        dst.exists, dst.is_dir = True, bool(mode & MODE_DIR)
    if src_path == "-":
        if not dst.is_dir:
            raise CopyError(f'destination "{ctr}:{dst_path}" must be a directory')
        _put(api, ctr, dst.path, sys.stdin.buffer, archive)
        return
    src = copy_info_source_path(src_path, follow)
    dst_dir, top = prepare_archive_copy(src, dst)
    r, w = os.pipe2(os.O_CLOEXEC)
    try:
        import fcntl

        fcntl.fcntl(w, 1031, CHUNK)  # F_SETPIPE_SZ: fewer, larger hand-overs
    except OSError:
        pass
    failure: list[BaseException] = []

    def chunks():
        while True:
            data = os.read(r, CHUNK)
            if not data:
                return
            yield data

    def produce() -> None:
        try:
            with os.fdopen(w, "wb", buffering=CHUNK) as out:
                write_source_tar(src, [top] if top else [], out)
        except BrokenPipeError:
            pass
        except BaseException as e:  # reported after the upload
            failure.append(e)

    t = threading.Thread(target=produce, daemon=True, name="cp-tar")
    t.start()
    try:
        _put(api, ctr, dst_dir, chunks(), archive)
    finally:
        os.close(r)
        t.join()
    if failure:
        e = failure[0]
        raise CopyError(str(e)) from e
