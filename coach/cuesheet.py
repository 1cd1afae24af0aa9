"""Cue sheets: a session's spoken lines and its chapters as WebVTT, as podcast players read them.

Times are the timeline's own samples turned into milliseconds, so they agree with
`coach show --json` to the millisecond. The cues file has one cue per spoken line (its text,
from its first sample to its last); the chapters file has one cue per chapter the exported
audio carries (`Timeline.file_chapters`), end to end.
"""

from __future__ import annotations

from collections.abc import Iterable

from coach.timeline import Timeline

HEADER = "WEBVTT"


def cues_vtt(timeline: Timeline) -> str:
    """The spoken lines of `timeline` as a WebVTT file."""
    spoken = sorted((e for e in timeline.events if e.kind == "speech"), key=lambda e: e.start)
    cues = ((e.start, e.end, e.text) for e in spoken)
    return _vtt(timeline, cues, f"{timeline.title}: what is said, and when")


def chapters_vtt(timeline: Timeline) -> str:
    """The chapters of `timeline`'s exported audio as a WebVTT chapters file."""
    cues = ((c.start, c.end, c.name) for c in timeline.file_chapters())
    return _vtt(timeline, cues, f"{timeline.title}: chapters")


def vtt_time(milliseconds: int) -> str:
    """WebVTT's timestamp: HH:MM:SS.mmm (hours always given, as every reader takes them)."""
    seconds, millis = divmod(milliseconds, 1000)
    minutes, seconds = divmod(seconds, 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours:02d}:{minutes:02d}:{seconds:02d}.{millis:03d}"


def _vtt(timeline: Timeline, cues: Iterable[tuple[int, int, str]], note: str) -> str:
    rate = timeline.sample_rate
    out = [f"{HEADER}\n", f"NOTE {_text(note)}\n"]
    for number, (start, end, text) in enumerate(cues, 1):
        first, last = round(start * 1000 / rate), round(end * 1000 / rate)
        out.append(f"{number}\n{vtt_time(first)} --> {vtt_time(max(last, first + 1))}\n")
        out[-1] += f"{_text(text)}\n"
    return "\n".join(out)


def _text(text: str) -> str:
    """Cue text as WebVTT wants it: one line, with &, < and > escaped (a line of the routine
    may hold any of them; "-->" then cannot appear either)."""
    flat = " ".join(text.split()) or "-"
    return flat.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
