"""The listening review of the built-in routines (ROUTINES.md, "Listening review"; issue 9):
what every built-in must do for a listener with eyes closed, checked on the real sessions."""

from __future__ import annotations

import re
from collections.abc import Iterator
from itertools import pairwise

import pytest

from coach import library, nodes, session
from coach.timeline import Chapter, Event

BUILTINS = library.builtin_names()
SAFETY = library.routines_dir() / "_safety.routine"
# A routine in another language opens with the safety words of its own language (the same
# points, written in it) and names its equipment in it.
SAFETY_BY_LANGUAGE = {"en": SAFETY, "de": library.routines_dir() / "_sicherheit.routine"}
YOU_NEED = {"en": "You need", "de": "Du brauchst"}
LONG_STEP = 60.0  # seconds: a step this long checks in about pain
LONGEST_SILENCE_ON_PAIN = 150.0  # seconds a long step may go without a check-in
DEFAULT_PERIOD = 4.0  # seconds per rep at coach's default tempo, 15 per minute
PAIN = re.compile(r"\b(hurts?|pain|weh|wehtut|schmerz\w*)\b", re.IGNORECASE)

# What each listener must hear before the first step, in words a body can act on.
EQUIPMENT = {
    "wall-release": ("two tennis balls", "smooth wall"),
    "lower-back-ball": ("one firm ball", "wall"),
    "tender-spot": ("tennis ball", "floor"),
    "tailbone-release": ("soft ball", "softball", "floor"),
    "neck-and-shoulders": ("chair", "stand tall"),
    "upper-back-ball": ("two massage balls", "mat"),
    "lower-back": ("mat", "foam roller"),
    "ruecken-an-der-wand": ("zwei Tennisbälle", "glatte Wand"),
}


# Helpers -----------------------------------------------------------------------------------


def speech(built: session.Session) -> list[Event]:
    return sorted((e for e in built.timeline.events if e.kind == "speech"), key=lambda e: e.start)


def seconds(built: session.Session, samples: int) -> float:
    return samples / built.timeline.sample_rate


def chapter(built: session.Session, name: str) -> int:
    found = [i for i, c in enumerate(built.timeline.chapters) if c.name == name]
    assert len(found) == 1, [c.name for c in built.timeline.chapters]
    return found[0]


def lines_in(built: session.Session, name: str) -> list[str]:
    index = chapter(built, name)
    return [e.text for e in speech(built) if e.step == index]


def statements(body: list[nodes.Statement]) -> Iterator[nodes.Statement]:
    """Every statement of `body`, blocks and includes entered, in order."""
    for statement in body:
        yield statement
        for block in nodes.children(statement):
            yield from statements(block)


def first_step(built: session.Session) -> Chapter:
    step = next(s for s in statements(built.routine.body) if isinstance(s, nodes.Step))
    return built.timeline.chapters[chapter(built, step.name.raw)]


def before_first_step(built: session.Session) -> list[str]:
    start = first_step(built).start
    return [e.text for e in speech(built) if e.start < start]


def safety_lines(language: str = "en") -> list[str]:
    text = SAFETY_BY_LANGUAGE[language].read_text()
    return [m.group(1).strip() for m in re.finditer(r"^say:(.*)$", text, re.M)]


def check_in_lines(built: session.Session) -> set[str]:
    return {text.raw for text in built.routine.header.check_ins}


def is_check_in(built: session.Session, text: str) -> bool:
    """A spoken line that asks about pain: one of the routine's `check-in:` lines, or a
    line of its own that names hurt or pain."""
    return text in check_in_lines(built) or bool(PAIN.search(text))


def header_period(built: session.Session) -> float:
    tempos = [s.value for s in built.routine.header.settings if s.key == "tempo"]
    return float(tempos[-1]) if tempos else DEFAULT_PERIOD


def timed(built: session.Session) -> Iterator[tuple[nodes.Hold | nodes.Repeat, float]]:
    """Every hold and repeat of the routine with how long it lasts, in seconds."""
    for statement in statements(built.routine.body):
        if isinstance(statement, nodes.Hold):
            yield statement, statement.seconds
        elif isinstance(statement, nodes.Repeat):
            period = statement.period or header_period(built)
            yield statement, statement.count * period


# Every routine -----------------------------------------------------------------------------


def test_every_builtin_is_reviewed() -> None:
    assert sorted(EQUIPMENT) == sorted(BUILTINS)


