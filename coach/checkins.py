"""Check-ins: `check in every D` on a hold or repeat speaks a check-in line at each interval.

A check-in must never sound over another cue (a countdown number, "Halfway.", a count, a
beat word, any speech) and never inside a hold's final countdown. Whether it fits depends on
the real lengths of the clips, known only at lay-out, so the work is split in three:

1. `add_candidates` (compile): a check-in overlay at each nominal time, k x D for k >= 1,
   before the end of the hold or the reps (a hold's countdown excluded). Its `seconds` is
   its window: how long it may wait for room, up to the next nominal time or that end.
2. `name_candidates` (compile, once the plan is made): the routine's `check-in:` lines, or
   coach's own, given to the candidates in turn through the whole session.
3. `checkin_events` (lay-out): each candidate placed at the first moment of its window with
   quiet around it for the whole clip, or dropped when its window has none. Clicks do not
   count as cues: a check-in overlays the reps, and the beat grid never moves.

Pure; no I/O.
"""

from __future__ import annotations

import bisect
import math
from collections.abc import Mapping, Sequence
from dataclasses import replace

from coach import nodes
from coach.plan import ClipInfo, Overlay, Plan, Segment, SpeechLine
from coach.texts import substitute
from coach.timeline import Event
from coach.units import format_duration
from coach.words import DEFAULT, spoken_in, words_for

# coach's own check-ins in English, for a routine without `check-in:` lines (coach.words
# has them in every language coach speaks).
DEFAULT_LINES = DEFAULT.check_ins
QUIET = 0.3  # seconds of quiet a check-in keeps from any other speech or sound
SHORTEST = 5.0  # seconds; a shorter interval leaves no room to say one (a warning)
_EPSILON = 1e-9
_MOST = 10**12  # a count past every bound, so a hostile interval cannot overflow


def nominal_count(span: float, interval: float) -> int:
    """How many check-ins fall in `span` seconds: k x interval < span for k = 1, 2, ...

    In closed form, so a tiny interval is counted (and refused by the event bound) without
    being enumerated.
    """
    if not interval > 0 or not span > 0 or not math.isfinite(span):
        return 0
    ratio = span / interval
    if ratio > _MOST:
        return _MOST
    return max(math.ceil(ratio - _EPSILON) - 1, 0)


def span_of(statement: nodes.Hold | nodes.Repeat, period: float) -> float:
    """Seconds in which the statement's check-ins may sound: a hold before its countdown,
    the reps of a repeat (`period` seconds each) all through."""
    if isinstance(statement, nodes.Hold):
        return statement.seconds - (statement.countdown or 0)
    return statement.count * period


def interval_warning(statement: nodes.Hold | nodes.Repeat, period: float) -> tuple[str, str] | None:
    """What the checker warns of a `check in every D` within its bounds, as a message and a
    hint: an interval so long that no check-in ever sounds, or too short to say one in."""
    interval = statement.check_in
    span = span_of(statement, period)
    valid = statement.seconds > 0 if isinstance(statement, nodes.Hold) else span > 0
    if interval is None or not valid or span < 0:
        return None  # an error of its own is reported
    every = f"a check-in every {format_duration(interval)}"
    if nominal_count(span, interval) == 0:
        if isinstance(statement, nodes.Repeat):
            where = f"these reps, which last {format_duration(span)}"
        else:
            where = f"this {format_duration(statement.seconds)} hold"
            if statement.countdown:
                where += f" before its countdown of {statement.countdown}"
        hint = "the first check-in comes one interval in; give a shorter interval"
        return f"{every} never sounds in {where}", hint
    if interval < SHORTEST:
        hint = (
            f"a check-in needs quiet to be said in; give at least {format_duration(SHORTEST)},"
            " or 30s to 2m for a long hold"
        )
        return f"{every} is too often to be said", hint
    return None


