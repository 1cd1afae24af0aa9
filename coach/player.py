"""Live sink: the session played through one open output stream, controlled by commands."""

from __future__ import annotations

import bisect
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from coach import commands, sounds
from coach.clipprep import level_speech
from coach.device import OutputStream, open_output
from coach.diagnostics import AudioDeviceError
from coach.feed import COMMANDS, Feed
from coach.mixer import SourceBank, pan_gains
from coach.status import where_text
from coach.steps import Range
from coach.timeline import Event, Timeline

Progress = Callable[[int, int], None]
#: Text to int16 speech at the session's rate (the session's voice, through its clip cache).
Speaker = Callable[[str], NDArray[Any]]

PROGRESS_SECONDS = 0.25  # how often on_progress hears the position while playing
WATCH_SECONDS = 0.02  # how soon the player notices the first sound and the end

__all__ = ["COMMANDS", "Player", "PlayerState", "play"]


@dataclass(frozen=True)
class PlayerState:
    """A snapshot of a player for a status display (positions in samples)."""

    position: int  # the sample sounding now (estimated from the device's latency)
    remaining: int  # samples still to play, in play order
    paused: bool  # paused and already silent
    started: bool  # sound has been sent to the device
    finished: bool
    note: str = ""  # a short word from the player, e.g. why a command did nothing
    heading_to: int | None = None  # in a lead-in before a jump: where the jump goes


