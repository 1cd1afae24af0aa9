"""Built-in sounds (clicks, chime, bell, tick, the exhale hiss), synthesized with numpy."""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import NDArray

from coach.expansion import BUILTIN_SOUND_SECONDS, builtin_sound_length

BUILTIN_SOUNDS = ("click", "click-accent", "chime", "bell", "tick")

# Peak levels, leaving headroom for speech (which peaks near full scale) plus a cue on top.
CLICK_PEAK = 0.36
ACCENT_PEAK = 0.45
CLICK_RING = 0.06  # decay time constant of the click's main mode, in seconds
CLICK_PITCHES = (1300.0, 1800.0)  # Hz: plain, accented
CHIME_PEAK = 0.18
BELL_PEAK = 0.3
CONFIRMATION_PEAK = 0.3  # before the session's gain, like the others
TICK_PEAK = 0.3
HISS_RMS = 0.05  # at its highest, about -26 dBFS: clearly audible, well under speech
AIRFLOW_SHARE = 0.7  # of the hiss's amplitude, the rest is the "s"
HISS_PEAK_AT = 0.35  # where in the breath out the hiss is loudest
HISS_BED_SECONDS = 10.0  # the noise a hiss loops through: no repeat is heard in a breath

#: K-weighted over plain mean square of each sound at 22050 Hz (BS.1770's K-weighting, as
#: pyloudnorm applies it; coach.loudness uses them to foresee a session's loudness).
K_FACTORS = {
    "click": 1.44, "click-accent": 1.89, "chime": 1.21, "bell": 1.01, "tick": 2.3, "hiss": 1.42,
}  # fmt: skip

# Seeds for the noise parts; the legacy RandomState stream is frozen by numpy, so the same
# seed gives the same samples on every numpy version.
_CLICK_SEED = 1
_HISS_SEED = 7


def click(sample_rate: int, accent: bool = False) -> NDArray[Any]:
    """A woodblock-like metronome "tock" (~0.15 s, most of it in the first 50 ms); the accent
    is higher and louder. It rings long enough to be heard as a beat between spoken lines,
    not only as a tick."""
    length = builtin_sound_length("click", sample_rate)
    t = _time(length, sample_rate)
    base = CLICK_PITCHES[accent]
    # A woodblock rings in a few inharmonic modes that die away within tens of milliseconds.
    partials = [(1.0, 1.0, CLICK_RING), (2.64, 0.45, 0.012), (4.1, 0.25, 0.006)]
    out = _partials(t, base, partials, sample_rate)
    # The strike: a millisecond of noise, like the stick hitting the wood.
    strike = np.random.RandomState(_CLICK_SEED + accent).uniform(-1.0, 1.0, length)
    out += 0.35 * strike * np.exp(-t / 0.0006)
    out *= _attack(length, _samples(0.0006, sample_rate))
    out *= _release(length, _samples(0.03, sample_rate))
    return _normalized(out, ACCENT_PEAK if accent else CLICK_PEAK)


def chime(sample_rate: int) -> NDArray[Any]:
    """A soft two-note step-start chime (~1.5 s), gentle enough to sound over speech."""
    length = builtin_sound_length("chime", sample_rate)
    t = _time(length, sample_rate)
    out = np.zeros(length)
    soft_bell = [(1.0, 1.0, 0.45), (2.0, 0.18, 0.25), (3.0, 0.05, 0.15)]
    for delay, freq, amp in ((0.0, 784.0, 0.8), (0.12, 1174.7, 1.0)):  # G5 then D6
        start = int(round(delay * sample_rate))
        note = _partials(t[: length - start], freq, soft_bell, sample_rate)
        note *= _attack(len(note), _samples(0.006, sample_rate))
        out[start:] += amp * note
    out *= _release(length, _samples(0.1, sample_rate))
    return _normalized(out, CHIME_PEAK)


