"""Live sessions: pause, skip, back, quit and --from, heard through the captured ALSA device."""

from __future__ import annotations

import importlib.util
import json
import os
import select
import signal
import subprocess
import sys
import threading
import time
import wave
from collections.abc import Iterator, Sequence
from pathlib import Path

import numpy as np
import pytest
from conftest import RATE
from helpers import play_captured, run_coach

from coach.chunks import INTERACTIVE, plan_chunks, silent_spans
from coach.export import export
from coach.mixer import SourceBank, mix_all
from coach.player import Player, find_step
from coach.timeline import Chapter, Event, Timeline

termios = pytest.importorskip("termios")

ROOT = Path(__file__).resolve().parent.parent
CAPTURE_CONF = Path(__file__).resolve().parent / "alsa-capture.conf"
GOOD = str(Path(__file__).parent / "fixtures" / "cli" / "good.routine")

needs_alsa = pytest.mark.skipif(
    importlib.util.find_spec("simpleaudio") is None, reason="needs simpleaudio (ALSA)"
)

# ---------------------------------------------------------------------------------------
# The player in a child process (ALSA reads its configuration once per process), with
# commands sent through its own input interface when a chosen chunk starts.

CHILD = r"""
import json, pickle, sys, threading, time
from coach import chunks as chunks_module
from coach.mixer import SourceBank
from coach.player import Player

timeline, speech, files, script, chunking, ranges = pickle.load(open(sys.argv[1], "rb"))
bank = SourceBank(timeline.sample_rate, speech=speech, files=files)
began = time.monotonic()
log = []
seen = 0

def send(command):
    log.append({"command": command, "at": time.monotonic() - began})
    player.command(command)

def progress(position, total):
    global seen
    while seen < len(player.played):
        number = seen
        seen += 1
        log.append({"chunk": number, "at": time.monotonic() - began})
        for at_chunk, command, delay in script:
            if at_chunk == number:
                if delay:
                    threading.Timer(delay, send, [command]).start()
                else:
                    send(command)

player = Player(
    timeline, bank, on_progress=progress, chunking=getattr(chunks_module, chunking),
    ranges=ranges,
)
planned = list(player.chunks)
player.run()
print(json.dumps({
    "planned": planned, "played": player.played, "log": log, "stopped": player.stopped,
}))
"""

Script = Sequence[tuple[int, str, float]]  # (chunk number, command, delay in seconds)


def play_with_commands(
    tmp_path: Path,
    timeline: Timeline,
    bank: SourceBank,
    script: Script = (),
    chunking: str = "INTERACTIVE",
    ranges: list[tuple[int, int]] | None = None,
) -> tuple[dict, bytes]:
    """Play in a child process through the capture device; at the start of chunk k (in play
    order) send each command scripted for k, after its delay. Returns the child's report and
    the bytes the device received."""
    job = (timeline, dict(bank.speech), dict(bank.files), list(script), chunking, ranges)
    report, _, captured = play_captured(tmp_path, CHILD, job)
    report["planned"] = [tuple(c) for c in report["planned"]]
    report["played"] = [tuple(c) for c in report["played"]]
    return report, captured


def session_bytes(timeline: Timeline, bank: SourceBank) -> bytes:
    return mix_all(timeline, bank).astype("<i2").tobytes()


def chunk_from(chunks: Sequence[tuple[int, int]], seconds: float) -> int:
    """The number of the first chunk starting at or after `seconds`."""
    return next(k for k, (start, _) in enumerate(chunks) if start >= seconds * RATE)


def split_jump(captured: bytes, whole: bytes, target: int) -> int:
    """Assert `captured` is whole[:x] + whole[target:] (samples) and return x."""
    tail = len(whole) - 2 * target
    assert len(captured) % 2 == 0 and len(captured) >= tail
    x = (len(captured) - tail) // 2
    assert captured[: 2 * x] == whole[: 2 * x], "the part before the jump is the session's start"
    assert captured[2 * x :] == whole[2 * target :], "after the jump: the session from target"
    return x


def assert_contiguous_from(played: Sequence[tuple[int, int]], start: int, end: int) -> None:
    assert played[0][0] == start and played[-1][1] == end
    assert all(a[1] == b[0] for a, b in zip(played, played[1:]))


