"""Mix a timeline into int16 blocks: linear in session length plus events, one block in memory.

Levels: speech clips are brought to one voiced level (coach.clipprep.speech_gain) as the
bank first hands them out; the whole mix is scaled by the session's loudness gain
(coach.loudness, from the timeline, so live playback and export share it) and limited to
true peaks under -4 dBTP (coach.limiter).

A stereo timeline (one whose routine uses `side:`) mixes into two channels, each event
placed by its side with an equal-power pan; a mono one mixes into one, as it always has."""

from __future__ import annotations

import math
import threading
from collections import OrderedDict
from collections.abc import Callable, Iterator, Mapping
from functools import partial
from typing import Any, Protocol

import numpy as np
from numpy.typing import NDArray

from coach import clipprep, loudness, sounds
from coach.limiter import CHUNK, Limiter
from coach.timeline import Event, Timeline

DEFAULT_BLOCK_SIZE = 16384

#: Where `side: left` places a sound, from -1 (only the left ear) to 0 (the middle): the far
#: ear hears it 16 dB down, clearly from one side, without the closed-off feeling of a sound
#: in one ear only; `right` is the mirror image.
SIDE_PAN = 0.8


def pan_gains(side: str) -> tuple[float, float]:
    """(left, right) gains for an event on `side`, by the equal-power law: cos and sin of
    the pan angle, so the power summed over both ears is the same on every side (and a
    session's loudness does not depend on where its sounds are)."""
    if side not in ("left", "right"):
        return math.sqrt(0.5), math.sqrt(0.5)
    angle = (1.0 - SIDE_PAN) * math.pi / 4  # from the left ear: 0 is hard left
    near, far = math.cos(angle), math.sin(angle)
    return (near, far) if side == "left" else (far, near)



#: Speech clips kept ready between uses, in bytes of float32: every clip of an ordinary
#: routine fits, and a routine with thousands of lines still mixes in bounded memory.
SPEECH_KEEP_BYTES = 16 * 1024 * 1024
#: Hisses kept whole between uses, in bytes; one longer than a quarter of it is always made
#: a part at a time.
HISS_KEEP_BYTES = 8 * 1024 * 1024

#: Keeps what is made under a name, so that it is made once (coach.derived.remembered with
#: the session's cache directory): name, how to make it -> the samples.
Keeper = Callable[[str, Callable[[], NDArray[Any]]], NDArray[Any]]


