"""The one atomic-write helper: whole files or none, coach's own temp names, stale cleanup."""

from __future__ import annotations

import errno
import os
import stat
import time
from pathlib import Path

import pytest

from coach.atomic import (
    STALE_SECONDS,
    NotAFileError,
    atomic_write,
    current_umask,
    is_temp_name,
    remove_stale,
    temp_name,
    write_atomic,
)


def test_write_atomic_replaces_the_file_whole(tmp_path: Path) -> None:
    target = tmp_path / "a.txt"
    target.write_bytes(b"old")
    write_atomic(target, b"new")
    assert target.read_bytes() == b"new"
    assert os.listdir(tmp_path) == ["a.txt"]


def test_an_error_in_the_block_leaves_the_old_file_and_no_temporary(tmp_path: Path) -> None:
    target = tmp_path / "a.txt"
    target.write_bytes(b"old")
    with pytest.raises(KeyboardInterrupt), atomic_write(target) as out:
        out.file.write(b"half")
        raise KeyboardInterrupt
    assert target.read_bytes() == b"old"
    assert os.listdir(tmp_path) == ["a.txt"]


def test_a_replaced_file_keeps_its_permissions(tmp_path: Path) -> None:
    target = tmp_path / "a.txt"
    target.write_bytes(b"old")
    target.chmod(0o640)
    write_atomic(target, b"new")
    assert target.stat().st_mode & 0o777 == 0o640


def test_a_symlink_is_written_through_and_stays_a_link(tmp_path: Path) -> None:
    real = tmp_path / "real.txt"
    real.write_bytes(b"old")
    link = tmp_path / "link.txt"
    link.symlink_to(real)
    assert write_atomic(link, b"new") == real
    assert link.is_symlink() and real.read_bytes() == b"new"


def test_exclusive_never_overwrites(tmp_path: Path) -> None:
    target = tmp_path / "a.txt"
    target.write_bytes(b"first")
    with pytest.raises(FileExistsError):
        write_atomic(target, b"second", exclusive=True)
    assert target.read_bytes() == b"first"
    assert os.listdir(tmp_path) == ["a.txt"]


def test_temp_names_are_recognised_and_user_files_are_not() -> None:
    assert is_temp_name(temp_name("session.mp3"))
    for name in ("session.mp3", ".session.mp3.part", ".x.coach-tmp", "a.0123456789ab.coach-tmp"):
        assert not is_temp_name(name)


def test_remove_stale_removes_old_leftovers_only(tmp_path: Path) -> None:
    old, fresh = tmp_path / temp_name("a.mp3"), tmp_path / temp_name("b.mp3")
    mine = tmp_path / ".notes.part"
    for path in (old, fresh, mine):
        path.write_bytes(b"x")
    past = time.time() - STALE_SECONDS - 60
    os.utime(old, (past, past))
    os.utime(mine, (past, past))
    assert remove_stale(tmp_path) == 1
    assert sorted(os.listdir(tmp_path)) == sorted([fresh.name, mine.name])


def test_a_long_but_valid_name_gets_a_shortened_temporary_name(tmp_path: Path) -> None:
    """A name of 240 bytes is valid; its temporary name must be too (at most 255 bytes)."""
    target = tmp_path / ("x" * 240)
    assert len(temp_name(target.name)) <= 255 and is_temp_name(temp_name(target.name))
    write_atomic(target, b"data")
    assert target.read_bytes() == b"data"
    assert os.listdir(tmp_path) == [target.name]


def test_exclusive_works_where_there_are_no_hard_links(tmp_path, monkeypatch) -> None:
    """FAT file systems (a USB stick) refuse link(2) with EPERM: exclusive publishing then
    claims the name with O_EXCL, and still never overwrites."""

    def no_links(*args, **kwargs):
        raise PermissionError(errno.EPERM, "Operation not permitted")

    monkeypatch.setattr(os, "link", no_links)
    target = tmp_path / "new.routine"
    write_atomic(target, b"first", exclusive=True)
    assert target.read_bytes() == b"first"
    with pytest.raises(FileExistsError):
        write_atomic(target, b"second", exclusive=True)
    assert target.read_bytes() == b"first"
    assert os.listdir(tmp_path) == ["new.routine"]


def test_a_new_file_gets_the_umask_s_permissions(tmp_path: Path) -> None:
    old = os.umask(0o077)
    try:
        assert current_umask() == 0o077
        assert write_atomic(tmp_path / "a", b"x").stat().st_mode & 0o777 == 0o600
    finally:
        os.umask(old)


def test_a_fifo_is_never_replaced(tmp_path: Path) -> None:
    fifo = tmp_path / "x.routine"
    os.mkfifo(fifo)
    with pytest.raises(NotAFileError, match=r"it is a FIFO \(named pipe\), not a file"):
        write_atomic(fifo, b"data")
    assert stat.S_ISFIFO(os.lstat(fifo).st_mode)
    assert os.listdir(tmp_path) == ["x.routine"]


def test_a_link_to_a_device_is_never_written_through(tmp_path: Path) -> None:
    if os.geteuid() != 0:
        pytest.skip("making a device node needs root")
    device = tmp_path / "null"
    os.mknod(device, stat.S_IFCHR | 0o666, os.makedev(1, 3))
    link = tmp_path / "x.routine"
    link.symlink_to(device)
    with pytest.raises(NotAFileError, match="it is a character device, not a file"):
        write_atomic(link, b"data", exclusive=False)
    assert stat.S_ISCHR(os.lstat(device).st_mode) and link.is_symlink()


def test_a_directory_is_never_replaced(tmp_path: Path) -> None:
    (tmp_path / "d").mkdir()
    with pytest.raises(NotAFileError, match="it is a directory, not a file"):
        write_atomic(tmp_path / "d", b"data")
