"""Containers: their life from create to remove, and what survives a daemon restart.

Each container has an immutable part (Config, HostConfig, paths: table
``containers``) and a mutable state row (``container_state``), rewritten in one
transaction per transition. The allowed transitions are the table below; every
verb checks it first and raises a Conflict otherwise. conmon keeps the container
running while the daemon is away; at start-up ``reconcile`` reads its exit files.

    created ──start──▶ running ──exit──▶ exited ──start──▶ running
                       │   ▲
                 pause │   │ unpause
                       ▼   │
                      paused
    any non-running ──remove──▶ (gone)        running/paused ──remove(force)──▶ (gone)
"""

from __future__ import annotations

import asyncio
import contextlib
import enum
import json
import logging
import os
import re
import shutil
import socket
import time
from dataclasses import dataclass, field
from typing import Callable

from dockyard import errdefs
from dockyard.image import archive
from dockyard.image.images import ImageStore
from dockyard.network import etcfiles
from dockyard.oci import reference
from dockyard.runtime import resources as rresources
from dockyard.runtime import cgroups
from dockyard.runtime import spec as rspec
from dockyard.runtime.logs import LogRotator
from dockyard.runtime import stdio
from dockyard.runtime.monitor import ConmonMonitor, MonitorSpec
from dockyard.runtime.oci import OCIRuntime
from dockyard.runtime.users import resolve_user
from dockyard.runtime.userns import UsernsHolder
from dockyard.services import container_config as cc
from dockyard.services import container_security as csec
from dockyard.services import container_update
from dockyard.services import mounts as mnts
from dockyard.services.container_mounts import ContainerMounts
from dockyard.services.events import EventBus, label_attributes
from dockyard.services.mounts import MountPoint
from dockyard.services.networks import NetworkService
from dockyard.services import top as top_
from dockyard.store import mount as mnt
from dockyard.store.metadata import MetadataDB, dumps
from dockyard.store.snapshots.overlay import OverlaySnapshotter
from dockyard.util import ids, namegen, safepath
from dockyard.util.filters import Filters
from dockyard.util.timeutil import parse_timestamp_ns

log = logging.getLogger(__name__)


class Status(str, enum.Enum):
    CREATED = "created"
    RUNNING = "running"
    PAUSED = "paused"
    RESTARTING = "restarting"
    REMOVING = "removing"
    EXITED = "exited"
    DEAD = "dead"


@dataclass
class State:
    status: Status = Status.CREATED
    pid: int = 0
    exit_code: int = 0
    started_at: int = 0
    finished_at: int = 0
    oom_killed: bool = False
    error: str = ""
    restart_count: int = 0
    monitor_pid: int = 0
    started_once: bool = False
    health: dict | None = None

    @property
    def running(self) -> bool:
        return self.status in (Status.RUNNING, Status.PAUSED, Status.RESTARTING)


@dataclass
class Container:
    id: str
    name: str
    image_id: str
    created: int
    config: dict
    host_config: dict
    extra: dict
    state: State = field(default_factory=State)
    # runtime-only
    lock: asyncio.Lock = field(default_factory=asyncio.Lock, repr=False)
    waiters: list[tuple[str, asyncio.Future]] = field(default_factory=list, repr=False)
    pending_attach: list[asyncio.Future] = field(default_factory=list, repr=False)
    exec_ids: list[str] = field(default_factory=list, repr=False)
    stop_requested: bool = False
    runtime_cleanup: asyncio.Future | None = field(default=None, repr=False)

    @property
    def bundle(self) -> str:
        return self.extra["bundle"]

    @property
    def rootfs(self) -> str:
        return self.extra["rootfs"]

    @property
    def log_path(self) -> str:
        return self.extra["log_path"]

    @property
    def tty(self) -> bool:
        return bool(self.config.get("Tty"))


@dataclass
class Attachment:
    """A live connection to a container's stdio (conmon's attach socket), as bytes."""

    conn: stdio.ConmonAttach
    tty: bool
    stdin_open: bool

    async def read(self) -> tuple[int, bytes] | None:
        return await self.conn.read()

    async def write(self, data: bytes) -> None:
        await self.conn.write(data)

    def close_stdin(self) -> None:
        self.conn.close_stdin()

    def close(self) -> None:
        self.conn.close()

    def park(self) -> None:
        """Keep conmon's connection open but unread-from by the client (a detach).

        conmon closes a StdinOnce container's stdin when an attach client goes away; a detach must not
        do that, so the connection stays, drained, until the container exits."""
        async def drain() -> None:
            while await self.conn.read() is not None:
                pass
            self.conn.close()

        asyncio.ensure_future(drain())


# Which verbs each status allows; anything else is a Conflict.
_ALLOWED = {
    "start": {Status.CREATED, Status.EXITED},
    "pause": {Status.RUNNING},
    "unpause": {Status.PAUSED},
}


