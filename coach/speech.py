"""Speech stage: rendering speech lines into clips through the clip cache and an engine."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor, as_completed
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

import numpy as np
from numpy.typing import NDArray

from coach import derived
from coach.clipformat import CacheError
from coach.clipprep import resample
from coach.diagnostics import Position, SpeechError
from coach.engine import SpeechEngine, Voice
from coach.plan import SpeechLine

if TYPE_CHECKING:
    from coach.pyttsx3_engine import Pyttsx3Engine

__all__ = ["Clip", "ClipSamples", "ClipStore", "Pyttsx3Engine", "SpeechEngine", "SpeechLine"]
__all__ += ["SpeechLineError", "Voice", "render_speech", "resample"]


class Clip:
    """A rendered speech line: its cache key (what timeline events name as their source),
    its length in samples at the session rate, and its samples: mono int16, read-only.

    A clip that is stored ready for the session (coach.derived) is read again each time its
    samples are asked for (`load`) and not kept, so a session of thousands of lines holds
    none of them for long; the mixer keeps the ones in use. Loaded samples are made exactly
    `length` long (a damaged clip rendered again may differ by a few samples).
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

    @property
    def samples(self) -> NDArray[Any]:
        if self._samples is not None:
            return self._samples
        assert self._load is not None
        loaded = self._load()[: self.length]
        if len(loaded) < self.length:
            loaded = np.concatenate([loaded, np.zeros(self.length - len(loaded), np.int16)])
        loaded.flags.writeable = False
        return loaded


class ClipSamples(Mapping[str, NDArray[Any]]):
    """Clips by key, read as samples only when looked up (a SourceBank's speech)."""

    def __init__(self, clips: Iterable[Clip]) -> None:
        self._clips = {clip.key: clip for clip in clips}

    def __getitem__(self, key: str) -> NDArray[Any]:
        return self._clips[key].samples

    def __contains__(self, key: object) -> bool:  # Mapping's own would load the clip
        return key in self._clips

    def __iter__(self) -> Iterator[str]:
        return iter(self._clips)

    def __len__(self) -> int:
        return len(self._clips)


class ClipStore(Protocol):
    """Where `render_speech` gets clips: a `coach.cache.ClipCache` (named by what it does, so
    this module and the cache need not import each other)."""

    directory: Path

    def key(self, line: SpeechLine) -> str: ...

    def has(self, key: str) -> bool: ...

    def known_lengths(self, recipe: str) -> dict[str, int]: ...

    def record_lengths(self, recipe: str, lengths: Mapping[str, int]) -> None: ...

    def load(self, line: SpeechLine) -> tuple[NDArray[Any], int]: ...


class SpeechLineError(SpeechError):
    """Speaking one line failed: `line` is the line, `reason` what happened, `position` the
    place in the routine that asks for it (the session fills it in, see `at`)."""

    def __init__(self, line: SpeechLine, reason: str, position: Position | None = None) -> None:
        super().__init__(f"{position}: {reason}" if position is not None else reason)
        self.line = line
        self.reason = reason
        self.position = position

    def at(self, position: Position | None) -> SpeechLineError:
        """The same error, said of `position`."""
        return SpeechLineError(self.line, self.reason, position)


class SpeechBudgetError(SpeechLineError):
    """The speech of the lines being rendered passed its budget by `line`."""

    def __init__(self, line: SpeechLine, seconds: float, position: Position | None = None) -> None:
        hours = f"{seconds / 3600:g} hour{'s' if seconds != 3600 else ''}"
        reason = (
            f"the routine's speech lasts more than {hours} by this line, over the limit of "
            f"{hours} for a whole routine; nothing more is rendered"
        )
        super().__init__(line, reason, position)
        self.seconds = seconds

    def at(self, position: Position | None) -> SpeechBudgetError:
        return SpeechBudgetError(self.line, self.seconds, position)


# ---------------------------------------------------------------------------------------------
# rendering


