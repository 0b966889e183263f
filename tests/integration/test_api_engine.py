"""The Engine API as a client sees it over the socket: versions, errors, the container lifecycle."""

from __future__ import annotations

import io
import json
import os
import tarfile
import time
from urllib.parse import quote

import pytest

from tests.helpers import request, tar_of, wait_for


_VERSION: dict[str, str] = {}


def api(engine, method, url, body=None, **kw):
    """A request; ``/v1.44`` becomes the engine's own version when it is older (the oracle dockerd is 1.41)."""
    if engine.host not in _VERSION:
        _VERSION[engine.host] = request(engine.socket, "GET", "/_ping")[1].getheader("Api-Version")
    v = _VERSION[engine.host]
    if url.startswith("/v1.44") and tuple(map(int, v.split("."))) < (1, 44):
        url = f"/v{v}" + url[len("/v1.44"):]
    return request(engine.socket, method, url, body, **kw)


def make(engine, name, cmd, **config):
    status, _, body = api(engine, "POST", f"/v1.44/containers/create?name={name}",
                          {"Image": "busybox", "Cmd": cmd} | config)
    assert status == 201, body
    return body["Id"]


def remove(engine, ref):
    api(engine, "DELETE", f"/containers/{ref}?force=1")


# -- versions and errors -----------------------------------------------------------
def test_ping_reports_api_version(engine):
    status, resp, body = api(engine, "GET", "/_ping")
    assert status == 200 and body == b"OK"
    assert resp.getheader("Api-Version")
    status, resp, body = api(engine, "HEAD", "/_ping")
    assert status == 200 and resp.getheader("Api-Version")


@pytest.mark.parametrize("prefix", ["", "/v1.24", "/v1.41", "/v1.44"])
def test_versioned_and_bare_paths_are_served(engine, prefix):
    status, _, body = api(engine, "GET", f"{prefix}/version")
    assert status == 200
    assert body["ApiVersion"] and body["Os"] == "linux"


def test_too_new_and_too_old_versions_are_refused(engine):
    status, _, body = api(engine, "GET", "/v1.99/version")
    assert status == 400 and "too new" in body["message"]
    status, _, body = api(engine, "GET", "/v1.11/version")
    assert status == 400 and b"too old" in (body if isinstance(body, bytes) else body["message"].encode())


def test_unknown_path_is_404_json(engine):
    status, _, body = api(engine, "GET", "/v1.44/nothing/here")
    assert status == 404 and "message" in body


def test_missing_container_and_image_are_404(engine):
    status, _, body = api(engine, "GET", "/v1.44/containers/nosuchthing/json")
    assert status == 404 and body["message"] == "No such container: nosuchthing"
    status, _, body = api(engine, "GET", "/v1.44/images/nosuchimage:latest/json")
    assert status == 404 and "No such image" in body["message"]
    status, _, body = api(engine, "POST", "/v1.44/containers/create", {"Image": "nosuchimage"})
    assert status == 404 and body["message"] == "No such image: nosuchimage:latest"


# dockerd 20.10 answers the next two with 500 (fixed in Docker 23); the 400 is the current behaviour.
def test_malformed_json_is_400(engine):
    status, _, body = api(engine, "POST", "/v1.44/containers/create", b"{bad",
                          headers={"Content-Type": "application/json"})
    assert status == 400 and "invalid character" in body["message"]


def test_wrong_field_type_is_400(engine):
    status, _, body = api(engine, "POST", "/v1.44/containers/create",
                          {"Image": "busybox", "HostConfig": {"Memory": "lots"}})
    assert status == 400 and "Memory" in body["message"]


def test_invalid_name_is_400_and_duplicate_name_is_409(engine, name):
    status, _, body = api(engine, "POST", "/v1.44/containers/create?name=a/b", {"Image": "busybox"})
    assert status == 400 and "Invalid container name (a/b)" in body["message"]
    cid = make(engine, name, ["true"])
    try:
        status, _, body = api(engine, "POST", f"/v1.44/containers/create?name={name}", {"Image": "busybox"})
        assert status == 409 and f'"/{name}" is already in use by container "{cid}"' in body["message"]
    finally:
        remove(engine, cid)


