"""network create, ls, inspect, rm, prune, connect, disconnect: docker 20.10's flags, requests and output.

The request bodies are the ones the docker 20.10 CLI sends (``resources.Networks`` encodes them as
Go does); output, messages and exit statuses are its own. Help texts are laid out as docker prints
them for an 80-column terminal (pflag wraps long descriptions).
"""

from __future__ import annotations

from dockyard.api.client import errors
from dockyard.cli.common import StatusError, daemon_error, filter_value, no_such, parse_command, parse_filters
from dockyard.cli.flags import BOOL, LIST, STR, Flag, Spec
from dockyard.cli.formatting import tabwrite, truncate_id

_WRAP = "\n" + " " * 29  # pflag's continuation indent in `network create --help`


def _validate_label(v: str) -> str:
    from dockyard.cli.commands.volume import validate_label

    return validate_label(v)


CREATE = Spec("create [OPTIONS] NETWORK", "Create a network", [
    Flag("attachable", None, BOOL, help="Enable manual container attachment"),
    Flag("aux-address", None, LIST, metavar="map",
         help=f"Auxiliary IPv4 or IPv6 addresses used by{_WRAP}Network driver (default map[])"),
    Flag("config-from", None, STR, help="The network from which to copy the configuration"),
    Flag("config-only", None, BOOL, help="Create a configuration only network"),
    # the defaults are in the help text, as docker prints them ("bridge", not 'bridge')
    Flag("driver", "d", STR, help='Driver to manage the Network (default "bridge")'),
    Flag("gateway", None, LIST, metavar="strings", help="IPv4 or IPv6 Gateway for the master subnet"),
    Flag("ingress", None, BOOL, help="Create swarm routing-mesh network"),
    Flag("internal", None, BOOL, help="Restrict external access to the network"),
    Flag("ip-range", None, LIST, metavar="strings", help="Allocate container ip from a sub-range"),
    Flag("ipam-driver", None, STR, help='IP Address Management Driver (default "default")'),
    Flag("ipam-opt", None, LIST, metavar="map", help="Set IPAM driver specific options (default map[])"),
    Flag("ipv6", None, BOOL, help="Enable IPv6 networking"),
    Flag("label", None, LIST, help="Set metadata on a network", conv=_validate_label),
    Flag("opt", "o", LIST, metavar="map", help="Set driver specific options (default map[])"),
    Flag("scope", None, STR, help="Control the network's scope"),
    Flag("subnet", None, LIST, metavar="strings",
         help=f"Subnet in CIDR format that represents a{_WRAP}network segment"),
], min_args=1, max_args=1)
LS = Spec("ls [OPTIONS]", "List networks", [
    Flag("filter", "f", LIST, metavar="filter", help="Provide filter values (e.g. 'driver=bridge')",
         conv=filter_value),
    Flag("format", None, STR, help="Pretty-print networks using a Go template"),
    Flag("no-trunc", None, BOOL, help="Do not truncate the output"),
    Flag("quiet", "q", BOOL, help="Only display network IDs"),
], max_args=0, aliases="ls, list")
INSPECT = Spec("inspect [OPTIONS] NETWORK [NETWORK...]", "Display detailed information on one or more networks", [
    Flag("format", "f", STR, help="Format the output using the given Go template"),
    Flag("verbose", "v", BOOL, help="Verbose output for diagnostics"),
], min_args=1)
RM = Spec("rm NETWORK [NETWORK...]", "Remove one or more networks", [], min_args=1, aliases="rm, remove")
PRUNE = Spec("prune [OPTIONS]", "Remove all unused networks", [
    Flag("filter", None, LIST, metavar="filter", help="Provide filter values (e.g. 'until=<timestamp>')",
         conv=filter_value),
    Flag("force", "f", BOOL, help="Do not prompt for confirmation"),
], max_args=0)
CONNECT = Spec("connect [OPTIONS] NETWORK CONTAINER", "Connect a container to a network", [
    Flag("alias", None, LIST, metavar="strings", help="Add network-scoped alias for the container"),
    Flag("driver-opt", None, LIST, metavar="strings", help="driver options for the network"),
    Flag("ip", None, STR, help="IPv4 address (e.g., 172.30.100.104)"),
    Flag("ip6", None, STR, help="IPv6 address (e.g., 2001:db8::33)"),
    Flag("link", None, LIST, help="Add link to another container", conv=lambda v: _valid_link(v)),
    Flag("link-local-ip", None, LIST, metavar="strings", help="Add a link-local address for the container"),
], min_args=2, max_args=2)
DISCONNECT = Spec("disconnect [OPTIONS] NETWORK CONTAINER", "Disconnect a container from a network", [
    Flag("force", "f", BOOL, help="Force the container to disconnect from a network"),
], min_args=2, max_args=2)

