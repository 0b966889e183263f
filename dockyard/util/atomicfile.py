"""Write a file so readers see the old content or the new one, never half of it."""

from __future__ import annotations

import os


def write_atomic(path: str, data: bytes | str, mode: int = 0o644, fsync: bool = False) -> None:
    if isinstance(data, str):
        data = data.encode()
    tmp = f"{path}.tmp{os.getpid()}"
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_CLOEXEC, mode)
    try:
        os.write(fd, data)
        if fsync:
            os.fsync(fd)
    finally:
        os.close(fd)
    os.replace(tmp, path)