def test_no_command_is_400(engine, name):
    status, _, body = api(engine, "POST", f"/v1.44/containers/create?name={name}",
                          {"Image": "busybox", "Entrypoint": [""]})
    assert status == 400 and body["message"] == "No command specified"


# -- lifecycle ----------------------------------------------------------------------
def test_lifecycle_states_in_inspect(engine, name):
    cid = make(engine, name, ["sleep", "60"], Labels={"suite": "api"})
    try:
        _, _, info = api(engine, "GET", f"/v1.44/containers/{name}/json")
        assert info["Id"] == cid and info["Name"] == f"/{name}"
        assert info["State"]["Status"] == "created" and info["State"]["Pid"] == 0
        assert info["State"]["StartedAt"] == "0001-01-01T00:00:00Z"
        assert info["Path"] == "sleep" and info["Args"] == ["60"]
        assert info["Config"]["Labels"] == {"suite": "api"}
        assert info["HostConfig"]["NetworkMode"] == "default"

        assert api(engine, "POST", f"/v1.44/containers/{cid}/start")[0] == 204
        assert api(engine, "POST", f"/v1.44/containers/{cid}/start")[0] == 304
        _, _, info = api(engine, "GET", f"/v1.44/containers/{cid}/json")
        st = info["State"]
        assert st["Status"] == "running" and st["Running"] and st["Pid"] > 0
        assert info["LogPath"] and info["HostsPath"]

        assert api(engine, "POST", f"/v1.44/containers/{cid}/pause")[0] == 204
        _, _, info = api(engine, "GET", f"/v1.44/containers/{cid}/json")
        assert info["State"]["Status"] == "paused" and info["State"]["Paused"]
        status, _, body = api(engine, "DELETE", f"/v1.44/containers/{cid}")
        assert status == 409
        assert api(engine, "POST", f"/v1.44/containers/{cid}/unpause")[0] == 204

        status, _, body = api(engine, "DELETE", f"/v1.44/containers/{cid}")
        assert status == 409 and "You cannot remove a running container" in body["message"]

        assert api(engine, "POST", f"/v1.44/containers/{cid}/kill?signal=SIGKILL")[0] == 204
        status, _, body = api(engine, "POST", f"/v1.44/containers/{cid}/wait")
        assert status == 200 and body["StatusCode"] == 137
        _, _, info = api(engine, "GET", f"/v1.44/containers/{cid}/json")
        assert info["State"]["Status"] == "exited" and info["State"]["ExitCode"] == 137
        assert info["State"]["FinishedAt"] != "0001-01-01T00:00:00Z"
        status, _, body = api(engine, "POST", f"/v1.44/containers/{cid}/kill")
        assert status == 409 and "is not running" in body["message"]
        assert api(engine, "POST", f"/v1.44/containers/{cid}/stop")[0] == 304
        assert api(engine, "DELETE", f"/v1.44/containers/{cid}")[0] == 204
        assert api(engine, "GET", f"/v1.44/containers/{cid}/json")[0] == 404
    finally:
        remove(engine, cid)


def test_stop_uses_sigterm_then_sigkill_after_timeout(engine, name):
    # A shell that traps TERM exits at once; one that ignores it is killed after the timeout.
    cid = make(engine, name, ["sh", "-c", "trap 'exit 7' TERM; while true; do sleep 0.1; done"])
    cid2 = make(engine, name + "x", ["sh", "-c", "trap '' TERM; while true; do sleep 0.1; done"])
    try:
        for c in (cid, cid2):
            assert api(engine, "POST", f"/containers/{c}/start")[0] == 204
        time.sleep(0.3)
        t0 = time.monotonic()
        assert api(engine, "POST", f"/containers/{cid}/stop?t=10")[0] == 204
        fast = time.monotonic() - t0
        _, _, info = api(engine, "GET", f"/containers/{cid}/json")
        assert info["State"]["ExitCode"] == 7
        t0 = time.monotonic()
        assert api(engine, "POST", f"/containers/{cid2}/stop?t=2")[0] == 204
        slow = time.monotonic() - t0
        _, _, info = api(engine, "GET", f"/containers/{cid2}/json")
        assert info["State"]["ExitCode"] == 137
        # ordering, not speed: the trapped one did not wait for its timeout, the other did
        assert fast < 2 <= slow
    finally:
        remove(engine, cid)
        remove(engine, cid2)


