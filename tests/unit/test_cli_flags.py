"""The docker-compatible flag parser (pflag/cobra behaviour) and the CLI's usage errors."""

from __future__ import annotations

import subprocess
import sys

import pytest

from dockyard.cli.flags import BOOL, INT, LIST, STR, Flag, FlagError, HelpRequested, Spec

SPEC = Spec("run [OPTIONS] IMAGE [COMMAND] [ARG...]", "Run", [
    Flag("detach", "d", BOOL), Flag("interactive", "i", BOOL), Flag("tty", "t", BOOL),
    Flag("env", "e", LIST), Flag("name", None, STR), Flag("count", "n", INT),
    Flag("rm", None, BOOL), Flag("sig-proxy", None, BOOL, default=True),
], min_args=1, interspersed=False)


def parse(*argv):
    return SPEC.parse("dockyard run", list(argv))


def test_combined_short_bools_and_values():
    opts, args = parse("-dit", "-eA=1", "-e", "B=2", "-e=C=3", "--name=web", "busybox", "sh", "-c", "echo -e x")
    assert (opts.detach, opts.interactive, opts.tty) == (True, True, True)
    assert opts.env == ["A=1", "B=2", "C=3"]
    assert opts.name == "web"
    assert args == ["busybox", "sh", "-c", "echo -e x"]
    assert {"detach", "interactive", "tty", "env", "name"} <= opts.changed


def test_stops_at_first_argument_when_not_interspersed():
    opts, args = parse("busybox", "--rm", "-d")
    assert not opts.rm and not opts.detach
    assert args == ["busybox", "--rm", "-d"]


def test_interspersed_commands_take_flags_after_arguments():
    spec = Spec("rm [OPTIONS] CONTAINER [CONTAINER...]", "Remove", [Flag("force", "f", BOOL)], min_args=1)
    opts, args = spec.parse("dockyard rm", ["a", "-f", "b", "--", "-c"])
    assert opts.force and args == ["a", "b", "-c"]


def test_bool_values_and_defaults():
    opts, _ = parse("--rm=false", "--sig-proxy=false", "-d=true", "x")
    assert opts.rm is False and opts.sig_proxy is False and opts.detach is True
    opts, _ = parse("x")
    assert opts.sig_proxy is True and opts.env == [] and opts.count == 0 and "sig_proxy" not in opts.changed


def test_value_may_start_with_a_dash():
    opts, args = parse("--name", "-x", "-e", "-y", "img")
    assert opts.name == "-x" and opts.env == ["-y"] and args == ["img"]


@pytest.mark.parametrize("argv,message", [
    (["--foo", "x"], "unknown flag: --foo"),
    (["-X", "x"], "unknown shorthand flag: 'X' in -X"),
    (["-dX", "x"], "unknown shorthand flag: 'X' in -X"),
    (["-e"], "flag needs an argument: 'e' in -e"),
    (["--name"], "flag needs an argument: --name"),
    (["-n", "abc", "x"], 'invalid argument "abc" for "-n, --count" flag: strconv.ParseInt: parsing "abc": invalid syntax'),
    (["--rm=maybe", "x"], 'invalid argument "maybe" for "--rm" flag: strconv.ParseBool: parsing "maybe": invalid syntax'),
])
def test_flag_errors_are_worded_like_pflag(argv, message):
    with pytest.raises(FlagError) as e:
        parse(*argv)
    assert str(e.value) == message
    assert e.value.status == 125


def test_argument_count_errors():
    with pytest.raises(FlagError) as e:
        parse()
    assert str(e.value) == '"dockyard run" requires at least 1 argument.' and e.value.status == 1
    two = Spec("rename CONTAINER NEW_NAME", "Rename", [], min_args=2, max_args=2)
    with pytest.raises(FlagError, match='"dockyard rename" requires exactly 2 arguments.'):
        two.parse("dockyard rename", ["a"])
    none = Spec("ps [OPTIONS]", "List", [], max_args=0)
    with pytest.raises(FlagError, match='"dockyard ps" accepts no arguments.'):
        none.parse("dockyard ps", ["a"])


def test_help():
    with pytest.raises(HelpRequested):
        parse("--help")
    text = SPEC.help_text("dockyard run")
    assert "Usage:  dockyard run [OPTIONS] IMAGE [COMMAND] [ARG...]" in text
    assert "  -e, --env list" in text and "      --rm " in text


def run_cli(*args):
    return subprocess.run([sys.executable, "-m", "dockyard.cli", *args], capture_output=True, text=True,
                          env={"DOCKYARD_HOST": "unix:///nonexistent/dockyard.sock", "PATH": "/usr/bin:/bin"})


def test_cli_usage_errors_without_a_daemon():
    """Worded as the docker 20.10 CLI (Debian's docker.io) words them."""
    r = run_cli("run", "--foo", "busybox")
    assert (r.returncode, r.stderr) == (125, "unknown flag: --foo\nSee 'dockyard run --help'.\n")
    r = run_cli("rm")
    assert r.returncode == 1
    assert r.stderr == ('"dockyard rm" requires at least 1 argument.\nSee \'dockyard rm --help\'.\n\n'
                        "Usage:  dockyard rm [OPTIONS] CONTAINER [CONTAINER...]\n\n"
                        "Remove one or more containers\n")
    r = run_cli("container", "remove")
    assert r.returncode == 1 and '"dockyard container remove" requires at least 1 argument.' in r.stderr
    r = run_cli("frobnicate")
    assert (r.returncode, r.stderr) == (1, "dockyard: 'frobnicate' is not a dockyard command.\n"
                                           "See 'dockyard --help'\n")


def test_cli_reports_an_unreachable_daemon():
    r = run_cli("ps")
    assert r.returncode == 1
    assert "Cannot connect to the dockyard daemon at unix:///nonexistent/dockyard.sock" in r.stderr
    r = run_cli("run", "--rm", "busybox", "true")
    assert r.returncode == 125
    assert r.stderr.startswith("dockyard: Cannot connect to the dockyard daemon")


def test_cli_help_and_version():
    r = run_cli("--help")
    assert r.returncode == 0 and "Management Commands:" in r.stdout and "  run " in r.stdout
    r = run_cli("-v")
    assert r.returncode == 0 and r.stdout.startswith("Dockyard version ")
    r = run_cli("container")
    assert r.returncode == 0 and "Usage:  dockyard container COMMAND" in r.stdout
    r = run_cli("ps", "--help")
    assert r.returncode == 0 and "  -a, --all " in r.stdout


def test_cli_module_import_stays_cheap():
    """`import dockyard.cli.main` must not pull in the API client, json, or any command module."""
    code = ("import sys, dockyard.cli.main; "
            "bad = [m for m in sys.modules if m.startswith(('dockyard.api', 'dockyard.cli.commands', 'json', "
            "'http', 'argparse', 'asyncio', 'aiohttp', 'ssl', 'email'))]; print(bad)")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert r.stdout.strip() == "[]", r.stdout + r.stderr
