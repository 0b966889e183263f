"""Local side of attach/exec/run: terminal modes, resize, and pumping the hijacked stream.

``stream(sock, tty, stdin_fd, ...)`` copies local stdin to the hijacked
socket (half-closing it when stdin ends) and the daemon's output to local
stdout/stderr (demultiplexing frames unless ``tty``) until the daemon closes
the stream. With a TTY, stdin goes through ``EscapeProxy`` so the detach keys
(ctrl-p ctrl-q by default) end the session locally, as the docker CLI does.
"""

from __future__ import annotations

import os
import sys

DEFAULT_DETACH_KEYS = b"\x10\x11"  # ctrl-p, ctrl-q


class Detached(Exception):
    """The user typed the detach key sequence."""


def detach_keys_to_bytes(keys: str) -> bytes:
    """docker's term.ToBytes: 'ctrl-p,ctrl-q' -> b'\\x10\\x11'; 'a,ctrl-@' -> b'a\\x00'."""
    out = bytearray()
    for key in keys.split(","):
        k = key.strip()
        if len(k) > 1 and k.lower().startswith("ctrl-") and len(k) == 6:
            c = k[5].lower()
            if "a" <= c <= "z":
                out.append(ord(c) - ord("a") + 1)
            elif c in "@[\\]^_":
                out.append({"@": 0, "[": 27, "\\": 28, "]": 29, "^": 30, "_": 31}[c])
            else:
                raise ValueError(f"Unknown character: '{k}'")
        elif len(k) == 1:
            out.append(ord(k))
        else:
            raise ValueError(f"Unknown character: '{k}'")
    return bytes(out)


class EscapeProxy:
    """Filter a byte stream; raise Detached when the escape sequence has been read.

    Bytes that might start the sequence are held back; if the sequence breaks
    they are passed on with what follows (docker's term.NewEscapeProxy).
    """

    def __init__(self, keys: bytes) -> None:
        self.keys = keys
        self.matched = 0

    def feed(self, data: bytes) -> bytes:
        if not self.keys:
            return data
        out = bytearray()
        for b in data:
            if b == self.keys[self.matched]:
                self.matched += 1
                if self.matched == len(self.keys):
                    self.matched = 0
                    raise Detached(bytes(out))
                continue
            if self.matched:
                out += self.keys[:self.matched]
                self.matched = 0
                if b == self.keys[0]:
                    self.matched = 1
                    continue
            out.append(b)
        return bytes(out)


class RawTerminal:
    """Put a terminal in raw mode for the duration of a ``with`` block."""

    def __init__(self, fd: int) -> None:
        self.fd = fd
        self.saved = None

    def __enter__(self):
        import termios
        import tty

        try:
            self.saved = termios.tcgetattr(self.fd)
            tty.setraw(self.fd, termios.TCSANOW)
        except termios.error:
            self.saved = None
        return self

    def restore(self) -> None:
        if self.saved is not None:
            import termios

            try:
                termios.tcsetattr(self.fd, termios.TCSADRAIN, self.saved)
            except termios.error:
                pass
            self.saved = None

    def __exit__(self, *exc) -> None:
        self.restore()


def terminal_size(fd: int | None = None) -> tuple[int, int] | None:
    """(height, width) of the terminal on fd (stdout by default), or None if it is not one."""
    for f in ([fd] if fd is not None else [1, 0, 2]):
        try:
            if os.isatty(f):
                sz = os.get_terminal_size(f)
                return sz.lines, sz.columns
        except OSError:
            continue
    return None


def monitor_resize(resize) -> None:
    """Call ``resize(h, w)`` now and whenever the terminal size changes (SIGWINCH)."""
    import _signal as signal  # (not the signal module: its enums cost ~5 ms of imports)

    def on_winch(*_):
        size = terminal_size()
        if size:
            try:
                resize(*size)
            except Exception:  # noqa: BLE001 - a failed resize must not end the session
                pass

    on_winch()
    try:
        signal.signal(signal.SIGWINCH, on_winch)
    except ValueError:  # not the main thread
        pass


def _write_all(fd: int, data: bytes) -> None:
    mv = memoryview(data)
    while mv:
        n = os.write(fd, mv)
        mv = mv[n:]


def stream(sock, tty: bool, stdin_fd: int | None = None, detach_keys: bytes | None = None,
           out_fd: int = 1, err_fd: int = 2) -> bool:
    """Pump a hijacked stream until the daemon ends it; return True if the user detached."""
    sys.stdout.flush()
    detached: list[bool] = []  # set by the stdin pump; a list, so a run without stdin never imports threading
    if stdin_fd is not None:
        import threading

        proxy = EscapeProxy(detach_keys if detach_keys is not None else DEFAULT_DETACH_KEYS) if tty else None

        def pump_stdin():
            try:
                while True:
                    try:
                        data = os.read(stdin_fd, 32768)
                    except OSError:
                        data = b""
                    if not data:
                        break
                    if proxy is not None:
                        try:
                            data = proxy.feed(data)
                        except Detached as d:
                            if d.args[0]:
                                sock.send(d.args[0])
                            detached.append(True)
                            try:
                                sock.sock.shutdown(2)  # SHUT_RDWR: wakes the reader up
                            except OSError:
                                pass
                            return
                    if data:
                        sock.send(data)
            except OSError:
                return
            sock.close_write()

        t = threading.Thread(target=pump_stdin, daemon=True)
        t.start()
    try:
        if tty:
            while True:
                data = sock.read1(65536)
                if not data:
                    break
                _write_all(out_fd, data)
        else:
            for kind, payload in sock.frames():
                if kind == 2 or kind == 3:
                    _write_all(err_fd, payload)
                else:
                    _write_all(out_fd, payload)
    except OSError:
        if not detached:
            raise
    except Exception:
        if not detached:
            raise
    return bool(detached)
