"""dockyard.dockerfile.shell_lex: BuildKit's shell.Lex word processing (variable substitution)."""

from __future__ import annotations

import pytest

from dockyard.errdefs import InvalidArgument
from dockyard.dockerfile.shell_lex import Lex, ShellLexError, expand, expand_words

# BuildKit's frontend/dockerfile/shell/envVarTest, with PWD=/home SHELL=bash NULL=""
ENV = {"PWD": "/home", "SHELL": "bash", "NULL": ""}

ENV_VAR_TEST = [
    ('hello', 'hello'),
    ("he'll'o", 'hello'),
    ("he'llo", 'error'),
    ("he\\'llo", "he'llo"),
    ("he\\\\'llo", 'error'),
    ('abc\\tdef', 'abctdef'),
    ('"abc\\tdef"', 'abc\\tdef'),
    ('"abc\\\\tdef"', 'abc\\tdef'),
    ("'abc\\tdef'", 'abc\\tdef'),
    ('hello\\', 'hello'),
    ('hello\\\\', 'hello\\'),
    ('"hello', 'error'),
    ('"hello\\"', 'error'),
    ('"hel\'lo"', "hel'lo"),
    ("'hello", 'error'),
    ("'hello\\'", 'hello\\'),
    ("'hello\\there'", 'hello\\there'),
    ("'hello\\\\there'", 'hello\\\\there'),
    ('"\'\'"', "''"),
    ('$.', '$.'),
    ('he$1x', 'hex'),
    ('he$.x', 'he$.x'),
    ('he$pwd.', 'he.'),
    ('he$PWD', 'he/home'),
    ('he\\$PWD', 'he$PWD'),
    ('he\\\\$PWD', 'he\\/home'),
    ('"he\\$PWD"', 'he$PWD'),
    ('"he\\\\$PWD"', 'he\\/home'),
    ('\\${}', '${}'),
    ('\\${}aaa', '${}aaa'),
    ('he\\${}', 'he${}'),
    ('he\\${}xx', 'he${}xx'),
    ('${}', 'error'),
    ('${}aaa', 'error'),
    ('he${}', 'error'),
    ('he${}xx', 'error'),
    ('he${hi}', 'he'),
    ('he${hi}xx', 'hexx'),
    ('he${PWD}', 'he/home'),
    ('he${.}', 'error'),
    ('he${XXX:-000}xx', 'he000xx'),
    ('he${PWD:-000}xx', 'he/homexx'),
    ('he${XXX:-$PWD}xx', 'he/homexx'),
    ('he${XXX:-${PWD:-yyy}}xx', 'he/homexx'),
    ('he${XXX:-${YYY:-yyy}}xx', 'heyyyxx'),
    ('he${XXX:YYY}', 'error'),
    ('he${XXX?}', 'error'),
    ('he${XXX:?}', 'error'),
    ('he${PWD?}', 'he/home'),
    ('he${PWD:?}', 'he/home'),
    ('he${NULL?}', 'he'),
    ('he${NULL:?}', 'error'),
    ('he${XXX:+${PWD}}xx', 'hexx'),
    ('he${PWD:+${XXX}}xx', 'hexx'),
    ('he${PWD:+${SHELL}}xx', 'hebashxx'),
    ('he${XXX:+000}xx', 'hexx'),
    ('he${PWD:+000}xx', 'he000xx'),
    ("'he${XX}'", 'he${XX}'),
    ('"he${PWD}"', 'he/home'),
    ('"he\'$PWD\'"', "he'/home'"),
    ('"$PWD"', '/home'),
    ("'$PWD'", '$PWD'),
    ("'\\$PWD'", '\\$PWD'),
    ('\'"hello"\'', '"hello"'),
    ('he\\$PWD', 'he$PWD'),
    ('"he\\$PWD"', 'he$PWD'),
    ("'he\\$PWD'", 'he\\$PWD'),
    ('he${PWD', 'error'),
    ('he${PWD:=000}xx', 'error'),
    ('he${PWD:+${PWD}:}xx', 'he/home:xx'),
    ('he${XXX:-\\$PWD:}xx', 'he$PWD:xx'),
    ('he${XXX:-\\${PWD}z}xx', 'he${PWDz}xx'),
    ('안녕하세요', '안녕하세요'),
    ("안'녕'하세요", '안녕하세요'),
    ("안'녕하세요", 'error'),
    ("안녕\\'하세요", "안녕'하세요"),
    ("안\\\\'녕하세요", 'error'),
    ('안녕\\t하세요', '안녕t하세요'),
    ('"안녕\\t하세요"', '안녕\\t하세요'),
    ("'안녕\\t하세요", 'error'),
    ('안녕하세요\\', '안녕하세요'),
    ('안녕하세요\\\\', '안녕하세요\\'),
    ('"안녕하세요', 'error'),
    ('"안녕하세요\\"', 'error'),
    ('"안녕\'하세요"', "안녕'하세요"),
    ("'안녕하세요'", '안녕하세요'),
    ("'안녕하세요\\'", '안녕하세요\\'),
    ('${1:-bar}', 'bar'),
    ('${1-bar}', 'bar'),
    ('${XXX-x}', 'x'),
    ('${NULL-x}', ''),
    ('${NULL+x}', 'x'),
    ('${XXX+x}', ''),
    ('${NULL:+x}', ''),
    ('${NULL:-x}', 'x'),
]


