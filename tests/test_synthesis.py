"""Speech workers on the real engine: a crash or hang of espeak-ng fails one line, never coach.

Faults are made on purpose through the worker's test hook (`COACH_SPEECH_WORKER_FAULT`,
"KIND:TEXT"): the worker asked to say exactly TEXT dies of that signal, or hangs.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from helpers import gone, run_coach

from coach import session, synthesis
from coach.atomic import is_temp_name
from coach.cache import ClipCache
from coach.diagnostics import SpeechError
from coach.plan import SpeechLine
from coach.pyttsx3_engine import Pyttsx3Engine
from coach.speech import SpeechLineError, render_speech
from coach.speech_worker import FAULT_ENV

ROOT = Path(__file__).resolve().parents[1]
RATE = 22050


def line(text: str) -> SpeechLine:
    return SpeechLine(text, None, 175)


@pytest.fixture(autouse=True)
def no_workers_before_or_after() -> Iterator[None]:
    # Workers read the fault hook when they start: each test starts its own.
    synthesis.stop_all()
    yield
    synthesis.stop_all()


@pytest.fixture
def cache(tmp_path: Path) -> ClipCache:
    return ClipCache(tmp_path / "cache", Pyttsx3Engine())


def leftovers(directory: Path) -> list[str]:
    return sorted(p.name for p in directory.iterdir() if is_temp_name(p.name))


def is_worker(pid: int) -> bool:
    cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    return b"coach.speech_worker" in cmdline


# --- crashes ---------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["segv", "abrt", "kill"])
def test_a_worker_that_dies_mid_line_is_an_error_naming_that_line(
    cache: ClipCache, monkeypatch: pytest.MonkeyPatch, kind: str
) -> None:
    monkeypatch.setenv(FAULT_ENV, f"{kind}:Lie down on the balls.")
    doomed = line("Lie down on the balls.")
    with pytest.raises(SpeechLineError) as caught:
        render_speech([line("Breathe in."), doomed, line("Breathe out.")], cache, RATE)
    assert caught.value.line == doomed
    assert str(caught.value) == (
        f"the speech engine crashed (signal SIG{kind.upper()}) saying 'Lie down on the balls.'"
    )


def test_a_crash_leaves_no_clip_and_no_temporary_file(
    cache: ClipCache, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(FAULT_ENV, "segv:Roll to the left.")
    with pytest.raises(SpeechError):
        render_speech([line("Roll to the left.")], cache, RATE)
    assert not cache.path(line("Roll to the left.")).exists()
    assert leftovers(cache.directory) == []


def test_after_a_crash_the_same_process_renders_again(
    cache: ClipCache, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(FAULT_ENV, "segv:Roll to the left.")
    with pytest.raises(SpeechError):
        render_speech([line("Roll to the left.")], cache, RATE)
    clips = render_speech([line("Roll to the right.")], cache, RATE)
    assert clips[line("Roll to the right.")].length > RATE // 4


def test_a_crash_quotes_only_the_start_of_a_long_line(
    cache: ClipCache, monkeypatch: pytest.MonkeyPatch
) -> None:
    text = "Slowly " * 80
    monkeypatch.setenv(FAULT_ENV, f"segv:{text.strip()}")
    with pytest.raises(SpeechError) as caught:
        render_speech([line(text)], cache, RATE)
    assert str(caught.value) == (
        "the speech engine crashed (signal SIGSEGV) saying 'Slowly Slowly Slowly Slowly Slowly...'"
    )


def test_a_crash_in_a_session_names_the_routine_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    routine = tmp_path / "crash.routine"
    routine.write_text("title: Crash\n\nsay: Breathe in slowly.\nsay: Hold it right there.\n")
    monkeypatch.setenv(FAULT_ENV, "segv:Hold it right there.")
    with pytest.raises(SpeechError) as caught:
        session.build(str(routine), cache_dir=tmp_path / "cache")
    assert str(caught.value) == (
        f"{routine}:4:1: the speech engine crashed (signal SIGSEGV) saying 'Hold it right there.'"
    )


def test_the_cli_reports_a_crash_in_one_message_and_exits_non_zero(tmp_path: Path) -> None:
    routine = tmp_path / "crash.routine"
    routine.write_text("title: Crash\n\nsay: Hold it right there.\n")
    out = run_coach(
        "export",
        str(routine),
        "-o",
        str(tmp_path / "crash.wav"),
        cache=tmp_path / "cache",
        env={FAULT_ENV: "segv:Hold it right there."},
        timeout=120,
    )
    assert out.returncode == 1, out.stderr
    assert out.stderr.strip() == (
        f"Error: {routine}:3:1: the speech engine crashed (signal SIGSEGV) "
        "saying 'Hold it right there.'"
    )
    assert not (tmp_path / "crash.wav").exists()


# --- hangs -----------------------------------------------------------------------------------


def test_a_worker_that_hangs_is_killed_at_the_line_s_time_limit(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    engine = Pyttsx3Engine(timeout=0.5)
    cache = ClipCache(tmp_path, engine)
    monkeypatch.setenv(FAULT_ENV, "hang:Hold still.")
    pids: list[int] = []
    started = time.monotonic()
    with pytest.raises(SpeechLineError) as caught:
        render_speech(
            [line("Hold still."), line("Relax.")],
            cache,
            RATE,
            lambda done, total: pids.extend(synthesis.worker_pids()),
        )
    elapsed = time.monotonic() - started
    limit = engine.time_limit("Hold still.")
    assert limit == pytest.approx(0.5 + 0.2 * 11)
    assert str(caught.value) == (
        f"the speech engine took longer than its limit of {limit:g} s saying 'Hold still.'"
    )
    assert limit <= elapsed < limit + 3
    assert synthesis.worker_pids() == [] and all(gone(pid) for pid in pids)
    assert leftovers(tmp_path) == []


def test_the_time_limit_grows_with_the_text() -> None:
    engine = Pyttsx3Engine()
    assert engine.time_limit("x" * 600) == pytest.approx(20 + 0.2 * 600)


# --- workers ---------------------------------------------------------------------------------


@pytest.mark.skipif(synthesis.worker_count() < 2, reason="one core: one worker")
def test_cold_rendering_uses_one_worker_process_per_core(cache: ClipCache) -> None:
    seen: set[int] = set()

    def progress(done: int, total: int) -> None:
        seen.update(synthesis.worker_pids())

    lines = [line(f"Rep {n} of twelve, slowly.") for n in range(12)]
    render_speech(lines, cache, RATE, progress)
    assert len(seen) == min(synthesis.worker_count(), len(lines))
    assert os.getpid() not in seen


def test_workers_are_processes_of_their_own_running_the_worker_module(cache: ClipCache) -> None:
    seen: set[int] = set()

    def progress(done: int, total: int) -> None:
        seen.update(pid for pid in synthesis.worker_pids() if is_worker(pid))

    render_speech([line("One."), line("Two.")], cache, RATE, progress)
    assert seen and os.getpid() not in seen


def test_one_missing_line_starts_one_worker(cache: ClipCache) -> None:
    seen: set[int] = set()
    render_speech([line("Alone.")], cache, RATE, lambda d, t: seen.update(synthesis.worker_pids()))
    assert len(seen) == 1


def test_workers_end_when_rendering_is_done(cache: ClipCache) -> None:
    seen: set[int] = set()
    lines = [line(f"Step {n}.") for n in range(4)]
    render_speech(lines, cache, RATE, lambda d, t: seen.update(synthesis.worker_pids()))
    assert seen and synthesis.worker_pids() == [] and all(gone(pid) for pid in seen)


def test_an_interrupt_during_rendering_kills_every_worker(cache: ClipCache) -> None:
    seen: set[int] = set()

    def interrupt(done: int, total: int) -> None:
        seen.update(synthesis.worker_pids())
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        render_speech([line(f"Count {n}.") for n in range(6)], cache, RATE, interrupt)
    assert seen and synthesis.worker_pids() == [] and all(gone(pid) for pid in seen)
    assert leftovers(cache.directory) == []


def test_progress_is_reported_in_the_caller_s_thread(cache: ClipCache) -> None:
    import threading

    threads: set[int] = set()
    calls: list[tuple[int, int]] = []

    def progress(done: int, total: int) -> None:
        threads.add(threading.get_ident())
        calls.append((done, total))

    render_speech([line(f"Side {n}.") for n in range(5)], cache, RATE, progress)
    assert threads == {threading.get_ident()}
    assert calls == [(n, 5) for n in range(1, 6)]


def test_the_counters_count_every_line_of_a_parallel_render(cache: ClipCache) -> None:
    lines = [line(f"Tally {n}.") for n in range(8)]
    render_speech(lines, cache, RATE)
    assert (cache.hits, cache.misses, cache.repairs) == (0, 8, 0)
    # Neither recorded lengths nor session-ready clips (coach.derived): each clip is read in full.
    for made in [cache.directory / "lengths.json", *cache.directory.glob("derived-*.pcm")]:
        made.unlink()
    again = ClipCache(cache.directory, cache.engine)
    render_speech(lines, again, RATE)
    assert (again.hits, again.misses, again.repairs) == (8, 0, 0)


ORPHAN = """
import sys, time
from pathlib import Path
from coach import synthesis
from coach.pyttsx3_engine import Pyttsx3Engine
from coach.plan import SpeechLine
Pyttsx3Engine().synthesize(SpeechLine("Left idle.", None, 175), Path(sys.argv[1]))
print(*synthesis.worker_pids(), flush=True)
time.sleep(600)
"""


def test_a_worker_ends_when_coach_is_killed(tmp_path: Path) -> None:
    parent = subprocess.Popen(
        [sys.executable, "-c", ORPHAN, str(tmp_path / "idle.wav")],
        stdout=subprocess.PIPE,
        text=True,
        cwd=ROOT,
    )
    assert parent.stdout is not None
    pids = [int(pid) for pid in parent.stdout.readline().split()]
    parent.kill()  # no atexit, no cleanup: only the end of the worker's stdin tells it
    parent.wait()
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and not all(dead_or_zombie(pid) for pid in pids):
        time.sleep(0.05)
    assert pids and all(dead_or_zombie(pid) for pid in pids)


def dead_or_zombie(pid: int) -> bool:
    # An orphan is reaped by whichever process adopts it, which may be slow to do so.
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return True
    return stat.rsplit(")", 1)[1].split()[0] == "Z"


# --- a warm cache ----------------------------------------------------------------------------

WARM = """
import json, subprocess, sys
from coach import session

