"""dockyardd: the composition root. The one place that picks implementations and wires them."""

from __future__ import annotations

import asyncio
import fcntl
import logging
import os
import shutil
import signal
import ssl
import sys
from urllib.parse import urlparse

from aiohttp import web

from dockyard import errdefs
from dockyard.api.server.app import Services, make_app
from dockyard.api.server.metrics import Metrics, make_metrics_app
from dockyard.daemon.config import DaemonConfig, parse_args
from dockyard.image.images import ImageStore
from dockyard.runtime import cgroups
from dockyard.runtime.logs import LogRotator
from dockyard.runtime.monitor import ConmonMonitor, ExitWatcher
from dockyard.runtime.oci import OCIRuntime
from dockyard.runtime.userns import UsernsHolder, check_root_access, parse_remap
from dockyard.services.archive import ArchiveService
from dockyard.services.build.cache import BuildCache
from dockyard.services.build.executor import Builder
from dockyard.services.build.service import BuildService
from dockyard.services.container_mounts import ContainerMounts
from dockyard.services.containers import ContainerService
from dockyard.services import container_security as csec
from dockyard.services.events import EventBus
from dockyard.services.exec import ExecService
from dockyard.services.images import ImageService
from dockyard.services.health import HealthMonitor
from dockyard.services.networks import NetworkOptions, NetworkService
from dockyard.services.restart import RestartManager
from dockyard.services.stats import StatsService
from dockyard.services.system import SystemService
from dockyard.services.volumes import VolumeService
from dockyard.store.content import ContentStore
from dockyard.store.metadata import MetadataDB
from dockyard.store.snapshots.overlay import OverlaySnapshotter
from dockyard.util import ids

log = logging.getLogger("dockyardd")


class StartupError(Exception):
    pass


def lock_data_root(data_root: str) -> int:
    """Hold an exclusive lock on the data root for the daemon's lifetime: one daemon per root."""
    os.makedirs(data_root, mode=0o711, exist_ok=True)
    path = os.path.join(data_root, "dockyardd.lock")
    fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        try:
            other = os.pread(fd, 32, 0).decode().strip()
        finally:
            os.close(fd)
        raise StartupError(f"another dockyardd (pid {other or '?'}) is using data root {data_root}") from None
    os.ftruncate(fd, 0)
    os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
    return fd


def tls_context(cfg: DaemonConfig) -> ssl.SSLContext:
    if not (cfg.tlscert and cfg.tlskey):
        raise StartupError("a tcp:// host needs --tlscert and --tlskey (and --tlsverify --tlscacert to check "
                           "clients): dockyard never serves the API over plain TCP")
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ctx.load_cert_chain(cfg.tlscert, cfg.tlskey)
    if cfg.tlsverify:
        if not cfg.tlscacert:
            raise StartupError("--tlsverify needs --tlscacert")
        ctx.load_verify_locations(cfg.tlscacert)
        ctx.verify_mode = ssl.CERT_REQUIRED
    return ctx


def _binary(name: str) -> str:
    """The program's absolute path (the daemon leaves its start directory), or ``name`` when not found."""
    found = shutil.which(name)
    return os.path.abspath(found) if found else name


