"""Fuzz the Engine API with schemathesis, fed Docker's own Swagger spec.

``test_fuzz`` exercises only the operations issue 2 implements, against a dockyardd this module
starts for itself (never the session engine, never the oracle dockerd): the fuzzer stops, kills,
prunes and removes things. A generated request whose path names a resource is sent twice: as
generated (a random id, mostly 404s, which still tests how parameters are parsed), and aimed at a
real scratch object (a running, a paused or an exited container, a fresh exec, an image tag), so
validation past the lookup is reached too. A generated ``POST /containers/create`` body is sent a
second time naming ``busybox`` as its image, so container configs get past the image lookup (those
containers are never started, and all are removed at the end).

Checked for every response:
- no 5xx, except those listed in ``REAL_FAULTS`` (well-formed requests that fail for a real reason,
  which dockerd answers 500 too);
- response headers within ``HEADER_TIMEOUT`` s and the whole body within ``BODY_TIMEOUT`` s (long
  polls, ``wait`` and ``logs?follow``, need only their headers in time);
- every error body (4xx/5xx, except to HEAD) is JSON ``{"message": "<str>"}``;
- at the end the daemon still answers ``/_ping`` and every container left can be removed.

Problems are collected per operation (one example per kind) and reported together when the
operation's examples are done, as the test's teardown error; a hang fails at once.

Bounded: a fixed seed, deterministic generation, ``MAX_EXAMPLES`` cases per operation (the examples
and coverage phases are off, no shrinking), and a ``BUDGET`` in seconds shared out equally among the
operations: once an operation has used its share, its remaining generated cases are not sent (so a
slow operation cannot starve the others, and every operation is fuzzed on every run).
``DOCKYARD_FUZZ_EXAMPLES`` / ``DOCKYARD_FUZZ_BUDGET`` raise them for a longer local run.

``test_fuzz_finding`` pins what earlier fuzz runs found, as plain requests on the session engine, so
they run against the oracle too (``DOCKYARD_TEST_HOST``).
"""

from __future__ import annotations

import json
import os
import re
import time
import uuid
import zlib
from pathlib import Path

import hypothesis
import pytest
import requests
import schemathesis
from docker.transport import UnixHTTPAdapter

from tests.conftest import REPO, cleanup_engine, start_engine
from tests.helpers import request

SPEC = REPO.parent / "shared" / "reference" / "docker-engine-api.yaml"
if not SPEC.exists():
    SPEC = Path("/work/shared/reference/docker-engine-api.yaml")

MAX_EXAMPLES = int(os.environ.get("DOCKYARD_FUZZ_EXAMPLES", "30"))
BUDGET = float(os.environ.get("DOCKYARD_FUZZ_BUDGET", "150"))
SEED = 20240611
HEADER_TIMEOUT = 10.0
BODY_TIMEOUT = 15.0
LONG_POLL_READ = 0.5

# (METHOD, path) as the spec spells them: what issue 2 implements.
OPERATIONS = {
    ("GET", "/containers/json"), ("POST", "/containers/create"), ("GET", "/containers/{id}/json"),
    ("GET", "/containers/{id}/top"), ("GET", "/containers/{id}/logs"),
    ("GET", "/containers/{id}/changes"), ("GET", "/containers/{id}/export"),
    ("POST", "/containers/{id}/resize"), ("POST", "/containers/{id}/start"),
    ("POST", "/containers/{id}/stop"), ("POST", "/containers/{id}/restart"),
    ("POST", "/containers/{id}/kill"), ("POST", "/containers/{id}/rename"),
    ("POST", "/containers/{id}/pause"), ("POST", "/containers/{id}/unpause"),
    ("POST", "/containers/{id}/wait"), ("DELETE", "/containers/{id}"), ("POST", "/containers/prune"),
    ("POST", "/containers/{id}/exec"), ("POST", "/exec/{id}/start"), ("POST", "/exec/{id}/resize"),
    ("GET", "/exec/{id}/json"),
    ("GET", "/images/json"), ("GET", "/images/{name}/json"), ("POST", "/images/{name}/tag"),
    ("DELETE", "/images/{name}"), ("GET", "/images/{name}/history"), ("POST", "/images/prune"),
    ("GET", "/_ping"), ("HEAD", "/_ping"), ("GET", "/version"), ("GET", "/info"), ("GET", "/system/df"),
}

