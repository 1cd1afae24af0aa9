"""A look-ahead true-peak limiter whose output at a sample depends only on the samples near it.

The mix is cut into chunks of CHUNK samples on a grid that starts at sample 0. Each chunk's
peak is its sample peak, or for a chunk within 4 dB of the ceiling its 4x oversampled peak
(BS.1770's true peak), and that gives the reduction (in dB) the chunk needs to stay under
the ceiling. The gain is the lowest of those reductions, each ramped away from its chunk:
back in time at ATTACK_DB_PER_SECOND (the look-ahead) and on in time at
RELEASE_DB_PER_SECOND. In dB those ramps are straight lines, so the gain of every chunk is
two running minima (numpy's minimum.accumulate), and it is linear between chunk centres.

Because a reduction is at most MAX_REDUCTION_DB, a chunk more than HISTORY chunks back or
LOOKAHEAD chunks ahead can never lower a gain: the output at a sample is a pure function of
the mix within that window. So a mix started anywhere (a seek in live playback) and cut into
blocks of any size gives the same samples, and export and playback stay equal sample for
sample, which a recursive (state-carrying) limiter would not give.

A stereo mix (shape (n, 2)) gets one gain for both channels, from the louder of the two at
each chunk: linked, so a sound placed on one side stays where it is.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from numpy.typing import NDArray

CHUNK = 64
#: The limit for true peaks, in dBFS: 3 dB under the -1 dBTP that exports promise, for the
#: overshoot of MP3 encoding at coach's low bitrate (measured 1.2 to 2.2 dB on the built-ins;
#: the most varies with the machine and the exact clips, as espeak-ng's are not bit-identical).
CEILING_DB = -4.0
MAX_REDUCTION_DB = 30.0
ATTACK_DB_PER_SECOND = 2400.0  # 6 dB in 2.5 ms
RELEASE_DB_PER_SECOND = 120.0  # 6 dB in 50 ms
_CHECK_BELOW_DB = 4.0  # chunks this close to the ceiling get their oversampled peak
_TAPS_BEFORE = 7  # the interpolation filter reads samples n-7 .. n+8
_TAPS = 16


class Limiter:
    """The limiter's constants at one sample rate."""

    def __init__(self, sample_rate: int, ceiling_db: float = CEILING_DB) -> None:
        self.sample_rate = sample_rate
        self.ceiling_db = ceiling_db
        self.attack = ATTACK_DB_PER_SECOND * CHUNK / sample_rate  # dB per chunk
        self.release = RELEASE_DB_PER_SECOND * CHUNK / sample_rate
        self.lookahead = math.ceil(MAX_REDUCTION_DB / self.attack) + 2  # chunks
        self.history = math.ceil(MAX_REDUCTION_DB / self.release) + 2
        self._check = 10 ** ((ceiling_db - _CHECK_BELOW_DB) / 20)
        self._taps = _interpolation_taps()

    @property
    def before(self) -> int:
        """Samples of mix needed before the first sample asked for."""
        return (self.history + 1) * CHUNK + _TAPS

    @property
    def after(self) -> int:
        """Samples of mix needed after the last sample asked for."""
        return (self.lookahead + 2) * CHUNK + _TAPS

    def apply(self, mix: NDArray[Any], origin: int, lo: int, hi: int) -> NDArray[Any]:
        """Samples `lo`..`hi` of the limited mix, as float32.

        `mix` holds the mix from sample `origin` (a multiple of CHUNK; may be negative, read
        as silence) up to at least `hi + after`, and from at most `lo - before` (or from 0).
        """
        if origin % CHUNK:
            raise ValueError("the mix must start on the chunk grid")
        first_chunk = origin // CHUNK
        count = len(mix) // CHUNK
        channels = mix.shape[1:]  # () for mono, (2,) for stereo
        chunks = np.asarray(mix[: count * CHUNK], dtype=np.float32).reshape(count, -1)
        peaks = np.maximum(chunks.max(axis=1), -chunks.min(axis=1)).astype(np.float64)
        close = np.nonzero(peaks > self._check)[0]
        if not len(close):  # nothing comes near the ceiling: the mix is left as it is
            return np.array(mix[lo - origin : hi - origin], dtype=np.float32)
        if channels:
            true = [self._true_peaks(np.ascontiguousarray(mix[:, c]), close) for c in range(2)]
            peaks[close] = np.maximum(peaks[close], np.maximum(*true))
        else:
            peaks[close] = np.maximum(peaks[close], self._true_peaks(mix, close))
        with np.errstate(divide="ignore"):
            need = self.ceiling_db - 20 * np.log10(np.maximum(peaks, 1e-12))
        need = np.clip(need, -MAX_REDUCTION_DB, 0.0)
        held = need.copy()  # each chunk's need also covers its neighbours (see the docstring)
        held[1:] = np.minimum(held[1:], need[:-1])
        held[:-1] = np.minimum(held[:-1], need[1:])
        index = np.arange(first_chunk, first_chunk + count, dtype=np.float64)
        after = np.minimum.accumulate(held - self.release * index) + self.release * index
        ahead = held + self.attack * index
        ahead = np.minimum.accumulate(ahead[::-1])[::-1] - self.attack * index
        gain_db = np.minimum(np.minimum(after, ahead), 0.0)
        # The chunks that cover lo..hi, as whole chunks; only those with a reduction at
        # their own centre or a neighbour's have a gain other than 1 anywhere in them.
        first, last = lo // CHUNK - first_chunk, (hi - 1) // CHUNK - first_chunk + 1
        reduced = gain_db < 0.0
        near = reduced.copy()
        near[1:] |= reduced[:-1]
        near[:-1] |= reduced[1:]
        rows = np.nonzero(near[first:last])[0]
        whole = np.array(mix[first * CHUNK : last * CHUNK], dtype=np.float32)
        if len(rows):
            chunks_out = whole.reshape(-1, CHUNK, *channels)
            gains = _between_centres(10 ** (gain_db / 20), rows + first)
            chunks_out[rows] *= gains[:, :, None] if channels else gains
        out: NDArray[Any] = whole[lo - origin - first * CHUNK : hi - origin - first * CHUNK]
        return out

    def _true_peaks(self, mix: NDArray[Any], chunks: NDArray[Any]) -> NDArray[Any]:
        """The 4x oversampled peak of each of `chunks` (indexes into `mix`)."""
        padded = np.concatenate(
            [np.zeros(_TAPS_BEFORE, np.float32), mix, np.zeros(_TAPS, np.float32)]
        )
        starts = chunks * CHUNK  # in `padded`, sample n - 7 of the chunk's first n
        rows = starts[:, None] + np.arange(CHUNK + _TAPS - 1)[None, :]
        segments = padded[rows].astype(np.float64)
        windows = np.lib.stride_tricks.sliding_window_view(segments, _TAPS, axis=1)
        between = windows @ self._taps  # (chunks, CHUNK, 3)
        found: NDArray[Any] = np.max(np.abs(between), axis=(1, 2))
        return found


