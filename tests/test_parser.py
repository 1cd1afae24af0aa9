"""Parser: every statement becomes the right node, and every mistake a precisely placed error."""

from __future__ import annotations

from pathlib import Path
from textwrap import dedent

from hypothesis import given, settings
from hypothesis import strategies as st

from coach import nodes
from coach.diagnostics import Diagnostic, Position
from coach.parser import parse

PATH = "test.routine"
FIXTURES = Path(__file__).parent / "fixtures" / "routines"


def parsed(text: str) -> tuple[nodes.Routine, list[Diagnostic]]:
    return parse(dedent(text), PATH)


def body_of(text: str) -> list[nodes.Statement]:
    routine, diagnostics = parsed(text)
    assert diagnostics == []
    return routine.body


def only(text: str) -> nodes.Statement:
    body = body_of(text)
    assert len(body) == 1
    return body[0]


def problems(text: str) -> list[tuple[int, int, str]]:
    """(line, column, message) of every diagnostic."""
    _, diagnostics = parsed(text)
    return [(d.position.line, d.position.column, d.message) for d in diagnostics]


def only_problem(text: str) -> Diagnostic:
    _, diagnostics = parsed(text)
    assert len(diagnostics) == 1, diagnostics
    return diagnostics[0]


def at(line: int, column: int) -> Position:
    return Position(PATH, line, column)


# Header ---------------------------------------------------------------------------------------


def test_header_text_keys_fill_the_header() -> None:
    routine, diagnostics = parsed(
        """\
        title: Wall ball release
        about: Rolling out the back.
        equipment: two tennis balls, a smooth wall
        source: a physio
        say: Hello.
        """
    )
    assert diagnostics == []
    header = routine.header
    assert header.title == "Wall ball release"
    assert header.about == "Rolling out the back."
    assert header.equipment == "two tennis balls, a smooth wall"
    assert header.source == "a physio"


def test_header_settings_become_typed_setting_nodes() -> None:
    routine, diagnostics = parsed(
        """\
        title: T
        tempo: 15 per minute
        rate: 140 wpm
        voice: gmw/en-us
        gap:  0.5s
        say: Hello.
        """
    )
    assert diagnostics == []
    assert routine.header.settings == [
        nodes.Setting(at(2, 1), "tempo", 4.0),
        nodes.Setting(at(3, 1), "rate", 140),
        nodes.Setting(at(4, 1), "voice", "gmw/en-us"),
        nodes.Setting(at(5, 1), "gap", 0.5),
    ]
    assert [s.columns["value"] for s in routine.header.settings] == [8, 7, 8, 7]


def test_the_header_ends_at_the_first_statement() -> None:
    routine, _ = parsed("title: T\nsay: Hello.\ntempo: 20/min\n")
    assert routine.header.settings == []
    assert routine.body[1] == nodes.Setting(at(3, 1), "tempo", 3.0)


def test_a_header_key_given_twice_is_an_error() -> None:
    problem = only_problem("title: One\ntitle: Two\nsay: Hi.\n")
    assert (problem.position, problem.message) == (at(2, 1), "'title:' is already given on line 1")


def test_a_header_key_without_value_is_an_error_after_the_colon() -> None:
    problem = only_problem("title:\nsay: Hi.\n")
    assert (problem.position, problem.message) == (
        at(1, 7),
        "'title:' needs a value after the colon",
    )


def test_a_header_key_without_colon_is_an_error_where_the_colon_should_be() -> None:
    problem = only_problem("title My routine\nsay: Hi.\n")
    assert problem.position == at(1, 7)
    assert problem.message == "expected ':' after 'title', found 'My routine'"


def test_an_unknown_header_key_gets_a_did_you_mean_hint() -> None:
    problem = only_problem("titel: My routine\nsay: Hi.\n")
    assert (problem.position, problem.message) == (at(1, 1), "unknown keyword 'titel'")
    assert problem.hint == "did you mean 'title'?"


def test_an_unknown_header_key_does_not_end_the_header() -> None:
    routine, diagnostics = parsed("auther: me\ntitle: T\nsay: Hi.\n")
    assert [d.message for d in diagnostics] == ["unknown keyword 'auther'"]
    assert routine.header.title == "T"


