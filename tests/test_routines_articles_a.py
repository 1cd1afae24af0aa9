"""The built-in routines from articles 001-003: the real compiled sessions carry each
article's facts (counts, durations, order, positions, safety points)."""

from __future__ import annotations

import re
import wave
from itertools import pairwise
from pathlib import Path

import pytest

from coach import library, loader, session
from coach.export import export
from coach.timeline import Chapter, Event

ROUTINES = ["lower-back-ball", "tender-spot", "tailbone-release"]
SOURCES = {
    "lower-back-ball": (
        "Simple Back Pain Massage Exercise to do At Home",
        "001_fa786bfdad5b8bf7.txt",
    ),
    "tender-spot": (
        "Using A Tennis Ball To Reduce Upper Back Muscle Pain",
        "002_f2da3d93efcf8865.txt",
    ),
    "tailbone-release": (
        "How to Release Back Muscles to Reduce Chronic Pain",
        "003_c55404095e4c1cd9.txt",
    ),
}
MINUTE = 60.0
FIRST_STEPS = {"Get ready"}


# Helpers -----------------------------------------------------------------------------------


def routine_path(name: str) -> Path:
    return library.routines_dir() / f"{name}.routine"


def seconds(built: session.Session, samples: int) -> float:
    return samples / built.timeline.sample_rate


def chapter(built: session.Session, name: str) -> Chapter:
    matches = [c for c in built.timeline.chapters if c.name == name]
    assert len(matches) == 1, [c.name for c in built.timeline.chapters]
    return matches[0]


def chapter_index(built: session.Session, name: str) -> int:
    return built.timeline.chapters.index(chapter(built, name))


def events_in(built: session.Session, name: str, kind: str) -> list[Event]:
    index = chapter_index(built, name)
    return [e for e in built.timeline.events if e.step == index and e.kind == kind]


def spoken(built: session.Session, name: str | None = None) -> list[str]:
    """Spoken lines in order, of the whole session or of one chapter."""
    if name is None:
        return [e.text for e in built.timeline.events if e.kind == "speech"]
    return [e.text for e in events_in(built, name, "speech")]


def said(built: session.Session, *words: str, name: str | None = None) -> bool:
    """Whether one spoken line holds all of `words` (case-insensitive)."""
    return any(all(w.lower() in line.lower() for w in words) for line in spoken(built, name))


def duration(built: session.Session, name: str) -> float:
    found = chapter(built, name)
    return seconds(built, found.end - found.start)


def safety_lines() -> list[str]:
    text = routine_path("_safety").read_text()
    return [m.group(1).strip() for m in re.finditer(r"^say:(.*)$", text, re.MULTILINE)]


# Every routine -----------------------------------------------------------------------------


@pytest.mark.parametrize("name", ROUTINES)
def test_routine_file_checks_with_no_diagnostics(name: str) -> None:
    diagnostics = loader.check_file(routine_path(name))
    assert diagnostics == [], [d.render() for d in diagnostics]


@pytest.mark.parametrize("name", ROUTINES)
def test_routine_opens_with_the_shared_safety_opening(build, name: str) -> None:
    lines = safety_lines()
    assert spoken(build(name))[: len(lines)] == lines


@pytest.mark.parametrize("name", ROUTINES)
def test_safety_opening_is_included_not_copied(name: str) -> None:
    text = routine_path(name).read_text()
    assert re.search(r"^include: coach:safety$", text, re.MULTILINE)
    for line in safety_lines():
        assert line not in text


@pytest.mark.parametrize("name", ROUTINES)
def test_source_names_the_article_title_but_no_internal_file(build, name: str) -> None:
    title, seed = SOURCES[name]
    source = build(name).routine.header.source
    assert title in source
    assert "seeds/" not in source and seed not in source


@pytest.mark.parametrize("name", ROUTINES)
def test_header_has_title_about_and_equipment(build, name: str) -> None:
    header = build(name).routine.header
    assert header.title and header.about and header.equipment


@pytest.mark.parametrize("name", ROUTINES)
def test_spoken_cues_never_overlap(build, name: str) -> None:
    speech = sorted(
        (e for e in build(name).timeline.events if e.kind == "speech"), key=lambda e: e.start
    )
    for line, following in pairwise(speech):
        assert line.end <= following.start, (line.text, following.text)


