"""flite said through its library in speech workers (coach.flite_library): the same bytes as the
flite program, no program started per line, nothing of flite in coach's own process, and a
crash, a hang or a voice it cannot load fails that line only. Real flite throughout; faults
are made through the worker's test hook (`COACH_SPEECH_WORKER_FAULT`, "KIND:TEXT")."""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from coach import flite_engine, synthesis
from coach.cache import ClipCache
from coach.diagnostics import SpeechError
from coach.flite_engine import FliteEngine, has_library
from coach.plan import SpeechLine
from coach.speech import SpeechLineError, render_speech
from coach.speech_worker import FAULT_ENV

pytestmark = pytest.mark.skipif(not flite_engine.installed(), reason="flite is not installed")
RATE = 22050


@pytest.fixture(autouse=True)
def no_workers_before_or_after() -> Iterator[None]:
    # Workers read the fault hook when they start: each test starts its own.
    synthesis.stop_all()
    yield
    synthesis.stop_all()
    has_library.cache_clear()


@pytest.fixture
def logged(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A log of every start of the flite program (a wrapper on PATH runs the real one)."""
    bin_dir, log = tmp_path / "bin", tmp_path / "starts.log"
    bin_dir.mkdir()
    wrapper = bin_dir / "flite"
    wrapper.write_text(
        f'#!/bin/sh\necho "flite $1" >> "{log}"\nexec {shutil.which("flite")} "$@"\n'
    )
    wrapper.chmod(0o755)
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    return log


def said_by_program(engine: FliteEngine, line: SpeechLine, out: Path) -> bytes:
    argv, _ = engine.command(line, line.text, out)
    subprocess.run(argv, check=True, capture_output=True, timeout=60)
    return out.read_bytes()


def test_a_clip_is_the_same_bytes_the_flite_program_makes(tmp_path: Path) -> None:
    engine = FliteEngine()
    voices = [v.id for v in engine.voices() if has_library(v.id)]
    assert {"slt", "rms", "awb", "kal"} <= set(voices)
    text = "Breathe in slowly, then roll down: 3 more times."
    # one worker says them all in turn (voices, rates and pitches mixed): nothing a line set
    # lingers into the next
    for voice in voices:
        for rate, pitch in ((150, None), (190, 85), (120, 20), (150, 50)):
            line = SpeechLine(text, voice, rate, pitch)
            engine.synthesize(line, tmp_path / "worker.wav")
            ours = (tmp_path / "worker.wav").read_bytes()
            assert ours == said_by_program(engine, line, tmp_path / "program.wav"), line


def test_lines_are_said_by_flite_workers_not_by_the_program(logged: Path, tmp_path: Path):
    cache = ClipCache(tmp_path / "cache", FliteEngine())
    lines = [SpeechLine(f"Rep {n} of six.", None, 150) for n in range(1, 7)]
    seen: list[int] = []
    render_speech(lines, cache, RATE, lambda done, _total: seen.append(done))
    assert seen == [1, 2, 3, 4, 5, 6]
    assert set(logged.read_text().splitlines()) <= {"flite --version", "flite -lv"}
    assert "libflite" not in Path("/proc/self/maps").read_text()  # only in the workers
    assert synthesis.worker_pids() == []  # ended once rendering was done


def test_workers_are_speech_worker_processes_of_the_flite_driver(tmp_path: Path) -> None:
    engine = FliteEngine()
    engine.synthesize(SpeechLine("Hold.", None, 150), tmp_path / "a.wav")
    (pid,) = synthesis.worker_pids()
    argv = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    assert argv[1:4] == [b"-m", b"coach.speech_worker", b"flite"]
    assert "libflite_cmu_us_slt" in Path(f"/proc/{pid}/maps").read_text()


@pytest.mark.parametrize("kind", ["segv", "kill"])
def test_a_crash_fails_that_line_only(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, kind: str
) -> None:
    monkeypatch.setenv(FAULT_ENV, f"{kind}:Lie down on the balls.")
    cache = ClipCache(tmp_path / "cache", FliteEngine())
    doomed = SpeechLine("Lie down on the balls.", None, 150)
    with pytest.raises(SpeechLineError) as caught:
        render_speech([SpeechLine("Breathe in.", None, 150), doomed], cache, RATE)
    assert caught.value.line == doomed
    signal_name = {"segv": "SIGSEGV", "kill": "SIGKILL"}[kind]
    assert f"the flite engine crashed (signal {signal_name}) saying" in str(caught.value)
    assert synthesis.worker_pids() == []
    # the same process goes on saying other lines
    render_speech([SpeechLine("Breathe out.", None, 150)], cache, RATE)


def test_a_hang_is_killed_at_the_line_s_time_limit(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(FAULT_ENV, "hang:Stay.")
    cache = ClipCache(tmp_path / "cache", FliteEngine(timeout=1.0))
    with pytest.raises(SpeechLineError, match=r"the flite engine took longer than its limit"):
        render_speech([SpeechLine("Stay.", None, 150)], cache, RATE)
    assert synthesis.worker_pids() == []
    # neither a clip nor a temporary file
    assert [p.name for p in tmp_path.rglob("*") if p.is_file() and p.suffix != ".json"] == []


def test_a_voice_the_library_cannot_load_is_a_clear_error_from_the_worker(tmp_path: Path):
    message = {"op": "say", "text": "Hold.", "voice": "nosuch", "stretch": "1.0000", "f0": None}
    message.update(path=str(tmp_path / "x.wav"), limit=20.0)
    reply = synthesis.pool(flite_engine.WORKER_DRIVER).request(message, 20.0)
    assert reply["error"].startswith("flite's voice 'nosuch' could not be loaded")
    good = {**message, "voice": "kal"}
    assert synthesis.pool(flite_engine.WORKER_DRIVER).request(good, 20.0) == {"ok": True}


def test_a_voice_without_a_library_is_said_by_the_program(
    logged: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    engine = FliteEngine()
    line = SpeechLine("Roll slowly.", "rms", 170, 70)
    engine.synthesize(line, tmp_path / "worker.wav")
    synthesis.stop_all()
    # flite's libraries looked for where there are none: as with a flite built without them
    monkeypatch.setattr(flite_engine, "LIBRARY_DIRS", (str(tmp_path / "nowhere"),))
    has_library.cache_clear()
    logged.unlink(missing_ok=True)
    engine.synthesize(line, tmp_path / "program.wav")
    assert logged.read_text().split() == ["flite", "-voice"]
    assert synthesis.worker_pids() == []
    assert (tmp_path / "program.wav").read_bytes() == (tmp_path / "worker.wav").read_bytes()


def test_an_empty_line_is_refused_before_any_worker(tmp_path: Path) -> None:
    with pytest.raises(SpeechError, match="nothing to say"):
        FliteEngine().synthesize(SpeechLine("   ", None, 150), tmp_path / "x.wav")
    assert synthesis.worker_pids() == []
