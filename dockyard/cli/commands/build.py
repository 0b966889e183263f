"""``build``: the docker CLI's classic (``DOCKER_BUILDKIT=0``) build, and ``build --print-ast``.

The context is made as the docker CLI makes it (:mod:`dockyard.cli.buildcontext`),
streamed as the chunked body of ``POST /build`` with the docker CLI's query,
and the daemon's JSON messages are printed as the docker CLI prints them
(:mod:`dockyard.cli.jsonmessage`): ``Sending build context to Docker daemon
<size>`` first, the ``stream`` texts as they come, an ``errorDetail`` ends
the build with its message on stderr and its ``code`` (1 if none) as the exit
status. ``-q`` prints only what the daemon streams (the image ID) and, on
failure, everything it held back to stderr. ``--iidfile`` gets the ``aux``
ID (with ``-q``: the quiet output).

``--print-ast`` (dockyard's own) parses the Dockerfile locally and prints
BuildKit's ``Node.Dump()`` of it; nothing is sent to the daemon.
"""

from __future__ import annotations

import io
import os
import sys

from dockyard.cli.common import PROG, StatusError, parse_command
from dockyard.cli.flags import BOOL, INT, LIST, STR, Flag, FlagError, Spec


def _build_arg(v: str) -> str:
    """opts.ValidateEnv: ``KEY=value`` as is; ``KEY`` takes the environment's value when it has one."""
    k, eq, _ = v.partition("=")
    if not k:
        raise ValueError(f"invalid environment variable: {v}")
    if eq:
        return v
    if k in os.environ:
        return f"{k}={os.environ[k]}"
    return v


def _label(v: str) -> str:
    """opts.ValidateLabel."""
    key = v.partition("=")[0].strip(" \t")
    if not key:
        raise ValueError(f"invalid label '{v}': empty name")
    if " " in key or "\t" in key:
        raise ValueError(f"label '{key}' contains whitespaces")
    return v


def _tag(v: str) -> str:
    from dockyard.cli.commands.image import validate_reference

    validate_reference(v)
    return v


def _size(v: str) -> int:
    from dockyard.cli.runopts import ram_in_bytes

    return ram_in_bytes(v)


def _swap(v: str) -> int:
    from dockyard.cli.runopts import mem_swap

    return mem_swap(v)


def _extra_host(v: str) -> str:
    from dockyard.cli.runopts import _valid_extra_host

    return _valid_extra_host(v)


def _ulimit(v: str) -> dict:
    from dockyard.cli.runopts import _ulimit as parse

    return parse(v)


BUILD = Spec("build [OPTIONS] PATH | URL | -", "Build an image from a Dockerfile", [
    Flag("add-host", None, LIST, help='Add a custom host-to-IP mapping ("host:ip")', conv=_extra_host),
    Flag("build-arg", None, LIST, help="Set build-time variables", conv=_build_arg),
    Flag("cache-from", None, LIST, help="Images to consider as cache sources", metavar="strings"),
    Flag("cgroup-parent", None, STR, help='Set the parent cgroup for the "RUN" instructions during build'),
    Flag("compress", None, BOOL, help="Compress the build context using gzip"),
    Flag("cpu-period", None, INT, help="Limit the CPU CFS (Completely Fair Scheduler) period"),
    Flag("cpu-quota", None, INT, help="Limit the CPU CFS (Completely Fair Scheduler) quota"),
    Flag("cpu-shares", "c", INT, help="CPU shares (relative weight)"),
    Flag("cpuset-cpus", None, STR, help="CPUs in which to allow execution (0-3, 0,1)"),
    Flag("cpuset-mems", None, STR, help="MEMs in which to allow execution (0-3, 0,1)"),
    Flag("disable-content-trust", None, BOOL, default=True, help="Skip image verification (default true)"),
    Flag("file", "f", STR, help='Name of the Dockerfile (Default is "PATH/Dockerfile")'),
    Flag("force-rm", None, BOOL, help="Always remove intermediate containers"),
    Flag("iidfile", None, STR, help="Write the image ID to the file"),
    Flag("isolation", None, STR, help="Container isolation technology"),
    Flag("label", None, LIST, help="Set metadata for an image", conv=_label),
    Flag("memory", "m", STR, help="Memory limit", conv=_size, default=0, metavar="bytes"),
    Flag("memory-swap", None, STR, help="Swap limit equal to memory plus swap: -1 to enable unlimited swap",
         conv=_swap, default=0, metavar="bytes"),
    Flag("network", None, STR, default="default",
         help="Set the networking mode for the RUN instructions during build"),
    Flag("no-cache", None, BOOL, help="Do not use cache when building the image"),
    Flag("platform", None, STR, default=os.environ.get("DOCKER_DEFAULT_PLATFORM", ""),
         help="Set platform if server is multi-platform capable"),
    Flag("print-ast", None, BOOL, hidden=True,
         help="Print the parsed Dockerfile (BuildKit's Node.Dump) and exit; the daemon is not contacted"),
    Flag("pull", None, BOOL, help="Always attempt to pull a newer version of the image"),
    Flag("quiet", "q", BOOL, help="Suppress the build output and print image ID on success"),
    Flag("rm", None, BOOL, default=True,
         help="Remove intermediate containers after a successful build (default true)"),
    Flag("security-opt", None, LIST, help="Security options", metavar="strings"),
    Flag("shm-size", None, STR, help='Size of "/dev/shm"', conv=_size, default=0, metavar="bytes"),
    Flag("tag", "t", LIST, help='Name and optionally a tag in the "name:tag" format', conv=_tag),
    Flag("target", None, STR, help="Set the target build stage to build."),
    Flag("ulimit", None, LIST, help="Ulimit options (default [])", conv=_ulimit, metavar="ulimit"),
], max_args=1, aliases=f"{PROG} image build, {PROG} build")