def starts(log: list[dict]) -> dict[int, float]:
    return {entry["chunk"]: entry["at"] for entry in log if "chunk" in entry}


def sent(log: list[dict], command: str) -> list[float]:
    return [entry["at"] for entry in log if entry.get("command") == command]


@needs_alsa
def test_pause_then_resume_loses_and_repeats_nothing(tmp_path: Path, demo_session) -> None:
    """(a) The device receives the whole session exactly, though it paused for a while."""
    timeline, bank = demo_session
    chunks = Player(timeline, bank, chunking=INTERACTIVE).chunks
    k = chunk_from(chunks, 8)
    report, captured = play_with_commands(
        tmp_path, timeline, bank, [(k, "pause", 0), (k, "resume", 0.4)]
    )
    assert captured == session_bytes(timeline, bank)
    wav = export(timeline, bank, tmp_path / "session.wav").read_bytes()
    assert captured == wav[44:]
    assert report["played"] == report["planned"] and not report["stopped"]
    # Nothing was sent while paused, and the next chunk started at once on resume.
    at = starts(report["log"])
    (resumed,) = sent(report["log"], "resume")
    assert at[k + 1] - at[k] >= 0.4
    assert 0 <= at[k + 1] - resumed < 0.05
    assert all(t < sent(report["log"], "pause")[0] + 0.05 or t >= resumed for t in at.values())


@needs_alsa
def test_several_pauses_are_still_exact(tmp_path: Path, demo_session) -> None:
    """(b) Pauses at several points, one resumed before its chunk even ended."""
    timeline, bank = demo_session
    chunks = Player(timeline, bank, chunking=INTERACTIVE).chunks
    script = []
    for seconds in (2, 12, 25, 33):
        k = chunk_from(chunks, seconds)
        script += [(k, "toggle", 0), (k, "toggle", 0.15)]
    k = chunk_from(chunks, 18)
    script += [(k, "pause", 0), (k, "resume", 0)]  # paused and resumed within one chunk
    report, captured = play_with_commands(tmp_path, timeline, bank, script)
    assert captured == session_bytes(timeline, bank)
    assert report["played"] == report["planned"]
    at = starts(report["log"])
    for seconds in (2, 12, 25, 33):
        k = chunk_from(chunks, seconds)
        assert at[k + 1] - at[k] >= 0.15


@needs_alsa
def test_next_skips_to_the_next_step(tmp_path: Path, demo_session) -> None:
    """(c) `n` in the middle of "Reps": the rest of the chunk may be cut, then the session
    goes on from the start of "Breathe & finish" to its end."""
    timeline, bank = demo_session
    chunks = Player(timeline, bank, chunking=INTERACTIVE).chunks
    k = chunk_from(chunks, 10)
    report, captured = play_with_commands(tmp_path, timeline, bank, [(k, "next", 0)])
    target = timeline.chapters[2].start
    x = split_jump(captured, session_bytes(timeline, bank), target)
    assert chunks[k][0] <= x <= chunks[k][1]  # pressed at chunk k's start: cut within it
    played = report["played"]
    assert played[: k + 1] == chunks[: k + 1]
    assert_contiguous_from(played[k + 1 :], target, timeline.length)
    # The new chunks are cut in silence too.
    spans = silent_spans(timeline)
    for _, cut in played[k + 1 : -1]:
        assert any(a <= cut - 1 and cut < b for a, b in spans)


@needs_alsa
def test_back_restarts_the_step(tmp_path: Path, demo_session) -> None:
    """(d) `b` in the middle of "Reps": back to the start of "Reps"."""
    timeline, bank = demo_session
    chunks = Player(timeline, bank, chunking=INTERACTIVE).chunks
    k = chunk_from(chunks, 10)
    report, captured = play_with_commands(tmp_path, timeline, bank, [(k, "back", 0)])
    target = timeline.chapters[1].start
    x = split_jump(captured, session_bytes(timeline, bank), target)
    assert chunks[k][0] <= x <= chunks[k][1]
    assert_contiguous_from(report["played"][k + 1 :], target, timeline.length)


