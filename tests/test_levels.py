"""Levels in parts: prepared speech clips (real renders), the limiter, the loudness estimate's
figures for the built-in sounds, and the loudness setting."""

from __future__ import annotations

import numpy as np
import pyloudnorm
import pytest
from conftest import RATE, fake_speech

from coach import clipprep, sounds
from coach.limiter import CEILING_DB, Limiter
from coach.loudness import estimated_loudness
from coach.mixer import SourceBank, mix_all, mix_blocks
from coach.readvalues import SettingError, read_loudness
from coach.timeline import Event


def k_weighted(samples: np.ndarray) -> np.ndarray:
    meter = pyloudnorm.Meter(RATE)
    out = np.asarray(samples, dtype=np.float64).copy()
    for stage in meter._filters.values():  # pyloudnorm's own K-weighting filters
        out = stage.apply_filter(out)
    return out


def true_peak_db(samples: np.ndarray) -> float:
    """8x oversampled peak (FFT interpolation), in dBFS."""
    up = np.fft.irfft(np.fft.rfft(samples), len(samples) * 8) * 8
    return float(20 * np.log10(np.max(np.abs(up))))


@pytest.fixture(scope="module")
def rendered(build):
    """Real int16 clips of a built-in routine, as the speech stage gives them today (espeak-ng,
    silence trimmed to 30 ms of what the engine left there, not yet prepared)."""
    built = build("wall-release")
    return [np.asarray(built.bank.speech[key]) for key in list(built.bank.speech)[:40]]


def test_prepared_clips_start_with_their_pad_then_fade_in(rendered):
    pad = round(clipprep.PAD_SECONDS * RATE)
    fade = round(clipprep.FADE_IN_SECONDS * RATE)
    for clip in rendered:
        ready = clipprep.prepare_clip(clip, RATE)
        assert ready.dtype == np.int16
        assert not ready[:pad].any() and ready[pad:].any()
        assert not ready[-pad:].any()
        body = np.abs(ready[pad:].astype(np.int32))
        assert body[0] <= 0.05 * body.max()  # the fade starts near silence
        assert body[:fade].max() <= body.max()
        assert np.abs(ready).max() <= round(clipprep.CLIP_PEAK * 32768)


