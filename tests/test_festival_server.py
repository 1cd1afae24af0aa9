"""festival kept running as a speech worker, on the real festival and its HTS voice: clips are
the bytes text2wave makes, no festival runs per line, and a crash, a hang or an error of
festival fails that line only."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from helpers import gone

from coach import synthesis
from coach.atomic import is_temp_name
from coach.cache import ClipCache
from coach.diagnostics import SpeechError
from coach.festival_engine import (
    HTS_VOICE,
    NATURAL_WPM,
    OUTPUT_RATE,
    FestivalEngine,
    has_hts_voice,
)
from coach.festival_server import FestivalKind
from coach.plan import SpeechLine
from coach.speech import render_speech

pytestmark = pytest.mark.skipif(not has_hts_voice(), reason="festival's HTS voice missing")
RATE = 22050


@pytest.fixture(autouse=True)
def no_workers_before_or_after() -> Iterator[None]:
    synthesis.stop_all()
    yield
    synthesis.stop_all()


def text2wave(text: str, rate: int, out: Path) -> bytes:
    """The clip text2wave makes, as coach ran it before festival was kept running."""
    speed = rate / NATURAL_WPM
    argv = ["text2wave", "-eval", f"(voice_{HTS_VOICE})"]
    argv += ["-eval", f"(Parameter.set 'Duration_Stretch {1 / speed:.4f})"]
    argv += [
        "-eval",
        f'(set! hts_engine_params (append hts_engine_params (list (list "-r" {speed:.4f}))))',
    ]  # noqa: E501
    argv += ["-F", str(OUTPUT_RATE), "-o", str(out)]
    subprocess.run(argv, input=text.encode("utf-8"), check=True, timeout=60)
    return out.read_bytes()


def festival_pids() -> list[int]:
    return [pid for pid in synthesis.worker_pids() if b"festival" in cmdline(pid)]


def cmdline(pid: int) -> bytes:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return b""


def dead(pid: int) -> bool:
    """Gone, or a zombie waiting to be reaped (what its parent can then learn at once)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()[0]
    except (OSError, IndexError):
        return True
    return state in ("Z", "X")


def test_a_kept_festival_says_each_line_as_text2wave_did(tmp_path: Path) -> None:
    engine = FestivalEngine()
    lines = [
        SpeechLine("Breathe in slowly, then out.", None, 150),
        SpeechLine('Say "hold" \\ and rest; roll (gently).', None, 120),  # Scheme's specials
        SpeechLine("Rep 3 of 12. Keep going! Now the other side.", None, 200),
    ]
    for n, line in enumerate(lines):  # one after another, in the same festival
        engine.synthesize(line, tmp_path / f"kept{n}.wav")
    assert len(festival_pids()) == 1
    for n, line in enumerate(lines):
        made = (tmp_path / f"kept{n}.wav").read_bytes()
        assert made == text2wave(line.text, line.rate, tmp_path / f"t2w{n}.wav"), line.text


def test_rendering_starts_at_most_one_festival_per_core_and_ends_them(tmp_path: Path) -> None:
    cache = ClipCache(tmp_path / "cache", FestivalEngine())
    seen: set[int] = set()
    lines = [SpeechLine(f"Side {n}, hold.", None, 150) for n in range(6)]
    render_speech(lines, cache, RATE, lambda done, total: seen.update(festival_pids()))
    assert 1 <= len(seen) <= synthesis.worker_count()
    assert synthesis.worker_pids() == [] and all(gone(pid) for pid in seen)
    assert not [p.name for p in cache.directory.iterdir() if is_temp_name(p.name)]


def test_paths_with_quotes_and_backslashes_reach_festival_whole(tmp_path: Path) -> None:
    directory = tmp_path / 'odd "dir" \\ é'
    directory.mkdir()
    FestivalEngine().synthesize(SpeechLine("Relax.", None, 150), directory / "x.wav")
    assert (directory / "x.wav").stat().st_size > 1000


def idle_festival(engine: FestivalEngine, tmp_path: Path) -> int:
    """A festival worker that has said a line and waits for the next."""
    engine.synthesize(SpeechLine("Ready.", None, 150), tmp_path / "ready.wav")
    (pid,) = festival_pids()
    return pid


