"""Bounds: blocks nest at most 32 deep, across includes, and no nesting raises RecursionError."""

from __future__ import annotations

from pathlib import Path

import pytest

from coach import checker, nodes
from coach.compiler import compile_routine
from coach.diagnostics import Diagnostic, Position
from coach.loader import check_file, load
from coach.parser import parse

BOUNDS = Path(__file__).parent / "fixtures" / "bounds"
TOO_DEEP = "blocks are nested more than 32 deep"


def problems(diagnostics: list[Diagnostic]) -> list[tuple[int, int, str]]:
    return [(d.position.line, d.position.column, d.message) for d in diagnostics]


def staircase(depth: int, indent: int = 1) -> str:
    """`depth` steps each inside the one before, with a `say:` in the innermost."""
    lines = [" " * (indent * k) + "step S:" for k in range(depth)]
    return "title: Stairs\n" + "\n".join(lines) + "\n" + " " * (indent * depth) + "say: Hi.\n"


def test_blocks_nested_32_deep_are_accepted() -> None:
    assert check_file(BOUNDS / "nested-32.routine") == []


def test_blocks_nested_33_deep_are_an_error_at_the_33rd_opener() -> None:
    path = BOUNDS / "nested-33.routine"
    (problem,) = check_file(path)
    assert (problem.position, problem.message) == (Position(str(path), 34, 129), TOO_DEEP)
    assert problem.hint == "a block may hold blocks at most 32 deep"


def test_a_repeat_block_counts_as_a_level() -> None:
    text = staircase(32, 4).replace("say: Hi.", "repeat 2 times:\n" + " " * 132 + "beat: up")
    (problem,) = parse(text, "x.routine")[1]
    assert (problem.position.line, problem.message) == (34, TOO_DEEP)


def test_deeper_blocks_are_reported_once_and_their_lines_dropped() -> None:
    routine, diagnostics = parse(staircase(300), "x.routine")
    assert problems(diagnostics) == [(34, 33, TOO_DEEP)]
    assert nodes.block_depth(routine.body) == 32


def test_the_lines_after_a_too_deep_block_are_still_parsed() -> None:
    text = staircase(40) + "say: After.\nbogus line\n"
    routine, diagnostics = parse(text, "x.routine")
    assert problems(diagnostics) == [(34, 33, TOO_DEEP), (44, 1, "unknown keyword 'bogus'")]
    assert isinstance(routine.body[-1], nodes.Say)


@pytest.mark.parametrize("depth", [245, 1000, 1400])
def test_no_nesting_within_1_mb_raises_recursion_error_in_any_stage(depth: int) -> None:
    routine, diagnostics = parse(staircase(depth), "x.routine")
    assert problems(diagnostics) == [(34, 33, TOO_DEEP)]
    checker.check(routine)
    compile_routine(routine)


def test_a_tree_built_deeper_than_32_is_refused_by_the_checker_before_it_walks_deeper() -> None:
    where = Position("x.routine", 2, 1)
    body: list[nodes.Statement] = [nodes.Say(where, nodes.Text("Hi.", where))]
    for _ in range(5000):
        body = [nodes.Step(where, nodes.Text("S", where), body)]
    routine = nodes.Routine("x.routine", nodes.Header(title="T"), body)
    assert [d.message for d in checker.check(routine)] == [TOO_DEEP]


def test_block_depth_counts_steps_loops_between_and_repeat_blocks_not_includes() -> None:
    routine, _ = parse(
        "for x in: a:\n"
        "    step S:\n"
        "        include: part.routine\n"
        "between:\n"
        "    repeat 2 times:\n"
        "        beat: up\n",
        "x.routine",
    )
    assert nodes.block_depth(routine.body) == 2


def test_an_include_counts_toward_the_depth_of_the_blocks_around_it() -> None:
    path = BOUNDS / "include-deep.routine"
    (problem,) = check_file(path)
    assert (problem.position, problem.message) == (
        Position(str(path), 32, 130),
        f"{TOO_DEEP} with the included file",
    )
    assert problem.hint == (
        "this include is inside 30 blocks and 'part-3-deep.routine' nests blocks 3 deep;"
        " an included file's blocks count as if written here"
    )


def test_an_include_that_stays_within_32_blocks_is_expanded(tmp_path: Path) -> None:
    part = (BOUNDS / "part-3-deep.routine").read_text()
    (tmp_path / "part-3-deep.routine").write_text(part)
    main = (BOUNDS / "include-deep.routine").read_text().splitlines()
    shallower = [line[8:] for line in main[3:]]  # two steps fewer: 28 + 3 blocks
    (tmp_path / "main.routine").write_text("\n".join(main[:1] + shallower) + "\n")
    routine, diagnostics = load(tmp_path / "main.routine")
    assert diagnostics == []
    assert nodes.block_depth(routine.body) == 28 + 3
