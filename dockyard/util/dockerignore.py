"""``.dockerignore``: which paths of a build context are left out.

A port of moby's ``patternmatcher`` and ``dockerignore.ReadAll``:

* a line whose first character is ``#`` is a comment (``  #x`` is a pattern);
  blank lines are skipped; each pattern is trimmed, cleaned like Go's
  ``filepath.Clean`` (so ``./a``, ``a/``, ``a//b/..`` are ``a``, ``a``,
  ``a``) and loses a leading ``/``;
* ``*`` matches within one path component, ``?`` one character other than
  ``/``, ``[...]`` a character class (``[^...]`` negated), ``\\`` escapes the
  next character, ``**`` any number of components (also none);
* a pattern starting with ``!`` re-includes what earlier patterns excluded;
  the last pattern that matches decides;
* a path is excluded when a pattern matches it *or one of its parent
  directories* (``vendor`` excludes ``vendor/a/b``);
* a trailing ``/`` does not restrict a pattern to directories: Docker cleans
  it away, so ``tmp/`` also excludes a file called ``tmp``.  ``is_dir`` is
  accepted for the builder's convenience and only steers :func:`walk`.

About ``Dockerfile`` and ``.dockerignore`` themselves: the docker CLI always
sends them, even when ``.dockerignore`` excludes them (it appends
``!.dockerignore`` and ``!<dockerfile>`` to the patterns:
:func:`keep_build_files`), so the daemon can read them; the daemon then
deletes them from the context before the build if the patterns exclude them
(:func:`build_files_to_remove`), so ``COPY . /`` does not see them.  The
classic builder does no other filtering: the client filters the context.

Malformed patterns raise ``InvalidArgument`` with Go's text
(``syntax error in pattern``, ``illegal exclusion pattern: "!"``).
"""

from __future__ import annotations

import os
import re
import warnings
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from dockyard.errdefs import InvalidArgument
from dockyard.util.gopath import clean  # Go's path.Clean; also what callers use from here

__all__ = ["Matcher", "Pattern", "build_files_to_remove", "clean", "from_patterns", "keep_build_files",
           "load", "read_patterns", "walk"]

_GO_SPACES = frozenset("\t\n\v\f\r \x85\xa0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008"
                       "\u2009\u200a\u2028\u2029\u202f\u205f\u3000")
_BAD_PATTERN = "syntax error in pattern"


def _trim_space(s: str) -> str:
    i, j = 0, len(s)
    while i < j and s[i] in _GO_SPACES:
        i += 1
    while j > i and s[j - 1] in _GO_SPACES:
        j -= 1
    return s[i:j]


# --------------------------------------------------------------------------- Go's filepath.Match, for validation


class _BadPattern(Exception):
    pass


def _scan_chunk(pattern: str) -> tuple[bool, str, str]:
    star = False
    while pattern.startswith("*"):
        pattern = pattern[1:]
        star = True
    inrange = False
    i = 0
    while i < len(pattern):
        c = pattern[i]
        if c == "\\":
            if i + 1 < len(pattern):
                i += 1
        elif c == "[":
            inrange = True
        elif c == "]":
            inrange = False
        elif c == "*" and not inrange:
            break
        i += 1
    return star, pattern[:i], pattern[i:]


def _get_esc(chunk: str) -> tuple[str, str]:
    if chunk == "" or chunk[0] in "-]":
        raise _BadPattern
    if chunk[0] == "\\":
        chunk = chunk[1:]
        if chunk == "":
            raise _BadPattern
    r, rest = chunk[0], chunk[1:]
    if rest == "":
        raise _BadPattern
    return r, rest


def _match_chunk(chunk: str, s: str) -> tuple[str, bool]:
    failed = False
    while chunk:
        if not failed and s == "":
            failed = True
        c = chunk[0]
        if c == "[":
            r = ""
            if not failed:
                r, s = s[0], s[1:]
            chunk = chunk[1:]
            negated = False
            if chunk.startswith("^"):
                negated = True
                chunk = chunk[1:]
            match = False
            nrange = 0
            while True:
                if chunk.startswith("]") and nrange > 0:
                    chunk = chunk[1:]
                    break
                lo, chunk = _get_esc(chunk)
                hi = lo
                if chunk[0] == "-":
                    hi, chunk = _get_esc(chunk[1:])
                if lo <= r <= hi and r != "":
                    match = True
                nrange += 1
            if match == negated:
                failed = True
        elif c == "?":
            if not failed:
                if s[0] == "/":
                    failed = True
                s = s[1:]
            chunk = chunk[1:]
        else:
            if c == "\\":
                chunk = chunk[1:]
                if chunk == "":
                    raise _BadPattern
            if not failed:
                if chunk[0] != s[0]:
                    failed = True
                s = s[1:]
            chunk = chunk[1:]
    if failed:
        return "", False
    return s, True


