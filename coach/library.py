"""Routines by name: the built-ins in the package, your own routine folder and the current one."""

from __future__ import annotations

import difflib
import os
import re
import stat
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from coach.diagnostics import RoutineNotFound
from coach.filekinds import file_kind

ROUTINE_SUFFIX = ".routine"
ROUTINES_ENV = "COACH_ROUTINES"
# `include: coach:NAME` names the package's shared include file _NAME.routine (the safety
# openings), so a routine in any folder can include them without a path.
SHARED_PREFIX = "coach:"
_SHARED_NAME = re.compile(r"[a-z0-9][a-z0-9-]*")
MAX_SOURCE_BYTES = 1024 * 1024  # a built-in is a few kilobytes; anything more is not one


def routines_dir() -> Path:
    """The folder of the built-in routines, inside the package."""
    return Path(str(resources.files("coach") / "routines"))


def user_dir() -> Path:
    """Your routine folder: `COACH_ROUTINES` if set (and not blank), else `routines` in the
    platform's user data directory (~/.local/share/coach/routines on Linux). It may not
    exist yet."""
    given = os.environ.get(ROUTINES_ENV, "").strip()
    if given:
        return _absolute(Path(given).expanduser())  # read now: a later chdir cannot move it
    import platformdirs  # only when asked: `coach check` and sessions by path never need it

    return Path(platformdirs.user_data_dir("coach", appauthor=False)) / "routines"


def builtin_names() -> list[str]:
    """Names of the built-in routines; files starting with `_` are only for including."""
    return sorted(
        p.stem for p in routines_dir().glob(f"*{ROUTINE_SUFFIX}") if not p.name.startswith("_")
    )


def shared_names() -> list[str]:
    """The names `include: coach:NAME` takes: the built-in include-only files, `_` dropped."""
    return sorted(p.stem[1:] for p in routines_dir().glob(f"_*{ROUTINE_SUFFIX}"))


def shared_include(name: str) -> Path | None:
    """The package file that `include: coach:NAME` means, or None if NAME is not one of
    `shared_names()` (only those: the name is never joined to a path unchecked)."""
    if _SHARED_NAME.fullmatch(name) and name in shared_names():
        return routines_dir() / f"_{name}{ROUTINE_SUFFIX}"
    return None


def shared_in(code: str) -> list[str]:
    """The shared include files (their `coach:NAME` names) whose `language:` is `code`."""
    from coach.parser import parse
    from coach.words import spoken_in

    found = []
    for name in shared_names():
        path = routines_dir() / f"_{name}{ROUTINE_SUFFIX}"
        header = parse(path.read_text(encoding="utf-8"), str(path))[0].header
        if spoken_in(header.language) == code:
            found.append(SHARED_PREFIX + name)
    return found


def user_routines() -> list[Path]:
    """The routines in your folder (regular files NAME.routine, not hidden, not `_` include
    files), sorted by name; none if the folder is missing or cannot be listed."""
    return _routines_in(user_dir())


@dataclass(frozen=True)
class Listed:
    """A routine as `coach list` shows it: its name, its file, whether it is yours, and
    for a built-in, whether one of yours has its name (and so is found first)."""

    name: str
    path: Path
    yours: bool
    shadowed: bool = False


def listing() -> list[Listed]:
    """The built-in routines, then yours: what `coach list` shows."""
    yours = [Listed(p.stem, p, True) for p in user_routines()]
    names = {entry.name for entry in yours}
    builtins = [
        Listed(n, routines_dir() / f"{n}{ROUTINE_SUFFIX}", False, n in names)
        for n in builtin_names()
    ]
    return builtins + yours


def resolve(ref: str) -> Path:
    """A ROUTINE argument: a path to a routine file, or a routine's name.

    It is a path if it looks like one (see `is_path`), whatever is in the current folder;
    otherwise a name, looked for as NAME.routine in the current folder, then in your folder,
    then among the built-ins; the first that exists wins. A bare word is never taken for a
    file or folder of that name here: `coach show lower-back` beside a folder `lower-back`
    is the routine. Only looks at what a path is (never opens it): a FIFO or a device is
    refused, named as such, wherever it is found.
    """
    if is_path(ref):
        path = Path(ref)
        mode = _mode(path)
        if mode is None:
            raise RoutineNotFound(f"{ref}: no such routine file")
        _refuse_unless_file(ref, mode)
        return path
    if ref and "\0" not in ref:
        for folder in (Path(), user_dir(), routines_dir()):
            candidate = folder / f"{ref}{ROUTINE_SUFFIX}"  # Path() keeps it relative, as typed
            found = _mode(candidate)
            if found is not None:
                _refuse_unless_file(str(candidate), found)
                return candidate
    raise RoutineNotFound(_not_found(ref))


