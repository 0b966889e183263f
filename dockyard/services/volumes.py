"""Volumes: Docker's ``local`` driver, its names, options, references, mounts and removal.

A volume is a row of ``volumes`` (name, driver, options, labels, created, anonymous)
and a directory ``<data-root>/volumes/<name>/_data`` (its Mountpoint). Which
containers use it is ``volume_refs``: a volume with references is not removed.

Driver options (``-o type=tmpfs -o device=tmpfs -o o=size=10m``, or
``type=none,o=bind,device=/host/dir``) are checked at create and applied at first
use: ``mount(name, cid)`` mounts ``device`` on the Mountpoint when the first user
comes, ``unmount(name, cid)`` takes it away when the last one goes (users are
counted in memory, as Docker's driver counts them; after a daemon restart the
container service registers its running containers again).

Removal never reaches outside the volume: everything mounted under the volume
directory is unmounted first (a ``type=none,o=bind`` volume's host directory is
left as it is), the directory is renamed into ``volumes/_trash`` at once, and the
files are deleted later (in a thread) by a walk that follows no symlink and
crosses into no other filesystem. ``_trash`` cannot be a volume: names start with
a letter or digit.

Interface (all synchronous except ``prune`` and ``disk_usage``)::

    create(name=None, driver="local", driver_opts=None, labels=None, anonymous=False) -> Volume
    get(name) -> Volume                list(filters) -> [Volume]
    remove(name, force=False)          prune(filters) -> ([names], reclaimed bytes)     (async)
    add_refs(cid, names)  remove_refs(cid, names)  refs(name) -> [cid]
    mount(name, cid, destination=None, read_write=True, propagation="", quiet=False) -> host path
    unmount(name, cid)
    size(name) -> bytes                disk_usage() -> [(Volume, size, refcount)]        (async)

``mount``/``unmount`` are safe to call from worker threads; events they publish
from there are handed to the event loop.
"""

from __future__ import annotations

import asyncio
import ctypes
import errno
import json
import logging
import os
import re
import secrets
import stat
import threading
import time
from dataclasses import dataclass

from dockyard import errdefs
from dockyard.services.events import EventBus
from dockyard.store import mount as mnt
from dockyard.store.metadata import MetadataDB, dumps
from dockyard.util import ids, units
from dockyard.util.filters import Filters

log = logging.getLogger(__name__)

DEFAULT_DRIVER = "local"
#: Docker 23+ marks the volumes it makes without a name with this label; prune removes only those by default.
ANONYMOUS_LABEL = "com.docker.volume.anonymous"

_NAME = re.compile(r"[a-zA-Z0-9][a-zA-Z0-9_.-]+\Z")
_NAME_CHARS = "[a-zA-Z0-9][a-zA-Z0-9_.-]"
_VALID_OPTS = ("type", "o", "device", "size")
# an option that needs another one (moby volume/local: mandatoryOpts)
_REQUIRED_OPTS = (("device", "type"), ("type", "device"), ("o", "device"))
_TRASH = "_trash"
_LIST_FILTERS = {"dangling", "name", "driver", "label", "label!"}
_PRUNE_FILTERS = {"label", "label!", "all"}

