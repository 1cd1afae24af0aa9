"""The live status line: what is playing now as one line of text, repainted on a terminal."""

from __future__ import annotations

import contextlib
import os
import re
import threading
from collections.abc import Callable
from typing import TextIO

from coach.commands import COMMANDS
from coach.timeline import Timeline
from coach.units import format_length, format_position
from coach.words import words_for

REFRESH_SECONDS = 0.25
CLEAR_TO_END = "\x1b[K"

# Words, not arrow characters: the announcement is printed to terminals of any encoding.
KEYS_HINT = "Keys: space pause, n or right arrow next step, b or left arrow back, q quit, ? help."


def _help() -> str:
    rows = [(" or ".join(c.key_labels), c.does) for c in COMMANDS if c.key_labels]
    rows += [("? or h", "show these keys"), ("Ctrl-C", "stop at once")]
    width = max(len(keys) for keys, _ in rows)
    return "Keys (no Enter needed):\n" + "\n".join(
        f"  {keys.ljust(width)}  {does}" for keys, does in rows
    )


HELP = _help()


def clock(seconds: float) -> str:
    """A place in the session: m:ss, or h:mm:ss from an hour on (coach.units)."""
    return format_position(seconds)


def step_place(timeline: Timeline, position: int) -> tuple[str, int, str]:
    """Where `position` is among the steps: ("in", index, name) inside a step, ("before",
    index, name) before one starts, ("finishing", -1, "") after the last, ("", -1, "") for a
    session without steps."""
    chapters = timeline.chapters
    if not chapters:
        return "", -1, ""
    index = timeline.chapter_at(position)
    if index is not None:
        return "in", index, chapters[index].name
    upcoming = [i for i, c in enumerate(chapters) if c.start > position]
    if not upcoming:
        return "finishing", -1, ""
    following = min(upcoming, key=lambda i: (chapters[i].start, i))
    return "before", following, chapters[following].name


def step_label(timeline: Timeline, position: int) -> tuple[str, str]:
    """("step 3 of 8", name) inside a step, ("introduction", "next: " + the first step's
    name) in the opening, ("before step 4 of 8", name) between steps, ("finishing", "")
    after the last, ("", "") for a session without steps."""
    label, _, name = _label(timeline, position)
    return label, name


def _label(timeline: Timeline, position: int, jump: bool = False) -> tuple[str, str, str]:
    """(label, short label, name) of `position`; `jump`: playback is about to jump there
    (a lead-in plays first), so it is always "before" that step."""
    place, index, name = step_place(timeline, position)
    total = len(timeline.chapters)
    if place == "in" and jump:
        place = "before"
    if place == "before" and index == 0 and not jump:
        # Before the first step is the opening (the safety words, say): "before step 1"
        # would read as if the listener were waiting for something that already plays.
        return "introduction", "intro", f"next: {name}" if name else ""
    if place == "in":
        return f"step {index + 1} of {total}", f"step {index + 1}/{total}", name
    if place == "before":
        return f"before step {index + 1} of {total}", f"before {index + 1}/{total}", name
    return place, place, ""


