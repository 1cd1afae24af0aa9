"""The live feed without a device: the test plays the audio thread, buffer by buffer, and gives
commands at exact points; what the feed hands out is checked sample for sample."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import numpy as np
import pytest
from conftest import RATE
from helpers import fade_down, fade_up

from coach.feed import Feed
from coach.mixer import mix_all

FADE = 110  # 5 ms at 22050 Hz
BUFFER = 512


@pytest.fixture
def feeds() -> Iterator[list[Feed]]:
    made: list[Feed] = []
    yield made
    for feed in made:
        feed.close()


class Device:
    """Pulls buffers from a feed as an audio callback would, with its producer running."""

    def __init__(self, feed: Feed) -> None:
        self.feed = feed
        self.out: list[np.ndarray] = []
        self.more = True
        threading.Thread(target=feed.produce, daemon=True).start()

    def pull(self, samples: int) -> np.ndarray:
        """At least `samples` more, in buffers of BUFFER; returns what came."""
        got: list[np.ndarray] = []
        while sum(map(len, got)) < samples and self.more:
            buffer = np.full(BUFFER, 12345, dtype=np.int16)  # the feed must overwrite all
            self.more = self.feed.fill(buffer)
            got.append(buffer)
        self.out += got
        return np.concatenate(got) if got else np.zeros(0, np.int16)

    def to(self, position: int) -> None:
        """Pull until the feed's next sample is `position` (exactly: a short last buffer)."""
        while self.feed.where().position < position:
            need = position - self.feed.where().position
            buffer = np.zeros(min(BUFFER, need), dtype=np.int16)
            self.more = self.feed.fill(buffer)
            self.out.append(buffer)

    def rest(self) -> np.ndarray:
        while self.more:
            self.pull(BUFFER)
        return np.concatenate(self.out)


def start(feeds: list[Feed], demo_session, ranges=None) -> tuple[Device, np.ndarray]:
    timeline, bank = demo_session
    feed = Feed(timeline, bank, ranges or [(0, timeline.length)])
    feeds.append(feed)
    return Device(feed), mix_all(timeline, bank)


def test_without_commands_the_feed_is_the_session_then_silence(feeds, demo_session) -> None:
    device, whole = start(feeds, demo_session)
    out = device.rest()
    assert np.array_equal(out[: len(whole)], whole)
    assert not out[len(whole) :].any() and len(out) - len(whole) < BUFFER
    assert device.feed.finished and not device.feed.stopped
    assert device.feed.played == [(0, len(whole))]


def test_pause_in_silence_fades_out_and_resumes_where_the_fade_ended(feeds, demo_session) -> None:
    device, whole = start(feeds, demo_session)
    p = 10 * RATE + 300  # between metronome clicks: no spoken line
    device.to(p)
    device.feed.command("pause")
    assert not device.feed.paused  # not silent yet
    out = device.pull(BUFFER)
    assert np.array_equal(out[:FADE], fade_down(whole[p : p + FADE]))
    assert not out[FADE:].any() and device.feed.paused
    assert not device.pull(5 * BUFFER).any()  # silence while paused
    device.feed.command("resume")
    out = device.pull(BUFFER)
    assert np.array_equal(out[:FADE], fade_up(whole[p + FADE : p + 2 * FADE]))
    assert np.array_equal(out[FADE:], whole[p + 2 * FADE : p + 2 * FADE + BUFFER - FADE])
    device.rest()
    assert [m.what for m in device.feed.marks] == ["fade-out", "silent", "fade-in", "end"]


def test_pause_during_speech_resumes_from_the_start_of_the_line(feeds, demo_session) -> None:
    timeline, _ = demo_session
    line = next(e for e in timeline.events if e.kind == "speech" and e.start > 3 * RATE)
    device, whole = start(feeds, demo_session)
    p = line.start + line.length // 2
    device.to(p)
    device.feed.command("toggle")
    out = device.pull(BUFFER)
    assert np.array_equal(out[:FADE], fade_down(whole[p : p + FADE])) and not out[FADE:].any()
    device.feed.command("toggle")
    out = device.pull(BUFFER)
    assert np.array_equal(out[:FADE], fade_up(whole[line.start : line.start + FADE]))
    assert np.array_equal(out[FADE:], whole[line.start + FADE : line.start + BUFFER])


def test_the_whole_stream_with_a_pause_is_the_session_with_a_gap(feeds, demo_session) -> None:
    device, whole = start(feeds, demo_session)
    p = 10 * RATE + 300
    device.to(p)
    device.feed.command("pause")
    gap = device.pull(4 * BUFFER)
    device.feed.command("resume")
    out = device.rest()
    before = whole[:p]
    assert np.array_equal(out[:p], before)
    assert np.array_equal(out[p : p + FADE], fade_down(whole[p : p + FADE]))
    assert len(gap) == 4 * BUFFER
    after = np.concatenate([fade_up(whole[p + FADE : p + 2 * FADE]), whole[p + 2 * FADE :]])
    at = p + 4 * BUFFER
    assert not out[p + FADE : at].any()
    assert np.array_equal(out[at : at + len(after)], after)
    assert not out[at + len(after) :].any()


