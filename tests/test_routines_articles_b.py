"""The three built-in routines from "Soothe Your Spine with These Self-Massage Techniques"
(seeds/004): the article's counts and durations, checked on each real compiled session."""

from __future__ import annotations

import re
import wave
from itertools import pairwise
from pathlib import Path

import pytest

from coach import library, loader, session
from coach.export import export
from coach.timeline import Event, Timeline

ROUTINES = ("neck-and-shoulders", "upper-back-ball", "lower-back")
ARTICLE_TITLE = "Soothe Your Spine with These Self-Massage Techniques"
SEED_FILE = "004_72ae798a6a9f7cb1.txt"
SAFETY = Path(session.__file__).parent / "routines" / "_safety.routine"
COUNTDOWN = ("5", "4", "3", "2", "1")


# Fixtures and helpers ----------------------------------------------------------------------


def safety_lines() -> list[str]:
    return [
        line.split(":", 1)[1].strip()
        for line in SAFETY.read_text().splitlines()
        if line.startswith("say:")
    ]


def spoken(timeline: Timeline, step: int | None = None) -> list[Event]:
    return [e for e in timeline.events if e.kind == "speech" and (step is None or e.step == step)]


def chapter(timeline: Timeline, name: str) -> int:
    """The index of the chapter called `name`; it must exist exactly once."""
    found = [index for index, c in enumerate(timeline.chapters) if c.name == name]
    assert len(found) == 1, [c.name for c in timeline.chapters]
    return found[0]


def chapters_starting(timeline: Timeline, prefix: str) -> list[int]:
    return [i for i, c in enumerate(timeline.chapters) if c.name.startswith(prefix)]


def clicks(timeline: Timeline, step: int) -> list[Event]:
    return [e for e in timeline.events if e.kind == "click" and e.step == step]


def accents(timeline: Timeline, step: int) -> list[Event]:
    return [e for e in clicks(timeline, step) if e.accent]


def gap_samples(built: session.Session) -> int:
    """The routine's `gap:` (silence after each spoken line) in samples."""
    gaps = [s.value for s in built.routine.header.settings if s.key == "gap"]
    assert gaps, "the routine sets its gap in the header"
    return round(float(gaps[-1]) * built.timeline.sample_rate)


def holds(built: session.Session, step: int) -> list[float]:
    """Seconds of every hold ending in a 5..1 countdown in chapter `step`.

    A hold starts after the cue before it (the cue's clip plus the gap) and ends one second
    after its countdown says "1"."""
    timeline = built.timeline
    rate = timeline.sample_rate
    events = spoken(timeline, step)
    texts = [e.text for e in events]
    found = []
    for index in range(len(events) - len(COUNTDOWN) + 1):
        if tuple(texts[index : index + len(COUNTDOWN)]) != COUNTDOWN:
            continue
        numbers = events[index : index + len(COUNTDOWN)]
        assert all(b.start - a.start == rate for a, b in pairwise(numbers)), texts
        cue = next(e for e in reversed(events[:index]) if e.text != "Halfway.")
        start = cue.end + gap_samples(built)
        end = numbers[-1].start + rate
        found.append((end - start) / rate)
    return found


def halfway_is_in_the_middle(built: session.Session, step: int) -> bool:
    """Each "Halfway." falls exactly in the middle of the hold it belongs to."""
    rate = built.timeline.sample_rate
    events = spoken(built.timeline, step)
    for index, event in enumerate(events):
        if event.text != "Halfway.":
            continue
        one = next(e for e in events[index:] if e.text == "1")
        cue = next(e for e in reversed(events[:index]) if e.text != "Halfway.")
        start = cue.end + gap_samples(built)
        if abs((event.start - start) - (one.start + rate - event.start)) > 1:
            return False
    return True


def breaths_in(timeline: Timeline, step: int) -> list[str]:
    """The breath-in cues of `step`, in order."""
    return [
        e.text
        for e in spoken(timeline, step)
        if re.fullmatch(r"(Last one\. )?Breathe in\.", e.text)
    ]


# Every routine -----------------------------------------------------------------------------


@pytest.mark.parametrize("name", ROUTINES)
def test_routine_passes_the_checker_with_no_diagnostics(name: str) -> None:
    diagnostics = loader.check_file(library.resolve(name))
    assert diagnostics == [], [d.render() for d in diagnostics]


@pytest.mark.parametrize("name", ROUTINES)
def test_source_names_the_article_but_no_internal_file(build, name: str) -> None:
    source = build(name).routine.header.source
    assert ARTICLE_TITLE in source
    assert SEED_FILE not in source and "seeds/" not in source


@pytest.mark.parametrize("name", ROUTINES)
def test_header_has_title_about_and_equipment(build, name: str) -> None:
    header = build(name).routine.header
    assert header.title and header.about and header.equipment


@pytest.mark.parametrize("name", ROUTINES)
def test_opens_with_the_shared_safety_lines(build, name: str) -> None:
    lines = safety_lines()
    first = [e.text for e in spoken(build(name).timeline)][: len(lines)]
    assert first == lines


