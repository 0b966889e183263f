"""A small command-line flag parser with the docker CLI's (pflag/cobra) behaviour.

Why not argparse: docker's flag grammar differs (``-e=FOO``, ``-eFOO``,
``--rm=false``, stop at the first argument for ``run``/``exec``, errors worded
``unknown flag: --foo`` with exit status 125), and this module costs nothing to
import while argparse costs ~10 ms per CLI call.

    SPEC = Spec("rm [OPTIONS] CONTAINER [CONTAINER...]", "Remove one or more containers",
                [Flag("force", "f", BOOL, help="Force the removal of a running container")],
                min_args=1)
    opts, args = SPEC.parse("dockyard rm", argv)   # opts.force, opts.changed
"""

import sys

BOOL, STR, LIST, INT = "bool", "string", "list", "int"


class FlagError(Exception):
    """A usage error; ``status`` is the exit status docker uses for it."""

    def __init__(self, message: str, status: int = 125, usage: bool = True) -> None:
        super().__init__(message)
        self.status = status
        self.usage = usage


class HelpRequested(Exception):
    pass


class Flag:
    __slots__ = ("name", "short", "kind", "default", "help", "conv", "dest", "hidden", "metavar")

    def __init__(self, name: str, short: str | None = None, kind: str = STR, default=None,
                 help: str = "", conv=None, dest: str | None = None, hidden: bool = False,
                 metavar: str | None = None) -> None:
        self.name = name
        self.short = short
        self.kind = kind
        if default is None:
            default = {BOOL: False, LIST: [], INT: 0}.get(kind, "")
        self.default = default
        self.help = help
        self.conv = conv
        self.dest = dest or name.replace("-", "_")
        self.hidden = hidden
        self.metavar = metavar

    @property
    def label(self) -> str:
        return f"-{self.short}, --{self.name}" if self.short else f"--{self.name}"


class Options:
    """Parsed flag values as attributes; ``changed`` holds the dests given on the command line."""

    def __init__(self) -> None:
        self.changed: set[str] = set()

    def __repr__(self) -> str:
        return f"Options({self.__dict__!r})"


def _parse_bool(v: str) -> bool:
    if v in ("1", "t", "T", "true", "TRUE", "True"):
        return True
    if v in ("0", "f", "F", "false", "FALSE", "False"):
        return False
    raise ValueError(f'strconv.ParseBool: parsing "{v}": invalid syntax')


def parse_int(v: str) -> int:
    try:
        s = v.strip()
        if s != v or not s:
            raise ValueError
        return int(s, 0) if s.lstrip("+-")[:2].lower() in ("0x", "0o", "0b") else int(s, 10)
    except ValueError:
        raise ValueError(f'strconv.ParseInt: parsing "{v}": invalid syntax') from None


