"""dockyard.util.safepath: paths resolved inside a root, by openat2 and by the fallback walk."""

from __future__ import annotations

import errno
import os
from pathlib import Path

import pytest

from dockyard.util import safepath


@pytest.fixture(params=["openat2", "walk"])
def resolver(request, monkeypatch) -> str:
    """Run each test once through openat2(RESOLVE_IN_ROOT) and once through the userspace walk."""
    if request.param == "openat2":
        monkeypatch.setattr(safepath, "_openat2_state", None)
        assert safepath.openat2_available(), "this kernel should have openat2 (Linux 5.6+)"
    else:
        monkeypatch.setattr(safepath, "_openat2_state", False)
    return request.param


@pytest.fixture
def tree(tmp_path: Path) -> tuple[Path, Path]:
    """A root with symlinks of every kind, and a host directory beside it that must stay untouched."""
    root = tmp_path / "root"
    host = tmp_path / "host"
    (root / "d" / "e").mkdir(parents=True)
    host.mkdir()
    (host / "secret").write_text("host\n")
    (root / "abs").symlink_to("/d")                    # absolute, inside
    (root / "up").symlink_to("../../../../..")         # climbs past the root
    (root / "tohost").symlink_to(str(host))            # names the host dir
    (root / "d" / "rel").symlink_to("../d/e")          # relative, inside
    (root / "loop1").symlink_to("loop2")
    (root / "loop2").symlink_to("loop1")
    (root / "dangling").symlink_to("/made/by/create")
    (root / "made" / "by").mkdir(parents=True)
    (root / "file").write_text("x")
    return root, host


def _where(fd: int) -> str:
    try:
        return os.readlink(f"/proc/self/fd/{fd}")
    finally:
        os.close(fd)


def test_absolute_symlink_resolves_inside_root(resolver, tree):
    root, _ = tree
    assert _where(safepath.open_dir_in_root(str(root), "abs")) == str(root / "d")
    assert _where(safepath.open_dir_in_root(str(root), "d/rel")) == str(root / "d" / "e")


def test_dotdot_and_climbing_symlinks_stop_at_root(resolver, tree):
    root, _ = tree
    assert _where(safepath.open_dir_in_root(str(root), "../../..")) == str(root)
    assert _where(safepath.open_dir_in_root(str(root), "up")) == str(root)
    assert _where(safepath.open_dir_in_root(str(root), "up/d/../up/abs/..")) == str(root)
    fd = safepath.open_in_root(str(root), "up/../../created", os.O_WRONLY | os.O_CREAT, 0o600)
    os.close(fd)
    assert (root / "created").is_file()


def test_symlink_to_host_path_never_reaches_host(resolver, tree):
    root, host = tree
    with pytest.raises(FileNotFoundError):
        safepath.open_in_root(str(root), "tohost/secret", os.O_RDONLY)
    with pytest.raises(FileNotFoundError):  # the host path does not exist inside the root
        safepath.open_in_root(str(root), "tohost/new", os.O_WRONLY | os.O_CREAT)
    assert sorted(p.name for p in host.iterdir()) == ["secret"]
    assert (host / "secret").read_text() == "host\n"


def test_create_through_dangling_symlink_lands_inside(resolver, tree):
    root, _ = tree
    os.close(safepath.open_in_root(str(root), "dangling", os.O_WRONLY | os.O_CREAT, 0o600))
    assert (root / "made" / "by" / "create").is_file()
    assert not Path("/made/by/create").exists()


def test_nofollow_and_excl_do_not_follow_the_last_symlink(resolver, tree):
    root, _ = tree
    with pytest.raises(OSError) as e:
        safepath.open_in_root(str(root), "abs", os.O_RDONLY | os.O_NOFOLLOW)
    assert e.value.errno == errno.ELOOP
    with pytest.raises(FileExistsError):
        safepath.open_in_root(str(root), "dangling", os.O_WRONLY | os.O_CREAT | os.O_EXCL)
    fd = safepath.open_in_root(str(root), "abs", os.O_PATH | os.O_NOFOLLOW)
    assert _where(fd) == str(root / "abs")


def test_loops_and_non_directories(resolver, tree):
    root, _ = tree
    with pytest.raises(OSError) as e:
        safepath.open_in_root(str(root), "loop1/x", os.O_RDONLY)
    assert e.value.errno == errno.ELOOP
    with pytest.raises(NotADirectoryError):
        safepath.open_in_root(str(root), "file/x", os.O_RDONLY)
    with pytest.raises(NotADirectoryError):
        safepath.open_dir_in_root(str(root), "file")


def test_root_given_as_fd(resolver, tree):
    root, _ = tree
    rfd = os.open(root, os.O_PATH | os.O_DIRECTORY)
    try:
        assert _where(safepath.open_dir_in_root(rfd, "/abs")) == str(root / "d")
        assert _where(safepath.open_dir_in_root(rfd, "")) == str(root)
    finally:
        os.close(rfd)


def test_mkdir_all_in_root(resolver, tree):
    root, host = tree
    assert _where(safepath.mkdir_all_in_root(str(root), "abs/new/deeper", 0o750)) == str(root / "d" / "new" / "deeper")
    assert (root / "d" / "new").stat().st_mode & 0o777 == 0o750 & ~_umask()
    # a symlink naming a host path dangles inside the root: refused (as mkdir -p does), host untouched
    with pytest.raises(FileNotFoundError):
        safepath.mkdir_all_in_root(str(root), "tohost/x")
    assert sorted(p.name for p in host.iterdir()) == ["secret"]
    (root / str(host).lstrip("/")).mkdir(parents=True)
    assert _where(safepath.mkdir_all_in_root(str(root), "tohost/x")) == str(root / str(host).lstrip("/") / "x")
    assert sorted(p.name for p in host.iterdir()) == ["secret"]
    assert _where(safepath.mkdir_all_in_root(str(root), "up/up/top")) == str(root / "top")
    with pytest.raises(NotADirectoryError):
        safepath.mkdir_all_in_root(str(root), "file/x")
    with pytest.raises(OSError):
        safepath.mkdir_all_in_root(str(root), "loop1/x")


def test_walk_is_chosen_when_openat2_is_missing(monkeypatch, tree):
    root, _ = tree

    def enosys(*a, **k):
        raise OSError(errno.ENOSYS, "Function not implemented")

    monkeypatch.setattr(safepath, "_openat2_state", None)
    monkeypatch.setattr(safepath, "_openat2", enosys)
    assert not safepath.openat2_available()
    assert _where(safepath.open_dir_in_root(str(root), "abs")) == str(root / "d")


def _umask() -> int:
    old = os.umask(0o22)
    os.umask(old)
    return old
