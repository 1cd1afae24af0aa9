"""Live playback: the mixed session streamed to the audio device in chunks cut in silence."""

from __future__ import annotations

import bisect
import contextlib
import os
import sys
import tempfile
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np

from coach.chunks import (
    STREAMING,
    Chunk,
    Chunking,
    chunk_audio,
    normal_ranges,
    plan_chunks,
    silent_spans,
    suffix_sums,
)
from coach.diagnostics import AudioDeviceError
from coach.mixer import SourceBank
from coach.timeline import Timeline

Progress = Callable[[int, int], None]

POLL_SECONDS = 0.002  # how often to check whether a chunk has finished
PAUSE_POLL_SECONDS = 0.25  # a paused player wakes at once on a command; this is a backstop
PROGRESS_SECONDS = 0.25
STOP_WAIT_SECONDS = 0.5
BACK_TWICE_SECONDS = 1.5  # `back` again within this long goes to the step before
NOTE_SECONDS = 2.0  # how long a player note ("already at the last step") stays in its state

COMMANDS = ("toggle", "pause", "resume", "next", "back", "quit")

NO_DEVICE_HINT = "Export the session to play it elsewhere: coach export ROUTINE -o session.mp3"


class Playing(Protocol):
    """One buffer being played by an AudioOutput."""

    def is_playing(self) -> bool: ...

    def stop(self) -> None: ...


class AudioOutput(Protocol):
    """Somewhere to send int16 mono buffers; starts playing one at once and returns."""

    def start(self, samples: np.ndarray, sample_rate: int) -> Playing: ...


class SimpleaudioOutput:
    """The audio device through simpleaudio (ALSA on Linux): one device open per buffer."""

    def __init__(self) -> None:
        try:
            import simpleaudio
        except ImportError as exc:  # not installed, or libasound missing at load time
            raise AudioDeviceError(
                f"Live playback needs simpleaudio, which cannot be loaded ({exc}). {NO_DEVICE_HINT}"
            ) from exc
        try:
            from simpleaudio._simpleaudio import SimpleaudioError
        except ImportError:  # pragma: no cover - layout of simpleaudio 1.0.4
            SimpleaudioError = Exception  # noqa: N806
        self._simpleaudio: Any = simpleaudio
        self._error: type[BaseException] = SimpleaudioError
        self.opened = 0

    def start(self, samples: np.ndarray, sample_rate: int) -> Playing:
        # play_buffer reads the array in place from its own thread; the caller keeps
        # `samples` alive and unchanged until it has finished.
        buffer = np.ascontiguousarray(samples, dtype="<i2")
        first = self.opened == 0
        failure: BaseException | None = None
        # When the first open fails libasound prints its own lines ("ALSA lib pcm.c:2666:
        # (snd_pcm_open_noupdate) Unknown PCM default"); they go into the one error instead.
        with _stderr_lines() if first else contextlib.nullcontext([]) as printed:
            try:
                played = self._simpleaudio.play_buffer(buffer, 1, 2, sample_rate)
            except self._error as exc:
                failure = exc
        if failure is None:
            if printed:  # warnings from a successful open are passed on
                print("\n".join(printed), file=sys.stderr)
            self.opened += 1
            return played
        detail = _first_line(failure)
        said = [line for line in printed if line.strip()]
        if said:
            detail += "; ALSA: " + said[-1].split(") ", 1)[-1].strip()
        if first:
            raise AudioDeviceError(
                f"No audio device could be opened ({detail}). {NO_DEVICE_HINT}"
            ) from failure
        raise AudioDeviceError(
            f"The audio device failed during playback ({detail}). {NO_DEVICE_HINT}"
        ) from failure


@dataclass(frozen=True)
class PlayerState:
    """A snapshot of a player for a status display (positions in samples)."""

    position: int  # the sample sounding now (estimated from the clock while a chunk plays)
    remaining: int  # samples still to play, in play order
    paused: bool
    started: bool  # sound has been sent to the device
    finished: bool
    note: str = ""  # a short word from the player, e.g. why a command did nothing
    heading_to: int | None = None  # in a lead-in before a jump: where the jump goes


