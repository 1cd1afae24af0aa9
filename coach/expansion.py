"""Expansion: a routine's events, time and spoken lines once expanded, counted without it; pure.

Every `for`, `include` and `repeat` multiplies what its block makes, so a 4 KB file can
describe 10^16 cues. `Sizes` counts each statement's events and a low estimate of its
seconds in closed form (a loop is its body times its items), and finds the statement at
which a running total passes a bound. `first_line_past` enumerates distinct spoken lines,
which is only done once the event count is known to be bounded.

What counts as an event is what compile and lay-out make: a spoken line, a click, a sound,
a hiss, a step's chime and the closing bell. A statement that makes none (a pause, a setting)
counts as one all the same, because compiling steps through it: so the count bounds the
work of compiling too, and a routine under MAX_EVENTS never lays out more events.

Speech is estimated low, so that no real routine is refused: letters and digits at 6/rate
seconds each (0.04 s at 150 wpm, where espeak-ng measures 0.05 to 0.08 s a letter), a
placeholder counted with its shortest item, plus the gap after a `say:` line. Only `say:`
lines take time of their own; counts, countdowns and cues sound over timed parts.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace

from coach import nodes, words
from coach.bounds import (
    MAX_BREATHE,
    MAX_DURATION,
    MAX_FOR_ITEMS,
    MAX_REPEAT,
    RATE_RANGE,
    TEMPO_RANGE,
)
from coach.checkins import lines_of, nominal_count
from coach.diagnostics import Position
from coach.texts import fewest_letters, letters, substitute

SECONDS_PER_LETTER_AT_1_WPM = 6.0  # seconds per letter = this / rate
# Lengths of the built-in sounds as coach/sounds.py makes them (a test ties them together).
#: How long each built-in sound lasts: coach.sounds makes them this long, and lengths are
#: known from here without making them.
BUILTIN_SOUND_SECONDS = {
    "click": 0.2, "click-accent": 0.2, "chime": 1.5, "bell": 3.0, "tick": 0.008,
}  # fmt: skip


def builtin_sound_length(name: str, sample_rate: int) -> int:
    """Samples the built-in sound `name` lasts at `sample_rate` (KeyError for another name)."""
    return max(1, int(round(BUILTIN_SOUND_SECONDS[name] * sample_rate)))


CLOSING_EVENTS = 1  # the bell that ends every session

Size = tuple[int, float]  # (events, seconds)


@dataclass(frozen=True)
class Pace:
    """What is in force at one point of a routine, as far as its size goes."""

    period: float
    rate: float
    gap: float
    voice: str | None = None
    fewest: tuple[tuple[str, int], ...] = ()  # for variable -> fewest letters of its items

    def after(self, setting: nodes.Setting) -> Pace:
        """This pace after `setting`; values the checker rejects leave it as it was."""
        value = setting.value
        if setting.key == "voice":
            return replace(self, voice=str(value))
        if not isinstance(value, (int, float)):
            return self
        if setting.key == "tempo" and 60.0 / TEMPO_RANGE[1] <= value <= 60.0 / TEMPO_RANGE[0]:
            return replace(self, period=float(value))
        if setting.key == "rate" and RATE_RANGE[0] <= value <= RATE_RANGE[1]:
            return replace(self, rate=float(value))
        if setting.key == "gap" and 0 <= value <= MAX_DURATION:
            return replace(self, gap=float(value))
        return self

    def looping(self, loop: nodes.For) -> Pace:
        fewest = min((letters(item) for item in loop.items[:MAX_FOR_ITEMS]), default=0)
        return replace(self, fewest=(*self.fewest, (loop.variable, fewest)))


def items(loop: nodes.For) -> int:
    return min(len(loop.items), MAX_FOR_ITEMS)


def clamp(value: float, high: float) -> float:
    """Values outside their bounds count at the bound, so one mistake is reported once."""
    return min(max(value, 0.0), high)


def countdown(hold: nodes.Hold) -> int:
    return int(clamp(hold.countdown or 0, clamp(hold.seconds, MAX_DURATION)))


def check_ins(statement: nodes.Statement, period: float) -> int:
    """How many check-ins a hold or a repeat (at `period`, unless it has its own) asks for,
    as compiled: one each `check in every D` before its end or its countdown."""
    if not isinstance(statement, (nodes.Hold, nodes.Repeat)) or statement.check_in is None:
        return 0
    if isinstance(statement, nodes.Hold):
        span = clamp(statement.seconds, MAX_DURATION) - countdown(statement)
    else:
        own = statement.period if statement.period is not None else period
        span = int(clamp(statement.count, MAX_REPEAT)) * clamp(own, 60.0 / TEMPO_RANGE[0])
    return nominal_count(span, statement.check_in)


def announced(repeat: nodes.Repeat) -> list[int]:
    """The rep numbers a repeat speaks (`count every K`, the last rep always), as compiled."""
    if repeat.count_every is None or repeat.count_every.every < 1:
        return []
    count, every = int(clamp(repeat.count, MAX_REPEAT)), repeat.count_every.every
    first = 2 if repeat.beats else 1  # the first rep speaks its beat words instead
    spoken = list(range(max(every, first), count + 1, every))
    if count >= first and count % every:
        spoken.append(count)
    return spoken


class Sizes:
    """Events and low seconds of statements, each measured once, in the pace in force."""

    def __init__(self) -> None:
        # id of a statement -> the pace it was measured in, and its size. A statement has one
        # place in the tree, so one pace; the pace is kept to be sure.
        self.known: dict[int, tuple[Pace, Size]] = {}

    def routine(self, routine: nodes.Routine, pace: Pace) -> Size:
        events, seconds = self.block(routine.body, pace)
        return events + CLOSING_EVENTS, seconds

    def block(self, body: Sequence[nodes.Statement], pace: Pace) -> Size:
        events, seconds = 0, 0.0
        for statement in body:
            if isinstance(statement, nodes.Setting):
                pace = pace.after(statement)
            more, longer = self.statement(statement, pace)
            events += more
            seconds += longer
        return events, seconds

    def statement(self, statement: nodes.Statement, pace: Pace) -> Size:
        known = self.known.get(id(statement))
        if known is not None and (known[0] is pace or known[0] == pace):
            return known[1]
        size = self.measure(statement, pace)
        self.known[id(statement)] = (pace, size)
        return size

    def measure(self, statement: nodes.Statement, pace: Pace) -> Size:
        if isinstance(statement, nodes.Say):
            raw = statement.text.raw
            shown = fewest_letters(raw, dict(pace.fewest)) if "{" in raw else letters(raw)
            speech = shown / pace.rate
            return 1, speech * SECONDS_PER_LETTER_AT_1_WPM + pace.gap
        if isinstance(statement, nodes.Pause):
            return 1, clamp(statement.seconds, MAX_DURATION)
        if isinstance(statement, nodes.Hold):
            cues = countdown(statement) + statement.halfway + check_ins(statement, pace.period)
            return max(cues, 1), clamp(statement.seconds, MAX_DURATION)
        if isinstance(statement, nodes.Breathe):
            return self.breathe(statement)
        if isinstance(statement, nodes.Repeat):
            return self.repeat(statement, pace)
        if isinstance(statement, nodes.Sound):
            seconds = BUILTIN_SOUND_SECONDS.get(statement.name, 0.0)
            return 1, seconds if statement.is_builtin else statement.seconds
        if isinstance(statement, nodes.Step):
            events, seconds = self.block(statement.body, pace)
            return events + 1, seconds  # its chime
        if isinstance(statement, nodes.Include):
            events, seconds = self.block(statement.body, pace)
            return max(events, 1), seconds
        if isinstance(statement, nodes.For):
            return self.loop(statement, pace)
        return 1, 0.0  # a setting

    @staticmethod
    def breathe(breathe: nodes.Breathe) -> Size:
        count = int(clamp(breathe.count, MAX_BREATHE))
        parts = (breathe.inhale, breathe.hold_in, breathe.exhale, breathe.hold_out)
        cycle = sum(clamp(part, MAX_DURATION) for part in parts)
        cues = 2 + bool(breathe.hold_in) + bool(breathe.hold_out) + breathe.hiss
        return max(count * cues, 1), count * cycle

    @staticmethod
    def repeat(repeat: nodes.Repeat, pace: Pace) -> Size:
        count = int(clamp(repeat.count, MAX_REPEAT))
        beats = len(repeat.beats)
        clicks = count * max(beats, 1)
        events = clicks + (beats if count else 0) + len(announced(repeat))
        events += check_ins(repeat, pace.period)
        period = repeat.period if repeat.period is not None else pace.period
        return max(events, 1), count * clamp(period, 60.0 / TEMPO_RANGE[0])

    def loop(self, loop: nodes.For, pace: Pace) -> Size:
        count = items(loop)
        inner = pace.looping(loop)
        events, seconds = self.block(loop.body, inner)
        gaps, gap_seconds = self.block(loop.between, inner)
        between = max(count - 1, 0)
        return count * max(events, 1) + between * gaps, count * seconds + between * gap_seconds

    def passing(
        self, body: Sequence[nodes.Statement], pace: Pace, start: float, limit: float, part: int
    ) -> tuple[nodes.Statement, float] | None:
        """Where the running total of `part` (0 events, 1 seconds), from `start`, first passes
        `limit` as the routine plays: the innermost statement, and the total after it."""
        running = start
        for statement in body:
            if isinstance(statement, nodes.Setting):
                pace = pace.after(statement)
            size = self.statement(statement, pace)[part]
            if running + size > limit:
                found = self.inside(statement, pace, running, limit, part)
                return found or (statement, running + size)
            running += size
        return None

    def inside(
        self, statement: nodes.Statement, pace: Pace, start: float, limit: float, part: int
    ) -> tuple[nodes.Statement, float] | None:
        """Where, inside a statement whose total passes `limit`, the running total passes it."""
        if isinstance(statement, nodes.Step):
            start += 1 - part  # its chime
            return None if start > limit else self.passing(statement.body, pace, start, limit, part)
        if isinstance(statement, nodes.Include):
            return self.passing(statement.body, pace, start, limit, part)
        if not isinstance(statement, nodes.For):
            return None
        inner = pace.looping(statement)
        body = self.block(statement.body, inner)[part]
        between = self.block(statement.between, inner)[part]
        if body + between > 0:  # skip the passes that stay under the limit
            passes = min((limit - start) // (body + between), items(statement) - 1)
            start += max(passes, 0) * (body + between)
        found = self.passing(statement.body, inner, start, limit, part)
        if found is None:
            found = self.passing(statement.between, inner, start + body, limit, part)
        return found


def first_line_past(routine: nodes.Routine, pace: Pace, limit: int) -> tuple[Position, int] | None:
    """Where the routine, as it plays, speaks its distinct line number `limit + 1`, and how
    many distinct lines it has by the end of that statement; None if it has at most `limit`.

    Only to be called when the events are bounded: it walks every expanded statement. Lines
    are told apart by text, voice and rate, as speech synthesis tells them apart, and kept as
    hashes so memory stays small.
    """
    said = words.words_for(words.spoken_in(routine.header.language))
    lines = _Lines(limit, lines_of(routine.header), said)
    found = lines.block(routine.body, pace, {})
    return None if found is None else (found, len(lines.seen))


class _Lines:
    def __init__(self, limit: int, check_in_lines: list[str], said: words.Words) -> None:
        self.limit = limit
        self.said = said
        self.seen: set[int] = set()
        self.check_in_lines = check_in_lines
        self.turn = 0  # the check-in line next in turn, through the whole session
        # Statements whose lines never vary, done: (id, voice, rate).
        self.fixed: set[tuple[int, str | None, float]] = set()

    def block(
        self, body: Sequence[nodes.Statement], pace: Pace, names: dict[str, str]
    ) -> Position | None:
        for statement in body:
            if isinstance(statement, nodes.Setting):
                pace = pace.after(statement)
                continue
            found = self.statement(statement, pace, names)
            if found is not None:
                return found
        return None

    def statement(
        self, statement: nodes.Statement, pace: Pace, names: dict[str, str]
    ) -> Position | None:
        if isinstance(statement, (nodes.Step, nodes.Include)):
            return self.block(statement.body, pace, names)
        if isinstance(statement, nodes.For):
            count = items(statement)
            for number, item in enumerate(statement.items[:count]):
                inner = {**names, statement.variable: item}
                found = self.block(statement.body, pace, inner)
                if found is None and number < count - 1:
                    found = self.block(statement.between, pace, inner)
                if found is not None:
                    return found
            return None
        key = (id(statement), pace.voice, pace.rate)
        if key in self.fixed:
            return None
        texts = self.spoken(statement, names)
        turns = check_ins(statement, pace.period)
        if isinstance(statement, nodes.Repeat):
            pace = nodes_pace(pace, statement.settings)
        texts += self.check_in_texts(turns)
        for text in texts:
            self.seen.add(hash((text, pace.voice, pace.rate)))
        if len(self.seen) > self.limit:
            return statement.position
        if not _varies(statement) and not turns:  # check-in lines depend on the turn
            self.fixed.add(key)
        return None

    def check_in_texts(self, turns: int) -> list[str]:
        """The check-in lines of `turns` check-ins from the current turn; moves the turn on."""
        lines = self.check_in_lines
        texts = [lines[(self.turn + n) % len(lines)] for n in range(min(turns, len(lines)))]
        self.turn = (self.turn + turns) % len(lines)
        return texts

    def spoken(self, statement: nodes.Statement, names: dict[str, str]) -> list[str]:
        """The texts one statement speaks, as the compiler words them."""
        if isinstance(statement, nodes.Say):
            raw = statement.text.raw
            return [substitute(raw, names) if "{" in raw or "}" in raw else raw]
        if isinstance(statement, nodes.Hold):
            halfway = [self.said.halfway] if statement.halfway else []
            return halfway + [str(n) for n in range(countdown(statement), 0, -1)]
        if isinstance(statement, nodes.Breathe):
            count = int(clamp(statement.count, MAX_BREATHE))
            texts = self.said.breath_words(count)
            return texts + ([self.said.hold] if statement.hold_in or statement.hold_out else [])
        if isinstance(statement, nodes.Repeat):
            beats = [substitute(b.word.raw, names).capitalize() for b in statement.beats]
            return (beats if statement.count >= 1 else []) + [str(n) for n in announced(statement)]
        return []


def nodes_pace(pace: Pace, settings: Sequence[nodes.Setting]) -> Pace:
    for setting in settings:
        pace = pace.after(setting)
    return pace


def _varies(statement: nodes.Statement) -> bool:
    """Whether a statement's spoken lines can differ between passes of a loop."""
    if isinstance(statement, nodes.Say):
        return "{" in statement.text.raw
    if isinstance(statement, nodes.Repeat):
        return any("{" in beat.word.raw for beat in statement.beats)
    return False
