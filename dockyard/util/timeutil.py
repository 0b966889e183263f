"""Times the way Go's encoding/json writes them (RFC 3339 with nanoseconds, trailing zeros dropped)."""

from __future__ import annotations

import re
import time
from datetime import datetime, timezone

from dockyard import errdefs

ZERO_TIME = "0001-01-01T00:00:00Z"


def now_ns() -> int:
    return time.time_ns()


def format_ns(ns: int) -> str:
    """``2026-11-23T00:06:31.597087373Z`` for a Unix time in nanoseconds; the zero time for 0."""
    if not ns:
        return ZERO_TIME
    secs, frac = divmod(ns, 1_000_000_000)
    base = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(secs))
    if frac:
        base += "." + f"{frac:09d}".rstrip("0")
    return base + "Z"


_RFC3339 = re.compile(r"^(\d{4}-\d{2}-\d{2})[T ](\d{2}:\d{2}:\d{2})(?:\.(\d{1,9}))?(Z|[+-]\d{2}:?\d{2})?$")


def parse_rfc3339_ns(text: str) -> int:
    m = _RFC3339.match(text.strip())
    if not m:
        raise ValueError(f"not an RFC 3339 time: {text!r}")
    day, clock, frac, tz = m.groups()
    dt = datetime.fromisoformat(f"{day}T{clock}")
    offset = 0
    if tz and tz != "Z":
        sign = 1 if tz[0] == "+" else -1
        tz = tz[1:].replace(":", "")
        offset = sign * (int(tz[:2]) * 3600 + int(tz[2:]) * 60)
    secs = int(dt.replace(tzinfo=timezone.utc).timestamp()) - offset
    return secs * 1_000_000_000 + int((frac or "0").ljust(9, "0"))


def parse_timestamp_ns(value: str, now: int | None = None) -> int:
    """Docker's ``--since``/``--until`` values: Unix seconds (maybe negative) with an optional fraction,
    RFC 3339, or a duration like ``10m`` before now. Anything else is an InvalidArgument."""
    value = value.strip()
    if not value:
        return 0
    if re.fullmatch(r"-?\d+(\.\d+)?", value):
        whole, _, frac = value.partition(".")
        sign = -1 if whole.startswith("-") else 1
        return int(whole) * 1_000_000_000 + sign * int((frac or "0")[:9].ljust(9, "0"))
    dur = parse_duration_ns(value)
    if dur is not None:
        return (now if now is not None else now_ns()) - dur
    try:
        return parse_rfc3339_ns(value)
    except ValueError:
        raise errdefs.InvalidArgument(f"failed to parse value as time or duration: {value!r}") from None


_DUR_PART = re.compile(r"(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h)")
_UNITS = {"ns": 1, "us": 1_000, "µs": 1_000, "ms": 1_000_000, "s": 1_000_000_000,
          "m": 60_000_000_000, "h": 3_600_000_000_000}


def parse_duration_ns(text: str) -> int | None:
    """Go's time.ParseDuration (``1h30m``, ``2.5s``); None when ``text`` is not a duration."""
    pos, total = 0, 0.0
    if not text:
        return None
    for m in _DUR_PART.finditer(text):
        if m.start() != pos:
            return None
        total += float(m.group(1)) * _UNITS[m.group(2)]
        pos = m.end()
    return int(total) if pos == len(text) else None
