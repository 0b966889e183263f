"""Error kinds, raised deep and mapped to wire codes once at the edge.

    DockyardError
     ├── NotFound            404  no such container / image / exec / volume
     ├── InvalidArgument     400  bad parameter, malformed request
     ├── Conflict            409  name in use, container running, image in use
     ├── AlreadyExists       409  (a Conflict the caller may treat as success)
     ├── FailedPrecondition  409  (state does not allow the verb: not running, paused...)
     ├── NotModified         304  start of a started container, stop of a stopped one
     ├── Forbidden           403
     ├── Unavailable         503
     ├── NotImplemented      501
     └── System              500  a real fault (runtime failed, disk error)

Only `api.server.errors` turns these into HTTP statuses; nothing below it knows HTTP.
"""

from __future__ import annotations


class DockyardError(Exception):
    """Base of every error kind; the message is what the user sees."""

    def __init__(self, message: str = "") -> None:
        super().__init__(message)
        self.message = message

    def __str__(self) -> str:
        return self.message


class NotFound(DockyardError):
    pass


class InvalidArgument(DockyardError):
    pass


class Conflict(DockyardError):
    pass


class AlreadyExists(Conflict):
    pass


class FailedPrecondition(Conflict):
    pass


class NotModified(DockyardError):
    pass


class Forbidden(DockyardError):
    pass


class Unavailable(DockyardError):
    pass


class NotImplementedErr(DockyardError):
    pass


class System(DockyardError):
    pass
