"""Speech fitting: a spoken cue longer than the time it has is warned about, at the line
that made it and with the figures, and nothing on the beat grid moves. Pure tests use
chosen clip lengths; the session tests use real speech and a temporary clip cache."""

from __future__ import annotations

from pathlib import Path

import pytest
from helpers import RATE, SOUND_LENGTHS

from coach import library, parser, session
from coach.compiler import Overrides, compile_routine
from coach.cuefit import speech_fit
from coach.diagnostics import Diagnostic
from coach.layout import lay_out
from coach.plan import ClipInfo, Plan

FIXTURES = Path(__file__).parent / "fixtures" / "speech-fit"


def parse(name: str, text: str | None = None):
    path = FIXTURES / name
    routine, diagnostics = parser.parse(text if text is not None else path.read_text(), str(path))
    assert not [d for d in diagnostics if d.is_error], [d.render() for d in diagnostics]
    return routine


def clips(plan: Plan, seconds: dict[str, float], default: float = 0.2) -> dict:
    """Clip lengths chosen per text; every other line takes `default` seconds."""
    return {
        line: ClipInfo(f"key-{line.text}", round(seconds.get(line.text, default) * RATE))
        for line in plan.speech_lines()
    }


def warnings(
    name: str, seconds: dict[str, float], overrides: Overrides | None = None
) -> list[Diagnostic]:
    routine = parse(name)
    plan = compile_routine(routine, overrides)
    return speech_fit(routine, plan, clips(plan, seconds), RATE)


# Pure: chosen clip lengths -----------------------------------------------------------------


def test_a_count_too_long_for_its_beat_is_warned_at_the_count_line():
    found = warnings("fifteen.routine", {"15": 0.9})
    assert len(found) == 1
    (warning,) = found
    assert warning.severity == "warning"
    assert (warning.position.line, warning.position.column) == (8, 5)  # `count every 5`
    assert warning.message == (
        'the count "15" takes 0.9 s but each beat lasts 0.5 s at 60 per minute;'
        " it runs into the next beat"
    )
    assert warning.source_line is not None and "count every 5" in warning.source_line
    assert "slow the tempo" in (warning.hint or "")
    assert warning.render().startswith(f"{FIXTURES / 'fifteen.routine'}:8:5: warning:")


def test_cues_that_fit_give_no_warning():
    # A count or beat word starts 0.08 s after its click, so it has 0.42 s of a 0.5 s beat;
    # the last count is laid out to end with the last rep, so it may take the whole last beat.
    fitting = {"5": 0.41, "10": 0.41, "15": 0.49, "Up": 0.41, "Down": 0.41}
    assert warnings("fifteen.routine", fitting) == []
    # Just past that room, each is warned at its own line.
    assert [w.position.line for w in warnings("fifteen.routine", {**fitting, "Up": 0.45})] == [6]
    assert [w.position.line for w in warnings("fifteen.routine", {**fitting, "10": 0.45})] == [8]
    assert [w.position.line for w in warnings("fifteen.routine", {**fitting, "15": 0.52})] == [8]


def test_one_warning_per_line_summarizes_every_count():
    # 2 x 25 counts at 0.4 s a rep, all too long: one warning for the line, not fifty.
    found = warnings("many-counts.routine", {str(n): 0.5 + n / 100 for n in range(1, 26)})
    assert len(found) == 1
    assert found[0].position.line == 7
    assert found[0].message == (
        'the counts "1" to "25" take up to 0.75 s but each rep lasts 0.4 s at 150 per minute;'
        " they run into the next rep"
    )


def test_beat_words_are_warned_at_their_own_lines():
    # Each beat lasts 0.25 s and a word starts 0.08 s into it: "Up" runs over, the rest fit.
    found = warnings("fast-counts.routine", {"Up": 0.3, "Down": 0.16, "2": 0.16, "3": 0.16})
    assert [(w.position.line, w.message) for w in found] == [
        (
            6,
            'the beat word "Up" takes 0.3 s but each beat lasts 0.25 s at 120 per minute;'
            " it runs into the next beat",
        )
    ]


def test_countdown_numbers_and_the_halfway_cue_inside_a_hold():
    found = warnings("hold.routine", {"2": 1.2, "1": 1.1, "Halfway.": 1.5})
    assert [(w.position.line, w.message) for w in found] == [
        (
            5,
            'the countdown numbers "1" to "2" take up to 1.2 s but only 1 s passes before'
            " the next cue or the end of the hold; they run over",
        ),
        (
            6,
            'the halfway cue "Halfway." takes 1.5 s but the next cue comes 1 s after it;'
            " it runs into it",
        ),
        (
            6,
            'the countdown numbers "1" to "2" take up to 1.2 s but only 1 s passes before'
            " the next cue or the end of the hold; they run over",
        ),
    ]


def test_a_lead_in_too_short_for_its_words():
    found = warnings("fifteen.routine", {"Get ready.": 2.5}, Overrides(lead_in=5))
    assert len(found) == 1
    assert found[0].position.line == 1 and found[0].source_line is None
    assert found[0].message.startswith(
        'the lead-in "Get ready." takes 2.5 s but the next cue comes 2 s after it'
    )
    assert found[0].hint == "a --lead-in of at least 9 s leaves room for it"


def test_warnings_shift_nothing_on_the_beat_grid():
    with_counts = parse("fast-counts.routine")
    text = (FIXTURES / "fast-counts.routine").read_text().replace("    count every 1\n", "")
    without = parse("fast-counts.routine", text)
    timelines = []
    for routine in (with_counts, without):
        plan = compile_routine(routine)
        lengths = clips(plan, {"2": 0.9, "3": 0.9, "4": 0.9})
        timelines.append(lay_out(plan, RATE, lengths, SOUND_LENGTHS))
    starts = [[e.start for e in t.events if e.kind == "click"] for t in timelines]
    assert starts[0] == starts[1] and len(starts[0]) == 8
    assert timelines[0].length == timelines[1].length


# Real speech -------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def clip_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("speech-fit-clips")


def test_real_counts_that_cannot_fit_are_warned_with_position_and_figures(clip_cache):
    path = FIXTURES / "fast-counts.routine"
    built = session.build(str(path), cache_dir=clip_cache)
    counts = [w for w in built.warnings if w.position.line == 8]
    assert len(counts) == 1
    warning = counts[0]
    assert warning.position.column == 5
    assert warning.render().startswith(f'{path}:8:5: warning: the counts "2" to "4" take up to ')
    assert "but each beat lasts 0.25 s at 120 per minute; they run into the next beat" in (
        warning.message
    )


def test_real_counts_leave_the_beat_grid_as_it_was(clip_cache, tmp_path):
    path = FIXTURES / "fast-counts.routine"
    quiet = tmp_path / "no-counts.routine"
    quiet.write_text(path.read_text().replace("    count every 1\n", ""))
    counted = session.build(str(path), cache_dir=clip_cache)
    plain = session.build(str(quiet), cache_dir=clip_cache)
    clicks = [[e.start for e in b.timeline.events if e.kind == "click"] for b in (counted, plain)]
    assert clicks[0] == clicks[1]
    assert counted.timeline.reps == plain.timeline.reps
    assert counted.timeline.length == plain.timeline.length


def test_a_comfortable_routine_gives_no_warning(clip_cache):
    assert session.build(str(FIXTURES / "comfortable.routine"), cache_dir=clip_cache).warnings == []


@pytest.mark.parametrize("name", library.builtin_names())
def test_builtin_routines_give_no_speech_fit_warning(clip_cache, name):
    assert [w.render() for w in session.build(name, cache_dir=clip_cache).warnings] == []