@pytest.mark.parametrize("name", ROUTINES)
def test_safety_opening_is_included_not_copied(name: str) -> None:
    text = Path(library.resolve(name)).read_text()
    assert "include: coach:safety" in text
    for line in safety_lines():
        assert line not in text


@pytest.mark.parametrize("name", ROUTINES)
def test_asks_for_a_professional_first_with_a_known_condition(build, name: str) -> None:
    timeline = build(name).timeline
    first_chapter = timeline.chapters[0].start
    before = [e.text for e in spoken(timeline) if e.start < first_chapter]
    assert any("condition" in t and "professional" in t for t in before), before


@pytest.mark.parametrize("name", ROUTINES)
def test_sends_you_to_a_doctor_after_a_month_without_relief(build, name: str) -> None:
    texts = [e.text for e in spoken(build(name).timeline)]
    assert any("month" in t and "doctor" in t for t in texts)


@pytest.mark.parametrize("name", ROUTINES)
def test_ends_with_well_done_and_the_bell(build, name: str) -> None:
    timeline = build(name).timeline
    assert spoken(timeline)[-1].text == "Well done."
    last = max(timeline.events, key=lambda e: e.start)
    assert (last.kind, last.source) == ("sound", "bell")


@pytest.mark.parametrize("name", ROUTINES)
def test_every_chapter_starts_with_a_spoken_cue(build, name: str) -> None:
    timeline = build(name).timeline
    for index, c in enumerate(timeline.chapters):
        first = min((e for e in timeline.events if e.step == index), key=lambda e: e.start)
        assert first.start == c.start
        assert any(e.start == c.start for e in spoken(timeline, index)), c.name


@pytest.mark.parametrize("name", ROUTINES)
def test_spoken_cues_never_overlap(build, name: str) -> None:
    events = sorted(spoken(build(name).timeline), key=lambda e: e.start)
    for before, after in pairwise(events):
        assert before.end <= after.start, (before.text, after.text)


@pytest.mark.parametrize("name", ROUTINES)
def test_exports_a_wav_as_long_as_the_timeline(build, name: str, tmp_path: Path) -> None:
    built = build(name)
    out = export(built.timeline, built.bank, tmp_path / f"{name}.wav", fmt="wav")
    with wave.open(str(out)) as wav:
        assert wav.getnframes() == built.timeline.length
        assert wav.getframerate() == built.timeline.sample_rate


# Neck and shoulders ------------------------------------------------------------------------


def test_neck_looks_up_then_rolls_half_circles_both_ways(build) -> None:
    # The article's "look up and do rotations": the look up stays a look up, and the
    # rotations are half circles with the chin low, ear to ear, never tipped back.
    timeline = build("neck-and-shoulders").timeline
    look_up = chapter(timeline, "Look up")
    assert any("ceiling" in e.text for e in spoken(timeline, look_up))
    assert not accents(timeline, look_up)
    step = chapter(timeline, "Half circles")
    assert step == look_up + 1
    texts = [e.text for e in spoken(timeline, step)]
    assert texts[texts.index("Left") + 1] == "Right"
    assert len(accents(timeline, step)) == 6


def test_neck_looks_over_each_shoulder_in_turn(build) -> None:
    timeline = build("neck-and-shoulders").timeline
    left = chapter(timeline, "Look over the left shoulder")
    right = chapter(timeline, "Look over the right shoulder")
    assert left < right
    assert holds(build("neck-and-shoulders"), left) == holds(build("neck-and-shoulders"), right)


def test_neck_ear_towards_collarbone_holds_three_breaths_each_side(build) -> None:
    timeline = build("neck-and-shoulders").timeline
    for side in ("left", "right"):
        step = chapter(timeline, f"Ear towards the {side} collarbone")
        assert breaths_in(timeline, step) == ["Breathe in.", "Breathe in.", "Last one. Breathe in."]
        assert any("centre" in e.text for e in spoken(timeline, step))


def test_neck_rolls_come_after_the_stretches(build) -> None:
    timeline = build("neck-and-shoulders").timeline
    rolls = chapter(timeline, "Neck rolls")
    assert rolls > chapter(timeline, "Ear towards the right collarbone")
    assert any("chin" in e.text and "chest" in e.text for e in spoken(timeline, rolls))
    assert accents(timeline, rolls)


def test_neck_shoulder_shrugs_are_counted(build) -> None:
    timeline = build("neck-and-shoulders").timeline
    step = chapter(timeline, "Shoulder shrugs")
    assert len(accents(timeline, step)) == 5
    assert spoken(timeline, step)[-2].text == "5"


def test_neck_shoulder_circles_five_forward_and_five_backward(build) -> None:
    timeline = build("neck-and-shoulders").timeline
    for direction in ("forward", "backward"):
        step = chapter(timeline, f"Shoulder circles {direction}")
        assert len(accents(timeline, step)) == 5
        assert [e.text for e in spoken(timeline, step) if e.text.isdigit()] == list("12345")


def test_neck_trapezius_squeeze_three_presses_each_side(build) -> None:
    timeline = build("neck-and-shoulders").timeline
    for side in ("left", "right"):
        assert len(accents(timeline, chapter(timeline, f"Trapezius squeeze, {side}"))) == 3


