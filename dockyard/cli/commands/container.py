"""Container verbs that need no stdio wiring: stop, kill, restart, pause, unpause,
wait, rm, rename, top, diff, export, container prune."""

from __future__ import annotations

import os
import sys

from dockyard.api.client import errors
from dockyard.cli.common import (PROG, StatusError, daemon_error, filter_value, filters_json, for_each, no_such,
                                 parse_command)
from dockyard.cli.flags import BOOL, INT, LIST, STR, Flag, Spec
from dockyard.cli.formatting import human_size, tabwrite

STOP = Spec("stop [OPTIONS] CONTAINER [CONTAINER...]", "Stop one or more running containers", [
    Flag("signal", "s", STR, help="Signal to send to the container"),
    Flag("time", "t", INT, default=10, help="Seconds to wait for stop before killing it"),
], min_args=1, aliases=f"{PROG} container stop, {PROG} stop")
STOP.add_alias("timeout", "time")  # docker 25+ spelling
RESTART = Spec("restart [OPTIONS] CONTAINER [CONTAINER...]", "Restart one or more containers", [
    Flag("signal", "s", STR, help="Signal to send to the container"),
    Flag("time", "t", INT, default=10, help="Seconds to wait for stop before killing the container"),
], min_args=1, aliases=f"{PROG} container restart, {PROG} restart")
RESTART.add_alias("timeout", "time")
KILL = Spec("kill [OPTIONS] CONTAINER [CONTAINER...]", "Kill one or more running containers", [
    Flag("signal", "s", STR, help="Signal to send to the container"),
], min_args=1, aliases=f"{PROG} container kill, {PROG} kill")
PAUSE = Spec("pause CONTAINER [CONTAINER...]", "Pause all processes within one or more containers", [],
             min_args=1, aliases=f"{PROG} container pause, {PROG} pause")
UNPAUSE = Spec("unpause CONTAINER [CONTAINER...]", "Unpause all processes within one or more containers", [],
               min_args=1, aliases=f"{PROG} container unpause, {PROG} unpause")
WAIT = Spec("wait CONTAINER [CONTAINER...]", "Block until one or more containers stop, then print their exit codes",
            [], min_args=1, aliases=f"{PROG} container wait, {PROG} wait")
RM = Spec("rm [OPTIONS] CONTAINER [CONTAINER...]", "Remove one or more containers", [
    Flag("force", "f", BOOL, help="Force the removal of a running container (uses SIGKILL)"),
    Flag("link", "l", BOOL, help="Remove the specified link"),
    Flag("volumes", "v", BOOL, help="Remove anonymous volumes associated with the container"),
], min_args=1, aliases=f"{PROG} container rm, {PROG} container remove, {PROG} rm")
RENAME = Spec("rename CONTAINER NEW_NAME", "Rename a container", [], min_args=2, max_args=2,
              aliases=f"{PROG} container rename, {PROG} rename")
TOP = Spec("top CONTAINER [ps OPTIONS]", "Display the running processes of a container", [],
           min_args=1, interspersed=False, aliases=f"{PROG} container top, {PROG} top")
DIFF = Spec("diff CONTAINER", "Inspect changes to files or directories on a container's filesystem", [],
            min_args=1, max_args=1, aliases=f"{PROG} container diff, {PROG} diff")
EXPORT = Spec("export [OPTIONS] CONTAINER", "Export a container's filesystem as a tar archive", [
    Flag("output", "o", STR, help="Write to a file, instead of STDOUT"),
], min_args=1, max_args=1, aliases=f"{PROG} container export, {PROG} export")
PRUNE = Spec("prune [OPTIONS]", "Remove all stopped containers", [
    Flag("filter", None, LIST, help='Provide filter values (e.g. "until=<timestamp>")', conv=filter_value),
    Flag("force", "f", BOOL, help="Do not prompt for confirmation"),
], max_args=0)



def cmd_stop(cli, prog, argv, spec=STOP, verb="stop"):
    opts, args = parse_command(spec, prog, argv)
    params = {"signal": opts.signal or None}
    if "time" in opts.changed:
        params["t"] = opts.time
    api = cli.api
    return for_each(cli, args, lambda n: api.post(f"/containers/{{}}/{verb}", n, params=params))


def cmd_restart(cli, prog, argv):
    return cmd_stop(cli, prog, argv, RESTART, "restart")


def cmd_kill(cli, prog, argv):
    opts, args = parse_command(KILL, prog, argv)
    api = cli.api
    return for_each(cli, args, lambda n: api.post("/containers/{}/kill", n,
                                                  params={"signal": opts.signal or None}))


def cmd_pause(cli, prog, argv):
    _, args = parse_command(PAUSE, prog, argv)
    api = cli.api
    return for_each(cli, args, lambda n: api.post("/containers/{}/pause", n))