def test_prepared_clips_share_one_loudness(rendered):
    """Measured with pyloudnorm: the clips' loudness spreads far less than the engine's."""
    meter = pyloudnorm.Meter(RATE)
    silence = np.zeros(RATE // 5)

    def loudness(clip: np.ndarray) -> float:
        padded = np.concatenate([silence, clip.astype(np.float64) / 32768, silence])
        return float(meter.integrated_loudness(padded))

    long_enough = [c for c in rendered if len(c) > RATE * 0.6]
    before = [loudness(c) for c in long_enough]
    after = [loudness(clipprep.prepare_clip(c, RATE)) for c in long_enough]
    assert len(after) >= 10
    assert np.std(after) < 1.0
    assert max(after) - min(after) < 4.0
    assert np.std(after) < np.std(before) or np.std(before) < 1.0


def test_prepare_clip_of_silence_and_of_nothing():
    pad = round(clipprep.PAD_SECONDS * RATE)
    assert clipprep.prepare_clip(np.zeros(500, np.int16), RATE).tolist() == [0] * pad
    assert len(clipprep.prepare_clip(np.zeros(0, np.int16), RATE)) == pad


def test_a_loud_file_is_limited_under_the_ceiling_in_true_peak():
    """Square-ish full-scale sound pushed by a loud target: the limiter holds it."""
    t = np.arange(RATE * 2) / RATE
    loud = np.clip(3 * np.sin(2 * np.pi * 3000 * t), -1, 1).astype(np.float32)
    from coach.layout import LevelledTimeline

    timeline = LevelledTimeline("t", RATE, len(loud) + RATE, loudness=-10.0)
    timeline.events = [Event(RATE // 2, len(loud), "sound", "f.wav")]
    bank = SourceBank(RATE, files={"f.wav": loud})
    out = mix_all(timeline, bank).astype(np.float64) / 32768
    assert true_peak_db(out) <= CEILING_DB + 0.3
    plain = mix_all(timeline, bank, level=False)
    assert np.abs(plain).max() == 32767  # the plain sum is not limited


def test_the_limiter_window_makes_any_start_and_block_size_agree(demo_session):
    timeline, bank = demo_session
    timeline.events = [e.louder(4.0) for e in timeline.events]  # make it work hard
    whole = mix_all(timeline, bank)
    limiter = bank.limiter
    for start in (limiter.before - 1, limiter.before + 64, 22050 * 6 + 3):
        for size in (2048, 777):
            tail = np.concatenate(list(mix_blocks(timeline, bank, size, start=start)))
            assert np.array_equal(tail, whole[start:])


def test_limiter_leaves_quiet_sound_alone():
    limiter = Limiter(RATE)
    quiet = (0.1 * np.sin(np.arange(20000) / 5)).astype(np.float32)
    assert np.array_equal(limiter.apply(quiet, 0, 0, 10000), quiet[:10000])


@pytest.mark.parametrize("name", [*sounds.BUILTIN_SOUNDS, "hiss"])
def test_k_factors_match_pyloudnorms_weighting(name):
    x = sounds.hiss(RATE, RATE * 4) if name == "hiss" else sounds.builtin_sound(name, RATE)
    x = np.concatenate([x.astype(np.float64), np.zeros(RATE)])
    factor = np.sum(k_weighted(x) ** 2) / np.sum(x**2)
    assert sounds.K_FACTORS[name] == pytest.approx(factor, rel=0.03)


def test_the_estimate_agrees_with_pyloudnorm_on_noise_and_silence():
    rng = np.random.RandomState(3)
    signal = np.zeros(RATE * 20)
    spans = []
    for start in range(0, RATE * 18, RATE * 3):  # 1.5 s bursts with 1.5 s between
        burst = rng.standard_normal(RATE * 3 // 2) * 0.05
        signal[start : start + len(burst)] = burst
        power = float(np.mean(k_weighted(np.concatenate([burst, np.zeros(RATE)])) ** 2))
        spans.append((start, start + len(burst), power * (len(burst) + RATE) / len(burst)))
    measured = pyloudnorm.Meter(RATE).integrated_loudness(signal)
    estimated = estimated_loudness(spans, RATE, len(signal))
    assert estimated == pytest.approx(measured, abs=0.5)
    assert estimated_loudness([], RATE, RATE) is None


def test_speech_is_brought_to_one_level_in_the_mix(make_timeline):
    quiet, loud = fake_speech(1.0, 1) // 8, fake_speech(1.0, 2)
    bank = SourceBank(RATE, speech={"q": quiet, "l": loud})
    levelled = [bank.levelled(Event(0, 10, "speech", key)) for key in ("q", "l")]
    levels = [clipprep.voiced_rms_db(clip, RATE) for clip in levelled]
    assert levels[0] == pytest.approx(levels[1], abs=0.3)
    assert levels[0] == pytest.approx(clipprep.SPEECH_RMS_DB, abs=0.5)
    for clip in levelled:  # peaks held over the voiced level
        assert true_peak_db(clip) <= levels[0] + clipprep.SPEECH_PEAK_OVER_RMS_DB + 0.3


@pytest.mark.parametrize(("raw", "value"), [("-14", -14.0), (-23, -23.0), ("-16 LUFS", -16.0)])
def test_loudness_setting_reads(raw, value):
    assert read_loudness(raw) == value


@pytest.mark.parametrize("raw", ["-13.9", "-30.5", "loud", True, "nan"])
def test_loudness_setting_refuses(raw):
    with pytest.raises(SettingError, match="-30 to -14"):
        read_loudness(raw)