# moby/sys/mount: option -> (clear, flag); anything else is file-system data.
MS_RDONLY, MS_NOSUID, MS_NODEV, MS_NOEXEC, MS_SYNCHRONOUS = 1, 2, 4, 8, 16
MS_REMOUNT, MS_MANDLOCK, MS_DIRSYNC, MS_NOATIME, MS_NODIRATIME = 32, 64, 128, 1024, 2048
MS_BIND, MS_REC, MS_SILENT = 4096, 16384, 32768
MS_UNBINDABLE, MS_PRIVATE, MS_SLAVE, MS_SHARED = 1 << 17, 1 << 18, 1 << 19, 1 << 20
MS_RELATIME, MS_STRICTATIME = 1 << 21, 1 << 24
_MOUNT_FLAGS = {
    "defaults": (False, 0), "ro": (False, MS_RDONLY), "rw": (True, MS_RDONLY),
    "suid": (True, MS_NOSUID), "nosuid": (False, MS_NOSUID), "dev": (True, MS_NODEV), "nodev": (False, MS_NODEV),
    "exec": (True, MS_NOEXEC), "noexec": (False, MS_NOEXEC), "sync": (False, MS_SYNCHRONOUS),
    "async": (True, MS_SYNCHRONOUS), "dirsync": (False, MS_DIRSYNC), "remount": (False, MS_REMOUNT),
    "mand": (False, MS_MANDLOCK), "nomand": (True, MS_MANDLOCK), "atime": (True, MS_NOATIME),
    "noatime": (False, MS_NOATIME), "diratime": (True, MS_NODIRATIME), "nodiratime": (False, MS_NODIRATIME),
    "bind": (False, MS_BIND), "rbind": (False, MS_BIND | MS_REC), "unbindable": (False, MS_UNBINDABLE),
    "runbindable": (False, MS_UNBINDABLE | MS_REC), "private": (False, MS_PRIVATE),
    "rprivate": (False, MS_PRIVATE | MS_REC), "shared": (False, MS_SHARED), "rshared": (False, MS_SHARED | MS_REC),
    "slave": (False, MS_SLAVE), "rslave": (False, MS_SLAVE | MS_REC), "relatime": (False, MS_RELATIME),
    "norelatime": (True, MS_RELATIME), "strictatime": (False, MS_STRICTATIME),
    "nostrictatime": (True, MS_STRICTATIME),
}
_PROPAGATION = MS_SHARED | MS_PRIVATE | MS_SLAVE | MS_UNBINDABLE


@dataclass(frozen=True)
class Volume:
    name: str
    driver: str
    mountpoint: str          # <data-root>/volumes/<name>/_data
    created: int             # Unix time, nanoseconds
    labels: dict | None      # as given at create (None and {} differ on the wire, as in Docker)
    options: dict | None     # driver options, as given
    anonymous: bool          # made without a name
    scope: str = "local"

    @property
    def needs_mount(self) -> bool:
        """Whether the options ask for a mount on the Mountpoint (moby: ``needsMount``)."""
        return bool(self.options and (self.options.get("device") or self.options.get("type")))