def test_a_header_key_after_the_first_statement_is_an_error() -> None:
    problem = only_problem("say: Hi.\nequipment: a mat\n")
    assert problem.position == at(2, 1)
    assert problem.message == "'equipment:' belongs in the header, before the first statement"


def test_a_bad_header_setting_is_reported_inside_its_value() -> None:
    problem = only_problem("title: T\ntempo: 15 per fortnight\nsay: Hi.\n")
    assert (problem.position, problem.message) == (at(2, 15), "unknown tempo unit 'fortnight'")


# say, pause, hold -----------------------------------------------------------------------------


def test_say_holds_its_text_and_the_column_where_the_text_starts() -> None:
    assert only("say:   Breathe in.") == nodes.Say(at(1, 1), nodes.Text("Breathe in.", at(1, 8)))


def test_say_text_keeps_braces_as_written() -> None:
    say = only("say: Roll {zone} {{slowly}}")
    assert isinstance(say, nodes.Say)
    assert say.text.raw == "Roll {zone} {{slowly}}"


def test_say_without_text_is_an_error() -> None:
    problem = only_problem("say:")
    assert (problem.position, problem.message) == (at(1, 5), "'say:' needs text after the colon")


def test_say_without_colon_is_an_error_where_the_colon_should_be() -> None:
    problem = only_problem("say hello")
    assert (problem.position, problem.message) == (
        at(1, 5),
        "expected ':' after 'say', found 'hello'",
    )
    assert problem.hint == "write it like 'say: Breathe in slowly.'"


def test_pause_holds_its_duration_in_seconds() -> None:
    pause = only("pause 1m30s")
    assert pause == nodes.Pause(at(1, 1), 90.0)
    assert isinstance(pause, nodes.Pause) and pause.columns["seconds"] == 7


def test_pause_tolerates_a_colon() -> None:
    assert only("pause: 5s") == nodes.Pause(at(1, 1), 5.0)


def test_pause_without_duration_is_an_error() -> None:
    problem = only_problem("pause")
    assert (problem.position, problem.message) == (at(1, 6), "'pause' needs a duration")


def test_a_bad_pause_duration_is_reported_at_the_bad_part() -> None:
    problem = only_problem("pause 5 parsecs")
    assert (problem.position, problem.message) == (at(1, 9), "unknown unit 'parsecs'")


def test_hold_holds_its_duration() -> None:
    assert only("hold 30s") == nodes.Hold(at(1, 1), 30.0)


def test_hold_takes_countdown_and_halfway_in_any_order() -> None:
    expected = nodes.Hold(at(1, 1), 30.0, countdown=5, halfway=True)
    assert only("hold 30s, countdown 5, halfway") == expected
    assert only("hold 30s, halfway, countdown 5") == expected


def test_hold_records_the_columns_of_its_options() -> None:
    hold = only("hold 30s, countdown 5, halfway")
    assert isinstance(hold, nodes.Hold)
    assert hold.columns == {"seconds": 6, "countdown": 21, "halfway": 24}


def test_an_unknown_hold_option_gets_a_hint() -> None:
    problem = only_problem("hold 30s, countdwn 5")
    assert (problem.position, problem.message) == (at(1, 11), "unknown hold option 'countdwn 5'")
    assert problem.hint == "did you mean 'countdown'?"


def test_hold_options_without_commas_get_a_hint() -> None:
    problem = only_problem("hold 30s countdown 5")
    assert (problem.position, problem.message) == (
        at(1, 10),
        "unexpected 'countdown 5' after the duration",
    )
    assert problem.hint == "separate the options with commas: 'hold 30s, countdown 5, halfway'"


def test_a_hold_option_given_twice_is_an_error() -> None:
    problem = only_problem("hold 30s, halfway, halfway")
    assert (problem.position, problem.message) == (at(1, 20), "'halfway' is given twice")


def test_a_countdown_needs_a_whole_number() -> None:
    problem = only_problem("hold 30s, countdown five")
    assert (problem.position, problem.message) == (
        at(1, 21),
        "expected a whole number, found 'five'",
    )


