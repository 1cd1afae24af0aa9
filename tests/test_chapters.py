"""The chapters a file carries (Timeline.file_chapters), from real compiled and laid-out
routines: contiguous from 0 to the end, an Introduction before the first step, a `between:`
block in the step it leads into, nested steps in one flat list."""

from __future__ import annotations

from helpers import RATE, SOUND_LENGTHS, fake_clips
from hypothesis import given, settings
from test_fuzz_pipeline import block, checked, laid_out

from coach.compiler import compile_routine
from coach.layout import lay_out
from coach.nodes import Header
from coach.parser import parse
from coach.table import clock, routine_header, timeline_table
from coach.timeline import INTRODUCTION, Chapter, Event, Timeline

SIDES = """\
title: Sides
about: Both sides, slowly.

say: Before we start, a few words on safety.
say: Stop if anything hurts.

step Warm up:
    say: Roll your shoulders.
    pause 3s

for side in: left, right:
    step Turn {side}:
        say: Look over your {side} shoulder.
        hold 10s
between:
    say: Back to the centre. Now the other side.
    pause 2s

say: Well done.
"""

NESTED = """\
title: Nested

step Left side:
    say: Lie on your left side.
    step Calf:
        say: Roll the calf.
        hold 5s
    say: Now the hamstring.
    step Hamstring:
        say: Roll the hamstring.
        hold 5s
    say: That was the left side.
step Finish:
    say: Stand up slowly.
"""


def timeline_of(text: str) -> Timeline:
    routine, diagnostics = parse(text, "test.routine")
    assert not [d for d in diagnostics if d.is_error], [d.render() for d in diagnostics]
    plan = compile_routine(routine)
    return lay_out(plan, RATE, fake_clips(plan), SOUND_LENGTHS)


def assert_contiguous(timeline: Timeline, chapters: list[Chapter]) -> None:
    assert chapters[0].start == 0
    assert chapters[-1].end == timeline.length
    assert all(a.end == b.start for a, b in zip(chapters, chapters[1:]))
    assert all(c.end > c.start for c in chapters)


def seconds(shown: str) -> float:
    minutes, rest = shown.split(":")
    return int(minutes) * 60 + float(rest)


def chapter_of(chapters: list[Chapter], sample: int) -> str:
    return next(c.name for c in chapters if c.start <= sample < c.end)


def spoken(timeline: Timeline, text: str) -> Event:
    return next(e for e in timeline.events if e.kind == "speech" and e.text == text)


def test_an_introduction_between_blocks_and_the_closing_words_all_have_a_chapter() -> None:
    timeline = timeline_of(SIDES)
    steps = {c.name: c for c in timeline.chapters}
    chapters = timeline.file_chapters()
    assert [c.name for c in chapters] == [INTRODUCTION, "Warm up", "Turn left", "Turn right"]
    assert_contiguous(timeline, chapters)
    # The safety words sit in no step: they get the Introduction, up to the first step.
    safety = spoken(timeline, "Before we start, a few words on safety.")
    assert safety.step is None and chapter_of(chapters, safety.start) == INTRODUCTION
    assert chapters[0].end == steps["Warm up"].start
    # The between: block leads into the right side: its chapter starts where the left's ended.
    between = spoken(timeline, "Back to the centre. Now the other side.")
    assert between.step is None and chapter_of(chapters, between.start) == "Turn right"
    assert steps["Turn left"].end < steps["Turn right"].start  # there was a gap to fill
    assert chapters[3].start == steps["Turn left"].end
    # The closing words and the bell are in the last chapter, which ends with the session.
    bell = next(e for e in timeline.events if e.source == "bell")
    assert bell.end == timeline.length and steps["Turn right"].end <= bell.start
    assert chapter_of(chapters, spoken(timeline, "Well done.").start) == "Turn right"
    assert chapter_of(chapters, bell.start) == "Turn right"


def test_each_step_keeps_its_whole_span() -> None:
    timeline = timeline_of(SIDES)
    chapters = {c.name: c for c in timeline.file_chapters()}
    for step in timeline.chapters:
        assert chapters[step.name].start <= step.start < step.end <= chapters[step.name].end