class VolumeService:
    def __init__(self, *, db: MetadataDB, events: EventBus, data_root: str) -> None:
        self.db = db
        self.events = events
        self.root = os.path.join(data_root, "volumes")
        self.trash = os.path.join(self.root, _TRASH)
        _mkdir(self.root, 0o701)
        _mkdir(self.trash, 0o700)
        self._lock = threading.RLock()
        self._purge_lock = threading.Lock()
        self._pruning = False
        # name -> container ID -> [mounts, announced mounts]
        self._users: dict[str, dict[str, list[int]]] = {}
        # name -> record: a container's start and exit look its volumes up several times each, and
        # only this service writes the table (filled and emptied under _lock)
        self._known: dict[str, Volume] = {}
        try:
            self._loop: asyncio.AbstractEventLoop | None = asyncio.get_running_loop()
        except RuntimeError:
            self._loop = None
        self._purge_soon()  # what a crash left half-removed

    # -- lookups ---------------------------------------------------------------
    def _dir(self, name: str) -> str:
        return os.path.join(self.root, name)

    def _from_row(self, r) -> Volume:
        return Volume(name=r["name"], driver=r["driver"], mountpoint=os.path.join(self._dir(r["name"]), "_data"),
                      created=r["created"], labels=json.loads(r["labels"]), options=json.loads(r["options"]),
                      anonymous=bool(r["anonymous"]))

    def lookup(self, name: str) -> Volume | None:
        vol = self._known.get(name)
        if vol is not None:
            return vol
        with self._lock:
            r = self.db.query_one("SELECT * FROM volumes WHERE name=?", (name,))
            if r is None:
                return None
            vol = self._known[name] = self._from_row(r)
            return vol

    def get(self, name: str) -> Volume:
        vol = self.lookup(name)
        if vol is None:
            raise errdefs.NotFound(f"get {name}: no such volume")
        return vol

    def all(self) -> list[Volume]:
        return [self._from_row(r) for r in self.db.query("SELECT * FROM volumes ORDER BY name")]

    def _ref_counts(self) -> dict[str, int]:
        return {r[0]: r[1] for r in self.db.query("SELECT volume, COUNT(*) FROM volume_refs GROUP BY volume")}

    # -- create ----------------------------------------------------------------
    def create(self, name: str | None = None, driver: str = DEFAULT_DRIVER, driver_opts: dict | None = None,
               labels: dict | None = None, anonymous: bool = False) -> Volume:
        """A new volume, or the existing one of that name (as Docker, whatever the options say)."""
        if not name:
            name, anonymous = ids.new_id(), True
        driver = driver or DEFAULT_DRIVER
        if driver != DEFAULT_DRIVER:
            raise errdefs.NotFound(f'create {name}: error looking up volume plugin {driver}: '
                                   f'plugin "{driver}" not found')
        with self._lock:
            existing = self.lookup(name)
            if existing is not None:
                return existing
            check_name(name)
            check_options(name, driver_opts)
            labels = dict(labels) if labels is not None else None
            if anonymous:
                labels = {**(labels or {}), ANONYMOUS_LABEL: ""}
            options = dict(driver_opts) if driver_opts is not None else None
            path = self._dir(name)
            orphan = os.path.lexists(path)
            if orphan:
                self._to_trash(path)  # left by a crash between the directory and the row: not this volume's
            _mkdir(path, 0o701)
            try:
                _mkdir(os.path.join(path, "_data"), 0o755)
                created = time.time_ns()
                self.db.execute("INSERT INTO volumes (name, driver, options, labels, created, anonymous) "
                                "VALUES (?, ?, ?, ?, ?, ?)",
                                (name, driver, dumps(options), dumps(labels), created, int(anonymous)))
            except BaseException:
                self._to_trash(path)
                raise
        self._publish("create", name, driver=driver)
        if orphan:
            self._purge_soon()
        return self.get(name)

    # -- list ------------------------------------------------------------------
    def list(self, filters: Filters | None = None) -> list[Volume]:
        """Volumes by name; filters ``dangling``, ``name`` (a regular expression, any of them),
        ``driver`` (any), ``label``/``label!`` (all of them; ``label!`` is accepted here too)."""
        f = filters or Filters()
        f.validate(_LIST_FILTERS)
        dangling = None
        if "dangling" in f:
            vals = [v.lower() for v in f.get("dangling")]
            if "true" in vals or "1" in vals:
                dangling = True
            elif "false" in vals or "0" in vals:
                dangling = False
            else:
                raise errdefs.InvalidArgument(f"invalid filter 'dangling=[{' '.join(f.get('dangling'))}]'")
        names = [_search(p) for p in f.get("name")]
        counts = self._ref_counts() if dangling is not None else {}
        out = []
        for vol in self.all():
            if names and not any(m(vol.name) for m in names):
                continue
            if f.get("driver") and vol.driver not in f.get("driver"):
                continue
            if not _labels_match(f, vol.labels):
                continue
            if dangling is not None and dangling != (counts.get(vol.name, 0) == 0):
                continue
            out.append(vol)
        return out

    # -- references --------------------------------------------------------------
    def add_refs(self, container_id: str, names: list[str]) -> None:
        """``container_id`` uses the volumes: none can be removed until ``remove_refs`` (one transaction)."""
        with self._lock:
            for name in names:
                self.get(name)
            with self.db.tx() as c:
                c.executemany("INSERT OR IGNORE INTO volume_refs (volume, container) VALUES (?, ?)",
                              [(name, container_id) for name in names])

    def remove_refs(self, container_id: str, names: list[str]) -> None:
        with self.db.tx() as c:
            c.executemany("DELETE FROM volume_refs WHERE volume=? AND container=?",
                          [(name, container_id) for name in names])

    def refs(self, name: str) -> list[str]:
        """IDs of the containers using the volume, oldest reference first."""
        return [r[0] for r in self.db.query("SELECT container FROM volume_refs WHERE volume=? ORDER BY rowid",
                                            (name,))]

    # -- mounts ------------------------------------------------------------------
    def mount(self, name: str, container_id: str, *, destination: str | None = None, read_write: bool = True,
              propagation: str = "", quiet: bool = False) -> str:
        """The host path to bind into the container; the driver options' mount is made for the first user.

        With ``destination`` (a container start) Docker's ``mount`` event is published, and the
        matching ``unmount`` will publish one too; ``quiet`` registers such a use without an event
        (a restarted daemon taking back its running containers). Without it (copy-up, ``cp``) the
        use is silent."""
        vol = self.get(name)
        with self._lock:
            if vol.needs_mount and not mnt.is_mounted(vol.mountpoint):
                self._mount_options(vol)
            user = self._users.setdefault(name, {}).setdefault(container_id, [0, 0])
            user[0] += 1
            if destination is not None:
                user[1] += 1
        if destination is not None and not quiet:
            self._publish("mount", name, container=container_id, destination=destination, driver=vol.driver,
                          propagation=propagation, **{"read/write": "true" if read_write else "false"})
        return vol.mountpoint

    def unmount(self, name: str, container_id: str) -> None:
        """One use by ``container_id`` is over; the last user's going takes the options' mount away."""
        vol = self.lookup(name)
        announced = False
        with self._lock:
            users = self._users.get(name, {})
            user = users.get(container_id)
            if user is not None:
                user[0] -= 1
                if user[1] > 0:
                    user[1] -= 1
                    announced = True
                if user[0] <= 0:
                    del users[container_id]
            if not users:
                self._users.pop(name, None)
                if vol is not None and vol.needs_mount:
                    mnt.unmount(vol.mountpoint, detach=True)
        if announced and vol is not None:
            self._publish("unmount", name, container=container_id, driver=vol.driver)

    def _mount_options(self, vol: Volume) -> None:
        """moby's ``mount.Mount(device, path, type, o)``: flags from ``o``, the rest as data."""
        opts = vol.options or {}
        device = opts.get("device", "")
        # the whole of Docker's message, as `docker run` shows it (the outer part is its mount point code's)
        outer = f"error while mounting volume '{vol.mountpoint}': "
        if not device:
            raise errdefs.System(outer + "missing device in volume options")
        prefix = outer + "failed to mount local volume: "
        flags, data = parse_mount_options(opts.get("o", ""))
        target = vol.mountpoint
        oflags = flags & ~_PROPAGATION
        if not (flags & MS_REMOUNT) or data:
            _mount_call(prefix, "mount", device, target, opts.get("type", ""), oflags, data)
        if flags & _PROPAGATION:
            _mount_call(prefix, "remount", "", target, "", flags & (_PROPAGATION | MS_REC | MS_SILENT), "")
        if oflags & (MS_BIND | MS_RDONLY) == MS_BIND | MS_RDONLY:
            _mount_call(prefix, "remount-ro", "", target, "", oflags | MS_REMOUNT, "")

    # -- remove ------------------------------------------------------------------
    def remove(self, name: str, force: bool = False) -> None:
        """Delete the volume and its data; refused while a container uses it (``force`` only
        ignores a missing volume, as in Docker)."""
        self._remove(name, force)
        self._purge_soon()

    def _remove(self, name: str, force: bool = False) -> None:
        """``remove`` but for the files, which wait in the trash."""
        with self._lock:
            vol = self.lookup(name)
            if vol is None:
                if force:
                    return
                raise errdefs.NotFound(f"get {name}: no such volume")
            users = self.refs(name)
            if users:
                raise errdefs.Conflict(f"remove {name}: volume is in use - [{' '.join(users)}]")
            path = self._dir(name)
            _unmount_under(path)
            self._users.pop(name, None)
            self._known.pop(name, None)
            self.db.execute("DELETE FROM volumes WHERE name=?", (name,))
            if os.path.lexists(path):
                self._to_trash(path)
        self._publish("destroy", name, driver=vol.driver)

    def _to_trash(self, path: str) -> None:
        _unmount_under(path)
        try:
            os.rename(path, os.path.join(self.trash, f"{os.path.basename(path)}-{secrets.token_hex(4)}"))
        except FileNotFoundError:
            pass
        except OSError as e:
            raise errdefs.System(f"remove {path}: {_go_error(e)}") from None

    def purge_trash(self) -> None:
        """Delete the files of removed volumes (blocking)."""
        with self._purge_lock:
            for entry in os.listdir(self.trash):
                try:
                    remove_tree(os.path.join(self.trash, entry))
                except OSError as e:
                    log.warning("removing volume data %s: %s", entry, e)

    def _purge_soon(self) -> None:
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            self.purge_trash()
            return
        loop.run_in_executor(None, self.purge_trash)

    # -- prune -------------------------------------------------------------------
    async def prune(self, filters: Filters | None = None) -> tuple[list[str], int]:
        """Remove unused local volumes without driver options: anonymous ones only unless ``all=true``
        (Docker 23+), those matching ``label``/``label!``. Returns the names removed and the bytes
        their data took."""
        f = filters or Filters()
        all_volumes = False
        vals = f.get("all")
        if len(vals) > 1 or ("all" in f and not vals):
            raise errdefs.InvalidArgument(f"invalid filter 'all=[{' '.join(vals)}]'")
        if vals:
            parsed = _parse_bool(vals[0])
            if parsed is None:
                raise errdefs.InvalidArgument(f"invalid filter 'all=[{vals[0]}]'")
            all_volumes = parsed
        f.validate(_PRUNE_FILTERS)
        if self._pruning:
            raise errdefs.Conflict("a prune operation is already running")
        self._pruning = True
        try:
            counts = self._ref_counts()
            # as Docker: local volumes without driver options (an NFS or bind volume's data is not "unused")
            candidates = [v for v in self.all() if v.driver == DEFAULT_DRIVER and not v.options
                          and not counts.get(v.name) and _labels_match(f, v.labels)
                          and (all_volumes or ANONYMOUS_LABEL in (v.labels or {}))]
            sizes = await asyncio.get_running_loop().run_in_executor(
                None, lambda: [_safe_size(v.mountpoint) for v in candidates])
            deleted: list[str] = []
            reclaimed = 0
            for vol, size in zip(candidates, sizes):
                try:
                    self._remove(vol.name)
                except (errdefs.Conflict, errdefs.NotFound):
                    continue  # taken into use (or removed) meanwhile
                except errdefs.DockyardError as e:
                    log.warning("prune: volume %s: %s", vol.name, e)
                    continue
                deleted.append(vol.name)
                reclaimed += size
        finally:
            self._pruning = False
        self._purge_soon()
        self._publish("prune", "", reclaimed=str(reclaimed))
        return deleted, reclaimed

    # -- usage -------------------------------------------------------------------
    def size(self, name: str) -> int:
        """Bytes of the files under the volume's Mountpoint (hard links once; blocking)."""
        return dir_size(self.get(name).mountpoint)

    async def disk_usage(self) -> list[tuple[Volume, int, int]]:
        """(volume, size, reference count) of every volume, for ``system df``."""
        vols = self.all()
        counts = self._ref_counts()
        sizes = await asyncio.get_running_loop().run_in_executor(
            None, lambda: [_safe_size(v.mountpoint) for v in vols])
        return [(v, s, counts.get(v.name, 0)) for v, s in zip(vols, sizes)]

    # -- events ------------------------------------------------------------------
    def _publish(self, action: str, actor: str, **attrs: str) -> None:
        try:
            self._loop = asyncio.get_running_loop()
        except RuntimeError:
            loop = self._loop
            if loop is not None and loop.is_running():
                # a worker thread: the bus belongs to the loop
                loop.call_soon_threadsafe(lambda: self.events.publish("volume", action, actor, **attrs))
                return
        self.events.publish("volume", action, actor, **attrs)


