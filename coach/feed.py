"""Live playback's feed: the session mixed just ahead of the device, with fades for pause and skips.

The audio device's callback asks `Feed.fill` for each buffer; a producer thread
(`Feed.produce`) mixes blocks in play order a short way ahead of it. Every break in the
sound (pause, a skip, quit) fades out over FADE_SECONDS and every restart fades in, so
no key ever makes a click; without breaks the device gets the session sample for sample.
A stereo session (`timeline.channels` 2) goes through as (frames, 2) blocks; every count
here is in frames, and coach's own words and cues are placed in the middle.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Iterator, Sequence
from typing import Any

import numpy as np
from numpy.typing import NDArray

from coach import playorder
from coach.mixer import SourceBank, mix_blocks, pan_gains
from coach.playorder import Block, Mark, Where, fade, normal_ranges
from coach.steps import Navigator, Range
from coach.timeline import Timeline
from coach.voicelog import VoiceLog, overlapping, voice_spans

BLOCK = 2048  # frames mixed at a time (about 0.09 s)
AHEAD_BLOCKS = 8  # mixed blocks kept ready for the device (about 0.75 s)
FADE_SECONDS = 0.005  # every break in the sound fades out, every restart fades in
LATE_BLOCK_SECONDS = 1.0  # a mix this late plays silence meanwhile (the machine is swamped)

COMMANDS = ("toggle", "pause", "resume", "next", "back", "quit")


class Feed:
    """The session in play order for an audio callback, controlled by commands.

    `ranges` is the play order: sample ranges played one after another (a lead-in, then a
    step). `command()` may be called from any thread; the callback thread applies commands
    at its next buffer:

    - pause: fade out, then silence; resume fades in again. If the fade cut a spoken line,
      resume goes back to that line's start; otherwise on from where the fade ended.
    - next / back: fade out, then go on from the next step / this step's start (back twice
      within BACK_TWICE_SECONDS: the step before). In a lead-in, next goes to the step and
      back hears the lead-in again. A paused feed stays paused.
    - quit: fade out and end.

    `say(samples)` puts words into the stream: fade out, play them, then go on as after a
    pause (or stay paused). `cue(samples)` lays a short sound over whatever plays next.
    Everything of coach's own voice that is sent (speech, hiss, sounds, words said, cues) is
    logged in `voice` in time.monotonic() seconds, at the time the device should sound it
    (`latency` seconds after it is handed over).
    """

    def __init__(self, timeline: Timeline, bank: SourceBank, ranges: Sequence[Range]) -> None:
        self.timeline = timeline
        self.bank = bank
        self.marks: list[Mark] = []
        self.played: list[Range] = []  # session spans sent to the device, in order
        self.failure: BaseException | None = None  # what stopped the mix (a clip's error)
        rate, self.channels = timeline.sample_rate, timeline.channels
        self._fade = max(1, round(FADE_SECONDS * rate))
        self._nothing = playorder.silence(0, self.channels)  # marks the end of the play order
        self._steps = Navigator(timeline)
        speech = sorted((e.start, e.end) for e in timeline.events if e.kind == "speech")
        self._speech_starts = [start for start, _ in speech]
        self._speech = speech
        self._cond = threading.Condition()
        self._closed = False
        self._generation = 0
        self._ranges = normal_ranges(ranges, timeline.length)
        self._blocks: deque[Block] = deque()
        self._block: Block | None = None
        self._offset = 0
        self._range_index = 0
        self._position = self._ranges[0][0] if self._ranges else timeline.length
        self._commands: deque[tuple[str, float]] = deque()
        self._want_pause = False
        self._quit = False
        self._mode = "playing" if self._ranges else "done"  # + fading, silent, done
        self._faded = 0  # samples of the fade out (or in) done so far
        self._fading_in = False
        self._resume_at: int | None = None  # where resume goes (a cut line's start)
        self._started = False
        self.voice = VoiceLog()
        self._sent_at = 0.0  # when the device sounds the buffer being filled
        self.latency = 0.0  # seconds from handing samples to the device to hearing them
        self._voice = voice_spans(timeline)
        self._voice_starts = [start for start, _ in self._voice]
        self._saying: deque[NDArray[Any]] = deque()  # words to say, in order
        self._said = 0  # samples of _saying[0] played
        self._cue: NDArray[Any] | None = None
        self._cue_at = 0

    # -- commands: any thread --

    def command(self, name: str) -> None:
        """Queue a command by name: one of COMMANDS."""
        if name not in COMMANDS:
            raise ValueError(f"unknown player command {name!r}; known: {', '.join(COMMANDS)}")
        with self._cond:
            if name == "quit":
                self._quit = True
            elif name in ("pause", "resume", "toggle"):
                pausing = self._want_pause
                self._want_pause = name == "pause" or (name == "toggle" and not pausing)
            else:
                self._commands.append((name, time.monotonic()))
            self._cond.notify_all()

    def say(self, samples: NDArray[Any]) -> None:
        """Play int16 `samples` (mono, or frames of the session's shape) once the session
        has faded out, then go on as after a pause."""
        if len(samples):
            with self._cond:
                self._saying.append(self._placed(samples))
                self._cond.notify_all()

    def cue(self, samples: NDArray[Any]) -> None:
        """Lay int16 `samples` (as for `say`) over what plays from the next buffer on."""
        placed = self._placed(samples)
        with self._cond:
            self._cue, self._cue_at = placed, 0

    def _placed(self, samples: NDArray[Any]) -> NDArray[Any]:
        # In stereo a mono clip sounds in the middle, as loud as the session's own middle.
        return playorder.as_channels(samples, self.channels, pan_gains("both"))

    def close(self) -> None:
        """Stop the producer thread."""
        with self._cond:
            self._closed = True
            self._cond.notify_all()

    # -- state: any thread --

    @property
    def paused(self) -> bool:
        """Paused and silent (not while still fading out)."""
        return self._mode == "silent" and not self._quit

    @property
    def finished(self) -> bool:
        return self._mode == "done"

    @property
    def stopped(self) -> bool:
        """Whether it was quit rather than played to its end."""
        return self._quit

    @property
    def started(self) -> bool:
        return self._started

    def where(self) -> Where:
        """Where the feed is in its play order (the sample it sends next)."""
        with self._cond:
            done, length = self._mode == "done", self.timeline.length
            return playorder.where_in(self._ranges, self._range_index, self._position, length, done)

    def note(self) -> str:
        """A short word from the feed, e.g. why a command did nothing (fresh ones only)."""
        return self._steps.note()

    # -- the producer: its own thread --

    def produce(self) -> None:
        """Mix blocks of the play order ahead of the callback until closed; a seek (a new
        generation) starts the mix again from the new play order. An error in the mix (a
        clip that cannot be read or rendered) ends the play order and is kept in
        `failure`."""
        try:
            self._produce()
        except BaseException as error:
            with self._cond:
                self.failure = error
                self._generation += 1  # what was mixed is dropped; the end comes next
                self._blocks.append(Block(self._generation, 0, self.timeline.length, self._nothing))
                self._cond.notify_all()

    def _produce(self) -> None:
        generation = -1
        source: Iterator[Block] | None = None
        while True:
            with self._cond:
                while not self._closed and generation == self._generation and (
                    source is None or len(self._blocks) >= AHEAD_BLOCKS
                ):
                    self._cond.wait()
                if self._closed:
                    return
                if generation != self._generation:
                    generation = self._generation
                    source = self._mix(generation, list(self._ranges))
            assert source is not None
            block = next(source)  # mixing happens outside the lock
            with self._cond:
                if generation == self._generation:
                    self._blocks.append(block)
                    self._cond.notify_all()
                if len(block.samples) == 0:
                    source = None

    def _mix(self, generation: int, ranges: list[Range]) -> Iterator[Block]:
        for index, (start, end) in enumerate(ranges):
            position = start
            for samples in mix_blocks(self.timeline, self.bank, BLOCK, start=start):
                take = samples[: end - position]
                yield Block(generation, index, position, take)
                position += len(take)
                if position >= end:
                    break
        yield Block(generation, len(ranges), self.timeline.length, self._nothing)

    # -- the callback: the audio thread --

    def fill(self, out: NDArray[Any]) -> bool:
        """Fill `out` (int16 frames, shaped as the session's blocks) with what plays next;
        False once the session is over (the rest of `out` is then silence)."""
        with self._cond:
            self._started = True
            self._sent_at = time.monotonic() + self.latency
            filled = 0
            while filled < len(out):
                self._apply()
                if self._mode == "saying":
                    filled += self._say_into(out[filled:], filled)
                    continue
                if self._mode in ("silent", "done"):
                    break
                block = self._current()
                if block is None:  # the mix is late: silence now, the session later
                    break
                if len(block.samples) == 0:
                    self._mode = "done"
                    self._mark("end")
                    break
                filled += self._copy(block, out[filled:], filled)
            out[filled:] = 0
            if self._cue is not None:
                self._cue_into(out)
            # A cue still sounding is heard out, also after the last command (stop).
            return self._mode != "done" or self._cue is not None

    def _say_into(self, out: NDArray[Any], at: int) -> int:
        """Copy what is being said into `out` (`at` samples into the device's buffer)."""
        words = self._saying[0]
        count = min(len(out), len(words) - self._said)
        out[:count] = words[self._said : self._said + count]
        self._said += count
        self._log(at, at + count)
        if self._said >= len(words):
            _, self._said = self._saying.popleft(), 0
            if not self._saying:
                self._mode = "silent"
        return count

    def _cue_into(self, out: NDArray[Any]) -> None:
        assert self._cue is not None
        if self._cue_at == 0:
            self._mark("cue")
        part = self._cue[self._cue_at : self._cue_at + len(out)]
        mixed = out[: len(part)].astype(np.int32) + part
        out[: len(part)] = np.clip(mixed, -32768, 32767)
        self._log(0, len(part))
        self._cue_at += len(part)
        if self._cue_at >= len(self._cue):
            self._cue = None

    def _log(self, first: int, last: int) -> None:
        """Samples `first`..`last` of the buffer being filled are coach's voice."""
        at, rate = self._sent_at, self.timeline.sample_rate
        self.voice.add(at + first / rate, at + last / rate)

    def _current(self) -> Block | None:
        """The block being played, waiting briefly for the mix; None if it is late."""
        if self._block is not None and self._offset < len(self._block.samples):
            return self._block
        deadline = time.monotonic() + LATE_BLOCK_SECONDS
        while True:
            while self._blocks and self._blocks[0].generation != self._generation:
                self._blocks.popleft()
            if self._blocks:
                self._block, self._offset = self._blocks.popleft(), 0
                self._cond.notify_all()  # room for the producer
                return self._block
            left = deadline - time.monotonic()
            if left <= 0:
                return None
            self._cond.wait(left)

    def _copy(self, block: Block, out: NDArray[Any], at: int) -> int:
        """Copy from `block` into `out`, `at` samples into the device's buffer (fading if a
        fade is under way); samples copied."""
        count = min(len(out), len(block.samples) - self._offset)
        fading = self._mode == "fading" or self._fading_in
        if fading:
            count = min(count, self._fade - self._faded)
        part = block.samples[self._offset : self._offset + count]
        if fading:
            part = fade(part, self._faded, self._fade, down=self._mode == "fading")
            self._faded += count
        out[:count] = part
        start = block.start + self._offset
        for low, high in overlapping(self._voice, self._voice_starts, start, start + count):
            self._log(at + low - start, at + high - start)
        if self.played and self.played[-1][1] == start:
            self.played[-1] = (self.played[-1][0], start + count)
        else:
            self.played.append((start, start + count))
        self._offset += count
        self._range_index = block.range_index
        self._position = block.start + self._offset
        if fading and self._faded >= self._fade:
            self._faded = 0
            if self._mode == "fading":
                self._mode = "silent"
                self._mark("silent")
            self._fading_in = False
        return count

    def _apply(self) -> None:
        """Act on the commands given since the last buffer; the caller holds the lock."""
        if self._mode == "done":
            return
        if self._mode == "saying":
            if self._quit:
                self._saying.clear()
                self._said, self._mode = 0, "done"
                self._mark("end")
            return
        wants_break = self._quit or self._want_pause or bool(self._commands) or bool(self._saying)
        if self._mode == "playing" and wants_break:
            self._mode, self._faded, self._fading_in = "fading", 0, False
            self._resume_at = self._cut_line()
            self._mark("fade-out")
            return
        if self._mode != "silent":
            return
        if self._quit:
            self._mode = "done"
            self._mark("end")
            return
        if self._commands:
            self._jump()
        if self._saying:
            self._mode = "saying"
            self._mark("say")
            return
        if not self._want_pause:
            if self._resume_at is not None and self._resume_at != self._position:
                self._seek([(self._resume_at, self._ranges[self._range_index][1])], 0)
            self._resume_at = None
            self._mode, self._fading_in, self._faded = "playing", True, 0
            self._mark("fade-in")

    def _cut_line(self) -> int | None:
        """The start of the spoken line a fade from here would cut, if any (never before
        the start of the range playing)."""
        position, floor = self._position, self._ranges[self._range_index][0]
        spoken, starts = self._speech, self._speech_starts
        return playorder.cut_line(spoken, starts, position, position + self._fade, floor)

    def _jump(self) -> None:
        """Apply the queued next/back commands in order (while silent)."""
        ranges, index, position = self._ranges, self._range_index, self._position
        moved = False
        while self._commands:
            name, pressed = self._commands.popleft()
            target = self._steps.navigate(name, pressed, ranges, index, position)
            if target is not None:
                ranges, index, position, moved = target, 0, target[0][0], True
        if moved:
            self._seek(ranges, index)
            self._resume_at = None
            self._mark("jump")

    def _seek(self, ranges: list[Range], index: int) -> None:
        """Play `ranges[index:]` next: the producer starts a new mix from there."""
        self._ranges = normal_ranges(ranges[index:], self.timeline.length)
        self._range_index = 0
        self._generation += 1
        self._blocks.clear()
        self._block, self._offset = None, 0
        self._position = self._ranges[0][0] if self._ranges else self.timeline.length
        if not self._ranges:
            self._mode = "done"
        self._cond.notify_all()

    def _mark(self, what: str) -> None:
        self.marks.append(Mark(what, self._position, time.monotonic()))