HEADERS = {"ID": "NETWORK ID", "Name": "NAME", "Driver": "DRIVER", "Scope": "SCOPE", "IPv6": "IPV6",
           "Internal": "INTERNAL", "Labels": "LABELS", "CreatedAt": "CREATED AT"}
_RAW = "network_id: {{.ID}}\\nname: {{.Name}}\\ndriver: {{.Driver}}\\nscope: {{.Scope}}\\n"
_RAW_QUIET = "network_id: {{.ID}}"
PRUNE_WARNING = "WARNING! This will remove all custom networks not used by at least one container."


def _valid_link(v: str) -> str:
    from dockyard.cli.runopts import valid_link

    return valid_link(v)



def _api(cli):
    from dockyard.api.client.resources import Networks

    return Networks(cli.api)


def _filters(values: list[str]) -> dict[str, list[str]]:
    """``-f k=v`` flags as the API's filters, keys sorted (Go writes its maps that way)."""
    return {k: sorted(v) for k, v in sorted(parse_filters(values).items())}


def string_slice(values: list[str]) -> list[str]:
    """pflag's StringSlice: every value is a CSV record ('a,b' is two items, '' none)."""
    import csv

    out: list[str] = []
    for v in values:
        if v:
            out.extend(next(csv.reader([v]), []))
    return out


def _kv_map(items: list[str]) -> dict[str, str]:
    """docker's MapOpts / ConvertKVStringsToMap: ``k=v`` (``k`` alone is ``k=""``), the last one wins."""
    out: dict[str, str] = {}
    for item in items:
        k, _, v = item.partition("=")
        out[k] = v
    return out


# -- create ----------------------------------------------------------------------------

def _parse_ip(text: str):
    """Go's net.ParseIP: an IPv4 or IPv6 address (no zone), or None."""
    import ipaddress

    if "%" in text:
        return None
    try:
        return ipaddress.ip_address(text)
    except ValueError:
        return None


def _parse_cidr(text: str):
    """Go's net.ParseCIDR: (the address, its network), or ValueError('invalid CIDR address: ...')."""
    import ipaddress

    addr, sep, bits = text.partition("/")
    ip = _parse_ip(addr) if sep else None
    if ip is None or not bits.isdigit() or not bits.isascii() or len(bits) > 3 or int(bits) > ip.max_prefixlen:
        raise ValueError(f"invalid CIDR address: {text}")
    return ip, ipaddress.ip_network(f"{addr}/{bits}", strict=False)


def _subnet_matches(subnet: str, data: str) -> bool:
    """docker's subnetMatches: is the address (or the address part of a CIDR) ``data`` in ``subnet``?"""
    try:
        _, net = _parse_cidr(subnet)
    except ValueError as e:
        raise StatusError(1, f"invalid subnet: {e}") from None
    if "/" in data:
        try:
            ip, _ = _parse_cidr(data)
        except ValueError as e:
            raise StatusError(1, str(e)) from None
    else:
        ip = _parse_ip(data)
    if ip is None:
        return False
    if ip.version == 6 and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return ip.version == net.version and ip in net


def consolidate_ipam(subnets: list[str], ranges: list[str], gateways: list[str],
                     aux: dict[str, str]) -> list[dict]:
    """docker's consolidateIpam: --subnet/--ip-range/--gateway/--aux-address -> IPAM.Config, checked as
    the docker CLI checks them (each range, gateway and aux address inside exactly one subnet)."""
    if len(subnets) < len(ranges) or len(subnets) < len(gateways):
        raise StatusError(1, "every ip-range or gateway must have a corresponding subnet")
    data: dict[str, dict] = {}
    for s in subnets:
        for k in data:
            if _subnet_matches(s, k) or _subnet_matches(k, s):
                raise StatusError(1, "multiple overlapping subnet configuration is not supported")
        data[s] = {"Subnet": s, "IPRange": "", "Gateway": "", "AuxiliaryAddresses": {}}
    for what, key, values in (("range", "IPRange", ranges), ("gateway", "Gateway", gateways)):
        for r in values:
            match = False
            for s in subnets:
                if not _subnet_matches(s, r):
                    continue
                if data[s][key]:
                    plural = "ranges" if what == "range" else "gateways"
                    where = "on the same subnet" if what == "range" else "for the same subnet"
                    raise StatusError(1, f"cannot configure multiple {plural} ({r}, {data[s][key]}) {where} ({s})")
                data[s][key] = r
                match = True
            if not match:
                raise StatusError(1, f"no matching subnet for {what} {r}")
    for key, addr in aux.items():
        match = False
        for s in subnets:
            if _subnet_matches(s, addr):
                data[s]["AuxiliaryAddresses"][key] = addr
                match = True
        if not match:
            raise StatusError(1, f"no matching subnet for aux-address {addr}")
    return list(data.values())


