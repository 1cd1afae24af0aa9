"""Routine lengths remembered for `coach list`: measured once, told again while nothing changed.

Measuring a routine (coach.session.measure) parses, checks, compiles and lays it out, which
takes longer than all the rest of `coach list`. Each result is kept in `MEMO_FILE` in the
clip cache directory with what it depends on: the routine's files (itself, its includes,
its sound files) by size, time and inode; the clip cache's index of lengths and the engine
facts beside it; the engine chosen and, where it has one, its fingerprint; the listener's
pacing it was measured at (the profile's: `rate = 100` makes every routine longer); and
coach's own code. A result is used again only while every one of those is as it was;
anything unreadable is measured anew. Nothing is synthesized either way.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import json
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeGuard

from coach.atomic import clear_foreign, read_bounded, write_atomic

if TYPE_CHECKING:
    from coach.compiler import Overrides

MEMO_FILE = "measured.json"
MEMO_MAX_BYTES = 1024 * 1024
_CODE = Path(__file__).resolve().parent


def measure(
    ref: str, cache_dir: Path | None = None, overrides: Overrides | None = None
) -> tuple[str, float, bool]:
    """ROUTINE's title, length in seconds and whether the length is exact (not estimated),
    at `overrides` (the listener's pacing), as `coach.session.measure` gives them,
    remembered (see the module)."""
    from coach import library
    from coach.cache import default_cache_dir
    from coach.engines import chosen_name

    directory = cache_dir or default_cache_dir()
    path = str(library.resolve(ref).resolve())
    engine = chosen_name()
    context = _context(directory, engine, overrides)
    memo = _read(directory)
    entry = memo.get(f"{engine}\n{path}")
    if isinstance(entry, dict) and entry.get("context") == context:
        inputs = entry.get("inputs")
        found = entry.get("found")
        if isinstance(inputs, dict) and inputs == _stamps(inputs) and _sound(found):
            title, seconds, exact = found
            return str(title), float(seconds), bool(exact)
    from coach import session

    measured = session.measure(ref, directory, overrides)
    found = [measured.title, measured.seconds, measured.exact]
    memo[f"{engine}\n{path}"] = {
        "context": context,
        "inputs": _stamps(dict.fromkeys([path, *measured.inputs])),
        "found": found,
    }
    _write(directory, memo)
    return measured.title, measured.seconds, measured.exact


def _context(directory: Path, engine: str, overrides: Overrides | None) -> str:
    """A stamp of what a length depends on besides the routine's own files. The pacing is in
    it whole (its repr names every field and value): a field that changes no length, such as
    the volume, costs one measuring when it changes, and a field added later is never missed.
    (No pacing is "", not `repr(Overrides())`: `coach list` without a profile then never
    imports the compiler, a tenth of its time.)"""
    pacing = repr(overrides) if overrides is not None else ""
    parts = [engine, _fingerprint(engine), _code(), pacing]
    for name in ("lengths.json", "engine-facts.json"):
        parts.append(_stamp(directory / name))
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()


@functools.cache  # coach's code does not change while it runs
def _code() -> str:
    return "\n".join(sorted(f"{p.name} {_stamp(p)}" for p in _CODE.glob("*.py")))


@functools.cache  # nor, for the length of one listing, do the engines
def _fingerprint(engine: str) -> str:
    """The engine's own stamp, for one that can give it without starting (an upgrade of
    festival, flite or espeak-ng changes it); empty for one that cannot."""
    from coach.diagnostics import SpeechError
    from coach.engines import make_engine

    try:
        stamp = getattr(make_engine(engine), "fingerprint", None)
        return (stamp() or "") if callable(stamp) else ""
    except SpeechError:  # not an engine coach knows: measuring says so
        return ""


def _stamps(paths: dict[str, Any]) -> dict[str, str]:
    return {path: _stamp(Path(path)) for path in paths}


def _stamp(path: Path) -> str:
    try:
        found = os.stat(path)
    except OSError:
        return "-"
    return f"{found.st_size} {found.st_mtime_ns} {found.st_ino}"


def _sound(found: Any) -> TypeGuard[list[Any]]:
    return (
        isinstance(found, list)
        and len(found) == 3
        and isinstance(found[0], str)
        and isinstance(found[1], (int, float))
        and isinstance(found[2], bool)
    )


def _read(directory: Path) -> dict[str, Any]:
    try:
        data = read_bounded(directory / MEMO_FILE, MEMO_MAX_BYTES)
        memo = json.loads(data) if data is not None else {}
    except (OSError, ValueError):
        return {}
    return memo if isinstance(memo, dict) else {}


def _write(directory: Path, memo: dict[str, Any]) -> None:
    """Best effort: a cache that cannot be written measures again next time. Kept only in a
    cache directory that is already there: listing makes none."""
    data = json.dumps(memo, separators=(",", ":")).encode()
    if len(data) > MEMO_MAX_BYTES:
        data = b"{}"  # the oldest of hundreds of routines go; these are measured again
    path = directory / MEMO_FILE
    if not directory.is_dir():
        return
    with contextlib.suppress(OSError):
        clear_foreign(path)
        write_atomic(path, data, mode=0o644, durable=False)
