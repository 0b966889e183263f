"""Docker's text formatting, byte for byte: durations, sizes, ids, tables.

* ``human_duration`` is go-units ``HumanDuration``; ``human_size`` is
  ``HumanSizeWithPrecision`` (SI units, ``%.Ng``); ``bytes_size`` is ``BytesSize``.
* ``tabwrite`` is Go's ``text/tabwriter`` as docker configures it
  (minwidth 10, tabwidth 1, padding 3, pad with spaces, no flags).
* ``ellipsis``, ``go_quote``, ``truncate_id``, ``display_ports`` and
  ``go_time`` follow the docker CLI's formatter package.
* ``json_indent`` is Go's ``json.Indent(dst, src, "", "    ")``: strings are
  copied verbatim, so the daemon's escaping survives (``docker inspect``).
"""

from __future__ import annotations

import time

from dockyard.util.units import bytes_size, human_duration, human_size  # noqa: F401 (re-exported)


def since(ts: float, now: float | None = None) -> str:
    """"<duration> ago" as docker's CREATED columns print it."""
    now = time.time() if now is None else now
    return human_duration(max(0.0, now - ts)) + " ago"


def truncate_id(id_: str) -> str:
    """stringid.TruncateID: drop an 'alg:' prefix and keep 12 characters."""
    if ":" in id_:
        id_ = id_.split(":", 1)[1]
    return id_[:12]


def _char_width(ch: str) -> int:
    o = ord(ch)
    if o < 32 or 0x7F <= o < 0xA0:
        return 0
    if o >= 0x1100 and (o <= 0x115F or 0x2E80 <= o <= 0xA4CF or 0xAC00 <= o <= 0xD7A3 or
                        0xF900 <= o <= 0xFAFF or 0xFE30 <= o <= 0xFE4F or 0xFF00 <= o <= 0xFF60 or
                        0xFFE0 <= o <= 0xFFE6 or 0x1F300 <= o <= 0x1F64F or 0x20000 <= o <= 0x3FFFD):
        return 2
    return 1


def display_width(s: str) -> int:
    if s.isascii():
        return len(s)  # the common case, without a per-character lookup
    return sum(_char_width(c) for c in s)


def ellipsis(s: str, max_width: int) -> str:
    """docker formatter.Ellipsis: cut to ``max_width`` display cells, the last one being '…'."""
    if max_width <= 0:
        return ""
    if display_width(s) <= max_width:
        return s
    if max_width == 1:
        return "…"
    out, w = [], 0
    for ch in s:
        cw = _char_width(ch)
        if w + cw > max_width - 1:
            break
        out.append(ch)
        w += cw
    return "".join(out) + "…"


def go_quote(s: str) -> str:
    """strconv.Quote: a double-quoted Go string literal."""
    if s.isascii() and s.isprintable() and '"' not in s and "\\" not in s:
        return f'"{s}"'  # nothing to escape (the common case: ps quotes every command)
    out = ['"']
    for ch in s:
        o = ord(ch)
        if ch == '"':
            out.append('\\"')
        elif ch == "\\":
            out.append("\\\\")
        elif ch == "\a":
            out.append("\\a")
        elif ch == "\b":
            out.append("\\b")
        elif ch == "\f":
            out.append("\\f")
        elif ch == "\n":
            out.append("\\n")
        elif ch == "\r":
            out.append("\\r")
        elif ch == "\t":
            out.append("\\t")
        elif ch == "\v":
            out.append("\\v")
        elif o < 0x20 or o == 0x7F:
            out.append("\\x%02x" % o)
        elif 0x80 <= o < 0xA0 or (0xD800 <= o <= 0xDFFF):
            out.append("\\u%04x" % o)
        elif not ch.isprintable() and o > 0x7F:
            out.append("\\u%04x" % o if o <= 0xFFFF else "\\U%08x" % o)
        else:
            out.append(ch)
    out.append('"')
    return "".join(out)


def go_time(ts: float) -> str:
    """Go's time.Time.String() in local time: '2026-11-23 00:10:30 +0000 UTC'."""
    lt = time.localtime(ts)
    return time.strftime("%Y-%m-%d %H:%M:%S %z ", lt) + (lt.tm_zone or "")


def rfc3339(ts: float) -> str:
    """Go's time.RFC3339 in local time ('Z' for UTC)."""
    lt = time.localtime(ts)
    off = lt.tm_gmtoff or 0
    if off == 0:
        return time.strftime("%Y-%m-%dT%H:%M:%SZ", lt)
    sign = "+" if off > 0 else "-"
    off = abs(off)
    return time.strftime("%Y-%m-%dT%H:%M:%S", lt) + f"{sign}{off // 3600:02d}:{off % 3600 // 60:02d}"


# -- Go text/tabwriter ---------------------------------------------------------

