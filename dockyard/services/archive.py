"""``docker cp``, daemon side: stat a path in a container, a tar of it, a tar extracted into it.

The Engine API's ``HEAD|GET|PUT /containers/{id}/archive`` with dockerd's
answers (observed: dockerd 20.10), and one rule above all: **the container's
root is the root of every path resolution**.  Nothing here joins strings onto
a host path: a container's filesystem is an open directory fd, every path in
it is opened with ``openat2(RESOLVE_IN_ROOT)`` from that fd
(:mod:`dockyard.util.safepath`), and trees are walked one ``O_NOFOLLOW``
component at a time.  So ``/etc -> /host-etc``, ``../../..`` or a directory
swapped for a symlink to ``/`` while a copy runs (the CVE-2018-15664 race)
lead somewhere inside the container, never onto the host.

Which filesystem:

* a running container: ``/proc/<pid>/root``, i.e. its own mount namespace
  with its volumes, binds and tmpfs.  The fd is checked to be the
  container's overlay root (same inode as its host-side mount), so a reused
  pid cannot hand us someone else's root.  The kernel filesystems runc
  mounts (``/proc``, ``/sys``, ``/dev``) are not what dockerd shows: under
  those mount points the host-side rootfs mount (the "shadow") is used, as
  dockerd does (it copies from the rootfs mounted on the host).
* a stopped one: its filesystem mounted on the host (``mounted_root``).

Path semantics follow dockerd's ``ResolvePath``/``StatPath``
(``FollowSymlinkInScope``): the directory part is resolved in the
container's scope, the last element is not (a symlink is reported, with its
fully resolved target, and archived as a link); ``P/`` and ``P/.`` require a
directory; a relative path is taken from ``/``.

The tar written by :meth:`ArchiveService.archive` is the one dockerd writes, byte
for byte (:mod:`dockyard.services.archive_tar`).

Extraction (:meth:`ArchiveService.extract`) goes through
:func:`dockyard.image.archive.apply_layer` into the target directory's fd,
with dockerd's ``Unpack`` checks made on each header as it streams by
(:class:`~dockyard.services.archive_tar.TarGuard`): names leaving the target, relative symlinks or hard
links pointing out of it, and (``noOverwriteDirNonDir``) a directory
replaced by a non-directory or the reverse are refused with dockerd's words.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import errno
import json
import os
import stat
import time
from dataclasses import dataclass
from typing import AsyncIterator, BinaryIO

from dockyard import errdefs
from dockyard.image import archive as layer_archive
from dockyard.runtime.users import resolve_user
from dockyard.services import container_security as csec
from dockyard.services.containers import Container, ContainerService
from dockyard.services.events import EventBus, label_attributes
from dockyard.services.archive_tar import Checker, TarGuard, TreeTar, chown_all
from dockyard.util import aiopipe, safepath
from dockyard.util.gopath import base as go_base, clean as go_clean, dir as go_dir, join as go_join, split as go_split

__all__ = ["ArchiveService", "PathStat", "go_mode", "go_time", "abs_path", "encode_stat"]

# Go's os.FileMode bits (the "mode" of X-Docker-Container-Path-Stat).
MODE_DIR = 1 << 31
MODE_SYMLINK = 1 << 27
MODE_DEVICE = 1 << 26
MODE_NAMED_PIPE = 1 << 25
MODE_SOCKET = 1 << 24
MODE_SETUID = 1 << 23
MODE_SETGID = 1 << 22
MODE_CHAR_DEVICE = 1 << 21
MODE_STICKY = 1 << 20

# Kernel filesystems of a running container that dockerd never shows (it reads the rootfs).
_PSEUDO_FS = {"proc", "sysfs", "devpts", "mqueue", "cgroup", "cgroup2", "securityfs", "debugfs",
              "tracefs", "bpf", "fusectl", "configfs", "pstore", "binfmt_misc"}


# --------------------------------------------------------------------------
# Go's path and time semantics


def abs_path(path: str) -> str:
    """The absolute container path dockerd makes of an API ``path``: cleaned from ``/``, with a
    trailing ``/`` or ``/.`` kept, as they ask for a directory (``PreserveTrailingDotOrSeparator``)."""
    cleaned = go_join("/", path)
    if go_base(path) == ".":
        if not cleaned.endswith("/"):
            cleaned += "/"
        cleaned += "."
    if not cleaned.endswith("/") and path.endswith("/"):
        cleaned += "/"
    return cleaned


def go_mode(st_mode: int) -> int:
    """``os.FileMode`` as Go's ``os.Lstat`` makes it from ``st_mode``."""
    mode = st_mode & 0o777
    fmt = stat.S_IFMT(st_mode)
    if fmt == stat.S_IFBLK:
        mode |= MODE_DEVICE
    elif fmt == stat.S_IFCHR:
        mode |= MODE_DEVICE | MODE_CHAR_DEVICE
    elif fmt == stat.S_IFDIR:
        mode |= MODE_DIR
    elif fmt == stat.S_IFIFO:
        mode |= MODE_NAMED_PIPE
    elif fmt == stat.S_IFLNK:
        mode |= MODE_SYMLINK
    elif fmt == stat.S_IFSOCK:
        mode |= MODE_SOCKET
    if st_mode & stat.S_ISGID:
        mode |= MODE_SETGID
    if st_mode & stat.S_ISUID:
        mode |= MODE_SETUID
    if st_mode & stat.S_ISVTX:
        mode |= MODE_STICKY
    return mode


