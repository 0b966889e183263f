"""/images/...: import, list, inspect, tag, remove, history, prune."""

from __future__ import annotations

from aiohttp import web

from dockyard import errdefs
from dockyard.api.server import streams, versions
from dockyard.api.server.app import Router, Services, json_response, services
from dockyard.api.server.validation import query_bool
from dockyard.image.images import Image
from dockyard.oci import image as oimage
from dockyard.oci import reference
from dockyard.util.filters import Filters
from dockyard.util.timeutil import format_ns


def summary(svc: Services, img: Image, api_before_144: bool = False) -> dict:
    out = {
        "Containers": svc.images.containers_using(img.id), "Created": img.created // 1_000_000_000,
        "Id": img.id, "Labels": img.container_config.get("Labels"), "ParentId": img.config.get("parent", ""),
        "RepoDigests": [], "RepoTags": [reference.familiar(t) for t in img.tags], "SharedSize": -1,
        "Size": img.size,
    }
    if not img.tags:
        out["RepoTags"], out["RepoDigests"] = ["<none>:<none>"], ["<none>@<none>"]
    if api_before_144:
        out["VirtualSize"] = img.size  # dropped in 1.44
    return out


def inspect_view(svc: Services, img: Image, api_before_144: bool) -> dict:
    cfg = img.config
    snaps = svc.images.store.snapshots
    chain = img.chain
    graph: dict = {}
    if chain:
        top = snaps.upper_dir(chain[-1])
        graph = {"MergedDir": top[:-len("diff")] + "merged", "UpperDir": top, "WorkDir": top[:-len("diff")] + "work"}
        lowers = [snaps.upper_dir(k) for k in reversed(chain[:-1])]
        if lowers:
            graph = {"LowerDir": ":".join(lowers), **graph}
    out = {
        "Id": img.id, "RepoTags": [reference.familiar(t) for t in img.tags], "RepoDigests": [],
        "Parent": cfg.get("parent", ""), "Comment": cfg.get("comment", ""), "Created": cfg.get("created", ""),
        "Container": cfg.get("container", ""),
        "ContainerConfig": cfg.get("container_config") or oimage.empty_container_config(),
        "DockerVersion": cfg.get("docker_version", ""), "Author": cfg.get("author", ""),
        "Config": cfg.get("config") or oimage.empty_container_config(),
        "Architecture": cfg.get("architecture", ""), "Os": cfg.get("os", ""), "Size": img.size,
        "VirtualSize": img.size,
        "GraphDriver": {"Data": graph, "Name": "overlay2"},
        "RootFS": {"Type": "layers", "Layers": img.diff_ids},
        "Metadata": {"LastTagTime": format_ns(img.added)},
    }
    if cfg.get("variant"):
        out["Variant"] = cfg["variant"]
    if not api_before_144:
        del out["VirtualSize"]  # dropped in 1.44; Container and ContainerConfig go in 1.45
    return out


def _old_api(request: web.Request) -> bool:
    return not versions.at_least(request, "1.44")


async def create(request: web.Request) -> web.StreamResponse:
    q = request.query
    svc = services(request)
    if q.get("fromImage"):
        image = q["fromImage"]
        tag = q.get("tag")
        ref = f"{image}:{tag}" if tag and "@" not in image else image
        raise errdefs.NotFound(f"pull access denied for {reference.familiar(str(reference.parse(ref)))}: "
                               f"this daemon has no registry access yet (pulling is not implemented)")
    src = q.get("fromSrc")
    if not src:
        raise errdefs.InvalidArgument("fromImage or fromSrc is required")
    if src != "-":
        raise errdefs.InvalidArgument(f"cannot fetch {src}: importing from a URL needs network access, "
                                      f"which this daemon does not have; download it and import from stdin")
    changes = request.query.getall("changes", [])
    resp = await streams.json_stream_response(request)
    try:
        img = await svc.images.import_tar(request.content.iter_chunked(1 << 20), repo=q.get("repo", ""),
                                          tag=q.get("tag", ""), message=q.get("message", ""), changes=changes)
    except errdefs.DockyardError as e:
        # The status line is gone already: report in the stream, as Docker does.
        await resp.write(streams.json_line({"errorDetail": {"message": str(e)}, "error": str(e)}, b"\r\n"))
        await resp.write_eof()
        return resp
    await resp.write(streams.json_line({"status": img.id}, b"\r\n"))
    await resp.write_eof()
    return resp


