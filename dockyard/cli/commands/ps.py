"""ps / container ls: docker's columns, truncation, filters and --format."""

from __future__ import annotations

import time

from dockyard.cli.common import PROG, filter_value, filters_json, parse_command
from dockyard.cli.flags import BOOL, INT, LIST, STR, Flag, Spec
from dockyard.cli.formatting import (display_ports, ellipsis, go_quote, go_time, human_size, since,
                                     tabwrite, truncate_id)
from dockyard.cli.tables import Row, render_rows, wants_all_fields

PS = Spec("ps [OPTIONS]", "List containers", [
    Flag("all", "a", BOOL, help="Show all containers (default shows just running)"),
    Flag("filter", "f", LIST, help="Filter output based on conditions provided", conv=filter_value),
    Flag("format", None, STR, help="Format output using a custom template"),
    Flag("last", "n", INT, default=-1, help="Show n last created containers (includes all states)"),
    Flag("latest", "l", BOOL, help="Show the latest created container (includes all states)"),
    Flag("no-trunc", None, BOOL, help="Don't truncate output"),
    Flag("quiet", "q", BOOL, help="Only display container IDs"),
    Flag("size", "s", BOOL, help="Display total file sizes"),
], max_args=0, aliases=f"{PROG} container ls, {PROG} container list, {PROG} container ps, {PROG} ps")

DEFAULT_TABLE = "table {{.ID}}\t{{.Image}}\t{{.Command}}\t{{.RunningFor}}\t{{.Status}}\t{{.Ports}}\t{{.Names}}"

HEADERS = {
    "ID": "CONTAINER ID", "Image": "IMAGE", "Command": "COMMAND",
    "CreatedAt": "CREATED AT", "RunningFor": "CREATED", "Ports": "PORTS", "State": "STATE",
    "Status": "STATUS", "Size": "SIZE", "Names": "NAMES", "Labels": "LABELS", "Mounts": "MOUNTS",
    "LocalVolumes": "LOCAL VOLUMES", "Networks": "NETWORKS", "Platform": "PLATFORM",
}


def _image(c: dict, trunc: bool) -> str:
    img = c.get("Image") or ""
    if not img:
        return "<no image>"
    if trunc:
        img_id = c.get("ImageID") or ""
        if img_id and truncate_id(img_id) == truncate_id(img):
            return truncate_id(img)
        if "@" in img:
            return img.split("@", 1)[0]
    return img


def _names(c: dict, trunc: bool) -> str:
    names = [n[1:] if n.startswith("/") else n for n in (c.get("Names") or [])]
    if trunc:
        for n in names:
            if "/" not in n:
                names = [n]
                break
    return ",".join(names)


def _size(c: dict) -> str:
    srw = human_size(c.get("SizeRw") or 0, 3)
    sv = human_size(c.get("SizeRootFs") or 0, 3)
    return f"{srw} (virtual {sv})" if c.get("SizeRootFs") else srw


def _mounts(c: dict, trunc: bool) -> str:
    out = []
    for m in c.get("Mounts") or []:
        name = m.get("Name") or m.get("Source") or ""
        if trunc and m.get("Name"):
            name = ellipsis(name, 15)
        out.append(name)
    return ",".join(out)


def make_row(c: dict, trunc: bool, now: float) -> Row:
    """The fields docker's ContainerContext offers to templates; ``.Label "k"`` is a method."""
    labels = c.get("Labels") or {}
    created = c.get("Created") or 0
    cid = c.get("Id") or ""
    cmd = c.get("Command") or ""
    nets = ((c.get("NetworkSettings") or {}).get("Networks") or {})
    return Row(dict(
        ID=truncate_id(cid) if trunc else cid,
        Image=_image(c, trunc),
        Command=go_quote(ellipsis(cmd, 20) if trunc else cmd),
        CreatedAt=go_time(created),
        RunningFor=since(created, now),
        Ports=display_ports(c.get("Ports")),
        State=c.get("State") or "",
        Status=c.get("Status") or "",
        Size=_size(c),
        Names=_names(c, trunc),
        Labels=",".join(f"{k}={v}" for k, v in labels.items()),
        Mounts=_mounts(c, trunc),
        LocalVolumes=str(sum(1 for m in c.get("Mounts") or [] if m.get("Driver") == "local")),
        Networks=",".join(sorted(nets)),
        Platform=None,
    ), {"Label": lambda name: labels.get(name, "")})


def cmd_ps(cli, prog, argv):
    opts, _ = parse_command(PS, prog, argv)
    fmt = opts.format
    size = opts.size or (bool(fmt) and not opts.quiet and "size" not in opts.changed
                         and (".Size" in fmt or wants_all_fields(fmt)))
    params = {"all": opts.all or None, "size": size or None, "filters": filters_json(opts.filter)}
    limit = opts.last
    if opts.latest and limit == -1:
        limit = 1
    if limit > 0:
        params["limit"] = limit
    containers = cli.api.get("/containers/json", params=params) or []
    trunc = not opts.no_trunc
    now = time.time()

    if not fmt or fmt == "table":
        if opts.quiet:
            cli.write("".join((truncate_id(c["Id"]) if trunc else c["Id"]) + "\n" for c in containers))
            return 0
        # The default table, without the template engine (the common case stays fast).
        lines = ["CONTAINER ID\tIMAGE\tCOMMAND\tCREATED\tSTATUS\tPORTS\tNAMES" + ("\tSIZE" if size else "")]
        for c in containers:
            cmd = c.get("Command") or ""
            cid = c.get("Id") or ""
            cells = [truncate_id(cid) if trunc else cid, _image(c, trunc), go_quote(ellipsis(cmd, 20) if trunc else cmd),
                     since(c.get("Created") or 0, now), c.get("Status") or "", display_ports(c.get("Ports")),
                     _names(c, trunc)]  # the cells make_row would give, without the columns not shown
            if size:
                cells.append(_size(c))
            lines.append("\t".join(cells))
        cli.write(tabwrite("\n".join(lines) + "\n"))
        return 0
    if fmt.startswith("table") and size and opts.size:
        fmt += "\t{{.Size}}"
    rows = [make_row(c, trunc, now) for c in containers]
    cli.write(render_rows(fmt, rows, HEADERS, "failed to parse template: ", "failed to execute template: "))
    return 0