# -- checks --------------------------------------------------------------------------

def check_name(name: str) -> None:
    """The local driver's rule for names: they become one directory name, never a path."""
    if len(name) == 1:
        raise errdefs.InvalidArgument(f"create {name}: volume name is too short, names should be at least two "
                                      f"alphanumeric characters")
    if not _NAME.match(name):
        raise errdefs.InvalidArgument(
            f'create {name}: {_quote(name)} includes invalid characters for a local volume name, only '
            f'"{_NAME_CHARS}" are allowed. If you intended to pass a host directory, use absolute path')


def check_options(name: str, opts: dict | None) -> None:
    """The local driver's options: ``type``, ``device``, ``o`` (and ``size``, which needs quotas)."""
    if not opts:
        return
    for key in sorted(opts):
        if key not in _VALID_OPTS:
            raise errdefs.InvalidArgument(f"create {name}: invalid option: {_quote(key)}")
    for opt, needs in _REQUIRED_OPTS:
        if opt in opts and needs not in opts:
            raise errdefs.InvalidArgument(f"create {name}: missing required option: {_quote(needs)}")
    if "size" in opts:
        size = ram_in_bytes(opts["size"])
        if size is None:
            raise errdefs.InvalidArgument(f"create {name}: invalid size: '{opts['size']}'")
        if size > 0:
            raise errdefs.InvalidArgument(f"create {name}: quota size requested but no quota support")


