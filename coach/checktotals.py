"""Checker, totals: the routine once expanded (events, length, distinct lines) against its
bounds, as (position, message, hint) problems for coach.checker to report; pure."""

from __future__ import annotations

from coach import nodes
from coach.bounds import MAX_EVENTS, MAX_ROUTINE, MAX_SPOKEN_LINES
from coach.defaults import DEFAULT_GAP, DEFAULT_RATE, DEFAULT_TEMPO_PERIOD, DEFAULT_VOICE
from coach.diagnostics import Position
from coach.expansion import CLOSING_EVENTS, Pace, Sizes, first_line_past, nodes_pace
from coach.units import format_duration

Problem = tuple[Position, str, str]
_EPSILON = 1e-9


def routine_pace(routine: nodes.Routine) -> Pace:
    """The pace the routine starts at: coach's defaults and its header's settings."""
    start = Pace(DEFAULT_TEMPO_PERIOD, DEFAULT_RATE, DEFAULT_GAP, DEFAULT_VOICE)
    return nodes_pace(start, routine.header.settings)


def total_problems(routine: nodes.Routine) -> list[Problem]:
    """Events, length and distinct spoken lines of the routine once expanded, each reported
    where the running total passes its bound."""
    sizes = Sizes()
    pace = routine_pace(routine)
    events, seconds = sizes.routine(routine, pace)
    found: list[Problem] = []
    if events > MAX_EVENTS:
        # The closing bell is counted first: the statement found leaves it no room.
        passing = sizes.passing(routine.body, pace, CLOSING_EVENTS, MAX_EVENTS, 0)
        where = passing[0].position if passing else Position(routine.path, 1, 1)
        message = f"the routine expands to more than {MAX_EVENTS:,} events by here"
        hint = (
            f"expanded, it makes {events:,} events (spoken lines, clicks, sounds);"
            " every for, include and repeat multiplies what its block makes"
        )
        found.append((where, message, hint))
    if seconds > MAX_ROUTINE + _EPSILON:
        found += _too_long(routine, sizes, pace)
    if events <= MAX_EVENTS:
        found += _spoken_lines(routine, pace)
    return found


def _too_long(routine: nodes.Routine, sizes: Sizes, pace: Pace) -> list[Problem]:
    """The whole routine at most 4 hours."""
    passing = sizes.passing(routine.body, pace, 0.0, MAX_ROUTINE + _EPSILON, 1)
    if passing is None:
        return []
    statement, running = passing
    message = (
        f"the routine lasts at least {format_duration(running)} by here,"
        " over the 4 hour limit for a whole routine"
    )
    hint = "this counts pauses, holds, breaths, reps and sounds, and speech at a low estimate"
    return [(statement.position, message, hint)]


def _spoken_lines(routine: nodes.Routine, pace: Pace) -> list[Problem]:
    passing = first_line_past(routine, pace, MAX_SPOKEN_LINES)
    if passing is None:
        return []
    message = f"the routine has more than {MAX_SPOKEN_LINES:,} distinct spoken lines by here"
    hint = (
        "each distinct line is synthesized: a placeholder in a for loop makes one per"
        " item, and coach's own counts, countdowns and cues count too"
    )
    return [(passing[0], message, hint)]
