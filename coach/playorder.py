"""Live playback's play order, as the feed walks it: blocks, marks, where it is, and its fades.

Audio here is int16 frames: shape (n,) in a mono session, (n, channels) in a stereo one
(interleaved as the device takes it); lengths and positions always count frames.
"""

from __future__ import annotations

import bisect
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from coach.steps import Range


@dataclass(frozen=True)
class Block:
    generation: int  # blocks of an older generation were mixed before a seek: dropped
    range_index: int
    start: int
    samples: NDArray[Any]  # int16 frames; empty marks the end of the play order


@dataclass(frozen=True)
class Mark:
    """Something the feed did, for tests and measurements: `what` is one of fade-out,
    silent, say, fade-in, jump, cue, end; `position` the session sample where it happened."""

    what: str
    position: int
    at: float  # time.monotonic()


@dataclass(frozen=True)
class Where:
    """The feed's place in its play order, in samples."""

    position: int  # the next sample to send
    remaining: int  # samples left to send, in play order
    range_start: int  # where the range being played starts
    ahead: int | None  # in a range that is not the last (a lead-in): where the next starts


def normal_ranges(ranges: Sequence[Range], length: int) -> list[Range]:
    """Ranges clipped to the session, empty ones dropped, touching ones joined."""
    out: list[Range] = []
    for start, end in ranges:
        start, end = max(0, start), min(end, length)
        if start >= end:
            continue
        if out and out[-1][1] == start:
            out[-1] = (out[-1][0], end)
        else:
            out.append((start, end))
    return out


def where_in(ranges: Sequence[Range], index: int, position: int, length: int, done: bool) -> Where:
    """Where a feed is that plays `ranges[index]` and sends `position` next (`done`: it has
    ended) in a session `length` frames long."""
    if done or index >= len(ranges):
        return Where(length, 0, length, None)
    left = ranges[index][1] - position
    left += sum(end - start for start, end in ranges[index + 1 :])
    ahead = ranges[index + 1][0] if index + 1 < len(ranges) else None
    return Where(position, max(0, left), ranges[index][0], ahead)


#: No spoken line is this long (in frames at any session rate up to 48 kHz): the search for
#: a line under a fade looks no further back.
LONGEST_LINE = 60 * 48000


def cut_line(
    speech: Sequence[Range], starts: Sequence[int], position: int, end: int, floor: int
) -> int | None:
    """The start of the spoken line (of `speech`, sorted, their starts in `starts`) that
    sounds between `position` and `end`, if any: where a resume after a fade there goes back
    to, never before `floor` (the start of the range playing)."""
    index = bisect.bisect_left(starts, end) - 1
    while index >= 0:
        start, stop = speech[index]
        if stop > position:
            return max(start, floor)
        if stop <= position - LONGEST_LINE:
            break  # lines are short: none further back reaches here
        index -= 1
    return None


def fade(samples: NDArray[Any], first: int, total: int, down: bool) -> NDArray[Any]:
    """Frames `first`.. of a linear fade `total` frames long (down: frame j at gain
    (total - j) / total; up: (j + 1) / total), rounded back to int16; every channel of a
    frame gets the same gain."""
    j = np.arange(first, first + len(samples))
    gain = (total - j) / total if down else (j + 1) / total
    if samples.ndim > 1:  # one gain a frame, over its channels
        gain = gain.reshape(-1, *([1] * (samples.ndim - 1)))
    faded: NDArray[Any] = np.rint(samples * gain).astype(np.int16)
    return faded


def silence(frames: int, channels: int) -> NDArray[Any]:
    """`frames` frames of int16 silence, shaped as the session's blocks are."""
    return np.zeros((frames, channels) if channels > 1 else frames, dtype=np.int16)


def as_channels(samples: NDArray[Any], channels: int, gains: Sequence[float]) -> NDArray[Any]:
    """int16 `samples` shaped for a session of `channels`: mono ones as they are in a mono
    session; in a stereo one, a mono clip goes to every channel, scaled by `gains` (one a
    channel, rounded back to int16), and frames already of the session's shape pass as they
    are. C-contiguous, so the device reads them interleaved."""
    samples = np.asarray(samples, dtype=np.int16)
    if channels == 1 or samples.ndim > 1:
        if samples.shape[1:] != (() if channels == 1 else (channels,)):
            raise ValueError(f"samples of shape {samples.shape} for {channels} channel(s)")
        return np.ascontiguousarray(samples)
    spread = samples[:, None].astype(np.float64) * np.asarray(gains, np.float64)[None, :]
    placed: NDArray[Any] = np.rint(spread).astype(np.int16)
    return np.ascontiguousarray(placed)
