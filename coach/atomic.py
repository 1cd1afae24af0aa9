"""Atomic file writes: a temporary file beside the target, renamed over it when complete.

Every temporary file coach makes is named `.NAME.RANDOM.coach-tmp` (see `temp_name`), so a
run killed with SIGKILL leaves files that a later run can recognise as its own and remove
(`remove_stale`) without ever touching a file of the user's.
"""

from __future__ import annotations

import contextlib
import errno
import os
import re
import secrets
import stat
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from coach.filekinds import file_kind

TEMP_SUFFIX = ".coach-tmp"
#: A temporary file older than this (by its modification time) is a leftover of a run that
#: was killed: no live run goes that long without writing to its temporary file.
STALE_SECONDS = 10 * 60
_TEMP_NAME = re.compile(r"^\..+\.[0-9a-f]{12}" + re.escape(TEMP_SUFFIX) + "$", re.DOTALL)
#: The longest file name most file systems take, in bytes. A temporary name adds 24 bytes to
#: the target's, so a long (but valid) target name is shortened in its temporary name.
NAME_MAX = 255
_TEMP_EXTRA = len(".." + "0" * 12 + TEMP_SUFFIX)
# link(2) fails with these where the file system has no hard links (FAT, some FUSE mounts).
_NO_HARD_LINKS = {errno.EPERM, errno.ENOTSUP, errno.EOPNOTSUPP, errno.ENOSYS}
_umask_lock = threading.Lock()
# Opening a FIFO without it does not return until a writer comes; for a regular file it
# changes nothing.
_OPEN_FLAGS = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOCTTY", 0)


def temp_name(name: str) -> str:
    """A fresh temporary file name for a file named `name`, in coach's own naming."""
    while name and len(os.fsencode(name)) > NAME_MAX - _TEMP_EXTRA:
        name = name[:-1]
    return f".{name}.{secrets.token_hex(6)}{TEMP_SUFFIX}"


def is_temp_name(name: str) -> bool:
    """Whether `name` is a temporary file name that coach made (see `temp_name`)."""
    return _TEMP_NAME.match(name) is not None


def new_temp(directory: Path, name: str, mode: int = 0o600) -> tuple[int, Path]:
    """Create a new, empty temporary file for `name` in `directory`: an fd open for writing
    and its path. OSError if it cannot be made."""
    for _ in range(100):
        path = directory / temp_name(name)
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, mode)
        except FileExistsError:
            continue
        return fd, path
    raise FileExistsError(f"no free temporary file name in {directory}")


def real_target(path: Path) -> Path:
    """Where writing `path` really goes: a symbolic link is written through, so the file it
    points to is replaced and the link stays."""
    return Path(os.path.realpath(path))


def default_mode(target: Path) -> int:
    """The permissions of the regular file at `target`, else those of a new file (0o666
    less the umask)."""
    with contextlib.suppress(OSError):
        found = target.stat()
        if stat.S_ISREG(found.st_mode):
            return stat.S_IMODE(found.st_mode)
    return 0o666 & ~current_umask()


def current_umask() -> int:
    """The process's umask. Linux shows it in /proc; elsewhere reading it means setting it
    for a moment, so that is done under a lock (other threads of coach may be making files)."""
    with (
        contextlib.suppress(OSError, ValueError),
        open("/proc/self/status", encoding="ascii", errors="replace") as status,
    ):
        for line in status:
            if line.startswith("Umask:"):
                return int(line.split()[1], 8)
    with _umask_lock:
        umask = os.umask(0o022)
        os.umask(umask)
    return umask


@dataclass
class AtomicFile:
    """A file being written: `file` is open on the temporary file at `temp`, which becomes
    `target` when the `atomic_write` block ends without an error."""

    target: Path
    temp: Path
    file: IO[bytes]


