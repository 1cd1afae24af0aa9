"""Checker: bounds, names and structure of a parsed routine, as positioned diagnostics; pure."""

from __future__ import annotations

import difflib
import re
from collections.abc import Collection, Iterator, Sequence
from dataclasses import dataclass, replace

from coach import nodes
from coach.defaults import DEFAULT_GAP, DEFAULT_RATE, DEFAULT_TEMPO_PERIOD, DEFAULT_VOICE
from coach.diagnostics import Diagnostic, Position
from coach.parser import NAME
from coach.units import format_duration, format_tempo

__all__ = [
    "DEFAULT_GAP",
    "DEFAULT_RATE",
    "DEFAULT_TEMPO_PERIOD",
    "DEFAULT_VOICE",
    "check",
    "estimate_seconds",
    "placeholders",
]

MAX_REPEAT = 1000
MAX_BREATHE = 200
MAX_DURATION = 2 * 3600.0  # one duration
MAX_ROUTINE = 4 * 3600.0  # a whole routine, counting only its timed parts
MAX_FOR_ITEMS = 100
RATE_RANGE = (80, 450)  # words per minute
TEMPO_RANGE = (1.0, 240.0)  # reps per minute
MIN_BEAT = 0.25  # seconds; shorter beats are hard to follow (a warning)
_EPSILON = 1e-9
_HEADER_KEYS = "|".join(nodes.HEADER_TEXT_KEYS + nodes.SETTING_KEYS)
_HEADER_OR_BLANK = re.compile(rf"\s*(#.*|({_HEADER_KEYS})\s*:.*)?$", re.DOTALL)


def check(routine: nodes.Routine, known_voices: Collection[str] | None = None) -> list[Diagnostic]:
    """Every problem the parser cannot see: bounds, placeholder names, voices, totals."""
    checker = _Checker(routine, known_voices)
    checker.run()
    return checker.diagnostics


def estimate_seconds(routine: nodes.Routine) -> float:
    """Seconds of the routine's timed parts (pauses, holds, breaths, reps); speech not counted."""
    period = _tempo(DEFAULT_TEMPO_PERIOD, routine.header.settings)
    return sum(_Estimate.block(routine.body, period))


@dataclass(frozen=True)
class Placeholder:
    """A `{name}` in a text, or a problem with braces; `offset` is the index of the brace."""

    offset: int
    name: str | None
    problem: str | None = None
    hint: str | None = None


def placeholders(raw: str) -> Iterator[Placeholder]:
    """The `{name}` placeholders and brace problems of a text; `{{` and `}}` are literal."""
    index = 0
    while index < len(raw):
        char = raw[index]
        if raw.startswith(("{{", "}}"), index):
            index += 2
        elif char == "{":
            close = raw.find("}", index + 1)
            opened = raw.find("{", index + 1)
            if close == -1 or -1 < opened < close:
                yield Placeholder(index, None, "unmatched '{'", "write '{{' for a literal brace")
                index += 1
                continue
            name = raw[index + 1 : close]
            if NAME.fullmatch(name):
                yield Placeholder(index, name)
            else:
                hint = "a placeholder is a for variable in braces, like {zone}; '{{' is a brace"
                yield Placeholder(index, None, f"'{{{name}}}' is not a valid placeholder", hint)
            index = close + 1
        elif char == "}":
            yield Placeholder(index, None, "unmatched '}'", "write '}}' for a literal brace")
            index += 1
        else:
            index += 1


@dataclass(frozen=True)
class _Scope:
    """What is in force at one point: the tempo and the enclosing `for` variables."""

    period: float
    variables: tuple[tuple[str, Position], ...] = ()

    def names(self) -> list[str]:
        return [name for name, _ in self.variables]