class SourceBank:
    """The audio every event refers to, as float32 samples at the session rate.

    `speech` maps clip keys to int16 clips (read from it on each first use: a mapping that
    loads lazily keeps memory flat), `files` maps sound file names (as they appear in
    `Event.source`) to float32 samples. Speech is brought to one voiced level unless
    `levelled_speech` says the clips already are (coach.clipprep.prepare_clip made them).
    Built-in sounds are made on first use, through `keep` when given (so that they are made
    once and for all); a hiss is read from a looping bed a part at a time. The speech clips
    last used are kept (up to SPEECH_KEEP_BYTES); every array handed out is read-only.
    """

    def __init__(
        self,
        sample_rate: int,
        speech: Mapping[str, NDArray[Any]] | None = None,
        files: Mapping[str, NDArray[Any] | Samples] | None = None,
        *,
        levelled_speech: bool = False,
        keep: Keeper | None = None,
    ) -> None:
        self.sample_rate = sample_rate
        self.speech: Mapping[str, NDArray[Any]] = speech if speech is not None else {}
        self.files: Mapping[str, NDArray[Any] | Samples] = files if files is not None else {}
        self.levelled_speech = levelled_speech
        self._keep = keep
        self._recent: OrderedDict[tuple[bool, str], NDArray[Any]] = OrderedDict()
        self._recent_bytes = 0
        self._recent_lock = threading.Lock()
        self._made: dict[str, NDArray[Any]] = {}  # built-in sounds and the hiss bed
        self._hisses: dict[int, NDArray[Any]] = {}  # by length, the short ones
        self._hiss_bytes = 0
        self._files_float: dict[str, NDArray[Any]] = {}
        self._powers: dict[tuple[str, int], float] = {}
        self._gain: tuple[tuple[int, int, int, int, float], float] | None = None
        self.limiter = Limiter(sample_rate)

    def levelled(self, event: Event) -> NDArray[Any]:
        """What `event` plays at its place in the mix before the session's gain: a speech
        clip at the one voiced level of coach.clipprep (`level_speech`), anything else as
        `samples` gives it."""
        if event.kind != "speech":
            return self.samples(event)
        return self._speech(event.source, levelled=True)

    def reader(self, event: Event, level: bool = True) -> Samples:
        """What `event` plays (`levelled`, or `samples` when not `level`), as something to
        slice: a hiss is made a slice at a time, everything else is an array."""
        if event.kind == "hiss" or event.source == "hiss":
            return self._hiss(event.length)
        if event.kind != "speech" and event.source in self.files:
            return self._file(event.source)
        return self.levelled(event) if level else self.samples(event)

    def session_gain(self, timeline: Timeline) -> float:
        """The gain that brings `timeline`'s mix to its loudness target (its `loudness`, in
        LUFS, when it has one; else DEFAULT_LOUDNESS)."""
        target = getattr(timeline, "loudness", None)
        if target is None:
            target = loudness.DEFAULT_LOUDNESS
        # Kept for the last timeline asked about: live playback mixes again from each seek.
        key = (id(timeline), id(timeline.events), len(timeline.events), timeline.length, target)
        if self._gain is None or self._gain[0] != key:
            self._gain = (key, loudness.session_gain(timeline, self.power, float(target)))
        return self._gain[1]

    def power(self, event: Event) -> float:
        """The K-weighted mean square a sample of what `event` plays, before its gain."""
        if event.kind == "speech":
            return loudness.speech_power()
        key = (event.source if event.kind != "hiss" else "hiss", event.length)
        found = self._powers.get(key)
        if found is None:
            source = self.reader(event, level=False)
            length = min(event.length, len(source))
            total = 0.0
            for lo in range(0, length, 1 << 20):  # a long hiss a part at a time
                part = source[lo : min(length, lo + (1 << 20))]
                total += float(np.sum(np.square(part, dtype=np.float64)))
            plain = total / length if length else 0.0
            found = self._powers[key] = plain * sounds.K_FACTORS.get(key[0], 1.0)
        return found

    def samples(self, event: Event) -> NDArray[Any]:
        """The float32 samples `event` plays (before its gain; may be longer or shorter)."""
        source = event.source
        if event.kind == "speech":
            return self._speech(source, levelled=False)
        if event.kind == "hiss" or source == "hiss":
            return self._hiss(event.length)[:]
        if source in self.files:
            return self._file(source)[:]
        if source in sounds.BUILTIN_SOUNDS:
            return self._made_once(source, partial(sounds.builtin_sound, source))
        raise KeyError(f"no audio for {event.kind} event source {source!r}")

    def _speech(self, key: str, levelled: bool) -> NDArray[Any]:
        # The mix's thread and a player command ("again") may both ask: one at a time here.
        wanted = (levelled and not self.levelled_speech, key)
        with self._recent_lock:
            found = self._recent.get(wanted)
            if found is not None:
                self._recent.move_to_end(wanted)
                return found
        if key not in self.speech:
            raise KeyError(f"no speech clip with key {key!r}")
        found = np.asarray(self.speech[key]).astype(np.float32) / np.float32(32768.0)
        if wanted[0]:
            found = clipprep.level_speech(found, self.sample_rate)
        found = _frozen(found)
        with self._recent_lock:
            if wanted not in self._recent:
                self._recent[wanted] = found
                self._recent_bytes += found.nbytes
            while self._recent_bytes > SPEECH_KEEP_BYTES and len(self._recent) > 1:
                _, dropped = self._recent.popitem(last=False)
                self._recent_bytes -= dropped.nbytes
        return found

    def _hiss(self, length: int) -> Samples:
        """A hiss `length` samples long: kept whole if short (the breaths of a routine share
        a few lengths), else made a part at a time as the mix reads it."""
        found = self._hisses.get(length)
        if found is not None:
            return found
        reader = _HissReader(self._made_once("hiss bed", sounds.hiss_bed), length)
        if length * 4 > HISS_KEEP_BYTES // 4:
            return reader
        self._hisses[length] = found = _frozen(reader[:])
        self._hiss_bytes += found.nbytes
        while self._hiss_bytes > HISS_KEEP_BYTES:
            self._hiss_bytes -= self._hisses.pop(next(iter(self._hisses))).nbytes
        return found

    def _made_once(self, name: str, make: Callable[[int], NDArray[Any]]) -> NDArray[Any]:
        found = self._made.get(name)
        if found is None:
            rate = self.sample_rate

            def made() -> NDArray[Any]:
                return _frozen(make(rate))

            label = f"{name} at {rate} Hz, {sounds.recipe()}"
            found = self._keep(label, made) if self._keep is not None else made()
            self._made[name] = found = _frozen(found)
        return found

    def _file(self, name: str) -> Samples:
        given = self.files[name]
        if not isinstance(given, np.ndarray):  # read a slice at a time (a long sound file)
            return given
        found = self._files_float.get(name)
        if found is None:
            found = _frozen(np.asarray(given, dtype=np.float32).reshape(-1))
            self._files_float[name] = found
        return found


