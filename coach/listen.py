"""Voice commands: offline keyword spotting (pocketsphinx) on the microphone while a session plays.

pocketsphinx ships its US English model inside its wheel, so nothing is downloaded. Its
keyword search listens for the phrases of coach.commands all the time; what it hears while
coach itself sounds (coach.voicelog, from the timeline) is dropped, so coach's own words,
breath and chimes never become commands.
"""

from __future__ import annotations

import contextlib
import queue
import tempfile
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from coach import commands
from coach.diagnostics import CoachError
from coach.voicelog import VoiceLog

SPOT_RATE = 16000  # what the recogniser's model was trained at
CHUNK = 1600  # samples handed to the recogniser at a time (0.1 s)
FRAME = 160  # pocketsphinx's frames are 10 ms
#: How sure the keyword search must be to notice a phrase (pocketsphinx's kws_threshold;
#: smaller notices more). Commands in coach's festival and flite voices need 1e-40 to 1e-50
#: (1e-30 missed "coach pause"); with coach's own voice left out, the built-in routines
#: played into the microphone are noticed nowhere down to 1e-60.
THRESHOLD = 1e-50
BEFORE = 0.3  # seconds of audio before the noticed words that the grammar decodes too
AFTER = 0.45  # seconds after them (the search often notices before the last word ends)
RECENT_SECONDS = 6.0  # audio kept for the grammar: more than the longest phrase takes
MARGIN = 0.3  # seconds around coach's own sound in which nothing heard counts
RESTART_SECONDS = 60.0  # a fresh utterance this often, so the search never grows
QUEUE_SECONDS = 5.0  # audio waiting for the recogniser beyond this is dropped (oldest first)


class ListeningUnavailable(CoachError):
    """Voice commands cannot run here; the message says why in a few words."""


@dataclass(frozen=True)
class Heard:
    """A command heard: its words from `start` to `end` (seconds, the listener's clock)."""

    command: str
    start: float
    end: float
    ignored: bool = False  # coach itself was sounding then


class Spotter:
    """Commands in one stream of 16 kHz int16 samples, found in two stages.

    pocketsphinx's keyword search notices that one of the phrases was said; it is quick but
    confuses them ("coach pause" with "coach back"). Then the words it found, with a little
    on either side, are decoded again with a grammar of exactly the phrases, which picks the
    one said. Whatever the search notices within the words of the last command is the same
    command again and is left alone.
    """

    def __init__(self, threshold: float = THRESHOLD) -> None:
        try:
            from pocketsphinx import Decoder
        except ImportError as error:
            raise ListeningUnavailable(f"the recogniser is not installed ({error})") from None
        phrases = list(commands.BY_PHRASE)
        tails = [phrase.split(" ", 1)[1] for phrase in phrases]
        # The grammar's hypothesis is told apart by the first word after "coach".
        self._by_word = {tail.split()[0]: commands.BY_PHRASE[p] for p, tail in zip(phrases, tails)}
        grammar = "#JSGF V1.0;\ngrammar commands;\npublic <command> = coach ( "
        grammar += " | ".join(tails) + " );\n"
        with tempfile.TemporaryDirectory(prefix="coach-kws-") as folder:
            listing, rules = Path(folder) / "commands.kws", Path(folder) / "commands.gram"
            listing.write_text("".join(f"{p} /{threshold:g}/\n" for p in phrases))
            rules.write_text(grammar)
            self._search = Decoder(kws=str(listing), loglevel="FATAL")
            self._grammar = Decoder(jsgf=str(rules), loglevel="FATAL", cmn="batch")
        self._search.start_utt()
        self._fed = 0  # samples fed in all
        self._utterance_start = 0  # sample where the search's current utterance began
        self._recent = np.zeros(0, np.int16)  # the last RECENT_SECONDS of the stream
        self._pending: tuple[int, int] | None = None  # words noticed, not yet decoded
        self._quiet_until = 0  # the end of the last command's words

    def process(self, samples: NDArray[Any]) -> list[tuple[str, int, int]]:
        """Feed samples; the commands found, as (command, first sample, last sample) of the
        whole stream."""
        samples = np.ascontiguousarray(samples, np.int16)
        self._search.process_raw(samples.tobytes(), False, False)
        self._fed += len(samples)
        keep = round(RECENT_SECONDS * SPOT_RATE)
        self._recent = np.concatenate([self._recent, samples])[-keep:]
        if self._search.hyp() is not None:
            segments = list(self._search.seg())
            start = self._utterance_start + segments[0].start_frame * FRAME
            end = self._utterance_start + (segments[-1].end_frame + 1) * FRAME
            self._restart()
            if start >= self._quiet_until and self._pending is None:
                self._pending = (start, end)
        elif self._fed - self._utterance_start > RESTART_SECONDS * SPOT_RATE:
            self._restart()
        found: list[tuple[str, int, int]] = []
        if self._pending is not None and self._fed >= self._pending[1] + AFTER * SPOT_RATE:
            start, end = self._pending
            self._pending = None
            name = self._decode(start - round(BEFORE * SPOT_RATE))
            if name is not None:
                found.append((name, start, end))
                self._quiet_until = self._fed
        return found

    def _decode(self, start: int) -> str | None:
        """The command the grammar hears from stream sample `start` to now, if any."""
        first = max(0, len(self._recent) - (self._fed - start))
        grammar = self._grammar
        grammar.start_utt()
        grammar.process_raw(self._recent[first:].tobytes(), False, True)
        grammar.end_utt()
        hypothesis = grammar.hyp()
        words = hypothesis.hypstr.split() if hypothesis is not None else []
        return self._by_word.get(words[1]) if len(words) > 1 else None

    def _restart(self) -> None:
        self._search.end_utt()
        self._search.start_utt()
        self._utterance_start = self._fed


