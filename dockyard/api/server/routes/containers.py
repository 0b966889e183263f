"""/containers/...: the container lifecycle, its stdio streams, and Docker's JSON views of it."""

from __future__ import annotations

import asyncio
import functools
import logging
import shlex
import time

from aiohttp import web

from dockyard import errdefs
from dockyard.api.server import streams
from dockyard.api.server.app import Router, Services, json_body, json_response, services
from dockyard.api.server.validation import query_bool, query_int
from dockyard.runtime import logs as rlogs
from dockyard.runtime import stdio
from dockyard.services.containers import Container, Status
from dockyard.services.events import label_attributes
from dockyard.util import aiopipe
from dockyard.util.filters import Filters
from dockyard.util.timeutil import format_ns, parse_timestamp_ns
from dockyard.util.units import human_duration

log = logging.getLogger(__name__)


# -- views -------------------------------------------------------------------
def _mounts_view(svc: Services, c: Container) -> list[dict]:
    return [mp.inspect() for mp in svc.containers.mount_points(c) if mp.listed]


def status_text(c: Container) -> str:
    """Docker's ``State.String()``, as ``ps`` shows it."""
    s, now = c.state, time.time_ns()
    if s.status in (Status.RUNNING, Status.PAUSED):
        up = human_duration((now - s.started_at) / 1e9)
        if s.status == Status.PAUSED:
            return f"Up {up} (Paused)"
        if s.health:
            status = s.health.get("Status") or "starting"
            return f"Up {up} (health: starting)" if status == "starting" else f"Up {up} ({status})"
        return f"Up {up}"
    if s.status == Status.RESTARTING:
        return f"Restarting ({s.exit_code}) {human_duration((now - s.finished_at) / 1e9)} ago"
    if s.status == Status.REMOVING:
        return "Removal In Progress"
    if s.status == Status.DEAD:
        return "Dead"
    if not s.started_at:
        return "Created"
    if not s.finished_at:
        return ""
    return f"Exited ({s.exit_code}) {human_duration((now - s.finished_at) / 1e9)} ago"


def state_view(c: Container) -> dict:
    s = c.state
    out = {
        "Status": s.status.value, "Running": s.running, "Paused": s.status == Status.PAUSED,
        "Restarting": s.status == Status.RESTARTING, "OOMKilled": s.oom_killed, "Dead": s.status == Status.DEAD,
        "Pid": s.pid, "ExitCode": s.exit_code, "Error": s.error, "StartedAt": format_ns(s.started_at),
        "FinishedAt": format_ns(s.finished_at),
    }
    if s.health:
        out["Health"] = s.health
    return out


def inspect(svc: Services, c: Container, size: bool = False) -> dict:
    started = c.state.started_once
    snaps = svc.containers.snapshots
    upper = snaps.upper_dir(c.id)
    lowers = snaps.lower_dirs(c.id)
    out = {
        "Id": c.id, "Created": format_ns(c.created), "Path": c.extra["path"], "Args": c.extra["args"],
        "State": state_view(c), "Image": c.image_id,
        "ResolvConfPath": c.extra["resolv_conf_path"] if started else "",
        "HostnamePath": c.extra["hostname_path"] if started else "",
        "HostsPath": c.extra["hosts_path"] if started else "",
        "LogPath": c.log_path if started else "",
        "Name": "/" + c.name, "RestartCount": c.state.restart_count, "Driver": "overlay2", "Platform": "linux",
        "MountLabel": "", "ProcessLabel": "", "AppArmorProfile": "",
        "ExecIDs": list(c.exec_ids) or None,
        "HostConfig": c.host_config,
        "GraphDriver": {"Data": {"LowerDir": ":".join(lowers), "MergedDir": c.rootfs, "UpperDir": upper,
                                 "WorkDir": upper[:-len("diff")] + "work"}, "Name": "overlay2"},
    }
    if size:
        rw, root = svc.containers.size(c)
        out["SizeRw"], out["SizeRootFs"] = rw, root
    out.update({
        "Mounts": _mounts_view(svc, c),
        "Config": c.config,
        "NetworkSettings": svc.networks.settings(c),
    })
    return out


def command_line(c: Container) -> str:
    return _command_text(c.extra["path"], tuple(c.extra["args"]))


@functools.lru_cache(maxsize=4096)
def _command_text(path: str, args: tuple[str, ...]) -> str:
    # cached: every container list quotes every container's command, and commands never change
    return shlex.join([path, *args])


