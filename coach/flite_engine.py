"""The flite adapter: flite's library kept loaded per worker (coach.flite_library), or the flite
program per line for a voice it has no library for; voices slt, rms, awb, kal and kal16."""

from __future__ import annotations

import functools
import glob
import os
import shutil
import subprocess
import threading
from pathlib import Path
from typing import Any

from coach.command_engine import ExternalEngine, program_version
from coach.diagnostics import SpeechError
from coach.engine import (
    LIMIT_SECONDS,
    Voice,
    check_rate,
    excerpt,
    file_stamps,
    find_voice,
    pitch_factor,
    spoken_text,
    write_clip,
)
from coach.flite_library import CORE_LIBRARY, VOICE_LIBRARY
from coach.plan import SpeechLine

DEFAULT_VOICE = "slt"
#: Limited-domain voices (awb_time says only the time): never offered.
LIMITED = frozenset({"awb_time"})
#: Each voice's own pace in words per minute: timed against espeak-ng at 150 wpm on a coaching
#: passage (trimmed of silence). Rate R stretches durations by NATURAL_WPM / R.
NATURAL_WPM = {"slt": 183.0, "rms": 155.0, "awb": 171.0, "kal": 162.0, "kal16": 164.0}
#: Each voice's own mean pitch in Hz (int_f0_target_mean that leaves it as it is), measured.
OWN_F0 = {"slt": 170.0, "rms": 106.0, "awb": 128.0, "kal": 90.0, "kal16": 90.0}
NAMES = {
    "slt": "US English female (slt)",
    "rms": "US English male (rms)",
    "awb": "Scottish English male (awb)",
    "kal": "US English male, diphone (kal)",
    "kal16": "US English male, diphone 16 kHz (kal16)",
}
INSTALL_HINT = "install flite (Debian/Ubuntu: sudo apt-get install flite)"
#: The speech worker's driver that says lines through flite's library (coach.speech_worker).
WORKER_DRIVER = "flite"
#: Where flite's shared libraries (the engine, its lexicons and its voices) are installed.
LIBRARY_DIRS = ("/usr/lib/*", "/usr/lib", "/usr/local/lib", "/usr/lib64")

_voices: list[str] | None = None
_lock = threading.Lock()


def installed() -> bool:
    return shutil.which("flite") is not None


def _voice_names() -> list[str]:
    global _voices
    with _lock:
        if _voices is None:
            if not installed():
                raise SpeechError(f"flite is not installed; {INSTALL_HINT}")
            try:
                done = subprocess.run(["flite", "-lv"], capture_output=True, timeout=30)
            except (OSError, subprocess.TimeoutExpired) as exc:
                raise SpeechError(f"flite could not list its voices: {exc}") from None
            listed = done.stdout.decode("utf-8", "replace").partition(":")[2].split()
            _voices = [v for v in listed if v not in LIMITED]
        return list(_voices)


def library_files() -> list[str]:
    """flite's shared libraries installed in the usual places (libflite*.so*), in order."""
    found: dict[str, None] = {}
    for directory in LIBRARY_DIRS:
        for path in sorted(glob.glob(f"{directory}/libflite*.so*")):
            found.setdefault(os.path.realpath(path))
    return list(found)


@functools.cache
def has_library(voice: str) -> bool:
    """Whether flite's library and `voice`'s are installed where flite's libraries are looked
    for (nothing is loaded to tell)."""
    wanted = (CORE_LIBRARY, VOICE_LIBRARY.format(voice))
    return all(any(glob.glob(f"{d}/{name}") for d in LIBRARY_DIRS) for name in wanted)