@pytest.mark.parametrize("name", BUILTINS)
def test_equipment_is_spoken_after_the_safety_opening_before_the_first_step(
    build, name: str
) -> None:
    built = build(name)
    language = built.timeline.language
    setup = before_first_step(built)
    safety = safety_lines(language)
    assert setup[: len(safety)] == safety
    needs = [line for line in setup[len(safety) :] if line.startswith(YOU_NEED[language])]
    assert len(needs) == 1, setup
    for thing in EQUIPMENT[name]:
        assert any(thing in line for line in setup), (thing, setup)


def test_safety_opening_asks_for_firm_comfortable_pressure() -> None:
    text = SAFETY.read_text()
    assert "firm, comfortable pressure" in text
    assert "strong pressure" not in text.lower()


def test_safety_opening_names_the_warning_signs_to_stop_and_seek_advice() -> None:
    signs = ("numbness", "tingling", "pain that spreads into an arm or a leg", "dizziness")
    lines = [line for line in safety_lines() if all(sign in line for sign in signs)]
    assert len(lines) == 1, safety_lines()
    assert "Stop" in lines[0] and "seek advice" in lines[0]


def test_the_german_safety_opening_says_the_same_points_in_german() -> None:
    lines = safety_lines("de")
    text = " ".join(lines)
    assert "fest" in text and "angenehm" in text and "stark" not in text  # firm, comfortable
    assert any("Ärzt" in line for line in lines)  # ask your doctor first
    signs = ("Taubheit", "Kribbeln", "Schwindel", "in einen Arm oder ein Bein ausstrahlen")
    warning = [line for line in lines if all(sign in line for sign in signs)]
    assert len(warning) == 1, lines
    assert "Hör auch auf" in warning[0] and "lass dich beraten" in warning[0]
    assert any("Verletzungen" in line and "entzündet" in line for line in lines)


@pytest.mark.parametrize("name", BUILTINS)
def test_no_cue_is_a_lone_down(build, name: str) -> None:
    # A bare "Down" is heard as "out" over a metronome, eyes closed: "and down" instead.
    built = build(name)
    for statement in statements(built.routine.body):
        if isinstance(statement, nodes.Repeat):
            for beat in statement.beats:
                assert beat.word.raw.strip().lower() != "down", beat.position
    lone = [e.text for e in speech(built) if e.text.strip(" .!").lower() == "down"]
    assert lone == []


@pytest.mark.parametrize("name", BUILTINS)
def test_spoken_cues_never_overlap(build, name: str) -> None:
    for line, following in pairwise(speech(build(name))):
        assert line.end <= following.start, (line.text, following.text)


@pytest.mark.parametrize("name", BUILTINS)
def test_every_step_of_a_minute_or_more_checks_in_about_pain(build, name: str) -> None:
    built = build(name)
    long_steps = [
        (index, c)
        for index, c in enumerate(built.timeline.chapters)
        if seconds(built, c.end - c.start) >= LONG_STEP
    ]
    for index, step in long_steps:
        asks = [e.start for e in speech(built) if e.step == index and is_check_in(built, e.text)]
        assert asks, step.name
        marks = [step.start, *asks, step.end]
        longest = max(seconds(built, b - a) for a, b in pairwise(marks))
        assert longest <= LONGEST_SILENCE_ON_PAIN, (step.name, longest)


@pytest.mark.parametrize("name", BUILTINS)
def test_every_hold_or_repeat_of_a_minute_or_more_uses_check_in_every(build, name: str) -> None:
    built = build(name)
    for statement, length in timed(built):
        if length >= LONG_STEP:
            assert statement.check_in is not None, statement.position
            assert check_in_lines(built), "its check-ins use the routine's own words"


@pytest.mark.parametrize("name", BUILTINS)
def test_check_ins_sound_where_they_are_asked_for(build, name: str) -> None:
    built = build(name)
    asked = [s for s, _ in timed(built) if s.check_in is not None]
    placed = [e for e in speech(built) if e.text in check_in_lines(built)]
    assert bool(asked) == bool(placed)
    for event in placed:
        assert event.step is not None
        step = built.timeline.chapters[event.step]
        assert step.start <= event.start and event.end <= step.end
    # Each of the routine's own lines is heard at least once, in turn.
    if asked:
        assert {e.text for e in placed} == check_in_lines(built)


@pytest.mark.parametrize("name", BUILTINS)
def test_check_ins_stay_out_of_countdowns(build, name: str) -> None:
    built = build(name)
    rate = built.timeline.sample_rate
    events = speech(built)
    ones = [e.start for e in events if e.text == "1"]
    fives = [e.start for e in events if e.text == "5"]
    countdowns = [
        (five, one + rate) for five in fives for one in ones if 0 < one - five <= 4 * rate
    ]
    for event in events:
        if event.text in check_in_lines(built):
            for start, end in countdowns:
                assert event.end <= start or event.start >= end, event.text


