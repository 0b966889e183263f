"""``--user`` resolved against the container's own /etc/passwd and /etc/group, as Docker does."""

from __future__ import annotations

import os

from dockyard import errdefs
from dockyard.runtime.spec import User
from dockyard.util.safepath import open_in_root


def _read_in_root(rootfs: str, path: str) -> list[list[str]]:
    """Colon-separated records of a file inside ``rootfs``; symlinks cannot lead out of it."""
    try:
        fd = open_in_root(rootfs, path, os.O_RDONLY)
    except (FileNotFoundError, NotADirectoryError):
        return []
    with os.fdopen(fd, "r", errors="replace") as f:
        return [line.rstrip("\n").split(":") for line in f if line.strip() and not line.startswith("#")]


def resolve_user(rootfs: str, spec: str, group_add: list[str] | None = None) -> User:
    """``""``, ``name``, ``uid``, ``name:group``, ``uid:gid``; supplementary groups from /etc/group."""
    spec = spec or ""
    user_part, _, group_part = spec.partition(":")
    passwd = _read_in_root(rootfs, "/etc/passwd")
    groups = _read_in_root(rootfs, "/etc/group")

    name, uid, gid = "root", 0, 0
    if user_part:
        match = None
        for p in passwd:
            if len(p) >= 4 and (p[0] == user_part or (user_part.isdigit() and p[2] == user_part)):
                match = p
                break
        if match is not None:
            name, uid, gid = match[0], int(match[2]), int(match[3])
        elif user_part.isdigit():
            name, uid, gid = "", int(user_part), 0
        else:
            raise errdefs.System(f"unable to find user {user_part}: no matching entries in passwd file")
    elif passwd:
        for p in passwd:
            if len(p) >= 4 and p[2] == "0":
                name, gid = p[0], int(p[3])
                break

    if group_part:
        gid = _group_id(groups, group_part)

    # Docker (since 20.10.18, CVE-2022-36109) puts the primary group among the supplementary ones too.
    extra: list[int] = [gid]
    if name and not group_part:  # an explicit group means no groups from /etc/group
        for g in groups:
            if len(g) >= 4 and name in g[3].split(",") and g[2].isdigit():
                gid_n = int(g[2])
                if gid_n not in extra:
                    extra.append(gid_n)
    for g in group_add or []:
        gid_n = _group_id(groups, g)
        if gid_n not in extra:
            extra.append(gid_n)
    return User(uid, gid, extra)


def _group_id(groups: list[list[str]], spec: str) -> int:
    for g in groups:
        if len(g) >= 3 and (g[0] == spec or (spec.isdigit() and g[2] == spec)):
            return int(g[2])
    if spec.isdigit():
        return int(spec)
    raise errdefs.System(f"unable to find group {spec}: no matching entries in group file")
