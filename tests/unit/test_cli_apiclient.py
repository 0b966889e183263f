"""The lean API client against a scripted HTTP server on a unix socket (no daemon)."""

from __future__ import annotations

import io
import json
import socket
import threading

import pytest

from dockyard.api.client import APIClient, Conflict, DaemonUnreachable, ImageNotFound, NotFound, errors
from dockyard.api.client.client import encode_params, quote
from dockyard.api.client.streams import iter_frames, iter_json
from dockyard.api.client.transport import parse_host
from tests.helpers import read_http_request


def frame(stream: int, data: bytes) -> bytes:
    return bytes([stream, 0, 0, 0]) + len(data).to_bytes(4, "big") + data


def chunked(*parts: bytes) -> bytes:
    return b"".join(b"%x\r\n%s\r\n" % (len(p), p) for p in parts) + b"0\r\n\r\n"


class FakeDaemon:
    """Reads HTTP/1.1 requests and lets a handler answer with raw bytes (keep-alive aware)."""

    def __init__(self, path: str, handler, api_version: str = "1.44") -> None:
        self.handler = handler
        self.api_version = api_version
        self.requests: list[tuple[str, str, dict, bytes]] = []
        self.connections = 0
        self.srv = socket.socket(socket.AF_UNIX)
        self.srv.bind(path)
        self.srv.listen(8)
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        while True:
            try:
                conn, _ = self.srv.accept()
            except OSError:
                return
            self.connections += 1
            threading.Thread(target=self._conn, args=(conn,), daemon=True).start()

    def _conn(self, conn: socket.socket) -> None:
        f = conn.makefile("rb")
        try:
            while True:
                request = read_http_request(f)
                if request is None:
                    return
                method, target, headers, body = request
                self.requests.append((method, target, headers, body))
                if target == "/_ping":
                    conn.sendall(b"HTTP/1.1 200 OK\r\nApi-Version: %s\r\nContent-Length: 2\r\n\r\nOK"
                                 % self.api_version.encode())
                    continue
                out = self.handler(method, target, headers, body, conn, f)
                if out is None:
                    return  # the handler took the connection over
                conn.sendall(out)
        except OSError:
            pass  # the client went away
        finally:
            conn.close()

    def close(self) -> None:
        self.srv.close()


def json_response(status: int, obj, reason: str = "OK") -> bytes:
    data = json.dumps(obj).encode()
    return b"HTTP/1.1 %d %s\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n%s" % (
        status, reason.encode(), len(data), data)


@pytest.fixture
def sock_path(tmp_path):
    return str(tmp_path / "d.sock")


def test_version_negotiation_and_keepalive(sock_path):
    d = FakeDaemon(sock_path, lambda m, t, h, b, c, f: json_response(200, {"path": t}), api_version="1.41")
    api = APIClient(f"unix://{sock_path}")
    assert api.get("/containers/json", params={"all": True, "x": None}) == {"path": "/v1.41/containers/json?all=1"}
    assert api.get("/containers/{}/json", "a b/c") == {"path": "/v1.41/containers/a%20b%2Fc/json"}
    assert api.api_version == "1.41"
    assert d.connections == 1  # ping and both calls shared one connection
    api.close()
    d.close()


def test_newer_daemon_is_spoken_to_in_1_44(sock_path):
    d = FakeDaemon(sock_path, lambda m, t, h, b, c, f: json_response(200, {"path": t}), api_version="1.47")
    assert APIClient(f"unix://{sock_path}").get("/info")["path"] == "/v1.44/info"
    d.close()


def test_explicit_version_skips_the_ping(sock_path):
    d = FakeDaemon(sock_path, lambda m, t, h, b, c, f: json_response(200, {"path": t}))
    assert APIClient(f"unix://{sock_path}", version="1.30").get("/info")["path"] == "/v1.30/info"
    assert [r[1] for r in d.requests] == ["/v1.30/info"]
    d.close()