def test_pause_and_resume_within_one_buffer_change_nothing(feeds, demo_session) -> None:
    device, whole = start(feeds, demo_session)
    p = 2 * RATE
    device.to(p)
    device.feed.command("pause")
    device.feed.command("pause")
    device.feed.command("resume")
    assert np.array_equal(device.pull(BUFFER), whole[p : p + BUFFER])
    assert device.feed.marks == []


def test_next_fades_out_and_goes_on_from_the_next_step(feeds, demo_session) -> None:
    timeline, _ = demo_session
    device, whole = start(feeds, demo_session)
    p = 10 * RATE
    device.to(p)
    device.feed.command("next")
    out = device.pull(BUFFER)
    target = timeline.chapters[2].start
    assert np.array_equal(out[:FADE], fade_down(whole[p : p + FADE]))
    assert np.array_equal(out[FADE : 2 * FADE], fade_up(whole[target : target + FADE]))
    assert np.array_equal(out[2 * FADE :], whole[target + FADE : target + BUFFER - FADE])
    assert device.feed.played[-1][0] == target


def test_back_restarts_the_step(feeds, demo_session) -> None:
    timeline, _ = demo_session
    device, _ = start(feeds, demo_session)
    device.to(30 * RATE)
    device.feed.command("back")
    device.pull(BUFFER)
    assert device.feed.played[-1][0] == timeline.chapters[2].start


def test_back_twice_quickly_goes_to_the_step_before(feeds, demo_session) -> None:
    timeline, _ = demo_session
    device, _ = start(feeds, demo_session)
    device.to(30 * RATE)
    device.feed.command("back")
    device.feed.command("back")
    device.pull(BUFFER)
    assert device.feed.played[-1][0] == timeline.chapters[1].start


def test_back_twice_slowly_restarts_the_same_step(feeds, demo_session, monkeypatch) -> None:
    timeline, _ = demo_session
    device, _ = start(feeds, demo_session)
    device.to(30 * RATE)
    device.feed.command("back")
    device.pull(BUFFER)
    monkeypatch.setattr("coach.steps.BACK_TWICE_SECONDS", 0.0)  # the second press comes late
    device.to(timeline.chapters[2].start + RATE)
    device.feed.command("back")
    device.pull(BUFFER)
    assert device.feed.played[-1][0] == timeline.chapters[2].start


def test_next_in_the_last_step_says_so_and_goes_on(feeds, demo_session) -> None:
    device, whole = start(feeds, demo_session)
    device.to(30 * RATE)
    device.feed.command("next")
    device.pull(BUFFER)
    assert device.feed.note() == "already at the last step"


def test_quit_fades_out_and_ends(feeds, demo_session) -> None:
    device, whole = start(feeds, demo_session)
    p = 15 * RATE
    device.to(p)
    device.feed.command("quit")
    out = device.pull(BUFFER)
    assert np.array_equal(out[:FADE], fade_down(whole[p : p + FADE])) and not out[FADE:].any()
    assert not device.more and device.feed.stopped and device.feed.finished


def test_commands_while_paused_stay_paused(feeds, demo_session) -> None:
    timeline, _ = demo_session
    device, whole = start(feeds, demo_session)
    device.to(10 * RATE)
    device.feed.command("pause")
    device.pull(BUFFER)
    device.feed.command("next")
    assert not device.pull(2 * BUFFER).any() and device.feed.paused
    target = timeline.chapters[2].start
    assert device.feed.where().position == target
    device.feed.command("resume")
    out = device.pull(BUFFER)
    assert np.array_equal(out[:FADE], fade_up(whole[target : target + FADE]))


def test_lead_in_then_the_step_and_next_skips_the_rest_of_the_lead_in(
    feeds, demo_session
) -> None:
    timeline, _ = demo_session
    step = timeline.chapters[2].start
    ranges = [(0, 3 * RATE), (step, timeline.length)]
    device, whole = start(feeds, demo_session, ranges)
    out = device.rest()
    expected = np.concatenate([whole[: 3 * RATE], whole[step:]])
    assert np.array_equal(out[: len(expected)], expected)
    device, _ = start(feeds, demo_session, ranges)
    device.to(RATE)
    assert device.feed.where().ahead == step
    device.feed.command("next")
    device.pull(BUFFER)
    assert device.feed.played[-1][0] == step and device.feed.where().ahead is None


def test_where_counts_what_is_left_in_play_order(feeds, demo_session) -> None:
    timeline, _ = demo_session
    step = timeline.chapters[2].start
    device, _ = start(feeds, demo_session, [(0, 3 * RATE), (step, timeline.length)])
    device.to(RATE)
    where = device.feed.where()
    assert where.position == RATE and where.range_start == 0
    assert where.remaining == 2 * RATE + timeline.length - step


def test_unknown_command_is_an_error(feeds, demo_session) -> None:
    device, _ = start(feeds, demo_session)
    with pytest.raises(ValueError, match="unknown player command 'jump'"):
        device.feed.command("jump")
