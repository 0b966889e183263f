"""Network namespaces kept as bind-mounted nsfs files, and running code inside them.

A namespace lives at a path the caller chooses (``<data-root>/netns/<id>``), the way
``ip netns add`` keeps one at ``/run/netns/<name>``: a thread unshares a fresh network
namespace and bind-mounts ``/proc/thread-self/ns/net`` onto an empty file. The mount, not a
process, keeps the namespace alive, so it survives a daemon restart and the runtime can be
handed the path before the container's process exists.

Entering a namespace is per thread (``setns(CLONE_NEWNET)`` only changes the calling
thread), so every entry runs in a new, short-lived thread that exits afterwards: the daemon's
own threads never change namespace. Sockets keep the namespace they were created in, which
gives the cheap way to work in one: :func:`socket_in` makes the socket in a namespace thread
and hands it back, and the caller uses it from any thread (netlink sockets for pyroute2, the
DNS server's listeners, probes in tests).

The directory holding the files is made a shared mount point (as iproute2 does for
``/run/netns``) so that an unmount in :func:`delete` also reaches copies of the mount in other
mount namespaces, such as a container that bind-mounted the data root.
"""

from __future__ import annotations

import asyncio
import ctypes
import ctypes.util
import errno
import fcntl
import os
import socket
import struct
import threading
from typing import Any, Callable, TypeVar

from dockyard import errdefs
from dockyard.util.nschild import wait_in_new_namespace

T = TypeVar("T")

CLONE_NEWNET = 0x40000000
MS_BIND = 0x1000
MS_REC = 0x4000
MS_SHARED = 1 << 20
MNT_DETACH = 2

_libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
_libc.mount.argtypes = [ctypes.c_char_p, ctypes.c_char_p, ctypes.c_char_p, ctypes.c_ulong, ctypes.c_void_p]
_libc.umount2.argtypes = [ctypes.c_char_p, ctypes.c_int]
_libc.setns.argtypes = [ctypes.c_int, ctypes.c_int]
_libc.unshare.argtypes = [ctypes.c_int]


def _check(rc: int, what: str, path: str | None = None) -> None:
    if rc != 0:
        err = ctypes.get_errno()
        raise OSError(err, f"{what}: {os.strerror(err)}", path)


def _mount(src: str | None, target: str, fstype: str | None, flags: int) -> None:
    _check(_libc.mount(os.fsencode(src) if src else None, os.fsencode(target),
                       os.fsencode(fstype) if fstype else None, flags, None), "mount", target)


def _umount(target: str) -> bool:
    """Detach ``target``; False when it was not a mount point."""
    if _libc.umount2(os.fsencode(target), MNT_DETACH) != 0:
        err = ctypes.get_errno()
        if err in (errno.EINVAL, errno.ENOENT):
            return False
        raise OSError(err, f"umount: {os.strerror(err)}", target)
    return True


def _ensure_shared_dir(directory: str) -> None:
    os.makedirs(directory, mode=0o755, exist_ok=True)
    try:
        _mount(None, directory, "none", MS_SHARED | MS_REC)
    except OSError as e:
        if e.errno != errno.EINVAL:  # not yet a mount point: bind it onto itself first
            raise
        _mount(directory, directory, "none", MS_BIND | MS_REC)
        _mount(None, directory, "none", MS_SHARED | MS_REC)


def _in_thread(fn: Callable[[], T], name: str) -> T:
    """Run ``fn`` in a new thread that exits afterwards (it may change namespace freely)."""
    box: dict[str, Any] = {}

    def target() -> None:
        try:
            box["value"] = fn()
        except BaseException as e:  # handed to the caller's thread
            box["error"] = e

    t = threading.Thread(target=target, name=name, daemon=True)
    t.start()
    t.join()
    if "error" in box:
        raise box["error"]
    return box["value"]


def _enter(path: str) -> None:
    try:
        fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    except FileNotFoundError:
        raise errdefs.NotFound(f"network namespace {path} not found") from None
    try:
        if _libc.setns(fd, CLONE_NEWNET) != 0:
            err = ctypes.get_errno()
            if err == errno.EINVAL:
                raise errdefs.NotFound(f"{path} is not a network namespace")
            raise OSError(err, f"setns: {os.strerror(err)}", path)
    finally:
        os.close(fd)


def create(path: str, *, lo_up: bool = True, owner: str | None = None) -> None:
    """Make a new network namespace and keep it at ``path`` (an empty file, bind-mounted).

    Raises AlreadyExists when ``path`` exists. ``lo`` is brought up unless ``lo_up=False``.
    With ``owner`` (a user namespace file), the namespace is made inside that user namespace, so a
    container running there owns it (``--userns-remap``: sysfs, net sysctls, ``runc exec``).
    """
    _ensure_shared_dir(os.path.dirname(os.path.abspath(path)))
    try:
        os.close(os.open(path, os.O_RDONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o444))
    except FileExistsError:
        raise errdefs.AlreadyExists(f"network namespace {path} already exists") from None
    if owner is not None:
        try:
            _create_owned(path, owner)
            if lo_up:
                _in_thread(lambda: (_enter(path), _set_up("lo")), "netns-lo")
        except BaseException:
            _umount(path)
            os.unlink(path)
            raise
        return

    def work() -> None:
        _check(_libc.unshare(CLONE_NEWNET), "unshare(CLONE_NEWNET)")
        _mount(f"/proc/self/task/{threading.get_native_id()}/ns/net", path, "none", MS_BIND)
        if lo_up:
            _set_up("lo")

    try:
        _in_thread(work, "netns-create")
    except BaseException:
        _umount(path)
        os.unlink(path)
        raise