def test_a_trailing_comma_after_hold_is_an_empty_option() -> None:
    problem = only_problem("hold 30s,")
    assert (problem.position, problem.message) == (at(1, 10), "empty option after ','")


# breathe --------------------------------------------------------------------------------------


def test_breathe_holds_count_inhale_and_exhale() -> None:
    assert only("breathe 4 times: in 4s, out 6s") == nodes.Breathe(at(1, 1), 4, 4.0, 6.0)


def test_breathe_takes_holds_after_in_and_after_out() -> None:
    breathe = only("breathe 4 times: in 4s, hold 2s, out 6s, hold 1s")
    assert breathe == nodes.Breathe(at(1, 1), 4, 4.0, 6.0, hold_in=2.0, hold_out=1.0)


def test_breathe_takes_hiss_after_the_exhale() -> None:
    assert only("breathe 3 times: in 4s, out 6s hiss") == nodes.Breathe(
        at(1, 1), 3, 4.0, 6.0, hiss=True
    )


def test_breathe_tolerates_hiss_after_a_comma() -> None:
    assert only("breathe 3 times: in 4s, out 6s, hiss") == nodes.Breathe(
        at(1, 1), 3, 4.0, 6.0, hiss=True
    )


def test_breathe_accepts_one_time() -> None:
    assert only("breathe 1 time: in 4s, out 4s") == nodes.Breathe(at(1, 1), 1, 4.0, 4.0)


def test_breathe_records_the_columns_of_its_values() -> None:
    breathe = only("breathe 3 times: in 4s, hold 1s, out 6s hiss")
    assert isinstance(breathe, nodes.Breathe)
    assert breathe.columns == {
        "count": 9,
        "inhale": 21,
        "hold_in": 30,
        "exhale": 38,
        "hiss": 41,
    }


def test_breathe_without_out_is_an_error_at_the_end_of_the_line() -> None:
    problem = only_problem("breathe 3 times: in 4s")
    assert (problem.position, problem.message) == (
        at(1, 23),
        "'breathe' needs 'out D' after 'in D'",
    )


def test_breathe_out_before_in_is_an_error() -> None:
    problem = only_problem("breathe 3 times: out 6s, in 4s")
    assert (problem.position, problem.message) == (at(1, 18), "'in D' must come before 'out D'")


def test_breathe_without_colon_is_an_error() -> None:
    problem = only_problem("breathe 3 times in 4s, out 6s")
    assert (problem.position, problem.message) == (
        at(1, 17),
        "expected ':' after 'times', found 'in 4s, out 6s'",
    )


def test_breathe_without_times_is_an_error() -> None:
    problem = only_problem("breathe 3: in 4s, out 6s")
    assert (problem.position, problem.message) == (at(1, 10), "expected 'times' after the count")


def test_an_unknown_breathe_part_gets_a_hint() -> None:
    problem = only_problem("breathe 3 times: inn 4s, out 6s")
    assert problem.position == at(1, 18)
    assert (
        problem.message
        == "expected 'in', 'hold', 'out' or 'hiss', found 'inn 4s' (did you mean 'in'?)"
    )


def test_hiss_before_the_exhale_is_an_error() -> None:
    problem = only_problem("breathe 3 times: in 4s hiss, out 6s")
    assert (problem.position, problem.message) == (
        at(1, 24),
        "unexpected 'hiss' after the duration",
    )


# repeat ---------------------------------------------------------------------------------------


def test_repeat_without_tempo_uses_the_current_one() -> None:
    assert only("repeat 25 times") == nodes.Repeat(at(1, 1), 25)


def test_repeat_at_a_tempo_holds_the_period() -> None:
    assert only("repeat 25 times at 20 per minute") == nodes.Repeat(at(1, 1), 25, period=3.0)


def test_repeat_accepts_every_duration_as_its_tempo() -> None:
    assert only("repeat 10 times every 6s") == nodes.Repeat(at(1, 1), 10, period=6.0)