def cmd_create(cli, prog, argv):
    opts, args = parse_command(CREATE, prog, argv)
    ipam = consolidate_ipam(string_slice(opts.subnet), string_slice(opts.ip_range), string_slice(opts.gateway),
                            _kv_map(opts.aux_address))
    resp = _api(cli).create(
        args[0], driver=opts.driver if "driver" in opts.changed else "bridge", options=_kv_map(opts.opt),
        ipam_driver=opts.ipam_driver if "ipam_driver" in opts.changed else "default",
        ipam_options=_kv_map(opts.ipam_opt), ipam_config=ipam, internal=opts.internal, enable_ipv6=opts.ipv6,
        attachable=opts.attachable, ingress=opts.ingress, scope=opts.scope, config_only=opts.config_only,
        config_from=opts.config_from, labels=_kv_map(opts.label))
    cli.write(f"{resp.get('Id', '')}\n")
    return 0


# -- ls ---------------------------------------------------------------------------------

def go_time_string(value: str) -> str:
    """Go's time.Time.String() of an RFC 3339 timestamp as the API sends it:
    '2026-11-23T02:46:26.9317305Z' -> '2026-11-23 02:46:26.9317305 +0000 UTC'."""
    import re
    import time

    m = re.match(r"^(\d{4}-\d{2}-\d{2})T(\d{2}:\d{2}:\d{2})(\.\d+)?(Z|[+-]\d{2}:\d{2})$", value or "")
    if not m:
        return "0001-01-01 00:00:00 +0000 UTC"
    date, clock, frac, zone = m.groups()
    frac = (frac or "").rstrip("0")
    if frac == ".":
        frac = ""
    if zone == "Z":
        return f"{date} {clock}{frac} +0000 UTC"
    offset = zone.replace(":", "")
    secs = (1 if zone[0] == "+" else -1) * (int(zone[1:3]) * 3600 + int(zone[4:6]) * 60)
    local = time.localtime()
    name = local.tm_zone if local.tm_gmtoff == secs and local.tm_zone else offset
    return f"{date} {clock}{frac} {offset} {name}"


def make_row(n: dict, trunc: bool):
    """docker 20.10's networkContext: the fields a ``--format`` template sees."""
    from dockyard.cli.tables import Row

    labels = n.get("Labels") or {}
    nid = n.get("Id") or ""
    fields = {
        "ID": truncate_id(nid) if trunc else nid, "Name": n.get("Name", ""), "Driver": n.get("Driver", ""),
        "Scope": n.get("Scope", ""), "IPv6": "true" if n.get("EnableIPv6") else "false",
        "Internal": "true" if n.get("Internal") else "false",
        # Go prints the map in its (random) iteration order; sorted here, so the output is stable
        "Labels": ",".join(f"{k}={labels[k]}" for k in sorted(labels)),
        "CreatedAt": go_time_string(n.get("Created") or ""),
    }
    return Row(fields, {"Label": lambda name: labels.get(name, "")})


def label_header(name: str) -> str:
    """docker's SubHeaderContext.Label: the column title of ``{{.Label "com.example.some-key"}}`` is
    'some key' (the last dotted part, '-' and '_' as spaces)."""
    return name.rsplit(".", 1)[-1].replace("-", " ").replace("_", " ")


def _header_row(template: str) -> str:
    from dockyard.cli import gotemplate
    from dockyard.cli.tables import Row, header_row

    try:
        return gotemplate.render(template, Row(HEADERS, {"Label": label_header}), funcs=gotemplate.HEADER_FUNCS)
    except gotemplate.TemplateError:
        return header_row(template, HEADERS)


def render_table(fmt: str, rows: list) -> str:
    """A ``--format`` over the rows, as docker's formatter: ``table`` adds a header; nothing to list,
    nothing executed (a template is still parsed, so a broken one fails)."""
    from dockyard.cli.tables import check, prepare, render

    template, table = prepare(fmt)
    check(template)
    body = "".join(render(template, r, missingkey="error") + "\n" for r in rows)
    if not table:
        return body
    return tabwrite(_header_row(template) + "\n" + body)


