"""Privilege and isolation settings of a container: checked at create, resolved at start.

At create (400s, Docker's messages): capabilities, security options, device cgroup rules, IPC and
PID modes; ``container:NAME`` modes are stored as ``container:<full id>`` as Docker stores them.
At start: the namespaces of other containers are looked up (they must be running), a shareable
container gets its host-side /dev/shm, and the daemon's user namespace remapping is applied.
"""

from __future__ import annotations

import os
from typing import Callable

from dockyard import errdefs
from dockyard.runtime import namespaces as rns
from dockyard.runtime import security

_DEFAULT_SHM = 64 * 1024 * 1024
from dockyard.runtime.userns import UsernsHolder
from dockyard.store import mount as mnt
from dockyard.util import safepath


def check_create(hc: dict, lookup: Callable, *, remapped: bool) -> None:
    """Validate (and resolve) the privilege settings of a normalized HostConfig, in place."""
    security.validate(hc)
    ipc = hc.get("IpcMode") or "private"
    if not rns.valid_ipc_mode(ipc):
        raise errdefs.InvalidArgument(f"invalid IPC mode: {ipc}")
    pid = hc.get("PidMode") or ""
    if not rns.valid_pid_mode(pid):
        raise errdefs.InvalidArgument(f"invalid PID mode: {pid}")
    for key in ("IpcMode", "PidMode"):
        mode = hc.get(key) or ""
        if mode.startswith("container:"):
            ref = mode.split(":", 1)[1]
            other = lookup(ref)
            if other is None:
                raise errdefs.InvalidArgument(f"No such container: {ref}")
            hc[key] = f"container:{other.id}"
    if remapped and hc.get("UsernsMode") != "host":
        if hc.get("Privileged"):
            raise errdefs.InvalidArgument("privileged mode is incompatible with user namespaces.  You must run "
                                          "the container in the host namespace when running privileged mode")
        if hc.get("NetworkMode") == "host":
            raise errdefs.InvalidArgument("cannot share the host's network namespace when user namespaces "
                                          "are enabled")
        if hc.get("PidMode") == "host":
            raise errdefs.InvalidArgument("cannot share the host PID namespace when user namespaces are enabled")


def _ipc_shm(other, get: Callable, depth: int = 0) -> str | None:
    """The host path of another container's /dev/shm, if it can be shared (Docker's ``ShmPath``)."""
    mode = other.host_config.get("IpcMode") or "private"
    if mode == "host":
        return "/dev/shm"
    if mode == "shareable":
        path = rns.shm_path(other.bundle)
        return path if os.path.ismount(path) else None
    if mode.startswith("container:") and depth < 8:  # a joiner shares its donor's
        try:
            return _ipc_shm(get(mode.split(":", 1)[1]), get, depth + 1)
        except errdefs.NotFound:
            return None
    return None


def namespace_modes(c, get: Callable, userns: UsernsHolder | None) -> rns.NamespaceModes:
    """The namespaces ``c`` gets at this start (others it joins must be running)."""
    hc = c.host_config
    modes = rns.NamespaceModes()
    ipc = hc.get("IpcMode") or "private"
    if ipc == "host":
        modes.ipc, modes.ipc_shm = "host", "/dev/shm"
    elif ipc == "none":
        modes.ipc_shm = ""
    elif ipc == "shareable":
        modes.ipc_shm = rns.setup_shareable_shm(c.bundle, hc.get("ShmSize") or _DEFAULT_SHM)
    elif ipc.startswith("container:"):
        ref = ipc.split(":", 1)[1]
        prefix = f"can't join IPC of container {ref}"
        try:
            other = get(ref)
        except errdefs.NotFound as e:
            raise errdefs.NotFound(f"{prefix}: {e}") from None
        if not other.state.running:
            raise errdefs.System(f"{prefix}: container {other.id} is not running")
        shm = _ipc_shm(other, get)
        if shm is None:
            raise errdefs.System(f"{prefix}: non-shareable IPC (hint: use IpcMode:shareable for the "
                                   f"donor container)")
        modes.ipc, modes.ipc_shm = f"/proc/{other.state.pid}/ns/ipc", shm
    pid = hc.get("PidMode") or ""
    if pid == "host":
        modes.pid = "host"
    elif pid.startswith("container:"):
        ref = pid.split(":", 1)[1]
        try:
            other = get(ref)
        except errdefs.NotFound as e:
            raise errdefs.NotFound(f"cannot join PID of a non running container: {ref}: {e}") from None
        if not other.state.running:
            raise errdefs.System(f"container {other.id} is not running")
        modes.pid = f"/proc/{other.state.pid}/ns/pid"
    modes.uts_host = hc.get("UTSMode") == "host"
    if userns is not None and hc.get("UsernsMode") != "host":
        # every remapped container joins the daemon's user namespace (so does its netns)
        modes.userns, modes.userns_path = True, userns.ensure()
        modes.uid_mappings = userns.mapping.spec_uids()
        modes.gid_mappings = userns.mapping.spec_gids()
    return modes


