"""dockyard.dockerfile.parser: the parse, compared as BuildKit's ``Node.Dump()`` prints it.

Most expected dumps are BuildKit's own ``frontend/dockerfile/parser/testfiles``
(Dockerfile → result pairs), the rest are the tricky corners: escapes, quotes,
continuations with comments and blank lines, heredocs, ONBUILD, HEALTHCHECK,
JSON vs shell form, ``# escape=```.
"""

from __future__ import annotations

import subprocess
import sys

import pytest

from dockyard.dockerfile.parser import DockerfileError, dump, go_quote, main, parse


def d(text: str, *, strict: bool = True) -> str:
    return dump(parse(text, strict=strict))


# --------------------------------------------------------------------------- BuildKit's testfiles

BUILDKIT_TESTFILES = {
    "escape": (
        "FROM image\nMAINTAINER foo@bar.com\nENV GOPATH \\\n\\go\n",
        '(from "image")\n(maintainer "foo@bar.com")\n(env "GOPATH" "\\\\go" "")',
    ),
    "escape-after-comment": (
        "# Comment here. Should not be looking for the following parser directive.\n"
        "# Hence the following line will be ignored, and the subsequent backslash\n"
        "# continuation will be the default.\n"
        "# escape = `\n\n"
        "FROM image\nMAINTAINER foo@bar.com\nENV GOPATH \\\n\\go\n",
        '(from "image")\n(maintainer "foo@bar.com")\n(env "GOPATH" "\\\\go" "")',
    ),
    "escape-nonewline": (
        "# escape = `\n# Note that this file deliberately has no trailing newline\n\n"
        "FROM image\nMAINTAINER foo@bar.com\nENV GOPATH `\n\\go",
        '(from "image")\n(maintainer "foo@bar.com")\n(env "GOPATH" "\\\\go" "")',
    ),
    "escapes": (
        "FROM ubuntu:14.04\n"
        "LABEL maintainer Erik \\\\Hollensbe <erik@hollensbe.org>\\\"\n\n"
        "RUN apt-get \\update && \\\n  apt-get \\\"install znc -y\n"
        "ADD \\conf\\\\\" /.znc\n\n"
        "RUN foo \\\n\nbar \\\n\nbaz\n\n"
        'CMD [ "\\/usr\\\\\\"/bin/znc", "-f", "-r" ]\n',
        '(from "ubuntu:14.04")\n'
        '(label "maintainer" "Erik \\\\\\\\Hollensbe <erik@hollensbe.org>\\\\\\"" "")\n'
        '(run "apt-get \\\\update &&   apt-get \\\\\\"install znc -y")\n'
        '(add "\\\\conf\\\\\\\\\\"" "/.znc")\n'
        '(run "foo bar baz")\n'
        '(cmd "/usr\\\\\\"/bin/znc" "-f" "-r")',
    ),
    "continue-at-eof": (
        "FROM alpine:3.5\n\nRUN something \\",
        '(from "alpine:3.5")\n(run "something")',
    ),
    "continueIndent": (
        "FROM ubuntu:14.04\n\n"
        "RUN echo hello\\\n  world\\\n  goodnight  \\\n  moon\\\n  light\\\nning\n"
        "RUN echo hello  \\\n  world\n"
        "RUN echo hello  \\\nworld\n"
        "RUN echo hello \\\ngoodbye\\\nfrog\n"
        "RUN echo hello  \\\nworld\n"
        "RUN echo hi \\\n \\\n world \\\n\\\n good\\\n\\\nnight\n"
        "RUN echo goodbye\\\nfrog\n"
        "RUN echo good\\\nbye\\\nfrog\n\n"
        "RUN echo hello \\\n# this is a comment\n\n"
        "# this is a comment with a blank line surrounding it\n\n"
        "this is some more useful stuff\n",
        '(from "ubuntu:14.04")\n'
        '(run "echo hello  world  goodnight    moon  lightning")\n'
        '(run "echo hello    world")\n'
        '(run "echo hello  world")\n'
        '(run "echo hello goodbyefrog")\n'
        '(run "echo hello  world")\n'
        '(run "echo hi   world  goodnight")\n'
        '(run "echo goodbyefrog")\n'
        '(run "echo goodbyefrog")\n'
        '(run "echo hello this is some more useful stuff")',
    ),
    "env": (
        "FROM ubuntu\n"
        "ENV name value\n"
        "ENV name=value\n"
        "ENV name=value name2=value2\n"
        'ENV name="value value1"\n'
        "ENV name=value\\ value2\n"
        "ENV name=\"value'quote space'value2\"\n"
        "ENV name='value\"double quote\"value2'\n"
        "ENV name=value\\ value2 name2=value2\\ value3\n"
        'ENV name="a\\"b"\n'
        "ENV name=\"a\\'b\"\n"
        "ENV name='a\\'b'\n"
        "ENV name='a\\'b''\n"
        "ENV name='a\\\"b'\n"
        "ENV name=\"''\"\n"
        "# don't put anything after the next line - it must be the last line of the\n"
        "# Dockerfile and it must end with \\\n"
        "ENV name=value \\\n"
        "    name1=value1 \\\n"
        '    name2="value2a \\\n'
        '           value2b" \\\n'
        '    name3="value3a\\n\\"value3b\\"" \\\n'
        '\tname4="value4a\\\\nvalue4b" \\\n',
        '(from "ubuntu")\n'
        '(env "name" "value" "")\n'
        '(env "name" "value" "=")\n'
        '(env "name" "value" "=" "name2" "value2" "=")\n'
        '(env "name" "\\"value value1\\"" "=")\n'
        '(env "name" "value\\\\ value2" "=")\n'
        '(env "name" "\\"value\'quote space\'value2\\"" "=")\n'
        '(env "name" "\'value\\"double quote\\"value2\'" "=")\n'
        '(env "name" "value\\\\ value2" "=" "name2" "value2\\\\ value3" "=")\n'
        '(env "name" "\\"a\\\\\\"b\\"" "=")\n'
        '(env "name" "\\"a\\\\\'b\\"" "=")\n'
        '(env "name" "\'a\\\\\'b\'" "=")\n'
        '(env "name" "\'a\\\\\'b\'\'" "=")\n'
        '(env "name" "\'a\\\\\\"b\'" "=")\n'
        '(env "name" "\\"\'\'\\"" "=")\n'
        '(env "name" "value" "=" "name1" "value1" "=" "name2" "\\"value2a            value2b\\"" "=" '
        '"name3" "\\"value3a\\\\n\\\\\\"value3b\\\\\\"\\"" "=" "name4" "\\"value4a\\\\\\\\nvalue4b\\"" "=")',
    ),
    "json": (
        'CMD []\nCMD [""]\nCMD ["a"]\nCMD ["a","b"]\nCMD [ "a", "b" ]\nCMD [\t"a",\t"b"\t]\n'
        'CMD\t[\t"a",\t"b"\t]\t\n'
        'CMD ["abc 123", "♥", "☃", "\\" \\\\ \\/ \\b \\f \\n \\r \\t \\u0000"]\n',
        '(cmd)\n(cmd "")\n(cmd "a")\n(cmd "a" "b")\n(cmd "a" "b")\n(cmd "a" "b")\n(cmd "a" "b")\n'
        '(cmd "abc 123" "♥" "☃" "\\" \\\\ / \\b \\f \\n \\r \\t \\x00")',
    ),
    "flags": (
        "FROM scratch\n"
        "COPY foo /tmp/\n"
        "COPY --user=me foo /tmp/\n"
        "COPY --doit=true foo /tmp/\n"
        "COPY --user=me --doit=true foo /tmp/\n"
        "COPY --doit=true -- foo /tmp/\n"
        "COPY -- foo /tmp/\n"
        'CMD --doit [ "a", "b" ]\n'
        'CMD --doit=true -- [ "a", "b" ]\n'
        "CMD --doit -- [ ]\n",
        '(from "scratch")\n'
        '(copy "foo" "/tmp/")\n'
        '(copy ["--user=me"] "foo" "/tmp/")\n'
        '(copy ["--doit=true"] "foo" "/tmp/")\n'
        '(copy ["--user=me" "--doit=true"] "foo" "/tmp/")\n'
        '(copy ["--doit=true"] "foo" "/tmp/")\n'
        '(copy "foo" "/tmp/")\n'
        '(cmd ["--doit"] "a" "b")\n'
        '(cmd ["--doit=true"] "a" "b")\n'
        '(cmd ["--doit"])',
    ),
    "health": (
        "FROM debian\n"
        "ADD check.sh main.sh /app/\n"
        "CMD /app/main.sh\n"
        "HEALTHCHECK\n"
        "HEALTHCHECK --interval=5s --timeout=3s --retries=3 \\\n"
        "  CMD /app/check.sh --quiet\n"
        "HEALTHCHECK CMD\n"
        "HEALTHCHECK   CMD   a b\n"
        'HEALTHCHECK --timeout=3s CMD ["foo"]\n'
        "HEALTHCHECK CONNECT TCP 7000\n",
        '(from "debian")\n'
        '(add "check.sh" "main.sh" "/app/")\n'
        '(cmd "/app/main.sh")\n'
        "(healthcheck)\n"
        '(healthcheck ["--interval=5s" "--timeout=3s" "--retries=3"] "CMD" "/app/check.sh --quiet")\n'
        '(healthcheck "CMD")\n'
        '(healthcheck "CMD" "a b")\n'
        '(healthcheck ["--timeout=3s"] "CMD" "foo")\n'
        '(healthcheck "CONNECT" "TCP 7000")',
    ),
    "influxdb": (
        "FROM ubuntu:14.04\n\n"
        "RUN apt-get update && apt-get install wget -y\n"
        "RUN wget http://s3.amazonaws.com/influxdb/influxdb_latest_amd64.deb\n"
        "RUN dpkg -i influxdb_latest_amd64.deb\n"
        "RUN rm -r /opt/influxdb/shared\n\n"
        "VOLUME /opt/influxdb/shared\n\n"
        "CMD /usr/bin/influxdb --pidfile /var/run/influxdb.pid -config /opt/influxdb/shared/config.toml\n\n"
        "EXPOSE 8083\nEXPOSE 8086\nEXPOSE 8090\nEXPOSE 8099\n",
        '(from "ubuntu:14.04")\n'
        '(run "apt-get update && apt-get install wget -y")\n'
        '(run "wget http://s3.amazonaws.com/influxdb/influxdb_latest_amd64.deb")\n'
        '(run "dpkg -i influxdb_latest_amd64.deb")\n'
        '(run "rm -r /opt/influxdb/shared")\n'
        '(volume "/opt/influxdb/shared")\n'
        '(cmd "/usr/bin/influxdb --pidfile /var/run/influxdb.pid -config /opt/influxdb/shared/config.toml")\n'
        '(expose "8083")\n(expose "8086")\n(expose "8090")\n(expose "8099")',
    ),
    "jeztah-invalid-json-json-inside-string": (
        'CMD [ "echo", "[\\"nested json\\"]" ]\n',
        '(cmd "echo" "[\\"nested json\\"]")',
    ),
    "jeztah-invalid-json-json-inside-string-double": (
        'CMD [ "echo", "["nested json"]" ]\n',
        '(cmd "[ \\"echo\\", \\"[\\"nested json\\"]\\" ]")',
    ),
    "jeztah-invalid-json-single-quotes": (
        "CMD ['echo','single quotes are invalid JSON']\n",
        "(cmd \"['echo','single quotes are invalid JSON']\")",
    ),
    "jeztah-invalid-json-unterminated-bracket": (
        'CMD [ "echo", "look ma, no brackets!"\n',
        '(cmd "[ \\"echo\\", \\"look ma, no brackets!\\"")',
    ),
    "jeztah-invalid-json-unterminated-string": (
        'CMD [ "echo", "look ma, no brackets!]\n',
        '(cmd "[ \\"echo\\", \\"look ma, no brackets!]")',
    ),
    "kartar-entrypoint-oddities": (
        "FROM ubuntu:14.04\n"
        'MAINTAINER James Turnbull "james@example.com"\n'
        "ENV REFRESHED_AT 2014-06-01\n"
        "RUN apt-get update\n"
        "RUN apt-get -y install redis-server redis-tools\n"
        "EXPOSE 6379\n"
        'ENTRYPOINT [ "/usr/bin/redis-server" ]\n',
        '(from "ubuntu:14.04")\n'
        '(maintainer "James Turnbull \\"james@example.com\\"")\n'
        '(env "REFRESHED_AT" "2014-06-01" "")\n'
        '(run "apt-get update")\n'
        '(run "apt-get -y install redis-server redis-tools")\n'
        '(expose "6379")\n'
        '(entrypoint "/usr/bin/redis-server")',
    ),
    "lk4d4-the-edge-case-generator": (
        "FROM busybox:buildroot-2014.02\n\n"
        "MAINTAINER docker <docker@docker.io>\n\n"
        'ONBUILD RUN ["echo", "test"]\n'
        "ONBUILD RUN echo test\n"
        "ONBUILD COPY . /\n\n\n"
        "# RUN Commands \\\n"
        "# linebreak in comment \\\n"
        'RUN ["ls", "-la"]\n'
        "RUN [\"echo\", \"'1234'\"]\n"
        'RUN echo "1234"\n'
        "RUN echo 1234\n"
        "RUN echo '1234' && \\\n"
        '    echo "456" && \\\n'
        "    echo 789\n"
        "RUN    sh -c 'echo root:testpass \\\n"
        "        > /tmp/passwd'\n"
        "RUN mkdir -p /test /test2 /test3/test\n\n"
        "# ENV \\\n"
        "ENV SCUBA 1 DUBA 3\n"
        'ENV SCUBA "1 DUBA 3"\n\n'
        "# CMD \\\n"
        'CMD ["echo", "test"]\n'
        "CMD echo test\n"
        'CMD echo "test"\n'
        "CMD echo 'test'\n"
        "CMD echo 'test' | wc -\n\n"
        "#EXPOSE\\\n"
        "EXPOSE 3000\n"
        "EXPOSE 9000 5000 6000\n\n"
        "USER docker\n"
        "USER docker:root\n\n"
        'VOLUME ["/test"]\n'
        'VOLUME ["/test", "/test2"]\n'
        "VOLUME /test3\n\n"
        "WORKDIR /test\n\n"
        "ADD . /\n"
        "COPY . copy\n",
        '(from "busybox:buildroot-2014.02")\n'
        '(maintainer "docker <docker@docker.io>")\n'
        '(onbuild (run "echo" "test"))\n'
        '(onbuild (run "echo test"))\n'
        '(onbuild (copy "." "/"))\n'
        '(run "ls" "-la")\n'
        '(run "echo" "\'1234\'")\n'
        '(run "echo \\"1234\\"")\n'
        '(run "echo 1234")\n'
        '(run "echo \'1234\' &&     echo \\"456\\" &&     echo 789")\n'
        '(run "sh -c \'echo root:testpass         > /tmp/passwd\'")\n'
        '(run "mkdir -p /test /test2 /test3/test")\n'
        '(env "SCUBA" "1 DUBA 3" "")\n'
        '(env "SCUBA" "\\"1 DUBA 3\\"" "")\n'
        '(cmd "echo" "test")\n'
        '(cmd "echo test")\n'
        '(cmd "echo \\"test\\"")\n'
        '(cmd "echo \'test\'")\n'
        '(cmd "echo \'test\' | wc -")\n'
        '(expose "3000")\n'
        '(expose "9000" "5000" "6000")\n'
        '(user "docker")\n'
        '(user "docker:root")\n'
        '(volume "/test")\n'
        '(volume "/test" "/test2")\n'
        '(volume "/test3")\n'
        '(workdir "/test")\n'
        '(add "." "/")\n'
        '(copy "." "copy")',
    ),
    "ADD-COPY-with-JSON": (
        "FROM\tubuntu:14.04\n"
        "LABEL\tmaintainer\tSeongyeol Lim <seongyeol37@gmail.com>\n\n"
        "COPY\t.\t/go/src/github.com/docker/docker\n"
        "ADD\t\t.\t/\n"
        "ADD\t\tnull /\n"
        "COPY\tnullfile /tmp\n"
        'ADD\t\t[ "vimrc", "/tmp" ]\n'
        'COPY\t[ "bashrc", "/tmp" ]\n'
        'COPY\t[ "test file", "/tmp" ]\n'
        'ADD\t\t[ "test file", "/tmp/test file" ]\n',
        '(from "ubuntu:14.04")\n'
        '(label "maintainer" "Seongyeol Lim <seongyeol37@gmail.com>" "")\n'
        '(copy "." "/go/src/github.com/docker/docker")\n'
        '(add "." "/")\n'
        '(add "null" "/")\n'
        '(copy "nullfile" "/tmp")\n'
        '(add "vimrc" "/tmp")\n'
        '(copy "bashrc" "/tmp")\n'
        '(copy "test file" "/tmp")\n'
        '(add "test file" "/tmp/test file")',
    ),
}


