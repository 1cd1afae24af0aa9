"""The built-in sounds: deterministic, the right lengths and levels, within [-1, 1]."""

from __future__ import annotations

import numpy as np
import pytest

from coach import sounds

RATE = 22050


@pytest.mark.parametrize("name", sounds.BUILTIN_SOUNDS)
def test_builtin_sounds_are_deterministic_float32_in_range(name: str) -> None:
    first = sounds.builtin_sound(name, RATE)
    second = sounds.builtin_sound(name, RATE)
    assert first.dtype == np.float32
    assert first.ndim == 1
    assert np.array_equal(first, second)
    assert 0 < np.max(np.abs(first)) <= 0.6  # headroom for speech on top
    assert first[0] != 0  # sounds from its exact start sample
    assert abs(first[-1]) < 1e-3  # fades out, no click at the end


@pytest.mark.parametrize(
    ("name", "low", "high"),
    [
        ("click", 0.1, 0.25),  # a short "tock": long enough to be heard between lines
        ("click-accent", 0.1, 0.25),
        ("chime", 1.3, 1.7),
        ("bell", 2.8, 3.2),
        ("tick", 0.003, 0.015),
    ],
)
def test_builtin_sound_lengths(name: str, low: float, high: float) -> None:
    assert low <= len(sounds.builtin_sound(name, RATE)) / RATE <= high


def test_accent_click_is_higher_and_louder() -> None:
    normal = sounds.click(RATE, accent=False)
    accent = sounds.click(RATE, accent=True)
    assert not np.array_equal(normal, accent)
    assert np.max(np.abs(accent)) > np.max(np.abs(normal))
    assert np.sum(accent.astype(np.float64) ** 2) > np.sum(normal.astype(np.float64) ** 2)
    assert _dominant_frequency(accent) > _dominant_frequency(normal) * 1.2


def test_bell_has_richer_partials_than_chime() -> None:
    def peaks(x: np.ndarray) -> int:
        spectrum = np.abs(np.fft.rfft(x))
        strong = spectrum > 0.05 * spectrum.max()
        return int(
            np.sum(
                strong[1:-1] & (spectrum[1:-1] >= spectrum[:-2]) & (spectrum[1:-1] >= spectrum[2:])
            )
        )

    assert peaks(sounds.bell(RATE)) > peaks(sounds.chime(RATE))


@pytest.mark.parametrize("length", [0, 1, 7, 1000, RATE * 4 + 3])
def test_hiss_is_exactly_length(length: int) -> None:
    hiss = sounds.hiss(RATE, length)
    assert hiss.dtype == np.float32
    assert len(hiss) == length
    assert np.array_equal(hiss, sounds.hiss(RATE, length))


def test_hiss_is_an_airflow_with_an_s_on_top() -> None:
    """Breath, not a flat 3.8-8.5 kHz block: most of its power is low-passed airflow, and
    the "s" band carries a clear share."""
    hiss = sounds.hiss(RATE, RATE * 3).astype(np.float64)
    assert np.max(np.abs(hiss)) < 0.35
    rms = float(np.sqrt(np.mean(hiss**2)))
    assert 0.02 < rms < 0.08  # comfortably under speech
    power = np.abs(np.fft.rfft(hiss)) ** 2
    freqs = np.fft.rfftfreq(len(hiss), 1 / RATE)
    share = lambda lo, hi: power[(freqs >= lo) & (freqs < hi)].sum() / power.sum()  # noqa: E731
    assert share(0, 80) < 0.02  # little rumble
    assert share(100, 2000) > 0.5  # the airflow
    assert share(2500, 3500) < 0.05  # two parts, not one flat band
    assert 0.1 < share(3800, 8500) < 0.5  # the "s"


