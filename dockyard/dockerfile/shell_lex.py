"""Dockerfile word processing: variable substitution and quote removal.

A port of BuildKit's ``frontend/dockerfile/shell`` ``Lex`` (the same code the
classic builder vendors).  The builder calls it with the ARG/ENV values in
effect for one instruction:

* ``expand(word, env)`` — ``Lex.ProcessWord``: one string out, quotes removed,
  ``$VAR`` / ``${VAR}`` / ``${VAR:-w}`` / ``${VAR:+w}`` / ``${VAR-w}`` /
  ``${VAR+w}`` / ``${VAR?w}`` / ``${VAR:?w}`` replaced, whitespace kept.
* ``expand_words(word, env)`` — ``Lex.ProcessWords``: the result split into
  words on unquoted whitespace (after substitution), as EXPOSE uses it.

Rules (BuildKit's, not POSIX sh's where they differ):

* single quotes keep everything literal, they cannot be escaped inside;
* inside double quotes the escape character escapes only ``"``, ``$`` and
  itself, any other escape stays literal;
* outside quotes the escape character makes the next character literal and
  is dropped; one at the very end of the word is dropped;
* ``$`` not followed by a name, ``{``, a digit or a special parameter is a
  literal ``$``; ``$1`` / ``$@`` ... look up that name (normally unset);
* an unset variable expands to the empty string (``skip_unset`` keeps the
  reference as written, which the heredoc detection uses);
* the pattern forms ``${VAR#p}`` ``${VAR##p}`` ``${VAR%p}`` ``${VAR%%p}``
  ``${VAR/p/r}`` ``${VAR//p/r}`` of newer Dockerfile syntaxes are supported.

The escape character is ``\\`` unless the Dockerfile says ``# escape=```.
Errors raise :class:`ShellLexError` with BuildKit's text, e.g.
``failed to process "${}": syntax error: bad substitution``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field

from dockyard.errdefs import InvalidArgument

__all__ = ["Lex", "LexResult", "ShellLexError", "expand", "expand_words", "go_isspace", "go_quote"]

# Go's unicode.IsSpace: the Latin-1 spaces plus the Unicode White_Space set.
_GO_SPACES = frozenset(
    "\t\n\v\f\r \x85\xa0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009\u200a"
    "\u2028\u2029\u202f\u205f\u3000"
)
_SPECIAL_PARAMS = frozenset("@*#?-$!0")


def go_isspace(ch: str) -> bool:
    """Go's ``unicode.IsSpace`` (Python's ``str.isspace`` also counts U+001C..U+001F)."""
    return ch in _GO_SPACES


class ShellLexError(InvalidArgument):
    """A word that cannot be processed (unterminated quote, bad ``${...}``)."""


class _SyntaxError(Exception):
    """Raised inside the lexer; wrapped once with the word that failed."""


@dataclass
class LexResult:
    """What one run of the lexer produced.

    ``matched`` holds the variable names that were looked up and found in the
    environment, ``unmatched`` those looked up but unset (BuildKit uses them
    to warn about unused build args and to key the cache).
    """

    word: str
    words: list[str]
    matched: set[str] = field(default_factory=set)
    unmatched: set[str] = field(default_factory=set)


class _Words:
    """BuildKit's ``wordsStruct``: splits the processed text on unquoted whitespace."""

    __slots__ = ("word", "words", "in_word")

    def __init__(self) -> None:
        self.word = ""
        self.words: list[str] = []
        self.in_word = False

    def add_char(self, ch: str) -> None:
        if go_isspace(ch):
            if self.in_word and self.word:
                self.words.append(self.word)
                self.word = ""
                self.in_word = False
        else:
            self.add_raw_char(ch)

    def add_raw_char(self, ch: str) -> None:
        self.word += ch
        self.in_word = True

    def add_string(self, text: str) -> None:
        for ch in text:
            self.add_char(ch)

    def add_raw_string(self, text: str) -> None:
        self.word += text
        self.in_word = True

    def get(self) -> list[str]:
        if self.word:
            self.words.append(self.word)
            self.word = ""
            self.in_word = False
        return self.words


