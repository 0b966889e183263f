"""Go's slash-separated path functions (``path``/``filepath`` on Linux), exactly.

Docker's archive code decides what a tar entry or a ``docker cp`` path means with these; the tar
checks, ``docker cp`` (both ends) and the layer reader use them so they agree with dockerd and
with each other on every odd name (``..``, ``//``, trailing slashes).
"""

from __future__ import annotations


def clean(path: str) -> str:
    """``filepath.Clean``: the shortest equivalent path; ``..`` cannot climb above a rooted path."""
    if not path:
        return "."
    rooted = path.startswith("/")
    out: list[str] = []
    for part in path.split("/"):
        if part in ("", "."):
            continue
        if part == "..":
            if out and out[-1] != "..":
                out.pop()
            elif not rooted:
                out.append("..")
            continue
        out.append(part)
    s = "/".join(out)
    return ("/" + s) if rooted else (s or ".")


def base(path: str) -> str:
    """``filepath.Base``: the last element, trailing slashes ignored."""
    if not path:
        return "."
    path = path.rstrip("/")
    return path.rpartition("/")[2] if path else "/"


def dir(path: str) -> str:  # noqa: A001 - Go's name
    """``filepath.Dir``: everything but the last element, cleaned."""
    return clean(path[:path.rfind("/") + 1])


def join(*parts: str) -> str:
    """``filepath.Join``: the non-empty parts joined and cleaned ("" when all are empty)."""
    s = "/".join(p for p in parts if p)
    return clean(s) if s else ""


def split(path: str) -> tuple[str, str]:
    """``filepath.Split``: (directory with its trailing slash, last element)."""
    i = path.rfind("/")
    return path[:i + 1], path[i + 1:]


def within_root(name: str) -> str:
    """``name`` relative to a root that ``..`` cannot climb above (``Join("/", name)`` without its
    leading slash): how a layer or a copy places a tar entry's name and a hard link's target."""
    return clean("/" + name)[1:]
