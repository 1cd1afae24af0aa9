"""Check-ins in a session: one at each interval of a hold or of reps, the routine's lines (or
coach's own) in turn, each moved to the first quiet stretch of its window long enough for its
clip, never over another cue, never in the final countdown, never moving the beat grid."""

from __future__ import annotations

from pathlib import Path

from helpers import RATE, SAMPLES_PER_CHAR, SOUND_LENGTHS, fake_clips
from hypothesis import given, settings
from hypothesis import strategies as st

from coach import checkins
from coach.checker import check
from coach.checkins import DEFAULT_LINES, QUIET, fit, merged, nominal_count
from coach.compiler import compile_routine
from coach.expansion import Pace, Sizes
from coach.layout import lay_out
from coach.nodes import Hold, Routine
from coach.parser import parse
from coach.plan import Plan, Segment, SpeechLine
from coach.table import timeline_table
from coach.timeline import Event, Timeline

QUIET_SAMPLES = round(QUIET * RATE)


def routine_of(text: str) -> Routine:
    routine, diagnostics = parse(text, "test.routine")
    assert diagnostics == [], [d.render() for d in diagnostics]
    assert not [d for d in check(routine) if d.is_error]
    return routine


def plan_of(text: str) -> Plan:
    return compile_routine(routine_of(text))


def timeline_of(text: str) -> Timeline:
    plan = plan_of(text)
    return lay_out(plan, RATE, fake_clips(plan), SOUND_LENGTHS)


def spoken(timeline: Timeline) -> list[tuple[float, str]]:
    """(seconds, text) of every spoken line after the lead-in, in time order."""
    return [
        (round(e.start / RATE, 2), e.text)
        for e in timeline.events
        if e.kind == "speech" and e.start >= timeline.intro_end
    ]


def said(text: str) -> float:
    """How long the fake engine takes to say `text`, in seconds."""
    return len(text) * SAMPLES_PER_CHAR / RATE


START = 0.5  # the routine starts after the half second of lead-in silence


# When check-ins are due ------------------------------------------------------------------------


def test_check_ins_fall_at_each_whole_interval_strictly_inside_the_span() -> None:
    assert nominal_count(120.0, 30.0) == 3  # at 30, 60 and 90 s; not at the end
    assert nominal_count(30.0, 30.0) == 0
    assert nominal_count(30.5, 30.0) == 1
    assert nominal_count(0.3 * 3, 0.3) == 2  # 0.9 / 0.3 is 3.0000000000000004 in floats


def test_no_check_ins_without_a_positive_span_and_interval() -> None:
    assert [nominal_count(0.0, 30.0), nominal_count(-5.0, 30.0), nominal_count(60.0, 0.0)] == [
        0
    ] * 3
    assert nominal_count(float("inf"), 30.0) == 0


def test_a_hostile_interval_is_counted_without_enumerating_or_overflowing() -> None:
    assert nominal_count(7200.0, 1e-300) >= 10**12


# Where a check-in fits -------------------------------------------------------------------------


def test_a_check_in_with_nothing_around_it_sounds_on_time() -> None:
    assert fit([], earliest=1000, latest=5000, length=2000, quiet=100) == 1000


def test_a_check_in_waits_for_the_speech_it_would_overlap_and_keeps_quiet_after_it() -> None:
    assert fit([(900, 1500)], earliest=1000, latest=9000, length=2000, quiet=100) == 1600


def test_a_check_in_keeps_quiet_before_the_next_cue_or_waits_until_after_it() -> None:
    busy = [(3050, 3200)]  # starts 50 samples after the check-in would end: too close
    assert fit(busy, earliest=1000, latest=9000, length=2000, quiet=100) == 3300
    assert fit([(3100, 3200)], earliest=1000, latest=9000, length=2000, quiet=100) == 1000


def test_a_check_in_skips_gaps_too_short_for_it() -> None:
    busy = [(1000, 2000), (3000, 4000), (4500, 5000), (8000, 8500)]
    assert fit(busy, earliest=1500, latest=20000, length=2000, quiet=100) == 5100


def test_a_check_in_is_dropped_when_its_window_has_no_room_for_it() -> None:
    assert fit([], earliest=1000, latest=3099, length=2000, quiet=100) is None
    assert fit([], earliest=1000, latest=3100, length=2000, quiet=100) == 1000
    assert fit([(1500, 2000)], earliest=1000, latest=4000, length=2000, quiet=100) is None


def test_speech_that_ended_a_quiet_stretch_before_does_not_hold_it_up() -> None:
    assert fit([(0, 900)], earliest=1000, latest=9000, length=2000, quiet=100) == 1000


def test_busy_spans_that_overlap_or_touch_merge_into_one() -> None:
    assert merged([(0, 10), (5, 20), (20, 30), (31, 40)]) == [(0, 30), (31, 40)]


# Compiling -------------------------------------------------------------------------------------


def check_in_overlays(plan: Plan) -> list[tuple[float, float, str]]:
    return [
        (o.at, o.seconds, o.line.text if o.line else "")
        for segment in plan.segments
        for o in segment.overlays
        if o.kind == "checkin"
    ]


