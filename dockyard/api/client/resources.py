"""Per-resource sub-clients: one method per Engine API endpoint, returning JSON.

Reached as ``api.containers``, ``api.images``, ``api.execs``, ``api.system``
(no mixins: each is a thin object over the ``APIClient`` verbs); ``Volumes(api)``, ``Networks(api)``.
"""

from __future__ import annotations

from . import jsonc as _json


def _filters(filters: dict | None) -> str | None:
    """Docker's filter encoding: {"status": ["exited"]} -> '{"status":{"exited":true}}'."""
    if not filters:
        return None
    out = {}
    for k, v in filters.items():
        vals = v if isinstance(v, (list, tuple, set)) else [v]
        out[k] = {str(x): True for x in vals}
    return _json.dumps(out)


def go_json(value, sort_keys: bool = True) -> str:
    """``json.Marshal`` as Go writes it: compact, ``<``, ``>``, ``&``, U+2028/9 escaped, map keys sorted
    (``sort_keys=False`` for dicts standing for Go structs, whose fields keep their order)."""
    text = _json.dumps(value, sort_keys=sort_keys, ensure_ascii=False)
    for ch, esc in (("<", "\\u003c"), (">", "\\u003e"), ("&", "\\u0026"), ("\u2028", "\\u2028"),
                    ("\u2029", "\\u2029")):
        text = text.replace(ch, esc)
    return text


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

    # -- docker cp: /containers/{id}/archive ----------------------------------
    @staticmethod
    def _path_stat(headers: dict) -> dict:
        import base64

        raw = {k.lower(): v for k, v in headers.items()}.get("x-docker-container-path-stat")
        return _json.loads(base64.b64decode(raw)) if raw else {}

    def stat_path(self, container: str, path: str) -> dict:
        """``HEAD /containers/{id}/archive``: ``{"name", "size", "mode", "mtime", "linkTarget"}``
        (``mode`` in Go's ``os.FileMode`` bits)."""
        return self._path_stat(self.api.head("/containers/{}/archive", container, params={"path": path}))

    def get_archive(self, container: str, path: str):
        """``GET /containers/{id}/archive``: (the response, its tar body unread; the path's stat)."""
        r = self.api.stream("GET", "/containers/{}/archive", container, params={"path": path})
        return r, self._path_stat(dict(r.headers))

    def put_archive(self, container: str, path: str, data, no_overwrite_dir_non_dir: bool = True,
                    copy_uid_gid: bool = False) -> None:
        """``PUT /containers/{id}/archive``: extract the tar ``data`` (bytes, a file object or an
        iterable of bytes) into the directory ``path``; the query as the docker CLI sends it."""
        params = {"path": path, "noOverwriteDirNonDir": "true" if no_overwrite_dir_non_dir else None,
                  "copyUIDGID": "true" if copy_uid_gid else None}
        self.api.put("/containers/{}/archive", container, params=params, data=data)

    def commit(self, container: str, repo: str = "", tag: str = "", comment: str = "", author: str = "",
               changes: list[str] | None = None, pause: bool = True, config: dict | None = None) -> dict:
        """``POST /commit``: an image of the container's filesystem and config; returns ``{"Id": ...}``.

        The request is the docker CLI's: query keys sorted, empty strings sent, ``pause=0`` only to
        turn pausing off, ``repo`` in its familiar form; the body is the JSON ``config`` (``null``).
        """
        params = {"author": author, "changes": list(changes) if changes else None, "comment": comment,
                  "container": container, "pause": None if pause else "0", "repo": repo, "tag": tag}
        # Go's json.Encoder of the (nil) config: "null" and a newline.
        body = (_json.dumps(config) + "\n").encode()
        return self.api.post("/commit", params=params, data=body, headers={"Content-Type": "application/json"})


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

    def build(self, context, tags=(), dockerfile: str = "Dockerfile", buildargs: dict | None = None,
              labels: dict | None = None, target: str = "", nocache: bool = False, pull: bool = False,
              rm: bool = True, forcerm: bool = False, quiet: bool = False, networkmode: str = "default",
              platform: str = "", isolation: str = "", cpusetcpus: str = "", cpusetmems: str = "",
              cpushares: int = 0, cpuquota: int = 0, cpuperiod: int = 0, memory: int = 0, memswap: int = 0,
              cgroupparent: str = "", shmsize: int = 0, ulimits: list[dict] | None = None,
              cachefrom=(), extrahosts=(), securityopt=(), registry_config: dict | None = None):
        """``POST /build`` (the classic builder) with the context tar as body; the response, body unread.

        ``context`` is bytes, a file object or an iterable of bytes (sent chunked).
        The query is the one the docker 20.10 CLI sends: every resource field
        (zeros and empty strings included), ``buildargs``/``labels`` as JSON
        objects (a ``None`` build-arg value is ``null``: "use the Dockerfile's
        default"), ``ulimits`` as a JSON list (``null`` when none), ``rm=1|0``,
        the flags (``q``, ``nocache``, ``pull``, ``forcerm``) only when set,
        ``version=1``, keys in sorted order.
        Read the messages with ``streams.iter_json(response.read1)``.
        """
        params = {
            "buildargs": go_json(buildargs or {}), "cachefrom": go_json(list(cachefrom)),
            "cgroupparent": cgroupparent, "cpuperiod": str(cpuperiod), "cpuquota": str(cpuquota),
            "cpusetcpus": cpusetcpus, "cpusetmems": cpusetmems, "cpushares": str(cpushares),
            "dockerfile": dockerfile, "extrahosts": list(extrahosts) or None,
            "forcerm": "1" if forcerm else None,
            "isolation": isolation if isolation and isolation != "default" else None,
            "labels": go_json(labels or {}), "memory": str(memory), "memswap": str(memswap),
            "networkmode": networkmode, "nocache": "1" if nocache else None,
            "platform": platform.lower() if platform else None, "pull": "1" if pull else None,
            "q": "1" if quiet else None, "rm": "1" if rm else "0", "securityopt": list(securityopt) or None,
            "shmsize": str(shmsize), "t": list(tags) or None, "target": target,
            "ulimits": go_json(ulimits, sort_keys=False) if ulimits else "null", "version": "1",
        }
        import base64

        headers = {"Content-Type": "application/x-tar",
                   "X-Registry-Config": base64.b64encode(go_json(registry_config or {}).encode()).decode()}
        return self.api.stream("POST", "/build", params=params, data=context, headers=headers)

    def save(self, names: list[str]):
        """``GET /images/get?names=...``: the response, its body the tar ``docker save`` writes."""
        return self.api.stream("GET", "/images/get", params={"names": list(names)})

    def load(self, data, quiet: bool = False):
        """``POST /images/load``: the response (a JSON message stream when its Content-Type says so)."""
        return self.api.stream("POST", "/images/load", params={"quiet": "1" if quiet else "0"}, data=data,
                               headers={"Content-Type": "application/x-tar"})


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


