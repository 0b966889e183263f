"""A busybox root filesystem as a tar stream, made from the host's static busybox.

It mirrors the layout of the official ``busybox`` image: every applet is a hard
link to ``/bin/busybox``, the usual top-level directories exist, and
``/etc/passwd`` / ``/etc/group`` know root and nobody (so ``-u nobody`` works).
"""

from __future__ import annotations

import io
import os
import subprocess
import tarfile
import time
from typing import BinaryIO

PASSWD = """\
root:x:0:0:root:/root:/bin/sh
daemon:x:1:1:daemon:/usr/sbin:/bin/false
bin:x:2:2:bin:/bin:/bin/false
sys:x:3:3:sys:/dev:/bin/false
sync:x:4:100:sync:/bin:/bin/sync
mail:x:8:8:mail:/var/spool/mail:/bin/false
www-data:x:33:33:www-data:/var/www:/bin/false
operator:x:37:37:Operator:/var:/bin/false
nobody:x:65534:65534:nobody:/home:/bin/false
"""

GROUP = """\
root:x:0:
daemon:x:1:
bin:x:2:
sys:x:3:
adm:x:4:
tty:x:5:
disk:x:6:
lp:x:7:
mail:x:8:
kmem:x:9:
wheel:x:10:root
cdrom:x:11:
dialout:x:18:
floppy:x:19:
video:x:28:
audio:x:29:
tape:x:32:
www-data:x:33:
operator:x:37:
utmp:x:43:
plugdev:x:46:
staff:x:50:
lock:x:54:
netdev:x:82:
users:x:100:
nogroup:x:65534:
"""

# Directories of the official image, with their modes.
DIRS = [("bin", 0o755), ("dev", 0o755), ("etc", 0o755), ("home", 0o755), ("proc", 0o755),
        ("root", 0o700), ("sys", 0o755), ("tmp", 0o1777), ("usr", 0o755), ("usr/sbin", 0o755),
        ("var", 0o755), ("var/spool", 0o755), ("var/spool/mail", 0o755), ("var/www", 0o755)]


def applets(busybox: str) -> list[str]:
    out = subprocess.run([busybox, "--list"], check=True, capture_output=True, text=True).stdout
    return sorted({a for a in out.split() if a and a != "busybox" and "/" not in a})


def write_rootfs_tar(out: BinaryIO, busybox: str = "/bin/busybox") -> None:
    """Write the root filesystem as an uncompressed tar to ``out``."""
    now = int(time.time())
    with tarfile.open(fileobj=out, mode="w|", format=tarfile.PAX_FORMAT) as tar:
        def add_dir(name: str, mode: int) -> None:
            ti = tarfile.TarInfo(name)
            ti.type, ti.mode, ti.mtime = tarfile.DIRTYPE, mode, now
            tar.addfile(ti)

        def add_file(name: str, data: bytes, mode: int = 0o644) -> None:
            ti = tarfile.TarInfo(name)
            ti.size, ti.mode, ti.mtime = len(data), mode, now
            tar.addfile(ti, io.BytesIO(data))

        for name, mode in DIRS:
            add_dir(name, mode)
        st = os.stat(busybox)
        ti = tarfile.TarInfo("bin/busybox")
        ti.size, ti.mode, ti.mtime = st.st_size, 0o755, now
        with open(busybox, "rb") as f:
            tar.addfile(ti, f)
        for applet in applets(busybox):
            link = tarfile.TarInfo(f"bin/{applet}")
            link.type, link.linkname, link.mode, link.mtime = tarfile.LNKTYPE, "bin/busybox", 0o755, now
            tar.addfile(link)
        add_file("etc/passwd", PASSWD.encode())
        add_file("etc/group", GROUP.encode())
        add_file("etc/shadow", b"root:*:10933:0:99999:7:::\nnobody:*:10933:0:99999:7:::\n", 0o600)


if __name__ == "__main__":  # pragma: no cover - handy for feeding other engines
    import sys
    write_rootfs_tar(sys.stdout.buffer)
