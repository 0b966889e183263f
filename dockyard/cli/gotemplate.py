"""Go ``text/template`` as docker's CLI uses it for ``--format``.

A pure-Python port of Go's ``text/template`` (lexer, parser, executor), the ``fmt``
verbs, ``encoding/json`` output and the functions docker/cli adds (``json split join
title lower upper pad truncate``).  Outputs and error messages follow Go 1.24 /
docker CLI 28 byte for byte where the data model allows it; the unit tests hold
outputs recorded from the real docker CLI.

Interface: ``render(template, data)``; ``parse(template)`` gives a cached
``Template`` whose ``execute(data)`` renders it; failures raise ``TemplateError``
(``TemplateSyntaxError`` or ``TemplateExecError``, the latter carrying the output
written before the error as ``partial``).  ``name=`` is the template name in
messages (docker: "" for most commands, so ``template: :1: ...``), ``funcs=``
adds functions (callables, or ``GoFunc`` with a Go signature; ``HEADER_FUNCS`` is
docker's set for table headers), ``missingkey=`` is Go's option of that name.
Docker's formatter, not this module, strips the ``table`` prefix and turns the
two-character sequences ``\\t`` and ``\\n`` of a format into tab and newline.

Data model: ``dict`` is a Go ``map[string]interface{}``, ``list``/``tuple`` a
``[]interface{}``, ``str``/``int``/``float``/``bool`` the Go basic kinds and
``None`` a nil interface (JSON ``null``).  A field ``.Foo`` looks up the key
``"Foo"``; a callable found that way is called (with the arguments given in the
template, if any), so callers can pass lazily computed fields.  Other objects
expose their public attributes and methods as fields.

Deliberate differences from Go, all caused by untyped JSON data:

* ``json`` keeps dict insertion order (a Go struct keeps field order, a Go map
  sorts); build dicts in the order you want (sorted, for docker's ``ps`` and
  ``images`` contexts, whose ``{{json .}}`` Go renders from a map).
* ``join`` accepts any list whose items are all strings (Go wants ``[]string``).
* A missing key or JSON ``null`` prints ``<no value>`` like on Go maps; docker
  renders typed structs, where a nil slice prints ``[]`` and a nil map ``map[]``.
* Strings are Python text: ``\\xff`` escapes and byte-wise ``truncate``/``slice``
  that split a UTF-8 sequence yield U+FFFD where Go would emit raw bytes.
* Nested ``{{template}}`` calls stop at depth 100 (Go: 100000).

Nothing is compiled at import time; parsed templates are cached.
"""

from __future__ import annotations

import math
from functools import lru_cache

TYPE_CHECKING = False
if TYPE_CHECKING:  # typing costs ~2ms to import; annotations are strings anyway
    from typing import Any, Callable, Mapping

__all__ = [
    "GoFunc",
    "HEADER_FUNCS",
    "Template",
    "TemplateError",
    "TemplateExecError",
    "TemplateSyntaxError",
    "parse",
    "render",
]


class TemplateError(Exception):
    """A template failed to parse or execute; the message is shaped like Go's."""


class TemplateSyntaxError(TemplateError):
    """The template text is invalid (docker: "template parsing error")."""


class TemplateExecError(TemplateError):
    """Execution failed; ``partial`` holds the output written before the error."""

    partial: str = ""


class _Missing:
    """Go's invalid reflect.Value: a missing map key, or no data at all."""

    __slots__ = ()

    def __repr__(self) -> str:
        return "<no value>"


MISSING: Any = _Missing()
_NOFINAL: Any = object()  # Go's missingVal: no value piped in from the previous command


class _FuncError(Exception):
    """Raised by template functions; becomes ``error calling NAME: MSG``."""


class _Break(Exception):
    pass


class _Continue(Exception):
    pass


_SPACES = " \t\r\n"

# ---------------------------------------------------------------------------
# Lexer (text/template/parse/lex.go)
# ---------------------------------------------------------------------------

(_ERROR, _BOOL, _CHAR, _CHARCONST, _COMMENT, _COMPLEX, _ASSIGN, _DECLARE, _EOF, _FIELD,
 _IDENT, _LDELIM, _LPAREN, _NUMBER, _PIPE, _RAWSTRING, _RDELIM, _RPAREN, _SPACE, _STRING,
 _TEXT, _VARIABLE) = range(22)
_KEYWORD = 100
(_DOT, _BLOCK, _BREAK, _CONTINUE, _DEFINE, _ELSE, _END, _IF, _NIL, _RANGE, _TEMPLATE,
 _WITH) = range(101, 113)
_KEYWORDS = {".": _DOT, "block": _BLOCK, "break": _BREAK, "continue": _CONTINUE,
             "define": _DEFINE, "else": _ELSE, "end": _END, "if": _IF, "nil": _NIL,
             "range": _RANGE, "template": _TEMPLATE, "with": _WITH}


def _is_alnum(c: str) -> bool:
    return c == "_" or c.isalpha() or c.isdecimal()


def _sharp_u(c: str) -> str:
    """Go's %#U of one rune."""
    s = "U+%04X" % ord(c)
    return f"{s} '{c}'" if c.isprintable() else s


def _item_str(it: tuple) -> str:
    typ, val = it[0], it[1]
    if typ == _EOF:
        return "EOF"
    if typ == _ERROR:
        return val
    if typ > _KEYWORD:
        return f"<{val}>"
    if len(val.encode()) > 10:
        return _quote(val[:10]) + "..."
    return _quote(val)


def _at_right_delim(text: str, p: int) -> tuple[bool, bool]:
    if p + 1 < len(text) and text[p] in _SPACES and text.startswith("-}}", p + 1):
        return True, True
    return text.startswith("}}", p), False


def _at_terminator(text: str, p: int) -> bool:
    if p >= len(text):
        return True
    return text[p] in " \t\r\n.,|:)(" or text.startswith("}}", p)


def _scan_number(text: str, p: int) -> tuple[bool, int]:
    n = len(text)
    if p < n and text[p] in "+-":
        p += 1
    digits = "0123456789_"
    if p < n and text[p] == "0":
        p += 1
        if p < n and text[p] in "xX":
            p += 1
            digits = "0123456789abcdefABCDEF_"
        elif p < n and text[p] in "oO":
            p += 1
            digits = "01234567_"
        elif p < n and text[p] in "bB":
            p += 1
            digits = "01_"
    while p < n and text[p] in digits:
        p += 1
    if p < n and text[p] == ".":
        p += 1
        while p < n and text[p] in digits:
            p += 1
    if len(digits) == 11 and p < n and text[p] in "eE":
        p += 1
        if p < n and text[p] in "+-":
            p += 1
        while p < n and text[p] in "0123456789_":
            p += 1
    if len(digits) == 23 and p < n and text[p] in "pP":
        p += 1
        if p < n and text[p] in "+-":
            p += 1
        while p < n and text[p] in "0123456789_":
            p += 1
    if p < n and text[p] == "i":
        p += 1
    if p < n and _is_alnum(text[p]):
        return False, p + 1
    return True, p


def _lex(text: str) -> list[tuple]:
    """Tokenize the whole template into (type, value, position) items."""
    items: list[tuple] = []
    emit = items.append
    n = len(text)
    pos = 0
    while True:
        x = text.find("{{", pos)
        if x < 0:
            if pos < n:
                emit((_TEXT, text[pos:], pos))
            emit((_EOF, "", n))
            return items
        d = x + 2
        trim = d + 1 < n and text[d] == "-" and text[d + 1] in _SPACES
        end = x
        if trim:
            while end > pos and text[end - 1] in _SPACES:
                end -= 1
        if end > pos:
            emit((_TEXT, text[pos:end], pos))
        pos = d + (2 if trim else 0)
        if text.startswith("/*", pos):
            c = text.find("*/", pos + 2)
            if c < 0:
                emit((_ERROR, "unclosed comment", pos))
                emit((_EOF, "", n))
                return items
            p = c + 2
            delim, rtrim = _at_right_delim(text, p)
            if not delim:
                emit((_ERROR, "comment ends before closing delimiter", pos))
                emit((_EOF, "", n))
                return items
            emit((_COMMENT, text[pos:p], pos))
            p += 4 if rtrim else 2
            if rtrim:
                while p < n and text[p] in _SPACES:
                    p += 1
            pos = p
            continue
        emit((_LDELIM, "{{", x))
        pos = _lex_action(text, pos, emit)
        if pos < 0:
            emit((_EOF, "", n))
            return items


def _lex_action(text: str, pos: int, emit: Callable) -> int:
    """Lex inside ``{{ }}`` from ``pos``; return the position after ``}}``, or -1 on error."""
    n = len(text)
    paren = 0

    def error(msg: str, at: int) -> int:
        emit((_ERROR, msg, at))
        return -1

    while True:
        delim, rtrim = _at_right_delim(text, pos)
        if delim:
            if paren:
                return error("unclosed left paren", pos)
            if rtrim:
                pos += 2
            emit((_RDELIM, "}}", pos))
            pos += 2
            if rtrim:
                while pos < n and text[pos] in _SPACES:
                    pos += 1
            return pos
        if pos >= n:
            return error("unclosed action", pos)
        c = text[pos]
        start = pos
        if c in _SPACES:
            while pos < n and text[pos] in _SPACES:
                pos += 1
            if text.startswith("-}}", pos):
                pos -= 1  # the space belongs to " -}}"
                if pos == start:
                    continue
            emit((_SPACE, text[start:pos], start))
        elif c == "=":
            emit((_ASSIGN, "=", pos))
            pos += 1
        elif c == ":":
            if not text.startswith(":=", pos):
                return error("expected :=", pos)
            emit((_DECLARE, ":=", pos))
            pos += 2
        elif c == "|":
            emit((_PIPE, "|", pos))
            pos += 1
        elif c == '"' or c == "'":
            pos += 1
            while True:
                if pos >= n or text[pos] == "\n":
                    kind = "quoted string" if c == '"' else "character constant"
                    return error(f"unterminated {kind}", start)
                ch = text[pos]
                pos += 1
                if ch == "\\":
                    if pos >= n or text[pos] == "\n":
                        kind = "quoted string" if c == '"' else "character constant"
                        return error(f"unterminated {kind}", start)
                    pos += 1
                elif ch == c:
                    break
            emit((_STRING if c == '"' else _CHARCONST, text[start:pos], start))
        elif c == "`":
            e = text.find("`", pos + 1)
            if e < 0:
                return error("unterminated raw quoted string", start)
            pos = e + 1
            emit((_RAWSTRING, text[start:pos], start))
        elif c == "$" or (c == "." and not (pos + 1 < n and "0" <= text[pos + 1] <= "9")):
            pos += 1
            if _at_terminator(text, pos):
                emit((_VARIABLE, "$", start) if c == "$" else (_DOT, ".", start))
                continue
            while pos < n and _is_alnum(text[pos]):
                pos += 1
            if not _at_terminator(text, pos):
                return error(f"bad character {_sharp_u(text[pos])}", start)
            emit((_VARIABLE if c == "$" else _FIELD, text[start:pos], start))
        elif c in "+-." or "0" <= c <= "9":
            ok, pos = _scan_number(text, pos)
            if ok and pos < n and text[pos] in "+-":
                ok, pos = _scan_number(text, pos)
                if not ok or text[pos - 1] != "i":
                    return error(f"bad number syntax: {_quote(text[start:pos])}", start)
                emit((_COMPLEX, text[start:pos], start))
                continue
            if not ok:
                return error(f"bad number syntax: {_quote(text[start:pos])}", start)
            emit((_NUMBER, text[start:pos], start))
        elif _is_alnum(c):
            while pos < n and _is_alnum(text[pos]):
                pos += 1
            if not _at_terminator(text, pos):
                return error(f"bad character {_sharp_u(text[pos])}", start)
            word = text[start:pos]
            kw = _KEYWORDS.get(word)
            if kw is not None:
                emit((kw, word, start))
            elif word in ("true", "false"):
                emit((_BOOL, word, start))
            else:
                emit((_IDENT, word, start))
        elif c == "(":
            paren += 1
            emit((_LPAREN, "(", pos))
            pos += 1
        elif c == ")":
            paren -= 1
            if paren < 0:
                return error("unexpected right paren", pos)
            emit((_RPAREN, ")", pos))
            pos += 1
        elif c <= "\x7f" and c.isprintable():
            emit((_CHAR, c, pos))
            pos += 1
        else:
            return error(f"unrecognized character in action: {_sharp_u(c)}", pos)


