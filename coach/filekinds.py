"""File kinds: what a path that is not a regular file is, said the same way in every message."""

from __future__ import annotations

import os
import stat


def file_kind(mode: int) -> str:
    """What a file of `mode` is, for a message: "a directory", "a FIFO (named pipe)", ..."""
    if stat.S_ISREG(mode):
        return "a regular file"
    if stat.S_ISDIR(mode):
        return "a directory"
    if stat.S_ISFIFO(mode):
        return "a FIFO (named pipe)"
    if stat.S_ISCHR(mode):
        return "a character device"
    if stat.S_ISBLK(mode):
        return "a block device"
    if stat.S_ISSOCK(mode):
        return "a socket"
    return "something else"


def kind_at(path: str | os.PathLike[str]) -> str:
    """`file_kind` of what `path` names (links followed); "something else" if it cannot be
    looked at."""
    try:
        return file_kind(os.stat(path).st_mode)
    except (OSError, ValueError):
        return "something else"