def test_hiss_rises_and_falls_gently() -> None:
    hiss = sounds.hiss(RATE, RATE * 5).astype(np.float64)
    tenths = np.sqrt(np.mean(hiss.reshape(10, -1) ** 2, axis=1))
    loudest = int(np.argmax(tenths))
    assert 1 <= loudest <= 5  # it builds up, then tapers off over the longer part
    assert np.all(np.diff(tenths[: loudest + 1]) > 0)
    assert np.all(np.diff(tenths[loudest + 1 :]) < 0)
    assert tenths[0] < 0.7 * tenths[loudest] and tenths[-1] < 0.5 * tenths[loudest]
    edge = RATE // 50  # no click at either end
    assert np.max(np.abs(hiss[:edge])) < 0.2 * np.max(np.abs(hiss))
    assert np.max(np.abs(hiss[-edge:])) < 0.2 * np.max(np.abs(hiss))


@pytest.mark.parametrize("rate", [8000, 16000, 44100, 48000])
def test_sounds_work_at_other_rates(rate: int) -> None:
    for name in sounds.BUILTIN_SOUNDS:
        x = sounds.builtin_sound(name, rate)
        assert np.all(np.isfinite(x)) and np.max(np.abs(x)) <= 1.0
    assert len(sounds.hiss(rate, 12345)) == 12345


def test_unknown_builtin_sound() -> None:
    with pytest.raises(KeyError, match="gong"):
        sounds.builtin_sound("gong", RATE)


def _dominant_frequency(x: np.ndarray) -> float:
    padded = np.zeros(RATE)
    padded[: len(x)] = x
    spectrum = np.abs(np.fft.rfft(padded))
    return float(np.argmax(spectrum) * RATE / len(padded))


def _write_wav(path, samples: np.ndarray, rate: int, channels: int = 1) -> None:
    import wave

    with wave.open(str(path), "wb") as wav:
        wav.setnchannels(channels)
        wav.setsampwidth(2)
        wav.setframerate(rate)
        wav.writeframes(samples.astype("<i2").tobytes())


def test_load_wav_converts_to_mono_at_the_session_rate(tmp_path) -> None:
    from coach.soundfile import load_sound_file

    t = np.arange(44100) / 44100
    tone = np.rint(0.5 * 32767 * np.sin(2 * np.pi * 440 * t)).astype(np.int16)
    stereo = np.stack([tone, tone], axis=1).reshape(-1)  # one second, 44.1 kHz, 2 channels
    _write_wav(tmp_path / "tone.wav", stereo, 44100, channels=2)
    samples = load_sound_file(tmp_path / "tone.wav", RATE)
    assert samples.dtype == np.float32 and samples.ndim == 1
    assert abs(len(samples) - RATE) <= 1
    assert 0.45 < np.max(np.abs(samples)) <= 0.51
    same_rate = tmp_path / "same.wav"
    _write_wav(same_rate, tone[:1000], RATE)
    assert np.array_equal(load_sound_file(str(same_rate), RATE), tone[:1000] / np.float32(32768))


@pytest.mark.skipif(not __import__("shutil").which("ffmpeg"), reason="needs ffmpeg")
def test_load_mp3(tmp_path) -> None:
    import shlex
    import subprocess

    from coach.soundfile import load_sound_file

    subprocess.run(
        [
            "ffmpeg",
            *shlex.split("-v error -f lavfi -i sine=frequency=500:duration=1 -ar 44100"),
            tmp_path / "s.mp3",
        ],
        check=True,
    )
    samples = load_sound_file(tmp_path / "s.mp3", RATE)
    assert abs(len(samples) - RATE) < 0.05 * RATE
    assert np.max(np.abs(samples)) > 0.05


def test_missing_or_broken_sound_file(tmp_path) -> None:
    from coach.diagnostics import CoachError
    from coach.soundfile import SoundFileError, load_sound_file

    with pytest.raises(SoundFileError, match=r"not found: .*nope\.wav"):
        load_sound_file(tmp_path / "nope.wav", RATE)
    (tmp_path / "junk.wav").write_bytes(b"this is not audio at all" * 10)
    with pytest.raises(SoundFileError, match=r"junk\.wav' is not a plain audio file") as error:
        load_sound_file(tmp_path / "junk.wav", RATE)
    assert isinstance(error.value, CoachError)
    with pytest.raises(SoundFileError, match="not a regular file"):
        load_sound_file(tmp_path, RATE)
