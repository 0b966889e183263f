"""The volume API (/volumes/...) and docker-py's ``client.volumes``, checked against Docker's behaviour.

Runs against the oracle too (``DOCKYARD_TEST_HOST=unix:///tmp/refdocker/docker.sock``, Docker 20.10,
API 1.41), which other sessions share: every volume made here has a unique name and the label
``dockyard-test-volumes=<session>``, prunes are always filtered by that label, and the ``vols``
fixture removes what a test made, whatever its outcome.

Docker 23+ (API 1.42+) differs from 20.10 in two ways the tests branch on, keeping the modern
assertions whole for dockyard: a volume created without a name gets the label
``com.docker.volume.anonymous``, and prune takes anonymous volumes only unless ``all=true``
(clients speaking API < 1.42 still get every unused volume pruned).

The restart test kills a dockyardd of its own, whichever engine the session tests.
"""

from __future__ import annotations

import json
import os
import re
import time
import uuid
from urllib.parse import quote

import pytest

from tests.helpers import request

SESSION = uuid.uuid4().hex[:8]
LABEL = "dockyard-test-volumes"
ANON = "com.docker.volume.anonymous"
CREATED_AT = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(Z|[+-]\d\d:\d\d)$")
FIELDS = ["CreatedAt", "Driver", "Labels", "Mountpoint", "Name", "Options", "Scope"]
INVALID = ('includes invalid characters for a local volume name, only "[a-zA-Z0-9][a-zA-Z0-9_.-]" are allowed. '
           'If you intended to pass a host directory, use absolute path')


def api_version(engine) -> tuple[int, int]:
    v = request(engine.socket, "GET", "/_ping")[1].getheader("Api-Version")
    major, minor = v.split(".")
    return int(major), int(minor)


def modern(engine) -> bool:
    """Docker 23+ volume semantics (API 1.42+): anonymous label, prune of anonymous volumes only."""
    return api_version(engine) >= (1, 42)


def filters(**kw) -> str:
    return quote(json.dumps({k: {v: True for v in vals} for k, vals in kw.items()}))


@pytest.fixture
def vols(engine):
    """Makes volumes with the session label and a unique name; removes them (and their users) at the end."""

    class Vols:
        def __init__(self) -> None:
            self.names: list[str] = []
            self.containers: list[str] = []
            self.tag = uuid.uuid4().hex[:8]   # this test's own label value

        def name(self, stem: str = "v") -> str:
            n = f"dyv-{stem}-{self.tag}"
            self.names.append(n)
            return n

        def create(self, name: str | None = "", labels: dict | None = None, expect: int = 201, **body):
            payload = dict(body)
            if name is not None:
                payload["Name"] = name or self.name()
            payload["Labels"] = {LABEL: SESSION, "test": self.tag, **(labels or {})}
            status, _, out = request(engine.socket, "POST", "/volumes/create", payload)
            assert status == expect, out
            if status == 201:
                self.names.append(out["Name"])
            return out

        def container(self, *binds: str) -> str:
            status, _, out = request(engine.socket, "POST", "/containers/create",
                                     {"Image": "busybox", "Cmd": ["true"], "HostConfig": {"Binds": list(binds)},
                                      "Labels": {LABEL: SESSION}})
            assert status == 201, out
            self.containers.append(out["Id"])
            return out["Id"]

    v = Vols()
    yield v
    for cid in v.containers:
        request(engine.socket, "DELETE", f"/containers/{cid}?force=1")
    for n in v.names:
        request(engine.socket, "DELETE", f"/volumes/{n}?force=1")


def get(engine, name):
    return request(engine.socket, "GET", f"/volumes/{name}")


# -- create and inspect ------------------------------------------------------------------

def test_create_and_inspect_have_dockers_shape(engine, vols):
    name = vols.name()
    out = vols.create(name, DriverOpts={"type": "tmpfs", "o": "size=1m", "device": "tmpfs"})
    assert list(out) == FIELDS
    assert CREATED_AT.match(out["CreatedAt"]), out["CreatedAt"]
    assert out["Driver"] == "local" and out["Scope"] == "local" and out["Name"] == name
    assert out["Mountpoint"].endswith(f"/volumes/{name}/_data") and os.path.isdir(out["Mountpoint"])
    assert out["Labels"] == {LABEL: SESSION, "test": vols.tag}
    assert list(out["Options"]) == ["device", "o", "type"]  # Go writes map keys sorted
    status, _, inspected = get(engine, name)
    assert status == 200 and inspected == out
    # null and {} are kept apart, as Docker keeps them
    plain = vols.name("plain")
    status, _, body = request(engine.socket, "POST", "/volumes/create", {"Name": plain})
    assert status == 201 and body["Labels"] is None and body["Options"] is None
    empty = vols.name("empty")
    status, _, body = request(engine.socket, "POST", "/volumes/create", {"Name": empty, "Labels": {},
                                                                       "DriverOpts": {}})
    assert status == 201 and body["Labels"] == {} and body["Options"] == {}


