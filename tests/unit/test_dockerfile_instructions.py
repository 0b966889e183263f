"""dockyard.dockerfile.parser: what the builder reads off the AST (typed views, stages, expansion)."""

from __future__ import annotations

import pytest

from dockyard.dockerfile.parser import (
    EXPANDED_KEYWORDS,
    DockerfileError,
    Healthcheck,
    KeyValue,
    expand_args,
    go_duration,
    parse,
)
from dockyard.dockerfile.shell_lex import ShellLexError


def one(line: str, head: str = "FROM a\n"):
    return parse(head + line + "\n").instructions[-1]


# --------------------------------------------------------------------------- command lines


@pytest.mark.parametrize("line, cmdline, shell", [
    ("RUN echo hi  there", ("echo hi  there",), True),
    ('RUN ["echo", "hi"]', ("echo", "hi"), False),
    ("CMD", (), True),
    ("CMD []", (), False),
    ('ENTRYPOINT ["/bin/app", "--flag"]', ("/bin/app", "--flag"), False),
    ("ENTRYPOINT exec app", ("exec app",), True),
    ('SHELL ["pwsh", "-c"]', ("pwsh", "-c"), False),
    ("HEALTHCHECK CMD curl -f x || exit 1", ("curl -f x || exit 1",), True),
    ('HEALTHCHECK CMD ["curl", "-f"]', ("curl", "-f"), False),
    ("RUN --network=none make all", ("make all",), True),
])
def test_cmdline(line, cmdline, shell):
    ins = one(line)
    assert ins.cmdline == cmdline
    assert ins.prepend_shell is shell


def test_keyword_and_name():
    ins = one("rUn x")
    assert (ins.keyword, ins.name) == ("run", "rUn")


# --------------------------------------------------------------------------- ENV, LABEL, ARG


def test_env_and_label_pairs_are_raw():
    assert one('ENV A=1 B="two words" C=$D').pairs == (
        KeyValue("A", "1", "="), KeyValue("B", '"two words"', "="), KeyValue("C", "$D", "="))
    assert one("ENV PATH /usr/local/bin:$PATH").pairs == (KeyValue("PATH", "/usr/local/bin:$PATH", ""),)
    assert one('LABEL "org.label"="v 1" x=y').pairs == (KeyValue('"org.label"', '"v 1"', "="), KeyValue("x", "y", "="))


def test_arg_pairs():
    assert one('ARG A B=1 C="x y" D=').arg_pairs == (("A", None), ("B", "1"), ("C", '"x y"'), ("D", ""))


# --------------------------------------------------------------------------- FROM and stages


def test_stages_and_meta_args():
    df = parse("ARG BASE=busybox\nARG TAG\n"
               "FROM --platform=$BUILDPLATFORM ${BASE}:${TAG:-latest} AS Build\n"
               "ARG BASE\nRUN make\n\n"
               "FROM scratch\nCOPY --from=build /out /\n"
               "FROM build as test\nRUN make test\n")
    assert [a.args for a in df.meta_args()] == [("BASE=busybox",), ("TAG",)]
    stages = df.stages()
    assert [(s.index, s.name, s.base, s.platform) for s in stages] == [
        (0, "build", "${BASE}:${TAG:-latest}", "$BUILDPLATFORM"),
        (1, "", "scratch", ""),
        (2, "test", "build", ""),
    ]
    assert [i.keyword for i in stages[0].instructions] == ["arg", "run"]
    assert [i.text for i in stages[1].instructions] == ["COPY --from=build /out /"]
    assert stages[2].from_instruction.start_line == 9
    assert one("FROM a AS Stage-1.x_y", head="").stage_name == "stage-1.x_y"


def test_instruction_before_from():
    df = parse("ARG A\nRUN x\nFROM a\n")
    assert df.meta_args()[0].args == ("A",)
    with pytest.raises(DockerfileError) as e:
        df.stages()
    assert str(e.value) == "Dockerfile:2: no build stage in current context"


def test_only_args_is_no_stage():
    assert parse("ARG A=1\n").stages() == []


