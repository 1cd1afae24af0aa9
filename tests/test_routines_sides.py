"""The built-in routines that work one side at a time speak each side from that side's ear
(`side:`, routine language 1.1; issue 12): the steps of the left side sound in the left ear,
those of the right side in the right ear, everything else in both, and the routines that
do not use `side:` stay mono.

Pure stages only: each routine is checked, compiled and laid out with fake speech lengths.
"""

from __future__ import annotations

import re
from functools import cache

import pytest
from helpers import RATE, SOUND_LENGTHS, fake_clips

from coach import library, session
from coach.compiler import compile_routine
from coach.layout import lay_out
from coach.timeline import Event, Timeline

# The one-sided steps of each routine that uses `side:`, by chapter name ({side}: the side).
ONE_SIDED = {
    "lower-back-ball": (
        "Place the ball, {side} side",
        "Circles one way, {side} side",
        "Circles the other way, {side} side",
        "Up and down, {side} side",
    ),
    "neck-and-shoulders": ("Ear towards the {side} collarbone", "Trapezius squeeze, {side}"),
    "upper-back-ball": ("Twist to the {side}",),
    "lower-back": ("Bird-dog, {side} leg",),
}
SIDED = sorted(ONE_SIDED)
MONO = [name for name in library.builtin_names() if name not in ONE_SIDED]
SIDES = ("left", "right")
OTHER = {"left": "right", "right": "left"}


# Helpers -----------------------------------------------------------------------------------


@cache
def timeline(name: str) -> Timeline:
    """The laid-out session of a built-in routine, with a tenth of a second per character
    of speech (no speech engine)."""
    routine = session.load_checked(name).routine
    plan = compile_routine(routine)
    return lay_out(plan, RATE, fake_clips(plan), SOUND_LENGTHS)


def step_indexes(name: str, side: str) -> set[int]:
    """The chapters of `name`'s one-sided steps for `side`."""
    wanted = {step.format(side=side) for step in ONE_SIDED[name]}
    found = {i for i, c in enumerate(timeline(name).chapters) if c.name in wanted}
    assert len(found) == len(wanted), [c.name for c in timeline(name).chapters]
    return found


def events_of(name: str, side: str) -> list[Event]:
    steps = step_indexes(name, side)
    return [e for e in timeline(name).events if e.step in steps]


def events_outside(name: str) -> list[Event]:
    steps = step_indexes(name, "left") | step_indexes(name, "right")
    return [e for e in timeline(name).events if e.step not in steps]


# Tests -------------------------------------------------------------------------------------


def test_every_builtin_is_either_one_sided_or_mono() -> None:
    assert set(SIDED) <= set(library.builtin_names())
    assert MONO, "no built-in is left to show that a routine without side: stays mono"


@pytest.mark.parametrize("name", SIDED)
def test_a_routine_with_one_sided_steps_is_stereo(name: str) -> None:
    assert timeline(name).channels == 2


@pytest.mark.parametrize("name", SIDED)
def test_the_left_steps_sound_in_the_left_ear(name: str) -> None:
    events = events_of(name, "left")
    assert events
    assert {e.side for e in events} == {"left"}


@pytest.mark.parametrize("name", SIDED)
def test_the_right_steps_sound_in_the_right_ear(name: str) -> None:
    events = events_of(name, "right")
    assert events
    assert {e.side for e in events} == {"right"}


@pytest.mark.parametrize("name", SIDED)
def test_every_kind_of_sound_in_a_one_sided_step_comes_from_its_side(name: str) -> None:
    """Speech, clicks and the step's chime alike: nothing of the step is left in the middle."""
    for side in SIDES:
        kinds = {e.kind for e in events_of(name, side) if e.side == side}
        assert {"speech", "sound"} <= kinds, (side, kinds)


@pytest.mark.parametrize("name", SIDED)
def test_everything_outside_the_one_sided_steps_sounds_in_both_ears(name: str) -> None:
    outside = events_outside(name)
    assert outside
    assert [(e.kind, e.text) for e in outside if e.side != "both"] == []


@pytest.mark.parametrize("name", SIDED)
def test_the_move_to_the_other_side_is_said_in_both_ears(name: str) -> None:
    """The `between:` transition belongs to neither side."""
    transitions = [
        e for e in timeline(name).events if e.kind == "speech" and "other side" in e.text
    ]
    assert transitions
    assert {e.side for e in transitions} == {"both"}


@pytest.mark.parametrize("name", SIDED)
def test_the_words_of_a_one_sided_step_never_name_the_other_side(name: str) -> None:
    """The ear and the words agree: what is said in the left ear says left, never right."""
    for side in SIDES:
        other = re.compile(rf"\b{OTHER[side]}\b", re.IGNORECASE)
        said = [e.text for e in events_of(name, side) if e.kind == "speech"]
        named = [text for text in said if re.search(rf"\b{side}\b", text, re.IGNORECASE)]
        assert named, f"no line of the {side} steps says {side}"
        assert [text for text in said if other.search(text)] == []


@pytest.mark.parametrize("name", SIDED)
def test_the_json_timeline_says_two_channels_and_each_events_side(name: str) -> None:
    shown = timeline(name).to_dict()
    assert shown["channels"] == 2
    sides = [event["side"] for event in shown["events"]]
    assert set(sides) == {"left", "right", "both"}


@pytest.mark.parametrize("name", MONO)
def test_a_routine_without_side_stays_mono(name: str) -> None:
    assert timeline(name).channels == 1
    assert {e.side for e in timeline(name).events} == {"both"}
