"""A CLI that explains itself (issue 13): every --help has an example, `coach --help` whole
summaries and one style for ranges; shell completion; `coach check --json`; one length."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path

import click
import pytest
from click.testing import CliRunner
from helpers import run_coach

from coach.cli import main
from coach.units import format_length

FIXTURES = Path(__file__).parent / "fixtures" / "cli"
# click's own range suffix: [1<=x<=240], [0<x<=60], [x>=0] ...
CLICK_RANGE = re.compile(r"\[[^\]]*(?:<=?x|x<=?|>=?x|x>=?)[^\]]*\]")


def commands(group: click.Group = main, path: tuple[str, ...] = ()) -> Iterator[tuple[str, ...]]:
    """Every command's words after `coach`, groups included, walking click's tree."""
    yield path
    ctx = click.Context(group)
    for name in group.list_commands(ctx):
        command = group.get_command(ctx, name)
        assert command is not None
        if isinstance(command, click.Group):
            yield from commands(command, (*path, name))
        else:
            yield (*path, name)


def help_text(path: tuple[str, ...], width: int = 80) -> str:
    result = CliRunner().invoke(main, [*path, "--help"], prog_name="coach", terminal_width=width)
    assert result.exit_code == 0, result.output
    return result.output


ALL = list(commands())


def test_the_tree_is_walked() -> None:
    names = {" ".join(path) for path in ALL}
    assert {"", "play", "show", "export", "check", "voices", "config", "config set"} <= names


@pytest.mark.parametrize("path", ALL, ids=lambda path: " ".join(path) or "coach")
def test_every_help_has_an_example_and_no_click_range(path: tuple[str, ...]) -> None:
    text = help_text(path)
    examples = re.findall(r"Example: (coach[^\n]*)", text)
    assert examples, f"coach {' '.join(path)} --help has no 'Example: coach ...'"
    assert all(example.startswith(" ".join(["coach", *path])) for example in examples), text
    assert not CLICK_RANGE.search(text), CLICK_RANGE.search(text)


@pytest.mark.parametrize("width", [40, 80, 120])
@pytest.mark.parametrize("path", ALL, ids=lambda path: " ".join(path) or "coach")
def test_command_summaries_are_whole(path: tuple[str, ...], width: int) -> None:
    """click cuts a summary it makes from the docstring with "..."; every command says its
    own whole summary (short_help), wrapped rather than cut on a narrow terminal."""
    command = main
    for name in path:
        found = command.get_command(click.Context(command), name)  # type: ignore[attr-defined]
        assert found is not None
        command = found
    if not isinstance(command, click.Group):
        return
    text = help_text(path, width)
    listed = text[text.index("Commands:") :]
    assert "..." not in listed, listed


def test_ranges_are_said_in_words() -> None:
    text = help_text(("show",), 200)
    for words in ("80 to 450", "0 to 200", "1 to 240", "-30 to -14", "0 (low) to 100 (high)"):
        assert words in text
    assert "more than 0 and up to 60" in help_text(("play",), 200)


def test_an_out_of_range_value_is_said_in_words_too() -> None:
    result = CliRunner().invoke(main, ["show", "x", "--minutes", "500"], prog_name="coach")
    assert result.exit_code == 2
    assert "expected a number from 1 to 240, not '500'" in result.output
    assert "<=" not in result.output
    result = CliRunner().invoke(main, ["play", "x", "--lead-in", "0"], prog_name="coach")
    assert "more than 0 and up to 60" in result.output


def test_play_help_names_the_arrow_keys() -> None:
    text = " ".join(help_text(("play",), 200).split())
    assert "right arrow" in text and "left arrow" in text


def complete(*words: str, shell: str = "bash") -> str:
    """What click's completion protocol answers for `coach WORDS<TAB>` (the last word is the
    one being completed)."""
    env = {
        "_COACH_COMPLETE": f"{shell}_complete",
        "COMP_WORDS": " ".join(["coach", *words]),
        "COMP_CWORD": str(len(words)),
    }
    result = CliRunner().invoke(main, [], prog_name="coach", env=env)
    assert result.exit_code == 0, result.output
    return result.output


@pytest.mark.parametrize("shell", ["bash", "zsh", "fish"])
def test_completion_scripts_generate(shell: str) -> None:
    env = {"_COACH_COMPLETE": f"{shell}_source"}
    result = CliRunner().invoke(main, [], prog_name="coach", env=env)
    assert result.exit_code == 0, result.output
    assert "_coach_completion" in result.output and "_COACH_COMPLETE" in result.output


def test_completing_a_routine_offers_built_in_names() -> None:
    from coach import library

    answer = complete("play", "wall")
    assert "plain,wall-release" in answer.splitlines()
    names = [line.split(",", 1)[1] for line in complete("show", "").splitlines()]
    assert set(library.builtin_names()) <= set(names)


def test_completing_a_routine_offers_your_routines(tmp_path, monkeypatch) -> None:
    folder = tmp_path / "mine"
    folder.mkdir()
    (folder / "wall-evening.routine").write_text("say: hi\n")
    (folder / "wall-release.routine").write_text("say: mine\n")  # a built-in's name
    monkeypatch.setenv("COACH_ROUTINES", str(folder))
    monkeypatch.chdir(tmp_path)
    answer = complete("play", "wall").splitlines()
    assert "plain,wall-evening" in answer and answer.count("plain,wall-release") == 1
    described = complete("play", "wall-e", shell="zsh").splitlines()
    assert "wall-evening" in described and "yours" in described


def test_completing_a_routine_offers_routine_files(tmp_path, monkeypatch) -> None:
    (tmp_path / "morning.routine").write_text("say: hi\n")
    (tmp_path / "notes.txt").write_text("")
    (tmp_path / ".hidden.routine").write_text("say: hi\n")
    monkeypatch.chdir(tmp_path)
    answer = complete("export", "mo").splitlines()
    assert "plain,morning.routine" in answer
    answer = complete("check", f"{tmp_path}/").splitlines()
    assert f"plain,{tmp_path}/morning.routine" in answer
    assert not any("notes.txt" in line or ".hidden" in line for line in answer)
    assert answer[0] == f"dir,{tmp_path}/"  # folders too (first: bash clears before it)


def check_json(*paths: str) -> tuple[int, dict]:
    result = CliRunner().invoke(main, ["check", "--json", *paths], prog_name="coach")
    return result.exit_code, json.loads(result.stdout)


def test_check_json_shape(tmp_path) -> None:
    bad = tmp_path / "bad.routine"
    bad.write_text("title: Bad\n\nsay:\n")
    code, found = check_json(str(bad), str(FIXTURES / "good.routine"), str(tmp_path / "no.routine"))
    assert code == 1  # as without --json
    assert set(found) == {"version", "checked", "errors", "warnings", "omitted", "diagnostics"}
    assert found["version"] == 1 and found["checked"] == 3 and found["omitted"] == 0
    assert found["errors"] == len(found["diagnostics"]) == 2 and found["warnings"] == 0
    first, missing = found["diagnostics"]
    keys = {"file", "line", "column", "end_column", "severity", "message", "hint"}
    assert set(first) == keys and set(missing) == keys
    assert first["file"] == str(bad) and first["line"] == 3 and first["column"] >= 1
    assert first["severity"] == "error" and first["message"] and first["hint"]
    assert first["end_column"] is None
    assert missing["file"].endswith("no.routine") and missing["line"] is None


def test_check_json_of_a_good_file_is_empty_and_exits_zero() -> None:
    code, found = check_json(str(FIXTURES / "good.routine"))
    assert code == 0 and found["diagnostics"] == [] and found["errors"] == 0


def test_check_json_counts_what_it_does_not_list(tmp_path) -> None:
    many = tmp_path / "many.routine"
    many.write_text("title: Many\n" + "sya: x\n" * 60)
    code, found = check_json(str(many))
    assert code == 1
    assert len(found["diagnostics"]) == 50 and found["omitted"] == found["errors"] - 50 > 0


def test_voices_options_without_sample_say_so_in_a_sentence() -> None:
    result = CliRunner().invoke(main, ["voices", "--rate", "130", "-o", "x.wav"])
    assert result.exit_code == 2
    assert "--rate and -o can only be used with --sample" in result.output


def test_one_length_format() -> None:
    assert format_length(308.49) == "5:08" and format_length(308.5) == "5:09"
    assert format_length(308.6) == "5:09" and format_length(3725.2) == "1:02:05"
    assert format_length(0.4) == "0:00" and format_length(float("nan")) == "0:00"


def test_show_and_export_print_the_same_length(tmp_path) -> None:
    """One session, one length: show's header and export's "Wrote ... (m:ss)"."""
    routine = str(FIXTURES / "good.routine")
    cache = tmp_path / "cache"
    shown = run_coach("show", routine, cache=cache)
    assert shown.returncode == 0, shown.stderr
    length = re.search(r"^length:\s+(\S+)", shown.stdout, re.MULTILINE)
    assert length is not None, shown.stdout
    exported = run_coach("export", routine, "-o", str(tmp_path / "x.wav"), cache=cache)
    assert exported.returncode == 0, exported.stderr
    assert f"({length.group(1)})" in exported.stderr
    timeline = json.loads(run_coach("show", routine, "--json", cache=cache).stdout)
    assert length.group(1) == format_length(timeline["duration"])


def test_check_json_marks_the_word_each_problem_points_at(tmp_path) -> None:
    bad = tmp_path / "bad.routine"
    bad.write_text("title: Bad\n\nrepeat 5000 times\nsay: Hi {foo} there.\nrepaet 3 times\n")
    _, found = check_json(str(bad))
    spans = {d["line"]: (d["column"], d["end_column"]) for d in found["diagnostics"]}
    assert spans[3] == (8, 12)  # 5000
    assert spans[4] == (9, 14)  # {foo}
    assert spans[5] == (1, 7)  # repaet