@pytest.mark.parametrize("name", sorted(BUILDKIT_TESTFILES))
def test_buildkit_testfiles(name):
    text, want = BUILDKIT_TESTFILES[name]
    assert d(text, strict=False) == want


@pytest.mark.parametrize("name", sorted(set(BUILDKIT_TESTFILES) - {"flags", "health", "json"}))
def test_buildkit_testfiles_pass_the_instruction_checks_too(name):
    text, want = BUILDKIT_TESTFILES[name]
    assert d(text) == want


# --------------------------------------------------------------------------- dump format


@pytest.mark.parametrize("src, want", [
    ("FROM busybox\nCMD\n", '(from "busybox")\n(cmd)'),
    ("FROM busybox\nENTRYPOINT []\n", '(from "busybox")\n(entrypoint)'),
    ("FROM busybox\nCOPY --from=builder /a /b\n", '(from "busybox")\n(copy ["--from=builder"] "/a" "/b")'),
    ("from busybox\nrun echo hi\n", '(from "busybox")\n(run "echo hi")'),
    ("FrOm busybox\nRuN echo hi\n", '(from "busybox")\n(run "echo hi")'),
    ("FROM --platform=linux/amd64 golang:1.21 AS build\n",
     '(from ["--platform=linux/amd64"] "golang:1.21" "AS" "build")'),
    ("FROM a   as   b\n", '(from "a" "as" "b")'),
    ("FROM a\nRUN --mount=type=cache,target=/root/.cache --network=none make\n",
     '(from "a")\n(run ["--mount=type=cache,target=/root/.cache" "--network=none"] "make")'),
    ("FROM a\nRUN --mount=type=bind,source=\"a b\" ls\n",
     '(from "a")\n(run ["--mount=type=bind,source=a b"] "ls")'),
    ("FROM a\nCOPY --chown='1 2' x y\n", '(from "a")\n(copy ["--chown=1 2"] "x" "y")'),
    ("FROM a\nCOPY --chown=a\\ b x y\n", '(from "a")\n(copy ["--chown=a b"] "x" "y")'),
    ("FROM a\nCOPY --link --chmod=0755 x y\n", '(from "a")\n(copy ["--link" "--chmod=0755"] "x" "y")'),
    ("FROM a\nADD --keep-git-dir=true --checksum=sha256:abc https://x/y.git /src\n",
     '(from "a")\n(add ["--keep-git-dir=true" "--checksum=sha256:abc"] "https://x/y.git" "/src")'),
    ("FROM a\nRUN echo -- --x\n", '(from "a")\n(run "echo -- --x")'),
    ("FROM a\nRUN -- --x\n", '(from "a")\n(run "--x")'),
    ("FROM a\nRUN -x\n", '(from "a")\n(run "-x")'),
    ("FROM a\nEXPOSE 80/tcp \t 443  8080/udp\n", '(from "a")\n(expose "80/tcp" "443" "8080/udp")'),
    ("FROM a\nUSER  nobody:nogroup  \n", '(from "a")\n(user "nobody:nogroup")'),
    ("FROM a\nWORKDIR /a b  c\n", '(from "a")\n(workdir "/a b  c")'),
    ("FROM a\nSTOPSIGNAL SIGKILL\n", '(from "a")\n(stopsignal "SIGKILL")'),
    ("FROM a\nMAINTAINER Me <me@example.com>\n", '(from "a")\n(maintainer "Me <me@example.com>")'),
    ("FROM a\nSHELL [\"/bin/bash\", \"-euo\", \"pipefail\", \"-c\"]\n",
     '(from "a")\n(shell "/bin/bash" "-euo" "pipefail" "-c")'),
    ("FROM a\nVOLUME /a /b\nVOLUME [\"/c d\"]\n", '(from "a")\n(volume "/a" "/b")\n(volume "/c d")'),
    ("FROM a\nARG A=\"b c\" D 'e'=f\n", '(from "a")\n(arg "A=\\"b c\\"" "D" "\'e\'=f")'),
    ("ARG V=1\nFROM a:$V\n", '(arg "V=1")\n(from "a:$V")'),
    ("FROM a\nARG A=b\\ c\n", '(from "a")\n(arg "A=b\\\\ c")'),
    ("FROM a\nLABEL a=b c=\"d e\" \"f g\"=h\n",
     '(from "a")\n(label "a" "b" "=" "c" "\\"d e\\"" "=" "\\"f g\\"" "h" "=")'),
    ("FROM a\nLABEL key   value with   spaces\n", '(from "a")\n(label "key" "value with   spaces" "")'),
    ("FROM a\nENV A=\n", '(from "a")\n(env "A" "" "=")'),
    ("FROM a\nENV A=1 B=\"\" C='x'\n", '(from "a")\n(env "A" "1" "=" "B" "\\"\\"" "=" "C" "\'x\'" "=")'),
    ("FROM a\nENV A=b=c\n", '(from "a")\n(env "A" "b=c" "=")'),
    ("FROM a\nONBUILD RUN [\"echo\", \"hi\"]\n", '(from "a")\n(onbuild (run "echo" "hi"))'),
    ("FROM a\nONBUILD  run  echo hi\n", '(from "a")\n(onbuild (run "echo hi"))'),
    ("FROM a\nONBUILD COPY --from=build /x /y\n", '(from "a")\n(onbuild (copy ["--from=build"] "/x" "/y"))'),
    ("FROM a\nONBUILD ENV A=1 B=2\n", '(from "a")\n(onbuild (env "A" "1" "=" "B" "2" "="))'),
    ("FROM a\nONBUILD ENV A 1 B=2\n", '(from "a")\n(onbuild (env "A" "1 B=2" ""))'),
    ("FROM a\nONBUILD HEALTHCHECK NONE\n", '(from "a")\n(onbuild (healthcheck "NONE"))'),
    ("FROM a\nHEALTHCHECK NONE\n", '(from "a")\n(healthcheck "NONE")'),
    ("FROM a\nHEALTHCHECK --interval=30s --start-period=5s --start-interval=1s CMD [\"curl\", \"-f\", \"x\"]\n",
     '(from "a")\n(healthcheck ["--interval=30s" "--start-period=5s" "--start-interval=1s"] "CMD" "curl" "-f" "x")'),
    ("FROM a\nHEALTHCHECK cmd  exit 0\n", '(from "a")\n(healthcheck "cmd" "exit 0")'),
])
def test_dump(src, want):
    assert d(src) == want