def test_create_of_an_existing_name_returns_the_volume(engine, vols):
    name = vols.name()
    first = vols.create(name)
    again = vols.create(name, labels={"other": "x"}, DriverOpts={"type": "tmpfs", "device": "tmpfs"})
    assert again == first


def test_create_without_a_name(engine, vols):
    out = vols.create(None)
    assert re.fullmatch(r"[0-9a-f]{64}", out["Name"])
    expected = {LABEL: SESSION, "test": vols.tag}
    if modern(engine):
        expected[ANON] = ""  # Docker 23+ marks it anonymous; 20.10 does not
    assert out["Labels"] == expected


@pytest.mark.parametrize("name,status,message", [
    ("a/b", 400, f'create a/b: "a/b" {INVALID}'),
    ("..", 400, f'create ..: ".." {INVALID}'),
    ("-x", 400, f'create -x: "-x" {INVALID}'),
    ("x", 400, "create x: volume name is too short, names should be at least two alphanumeric characters"),
])
def test_invalid_names(engine, name, status, message):
    code, _, body = request(engine.socket, "POST", "/volumes/create", {"Name": name})
    assert (code, body["message"]) == (status, message)


def test_driver_and_option_errors(engine, vols):
    name = vols.name()
    cases = [
        ({"Driver": "nope"}, 404, f'create {name}: error looking up volume plugin nope: plugin "nope" not found'),
        ({"DriverOpts": {"foo": "bar"}}, 400, f'create {name}: invalid option: "foo"'),
        ({"DriverOpts": {"type": "tmpfs"}}, 400, f'create {name}: missing required option: "device"'),
        ({"DriverOpts": {"device": "/x", "o": "bind"}}, 400, f'create {name}: missing required option: "type"'),
        ({"DriverOpts": {"size": "10m"}}, 400, f"create {name}: quota size requested but no quota support"),
    ]
    for body, status, message in cases:
        code, _, out = request(engine.socket, "POST", "/volumes/create", {"Name": name, **body})
        assert (code, out["message"]) == (status, message), body
    assert get(engine, name)[0] == 404


# -- list ------------------------------------------------------------------------------

def test_list_and_its_filters(engine, vols):
    a = vols.create(vols.name("a1"), labels={"role": "x"})["Name"]
    b = vols.create(vols.name("b10"), labels={"role": "y"})["Name"]
    c = vols.create(vols.name("c2"))["Name"]
    vols.container(f"{c}:/data")

    def names(**kw):
        kw.setdefault("label", [f"test={vols.tag}"])
        status, _, out = request(engine.socket, "GET", f"/volumes?filters={filters(**kw)}")
        assert status == 200, out
        assert set(out) == {"Volumes", "Warnings"}
        for v in out["Volumes"]:
            assert list(v) == FIELDS
        return sorted(v["Name"] for v in out["Volumes"])

    assert names() == sorted([a, b, c])
    assert names(name=["-a1-"]) == [a]
    assert names(name=["-a1-", "-b10-"]) == sorted([a, b])       # any name
    assert names(name=[r"-[ab]\d+-"]) == sorted([a, b])          # a regular expression
    assert names(driver=["local"]) == sorted([a, b, c])
    assert names(driver=["loc"]) == []
    assert names(label=[f"test={vols.tag}", "role=x"]) == [a]     # every label
    assert names(dangling=["true"]) == sorted([a, b])
    assert names(dangling=["false"]) == [c]
    status, _, out = request(engine.socket, "GET", f"/volumes?filters={filters(dangling=['maybe'])}")
    assert status == 400 and out["message"].lower() == "invalid filter 'dangling=[maybe]'"
    status, _, out = request(engine.socket, "GET", f"/volumes?filters={filters(until=['1h'])}")
    assert status == 400 and out["message"].lower() == "invalid filter 'until'"


