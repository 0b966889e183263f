"""Docker's JSON message streams as the docker CLI prints them (``pkg/jsonmessage``), byte for byte.

``display_stream(messages, out, is_terminal)`` is ``DisplayJSONMessagesStream``:
``stream`` text is written as is; ``status`` lines get their ``id: `` prefix;
progress messages (``progressDetail`` with a current or total) are dropped
when the output is not a terminal and drawn as bars updated in place (cursor
up/down, erase line) when it is; ``aux`` messages go to the ``aux`` callback
and are not printed; the first ``errorDetail`` ends the display with
:class:`JSONError` (the CLI prints its message and exits with its ``code``,
1 when there is none).

``ProgressLine`` is the client side's own progress (``Sending build context
to Docker daemon  1.2MB``): streamformatter's raw formatter, updated in place
on a terminal, printed once at the end otherwise.
"""

from __future__ import annotations

import time

from dockyard.util.units import human_size


class JSONError(Exception):
    """An ``errorDetail`` in the stream: ``message`` and ``code`` (0 when the daemon gave none)."""

    def __init__(self, message: str, code: int = 0) -> None:
        super().__init__(message)
        self.message = message
        self.code = code


def go_duration(seconds: int) -> str:
    """Go's ``time.Duration.String()`` for a whole number of seconds: ``1h2m3s``, ``4m0s``, ``5s``."""
    if seconds == 0:
        return "0s"
    sign = "-" if seconds < 0 else ""
    s = abs(seconds)
    h, rem = divmod(s, 3600)
    m, sec = divmod(rem, 60)
    if h:
        return f"{sign}{h}h{m}m{sec}s"
    if m:
        return f"{sign}{m}m{sec}s"
    return f"{sign}{sec}s"