def render_speech(
    lines: Iterable[SpeechLine],
    cache: ClipStore,
    sample_rate: int,
    progress: Callable[[int, int], None] | None = None,
    budget: int | None = None,
) -> dict[SpeechLine, Clip]:
    """Resolve every unique line to a clip through `cache` (synthesizing each at most once).

    `budget` bounds the speech, in samples, of all the lines together: once the clips made
    or found pass it, rendering stops with a `SpeechBudgetError` naming the line that passed
    it, so text the checker's estimate undercounts cannot make rendering run on.

    Clips are mono int16 at `sample_rate` (resampled only if the engine's rate differs),
    prepared for the mix by `coach.clipprep.prepare_clip`. Lines missing from the
    cache are rendered in parallel, one thread (and so at most one speech worker) per core.
    `progress(done, total)` is called in the caller's thread once per unique line after it is
    resolved, with done = 1..total. A line that cannot be spoken raises `SpeechLineError`.
    """
    unique = list(dict.fromkeys(lines))
    total = len(unique)
    from coach.clipprep import CLIP_RECIPE

    recipe = f"{sample_rate} Hz, {CLIP_RECIPE}"
    known = cache.known_lengths(recipe)
    clips: dict[SpeechLine, Clip] = {}
    missing: list[SpeechLine] = []
    spent = 0

    def spend(line: SpeechLine, length: int) -> None:
        nonlocal spent
        spent += length
        if budget is not None and spent > budget:
            raise SpeechBudgetError(line, budget / sample_rate)

    for line in unique:
        key = cache.key(line)
        length = known.get(key)
        if length is not None and cache.has(key):
            clips[line] = Clip(key, length, load=partial(_session_clip, cache, line, sample_rate))
            spend(line, length)
            if progress is not None:
                progress(len(clips), total)
        else:
            missing.append(line)
    found: dict[str, int] = {}

    def resolved(line: SpeechLine, made: tuple[int, NDArray[Any] | None]) -> None:
        length, samples = made
        key = cache.key(line)
        if samples is None:  # in the cache: made ready for the mix when the mix needs it
            load = partial(_session_clip, cache, line, sample_rate)
            clip = clips[line] = Clip(key, length, load=load)
        else:
            samples.flags.writeable = False
            clip = clips[line] = Clip(key, length, samples=samples)
        found[clip.key] = clip.length
        if progress is not None:
            progress(len(clips), total)
        spend(line, clip.length)

    if missing:
        _render_missing(missing, cache, sample_rate, resolved)
    if found:
        cache.record_lengths(recipe, found)
    return clips


def _render_missing(
    lines: list[SpeechLine],
    cache: ClipStore,
    sample_rate: int,
    resolved: Callable[[SpeechLine, tuple[int, NDArray[Any] | None]], None],
) -> None:
    """Read or render each of `lines`, calling `resolved` in this thread as each is done.

    Whatever way this ends, no worker outlives it: on success they end once idle, and on an
    error or interrupt they are killed at once, so no thread waits for a line nobody wants.
    """
    from coach import synthesis

    abandoned = threading.Event()
    # One thread more than workers: a worker starts its next line while coach stores the last.
    threads = min(synthesis.worker_count() + 1, len(lines))
    executor = ThreadPoolExecutor(threads, thread_name_prefix="coach-speech")
    try:
        futures = {
            executor.submit(_fresh_clip, cache, line, sample_rate, abandoned): line
            for line in lines
        }
        for future in as_completed(futures):
            resolved(futures[future], future.result())
    except BaseException:
        abandoned.set()
        synthesis.stop_all()
        raise
    finally:
        executor.shutdown(wait=True, cancel_futures=True)
        synthesis.release_all()


def _fresh_clip(
    cache: ClipStore, line: SpeechLine, sample_rate: int, abandoned: threading.Event
) -> tuple[int, NDArray[Any] | None]:
    """Render `line` into the cache: the length its session-ready clip has, and that clip
    only if the cache could not keep the clip (nothing else needs the level worked out
    now: `coach show` never does, and the mix does it once, `_session_clip`). An engine's
    failure is said of its line."""
    from coach.clipprep import prepare_clip, prepared_length, ready_for_mix

    if abandoned.is_set():  # another line failed: do not start this one
        raise SpeechLineError(line, "not spoken: rendering was abandoned")
    try:
        samples, rate = cache.load(line)
    except (CacheError, SpeechLineError):
        raise
    except SpeechError as exc:
        raise SpeechLineError(line, str(exc)) from exc
    at_rate = resample(samples, rate, sample_rate)
    if cache.has(cache.key(line)):
        return prepared_length(at_rate, sample_rate), None
    ready = ready_for_mix(prepare_clip(at_rate, sample_rate), sample_rate)
    return len(ready), ready


def _session_clip(cache: ClipStore, line: SpeechLine, sample_rate: int) -> NDArray[Any]:
    """The clip of `line` as a session uses it: at `sample_rate`, prepared for the mix
    (silence trimmed to a pad, a short fade-in, one voiced level: coach.clipprep), kept
    ready beside the cache (coach.derived) so that a warm run prepares nothing."""
    from coach.clipprep import prepare_clip, ready_for_mix

    def prepared() -> NDArray[Any]:
        samples, rate = cache.load(line)
        return ready_for_mix(
            prepare_clip(resample(samples, rate, sample_rate), sample_rate), sample_rate
        )

    name = _session_name(cache.key(line), sample_rate)
    return derived.remembered(cache.directory, name, prepared)


def _session_name(key: str, sample_rate: int) -> str:
    from coach.clipprep import recipe

    return f"speech {key} at {sample_rate} Hz, {recipe()}"


def __getattr__(name: str) -> Any:
    # `from coach.speech import Pyttsx3Engine` keeps working now that the adapter has a
    # module of its own (coach.pyttsx3_engine), without this module importing it eagerly.
    if name == "Pyttsx3Engine":
        from coach.pyttsx3_engine import Pyttsx3Engine

        return Pyttsx3Engine
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
