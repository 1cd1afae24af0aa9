"""Compile: a checked syntax tree plus the user's pacing becomes a plan of timed segments."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, fields, replace

from coach import nodes
from coach.checkins import add_candidates, name_candidates
from coach.defaults import DEFAULT_GAP, DEFAULT_RATE, DEFAULT_TEMPO_PERIOD
from coach.diagnostics import Position
from coach.plan import Overlay, Phase, PhaseKind, Plan, Segment, Side, SpeechLine
from coach.texts import substitute as substitute  # part of this module's interface
from coach.words import ENGLISH, spoken_in, words_for

LEAD_IN = 0.5  # seconds of silence before the first cue, so no player clips it

LEAD_IN_COUNT = 5  # the spoken countdown of --lead-in: 5, 4, 3, 2, 1
LEAD_IN_FULL = 9.0  # seconds a lead-in needs for the full invitation and countdown
END_SOUND = "bell"
STEP_SOUND = "chime"
# A word on a beat (a count, a beat word) starts this long after its click, so the click is
# heard clear of the voice.
AFTER_CLICK = 0.08
# Quiet after a hiss before the next cue, and the shortest hiss worth playing (seconds).
AFTER_HISS = 0.55
SHORTEST_HISS = 0.25


@dataclass(frozen=True)
class Pacing:
    """The settings in force at one point of a routine."""

    period: float = DEFAULT_TEMPO_PERIOD
    rate: int = DEFAULT_RATE
    voice: str | None = None
    gap: float = DEFAULT_GAP
    side: Side = "both"


@dataclass(frozen=True)
class Breath:
    """A breath cycle pattern from `--breath "4-6"`: in, hold after in, out, hold after out."""

    inhale: float
    exhale: float
    hold_in: float = 0.0
    hold_out: float = 0.0


@dataclass(frozen=True)
class Overrides:
    """The listener's pacing (command line over profile): it beats the routine's settings.

    None means "not set here". `tempo_scale` multiplies reps per minute (`--slower 20` is
    0.8); `volume` and `click_volume` are gains for speech and the metronome; `lead_in` is
    seconds of spoken countdown before the first cue.
    """

    period: float | None = None
    rate: int | None = None
    voice: str | None = None
    gap: float | None = None
    pitch: int | None = None
    volume: float | None = None
    click_volume: float | None = None
    tempo_scale: float | None = None
    breath: Breath | None = None
    lead_in: float | None = None
    loudness: float | None = None  # LUFS, integrated

    def apply(self, pacing: Pacing) -> Pacing:
        return Pacing(
            period=self.period if self.period is not None else pacing.period,
            rate=self.rate if self.rate is not None else pacing.rate,
            voice=self.voice if self.voice is not None else pacing.voice,
            gap=self.gap if self.gap is not None else pacing.gap,
            side=pacing.side,
        )

    def over(self, lower: Overrides) -> Overrides:
        """These overrides, with `lower`'s filling every field not set here."""
        merged = {
            f.name: getattr(self, f.name)
            if getattr(self, f.name) is not None
            else getattr(lower, f.name)
            for f in fields(self)
        }
        return Overrides(**merged)


def compile_routine(routine: nodes.Routine, overrides: Overrides | None = None) -> Plan:
    """Flatten `routine` into segments; the routine must already have passed the checker."""
    language = spoken_in(routine.header.language)
    compiler = _Compiler(overrides or Overrides(), language)
    pacing = compiler.settle(Pacing(), routine.header.settings)
    compiler.segments.append(Segment(steps=(), seconds=LEAD_IN))
    if compiler.overrides.lead_in:
        compiler.segments.append(compiler.lead_in(compiler.overrides.lead_in, pacing))
    intro = len(compiler.segments)
    compiler.block(routine.body, pacing, {}, ())
    name_candidates(compiler.segments, routine.header)  # check-ins: coach/checkins.py
    compiler.segments.append(Segment(steps=(), sound=END_SOUND))
    chosen = compiler.overrides
    return Plan(
        routine.header.title,
        compiler.step_names,
        compiler.segments,
        speech_gain=chosen.volume if chosen.volume is not None else 1.0,
        click_gain=chosen.click_volume if chosen.click_volume is not None else 1.0,
        loudness=chosen.loudness,
        intro_segments=intro,
        step_starts=compiler.step_starts,
        stereo=compiler.stereo,
        language=language,
    )


