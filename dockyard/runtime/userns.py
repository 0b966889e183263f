"""The daemon's ``--userns-remap``: container root mapped to an unprivileged host range.

``default`` uses (and makes, if needed) the user ``dockremap`` with ranges in /etc/subuid and
/etc/subgid, as Docker does; ``user`` or ``user:group`` (names or numbers) use that user's ranges.

Image layers stay owned by host root on disk; a remapped container's root filesystem is given to
runc through an *idmapped* mount of the overlay (kernel ≥ 5.19 idmaps overlayfs), so root inside
sees its files as its own and what it writes lands on disk as root-owned, shared layers untouched.
Docker instead keeps a second data root with chowned copies of every layer; idmapping costs
nothing per layer and nothing per container beyond two mount syscalls.
"""

from __future__ import annotations

import ctypes
import grp
import logging
import os
import pwd
import subprocess
import threading
from dataclasses import dataclass

from dockyard import errdefs
from dockyard.util.nschild import wait_in_new_namespace

log = logging.getLogger(__name__)

DEFAULT_USER = "dockremap"
_RANGE_SIZE = 65536


@dataclass(frozen=True)
class IDMapping:
    user: str
    group: str
    uids: tuple[tuple[int, int, int], ...]   # (container id, host id, size)
    gids: tuple[tuple[int, int, int], ...]

    @property
    def root_uid(self) -> int:
        return _to_host(self.uids, 0)

    @property
    def root_gid(self) -> int:
        return _to_host(self.gids, 0)

    def spec_uids(self) -> list[dict]:
        return [{"containerID": c, "hostID": h, "size": s} for c, h, s in self.uids]

    def spec_gids(self) -> list[dict]:
        return [{"containerID": c, "hostID": h, "size": s} for c, h, s in self.gids]

    def to_host(self, uid: int, gid: int) -> tuple[int, int]:
        """The container's ids → host ids (InvalidArgument for ids outside the mapping)."""
        return _to_host(self.uids, uid), _to_host(self.gids, gid)

    def to_container(self, uid: int, gid: int) -> tuple[int, int]:
        """Host ids → the container's (ids outside the ranges are kept: they were not written from inside)."""
        return _from_host(self.uids, uid), _from_host(self.gids, gid)

    @property
    def key(self) -> str:
        """Docker's name for the remapped data root: ``<uid>.<gid>`` of container root."""
        return f"{self.root_uid}.{self.root_gid}"


def _to_host(ranges, cid: int) -> int:
    for c, h, s in ranges:
        if c <= cid < c + s:
            return h + cid - c
    raise errdefs.InvalidArgument(f"container ID {cid} cannot be mapped to a host ID")


def _from_host(ranges, hid: int) -> int:
    for c, h, s in ranges:
        if h <= hid < h + s:
            return c + hid - h
    return hid


def _read_ranges(path: str, names: set[str]) -> list[tuple[int, int]]:
    out = []
    try:
        with open(path) as f:
            for line in f:
                parts = line.strip().split(":")
                if len(parts) == 3 and parts[0] in names and parts[1].isdigit() and parts[2].isdigit():
                    out.append((int(parts[1]), int(parts[2])))
    except FileNotFoundError:
        pass
    return out


def _all_ranges(path: str) -> list[tuple[int, int]]:
    out = []
    try:
        with open(path) as f:
            for line in f:
                parts = line.strip().split(":")
                if len(parts) == 3 and parts[1].isdigit() and parts[2].isdigit():
                    out.append((int(parts[1]), int(parts[2])))
    except FileNotFoundError:
        pass
    return out


def _free_start(path: str) -> int:
    start = 100000
    for s, n in sorted(_all_ranges(path)):
        if s < start + _RANGE_SIZE and start < s + n:
            start = s + n
    return start