# Where each sample of a chunk lies between the centre of the chunk before and its own (the
# first half), or between its own and the next one's (the second half), as a fraction.
_FIRST_HALF = (np.arange(CHUNK // 2) + CHUNK / 2 + 0.5) / CHUNK
_SECOND_HALF = (np.arange(CHUNK // 2, CHUNK) - CHUNK / 2 + 0.5) / CHUNK


def _between_centres(chunk_gains: NDArray[Any], which: NDArray[Any]) -> NDArray[Any]:
    """(len(which), CHUNK) float32 gains for the samples of chunks `which`: straight lines
    between the chunks' centres, level before the first and after the last centre."""
    count = len(chunk_gains)
    own = chunk_gains[which]
    before = chunk_gains[np.maximum(which - 1, 0)]
    after = chunk_gains[np.minimum(which + 1, count - 1)]
    gains = np.empty((len(which), CHUNK), dtype=np.float32)
    gains[:, : CHUNK // 2] = before[:, None] + (own - before)[:, None] * _FIRST_HALF
    gains[:, CHUNK // 2 :] = own[:, None] + (after - own)[:, None] * _SECOND_HALF
    return gains


def _interpolation_taps() -> NDArray[Any]:
    """(16, 3): windowed-sinc taps for the values at n + 1/4, n + 1/2 and n + 3/4 from samples
    n-7 .. n+8."""
    offsets = np.arange(-_TAPS_BEFORE, _TAPS - _TAPS_BEFORE, dtype=np.float64)
    columns = []
    for fraction in (0.25, 0.5, 0.75):
        distance = offsets - fraction
        window = 0.5 + 0.5 * np.cos(np.pi * distance / (_TAPS / 2))
        taps = np.sinc(distance) * window
        columns.append(taps / taps.sum())
    return np.stack(columns, axis=1)