def rootfs_mounts(snapshots, c, userns: UsernsHolder | None) -> list:
    """The mounts of ``c``'s root filesystem; under --userns-remap, image layers seen through an idmapped view.

    Overlayfs takes idmapped lower layers (kernel 5.19): the image's layers are read through one
    idmapped bind of the snapshotter's root, so container root (a high host uid) owns the image's
    files, while the layers stay as they are on disk for every other container. The container's
    own layer (upper) is plain: what container root writes there is owned by its host uid, as in
    Docker's remapped data root."""
    mounts = snapshots.mounts(c.id)
    if not remapped(c, userns):
        return mounts
    root = snapshots.root.rstrip("/")
    view = userns.view(root)
    out = []
    for m in mounts:
        if m.type != "overlay":
            out.append(m)
            continue
        opts = tuple(_through_view(part, root, view, m.cwd) for o in m.options for part in o.split(","))
        out.append(mnt.Mount(m.type, m.source, opts, cwd=view if m.cwd is not None else None, flags=m.flags,
                             extra=m.extra))
    upper = snapshots.upper_dir(c.id)
    st = os.stat(upper)
    if (st.st_uid, st.st_gid) != (userns.mapping.root_uid, userns.mapping.root_gid):
        # the root directory of the container's filesystem is its layer's: container root's own
        os.chown(upper, userns.mapping.root_uid, userns.mapping.root_gid)
    return out


def _through_view(part: str, root: str, view: str, relative_to: str | None) -> str:
    """One overlay option with the image layers read through the idmapped ``view`` of ``root``.
    ``relative_to``: the directory the option's paths are relative to (None: they are absolute)."""
    if part.startswith("lowerdir="):
        return part if relative_to is not None else part.replace(root + "/", view + "/")
    if relative_to is not None and part.startswith(("upperdir=", "workdir=")):
        key, _, path = part.partition("=")
        return f"{key}={relative_to}/{path}"  # the container's own layer is not read through the view
    return part


def remapped(c, userns: UsernsHolder | None) -> bool:
    return userns is not None and c.host_config.get("UsernsMode") != "host"


def id_map_for(c, userns: UsernsHolder | None):
    """Host → container ids for what ``c`` wrote (commit, export), or None when its root is not remapped."""
    return userns.mapping.to_container if remapped(c, userns) else None


def id_map_to_host(c, userns: UsernsHolder | None):
    """Container → host ids for files the daemon writes into ``c`` (``docker cp``), or None when not remapped."""
    return userns.mapping.to_host if remapped(c, userns) else None


def shift_owners(dfd: int, names: list[str], to_host) -> None:
    """Give the entries ``names`` (relative to the directory ``dfd``) their owners as host ids."""
    for rel in names:
        parent, _, base = rel.rpartition("/")
        try:
            pfd = safepath.open_dir_in_root(dfd, parent, os.O_PATH) if parent else os.dup(dfd)
        except OSError:
            continue
        try:
            st = os.stat(base, dir_fd=pfd, follow_symlinks=False)
            try:
                uid, gid = to_host(st.st_uid, st.st_gid)
            except errdefs.InvalidArgument:
                continue
            os.chown(base, uid, gid, dir_fd=pfd, follow_symlinks=False)
        except OSError:
            pass
        finally:
            os.close(pfd)


def prepare_bundle(c, userns: UsernsHolder | None, volumes: list[str] = ()) -> None:
    """Under remapping, runc binds the bundle's files (hosts, resolv.conf...) from inside the user namespace:
    container root must be able to enter the bundle directory (Docker chowns it the same way).

    Volumes a remapped container uses belong to its root, as Docker's remapped volumes do: the first
    time, a volume still owned by host root (made, and filled from the image, by the daemon) has its
    owners shifted into the mapping."""
    if not remapped(c, userns):
        return
    st = os.stat(c.bundle)
    if st.st_gid != userns.mapping.root_gid:
        os.chown(c.bundle, 0, userns.mapping.root_gid)
    for path in volumes:
        try:
            st = os.stat(path)
        except OSError:
            continue
        if (st.st_uid, st.st_gid) == (0, 0):
            _shift_tree(path, userns.mapping)


def _shift_tree(root: str, mapping) -> None:
    def shift(path: str) -> None:
        st = os.lstat(path)
        try:
            uid, gid = mapping.to_host(st.st_uid, st.st_gid)
        except errdefs.InvalidArgument:
            return
        os.chown(path, uid, gid, follow_symlinks=False)
        if not os.path.islink(path):
            os.chmod(path, st.st_mode & 0o7777)  # chown clears setuid/setgid bits

    shift(root)
    for dirpath, dirnames, filenames in os.walk(root):
        for name in dirnames + filenames:
            shift(os.path.join(dirpath, name))


def netns_owner(c, userns: UsernsHolder | None) -> str | None:
    """The user namespace a container's network namespace is made in (None: the host's)."""
    return userns.ensure() if remapped(c, userns) else None


def release(c) -> None:
    """Undo what a start mounted on the host for ``c`` (a shareable /dev/shm)."""
    rns.release_shm(c.bundle)


def privileges(hc: dict) -> security.Privileges:
    return security.Privileges.from_host_config(hc)
