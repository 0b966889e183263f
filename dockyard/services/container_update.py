"""``POST /containers/{id}/update``: new resource limits (and restart policy) for a container.

As Docker does (moby ``daemon/update.go`` and ``container.UpdateContainer``): the body is
checked like a create's resources, merged into the stored HostConfig (a zero field keeps the
old value), and, when the container is running or paused, applied to its cgroup with
``runc update``. A stopped container gets the new limits at its next start. Conflicts with
what is already set are 409 ``Cannot update container <id>: ...``.
"""

from __future__ import annotations

import copy
from typing import TYPE_CHECKING

from dockyard import errdefs
from dockyard.runtime import resources
from dockyard.services.events import label_attributes
from dockyard.store.metadata import dumps

if TYPE_CHECKING:  # pragma: no cover
    from dockyard.services.containers import Container, ContainerService

# fields ``docker update`` changes; a zero (or empty) value leaves the stored one alone
_UPDATABLE = ("BlkioWeight", "CpuShares", "NanoCpus", "CpuPeriod", "CpuQuota", "CpusetCpus", "CpusetMems",
              "MemorySwap", "MemoryReservation", "KernelMemory", "CpuRealtimePeriod", "CpuRealtimeRuntime")
_RESTART_POLICIES = ("", "no", "always", "unless-stopped", "on-failure")


def _cannot(cid: str, msg: str) -> errdefs.Conflict:
    return errdefs.Conflict(f"Cannot update container {cid}: {msg}")


def merge(cid: str, current: dict, body: dict) -> dict:
    """The HostConfig after the update ``body`` (already checked); ``current`` is not modified."""
    hc = copy.deepcopy(current)
    if (body.get("NanoCpus") or 0) > 0 and (current.get("CpuPeriod") or 0) > 0:
        raise _cannot(cid, "Conflicting options: Nano CPUs cannot be updated as CPU Period has already been set")
    if (body.get("NanoCpus") or 0) > 0 and (current.get("CpuQuota") or 0) > 0:
        raise _cannot(cid, "Conflicting options: Nano CPUs cannot be updated as CPU Quota has already been set")
    if (body.get("CpuPeriod") or 0) > 0 and (current.get("NanoCpus") or 0) > 0:
        raise _cannot(cid, "Conflicting options: CPU Period cannot be updated as NanoCPUs has already been set")
    if (body.get("CpuQuota") or 0) > 0 and (current.get("NanoCpus") or 0) > 0:
        raise _cannot(cid, "Conflicting options: CPU Quota cannot be updated as NanoCPUs has already been set")
    mem = body.get("Memory") or 0
    if mem:
        if mem > (current.get("MemorySwap") or 0) and not body.get("MemorySwap"):
            raise _cannot(cid, "Memory limit should be smaller than already set memoryswap limit, update the "
                               "memoryswap at the same time")
        hc["Memory"] = mem
    for key in _UPDATABLE:
        if body.get(key):
            hc[key] = body[key]
    if body.get("PidsLimit") is not None:
        hc["PidsLimit"] = max(body["PidsLimit"], 0)  # 0 and -1 lift the limit; shown as 0
    rp = body.get("RestartPolicy") or {}
    if rp.get("Name"):
        if current.get("AutoRemove") and rp["Name"] != "no":
            raise _cannot(cid, "Restart policy cannot be updated because AutoRemove is enabled for the container")
        hc["RestartPolicy"] = {"Name": rp["Name"], "MaximumRetryCount": rp.get("MaximumRetryCount") or 0}
    return hc


def check_body(body: dict) -> list[str]:
    """Docker's checks of an update body (400s); its warnings."""
    rp = body.get("RestartPolicy") or {}
    name = rp.get("Name") or ""
    if name not in _RESTART_POLICIES:
        raise errdefs.InvalidArgument(f"invalid restart policy '{name}'")
    if (rp.get("MaximumRetryCount") or 0) < 0:
        raise errdefs.InvalidArgument("invalid restart policy: maximum retry count cannot be negative")
    if name != "on-failure" and rp.get("MaximumRetryCount"):
        raise errdefs.InvalidArgument("invalid restart policy: maximum retry count can only be used with "
                                      "'on-failure'")
    return resources.check(body, update=True)


async def update(svc: ContainerService, c: Container, body: dict) -> list[str]:
    """Apply ``body`` to ``c`` (its lock held by the caller); the warnings for the response."""
    body = dict(body)
    warnings = check_body(body)
    if c.state.status.value in ("removing", "dead"):
        raise errdefs.System(f'Cannot update container {c.id}: container is marked for removal and cannot be '
                             f'"update"')
    hc = merge(c.id, c.host_config, body)
    if c.state.running and c.state.status.value != "restarting":  # a restarting one gets them at its start
        try:
            await svc.runtime.update(c.id, resources.linux_resources(hc, update=True))
        except errdefs.DockyardError as e:
            raise errdefs.System(f"Cannot update container {c.id}: {e}") from None
    c.host_config = hc
    svc.db.execute("UPDATE containers SET host_config=? WHERE id=?",
                   (dumps(hc), c.id))
    svc.events.publish("container", "update", c.id, image=c.config.get("Image"), name=c.name,
                       **label_attributes(c.config.get("Labels")))
    return warnings
