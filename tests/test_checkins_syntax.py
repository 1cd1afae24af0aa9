"""Check-ins in the language: `check-in:` header lines and `check in every D` on hold and
repeat become nodes, and every mistake in them a placed error with a hint."""

from __future__ import annotations

from textwrap import dedent

from coach import nodes
from coach.checker import check
from coach.diagnostics import Diagnostic, Position
from coach.parser import parse

PATH = "test.routine"


def parsed(text: str) -> tuple[nodes.Routine, list[Diagnostic]]:
    return parse(dedent(text), PATH)


def only(text: str) -> nodes.Statement:
    routine, diagnostics = parsed(text)
    assert diagnostics == []
    assert len(routine.body) == 1
    return routine.body[0]


def parse_problem(text: str) -> Diagnostic:
    _, diagnostics = parsed(text)
    assert len(diagnostics) == 1, [d.render() for d in diagnostics]
    return diagnostics[0]


def check_problems(text: str) -> list[Diagnostic]:
    routine, diagnostics = parsed(text)
    assert diagnostics == [], [d.render() for d in diagnostics]
    return check(routine)


def at(line: int, column: int) -> Position:
    return Position(PATH, line, column)


# Header ---------------------------------------------------------------------------------------


def test_check_in_header_lines_may_repeat_and_keep_their_order_and_positions() -> None:
    routine, diagnostics = parsed(
        """\
        title: T
        check-in: If anything hurts, ease off.
        check-in:   Still comfortable?
        say: Go.
        """
    )
    assert diagnostics == []
    assert [text.raw for text in routine.header.check_ins] == [
        "If anything hurts, ease off.",
        "Still comfortable?",
    ]
    assert [text.position for text in routine.header.check_ins] == [at(2, 11), at(3, 13)]


def test_an_empty_check_in_line_is_an_error_at_the_colon() -> None:
    problem = parse_problem("title: T\ncheck-in:\nsay: Go.\n")
    assert (problem.position, problem.message) == (
        at(2, 10),
        "'check-in:' needs a value after the colon",
    )


def test_a_misspelt_check_in_key_in_the_header_hints_the_right_one() -> None:
    problem = parse_problem("title: T\ncheckin: Ease off.\nsay: Go.\n")
    assert (problem.position, problem.message) == (at(2, 1), "unknown keyword 'checkin'")
    assert problem.hint == "did you mean 'check-in'?"


def test_a_check_in_line_after_the_first_statement_belongs_in_the_header() -> None:
    problem = parse_problem("title: T\nsay: Go.\ncheck-in: Ease off.\n")
    assert problem.position == at(3, 1)
    assert problem.message == "'check-in:' belongs in the header, before the first statement"


# hold -----------------------------------------------------------------------------------------


def test_hold_takes_check_in_every_among_its_options_in_any_order() -> None:
    hold = only("title: T\nhold 2 min, check in every 30s, countdown 5, halfway\n")
    assert hold == nodes.Hold(at(2, 1), 120.0, countdown=5, halfway=True, check_in=30.0)
    assert hold.columns["check_in"] == 28


def test_check_in_every_takes_any_duration() -> None:
    hold = only("title: T\nhold 5 min, check in every 1m30s\n")
    assert isinstance(hold, nodes.Hold) and hold.check_in == 90.0


def test_check_in_without_every_is_an_error_after_check_in() -> None:
    problem = parse_problem("title: T\nhold 2 min, check in 30s\n")
    assert (problem.position, problem.message) == (
        at(2, 22),
        "expected 'every' after 'check in', found '30s'",
    )
    assert problem.hint == "write it like 'hold 2 min, check in every 30s'"


def test_check_without_in_every_is_an_error_after_check() -> None:
    problem = parse_problem("title: T\nhold 2 min, check-in every 30s\n")
    assert (problem.position, problem.message) == (
        at(2, 18),
        "expected 'in every' after 'check', found '-in every 30s'",
    )


def test_check_in_every_without_a_duration_is_an_error_at_its_end() -> None:
    problem = parse_problem("title: T\nhold 2 min, check in every\n")
    assert (problem.position, problem.message) == (
        at(2, 27),
        "missing a duration after 'check in every'",
    )