# 5xx answers accepted for well-formed requests that fail for a real reason: (METHOD, path) →
# (pattern the error message must match, why). Any other 5xx is a problem.
REAL_FAULTS: dict[tuple[str, str], tuple[re.Pattern, str]] = {
    ("GET", "/containers/{id}/top"): (
        re.compile(r"^(?:(?:Error running ps|ps)\b|Couldn't find PID field in ps output$|specifying \".*\" is "
                   r"not allowed$|Unexpected pid ')"),
        "ps_args is free text handed to ps(1); when ps rejects it the failure is ps's, and dockerd "
        "answers 500 with ps's message (errdefs.System in moby's daemon/top_unix.go); ps output without a PID "
        "column, a column renamed to PID and a PID column that is not numbers are refused with 500 by dockerd too "
        "(plain errors there)"),
}

CONFIG = schemathesis.Config.from_dict({
    "seed": SEED,
    "suppress-health-check": ["all"],
    "generation": {"max-examples": MAX_EXAMPLES, "deterministic": True, "no-shrink": True,
                   "database": "none", "mode": "all"},
    "phases": {"examples": {"enabled": False}, "coverage": {"enabled": False},
               "stateful": {"enabled": False}},
})

schema = schemathesis.openapi.from_path(str(SPEC), config=CONFIG).include(
    lambda ctx: (ctx.operation.method.upper(), ctx.operation.path) in OPERATIONS)

_SPENT: dict[str, float] = {}  # seconds each operation's cases have taken so far

LOOP = ["sh", "-c", "trap 'exit 0' TERM; while :; do sleep 0.2; done"]


class Scratch:
    """The engine under fuzz, and the real objects the second copy of a request aims at."""

    def __init__(self, engine) -> None:
        self.engine = engine
        self.session = requests.Session()
        # requests routes by URL prefix: this host goes over the engine's unix socket
        self.base = "http://dockyard-fuzz"
        self.session.mount(self.base, UnixHTTPAdapter(f"http+unix://{engine.socket}"))
        self.ids = {"running": "", "paused": "", "exited": ""}
        self.findings: dict = {}

    def api(self, method: str, path: str, body=None, **params) -> requests.Response:
        return self.session.request(method, f"{self.base}/v1.44{path}", json=body, params=params,
                                    timeout=(HEADER_TIMEOUT, BODY_TIMEOUT))

    def _state(self, ref: str) -> dict | None:
        r = self.api("GET", f"/containers/{ref}/json")
        return r.json()["State"] if r.status_code == 200 else None

    def _remake(self, kind: str) -> None:
        name = f"fuzz-{kind}"
        before = self._state(name)
        r = self.api("DELETE", f"/containers/{name}", force=1)
        if r.status_code not in (204, 404):
            self.findings.setdefault(("DELETE", "/containers/{id}", "scratch", r.status_code), (
                f"- {r.status_code} for DELETE /v1.44/containers/{name}?force=1 of a container with "
                f"State.Status={before and before['Status']!r}: {r.text.strip()}  (expected 204)"))
            r = self.api("DELETE", f"/containers/{name}", force=1)
            assert r.status_code in (204, 404), (name, r.status_code, r.text, self._state(name))
        cmd = ["echo", "done"] if kind == "exited" else LOOP
        r = self.api("POST", "/containers/create",
                     {"Image": "busybox", "Cmd": cmd, "Tty": True, "OpenStdin": True}, name=name)
        assert r.status_code == 201, r.text
        cid = r.json()["Id"]
        assert self.api("POST", f"/containers/{cid}/start").status_code == 204
        if kind == "exited":
            assert self.api("POST", f"/containers/{cid}/wait").status_code == 200
        elif kind == "paused":
            assert self.api("POST", f"/containers/{cid}/pause").status_code == 204
        self.ids[kind] = cid

    def ensure(self) -> None:
        """Put the scratch objects back: the fuzzer may have stopped, paused, killed, renamed or
        removed the containers, or pruned or untagged the image."""
        if self.api("GET", "/images/busybox/json").status_code != 200:
            r = self.engine.cli("busybox-image")
            assert r.returncode == 0, r.stderr
        if self.api("GET", "/images/fuzz:scratch/json").status_code != 200:
            assert self.api("POST", "/images/busybox/tag", repo="fuzz", tag="scratch").status_code == 201
        for kind in self.ids:  # the kind is the State.Status it must have
            st = self._state(self.ids[kind]) if self.ids[kind] else None
            if not st or st["Status"] != kind:
                self._remake(kind)
        # a SIGSTOPped shell would make every stop wait for its timeout: it must answer an exec
        r = self.api("POST", f"/containers/{self.ids['running']}/exec", {"Cmd": ["true"]})
        ex = r.json().get("Id") if r.status_code == 201 else None
        if not ex or self.api("POST", f"/exec/{ex}/start", {"Detach": False}).status_code != 200:
            self._remake("running")

    def new_exec(self) -> str:
        r = self.api("POST", f"/containers/{self.ids['running']}/exec",
                     {"Cmd": ["true"], "AttachStdout": True, "AttachStderr": True})
        assert r.status_code == 201, r.text
        return r.json()["Id"]


