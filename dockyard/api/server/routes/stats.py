"""GET /containers/{id}/stats: Docker's stats frames, one-shot, windowed or streamed (services.stats)."""

from __future__ import annotations

from aiohttp import web

from dockyard import errdefs
from dockyard.api.server import streams
from dockyard.api.server.app import Router, json_response, services
from dockyard.api.server.validation import query_bool


async def container_stats(request: web.Request) -> web.StreamResponse:
    q = request.query
    svc = services(request).stats
    if svc is None:
        raise errdefs.NotImplementedErr("stats are not available")
    stream = query_bool(q.get("stream"), default=True)
    frames = await svc.stats(request.match_info["id"], stream=stream, one_shot=query_bool(q.get("one-shot")))
    if not stream:
        try:
            return json_response(await frames.__anext__())
        finally:
            await frames.aclose()
    resp = await streams.json_stream_response(request)
    try:
        async for f in frames:
            await resp.write(streams.json_line(f))
    except (ConnectionResetError, ConnectionError):
        pass
    finally:
        await frames.aclose()
    return resp


def register(r: Router) -> None:
    r.add("GET", "/containers/{id}/stats", container_stats)