@pytest.mark.parametrize("src, want", [
    # JSON that is not valid JSON (to Go) is shell form
    ('FROM a\nRUN ["a", "b",]\n', '(from "a")\n(run "[\\"a\\", \\"b\\",]")'),
    ("FROM a\nRUN [\"a\"] && echo\n", '(from "a")\n(run "[\\"a\\"] && echo")'),
    ("FROM a\nRUN [NaN]\n", '(from "a")\n(run "[NaN]")'),
    ('FROM a\nRUN ["c:\\windows\\system32\\tasklist.exe"]\n',
     '(from "a")\n(run "[\\"c:\\\\windows\\\\system32\\\\tasklist.exe\\"]")'),
    ('FROM a\nRUN ["c:\\\\windows\\\\system32\\\\tasklist.exe"]\n',
     '(from "a")\n(run "c:\\\\windows\\\\system32\\\\tasklist.exe")'),
    ('FROM a\nCMD ["\\u00e9", "\\ud83d\\ude00", "\\ud800"]\n', '(from "a")\n(cmd "é" "😀" "�")'),
    # a JSON array in ADD/COPY/VOLUME, or whitespace split
    ('FROM a\nCOPY [ "a b" ,"c" ]\n', '(from "a")\n(copy "a b" "c")'),
    ('FROM a\nCOPY ["a b" "c"]\n', '(from "a")\n(copy "[\\"a" "b\\"" "\\"c\\"]")'),
    ('FROM a\nVOLUME [ ]\nVOLUME /x\n', None),  # checked below: VOLUME [] has no argument
])
def test_json_vs_shell_form(src, want):
    if want is None:
        with pytest.raises(DockerfileError, match="VOLUME requires at least one argument"):
            parse(src)
        assert d(src, strict=False) == '(from "a")\n(volume)\n(volume "/x")'
    else:
        assert d(src) == want