def ram_in_bytes(text: str) -> int | None:
    """go-units ``RAMInBytes`` ("10m", "1.5GiB"); None when it is not a size."""
    try:
        return units.parse_size(text, binary=True)
    except ValueError:
        return None


def parse_mount_options(options: str) -> tuple[int, str]:
    """moby/sys/mount ``parseOptions``: mount(2) flags, and the rest joined as file-system data."""
    flags, data = 0, []
    for o in options.split(","):
        known = _MOUNT_FLAGS.get(o)
        if known is not None and known[1]:
            clear, flag = known
            flags = flags & ~flag if clear else flags | flag
        else:
            data.append(o)
    return flags, ",".join(data)


def _labels_match(f: Filters, labels: dict | None) -> bool:
    if not f.match_labels(labels):
        return False
    return not ("label!" in f and f.get("label!") and f.match_labels(labels, "label!"))


def _search(pattern: str):
    """Docker's ``filters.Match``: the exact name, or a regular expression found in it."""
    try:
        rx = re.compile(pattern)
    except re.error:
        return lambda name: name == pattern
    return lambda name: name == pattern or rx.search(name) is not None


def _parse_bool(v: str) -> bool | None:
    """Go's strconv.ParseBool."""
    if v in ("1", "t", "T", "true", "TRUE", "True"):
        return True
    if v in ("0", "f", "F", "false", "FALSE", "False"):
        return False
    return None


