"""Where a live session stopped, kept per routine and pacing, so `coach play --resume` goes on."""

from __future__ import annotations

import json
import math
import os
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from coach.atomic import read_bounded, write_atomic
from coach.timeline import Timeline

STATE_ENV = "COACH_STATE_DIR"
FILE_NAME = "resume.json"
VERSION = 1
#: Sessions remembered; the oldest go first. A user has a handful of routines and pacings.
KEEP = 50
#: A state file is a few kilobytes; anything much bigger is not one (and is not read whole).
MAX_BYTES = 512 * 1024
#: Seconds of spoken countdown before the step a resume goes on from, unless --lead-in or
#: the profile's lead-in says otherwise: "Get ready", 3, 2, 1.
LEAD_IN = 5.0


@dataclass(frozen=True)
class Point:
    """Where one session of a routine at one pacing stopped, or that it was finished.

    `step` is the 0-based index of the step to go on from (the one it stopped in, or was
    about to start), None once the session was finished; `name` is that step's name and
    `steps` how many steps the session had, so that an edited routine is noticed.
    """

    routine: str  # see routine_key
    pacing: Mapping[str, Any]  # see pacing_key; plain JSON values
    step: int | None
    name: str = ""
    steps: int = 0
    saved: float = field(default=0.0, compare=False)  # time.time()

    @property
    def finished(self) -> bool:
        return self.step is None

    def to_json(self) -> dict[str, Any]:
        return {
            "routine": self.routine,
            "pacing": dict(self.pacing),
            "step": self.step,
            "name": self.name,
            "steps": self.steps,
            "saved": self.saved,
        }


def state_dir(environ: Mapping[str, str] | None = None) -> Path:
    """$COACH_STATE_DIR if set, else the platform's user state directory for coach
    (~/.local/state/coach on Linux)."""
    env = os.environ if environ is None else environ
    configured = env.get(STATE_ENV, "").strip()
    if configured:
        return Path(configured).expanduser().absolute()
    import platformdirs

    return Path(platformdirs.user_state_dir("coach", appauthor=False))


def state_path(environ: Mapping[str, str] | None = None) -> Path:
    return state_dir(environ) / FILE_NAME


def routine_key(path: Path, builtin_dir: Path) -> str:
    """What names a routine in the state: "built-in NAME" for a built-in (its file moves
    with every install of coach), else the routine file's resolved path."""
    resolved = path.resolve()
    if resolved.parent == builtin_dir.resolve():
        return f"built-in {resolved.stem}"
    return str(resolved)


def pacing_key(values: Mapping[str, Any]) -> dict[str, Any]:
    """The pacing values as the state keeps them: plain JSON values, unset ones left out, so
    a key compares equal to one read back from the file."""
    plain = {key: _plain(value) for key, value in sorted(values.items()) if value is not None}
    loaded: dict[str, Any] = json.loads(json.dumps(plain))
    return loaded


def _plain(value: Any) -> Any:
    if hasattr(value, "__dataclass_fields__"):  # a Breath: its numbers, in field order
        return [getattr(value, name) for name in value.__dataclass_fields__]
    if isinstance(value, Path):
        return str(value)
    return value


class State:
    """The remembered sessions, most recent first, read from `path` (see `load`)."""

    def __init__(self, path: Path, points: Sequence[Point] = (), note: str = "") -> None:
        self.path = path
        self.points = list(points)
        self.note = note  # why the file was ignored, for the user; empty if it was fine

    @classmethod
    def load(cls, path: Path) -> State:
        """The state in `path`; none when there is no file. A file that cannot be read or
        is damaged is ignored, and `note` says so."""
        try:
            data = read_bounded(path, MAX_BYTES)
        except FileNotFoundError:
            return cls(path)
        except OSError as error:
            return cls(path, note=_ignored(path, error.strerror or str(error)))
        if data is None:
            return cls(path, note=_ignored(path, "it is not a regular file of a sane size"))
        try:
            points = _parse(json.loads(data.decode("utf-8")))
        except (
            UnicodeDecodeError,
            ValueError,
            TypeError,
            KeyError,
            ArithmeticError,
            RecursionError,
        ) as error:
            if isinstance(error, UnicodeDecodeError):
                reason = "it is not UTF-8 text"
            elif isinstance(error, ValueError):
                reason = "it is not valid JSON"
            else:  # JSON, but not what coach writes
                reason = "it is damaged"
            return cls(path, note=_ignored(path, reason))
        return cls(path, points)

    def find(self, routine: str, pacing: Mapping[str, Any]) -> Point | None:
        """The point of `routine` at this pacing; else the latest at any pacing."""
        mine = [p for p in self.points if p.routine == routine]
        same = [p for p in mine if dict(p.pacing) == dict(pacing)]
        found = same or mine
        return found[0] if found else None

    def remember(self, point: Point | None, *, replacing: Sequence[Point] = ()) -> Path:
        """Keep `point` (None: keep nothing for its routine and pacing) in place of the one of
        its routine and pacing and of `replacing`, and write the file atomically. OSError
        if it cannot be written."""
        if point is not None:
            point = replace(point, saved=time.time())
        return self._write(point, lambda p: _same(p, point), replacing)

    def forget(
        self, routine: str, pacing: Mapping[str, Any], *, replacing: Sequence[Point] = ()
    ) -> Path:
        """Keep nothing for `routine` at `pacing`, nor `replacing`; OSError as `remember`."""
        key = (routine, dict(pacing))
        return self._write(None, lambda p: (p.routine, dict(p.pacing)) == key, replacing)

    def _write(
        self, point: Point | None, dropped: Callable[[Point], bool], replacing: Sequence[Point]
    ) -> Path:
        """Write the file with `point` first, then the points in it now but those `dropped`
        and `replacing`. The file is read again just before: another `coach play` may have
        kept its own place since this state was loaded, and that place stays."""
        gone = list(replacing)
        self.points = State.load(self.path).points  # a damaged file is written afresh
        others = [p for p in self.points if not dropped(p) and p not in gone]
        self.points = ([point] if point is not None else []) + others[: KEEP - 1]
        document = {"version": VERSION, "sessions": [p.to_json() for p in self.points]}
        text = json.dumps(document, indent=1, ensure_ascii=False) + "\n"
        self.path.parent.mkdir(parents=True, exist_ok=True)
        return write_atomic(self.path, text.encode("utf-8"))