@pytest.mark.parametrize("name", ROUTINES)
def test_routine_ends_with_well_done_and_the_bell(build, name: str) -> None:
    built = build(name)
    assert spoken(built)[-1] == "Well done."
    last = max(built.timeline.events, key=lambda e: e.start)
    assert (last.kind, last.source) == ("sound", "bell")


@pytest.mark.parametrize("name", ROUTINES)
def test_routine_exports_a_wav_as_long_as_its_timeline(build, name: str, tmp_path) -> None:
    built = build(name)
    path = export(built.timeline, built.bank, tmp_path / f"{name}.wav", fmt="wav")
    with wave.open(str(path), "rb") as wav:
        assert wav.getframerate() == built.timeline.sample_rate
        assert wav.getnframes() == built.timeline.length


# lower-back-ball (001) ---------------------------------------------------------------------


def test_lower_back_ball_circles_five_times_each_way_on_both_sides(build) -> None:
    built = build("lower-back-ball")
    for side in ("left", "right"):
        for way in ("Circles one way", "Circles the other way"):
            clicks = events_in(built, f"{way}, {side} side", "click")
            assert sum(c.accent for c in clicks) == 5


def test_lower_back_ball_counts_every_circle(build) -> None:
    built = build("lower-back-ball")
    for side in ("left", "right"):
        for way in ("Circles one way", "Circles the other way"):
            counts = [t for t in spoken(built, f"{way}, {side} side") if t.isdigit()]
            assert counts == ["1", "2", "3", "4", "5"]


def test_lower_back_ball_circles_are_slow_enough_for_the_counts(build) -> None:
    built = build("lower-back-ball")
    clicks = sorted(e.start for e in events_in(built, "Circles one way, left side", "click"))
    gaps = {round(seconds(built, b - a), 2) for a, b in pairwise(clicks)}
    assert gaps == {6.0}
    for count in events_in(built, "Circles one way, left side", "speech"):
        if count.text.isdigit():
            assert seconds(built, count.length) < 2.0


def test_lower_back_ball_cues_the_move_across_before_the_right_side(build) -> None:
    built = build("lower-back-ball")
    left_end = chapter(built, "Up and down, left side").end
    right_start = chapter(built, "Place the ball, right side").start
    between = [
        e.text
        for e in built.timeline.events
        if e.kind == "speech" and left_end <= e.start < right_start
    ]
    assert any("other side" in text for text in between)


def test_lower_back_ball_rolls_up_and_down_on_each_side(build) -> None:
    built = build("lower-back-ball")
    for side in ("left", "right"):
        name = f"Up and down, {side} side"
        assert sum(c.accent for c in events_in(built, name, "click")) == 5
        assert spoken(built, name)[1:3] == ["Up", "And down"]


def test_lower_back_ball_keeps_the_ball_on_muscle_off_the_spine(build) -> None:
    built = build("lower-back-ball")
    for side in ("left", "right"):
        assert said(built, "never on the spine", name=f"Place the ball, {side} side")
        assert said(built, "lower back", name=f"Place the ball, {side} side")


def test_lower_back_ball_leans_body_weight_into_a_wall(build) -> None:
    built = build("lower-back-ball")
    assert said(built, "against the wall", name="Place the ball, left side")
    assert said(built, "body weight", name="Place the ball, left side")
    assert said(built, "deeper", name="Place the ball, left side")


def before_the_first_step(built: session.Session) -> list[str]:
    """The lines spoken before the routine's first step: the listener's setup."""
    first = min(c.start for c in built.timeline.chapters if c.name in FIRST_STEPS)
    return [e.text for e in built.timeline.events if e.kind == "speech" and e.start < first]


def test_lower_back_ball_names_firm_balls(build) -> None:
    built = build("lower-back-ball")
    assert any("firm ball" in line for line in before_the_first_step(built))
    equipment = built.routine.header.equipment
    for ball in ("dog ball", "tennis", "lacrosse", "golf", "baseball"):
        assert ball in equipment


def test_lower_back_ball_warns_to_build_up_to_ten_and_not_overdo_it(build) -> None:
    built = build("lower-back-ball")
    assert said(built, "five", "ten", name="Finish")
    assert said(built, "irritates", name="Finish")


# tender-spot (002) -------------------------------------------------------------------------


