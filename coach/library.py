"""The built-in routines shipped inside the package, and resolving ROUTINE arguments."""

from __future__ import annotations

import os
import stat
from importlib import resources
from pathlib import Path

from coach.diagnostics import RoutineNotFound
from coach.filekinds import file_kind

ROUTINE_SUFFIX = ".routine"


def routines_dir() -> Path:
    return Path(str(resources.files("coach") / "routines"))


def builtin_names() -> list[str]:
    """Names of the built-in routines; files starting with `_` are only for including."""
    return sorted(
        p.stem for p in routines_dir().glob(f"*{ROUTINE_SUFFIX}") if not p.name.startswith("_")
    )


def resolve(ref: str) -> Path:
    """A ROUTINE argument: a path to a routine file, or the name of a built-in routine.

    Only looks at what the path is (never opens it): a FIFO or a device is named as such.
    """
    path = Path(ref)
    mode = _mode(path) if ref else None
    if path.suffix == ROUTINE_SUFFIX or mode is not None or "/" in ref:
        if mode is None:
            raise RoutineNotFound(f"{ref}: no such routine file")
        if not stat.S_ISREG(mode):
            raise RoutineNotFound(f"{ref}: is {file_kind(mode)}, not a routine file")
        return path
    builtin = routines_dir() / f"{ref}{ROUTINE_SUFFIX}"
    if ref and builtin.is_file():
        return builtin
    names = ", ".join(builtin_names())
    raise RoutineNotFound(
        f"'{ref}' is neither a routine file nor a built-in routine (built-in: {names})"
    )


def _mode(path: Path) -> int | None:
    """The mode of what `path` names (links followed), or None if there is nothing there."""
    try:
        return os.stat(path).st_mode
    except (OSError, ValueError):  # missing, no access, a NUL in the name...
        return None
