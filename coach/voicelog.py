"""When coach itself sounds: the record that keeps coach's own voice from being taken for a command.

The feed knows exactly what it sends to the device, and the timeline says which of it is
coach's voice (speech, the breath's hiss, chimes and bells; not the metronome's clicks,
which are too short to be taken for words). The feed logs those stretches in the clock the
microphone is read against (time.monotonic), and the listener drops any command whose words
overlapped one.
"""

from __future__ import annotations

import bisect
import threading
from collections import deque

from coach.timeline import Timeline

#: Kinds of timeline events that are coach's own voice for the listener.
VOICE_KINDS = ("speech", "hiss", "sound")
KEEP_SECONDS = 120.0  # stretches older than this are forgotten


def voice_spans(timeline: Timeline) -> list[tuple[int, int]]:
    """The session's stretches (in samples) where coach's voice sounds, sorted and merged."""
    spans = sorted((e.start, e.end) for e in timeline.events if e.kind in VOICE_KINDS)
    merged: list[tuple[int, int]] = []
    for start, end in spans:
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(end, merged[-1][1]))
        else:
            merged.append((start, end))
    return merged


def overlapping(
    spans: list[tuple[int, int]], starts: list[int], start: int, end: int
) -> list[tuple[int, int]]:
    """The parts of sorted, merged `spans` (their starts in `starts`) within start..end."""
    found: list[tuple[int, int]] = []
    index = max(0, bisect.bisect_right(starts, start) - 1)
    while index < len(spans) and spans[index][0] < end:
        low, high = max(spans[index][0], start), min(spans[index][1], end)
        if low < high:
            found.append((low, high))
        index += 1
    return found


class VoiceLog:
    """Stretches of time (seconds, one clock) when coach was sounding; safe between threads."""

    def __init__(self, keep: float = KEEP_SECONDS) -> None:
        self.keep = keep  # seconds before the latest stretch that are still answered for
        self._lock = threading.Lock()
        self._spans: deque[tuple[float, float]] = deque()

    def add(self, start: float, end: float) -> None:
        """Coach sounded from `start` to `end` (stretches arrive roughly in time order)."""
        if end <= start:
            return
        with self._lock:
            if self._spans and start <= self._spans[-1][1] + 1e-3:
                first, last = self._spans[-1]
                self._spans[-1] = (min(first, start), max(last, end))
            else:
                self._spans.append((start, end))
            while self._spans and self._spans[0][1] < end - self.keep:
                self._spans.popleft()

    def sounding(self, start: float, end: float) -> bool:
        """Whether coach sounded at any time between `start` and `end`."""
        with self._lock:
            return any(low < end and start < high for low, high in self._spans)