# ---------------------------------------------------------------------------
# Nodes (text/template/parse/node.go); str() gives Go's String() forms
# ---------------------------------------------------------------------------

(_K_TEXT, _K_COMMENT, _K_ACTION, _K_PIPE, _K_COMMAND, _K_IDENT, _K_VARIABLE, _K_DOT, _K_NIL,
 _K_FIELD, _K_CHAIN, _K_BOOL, _K_NUMBER, _K_STRING, _K_LIST, _K_IF, _K_RANGE, _K_WITH,
 _K_BREAK, _K_CONTINUE, _K_TEMPLATE, _K_END, _K_ELSE) = range(23)


class _Node:
    __slots__ = ("kind", "pos")

    def __init__(self, kind: int, pos: int):
        self.kind = kind
        self.pos = pos


class _Leaf(_Node):
    """Text, comment, identifier, dot, nil, bool, break, continue, end, else."""

    __slots__ = ("text",)

    def __init__(self, kind: int, pos: int, text: str = ""):
        super().__init__(kind, pos)
        self.text = text

    def __str__(self) -> str:
        return self.text


class _Idents(_Node):
    """``$x.A.B`` or ``.A.B``: a variable or field chain."""

    __slots__ = ("ident",)

    def __init__(self, kind: int, pos: int, ident: list[str]):
        super().__init__(kind, pos)
        self.ident = ident

    def __str__(self) -> str:
        if self.kind == _K_FIELD:
            return "".join("." + i for i in self.ident)
        return ".".join(self.ident)


class _Chain(_Node):
    __slots__ = ("node", "fields")

    def __init__(self, pos: int, node: _Node):
        super().__init__(_K_CHAIN, pos)
        self.node = node
        self.fields: list[str] = []

    def __str__(self) -> str:
        s = f"({self.node})" if self.node.kind == _K_PIPE else str(self.node)
        return s + "".join("." + f for f in self.fields)


class _Number(_Node):
    __slots__ = ("text", "is_int", "is_uint", "is_float", "is_complex", "int", "float", "complex")

    def __str__(self) -> str:
        return self.text


class _String(_Node):
    __slots__ = ("quoted", "text")

    def __init__(self, pos: int, quoted: str, text: str):
        super().__init__(_K_STRING, pos)
        self.quoted = quoted
        self.text = text

    def __str__(self) -> str:
        return self.quoted


class _Command(_Node):
    __slots__ = ("args",)

    def __init__(self, pos: int):
        super().__init__(_K_COMMAND, pos)
        self.args: list[_Node] = []

    def __str__(self) -> str:
        return " ".join(f"({a})" if a.kind == _K_PIPE else str(a) for a in self.args)


class _Pipe(_Node):
    __slots__ = ("is_assign", "decl", "cmds")

    def __init__(self, pos: int):
        super().__init__(_K_PIPE, pos)
        self.is_assign = False
        self.decl: list[_Idents] = []
        self.cmds: list[_Command] = []

    def __str__(self) -> str:
        s = ""
        if self.decl:
            s = ", ".join(str(v) for v in self.decl) + (" = " if self.is_assign else " := ")
        return s + " | ".join(str(c) for c in self.cmds)


class _Action(_Node):
    __slots__ = ("pipe",)

    def __init__(self, pos: int, pipe: _Pipe):
        super().__init__(_K_ACTION, pos)
        self.pipe = pipe

    def __str__(self) -> str:
        return "{{%s}}" % self.pipe


class _List(_Node):
    __slots__ = ("nodes",)

    def __init__(self, pos: int):
        super().__init__(_K_LIST, pos)
        self.nodes: list[_Node] = []

    def __str__(self) -> str:
        return "".join(str(n) for n in self.nodes)


class _Branch(_Node):
    """if / range / with."""

    __slots__ = ("pipe", "list", "else_list")

    def __init__(self, kind: int, pipe: _Pipe, lst: _List, else_list: _List | None):
        super().__init__(kind, pipe.pos)
        self.pipe = pipe
        self.list = lst
        self.else_list = else_list

    def __str__(self) -> str:
        name = {_K_IF: "if", _K_RANGE: "range", _K_WITH: "with"}[self.kind]
        s = "{{%s %s}}%s" % (name, self.pipe, self.list)
        if self.else_list is not None:
            s += "{{else}}%s" % self.else_list
        return s + "{{end}}"


class _TemplateCall(_Node):
    __slots__ = ("name", "pipe")

    def __init__(self, pos: int, name: str, pipe: _Pipe | None):
        super().__init__(_K_TEMPLATE, pos)
        self.name = name
        self.pipe = pipe

    def __str__(self) -> str:
        if self.pipe is None:
            return "{{template %s}}" % _quote(self.name)
        return "{{template %s %s}}" % (_quote(self.name), self.pipe)


def _is_empty_tree(n: _Node) -> bool:
    if n.kind == _K_LIST:
        return all(_is_empty_tree(c) for c in n.nodes)
    if n.kind == _K_TEXT:
        return not n.text.strip(_SPACES)
    return n.kind == _K_COMMENT


# ---------------------------------------------------------------------------
# Literal decoding (strconv.Unquote, UnquoteChar, ParseInt, ParseFloat)
# ---------------------------------------------------------------------------

_SIMPLE_ESC = {"a": 7, "b": 8, "f": 12, "n": 10, "r": 13, "t": 9, "v": 11, "\\": 92}
_HEXDIGITS = "0123456789abcdefABCDEF"


def _unquote_char(s: str, i: int, quote: str) -> tuple[int, bool, int]:
    """Decode one (possibly escaped) char at s[i]: (value, is_raw_byte, next index)."""
    c = s[i]
    if c == quote:
        raise ValueError("invalid syntax")
    if c != "\\":
        return ord(c), False, i + 1
    if i + 1 >= len(s):
        raise ValueError("invalid syntax")
    c = s[i + 1]
    i += 2
    if c in _SIMPLE_ESC:
        return _SIMPLE_ESC[c], False, i
    if c in "xuU":
        width = {"x": 2, "u": 4, "U": 8}[c]
        h = s[i:i + width]
        if len(h) != width or any(ch not in _HEXDIGITS for ch in h):
            raise ValueError("invalid syntax")
        v = int(h, 16)
        if c == "x":
            return v, True, i + width
        if v > 0x10FFFF or 0xD800 <= v < 0xE000:
            raise ValueError("invalid syntax")
        return v, False, i + width
    if "0" <= c <= "7":
        o = s[i - 1:i + 2]
        if len(o) != 3 or any(not "0" <= ch <= "7" for ch in o) or int(o, 8) > 255:
            raise ValueError("invalid syntax")
        return int(o, 8), True, i + 2
    if c in "'\"" and c == quote:
        return ord(c), False, i
    raise ValueError("invalid syntax")


def _unquote(quoted: str) -> str:
    """strconv.Unquote for "..." and `...` (raw bytes decode as UTF-8, lossy)."""
    q = quoted[0]
    body = quoted[1:-1]
    if len(quoted) < 2 or quoted[-1] != q:
        raise ValueError("invalid syntax")
    if q == "`":
        if "`" in body:
            raise ValueError("invalid syntax")
        return body.replace("\r", "")
    if "\n" in body:
        raise ValueError("invalid syntax")
    if "\\" not in body and '"' not in body:
        return body
    out = bytearray()
    i = 0
    while i < len(body):
        v, raw, i = _unquote_char(body, i, '"')
        if raw:
            out.append(v)
        else:
            out += chr(v).encode("utf-8", "surrogatepass")
    return out.decode("utf-8", "replace")


def _underscore_ok(s: str) -> bool:
    saw = "^"
    i = 0
    if s[:1] in ("-", "+"):
        s = s[1:]
    hexa = False
    if len(s) >= 2 and s[0] == "0" and s[1].lower() in "box":
        i = 2
        saw = "0"
        hexa = s[1].lower() == "x"
    while i < len(s):
        c = s[i]
        if "0" <= c <= "9" or (hexa and "a" <= c.lower() <= "f"):
            saw = "0"
        elif c == "_":
            if saw != "0":
                return False
            saw = "_"
        elif saw == "_":
            return False
        else:
            saw = "!"
        i += 1
    return saw != "_"


def _parse_uint(s: str) -> int | None:
    """strconv.ParseUint(s, 0, 64); None on error."""
    if not s:
        return None
    s0 = s
    base = 10
    if s[0] == "0":
        if len(s) >= 3 and s[1].lower() in "box":
            base = {"b": 2, "o": 8, "x": 16}[s[1].lower()]
            s = s[2:]
        else:
            base = 8
            s = s[1:]
    n = 0
    underscores = False
    for c in s:
        if c == "_":
            underscores = True
            continue
        d = _HEXDIGITS.find(c)
        if d >= 16:
            d -= 6
        if d < 0 or d >= base:
            return None
        n = n * base + d
    if underscores and not _underscore_ok(s0):
        return None
    return n if n < 1 << 64 else None


def _parse_int(s: str) -> int | None:
    neg = s[:1] == "-"
    u = _parse_uint(s[1:] if s[:1] in "+-" else s)
    if u is None:
        return None
    v = -u if neg else u
    return v if -(1 << 63) <= v < 1 << 63 else None


def _parse_float(s: str) -> float | None:
    t = s.lstrip("+-")
    try:
        if t[:2].lower() == "0x":
            if "p" not in t.lower() or (("_" in t) and not _underscore_ok(s)):
                return None
            f = float.fromhex(s.replace("_", ""))
        else:
            if "_" in t and not _underscore_ok(s):
                return None
            f = float(s.replace("_", ""))
    except ValueError:
        return None
    return None if math.isinf(f) else f


def _new_complex(n: _Number, text: str, typ: int) -> _Number:
    if typ == _COMPLEX:  # "1+2i": Go lets fmt.Sscan parse the pair
        k = max(text.rfind("+"), text.rfind("-"))
        re_part, im_part = _parse_float(text[:k]), _parse_float(text[k:-1])
    else:
        re_part, im_part = 0.0, _parse_float(text[:-1])
    if re_part is None or im_part is None:
        raise ValueError(f"illegal number syntax: {_quote(text)}")
    n.is_complex, n.complex = True, complex(re_part, im_part)
    if im_part == 0:  # simplifyComplex
        n.is_float, n.float = True, re_part
        if re_part == int(re_part) and -(1 << 63) <= re_part < 1 << 63:
            n.is_int, n.int = True, int(re_part)
            n.is_uint = re_part >= 0
    return n


