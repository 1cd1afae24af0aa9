"""The player's own commands for voice: "again" and "where" say words into the one stream,
and a heard command is confirmed by a blip; played through a fake output, compared exactly."""

from __future__ import annotations

import threading
import time

import numpy as np
from conftest import RATE
from helpers import FakeStream

from coach import sounds
from coach.clipprep import level_speech
from coach.player import Player


def played_at_session_level(bank, timeline, samples: np.ndarray) -> np.ndarray:
    gain = bank.session_gain(timeline)
    scaled = np.clip(samples.astype(np.float32) * gain, -1.0, 32767 / 32768)
    return np.rint(scaled * 32768.0).astype(np.int16)


def contains(haystack: np.ndarray, needle: np.ndarray) -> bool:
    """Whether `needle` appears in `haystack` sample for sample."""
    starts = np.flatnonzero(haystack[: len(haystack) - len(needle) + 1] == needle[0])
    return any(np.array_equal(haystack[s : s + len(needle)], needle) for s in starts)


def play_with(demo_session, command: str, at_seconds: float, speaker=None) -> tuple:
    timeline, bank = demo_session
    output = FakeStream(speed=20)
    player = Player(timeline, bank, output=output, speaker=speaker)

    def give() -> None:
        while player.state().position < at_seconds * RATE:
            time.sleep(0.002)
        player.command(command)

    threading.Thread(target=give, daemon=True).start()
    player.run()
    return player, output.audio()


def test_again_says_the_last_spoken_line_once_more_then_goes_on(demo_session) -> None:
    timeline, bank = demo_session
    player, audio = play_with(demo_session, "again", 12.0)  # "Ten slow reps." was at 4 s
    line = next(e for e in timeline.events if e.kind == "speech" and e.text == "Ten slow reps.")
    words = played_at_session_level(bank, timeline, bank.levelled(line)[: line.length])
    assert contains(audio, words)
    assert [m.what for m in player.feed.marks][:4] == ["fade-out", "silent", "say", "fade-in"]
    assert len(audio) >= timeline.length + len(words)  # nothing of the session was skipped


def test_where_says_the_step_in_the_sessions_voice(demo_session) -> None:
    timeline, bank = demo_session
    asked: list[str] = []
    clip = (np.sin(np.arange(8000) / 5.0) * 12000).astype(np.int16)

    def speaker(text: str) -> np.ndarray:
        asked.append(text)
        return clip

    player, audio = play_with(demo_session, "where", 12.0, speaker)
    assert asked == ["Step 2 of 3, Reps."]  # the demo session has no rep runs
    words = played_at_session_level(
        bank, timeline, level_speech(clip.astype(np.float64) / 32768.0, RATE)
    )
    assert contains(audio, words)
    assert player.answers == asked


def test_a_confirmation_blip_is_laid_over_the_stream(demo_session) -> None:
    timeline, bank = demo_session
    output = FakeStream(speed=20)
    player = Player(timeline, bank, output=output)
    player.confirm()  # before the first buffer: over the session's opening silence
    player.run()
    blip = played_at_session_level(bank, timeline, sounds.confirmation(RATE))
    whole = output.audio()
    assert np.array_equal(whole[: len(blip)], blip)  # the session is silent for 0.5 s
    assert player.feed.marks[0].what == "cue"