class ContainerService:
    def __init__(self, *, db: MetadataDB, images: ImageStore, snapshots: OverlaySnapshotter,
                 runtime: OCIRuntime, monitor: ConmonMonitor, events: EventBus, data_root: str,
                 log_rotator: LogRotator, mounts: ContainerMounts, networks: NetworkService,
                 init_binary: str | None = None) -> None:
        self.db = db
        self.images = images
        self.snapshots = snapshots
        self.runtime = runtime
        self.monitor = monitor
        self.events = events
        self.data_root = data_root
        self.init_binary = init_binary
        self.log_rotator = log_rotator
        self.mounts = mounts
        self.networks = networks
        networks.container_lookup = self.lookup
        self.containers_dir = os.path.join(data_root, "containers")
        self.trash_dir = os.path.join(data_root, "trash")
        os.makedirs(self.containers_dir, exist_ok=True)
        os.makedirs(self.trash_dir, exist_ok=True)
        self._by_id: dict[str, Container] = {}
        self._by_name: dict[str, str] = {}
        self._tasks: set[asyncio.Task] = set()
        self.on_exit_hooks: list[Callable[[Container], None]] = []
        # called after each successful start (API/CLI) with the seconds it took (metrics)
        self.start_timers: list[Callable[[Container, float], None]] = []
        self.userns: UsernsHolder | None = None   # the daemon's --userns-remap, when set
        self.on_start_hooks: list[Callable[[Container], None]] = []
        self.restarts = None  # the RestartManager (services/restart.py) sets itself here
        self._load()

    # -- persistence -------------------------------------------------------
    def _load(self) -> None:
        states = {r["id"]: r for r in self.db.query("SELECT * FROM container_state")}
        for r in self.db.query("SELECT * FROM containers"):
            s = states.get(r["id"])
            st = State()
            if s is not None:
                st = State(Status(s["status"]), s["pid"], s["exit_code"], s["started_at"], s["finished_at"],
                           bool(s["oom_killed"]), s["error"], s["restart_count"], s["monitor_pid"],
                           bool(s["started_once"]), json.loads(s["health"]) if s["health"] else None)
            c = Container(r["id"], r["name"], r["image_id"], r["created"], json.loads(r["config"]),
                          json.loads(r["host_config"]), json.loads(r["extra"]), st)
            c.stop_requested = bool(s["manually_stopped"]) if s is not None else False
            self._by_id[c.id] = c
            self._by_name[c.name] = c.id

    def _save_state(self, c: Container) -> None:
        s = c.state
        self.db.execute(
            "UPDATE container_state SET status=?, pid=?, exit_code=?, started_at=?, finished_at=?, oom_killed=?,"
            " error=?, restart_count=?, monitor_pid=?, started_once=?, health=?, manually_stopped=? WHERE id=?",
            (s.status.value, s.pid, s.exit_code, s.started_at, s.finished_at, int(s.oom_killed), s.error,
             s.restart_count, s.monitor_pid, int(s.started_once), dumps(s.health) if s.health else None,
             int(c.stop_requested), c.id))

    def _spawn(self, coro) -> None:
        t = asyncio.ensure_future(coro)
        self._tasks.add(t)
        t.add_done_callback(self._tasks.discard)

    # -- lookup --------------------------------------------------------------
    def get(self, ref: str) -> Container:
        """By full ID, exact name, or unique ID prefix (Docker's order)."""
        c = self._by_id.get(ref)
        if c is not None:
            return c
        cid = self._by_name.get(ref.lstrip("/"))
        if cid is not None:
            return self._by_id[cid]
        if ref and all(ch in "0123456789abcdef" for ch in ref):
            found = ids.find_by_prefix(ref, self._by_id)
            if found:
                return self._by_id[found]
        raise errdefs.NotFound(f"No such container: {ref}")

    def lookup(self, ref: str) -> Container | None:
        try:
            return self.get(ref)
        except errdefs.NotFound:
            return None

    def all(self) -> list[Container]:
        return sorted(self._by_id.values(), key=lambda c: c.created, reverse=True)

    def name_taken(self, name: str) -> bool:
        return name in self._by_name

    # -- create --------------------------------------------------------------
    async def create(self, *, name: str | None, config: dict, host_config: dict | None,
                     networking_config: dict | None = None) -> tuple[Container, list[str]]:
        warnings: list[str] = []
        if name:
            name = cc.validate_name(name)
            if name in self._by_name:
                other = self._by_name[name]
                raise errdefs.Conflict(
                    f'Conflict. The container name "/{name}" is already in use by container "{other}". '
                    f"You have to remove (or rename) that container to be able to reuse that name.")
        image_ref = config.get("Image") or ""
        if not image_ref:
            raise errdefs.InvalidArgument("No image was specified")
        img = self.images.lookup(image_ref)
        if img is None:
            try:
                shown = reference.parse(image_ref).familiar()
            except errdefs.InvalidArgument:
                raise errdefs.InvalidArgument(f"invalid reference format: repository name ({image_ref}) "
                                              "must be lowercase") from None
            raise errdefs.NotFound(f"No such image: {shown}")
        hc = cc.normalize_host_config(host_config, masked=host_config and host_config.get("MaskedPaths") or
                                      rspec.MASKED_PATHS, readonly=rspec.READONLY_PATHS,
                                      runtime=self.runtime.name, warnings=warnings)
        csec.check_create(hc, self.lookup, remapped=self.userns is not None)
        net_plan = self._check_network_mode(hc, networking_config, config.get("MacAddress") or "",
                                            config.get("ExposedPorts"))
        validate_log_config(hc)
        merged = cc.merge_image_config(config, img.container_config)
        path, args = cc.command_of(merged)
        inherited = []
        for spec in hc.get("VolumesFrom") or []:
            source, mode = mnts.parse_volumes_from(spec)
            inherited.append(mnts.inherit(self.mount_points(self.get(source)), mode))
        plan = mnts.plan(hc, merged.get("Volumes"), inherited)

        cid = ids.new_id()
        if not name:
            name = namegen.random_name(self.name_taken)
        if not merged.get("Hostname"):
            merged["Hostname"] = socket.gethostname() if hc["NetworkMode"] == "host" else cid[:12]
        merged["Image"] = image_ref

        bundle = os.path.join(self.containers_dir, cid)
        os.makedirs(bundle, mode=0o710)
        try:
            rootfs = self._prepare_layers(cid, img.top_layer)
        except BaseException:
            shutil.rmtree(bundle, ignore_errors=True)
            raise
        try:
            plan = await self._prepare_mounts(cid, rootfs, hc, plan)
        except BaseException:
            self._release_layers(cid)
            shutil.rmtree(bundle, ignore_errors=True)
            raise
        extra = {
            "path": path, "args": args, "bundle": bundle, "rootfs": rootfs,
            "log_path": os.path.join(bundle, f"{cid}-json.log"),
            "resolv_conf_path": os.path.join(bundle, "resolv.conf"),
            "hostname_path": os.path.join(bundle, "hostname"),
            "hosts_path": os.path.join(bundle, "hosts"),
            "platform": "linux",
            "mounts": [mp.to_json() for mp in plan],
        }
        now = time.time_ns()
        c = Container(cid, name, img.id, now, merged, hc, extra)
        try:
            with self.db.tx() as tx:
                tx.execute("INSERT INTO containers (id, name, image_id, created, config, host_config, extra)"
                           " VALUES (?,?,?,?,?,?,?)", (cid, name, img.id, now, dumps(merged), dumps(hc), dumps(extra)))
                tx.execute("INSERT INTO container_state (id, status) VALUES (?, ?)", (cid, Status.CREATED.value))
                self.networks.record(cid, net_plan)
        except Exception as e:
            self._release_layers(cid)
            shutil.rmtree(bundle, ignore_errors=True)
            if "UNIQUE" in str(e) and "name" in str(e):
                raise errdefs.Conflict(f'Conflict. The container name "/{name}" is already in use.') from None
            raise
        self._by_id[cid] = c
        self._by_name[name] = cid
        self.events.publish("container", "create", cid, image=image_ref, name=name, **self._labels(c))
        return c, warnings

    async def _prepare_mounts(self, cid: str, rootfs: str, hc: dict, plan: list[MountPoint]) -> list[MountPoint]:
        """Volumes made (and filled from the image, as Docker fills a new volume at create)."""
        explicit = {mp.destination for mp in (mnts.parse_bind(b) for b in hc.get("Binds") or [])
                    if mp.type == "bind"}
        plan = self.mounts.prepare(cid, plan, explicit)
        if self.mounts.may_fill(self.snapshots.lower_dirs(cid), plan):
            mnt.mount_all(self.snapshots.mounts(cid), rootfs)
            try:
                await asyncio.get_running_loop().run_in_executor(None, self.mounts.fill, cid, rootfs, plan)
            finally:
                mnt.unmount(rootfs)
        return plan

    @contextlib.asynccontextmanager
    async def mounted_root(self, ref: str):
        """A directory where a stopped container's filesystem is seen whole: rootfs plus its volumes and
        bind mounts (``docker cp`` into a stopped container). Held under the container's lock."""
        c = self.get(ref)
        async with c.lock:
            if c.state.running:
                raise errdefs.Conflict(f"container {c.id} is running: use its own root")
            mnt.mount_all(self.snapshots.mounts(c.id), c.rootfs)
            done: list[str] = []
            try:
                for mp in mnts.sorted_for_mounting(self.mount_points(c)):
                    if mp.type == "tmpfs":
                        continue
                    source = mp.source if mp.type == "bind" else self.mounts.volumes.mount(mp.name, c.id)
                    if not os.path.exists(source):
                        continue
                    if os.path.isdir(source):
                        fd = safepath.mkdir_all_in_root(c.rootfs, mp.destination, 0o755)
                    else:
                        parent = safepath.mkdir_all_in_root(c.rootfs, os.path.dirname(mp.destination), 0o755)
                        try:
                            os.close(os.open(os.path.basename(mp.destination), os.O_CREAT | os.O_NOFOLLOW |
                                             os.O_CLOEXEC, 0o644, dir_fd=parent))
                            fd = safepath.open_in_root(c.rootfs, mp.destination, os.O_PATH | os.O_NOFOLLOW)
                        finally:
                            os.close(parent)
                    try:
                        # mounted on the fd's own path: a symlink swapped in meanwhile cannot redirect it
                        target = f"/proc/self/fd/{fd}"
                        mnt.bind(source, target, readonly=not mp.rw)
                        done.append(os.path.realpath(target))
                    finally:
                        os.close(fd)
                yield c.rootfs
            finally:
                for target in reversed(done):
                    mnt.unmount(target, detach=True)
                for mp in self.mount_points(c):
                    if mp.type == "volume" and mp.name:
                        self.mounts.volumes.unmount(mp.name, c.id)
                mnt.unmount(c.rootfs)

    @staticmethod
    def mount_points(c: Container) -> list[MountPoint]:
        return [MountPoint.from_json(m) for m in c.extra.get("mounts") or []]

    def _check_network_mode(self, hc: dict, networking_config: dict | None, mac: str,
                            exposed_ports: dict | None) -> dict:
        mode = hc["NetworkMode"]
        # refuses conflicting options first, as dockerd
        plan = self.networks.plan(hc, networking_config, mac, exposed_ports)
        if mode.startswith("container:"):
            self.get(mode.split(":", 1)[1])
        return plan

    def _prepare_layers(self, cid: str, image_top: str | None) -> str:
        """The container's own layer, over the image's init layer.

        The init layer holds the files Docker's runtime binds over (/etc/hosts, /.dockerenv...) where the
        image lacks them; it is the same for every container of an image, so it is made once and shared."""
        init_key = f"init:{image_top or 'scratch'}"
        if not self.snapshots.exists(init_key):
            tmp = f"{init_key}-{cid[:12]}"
            self.snapshots.prepare(tmp, image_top)
            try:
                _populate_init_layer(self.snapshots.upper_dir(tmp),
                                     self.snapshots.lower_dirs(tmp) if image_top else [])
                self.snapshots.commit(init_key, tmp)
            except BaseException:
                if self.snapshots.exists(tmp):
                    self.snapshots.remove(tmp)
                raise
        self.snapshots.prepare(cid, init_key)
        rootfs = os.path.join(self.snapshots.dir(cid), "merged")
        os.makedirs(rootfs, exist_ok=True)
        return rootfs

    def _release_layers(self, cid: str) -> None:
        """Drop the container's layer; the shared init layer stays while its image does."""
        if not self.snapshots.exists(cid):
            return
        init_key = self.snapshots.stat(cid).parent
        self.snapshots.remove(cid)
        if not init_key or not init_key.startswith("init:") or self.snapshots.children(init_key):
            return
        top = self.snapshots.stat(init_key).parent
        if top is None or not self.images.layer_in_use(top):
            # the image went (rmi -f) while this container used it: its layers go with the last container
            self.snapshots.remove(init_key)
            if top is not None:
                self.images.release_layers(list(reversed(self.snapshots.chain(top))))

    def purge_trash(self) -> None:
        """Delete the files of removed containers and snapshots (blocking; run in a thread)."""
        for name in os.listdir(self.trash_dir):
            shutil.rmtree(os.path.join(self.trash_dir, name), ignore_errors=True)
        self.snapshots.purge_trash()

    @staticmethod
    def _labels(c: Container) -> dict[str, str]:
        return label_attributes(c.config.get("Labels"))

    # -- start ---------------------------------------------------------------
    async def start(self, ref: str) -> None:
        c = self.get(ref)
        t0 = time.monotonic()
        async with c.lock:
            await self._start_locked(c)
        for timer in self.start_timers:
            timer(c, time.monotonic() - t0)

    async def _start_locked(self, c: Container, *, by_user: bool = True) -> None:
        if c.state.status == Status.PAUSED:
            raise errdefs.Conflict("cannot start a paused container, try unpause instead")
        if c.state.running and (by_user or c.state.status != Status.RESTARTING):
            raise errdefs.NotModified("container already started")
        if c.state.status == Status.REMOVING:
            raise errdefs.Conflict(f"container is marked for removal and cannot be started")
        hc = c.host_config
        c.stop_requested = False
        if by_user:  # a start by the user (not by the restart policy) starts its count over, as Docker
            c.state.restart_count = 0
            if self.restarts is not None:
                self.restarts.reset(c)
        if c.runtime_cleanup is not None:
            await c.runtime_cleanup
            c.runtime_cleanup = None
        await self.runtime.clear_stale(c.id)
        try:
            netns_path = await self.networks.setup(c)
        except errdefs.DockyardError as e:
            raise await self._start_failed(c, e) from None
        try:
            self._mount_rootfs(c)
            spec = self._build_spec(c, netns_path)
            with open(os.path.join(c.bundle, "config.json"), "w") as f:
                f.write(json.dumps(spec))  # json.dump would use the slow pure-Python encoder
            pid = await self.monitor.create(MonitorSpec(
                container_id=c.id, bundle=c.bundle, log_path=c.log_path, tty=c.tty,
                stdin=bool(c.config.get("OpenStdin")), stdin_once=bool(c.config.get("StdinOnce")),
                log_size_max=LogRotator.monitor_limit(*log_opts(hc))))
        except errdefs.DockyardError as e:
            self._unmount_rootfs(c)
            await self.networks.teardown(c)
            raise await self._start_failed(c, e) from None
        self.log_rotator.watch(c.log_path, c.bundle, *log_opts(hc))
        # Attachers waiting for this start connect now, between create and start: no output is lost.
        await self._connect_pending_attach(c)
        try:
            await self.runtime.start(c.id)
        except errdefs.DockyardError as e:
            await self.runtime.delete(c.id, force=True)
            self._unmount_rootfs(c)
            await self.networks.teardown(c)
            raise await self._start_failed(c, e) from None
        s = c.state
        s.status, s.pid, s.started_at, s.exit_code, s.error = Status.RUNNING, pid, time.time_ns(), 0, ""
        s.finished_at, s.oom_killed, s.started_once = s.finished_at, False, True
        s.monitor_pid = self.monitor.monitor_pid(c.bundle)
        self._save_state(c)
        self.events.publish("container", "start", c.id, image=c.config.get("Image"), name=c.name, **self._labels(c))
        for hook in self.on_start_hooks:
            hook(c)
        # The process may already have exited (and its exit file been seen) before we recorded RUNNING.
        if self.monitor.read_exit_code(c.id) is not None:
            self._spawn(self._handle_exit(c.id))

    async def _start_failed(self, c: Container, err: errdefs.DockyardError) -> errdefs.DockyardError:
        """Record a failed start as Docker does; returns the error to raise (400 when the command is at fault)."""
        msg = str(err)
        low = msg.lower()
        code = 127 if ("executable file not found" in low or "no such file or directory" in low) else \
            126 if ("permission denied" in low or "exec format error" in low) else 128
        if getattr(err, "spec_error", False):  # the spec could not be made (a missing --device): not the command
            code = 128
        c.state.error, c.state.exit_code = msg, code
        if c.state.status not in (Status.CREATED, Status.EXITED):
            c.state.status = Status.EXITED
        self._save_state(c)
        for fut in c.pending_attach:
            if not fut.done():
                fut.set_exception(errdefs.Conflict(msg))
        c.pending_attach.clear()
        self._resolve_waiters(c, ("next-exit", "not-running"), code)
        if c.host_config.get("AutoRemove"):
            self._spawn(self._auto_remove(c))  # --rm: a client waits for the removal, started or not
        if code in (126, 127):
            return errdefs.InvalidArgument(msg)
        return err

    def _mount_rootfs(self, c: Container) -> None:
        if mnt.is_mounted(c.rootfs):
            return
        mnt.mount_all(csec.rootfs_mounts(self.snapshots, c, self.userns), c.rootfs)
        if self.userns is not None:
            csec.prepare_bundle(c, self.userns, [mp.source for mp in self.mount_points(c)
                                                 if mp.type == "volume" and mp.source])

    def _unmount_rootfs(self, c: Container) -> None:
        csec.release(c)  # a shareable /dev/shm
        try:
            mnt.unmount(c.rootfs)
        except errdefs.DockyardError as e:
            log.warning("unmounting %s: %s", c.rootfs, e)

    def _build_spec(self, c: Container, netns_path: str | None) -> dict:
        cfg, hc = c.config, c.host_config
        user = resolve_user(c.rootfs, cfg.get("User") or "", hc.get("GroupAdd"))
        hostname = cfg.get("Hostname") or c.id[:12]
        mode = hc.get("NetworkMode") or "default"
        network = "host" if mode == "host" else netns_path or "new"
        if mode.startswith("container:"):
            other = self.get(mode.split(":", 1)[1])
            if not other.state.running:
                raise errdefs.Conflict(f"cannot join network of a non running container: {other.id}")
            network = f"/proc/{other.state.pid}/ns/net"
        self._write_etc_files(c, hostname, host_network=(mode == "host"))
        env = rspec.build_env([*self.networks.link_env(c), *(cfg.get("Env") or [])], hostname, c.tty)
        use_init = hc.get("Init")
        inp = rspec.SpecInput(
            args=[c.extra["path"], *c.extra["args"]], env=env, cwd=cfg.get("WorkingDir") or "/", user=user,
            rootfs=c.rootfs, hostname=hostname, domainname=cfg.get("Domainname") or "", tty=c.tty,
            readonly_rootfs=bool(hc.get("ReadonlyRootfs")), network=network,
            shm_size=hc.get("ShmSize") or cc.DEFAULT_SHM_SIZE,
            cgroups_path=os.path.join(hc.get("CgroupParent") or "/dockyard", c.id),
            etc_files={"/etc/resolv.conf": c.extra["resolv_conf_path"], "/etc/hostname": c.extra["hostname_path"],
                       "/etc/hosts": c.extra["hosts_path"]},
            init_binary=self.init_binary if use_init else None,
            extra_mounts=self.mounts.spec_mounts(c.id, self.mount_points(c)),
            privileges=csec.privileges(hc), namespaces=csec.namespace_modes(c, self.get, self.userns),
        )
        spec = rspec.build_spec(inp)
        rresources.apply(spec, hc)  # cgroup limits, rlimits, sysctls
        if hc.get("MaskedPaths") is not None:
            spec["linux"]["maskedPaths"] = hc["MaskedPaths"]
        if hc.get("ReadonlyPaths") is not None:
            spec["linux"]["readonlyPaths"] = hc["ReadonlyPaths"]
        rspec.bind_cgroup_hierarchies(spec, cgroups.container_binds(inp.cgroups_path))
        return spec

    def _write_etc_files(self, c: Container, hostname: str, host_network: bool) -> None:
        hc = c.host_config
        with open(c.extra["hostname_path"], "w") as f:
            f.write(hostname + "\n")
        extra_hosts = []
        for entry in hc.get("ExtraHosts") or []:
            host, _, addr = entry.partition(":")
            if addr == "host-gateway":
                addr = self.networks.default_gateway() or "127.0.0.1"
            extra_hosts.append((host, addr))
        host_resolv = etcfiles.read_host_file("/etc/resolv.conf")
        if host_network:
            hosts = etcfiles.read_host_file("/etc/hosts")
            hosts += "".join(f"{a}\t{h}\n" for h, a in extra_hosts)
            resolv = etcfiles.resolv_conf(host_resolv, dns=hc.get("Dns") or [], search=hc.get("DnsSearch") or [],
                                          options=hc.get("DnsOptions") or [], keep_local=True)
        else:
            own_ip, links = self.networks.etc_hosts_entries(c)
            hosts = etcfiles.hosts_file(hostname, c.config.get("Domainname") or "", own_ip,
                                        [*extra_hosts, *[(names, ip) for names, ip in links]])
            resolv = self.networks.resolv_conf(c, host_resolv)
        with open(c.extra["hosts_path"], "w") as f:
            f.write(hosts)
        with open(c.extra["resolv_conf_path"], "w") as f:
            f.write(resolv)

    # -- exit ----------------------------------------------------------------
    def notify_exit(self, cid: str) -> None:
        """Called by the exit watcher when conmon wrote ``<exit_dir>/<cid>``."""
        if cid in self._by_id:
            self._spawn(self._handle_exit(cid))

    async def _handle_exit(self, cid: str) -> None:
        c = self._by_id.get(cid)
        if c is None:
            return
        async with c.lock:
            if not c.state.running:
                return
            code = self.monitor.read_exit_code(cid)
            if code is None:
                return
            await self._mark_exited(c, code)
        self._after_exit(c)

    async def _mark_exited(self, c: Container, code: int, *, apply_policy: bool = True) -> None:
        s = c.state
        s.status, s.pid, s.exit_code, s.finished_at = Status.EXITED, 0, code & 0xFF, time.time_ns()
        s.oom_killed = self.monitor.oom_killed(c.id) or rresources.oom_kills(
            os.path.join(c.host_config.get("CgroupParent") or "/dockyard", c.id)) > 0
        s.monitor_pid = 0
        if s.health:
            s.health["Status"] = "unhealthy"  # as Docker leaves a stopped container's health
        if apply_policy and self.restarts is not None and self.restarts.should_restart(c, s.exit_code):
            # Docker's SetRestarting: still "running" to every verb, with no process; the restart
            # manager starts it again after its back-off (an exit hook schedules it)
            s.status = Status.RESTARTING
            s.restart_count += 1
        self._save_state(c)
        if s.oom_killed:
            self.events.publish("container", "oom", c.id, image=c.config.get("Image"), name=c.name, **self._labels(c))
        self.events.publish("container", "die", c.id, exitCode=str(s.exit_code), image=c.config.get("Image"),
                            name=c.name, **self._labels(c))
        # Waiters learn the exit now; the cleanup below still holds the lock, so a start or a remove
        # that follows waits for it.
        self._resolve_waiters(c, ("next-exit", "not-running"), s.exit_code)
        self.log_rotator.unwatch(c.log_path)
        self._unmount_rootfs(c)
        self.mounts.release(c.id, self.mount_points(c))
        await self.networks.teardown(c)
        self.monitor.forget(c.id)
        # runc's own record of the container (state dir, cgroup) goes in the background: only a
        # new start of this container needs it gone, and it waits for it.
        c.runtime_cleanup = asyncio.ensure_future(self.runtime.delete(c.id, force=True))

    def _after_exit(self, c: Container) -> None:
        for hook in self.on_exit_hooks:
            hook(c)
        if c.state.status == Status.RESTARTING:
            return
        if c.host_config.get("AutoRemove"):
            self._spawn(self._auto_remove(c))

    async def restart_now(self, c: Container) -> None:
        """The restart policy's start (under the lock) of a container in ``restarting``; it stays
        ``restarting`` until the process runs (exited if that fails)."""
        await self._start_locked(c, by_user=False)

    async def _cancel_restart(self, c: Container) -> bool:
        """A stop, kill or removal by the user while the container waits to restart: it stays exited.

        Returns whether it was waiting (then no process is left to signal)."""
        if self.restarts is not None:
            self.restarts.cancel(c)
        if c.state.status != Status.RESTARTING:
            return False
        async with c.lock:
            if c.state.status != Status.RESTARTING:
                return False
            c.state.status = Status.EXITED
            self._save_state(c)
            self._resolve_waiters(c, ("next-exit", "not-running"), c.state.exit_code)
        return True

    async def _auto_remove(self, c: Container) -> None:
        try:
            await self.remove(c.id, force=False, volumes=True)
        except errdefs.NotFound:
            pass
        except errdefs.DockyardError as e:
            log.warning("auto-remove of %s: %s", c.id[:12], e)

    def _resolve_waiters(self, c: Container, conditions: tuple[str, ...], code: int) -> None:
        keep = []
        for cond, fut in c.waiters:
            if cond in conditions:
                if not fut.done():
                    fut.set_result(code)
            else:
                keep.append((cond, fut))
        c.waiters = keep

    # -- wait ----------------------------------------------------------------
    def register_wait(self, ref: str, condition: str) -> asyncio.Future:
        """A future for the exit code, registered now (the caller may flush headers before awaiting)."""
        if condition not in ("not-running", "next-exit", "removed", ""):
            raise errdefs.InvalidArgument(f"invalid condition: {condition!r}")
        c = self.get(ref)
        fut = asyncio.get_running_loop().create_future()
        condition = condition or "not-running"
        if condition == "not-running" and not c.state.running:
            fut.set_result(c.state.exit_code)
            return fut
        c.waiters.append((condition, fut))
        return fut

    # -- stop / kill ---------------------------------------------------------
    async def kill(self, ref: str, signal: str | int | None = None) -> None:
        c = self.get(ref)
        sig = cc.parse_signal(signal, default=9)
        if not c.state.running:
            raise errdefs.Conflict(f"Container {c.id} is not running")
        # Docker's HasBeenManuallyStopped and ExitOnNext: any kill by the user ends the restart policy's
        # hold; a container waiting to restart just stays down (no signal, no event)
        self._set_stop_requested(c)
        if await self._cancel_restart(c):
            return
        exited = self.register_wait(c.id, "not-running") if sig == 9 else None
        await self._signal(c, sig)
        if exited is not None:
            # Docker's Kill: SIGKILL returns once the container is seen stopped (inspect says exited)
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(exited, 10)

    def _set_stop_requested(self, c: Container) -> None:
        if not c.stop_requested:
            c.stop_requested = True
            self._save_state(c)

    async def _signal(self, c: Container, sig: int) -> None:
        self.events.publish("container", "kill", c.id, image=c.config.get("Image"), name=c.name,
                            signal=str(sig), **self._labels(c))
        try:
            await self.runtime.kill(c.id, sig)
        except errdefs.NotFound:
            return
        except errdefs.System as e:
            if "not running" in str(e) or "process already finished" in str(e):
                return
            raise
        if c.state.status == Status.PAUSED and sig == 9:
            # a frozen process only dies once thawed (runc may have thawed it already)
            await self._resume_quietly(c)

    async def _resume_quietly(self, c: Container) -> None:
        try:
            await self.runtime.resume(c.id)
        except errdefs.NotFound:
            return  # it died and its exit was handled (runc's record deleted) before the thaw came
        except errdefs.DockyardError as e:
            if "not paused" not in str(e) and "not running" not in str(e):
                raise

    async def stop(self, ref: str, timeout: int | None = None, signal: str | None = None) -> None:
        c = self.get(ref)
        if not c.state.running:
            raise errdefs.NotModified("container already stopped")
        self._set_stop_requested(c)
        if not await self._cancel_restart(c):
            await self._stop(c, timeout, signal)
        self.events.publish("container", "stop", c.id, image=c.config.get("Image"), name=c.name, **self._labels(c))

    async def _stop(self, c: Container, timeout: int | None, signal: str | None) -> None:
        if timeout is None:
            timeout = c.config.get("StopTimeout")
            if timeout is None:
                timeout = 10
        sig = cc.parse_signal(signal or c.config.get("StopSignal"), default=15)
        fut = self.register_wait(c.id, "not-running")
        if fut.done():
            return
        if c.state.status == Status.PAUSED and sig != 9:
            await self._signal(c, sig)
            await self._resume_quietly(c)
        else:
            await self._signal(c, sig)
        if timeout < 0:
            await fut
            return
        try:
            await asyncio.wait_for(asyncio.shield(fut), timeout)
            return
        except asyncio.TimeoutError:
            pass
        await self._signal(c, 9)
        try:
            await asyncio.wait_for(asyncio.shield(fut), 30)
        except asyncio.TimeoutError:
            raise errdefs.System(f"container {c.id} did not exit after SIGKILL") from None

    async def restart(self, ref: str, timeout: int | None = None, signal: str | None = None) -> None:
        c = self.get(ref)
        if c.state.running:
            self._set_stop_requested(c)
            if not await self._cancel_restart(c):
                await self._stop(c, timeout, signal)
            self.events.publish("container", "stop", c.id, image=c.config.get("Image"), name=c.name,
                                **self._labels(c))
        async with c.lock:
            await self._start_locked(c)
        self.events.publish("container", "restart", c.id, image=c.config.get("Image"), name=c.name,
                            **self._labels(c))

    # -- pause ---------------------------------------------------------------
    async def pause(self, ref: str) -> None:
        c = self.get(ref)
        async with c.lock:
            if c.state.status == Status.PAUSED:
                raise errdefs.Conflict(f"Container {c.id} is already paused")
            if c.state.status == Status.RESTARTING:
                raise errdefs.Conflict(f"Container {c.id} is restarting, wait until the container is running")
            if c.state.status != Status.RUNNING:
                raise errdefs.Conflict(f"Container {c.id} is not running")
            await self.runtime.pause(c.id)
            c.state.status = Status.PAUSED
            self._save_state(c)
        self.events.publish("container", "pause", c.id, image=c.config.get("Image"), name=c.name, **self._labels(c))

    async def unpause(self, ref: str) -> None:
        c = self.get(ref)
        async with c.lock:
            if c.state.status != Status.PAUSED:
                raise errdefs.Conflict(f"Container {c.id} is not paused")
            await self.runtime.resume(c.id)
            c.state.status = Status.RUNNING
            self._save_state(c)
        self.events.publish("container", "unpause", c.id, image=c.config.get("Image"), name=c.name,
                            **self._labels(c))

    # -- remove --------------------------------------------------------------
    async def remove(self, ref: str, *, force: bool = False, volumes: bool = False) -> None:
        c = self.get(ref)
        if c.state.status == Status.REMOVING:
            raise errdefs.Conflict(f"removal of container {c.id[:12]} is already in progress")
        if c.state.running:
            if not force:
                state = c.state.status.value if c.state.status in (Status.PAUSED, Status.RESTARTING) else "running"
                raise errdefs.Conflict(
                    f"You cannot remove a {state} container {c.id}. Stop the container before attempting "
                    f"removal or force remove")
            c.stop_requested = True
            fut = self.register_wait(c.id, "not-running")
            if not await self._cancel_restart(c):
                await self._signal(c, 9)
            try:
                await asyncio.wait_for(asyncio.shield(fut), 30)
            except asyncio.TimeoutError:
                raise errdefs.System(f"could not kill running container {c.id}, cannot remove") from None
        async with c.lock:
            if c.id not in self._by_id:
                return
            cleaned = c.state.status in (Status.EXITED, Status.CREATED)  # runc's state went at exit
            c.state.status = Status.REMOVING
            self._save_state(c)
            if not cleaned:
                await self.runtime.delete(c.id, force=True)
            self._unmount_rootfs(c)
            self.monitor.forget(c.id)
            self._release_layers(c.id)
            self.mounts.forget(c.id, self.mount_points(c), remove_anonymous=volumes)
            self.networks.forget(c.id)
            self.db.execute("DELETE FROM containers WHERE id=?", (c.id,))
            os.rename(c.bundle, os.path.join(self.trash_dir, c.id))
            # the files go in a thread: large ones must not stall the loop
            asyncio.get_running_loop().run_in_executor(None, self.purge_trash)
            self._by_id.pop(c.id, None)
            if self._by_name.get(c.name) == c.id:
                del self._by_name[c.name]
            if self.restarts is not None:
                self.restarts.forget(c.id)
        self.events.publish("container", "destroy", c.id, image=c.config.get("Image"), name=c.name,
                            **self._labels(c))
        for fut in c.pending_attach:
            if not fut.done():
                fut.set_exception(errdefs.NotFound(f"No such container: {c.id}"))
        self._resolve_waiters(c, ("removed", "next-exit", "not-running"), c.state.exit_code)

    # -- attach --------------------------------------------------------------
    async def attach(self, ref: str, *, begun: bool = False) -> Attachment:
        """Connect to the container's stdio now if it runs, else at its next start.

        ``begun``: the caller (the API route) already called ``begin_attach``."""
        c = self.get(ref) if begun else self.begin_attach(ref)
        if c.state.running:
            conn = await stdio.ConmonAttach.connect(c.bundle)
        else:
            fut = asyncio.get_running_loop().create_future()
            c.pending_attach.append(fut)
            conn = await fut
        return Attachment(conn, c.tty, bool(c.config.get("OpenStdin")))

    def begin_attach(self, ref: str) -> Container:
        """Docker's checks and ``attach`` event, before any stream is hijacked (also for ``stream=0``)."""
        c = self.get(ref)
        if c.state.status == Status.RESTARTING:
            raise errdefs.Conflict(f"container {ref} is restarting, wait until the container is running")
        self.events.publish("container", "attach", c.id, image=c.config.get("Image"), name=c.name, **self._labels(c))
        return c

    async def _connect_pending_attach(self, c: Container) -> None:
        pending, c.pending_attach = c.pending_attach, []
        for fut in pending:
            if fut.done():
                continue
            try:
                fut.set_result(await stdio.ConmonAttach.connect(c.bundle))
            except errdefs.DockyardError as e:
                fut.set_exception(e)

    def resize(self, ref: str, height: int, width: int) -> None:
        c = self.get(ref)
        if not c.state.running:
            raise errdefs.Conflict(f"Container {c.id} is not running")
        stdio.resize(c.bundle, height, width)
        self.events.publish("container", "resize", c.id, height=str(height), image=c.config.get("Image"),
                            name=c.name, width=str(width), **self._labels(c))

    # -- inspection ----------------------------------------------------------
    async def top(self, ref: str, ps_args: str = "-ef") -> dict:
        c = self.get(ref)
        if not c.state.running:
            raise errdefs.Conflict(f"Container {c.id} is not running")
        if c.state.status == Status.RESTARTING:
            raise errdefs.Conflict(f"Container {c.id} is restarting, wait until the container is running")
        # the cgroup's process list (a file read; runc ps only when the cgroup cannot be found)
        pids = cgroups.procs(cgroups.locate(os.path.join(c.host_config.get("CgroupParent") or "/dockyard", c.id),
                                            c.state.pid))
        if pids is None:
            pids = await self.runtime.pids(c.id)
        result = await top_.top(pids, ps_args)
        self.events.publish("container", "top", c.id, image=c.config.get("Image"), name=c.name, **self._labels(c))
        return result

    async def update(self, ref: str, body: dict) -> list[str]:
        """New resource limits / restart policy (services/container_update.py); the warnings."""
        c = self.get(ref)
        async with c.lock:
            return await container_update.update(self, c, body)

    def rename(self, ref: str, new_name: str) -> None:
        c = self.get(ref)
        new = cc.validate_name(new_name)
        if new == c.name:
            raise errdefs.Conflict(f"Renaming a container with the same name as its current name")
        if new in self._by_name:
            raise errdefs.Conflict(f'Conflict. The container name "/{new}" is already in use by container '
                                   f'"{self._by_name[new]}". You have to remove (or rename) that container to be '
                                   f"able to reuse that name.")
        old = c.name
        self.db.execute("UPDATE containers SET name=? WHERE id=?", (new, c.id))
        del self._by_name[old]
        self._by_name[new] = c.id
        c.name = new
        self.events.publish("container", "rename", c.id, image=c.config.get("Image"), name=new,
                            oldName="/" + old, **self._labels(c))

    def changes(self, ref: str) -> list[tuple[str, str]]:
        c = self.get(ref)
        return archive.changes(self.snapshots.upper_dir(c.id), self.snapshots.lower_dirs(c.id))

    def export(self, ref: str, out) -> None:
        """Write the container's filesystem as a tar to ``out`` (blocking: run in a thread)."""
        c = self.get(ref)
        mounted_here = False
        if not mnt.is_mounted(c.rootfs):
            mnt.mount_all(self.snapshots.mounts(c.id), c.rootfs)
            mounted_here = True
        try:
            archive.export_tree(c.rootfs, out, id_map=csec.id_map_for(c, self.userns))
        finally:
            if mounted_here and not c.state.running:
                mnt.unmount(c.rootfs)

    def size(self, c: Container) -> tuple[int, int]:
        """(SizeRw, SizeRootFs)."""
        rw = self.snapshots.usage(c.id)
        img = self.images.lookup(c.image_id)
        base = img.size if img else 0
        return rw, rw + base

    def list(self, *, all: bool = False, limit: int = -1, filters: Filters | None = None) -> list[Container]:
        f = filters or Filters()
        f.validate({"id", "name", "label", "status", "ancestor", "exited", "before", "since", "volume",
                    "network", "health", "isolation", "publish", "expose", "is-task"})
        for st in f.get("status"):
            if st not in {s.value for s in Status}:
                raise errdefs.InvalidArgument(f"invalid filter 'status={st}'")
        for h in f.get("health"):
            if h not in ("starting", "healthy", "unhealthy", "none"):
                raise errdefs.InvalidArgument(f"Unrecognised filter value for health: {h}")
        out = []
        before = self.get(f.get("before")[0]).created if f.get("before") else None
        since = self.get(f.get("since")[0]).created if f.get("since") else None
        ancestors: set[str] | None = None
        if f.get("ancestor"):
            ancestors = set()
            for a in f.get("ancestor"):
                img = self.images.lookup(a)
                if img is not None:
                    ancestors.add(img.id)
        statuses, ids, names = f.get("status"), f.get("id"), f.get("name")
        healths, exited, labels = f.get("health"), f.get("exited"), bool(f.get("label"))
        only_running = not all and not statuses and before is None and since is None and limit <= 0
        for c in self.all():
            if only_running and not c.state.running:
                continue
            if statuses and c.state.status.value not in statuses:
                continue
            if ids and not any(c.id.startswith(i) for i in ids):
                continue
            if names and not any(_name_match(n, c.name) for n in names):
                continue
            if labels and not f.match_labels(c.config.get("Labels")):
                continue
            if healths and ((c.state.health or {}).get("Status") or "none") not in healths:
                continue
            if exited:
                if c.state.status != Status.EXITED or str(c.state.exit_code) not in exited:
                    continue
            if before is not None and c.created >= before:
                continue
            if since is not None and c.created <= since:
                continue
            if ancestors is not None and c.image_id not in ancestors:
                continue
            out.append(c)
        if limit > 0:
            out = out[:limit]
        return out

    async def prune(self, filters: Filters) -> tuple[list[str], int]:
        filters.validate({"until", "label", "label!"})
        until = parse_timestamp_ns(filters.get("until")[0]) if filters.get("until") else 0
        deleted, reclaimed = [], 0
        for c in self.all():
            if c.state.running or c.state.status == Status.REMOVING:
                continue
            if until and c.created >= until:
                continue
            if not filters.match_labels(c.config.get("Labels")):
                continue
            if filters.get("label!") and not _labels_excluded(filters.get("label!"), c.config.get("Labels")):
                continue
            reclaimed += self.snapshots.usage(c.id)
            await self.remove(c.id)
            deleted.append(c.id)
        return deleted, reclaimed

    # -- daemon start-up -----------------------------------------------------
    async def reconcile(self) -> None:
        """Find running containers again; mark those that died meanwhile with their real exit code."""
        asyncio.get_running_loop().run_in_executor(None, self.purge_trash)
        self._spawn(self.sweep_exits())
        for c in list(self._by_id.values()):
            if c.state.status == Status.REMOVING:
                await self.remove(c.id, force=True)
                continue
            if c.state.status == Status.RESTARTING:
                # it was waiting to restart when the daemon stopped: down now; the restart policy
                # decides at start-up (RestartManager.start_at_boot)
                c.state.status = Status.EXITED
                self._save_state(c)
                continue
            if not c.state.running:
                continue
            code = self.monitor.read_exit_code(c.id)
            if code is not None:
                async with c.lock:
                    await self._mark_exited(c, code, apply_policy=False)
                self._after_exit(c)
                continue
            st = await self.runtime.state(c.id)
            if st is None or st.get("status") == "stopped" or not _alive(c.state.monitor_pid):
                # the monitor is gone without an exit file: the exit code is lost
                async with c.lock:
                    await self._mark_exited(c, 255, apply_policy=False)
                self._after_exit(c)
                continue
            self.log_rotator.watch(c.log_path, c.bundle, *log_opts(c.host_config))
            self.mounts.adopt(c.id, self.mount_points(c))
            status = Status.PAUSED if st.get("status") == "paused" else Status.RUNNING
            if status != c.state.status:
                c.state.status = status
                self._save_state(c)

    async def sweep_exits(self, interval: float = 2.0) -> None:
        """A safety net under the inotify watcher: any exit file of a running container is handled."""
        while True:
            await asyncio.sleep(interval)
            for c in list(self._by_id.values()):
                if c.state.running and os.path.exists(self.monitor.exit_file(c.id)):
                    self._spawn(self._handle_exit(c.id))

    async def shutdown(self) -> None:
        for t in list(self._tasks):
            t.cancel()