def test_a_bad_check_in_interval_is_a_unit_error_at_the_interval() -> None:
    problem = parse_problem("title: T\nhold 2 min, check in every 30 parsecs\n")
    assert (problem.position, problem.message) == (at(2, 31), "unknown unit 'parsecs'")


def test_check_in_given_twice_is_an_error_at_the_second() -> None:
    problem = parse_problem("title: T\nhold 2 min, check in every 30s, check in every 5s\n")
    assert (problem.position, problem.message) == (at(2, 33), "'check in every' is given twice")


def test_a_misspelt_check_in_option_hints_the_right_one() -> None:
    problem = parse_problem("title: T\nhold 2 min, checkin every 30s\n")
    assert problem.message == "unknown hold option 'checkin every 30s'"
    assert problem.hint == "did you mean 'check in every'?"


def test_an_unknown_hold_option_names_all_three_options() -> None:
    problem = parse_problem("title: T\nhold 2 min, loudly\n")
    assert problem.hint == "a hold takes 'countdown N', 'halfway' and 'check in every D'"


def test_check_in_without_a_comma_hints_the_comma() -> None:
    problem = parse_problem("title: T\nhold 2 min check in every 30s\n")
    assert problem.hint == "separate the options with commas: 'hold 30s, countdown 5, halfway'"


# repeat ---------------------------------------------------------------------------------------


def test_repeat_takes_check_in_every_after_a_comma_with_or_without_a_block() -> None:
    repeat = only("title: T\nrepeat 25 times, check in every 60s\n")
    assert repeat == nodes.Repeat(at(2, 1), 25, check_in=60.0)
    assert repeat.columns["check_in"] == 33
    opened = only("title: T\nrepeat 25 times, check in every 60s:\n    beat: up\n")
    assert isinstance(opened, nodes.Repeat)
    assert (opened.check_in, [b.word.raw for b in opened.beats]) == (60.0, ["up"])


def test_repeat_takes_check_in_every_after_its_tempo() -> None:
    repeat = only(
        "title: T\nrepeat 25 times at 15 per minute, check in every 1 min:\n    beat: up\n"
    )
    assert isinstance(repeat, nodes.Repeat)
    assert (repeat.period, repeat.check_in) == (4.0, 60.0)


def test_repeat_check_in_without_a_comma_hints_the_comma() -> None:
    problem = parse_problem("title: T\nrepeat 25 times check in every 60s\n")
    assert problem.message == "expected 'at TEMPO' after 'times', found 'check in every 60s'"
    assert problem.hint == "separate the option with a comma: 'repeat 25 times, check in every 60s'"


def test_a_tempo_after_the_comma_is_told_to_come_first() -> None:
    problem = parse_problem("title: T\nrepeat 25 times, at 15/min\n")
    assert (problem.position, problem.message) == (at(2, 18), "unknown repeat option 'at 15/min'")
    assert problem.hint == (
        "write the tempo before the options: 'repeat 25 times at 15 per minute, check in every 60s'"
    )


def test_a_misspelt_repeat_option_hints_check_in_every() -> None:
    problem = parse_problem("title: T\nrepeat 25 times, chek in every 60s\n")
    assert problem.message == "unknown repeat option 'chek in every 60s'"
    assert problem.hint == "did you mean 'check in every'?"


def test_an_empty_repeat_option_is_an_error() -> None:
    problem = parse_problem("title: T\nrepeat 25 times,\n")
    assert (problem.position, problem.message) == (at(2, 17), "empty option after ','")


def test_check_in_every_as_a_line_of_its_own_says_where_it_goes() -> None:
    for text in (
        "title: T\nsay: Go.\ncheck in every 30s\n",
        "title: T\nrepeat 5 times:\n    beat: up\n    check in every 30s\n",
    ):
        problem = parse_problem(text)
        assert problem.message == "'check in every' goes after a comma on a 'hold' or 'repeat' line"
        assert problem.hint is not None and "repeat 25 times, check in every 60s" in problem.hint


# Checks ---------------------------------------------------------------------------------------


def messages(text: str) -> list[tuple[int, int, str, str]]:
    return [
        (d.position.line, d.position.column, d.severity, d.message) for d in check_problems(text)
    ]


