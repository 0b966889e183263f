"""Content digests (``sha256:<64 hex>``), the keys of the content store."""

from __future__ import annotations

import hashlib
import re

from dockyard import errdefs

_DIGEST = re.compile(r"^sha256:[a-f0-9]{64}$")


def sha256_bytes(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def validate(digest: str) -> str:
    if not _DIGEST.match(digest):
        raise errdefs.InvalidArgument(f"invalid digest {digest!r}")
    return digest


def is_digest(text: str) -> bool:
    return bool(_DIGEST.match(text))


def hex_of(digest: str) -> str:
    return digest.split(":", 1)[1]


def chain_ids(diff_ids: list[str]) -> list[str]:
    """ChainID of each layer prefix, as the OCI image spec defines it."""
    out: list[str] = []
    for d in diff_ids:
        out.append(d if not out else sha256_bytes(f"{out[-1]} {d}".encode()))
    return out