def test_tender_spot_rests_about_five_minutes_on_each_of_two_spots(build) -> None:
    built = build("tender-spot")
    for spot in ("first", "second"):
        assert 4.5 * MINUTE <= duration(built, f"Rest on the {spot} spot") <= 6 * MINUTE


def test_tender_spot_rest_says_halfway_near_its_middle(build) -> None:
    built = build("tender-spot")
    for spot in ("first", "second"):
        rest = chapter(built, f"Rest on the {spot} spot")
        halfway = [e for e in events_in(built, rest.name, "speech") if e.text.startswith("Halfway")]
        assert len(halfway) == 1
        fraction = (halfway[0].start - rest.start) / (rest.end - rest.start)
        assert 0.4 <= fraction <= 0.6


def test_tender_spot_rest_ends_with_a_countdown(build) -> None:
    built = build("tender-spot")
    for spot in ("first", "second"):
        assert spoken(built, f"Rest on the {spot} spot")[-5:] == ["5", "4", "3", "2", "1"]


def test_tender_spot_rest_gives_calm_breathing_cues(build) -> None:
    built = build("tender-spot")
    for spot in ("first", "second"):
        assert "Breathe in." in spoken(built, f"Rest on the {spot} spot")


def test_tender_spot_cues_the_move_to_the_next_spot(build) -> None:
    built = build("tender-spot")
    first_end = chapter(built, "Roll a little, first spot").end
    second_start = chapter(built, "Place the ball, second spot").start
    between = [
        e.text
        for e in built.timeline.events
        if e.kind == "speech" and first_end <= e.start < second_start
    ]
    assert any("next tender spot" in text for text in between)


def test_tender_spot_lies_on_the_floor_not_a_bed(build) -> None:
    built = build("tender-spot")
    assert said(built, "on your back", "floor", name="Get ready")
    assert said(built, "bed", "too soft", name="Get ready")


def test_tender_spot_puts_the_ball_under_the_most_tender_spot_never_on_bone(build) -> None:
    built = build("tender-spot")
    for spot in ("first", "second"):
        name = f"Place the ball, {spot} spot"
        assert said(built, "most tender", name=name)
        assert said(built, "never on a bone", name=name)


def test_tender_spot_offers_a_little_rolling(build) -> None:
    built = build("tender-spot")
    for spot in ("first", "second"):
        name = f"Roll a little, {spot} spot"
        assert said(built, "if you like", "roll", name=name)
        assert sum(c.accent for c in events_in(built, name, "click")) > 0


def test_tender_spot_stretches_the_front_of_the_body_afterwards(build) -> None:
    built = build("tender-spot")
    names = [c.name for c in built.timeline.chapters]
    assert names.index("Stretch the front") > names.index("Rest on the second spot")
    lines = spoken(built, "Stretch the front")
    assert said(built, "front of your body", name="Stretch the front")
    assert "Halfway." in lines
    assert lines[-6:-1] == ["5", "4", "3", "2", "1"]


def test_tender_spot_says_some_soreness_can_be_normal(build) -> None:
    assert said(build("tender-spot"), "sore", "normal", name="Finish")


# tailbone-release (003) --------------------------------------------------------------------

REST = "Rest on the ball"


def test_tailbone_release_lasts_about_ten_minutes(build) -> None:
    assert 8 * MINUTE <= build("tailbone-release").timeline.duration <= 12 * MINUTE


def test_tailbone_release_rests_on_the_ball_about_five_minutes(build) -> None:
    assert 4.5 * MINUTE <= duration(build("tailbone-release"), REST) <= 6 * MINUTE


def test_tailbone_release_hiss_breathing_runs_throughout_the_rest(build) -> None:
    built = build("tailbone-release")
    rest = chapter(built, REST)
    hisses = sorted(events_in(built, REST, "hiss"), key=lambda e: e.start)
    assert len(hisses) >= 25
    # From the first Ssss to the last, at least four and a half minutes of the rest...
    assert seconds(built, hisses[-1].end - hisses[0].start) >= 4.5 * MINUTE
    # ...with no silence longer than a breath in plus the spoken cues between breaths.
    starts = [rest.start] + [h.end for h in hisses]
    ends = [h.start for h in hisses] + [rest.end]
    assert max(seconds(built, b - a) for a, b in zip(starts, ends, strict=True)) <= 20.0
    assert sum(seconds(built, h.length) for h in hisses) >= 2.5 * MINUTE


