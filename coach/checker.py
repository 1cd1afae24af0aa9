"""Checker: bounds, names and structure of a parsed routine, as positioned diagnostics; pure."""

from __future__ import annotations

import difflib
import re
from collections.abc import Collection, Sequence
from dataclasses import dataclass, replace

from coach import nodes
from coach.bounds import (
    MAX_BLOCK_DEPTH,
    MAX_BREATHE,
    MAX_DURATION,
    MAX_FOR_ITEMS,
    MAX_REPEAT,
    MAX_ROUTINE,
    MAX_TEXT_CHARS,
    RATE_RANGE,
    TEMPO_RANGE,
)
from coach.checkins import interval_warning
from coach.checktotals import routine_pace, total_problems
from coach.defaults import DEFAULT_GAP, DEFAULT_RATE, DEFAULT_TEMPO_PERIOD, DEFAULT_VOICE
from coach.diagnostics import Diagnostic, Position
from coach.expansion import Sizes
from coach.texts import Placeholder, filled_length, placeholders, substitute
from coach.units import format_duration, format_tempo
from coach.words import LANGUAGES, language_code

__all__ = [
    "DEFAULT_GAP",
    "DEFAULT_RATE",
    "DEFAULT_TEMPO_PERIOD",
    "DEFAULT_VOICE",
    "MAX_BREATHE",
    "MAX_DURATION",
    "MAX_FOR_ITEMS",
    "MAX_REPEAT",
    "MAX_ROUTINE",
    "Placeholder",
    "check",
    "estimate_seconds",
    "placeholders",
]

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
    """A low estimate of the routine's length: its timed parts (pauses, holds, breaths, reps),
    its sounds, and its speech as coach.expansion estimates it."""
    return Sizes().routine(routine, routine_pace(routine))[1]


@dataclass(frozen=True)
class _Scope:
    """What is in force at one point: the tempo and the enclosing `for` variables."""

    period: float
    variables: tuple[tuple[str, Position], ...] = ()
    longest: tuple[tuple[str, int], ...] = ()  # for variable -> length of its longest item
    depth: int = 0  # blocks around this point
    items: tuple[tuple[str, tuple[str, ...]], ...] = ()  # for variable -> its items

    def names(self) -> list[str]:
        return [name for name, _ in self.variables]


