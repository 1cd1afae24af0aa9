"""Live playback: the mixed session streamed to the audio device in chunks cut in silence."""

from __future__ import annotations

import contextlib
import os
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from typing import Any, Protocol

import numpy as np

from coach.diagnostics import AudioDeviceError
from coach.mixer import SourceBank, mix_blocks, quiet_spans
from coach.timeline import Timeline

Progress = Callable[[int, int], None]
Chunk = tuple[int, int]  # [start, end) in samples

# Chunk sizes in seconds. The first chunk is short so sound starts at once; later ones are
# long so the device is reopened rarely. Every cut is placed in silence when one exists.
FIRST_CHUNK = 0.75
FIRST_CHUNK_MIN = 0.25
CHUNK = 10.0
CHUNK_MIN = 5.0
CHUNK_MAX = 15.0
CUT_MARGIN = 0.05  # keep cuts this far inside a silence when it is wide enough
POLL_SECONDS = 0.002  # how often to check whether a chunk has finished
PROGRESS_SECONDS = 0.25
MIX_BLOCK = 4096
STOP_WAIT_SECONDS = 0.5

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


def plan_chunks(
    timeline: Timeline,
    first: float = FIRST_CHUNK,
    first_min: float = FIRST_CHUNK_MIN,
    target: float = CHUNK,
    shortest: float = CHUNK_MIN,
    longest: float = CHUNK_MAX,
) -> list[Chunk]:
    """Cut the session into chunks [start, end) covering it exactly, each cut in silence.

    A cut goes at the point of a quiet span (no event sounding on either side) that is
    closest to the wanted size, within [shortest, longest] seconds (the first chunk:
    [first_min, longest], aiming at `first`). With no silence in reach it cuts at the
    wanted size anyway. The last chunk takes the rest once that fits in `longest`.
    """
    rate = timeline.sample_rate
    length = timeline.length
    spans = [(a, b) for a, b in quiet_spans(timeline) if b - a >= 2]
    margin = int(CUT_MARGIN * rate)
    chunks: list[Chunk] = []
    position = 0
    index = 0
    while position < length:
        is_first = not chunks
        lo = position + max(1, int((first_min if is_first else shortest) * rate))
        hi = position + max(1, int(longest * rate))
        want = position + max(1, int((first if is_first else target) * rate))
        if not is_first and length <= hi:
            chunks.append((position, length))
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
        end = min(best if best is not None else want, length)
        chunks.append((position, end))
        position = end
    return chunks


class Player:
    """Plays a timeline chunk by chunk from one mix_blocks stream.

    Chunk k+1 is mixed while chunk k plays and started the moment chunk k finishes, so
    what reaches the device is, sample for sample, `mix_all(timeline, bank)`. The chunk
    list is the unit of control: `stop()` ends playback; pause, resume and skip can act
    at chunk boundaries (mix_blocks can start at any chunk's first sample).
    """

    def __init__(
        self,
        timeline: Timeline,
        bank: SourceBank,
        on_progress: Progress | None = None,
        output: AudioOutput | None = None,
        chunks: list[Chunk] | None = None,
    ) -> None:
        self.timeline = timeline
        self.bank = bank
        self.on_progress = on_progress
        self.chunks = chunks if chunks is not None else plan_chunks(timeline)
        self._output = output
        self._stop_requested = False
        self._position = 0
        self._current: Playing | None = None
        self._current_samples: np.ndarray | None = None  # kept alive while it plays

    @property
    def position(self) -> int:
        """The first sample of the chunk now playing (or the end, once done)."""
        return self._position

    def stop(self) -> None:
        """Ask playback to stop; `run` returns soon after (safe from another thread)."""
        self._stop_requested = True

    def run(self) -> None:
        """Play the whole session; returns when done or stopped. Re-raises KeyboardInterrupt
        after stopping the sound."""
        if self.timeline.length == 0 or not self.chunks:
            return
        output = self._output if self._output is not None else SimpleaudioOutput()
        rate = self.timeline.sample_rate
        audio = _chunk_audio(mix_blocks(self.timeline, self.bank, MIX_BLOCK), self.chunks)
        try:
            upcoming = next(audio)
            for start, end in self.chunks:
                samples = upcoming
                if self._current is not None:
                    self._wait(self._current, self._position, start)
                if self._stop_requested:
                    break
                self._current = output.start(samples, rate)
                self._current_samples = samples
                self._position = start
                self._report(start)
                # Mix the next chunk while this one plays.
                upcoming = next(audio, None) if end < self.timeline.length else None
            if self._current is not None and not self._stop_requested:
                self._wait(self._current, self._position, self.chunks[-1][1])
            if not self._stop_requested:
                self._position = self.timeline.length
                self._report(self.timeline.length)
        finally:
            self._silence()

    def _wait(self, playing: Playing, start: int, end: int) -> None:
        """Poll until `playing` has finished, reporting an estimated position meanwhile."""
        began = time.monotonic()
        reported = began
        while playing.is_playing():
            if self._stop_requested:
                return
            time.sleep(POLL_SECONDS)
            now = time.monotonic()
            if self.on_progress is not None and now - reported >= PROGRESS_SECONDS:
                reported = now
                estimate = start + int((now - began) * self.timeline.sample_rate)
                self._report(min(estimate, end))

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


def _chunk_audio(blocks: Iterator[np.ndarray], chunks: list[Chunk]) -> Iterator[np.ndarray]:
    """Regroup the mixer's blocks into one fresh int16 array per chunk."""
    pending = np.zeros(0, dtype=np.int16)
    offset = 0
    for start, end in chunks:
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
        yield out


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
