"""Open paths inside a root directory as if the process were chrooted there.

Anything that writes into a container's filesystem from the host (layer
extraction, ``docker cp``, volume copy-up) must never be led outside the
root by a symlink or a ``..``: ``etc -> /etc`` inside a container means the
container's ``/etc``, not the host's.  These helpers resolve every path
component relative to ``root``:

* ``openat2(2)`` with ``RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS`` where the
  kernel has it (Linux 5.6+): absolute symlinks and ``..`` are clamped to the
  root by the kernel, race-free.
* otherwise (``ENOSYS``) a userspace walk: one component at a time from a
  directory fd with ``O_NOFOLLOW``, reading symlinks ourselves and restarting
  absolute ones at the root, with the kernel's limit of 40 links.

Both give the same answers; the walk is not safe against a concurrent
attacker renaming directories *inside* the root while we walk (``..`` after a
rename), which the kernel path is.

All functions take ``root`` as an open directory fd or a path, return plain
fds the caller closes, and raise ``OSError`` like ``open(2)`` would.
"""

from __future__ import annotations

import ctypes
import errno
import os
import stat
from collections import deque

__all__ = ["open_in_root", "open_dir_in_root", "mkdir_all_in_root", "openat2_available"]

SYS_openat2 = 437  # the same number on every architecture (post-5.1 unified table)
RESOLVE_NO_MAGICLINKS = 0x02
RESOLVE_IN_ROOT = 0x10
MAX_SYMLINKS = 40  # the kernel's MAXSYMLINKS


class _OpenHow(ctypes.Structure):
    _fields_ = [("flags", ctypes.c_uint64), ("mode", ctypes.c_uint64), ("resolve", ctypes.c_uint64)]


_libc = ctypes.CDLL(None, use_errno=True)
_syscall = _libc.syscall
_syscall.restype = ctypes.c_long

# None: not tried yet; True/False once known.  Tests set this to False to
# exercise the userspace walk.
_openat2_state: bool | None = None


def openat2_available() -> bool:
    """Whether the kernel has openat2(2) (probed once)."""
    global _openat2_state
    if _openat2_state is None:
        try:
            fd = _openat2(os.open("/", os.O_PATH | os.O_CLOEXEC), ".", os.O_PATH, 0, close_dirfd=True)
        except OSError as e:
            if e.errno != errno.ENOSYS:
                raise
            _openat2_state = False
        else:
            os.close(fd)
            _openat2_state = True
    return _openat2_state


def _openat2(dirfd: int, path: str, flags: int, mode: int, *, close_dirfd: bool = False) -> int:
    creates = flags & os.O_CREAT or (flags & os.O_TMPFILE) == os.O_TMPFILE  # O_TMPFILE includes O_DIRECTORY
    how = _OpenHow(flags | os.O_CLOEXEC, mode if creates else 0, RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS)
    raw = os.fsencode(path) or b"."  # openat2 has no AT_EMPTY_PATH
    try:
        for _ in range(32):  # EAGAIN: a concurrent rename raced a ".." lookup; retry
            fd = _syscall(ctypes.c_long(SYS_openat2), ctypes.c_int(dirfd), ctypes.c_char_p(raw),
                          ctypes.byref(how), ctypes.c_size_t(ctypes.sizeof(how)))
            if fd >= 0:
                return fd
            err = ctypes.get_errno()
            if err != errno.EAGAIN:
                break
        raise OSError(err, os.strerror(err), path)
    finally:
        if close_dirfd:
            os.close(dirfd)


def _components(path: str) -> list[str]:
    return [c for c in path.split("/") if c and c != "."]