def _go_match(pattern: str, name: str) -> bool:
    """Go's ``filepath.Match`` on Unix; raises ``_BadPattern`` on a malformed pattern."""
    while pattern:
        star, chunk, pattern = _scan_chunk(pattern)
        if star and chunk == "":
            return "/" not in name
        t, ok = _match_chunk(chunk, name)
        if ok and (t == "" or pattern):
            name = t
            continue
        if star:
            i = 0
            found = False
            while i < len(name) and name[i] != "/":
                t, ok = _match_chunk(chunk, name[i + 1:])
                if ok:
                    if pattern == "" and t:
                        i += 1
                        continue
                    name = t
                    found = True
                    break
                i += 1
            if found:
                continue
        while pattern:
            _, chunk, pattern = _scan_chunk(pattern)
            _match_chunk(chunk, "")
        return False
    return name == ""


# --------------------------------------------------------------------------- patterns


@dataclass(frozen=True)
class Pattern:
    """One cleaned pattern; ``text`` without the ``!`` of an exclusion."""

    text: str
    exclusion: bool
    kind: str          # "exact", "prefix", "suffix" or "regexp"
    regexp: re.Pattern[str] | None = None

    @classmethod
    def compile(cls, text: str, exclusion: bool) -> Pattern:
        out = ["^"]
        kind = "exact"
        i = 0
        n = len(text)
        index = 0
        while i < n:
            ch = text[i]
            i += 1
            if ch == "*":
                if i < n and text[i] == "*":
                    i += 1
                    if i < n and text[i] == "/":
                        i += 1
                    if i >= n:
                        if kind == "exact":
                            kind = "prefix"
                        else:
                            out.append(".*")
                            kind = "regexp"
                    else:
                        out.append("(.*/)?")
                        kind = "regexp"
                    if index == 0:
                        kind = "suffix"
                else:
                    out.append("[^/]*")
                    kind = "regexp"
            elif ch == "?":
                out.append("[^/]")
                kind = "regexp"
            elif ch in ".+()|{}$":
                out.append("\\" + ch)
            elif ch == "\\":
                if i < n:
                    out.append(re.escape(text[i]))
                    i += 1
                    kind = "regexp"
                else:
                    out.append("\\\\")
            elif ch in "[]":
                out.append(ch)
                kind = "regexp"
            else:
                out.append(ch)  # as Go does: "^" stays an anchor (or negates a class)
            index += 1
        if kind != "regexp":
            return cls(text, exclusion, kind)
        out.append("$")
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", FutureWarning)  # "[[" etc. in classes
                rx = re.compile("".join(out), re.DOTALL)
        except re.error:
            raise InvalidArgument(_BAD_PATTERN) from None
        return cls(text, exclusion, "regexp", rx)

    def match(self, path: str) -> bool:
        if self.kind == "exact":
            return path == self.text
        if self.kind == "prefix":
            return path.startswith(self.text[:-2])
        if self.kind == "suffix":
            suffix = self.text[2:]
            if path.endswith(suffix):
                return True
            return suffix.startswith("/") and path == suffix[1:]
        assert self.regexp is not None
        return self.regexp.match(path) is not None

    def __str__(self) -> str:
        return ("!" if self.exclusion else "") + self.text


class Matcher:
    """Docker's ``PatternMatcher`` over cleaned ``.dockerignore`` patterns."""

    def __init__(self, patterns: Iterable[Pattern]) -> None:
        self.patterns = tuple(patterns)
        self.exclusions = any(p.exclusion for p in self.patterns)

    def excluded(self, relpath: str, is_dir: bool = False) -> bool:
        """Whether ``relpath`` (slash-separated, relative to the context root) stays out.

        moby's ``MatchesOrParentMatches``: the last pattern that matches the
        path or one of its parent directories decides.  ``is_dir`` does not
        change the answer (Docker's patterns cannot tell files from dirs).
        """
        path = clean(relpath.lstrip("/")) if relpath else "."
        if path == ".":
            return False
        parent = path.rpartition("/")[0]
        parents = parent.split("/") if parent else []
        matched = False
        for pat in self.patterns:
            if pat.exclusion != matched:
                continue
            hit = pat.match(path)
            if not hit:
                for i in range(len(parents)):
                    if pat.match("/".join(parents[: i + 1])):
                        hit = True
                        break
            if hit:
                matched = not pat.exclusion
        return matched

    def may_reinclude_under(self, reldir: str) -> bool:
        """Whether an excluded directory must still be walked (a ``!`` pattern starts with it).

        The docker CLI's rule: only exclusion patterns whose text begins with
        ``dir/`` count, so ``!**/keep`` does not rescue files of an excluded dir.
        """
        prefix = clean(reldir) + "/"
        return any(p.exclusion and (p.text + "/").startswith(prefix) for p in self.patterns)

    def __repr__(self) -> str:
        return f"Matcher({[str(p) for p in self.patterns]!r})"


def read_patterns(text: str) -> list[str]:
    """moby ``dockerignore.ReadAll``: the cleaned pattern list of a ``.dockerignore``."""
    out: list[str] = []
    lines = text.split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    for n, line in enumerate(lines):
        if line.endswith("\r"):
            line = line[:-1]
        if n == 0 and line.startswith("\ufeff"):
            line = line[1:]
        if line.startswith("#"):
            continue
        pattern = _trim_space(line)
        if pattern == "":
            continue
        invert = pattern[0] == "!"
        if invert:
            pattern = _trim_space(pattern[1:])
        if pattern:
            pattern = clean(pattern)
            if len(pattern) > 1 and pattern[0] == "/":
                pattern = pattern[1:]
        out.append("!" + pattern if invert else pattern)
    return out


def from_patterns(patterns: Iterable[str]) -> Matcher:
    """moby ``patternmatcher.New``: compile a pattern list (as ``read_patterns`` returns it)."""
    compiled = []
    for p in patterns:
        p = _trim_space(p)
        if p == "":
            continue
        p = clean(p)
        exclusion = p[0] == "!"
        if exclusion:
            if len(p) == 1:
                raise InvalidArgument('illegal exclusion pattern: "!"')
            p = p[1:]
        try:
            _go_match(p, ".")
        except (_BadPattern, IndexError):
            raise InvalidArgument(_BAD_PATTERN) from None
        compiled.append(Pattern.compile(p, exclusion))
    return Matcher(compiled)


def load(text: str) -> Matcher:
    """The matcher for the text of a ``.dockerignore`` file."""
    return from_patterns(read_patterns(text))


def keep_build_files(patterns: list[str], dockerfile: str = "Dockerfile") -> list[str]:
    """The docker CLI's ``TrimBuildFilesFromExcludes``: make sure the client sends them anyway."""
    out = list(patterns)
    if from_patterns(out).excluded(".dockerignore"):
        out.append("!.dockerignore")
    dockerfile = dockerfile.replace(os.sep, "/")
    if from_patterns(out).excluded(dockerfile):
        out.append("!" + dockerfile)
    return out


def build_files_to_remove(matcher: Matcher, dockerfile: str = "Dockerfile") -> list[str]:
    """The daemon's ``removeDockerfile``: which of ``.dockerignore`` and the Dockerfile to drop from the context."""
    return [f for f in (".dockerignore", dockerfile) if matcher.excluded(f)]


def walk(root: str | os.PathLike[str], matcher: Matcher) -> Iterator[str]:
    """Yield the context entries to send, as slash paths relative to ``root``.

    Sorted by name, a directory before its contents, symlinks not followed.
    An excluded directory is skipped whole unless an exclusion pattern starts
    with its path, in which case it is walked (but not yielded itself) so the
    re-included entries below it come out — the docker CLI's rule.
    """
    base = os.fspath(root)

    def entries(rel: str) -> list[os.DirEntry[str]]:
        with os.scandir(os.path.join(base, rel) if rel else base) as it:
            return sorted(it, key=lambda e: os.fsencode(e.name))

    def rec(rel: str) -> Iterator[str]:
        for entry in entries(rel):
            path = f"{rel}/{entry.name}" if rel else entry.name
            is_dir = entry.is_dir(follow_symlinks=False)
            if matcher.excluded(path, is_dir):
                if is_dir and matcher.exclusions and matcher.may_reinclude_under(path):
                    yield from rec(path)
                continue
            yield path
            if is_dir:
                yield from rec(path)

    yield from rec("")
