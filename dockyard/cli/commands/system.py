"""version, info, events, system df, system prune."""

from __future__ import annotations

import platform
import sys
import time

from dockyard.api.client import errors
from dockyard.cli.common import PROG, StatusError, daemon_error, filter_value, filters_json, parse_command
from dockyard.cli.flags import BOOL, LIST, STR, Flag, Spec
from dockyard.cli.formatting import bytes_size, human_size, tabwrite

VERSION = Spec("version [OPTIONS]", "Show the Docker version information", [
    Flag("format", "f", STR, help="Format output using a custom template"),
], max_args=0)
INFO = Spec("info [OPTIONS]", "Display system-wide information", [
    Flag("format", "f", STR, help="Format output using a custom template"),
], max_args=0, aliases=f"{PROG} system info, {PROG} info")
EVENTS = Spec("events [OPTIONS]", "Get real time events from the server", [
    Flag("filter", "f", LIST, help="Filter output based on conditions provided", conv=filter_value),
    Flag("format", None, STR, help="Format output using a custom template"),
    Flag("since", None, STR, help="Show all events created since timestamp"),
    Flag("until", None, STR, help="Stream events until this timestamp"),
], max_args=0, aliases=f"{PROG} system events, {PROG} events")
DF = Spec("df [OPTIONS]", "Show docker disk usage", [
    Flag("format", None, STR, help="Format output using a custom template"),
    Flag("verbose", "v", BOOL, help="Show detailed information on space usage"),
], max_args=0)
PRUNE = Spec("prune [OPTIONS]", "Remove unused data", [
    Flag("all", "a", BOOL, help="Remove all unused images not just dangling ones"),
    Flag("filter", None, LIST, help='Provide filter values (e.g. "label=<key>=<value>")', conv=filter_value),
    Flag("force", "f", BOOL, help="Do not prompt for confirmation"),
    Flag("volumes", None, BOOL, help="Prune anonymous volumes"),
], max_args=0)



def _render(fmt: str, data) -> str:
    from dockyard.cli.tables import render

    return render(fmt.replace("\\t", "\t").replace("\\n", "\n"), data) + "\n"


# -- version ----------------------------------------------------------------------------

def cmd_version(cli, prog, argv):
    opts, _ = parse_command(VERSION, prog, argv)
    from dockyard.api.client.client import DEFAULT_API_VERSION
    from dockyard.cli.main import VERSION as CLI_VERSION

    api = cli.api
    server = None
    server_err = None
    try:
        negotiated = api.api_version
        server = api.get("/version")
    except errors.DockerException as e:
        negotiated = DEFAULT_API_VERSION
        server_err = e
    machine = platform.machine().lower()
    arch = {"x86_64": "amd64", "aarch64": "arm64"}.get(machine, machine)
    client = {"Version": CLI_VERSION, "ApiVersion": negotiated, "DefaultAPIVersion": DEFAULT_API_VERSION,
              "GitCommit": "-", "GoVersion": f"python{platform.python_version()}", "Os": sys.platform,
              "Arch": arch, "BuildTime": "-", "Context": "default"}
    if opts.format:
        cli.write(_render(opts.format, {"Client": client, "Server": server}))
        if server_err:
            raise StatusError(1, daemon_error(server_err))
        return 0
    api_line = negotiated
    out = ["Client:", f" Version:           {client['Version']}", f" API version:       {api_line}",
           f" Go version:        {client['GoVersion']}", f" Git commit:        {client['GitCommit']}",
           f" Built:             {client['BuildTime']}", f" OS/Arch:           {client['Os']}/{client['Arch']}",
           f" Context:           {client['Context']}"]
    if server is not None:
        out += ["", "Server:"]
        comps = server.get("Components") or [{"Name": "Engine", "Version": server.get("Version", ""),
                                              "Details": server}]
        for comp in comps:
            out.append(f" {comp.get('Name', '')}:")
            d = comp.get("Details") or {}
            if comp.get("Name") == "Engine":
                out += [f"  Version:          {comp.get('Version', '')}",
                        f"  API version:      {d.get('ApiVersion', server.get('ApiVersion', ''))} "
                        f"(minimum version {d.get('MinAPIVersion', server.get('MinAPIVersion', ''))})",
                        f"  Go version:       {d.get('GoVersion', server.get('GoVersion', ''))}",
                        f"  Git commit:       {d.get('GitCommit', server.get('GitCommit', ''))}",
                        f"  Built:            {_ansic(server.get('BuildTime') or d.get('BuildTime', ''))}",
                        f"  OS/Arch:          {d.get('Os', server.get('Os', ''))}/{d.get('Arch', server.get('Arch', ''))}",
                        f"  Experimental:     {str(d.get('Experimental', 'false')).lower()}"]
            else:
                out.append(f"  Version:          {comp.get('Version', '')}")
                for k in sorted(d):
                    out.append(f"  {(k + ':').ljust(18)}{d[k]}")
    cli.write("\n".join(out) + "\n")
    if server_err:
        raise StatusError(1, daemon_error(server_err))
    return 0