class _Compiler:
    def __init__(self, overrides: Overrides, language: str = ENGLISH):
        self.overrides = overrides
        self.language = language
        self.words = words_for(language)
        self.side: Side = "both"  # of the statement being compiled
        self.stereo = False  # a `side:` setting was met
        self.segments: list[Segment] = []
        self.step_names: list[str] = []
        self.step_starts: list[int] = []
        self.pending_chimes = 0
        self._speakers: dict[Pacing, Callable[[str], SpeechLine]] = {}
        self._effective: dict[Pacing, Pacing] = {}

    def effective(self, pacing: Pacing) -> Pacing:
        """`pacing` with the listener's overrides over it (the same few, asked thousands of
        times in a long routine)."""
        found = self._effective.get(pacing)
        if found is None:
            found = self._effective[pacing] = self.overrides.apply(pacing)
        return found

    def settle(
        self,
        pacing: Pacing,
        settings: Sequence[nodes.Setting],
        names: Mapping[str, str] | None = None,
    ) -> Pacing:
        for setting in settings:
            pacing = self.setting(pacing, setting, names or {})
        return pacing

    def setting(
        self, pacing: Pacing, setting: nodes.Setting, names: Mapping[str, str] | None = None
    ) -> Pacing:
        value = setting.value
        if setting.key == "side":
            self.stereo = True
            side = substitute(str(value), names or {}).strip().lower()
            # The checker allows only left, right and both.
            return replace(pacing, side="left" if side == "left" else _right_or_both(side))
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
        return self.speaker(pacing)(text)

    def speaker(self, pacing: Pacing) -> Callable[[str], SpeechLine]:
        """A maker of lines spoken at `pacing` (one for each pacing: a long routine speaks
        thousands of lines at a handful of pacings)."""
        found = self._speakers.get(pacing)
        if found is None:
            effective = self.effective(pacing)
            voice, rate, pitch = effective.voice, effective.rate, self.overrides.pitch
            language = self.language

            def found(text: str) -> SpeechLine:
                return SpeechLine(text, voice, rate, pitch, language)

            self._speakers[pacing] = found
        return found

    def add(self, segment: Segment, position: Position | None = None) -> None:
        segment.position = position  # also the line of its overlays that name none
        segment.side = self.side
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
                pacing = self.setting(pacing, statement, names)
            else:
                self.statement(statement, pacing, names, steps)

    def statement(
        self,
        statement: nodes.Statement,
        pacing: Pacing,
        names: Mapping[str, str],
        steps: tuple[int, ...],
    ) -> None:
        effective = self.effective(pacing)
        where = getattr(statement, "position", None)
        self.side = pacing.side
        match statement:
            case nodes.Say(text=text):
                spoken = substitute(text.raw, names)
                self.add(Segment(steps, line=self.line(spoken, pacing), gap=effective.gap), where)
            case nodes.Pause(seconds=seconds):
                self.add(Segment(steps, seconds=seconds), where)
            case nodes.Hold():
                self.add(self.hold(statement, pacing, steps), where)
            case nodes.Breathe():
                self.add(self.breathe(statement, pacing, steps), where)
            case nodes.Repeat():
                self.add(self.repeat(statement, pacing, names, steps), where)
            case nodes.Sound(name=name):
                sound = name if statement.is_builtin else self.path(statement)
                self.add(Segment(steps, sound=sound), where)
            case nodes.Step(name=name, body=body):
                index = len(self.step_names)
                self.step_names.append(substitute(name.raw, names))
                self.step_starts.append(len(self.segments))
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
        if isinstance(statement, (nodes.Hold, nodes.Repeat)) and statement.check_in is not None:
            # Check-ins: candidates that lay-out moves into free time (coach/checkins.py).
            own = statement.settings if isinstance(statement, nodes.Repeat) else []
            add_candidates(self.segments[-1], statement, self.line("", self.settle(pacing, own)))

    @staticmethod
    def path(sound: nodes.Sound) -> str:
        from pathlib import PurePath

        return str(PurePath(sound.base_dir) / sound.name)

    def lead_in(self, seconds: float, pacing: Pacing) -> Segment:
        """A spoken countdown before the first cue, so the listener can get into position.

        The invitation takes about 3.5 s to say, so short lead-ins get a shorter one and a
        shorter countdown rather than cues talking over each other.
        """
        whole = int(seconds)
        if seconds >= LEAD_IN_FULL:
            invite = self.words.lead_in.format(seconds=whole)
            count = LEAD_IN_COUNT
        elif seconds >= 4:
            invite, count = self.words.get_ready, min(3, whole - 2)
        else:
            invite, count = "", whole - 1
        overlays = [Overlay(0.0, "speech", self.line(invite, pacing))] if invite else []
        for number in range(count, 0, -1):
            overlays.append(Overlay(seconds - number, "speech", self.line(str(number), pacing)))
        return Segment((), seconds=seconds, overlays=overlays)

    def hold(self, hold: nodes.Hold, pacing: Pacing, steps: tuple[int, ...]) -> Segment:
        overlays: list[Overlay] = []
        if hold.halfway:
            halfway = self.line(self.words.halfway, pacing)
            overlays.append(Overlay(hold.seconds / 2, "speech", halfway))
        if hold.countdown:
            # N..1, one a second, so "one" sounds in the last second of the hold.
            for number in range(hold.countdown, 0, -1):
                at = hold.seconds - number
                overlays.append(Overlay(at, "speech", self.line(str(number), pacing)))
        phase = Phase("hold", 0.0, hold.seconds, countdown=hold.countdown or 0)
        return Segment(steps, seconds=hold.seconds, overlays=overlays, phases=(phase,))

    def breathe(self, breathe: nodes.Breathe, pacing: Pacing, steps: tuple[int, ...]) -> Segment:
        if self.overrides.breath is not None:  # --breath "4-6" paces every breathe statement
            pattern = self.overrides.breath
            breathe = replace(
                breathe,
                inhale=pattern.inhale,
                exhale=pattern.exhale,
                hold_in=pattern.hold_in,
                hold_out=pattern.hold_out,
            )
        cycle = breathe.inhale + breathe.hold_in + breathe.exhale + breathe.hold_out
        overlays: list[Overlay] = []
        phases: list[Phase] = []
        for number in range(breathe.count):
            start = number * cycle
            phases += _breath_phases(breathe, start)
            first, last = number == 0, number == breathe.count - 1 and breathe.count > 2
            said = self.words
            inhale = said.last_breath_in if last and not first else said.breathe_in
            exhale = said.breathe_out
            overlays.append(Overlay(start, "speech", self.line(inhale, pacing)))
            at = start + breathe.inhale
            if breathe.hold_in:
                overlays.append(Overlay(at, "speech", self.line(said.hold, pacing)))
                at += breathe.hold_in
            hiss = breathe.exhale - AFTER_HISS
            if breathe.hiss and hiss >= SHORTEST_HISS:
                overlays.append(Overlay(at, "hiss", seconds=hiss))
            overlays.append(Overlay(at, "speech", self.line(exhale, pacing)))
            at += breathe.exhale
            if breathe.hold_out:
                overlays.append(Overlay(at, "speech", self.line(said.hold, pacing)))
        return Segment(steps, cycle * breathe.count, overlays=overlays, phases=tuple(phases))

    def repeat(
        self,
        repeat: nodes.Repeat,
        pacing: Pacing,
        names: Mapping[str, str],
        steps: tuple[int, ...],
    ) -> Segment:
        # Settings inside the repeat block (rate, voice, gap) pace its counts and beat words.
        pacing = self.settle(pacing, repeat.settings, names)
        self.side = pacing.side
        # --tempo beats both the routine's tempo setting and a repeat's own `at TEMPO`.
        period = self.overrides.period or repeat.period or self.effective(pacing).period
        period /= self.overrides.tempo_scale or 1.0
        beats = [(substitute(b.word.raw, names), b.position) for b in repeat.beats]
        every = repeat.count_every.every if repeat.count_every else 0
        counted_at = repeat.count_every.position if repeat.count_every else None
        overlays: list[Overlay] = []
        say = self.speaker(pacing)
        for rep in range(repeat.count):
            start = rep * period
            if beats:
                for number, (word, where) in enumerate(beats):
                    at = start + period * number / len(beats)
                    overlays.append(Overlay(at, "click", None, number == 0))
                    if rep == 0:
                        spoken = say(word.capitalize())
                        cue = Overlay(at + AFTER_CLICK, "speech", spoken, position=where)
                        overlays.append(cue)
            else:
                overlays.append(Overlay(start, "click", accent=True))
            counted = rep + 1
            announce = every and (counted % every == 0 or counted == repeat.count)
            if announce and not (rep == 0 and beats):
                # The last count ends with the last rep, so no one stops a rep early.
                ends = start + period if counted == repeat.count else None
                at = start + AFTER_CLICK
                count = Overlay(at, "speech", say(str(counted)), position=counted_at, ends=ends)
                overlays.append(count)
        return Segment(
            steps,
            seconds=period * repeat.count,
            overlays=overlays,
            reps=repeat.count,
            period=period,
        )


def _right_or_both(side: str) -> Side:
    return "right" if side == "right" else "both"


def _breath_phases(breathe: nodes.Breathe, start: float) -> list[Phase]:
    """One breath cycle from `start`: in, its hold, out (with its hiss), its hold."""
    parts: list[tuple[PhaseKind, float]] = [
        ("in", breathe.inhale),
        ("hold-in", breathe.hold_in),
        ("out", breathe.exhale),
        ("hold-out", breathe.hold_out),
    ]
    phases = []
    for kind, seconds in parts:
        if seconds > 0:
            phases.append(Phase(kind, start, seconds, hiss=kind == "out" and breathe.hiss))
        start += seconds
    return phases