def test_repeat_block_holds_beats_and_count_every() -> None:
    repeat = only(
        """\
        repeat 25 times at 15/min:
            beat: up
            beat: down
            count every 5
        """
    )
    assert repeat == nodes.Repeat(
        at(1, 1),
        25,
        period=4.0,
        beats=[
            nodes.Beat(at(2, 5), nodes.Text("up", at(2, 11))),
            nodes.Beat(at(3, 5), nodes.Text("down", at(3, 11))),
        ],
        count_every=nodes.CountEvery(at(4, 5), 5),
    )


def test_repeat_block_may_hold_settings_and_comments() -> None:
    repeat = only(
        """\
        repeat 4 times:
            # spoken a little faster
            rate: 180 wpm
            tempo: every 5s
            beat: in
        """
    )
    assert isinstance(repeat, nodes.Repeat)
    assert repeat.settings == [
        nodes.Setting(at(3, 5), "rate", 180),
        nodes.Setting(at(4, 5), "tempo", 5.0),
    ]
    assert repeat.period == 5.0


def test_a_repeat_with_two_tempos_is_an_error() -> None:
    problem = only_problem("repeat 4 times at 15/min:\n    tempo: 20/min\n")
    assert (problem.position, problem.message) == (
        at(2, 5),
        "this repeat already has a tempo ('at ...' on its line)",
    )


def test_other_statements_cannot_go_inside_a_repeat_block() -> None:
    problem = only_problem("repeat 4 times:\n    say: Up.\n")
    assert (problem.position, problem.message) == (
        at(2, 5),
        "'say' cannot go inside a repeat block",
    )


def test_count_every_twice_is_an_error() -> None:
    problem = only_problem("repeat 4 times:\n    count every 2\n    count every 3\n")
    assert (problem.position, problem.message) == (
        at(3, 5),
        "'count every' is already given on line 2",
    )


def test_count_without_every_is_an_error() -> None:
    problem = only_problem("repeat 4 times:\n    count 2\n")
    assert (problem.position, problem.message) == (
        at(2, 11),
        "expected 'every K' after 'count', found '2'",
    )


def test_beat_outside_repeat_is_an_error() -> None:
    problem = only_problem("beat: up")
    assert (problem.position, problem.message) == (
        at(1, 1),
        "'beat' is only allowed inside a 'repeat N times:' block",
    )


def test_count_every_outside_repeat_is_an_error() -> None:
    problem = only_problem("step A:\n    count every 5\n")
    assert (problem.position, problem.message) == (
        at(2, 5),
        "'count' is only allowed inside a 'repeat N times:' block",
    )


def test_repeat_without_times_is_an_error_after_the_count() -> None:
    problem = only_problem("repeat 25")
    assert (problem.position, problem.message) == (at(1, 10), "expected 'times' after the count")


def test_repeat_with_a_bad_count_is_an_error_at_the_count() -> None:
    problem = only_problem("repeat many times")
    assert (problem.position, problem.message) == (
        at(1, 8),
        "expected a whole number, found 'many'",
    )


def test_repeat_with_text_after_times_is_an_error() -> None:
    problem = only_problem("repeat 5 times quickly")
    assert (problem.position, problem.message) == (
        at(1, 16),
        "expected 'at TEMPO' after 'times', found 'quickly'",
    )


def test_repeat_with_a_block_but_no_colon_is_an_error_at_the_block() -> None:
    problem = only_problem("repeat 25 times\n    beat: up\n")
    assert (problem.position, problem.message) == (at(2, 5), "unexpected indented block")
    assert problem.hint == "end the repeat line with ':' to give it 'beat:' lines"


def test_repeat_with_a_colon_but_no_block_is_an_error() -> None:
    problem = only_problem("repeat 25 times:\nsay: Done.\n")
    assert (problem.position, problem.message) == (
        at(1, 1),
        "'repeat ...:' needs an indented block below it",
    )


# step, for, between ---------------------------------------------------------------------------


def test_step_holds_its_name_and_body() -> None:
    step = only("step   Warm up:\n    pause 5s\n")
    assert step == nodes.Step(
        at(1, 1), nodes.Text("Warm up", at(1, 8)), [nodes.Pause(at(2, 5), 5.0)]
    )