def _ansic(value: str) -> str:
    """docker's reformatDate: an RFC 3339 build time shown as Go's time.ANSIC, in local time."""
    import re
    import calendar

    m = re.match(r"^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(?:\.\d+)?(Z|[+-]\d{2}:\d{2})$", value or "")
    if not m:
        return value
    y, mo, d, hh, mi, ss, zone = m.groups()
    secs = calendar.timegm((int(y), int(mo), int(d), int(hh), int(mi), int(ss), 0, 0, 0))
    if zone != "Z":
        sign = 1 if zone[0] == "+" else -1
        secs -= sign * (int(zone[1:3]) * 3600 + int(zone[4:6]) * 60)
    lt = time.localtime(secs)
    return time.strftime("%a %b ", lt) + f"{lt.tm_mday:2d}" + time.strftime(" %H:%M:%S %Y", lt)


# -- info -----------------------------------------------------------------------------------

def cmd_info(cli, prog, argv):
    opts, _ = parse_command(INFO, prog, argv)
    try:
        info = cli.api.get("/info")
    except errors.DockerException as e:
        info = None
        err = e
    if opts.format:
        if info is None:
            raise StatusError(1, daemon_error(err))
        cli.write(_render(opts.format, info))
        return 0
    out = ["Client:", " Context:    default", f" Debug Mode: {str(cli.debug).lower()}"]
    if info is None:
        cli.write("\n".join(out) + "\n\nServer:\n")
        raise StatusError(1, daemon_error(err))
    g = info.get
    out += ["", "Server:",
            f" Containers: {g('Containers', 0)}", f"  Running: {g('ContainersRunning', 0)}",
            f"  Paused: {g('ContainersPaused', 0)}", f"  Stopped: {g('ContainersStopped', 0)}",
            f" Images: {g('Images', 0)}", f" Server Version: {g('ServerVersion', '')}",
            f" Storage Driver: {g('Driver', '')}"]
    for pair in g("DriverStatus") or []:
        if len(pair) == 2:
            out.append(f"  {pair[0]}: {pair[1]}")
    out += [f" Logging Driver: {g('LoggingDriver', '')}", f" Cgroup Driver: {g('CgroupDriver', '')}",
            f" Cgroup Version: {g('CgroupVersion', '')}"]
    plugins = g("Plugins") or {}
    if plugins:
        out.append(" Plugins:")
        for k in ("Volume", "Network", "Authorization", "Log"):
            if plugins.get(k):
                out.append(f"  {k}: {' '.join(plugins[k])}")
    out.append(f" Swarm: {((g('Swarm') or {}).get('LocalNodeState') or 'inactive')}")
    runtimes = g("Runtimes") or {}
    if runtimes:
        out.append(f" Runtimes: {' '.join(sorted(runtimes))}")
    out += [f" Default Runtime: {g('DefaultRuntime', '')}"]
    if g("InitBinary"):
        out.append(f" Init Binary: {g('InitBinary')}")
    for label, key in (("containerd", "ContainerdCommit"), ("runc", "RuncCommit"), ("init", "InitCommit")):
        if isinstance(g(key), dict):
            out.append(f" {label} version: {g(key).get('ID', '')}")
    sec = g("SecurityOptions") or []
    if sec:
        out.append(" Security Options:")
        for s in sec:
            parts = dict(p.split("=", 1) for p in s.split(",") if "=" in p)
            out.append(f"  {parts.get('name', s)}")
            if parts.get("profile"):
                out.append(f"   Profile: {parts['profile']}")
    out += [f" Kernel Version: {g('KernelVersion', '')}", f" Operating System: {g('OperatingSystem', '')}",
            f" OSType: {g('OSType', '')}", f" Architecture: {g('Architecture', '')}",
            f" CPUs: {g('NCPU', 0)}", f" Total Memory: {bytes_size(g('MemTotal', 0))}",
            f" Name: {g('Name', '')}", f" ID: {g('ID', '')}",
            f" Docker Root Dir: {g('DockerRootDir', '')}", f" Debug Mode: {str(bool(g('Debug'))).lower()}"]
    if g("IndexServerAddress"):
        out.append(f" Registry: {g('IndexServerAddress')}")
    out.append(" Labels:")
    out += [f"  {lbl}" for lbl in g("Labels") or []]
    out.append(f" Experimental: {str(bool(g('ExperimentalBuild'))).lower()}")
    reg = g("RegistryConfig") or {}
    insecure = [c for c in reg.get("InsecureRegistryCIDRs") or []]
    insecure += [name for name, ic in (reg.get("IndexConfigs") or {}).items() if not ic.get("Secure", True)]
    if insecure:
        out.append(" Insecure Registries:")
        out += [f"  {r}" for r in insecure]
    if reg.get("Mirrors"):
        out.append(" Registry Mirrors:")
        out += [f"  {m}" for m in reg["Mirrors"]]
    out.append(f" Live Restore Enabled: {str(bool(g('LiveRestoreEnabled'))).lower()}")
    cli.write("\n".join(out) + "\n\n")
    for w in g("Warnings") or []:
        cli.error(w)
    return 0