@pytest.mark.parametrize("src", [
    'FROM a\nCMD [1, "a"]\n',
    'FROM a\nRUN ["a", null]\n',
    'FROM a\nENTRYPOINT [true]\n',
    'FROM a\nSHELL [["sh"]]\n',
    'FROM a\nCOPY [{"a": 1}, "b"]\n',
    'FROM a\nVOLUME ["/a", 2]\n',
    'FROM a\nHEALTHCHECK CMD ["a", 1.5]\n',
    'FROM a\nONBUILD CMD [1]\n',
])
def test_json_array_of_non_strings_is_an_error(src):
    # BuildKit's parseMaybeJSON returns errDockerfileNotStringArray: no shell-form fallback
    with pytest.raises(DockerfileError) as e:
        parse(src, strict=False)
    assert str(e.value) == "Dockerfile:2: when using JSON array syntax, arrays must be comprised of strings only"


@pytest.mark.parametrize("src, want", [
    ("FROM a\nLABEL x=\"tab\there\" y=\x01\x7f\n", '(from "a")\n(label "x" "\\"tab\\there\\"" "=" "y" "\\x01\\x7f" "=")'),
    ("FROM a\nLABEL x=é€😀\n", '(from "a")\n(label "x" "é€😀" "=")'),
    ("FROM a\nLABEL x=\"a\u00a0b\u200bc\"\n", '(from "a")\n(label "x" "\\"a\\u00a0b\\u200bc\\"" "=")'),
    # U+00A0 and U+3000 are spaces to Go's unicode.IsSpace, so they split words; U+200B is not
    ("FROM a\nLABEL x=a\u00a0y=b\u3000z=c\u200bd\n",
     '(from "a")\n(label "x" "a" "=" "y" "b" "=" "z" "c\\u200bd" "=")'),
    ("FROM a\nRUN echo \"a\\\\b\"\n", '(from "a")\n(run "echo \\"a\\\\\\\\b\\"")'),
    ("FROM a\nRUN printf 'a\\nb'\r\n", '(from "a")\n(run "printf \'a\\\\nb\'")'),
    ("FROM a\nRUN a\rb\n", '(from "a")\n(run "a\\rb")'),
])
def test_go_quoting(src, want):
    assert d(src) == want


