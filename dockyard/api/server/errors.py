"""Error kinds → HTTP status and Docker's ``{"message": ...}`` body, in one place."""

from __future__ import annotations

import json
import logging

from aiohttp import web

from dockyard import errdefs

log = logging.getLogger(__name__)

_STATUS = [
    (errdefs.NotFound, 404),
    (errdefs.InvalidArgument, 400),
    (errdefs.NotModified, 304),
    (errdefs.Conflict, 409),
    (errdefs.Forbidden, 403),
    (errdefs.Unavailable, 503),
    (errdefs.NotImplementedErr, 501),
    (errdefs.System, 500),
]


def status_of(err: errdefs.DockyardError) -> int:
    for kind, status in _STATUS:
        if isinstance(err, kind):
            return status
    return 500


def error_response(status: int, message: str) -> web.Response:
    if status == 304:
        return web.Response(status=304)
    return web.Response(status=status, body=json.dumps({"message": message}).encode() + b"\n",
                        content_type="application/json")


@web.middleware
async def error_middleware(request: web.Request, handler):
    try:
        return await handler(request)
    except errdefs.DockyardError as e:
        status = status_of(e)
        if status >= 500:
            log.error("%s %s: %s", request.method, request.path, e)
        else:
            log.debug("%s %s: %d %s", request.method, request.path, status, e)
        return error_response(status, str(e))
    except web.HTTPNotFound:
        return error_response(404, "page not found")
    except web.HTTPMethodNotAllowed:
        return error_response(405, "method not allowed")
    except web.HTTPException:
        raise
    except (ConnectionResetError, ConnectionError):
        raise
    except Exception as e:  # a bug: keep serving, say so
        log.exception("%s %s failed", request.method, request.path)
        return error_response(500, f"internal error: {e}")
