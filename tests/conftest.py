"""Fixtures: an isolated user environment, and small timelines built by hand."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

import numpy as np
import pytest

from coach import session
from coach.mixer import SourceBank
from coach.timeline import Chapter, Event, Timeline

RATE = 22050


@pytest.fixture(autouse=True, scope="session")
def isolated_user_profile(tmp_path_factory) -> Iterator[Path]:
    """No test reads the developer's own pacing profile; subprocesses inherit this too.

    Tests that need a profile point COACH_CONFIG at their own file. Nor does any test list
    or find the developer's own routines: COACH_ROUTINES is an empty folder of its own.

    The speech engine is pinned to pyttsx3 (espeak-ng) through COACH_ENGINE, which beats the
    profile and the default (festival's HTS voice on Linux when installed): the timings the
    tests expect are espeak-ng's. Tests of the default and of other engines unset or change it.

    No test reaches the developer's D-Bus session bus (where their desktop's media keys would
    drive a test's player): tests of media buttons start a private bus of their own.
    """
    path = tmp_path_factory.mktemp("profile") / "no-profile.toml"
    keys = ("COACH_CONFIG", "COACH_ENGINE", "COACH_ROUTINES", "DBUS_SESSION_BUS_ADDRESS")
    keys += ("COACH_STATE_DIR",)
    saved = {key: os.environ.get(key) for key in keys}
    os.environ["COACH_CONFIG"] = str(path)
    os.environ["COACH_ENGINE"] = "pyttsx3"
    os.environ["COACH_ROUTINES"] = str(tmp_path_factory.mktemp("no-routines"))
    os.environ.pop("DBUS_SESSION_BUS_ADDRESS", None)
    # Where `coach play` keeps resume points: never the developer's own.
    os.environ["COACH_STATE_DIR"] = str(tmp_path_factory.mktemp("state"))
    yield path
    for key, value in saved.items():
        if value is None:
            os.environ.pop(key, None)
        else:
            os.environ[key] = value


def fake_speech(seconds: float, seed: int = 0, rate: int = RATE) -> np.ndarray:
    """A deterministic int16 stand-in for a speech clip: a warbling voiced buzz, peak
    near full scale, sounding from its first sample to its last."""
    n = int(round(seconds * rate))
    t = np.arange(n) / rate
    pitch = 110 + 20 * seed
    voice = sum(np.sin(2 * np.pi * pitch * k * t + k) / k for k in range(1, 12))
    syllables = 0.55 + 0.45 * np.sin(2 * np.pi * 4.0 * t + seed)
    signal = voice * syllables
    signal *= 0.97 / np.max(np.abs(signal))
    return np.rint(signal * 32767).astype(np.int16)


@pytest.fixture(scope="session")
def build(tmp_path_factory: pytest.TempPathFactory):
    """build(name): the real session of a built-in routine, built once per test run."""
    cache_dir = tmp_path_factory.mktemp("clip-cache")
    built: dict[str, session.Session] = {}

    def get(name: str) -> session.Session:
        if name not in built:
            built[name] = session.build(name, cache_dir=cache_dir)
        return built[name]

    return get


@pytest.fixture
def make_timeline() -> Callable[..., Timeline]:
    """make_timeline(length, events, chapters=(), title=..., sample_rate=22050)."""

    def make(
        length: int,
        events: Sequence[Event] = (),
        chapters: Sequence[Chapter] = (),
        title: str = "Test session",
        sample_rate: int = RATE,
    ) -> Timeline:
        return Timeline(title, sample_rate, length, list(chapters), list(events))

    return make


@pytest.fixture
def demo_session() -> tuple[Timeline, SourceBank]:
    """About 40 s: three steps with speech, a chime, metronome clicks (some under speech),
    a hiss, a countdown of ticks and the bell, with silences between them."""
    s = RATE  # one second
    speech = {
        "intro": fake_speech(2.5, 0),
        "reps": fake_speech(1.8, 1),
        "breathe": fake_speech(1.2, 2),
        "done": fake_speech(1.5, 3),
    }
    events = [
        Event(s // 2, len(speech["intro"]), "speech", "intro", 0, "Lie on the balls."),
        Event(s // 2, 33075, "sound", "chime", 0),
        Event(4 * s, len(speech["reps"]), "speech", "reps", 1, "Ten slow reps."),
        Event(4 * s, 33075, "sound", "chime", 1),
    ]
    for rep in range(10):
        at = 6 * s + rep * 2 * s
        source = "click-accent" if rep % 4 == 0 else "click"
        events.append(Event(at, 772, "click", source, 1, accent=source == "click-accent"))
        events.append(Event(at + s, 772, "click", "click", 1, gain=0.3))
    events += [
        Event(27 * s, len(speech["breathe"]), "speech", "breathe", 2, "Breathe out."),
        Event(29 * s, 4 * s, "hiss", "hiss", 2),
        Event(34 * s, 176, "sound", "tick", 2),
        Event(35 * s, 176, "sound", "tick", 2),
        Event(36 * s, len(speech["done"]), "speech", "done", 2, "Well done."),
        Event(38 * s, 66150, "sound", "bell", 2),
    ]
    events.sort(key=lambda e: e.start)
    length = 38 * s + 66150
    chapters = [
        Chapter("Warm up", 0, 4 * s),
        Chapter("Reps", 4 * s, 27 * s),
        Chapter("Breathe & finish", 27 * s, length),
    ]
    timeline = Timeline("Demo session", RATE, length, chapters, events)
    return timeline, SourceBank(RATE, speech=speech)