def _new_number(pos: int, text: str, typ: int) -> _Number:
    n = _Number(_K_NUMBER, pos)
    n.text = text
    n.is_int = n.is_uint = n.is_float = n.is_complex = False
    n.int = 0
    n.float = 0.0
    n.complex = 0j
    if typ == _CHARCONST:
        v, _, i = _unquote_char(text[1:], 0, "'")
        if text[1 + i:] != "'":
            raise ValueError(f"malformed character constant: {text}")
        n.is_int = n.is_uint = n.is_float = True
        n.int, n.float = v, float(v)
        return n
    if typ == _COMPLEX or text.endswith("i"):
        return _new_complex(n, text, typ)
    u = _parse_uint(text) if text[:1] not in "+-" else None
    i = _parse_int(text)
    if i is not None:
        n.is_int, n.int = True, i
        n.is_uint = u is not None or i == 0
        n.is_float, n.float = True, float(i)
    elif u is not None:
        n.is_uint = n.is_float = True
        n.int, n.float = u, float(u)
    else:
        f = _parse_float(text)
        if f is not None:
            if not any(c in text for c in ".eEpP"):
                raise ValueError(f"integer overflow: {_quote(text)}")
            n.is_float, n.float = True, f
            if f == int(f) and -(1 << 63) <= f < 1 << 63:
                n.is_int, n.int = True, int(f)
                n.is_uint = f >= 0
    if not (n.is_int or n.is_uint or n.is_float):
        raise ValueError(f"illegal number syntax: {_quote(text)}")
    return n


# ---------------------------------------------------------------------------
# Parser (text/template/parse/parse.go)
# ---------------------------------------------------------------------------

_OPERAND_START = (_BOOL, _CHARCONST, _COMPLEX, _DOT, _FIELD, _IDENT, _NUMBER, _NIL,
                  _RAWSTRING, _STRING, _VARIABLE, _LPAREN)


class _Parser:
    def __init__(self, text: str, name: str, funcs: Mapping[str, Any]):
        self.text = text
        self.name = name
        self.funcs = funcs
        self.items = _lex(text)
        self.i = 0
        self.far = 0
        self.vars = ["$"]
        self.range_depth = 0
        self.action_line = 0
        self.trees: dict[str, _List] = {}

    # -- token stream
    def next(self) -> tuple:
        it = self.items[min(self.i, len(self.items) - 1)]
        self.i += 1
        if self.i - 1 > self.far:
            self.far = self.i - 1
        return it

    def backup(self, n: int = 1) -> None:
        self.i -= n

    def peek(self) -> tuple:
        it = self.next()
        self.i -= 1
        return it

    def next_non_space(self) -> tuple:
        while True:
            it = self.next()
            if it[0] != _SPACE:
                return it

    def peek_non_space(self) -> tuple:
        it = self.next_non_space()
        self.i -= 1
        return it

    # -- errors
    def line_of(self, pos: int) -> int:
        return self.text.count("\n", 0, pos) + 1

    def errorf(self, msg: str):
        it = self.items[min(self.far, len(self.items) - 1)]
        raise TemplateSyntaxError(f"template: {self.name}:{self.line_of(it[2])}: {msg}")

    def unexpected(self, it: tuple, context: str):
        if it[0] == _ERROR:
            extra = ""
            if self.action_line and self.action_line != self.line_of(it[2]):
                extra = f" in {context}"
                if it[1].endswith(" action"):
                    extra = extra[3:]
            self.errorf(f"{it[1]}{extra}")
        self.errorf(f"unexpected {_item_str(it)} in {context}")

    def expect(self, typ: int, context: str) -> tuple:
        it = self.next_non_space()
        if it[0] != typ:
            self.unexpected(it, context)
        return it

    # -- structure
    def parse(self) -> dict[str, _List]:
        root = _List(self.peek()[2])
        while self.peek()[0] != _EOF:
            if self.peek()[0] == _LDELIM:
                delim_i = self.i
                self.next()
                if self.next_non_space()[0] == _DEFINE:
                    self.parse_definition()
                    continue
                self.i = delim_i
            n = self.text_or_action()
            if n.kind in (_K_END, _K_ELSE):
                self.errorf(f"unexpected {n}")
            root.nodes.append(n)
        self.add(self.name, root)
        return self.trees

    def add(self, name: str, root: _List) -> None:
        old = self.trees.get(name)
        if old is None or _is_empty_tree(old):
            self.trees[name] = root
        elif not _is_empty_tree(root):
            self.errorf(f"template: multiple definition of template {_quote(name)}")

    def parse_definition(self) -> None:
        saved = self.vars, self.range_depth
        self.vars, self.range_depth = ["$"], 0
        context = "define clause"
        it = self.next_non_space()
        if it[0] not in (_STRING, _RAWSTRING):
            self.unexpected(it, context)
        try:
            name = _unquote(it[1])
        except ValueError as e:
            self.errorf(str(e))
        self.expect(_RDELIM, context)
        root, end = self.item_list()
        if end.kind != _K_END:
            self.errorf(f"unexpected {end} in {context}")
        self.add(name, root)
        self.vars, self.range_depth = saved

    def item_list(self) -> tuple[_List, _Node]:
        lst = _List(self.peek_non_space()[2])
        while self.peek_non_space()[0] != _EOF:
            n = self.text_or_action()
            if n.kind in (_K_END, _K_ELSE):
                return lst, n
            lst.nodes.append(n)
        self.errorf("unexpected EOF")

    def text_or_action(self) -> _Node:
        it = self.next_non_space()
        if it[0] == _TEXT:
            return _Leaf(_K_TEXT, it[2], it[1])
        if it[0] == _LDELIM:
            self.action_line = self.line_of(it[2])
            try:
                return self.action()
            finally:
                self.action_line = 0
        if it[0] == _COMMENT:
            return _Leaf(_K_COMMENT, it[2], it[1])
        self.unexpected(it, "input")

    def action(self) -> _Node:
        it = self.next_non_space()
        t = it[0]
        if t == _BLOCK:
            return self.block_control()
        if t in (_BREAK, _CONTINUE):
            word = it[1]
            tok = self.next_non_space()
            if tok[0] != _RDELIM:
                self.unexpected(tok, "{{%s}}" % word)
            if self.range_depth == 0:
                self.errorf("{{%s}} outside {{range}}" % word)
            return _Leaf(_K_BREAK if t == _BREAK else _K_CONTINUE, it[2], "{{%s}}" % word)
        if t == _ELSE:
            peek = self.peek_non_space()
            if peek[0] in (_IF, _WITH):
                return _Leaf(_K_ELSE, peek[2], "{{else}}")
            tok = self.expect(_RDELIM, "else")
            return _Leaf(_K_ELSE, tok[2], "{{else}}")
        if t == _END:
            tok = self.expect(_RDELIM, "end")
            return _Leaf(_K_END, tok[2], "{{end}}")
        if t == _IF:
            return self.control(_K_IF, "if")
        if t == _RANGE:
            return self.control(_K_RANGE, "range")
        if t == _TEMPLATE:
            return self.template_control()
        if t == _WITH:
            return self.control(_K_WITH, "with")
        self.backup()
        pos = self.peek()[2]
        return _Action(pos, self.pipeline("command", _RDELIM))

    def control(self, kind: int, context: str) -> _Branch:
        nvars = len(self.vars)
        try:
            pipe = self.pipeline(context, _RDELIM)
            if kind == _K_RANGE:
                self.range_depth += 1
            lst, nxt = self.item_list()
            if kind == _K_RANGE:
                self.range_depth -= 1
            else_list = None
            if nxt.kind == _K_ELSE:
                if kind == _K_IF and self.peek()[0] == _IF:
                    self.next()
                    else_list = _List(nxt.pos)
                    else_list.nodes.append(self.control(_K_IF, "if"))
                elif kind == _K_WITH and self.peek()[0] == _WITH:
                    self.next()
                    else_list = _List(nxt.pos)
                    else_list.nodes.append(self.control(_K_WITH, "with"))
                else:
                    else_list, nxt = self.item_list()
                    if nxt.kind != _K_END:
                        self.errorf(f"expected end; found {nxt}")
            return _Branch(kind, pipe, lst, else_list)
        finally:
            del self.vars[nvars:]

    def template_name(self, it: tuple, context: str) -> str:
        if it[0] not in (_STRING, _RAWSTRING):
            self.unexpected(it, context)
        try:
            return _unquote(it[1])
        except ValueError as e:
            self.errorf(str(e))

    def template_control(self) -> _TemplateCall:
        context = "template clause"
        it = self.next_non_space()
        name = self.template_name(it, context)
        pipe = None
        if self.next_non_space()[0] != _RDELIM:
            self.backup()
            pipe = self.pipeline(context, _RDELIM)
        return _TemplateCall(it[2], name, pipe)

    def block_control(self) -> _TemplateCall:
        context = "block clause"
        it = self.next_non_space()
        name = self.template_name(it, context)
        pipe = self.pipeline(context, _RDELIM)
        saved = self.vars, self.range_depth
        self.vars, self.range_depth = ["$"], 0
        root, end = self.item_list()
        if end.kind != _K_END:
            self.errorf(f"unexpected {end} in {context}")
        self.add(name, root)
        self.vars, self.range_depth = saved
        return _TemplateCall(it[2], name, pipe)

    def pipeline(self, context: str, end: int) -> _Pipe:
        pipe = _Pipe(self.peek_non_space()[2])
        while True:  # declarations
            v = self.peek_non_space()
            if v[0] != _VARIABLE:
                break
            vi = self.i
            self.next()
            nxt = self.peek_non_space()
            if nxt[0] in (_ASSIGN, _DECLARE):
                pipe.is_assign = nxt[0] == _ASSIGN
                self.next_non_space()
                pipe.decl.append(_Idents(_K_VARIABLE, v[2], [v[1]]))
                self.vars.append(v[1])
            elif nxt[0] == _CHAR and nxt[1] == ",":
                self.next_non_space()
                pipe.decl.append(_Idents(_K_VARIABLE, v[2], [v[1]]))
                self.vars.append(v[1])
                if context == "range" and len(pipe.decl) < 2:
                    if self.peek_non_space()[0] in (_VARIABLE, _RDELIM, _RPAREN):
                        continue
                    self.errorf("range can only initialize variables")
                self.errorf(f"too many declarations in {context}")
            else:
                self.i = vi  # backup2/backup3: "$x" is an operand
            break
        while True:
            it = self.next_non_space()
            if it[0] == end:
                if not pipe.cmds:
                    self.errorf(f"missing value for {context}")
                for i, c in enumerate(pipe.cmds[1:]):
                    if c.args[0].kind in (_K_BOOL, _K_DOT, _K_NIL, _K_NUMBER, _K_STRING):
                        self.errorf(f"non executable command in pipeline stage {i + 2}")
                return pipe
            if it[0] in _OPERAND_START:
                self.backup()
                pipe.cmds.append(self.command())
            else:
                self.unexpected(it, context)

    def command(self) -> _Command:
        cmd = _Command(self.peek_non_space()[2])
        while True:
            self.peek_non_space()
            op = self.operand()
            if op is not None:
                cmd.args.append(op)
            it = self.next()
            if it[0] == _SPACE:
                continue
            if it[0] in (_RDELIM, _RPAREN):
                self.backup()
            elif it[0] != _PIPE:
                self.unexpected(it, "operand")
            break
        if not cmd.args:
            self.errorf("empty command")
        return cmd

    def operand(self) -> _Node | None:
        node = self.term()
        if node is None:
            return None
        if self.peek()[0] == _FIELD:
            chain = _Chain(self.peek()[2], node)
            while self.peek()[0] == _FIELD:
                chain.fields.append(self.next()[1][1:])
            if node.kind == _K_FIELD:
                return _Idents(_K_FIELD, chain.pos, node.ident + chain.fields)
            if node.kind == _K_VARIABLE:
                return _Idents(_K_VARIABLE, chain.pos, node.ident + chain.fields)
            if node.kind in (_K_BOOL, _K_STRING, _K_NUMBER, _K_NIL, _K_DOT):
                self.errorf(f"unexpected . after term {_quote(str(node))}")
            return chain
        return node

    def term(self) -> _Node | None:
        it = self.next_non_space()
        t, val, pos = it
        if t == _IDENT:
            if val not in self.funcs:
                self.errorf(f"function {_quote(val)} not defined")
            return _Leaf(_K_IDENT, pos, val)
        if t == _DOT:
            return _Leaf(_K_DOT, pos, ".")
        if t == _NIL:
            return _Leaf(_K_NIL, pos, "nil")
        if t == _VARIABLE:
            if val not in self.vars:
                self.errorf(f"undefined variable {_quote(val)}")
            return _Idents(_K_VARIABLE, pos, [val])
        if t == _FIELD:
            return _Idents(_K_FIELD, pos, [val[1:]])
        if t == _BOOL:
            return _Leaf(_K_BOOL, pos, val)
        if t in (_CHARCONST, _COMPLEX, _NUMBER):
            try:
                return _new_number(pos, val, t)
            except ValueError as e:
                self.errorf(str(e))
        if t == _LPAREN:
            return self.pipeline("parenthesized pipeline", _RPAREN)
        if t in (_STRING, _RAWSTRING):
            try:
                return _String(pos, val, _unquote(val))
            except ValueError as e:
                self.errorf(str(e))
        self.backup()
        return None