# -- events ------------------------------------------------------------------------------------

def _rfc3339_nano_fixed(nanos: int) -> str:
    secs, frac = divmod(nanos, 10 ** 9)
    lt = time.localtime(secs)
    off = lt.tm_gmtoff or 0
    zone = "Z" if off == 0 else f"{'+' if off > 0 else '-'}{abs(off) // 3600:02d}:{abs(off) % 3600 // 60:02d}"
    return time.strftime("%Y-%m-%dT%H:%M:%S", lt) + f".{frac:09d}{zone}"


def format_event(ev: dict) -> str:
    """docker's prettyPrintEvent: 'TIME TYPE ACTION ID (k=v, ...)'."""
    parts = []
    if ev.get("timeNano"):
        parts.append(_rfc3339_nano_fixed(int(ev["timeNano"])) + " ")
    elif ev.get("time"):
        parts.append(_rfc3339_nano_fixed(int(ev["time"]) * 10 ** 9) + " ")
    actor = ev.get("Actor") or {}
    parts.append(f"{ev.get('Type', '')} {ev.get('Action', '')} {actor.get('ID', '')}")
    attrs = actor.get("Attributes") or {}
    if attrs:
        parts.append(" (" + ", ".join(f"{k}={attrs[k]}" for k in sorted(attrs)) + ")")
    return "".join(parts) + "\n"


def cmd_events(cli, prog, argv):
    opts, _ = parse_command(EVENTS, prog, argv)
    from dockyard.cli.timestamps import get_timestamp

    params = {"filters": filters_json(opts.filter)}
    try:
        if opts.since:
            params["since"] = get_timestamp(opts.since)
        if opts.until:
            params["until"] = get_timestamp(opts.until)
    except ValueError as e:
        raise StatusError(1, str(e)) from None  # docker: 'failed to parse value as time or duration: "x"'
    template = None
    if opts.format:
        from dockyard.cli.tables import prepare

        template, _ = prepare(opts.format)
    for ev in cli.api.stream_json("GET", "/events", params=params):
        if not isinstance(ev, dict):
            continue
        if template is not None:
            from dockyard.cli.tables import render

            cli.write(render(template, ev) + "\n")
        else:
            cli.write(format_event(ev))
        cli.out.flush()
    return 0


