"""Detach keys, timestamps for --since/--until, event lines and table headers."""

from __future__ import annotations

import time

import pytest

from dockyard.cli.commands.system import format_event
from dockyard.cli.stdio import Detached, EscapeProxy, detach_keys_to_bytes
from dockyard.cli.tables import Row, header_row, prepare, render_rows
from dockyard.cli.timestamps import get_timestamp


def test_detach_keys_to_bytes():
    assert detach_keys_to_bytes("ctrl-p,ctrl-q") == b"\x10\x11"
    assert detach_keys_to_bytes("ctrl-@,a,ctrl-[,ctrl-\\") == b"\x00a\x1b\x1c"
    with pytest.raises(ValueError):
        detach_keys_to_bytes("ctrl-pp")


def test_escape_proxy_detaches_and_passes_everything_else():
    p = EscapeProxy(b"\x10\x11")
    assert p.feed(b"abc") == b"abc"
    assert p.feed(b"x\x10") == b"x"  # held back: may start the sequence
    assert p.feed(b"y") == b"\x10y"  # not the sequence after all
    assert p.feed(b"\x10\x10") == b"\x10"
    with pytest.raises(Detached) as e:
        p.feed(b"\x11rest")
    assert e.value.args[0] == b""
    with pytest.raises(Detached) as e:
        EscapeProxy(b"\x10\x11").feed(b"ls\x10\x11")
    assert e.value.args[0] == b"ls"  # typed before the keys: still sent


def test_get_timestamp():
    now = 1_700_000_000.5
    assert get_timestamp("10m", now) == str(int(now - 600))
    assert get_timestamp("1700000000") == "1700000000"
    assert get_timestamp("1700000000.123") == "1700000000.123"
    assert get_timestamp("2023-11-14T22:13:20Z") == "1700000000.000000000"
    assert get_timestamp("2023-11-14T23:13:20+01:00") == "1700000000.000000000"
    assert get_timestamp("2023-11-14T22:13:20.5Z") == "1700000000.500000000"
    local = get_timestamp("2023-11-14")
    assert local.endswith(".000000000") and abs(float(local) - time.mktime((2023, 11, 14, 0, 0, 0, 0, 0, -1))) < 1
    with pytest.raises(ValueError, match='failed to parse value as time or duration: "abc"'):
        get_timestamp("abc")


def test_format_event_like_docker():
    ev = {"Type": "container", "Action": "start", "Actor": {"ID": "abc", "Attributes": {"name": "web", "image": "busybox"}},
          "time": 1700000000, "timeNano": 1700000000123456789}
    line = format_event(ev)
    assert line.endswith(" container start abc (image=busybox, name=web)\n")
    assert ".123456789" in line


def test_table_headers_and_rows():
    assert prepare("table {{.ID}}\\t{{.Names}}") == ("{{.ID}}\t{{.Names}}", True)
    assert prepare("{{.ID}}") == ("{{.ID}}", False)
    headers = {"ID": "CONTAINER ID", "Names": "NAMES", "Labels": "LABELS"}
    assert header_row('{{.ID}} {{.Names | upper}}\t{{json .Labels}}\t{{.Label "x"}}', headers) == \
        "CONTAINER ID NAMES\tLABELS\tx"
    rows = [Row({"ID": "abc", "Names": "web", "Labels": "a=b"}, {"Label": lambda k: {"a": "b"}.get(k, "")})]
    assert render_rows("table {{.ID}}\t{{.Names}}\t{{.Label \"a\"}}", rows, headers) == \
        "CONTAINER ID   NAMES     a\nabc            web       b\n"
    assert render_rows("{{json .}}", rows, headers) == '{"ID":"abc","Labels":"a=b","Names":"web"}\n'
