"""Object IDs: 64 hex digits, shown truncated to 12, found again by any unique prefix."""

from __future__ import annotations

import secrets

from dockyard import errdefs


def new_id() -> str:
    """A random 256-bit ID whose short form is not all digits (Docker avoids those: they look like numbers)."""
    while True:
        ident = secrets.token_hex(32)
        if not ident[:12].isdigit():
            return ident


def short(ident: str) -> str:
    return ident.removeprefix("sha256:")[:12]


def find_by_prefix(prefix: str, ids, kind: str = "object") -> str | None:
    """The one ID in ``ids`` starting with ``prefix``; None when none does.

    Raises InvalidArgument when the prefix matches several (Docker's ambiguity error)."""
    found = None
    for ident in ids:
        if ident.startswith(prefix):
            if found is not None and found != ident:
                raise errdefs.InvalidArgument(f"multiple IDs found with provided prefix: {prefix}")
            found = ident
    return found
