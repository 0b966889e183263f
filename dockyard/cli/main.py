"""``dockyard``: the docker-compatible command line, entry point and dispatch.

Start-up is kept cheap: this module imports only ``sys`` and ``posix``
(not ``os``: see ``dockyard.api.client.environ``); the
module of a command (``dockyard.cli.commands.<module>``) is imported only when
that command runs, and it imports the API client itself.
"""

import posix
import sys

from .common import PROG

VERSION = "0.1.0"

# name -> (module, function, description). Order is the order of `dockyard --help`.
COMMANDS: dict[str, tuple[str, str, str]] = {
    "run": ("run", "cmd_run", "Create and run a new container from an image"),
    "exec": ("exec", "cmd_exec", "Execute a command in a running container"),
    "ps": ("ps", "cmd_ps", "List containers"),
    "images": ("image", "cmd_images", "List images"),
    "import": ("image", "cmd_import", "Import the contents from a tarball to create a filesystem image"),
    "info": ("system", "cmd_info", "Display system-wide information"),
    "version": ("system", "cmd_version", "Show the Docker version information"),
    "attach": ("run", "cmd_attach", "Attach local standard input, output, and error streams to a running container"),
    "create": ("run", "cmd_create", "Create a new container"),
    "diff": ("container", "cmd_diff", "Inspect changes to files or directories on a container's filesystem"),
    "events": ("system", "cmd_events", "Get real time events from the server"),
    "export": ("container", "cmd_export", "Export a container's filesystem as a tar archive"),
    "history": ("image", "cmd_history", "Show the history of an image"),
    "inspect": ("inspect", "cmd_inspect", "Return low-level information on Docker objects"),
    "kill": ("container", "cmd_kill", "Kill one or more running containers"),
    "logs": ("logs", "cmd_logs", "Fetch the logs of a container"),
    "pause": ("container", "cmd_pause", "Pause all processes within one or more containers"),
    "rename": ("container", "cmd_rename", "Rename a container"),
    "restart": ("container", "cmd_restart", "Restart one or more containers"),
    "rm": ("container", "cmd_rm", "Remove one or more containers"),
    "rmi": ("image", "cmd_rmi", "Remove one or more images"),
    "start": ("run", "cmd_start", "Start one or more stopped containers"),
    "stop": ("container", "cmd_stop", "Stop one or more running containers"),
    "tag": ("image", "cmd_tag", "Create a tag TARGET_IMAGE that refers to SOURCE_IMAGE"),
    "top": ("container", "cmd_top", "Display the running processes of a container"),
    "stats": ("stats", "cmd_stats", "Display a live stream of container(s) resource usage statistics"),
    "unpause": ("container", "cmd_unpause", "Unpause all processes within one or more containers"),
    "update": ("update", "cmd_update", "Update configuration of one or more containers"),
    "wait": ("container", "cmd_wait", "Block until one or more containers stop, then print their exit codes"),
    "busybox-image": ("image", "cmd_busybox_image", "Build the busybox:latest base image from the host's busybox"),
    "build": ("build", "cmd_build", "Build an image from a Dockerfile"),
    "commit": ("image_io", "cmd_commit", "Create a new image from a container's changes"),
    "cp": ("cp", "cmd_cp", "Copy files/folders between a container and the local filesystem"),
    "save": ("image_io", "cmd_save", "Save one or more images to a tar archive (streamed to STDOUT by default)"),
    "load": ("image_io", "cmd_load", "Load an image from a tar archive or STDIN"),
    "port": ("port", "cmd_port", "List port mappings or a specific mapping for the container"),
}

