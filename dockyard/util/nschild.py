"""Helper processes that make a namespace for the daemon.

A multithreaded daemon cannot unshare a user namespace (or join one) itself, so a small child
(``unshare``/``nsenter`` running ``cat``) makes it; the daemon waits until the child is in its new
namespace, pins it with a bind mount, and ends the child.
"""

from __future__ import annotations

import os
import subprocess
import time

from dockyard import errdefs


def wait_in_new_namespace(child: subprocess.Popen, kind: str, what: str, timeout: float = 5.0) -> str:
    """``/proc/<child>/ns/<kind>`` once the child's ``kind`` namespace differs from ours.

    Raises System (with the child's stderr) when it exits first or ``timeout`` passes."""
    ns = f"/proc/{child.pid}/ns/{kind}"
    mine = os.readlink(f"/proc/self/ns/{kind}")
    deadline = time.monotonic() + timeout
    while True:
        try:
            if os.readlink(ns) != mine:
                return ns
        except OSError:
            pass
        if child.poll() is not None or time.monotonic() > deadline:
            err = child.stderr.read().decode(errors="replace").strip() if child.stderr else ""
            raise errdefs.System(f"{what}: {err or 'timed out'}")
        time.sleep(0.0005)
