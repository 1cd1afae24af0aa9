"""The live status line: its text for any moment of a session, and its painting."""

from __future__ import annotations

import io
import time

from conftest import RATE

from coach.status import HELP, StatusLine, clock, fit, status_text, step_label
from coach.timeline import Chapter, RepRun, Timeline

S = RATE  # one second


def session() -> Timeline:
    """60 s: an intro, "Warm up" 5-20 s, a gap, "Roll" 25-50 s with 10 reps of 2 s from
    30 s, then the bell."""
    chapters = [Chapter("Warm up", 5 * S, 20 * S), Chapter("Roll the balls", 25 * S, 50 * S)]
    reps = [RepRun(30 * S, 10, 2.0, 1)]
    return Timeline("Test", RATE, 60 * S, chapters, [], reps, intro_end=S)


def test_clock() -> None:
    assert clock(0) == "0:00" and clock(59.9) == "0:59" and clock(61) == "1:01"
    assert clock(3725) == "1:02:05" and clock(-1) == "0:00"


def test_inside_a_step_with_elapsed_and_remaining() -> None:
    text = status_text(session(), 10 * S)
    assert text == "0:10 of 1:00, 0:50 left | step 1 of 2 | Warm up"


def test_reps_are_counted() -> None:
    timeline = session()
    assert "rep 1 of 10" in status_text(timeline, 30 * S)
    text = status_text(timeline, 35 * S + S // 2)
    assert text == "0:35 of 1:00, 0:25 left | step 2 of 2 | rep 3 of 10 | Roll the balls"
    assert "rep 10 of 10" in status_text(timeline, 49 * S)
    assert "rep" not in status_text(timeline, 50 * S)


def test_paused_comes_first() -> None:
    text = status_text(session(), 10 * S, paused=True)
    assert text.startswith("paused | 0:10 of 1:00")


def test_before_between_and_after_the_steps() -> None:
    timeline = session()
    assert step_label(timeline, 0) == ("introduction", "next: Warm up")
    assert step_label(timeline, 22 * S) == ("before step 2 of 2", "Roll the balls")
    assert step_label(timeline, 55 * S) == ("finishing", "")
    assert status_text(timeline, 55 * S).endswith("| finishing")
    bare = Timeline("No steps", RATE, 10 * S)
    assert status_text(bare, 2 * S) == "0:02 of 0:10, 0:08 left"


def test_remaining_follows_the_play_order() -> None:
    """With --from the rest of the session is shorter than the session after `position`."""
    text = status_text(session(), 2 * S, remaining=40 * S)
    assert "0:02 of 1:00, 0:40 left" in text
    assert "0:01 left" in status_text(session(), 10 * S, remaining=S // 2)  # rounds up


def test_a_note_and_the_width() -> None:
    text = status_text(session(), 45 * S, note="already at the last step")
    assert text.startswith("already at the last step | 0:45 of 1:00")
    cut = status_text(session(), 45 * S, paused=True, width=40)
    assert cut == "paused | step 2/2 | rep 8/10 | Roll the…"
    assert fit("abc", 2) == "a\u2026" and fit("abc", None) == "abc"


class Terminal(io.StringIO):
    def fileno(self) -> int:
        raise OSError("not a real terminal")


def test_status_line_paints_prints_above_and_clears() -> None:
    stream = Terminal()
    texts = iter(["first", "second", "third", "fourth"] + ["last"] * 100)
    with StatusLine(stream, lambda width: next(texts), interval=0.01) as line:
        time.sleep(0.05)
        line.print_above(HELP)
    out = stream.getvalue()
    assert out.startswith("\rfirst\x1b[K")
    assert "\r\x1b[K" + HELP + "\n\r" in out  # help on its own lines, the status below
    assert out.endswith("\r\x1b[K")  # cleared on leaving
    before = len(out)
    line.refresh()
    assert len(stream.getvalue()) == before  # nothing painted once closed


def test_status_line_shows_nothing_until_there_is_something() -> None:
    stream = Terminal()
    with StatusLine(stream, lambda width: None, interval=0.01):
        time.sleep(0.03)
    assert stream.getvalue() == ""


def test_status_line_survives_a_broken_terminal() -> None:
    class Gone(Terminal):
        def write(self, text: str) -> int:
            raise OSError(5, "Input/output error")

    with StatusLine(Gone(), lambda width: "x", interval=0.01) as line:
        time.sleep(0.03)
        line.print_above("still fine")


def test_during_a_lead_in_the_step_ahead_is_shown() -> None:
    """`coach play --from 2 --lead-in`: the countdown is heard first, then step 2."""
    text = status_text(session(), S // 2, remaining=36 * S, heading_to=25 * S)
    assert text == "0:00 of 1:00, 0:36 left | before step 2 of 2 | Roll the balls"


def test_asked_where_in_the_opening_coach_names_the_step_that_comes_next() -> None:
    from coach.status import where_text

    assert where_text(session(), 2 * S) == "Step 1 of 2, Warm up, comes next."
    assert where_text(session(), 10 * S) == "Step 1 of 2, Warm up."
