"""Live playback's play order, as the feed walks it: blocks, marks, where it is, and its fades."""

from __future__ import annotations

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
    samples: NDArray[Any]  # int16; empty marks the end of the play order


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


def fade(samples: NDArray[Any], first: int, total: int, down: bool) -> NDArray[Any]:
    """Samples `first`.. of a linear fade `total` samples long (down: sample j at gain
    (total - j) / total; up: (j + 1) / total), rounded back to int16."""
    j = np.arange(first, first + len(samples))
    gain = (total - j) / total if down else (j + 1) / total
    faded: NDArray[Any] = np.rint(samples * gain).astype(np.int16)
    return faded
