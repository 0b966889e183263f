"""Tar headers as Go's ``archive/tar`` writes them, for every tar dockyard writes in dockerd's or
the docker CLI's bytes: image layers (:mod:`dockyard.image.archive`), ``docker cp``
(:mod:`dockyard.services.archive_tar`) and the build context (:mod:`dockyard.cli.buildcontext`)."""

from __future__ import annotations

import os

from dockyard.util import gopath

BLOCK = 512


def _octal_field(value: int, width: int) -> bytes | None:
    """A zero-padded, NUL-terminated octal field, or None when ``value`` does not fit ``width``."""
    s = b"%o" % value
    if value < 0 or len(s) > width - 1:
        return None
    return s.rjust(width - 1, b"0") + b"\0"


def _split_ustar(name: bytes) -> tuple[bytes, bytes] | None:
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


def _pax_record(key: bytes, value: bytes) -> bytes:
    """One ``"<length> <key>=<value>\\n"`` record, its length counting its own digits."""
    body = b" " + key + b"=" + value + b"\n"
    n = len(body) + 1
    while len(b"%d" % n) + len(body) != n:
        n += 1
    return b"%d" % n + body


def _set_checksum(blk: bytearray) -> None:
    """Fill in the checksum of a header block (the field counts as spaces while summing)."""
    blk[148:156] = b"        "
    blk[148:156] = b"%06o\0 " % sum(blk)


def _ascii(s: bytes) -> bytes:
    """Go's ``toASCII``: the non-ASCII bytes dropped."""
    return s if s.isascii() else bytes(c for c in s if c < 0x80)


def _num(value: int, width: int) -> bytes:
    # a number that does not fit is in the PAX header; the USTAR field gets 0, as Go writes it
    return _octal_field(value, width) or _octal_field(0, width)


def _block(name: bytes, mode: int, uid: int, gid: int, size: int, mtime: int, typ: bytes, linkname: bytes = b"",
           uname: bytes = b"", gname: bytes = b"", devmajor: int = 0, devminor: int = 0, prefix: bytes = b"",
           pax_file: bool = False) -> bytes:
    """One USTAR header block as Go's ``templateV7Plus``; ``pax_file``: the PAX header's own block,
    whose device fields Go leaves empty."""
    blk = bytearray(BLOCK)
    blk[0:len(name[:100])] = name[:100]
    blk[100:108] = _num(mode, 8)
    blk[108:116] = _num(uid, 8)
    blk[116:124] = _num(gid, 8)
    blk[124:136] = _num(size, 12)
    blk[136:148] = _num(mtime, 12)
    blk[156:157] = typ
    blk[157:157 + len(linkname[:100])] = linkname[:100]
    blk[257:265] = b"ustar\x0000"
    blk[265:265 + len(uname[:32])] = uname[:32]
    blk[297:297 + len(gname[:32])] = gname[:32]
    if not pax_file:
        blk[329:337] = _num(devmajor, 8)
        blk[337:345] = _num(devminor, 8)
        blk[345:345 + len(prefix[:155])] = prefix[:155]
    _set_checksum(blk)
    return bytes(blk)


def tar_header(name: str, mode: int, uid: int, gid: int, size: int, mtime: int, typ: bytes,
               linkname: str = "", uname: str = "", gname: str = "", devmajor: int = 0, devminor: int = 0,
               xattrs: dict[str, bytes] | None = None) -> bytes:
    """One entry as Go's ``archive/tar`` writes a header with ``Format: FormatPAX`` (dockerd's layers
    and ``docker cp``): USTAR when every field fits (a long name split into prefix and name where it
    can be), else a PAX extended header, named ``path.Join(path.Split(name))`` with ``PaxHeaders.0``
    between, and a best-effort USTAR header after it."""
    bname, blink = os.fsencode(name), os.fsencode(linkname)
    buname, bgname = uname.encode("utf-8", "surrogateescape"), gname.encode("utf-8", "surrogateescape")
    pax: dict[bytes, bytes] = {}
    for key, value, width in ((b"linkpath", blink, 100), (b"uname", buname, 32), (b"gname", bgname, 32)):
        if len(value) > width or not value.isascii():
            pax[key] = value
    if _octal_field(uid, 8) is None:
        pax[b"uid"], uid = b"%d" % uid, 0
    if _octal_field(gid, 8) is None:
        pax[b"gid"], gid = b"%d" % gid, 0
    if _octal_field(size, 12) is None:
        pax[b"size"], size = b"%d" % size, 0
    if _octal_field(mtime, 12) is None:
        pax[b"mtime"], mtime = b"%d" % mtime, 0
    if xattrs:
        for k, v in xattrs.items():
            pax[b"SCHILY.xattr." + os.fsencode(k)] = v
    prefix = b""
    if len(bname) > 100 or not bname.isascii():
        split = None if pax else _split_ustar(bname)  # with a PAX header anyway, the path goes in it
        if split is None:
            pax[b"path"] = bname
        else:
            prefix, bname = split
    if not pax:
        return _block(bname, mode, uid, gid, size, mtime, typ, blink, buname, bgname, devmajor, devminor, prefix)
    data = b"".join(_pax_record(k, pax[k]) for k in sorted(pax))
    d, f = gopath.split(os.fsdecode(bname))
    pname = os.fsencode(gopath.join(d, "PaxHeaders.0", f))
    head = _block(_ascii(pname)[:100].rstrip(b"/"), 0, 0, 0, len(data), 0, b"x", pax_file=True)
    main = _block(_ascii(bname), mode, uid, gid, size, mtime, typ, _ascii(blink), _ascii(buname), _ascii(bgname),
                  devmajor, devminor)
    return head + data + bytes(-len(data) % BLOCK) + main