# Loaded by festival before it reads coach's requests: opening a clip whose name holds
# crash.wav or hang.wav makes festival die of SIGSEGV or stop, as a broken festival would.
FAULTS = """
(set! coach_real_fopen fopen)
(define (fopen name how)
  (if (string-matches name ".*/[.]crash[.]wav[.].*") (system "kill -SEGV $PPID"))
  (if (string-matches name ".*/[.]hang[.]wav[.].*") (system "kill -STOP $PPID"))
  (coach_real_fopen name how))
"""


@pytest.fixture
def faulty_festival(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """festival on PATH is the real one with FAULTS loaded."""
    real = shutil.which("festival")
    assert real is not None
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "faults.scm").write_text(FAULTS)
    wrapper = bin_dir / "festival"
    wrapper.write_text(f'#!/bin/sh\nexec {real} "$@" {bin_dir / "faults.scm"}\n')
    wrapper.chmod(0o755)
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")


def test_a_festival_that_crashes_mid_line_fails_that_line_only(
    tmp_path: Path, faulty_festival: None
) -> None:
    cache = ClipCache(tmp_path / "cache", FestivalEngine())
    engine = FestivalEngine()
    with pytest.raises(SpeechError) as caught:
        engine.synthesize(SpeechLine("Roll to the left.", None, 150), tmp_path / "crash.wav")
    assert str(caught.value) == (
        "the festival engine crashed (signal SIGSEGV) saying 'Roll to the left.'"
    )
    assert not (tmp_path / "crash.wav").exists()
    assert not [p.name for p in tmp_path.iterdir() if is_temp_name(p.name)]
    clips = render_speech([SpeechLine("Roll to the right.", None, 150)], cache, RATE)
    assert clips[SpeechLine("Roll to the right.", None, 150)].length > RATE // 4


def test_a_festival_that_hangs_is_killed_at_the_line_s_limit(
    tmp_path: Path, faulty_festival: None
) -> None:
    engine = FestivalEngine(timeout=0.5)
    limit = engine.time_limit("Hold still.")
    pid = idle_festival(engine, tmp_path)
    with pytest.raises(SpeechError) as caught:
        engine.synthesize(SpeechLine("Hold still.", None, 150), tmp_path / "hang.wav")
    assert str(caught.value) == (
        f"the festival engine took longer than its limit of {limit:g} s saying 'Hold still.'"
    )
    assert gone(pid) and synthesis.worker_pids() == []
    assert not [p.name for p in tmp_path.iterdir() if is_temp_name(p.name)]


def test_a_worker_that_died_while_idle_costs_no_line(tmp_path: Path) -> None:
    engine = FestivalEngine()
    pid = idle_festival(engine, tmp_path)
    os.kill(pid, signal.SIGKILL)
    while not dead(pid):  # dead, not only dying: its command line empties a moment before
        threading.Event().wait(0.01)
    engine.synthesize(SpeechLine("Next.", None, 150), tmp_path / "next.wav")
    assert (tmp_path / "next.wav").stat().st_size > 1000


def test_an_error_festival_reports_fails_the_line_quoting_festival_and_it_says_on(
    tmp_path: Path,
) -> None:
    engine = FestivalEngine()
    pid = idle_festival(engine, tmp_path)
    kind = FestivalKind(HTS_VOICE)
    message = {"op": "say", "textfile": str(tmp_path / "missing.txt")}
    message.update(path=str(tmp_path / "e.wav"), stretch="1.0", speed="1.0", rate="22050")
    reply = synthesis.pool(kind).request(message, 60)
    assert reply["error"].startswith("festival failed: ")
    assert "missing.txt" in reply["error"]
    engine.synthesize(SpeechLine("Still here.", None, 150), tmp_path / "s.wav")
    assert festival_pids() == [pid]


def test_stop_all_kills_festival_workers_at_once(tmp_path: Path) -> None:
    pid = idle_festival(FestivalEngine(), tmp_path)
    synthesis.stop_all()
    assert gone(pid) or cmdline(pid) == b""
