"""logs: fetch a container's output (multiplexed frames, or raw bytes for a TTY)."""

from __future__ import annotations

import os
import sys

from dockyard.cli.common import PROG, StatusError, inspect_container, parse_command
from dockyard.cli.flags import BOOL, STR, Flag, Spec

LOGS = Spec("logs [OPTIONS] CONTAINER", "Fetch the logs of a container", [
    Flag("details", None, BOOL, help="Show extra details provided to logs"),
    Flag("follow", "f", BOOL, help="Follow log output"),
    Flag("since", None, STR, help='Show logs since timestamp (e.g. "2013-01-02T13:23:37Z") or relative '
                                  '(e.g. "42m" for 42 minutes)'),
    Flag("tail", "n", STR, default="all", help="Number of lines to show from the end of the logs"),
    Flag("timestamps", "t", BOOL, help="Show timestamps"),
    Flag("until", None, STR, help='Show logs before a timestamp (e.g. "2013-01-02T13:23:37Z") or relative '
                                  '(e.g. "42m" for 42 minutes)'),
], min_args=1, max_args=1, aliases=f"{PROG} container logs, {PROG} logs")


def _write(fd: int, data: bytes) -> None:
    mv = memoryview(data)
    while mv:
        n = os.write(fd, mv)
        mv = mv[n:]


def cmd_logs(cli, prog, argv):
    opts, args = parse_command(LOGS, prog, argv)
    from dockyard.cli.timestamps import get_timestamp

    params = {"stdout": True, "stderr": True, "follow": opts.follow or None,
              "timestamps": opts.timestamps or None, "details": opts.details or None,
              "tail": opts.tail}
    for key in ("since", "until"):
        value = getattr(opts, key)
        if value:
            try:
                params[key] = get_timestamp(value)
            except ValueError as e:
                raise StatusError(1, f'invalid value for "{key}": {e}') from None
    api = cli.api
    info = inspect_container(cli, args[0])
    tty = bool((info.get("Config") or {}).get("Tty"))
    r = api.stream("GET", "/containers/{}/logs", info["Id"], params=params)
    sys.stdout.flush()
    if tty:
        while True:
            d = r.read1(65536)
            if not d:
                break
            _write(1, d)
        return 0
    from dockyard.api.client.streams import iter_frames

    for kind, payload in iter_frames(r.read):
        _write(2 if kind in (2, 3) else 1, payload)
    return 0