@pytest.mark.parametrize("src, want", ENV_VAR_TEST)
def test_buildkit_env_var_test(src, want):
    if want == "error":
        with pytest.raises(ShellLexError):
            expand(src, ENV)
    else:
        assert expand(src, ENV) == want


# BuildKit's frontend/dockerfile/shell/wordsTest
WORDS_TEST = [
    ({}, "hello", ["hello"]),
    ({}, "hello${hi}bye", ["hellobye"]),
    ({"hi": "hi"}, "hello${hi}bye", ["hellohibye"]),
    ({"space": "abc  def"}, "hello${space}bye", ["helloabc", "defbye"]),
    ({"space": "abc  def"}, 'hello"${space}"bye', ["helloabc  defbye"]),
    ({"space": "abc  def"}, 'hello "${space}"bye', ["hello", "abc  defbye"]),
    ({"leading": "  ab c"}, "hello${leading}def", ["hello", "ab", "cdef"]),
    ({"leading": "  ab c"}, 'hello"${leading}" def', ["hello  ab c", "def"]),
    ({"leading": "  ab c"}, 'hello"${leading}"', ["hello  ab c"]),
    ({"leading": "  ab c"}, "hello${leading}", ["hello", "ab", "c"]),
    ({"trailing": "ab c   "}, "hello${trailing}", ["helloab", "c"]),
    ({"trailing": "ab c   "}, "hello${trailing}d", ["helloab", "c", "d"]),
    ({"trailing": "ab c   "}, 'hello"${trailing}"d', ["helloab c   d"]),
    ({"leadandtrail": " ab c "}, "hello${leadandtrail}d", ["hello", "ab", "c", "d"]),
    ({"leadandtrail": " ab c "}, 'hello"${leadandtrail}"d', ["hello ab c d"]),
    ({}, '"" a \'\'', ["a"]),
    ({}, "  a\\ b   c  ", ["a b", "c"]),
]


@pytest.mark.parametrize("env, src, want", WORDS_TEST)
def test_buildkit_words_test(env, src, want):
    assert expand_words(src, env) == want


@pytest.mark.parametrize("src, want", [
    ("${X-default}", "default"),
    ("${E-default}", ""),
    ("${E:-default}", "default"),
    ("${V-default}", "v"),
    ("${X+alt}", ""),
    ("${E+alt}", "alt"),
    ("${E:+alt}", ""),
    ("${V:+alt}", "alt"),
    ("${V:+${V}${V}}", "vv"),
    ("${X:-${Y:-${V}}}", "v"),
    ("${X:-'a b'}", "a b"),
    ('${X:-"$V c"}', "v c"),
    ("$V$V", "vv"),
    ("$V_x", ""),
    ("${V}_x", "v_x"),
    ("$", "$"),
    ("a$", "a$"),
    ("$/", "$/"),
    ("$1", ""),
    ("$12x", "x"),
    ("$@$*$#$?$-$$$!$0", ""),
    ("${V?}", "v"),
    ("${E:?}", "error"),
    ("${X?is required}", "error"),
    ("\\$V", "$V"),
    ("\\\\$V", "\\v"),
    ("'$V'\"$V\"", "$Vv"),
    ("\"\\a\\$V\\\\\"", "\\a$V\\"),
])
def test_modifiers_and_names(src, want):
    env = {"V": "v", "E": ""}
    if want == "error":
        with pytest.raises(ShellLexError):
            expand(src, env)
    else:
        assert expand(src, env) == want


