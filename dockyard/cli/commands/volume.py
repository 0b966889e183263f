"""volume create, ls, inspect, rm, prune: docker's flags, output and messages."""

from __future__ import annotations

import functools

from dockyard.api.client import errors
from dockyard.cli.common import PROG, StatusError, daemon_error, filter_value, no_such, parse_command, parse_filters
from dockyard.cli.flags import BOOL, LIST, STR, Flag, Spec
from dockyard.cli.formatting import human_size, tabwrite

_WHITESPACE = " \t\n\v\f\r"


def validate_label(val: str) -> str:
    """docker's opts.ValidateLabel: ``key[=value]`` with a key that is not empty and has no spaces."""
    key = val.partition("=")[0].lstrip(_WHITESPACE)
    if not key:
        raise ValueError(f"invalid label '{val}': empty name")
    if any(c in _WHITESPACE for c in key):
        raise ValueError(f"label '{key}' contains whitespaces")
    return val


CREATE = Spec("create [OPTIONS] [VOLUME]", "Create a volume", [
    Flag("driver", "d", STR, default="local", help="Specify volume driver name"),
    Flag("label", None, LIST, help="Set metadata for a volume", conv=validate_label),
    Flag("name", None, STR, hidden=True, help="Specify volume name"),
    Flag("opt", "o", LIST, metavar="map", help="Set driver specific options (default map[])"),
], max_args=1)
LS = Spec("ls [OPTIONS]", "List volumes", [
    Flag("filter", "f", LIST, metavar="filter", help="Provide filter values (e.g. 'dangling=true')",
         conv=filter_value),
    Flag("format", None, STR, help="Pretty-print volumes using a Go template"),
    Flag("quiet", "q", BOOL, help="Only display volume names"),
], max_args=0, aliases=f"{PROG} volume ls, {PROG} volume list")
INSPECT = Spec("inspect [OPTIONS] VOLUME [VOLUME...]", "Display detailed information on one or more volumes", [
    Flag("format", "f", STR, help="Format the output using the given Go template"),
], min_args=1)
RM = Spec("rm [OPTIONS] VOLUME [VOLUME...]",
          "Remove one or more volumes. You cannot remove a volume that is in use by a container.", [
              Flag("force", "f", BOOL, help="Force the removal of one or more volumes"),
          ], min_args=1, aliases=f"{PROG} volume rm, {PROG} volume remove")
PRUNE = Spec("prune [OPTIONS]", "Remove unused local volumes", [
    Flag("all", "a", BOOL, help="Remove all unused volumes, not just anonymous ones"),
    Flag("filter", None, LIST, metavar="filter", help="Provide filter values (e.g. 'label=<label>')",
         conv=filter_value),
    Flag("force", "f", BOOL, help="Do not prompt for confirmation"),
], max_args=0)

HEADERS = {"Name": "VOLUME NAME", "Driver": "DRIVER", "Scope": "SCOPE", "Mountpoint": "MOUNTPOINT",
           "Labels": "LABELS", "Links": "LINKS", "Size": "SIZE"}
_RAW = "name: {{.Name}}\ndriver: {{.Driver}}\n"
_RAW_QUIET = "name: {{.Name}}"
UNUSED_WARNING = "WARNING! This will remove anonymous local volumes not used by at least one container."
ALL_WARNING = "WARNING! This will remove all local volumes not used by at least one container."



def _api(cli):
    from dockyard.api.client.resources import Volumes

    return Volumes(cli.api)


def _filters(values: list[str]) -> dict[str, list[str]]:
    return {k: list(v) for k, v in parse_filters(values).items()}


# -- create --------------------------------------------------------------------------

def _kv_map(items: list[str]) -> dict[str, str]:
    """docker's MapOpts / ConvertKVStringsToMap: ``k=v`` (``k`` alone is ``k=""``), the last one wins."""
    out: dict[str, str] = {}
    for item in items:
        k, _, v = item.partition("=")
        out[k] = v
    return out


def cmd_create(cli, prog, argv):
    opts, args = parse_command(CREATE, prog, argv)
    name = opts.name
    if args:
        if name:
            raise StatusError(1, "conflicting options: either specify --name or provide positional arg, not both")
        name = args[0]
    vol = _api(cli).create(name=name, driver=opts.driver, driver_opts=_kv_map(opts.opt),
                           labels=_kv_map(opts.label))
    cli.write(f"{vol.get('Name', '')}\n")
    return 0


# -- ls -------------------------------------------------------------------------------

def natural_less(a: str, b: str) -> bool:
    """fvbommel/sortorder ``NaturalLess``, the order of ``docker volume ls``: digit runs compare as numbers."""
    i = j = 0
    while i < len(a) and j < len(b):
        da, db = a[i].isdigit(), b[j].isdigit()
        if da != db:
            return da
        if not da:
            if a[i] != b[j]:
                return a[i] < b[j]
            i += 1
            j += 1
            continue
        while i < len(a) and a[i] == "0":
            i += 1
        while j < len(b) and b[j] == "0":
            j += 1
        nz_a, nz_b = i, j
        while i < len(a) and a[i].isdigit():
            i += 1
        while j < len(b) and b[j].isdigit():
            j += 1
        if i - nz_a != j - nz_b:
            return i - nz_a < j - nz_b
        if a[nz_a:i] != b[nz_b:j]:
            return a[nz_a:i] < b[nz_b:j]
        if nz_a != nz_b:
            return nz_a < nz_b
    return len(a) < len(b)