def is_path(ref: str) -> bool:
    """Whether a ROUTINE argument is a path rather than a name: it ends in .routine, has a
    folder separator in it, or starts with a dot (`.`, `..`, a hidden file)."""
    separators = ("/", os.sep, os.altsep or os.sep)
    return ref.endswith(ROUTINE_SUFFIX) or ref.startswith(".") or any(s in ref for s in separators)


def builtin_source(name: str) -> bytes:
    """The text of the built-in routine NAME exactly as shipped (`coach source NAME`);
    `coach:NAME` gives a shared include file's."""
    if name.startswith(SHARED_PREFIX):
        path = shared_include(name.removeprefix(SHARED_PREFIX))
    else:
        known = name in builtin_names()
        path = routines_dir() / f"{name}{ROUTINE_SUFFIX}" if known else None
    if path is None:
        names = builtin_names() + [SHARED_PREFIX + n for n in shared_names()]
        close = _close(name, names)
        also = f"did you mean {close}? " if close else ""
        raise RoutineNotFound(
            f"'{_excerpt(name)}' is not a built-in routine; {also}built-in: {', '.join(names)}"
        )
    mode = _mode(path)
    if mode is None:
        raise RoutineNotFound(f"{path}: no such routine file")
    _refuse_unless_file(str(path), mode)  # the package's own file, but checked all the same
    with open(path, "rb") as file:
        return file.read(MAX_SOURCE_BYTES)


def _not_found(ref: str) -> str:
    """Where a name was looked for, with the names most like it."""
    if not ref:
        return "the routine needs a name or a path, like: coach show wall-release"
    shown = _excerpt(ref)
    names = [*_stems(Path()), *[p.stem for p in user_routines()], *builtin_names()]
    close = _close(ref, list(dict.fromkeys(names)))
    also = f" Did you mean {close}?" if close else ""
    here = _absolute(Path())
    folder = f"the current folder ({here})" if here.is_absolute() else "the current folder"
    mode = _mode(Path(ref))
    if mode is not None and stat.S_ISREG(mode):  # a file named like a word: say how to use it
        also += f" To use the file '{shown}' here, give it as a path: ./{shown}."
    return (
        f"no routine named '{shown}'.{also} Looked for {shown}{ROUTINE_SUFFIX} in {folder}, "
        f"in your routine folder ({user_dir()}) and "
        f"among the built-in routines ({', '.join(builtin_names())})"
    )


def _close(ref: str, names: list[str]) -> str:
    """The names most like `ref`, quoted and joined with "or" (any case); empty if none."""
    lowered = {name.lower(): name for name in names}
    close = difflib.get_close_matches(ref.lower(), list(lowered), n=2, cutoff=0.7)
    return " or ".join(f"'{lowered[match]}'" for match in close)


def _routines_in(folder: Path) -> list[Path]:
    try:
        entries = sorted(os.scandir(folder), key=lambda entry: entry.name)
    except (OSError, ValueError):
        return []
    found = []
    for entry in entries:
        if entry.name.startswith((".", "_")) or not entry.name.endswith(ROUTINE_SUFFIX):
            continue
        mode = _mode(Path(entry.path))
        if mode is not None and stat.S_ISREG(mode):  # links followed; FIFOs never listed
            found.append(Path(entry.path))
    return found


def _stems(folder: Path) -> list[str]:
    return [p.stem for p in _routines_in(folder)]


def _refuse_unless_file(shown: str, mode: int) -> None:
    if not stat.S_ISREG(mode):
        raise RoutineNotFound(f"{shown}: is {file_kind(mode)}, not a routine file")


def _excerpt(text: str, limit: int = 200) -> str:
    """A name as messages quote it: a hostile argument can be very long."""
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _absolute(path: Path) -> Path:
    """`path` made absolute against the current folder; as it is if that folder is gone."""
    try:
        return path.absolute()
    except OSError:  # the current folder was deleted (or cannot be reached)
        return path


def _mode(path: Path) -> int | None:
    """The mode of what `path` names (links followed), or None if there is nothing there."""
    try:
        return os.stat(path).st_mode
    except (OSError, ValueError):  # missing, no access, a NUL in the name...
        return None
