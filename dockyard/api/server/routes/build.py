"""/build (the classic builder protocol: a context tar in, a JSON message stream out) and /commit."""

from __future__ import annotations

import json

from aiohttp import web

from dockyard import errdefs
from dockyard.api.server import streams
from dockyard.api.server.app import Router, json_body, json_response, services
from dockyard.api.server.validation import query_bool
from dockyard.oci import reference
from dockyard.services.build.executor import BuildError, BuildOptions


def _json_map(request: web.Request, name: str) -> dict:
    raw = request.query.get(name)
    if not raw:
        return {}
    try:
        val = json.loads(raw)
    except ValueError:
        raise errdefs.InvalidArgument(f"invalid {name} parameter: not JSON") from None
    if not isinstance(val, dict):
        raise errdefs.InvalidArgument(f"invalid {name} parameter: expected a JSON object")
    return val


def build_options(request: web.Request) -> BuildOptions:
    q = request.query
    if q.get("remote"):
        raise errdefs.InvalidArgument("building from a remote context needs network access, which this daemon "
                                      "does not have; send the context as a tar")
    build_args = {str(k): (None if v is None else str(v)) for k, v in _json_map(request, "buildargs").items()}
    labels = {str(k): str(v) for k, v in _json_map(request, "labels").items()}
    return BuildOptions(
        tags=q.getall("t", []), dockerfile=q.get("dockerfile") or "Dockerfile", build_args=build_args,
        labels=labels, target=q.get("target", ""), no_cache=query_bool(q.get("nocache")),
        rm=query_bool(q.get("rm"), default=True), force_rm=query_bool(q.get("forcerm")),
        pull=query_bool(q.get("pull")), network_mode=q.get("networkmode", "") if q.get("networkmode") != "default"
        else "")


async def build(request: web.Request) -> web.StreamResponse:
    opts = build_options(request)
    for t in opts.tags:
        reference.parse(t)  # a bad tag is a 400 before anything is built
    quiet = query_bool(request.query.get("q"))
    svc = services(request)
    resp = await streams.json_stream_response(request)

    held: list[bytes] = []  # quiet: the progress is kept back, and only shown if the build fails

    async def emit(msg: dict) -> None:
        line = streams.json_line(msg, b"\r\n")
        if quiet and "stream" in msg:
            held.append(line)
            return
        await resp.write(line)

    try:
        img = await svc.builds.build(request.content.iter_chunked(1 << 20), opts, emit)
        if quiet:
            await resp.write(streams.json_line({"stream": img.id + "\n"}, b"\r\n"))
    except errdefs.DockyardError as e:
        if held:
            await resp.write(b"".join(held))
        msg = str(e)
        detail = {"code": e.code, "message": msg} if isinstance(e, BuildError) and e.code != 1 else {"message": msg}
        await resp.write(streams.json_line({"errorDetail": detail, "error": msg}, b"\r\n"))
    except ConnectionResetError:
        return resp
    await resp.write_eof()
    return resp


async def commit(request: web.Request) -> web.Response:
    q = request.query
    body = await json_body(request, "ImageCommit", required=False) or {}
    img = await services(request).images.commit(
        q.get("container", ""), repo=q.get("repo", ""), tag=q.get("tag", ""), comment=q.get("comment", ""),
        author=q.get("author", ""), pause=query_bool(q.get("pause"), default=True),
        changes=q.getall("changes", []), config=body)
    return json_response({"Id": img.id}, status=201)


async def prune_cache(request: web.Request) -> web.Response:
    """The cache is a table of step results (the images themselves are pruned with the images)."""
    services(request).builds.builder.cache.clear()
    return json_response({"CachesDeleted": None, "SpaceReclaimed": 0})


def register(r: Router) -> None:
    r.add("POST", "/build", build)
    r.add("POST", "/commit", commit)
    r.add("POST", "/build/prune", prune_cache)
