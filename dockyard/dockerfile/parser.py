"""Dockerfile parser: text in, a checked list of instructions out.

A port of BuildKit's ``frontend/dockerfile/parser`` (lines → nodes) and the
checks of ``frontend/dockerfile/instructions`` (nodes → valid instructions),
which the classic builder of Docker 24+ vendors too.  No I/O: the builder
reads the file and hands the text over.

::

    df = parse(text)                      # raises DockerfileError("Dockerfile:7: unknown instruction: RUNN")
    for stage in df.stages():             # split at FROM; df.meta_args() are the ARGs before the first FROM
        stage.name, stage.base, stage.platform, stage.instructions
    print(dump(df))                       # BuildKit's Node.Dump(), byte for byte

Grammar, as BuildKit has it:

* parser directives (``# escape=`` with ``\\`` or backtick, ``# syntax=``,
  ``# check=``) are recognised only until the first line that is not one (an
  instruction, a comment, a blank line, an unknown directive); a directive
  given twice is an error, an unknown one ends the directive block;
* ``#`` starts a comment only as the first non-blank character of a line;
* the escape character at the end of a line (spaces and tabs may follow)
  continues the instruction; continuation lines are joined with nothing in
  between, keep their leading whitespace, and comment lines and blank lines
  inside a continuation are dropped (a blank one is reported in
  ``Dockerfile.warnings`` as BuildKit does);
* leading ``--name[=value]`` words are the instruction's flags (quotes and
  backslashes in them are processed); each instruction accepts exactly the
  flags BuildKit declares for it, others fail with ``unknown flag: name``;
* arguments are split per instruction the way BuildKit's ``dispatch`` table
  does (see :func:`dump`); ``RUN``/``CMD``/``ENTRYPOINT``/``SHELL`` take a
  JSON string array as exec form, anything that is not valid JSON is shell
  form, a JSON array holding a non-string is an error;
* ``RUN``, ``COPY``, ``ADD`` (also behind ``ONBUILD``) in shell form may
  carry heredocs ``<<EOF``, ``<<-EOF`` (leading tabs stripped),
  ``<<"EOF"``/``<<'EOF'`` (no expansion), ``2<<EOF``, several per line; the
  bodies follow the instruction in order, each up to its delimiter line;
* variable substitution is not done here: the builder calls :func:`expand`,
  :func:`expand_words` or :func:`expand_args` with the values in effect.

Errors are :class:`DockerfileError` (an ``InvalidArgument``) with BuildKit's
texts, prefixed by the file name and the first line of the instruction.
"""

from __future__ import annotations

import json
import re
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from dockyard.errdefs import InvalidArgument
from dockyard.dockerfile.shell_lex import (
    Lex,
    ShellLexError,
    expand,
    expand_words,
    go_isspace,
    go_quote,
)

__all__ = [
    "EXPANDED_KEYWORDS",
    "KEYWORDS",
    "Dockerfile",
    "DockerfileError",
    "Heredoc",
    "Healthcheck",
    "Instruction",
    "KeyValue",
    "Stage",
    "dump",
    "expand",
    "expand_args",
    "expand_words",
    "go_quote",
    "main",
    "parse",
]

KEYWORDS = (
    "add", "arg", "cmd", "copy", "entrypoint", "env", "expose", "from", "healthcheck", "label",
    "maintainer", "onbuild", "run", "shell", "stopsignal", "user", "volume", "workdir",
)

# The instructions whose arguments the builder expands with the ARG/ENV values
# in effect (BuildKit's Expand methods; FROM with the ARGs before the first FROM
# only). RUN, CMD, ENTRYPOINT, SHELL, HEALTHCHECK are left to the shell, ONBUILD
# triggers are expanded when they run, MAINTAINER never.
EXPANDED_KEYWORDS = frozenset(
    {"add", "arg", "copy", "env", "expose", "from", "label", "stopsignal", "user", "volume", "workdir"}
)

_RE_WHITESPACE = re.compile(r"[\t\v\f\r ]+")
_RE_DIRECTIVE = re.compile(r"#[\t\n\f\r ]*([a-zA-Z][a-zA-Z0-9]*)[\t\n\f\r ]*=[\t\n\f\r ]*(.+?)[\t\n\f\r ]*\Z")
_RE_HEREDOC = re.compile(r"([0-9]*)<<(-?)([^<]*)\Z")
_RE_LEADING_TABS = re.compile(r"^\t+", re.MULTILINE)
_RE_ONBUILD_PREFIX = re.compile(r"^[\t\n\f\r ]*ONBUILD[\t\n\f\r ]*", re.IGNORECASE)
_RE_STAGE_NAME = re.compile(r"[a-z][a-z0-9-_.]*\Z")
_KNOWN_DIRECTIVES = ("syntax", "escape", "check")
_MAX_LINE = 64 * 1024  # bufio.MaxScanTokenSize


class DockerfileError(InvalidArgument):
    """A Dockerfile Docker would refuse; ``str()`` is ``Dockerfile:7: unknown instruction: RUNN``.

    ``detail`` is the bare message, ``line``/``end_line`` the instruction's
    lines (0 when the error has no place), ``suggestion`` BuildKit's "did you
    mean" candidate where it would offer one (not part of the message).
    """

    def __init__(self, detail: str, *, line: int = 0, end_line: int = 0, filename: str = "Dockerfile",
                 suggestion: str = "") -> None:
        super().__init__(f"{filename}:{line}: {detail}" if line > 0 else detail)
        self.detail = detail
        self.line = line
        self.end_line = end_line or line
        self.filename = filename
        self.suggestion = suggestion


