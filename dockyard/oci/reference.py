"""Image references: ``[registry/]path[:tag][@digest]``, normalized as Docker does.

``busybox`` means ``docker.io/library/busybox:latest``; users see the familiar
form back (``busybox:latest``, ``localhost:5000/app:v1``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from dockyard import errdefs

DEFAULT_DOMAIN = "docker.io"
OFFICIAL_PREFIX = "library/"
DEFAULT_TAG = "latest"

_COMPONENT = r"[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*"
_PATH = re.compile(rf"^{_COMPONENT}(?:/{_COMPONENT})*$")
_TAG = re.compile(r"^[\w][\w.-]{0,127}$")
_DOMAIN = re.compile(r"^(?:[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?)(?:\.(?:[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?))*(?::[0-9]+)?$|^\[[0-9a-fA-F:]+\](?::[0-9]+)?$")
_DIGEST = re.compile(r"^[a-z0-9]+(?:[.+_-][a-z0-9]+)*:[a-zA-Z0-9=_-]+$")


@dataclass(frozen=True)
class Reference:
    domain: str
    path: str
    tag: str | None = None
    digest: str | None = None

    @property
    def name(self) -> str:
        """Fully qualified repository name: ``docker.io/library/busybox``."""
        return f"{self.domain}/{self.path}"

    @property
    def familiar_name(self) -> str:
        """What users type and see: ``busybox``, ``me/app``, ``localhost:5000/app``."""
        if self.domain == DEFAULT_DOMAIN:
            return self.path.removeprefix(OFFICIAL_PREFIX)
        return self.name

    def __str__(self) -> str:
        s = self.name
        if self.tag:
            s += ":" + self.tag
        if self.digest:
            s += "@" + self.digest
        return s

    def familiar(self) -> str:
        s = self.familiar_name
        if self.tag:
            s += ":" + self.tag
        if self.digest:
            s += "@" + self.digest
        return s

    def with_tag(self, tag: str) -> "Reference":
        return Reference(self.domain, self.path, tag, None)


def parse(text: str, default_tag: bool = True) -> Reference:
    """Parse and normalize; ``latest`` is added when neither tag nor digest is given."""
    if not text or text != text.strip():
        raise errdefs.InvalidArgument(f"invalid reference format: {text!r}")
    rest, digest = text, None
    if "@" in rest:
        rest, digest = rest.split("@", 1)
        if not _DIGEST.match(digest):
            raise errdefs.InvalidArgument("invalid reference format")
    tag = None
    slash = rest.rfind("/")
    colon = rest.rfind(":")
    if colon > slash:
        rest, tag = rest[:colon], rest[colon + 1:]
        if not _TAG.match(tag):
            raise errdefs.InvalidArgument("invalid reference format")
    domain, path = DEFAULT_DOMAIN, rest
    first, sep, remainder = rest.partition("/")
    if sep and ("." in first or ":" in first or first == "localhost" or first != first.lower()):
        if not _DOMAIN.match(first):
            raise errdefs.InvalidArgument("invalid reference format")
        domain, path = first, remainder
    if any(c.isupper() for c in path):
        raise errdefs.InvalidArgument(
            "invalid reference format: repository name must be lowercase")
    if not _PATH.match(path) or len(domain) + 1 + len(path) > 255:
        raise errdefs.InvalidArgument("invalid reference format")
    if domain == DEFAULT_DOMAIN and "/" not in path:
        path = OFFICIAL_PREFIX + path
    if tag is None and digest is None and default_tag:
        tag = DEFAULT_TAG
    return Reference(domain, path, tag, digest)


def familiar(ref: str) -> str:
    """The familiar form of a normalized reference string."""
    try:
        return parse(ref, default_tag=False).familiar()
    except errdefs.InvalidArgument:
        return ref
