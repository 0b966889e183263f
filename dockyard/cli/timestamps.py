"""docker's ``timetypes.GetTimestamp``: --since/--until values to what the API expects.

Accepted: Go durations relative to now ("10m", "1h30m" -> unix seconds),
RFC 3339 dates and times with or without zone and fraction ("2024-01-02",
"2024-01-02T15:04:05Z", "2024-01-02T15:04:05.5+01:00"; local time when no
zone), and unix timestamps ("1700000000", "1700000000.5") passed through.
"""

from __future__ import annotations

import re
import time


def _parse_duration(value: str) -> int | None:
    from dockyard.cli.runopts import parse_duration

    try:
        return parse_duration(value)
    except ValueError:
        return None


_TS_RE = re.compile(
    r"^(\d{4})-(\d{2})-(\d{2})"
    r"(?:T(\d{2})(?::(\d{2})(?::(\d{2})(?:\.(\d{1,9}))?)?)?)?"
    r"(Z|z|[+-]\d{2}:\d{2})?$")


def get_timestamp(value: str, now: float | None = None) -> str:
    now = time.time() if now is None else now
    d = _parse_duration(value)
    if value != "0" and d is not None:
        return str(int(now - d / 1e9))
    m = _TS_RE.match(value)
    if m:
        import calendar

        y, mo, da, hh, mi, ss, frac, zone = m.groups()
        fields = (int(y), int(mo), int(da), int(hh or 0), int(mi or 0), int(ss or 0))
        if zone:
            secs = calendar.timegm(fields + (0, 0, 0))
            if zone not in ("Z", "z"):
                sign = 1 if zone[0] == "+" else -1
                secs -= sign * (int(zone[1:3]) * 3600 + int(zone[4:6]) * 60)
        else:
            secs = int(time.mktime(fields + (0, 0, -1)))
        nanos = int((frac or "0").ljust(9, "0"))
        return f"{secs}.{nanos:09d}"
    if "-" in value:
        raise ValueError(f'parsing time "{value}" as a timestamp: cannot parse')
    if re.match(r"^\d+(\.\d+)?$", value):
        return value
    raise ValueError(f'failed to parse value as time or duration: "{value}"')
