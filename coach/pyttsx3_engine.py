"""The pyttsx3 adapter (espeak-ng on Linux), coach's side: voices, version, and speech made by
worker processes (coach.synthesis running coach.speech_worker), never in coach's own."""

from __future__ import annotations

import glob
import os
import sys
import threading
from pathlib import Path
from typing import Any

from coach.diagnostics import SpeechError
from coach.engine import (
    LIMIT_PER_CHARACTER,
    LIMIT_SECONDS,
    Voice,
    check_rate,
    excerpt,
    file_stamps,
    find_voice,
    spoken_text,
    write_clip,
)
from coach.plan import SpeechLine
from coach.words import ENGLISH, words_for

__all__ = ["LIMIT_PER_CHARACTER", "LIMIT_SECONDS", "Pyttsx3Engine", "excerpt"]


def _default_driver() -> str:
    if sys.platform == "darwin":
        return "nsss"
    if sys.platform == "win32":
        return "sapi5"
    return "espeak"


#: Where espeak-ng's library (the one coach.espeak and pyttsx3 load by its soname) and its
#: data (voices and languages) are installed.
_LIB_DIRS = ("/usr/lib/*", "/usr/lib", "/usr/local/lib", "/usr/lib64")
ESPEAK_LIBRARIES = tuple(f"{d}/libespeak-ng.so.1" for d in _LIB_DIRS)
ESPEAK_DATA = (*(f"{d}/espeak-ng-data" for d in _LIB_DIRS), "/usr/share/espeak-ng-data")
ESPEAK_DATA += ("/usr/local/share/espeak-ng-data",)

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

    #: Asking for its version and voices starts nothing (espeak-ng's library answers, about
    #: 60 ms): unremembered facts may be asked for (coach.enginememo).
    quick_to_ask = True

    def fingerprint(self) -> str | None:
        """A stamp of pyttsx3 and espeak-ng's library and data that changes when they do,
        read from the files without importing pyttsx3 or loading espeak-ng
        (coach.enginememo); None (ask the engine) for another driver, or when either is not
        found where it is looked for."""
        if self.driver != "espeak":
            return None
        from importlib.util import find_spec

        spec = find_spec("pyttsx3")  # a top-level package: found, not imported
        libraries = sorted(p for pattern in ESPEAK_LIBRARIES for p in glob.glob(pattern))
        if spec is None or spec.origin is None or not libraries:
            return None
        package = os.path.dirname(spec.origin)
        files = [spec.origin, *sorted(glob.glob(f"{package}-*.dist-info/METADATA"))]
        files += sorted({os.path.realpath(p) for p in libraries})
        for data in sorted(d for pattern in ESPEAK_DATA for d in glob.glob(pattern)):
            files.append(data)
            # A voice added or removed changes the directory that lists it.
            for part in ("voices", "lang"):
                files += sorted(root for root, _, _ in os.walk(f"{data}/{part}"))
        return file_stamps(files)

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

    def resolve_voice(self, voice: str | None, language: str = ENGLISH) -> str | None:
        """The engine's id for `voice`; SpeechError with a did-you-mean when there is no such
        voice. With no voice, English is the engine's default voice and another language the
        voice that speaks it (`language_voice`)."""
        if voice is not None:
            return find_voice(voice, self.voices(), "pyttsx3")
        return None if language == ENGLISH else self.language_voice(language)

    def language_voice(self, language: str) -> str:
        """The id of the voice that speaks `language` (a code: "de"): the one for exactly that
        code, else its home country's ("fr-fr"), else the one named for it (espeak-ng's
        "roa/fr"), else any of its regions; SpeechError when none speaks it."""
        voices = self.voices()
        preferences = (
            lambda v: language in v.languages,
            lambda v: f"{language}-{language}" in v.languages,
            lambda v: v.id.lower().rsplit("/", 1)[-1] == language,
            lambda v: any(code.startswith(f"{language}-") for code in v.languages),
        )
        for wanted in preferences:
            found = next((v.id for v in voices if wanted(v)), None)
            if found is not None:
                return found
        name = words_for(language).name
        raise SpeechError(
            f"the pyttsx3 engine has no {name} voice (language: {language}); "
            "install one for its speech library (espeak-ng has them all), or choose a voice "
            "with --voice"
        )

    def check_voice(self, voice: str) -> None:
        """SpeechError with a did-you-mean unless the engine has `voice`."""
        self.resolve_voice(voice)

    def time_limit(self, text: str) -> float:
        """Seconds a worker may take to say `text` before it is killed."""
        return self.timeout + LIMIT_PER_CHARACTER * len(text)

    def synthesize(self, line: SpeechLine, path: Path) -> None:
        """Write `line` as a WAV file at `path`, through a worker process (which writes a
        brand-new temporary file beside `path`, checked and then renamed: `write_clip`)."""
        text = spoken_text(line)
        rate = check_rate(line.rate)
        voice = self.resolve_voice(line.voice, line.language)
        limit = self.time_limit(text)

        def say(fresh: Path) -> None:
            message: dict[str, Any] = {"op": "say", "text": text, "voice": voice, "rate": rate}
            message.update(pitch=line.pitch, path=str(fresh), limit=limit)
            self._request(message, text)

        write_clip(path, text, say)

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
