"""The festival adapter: festival kept running per worker (coach.festival_server), Debian's
cmu_us_slt_arctic_hts voice by default."""

from __future__ import annotations

import contextlib
import glob
import os
import re
import shutil
import subprocess
import threading
from pathlib import Path

from coach.atomic import new_temp
from coach.diagnostics import SpeechError
from coach.engine import (
    LIMIT_SECONDS,
    Voice,
    check_rate,
    excerpt,
    file_stamps,
    find_voice,
    spoken_text,
    time_limit,
    write_clip,
)
from coach.plan import SpeechLine

#: The clearest voice Debian packages (festvox-us-slt-hts): the default when installed.
HTS_VOICE = "cmu_us_slt_arctic_hts"
NAMES = {HTS_VOICE: "US English female, HTS (slt)"}
#: Where festival looks for voices (its `voice-path`), to tell cheaply whether one is there.
VOICE_DIRS = ("/usr/share/festival/voices", "/usr/lib/festival/voices", "/usr/local/share/festival")
#: Words per minute the voice speaks at its own pace: the HTS voice, timed against espeak-ng at
#: 150 wpm on a coaching passage (trimmed of silence), takes as long as espeak-ng at 163.
NATURAL_WPM = 163.0
INSTALL_HINT = (
    "install festival and its HTS voice (Debian/Ubuntu: sudo apt-get install festival "
    "festvox-us-slt-hts)"
)
#: festival resamples its voice (32 kHz for the HTS voice) to the session's rate itself, with a
#: proper filter: coach's own resampling is linear and would alias the sibilants.
OUTPUT_RATE = 22050
_QUERY = b"(print festival_version)\n(print (voice.list))\n"
_SYMBOL = re.compile(r"[A-Za-z0-9_]+")

_facts: tuple[str, list[str]] | None = None  # version, voice names: fixed while coach runs
_facts_lock = threading.Lock()


def installed() -> bool:
    return shutil.which("text2wave") is not None and shutil.which("festival") is not None


def has_hts_voice() -> bool:
    """Whether festival and its HTS voice are installed (no festival is started to tell)."""
    return installed() and any(glob.glob(f"{d}/*/{HTS_VOICE}") for d in VOICE_DIRS)


def _festival_facts() -> tuple[str, list[str]]:
    """Festival's version and voices, asked of festival once per process."""
    global _facts
    with _facts_lock:
        if _facts is None:
            if not installed():
                raise SpeechError(f"festival is not installed; {INSTALL_HINT}")
            try:
                done = subprocess.run(
                    ["festival", "--pipe"], input=_QUERY, capture_output=True, timeout=60
                )
            except (OSError, subprocess.TimeoutExpired) as exc:
                raise SpeechError(f"festival could not be asked for its voices: {exc}") from None
            out = done.stdout.decode("utf-8", "replace").splitlines()
            if done.returncode != 0 or len(out) < 2:
                said = " ".join(done.stderr.decode("utf-8", "replace").split())[-200:]
                raise SpeechError(f"festival could not be asked for its voices: {said}")
            version = out[0].strip().strip('"')
            names = [n for n in out[1].strip("() \n").split() if _SYMBOL.fullmatch(n)]
            _facts = (version, names)
        return _facts


class FestivalEngine:
    """festival, kept running in each worker (coach.festival_server): a line costs its
    synthesis (about 0.1-0.3 s for the HTS voice), not a festival start (0.25 s). Each line has
    `timeout` seconds plus `LIMIT_PER_CHARACTER` a character; a festival that crashes or runs
    past it fails that line only.

    Rate is words per minute like espeak-ng's (the HTS engine's speed, `-r`, for HTS voices;
    Duration_Stretch for the others). Pitch cannot be changed: festival's HTS engine ignores
    its half-tone option, so a pitch is not applied.
    """

    name = "festival"
    label = "festival"
    #: The languages its voices speak (coach.engines refuses a routine in another).
    languages = ("en",)

    def __init__(self, timeout: float = LIMIT_SECONDS) -> None:
        self.timeout = timeout

    def time_limit(self, text: str) -> float:
        return time_limit(text, self.timeout)

    def fingerprint(self) -> str | None:
        """A stamp of festival's program and voices that changes when they do, read from the
        files without starting festival (coach.enginememo); None when it is not installed."""
        programs = [shutil.which("festival"), shutil.which("text2wave")]
        if None in programs:
            return None
        files = [os.path.realpath(p) for p in programs if p is not None]
        for directory in VOICE_DIRS:
            files += sorted(glob.glob(f"{directory}/*/*"))
        return file_stamps(files)

    def version(self) -> str:
        version, names = _festival_facts()
        return f"festival {version}; voices {' '.join(names)}"

    def voices(self) -> list[Voice]:
        names = _festival_facts()[1]
        return [Voice(n, NAMES.get(n, n.replace("_", " ")), ("en",)) for n in names]

    def default_voice(self) -> str | None:
        names = _festival_facts()[1]
        return HTS_VOICE if HTS_VOICE in names else None  # else festival's own choice

    def check_voice(self, voice: str) -> None:
        find_voice(voice, self.voices(), self.name)

    def synthesize(self, line: SpeechLine, path: Path) -> None:
        """Write `line` as a WAV file at `path` (through `write_clip`), said by a festival
        worker for the line's voice, from a text file beside it."""
        from coach import synthesis
        from coach.festival_server import FestivalKind

        text = spoken_text(line)
        voice = find_voice(line.voice, self.voices(), self.name) if line.voice else None
        voice = voice or self.default_voice()
        speed = check_rate(line.rate) / NATURAL_WPM
        limit = self.time_limit(text)
        path = Path(path)

        def say(fresh: Path) -> None:
            try:
                fd, textfile = new_temp(path.parent, f"{path.name}.txt")
            except OSError as exc:
                raise SpeechError(
                    f"cannot write speech clips to {path.parent}: {exc.strerror or exc}"
                ) from exc
            try:
                with os.fdopen(fd, "wb") as f:
                    f.write(text.encode("utf-8"))  # what text2wave read on its stdin
                # Numbers written as text2wave was given them, so a clip is the same bytes.
                message = {"op": "say", "textfile": os.path.abspath(textfile), "path": str(fresh)}
                message.update(stretch=f"{1 / speed:.4f}", speed=f"{speed:.4f}")
                message.update(rate=str(OUTPUT_RATE))
                reply = synthesis.pool(FestivalKind(voice)).request(message, limit)
            except synthesis.WorkerFailed as exc:
                raise SpeechError(
                    f"the festival engine {exc.reason} saying {excerpt(text)!r}"
                ) from None
            finally:
                with contextlib.suppress(OSError):
                    textfile.unlink()
            if "error" in reply:
                raise SpeechError(
                    f"the festival engine failed saying {excerpt(text)!r}: {reply['error']}"
                )

        write_clip(path, text, say)