def _natural_key(n: dict):
    import functools

    from dockyard.cli.commands.volume import natural_less

    def cmp(a, b):
        return -1 if natural_less(a, b) else (1 if natural_less(b, a) else 0)
    return functools.cmp_to_key(cmp)(n.get("Name", ""))


def cmd_ls(cli, prog, argv):
    opts, _ = parse_command(LS, prog, argv)
    nets = list(_api(cli).list(_filters(opts.filter)))
    nets.sort(key=_natural_key)
    trunc = not opts.no_trunc
    fmt = opts.format or "table"
    if fmt == "table":
        if opts.quiet:
            cli.write("".join(((truncate_id(n.get("Id", "")) if trunc else n.get("Id", "")) + "\n") for n in nets))
            return 0
        lines = ["NETWORK ID\tNAME\tDRIVER\tSCOPE"]
        for n in nets:
            nid = n.get("Id", "")
            lines.append(f"{truncate_id(nid) if trunc else nid}\t{n.get('Name', '')}\t{n.get('Driver', '')}\t"
                         f"{n.get('Scope', '')}")
        cli.write(tabwrite("\n".join(lines) + "\n"))
        return 0
    if fmt == "raw":
        fmt = _RAW_QUIET if opts.quiet else _RAW
    cli.write(render_table(fmt, [make_row(n, trunc) for n in nets]))
    return 0


# -- inspect ----------------------------------------------------------------------------

def cmd_inspect(cli, prog, argv):
    opts, args = parse_command(INSPECT, prog, argv)
    from dockyard.cli.commands.inspect import inspect_refs

    api = _api(cli)

    def get(name: str) -> bytes:
        try:
            return api.inspect_raw(name, verbose=opts.verbose)
        except errors.NotFound:
            raise errors.DockerException(no_such("network", name)) from None

    return inspect_refs(cli, args, opts.format, get)


# -- rm -----------------------------------------------------------------------------------

INGRESS_WARNING = ("WARNING! Before removing the routing-mesh network, make sure all the nodes in your swarm run "
                   "the same docker engine version. Otherwise, removal may not be effective and functionality of "
                   "newly create ingress networks will be impaired.")


def cmd_rm(cli, prog, argv):
    from dockyard.cli.commands.container import confirm

    _, args = parse_command(RM, prog, argv)
    api = _api(cli)
    status = 0
    for name in args:
        try:  # as docker does: look first, and ask before removing a routing-mesh (ingress) network
            ingress = api.inspect(name).get("Ingress")
        except (errors.DockerException, ValueError):
            ingress = False
        if ingress and not confirm(cli, INGRESS_WARNING):
            continue
        try:
            api.remove(name)
        except errors.NotFound:
            cli.error(no_such("network", name))
            status = 1
            continue
        except errors.DockerException as e:
            cli.error(daemon_error(e))
            status = 1
            continue
        cli.write(f"{name}\n")
    return status


# -- prune --------------------------------------------------------------------------------

def cmd_prune(cli, prog, argv):
    from dockyard.cli.commands.container import confirm

    opts, _ = parse_command(PRUNE, prog, argv)
    if not opts.force and not confirm(cli, PRUNE_WARNING):
        return 0
    deleted = _api(cli).prune(_filters(opts.filter)).get("NetworksDeleted") or []
    if deleted:
        cli.write("Deleted Networks:\n" + "".join(f"{name}\n" for name in deleted) + "\n")
    return 0


# -- connect, disconnect -----------------------------------------------------------------

def _driver_opts(values: list[str]) -> dict[str, str]:
    """docker 20.10's convertDriverOpt: ``k=v`` items, key and value trimmed."""
    out = {}
    for opt in values:
        k, sep, v = opt.partition("=")
        if not sep:
            raise StatusError(1, "invalid key/value pair format in driver options")
        out[k.strip()] = v.strip()
    return out


def cmd_connect(cli, prog, argv):
    opts, args = parse_command(CONNECT, prog, argv)
    driver_opts = _driver_opts(string_slice(opts.driver_opt))
    _api(cli).connect(args[0], args[1], aliases=string_slice(opts.alias), links=list(opts.link),
                      ipv4_address=opts.ip, ipv6_address=opts.ip6, link_local_ips=string_slice(opts.link_local_ip),
                      driver_opts=driver_opts)
    return 0


def cmd_disconnect(cli, prog, argv):
    opts, args = parse_command(DISCONNECT, prog, argv)
    _api(cli).disconnect(args[0], args[1], force=opts.force)
    return 0
