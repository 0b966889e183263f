"""nftables transactions: libnftables through ctypes, the ``nft`` command as a fallback.

Every call hands nftables a whole script, which the kernel applies as one transaction: all
of it or nothing. libnftables (``libnftables.so.1``, Debian's ``libnftables1``, which the
``nftables`` package depends on) runs one in ~0.15 ms; ``nft -f -`` costs a process (~3 ms,
more from a large daemon). Debian's ``python3-nftables`` is the same ctypes wrapper but lives
in the system's site-packages, out of reach of a venv, so this is the few lines it needs.

A context is bound to the network namespace it was created in (its netlink socket is opened
then), so an ``Nft(netns=path)`` creates its context in a namespace thread once and then works
from any thread.
"""

from __future__ import annotations

import ctypes
import shutil
import subprocess
import threading

from dockyard import errdefs
from dockyard.network import netns as _netns

NFT_CTX_DEFAULT = 0


def _load() -> ctypes.CDLL | None:
    try:
        lib = ctypes.CDLL("libnftables.so.1")
    except OSError:
        return None
    lib.nft_ctx_new.restype = ctypes.c_void_p
    lib.nft_ctx_new.argtypes = [ctypes.c_uint32]
    lib.nft_ctx_free.argtypes = [ctypes.c_void_p]
    lib.nft_run_cmd_from_buffer.argtypes = [ctypes.c_void_p, ctypes.c_char_p]
    lib.nft_ctx_buffer_output.argtypes = [ctypes.c_void_p]
    lib.nft_ctx_buffer_error.argtypes = [ctypes.c_void_p]
    lib.nft_ctx_get_output_buffer.argtypes = [ctypes.c_void_p]
    lib.nft_ctx_get_output_buffer.restype = ctypes.c_char_p
    lib.nft_ctx_get_error_buffer.argtypes = [ctypes.c_void_p]
    lib.nft_ctx_get_error_buffer.restype = ctypes.c_char_p
    return lib


_lib = _load()


class NftError(errdefs.System):
    """nftables refused a script; ``message`` holds its own diagnostics."""


class Nft:
    """Runs nftables scripts in one network namespace (``None``: the caller's)."""

    def __init__(self, netns: str | None = None, *, use_library: bool = True) -> None:
        self.netns = netns
        self._lock = threading.Lock()
        self._ctx: int | None = None
        self._use_library = use_library and _lib is not None
        if not self._use_library and shutil.which("nft") is None:
            raise errdefs.Unavailable("nftables is not installed (apt-get install nftables)")

    @property
    def backend(self) -> str:
        return "libnftables" if self._use_library else "nft"

    def run(self, script: str) -> str:
        """Apply ``script`` as one transaction and return what nft printed (for ``list`` commands)."""
        if not self._use_library:
            return _netns.run_in(self.netns, self._run_cli, script)
        with self._lock:
            if self._ctx is None:
                self._ctx = _netns.run_in(self.netns, _lib.nft_ctx_new, NFT_CTX_DEFAULT)
                if not self._ctx:
                    raise errdefs.System("nft_ctx_new failed")
                _lib.nft_ctx_buffer_output(self._ctx)
                _lib.nft_ctx_buffer_error(self._ctx)
            rc = _lib.nft_run_cmd_from_buffer(self._ctx, script.encode())
            out = (_lib.nft_ctx_get_output_buffer(self._ctx) or b"").decode()
            if rc != 0:
                err = (_lib.nft_ctx_get_error_buffer(self._ctx) or b"").decode()
                raise NftError(f"nftables: {err.strip() or 'command failed'}")
            return out

    @staticmethod
    def _run_cli(script: str) -> str:
        p = subprocess.run(["nft", "-f", "-"], input=script, capture_output=True, text=True)
        if p.returncode != 0:
            raise NftError(f"nftables: {p.stderr.strip() or 'command failed'}")
        return p.stdout

    def close(self) -> None:
        with self._lock:
            if self._ctx is not None:
                _lib.nft_ctx_free(self._ctx)
                self._ctx = None

    def __enter__(self) -> "Nft":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def quote(name: str) -> str:
    """An interface or other name as an nft string literal."""
    if '"' in name or "\\" in name or "\n" in name:
        raise errdefs.InvalidArgument(f"invalid name for nftables: {name!r}")
    return f'"{name}"'