def bell(sample_rate: int) -> NDArray[Any]:
    """The end-of-session bell (~3 s): a struck bell with a hum and inharmonic partials."""
    length = builtin_sound_length("bell", sample_rate)
    t = _time(length, sample_rate)
    # (ratio to the strike tone, amplitude, decay time constant in seconds)
    partials = [
        (0.5, 0.35, 1.4),  # hum
        (1.0, 1.0, 0.9),  # strike tone
        (1.2, 0.3, 0.7),  # minor third
        (1.5, 0.25, 0.55),  # fifth
        (2.0, 0.35, 0.45),  # nominal
        (2.52, 0.15, 0.3),
        (3.01, 0.1, 0.22),
        (4.17, 0.06, 0.15),
    ]
    out = _partials(t, 523.25, partials, sample_rate)  # C5
    # A slowly beating twin of the strike tone gives the bell its shimmer.
    out += 0.25 * np.exp(-t / 0.9) * np.sin(2 * np.pi * 525.1 * t + 0.5)
    out *= _attack(length, _samples(0.004, sample_rate))
    out *= _release(length, _samples(0.2, sample_rate))
    return _normalized(out, BELL_PEAK)


def tick(sample_rate: int) -> NDArray[Any]:
    """A very short high tick (~8 ms)."""
    length = builtin_sound_length("tick", sample_rate)
    t = _time(length, sample_rate)
    out = _partials(t, 2600.0, [(1.0, 1.0, 0.0015), (1.9, 0.4, 0.001)], sample_rate)
    out *= _attack(length, _samples(0.0003, sample_rate))
    out *= _release(length, _samples(0.002, sample_rate))
    return _normalized(out, TICK_PEAK)


def confirmation(sample_rate: int) -> NDArray[Any]:
    """The short rising two-note blip (~0.16 s) that says a voice command was heard: higher
    and brighter than the chime, so it is not mistaken for a step starting."""
    length = _samples(0.16, sample_rate)
    t = _time(length, sample_rate)
    out = np.zeros(length)
    for delay, freq in ((0.0, 1318.5), (0.07, 1760.0)):  # E6 then A6
        start = _samples(delay, sample_rate) if delay else 0
        partials = [(1.0, 1.0, 0.05), (2.0, 0.15, 0.02)]
        note = _partials(t[: length - start], freq, partials, sample_rate)
        note *= _attack(len(note), _samples(0.003, sample_rate))
        out[start:] += note
    out *= _release(length, _samples(0.02, sample_rate))
    return _normalized(out, CONFIRMATION_PEAK)


def hiss(sample_rate: int, length: int, bed: NDArray[Any] | None = None) -> NDArray[Any]:
    """The sound of a breath out, exactly `length` samples: an airflow (broadband noise,
    low-passed, like air through the mouth) with a softer "s" (3.8-8.5 kHz noise) on top,
    under a gentle rise and fall that peaks about a third of the way in. `bed` is
    `hiss_bed(sample_rate)`, when the caller keeps one."""
    return hiss_part(bed if bed is not None else hiss_bed(sample_rate), length, 0, length)


def hiss_bed(sample_rate: int) -> NDArray[Any]:
    """HISS_BED_SECONDS of the hiss's noise at HISS_RMS, without its rise and fall: it loops
    without a seam (filtered in a circle), so a hiss of any length is read from it a part
    at a time (`hiss_part`) and never has to be made whole."""
    length = _samples(HISS_BED_SECONDS, sample_rate)
    nyquist = sample_rate / 2
    noise = np.random.RandomState(_HISS_SEED).standard_normal((2, length))
    air_taps = _bandpass(min(120.0, 0.05 * nyquist), min(1800.0, 0.5 * nyquist), sample_rate, 127)
    low, high = min(3800.0, 0.35 * nyquist), min(8500.0, 0.85 * nyquist)
    ess_taps = _bandpass(low, high, sample_rate, 127)
    air = _unit_rms(_circular(noise[0], air_taps))
    ess = _unit_rms(_circular(noise[1], ess_taps))
    out = AIRFLOW_SHARE * air + (1.0 - AIRFLOW_SHARE) * ess
    out *= HISS_RMS / max(float(np.sqrt(np.mean(out * out))), 1e-12)
    return out.astype(np.float32)


def hiss_part(bed: NDArray[Any], length: int, lo: int, hi: int) -> NDArray[Any]:
    """Samples `lo`..`hi` of a hiss `length` samples long, read from `bed` (`hiss_bed`)."""
    lo, hi = max(0, lo), min(hi, length)
    if hi <= lo:
        return np.zeros(0, dtype=np.float32)
    n = np.arange(lo, hi)
    # Rise and fall: sin(pi * x**p), zero at both ends, highest where x**p = 1/2.
    x = (n + 0.5) / length
    shape = np.sin(np.pi * x ** (np.log(0.5) / np.log(HISS_PEAK_AT)))
    out: NDArray[Any] = np.clip(bed[n % len(bed)] * shape, -1.0, 1.0).astype(np.float32)
    return out