@contextlib.contextmanager
def atomic_write(
    path: Path, mode: int | None = None, *, exclusive: bool = False, durable: bool = True
) -> Iterator[AtomicFile]:
    """Write the file at `path` so that readers see the old file or the new one, never a
    torn one.

    The block writes to `AtomicFile.file` (or to `AtomicFile.temp` by name, closing nothing);
    when it ends, the data is flushed to disk and the temporary file renamed over the target.
    With `exclusive`, the new file is linked into place only if nothing is there yet, and
    FileExistsError is raised otherwise (first writer wins). `mode` defaults to the replaced
    file's permissions, else a new file's. Any error, KeyboardInterrupt included, removes the
    temporary file and leaves the target as it was; OSError is raised as it came.

    `durable=False` leaves out the flushes to disk (fsync): for a cache that checks what it
    reads and makes again what a crash spoiled, they cost more than they save.
    """
    target = real_target(Path(path))
    _refuse_other_than_file(target)
    fd, temp = new_temp(target.parent, target.name)
    try:
        with os.fdopen(fd, "wb") as file:
            yield AtomicFile(target, temp, file)
            file.flush()
            os.fchmod(file.fileno(), default_mode(target) if mode is None else mode)
            if durable:
                os.fsync(file.fileno())
        if durable:
            _fsync_path(temp)  # what was written to `temp` by name (ffmpeg) reaches disk too
        _refuse_other_than_file(target)  # nothing was put there meanwhile
        if exclusive:
            _publish_exclusive(temp, target)
        else:
            os.replace(temp, target)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temp)
        raise


class NotAFileError(OSError):
    """The target of a write is a directory, FIFO, device or socket: it is never replaced."""


def _refuse_other_than_file(target: Path) -> None:
    """NotAFileError if something other than a regular file is at `target`: renaming over
    a device node or a FIFO would replace it (as root, /dev/null itself)."""
    try:
        mode = os.stat(target).st_mode
    except FileNotFoundError:
        return
    if not stat.S_ISREG(mode):
        kind = file_kind(mode)
        raise NotAFileError(errno.EEXIST, f"it is {kind}, not a file", str(target))


def write_atomic(
    path: Path,
    data: bytes,
    mode: int | None = None,
    *,
    exclusive: bool = False,
    durable: bool = True,
) -> Path:
    """Write `data` to `path` with `atomic_write`; returns the path really written."""
    with atomic_write(path, mode, exclusive=exclusive, durable=durable) as out:
        out.file.write(data)
    return out.target


def remove_stale(directory: Path, older_than: float = STALE_SECONDS) -> int:
    """Remove coach's temporary files in `directory` last written more than `older_than`
    seconds ago: leftovers of runs that were killed. Best effort; returns how many went."""
    removed = 0
    limit = time.time() - older_than
    try:
        entries = list(os.scandir(directory))
    except OSError:
        return 0
    for entry in entries:
        if not is_temp_name(entry.name):
            continue
        with contextlib.suppress(OSError):
            found = entry.stat(follow_symlinks=False)
            if stat.S_ISREG(found.st_mode) and found.st_mtime < limit:
                os.unlink(entry.path)
                removed += 1
    return removed


def _publish_exclusive(temp: Path, target: Path) -> None:
    """Put `temp` in place as `target` unless something is there: FileExistsError then."""
    try:
        os.link(temp, target)  # fails if the target exists: atomic no-clobber
    except OSError as exc:
        if exc.errno not in _NO_HARD_LINKS:
            raise
        # No hard links here: claim the name with an empty file (O_EXCL, so still first
        # writer wins), then rename over our own claim. A reader may see it empty meanwhile.
        os.close(os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o600))
        try:
            os.replace(temp, target)
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(target)
            raise
    else:
        os.unlink(temp)


def _fsync_path(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def read_bounded(path: Path, limit: int) -> bytes | None:
    """The contents of the regular file at `path`, or None if it is anything else (a FIFO,
    a device, a directory, a socket, a symbolic link to one of those) or larger than `limit`
    bytes: what the file is, is known before a byte is read, and no read waits or runs on.

    FileNotFoundError and PermissionError propagate; other errors mean None.
    """
    try:
        if not (stat.S_ISREG(mode := os.lstat(path).st_mode) or stat.S_ISLNK(mode)):
            return None
        fd = os.open(path, _OPEN_FLAGS | getattr(os, "O_CLOEXEC", 0))
    except (FileNotFoundError, PermissionError):
        raise
    except OSError:  # a loop of links, a socket, ...
        return None
    with os.fdopen(fd, "rb") as f:
        found = os.fstat(fd)
        if not stat.S_ISREG(found.st_mode) or found.st_size > limit:
            return None
        data = f.read(limit + 1)  # the file may have grown since fstat
    return data if len(data) <= limit else None


def clear_foreign(path: Path) -> None:
    """Remove whatever is at `path` unless it is a regular file: a symbolic link (which
    writing would follow), a FIFO, a device, an empty directory."""
    try:
        mode = os.lstat(path).st_mode
    except OSError:
        return
    if stat.S_ISREG(mode):
        return
    with contextlib.suppress(OSError):
        if stat.S_ISDIR(mode):
            os.rmdir(path)
        else:
            os.unlink(path)
