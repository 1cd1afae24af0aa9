"""coach.live without a device: the --from play order, and a live session's wiring of the
player to the terminal (status line, keys, the announcement) through a fake output."""

from __future__ import annotations

import io
import os
from dataclasses import replace

import numpy as np
import pytest
from conftest import RATE
from helpers import FakeStream

from coach.diagnostics import CoachError
from coach.live import LiveSession, UnknownStep, play_ranges, ranges_seconds
from coach.mixer import mix_all
from coach.status import HELP


class FakeTerminal(io.StringIO):
    """Text written to a "terminal" without a file descriptor (the status line's width
    falls back to 80 columns)."""

    def isatty(self) -> bool:
        return True


class FakeStdin:
    """A pipe that says it is a terminal."""

    def __init__(self, stream: io.TextIOBase) -> None:
        self.stream = stream

    def isatty(self) -> bool:
        return True

    def fileno(self) -> int:
        return self.stream.fileno()


class Recorder:
    """The announcement and echo callbacks of a session, recording what they are given."""

    def __init__(self) -> None:
        self.keys: list[bool] = []
        self.echoed: list[str] = []

    def announcement(self, keys: bool) -> str:
        self.keys.append(keys)
        return f"Playing Demo. keys={keys}"

    def echo(self, text: str) -> None:
        self.echoed.append(text)


# ---------------------------------------------------------------------------------------
# play_ranges


def test_without_a_step_the_whole_session_plays(demo_session) -> None:
    timeline, _ = demo_session
    assert play_ranges(timeline, None) == ([(0, timeline.length)], None)
    assert ranges_seconds(timeline, [(0, timeline.length)]) == timeline.length / RATE


def test_from_a_step_without_a_lead_in_starts_at_the_step(demo_session) -> None:
    timeline, _ = demo_session
    ranges, index = play_ranges(timeline, "reps")
    assert index == 1
    assert ranges == [(timeline.chapters[1].start, timeline.length)]


def test_from_a_step_after_a_spoken_lead_in(demo_session) -> None:
    timeline, _ = demo_session
    lead = replace(timeline, intro_end=RATE)  # the first speech starts at half a second
    ranges, index = play_ranges(lead, "3")
    assert index == 2
    assert ranges == [(0, RATE), (timeline.chapters[2].start, timeline.length)]
    assert ranges_seconds(lead, ranges) == (RATE + timeline.length - ranges[1][0]) / RATE


def test_a_silent_lead_in_is_skipped(make_timeline) -> None:
    from coach.timeline import Chapter

    timeline = make_timeline(10 * RATE, [], [Chapter("Only", 2 * RATE, 10 * RATE)])
    ranges, _ = play_ranges(replace(timeline, intro_end=2 * RATE), "only")
    assert ranges == [(2 * RATE, 10 * RATE)]


def test_an_unknown_step_is_a_named_error_listing_the_steps(demo_session) -> None:
    timeline, _ = demo_session
    with pytest.raises(UnknownStep) as raised:
        play_ranges(timeline, "stretch")
    assert isinstance(raised.value, CoachError) and isinstance(raised.value, ValueError)
    assert "no step is called 'stretch'" in str(raised.value)
    assert "   1  Warm up" in str(raised.value) and "   3  Breathe & finish" in str(raised.value)


# ---------------------------------------------------------------------------------------
# LiveSession


def test_without_a_terminal_it_plays_through_and_echoes_the_announcement(demo_session) -> None:
    timeline, bank = demo_session
    calls, output, stderr = Recorder(), FakeStream(), io.StringIO()
    session = LiveSession(
        timeline, bank, [(0, timeline.length)], calls.announcement, calls.echo, None, stderr, output
    )
    assert not session.interactive and not session.keys
    assert session.run() is False
    assert calls.keys == [False] and calls.echoed == ["Playing Demo. keys=False"]
    assert stderr.getvalue() == ""  # no status line: the session writes nothing itself
    assert np.array_equal(output.audio()[: timeline.length], mix_all(timeline, bank))


def test_quit_is_reported_as_stopped(demo_session) -> None:
    timeline, bank = demo_session
    calls = Recorder()
    session: LiveSession

    def echo(text: str) -> None:
        calls.echo(text)
        session.player.quit()

    session = LiveSession(
        timeline, bank, [(0, timeline.length)], calls.announcement, echo, None, io.StringIO(),
        FakeStream(speed=5),
    )  # fmt: skip
    assert session.run() is True
    assert calls.echoed == ["Playing Demo. keys=False"]


def test_a_terminal_without_single_keys_gets_the_status_line_only(demo_session) -> None:
    """stdin claims to be a terminal but is a pipe: cbreak mode fails, so it plays without
    keys and says so in the announcement, above the status line."""
    timeline, bank = demo_session
    calls, stderr = Recorder(), FakeTerminal()
    read, write = os.pipe()
    try:
        with os.fdopen(read, closefd=False) as pipe:
            stdin = FakeStdin(pipe)
            session = LiveSession(
                timeline, bank, [(0, timeline.length)], calls.announcement, calls.echo, stdin,
                stderr, FakeStream(),
            )  # fmt: skip
            assert session.interactive and session.keys
            assert session.run() is False
    finally:
        os.close(read)
        os.close(write)
    assert calls.keys == [False] and calls.echoed == []
    assert "\r\x1b[KPlaying Demo. keys=False\n" in stderr.getvalue()
    assert not session.keys


def test_keys_from_a_terminal_control_the_session(demo_session) -> None:
    """A real pseudo-terminal: the keys pressed once sound flows are read (? prints the keys
    above the line, q quits) and the terminal's settings are restored afterwards."""
    termios = pytest.importorskip("termios")
    timeline, bank = demo_session
    calls, stderr = Recorder(), FakeTerminal()
    master, slave = os.openpty()
    before = termios.tcgetattr(slave)

    def announcement(keys: bool) -> str:
        os.write(master, b"?q")
        return calls.announcement(keys)

    try:
        with os.fdopen(slave, closefd=False) as stdin:
            session = LiveSession(
                timeline, bank, [(0, timeline.length)], announcement, calls.echo, stdin,
                stderr, FakeStream(speed=1),
            )  # fmt: skip
            assert session.keys
            assert session.run() is True
        assert termios.tcgetattr(slave) == before
    finally:
        os.close(master)
        os.close(slave)
    assert calls.keys == [True] and calls.echoed == []
    text = stderr.getvalue()
    assert "Playing Demo. keys=True" in text and HELP in text