def go_time(ns: int) -> str:
    """A ``time.Time`` as Go's JSON encoder writes it (RFC 3339, nanoseconds without trailing
    zeros, the daemon's local zone as ``os.Stat`` gives it)."""
    secs, frac = divmod(ns, 1_000_000_000)
    lt = time.localtime(secs)
    text = time.strftime("%Y-%m-%dT%H:%M:%S", lt)
    if frac:
        text += f".{frac:09d}".rstrip("0")
    off = lt.tm_gmtoff or 0
    if off == 0:
        return text + "Z"
    sign = "+" if off > 0 else "-"
    off = abs(off)
    return f"{text}{sign}{off // 3600:02d}:{off % 3600 // 60:02d}"


def _go_json(value) -> str:
    text = json.dumps(value, separators=(",", ":"), ensure_ascii=False)
    for ch, esc in (("<", "\\u003c"), (">", "\\u003e"), ("&", "\\u0026"), ("\u2028", "\\u2028"),
                    ("\u2029", "\\u2029")):
        text = text.replace(ch, esc)
    return text


@dataclass(frozen=True)
class PathStat:
    """dockerd's ``ContainerPathStat``; ``mode`` in Go's ``os.FileMode`` bits."""

    name: str
    size: int
    mode: int
    mtime_ns: int
    link_target: str = ""

    def to_json(self) -> dict:
        return {"name": self.name, "size": self.size, "mode": self.mode, "mtime": go_time(self.mtime_ns),
                "linkTarget": self.link_target}

    @property
    def is_dir(self) -> bool:
        return bool(self.mode & MODE_DIR)


def encode_stat(st: PathStat) -> str:
    """The ``X-Docker-Container-Path-Stat`` header value: base64 of Go's JSON."""
    return base64.b64encode(_go_json(st.to_json()).encode()).decode()


# --------------------------------------------------------------------------
# a container's filesystem, opened


