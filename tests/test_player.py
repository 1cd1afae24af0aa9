"""The player: what reaches the (captured) ALSA device is the export, sample for sample."""

from __future__ import annotations

import importlib.util
import itertools
from pathlib import Path

import numpy as np
import pytest
from conftest import RATE
from helpers import play_captured

from coach.chunks import plan_chunks
from coach.export import export
from coach.mixer import SourceBank, mix_all, quiet_spans
from coach.player import Player
from coach.timeline import Event, Timeline

ROOT = Path(__file__).resolve().parent.parent
CAPTURE_CONF = Path(__file__).resolve().parent / "alsa-capture.conf"

needs_alsa = pytest.mark.skipif(
    importlib.util.find_spec("simpleaudio") is None, reason="needs simpleaudio (ALSA)"
)

# Runs in a fresh process: ALSA reads its configuration once per process.
CHILD = r"""
import json, pickle, sys
from coach.diagnostics import AudioDeviceError
from coach.mixer import SourceBank
from coach.player import Player

timeline, speech, files, interrupt_at_chunk = pickle.load(open(sys.argv[1], "rb"))
bank = SourceBank(timeline.sample_rate, speech=speech, files=files)
starts = []

def progress(position, total):
    starts.append(position)
    if interrupt_at_chunk is not None and position == player.chunks[interrupt_at_chunk][0]:
        raise KeyboardInterrupt

player = Player(timeline, bank, on_progress=progress)
try:
    player.run()
    result = "ok"
except AudioDeviceError as error:
    result = "AudioDeviceError: " + str(error)
except KeyboardInterrupt:
    result = "KeyboardInterrupt"
print(json.dumps({"result": result, "chunks": player.chunks, "progress": starts}))
"""


def play_in_child(
    tmp_path: Path,
    timeline: Timeline,
    bank: SourceBank,
    alsa_config: Path,
    interrupt_at_chunk: int | None = None,
) -> tuple[dict, bytes]:
    """Play in a child process with ALSA pointed at `alsa_config`; returns the child's
    report (with its stderr) and the captured device bytes."""
    job = (timeline, dict(bank.speech), dict(bank.files), interrupt_at_chunk)
    report, stderr, captured = play_captured(tmp_path, CHILD, job, alsa_config)
    report["stderr"] = stderr
    return report, captured


@needs_alsa
def test_captured_device_bytes_equal_the_wav_export(tmp_path: Path, demo_session) -> None:
    """The key test: several chunks, each started when the previous one ends, and the
    device receives exactly the PCM data of the WAV export."""
    timeline, bank = demo_session
    report, captured = play_in_child(tmp_path, timeline, bank, CAPTURE_CONF)
    assert report["result"] == "ok"
    chunks = [tuple(c) for c in report["chunks"]]
    assert len(chunks) >= 4
    wav = export(timeline, bank, tmp_path / "session.wav").read_bytes()
    assert len(captured) == 2 * timeline.length
    assert captured == wav[44:]
    assert captured == mix_all(timeline, bank).astype("<i2").tobytes()
    # Every cut between chunks falls in silence, and progress followed the chunks.
    assert_cuts_in_silence(timeline, chunks)
    progress = report["progress"]
    assert progress[0] == 0 and progress[-1] == timeline.length
    assert progress == sorted(progress) and {a for a, _ in chunks} <= set(progress)


@needs_alsa
def test_ctrl_c_stops_and_reraises(tmp_path: Path, demo_session) -> None:
    timeline, bank = demo_session
    report, captured = play_in_child(tmp_path, timeline, bank, CAPTURE_CONF, 2)
    assert report["result"] == "KeyboardInterrupt"
    chunks = report["chunks"]
    expected = mix_all(timeline, bank).astype("<i2").tobytes()
    # Chunks 0 and 1 played whole; chunk 2 had started; nothing after it was sent.
    assert 2 * chunks[2][0] <= len(captured) <= 2 * chunks[2][1]
    assert captured == expected[: len(captured)]


