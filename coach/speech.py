"""Speech stage: text-to-speech engines (pyttsx3 adapter) and rendering speech lines into clips."""

from __future__ import annotations

import contextlib
import difflib
import io
import math
import numbers
import os
import sys
import threading
import time
import uuid
import wave
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

import numpy as np
from numpy.typing import NDArray

from coach.diagnostics import SpeechError

if TYPE_CHECKING:
    from coach.cache import ClipCache

#: Samples whose magnitude is below this count as digital silence when trimming (about -60 dBFS).
DEFAULT_PITCH = 50  # espeak-ng's own default
SILENCE_THRESHOLD = 32
#: Silence kept before the first and after the last audible sample of a clip, in seconds.
SILENCE_PAD_SECONDS = 0.030

_INSTALL_HINT = (
    "install espeak-ng (Debian/Ubuntu: sudo apt-get install espeak-ng; "
    "Fedora: sudo dnf install espeak-ng)"
)


@dataclass(frozen=True)
class SpeechLine:
    """One thing to say: the identity of a speech clip (text, voice id or None for the default
    voice, rate in words per minute)."""

    text: str
    voice: str | None
    rate: int
    pitch: int | None = None  # 0..100; None is the engine's default (espeak-ng: 50)


@dataclass(frozen=True)
class Voice:
    """A voice the engine offers: `id` is what `SpeechLine.voice` names."""

    id: str
    name: str
    languages: tuple[str, ...] = ()


class Clip:
    """A rendered speech line: its cache key (what timeline events name as their source),
    its length in samples at the session rate, and its samples: mono int16, read-only.

    A clip whose length is known from an earlier run reads its samples from the cache on
    first use (`load`), so a session starts without reading every clip; they are then made
    exactly `length` long (a damaged clip rendered again may differ by a few samples).
    """

    def __init__(
        self,
        key: str,
        length: int,
        samples: NDArray[Any] | None = None,
        load: Callable[[], NDArray[Any]] | None = None,
    ) -> None:
        if samples is None and load is None:
            raise ValueError("a clip needs its samples or a way to load them")
        self.key = key
        self.length = length
        self._samples = samples
        self._load = load
        self._lock = threading.Lock()

    @property
    def samples(self) -> NDArray[Any]:
        with self._lock:
            if self._samples is None:
                assert self._load is not None
                loaded = self._load()[: self.length]
                if len(loaded) < self.length:
                    loaded = np.concatenate(
                        [loaded, np.zeros(self.length - len(loaded), np.int16)]
                    )
                loaded.flags.writeable = False
                self._samples = loaded
            return self._samples


class ClipSamples(Mapping[str, NDArray[Any]]):
    """Clips by key, read as samples only when looked up (a SourceBank's speech)."""

    def __init__(self, clips: Iterable[Clip]) -> None:
        self._clips = {clip.key: clip for clip in clips}

    def __getitem__(self, key: str) -> NDArray[Any]:
        return self._clips[key].samples

    def __iter__(self) -> Iterator[str]:
        return iter(self._clips)

    def __len__(self) -> int:
        return len(self._clips)


@runtime_checkable
class SpeechEngine(Protocol):
    """A text-to-speech engine adapter.

    `name` and `version()` go into the clip cache key, so `version()` must change whenever the
    audio the engine produces may change. `synthesize` writes a complete WAV file at `path`
    (replacing whatever is there) or raises `SpeechError`.
    """

    name: str

    def version(self) -> str: ...

    def voices(self) -> list[Voice]: ...

    def synthesize(self, line: SpeechLine, path: Path) -> None: ...


# ---------------------------------------------------------------------------------------------
# pyttsx3


class _Interrupted(SpeechError):
    """pyttsx3 cancelled a clip (a stale stop request); trying again normally succeeds."""