class _Checker:
    def __init__(self, routine: nodes.Routine, known_voices: Collection[str] | None) -> None:
        self.routine = routine
        self.known_voices = None if known_voices is None else sorted(known_voices)
        self.diagnostics: list[Diagnostic] = []

    def run(self) -> None:
        header = self.routine.header
        if not header.title.strip():
            hint = "start the file with a line like 'title: Morning stretch'"
            self.report(Position(self.routine.path, 1, 1), "missing title", hint)
        for setting in header.settings:
            self.setting(setting)
        if self.is_empty():
            hint = "add statements such as 'say: Hello.' or 'pause 5s' after the header"
            self.report(Position(self.routine.path, 1, 1), "the routine has no statements", hint)
        scope = _Scope(_tempo(DEFAULT_TEMPO_PERIOD, header.settings))
        self.block(self.routine.body, scope)
        self.total(scope.period)

    def is_empty(self) -> bool:
        """No statement at all; a statement line the parser rejected does not count as none."""
        if any(not isinstance(s, nodes.Setting) for s in self.routine.body):
            return False
        lines = self.routine.sources.get(self.routine.path, [])
        return not any(_HEADER_OR_BLANK.match(line) is None for line in lines)

    # Reporting -----------------------------------------------------------------------------

    def report(
        self, position: Position, message: str, hint: str | None = None, warning: bool = False
    ) -> None:
        self.diagnostics.append(self.routine.diagnostic(position, message, hint, warning))

    @staticmethod
    def at(node: _Valued, key: str) -> Position:
        """The position of one value of `node`, or of the statement when it is not known."""
        column = node.columns.get(key, node.position.column)
        return replace(node.position, column=column)

    # Walking -------------------------------------------------------------------------------

    def block(self, body: Sequence[nodes.Statement], scope: _Scope) -> None:
        for statement in body:
            if isinstance(statement, nodes.Setting):
                self.setting(statement)
                scope = _Scope(_tempo(scope.period, [statement]), scope.variables)
            else:
                self.statement(statement, scope)

    def statement(self, statement: nodes.Statement, scope: _Scope) -> None:
        if isinstance(statement, nodes.Say):
            self.text(statement.text, scope)
        elif isinstance(statement, nodes.Pause):
            self.duration(statement, "seconds", statement.seconds, "a pause")
        elif isinstance(statement, nodes.Hold):
            self.hold(statement)
        elif isinstance(statement, nodes.Breathe):
            self.breathe(statement)
        elif isinstance(statement, nodes.Repeat):
            self.repeat(statement, scope)
        elif isinstance(statement, nodes.Step):
            self.text(statement.name, scope)
            self.block(statement.body, scope)
        elif isinstance(statement, nodes.For):
            self.for_(statement, scope)
        elif isinstance(statement, nodes.Include):
            self.block(statement.body, scope)

    # Statements ----------------------------------------------------------------------------

    def setting(self, setting: nodes.Setting) -> None:
        value = setting.value
        where = self.at(setting, "value")
        if setting.key == "tempo" and isinstance(value, (int, float)):
            self.tempo(where, float(value))
        elif setting.key == "rate" and isinstance(value, (int, float)):
            low, high = RATE_RANGE
            if not low <= value <= high:
                message = f"rate {value:g} wpm is outside {low}..{high} words per minute"
                self.report(where, message)
        elif setting.key == "gap" and isinstance(value, (int, float)):
            self.duration(setting, "value", float(value), "a gap", allow_zero=True)
        elif setting.key == "voice" and self.known_voices is not None:
            self.voice(where, str(value))

    def tempo(self, where: Position, period: float) -> None:
        low, high = TEMPO_RANGE
        per_minute = 60.0 / period if period > 0 else float("inf")
        if not low - _EPSILON <= per_minute <= high + _EPSILON:
            message = f"tempo {format_tempo(period)} is outside {low:g}..{high:g} reps per minute"
            self.report(where, message, "one rep every 0.25s to every 60s")

    def voice(self, where: Position, voice: str) -> None:
        voices = self.known_voices or []
        if voice in voices:
            return
        close = difflib.get_close_matches(voice, voices, n=1, cutoff=0.6)
        hint = f"did you mean '{close[0]}'?" if close else "run 'coach voices' to list the voices"
        self.report(where, f"unknown voice '{voice}'", hint)

    def duration(
        self, node: _Valued, key: str, seconds: float, what: str, allow_zero: bool = False
    ) -> None:
        where = self.at(node, key)
        if seconds <= 0 and not allow_zero:
            self.report(where, f"{what} must last longer than 0 seconds")
        elif seconds > MAX_DURATION + _EPSILON:
            message = f"{what} of {format_duration(seconds)} is over the 2 hour limit"
            self.report(where, message, "one duration may be at most 2 hours")

    def hold(self, hold: nodes.Hold) -> None:
        self.duration(hold, "seconds", hold.seconds, "a hold")
        countdown = hold.countdown
        if countdown is None:
            return
        if countdown < 1:
            self.report(self.at(hold, "countdown"), "countdown must be at least 1")
        elif countdown > hold.seconds + _EPSILON:
            message = (
                f"countdown {countdown} is longer than the {format_duration(hold.seconds)} hold"
            )
            hint = "the countdown speaks one number a second, ending with the hold"
            self.report(self.at(hold, "countdown"), message, hint)
        elif hold.halfway and countdown > hold.seconds / 2:
            message = "the halfway cue falls inside the countdown"
            self.report(self.at(hold, "halfway"), message, warning=True)

    def breathe(self, breathe: nodes.Breathe) -> None:
        if not 1 <= breathe.count <= MAX_BREATHE:
            message = f"breathe count {breathe.count} is outside 1..{MAX_BREATHE}"
            self.report(self.at(breathe, "count"), message)
        self.duration(breathe, "inhale", breathe.inhale, "a breath in")
        self.duration(breathe, "exhale", breathe.exhale, "a breath out")
        self.duration(breathe, "hold_in", breathe.hold_in, "a hold", allow_zero=True)
        self.duration(breathe, "hold_out", breathe.hold_out, "a hold", allow_zero=True)

    def repeat(self, repeat: nodes.Repeat, scope: _Scope) -> None:
        if not 1 <= repeat.count <= MAX_REPEAT:
            message = f"repeat count {repeat.count} is outside 1..{MAX_REPEAT}"
            self.report(self.at(repeat, "count"), message)
        own_tempo = not any(setting.key == "tempo" for setting in repeat.settings)
        if repeat.period is not None and own_tempo:
            self.tempo(self.at(repeat, "period"), repeat.period)
        for setting in repeat.settings:
            self.setting(setting)
        for beat in repeat.beats:
            self.text(beat.word, scope)
        if repeat.count_every is not None and repeat.count_every.every < 1:
            self.report(self.at(repeat.count_every, "every"), "'count every' must be at least 1")
        period = repeat.period if repeat.period is not None else scope.period
        if repeat.beats and period / len(repeat.beats) < MIN_BEAT:
            each = period / len(repeat.beats)
            message = f"each beat lasts only {each:.2g}s at this tempo"
            hint = f"beats shorter than {MIN_BEAT:g}s are hard to follow; slow the tempo down"
            self.report(self.at(repeat, "period"), message, hint, warning=True)

    def for_(self, loop: nodes.For, scope: _Scope) -> None:
        if len(loop.items) > MAX_FOR_ITEMS:
            message = f"the for list has {len(loop.items)} items, over the limit of {MAX_FOR_ITEMS}"
            self.report(self.at(loop, f"items[{MAX_FOR_ITEMS}]"), message)
        where = self.at(loop, "variable")
        for name, outer in scope.variables:
            if name == loop.variable:
                message = f"'{name}' hides the for variable of the same name on line {outer.line}"
                self.report(where, message, "use another name", warning=True)
        inner = _Scope(scope.period, (*scope.variables, (loop.variable, where)))
        self.block(loop.body, inner)
        self.block(loop.between, inner)

    def text(self, text: nodes.Text, scope: _Scope) -> None:
        names = scope.names()
        for found in placeholders(text.raw):
            where = replace(text.position, column=text.position.column + found.offset)
            if found.problem is not None:
                self.report(where, found.problem, found.hint)
            elif found.name not in names:
                self.report(
                    where, f"unknown placeholder '{{{found.name}}}'", _scope_hint(found, names)
                )

    # Totals --------------------------------------------------------------------------------

    def total(self, period: float) -> None:
        """The whole routine at most 4 hours; reported where the running total passes it."""
        running = 0.0
        estimates = _Estimate.block(self.routine.body, period)
        for statement, seconds in zip(self.routine.body, estimates, strict=True):
            running += seconds
            if running > MAX_ROUTINE + _EPSILON:
                message = (
                    f"the routine lasts at least {format_duration(running)} by here,"
                    " over the 4 hour limit for a whole routine"
                )
                hint = "this counts only pauses, holds, breaths and reps; speech adds more"
                self.report(statement.position, message, hint)
                return


