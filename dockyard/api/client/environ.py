"""The process environment, read without importing ``os``.

``import os`` costs a CLI call ~1.5 ms (it builds ``os.environ`` on ``_collections_abc``,
measured here with ``python -S``), more than any module of dockyard's own; the commands
on the hot path (``run``, ``ps``, ...) need only a few variables, which ``posix``, built
into the interpreter and already loaded, gives as bytes. Values are decoded as
``os.environ`` decodes them.
"""

import posix


def getenv(name: str, default: str | None = None) -> str | None:
    """``os.environ.get(name, default)``."""
    value = posix.environ.get(name.encode("utf-8", "surrogateescape"))
    return default if value is None else value.decode("utf-8", "surrogateescape")