class _Err(Exception):
    """A parse error before its location is known."""

    def __init__(self, detail: str, suggestion: str = "") -> None:
        super().__init__(detail)
        self.detail = detail
        self.suggestion = suggestion


# --------------------------------------------------------------------------- AST


@dataclass(frozen=True)
class Heredoc:
    """One here-document: its delimiter word and the lines up to it.

    ``content`` is the body as written, line endings included; ``data`` is
    what the file or script gets (leading tabs stripped for ``<<-``).
    ``expand`` is false when any part of the delimiter was quoted.
    """

    name: str
    content: str = ""
    expand: bool = True
    chomp: bool = False
    fd: int = 0

    @property
    def data(self) -> str:
        return _RE_LEADING_TABS.sub("", self.content) if self.chomp else self.content


@dataclass(frozen=True)
class KeyValue:
    """An ENV or LABEL pair; ``value`` is raw (quotes kept, not expanded).

    ``separator`` is ``"="`` for ``KEY=value`` and ``""`` for the legacy
    ``ENV KEY value`` form.
    """

    key: str
    value: str
    separator: str


@dataclass(frozen=True)
class Healthcheck:
    """A HEALTHCHECK as the image config holds it; durations in nanoseconds, 0 = inherit."""

    test: tuple[str, ...]
    interval: int = 0
    timeout: int = 0
    start_period: int = 0
    start_interval: int = 0
    retries: int = 0


@dataclass(frozen=True)
class Instruction:
    """One instruction (BuildKit's top-level ``Node`` plus its checked flags).

    ``keyword`` is lower case, ``name`` as written.  ``args`` are the
    arguments split as :func:`dump` prints them (for ONBUILD: the trigger's
    keyword followed by its arguments).  ``flags`` are the raw ``--x=y``
    words, ``options`` every flag the instruction declares with its value or
    default (bools as ``bool``, repeatable flags as tuples).  ``json`` is true
    for the exec (JSON array) form.  ``original`` is the instruction text with
    continuations joined; ``start_line``/``end_line`` count from 1 and cover
    heredoc bodies.  ``sub`` is the trigger of an ONBUILD.
    """

    keyword: str
    name: str
    args: tuple[str, ...] = ()
    flags: tuple[str, ...] = ()
    json: bool = False
    original: str = ""
    start_line: int = 0
    end_line: int = 0
    heredocs: tuple[Heredoc, ...] = ()
    sub: Instruction | None = None
    comments: tuple[str, ...] = ()
    options: Mapping[str, Any] = field(default_factory=dict, hash=False)

    @property
    def text(self) -> str:
        """The instruction as the classic builder shows it in ``Step 1/5 : ...``."""
        return _trim_space(self.original)

    def dump(self) -> str:
        """This instruction in BuildKit's ``Node.Dump()`` form, without the parentheses."""
        out = self.keyword
        if self.flags:
            out += " [" + " ".join(go_quote(f) for f in self.flags) + "]"
        if self.sub is not None:
            out += " (" + self.sub.dump() + ")"
        else:
            for a in self.args:
                out += " " + go_quote(a)
        return _trim_space(out)

    # -- typed views, per instruction

    @property
    def cmdline(self) -> tuple[str, ...]:
        """RUN/CMD/ENTRYPOINT/SHELL (and HEALTHCHECK CMD) command: the JSON array, or the shell string."""
        args = self.args[1:] if self.keyword == "healthcheck" else self.args
        if not args:
            return ()
        return tuple(args) if self.json else (" ".join(args),)

    @property
    def prepend_shell(self) -> bool:
        """Whether :attr:`cmdline` runs through the SHELL (shell form)."""
        return not self.json

    @property
    def pairs(self) -> tuple[KeyValue, ...]:
        """ENV and LABEL pairs, raw."""
        a = self.args
        return tuple(KeyValue(a[i], a[i + 1], a[i + 2]) for i in range(0, len(a) - 2, 3))

    @property
    def arg_pairs(self) -> tuple[tuple[str, str | None], ...]:
        """ARG names with their raw default (``None`` when there is none)."""
        out = []
        for a in self.args:
            k, sep, v = a.partition("=")
            out.append((k, v if sep else None))
        return tuple(out)

    @property
    def sources(self) -> tuple[str | Heredoc, ...]:
        """COPY/ADD sources: paths, or the :class:`Heredoc` a ``<<EOF`` source names."""
        out: list[str | Heredoc] = []
        for src in self.args[:-1]:
            doc = _must_heredoc(src)
            if doc is None:
                out.append(src)
                continue
            body = next((h for h in self.heredocs if h.name == doc.name), None)
            out.append(Heredoc(doc.name, body.content if body else "", doc.expand, doc.chomp, doc.fd))
        return tuple(out)

    @property
    def dest(self) -> str:
        """COPY/ADD destination."""
        return self.args[-1] if self.args else ""

    @property
    def stage_name(self) -> str:
        """FROM ... AS name, lower-cased; empty without AS."""
        return self.args[2].lower() if len(self.args) == 3 else ""

    @property
    def healthcheck(self) -> Healthcheck | None:
        return _healthcheck(self) if self.keyword == "healthcheck" else None

    @property
    def onbuild_expression(self) -> str:
        """An ONBUILD's trigger as stored in the image config (``OnBuild``)."""
        expr = _RE_ONBUILD_PREFIX.sub("", self.original, count=1)
        for h in self.heredocs:
            expr += "\n" + h.content + h.name
        return expr


