"""/volumes/...: create, list, inspect, remove, prune, in Docker's JSON shapes."""

from __future__ import annotations

import time

from aiohttp import web

from dockyard.api.server import versions
from dockyard.api.server.app import Router, json_body, json_response, services
from dockyard.api.server.validation import query_bool
from dockyard.services.volumes import Volume
from dockyard.util.filters import Filters


def created_at(ns: int) -> str:
    """Go's ``time.RFC3339`` in the daemon's local time: ``2026-11-23T01:02:03Z``."""
    lt = time.localtime(ns // 1_000_000_000)
    off = lt.tm_gmtoff or 0
    if off == 0:
        return time.strftime("%Y-%m-%dT%H:%M:%SZ", lt)
    sign = "+" if off > 0 else "-"
    return time.strftime("%Y-%m-%dT%H:%M:%S", lt) + f"{sign}{abs(off) // 3600:02d}:{abs(off) % 3600 // 60:02d}"


def _go_map(m: dict | None) -> dict | None:
    return None if m is None else dict(sorted(m.items()))  # Go writes map keys sorted


def view(vol: Volume) -> dict:
    """``GET /volumes/{name}``: Docker's ``volume.Volume`` (fields in its order)."""
    return {"CreatedAt": created_at(vol.created), "Driver": vol.driver, "Labels": _go_map(vol.labels),
            "Mountpoint": vol.mountpoint, "Name": vol.name, "Options": _go_map(vol.options), "Scope": vol.scope}


def usage_view(vol: Volume, size: int, refcount: int) -> dict:
    """A volume as ``/system/df`` lists it."""
    return {**view(vol), "UsageData": {"RefCount": refcount, "Size": size}}


async def create(request: web.Request) -> web.Response:
    body = await json_body(request, "VolumeCreate")
    vol = services(request).volumes.create(name=body.get("Name") or None, driver=body.get("Driver") or "local",
                                           driver_opts=body.get("DriverOpts"), labels=body.get("Labels"))
    return json_response(view(vol), status=201)


async def list_volumes(request: web.Request) -> web.Response:
    vols = services(request).volumes.list(Filters.parse(request.query.get("filters")))
    return json_response({"Volumes": [view(v) for v in vols], "Warnings": None})


async def inspect(request: web.Request) -> web.Response:
    return json_response(view(services(request).volumes.get(request.match_info["name"])))


async def remove(request: web.Request) -> web.Response:
    services(request).volumes.remove(request.match_info["name"], force=query_bool(request.query.get("force")))
    return web.Response(status=204)


async def prune(request: web.Request) -> web.Response:
    f = Filters.parse(request.query.get("filters"))
    if not versions.at_least(request, "1.42"):
        # API 1.42 made prune take anonymous volumes only; older clients still get all of them (Docker does this)
        f.fields.setdefault("all", []).append("true")
    deleted, reclaimed = await services(request).volumes.prune(f)
    return json_response({"VolumesDeleted": deleted, "SpaceReclaimed": reclaimed})


def register(r: Router) -> None:
    r.add("POST", "/volumes/create", create)
    r.add("GET", "/volumes", list_volumes)
    r.add("POST", "/volumes/prune", prune)
    r.add("GET", "/volumes/{name}", inspect)
    r.add("DELETE", "/volumes/{name}", remove)
