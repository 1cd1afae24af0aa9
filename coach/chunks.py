"""Chunk planning: where live playback cuts the session into device buffers, always in silence."""

from __future__ import annotations

import bisect
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import numpy as np

from coach.mixer import SourceBank, mix_blocks, quiet_spans
from coach.timeline import Timeline

Chunk = tuple[int, int]  # [start, end) in samples

# Chunk sizes in seconds. The first chunk is short so sound starts at once; later ones are
# long so the device is reopened rarely. Every cut is placed in silence when one exists.
FIRST_CHUNK = 0.75
FIRST_CHUNK_MIN = 0.25
CHUNK = 10.0
CHUNK_MIN = 5.0
CHUNK_MAX = 15.0
CUT_MARGIN = 0.05  # keep cuts this far inside a silence when it is wide enough
MIX_BLOCK = 4096


@dataclass(frozen=True)
class Chunking:
    """How playback cuts the session into device buffers, in seconds.

    Each chunk aims at `target` within [shortest, longest] (the first of a run: `first`
    within [first_min, longest]), cut in silence. With no silence in that window the cut
    goes at the first silence within `reach`, and only with none there either in sound.
    """

    first: float
    first_min: float
    target: float
    shortest: float
    longest: float
    reach: float


# Without keys: long chunks, the device is reopened every 10 s or so.
STREAMING = Chunking(FIRST_CHUNK, FIRST_CHUNK_MIN, CHUNK, CHUNK_MIN, CHUNK_MAX, CHUNK_MAX)
# With keys: pause acts at a chunk boundary, so chunks are about a second (0.5 to 1.5 s,
# longer only to reach the end of a sentence or other unbroken sound).
INTERACTIVE = Chunking(
    first=0.75, first_min=0.25, target=1.0, shortest=0.5, longest=1.5, reach=15.0
)


def plan_chunks(
    timeline: Timeline,
    first: float = FIRST_CHUNK,
    first_min: float = FIRST_CHUNK_MIN,
    target: float = CHUNK,
    shortest: float = CHUNK_MIN,
    longest: float = CHUNK_MAX,
    *,
    start: int = 0,
    end: int | None = None,
    reach: float | None = None,
    spans: Sequence[tuple[int, int]] | None = None,
) -> list[Chunk]:
    """Cut samples [start, end) of the session into chunks covering it exactly, cut in silence.

    A cut goes at the point of a quiet span (no event sounding on either side) that is
    closest to the wanted size, within [shortest, longest] seconds (the first chunk:
    [first_min, longest], aiming at `first`). With no silence there it goes at the first
    silence within `reach` seconds (default: `longest`); with none there either, the rest
    is one chunk if it fits in `reach`, else the cut goes at the wanted size anyway. The
    last chunk takes the rest once that fits in `longest`.
    `spans` may pass `silent_spans(timeline)` when planning the same timeline often.
    """
    rate = timeline.sample_rate
    end = timeline.length if end is None else min(end, timeline.length)
    reach = longest if reach is None else max(reach, longest)
    if spans is None:
        spans = silent_spans(timeline)
    margin = int(CUT_MARGIN * rate)
    chunks: list[Chunk] = []
    position = max(0, start)
    index = bisect.bisect_left(spans, (position, position))
    index = max(0, index - 1)
    while position < end:
        is_first = not chunks
        lo = position + max(1, int((first_min if is_first else shortest) * rate))
        hi = position + max(1, int(longest * rate))
        far = position + max(1, int(reach * rate))
        want = position + max(1, int((first if is_first else target) * rate))
        if not is_first and end <= hi:
            chunks.append((position, end))
            break
        while index < len(spans) and spans[index][1] - 1 < lo:
            index += 1  # spans wholly before the window are of no more use
        best: int | None = None
        for a, b in (spans[j] for j in range(index, len(spans))):
            if a + 1 > hi:
                break
            low, high = max(a + 1, lo), min(b - 1, hi)  # silent samples on both sides
            if low > high:
                continue
            inner = min(margin, (b - a) // 2)
            cut = min(max(want, max(a + inner, low)), min(b - inner, high))
            cut = min(max(cut, low), high)
            if best is None or abs(cut - want) < abs(best - want):
                best = cut
        if best is None and far > hi:
            for a, b in (spans[j] for j in range(index, len(spans))):
                if a + 1 > far:
                    break
                low, high = max(a + 1, hi + 1), min(b - 1, far)
                if low <= high:  # the first silence past the window: cut early in it
                    best = min(max(low, a + min(margin, (b - a) // 2)), high)
                    break
        if best is None and end <= far:
            best = end  # unbroken sound to the end: one chunk rather than a cut in it
        chunk_end = min(best if best is not None else want, end)
        chunks.append((position, chunk_end))
        position = chunk_end
    return chunks


def silent_spans(timeline: Timeline) -> list[tuple[int, int]]:
    """The quiet spans of the session wide enough to cut in (two samples or more)."""
    return [(a, b) for a, b in quiet_spans(timeline) if b - a >= 2]


def normal_ranges(ranges: Sequence[Chunk], length: int) -> list[Chunk]:
    """Ranges clipped to the session, empty ones dropped, touching ones joined."""
    out: list[Chunk] = []
    for start, end in ranges:
        start, end = max(0, start), min(end, length)
        if start >= end:
            continue
        if out and out[-1][1] == start:
            out[-1] = (out[-1][0], end)
        else:
            out.append((start, end))
    return out


def suffix_sums(chunks: Sequence[Chunk]) -> list[int]:
    """sums[i] = samples in chunks[i:] (one more entry than chunks, ending in 0)."""
    sums = [0] * (len(chunks) + 1)
    for i in range(len(chunks) - 1, -1, -1):
        sums[i] = sums[i + 1] + chunks[i][1] - chunks[i][0]
    return sums


def chunk_audio(
    timeline: Timeline, bank: SourceBank, chunks: Sequence[Chunk]
) -> Iterator[np.ndarray]:
    """One fresh int16 array per chunk, mixed on demand; a chunk that does not follow on
    from the one before starts a new mix there (mix_blocks can start anywhere)."""
    blocks: Iterator[np.ndarray] = iter(())
    pending = np.zeros(0, dtype=np.int16)
    offset = 0
    expected: int | None = None
    for start, end in chunks:
        if start != expected:
            blocks = mix_blocks(timeline, bank, MIX_BLOCK, start=start)
            pending = np.zeros(0, dtype=np.int16)
            offset = 0
        out = np.empty(end - start, dtype=np.int16)
        filled = 0
        while filled < len(out):
            if offset >= len(pending):
                pending = next(blocks)
                offset = 0
            take = min(len(out) - filled, len(pending) - offset)
            out[filled : filled + take] = pending[offset : offset + take]
            filled += take
            offset += take
        expected = end
        yield out
