"""What a container mounts: ``-v``, ``--mount``, ``--tmpfs``, ``--volumes-from`` and the image's VOLUMEs,
parsed and checked as Docker does, into one list of mount points fixed at create.

Pure: no I/O beyond checking that a bind source exists. The container service turns the
mount points into volumes (created, mounted, filled) and OCI spec entries.
"""

from __future__ import annotations

import os
import posixpath
import re
from dataclasses import asdict, dataclass, field

from dockyard import errdefs

_VOLUME_NAME = re.compile(r"^[a-zA-Z0-9][a-zA-Z0-9_.-]+$")
_PROPAGATIONS = {"shared", "rshared", "slave", "rslave", "private", "rprivate"}
_MODES = {"ro", "rw", "z", "Z", "nocopy", "consistent", "cached", "delegated"}
DEFAULT_PROPAGATION = "rprivate"


@dataclass
class MountPoint:
    """One mount of a container, in the terms of Docker's ``types.MountPoint`` (what inspect shows)."""

    type: str                  # bind | volume | tmpfs
    destination: str
    source: str = ""           # host path (bind); filled for volumes when they are created
    name: str = ""             # volume name
    driver: str = ""
    mode: str = ""
    rw: bool = True
    propagation: str = ""
    copy_data: bool = True     # fill an empty volume from the image
    anonymous: bool = False
    tmpfs_options: list[str] = field(default_factory=list)
    volume_options: dict = field(default_factory=dict)   # driver options and labels for a new volume
    listed: bool = True        # --tmpfs mounts are not listed in inspect's Mounts (Docker's rule)

    def to_json(self) -> dict:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict) -> "MountPoint":
        return cls(**data)

    def inspect(self) -> dict:
        out = {"Type": self.type}
        if self.type == "volume":
            out["Name"] = self.name
        out.update({"Source": self.source, "Destination": self.destination})
        if self.type == "volume":
            out["Driver"] = self.driver or "local"
        out.update({"Mode": self.mode, "RW": self.rw, "Propagation": self.propagation})
        return out


def _bad(spec: str, kind: str, why: str) -> errdefs.InvalidArgument:
    return errdefs.InvalidArgument(f"invalid volume specification: '{spec}': invalid mount config for type "
                                   f'"{kind}": {why}')


def _check_destination(dest: str, spec: str, kind: str) -> str:
    if not dest:
        raise _bad(spec, kind, "field Target must not be empty")
    if not dest.startswith("/"):
        raise _bad(spec, kind, f"invalid mount path: '{dest}' mount path must be absolute")
    clean = posixpath.normpath(dest)
    if clean == "/":
        raise _bad(spec, kind, "invalid specification: destination can't be '/'")
    return clean


def check_volume_name(name: str) -> None:
    if not _VOLUME_NAME.match(name):
        raise errdefs.InvalidArgument(
            f'create {name}: "{name}" includes invalid characters for a local volume name, only '
            f'"[a-zA-Z0-9][a-zA-Z0-9_.-]" are allowed. If you intended to pass a host directory, use absolute path')


def _split_mode(mode: str, spec: str) -> tuple[bool, str, bool]:
    """(rw, propagation, copy_data) from a ``-v`` mode string like ``ro,z,rshared``."""
    rw, propagation, copy = True, "", True
    if not mode:
        return rw, propagation, copy
    seen_rw = False
    for part in mode.split(","):
        if part in ("ro", "rw"):
            if seen_rw:
                raise errdefs.InvalidArgument(f"invalid mode: {mode}")
            seen_rw, rw = True, part == "rw"
        elif part in _PROPAGATIONS:
            if propagation:
                raise errdefs.InvalidArgument(f"invalid mode: {mode}")
            propagation = part
        elif part == "nocopy":
            copy = False
        elif part not in _MODES:
            raise errdefs.InvalidArgument(f"invalid mode: {mode}")
    return rw, propagation, copy


def _valid_mode(text: str) -> bool:
    try:
        _split_mode(text, text)
        return True
    except errdefs.InvalidArgument:
        return False


def parse_bind(spec: str) -> MountPoint:
    """One ``-v`` / ``Binds`` entry: ``/dst``, ``name:/dst``, ``/host:/dst``, each with ``:mode``."""
    parts = spec.split(":")
    if len(parts) == 1:
        src, dst, mode = "", parts[0], ""
    elif len(parts) == 2:
        if _valid_mode(parts[1]) and parts[1] and not parts[1].startswith("/"):
            src, dst, mode = "", parts[0], parts[1]
        else:
            src, dst, mode = parts[0], parts[1], ""
    elif len(parts) == 3:
        src, dst, mode = parts
    else:
        raise errdefs.InvalidArgument(f"invalid volume specification: '{spec}'")
    kind = "bind" if src.startswith("/") else "volume"
    if not src and not dst:
        raise errdefs.InvalidArgument(f"invalid volume specification: '{spec}'")
    dst = _check_destination(dst, spec, kind)
    rw, propagation, copy = _split_mode(mode, spec)
    if kind == "bind":
        if not copy:
            raise errdefs.InvalidArgument(f"invalid mode: {mode}")
        return MountPoint("bind", dst, source=posixpath.normpath(src), mode=mode, rw=rw,
                          propagation=propagation or DEFAULT_PROPAGATION)
    if propagation:
        raise errdefs.InvalidArgument(f"invalid mode: {mode}")
    if src:
        check_volume_name(src)
        return MountPoint("volume", dst, name=src, driver="local", mode=mode or "z", rw=rw, copy_data=copy)
    return MountPoint("volume", dst, driver="local", mode=mode, rw=rw, copy_data=copy, anonymous=True)


