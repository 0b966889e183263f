"""The aiohttp application: routes, middlewares, and the services they call.

Each route is registered twice, bare (``/containers/json``) and versioned
(``/v1.44/containers/json``), as dockerd serves both.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Awaitable, Callable

from aiohttp import web

from dockyard import errdefs
from dockyard.api.server import errors, versions
from dockyard.api.server.validation import parse_json_body, validate_body
from dockyard.services.archive import ArchiveService
from dockyard.services.build.service import BuildService
from dockyard.services.containers import ContainerService
from dockyard.services.events import EventBus
from dockyard.services.exec import ExecService
from dockyard.services.images import ImageService
from dockyard.services.networks import NetworkService
from dockyard.services.stats import StatsService
from dockyard.services.system import SystemService
from dockyard.services.volumes import VolumeService

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

# Request bodies larger than this are refused (image tars and build contexts stream instead).
MAX_JSON_BODY = 16 * 1024 * 1024


@dataclass
class Services:
    containers: ContainerService
    execs: ExecService
    images: ImageService
    events: EventBus
    system: SystemService
    builds: BuildService
    volumes: VolumeService
    archive: ArchiveService
    networks: NetworkService
    stats: StatsService | None = None


SERVICES = web.AppKey("services", Services)


class Router:
    def __init__(self, app: web.Application) -> None:
        self.app = app

    def add(self, method: str, path: str, handler: Handler) -> None:
        self.app.router.add_route(method, path, handler)
        self.app.router.add_route(method, "/{ver:v[0-9]+(?:\\.[0-9]+)?}" + path, handler)


def services(request: web.Request) -> Services:
    return request.app[SERVICES]


async def json_body(request: web.Request, operation: str | None = None, required: bool = True):
    """The request's JSON body, checked against the spec's types for ``operation``."""
    if request.content_length is not None and request.content_length > MAX_JSON_BODY:
        raise errdefs.InvalidArgument("request body too large")
    raw = await request.content.read(MAX_JSON_BODY + 1)
    if len(raw) > MAX_JSON_BODY:
        raise errdefs.InvalidArgument("request body too large")
    ctype = request.headers.get("Content-Type", "")
    if raw and ctype.split(";")[0].strip().lower() != "application/json":
        # dockerd's CheckForJSON: a body must say it is JSON
        raise errdefs.InvalidArgument(f"Content-Type specified ({ctype}) must be 'application/json'")
    if not raw.strip():
        if required:
            raise errdefs.InvalidArgument("invalid JSON: request body is empty")
        return None
    body = parse_json_body(raw)
    if operation is not None:
        body = validate_body(operation, body)
    return body


def json_response(data, status: int = 200) -> web.Response:
    return web.Response(status=status, body=json.dumps(data, separators=(",", ":")).encode() + b"\n",
                        content_type="application/json")


async def _add_headers(request: web.Request, response: web.StreamResponse) -> None:
    response.headers["Api-Version"] = versions.API_VERSION
    response.headers["Server"] = "Docker/25.0.0-dockyard (linux)"
    response.headers["Docker-Experimental"] = "false"
    response.headers["Ostype"] = "linux"


def make_app(svc: Services, *, request_counter=None) -> web.Application:
    """``request_counter``: an outermost middleware that sees every final status (metrics)."""
    from dockyard.api.server.routes import (archive, build, containers, execs, images, networks, stats, system,
                                            volumes)

    middlewares = [errors.error_middleware, versions.version_middleware]
    if request_counter is not None:
        middlewares.insert(0, request_counter)
    app = web.Application(middlewares=middlewares,
                          client_max_size=MAX_JSON_BODY, handler_args={"max_field_size": 65536})
    app[SERVICES] = svc
    app.on_response_prepare.append(_add_headers)
    router = Router(app)
    for module in (system, containers, execs, images, build, volumes, archive, networks, stats):
        module.register(router)
    return app
