"""Mount records and the syscalls that apply them.

Snapshotters return ``Mount`` records and never mount anything themselves; the
caller decides when and where (containerd's split).
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import struct
import subprocess
from dataclasses import dataclass, field

from dockyard import errdefs

_libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
_libc.mount.argtypes = [ctypes.c_char_p, ctypes.c_char_p, ctypes.c_char_p, ctypes.c_ulong, ctypes.c_char_p]
_libc.umount2.argtypes = [ctypes.c_char_p, ctypes.c_int]
_libc.statx.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_uint, ctypes.c_char_p]

MS_RDONLY = 1
MS_NOSUID = 2
MS_NODEV = 4
MS_NOEXEC = 8
MS_REMOUNT = 32
MS_BIND = 4096
MS_REC = 16384
MS_PRIVATE = 1 << 18
MNT_DETACH = 2

# The kernel copies at most one page of mount data.
MAX_MOUNT_DATA = 4000


@dataclass(frozen=True)
class Mount:
    type: str
    source: str
    options: tuple[str, ...] = ()
    # Directory the options' relative paths start from: mounted at once when the process works
    # from there, else by a `mount` child started in it.
    cwd: str | None = None
    flags: int = 0
    extra: dict = field(default_factory=dict, compare=False)


def _raise(what: str, target: str) -> None:
    err = ctypes.get_errno()
    raise errdefs.System(f"{what} {target}: {os.strerror(err)}")


def mount(m: Mount, target: str) -> None:
    data = ",".join(m.options)
    if (m.cwd is None or m.cwd == os.getcwd()) and len(data) <= MAX_MOUNT_DATA:
        if _libc.mount(m.source.encode(), target.encode(), m.type.encode(), m.flags, data.encode() or None) != 0:
            _raise("mount", target)
        return
    # Relative paths only work from the right working directory; chdir in a child, never in the daemon.
    r = subprocess.run(["mount", "-t", m.type, "-o", data, m.source, target], cwd=m.cwd,
                       capture_output=True, text=True)
    if r.returncode != 0:
        raise errdefs.System(f"mount {target}: {r.stderr.strip()}")


def mount_all(mounts: list[Mount], target: str) -> None:
    for m in mounts:
        mount(m, target)


def unmount(target: str, detach: bool = False) -> None:
    """Unmount ``target``; a target that is not mounted is fine."""
    if _libc.umount2(target.encode(), MNT_DETACH if detach else 0) != 0:
        err = ctypes.get_errno()
        if err in (22, 2):  # EINVAL: not a mount point; ENOENT: gone already
            return
        if err == 16 and not detach:  # EBUSY: a straggler holds it; detach instead
            unmount(target, detach=True)
            return
        raise errdefs.System(f"unmount {target}: {os.strerror(err)}")


def bind(source: str, target: str, readonly: bool = False, recursive: bool = True) -> None:
    flags = MS_BIND | (MS_REC if recursive else 0)
    if _libc.mount(source.encode(), target.encode(), None, flags, None) != 0:
        _raise("bind mount", target)
    if readonly:
        if _libc.mount(None, target.encode(), None, flags | MS_REMOUNT | MS_RDONLY, None) != 0:
            _raise("remount read-only", target)


_STATX_ATTR_MOUNT_ROOT = 0x2000
_AT_FDCWD = -100


def is_mounted(target: str) -> bool:
    """Whether something is mounted on ``target`` (symlinks followed).

    statx's mount-root attribute answers at once; reading mountinfo instead costs ~2 ms with 200
    containers running (a long overlay line each), and the start path asks every time."""
    buf = ctypes.create_string_buffer(256)
    if _libc.statx(_AT_FDCWD, os.fsencode(target), 0, 0, buf) != 0:
        if ctypes.get_errno() in (2, 20):  # ENOENT, ENOTDIR
            return False
    else:
        attributes, = struct.unpack_from("=Q", buf, 8)
        supported, = struct.unpack_from("=Q", buf, 56)
        if supported & _STATX_ATTR_MOUNT_ROOT:
            return bool(attributes & _STATX_ATTR_MOUNT_ROOT)
    target = os.path.realpath(target)  # an older kernel: look the point up
    with open("/proc/self/mountinfo") as f:
        for line in f:
            if line.split()[4] == target:
                return True
    return False
