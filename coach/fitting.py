"""Fit a routine to about N minutes (`--minutes N`): pure measuring, solving and rewriting.

Three factors change a routine's length, and nothing else does:

- `holds`: every `hold` and `pause` is scaled, from half to double its length, and a hold
  with a countdown never gets shorter than the countdown plus one second (nor, with a
  halfway cue, shorter than twice the countdown, so the halfway cue stays out of it);
- `reps`: every `repeat` count grows, up to double (and the 1000 bound); a count that is a
  multiple of its `count every N` stays one, so the counting keeps its pattern;
- `breaths`: every `breathe` cycle count grows, up to double (and the 200 bound).

Counts only ever go up, so shortening comes from holds and pauses alone. Speech, steps,
`for` items, tempos and breath patterns never change. The session (`coach.session.build`)
measures a compiled plan with `measure`, asks `solve` for factors, rewrites the tree with
`fit` and rebuilds; this module does no I/O.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, replace
from pathlib import PurePath

from coach import nodes
from coach.checker import MAX_BREATHE, MAX_DURATION, MAX_REPEAT
from coach.diagnostics import CoachError, Position
from coach.plan import Plan
from coach.units import format_length

HOLD_RANGE = (0.5, 2.0)  # holds and pauses: from half to double
COUNT_RANGE = (1.0, 2.0)  # rep and breath counts: never fewer, at most double
TOLERANCE_SHARE, TOLERANCE_FLOOR = 0.03, 20.0  # a fit within 3% or 20 s, whichever is more
_MAX_CANDIDATES = 40  # count factors tried per kind, so huge counts stay quick


class FitError(CoachError):
    """`--minutes N` asks for a length the routine cannot be fitted to."""


@dataclass(frozen=True)
class Factors:
    """How much to scale: holds and pauses (0.5..2), rep counts and breath counts (1..2)."""

    holds: float = 1.0
    reps: float = 1.0
    breaths: float = 1.0


Scalable = nodes.Pause | nodes.Hold | nodes.Repeat | nodes.Breathe


# Rewriting the tree ------------------------------------------------------------------------


def fit(routine: nodes.Routine, factors: Factors) -> nodes.Routine:
    """A new routine with holds, pauses, reps and breaths scaled by `factors`.

    The input is not changed. Positions are kept, so diagnostics still point at the lines
    the user wrote.
    """
    return replace(routine, body=_fit_block(routine.body, factors))


def fitted_seconds(node: nodes.Pause | nodes.Hold, factor: float) -> float:
    """The length of a pause or hold scaled by `factor`, within its bounds (0.1 s steps)."""
    seconds = node.seconds
    if factor == 1.0:
        return seconds
    low, high = seconds * HOLD_RANGE[0], seconds * HOLD_RANGE[1]
    scaled = min(max(round(seconds * factor, 1), low), high)
    return min(max(scaled, min(seconds, shortest(node))), max(seconds, MAX_DURATION))


def shortest(node: nodes.Pause | nodes.Hold) -> float:
    """The shortest a pause or hold may become, whatever the factor (before the 0.5x bound)."""
    if isinstance(node, nodes.Hold) and node.countdown:
        least = node.countdown + 1.0
        if node.halfway:
            least = max(least, 2.0 * node.countdown)
        return least
    return 0.0


def fitted_count(node: nodes.Repeat | nodes.Breathe, factor: float) -> int:
    """A rep or breath count scaled by `factor`: never below the routine's, at most double."""
    count = node.count
    step = count_step(node)
    top = count_ceiling(node)
    scaled = step * math.floor(count * factor / step + 0.5)
    return min(max(scaled, count), top)


def count_step(node: nodes.Repeat | nodes.Breathe) -> int:
    """Counts move in steps of `count every N` when the routine's count is a multiple of N."""
    if isinstance(node, nodes.Repeat) and node.count_every is not None:
        every = node.count_every.every
        if every > 1 and node.count % every == 0:
            return every
    return 1