def _quote(s: str) -> str:
    return json.dumps(s, ensure_ascii=False)


def _go_error(e: OSError) -> str:
    """An errno as Go words it: "no such file or directory"."""
    text = os.strerror(e.errno) if e.errno else str(e)
    return text[:1].lower() + text[1:]


def _mkdir(path: str, mode: int) -> None:
    try:
        os.mkdir(path, mode)
    except FileExistsError:
        pass
    os.chmod(path, mode)  # not narrowed by the umask


# -- mounts ----------------------------------------------------------------------------

_libc = ctypes.CDLL(None, use_errno=True)
_libc.mount.argtypes = [ctypes.c_char_p, ctypes.c_char_p, ctypes.c_char_p, ctypes.c_ulong, ctypes.c_char_p]


def _mount_call(prefix: str, op: str, source: str, target: str, fstype: str, flags: int, data: str) -> None:
    """mount(2), failing with moby's ``mountError`` text."""
    if _libc.mount(source.encode() or None, target.encode(), fstype.encode() or None, flags,
                   data.encode() or None) == 0:
        return
    err = OSError(ctypes.get_errno(), "")
    where = f"{source}:{target}" if source else target
    text = f"{op} {where}"
    if flags:
        text += f", flags: 0x{flags:x}"
    if data:
        text += f", data: {data}"
    raise errdefs.System(f"{prefix}{text}: {_go_error(err)}")


def _mount_points_under(path: str) -> list[str]:
    """Mount points at or below ``path`` (from /proc/self/mountinfo), deepest first."""
    path = os.path.realpath(path)
    out = []
    with open("/proc/self/mountinfo", "rb") as f:
        for line in f:
            point = _unescape(line.split()[4])
            if point == path or point.startswith(path + "/"):
                out.append(point)
    return sorted(out, key=len, reverse=True)


def _unescape(raw: bytes) -> str:
    return os.fsdecode(re.sub(rb"\\([0-7]{3})", lambda m: bytes([int(m.group(1), 8)]), raw))