class _Backend:
    """One live pyttsx3 engine (init is slow and espeak-ng can only be initialised once per
    process), with the event plumbing needed to know when a clip is really finished."""

    def __init__(self, driver: str) -> None:
        try:
            import pyttsx3
        except ImportError as exc:
            raise SpeechError(
                f"the text-to-speech package pyttsx3 is not installed ({exc}); "
                "install it with: pip install pyttsx3"
            ) from exc
        try:
            # The espeak driver announces nothing on stdout at init, but be safe.
            with contextlib.redirect_stdout(io.StringIO()):
                self.engine: Any = pyttsx3.init(driver)
            self.default_voice: str | None = self.engine.getProperty("voice")
        except Exception as exc:  # missing library, broken driver, ...
            hint = _INSTALL_HINT if driver == "espeak" else "check your system's speech engine"
            raise SpeechError(
                f"the text-to-speech engine (pyttsx3, driver {driver!r}) could not start: "
                f"{exc}; {hint}"
            ) from exc
        self.driver = driver
        self.pid = os.getpid()
        self.finished = threading.Event()
        self.completed = False
        self.errors: list[BaseException] = []
        self.engine.connect("finished-utterance", self._on_finished)
        self.engine.connect("error", self._on_error)
        self._espeak: Any = None
        if driver == "espeak":
            from pyttsx3.drivers import _espeak

            self._espeak = _espeak
        self._voices: list[Voice] | None = None
        # A new pyttsx3 engine queues property changes until its first run loop; one empty
        # loop (once espeak-ng has applied the driver's initial settings) makes later changes
        # apply at once.
        self.wait_idle(10.0)
        with contextlib.redirect_stdout(io.StringIO()):
            self.engine.runAndWait()

    def _on_finished(self, completed: bool = True, **_: object) -> None:
        self.completed = bool(completed)
        self.finished.set()

    def _on_error(self, exception: BaseException | None = None, **_: object) -> None:
        self.errors.append(exception if exception is not None else RuntimeError("unknown error"))

    def voices(self) -> list[Voice]:
        if self._voices is None:
            found = []
            for v in self.engine.getProperty("voices"):
                languages = tuple(
                    lang.decode("utf-8", "replace") if isinstance(lang, bytes) else str(lang)
                    for lang in (getattr(v, "languages", None) or ())
                )
                found.append(Voice(id=str(v.id), name=str(v.name or v.id), languages=languages))
            self._voices = found
        return list(self._voices)

    def wait_idle(self, timeout: float) -> None:
        """Block until espeak-ng's worker thread has no command running.

        pyttsx3's espeak driver runs espeak-ng asynchronously: `runAndWait` can return before a
        long clip is written, and `runAndWait` cancels espeak-ng if it is still busy, which
        silently drops a just-queued rate change. Waiting for idle around each clip avoids both.
        """
        if self._espeak is None:
            return
        deadline = time.monotonic() + timeout
        while self._espeak.IsPlaying():
            if time.monotonic() > deadline:
                raise SpeechError("the text-to-speech engine did not finish (timed out)")
            time.sleep(0.0005)

    def render(
        self, text: str, voice: str | None, rate: int, pitch: int | None, path: Path, timeout: float
    ) -> None:
        if os.getpid() != self.pid:
            raise SpeechError(
                "the text-to-speech engine was started in a parent process and cannot be used "
                "after fork; start worker processes with the 'spawn' method"
            )
        self.finished.clear()
        self.completed = False
        self.errors.clear()
        # pyttsx3's espeak driver prints "Audio saved to ..." with print() from espeak-ng's
        # worker thread; redirecting sys.stdout until the clip is finished swallows it.
        with contextlib.redirect_stdout(io.StringIO()):
            self.wait_idle(timeout)
            self.engine.setProperty("voice", voice if voice is not None else self.default_voice)
            self.engine.setProperty("rate", rate)
            self.engine.setProperty("volume", 1.0)
            self.engine.setProperty("pitch", DEFAULT_PITCH if pitch is None else pitch)
            self.wait_idle(timeout)
            # One save_to_file per runAndWait: queued saves keep only the last one.
            self.engine.save_to_file(text, str(path))
            self.engine.runAndWait()
            if self._espeak is None and path.exists():
                pass  # the other drivers save synchronously
            elif not self.finished.wait(timeout):
                with contextlib.suppress(Exception):
                    self.engine.stop()
                raise SpeechError(f"the text-to-speech engine timed out saying {text!r}")
            elif not self.completed:
                raise _Interrupted(f"the text-to-speech engine was interrupted saying {text!r}")
            self.wait_idle(timeout)
        if self.errors:
            raise SpeechError(f"the text-to-speech engine failed saying {text!r}: {self.errors[0]}")


_BACKENDS: dict[str, _Backend] = {}
_LOCK = threading.RLock()


def _default_driver() -> str:
    if sys.platform == "darwin":
        return "nsss"
    if sys.platform == "win32":
        return "sapi5"
    return "espeak"