# -- df -----------------------------------------------------------------------------------------

_ACTIVE = ("running", "paused", "restarting")


def _pct(part: int, total: int) -> str:
    return f"{human_size(part)} ({part * 100 // total}%)" if total > 0 else human_size(part)


def cmd_df(cli, prog, argv):
    opts, _ = parse_command(DF, prog, argv)
    du = cli.api.get("/system/df") or {}
    images = du.get("Images") or []
    containers = du.get("Containers") or []
    volumes = du.get("Volumes") or []
    cache = du.get("BuildCache") or []
    layers = int(du.get("LayersSize") or 0)
    used = sum(i.get("Size", 0) - i.get("SharedSize", 0) for i in images
               if i.get("Containers") and i.get("Size", -1) != -1 and i.get("SharedSize", -1) != -1)
    c_total = sum(c.get("SizeRw") or 0 for c in containers)
    c_recl = sum(c.get("SizeRw") or 0 for c in containers if c.get("State") not in _ACTIVE)
    v_sizes = [((v.get("UsageData") or {}).get("Size", -1), (v.get("UsageData") or {}).get("RefCount", 0))
               for v in volumes]
    v_total = sum(s for s, _ in v_sizes if s != -1)
    v_recl = sum(s for s, rc in v_sizes if s != -1 and rc == 0)
    bc_total = sum(b.get("Size", 0) for b in cache if not b.get("Shared"))
    bc_inuse = sum(b.get("Size", 0) for b in cache if b.get("InUse") and not b.get("Shared"))
    rows = [
        {"Type": "Images", "TotalCount": str(len(images)),
         "Active": str(sum(1 for i in images if i.get("Containers", 0) > 0)),
         "Size": human_size(layers), "Reclaimable": _pct(layers - used, layers)},
        {"Type": "Containers", "TotalCount": str(len(containers)),
         "Active": str(sum(1 for c in containers if c.get("State") in _ACTIVE)),
         "Size": human_size(c_total), "Reclaimable": _pct(c_recl, c_total)},
        {"Type": "Local Volumes", "TotalCount": str(len(volumes)),
         "Active": str(sum(1 for _, rc in v_sizes if rc > 0)),
         "Size": human_size(v_total), "Reclaimable": _pct(v_recl, v_total)},
        {"Type": "Build Cache", "TotalCount": str(len(cache)),
         "Active": str(sum(1 for b in cache if b.get("InUse"))),
         "Size": human_size(bc_total), "Reclaimable": human_size(bc_total - bc_inuse)},
    ]
    if opts.format and not opts.verbose:
        from dockyard.cli.tables import render_rows

        cli.write(render_rows(opts.format, rows, {"Type": "TYPE", "TotalCount": "TOTAL", "Active": "ACTIVE",
                                                  "Size": "SIZE", "Reclaimable": "RECLAIMABLE"}))
        return 0
    if not opts.verbose:
        lines = ["TYPE\tTOTAL\tACTIVE\tSIZE\tRECLAIMABLE"]
        lines += ["\t".join((r["Type"], r["TotalCount"], r["Active"], r["Size"], r["Reclaimable"])) for r in rows]
        cli.write(tabwrite("\n".join(lines) + "\n"))
        return 0
    cli.write(_df_verbose(images, containers, volumes, cache, bc_total))
    return 0


