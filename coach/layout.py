"""Lay out: place every segment and cue of a plan at an exact sample offset."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from coach.bounds import MAX_ROUTINE
from coach.checkins import checkin_events
from coach.diagnostics import Diagnostic, Position
from coach.expansion import BUILTIN_SOUND_SECONDS
from coach.plan import ClipInfo, Plan, Segment, SpeechLine
from coach.timeline import Chapter, Event, PhaseSpan, RepRun, Timeline
from coach.units import format_duration

# Under speech, sounds (the chime, files) drop to this gain so the words stay clear. Clicks
# are not lowered: the beat stays as it is (a word on a beat starts after its click), so an
# accented click is always the louder one.
DUCKED_SOUND_GAIN = 0.5
HISS_GAIN = 1.0


@dataclass
class LevelledTimeline(Timeline):
    """A timeline with the listener's loudness target (LUFS; None: the mixer's default)."""

    loudness: float | None = None


def seconds_to_samples(seconds: float, sample_rate: int) -> int:
    return round(seconds * sample_rate)


def lay_out(
    plan: Plan,
    sample_rate: int,
    clips: Mapping[SpeechLine, ClipInfo],
    sound_lengths: Mapping[str, int],
) -> Timeline:
    """Turn `plan` into a timeline; `clips` and `sound_lengths` give lengths in samples."""
    events: list[Event] = []
    spans: dict[int, list[int]] = {}
    reps: list[RepRun] = []
    phases: list[PhaseSpan] = []
    cursor = 0
    intro_end = 0
    offsets: list[int] = []  # where each segment starts
    for number, segment in enumerate(plan.segments):
        offsets.append(cursor)
        if number == plan.intro_segments:
            intro_end = cursor
        length = _segment_length(segment, sample_rate, clips, sound_lengths)
        if segment.reps:
            reps.append(RepRun(cursor, segment.reps, segment.period, segment.step))
        for phase in segment.phases:
            first = cursor + seconds_to_samples(phase.at, sample_rate)
            last = cursor + seconds_to_samples(phase.at + phase.seconds, sample_rate)
            phases.append(PhaseSpan(phase.kind, first, last, phase.hiss, phase.countdown))
        for step in segment.steps:
            span = spans.setdefault(step, [cursor, cursor])
            span[1] = cursor + length
        events.extend(_segment_events(segment, cursor, sample_rate, clips, sound_lengths))
        cursor += length
    events.extend(checkin_events(plan, offsets, events, clips, sample_rate))  # coach/checkins.py
    events.sort(key=lambda e: e.start * len(_KIND_ORDER) + _KIND_ORDER[e.kind])
    # A cue may ring on past the last segment (a countdown's "one"); the session covers it.
    length = max(cursor, max((e.start + e.length for e in events), default=0))
    offsets.append(cursor)
    chapters = [
        Chapter(name, *spans.get(index, [_empty_step_start(plan, index, offsets)] * 2))
        for index, name in enumerate(plan.step_names)
    ]
    if plan.speech_gain != 1.0 or plan.click_gain != 1.0:
        events = [_with_gains(e, plan.speech_gain, plan.click_gain) for e in events]
    return LevelledTimeline(
        plan.title, sample_rate, length, chapters, _duck(events), reps, intro_end,
        loudness=plan.loudness, phases=phases, stereo=plan.stereo, language=plan.language,
    )  # fmt: skip


def _empty_step_start(plan: Plan, step: int, offsets: list[int]) -> int:
    """Where a step without segments of its own (only settings) stands: before the segment
    that follows its line."""
    if step < len(plan.step_starts):
        return offsets[min(plan.step_starts[step], len(offsets) - 1)]
    return offsets[-1]


def session_too_long(timeline: Timeline, path: str) -> Diagnostic | None:
    """The 4-hour bound again, on the laid-out session with its real speech lengths.

    The checker counts speech at a low estimate; this counts the session from the end of
    its lead-in to its end, less the closing bell. None when it holds.
    """
    routine = (timeline.length - timeline.intro_end) / timeline.sample_rate
    if routine <= MAX_ROUTINE + BUILTIN_SOUND_SECONDS["bell"]:
        return None
    message = (
        f"the session lasts {format_duration(routine)} once its speech is rendered,"
        " over the 4 hour limit for a whole routine"
    )
    hint = (
        "'coach check' judges the routine at its own pacing and estimates its speech; the"
        " rendered speech, or your pacing (profile or options such as --slower, --rate,"
        " --gap), makes it longer: shorten the routine or change the pacing"
    )
    return Diagnostic(Position(path, 1, 1), message, "error", hint)


_KIND_ORDER = {"sound": 0, "hiss": 1, "click": 2, "speech": 3}


def _segment_length(
    segment: Segment,
    sample_rate: int,
    clips: Mapping[SpeechLine, ClipInfo],
    sound_lengths: Mapping[str, int],
) -> int:
    if segment.reps:
        # The grid is exact: N reps of 60/tempo seconds, no drift whatever is spoken.
        return seconds_to_samples(segment.reps * segment.period, sample_rate)
    if segment.seconds is not None:
        return seconds_to_samples(segment.seconds, sample_rate)
    if segment.line is not None:
        return clips[segment.line].length + seconds_to_samples(segment.gap, sample_rate)
    return sound_lengths[segment.sound]


def _segment_events(
    segment: Segment,
    start: int,
    sample_rate: int,
    clips: Mapping[SpeechLine, ClipInfo],
    sound_lengths: Mapping[str, int],
) -> list[Event]:
    step = segment.step
    events: list[Event] = []
    if segment.line is not None:
        clip = clips[segment.line]
        events.append(Event(start, clip.length, "speech", clip.key, step, text=segment.line.text))
    if segment.sound:
        events.append(Event(start, sound_lengths[segment.sound], "sound", segment.sound, step))
    if segment.reps:  # clicks come only with reps
        click, accent = sound_lengths["click"], sound_lengths["click-accent"]
    for overlay in segment.overlays:
        at = start + round(overlay.at * sample_rate)
        kind = overlay.kind
        if kind == "click":  # by far the most: every beat of every rep
            if overlay.accent:
                events.append(Event(at, accent, "click", "click-accent", step, "", True))
            else:
                events.append(Event(at, click, "click", "click", step))
        elif kind == "speech" and overlay.line is not None:
            clip = clips[overlay.line]
            if overlay.ends is not None:  # ends there if it can, never before `at`
                at = max(at, start + round(overlay.ends * sample_rate) - clip.length)
            events.append(Event(at, clip.length, "speech", clip.key, step, overlay.line.text))
        elif kind == "sound":
            events.append(Event(at, sound_lengths[overlay.sound], "sound", overlay.sound, step))
        elif kind == "hiss":
            hiss = seconds_to_samples(overlay.seconds, sample_rate)
            events.append(Event(at, hiss, "hiss", "hiss", step, gain=HISS_GAIN))
    if segment.side != "both":
        for event in events:
            event.side = segment.side
    return events


def _with_gains(event: Event, speech_gain: float, click_gain: float) -> Event:
    """The listener's balance: speech volume and metronome volume."""
    if event.kind == "speech" and speech_gain != 1.0:
        return event.louder(speech_gain)
    if event.kind == "click" and click_gain != 1.0:
        return event.louder(click_gain)
    return event


def _duck(events: list[Event]) -> list[Event]:
    """Lower every sound (not a click, not a hiss) that starts while speech is playing or
    that speech starts under."""
    spans = _merged(sorted((e.start, e.start + e.length) for e in events if e.kind == "speech"))
    out: list[Event] = []
    index = 0
    for event in events:  # sorted by start, so the span pointer only moves forward
        if event.kind == "sound":
            while index < len(spans) and spans[index][1] <= event.start:
                index += 1
            if index < len(spans) and spans[index][0] < event.start + event.length:
                event = event.louder(DUCKED_SOUND_GAIN)
        out.append(event)
    return out


def _merged(spans: list[tuple[int, int]]) -> list[tuple[int, int]]:
    merged: list[tuple[int, int]] = []
    for start, end in spans:
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], end))
        else:
            merged.append((start, end))
    return merged
