"""Bounds: events, distinct spoken lines and text length after expansion, and the 4 hours."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from helpers import RATE, SOUND_LENGTHS, fake_clips

from coach import sounds
from coach.checker import check
from coach.compiler import compile_routine
from coach.diagnostics import Diagnostic, Position, render_diagnostics
from coach.expansion import BUILTIN_SOUND_SECONDS, Pace, Sizes
from coach.layout import lay_out, session_too_long
from coach.loader import check_file
from coach.parser import parse
from coach.timeline import Timeline

BOUNDS = Path(__file__).parent / "fixtures" / "bounds"
PATH = "test.routine"
EVENTS = "the routine expands to more than 100,000 events by here"
LINES = "the routine has more than 5,000 distinct spoken lines by here"
TEXT = "over the 600-character limit for a spoken text"


def checked(*lines: str) -> list[Diagnostic]:
    routine, diagnostics = parse("title: T\n" + "\n".join(lines) + "\n", PATH)
    assert diagnostics == []
    return check(routine)


def problems(*lines: str) -> list[tuple[int, int, str]]:
    return [(d.position.line, d.position.column, d.message) for d in checked(*lines)]


def items(count: int, prefix: str = "i") -> str:
    return ", ".join(f"{prefix}{number}" for number in range(count))


# Events -----------------------------------------------------------------------------------------

# 99 loops of 200 quick breaths with both holds and a hiss, 5 events a breath: 99,000 events.
NINETY_NINE_THOUSAND = [
    f"for x in: {items(99)}:",
    "    breathe 200 times: in 0.1s, hold 0.1s, out 0.1s hiss, hold 0.1s",
    "breathe 199 times: in 0.1s, hold 0.1s, out 0.1s hiss, hold 0.1s",  # 995 more
]


def test_100000_events_with_the_closing_bell_are_accepted() -> None:
    says = ["say: Done."] * 4
    assert checked(*NINETY_NINE_THOUSAND, *says) == []  # 99,995 + 4 + the bell


def test_100001_events_are_an_error_at_the_statement_that_passes_the_bound() -> None:
    says = ["say: Done."] * 5
    assert problems(*NINETY_NINE_THOUSAND, *says) == [(9, 1, EVENTS)]


def test_eight_nested_loops_of_100_items_are_refused_at_once_without_expanding() -> None:
    path = BOUNDS / "for-8x100.routine"
    start = time.perf_counter()
    found = check_file(path)
    assert time.perf_counter() - start < 1.0
    assert [(d.position, d.message) for d in found if "events" in d.message] == [
        (Position(str(path), 10, 33), EVENTS)
    ]
    (events,) = [d for d in found if "events" in d.message]
    assert events.hint == (
        "expanded, it makes 10,000,000,000,000,001 events (spoken lines, clicks, sounds);"
        " every for, include and repeat multiplies what its block makes"
    )


def test_the_event_count_multiplies_through_loops_between_blocks_and_repeats() -> None:
    text = "title: T\nfor x in: a, b, c:\n    repeat 4 times\nbetween:\n    say: Next.\n"
    routine, _ = parse(text, PATH)
    expected = 3 * 4 + 2 * 1 + 1  # clicks, the lines between passes, the bell
    assert Sizes().routine(routine, Pace(4.0, 150, 0.6))[0] == expected
    plan = compile_routine(routine)
    assert len(lay_out(plan, RATE, fake_clips(plan), SOUND_LENGTHS).events) == expected


def test_a_loop_of_settings_alone_still_counts_toward_the_events() -> None:
    loops = [("    " * depth) + f"for v{depth} in: {items(100)}:" for depth in range(3)]
    found = problems(*loops, "    " * 3 + "rate: 150 wpm")
    assert [message for _, _, message in found] == [EVENTS]


# Distinct spoken lines --------------------------------------------------------------------------


def test_ten_thousand_distinct_lines_are_refused_where_the_5001st_is_spoken() -> None:
    path = BOUNDS / "lines-10000.routine"
    found = check_file(path)
    assert [(d.position, d.message) for d in found] == [(Position(str(path), 4, 9), LINES)]


def test_5000_distinct_lines_are_accepted() -> None:
    assert (
        problems(f"for a in: {items(50)}:", f"    for b in: {items(100)}:", "        say: {a}{b}")
        == []
    )


def test_the_5001st_distinct_line_is_an_error() -> None:
    loops = [f"for a in: {items(50)}:", f"    for b in: {items(100)}:", "        say: {a}{b}"]
    assert problems(*loops, "say: One more.") == [(5, 1, LINES)]


def test_a_line_spoken_again_is_not_counted_again() -> None:
    loops = [f"for a in: {items(50)}:", f"    for b in: {items(100)}:", "        say: {a}{b}"]
    assert problems(*loops, "say: {{Again}}", "say: {{Again}}", "say: i0i0") == [(5, 1, LINES)]


def test_coachs_own_words_count_as_spoken_lines() -> None:
    loops = [f"for a in: {items(50)}:", f"    for b in: {items(100)}:", "        say: {a}{b}"]
    assert problems(*loops, "hold 10s, countdown 1") == [(5, 1, LINES)]  # "1"


def test_the_same_text_at_another_rate_is_another_line() -> None:
    loops = [f"for a in: {items(50)}:", f"    for b in: {items(100)}:", "        say: {a}{b}"]
    assert problems(*loops, "rate: 120 wpm", "say: i0i0") == [(6, 1, LINES)]


# Length of a spoken text ------------------------------------------------------------------------


def test_a_text_of_600_characters_is_accepted() -> None:
    assert problems("say: " + "a" * 600) == []


def test_a_text_of_601_characters_is_an_error_at_the_text() -> None:
    assert problems("say: " + "a" * 601) == [(2, 6, f"this text is 601 characters long, {TEXT}")]


def test_a_text_over_600_characters_once_filled_in_is_an_error() -> None:
    found = problems(f"for x in: short, {'x' * 300}:", "    say: {x} " + "a" * 300)
    assert found == [
        (3, 10, f"this text is up to 601 characters long with its placeholders filled in, {TEXT}")
    ]


@pytest.mark.parametrize(
    "lines, where",
    [
        (["step " + "S" * 601 + ":", "    pause 1s"], (2, 6)),
        (["repeat 2 times:", "    beat: " + "b" * 601], (3, 11)),
    ],
)
def test_step_names_and_beat_words_are_bounded_too(
    lines: list[str], where: tuple[int, int]
) -> None:
    assert problems(*lines) == [(*where, f"this text is 601 characters long, {TEXT}")]


def test_a_100_kb_line_of_braces_is_checked_and_rendered_fast_and_short(tmp_path: Path) -> None:
    path = tmp_path / "braces.routine"
    path.write_text("title: T\nsay: " + "}a" * 50_000 + "\n")
    start = time.perf_counter()
    shown = render_diagnostics(check_file(path))
    assert time.perf_counter() - start < 2.0
    assert len(shown) < 20_000
    assert shown.endswith(f"and 49,951 more errors in {path}")


# Four hours -------------------------------------------------------------------------------------


def test_the_builtin_sound_lengths_are_those_coach_synthesizes() -> None:
    rate = 22050
    for name, seconds in BUILTIN_SOUND_SECONDS.items():
        made = len(sounds.builtin_sound(name, rate)) / rate
        assert made == pytest.approx(seconds, abs=1e-3), name


def test_builtin_sounds_count_toward_the_4_hours() -> None:
    assert problems("pause 2h", "pause 1h 59m 57s", "sound: bell") == []
    found = problems("pause 2h", "pause 1h 59m 58s", "sound: bell")
    assert found == [
        (
            4,
            1,
            "the routine lasts at least 4h 1s by here, over the 4 hour limit for a whole routine",
        )
    ]


def test_the_laid_out_session_is_held_to_4_hours_less_its_closing_bell() -> None:
    rate = 100
    fits = Timeline("T", rate, length=rate * (4 * 3600 + 3) + 50, intro_end=50)
    assert session_too_long(fits, PATH) is None
    over = Timeline("T", rate, length=rate * (4 * 3600 + 4) + 50, intro_end=50)
    problem = session_too_long(over, PATH)
    assert problem is not None
    assert (problem.position, problem.message) == (
        Position(PATH, 1, 1),
        "the session lasts 4h 4s once its speech is rendered, over the 4 hour limit for a whole"
        " routine",
    )