def test_tailbone_release_each_hiss_lasts_its_exhale(build) -> None:
    """Each hiss starts with "Breathe out." and lasts the 6 s exhale less 0.55 s, so at least
    0.5 s of quiet follows it before the next cue."""
    built = build("tailbone-release")
    events = built.timeline.events
    breaths_out = {e.start for e in events if e.text == "Breathe out."}
    hisses = [e for e in events if e.kind == "hiss"]
    assert hisses
    quiet = round(0.5 * built.timeline.sample_rate)
    for hiss in hisses:
        assert seconds(built, hiss.length) == pytest.approx(6.0 - 0.55, abs=1e-3)
        assert hiss.start in breaths_out
        after = [e for e in events if e.start < hiss.end + quiet and e.end > hiss.end]
        assert after == [], (seconds(built, hiss.end), after)


def test_tailbone_release_breathes_out_with_a_hiss_from_the_start(build) -> None:
    built = build("tailbone-release")
    assert said(built, "belly", name="Belly breathing")
    assert said(built, "Ssss", "dizzy", name="Belly breathing")
    assert said(built, "sore area", name="Belly breathing")
    assert events_in(built, "Belly breathing", "hiss")


def test_tailbone_release_steps_follow_the_article_order(build) -> None:
    names = [c.name for c in build("tailbone-release").timeline.chapters]
    assert names == [
        "Get ready",
        "Belly breathing",
        "Feel the arch",
        "Onto the ball",
        REST,
        "Come off the ball",
        "Notice the change",
    ]


def test_tailbone_release_uses_a_small_soft_ball_not_a_tennis_ball(build) -> None:
    setup = before_the_first_step(build("tailbone-release"))
    assert any("softball" in line for line in setup)
    assert any("tennis ball is too hard" in line for line in setup)
    assert any("second ball" in line for line in setup)


def test_tailbone_release_feels_the_arch_straight_then_bent(build) -> None:
    built = build("tailbone-release")
    lines = spoken(built, "Feel the arch")
    hand = next(i for i, t in enumerate(lines) if "hand under your lower back" in t)
    knees = next(i for i, t in enumerate(lines) if "bend your knees" in t)
    soften = next(i for i, t in enumerate(lines) if "soften" in t)
    assert hand < knees < soften
    assert said(built, "legs long and straight", name="Get ready")


def test_tailbone_release_rolls_onto_the_ball_under_the_tailbone(build) -> None:
    built = build("tailbone-release")
    assert said(built, "roll onto one side", "tailbone", name="Onto the ball")
    assert said(built, "roll back", name="Onto the ball")
    assert said(built, "uncomfortable", name="Onto the ball")


def test_tailbone_release_rest_is_effortless_with_options(build) -> None:
    built = build("tailbone-release")
    assert said(built, "hips sink", "gravity", name=REST)
    assert said(built, "too intense", "two balls", "each side of your tailbone", name=REST)
    assert said(built, "knees", "above your hips", name=REST)
    assert said(built, "no effort", "move the ball", name=REST)


def test_tailbone_release_rest_tells_how_much_is_left(build) -> None:
    built = build("tailbone-release")
    rest = chapter(built, REST)
    speech = events_in(built, REST, "speech")
    halfway = next(e for e in speech if e.text.startswith("Halfway"))
    fraction = (halfway.start - rest.start) / (rest.end - rest.start)
    assert 0.4 <= fraction <= 0.6
    for cue, left in (("Two more minutes", 2 * MINUTE), ("One more minute", MINUTE)):
        found = next(e for e in speech if e.text.startswith(cue))
        assert seconds(built, rest.end - found.start) == pytest.approx(left, abs=10.0)


def test_tailbone_release_comes_off_quickly_and_notices_the_arch(build) -> None:
    built = build("tailbone-release")
    assert said(built, "feet on the floor", name="Come off the ball")
    assert said(built, "quickly", name="Come off the ball")
    assert said(built, "legs long", name="Come off the ball")
    assert said(built, "arch eased", name="Notice the change")
    assert said(built, "as often as you like", name="Notice the change")


def test_tailbone_release_stops_at_any_pain(build) -> None:
    built = build("tailbone-release")
    assert said(built, "hurts", "stop right away")
    assert said(built, "pain", "stop now", name=REST)