@dataclass(frozen=True)
class Stage:
    """One build stage: its FROM and the instructions up to the next FROM.

    ``base`` and ``platform`` are raw (the builder expands them with the meta
    ARGs); ``name`` is the lower-cased ``AS`` name or empty.
    """

    index: int
    name: str
    base: str
    platform: str
    from_instruction: Instruction
    instructions: tuple[Instruction, ...]


@dataclass(frozen=True)
class Dockerfile:
    """A parsed Dockerfile: instructions in order, plus the directives that applied."""

    instructions: tuple[Instruction, ...]
    escape: str = "\\"
    directives: Mapping[str, str] = field(default_factory=dict, hash=False)
    warnings: tuple[tuple[int, str], ...] = ()
    filename: str = "Dockerfile"

    def meta_args(self) -> list[Instruction]:
        """The ARG instructions before the first FROM (their values scope FROM lines)."""
        out = []
        for ins in self.instructions:
            if ins.keyword != "arg":
                break
            out.append(ins)
        return out

    def stages(self) -> list[Stage]:
        """Split at FROM; raises on an instruction other than ARG before the first FROM.

        A stage name used twice is allowed (BuildKit only warns, see
        ``Dockerfile.warnings``); the builder resolves a name to its first stage.
        """
        stages: list[Stage] = []
        current: list[Instruction] = []
        head: Instruction | None = None

        def close() -> None:
            if head is not None:
                stages.append(Stage(len(stages), head.stage_name, head.args[0],
                                    head.options.get("platform", ""), head, tuple(current)))

        started = False
        for ins in self.instructions:
            if not started and ins.keyword == "arg":
                continue
            started = True
            if ins.keyword == "from":
                close()
                head, current = ins, []
            elif head is None:
                raise self._error("no build stage in current context", ins)
            else:
                current.append(ins)
        close()
        return stages

    def dump(self) -> str:
        return dump(self)

    def _error(self, detail: str, ins: Instruction) -> DockerfileError:
        return DockerfileError(detail, line=ins.start_line, end_line=ins.end_line, filename=self.filename)


# --------------------------------------------------------------------------- helpers


def _trim_space(s: str) -> str:
    """Go's ``strings.TrimSpace``."""
    i, j = 0, len(s)
    while i < j and s[i] in _GO_SPACE_SET:
        i += 1
    while j > i and s[j - 1] in _GO_SPACE_SET:
        j -= 1
    return s[i:j]


def _trim_left_space(s: str) -> str:
    i = 0
    while i < len(s) and s[i] in _GO_SPACE_SET:
        i += 1
    return s[i:]


_GO_SPACE_SET = frozenset(c for c in map(chr, range(0x3001)) if go_isspace(c))
_BYTE_SPACES = frozenset(b"\t\n\v\f\r \x85\xa0")  # unicode.IsSpace(rune(byte))


def _trim_newline(s: str) -> str:
    return s.rstrip("\r\n")


def _is_comment(line: str) -> bool:
    return _trim_left_space(_trim_newline(line)).startswith("#")


def _utf8(s: str) -> bytes:
    return s.encode("utf-8", "surrogateescape")


def _str(b: bytes) -> str:
    return b.decode("utf-8", "surrogateescape")


def _split_lines(text: str) -> list[str]:
    """Lines with their line endings, as BuildKit's scanner hands them out."""
    lines = text.split("\n")
    out = [ln + "\n" for ln in lines[:-1]]
    if lines[-1]:
        out.append(lines[-1])
    return out


# --------------------------------------------------------------------------- line-level parsing


class _Directives:
    """Parser directives: recognised only at the very top of the file."""

    def __init__(self) -> None:
        self.escape = "\\"
        self.continuation = re.compile(r"\\[ \t]*\Z")
        self.done = False
        self.seen: dict[str, str] = {}

    def possible(self, line: str) -> None:
        if self.done:
            return
        m = _RE_DIRECTIVE.match(line)
        if m is None:
            self.done = True
            return
        key = m.group(1).lower()
        if key not in _KNOWN_DIRECTIVES:
            self.done = True
            return
        if key in self.seen:
            raise _Err(f"only one {key} parser directive can be used")
        value = m.group(2)
        self.seen[key] = value
        if key == "escape":
            if value not in ("`", "\\"):
                raise _Err(f"invalid escape token '{value}' does not match ` or \\")
            self.escape = value
            self.continuation = re.compile(re.escape(value) + r"[ \t]*\Z")

    def trim_continuation(self, line: str) -> tuple[str, bool]:
        m = self.continuation.search(line)
        if m is None:
            return line, True
        return line[: m.start()], False


@dataclass
class _Node:
    """A raw parser node: what BuildKit's parser builds before the instruction checks."""

    value: str
    flags: list[str]
    args: list[str]
    json: bool
    original: str
    sub: _Node | None = None
    heredocs: list[Heredoc] = field(default_factory=list)
    comments: list[str] = field(default_factory=list)
    start: int = 0
    end: int = 0

    def can_contain_heredoc(self) -> bool:
        node = self
        if node.value.lower() == "onbuild" and node.sub is not None:
            node = node.sub
        return node.value.lower() in ("add", "copy", "run") and not node.json