def test_a_hold_asks_for_check_ins_up_to_its_countdown_each_with_its_window() -> None:
    plan = plan_of("title: T\nhold 2 min, countdown 5, check in every 30s\n")
    first, second, third = DEFAULT_LINES
    # The third may wait only until the countdown starts, at 115 s.
    assert check_in_overlays(plan) == [
        (30.0, 30.0, first),
        (60.0, 30.0, second),
        (90.0, 25.0, third),
    ]


def test_the_routines_lines_are_used_in_turn_through_the_whole_session() -> None:
    plan = plan_of(
        "title: T\ncheck-in: One.\ncheck-in: Two.\ncheck-in: Three.\n"
        "hold 50s, check in every 20s\nsay: Next.\nrepeat 20 times at 15/min, check in every 30s\n"
    )
    assert [text for _, _, text in check_in_overlays(plan)] == ["One.", "Two.", "Three.", "One."]


def test_a_check_in_line_points_at_its_header_line_and_keeps_its_literal_braces() -> None:
    plan = plan_of("title: T\ncheck-in: {{Still}} fine?\nhold 1 min, check in every 40s\n")
    (overlay,) = [o for s in plan.segments for o in s.overlays if o.kind == "checkin"]
    assert overlay.line is not None and overlay.line.text == "{Still} fine?"
    assert overlay.position is not None and overlay.position.line == 2


def test_check_ins_are_spoken_at_the_rate_and_voice_in_force_and_are_rendered() -> None:
    plan = plan_of(
        "title: T\nrate: 120 wpm\n"
        "repeat 20 times, check in every 30s:\n    beat: up\n    rate: 170 wpm\n"
    )
    lines = [o.line for s in plan.segments for o in s.overlays if o.kind == "checkin"]
    assert [(line.text, line.rate) for line in lines if line] == [
        (DEFAULT_LINES[0], 170),
        (DEFAULT_LINES[1], 170),
    ]
    assert set(lines) <= set(plan.speech_lines())


def test_statements_without_the_option_ask_for_no_check_ins() -> None:
    segment = Segment((), seconds=60.0)
    routine = routine_of("title: T\nhold 1 min\n")
    checkins.add_candidates(segment, routine.body[0], SpeechLine("", None, 150))
    assert segment.overlays == []


# Laying out ------------------------------------------------------------------------------------


def test_a_check_in_on_time_sounds_at_its_interval() -> None:
    timeline = timeline_of("title: T\ncheck-in: Ease off.\nhold 1 min, check in every 40s\n")
    assert spoken(timeline) == [(START + 40.0, "Ease off.")]


def test_a_check_in_due_during_halfway_waits_until_halfway_is_said() -> None:
    timeline = timeline_of(
        "title: T\ncheck-in: Ease off.\nhold 1 min, halfway, check in every 30s\n"
    )
    halfway_end = START + 30.0 + said("Halfway.")
    assert spoken(timeline) == [
        (START + 30.0, "Halfway."),
        (round(halfway_end + QUIET, 2), "Ease off."),
    ]


def test_a_check_in_that_cannot_fit_before_the_countdown_is_dropped() -> None:
    # "Ease off." takes 0.9 s; due at 17 s it must end, with its quiet, by 18 s (countdown 2).
    timeline = timeline_of(
        "title: T\ncheck-in: Ease off.\nhold 20s, countdown 2, check in every 17s\n"
    )
    assert spoken(timeline) == [(START + 18.0, "2"), (START + 19.0, "1")]
    fits = timeline_of("title: T\ncheck-in: Ease off.\nhold 20s, countdown 2, check in every 16s\n")
    assert (START + 16.0, "Ease off.") in spoken(fits)


def test_check_ins_over_reps_leave_the_beat_grid_and_counts_as_they_were() -> None:
    reps = "repeat 30 times at 30/min{}:\n    beat: up\n    beat: down\n    count every 5\n"
    plain = timeline_of("title: T\n" + reps.format(""))
    checked = timeline_of("title: T\ncheck-in: Ease off.\n" + reps.format(", check in every 20s"))
    clicks = [(e.start, e.accent) for e in plain.events if e.kind == "click"]
    assert [(e.start, e.accent) for e in checked.events if e.kind == "click"] == clicks
    assert checked.length == plain.length
    new = [cue for cue in spoken(checked) if cue not in spoken(plain)]
    assert [text for _, text in new] == ["Ease off.", "Ease off."]
    assert [at for at, _ in new] == [START + 20.0, START + 40.0]


def test_a_check_in_due_on_a_count_waits_for_it_and_the_reps_go_on_under_it() -> None:
    reps = "repeat 30 times at 30/min, check in every 18s:\n    beat: up\n    count every 5\n"
    timeline = timeline_of("title: T\ncheck-in: Ease off.\n" + reps)
    (ten,) = [e for e in timeline.events if e.text == "10"]  # said on rep 10, from 18 s
    check_ins = [e.start for e in timeline.events if e.text == "Ease off."]
    on_time = [round((START + seconds) * RATE) for seconds in (36.0, 54.0)]
    assert check_ins == [ten.end + QUIET_SAMPLES, *on_time]