async def list_images(request: web.Request) -> web.Response:
    svc = services(request)
    imgs = svc.images.list(all=query_bool(request.query.get("all")),
                           filters=Filters.parse(request.query.get("filters")))
    old = _old_api(request)
    return json_response([summary(svc, i, old) for i in imgs])


async def inspect(request: web.Request) -> web.Response:
    svc = services(request)
    img = svc.images.get(request.match_info["name"])
    return json_response(inspect_view(svc, img, _old_api(request)))


async def history(request: web.Request) -> web.Response:
    return json_response(services(request).images.history(request.match_info["name"]))


async def tag(request: web.Request) -> web.Response:
    repo = request.query.get("repo")
    if not repo:
        raise errdefs.InvalidArgument("repository name must have at least one component")
    services(request).images.tag(request.match_info["name"], repo, request.query.get("tag", ""))
    return web.Response(status=201)


async def remove(request: web.Request) -> web.Response:
    q = request.query
    report = services(request).images.remove(request.match_info["name"], force=query_bool(q.get("force")),
                                             noprune=query_bool(q.get("noprune")))
    return json_response(report)


async def prune(request: web.Request) -> web.Response:
    deleted, reclaimed = services(request).images.prune(Filters.parse(request.query.get("filters")))
    return json_response({"ImagesDeleted": deleted or None, "SpaceReclaimed": reclaimed})


async def save(request: web.Request) -> web.StreamResponse:
    """``GET /images/get?names=a&names=b`` and ``GET /images/{name}/get``: the tar ``docker save`` writes."""
    names = [request.match_info["name"]] if "name" in request.match_info else request.query.getall("names", [])
    chunks = services(request).images.save(names)
    first = await anext(chunks, b"")  # failures before the first byte still get a status and a message
    resp = web.StreamResponse(headers={"Content-Type": "application/x-tar"})
    resp.enable_chunked_encoding()
    await resp.prepare(request)
    if first:
        await resp.write(first)
    async for chunk in chunks:  # a failure from here on cuts the response short: the client sees a broken tar
        await resp.write(chunk)
    await resp.write_eof()
    return resp


async def load(request: web.Request) -> web.StreamResponse:
    """``POST /images/load``: the body is an archive; Docker's JSON messages come back, errors included."""
    quiet = query_bool(request.query.get("quiet"), default=True)
    svc = services(request)
    resp = await streams.json_stream_response(request)
    try:
        async for msg in svc.images.load(request.content.iter_chunked(1 << 20), quiet=quiet):
            await resp.write(streams.json_line(msg, b"\r\n"))
    except errdefs.DockyardError as e:
        await resp.write(streams.json_line({"errorDetail": {"message": str(e)}, "error": str(e)}, b"\r\n"))
    await resp.write_eof()
    return resp


def register(r: Router) -> None:
    r.add("POST", "/images/create", create)
    r.add("GET", "/images/json", list_images)
    r.add("GET", "/images/get", save)
    r.add("POST", "/images/load", load)
    r.add("POST", "/images/prune", prune)
    r.add("GET", "/images/{name:.+}/json", inspect)
    r.add("GET", "/images/{name:.+}/history", history)
    r.add("GET", "/images/{name:.+}/get", save)
    r.add("POST", "/images/{name:.+}/tag", tag)
    r.add("DELETE", "/images/{name:.+}", remove)
