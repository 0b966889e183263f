"""dockyard.util.dockerignore: Docker's .dockerignore rules (moby patternmatcher + ReadAll)."""

from __future__ import annotations

import os

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dockyard.errdefs import InvalidArgument
from dockyard.util.dockerignore import (
    build_files_to_remove,
    clean,
    from_patterns,
    keep_build_files,
    load,
    read_patterns,
    walk,
)

# moby patternmatcher TestMatches (single pattern, path, excluded?)
MOBY_MATCHES = [
    ("**", "file", True),
    ("**", "file/", True),
    ("**/", "file", True),
    ("**/", "file/", True),
    ("**", "dir/file", True),
    ("**/", "dir/file", True),
    ("**", "dir/file/", True),
    ("**/", "dir/file/", True),
    ("**/**", "dir/file", True),
    ("**/**", "dir/file/", True),
    ("dir/**", "dir/file", True),
    ("dir/**", "dir/file/", True),
    ("dir/**", "dir/dir2/file", True),
    ("dir/**", "dir/dir2/file/", True),
    ("**/dir", "dir", True),
    ("**/dir", "dir/file", True),
    ("**/dir2/*", "dir/dir2/file", True),
    ("**/dir2/*", "dir/dir2/file/", True),
    ("**/dir2/**", "dir/dir2/dir3/file", True),
    ("**/dir2/**", "dir/dir2/dir3/file/", True),
    ("**file", "file", True),
    ("**file", "dir/file", True),
    ("**/file", "dir/file", True),
    ("**file", "dir/dir/file", True),
    ("**/file", "dir/dir/file", True),
    ("**/file*", "dir/dir/file", True),
    ("**/file*", "dir/dir/file.txt", True),
    ("**/file*txt", "dir/dir/file.txt", True),
    ("**/file*.txt", "dir/dir/file.txt", True),
    ("**/file*.txt*", "dir/dir/file.txt", True),
    ("**/**/*.txt", "dir/dir/file.txt", True),
    ("**/**/*.txt2", "dir/dir/file.txt", False),
    ("**/*.txt", "file.txt", True),
    ("**/**/*.txt", "file.txt", True),
    ("a**/*.txt", "a/file.txt", True),
    ("a**/*.txt", "a/dir/file.txt", True),
    ("a**/*.txt", "a/dir/dir/file.txt", True),
    ("a/*.txt", "a/dir/file.txt", False),
    ("a/*.txt", "a/file.txt", True),
    ("a/*.txt**", "a/file.txt", True),
    ("a[b-d]e", "ae", False),
    ("a[b-d]e", "ace", True),
    ("a[b-d]e", "aae", False),
    ("a[^b-d]e", "aze", True),
    (".*", ".foo", True),
    (".*", "foo", False),
    ("abc.def", "abcdef", False),
    ("abc.def", "abc.def", True),
    ("abc.def", "abcZdef", False),
    ("abc?def", "abcZdef", True),
    ("abc?def", "abcdef", False),
    ("a\\\\", "a\\", True),
    ("**/foo/bar", "foo/bar", True),
    ("**/foo/bar", "dir/foo/bar", True),
    ("**/foo/bar", "dir/dir2/foo/bar", True),
    ("abc/**", "abc", False),
    ("abc/**", "abc/def", True),
    ("abc/**", "abc/def/ghi", True),
    ("**/.foo", ".foo", True),
    ("**/.foo", "bar.foo", False),
    ("a(b)c/def", "a(b)c/def", True),
    ("a(b)c/def", "a(b)c/xyz", False),
    ("a.|)$(}+{bc", "a.|)$(}+{bc", True),
    ("dist/proxy.py-2.4.0rc3.dev36+g08acad9-py3-none-any.whl",
     "dist/proxy.py-2.4.0rc3.dev36+g08acad9-py3-none-any.whl", True),
    ("dist/*.whl", "dist/proxy.py-2.4.0rc3.dev36+g08acad9-py3-none-any.whl", True),
    ("a\\*b", "a*b", True),
    ("a\\*b", "axb", False),
]


@pytest.mark.parametrize("pattern, path, excluded", MOBY_MATCHES)
def test_moby_patternmatcher_cases(pattern, path, excluded):
    assert from_patterns([pattern]).excluded(path) is excluded