def count_ceiling(node: nodes.Repeat | nodes.Breathe) -> int:
    bound = MAX_REPEAT if isinstance(node, nodes.Repeat) else MAX_BREATHE
    top = max(node.count, min(int(node.count * COUNT_RANGE[1]), bound))
    step = count_step(node)
    return max(node.count, top // step * step)


def _fit_block(body: Sequence[nodes.Statement], factors: Factors) -> list[nodes.Statement]:
    return [_fit_statement(statement, factors) for statement in body]


def _fit_statement(statement: nodes.Statement, factors: Factors) -> nodes.Statement:
    match statement:
        case nodes.Pause() | nodes.Hold():
            return replace(statement, seconds=fitted_seconds(statement, factors.holds))
        case nodes.Repeat():
            return replace(statement, count=fitted_count(statement, factors.reps))
        case nodes.Breathe():
            return replace(statement, count=fitted_count(statement, factors.breaths))
        case nodes.Step() | nodes.Include():
            return replace(statement, body=_fit_block(statement.body, factors))
        case nodes.For():
            return replace(
                statement,
                body=_fit_block(statement.body, factors),
                between=_fit_block(statement.between, factors),
            )
    return statement


def scalables(body: Sequence[nodes.Statement]) -> Iterator[Scalable]:
    """Every pause, hold, repeat and breathe of a block, nested ones included, in order."""
    for statement in body:
        if isinstance(statement, (nodes.Pause, nodes.Hold, nodes.Repeat, nodes.Breathe)):
            yield statement
        elif isinstance(statement, (nodes.Step, nodes.Include)):
            yield from scalables(statement.body)
        elif isinstance(statement, nodes.For):
            yield from scalables(statement.body)
            yield from scalables(statement.between)


# Measuring ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Part:
    """One scalable statement as a plan plays it: `uses` times, `seconds` in all."""

    node: Scalable
    uses: int
    seconds: float

    @property
    def kind(self) -> str:
        if isinstance(self.node, nodes.Repeat):
            return "reps"
        if isinstance(self.node, nodes.Breathe):
            return "breaths"
        return "holds"

    def fitted(self, factors: Factors) -> float:
        """Its seconds in all once fitted: counts scale the measured time linearly."""
        node = self.node
        if isinstance(node, (nodes.Pause, nodes.Hold)):
            return self.uses * fitted_seconds(node, factors.holds)
        factor = factors.reps if isinstance(node, nodes.Repeat) else factors.breaths
        return self.seconds * fitted_count(node, factor) / node.count


@dataclass(frozen=True)
class Timing:
    """A built session's length, split into the parts fitting can scale and the rest."""

    name: str
    total: float  # seconds, as laid out
    parts: tuple[Part, ...]

    @property
    def fixed(self) -> float:
        """Speech, sounds and everything else fitting never changes."""
        return self.total - sum(part.seconds for part in self.parts)

    def seconds(self, kind: str) -> float:
        return sum(part.seconds for part in self.parts if part.kind == kind)

    def predict(self, factors: Factors) -> float:
        return self.fixed + sum(part.fitted(factors) for part in self.parts)

    def growth(self, kind: str, factors: Factors) -> float:
        """How many times longer the `kind` parts get: the factor as the listener hears it."""
        before = self.seconds(kind)
        after = sum(part.fitted(factors) for part in self.parts if part.kind == kind)
        return after / before if before else 1.0

    def reach(self) -> tuple[float, float]:
        """The shortest and the longest the routine can be fitted to."""
        low = Factors(HOLD_RANGE[0], COUNT_RANGE[0], COUNT_RANGE[0])
        high = Factors(HOLD_RANGE[1], COUNT_RANGE[1], COUNT_RANGE[1])
        return self.predict(low), self.predict(high)


def measure(routine: nodes.Routine, plan: Plan, total: float) -> Timing:
    """Split `total` seconds of `routine`'s compiled `plan` into scalable parts and the rest."""
    by_position: dict[Position, Scalable] = {
        node.position: node for node in scalables(routine.body)
    }
    uses: dict[Position, int] = {}
    seconds: dict[Position, float] = {}
    for segment in plan.segments:
        where = segment.position
        if where is None or where not in by_position or segment.seconds is None:
            continue
        uses[where] = uses.get(where, 0) + 1
        length = segment.reps * segment.period if segment.reps else segment.seconds
        seconds[where] = seconds.get(where, 0.0) + length
    parts = tuple(Part(by_position[where], uses[where], seconds[where]) for where in uses)
    return Timing(routine_name(routine), total, parts)


def routine_name(routine: nodes.Routine) -> str:
    name = PurePath(routine.path).name
    return name.removesuffix(".routine") or name


# Solving -----------------------------------------------------------------------------------


def tolerance(target: float) -> float:
    """How far from the target a fitted session may land: 3%, and at least 20 s."""
    return max(TOLERANCE_SHARE * target, TOLERANCE_FLOOR)


def close_enough(seconds: float, target: float) -> bool:
    return abs(seconds - target) <= tolerance(target)


def check_reach(timing: Timing, target: float, minutes: float) -> None:
    """Raise FitError, naming the reachable range, when `target` seconds are out of reach."""
    low, high = timing.reach()
    if low - tolerance(target) <= target <= high + tolerance(target):
        return
    if target < low:
        why = (
            "holds and pauses shrink to half at most,"
            " and reps and breaths never go below the routine's own counts"
        )
    else:
        why = "holds, pauses, reps and breaths grow to double at most"
    raise FitError(
        f"{timing.name} can be fitted to between {format_length(low)} and {format_length(high)};"
        f" asked for {minutes:g} minute{'' if minutes == 1 else 's'} ({why})"
    )


def solve(timing: Timing, target: float) -> Factors:
    """The factors that bring `timing` closest to `target` seconds, as evenly as can be.

    Shorter than now: holds and pauses shrink, counts stay. Longer: every distinct way the
    rep and breath counts can grow is tried, holds and pauses (half to double) fill the
    rest, and among the fits that land close to the target (a third of the tolerance) the
    one whose kinds of time grow most alike wins, so the routine grows in proportion.
    """
    low, high = timing.reach()
    goal = min(max(target, low), high)
    if goal <= timing.total:
        wanted = goal - (timing.total - timing.seconds("holds"))
        return Factors(holds=_solve_holds(timing, wanted, HOLD_RANGE[0], 1.0))
    close = tolerance(target) / 3
    best: tuple[tuple[float, float, float], Factors] | None = None
    for reps in _count_factors(timing, "reps"):
        for breaths in _count_factors(timing, "breaths"):
            counted = Factors(1.0, reps, breaths)
            counts = timing.predict(counted) - timing.fixed - timing.seconds("holds")
            holds = _solve_holds(timing, goal - timing.fixed - counts, *HOLD_RANGE)
            factors = Factors(holds, reps, breaths)
            error = abs(timing.predict(factors) - goal)
            score = (max(error - close, 0.0), _spread(timing, factors), error)
            if best is None or score < best[0]:
                best = (score, factors)
    assert best is not None
    return best[1]


def _solve_holds(timing: Timing, wanted: float, low: float, high: float) -> float:
    """The holds factor in [low, high] giving holds and pauses closest to `wanted` seconds."""
    parts = [part for part in timing.parts if part.kind == "holds"]
    if not parts:
        return 1.0

    def at(holds: float) -> float:
        return sum(part.fitted(Factors(holds=holds)) for part in parts)

    if at(low) >= wanted:
        return low
    if at(high) <= wanted:
        return high
    for _ in range(30):
        middle = (low + high) / 2
        if at(middle) < wanted:
            low = middle
        else:
            high = middle
    return low if wanted - at(low) <= at(high) - wanted else high


def _count_factors(timing: Timing, kind: str) -> list[float]:
    """One factor for each distinct set of counts of `kind` that scaling can give.

    A count moves to its next allowed value where the rounding in `fitted_count` tips
    over, so the factor just past each such point, and 1, cover every possibility.
    """
    factors = {1.0}
    for part in timing.parts:
        node = part.node
        if part.kind != kind or not isinstance(node, (nodes.Repeat, nodes.Breathe)):
            continue
        step = count_step(node)
        for count in range(node.count + step, count_ceiling(node) + 1, step):
            factors.add(min((count - step / 2) / node.count + 1e-9, COUNT_RANGE[1]))
    ordered = sorted(factors)
    if len(ordered) > _MAX_CANDIDATES:
        last = len(ordered) - 1
        picks = {round(i * last / (_MAX_CANDIDATES - 1)) for i in range(_MAX_CANDIDATES)}
        ordered = [ordered[i] for i in sorted(picks)]
    return ordered


def _spread(timing: Timing, factors: Factors) -> float:
    """How unevenly the kinds of time grow: the widest ratio between two of them."""
    logs = [
        math.log(timing.growth(kind, factors))
        for kind in ("holds", "reps", "breaths")
        if timing.seconds(kind)
    ]
    return max(logs) - min(logs) if logs else 0.0


# Telling the user --------------------------------------------------------------------------


def describe(timing: Timing, factors: Factors, minutes: float, achieved: float) -> str:
    """One plain sentence: what length was reached and what changed to reach it."""
    asked = f"--minutes {minutes:g}"
    if factors == Factors():
        lasts = format_length(timing.total)
        return f"{timing.name} already lasts {lasts} for {asked}; nothing changed."
    said = [_holds_said(timing, factors)]
    reps = _counts_said(timing, factors, "reps")
    breaths = _counts_said(timing, factors, "breaths")
    if reps == breaths == "unchanged" and timing.seconds("reps") and timing.seconds("breaths"):
        said.append("reps and breaths unchanged")
    else:
        if timing.seconds("reps"):
            said.append(f"reps {reps}")
        if timing.seconds("breaths"):
            said.append(f"breaths {breaths}")
    said = [part for part in said if part]
    return (
        f"Fitted to {format_length(achieved)} for {asked} (was {format_length(timing.total)}): "
        + "; ".join(said)
        + "."
    )


def _holds_said(timing: Timing, factors: Factors) -> str:
    if not timing.seconds("holds"):
        return ""
    if factors.holds == 1.0:
        return "holds and pauses unchanged"
    limited = ""
    if factors.holds <= HOLD_RANGE[0]:
        limited = " (the shortest they may be)"
    elif factors.holds >= HOLD_RANGE[1]:
        limited = " (the longest they may be)"
    return f"holds and pauses x{_number(timing.growth('holds', factors))}{limited}"


def _counts_said(timing: Timing, factors: Factors, kind: str) -> str:
    factor = factors.reps if kind == "reps" else factors.breaths
    changes: dict[tuple[int, int], None] = {}
    for part in timing.parts:
        node = part.node
        if part.kind == kind and isinstance(node, (nodes.Repeat, nodes.Breathe)):
            new = fitted_count(node, factor)
            if new != node.count:
                changes.setdefault((node.count, new))
    if not changes:
        return "unchanged"
    pairs = [f"{old} -> {new}" for old, new in changes]  # the first three, then how many more
    shown = ", ".join(pairs[:3]) + (f" and {len(pairs) - 3} more" if len(pairs) > 3 else "")
    return f"x{_number(timing.growth(kind, factors))} ({shown})"


def _number(value: float) -> str:
    return f"{value:.2f}".rstrip("0").rstrip(".")
