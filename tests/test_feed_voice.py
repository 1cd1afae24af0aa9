"""The feed's part in voice commands: words said into the stream, a cue laid over it, and the
log of when coach itself sounds; the test plays the audio thread buffer by buffer."""

from __future__ import annotations

import numpy as np
from conftest import RATE
from helpers import fade_down, fade_up
from test_feed import BUFFER, FADE, feeds, start  # noqa: F401  (the fixture)

from coach.voicelog import VoiceLog, voice_spans

WORDS = (np.sin(np.arange(3000) / 7.0) * 8000).astype(np.int16)


def test_words_said_between_sounds_come_after_a_fade_and_the_session_goes_on(
    feeds, demo_session  # noqa: F811
) -> None:
    device, whole = start(feeds, demo_session)
    p = 10 * RATE + 300  # between metronome clicks: no spoken line
    device.to(p)
    device.feed.say(WORDS)
    out = device.pull(FADE + len(WORDS) + BUFFER)
    assert np.array_equal(out[:FADE], fade_down(whole[p : p + FADE]))
    assert np.array_equal(out[FADE : FADE + len(WORDS)], WORDS)
    after = out[FADE + len(WORDS) :]
    assert np.array_equal(after[:FADE], fade_up(whole[p + FADE : p + 2 * FADE]))
    assert np.array_equal(after[FADE : 2 * FADE], whole[p + 2 * FADE : p + 3 * FADE])
    assert [m.what for m in device.feed.marks] == ["fade-out", "silent", "say", "fade-in"]


def test_words_said_over_a_spoken_line_come_before_that_line_again(
    feeds, demo_session  # noqa: F811
) -> None:
    timeline, _ = demo_session
    line = next(e for e in timeline.events if e.kind == "speech" and e.start > 3 * RATE)
    device, whole = start(feeds, demo_session)
    p = line.start + line.length // 2
    device.to(p)
    device.feed.say(WORDS)
    out = device.pull(FADE + len(WORDS) + 2 * FADE)
    assert np.array_equal(out[FADE : FADE + len(WORDS)], WORDS)
    again = out[FADE + len(WORDS) : FADE + len(WORDS) + FADE]
    assert np.array_equal(again, fade_up(whole[line.start : line.start + FADE]))


def test_words_said_while_paused_leave_it_paused(feeds, demo_session) -> None:  # noqa: F811
    device, _ = start(feeds, demo_session)
    device.to(10 * RATE + 300)
    device.feed.command("pause")
    device.pull(BUFFER)
    device.feed.say(WORDS)
    out = device.pull(len(WORDS) + 4 * BUFFER)
    assert np.array_equal(out[: len(WORDS)], WORDS)
    assert not out[len(WORDS) :].any() and device.feed.paused


def test_stop_while_words_are_said_ends_at_once(feeds, demo_session) -> None:  # noqa: F811
    device, _ = start(feeds, demo_session)
    device.to(10 * RATE + 300)
    device.feed.say(np.tile(WORDS, 20))
    device.pull(2 * BUFFER)
    device.feed.command("quit")
    device.rest()
    assert device.feed.finished and device.feed.stopped
    assert device.feed.marks[-1].what == "end"


def test_a_cue_is_laid_over_the_session_without_moving_it(feeds, demo_session) -> None:  # noqa: F811
    device, whole = start(feeds, demo_session)
    p = 10 * RATE + 300
    device.to(p)
    cue = np.full(700, 1000, dtype=np.int16)
    device.feed.cue(cue)
    out = device.pull(2 * BUFFER)
    expected = whole[p : p + len(out)].astype(np.int32)
    expected[: len(cue)] += cue
    assert np.array_equal(out, np.clip(expected, -32768, 32767))
    assert [m.what for m in device.feed.marks] == ["cue"]


def test_the_voice_log_holds_coachs_voice_at_device_time_and_not_the_clicks(
    feeds, demo_session  # noqa: F811
) -> None:
    timeline, _ = demo_session
    device, _ = start(feeds, demo_session)
    device.feed.latency = 1000.0  # sounds in 1000 s: nothing logged is heard yet
    device.to(12 * RATE)  # past the intro, the chimes and "Ten slow reps."; clicks now
    log = device.feed.voice
    spans = voice_spans(timeline)
    spoken = [(s, e) for s, e in spans if e <= 12 * RATE]
    assert spoken, "the demo session speaks in its first 12 s"
    assert log.sounding(1000.0, 1000.0 + 10**6)  # what was sent, at its device time
    assert not log.sounding(0.0, 999.0)


def test_voice_spans_merge_speech_hiss_and_sounds_and_leave_out_clicks(demo_session) -> None:
    timeline, _ = demo_session
    spans = voice_spans(timeline)
    assert all(a < b for a, b in spans)
    assert all(end < following for (_, end), (following, _) in zip(spans, spans[1:]))
    for event in timeline.events:
        inside = any(a <= event.start and event.end <= b for a, b in spans)
        assert inside == (event.kind != "click"), event


def test_the_voice_log_answers_overlaps() -> None:
    log = VoiceLog()
    log.add(10.0, 11.0)
    log.add(11.0, 12.0)
    log.add(20.0, 21.0)
    assert log.sounding(11.5, 11.6) and log.sounding(9.0, 10.5) and log.sounding(20.9, 30.0)
    assert not log.sounding(12.1, 19.9) and not log.sounding(0.0, 9.99)