@pytest.mark.parametrize("patterns, path, excluded", [
    (["**", "!util/docker/web"], "util/docker/web/foo", False),
    (["**", "!util/docker/web", "util/docker/web/foo"], "util/docker/web/foo", True),
    (["**", "!dist/proxy.py-2.4.0rc3.dev36+g08acad9-py3-none-any.whl"],
     "dist/proxy.py-2.4.0rc3.dev36+g08acad9-py3-none-any.whl", False),
    (["**", "!dist/*.whl"], "dist/proxy.py-2.4.0rc3.dev36+g08acad9-py3-none-any.whl", False),
])
def test_moby_multi_pattern_cases(patterns, path, excluded):
    assert from_patterns(patterns).excluded(path) is excluded


@pytest.mark.parametrize("text, path, is_dir, excluded", [
    # a pattern excludes what it matches and everything under it
    ("vendor", "vendor", True, True),
    ("vendor", "vendor/a/b.go", False, True),
    ("vendor", "src/vendor", True, False),
    ("vendor", "vendorx", False, False),
    # * stays within one component, ** spans any number
    ("*.pyc", "a.pyc", False, True),
    ("*.pyc", "sub/a.pyc", False, False),
    ("*/*.pyc", "sub/a.pyc", False, True),
    ("**/*.pyc", "a/b/c/a.pyc", False, True),
    ("**/*.pyc", "a.pyc", False, True),
    ("docs/**/*.md", "docs/a.md", False, True),
    ("docs/**/*.md", "docs/x/y/z.md", False, True),
    ("docs/**/*.md", "docs/a.txt", False, False),
    ("?", "a", False, True),
    ("?", "ab", False, False),
    ("a?c", "a/c", False, False),
    ("[abc]*", "bcd", False, True),
    ("[!a]", "!", False, True),  # Go classes negate with ^, not !
    # leading / and ./ are dropped, patterns are cleaned
    ("/build", "build/out", False, True),
    ("./build", "build", True, True),
    ("build/", "build", True, True),
    ("build/", "build", False, True),  # a trailing slash does not mean "directories only"
    ("a//b/../c/", "a/c", False, True),
    ("../outside", "outside", False, False),
    # comments are only at column 0, whitespace is trimmed
    ("#comment", "#comment", False, False),
    (" #hash", "#hash", False, True),
    ("  spaced  ", "spaced", False, True),
    # the path given is cleaned too
    ("a/b", "./a/b", False, True),
    ("a/b", "/a/b/", True, True),
    ("a", ".", True, False),
    ("a", "", True, False),
])
def test_rules(text, path, is_dir, excluded):
    assert load(text).excluded(path, is_dir) is excluded


def test_exceptions_apply_in_order_and_the_last_match_wins():
    m = load("*.md\n!README.md\nREADME.md\n!docs/README.md\n")
    assert m.excluded("README.md")
    assert m.excluded("CHANGES.md")
    assert not m.excluded("docs/README.md")  # *.md does not reach into docs/
    m = load("docs\n!docs/keep\n")
    assert m.excluded("docs/x")
    assert not m.excluded("docs/keep")
    assert not m.excluded("docs/keep/deeper")
    m = load("!docs/keep\ndocs\n")
    assert m.excluded("docs/keep")
    m = load("**\n!src\n!**/*.go\nsrc/gen\n")
    assert not m.excluded("src/a.py")
    assert m.excluded("src/gen/a.py")
    assert m.excluded("src/gen/a.go")
    assert not m.excluded("other/x.go")
    assert m.excluded("other/x.py")


def test_read_patterns():
    text = "\ufeff# comment\r\n\r\n  *.log  \n!  /keep.log\n/abs/path/\n./rel//x/..\n!\n \t\nlast"
    assert read_patterns(text) == ["*.log", "!keep.log", "abs/path", "rel", "!", "last"]
    assert read_patterns("") == []
    assert read_patterns("/\n") == ["/"]


@pytest.mark.parametrize("text, msg", [
    ("!\n", 'illegal exclusion pattern: "!"'),
    ("[\n", "syntax error in pattern"),
    ("a[\n", "syntax error in pattern"),
    ("[]a]\n", "syntax error in pattern"),
    ("[a-]\n", "syntax error in pattern"),
    ("x\\\n", "syntax error in pattern"),
    ("*[\n", "syntax error in pattern"),
    ("a/[b\n", "syntax error in pattern"),
])
def test_bad_patterns(text, msg):
    with pytest.raises(InvalidArgument) as e:
        load(text)
    assert str(e.value) == msg