def test_nested_steps_make_one_flat_list() -> None:
    """A step inside a step starts a chapter of its own; its parent's chapter holds what
    the parent says before its first inner step; what comes after an inner step leads into
    the next one, and the parent's closing words stay with its last inner step."""
    timeline = timeline_of(NESTED)
    steps = {c.name: c for c in timeline.chapters}
    chapters = timeline.file_chapters()
    assert [c.name for c in chapters] == ["Left side", "Calf", "Hamstring", "Finish"]
    assert_contiguous(timeline, chapters)
    assert chapters[0].end == steps["Calf"].start
    assert chapters[1].end == steps["Calf"].end
    assert chapter_of(chapters, spoken(timeline, "Now the hamstring.").start) == "Hamstring"
    assert chapter_of(chapters, spoken(timeline, "That was the left side.").start) == "Hamstring"
    assert chapters[2].end == steps["Left side"].end == chapters[3].start


def test_a_step_that_begins_with_its_inner_step_gives_way_to_it() -> None:
    timeline = timeline_of("step Outer:\n    step Inner:\n        say: One.\n    say: Two.\n")
    assert [c.name for c in timeline.file_chapters()] == ["Inner"]


def test_without_steps_there_are_no_chapters() -> None:
    timeline = timeline_of("say: Hello.\npause 2s\n")
    assert timeline.chapters == [] and timeline.file_chapters() == []


def test_a_first_step_with_nothing_before_it_starts_at_zero() -> None:
    """The lead-in's half second of silence is no Introduction."""
    timeline = timeline_of("step Only:\n    say: Ready.\n")
    assert timeline.chapters[0].start > 0
    assert timeline.file_chapters() == [Chapter("Only", 0, timeline.length)]


def test_empty_and_out_of_range_steps_are_left_out_or_clipped() -> None:
    chapters = [
        Chapter("settings only", 50, 50),
        Chapter("one", 100, 300),
        Chapter("past the end", 900, 1200),
        Chapter("ends past the end", 400, 1500),
    ]
    timeline = Timeline("T", RATE, 1000, chapters, [Event(10, 5, "click", "click")])
    assert timeline.file_chapters() == [
        Chapter(INTRODUCTION, 0, 100),
        Chapter("one", 100, 300),
        Chapter("ends past the end", 300, 900),
        Chapter("past the end", 900, 1000),
    ]


def test_show_json_keeps_steps_and_adds_the_files_chapters() -> None:
    timeline = timeline_of(SIDES)
    shown = timeline.to_dict()
    assert shown["steps"] == [
        {"name": c.name, "start": c.start / RATE, "end": c.end / RATE} for c in timeline.chapters
    ]
    assert [c["name"] for c in shown["chapters"]] == [c.name for c in timeline.file_chapters()]
    assert shown["chapters"][0]["start"] == 0.0
    assert shown["chapters"][-1]["end"] == shown["duration"]
    for a, b in zip(shown["chapters"], shown["chapters"][1:]):
        assert a["end"] == b["start"]


@settings(max_examples=150, deadline=None)
@given(block())
def test_any_routine_has_contiguous_chapters_and_every_innermost_step(lines: list[str]) -> None:
    routine = checked(lines)
    if routine is None:
        return
    timeline = laid_out(routine)[0]
    chapters = timeline.file_chapters()
    steps = [c for c in timeline.chapters if c.end > c.start]
    if not steps:
        assert chapters == []
        return
    assert_contiguous(timeline, chapters)
    # Names come in step order (after an Introduction), each step at most once.
    names = [c.name for c in chapters if c.name != INTRODUCTION or c.start > 0]
    order = iter(c.name for c in steps)
    assert all(name in order for name in names)
    # A step with no step inside it keeps its whole span in a chapter of its own name.
    for step in steps:
        if not any(s is not step and step.start <= s.start < step.end for s in steps):
            assert any(c.name == step.name and c.start <= step.start and step.end <= c.end
                       for c in chapters), step  # fmt: skip


def test_show_marks_where_each_chapter_starts() -> None:
    timeline = timeline_of(SIDES)
    lines = timeline_table(timeline).splitlines()
    marks = [(n, line) for n, line in enumerate(lines) if "-- chapter: " in line]
    chapters = timeline.file_chapters()
    assert [line.split("-- chapter: ")[1] for _, line in marks] == [c.name for c in chapters]
    for (row, line), chapter in zip(marks, chapters, strict=True):
        assert line.split()[0] == clock(chapter.start / RATE)
        before = lines[row - 1].split()[0]
        assert before == "time" or seconds(before) <= chapter.start / RATE  # in time order...
        assert "-- chapter" not in lines[row + 1]  # ...and before the cues it holds
    between = next(n for n, line in enumerate(lines) if "Back to the centre" in line)
    assert marks[-1][0] < between  # the between: line is in the last chapter, Turn right
    header = routine_header(Header(title="Sides"), timeline)
    assert "(3 steps, 4 chapters)" in header