class FliteEngine(ExternalEngine):
    """flite's library, loaded once in each speech worker (`python -m coach.speech_worker
    flite`, coach.flite_library), which says line after line (a few ms each for kal, 20-50 for
    the clustergen voices slt, rms and awb) under each line's time limit: a crash or a hang
    fails that line only. A clip is the same bytes the flite program makes, so the version
    (the cache keys) is the program's. A voice the program lists but whose library is not
    installed (a flite built otherwise) is said by the program, once a line, as before.

    Rate is words per minute like espeak-ng's (`duration_stretch`), pitch 0..100 like
    espeak-ng's (`int_f0_target_mean` on the voice's own mean pitch; 50 leaves it).
    """

    name = "flite"
    label = "flite"
    #: The languages its voices speak (coach.engines refuses a routine in another).
    languages = ("en",)
    #: Asked for its version and voices, it runs flite twice, a few ms: unremembered facts may
    #: be asked for (coach.enginememo.RememberedEngine.facts_at_hand).
    quick_to_ask = True

    def __init__(self, timeout: float = LIMIT_SECONDS) -> None:
        super().__init__(timeout)
        self._version: str | None = None

    def fingerprint(self) -> str | None:
        """A stamp of the flite program and its libraries that changes when they do, read from
        the files without running flite (coach.enginememo); None when flite is not installed.
        The voices are built into the program or are its libraries, so this covers them."""
        program = shutil.which("flite")
        if program is None:
            return None
        return file_stamps([os.path.realpath(program), *library_files()])

    def version(self) -> str:
        if self._version is None:
            if not installed():
                raise SpeechError(f"flite is not installed; {INSTALL_HINT}")
            try:
                done = subprocess.run(["flite", "--version"], capture_output=True, timeout=30)
                said = " ".join(done.stdout.decode("utf-8", "replace").split()[-4:])
            except (OSError, subprocess.TimeoutExpired):
                said = "unknown"
            self._version = f"{said}; {program_version('flite')}"
        return self._version

    def voices(self) -> list[Voice]:
        return [Voice(v, NAMES.get(v, v), ("en",)) for v in _voice_names()]

    def check_voice(self, voice: str) -> None:
        find_voice(voice, self.voices(), self.name)

    def settings(self, line: SpeechLine) -> tuple[str, str, str | None]:
        """The voice, `duration_stretch` and `int_f0_target_mean` (None: the voice's own) for
        `line`, the numbers written as the program is given them."""
        voice = find_voice(line.voice, self.voices(), self.name) if line.voice else DEFAULT_VOICE
        stretch = NATURAL_WPM.get(voice, 165.0) / check_rate(line.rate)
        mean = None
        if line.pitch is not None and line.pitch != 50 and voice in OWN_F0:
            mean = f"{OWN_F0[voice] * pitch_factor(line.pitch):.1f}"
        return voice, f"{stretch:.4f}", mean

    def command(self, line: SpeechLine, text: str, out: Path) -> tuple[list[str], bytes]:
        voice, stretch, mean = self.settings(line)
        argv = ["flite", "-voice", voice, "--setf", f"duration_stretch={stretch}"]
        if mean is not None:
            argv += ["--setf", f"int_f0_target_mean={mean}"]
        # The text as one argument after -t: never read as an option, whatever it starts with.
        return [*argv, "-o", str(out), "-t", text], b""

    def synthesize(self, line: SpeechLine, path: Path) -> None:
        """Write `line` as a WAV file at `path` (through `write_clip`), said by a flite worker,
        or by the program for a voice without a library."""
        from coach import synthesis

        voice, stretch, mean = self.settings(line)
        if not has_library(voice):
            super().synthesize(line, path)
            return
        text = spoken_text(line)
        limit = self.time_limit(text)

        def say(fresh: Path) -> None:
            message: dict[str, Any] = {"op": "say", "text": text, "voice": voice}
            message.update(stretch=stretch, f0=mean, path=str(fresh), limit=limit)
            try:
                reply = synthesis.pool(WORKER_DRIVER).request(message, limit)
            except synthesis.WorkerFailed as exc:
                raise SpeechError(
                    f"the flite engine {exc.reason} saying {excerpt(text)!r}"
                ) from None
            if "error" in reply:
                raise SpeechError(
                    f"the flite engine failed saying {excerpt(text)!r}: {reply['error']}"
                )

        write_clip(path, text, say)