# ---------------------------------------------------------------------------
# Go value helpers
# ---------------------------------------------------------------------------

def _gotype(v: Any) -> str:
    """The Go type name docker would show for a JSON-decoded value."""
    if v is None or v is MISSING:
        return "<nil>"
    if v is True or v is False:
        return "bool"
    if isinstance(v, int):
        return "int"
    if isinstance(v, float):
        return "float64"
    if isinstance(v, complex):
        return "complex128"
    if isinstance(v, str):
        return "string"
    if isinstance(v, dict):
        return "map[string]interface {}"
    if isinstance(v, (list, tuple)):
        return "[]interface {}"
    if callable(v):
        return "func()"
    return type(v).__name__


def _is_true(v: Any) -> bool:
    if v is MISSING or v is None:
        return False
    if isinstance(v, (bool, int, float, complex, str, list, tuple, dict)):
        return bool(v)
    return True  # structs and funcs


def _nbytes(s: str) -> int:
    return len(s) if s.isascii() else len(s.encode("utf-8", "surrogatepass"))


def _as_bytes(s: str) -> bytes:
    return s.encode("utf-8", "surrogateescape")


def _from_bytes(b: bytes) -> str:
    return b.decode("utf-8", "replace")


# ---------------------------------------------------------------------------
# fmt (Go's fmt/print.go and fmt/format.go)
# ---------------------------------------------------------------------------

def _is_print(c: str) -> bool:
    return c.isprintable() and not ("\ud800" <= c <= "\udfff")


def _escape_rune(out: list, c: str, quote: str, ascii_only: bool) -> None:
    if c == quote or c == "\\":
        out.append("\\" + c)
        return
    r = ord(c)
    if ascii_only:
        if r < 0x80 and _is_print(c):
            out.append(c)
            return
    elif _is_print(c):
        out.append(c)
        return
    if c in "\a\b\f\n\r\t\v":
        out.append("\\" + "abfnrtv"["\a\b\f\n\r\t\v".index(c)])
    elif r < 0x20 or r == 0x7F:
        out.append("\\x%02x" % r)
    elif 0xD800 <= r < 0xE000:
        out.append("\\ufffd")
    elif r < 0x10000:
        out.append("\\u%04x" % r)
    else:
        out.append("\\U%08x" % r)


def _quote(s: str, ascii_only: bool = False) -> str:
    """strconv.Quote / QuoteToASCII."""
    if s.isascii() and s.isprintable() and '"' not in s and "\\" not in s:
        return f'"{s}"'
    out = ['"']
    for c in s:
        _escape_rune(out, c, '"', ascii_only)
    out.append('"')
    return "".join(out)


def _quote_rune(r: int, ascii_only: bool) -> str:
    if r > 0x10FFFF or r < 0 or 0xD800 <= r < 0xE000:
        r = 0xFFFD
    out = ["'"]
    _escape_rune(out, chr(r), "'", ascii_only)
    out.append("'")
    return "".join(out)


def _can_backquote(s: str) -> bool:
    for c in s:
        if c == "\ufeff" or "\ud800" <= c <= "\udfff":
            return False
        if (c < " " and c != "\t") or c == "`" or c == "\x7f":
            return False
    return True


def _shortest(x: float) -> tuple[str, int]:
    """Shortest round-trip decimal digits of abs(x) and the decimal point position."""
    r = repr(abs(x))
    m, _, e = r.partition("e")
    ip, _, fp = m.partition(".")
    ds = ip + fp
    dp = len(ip) + (int(e) if e else 0)
    stripped = ds.lstrip("0")
    dp -= len(ds) - len(stripped)
    ds = stripped.rstrip("0")
    if not ds:
        return "", 0
    return ds, dp


def _fmt_e(neg: bool, ds: str, dp: int, prec: int, ch: str) -> str:
    first = ds[0] if ds else "0"
    s = ("-" if neg else "") + first
    if prec > 0:
        s += "." + ds[1:1 + prec].ljust(prec, "0")
    exp = dp - 1 if ds else 0
    sign = "-" if exp < 0 else "+"
    exp = abs(exp)
    return s + ch + sign + (("%02d" % exp) if exp < 100 else str(exp))


def _fmt_f(neg: bool, ds: str, dp: int, prec: int) -> str:
    s = "-" if neg else ""
    s += (ds[:dp].ljust(dp, "0")) if dp > 0 else "0"
    if prec > 0:
        frac = "".join(ds[i] if 0 <= i < len(ds) else "0" for i in range(dp, dp + prec))
        s += "." + frac
    return s


def _float_bits(x: float) -> tuple[bool, int, int]:
    """(neg, mant, exp) as strconv.FormatFloat computes them for 'b' and 'x'."""
    import struct

    bits = struct.unpack("<Q", struct.pack("<d", x))[0]
    neg = bits >> 63 != 0
    exp = (bits >> 52) & 0x7FF
    mant = bits & ((1 << 52) - 1)
    if exp == 0:
        exp += 1
    else:
        mant |= 1 << 52
    return neg, mant, exp - 1023


def _fmt_x(x: float, prec: int, ch: str) -> str:
    neg, mant, exp = _float_bits(x)
    if mant == 0:
        exp = 0
    mant <<= 60 - 52
    while mant != 0 and mant & (1 << 60) == 0:
        mant <<= 1
        exp -= 1
    if 0 <= prec < 15:
        shift = prec * 4
        extra = (mant << shift) & ((1 << 60) - 1)
        mant >>= 60 - shift
        if extra | (mant & 1) > 1 << 59:
            mant += 1
        mant <<= 60 - shift
        if mant & (1 << 61):
            mant >>= 1
            exp += 1
    digits = "0123456789ABCDEF" if ch == "X" else "0123456789abcdef"
    s = ("-" if neg else "") + "0" + ch + str((mant >> 60) & 1)
    mant = (mant << 4) & ((1 << 64) - 1)
    if prec < 0 and mant:
        s += "."
        while mant:
            s += digits[(mant >> 60) & 15]
            mant = (mant << 4) & ((1 << 64) - 1)
    elif prec > 0:
        s += "."
        for _ in range(prec):
            s += digits[(mant >> 60) & 15]
            mant = (mant << 4) & ((1 << 64) - 1)
    s += "P" if ch == "X" else "p"
    s += "-" if exp < 0 else "+"
    exp = abs(exp)
    return s + ("%02d" % exp if exp < 100 else str(exp))


def _ftoa(x: float, verb: str, prec: int) -> str:
    """strconv.FormatFloat(x, verb, prec, 64)."""
    if x != x:
        return "NaN"
    if math.isinf(x):
        return "+Inf" if x > 0 else "-Inf"
    if verb == "b":
        neg, mant, exp = _float_bits(x)
        exp -= 52
        return ("-" if neg else "") + str(mant) + "p" + ("+" if exp >= 0 else "") + str(exp)
    if verb in "xX":
        return _fmt_x(x, prec, verb)
    neg = math.copysign(1.0, x) < 0
    if prec >= 0:
        if verb in "fF":
            return format(x, ".%df" % prec)
        if verb in "eE":
            return format(x, ".%d%s" % (prec, verb))
        return format(x, ".%d%s" % (prec or 1, verb))
    ds, dp = _shortest(x)
    ech = "E" if verb in "EG" else "e"
    if verb in "eE":
        return _fmt_e(neg, ds, dp, len(ds) - 1, ech)
    if verb in "fF":
        return _fmt_f(neg, ds, dp, max(len(ds) - dp, 0))
    exp = dp - 1
    if ds and (exp < -4 or exp >= 6):
        return _fmt_e(neg, ds, dp, len(ds) - 1, ech)
    return _fmt_f(neg, ds, dp, max(len(ds) - dp, 0))


