"""What every command shares: the ``Cli`` context (daemon client, output) and errors."""

import sys

PROG = "dockyard"


class StatusError(Exception):
    """End the command with ``status``; ``message`` (if any) goes to stderr first."""

    def __init__(self, status: int, message: str = "") -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def parse_command(spec, prog: str, argv: list[str]):
    """A command's (opts, args) from ``spec`` (a flags.Spec); help or a usage error ends the command with
    the status ``run_parse`` gives (0 after help, 125 for a bad flag, 1 for wrong arguments)."""
    parsed = spec.run_parse(prog, argv)
    if isinstance(parsed, int):
        raise StatusError(parsed)
    return parsed


class Cli:
    """One CLI invocation: global options and a lazily made API client."""

    def __init__(self, host: str | None = None, debug: bool = False, tls: dict | None = None) -> None:
        self.host = host
        self.debug = debug
        self.tls = tls or None
        self._api = None
        self.out = sys.stdout
        self.err = sys.stderr

    @property
    def api(self):
        if self._api is None:
            from dockyard.api.client.client import APIClient

            tls = None
            if self.tls is not None:
                from dockyard.api.client.transport import TLSConfig

                tls = TLSConfig(**self.tls)
            self._api = APIClient(self.host, tls=tls)
        return self._api

    def close(self) -> None:
        if self._api is not None:
            self._api.close()

    def write(self, text: str) -> None:
        self.out.write(text)

    def error(self, text: str) -> None:
        self.err.write(text if text.endswith("\n") else text + "\n")


def daemon_error(e: Exception) -> str:
    """How the docker CLI words an error from the daemon (or from reaching it)."""
    from dockyard.api.client.errors import APIError

    if isinstance(e, APIError):
        return f"Error response from daemon: {e.explanation or e}"
    return str(e)


def no_such(kind: str, ref: str) -> str:
    """The docker client's objectNotFoundError text, used for 404s of inspect and remove calls."""
    return f"Error: No such {kind}: {ref}"


def inspect_container(cli: Cli, ref: str) -> dict:
    """``GET /containers/{ref}/json``; a missing container ends the command as docker does."""
    from dockyard.api.client.errors import NotFound

    try:
        return cli.api.get("/containers/{}/json", ref)
    except NotFound:
        raise StatusError(1, no_such("container", ref)) from None


def for_each(cli: Cli, names: list[str], action, echo: bool = True,
             failed: str | None = None) -> int:
    """Run ``action(name)`` for every name as docker's multi-container verbs do.

    Prints each name that succeeded (when ``echo``), each error to stderr, and
    returns 1 if any failed. ``failed`` is a summary prefix like "failed to
    start containers" which docker prints as "Error: <prefix>: a, b".
    """
    from dockyard.api.client.errors import DockerException

    errs = []
    for name in names:
        try:
            action(name)
        except DockerException as e:
            cli.error(daemon_error(e))
            errs.append(name)
            continue
        if echo:
            cli.write(name + "\n")
    if errs:
        if failed:
            cli.error(f"Error: {failed}: {', '.join(errs)}")
        return 1
    return 0


def filter_value(v: str) -> str:
    """Flag converter for ``--filter``: values must look like name=value."""
    if "=" not in v:
        raise ValueError("bad format of filter (expected name=value)")
    return v


def parse_filters(values: list[str]) -> dict[str, dict[str, bool]]:
    """``-f key=value`` flags to the API's filters mapping."""
    out: dict[str, dict[str, bool]] = {}
    for v in values:
        if "=" not in v:
            raise StatusError(125, f'invalid argument "{v}" for "-f, --filter" flag: bad format of filter (expected name=value)')
        k, _, val = v.partition("=")
        out.setdefault(k.strip().lower(), {})[val.strip()] = True
    return out


def filters_json(values: list[str]) -> str | None:
    from dockyard.api.client import jsonc

    f = parse_filters(values)
    return jsonc.dumps(f) if f else None
