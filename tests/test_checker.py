"""Checker: every bound is accepted at its limit and rejected one past it, with exact positions."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from coach import checker, defaults, nodes
from coach.checker import check, estimate_seconds, placeholders
from coach.diagnostics import Diagnostic, Position
from coach.parser import parse

PATH = "test.routine"
FIXTURES = Path(__file__).parent / "fixtures" / "routines"


def routine_of(*lines: str) -> nodes.Routine:
    """A routine with a title on line 1 and `lines` from line 2 on; it must parse cleanly."""
    routine, diagnostics = parse("title: T\n" + "\n".join(lines) + "\n", PATH)
    assert diagnostics == []
    return routine


def diagnostics_of(*lines: str, voices: list[str] | None = None) -> list[Diagnostic]:
    return check(routine_of(*lines), voices)


def problems(*lines: str, voices: list[str] | None = None) -> list[tuple[int, int, str]]:
    """(line, column, message) of every diagnostic."""
    found = diagnostics_of(*lines, voices=voices)
    return [(d.position.line, d.position.column, d.message) for d in found]


def only(*lines: str, voices: list[str] | None = None) -> Diagnostic:
    found = diagnostics_of(*lines, voices=voices)
    assert len(found) == 1, found
    return found[0]


# Whole routine --------------------------------------------------------------------------------


def test_the_spec_example_has_no_problems() -> None:
    text = (FIXTURES / "wall-ball.routine").read_text()
    routine, _ = parse(text, "wall-ball.routine")
    assert check(routine) == []


def test_a_missing_title_is_an_error_at_the_first_line() -> None:
    routine, _ = parse("say: Hello.\n", PATH)
    (problem,) = check(routine)
    assert (problem.position, problem.message) == (Position(PATH, 1, 1), "missing title")
    assert problem.source_line == "say: Hello."
    assert problem.hint == "start the file with a line like 'title: Morning stretch'"


def test_a_routine_without_statements_is_an_error() -> None:
    routine, _ = parse("title: Nothing\ntempo: 15/min\n", PATH)
    assert [(d.position, d.message) for d in check(routine)] == [
        (Position(PATH, 1, 1), "the routine has no statements")
    ]


def test_a_routine_whose_only_statement_did_not_parse_is_not_called_empty() -> None:
    routine, parse_errors = parse("title: T\npause 1 fortnight\n", PATH)
    assert len(parse_errors) == 1
    assert check(routine) == []


def test_an_out_of_range_count_is_reported_once_not_again_as_a_long_routine() -> None:
    assert problems("repeat 5000 times") == [(2, 8, "repeat count 5000 is outside 1 to 1000")]


def test_every_diagnostic_carries_its_source_line() -> None:
    (problem,) = diagnostics_of("say: Hi.", "pause 3h")
    assert problem.source_line == "pause 3h"


# Counts ---------------------------------------------------------------------------------------


def test_repeat_count_1000_is_accepted() -> None:
    assert problems("repeat 1000 times") == []


def test_repeat_count_1001_is_rejected_at_the_count() -> None:
    assert problems("repeat 1001 times") == [(2, 8, "repeat count 1001 is outside 1 to 1000")]


def test_repeat_count_0_is_rejected() -> None:
    assert problems("repeat 0 times") == [(2, 8, "repeat count 0 is outside 1 to 1000")]


def test_breathe_count_200_is_accepted() -> None:
    assert problems("breathe 200 times: in 1s, out 1s") == []


def test_breathe_count_201_is_rejected_at_the_count() -> None:
    assert problems("breathe 201 times: in 1s, out 1s") == [
        (2, 9, "breathe count 201 is outside 1 to 200")
    ]


def test_breathe_count_0_is_rejected() -> None:
    assert problems("breathe 0 times: in 1s, out 1s") == [
        (2, 9, "breathe count 0 is outside 1 to 200")
    ]


def test_count_every_1_is_accepted() -> None:
    assert problems("repeat 5 times:", "    count every 1") == []


def test_count_every_0_is_rejected_at_the_number() -> None:
    assert problems("repeat 5 times:", "    count every 0") == [
        (3, 17, "'count every' must be at least 1")
    ]


def test_a_for_list_of_100_items_is_accepted() -> None:
    items = ", ".join(f"i{n}" for n in range(100))
    assert problems(f"for x in: {items}:", "    say: {x}") == []


def test_a_for_list_of_101_items_is_rejected_at_the_101st_item() -> None:
    items = ", ".join(f"i{n:03}" for n in range(101))
    line = f"for x in: {items}:"
    column = line.index("i100") + 1
    assert problems(line, "    pause 1s") == [
        (2, column, "the for list has 101 items, over the limit of 100")
    ]


# Durations ------------------------------------------------------------------------------------


def test_a_duration_of_2_hours_is_accepted() -> None:
    assert problems("pause 2h") == []


def test_a_duration_one_second_over_2_hours_is_rejected_at_the_duration() -> None:
    problem = only("pause 2h 1s")
    assert (problem.position.line, problem.position.column) == (2, 7)
    assert problem.message == "a pause of 2h 1s is over the 2 hour limit"
    assert problem.hint == "one duration may be at most 2 hours"


@pytest.mark.parametrize(
    ("line", "column", "what"),
    [
        ("hold 7201s", 6, "a hold"),
        ("breathe 1 times: in 7201s, out 1s", 21, "a breath in"),
        ("breathe 1 times: in 1s, out 7201s", 29, "a breath out"),
        ("breathe 1 times: in 1s, hold 7201s, out 1s", 30, "a hold"),
        ("gap: 7201s", 6, "a gap"),
    ],
)
def test_every_kind_of_duration_is_limited_to_2_hours(line: str, column: int, what: str) -> None:
    assert problems("say: Hi.", line) == [(3, column, f"{what} of 2h 1s is over the 2 hour limit")]


@pytest.mark.parametrize(
    ("line", "column", "what"),
    [
        ("pause 0s", 7, "a pause"),
        ("hold 0s", 6, "a hold"),
        ("breathe 1 times: in 0s, out 1s", 21, "a breath in"),
        ("breathe 1 times: in 1s, out 0s", 29, "a breath out"),
    ],
)
def test_durations_that_need_time_must_be_longer_than_zero(
    line: str, column: int, what: str
) -> None:
    assert problems(line) == [(2, column, f"{what} must last longer than 0 seconds")]


def test_holds_inside_breathe_and_the_gap_may_be_zero() -> None:
    assert problems("gap: 0", "breathe 1 times: in 1s, hold 0s, out 1s, hold 0s") == []


# The whole routine ----------------------------------------------------------------------------


def test_a_routine_of_exactly_4_hours_is_accepted() -> None:
    assert problems("pause 2h", "pause 2h") == []


def test_a_routine_over_4_hours_is_rejected_where_it_passes_the_limit() -> None:
    problem = only("pause 2h", "pause 1h", "pause 59 min", "pause 61s", "pause 1s")
    assert (problem.position.line, problem.position.column) == (5, 1)
    assert problem.message == (
        "the routine lasts at least 4h 1s by here, over the 4 hour limit for a whole routine"
    )


def test_speech_counts_toward_the_4_hours() -> None:
    problem = only("pause 2h", "pause 2h", "say: Almost.", "pause 1s")
    assert (problem.position.line, problem.position.column) == (4, 1)
    assert problem.message.startswith("the routine lasts at least 4h 0.84s by here")


def test_speech_is_estimated_low_letters_at_6_over_the_rate_plus_the_gap() -> None:
    routine = routine_of("rate: 120 wpm", "gap: 1s", "say: Twenty letters here, okay.")
    assert estimate_seconds(routine) == pytest.approx(21 * 6 / 120 + 1.0)


def test_a_placeholder_counts_the_letters_of_its_shortest_item() -> None:
    routine = routine_of("gap: 0", "for x in: ab, abcdef:", "    say: {x}")
    assert estimate_seconds(routine) == pytest.approx(2 * 2 * 6 / defaults.DEFAULT_RATE)


def test_a_for_loop_over_4_hours_is_reported_in_the_pass_that_crosses_it() -> None:
    problem = only("for x in: a, b, c, d, e:", "    pause 50 min", "    pause 10 min", "pause 1s")
    assert (problem.position.line, problem.message) == (
        3,
        "the routine lasts at least 4h 50m by here, over the 4 hour limit for a whole routine",
    )


def test_the_default_tempo_is_15_reps_per_minute_in_the_estimate() -> None:
    four_hours = ["repeat 900 times"] * 4  # 900 reps of 4 s = 1 h each
    assert problems(*four_hours) == []
    assert problems(*four_hours, "repeat 1 times") == [
        (
            6,
            1,
            "the routine lasts at least 4h 4s by here, over the 4 hour limit for a whole routine",
        )
    ]


def test_the_tempo_setting_in_force_is_used_in_the_estimate() -> None:
    assert problems("tempo: 30 per minute", *["repeat 900 times"] * 8) == []


def test_a_for_loop_counts_its_body_per_item_and_between_per_gap() -> None:
    fits = ["for x in: a, b, c:", "    pause 1h", "between:", "    pause 30 min"]
    assert problems(*fits) == []  # 3 x 1h + 2 x 30min = 4h
    over = ["for x in: a, b, c:", "    pause 1h", "between:", "    pause 31 min"]
    assert problems(*over) == [  # in the third pass
        (
            3,
            5,
            "the routine lasts at least 4h 2m by here, over the 4 hour limit for a whole routine",
        )
    ]


def test_the_estimate_counts_breaths_holds_and_reps() -> None:
    routine = routine_of(
        "breathe 2 times: in 4s, hold 1s, out 6s, hold 1s",
        "hold 30s",
        "repeat 10 times at every 3s",
        "step S:",
        "    repeat 5 times",
    )
    assert estimate_seconds(routine) == 2 * 12 + 30 + 10 * 3 + 5 * defaults.DEFAULT_TEMPO_PERIOD


# Hold countdown -------------------------------------------------------------------------------


def test_a_countdown_as_long_as_the_hold_is_accepted() -> None:
    assert problems("hold 5s, countdown 5") == []


def test_a_countdown_longer_than_the_hold_is_rejected_at_the_count() -> None:
    assert problems("hold 5s, countdown 6") == [(2, 20, "countdown 6 is longer than the 5s hold")]


def test_a_countdown_of_zero_is_rejected() -> None:
    assert problems("hold 5s, countdown 0") == [(2, 20, "countdown must be at least 1")]


def test_a_halfway_cue_inside_the_countdown_is_a_warning() -> None:
    (problem,) = diagnostics_of("hold 6s, countdown 4, halfway")
    assert problem.severity == "warning"
    assert (problem.position, problem.message) == (
        Position(PATH, 2, 23),
        "the halfway cue falls inside the countdown",
    )


# Tempo, rate, voice ---------------------------------------------------------------------------


@pytest.mark.parametrize("tempo", ["240 per minute", "1 per minute", "every 60s", "every 0.25s"])
def test_tempos_from_1_to_240_reps_per_minute_are_accepted(tempo: str) -> None:
    assert problems(f"tempo: {tempo}", "repeat 2 times") == []


@pytest.mark.parametrize(
    ("tempo", "shown"),
    [("241 per minute", "241"), ("0.5 per minute", "0.5"), ("every 120s", "0.5")],
)
def test_tempos_outside_1_to_240_reps_per_minute_are_rejected(tempo: str, shown: str) -> None:
    assert problems(f"tempo: {tempo}", "repeat 2 times") == [
        (2, 8, f"tempo {shown} per minute is outside 1 to 240 reps per minute")
    ]


def test_a_repeat_tempo_out_of_range_is_rejected_at_the_tempo() -> None:
    assert problems("repeat 2 times at 300/min") == [
        (2, 19, "tempo 300 per minute is outside 1 to 240 reps per minute")
    ]


@pytest.mark.parametrize("rate", [80, 450])
def test_rates_from_80_to_450_wpm_are_accepted(rate: int) -> None:
    assert problems("say: Hi.", f"rate: {rate} wpm") == []


@pytest.mark.parametrize("rate", [79, 451])
def test_rates_outside_80_to_450_wpm_are_rejected(rate: int) -> None:
    assert problems("say: Hi.", f"rate: {rate} wpm") == [
        (3, 7, f"rate {rate} wpm is outside 80 to 450 words per minute")
    ]


def test_an_unknown_voice_is_rejected_with_a_did_you_mean_hint() -> None:
    problem = only("voice: gmw/en-uss", "say: Hi.", voices=["gmw/en-us", "gmw/en-gb"])
    assert (problem.position, problem.message) == (
        Position(PATH, 2, 8),
        "unknown voice 'gmw/en-uss'",
    )
    assert problem.hint == "did you mean 'gmw/en-us'?"


def test_an_unknown_voice_far_from_any_points_to_coach_voices() -> None:
    problem = only("voice: klingon", "say: Hi.", voices=["gmw/en-us"])
    assert problem.hint == "run 'coach voices' to list the voices"


def test_a_known_voice_is_accepted() -> None:
    assert problems("voice: gmw/en-us", "say: Hi.", voices=["gmw/en-us"]) == []


def test_voices_are_not_checked_without_a_list_of_known_voices() -> None:
    assert problems("voice: anything", "say: Hi.") == []


def test_beats_shorter_than_a_quarter_second_are_a_warning() -> None:
    (problem,) = diagnostics_of(
        "repeat 4 times at 120/min:", "    beat: a", "    beat: b", "    beat: c"
    )
    assert problem.severity == "warning"
    assert (problem.position, problem.message) == (
        Position(PATH, 2, 19),
        "each beat lasts only 0.17s at this tempo",
    )


def test_beats_of_a_quarter_second_are_fine() -> None:
    assert problems("repeat 4 times at 120/min:", "    beat: a", "    beat: b") == []


# Placeholders ---------------------------------------------------------------------------------


def test_placeholders_naming_the_for_variable_are_accepted_everywhere() -> None:
    assert (
        problems(
            "for zone in: a, b:",
            "    step Roll {zone}:",
            "        say: At {zone}.",
            "        repeat 2 times:",
            "            beat: {zone}",
            "between:",
            "    say: Done with {zone}.",
        )
        == []
    )


def test_an_unknown_placeholder_is_rejected_at_its_brace_with_the_names_in_scope() -> None:
    problem = only("for zone in: a, b:", "    say: At {zon}.")
    assert (problem.position, problem.message) == (
        Position(PATH, 3, 13),
        "unknown placeholder '{zon}'",
    )
    assert problem.hint == "did you mean '{zone}'? names in scope: {zone}"


def test_a_placeholder_outside_any_for_is_rejected() -> None:
    problem = only("say: Hello {name}.")
    assert (problem.position, problem.message) == (
        Position(PATH, 2, 12),
        "unknown placeholder '{name}'",
    )
    assert problem.hint == "no for variable is in scope here; write '{{' for a literal brace"


def test_a_placeholder_in_a_step_name_is_checked() -> None:
    assert problems("step Roll {zone}:", "    pause 1s") == [
        (2, 11, "unknown placeholder '{zone}'")
    ]


def test_a_loop_variable_is_not_in_scope_after_its_loop() -> None:
    assert problems("for a in: x:", "    pause 1s", "say: {a}") == [
        (4, 6, "unknown placeholder '{a}'")
    ]


def test_nested_loops_list_every_name_in_scope() -> None:
    problem = only("for a in: x:", "    for b in: y:", "        say: {c}")
    assert problem.hint == "names in scope: {a}, {b}"


def test_double_braces_are_literal() -> None:
    assert problems("say: Use {{braces}} and }} and {{.") == []


def test_an_unmatched_opening_brace_is_rejected_at_the_brace() -> None:
    problem = only("say: Oops { here")
    assert (problem.position, problem.message) == (Position(PATH, 2, 11), "unmatched '{'")
    assert problem.hint == "write '{{' for a literal brace"


def test_an_unmatched_closing_brace_is_rejected_at_the_brace() -> None:
    problem = only("say: Oops } here")
    assert (problem.position, problem.message) == (Position(PATH, 2, 11), "unmatched '}'")
    assert problem.hint == "write '}}' for a literal brace"


def test_a_placeholder_that_is_not_a_name_is_rejected() -> None:
    assert problems("say: {two words}") == [(2, 6, "'{two words}' is not a valid placeholder")]


def test_three_placeholder_problems_give_three_diagnostics() -> None:
    assert problems("say: {a} } {") == [
        (2, 6, "unknown placeholder '{a}'"),
        (2, 10, "unmatched '}'"),
        (2, 12, "unmatched '{'"),
    ]


def test_placeholders_lists_names_and_problems_by_offset() -> None:
    assert [(p.offset, p.name, p.problem) for p in placeholders("{{x}} {a} {")] == [
        (6, "a", None),
        (10, None, "unmatched '{'"),
    ]


def test_a_for_variable_hiding_an_outer_one_is_a_warning_at_the_name() -> None:
    (problem,) = diagnostics_of("for a in: x:", "    for a in: y:", "        say: {a}")
    assert problem.severity == "warning"
    assert (problem.position.line, problem.position.column) == (3, 9)
    assert problem.message == "'a' hides the for variable of the same name on line 2"


def test_included_statements_are_checked_in_the_scope_of_the_include() -> None:
    routine = routine_of("for a in: x:", "    include: part.routine")
    loop = routine.body[0]
    assert isinstance(loop, nodes.For)
    include = loop.body[0]
    assert isinstance(include, nodes.Include)
    part, _ = parse("say: {a} {b}\n", "part.routine")
    include.body = part.body
    routine.sources.update(part.sources)
    assert [(d.position, d.message) for d in check(routine)] == [
        (Position("part.routine", 1, 10), "unknown placeholder '{b}'")
    ]


# Defaults -------------------------------------------------------------------------------------


def test_the_defaults_are_15_reps_per_minute_150_wpm_and_a_short_gap() -> None:
    assert defaults.DEFAULT_TEMPO_PERIOD == checker.DEFAULT_TEMPO_PERIOD == 4.0
    assert defaults.DEFAULT_RATE == checker.DEFAULT_RATE == 150
    assert defaults.DEFAULT_GAP == checker.DEFAULT_GAP == 0.6
    assert defaults.DEFAULT_VOICE is checker.DEFAULT_VOICE is None


# Robustness -----------------------------------------------------------------------------------

_FRAGMENTS = st.sampled_from(
    [
        "say:",
        "pause",
        "hold",
        "breathe",
        "repeat",
        "step",
        "for",
        "between:",
        "beat:",
        "count every",
        "times",
        "at",
        "in",
        "out",
        "hiss",
        "countdown",
        "halfway",
        "in:",
        ":",
        ",",
        "{",
        "}",
        "{x}",
        "{{",
        "x",
        "5s",
        "0",
        "0s",
        "3h",
        "1001",
        "9" * 30,
        "15/min",
        "every",
        "tempo:",
        "rate:",
        "voice:",
        "\n",
        "\n    ",
        "\n        ",
        "for x in: a, b:\n    say: {x}\n",
    ]  # fmt: skip
)


@settings(max_examples=1500, deadline=None)
@given(st.lists(_FRAGMENTS, max_size=40).map(" ".join))
def test_whatever_the_parser_accepts_the_checker_checks_without_exceptions(text: str) -> None:
    routine, _ = parse("title: T\n" + text, PATH)
    for diagnostic in check(routine, ["gmw/en-us"]):
        assert diagnostic.position.line >= 1 and diagnostic.position.column >= 1