def test_go_quote_matches_strconv_quote():
    assert go_quote("") == '""'
    assert go_quote('a"b\\c') == '"a\\"b\\\\c"'
    assert go_quote("\a\b\f\n\r\t\v") == '"\\a\\b\\f\\n\\r\\t\\v"'
    assert go_quote("\x00\x1b\x7f") == '"\\x00\\x1b\\x7f"'
    assert go_quote("\u0085\u2028\ufeff") == '"\\u0085\\u2028\\ufeff"'
    assert go_quote("\U000e0001") == '"\\U000e0001"'
    assert go_quote("\u00e9 \u4e2d \U0001f600") == '"\u00e9 \u4e2d \U0001f600"'
    # bytes that were not UTF-8 (decoded with surrogateescape) print as \xNN like Go's
    assert go_quote(b"a\xff\xc3".decode("utf-8", "surrogateescape")) == '"a\\xff\\xc3"'


def test_flags_are_read_byte_by_byte_like_go():
    # extractBuilderFlags walks bytes: a non-ASCII byte becomes the Latin-1 rune
    assert d("FROM a\nCOPY --chown=é x y\n", strict=False) == '(from "a")\n(copy ["--chown=Ã©"] "x" "y")'


def test_no_trailing_newline_and_empty_lines_ignored():
    assert d("\n\n  FROM a  \n\n\n   RUN x\n\n") == '(from "a")\n(run "x")'