def _unmount_under(path: str) -> None:
    """Detach everything mounted at or under ``path``; it is an error if something stays."""
    for point in _mount_points_under(path):
        mnt.unmount(point, detach=True)
    left = _mount_points_under(path)
    if left:
        raise errdefs.System(f"remove {path}: still mounted at {left[0]}")


# -- files -------------------------------------------------------------------------------

_DIR_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC


def remove_tree(path: str) -> None:
    """Delete ``path`` and all under it without following a symlink or entering another mount (a bind
    of the same file system included); what is mounted inside is left, and reported as an OSError."""
    try:
        top = os.lstat(path)
    except FileNotFoundError:
        return
    if not stat.S_ISDIR(top.st_mode):
        os.unlink(path)
        return
    fd = os.open(path, _DIR_FLAGS)
    try:
        if os.fstat(fd).st_ino != top.st_ino:
            raise OSError(errno.EXDEV, f"{path} changed while being removed")
        complete = _empty_dir(fd)
    finally:
        os.close(fd)
    if not complete:
        raise OSError(errno.EBUSY, f"{path}: left what is mounted inside")
    os.rmdir(path)


def _mount_id(fd: int) -> int | None:
    """The mount an open file is on (``mnt_id`` of /proc/self/fdinfo): binds of one file system differ."""
    try:
        with open(f"/proc/self/fdinfo/{fd}", "rb") as f:
            for line in f:
                if line.startswith(b"mnt_id:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return None


def _empty_dir(root_fd: int) -> bool:
    """Remove the contents of the directory open as ``root_fd``; False if something had to stay.

    Iterative (a container can nest directories deeper than Python recurses); every step is
    relative to an open directory, so a rename or a symlink swapped in meanwhile cannot lead out;
    a directory on another mount is never entered."""
    dev, mount_id = os.fstat(root_fd).st_dev, _mount_id(root_fd)
    complete = True
    # (directory fd, its entries still to look at, its name in the parent)
    stack: list[tuple[int, list[os.DirEntry], str]] = [(root_fd, list(os.scandir(root_fd)), "")]
    try:
        while stack:
            fd, entries, name = stack[-1]
            if not entries:
                stack.pop()
                if stack:
                    os.close(fd)
                    try:
                        os.rmdir(name, dir_fd=stack[-1][0])
                    except OSError as e:
                        if e.errno != errno.ENOENT:
                            complete = False
                continue
            entry = entries.pop()
            try:
                st = entry.stat(follow_symlinks=False)
                if not stat.S_ISDIR(st.st_mode):
                    os.unlink(entry.name, dir_fd=fd)  # a file mount point refuses (EBUSY)
                    continue
                if st.st_dev != dev:
                    complete = False
                    continue
                child = os.open(entry.name, _DIR_FLAGS, dir_fd=fd)
            except FileNotFoundError:
                continue
            except OSError as e:
                if e.errno != errno.EBUSY:
                    raise
                complete = False
                continue
            cst = os.fstat(child)
            if cst.st_dev != dev or cst.st_ino != st.st_ino or _mount_id(child) != mount_id:
                os.close(child)
                complete = False  # a mount point: never delete through it
                continue
            try:
                stack.append((child, list(os.scandir(child)), entry.name))
            except OSError:
                os.close(child)
                raise
    finally:
        for fd, _, _ in stack[1:]:
            os.close(fd)
    return complete


def dir_size(path: str) -> int:
    """Docker's ``directory.Size``: apparent sizes of everything but directories, each inode once;
    symlinks are counted, not followed."""
    seen: set[tuple[int, int]] = set()
    total = 0
    stack = [path]
    while stack:
        try:
            it = os.scandir(stack.pop())
        except OSError:
            continue
        with it:
            for entry in it:
                try:
                    st = entry.stat(follow_symlinks=False)
                except OSError:
                    continue
                if stat.S_ISDIR(st.st_mode):
                    stack.append(entry.path)
                    continue
                if st.st_size == 0:
                    continue
                key = (st.st_dev, st.st_ino)
                if key in seen:
                    continue
                seen.add(key)
                total += st.st_size
    return total


def _safe_size(path: str) -> int:
    try:
        return dir_size(path)
    except OSError:
        return 0
