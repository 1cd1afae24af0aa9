"""Bounds: diagnostics stay readable, at most 50 a file and source lines clipped to 120."""

from __future__ import annotations

from coach.diagnostics import (
    MAX_SOURCE_WIDTH,
    Diagnostic,
    Position,
    RoutineError,
    render_diagnostics,
)


def error(line: int, file: str = "a.routine", warning: bool = False) -> Diagnostic:
    return Diagnostic(Position(file, line, 1), f"problem {line}", "warning" if warning else "error")


def source_and_caret(diagnostic: Diagnostic) -> tuple[str, str]:
    _, source, caret, *_ = diagnostic.render().split("\n")
    return source.removeprefix("    "), caret.removeprefix("    ")


def test_fifty_diagnostics_of_a_file_are_all_shown() -> None:
    shown = render_diagnostics([error(n) for n in range(1, 51)])
    assert shown.count("error: problem") == 50
    assert "more" not in shown


def test_past_fifty_one_line_says_how_many_more_errors_the_file_has() -> None:
    shown = render_diagnostics([error(n) for n in range(1, 61)]).split("\n")
    assert len(shown) == 51
    assert shown[-1] == "and 10 more errors in a.routine"


def test_one_more_error_is_said_in_the_singular() -> None:
    shown = render_diagnostics([error(n) for n in range(1, 52)])
    assert shown.endswith("\nand 1 more error in a.routine")


def test_hidden_warnings_are_counted_apart_from_errors() -> None:
    diagnostics = [error(n) for n in range(1, 53)] + [error(60, warning=True)]
    shown = render_diagnostics(diagnostics)
    assert shown.endswith("\nand 2 more errors and 1 more warning in a.routine")


def test_the_cap_is_per_file_and_its_line_follows_that_files_diagnostics() -> None:
    diagnostics = [error(n) for n in range(1, 56)] + [error(1, "b.routine")]
    lines = render_diagnostics(diagnostics).split("\n")
    assert lines[50:] == ["and 5 more errors in a.routine", "b.routine:1:1: error: problem 1"]


def test_a_routine_error_renders_with_the_cap() -> None:
    rendered = RoutineError([error(n) for n in range(1, 101)]).render()
    assert rendered.endswith("\nand 50 more errors in a.routine")


def test_a_short_source_line_is_shown_whole() -> None:
    diagnostic = Diagnostic(Position("a", 1, 6), "m", source_line="say: Hello.")
    assert source_and_caret(diagnostic) == ("say: Hello.", "     ^")


def test_a_long_line_is_clipped_around_the_column_with_the_caret_under_its_character() -> None:
    line = "".join(chr(ord("a") + n % 26) for n in range(10_000))
    for column in (1, 50, 115, 2000, 5000, 9890, 9999, 10_000, 10_001):
        source, caret = source_and_caret(
            Diagnostic(Position("a", 1, column), "m", source_line=line)
        )
        assert len(source) <= MAX_SOURCE_WIDTH, column
        index = caret.index("^")
        expected = line[column - 1] if column <= len(line) else ""
        assert source[index : index + 1] == expected, column


def test_a_clipped_line_shows_dots_where_it_was_cut() -> None:
    line = "x" * 1000
    start, _ = source_and_caret(Diagnostic(Position("a", 1, 1), "m", source_line=line))
    middle, _ = source_and_caret(Diagnostic(Position("a", 1, 500), "m", source_line=line))
    end, _ = source_and_caret(Diagnostic(Position("a", 1, 1000), "m", source_line=line))
    assert (start[-3:], start[:3] == "...") == ("...", False)
    assert (middle[:3], middle[-3:]) == ("...", "...")
    assert (end[:3], end[-3:] == "...") == ("...", False)


def test_tabs_before_the_column_keep_the_caret_lined_up() -> None:
    diagnostic = Diagnostic(Position("a", 1, 3), "m", source_line="\t\tpause 1s")
    assert source_and_caret(diagnostic) == ("\t\tpause 1s", "\t\t^")


def test_control_characters_from_the_file_are_shown_as_question_marks() -> None:
    diagnostic = Diagnostic(Position("a", 1, 7), "bad \x1b[2J", source_line="say: \x1b[31mred")
    lines = diagnostic.render().split("\n")
    assert lines[0] == "a:1:7: error: bad ?[2J"
    assert lines[1:] == ["    say: ?[31mred", "          ^"]


def test_a_very_long_message_is_shortened() -> None:
    diagnostic = Diagnostic(Position("a", 1, 1), "m" * 10_000, hint="h" * 10_000)
    first, hint = diagnostic.render().split("\n")
    assert len(first) < 400 and first.endswith("...")
    assert len(hint) < 400 and hint.endswith("...")