# wall-release ------------------------------------------------------------------------------

WALL_ZONES = (
    "the base of your buttocks",
    "your lower back",
    "the middle of your back",
    "your shoulder blades",
    "the base of your neck",
)


@pytest.mark.parametrize("zone", WALL_ZONES)
def test_wall_release_says_at_least_25_and_invites_a_longer_stay_at_each_height(
    build, zone: str
) -> None:
    built = build("wall-release")
    name = f"Roll {zone}"
    index = chapter(built, name)
    lines = lines_in(built, name)
    assert any("At least 25" in line for line in lines)
    clicks = [e for e in built.timeline.events if e.step == index and e.kind == "click"]
    assert sum(c.accent for c in clicks) == 25
    invitation = next(
        e for e in speech(built) if e.step == index and "tight" in e.text and "longer" in e.text
    )
    assert "roll on" in invitation.text and "hold" in invitation.text
    # ...after the last rep, with time to take it up before the next cue.
    assert invitation.start > max(c.start for c in clicks)
    after = next(e for e in speech(built) if e.start > invitation.start)
    assert seconds(built, after.start - invitation.end) >= 10.0


# neck-and-shoulders ------------------------------------------------------------------------


def test_neck_head_circles_are_half_circles_chin_low(build) -> None:
    built = build("neck-and-shoulders")
    for name in ("Half circles", "Neck rolls"):
        lines = lines_in(built, name)
        assert any("half circles" in line.lower() for line in lines), lines
        assert any("chin" in line and ("low" in line or "chest" in line) for line in lines)
    assert any("Never tip it back" in line for line in lines_in(built, "Half circles"))
    for event in speech(built):
        if "circle" in event.text.lower():
            assert "half circles" in event.text.lower() or "shoulders" in event.text, event.text


def test_neck_half_circles_go_ear_to_ear_on_the_beat(build) -> None:
    built = build("neck-and-shoulders")
    for name in ("Half circles", "Neck rolls"):
        lines = lines_in(built, name)
        assert lines[lines.index("Left") + 1] == "Right"


def test_neck_says_stop_if_you_feel_dizzy_in_every_head_roll(build) -> None:
    built = build("neck-and-shoulders")
    for name in ("Half circles", "Neck rolls"):
        assert any("Stop if you feel dizzy" in line for line in lines_in(built, name)), name


# upper-back-ball ---------------------------------------------------------------------------


def test_upper_back_cat_and_camel_is_done_lying_on_the_balls(build) -> None:
    lines = lines_in(build("upper-back-ball"), "Cat and camel")
    assert any("Lie on your back" in line for line in lines)
    assert any("under the middle of your back" in line for line in lines)
    assert not any("hands and knees" in line for line in lines)


def test_upper_back_cat_and_camel_cues_say_which_way_to_move(build) -> None:
    lines = lines_in(build("upper-back-ball"), "Cat and camel")
    breathe_in = [line for line in lines if line.startswith("Breathe in, and open")]
    breathe_out = [line for line in lines if line.startswith("Breathe out, and curl")]
    assert len(breathe_in) == len(breathe_out) == 1
    assert "chest rises towards the ceiling" in breathe_in[0]
    assert "chin towards your chest" in breathe_out[0]
    assert "round your back" in breathe_out[0]
    # "Arch like an angry cat" reads either way with eyes closed.
    assert not any("arch" in line.lower() or "angry" in line for line in lines)
    assert lines[lines.index("Open") + 1] == "Curl"


# lower-back --------------------------------------------------------------------------------


def test_lower_back_cat_cow_cues_say_which_way_to_move(build) -> None:
    lines = lines_in(build("lower-back"), "Cat-cow")
    assert any(
        line.startswith("Breathe in") and "belly sink" in line and "chest forward" in line
        for line in lines
    )
    assert any(
        line.startswith("Breathe out") and "round your back up to the ceiling" in line
        for line in lines
    )


def test_lower_back_foam_roller_stays_off_the_spine_without_arching(build) -> None:
    built = build("lower-back")
    setup = lines_in(built, "Set up the foam roller")
    assert any("off your spine" in line for line in setup)
    assert any("Do not let it arch" in line and "long" in line for line in setup)
    assert not any("under your lower back" in line for line in setup)
    areas = [c.name for c in built.timeline.chapters if c.name.startswith("Roll the ")]
    assert len(areas) == 4
    for name in areas:
        assert any("beside the spine, not on it" in line for line in lines_in(built, name))