def parse_mount(m: dict) -> MountPoint:
    """One ``--mount`` / ``HostConfig.Mounts`` entry."""
    kind = m.get("Type") or ""
    target = m.get("Target") or ""
    spec = f"{kind}:{target}"
    if kind not in ("bind", "volume", "tmpfs"):
        raise errdefs.InvalidArgument(f'invalid mount config for type "{kind}": mount type unknown')

    def bad(why: str) -> errdefs.InvalidArgument:
        return errdefs.InvalidArgument(f'invalid mount config for type "{kind}": {why}')

    if not target:
        raise bad("field Target must not be empty")
    if not target.startswith("/"):
        raise bad(f"invalid mount path: '{target}' mount path must be absolute")
    dst = posixpath.normpath(target)
    if dst == "/":
        raise bad("invalid specification: destination can't be '/'")
    ro = bool(m.get("ReadOnly"))
    src = m.get("Source") or ""
    if kind == "bind":
        if m.get("VolumeOptions"):
            raise bad("field VolumeOptions must not be specified")
        if not src:
            raise bad("field Source must not be empty")
        if not src.startswith("/"):
            raise bad(f"invalid mount path: '{src}' mount path must be absolute")
        if not os.path.exists(src):
            raise bad(f"bind source path does not exist: {src}")
        prop = ((m.get("BindOptions") or {}).get("Propagation") or DEFAULT_PROPAGATION)
        if prop not in _PROPAGATIONS:
            raise bad(f"invalid propagation mode: {prop}")
        return MountPoint("bind", dst, source=posixpath.normpath(src), rw=not ro, propagation=prop,
                          mode="ro" if ro else "")
    if kind == "tmpfs":
        if src:
            raise bad("field Source must not be specified")
        opts = m.get("TmpfsOptions") or {}
        tmpfs = []
        if opts.get("SizeBytes"):
            tmpfs.append(f"size={int(opts['SizeBytes'])}")
        if opts.get("Mode"):
            tmpfs.append(f"mode={int(opts['Mode']):o}")
        if ro:
            tmpfs.append("ro")
        return MountPoint("tmpfs", dst, rw=not ro, tmpfs_options=tmpfs)
    vo = m.get("VolumeOptions") or {}
    if m.get("BindOptions"):
        raise bad("field BindOptions must not be specified")
    driver = ((vo.get("DriverConfig") or {}).get("Name") or "local")
    options = {"driver_opts": (vo.get("DriverConfig") or {}).get("Options") or {}, "labels": vo.get("Labels") or {}}
    if src:
        check_volume_name(src)
    return MountPoint("volume", dst, name=src, driver=driver, mode="z", rw=not ro,
                      copy_data=not vo.get("NoCopy"), anonymous=not src, volume_options=options)


def parse_tmpfs(dest: str, options: str) -> MountPoint:
    """One ``--tmpfs /dst:opts`` entry (``HostConfig.Tmpfs``)."""
    dst = _check_destination(dest, f"{dest}:{options}", "tmpfs")
    opts = [o for o in (options or "").split(",") if o]
    return MountPoint("tmpfs", dst, rw="ro" not in opts, tmpfs_options=opts, listed=False)


def plan(host_config: dict, config_volumes: dict | None, volumes_from: list[list[MountPoint]]) -> list[MountPoint]:
    """Every mount point of a new container, in Docker's precedence.

    ``volumes_from`` holds, for each ``--volumes-from`` entry in order, the mount points of that
    container with the entry's ``:ro``/``:rw`` already applied. Explicit mounts win over inherited ones,
    which win over the image's VOLUMEs (which become anonymous volumes)."""
    mounts: dict[str, MountPoint] = {}

    def add(mp: MountPoint, explicit: bool) -> None:
        if mp.destination in mounts:
            if explicit:
                raise errdefs.InvalidArgument(f"Duplicate mount point: {mp.destination}")
            return
        mounts[mp.destination] = mp

    for spec in host_config.get("Binds") or []:
        add(parse_bind(spec), True)
    for m in host_config.get("Mounts") or []:
        add(parse_mount(m), True)
    for dst, opts in (host_config.get("Tmpfs") or {}).items():
        add(parse_tmpfs(dst, opts), True)
    for inherited in volumes_from:
        for mp in inherited:
            if mp.destination not in mounts:
                mounts[mp.destination] = mp
    for dst in (config_volumes or {}):
        # an image's VOLUME is taken as Docker takes it: cleaned, relative to the root, never refused
        clean = posixpath.normpath("/" + dst.lstrip("/"))
        if clean in mounts or clean == "/":
            continue
        mounts[clean] = MountPoint("volume", clean, driver="local", anonymous=True)
    return list(mounts.values())


def parse_volumes_from(spec: str) -> tuple[str, str]:
    """``ctr``, ``ctr:ro``, ``ctr:rw`` → (container, mode)."""
    name, _, mode = spec.partition(":")
    if mode and mode not in ("ro", "rw"):
        raise errdefs.InvalidArgument(f"invalid mode for volumes-from: {mode}")
    if not name:
        raise errdefs.InvalidArgument(f"malformed volumes-from specification: {spec}")
    return name, mode


def inherit(mounts: list[MountPoint], mode: str) -> list[MountPoint]:
    """A container's mount points as ``--volumes-from`` passes them on (tmpfs mounts are not shared)."""
    out = []
    for mp in mounts:
        if mp.type == "tmpfs":
            continue
        copy = MountPoint(**asdict(mp))
        if mode == "ro":
            copy.rw = False
        elif mode == "rw":
            copy.rw = True
        copy.copy_data = False
        out.append(copy)
    return out


def sorted_for_mounting(mounts: list[MountPoint]) -> list[MountPoint]:
    """Parents before children (Docker sorts by the number of path components)."""
    return sorted(mounts, key=lambda m: len([p for p in m.destination.split("/") if p]))