def _extract_flags(line: str) -> tuple[str, list[str]]:
    """Leading ``--flag`` words (BuildKit ``extractBuilderFlags``, byte by byte like Go)."""
    b = _utf8(line)
    n = len(b)
    words: list[str] = []
    word = ""
    phase = 0  # 0 spaces, 1 word, 2 quote
    quote = 0
    blank_ok = False
    pos = 0
    while pos <= n:
        ch = b[pos] if pos < n else -1
        if phase == 0:
            if pos == n:
                break
            if ch in _BYTE_SPACES:
                pos += 1
                continue
            if ch != 0x2D or pos + 1 == n or b[pos + 1] != 0x2D:
                return _str(b[pos:]), words
            phase = 1
        if pos == n:
            if word != "--" and (blank_ok or word):
                words.append(word)
            break
        if phase == 1:
            if ch in _BYTE_SPACES:
                phase = 0
                if word == "--":
                    return _str(b[pos:]), words
                if blank_ok or word:
                    words.append(word)
                word = ""
                blank_ok = False
                pos += 1
                continue
            if ch in (0x27, 0x22):
                quote = ch
                blank_ok = True
                phase = 2
                pos += 1
                continue
            if ch == 0x5C:
                if pos + 1 == n:
                    pos += 1
                    continue
                pos += 1
                ch = b[pos]
            word += chr(ch)  # Go: string(rune(byte)) - bytes >= 0x80 become Latin-1 runes
            pos += 1
            continue
        # phase 2: in quotes
        if ch == quote:
            phase = 1
            pos += 1
            continue
        if ch == 0x5C:
            if pos + 1 == n:
                phase = 1
                pos += 1
                continue
            pos += 1
            ch = b[pos]
        word += chr(ch)
        pos += 1
    return "", words


def _split_command(line: str) -> tuple[str, list[str], str]:
    parts = _RE_WHITESPACE.split(_trim_space(line), maxsplit=1)
    flags: list[str] = []
    rest = ""
    if len(parts) == 2:
        rest, flags = _extract_flags(parts[1])
    return parts[0], flags, _trim_space(rest)


def _parse_words(rest: str, esc: str) -> list[str]:
    """Space-separated words, quotes kept (BuildKit ``parseWords``)."""
    words: list[str] = []
    phase = 0
    word = ""
    quote = ""
    blank_ok = False
    n = len(rest)
    pos = 0
    while pos <= n:
        ch = rest[pos] if pos < n else ""
        if phase == 0:
            if pos == n:
                break
            if go_isspace(ch):
                pos += 1
                continue
            phase = 1
        if pos == n:
            if blank_ok or word:
                words.append(word)
            break
        if phase == 1:
            if go_isspace(ch):
                phase = 0
                if blank_ok or word:
                    words.append(word)
                word = ""
                blank_ok = False
                pos += 1
                continue
            if ch in ("'", '"'):
                quote = ch
                blank_ok = True
                phase = 2
            if ch == esc:
                if pos + 1 == n:
                    pos += 1
                    continue
                word += ch
                pos += 1
                ch = rest[pos]
            word += ch
            pos += 1
            continue
        # phase 2
        if ch == quote:
            phase = 1
        if ch == esc and quote != "'":
            if pos + 1 == n:
                phase = 1
                pos += 1
                continue
            word += ch
            pos += 1
            ch = rest[pos]
        word += ch
        pos += 1
    return words


class _NotStringArray(Exception):
    pass


def _reject_constant(name: str) -> Any:
    raise ValueError(name)  # NaN/Infinity are not JSON to Go


def _fix_surrogates(s: str) -> str:
    # Go's decoder turns invalid \uD800-style escapes into U+FFFD; keep bytes from surrogateescape.
    return "".join("\ufffd" if 0xD800 <= ord(c) <= 0xDFFF and not 0xDC80 <= ord(c) <= 0xDCFF else c
                   for c in s) if any(0xD800 <= ord(c) <= 0xDFFF for c in s) else s


def _parse_json(rest: str) -> list[str] | None:
    """A JSON array of strings, ``None`` when ``rest`` is not JSON (BuildKit ``parseJSON``)."""
    rest = _trim_left_space(rest)
    if not rest.startswith("["):
        return None
    try:
        value = json.loads(rest, parse_constant=_reject_constant)
    except (ValueError, RecursionError):
        return None
    if not isinstance(value, list):
        return None
    for v in value:
        if not isinstance(v, str):
            raise _NotStringArray
    return [_fix_surrogates(v) for v in value]


_NOT_STRING_ARRAY = "when using JSON array syntax, arrays must be comprised of strings only"


def _maybe_json(rest: str) -> tuple[list[str], bool]:
    if rest == "":
        return [], False
    try:
        arr = _parse_json(rest)
    except _NotStringArray:
        raise _Err(_NOT_STRING_ARRAY) from None
    if arr is not None:
        return arr, True
    return [rest], False


def _maybe_json_to_list(rest: str) -> tuple[list[str], bool]:
    try:
        arr = _parse_json(rest)
    except _NotStringArray:
        raise _Err(_NOT_STRING_ARRAY) from None
    if arr is not None:
        return arr, True
    return _whitespace_split(rest), False


def _whitespace_split(rest: str) -> list[str]:
    return _RE_WHITESPACE.split(rest) if rest else []


def _name_val(rest: str, key: str, esc: str) -> list[str]:
    words = _parse_words(rest, esc)
    if not words:
        return []
    if "=" not in words[0]:
        parts = _RE_WHITESPACE.split(rest, maxsplit=1)
        if len(parts) < 2:
            raise _Err(f"{key} must have two arguments")
        return [parts[0], parts[1], ""]
    out: list[str] = []
    for w in words:
        if "=" not in w:
            raise _Err(f"Syntax error - can't find = in {go_quote(w)}. Must be of the form: name=value")
        k, _, v = w.partition("=")
        out += [k, v, "="]
    return out


def _health_config(rest: str) -> tuple[list[str], bool]:
    b = _utf8(rest)  # Go walks this one byte by byte
    sep = 0
    while sep < len(b) and b[sep] not in _BYTE_SPACES:
        sep += 1
    nxt = sep
    while nxt < len(b) and b[nxt] in _BYTE_SPACES:
        nxt += 1
    if sep == 0:
        return [], False
    args, is_json = _maybe_json(_str(b[nxt:]))
    return [_str(b[:sep])] + args, is_json