class Samples(Protocol):
    """Audio to read a slice at a time (an array, or a hiss made as it is read)."""

    def __len__(self) -> int: ...

    def __getitem__(self, where: slice) -> NDArray[Any]: ...


class _HissReader:
    """A hiss `length` samples long, made a slice at a time from its looping bed."""

    def __init__(self, bed: NDArray[Any], length: int) -> None:
        self.bed = bed
        self.length = length

    def __len__(self) -> int:
        return self.length

    def __getitem__(self, where: slice) -> NDArray[Any]:
        lo, hi, _ = where.indices(self.length)
        return sounds.hiss_part(self.bed, self.length, lo, hi)


def mix_blocks(
    timeline: Timeline,
    bank: SourceBank,
    block_size: int = DEFAULT_BLOCK_SIZE,
    start: int = 0,
    level: bool = True,
) -> Iterator[NDArray[Any]]:
    """Yield int16 blocks that together cover samples `start`..`timeline.length` exactly.

    Each event adds `samples(event)[:event.length] * event.gain` from `event.start` on,
    speech brought to one level (`bank.levelled`); the sum is scaled by the session's loudness
    gain (`bank.session_gain`) and goes through the true-peak limiter (coach.limiter).
    A stereo timeline (`timeline.channels` 2) gives blocks of shape (n, 2), each event panned
    by its side (`pan_gains`); positions and lengths stay in frames. The limiter's gain is
    linked: both channels get the same, so a side never drifts.
    Events are walked in start order with a list of the ones still sounding, so the cost is
    linear in session length plus events, and memory is a block plus the limiter's window
    (about a quarter of a second). The output does not
    depend on `block_size` or `start`: the blocks from `start` equal
    `mix_all(timeline, bank)[start:]`, which is what a later seek/skip relies on.

    `level=False` gives the plain sum (no speech level, session gain or limiter), clipped
    to int16.
    """
    if block_size <= 0:
        raise ValueError("block_size must be positive")
    length = timeline.length
    start = max(0, start)
    if start >= length:
        return
    if not level:
        plain = _Summer(timeline, bank, start, level=False)
        for block_start in range(start, length, block_size):
            yield to_int16(plain.take(min(block_size, length - block_start)))
        return
    limiter = bank.limiter
    gain = np.float32(bank.session_gain(timeline))
    origin = max(0, (start - limiter.before) // CHUNK * CHUNK)
    raw = _Summer(timeline, bank, origin, level=True)
    mix = raw.take(0)  # the mix from `origin` on
    for block_start in range(start, length, block_size):
        block_end = min(block_start + block_size, length)
        wanted = block_end + limiter.after - origin
        if len(mix) < wanted:
            more = raw.take(max(wanted - len(mix), block_size))
            more *= gain
            mix = np.concatenate([mix, more])
        yield to_int16(limiter.apply(mix, origin, block_start, block_end))
        keep = max(0, (block_end - limiter.before) // CHUNK * CHUNK - origin)
        if keep:
            mix = mix[keep:]
            origin += keep


class _Summer:
    """The events' sum, sample by sample from `origin` on (silence past the session's end)."""

    def __init__(self, timeline: Timeline, bank: SourceBank, origin: int, level: bool) -> None:
        self.bank = bank
        self.level = level
        self.length = timeline.length
        self.channels = getattr(timeline, "channels", 1)
        self._pans = {side: np.array(pan_gains(side), np.float32) for side in PAN_SIDES}
        self.position = origin
        # Stable sort: events that start together are summed in timeline order, always.
        self.events = sorted(
            (e for e in timeline.events if e.length > 0 and e.end > origin and e.start < e.end),
            key=lambda e: e.start,
        )
        self.upcoming = 0
        self.active: list[tuple[Event, Samples, int, float]] = []  # + stop, gain

    def take(self, count: int) -> NDArray[Any]:
        block_start = self.position
        block_end = block_start + count
        self.position = block_end
        events = self.events
        while self.upcoming < len(events) and events[self.upcoming].start < block_end:
            event = events[self.upcoming]
            self.upcoming += 1
            source = self.bank.reader(event, self.level)
            stop = event.start + min(event.length, len(source))
            if stop > block_start and event.gain != 0:
                self.active.append((event, source, stop, event.gain))
        stereo = self.channels == 2
        shape = (count, 2) if stereo else (count,)
        buffer = np.zeros(shape, dtype=np.float32)
        still: list[tuple[Event, Samples, int, float]] = []
        for item in self.active:
            event, source, stop, gain = item
            lo = max(event.start, block_start)
            hi = min(stop, block_end)
            if hi > lo:
                part = source[lo - event.start : hi - event.start]
                if stereo:
                    pan = self._pans[event.side] * np.float32(gain)
                    buffer[lo - block_start : hi - block_start] += part[:, None] * pan
                elif gain != 1.0:
                    buffer[lo - block_start : hi - block_start] += part * np.float32(gain)
                else:
                    buffer[lo - block_start : hi - block_start] += part
            if stop > block_end:
                still.append(item)
        self.active = still
        if block_end > self.length:
            buffer[max(0, self.length - block_start) :] = 0.0
        return buffer


PAN_SIDES = ("left", "right", "both")


def to_int16(buffer: NDArray[Any]) -> NDArray[Any]:
    """float32 [-1, 1] -> int16: scale by 32767, round half to even, clip. Deterministic."""
    buffer *= np.float32(32767.0)
    np.rint(buffer, out=buffer)
    np.clip(buffer, -32768.0, 32767.0, out=buffer)
    return buffer.astype(np.int16)


def mix_all(timeline: Timeline, bank: SourceBank, level: bool = True) -> NDArray[Any]:
    """The whole session as one int16 array (for tests and short sessions)."""
    blocks = list(mix_blocks(timeline, bank, level=level))
    if not blocks:
        return np.zeros(0, dtype=np.int16)
    whole: NDArray[Any] = np.concatenate(blocks)
    return whole


def _frozen(array: NDArray[Any]) -> NDArray[Any]:
    """A read-only view (so the caller's own array keeps its flags)."""
    view: NDArray[Any] = np.ascontiguousarray(array, dtype=np.float32).view()
    view.flags.writeable = False
    return view