def test_clicks_under_a_check_in_keep_their_level_as_under_any_speech() -> None:
    # The beat stays clear under speech (issue 9): clicks are never lowered for a voice.
    timeline = timeline_of(
        "title: T\ncheck-in: Ease off and breathe.\nrepeat 20 times at 60/min, check in every 5s\n"
    )
    check_in = next(e for e in timeline.events if e.text == "Ease off and breathe.")
    under = [
        e for e in timeline.events if e.kind == "click" and check_in.start <= e.start < check_in.end
    ]
    plain = [e for e in timeline.events if e.kind == "click" and e not in under]
    assert under and {e.gain for e in under} == {e.gain for e in plain}


def test_coach_show_lists_check_ins_as_spoken_lines() -> None:
    table = timeline_table(
        timeline_of("title: T\ncheck-in: Ease off.\nhold 1 min, check in every 40s\n")
    )
    assert "0:40.50" in table and '"Ease off."' in table


@st.composite
def holds(draw: st.DrawFn) -> str:
    seconds = draw(st.integers(5, 90))
    options = [f", check in every {draw(st.integers(1, seconds))}s"]
    if draw(st.booleans()):
        options.append(f", countdown {draw(st.integers(1, min(seconds, 10)))}")
    if draw(st.booleans()):
        options.append(", halfway")
    lines = draw(
        st.lists(st.sampled_from(["Ease off.", "If anything hurts, ease off or stop."]), max_size=2)
    )
    header = "".join(f"check-in: {line}\n" for line in lines)
    return f"title: T\n{header}hold {seconds}s" + "".join(draw(st.permutations(options))) + "\n"


@settings(max_examples=200, deadline=None)
@given(holds())
def test_a_check_in_never_sounds_over_a_cue_nor_in_the_countdown_nor_past_the_hold(
    text: str,
) -> None:
    routine = routine_of(text)
    timeline = timeline_of(text)
    hold = routine.body[0]
    assert isinstance(hold, Hold)
    check_ins = {*DEFAULT_LINES, "Ease off.", "If anything hurts, ease off or stop."}
    ins = [e for e in timeline.events if e.kind == "speech" and e.text in check_ins]
    others = [e for e in timeline.events if e.kind != "click" and e not in ins]
    quiet_until = START + hold.seconds - (hold.countdown or 0)
    for event in ins:
        assert event.start >= round((START + (hold.check_in or 0)) * RATE)
        assert event.end + QUIET_SAMPLES <= round(quiet_until * RATE)
        for other in others:
            assert (
                other.end + QUIET_SAMPLES <= event.start or event.end + QUIET_SAMPLES <= other.start
            )
    events, _ = Sizes().routine(routine, Pace(4.0, 150, 0.6))
    assert len(timeline.events) <= events


def test_a_check_in_too_long_for_every_window_is_never_said() -> None:
    text = "title: T\ncheck-in: " + "a" * 60 + "\nhold 1 min, check in every 5s\n"
    assert [e for e in timeline_of(text).events if e.kind == "speech"] == []


def test_a_plan_without_check_ins_lays_out_no_check_in_events() -> None:
    plan = plan_of("title: T\nhold 1 min, countdown 3\n")
    events = [Event(0, 10, "speech", "k")]
    assert (
        checkins.checkin_events(plan, [0] * len(plan.segments), events, fake_clips(plan), RATE)
        == []
    )


# Bounds ----------------------------------------------------------------------------------------


def test_check_ins_count_as_events_so_a_tiny_interval_is_refused_by_the_event_bound() -> None:
    routine, _ = parse("title: T\nsay: Go.\nhold 2h, check in every 0.05s\n", "test.routine")
    errors = [d for d in check(routine) if d.is_error]
    assert [(d.position.line, d.message) for d in errors] == [
        (3, "the routine expands to more than 100,000 events by here")
    ]
    assert Sizes().routine(routine, Pace(4.0, 150, 0.6))[0] == 1 + 143_999 + 1


def test_check_in_lines_count_as_distinct_spoken_lines_at_each_rate() -> None:
    lines = "".join(f"check-in: Line {n}.\n" for n in range(2_600))
    body = "rate: 150 wpm\nhold 2h, check in every 2s\nrate: 160 wpm\nhold 2h, check in every 2s\n"
    routine, _ = parse(f"title: T\n{lines}{body}", "test.routine")
    errors = [d for d in check(routine) if d.is_error]
    assert [(d.position.line, d.message) for d in errors] == [
        (2_600 + 5, "the routine has more than 5,000 distinct spoken lines by here")
    ]


def test_the_example_in_the_language_reference_says_what_the_reference_says() -> None:
    reference = (Path(__file__).parent.parent / "docs" / "routine-language.md").read_text()
    example = reference.split("### Check-ins")[1].split("```")[1].lstrip("\n")
    first = "If anything hurts, ease off or stop."
    second = "Is the pressure still firm and comfortable?"
    timeline = timeline_of(example)
    texts = [text for _, text in spoken(timeline) if text in (first, second)]
    assert texts == [first, second, first, second, first]  # 3 in the hold, 2 over the reps