class Daemon:
    def __init__(self, cfg: DaemonConfig) -> None:
        self.cfg = cfg
        root = os.path.abspath(cfg.data_root)
        self.root = root
        exec_root = os.path.abspath(cfg.exec_root or os.path.join(root, "run"))
        self.db = MetadataDB(os.path.join(root, "dockyard.db"))
        content = ContentStore(os.path.join(root, "content"))
        snapshots = self.snapshots = OverlaySnapshotter(os.path.join(root, "overlay"), self.db)
        image_store = ImageStore(self.db, content, snapshots)
        runtime_bin = _binary(cfg.runtime)
        runtime = OCIRuntime(runtime_bin, root=os.path.join(exec_root, "runtime"))
        monitor = ConmonMonitor(runtime, exit_dir=os.path.join(exec_root, "exits"),
                                socket_dir=os.path.join(exec_root, "sockets"),
                                persist_dir=os.path.join(exec_root, "persist"),
                                binary=_binary(cfg.conmon))
        self.events = EventBus()
        self.log_rotator = LogRotator()
        self.volumes = VolumeService(db=self.db, events=self.events, data_root=root)
        self.networks = NetworkService(db=self.db, events=self.events, exec_root=exec_root, options=NetworkOptions(
            bridge_name=cfg.bridge_name, bridge=cfg.bridge, bip=cfg.bip, fixed_cidr=cfg.fixed_cidr, mtu=cfg.mtu,
            icc=cfg.icc, ip_forward=cfg.ip_forward, iptables=cfg.iptables, nft_table=cfg.nft_table))
        init_binary = os.path.abspath(cfg.init_path) if os.path.exists(cfg.init_path) else shutil.which("tini-static")
        self.containers = ContainerService(db=self.db, images=image_store, snapshots=snapshots, runtime=runtime,
                                           monitor=monitor, events=self.events, data_root=root,
                                           log_rotator=self.log_rotator, mounts=ContainerMounts(self.volumes),
                                           networks=self.networks,
                                           init_binary=init_binary)
        if cfg.userns_remap:
            try:
                mapping = parse_remap(cfg.userns_remap)
                check_root_access(root, mapping)
            except errdefs.DockyardError as e:
                raise StartupError(str(e)) from None
            self.containers.userns = UsernsHolder(mapping, exec_root)
            self.networks.userns_owner = lambda c: csec.netns_owner(c, self.containers.userns)
        execs = ExecService(containers=self.containers, runtime=runtime, events=self.events)
        self.restarts = RestartManager(self.containers)
        self.health = HealthMonitor(containers=self.containers, execs=execs, events=self.events)
        images = ImageService(store=image_store, containers=self.containers, events=self.events)
        system = SystemService(containers=self.containers, images=image_store, runtime=runtime, data_root=root,
                               debug=cfg.debug, daemon_id=self._daemon_id())
        builder = Builder(store=image_store, containers=self.containers, events=self.events,
                          cache=BuildCache(self.db), tmp_dir=os.path.join(root, "tmp"))
        self.watcher = ExitWatcher(monitor.exit_dir, self.containers.notify_exit)
        archive = ArchiveService(containers=self.containers, events=self.events)
        svc = Services(self.containers, execs, images, self.events, system, BuildService(builder),
                       self.volumes, archive, self.networks)
        svc.stats = StatsService(self.containers)
        self.metrics = Metrics() if cfg.metrics_addr else None
        if self.metrics is not None:
            self.containers.start_timers.append(self.metrics.observe_start)
        self.app = make_app(svc, request_counter=self.metrics.middleware() if self.metrics else None)
        self.metrics_app = make_metrics_app(self.metrics, svc) if self.metrics else None
        self.metrics_runner: web.AppRunner | None = None
        self.runner: web.AppRunner | None = None

    def _daemon_id(self) -> str:
        row = self.db.query_one("SELECT value FROM meta WHERE key='daemon_id'")
        if row is not None:
            return row[0]
        ident = ids.new_id()[:32].upper()
        self.db.execute("INSERT INTO meta VALUES ('daemon_id', ?)", (ident,))
        return ident

    async def start(self) -> None:
        check_hosts(self.cfg)
        if self.metrics_app is not None:  # first: a taken metrics port stops the daemon before it touches anything
            await self._serve_metrics(self.cfg.metrics_addr)
        self.watcher.start()
        self.log_rotator.start()
        disk = cgroups.enable_io_accounting(self.root)
        log.debug("block I/O counted on disk %s (the data root's)", disk or "(none: not a disk, or not v1)")
        await self.containers.reconcile()
        await self.networks.start([c for c in self.containers.all() if c.state.running])
        self.health.start_at_boot()
        await self.restarts.start_at_boot()
        self.runner = web.AppRunner(self.app, access_log=None, handle_signals=False, shutdown_timeout=1.0)
        await self.runner.setup()
        for host in self.cfg.hosts:
            await self._listen(host)
        # From here on the daemon works from its snapshot root: overlay mounts name their layers with
        # short relative paths (see OverlaySnapshotter._overlay). Every path it opens is absolute.
        os.chdir(self.snapshots.root)
        self.events.publish("daemon", "reload", "dockyard")

    async def _serve_metrics(self, addr: str) -> None:
        """Prometheus metrics: plain HTTP on ``addr`` (host:port) only, path /metrics."""
        host, sep, port = addr.rpartition(":")
        if not sep or not port.isdigit():
            raise StartupError(f"invalid --metrics-addr {addr!r}: use host:port, e.g. 127.0.0.1:9323")
        self.metrics_runner = web.AppRunner(self.metrics_app, access_log=None, handle_signals=False,
                                            shutdown_timeout=1.0)
        await self.metrics_runner.setup()
        try:
            await web.TCPSite(self.metrics_runner, host.strip("[]") or "127.0.0.1", int(port)).start()
        except OSError as e:
            raise StartupError(f"metrics address {addr}: {e.strerror or e}") from None
        log.info("metrics listening on http://%s/metrics", addr)

    async def _listen(self, host: str) -> None:
        u = urlparse(host)
        if u.scheme == "unix":
            path = u.path
            os.makedirs(os.path.dirname(path), mode=0o755, exist_ok=True)
            if os.path.exists(path):
                os.unlink(path)  # our lock proves no live daemon owns it
            site = web.UnixSite(self.runner, path)
            await site.start()
            os.chmod(path, 0o660)
        elif u.scheme in ("tcp", "https"):
            site = web.TCPSite(self.runner, u.hostname or "0.0.0.0", u.port or 2376, ssl_context=tls_context(self.cfg))
            await site.start()
        log.info("API listening on %s", host)

    async def stop(self) -> None:
        self.watcher.close()
        self.log_rotator.close()
        self.restarts.close()
        self.health.close()
        await self.networks.close()
        await self.containers.shutdown()
        if self.metrics_runner is not None:
            await self.metrics_runner.cleanup()
        if self.runner is not None:
            await self.runner.cleanup()
        self.db.close()