class _Root:
    """A container's filesystem: ``fd`` is its ``/``.

    ``shadow`` (running containers) is the host-side rootfs mount, used for
    paths at or under ``pruned`` (kernel filesystem mount points).
    """

    def __init__(self, fd: int, shadow: int = -1, pruned: frozenset[str] = frozenset()) -> None:
        self.fd = fd
        self.shadow = shadow
        self.pruned = pruned

    def close(self) -> None:
        os.close(self.fd)
        if self.shadow >= 0:
            os.close(self.shadow)

    def dup(self) -> "_Root":
        """The same root on fds of its own (for a thread that may outlive the caller's)."""
        return _Root(os.dup(self.fd), os.dup(self.shadow) if self.shadow >= 0 else -1, self.pruned)

    def in_pruned(self, path: str) -> bool:
        return any(path == p or path.startswith(p + "/") for p in self.pruned)

    def fd_for(self, path: str) -> int:
        """The root to resolve the clean absolute ``path`` from."""
        if self.shadow >= 0 and self.pruned and self.in_pruned(path):
            return self.shadow
        return self.fd

    def open(self, path: str, flags: int) -> int:
        return safepath.open_in_root(self.fd_for(path), path, flags | os.O_CLOEXEC)

    def lstat(self, path: str) -> os.stat_result:
        """lstat of the clean absolute ``path``, its parents resolved inside the root."""
        if path == "/":
            return os.fstat(self.fd)
        parent, base = go_dir(path), go_base(path)
        pfd = safepath.open_in_root(self.fd_for(path), parent, os.O_PATH | os.O_DIRECTORY)
        try:
            return os.stat(base, dir_fd=pfd, follow_symlinks=False)
        finally:
            os.close(pfd)

    def readlink(self, path: str) -> str:
        parent, base = go_dir(path), go_base(path)
        pfd = safepath.open_in_root(self.fd_for(path), parent, os.O_PATH | os.O_DIRECTORY)
        try:
            return os.readlink(base, dir_fd=pfd)
        finally:
            os.close(pfd)


def _pseudo_mounts(pid: int) -> frozenset[str]:
    """Mount points of kernel filesystems (and ``/dev``) in the mount namespace of ``pid``."""
    found: set[str] = set()
    try:
        with open(f"/proc/{pid}/mountinfo", "rb") as f:
            lines = f.read().decode("utf-8", "surrogateescape").splitlines()
    except OSError:
        return frozenset()
    for line in lines:
        left, sep, right = line.partition(" - ")
        fields = left.split()
        if not sep or len(fields) < 5 or not right:
            continue
        point = _unescape_mountinfo(fields[4])
        fstype = right.split()[0]
        if fstype in _PSEUDO_FS or point == "/dev":
            found.add(point)
    # keep the outermost ones
    return frozenset(p for p in found if not any(p != q and p.startswith(q.rstrip("/") + "/") for q in found))


def _unescape_mountinfo(s: str) -> str:
    if "\\" not in s:
        return s
    out, i = [], 0
    while i < len(s):
        if s[i] == "\\" and i + 3 < len(s) and s[i + 1:i + 4].isdigit():
            out.append(chr(int(s[i + 1:i + 4], 8)))
            i += 4
        else:
            out.append(s[i])
            i += 1
    return "".join(out)


def follow_in_scope(root: _Root, path: str) -> str:
    """dockerd's ``FollowSymlinkInScope``: ``path`` with every symlink evaluated inside the
    container (missing components are kept as they are); a clean absolute path."""
    rest = go_clean("/" + path)
    done = ""  # what is resolved so far, relative to the root, each component followed by "/"
    n = 0
    while rest:
        n += 1
        if n > 256:
            raise errdefs.System(f"evalSymlinksInScope: too many links in {path}")
        part, _, rest = rest.partition("/")
        if not part:
            continue
        clean = go_clean("/" + done + part)
        if clean == "/":
            done = ""
            continue
        try:
            st = root.lstat(clean)
        except FileNotFoundError:
            done += part + "/"
            continue
        if not stat.S_ISLNK(st.st_mode):
            done += part + "/"
            continue
        dest = root.readlink(clean)
        if dest.startswith("/"):
            done = ""
        rest = dest + "/" + rest
    return go_clean("/" + done)


# --------------------------------------------------------------------------
# the service


def _not_found(path: str, ref: str) -> errdefs.NotFound:
    return errdefs.NotFound(f"Could not find the file {path} in container {ref}")


def _check_path(path: str) -> None:
    if not path:
        raise errdefs.InvalidArgument("bad parameter: pathcannot be empty")


