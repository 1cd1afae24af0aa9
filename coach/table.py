"""Render a timeline as a readable table of time, step and cue, for `coach show`."""

from __future__ import annotations

import math
import textwrap

from coach.nodes import Header
from coach.timeline import Event, Timeline
from coach.units import format_length
from coach.words import ENGLISH, words_for


def clock(seconds: float) -> str:
    """A cue's time in the table, m:ss.ss (hundredths cut off, never rounded up, so a cue
    is never shown after it sounds)."""
    # Whole hundredths first: formatting 59.999 s with :05.2f would print "0:60.00".
    hundredths = int(math.floor(max(0.0, seconds) * 100 + 1e-6))
    minutes, rest = divmod(hundredths, 6000)
    return f"{minutes:d}:{rest // 100:02d}.{rest % 100:02d}"


def click_runs(clicks: list[Event]) -> list[list[Event]]:
    """Split clicks into runs on one regular grid within one step (one repeat, usually)."""
    runs: list[list[Event]] = []
    for click in clicks:
        run = runs[-1] if runs else None
        if run and run[-1].step == click.step and run[-1].side == click.side:
            gap = click.start - run[-1].start
            if len(run) == 1 or abs(gap - (run[1].start - run[0].start)) <= 2:
                run.append(click)
                continue
        runs.append([click])
    return runs


def cue(event: Event, rate: int) -> str:
    if event.kind == "speech":
        said = f'"{event.text}"'
    elif event.kind == "hiss":
        said = f"Ssss exhale, {event.length / rate:.1f} s"
    else:
        said = f"sound: {event.source}"
    return said + _ear(event)


def _ear(event: Event) -> str:
    """Where a cue sounds, when `side:` places it in one ear."""
    return "" if event.side == "both" else f"  ({event.side} ear)"


def timeline_table(timeline: Timeline) -> str:
    """One row per cue in time order; each run of metronome clicks folds into one row. Each
    chapter of an exported file (Timeline.file_chapters) is marked where it starts."""
    rate = timeline.sample_rate
    names = [c.name for c in timeline.chapters]
    rows: list[tuple[int, int, str]] = [
        (c.start, _NO_STEP, f"{CHAPTER_MARK} chapter: {c.name}") for c in timeline.file_chapters()
    ]
    for run in click_runs([e for e in timeline.events if e.kind == "click"]):
        every = (run[1].start - run[0].start) / rate if len(run) > 1 else 0.0
        text = f"metronome: {len(run)} clicks, one every {every:.2f} s{_ear(run[0])}"
        rows.append((run[0].start, _step(run[0], names), text))
    for event in timeline.events:
        if event.kind != "click":
            rows.append((event.start, _step(event, names), cue(event, rate)))
    rows.sort(key=lambda row: row[0])  # stable: a chapter's mark before its first cue
    steps = ["", *names]
    lines = [f"{'time':>8}  {'step':<32}  cue"]
    for start, step, text in rows:
        lines.append(f"{clock(start / rate):>8}  {steps[step][:32]:<32}  {text}")
    lines.append(f"{clock(timeline.duration):>8}  {'':<32}  end")
    return "\n".join(lines)


_NO_STEP = 0  # the step column's index for a row outside any step
CHAPTER_MARK = "--"


def _step(event: Event, names: list[str]) -> int:
    return _NO_STEP if event.step is None else event.step + 1


def routine_header(header: Header, timeline: Timeline, profile: str = "") -> str:
    """Title, about, equipment, source and length, printed above the table; `profile` names
    the profile's settings that change the routine (coach.effective.profile_note), so a
    length that differs from the routine's own is explained where it is read."""
    fields = [
        ("title", header.title),
        ("about", header.about),
        ("equipment", header.equipment),
        ("source", header.source),
        ("language", "" if timeline.language == ENGLISH else _language(timeline.language)),
        ("audio", "stereo: side: puts cues in one ear" if timeline.stereo else ""),
        # The length as every command prints it (list, export, play), not this table's
        # cut-off clock: a session of 5:08.6 is 5:09 everywhere.
        ("length", f"{format_length(timeline.duration)} ({_count(timeline)})"),
        ("pacing", profile),
    ]
    width = max(len(label) for label, _ in fields) + 1
    lines = []
    for label, value in fields:
        if value:
            wrapped = textwrap.wrap(value, 88 - width - 2) or [""]
            lines.append(f"{label + ':':<{width}}  {wrapped[0]}")
            lines.extend(f"{'':<{width}}  {more}" for more in wrapped[1:])
    return "\n".join(lines) + "\n"


def _language(code: str) -> str:
    return f"{words_for(code).name} ({code})"


def _count(timeline: Timeline) -> str:
    steps, chapters = len(timeline.chapters), len(timeline.file_chapters())
    return f"{steps} step{'s' * (steps != 1)}, {chapters} chapter{'s' * (chapters != 1)}"
