"""``save``, ``load`` and ``commit``: images to and from files, and from containers.

* ``save [-o FILE] IMAGE...`` → ``GET /images/get?names=..``; the tar goes to
  ``-o`` (written to a temporary file beside it, renamed at the end) or to
  stdout, which must not be a terminal.
* ``load [-i FILE] [-q]`` → ``POST /images/load?quiet=0|1`` with the tar as
  body (``quiet=1`` whenever stdout is not a terminal, as the docker CLI
  does); a JSON answer is printed as docker prints message streams
  (``Loaded image: busybox:latest``), anything else copied as is.
* ``commit [-a] [-m] [-c]... [-p] CONTAINER [REPO[:TAG]]`` → ``POST /commit``
  with the docker CLI's query (the reference in its familiar form, ``:latest``
  implied) and ``null`` as body; prints the new image ID.
"""

from __future__ import annotations

import os
import sys

from dockyard.cli.common import PROG, StatusError, parse_command
from dockyard.cli.flags import BOOL, LIST, STR, Flag, Spec

SAVE = Spec("save [OPTIONS] IMAGE [IMAGE...]",
            "Save one or more images to a tar archive (streamed to STDOUT by default)", [
                Flag("output", "o", STR, help="Write to a file, instead of STDOUT"),
            ], min_args=1, aliases=f"{PROG} image save, {PROG} save")
LOAD = Spec("load [OPTIONS]", "Load an image from a tar archive or STDIN", [
    Flag("input", "i", STR, help="Read from tar archive file, instead of STDIN"),
    Flag("quiet", "q", BOOL, help="Suppress the load output"),
], max_args=0, aliases=f"{PROG} image load, {PROG} load")
COMMIT = Spec("commit [OPTIONS] CONTAINER [REPOSITORY[:TAG]]", "Create a new image from a container's changes", [
    Flag("author", "a", STR, help='Author (e.g., "John Hannibal Smith <hannibal@a-team.com>")'),
    Flag("change", "c", LIST, help="Apply Dockerfile instruction to the created image"),
    Flag("message", "m", STR, help="Commit message"),
    Flag("pause", "p", BOOL, default=True, help="Pause container during commit (default true)"),
], max_args=2, interspersed=False, aliases=f"{PROG} container commit, {PROG} commit")



def _isatty(f) -> bool:
    try:
        return os.isatty(f.fileno())
    except (AttributeError, OSError, ValueError):
        return False


def _write_all(fd: int, data) -> None:
    mv = memoryview(data)
    while mv:
        n = os.write(fd, mv)
        mv = mv[n:]


def _copy(response, fd: int) -> None:
    while True:
        d = response.read1(1 << 20)
        if not d:
            return
        _write_all(fd, d)


# -- save ---------------------------------------------------------------------------------

def cmd_save(cli, prog, argv):
    opts, args = parse_command(SAVE, prog, argv)
    if not opts.output and _isatty(cli.out):
        raise StatusError(1, "cowardly refusing to save to a terminal. Use the -o flag or redirect")
    if opts.output:
        err = _validate_output_path(opts.output)
        if err:
            raise StatusError(1, f"failed to save image: {err}")
    response = cli.api.images.save(args)
    if not opts.output:
        cli.out.flush()
        _copy(response, cli.out.fileno())
        return 0
    import tempfile

    fd, tmp = tempfile.mkstemp(prefix=".docker_temp_", dir=os.path.dirname(opts.output) or ".")
    try:
        try:
            _copy(response, fd)
        finally:
            os.close(fd)
        os.rename(tmp, opts.output)  # mode 0600, as os.CreateTemp leaves it for docker
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise
    return 0


def _validate_output_path(path: str) -> str:
    """The docker CLI's ``ValidateOutputPath``: "" when ``path`` can be written, else why not."""
    import stat

    d = os.path.dirname(os.path.normpath(path))
    if d not in ("", ".") and not os.path.exists(d):
        return f'invalid output path: directory "{d}" does not exist'
    try:
        st = os.stat(path)
    except FileNotFoundError:
        return ""
    except OSError as e:
        return f"stat {path}: {(e.strerror or str(e)).lower()}"
    if stat.S_ISDIR(st.st_mode) or stat.S_ISREG(st.st_mode):
        return ""
    kind = "got a device" if stat.S_ISCHR(st.st_mode) or stat.S_ISBLK(st.st_mode) else "got an irregular file"
    return f'invalid output path: "{path}" must be a directory or a regular file: {kind}'


# -- load ---------------------------------------------------------------------------------

def cmd_load(cli, prog, argv):
    opts, _ = parse_command(LOAD, prog, argv)
    f = None
    if opts.input:
        try:
            f = open(opts.input, "rb")
        except OSError as e:
            raise StatusError(1, f"open {opts.input}: {(e.strerror or str(e)).lower()}")
        body = f
    else:
        if _isatty(sys.stdin):
            raise StatusError(1, "requested load from stdin, but stdin is empty")
        body = sys.stdin.buffer
    is_terminal = _isatty(cli.out)
    quiet = opts.quiet or not is_terminal
    try:
        response = cli.api.images.load(_chunks(body), quiet=quiet)
    finally:
        if f is not None:
            f.close()
    if "json" in (response.getheader("content-type") or ""):
        from dockyard.api.client.streams import iter_json
        from dockyard.cli.jsonmessage import JSONError, display_stream

        try:
            display_stream(iter_json(response.read1), cli.out, is_terminal)
        except JSONError as e:
            cli.out.flush()
            raise StatusError(1, e.message) from None
        return 0
    cli.out.flush()
    _copy(response, cli.out.fileno())
    return 0


def _chunks(f):
    read = f.read1 if hasattr(f, "read1") else f.read
    while True:
        d = read(1 << 20)
        if not d:
            return
        yield d


# -- commit -------------------------------------------------------------------------------

def commit_reference(ref: str) -> tuple[str, str]:
    """The docker 20.10 client's commit reference: (familiar repository, tag), ``latest`` implied."""
    from dockyard.cli.commands.image import familiar_name, split_repo_tag, validate_reference

    validate_reference(ref)
    if "@" in ref:
        raise ValueError("refusing to create a tag with a digest reference")
    name, tag = split_repo_tag(ref)
    first, sep, _ = name.partition("/")
    if not sep or not ("." in first or ":" in first or first == "localhost"):
        name = "docker.io/" + (name if sep else "library/" + name)
    return familiar_name(name), tag or "latest"


def cmd_commit(cli, prog, argv):
    opts, args = parse_command(COMMIT, prog, argv)
    if not args:  # cli.RequiresRangeArgs(1, 2)
        sys.stderr.write(f'"{prog}" requires at least 1 and at most 2 arguments.\nSee \'{prog} --help\'.\n\n'
                         f"{COMMIT.usage_line(prog)}\n\n{COMMIT.short}\n")
        raise StatusError(1)
    repo = tag = ""
    if len(args) > 1:
        try:
            repo, tag = commit_reference(args[1])
        except ValueError as e:
            raise StatusError(1, str(e))
    resp = cli.api.containers.commit(args[0], repo=repo, tag=tag, comment=opts.message, author=opts.author,
                                     changes=opts.change, pause=opts.pause) or {}
    cli.write(f"{resp.get('Id') or resp.get('ID') or ''}\n")
    return 0