class Player:
    """Plays a timeline chunk by chunk, controlled by commands from any thread.

    Chunk k+1 is mixed while chunk k plays and started the moment chunk k finishes, so
    what reaches the device is, sample for sample, the session from `mix_all` apart from
    deliberate jumps. The chunk list is the unit of control:

    - `pause()` takes effect when the chunk playing ends (simpleaudio cannot tell how far
      into a buffer it is), `resume()` starts the next chunk at once: nothing is lost or
      repeated. Keep chunks short (`INTERACTIVE`) when pausing is wanted.
    - `next_step()` and `back()` stop the chunk at once and go on from a step's start
      (`back()` twice within BACK_TWICE_SECONDS: the step before); the chunks are planned
      again from there. A paused player stays paused.
    - `quit()` (or `stop()`) stops the sound at once; `run` returns normally.

    `ranges` is the play order: sample ranges [start, end) played one after another (the
    default is the whole session). `[(0, intro_end), (step_start, length)]` plays the
    lead-in countdown and then jumps to a step; while in a range that is not the last,
    `next_step()` goes to the next range and `back()` restarts the range.
    """

    def __init__(
        self,
        timeline: Timeline,
        bank: SourceBank,
        on_progress: Progress | None = None,
        output: AudioOutput | None = None,
        chunks: list[Chunk] | None = None,
        *,
        ranges: Sequence[Chunk] | None = None,
        chunking: Chunking = STREAMING,
    ) -> None:
        self.timeline = timeline
        self.bank = bank
        self.on_progress = on_progress
        self.chunking = chunking
        self.played: list[Chunk] = []  # every chunk sent to the device, in order
        self._output = output
        self._spans: list[tuple[int, int]] | None = None
        self._stops = sorted(
            {0} | {c.start for c in timeline.chapters if 0 <= c.start < timeline.length}
        )
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._commands: deque[tuple[str, float]] = deque()
        self._paused = False
        self._stop_requested = False
        self._started = False
        self._finished = False
        self._note: tuple[str, float] | None = None
        self._last_back: tuple[float, int] | None = None  # when, and the sample it went to
        self._ranges = normal_ranges(
            ranges if ranges is not None else [(0, timeline.length)], timeline.length
        )
        if chunks is not None:
            self.chunks = list(chunks)
            self._chunk_range = [0] * len(self.chunks)
        else:
            self.chunks, self._chunk_range = self._plan(self._ranges)
        self._suffix = suffix_sums(self.chunks)
        self._next = 0  # index in self.chunks of the next chunk to start
        self._now: tuple[int, int, float] | None = None  # chunk playing, when it started
        self._position = self.chunks[0][0] if self.chunks else 0
        self._current: Playing | None = None
        self._current_samples: np.ndarray | None = None  # kept alive while it plays

    # -- the input interface: safe to call from any thread, also from on_progress --

    def command(self, name: str) -> None:
        """Run a command by name: one of COMMANDS."""
        actions: dict[str, Callable[[], None]] = {
            "toggle": self.toggle_pause,
            "pause": self.pause,
            "resume": self.resume,
            "next": self.next_step,
            "back": self.back,
            "quit": self.quit,
        }
        if name not in actions:
            raise ValueError(f"unknown player command {name!r}; known: {', '.join(COMMANDS)}")
        actions[name]()

    def pause(self) -> None:
        """Pause at the end of the chunk now playing."""
        self._set_paused(True)

    def resume(self) -> None:
        """Go on with the next chunk at once."""
        self._set_paused(False)

    def toggle_pause(self) -> None:
        """Pause if playing, resume if paused."""
        with self._lock:
            self._paused = not self._paused
        self._wake.set()

    def next_step(self) -> None:
        """Skip to the start of the next step (now: the chunk playing is cut short)."""
        self._enqueue("next")

    def back(self) -> None:
        """Back to the start of the step playing; again within 1.5 s: the step before."""
        self._enqueue("back")

    def quit(self) -> None:
        """Stop the sound at once; `run` returns soon after."""
        self._stop_requested = True
        self._wake.set()

    def stop(self) -> None:
        """Ask playback to stop; `run` returns soon after (safe from another thread)."""
        self.quit()

    # -- state --

    @property
    def position(self) -> int:
        """The first sample of the chunk now playing (or the end, once done)."""
        return self._position

    @property
    def paused(self) -> bool:
        return self._paused

    @property
    def stopped(self) -> bool:
        """Whether playback was stopped (quit) rather than played to its end."""
        return self._stop_requested

    def state(self) -> PlayerState:
        """A consistent snapshot for a status line (safe from any thread)."""
        with self._lock:
            position = self._estimate()
            remaining = self._suffix[self._next] if self._next < len(self._suffix) else 0
            if self._now is not None:
                remaining += max(0, self._now[1] - position)
            note = ""
            if self._note is not None and time.monotonic() - self._note[1] < NOTE_SECONDS:
                note = self._note[0]
            index = self._range_index()
            ahead = self._ranges[index + 1][0] if index + 1 < len(self._ranges) else None
            return PlayerState(
                position, remaining, self._paused, self._started, self._finished, note, ahead
            )

    # -- playing --

    def run(self) -> None:
        """Play the session; returns when done or stopped. Re-raises KeyboardInterrupt
        (and device errors) after stopping the sound."""
        try:
            if self.timeline.length == 0 or not self.chunks:
                return
            output = self._output if self._output is not None else SimpleaudioOutput()
            self._play(output)
        finally:
            self._silence()
            with self._lock:
                self._now = None
                self._finished = True

    def _play(self, output: AudioOutput) -> None:
        rate = self.timeline.sample_rate
        audio = chunk_audio(self.timeline, self.bank, self.chunks)
        upcoming = next(audio, None)
        playing: Playing | None = None
        while True:
            finished = self._wait(playing) if playing is not None else True
            if self._stop_requested:
                return
            jump = self._take_jumps()
            if jump is not None:
                self._silence()  # a deliberate skip: cut the chunk short at once
                playing = None
                self._replan(jump)
                audio = chunk_audio(self.timeline, self.bank, self.chunks)
                upcoming = next(audio, None)
                self._report(jump[0][0])
                continue
            if not finished:
                continue  # woken by pause or resume: the chunk plays on
            if playing is not None:
                playing = None
                with self._lock:
                    self._now = None
            if self._next >= len(self.chunks):
                break
            if self._paused:
                self._idle()
                continue
            start, end = self.chunks[self._next]
            samples = upcoming
            assert samples is not None and len(samples) == end - start
            playing = output.start(samples, rate)
            self._current = playing
            self._current_samples = samples
            with self._lock:
                self._now = (start, end, time.monotonic())
                self._next += 1
                self._position = start
                self._started = True
            self.played.append((start, end))
            self._report(start)
            # Mix the next chunk while this one plays.
            upcoming = next(audio, None) if self._next < len(self.chunks) else None
        self._position = self.timeline.length
        self._report(self.timeline.length)

    def _wait(self, playing: Playing) -> bool:
        """Poll until `playing` has finished (True) or a command needs the player (False),
        reporting an estimated position meanwhile."""
        reported = time.monotonic()
        while playing.is_playing():
            if self._stop_requested or self._commands:
                return False
            if self._wake.wait(POLL_SECONDS):
                self._wake.clear()
                return False
            now = time.monotonic()
            if self.on_progress is not None and now - reported >= PROGRESS_SECONDS:
                reported = now
                with self._lock:
                    estimate = self._estimate()
                self._report(estimate)
        return True

    def _idle(self) -> None:
        """Paused between chunks: sleep until a command arrives."""
        self._wake.clear()
        if self._paused and not self._commands and not self._stop_requested:
            self._wake.wait(PAUSE_POLL_SECONDS)

    def _set_paused(self, paused: bool) -> None:
        with self._lock:
            self._paused = paused
        self._wake.set()

    def _enqueue(self, name: str) -> None:
        with self._lock:
            self._commands.append((name, time.monotonic()))
        self._wake.set()

    def _estimate(self) -> int:
        """The sample sounding now; the caller holds the lock."""
        if self._now is not None:
            start, end, began = self._now
            heard = int((time.monotonic() - began) * self.timeline.sample_rate)
            return min(start + heard, max(start, end - 1))
        if self._next < len(self.chunks):
            return self.chunks[self._next][0]
        return self.chunks[-1][1] if self.chunks else 0

    def _range_index(self) -> int:
        """Which of the ranges the chunk playing (or next) belongs to; the caller holds the
        lock."""
        owners = self._chunk_range
        if not owners:
            return max(0, len(self._ranges) - 1)
        at = self._next - 1 if self._now is not None else self._next
        return owners[min(max(at, 0), len(owners) - 1)]

    def _take_jumps(self) -> tuple[list[Chunk], int] | None:
        """Apply the queued step commands in order; the new play order and range index."""
        with self._lock:
            commands = list(self._commands)
            self._commands.clear()
            position = self._estimate()
            index = self._range_index()
        if not commands:
            return None
        ranges = self._ranges
        jumped = False
        for name, pressed in commands:
            moved = self._navigate(name, pressed, ranges, index, position)
            if moved is not None:
                ranges, index, position, jumped = moved, 0, moved[0][0], True
        return (ranges, index) if jumped else None

    def _navigate(
        self, name: str, pressed: float, ranges: list[Chunk], index: int, position: int
    ) -> list[Chunk] | None:
        """Where one `next` or `back` leads: the new play order, or None to stay."""
        last = index >= len(ranges) - 1
        if name == "next":
            if not last:
                return ranges[index + 1 :]
            range_end = ranges[index][1]
            target = next((s for s in self._stops if position < s < range_end), None)
            if target is None:
                self._set_note("already at the last step")
                return None
            return [(target, range_end)]
        if not last:  # back in the lead-in: hear it again from its start
            self._last_back = None
            return [ranges[index], *ranges[index + 1 :]]
        stops = self._stops
        if self._last_back is not None and pressed - self._last_back[0] <= BACK_TWICE_SECONDS:
            previous = bisect.bisect_right(stops, self._last_back[1]) - 1
            target = stops[max(previous - 1, 0)]
        else:
            target = stops[max(bisect.bisect_right(stops, position) - 1, 0)]
        self._last_back = (pressed, target)
        return [(target, ranges[index][1])]

    def _replan(self, jump: tuple[list[Chunk], int]) -> None:
        ranges, _ = jump
        ranges = normal_ranges(ranges, self.timeline.length)
        chunks, owners = self._plan(ranges)
        with self._lock:
            self._ranges = ranges
            self.chunks, self._chunk_range = chunks, owners
            self._suffix = suffix_sums(chunks)
            self._next = 0
            self._now = None
            self._position = chunks[0][0] if chunks else self.timeline.length

    def _plan(self, ranges: Sequence[Chunk]) -> tuple[list[Chunk], list[int]]:
        """Chunks for each range in turn, and the range each chunk belongs to."""
        if self._spans is None:
            self._spans = silent_spans(self.timeline)
        c = self.chunking
        chunks: list[Chunk] = []
        owners: list[int] = []
        for number, (start, end) in enumerate(ranges):
            planned = plan_chunks(
                self.timeline,
                c.first,
                c.first_min,
                c.target,
                c.shortest,
                c.longest,
                start=start,
                end=end,
                reach=c.reach,
                spans=self._spans,
            )
            chunks.extend(planned)
            owners.extend([number] * len(planned))
        return chunks, owners

    def _set_note(self, text: str) -> None:
        with self._lock:
            self._note = (text, time.monotonic())

    def _report(self, position: int) -> None:
        if self.on_progress is not None:
            self.on_progress(position, self.timeline.length)

    def _silence(self) -> None:
        """Stop whatever is playing and give the device a moment to close."""
        playing, self._current = self._current, None
        if playing is None or not playing.is_playing():
            return
        playing.stop()
        deadline = time.monotonic() + STOP_WAIT_SECONDS
        while playing.is_playing() and time.monotonic() < deadline:
            time.sleep(POLL_SECONDS)