class _Printer:
    """One fmt.Sprint/Sprintf call: Go's pp plus fmt state."""

    def __init__(self):
        self.buf: list[str] = []
        self.clear()

    def clear(self) -> None:
        self.minus = self.plus = self.sharp = self.space = self.zero = False
        self.plus_v = self.sharp_v = False
        self.wid = self.prec = 0
        self.widp = self.precp = False

    def result(self) -> str:
        return "".join(self.buf)

    # -- format.go
    def write_padding(self, n: int) -> None:
        if n > 0:
            self.buf.append(("0" if self.zero and not self.minus else " ") * n)

    def pad(self, s: str) -> None:
        if not self.widp or self.wid == 0:
            self.buf.append(s)
            return
        width = self.wid - len(s)
        if not self.minus:
            self.write_padding(width)
            self.buf.append(s)
        else:
            self.buf.append(s)
            self.write_padding(width)

    def pad_nozero(self, s: str) -> None:
        old, self.zero = self.zero, False
        self.pad(s)
        self.zero = old

    def fmt_integer(self, v: int, base: int, verb: str, upper: bool) -> None:
        negative = v < 0
        u = -v if negative else v
        prec = 0
        if self.precp:
            prec = self.prec
            if prec == 0 and u == 0:
                old, self.zero = self.zero, False
                self.write_padding(self.wid)
                self.zero = old
                return
        elif self.zero and not self.minus and self.widp:
            prec = self.wid
            if negative or self.plus or self.space:
                prec -= 1
        if base == 10:
            s = str(u)
        elif base == 16:
            s = "%X" % u if upper else "%x" % u
        elif base == 8:
            s = "%o" % u
        else:
            s = format(u, "b")
        if len(s) < prec:
            s = "0" * (prec - len(s)) + s
        if self.sharp:
            if base == 2:
                s = "0b" + s
            elif base == 8 and s[0] != "0":
                s = "0" + s
            elif base == 16:
                s = ("0X" if upper else "0x") + s
        if verb == "O":
            s = "0o" + s
        if negative:
            s = "-" + s
        elif self.plus:
            s = "+" + s
        elif self.space:
            s = " " + s
        self.pad_nozero(s)

    def fmt_unicode(self, v: int) -> None:
        u = v & ((1 << 64) - 1)
        prec = self.prec if self.precp and self.prec > 4 else 4
        s = "U+" + ("%X" % u).rjust(prec, "0")
        if self.sharp and u <= 0x10FFFF and _is_print(chr(u)):
            s += " '" + chr(u) + "'"
        self.pad_nozero(s)

    def fmt_float(self, x: float, verb: str, prec: int) -> None:
        if self.precp:
            prec = self.prec
        num = _ftoa(x, verb, prec)
        num = num if num[0] in "+-" else "+" + num
        if self.space and num[0] == "+" and not self.plus:
            num = " " + num[1:]
        if num[1] in "IN":
            if num[1] == "N" and not self.space and not self.plus:
                num = num[1:]
            self.pad_nozero(num)
            return
        if self.sharp and verb != "b":
            digits = 0
            if verb in "vgGx":
                digits = prec if prec != -1 else 6
            tail = ""
            body = num
            for i in range(1, len(num)):
                c = num[i]
                if c in "pP" or (c in "eE" and verb not in "xX"):
                    tail, body = num[i:], num[:i]
                    break
            has_dot = "." in body
            saw_nonzero = False
            for c in body[1:]:
                if c == ".":
                    continue
                if c != "0":
                    saw_nonzero = True
                if saw_nonzero:
                    digits -= 1
            if not has_dot:
                if len(body) == 2 and body[1] == "0":
                    digits -= 1
                body += "."
            if digits > 0:
                body += "0" * digits
            num = body + tail
        if self.plus or num[0] != "+":
            if self.zero and not self.minus and self.widp and self.wid > len(num):
                self.buf.append(num[0])
                self.write_padding(self.wid - len(num))
                self.buf.append(num[1:])
                return
            self.pad(num)
            return
        self.pad(num[1:])

    def fmt_complex(self, v: complex, verb: str) -> None:
        verb, prec = {"v": ("g", -1), "f": ("f", 6), "F": ("f", 6), "e": ("e", 6),
                      "E": ("E", 6)}.get(verb, (verb, -1))
        old_plus, old_wid = self.plus, self.wid
        self.buf.append("(")
        self.fmt_float(v.real, verb, prec)
        self.plus = True
        self.fmt_float(v.imag, verb, prec)
        self.buf.append("i)")
        self.plus, self.wid = old_plus, old_wid

    def trunc(self, s: str) -> str:
        return s[:self.prec] if self.precp else s

    def fmt_sx(self, s: str, upper: bool) -> None:
        b = _as_bytes(s)
        length = len(b)
        if self.precp and self.prec < length:
            length = self.prec
        width = 2 * length
        if width > 0:
            if self.space:
                if self.sharp:
                    width *= 2
                width += length - 1
            elif self.sharp:
                width += 2
        else:
            if self.widp:
                self.write_padding(self.wid)
            return
        if self.widp and self.wid > width and not self.minus:
            self.write_padding(self.wid - width)
        x = "0X" if upper else "0x"
        fmt = "%02X" if upper else "%02x"
        out = [x] if self.sharp else []
        for i in range(length):
            if self.space and i > 0:
                out.append(" ")
                if self.sharp:
                    out.append(x)
            out.append(fmt % b[i])
        self.buf.append("".join(out))
        if self.widp and self.wid > width and self.minus:
            self.write_padding(self.wid - width)

    def fmt_q(self, s: str) -> None:
        s = self.trunc(s)
        if self.sharp and _can_backquote(s):
            self.pad("`" + s + "`")
        else:
            self.pad(_quote(s, self.plus))

    # -- print.go
    def bad_verb(self, verb: str, v: Any) -> None:
        self.buf.append("%!" + verb + "(")
        if v is None:
            self.buf.append("<nil>")
        else:
            self.buf.append(_gotype(v) + "=")
            self.print_value(v, "v", 0)
        self.buf.append(")")

    def print_value(self, v: Any, verb: str, depth: int) -> None:
        if v is None or v is MISSING:
            if depth == 0:
                if verb in "Tv":
                    self.pad("<nil>")
                else:
                    self.bad_verb(verb, None)
            else:
                self.buf.append("interface {}(nil)" if self.sharp_v else "<nil>")
            return
        if depth == 0 and verb == "T":
            self.pad(self.trunc(_gotype(v)))
            return
        if depth == 0 and verb == "p" and (isinstance(v, (dict, list, tuple)) or callable(v)):
            self.pad("0x%x" % id(v))  # an address, as Go prints one
            return
        if v is True or v is False:
            if verb in "tv":
                self.pad("true" if v else "false")
            else:
                self.bad_verb(verb, v)
        elif isinstance(v, int):
            if verb in "vd":
                self.fmt_integer(v, 10, verb, False)
            elif verb == "b":
                self.fmt_integer(v, 2, verb, False)
            elif verb in "oO":
                self.fmt_integer(v, 8, verb, False)
            elif verb in "xX":
                self.fmt_integer(v, 16, verb, verb == "X")
            elif verb == "c":
                r = v if 0 <= v <= 0x10FFFF and not 0xD800 <= v < 0xE000 else 0xFFFD
                self.pad(chr(r))
            elif verb == "q":
                self.pad(_quote_rune(v, self.plus))
            elif verb == "U":
                self.fmt_unicode(v)
            else:
                self.bad_verb(verb, v)
        elif isinstance(v, float):
            if verb == "v":
                self.fmt_float(v, "g", -1)
            elif verb in "bgGxX":
                self.fmt_float(v, verb, -1)
            elif verb in "feEF":
                self.fmt_float(v, verb, 6)
            else:
                self.bad_verb(verb, v)
        elif isinstance(v, complex):
            if verb in "vbgGxXfFeE":
                self.fmt_complex(v, verb)
            else:
                self.bad_verb(verb, v)
        elif isinstance(v, str):
            if verb == "v":
                if self.sharp_v:
                    self.fmt_q(v)
                else:
                    self.pad(self.trunc(v))
            elif verb == "s":
                self.pad(self.trunc(v))
            elif verb in "xX":
                self.fmt_sx(v, verb == "X")
            elif verb == "q":
                self.fmt_q(v)
            else:
                self.bad_verb(verb, v)
        elif isinstance(v, dict):
            if self.sharp_v:
                self.buf.append("map[string]interface {}{")
            else:
                self.buf.append("map[")
            for i, k in enumerate(_sorted_keys(v)):
                if i:
                    self.buf.append(", " if self.sharp_v else " ")
                self.print_value(k, verb, depth + 1)
                self.buf.append(":")
                self.print_value(v[k], verb, depth + 1)
            self.buf.append("}" if self.sharp_v else "]")
        elif isinstance(v, (list, tuple)):
            self.buf.append("[]interface {}{" if self.sharp_v else "[")
            for i, e in enumerate(v):
                if i:
                    self.buf.append(", " if self.sharp_v else " ")
                self.print_value(e, verb, depth + 1)
            self.buf.append("}" if self.sharp_v else "]")
        elif hasattr(v, "__dataclass_fields__"):
            names = list(v.__dataclass_fields__)
            self.buf.append("{")
            for i, name in enumerate(names):
                if i:
                    self.buf.append(" ")
                if self.plus_v:
                    self.buf.append(name + ":")
                self.print_value(getattr(v, name), verb, depth + 1)
            self.buf.append("}")
        else:
            self.print_value(str(v), verb, depth)

    def do_print(self, args: tuple, ln: bool) -> str:
        prev_string = False
        for i, a in enumerate(args):
            is_string = isinstance(a, str)
            if i > 0 and (ln or (not is_string and not prev_string)):
                self.buf.append(" ")
            self.print_value(a, "v", 0)
            prev_string = is_string
        if ln:
            self.buf.append("\n")
        return self.result()

    def do_printf(self, fmt: str, a: tuple) -> str:
        end = len(fmt)
        argn = 0
        reordered = False
        i = 0
        buf = self.buf
        while i < end:
            good = True
            j = fmt.find("%", i)
            if j < 0:
                buf.append(fmt[i:])
                break
            if j > i:
                buf.append(fmt[i:j])
            i = j + 1
            self.clear()
            while i < end:
                c = fmt[i]
                if c == "#":
                    self.sharp = True
                elif c == "0":
                    self.zero = not self.minus
                elif c == "+":
                    self.plus = True
                elif c == "-":
                    self.minus = True
                    self.zero = False
                elif c == " ":
                    self.space = True
                else:
                    break
                i += 1
            # argument index, width
            argn, i, after, ok = self._arg_number(argn, fmt, i, len(a))
            reordered |= ok is not None
            good = good and ok is not False
            if i < end and fmt[i] == "*":
                i += 1
                self.wid, self.widp, argn = self._int_from_arg(a, argn)
                if not self.widp:
                    buf.append("%!(BADWIDTH)")
                if self.wid < 0:
                    self.wid = -self.wid
                    self.minus = True
                    self.zero = False
                after = False
            else:
                self.wid, self.widp, i = _parse_num(fmt, i, end)
                if after and self.widp:
                    good = False
            if i + 1 < end and fmt[i] == ".":
                i += 1
                if after:
                    good = False
                argn, i, after, ok = self._arg_number(argn, fmt, i, len(a))
                reordered |= ok is not None
                good = good and ok is not False
                if i < end and fmt[i] == "*":
                    i += 1
                    self.prec, self.precp, argn = self._int_from_arg(a, argn)
                    if self.prec < 0:
                        self.prec, self.precp = 0, False
                    if not self.precp:
                        buf.append("%!(BADPREC)")
                    after = False
                else:
                    self.prec, self.precp, i = _parse_num(fmt, i, end)
                    if not self.precp:
                        self.prec, self.precp = 0, True
            if not after:
                argn, i, after, ok = self._arg_number(argn, fmt, i, len(a))
                reordered |= ok is not None
                good = good and ok is not False
            if i >= end:
                buf.append("%!(NOVERB)")
                break
            verb = fmt[i]
            i += 1
            if verb == "%":
                buf.append("%")
            elif not good:
                buf.append("%!" + verb + "(BADINDEX)")
            elif argn >= len(a):
                buf.append("%!" + verb + "(MISSING)")
            else:
                if verb == "v":
                    self.sharp_v, self.sharp = self.sharp, False
                    self.plus_v, self.plus = self.plus, False
                self.print_value(a[argn], verb, 0)
                argn += 1
        if not reordered and argn < len(a):
            self.clear()
            buf.append("%!(EXTRA ")
            for k, arg in enumerate(a[argn:]):
                if k:
                    buf.append(", ")
                if arg is None:
                    buf.append("<nil>")
                else:
                    buf.append(_gotype(arg) + "=")
                    self.print_value(arg, "v", 0)
            buf.append(")")
        return self.result()

    @staticmethod
    def _arg_number(argn: int, fmt: str, i: int, nargs: int):
        """Returns (argn, i, found, ok): ok is None when there was no [n]."""
        if i >= len(fmt) or fmt[i] != "[":
            return argn, i, False, None
        close = fmt.find("]", i + 1)
        if close < 0:
            return argn, i + 1, False, False
        idx, isnum, newi = _parse_num(fmt, i + 1, close)
        if not isnum or newi != close:
            return argn, close + 1, False, False
        idx -= 1
        if 0 <= idx < nargs:
            return idx, close + 1, True, True
        return argn, close + 1, True, False

    @staticmethod
    def _int_from_arg(a: tuple, argn: int) -> tuple[int, bool, int]:
        if argn >= len(a):
            return 0, False, argn
        v = a[argn]
        if isinstance(v, int) and not isinstance(v, bool) and -1_000_000 <= v <= 1_000_000:
            return v, True, argn + 1
        return 0, False, argn + 1