@needs_alsa
def test_back_twice_quickly_goes_to_the_step_before(tmp_path: Path, demo_session) -> None:
    """(e) `b` `b` in "Breathe & finish": back to the start of "Reps"."""
    timeline, bank = demo_session
    chunks = Player(timeline, bank, chunking=INTERACTIVE).chunks
    k = chunk_from(chunks, 30)
    report, captured = play_with_commands(
        tmp_path, timeline, bank, [(k, "back", 0), (k, "back", 0)]
    )
    target = timeline.chapters[1].start
    x = split_jump(captured, session_bytes(timeline, bank), target)
    assert chunks[k][0] <= x <= chunks[k][1]
    assert_contiguous_from(report["played"][k + 1 :], target, timeline.length)


@needs_alsa
def test_quit_stops_cleanly_with_a_prefix(tmp_path: Path, demo_session) -> None:
    """(f) `q`: the chunk is cut at once, nothing after it is sent, run() returns."""
    timeline, bank = demo_session
    chunks = Player(timeline, bank, chunking=INTERACTIVE).chunks
    k = chunk_from(chunks, 15)
    report, captured = play_with_commands(tmp_path, timeline, bank, [(k, "quit", 0)])
    whole = session_bytes(timeline, bank)
    assert report["stopped"] is True
    assert report["played"] == chunks[: k + 1]
    assert 2 * chunks[k][0] <= len(captured) <= 2 * chunks[k][1]
    assert captured == whole[: len(captured)]


@needs_alsa
def test_lead_in_range_then_the_step(tmp_path: Path, demo_session) -> None:
    """Play order [(0, a), (b, end)]: the device gets exactly those two pieces, and `n`
    during the first piece goes straight to the second."""
    timeline, bank = demo_session
    whole = session_bytes(timeline, bank)
    intro, step = 3 * RATE, timeline.chapters[2].start
    ranges = [(0, intro), (step, timeline.length)]
    report, captured = play_with_commands(tmp_path, timeline, bank, ranges=ranges)
    assert captured == whole[: 2 * intro] + whole[2 * step :]
    report, captured = play_with_commands(tmp_path, timeline, bank, [(1, "next", 0)], ranges=ranges)
    x = split_jump(captured, whole, step)
    assert x <= intro


@needs_alsa
def test_streaming_chunks_pause_exactly_too(tmp_path: Path, demo_session) -> None:
    """Without a terminal the chunks are long, and pausing is still exact."""
    timeline, bank = demo_session
    report, captured = play_with_commands(
        tmp_path, timeline, bank, [(1, "pause", 0), (1, "resume", 0.2)], chunking="STREAMING"
    )
    assert captured == session_bytes(timeline, bank)
    assert len(report["planned"]) < 8


# ---------------------------------------------------------------------------------------
# The player in this process with a fake device whose buffers take real (short) time.


class TimedOutput:
    """Each buffer "plays" for its duration divided by `speed`; records what was sent."""

    def __init__(self, speed: float = 20.0) -> None:
        self.speed = speed
        self.sent: list[np.ndarray] = []

    def start(self, samples: np.ndarray, sample_rate: int) -> TimedOutput.Handle:
        self.sent.append(samples.copy())
        return TimedOutput.Handle(len(samples) / sample_rate / self.speed)

    class Handle:
        def __init__(self, seconds: float) -> None:
            self.until = time.monotonic() + seconds

        def is_playing(self) -> bool:
            return time.monotonic() < self.until

        def stop(self) -> None:
            self.until = 0.0


def run_in_thread(player: Player) -> threading.Thread:
    thread = threading.Thread(target=player.run, daemon=True)
    thread.start()
    return thread


def wait_until(condition, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.002)


def test_state_while_paused_and_commands_from_another_thread(demo_session) -> None:
    timeline, bank = demo_session
    output = TimedOutput(speed=10)
    player = Player(timeline, bank, output=output, chunking=INTERACTIVE)
    assert not player.state().started
    thread = run_in_thread(player)
    wait_until(lambda: player.state().position >= 5 * RATE)
    player.pause()
    assert player.state().paused
    sent_before = len(output.sent)
    time.sleep(0.3)  # longer than any chunk takes here
    assert len(output.sent) <= sent_before + 1  # at most the chunk that was playing ends
    frozen = player.state()
    time.sleep(0.1)
    assert player.state().position == frozen.position and frozen.started
    assert frozen.remaining == timeline.length - frozen.position
    player.resume()
    thread.join(10)
    assert np.array_equal(np.concatenate(output.sent), mix_all(timeline, bank))
    assert player.state().finished and not player.stopped


