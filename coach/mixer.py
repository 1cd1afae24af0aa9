"""Mix a timeline into int16 blocks: linear in session length plus events, one block in memory."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

import numpy as np
from numpy.typing import NDArray

from coach import sounds
from coach.timeline import Event, Timeline

DEFAULT_BLOCK_SIZE = 16384


class SourceBank:
    """The audio every event refers to, as float32 samples at the session rate.

    `speech` maps clip keys to int16 clips, `files` maps sound file names (as they appear
    in `Event.source`) to float32 samples. Built-in sounds and hisses are synthesized on
    first use and kept; every array handed out is read-only.
    """

    def __init__(
        self,
        sample_rate: int,
        speech: Mapping[str, NDArray[Any]] | None = None,
        files: Mapping[str, NDArray[Any]] | None = None,
    ) -> None:
        self.sample_rate = sample_rate
        self.speech: Mapping[str, NDArray[Any]] = speech if speech is not None else {}
        self.files: Mapping[str, NDArray[Any]] = files if files is not None else {}
        self._speech_float: dict[str, NDArray[Any]] = {}
        self._builtin: dict[str, NDArray[Any]] = {}
        self._hiss: dict[int, NDArray[Any]] = {}
        self._files_float: dict[str, NDArray[Any]] = {}

    def samples(self, event: Event) -> NDArray[Any]:
        """The float32 samples `event` plays (before its gain; may be longer or shorter)."""
        source = event.source
        if event.kind == "speech":
            return self._speech_clip(source)
        if event.kind == "hiss" or source == "hiss":
            return self._hiss_of(event.length)
        if source in self.files:
            return self._file(source)
        if source in sounds.BUILTIN_SOUNDS:
            found = self._builtin.get(source)
            if found is None:
                found = _frozen(sounds.builtin_sound(source, self.sample_rate))
                self._builtin[source] = found
            return found
        raise KeyError(f"no audio for {event.kind} event source {source!r}")

    def _speech_clip(self, key: str) -> NDArray[Any]:
        found = self._speech_float.get(key)
        if found is None:
            if key not in self.speech:
                raise KeyError(f"no speech clip with key {key!r}")
            clip = np.asarray(self.speech[key])
            found = _frozen(clip.astype(np.float32) / np.float32(32768.0))
            self._speech_float[key] = found
        return found

    def _hiss_of(self, length: int) -> NDArray[Any]:
        found = self._hiss.get(length)
        if found is None:
            found = _frozen(sounds.hiss(self.sample_rate, length))
            self._hiss[length] = found
        return found

    def _file(self, name: str) -> NDArray[Any]:
        found = self._files_float.get(name)
        if found is None:
            found = _frozen(np.asarray(self.files[name], dtype=np.float32).reshape(-1))
            self._files_float[name] = found
        return found


def mix_blocks(
    timeline: Timeline,
    bank: SourceBank,
    block_size: int = DEFAULT_BLOCK_SIZE,
    start: int = 0,
) -> Iterator[NDArray[Any]]:
    """Yield int16 blocks that together cover samples `start`..`timeline.length` exactly.

    Each event adds `samples(event)[:event.length] * event.gain` from `event.start` on.
    Events are walked in start order with a list of the ones still sounding, so the cost
    is linear in session length plus events and only one block is ever allocated. The
    output does not depend on `block_size` or `start`: the blocks from `start` equal
    `mix_all(timeline, bank)[start:]`, which is what a later seek/skip relies on.
    """
    if block_size <= 0:
        raise ValueError("block_size must be positive")
    length = timeline.length
    start = max(0, start)
    # Stable sort: events that start together are summed in timeline order, always.
    events = sorted(
        (e for e in timeline.events if e.length > 0 and e.end > start and e.start < length),
        key=lambda e: e.start,
    )
    upcoming = 0
    active: list[tuple[Event, NDArray[Any], int]] = []  # event, its samples, where it stops
    for block_start in range(start, length, block_size):
        block_end = min(block_start + block_size, length)
        while upcoming < len(events) and events[upcoming].start < block_end:
            event = events[upcoming]
            upcoming += 1
            source = bank.samples(event)
            stop = event.start + min(event.length, len(source))
            if stop > block_start and event.gain != 0:
                active.append((event, source, stop))
        buffer = np.zeros(block_end - block_start, dtype=np.float32)
        still: list[tuple[Event, NDArray[Any], int]] = []
        for item in active:
            event, source, stop = item
            lo = max(event.start, block_start)
            hi = min(stop, block_end)
            if hi > lo:
                part = source[lo - event.start : hi - event.start]
                if event.gain != 1.0:
                    part = part * np.float32(event.gain)
                buffer[lo - block_start : hi - block_start] += part
            if stop > block_end:
                still.append(item)
        active = still
        yield to_int16(buffer)


def to_int16(buffer: NDArray[Any]) -> NDArray[Any]:
    """float32 [-1, 1] -> int16: scale by 32767, round half to even, clip. Deterministic."""
    buffer *= np.float32(32767.0)
    np.rint(buffer, out=buffer)
    np.clip(buffer, -32768.0, 32767.0, out=buffer)
    return buffer.astype(np.int16)


def mix_all(timeline: Timeline, bank: SourceBank) -> NDArray[Any]:
    """The whole session as one int16 array (for tests and short sessions)."""
    blocks = list(mix_blocks(timeline, bank))
    if not blocks:
        return np.zeros(0, dtype=np.int16)
    whole: NDArray[Any] = np.concatenate(blocks)
    return whole


def _frozen(array: NDArray[Any]) -> NDArray[Any]:
    """A read-only view (so the caller's own array keeps its flags)."""
    view: NDArray[Any] = np.ascontiguousarray(array, dtype=np.float32).view()
    view.flags.writeable = False
    return view
