"""What a live session did: how long it played, the steps done and skipped, where it stopped."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from coach.status import clock, step_place
from coach.steps import Range
from coach.timeline import Timeline


@dataclass(frozen=True)
class Outcome:
    """One sitting of a session, from the spans of it that were sent to the device.

    `played` counts the session's own audio that played, in seconds: pauses (silence), the
    words `again` and `where` add, and what a skip jumped over do not count, so it is the
    time spent with the routine whatever the pauses. `done` are the steps played to their
    end; `skipped` those left before their end with a skip (`n`, or `b` back past them);
    `stop` is where it stopped (see `stop_point`).
    """

    played: float
    done: tuple[int, ...]
    skipped: tuple[int, ...]
    steps: int
    place: str  # "in" or "before" a step, "opening", "finishing", "" (nothing played)
    step: int | None  # the step stopped in, or about to start; None in the other places


def outcome(
    timeline: Timeline, played: Sequence[Range], heading_to: int | None, finished: bool
) -> Outcome:
    """The outcome of playing `played` (session spans, in the order sent) of `timeline`.

    `heading_to` is the step a lead-in leads to (--from, --resume): stopped in that lead-in,
    the session stopped before that step. `finished`: it played to its end.
    """
    chapters = timeline.chapters
    seconds = sum(end - start for start, end in played) / timeline.sample_rate
    done = [
        i
        for i, c in enumerate(chapters)
        if c.end > c.start and any(s < c.end <= e for s, e in played)
    ]
    touched = [
        i for i, c in enumerate(chapters) if any(s < c.end and c.start < e for s, e in played)
    ]
    place, step = _stop(timeline, played, heading_to, finished)
    skipped = [i for i in touched if i not in done and (finished or i != step)]
    return Outcome(seconds, tuple(done), tuple(skipped), len(chapters), place, step)


def _stop(
    timeline: Timeline, played: Sequence[Range], heading_to: int | None, finished: bool
) -> tuple[str, int | None]:
    if finished:
        return "finishing", None
    if not played:
        return ("before", heading_to) if heading_to is not None else ("", None)
    last = played[-1][1] - 1  # the last sample sent
    if heading_to is not None and last < timeline.intro_end:
        return "before", heading_to  # in the countdown before the step
    place, index, _ = step_place(timeline, last)
    if place == "before" and index == 0:
        return "opening", None
    if place in ("in", "before"):
        return place, index
    return place, None  # "finishing", or "" in a session without steps


def summary_line(timeline: Timeline, result: Outcome, from_step: int | None) -> str:
    """One line: time played, pauses not counted, and the steps done and skipped."""
    start = "" if from_step is None else f" from step {from_step + 1}"
    text = f"Played {clock(round(result.played))}{start} (pauses not counted)"
    if not result.steps:
        return text + "."
    done, total = len(result.done), result.steps
    if done == total:
        text += ": its one step done" if total == 1 else f": all {total} steps done"
    else:
        text += f": {done} of {total} step{'s' if total != 1 else ''} done"
    if result.skipped:
        numbers = ", ".join(str(i + 1) for i in result.skipped)
        label = "step" if len(result.skipped) == 1 else "steps"
        text += f", {len(result.skipped)} skipped ({label} {numbers})"
    return text + "."


def stop_line(timeline: Timeline, result: Outcome) -> str:
    """Where the session stopped, as the first words of the message after a stop."""
    total = len(timeline.chapters)
    if result.step is not None:
        name = timeline.chapters[result.step].name
        where = "in" if result.place == "in" else "before"
        return f"Stopped {where} step {result.step + 1} of {total} ({name})"
    if result.place == "opening":
        return f"Stopped in the opening, before step 1 of {total}"
    if result.place == "finishing" and total:
        return "Stopped after the last step"
    return "Stopped"