class Lex:
    """A configured lexer (BuildKit ``shell.NewLex`` plus its option fields).

    ``raw_quotes`` keeps quote characters in the output, ``raw_escapes`` keeps
    escape characters, ``skip_unset`` leaves references to unset variables as
    written.  The defaults are what the builder uses for instruction words.
    """

    def __init__(self, escape: str = "\\", *, raw_quotes: bool = False, raw_escapes: bool = False,
                 skip_unset: bool = False) -> None:
        if len(escape) != 1:
            raise ValueError("escape must be one character")
        self.escape = escape
        self.raw_quotes = raw_quotes
        self.raw_escapes = raw_escapes
        self.skip_unset = skip_unset

    def process(self, word: str, env: Mapping[str, str]) -> LexResult:
        run = _Run(self, word, env)
        try:
            text, words = run.stop_on(None)
        except _SyntaxError as e:
            raise ShellLexError(f"failed to process {go_quote(word)}: {e}") from None
        return LexResult(text, words, run.matched, run.unmatched)

    def process_word(self, word: str, env: Mapping[str, str]) -> str:
        return self.process(word, env).word

    def process_words(self, word: str, env: Mapping[str, str]) -> list[str]:
        return self.process(word, env).words


class _Run:
    """One pass over one word (BuildKit's ``shellWord``)."""

    def __init__(self, lex: Lex, text: str, env: Mapping[str, str]) -> None:
        self.lex = lex
        self.esc = lex.escape
        self.s = text
        self.n = len(text)
        self.pos = 0
        self.env = env
        self.matched: set[str] = set()
        self.unmatched: set[str] = set()

    # -- scanner
    def peek(self) -> str | None:
        return self.s[self.pos] if self.pos < self.n else None

    def next(self) -> str | None:
        if self.pos < self.n:
            ch = self.s[self.pos]
            self.pos += 1
            return ch
        return None

    def getenv(self, name: str) -> tuple[str, bool]:
        if name in self.env:
            self.matched.add(name)
            return self.env[name], True
        self.unmatched.add(name)
        return "", False

    # -- grammar
    def stop_on(self, stop: str | None) -> tuple[str, list[str]]:
        result: list[str] = []
        words = _Words()
        while self.pos < self.n:
            ch = self.s[self.pos]
            if stop is not None and ch == stop:
                self.pos += 1
                return "".join(result), words.get()
            if ch == "'":
                tmp = self.single_quote()
                result.append(tmp)
                words.add_raw_string(tmp)
            elif ch == '"':
                tmp = self.double_quote()
                result.append(tmp)
                words.add_raw_string(tmp)
            elif ch == "$":
                tmp = self.dollar()
                result.append(tmp)
                words.add_string(tmp)
            else:
                self.pos += 1
                if ch == self.esc:
                    if self.lex.raw_escapes:
                        words.add_raw_char(ch)
                        result.append(ch)
                    if self.pos >= self.n:
                        break  # an escape at the very end is dropped
                    ch = self.s[self.pos]
                    self.pos += 1
                    words.add_raw_char(ch)
                else:
                    words.add_char(ch)
                result.append(ch)
        if stop is not None:
            raise _SyntaxError(f"unexpected end of statement while looking for matching {stop}")
        return "".join(result), words.get()

    def single_quote(self) -> str:
        out = []
        ch = self.next()
        if self.lex.raw_quotes:
            out.append(ch)
        while True:
            ch = self.next()
            if ch is None:
                raise _SyntaxError("unexpected end of statement while looking for matching single-quote")
            if ch == "'":
                if self.lex.raw_quotes:
                    out.append(ch)
                return "".join(out)
            out.append(ch)

    def double_quote(self) -> str:
        out = []
        ch = self.next()
        if self.lex.raw_quotes:
            out.append(ch)
        while True:
            nxt = self.peek()
            if nxt is None:
                raise _SyntaxError("unexpected end of statement while looking for matching double-quote")
            if nxt == '"':
                self.next()
                if self.lex.raw_quotes:
                    out.append('"')
                return "".join(out)
            if nxt == "$":
                out.append(self.dollar())
                continue
            ch = self.next()
            if ch == self.esc:
                if self.lex.raw_escapes:
                    out.append(ch)
                after = self.peek()
                if after is None:
                    continue  # ends in the unterminated-quote error above
                if after in ('"', "$", self.esc):
                    ch = self.next()
            out.append(ch)

    def name(self) -> str:
        out = []
        while self.pos < self.n:
            ch = self.s[self.pos]
            if not out and ch.isdecimal():
                while self.pos < self.n and self.s[self.pos].isdecimal():
                    out.append(self.s[self.pos])
                    self.pos += 1
                return "".join(out)
            if not out and ch in _SPECIAL_PARAMS:
                self.pos += 1
                return ch
            if not (ch.isalpha() or ch.isdecimal() or ch == "_"):
                break
            out.append(ch)
            self.pos += 1
        return "".join(out)

    def word_until(self, stop: str) -> str:
        try:
            word, _ = self.stop_on(stop)
        except _SyntaxError:
            if self.peek() is None:
                raise _SyntaxError("syntax error: missing '}'") from None
            raise
        return word

    def dollar(self) -> str:
        self.next()  # the $
        if self.peek() != "{":
            name = self.name()
            if not name:
                return "$"
            value, found = self.getenv(name)
            if not found and self.lex.skip_unset:
                return "$" + name
            return value

        self.next()  # the {
        first = self.peek()
        if first is None:
            raise _SyntaxError("syntax error: missing '}'")
        if first in "{}:":
            raise _SyntaxError("syntax error: bad substitution")
        name = self.name()
        ch = self.next()
        if ch is None:
            raise _SyntaxError("syntax error: missing '}'")
        if ch == "}":
            value, found = self.getenv(name)
            if not found and self.lex.skip_unset:
                return "${%s}" % name
            return value
        if ch == ":":
            modifier = self.next()
            if modifier is None:
                raise _SyntaxError("syntax error: missing '}'")
            word = self.word_until("}")
            value, found = self.getenv(name)
            if not found and self.lex.skip_unset:
                return "${%s:%s%s}" % (name, modifier, word)
            if modifier == "+":
                return word if value != "" else ""
            if modifier == "-":
                return word if value == "" else value
            if modifier == "?":
                if not found:
                    raise _SyntaxError(f"{name}: {word or 'is not allowed to be unset'}")
                if value == "":
                    raise _SyntaxError(f"{name}: {word or 'is not allowed to be empty'}")
                return value
            raise _SyntaxError(f"unsupported modifier ({modifier}) in substitution")
        if ch in "+-?":
            word = self.word_until("}")
            value, found = self.getenv(name)
            if not found and self.lex.skip_unset:
                return "${%s%s%s}" % (name, ch, word)
            if ch == "+":
                return word if found else ""
            if ch == "-":
                return value if found else word
            if not found:
                raise _SyntaxError(f"{name}: {word or 'is not allowed to be unset'}")
            return value
        if ch in "#%":
            longest = self.peek() == ch
            if longest:
                self.next()
            pattern = self.word_until("}")
            value, found = self.getenv(name)
            if not found and self.lex.skip_unset:
                return "${%s%s%s}" % (name, ch * (2 if longest else 1), pattern)
            return _trim(value, pattern, prefix=(ch == "#"), longest=longest)
        if ch == "/":
            replace_all = self.peek() == "/"
            if replace_all:
                self.next()
            pattern = self.word_until("/")
            replacement = self.word_until("}")
            value, found = self.getenv(name)
            if not found and self.lex.skip_unset:
                return "${%s%s%s/%s}" % (name, "//" if replace_all else "/", pattern, replacement)
            return _replace(value, pattern, replacement, replace_all)
        if self.lex.skip_unset:
            return "${%s}" % name
        raise _SyntaxError(f"unsupported modifier ({ch}) in substitution")