routine, cache = sys.argv[1], sys.argv[2]
if sys.argv[3] == "warm":
    def refuse(*args, **kwargs):
        raise AssertionError(f"a warm cache started a process: {args}")
    subprocess.Popen = refuse
built = session.build(routine, cache_dir=cache)
for key in built.bank.speech:
    built.bank.speech[key]  # every clip's samples, read from the cache
print(json.dumps({"pyttsx3": "pyttsx3" in sys.modules, "clips": len(built.bank.speech)}))
"""


def test_a_warm_cache_starts_no_worker_and_never_imports_pyttsx3(tmp_path: Path) -> None:
    routine = tmp_path / "warm.routine"
    routine.write_text("title: Warm\n\nsay: Breathe in.\nsay: Breathe out.\nsay: Rest.\n")

    def run(mode: str) -> dict[str, object]:
        out = subprocess.run(
            [sys.executable, "-c", WARM, str(routine), str(tmp_path / "cache"), mode],
            capture_output=True,
            text=True,
            cwd=ROOT,
            timeout=120,
        )
        assert out.returncode == 0, out.stderr
        result: dict[str, object] = json.loads(out.stdout)
        return result

    assert run("cold") == {"pyttsx3": False, "clips": 3}  # only workers import it
    assert run("warm") == {"pyttsx3": False, "clips": 3}


# --- voices ----------------------------------------------------------------------------------


def test_voices_listed_in_process_are_those_pyttsx3_lists_in_a_worker() -> None:
    reply = synthesis.pool("espeak").request({"op": "voices", "limit": 60}, 60)
    from_pyttsx3 = [(i, name, tuple(langs)) for i, name, langs in reply["voices"]]
    listed = [(v.id, v.name, v.languages) for v in Pyttsx3Engine().voices()]
    assert listed == from_pyttsx3


def test_an_engine_that_cannot_start_is_one_clear_error_from_its_worker() -> None:
    with pytest.raises(SpeechError, match=r"driver 'no_such_driver'\) could not start"):
        Pyttsx3Engine(driver="no_such_driver").voices()
    assert synthesis.worker_pids() == []


def test_pyttsx3_engine_is_still_importable_from_coach_speech() -> None:
    from coach import pyttsx3_engine, speech

    assert speech.Pyttsx3Engine is pyttsx3_engine.Pyttsx3Engine


def workers_of(pid: int) -> list[int]:
    """The speech workers whose parent is `pid`."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
                if ppid == pid and is_worker(int(entry.name)):
                    found.append(int(entry.name))
            except (OSError, IndexError, ValueError):
                continue
    return found


def test_sigterm_to_coach_while_a_worker_hangs_leaves_no_worker_behind(tmp_path: Path) -> None:
    routine = tmp_path / "hang.routine"
    routine.write_text("title: Hang\n\nsay: Hold it forever.\n")
    coach = subprocess.Popen(
        [sys.executable, "-m", "coach", "export", str(routine), "-o", str(tmp_path / "h.wav")],
        env={**os.environ, FAULT_ENV: "hang:Hold it forever.", "COACH_CACHE_DIR": str(tmp_path)},
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.monotonic() + 60
    while not (pids := workers_of(coach.pid)) and time.monotonic() < deadline:
        time.sleep(0.05)
    time.sleep(0.5)  # into the line
    coach.send_signal(signal.SIGTERM)
    _, err = coach.communicate(timeout=10)  # well before the line's limit of 23.8 s
    assert pids and coach.returncode != 0, err
    assert all(dead_or_zombie(pid) for pid in pids)
    assert leftovers(tmp_path) == []