def _alive(pid: int) -> bool:
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
        return True
    except ProcessLookupError:
        return False
    except PermissionError:
        return True


def _name_match(pattern: str, name: str) -> bool:
    try:
        return re.search(pattern.lstrip("/"), name) is not None
    except re.error:
        return pattern.lstrip("/") in name


def _labels_excluded(specs: list[str], labels: dict | None) -> bool:
    labels = labels or {}
    for want in specs:
        k, sep, v = want.partition("=")
        if k in labels and (not sep or labels[k] == v):
            return False
    return True


LOG_DRIVERS = {"json-file", "local", "k8s-file"}
_LOG_OPTS = {"max-size", "max-file", "compress", "labels", "labels-regex", "env", "env-regex", "tag", "mode",
             "max-buffer-size"}


def log_opts(hc: dict) -> tuple[int, int]:
    """(max-size in bytes or -1, max-file) of the container's json-file log."""
    opts = (hc.get("LogConfig") or {}).get("Config") or {}
    size = parse_size(opts["max-size"]) if opts.get("max-size") else -1
    try:
        files = int(opts.get("max-file") or 1)
    except ValueError:
        raise errdefs.InvalidArgument(f"invalid value for max-file: {opts.get('max-file')}") from None
    return size, files


def validate_log_config(hc: dict) -> None:
    cfg = hc.get("LogConfig") or {}
    driver = cfg.get("Type") or "json-file"
    if driver not in LOG_DRIVERS:
        raise errdefs.InvalidArgument(f"logger: no log driver named '{driver}' is registered")
    for key in (cfg.get("Config") or {}):
        if key not in _LOG_OPTS:
            raise errdefs.InvalidArgument(f"unknown log opt '{key}' for {driver} log driver")
    size, files = log_opts(hc)
    if files < 1:
        raise errdefs.InvalidArgument("max-file cannot be less than 1")
    if files > 1 and size < 0:
        raise errdefs.InvalidArgument("max-file cannot be set when max-size is not set")


