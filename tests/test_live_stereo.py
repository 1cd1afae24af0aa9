"""Live playback in stereo: a routine that uses `side:` plays through a two-channel stream,
each side in its own ear; the feed's fades, words and cues work on (frames, 2) blocks.

The feed is driven buffer by buffer as in tests/test_feed.py; the device is the real ALSA
one, captured to a file through tests/alsa-capture.conf (interleaved left, right)."""

from __future__ import annotations

import threading
import wave
from pathlib import Path

import numpy as np
import pytest
from conftest import RATE, fake_speech
from helpers import (
    assert_played,
    count_opens,
    device_env,
    fade_down,
    fade_up,
    paced_conf,
    play_captured,
    run_coach,
)

from coach.feed import FADE_SECONDS, Feed
from coach.mixer import SourceBank, mix_all
from coach.player import Player
from coach.timeline import Chapter, Event, Timeline

FADE = round(FADE_SECONDS * RATE)
BUFFER = 512
APART_DB = 10.0  # the far ear is at least this much quieter than the near one
ROOT = Path(__file__).resolve().parent.parent


def sided_session() -> tuple[Timeline, SourceBank]:
    """About 13.5 s in stereo: a step on the left (a line, then clicks), one on the right
    (the same), and a chime in the middle to end."""
    s = RATE
    speech = {"left": fake_speech(1.5, 0), "right": fake_speech(1.5, 1)}
    events: list[Event] = []
    for step, side in enumerate(("left", "right")):
        at = step * 6 * s
        text = f"{side} ear"
        events.append(Event(at + s // 2, len(speech[side]), "speech", side, step, text, side=side))
        for rep in range(3):
            at_rep = at + 3 * s + rep * s
            events.append(Event(at_rep, 772, "click", "click-accent", step, accent=True, side=side))
    events.append(Event(12 * s, 33075, "sound", "chime", 1))
    length = 12 * s + 33075
    chapters = [Chapter("Left", 0, 6 * s), Chapter("Right", 6 * s, length)]
    timeline = Timeline("Sides", RATE, length, chapters, events, stereo=True)
    return timeline, SourceBank(RATE, speech=speech)


def stereo_fade(frames: np.ndarray, down: bool) -> np.ndarray:
    """A pause's (or resume's) fade of stereo frames: the same linear fade on each channel."""
    ramp = fade_down if down else fade_up
    return np.column_stack([ramp(frames[:, channel]) for channel in range(frames.shape[1])])


def level_db(frames: np.ndarray) -> np.ndarray:
    """Each channel's RMS level in dB full scale."""
    rms = np.sqrt(np.mean(frames.astype(np.float64) ** 2, axis=0))
    return 20 * np.log10(np.maximum(rms, 1e-9) / 32768)


def assert_sides(frames: np.ndarray, spans: dict[str, tuple[int, int]]) -> None:
    """In each span the near ear is at least APART_DB louder than the far one."""
    for side, (start, end) in spans.items():
        left, right = level_db(frames[start:end])
        near, far = (left, right) if side == "left" else (right, left)
        assert near > -40, f"{side}: hardly any sound ({near:.1f} dBFS)"
        assert near - far >= APART_DB, f"{side}: near {near:.1f} dB, far {far:.1f} dB"


def aligned(captured: bytes, whole: np.ndarray) -> np.ndarray:
    """The captured stereo frames from where the session starts (after the priming zeros
    a backend sends first), once they are known to be the session (assert_played)."""
    audio = np.frombuffer(captured, "<i2").reshape(-1, 2)
    lead = _first_frame(audio) - _first_frame(whole)
    return audio[lead:]


def _first_frame(frames: np.ndarray) -> int:
    return int(np.flatnonzero(frames.any(axis=1))[0])


# ---------------------------------------------------------------------------------------
# The feed on (frames, 2) blocks, without a device


class StereoDevice:
    """Pulls (BUFFER, 2) buffers from a feed as a stereo callback would."""

    def __init__(self, feed: Feed) -> None:
        self.feed = feed
        self.more = True
        threading.Thread(target=feed.produce, daemon=True).start()

    def pull(self, frames: int) -> np.ndarray:
        got: list[np.ndarray] = []
        while sum(map(len, got)) < frames and self.more:
            buffer = np.full((BUFFER, 2), 12345, dtype=np.int16)  # the feed must overwrite all
            self.more = self.feed.fill(buffer)
            got.append(buffer)
        return np.concatenate(got) if got else np.zeros((0, 2), np.int16)

    def to(self, position: int) -> np.ndarray:
        """Pull until the feed's next frame is `position`; what came."""
        got: list[np.ndarray] = []
        while self.feed.where().position < position:
            need = position - self.feed.where().position
            buffer = np.zeros((min(BUFFER, need), 2), dtype=np.int16)
            self.more = self.feed.fill(buffer)
            got.append(buffer)
        return np.concatenate(got) if got else np.zeros((0, 2), np.int16)


@pytest.fixture
def feeds():
    made: list[Feed] = []
    yield made
    for feed in made:
        feed.close()


def test_the_mix_of_a_sided_session_puts_each_side_in_its_ear() -> None:
    timeline, bank = sided_session()
    whole = mix_all(timeline, bank)
    assert whole.shape == (timeline.length, 2)
    assert_sides(whole, {"left": (0, 6 * RATE), "right": (6 * RATE, 12 * RATE)})


def test_without_commands_the_stereo_feed_is_the_session(feeds) -> None:
    timeline, bank = sided_session()
    feed = Feed(timeline, bank, [(0, timeline.length)])
    feeds.append(feed)
    device, whole = StereoDevice(feed), mix_all(timeline, bank)
    out = device.pull(timeline.length + BUFFER)
    while device.more:
        out = np.concatenate([out, device.pull(BUFFER)])
    assert np.array_equal(out[: len(whole)], whole)
    assert not out[len(whole) :].any() and feed.finished


def test_pause_and_resume_in_stereo_fade_both_ears_without_a_click(feeds) -> None:
    """Paused in the middle of the left line: both channels fade out together over 5 ms,
    silence, and resume fades in from the start of the line, in both channels."""
    timeline, bank = sided_session()
    feed = Feed(timeline, bank, [(0, timeline.length)])
    feeds.append(feed)
    device, whole = StereoDevice(feed), mix_all(timeline, bank)
    line = next(e for e in timeline.events if e.kind == "speech")
    p = line.start + line.length // 2
    assert np.array_equal(device.to(p), whole[:p])
    feed.command("pause")
    out = device.pull(BUFFER)
    assert np.array_equal(out[:FADE], stereo_fade(whole[p : p + FADE], down=True))
    assert not out[FADE:].any() and feed.paused
    # No click: the fade starts from where the sound was and steps no more than it does.
    steps = np.abs(np.diff(np.concatenate([whole[p - 1 : p], out[: FADE + 1]]).astype(int), axis=0))
    assert steps.max() <= np.abs(np.diff(whole[p - 1 : p + FADE + 1].astype(int), axis=0)).max()
    assert not device.pull(4 * BUFFER).any()
    feed.command("resume")
    out = device.pull(BUFFER)
    assert np.array_equal(out[:FADE], stereo_fade(whole[line.start : line.start + FADE], False))
    assert np.array_equal(out[FADE:], whole[line.start + FADE : line.start + BUFFER])


def test_words_said_and_cues_sound_in_both_ears(feeds) -> None:
    """coach's own mono words (say) and blips (cue) go to both channels, as loud in each as
    a sound in the middle of the session (the equal-power pan's middle)."""
    from coach.mixer import pan_gains

    timeline, bank = sided_session()
    feed = Feed(timeline, bank, [(0, timeline.length)])
    feeds.append(feed)
    device = StereoDevice(feed)
    words = fake_speech(0.3, 4)
    centre = pan_gains("both")
    expected = np.column_stack([np.rint(words * g).astype(np.int16) for g in centre])
    device.to(2 * RATE + 100)  # between the line and the clicks: silence on the left side
    feed.say(words)
    out = device.pull(len(words) + 4 * BUFFER)
    start = _first_frame(out[FADE:]) + FADE  # the session faded out first
    assert np.array_equal(out[start : start + len(words)], expected)
    assert not out[start + len(words) :].any()  # then on, as after a pause: in silence
    blip = fake_speech(0.05, 5)
    feed.cue(blip)
    out = device.pull(len(blip))
    assert np.array_equal(out[: len(blip)], np.column_stack([np.rint(blip * g) for g in centre]))
    assert abs(level_db(out)[0] - level_db(out)[1]) < 0.01


def test_again_says_the_line_in_its_own_ear(feeds) -> None:
    timeline, bank = sided_session()
    player = Player(timeline, bank)
    feeds.append(player.feed)
    device = StereoDevice(player.feed)
    right = next(e for e in timeline.events if e.kind == "speech" and e.side == "right")
    device.to(right.end + RATE // 2)
    player.again()
    out = device.pull(right.length + 4 * BUFFER)
    assert_sides(out, {"right": (0, len(out))})


def test_stereo_words_are_refused_in_a_mono_session(feeds, demo_session) -> None:
    """A mono session's words are handed on as they are (tests/test_feed_voice.py); two
    channels of words cannot go to a one-channel device."""
    timeline, bank = demo_session
    feed = Feed(timeline, bank, [(0, timeline.length)])
    feeds.append(feed)
    with pytest.raises(ValueError, match="channel"):
        feed.say(np.zeros((10, 2), np.int16))


# ---------------------------------------------------------------------------------------
# Through the real ALSA device, captured


CHILD = r"""
import json, pickle, sys, threading, time
from coach.mixer import SourceBank
from coach.player import Player

timeline, speech, script = pickle.load(open(sys.argv[1], "rb"))
bank = SourceBank(timeline.sample_rate, speech=speech)
began = []

def progress(position, total):
    if not began:
        began.append(time.monotonic())
        for delay, command in script:
            threading.Timer(delay, player.command, [command]).start()

player = Player(timeline, bank, on_progress=progress)
player.run()
marks = [(m.what, m.position) for m in player.feed.marks]
print(json.dumps({"marks": marks, "played": player.played}))
"""


def test_a_sided_session_plays_in_stereo_through_one_open(tmp_path: Path) -> None:
    """The device is opened once, with two channels, and gets the stereo mix frame for
    frame: the left step in the left ear, the right step in the right."""
    timeline, bank = sided_session()
    played = play_captured(tmp_path, CHILD, (timeline, dict(bank.speech), []))
    assert played.opens == 1
    whole = mix_all(timeline, bank)
    assert_played(played.audio, whole.reshape(-1))  # interleaved left, right
    heard = aligned(played.audio, whole)
    assert_sides(heard, {"left": (0, 6 * RATE), "right": (6 * RATE, 12 * RATE)})
    assert played.report["played"] == [[0, timeline.length]]


def test_pause_and_resume_through_a_stereo_device(tmp_path: Path) -> None:
    """Paced: a pause in the right step and a resume; the device gets the session to the
    pause, both ears faded out, silence, both faded in, then the rest."""
    timeline, bank = sided_session()
    whole = mix_all(timeline, bank)
    script = [(1.8, "pause"), (2.1, "resume")]
    # The pacer counts mono bytes: a stereo stream through it plays at half its speed.
    played = play_captured(
        tmp_path, CHILD, (timeline, dict(bank.speech), script), paced_conf(tmp_path, 8)
    )
    marks = dict(played.report["marks"][:3])
    assert list(marks) == ["fade-out", "silent", "fade-in"]
    p, r = marks["fade-out"], marks["fade-in"]
    cut = whole[p : p + FADE]
    assert_played(
        played.audio,
        np.concatenate([whole[:p], stereo_fade(cut, down=True)]).reshape(-1),
        np.concatenate([stereo_fade(whole[r : r + FADE], down=False), whole[r + FADE :]]).reshape(
            -1
        ),
    )


SIDED = """title: Sides
tempo: 60 per minute

step Left:
    side: left
    say: Left ear.
    repeat 3 times:
        beat: in
        beat: out
step Right:
    side: right
    say: Right ear.
    repeat 3 times:
        beat: in
        beat: out
"""


def test_coach_play_of_a_sided_routine_is_heard_in_stereo(tmp_path: Path) -> None:
    """The real command line: speech and clicks of `side: left` in the left ear, of
    `side: right` in the right, and the device gets the stereo WAV export frame for frame."""
    from coach import session

    routine = tmp_path / "sides.routine"
    routine.write_text(SIDED)
    cache, capture = tmp_path / "cache", tmp_path / "device.raw"
    env = {
        **device_env(capture, tmp_path / "opens.txt"),
        "COACH_CACHE_DIR": str(cache),
        "PYTHONPATH": str(ROOT),
    }
    result = run_coach("play", str(routine), env=env)
    assert result.returncode == 0, result.stderr
    assert "Done." in result.stderr
    wav = tmp_path / "sides.wav"
    exported = run_coach("export", str(routine), "-o", str(wav), env=env)
    assert exported.returncode == 0, exported.stderr
    with wave.open(str(wav)) as file:
        assert file.getnchannels() == 2
        whole = np.frombuffer(file.readframes(file.getnframes()), "<i2").reshape(-1, 2)
    assert_played(capture.read_bytes(), whole.reshape(-1))
    timeline = session.build(str(routine), cache_dir=cache).timeline
    assert timeline.channels == 2 and len(whole) == timeline.length
    heard = aligned(capture.read_bytes(), whole)
    left, right = timeline.chapters
    assert_sides(heard, {"left": (left.start, left.end), "right": (right.start, right.end)})
    # `coach play` opens the device before any speech is rendered, already in stereo.
    assert count_opens(tmp_path / "opens.txt") == 1


def test_coach_play_of_a_mono_routine_stays_mono(tmp_path: Path) -> None:
    good = ROOT / "tests" / "fixtures" / "cli" / "good.routine"
    cache, capture = tmp_path / "cache", tmp_path / "device.raw"
    env = {
        **device_env(capture, tmp_path / "opens.txt"),
        "COACH_CACHE_DIR": str(cache),
        "PYTHONPATH": str(ROOT),
    }
    result = run_coach("play", str(good), env=env)
    assert result.returncode == 0, result.stderr
    from coach import session

    built = session.build(str(good), cache_dir=cache)
    assert built.timeline.channels == 1
    assert_played(capture.read_bytes(), mix_all(built.timeline, built.bank))
    assert count_opens(tmp_path / "opens.txt") == 1
