"""The commented starter routine that `coach new` writes."""

from __future__ import annotations

import os
from pathlib import Path

from coach.diagnostics import CoachError

STARTER = """\
# {title}: a starter routine. Edit it, then try:
#   coach check {filename}      every problem, with its line and column
#   coach show {filename}       the timeline: what is said when
#   coach play {filename}       hear it; or: coach export {filename} -o {stem}.mp3
# The whole language: docs/routine-language.md

title: {title}
about: A short routine to start from: settle, roll on both sides, rest, finish.
equipment: a tennis ball, a smooth wall
source: your own notes
tempo: 15 per minute
rate: 150 wpm
gap: 0.6s

# Every built-in routine opens with this. Your own file could say the same in its own words:
say: Stop at once if anything hurts. Strong pressure is fine; real pain is not.

step Settle:
    say: Stand with your back to the wall and let your breathing slow down.
    # "hiss" turns each exhale into a long Ssss.
    breathe 3 times: in 4s, out 6s hiss

# The block runs once per item, with {{side}} replaced by the item.
for side in: left, right:
    step Roll the {{side}} side:
        say: Put the ball on the {{side}} side of your lower back, beside the spine.
        say: Lean into the wall and roll slowly up and down.
        # One rep every 4 seconds (the tempo above): a click on every beat, "up"
        # accented, and the rep number spoken every 5 reps.
        repeat 10 times:
            beat: up
            beat: down
            count every 5
# Runs between the two sides, not after the last one.
between:
    say: Move the ball across to the other side.
    pause 3s

step Rest:
    say: Step away from the wall and stand still.
    hold 20s, countdown 5, halfway

say: Well done.
"""


def starter_text(name: str) -> str:
    path = Path(name)
    title = path.stem.replace("-", " ").replace("_", " ").strip().capitalize() or "My routine"
    return STARTER.format(title=title, filename=path.name, stem=path.stem)


def write_starter(name: str, force: bool = False) -> Path:
    """Write NAME(.routine) with the starter; never overwrite a file unless `force`."""
    path = Path(name)
    if path.suffix != ".routine":
        path = path.with_name(path.name + ".routine")
    if path.exists() and not force:
        raise CoachError(f"{path} already exists; choose another name or use --force")
    if not path.parent.is_dir():
        raise CoachError(f"cannot write {path}: directory {path.parent} does not exist")
    temporary = path.with_name(f".{path.name}.tmp")
    try:
        temporary.write_text(starter_text(path.name), encoding="utf-8")
        os.replace(temporary, path)
    except OSError as error:
        temporary.unlink(missing_ok=True)
        raise CoachError(f"cannot write {path}: {error.strerror}") from None
    return path