def test_step_without_final_colon_is_an_error_at_the_end() -> None:
    problem = only_problem("step Warm up\n    pause 5s\n")
    assert (problem.position, problem.message) == (
        at(1, 13),
        "expected ':' at the end of the step line",
    )


def test_step_with_the_colon_after_the_keyword_is_an_error() -> None:
    problem = only_problem("step: Warm up\n    pause 5s\n")
    assert (problem.position, problem.message) == (
        at(1, 5),
        "expected the step's name after 'step', found ':'",
    )


def test_step_without_name_is_an_error() -> None:
    problem = only_problem("step:\n    pause 5s\n")
    assert (problem.position, problem.message) == (at(1, 5), "'step' needs a name")


def test_step_without_block_is_an_error() -> None:
    problem = only_problem("step Warm up:\npause 5s\n")
    assert (problem.position, problem.message) == (
        at(1, 1),
        "'step NAME:' needs an indented block below it",
    )


def test_for_holds_variable_items_and_body() -> None:
    loop = only("for side in: left, right:\n    say: {side}\n")
    assert loop == nodes.For(
        at(1, 1),
        "side",
        ["left", "right"],
        [nodes.Say(at(2, 5), nodes.Text("{side}", at(2, 10)))],
    )


def test_for_records_the_columns_of_its_variable_and_items() -> None:
    loop = only("for side in: left,  right:\n    pause 1s\n")
    assert isinstance(loop, nodes.For)
    assert loop.columns == {"variable": 5, "items": 14, "items[0]": 14, "items[1]": 21}


def test_for_tolerates_in_without_colon() -> None:
    loop = only("for side in left, right:\n    pause 1s\n")
    assert isinstance(loop, nodes.For) and loop.items == ["left", "right"]


def test_an_empty_for_item_is_an_error_at_its_place() -> None:
    problem = only_problem("for side in: left, , right:\n    pause 1s\n")
    assert (problem.position, problem.message) == (at(1, 20), "empty item in the for list")


def test_a_for_variable_must_be_a_name() -> None:
    problem = only_problem("for 2sides in: left, right:\n    pause 1s\n")
    assert (problem.position, problem.message) == (
        at(1, 5),
        "'2sides' is not a valid variable name",
    )


def test_for_without_in_is_an_error() -> None:
    problem = only_problem("for side: left, right:\n    pause 1s\n")
    assert (problem.position, problem.message) == (
        at(1, 9),
        "expected 'in:' after the variable name",
    )


def test_for_without_items_is_an_error() -> None:
    problem = only_problem("for side in:\n    pause 1s\n")
    assert (problem.position, problem.message) == (at(1, 13), "'for' needs a list of items")


def test_for_without_final_colon_is_an_error_at_the_end() -> None:
    problem = only_problem("for side in: left, right\n    pause 1s\n")
    assert (problem.position, problem.message) == (
        at(1, 25),
        "expected ':' at the end of the for line",
    )


def test_between_after_a_for_block_becomes_its_between() -> None:
    loop = only(
        """\
        for side in: left, right:
            pause 1s
        # a comment in between is fine

        between:
            pause 2s
        """
    )
    assert isinstance(loop, nodes.For)
    assert loop.between == [nodes.Pause(at(6, 5), 2.0)]


def test_between_without_a_for_is_an_error() -> None:
    problem = only_problem("say: Hi.\nbetween:\n    pause 2s\n")
    assert (problem.position, problem.message) == (
        at(2, 1),
        "'between:' must come directly after a 'for' block",
    )


def test_between_not_directly_after_the_for_is_an_error() -> None:
    problem = only_problem("for a in: x, y:\n    pause 1s\nsay: Hi.\nbetween:\n    pause 2s\n")
    assert (problem.position, problem.message) == (
        at(4, 1),
        "'between:' must come directly after a 'for' block",
    )


def test_between_inside_the_for_block_is_an_error() -> None:
    problem = only_problem("for a in: x, y:\n    pause 1s\n    between:\n        pause 2s\n")
    assert (problem.position, problem.message) == (
        at(3, 5),
        "'between:' must come directly after a 'for' block",
    )


