"""Client-side errors, named as docker-py names them.

    DockerException
     ├── APIError (.status_code, .explanation, .response)  any non-2xx answer
     │    ├── NotFound                                      404
     │    │    └── ImageNotFound                            404 about an image
     │    └── Conflict                                      409
     ├── InvalidVersion          the daemon speaks an API version we cannot use
     ├── InvalidArgument         a bad value given to the client itself
     ├── StreamParseError        a stream that is not what the API promises
     └── DaemonUnreachable       (also an OSError) no daemon at the address
"""

from . import jsonc as json


class DockerException(Exception):
    """Base of every error this client raises."""


class APIError(DockerException):
    """The daemon answered with an error status; ``explanation`` is its ``message``."""

    def __init__(self, message: str, response=None, explanation: str | None = None,
                 status_code: int | None = None) -> None:
        super().__init__(message)
        self.response = response
        self.explanation = explanation
        self._status_code = status_code

    @property
    def status_code(self) -> int | None:
        if self._status_code is not None:
            return self._status_code
        return getattr(self.response, "status", None)

    def __str__(self) -> str:
        msg = super().__str__()
        if self.explanation:
            msg = f"{msg} ({self.explanation!r})"
        return msg

    def is_client_error(self) -> bool:
        return self.status_code is not None and 400 <= self.status_code < 500

    def is_server_error(self) -> bool:
        return self.status_code is not None and 500 <= self.status_code < 600


class NotFound(APIError):
    pass


class ImageNotFound(NotFound):
    pass


class Conflict(APIError):
    pass


class InvalidVersion(DockerException):
    pass


class InvalidArgument(DockerException):
    pass


class StreamParseError(DockerException, RuntimeError):
    pass


class DaemonUnreachable(DockerException, OSError):
    pass


_IMAGE_NOT_FOUND_HINTS = ("no such image", "not found: does not exist or no pull access",
                          "repository does not exist", "was found but does not match the specified platform")


def from_response(status: int, reason: str, body: bytes, url: str = "", response=None) -> APIError:
    """Build the typed error for an error response (the body is ``{"message": ...}`` or text)."""
    explanation = ""
    try:
        doc = json.loads(body)
        explanation = doc.get("message", "") if isinstance(doc, dict) else ""
        if not explanation and isinstance(doc, dict):
            explanation = doc.get("error", "")
    except ValueError:
        explanation = body.decode("utf-8", "replace").strip()
    kind = "Client" if 400 <= status < 500 else "Server"
    message = f"{status} {kind} Error for {url}: {reason}"
    cls = APIError
    if status == 404:
        low = explanation.lower()
        cls = ImageNotFound if any(h in low for h in _IMAGE_NOT_FOUND_HINTS) else NotFound
    elif status == 409:
        cls = Conflict
    return cls(message, response=response, explanation=explanation, status_code=status)
