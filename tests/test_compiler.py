"""Compile: settings, overrides, loops, steps and cue placement in the plan."""

from __future__ import annotations

import pytest
from helpers import compile_fixture

from coach.compiler import AFTER_CLICK, AFTER_HISS, LEAD_IN, Breath, Overrides, substitute
from coach.defaults import DEFAULT_RATE


def spoken(plan) -> list[str]:
    return [s.line.text for s in plan.segments if s.line is not None]


def overlays(plan, kind: str) -> list:
    return [o for s in plan.segments for o in s.overlays if o.kind == kind]


def test_session_opens_with_lead_in_and_ends_with_bell():
    plan = compile_fixture("settings.routine")
    assert plan.segments[0].seconds == LEAD_IN and plan.segments[0].line is None
    assert plan.segments[-1].sound == "bell"


def test_header_settings_apply_to_spoken_lines():
    plan = compile_fixture("settings.routine")
    first = next(s for s in plan.segments if s.line is not None)
    assert (first.line.rate, first.line.voice, first.gap) == (140, "gmw/en-us", 1.0)


def test_block_setting_lasts_to_end_of_its_block():
    plan = compile_fixture("settings.routine")
    lines = {s.line.text: s for s in plan.segments if s.line is not None}
    assert (lines["Inside the step."].line.rate, lines["Inside the step."].gap) == (180, 0.25)
    assert (lines["Outer after."].line.rate, lines["Outer after."].gap) == (140, 1.0)


def test_command_line_overrides_beat_routine_settings():
    plan = compile_fixture("settings.routine", Overrides(rate=200, voice="gmw/en"))
    rates = {s.line.rate for s in plan.segments if s.line is not None}
    voices = {s.line.voice for s in plan.segments if s.line is not None}
    assert (rates, voices) == ({200}, {"gmw/en"})


def test_default_rate_when_routine_sets_none():
    plan = compile_fixture("hold.routine")
    assert {o.line.rate for o in overlays(plan, "speech")} == {DEFAULT_RATE}


def test_for_substitutes_item_in_text_and_step_names():
    plan = compile_fixture("loop.routine")
    assert plan.step_names == ["Turn left", "Turn right"]
    assert spoken(plan) == [
        "Turn to the left. Use {braces}.",
        "Change sides.",
        "Turn to the right. Use {braces}.",
    ]


def test_between_runs_only_between_iterations():
    plan = compile_fixture("loop.routine")
    assert spoken(plan).count("Change sides.") == 1


def test_step_chime_overlays_first_statement_of_each_step():
    plan = compile_fixture("loop.routine")
    chimed = [s for s in plan.segments if any(o.sound == "chime" for o in s.overlays)]
    assert [s.line.text for s in chimed] == [
        "Turn to the left. Use {braces}.",
        "Turn to the right. Use {braces}.",
    ]


def test_hold_countdown_speaks_n_to_one_ending_at_the_end():
    plan = compile_fixture("hold.routine")
    counts = [(o.at, o.line.text) for o in overlays(plan, "speech") if o.line.text.isdigit()]
    assert counts == [(25.0, "5"), (26.0, "4"), (27.0, "3"), (28.0, "2"), (29.0, "1")]


def test_hold_halfway_cue_at_midpoint():
    plan = compile_fixture("hold.routine")
    assert [o.at for o in overlays(plan, "speech") if o.line.text == "Halfway."] == [15.0]


def test_breathe_lasts_its_cycles():
    plan = compile_fixture("breathe.routine")
    segment = next(s for s in plan.segments if s.overlays)
    assert segment.seconds == 3 * (4 + 2 + 6)


def test_breathe_hiss_fills_every_exhale_but_its_last_half_second():
    plan = compile_fixture("breathe.routine")
    quiet = 6.0 - AFTER_HISS  # the hiss stops AFTER_HISS (over half a second) before the cue
    assert AFTER_HISS >= 0.5
    assert [(o.at, o.seconds) for o in overlays(plan, "hiss")] == [
        (6.0, quiet),
        (18.0, quiet),
        (30.0, quiet),
    ]


def test_an_exhale_too_short_for_a_hiss_and_its_quiet_has_none():
    plan = compile_fixture("breathe.routine", Overrides(breath=Breath(inhale=1, exhale=0.7)))
    assert overlays(plan, "hiss") == []


def test_breathe_cues_in_hold_out():
    plan = compile_fixture("breathe.routine")
    first_cycle = [(o.at, o.line.text) for o in overlays(plan, "speech") if o.at < 12]
    assert first_cycle == [(0.0, "Breathe in."), (4.0, "Hold."), (6.0, "Breathe out.")]


