"""Live sessions: pause, skip, back, quit and --from, heard through the captured ALSA device."""

from __future__ import annotations

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
from helpers import (
    FakeStream,
    assert_played,
    count_opens,
    device_env,
    first_sound,
    paced_conf,
    run_coach,
)

from coach.feed import FADE_SECONDS
from coach.mixer import mix_all
from coach.player import Player
from coach.steps import find_step
from coach.timeline import Chapter, Timeline

termios = pytest.importorskip("termios")

ROOT = Path(__file__).resolve().parent.parent
CAPTURE_CONF = Path(__file__).resolve().parent / "alsa-capture.conf"
GOOD = str(Path(__file__).parent / "fixtures" / "cli" / "good.routine")


# ---------------------------------------------------------------------------------------
# The player in this process, through a stream without a device.


def test_state_knows_where_a_lead_in_leads(demo_session) -> None:
    timeline, bank = demo_session
    step = timeline.chapters[2].start
    player = Player(
        timeline, bank, output=FakeStream(speed=20), ranges=[(0, RATE), (step, timeline.length)]
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
    """A user's environment with the device captured to `capture` (opens counted in
    opens.txt beside it)."""
    return {
        **device_env(capture, capture.with_name("opens.txt"), conf),
        "COACH_CACHE_DIR": str(cache),
        "COACH_CONFIG": str(tmp_path / "no-profile.toml"),
        "PYTHONPATH": str(ROOT),
    }


def wait_until(condition, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.002)


def session_bytes(timeline: Timeline, bank) -> bytes:
    return mix_all(timeline, bank).astype("<i2").tobytes()


def frames(data: bytes) -> np.ndarray:
    return np.frombuffer(data, "<i2")


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
    assert_played(capture.read_bytes(), frames(wall["frames"][2 * wall["starts"][index] :]))
    assert count_opens(capture.with_name("opens.txt")) == 1
    assert f"from step {index + 1} of 8" in result.stderr and "Done." in result.stderr
    assert "\r" not in result.stderr  # no terminal: no status line


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
    assert_played(
        capture.read_bytes(), frames(whole[: 2 * timeline.intro_end] + whole[2 * step :])
    )


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
    assert not capture.exists() or capture.read_bytes() == b""  # opened, nothing played


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


def test_keys_through_a_terminal(tmp_path: Path, good: dict, pty_run: list) -> None:
    """(j) Real keys: space pauses (status says so), space resumes, q quits; the terminal's
    settings are exactly as before and the device got a prefix of the session."""
    capture = tmp_path / "device.raw"
    env = coach_env(tmp_path, good["cache"], capture, paced_conf(tmp_path, 1))
    run = PtyCoach(["-m", "coach", "play", GOOD], env)
    pty_run.append(run)
    run.wait_for(" left | ")  # the status line is up (not "left arrow" in the keys)
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
    assert "\x1b[K" in text and "Stopped in step 1 of 1" in text and "Traceback" not in text
    assert termios.tcgetattr(run.slave) == run.before
    # The device got the session up to the pause, a 5 ms fade, then silence while paused.
    audio, whole = frames(capture.read_bytes()), frames(good["frames"])
    lead = first_sound(audio) - first_sound(whole)
    heard = audio[lead:]
    cut = int(np.flatnonzero(heard[: len(whole)] != whole[: len(heard)])[0])
    assert cut > RATE // 2
    fade = FADE_SECONDS * RATE
    assert not heard[cut + round(fade) : cut + round(fade) + RATE // 2].any()


def test_ctrl_c_in_a_terminal_restores_it(tmp_path: Path, good: dict, pty_run: list) -> None:
    env = coach_env(tmp_path, good["cache"], tmp_path / "device.raw", paced_conf(tmp_path, 1))
    run = PtyCoach(["-m", "coach", "play", GOOD], env)
    pty_run.append(run)
    run.wait_for(" left | ")  # the status line is up (not "left arrow" in the keys)
    run.send(b"\x03")
    assert run.finish() == 130
    assert "Stopped " in run.text() and "Traceback" not in run.text()
    assert termios.tcgetattr(run.slave) == run.before


def test_sigterm_in_a_terminal_restores_it(tmp_path: Path, good: dict, pty_run: list) -> None:
    env = coach_env(tmp_path, good["cache"], tmp_path / "device.raw", paced_conf(tmp_path, 1))
    run = PtyCoach(["-m", "coach", "play", GOOD], env)
    pty_run.append(run)
    run.wait_for(" left | ")  # the status line is up (not "left arrow" in the keys)
    run.process.terminate()
    assert run.finish() == 128 + signal.SIGTERM
    assert "Traceback" not in run.text()
    assert termios.tcgetattr(run.slave) == run.before


# A device that is lost part way: its pipe closes after 100,000 bytes, as a USB headset
# pulled out would stop taking audio.
LOST_DEVICE = 'pcm.!default {{ type file slave.pcm {{ type null }} format "raw" file "{}" }}\n'


def test_device_lost_mid_session_in_a_terminal(tmp_path: Path, good: dict, pty_run: list) -> None:
    conf = tmp_path / "lost.conf"
    conf.write_text(LOST_DEVICE.format(f"|head -c 100000 > {tmp_path / 'device.raw'}"))
    env = coach_env(tmp_path, good["cache"], tmp_path / "unused.raw", conf)
    run = PtyCoach(["-m", "coach", "play", GOOD], env)
    pty_run.append(run)
    assert run.finish() == 1
    text = run.text()
    assert text.count("The audio device failed during playback") == 1, text
    assert "Broken pipe" in text and "coach export" in text and "Traceback" not in text
    assert "ALSA lib" not in text and "Expression" not in text  # no library chatter
    assert termios.tcgetattr(run.slave) == run.before


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
    assert "\r" not in stderr and "\x1b[K" not in stderr and "left |" not in stderr
    assert_played(capture.read_bytes(), frames(good["frames"]))