def _create_owned(path: str, owner: str) -> None:
    """A process that joins ``owner`` and unshares a network namespace (a multithreaded daemon cannot
    join a user namespace itself); its namespace is bind-mounted at ``path``, then the process ends."""
    import subprocess

    child = subprocess.Popen(["nsenter", f"--user={owner}", "--", "unshare", "--net", "--", "cat"],
                             stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        ns = wait_in_new_namespace(child, "net", f"creating a network namespace in {owner}")
        _mount(ns, path, "none", MS_BIND)
    finally:
        child.kill()
        child.wait()


def delete(path: str) -> None:
    """Unmount and remove a namespace file; nothing to do when it is gone already.

    The namespace itself ends when its last user (a process, a socket, another mount) goes.
    """
    _umount(path)
    try:
        os.unlink(path)
    except FileNotFoundError:
        pass


def exists(path: str) -> bool:
    """True when ``path`` holds a live namespace (a mounted nsfs file)."""
    # nsfs is one pseudo filesystem: compare devices with a namespace file known to be one.
    try:
        return os.stat(path).st_dev == os.stat("/proc/self/ns/net").st_dev
    except OSError:
        return False


def release_dir(directory: str) -> None:
    """Delete every namespace file in ``directory`` and undo its shared bind mount (tests, teardown)."""
    try:
        names = os.listdir(directory)
    except FileNotFoundError:
        return
    for name in names:
        delete(os.path.join(directory, name))
    _umount(directory)


def run_in(path: str | None, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """Call ``fn(*args, **kwargs)`` in the namespace at ``path`` (in a new thread) and return its result.

    ``path=None`` means the caller's own namespace: ``fn`` is just called.
    Raises NotFound when ``path`` is not a namespace.
    """
    if path is None:
        return fn(*args, **kwargs)

    def work() -> T:
        _enter(path)
        return fn(*args, **kwargs)

    return _in_thread(work, "netns")


async def arun_in(path: str | None, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """:func:`run_in` for an asyncio caller: the loop keeps running while ``fn`` does."""
    loop = asyncio.get_running_loop()
    fut: asyncio.Future[T] = loop.create_future()

    def done(ok: bool, value: Any) -> None:
        if fut.cancelled():
            return
        if ok:
            fut.set_result(value)
        else:
            fut.set_exception(value)

    def target() -> None:
        try:
            if path is not None:
                _enter(path)
            value = fn(*args, **kwargs)
        except BaseException as e:
            loop.call_soon_threadsafe(done, False, e)
        else:
            loop.call_soon_threadsafe(done, True, value)

    threading.Thread(target=target, name="netns", daemon=True).start()
    return await fut


def socket_in(path: str | None, family: int = socket.AF_INET, type: int = socket.SOCK_STREAM,
              proto: int = 0) -> socket.socket:
    """A socket created inside the namespace at ``path``; it stays there whichever thread uses it."""
    return run_in(path, socket.socket, family, type, proto)


def netlink_socket(path: str | None) -> socket.socket:
    """An rtnetlink socket in the namespace (for ``pyroute2.IPRoute(use_socket=...)``)."""
    return socket_in(path, socket.AF_NETLINK, socket.SOCK_DGRAM, socket.NETLINK_ROUTE)


SIOCGIFFLAGS = 0x8913
SIOCSIFFLAGS = 0x8914
IFF_UP = 0x1


def _set_up(ifname: str) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        req = struct.pack("16sH14x", ifname.encode(), 0)
        flags = struct.unpack("16sH14x", fcntl.ioctl(s, SIOCGIFFLAGS, req))[1]
        if not flags & IFF_UP:
            fcntl.ioctl(s, SIOCSIFFLAGS, struct.pack("16sH14x", ifname.encode(), flags | IFF_UP))


def lo_up(path: str | None) -> None:
    """Bring the loopback interface of a namespace up."""
    run_in(path, _set_up, "lo")


def _sysctl_file(key: str) -> str:
    # "net/ipv4/conf/eth0.100/rp_filter" for names holding dots, "net.ipv4.ip_forward" otherwise
    return "/proc/sys/" + (key if "/" in key else key.replace(".", "/"))


def write_sysctl(path: str | None, key: str, value: str | int) -> None:
    """Write a ``net.*`` sysctl as seen from the namespace at ``path``.

    ``key`` is dotted (``net.ipv4.ip_forward``) or, when an interface name holds dots,
    slash-separated (``net/ipv4/conf/br-1.2/route_localnet``).

    ``/proc/sys/net`` shows the namespace of the thread that opens it, so this runs in a
    namespace thread.
    """
    file = _sysctl_file(key)

    def work() -> None:
        with open(file, "w") as f:
            f.write(f"{value}\n")

    run_in(path, work)


def read_sysctl(path: str | None, key: str) -> str:
    file = _sysctl_file(key)

    def work() -> str:
        with open(file) as f:
            return f.read().strip()

    return run_in(path, work)


def identity(path: str | None) -> tuple[int, int]:
    """(device, inode) of a namespace: equal for two paths naming the same namespace."""
    st = os.stat(path or f"/proc/self/task/{threading.get_native_id()}/ns/net")
    return st.st_dev, st.st_ino