@needs_alsa
def test_no_audio_device_is_an_audio_device_error(tmp_path: Path, demo_session) -> None:
    config = tmp_path / "no-device.conf"
    config.write_text("pcm.!default { type hw card 99 }\n")  # a sound card nobody has
    timeline, bank = demo_session
    report, captured = play_in_child(tmp_path, timeline, bank, config)
    assert report["result"].startswith("AudioDeviceError: No audio device could be opened")
    assert "coach export ROUTINE -o session.mp3" in report["result"]
    assert "ALSA lib" not in report["stderr"]  # one clear message, no library chatter
    assert captured == b""


@needs_alsa
def test_an_empty_configuration_is_no_device_either(tmp_path: Path, make_timeline) -> None:
    config = tmp_path / "empty.conf"
    config.write_text("")
    timeline = make_timeline(RATE, [Event(0, 772, "click", "click")])
    report, _ = play_in_child(tmp_path, timeline, SourceBank(RATE), config)
    assert report["result"].startswith("AudioDeviceError: No audio device could be opened")
    assert "Unknown PCM default" in report["result"]  # what libasound said, folded in
    assert "ALSA lib" not in report["stderr"]


def assert_cuts_in_silence(timeline: Timeline, chunks: list[tuple[int, int]]) -> None:
    assert chunks[0][0] == 0 and chunks[-1][1] == timeline.length
    assert all(a[1] == b[0] for a, b in itertools.pairwise(chunks))
    spans = quiet_spans(timeline)
    for _, cut in chunks[:-1]:
        # samples cut-1 and cut are both inside one silent span
        assert any(a <= cut - 1 and cut < b for a, b in spans), cut


def test_plan_chunks_cuts_in_silence_near_the_targets(demo_session) -> None:
    timeline, _ = demo_session
    chunks = plan_chunks(timeline)
    assert_cuts_in_silence(timeline, chunks)
    sizes = [(b - a) / RATE for a, b in chunks]
    assert 0.25 <= sizes[0] <= 1.5  # the lead-in silence: sound starts at once
    assert all(5 <= s <= 15 for s in sizes[1:-1])
    assert len(chunks) >= 4


def test_plan_chunks_without_silence_cuts_at_the_target(make_timeline) -> None:
    timeline = make_timeline(60 * RATE, [Event(0, 60 * RATE, "sound", "drone.wav")])
    chunks = plan_chunks(timeline)
    assert [b - a for a, b in chunks[:3]] == [int(0.75 * RATE), 10 * RATE, 10 * RATE]
    assert chunks[-1][1] == 60 * RATE
    assert plan_chunks(make_timeline(0)) == []
    assert plan_chunks(make_timeline(5)) == [(0, 5)]


class FakeOutput:
    """Records every buffer "played"; each finishes after being polled `polls` times."""

    def __init__(self, polls: int = 3) -> None:
        self.buffers: list[np.ndarray] = []
        self.stopped = 0
        self.polls = polls

    def start(self, samples: np.ndarray, sample_rate: int) -> FakeOutput.Handle:
        assert sample_rate == RATE and samples.dtype == np.int16
        self.buffers.append(samples.copy())
        return FakeOutput.Handle(self)

    class Handle:
        def __init__(self, output: FakeOutput) -> None:
            self.output = output
            self.left = output.polls

        def is_playing(self) -> bool:
            self.left -= 1
            return self.left > 0

        def stop(self) -> None:
            self.output.stopped += 1
            self.left = 0


def test_player_sends_the_chunks_in_order(demo_session) -> None:
    timeline, bank = demo_session
    output = FakeOutput()
    player = Player(timeline, bank, output=output)
    player.run()
    assert [len(b) for b in output.buffers] == [b - a for a, b in player.chunks]
    assert np.array_equal(np.concatenate(output.buffers), mix_all(timeline, bank))
    assert player.position == timeline.length


def test_player_stop_ends_playback(demo_session) -> None:
    timeline, bank = demo_session
    output = FakeOutput(polls=5)
    player: Player

    def progress(position: int, total: int) -> None:
        if len(output.buffers) == 2:  # while the second chunk plays
            player.stop()

    player = Player(timeline, bank, on_progress=progress, output=output)
    player.run()
    assert len(output.buffers) == 2 and output.stopped == 1