def _parse_num(s: str, start: int, end: int) -> tuple[int, bool, int]:
    if start >= end:
        return 0, False, end
    num = 0
    isnum = False
    i = start
    while i < end and "0" <= s[i] <= "9":
        if num > 1_000_000:
            return 0, False, end
        num = num * 10 + ord(s[i]) - 48
        isnum = True
        i += 1
    return num, isnum, i


def _sorted_keys(d: dict) -> list:
    try:
        return sorted(d)
    except TypeError:
        return sorted(d, key=lambda k: (type(k).__name__, str(k)))


def _sprint_v(v: Any) -> str:
    """fmt.Sprint of one value, as ``{{.}}`` prints it."""
    if isinstance(v, str):
        return v
    if v is True:
        return "true"
    if v is False:
        return "false"
    if isinstance(v, int):
        return str(v)
    p = _Printer()
    p.print_value(v, "v", 0)
    return p.result()


def _sprint(*args: Any) -> str:
    return _Printer().do_print(args, False)


def _sprintln(*args: Any) -> str:
    return _Printer().do_print(args, True)


def _sprintf(fmt: str, *args: Any) -> str:
    return _Printer().do_printf(fmt, args)


# ---------------------------------------------------------------------------
# encoding/json, as docker's ``json`` function uses it (no HTML escaping)
# ---------------------------------------------------------------------------

def _json_str(s: str) -> str:
    if s.isascii() and s.isprintable() and '"' not in s and "\\" not in s:
        return f'"{s}"'
    out = ['"']
    for c in s:
        if c == '"' or c == "\\":
            out.append("\\" + c)
        elif c < " ":
            i = "\b\f\n\r\t".find(c)
            out.append("\\" + "bfnrt"[i] if i >= 0 else "\\u%04x" % ord(c))
        elif c in "\u2028\u2029":
            out.append("\\u%04x" % ord(c))
        elif "\ud800" <= c <= "\udfff":
            out.append("\ufffd")
        else:
            out.append(c)
    out.append('"')
    return "".join(out)


def _json_float(x: float) -> str:
    if x != x or math.isinf(x):
        raise ValueError(f"json: unsupported value: {_ftoa(x, 'g', -1)}")
    a = abs(x)
    if a != 0 and (a < 1e-6 or a >= 1e21):
        s = _ftoa(x, "e", -1)
        if len(s) >= 4 and s[-4:-1] == "e-0":  # e-07 -> e-7
            s = s[:-2] + s[-1]
        return s
    return _ftoa(x, "f", -1)


def _json(v: Any) -> str:
    if v is None or v is MISSING:
        return "null"
    if v is True:
        return "true"
    if v is False:
        return "false"
    if isinstance(v, int):
        return str(v)
    if isinstance(v, float):
        return _json_float(v)
    if isinstance(v, complex):
        raise ValueError("json: unsupported type: complex128")
    if isinstance(v, str):
        return _json_str(v)
    if isinstance(v, dict):
        return "{" + ",".join(_json_str(str(k)) + ":" + _json(x) for k, x in v.items()) + "}"
    if isinstance(v, (list, tuple)):
        return "[" + ",".join(_json(x) for x in v) + "]"
    if hasattr(v, "__dataclass_fields__"):
        return _json({k: getattr(v, k) for k in v.__dataclass_fields__})
    return _json_str(str(v))


# ---------------------------------------------------------------------------
# Functions: Go's builtins (text/template/funcs.go) and docker's (templates.go)
# ---------------------------------------------------------------------------

# Parameter kinds, as the executor converts arguments for them.
_P_VALUE = "reflect.Value"  # anything, missing values included
_P_ANY = "interface {}"     # anything; missing values become nil
_P_STRING = "string"
_P_INT = "int"
_P_STRLIST = "[]string"


class GoFunc:
    """A template function with a Go signature.

    ``params`` are the fixed parameter kinds ("string", "int", "[]string",
    "interface {}", "reflect.Value"), ``variadic`` the kind of a trailing
    ``...`` parameter or None.  Arguments are checked and converted the way Go
    checks them, so errors read like Go's.  Exceptions raised by ``impl``
    become ``error calling NAME: MESSAGE``.
    """

    __slots__ = ("impl", "params", "variadic")

    def __init__(self, impl: Callable, params: tuple[str, ...] = (), variadic: str | None = None):
        self.impl = impl
        self.params = tuple(params)
        self.variadic = variadic


def _basic_kind(v: Any) -> str | None:
    if v is True or v is False:
        return "bool"
    if isinstance(v, int):
        return "int"
    if isinstance(v, float):
        return "float"
    if isinstance(v, complex):
        return "complex"
    if isinstance(v, str):
        return "string"
    return None


def _valid(v: Any) -> bool:
    return v is not MISSING and v is not None


def _refkind(v: Any) -> str:
    if not _valid(v):
        return "invalid"
    if isinstance(v, dict):
        return "map"
    if isinstance(v, (list, tuple)):
        return "slice"
    return "func" if callable(v) else "struct"


def _f_eq(arg1: Any, *arg2: Any) -> bool:
    if not arg2:
        raise _FuncError("missing argument for comparison")
    k1 = _basic_kind(arg1)
    for arg in arg2:
        k2 = _basic_kind(arg)
        truth = False
        if k1 != k2:
            if _valid(arg1) and _valid(arg):
                raise _FuncError("incompatible types for comparison")
        elif k1 is not None:
            truth = arg1 == arg
        else:
            r1, r2 = _refkind(arg1), _refkind(arg)
            if r1 != r2 and "invalid" not in (r1, r2):
                raise _FuncError(f"non-comparable types {_sprintf('%s', arg1)}: {_gotype(arg1)}, "
                                 f"{_gotype(arg)}: {_sprint_v(arg)}")
            if not _valid(arg1) or not _valid(arg):
                truth = _valid(arg1) == _valid(arg)
            else:
                if r2 in ("map", "slice", "func"):
                    raise _FuncError(f"non-comparable type {_sprintf('%s', arg)}: {_gotype(arg)}")
                truth = arg1 == arg
        if truth:
            return True
    return False


def _f_ne(a: Any, b: Any) -> bool:
    return not _f_eq(a, b)


def _f_lt(a: Any, b: Any) -> bool:
    k1 = _basic_kind(a)
    k2 = _basic_kind(b)
    if k1 is None or k2 is None:
        raise _FuncError("invalid type for comparison")
    if k1 != k2:
        raise _FuncError("incompatible types for comparison")
    if k1 in ("bool", "complex"):
        raise _FuncError("invalid type for comparison")
    return a < b


def _f_le(a: Any, b: Any) -> bool:
    return _f_lt(a, b) or _f_eq(a, b)


def _f_gt(a: Any, b: Any) -> bool:
    return not _f_le(a, b)


def _f_ge(a: Any, b: Any) -> bool:
    return not _f_lt(a, b)


def _f_not(a: Any) -> bool:
    return not _is_true(a)


def _f_len(item: Any) -> int:
    if item is MISSING:
        raise _FuncError("reflect: call of reflect.Value.Type on zero Value")
    if item is None:
        raise _FuncError("len of nil pointer")
    if isinstance(item, str):
        return _nbytes(item)
    if isinstance(item, (list, tuple, dict)):
        return len(item)
    raise _FuncError(f"len of type {_gotype(item)}")


def _index_arg(index: Any, cap: int) -> int:
    if not _valid(index):
        raise _FuncError("cannot index slice/array with nil")
    if _basic_kind(index) != "int":
        raise _FuncError(f"cannot index slice/array with type {_gotype(index)}")
    if index < 0 or index > cap:
        raise _FuncError(f"index out of range: {index}")
    return index


def _f_index(item: Any, *indexes: Any) -> Any:
    if not _valid(item):
        raise _FuncError("index of untyped nil")
    for index in indexes:
        if item is None:
            raise _FuncError("index of nil pointer")
        if isinstance(item, (list, tuple, str)):
            seq = _as_bytes(item) if isinstance(item, str) else item
            x = _index_arg(index, len(seq))
            if x == len(seq):
                kind = "string" if isinstance(item, str) else "slice"
                raise _FuncError(f"reflect: {kind} index out of range")
            item = seq[x]
        elif isinstance(item, dict):
            if not _valid(index):
                raise _FuncError("value is nil; should be of type string")
            if not isinstance(index, str):
                raise _FuncError(f"value has type {_gotype(index)}; should be string")
            item = item.get(index)
        else:
            raise _FuncError(f"can't index item of type {_gotype(item)}")
    return item


def _f_slice(item: Any, *indexes: Any) -> Any:
    if not _valid(item):
        raise _FuncError("slice of untyped nil")
    if len(indexes) > 3:
        raise _FuncError(f"too many slice indexes: {len(indexes)}")
    if isinstance(item, str):
        if len(indexes) == 3:
            raise _FuncError("cannot 3-index slice a string")
        seq: Any = _as_bytes(item)
    elif isinstance(item, (list, tuple)):
        seq = item
    else:
        raise _FuncError(f"can't slice item of type {_gotype(item)}")
    idx = [0, len(seq), len(seq)]
    for i, index in enumerate(indexes):
        idx[i] = _index_arg(index, len(seq))
    if idx[0] > idx[1]:
        raise _FuncError(f"invalid slice index: {idx[0]} > {idx[1]}")
    if len(indexes) == 3 and idx[1] > idx[2]:
        raise _FuncError(f"invalid slice index: {idx[1]} > {idx[2]}")
    out = seq[idx[0]:idx[1]]
    return _from_bytes(out) if isinstance(item, str) else list(out)


def _eval_args(args: tuple) -> str:
    if len(args) == 1 and isinstance(args[0], str):
        return args[0]
    return _sprint(*("<no value>" if a is None else a for a in args))


def _f_html(*args: Any) -> str:
    s = _eval_args(args)
    if not any(c in s for c in "'\"&<>\0"):
        return s
    return (s.replace("&", "&amp;").replace("'", "&#39;").replace("<", "&lt;")
            .replace(">", "&gt;").replace('"', "&#34;").replace("\0", "\ufffd"))


_JS_ESC = {"\\": "\\\\", "'": "\\'", '"': '\\"', "<": "\\u003C", ">": "\\u003E",
           "&": "\\u0026", "=": "\\u003D"}


def _f_js(*args: Any) -> str:
    out = []
    for c in _eval_args(args):
        if c in _JS_ESC:
            out.append(_JS_ESC[c])
        elif c < " ":
            out.append("\\u00%02X" % ord(c))
        elif c >= "\x80" and not _is_print(c):
            out.append("\\u%04X" % (0xFFFD if "\ud800" <= c <= "\udfff" else ord(c)))
        else:
            out.append(c)
    return "".join(out)