# -- remove ----------------------------------------------------------------------------

def test_remove(engine, vols):
    name = vols.create()["Name"]
    status, _, out = get(engine, name)
    with open(os.path.join(out["Mountpoint"], "file"), "w") as f:
        f.write("data")
    cid = vols.container(f"{name}:/data")
    for force in ("", "?force=1"):
        status, _, out = request(engine.socket, "DELETE", f"/volumes/{name}{force}")
        assert (status, out["message"]) == (409, f"remove {name}: volume is in use - [{cid}]")
    assert request(engine.socket, "DELETE", f"/containers/{cid}")[0] == 204
    status, _, out = request(engine.socket, "DELETE", f"/volumes/{name}")
    assert status == 204, out
    status, _, out = get(engine, name)
    assert (status, out["message"]) == (404, f"get {name}: no such volume")
    status, _, out = request(engine.socket, "DELETE", f"/volumes/{name}")
    assert (status, out["message"]) == (404, f"get {name}: no such volume")
    assert request(engine.socket, "DELETE", f"/volumes/{name}?force=1")[0] == 204


def test_removing_a_bind_volume_keeps_the_host_directory(engine, vols, tmp_path):
    host = tmp_path / "host"
    host.mkdir()
    (host / "keep.txt").write_text("host data")
    name = vols.create(DriverOpts={"type": "none", "o": "bind", "device": str(host)})["Name"]
    cid = vols.container(f"{name}:/data")
    status, _, out = request(engine.socket, "POST", f"/containers/{cid}/start")
    assert status == 204, out
    request(engine.socket, "POST", f"/containers/{cid}/wait")
    assert request(engine.socket, "DELETE", f"/containers/{cid}")[0] == 204
    assert request(engine.socket, "DELETE", f"/volumes/{name}")[0] == 204
    assert (host / "keep.txt").read_text() == "host data"


# -- prune -----------------------------------------------------------------------------

def test_prune(engine, vols):
    mine = filters(label=[f"test={vols.tag}"])
    named = vols.create(vols.name("named"))["Name"]
    anon = vols.create(None)["Name"]
    used = vols.create(None)["Name"]
    vols.container(f"{used}:/data")
    with open(os.path.join(get(engine, anon)[2]["Mountpoint"], "f"), "wb") as f:
        f.write(b"x" * 4321)

    status, _, out = request(engine.socket, "POST", f"/volumes/prune?filters={mine}")
    assert status == 200, out
    assert list(out) == ["VolumesDeleted", "SpaceReclaimed"]
    if modern(engine):
        # Docker 23+: anonymous volumes only (the one in use stays)
        assert (out["VolumesDeleted"], out["SpaceReclaimed"]) == ([anon], 4321)
        assert get(engine, named)[0] == 200
        status, _, out = request(engine.socket, "POST",
                                 f"/volumes/prune?filters={filters(label=[f'test={vols.tag}'], all=['true'])}")
        assert (status, out["VolumesDeleted"]) == (200, [named])
    else:
        # Docker 20.10 prunes every unused volume
        assert (sorted(out["VolumesDeleted"]), out["SpaceReclaimed"]) == (sorted([anon, named]), 4321)
    assert get(engine, named)[0] == 404 and get(engine, used)[0] == 200
    status, _, out = request(engine.socket, "POST", f"/volumes/prune?filters={mine}")
    assert (status, out) == (200, {"VolumesDeleted": [], "SpaceReclaimed": 0})


def test_prune_for_clients_before_api_1_42_takes_named_volumes(engine, vols):
    named = vols.create(vols.name("old"))["Name"]
    kept = vols.create(vols.name("kept"), labels={"keep": "1"})["Name"]
    f = filters(label=[f"test={vols.tag}"], **{"label!": ["keep=1"]})
    status, _, out = request(engine.socket, "POST", f"/v1.41/volumes/prune?filters={f}")
    assert (status, out["VolumesDeleted"]) == (200, [named])
    assert get(engine, kept)[0] == 200


def test_prune_filter_errors(engine):
    status, _, out = request(engine.socket, "POST", f"/volumes/prune?filters={filters(until=['1h'])}")
    assert status == 400 and out["message"].lower() == "invalid filter 'until'"


# -- df and events ---------------------------------------------------------------------

