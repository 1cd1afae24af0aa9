"""The speech engine interface: the adapter protocol, voices, and what every adapter shares."""

from __future__ import annotations

import contextlib
import difflib
import hashlib
import math
import numbers
import os
import wave
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol, runtime_checkable

from coach.atomic import new_temp
from coach.diagnostics import SpeechError
from coach.plan import SpeechLine

#: A line's time limit: this many seconds, plus LIMIT_PER_CHARACTER for each character. A
#: 600-character line (the language's bound) gets 140 s; every engine needs well under 10 s.
LIMIT_SECONDS = 20.0
LIMIT_PER_CHARACTER = 0.2
#: How much of a line an error message quotes.
EXCERPT_CHARACTERS = 40

#: Pitch 0..100 as a factor on the voice's own mean pitch (50 = 1.0): espeak-ng's own scale,
#: measured here (median F0 of a coaching passage at -p 0, 25, 50, 75, 100), so a pitch means
#: the same on every engine that can change pitch.
PITCH_FACTORS = ((0, 0.737), (25, 0.838), (50, 1.0), (75, 1.269), (100, 1.636))


@dataclass(frozen=True)
class Voice:
    """A voice an engine offers: `id` is what `SpeechLine.voice` names (within its engine)."""

    id: str
    name: str
    languages: tuple[str, ...] = ()


@runtime_checkable
class SpeechEngine(Protocol):
    """A text-to-speech engine adapter (made by `coach.engines.make_engine`).

    `name` and `version()` go into the clip cache key, so `version()` must change whenever the
    audio the engine produces may change. `synthesize` writes a complete WAV file at `path`
    (replacing whatever is there) or raises `SpeechError`; `check_voice` raises `SpeechError`
    (with a did-you-mean) unless the engine has the voice.
    """

    name: str

    def version(self) -> str: ...

    def voices(self) -> list[Voice]: ...

    def check_voice(self, voice: str) -> None: ...

    def synthesize(self, line: SpeechLine, path: Path) -> None: ...


def time_limit(text: str, seconds: float = LIMIT_SECONDS) -> float:
    """Seconds an engine may take to say `text` before it is killed."""
    return seconds + LIMIT_PER_CHARACTER * len(text)


def pitch_factor(pitch: int) -> float:
    """The factor on a voice's own mean pitch that `pitch` (0..100) asks for."""
    points = PITCH_FACTORS
    pitch = min(max(pitch, points[0][0]), points[-1][0])
    for (low, low_factor), (high, high_factor) in zip(points, points[1:], strict=False):
        if pitch <= high:
            return low_factor + (high_factor - low_factor) * (pitch - low) / (high - low)
    return points[-1][1]


def spoken_text(line: SpeechLine) -> str:
    """The line's text, stripped; SpeechError if there is nothing to say."""
    text = line.text.strip() if isinstance(line.text, str) else ""
    if not text:
        raise SpeechError(f"nothing to say: the speech text {line.text!r} is empty")
    return text


def check_rate(rate: object) -> int:
    """A rate in words per minute as a positive whole number; SpeechError otherwise."""
    if isinstance(rate, numbers.Real) and not isinstance(rate, bool):
        value = float(rate)
        if math.isfinite(value) and round(value) > 0:
            return round(value)
    raise SpeechError(f"speech rate must be a positive number of words per minute, not {rate!r}")


def excerpt(text: str, width: int = EXCERPT_CHARACTERS) -> str:
    """`text` on one line, cut to at most `width` characters ("..." marks a cut)."""
    flat = " ".join(text.split())
    if len(flat) <= width:
        return flat
    cut = flat[: width - 3]
    return (cut.rsplit(" ", 1)[0] if " " in cut else cut) + "..."  # whole words if it can


def check_engine_wav(path: Path, text: str) -> None:
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


def write_clip(path: Path, text: str, make: Callable[[Path], None]) -> None:
    """Have `make` write the clip of `text` into a brand-new temporary file beside `path`,
    check it, and rename it to `path`: a failed synthesis can never leave an older file
    looking like its result, nor a torn one."""
    path = Path(path)
    try:
        fd, fresh = new_temp(path.parent, path.name)
    except OSError as exc:
        raise SpeechError(
            f"cannot write speech clips to {path.parent}: {exc.strerror or exc}"
        ) from exc
    os.close(fd)
    try:
        make(Path(os.path.abspath(fresh)))
        check_engine_wav(fresh, text)
        os.replace(fresh, path)
    except BaseException:
        with contextlib.suppress(OSError):
            fresh.unlink()
        raise


def file_stamps(paths: list[str]) -> str:
    """A stamp of `paths` (path, size and modification time of each that exists) that changes
    when any of them does: how an engine tells, without starting, whether it changed
    (`fingerprint()`, coach.enginememo)."""
    stamps = []
    for path in paths:
        with contextlib.suppress(OSError):
            found = os.stat(path)
            stamps.append(f"{path} {found.st_size} {found.st_mtime_ns}")
    return hashlib.sha256("\n".join(stamps).encode()).hexdigest()


def find_voice(voice: str, voices: list[Voice], engine: str = "") -> str:
    """The id among `voices` that `voice` names (any case); SpeechError with a did-you-mean."""
    by_id = {v.id.lower(): v.id for v in voices}
    found = by_id.get(voice.strip().lower())
    if found is not None:
        return found
    raise SpeechError(unknown_voice_message(voice, voices, engine))


def unknown_voice_message(voice: str, voices: list[Voice], engine: str = "") -> str:
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
    message = f"unknown voice {voice!r}" + (f" for the {engine} engine" if engine else "")
    if suggestions:
        quoted = " or ".join(repr(s) for s in suggestions[:3])
        return f"{message}; did you mean {quoted}?"
    if not ids:
        return f"{message}: it has no voices to choose from (see coach voices)"
    examples = ", ".join(repr(i) for i in sorted(ids)[:5])
    count = f"{len(ids)} voice{'s are' if len(ids) != 1 else ' is'} installed"
    return f"{message}; {count}, for example {examples} (see coach voices)"
