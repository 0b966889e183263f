"""port: a container's published ports, as the docker CLI lists them."""

from __future__ import annotations

from dockyard.cli.common import StatusError, inspect_container, parse_command
from dockyard.cli.flags import Spec

PORT = Spec("port CONTAINER [PRIVATE_PORT[/PROTO]]", "List port mappings or a specific mapping for the container",
            [])


def port_lines(ports: dict | None) -> list[str]:
    """Every mapping as 'PORT/PROTO -> HOSTIP:HOSTPORT' (docker 20.10's text), in docker's (natural) order.

    The docker 20.10 CLI walks a Go map, so its order changes from run to run; later CLIs sort
    the lines naturally (digit runs compare as numbers), which is what this does.
    """
    import functools

    from dockyard.cli.commands.volume import natural_less

    lines = [f"{port} -> {b.get('HostIp', '')}:{b.get('HostPort', '')}"
             for port, bindings in (ports or {}).items() for b in bindings or []]
    return sorted(lines, key=functools.cmp_to_key(
        lambda a, b: -1 if natural_less(a, b) else (1 if natural_less(b, a) else 0)))


def cmd_port(cli, prog, argv):
    _, args = parse_command(PORT, prog, argv)
    if not 1 <= len(args) <= 2:  # docker's RequiresRangeArgs(1, 2)
        raise StatusError(1, f'"{prog}" requires at least 1 and at most 2 arguments.\n'
                             f"See '{prog} --help'.\n\n{PORT.usage_line(prog)}\n\n{PORT.short}")
    container = args[0]
    info = inspect_container(cli, container)
    ports = (info.get("NetworkSettings") or {}).get("Ports") or {}
    if len(args) == 1:
        cli.write("".join(line + "\n" for line in port_lines(ports)))
        return 0
    port, proto = args[1], "tcp"
    parts = port.split("/", 1)
    if len(parts) == 2 and parts[1]:
        port, proto = parts
    nat_port = f"{port}/{proto}"
    from dockyard.cli.runopts import parse_port_range

    try:  # nat.NewPort: the port (or range) in its canonical form
        lo, hi = parse_port_range(port) if port else (0, 0)
    except ValueError as e:
        raise StatusError(1, str(e)) from None
    key = f"{lo}/{proto}" if lo == hi else f"{lo}-{hi}/{proto}"
    frontends = ports.get(key)
    if frontends is None:
        raise StatusError(1, f"Error: No public port '{nat_port}' published for {container}")
    cli.write("".join(f"{b.get('HostIp', '')}:{b.get('HostPort', '')}\n" for b in frontends))
    return 0
