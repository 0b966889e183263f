"""inspect, container inspect, image inspect: raw JSON (indented as docker does) or --format."""

from __future__ import annotations

import json

from dockyard.api.client import errors
from dockyard.cli.common import PROG, StatusError, daemon_error, parse_command
from dockyard.cli.flags import BOOL, STR, Flag, Spec
from dockyard.cli.formatting import json_indent

_FLAGS = [
    Flag("format", "f", STR, help="Format output using a custom template"),
    Flag("size", "s", BOOL, help="Display total file sizes if the type is container"),
]
INSPECT = Spec("inspect [OPTIONS] NAME|ID [NAME|ID...]", "Return low-level information on Docker objects",
               _FLAGS + [Flag("type", None, STR, help="Only inspect objects of the given type")], min_args=1)
CONTAINER_INSPECT = Spec("inspect [OPTIONS] CONTAINER [CONTAINER...]",
                         "Display detailed information on one or more containers", _FLAGS, min_args=1)
IMAGE_INSPECT = Spec("inspect [OPTIONS] IMAGE [IMAGE...]", "Display detailed information on one or more images",
                     [_FLAGS[0]], min_args=1)

TYPES = ("config", "container", "image", "network", "node", "plugin", "secret", "service", "task", "volume")
_PATHS = {"container": "/containers/{}/json", "image": "/images/{}/json", "network": "/networks/{}",
          "volume": "/volumes/{}"}


class _NotFound(Exception):
    pass


def _get_raw(api, kind: str, ref: str, size: bool) -> bytes:
    params = {"size": True} if kind == "container" and size else None
    r = api.request("GET", _PATHS[kind], ref, params=params)
    return r.read()


def _lookup_any(api, ref: str, size: bool) -> bytes:
    """Try each object type in docker's order; 'No such object' when none has it."""
    for kind in ("container", "image", "network", "volume"):
        try:
            return _get_raw(api, kind, ref, size)
        except errors.NotFound:
            continue
        except errors.APIError as e:
            if kind in ("network", "volume") and e.status_code in (400, 404, 405, 500, 501):
                continue
            raise
    raise _NotFound(f"Error: No such object: {ref}")


def _get_typed(api, kind: str, ref: str, size: bool) -> bytes:
    try:
        return _get_raw(api, kind, ref, size)
    except errors.NotFound:
        raise _NotFound(f"Error: No such {kind}: {ref}") from None


def inspect_refs(cli, refs: list[str], fmt: str, getter) -> int:
    raw_elements: list[bytes] = []
    out_lines: list[str] = []
    errs: list[str] = []
    template = fmt or None  # used as given: docker's inspect does no table/escape handling
    for ref in refs:
        try:
            raw = getter(ref)
        except _NotFound as e:
            errs.append(str(e))
            continue
        except errors.DockerException as e:
            errs.append(daemon_error(e))
            continue
        if template is None:
            raw_elements.append(raw.strip())
        else:
            from dockyard.cli import gotemplate

            try:
                out_lines.append(gotemplate.render(template, json.loads(raw), missingkey="error") + "\n")
            except gotemplate.TemplateError as e:
                cli.write("".join(out_lines))
                raise StatusError(1, f"template parsing error: {e}") from None
    if template is None:
        if raw_elements:
            cli.write(json_indent(b"[" + b",".join(raw_elements) + b"]") + "\n")
        else:
            cli.write("[]\n")
    else:
        cli.write("".join(out_lines))
    for e in errs:
        cli.error(e)
    return 1 if errs else 0


def cmd_inspect(cli, prog, argv):
    opts, args = parse_command(INSPECT, prog, argv)
    kind = opts.type
    if kind and kind not in TYPES:
        raise StatusError(1, f'"{kind}" is not a valid value for --type')
    api = cli.api
    if not kind:
        return inspect_refs(cli, args, opts.format, lambda r: _lookup_any(api, r, opts.size))
    if kind not in _PATHS:
        raise StatusError(1, f"Error: {kind} inspection is not supported by {PROG}")
    return inspect_refs(cli, args, opts.format, lambda r: _get_typed(api, kind, r, opts.size))


def cmd_container_inspect(cli, prog, argv):
    opts, args = parse_command(CONTAINER_INSPECT, prog, argv)
    api = cli.api
    return inspect_refs(cli, args, opts.format, lambda r: _get_typed(api, "container", r, opts.size))


def cmd_image_inspect(cli, prog, argv):
    opts, args = parse_command(IMAGE_INSPECT, prog, argv)
    api = cli.api
    return inspect_refs(cli, args, opts.format, lambda r: _get_typed(api, "image", r, False))
