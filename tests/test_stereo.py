"""Sides in stereo: `side:` places its scope in one ear; only routines that use it are stereo."""

from __future__ import annotations

import json
import math
import subprocess
from pathlib import Path

import numpy as np
import pyloudnorm
import pytest
from conftest import RATE
from helpers import run_coach

from coach import limiter
from coach.mixer import SIDE_PAN, SourceBank, mix_all, mix_blocks, pan_gains
from coach.timeline import Event, Timeline

FIXTURES = Path(__file__).parent / "fixtures" / "sides"
SESSION_RATE = 22050


@pytest.fixture(scope="module")
def cache(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("clips")


def show(name: str, cache: Path) -> dict:
    done = run_coach("show", str(FIXTURES / name), "--format", "json", cache=cache)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def decode_stereo(path: Path) -> np.ndarray:
    """The file's audio as (frames, 2) float64, full scale 1, as ffmpeg decodes it."""
    raw = subprocess.run(
        ["ffmpeg", "-v", "error", "-i", str(path), "-f", "s16le", "-ac", "2", "-"],
        capture_output=True,
        check=True,
    ).stdout
    return np.frombuffer(raw, "<i2").reshape(-1, 2).astype(np.float64) / 32768.0


def channels_of(path: Path) -> int:
    probe = subprocess.run(
        ["ffprobe", "-v", "error", "-show_entries", "stream=channels", "-of", "csv=p=0", str(path)],
        capture_output=True,
        text=True,
        check=True,
    )
    return int(probe.stdout.strip())


def left_over_right_db(audio: np.ndarray, start: float, end: float) -> float:
    part = audio[int(start * SESSION_RATE) : int(end * SESSION_RATE)]
    power = np.mean(np.square(part), axis=0)
    return float(10 * math.log10(power[0] / power[1]))


@pytest.fixture(scope="module")
def exported(cache, tmp_path_factory) -> dict[str, Path]:
    directory = tmp_path_factory.mktemp("stereo")
    out = {}
    for fmt in ("mp3", "wav"):
        target = directory / f"sides.{fmt}"
        done = run_coach("export", str(FIXTURES / "sides.routine"), "-o", str(target), cache=cache)
        assert done.returncode == 0, done.stderr
        out[fmt] = target
    return out


def test_a_routine_with_side_is_stereo_in_show_json(cache):
    assert show("sides.routine", cache)["channels"] == 2


def test_a_routine_without_side_stays_mono(cache, tmp_path):
    assert show("plain.routine", cache)["channels"] == 1
    target = tmp_path / "plain.mp3"
    done = run_coach("export", str(FIXTURES / "plain.routine"), "-o", str(target), cache=cache)
    assert done.returncode == 0, done.stderr
    assert channels_of(target) == 1


def test_events_carry_the_side_of_their_scope(cache):
    data = show("sides.routine", cache)
    steps = {step["name"]: step for step in data["steps"]}
    for event in data["events"]:
        inside = [n for n, s in steps.items() if s["start"] <= event["start"] < s["end"]]
        expected = {"Left": "left", "Right": "right"}.get(inside[0], "both") if inside else "both"
        assert event["side"] == expected, event


def test_side_may_name_the_item_of_a_for(cache):
    data = show("for-sides.routine", cache)
    sides = {e["text"]: e["side"] for e in data["events"] if e["kind"] == "speech"}
    assert sides["Look over your left shoulder."] == "left"
    assert sides["Look over your right shoulder."] == "right"
    assert sides["Now the other side."] == "both"


@pytest.mark.parametrize("fmt", ["mp3", "wav"])
def test_an_export_of_a_sided_routine_has_two_channels(exported, fmt):
    assert channels_of(exported[fmt]) == 2


@pytest.mark.parametrize("fmt", ["mp3", "wav"])
def test_the_far_ear_is_at_least_10_db_below_the_near_one(exported, cache, fmt):
    audio = decode_stereo(exported[fmt])
    steps = {step["name"]: step for step in show("sides.routine", cache)["steps"]}
    left, right = steps["Left"], steps["Right"]
    assert left_over_right_db(audio, left["start"], left["end"]) >= 10
    assert left_over_right_db(audio, right["start"], right["end"]) <= -10


def test_both_sides_sound_in_the_middle(exported, cache):
    audio = decode_stereo(exported["wav"])
    first = show("sides.routine", cache)["steps"][0]["start"]
    assert abs(left_over_right_db(audio, 0.0, first)) < 0.1


def test_a_stereo_export_lands_at_the_loudness_target(exported):
    audio = decode_stereo(exported["wav"])
    loudness = pyloudnorm.Meter(SESSION_RATE).integrated_loudness(audio)
    assert abs(loudness - -16.0) <= 1.0


def test_the_pan_is_equal_power_and_left_is_left():
    for side in ("left", "right", "both"):
        left, right = pan_gains(side)
        assert math.isclose(left**2 + right**2, 1.0)
    left, right = pan_gains("left")
    assert 20 * math.log10(left / right) >= 10
    assert pan_gains("right") == pan_gains("left")[::-1]
    assert 0 < SIDE_PAN < 1


def stereo_timeline(length: int, events: list[Event]) -> Timeline:
    return Timeline("Stereo", RATE, length, [], events, stereo=True)


def test_a_stereo_mix_places_each_event_on_its_side():
    tone = np.full(1000, 0.25, dtype=np.float32)
    bank = SourceBank(RATE, files={"tone.wav": tone})
    events = [Event(0, 1000, "sound", "tone.wav", side="left")]
    events.append(Event(2000, 1000, "sound", "tone.wav", side="right"))
    out = mix_all(stereo_timeline(3000, events), bank, level=False)
    assert out.shape == (3000, 2)
    near, far = pan_gains("left")
    assert out[500].tolist() == [round(0.25 * near * 32767), round(0.25 * far * 32767)]
    assert out[2500].tolist() == [round(0.25 * far * 32767), round(0.25 * near * 32767)]


def test_stereo_blocks_from_any_start_equal_the_whole_mix():
    noise = np.random.default_rng(7).uniform(-0.9, 0.9, 30000).astype(np.float32)
    bank = SourceBank(RATE, files={"noise.wav": noise})
    events = [Event(100, 30000, "sound", "noise.wav", side="left")]
    events.append(Event(5000, 30000, "sound", "noise.wav", side="both"))
    timeline = stereo_timeline(40000, events)
    whole = mix_all(timeline, bank)
    for start in (0, 1, 4096, 17001):
        parts = np.concatenate(list(mix_blocks(timeline, bank, 3000, start=start)))
        assert np.array_equal(parts, whole[start:])


def test_the_limiter_gives_both_channels_one_gain():
    loud = np.full(20000, 0.99, dtype=np.float32)
    bank = SourceBank(RATE, files={"loud.wav": loud})
    events = [Event(0, 20000, "sound", "loud.wav", side="left")]
    out = mix_all(stereo_timeline(20000, events), bank).astype(np.float64)
    ceiling = 10 ** (limiter.CEILING_DB / 20) * 32767
    assert np.abs(out).max() <= ceiling * 1.01
    middle = out[5000:15000]
    near, far = pan_gains("left")
    assert np.allclose(middle[:, 1] / middle[:, 0], far / near, atol=1e-3)


def test_show_marks_the_ear_of_a_one_sided_cue(cache):
    done = run_coach("show", str(FIXTURES / "sides.routine"), cache=cache)
    assert done.returncode == 0, done.stderr
    rows = done.stdout.splitlines()
    assert any(r.startswith("audio:") and "stereo" in r for r in rows)
    assert any('"This comes from the left."  (left ear)' in r for r in rows)
    assert any("metronome: 4 clicks" in r and "(right ear)" in r for r in rows)
    assert any(r.endswith('"Both ears."') for r in rows)


def test_a_routine_uses_side_in_a_header_a_block_or_a_repeat(tmp_path):
    from coach import loader, nodes

    texts = {
        "header": "title: T\nside: left\n\nsay: Hi.\n",
        "step": "title: T\n\nstep S:\n    side: right\n    say: Hi.\n",
        "repeat": "title: T\n\nrepeat 2 times:\n    side: left\n    count every 1\n",
        "none": "title: T\n\nsay: Hi.\n",
    }
    found = {}
    for name, text in texts.items():
        path = tmp_path / f"{name}.routine"
        path.write_text(text)
        found[name] = nodes.uses_side(loader.load(path)[0])
    assert found == {"header": True, "step": True, "repeat": True, "none": False}
