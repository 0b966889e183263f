"""/networks/...: user-defined bridge networks, and containers joining and leaving them."""

from __future__ import annotations

from aiohttp import web

from dockyard import errdefs
from dockyard.api.server.app import Router, json_body, json_response, services
from dockyard.util.filters import Filters


async def list_networks(request: web.Request) -> web.Response:
    svc = services(request)
    nets = svc.networks.list(Filters.parse(request.query.get("filters")))
    return json_response([svc.networks.inspect(n, with_containers=False) for n in nets])


async def inspect(request: web.Request) -> web.Response:
    svc = services(request)
    return json_response(svc.networks.inspect(svc.networks.get(request.match_info["id"])))


async def create(request: web.Request) -> web.Response:
    body = await json_body(request, "NetworkCreate")
    if not body.get("Name"):
        raise errdefs.InvalidArgument("network name is required")
    net, warning = await services(request).networks.create(
        body["Name"], driver=body.get("Driver") or "bridge", ipam=body.get("IPAM"),
        internal=bool(body.get("Internal")), attachable=bool(body.get("Attachable")), labels=body.get("Labels"),
        options=body.get("Options"), enable_ipv6=bool(body.get("EnableIPv6")))
    return json_response({"Id": net.id, "Warning": warning}, status=201)


async def remove(request: web.Request) -> web.Response:
    await services(request).networks.remove(request.match_info["id"])
    return web.Response(status=204)


async def connect(request: web.Request) -> web.Response:
    body = await json_body(request, "NetworkConnect")
    svc = services(request)
    c = svc.containers.get(body.get("Container") or "")
    ep = body.get("EndpointConfig") or {}
    await svc.networks.connect(request.match_info["id"], c,
                               ipv4=(ep.get("IPAMConfig") or {}).get("IPv4Address") or "",
                               aliases=ep.get("Aliases") or [], links=ep.get("Links") or [],
                               driver_opts=ep.get("DriverOpts"))
    return web.Response(status=200)


async def disconnect(request: web.Request) -> web.Response:
    body = await json_body(request, "NetworkDisconnect")
    svc = services(request)
    c = svc.containers.get(body.get("Container") or "")
    await svc.networks.disconnect(request.match_info["id"], c, force=bool(body.get("Force")))
    return web.Response(status=200)


async def prune(request: web.Request) -> web.Response:
    deleted = await services(request).networks.prune(Filters.parse(request.query.get("filters")))
    return json_response({"NetworksDeleted": deleted or None})


def register(r: Router) -> None:
    r.add("GET", "/networks", list_networks)
    r.add("GET", "/networks/", list_networks)
    r.add("POST", "/networks/create", create)
    r.add("POST", "/networks/prune", prune)
    r.add("GET", "/networks/{id}", inspect)
    r.add("DELETE", "/networks/{id}", remove)
    r.add("POST", "/networks/{id}/connect", connect)
    r.add("POST", "/networks/{id}/disconnect", disconnect)
