"""Shared test helpers: compile fixture routines and lay them out with fake clip lengths."""

from __future__ import annotations

import json
import os
import pickle
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from coach import parser
from coach.compiler import Overrides, compile_routine
from coach.layout import lay_out
from coach.plan import ClipInfo, Plan, SpeechLine
from coach.speech import SpeechEngine, Voice
from coach.timeline import Timeline

FIXTURES = Path(__file__).parent / "fixtures"
RATE = 22050
# Fake speech for the pure stages: a tenth of a second per character.
SAMPLES_PER_CHAR = RATE // 10
SOUND_LENGTHS = {"click": 441, "click-accent": 661, "chime": 33075, "bell": 66150, "tick": 220}


def compile_fixture(name: str, overrides: Overrides | None = None) -> Plan:
    path = FIXTURES / "compile" / name
    routine, diagnostics = parser.parse(path.read_text(), str(path))
    assert not [d for d in diagnostics if d.is_error], [d.render() for d in diagnostics]
    return compile_routine(routine, overrides)


def fake_clips(plan: Plan) -> dict:
    return {
        line: ClipInfo(f"key-{line.text}", len(line.text) * SAMPLES_PER_CHAR)
        for line in plan.speech_lines()
    }


def lay_out_fixture(name: str, overrides: Overrides | None = None) -> Timeline:
    plan = compile_fixture(name, overrides)
    return lay_out(plan, RATE, fake_clips(plan), SOUND_LENGTHS)


ROOT = Path(__file__).resolve().parent.parent
CAPTURE_CONF = Path(__file__).resolve().parent / "alsa-capture.conf"


def run_coach(
    *args: str,
    env: dict[str, str] | None = None,
    cache: Path | None = None,
    cwd: Path | None = None,
    timeout: float = 300,
    stdin: int | None = subprocess.DEVNULL,
) -> subprocess.CompletedProcess[str]:
    """Run `python -m coach ARGS` as a user would, with an optional clip cache and env.

    Standard input is /dev/null unless given, so no run ever reads the developer's terminal.
    """
    environment = {**os.environ, **(env or {})}
    if cache is not None:
        environment["COACH_CACHE_DIR"] = str(cache)
    return subprocess.run(
        [sys.executable, "-m", "coach", *args],
        capture_output=True,
        text=True,
        env=environment,
        cwd=cwd,
        timeout=timeout,
        stdin=stdin,
    )


# A sink paced in real time (times SPEED): ALSA's `file` plugin pipes the device's audio
# into this, which shrinks the pipe to one page so the device cannot run far ahead, and
# passes the bytes on no faster than a sound card would play them.
PACER = r"""
import fcntl, signal, sys, time
signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C in a test's terminal is for coach
speed = float(sys.argv[2])
try:
    fcntl.fcntl(0, 1031, 4096)  # F_SETPIPE_SZ
except OSError:
    pass
out = open(sys.argv[1], "ab")
began, count = time.monotonic(), 0
while data := sys.stdin.buffer.read1(1024):
    out.write(data)
    out.flush()
    count += len(data)
    ahead = count / (44100 * speed) - (time.monotonic() - began)
    if ahead > 0:
        time.sleep(ahead)
out.close()
"""


def paced_conf(directory: Path, speed: float = 1.0) -> Path:
    """An ALSA configuration like tests/alsa-capture.conf (COACH_ALSA_CAPTURE, and
    COACH_ALSA_OPENS counting opens) whose device plays at `speed` times real time."""
    pacer = directory / "pacer.py"
    pacer.write_text(PACER)
    conf = directory / f"paced-{speed:g}.conf"

    def env(name: str) -> str:
        return f'{{ @func getenv vars [ {name} ] default "/dev/null" }}'

    conf.write_text(
        'pcm.!default {\n type file\n slave.pcm { type null }\n format "raw"\n file {\n'
        "  @func concat\n  strings [\n"
        f'   "|echo open >> \'" {env("COACH_ALSA_OPENS")}\n'
        f"   \"'; exec {sys.executable} -S {pacer} '\" {env('COACH_ALSA_CAPTURE')}\n"
        f'   "\' {speed:g}"\n  ]\n }}\n}}\n'
    )
    return conf


@dataclass
class Captured:
    """What a child process played: its last stdout line as JSON, its stderr, the bytes
    the device received and how many times the device was opened."""

    report: dict
    stderr: str
    audio: bytes
    opens: int


def play_captured(
    tmp_path: Path, child: str, job: object, alsa_config: Path = CAPTURE_CONF
) -> Captured:
    """Run player code `child` in a fresh process (ALSA reads its config once per process)
    with the device captured to a file; `job` is pickled to the path in its sys.argv[1]."""
    job_path = tmp_path / "job.pickle"
    with job_path.open("wb") as f:
        pickle.dump(job, f)
    capture, opens = tmp_path / "capture.raw", tmp_path / "opens.txt"
    capture.unlink(missing_ok=True)
    opens.unlink(missing_ok=True)
    done = subprocess.run(
        [sys.executable, "-c", child, str(job_path)],
        env={**device_env(capture, opens, alsa_config), "PYTHONPATH": str(ROOT)},
        capture_output=True,
        text=True,
        timeout=120,
        cwd=tmp_path,
    )
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout.strip().splitlines()[-1])
    return Captured(report, done.stderr, read_or_empty(capture), count_opens(opens))


def device_env(capture: Path, opens: Path, alsa_config: Path = CAPTURE_CONF) -> dict[str, str]:
    """The environment that points ALSA at a capture configuration."""
    return {
        **os.environ,
        "ALSA_CONFIG_PATH": str(alsa_config),
        "COACH_ALSA_CAPTURE": str(capture),
        "COACH_ALSA_OPENS": str(opens),
    }