def summary(svc: Services, c: Container, size: bool = False, net_view: tuple[dict, list] | None = None) -> dict:
    """One entry of the container list; ``net_view``: its (Networks, Ports), read for the whole list at once."""
    networks, ports = net_view or svc.networks.list_views([c])[c.id]
    out = {
        "Id": c.id, "Names": ["/" + c.name], "Image": c.config.get("Image") or c.image_id, "ImageID": c.image_id,
        "Command": command_line(c), "Created": c.created // 1_000_000_000, "Ports": ports,
        "Labels": c.config.get("Labels") or {}, "State": c.state.status.value, "Status": status_text(c),
        "HostConfig": {"NetworkMode": c.host_config.get("NetworkMode") or "default"},
        "NetworkSettings": {"Networks": networks}, "Mounts": _mounts_view(svc, c),
    }
    if size:
        rw, root = svc.containers.size(c)
        out["SizeRw"], out["SizeRootFs"] = rw, root
    return out


# -- lifecycle ---------------------------------------------------------------
async def create(request: web.Request) -> web.Response:
    body = await json_body(request, "ContainerCreate") or {}
    host_config = body.pop("HostConfig", None)
    networking = body.pop("NetworkingConfig", None)
    c, warnings = await services(request).containers.create(
        name=request.query.get("name") or None, config=body, host_config=host_config, networking_config=networking)
    return json_response({"Id": c.id, "Warnings": warnings}, status=201)


async def list_containers(request: web.Request) -> web.Response:
    q = request.query
    svc = services(request)
    size = query_bool(q.get("size"))
    found = svc.containers.list(all=query_bool(q.get("all")), limit=query_int("limit", q.get("limit"), -1),
                                filters=Filters.parse(q.get("filters")))
    views = svc.networks.list_views(found)
    return json_response([summary(svc, c, size, views[c.id]) for c in found])


async def inspect_container(request: web.Request) -> web.Response:
    svc = services(request)
    c = svc.containers.get(request.match_info["id"])
    return json_response(inspect(svc, c, query_bool(request.query.get("size"))))


async def start(request: web.Request) -> web.Response:
    # A body (HostConfig at start) was removed from the API in 1.24; ignore one if sent.
    await services(request).containers.start(request.match_info["id"])
    return web.Response(status=204)


def _timeout(request: web.Request) -> int | None:
    t = request.query.get("t")
    return None if t in (None, "") else query_int("t", t)


async def stop(request: web.Request) -> web.Response:
    await services(request).containers.stop(request.match_info["id"], _timeout(request),
                                            request.query.get("signal") or None)
    return web.Response(status=204)


async def restart(request: web.Request) -> web.Response:
    await services(request).containers.restart(request.match_info["id"], _timeout(request),
                                               request.query.get("signal") or None)
    return web.Response(status=204)


async def kill(request: web.Request) -> web.Response:
    await services(request).containers.kill(request.match_info["id"], request.query.get("signal") or None)
    return web.Response(status=204)


async def pause(request: web.Request) -> web.Response:
    await services(request).containers.pause(request.match_info["id"])
    return web.Response(status=204)


async def unpause(request: web.Request) -> web.Response:
    await services(request).containers.unpause(request.match_info["id"])
    return web.Response(status=204)


async def wait(request: web.Request) -> web.StreamResponse:
    svc = services(request)
    fut = svc.containers.register_wait(request.match_info["id"], request.query.get("condition", ""))
    resp = web.StreamResponse(status=200, headers={"Content-Type": "application/json"})
    resp.enable_chunked_encoding()
    await resp.prepare(request)
    await resp.write(b"")  # headers out now: the client knows the wait is registered before it starts
    code = await fut
    try:
        await resp.write(streams.json_line({"Error": None, "StatusCode": code}))
        await resp.write_eof()
    except ConnectionResetError:
        pass  # the client stopped waiting
    return resp


async def remove(request: web.Request) -> web.Response:
    q = request.query
    if query_bool(q.get("link")):
        raise errdefs.InvalidArgument("links are not supported on this daemon yet")
    await services(request).containers.remove(request.match_info["id"], force=query_bool(q.get("force")),
                                              volumes=query_bool(q.get("v")))
    return web.Response(status=204)


async def update(request: web.Request) -> web.Response:
    body = await json_body(request, "ContainerUpdate", required=False) or {}
    warnings = await services(request).containers.update(request.match_info["id"], body)
    return json_response({"Warnings": warnings or None})


async def rename(request: web.Request) -> web.Response:
    name = request.query.get("name")
    if not name:
        raise errdefs.InvalidArgument("Neither old nor new names may be empty")
    services(request).containers.rename(request.match_info["id"], name)
    return web.Response(status=204)