@pytest.mark.parametrize("status,message,cls", [
    (404, "No such container: x", NotFound),
    (404, "No such image: busybox:nope", ImageNotFound),
    (409, "Conflict. The container name \"/x\" is already in use", Conflict),
    (500, "boom", errors.APIError),
])
def test_errors_are_typed_like_docker_py(sock_path, status, message, cls):
    d = FakeDaemon(sock_path, lambda m, t, h, b, c, f: json_response(status, {"message": message}, "Err"))
    api = APIClient(f"unix://{sock_path}")
    with pytest.raises(cls) as e:
        api.post("/containers/{}/start", "x")
    assert type(e.value) is cls
    assert e.value.status_code == status
    assert e.value.explanation == message
    assert e.value.is_client_error() == (status < 500)
    # the connection is still usable after an error
    with pytest.raises(cls):
        api.delete("/containers/{}", "x")
    assert d.connections == 1
    d.close()


def test_plain_text_error_body(sock_path):
    d = FakeDaemon(sock_path, lambda m, t, h, b, c, f:
                   b"HTTP/1.1 400 Bad Request\r\nContent-Length: 9\r\n\r\nbad thing")
    with pytest.raises(errors.APIError) as e:
        APIClient(f"unix://{sock_path}").get("/x")
    assert e.value.explanation == "bad thing" and e.value.status_code == 400
    d.close()


def test_daemon_unreachable(tmp_path):
    api = APIClient(f"unix://{tmp_path}/none.sock")
    with pytest.raises(DaemonUnreachable) as e:
        api.get("/info")
    assert "Cannot connect to the dockyard daemon" in str(e.value)


def test_chunked_json_stream_split_anywhere(sock_path):
    msgs = [{"status": "a"}, {"status": "b", "id": "x"}, {"Type": "container", "Action": "start"}]
    raw = b"".join(json.dumps(m).encode() + b"\n" for m in msgs)
    parts = [raw[:5], raw[5:17], raw[17:18], raw[18:]]

    def handler(m, t, h, b, c, f):
        return b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n" + chunked(*parts)
    d = FakeDaemon(sock_path, handler)
    api = APIClient(f"unix://{sock_path}")
    assert list(api.stream_json("GET", "/events")) == msgs
    assert api.get("/events") is not None  # the connection was left clean for the next call
    d.close()


def test_iter_json_handles_multibyte_split_and_concatenated_objects():
    data = '{"a":"é"}{"b":1}\n  {"c":[1,2]}'.encode()
    chunks = [data[:6], data[6:7], data[7:]]
    it = iter(chunks)
    assert list(iter_json(lambda n: next(it, b""))) == [{"a": "é"}, {"b": 1}, {"c": [1, 2]}]


def test_multiplexed_log_frames(sock_path):
    payload = frame(1, b"out\n") + frame(2, b"err\n") + frame(1, b"")

    def handler(m, t, h, b, c, f):
        return b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n" + chunked(payload[:3], payload[3:11],
                                                                                  payload[11:])
    d = FakeDaemon(sock_path, handler)
    api = APIClient(f"unix://{sock_path}")
    assert list(api.stream_frames("GET", "/containers/{}/logs", "c", params={"stdout": True})) == [
        (1, b"out\n"), (2, b"err\n"), (1, b"")]
    d.close()


def test_truncated_frame_is_an_error():
    buf = io.BytesIO(frame(1, b"hello")[:10])
    with pytest.raises(errors.StreamParseError):
        list(iter_frames(buf.read))


def test_chunked_upload_from_a_file(sock_path):
    got = {}

    def handler(m, t, h, b, c, f):
        got.update(body=b, headers=h, target=t)
        return b'HTTP/1.1 200 OK\r\nContent-Length: 22\r\n\r\n{"status":"sha256:ab"}'
    d = FakeDaemon(sock_path, handler)
    api = APIClient(f"unix://{sock_path}")
    data = bytes(range(256)) * 1000
    out = list(api.stream_json("POST", "/images/create", params={"fromSrc": "-", "changes": ['CMD ["sh"]']},
                               data=io.BytesIO(data)))
    assert out == [{"status": "sha256:ab"}]
    assert got["body"] == data and got["headers"]["transfer-encoding"] == "chunked"
    assert got["target"] == "/v1.44/images/create?fromSrc=-&changes=CMD%20%5B%22sh%22%5D"
    d.close()