def test_wait_next_exit_registered_before_start(engine, name):
    cid = make(engine, name, ["sh", "-c", "exit 3"])
    try:
        import threading

        result = {}

        def waiter():
            result["r"] = api(engine, "POST", f"/containers/{cid}/wait?condition=next-exit")

        t = threading.Thread(target=waiter)
        t.start()
        time.sleep(0.3)
        assert api(engine, "POST", f"/containers/{cid}/start")[0] == 204
        t.join(20)
        assert result["r"][0] == 200 and result["r"][2]["StatusCode"] == 3
    finally:
        remove(engine, cid)


def test_start_of_missing_command_fails_with_127(engine, name):
    cid = make(engine, name, ["nonexistent-cmd"])
    try:
        status, _, body = api(engine, "POST", f"/containers/{cid}/start")
        assert status >= 400 and "executable file not found" in body["message"]
        _, _, info = api(engine, "GET", f"/containers/{cid}/json")
        assert info["State"]["ExitCode"] == 127 and "executable file not found" in info["State"]["Error"]
    finally:
        remove(engine, cid)


def test_list_filters(engine, name):
    a = make(engine, name + "a", ["true"], Labels={"grp": name})
    b = make(engine, name + "b", ["sleep", "30"], Labels={"grp": name, "role": "b"})
    try:
        api(engine, "POST", f"/containers/{a}/start")
        api(engine, "POST", f"/containers/{a}/wait")
        api(engine, "POST", f"/containers/{b}/start")
        flt = lambda d: "/containers/json?all=1&filters=" + quote(json.dumps(d))
        ids = lambda body: {c["Id"] for c in body}
        assert ids(api(engine, "GET", flt({"label": [f"grp={name}"]}))[2]) == {a, b}
        assert ids(api(engine, "GET", flt({"label": ["role=b"], "name": [name]}))[2]) == {b}
        assert ids(api(engine, "GET", flt({"label": [f"grp={name}"], "status": ["exited"]}))[2]) == {a}
        assert ids(api(engine, "GET", flt({"label": [f"grp={name}"], "exited": ["0"]}))[2]) == {a}
        assert ids(api(engine, "GET", flt({"id": [b[:10]]}))[2]) == {b}
        assert ids(api(engine, "GET", flt({"label": [f"grp={name}"], "ancestor": ["busybox"]}))[2]) == {a, b}
        assert ids(api(engine, "GET", flt({"label": [f"grp={name}"], "since": [a]}))[2]) == {b}
        assert ids(api(engine, "GET", flt({"label": [f"grp={name}"], "before": [b]}))[2]) == {a}
        running = api(engine, "GET", "/containers/json?filters=" + quote(json.dumps({"label": [f"grp={name}"]})))[2]
        assert ids(running) == {b}
        row = running[0]
        assert row["Names"] == [f"/{name}b"] and row["Command"] == "sleep 30" and row["State"] == "running"
        assert row["Status"].startswith("Up ")
        status, _, body = api(engine, "GET", flt({"bogus": ["x"]}))
        assert status == 400
    finally:
        remove(engine, a)
        remove(engine, b)


def test_logs_stream_framing_and_options(engine, name):
    cid = make(engine, name, ["sh", "-c", "echo out1; echo err1 >&2; echo out2; printf tail"])
    try:
        api(engine, "POST", f"/containers/{cid}/start")
        api(engine, "POST", f"/containers/{cid}/wait")
        _, resp, raw = api(engine, "GET", f"/containers/{cid}/logs?stdout=1&stderr=1")
        frames = parse_frames(raw)
        out = b"".join(d for s, d in frames if s == 1)
        err = b"".join(d for s, d in frames if s == 2)
        assert out == b"out1\nout2\ntail" and err == b"err1\n"
        _, _, raw = api(engine, "GET", f"/containers/{cid}/logs?stdout=1")
        assert b"".join(d for s, d in parse_frames(raw)) == b"out1\nout2\ntail"
        _, _, raw = api(engine, "GET", f"/containers/{cid}/logs?stdout=1&stderr=1&tail=1")
        assert b"".join(d for s, d in parse_frames(raw)) == b"tail"
        _, _, raw = api(engine, "GET", f"/containers/{cid}/logs?stdout=1&timestamps=1")
        first = parse_frames(raw)[0][1]
        assert first[4:5] == b"-" and first.split(b" ", 1)[1] == b"out1\n"
        status, _, body = api(engine, "GET", f"/containers/{cid}/logs")
        assert status == 400
    finally:
        remove(engine, cid)


