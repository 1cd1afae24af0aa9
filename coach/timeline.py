"""The timeline: every event of a session at an exact sample offset, with steps as chapters."""

from __future__ import annotations

import heapq
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any, Literal

from coach.plan import Side
from coach.words import ENGLISH, words_for

EventKind = Literal["speech", "click", "sound", "hiss"]

# The name of the chapter that holds what comes before the first step.
INTRODUCTION = words_for(ENGLISH).introduction  # in English; Timeline.introduction: its own


@dataclass(slots=True)  # not frozen: a long session makes thousands; frozen ones cost 3x
class Event:
    """One thing that sounds: starts at sample `start` and lasts `length` samples.

    `source` names the audio to play: a speech clip key, a built-in sound name
    (`click`, `click-accent`, `chime`, `bell`, `tick`), a sound file path, or
    `hiss` (synthesized to the event's length). `gain` scales it (clicks are
    ducked under speech).
    """

    start: int
    length: int
    kind: EventKind
    source: str
    step: int | None = None
    text: str = ""
    accent: bool = False
    gain: float = 1.0
    side: Side = "both"  # the ear it sounds in (`side:`), in a stereo session

    @property
    def end(self) -> int:
        return self.start + self.length

    def louder(self, factor: float) -> Event:
        """This event with its gain times `factor` (dataclasses.replace, without its cost)."""
        return Event(
            self.start, self.length, self.kind, self.source, self.step, self.text, self.accent,
            self.gain * factor, self.side,
        )  # fmt: skip


@dataclass(frozen=True)
class Chapter:
    name: str
    start: int
    end: int


@dataclass(frozen=True)
class RepRun:
    """One `repeat`: `count` reps from sample `start`, rep k beginning at start + k*period."""

    start: int
    count: int
    period: float  # seconds
    step: int | None = None


@dataclass(frozen=True)
class PhaseSpan:
    """A breath phase or a hold, from sample `start` to `end` (coach.plan.Phase, laid out)."""

    kind: str  # in, hold-in, out, hold-out, hold
    start: int
    end: int
    hiss: bool = False
    countdown: int = 0


@dataclass
class Timeline:
    title: str
    sample_rate: int
    length: int
    chapters: list[Chapter] = field(default_factory=list)
    events: list[Event] = field(default_factory=list)
    reps: list[RepRun] = field(default_factory=list)
    intro_end: int = 0  # where the routine itself starts, after lead-in silence and countdown
    about: str = ""  # the routine's `about:` line: the files' comment tag
    phases: list[PhaseSpan] = field(default_factory=list)  # breaths and holds, in order
    stereo: bool = False  # the routine uses `side:`: two channels, else one
    language: str = "en"  # the routine's language (coach.words)

    @property
    def channels(self) -> int:
        return 2 if self.stereo else 1

    @property
    def introduction(self) -> str:
        """The name of what comes before the first step, in the routine's language."""
        return words_for(self.language).introduction

    def rep_at(self, sample: int) -> tuple[int, int] | None:
        """(k, N) when `sample` falls in rep k (1-based) of a run of N reps, else None."""
        for run in self.reps:
            end = run.start + round(run.count * run.period * self.sample_rate)
            if run.start <= sample < end:
                done = int((sample - run.start) / (run.period * self.sample_rate))
                return min(done, run.count - 1) + 1, run.count
        return None

    def chapter_at(self, sample: int) -> int | None:
        """Index of the innermost-latest chapter containing `sample`, else None."""
        found = None
        for index, chapter in enumerate(self.chapters):
            if chapter.start <= sample < chapter.end:
                found = index
        return found

    @property
    def duration(self) -> float:
        return self.length / self.sample_rate

    def seconds(self, samples: int) -> float:
        return round(samples / self.sample_rate, 6)

    def to_dict(self) -> dict[str, Any]:
        """The shape `coach show --json` prints."""
        return {**self._head(), "events": [self._event_dict(e) for e in self.events]}

    def _head(self) -> dict[str, Any]:
        """`to_dict()` but its events."""
        return {
            "title": self.title,
            "duration": self.seconds(self.length),
            "sample_rate": self.sample_rate,
            "channels": self.channels,
            "language": self.language,
            "steps": [
                {"name": c.name, "start": self.seconds(c.start), "end": self.seconds(c.end)}
                for c in self.chapters
            ],
            "chapters": [
                {"name": c.name, "start": self.seconds(c.start), "end": self.seconds(c.end)}
                for c in self.file_chapters()
            ],
        }

    def json_chunks(self) -> Iterator[str]:
        """`json.dumps(self.to_dict(), indent=2)`, a piece at a time: the events are written
        one by one, so what `coach show --json` holds does not grow with them."""
        text = json.dumps({**self._head(), "events": []}, indent=2)
        if not self.events:
            yield text
            return
        yield text[: text.rindex("[]")] + "["
        for index, event in enumerate(self.events):
            body = json.dumps(self._event_dict(event), indent=2).replace("\n", "\n    ")
            yield ("\n    " if index == 0 else ",\n    ") + body
        yield "\n  ]\n}"

    def file_chapters(self) -> list[Chapter]:
        """The chapters an exported file carries: contiguous from 0 to `length`.

        Each step's chapter begins where the step before it ended, so what lies between
        two steps (a `between:` block) belongs to the step it leads into; what comes before
        the first step is an INTRODUCTION chapter when anything sounds there, and the last
        chapter runs on to the end (the closing words and bell). A step nested in another
        starts a chapter of its own, cutting its parent's short: the flat list holds every
        step that takes time, in order. No steps, no chapters.
        """
        spans = [(max(c.start, 0), min(c.end, self.length), c.name) for c in self.chapters]
        steps = sorted((span for span in spans if span[1] > span[0]), key=lambda s: s[0])
        if not steps:
            return []
        cuts = [steps[0][0]]
        ends: list[int] = []  # of the steps begun so far, the ones not yet passed
        last_start, last_end = steps[0][0], -1
        for (start, end, _), (begins, _, _) in zip(steps, steps[1:]):
            last_start = start
            heapq.heappush(ends, end)
            while ends and ends[0] <= begins:
                last_end = heapq.heappop(ends)
            # A step ended after the latest began: the stretch since leads into this one.
            cuts.append(last_end if last_end > last_start else begins)
        cuts.append(self.length)
        names = [name for _, _, name in steps]
        out = [
            Chapter(n, start, end) for n, start, end in zip(names, cuts, cuts[1:]) if end > start
        ]
        if any(e.start < out[0].start for e in self.events):
            return [Chapter(self.introduction, 0, out[0].start), *out]
        return [Chapter(out[0].name, 0, out[0].end), *out[1:]]

    def _event_dict(self, event: Event) -> dict[str, Any]:
        out: dict[str, Any] = {
            "start": self.seconds(event.start),
            "duration": self.seconds(event.length),
            "kind": event.kind,
        }
        if event.kind == "speech":
            out["text"] = event.text
        elif event.kind == "click":
            out["accent"] = event.accent
        elif event.kind == "sound":
            out["name"] = event.source
        out["step"] = event.step
        out["side"] = event.side
        return out