def test_neck_trapezius_press_lasts_three_to_five_seconds(build) -> None:
    timeline = build("neck-and-shoulders").timeline
    step = chapter(timeline, "Trapezius squeeze, left")
    grid = clicks(timeline, step)
    presses = [(a.start, b.start) for a, b in pairwise(grid) if a.accent and not b.accent]
    assert len(presses) == 3
    for press, release in presses:
        assert 3 <= (release - press) / timeline.sample_rate <= 5


def test_neck_trapezius_teaches_press_and_release(build) -> None:
    timeline = build("neck-and-shoulders").timeline
    texts = [e.text for e in spoken(timeline, chapter(timeline, "Trapezius squeeze, right"))]
    assert "Press" in texts and "Release" in texts
    assert any("above the ear" in t for t in texts)


# Upper back on the balls -------------------------------------------------------------------


def test_upper_back_cat_camel_between_8_and_12_reps(build) -> None:
    timeline = build("upper-back-ball").timeline
    step = chapter(timeline, "Cat and camel")
    assert 8 <= len(accents(timeline, step)) <= 12


def test_upper_back_cat_camel_opens_on_the_breath_in_and_rounds_on_the_breath_out(build) -> None:
    timeline = build("upper-back-ball").timeline
    texts = [e.text for e in spoken(timeline, chapter(timeline, "Cat and camel"))]
    assert any("cat and camel" in t for t in texts)
    assert any(t.startswith("Breathe in") and "chest rises" in t for t in texts)
    assert any(t.startswith("Breathe out") and "round your back" in t for t in texts)


def test_upper_back_two_balls_with_crossed_arms_held_30_seconds_4_times(build) -> None:
    built = build("upper-back-ball")
    step = chapter(built.timeline, "Crossed arms on two balls")
    assert holds(built, step) == [30.0] * 4
    assert halfway_is_in_the_middle(built, step)


def test_upper_back_twist_held_30_seconds_4_times_each_side(build) -> None:
    built = build("upper-back-ball")
    for side in ("left", "right"):
        step = chapter(built.timeline, f"Twist to the {side}")
        assert holds(built, step) == [30.0] * 4


def test_upper_back_twist_starts_with_arms_wide_and_knees_to_chest(build) -> None:
    timeline = build("upper-back-ball").timeline
    texts = [e.text for e in spoken(timeline, chapter(timeline, "Set up the twist"))]
    assert any("cactus" in t for t in texts)
    assert any("knees in towards your chest" in t for t in texts)


# Lower back --------------------------------------------------------------------------------


def test_lower_back_stretches_come_before_the_massage(build) -> None:
    timeline = build("lower-back").timeline
    massage = chapter(timeline, "Knuckle pressing")
    assert chapter(timeline, "Cat-cow") < massage
    assert max(chapters_starting(timeline, "Bird-dog")) < massage


def test_lower_back_knuckle_pressing_10_to_12_sets(build) -> None:
    timeline = build("lower-back").timeline
    assert 10 <= len(accents(timeline, chapter(timeline, "Knuckle pressing"))) <= 12


def test_lower_back_knuckles_press_5_seconds_and_lift_off_5_seconds(build) -> None:
    timeline = build("lower-back").timeline
    grid = clicks(timeline, chapter(timeline, "Knuckle pressing"))
    rate = timeline.sample_rate
    assert [e.accent for e in grid] == [True, False] * (len(grid) // 2)
    for a, b in pairwise(grid):
        assert b.start - a.start == 5 * rate


def test_lower_back_cat_cow_10_times(build) -> None:
    timeline = build("lower-back").timeline
    step = chapter(timeline, "Cat-cow")
    assert len(accents(timeline, step)) == 10
    assert spoken(timeline, step)[-2].text == "10"


def test_lower_back_bird_dog_10_holds_of_20_seconds_each_side(build) -> None:
    built = build("lower-back")
    for side in ("left", "right"):
        assert holds(built, chapter(built.timeline, f"Bird-dog, {side} leg")) == [20.0] * 10


def test_lower_back_bird_dog_announces_the_last_hold(build) -> None:
    timeline = build("lower-back").timeline
    texts = [e.text for e in spoken(timeline, chapter(timeline, "Bird-dog, right leg"))]
    reaches = [t for t in texts if "Reach out" in t]
    assert len(reaches) == 10
    assert "last" in reaches[-1]


def test_lower_back_foam_roller_30_seconds_per_area(build) -> None:
    built = build("lower-back")
    areas = chapters_starting(built.timeline, "Roll the ")
    assert len(areas) >= 2
    for step in areas:
        assert holds(built, step) == [30.0]
        assert halfway_is_in_the_middle(built, step)


def test_lower_back_foam_roller_rolls_both_sides_equally(build) -> None:
    timeline = build("lower-back").timeline
    names = [timeline.chapters[i].name for i in chapters_starting(timeline, "Roll the ")]
    left = sorted(n.replace("left", "") for n in names if "left" in n)
    right = sorted(n.replace("right", "") for n in names if "right" in n)
    assert left and left == right
