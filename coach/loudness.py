"""The session's loudness: the one gain that brings a mix to its target, found from the timeline.

Why an estimate from the timeline and not a measuring pass over the mix: live playback must
send the device exactly what a WAV export writes (the timeline is the one truth), and its
first sound may not wait for a whole session to be mixed and measured (4 hours of it take
seconds); a gain that takes a few milliseconds from the events serves both sinks alike.

How: every source's level is known. Speech clips are all at one voiced RMS with their peaks
held 11 dB over it (the source bank levels each with coach.clipprep.level_speech), and a
clip's K-weighted power over its sounding part is SPEECH_POWER_DB, a figure measured with
pyloudnorm on real clips. Built-in sounds, hisses and sound files have their power computed
from their samples, weighted by K_FACTORS (measured with pyloudnorm's K-weighting; 1 for a
file). Each event spreads its power times its gain squared over its span; the powers are
summed into 100 ms steps, and BS.1770's gating (400 ms blocks every 100 ms, -70 LUFS
absolute and -10 LU relative gates) gives the integrated loudness those powers make. The
tests measure real exports with pyloudnorm and ffmpeg's ebur128 to hold the result within
1 LU of the target. What the estimate cannot see exactly is what the limiter takes off: nothing
at -20 LUFS, about 0.4 to 0.8 LU at -16 and 1-2 LU at -14 with a peaky voice (espeak-ng),
which is why -14 is the loudest target allowed. LIMITER_LOSS_PER_LU aims a little above a
loud target to make up the usual part of it.

The last word on peaks is the limiter (coach.limiter), after the gain: true peaks stay
under -4 dBTP, 3 dB under the promised -1 dBTP, for the overshoot of MP3 encoding at coach's
low bitrate (measured up to 2.2 dB).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from typing import Any

import numpy as np
from numpy.typing import NDArray

from coach.clipprep import PAD_SECONDS
from coach.timeline import Event, Timeline

DEFAULT_LOUDNESS = -16.0  # LUFS, integrated: what podcasts and audiobooks use
#: The K-weighted mean-square power, in dB, of a speech clip's sounding part once it is
#: prepared (coach.clipprep): calibrated on whole exports at -20 LUFS, where the limiter
#: is idle, measured with pyloudnorm.
SPEECH_POWER_DB = -21.2
#: Above LIMITER_IDLE_BELOW LUFS the limiter starts to hold the voice's peaks: the gain aims
#: this many LU higher for each LU of target above it (calibrated on the built-in routines
#: with espeak-ng, which loses about 0.18 LU per LU, and festival's HTS voice, about 0.05).
LIMITER_IDLE_BELOW = -20.0
#: A sound in the middle of a stereo mix (`side:`) peaks 3 dB lower in each channel than in
#: mono, so the limiter, which holds each channel's peaks, starts that much later.
STEREO_PEAK_ROOM_DB = 3.0
LIMITER_LOSS_PER_LU = 0.15
MAX_GAIN_DB = 30.0  # a nearly silent session is not blown up past this

_ABSOLUTE_GATE = -70.0
_RELATIVE_GATE = -10.0
_OFFSET = -0.691  # BS.1770: loudness = -0.691 + 10 log10(K-weighted mean square)

#: (start, end, power) of one event's contribution: power in K-weighted mean square a sample.
Span = tuple[int, int, float]


def estimated_loudness(spans: Iterable[Span], sample_rate: int, length: int) -> float | None:
    """The integrated loudness (LUFS) of a session whose events make `spans`; None if no
    400 ms block of it reaches -70 LUFS."""
    step = max(1, sample_rate // 10)
    steps = max(1, math.ceil(length / step))
    energy = _energy_by_step(list(spans), step, steps)
    if steps < 4:
        energy = np.concatenate([energy, np.zeros(4 - steps)])
    window = np.convolve(energy, np.ones(4), mode="valid") / (4 * step)  # 400 ms blocks
    with np.errstate(divide="ignore"):
        loudness = _OFFSET + 10 * np.log10(window)
    gated = window[loudness > _ABSOLUTE_GATE]
    if not len(gated):
        return None
    relative = _OFFSET + 10 * math.log10(float(np.mean(gated))) + _RELATIVE_GATE
    kept = window[(loudness > _ABSOLUTE_GATE) & (loudness > relative)]
    return _OFFSET + 10 * math.log10(float(np.mean(kept)))


def _energy_by_step(spans: list[Span], step: int, steps: int) -> NDArray[Any]:
    """K-weighted energy in each `step`-sample stretch, each span's power spread evenly.

    The energy up to sample t is the sum over spans of power * (clip(t - start) - clip(t -
    end)) with clip(x) = max(x, 0): a cumulative sum over where spans start and end.
    """
    if not spans:
        return np.zeros(steps)
    table = np.array(spans, dtype=np.float64)
    starts, ends, powers = table[:, 0], table[:, 1], table[:, 2]
    grid = np.arange(steps + 1, dtype=np.float64) * step
    total = np.zeros(steps + 1)
    for edges, sign in ((starts, 1.0), (ends, -1.0)):
        first = np.minimum(np.floor(edges / step).astype(np.int64) + 1, steps + 1)
        slope = np.cumsum(np.bincount(first, weights=powers, minlength=steps + 2))[: steps + 1]
        base = np.cumsum(np.bincount(first, weights=powers * edges, minlength=steps + 2))
        total += sign * (grid * slope - base[: steps + 1])
    energy: NDArray[Any] = np.maximum(np.diff(total), 0.0)
    return energy


def session_gain(timeline: Timeline, power_of: Callable[[Event], float], target: float) -> float:
    """The linear gain that brings `timeline` to `target` LUFS, given each event's K-weighted
    power a sample (before its gain) by `power_of`."""
    spans: list[Span] = []
    for event in timeline.events:
        if event.length <= 0 or event.gain == 0:
            continue
        start, end = event.start, event.start + event.length
        if event.kind == "speech":
            pad = round(PAD_SECONDS * timeline.sample_rate)
            start, end = start + pad, max(start + pad, end - pad)
        spans.append((start, end, power_of(event) * event.gain * event.gain))
    found = estimated_loudness(spans, timeline.sample_rate, timeline.length)
    if found is None:
        return 1.0
    idle = LIMITER_IDLE_BELOW + (STEREO_PEAK_ROOM_DB if getattr(timeline, "stereo", False) else 0)
    target += LIMITER_LOSS_PER_LU * max(0.0, target - idle)
    return float(10 ** (min(target - found, MAX_GAIN_DB) / 20))


def speech_power() -> float:
    """A normalised speech clip's K-weighted power a sample, over its sounding part."""
    return float(10 ** (SPEECH_POWER_DB / 10))