async def resize(request: web.Request) -> web.Response:
    h = query_int("h", request.query.get("h"), 0)
    w = query_int("w", request.query.get("w"), 0)
    services(request).containers.resize(request.match_info["id"], h, w)
    return web.Response(status=200)


async def top(request: web.Request) -> web.Response:
    return json_response(await services(request).containers.top(request.match_info["id"],
                                                                request.query.get("ps_args") or "-ef"))


_KIND = {"C": 0, "A": 1, "D": 2}


async def changes(request: web.Request) -> web.Response:
    svc = services(request)
    found = await asyncio.get_running_loop().run_in_executor(None, svc.containers.changes, request.match_info["id"])
    return json_response([{"Path": p, "Kind": _KIND[k]} for k, p in found] or None)


async def export(request: web.Request) -> web.StreamResponse:
    svc = services(request)
    c = svc.containers.get(request.match_info["id"])
    resp = web.StreamResponse(status=200, headers={"Content-Type": "application/x-tar"})
    resp.enable_chunked_encoding()
    await resp.prepare(request)
    async for chunk in aiopipe.produce_in_thread(lambda out: svc.containers.export(c.id, out)):
        await resp.write(chunk)
    await resp.write_eof()
    return resp


async def prune(request: web.Request) -> web.Response:
    deleted, reclaimed = await services(request).containers.prune(Filters.parse(request.query.get("filters")))
    return json_response({"ContainersDeleted": deleted or None, "SpaceReclaimed": reclaimed})


# -- logs and attach -----------------------------------------------------------
def _log_bytes(e: rlogs.LogEntry, tty: bool, timestamps: bool) -> bytes:
    data = _ts(e.time_ns) + b" " + e.data if timestamps else e.data
    if tty:
        return data
    return streams.frame(stdio.STDOUT if e.stream == "stdout" else stdio.STDERR, data)


def _ts(ns: int) -> bytes:
    """Docker's log timestamps: RFC 3339 with all nine digits of nanoseconds."""
    secs, frac = divmod(ns, 1_000_000_000)
    return (time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(secs)) + f".{frac:09d}Z").encode()


async def container_logs(request: web.Request) -> web.StreamResponse:
    q = request.query
    svc = services(request)
    c = svc.containers.get(request.match_info["id"])
    want_out, want_err = query_bool(q.get("stdout")), query_bool(q.get("stderr"))
    if not (want_out or want_err):
        raise errdefs.InvalidArgument("Bad parameters: you must choose at least one stream")
    tail_raw = q.get("tail", "all")
    tail = -1 if tail_raw in ("all", "") else query_int("tail", tail_raw)
    since = parse_timestamp_ns(q["since"]) if q.get("since") else 0
    until = parse_timestamp_ns(q["until"]) if q.get("until") else 0
    timestamps = query_bool(q.get("timestamps"))
    follow = query_bool(q.get("follow"))
    tty = c.tty
    ctype = streams.RAW_STREAM if tty else streams.MUX_STREAM
    resp = web.StreamResponse(status=200, headers={"Content-Type": ctype})
    resp.enable_chunked_encoding()
    await resp.prepare(request)
    try:
        if follow and c.state.running:
            async for e in rlogs.follow(c.log_path, stdout=want_out, stderr=want_err, since_ns=since,
                                        until_ns=until, tail=tail,
                                        running=lambda: c.state.running and c.id in svc.containers._by_id):
                await resp.write(_log_bytes(e, tty, timestamps))
        else:
            entries = await asyncio.get_running_loop().run_in_executor(
                None, lambda: rlogs.select(rlogs.read_entries(c.log_path), stdout=want_out, stderr=want_err,
                                           since_ns=since, until_ns=until, tail=tail))
            buf = bytearray()
            for e in entries:
                buf += _log_bytes(e, tty, timestamps)
                if len(buf) > 1 << 16:
                    await resp.write(bytes(buf))
                    buf.clear()
            if buf:
                await resp.write(bytes(buf))
        await resp.write_eof()
    except ConnectionResetError:
        pass
    return resp