class Pyttsx3Engine:
    """The pyttsx3 adapter (espeak-ng on Linux). pyttsx3 is imported on first use only, and one
    pyttsx3 engine is shared by all instances in a process."""

    def __init__(self, driver: str | None = None, timeout: float = 30.0) -> None:
        self.driver = driver or _default_driver()
        self.name = f"pyttsx3-{self.driver}"
        self.timeout = timeout
        self._version: str | None = None

    def _backend(self) -> _Backend:
        with _LOCK:
            backend = _BACKENDS.get(self.driver)
            if backend is None:
                backend = _Backend(self.driver)
                _BACKENDS[self.driver] = backend
            return backend

    def version(self) -> str:
        """pyttsx3's version plus the speech library's, so upgrading either invalidates clips."""
        if self._version is None:
            from importlib import metadata

            try:
                pyttsx3_version = metadata.version("pyttsx3")
            except metadata.PackageNotFoundError as exc:
                raise SpeechError(
                    "the text-to-speech package pyttsx3 is not installed; "
                    "install it with: pip install pyttsx3"
                ) from exc
            if self.driver == "espeak":
                try:
                    from pyttsx3.drivers import _espeak
                except Exception as exc:
                    raise SpeechError(
                        f"espeak-ng could not be loaded ({exc}); {_INSTALL_HINT}"
                    ) from exc
                info = _espeak.Info()
                library = "espeak-ng " + (info.decode("utf-8", "replace") if info else "unknown")
            else:
                import platform

                library = f"{self.driver} {platform.platform()}"
            self._version = f"pyttsx3 {pyttsx3_version}; {library}"
        return self._version

    def voices(self) -> list[Voice]:
        with _LOCK:
            return self._backend().voices()

    def resolve_voice(self, voice: str | None) -> str | None:
        """The engine's id for `voice` (None means the default voice); SpeechError with a
        did-you-mean when there is no such voice."""
        if voice is None:
            return None
        voices = self.voices()
        by_id = {v.id.lower(): v.id for v in voices}
        found = by_id.get(voice.strip().lower())
        if found is not None:
            return found
        raise SpeechError(_unknown_voice_message(voice, voices))

    def check_voice(self, voice: str) -> None:
        """SpeechError with a did-you-mean unless the engine has `voice`."""
        self.resolve_voice(voice)

    def synthesize(self, line: SpeechLine, path: Path) -> None:
        """Write `line` as a WAV file at `path`.

        The engine writes to a brand-new file name beside `path` (so a failed synthesis cannot
        leave an older file looking like a result), which is checked and then renamed to `path`.
        """
        text = line.text.strip() if isinstance(line.text, str) else ""
        if not text:
            raise SpeechError(f"nothing to say: the speech text {line.text!r} is empty")
        rate = _check_rate(line.rate)
        path = Path(path)
        directory = path.parent
        if not directory.is_dir() or not os.access(directory, os.W_OK):
            raise SpeechError(f"cannot write speech clips to {directory}: not a writable directory")
        fresh = directory / f".{path.name}.{uuid.uuid4().hex}.tts.wav"
        timeout = self.timeout + len(text) * 0.05
        with _LOCK:
            voice = self.resolve_voice(line.voice)
            try:
                try:
                    self._backend().render(text, voice, rate, line.pitch, fresh, timeout)
                except _Interrupted:
                    self._backend().render(text, voice, rate, line.pitch, fresh, timeout)
                _check_engine_wav(fresh, text)
                os.replace(fresh, path)
            except SpeechError:
                raise
            except Exception as exc:  # pyttsx3 raises plain RuntimeErrors and the like
                raise SpeechError(
                    f"the text-to-speech engine failed saying {text!r}: {exc}"
                ) from exc
            finally:
                with contextlib.suppress(OSError):
                    fresh.unlink()


def _check_rate(rate: object) -> int:
    if isinstance(rate, numbers.Real) and not isinstance(rate, bool):
        value = float(rate)
        if math.isfinite(value) and round(value) > 0:
            return round(value)
    raise SpeechError(f"speech rate must be a positive number of words per minute, not {rate!r}")


def _check_engine_wav(path: Path, text: str) -> None:
    """The engine's output exists, is a readable WAV and holds at least one frame."""
    try:
        size = path.stat().st_size
    except FileNotFoundError:
        raise SpeechError(f"the text-to-speech engine wrote no audio for {text!r}") from None
    if size <= 44:
        raise SpeechError(f"the text-to-speech engine wrote an empty clip for {text!r}")
    try:
        with wave.open(str(path), "rb") as w:
            frames = w.getnframes()
    except (wave.Error, EOFError, OSError) as exc:
        raise SpeechError(
            f"the text-to-speech engine wrote an unreadable clip for {text!r}: {exc}"
        ) from exc
    if frames <= 0:
        raise SpeechError(f"the text-to-speech engine wrote an empty clip for {text!r}")


