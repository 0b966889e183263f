"""The fields of a tar header as Go's ``archive/tar`` encodes them, for the two writers that copy
dockerd's bytes: image layers (:mod:`dockyard.image.archive`) and ``docker cp``
(:mod:`dockyard.services.archive_tar`). How each builds its headers from these stays with it."""

from __future__ import annotations

BLOCK = 512


def octal_field(value: int, width: int) -> bytes | None:
    """A zero-padded, NUL-terminated octal field, or None when ``value`` does not fit ``width``."""
    s = b"%o" % value
    if value < 0 or len(s) > width - 1:
        return None
    return s.rjust(width - 1, b"0") + b"\0"


def split_ustar(name: bytes) -> tuple[bytes, bytes] | None:
    """Go's ``splitUSTARPath``: (prefix, name) for a path longer than 100 bytes, or None."""
    length = len(name)
    if length <= 100 or not name.isascii():
        return None
    if length > 156:
        length = 156
    elif name[length - 1:length] == b"/":
        length -= 1
    i = name.rfind(b"/", 0, length)
    nlen = len(name) - i - 1
    if i <= 0 or nlen > 100 or nlen == 0 or i > 155:
        return None
    return name[:i], name[i + 1:]


def pax_record(key: bytes, value: bytes) -> bytes:
    """One ``"<length> <key>=<value>\\n"`` record, its length counting its own digits."""
    body = b" " + key + b"=" + value + b"\n"
    n = len(body) + 1
    while len(b"%d" % n) + len(body) != n:
        n += 1
    return b"%d" % n + body


def set_checksum(blk: bytearray) -> None:
    """Fill in the checksum of a header block (the field counts as spaces while summing)."""
    blk[148:156] = b"        "
    blk[148:156] = b"%06o\0 " % sum(blk)