_URL_SAFE = frozenset(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.~")


def _f_urlquery(*args: Any) -> str:
    out = []
    for b in _as_bytes(_eval_args(args)):
        if b in _URL_SAFE:
            out.append(chr(b))
        elif b == 0x20:
            out.append("+")
        else:
            out.append("%%%02X" % b)
    return "".join(out)


def _f_call(name: str, fn: Any, *args: Any) -> Any:
    if not _valid(fn):
        raise _FuncError("call of nil")
    if not callable(fn):
        raise _FuncError(f"non-function {name} of type {_gotype(fn)}")
    try:
        return fn(*(None if a is MISSING else a for a in args))
    except TemplateError:
        raise
    except Exception as e:
        raise _FuncError(str(e)) from e


def _f_json(v: Any) -> str:
    try:
        return _json(v)
    except ValueError as e:
        raise _FuncError(str(e)) from None


def _map_runes(s: str, upper: bool) -> str:
    if s.isascii():
        return s.upper() if upper else s.lower()
    out = []
    for c in s:
        m = c.upper() if upper else c.lower()
        if len(m) != 1:
            m = "i" if c == "\u0130" else c  # Go uses simple (1:1) case mappings
        out.append(m)
    return "".join(out)


def _is_separator(c: str) -> bool:
    """strings.Title's word boundary test."""
    if c <= "\x7f":
        return not (c.isalnum() or c == "_")
    if c.isalpha() or c.isdecimal():
        return False
    return c.isspace()


def _f_title(s: str) -> str:
    out = []
    prev = " "
    for c in s:
        if _is_separator(prev):
            t = c.title()  # unicode.ToTitle: one rune in, one rune out
            out.append(t if len(t) == 1 else c)
        else:
            out.append(c)
        prev = c
    return "".join(out)


def _f_split(s: str, sep: str) -> list[str]:
    return list(s) if sep == "" else s.split(sep)


def _f_pad(s: str, prefix: int, suffix: int) -> str:
    if s == "":
        return s
    if prefix < 0 or suffix < 0:
        raise _FuncError("strings: negative Repeat count")
    return " " * prefix + s + " " * suffix


def _f_truncate(s: str, length: int) -> str:
    b = _as_bytes(s)
    if len(b) < length:
        return s
    if length < 0:
        raise _FuncError(f"runtime error: slice bounds out of range [:{length}]")
    return _from_bytes(b[:length])


_BUILTINS: dict[str, GoFunc] = {
    "and": GoFunc(None, (_P_VALUE,), _P_VALUE),
    "or": GoFunc(None, (_P_VALUE,), _P_VALUE),
    "call": GoFunc(_f_call, (_P_VALUE,), _P_VALUE),
    "not": GoFunc(_f_not, (_P_VALUE,)),
    "len": GoFunc(_f_len, (_P_VALUE,)),
    "index": GoFunc(_f_index, (_P_VALUE,), _P_VALUE),
    "slice": GoFunc(_f_slice, (_P_VALUE,), _P_VALUE),
    "eq": GoFunc(_f_eq, (_P_VALUE,), _P_VALUE),
    "ne": GoFunc(_f_ne, (_P_VALUE, _P_VALUE)),
    "lt": GoFunc(_f_lt, (_P_VALUE, _P_VALUE)),
    "le": GoFunc(_f_le, (_P_VALUE, _P_VALUE)),
    "gt": GoFunc(_f_gt, (_P_VALUE, _P_VALUE)),
    "ge": GoFunc(_f_ge, (_P_VALUE, _P_VALUE)),
    "print": GoFunc(_sprint, (), _P_ANY),
    "printf": GoFunc(_sprintf, (_P_STRING,), _P_ANY),
    "println": GoFunc(_sprintln, (), _P_ANY),
    "html": GoFunc(_f_html, (), _P_ANY),
    "js": GoFunc(_f_js, (), _P_ANY),
    "urlquery": GoFunc(_f_urlquery, (), _P_ANY),
    # docker/cli templates.go basicFunctions
    "json": GoFunc(_f_json, (_P_ANY,)),
    "split": GoFunc(_f_split, (_P_STRING, _P_STRING)),
    "join": GoFunc(lambda elems, sep: sep.join(elems), (_P_STRLIST, _P_STRING)),
    "title": GoFunc(_f_title, (_P_STRING,)),
    "lower": GoFunc(lambda s: _map_runes(s, False), (_P_STRING,)),
    "upper": GoFunc(lambda s: _map_runes(s, True), (_P_STRING,)),
    "pad": GoFunc(_f_pad, (_P_STRING, _P_INT, _P_INT)),
    "truncate": GoFunc(_f_truncate, (_P_STRING, _P_INT)),
}
_AND_OR = (_BUILTINS["and"], _BUILTINS["or"])
_CALL = _BUILTINS["call"]

#: docker/cli ``HeaderFunctions``: what docker uses to render table headers
#: (the header text passes through unchanged).  Use as ``funcs=HEADER_FUNCS``.
HEADER_FUNCS: dict[str, GoFunc] = {
    "json": GoFunc(lambda v: v, (_P_STRING,)),
    "split": GoFunc(lambda v, _: v, (_P_STRING, _P_STRING)),
    "join": GoFunc(lambda v, _: v, (_P_STRING, _P_STRING)),
    "title": GoFunc(lambda v: v, (_P_STRING,)),
    "lower": GoFunc(lambda v: v, (_P_STRING,)),
    "upper": GoFunc(lambda v: v, (_P_STRING,)),
    "truncate": GoFunc(lambda v, _: v, (_P_STRING, _P_INT)),
}


# ---------------------------------------------------------------------------
# Executor (text/template/exec.go)
# ---------------------------------------------------------------------------

_MAX_DEPTH = 100  # nested {{template}} calls (Go allows 100000; Python's stack does not)


class _State:
    __slots__ = ("tmpl", "tname", "out", "vars", "node", "depth", "missingkey", "dot_iface")

    def __init__(self, tmpl: "Template", tname: str, out: list, dot: Any, depth: int,
                 missingkey: str):
        self.tmpl = tmpl
        self.tname = tname
        self.out = out
        self.vars: list[list] = [["$", dot]]
        self.node: _Node | None = None
        self.depth = depth
        self.missingkey = missingkey
        self.dot_iface = False  # dot is a range element: Go's static type is interface {}

    # -- errors
    def errorf(self, msg: str):
        if self.node is None:
            raise TemplateExecError(f"template: {self.tname}: {msg}")
        text = self.tmpl.text
        pos = self.node.pos
        nl = text.rfind("\n", 0, pos)
        col = _nbytes(text[nl + 1:pos])
        line = text.count("\n", 0, pos) + 1
        raise TemplateExecError(f"template: {self.tmpl.name}:{line}:{col}: executing "
                                f"{_quote(self.tname)} at <{self.node}>: {msg}")

    # -- variables
    def var_value(self, name: str) -> Any:
        for i in range(len(self.vars) - 1, -1, -1):
            if self.vars[i][0] == name:
                return self.vars[i][1]
        self.errorf(f"undefined variable: {name}")

    def set_var(self, name: str, value: Any) -> None:
        for i in range(len(self.vars) - 1, -1, -1):
            if self.vars[i][0] == name:
                self.vars[i][1] = value
                return
        self.errorf(f"undefined variable: {name}")

    # -- walking
    def walk(self, dot: Any, node: _Node) -> None:
        self.node = node
        k = node.kind
        if k == _K_TEXT:
            self.out.append(node.text)
        elif k == _K_ACTION:
            val = self.eval_pipeline(dot, node.pipe)
            if not node.pipe.decl:
                self.node = node
                self.out.append("<no value>" if val is MISSING else _sprint_v(val))
        elif k == _K_LIST:
            for n in node.nodes:
                self.walk(dot, n)
        elif k == _K_IF or k == _K_WITH:
            mark = len(self.vars)
            try:
                val = self.eval_pipeline(dot, node.pipe)
                if _is_true(val):
                    if k == _K_WITH:
                        saved, self.dot_iface = self.dot_iface, False
                        try:
                            self.walk(val, node.list)
                        finally:
                            self.dot_iface = saved
                    else:
                        self.walk(dot, node.list)
                elif node.else_list is not None:
                    self.walk(dot, node.else_list)
            finally:
                del self.vars[mark:]
        elif k == _K_RANGE:
            self.walk_range(dot, node)
        elif k == _K_TEMPLATE:
            self.walk_template(dot, node)
        elif k == _K_BREAK:
            raise _Break
        elif k == _K_CONTINUE:
            raise _Continue

    def walk_range(self, dot: Any, r: _Branch) -> None:
        outer = len(self.vars)
        try:
            val = self.eval_pipeline(dot, r.pipe)
            mark = len(self.vars)
            decl = r.pipe.decl

            def one(index: Any, elem: Any) -> None:
                if decl:
                    if r.pipe.is_assign:
                        self.set_var(decl[0].ident[0], index if len(decl) > 1 else elem)
                    else:
                        self.vars[-1][1] = elem
                if len(decl) > 1:
                    if r.pipe.is_assign:
                        self.set_var(decl[1].ident[0], elem)
                    else:
                        self.vars[-2][1] = index
                saved, self.dot_iface = self.dot_iface, not isinstance(val, int)
                try:
                    self.walk(elem, r.list)
                except _Continue:
                    pass
                finally:
                    self.dot_iface = saved
                    del self.vars[mark:]

            if isinstance(val, (list, tuple)):
                items: Any = enumerate(val)
            elif isinstance(val, dict):
                items = ((k, val[k]) for k in _sorted_keys(val))
            elif isinstance(val, int) and not isinstance(val, bool):
                if len(decl) > 1:
                    self.errorf(f"can't use {val} to iterate over more than one variable")
                items = ((MISSING, i) for i in range(val))
            elif val is MISSING or val is None:
                items = ()
            else:
                self.errorf(f"range can't iterate over {_sprint_v(val)}")
            ran = False
            try:
                for index, elem in items:
                    ran = True
                    one(index, elem)
            except _Break:
                return
            if not ran and r.else_list is not None:
                self.walk(dot, r.else_list)
        finally:
            del self.vars[outer:]

    def walk_template(self, dot: Any, t: _TemplateCall) -> None:
        self.node = t
        tree = self.tmpl.trees.get(t.name)
        if tree is None:
            self.errorf(f"template {_quote(t.name)} not defined")
        if self.depth >= _MAX_DEPTH:
            self.errorf(f"exceeded maximum template depth ({_MAX_DEPTH})")
        dot = self.eval_pipeline(dot, t.pipe)
        sub = _State(self.tmpl, t.name, self.out, dot, self.depth + 1, self.missingkey)
        sub.walk(dot, tree)

    # -- evaluation
    def eval_pipeline(self, dot: Any, pipe: _Pipe | None) -> Any:
        if pipe is None:
            return MISSING
        self.node = pipe
        value = _NOFINAL
        for cmd in pipe.cmds:
            value = self.eval_command(dot, cmd, value)
            if value is None:
                value = MISSING  # a nil interface{} digs down to "no value"
        for var in pipe.decl:
            if pipe.is_assign:
                self.set_var(var.ident[0], value)
            else:
                self.vars.append([var.ident[0], value])
        return value

    def not_a_function(self, args: list, final: Any) -> None:
        if len(args) > 1 or final is not _NOFINAL:
            self.errorf(f"can't give argument to non-function {args[0]}")

    def eval_command(self, dot: Any, cmd: _Command, final: Any) -> Any:
        first = cmd.args[0]
        k = first.kind
        if k == _K_FIELD:
            return self.eval_field_node(dot, first, cmd.args, final)
        if k == _K_CHAIN:
            return self.eval_chain_node(dot, first, cmd.args, final)
        if k == _K_IDENT:
            return self.eval_function(dot, first, cmd, cmd.args, final)
        if k == _K_PIPE:
            self.not_a_function(cmd.args, final)
            return self.eval_pipeline(dot, first)
        if k == _K_VARIABLE:
            return self.eval_variable_node(dot, first, cmd.args, final)
        self.node = first
        self.not_a_function(cmd.args, final)
        if k == _K_BOOL:
            return first.text == "true"
        if k == _K_DOT:
            return dot
        if k == _K_NIL:
            self.errorf("nil is not a command")
        if k == _K_NUMBER:
            return self.ideal_constant(first)
        if k == _K_STRING:
            return first.text
        self.errorf(f"can't evaluate command {_quote(str(first))}")

    def ideal_constant(self, n: _Number) -> Any:
        self.node = n
        t = n.text
        if n.is_complex:
            return n.complex
        hexint = len(t) > 2 and t[0] == "0" and t[1] in "xX" and not any(c in t for c in "pP")
        if n.is_float and not hexint and t[0] != "'" and any(c in t for c in ".eEpP"):
            return n.float
        if n.is_int:
            return n.int
        self.errorf(f"{t} overflows int")

    def eval_field_node(self, dot: Any, field: _Idents, args: list | None, final: Any,
                        call_last: bool = True) -> Any:
        self.node = field
        return self.eval_field_chain(dot, dot, field, field.ident, args, final, call_last,
                                     self.dot_iface)

    def eval_chain_node(self, dot: Any, chain: _Chain, args: list | None, final: Any,
                        call_last: bool = True) -> Any:
        self.node = chain
        if chain.node.kind == _K_NIL:
            self.errorf(f"indirection through explicit nil in {chain}")
        pipe = self.eval_arg(dot, None, chain.node)
        return self.eval_field_chain(dot, pipe, chain, chain.fields, args, final, call_last,
                                     False)

    def eval_variable_node(self, dot: Any, var: _Idents, args: list | None, final: Any,
                           call_last: bool = True) -> Any:
        self.node = var
        value = self.var_value(var.ident[0])
        if len(var.ident) == 1:
            self.not_a_function(args or [var], final)
            return value
        return self.eval_field_chain(dot, value, var, var.ident[1:], args, final, call_last,
                                     False)

    def eval_field_chain(self, dot: Any, receiver: Any, node: _Node, ident: list[str],
                         args: list | None, final: Any, call_last: bool, iface: bool) -> Any:
        last = len(ident) - 1
        for i in range(last):
            receiver = self.eval_field(dot, ident[i], node, None, _NOFINAL, receiver,
                                       iface or i > 0, True)
        return self.eval_field(dot, ident[last], node, args, final, receiver,
                               iface or last > 0, call_last)

    def eval_field(self, dot: Any, name: str, node: _Node, args: list | None, final: Any,
                   receiver: Any, iface: bool, call: bool) -> Any:
        if receiver is MISSING:
            if self.missingkey == "error":
                self.errorf(f"nil data; no entry for key {_quote(name)}")
            return MISSING
        if receiver is None:
            self.errorf(f"nil pointer evaluating interface {{}}.{name}")
        has_args = (args is not None and len(args) > 1) or final is not _NOFINAL
        if isinstance(receiver, dict):
            if name in receiver:
                v = receiver[name]
            elif self.missingkey == "error":
                self.errorf(f"map has no entry for key {_quote(name)}")
            else:
                v = None if self.missingkey == "zero" else MISSING
        elif (isinstance(receiver, (str, int, float, list, tuple)) or name.startswith("_")
              or not hasattr(receiver, name)):
            kind = "interface {}" if iface else _gotype(receiver)
            self.errorf(f"can't evaluate field {name} in type {kind}")
        else:
            v = getattr(receiver, name)
        if call and callable(v) and not isinstance(v, type):
            return self.call_value(dot, v, node, name, args, final)
        if has_args:
            self.errorf(f"{name} is not a method but has arguments")
        return v

    def call_value(self, dot: Any, fn: Callable, node: _Node, name: str, args: list | None,
                   final: Any) -> Any:
        """A callable found as a field: Go's method call."""
        argv = [self.eval_arg(dot, _P_ANY, a) for a in (args or [None])[1:]]
        if final is not _NOFINAL:
            argv.append(None if final is MISSING else final)
        try:
            return fn(*argv)
        except TemplateError:
            raise
        except Exception as e:
            self.node = node
            self.errorf(f"error calling {name}: {e}")

    def eval_function(self, dot: Any, ident: _Leaf, cmd: _Node, args: list | None,
                      final: Any) -> Any:
        self.node = ident
        name = ident.text
        fn = self.tmpl.funcs.get(name)
        if fn is None:
            self.errorf(f"{_quote(name)} is not a defined function")
        return self.eval_call(dot, fn, cmd, name, args, final)

    def eval_call(self, dot: Any, fn: Any, node: _Node, name: str, args: list | None,
                  final: Any) -> Any:
        args = args[1:] if args else []
        if not isinstance(fn, GoFunc):
            fn = GoFunc(fn, (), _P_ANY)
        nparams = len(fn.params)
        num_in = len(args) + (final is not _NOFINAL)
        if fn.variadic is not None:
            if num_in < nparams:
                self.errorf(f"wrong number of args for {name}: want at least {nparams} "
                            f"got {len(args)}")
        elif num_in != nparams:
            self.errorf(f"wrong number of args for {name}: want {nparams} got {num_in}")
        if fn in _AND_OR:
            is_or = fn is _AND_OR[1]
            v = MISSING
            for a in args:
                v = self.eval_arg(dot, _P_VALUE, a)
                if _is_true(v) == is_or:
                    return v
            if final is not _NOFINAL:
                v = final
            return v
        argv = []
        for i, a in enumerate(args):
            kind = fn.params[i] if i < nparams else fn.variadic
            if fn is _CALL and i == 0:
                argv.append(self.eval_callee(dot, a))
            else:
                argv.append(self.eval_arg(dot, kind, a))
        if final is not _NOFINAL:
            kind = fn.params[num_in - 1] if num_in - 1 < nparams else fn.variadic
            argv.append(self.validate_type(final, kind))
        if fn is _CALL:
            argv.insert(0, str(args[0]) if args else _sprint_v(final))
        try:
            return fn.impl(*argv)
        except TemplateError:
            raise
        except Exception as e:
            self.node = node
            self.errorf(f"error calling {name}: {e}")

    def eval_callee(self, dot: Any, n: _Node) -> Any:
        """First argument of ``call``: a field holding a function is not called."""
        self.node = n
        if n.kind == _K_FIELD:
            return self.eval_field_node(dot, n, [n], _NOFINAL, False)
        if n.kind == _K_VARIABLE:
            return self.eval_variable_node(dot, n, None, _NOFINAL, False)
        if n.kind == _K_CHAIN:
            return self.eval_chain_node(dot, n, None, _NOFINAL, False)
        return self.eval_arg(dot, _P_VALUE, n)

    def eval_arg(self, dot: Any, kind: str | None, n: _Node) -> Any:
        self.node = n
        k = n.kind
        if k == _K_DOT:
            return self.validate_type(dot, kind)
        if k == _K_NIL:
            if kind == _P_VALUE:
                return MISSING
            if kind == _P_ANY:
                return None
            if kind == _P_STRLIST:
                return []
            self.errorf(f"cannot assign nil to {kind}")
        if k == _K_FIELD:
            return self.validate_type(self.eval_field_node(dot, n, [n], _NOFINAL), kind)
        if k == _K_VARIABLE:
            return self.validate_type(self.eval_variable_node(dot, n, None, _NOFINAL), kind)
        if k == _K_PIPE:
            return self.validate_type(self.eval_pipeline(dot, n), kind)
        if k == _K_IDENT:
            return self.validate_type(self.eval_function(dot, n, n, None, _NOFINAL), kind)
        if k == _K_CHAIN:
            return self.validate_type(self.eval_chain_node(dot, n, None, _NOFINAL), kind)
        if kind == _P_STRING:
            if k == _K_STRING:
                return n.text
            self.errorf(f"expected string; found {n}")
        if kind == _P_INT:
            if k == _K_NUMBER and n.is_int:
                return n.int
            self.errorf(f"expected integer; found {n}")
        if kind == _P_STRLIST:
            self.errorf(f"can't handle {n} for arg of type []string")
        self.node = n
        if k == _K_BOOL:
            return n.text == "true"
        if k == _K_NUMBER:
            return self.ideal_constant(n)
        return n.text  # string literal

    def validate_type(self, value: Any, kind: str | None) -> Any:
        if kind is None or kind == _P_VALUE:
            return value
        if value is MISSING:
            if kind == _P_ANY:
                return None
            if kind == _P_STRLIST:
                return []
            self.errorf(f"invalid value; expected {kind}")
        if kind == _P_ANY:
            return value
        if kind == _P_STRING:
            if isinstance(value, str):
                return value
        elif kind == _P_INT:
            if isinstance(value, int) and not isinstance(value, bool):
                return value
        elif kind == _P_STRLIST:
            if isinstance(value, (list, tuple)) and all(isinstance(x, str) for x in value):
                return list(value)
        got = "interface {}" if value is None else _gotype(value)
        self.errorf(f"wrong type for value; expected {kind}; got {got}")


# ---------------------------------------------------------------------------
# Public interface
# ---------------------------------------------------------------------------

class Template:
    """A parsed template; ``execute`` renders it over JSON-like data."""

    __slots__ = ("name", "text", "trees", "funcs")

    def __init__(self, name: str, text: str, trees: dict[str, _List], funcs: Mapping[str, Any]):
        self.name = name
        self.text = text
        self.trees = trees
        self.funcs = funcs

    def execute(self, data: Any, *, missingkey: str = "default") -> str:
        """Render over ``data``.  ``missingkey`` is Go's option: "default" (or
        "invalid") prints ``<no value>``, "zero" yields nil, "error" fails."""
        root = self.trees.get(self.name)
        if root is None:
            raise TemplateExecError(f"template: {self.name}: {_quote(self.name)} "
                                    "is an incomplete or empty template")
        out: list[str] = []
        dot = MISSING if data is None else data
        state = _State(self, self.name, out, dot, 0, missingkey)
        try:
            state.walk(dot, root)
        except TemplateExecError as e:
            e.partial = "".join(out)
            raise
        except RecursionError:
            e = TemplateExecError(f"template: {self.name}: template nested too deeply")
            e.partial = "".join(out)
            raise e from None
        return "".join(out)


def _funcs_with(extra: Mapping[str, Any] | None) -> Mapping[str, Any]:
    if not extra:
        return _BUILTINS
    merged: dict[str, Any] = dict(_BUILTINS)
    merged.update(extra)
    return merged


def _parse(text: str, name: str, funcs: Mapping[str, Any]) -> Template:
    p = _Parser(text, name, funcs)
    try:
        trees = p.parse()
    except RecursionError:
        raise TemplateSyntaxError(f"template: {name}: template nested too deeply") from None
    return Template(name, text, trees, funcs)


@lru_cache(maxsize=128)
def _parse_cached(text: str, name: str) -> Template:
    return _parse(text, name, _BUILTINS)


def parse(template: str, *, name: str = "", funcs: Mapping[str, Any] | None = None) -> Template:
    """Parse ``template``; raises TemplateSyntaxError.

    ``name`` is the template name Go puts in messages (docker uses "" for most
    commands, e.g. ``template: :1: ...``).  ``funcs`` adds or overrides
    functions: plain callables (``func(...any) any``) or GoFunc signatures.
    Templates without extra funcs are cached.
    """
    if funcs is None:
        return _parse_cached(template, name)
    return _parse(template, name, _funcs_with(funcs))


def render(template: str, data: Any, *, name: str = "", funcs: Mapping[str, Any] | None = None,
           missingkey: str = "default") -> str:
    """Parse (cached) and execute ``template`` over ``data``."""
    return parse(template, name=name, funcs=funcs).execute(data, missingkey=missingkey)
