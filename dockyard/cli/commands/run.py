"""run, create, start, attach: making containers and wiring their stdio to ours."""

import posix

from dockyard.api.client import errors
from dockyard.cli.common import PROG, StatusError, daemon_error, inspect_container, parse_command
from dockyard.cli.flags import BOOL, STR, Flag, Spec
from dockyard.cli.runopts import (CONTAINER_FLAGS, RUN_ONLY_FLAGS, OptionError, build_create_body,
                                  create_warnings)

RUN = Spec("run [OPTIONS] IMAGE [COMMAND] [ARG...]", "Create and run a new container from an image",
           CONTAINER_FLAGS + RUN_ONLY_FLAGS, min_args=1, interspersed=False,
           aliases=f"{PROG} container run, {PROG} run")
CREATE = Spec("create [OPTIONS] IMAGE [COMMAND] [ARG...]", "Create a new container",
              CONTAINER_FLAGS, min_args=1, interspersed=False,
              aliases=f"{PROG} container create, {PROG} create")
START = Spec("start [OPTIONS] CONTAINER [CONTAINER...]", "Start one or more stopped containers", [
    Flag("attach", "a", BOOL, help="Attach STDOUT/STDERR and forward signals"),
    Flag("detach-keys", None, STR, help="Override the key sequence for detaching a container"),
    Flag("interactive", "i", BOOL, help="Attach container's STDIN"),
], min_args=1, aliases=f"{PROG} container start, {PROG} start")
ATTACH = Spec("attach [OPTIONS] CONTAINER", "Attach local standard input, output, and error streams to a running container", [
    Flag("detach-keys", None, STR, help="Override the key sequence for detaching a container"),
    Flag("no-stdin", None, BOOL, help="Do not attach STDIN"),
    Flag("sig-proxy", None, BOOL, default=True, help="Proxy all received signals to the process"),
], min_args=1, max_args=1, aliases=f"{PROG} container attach, {PROG} attach")


# -- helpers -------------------------------------------------------------------

def report_error(prog: str, message: str, with_help: bool = True) -> str:
    """docker's reportError: 'dockyard: <message>.' and, with help, "See 'PROG --help'."."""
    text = f"{PROG}: {message.removesuffix('.')}."
    return text + f"\nSee '{prog} --help'." if with_help else text


def _run_error(cli, prog: str, message: str, status: int = 125, daemon: bool = False) -> StatusError:
    """An error of run/create: run reports it docker-style (125); create returns daemon errors as is (1)."""
    if daemon and not prog.endswith("run"):
        return StatusError(1, message)
    return StatusError(status, report_error(prog, message))


def start_error_status(message: str) -> int:
    """docker's runStartContainerErr: 127 not found, 126 cannot invoke, else 125."""
    m = message
    if "executable file not found" in m or "no such file or directory" in m or \
            "system cannot find the file specified" in m:
        return 127
    if "permission denied" in m or "is a directory" in m:
        return 126
    return 125


def split_reference(ref: str) -> tuple[str, str | None]:
    """'busybox' -> ('busybox', 'latest'); 'reg:5000/a:b' -> ('reg:5000/a', 'b'); digests keep no tag."""
    if "@" in ref:
        return ref, None
    name, sep, tag = ref.rpartition(":")
    if sep and "/" not in tag:
        return name, tag
    return ref, "latest"


def _exists(path: str) -> bool:
    """``os.path.exists`` (this module does without ``os``: see ``dockyard.api.client.environ``)."""
    try:
        posix.stat(path)
    except (OSError, ValueError):
        return False
    return True


def pull_image(cli, ref: str, quiet: bool = False, platform: str | None = None) -> None:
    """``POST /images/create?fromImage=`` and print docker's progress lines (to stderr for run)."""
    name, tag = split_reference(ref)
    for msg in cli.api.stream_json("POST", "/images/create",
                                   params={"fromImage": name, "tag": tag, "platform": platform}):
        if not isinstance(msg, dict):
            continue
        if msg.get("error"):
            raise errors.APIError(msg["error"], explanation=msg.get("error"), status_code=500)
        if quiet:
            continue
        status = msg.get("status", "")
        if msg.get("id") and "progressDetail" in msg and msg.get("progress"):
            continue
        line = f"{msg['id']}: {status}" if msg.get("id") else status
        if line:
            cli.err.write(line + "\n")


