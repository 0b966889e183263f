"""dockyard.dockerfile.parser: directives, continuations, heredocs, line numbers, errors."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dockyard.errdefs import InvalidArgument
from dockyard.dockerfile.parser import DockerfileError, Heredoc, dump, parse


def d(text: str, *, strict: bool = True) -> str:
    return dump(parse(text, strict=strict))


def err(text: str, **kw) -> str:
    with pytest.raises(DockerfileError) as e:
        parse(text, **kw)
    return str(e.value)


# --------------------------------------------------------------------------- parser directives


@pytest.mark.parametrize("head", [
    "# escape=`", "#escape=`", "# escape =`", "#\tescape= `", "# escape = `", "#\t  eScApE=`", "# escape=`   ",
    "   # escape=`", "\ufeff# escape=`",
])
def test_escape_directive_spellings(head):
    df = parse(head + "\nFROM a\nRUN a `\n  b\\\n")
    assert df.escape == "`"
    assert df.directives == {"escape": "`"}
    assert dump(df) == '(from "a")\n(run "a   b\\\\")'


@pytest.mark.parametrize("head", [
    "# a comment\n# escape=`",            # after a comment that is not a directive
    "\n# escape=`",                         # after a blank line
    "FROM z\n# escape=`",                   # after an instruction
    "# unknown=1\n# escape=`",              # an unknown directive ends the block
    "# escape: `",                           # not key=value
    "# escape=",                             # no value
    "#!escape=`",
])
def test_escape_directive_ignored_where_docker_ignores_it(head):
    df = parse(head + "\nFROM a\nRUN a \\\n b `\n", strict=False)
    assert df.escape == "\\"
    assert dump(df).endswith('(from "a")\n(run "a  b `")')


def test_syntax_and_check_directives_are_accepted_and_recorded():
    df = parse("# syntax=docker/dockerfile:1.7\n# check=skip=all\n# escape=\\\n\nFROM a\n")
    assert df.directives == {"syntax": "docker/dockerfile:1.7", "check": "skip=all", "escape": "\\"}
    assert df.escape == "\\"
    assert d("# SYNTAX = docker/dockerfile:1  \nFROM a\n") == '(from "a")'


def test_directive_given_twice():
    assert err("# escape=\\\n# escape=`\nFROM a\n") == "Dockerfile:2: only one escape parser directive can be used"
    assert err("# syntax=a\n# syntax=b\nFROM a\n") == "Dockerfile:2: only one syntax parser directive can be used"
    # once the block has ended, a second one is only a comment
    assert d("# escape=`\nFROM a\n# escape=\\\nRUN x\n") == '(from "a")\n(run "x")'


def test_invalid_escape_token():
    assert err("# escape=x\nFROM a\n") == "Dockerfile:1: invalid escape token 'x' does not match ` or \\"
    assert err("# escape=``\nFROM a\n") == "Dockerfile:1: invalid escape token '``' does not match ` or \\"


# --------------------------------------------------------------------------- comments and continuations


def test_comments_and_hash_inside_arguments():
    src = ("# top\n  # indented comment\nFROM a\n"
           "RUN echo 'we are running some # of cool things'\n"
           "\t# another\nLABEL a=b#c\n")
    assert d(src) == ('(from "a")\n(run "echo \'we are running some # of cool things\'")\n'
                      '(label "a" "b#c" "=")')


def test_comment_lines_inside_a_continuation_are_dropped():
    src = "FROM a\nRUN echo hello \\\n# comment\n   # indented comment\nworld\n"
    assert d(src) == '(from "a")\n(run "echo hello world")'


def test_comments_do_not_continue():
    assert d("FROM a\n# comment \\\nRUN x\n") == '(from "a")\n(run "x")'


def test_blank_continuation_lines_are_dropped_with_a_warning():
    df = parse("FROM a\nRUN a \\\n\n   \n\t\nb\nRUN c\n")
    assert dump(df) == '(from "a")\n(run "a b")\n(run "c")'
    assert df.warnings == ((6, "Empty continuation line found in: RUN a b"),)
    assert parse("FROM a\nRUN a \\\nb\n").warnings == ()


def test_blank_line_does_not_end_a_continuation():
    # Docker joins across it: the next instruction becomes part of RUN
    assert d("FROM a\nRUN echo \\\n\nCMD x\n") == '(from "a")\n(run "echo CMD x")'


def test_continuation_details():
    # spaces and tabs after the escape still continue; leading whitespace of a
    # continuation line is kept; joined with nothing in between
    assert d("FROM a\nRUN a\\  \t\n  b\\\nc\n") == '(from "a")\n(run "a  bc")'
    # an escaped escape at the end: only the last one is the continuation
    assert d("FROM a\nRUN a\\\\\nb\n") == '(from "a")\n(run "a\\\\b")'
    # the escape not at the end is kept as is
    assert d("FROM a\nRUN a\\b \\x\n") == '(from "a")\n(run "a\\\\b \\\\x")'
    # continuation into the end of the file
    assert d("FROM a\nRUN a \\\n") == '(from "a")\n(run "a")'
    assert d("FROM a\nRUN a \\\n\n\n") == '(from "a")\n(run "a")'


def test_backtick_continuation_leaves_backslashes_alone():
    src = "# escape=`\nFROM a\nRUN a\\\nRUN b `\n c\\\n"
    assert d(src) == '(from "a")\n(run "a\\\\")\n(run "b  c\\\\")'


def test_crlf_line_endings():
    src = "# escape=`\r\nFROM a\r\nRUN a `\r\n  b\r\nCMD [\"x\"]\r\n"
    df = parse(src)
    assert df.escape == "`"
    assert dump(df) == '(from "a")\n(run "a   b")\n(cmd "x")'


def test_leading_whitespace_before_instructions_and_byte_order_mark():
    assert d("\ufeffFROM a\n    RUN x\n\tCMD y\n") == '(from "a")\n(run "x")\n(cmd "y")'


def test_line_numbers():
    src = ("# c\n"               # 1
           "FROM a\n"            # 2
           "\n"                  # 3
           "RUN a \\\n"          # 4
           "# c\n"               # 5
           "  b \\\n"            # 6
           "\n"                  # 7
           "  c\n"               # 8
           "COPY <<EOF /x\n"     # 9
           "body\n"              # 10
           "EOF\n"               # 11
           "CMD x\n")            # 12
    df = parse(src)
    assert [(i.keyword, i.start_line, i.end_line) for i in df.instructions] == [
        ("from", 2, 2), ("run", 4, 8), ("copy", 9, 11), ("cmd", 12, 12)]
    assert [i.original for i in df.instructions] == ["FROM a", "RUN a   b   c", "COPY <<EOF /x", "CMD x"]
    assert df.instructions[1].text == "RUN a   b   c"


def test_comments_before_an_instruction_are_kept():
    df = parse("# first\n# second\nFROM a\n#\n# third\nRUN x\nRUN y\n")
    assert [i.comments for i in df.instructions] == [("first", "second"), ("third",), ()]


def test_errors_name_the_first_line_of_the_instruction():
    assert err("FROM a\nRUN x\nCOPY \\\n\n  onlyone\n") == (
        "Dockerfile:3: COPY requires at least two arguments, but only one was provided. "
        "Destination could not be determined")


def test_parser_errors_win_over_earlier_instruction_errors():
    # BuildKit parses the whole file before it checks instructions
    assert err("FROM a\nRUNN x\nRUN <<EOF\nno end\n") == "Dockerfile:3: unterminated heredoc"


# --------------------------------------------------------------------------- heredocs


def heredocs(src: str, n: int = 1) -> tuple[Heredoc, ...]:
    return parse(src).instructions[n].heredocs


def test_heredoc_basic():
    (h,) = heredocs("FROM a\nRUN <<EOF\necho \"hello\"\n  echo world\nEOF\n")
    assert h == Heredoc("EOF", 'echo "hello"\n  echo world\n', expand=True, chomp=False, fd=0)
    assert h.data == h.content


def test_heredoc_chomp_strips_tabs_from_body_and_delimiter():
    (h,) = heredocs("FROM a\nRUN <<-EOF\n\techo a\n\t\techo b\n  \techo c\n\t\tEOF\nCMD x\n")
    assert h.chomp and h.content == "\techo a\n\t\techo b\n  \techo c\n"
    assert h.data == "echo a\necho b\n  \techo c\n"


def test_heredoc_without_chomp_needs_the_exact_delimiter():
    (h,) = heredocs("FROM a\nRUN <<EOF\n\tEOF\nEOF \nEOF\n")
    assert h.content == "\tEOF\nEOF \n"


@pytest.mark.parametrize("word, name, expand", [
    ('<<"EOF"', "EOF", False),
    ("<<'EOF'", "EOF", False),
    ('<<E"O"F', "EOF", False),
    ("<<-'EOF'", "EOF", False),
    ("<<EOF", "EOF", True),
    ("<<eof_1", "eof_1", True),
])
def test_heredoc_quoted_delimiters_disable_expansion(word, name, expand):
    (h,) = heredocs(f"FROM a\nRUN {word}\n$X\n{name}\n")
    assert (h.name, h.expand, h.content) == (name, expand, "$X\n")


def test_several_heredocs_on_one_line_in_order():
    src = "FROM a\nRUN <<FILE1 cat > file1 && 3<<-FILE2 cat > file2\nI am\nfirst\nFILE1\nI am\n\tsecond\n\tFILE2\nRUN x\n"
    df = parse(src)
    h1, h2 = df.instructions[1].heredocs
    assert (h1.name, h1.content, h1.fd) == ("FILE1", "I am\nfirst\n", 0)
    assert (h2.name, h2.content, h2.fd, h2.chomp) == ("FILE2", "I am\n\tsecond\n", 3, True)
    assert df.instructions[1].end_line == 8
    assert df.instructions[2].start_line == 9


def test_heredoc_bodies_are_not_parsed():
    df = parse("FROM a\nRUN <<EOF\n# not a comment\nFROM x \\\nRUNN\n\nEOF\nCMD y\n")
    assert df.instructions[1].heredocs[0].content == "# not a comment\nFROM x \\\nRUNN\n\n"
    assert [i.keyword for i in df.instructions] == ["from", "run", "cmd"]


def test_heredoc_crlf_and_last_line_without_newline():
    (h,) = heredocs("FROM a\r\nRUN <<EOF\r\na\r\nEOF\r\n")
    assert h.content == "a\r\n"
    (h,) = heredocs("FROM a\nRUN <<EOF\na\nEOF")
    assert h.content == "a\n"


def test_empty_heredoc():
    (h,) = heredocs("FROM a\nRUN <<EOF\nEOF\n")
    assert h.content == ""


def test_heredoc_after_a_continuation():
    df = parse("FROM a\nRUN <<EOF \\\n  python3\nprint(1)\nEOF\n")
    assert dump(df) == '(from "a")\n(run "<<EOF   python3")'
    assert df.instructions[1].heredocs[0].content == "print(1)\n"


@pytest.mark.parametrize("line", [
    'RUN ["<<EOF"]',        # exec form takes no heredoc
    'RUN echo "<<EOF"',     # quoted
    "RUN echo '<<EOF'",
    "RUN cat<<EOF",         # BuildKit only sees a heredoc at the start of a word
    "RUN echo <<",          # no delimiter
    "RUN cat <<<EOF",       # here-string
    "CMD <<EOF",            # only RUN, COPY, ADD have heredocs
    "ENTRYPOINT cat <<EOF",
])
def test_not_a_heredoc(line):
    df = parse(f"FROM a\n{line}\nCMD next\n")
    assert df.instructions[1].heredocs == ()
    assert [i.keyword for i in df.instructions] == ["from", line.split()[0].lower(), "cmd"]


def test_copy_and_add_heredoc_sources():
    df = parse("FROM a\nCOPY <<EOF <<-\"EOT\" /dest/\nhello\nEOF\n\t$X\n\tEOT\nADD <<A /a\nx\nA\n")
    copy, add = df.instructions[1], df.instructions[2]
    assert copy.sources == (Heredoc("EOF", "hello\n", True, False, 0), Heredoc("EOT", "\t$X\n", False, True, 0))
    assert copy.sources[1].data == "$X\n"
    assert copy.dest == "/dest/"
    assert add.sources == (Heredoc("A", "x\n"),)
    assert parse("FROM a\nCOPY a b /c/\n").instructions[1].sources == ("a", "b")


def test_onbuild_heredoc_and_expression():
    df = parse("FROM a\nONBUILD RUN <<EOF\necho hi\nEOF\nONBUILD  COPY --from=x a b\n")
    ob = df.instructions[1]
    assert dump(df) == '(from "a")\n(onbuild (run "<<EOF"))\n(onbuild (copy ["--from=x"] "a" "b"))'
    assert ob.heredocs == (Heredoc("EOF", "echo hi\n"),)
    assert ob.onbuild_expression == "RUN <<EOF\necho hi\nEOF"
    assert df.instructions[2].onbuild_expression == "COPY --from=x a b"
    # the expression parses back to the same trigger (the child build does exactly that)
    again = parse(ob.onbuild_expression).instructions[0]
    assert (again.keyword, again.heredocs) == ("run", ob.heredocs)


def test_unterminated_heredoc():
    assert err("FROM a\nRUN <<EOF\nbody\nEO\n") == "Dockerfile:2: unterminated heredoc"
    assert err("FROM a\nRUN <<A <<B\nx\nA\ny\n") == "Dockerfile:2: unterminated heredoc"


def test_heredoc_cannot_be_a_destination():
    assert err("FROM a\nCOPY a <<EOF\nx\nEOF\n") == "Dockerfile:2: COPY cannot accept a heredoc as a destination"
    assert err("FROM a\nADD a <<EOF\nx\nEOF\n") == "Dockerfile:2: ADD cannot accept a heredoc as a destination"


# --------------------------------------------------------------------------- errors, with BuildKit's texts


@pytest.mark.parametrize("src, msg", [
    ("FROM a\n\n\n\n\n\nRUNN x\n", "Dockerfile:7: unknown instruction: RUNN"),
    ("FROM a\nfrobnicate\n", "Dockerfile:2: unknown instruction: frobnicate"),
    ("FROM a\nENV\n", "Dockerfile:2: ENV requires at least one argument"),
    ("FROM a\nENV A\n", "Dockerfile:2: ENV must have two arguments"),
    ("FROM a\nENV =b\n", "Dockerfile:2: ENV names can not be blank"),
    ("FROM a\nENV A=1 B\n", 'Dockerfile:2: Syntax error - can\'t find = in "B". Must be of the form: name=value'),
    ("FROM a\nLABEL\n", "Dockerfile:2: LABEL requires at least one argument"),
    ("FROM a\nLABEL a\n", "Dockerfile:2: LABEL must have two arguments"),
    ("FROM a\nLABEL =x\n", "Dockerfile:2: LABEL names can not be blank"),
    ("FROM a\nCOPY a\n", "Dockerfile:2: COPY requires at least two arguments, but only one was provided. "
                         "Destination could not be determined"),
    ("FROM a\nADD [\"a\"]\n", "Dockerfile:2: ADD requires at least two arguments, but only one was provided. "
                              "Destination could not be determined"),
    ("FROM a\nCOPY\n", "Dockerfile:2: COPY requires at least two arguments, but only one was provided. "
                       "Destination could not be determined"),
    ("FROM a\nWORKDIR\n", "Dockerfile:2: WORKDIR requires exactly one argument"),
    ("FROM a\nUSER\n", "Dockerfile:2: USER requires exactly one argument"),
    ("FROM a\nSTOPSIGNAL\n", "Dockerfile:2: STOPSIGNAL requires exactly one argument"),
    ("FROM a\nMAINTAINER\n", "Dockerfile:2: MAINTAINER requires exactly one argument"),
    ("FROM a\nEXPOSE\n", "Dockerfile:2: EXPOSE requires at least one argument"),
    ("FROM a\nVOLUME\n", "Dockerfile:2: VOLUME requires at least one argument"),
    ("FROM a\nVOLUME [\"/a\", \" \"]\n", "Dockerfile:2: VOLUME specified can not be an empty string"),
    ("FROM a\nARG\n", "Dockerfile:2: ARG requires at least one argument"),
    ("FROM a\nONBUILD\n", "Dockerfile:2: ONBUILD requires at least one argument"),
    ("FROM a\nONBUILD ONBUILD RUN x\n", "Dockerfile:2: Chaining ONBUILD via `ONBUILD ONBUILD` isn't allowed"),
    ("FROM a\nONBUILD FROM b\n", "Dockerfile:2: FROM isn't allowed as an ONBUILD trigger"),
    ("FROM a\nONBUILD maintainer me\n", "Dockerfile:2: MAINTAINER isn't allowed as an ONBUILD trigger"),
    ("FROM a\nSHELL\n", "Dockerfile:2: SHELL requires at least one argument"),
    ("FROM a\nSHELL []\n", "Dockerfile:2: SHELL requires at least one argument"),
    ("FROM a\nSHELL /bin/sh -c\n", "Dockerfile:2: SHELL requires the arguments to be in JSON form"),
    ("FROM\n", "Dockerfile:1: FROM requires either one or three arguments"),
    ("FROM a b\n", "Dockerfile:1: FROM requires either one or three arguments"),
    ("FROM a is b\n", "Dockerfile:1: FROM requires either one or three arguments"),
    ("FROM a AS b c\n", "Dockerfile:1: FROM requires either one or three arguments"),
    ("FROM a AS 1st\n", 'Dockerfile:1: invalid name for build stage: "1st", name can\'t start with a number '
                        "or contain symbols"),
    ("FROM a AS my/stage\n", 'Dockerfile:1: invalid name for build stage: "my/stage", name can\'t start with '
                             "a number or contain symbols"),
    ("FROM a\nCMD [1]\n", "Dockerfile:2: when using JSON array syntax, arrays must be comprised of strings only"),
    ("# nothing here\n\n", "Dockerfile:2: file with no instructions"),
    ("\n", "Dockerfile:1: file with no instructions"),
    ("", "the Dockerfile (Dockerfile) cannot be empty"),
])
def test_error_messages(src, msg):
    assert err(src) == msg


def test_error_carries_its_parts():
    with pytest.raises(DockerfileError) as e:
        parse("FROM a\nRUN x \\\n y\nRUNN\n", filename="Dockerfile.dev")
    assert isinstance(e.value, InvalidArgument)
    assert str(e.value) == "Dockerfile.dev:4: unknown instruction: RUNN"
    assert (e.value.detail, e.value.line, e.value.end_line, e.value.filename) == (
        "unknown instruction: RUNN", 4, 4, "Dockerfile.dev")
    assert e.value.suggestion == "run"  # BuildKit would add " (did you mean run?)"


def test_overlong_line():
    assert err("FROM a\nRUN " + "x" * 70000 + "\n") == "Dockerfile:1: dockerfile line greater than max allowed size of 65535"
    assert len(parse("FROM a\nRUN " + "x" * 60000 + "\n").instructions[1].args[0]) == 60000


# --------------------------------------------------------------------------- flags


@pytest.mark.parametrize("src, msg", [
    ("FROM a\nCOPY --foo a b\n", "unknown flag: foo"),
    ("FROM a\nCOPY --platform=x a b\n", "unknown flag: platform"),
    ("FROM a\nCOPY --network=none a b\n", "unknown flag: network"),
    ("FROM a\nADD --from=x a b\n", "unknown flag: from"),
    ("FROM a\nADD --parents a b\n", "unknown flag: parents"),
    ("FROM a\nRUN --from=x a\n", "unknown flag: from"),
    ("FROM a\nRUN --device=gpu a\n", "unknown flag: device"),
    ("FROM --chown=1 a\n", "unknown flag: chown"),
    ("FROM a\nENV --x=1 A=b\n", "unknown flag: x"),
    ("FROM a\nLABEL --x a=b\n", "unknown flag: x"),
    ("FROM a\nWORKDIR --x /a\n", "unknown flag: x"),
    ("FROM a\nUSER --x u\n", "unknown flag: x"),
    ("FROM a\nCMD --x y\n", "unknown flag: x"),
    ("FROM a\nENTRYPOINT --x y\n", "unknown flag: x"),
    ("FROM a\nEXPOSE --x 80\n", "unknown flag: x"),
    ("FROM a\nVOLUME --x /v\n", "unknown flag: x"),
    ("FROM a\nSTOPSIGNAL --x 9\n", "unknown flag: x"),
    ("FROM a\nMAINTAINER --x me\n", "unknown flag: x"),
    ("FROM a\nSHELL --x [\"sh\"]\n", "unknown flag: x"),
    ("FROM a\nARG --x A\n", "unknown flag: x"),
    ("FROM a\nONBUILD --x RUN y\n", "unknown flag: x"),
    ("FROM a\nHEALTHCHECK --x CMD y\n", "unknown flag: x"),
    ("FROM a\nHEALTHCHECK --chown=1 CMD y\n", "unknown flag: chown"),
    ("FROM a\nCOPY --chown a b\n", "missing a value on flag: chown"),
    ("FROM a\nRUN --mount a\n", "missing a value on flag: mount"),
    ("FROM a\nCOPY --link= a b\n", "missing a value on flag: link"),
    ("FROM a\nCOPY --link=yes a b\n", "expecting boolean value for flag link, not: yes"),
    ("FROM a\nCOPY --from=a --from=b x y\n", "duplicate flag specified: from"),
    ("FROM a\nCOPY --link --link=false x y\n", "duplicate flag specified: link"),
    ("FROM a\nRUN --network=bridge x\n", 'unsupported network mode "bridge"'),
    ("FROM a\nRUN --security=privileged x\n", 'unsupported security mode "privileged"'),
])
def test_flag_errors(src, msg):
    assert err(src) == f"Dockerfile:{src.count(chr(10))}: {msg}"


def test_flag_options_with_defaults():
    df = parse("FROM --platform=linux/arm64 a\n"
               "COPY --from=build --chown=1:2 --chmod=0644 --link --exclude=*.md --exclude=*.txt x y\n"
               "ADD --keep-git-dir=true --checksum=sha256:00 --unpack=false --link=FALSE x y\n"
               "RUN --mount=type=cache,target=/c --mount=type=secret,id=s --network=host --security=insecure x\n"
               "RUN x\nCOPY --parents=true x y\nENV A=1\n")
    ins = df.instructions
    assert ins[0].options == {"platform": "linux/arm64"}
    assert ins[1].options == {"chown": "1:2", "from": "build", "chmod": "0644", "link": True, "parents": False,
                              "exclude": ("*.md", "*.txt")}
    assert ins[2].options == {"chown": "", "chmod": "", "link": False, "keep-git-dir": True,
                              "checksum": "sha256:00", "unpack": False, "exclude": ()}
    assert ins[3].options == {"mount": ("type=cache,target=/c", "type=secret,id=s"), "network": "host",
                              "security": "insecure"}
    assert ins[4].options == {"mount": (), "network": "default", "security": "sandbox"}
    assert ins[5].options["parents"] is True
    assert ins[6].options == {}
    assert parse("FROM a\nADD x y\n").instructions[1].options["unpack"] is None  # unset: auto


def test_healthcheck_none_ignores_flags_like_buildkit():
    # BuildKit only declares (and so checks) the flags for HEALTHCHECK CMD
    df = parse("FROM a\nHEALTHCHECK --interval=5s --bogus NONE\n")
    assert df.instructions[1].healthcheck.test == ("NONE",)


def test_malformed_heredoc_words_are_plain_words():
    # BuildKit's MustParseHeredoc reads a word it cannot lex as "not a heredoc"
    assert d('FROM a\nCOPY a <<"EOF\n') == '(from "a")\n(copy "a" "<<\\"EOF")'
    assert parse('FROM a\nCOPY <<"EOF /x\n').instructions[1].sources == ('<<"EOF',)
    # a line the lexer cannot read has no heredocs at all
    df = parse('FROM a\nRUN echo "<<EOF\nCMD x\n')
    assert [i.keyword for i in df.instructions] == ["from", "run", "cmd"]


# --------------------------------------------------------------------------- robustness

_PIECES = st.sampled_from([
    "FROM a", "RUN", "COPY", "ONBUILD", "ENV", "LABEL", "HEALTHCHECK", "CMD", "ARG", "SHELL", " ", "\t", "\n",
    "\r\n", "\\", "`", "#", "# escape=`", "<<", "<<-", "EOF", '"', "'", "[", "]", ",", "=", "--", "--from=x",
    "$", "${", "}", ":-", "x", "é", "\u00a0", "\x00", "[\"a\"]", "[1]",
])


@settings(max_examples=300, deadline=None)
@given(st.lists(_PIECES, max_size=40).map("".join))
def test_parse_raises_only_dockerfile_errors(text):
    for strict in (True, False):
        try:
            df = parse(text, strict=strict)
        except DockerfileError as e:
            assert e.detail
            continue
        out = dump(df)
        assert out.count("\n") == len(df.instructions) - 1
        assert all(i.start_line <= i.end_line for i in df.instructions)