def lines_of(header: nodes.Header) -> list[str]:
    """The check-in lines a routine speaks, in turn: its own, else coach's in its language."""
    if not header.check_ins:
        return list(words_for(spoken_in(header.language)).check_ins)
    return [substitute(text.raw, {}) for text in header.check_ins]


def add_candidates(segment: Segment, statement: nodes.Statement, line: SpeechLine) -> None:
    """The check-in candidates of a compiled hold or repeat, added to its segment.

    `line` carries the voice, rate and pitch in force; its text is set by `name_candidates`.
    """
    if not isinstance(statement, (nodes.Hold, nodes.Repeat)) or statement.check_in is None:
        return
    interval = statement.check_in
    total = segment.seconds or 0.0
    end = total - (statement.countdown or 0) if isinstance(statement, nodes.Hold) else total
    for number in range(1, nominal_count(end, interval) + 1):
        at = number * interval
        window = min(at + interval, end) - at
        segment.overlays.append(Overlay(at, "checkin", line, seconds=window))


def name_candidates(segments: Sequence[Segment], header: nodes.Header) -> None:
    """Give every check-in candidate of the plan its line, in turn through the session."""
    texts = lines_of(header)
    positions = [text.position for text in header.check_ins]
    number = 0
    for segment in segments:
        for overlay in segment.overlays:
            if overlay.kind != "checkin" or overlay.line is None:
                continue
            turn = number % len(texts)
            overlay.line = replace(overlay.line, text=texts[turn])
            if positions:
                overlay.position = positions[turn]
            number += 1


def checkin_events(
    plan: Plan,
    offsets: Sequence[int],
    events: Sequence[Event],
    clips: Mapping[SpeechLine, ClipInfo],
    sample_rate: int,
) -> list[Event]:
    """Speech events for the check-ins of `plan` that find room, given where each segment
    starts (`offsets`, in samples) and every other event of the session."""
    wanted = [
        (offsets[number], segment, overlay)
        for number, segment in enumerate(plan.segments)
        for overlay in segment.overlays
        if overlay.kind == "checkin" and overlay.line is not None
    ]
    if not wanted:
        return []
    busy = merged(sorted((e.start, e.end) for e in events if e.kind != "click"))
    ends = [end for _, end in busy]
    quiet = round(QUIET * sample_rate)
    placed = []
    for start, segment, overlay in wanted:
        assert overlay.line is not None
        clip = clips[overlay.line]
        earliest = start + round(overlay.at * sample_rate)
        latest = earliest + round(overlay.seconds * sample_rate)
        found = fit(busy, earliest, latest, clip.length, quiet, ends)
        if found is not None:
            text = overlay.line.text
            event = Event(found, clip.length, "speech", clip.key, segment.step, text)
            event.side = segment.side
            placed.append(event)
    return placed


def fit(
    busy: Sequence[tuple[int, int]],
    earliest: int,
    latest: int,
    length: int,
    quiet: int,
    ends: Sequence[int] | None = None,
) -> int | None:
    """The first start at or after `earliest` for something `length` long that keeps
    `quiet` from every busy span (sorted, disjoint) and, with its quiet after it, ends by
    `latest`; None when there is none. `ends` are the spans' ends (sorted too, as the spans
    are disjoint), when the caller has them."""
    if ends is None:
        ends = [end for _, end in busy]
    index = bisect.bisect_right(ends, earliest - quiet)
    start = earliest
    while start + length + quiet <= latest:
        if index == len(busy) or busy[index][0] >= start + length + quiet:
            return start
        start = max(start, busy[index][1] + quiet)
        index += 1
    return None


def merged(spans: Sequence[tuple[int, int]]) -> list[tuple[int, int]]:
    """Sorted spans with those that overlap or touch joined into one."""
    joined: list[tuple[int, int]] = []
    for start, end in spans:
        if joined and start <= joined[-1][1]:
            joined[-1] = (joined[-1][0], max(joined[-1][1], end))
        else:
            joined.append((start, end))
    return joined