@pytest.fixture(scope="module")
def scratch(tmp_path_factory):
    engine = start_engine(Path(tmp_path_factory.mktemp("fuzz")))
    try:
        r = engine.cli("busybox-image")
        assert r.returncode == 0, r.stderr
        s = Scratch(engine)
        s.ensure()
        yield s
        # the daemon still answers, and everything the fuzzer left can be removed
        r = s.session.get(f"{s.base}/_ping", timeout=10)
        assert r.status_code == 200 and r.text == "OK"
        for c in s.api("GET", "/containers/json", all=1).json():
            d = s.api("DELETE", f"/containers/{c['Id']}", force=1, v=1)
            assert d.status_code == 204, (c["Id"], c["State"], d.status_code, d.text)
        assert s.api("GET", "/containers/json", all=1).json() == []
    finally:
        cleanup_engine(engine)


@pytest.fixture
def findings(scratch):
    """Problems found for one operation, one example per kind, reported together at the end:
    failing at the first one would hide the others behind it."""
    scratch.findings = {}
    yield scratch.findings
    if scratch.findings:
        found = scratch.findings
        pytest.fail(f"{len(found)} problem(s):\n" + "\n".join(found.values()), pytrace=False)


def _variants(case, scratch: Scratch):
    """(label, path parameter override) for each copy of the request to send."""
    yield "generated", None
    path = case.operation.path
    if path.startswith("/containers/{id}"):
        # which container state to aim at: deterministic in the generated data
        body = case.body if isinstance(case.body, (dict, list, str, int, float, bool)) else None
        key = json.dumps([case.query, body], sort_keys=True, default=repr).encode()
        kind = ("running", "paused", "exited")[zlib.crc32(key) % 3]
        if path.endswith(("/exec", "/resize", "/top")) and kind == "exited":
            kind = "running"
        yield kind, {"id": scratch.ids[kind]}
    elif path.startswith("/exec/{id}"):
        yield "exec", {"id": scratch.new_exec()}
    elif path.startswith("/images/{name}"):
        yield "image", {"name": "fuzz:scratch"}
    elif path == "/containers/create" and isinstance(case.body, dict):
        yield "busybox", None


def _is_long_poll(case, query: dict) -> bool:
    path = case.operation.path
    if path.endswith("/wait"):
        return True
    follow = str(query.get("follow", "")).lower()
    return path.endswith("/logs") and follow not in ("", "0", "false", "no", "none")


def _send(scratch: Scratch, case, label: str, override: dict | None):
    saved = dict(case.path_parameters or {}), case.body, case.query
    try:
        if override:
            case.path_parameters = {**saved[0], **override}
        if label == "busybox":
            case.body = {**case.body, "Image": "busybox"}
        if label != "generated" and isinstance(case.query, dict):
            # aimed at a scratch container, a stop must not wait out a huge (or infinite) timeout
            case.query = {k: (1 if k in ("t", "timeout") else v) for k, v in case.query.items()}
        kwargs = case.as_transport_kwargs(base_url=f"{scratch.base}/v1.44")
        long_poll = _is_long_poll(case, case.query or {})
    finally:
        case.path_parameters, case.body, case.query = saved
    kwargs.pop("cookies", None)
    t0 = time.monotonic()
    try:
        resp = scratch.session.request(**kwargs, stream=True, timeout=(HEADER_TIMEOUT, HEADER_TIMEOUT))
    except requests.exceptions.Timeout:
        pytest.fail(f"hang: no response headers within {HEADER_TIMEOUT}s for {_describe(kwargs)}")
    body = b""
    try:
        if long_poll:
            # the headers came in time; the rest of a long poll may legitimately never come
            resp.raw._connection.sock.settimeout(LONG_POLL_READ)
        deadline = t0 + (LONG_POLL_READ if long_poll else BODY_TIMEOUT)
        for chunk in resp.iter_content(65536):
            body += chunk
            if time.monotonic() > deadline:
                if not long_poll:
                    pytest.fail(f"hang: body not complete within {BODY_TIMEOUT}s for {_describe(kwargs)}")
                break
    except requests.exceptions.ConnectionError as e:
        if not long_poll:
            pytest.fail(f"body read failed ({e}) for {_describe(kwargs, resp)}")
    finally:
        resp.close()
    if os.environ.get("DOCKYARD_FUZZ_LOG"):
        with open(os.environ["DOCKYARD_FUZZ_LOG"], "a") as f:
            print(f"{time.monotonic() - t0:.2f} {label} " + _describe(kwargs, resp, body[:200]).replace("\n", " "),
                  file=f)
    return kwargs, resp, body