def test_between_with_text_after_the_colon_is_an_error() -> None:
    problem = only_problem("for a in: x, y:\n    pause 1s\nbetween: pause 2s\n    pause 2s\n")
    assert (problem.position, problem.message) == (
        at(3, 10),
        "'between:' takes no text after the colon",
    )


def test_between_without_block_is_an_error() -> None:
    problem = only_problem("for a in: x, y:\n    pause 1s\nbetween:\n")
    assert (problem.position, problem.message) == (
        at(3, 1),
        "'between:' needs an indented block below it",
    )


# sound, include, settings ---------------------------------------------------------------------


def test_sound_holds_a_builtin_name() -> None:
    sound = only("sound: chime")
    assert sound == nodes.Sound(at(1, 1), "chime")
    assert isinstance(sound, nodes.Sound) and sound.is_builtin


def test_sound_holds_a_file_path_as_written() -> None:
    sound = only("sound: sounds/gong.wav")
    assert sound == nodes.Sound(at(1, 1), "sounds/gong.wav", base_dir=".")
    assert isinstance(sound, nodes.Sound) and sound.columns["name"] == 8


def test_include_holds_the_path_as_written_and_an_empty_body() -> None:
    include = only("include: parts/warmup.routine")
    assert include == nodes.Include(at(1, 1), "parts/warmup.routine", [])


def test_settings_are_statements_inside_blocks() -> None:
    step = only("step A:\n    voice: gmw/en-gb\n    gap: 1s\n    say: Hi.\n")
    assert isinstance(step, nodes.Step)
    assert step.body[:2] == [
        nodes.Setting(at(2, 5), "voice", "gmw/en-gb"),
        nodes.Setting(at(3, 5), "gap", 1.0),
    ]


def test_a_rate_setting_accepts_a_bare_number() -> None:
    assert body_of("say: Hi.\nrate: 140")[1] == nodes.Setting(at(2, 1), "rate", 140)


# Lines, blocks and indentation ----------------------------------------------------------------


def test_comments_and_blank_lines_are_ignored_anywhere() -> None:
    body = body_of(
        """\
        # leading comment

        step A:
        # a comment at the left edge inside a block
            # an indented comment

            pause 1s
        """
    )
    assert body == [nodes.Step(at(3, 1), nodes.Text("A", at(3, 6)), [nodes.Pause(at(7, 5), 1.0)])]


def test_a_tab_in_indentation_is_an_error_at_the_tab() -> None:
    problem = only_problem("step A:\n\tpause 1s\n")
    assert (problem.position, problem.message) == (at(2, 1), "tab in indentation")
    assert problem.hint == "indent with spaces only"


def test_a_tab_after_spaces_is_reported_at_its_own_column() -> None:
    problem = only_problem("step A:\n  \tpause 1s\n")
    assert (problem.position, problem.message) == (at(2, 3), "tab in indentation")


def test_a_tab_inside_a_line_is_not_indentation() -> None:
    assert only("say: one\ttwo") == nodes.Say(at(1, 1), nodes.Text("one\ttwo", at(1, 6)))


def test_other_whitespace_in_indentation_is_an_error() -> None:
    problem = only_problem("step A:\n  \u00a0pause 1s\n")
    assert (problem.position, problem.message) == (
        at(2, 3),
        "unexpected whitespace character U+00A0 in indentation",
    )


def test_an_indented_first_line_is_an_error() -> None:
    (problem,) = parse("  say: Hi.\n", PATH)[1]
    assert (problem.position, problem.message) == (at(1, 3), "unexpected indentation")


def test_a_line_between_two_indentation_levels_is_an_error() -> None:
    problem = only_problem("step A:\n    pause 1s\n  pause 2s\n")
    assert (problem.position, problem.message) == (
        at(3, 3),
        "inconsistent indentation: expected 4 spaces",
    )


def test_after_a_line_indented_unlike_its_block_the_real_errors_below_are_reported() -> None:
    text = (
        "step A:\n"
        "    say: One.\n"
        "   say: Two.\n"  # 3 spaces in a block of 4-space lines
        "    say: Three.\n"
        "    repaet 3 times\n"
        "    pause 5 parsecs\n"
    )
    _, diagnostics = parse(text, PATH)
    assert [(d.position.line, d.position.column, d.message) for d in diagnostics] == [
        (3, 4, "inconsistent indentation: expected 4 spaces"),
        (5, 5, "unknown keyword 'repaet'"),
        (6, 13, "unknown unit 'parsecs'"),
    ]