def cmd_unpause(cli, prog, argv):
    _, args = parse_command(UNPAUSE, prog, argv)
    api = cli.api
    return for_each(cli, args, lambda n: api.post("/containers/{}/unpause", n))


def cmd_wait(cli, prog, argv):
    _, args = parse_command(WAIT, prog, argv)
    api = cli.api
    status = 0
    for name in args:
        try:
            r = api.post("/containers/{}/wait", name)
        except errors.DockerException as e:
            cli.error(daemon_error(e))
            status = 1
            continue
        err = (r or {}).get("Error") or {}
        if err.get("Message"):
            cli.error(err["Message"])
            status = 1
            continue
        cli.write(f"{(r or {}).get('StatusCode', 0)}\n")
        cli.out.flush()
    return status


def cmd_rm(cli, prog, argv):
    opts, args = parse_command(RM, prog, argv)
    api = cli.api
    params = {"force": opts.force or None, "v": opts.volumes or None, "link": opts.link or None}
    status = 0
    for name in args:
        name = name.strip("/")
        try:
            api.delete("/containers/{}", name, params=params)
        except errors.NotFound:
            cli.error(no_such("container", name))
            if not opts.force:  # docker: with -f a missing container is reported, not an error
                status = 1
            continue
        except errors.DockerException as e:
            cli.error(daemon_error(e))
            status = 1
            continue
        cli.write(name + "\n")
    return status


def cmd_rename(cli, prog, argv):
    _, args = parse_command(RENAME, prog, argv)
    old, new = args[0].strip(), args[1].strip()
    if not new:
        raise StatusError(1, "Error: neither old nor new names may be empty")
    try:
        cli.api.post("/containers/{}/rename", old, params={"name": new})
    except errors.DockerException as e:
        cli.error(daemon_error(e))
        raise StatusError(1, f"Error: failed to rename container named {old}")
    return 0


def cmd_top(cli, prog, argv):
    _, args = parse_command(TOP, prog, argv)
    params = {"ps_args": " ".join(args[1:])} if len(args) > 1 else None
    top = cli.api.get("/containers/{}/top", args[0], params=params)
    lines = ["\t".join(top.get("Titles") or [])]
    for proc in top.get("Processes") or []:
        lines.append("\t".join(proc))
    cli.write(tabwrite("\n".join(lines) + "\n", minwidth=20, padding=3))
    return 0


def cmd_diff(cli, prog, argv):
    _, args = parse_command(DIFF, prog, argv)
    changes = cli.api.get("/containers/{}/changes", args[0]) or []
    kinds = {0: "C", 1: "A", 2: "D"}
    cli.write("".join(f"{kinds.get(c.get('Kind'), '?')} {c.get('Path')}\n" for c in changes))
    return 0


def cmd_export(cli, prog, argv):
    opts, args = parse_command(EXPORT, prog, argv)
    if not opts.output and os.isatty(1):
        raise StatusError(1, "cowardly refusing to save to a terminal. Use the -o flag or redirect")
    r = cli.api.stream("GET", "/containers/{}/export", args[0])
    if opts.output:
        tmp = opts.output
        try:
            f = open(tmp, "wb")
        except OSError as e:
            raise StatusError(1, f"failed to export container: {e}")
        with f:
            _copy(r, f.fileno())
    else:
        sys.stdout.flush()
        _copy(r, 1)
    return 0


def _copy(r, fd: int) -> None:
    while True:
        d = r.read1(262144)
        if not d:
            return
        mv = memoryview(d)
        while mv:
            n = os.write(fd, mv)
            mv = mv[n:]


def confirm(cli, warning: str) -> bool:
    """docker's prompt: print the warning and '[y/N] ', read an answer from stdin."""
    cli.write(f"{warning}\nAre you sure you want to continue? [y/N] ")
    cli.out.flush()
    try:
        answer = sys.stdin.readline()
    except (OSError, ValueError):
        answer = ""
    return answer.strip().lower() in ("y", "yes")


def prune_containers(cli, filters: list[str]) -> tuple[int, str]:
    report = cli.api.post("/containers/prune", params={"filters": filters_json(filters)}) or {}
    deleted = report.get("ContainersDeleted") or []
    if not deleted:
        return 0, ""
    return int(report.get("SpaceReclaimed") or 0), "Deleted Containers:\n" + "".join(f"{d}\n" for d in deleted)


def cmd_prune(cli, prog, argv):
    opts, _ = parse_command(PRUNE, prog, argv)
    space, output = 0, ""
    if opts.force or confirm(cli, "WARNING! This will remove all stopped containers."):
        space, output = prune_containers(cli, opts.filter)
    if output:
        cli.write(output + "\n")
    cli.write(f"Total reclaimed space: {human_size(space)}\n")
    return 0
