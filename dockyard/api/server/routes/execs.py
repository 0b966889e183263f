"""/containers/{id}/exec and /exec/{id}/...: extra processes in a running container."""

from __future__ import annotations

import logging

from aiohttp import web

from dockyard import errdefs
from dockyard.api.server import streams
from dockyard.api.server.app import Router, json_body, json_response, services
from dockyard.api.server.routes.containers import pump_attachment
from dockyard.api.server.validation import query_int
from dockyard.runtime import stdio

log = logging.getLogger(__name__)


async def create(request: web.Request) -> web.Response:
    body = await json_body(request, "ContainerExec")
    e = services(request).execs.create(request.match_info["id"], body)
    return json_response({"Id": e.id}, status=201)


async def start(request: web.Request) -> web.StreamResponse:
    body = await json_body(request, "ExecStart", required=False) or {}
    svc = services(request)
    e = svc.execs.get(request.match_info["id"])
    detach = bool(body.get("Detach"))
    tty = body.get("Tty")
    if detach:
        await svc.execs.start(e.id, tty=tty, console_size=body.get("ConsoleSize"))
        return web.Response(status=200, content_type="application/json")
    # Errors before the process runs are still plain HTTP errors.
    if e.started:
        raise errdefs.Conflict(f"Error: Exec command {e.id} has already run")
    cfg = e.config
    is_tty = bool(tty if tty is not None else cfg.get("Tty"))
    keys = stdio.parse_detach_keys(cfg.get("DetachKeys") or stdio.DEFAULT_DETACH_KEYS)
    hj = await streams.hijack(request, streams.RAW_STREAM if is_tty else streams.MUX_STREAM)
    try:
        try:
            await svc.execs.start(e.id, tty=tty, console_size=body.get("ConsoleSize"))
        except errdefs.DockyardError as err:
            # the process could not run: say so on the stream, as Docker does
            msg = str(err).encode() + b"\r\n"
            await hj.write(msg if is_tty else streams.frame(stdio.STDERR, msg))
            return web.Response()

        async def session():
            return e.session

        await pump_attachment(hj, session(), tty=is_tty, want_in=bool(cfg.get("AttachStdin")),
                              want_out=bool(cfg.get("AttachStdout", True)),
                              want_err=bool(cfg.get("AttachStderr", True)), detach_keys=keys)
        await e.done.wait()
    except ConnectionResetError:
        pass
    finally:
        hj.close()
    return web.Response()


async def resize(request: web.Request) -> web.Response:
    h = query_int("h", request.query.get("h"), 0)
    w = query_int("w", request.query.get("w"), 0)
    services(request).execs.resize(request.match_info["id"], h, w)
    return web.Response(status=200)


async def inspect(request: web.Request) -> web.Response:
    return json_response(services(request).execs.inspect(request.match_info["id"]))


def register(r: Router) -> None:
    r.add("POST", "/containers/{id}/exec", create)
    r.add("POST", "/exec/{id}/start", start)
    r.add("POST", "/exec/{id}/resize", resize)
    r.add("GET", "/exec/{id}/json", inspect)