def play(timeline: Timeline, bank: SourceBank, on_progress: Progress | None = None) -> None:
    """Play the session on the default audio device; Ctrl-C stops it (KeyboardInterrupt)."""
    Player(timeline, bank, on_progress).run()


def find_step(timeline: Timeline, wanted: str) -> int:
    """The index of the chapter `wanted` names: its 1-based number, its name (any case), or
    a beginning of the name that only one step has. ValueError, listing the steps, if none."""
    chapters = timeline.chapters
    if not chapters:
        raise ValueError(f"{timeline.title} has no steps to start from")
    listing = "\n".join(f"  {n:>2}  {c.name}" for n, c in enumerate(chapters, 1))
    text = " ".join(wanted.split())
    if text.isdigit():
        number = int(text)
        if 1 <= number <= len(chapters):
            return number - 1
        raise ValueError(f"there is no step {number}. The steps are:\n{listing}")
    key = text.casefold()
    exact = [i for i, c in enumerate(chapters) if c.name.casefold() == key]
    if len(exact) == 1:
        return exact[0]
    found = exact or [
        i for i, c in enumerate(chapters) if key and c.name.casefold().startswith(key)
    ]
    if len(found) == 1:
        return found[0]
    if found:
        numbers = ", ".join(str(i + 1) for i in found)
        raise ValueError(
            f"{wanted!r} could be steps {numbers}; give more of the name, or the number. "
            f"The steps are:\n{listing}"
        )
    raise ValueError(f"no step is called {wanted!r}. The steps are:\n{listing}")


@contextlib.contextmanager
def _stderr_lines() -> Iterator[list[str]]:
    """Redirect file descriptor 2 (where C libraries print) to a temporary file; the list
    yielded is filled with what was printed once the block ends."""
    lines: list[str] = []
    try:
        saved = os.dup(2)
    except OSError:  # no stderr at all: nothing to capture
        yield lines
        return
    with tempfile.TemporaryFile() as capture:
        with contextlib.suppress(Exception):
            sys.stderr.flush()
        os.dup2(capture.fileno(), 2)
        try:
            yield lines
        finally:
            os.dup2(saved, 2)
            os.close(saved)
            capture.seek(0)
            lines.extend(capture.read().decode("utf-8", "replace").splitlines())


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__
