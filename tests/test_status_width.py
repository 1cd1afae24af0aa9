"""The status line at any terminal width from 40 columns, and truthful in the opening and
after a jump back (issue 13)."""

from __future__ import annotations

import pytest
from conftest import RATE

from coach.status import status_text
from coach.timeline import Chapter, RepRun, Timeline

S = RATE
LONG = "Roll the balls slowly up and down the whole of the back, from the buttocks to the neck"


def session(hours: bool = False) -> Timeline:
    """An opening to 5 s, "Warm up" 5-20 s, a gap, a step with a long name 25-50 s with 10
    reps of 2 s from 30 s, then the bell; over an hour long with `hours`."""
    chapters = [Chapter("Warm up", 5 * S, 20 * S), Chapter(LONG, 25 * S, 50 * S)]
    reps = [RepRun(30 * S, 10, 2.0, 1)]
    length = (3725 if hours else 60) * S
    return Timeline("Test", RATE, length, chapters, [], reps, intro_end=S)


MOMENTS = [  # (position, keyword arguments): every kind of moment, the busiest last
    (2 * S, {}),
    (10 * S, {}),
    (22 * S, {}),
    (35 * S, {}),
    (55 * S, {}),
    (35 * S, {"paused": True}),
    (35 * S, {"paused": True, "note": "already at the last step"}),
    (S // 2, {"remaining": 36 * S, "heading_to": 25 * S}),
]


@pytest.mark.parametrize("hours", [False, True])
@pytest.mark.parametrize("width", [40, 41, 50, 60, 80, 120, 200])
def test_no_line_is_longer_than_the_width(width: int, hours: bool) -> None:
    for position, options in MOMENTS:
        text = status_text(session(hours), position, width=width, **options)  # type: ignore[arg-type]
        assert len(text) <= width, text
        assert "\n" not in text


@pytest.mark.parametrize("width", [40, 80, 200])
def test_the_essential_parts_stay(width: int) -> None:
    """The step and the rep are never dropped; paused shows first; a long name is shortened
    with an ellipsis rather than cut off unmarked."""
    text = status_text(session(), 35 * S, paused=True, width=width)
    assert text.startswith("paused | ")
    assert ("step 2 of 2" in text) or ("step 2/2" in text)
    assert ("rep 3 of 10" in text) or ("rep 3/10" in text)
    assert text.endswith("\u2026") != (width == 200)  # whole at 200, shortened below
    noted = status_text(
        session(), 35 * S, paused=True, note="already at the last step", width=width
    )
    assert "step 2" in noted and "rep 3" in noted and "already" in noted


def test_a_wide_terminal_shows_everything_in_words() -> None:
    text = status_text(session(), 35 * S, width=200)
    assert text == f"0:35 of 1:00, 0:25 left | step 2 of 2 | rep 3 of 10 | {LONG}"


def test_at_80_columns_the_time_left_stays() -> None:
    text = status_text(session(), 35 * S, width=80)
    assert "0:25 left" in text and "step 2" in text and "rep 3" in text and "…" in text


def test_the_opening_is_the_introduction_not_before_step_1() -> None:
    for width in (None, 40, 80, 200):
        text = status_text(session(), 2 * S, width=width)
        assert "before step" not in text and "before 1/" not in text
        assert "intro" in text
    assert status_text(session(), 2 * S).endswith("| introduction | next: Warm up")
    # Between two steps it is still "before" the next one: that one has not begun.
    assert "before step 2 of 2" in status_text(session(), 22 * S)


def test_the_clock_is_the_position_and_follows_a_jump_back() -> None:
    """The clock says where in the session the sound is ("0:35 of 1:00"), not a time spent
    that could not go down: after `b` it shows the step's start, truthfully."""
    timeline = session()
    before = status_text(timeline, 35 * S)
    after_back = status_text(timeline, 25 * S)  # back to the step's start
    assert "elapsed" not in before and "elapsed" not in after_back
    assert before.startswith("0:35 of 1:00, 0:25 left")
    assert after_back.startswith("0:25 of 1:00, 0:35 left")


def test_the_time_left_and_the_length_agree_at_the_start() -> None:
    """At 0:00 the time left is the session's length as every command prints it."""
    timeline = Timeline("Odd", RATE, 308 * S + S * 6 // 10)  # 5:08.6
    assert status_text(timeline, 0) == "0:00 of 5:09, 5:09 left"


@pytest.mark.parametrize("columns", [40, 50, 80, 200])
@pytest.mark.parametrize("label", ["Rendering speech", f"Writing {'long-name-' * 8}.mp3"])
def test_the_progress_bar_fits_the_terminal(columns: int, label: str) -> None:
    """click's bar, laid out by cli_session.bar_layout, never reaches the last column (a
    50-column terminal wrapped it, and each repaint then started a new line)."""
    import click

    from coach.cli_session import bar_layout

    layout = bar_layout(label, columns)
    bar = click.progressbar(length=100, **layout)
    for pos in (0, 40, 99):
        bar.pos, bar.eta_known, bar.avg = pos, True, [1.0]
        assert len(bar.format_progress_line()) <= columns - 1
    assert layout["width"] >= 10
    assert layout["label"] == label or layout["label"].endswith(("\u2026", "..."))
