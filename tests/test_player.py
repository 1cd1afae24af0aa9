"""The player through the captured ALSA device: one open a session, the export sample for sample,
pause and skips with their fades, and the errors a device can give."""

from __future__ import annotations

import wave
from pathlib import Path

import numpy as np
import pytest
from conftest import RATE
from helpers import (
    FakeStream,
    assert_played,
    fade_down,
    fade_up,
    first_sound,
    paced_conf,
    play_captured,
)

from coach.export import export
from coach.feed import FADE_SECONDS
from coach.mixer import SourceBank, mix_all
from coach.player import Player
from coach.timeline import Event, Timeline

FADE = round(FADE_SECONDS * RATE)

# Runs in a fresh process: ALSA reads its configuration once per process. `script` lists
# (seconds after the first sound, command); the report has the feed's marks.
CHILD = r"""
import json, pickle, sys, threading, time
from coach.diagnostics import AudioDeviceError
from coach.mixer import SourceBank
from coach.player import Player

timeline, speech, files, script, interrupt = pickle.load(open(sys.argv[1], "rb"))
bank = SourceBank(timeline.sample_rate, speech=speech, files=files)
began = []

def progress(position, total):
    if not began:
        began.append(time.monotonic())
        for delay, command in script:
            threading.Timer(delay, player.command, [command]).start()
    if interrupt is not None and time.monotonic() - began[0] >= interrupt:
        raise KeyboardInterrupt

player = Player(timeline, bank, on_progress=progress)
try:
    player.run()
    result = "ok"
except AudioDeviceError as error:
    result = "AudioDeviceError: " + str(error)
except KeyboardInterrupt:
    result = "KeyboardInterrupt"
marks = [(m.what, m.position) for m in player.feed.marks]
print(json.dumps({"result": result, "marks": marks, "played": player.played}))
"""


def play_in_child(
    tmp_path: Path,
    timeline: Timeline,
    bank: SourceBank,
    script: list[tuple[float, str]] | None = None,
    alsa_config: Path | None = None,
    interrupt: float | None = None,
):
    job = (timeline, dict(bank.speech), dict(bank.files), script or [], interrupt)
    if alsa_config is None:
        return play_captured(tmp_path, CHILD, job)
    return play_captured(tmp_path, CHILD, job, alsa_config)


def test_the_device_gets_the_wav_export_through_one_open(tmp_path: Path, demo_session) -> None:
    """The key test: the whole session through one stream, byte for byte the export's
    PCM data (the backend's priming zeros aside)."""
    timeline, bank = demo_session
    played = play_in_child(tmp_path, timeline, bank)
    assert played.report["result"] == "ok"
    assert played.opens == 1
    with wave.open(str(export(timeline, bank, tmp_path / "session.wav")), "rb") as wav:
        # The samples, wherever the data chunk starts (tags and cue points come before it).
        exported = np.frombuffer(wav.readframes(wav.getnframes()), "<i2")
    assert len(exported) == timeline.length
    assert_played(played.audio, exported)
    assert played.report["played"] == [[0, timeline.length]]


def test_pause_and_resume_through_the_device(tmp_path: Path, demo_session) -> None:
    """Paced at four times real time: pause in the reps (no speech), resume; the device
    gets the session up to the pause, a 5 ms fade, silence, a fade in, and the rest."""
    timeline, bank = demo_session
    whole = mix_all(timeline, bank)
    script = [(3.0, "pause"), (3.5, "resume")]  # about 12 s into the session
    played = play_in_child(tmp_path, timeline, bank, script, paced_conf(tmp_path, 4))
    assert played.report["result"] == "ok" and played.opens == 1
    marks = dict(played.report["marks"][:3])
    assert list(marks) == ["fade-out", "silent", "fade-in"]
    p, r = marks["fade-out"], marks["fade-in"]
    assert 6 * RATE < p < 26 * RATE and r == p + FADE  # in the reps: nothing to repeat
    audio = np.frombuffer(played.audio, "<i2")
    assert_played(
        audio,
        np.concatenate([whole[:p], fade_down(whole[p : p + FADE])]),
        np.concatenate([fade_up(whole[r : r + FADE]), whole[r + FADE :]]),
    )
    assert len(audio) - len(whole) > RATE  # a pause of about 2 s of session time