def progress_string(p: dict, width: int = 200, now: float | None = None) -> str:
    """``JSONProgress.String()``: ``[=====>    ]  1.2MB/3.4MB 5s`` (bar only wider than 110 columns)."""
    current = _int(p.get("current"))
    total = _int(p.get("total"))
    units = p.get("units") or ""
    if current <= 0 and total <= 0:
        return ""
    if total <= 0:
        if units == "":
            return "%8s" % human_size(current)
        return f"{current} {units}"
    percentage = int(current / total * 100) // 2
    if percentage > 50:
        percentage = 50
    bar = ""
    if width > 110:
        bar = "[" + "=" * percentage + ">" + " " * max(0, 50 - percentage) + "] "
    numbers = ""
    if p.get("hidecounts"):
        pass
    elif units == "":
        cur_s, total_s = human_size(current), human_size(total)
        numbers = "%8s/%s" % (cur_s, total_s) if current <= total else "%8s" % cur_s
    else:
        numbers = f"{current}/{total} {units}" if current <= total else f"{current} {units}"
    left_box = ""
    start = _int(p.get("start"))
    if current > 0 and start > 0 and percentage < 50:
        now = time.time() if now is None else now
        from_start_ns = int((now - start) * 1e9)
        per_entry = from_start_ns // current
        left_ns = (total - current) * per_entry
        if width > 50:
            left_box = " " + go_duration(left_ns // 1_000_000_000)
    return bar + numbers + left_box


def _int(v) -> int:
    try:
        return int(v or 0)
    except (TypeError, ValueError):
        return 0


def _rfc3339_nano_fixed(seconds: int, nanos: int) -> str:
    """Go's ``RFC3339NanoFixed`` (``2006-01-02T15:04:05.000000000Z07:00``) in local time."""
    tm = time.localtime(seconds)
    off = tm.tm_gmtoff or 0
    if off == 0:
        zone = "Z"
    else:
        sign = "+" if off > 0 else "-"
        off = abs(off)
        zone = f"{sign}{off // 3600:02d}:{off % 3600 // 60:02d}"
    return time.strftime("%Y-%m-%dT%H:%M:%S", tm) + f".{nanos:09d}" + zone


def _display(msg: dict, out, is_terminal: bool, width: int) -> None:
    """``JSONMessage.Display``."""
    err = msg.get("errorDetail")
    if err is None and msg.get("error"):
        # Docker's daemon always sends errorDetail with error; the docker CLI would print a blank
        # line for a bare "error" and carry on. Stopping is the safer reading of such a stream.
        err = {"message": msg["error"]}
    if err is not None:
        if not isinstance(err, dict):
            err = {}
        code = _int(err.get("code"))
        if code == 401:
            raise JSONError("authentication is required", 0)
        raise JSONError(str(err.get("message") or ""), code)
    progress = msg.get("progressDetail")
    if progress is not None and not isinstance(progress, dict):
        progress = {}
    stream = msg.get("stream") or ""
    endl = ""
    if is_terminal and stream == "" and progress is not None:
        out.write("\x1b[2K\r")
        endl = "\r"
    elif progress is not None and progress_string(progress, width) != "":
        return  # no progress bars on a non-terminal
    time_nano = _int(msg.get("timeNano"))
    t = _int(msg.get("time"))
    if time_nano:
        out.write(_rfc3339_nano_fixed(time_nano // 1_000_000_000, time_nano % 1_000_000_000) + " ")
    elif t:
        out.write(_rfc3339_nano_fixed(t, 0) + " ")
    if msg.get("id"):
        out.write(f"{msg['id']}: ")
    if msg.get("from"):
        out.write(f"(from {msg['from']}) ")
    status = msg.get("status") or ""
    if progress is not None and is_terminal:
        out.write(f"{status} {progress_string(progress, width)}{endl}")
    elif msg.get("progress"):
        out.write(f"{status} {msg['progress']}{endl}")
    elif stream:
        out.write(f"{stream}{endl}")
    else:
        out.write(f"{status}{endl}\n")


def display_stream(messages, out, is_terminal: bool = False, aux=None, width: int | None = None) -> None:
    """``DisplayJSONMessagesStream``: print each message of an iterable of decoded JSON messages.

    ``aux(msg["aux"])`` is called for aux messages. Raises :class:`JSONError`
    at the first error message (what was printed before it stays printed).
    """
    if width is None:
        width = terminal_width() if is_terminal else 200
    ids: dict[str, int] = {}
    for msg in messages:
        if not isinstance(msg, dict):
            continue
        if msg.get("aux") is not None:
            if aux is not None:
                aux(msg["aux"])
            continue
        diff = 0
        has_progress = msg.get("progressDetail") is not None or bool(msg.get("progress"))
        mid = msg.get("id") or ""
        if mid and has_progress:
            line = ids.get(mid)
            if line is None:
                line = len(ids)
                ids[mid] = line
                if is_terminal:
                    out.write("\n")
            diff = len(ids) - line
            if is_terminal and diff:
                out.write(f"\x1b[{diff}A")
        else:
            ids = {}
        try:
            _display(msg, out, is_terminal, width)
        finally:
            if mid and is_terminal and diff:
                out.write(f"\x1b[{diff}B")
            out.flush()  # docker writes each message as it comes, also into a pipe


def terminal_width(fd: int = 1) -> int:
    import os

    try:
        return os.get_terminal_size(fd).columns
    except OSError:
        return 200


class ProgressLine:
    """streamformatter's raw progress output for one action (``Sending build context to Docker daemon``).

    On a terminal, ``update(n)`` redraws ``<action> <size>\\r`` every 512 kB
    read, at most ten times a second; ``done(n)`` writes the last one followed
    by ``\\r\\n``. Elsewhere only ``done`` prints (docker's ``lastProgressOutput``).
    """

    EVERY = 512 * 1024

    def __init__(self, out, action: str, is_terminal: bool) -> None:
        self.out = out
        self.action = action
        self.is_terminal = is_terminal
        self.last_bytes = 0
        self.last_time = 0.0

    def _line(self, n: int) -> str:
        p = progress_string({"current": n})
        return f"{self.action} {p}\r" + ("" if p else "\n")

    def update(self, n: int) -> None:
        if not self.is_terminal or n - self.last_bytes <= self.EVERY:
            return
        self.last_bytes = n
        now = time.monotonic()
        if now - self.last_time >= 0.1:
            self.last_time = now
            self.out.write(self._line(n))
            self.out.flush()

    def done(self, n: int) -> None:
        self.out.write(self._line(n) + "\r\n")
        self.out.flush()