MANAGEMENT: dict[str, tuple[str, dict[str, tuple[str, str, str]]]] = {
    "container": ("Manage containers", {
        "attach": COMMANDS["attach"], "create": COMMANDS["create"], "diff": COMMANDS["diff"],
        "exec": COMMANDS["exec"], "export": COMMANDS["export"],
        "inspect": ("inspect", "cmd_container_inspect", "Display detailed information on one or more containers"),
        "kill": COMMANDS["kill"], "logs": COMMANDS["logs"], "ls": ("ps", "cmd_ps", "List containers"),
        "pause": COMMANDS["pause"],
        "prune": ("container", "cmd_prune", "Remove all stopped containers"),
        "rename": COMMANDS["rename"], "restart": COMMANDS["restart"], "rm": COMMANDS["rm"],
        "run": COMMANDS["run"], "start": COMMANDS["start"], "stop": COMMANDS["stop"], "top": COMMANDS["top"],
        "stats": COMMANDS["stats"],
        "unpause": COMMANDS["unpause"], "update": COMMANDS["update"], "wait": COMMANDS["wait"],
        "commit": COMMANDS["commit"], "cp": COMMANDS["cp"], "port": COMMANDS["port"],
    }),
    "image": ("Manage images", {
        "history": COMMANDS["history"], "import": COMMANDS["import"],
        "inspect": ("inspect", "cmd_image_inspect", "Display detailed information on one or more images"),
        "ls": ("image", "cmd_images", "List images"),
        "prune": ("image", "cmd_prune", "Remove unused images"),
        "rm": ("image", "cmd_rmi", "Remove one or more images"), "tag": COMMANDS["tag"],
        "build": COMMANDS["build"], "save": COMMANDS["save"], "load": COMMANDS["load"],
    }),
    "volume": ("Manage volumes", {
        "create": ("volume", "cmd_create", "Create a volume"),
        "inspect": ("volume", "cmd_inspect", "Display detailed information on one or more volumes"),
        "ls": ("volume", "cmd_ls", "List volumes"),
        "prune": ("volume", "cmd_prune", "Remove unused local volumes"),
        "rm": ("volume", "cmd_rm", "Remove one or more volumes"),
    }),
    "network": ("Manage networks", {
        "connect": ("network", "cmd_connect", "Connect a container to a network"),
        "create": ("network", "cmd_create", "Create a network"),
        "disconnect": ("network", "cmd_disconnect", "Disconnect a container from a network"),
        "inspect": ("network", "cmd_inspect", "Display detailed information on one or more networks"),
        "ls": ("network", "cmd_ls", "List networks"),
        "prune": ("network", "cmd_prune", "Remove all unused networks"),
        "rm": ("network", "cmd_rm", "Remove one or more networks"),
    }),
    "system": ("Manage Docker", {
        "df": ("system", "cmd_df", "Show docker disk usage"),
        "events": COMMANDS["events"], "info": COMMANDS["info"],
        "prune": ("system", "cmd_prune", "Remove unused data"),
    }),
}
ALIASES = {"container": {"list": "ls", "ps": "ls", "remove": "rm"},
           "image": {"list": "ls", "remove": "rm"}, "network": {"list": "ls", "remove": "rm"}, "system": {},
           "volume": {"list": "ls", "remove": "rm"}}

GLOBAL_HELP = f"""
Usage:  {PROG} [OPTIONS] COMMAND

A self-sufficient runtime for containers

Common Commands:
{{common}}
Management Commands:
{{management}}
Commands:
{{others}}
Global Options:
  -D, --debug              Enable debug mode
  -H, --host string        Daemon socket to connect to
  -l, --log-level string   Set the logging level ("debug", "info", "warn", "error", "fatal") (default "info")
  -v, --version            Print version information and quit

Run '{PROG} COMMAND --help' for more information on a command.
"""

_COMMON = ("run", "exec", "ps", "build", "images", "info", "version")


def _global_help() -> str:
    def rows(items):
        return "".join(f"  {name.ljust(14)}{desc}\n" for name, desc in items)
    common = rows((c, COMMANDS[c][2]) for c in _COMMON)
    management = rows((m, MANAGEMENT[m][0]) for m in sorted(MANAGEMENT))
    others = rows((c, COMMANDS[c][2]) for c in sorted(COMMANDS) if c not in _COMMON)
    return GLOBAL_HELP.format(common=common, management=management, others=others)


def _management_help(group: str) -> str:
    desc, cmds = MANAGEMENT[group]
    lines = [f"Usage:  {PROG} {group} COMMAND", "", desc, "", "Commands:"]
    lines += [f"  {name.ljust(12)}{cmds[name][2]}" for name in sorted(cmds)]
    lines += ["", f"Run '{PROG} {group} COMMAND --help' for more information on a command."]
    return "\n".join(lines) + "\n"


_TLS_VALUE_FLAGS = {"--tlscacert": "ca_cert", "--tlscert": "client_cert", "--tlskey": "client_key"}


def _parse_globals(argv: list[str]):
    """Global flags before the command: -H/--host, -D/--debug, -v/--version, -l/--log-level,
    --tls/--tlsverify/--tlscacert/--tlscert/--tlskey (used for tcp:// hosts)."""
    host = None
    debug = False
    tls: dict = {}
    i = 0
    while i < len(argv):
        a = argv[i]
        name, eq, value = a.partition("=")
        if a in ("-H", "--host", "-l", "--log-level", "--config", "-c", "--context") or \
                (not eq and name in _TLS_VALUE_FLAGS):
            if i + 1 >= len(argv):
                raise _Usage(f"flag needs an argument: {a}" if a.startswith("--")
                             else f"flag needs an argument: '{a[1]}' in {a}")
            value = argv[i + 1]
            i += 2
        elif a.startswith("-H") and len(a) > 2 and not a.startswith("--"):
            name, value = "-H", a[2:].lstrip("=")
            i += 1
        else:
            i += 1
        if name in ("-H", "--host"):
            host = value
        elif name in ("-D", "--debug"):
            debug = True
        elif name in ("-l", "--log-level", "--config", "-c", "--context"):
            pass
        elif name in _TLS_VALUE_FLAGS:
            tls[_TLS_VALUE_FLAGS[name]] = value
        elif name == "--tls":
            tls.setdefault("verify", False)
        elif name == "--tlsverify":
            tls["verify"] = True
        elif a in ("-v", "--version"):
            return host, debug, tls, ["--version"]
        elif a in ("-h", "--help"):
            return host, debug, tls, ["--help"]
        elif a.startswith("-") and a != "-":
            raise _Usage(f"unknown flag: {name}" if a.startswith("--") else f"unknown shorthand flag: {a[1]!r} in {a}")
        else:
            i -= 1
            break
    return host, debug, tls, argv[i:]


