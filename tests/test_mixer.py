"""The mixer: events land on their exact samples, sum, and blocks cover the session exactly."""

from __future__ import annotations

import tracemalloc

import numpy as np
import pytest
from conftest import RATE, fake_speech

from coach import sounds
from coach.mixer import SourceBank, mix_all, mix_blocks, to_int16
from coach.timeline import Event


def expected_int16(x: np.ndarray) -> np.ndarray:
    return np.clip(np.rint(x.astype(np.float32) * 32767), -32768, 32767).astype(np.int16)


@pytest.mark.parametrize("start", [0, 1, 1000, 16383, 16384, 20000])
def test_click_lands_on_its_exact_sample(make_timeline, start: int) -> None:
    click = sounds.click(RATE)
    timeline = make_timeline(40000, [Event(start, len(click), "click", "click")])
    out = mix_all(timeline, SourceBank(RATE), level=False)
    assert len(out) == 40000
    assert np.flatnonzero(out)[0] == start
    assert np.array_equal(out[start : start + len(click)], expected_int16(click))
    assert not out[start + len(click) :].any()


def test_overlapping_events_sum_with_their_gains(make_timeline) -> None:
    files = {
        "a.wav": np.full(1000, 0.25, dtype=np.float32),
        "b.wav": np.full(1000, 0.125, dtype=np.float32),
    }
    events = [
        Event(100, 1000, "sound", "a.wav"),
        Event(600, 1000, "sound", "b.wav", gain=0.5),
    ]
    out = mix_all(make_timeline(2000, events), SourceBank(RATE, files=files), level=False)
    expected = np.zeros(2000, dtype=np.float32)
    expected[100:1100] += 0.25
    expected[600:1600] += 0.125 * 0.5
    assert np.array_equal(out, expected_int16(expected))
    assert out[700] == round((0.25 + 0.0625) * 32767)


def test_sum_is_clipped_to_int16(make_timeline) -> None:
    bank = SourceBank(RATE, files={"loud.wav": np.full(10, 0.9, dtype=np.float32)})
    twice = [Event(0, 10, "sound", "loud.wav"), Event(0, 10, "sound", "loud.wav")]
    assert mix_all(make_timeline(20, twice), bank, level=False)[:10].tolist() == [32767] * 10
    negative = [Event(0, 10, "sound", "loud.wav", gain=-2.5)]
    assert mix_all(make_timeline(20, negative), bank, level=False)[:10].tolist() == [-32768] * 10


def test_speech_clip_is_scaled_from_int16(make_timeline) -> None:
    clip = fake_speech(0.2)
    timeline = make_timeline(len(clip) + 50, [Event(50, len(clip), "speech", "k")])
    out = mix_all(timeline, SourceBank(RATE, speech={"k": clip}), level=False)
    expected = expected_int16(clip.astype(np.float32) / np.float32(32768))
    assert np.array_equal(out[50:], expected)
    assert np.max(np.abs(out[50:].astype(int) - clip)) <= 1  # 32767/32768: within one step


def test_event_length_truncates_the_source_and_short_sources_stop(make_timeline) -> None:
    files = {"f": np.full(100, 0.5, dtype=np.float32)}
    events = [Event(0, 40, "sound", "f"), Event(200, 500, "sound", "f")]
    out = mix_all(make_timeline(1000, events), SourceBank(RATE, files=files))
    assert np.flatnonzero(out).tolist() == [*range(0, 40), *range(200, 300)]


def test_events_past_the_end_are_cut_and_length_is_exact(make_timeline) -> None:
    click = sounds.click(RATE)
    timeline = make_timeline(1000, [Event(900, len(click), "click", "click")])
    out = mix_all(timeline, SourceBank(RATE), level=False)
    assert len(out) == 1000
    assert np.array_equal(out[900:], expected_int16(click[:100]))


def test_empty_timeline(make_timeline) -> None:
    assert list(mix_blocks(make_timeline(0), SourceBank(RATE))) == []
    assert mix_all(make_timeline(0), SourceBank(RATE)).dtype == np.int16
    assert len(mix_all(make_timeline(0), SourceBank(RATE))) == 0