def _ensure_default_user(subuid: str, subgid: str) -> None:
    """Docker's ``dockremap``: a system user with its own 65536-id ranges."""
    try:
        pwd.getpwnam(DEFAULT_USER)
    except KeyError:
        r = subprocess.run(["useradd", "--system", "--shell", "/bin/false", "--no-create-home", DEFAULT_USER],
                           capture_output=True, text=True)
        if r.returncode != 0:
            raise errdefs.System(f"could not create user {DEFAULT_USER}: {r.stderr.strip()}")
    for path in (subuid, subgid):
        if not _read_ranges(path, {DEFAULT_USER}):
            start = _free_start(path)
            with open(path, "a") as f:
                f.write(f"{DEFAULT_USER}:{start}:{_RANGE_SIZE}\n")


def parse_remap(value: str, *, subuid: str = "/etc/subuid", subgid: str = "/etc/subgid") -> IDMapping:
    """``default``, ``user``, ``uid``, ``user:group`` → the mapping from /etc/subuid and /etc/subgid."""
    user, _, group = value.partition(":")
    if user == "default":
        _ensure_default_user(subuid, subgid)
        user, group = DEFAULT_USER, group or DEFAULT_USER
    try:
        pw = pwd.getpwuid(int(user)) if user.isdigit() else pwd.getpwnam(user)
    except KeyError:
        raise errdefs.InvalidArgument(f"Can't create ID mappings: user {user} not found") from None
    if not group:
        group = pw.pw_name
    try:
        gr = grp.getgrgid(int(group)) if group.isdigit() else grp.getgrnam(group)
    except KeyError:
        raise errdefs.InvalidArgument(f"Can't create ID mappings: group {group} not found") from None
    uranges = _read_ranges(subuid, {pw.pw_name, str(pw.pw_uid)})
    granges = _read_ranges(subgid, {gr.gr_name, str(gr.gr_gid)})
    if not uranges:
        raise errdefs.InvalidArgument(f"Can't create ID mappings: no subuid ranges found for user "
                                      f"\"{pw.pw_name}\"")
    if not granges:
        raise errdefs.InvalidArgument(f"Can't create ID mappings: no subgid ranges found for group "
                                      f"\"{gr.gr_name}\"")

    def contiguous(ranges):
        out, cid = [], 0
        for host, size in ranges:
            out.append((cid, host, size))
            cid += size
        return tuple(out)

    return IDMapping(pw.pw_name, gr.gr_name, contiguous(uranges), contiguous(granges))


# -- idmapped mounts -------------------------------------------------------------

_SYS_OPEN_TREE = 428
_SYS_MOVE_MOUNT = 429
_SYS_MOUNT_SETATTR = 442
_OPEN_TREE_CLONE = 1
_OPEN_TREE_CLOEXEC = os.O_CLOEXEC
_AT_EMPTY_PATH = 0x1000
_AT_RECURSIVE = 0x8000
_AT_FDCWD = -100
_MOVE_MOUNT_F_EMPTY_PATH = 0x4
_MOUNT_ATTR_IDMAP = 0x00100000
_MS_BIND = 4096

_libc = ctypes.CDLL(None, use_errno=True)
_libc.syscall.restype = ctypes.c_long
_libc.mount.argtypes = [ctypes.c_char_p, ctypes.c_char_p, ctypes.c_char_p, ctypes.c_ulong, ctypes.c_void_p]


class _MountAttr(ctypes.Structure):
    _fields_ = [("attr_set", ctypes.c_uint64), ("attr_clr", ctypes.c_uint64),
                ("propagation", ctypes.c_uint64), ("userns_fd", ctypes.c_uint64)]


def _check(ret: int, what: str) -> int:
    if ret < 0:
        err = ctypes.get_errno()
        raise errdefs.System(f"{what}: {os.strerror(err)}")
    return ret