def test_next_through_the_device(tmp_path: Path, demo_session) -> None:
    timeline, bank = demo_session
    whole = mix_all(timeline, bank)
    played = play_in_child(tmp_path, timeline, bank, [(2.5, "next")], paced_conf(tmp_path, 4))
    marks = played.report["marks"]
    assert [m[0] for m in marks[:4]] == ["fade-out", "silent", "jump", "fade-in"]
    p, target = marks[0][1], timeline.chapters[2].start
    assert timeline.chapters[1].start < p < target and marks[3][1] == target
    assert_played(
        played.audio,
        np.concatenate([whole[:p], fade_down(whole[p : p + FADE])]),
        np.concatenate([fade_up(whole[target : target + FADE]), whole[target + FADE :]]),
    )


def test_ctrl_c_stops_and_reraises(tmp_path: Path, demo_session) -> None:
    timeline, bank = demo_session
    played = play_in_child(tmp_path, timeline, bank, None, paced_conf(tmp_path, 8), interrupt=1.0)
    assert played.report["result"] == "KeyboardInterrupt"
    audio = np.frombuffer(played.audio, "<i2")
    whole = mix_all(timeline, bank)
    sent = played.report["played"][0][1]
    assert 4 * RATE < sent < len(whole)  # stopped part way
    lead = first_sound(audio) - first_sound(whole)  # the backend's priming zeros
    heard = len(audio) - lead
    assert lead >= 0 and not audio[:lead].any() and 0 < heard <= sent
    assert np.array_equal(audio[lead:], whole[:heard])


def test_no_audio_device_is_an_audio_device_error(tmp_path: Path, demo_session) -> None:
    config = tmp_path / "no-device.conf"
    config.write_text("pcm.!default { type hw card 99 }\n")  # a sound card nobody has
    timeline, bank = demo_session
    played = play_in_child(tmp_path, timeline, bank, alsa_config=config)
    assert played.report["result"].startswith("AudioDeviceError: No audio device could be opened")
    assert "ALSA lib" not in played.stderr  # one clear message, no library chatter
    assert played.audio == b""


# ---------------------------------------------------------------------------------------
# The player in this process, with a stream that has no device behind it.


def test_the_player_reports_progress_in_order_and_ends(demo_session) -> None:
    timeline, bank = demo_session
    positions: list[int] = []
    stream = FakeStream(speed=200)
    player = Player(timeline, bank, lambda at, total: positions.append(at), output=stream)
    player.run()
    assert positions[-1] == timeline.length and positions == sorted(positions)
    assert np.array_equal(stream.audio()[: timeline.length], mix_all(timeline, bank))
    assert player.state().finished and not player.stopped and stream.closed.is_set()


def test_state_says_paused_only_once_silent(demo_session) -> None:
    timeline, bank = demo_session
    stream = FakeStream(speed=20)
    seen: list[tuple[bool, bool]] = []
    player: Player

    def progress(at: int, total: int) -> None:
        if at > 2 * RATE and not player.feed.marks:
            player.pause()
            state = player.state()
            seen.append((state.paused, bool(player.feed.marks)))
        elif player.paused and len(seen) == 1:
            seen.append((player.state().paused, True))
            player.quit()

    player = Player(timeline, bank, progress, output=stream)
    player.run()
    assert seen == [(False, False), (True, True)]
    assert player.stopped


def test_an_empty_session_plays_nothing(make_timeline) -> None:
    stream = FakeStream()
    Player(make_timeline(0), SourceBank(RATE), output=stream).run()
    assert stream.buffers == []


@pytest.mark.parametrize("ranges", [[(0, 0)], [(5, 5)]])
def test_empty_ranges_play_nothing(make_timeline, ranges) -> None:
    stream = FakeStream()
    Player(make_timeline(100), SourceBank(RATE), output=stream, ranges=ranges).run()
    assert stream.buffers == []


def test_a_clip_that_fails_while_playing_ends_the_session_with_its_error(make_timeline) -> None:
    """A clip is read when the mix first needs it; if it cannot be (the engine is gone
    since), the session stops with that error instead of going silent."""
    from coach.diagnostics import SpeechError
    from coach.speech import Clip, ClipSamples

    def gone() -> np.ndarray:
        raise SpeechError("espeak-ng is not installed")

    speech = ClipSamples([Clip("k", RATE, load=gone)])
    timeline = make_timeline(3 * RATE, [Event(RATE, RATE, "speech", "k", 0, "Hello.")])
    stream = FakeStream()
    with pytest.raises(SpeechError, match="espeak-ng is not installed"):
        Player(timeline, SourceBank(RATE, speech=speech), output=stream).run()
    assert stream.closed.is_set()