def tabwrite(text: str, minwidth: int = 10, padding: int = 3) -> str:
    """Align tab-separated cells the way Go's tabwriter does with docker's settings.

    A cell is text ending in a tab; the last cell of each line is not aligned.
    A column block is a run of consecutive lines that all have a cell in that
    column; its width is the widest cell plus ``padding``, at least ``minwidth``.
    """
    if not text:
        return ""
    trailing_nl = text.endswith("\n")
    raw_lines = text[:-1].split("\n") if trailing_nl else text.split("\n")
    lines = [ln.split("\t") for ln in raw_lines]
    widths_of = [[display_width(c) for c in ln] for ln in lines]
    out: list[str] = []
    widths: list[int] = []

    def write_lines(line0: int, line1: int) -> None:
        for i in range(line0, line1):
            cells = lines[i]
            parts = []
            for j, c in enumerate(cells):
                parts.append(c)
                if j < len(widths) and j < len(cells) - 1:
                    parts.append(" " * (widths[j] - widths_of[i][j]))
            out.append("".join(parts))

    def fmt(line0: int, line1: int) -> None:
        column = len(widths)
        this = line0
        while this < line1:
            if column >= len(lines[this]) - 1:
                this += 1
                continue
            write_lines(line0, this)
            line0 = this
            width = minwidth
            while this < line1:
                if column >= len(lines[this]) - 1:
                    break
                w = widths_of[this][column] + padding
                if w > width:
                    width = w
                this += 1
            widths.append(width)
            fmt(line0, this)
            widths.pop()
            line0 = this
        write_lines(line0, line1)

    fmt(0, len(lines))
    return "\n".join(out) + ("\n" if trailing_nl else "")


# -- ports ---------------------------------------------------------------------

def _port_key(p: dict):
    return (p.get("PrivatePort", 0), p.get("IP", ""), p.get("PublicPort", 0), p.get("Type", ""))


def _form_group(key: str, start: int, last: int) -> str:
    parts = key.split("/")
    group_type = parts[0]
    ip = ""
    if len(parts) > 1:
        ip, group_type = parts[0], parts[1]
    group = str(start) if start == last else f"{start}-{last}"
    if ip:
        group = f"{ip}:{group}->{group}"
    return f"{group}/{group_type}"


def display_ports(ports: list[dict] | None) -> str:
    """docker 20.10's DisplayablePorts: '0.0.0.0:8080->80/tcp, :::8080->80/tcp, 7000-7001/tcp'.

    Sorted by private port, IP, public port, type; ports published on the same host port are
    grouped into ranges ('0.0.0.0:8000-8001->8000-8001/tcp'), other mappings follow one by one
    ('0.0.0.0:8000->80/tcp, 0.0.0.0:8001->81/tcp'); an IPv6 host address is printed bare, as
    20.10 does (later CLIs bracket it: '[::]:8080->80/tcp').
    """
    if not ports:
        return ""
    groups: dict[str, list[int]] = {}
    order: list[str] = []
    result: list[str] = []
    host_mappings: list[str] = []
    for p in sorted(ports, key=_port_key):
        current = p.get("PrivatePort", 0)
        key = p.get("Type", "")
        ip = p.get("IP", "")
        if ip:
            if p.get("PublicPort", 0) != current:
                host_mappings.append(f"{ip}:{p.get('PublicPort', 0)}->{current}/{p.get('Type', '')}")
                continue
            key = f"{ip}/{p.get('Type', '')}"
        g = groups.get(key)
        if g is None:
            groups[key] = [current, current]
            order.append(key)
            continue
        if current == g[1] + 1:
            g[1] = current
            continue
        result.append(_form_group(key, g[0], g[1]))
        groups[key] = [current, current]
    for key in order:
        g = groups[key]
        result.append(_form_group(key, g[0], g[1]))
    result.extend(host_mappings)
    return ", ".join(result)


# -- JSON ------------------------------------------------------------------------

def json_indent(src: bytes | str, prefix: str = "", indent: str = "    ") -> str:
    """Go's json.Indent: re-indent JSON text, keeping string literals exactly as they are."""
    if isinstance(src, bytes):
        src = src.decode("utf-8", "replace")
    out: list[str] = []
    depth = 0
    need_indent = False  # an opening bracket was written; indent before the next value
    i, n = 0, len(src)
    while i < n and src[i] in " \t\r\n":
        i += 1
    while i < n:
        c = src[i]
        if c in " \t\r\n":
            i += 1
            continue
        if need_indent and c not in "]}":
            need_indent = False
            depth += 1
            out.append("\n" + prefix + indent * depth)
        if c == '"':
            j = i + 1
            while j < n:
                if src[j] == "\\":
                    j += 2
                    continue
                if src[j] == '"':
                    break
                j += 1
            out.append(src[i:j + 1])
            i = j + 1
            continue
        if c in "[{":
            out.append(c)
            need_indent = True
        elif c == ",":
            out.append(",\n" + prefix + indent * depth)
        elif c == ":":
            out.append(": ")
        elif c in "]}":
            if need_indent:
                need_indent = False  # empty: '[]' or '{}'
            else:
                depth -= 1
                out.append("\n" + prefix + indent * depth)
            out.append(c)
        else:
            j = i
            while j < n and src[j] not in ' \t\r\n,:]}"':
                j += 1
            out.append(src[i:j])
            i = j
            continue
        i += 1
    return "".join(out)
