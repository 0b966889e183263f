"""Reading conmon's k8s-file logs back exactly, across rotations."""

from __future__ import annotations

import asyncio
import os

from dockyard.runtime import logs


def write(path, *lines):
    with open(path, "ab") as f:
        for line in lines:
            f.write(line.encode() + b"\n")


T = "2026-11-23T00:00:0{}.000000001+00:00"


def test_partial_lines_are_joined_and_streams_kept_apart(tmp_path):
    p = tmp_path / "ctr.log"
    write(p, f"{T.format(1)} stdout P hel", f"{T.format(1)} stderr F oops", f"{T.format(2)} stdout F lo",
          f"{T.format(3)} stdout F ", f"{T.format(4)} stdout P no newline at exit")
    got = [(e.stream, e.data) for e in logs.read_entries(str(p))]
    assert got == [("stderr", b"oops\n"), ("stdout", b"hello\n"), ("stdout", b"\n"),
                   ("stdout", b"no newline at exit")]


def test_select_tail_and_streams(tmp_path):
    p = tmp_path / "ctr.log"
    write(p, *(f"{T.format(i)} {'stdout' if i % 2 else 'stderr'} F m{i}" for i in range(1, 8)))
    out = logs.select(logs.read_entries(str(p)), stdout=True, stderr=False, tail=2)
    assert [e.data for e in out] == [b"m5\n", b"m7\n"]
    since = logs.select(logs.read_entries(str(p)), stdout=True, stderr=True,
                        since_ns=logs.parse_rfc3339_ns(T.format(6)))
    assert [e.data for e in since] == [b"m6\n", b"m7\n"]


def test_rotated_files_are_read_oldest_first(tmp_path):
    p = tmp_path / "ctr.log"
    write(str(p) + ".2", f"{T.format(1)} stdout F one")
    write(str(p) + ".1", f"{T.format(2)} stdout F two")
    write(p, f"{T.format(3)} stdout F three")
    assert [e.data for e in logs.read_entries(str(p))] == [b"one\n", b"two\n", b"three\n"]


def test_rotator_shifts_files_and_keeps_at_most_max_file(tmp_path):
    p = str(tmp_path / "ctr.log")
    for i in range(1, 5):
        write(p, f"{T.format(i)} stdout F n{i}")
        logs.rotate_files(p, 3)
    write(p, f"{T.format(5)} stdout F n5")
    assert sorted(os.listdir(tmp_path)) == ["ctr.log", "ctr.log.1", "ctr.log.2"]
    assert [e.data for e in logs.read_entries(p)] == [b"n3\n", b"n4\n", b"n5\n"]
    assert logs.LogRotator.monitor_limit(10, 3) == -1 and logs.LogRotator.monitor_limit(10, 1) == 10


def test_follow_reads_the_rest_of_a_rotated_file(tmp_path):
    p = str(tmp_path / "ctr.log")
    write(p, f"{T.format(1)} stdout F a")
    state = {"running": True}

    async def scenario():
        got = []

        async def reader():
            async for e in logs.follow(p, stdout=True, stderr=True, running=lambda: state["running"], poll=0.01):
                got.append(e.data)

        task = asyncio.ensure_future(reader())
        await asyncio.sleep(0.05)
        write(p, f"{T.format(2)} stdout F b")   # written, then at once rotated away
        write(p + ".tmp", f"{T.format(3)} stdout F c")
        os.replace(p + ".tmp", p)
        await asyncio.sleep(0.05)
        state["running"] = False
        await asyncio.wait_for(task, 5)
        return got

    assert asyncio.run(scenario()) == [b"a\n", b"b\n", b"c\n"]


def test_an_oversized_rotated_file_is_cut_and_older_ones_dropped(tmp_path):
    p = str(tmp_path / "ctr.log")
    write(str(p) + ".2", f"{T.format(1)} stdout F old")
    write(str(p) + ".1", *(f"{T.format(2)} stdout F line{i}" for i in range(50)))  # far over max-size
    write(p, f"{T.format(3)} stdout F newest")
    logs._enforce_size(p, 200)
    got = [e.data.decode().strip() for e in logs.read_entries(p)]
    assert os.path.getsize(p + ".1") <= 200 and not os.path.exists(p + ".2")
    # what is kept is the newest part, in one piece: no line missing between the files
    assert got[-1] == "newest" and got[-2] == "line49"
    assert [int(x[4:]) for x in got[:-1]] == list(range(50 - len(got) + 1, 50))