def _strings(values: list[str]) -> list[str]:
    """pflag's ``strings`` flags: each value is a comma-separated (CSV) list."""
    import csv

    out: list[str] = []
    for v in values:
        if v:
            out.extend(next(csv.reader([v])))
    return out


def _parse(prog: str, argv: list[str]):
    opts, args = parse_command(BUILD, prog, argv)
    if not opts.print_ast and len(args) != 1:
        e = FlagError(f'"{prog}" requires exactly 1 argument.', status=1)
        sys.stderr.write(f"{e}\nSee '{prog} --help'.\n\n{BUILD.usage_line(prog)}\n\n{BUILD.short}\n")
        raise StatusError(1)
    return opts, args


def cmd_build(cli, prog, argv):
    opts, args = _parse(prog, argv)
    if opts.print_ast:
        return print_ast(cli, opts.file, args[0] if args else None)

    from dockyard.cli import buildcontext
    from dockyard.cli.jsonmessage import JSONError, ProgressLine, display_stream

    specified = args[0]
    from_stdin_ctx = specified == "-"
    dockerfile_stdin = opts.file == "-"
    if dockerfile_stdin and from_stdin_ctx:
        raise StatusError(1, "invalid argument: can't use stdin for both build context and dockerfile")
    if opts.iidfile:
        try:
            os.remove(opts.iidfile)
        except FileNotFoundError:
            pass
        except OSError as e:
            raise StatusError(1, f"Removing image ID file: {_os_error('remove', e)}")

    try:
        if from_stdin_ctx:
            context = buildcontext.stdin_context(_stdin_reader(), opts.file or None)
        elif os.path.exists(specified):
            data = _read_stdin() if dockerfile_stdin else None
            context = buildcontext.local_context(specified, opts.file or None, data)
        elif _is_remote(specified):
            raise buildcontext.ContextError(
                f"unable to prepare context: remote build contexts are not supported: {specified} "
                "(fetch it and build from a directory or from stdin)")
        else:
            raise buildcontext.ContextError(f'unable to prepare context: path "{specified}" not found')
    except buildcontext.ContextError as e:
        raise StatusError(1, str(e)) from None

    is_terminal = _isatty(cli.out)
    prog_out = io.StringIO() if opts.quiet else cli.out
    build_out = io.StringIO() if opts.quiet else cli.out
    sending = ProgressLine(prog_out, "Sending build context to Docker daemon", is_terminal)

    def body():
        chunks = context.chunks()
        if opts.compress:
            chunks = _gzip(chunks)
        n = 0
        try:
            for c in chunks:
                n += len(c)
                yield c
                sending.update(n)
        except OSError as e:
            raise buildcontext.ContextError(str(e)) from None
        sending.done(n)

    buildargs: dict[str, str | None] = {}
    for a in opts.build_arg:
        k, eq, v = a.partition("=")
        buildargs[k] = v if eq else None
    labels = {}
    for a in opts.label:
        k, _, v = a.partition("=")
        labels[k] = v

    from dockyard.api.client.errors import APIError
    from dockyard.api.client.streams import iter_json

    try:
        response = cli.api.images.build(
            body(), tags=opts.tag, dockerfile=context.dockerfile, buildargs=buildargs, labels=labels,
            target=opts.target, nocache=opts.no_cache, pull=opts.pull, rm=opts.rm, forcerm=opts.force_rm,
            quiet=opts.quiet, networkmode=opts.network, platform=opts.platform, isolation=opts.isolation,
            cpusetcpus=opts.cpuset_cpus, cpusetmems=opts.cpuset_mems, cpushares=opts.cpu_shares,
            cpuquota=opts.cpu_quota, cpuperiod=opts.cpu_period, memory=opts.memory, memswap=opts.memory_swap,
            cgroupparent=opts.cgroup_parent, shmsize=opts.shm_size, ulimits=opts.ulimit,
            cachefrom=_strings(opts.cache_from), extrahosts=opts.add_host, securityopt=_strings(opts.security_opt))
    except buildcontext.ContextError as e:
        raise StatusError(1, str(e)) from None
    except APIError:
        if opts.quiet:
            cli.err.write(prog_out.getvalue())
        raise

    image_id = ""

    def aux(value):
        nonlocal image_id
        if isinstance(value, dict):
            image_id = str(value.get("ID") or "")
        else:
            cli.err.write(f"Failed to parse aux message: json: cannot unmarshal {type(value).__name__} "
                          "into Go value of type types.BuildResult")

    try:
        display_stream(iter_json(response.read1), build_out, is_terminal, aux=aux)
    except JSONError as e:
        if opts.quiet:
            cli.err.write(prog_out.getvalue() + build_out.getvalue())
        cli.out.flush()
        raise StatusError(e.code or 1, e.message) from None
    if opts.quiet:
        image_id = build_out.getvalue()
        cli.write(image_id)
    if opts.iidfile:
        if not image_id:
            raise StatusError(1, f"Server did not provide an image ID. Cannot write {opts.iidfile}")
        try:
            with open(opts.iidfile, "w") as f:
                f.write(image_id)
        except OSError as e:
            raise StatusError(1, _os_error("open", e))
    return 0


