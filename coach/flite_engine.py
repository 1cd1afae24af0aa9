"""The flite adapter: the flite program per line, voices slt, rms, awb, kal and kal16."""

from __future__ import annotations

import glob
import os
import shutil
import subprocess
import threading
from pathlib import Path

from coach.command_engine import ExternalEngine, program_version
from coach.diagnostics import SpeechError
from coach.engine import (
    LIMIT_SECONDS,
    Voice,
    check_rate,
    file_stamps,
    find_voice,
    pitch_factor,
)
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


class FliteEngine(ExternalEngine):
    """flite, one process a line (about 0.06 s each).

    Rate is words per minute like espeak-ng's (`duration_stretch`), pitch 0..100 like
    espeak-ng's (`int_f0_target_mean` on the voice's own mean pitch; 50 leaves it).
    """

    name = "flite"
    label = "flite"
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

    def command(self, line: SpeechLine, text: str, out: Path) -> tuple[list[str], bytes]:
        voice = find_voice(line.voice, self.voices(), self.name) if line.voice else DEFAULT_VOICE
        stretch = NATURAL_WPM.get(voice, 165.0) / check_rate(line.rate)
        argv = ["flite", "-voice", voice, "--setf", f"duration_stretch={stretch:.4f}"]
        if line.pitch is not None and line.pitch != 50 and voice in OWN_F0:
            mean = OWN_F0[voice] * pitch_factor(line.pitch)
            argv += ["--setf", f"int_f0_target_mean={mean:.1f}"]
        # The text as one argument after -t: never read as an option, whatever it starts with.
        return [*argv, "-o", str(out), "-t", text], b""
