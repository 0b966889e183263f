"""dockyardd with timing probes: runs ``dockyard.daemon.main`` after wrapping a few engine steps.

Used only for the time breakdown of ``run_rm.py`` (the headline numbers come from a plain
dockyardd). Each probe appends one JSON line ``{"span", "t0", "t1", ...}`` (wall-clock seconds,
so they line up with the client's timestamps) to the file named by ``BENCH_TRACE``. A probe
costs a few microseconds; dockyard's code is not changed, only wrapped in this process.

    BENCH_TRACE=/tmp/trace.jsonl python bench/_traced_daemon.py --data-root ... --host unix://...

With ``BENCH_CPROFILE=PATH`` the whole daemon also runs under cProfile, dumped to PATH when it
stops (the probes' timings are then inflated by the profiler: use one or the other).
"""

from __future__ import annotations

import functools
import inspect
import json
import os
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

from dockyard.daemon import main as daemon_main  # noqa: E402
from dockyard.runtime import monitor as monitor_mod  # noqa: E402
from dockyard.runtime import oci as oci_mod  # noqa: E402
from dockyard.services import containers as containers_mod  # noqa: E402

_out = open(os.environ.get("BENCH_TRACE", "/dev/null"), "a", buffering=1)


def _emit(span: str, t0: float, t1: float, **kw) -> None:
    _out.write(json.dumps({"span": span, "t0": t0, "t1": t1, **kw}) + "\n")


def probe(cls, attr: str, span: str | None = None, label=None) -> None:
    """Wrap ``cls.attr`` (sync or async) so each call emits a span; ``label(args)`` adds detail."""
    orig = getattr(cls, attr, None)
    if orig is None:  # dockyard moved on: report it, keep the other probes
        print(f"bench probe: {cls.__name__}.{attr} not found, not timed", file=sys.stderr)
        return
    name = span or f"{cls.__name__}.{attr}"

    if inspect.iscoroutinefunction(orig):
        @functools.wraps(orig)
        async def wrapped(*a, **k):
            t0 = time.time()
            try:
                return await orig(*a, **k)
            finally:
                _emit(label(a, k) if label else name, t0, time.time())
    else:
        @functools.wraps(orig)
        def wrapped(*a, **k):
            t0 = time.time()
            try:
                return orig(*a, **k)
            finally:
                _emit(label(a, k) if label else name, t0, time.time())
    setattr(cls, attr, wrapped)


CS = containers_mod.ContainerService
probe(CS, "create", "create (service)")
probe(CS, "_prepare_layers", "create: prepare snapshots (init + container layer)")
probe(CS, "_prepare_mounts", "create: volumes (made, filled from the image)")
probe(CS, "_start_locked", "start (service)")
probe(CS, "_mount_rootfs", "start: mount overlay rootfs")
probe(CS, "_build_spec", "start: build OCI spec + /etc files")
probe(CS, "_connect_pending_attach", "start: connect pending attach to conmon")
probe(CS, "_save_state", "sqlite: save state")
probe(CS, "notify_exit", "exit file seen (inotify)")
probe(CS, "_mark_exited", "exit: mark exited")
probe(CS, "remove", "remove (service)")
probe(CS, "_unmount_rootfs", "unmount rootfs")
probe(CS, "_release_layers", "remove: release snapshots")
probe(monitor_mod.ConmonMonitor, "create", "start: conmon + runc create (until PID reported)")
probe(oci_mod.OCIRuntime, "start", "start: runtime start (OCIRuntime.start)")
probe(oci_mod.OCIRuntime, "delete", "runtime delete (OCIRuntime.delete)")
probe(oci_mod.OCIRuntime, "_run", label=lambda a, k: f"runc {a[1] if len(a) > 1 else '?'} (process)")


def _short_path(path: str) -> str:
    parts = path.split("/")
    if len(parts) > 1 and parts[1].startswith("v1."):
        del parts[1]
    return "/".join("{id}" if len(p) == 64 else p for p in parts)


_orig_make_app = daemon_main.make_app


def _make_app(*a, **k):
    from aiohttp import web

    app = _orig_make_app(*a, **k)

    @web.middleware
    async def timing(request, handler):
        t0 = time.time()
        try:
            return await handler(request)
        finally:
            _emit(f"http {request.method} {_short_path(request.path)}", t0, time.time())

    app.middlewares.insert(0, timing)
    return app


daemon_main.make_app = _make_app

if __name__ == "__main__":
    prof_path = os.environ.get("BENCH_CPROFILE")
    if prof_path:  # whole-daemon profile, written when the daemon stops (SIGTERM)
        import cProfile

        prof = cProfile.Profile()
        prof.enable()
        try:
            daemon_main.main(sys.argv[1:])
        finally:
            prof.disable()
            prof.dump_stats(prof_path)
    else:
        daemon_main.main(sys.argv[1:])