async def attach(request: web.Request) -> web.StreamResponse:
    q = request.query
    svc = services(request)
    c = svc.containers.begin_attach(request.match_info["id"])  # refusals come before the hijack
    want_in, want_out, want_err = query_bool(q.get("stdin")), query_bool(q.get("stdout")), query_bool(q.get("stderr"))
    stream, with_logs = query_bool(q.get("stream")), query_bool(q.get("logs"))
    keys = stdio.parse_detach_keys(q.get("detachKeys") or stdio.DEFAULT_DETACH_KEYS)
    tty = c.tty
    hj = await streams.hijack(request, streams.RAW_STREAM if tty else streams.MUX_STREAM)
    try:
        if with_logs:
            for e in rlogs.select(rlogs.read_entries(c.log_path), stdout=want_out, stderr=want_err):
                await hj.write(_log_bytes(e, tty, False))
        if stream:
            await pump_attachment(hj, svc.containers.attach(c.id, begun=True), tty=tty, want_in=want_in,
                                  want_out=want_out, want_err=want_err, detach_keys=keys,
                                  on_detach=lambda: svc.events.publish("container", "detach", c.id,
                                                                       image=c.config.get("Image"), name=c.name,
                                                                       **label_attributes(c.config.get("Labels"))))
    except (ConnectionResetError, errdefs.DockyardError) as e:
        log.debug("attach %s ended: %s", c.id[:12], e)
    finally:
        hj.close()
    return web.Response()  # never sent: the connection is ours


async def pump_attachment(hj: streams.Hijacked, connecting, *, tty: bool, want_in: bool, want_out: bool,
                          want_err: bool, detach_keys: bytes, on_detach=None) -> None:
    """Copy stdio between a hijacked client connection and a container/exec attachment."""
    att_task = asyncio.ensure_future(connecting)
    closed_task = asyncio.ensure_future(hj.wait_closed())
    done, _ = await asyncio.wait({att_task, closed_task}, return_when=asyncio.FIRST_COMPLETED)
    if att_task not in done:
        att_task.cancel()
        return
    closed_task.cancel()
    att = att_task.result()

    async def copy_out() -> None:
        while True:
            item = await att.read()
            if item is None:
                return
            s, data = item
            if (s == stdio.STDOUT and not want_out) or (s == stdio.STDERR and not want_err):
                continue
            await hj.write(data if tty else streams.frame(s, data))

    async def copy_in() -> bool:
        scanner = stdio.DetachScanner(detach_keys)
        while True:
            data = await hj.read()
            if not data:
                # Docker closes a container's stdin when the client's ends only without a terminal;
                # on a terminal the session just ends (the client detached or went away).
                if not tty:
                    att.close_stdin()
                return False
            data, detached = scanner.feed(data)
            if data:
                await att.write(data)
            if detached:
                return True

    out_task = asyncio.ensure_future(copy_out())
    tasks = {out_task}
    in_task = None
    if want_in:
        in_task = asyncio.ensure_future(copy_in())
        tasks.add(in_task)
    closed = asyncio.ensure_future(hj.wait_closed())
    tasks.add(closed)
    detached = False
    try:
        while True:
            done, _ = await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
            if out_task in done or closed in done:
                break
            if in_task is not None and in_task in done:
                tasks.discard(in_task)
                if in_task.result():
                    detached = True
                    if on_detach:
                        on_detach()
                    break
    finally:
        for t in (out_task, in_task, closed):
            if t is not None and not t.done():
                t.cancel()
        if (detached or tty) and hasattr(att, "park"):
            att.park()
        else:
            att.close()
        if out_task.done() and not out_task.cancelled() and out_task.exception():
            log.debug("attach output: %s", out_task.exception())


def register(r: Router) -> None:
    r.add("POST", "/containers/create", create)
    r.add("GET", "/containers/json", list_containers)
    r.add("POST", "/containers/prune", prune)
    r.add("GET", "/containers/{id}/json", inspect_container)
    r.add("POST", "/containers/{id}/start", start)
    r.add("POST", "/containers/{id}/stop", stop)
    r.add("POST", "/containers/{id}/restart", restart)
    r.add("POST", "/containers/{id}/kill", kill)
    r.add("POST", "/containers/{id}/pause", pause)
    r.add("POST", "/containers/{id}/unpause", unpause)
    r.add("POST", "/containers/{id}/wait", wait)
    r.add("DELETE", "/containers/{id}", remove)
    r.add("POST", "/containers/{id}/rename", rename)
    r.add("POST", "/containers/{id}/update", update)
    r.add("POST", "/containers/{id}/resize", resize)
    r.add("GET", "/containers/{id}/top", top)
    r.add("GET", "/containers/{id}/changes", changes)
    r.add("GET", "/containers/{id}/export", export)
    r.add("GET", "/containers/{id}/logs", container_logs)
    r.add("POST", "/containers/{id}/attach", attach)

