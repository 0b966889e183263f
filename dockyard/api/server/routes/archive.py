"""/containers/{id}/archive: ``docker cp``'s stat (HEAD), tar out (GET) and tar in (PUT)."""

from __future__ import annotations

import logging

from aiohttp import web

from dockyard.api.server.app import Router, services
from dockyard.api.server.validation import query_bool
from dockyard.services.archive import encode_stat

log = logging.getLogger(__name__)

STAT_HEADER = "X-Docker-Container-Path-Stat"


async def stat_path(request: web.Request) -> web.Response:
    st = await services(request).archive.stat(request.match_info["id"], request.query.get("path", ""))
    return web.Response(status=200, headers={STAT_HEADER: encode_stat(st)})


async def get_archive(request: web.Request) -> web.StreamResponse:
    svc = services(request).archive
    async with svc.archive(request.match_info["id"], request.query.get("path", "")) as (st, chunks):
        resp = web.StreamResponse(status=200, headers={"Content-Type": "application/x-tar",
                                                       STAT_HEADER: encode_stat(st)})
        resp.enable_chunked_encoding()
        await resp.prepare(request)
        try:
            async for chunk in chunks:
                await resp.write(chunk)
            await resp.write_eof()
        except ConnectionResetError:
            pass  # the client went away: the writer thread stops on its broken pipe
        except Exception as e:  # noqa: BLE001 - the status is sent: all we can do is cut the stream short
            log.error("GET %s: archive of %s failed: %s", request.path, request.query.get("path"), e)
            if request.transport is not None:
                request.transport.close()
        finally:
            await chunks.aclose()
    return resp


async def put_archive(request: web.Request) -> web.Response:
    q = request.query
    await services(request).archive.extract(
        request.match_info["id"], q.get("path", ""), request.content.iter_chunked(1 << 20),
        no_overwrite_dir_non_dir=query_bool(q.get("noOverwriteDirNonDir")),
        copy_uid_gid=query_bool(q.get("copyUIDGID")))
    return web.Response(status=200)


def register(r: Router) -> None:
    r.add("HEAD", "/containers/{id}/archive", stat_path)
    r.add("GET", "/containers/{id}/archive", get_archive)
    r.add("PUT", "/containers/{id}/archive", put_archive)
