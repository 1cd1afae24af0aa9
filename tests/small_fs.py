"""A real, small file system for tests of a full disk: a tmpfs mounted for the test."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest


@contextmanager
def small_filesystem(directory: Path, size: str = "512k") -> Iterator[Path]:
    """`directory` with a tmpfs of `size` mounted on it; the test is skipped, with the
    reason, where mounting is not permitted (not root, or a container without the right)."""
    directory.mkdir(parents=True, exist_ok=True)
    if os.geteuid() != 0:
        pytest.skip("mounting a small tmpfs needs root")
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(directory)],
        capture_output=True,
        text=True,
    )
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {mounted.stderr.strip()}")
    try:
        yield directory
    finally:
        subprocess.run(["umount", "-l", str(directory)], check=False)


def fill(directory: Path, leave: int) -> None:
    """Fill the file system of `directory` until about `leave` bytes are free."""
    free = os.statvfs(directory)
    room = free.f_bavail * free.f_frsize - leave
    if room > 0:
        (directory / "filler").write_bytes(b"\0" * room)