def _natural_cmp(a: dict, b: dict) -> int:
    an, bn = a.get("Name", ""), b.get("Name", "")
    return -1 if natural_less(an, bn) else (1 if natural_less(bn, an) else 0)


def make_row(v: dict):
    """docker's volumeContext (20.10: no cluster fields): the fields a ``--format`` template sees."""
    from dockyard.cli.tables import Row

    labels = v.get("Labels") or {}
    usage = v.get("UsageData")
    fields = {
        "Name": v.get("Name", ""), "Driver": v.get("Driver", ""), "Scope": v.get("Scope", ""),
        "Mountpoint": v.get("Mountpoint", ""),
        # Go prints the map in its (random) iteration order; sorted here, so the output is stable
        "Labels": ",".join(f"{k}={labels[k]}" for k in sorted(labels)),
        "Links": "N/A" if usage is None else str(usage.get("RefCount", 0)),
        "Size": "N/A" if usage is None else human_size(usage.get("Size", 0)),
    }
    return Row(fields, {"Label": lambda name: labels.get(name, "")})


def render_table(fmt: str, rows: list) -> str:
    """A ``--format`` over the rows, as docker's formatter: ``table`` adds a header; nothing to list,
    nothing executed (a template is still parsed, so a broken one fails)."""
    from dockyard.cli.tables import check, header_row, prepare, render

    template, table = prepare(fmt)
    check(template)
    body = "".join(render(template, r, missingkey="error") + "\n" for r in rows)
    if not table:
        return body
    return tabwrite(header_row(template, HEADERS) + "\n" + body)


def cmd_ls(cli, prog, argv):
    opts, _ = parse_command(LS, prog, argv)
    vols = list(_api(cli).list(_filters(opts.filter)).get("Volumes") or [])
    vols.sort(key=functools.cmp_to_key(_natural_cmp))
    fmt = opts.format or "table"
    if fmt == "table":
        if opts.quiet:
            cli.write("".join(f"{v.get('Name', '')}\n" for v in vols))
            return 0
        lines = ["DRIVER\tVOLUME NAME"] + [f"{v.get('Driver', '')}\t{v.get('Name', '')}" for v in vols]
        cli.write(tabwrite("\n".join(lines) + "\n"))
        return 0
    if fmt == "raw":
        fmt = _RAW_QUIET if opts.quiet else _RAW
    cli.write(render_table(fmt, [make_row(v) for v in vols]))
    return 0


# -- inspect ----------------------------------------------------------------------------

def cmd_inspect(cli, prog, argv):
    opts, args = parse_command(INSPECT, prog, argv)
    from dockyard.cli.commands.inspect import inspect_refs

    api = _api(cli)

    def get(name: str) -> bytes:
        try:
            return api.inspect_raw(name)
        except errors.NotFound:
            raise errors.DockerException(no_such("volume", name)) from None

    return inspect_refs(cli, args, opts.format, get)


# -- rm ---------------------------------------------------------------------------------

def cmd_rm(cli, prog, argv):
    opts, args = parse_command(RM, prog, argv)
    api = _api(cli)
    errs = []
    for name in args:
        try:
            api.remove(name, force=opts.force)
        except errors.NotFound:
            errs.append(no_such("volume", name))
            continue
        except errors.DockerException as e:
            errs.append(daemon_error(e))
            continue
        cli.write(f"{name}\n")
    if errs:
        raise StatusError(1, "\n".join(errs))
    return 0


# -- prune --------------------------------------------------------------------------------

def _version_at_least(version: str, want: str) -> bool:
    def parts(v: str) -> tuple[int, ...]:
        return tuple(int(p) for p in v.split(".") if p.isdigit())
    return parts(version) >= parts(want)


def cmd_prune(cli, prog, argv):
    from dockyard.cli.commands.container import confirm

    opts, _ = parse_command(PRUNE, prog, argv)
    api = _api(cli)
    filters = _filters(opts.filter)
    version = cli.api.api_version
    if _version_at_least(version, "1.42"):
        warning = UNUSED_WARNING
        if opts.all:
            if "all" in filters:
                raise StatusError(1, "conflicting options: cannot specify both --all and --filter all=1")
            filters["all"] = ["true"]
            warning = ALL_WARNING
    else:
        if opts.all:
            raise StatusError(1, f'"--all" requires API version 1.42, but the Docker daemon API version is {version}')
        warning = ALL_WARNING  # before API 1.42 the daemon prunes named volumes too
    space = 0
    if opts.force or confirm(cli, warning):
        report = api.prune(filters)
        deleted = report.get("VolumesDeleted") or []
        if deleted:
            cli.write("Deleted Volumes:\n" + "".join(f"{name}\n" for name in deleted) + "\n")
            space = int(report.get("SpaceReclaimed") or 0)
    cli.write(f"Total reclaimed space: {human_size(space)}\n")
    return 0
