"""The built-in routines shipped inside the package, and resolving ROUTINE arguments."""

from __future__ import annotations

from importlib import resources
from pathlib import Path

from coach.diagnostics import RoutineNotFound

ROUTINE_SUFFIX = ".routine"


def routines_dir() -> Path:
    return Path(str(resources.files("coach") / "routines"))


def builtin_names() -> list[str]:
    """Names of the built-in routines; files starting with `_` are only for including."""
    return sorted(
        p.stem for p in routines_dir().glob(f"*{ROUTINE_SUFFIX}") if not p.name.startswith("_")
    )


def resolve(ref: str) -> Path:
    """A ROUTINE argument: a path to a routine file, or the name of a built-in routine."""
    path = Path(ref)
    if path.suffix == ROUTINE_SUFFIX or path.exists() or "/" in ref:
        if path.is_file():
            return path
        raise RoutineNotFound(f"{ref}: no such routine file")
    builtin = routines_dir() / f"{ref}{ROUTINE_SUFFIX}"
    if builtin.is_file():
        return builtin
    names = ", ".join(builtin_names())
    raise RoutineNotFound(
        f"'{ref}' is neither a routine file nor a built-in routine (built-in: {names})"
    )