class ArchiveService:
    """The archive endpoints over :class:`ContainerService` (see the module docstring)."""

    def __init__(self, *, containers: ContainerService, events: EventBus) -> None:
        self.containers = containers
        self.events = events

    # -- the container's filesystem -----------------------------------------
    def _open_running(self, c: Container) -> _Root | None:
        """``/proc/<pid>/root`` of a running container, checked to be its overlay root; None when
        the container is not running (any more)."""
        pid = c.state.pid
        if not c.state.running or pid <= 0:
            return None
        try:
            shadow = os.open(c.rootfs, os.O_PATH | os.O_DIRECTORY | os.O_CLOEXEC)
        except OSError:
            return None
        try:
            fd = os.open(f"/proc/{pid}/root", os.O_PATH | os.O_DIRECTORY | os.O_CLOEXEC)
        except OSError:
            os.close(shadow)
            return None
        a, b = os.fstat(fd), os.fstat(shadow)
        if (a.st_dev, a.st_ino) != (b.st_dev, b.st_ino) or not c.state.running or c.state.pid != pid:
            os.close(fd)
            os.close(shadow)
            if c.state.running and c.state.pid == pid:
                raise errdefs.System(f"cannot reach the filesystem of container {c.id}")
            return None
        return _Root(fd, shadow, _pseudo_mounts(pid))

    @contextlib.asynccontextmanager
    async def _root(self, c: Container) -> AsyncIterator[_Root]:
        """The container's filesystem: its own root while it runs, else mounted on the host."""
        for _ in range(3):
            async with contextlib.AsyncExitStack() as stack:
                root = self._open_running(c)
                if root is None:
                    try:
                        path = await stack.enter_async_context(self.containers.mounted_root(c.id))
                    except errdefs.Conflict:
                        if not c.state.running:
                            raise
                        continue  # it started meanwhile: its own root, then
                    root = _Root(os.open(path, os.O_PATH | os.O_DIRECTORY | os.O_CLOEXEC))
                stack.callback(root.close)
                yield root
                return
        raise errdefs.Conflict(f"container {c.id} keeps changing state")

    async def _run(self, fn, *args):
        return await asyncio.get_running_loop().run_in_executor(None, fn, *args)

    # -- stat -----------------------------------------------------------------
    def _stat(self, root: _Root, c: Container, ref: str, path: str) -> tuple[PathStat, str]:
        """The stat of ``path`` and the clean container path to archive for it."""
        apath = abs_path(path)
        dpart, base = go_split(apath)
        try:
            rdir = follow_in_scope(root, dpart)
            resolved = go_clean(rdir + "/" + base)
            st = root.lstat(resolved)
            if base in ("", ".") and not stat.S_ISDIR(st.st_mode):
                raise NotADirectoryError(errno.ENOTDIR, os.strerror(errno.ENOTDIR))
            link = ""
            if stat.S_ISLNK(st.st_mode):
                link = follow_in_scope(root, apath)
        except FileNotFoundError:
            raise _not_found(path, ref) from None
        except OSError as e:
            raise errdefs.System(f"lstat {c.rootfs}{apath}: {(e.strerror or str(e)).lower()}") from None
        return PathStat(go_base(apath), st.st_size, go_mode(st.st_mode), st.st_mtime_ns, link), resolved

    async def stat(self, ref: str, path: str) -> PathStat:
        """``HEAD /containers/{id}/archive``."""
        _check_path(path)
        c = self.containers.get(ref)
        async with self._root(c) as root:
            st, _ = await self._run(self._stat, root, c, ref, path)
        return st

    # -- archive --------------------------------------------------------------
    @contextlib.asynccontextmanager
    async def archive(self, ref: str, path: str) -> AsyncIterator[tuple[PathStat, AsyncIterator[bytes]]]:
        """``GET /containers/{id}/archive``: the stat of ``path`` and the chunks of its tar.

        The container's filesystem stays open (a stopped one mounted and locked) until the
        context ends; iterate the chunks inside it.
        """
        _check_path(path)
        c = self.containers.get(ref)
        async with self._root(c) as root:
            st, target = await self._run(self._stat, root, c, ref, path)
            rebase = go_base(abs_path(path))
            prefix = "" if rebase == "/" else rebase
            self.events.publish("container", "archive-path", c.id, image=c.config.get("Image"), name=c.name,
                                **label_attributes(c.config.get("Labels")))
            mine = root.dup()  # the writer thread's own: it may still run after an early client exit
            id_map = csec.id_map_for(c, self.containers.userns)  # --userns-remap: owners as inside

            def produce(out: BinaryIO) -> None:
                try:
                    TreeTar(mine, out, id_map).write(target, prefix)
                finally:
                    mine.close()

            yield st, aiopipe.produce_in_thread(produce)

    # -- extract --------------------------------------------------------------
    def _writable(self, c: Container, path: str) -> None:
        """dockerd's read-only checks for extracting into the clean container path ``path``."""
        best = None
        for m in self.containers.mount_points(c):
            if not m.listed:
                continue  # --tmpfs: not one of dockerd's MountPoints
            d = m.destination
            if path == d or d == "/" or path.startswith(d + "/"):
                if best is None or len(d) > len(best.destination):
                    best = m
        if best is not None:
            if not best.rw:
                raise errdefs.System("mounted volume is marked read-only")
            return
        if c.host_config.get("ReadonlyRootfs"):
            raise errdefs.System("container rootfs is marked read-only")

    def _target(self, root: _Root, c: Container, ref: str, path: str) -> tuple[str, int]:
        """The directory to extract into: its clean container path and an fd of it."""
        apath = abs_path(path)
        try:
            resolved = follow_in_scope(root, apath)
            st = root.lstat(resolved)
        except FileNotFoundError:
            raise _not_found(path, ref) from None
        except OSError as e:
            raise errdefs.System(f"lstat {c.rootfs}{apath}: {(e.strerror or str(e)).lower()}") from None
        if not stat.S_ISDIR(st.st_mode):
            raise errdefs.System("extraction point is not a directory")
        self._writable(c, resolved)
        try:
            fd = root.open(resolved, os.O_RDONLY | os.O_DIRECTORY)
        except FileNotFoundError:
            raise _not_found(path, ref) from None
        except OSError as e:
            raise errdefs.System(f"open {apath}: {(e.strerror or str(e)).lower()}") from None
        return resolved, fd

    async def extract(self, ref: str, path: str, source: AsyncIterator[bytes], *,
                      no_overwrite_dir_non_dir: bool = False, copy_uid_gid: bool = False) -> None:
        """``PUT /containers/{id}/archive``: extract the tar read from ``source`` into the
        directory ``path`` of the container."""
        _check_path(path)
        c = self.containers.get(ref)
        async with self._root(c) as root:
            dest, dfd = await self._run(self._target, root, c, ref, path)
            try:
                owner = None
                if copy_uid_gid and c.config.get("User"):
                    user = await self._run(resolve_user, root.fd, c.config["User"])
                    owner = (user.uid, user.gid)
                # --userns-remap: the tar's owners are the container's; on disk they are host ids
                to_host = csec.id_map_to_host(c, self.containers.userns)
                if owner is not None and to_host is not None:
                    owner = to_host(*owner)
                tfd = os.dup(dfd)  # the extracting thread's own: it may outlive this call
                checker = Checker(dest, tfd, no_overwrite_dir_non_dir)

                def consume(f: BinaryIO) -> None:
                    try:
                        layer_archive.apply_layer(TarGuard(f, checker), f"/proc/self/fd/{tfd}", whiteouts=False)
                        if owner is not None:
                            chown_all(tfd, checker.names, *owner)
                        elif to_host is not None:
                            csec.shift_owners(tfd, checker.names, to_host)
                    except errdefs.DockyardError as e:
                        raise errdefs.System(f"Error processing tar file(exit status 1): {e}") from e
                    finally:
                        os.close(tfd)

                await aiopipe.consume_in_thread(source, consume)
            finally:
                os.close(dfd)
        self.events.publish("container", "extract-to-dir", c.id, image=c.config.get("Image"), name=c.name,
                            **label_attributes(c.config.get("Labels")))