class Volumes(_Resource):
    def create(self, name: str = "", driver: str = "local", driver_opts: dict | None = None,
               labels: dict | None = None) -> dict:
        """``POST /volumes/create`` as the docker 20.10 CLI sends it (options and labels always, maybe empty)."""
        body = {"Driver": driver, "DriverOpts": dict(driver_opts or {}), "Labels": dict(labels or {}),
                "Name": name}
        return self.api.post("/volumes/create", json=body)

    def list(self, filters: dict | None = None) -> dict:
        """``{"Volumes": [...], "Warnings": ...}``."""
        return self.api.get("/volumes", params={"filters": _filters(filters)}) or {}

    def inspect(self, name: str) -> dict:
        return self.api.get("/volumes/{}", name)

    def inspect_raw(self, name: str) -> bytes:
        """The daemon's JSON as sent (``docker volume inspect`` shows it re-indented)."""
        return self.api.request("GET", "/volumes/{}", name).read()

    def remove(self, name: str, force: bool = False) -> None:
        self.api.delete("/volumes/{}", name, params={"force": force or None})

    def prune(self, filters: dict | None = None) -> dict:
        """``{"VolumesDeleted": [...], "SpaceReclaimed": n}``."""
        return self.api.post("/volumes/prune", params={"filters": _filters(filters)}) or {}


def _go_body(value) -> dict:
    """Request arguments for a JSON body as Go's json.Encoder writes it (fields in the order given, a newline)."""
    return {"data": (go_json(value, sort_keys=False) + "\n").encode(),
            "headers": {"Content-Type": "application/json"}}