def create_container(cli, prog: str, opts, args: list[str], meanwhile=None) -> str:
    """Create the container as docker's createContainer does (cidfile, pull on 404, warnings).

    ``meanwhile()`` runs while the daemon works on the request (imports for what follows).
    """
    api = cli.api
    console = None
    if opts.tty:
        from dockyard.cli.stdio import terminal_size

        console = terminal_size(1)
    try:
        body = build_create_body(opts, args, api.api_version, console)
    except OptionError as e:
        raise _run_error(cli, prog, str(e))
    except errors.DockerException as e:
        raise _run_error(cli, prog, daemon_error(e), daemon=True)
    for w in create_warnings(body):
        cli.err.write(w)
    cidfile = opts.cidfile
    if cidfile:
        if _exists(cidfile):
            raise _run_error(cli, prog, f"container ID file found, make sure the other container "
                                        f"isn't running or delete {cidfile}")
        try:
            cid_fd = open(cidfile, "w")
        except OSError as e:
            raise _run_error(cli, prog, f"failed to create the container ID file: {e}")
    params = {"name": opts.name or None, "platform": opts.platform or None}
    image = args[0]
    try:
        try:
            if opts.pull == "always":
                pull_image(cli, image, opts.quiet, opts.platform or None)
            pending = api.call_later("POST", "/containers/create", params=params, json=body)
            if meanwhile is not None:
                meanwhile()
            resp = pending.result()
        except errors.NotFound as e:
            if opts.pull == "never" or "no such image" not in (e.explanation or "").lower():
                raise
            name, tag = split_reference(image)
            shown = f"{name}:{tag}" if tag else name
            cli.err.write(f"Unable to find image '{shown}' locally\n")
            pull_image(cli, image, opts.quiet, opts.platform or None)
            resp = api.post("/containers/create", params=params, json=body)
    except errors.DockerException as e:
        if cidfile:
            cid_fd.close()
            posix.unlink(cidfile)
        raise _run_error(cli, prog, daemon_error(e), daemon=True)
    for w in resp.get("Warnings") or []:
        cli.err.write(f"WARNING: {w}\n")
    cid = resp["Id"]
    if cidfile:
        cid_fd.write(cid)
        cid_fd.close()
    return cid


class Waiter:
    """``POST /containers/{id}/wait`` on its own connection, registered before the container starts.

    No thread: the request is sent, and its response head (which the daemon sends
    as soon as the wait is registered) is read before ``start``; the body, the
    exit status, is read when the output stream has ended.
    """

    def __init__(self, api, cid: str, condition: str) -> None:
        self.condition = condition
        self.pending = api.call_later("POST", "/containers/{}/wait", cid,
                                      params={"condition": condition or None}, fresh=True)
        self.error: Exception | None = None
        try:
            if self.pending.ready(2.0):
                self.pending.response()
        except errors.DockerException as e:
            self.error = e

    def status(self) -> int:
        if self.error is None:
            try:
                res = self.pending.result() or {}
            except errors.DockerException as e:
                self.error = e
        if self.error is not None:
            if isinstance(self.error, errors.NotFound) and self.condition == "removed":
                return 0
            raise self.error
        err = res.get("Error") or {}
        if err and err.get("Message"):
            raise StatusError(125, err["Message"])
        return int(res.get("StatusCode", 0))

    def close(self) -> None:
        self.pending.close()


class SignalProxy:
    """Forward SIGINT/SIGTERM (and friends) to the container while attached (--sig-proxy)."""

    SIGNALS = ("SIGINT", "SIGTERM", "SIGHUP", "SIGQUIT", "SIGUSR1", "SIGUSR2")

    def __init__(self, api, cid: str) -> None:
        import _signal  # (the signal module wraps numbers in enums: ~5 ms of imports for nothing here)

        self.api = api.fork()
        self.cid = cid
        self.saved = {}
        self.names = {}
        for name in self.SIGNALS:
            sig = getattr(_signal, name)
            self.names[sig] = name
            self.saved[sig] = _signal.signal(sig, self._handle)

    def _handle(self, signum, _frame) -> None:
        try:
            self.api.post("/containers/{}/kill", self.cid, params={"signal": self.names[signum]})
        except Exception:  # noqa: BLE001 - the container may be gone already
            pass

    def stop(self) -> None:
        import _signal

        for sig, handler in self.saved.items():
            _signal.signal(sig, handler)
        self.api.close()


def attach_and_run(cli, cid: str, tty: bool, stdin: bool, stdout: bool, stderr: bool,
                   detach_keys: str | None, sig_proxy: bool, start, condition: str = "next-exit",
                   wait: bool = True) -> int:
    """Attach, register a wait, ``start()``, pump stdio; return the exit status (None if detached)."""
    from dockyard.cli import stdio

    api = cli.api
    keys = None
    if detach_keys:
        try:
            keys = stdio.detach_keys_to_bytes(detach_keys)
        except ValueError:
            keys = None
    params = {"stream": True, "stdin": stdin or None, "stdout": stdout or None, "stderr": stderr or None,
              "detachKeys": detach_keys or None}
    sock = api.hijack("POST", "/containers/{}/attach", cid, params=params)
    waiter = Waiter(api, cid, condition) if wait else None
    raw = None
    stdin_fd = 0 if stdin else None
    if stdin and tty and posix.isatty(0):
        raw = stdio.RawTerminal(0).__enter__()
    proxy = None
    try:
        try:
            start()
        except BaseException:
            sock.close()
            if waiter is not None:
                waiter.close()
            raise
        if tty and stdout and stdio.terminal_size(1):
            stdio.monitor_resize(lambda h, w: _resize(api, cid, h, w))
        if sig_proxy and not tty:
            proxy = SignalProxy(api, cid)
        detached = stdio.stream(sock, tty, stdin_fd, keys)
    finally:
        if raw is not None:
            raw.restore()
        sock.close()
    if proxy is not None:
        proxy.stop()
    if detached:
        return None
    return waiter.status() if waiter is not None else 0