_Valued = (
    nodes.Setting
    | nodes.Pause
    | nodes.Hold
    | nodes.Breathe
    | nodes.Repeat
    | nodes.CountEvery
    | nodes.For
    | nodes.Include
    | nodes.Sound
)


class _Estimate:
    """Seconds of fixed timing per statement, with the tempo in force.

    Values outside their bounds count at the bound, so one mistake is reported once.
    """

    @staticmethod
    def block(body: Sequence[nodes.Statement], period: float) -> list[float]:
        seconds = []
        for statement in body:
            if isinstance(statement, nodes.Setting):
                period = _tempo(period, [statement])
                seconds.append(0.0)
            else:
                seconds.append(_Estimate.statement(statement, period))
        return seconds

    @staticmethod
    def statement(statement: nodes.Statement, period: float) -> float:
        if isinstance(statement, (nodes.Pause, nodes.Hold)):
            return _clamp(statement.seconds, MAX_DURATION)
        if isinstance(statement, nodes.Breathe):
            parts = (statement.inhale, statement.hold_in, statement.exhale, statement.hold_out)
            cycle = sum(_clamp(part, MAX_DURATION) for part in parts)
            return _clamp(statement.count, MAX_BREATHE) * cycle
        if isinstance(statement, nodes.Repeat):
            own = statement.period if statement.period is not None else period
            return _clamp(statement.count, MAX_REPEAT) * _clamp(own, 60.0 / TEMPO_RANGE[0])
        if isinstance(statement, (nodes.Step, nodes.Include)):
            return sum(_Estimate.block(statement.body, period))
        if isinstance(statement, nodes.For):
            count = min(len(statement.items), MAX_FOR_ITEMS)
            body = sum(_Estimate.block(statement.body, period))
            between = sum(_Estimate.block(statement.between, period))
            return count * body + max(count - 1, 0) * between
        return 0.0


def _clamp(value: float, high: float) -> float:
    return min(max(value, 0.0), high)


def _tempo(period: float, settings: Sequence[nodes.Setting]) -> float:
    """The tempo period after `settings`, ignoring values the checker reports as bad."""
    for setting in settings:
        value = setting.value
        if setting.key == "tempo" and isinstance(value, (int, float)) and value > 0:
            period = float(value)
    return period


def _scope_hint(found: Placeholder, names: list[str]) -> str:
    if not names:
        return "no for variable is in scope here; write '{{' for a literal brace"
    close = difflib.get_close_matches(found.name or "", names, n=1, cutoff=0.6)
    listed = ", ".join(f"{{{name}}}" for name in dict.fromkeys(names))
    prefix = f"did you mean '{{{close[0]}}}'? " if close else ""
    return f"{prefix}names in scope: {listed}"
