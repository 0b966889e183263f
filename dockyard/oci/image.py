"""Image configuration documents, in the shape Docker writes them (OCI config + Docker's extras)."""

from __future__ import annotations

import json
import platform

from dockyard.oci import digest as dg

MEDIA_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
MEDIA_INDEX = "application/vnd.oci.image.index.v1+json"
MEDIA_CONFIG = "application/vnd.oci.image.config.v1+json"
MEDIA_LAYER = "application/vnd.oci.image.layer.v1.tar"
MEDIA_LAYER_GZIP = "application/vnd.oci.image.layer.v1.tar+gzip"
DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json"
DOCKER_LIST = "application/vnd.docker.distribution.manifest.list.v2+json"
DOCKER_CONFIG = "application/vnd.docker.container.image.v1+json"
DOCKER_LAYER_GZIP = "application/vnd.docker.image.rootfs.diff.tar.gzip"


def go_arch() -> str:
    m = platform.machine()
    return {"x86_64": "amd64", "aarch64": "arm64", "armv7l": "arm", "i686": "386"}.get(m, m)


def empty_container_config() -> dict:
    """Docker's ``Config`` object with every field at its zero value, in Docker's key order."""
    return {
        "Hostname": "", "Domainname": "", "User": "", "AttachStdin": False, "AttachStdout": False,
        "AttachStderr": False, "Tty": False, "OpenStdin": False, "StdinOnce": False, "Env": None,
        "Cmd": None, "Image": "", "Volumes": None, "WorkingDir": "", "Entrypoint": None,
        "OnBuild": None, "Labels": None,
    }


def canonical_json(obj) -> bytes:
    """How configs are serialized for storage: compact, key order as built (Docker's Go structs)."""
    return json.dumps(obj, separators=(",", ":"), ensure_ascii=False).encode()


def image_id(config_bytes: bytes) -> str:
    return dg.sha256_bytes(config_bytes)


def manifest_for(config_digest: str, config_size: int, layers: list[tuple[str, int, str]]) -> dict:
    """An OCI manifest; ``layers`` holds (digest, size, mediaType)."""
    return {
        "schemaVersion": 2,
        "mediaType": MEDIA_MANIFEST,
        "config": {"mediaType": MEDIA_CONFIG, "digest": config_digest, "size": config_size},
        "layers": [{"mediaType": mt, "digest": d, "size": s} for d, s, mt in layers],
    }