def _df_verbose(images, containers, volumes, cache, bc_total) -> str:
    from dockyard.cli.commands.image import _image_rows
    from dockyard.cli.commands.ps import make_row

    now = time.time()
    out = ["Images space usage:\n\n"]
    lines = ["REPOSITORY\tTAG\tIMAGE ID\tCREATED\tSIZE\tSHARED SIZE\tUNIQUE SIZE\tCONTAINERS"]
    for img in images:
        for r in _image_rows(img, True, False, now):
            lines.append("\t".join((r["Repository"], r["Tag"], r["ID"], r["CreatedSince"], r["VirtualSize"],
                                    r["SharedSize"], r["UniqueSize"], r["Containers"])))
    out.append(tabwrite("\n".join(lines) + "\n"))
    out.append("\nContainers space usage:\n\n")
    lines = ["CONTAINER ID\tIMAGE\tCOMMAND\tLOCAL VOLUMES\tSIZE\tCREATED\tSTATUS\tNAMES"]
    for c in containers:
        r = make_row(c, True, now)
        lines.append("\t".join((r["ID"], r["Image"], r["Command"], r["LocalVolumes"],
                                human_size(c.get("SizeRw") or 0, 3), r["RunningFor"], r["Status"], r["Names"])))
    out.append(tabwrite("\n".join(lines) + "\n"))
    out.append("\nLocal Volumes space usage:\n\n")
    lines = ["VOLUME NAME\tLINKS\tSIZE"]
    for v in volumes:
        u = v.get("UsageData") or {}
        size = u.get("Size", -1)
        lines.append("\t".join((v.get("Name", ""), str(u.get("RefCount", 0)),
                                "N/A" if size == -1 else human_size(size, 3))))
    out.append(tabwrite("\n".join(lines) + "\n"))
    out.append(f"\nBuild cache usage: {human_size(bc_total)}\n\n")
    lines = ["CACHE ID\tCACHE TYPE\tSIZE\tCREATED\tLAST USED\tUSAGE\tSHARED"]
    for b in cache:
        lines.append("\t".join((b.get("ID", "")[:12], b.get("Type", ""), human_size(b.get("Size", 0), 3),
                                b.get("CreatedAt", ""), b.get("LastUsedAt", "") or "", str(b.get("UsageCount", 0)),
                                str(bool(b.get("Shared"))).lower())))
    out.append(tabwrite("\n".join(lines) + "\n"))
    return "".join(out)


# -- system prune --------------------------------------------------------------------------------

def cmd_prune(cli, prog, argv):
    opts, _ = parse_command(PRUNE, prog, argv)
    from dockyard.cli.commands.container import confirm, prune_containers
    from dockyard.cli.commands.image import prune_images

    if not opts.force:
        items = ["all stopped containers", "all networks not used by at least one container"]
        if opts.volumes:
            items.append("all volumes not used by at least one container")
        items.append("all images without at least one container associated to them" if opts.all
                     else "all dangling images")
        items.append("all build cache" if opts.all else "all dangling build cache")
        warning = "WARNING! This will remove:\n" + "".join(f"  - {i}\n" for i in items)
        if opts.filter:
            warning += "\n  Items to be pruned will be filtered with:\n" + "".join(
                f"  - {f}\n" for f in sorted(opts.filter))
        if not confirm(cli, warning):
            return 0
    total = 0
    outputs = []
    space, output = prune_containers(cli, opts.filter)
    total += space
    outputs.append(output)
    outputs.append(_prune_optional(cli, "/networks/prune", opts.filter, "NetworksDeleted", "Deleted Networks:\n")[1])
    if opts.volumes:
        space, output = _prune_optional(cli, "/volumes/prune", opts.filter, "VolumesDeleted", "Deleted Volumes:\n")
        total += space
        outputs.append(output)
    space, output = prune_images(cli, opts.all, opts.filter)
    total += space
    outputs.append(output)
    for o in outputs:
        if o:
            cli.write(o + "\n")
    cli.write(f"Total reclaimed space: {human_size(total)}\n")
    return 0


def _prune_optional(cli, path: str, filters: list[str], key: str, title: str) -> tuple[int, str]:
    """Prune a resource the daemon may not implement yet (404/405/501 are ignored)."""
    try:
        report = cli.api.post(path, params={"filters": filters_json(filters)}) or {}
    except errors.APIError as e:
        if e.status_code in (404, 405, 501):
            return 0, ""
        raise
    deleted = report.get(key) or []
    if not deleted:
        return 0, ""
    return int(report.get("SpaceReclaimed") or 0), title + "".join(f"{d}\n" for d in deleted)