def _preload() -> None:
    """Import what attaching needs while the daemon creates the container."""
    import dockyard.api.client.streams  # noqa: F401
    import dockyard.cli.stdio  # noqa: F401


def _resize(api, cid: str, h: int, w: int) -> None:
    api.post("/containers/{}/resize", cid, params={"h": h, "w": w})


# -- commands ------------------------------------------------------------------------

def cmd_create(cli, prog: str, argv: list[str]) -> int:
    opts, args = parse_command(CREATE, prog, argv)
    cid = create_container(cli, prog, opts, args)
    cli.write(cid + "\n")
    return 0


def cmd_run(cli, prog: str, argv: list[str]) -> int:
    opts, args = parse_command(RUN, prog, argv)
    if opts.detach and opts.attach:
        raise StatusError(1, "Conflicting options: -a and -d")
    if opts.tty and opts.interactive and not opts.detach and not posix.isatty(0):
        raise StatusError(1, "the input device is not a TTY")
    cid = create_container(cli, prog, opts, args, None if opts.detach else _preload)
    api = cli.api

    def start() -> None:
        try:
            api.post("/containers/{}/start", cid)
        except errors.DockerException as e:
            msg = daemon_error(e)
            raise StatusError(start_error_status(msg), report_error(prog, msg, with_help=False))

    if opts.detach:
        cli.write(cid + "\n")  # docker prints the ID before it starts the container
        cli.out.flush()
        start()
        return 0
    attach = set(opts.attach) or {"stdout", "stderr"}
    if opts.interactive:
        attach.add("stdin")
    status = attach_and_run(cli, cid, opts.tty, "stdin" in attach, "stdout" in attach, "stderr" in attach,
                            opts.detach_keys or None, opts.sig_proxy and not opts.tty, start,
                            condition="removed" if opts.rm else "next-exit")
    return 0 if status is None else status


def cmd_start(cli, prog: str, argv: list[str]) -> int:
    opts, args = parse_command(START, prog, argv)
    api = cli.api
    if opts.attach or opts.interactive:
        if len(args) > 1:
            raise StatusError(1, "you cannot start and attach multiple containers at once")
        name = args[0]
        info = inspect_container(cli, name)
        cfg = info.get("Config") or {}
        tty = bool(cfg.get("Tty"))
        stdin = bool(opts.interactive and cfg.get("OpenStdin"))
        if opts.interactive and tty and not posix.isatty(0):
            raise StatusError(1, "the input device is not a TTY")

        def start() -> None:
            try:
                api.post("/containers/{}/start", info["Id"])
            except errors.DockerException as e:
                msg = daemon_error(e)
                raise StatusError(start_error_status(msg) if "OCI runtime" in msg else 1, msg)

        status = attach_and_run(cli, info["Id"], tty, stdin, True, True, opts.detach_keys or None,
                                not tty, start, condition="next-exit")
        return 0 if status is None else status
    from dockyard.cli.common import for_each

    return for_each(cli, args, lambda n: api.post("/containers/{}/start", n),
                    failed="failed to start containers")


def cmd_attach(cli, prog: str, argv: list[str]) -> int:
    opts, args = parse_command(ATTACH, prog, argv)
    info = inspect_container(cli, args[0])
    state = info.get("State") or {}
    if not state.get("Running"):
        raise StatusError(1, "You cannot attach to a stopped container, start it first")
    if state.get("Paused"):
        raise StatusError(1, "You cannot attach to a paused container, unpause it first")
    if state.get("Restarting"):
        raise StatusError(1, "You cannot attach to a restarting container, wait until it is running")
    cfg = info.get("Config") or {}
    tty = bool(cfg.get("Tty"))
    stdin = bool(cfg.get("OpenStdin")) and not opts.no_stdin
    if stdin and tty and not posix.isatty(0):
        raise StatusError(1, "the input device is not a TTY")
    status = attach_and_run(cli, info["Id"], tty, stdin, True, True, opts.detach_keys or None,
                            opts.sig_proxy and not tty, lambda: None, condition="")
    if status is None:
        raise StatusError(1, "read escape sequence")
    return status
