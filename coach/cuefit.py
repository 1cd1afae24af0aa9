"""Speech fitting: warn when a spoken cue is longer than the time it has; pure.

A count or beat word inside a repeat has until the next beat of the grid (or the next cue);
a countdown number or halfway cue inside a hold, a breath cue inside a breathe, and the
lead-in's words have until the next cue or the end of their stretch. The layout never moves
anything to make room (the beat grid is exact), so a cue that is too long runs into the
next one; these warnings say where, with the figures, one per source line and kind of cue.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field

from coach import nodes
from coach.compiler import LEAD_IN_COUNT, LEAD_IN_FULL
from coach.diagnostics import Diagnostic, Position
from coach.fitting import scalables
from coach.plan import ClipInfo, Overlay, Plan, Segment, SpeechLine

_SLACK = 0.005  # seconds a cue may overrun unnoticed (a few samples of padding)


@dataclass(frozen=True)
class Overrun:
    """One spoken cue that does not fit: `length` seconds of speech, `room` seconds of time."""

    text: str
    length: float
    room: float
    at: float  # seconds into the session, to order the warnings
    limit: str  # what it runs into: the next "beat" or "rep", the next "cue", or the "end"


@dataclass
class _Group:
    """The overruns of one kind of cue from one source line."""

    where: Position | None
    kind: str  # count, beat word, countdown number, halfway cue, breath cue, lead-in ...
    stretch: str  # what it sounds inside: "hold", "breath", "pause", "lead-in", "repeat"
    beat: float = 0.0  # seconds between beats on the grid (repeats only)
    period: float = 0.0  # seconds of one rep (repeats only)
    overruns: list[Overrun] = field(default_factory=list)


def speech_fit(
    routine: nodes.Routine,
    plan: Plan,
    clips: Mapping[SpeechLine, ClipInfo],
    sample_rate: int,
) -> list[Diagnostic]:
    """A warning for each source line whose spoken cues outlast the time they have.

    `clips` gives each line's length in samples at `sample_rate`. Nothing is moved: the
    warnings only describe the timeline `coach.layout.lay_out` makes of the same plan.
    """
    statements = {node.position: node for node in scalables(routine.body)}
    groups: dict[tuple[Position | None, str], _Group] = {}
    start = 0.0
    for segment in plan.segments:
        if segment.seconds is not None:
            node = statements.get(segment.position) if segment.position is not None else None
            stretch = _stretch(segment, node)
            for overlay, overrun in _overruns(segment, clips, sample_rate, start):
                kind = _kind(stretch, overlay)
                at = overlay.position or segment.position
                key = (at, kind)
                if key not in groups:
                    beat = segment.period / _beats_per_rep(segment) if segment.reps else 0.0
                    groups[key] = _Group(at, kind, stretch, beat, segment.period)
                groups[key].overruns.append(overrun)
        start += _length(segment, clips, sample_rate)
    ordered = sorted(groups.values(), key=lambda group: group.overruns[0].at)
    return [_diagnostic(routine, group) for group in ordered]


def _length(segment: Segment, clips: Mapping[SpeechLine, ClipInfo], sample_rate: int) -> float:
    """Seconds the segment takes on the timeline (sounds are never fitted, so 0 is fine)."""
    if segment.reps:
        return segment.reps * segment.period
    if segment.seconds is not None:
        return segment.seconds
    if segment.line is not None and segment.line in clips:
        return clips[segment.line].length / sample_rate + segment.gap
    return 0.0


def _beats_per_rep(segment: Segment) -> int:
    clicks = sum(1 for overlay in segment.overlays if overlay.kind == "click")
    return max(1, round(clicks / segment.reps)) if segment.reps else 0


def _overruns(
    segment: Segment, clips: Mapping[SpeechLine, ClipInfo], sample_rate: int, start: float
) -> list[tuple[Overlay, Overrun]]:
    spoken = sorted(
        (o for o in segment.overlays if o.kind == "speech" and o.line is not None),
        key=lambda o: o.at,
    )
    end = segment.seconds if segment.seconds is not None else 0.0
    beats = _beats_per_rep(segment)
    grid = segment.period / beats if segment.reps else 0.0
    found = []
    for index, overlay in enumerate(spoken):
        assert overlay.line is not None
        clip = clips.get(overlay.line)
        if clip is None:
            continue
        length = clip.length / sample_rate
        at = overlay.at
        if overlay.ends is not None:  # laid out to end there if it can (coach.layout)
            at = max(at, overlay.ends - length)
        following = spoken[index + 1].at if index + 1 < len(spoken) else math.inf
        if grid:
            beat = (math.floor(at / grid + 1e-9) + 1) * grid
            limit = "beat" if beats > 1 else "rep"
            room = min(beat, following) - at
            if following < beat - 1e-9:
                limit = "cue"
        else:
            limit = "cue" if following < end else "end"
            room = min(following, end) - at
        if length > room + _SLACK:
            room = max(room, 0.0)
            found.append((overlay, Overrun(overlay.line.text, length, room, start + at, limit)))
    return found


def _stretch(segment: Segment, node: object) -> str:
    if segment.reps:
        return "repeat"
    if isinstance(node, nodes.Hold):
        return "hold"
    if isinstance(node, nodes.Breathe):
        return "breath"
    if isinstance(node, nodes.Pause):
        return "pause"
    return "lead-in"


def _kind(stretch: str, overlay: Overlay) -> str:
    assert overlay.line is not None
    number = overlay.line.text.isdigit()
    if stretch == "repeat":
        return "count" if number else "beat word"
    if stretch == "hold":
        return "countdown number" if number else "halfway cue"
    if stretch == "breath":
        return "breath cue"
    return "lead-in countdown number" if number else "lead-in"


def _diagnostic(routine: nodes.Routine, group: _Group) -> Diagnostic:
    overruns = group.overruns
    texts = list(dict.fromkeys(o.text for o in overruns))
    longest = max(o.length for o in overruns)
    room = min(o.room for o in overruns)
    if len(texts) == 1:
        subject = f'the {group.kind} "{texts[0]}" takes {_s(longest)}'
        runs = "it runs"
    else:
        subject = f"the {_PLURAL[group.kind]} {_named(texts)} take up to {_s(longest)}"
        runs = "they run"
    limits = {o.limit for o in overruns}
    if group.stretch == "repeat":
        unit = "beat" if "beat" in limits else "rep"
        message = (
            f"{subject} but each {unit} lasts {_s(group.beat)}"
            f" at {60.0 / group.period:.4g} per minute; {runs} into the next {unit}"
        )
        cure = (
            "count less often (a larger count every)"
            if group.kind == "count"
            else "use shorter words"
        )
        hint = (
            f"the beat grid stays as it is, so the words overlap; slow the tempo, {cure},"
            " or raise the speech rate"
        )
    else:
        if limits == {"cue"}:
            message = f"{subject} but the next cue comes {_s(room)} after it; {runs} into it"
        elif limits == {"end"}:
            message = f"{subject} but the {group.stretch} ends {_s(room)} after it; {runs} past it"
        else:
            message = (
                f"{subject} but only {_s(room)} passes before the next cue"
                f" or the end of the {group.stretch}; {runs} over"
            )
        hint = f"give the cues more time (a longer {group.stretch}), or raise the speech rate"
        if group.kind == "lead-in":  # its countdown takes the last LEAD_IN_COUNT seconds
            room = max(math.ceil(LEAD_IN_COUNT + longest), math.ceil(LEAD_IN_FULL))
            hint = f"a --lead-in of at least {room} s leaves room for it"
    if group.where is None:  # the lead-in comes from the command line, not from a line
        return Diagnostic(Position(routine.path, 1, 1), message, "warning", hint)
    return routine.diagnostic(group.where, message, hint, warning=True)


def _named(texts: list[str]) -> str:
    if all(text.isdigit() for text in texts):
        numbers = sorted(texts, key=int)
        return f'"{numbers[0]}" to "{numbers[-1]}"'
    if len(texts) <= 3:
        return ", ".join(f'"{text}"' for text in texts)
    return ", ".join(f'"{text}"' for text in texts[:3]) + f" and {len(texts) - 3} more"


_PLURAL = {
    "count": "counts",
    "beat word": "beat words",
    "countdown number": "countdown numbers",
    "halfway cue": "halfway cues",
    "breath cue": "breath cues",
    "lead-in": "lead-in cues",
    "lead-in countdown number": "lead-in countdown numbers",
}


def _s(seconds: float) -> str:
    return f"{seconds:.2f}".rstrip("0").rstrip(".") + " s"