def _describe(kwargs: dict, resp=None, body: bytes = b"") -> str:
    text = f"{kwargs['method']} {requests.utils.unquote(kwargs['url']).removeprefix('http://dockyard-fuzz')}"
    if kwargs.get("params"):
        text += f" params={kwargs['params']!r}"
    ctype = (kwargs.get("headers") or {}).get("Content-Type")
    if "json" in kwargs:
        text += f" json={json.dumps(kwargs['json'], default=str)[:800]}"
    elif kwargs.get("data") is not None:
        text += f" data={kwargs['data']!r:.800}"
    if ctype:
        text += f" Content-Type={ctype}"
    if resp is not None:
        text += f"\n    -> {resp.status_code} {resp.headers.get('Content-Type')} {body[:500]!r}"
    return text


def _problem(case, kwargs, resp, body: bytes) -> tuple[tuple, str] | None:
    """(key to report one example per kind, description) of what is wrong, or None."""
    method = kwargs["method"].upper()
    op = (method, case.operation.path)
    try:
        doc = json.loads(body) if body else None
    except ValueError:
        doc = None
    message = doc.get("message") if isinstance(doc, dict) else None
    if resp.status_code >= 500:
        allowed = REAL_FAULTS.get(op)
        if not (allowed and isinstance(message, str) and allowed[0].search(message)):
            kind = re.sub(r"[0-9a-f]{12,}|'.*?'|\".*?\"|\d+", "…", str(message))[:60]
            return (op, resp.status_code, kind), f"- {resp.status_code} for {_describe(kwargs, resp, body)}"
    if resp.status_code >= 400 and method != "HEAD":
        if "application/json" not in resp.headers.get("Content-Type", "") or not isinstance(message, str):
            return (op, "body", resp.status_code), (
                f"- error body is not JSON {{\"message\": ...}} for {_describe(kwargs, resp, body)}")
    return None


@pytest.mark.skipif(bool(os.environ.get("DOCKYARD_TEST_HOST")),
                    reason="the fuzzer stops, kills and prunes: only a dockyardd it starts itself, never another engine")
@schema.parametrize()
@hypothesis.settings(deadline=None, max_examples=MAX_EXAMPLES, derandomize=True, database=None,
                     suppress_health_check=list(hypothesis.HealthCheck), print_blob=False,
                     phases=[hypothesis.Phase.explicit, hypothesis.Phase.generate])
def test_fuzz(case, scratch, findings):
    op = f"{case.method} {case.path}"
    if _SPENT.get(op, 0.0) > BUDGET / len(OPERATIONS):
        return  # this operation's share of the budget is used: its later cases are not sent
    t0 = time.monotonic()
    try:
        scratch.ensure()
        for label, override in list(_variants(case, scratch)):
            kwargs, resp, body = _send(scratch, case, label, override)
            problem = _problem(case, kwargs, resp, body)
            if problem and problem[0] not in findings:
                findings[problem[0]] = problem[1]
    finally:
        _SPENT[op] = _SPENT.get(op, 0.0) + time.monotonic() - t0


# -- what fuzz runs found, pinned -------------------------------------------------------------
# Each checked against the oracle dockerd 20.10 as well; where 20.10 has an old bug that Docker 23+
# fixed, the test expects the fixed behaviour from dockyard and the old one from 20.10 (``legacy``).

def _api(engine, method, url, body=None, headers=None):
    v = request(engine.socket, "GET", "/_ping")[1].getheader("Api-Version")
    return request(engine.socket, method, f"/v{v}{url}", body, headers=headers)


def _legacy(engine) -> bool:
    return _api(engine, "GET", "/version")[2]["Version"].startswith("20.10")