def _same(point: Point, other: Point | None) -> bool:
    return other is not None and (point.routine, dict(point.pacing)) == (
        other.routine,
        dict(other.pacing),
    )


def _ignored(path: Path, reason: str) -> str:
    return f"note: ignoring the resume state {path}: {reason}"


def _parse(document: Any) -> list[Point]:
    """Points from the file's JSON; TypeError or KeyError when it is not what coach wrote:
    each value of the type coach writes (a step and a count are whole numbers, not booleans,
    0 or more; the time saved a finite number; the names strings)."""
    if not isinstance(document, dict) or document.get("version") != VERSION:
        raise TypeError("not a coach resume state")
    sessions = document["sessions"]
    if not isinstance(sessions, list):
        raise TypeError("bad sessions")
    points = []
    for entry in sessions:
        if not isinstance(entry, dict):
            raise TypeError("bad entry")
        step, name = entry["step"], entry.get("name", "")
        steps, saved = entry.get("steps", 0), entry.get("saved", 0.0)
        if (
            not isinstance(entry["routine"], str)
            or not isinstance(entry["pacing"], dict)
            or (step is not None and not _count(step))
            or not _count(steps)
            or not isinstance(name, str)
            or isinstance(saved, bool)
            or not isinstance(saved, (int, float))
            or not math.isfinite(saved)
        ):
            raise TypeError("bad entry")
        points.append(Point(entry["routine"], entry["pacing"], step, name, steps, float(saved)))
    return points


def _count(value: Any) -> bool:
    """Whether `value` is a whole number of 0 or more (JSON's true is not one)."""
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


@dataclass(frozen=True)
class Start:
    """Where a resumed session starts: `step` (0-based; None from the beginning), and a
    note for the user when it is not simply where they stopped at the same pacing."""

    step: int | None
    note: str = ""


def differing(point: Point, pacing: Mapping[str, Any]) -> list[str]:
    """The pacing keys whose values differ between `point` and `pacing`."""
    keys = sorted(set(point.pacing) | set(pacing))
    return [key for key in keys if point.pacing.get(key) != pacing.get(key)]


def start_at(
    timeline: Timeline, point: Point | None, pacing: Mapping[str, Any], title: str
) -> Start:
    """Where `--resume` goes on in `timeline` from `point` (see `Point`).

    The steps of a routine do not depend on its pacing (a different rate, tempo or breath
    changes how long each takes, never which there are), so a session stopped at another
    pacing goes on from the same step, found by its name, with a note. A routine edited
    since has its step found by name too; a step no longer there starts it over.
    """
    if point is None:
        return Start(None, f"Nothing to resume for {title}; starting from the beginning.")
    if point.step is None:
        return Start(None, f"You finished {title} last time; starting from the beginning.")
    chapters, stopped = timeline.chapters, point.step
    changed = differing(point, pacing)
    if (
        len(chapters) == point.steps
        and stopped < len(chapters)
        and (chapters[stopped].name == point.name)
    ):
        index = stopped
    else:
        named = [i for i, c in enumerate(chapters) if c.name == point.name]
        if not named:
            return Start(
                None,
                f"{title} no longer has the step you stopped in ({point.name}); "
                "starting from the beginning.",
            )
        index = min(named, key=lambda i: abs(i - stopped))  # the nearest of that name
        changed = changed or ["its steps"]
    if not changed:
        return Start(index)
    what = "its steps" if changed == ["its steps"] else "your pacing (" + ", ".join(changed) + ")"
    where = f"step {index + 1} of {len(chapters)} ({chapters[index].name})"
    return Start(index, f"Since you stopped, {what} changed: resuming at {where} by its name.")