def test_heredoc_bodies_are_not_printed():
    src = ("FROM a\n"
           "RUN <<EOF\necho hi\nEOF\n"
           "RUN <<FILE1 cat > file1 && <<FILE2 cat > file2\nI am\nfirst\nFILE1\nI am\nsecond\nFILE2\n"
           "COPY <<EOF /greeting.txt\nhello world\nEOF\n"
           "COPY <<-\"EOT\" /script.sh\n\techo \"hello ${FOO}\"\n\tEOT\n"
           "RUN echo done\n")
    assert d(src) == ('(from "a")\n'
                      '(run "<<EOF")\n'
                      '(run "<<FILE1 cat > file1 && <<FILE2 cat > file2")\n'
                      '(copy "<<EOF" "/greeting.txt")\n'
                      '(copy "<<-\\"EOT\\"" "/script.sh")\n'
                      '(run "echo done")')


def test_escape_backtick_dump():
    src = ("# escape=`\n\n"
           "FROM microsoft/nanoserver\n"
           "COPY testfile.txt c:\\\n"
           "RUN dir c:\\\n"
           "RUN New-Item `\n"
           "  -ItemType Directory C:\\Example\n"
           "ENV A=a`b B=\"c`\"d\"\n"
           "ADD Execute-MyCmdlet.ps1 c:\\example\\\n")
    assert d(src) == ('(from "microsoft/nanoserver")\n'
                      '(copy "testfile.txt" "c:\\\\")\n'
                      '(run "dir c:\\\\")\n'
                      '(run "New-Item   -ItemType Directory C:\\\\Example")\n'
                      '(env "A" "a`b" "=" "B" "\\"c`\\"d\\"" "=")\n'
                      '(add "Execute-MyCmdlet.ps1" "c:\\\\example\\\\")')