def _glob_regex(pattern: str) -> str:
    """A ``${VAR#pattern}`` glob as a regex: ``*``, ``?``, escapes with ``\\``."""
    out = []
    i = 0
    while i < len(pattern):
        ch = pattern[i]
        if ch == "\\" and i + 1 < len(pattern):
            out.append(re.escape(pattern[i + 1]))
            i += 2
            continue
        out.append(".*" if ch == "*" else "." if ch == "?" else re.escape(ch))
        i += 1
    return "".join(out)


def _trim(value: str, pattern: str, *, prefix: bool, longest: bool) -> str:
    rx = re.compile(_glob_regex(pattern), re.DOTALL)
    n = len(value)
    cuts = range(n, -1, -1) if longest == prefix else range(0, n + 1)
    for i in cuts:
        if prefix and rx.fullmatch(value, 0, i):
            return value[i:]
        if not prefix and rx.fullmatch(value, i, n):
            return value[:i]
    return value


def _replace(value: str, pattern: str, replacement: str, replace_all: bool) -> str:
    if pattern == "":
        return value
    rx = re.compile(_glob_regex(pattern), re.DOTALL)
    out = []
    i = 0
    n = len(value)
    while i <= n:
        hit = None
        for j in range(n, i, -1):  # longest match at this position
            if rx.fullmatch(value, i, j):
                hit = j
                break
        if hit is None:
            if i < n:
                out.append(value[i])
            i += 1
            continue
        out.append(replacement)
        i = hit
        if not replace_all:
            out.append(value[i:])
            return "".join(out)
    return "".join(out)


