"""Regular expressions compiled on first use.

Importing ``re`` costs a CLI call ~7 ms here (it imports ``enum``); modules on the CLI's
hot paths keep their patterns as ``LazyRe`` so only the commands that use them pay.
"""


class LazyRe:
    """``re.compile(pattern, flags)``, done the first time a method (``match``, ``search``...) is used."""

    __slots__ = ("pattern", "flags", "_rx")

    def __init__(self, pattern: str, flags: int = 0) -> None:
        self.pattern = pattern
        self.flags = flags
        self._rx = None

    def __getattr__(self, name: str):
        if self._rx is None:
            import re

            self._rx = re.compile(self.pattern, self.flags)
        return getattr(self._rx, name)