@pytest.mark.parametrize("src, want", [
    ("${S#f*b}", "arbaz"),
    ("${S##f*b}", "az"),
    ("${S%b*}", "foobar"),
    ("${S%%b*}", "foo"),
    ("${S/ba/fo}", "fooforbaz"),
    ("${S//ba/fo}", "fooforfoz"),
    ("${S#x}", "foobarbaz"),
    ("${S/o?/X}", "fXbarbaz"),
    ("${T//[ab]/X}", "fooX"),  # no bracket classes in these patterns: "[ab]" is literal
    ("${S#\\*}", "foobarbaz"),
    ("${X#a}", ""),
])
def test_pattern_modifiers(src, want):
    assert expand(src, {"S": "foobarbaz", "T": "foo[ab]"}) == want


@pytest.mark.parametrize("src, msg", [
    ("${}", 'failed to process "${}": syntax error: bad substitution'),
    ("${:}", 'failed to process "${:}": syntax error: bad substitution'),
    ("${{x}}", 'failed to process "${{x}}": syntax error: bad substitution'),
    ("${", 'failed to process "${": syntax error: missing \'}\''),
    ("${A", 'failed to process "${A": syntax error: missing \'}\''),
    ("${A:-x", 'failed to process "${A:-x": syntax error: missing \'}\''),
    ("${A:=x}", 'failed to process "${A:=x}": unsupported modifier (=) in substitution'),
    ("${A x}", 'failed to process "${A x}": unsupported modifier ( ) in substitution'),
    ("'abc", 'failed to process "\'abc": unexpected end of statement while looking for matching single-quote'),
    ('"abc', 'failed to process "\\"abc": unexpected end of statement while looking for matching double-quote'),
    ("${A?}", 'failed to process "${A?}": A: is not allowed to be unset'),
    ("${E:?}", 'failed to process "${E:?}": E: is not allowed to be empty'),
    ("${A:?set it}", 'failed to process "${A:?set it}": A: set it'),
])
def test_error_messages(src, msg):
    with pytest.raises(ShellLexError) as e:
        expand(src, {"E": ""})
    assert str(e.value) == msg
    assert isinstance(e.value, InvalidArgument)


def test_backtick_escape():
    env = {"A": "a"}
    assert expand("c:\\$A\\", env, escape="`") == "c:\\a\\"
    assert expand("`$A and \\$A", env, escape="`") == "$A and \\a"
    assert expand('"`"x`$A``"', env, escape="`") == '"x$A`'
    assert expand("end`", env, escape="`") == "end"
    assert expand_words("a` b c", env, escape="`") == ["a b", "c"]


def test_lex_options_used_for_heredoc_detection():
    env = {"A": "a"}
    assert Lex(skip_unset=True).process_word("$X ${Y} ${Z:-d} $A", env) == "$X ${Y} ${Z:-d} a"
    assert Lex(raw_quotes=True).process_word("'x'\"$A\"", env) == "'x'\"a\""
    assert Lex(raw_quotes=True, raw_escapes=True).process_words("<<\"E\\\"F\" \\x", {}) == ['<<"E\\"F"', "\\x"]


def test_matched_and_unmatched_names():
    r = Lex().process("$A ${B:-x} ${C} '$D' \\$E", {"A": "1", "C": ""})
    assert r.word == "1 x  $D $E"
    assert r.words == ["1", "x", "$D", "$E"]
    assert r.matched == {"A", "C"}
    assert r.unmatched == {"B"}


def test_unicode_names_and_values():
    assert expand("${Ä}-$日本_1", {"Ä": "x", "日本_1": "y"}) == "x-y"
    assert expand_words("$V", {"V": "a\u00a0b\u3000c\u200bd"}) == ["a", "b", "c\u200bd"]
