"""Lay out: exact sample offsets, the beat grid, chapters, ducking and the JSON shape."""

from __future__ import annotations

from helpers import RATE, SAMPLES_PER_CHAR, SOUND_LENGTHS, lay_out_fixture

from coach.compiler import LEAD_IN, Overrides
from coach.layout import DUCKED_CLICK_GAIN

LEAD = int(LEAD_IN * RATE)


def clicks(timeline):
    return [e for e in timeline.events if e.kind == "click"]


def test_25_reps_at_15_per_minute_last_exactly_100_seconds():
    timeline = lay_out_fixture("reps.routine")
    assert timeline.length == LEAD + 100 * RATE + SOUND_LENGTHS["bell"]


def test_reps_sit_exactly_60_over_tempo_apart():
    accents = [e.start for e in clicks(lay_out_fixture("reps.routine")) if e.accent]
    assert len(accents) == 25
    assert {b - a for a, b in zip(accents[:-1], accents[1:], strict=True)} == {4 * RATE}


def test_spoken_counts_overlay_the_grid_without_shifting_it():
    timeline = lay_out_fixture("reps.routine")
    accents = [e.start for e in clicks(timeline) if e.accent]
    counts = [e for e in timeline.events if e.kind == "speech" and e.text.isdigit()]
    assert [c.start for c in counts] == [accents[i] for i in (4, 9, 14, 19, 24)]


def test_fractional_period_never_drifts():
    timeline = lay_out_fixture("plain-reps.routine")
    sevens = [e.start for e in clicks(timeline)][10:]
    base = sevens[0]
    assert sevens == [base + round(i * 60 / 7 * RATE) for i in range(7)]


def test_segments_follow_each_other_sample_exactly():
    timeline = lay_out_fixture("two-steps.routine")
    speech = [e for e in timeline.events if e.kind == "speech"]
    welcome, one = speech[0], speech[1]
    gap = int(0.6 * RATE)
    assert welcome.start == LEAD
    assert one.start == LEAD + len("Welcome.") * SAMPLES_PER_CHAR + gap


def test_steps_become_chapters_spanning_their_statements():
    timeline = lay_out_fixture("two-steps.routine")
    first, second = timeline.chapters
    assert (first.name, second.name) == ("First", "Second")
    assert first.end == second.start
    assert first.end - first.start == len("One.") * SAMPLES_PER_CHAR + int(0.6 * RATE) + 2 * RATE
    assert second.end - second.start == 4 * 2 * RATE


def test_events_carry_their_step_index():
    timeline = lay_out_fixture("two-steps.routine")
    steps = {e.text: e.step for e in timeline.events if e.kind == "speech"}
    assert steps == {"Welcome.": None, "One.": 0, "Bye.": None}


def test_clicks_under_speech_are_ducked_and_others_are_not():
    timeline = lay_out_fixture("reps.routine")
    speech = [(e.start, e.end) for e in timeline.events if e.kind == "speech"]
    for click in clicks(timeline):
        under = any(s < click.end and click.start < e for s, e in speech)
        assert click.gain == (DUCKED_CLICK_GAIN if under else 1.0)


def test_tempo_override_changes_the_grid():
    timeline = lay_out_fixture("reps.routine", Overrides(period=3.0))
    accents = [e.start for e in clicks(timeline) if e.accent]
    assert accents[1] - accents[0] == 3 * RATE


def test_hiss_lasts_exactly_the_exhale():
    timeline = lay_out_fixture("breathe.routine")
    assert [e.length for e in timeline.events if e.kind == "hiss"] == [6 * RATE] * 3


def test_json_shape():
    data = lay_out_fixture("two-steps.routine").to_dict()
    assert set(data) == {"title", "duration", "sample_rate", "steps", "chapters", "events"}
    assert data["sample_rate"] == RATE
    assert set(data["steps"][0]) == {"name", "start", "end"}
    assert set(data["chapters"][0]) == {"name", "start", "end"}
    by_kind = {e["kind"]: e for e in data["events"]}
    assert set(by_kind["speech"]) == {"start", "duration", "kind", "text", "step"}
    assert set(by_kind["click"]) == {"start", "duration", "kind", "accent", "step"}
    assert set(by_kind["sound"]) == {"start", "duration", "kind", "name", "step"}


def test_volume_and_click_volume_set_the_balance():
    timeline = lay_out_fixture("reps.routine", Overrides(volume=0.5, click_volume=2.0))
    speech = [e.gain for e in timeline.events if e.kind == "speech"]
    loud = [e.gain for e in clicks(timeline)]
    assert set(speech) == {0.5}
    assert set(loud) == {2.0, 2.0 * DUCKED_CLICK_GAIN}


def test_timeline_knows_which_rep_is_playing():
    timeline = lay_out_fixture("reps.routine")
    run = timeline.reps[0]
    assert (run.count, run.period) == (25, 4.0)
    assert timeline.rep_at(run.start) == (1, 25)
    assert timeline.rep_at(run.start + 4 * RATE * 24 + 5) == (25, 25)
    assert timeline.rep_at(run.start - 1) is None


def test_timeline_knows_which_step_is_playing():
    timeline = lay_out_fixture("two-steps.routine")
    first, second = timeline.chapters
    assert timeline.chapter_at(first.start) == 0
    assert timeline.chapter_at(second.start) == 1
    assert timeline.chapter_at(0) is None


def test_intro_end_marks_where_the_routine_starts_after_a_lead_in():
    plain = lay_out_fixture("hold.routine")
    led = lay_out_fixture("hold.routine", Overrides(lead_in=10))
    assert plain.intro_end == LEAD
    assert led.intro_end == LEAD + 10 * RATE


def test_a_step_of_settings_only_has_an_empty_chapter_where_it_stands():
    quiet, rest = lay_out_fixture("settings-step.routine").chapters
    assert (quiet.name, quiet.start, quiet.end) == ("Quiet", LEAD, LEAD)
    assert (rest.start, rest.end) == (LEAD, LEAD + 2 * RATE)
