"""Lean Engine API client (stdlib only): ``APIClient`` plus docker-py-named errors.

Modules: ``client`` (APIClient: verbs, version negotiation, streams, hijack),
``resources`` (per-resource sub-clients), ``streams`` (frame/JSON/raw stream
formats, hijacked sockets), ``wire`` (HTTP/1.1 over a socket), ``transport``
(address -> socket factory), ``errors``.
"""

from .client import DEFAULT_API_VERSION, APIClient
from .errors import (APIError, Conflict, DaemonUnreachable, DockerException, ImageNotFound,
                     InvalidArgument, InvalidVersion, NotFound, StreamParseError)

__all__ = ["APIClient", "DEFAULT_API_VERSION", "APIError", "Conflict", "DaemonUnreachable",
           "DockerException", "ImageNotFound", "InvalidArgument", "InvalidVersion", "NotFound",
           "StreamParseError"]