def test_repeat_clicks_every_beat_with_accent_on_first():
    plan = compile_fixture("reps.routine")
    clicks = overlays(plan, "click")
    assert len(clicks) == 50
    assert [c.accent for c in clicks[:4]] == [True, False, True, False]
    assert [c.at for c in clicks[:3]] == [0.0, 2.0, 4.0]


def test_beat_names_spoken_on_first_rep_only():
    plan = compile_fixture("reps.routine")
    words = [(o.at, o.line.text) for o in overlays(plan, "speech") if not o.line.text.isdigit()]
    assert words == [(0.0 + AFTER_CLICK, "Up"), (2.0 + AFTER_CLICK, "Down")]


def test_count_every_k_just_after_the_click_of_its_rep_and_the_last_ends_with_it():
    plan = compile_fixture("reps.routine")
    counts = [(o.at, o.line.text) for o in overlays(plan, "speech") if o.line.text.isdigit()]
    starts = [16.0, 36.0, 56.0, 76.0, 96.0]
    assert counts == [(at + AFTER_CLICK, str(n)) for at, n in zip(starts, (5, 10, 15, 20, 25))]
    ends = [o.ends for o in overlays(plan, "speech") if o.line.text.isdigit()]
    assert ends == [None, None, None, None, 100.0]  # rep 25 runs from 96 s to 100 s


def test_plain_repeat_one_accented_click_per_rep():
    plan = compile_fixture("plain-reps.routine")
    first = next(s for s in plan.segments if s.reps == 10)
    assert [(o.at, o.accent) for o in first.overlays][:3] == [(0.0, True), (3.0, True), (6.0, True)]
    assert len(first.overlays) == 10


def test_tempo_override_beats_repeat_at_tempo():
    plan = compile_fixture("plain-reps.routine", Overrides(period=2.0))
    assert {s.period for s in plan.segments if s.reps} == {2.0}


@pytest.mark.parametrize(
    ("raw", "expected"),
    [("at {zone}", "at neck"), ("{{zone}}", "{zone}"), ("a }} b {{", "a } b {"), ("none", "none")],
)
def test_substitute(raw, expected):
    assert substitute(raw, {"zone": "neck"}) == expected


def test_setting_inside_repeat_block_paces_its_cues_only():
    plan = compile_fixture("repeat-settings.routine")
    rates = {o.line.text: o.line.rate for o in overlays(plan, "speech")}
    assert rates == {"In": 200, "Out": 200, "2": 200, "4": 200}
    assert [s.line.rate for s in plan.segments if s.line is not None] == [140]


def test_tempo_scale_slows_every_repeat():
    plan = compile_fixture("plain-reps.routine", Overrides(tempo_scale=0.5))
    assert [s.period for s in plan.segments if s.reps] == [6.0, pytest.approx(120 / 7)]


def test_breath_override_paces_every_breathe_statement():
    plan = compile_fixture("breathe.routine", Overrides(breath=Breath(inhale=3, exhale=5)))
    segment = next(s for s in plan.segments if s.overlays)
    assert segment.seconds == 3 * (3 + 5)
    assert [o.seconds for o in overlays(plan, "hiss")] == [5.0 - AFTER_HISS] * 3


def test_lead_in_speaks_a_countdown_before_the_first_cue():
    plan = compile_fixture("hold.routine", Overrides(lead_in=10))
    lead = plan.segments[1]
    assert lead.seconds == 10
    assert [(o.at, o.line.text) for o in lead.overlays][1:] == [
        (5.0, "5"),
        (6.0, "4"),
        (7.0, "3"),
        (8.0, "2"),
        (9.0, "1"),
    ]
    assert "10 seconds" in lead.overlays[0].line.text


def test_pitch_override_reaches_every_line():
    plan = compile_fixture("settings.routine", Overrides(pitch=70))
    assert {line.pitch for line in plan.speech_lines()} == {70}


def test_cues_carry_the_position_of_the_line_that_made_them():
    plan = compile_fixture("reps.routine")
    counts = [o for o in overlays(plan, "speech") if o.line.text.isdigit()]
    words = [o for o in overlays(plan, "speech") if not o.line.text.isdigit()]
    assert {o.position.line for o in counts} == {7}
    assert [o.position.line for o in words] == [5, 6]


def test_overrides_over_fills_only_unset_fields():
    command_line = Overrides(rate=180)
    profile = Overrides(rate=120, voice="gmw/en", gap=1.0)
    assert command_line.over(profile) == Overrides(rate=180, voice="gmw/en", gap=1.0)


@pytest.mark.parametrize(
    ("seconds", "spoken"),
    [
        (5, ["Get ready.", "3", "2", "1"]),
        (3, ["2", "1"]),
    ],
)
def test_short_lead_in_shortens_its_cues_instead_of_overlapping(seconds, spoken):
    plan = compile_fixture("hold.routine", Overrides(lead_in=seconds))
    assert [o.line.text for o in plan.segments[1].overlays] == spoken
