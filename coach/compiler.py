"""Compile: a checked syntax tree plus the user's pacing becomes a plan of timed segments."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace

from coach import nodes
from coach.defaults import DEFAULT_GAP, DEFAULT_RATE, DEFAULT_TEMPO_PERIOD
from coach.plan import Overlay, Plan, Segment
from coach.speech import SpeechLine

LEAD_IN = 0.5  # seconds of silence before the first cue, so no player clips it

END_SOUND = "bell"
STEP_SOUND = "chime"


@dataclass(frozen=True)
class Pacing:
    """The settings in force at one point of a routine."""

    period: float = DEFAULT_TEMPO_PERIOD
    rate: int = DEFAULT_RATE
    voice: str | None = None
    gap: float = DEFAULT_GAP


@dataclass(frozen=True)
class Overrides:
    """Settings from the command line: they beat the routine's own."""

    period: float | None = None
    rate: int | None = None
    voice: str | None = None
    gap: float | None = None

    def apply(self, pacing: Pacing) -> Pacing:
        return Pacing(
            period=self.period if self.period is not None else pacing.period,
            rate=self.rate if self.rate is not None else pacing.rate,
            voice=self.voice if self.voice is not None else pacing.voice,
            gap=self.gap if self.gap is not None else pacing.gap,
        )


_PLACEHOLDER = re.compile(r"\{\{|\}\}|\{([A-Za-z_][A-Za-z0-9_-]*)\}")


def substitute(raw: str, names: Mapping[str, str]) -> str:
    """Replace `{name}` with its value; `{{` and `}}` are literal braces (checked earlier)."""

    def one(match: re.Match[str]) -> str:
        token = match.group(0)
        if token == "{{":
            return "{"
        if token == "}}":
            return "}"
        return names.get(match.group(1), token)

    return _PLACEHOLDER.sub(one, raw)


def compile_routine(routine: nodes.Routine, overrides: Overrides | None = None) -> Plan:
    """Flatten `routine` into segments; the routine must already have passed the checker."""
    compiler = _Compiler(overrides or Overrides())
    pacing = compiler.settle(Pacing(), routine.header.settings)
    compiler.segments.append(Segment(steps=(), seconds=LEAD_IN))
    compiler.block(routine.body, pacing, {}, ())
    compiler.segments.append(Segment(steps=(), sound=END_SOUND))
    return Plan(routine.header.title, compiler.step_names, compiler.segments)


