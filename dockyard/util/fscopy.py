"""Copy a directory tree exactly: owners, modes, times, xattrs, symlinks, devices; never following a link.

Used to fill a new volume from the image's content at its mount point ("copy-up"), as Docker does.
Both sides are directory file descriptors, so a symlink in the source cannot lead the copy elsewhere.
"""

from __future__ import annotations

import errno
import os
import stat


def is_empty_dir(fd: int) -> bool:
    return not os.listdir(fd)


def copy_tree(src_fd: int, dst_fd: int) -> None:
    """Copy the contents of directory ``src_fd`` into directory ``dst_fd``, then its attributes."""
    for name in os.listdir(src_fd):
        st = os.stat(name, dir_fd=src_fd, follow_symlinks=False)
        mode = st.st_mode
        if stat.S_ISDIR(mode):
            try:
                os.mkdir(name, 0o700, dir_fd=dst_fd)
            except FileExistsError:
                pass
            s = os.open(name, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC, dir_fd=src_fd)
            d = os.open(name, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC, dir_fd=dst_fd)
            try:
                copy_tree(s, d)
            finally:
                os.close(s)
                os.close(d)
            continue
        if stat.S_ISREG(mode):
            s = os.open(name, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC, dir_fd=src_fd)
            try:
                d = os.open(name, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600,
                            dir_fd=dst_fd)
                try:
                    _copy_data(s, d, st.st_size)
                    _copy_xattrs(s, d)
                    os.fchown(d, st.st_uid, st.st_gid)
                    os.fchmod(d, stat.S_IMODE(mode))
                    os.utime(d, ns=(st.st_atime_ns, st.st_mtime_ns))
                finally:
                    os.close(d)
            finally:
                os.close(s)
            continue
        if stat.S_ISLNK(mode):
            os.symlink(os.readlink(name, dir_fd=src_fd), name, dir_fd=dst_fd)
        elif stat.S_ISCHR(mode) or stat.S_ISBLK(mode) or stat.S_ISFIFO(mode):
            os.mknod(name, mode, st.st_rdev, dir_fd=dst_fd)
        else:
            continue  # sockets are not copied
        os.chown(name, st.st_uid, st.st_gid, dir_fd=dst_fd, follow_symlinks=False)
        if not stat.S_ISLNK(mode):
            os.chmod(name, stat.S_IMODE(mode), dir_fd=dst_fd)
        os.utime(name, ns=(st.st_atime_ns, st.st_mtime_ns), dir_fd=dst_fd, follow_symlinks=False)
    st = os.fstat(src_fd)
    _copy_xattrs(src_fd, dst_fd)
    os.fchown(dst_fd, st.st_uid, st.st_gid)
    os.fchmod(dst_fd, stat.S_IMODE(st.st_mode))
    os.utime(dst_fd, ns=(st.st_atime_ns, st.st_mtime_ns))


def _copy_data(src: int, dst: int, size: int) -> None:
    done = 0
    while done < size:
        try:
            n = os.copy_file_range(src, dst, size - done)
        except OSError as e:
            if e.errno not in (errno.EXDEV, errno.ENOSYS, errno.EINVAL, errno.EOPNOTSUPP):
                raise
            n = 0
        if n == 0:
            os.lseek(src, done, os.SEEK_SET)
            os.lseek(dst, done, os.SEEK_SET)
            while chunk := os.read(src, 1 << 20):
                os.write(dst, chunk)
            return
        done += n


def _copy_xattrs(src: int, dst: int) -> None:
    try:
        names = os.listxattr(src)
    except OSError:
        return
    for name in names:
        if name.startswith("trusted.overlay."):
            continue  # overlayfs' own bookkeeping, meaningless outside the overlay
        try:
            os.setxattr(dst, name, os.getxattr(src, name))
        except OSError as e:
            if e.errno not in (errno.ENOTSUP, errno.EPERM):
                raise
