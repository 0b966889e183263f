"""Container stdio as bytes: conmon's attach socket, terminal resize, detach keys.

No HTTP here; the API layer frames these bytes for the wire.
"""

from __future__ import annotations

import asyncio
import os
import socket

from dockyard import errdefs

STDOUT = 1
STDERR = 2
# conmon tags each attach-socket packet with its pipe: 2 stdout, 3 stderr
_CONMON_PIPES = {2: STDOUT, 3: STDERR}

DEFAULT_DETACH_KEYS = "ctrl-p,ctrl-q"


class ConmonAttach:
    """One client connection to a container's conmon attach socket (SOCK_SEQPACKET)."""

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self._loop = asyncio.get_running_loop()

    @classmethod
    async def connect(cls, bundle: str) -> "ConmonAttach":
        # Through /proc/self/fd so a long data-root path never exceeds sun_path's 108 bytes.
        dfd = os.open(bundle, os.O_PATH | os.O_DIRECTORY | os.O_CLOEXEC)
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET | socket.SOCK_CLOEXEC)
        sock.setblocking(False)
        try:
            await asyncio.get_running_loop().sock_connect(sock, f"/proc/self/fd/{dfd}/attach")
        except OSError as e:
            sock.close()
            raise errdefs.Conflict(f"cannot attach to container: {e.strerror}") from None
        finally:
            os.close(dfd)
        return cls(sock)

    async def read(self) -> tuple[int, bytes] | None:
        """The next (stream, bytes) the container wrote; None at the end."""
        while True:
            try:
                pkt = await self._loop.sock_recv(self.sock, 65536)
            except (ConnectionResetError, OSError):
                return None
            if not pkt:
                return None
            stream = _CONMON_PIPES.get(pkt[0])
            if stream is not None and len(pkt) > 1:
                return stream, pkt[1:]

    async def write(self, data: bytes) -> None:
        # conmon reads at most 8 KiB per packet
        for i in range(0, len(data), 8192):
            await self._loop.sock_sendall(self.sock, data[i:i + 8192])

    def close_stdin(self) -> None:
        try:
            self.sock.shutdown(socket.SHUT_WR)
        except OSError:
            pass

    def close(self) -> None:
        self.sock.close()


def resize(bundle: str, height: int, width: int) -> None:
    """Tell conmon the terminal's new size (it sets it on the pty)."""
    try:
        fd = os.open(os.path.join(bundle, "ctl"), os.O_WRONLY | os.O_NONBLOCK | os.O_CLOEXEC)
    except OSError:
        return  # no monitor listening: the container is not running
    try:
        os.write(fd, f"1 {height} {width}\n".encode())
    except OSError:
        pass
    finally:
        os.close(fd)


def parse_detach_keys(spec: str) -> bytes:
    """``ctrl-p,ctrl-q`` → b"\\x10\\x11"; single characters stand for themselves (Docker's rules)."""
    out = bytearray()
    for part in spec.split(","):
        part = part.strip()
        if len(part) == 1:
            out.append(ord(part))
            continue
        if part.startswith("ctrl-") and len(part) == 6:
            c = part[5]
            if "a" <= c <= "z":
                out.append(ord(c) - ord("a") + 1)
                continue
            if c in "@[\\]^_":
                out.append({"@": 0, "[": 27, "\\": 28, "]": 29, "^": 30, "_": 31}[c])
                continue
        raise errdefs.InvalidArgument(f"Invalid detach keys ({spec}) provided")
    return bytes(out)


class DetachScanner:
    """Passes stdin through until the detach sequence is typed; a partial match is held back."""

    def __init__(self, keys: bytes) -> None:
        self.keys = keys
        self._held = b""

    def feed(self, data: bytes) -> tuple[bytes, bool]:
        if not self.keys:
            return data, False
        out = bytearray()
        for b in data:
            want = self.keys[len(self._held)]
            if b == want:
                self._held += bytes([b])
                if self._held == self.keys:
                    self._held = b""
                    return bytes(out), True
                continue
            out += self._held
            self._held = b""
            if b == self.keys[0]:
                self._held = bytes([b])
            else:
                out.append(b)
        return bytes(out), False