@pytest.mark.parametrize("block_size", [1, 7, 771, 772, 4096, 16384, 100_000, 10**7])
def test_blocks_cover_exactly_and_do_not_change_the_audio(demo_session, block_size) -> None:
    timeline, bank = demo_session
    if block_size == 1:  # a sample at a time is slow; a short stretch is enough
        timeline.length = 3000
        timeline.events = [e for e in timeline.events if e.start < 3000]
    reference = mix_all(timeline, bank)
    blocks = list(mix_blocks(timeline, bank, block_size))
    assert all(b.dtype == np.int16 for b in blocks)
    assert [len(b) for b in blocks[:-1]] == [block_size] * (len(blocks) - 1)
    assert 0 < len(blocks[-1]) <= block_size
    assert sum(len(b) for b in blocks) == timeline.length
    assert np.array_equal(np.concatenate(blocks), reference)


def test_events_crossing_block_boundaries(make_timeline) -> None:
    chime = sounds.chime(RATE)
    events = [Event(start, len(chime), "sound", "chime") for start in (1000, 5000, 9000)]
    timeline = make_timeline(50000, events)
    expected = np.zeros(50000, dtype=np.float32)
    for event in events:  # the same float32 additions, in the same order
        expected[event.start : event.end] += chime
    for block_size in (1024, 3000, 33075):
        blocks = mix_blocks(timeline, SourceBank(RATE), block_size, level=False)
        out = np.concatenate(list(blocks))
        assert np.array_equal(out, expected_int16(expected))


def test_mix_from_an_offset_equals_the_tail(demo_session) -> None:
    timeline, bank = demo_session
    whole = mix_all(timeline, bank)
    for start in (1, 22050 * 6 + 100, timeline.length - 5):
        tail = np.concatenate(list(mix_blocks(timeline, bank, 5000, start=start)))
        assert np.array_equal(tail, whole[start:])


def test_output_is_deterministic(demo_session) -> None:
    timeline, bank = demo_session
    again = SourceBank(bank.sample_rate, speech=bank.speech)
    assert np.array_equal(mix_all(timeline, bank), mix_all(timeline, again))


def test_source_bank_kinds_and_memoization() -> None:
    clip = fake_speech(0.1)
    files = {"bell": np.full(10, 0.5, dtype=np.float32)}  # a file shadows a built-in name
    bank = SourceBank(RATE, speech={"k": clip}, files=files)
    speech = bank.samples(Event(0, len(clip), "speech", "k"))
    assert speech.dtype == np.float32 and speech[0] == np.float32(clip[0]) / 32768
    assert bank.samples(Event(0, 10, "speech", "k")) is speech
    click = bank.samples(Event(0, 1, "click", "click"))
    assert np.array_equal(click, sounds.click(RATE))
    assert bank.samples(Event(5, 9, "click", "click")) is click
    hiss = bank.samples(Event(0, 5000, "hiss", "hiss"))
    assert len(hiss) == 5000
    assert np.array_equal(bank.samples(Event(9, 5000, "hiss", "hiss")), hiss)
    assert len(bank.samples(Event(0, 300, "hiss", "hiss"))) == 300
    assert bank.samples(Event(0, 10, "sound", "bell")).tolist() == [0.5] * 10
    assert len(bank.samples(Event(0, 10, "sound", "chime"))) == len(sounds.chime(RATE))
    with pytest.raises(ValueError):
        click[0] = 1.0  # shared between events: read-only
    with pytest.raises(KeyError, match="missing"):
        bank.samples(Event(0, 10, "speech", "missing"))
    with pytest.raises(KeyError, match="nowhere.wav"):
        bank.samples(Event(0, 10, "sound", "nowhere.wav"))
    assert files["bell"].flags.writeable  # the caller's array is left alone


def test_to_int16_rounds_half_to_even_and_clips() -> None:
    x = np.array([0.5 / 32767, 1.5 / 32767, -0.5 / 32767, 2.0, -2.0, 1.0, -1.0], np.float32)
    assert to_int16(x.copy()).tolist() == [0, 2, 0, 32767, -32768, 32767, -32767]