def test_the_good_lines_after_a_line_indented_unlike_its_block_are_not_blamed() -> None:
    routine, diagnostics = parse(
        "step A:\n    say: One.\n   say: Two.\n    say: Three.\nsay: Four.\n", PATH
    )
    assert [d.message for d in diagnostics] == ["inconsistent indentation: expected 4 spaces"]
    step, after = routine.body
    assert isinstance(step, nodes.Step) and isinstance(after, nodes.Say)
    assert [s.text.raw for s in step.body if isinstance(s, nodes.Say)] == ["One.", "Two.", "Three."]


def test_a_line_indented_less_than_its_block_but_more_than_the_opener_stays_in_the_block() -> None:
    routine, diagnostics = parse("step A:\n    step B:\n        say: In B.\n      say: X.\n", PATH)
    assert [d.message for d in diagnostics] == ["inconsistent indentation: expected 8 spaces"]
    (outer,) = routine.body
    assert isinstance(outer, nodes.Step)
    (inner,) = outer.body
    assert isinstance(inner, nodes.Step) and len(inner.body) == 2


def test_a_statement_with_an_unexpected_block_is_an_error_at_the_block() -> None:
    problem = only_problem("say: Hi.\n    pause 1s\n")
    assert (problem.position, problem.message) == (at(2, 5), "unexpected indented block")


def test_an_unknown_keyword_gets_a_did_you_mean_hint() -> None:
    problem = only_problem("step A:\n    repaet 25 times\n")
    assert (problem.position, problem.message) == (at(2, 5), "unknown keyword 'repaet'")
    assert problem.hint == "did you mean 'repeat'?"


def test_an_unknown_keyword_far_from_any_gets_a_general_hint() -> None:
    problem = only_problem("xyzzy")
    assert (problem.position, problem.message) == (at(1, 1), "unknown keyword 'xyzzy'")
    assert (
        problem.hint
        == "a statement starts with a keyword such as 'say:', 'pause', 'hold' or 'repeat'"
    )


def test_keywords_are_lower_case() -> None:
    problem = only_problem("Say: Hi.")
    assert (problem.position, problem.message) == (at(1, 1), "unknown keyword 'Say'")
    assert problem.hint == "keywords are lower case: did you mean 'say'?"


def test_a_line_that_does_not_start_with_a_word_is_an_error() -> None:
    problem = only_problem("- say: Hi.")
    assert (problem.position, problem.message) == (
        at(1, 1),
        "expected a statement, found '- say: Hi.'",
    )


def test_three_errors_give_three_diagnostics_and_the_good_lines_still_parse() -> None:
    routine, diagnostics = parsed(
        """\
        title: Three mistakes
        say: Fine.
        pause 5 parsecs
        repaet 3 times
        say: Still fine.
        hold 30s, countdwn 5
        """
    )
    assert [(d.position.line, d.position.column, d.message) for d in diagnostics] == [
        (3, 9, "unknown unit 'parsecs'"),
        (4, 1, "unknown keyword 'repaet'"),
        (6, 11, "unknown hold option 'countdwn 5'"),
    ]
    assert [type(s) for s in routine.body] == [nodes.Say, nodes.Say]


def test_the_three_errors_fixture_gives_three_diagnostics() -> None:
    text = (FIXTURES / "three-errors.routine").read_text()
    assert len(parse(text, "three-errors.routine")[1]) == 3


def test_windows_line_endings_and_a_bom_are_accepted() -> None:
    routine, diagnostics = parse("\ufefftitle: T\r\nsay: Hi.\r\n", PATH)
    assert diagnostics == []
    assert routine.header.title == "T"
    assert routine.body == [nodes.Say(at(2, 1), nodes.Text("Hi.", at(2, 6)))]