def read_or_empty(path: Path) -> bytes:
    return path.read_bytes() if path.exists() else b""


def count_opens(path: Path) -> int:
    return len(path.read_text().splitlines()) if path.exists() else 0


def fade_down(samples: np.ndarray) -> np.ndarray:
    """What a pause's fade makes of `samples`: linear from full to silence after the last."""
    gain = (len(samples) - np.arange(len(samples))) / len(samples)
    return np.rint(samples * gain).astype(np.int16)


def fade_up(samples: np.ndarray) -> np.ndarray:
    """What a resume's fade makes of `samples`: linear from silence up to full."""
    gain = (np.arange(len(samples)) + 1) / len(samples)
    return np.rint(samples * gain).astype(np.int16)


def first_sound(samples: np.ndarray) -> int:
    nonzero = np.flatnonzero(samples)
    return int(nonzero[0]) if len(nonzero) else len(samples)


def assert_played(captured: bytes | np.ndarray, *pieces: np.ndarray) -> None:
    """The device received `pieces` in order, with only silence before, between and after
    them (a backend primes the device with zeros; a pause is silence).

    The leading silence of the first piece may arrive cut short: on a loaded machine ALSA
    can drop the first period at a stream's start (seen once in 1,400 tests, under a full
    run in a Debian 13 chroot). Everything from the first sound on must still be exact."""
    audio = np.frombuffer(captured, "<i2") if isinstance(captured, bytes) else captured
    at = 0
    for number, piece in enumerate(pieces):
        start = at + first_sound(audio[at:]) - first_sound(piece)
        if number == 0 and start < 0:  # leading silence dropped at the start: all zeros
            piece, start = piece[-start:], 0
        assert start >= at, f"piece {number}: sound came {at - start} samples early"
        assert not audio[at:start].any(), f"piece {number}: sound before it"
        got = audio[start : start + len(piece)]
        assert len(got) == len(piece), f"piece {number}: {len(piece) - len(got)} samples short"
        if not np.array_equal(got, piece):
            wrong = int(np.flatnonzero(got != piece)[0])
            raise AssertionError(f"piece {number} differs from sample {wrong} on")
        at = start + len(piece)
    assert not audio[at:].any(), f"{np.count_nonzero(audio[at:])} sounding samples after the end"


class FakeStream:
    """An output stream without a device, for tests of the wiring around it: a thread
    pulls buffers from `fill` at `speed` times real time and keeps them."""

    latency = 0.0
    channels = 1  # a mono device: the player opens the real one for a session in stereo

    def __init__(self, speed: float = 50.0, buffer: int = 512) -> None:
        self.speed, self.buffer = speed, buffer
        self.buffers: list[np.ndarray] = []
        self.closed = threading.Event()
        self._thread: threading.Thread | None = None

    def play(self, fill, finished) -> None:
        def pull() -> None:
            while not self.closed.is_set():
                samples = np.zeros(self.buffer, dtype=np.int16)
                more = fill(samples)
                self.buffers.append(samples)
                if not more:
                    break
                time.sleep(self.buffer / RATE / self.speed)
            finished()

        self._thread = threading.Thread(target=pull, daemon=True)
        self._thread.start()

    def failure(self) -> BaseException | None:
        return None

    def close(self) -> None:
        self.closed.set()
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(5)

    def audio(self) -> np.ndarray:
        return np.concatenate(self.buffers) if self.buffers else np.zeros(0, np.int16)


class CountingEngine:
    """The real engine, counting the clips it is asked to synthesize; the version can be
    overridden to stand for an engine upgrade."""

    def __init__(self, inner: SpeechEngine, version: str | None = None) -> None:
        self.inner = inner
        self.name = inner.name
        self._version = version
        self.calls: list[SpeechLine] = []

    def version(self) -> str:
        return self._version if self._version is not None else self.inner.version()

    def voices(self) -> list[Voice]:
        return self.inner.voices()

    def synthesize(self, line: SpeechLine, path: Path) -> None:
        self.calls.append(line)
        self.inner.synthesize(line, path)


def listening_conf(directory: Path, infile: Path | None, speed: float = 1.0) -> Path:
    """An ALSA configuration whose default device plays like `paced_conf` and records from
    `infile` (raw int16 at whatever rate the reader asks for; ALSA's `file` plugin serves it,
    not paced: it arrives as fast as it is read). With `infile` None the device cannot
    record at all: a machine without a microphone."""
    played = paced_conf(directory, speed).read_text()
    playback = played[played.index("{") + 1 : played.rindex("}")]
    capture = (
        f' capture.pcm {{\n  type file\n  slave.pcm {{ type null }}\n  file "/dev/null"\n'
        f'  infile "{infile}"\n  format "raw"\n }}\n'
        if infile is not None
        else ""
    )
    conf = directory / ("listening.conf" if infile is not None else "no-microphone.conf")
    conf.write_text(f"pcm.!default {{\n type asym\n playback.pcm {{{playback}}}\n{capture}}}\n")
    return conf


def decode_pcm(path: Path, rate: int) -> np.ndarray:
    """A sound file's audio as mono int16 at `rate`, decoded and resampled by ffmpeg."""
    raw = subprocess.run(
        ["ffmpeg", "-v", "error", "-i", str(path), "-f", "s16le", "-ac", "1"]
        + ["-ar", str(rate), "-"],
        capture_output=True,
        check=True,
    ).stdout
    return np.frombuffer(raw, "<i2").copy()


def gone(pid: int) -> bool:
    """Whether no process `pid` is left (a zombie not yet reaped still counts as there)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    return False
