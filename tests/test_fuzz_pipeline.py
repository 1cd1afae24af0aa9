"""Fuzzing: any routine the checker passes compiles and lays out into a well-formed timeline."""

from __future__ import annotations

from helpers import RATE, SOUND_LENGTHS, fake_clips
from hypothesis import given, settings
from hypothesis import strategies as st

from coach import checker
from coach.compiler import compile_routine
from coach.defaults import DEFAULT_GAP, DEFAULT_RATE, DEFAULT_TEMPO_PERIOD
from coach.expansion import Pace, Sizes, first_line_past, nodes_pace
from coach.layout import lay_out
from coach.nodes import Routine
from coach.parser import parse
from coach.timeline import Timeline

WORDS = st.sampled_from(["Breathe", "slowly", "left", "right", "up", "Hold", "1", "{{x}}"])


@st.composite
def text(draw: st.DrawFn, names: tuple[str, ...]) -> str:
    words = draw(st.lists(st.one_of(WORDS, *(st.just(f"{{{n}}}") for n in names)), min_size=1))
    return " ".join(words)


@st.composite
def leaf(draw: st.DrawFn, names: tuple[str, ...], indent: str) -> list[str]:
    kind = draw(st.sampled_from(["say", "pause", "hold", "breathe", "repeat", "sound", "set"]))
    seconds = draw(st.integers(1, 20))
    if kind == "say":
        return [f"say: {draw(text(names))}"]
    if kind == "pause":
        return [f"pause {seconds}s"]
    if kind == "hold":
        options = [f", countdown {draw(st.integers(1, seconds))}"] if draw(st.booleans()) else []
        options += [", halfway"] if draw(st.booleans()) else []
        options += [f", check in every {draw(st.integers(1, 12))}s"] if draw(st.booleans()) else []
        return [f"hold {seconds}s" + "".join(draw(st.permutations(options)))]
    if kind == "breathe":
        hold_in = f", hold {draw(st.integers(0, 3))}s" if draw(st.booleans()) else ""
        hold_out = f", hold {draw(st.integers(0, 3))}s" if draw(st.booleans()) else ""
        hiss = " hiss" if draw(st.booleans()) else ""
        count = draw(st.integers(1, 5))
        return [f"breathe {count} times: in 2s{hold_in}, out 3s{hiss}{hold_out}"]
    if kind == "repeat":
        count = draw(st.integers(1, 12))
        tempo = f" at {draw(st.integers(6, 60))} per minute" if draw(st.booleans()) else ""
        if draw(st.booleans()):
            tempo += f", check in every {draw(st.integers(1, 30))}s"
        beats = draw(st.lists(st.sampled_from(["up", "down", "{x}" if "x" in names else "in"])))
        every = draw(st.one_of(st.none(), st.integers(1, 5)))
        block = [f"{indent}    beat: {beat}" for beat in beats]
        block += [f"{indent}    count every {every}"] if every else []
        if draw(st.booleans()):
            block.append(f"{indent}    rate: {draw(st.integers(100, 200))} wpm")
        return [f"repeat {count} times{tempo}" + (":" if block else "")] + block
    if kind == "sound":
        return [f"sound: {draw(st.sampled_from(['chime', 'bell', 'tick']))}"]
    setting = draw(st.sampled_from(["tempo: 20 per minute", "rate: 120 wpm", "gap: 0.3s"]))
    return [setting]


@st.composite
def block(draw: st.DrawFn, names: tuple[str, ...] = (), depth: int = 0) -> list[str]:
    indent = "    " * depth
    lines: list[str] = []
    for _ in range(draw(st.integers(1, 4))):
        kind = draw(st.sampled_from(["leaf", "leaf", "step", "for"] if depth < 3 else ["leaf"]))
        if kind == "leaf":
            first, *rest = draw(leaf(names, indent))
            lines += [indent + first, *rest]
        elif kind == "step":
            lines.append(f"{indent}step {draw(text(names))}:")
            lines += draw(block(names, depth + 1))
        else:
            name = draw(st.sampled_from(["x", "y", "z"]))
            items = draw(st.lists(st.sampled_from(["neck", "back", "hip", "a, b"]), min_size=1))
            lines.append(f"{indent}for {name} in: {', '.join(items)}:")
            lines += draw(block((*names, name), depth + 1))
            if draw(st.booleans()):
                lines.append(f"{indent}between:")
                lines += draw(block(names, depth + 1))
    return lines


CHECK_INS = st.lists(st.sampled_from(["Ease off.", "Still fine?", "Ease off.", "{{ok}}"]))


def checked(lines: list[str], check_ins: tuple[str, ...] | list[str] = ()) -> Routine | None:
    """The routine of `lines` (and `check-in:` lines) if it parses and checks without
    errors, else None."""
    # A first statement, so that settings generated first are statements, not the header.
    header = "title: Fuzz\n" + "".join(f"check-in: {line}\n" for line in check_ins)
    text = header + "say: Begin.\n" + "\n".join(lines) + "\n"
    routine, diagnostics = parse(text, "fuzz.routine")
    assert not [d for d in diagnostics if d.is_error], [d.render() for d in diagnostics]
    if any(d.is_error for d in checker.check(routine)):
        return None
    return routine


def laid_out(routine: Routine) -> tuple[Timeline, int]:
    plan = compile_routine(routine)
    return lay_out(plan, RATE, fake_clips(plan), SOUND_LENGTHS), len(plan.speech_lines())


@settings(max_examples=150, deadline=None)
@given(block())
def test_events_are_sorted_and_within_the_session(lines: list[str]) -> None:
    routine = checked(lines)
    if routine is None:
        return
    timeline, _ = laid_out(routine)
    starts = [event.start for event in timeline.events]
    assert starts == sorted(starts)
    assert all(e.start >= 0 and e.start + e.length <= timeline.length for e in timeline.events)


@settings(max_examples=150, deadline=None)
@given(block())
def test_step_chapters_are_in_order_and_nest_without_overlapping(lines: list[str]) -> None:
    routine = checked(lines)
    if routine is None:
        return
    chapters = laid_out(routine)[0].chapters
    assert all(0 <= c.start <= c.end for c in chapters)
    for number, first in enumerate(chapters):
        for later in chapters[number + 1 :]:
            assert first.start <= later.start
            # A later step comes after this one, or lies wholly inside it (a nested step).
            assert first.end <= later.start or later.end <= first.end


@settings(max_examples=150, deadline=None)
@given(block(), CHECK_INS)
def test_the_checkers_counts_match_what_compile_and_layout_make(
    lines: list[str], check_ins: list[str]
) -> None:
    routine = checked(lines, check_ins)
    if routine is None:
        return
    timeline, spoken = laid_out(routine)
    start = Pace(DEFAULT_TEMPO_PERIOD, DEFAULT_RATE, DEFAULT_GAP)
    pace = nodes_pace(start, routine.header.settings)
    events, seconds = Sizes().routine(routine, pace)
    assert len(timeline.events) <= events  # the bound counts at least what is made
    assert seconds <= timeline.duration  # and at most the time it takes
    assert first_line_past(routine, pace, spoken) is None  # exactly as many spoken lines
    assert spoken == 0 or first_line_past(routine, pace, spoken - 1) is not None
