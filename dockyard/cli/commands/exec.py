"""exec: run a command in a running container (create, start over a hijacked stream, inspect)."""

from __future__ import annotations

import os

from dockyard.cli.common import PROG, StatusError, inspect_container, parse_command
from dockyard.cli.flags import BOOL, LIST, STR, Flag, Spec

EXEC = Spec("exec [OPTIONS] CONTAINER COMMAND [ARG...]", "Execute a command in a running container", [
    Flag("detach", "d", BOOL, help="Detached mode: run command in the background"),
    Flag("detach-keys", None, STR, help="Override the key sequence for detaching a container"),
    Flag("env", "e", LIST, help="Set environment variables"),
    Flag("env-file", None, LIST, help="Read in a file of environment variables"),
    Flag("interactive", "i", BOOL, help="Keep STDIN open even if not attached"),
    Flag("privileged", None, BOOL, help="Give extended privileges to the command"),
    Flag("tty", "t", BOOL, help="Allocate a pseudo-TTY"),
    Flag("user", "u", STR, help="Username or UID (format: \"<name|uid>[:<group|gid>]\")"),
    Flag("workdir", "w", STR, help="Working directory inside the container"),
], min_args=2, interspersed=False, aliases=f"{PROG} container exec, {PROG} exec")


def cmd_exec(cli, prog, argv):
    opts, args = parse_command(EXEC, prog, argv)
    from dockyard.cli import stdio
    from dockyard.cli.runopts import OptionError, env_list

    if opts.tty and opts.interactive and not opts.detach and not os.isatty(0):
        raise StatusError(1, "the input device is not a TTY")
    try:
        env = env_list(opts.env_file, opts.env)
    except OptionError as e:
        raise StatusError(125, f"{PROG}: {e}")
    api = cli.api
    container = args[0]
    inspect_container(cli, container)  # docker checks the container exists first
    console = stdio.terminal_size(1) if opts.tty else None
    config = {"User": opts.user, "Privileged": opts.privileged, "Tty": opts.tty,
              "AttachStdin": opts.interactive and not opts.detach,
              "AttachStderr": not opts.detach, "AttachStdout": not opts.detach,
              "Detach": opts.detach, "DetachKeys": opts.detach_keys, "Env": env or None,
              "WorkingDir": opts.workdir, "Cmd": args[1:]}
    if console:
        config["ConsoleSize"] = list(console)
    exec_id = api.post("/containers/{}/exec", container, json=config)["Id"]
    if opts.detach:
        api.post("/exec/{}/start", exec_id, json={"Detach": True, "Tty": opts.tty})
        return 0
    start_body = {"Detach": False, "Tty": opts.tty}
    if console:
        start_body["ConsoleSize"] = list(console)
    sock = api.hijack("POST", "/exec/{}/start", exec_id, json=start_body)
    keys = None
    if opts.detach_keys:
        try:
            keys = stdio.detach_keys_to_bytes(opts.detach_keys)
        except ValueError:
            keys = None
    raw = None
    stdin_fd = 0 if opts.interactive else None
    if opts.interactive and opts.tty and os.isatty(0):
        raw = stdio.RawTerminal(0).__enter__()
    try:
        if opts.tty and console:
            stdio.monitor_resize(lambda h, w: _resize(api, exec_id, h, w))
        detached = stdio.stream(sock, opts.tty, stdin_fd, keys)
    finally:
        if raw is not None:
            raw.restore()
        sock.close()
    if detached:
        return 0
    info = api.get("/exec/{}/json", exec_id)
    return int(info.get("ExitCode") or 0)


def _resize(api, exec_id: str, h: int, w: int) -> None:
    api.post("/exec/{}/resize", exec_id, params={"h": h, "w": w})
