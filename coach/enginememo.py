"""Engine facts kept beside the clip cache: an engine's version and voices without starting it.

The clip cache's keys hold the engine's version, and a routine's voices are checked against
the engine's list; asking festival for them starts it (0.25 s and 300 MB each run), flite
runs its program twice, pyttsx3 reads its metadata and loads espeak-ng (60 ms). An
engine that can tell cheaply whether it changed (`fingerprint()`: its program's and voices'
file stamps, read without starting anything) has its answers remembered in
`FACTS_FILE` in the cache directory under that fingerprint, and asked again only when the
fingerprint changes: an upgrade or a new voice.
"""

from __future__ import annotations

import contextlib
import json
from pathlib import Path
from typing import Any

from coach.atomic import clear_foreign, read_bounded, write_atomic
from coach.engine import SpeechEngine, Voice, find_voice
from coach.plan import SpeechLine

FACTS_FILE = "engine-facts.json"
FACTS_MAX_BYTES = 1024 * 1024  # a few hundred voices' worth; anything bigger is not ours


class RememberedEngine:
    """`engine`, with its version and voices remembered in `directory` (see the module)."""

    def __init__(self, engine: SpeechEngine, directory: Path) -> None:
        self.inner = engine
        self.name = engine.name
        self.directory = Path(directory)
        self._facts: tuple[str, list[Voice]] | None = None

    def version(self) -> str:
        return self._known()[0]

    def voices(self) -> list[Voice]:
        return list(self._known()[1])

    def check_voice(self, voice: str) -> None:
        if callable(getattr(self.inner, "fingerprint", None)):  # its voices are all it has
            find_voice(voice, self.voices(), self.name)
        else:
            self.inner.check_voice(voice)

    def synthesize(self, line: SpeechLine, path: Path) -> None:
        self.inner.synthesize(line, path)

    def __getattr__(self, name: str) -> Any:  # the engine's own extras (label, ...)
        return getattr(self.inner, name)

    def facts_at_hand(self) -> bool:
        """Whether version and voices come without starting a slow engine: remembered under
        its fingerprint, or an engine quick to ask (`quick_to_ask`: a library or a program run
        for a few ms) or without a fingerprint. Nothing is written: this is for readers."""
        if self._facts is not None:
            return True
        fingerprint = getattr(self.inner, "fingerprint", None)
        if not callable(fingerprint):
            return True
        stamp = fingerprint()
        self._facts = self._recall(stamp) if stamp is not None else None  # read once
        if self._facts is None and getattr(self.inner, "quick_to_ask", False):
            self._facts = (self.inner.version(), self.inner.voices())  # asked, not remembered
        return self._facts is not None

    def _known(self) -> tuple[str, list[Voice]]:
        if self._facts is None:
            fingerprint = getattr(self.inner, "fingerprint", None)
            stamp = fingerprint() if callable(fingerprint) else None
            found = self._recall(stamp) if stamp is not None else None
            if found is None:
                found = (self.inner.version(), self.inner.voices())
                if stamp is not None:
                    self._remember(stamp, *found)
            self._facts = found
        return self._facts

    def _recall(self, stamp: str) -> tuple[str, list[Voice]] | None:
        """The facts stored for this engine under `stamp`; None if absent or not sound."""
        try:
            data = read_bounded(self.directory / FACTS_FILE, FACTS_MAX_BYTES)
            entry = json.loads(data)[self.name] if data is not None else None
            if not isinstance(entry, dict) or entry.get("fingerprint") != stamp:
                return None
            version, listed = entry["version"], entry["voices"]
            voices = [Voice(str(i), str(n), tuple(map(str, langs))) for i, n, langs in listed]
            return (version, voices) if isinstance(version, str) else None
        except (OSError, ValueError, KeyError, TypeError):
            return None

    def _remember(self, stamp: str, version: str, voices: list[Voice]) -> None:
        """Store the facts (best effort: a cache that cannot be written goes without)."""
        path = self.directory / FACTS_FILE
        record: dict[str, Any] = {}
        with contextlib.suppress(OSError, ValueError):
            data = read_bounded(path, FACTS_MAX_BYTES)
            loaded = json.loads(data) if data is not None else {}
            record = loaded if isinstance(loaded, dict) else {}
        record[self.name] = {
            "fingerprint": stamp,
            "version": version,
            "voices": [[v.id, v.name, list(v.languages)] for v in voices],
        }
        with contextlib.suppress(OSError):
            self.directory.mkdir(parents=True, exist_ok=True)
            clear_foreign(path)  # a FIFO or a link in its place is not ours: replaced
            data = json.dumps(record, separators=(",", ":")).encode()
            write_atomic(path, data, mode=0o644, durable=False)