def test_back_twice_slowly_restarts_the_same_step(demo_session) -> None:
    timeline, bank = demo_session
    reps = timeline.chapters[1].start
    player = Player(timeline, bank, output=TimedOutput(speed=1), chunking=INTERACTIVE)
    thread = run_in_thread(player)
    wait_until(lambda: player.played)
    player.next_step()  # to "Reps"
    wait_until(lambda: player.state().position >= reps + RATE // 2)
    player.back()
    wait_until(lambda: [c[0] for c in player.played].count(reps) == 2)
    time.sleep(1.6)
    player.back()  # too late to count as twice: "Reps" again, not "Warm up"
    wait_until(lambda: [c[0] for c in player.played].count(reps) == 3)
    time.sleep(0.1)
    player.quit()
    thread.join(5)
    assert [c[0] for c in player.played].count(0) == 1 and player.stopped


def test_next_in_the_last_step_does_nothing_but_say_so(demo_session) -> None:
    timeline, bank = demo_session
    output = TimedOutput(speed=40)
    player = Player(
        timeline, bank, output=output, ranges=[(timeline.chapters[2].start, timeline.length)]
    )
    thread = run_in_thread(player)
    wait_until(lambda: player.played)
    player.next_step()
    wait_until(lambda: player.state().note != "" or player.state().finished)
    assert player.state().note == "already at the last step"
    thread.join(10)
    whole = mix_all(timeline, bank)
    assert np.array_equal(np.concatenate(output.sent), whole[timeline.chapters[2].start :])


def test_state_knows_where_a_lead_in_leads(demo_session) -> None:
    timeline, bank = demo_session
    step = timeline.chapters[2].start
    player = Player(
        timeline, bank, output=TimedOutput(speed=20), ranges=[(0, RATE), (step, timeline.length)]
    )
    assert player.state().heading_to == step
    assert player.state().remaining == RATE + timeline.length - step
    positions: list[tuple[int, int | None]] = []
    player.on_progress = lambda position, total: positions.append(
        (position, player.state().heading_to)
    )
    player.run()
    assert all(ahead == step for at, ahead in positions if at < RATE)
    assert all(ahead is None for at, ahead in positions if at >= step)
    assert player.state().remaining == 0


def test_unknown_command_is_an_error(demo_session) -> None:
    timeline, bank = demo_session
    with pytest.raises(ValueError, match="unknown player command"):
        Player(timeline, bank).command("rewind")


def test_interactive_chunks_are_short_and_cut_in_silence(demo_session) -> None:
    timeline, _ = demo_session
    spans = silent_spans(timeline)
    for start in (0, 4 * RATE, 10 * RATE + 123):
        chunks = plan_chunks(
            timeline, 0.75, 0.25, 1.0, 0.5, 1.5, start=start, reach=15.0, spans=spans
        )
        assert chunks[0][0] == start and chunks[-1][1] == timeline.length
        assert all(a[1] == b[0] for a, b in zip(chunks, chunks[1:]))
        for _, cut in chunks[:-1]:
            assert any(a <= cut - 1 and cut < b for a, b in spans), cut
    # Over 1.5 s only where no silence could be found between 0.5 and 1.5 s.
    for start, end in Player(timeline, SourceBank(RATE), chunking=INTERACTIVE).chunks[1:-1]:
        lo, hi = start + RATE // 2, start + int(1.5 * RATE)
        if end - start > 1.5 * RATE:
            assert not any(a + 1 <= hi and b - 1 >= lo for a, b in spans), (start, end)


def test_interactive_chunks_reach_past_long_speech(make_timeline) -> None:
    """No silence within 1.5 s: the cut waits for the first one rather than cut a word."""
    speech = Event(RATE, 5 * RATE, "speech", "long", 0, "A long sentence.")
    timeline = make_timeline(10 * RATE, [speech])
    chunks = plan_chunks(
        timeline, 0.75, 0.25, 1.0, 0.5, 1.5, start=2 * RATE, reach=15.0, spans=None
    )
    first_cut = chunks[0][1]
    assert 6 * RATE < first_cut <= 6 * RATE + int(0.05 * RATE) + 1  # just after the speech


def test_find_step_by_number_name_and_prefix(demo_session) -> None:
    timeline, _ = demo_session
    assert find_step(timeline, "2") == 1
    assert find_step(timeline, "reps") == 1
    assert find_step(timeline, "  BREATHE  ") == 2
    assert find_step(timeline, "warm") == 0
    for wanted, message in [
        ("4", "there is no step 4"),
        ("0", "there is no step 0"),
        ("stretch", "no step is called 'stretch'"),
        ("", "no step is called"),
    ]:
        with pytest.raises(ValueError, match=message) as raised:
            find_step(timeline, wanted)
        assert "1  Warm up" in str(raised.value) and "3  Breathe & finish" in str(raised.value)
    twins = Timeline("T", RATE, 10, [Chapter("Roll up", 0, 5), Chapter("Roll down", 5, 10)])
    with pytest.raises(ValueError, match="could be steps 1, 2"):
        find_step(twins, "roll")


# ---------------------------------------------------------------------------------------
# Keys


def test_decode_keys() -> None:
    from coach.keys import decode

    assert decode(b" nNbBqQ?hH") == ["toggle", "next", "next", "back", "back", "quit"] + [
        "quit",
        "help",
        "help",
        "help",
    ]
    assert decode(b"\x1b[C\x1b[D\x1bOC\x1b[1;5D") == ["next", "back", "next", "back"]
    assert decode(b"x\x1b[15~\x1b\x1bz") == []  # other keys, function keys, Esc, Alt+z


def test_key_reader_sets_cbreak_and_always_restores(tmp_path: Path) -> None:
    from coach.keys import KeyReader

    master, slave = os.openpty()
    stream = os.fdopen(slave, "r")
    try:
        before = termios.tcgetattr(slave)
        got: list[str] = []
        term_before = signal.getsignal(signal.SIGTERM)
        with pytest.raises(RuntimeError), KeyReader(got.append, stream):
            mode = termios.tcgetattr(slave)
            assert not mode[3] & termios.ECHO and not mode[3] & termios.ICANON
            assert mode[3] & termios.ISIG  # Ctrl-C still interrupts
            os.write(master, b" nq\x1b[Cb")
            wait_until(lambda: len(got) == 5)
            raise RuntimeError("an error in the middle of playback")
        assert got == ["toggle", "next", "quit", "next", "back"]
        assert termios.tcgetattr(slave) == before
        assert signal.getsignal(signal.SIGTERM) == term_before
    finally:
        stream.close()
        os.close(master)


def test_keys_unsupported_without_a_terminal(tmp_path: Path) -> None:
    from coach.keys import is_terminal, keys_supported

    with open(tmp_path / "f", "w+") as f:
        assert not keys_supported(f) and not is_terminal(f)
    closed = open(tmp_path / "g", "w")  # noqa: SIM115
    closed.close()
    assert not is_terminal(closed) and not is_terminal(None)


# ---------------------------------------------------------------------------------------
# The real command line: --from, --lead-in, keys through a pseudo-terminal, no terminal.


def coach_env(tmp_path: Path, cache: Path, capture: Path, conf: Path = CAPTURE_CONF) -> dict:
    return {
        **os.environ,
        "COACH_CACHE_DIR": str(cache),
        "COACH_CONFIG": str(tmp_path / "no-profile.toml"),
        "ALSA_CONFIG_PATH": str(conf),
        "COACH_ALSA_CAPTURE": str(capture),
        "PYTHONPATH": str(ROOT),
    }


@pytest.fixture(scope="module")
def wall(tmp_path_factory) -> dict:
    """wall-release rendered once: its cache, WAV export data and steps (in samples)."""
    tmp = tmp_path_factory.mktemp("wall")
    cache = tmp / "cache"
    env = coach_env(tmp, cache, tmp / "unused.raw")
    wav = tmp / "wall.wav"
    assert run_coach("export", "wall-release", "-o", str(wav), env=env).returncode == 0
    with wave.open(str(wav)) as exported:
        frames = exported.readframes(exported.getnframes())
    shown = run_coach("show", "wall-release", "--json", env=env)
    assert shown.returncode == 0, shown.stderr
    steps = json.loads(shown.stdout)["steps"]
    starts = [round(step["start"] * RATE) for step in steps]
    return {"cache": cache, "frames": frames, "starts": starts, "names": [s["name"] for s in steps]}


@needs_alsa
@pytest.mark.parametrize(
    ("wanted", "index"), [("2", 1), ("roll your lower", 3), ("FINISH", 7), ("8", 7)]
)
def test_play_from_a_step(tmp_path: Path, wall: dict, wanted: str, index: int) -> None:
    """(g) By number, unique prefix or name in any case: the device gets the export from
    that step's start on."""
    capture = tmp_path / "device.raw"
    env = coach_env(tmp_path, wall["cache"], capture)
    result = run_coach("play", "wall-release", "--from", wanted, env=env)
    assert result.returncode == 0, result.stderr
    assert capture.read_bytes() == wall["frames"][2 * wall["starts"][index] :]
    assert f"from step {index + 1} of 8" in result.stderr and "Done." in result.stderr
    assert "\r" not in result.stderr  # no terminal: no status line


@needs_alsa
def test_play_from_a_step_after_the_lead_in(tmp_path: Path, wall: dict) -> None:
    """(h) The spoken lead-in countdown, then straight to step 3."""
    from coach import session
    from coach.compiler import Overrides

    capture = tmp_path / "device.raw"
    env = coach_env(tmp_path, wall["cache"], capture)
    result = run_coach("play", "wall-release", "--from", "3", "--lead-in", "10", env=env)
    assert result.returncode == 0, result.stderr
    built = session.build("wall-release", Overrides(lead_in=10.0), wall["cache"])
    timeline = built.timeline
    whole = session_bytes(timeline, built.bank)
    texts = [e.text for e in timeline.events if e.start < timeline.intro_end]
    assert any(text.startswith("Get") for text in texts) and "1" in texts  # the countdown
    step = timeline.chapters[2].start
    assert capture.read_bytes() == whole[: 2 * timeline.intro_end] + whole[2 * step :]


@pytest.mark.parametrize(
    ("wanted", "message"),
    [
        ("stretching", "no step is called 'stretching'"),
        ("roll", "could be steps 3, 4, 5, 6, 7"),
        ("9", "there is no step 9"),
        ("0", "there is no step 0"),
    ],
)
def test_play_from_an_unknown_step_is_one_clear_error(
    tmp_path: Path, wall: dict, wanted: str, message: str
) -> None:
    """(i) A usage error naming --from and listing the steps; nothing is played."""
    capture = tmp_path / "device.raw"
    result = run_coach(
        "play", "wall-release", "--from", wanted, env=coach_env(tmp_path, wall["cache"], capture)
    )
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr + result.stdout
    assert "Invalid value for '--from'" in result.stderr and message in result.stderr
    assert "   1  Settle" in result.stderr and "   8  Finish" in result.stderr
    assert not capture.exists()


def test_lead_in_must_be_positive(tmp_path: Path, wall: dict) -> None:
    env = coach_env(tmp_path, wall["cache"], tmp_path / "device.raw")
    result = run_coach("play", "wall-release", "--lead-in", "0", env=env)
    assert result.returncode == 2 and "--lead-in" in result.stderr
    assert "Traceback" not in result.stderr


# A pseudo-terminal as the child's controlling terminal (stdin and stderr), as in a shell.
CONTROLLING_TTY = r"""
import fcntl, os, sys, termios
os.setsid()
fcntl.ioctl(0, termios.TIOCSCTTY, 0)
os.execv(sys.executable, [sys.executable, *sys.argv[1:]])
"""

# A sink paced in real time: ALSA's `file` plugin pipes each device open into this, which
# writes the bytes on at 44100 bytes a second; the device closes when the pipe is drained.
PACER = r"""
import sys, time
out = open(sys.argv[1], "ab")
began, count = time.monotonic(), 0
while data := sys.stdin.buffer.read1(4096):
    out.write(data)
    count += len(data)
    ahead = count / 44100 - (time.monotonic() - began)
    if ahead > 0:
        time.sleep(ahead)
out.close()
"""


def paced_conf(tmp_path: Path) -> Path:
    pacer = tmp_path / "pacer.py"
    pacer.write_text(PACER)
    conf = tmp_path / "paced.conf"
    conf.write_text(
        'pcm.!default {\n type file\n slave.pcm { type null }\n format "raw"\n file {\n'
        "  @func concat\n  strings [\n"
        f'   "|{sys.executable} -S {pacer} \'"\n'
        '   { @func getenv vars [ COACH_ALSA_CAPTURE ] default "/dev/null" }\n'
        '   "\'"\n  ]\n }\n}\n'
    )
    return conf


class PtyCoach:
    """`python ARGS` with a pseudo-terminal as controlling terminal, stdin and stderr (or
    stderr to a pipe); what it writes to the terminal is collected in `output`."""

    def __init__(self, args: Sequence[str], env: dict, stderr_pty: bool = True) -> None:
        import fcntl
        import struct

        self.master, self.slave = os.openpty()
        fcntl.ioctl(self.slave, termios.TIOCSWINSZ, struct.pack("HHHH", 30, 200, 0, 0))
        self.before = termios.tcgetattr(self.slave)
        self.output = bytearray()
        self._stop = threading.Event()
        self.process = subprocess.Popen(
            [sys.executable, "-c", CONTROLLING_TTY, *args],
            stdin=self.slave,
            stdout=subprocess.DEVNULL,
            stderr=self.slave if stderr_pty else subprocess.PIPE,
            env=env,
            cwd=ROOT,
        )
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        while not self._stop.is_set():
            ready, _, _ = select.select([self.master], [], [], 0.05)
            if ready:
                try:
                    self.output += os.read(self.master, 4096)
                except OSError:
                    return

    def text(self) -> str:
        return self.output.decode("utf-8", "replace")

    def wait_for(self, text: str, timeout: float = 60.0, after: int = 0) -> int:
        """Wait until `text` appears in the output past offset `after`; its offset."""
        deadline = time.monotonic() + timeout
        exited: float | None = None
        while (found := self.text().find(text, after)) < 0:
            if exited is None and self.process.poll() is not None:
                exited = time.monotonic()
            late = exited is not None and time.monotonic() - exited > 0.5
            assert not late and time.monotonic() < deadline, f"no {text!r} in {self.text()!r}"
            time.sleep(0.01)
        return found

    def send(self, data: bytes) -> None:
        os.write(self.master, data)

    def finish(self, timeout: float = 60.0) -> int:
        try:
            code = self.process.wait(timeout)
        finally:
            time.sleep(0.1)
            self._stop.set()
            self._reader.join(2)
        return code

    def close(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait()
        self._stop.set()
        os.close(self.master)
        os.close(self.slave)


@pytest.fixture(scope="module")
def good(tmp_path_factory) -> dict:
    tmp = tmp_path_factory.mktemp("good")
    cache = tmp / "cache"
    wav = tmp / "good.wav"
    env = coach_env(tmp, cache, tmp / "unused.raw")
    assert run_coach("export", GOOD, "-o", str(wav), env=env).returncode == 0
    with wave.open(str(wav)) as exported:
        return {"cache": cache, "frames": exported.readframes(exported.getnframes())}


@pytest.fixture
def pty_run() -> Iterator[list[PtyCoach]]:
    runs: list[PtyCoach] = []
    yield runs
    for run in runs:
        run.close()


@needs_alsa
def test_keys_through_a_terminal(tmp_path: Path, good: dict, pty_run: list) -> None:
    """(j) Real keys: space pauses (status says so), space resumes, q quits; the terminal's
    settings are exactly as before and the device got a prefix of the session."""
    capture = tmp_path / "device.raw"
    env = coach_env(tmp_path, good["cache"], capture, paced_conf(tmp_path))
    run = PtyCoach(["-m", "coach", "play", GOOD], env)
    pty_run.append(run)
    run.wait_for("elapsed")
    playing = termios.tcgetattr(run.slave)
    assert not playing[3] & termios.ECHO and not playing[3] & termios.ICANON
    assert playing[3] & termios.ISIG
    run.send(b" ")
    paused_at = run.wait_for("paused |")
    time.sleep(0.6)
    run.send(b"?")
    run.wait_for("skip to the next step", after=paused_at)
    run.send(b" ")
    resumed = run.wait_for("\r0:0", after=run.wait_for("show these keys"))
    time.sleep(0.5)
    assert "paused" not in run.text()[resumed:]
    run.send(b"q")
    assert run.finish() == 0, run.text()
    text = run.text()
    assert "Playing Tiny" in text and "step 1 of 1 | " in text and "Only" in text
    assert "\x1b[K" in text and "Stopped." in text and "Traceback" not in text
    assert termios.tcgetattr(run.slave) == run.before
    captured = capture.read_bytes()
    assert 0 < len(captured) < len(good["frames"])
    assert captured == good["frames"][: len(captured)]


@needs_alsa
def test_ctrl_c_in_a_terminal_restores_it(tmp_path: Path, good: dict, pty_run: list) -> None:
    env = coach_env(tmp_path, good["cache"], tmp_path / "device.raw", paced_conf(tmp_path))
    run = PtyCoach(["-m", "coach", "play", GOOD], env)
    pty_run.append(run)
    run.wait_for("elapsed")
    run.send(b"\x03")
    assert run.finish() == 130
    assert "Stopped." in run.text() and "Traceback" not in run.text()
    assert termios.tcgetattr(run.slave) == run.before


@needs_alsa
def test_sigterm_in_a_terminal_restores_it(tmp_path: Path, good: dict, pty_run: list) -> None:
    env = coach_env(tmp_path, good["cache"], tmp_path / "device.raw", paced_conf(tmp_path))
    run = PtyCoach(["-m", "coach", "play", GOOD], env)
    pty_run.append(run)
    run.wait_for("elapsed")
    run.process.terminate()
    assert run.finish() == 128 + signal.SIGTERM
    assert "Traceback" not in run.text()
    assert termios.tcgetattr(run.slave) == run.before


# The real command line, with the audio device failing on its third open.
FLAKY_DEVICE = r"""
import sys
import simpleaudio
from simpleaudio._simpleaudio import SimpleaudioError
real, opened = simpleaudio.play_buffer, []

def play_buffer(*args):
    opened.append(1)
    if len(opened) == 3:
        raise SimpleaudioError("Error opening PCM device. -- CODE: -19 -- MSG: No such device")
    return real(*args)

simpleaudio.play_buffer = play_buffer
from coach.cli import main
sys.argv = ["coach", *sys.argv[1:]]
main()
"""


@needs_alsa
def test_device_lost_mid_session_in_a_terminal(tmp_path: Path, good: dict, pty_run: list) -> None:
    env = coach_env(tmp_path, good["cache"], tmp_path / "device.raw", paced_conf(tmp_path))
    run = PtyCoach(["-c", FLAKY_DEVICE, "play", GOOD], env)
    pty_run.append(run)
    assert run.finish() == 1
    text = run.text()
    assert text.count("The audio device failed during playback") == 1, text
    assert "No such device" in text and "coach export" in text and "Traceback" not in text
    assert termios.tcgetattr(run.slave) == run.before


@needs_alsa
@pytest.mark.parametrize("stdin", ["pipe", "devnull", "closed", "tty-but-stderr-piped"])
def test_without_a_terminal_it_plays_to_the_end(tmp_path: Path, good: dict, stdin: str) -> None:
    """(k) No keys and no status line; never a crash, whatever stdin is."""
    capture = tmp_path / "device.raw"
    env = coach_env(tmp_path, good["cache"], capture)
    if stdin == "tty-but-stderr-piped":
        run = PtyCoach(["-m", "coach", "play", GOOD], env, stderr_pty=False)
        try:
            _, err = run.process.communicate(timeout=120)
            code = run.process.returncode
            stderr = err.decode()
            assert termios.tcgetattr(run.slave) == run.before
        finally:
            run.close()
    else:
        command = [sys.executable, "-m", "coach", "play", GOOD]
        if stdin == "closed":  # the process starts with no file descriptor 0 at all
            command = ["sh", "-c", 'exec "$@" 0<&-', "sh", *command]
        done = subprocess.run(
            command,
            input="q q q\n" if stdin == "pipe" else None,
            stdin=subprocess.DEVNULL if stdin != "pipe" else None,
            capture_output=True,
            text=True,
            env=env,
            timeout=120,
            cwd=ROOT,
        )
        code, stderr = done.returncode, done.stderr
    assert code == 0, stderr
    assert "Done." in stderr and "Ctrl-C stops." in stderr
    assert "\r" not in stderr and "\x1b[K" not in stderr and "elapsed" not in stderr
    assert capture.read_bytes() == good["frames"]