class Listener:
    """Hears commands in the audio handed to `hear` and calls `on_command(name)` for each
    one, on a thread of its own. Commands whose words overlap coach's own sound in `voice`
    are dropped; `heard` keeps every command found, dropped ones marked."""

    def __init__(
        self,
        on_command: Callable[[str], None],
        voice: VoiceLog | None = None,
        threshold: float = THRESHOLD,
    ) -> None:
        self.on_command = on_command
        self.voice = voice
        self.heard: list[Heard] = []
        self._spotter = Spotter(threshold)
        self._queue: queue.Queue[tuple[NDArray[Any], float] | None] = queue.Queue()
        self._queued = 0  # samples waiting
        self._anchors: deque[tuple[int, float]] = deque()  # (stream sample, time) per chunk
        self._fed = 0
        self._thread: threading.Thread | None = None

    def __enter__(self) -> Listener:
        self._thread = threading.Thread(target=self._run, name="coach-listen", daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._queue.put(None)
        if self._thread is not None:
            self._thread.join(timeout=2.0)

    def hear(self, samples: NDArray[Any], at: float) -> None:
        """Queue 16 kHz mono int16 `samples` whose first sample was heard at time `at`
        (time.monotonic(), the clock of the voice log). Never blocks."""
        if self._queued > QUEUE_SECONDS * SPOT_RATE:
            return  # the recogniser cannot keep up: drop what it would only hear late
        self._queued += len(samples)
        self._queue.put((samples, at))

    def _run(self) -> None:
        while (item := self._queue.get()) is not None:
            samples, at = item
            self._queued -= len(samples)
            self._anchors.append((self._fed, at))
            while len(self._anchors) > 600:  # a minute of chunks is plenty to look back on
                self._anchors.popleft()
            self._fed += len(samples)
            for name, first, last in self._spotter.process(samples):
                self._found(name, self._time_of(first), self._time_of(last))

    def _found(self, name: str, start: float, end: float) -> None:
        voice = self.voice
        ignored = voice is not None and voice.sounding(start - MARGIN, end + MARGIN)
        self.heard.append(Heard(name, start, end, ignored))
        if not ignored:
            self.on_command(name)

    def _time_of(self, sample: int) -> float:
        """When stream sample `sample` was heard, from the chunk it came in."""
        anchor_sample, anchor_time = self._anchors[0]
        for chunk_sample, chunk_time in reversed(self._anchors):
            if chunk_sample <= sample:
                anchor_sample, anchor_time = chunk_sample, chunk_time
                break
        return anchor_time + (sample - anchor_sample) / SPOT_RATE


@contextlib.contextmanager
def microphone(listener: Listener) -> Iterator[None]:
    """Feed the default input device to `listener` while the block runs (16 kHz mono, the
    device's own rate converted when it cannot give 16 kHz). ListeningUnavailable when there
    is no input device."""
    try:
        import sounddevice
    except (ImportError, OSError) as error:
        raise ListeningUnavailable(f"no audio input ({error})") from None
    try:
        device = sounddevice.query_devices(kind="input")
    except (sounddevice.PortAudioError, ValueError):
        raise ListeningUnavailable("no input device (microphone) found") from None
    stream = None
    for rate in (SPOT_RATE, int(device["default_samplerate"])):
        try:
            stream = sounddevice.InputStream(
                samplerate=rate,
                channels=1,
                dtype="int16",
                blocksize=round(CHUNK * rate / SPOT_RATE),
                callback=_feeder(listener, rate),
            )
            break
        except (sounddevice.PortAudioError, ValueError) as error:
            reason = str(error)
    if stream is None:
        raise ListeningUnavailable(f"cannot open the microphone: {reason}")
    with stream:
        yield


def _feeder(listener: Listener, rate: int) -> Callable[..., None]:
    def callback(indata: NDArray[Any], frames: int, when: Any, status: Any) -> None:
        heard_at = time.monotonic() - frames / rate
        samples = indata[:, 0].copy()
        if rate != SPOT_RATE:
            samples = to_spot_rate(samples, rate)
        listener.hear(samples, heard_at)

    return callback


def to_spot_rate(samples: NDArray[Any], rate: int) -> NDArray[Any]:
    """int16 `samples` at `rate` brought to 16 kHz (linear interpolation: enough for words)."""
    count = round(len(samples) * SPOT_RATE / rate)
    where = np.arange(count) * (rate / SPOT_RATE)
    converted: NDArray[Any] = np.interp(where, np.arange(len(samples)), samples).astype(np.int16)
    return converted