def test_default_escape_joins_windows_paths_like_docker():
    # the reference's example: the trailing \ of c:\ continues the line
    src = "FROM microsoft/nanoserver\nCOPY testfile.txt c:\\\\\nRUN dir c:\\\n"
    assert d(src) == '(from "microsoft/nanoserver")\n(copy "testfile.txt" "c:\\\\RUN" "dir" "c:")'


# --------------------------------------------------------------------------- the CLI entry point


def test_main_prints_the_dump(tmp_path, capsys):
    f = tmp_path / "Dockerfile"
    f.write_text("FROM busybox\nCOPY --from=builder /a /b\nONBUILD RUN [\"echo\", \"hi\"]\n")
    assert main([str(f)]) == 0
    out = capsys.readouterr()
    assert out.out == '(from "busybox")\n(copy ["--from=builder"] "/a" "/b")\n(onbuild (run "echo" "hi"))\n'
    assert out.err == ""


def test_main_fails_with_the_located_error(tmp_path, capsys):
    f = tmp_path / "Dockerfile.dev"
    f.write_text("FROM busybox\n\nRUNN x\n")
    assert main([str(f)]) == 1
    out = capsys.readouterr()
    assert out.out == ""
    assert out.err == "Dockerfile.dev:3: unknown instruction: RUNN\n"


def test_main_parser_only_mode(tmp_path, capsys):
    f = tmp_path / "Dockerfile"
    f.write_text("FROM a\nCOPY --doit=true x y\nRUNN z\n")
    assert main([str(f)]) == 1
    assert capsys.readouterr().err == "Dockerfile:2: unknown flag: doit\n"
    assert main(["--parser-only", str(f)]) == 0
    assert capsys.readouterr().out == '(from "a")\n(copy ["--doit=true"] "x" "y")\n(runn "")\n'


def test_main_usage_and_missing_file(tmp_path, capsys):
    assert main([]) == 2
    assert main([str(tmp_path / "nope")]) == 1
    assert "failed to read" in capsys.readouterr().err


def test_python_dash_m_runs_main(tmp_path):
    f = tmp_path / "Dockerfile"
    f.write_bytes(b"FROM a\nLABEL x=\xff\n")
    r = subprocess.run([sys.executable, "-m", "dockyard.dockerfile.parser", str(f)],
                       capture_output=True, timeout=30)
    assert r.returncode == 0, r.stderr
    assert r.stdout == b'(from "a")\n(label "x" "\\xff" "=")\n'