def test_a_check_in_every_minute_in_a_long_hold_and_repeat_is_fine() -> None:
    text = (
        "title: T\n"
        "hold 5 min, countdown 5, check in every 1 min\n"
        "repeat 30 times, check in every 30s\n"
    )
    assert messages(text) == []


def test_a_zero_check_in_interval_is_an_error_at_the_interval() -> None:
    assert messages("title: T\nhold 2 min, check in every 0s\n") == [
        (2, 28, "error", "a check-in interval must last longer than 0 seconds")
    ]


def test_a_check_in_interval_over_two_hours_is_an_error() -> None:
    assert messages("title: T\nhold 2 min, check in every 121 min\n") == [
        (2, 28, "error", "a check-in interval of 2h 1m is over the 2 hour limit")
    ]


def test_a_check_in_interval_of_two_hours_is_within_the_bound() -> None:
    assert messages("title: T\nhold 2h, check in every 2h\n")[0][2:] == (
        "warning",
        "a check-in every 2h never sounds in this 2h hold",
    )
    assert messages("title: T\nhold 2h, check in every 119 min\n") == []


def test_an_interval_as_long_as_the_hold_is_a_warning_that_it_never_sounds() -> None:
    (problem,) = check_problems("title: T\nhold 30s, check in every 30s\n")
    assert (problem.severity, problem.message) == (
        "warning",
        "a check-in every 30s never sounds in this 30s hold",
    )
    assert problem.position == at(2, 26)
    assert problem.hint == "the first check-in comes one interval in; give a shorter interval"


def test_a_check_in_that_would_fall_in_the_countdown_never_sounds() -> None:
    assert messages("title: T\nhold 30s, countdown 10, check in every 20s\n") == [
        (
            2,
            40,
            "warning",
            "a check-in every 20s never sounds in this 30s hold before its countdown of 10",
        )
    ]
    assert messages("title: T\nhold 30s, countdown 10, check in every 19s\n") == []


def test_an_interval_as_long_as_the_reps_is_a_warning() -> None:
    assert messages("title: T\nrepeat 10 times at 15/min, check in every 40s\n") == [
        (2, 43, "warning", "a check-in every 40s never sounds in these reps, which last 40s")
    ]


def test_a_repeat_counts_its_reps_at_the_tempo_in_force() -> None:
    assert messages("title: T\ntempo: 6/min\nrepeat 10 times, check in every 60s\n") == []


def test_an_interval_under_five_seconds_is_a_warning_that_it_is_too_often() -> None:
    (problem,) = check_problems("title: T\nhold 1 min, check in every 4s\n")
    assert (problem.severity, problem.message) == (
        "warning",
        "a check-in every 4s is too often to be said",
    )
    assert messages("title: T\nhold 1 min, check in every 5s\n") == []


def test_a_hold_that_is_wrong_itself_gets_no_check_in_warning_on_top() -> None:
    assert [m[3] for m in messages("title: T\nhold 5s, countdown 9, check in every 10s\n")] == [
        "countdown 9 is longer than the 5s hold"
    ]


def test_a_placeholder_in_a_check_in_line_is_unknown_as_no_for_variable_is_in_scope() -> None:
    text = (
        "title: T\n"
        "check-in: Ease off your {side}.\n"
        "for side in: left, right:\n"
        "    hold 1 min, check in every 20s\n"
    )
    (problem,) = check_problems(text)
    assert (problem.position, problem.message) == (at(2, 25), "unknown placeholder '{side}'")
    assert problem.hint == "no for variable is in scope here; write '{{' for a literal brace"


def test_literal_braces_and_brace_mistakes_in_check_in_lines_are_checked() -> None:
    assert messages("title: T\ncheck-in: {{Breathe}}\nhold 1 min, check in every 20s\n") == []
    assert messages("title: T\ncheck-in: Ease {off\nhold 1 min\n") == [
        (2, 16, "error", "unmatched '{'")
    ]


def test_a_check_in_line_over_600_characters_is_an_error() -> None:
    text = f"title: T\ncheck-in: {'a' * 601}\nhold 1 min, check in every 20s\n"
    (problem,) = check_problems(text)
    assert problem.message.startswith("this text is 601 characters long, over the 600-character")
