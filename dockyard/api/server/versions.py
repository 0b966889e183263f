"""API version negotiation: ``/v1.xx/`` prefixes, served from 1.24 to 1.44."""

from __future__ import annotations

import logging

from aiohttp import web

from dockyard import errdefs

log = logging.getLogger("dockyard.api")

API_VERSION = "1.44"
MIN_API_VERSION = "1.24"


def parse(v: str) -> tuple[int, int]:
    major, _, minor = v.partition(".")
    return int(major), int(minor or 0)


CURRENT = parse(API_VERSION)
MINIMUM = parse(MIN_API_VERSION)


@web.middleware
async def version_middleware(request: web.Request, handler):
    raw = request.match_info.get("ver")
    if raw:
        try:
            v = parse(raw.lstrip("v"))
        except ValueError:
            raise errdefs.InvalidArgument(f"invalid API version: {raw}") from None
        if v > CURRENT:
            raise errdefs.InvalidArgument(f"client version {raw.lstrip('v')} is too new. Maximum supported API "
                                          f"version is {API_VERSION}")
        if v < MINIMUM:
            raise errdefs.InvalidArgument(f"client version {raw.lstrip('v')} is too old. Minimum supported API "
                                          f"version is {MIN_API_VERSION}, please upgrade your client to a newer "
                                          f"version")
        request["api_version"] = v
    else:
        request["api_version"] = CURRENT
    log.debug("%s %s", request.method, request.path_qs)
    return await handler(request)


def at_least(request: web.Request, v: str) -> bool:
    return request["api_version"] >= parse(v)