class _Compiler:
    def __init__(self, overrides: Overrides):
        self.overrides = overrides
        self.segments: list[Segment] = []
        self.step_names: list[str] = []
        self.pending_chimes = 0

    def settle(self, pacing: Pacing, settings: Sequence[nodes.Setting]) -> Pacing:
        for setting in settings:
            pacing = self.setting(pacing, setting)
        return pacing

    def setting(self, pacing: Pacing, setting: nodes.Setting) -> Pacing:
        value = setting.value
        if setting.key == "tempo":
            pacing = replace(pacing, period=float(value))
        elif setting.key == "rate":
            pacing = replace(pacing, rate=int(value))
        elif setting.key == "voice":
            pacing = replace(pacing, voice=str(value))
        elif setting.key == "gap":
            pacing = replace(pacing, gap=float(value))
        return pacing

    def line(self, text: str, pacing: Pacing) -> SpeechLine:
        effective = self.overrides.apply(pacing)
        return SpeechLine(text=text, voice=effective.voice, rate=effective.rate)

    def add(self, segment: Segment) -> None:
        # A step's chime sounds over its first statement and takes no time of its own.
        if self.pending_chimes:
            segment.overlays.insert(0, Overlay(at=0.0, kind="sound", sound=STEP_SOUND))
            self.pending_chimes = 0
        self.segments.append(segment)

    def block(
        self,
        body: Sequence[nodes.Statement],
        pacing: Pacing,
        names: Mapping[str, str],
        steps: tuple[int, ...],
    ) -> None:
        for statement in body:
            if isinstance(statement, nodes.Setting):
                pacing = self.setting(pacing, statement)
            else:
                self.statement(statement, pacing, names, steps)

    def statement(
        self,
        statement: nodes.Statement,
        pacing: Pacing,
        names: Mapping[str, str],
        steps: tuple[int, ...],
    ) -> None:
        effective = self.overrides.apply(pacing)
        match statement:
            case nodes.Say(text=text):
                spoken = substitute(text.raw, names)
                self.add(Segment(steps, line=self.line(spoken, pacing), gap=effective.gap))
            case nodes.Pause(seconds=seconds):
                self.add(Segment(steps, seconds=seconds))
            case nodes.Hold():
                self.add(self.hold(statement, pacing, steps))
            case nodes.Breathe():
                self.add(self.breathe(statement, pacing, steps))
            case nodes.Repeat():
                self.add(self.repeat(statement, pacing, names, steps))
            case nodes.Sound(name=name):
                self.add(
                    Segment(steps, sound=name if statement.is_builtin else self.path(statement))
                )
            case nodes.Step(name=name, body=body):
                index = len(self.step_names)
                self.step_names.append(substitute(name.raw, names))
                self.pending_chimes += 1
                self.block(body, pacing, names, (*steps, index))
                self.pending_chimes = 0
            case nodes.For(variable=variable, items=items, body=body, between=between):
                for number, item in enumerate(items):
                    inner = {**names, variable: item}
                    self.block(body, pacing, inner, steps)
                    if between and number < len(items) - 1:
                        self.block(between, pacing, inner, steps)
            case nodes.Include(body=body):
                self.block(body, pacing, names, steps)

    @staticmethod
    def path(sound: nodes.Sound) -> str:
        from pathlib import PurePath

        return str(PurePath(sound.base_dir) / sound.name)

    def hold(self, hold: nodes.Hold, pacing: Pacing, steps: tuple[int, ...]) -> Segment:
        overlays: list[Overlay] = []
        if hold.halfway:
            overlays.append(Overlay(hold.seconds / 2, "speech", self.line("Halfway.", pacing)))
        if hold.countdown:
            # N..1, one a second, so "one" sounds in the last second of the hold.
            for number in range(hold.countdown, 0, -1):
                at = hold.seconds - number
                overlays.append(Overlay(at, "speech", self.line(str(number), pacing)))
        return Segment(steps, seconds=hold.seconds, overlays=overlays)

    def breathe(self, breathe: nodes.Breathe, pacing: Pacing, steps: tuple[int, ...]) -> Segment:
        cycle = breathe.inhale + breathe.hold_in + breathe.exhale + breathe.hold_out
        overlays: list[Overlay] = []
        for number in range(breathe.count):
            start = number * cycle
            first, last = number == 0, number == breathe.count - 1 and breathe.count > 2
            inhale = "Breathe in." if first else ("Last one. In." if last else "In.")
            exhale = "Breathe out." if first else "Out."
            overlays.append(Overlay(start, "speech", self.line(inhale, pacing)))
            at = start + breathe.inhale
            if breathe.hold_in:
                overlays.append(Overlay(at, "speech", self.line("Hold.", pacing)))
                at += breathe.hold_in
            if breathe.hiss:
                overlays.append(Overlay(at, "hiss", seconds=breathe.exhale))
            overlays.append(Overlay(at, "speech", self.line(exhale, pacing)))
            at += breathe.exhale
            if breathe.hold_out:
                overlays.append(Overlay(at, "speech", self.line("Hold.", pacing)))
        return Segment(steps, seconds=cycle * breathe.count, overlays=overlays)

    def repeat(
        self,
        repeat: nodes.Repeat,
        pacing: Pacing,
        names: Mapping[str, str],
        steps: tuple[int, ...],
    ) -> Segment:
        # Settings inside the repeat block (rate, voice, gap) pace its counts and beat words.
        pacing = self.settle(pacing, repeat.settings)
        # --tempo beats both the routine's tempo setting and a repeat's own `at TEMPO`.
        period = self.overrides.period or repeat.period or self.overrides.apply(pacing).period
        beats = [substitute(beat.word.raw, names) for beat in repeat.beats]
        every = repeat.count_every.every if repeat.count_every else 0
        overlays: list[Overlay] = []
        for rep in range(repeat.count):
            start = rep * period
            if beats:
                for number, word in enumerate(beats):
                    at = start + period * number / len(beats)
                    overlays.append(Overlay(at, "click", accent=number == 0))
                    if rep == 0:
                        overlays.append(Overlay(at, "speech", self.line(word.capitalize(), pacing)))
            else:
                overlays.append(Overlay(start, "click", accent=True))
            counted = rep + 1
            announce = every and (counted % every == 0 or counted == repeat.count)
            if announce and not (rep == 0 and beats):
                overlays.append(Overlay(start, "speech", self.line(str(counted), pacing)))
        return Segment(
            steps,
            seconds=period * repeat.count,
            overlays=overlays,
            reps=repeat.count,
            period=period,
        )