class UsernsHolder:
    """The user namespace of remapped containers: one per mapping, kept at a file (a bind of its nsfs).

    Made once by a short-lived child (a multithreaded daemon cannot unshare a user namespace itself);
    the file keeps it alive across daemon restarts. Remapped containers all join it, and their
    network namespaces are made inside it, so they own those (sysfs, net sysctls, ``runc exec``)."""

    def __init__(self, mapping: IDMapping, state_dir: str) -> None:
        self.mapping = mapping
        self.path = os.path.join(state_dir, f"userns-{mapping.key}")
        self._fd: int | None = None
        self._views: set[str] = set()
        self._lock = threading.Lock()

    def ensure(self) -> str:
        """The namespace file (made if it is not there)."""
        with self._lock:
            if self._fd is not None:
                return self.path  # made (or found) already; nothing unmounts it while the daemon runs
            if not _is_mount_point(self.path):
                os.makedirs(os.path.dirname(self.path), exist_ok=True)
                if not os.path.exists(self.path):
                    os.close(os.open(self.path, os.O_RDONLY | os.O_CREAT | os.O_CLOEXEC, 0o444))
                self._make(self.path)
            self._fd = os.open(self.path, os.O_RDONLY | os.O_CLOEXEC)
            return self.path

    def view(self, path: str) -> str:
        """An idmapped bind of ``path`` at ``<path>-<uid>.<gid>`` (made once; it outlives the daemon, as layers do)."""
        target = f"{path}-{self.mapping.key}"
        if target in self._views:
            return target
        self.ensure()
        with self._lock:
            os.makedirs(target, mode=0o700, exist_ok=True)
            if not _is_mount_point(target):
                assert self._fd is not None
                idmapped_bind(path, target, self._fd)
            self._views.add(target)
        return target

    def _make(self, path: str) -> None:
        child = subprocess.Popen(["unshare", "--user", "--", "cat"], stdin=subprocess.PIPE,
                                 stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        try:
            ns = wait_in_new_namespace(child, "user", "could not create the remapped user namespace")
            with open(f"/proc/{child.pid}/uid_map", "w") as f:
                f.write("".join(f"{c} {h} {s}\n" for c, h, s in self.mapping.uids))
            with open(f"/proc/{child.pid}/gid_map", "w") as f:
                f.write("".join(f"{c} {h} {s}\n" for c, h, s in self.mapping.gids))
            if _libc.mount(ns.encode(), path.encode(), b"none", _MS_BIND, None) != 0:
                raise errdefs.System(f"mount {path}: {os.strerror(ctypes.get_errno())}")
        finally:
            child.kill()
            child.wait()


def idmapped_bind(source: str, target: str, userns_fd: int) -> None:
    """Mount ``source`` again at ``target``, with file ownership shifted through ``userns_fd``."""
    tree = _check(_libc.syscall(_SYS_OPEN_TREE, _AT_FDCWD, source.encode(),
                                _OPEN_TREE_CLONE | _OPEN_TREE_CLOEXEC), f"open_tree {source}")
    try:
        attr = _MountAttr(_MOUNT_ATTR_IDMAP, 0, 0, userns_fd)
        _check(_libc.syscall(_SYS_MOUNT_SETATTR, tree, b"", _AT_EMPTY_PATH, ctypes.byref(attr),
                             ctypes.sizeof(attr)), f"idmapping {source}")
        _check(_libc.syscall(_SYS_MOVE_MOUNT, tree, b"", _AT_FDCWD, target.encode(), _MOVE_MOUNT_F_EMPTY_PATH),
               f"move_mount {target}")
    finally:
        os.close(tree)


def _is_mount_point(path: str) -> bool:
    """Whether something is mounted at ``path`` (a bind of the same filesystem too, unlike os.path.ismount)."""
    path = os.path.realpath(path)
    with open("/proc/self/mountinfo") as f:
        return any(line.split()[4] == path for line in f)


def check_root_access(root: str, mapping: IDMapping) -> None:
    """Docker's start-up check: every directory above the data root must let remapped root through ("x")."""
    uid, gid = mapping.root_uid, mapping.root_gid
    path = os.path.abspath(root)
    while True:
        path = os.path.dirname(path)
        if path == "/":
            return
        try:
            st = os.stat(path)
        except FileNotFoundError:
            continue
        bit = 0o100 if st.st_uid == uid else 0o010 if st.st_gid == gid else 0o001
        if not st.st_mode & bit:
            raise errdefs.FailedPrecondition(
                f"a subdirectory in your graphroot path ({root}) restricts access to the remapped root uid/gid; "
                "please fix by allowing 'o+x' permissions on existing directories")