def test_mixing_memory_stays_within_a_block(make_timeline) -> None:
    """Ten minutes with a click every second and speech every 10 s: the mixer must never
    hold more than about one block (plus the sources), whatever the session length."""
    clip = fake_speech(3.0)
    events = []
    for second in range(600):
        events.append(Event(second * RATE, 772, "click", "click", gain=0.3))
        if second % 10 == 0:
            events.append(Event(second * RATE + 1000, len(clip), "speech", "k"))
    events.sort(key=lambda e: e.start)
    timeline = make_timeline(600 * RATE, events)
    bank = SourceBank(RATE, speech={"k": clip})
    bank.levelled(events[1])  # the sources themselves are not the mixer's memory
    bank.levelled(events[0])
    block_size = 16384
    tracemalloc.start()
    try:
        total = 0
        for block in mix_blocks(timeline, bank, block_size):
            total += len(block)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert total == 600 * RATE
    # The mix of a block and the limiter's window (a quarter of a second) in float32, and the
    # limiter's float64 gains and positions of one block: far below the whole session's 26 MB.
    assert peak < 64 * (block_size + bank.limiter.before + bank.limiter.after), peak
    assert peak < 2_000_000, peak


def test_a_hiss_is_read_in_parts_that_add_up_to_the_whole() -> None:
    """A hiss as long as a breath may be (up to 2 hours) is never made whole in the mix."""
    bank = SourceBank(RATE)
    event = Event(0, RATE * 25 + 7, "hiss", "hiss")  # longer than the bed it loops through
    reader = bank.reader(event)
    assert not isinstance(reader, np.ndarray) and len(reader) == event.length
    parts = [reader[lo : lo + 12345] for lo in range(0, event.length, 12345)]
    assert np.array_equal(np.concatenate(parts), bank.samples(event))


def test_speech_clips_are_kept_within_a_bound(monkeypatch: pytest.MonkeyPatch) -> None:
    """Thousands of distinct lines mix in bounded memory: the clips used least recently go."""
    monkeypatch.setattr("coach.mixer.SPEECH_KEEP_BYTES", 3 * RATE * 4)
    clips = {str(n): fake_speech(1.0, n) for n in range(10)}
    bank = SourceBank(RATE, speech=clips)
    first = bank.levelled(Event(0, RATE, "speech", "0"))
    assert bank.levelled(Event(0, RATE, "speech", "0")) is first
    for n in range(1, 10):
        bank.levelled(Event(0, RATE, "speech", str(n)))
    assert bank.levelled(Event(0, RATE, "speech", "0")) is not first  # made again
    assert np.array_equal(bank.levelled(Event(0, RATE, "speech", "0")), first)


def test_a_sound_read_a_slice_at_a_time_mixes_like_the_same_sound_in_memory(
    make_timeline, tmp_path
) -> None:
    import tempfile

    from coach.soundfile import SpilledSound

    whole = (np.sin(np.arange(RATE * 3) / 7.0) * 0.5).astype(np.float32)
    with tempfile.TemporaryFile(dir=tmp_path) as spill:
        spilled = SpilledSound.of(spill, [whole[:RATE], whole[RATE:]])
    on_disk = np.rint(whole * 32768) / 32768  # what int16 on disk keeps
    events = [Event(100, RATE * 3, "sound", "long.wav")]
    timeline = make_timeline(RATE * 4, events)
    read = mix_all(timeline, SourceBank(RATE, files={"long.wav": spilled}))
    held = mix_all(timeline, SourceBank(RATE, files={"long.wav": on_disk.astype(np.float32)}))
    assert np.array_equal(read, held)


def test_a_clip_is_read_once_when_the_mix_first_needs_it() -> None:
    from coach.speech import Clip, ClipSamples

    reads: list[int] = []
    samples = fake_speech(0.5)

    def load() -> np.ndarray:
        reads.append(1)
        return samples.copy()

    bank = SourceBank(RATE, speech=ClipSamples([Clip("k", len(samples), load=load)]))
    bank.levelled(Event(0, len(samples), "speech", "k"))
    assert reads == [1]