def test_duplicate_stage_name_is_a_warning():
    df = parse("FROM a AS x\nFROM b AS X\n")
    assert [s.name for s in df.stages()] == ["x", "x"]
    assert df.warnings == ((2, 'Duplicate stage name "x", stage names should be unique'),)


# --------------------------------------------------------------------------- HEALTHCHECK


S = 1_000_000_000


@pytest.mark.parametrize("line, want", [
    ("HEALTHCHECK NONE", Healthcheck(("NONE",))),
    ("HEALTHCHECK none", Healthcheck(("NONE",))),
    ("HEALTHCHECK CMD true", Healthcheck(("CMD-SHELL", "true"))),
    ('HEALTHCHECK CMD ["true"]', Healthcheck(("CMD", "true"))),
    ("HEALTHCHECK --interval=5m --timeout=3s --start-period=1m30s --start-interval=500ms --retries=+4 cmd c",
     Healthcheck(("CMD-SHELL", "c"), 300 * S, 3 * S, 90 * S, S // 2, 4)),
    ("HEALTHCHECK --interval=0s --timeout=0 --retries=0 CMD c", Healthcheck(("CMD-SHELL", "c"))),
    ("HEALTHCHECK --interval=1.5h CMD c", Healthcheck(("CMD-SHELL", "c"), 5400 * S)),
])
def test_healthcheck_values(line, want):
    assert one(line).healthcheck == want


@pytest.mark.parametrize("line, msg", [
    ("HEALTHCHECK", "HEALTHCHECK requires at least one argument"),
    ("HEALTHCHECK NONE x", "HEALTHCHECK NONE takes no arguments"),
    ("HEALTHCHECK CMD", "Missing command after HEALTHCHECK CMD"),
    ("HEALTHCHECK CMD []", "Missing command after HEALTHCHECK CMD"),
    ("HEALTHCHECK CONNECT TCP 7000", 'Unknown type "CONNECT" in HEALTHCHECK (try CMD)'),
    ("HEALTHCHECK --interval=1ns CMD x", 'Interval "interval" cannot be less than 1ms'),
    ("HEALTHCHECK --timeout=-5s CMD x", 'Interval "timeout" cannot be less than 1ms'),
    ("HEALTHCHECK --start-period=5 CMD x", 'time: missing unit in duration "5"'),
    ("HEALTHCHECK --start-interval=5y CMD x", 'time: unknown unit "y" in duration "5y"'),
    ("HEALTHCHECK --interval=soon CMD x", 'time: invalid duration "soon"'),
    ("HEALTHCHECK --interval= CMD x", ""),  # empty: inherit
    ("HEALTHCHECK --retries=x CMD x", 'strconv.ParseInt: parsing "x": invalid syntax'),
    ("HEALTHCHECK --retries=-1 CMD x", "--retries cannot be negative (-1)"),
    ("HEALTHCHECK --retries=9999999999 CMD x", 'strconv.ParseInt: parsing "9999999999": value out of range'),
])
def test_healthcheck_errors(line, msg):
    if not msg:
        assert one(line).healthcheck.interval == 0
        return
    with pytest.raises(DockerfileError) as e:
        one(line)
    assert str(e.value) == f"Dockerfile:2: {msg}"


@pytest.mark.parametrize("text, ns", [
    ("0", 0), ("1ns", 1), ("1us", 1000), ("1µs", 1000), ("1μs", 1000), ("1ms", 10**6), ("2h45m", 9900 * S),
    ("-1.5s", -1500 * 10**6), ("+3s", 3 * S), (".5s", S // 2), ("1.s", S), ("1h1m1s1ms", 3661 * S + 10**6),
])
def test_go_duration(text, ns):
    assert go_duration(text) == ns


@pytest.mark.parametrize("text", ["", "s", ".s", "1", "1x", "-", "1.5", "1s2"])
def test_go_duration_rejects(text):
    with pytest.raises(ValueError, match="^time: "):
        go_duration(text)


# --------------------------------------------------------------------------- ONBUILD


def test_onbuild_trigger():
    ins = one("ONBUILD  RUN --network=none  make")
    assert ins.args == ("RUN", "make")
    assert ins.sub.keyword == "run" and ins.sub.flags == ("--network=none",) and ins.sub.args == ("make",)
    assert ins.onbuild_expression == "RUN --network=none  make"
    assert one("onbuild add . /app/src").onbuild_expression == "add . /app/src"


def test_onbuild_trigger_is_checked_only_when_it_runs():
    # BuildKit checks ONBUILD triggers in the child build; only the parser's own errors come early
    assert one("ONBUILD RUNN x").sub.keyword == "runn"
    with pytest.raises(DockerfileError, match="Dockerfile:2: ENV must have two arguments"):
        one("ONBUILD ENV A")


# --------------------------------------------------------------------------- expansion, per instruction


ENV = {"FOO": "/bar", "A": "a", "EMPTY": "", "PORTS": "80/tcp  443", "U": "app", "SIG": "SIGTERM"}


@pytest.mark.parametrize("line, want", [
    ("WORKDIR ${FOO}", ("/bar",)),
    ("ADD . $FOO", (".", "/bar")),
    ("COPY \\$FOO /quux", ("$FOO", "/quux")),
    ('COPY ["$FOO", "${A}b c"]', ("/bar", "ab c")),
    ("COPY <<EOF ${FOO}/x\nbody\nEOF", ("<<EOF", "/bar/x")),
    ('COPY <<"EOF" $A\nbody\nEOF', ('<<"EOF"', "a")),
    ('ENV X=$FOO Y="$A b" $A=1', ("X", "/bar", "=", "Y", "a b", "=", "a", "1", "=")),
    ("ENV PATH $FOO:$PATH", ("PATH", "/bar:", "")),
    ("LABEL ${A}.version=${MISSING:-1.0} 'q'='$A'", ("a.version", "1.0", "=", "q", "$A", "=")),
    ('ARG B=$A C="${FOO}/x" D', ("B=a", "C=/bar/x", "D")),
    ("EXPOSE $PORTS 8080", ("80/tcp", "443", "8080")),
    ('EXPOSE "$PORTS"', ("80/tcp  443",)),
    ("USER ${U}:${GROUP:-staff}", ("app:staff",)),
    ("VOLUME $FOO /data/$A", ("/bar", "/data/a")),
    ("STOPSIGNAL $SIG", ("SIGTERM",)),
    ("RUN echo $FOO", ("echo $FOO",)),
    ('CMD ["$FOO"]', ("$FOO",)),
    ("ENTRYPOINT $FOO", ("$FOO",)),
    ("MAINTAINER $A", ("$A",)),
    ("ONBUILD WORKDIR $FOO", ("WORKDIR", "$FOO")),
    ("HEALTHCHECK CMD $FOO", ("CMD", "$FOO")),
])
def test_expand_args(line, want):
    assert expand_args(one(line), ENV) == want


def test_expand_args_from_uses_the_image_word_only():
    ins = parse("ARG V=1\nFROM img:$V AS v\n").instructions[1]
    assert expand_args(ins, {"V": "2"}) == ("img:2", "AS", "v")


def test_expand_args_with_backtick_escape():
    df = parse("# escape=`\nFROM a\nCOPY `$A c:\\$A\\ /x\n")
    assert expand_args(df.instructions[1], {"A": "v"}, escape=df.escape) == ("$A", "c:\\v\\", "/x")


def test_expansion_uses_one_snapshot_per_instruction():
    # ENV abc=bye def=$abc: def gets the value from before the instruction
    env = {"abc": "hello"}
    assert expand_args(one("ENV abc=bye def=$abc"), env) == ("abc", "bye", "=", "def", "hello", "=")


def test_expand_args_errors():
    with pytest.raises(ShellLexError, match='failed to process "\\$\\{A": syntax error: missing \'}\''):
        expand_args(one("WORKDIR ${A"), {})


def test_expanded_keywords():
    assert EXPANDED_KEYWORDS == {"add", "arg", "copy", "env", "expose", "from", "label", "stopsignal", "user",
                                 "volume", "workdir"}