def test_tty_logs_are_raw(engine, name):
    cid = make(engine, name, ["echo", "hello"], Tty=True)
    try:
        api(engine, "POST", f"/containers/{cid}/start")
        api(engine, "POST", f"/containers/{cid}/wait")
        _, _, raw = api(engine, "GET", f"/containers/{cid}/logs?stdout=1&stderr=1")
        assert raw == b"hello\r\n"
    finally:
        remove(engine, cid)


def parse_frames(raw: bytes) -> list[tuple[int, bytes]]:
    out, i = [], 0
    while i + 8 <= len(raw):
        stream, size = raw[i], int.from_bytes(raw[i + 4:i + 8], "big")
        assert raw[i + 1:i + 4] == b"\0\0\0"
        out.append((stream, raw[i + 8:i + 8 + size]))
        i += 8 + size
    assert i == len(raw)
    return out


def test_rename_top_changes(engine, name):
    cid = make(engine, name, ["sh", "-c", "echo x > /newfile; rm /etc/group; sleep 30"])
    try:
        api(engine, "POST", f"/containers/{cid}/start")
        assert api(engine, "POST", f"/containers/{cid}/rename?name={name}-r")[0] == 204
        _, _, info = api(engine, "GET", f"/containers/{name}-r/json")
        assert info["Id"] == cid
        # (the shell forks sleep a moment after the start)
        top = wait_for(lambda: (t := api(engine, "GET", f"/containers/{cid}/top")[2]) and
                       any("sleep 30" in " ".join(p) for p in t["Processes"]) and t, what="sleep in top")
        assert "PID" in top["Titles"]
        wait_for(lambda: any(c["Path"] == "/newfile" for c in api(engine, "GET", f"/containers/{cid}/changes")[2] or []),
                 what="changes")
        changes = {(c["Kind"], c["Path"]) for c in api(engine, "GET", f"/containers/{cid}/changes")[2]}
        assert (1, "/newfile") in changes and (2, "/etc/group") in changes and (0, "/etc") in changes
    finally:
        remove(engine, cid)


def test_export_gives_the_filesystem(engine, name):
    cid = make(engine, name, ["sh", "-c", "echo data > /marker"])
    try:
        api(engine, "POST", f"/containers/{cid}/start")
        api(engine, "POST", f"/containers/{cid}/wait")
        status, _, raw = api(engine, "GET", f"/containers/{cid}/export")
        assert status == 200
        with tarfile.open(fileobj=io.BytesIO(raw)) as tar:
            names = set(tar.getnames())
            assert "marker" in names and "bin/busybox" in names
            assert tar.extractfile("marker").read() == b"data\n"
    finally:
        remove(engine, cid)


# -- images -------------------------------------------------------------------------
def test_import_tag_history_and_remove(engine, name):
    f = tarfile.TarInfo("hello.txt")
    data = tar_of([(f, b"hi there\n")])
    status, _, body = api(engine, "POST", f"/images/create?fromSrc=-&repo={name}&tag=v1&message=imported",
                          data, headers={"Content-Type": "application/x-tar"})
    assert status == 200
    try:
        _, _, img = api(engine, "GET", f"/images/{name}:v1/json")
        assert img["RepoTags"] == [f"{name}:v1"] and img["Comment"] == "imported"
        assert len(img["RootFS"]["Layers"]) == 1
        assert api(engine, "POST", f"/images/{name}:v1/tag?repo={name}&tag=v2")[0] == 201
        _, _, img = api(engine, "GET", f"/images/{name}:v2/json")
        assert set(img["RepoTags"]) == {f"{name}:v1", f"{name}:v2"}
        _, _, hist = api(engine, "GET", f"/images/{name}:v1/history")
        assert hist[0]["Id"] == img["Id"] and hist[0]["Comment"] == "imported"
        status, _, rep = api(engine, "DELETE", f"/images/{name}:v2")
        assert status == 200 and rep == [{"Untagged": f"{name}:v2"}]
        status, _, rep = api(engine, "DELETE", f"/images/{name}:v1")
        assert status == 200 and rep[0] == {"Untagged": f"{name}:v1"} and {"Deleted": img["Id"]} in rep
        assert api(engine, "GET", f"/images/{img['Id']}/json")[0] == 404
    finally:
        api(engine, "DELETE", f"/images/{name}:v1?force=1")
        api(engine, "DELETE", f"/images/{name}:v2?force=1")


