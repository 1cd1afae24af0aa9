"""`coach new`: the commented starter routine, or a built-in's copy, written to a new file."""

from __future__ import annotations

import os
import shlex
from pathlib import Path

from coach.atomic import remove_stale, write_atomic
from coach.diagnostics import CoachError

STARTER = """\
# {title}: a starter routine. Edit it, then try:
#   coach check {filename}      every problem, with its line and column
#   coach show {filename}       the timeline: what is said when
#   coach play {filename}       hear it; or: coach export {filename} -o {mp3}
# The whole language: coach help language

title: {title}
about: A short routine to start from: settle, roll on both sides, rest, finish.
equipment: a tennis ball, a smooth wall
source: your own notes
tempo: 15 per minute
rate: 150 wpm
gap: 0.6s

# Every built-in routine opens with coach's shared safety words; they are included by name
# from any folder (see: coach source coach:safety).
include: coach:safety

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
    """The starter for a file named `name`; the commands in its comments are quoted for a
    shell, so they work when pasted whatever the name (spaces, quotes)."""
    path = Path(name)
    title = path.stem.replace("-", " ").replace("_", " ").strip().capitalize() or "My routine"
    filename, mp3 = shell_word(path.name), shell_word(f"{path.stem}.mp3")
    return STARTER.format(title=title, filename=filename, mp3=mp3)


def shell_word(path: str) -> str:
    """`path` as one word for a shell that coach takes as a file: quoted, and a name that
    starts with "-" prefixed with ./ so no command reads it as an option."""
    return shlex.quote(f"./{path}" if path.startswith("-") else path)


def starter_path(name: str) -> Path:
    """The file `coach new NAME` writes: NAME, with .routine added unless it has it.
    CoachError for a name that cannot be a file's: empty, a directory, a NUL in it."""
    if "\0" in name:
        raise CoachError(f"cannot write {name!r}: a file name cannot hold a NUL character")
    if not name.strip():
        raise CoachError("the routine needs a name, like: coach new my-routine")
    path = Path(name)
    if name.endswith(("/", os.sep)) or path.name in ("", ".", ".."):
        example = os.path.join(name, "my-routine")
        raise CoachError(f"{name} is a directory; name the file in it, like: coach new {example}")
    if path.suffix != ".routine":
        path = path.with_name(path.name + ".routine")
    return path


def write_starter(name: str, force: bool = False, text: bytes | None = None) -> Path:
    """Write NAME(.routine) with the starter, or with `text` (a built-in's, for
    `coach new --from`); never overwrite a file unless `force`.

    Without `force` the file is published only if nothing has that name (coach.atomic's
    exclusive write), so a file made meanwhile is never overwritten either.
    """
    path = starter_path(name)
    directory = path.parent
    try:
        if path.is_dir():
            raise CoachError(f"cannot write {path}: it is a directory")
        if not directory.is_dir():
            what = "is not a directory" if directory.exists() else "does not exist"
            raise CoachError(f"cannot write {path}: directory {directory} {what}")
        remove_stale(directory)
        data = text if text is not None else starter_text(path.name).encode("utf-8")
        write_atomic(path, data, exclusive=not force)
    except FileExistsError:
        raise CoachError(f"{path} already exists; choose another name or use --force") from None
    except OSError as error:  # no permission, a name too long, a full disk, ...
        raise CoachError(f"cannot write {path}: {error.strerror or error}") from None
    return path


def in_your_folder(name: str) -> str:
    """NAME as a path in your routine folder (coach.library.user_dir), which is made if
    missing: for `coach new NAME --mine`. A name only: a path would leave the folder."""
    from coach.library import user_dir

    if "/" in name or os.sep in name or name.strip() in ("", ".", ".."):
        raise CoachError("with --mine, give a name, not a path: coach new my-routine --mine")
    folder = user_dir()
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise CoachError(f"cannot make your routine folder {folder}: {error.strerror}") from None
    return str(folder / name)
