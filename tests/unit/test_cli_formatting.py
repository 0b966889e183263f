"""docker's text formatting, checked against output captured from the docker CLI 28 / go-units."""

from __future__ import annotations

import pytest

from dockyard.cli.formatting import (bytes_size, display_ports, ellipsis, go_quote, human_duration,
                                     human_size, json_indent, since, tabwrite, truncate_id)


@pytest.mark.parametrize("seconds,expected", [
    (0, "Less than a second"), (0.999, "Less than a second"), (1, "1 second"), (2, "2 seconds"),
    (59, "59 seconds"), (60, "About a minute"), (119, "About a minute"), (120, "2 minutes"),
    (59 * 60 + 59, "59 minutes"), (3600, "About an hour"), (5399, "About an hour"), (5400, "2 hours"),
    (47 * 3600, "47 hours"), (48 * 3600, "2 days"), (13 * 86400, "13 days"), (14 * 86400, "2 weeks"),
    (59 * 86400, "8 weeks"), (60 * 86400, "2 months"), (729 * 86400, "24 months"), (730 * 86400, "2 years"),
])
def test_human_duration_matches_go_units(seconds, expected):
    assert human_duration(seconds) == expected


def test_since_appends_ago():
    assert since(100, now=100.2) == "Less than a second ago"
    assert since(100, now=190) == "About a minute ago"
    assert since(200, now=100) == "Less than a second ago"  # clock skew never goes negative


@pytest.mark.parametrize("size,precision,expected", [
    (0, 3, "0B"), (5, 3, "5B"), (404, 3, "404B"), (999, 3, "999B"), (1000, 3, "1kB"),
    (1982957, 3, "1.98MB"), (1982957, 4, "1.983MB"), (4260000, 3, "4.26MB"), (128, 4, "128B"),
    (1073741824, 3, "1.07GB"), (999_999, 3, "1e+03kB"), (1234567890123, 4, "1.235TB"),
])
def test_human_size_with_precision(size, precision, expected):
    assert human_size(size, precision) == expected


def test_bytes_size_binary_units():
    assert bytes_size(23.54 * 1024 ** 3) == "23.54GiB"
    assert bytes_size(1024) == "1KiB"
    assert bytes_size(512) == "512B"


def test_truncate_id():
    assert truncate_id("sha256:52c8be21c97be1e3a7202063d7441421931f2c006a5e65b1beaba6668ee05d9a") == "52c8be21c97b"
    assert truncate_id("f6648f2ce1c5021767bbea39546249e595b07b03ca98aa681515dee38b0fbd98") == "f6648f2ce1c5"


def test_ellipsis_and_quote_like_docker_command_column():
    # docker ps shows: "sh -c 'echo x > /ne…"
    assert go_quote(ellipsis("sh -c 'echo x > /new/file'", 20)) == "\"sh -c 'echo x > /ne…\""
    assert go_quote(ellipsis("sleep 100", 20)) == '"sleep 100"'
    assert ellipsis("exactly-twenty-chars", 20) == "exactly-twenty-chars"
    assert ellipsis("abc", 1) == "…"
    assert ellipsis("abc", 0) == ""


def test_go_quote_escapes():
    assert go_quote('a"b\\c\nd\te\x01') == '"a\\"b\\\\c\\nd\\te\\x01"'
    assert go_quote("héllo") == '"héllo"'


def test_tabwrite_ps_table_byte_for_byte():
    text = ("CONTAINER ID\tIMAGE\tCOMMAND\tCREATED\tSTATUS\tPORTS\tNAMES\tSIZE\n"
            "142d7fc6860d\tbusybox\t\"nonexist\"\tLess than a second ago\tCreated\t\tf1\t0B (virtual 1.98MB)\n"
            "c6190dae49c7\tbusybox\t\"sleep 100\"\tLess than a second ago\tUp Less than a second\t\tdyx2\t"
            "0B (virtual 1.98MB)\n")
    assert tabwrite(text).splitlines() == [
        "CONTAINER ID   IMAGE     COMMAND       CREATED                  STATUS                  PORTS     NAMES     SIZE",
        '142d7fc6860d   busybox   "nonexist"    Less than a second ago   Created                           f1        0B (virtual 1.98MB)',
        'c6190dae49c7   busybox   "sleep 100"   Less than a second ago   Up Less than a second             dyx2      0B (virtual 1.98MB)',
    ]


def test_tabwrite_empty_table_header():
    assert tabwrite("CONTAINER ID\tIMAGE\tCOMMAND\tCREATED\tSTATUS\tPORTS\tNAMES\n") == \
        "CONTAINER ID   IMAGE     COMMAND   CREATED   STATUS    PORTS     NAMES\n"


def test_tabwrite_top_minwidth_20():
    out = tabwrite("PID\tCOMMAND\n18237\tsleep\n", minwidth=20)
    assert out == "PID                 COMMAND\n18237               sleep\n"