class _Checker:
    def __init__(self, routine: nodes.Routine, known_voices: Collection[str] | None) -> None:
        self.routine = routine
        self.known_voices = None if known_voices is None else sorted(known_voices)
        self.diagnostics: list[Diagnostic] = []
        self.unbounded = False  # too deep or a text too long: the lines are not enumerated

    def run(self) -> None:
        header = self.routine.header
        if not header.title.strip():
            hint = "start the file with a line like 'title: Morning stretch'"
            self.report(Position(self.routine.path, 1, 1), "missing title", hint)
        self.language(header)
        for setting in header.settings:
            self.setting(setting, _Scope(DEFAULT_TEMPO_PERIOD))
        for line in header.check_ins:  # no for variable is in scope in the header
            self.text(line, _Scope(DEFAULT_TEMPO_PERIOD))
        if self.is_empty():
            hint = "add statements such as 'say: Hello.' or 'pause 5s' after the header"
            self.report(Position(self.routine.path, 1, 1), "the routine has no statements", hint)
        scope = _Scope(_tempo(DEFAULT_TEMPO_PERIOD, header.settings))
        self.block(self.routine.body, scope)
        if not self.unbounded:
            self.totals()

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
        if body and scope.depth > MAX_BLOCK_DEPTH:
            # The parser and loader never build such a tree; one built otherwise is refused
            # here, before anything walks deeper.
            message = f"blocks are nested more than {MAX_BLOCK_DEPTH} deep"
            hint = f"a block may hold blocks at most {MAX_BLOCK_DEPTH} deep"
            self.report(body[0].position, message, hint)
            self.unbounded = True
            return
        for statement in body:
            if isinstance(statement, nodes.Setting):
                self.setting(statement, scope)
                scope = replace(scope, period=_tempo(scope.period, [statement]))
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
            self.block(statement.body, replace(scope, depth=scope.depth + 1))
        elif isinstance(statement, nodes.For):
            self.for_(statement, scope)
        elif isinstance(statement, nodes.Include):
            self.block(statement.body, scope)

    # Statements ----------------------------------------------------------------------------

    def language(self, header: nodes.Header) -> None:
        if not header.language or language_code(header.language) is not None:
            return
        where = header.places.get("language", Position(self.routine.path, 1, 1))
        spoken = ", ".join(f"{w.code} ({w.name})" for w in LANGUAGES.values())
        message = f"coach does not speak the language '{_shown(header.language)}'"
        self.report(where, message, f"choose one of {spoken}")

    def setting(self, setting: nodes.Setting, scope: _Scope) -> None:
        value = setting.value
        where = self.at(setting, "value")
        if setting.key == "side":
            self.side(setting, scope)
        if setting.key == "tempo" and isinstance(value, (int, float)):
            self.tempo(where, float(value))
        elif setting.key == "rate" and isinstance(value, (int, float)):
            low, high = RATE_RANGE
            if not low <= value <= high:
                message = f"rate {value:g} wpm is outside {low} to {high} words per minute"
                self.report(where, message)
        elif setting.key == "gap" and isinstance(value, (int, float)):
            self.duration(setting, "value", float(value), "a gap", allow_zero=True)
        elif setting.key == "voice" and self.known_voices is not None:
            self.voice(where, str(value))

    def side(self, setting: nodes.Setting, scope: _Scope) -> None:
        """`side:` is left, right or both, also with each item of a `for` it names filled in."""
        text = nodes.Text(str(setting.value), self.at(setting, "value"))
        before = len(self.diagnostics)
        self.text(text, scope)
        if len(self.diagnostics) > before:  # an unknown placeholder: already said
            return
        used = [name for name, _ in scope.items if "{" + name + "}" in text.raw]
        fillings: list[dict[str, str]] = [{}]
        for name in used:  # at most two for lists of 100 items are ever named here
            items = dict(scope.items)[name]
            fillings = [{**f, name: item} for f in fillings for item in items][:1000]
        choices = "left, right or both"
        for filling in fillings:
            side = substitute(text.raw, filling).strip().lower()
            if side not in nodes.SIDES:
                shown = _shown(substitute(text.raw, filling))
                given = f" (with {', '.join(f'{k} = {v!r}' for k, v in filling.items())})"
                message = f"side '{shown}'{given if filling else ''} is not {choices}"
                self.report(text.position, message, "write it like 'side: left'")
                return

    def tempo(self, where: Position, period: float) -> None:
        low, high = TEMPO_RANGE
        per_minute = 60.0 / period if period > 0 else float("inf")
        if not low - _EPSILON <= per_minute <= high + _EPSILON:
            message = f"tempo {format_tempo(period)} is outside {low:g} to {high:g} reps per minute"
            self.report(where, message, "one rep every 0.25s to every 60s")

    def voice(self, where: Position, voice: str) -> None:
        voices = self.known_voices or []
        if voice in voices:
            return
        close = difflib.get_close_matches(voice[:80], voices, n=1, cutoff=0.6)
        hint = f"did you mean '{close[0]}'?" if close else "run 'coach voices' to list the voices"
        shown = voice if len(voice) <= 60 else voice[:57] + "..."
        self.report(where, f"unknown voice '{shown}'", hint)

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
        self.check_in(hold, 0.0)
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

    def check_in(self, node: nodes.Hold | nodes.Repeat, period: float) -> None:
        """`check in every D`: within the one-duration bound, and a check-in can sound."""
        if node.check_in is None:
            return
        self.duration(node, "check_in", node.check_in, "a check-in interval")
        found = interval_warning(node, period) if 0 < node.check_in <= MAX_DURATION else None
        if found is not None:
            self.report(self.at(node, "check_in"), *found, warning=True)

    def breathe(self, breathe: nodes.Breathe) -> None:
        if not 1 <= breathe.count <= MAX_BREATHE:
            message = f"breathe count {breathe.count} is outside 1 to {MAX_BREATHE}"
            self.report(self.at(breathe, "count"), message)
        self.duration(breathe, "inhale", breathe.inhale, "a breath in")
        self.duration(breathe, "exhale", breathe.exhale, "a breath out")
        self.duration(breathe, "hold_in", breathe.hold_in, "a hold", allow_zero=True)
        self.duration(breathe, "hold_out", breathe.hold_out, "a hold", allow_zero=True)

    def repeat(self, repeat: nodes.Repeat, scope: _Scope) -> None:
        if not 1 <= repeat.count <= MAX_REPEAT:
            message = f"repeat count {repeat.count} is outside 1 to {MAX_REPEAT}"
            self.report(self.at(repeat, "count"), message)
        own_tempo = not any(setting.key == "tempo" for setting in repeat.settings)
        if repeat.period is not None and own_tempo:
            self.tempo(self.at(repeat, "period"), repeat.period)
        for setting in repeat.settings:
            self.setting(setting, scope)
        for beat in repeat.beats:
            self.text(beat.word, scope)
        if repeat.count_every is not None and repeat.count_every.every < 1:
            self.report(self.at(repeat.count_every, "every"), "'count every' must be at least 1")
        period = repeat.period if repeat.period is not None else scope.period
        self.check_in(repeat, period)
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
                shown = _shown(name)
                message = f"'{shown}' hides the for variable of the same name on line {outer.line}"
                self.report(where, message, "use another name", warning=True)
        longest = max((len(item) for item in loop.items), default=0)
        inner = replace(
            scope,
            variables=(*scope.variables, (loop.variable, where)),
            longest=(*scope.longest, (loop.variable, longest)),
            items=(*scope.items, (loop.variable, tuple(loop.items))),
            depth=scope.depth + 1,
        )
        self.block(loop.body, inner)
        self.block(loop.between, inner)

    def text(self, text: nodes.Text, scope: _Scope) -> None:
        self.text_length(text, scope)
        names = scope.names()
        for found in placeholders(text.raw):
            where = replace(text.position, column=text.position.column + found.offset)
            if found.problem is not None:
                self.report(where, found.problem, found.hint)
            elif found.name not in names:
                self.report(
                    where,
                    f"unknown placeholder '{{{_shown(found.name or '')}}}'",
                    _scope_hint(found, names),
                )

    def text_length(self, text: nodes.Text, scope: _Scope) -> None:
        """A spoken text at most MAX_TEXT_CHARS, with its placeholders filled in too."""
        written = len(text.raw)
        filled = filled_length(text.raw, dict(scope.longest)) if "{" in text.raw else written
        if max(filled, written) <= MAX_TEXT_CHARS:
            return
        bound = f"over the {MAX_TEXT_CHARS}-character limit for a spoken text"
        if written > MAX_TEXT_CHARS:
            message = f"this text is {written:,} characters long, {bound}"
        else:
            message = f"this text is up to {filled:,} characters long with its placeholders"
            message += f" filled in, {bound}"
        self.report(text.position, message, "split it into shorter lines")
        self.unbounded = True

    # Totals --------------------------------------------------------------------------------

    def totals(self) -> None:
        """Events, length and distinct spoken lines of the routine once expanded."""
        for where, message, hint in total_problems(self.routine):
            self.report(where, message, hint)


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
    close = difflib.get_close_matches((found.name or "")[:80], names, n=1, cutoff=0.6)
    listed = ", ".join(f"{{{name}}}" for name in dict.fromkeys(names))
    prefix = f"did you mean '{{{close[0]}}}'? " if close else ""
    return f"{prefix}names in scope: {listed}"


def _shown(name: str, limit: int = 40) -> str:
    """A name as messages quote it: a hostile file's name can be a megabyte long."""
    return name if len(name) <= limit else name[: limit - 3] + "..."
