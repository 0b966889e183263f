"""/_ping, /version, /info, /events, /system/df."""

from __future__ import annotations

import asyncio

from aiohttp import web

from dockyard.api.server import streams, versions
from dockyard.api.server.app import Router, json_response, services
from dockyard.util.filters import Filters
from dockyard.util.timeutil import parse_timestamp_ns


async def ping(request: web.Request) -> web.StreamResponse:
    headers = {"Cache-Control": "no-cache, no-store, must-revalidate", "Pragma": "no-cache",
               "Builder-Version": "1"}
    if request.method == "HEAD":
        return web.Response(status=200, headers={**headers, "Content-Type": "text/plain; charset=utf-8",
                                                 "Content-Length": "0"})
    return web.Response(status=200, text="OK", headers=headers)


async def version(request: web.Request) -> web.Response:
    return json_response(await services(request).system.version())


async def info(request: web.Request) -> web.Response:
    return json_response(await services(request).system.info())


async def events(request: web.Request) -> web.StreamResponse:
    q = request.query
    f = Filters.parse(q.get("filters"))
    f.validate({"container", "daemon", "event", "image", "label", "network", "node", "plugin", "scope", "secret",
                "service", "type", "volume", "config"})
    since = parse_timestamp_ns(q["since"]) if q.get("since") else 0
    until = parse_timestamp_ns(q["until"]) if q.get("until") else 0
    bus = services(request).events
    resp = await streams.json_stream_response(request)
    # Flush headers now: clients wait for them before they trust the subscription.
    await resp.write(b"")
    try:
        async for ev in bus.subscribe(f, since, until):
            await resp.write(streams.json_line(ev.to_json()))
    except (ConnectionResetError, asyncio.CancelledError):
        return resp
    await resp.write_eof()
    return resp


async def system_df(request: web.Request) -> web.Response:
    from dockyard.api.server.routes.containers import summary as container_summary
    from dockyard.api.server.routes.images import summary as image_summary
    from dockyard.api.server.routes.volumes import usage_view

    svc = services(request)
    images = svc.images.list(all=True)
    uses: dict[str, int] = {}
    for img in images:
        for chain_id in img.chain:
            uses[chain_id] = uses.get(chain_id, 0) + 1
    imgs = []
    for img in images:
        summary = image_summary(svc, img, api_before_144=not versions.at_least(request, "1.44"))
        summary["SharedSize"] = sum(svc.images.store.layer_size(c) for c in img.chain if uses[c] > 1)
        imgs.append(summary)
    all_containers = svc.containers.all()
    views = svc.networks.list_views(all_containers)
    ctrs = [container_summary(svc, c, size=True, net_view=views[c.id]) for c in all_containers]
    layers = svc.system.layers_size()
    vols = [usage_view(*u) for u in await svc.volumes.disk_usage()]
    return json_response({"LayersSize": layers, "Images": imgs, "Containers": ctrs, "Volumes": vols,
                          "BuildCache": []})


def register(r: Router) -> None:
    r.add("GET", "/_ping", ping)
    r.add("HEAD", "/_ping", ping)
    r.add("GET", "/version", version)
    r.add("GET", "/info", info)
    r.add("GET", "/events", events)
    r.add("GET", "/system/df", system_df)