def test_tabwrite_column_blocks_end_at_shorter_lines():
    # Go's tabwriter aligns a column only over consecutive lines that have that cell.
    out = tabwrite("a\tb\tc\nlonger-cell-here\tx\ny\tz\tw\n", minwidth=0, padding=1)
    assert out == "a                b c\nlonger-cell-here x\ny                z w\n"


@pytest.mark.parametrize("ports,expected", [
    ([], ""),
    ([{"PrivatePort": 80, "Type": "tcp"}], "80/tcp"),
    ([{"PrivatePort": 7000, "Type": "tcp"}, {"PrivatePort": 7001, "Type": "tcp"},
      {"PrivatePort": 90, "Type": "udp"}], "90/udp, 7000-7001/tcp"),  # as docker ps prints it
    ([{"IP": "0.0.0.0", "PrivatePort": 80, "PublicPort": 8080, "Type": "tcp"},
      {"IP": "::", "PrivatePort": 80, "PublicPort": 8080, "Type": "tcp"}],
     "0.0.0.0:8080->80/tcp, :::8080->80/tcp"),  # docker 20.10 prints IPv6 hosts bare
    ([{"IP": "0.0.0.0", "PrivatePort": 80, "PublicPort": 80, "Type": "tcp"}], "0.0.0.0:80->80/tcp"),
    # recorded from docker 20.10's ps for -p 8080:80 -p 127.0.0.1::81 -p 8000-8002:90-92 -p 53:53/udp -p 7000
    # --expose 9999 -p [::1]:8443:443 (the daemon listing ports in its own order)
    ([{"IP": "0.0.0.0", "PrivatePort": 80, "PublicPort": 8080, "Type": "tcp"},
      {"IP": "::", "PrivatePort": 80, "PublicPort": 8080, "Type": "tcp"},
      {"IP": "127.0.0.1", "PrivatePort": 81, "PublicPort": 32769, "Type": "tcp"},
      {"IP": "0.0.0.0", "PrivatePort": 92, "PublicPort": 8002, "Type": "tcp"},
      {"IP": "::", "PrivatePort": 92, "PublicPort": 8002, "Type": "tcp"},
      {"IP": "0.0.0.0", "PrivatePort": 90, "PublicPort": 8000, "Type": "tcp"},
      {"IP": "::", "PrivatePort": 90, "PublicPort": 8000, "Type": "tcp"},
      {"IP": "0.0.0.0", "PrivatePort": 91, "PublicPort": 8001, "Type": "tcp"},
      {"IP": "::", "PrivatePort": 91, "PublicPort": 8001, "Type": "tcp"},
      {"IP": "0.0.0.0", "PrivatePort": 53, "PublicPort": 53, "Type": "udp"},
      {"IP": "::", "PrivatePort": 53, "PublicPort": 53, "Type": "udp"},
      {"PrivatePort": 9999, "Type": "tcp"},
      {"IP": "::1", "PrivatePort": 443, "PublicPort": 8443, "Type": "tcp"},
      {"IP": "0.0.0.0", "PrivatePort": 7000, "PublicPort": 32768, "Type": "tcp"},
      {"IP": "::", "PrivatePort": 7000, "PublicPort": 32768, "Type": "tcp"}],
     "0.0.0.0:53->53/udp, :::53->53/udp, 9999/tcp, 0.0.0.0:8080->80/tcp, :::8080->80/tcp, "
     "127.0.0.1:32769->81/tcp, 0.0.0.0:8000->90/tcp, :::8000->90/tcp, 0.0.0.0:8001->91/tcp, :::8001->91/tcp, "
     "0.0.0.0:8002->92/tcp, :::8002->92/tcp, ::1:8443->443/tcp, 0.0.0.0:32768->7000/tcp, :::32768->7000/tcp"),
    # the same host and container ports collapse into a range; a break in the run starts a new group
    ([{"IP": "0.0.0.0", "PrivatePort": p, "PublicPort": p, "Type": "tcp"} for p in (8000, 8001, 8002, 8004)]
     + [{"PrivatePort": p, "Type": "udp"} for p in (7000, 7001)],
     "0.0.0.0:8000-8002->8000-8002/tcp, 7000-7001/udp, 0.0.0.0:8004->8004/tcp"),
])
def test_display_ports(ports, expected):
    assert display_ports(ports) == expected


def test_json_indent_like_go_keeps_string_escapes():
    raw = b'[{"Id":"x","A":[],"B":{},"C":[1,2],"D":{"E":"\\u003cnone\\u003e","F":null},"G":true}\n]'
    assert json_indent(raw) == (
        '[\n    {\n        "Id": "x",\n        "A": [],\n        "B": {},\n        "C": [\n            1,\n'
        '            2\n        ],\n        "D": {\n            "E": "\\u003cnone\\u003e",\n'
        '            "F": null\n        },\n        "G": true\n    }\n]')


def test_json_indent_strings_with_brackets_and_quotes():
    assert json_indent('{"a":"[x, {y}: \\"z\\"]"}') == '{\n    "a": "[x, {y}: \\"z\\"]"\n}'
