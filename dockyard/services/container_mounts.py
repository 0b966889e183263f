"""A container's mounts over its life: volumes made and filled at create, mounted at start,
released at exit, forgotten (anonymous ones removed with ``rm -v``) at remove."""

from __future__ import annotations

import contextlib
import logging
import os
import stat

from dockyard import errdefs
from dockyard.services import mounts as mnts
from dockyard.services.mounts import MountPoint
from dockyard.services.volumes import VolumeService
from dockyard.util import fscopy, safepath

log = logging.getLogger(__name__)

# Docker's default options for tmpfs mounts
_TMPFS_DEFAULTS = ["nosuid", "nodev", "noexec"]


class ContainerMounts:
    def __init__(self, volumes: VolumeService) -> None:
        self.volumes = volumes

    def prepare(self, cid: str, plan: list[MountPoint], explicit_binds: set[str]) -> list[MountPoint]:
        """Create what the plan names: missing ``-v`` bind sources (as directories, as Docker does),
        volumes (named ones on first use, anonymous ones always); record this container as a user."""
        used: list[str] = []
        try:
            for mp in plan:
                if mp.type == "bind" and mp.destination in explicit_binds and not os.path.exists(mp.source):
                    os.makedirs(mp.source, 0o755, exist_ok=True)
                if mp.type != "volume":
                    continue
                if not mp.name:
                    vol = self.volumes.create(anonymous=True)
                    mp.name = vol.name
                else:
                    opts = mp.volume_options or {}
                    vol = self.volumes.create(name=mp.name, driver=mp.driver or "local",
                                              driver_opts=opts.get("driver_opts") or None,
                                              labels=opts.get("labels") or None)
                mp.source = vol.mountpoint
                mp.driver = vol.driver
                used.append(mp.name)
            self.volumes.add_refs(cid, used)
        except BaseException:
            self.forget(cid, plan, remove_anonymous=True)
            raise
        return plan

    @staticmethod
    def may_fill(lower_dirs: list[str], mounts: list[MountPoint]) -> bool:
        """Whether ``fill`` could find anything: some layer has an entry at (or a symlink on the way
        to) a volume's mount point. When none has, the rootfs need not be mounted to look."""
        for mp in mounts:
            if mp.type != "volume" or not mp.copy_data:
                continue
            parts = [p for p in mp.destination.split("/") if p]
            for layer in lower_dirs:
                path = layer
                for part in parts:
                    path = os.path.join(path, part)
                    try:
                        st = os.lstat(path)
                    except (FileNotFoundError, NotADirectoryError):
                        break  # this layer has nothing there
                    if not stat.S_ISDIR(st.st_mode):
                        return True  # a symlink (or a file, or a whiteout): let the mounted rootfs tell
                else:
                    return True
        return False

    def fill(self, cid: str, rootfs: str, mounts: list[MountPoint]) -> None:
        """Copy the image's content at each new volume's mount point into the volume, when it is empty
        (blocking; the rootfs must be mounted)."""
        for mp in mounts:
            if mp.type != "volume" or not mp.copy_data:
                continue
            try:
                src = safepath.open_dir_in_root(rootfs, mp.destination)
            except (FileNotFoundError, NotADirectoryError):
                continue  # nothing in the image there
            try:
                host = self.volumes.mount(mp.name, cid)
                try:
                    dst = os.open(host, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
                    try:
                        if fscopy.is_empty_dir(dst):
                            fscopy.copy_tree(src, dst)
                    finally:
                        os.close(dst)
                finally:
                    self.volumes.unmount(mp.name, cid)
            finally:
                os.close(src)

    def spec_mounts(self, cid: str, mounts: list[MountPoint]) -> list[dict]:
        """OCI mount entries, parents first; volumes are mounted (a driver option may need a mount)."""
        out = []
        for mp in mnts.sorted_for_mounting(mounts):
            if mp.type == "tmpfs":
                opts = [*_TMPFS_DEFAULTS, *[o for o in mp.tmpfs_options if o not in _TMPFS_DEFAULTS]]
                out.append({"destination": mp.destination, "type": "tmpfs", "source": "tmpfs", "options": opts})
                continue
            source = mp.source if mp.type == "bind" else self.volumes.mount(
                mp.name, cid, destination=mp.destination, read_write=mp.rw, propagation=mp.propagation)
            if mp.type == "bind" and not os.path.exists(source):
                raise errdefs.InvalidArgument(f"invalid mount config for type \"bind\": bind source path does "
                                              f"not exist: {source}")
            opts = ["rbind", mp.propagation or mnts.DEFAULT_PROPAGATION]
            if not mp.rw:
                opts.append("ro")
            out.append({"destination": mp.destination, "type": "bind", "source": source, "options": opts})
        return out

    def adopt(self, cid: str, mounts: list[MountPoint]) -> None:
        """A restarted daemon found the container running: its volumes are in use again (no events)."""
        for mp in mounts:
            if mp.type == "volume" and mp.name:
                with contextlib.suppress(errdefs.DockyardError, OSError):
                    self.volumes.mount(mp.name, cid, destination=mp.destination, read_write=mp.rw, quiet=True)

    def release(self, cid: str, mounts: list[MountPoint]) -> None:
        """The container stopped: volumes that needed a mount can be unmounted when nobody else uses them."""
        for mp in mounts:
            if mp.type == "volume" and mp.name:
                with contextlib.suppress(errdefs.DockyardError, OSError):
                    self.volumes.unmount(mp.name, cid)

    def forget(self, cid: str, mounts: list[MountPoint], remove_anonymous: bool) -> None:
        """The container is removed: drop its references, and its anonymous volumes when asked (``rm -v``)."""
        mine = [mp for mp in mounts if mp.type == "volume" and mp.name]
        self.volumes.remove_refs(cid, [mp.name for mp in mine])
        for mp in mine:
            if remove_anonymous and mp.anonymous:
                try:
                    if not self.volumes.refs(mp.name):
                        self.volumes.remove(mp.name)
                except errdefs.DockyardError as e:
                    log.debug("keeping volume %s: %s", mp.name, e)
