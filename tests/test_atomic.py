"""The one atomic-write helper: whole files or none, coach's own temp names, stale cleanup."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from coach.atomic import (
    STALE_SECONDS,
    atomic_write,
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