def test_nested_statements_carry_their_own_columns() -> None:
    loop = only("for a in: x:\n    step S {a}:\n        hold 5s\n")
    assert isinstance(loop, nodes.For)
    step = loop.body[0]
    assert isinstance(step, nodes.Step)
    assert step.position == at(2, 5) and step.name.position == at(2, 10)
    assert step.body == [nodes.Hold(at(3, 9), 5.0)]


def test_a_diagnostic_renders_file_line_column_source_caret_and_hint() -> None:
    problem = only_problem("step A:\n    repaet 25 times\n")
    assert problem.render() == (
        "test.routine:2:5: error: unknown keyword 'repaet'\n"
        "        repaet 25 times\n"
        "        ^\n"
        "    hint: did you mean 'repeat'?"
    )


def test_the_routine_keeps_its_source_lines_for_later_diagnostics() -> None:
    routine, _ = parse("title: T\nsay: Hi.\n", PATH)
    assert routine.sources == {PATH: ["title: T", "say: Hi.", ""]}


# The example of the language contract ---------------------------------------------------------


def test_the_spec_example_parses_without_diagnostics() -> None:
    text = (FIXTURES / "wall-ball.routine").read_text()
    routine, diagnostics = parse(text, "wall-ball.routine")
    assert diagnostics == []
    assert routine.header.title == "Wall ball release"
    assert routine.header.equipment == "two tennis balls, a smooth wall"
    assert [s.value for s in routine.header.settings] == [4.0]
    say, breathe, loop, hold, done = routine.body
    assert isinstance(say, nodes.Say) and say.text.raw.startswith("Stand with your back")
    assert breathe == nodes.Breathe(breathe.position, 3, 4.0, 6.0, hiss=True)
    assert isinstance(loop, nodes.For) and loop.variable == "zone"
    assert loop.items == [
        "the base of your buttocks",
        "your lower back",
        "between your shoulder blades",
    ]
    (step,) = loop.body
    assert isinstance(step, nodes.Step) and step.name.raw == "Roll {zone}"
    repeat = step.body[1]
    assert isinstance(repeat, nodes.Repeat) and repeat.count == 25
    assert [beat.word.raw for beat in repeat.beats] == ["up", "down"]
    assert repeat.count_every is not None and repeat.count_every.every == 5
    assert [type(s) for s in loop.between] == [nodes.Say]
    assert hold == nodes.Hold(hold.position, 30.0, countdown=5)
    assert isinstance(done, nodes.Say) and done.text.raw == "Well done."


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
        "sound:",
        "include:",
        "beat:",
        "count every",
        "times",
        "time",
        "at",
        "in",
        "in:",
        "out",
        "hiss",
        "countdown",
        "halfway",
        ":",
        ",",
        "{",
        "}",
        "{x}",
        "x",
        "5s",
        "1m30s",
        "0",
        "-3",
        "15/min",
        "per minute",
        "every",
        "title:",
        "tempo:",
        "rate:",
        "voice:",
        "gap:",
        "#",
        "\t",
        " ",
        "    ",
        "\n",
        "\r\n",
        "\r",
        "\u00a0",
        "\ufeff",
        "9" * 40,
        "1e400",
    ]  # fmt: skip
)


def _check_positions(text: str) -> None:
    routine, diagnostics = parse(text, PATH)
    assert isinstance(routine, nodes.Routine)
    lines = routine.sources[PATH]
    for diagnostic in diagnostics:
        assert 1 <= diagnostic.position.line <= len(lines)
        assert diagnostic.position.column >= 1
        assert diagnostic.source_line == lines[diagnostic.position.line - 1]
        assert diagnostic.render()


@settings(max_examples=400, deadline=None)
@given(st.text())
def test_any_text_gives_diagnostics_not_exceptions(text: str) -> None:
    _check_positions(text)


@settings(max_examples=1500, deadline=None)
@given(st.lists(_FRAGMENTS, max_size=40).map(" ".join))
def test_keyword_soup_gives_diagnostics_not_exceptions(text: str) -> None:
    _check_positions(text)


@settings(max_examples=1500, deadline=None)
@given(st.lists(_FRAGMENTS, max_size=40).map("".join))
def test_glued_keyword_soup_gives_diagnostics_not_exceptions(text: str) -> None:
    _check_positions(text)
