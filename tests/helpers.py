"""Small test helpers: raw HTTP over the engine's unix socket, busybox tars, waiting."""

from __future__ import annotations

import http.client
import io
import json
import socket
import tarfile
import time


class UnixHTTPConnection(http.client.HTTPConnection):
    def __init__(self, path: str, timeout: float = 60) -> None:
        super().__init__("localhost", timeout=timeout)
        self.path = path

    def connect(self) -> None:
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.settimeout(self.timeout)
        s.connect(self.path)
        self.sock = s


def request(sock_path: str, method: str, url: str, body=None, headers=None, timeout: float = 60):
    """(status, headers, parsed JSON or raw bytes)."""
    conn = UnixHTTPConnection(sock_path, timeout)
    hdrs = dict(headers or {})
    if isinstance(body, (dict, list)):
        body = json.dumps(body).encode()
        hdrs.setdefault("Content-Type", "application/json")
    conn.request(method, url, body=body, headers=hdrs)
    resp = conn.getresponse()
    data = resp.read()
    conn.close()
    ctype = resp.getheader("Content-Type", "")
    if "json" in ctype and data:
        try:
            return resp.status, resp, json.loads(data)
        except ValueError:
            pass
    return resp.status, resp, data


def tar_of(entries: list[tuple[tarfile.TarInfo, bytes | None]]) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        for info, data in entries:
            if data is not None:
                info.size = len(data)
                tar.addfile(info, io.BytesIO(data))
            else:
                tar.addfile(info)
    return buf.getvalue()


def wait_for(pred, timeout: float = 20.0, interval: float = 0.05, what: str = "condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        v = pred()
        if v:
            return v
        time.sleep(interval)
    raise AssertionError(f"timed out waiting for {what}")


def read_http_request(f) -> tuple[str, str, dict[str, str], bytes] | None:
    """One HTTP/1.1 request from a fake daemon's buffered socket file: (method, target, headers with
    lower-case names, body, de-chunked); None when the client closed the connection."""
    line = f.readline()
    if not line:
        return None
    method, target, _ = line.decode().split(" ", 2)
    headers = {}
    while True:
        h = f.readline().decode()
        if h in ("\r\n", ""):
            break
        k, _, v = h.partition(":")
        headers[k.strip().lower()] = v.strip()
    body = b""
    if "content-length" in headers:
        body = f.read(int(headers["content-length"]))
    elif headers.get("transfer-encoding") == "chunked":
        while True:
            size = int(f.readline().strip(), 16)
            if size == 0:
                f.readline()
                break
            body += f.read(size)
            f.readline()
    return method, target, headers, body