def go_quote(s: str) -> str:
    """``s`` as Go's ``strconv.Quote`` (and ``%q``) writes it.

    Printable characters stay as they are, ``"`` and ``\\`` are escaped, the C
    escapes ``\\a \\b \\f \\n \\r \\t \\v`` are used, other control bytes become
    ``\\xNN``, other unprintable characters ``\\uNNNN`` / ``\\UNNNNNNNN``.  Bytes that
    were not valid UTF-8 (decoded with ``surrogateescape``) come out as ``\\xNN``
    like Go prints invalid bytes.
    """
    out = ['"']
    for ch in s:
        if ch == '"' or ch == "\\":
            out.append("\\" + ch)
            continue
        o = ord(ch)
        if 0xDC80 <= o <= 0xDCFF:
            out.append("\\x%02x" % (o - 0xDC00))
        elif ch.isprintable():
            out.append(ch)
        elif ch in _C_ESCAPES:
            out.append(_C_ESCAPES[ch])
        elif o < 0x20 or o == 0x7F:
            out.append("\\x%02x" % o)
        elif 0xD800 <= o <= 0xDFFF:
            out.append("\\ufffd")
        elif o < 0x10000:
            out.append("\\u%04x" % o)
        else:
            out.append("\\U%08x" % o)
    out.append('"')
    return "".join(out)


_C_ESCAPES = {"\a": "\\a", "\b": "\\b", "\f": "\\f", "\n": "\\n", "\r": "\\r", "\t": "\\t", "\v": "\\v"}


_DEFAULT = Lex()


def expand(word: str, env: Mapping[str, str], *, escape: str = "\\") -> str:
    """Substitute variables and remove quotes in ``word`` (BuildKit ``ProcessWord``)."""
    lex = _DEFAULT if escape == "\\" else Lex(escape)
    return lex.process_word(word, env)


def expand_words(word: str, env: Mapping[str, str], *, escape: str = "\\") -> list[str]:
    """Like :func:`expand`, then split on unquoted whitespace (BuildKit ``ProcessWords``)."""
    lex = _DEFAULT if escape == "\\" else Lex(escape)
    return lex.process_words(word, env)