class Spec:
    """The flags and argument count of one command."""

    def __init__(self, usage: str, short: str, flags: list[Flag], min_args: int = 0,
                 max_args: int | None = None, interspersed: bool = True, aliases: str = "",
                 example: str = "") -> None:
        self.usage = usage
        self.short = short
        self.flags = flags
        self.min_args = min_args
        self.max_args = max_args
        self.interspersed = interspersed
        self.aliases = aliases
        self.example = example
        self._long = {f.name: f for f in flags}
        self._short = {f.short: f for f in flags if f.short}

    def add_alias(self, alias: str, target: str) -> None:
        """Accept ``--alias`` as another name of ``--target`` (e.g. deprecated spellings)."""
        self._long[alias] = self._long[target]

    # -- help ----------------------------------------------------------------
    def usage_line(self, prog: str) -> str:
        cmd = self.usage.split(" ", 1)
        rest = f" {cmd[1]}" if len(cmd) > 1 else ""
        return f"Usage:  {prog}{rest}"

    def help_text(self, prog: str) -> str:
        out = ["", self.usage_line(prog), "", self.short]
        if self.aliases:
            out += ["", "Aliases:", f"  {self.aliases}"]
        rows = []
        for f in sorted(self.flags, key=lambda f: f.name):
            if f.hidden:
                continue
            left = f"  -{f.short}, --{f.name}" if f.short else f"      --{f.name}"
            if f.kind != BOOL:
                left += " " + (f.metavar or {LIST: "list", INT: "int"}.get(f.kind, "string"))
            text = f.help
            if f.kind not in (BOOL, LIST) and f.default not in ("", 0, None):
                text += f' (default {f.default!r})' if isinstance(f.default, str) else f" (default {f.default})"
            rows.append((left, text))
        if rows:
            w = max(len(r[0]) for r in rows)
            out += ["", "Options:"] + [f"{left.ljust(w)}   {text}" for left, text in rows]
        if self.example:
            out += ["", "Examples:", self.example]
        return "\n".join(out) + "\n"

    # -- parsing -------------------------------------------------------------
    def _set(self, opts: Options, f: Flag, value: str | None, shown: str) -> None:
        try:
            if f.kind == BOOL:
                v = True if value is None else _parse_bool(value)
            elif f.kind == INT:
                v = parse_int(value)
            else:
                v = value
            if f.conv is not None:
                v = f.conv(v)
        except ValueError as e:
            raise FlagError(f'invalid argument "{value}" for "{f.label}" flag: {e}') from None
        if f.kind == LIST:
            getattr(opts, f.dest).append(v)
        else:
            setattr(opts, f.dest, v)
        opts.changed.add(f.dest)

    def parse(self, prog: str, argv: list[str]) -> tuple[Options, list[str]]:
        """Parse ``argv``; raise FlagError (usage problems) or HelpRequested."""
        opts = Options()
        for f in self.flags:
            setattr(opts, f.dest, list(f.default) if f.kind == LIST else f.default)
        args: list[str] = []
        i, n = 0, len(argv)
        while i < n:
            a = argv[i]
            i += 1
            if a == "--":
                args.extend(argv[i:])
                break
            if not a.startswith("-") or a == "-":
                args.append(a)
                if not self.interspersed:
                    args.extend(argv[i:])
                    break
                continue
            if a.startswith("--"):
                name, eq, value = a[2:].partition("=")
                f = self._long.get(name)
                if f is None:
                    if name == "help":
                        raise HelpRequested()
                    raise FlagError(f"unknown flag: --{name}")
                if f.kind == BOOL:
                    self._set(opts, f, value if eq else None, a)
                elif eq:
                    self._set(opts, f, value, a)
                elif i < n:
                    self._set(opts, f, argv[i], a)
                    i += 1
                else:
                    raise FlagError(f"flag needs an argument: --{name}")
                continue
            shorts = a[1:]
            while shorts:
                c = shorts[0]
                f = self._short.get(c)
                if f is None:
                    if c == "h":
                        raise HelpRequested()
                    raise FlagError(f"unknown shorthand flag: '{c}' in -{shorts}")
                if len(shorts) > 2 and shorts[1] == "=":
                    self._set(opts, f, shorts[2:], a)
                    shorts = ""
                elif f.kind == BOOL:
                    self._set(opts, f, None, a)
                    shorts = shorts[1:]
                elif len(shorts) > 1:
                    self._set(opts, f, shorts[1:], a)
                    shorts = ""
                elif i < n:
                    self._set(opts, f, argv[i], a)
                    i += 1
                    shorts = ""
                else:
                    raise FlagError(f"flag needs an argument: '{c}' in -{shorts}")
        self._check_args(prog, args)
        return opts, args

    def _check_args(self, prog: str, args: list[str]) -> None:
        """docker's cli/required.go checks (worded as the docker 20.10 CLI words them)."""
        n = len(args)
        plural = lambda k: "argument" if k == 1 else "arguments"  # noqa: E731
        if self.max_args == 0 and n > 0:
            raise FlagError(f'"{prog}" accepts no arguments.', status=1)
        if self.min_args == self.max_args and n != self.min_args:
            raise FlagError(f'"{prog}" requires exactly {self.min_args} {plural(self.min_args)}.', status=1)
        if n < self.min_args:
            raise FlagError(f'"{prog}" requires at least {self.min_args} {plural(self.min_args)}.', status=1)
        if self.max_args is not None and n > self.max_args:
            raise FlagError(f'"{prog}" requires at most {self.max_args} {plural(self.max_args)}.', status=1)

    def run_parse(self, prog: str, argv: list[str]):
        """Parse, printing docker-style usage errors/help; returns (opts, args) or an exit status.

        Flag errors exit 125 with "<error>\\nSee 'PROG --help'."; a wrong number of
        arguments exits 1 and shows the usage line and the short description,
        as the docker 20.10 CLI does.
        """
        try:
            return self.parse(prog, argv)
        except HelpRequested:
            sys.stdout.write(self.help_text(prog))
            return 0
        except FlagError as e:
            if e.status == 125:
                sys.stderr.write(f"{e}\nSee '{prog} --help'.\n")
            else:
                sys.stderr.write(f"{e}\nSee '{prog} --help'.\n\n{self.usage_line(prog)}\n\n{self.short}\n")
            return e.status