@pytest.mark.parametrize("head", [
    b"HTTP/1.1 101 UPGRADED\r\nContent-Type: application/vnd.docker.raw-stream\r\nConnection: Upgrade\r\n"
    b"Upgrade: tcp\r\n\r\n",
    b"HTTP/1.1 200 OK\r\nContent-Type: application/vnd.docker.raw-stream\r\n\r\n",
])
def test_hijacked_attach_stdin_and_half_close(sock_path, head):
    seen = {}

    def handler(m, t, h, b, c, f):
        seen["headers"] = h
        # the first frame goes out in the same packet as the response head
        c.sendall(head + frame(1, b"ready\n"))
        data = f.read()  # until the client half-closes
        c.sendall(frame(1, data.upper()) + frame(2, b"bye\n"))
        c.shutdown(socket.SHUT_WR)
        return None
    d = FakeDaemon(sock_path, handler)
    api = APIClient(f"unix://{sock_path}")
    with api.hijack("POST", "/containers/{}/attach", "c", params={"stdin": True, "stream": True}) as s:
        s.send(b"hello ")
        s.send(b"world")
        s.close_write()
        assert list(s.frames()) == [(1, b"ready\n"), (1, b"HELLO WORLD"), (2, b"bye\n")]
    assert seen["headers"]["connection"] == "Upgrade" and seen["headers"]["upgrade"] == "tcp"
    # the hijack used its own connection: the client's keep-alive one is still fine
    d.close()


def test_hijack_error_status(sock_path):
    d = FakeDaemon(sock_path, lambda m, t, h, b, c, f: json_response(409, {"message": "is paused"}, "Conflict"))
    with pytest.raises(Conflict):
        APIClient(f"unix://{sock_path}").hijack("POST", "/exec/{}/start", "e", json={"Detach": False})
    d.close()


def test_reconnects_when_the_daemon_closed_an_idle_connection(sock_path):
    calls = []

    def handler(m, t, h, b, c, f):
        calls.append(t)
        c.sendall(json_response(200, {"n": len(calls)}))
        return None  # close after each answer, without saying so
    d = FakeDaemon(sock_path, handler)
    api = APIClient(f"unix://{sock_path}")
    assert api.get("/a") == {"n": 1}
    assert api.get("/b") == {"n": 2}
    assert d.connections >= 2
    d.close()


def test_call_later_on_a_fresh_connection(sock_path):
    release = threading.Event()

    def handler(m, t, h, b, c, f):
        if "/wait" in t:
            c.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n")
            release.wait(5)
            c.sendall(chunked(b'{"StatusCode":3}\n'))
            return b""
        release.set()
        return b"HTTP/1.1 204 No Content\r\n\r\n"
    d = FakeDaemon(sock_path, handler)
    api = APIClient(f"unix://{sock_path}")
    pending = api.call_later("POST", "/containers/{}/wait", "c", params={"condition": "next-exit"}, fresh=True)
    assert pending.ready(5)
    pending.response()  # head arrives before the container starts
    api.post("/containers/{}/start", "c")
    assert pending.result() == {"StatusCode": 3}
    d.close()


def test_helpers():
    assert quote("a b/c?") == "a%20b%2Fc%3F"
    assert encode_params({"a": True, "b": False, "c": None, "d": [1, 2], "e": {"x": {"y": True}}}) == \
        "a=1&b=0&d=1&d=2&e=%7B%22x%22%3A%7B%22y%22%3Atrue%7D%7D"
    assert parse_host("unix:///run/x.sock") == ("unix", "/run/x.sock")
    assert parse_host("tcp://127.0.0.1") == ("tcp", "127.0.0.1:2375")
    assert parse_host("tcp://[::1]:2376") == ("tcp", "[::1]:2376")
    with pytest.raises(OSError):
        parse_host("ftp://x")


def test_resource_subclients(sock_path):
    d = FakeDaemon(sock_path, lambda m, t, h, b, c, f: json_response(200, {"m": m, "t": t, "b": b.decode()}))
    api = APIClient(f"unix://{sock_path}")
    assert api.containers.list(all=True, filters={"status": ["exited"]})["t"] == \
        "/v1.44/containers/json?all=1&filters=%7B%22status%22%3A%7B%22exited%22%3Atrue%7D%7D"
    r = api.containers.create({"Image": "busybox"}, name="web")
    assert r["t"] == "/v1.44/containers/create?name=web" and json.loads(r["b"]) == {"Image": "busybox"}
    assert api.images.inspect("busybox")["t"] == "/v1.44/images/busybox/json"
    assert api.execs.inspect("e1")["t"] == "/v1.44/exec/e1/json"
    assert api.system.df()["t"] == "/v1.44/system/df"
    d.close()
