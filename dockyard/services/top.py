"""``docker top``: ps on the host, narrowed to the container's processes, parsed as dockerd parses it."""

from __future__ import annotations

import asyncio
import os
import re

from dockyard import errdefs

_PS_ASSIGN = re.compile(r"\s+([^\s]*)=\s*(PID[^\s]*)")


def validate_ps_args(ps_args: str) -> None:
    """dockerd refuses to let ps rename a column to PID (the column top finds processes by)."""
    for key, value in _PS_ASSIGN.findall(ps_args):
        if key != "pid":
            raise errdefs.System(f'specifying "{key}={value}" is not allowed')


def parse_ps_output(output: str, pids: list[int]) -> dict:
    """Titles from the first line; rows whose PID is the container's (thread rows ``-`` of ``m`` follow
    their process); the last column takes the rest of the line."""
    lines = output.split("\n")
    titles = lines[0].split()
    try:
        pid_index = titles.index("PID")
    except ValueError:
        raise errdefs.System("Couldn't find PID field in ps output") from None
    wanted = set(pids)
    procs = []
    prev_contained = False
    for line in lines[1:]:
        if not line:
            continue
        fields = line.split()
        if pid_index >= len(fields):
            continue
        if fields[pid_index] == "-":
            if prev_contained:
                procs.append(_row(titles, fields))
            continue
        try:
            p = int(fields[pid_index])
        except ValueError:
            raise errdefs.System(f"Unexpected pid '{fields[pid_index]}': invalid syntax") from None
        prev_contained = p in wanted
        if prev_contained:
            procs.append(_row(titles, fields))
    return {"Titles": titles, "Processes": procs}


def _row(titles: list[str], fields: list[str]) -> list[str]:
    n = len(titles) - 1
    return fields[:n] + [" ".join(fields[n:])]


async def _ps(args: list[str]) -> tuple[int, str]:
    # no terminal (ps takes its width from any of stdin/stdout/stderr) and no COLUMNS: ps prints whole
    # command lines, as under a dockerd started by init
    env = {k: v for k, v in os.environ.items() if k not in ("COLUMNS", "LINES")}
    proc = await asyncio.create_subprocess_exec("ps", *args, stdin=asyncio.subprocess.DEVNULL, env=env,
                                                stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.DEVNULL)
    out, _ = await proc.communicate()
    return proc.returncode, out.decode(errors="replace")


async def top(pids: list[int], ps_args: str) -> dict:
    """Run ``ps ARGS -q PIDS`` (only the container's processes; retried without ``-q`` for options that
    cannot go with it, such as ``f``) and parse it."""
    ps_args = ps_args or "-ef"
    validate_ps_args(ps_args)
    args = ps_args.split(" ")
    code, out = (1, "")
    if pids:
        code, out = await _ps([*args, "-q", ",".join(str(p) for p in pids)])
    if code != 0:
        code, out = await _ps(args)
        if code != 0:
            raise errdefs.System(f"ps: exit status {code}")
    return parse_ps_output(out, pids)