def _make_running(engine, cmd=LOOP) -> str:
    name = f"fz-{uuid.uuid4().hex[:10]}"
    status, _, body = _api(engine, "POST", f"/containers/create?name={name}",
                           {"Image": "busybox", "Cmd": cmd, "Labels": {"dockyard-compat": "fuzz"}})
    assert status == 201, body
    assert _api(engine, "POST", f"/containers/{body['Id']}/start")[0] == 204
    return body["Id"]


@pytest.fixture
def running(engine):
    cid = _make_running(engine)
    yield cid
    _api(engine, "DELETE", f"/containers/{cid}?force=1")


@pytest.mark.parametrize("query", ["since=-1", "until=-1", "since=-1.5", "until=-10740&since=9999999999999",
                                   "since=1.5", "until=0", "since=1700000000.123456789"])
def test_fuzz_finding_logs_time_forms_are_accepted(engine, running, query):
    status, _, body = _api(engine, "GET", f"/containers/{running}/logs?stdout=1&{query}")
    assert status == 200, body


@pytest.mark.parametrize("query", ["since=null", "since=abc", "until=abc", "since=1e3"])
def test_fuzz_finding_logs_bad_time_is_400(engine, running, query):
    status, _, body = _api(engine, "GET", f"/containers/{running}/logs?stdout=1&{query}")
    # dockerd 20.10 lets strconv's error through as a 500; a malformed parameter is a 400
    assert status == (500 if _legacy(engine) else 400), body
    assert isinstance(body["message"], str)


@pytest.mark.parametrize("ctype", ["text/plain", "application/octet-stream", None])
def test_fuzz_finding_create_needs_json_content_type(engine, ctype):
    name = f"fz-{uuid.uuid4().hex[:10]}"
    data = json.dumps({"Image": "busybox", "Labels": {"dockyard-compat": "fuzz"}}).encode()
    status, _, body = _api(engine, "POST", f"/containers/create?name={name}", data,
                           headers={"Content-Type": ctype} if ctype else {})
    if status == 201:
        _api(engine, "DELETE", f"/containers/{body['Id']}?force=1")
    assert status == 400, body
    assert body["message"] == f"Content-Type specified ({ctype or ''}) must be 'application/json'"


@pytest.mark.parametrize("verb, trap, status_after, code", [
    ("DELETE /containers/{id}?force=1", "exit 0", None, None),
    ("POST /containers/{id}/kill", "exit 0", "exited", 137),
    # the stop signal waits for the thaw, then the shell's trap exits 0 at once
    ("POST /containers/{id}/stop?t=1", "exit 0", "exited", 0),
    # TERM ignored: SIGKILL after the timeout
    ("POST /containers/{id}/stop?t=1", "", "exited", 137),
    ("POST /containers/{id}/restart?t=1", "exit 0", "running", None),
    ("POST /containers/{id}/restart?t=1", "", "running", None),
])
def test_fuzz_finding_verbs_on_a_paused_container(engine, verb, trap, status_after, code):
    cid = _make_running(engine, ["sh", "-c", f"trap '{trap}' TERM; while :; do sleep 0.2; done"])
    try:
        assert _api(engine, "POST", f"/containers/{cid}/pause")[0] == 204
        method, url = verb.split(" ")
        status, _, body = _api(engine, method, url.format(id=cid))
        assert status == 204, body
        status, _, info = _api(engine, "GET", f"/containers/{cid}/json")
        if status_after is None:
            assert status == 404
        else:
            assert info["State"]["Status"] == status_after and not info["State"]["Paused"]
            if code is not None:
                assert info["State"]["ExitCode"] == code
    finally:
        _api(engine, "DELETE", f"/containers/{cid}?force=1")


@pytest.mark.parametrize("size", [[70000, 10], [15086, 2576528241916131]])
def test_fuzz_finding_exec_console_size_beyond_16_bits(engine, size):
    # dockerd takes any uint here (the tty size is clipped on the way to the kernel)
    cid = _make_running(engine, ["sh", "-c", "trap 'exit 0' TERM; while :; do sleep 0.2; done"])
    try:
        status, _, ex = _api(engine, "POST", f"/containers/{cid}/exec", {"Cmd": ["true"], "Tty": True})
        assert status == 201, ex
        status, _, body = _api(engine, "POST", f"/exec/{ex['Id']}/start",
                               {"Detach": True, "Tty": True, "ConsoleSize": size})
        assert status == 200, body
    finally:
        _api(engine, "DELETE", f"/containers/{cid}?force=1")