def _circular(signal: NDArray[Any], taps: NDArray[Any]) -> NDArray[Any]:
    """`signal` filtered by `taps` as if it repeated forever: as long as `signal`."""
    wrapped = np.concatenate([signal[-(len(taps) - 1) :], signal])
    filtered: NDArray[Any] = np.convolve(wrapped, taps, mode="valid")
    return filtered


def recipe() -> str:
    """What the sounds made here depend on, to name them where they are kept (coach.derived):
    this module's code, the lengths it is given, and numpy's version."""
    from coach.derived import code_stamp

    return "sounds " + code_stamp(__file__, extra=repr(BUILTIN_SOUND_SECONDS))


def _unit_rms(signal: NDArray[Any]) -> NDArray[Any]:
    rms = float(np.sqrt(np.mean(signal * signal))) if len(signal) else 0.0
    return signal / rms if rms > 0 else signal


def builtin_sound(name: str, sample_rate: int) -> NDArray[Any]:
    """A built-in sound by name: `click`, `click-accent`, `chime`, `bell` or `tick`."""
    if name == "click":
        return click(sample_rate, accent=False)
    if name == "click-accent":
        return click(sample_rate, accent=True)
    if name == "chime":
        return chime(sample_rate)
    if name == "bell":
        return bell(sample_rate)
    if name == "tick":
        return tick(sample_rate)
    raise KeyError(f"unknown built-in sound {name!r} (known: {', '.join(BUILTIN_SOUNDS)})")


def _samples(seconds: float, sample_rate: int) -> int:
    return max(1, int(round(seconds * sample_rate)))


def _time(length: int, sample_rate: int) -> NDArray[Any]:
    return np.arange(length, dtype=np.float64) / sample_rate


def _partials(
    t: NDArray[Any], base: float, partials: list[tuple[float, float, float]], sample_rate: int
) -> NDArray[Any]:
    """Sum of exponentially decaying sines: (frequency ratio, amplitude, decay constant)."""
    out = np.zeros(len(t))
    for index, (ratio, amp, tau) in enumerate(partials):
        freq = base * ratio
        if freq >= 0.45 * sample_rate:  # would alias at low session rates
            continue
        # Start each partial off zero phase so the very first sample already sounds.
        out += amp * np.exp(-t / tau) * np.sin(2 * np.pi * freq * t + 1.0 + index)
    return out


def _attack(length: int, ramp: int) -> NDArray[Any]:
    """Rise over `ramp` samples, starting at 1/ramp (never at zero) and reaching 1."""
    env = np.ones(length)
    ramp = min(ramp, length)
    if ramp > 0:
        env[:ramp] = np.arange(1, ramp + 1) / ramp
        env[:ramp] = 0.5 - 0.5 * np.cos(np.pi * env[:ramp])
    return env


def _release(length: int, ramp: int) -> NDArray[Any]:
    """Fall to zero over the last `ramp` samples (a raised-cosine fade)."""
    env = np.ones(length)
    ramp = min(ramp, length)
    if ramp > 0:
        x = np.arange(ramp, 0, -1) / (ramp + 1)
        env[length - ramp :] = 0.5 - 0.5 * np.cos(np.pi * x)
    return env


def _bandpass(low: float, high: float, sample_rate: int, taps: int) -> NDArray[Any]:
    """A windowed-sinc band-pass FIR filter between `low` and `high` Hz."""
    n = np.arange(taps) - (taps - 1) / 2
    window = np.blackman(taps)

    def lowpass(cutoff: float) -> NDArray[Any]:
        fc = cutoff / sample_rate
        taps_: NDArray[Any] = 2 * fc * np.sinc(2 * fc * n) * window
        return taps_

    band: NDArray[Any] = lowpass(high) - lowpass(low)
    return band


def _normalized(signal: NDArray[Any], peak: float) -> NDArray[Any]:
    top = float(np.max(np.abs(signal))) if len(signal) else 0.0
    if top > 0:
        signal = signal * (peak / top)
    return signal.astype(np.float32)
