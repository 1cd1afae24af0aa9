"""The live status line: what is playing now as one line of text, repainted on a terminal."""

from __future__ import annotations

import contextlib
import math
import os
import re
import threading
from collections.abc import Callable
from typing import TextIO

from coach.commands import COMMANDS
from coach.timeline import Timeline
from coach.words import words_for

REFRESH_SECONDS = 0.25
CLEAR_TO_END = "\x1b[K"

KEYS_HINT = "Keys: space pause, n next step, b back, q quit, ? help."


def _help() -> str:
    rows = [(" or ".join(c.key_labels), c.does) for c in COMMANDS if c.key_labels]
    rows += [("? or h", "show these keys"), ("Ctrl-C", "stop at once")]
    width = max(len(keys) for keys, _ in rows)
    return "Keys (no Enter needed):\n" + "\n".join(
        f"  {keys.ljust(width)}  {does}" for keys, does in rows
    )


HELP = _help()


def clock(seconds: float) -> str:
    """m:ss, or h:mm:ss from an hour on."""
    whole = max(0, int(seconds))
    hours, rest = divmod(whole, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


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
    """("step 3 of 8", name) inside a step, ("before step 4 of 8", name) before one starts,
    ("finishing", "") after the last, ("", "") for a session without steps."""
    place, index, name = step_place(timeline, position)
    total = len(timeline.chapters)
    if place == "in":
        return f"step {index + 1} of {total}", name
    if place == "before":
        return f"before step {index + 1} of {total}", name
    return place, ""


def where_text(timeline: Timeline, position: int) -> str:
    """What coach says when asked where the listener is, in the session's language: "Step 3
    of 8, Wall roll. Rep 12 of 25." (the rep only in a run of reps; before the first step:
    "Before step 1 of 8, ..."). The status line stays in English: it is coach's own display."""
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
    """The status line for `position` (a sample): paused, elapsed and remaining time, the
    step, the rep and the step's name, in that order, cut to `width` characters.

    `remaining` is how many samples are still to play (default: to the session's end).
    `heading_to` is where playback jumps next (after a lead-in, the --from step): the step
    shown is then the one it jumps to.
    """
    rate = timeline.sample_rate
    if remaining is None:
        remaining = max(0, timeline.length - position)
    parts: list[str] = []
    if paused:
        parts.append("paused")
    if note:
        parts.append(note)
    left = clock(math.ceil(remaining / rate))
    parts.append(f"{clock(position / rate)} elapsed, {left} left")
    label, name = step_label(timeline, position)
    if heading_to is not None:
        label, name = step_label(timeline, heading_to)
        label = "before " + label if label.startswith("step") else label
    if label:
        parts.append(label)
    rep = timeline.rep_at(position)
    if rep is not None:
        parts.append(f"rep {rep[0]} of {rep[1]}")
    if name:
        parts.append(name)
    return fit(" | ".join(parts), width)


def fit(text: str, width: int | None) -> str:
    """`text` cut to `width` characters, ending in "..." when cut."""
    if width is None or len(text) <= width:
        return text
    if width <= 3:
        return text[: max(0, width)]
    return text[: width - 3] + "..."


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
            self._write("\r" + CLEAR_TO_END + text.rstrip("\n") + "\n")
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
        self._write("\r" + text + CLEAR_TO_END)
        self._shown = True

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
