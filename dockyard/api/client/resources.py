"""Per-resource sub-clients: one method per Engine API endpoint, returning JSON.

Reached as ``api.containers``, ``api.images``, ``api.execs``, ``api.system``
(no mixins: each is a thin object over the ``APIClient`` verbs).
"""

from __future__ import annotations

import json as _json


def _filters(filters: dict | None) -> str | None:
    """Docker's filter encoding: {"status": ["exited"]} -> '{"status":{"exited":true}}'."""
    if not filters:
        return None
    out = {}
    for k, v in filters.items():
        vals = v if isinstance(v, (list, tuple, set)) else [v]
        out[k] = {str(x): True for x in vals}
    return _json.dumps(out, separators=(",", ":"))


class _Resource:
    def __init__(self, api) -> None:
        self.api = api


class Containers(_Resource):
    def list(self, all: bool = False, limit: int | None = None, size: bool = False,
             filters: dict | None = None) -> list:
        params = {"all": all or None, "limit": limit if limit and limit > 0 else None,
                  "size": size or None, "filters": _filters(filters)}
        return self.api.get("/containers/json", params=params)

    def create(self, config: dict, name: str | None = None, platform: str | None = None) -> dict:
        return self.api.post("/containers/create", params={"name": name, "platform": platform}, json=config)

    def inspect(self, container: str, size: bool = False) -> dict:
        return self.api.get("/containers/{}/json", container, params={"size": size or None})

    def start(self, container: str, detach_keys: str | None = None) -> None:
        self.api.post("/containers/{}/start", container, params={"detachKeys": detach_keys})

    def stop(self, container: str, timeout: int | None = None, signal: str | None = None) -> None:
        self.api.post("/containers/{}/stop", container, params={"t": timeout, "signal": signal})

    def restart(self, container: str, timeout: int | None = None, signal: str | None = None) -> None:
        self.api.post("/containers/{}/restart", container, params={"t": timeout, "signal": signal})

    def kill(self, container: str, signal: str | None = None) -> None:
        self.api.post("/containers/{}/kill", container, params={"signal": signal})

    def pause(self, container: str) -> None:
        self.api.post("/containers/{}/pause", container)

    def unpause(self, container: str) -> None:
        self.api.post("/containers/{}/unpause", container)

    def wait(self, container: str, condition: str | None = None) -> dict:
        return self.api.post("/containers/{}/wait", container, params={"condition": condition})

    def remove(self, container: str, force: bool = False, v: bool = False, link: bool = False) -> None:
        self.api.delete("/containers/{}", container, params={"force": force or None, "v": v or None,
                                                             "link": link or None})

    def rename(self, container: str, name: str) -> None:
        self.api.post("/containers/{}/rename", container, params={"name": name})

    def resize(self, container: str, height: int, width: int) -> None:
        self.api.post("/containers/{}/resize", container, params={"h": height, "w": width})

    def top(self, container: str, ps_args: str | None = None) -> dict:
        return self.api.get("/containers/{}/top", container, params={"ps_args": ps_args})

    def changes(self, container: str) -> list | None:
        return self.api.get("/containers/{}/changes", container)

    def export(self, container: str):
        """The response of ``GET /containers/{id}/export``; read the tar from it."""
        return self.api.stream("GET", "/containers/{}/export", container)

    def logs(self, container: str, stdout: bool = True, stderr: bool = True, follow: bool = False,
             timestamps: bool = False, tail: str | int | None = None, since: str | None = None,
             until: str | None = None, details: bool = False):
        """The response of ``GET /containers/{id}/logs``: multiplexed frames, or raw bytes for a TTY."""
        params = {"stdout": stdout or None, "stderr": stderr or None, "follow": follow or None,
                  "timestamps": timestamps or None, "details": details or None,
                  "tail": tail, "since": since, "until": until}
        return self.api.stream("GET", "/containers/{}/logs", container, params=params)

    def attach(self, container: str, stdin: bool = False, stdout: bool = True, stderr: bool = True,
               stream: bool = True, logs: bool = False, detach_keys: str | None = None):
        params = {"stdin": stdin or None, "stdout": stdout or None, "stderr": stderr or None,
                  "stream": stream or None, "logs": logs or None, "detachKeys": detach_keys}
        return self.api.hijack("POST", "/containers/{}/attach", container, params=params)

    def prune(self, filters: dict | None = None) -> dict:
        return self.api.post("/containers/prune", params={"filters": _filters(filters)})


class Images(_Resource):
    def list(self, all: bool = False, filters: dict | None = None, digests: bool = False) -> list:
        return self.api.get("/images/json", params={"all": all or None, "filters": _filters(filters),
                                                    "digests": digests or None})

    def inspect(self, image: str) -> dict:
        return self.api.get("/images/{}/json", image)

    def history(self, image: str) -> list:
        return self.api.get("/images/{}/history", image)

    def tag(self, image: str, repo: str, tag: str | None = None) -> None:
        self.api.post("/images/{}/tag", image, params={"repo": repo, "tag": tag})

    def remove(self, image: str, force: bool = False, noprune: bool = False) -> list:
        return self.api.delete("/images/{}", image, params={"force": force or None,
                                                            "noprune": noprune or None})

    def import_image(self, data, repo: str | None = None, tag: str | None = None,
                     changes: list[str] | None = None, message: str | None = None,
                     src: str = "-", platform: str | None = None):
        """``POST /images/create?fromSrc=...``; yields the progress messages."""
        params = {"fromSrc": src, "repo": repo, "tag": tag, "message": message,
                  "changes": list(changes) if changes else None, "platform": platform}
        return self.api.stream_json("POST", "/images/create", params=params, data=data,
                                    headers={"Content-Type": "application/x-tar"} if data is not None else None)

    def pull(self, image: str, tag: str | None = None, platform: str | None = None):
        return self.api.stream_json("POST", "/images/create",
                                    params={"fromImage": image, "tag": tag, "platform": platform})

    def prune(self, filters: dict | None = None) -> dict:
        return self.api.post("/images/prune", params={"filters": _filters(filters)})


class Execs(_Resource):
    def create(self, container: str, config: dict) -> dict:
        return self.api.post("/containers/{}/exec", container, json=config)

    def inspect(self, exec_id: str) -> dict:
        return self.api.get("/exec/{}/json", exec_id)

    def resize(self, exec_id: str, height: int, width: int) -> None:
        self.api.post("/exec/{}/resize", exec_id, params={"h": height, "w": width})

    def start(self, exec_id: str, detach: bool = False, tty: bool = False):
        """Detached: returns None. Otherwise the hijacked stream of the exec's stdio."""
        body = {"Detach": detach, "Tty": tty}
        if detach:
            self.api.post("/exec/{}/start", exec_id, json=body)
            return None
        return self.api.hijack("POST", "/exec/{}/start", exec_id, json=body)


class System(_Resource):
    def ping(self) -> bool:
        return self.api.ping()

    def version(self) -> dict:
        return self.api.get("/version")

    def info(self) -> dict:
        return self.api.get("/info")

    def df(self) -> dict:
        return self.api.get("/system/df")

    def events(self, since: str | None = None, until: str | None = None, filters: dict | None = None):
        return self.api.stream_json("GET", "/events", params={"since": since, "until": until,
                                                              "filters": _filters(filters)})