def _node_from_line(line: str, d: _Directives, comments: list[str]) -> _Node:
    cmd, flags, rest = _split_command(line)
    kw = cmd.lower()
    sub = None
    is_json = False
    if kw in ("add", "copy", "volume"):
        args, is_json = _maybe_json_to_list(rest)
    elif kw in ("cmd", "entrypoint", "run", "shell"):
        args, is_json = _maybe_json(rest)
    elif kw in ("expose", "from"):
        args = _whitespace_split(rest)
    elif kw in ("maintainer", "stopsignal", "user", "workdir"):
        args = [rest] if rest else []
    elif kw == "arg":
        args = _parse_words(rest, d.escape)
    elif kw == "env":
        args = _name_val(rest, "ENV", d.escape)
    elif kw == "label":
        args = _name_val(rest, "LABEL", d.escape)
    elif kw == "healthcheck":
        args, is_json = _health_config(rest)
    elif kw == "onbuild":
        args = []
        if rest:
            sub = _node_from_line(rest, d, [])
            args = [sub.value, *sub.args]
    else:
        args = [""]  # BuildKit's parseIgnore: one empty node; rejected by the checks
    return _Node(cmd, flags, args, is_json, line, sub, comments=list(comments))


def _heredoc_from_word(word: str) -> Heredoc | None:
    """BuildKit ``ParseHeredoc``: ``[n]<<[-]WORD`` or ``None``."""
    m = _RE_HEREDOC.match(word)
    if m is None or not m.group(3):
        return None
    rest = m.group(3)
    try:
        words = Lex("\\", skip_unset=True).process_words(rest, {})
        raw = Lex("\\", skip_unset=True, raw_quotes=True).process_words(rest, {})
    except ShellLexError as e:
        raise _Err(str(e)) from None
    if len(words) != 1:
        return None
    if len(raw) != 1:
        raise _Err(f"internal lexing of heredoc produced inconsistent results: {rest}")
    quotes = words[0].count("'") + words[0].count('"')
    raw_quotes = raw[0].count("'") + raw[0].count('"')
    return Heredoc(words[0], expand=quotes == raw_quotes, chomp=m.group(2) == "-",
                   fd=int(m.group(1) or "0"))


def _must_heredoc(word: str) -> Heredoc | None:
    """BuildKit ``MustParseHeredoc``: like ``_heredoc_from_word`` with errors read as "no heredoc"."""
    try:
        return _heredoc_from_word(word)
    except _Err:
        return None


def _heredocs_from_line(line: str) -> list[Heredoc]:
    try:
        words = Lex("\\", raw_quotes=True, raw_escapes=True).process_words(line, {})
    except ShellLexError:
        return []  # BuildKit ignores this error: no heredocs
    out = []
    for w in words:
        doc = _heredoc_from_word(w)
        if doc is not None:
            out.append(doc)
    return out


def _parse_nodes(text: str) -> tuple[list[_Node], _Directives, list[tuple[int, str]]]:
    """BuildKit's ``parser.Parse``: lines → raw nodes, with line numbers."""
    d = _Directives()
    lines = _split_lines(text)
    nodes: list[_Node] = []
    warnings: list[tuple[int, str]] = []
    comments: list[str] = []
    i = 0
    n = len(lines)

    def raw(k: int) -> str:
        ln = lines[k]
        if len(ln) > _MAX_LINE // 4 and len(_utf8(ln)) > _MAX_LINE:
            raise _Located(f"dockerfile line greater than max allowed size of {_MAX_LINE - 1}", k, 0)
        return ln

    def process(line: str, strip_left: bool, where: int) -> str:
        token = _trim_newline(line)
        if strip_left:
            token = _trim_left_space(token)
        try:
            d.possible(token)
        except _Err as e:
            raise _Located(e.detail, where, 0) from None
        return "" if _is_comment(token) else token

    while i < n:
        first = raw(i)
        if i == 0 and first.startswith("\ufeff"):
            first = first[1:]
        if _is_comment(first):
            comment = _trim_space(first[1:])  # sic: BuildKit slices the unstripped line
            if comment == "":
                comments = []
            else:
                comments.append(comment)
        token = process(first, True, i + 1)
        i += 1
        start = i
        token, eol = d.trim_continuation(token)
        if eol and token == "":
            continue
        buf = [token]
        empty_continuation = False
        while not eol and i < n:
            nxt = raw(i)
            cont = process(nxt, False, i + 1)
            i += 1
            if _is_comment(nxt):
                continue
            if _trim_left_space(_trim_newline(cont)) == "":
                empty_continuation = True
                continue
            cont, eol = d.trim_continuation(cont)
            buf.append(cont)
        line = "".join(buf)
        if empty_continuation:
            warnings.append((i, "Empty continuation line found in: " + line))
        try:
            node = _node_from_line(line, d, comments)
            docs = _heredocs_from_line(line) if node.can_contain_heredoc() and "<<" in line else []
        except _Err as e:
            raise _Located(e.detail, start, i) from None
        for doc in docs:
            body = []
            terminated = False
            while i < n:
                ln = raw(i)
                i += 1
                candidate = _trim_newline(ln)
                if doc.chomp:
                    candidate = candidate.lstrip("\t")
                if candidate == doc.name:
                    terminated = True
                    break
                body.append(ln)
            if not terminated:
                raise _Located("unterminated heredoc", start, i)
            node.heredocs.append(Heredoc(doc.name, "".join(body), doc.expand, doc.chomp, doc.fd))
        node.start, node.end = start, i
        nodes.append(node)
        comments = []
    if not nodes:
        raise _Located("file with no instructions", i, 0)
    return nodes, d, warnings


