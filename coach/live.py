"""Live session: a player wired to the terminal's keys and status line."""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager
from typing import TYPE_CHECKING, TextIO

from coach.device import OutputStream
from coach.diagnostics import CoachError
from coach.keys import KeyReader, is_terminal, keys_supported
from coach.mixer import SourceBank
from coach.player import Player, Speaker
from coach.status import HELP, StatusLine, status_text
from coach.steps import Range, find_step
from coach.timeline import Timeline

if TYPE_CHECKING:
    from coach.listen import Listener

#: Feeds a Listener from somewhere while its block runs (the default: the microphone).
Microphone = Callable[["Listener"], AbstractContextManager[None]]


class UnknownStep(CoachError, ValueError):
    """No step, or more than one, answers to the name or number asked for; the message lists
    the steps."""


def play_ranges(timeline: Timeline, from_step: str | None) -> tuple[list[Range], int | None]:
    """The play order for starting at `from_step` (see `find_step`), and that step's index.

    None plays the whole session (index None). From a step, a spoken lead-in (from --lead-in
    or the profile) is heard first, then the session from the step's start. UnknownStep for
    a step that is not there.
    """
    if from_step is None:
        return [(0, timeline.length)], None
    try:
        index = find_step(timeline, from_step)
    except ValueError as error:
        raise UnknownStep(str(error)) from None
    spoken = any(event.start < timeline.intro_end for event in timeline.events)
    ranges = [(0, timeline.intro_end)] if spoken else []
    ranges.append((timeline.chapters[index].start, timeline.length))
    return ranges, index


def ranges_seconds(timeline: Timeline, ranges: Sequence[Range]) -> float:
    """How long playing `ranges` of the session takes, in seconds."""
    return sum(end - start for start, end in ranges) / timeline.sample_rate


class LiveSession:
    """Plays `ranges` of a session, with a status line and keys when it has a terminal.

    With `stdin` and `stderr` both terminals, a status line is painted on `stderr` and, where
    the terminal can give single keys, keys read from `stdin` control the player; otherwise
    it just plays.

    Once sound flows, `announcement(keys)` gives the text to show once (`keys`: whether keys
    control playback); it goes above the status line, or to `echo` when there is none,
    followed by one line for each way of control that was asked for and cannot work here
    (no microphone, no session bus). The session never prints otherwise: messages are the
    caller's.

    `listen`: voice commands from `microphone` (default: the default input device), each
    confirmed by a short sound. `media_keys`: headphone and media buttons through MPRIS on
    the session D-Bus (Linux). Keys, voice and buttons all drive `Player.command`.
    """

    def __init__(
        self,
        timeline: Timeline,
        bank: SourceBank,
        ranges: Sequence[Range],
        announcement: Callable[[bool], str],
        echo: Callable[[str], None],
        stdin: TextIO | None,
        stderr: TextIO,
        output: OutputStream | None = None,
        *,
        speaker: Speaker | None = None,
        listen: bool = False,
        media_keys: bool = False,
        microphone: Microphone | None = None,
    ) -> None:
        self.timeline = timeline
        self.listen = listen
        self.media_keys = media_keys
        self.microphone = microphone
        self.notes: list[str] = []  # one line per control that cannot work here
        self.listener: Listener | None = None
        self.announcement = announcement
        self.echo = echo
        self.stdin = stdin
        self.stderr = stderr
        self.interactive = is_terminal(stdin) and is_terminal(stderr)
        self.keys = self.interactive and keys_supported(stdin)
        self.line: StatusLine | None = None
        self._announced = False
        self.player = Player(
            timeline,
            bank,
            on_progress=self._announce,
            output=output,
            ranges=ranges,
            speaker=speaker,
        )

    def run(self) -> bool:
        """Play to the end or until quit; whether it was stopped (quit). KeyboardInterrupt
        and device errors pass through once the sound, the line and the terminal are
        restored."""
        with contextlib.ExitStack() as stack:
            if self.interactive:
                self.line = stack.enter_context(StatusLine(self.stderr, self._render))
            if self.keys:
                try:
                    stack.enter_context(KeyReader(self._on_key, self.stdin))
                except OSError:  # a terminal that cannot do single keys: play without them
                    self.keys = False
            if self.listen:
                self._start_listening(stack)
            if self.media_keys:
                self._start_media_keys(stack)
            self.player.run()
        return self.player.stopped

    def _start_listening(self, stack: contextlib.ExitStack) -> None:
        from coach.listen import Listener, ListeningUnavailable, microphone

        try:
            listener = Listener(self._on_voice, self.player.feed.voice)
            stack.enter_context(listener)
            stack.enter_context((self.microphone or microphone)(listener))
        except ListeningUnavailable as error:
            self.notes.append(f"Not listening for voice commands: {error}.")
            return
        self.listener = listener

    def _start_media_keys(self, stack: contextlib.ExitStack) -> None:
        if not sys.platform.startswith("linux"):
            return
        from coach.mpris import MediaButtonsUnavailable, MediaPlayer

        try:
            stack.enter_context(MediaPlayer(self.timeline, self.player))
        except MediaButtonsUnavailable as error:
            self.notes.append(f"Media buttons are off: {error}.")

    def _on_voice(self, command: str) -> None:
        self.player.confirm()
        self.player.command(command)
        if self.line is not None:
            self.line.refresh()

    def _announce(self, position: int, length: int) -> None:
        # Announced once sound flows, so a missing device gives only its own message.
        if self._announced:
            return
        self._announced = True
        text = "\n".join([self.announcement(self.keys), *self.notes])
        if self.line is not None:
            self.line.print_above(text)
        else:
            self.echo(text)

    def _render(self, width: int) -> str | None:
        state = self.player.state()
        if not state.started:
            return None
        return status_text(
            self.timeline,
            state.position,
            state.remaining,
            state.paused,
            state.note,
            width,
            state.heading_to,
        )

    def _on_key(self, command: str) -> None:
        if command == "help":
            if self.line is not None:
                self.line.print_above(HELP)
            return
        self.player.command(command)
        if self.line is not None:
            self.line.refresh()