def parse_size(text: str) -> int:
    """Docker's ``RAMInBytes``: ``10m``, ``1.5g``, ``512k``, ``100`` (binary units)."""
    t = text.strip().lower()
    units = {"b": 1, "k": 1 << 10, "m": 1 << 20, "g": 1 << 30, "t": 1 << 40, "p": 1 << 50}
    num = t.rstrip("bkmgtpi")
    suffix = t[len(num):].replace("i", "").replace("b", "") or "b"
    try:
        return int(float(num) * units[suffix[0]])
    except (ValueError, KeyError):
        raise errdefs.InvalidArgument(f"invalid size: '{text}'") from None


def _populate_init_layer(upper: str, lowers: list[str]) -> None:
    """Docker's init layer: mount points and files the runtime binds over, created when the image lacks them."""
    def present(rel: str) -> bool:
        return any(os.path.lexists(os.path.join(d, rel)) for d in lowers)

    dirs = ["dev", "dev/pts", "dev/shm", "proc", "sys", "etc"]
    files = [".dockerenv", "etc/resolv.conf", "etc/hosts", "etc/hostname", "dev/console"]
    for d in dirs:
        if not present(d):
            os.makedirs(os.path.join(upper, d), mode=0o755, exist_ok=True)
    for f in files:
        if not present(f):
            os.makedirs(os.path.dirname(os.path.join(upper, f)), mode=0o755, exist_ok=True)
            open(os.path.join(upper, f), "a").close()
            os.chmod(os.path.join(upper, f), 0o755)  # Docker's init layer makes every file 0755
    if not present("etc/mtab"):
        os.symlink("/proc/mounts", os.path.join(upper, "etc/mtab"))