class _Located(Exception):
    def __init__(self, detail: str, line: int, end: int, suggestion: str = "") -> None:
        super().__init__(detail)
        self.detail = detail
        self.line = line
        self.end = end
        self.suggestion = suggestion


# --------------------------------------------------------------------------- instruction checks

_BOOL, _STR, _STRS = "bool", "string", "strings"

_FLAGS: dict[str, dict[str, tuple[str, Any]]] = {
    "add": {"chown": (_STR, ""), "chmod": (_STR, ""), "link": (_BOOL, False), "keep-git-dir": (_BOOL, False),
            "checksum": (_STR, ""), "unpack": (_BOOL, None), "exclude": (_STRS, ())},
    "copy": {"chown": (_STR, ""), "from": (_STR, ""), "chmod": (_STR, ""), "link": (_BOOL, False),
             "parents": (_BOOL, False), "exclude": (_STRS, ())},
    "from": {"platform": (_STR, "")},
    "run": {"mount": (_STRS, ()), "network": (_STR, "default"), "security": (_STR, "sandbox")},
    "healthcheck": {"interval": (_STR, ""), "timeout": (_STR, ""), "start-period": (_STR, ""),
                    "start-interval": (_STR, ""), "retries": (_STR, "")},
}


def _parse_flags(node: _Node, declared: Mapping[str, tuple[str, Any]]) -> dict[str, Any]:
    """BuildKit ``BFlags.Parse``."""
    values = {k: v for k, (_, v) in declared.items()}
    used: set[str] = set()
    for arg in node.flags:
        if not arg.startswith("--"):
            raise _Err(f"arg should start with -- : {arg}")
        if arg == "--":
            break
        name, has_value, value = arg[2:].partition("=")
        if name not in declared:
            raise _Err(f"unknown flag: {name}", _suggest(name, list(declared), case_sensitive=True))
        kind = declared[name][0]
        if name in used and kind != _STRS:
            raise _Err(f"duplicate flag specified: {name}")
        used.add(name)
        if kind == _BOOL:
            if has_value and value == "":
                raise _Err(f"missing a value on flag: {name}")
            low = value.lower()
            if low in ("true", ""):
                values[name] = True
            elif low == "false":
                values[name] = False
            else:
                raise _Err(f"expecting boolean value for flag {name}, not: {value}")
        elif kind == _STR:
            if not has_value:
                raise _Err(f"missing a value on flag: {name}")
            values[name] = value
        else:
            if not has_value:
                raise _Err(f"missing a value on flag: {name}")
            values[name] = (*values[name], value)
    return values


def _levenshtein(a: str, b: str) -> int:
    prev = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        cur = [i]
        for j, cb in enumerate(b, 1):
            cur.append(min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (ca != cb)))
        prev = cur
    return prev[-1]


