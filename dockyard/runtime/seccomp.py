"""Seccomp profiles in Docker's format turned into the OCI spec's ``linux.seccomp``.

The default profile is Docker's own (vendored in ``profiles/seccomp-default.json``). A Docker
profile is a superset of the OCI one: each syscall rule may carry ``includes``/``excludes``
conditions on the architecture, the container's bounding capabilities and the kernel version,
and ``archMap`` names sub-architectures. Docker resolves those when it builds the spec
(moby ``profiles/seccomp/seccomp_linux.go`` ``setupSeccomp``); so do we, with the same rules, so a
container given CAP_SYS_ADMIN may ``mount`` and one without it may not.
"""

from __future__ import annotations

import ctypes
import errno
import functools
import json
import os
import platform

from dockyard import errdefs

DEFAULT_PROFILE_PATH = os.path.join(os.path.dirname(__file__), "profiles", "seccomp-default.json")

# Go's GOARCH names as libseccomp spells them (what profiles use in includes/excludes.arches).
_NATIVE_ARCH = {"x86_64": "amd64", "aarch64": "arm64", "i686": "x86", "i386": "x86", "armv7l": "arm",
                "ppc64le": "ppc64le", "s390x": "s390x", "mips64": "mips64"}.get(platform.machine(), platform.machine())
_SECCOMP_ARCH = {"x86": "SCMP_ARCH_X86", "amd64": "SCMP_ARCH_X86_64", "arm": "SCMP_ARCH_ARM",
                 "arm64": "SCMP_ARCH_AARCH64", "mips64": "SCMP_ARCH_MIPS64", "ppc64le": "SCMP_ARCH_PPC64LE",
                 "s390x": "SCMP_ARCH_S390X"}


@functools.cache
def _default_profile_text() -> str:
    with open(DEFAULT_PROFILE_PATH) as f:
        return f.read()


# x32 syscalls are x86_64 syscall numbers with this bit set (and the same audit arch).
_X32_SYSCALL_BIT = 0x40000000
_X32_GETPID = _X32_SYSCALL_BIT | 39


@functools.cache
def _kernel_runs_x32() -> bool:
    """Whether this kernel serves the x32 ABI (CONFIG_X86_X32_ABI; off in most distribution kernels).

    Without it every x32 syscall fails with ENOSYS before any filter matters, so an x32 program cannot
    run with or without ``SCMP_ARCH_X32`` in the filter -- while that arch costs runc 2-4 ms of
    libseccomp work on every container start (measured here: bench/run_rm.py, runc 1.1.5)."""
    if _NATIVE_ARCH != "amd64":
        return False
    libc = ctypes.CDLL(None, use_errno=True)
    return not (libc.syscall(_X32_GETPID) == -1 and ctypes.get_errno() == errno.ENOSYS)


def _kernel() -> tuple[int, int]:
    release = os.uname().release
    parts = release.split(".")
    try:
        return int(parts[0]), int("".join(ch for ch in parts[1] if ch.isdigit()) or 0)
    except (IndexError, ValueError):
        return 0, 0


def _kernel_at_least(spec: str) -> bool:
    try:
        want = tuple(int(p) for p in spec.split(".")[:2])
    except ValueError:
        raise errdefs.InvalidArgument(f"failed to parse kernel version {spec!r}") from None
    return _kernel() >= want


def load_profile(body: str, bounding_caps: list[str] | tuple[str, ...]) -> dict | None:
    """The spec's ``linux.seccomp`` for a Docker profile document, or None for an empty profile."""
    try:
        config = json.loads(body)
    except ValueError as e:
        raise errdefs.InvalidArgument(f"Decoding seccomp profile failed: {e}") from None
    if not isinstance(config, dict):
        raise errdefs.InvalidArgument("Decoding seccomp profile failed: not a JSON object")
    return _setup(config, tuple(bounding_caps))


def default_profile(bounding_caps: list[str] | tuple[str, ...]) -> dict:
    """Docker's default profile for a container with these bounding capabilities (cached per set)."""
    return _default_for(frozenset(bounding_caps))


@functools.lru_cache(maxsize=64)
def _default_for(caps: frozenset[str]) -> dict:
    return _setup(json.loads(_default_profile_text()), tuple(caps))  # type: ignore[return-value]


def _setup(config: dict, caps: tuple[str, ...]) -> dict | None:
    if not config.get("defaultAction") and not config.get("syscalls"):
        return None  # Docker: no default action and no rules means seccomp off
    if config.get("architectures") and config.get("archMap"):
        raise errdefs.InvalidArgument("'architectures' and 'archMap' were specified in the seccomp profile, "
                                      "use either 'architectures' or 'archMap'")
    out: dict = {"defaultAction": config["defaultAction"]}
    if config.get("defaultErrnoRet") is not None:
        out["defaultErrnoRet"] = config["defaultErrnoRet"]
    arches = list(config.get("architectures") or [])
    native = _SECCOMP_ARCH.get(_NATIVE_ARCH)
    for a in config.get("archMap") or []:
        if a.get("architecture") == native:
            subs = [s for s in a.get("subArchitectures") or [] if s != "SCMP_ARCH_X32" or _kernel_runs_x32()]
            arches += [a["architecture"], *subs]
            break
    if arches:
        out["architectures"] = arches
    for key in ("listenerPath", "listenerMetadata", "flags"):
        if config.get(key):
            out[key] = config[key]
    capset = set(caps)
    syscalls = []
    for call in config.get("syscalls") or []:
        exc = call.get("excludes") or {}
        inc = call.get("includes") or {}
        if _NATIVE_ARCH in (exc.get("arches") or []):
            continue
        if any(c in capset for c in exc.get("caps") or []):
            continue
        if exc.get("minKernel") and _kernel_at_least(exc["minKernel"]):
            continue
        if inc.get("arches") and _NATIVE_ARCH not in inc["arches"]:
            continue
        if any(c not in capset for c in inc.get("caps") or []):
            continue
        if inc.get("minKernel") and not _kernel_at_least(inc["minKernel"]):
            continue
        if call.get("name") and call.get("names"):
            raise errdefs.InvalidArgument("'name' and 'names' were specified in the seccomp profile, "
                                          "use either 'name' or 'names'")
        rule: dict = {"names": [call["name"]] if call.get("name") else list(call.get("names") or []),
                      "action": call["action"]}
        if call.get("errnoRet") is not None:
            rule["errnoRet"] = call["errnoRet"]
        if call.get("args"):
            rule["args"] = call["args"]
        syscalls.append(rule)
    if syscalls:
        out["syscalls"] = syscalls
    return out