class _Usage(Exception):
    pass


def run() -> None:
    """The launcher's entry point: ``main()``, then exit without the interpreter's teardown.

    Tearing the interpreter down (freeing every module and object) costs a CLI call
    ~1.5-2 ms (measured: ``python -S`` with the run command imported, 11.5 ms with a normal
    exit, 9.8 ms with ``os._exit``). Nothing of the CLI needs it: commands close their files
    and restore the terminal in ``finally`` blocks before ``main`` returns, so only the
    standard streams are left to flush.
    """
    try:
        status = main()
    except SystemExit as e:
        status = e.code
        if isinstance(status, str):
            sys.stderr.write(status + "\n")
            status = 1
    try:
        sys.stdout.flush()
    except (BrokenPipeError, ValueError):  # the reader went away (`| head`), or stdout was closed
        pass
    try:
        sys.stderr.flush()
    except (BrokenPipeError, ValueError):
        pass
    posix._exit(status if isinstance(status, int) else 0)


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    try:
        host, debug, tls, rest = _parse_globals(argv)
    except _Usage as e:
        sys.stderr.write(f"{e}\nSee '{PROG} --help'.\n\nUsage:  {PROG} [OPTIONS] COMMAND\n\n"
                         "A self-sufficient runtime for containers\n")
        return 125
    if not rest or rest[0] == "--help" or rest[0] == "help" and len(rest) == 1:
        sys.stdout.write(_global_help())
        return 0
    if rest[0] == "--version":
        sys.stdout.write(f"Dockyard version {VERSION}, build dockyard\n")
        return 0
    name, args = rest[0], rest[1:]
    prog = f"{PROG} {name}"
    if name in MANAGEMENT:
        cmds = MANAGEMENT[name][1]
        if not args or args[0] in ("--help", "-h", "help"):
            sys.stdout.write("\n" + _management_help(name))
            return 0
        sub = ALIASES[name].get(args[0], args[0])
        if sub not in cmds:
            if sub.startswith("-"):
                sys.stderr.write(f"unknown flag: {sub}\nSee '{PROG} {name} --help'.\n")
                return 125
            sys.stdout.write("\n" + _management_help(name))
            return 1
        entry = cmds[sub]
        prog = f"{PROG} {name} {args[0]}"
        args = args[1:]
    else:
        entry = COMMANDS.get(name)
        if entry is None:
            sys.stderr.write(f"{PROG}: '{name}' is not a {PROG} command.\nSee '{PROG} --help'\n")
            return 1
    if host is None:
        from dockyard.api.client.environ import getenv

        host = getenv("DOCKYARD_HOST") or getenv("DOCKER_HOST") or None
    return _invoke(entry, prog, args, host, debug, tls)


def _invoke(entry: tuple[str, str, str], prog: str, args: list[str], host: str | None, debug: bool,
            tls: dict | None = None) -> int:
    from .common import Cli, StatusError, daemon_error

    module, func, _ = entry
    # __import__ rather than importlib.import_module: importlib (and the warnings module it pulls
    # in) cost every CLI call ~1 ms
    cmd = getattr(__import__(f"dockyard.cli.commands.{module}", fromlist=[func]), func)
    cli = Cli(host, debug, tls)
    try:
        status = cmd(cli, prog, args)
        cli.out.flush()
        return status or 0
    except StatusError as e:
        if e.message:
            cli.error(e.message)
        return e.status
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        # stdout was closed by the reader (`| head`): silence the flush at exit.
        posix.dup2(posix.open("/dev/null", posix.O_WRONLY), sys.stdout.fileno())
        return 0
    except Exception as e:  # noqa: BLE001 - the CLI reports every failure as docker does
        from dockyard.api.client.errors import DockerException

        if debug or not isinstance(e, (DockerException, OSError)):
            import traceback

            traceback.print_exc()
        cli.error(daemon_error(e))
        return 1
    finally:
        cli.close()