def test_system_df_lists_volumes_with_usage(engine, vols):
    name = vols.create()["Name"]
    mountpoint = get(engine, name)[2]["Mountpoint"]
    os.makedirs(os.path.join(mountpoint, "d"))
    with open(os.path.join(mountpoint, "d", "f"), "wb") as f:
        f.write(b"y" * 5000)
    os.link(os.path.join(mountpoint, "d", "f"), os.path.join(mountpoint, "hard"))
    vols.container(f"{name}:/data")
    status, _, df = request(engine.socket, "GET", "/system/df")
    assert status == 200
    mine = [v for v in df["Volumes"] if v["Name"] == name]
    assert len(mine) == 1
    assert list(mine[0]) == FIELDS + ["UsageData"]
    assert mine[0]["UsageData"] == {"RefCount": 1, "Size": 5000}


def test_create_and_destroy_events(engine, vols):
    since = time.time() - 1
    name = vols.create()["Name"]
    assert request(engine.socket, "DELETE", f"/volumes/{name}")[0] == 204
    until = time.time() + 1
    status, _, raw = request(engine.socket, "GET", f"/events?since={since:.3f}&until={until:.3f}&"
                                                   f"filters={filters(type=['volume'], volume=[name])}")
    assert status == 200
    events = [json.loads(line) for line in raw.splitlines() if line.strip()] if isinstance(raw, bytes) else [raw]
    assert [(e["Type"], e["Action"], e["Actor"]["ID"], e["Actor"]["Attributes"]) for e in events] == [
        ("volume", "create", name, {"driver": "local"}), ("volume", "destroy", name, {"driver": "local"})]


# -- docker-py ---------------------------------------------------------------------------

def test_dockerpy_volumes(engine, vols):
    import docker

    client = engine.client()
    try:
        name = vols.name("py")
        vol = client.volumes.create(name, driver="local", labels={LABEL: SESSION, "test": vols.tag},
                                    driver_opts={"type": "tmpfs", "device": "tmpfs", "o": "size=2m"})
        assert vol.name == name and vol.attrs["Options"]["o"] == "size=2m"
        assert client.volumes.get(name).attrs == vol.attrs
        assert [v.name for v in client.volumes.list(filters={"label": f"test={vols.tag}"})] == [name]
        with pytest.raises(docker.errors.NotFound):
            client.volumes.get(vols.name("missing"))
        plain = client.volumes.create(vols.name("plain"), labels={LABEL: SESSION, "test": vols.tag})
        anon = client.volumes.create(labels={LABEL: SESSION, "test": vols.tag})
        vols.names.append(anon.name)
        report = client.volumes.prune(filters={"label": f"test={vols.tag}"})
        # docker-py speaks the engine's own API version: 1.44 for dockyard (anonymous only), 1.41 for 20.10
        # (all unused); a volume with driver options is never pruned
        expected = [anon.name] if modern(engine) else sorted([anon.name, plain.name])
        assert sorted(report["VolumesDeleted"]) == expected
        assert client.volumes.get(name).name == name
        vol.remove()
        with pytest.raises(docker.errors.NotFound):
            vol.reload()
    finally:
        client.close()


# -- restart -----------------------------------------------------------------------------


def test_volumes_survive_kill9_of_the_daemon(own_engine):
    eng = own_engine
    sock = eng.socket
    status, _, named = request(sock, "POST", "/volumes/create", {"Name": "keep", "Labels": {"a": "b"},
                                                                 "DriverOpts": {}})
    assert status == 201
    status, _, anon = request(sock, "POST", "/volumes/create", {})
    assert status == 201
    with open(os.path.join(named["Mountpoint"], "data"), "w") as f:
        f.write("still here")
    status, _, ctr = request(sock, "POST", "/containers/create",
                             {"Image": "busybox", "HostConfig": {"Binds": ["keep:/data"]}})
    assert status == 201, ctr

    eng.kill9()
    eng.start()

    assert get(eng, "keep")[2] == named
    assert get(eng, anon["Name"])[2] == anon
    with open(os.path.join(named["Mountpoint"], "data")) as f:
        assert f.read() == "still here"
    status, _, out = request(sock, "DELETE", "/volumes/keep")
    assert (status, out["message"]) == (409, f"remove keep: volume is in use - [{ctr['Id']}]")
    assert request(sock, "DELETE", f"/containers/{ctr['Id']}")[0] == 204
    assert request(sock, "DELETE", "/volumes/keep")[0] == 204
    assert not os.path.exists(os.path.dirname(named["Mountpoint"]))