def test_image_in_use_cannot_be_removed(engine, name):
    data = tar_of([(tarfile.TarInfo("f"), b"x")])
    api(engine, "POST", f"/images/create?fromSrc=-&repo={name}&tag=latest", data)
    api(engine, "POST", f"/images/create?fromSrc=-&repo={name}&tag=latest&changes=CMD%20%5B%22x%22%5D", data)
    status, _, body = api(engine, "POST", f"/containers/create?name={name}", {"Image": name})
    assert status == 201, body
    try:
        status, _, body = api(engine, "DELETE", f"/images/{name}")
        assert status == 409 and "is using its referenced image" in body["message"]
    finally:
        remove(engine, name)
        api(engine, "DELETE", f"/images/{name}?force=1")


def test_import_keeps_escaping_tar_entries_inside(engine, name):
    """A ``../`` entry is refused or lands inside the image (dockerd cleans it to /tmp/...); never on the host."""
    evil = tarfile.TarInfo("../../../../../../tmp/dockyard-escape-" + name)
    status, _, body = api(engine, "POST", f"/images/create?fromSrc=-&repo={name}", tar_of([(evil, b"x")]))
    assert not os.path.exists(f"/tmp/dockyard-escape-{name}")
    text = body.decode() if isinstance(body, bytes) else json.dumps(body)
    if status >= 400 or "error" in text:
        assert api(engine, "GET", f"/images/{name}/json")[0] == 404
        return
    cid = make(engine, name, ["true"], Image=name)
    try:
        _, _, raw = api(engine, "GET", f"/containers/{cid}/export")
        with tarfile.open(fileobj=io.BytesIO(raw)) as tar:
            assert f"tmp/dockyard-escape-{name}" in tar.getnames()
    finally:
        remove(engine, cid)
        api(engine, "DELETE", f"/images/{name}?force=1")


def test_log_rotation_keeps_max_file_files_of_max_size(engine, name):
    cid = make(engine, name, ["sh", "-c", "i=0; while [ $i -lt 3000 ]; do echo line-$i; i=$((i+1)); done"],
               HostConfig={"LogConfig": {"Type": "json-file", "Config": {"max-size": "10k", "max-file": "3"}}})
    try:
        api(engine, "POST", f"/containers/{cid}/start")
        api(engine, "POST", f"/containers/{cid}/wait")
        _, _, raw = api(engine, "GET", f"/containers/{cid}/logs?stdout=1")
        lines = b"".join(d for _, d in parse_frames(raw)).decode().splitlines()
        numbers = [int(x.split("-")[1]) for x in lines]
        # the newest lines, with no gap, and only what fits in about three files of 10 KiB
        assert numbers[-1] == 2999 and numbers == list(range(numbers[0], 3000))
        assert 100 < len(numbers) < 3000
    finally:
        remove(engine, cid)


def test_bad_log_options_are_refused(engine, name):
    status, _, body = api(engine, "POST", f"/containers/create?name={name}",
                          {"Image": "busybox", "HostConfig": {"LogConfig": {"Type": "nosuchdriver"}}})
    assert status == 400 and "nosuchdriver" in body["message"]
    status, _, body = api(engine, "POST", f"/containers/create?name={name}",
                          {"Image": "busybox", "HostConfig": {"LogConfig": {"Type": "json-file",
                                                                            "Config": {"bogus": "1"}}}})
    assert status == 400 and "unknown log opt 'bogus'" in body["message"]
