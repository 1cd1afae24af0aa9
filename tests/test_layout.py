"""Lay out: exact sample offsets, the beat grid, chapters, ducking and the JSON shape."""

from __future__ import annotations

from helpers import RATE, SAMPLES_PER_CHAR, SOUND_LENGTHS, lay_out_fixture

from coach.compiler import AFTER_CLICK, AFTER_HISS, LEAD_IN, Overrides
from coach.layout import DUCKED_SOUND_GAIN, LevelledTimeline

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
    after = round(AFTER_CLICK * RATE)
    offsets = [c.start - accents[i] for c, i in zip(counts, (4, 9, 14, 19), strict=False)]
    assert all(abs(offset - after) <= 1 for offset in offsets) and len(offsets) == 4


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


def test_clicks_keep_their_level_and_no_word_starts_on_a_click():
    """The beat stays clear: no click is lowered, and every spoken word on a beat starts
    after its click has sounded (the accented click is never the quieter one)."""
    timeline = lay_out_fixture("reps.routine")
    assert {click.gain for click in clicks(timeline)} == {1.0}
    spoken = [e for e in timeline.events if e.kind == "speech"]
    after = round(AFTER_CLICK * RATE)
    for click in clicks(timeline):
        assert not any(e.start - after < click.start <= e.start for e in spoken)
    counts = [e for e in spoken if e.text.isdigit()]
    accents = [e.start for e in clicks(timeline) if e.accent]
    assert len(counts) == 5
    for count in counts[:-1]:  # each just after the accented click of its rep
        assert min(abs(count.start - after - accent) for accent in accents) <= 1


def test_the_last_count_ends_with_the_last_rep():
    timeline = lay_out_fixture("reps.routine")
    run = timeline.reps[0]
    end = run.start + round(run.count * run.period * RATE)
    last = [e for e in timeline.events if e.kind == "speech" and e.text.isdigit()][-1]
    assert last.text == "25" and last.end == end
    assert last.start > end - round(run.period * RATE)  # within the last rep


def test_sounds_under_speech_are_lowered(tmp_path):
    timeline = lay_out_fixture("two-steps.routine")
    speech = [(e.start, e.end) for e in timeline.events if e.kind == "speech"]
    sounds = [e for e in timeline.events if e.kind == "sound"]
    assert sounds
    for sound in sounds:
        under = any(s < sound.end and sound.start < e for s, e in speech)
        assert sound.gain == (DUCKED_SOUND_GAIN if under else 1.0)
    assert any(sound.gain == DUCKED_SOUND_GAIN for sound in sounds)  # the chime


def test_tempo_override_changes_the_grid():
    timeline = lay_out_fixture("reps.routine", Overrides(period=3.0))
    accents = [e.start for e in clicks(timeline) if e.accent]
    assert accents[1] - accents[0] == 3 * RATE


def test_hiss_leaves_half_a_second_of_quiet_before_the_next_cue():
    timeline = lay_out_fixture("breathe.routine")
    hisses = [e for e in timeline.events if e.kind == "hiss"]
    assert [e.length for e in hisses] == [round((6 - AFTER_HISS) * RATE)] * 3
    for hiss in hisses:
        following = min(e.start for e in timeline.events if e.start > hiss.start)
        assert following - hiss.end >= RATE // 2


def test_the_loudness_target_reaches_the_timeline():
    assert lay_out_fixture("two-steps.routine").loudness is None
    timeline = lay_out_fixture("two-steps.routine", Overrides(loudness=-14.0))
    assert isinstance(timeline, LevelledTimeline) and timeline.loudness == -14.0


def test_json_shape():
    data = lay_out_fixture("two-steps.routine").to_dict()
    head = {"title", "duration", "sample_rate", "channels", "language", "steps", "chapters"}
    assert set(data) == head | {"events"}
    assert data["sample_rate"] == RATE
    assert (data["channels"], data["language"]) == (1, "en")
    assert set(data["steps"][0]) == {"name", "start", "end"}
    assert set(data["chapters"][0]) == {"name", "start", "end"}
    by_kind = {e["kind"]: e for e in data["events"]}
    assert set(by_kind["speech"]) == {"start", "duration", "kind", "text", "step", "side"}
    assert set(by_kind["click"]) == {"start", "duration", "kind", "accent", "step", "side"}
    assert set(by_kind["sound"]) == {"start", "duration", "kind", "name", "step", "side"}
    assert {e["side"] for e in data["events"]} == {"both"}


def test_volume_and_click_volume_set_the_balance():
    timeline = lay_out_fixture("reps.routine", Overrides(volume=0.5, click_volume=2.0))
    speech = [e.gain for e in timeline.events if e.kind == "speech"]
    loud = [e.gain for e in clicks(timeline)]
    assert set(speech) == {0.5}
    assert set(loud) == {2.0}


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