class Player:
    """Plays a timeline through one output stream, controlled by commands from any thread.

    The stream is opened once for the whole session (or given, already open, as `output`),
    with the timeline's channels (two for a routine that uses `side:`), and pulls the audio
    from a `Feed`: without pauses or skips the device gets exactly what
    `mix_all` gives. Pause fades out within a few milliseconds of the device's next buffer;
    resume goes on where the fade ended, or from the start of the spoken line it cut.
    `next_step()` and `back()` fade out and go on from a step's start; `quit()` fades out
    and ends. `ranges` is the play order (default: the whole session), e.g. a lead-in and
    then a step: `[(0, intro_end), (step_start, length)]`.
    """

    def __init__(
        self,
        timeline: Timeline,
        bank: SourceBank,
        on_progress: Progress | None = None,
        output: OutputStream | None = None,
        *,
        ranges: Sequence[Range] | None = None,
        speaker: Speaker | None = None,
    ) -> None:
        self.timeline = timeline
        self.bank = bank
        self.on_progress = on_progress
        self.speaker = speaker
        self._speech: tuple[list[int], list[Event]] | None = None  # for `again`
        self.feed = Feed(timeline, bank, ranges if ranges is not None else [(0, timeline.length)])
        self._output = output
        self._latency = 0
        self.answers: list[str] = []  # what `where` was asked to say, in order

    # -- the input interface: safe to call from any thread, also from on_progress --

    def command(self, name: str) -> None:
        """Run a command by name: one of coach.commands.NAMES."""
        if name == "again":
            self.again()
        elif name == "where":
            self.where()
        elif name in commands.NAMES:
            self.feed.command(name)
        else:
            raise ValueError(f"unknown player command {name!r}; known: {', '.join(commands.NAMES)}")

    def again(self) -> None:
        """Say the last spoken line again (heard or being heard), then go on."""
        position = self.state().position
        if self._speech is None:  # by start, and stably so: the last of equal starts wins
            spoken = sorted((e for e in self.timeline.events if e.kind == "speech"), key=_start)
            self._speech = ([e.start for e in spoken], spoken)
        starts, spoken = self._speech
        index = bisect.bisect_right(starts, position) - 1
        if index < 0:
            return
        last = spoken[index]
        levelled = self.bank.levelled(last)[: last.length] * last.gain
        self.feed.say(self._as_played(levelled, last.side))  # in the ear it was said in

    def where(self) -> None:
        """Say where the session is (step, rep) in the session's voice, then go on. The words
        are made on a thread of their own, so the other commands are not kept waiting."""
        if self.speaker is None:
            return
        text = where_text(self.timeline, self.state().position)
        self.answers.append(text)
        speaker = self.speaker

        def speak() -> None:
            try:
                clip = speaker(text).astype(np.float64) / 32768.0
                self.feed.say(self._as_played(level_speech(clip, self.timeline.sample_rate)))
            except Exception:  # nothing to say this time; playback goes on regardless
                pass

        threading.Thread(target=speak, name="coach-where", daemon=True).start()

    def confirm(self) -> None:
        """Sound the short blip that says a voice command was heard."""
        blip = sounds.confirmation(self.timeline.sample_rate)
        self.feed.cue(self._as_played(blip))

    def _as_played(self, samples: NDArray[Any], side: str = "both") -> NDArray[Any]:
        """Float mono samples at the session's loudness, as int16 frames for the device; in
        a stereo session placed on `side` as the mixer places the session's own sounds."""
        gain = self.bank.session_gain(self.timeline)
        scaled = np.asarray(samples, np.float32) * gain
        if self.timeline.channels == 2:
            scaled = scaled[:, None] * np.asarray(pan_gains(side), np.float32)
        scaled = np.clip(scaled, -1.0, 32767 / 32768)
        played: NDArray[Any] = np.rint(scaled * 32768.0).astype(np.int16)
        return played

    def pause(self) -> None:
        self.feed.command("pause")

    def resume(self) -> None:
        self.feed.command("resume")

    def toggle_pause(self) -> None:
        self.feed.command("toggle")

    def next_step(self) -> None:
        """Skip to the start of the next step."""
        self.feed.command("next")

    def back(self) -> None:
        """Back to the start of the step playing; again within 1.5 s: the step before."""
        self.feed.command("back")

    def quit(self) -> None:
        """Fade out and stop; `run` returns soon after."""
        self.feed.command("quit")

    # -- state --

    @property
    def played(self) -> list[Range]:
        """The session spans sent to the device so far, in order."""
        return self.feed.played

    @property
    def paused(self) -> bool:
        return self.feed.paused

    @property
    def stopped(self) -> bool:
        """Whether playback was stopped (quit) rather than played to its end."""
        return self.feed.stopped

    def state(self) -> PlayerState:
        """A snapshot for a status line (safe from any thread)."""
        feed = self.feed
        where = feed.where()
        position, remaining = where.position, where.remaining
        paused = feed.paused
        if not paused and feed.started and not feed.finished:
            # The device is still sounding what was sent `latency` ago.
            behind = min(self._latency, position - where.range_start)
            position, remaining = position - behind, remaining + behind
        return PlayerState(
            position, remaining, paused, feed.started, feed.finished, feed.note(), where.ahead
        )

    # -- playing --

    def run(self) -> None:
        """Play the session; returns when it has been heard to the end or quit.
        KeyboardInterrupt and AudioDeviceError pass through once the sound has stopped."""
        feed = self.feed
        try:
            if feed.finished:
                return
            output, channels = self._output, self.timeline.channels
            if output is not None and output.channels != channels:
                # Opened before the session was known (coach play looks for a device before
                # rendering any speech): a session in stereo needs it again, in stereo.
                output.close()
                output = None
            if output is None:
                output = open_output(self.timeline.sample_rate, channels)
            self._output = output
            self._latency = round(output.latency * self.timeline.sample_rate)
            feed.latency = output.latency
            producer = threading.Thread(target=feed.produce, name="coach-mix", daemon=True)
            producer.start()
            ended = threading.Event()
            output.play(feed.fill, ended.set)
            self._watch(ended)
            failure = feed.failure or output.failure()
            if failure is not None:
                raise failure
            if not feed.finished:
                raise AudioDeviceError("The audio device failed during playback")
        finally:
            if self._output is not None:
                self._output.close()
            feed.close()

    def _watch(self, ended: threading.Event) -> None:
        """Report progress until the stream ends: at the first sound, then every
        PROGRESS_SECONDS, and at the end."""
        reported: int | None = None
        waited = 0.0
        while not ended.wait(WATCH_SECONDS):
            waited += WATCH_SECONDS
            if not self.feed.started:
                continue
            if reported is None or waited >= PROGRESS_SECONDS:
                waited = 0.0
                reported = self.state().position
                self._report(reported)
        if self.feed.finished:
            self._report(self.timeline.length)

    def _report(self, position: int) -> None:
        if self.on_progress is not None:
            self.on_progress(position, self.timeline.length)


def play(timeline: Timeline, bank: SourceBank, on_progress: Progress | None = None) -> None:
    """Play the session on the default audio device; Ctrl-C stops it (KeyboardInterrupt)."""
    Player(timeline, bank, on_progress).run()


def _start(event: Event) -> int:
    return event.start