def _unknown_voice_message(voice: str, voices: list[Voice]) -> str:
    wanted = voice.strip().lower()
    ids = [v.id for v in voices]
    suggestions: list[str] = []
    # "en-us" -> "gmw/en-us"; "English (America)" -> "gmw/en-us"
    for v in voices:
        if v.id.lower().rsplit("/", 1)[-1] == wanted or v.name.lower() == wanted:
            suggestions.append(v.id)
    lowered = {i.lower(): i for i in ids}
    for match in difflib.get_close_matches(wanted, list(lowered), n=3, cutoff=0.6):
        if lowered[match] not in suggestions:
            suggestions.append(lowered[match])
    message = f"unknown voice {voice!r}"
    if suggestions:
        quoted = " or ".join(repr(s) for s in suggestions[:3])
        return f"{message}; did you mean {quoted}?"
    examples = ", ".join(repr(i) for i in sorted(ids)[:5])
    return f"{message}; {len(ids)} voices are installed, for example {examples}"


# ---------------------------------------------------------------------------------------------
# rendering


def resample(samples: NDArray[Any], source_rate: int, target_rate: int) -> NDArray[Any]:
    """Linear-interpolation resampling of int16 samples (deterministic, numpy only)."""
    if source_rate == target_rate or len(samples) == 0:
        return samples
    length = max(1, round(len(samples) * target_rate / source_rate))
    positions = np.arange(length, dtype=np.float64) * (source_rate / target_rate)
    values = np.interp(positions, np.arange(len(samples), dtype=np.float64), samples)
    resampled: NDArray[Any] = np.clip(np.round(values), -32768, 32767).astype(np.int16)
    return resampled


def trim_silence(
    samples: NDArray[Any],
    sample_rate: int,
    threshold: int = SILENCE_THRESHOLD,
    pad_seconds: float = SILENCE_PAD_SECONDS,
) -> NDArray[Any]:
    """Drop leading and trailing digital silence, keeping `pad_seconds` of it at each end.

    Returns a slice (samples are never changed); an entirely silent clip is returned whole.
    """
    loud = (samples >= threshold) | (samples <= -threshold)  # no int16 overflow of abs()
    first = int(np.argmax(loud))
    if not loud[first]:
        return samples
    last = len(samples) - 1 - int(np.argmax(loud[::-1]))
    pad = round(pad_seconds * sample_rate)
    return samples[max(0, first - pad) : min(len(samples), last + 1 + pad)]


def render_speech(
    lines: Iterable[SpeechLine],
    cache: ClipCache,
    sample_rate: int,
    progress: Callable[[int, int], None] | None = None,
) -> dict[SpeechLine, Clip]:
    """Resolve every unique line to a clip through `cache` (synthesizing each at most once).

    Clips are mono int16 at `sample_rate` (resampled only if the engine's rate differs), with
    leading and trailing silence trimmed to `SILENCE_PAD_SECONDS`. `progress(done, total)` is
    called once per unique line after it is resolved, with done = 1..total.
    """
    unique = list(dict.fromkeys(lines))
    total = len(unique)
    recipe = f"{sample_rate} Hz, trimmed at {SILENCE_THRESHOLD} to {SILENCE_PAD_SECONDS} s"
    known = cache.known_lengths(recipe)
    found: dict[str, int] = {}
    clips: dict[SpeechLine, Clip] = {}
    for done, line in enumerate(unique, start=1):
        key = cache.key(line)
        length = known.get(key)
        if length is not None and cache.has(key):
            clips[line] = Clip(key, length, load=partial(_session_clip, cache, line, sample_rate))
        else:
            samples = _session_clip(cache, line, sample_rate)
            samples.flags.writeable = False
            clips[line] = Clip(key, len(samples), samples=samples)
            found[key] = len(samples)
        if progress is not None:
            progress(done, total)
    if found:
        cache.record_lengths(recipe, found)
    return clips


def _session_clip(cache: ClipCache, line: SpeechLine, sample_rate: int) -> NDArray[Any]:
    """The clip of `line` as a session uses it: at `sample_rate`, silence trimmed."""
    samples, rate = cache.load(line)
    return trim_silence(resample(samples, rate, sample_rate), sample_rate)