async def _serve(cfg: DaemonConfig) -> None:
    daemon = Daemon(cfg)
    await daemon.start()
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    log.info("dockyardd ready (data root %s)", daemon.root)
    await stop.wait()
    log.info("shutting down; containers keep running")
    await daemon.stop()


def check_hosts(cfg: DaemonConfig) -> None:
    """Refuse a --host we would not serve before anything is set up (no bridge, no firewall table)."""
    for host in cfg.hosts:
        scheme = urlparse(host).scheme
        if scheme in ("tcp", "https"):
            if not (cfg.tls or cfg.tlsverify):
                raise StartupError(f"refusing to serve {host} without TLS: add --tlsverify, --tlscacert, "
                                   f"--tlscert and --tlskey")
        elif scheme != "unix":
            raise StartupError(f"unsupported host {host!r}: use unix:///path or tcp://addr:port")


def main(argv: list[str] | None = None) -> None:
    cfg = parse_args(argv)
    logging.basicConfig(level=logging.DEBUG if cfg.debug else logging.INFO, stream=sys.stderr,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("pyroute2").setLevel(logging.WARNING)  # its debug output is every netlink message
    if os.geteuid() != 0:
        sys.exit("dockyardd: must run as root")
    try:
        check_hosts(cfg)
        lock_fd = lock_data_root(cfg.data_root)
    except StartupError as e:
        sys.exit(f"dockyardd: {e}")
    try:
        asyncio.run(_serve(cfg))
    except StartupError as e:
        sys.exit(f"dockyardd: {e}")
    finally:
        os.close(lock_fd)


if __name__ == "__main__":
    main()