def where_text(timeline: Timeline, position: int) -> str:
    """What coach says when asked where the listener is, in the session's language: "Step 3
    of 8, Wall roll. Rep 12 of 25." (the rep only in a run of reps; in the opening and between
    steps: "Step 1 of 8, Settle, comes next."). The status line stays in English: it is
    coach's own display."""
    said = words_for(timeline.language).where
    place, index, name = step_place(timeline, position)
    total = len(timeline.chapters)
    if place in ("in", "before"):
        template = said.step if place == "in" else said.before
        sentence = template.format(number=index + 1, total=total, name=name)
        sentences = [re.sub(r"\s*[,:]\s*\.$", ".", sentence)]  # a step without a name
    elif place == "finishing":
        sentences = [said.finishing]
    else:
        played = position / timeline.sample_rate
        minute = int(played // 60) + 1
        sentences = [said.elapsed.format(clock=clock(played), minute=minute)]
    rep = timeline.rep_at(position)
    if rep is not None:
        sentences.append(said.rep.format(number=rep[0], total=rep[1]))
    return " ".join(sentences)


def status_text(
    timeline: Timeline,
    position: int,
    remaining: int | None = None,
    paused: bool = False,
    note: str = "",
    width: int | None = None,
    heading_to: int | None = None,
) -> str:
    """The status line for `position` (a sample): paused, a note, where the session is (its
    position, of its length) and the time left, the step, the rep and the step's name, in
    that order, fitted to `width` characters (see `_fitted`).

    The clock is the position in the session, not time spent: after `b` it goes back with
    the sound, and with --from it starts at the step. `remaining` is how many samples are
    still to play (default: to the session's end); with --from, fewer than the rest of the
    session. `heading_to` is where playback jumps next (after a lead-in, the --from step):
    the step shown is then the one it jumps to.
    """
    rate = timeline.sample_rate
    if remaining is None:
        remaining = max(0, timeline.length - position)
    at, total = clock(position / rate), format_length(timeline.duration)
    left = f"{format_length(remaining / rate)} left"
    jump = heading_to is not None
    target = heading_to if heading_to is not None else position
    label, short, name = _label(timeline, target, jump)
    rep = timeline.rep_at(position)
    reps = (f"rep {rep[0]} of {rep[1]}", f"rep {rep[0]}/{rep[1]}") if rep else ("", "")
    first = [p for p in ("paused" if paused else "", note) if p]
    # From the whole line down to the fewest words: each level is tried with the name
    # shortened to fit, and the first where the name keeps MIN_NAME characters is shown.
    levels = [
        [*first, f"{at} of {total}, {left}", label, reps[0]],
        [*first, f"{at}/{total}, {left}", short, reps[1]],
        [*first, left, short, reps[1]],
        [*first, short, reps[1]],
    ]
    return _fitted([[p for p in level if p] for level in levels], name, note, width)


MIN_NAME = 12  # characters of a step's name kept (ellipsis included) before parts are dropped
SEPARATOR = " | "
ELLIPSIS = "\u2026"  # one column, so a shortened name keeps more of itself than with "..."


def _fitted(levels: list[list[str]], name: str, note: str, width: int | None) -> str:
    """The first level whose parts, and the name shortened to at least MIN_NAME characters
    (or whole, if shorter), fit `width`; else the last level with what is left of the name;
    else without the name, the note shortened so that the step and rep still show; else
    that cut to the width."""
    if width is None:
        return SEPARATOR.join([*levels[0], name] if name else levels[0])
    for parts in levels:
        room = _room(parts, width)
        if not name and room + len(SEPARATOR) >= 0:
            return SEPARATOR.join(parts)
        if name and room >= min(len(name), MIN_NAME):
            return SEPARATOR.join([*parts, shorten(name, room)])
    parts = levels[-1]
    room = _room(parts, width)
    if name and room >= 2:  # a letter and the ellipsis still say which step
        return SEPARATOR.join([*parts, shorten(name, room)])
    if note and note in parts and len(SEPARATOR.join(parts)) > width:
        others = [p for p in parts if p != note]
        spare = width - len(SEPARATOR.join(others)) - (len(SEPARATOR) if others else 0)
        if spare >= 2:
            parts = [shorten(note, spare) if p == note else p for p in parts]
    return fit(SEPARATOR.join(parts), width)


def _room(parts: list[str], width: int) -> int:
    """Characters left for one more part after `parts` and its separator."""
    return width - len(SEPARATOR.join(parts)) - (len(SEPARATOR) if parts else 0)


def shorten(text: str, width: int) -> str:
    """`text`, or its start and an ellipsis in `width` characters."""
    if len(text) <= width:
        return text
    if width < 1:
        return ""
    return text[: width - 1].rstrip(" |,") + ELLIPSIS


def fit(text: str, width: int | None) -> str:
    """`text` cut to `width` characters, ending in an ellipsis when cut."""
    if width is None:
        return text
    return shorten(text, width)


class StatusLine:
    """Repaints one line on a terminal stream about four times a second; text printed
    through `print_above` appears above it. Use as a context manager: on leaving, the
    line is cleared and the cursor is left at its start.

    `render(width)` returns the line, or None while there is nothing to show yet.
    """

    def __init__(
        self,
        stream: TextIO,
        render: Callable[[int], str | None],
        interval: float = REFRESH_SECONDS,
    ) -> None:
        self.stream = stream
        self.render = render
        self.interval = interval
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._shown = False
        self._broken = False
        self._closed = False

    def __enter__(self) -> StatusLine:
        self._thread = threading.Thread(target=self._loop, name="coach-status", daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=2.0)
        with self._lock:
            self._closed = True
            if self._shown:
                self._write("\r" + CLEAR_TO_END)
                self._shown = False

    def refresh(self) -> None:
        """Repaint now (after a key, so the change shows at once)."""
        with self._lock:
            self._paint()

    def print_above(self, text: str) -> None:
        """Print `text` on its own lines, then repaint the status line below it."""
        with self._lock:
            self._write("\r" + CLEAR_TO_END + self._encodable(text.rstrip("\n")) + "\n")
            self._shown = False
            if not self._closed:
                self._paint()

    def _loop(self) -> None:
        while not self._stop.is_set():
            with self._lock:
                self._paint()
            self._stop.wait(self.interval)

    def _paint(self) -> None:
        if self._closed:
            return
        try:
            text = self.render(self._width())
        except Exception:  # a status line must never take playback down
            return
        if text is None:
            return
        self._write("\r" + self._encodable(text) + CLEAR_TO_END)
        self._shown = True

    def _encodable(self, text: str) -> str:
        """`text` with what the terminal's encoding lacks (the ellipsis, a step's accents)
        as "?": sys.stderr would write it as a longer escape, and the line would wrap."""
        encoding = getattr(self.stream, "encoding", None) or "utf-8"
        try:
            text.encode(encoding)
            return text
        except (UnicodeEncodeError, LookupError):
            return text.encode(encoding, "replace").decode(encoding, "replace")

    def _width(self) -> int:
        try:
            columns = os.get_terminal_size(self.stream.fileno()).columns
        except (OSError, ValueError, AttributeError):
            columns = 80
        return max(10, columns - 1)  # never the last column: no wrap, so \r still works

    def _write(self, text: str) -> None:
        if self._broken:
            return
        try:
            self.stream.write(text)
            self.stream.flush()
        except (OSError, ValueError):  # the terminal went away: stop painting, go on playing
            self._broken = True
            with contextlib.suppress(Exception):
                self._stop.set()