def _sorted_map(m: dict | None) -> dict:
    return dict(sorted((m or {}).items()))


class Networks(_Resource):
    """``/networks``: the requests the docker 20.10 CLI makes, bodies byte for byte as it encodes them."""

    def create(self, name: str, driver: str = "bridge", options: dict | None = None, ipam_driver: str = "default",
               ipam_options: dict | None = None, ipam_config: list[dict] | None = None, internal: bool = False,
               enable_ipv6: bool = False, attachable: bool = False, ingress: bool = False, scope: str = "",
               config_only: bool = False, config_from: str = "", labels: dict | None = None,
               check_duplicate: bool = True) -> dict:
        """``POST /networks/create``; returns ``{"Id": ..., "Warning": ...}``.

        ``ipam_config`` items are ``{"Subnet", "IPRange", "Gateway", "AuxiliaryAddresses"}``, the
        empty ones left out (as Go's ``omitempty`` does).
        """
        config = []
        for c in ipam_config or []:
            item = {k: c[k] for k in ("Subnet", "IPRange", "Gateway") if c.get(k)}
            if c.get("AuxiliaryAddresses"):
                item["AuxiliaryAddresses"] = _sorted_map(c["AuxiliaryAddresses"])
            config.append(item)
        body = {"CheckDuplicate": check_duplicate, "Driver": driver, "Scope": scope, "EnableIPv6": enable_ipv6,
                "IPAM": {"Driver": ipam_driver, "Options": _sorted_map(ipam_options), "Config": config},
                "Internal": internal, "Attachable": attachable, "Ingress": ingress, "ConfigOnly": config_only,
                "ConfigFrom": {"Network": config_from} if config_from else None,
                "Options": _sorted_map(options), "Labels": _sorted_map(labels), "Name": name}
        return self.api.post("/networks/create", **_go_body(body)) or {}

    def list(self, filters: dict | None = None) -> list:
        return self.api.get("/networks", params={"filters": _filters(filters)}) or []

    def inspect(self, network: str, verbose: bool = False, scope: str = "") -> dict:
        return _json.loads(self.inspect_raw(network, verbose, scope))

    def inspect_raw(self, network: str, verbose: bool = False, scope: str = "") -> bytes:
        """The daemon's JSON as sent (``docker network inspect`` shows it re-indented)."""
        params = {"verbose": "true" if verbose else None, "scope": scope or None}
        return self.api.request("GET", "/networks/{}", network, params=params).read()

    def remove(self, network: str) -> None:
        self.api.delete("/networks/{}", network)

    def prune(self, filters: dict | None = None) -> dict:
        """``{"NetworksDeleted": [...]}``."""
        return self.api.post("/networks/prune", params={"filters": _filters(filters)},
                             headers={"Content-Type": "text/plain"}) or {}

    def connect(self, network: str, container: str, aliases: list[str] | None = None,
                links: list[str] | None = None, ipv4_address: str = "", ipv6_address: str = "",
                link_local_ips: list[str] | None = None, driver_opts: dict | None = None) -> None:
        """``POST /networks/{id}/connect`` with the endpoint settings the docker 20.10 CLI sends
        (``IPAMConfig`` always an object, ``Aliases`` a list, ``Links`` null when none)."""
        ipam = {}
        if ipv4_address:
            ipam["IPv4Address"] = ipv4_address
        if ipv6_address:
            ipam["IPv6Address"] = ipv6_address
        if link_local_ips:
            ipam["LinkLocalIPs"] = list(link_local_ips)
        endpoint = {"IPAMConfig": ipam, "Links": list(links) if links else None, "Aliases": list(aliases or []),
                    "NetworkID": "", "EndpointID": "", "Gateway": "", "IPAddress": "", "IPPrefixLen": 0,
                    "IPv6Gateway": "", "GlobalIPv6Address": "", "GlobalIPv6PrefixLen": 0, "MacAddress": "",
                    "DriverOpts": _sorted_map(driver_opts)}
        self.api.post("/networks/{}/connect", network,
                      **_go_body({"Container": container, "EndpointConfig": endpoint}))

    def disconnect(self, network: str, container: str, force: bool = False) -> None:
        self.api.post("/networks/{}/disconnect", network, **_go_body({"Container": container, "Force": force}))


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