def _isatty(f) -> bool:
    try:
        return os.isatty(f.fileno())
    except (AttributeError, OSError, ValueError):
        return False


def _os_error(op: str, e: OSError) -> str:
    return f"{op} {e.filename}: {(e.strerror or str(e)).lower()}" if e.filename else str(e)


def _is_remote(c: str) -> bool:
    return c.startswith(("http://", "https://", "git://", "git@", "github.com/"))


def _stdin_reader():
    stdin = sys.stdin.buffer
    return stdin.read1 if hasattr(stdin, "read1") else stdin.read


def _read_stdin() -> bytes:
    return sys.stdin.buffer.read()


def _gzip(chunks):
    import zlib

    z = zlib.compressobj(6, zlib.DEFLATED, 31)
    for c in chunks:
        out = z.compress(c)
        if out:
            yield out
    yield z.flush()


# -- --print-ast -------------------------------------------------------------------------------

def print_ast(cli, dockerfile: str, context: str | None) -> int:
    """Parse the Dockerfile here and print BuildKit's ``Node.Dump()`` of it (no daemon involved)."""
    from dockyard.dockerfile.parser import DockerfileError, dump, parse

    if dockerfile == "-":
        data = sys.stdin.buffer.read()
        name = "Dockerfile"
        path = "-"
    else:
        path = dockerfile or os.path.join(context or ".", "Dockerfile")
        if not dockerfile and not os.path.lexists(path) and os.path.lexists(os.path.join(context or ".",
                                                                                       "dockerfile")):
            path = os.path.join(context or ".", "dockerfile")
        name = os.path.basename(path)
        try:
            with open(path, "rb") as f:
                data = f.read()
        except OSError as e:
            raise StatusError(1, f"failed to read {path}: {(e.strerror or str(e)).lower()}")
    try:
        ast = parse(data.decode("utf-8", "surrogateescape"), filename=name)
    except DockerfileError as e:
        raise StatusError(1, str(e))
    cli.out.flush()
    out = dump(ast) + "\n"
    sys.stdout.buffer.write(out.encode("utf-8", "surrogateescape"))
    sys.stdout.buffer.flush()
    return 0