def test_patterns_go_accepts():
    for text in ("[a-z]", "[\\]]", "[^/]", "\\[x\\]", "*", "a*b?c", "[*]"):
        load(text)


@pytest.mark.parametrize("path, want", [
    ("", "."), (".", "."), ("/", "/"), ("a/", "a"), ("a//b", "a/b"), ("./a", "a"), ("a/./b/..", "a"),
    ("../a", "../a"), ("/../a", "/a"), ("a/../..", ".."), ("//a", "/a"),
])
def test_clean_is_go_path_clean(path, want):
    assert clean(path) == want


# --------------------------------------------------------------------------- Dockerfile and .dockerignore themselves


def test_keep_build_files_like_the_docker_cli():
    pats = read_patterns("*\n")
    assert keep_build_files(pats) == ["*", "!.dockerignore", "!Dockerfile"]
    assert keep_build_files(["*.md"], "docker/Dockerfile.dev") == ["*.md"]
    assert keep_build_files(["docker"], "docker/Dockerfile.dev") == ["docker", "!docker/Dockerfile.dev"]
    m = from_patterns(keep_build_files(["*"]))
    assert not m.excluded("Dockerfile") and not m.excluded(".dockerignore") and m.excluded("src")


def test_build_files_to_remove_like_the_daemon():
    assert build_files_to_remove(load("Dockerfile\n.dockerignore\n")) == [".dockerignore", "Dockerfile"]
    assert build_files_to_remove(load("*.md\n")) == []
    assert build_files_to_remove(load("docker\n"), "docker/Dockerfile.dev") == ["docker/Dockerfile.dev"]
    assert build_files_to_remove(load(".*\n")) == [".dockerignore"]


# --------------------------------------------------------------------------- walking a context


@pytest.fixture
def context(tmp_path):
    for rel in ["Dockerfile", ".dockerignore", "a.txt", "b.log", "src/main.go", "src/main_test.go",
                "src/gen/x.go", "docs/README.md", "docs/guide/intro.md", "node_modules/m/index.js",
                "keep/dir/file", "z/keepme.txt", "z/drop.txt"]:
        p = tmp_path / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(rel)
    (tmp_path / "empty").mkdir()
    os.symlink("/etc", tmp_path / "link")
    return tmp_path


def test_walk_without_ignore_file_yields_everything_sorted(context):
    got = list(walk(context, load("")))
    assert got == [".dockerignore", "Dockerfile", "a.txt", "b.log", "docs", "docs/README.md", "docs/guide",
                   "docs/guide/intro.md", "empty", "keep", "keep/dir", "keep/dir/file", "link", "node_modules",
                   "node_modules/m", "node_modules/m/index.js", "src", "src/gen", "src/gen/x.go", "src/main.go",
                   "src/main_test.go", "z", "z/drop.txt", "z/keepme.txt"]


def test_walk_applies_the_patterns(context):
    m = load("*.log\nnode_modules\n**/*_test.go\ndocs/**/*.md\n!docs/README.md\nz\n!z/keepme.txt\nlink\nempty/\n")
    assert list(walk(context, m)) == [".dockerignore", "Dockerfile", "a.txt", "docs", "docs/README.md",
                                      "docs/guide", "keep", "keep/dir", "keep/dir/file", "src", "src/gen",
                                      "src/gen/x.go", "src/main.go", "z/keepme.txt"]


def test_walk_descends_into_excluded_dirs_only_for_exceptions_that_start_with_them(context):
    # the docker CLI's rule: "!**/x" does not rescue files below an excluded directory
    assert list(walk(context, load("src\n!**/main.go\n"))) == [
        f for f in walk(context, load("src\n")) if not f.startswith("src")]
    assert [f for f in walk(context, load("src\n!src/gen/x.go\n")) if f.startswith("src")] == ["src/gen/x.go"]


def test_walk_everything_but(context):
    m = from_patterns(keep_build_files(read_patterns("*\n!src\n")))
    assert list(walk(context, m)) == [".dockerignore", "Dockerfile", "src", "src/gen", "src/gen/x.go",
                                      "src/main.go", "src/main_test.go"]


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet="ab*?[]^!-\\/.#\n ", max_size=30), st.text(alphabet="ab*?[]/.", max_size=12))
def test_dockerignore_never_crashes(text, path):
    try:
        m = load(text)
    except InvalidArgument:
        return
    assert m.excluded(path) in (True, False)