def _suggest(value: str, options: list[str], *, case_sensitive: bool) -> str:
    """BuildKit's ``suggest.Search``: the closest option when it is close enough."""
    v = value if case_sensitive else value.lower()
    best, best_dist = "", 0
    for opt in options:
        o = opt if case_sensitive else opt.lower()
        dist = _levenshtein(v, o)
        if best == "" or dist < best_dist:
            best, best_dist = o, dist
    if not best or best_dist == 0 or best_dist > max(1, len(v) // 3):
        return ""
    return best


def _err_exactly_one(cmd: str) -> _Err:
    return _Err(f"{cmd} requires exactly one argument")


def _err_at_least_one(cmd: str) -> _Err:
    return _Err(f"{cmd} requires at least one argument")


def _err_no_destination(cmd: str) -> _Err:
    return _Err(f"{cmd} requires at least two arguments, but only one was provided. Destination could not be determined")


def _check_kvps(args: list[str], cmd: str) -> None:
    if not args:
        raise _err_at_least_one(cmd)
    if len(args) % 3:
        raise _Err(f"Bad input to {cmd}, too many arguments")
    for i in range(0, len(args), 3):
        if args[i] == "":
            raise _Err(f"{cmd} names can not be blank")


def _check(node: _Node) -> dict[str, Any]:
    """The per-instruction checks of BuildKit's ``instructions.ParseInstruction``; returns the flags."""
    kw = node.value.lower()
    args = node.args
    declared = _FLAGS.get(kw, {})
    if kw in ("env", "label"):
        opts = _parse_flags(node, declared)
        _check_kvps(args, kw.upper())
        return opts
    if kw in ("maintainer", "workdir", "user", "stopsignal"):
        if len(args) != 1:
            raise _err_exactly_one(kw.upper())
        return _parse_flags(node, declared)
    if kw in ("add", "copy"):
        if len(args) < 2:
            raise _err_no_destination(kw.upper())
        opts = _parse_flags(node, declared)
        if _must_heredoc(args[-1]) is not None:
            raise _Err(f"{kw.upper()} cannot accept a heredoc as a destination")
        return opts
    if kw == "from":
        if len(args) == 3 and args[1].lower() == "as":
            if not _RE_STAGE_NAME.match(args[2].lower()):
                raise _Err(f"invalid name for build stage: {go_quote(args[2])}, "
                           "name can't start with a number or contain symbols")
        elif len(args) != 1:
            raise _Err("FROM requires either one or three arguments")
        return _parse_flags(node, declared)
    if kw == "onbuild":
        if not args:
            raise _err_at_least_one("ONBUILD")
        opts = _parse_flags(node, declared)
        trigger = _trim_space(args[0]).upper()
        if trigger == "ONBUILD":
            raise _Err("Chaining ONBUILD via `ONBUILD ONBUILD` isn't allowed")
        if trigger in ("MAINTAINER", "FROM"):
            raise _Err(f"{trigger} isn't allowed as an ONBUILD trigger")
        return opts
    if kw == "run":
        opts = _parse_flags(node, declared)
        if opts["network"] not in ("default", "none", "host"):
            raise _Err(f"unsupported network mode {go_quote(opts['network'])}")
        if opts["security"] not in ("sandbox", "insecure"):
            raise _Err(f"unsupported security mode {go_quote(opts['security'])}")
        return opts
    if kw in ("cmd", "entrypoint"):
        return _parse_flags(node, declared)
    if kw == "healthcheck":
        if not args:
            raise _err_at_least_one("HEALTHCHECK")
        if args[0].upper() == "NONE":
            if len(args) > 1:
                raise _Err("HEALTHCHECK NONE takes no arguments")
            return {}
        opts = _parse_flags(node, declared)
        _health_from(args, node.json, opts)
        return opts
    if kw == "expose":
        if not args:
            raise _err_at_least_one("EXPOSE")
        return _parse_flags(node, declared)
    if kw == "volume":
        if not args:
            raise _err_at_least_one("VOLUME")
        opts = _parse_flags(node, declared)
        if any(_trim_space(v) == "" for v in args):
            raise _Err("VOLUME specified can not be an empty string")
        return opts
    if kw == "arg":
        if not args:
            raise _err_at_least_one("ARG")
        return _parse_flags(node, declared)
    if kw == "shell":
        opts = _parse_flags(node, declared)
        if not args:
            raise _err_at_least_one("SHELL")
        if not node.json:
            raise _Err("SHELL requires the arguments to be in JSON form")
        return opts
    raise _Err(f"unknown instruction: {node.value}", _suggest(node.value, list(KEYWORDS), case_sensitive=False))


# -- HEALTHCHECK values

_UNITS = {"ns": 1, "us": 1_000, "\u00b5s": 1_000, "\u03bcs": 1_000, "ms": 1_000_000, "s": 1_000_000_000,
          "m": 60_000_000_000, "h": 3_600_000_000_000}
_RE_DURATION_PART = re.compile(r"([0-9]*)(?:\.([0-9]*))?([^0-9.]*)")


def go_duration(s: str) -> int:
    """Go's ``time.ParseDuration``, in nanoseconds; raises ``ValueError`` with Go's message."""
    orig = s
    bad = ValueError(f"time: invalid duration {go_quote(orig)}")
    neg = False
    if s[:1] in ("-", "+"):
        neg = s[0] == "-"
        s = s[1:]
    if s == "0":
        return 0
    if s == "":
        raise bad
    total = 0
    while s:
        m = _RE_DURATION_PART.match(s)
        whole, frac, unit = m.group(1), m.group(2), m.group(3)
        if whole == "" and not frac:
            raise bad
        if unit == "":
            raise ValueError(f"time: missing unit in duration {go_quote(orig)}")
        # the unit runs up to the next digit or dot
        if unit not in _UNITS:
            raise ValueError(f"time: unknown unit {go_quote(unit)} in duration {go_quote(orig)}")
        scale = _UNITS[unit]
        value = int(whole or "0") * scale
        if frac:
            value += int(frac) * scale // (10 ** len(frac))
        total += value
        if total > (1 << 63) - 1:
            raise bad
        s = s[m.end():]
    return -total if neg else total


def _health_duration(name: str, value: str) -> int:
    if value == "":
        return 0
    try:
        d = go_duration(value)
    except ValueError as e:
        raise _Err(str(e)) from None
    if d == 0:
        return 0
    if d < 1_000_000:
        raise _Err(f"Interval {go_quote(name)} cannot be less than 1ms")
    return d


def _health_from(args: list[str] | tuple[str, ...], is_json: bool, opts: Mapping[str, Any]) -> Healthcheck:
    typ = args[0].upper()
    if typ == "NONE":
        return Healthcheck(("NONE",))
    if typ != "CMD":
        raise _Err(f"Unknown type {go_quote(typ)} in HEALTHCHECK (try CMD)")
    rest = list(args[1:])
    if not rest:
        raise _Err("Missing command after HEALTHCHECK CMD")
    test = ("CMD", *rest) if is_json else ("CMD-SHELL", " ".join(rest))
    durations = {k: _health_duration(k, opts.get(k, "")) for k in
                 ("interval", "timeout", "start-period", "start-interval")}
    retries = 0
    raw = opts.get("retries", "")
    if raw != "":
        if not re.fullmatch(r"[+-]?[0-9]+", raw):
            raise _Err(f"strconv.ParseInt: parsing {go_quote(raw)}: invalid syntax")
        retries = int(raw)
        if not -(1 << 31) <= retries < (1 << 31):
            raise _Err(f"strconv.ParseInt: parsing {go_quote(raw)}: value out of range")
        if retries < 0:
            raise _Err(f"--retries cannot be negative ({retries})")
    return Healthcheck(test, durations["interval"], durations["timeout"], durations["start-period"],
                       durations["start-interval"], retries)


def _healthcheck(ins: Instruction) -> Healthcheck:
    return _health_from(ins.args, ins.json, ins.options)


# --------------------------------------------------------------------------- public API


def _instruction(node: _Node, options: dict[str, Any]) -> Instruction:
    sub = None
    if node.sub is not None:
        s = node.sub
        sub = Instruction(s.value.lower(), s.value, tuple(s.args), tuple(s.flags), s.json, s.original,
                          node.start, node.end)
    return Instruction(
        keyword=node.value.lower(), name=node.value, args=tuple(node.args), flags=tuple(node.flags),
        json=node.json, original=node.original, start_line=node.start, end_line=node.end,
        heredocs=tuple(node.heredocs), sub=sub, comments=tuple(node.comments), options=options,
    )


def parse(text: str, *, filename: str = "Dockerfile", strict: bool = True) -> Dockerfile:
    """Parse and check a Dockerfile; raises :class:`DockerfileError` where Docker would refuse it.

    ``text`` should be decoded with ``surrogateescape`` if it may hold bytes
    that are not UTF-8 (they are dumped as ``\\xNN`` like Go does).

    ``strict=False`` stops after BuildKit's *parser* (``parser.Parse``): the
    per-instruction checks (unknown instructions and flags, argument counts,
    HEALTHCHECK values...) are skipped and such instructions get empty
    ``options``.  That is what BuildKit's ``Node.Dump()`` tests compare; the
    builder always wants the default.
    """
    if text == "" and strict:
        raise DockerfileError(f"the Dockerfile ({filename}) cannot be empty", filename=filename)
    try:
        nodes, directives, warnings = _parse_nodes(text)
    except _Located as e:
        raise DockerfileError(e.detail, line=e.line, end_line=e.end, filename=filename,
                              suggestion=e.suggestion) from None
    out = []
    stage_names: set[str] = set()
    for node in nodes:
        try:
            options = _check(node)
        except _Err as e:
            if not strict:
                out.append(_instruction(node, {}))
                continue
            raise DockerfileError(e.detail, line=node.start, end_line=node.end, filename=filename,
                                  suggestion=e.suggestion) from None
        ins = _instruction(node, options)
        if ins.keyword == "from" and ins.stage_name:
            if ins.stage_name in stage_names:
                warnings.append((ins.start_line, f"Duplicate stage name {go_quote(ins.stage_name)}, "
                                                 "stage names should be unique"))
            stage_names.add(ins.stage_name)
        out.append(ins)
    return Dockerfile(tuple(out), directives.escape, dict(directives.seen), tuple(warnings), filename)


def dump(ast: Dockerfile) -> str:
    """BuildKit's ``Node.Dump()`` of the whole file (no trailing newline, as Go returns it).

    One line per instruction: ``(`` + lower-case keyword, the flags as
    ``["--from=builder"]`` if any, each argument Go-quoted, ``)``.  ONBUILD
    nests its trigger: ``(onbuild (run "echo" "hi"))``.  Heredoc bodies are
    not printed.
    """
    return _trim_space("".join("(" + ins.dump() + ")\n" for ins in ast.instructions))


def expand_args(ins: Instruction, env: Mapping[str, str], *, escape: str = "\\") -> tuple[str, ...]:
    """The instruction's arguments with variables substituted the way BuildKit does it.

    ENV/LABEL: keys and values expanded, separators kept.  ARG: name and
    default expanded (``NAME=value`` / ``NAME``).  EXPOSE: each word expanded
    and split.  FROM: the image word only.  ADD/COPY: every path except
    heredoc sources.  VOLUME/USER/WORKDIR/STOPSIGNAL: every argument.  Any
    other instruction comes back unchanged.  Raises ``ShellLexError``.
    """
    kw = ins.keyword
    args = ins.args

    def x(word: str) -> str:
        return expand(word, env, escape=escape)

    if kw in ("env", "label"):
        out: list[str] = []
        for kv in ins.pairs:
            out += [x(kv.key), x(kv.value), kv.separator]
        return tuple(out)
    if kw == "arg":
        return tuple(x(k) if v is None else f"{x(k)}={x(v)}" for k, v in ins.arg_pairs)
    if kw == "expose":
        return tuple(w for a in args for w in expand_words(a, env, escape=escape))
    if kw == "from":
        return (x(args[0]), *args[1:]) if args else args
    if kw in ("add", "copy"):
        return tuple(a if i < len(args) - 1 and _must_heredoc(a) else x(a) for i, a in enumerate(args))
    if kw in ("volume", "user", "workdir", "stopsignal"):
        return tuple(x(a) for a in args)
    return args


def main(argv: list[str] | None = None) -> int:
    """``python -m dockyard.dockerfile.parser [--parser-only] FILE``: print the parse as BuildKit dumps it.

    Exit status 1 with the ``Dockerfile:N: ...`` message on stderr when the
    file is refused; ``--parser-only`` refuses only what BuildKit's parser
    refuses (see :func:`parse`), ``-`` reads standard input.
    """
    import os

    argv = list(sys.argv[1:] if argv is None else argv)
    strict = "--parser-only" not in argv
    argv = [a for a in argv if a != "--parser-only"]
    if len(argv) != 1:
        print("usage: python -m dockyard.dockerfile.parser [--parser-only] DOCKERFILE|-", file=sys.stderr)
        return 2
    path = argv[0]
    try:
        if path == "-":
            data = sys.stdin.buffer.read()
            name = "Dockerfile"
        else:
            with open(path, "rb") as f:
                data = f.read()
            name = os.path.basename(path)
    except OSError as e:
        print(f"failed to read {path}: {e.strerror}", file=sys.stderr)
        return 1
    try:
        ast = parse(data.decode("utf-8", "surrogateescape"), filename=name, strict=strict)
    except DockerfileError as e:
        print(str(e), file=sys.stderr)
        return 1
    sys.stdout.buffer.write(dump(ast).encode("utf-8") + b"\n")
    sys.stdout.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main())