def _walk(root_fd: int, path: str, flags: int, mode: int) -> int:
    """openat2(RESOLVE_IN_ROOT) done by hand: see the module docstring."""
    parts = deque(_components(path))
    stack = [root_fd]  # resolved directories; stack[0] is the root and never closed
    links = 0

    def follow(target: str) -> None:
        nonlocal links
        links += 1
        if links > MAX_SYMLINKS:
            raise OSError(errno.ELOOP, os.strerror(errno.ELOOP), path)
        if target.startswith("/"):
            while len(stack) > 1:
                os.close(stack.pop())
        parts.extendleft(reversed(_components(target)))

    try:
        while parts:
            name = parts.popleft()
            cur = stack[-1]
            if name == "..":
                if len(stack) > 1:
                    os.close(stack.pop())
                continue
            if parts:  # an intermediate component: must end up a directory
                fd = os.open(name, os.O_PATH | os.O_NOFOLLOW | os.O_CLOEXEC, dir_fd=cur)
                st = os.fstat(fd)
                if stat.S_ISDIR(st.st_mode):
                    stack.append(fd)
                    continue
                os.close(fd)
                if not stat.S_ISLNK(st.st_mode):
                    raise OSError(errno.ENOTDIR, os.strerror(errno.ENOTDIR), path)
                follow(os.readlink(name, dir_fd=cur))
                continue
            # the last component
            if flags & os.O_NOFOLLOW:
                return os.open(name, flags | os.O_CLOEXEC, mode, dir_fd=cur)
            try:
                fd = os.open(name, flags | os.O_NOFOLLOW | os.O_CLOEXEC, mode, dir_fd=cur)
            except OSError as e:
                # a symlink shows up as ELOOP, or ENOTDIR under O_DIRECTORY
                if e.errno not in (errno.ELOOP, errno.ENOTDIR):
                    raise
                try:
                    target = os.readlink(name, dir_fd=cur)
                except OSError:
                    raise e from None
                follow(target)
                continue
            if flags & os.O_PATH and stat.S_ISLNK(os.fstat(fd).st_mode):
                os.close(fd)
                follow(os.readlink(name, dir_fd=cur))
                continue
            return fd
        # nothing left: the path named a directory reached by "", ".", ".." or a symlink
        return os.open(".", flags | os.O_CLOEXEC, mode, dir_fd=stack[-1])
    finally:
        for fd in stack[1:]:
            os.close(fd)


def _with_root(root: int | str, fn):
    if isinstance(root, int):
        return fn(root)
    rfd = os.open(root, os.O_PATH | os.O_DIRECTORY | os.O_CLOEXEC)
    try:
        return fn(rfd)
    finally:
        os.close(rfd)


def open_in_root(root: int | str, path: str, flags: int, mode: int = 0o644) -> int:
    """``open(path, flags, mode)`` with ``path`` resolved inside ``root``.

    Intermediate symlinks are followed as if ``root`` were ``/`` (absolute
    targets and ``..`` never leave it); the last component is followed the
    same way unless ``flags`` has ``O_NOFOLLOW``.  Returns a new fd.
    """
    def run(rfd: int) -> int:
        if openat2_available():
            return _openat2(rfd, path, flags, mode)
        return _walk(rfd, path, flags, mode)

    return _with_root(root, run)


def open_dir_in_root(root: int | str, path: str, flags: int = os.O_RDONLY) -> int:
    """Open the directory ``path`` inside ``root`` (see :func:`open_in_root`)."""
    return open_in_root(root, path, flags | os.O_DIRECTORY)


def mkdir_all_in_root(root: int | str, path: str, mode: int = 0o755) -> int:
    """``mkdir -p`` inside ``root``; returns an fd of the final directory.

    Existing components may be symlinks (followed inside ``root``); missing
    ones are created with ``mode`` (less the umask, as mkdir(2) does).  A
    dangling symlink or a non-directory on the way raises ``OSError``.
    """
    def run(rfd: int) -> int:
        parts = _components(path)
        done: list[str] = []
        parent = os.open(".", os.O_PATH | os.O_DIRECTORY | os.O_CLOEXEC, dir_fd=rfd)
        try:
            for name in parts:
                done.append(name)
                sub = "/".join(done)
                try:
                    fd = open_dir_in_root(rfd, sub, os.O_PATH)
                except FileNotFoundError:
                    if name == "..":
                        raise
                    try:
                        os.mkdir(name, mode, dir_fd=parent)
                    except FileExistsError:
                        pass  # a racing mkdir, or a dangling symlink: the open below decides
                    fd = open_dir_in_root(rfd, sub, os.O_PATH)
                os.close(parent)
                parent = fd
            return os.open(".", os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC, dir_fd=parent)
        finally:
            os.close(parent)

    return _with_root(root, run)
