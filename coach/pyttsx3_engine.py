"""The pyttsx3 adapter (espeak-ng on Linux), coach's side: voices, version, and speech made by
worker processes (coach.synthesis running coach.speech_worker), never in coach's own."""

from __future__ import annotations

import contextlib
import difflib
import math
import numbers
import os
import sys
import threading
import wave
from pathlib import Path
from typing import Any

from coach.atomic import new_temp
from coach.diagnostics import SpeechError
from coach.plan import SpeechLine
from coach.speech import Voice

#: A line's time limit: this many seconds, plus LIMIT_PER_CHARACTER for each character. A
#: 600-character line (the language's bound) gets 140 s; espeak-ng needs well under 1 s.
LIMIT_SECONDS = 20.0
LIMIT_PER_CHARACTER = 0.2
#: How much of a line an error message quotes.
EXCERPT_CHARACTERS = 40


def _default_driver() -> str:
    if sys.platform == "darwin":
        return "nsss"
    if sys.platform == "win32":
        return "sapi5"
    return "espeak"


_voices: dict[str, list[Voice]] = {}  # by driver: the list cannot change while coach runs
_voices_lock = threading.Lock()


class Pyttsx3Engine:
    """The pyttsx3 adapter (espeak-ng on Linux). Speech is made only in worker processes
    (`coach.synthesis`, running `coach.speech_worker`), never in coach's own, so neither a
    crash nor a hang of the engine can take coach down; each line has `timeout` seconds plus
    `LIMIT_PER_CHARACTER` a character. espeak-ng's version and voices are read in process
    through its C library (`coach.espeak`), which synthesizes nothing and needs no pyttsx3."""

    def __init__(self, driver: str | None = None, timeout: float = LIMIT_SECONDS) -> None:
        self.driver = driver or _default_driver()
        self.name = f"pyttsx3-{self.driver}"
        self.timeout = timeout
        self._version: str | None = None

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
                from coach import espeak

                library = f"espeak-ng {espeak.version()}"
            else:
                import platform

                library = f"{self.driver} {platform.platform()}"
            self._version = f"pyttsx3 {pyttsx3_version}; {library}"
        return self._version

    def voices(self) -> list[Voice]:
        with _voices_lock:
            found = _voices.get(self.driver)
            if found is None:
                found = _voices[self.driver] = self._list_voices()
            return list(found)

    def _list_voices(self) -> list[Voice]:
        listed: list[Any] | None = None
        if self.driver == "espeak":
            from coach import espeak

            listed = espeak.voices()
        if listed is None:  # another driver: only pyttsx3 knows, so a worker asks it
            from coach import synthesis

            reply = self._request({"op": "voices", "limit": synthesis.START_LIMIT}, "")
            listed = reply.get("voices", [])
        return [Voice(str(i), str(name), tuple(str(x) for x in langs)) for i, name, langs in listed]

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

    def time_limit(self, text: str) -> float:
        """Seconds a worker may take to say `text` before it is killed."""
        return self.timeout + LIMIT_PER_CHARACTER * len(text)

    def synthesize(self, line: SpeechLine, path: Path) -> None:
        """Write `line` as a WAV file at `path`, through a worker process.

        The worker writes to a brand-new temporary file beside `path` (so a failed synthesis
        cannot leave an older file looking like a result), which is checked and then renamed
        to `path`.
        """
        text = line.text.strip() if isinstance(line.text, str) else ""
        if not text:
            raise SpeechError(f"nothing to say: the speech text {line.text!r} is empty")
        rate = _check_rate(line.rate)
        path = Path(path)
        directory = path.parent
        voice = self.resolve_voice(line.voice)
        try:
            fd, fresh = new_temp(directory, path.name)
        except OSError as exc:
            raise SpeechError(
                f"cannot write speech clips to {directory}: {exc.strerror or exc}"
            ) from exc
        os.close(fd)
        try:
            limit = self.time_limit(text)
            message: dict[str, Any] = {"op": "say", "text": text, "voice": voice, "rate": rate}
            message.update(pitch=line.pitch, path=os.path.abspath(fresh), limit=limit)
            self._request(message, text)
            _check_engine_wav(fresh, text)
            os.replace(fresh, path)
        finally:
            with contextlib.suppress(OSError):
                fresh.unlink()

    def _request(self, message: dict[str, Any], text: str) -> dict[str, Any]:
        from coach import synthesis

        try:
            reply = synthesis.pool(self.driver).request(message, float(message["limit"]))
        except synthesis.WorkerFailed as exc:
            saying = f" saying {excerpt(text)!r}" if text else ""
            raise SpeechError(f"the speech engine {exc.reason}{saying}") from None
        if "error" in reply:
            raise SpeechError(str(reply["error"]))
        return reply


def excerpt(text: str, width: int = EXCERPT_CHARACTERS) -> str:
    """`text` on one line, cut to at most `width` characters ("..." marks a cut)."""
    flat = " ".join(text.split())
    if len(flat) <= width:
        return flat
    cut = flat[: width - 3]
    return (cut.rsplit(" ", 1)[0] if " " in cut else cut) + "..."  # whole words if it can


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
