"""Your own routines beside the built-ins: finding a routine by name, `coach list`, `coach
source`, `coach new --from`, the shared safety opening by name and `coach help language`."""

from __future__ import annotations

import os
import re
import shlex
import stat
import subprocess
import sys
from pathlib import Path

import pytest
from helpers import ROOT, device_env, run_coach

from coach import library, loader, nodes

SAFETY = library.routines_dir() / "_safety.routine"
BUILTIN_NAMES = library.builtin_names()


def tiny(title: str) -> str:
    return f"title: {title}\n\nsay: {title}.\n"


@pytest.fixture(scope="module")
def cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("user-routines-cache")


@pytest.fixture
def here(tmp_path: Path) -> Path:
    """The current folder of the command."""
    folder = tmp_path / "here"
    folder.mkdir()
    return folder


@pytest.fixture
def mine(tmp_path: Path) -> Path:
    """Your routine folder, through COACH_ROUTINES."""
    folder = tmp_path / "mine"
    folder.mkdir()
    return folder


def coach(*args: str, here: Path, mine: Path, cache: Path | None = None, **env: str):
    return run_coach(*args, cwd=here, cache=cache, env={"COACH_ROUTINES": str(mine), **env})


def shown_title(result: subprocess.CompletedProcess[str]) -> str:
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    return next(line.split(None, 1)[1] for line in lines if line[:6] == "title:")


# --- finding a routine by name -----------------------------------------------------------


def test_a_name_in_the_current_folder_beats_yours_and_the_built_in(here, mine, cache):
    (here / "wall-release.routine").write_text(tiny("Here"))
    (mine / "wall-release.routine").write_text(tiny("Mine"))
    assert shown_title(coach("show", "wall-release", here=here, mine=mine, cache=cache)) == "Here"


def test_a_name_in_your_folder_beats_the_built_in(here, mine, cache):
    (mine / "wall-release.routine").write_text(tiny("Mine"))
    assert shown_title(coach("show", "wall-release", here=here, mine=mine, cache=cache)) == "Mine"


def test_a_name_found_nowhere_else_is_the_built_in(here, mine, monkeypatch):
    monkeypatch.chdir(here)
    monkeypatch.setenv("COACH_ROUTINES", str(mine))
    assert library.resolve("wall-release") == library.routines_dir() / "wall-release.routine"


def test_a_path_is_still_a_path(here, mine, cache):
    (mine / "wall-release.routine").write_text(tiny("Mine"))
    (here / "elsewhere.routine").write_text(tiny("Elsewhere"))
    path = str(here / "elsewhere.routine")
    assert shown_title(coach("show", path, here=mine, mine=mine, cache=cache)) == "Elsewhere"


def test_check_finds_a_name_as_show_does(here, mine):
    (mine / "stretch.routine").write_text(tiny("Stretch"))
    result = coach("check", "stretch", here=here, mine=mine)
    assert result.returncode == 0, result.stderr
    assert "ok: 1 file checked" in result.stderr


def test_a_fifo_named_like_a_routine_is_refused_not_skipped(here, mine):
    os.mkfifo(here / "wall-release.routine")
    result = coach("show", "wall-release", here=here, mine=mine)
    assert result.returncode == 1
    assert "wall-release.routine: is a FIFO (named pipe), not a routine file" in result.stderr


@pytest.mark.parametrize("place", ["here", "mine", "built-in"])
def test_an_unknown_name_gets_a_did_you_mean_from_each_place(place, here, mine):
    if place != "built-in":
        (here if place == "here" else mine).joinpath("evening-roll.routine").write_text(tiny("E"))
    name, typo = ("wall-release", "wall-relase") if place == "built-in" else ("", "evening-rol")
    result = coach("show", typo, here=here, mine=mine)
    assert result.returncode == 1
    assert f"Did you mean '{name or 'evening-roll'}'" in result.stderr


@pytest.mark.parametrize("kind", ["folder", "file"])
def test_a_bare_name_is_a_routine_s_name_whatever_is_in_the_current_folder(kind, here, mine):
    if kind == "folder":
        (here / "lower-back").mkdir()
    else:
        (here / "lower-back").write_text("not a routine\n")
    assert shown_title(coach("show", "lower-back", here=here, mine=mine)) == "Lower back"


def test_a_path_to_a_folder_is_still_refused_as_one(here, mine):
    (here / "lower-back").mkdir()
    result = coach("show", "./lower-back", here=here, mine=mine)
    assert result.returncode == 1
    assert "./lower-back: is a directory, not a routine file" in result.stderr


def test_check_of_a_folder_by_its_bare_name_still_checks_the_folder(here, mine):
    (here / "lower-back").mkdir()
    (here / "lower-back" / "a.routine").write_text(tiny("A"))
    (here / "lower-back" / "b.routine").write_text(tiny("B"))
    result = coach("check", "lower-back", here=here, mine=mine)
    assert result.returncode == 0, result.stderr
    assert "ok: 2 files checked" in result.stderr


def test_a_file_named_like_an_unknown_name_is_pointed_to_by_its_path(here, mine):
    (here / "notes").write_text(tiny("Notes"))
    result = coach("show", "notes", here=here, mine=mine)
    assert result.returncode == 1
    assert "no routine named 'notes'" in result.stderr
    assert "give it as a path: ./notes" in result.stderr
    assert shown_title(coach("show", "./notes", here=here, mine=mine)) == "Notes"


def test_an_unknown_name_says_where_it_looked(here, mine):
    message = coach("show", "no-such", here=here, mine=mine).stderr
    assert f"in the current folder ({here})" in message
    assert f"in your routine folder ({mine})" in message
    assert "among the built-in routines (" in message and "wall-release" in message


# --- your routine folder -----------------------------------------------------------------


def test_coach_routines_chooses_your_folder(mine, monkeypatch):
    monkeypatch.setenv("COACH_ROUTINES", str(mine))
    assert library.user_dir() == mine


def test_without_coach_routines_your_folder_is_in_the_platform_data_directory(
    tmp_path, monkeypatch
):
    monkeypatch.setenv("COACH_ROUTINES", " ")  # blank counts as unset
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    assert library.user_dir() == tmp_path / "data" / "coach" / "routines"


def test_a_relative_coach_routines_is_taken_from_where_coach_was_started(tmp_path, mine):
    env = {"COACH_ROUTINES": "mine"}
    result = run_coach("new", "evening", "--mine", cwd=tmp_path, env=env)
    assert result.returncode == 0, result.stderr
    assert f"Wrote {mine / 'evening.routine'}." in result.stderr
    listed = run_coach("list", cwd=tmp_path, env=env)
    assert f"{mine}" in listed.stderr and "(yours)" in listed.stdout


def test_list_shows_yours_beside_the_built_ins_marked_as_yours(here, mine, cache):
    (mine / "evening.routine").write_text(tiny("Evening roll"))
    result = coach("list", here=here, mine=mine, cache=cache)
    assert result.returncode == 0, result.stderr
    rows = {line.split()[0]: line for line in result.stdout.splitlines()}
    assert set(BUILTIN_NAMES) < set(rows)
    assert re.fullmatch(r"evening +~?0:0\d +Evening roll +\(yours\)", rows["evening"])
    assert not [name for name in BUILTIN_NAMES if "(yours)" in rows[name]]
    assert str(mine) in result.stderr  # where yours go


def test_list_says_when_one_of_yours_has_a_built_in_s_name(here, mine, cache):
    (mine / "wall-release.routine").write_text(tiny("My wall"))
    result = coach("list", here=here, mine=mine, cache=cache)
    rows = [line for line in result.stdout.splitlines() if line.startswith("wall-release ")]
    assert len(rows) == 2
    assert rows[0].endswith("Wall ball release  (yours of that name comes first)")
    assert rows[1].endswith("My wall  (yours)")


def test_list_shows_a_routine_of_yours_with_errors_and_how_to_check_it(here, mine, cache):
    (mine / "broken.routine").write_text("title: Broken\n\nrepaet 3 times:\n    beat: up\n")
    result = coach("list", here=here, mine=mine, cache=cache)
    assert result.returncode == 0, result.stderr
    row = next(line for line in result.stdout.splitlines() if line.startswith("broken "))
    assert f"coach check {mine / 'broken.routine'}" in row and "(yours)" in row


def test_list_leaves_out_include_files_hidden_files_and_fifos_of_yours(here, mine, cache):
    (mine / "_opening.routine").write_text(tiny("Opening"))
    (mine / ".draft.routine").write_text(tiny("Draft"))
    os.mkfifo(mine / "pipe.routine")
    result = coach("list", here=here, mine=mine, cache=cache)
    assert result.returncode == 0, result.stderr
    assert "(yours)" not in result.stdout


# --- coach source and coach new --from ----------------------------------------------------


@pytest.mark.parametrize("name", ["wall-release", "ruecken-an-der-wand"])
def test_source_prints_a_built_in_exactly_as_shipped(name, here, mine):
    result = subprocess.run(
        [sys.executable, "-m", "coach", "source", name], cwd=here, capture_output=True
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout == (library.routines_dir() / f"{name}.routine").read_bytes()


def test_source_prints_the_shared_safety_opening_by_its_include_name(here, mine):
    result = coach("source", "coach:safety", here=here, mine=mine)
    assert result.stdout == SAFETY.read_text()


def test_source_of_an_unknown_name_suggests_the_built_in(here, mine):
    result = coach("source", "wall-relase", here=here, mine=mine)
    assert result.returncode == 1
    assert "did you mean 'wall-release'" in result.stderr


def test_new_from_a_built_in_copies_it_exactly(here, mine):
    result = coach("new", "my-wall", "--from", "wall-release", here=here, mine=mine)
    assert result.returncode == 0, result.stderr
    copied = (here / "my-wall.routine").read_bytes()
    assert copied == (library.routines_dir() / "wall-release.routine").read_bytes()


def test_a_copied_built_in_checks_in_any_folder(here, mine):
    deep = here / "a" / "b"
    deep.mkdir(parents=True)
    assert coach("new", "a/b/copy", "--from", "lower-back", here=here, mine=mine).returncode == 0
    result = coach("check", str(deep / "copy.routine"), here=here, mine=mine)
    assert result.returncode == 0, result.stderr


def test_new_mine_writes_into_your_folder_and_list_shows_it(here, mine, cache):
    result = coach("new", "evening", "--mine", here=here, mine=mine)
    assert result.returncode == 0, result.stderr
    assert (mine / "evening.routine").is_file()
    assert "(yours)" in coach("list", here=here, mine=mine, cache=cache).stdout


def shell_with_coach(tmp_path: Path) -> dict[str, str]:
    """An environment where `coach` on PATH is this checkout's, as after set-up."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    shim = bin_dir / "coach"
    shim.write_text(f'#!/bin/sh\nexec {shlex.quote(sys.executable)} -m coach "$@"\n')
    shim.chmod(shim.stat().st_mode | stat.S_IXUSR)
    return {"PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}"}


def test_the_next_steps_new_prints_work_when_pasted(tmp_path, here, mine, cache):
    result = coach("new", "Morning Stretch", here=here, mine=mine)
    assert result.returncode == 0, result.stderr
    assert (here / "Morning Stretch.routine").is_file()
    commands = [line.strip() for line in result.stderr.splitlines() if line.startswith("  coach")]
    assert [c.split()[1] for c in commands] == ["check", "play"]
    env = {
        **device_env(tmp_path / "device.raw", tmp_path / "opens.txt"),
        **shell_with_coach(tmp_path),
        "COACH_CACHE_DIR": str(cache),
        "COACH_ROUTINES": str(mine),
    }
    for command in commands:
        pasted = subprocess.run(
            ["bash", "-c", command], cwd=here, env=env, capture_output=True, text=True, timeout=300
        )
        assert pasted.returncode == 0, (command, pasted.stderr)
    assert (tmp_path / "device.raw").stat().st_size > 0  # it played


def test_the_commands_in_the_starter_s_comments_work_when_pasted(tmp_path, here, mine):
    assert coach("new", "it's mine", here=here, mine=mine).returncode == 0
    text = (here / "it's mine.routine").read_text()
    command = next(line[1:].split("  ")[0].strip() for line in text.splitlines() if "check" in line)
    env = {**os.environ, **shell_with_coach(tmp_path), "COACH_ROUTINES": str(mine)}
    pasted = subprocess.run(["bash", "-c", command], cwd=here, env=env, capture_output=True)
    assert pasted.returncode == 0, (command, pasted.stderr)


def test_the_starter_points_to_the_reference_that_ships_with_coach(here, mine):
    assert coach("new", "stretch", here=here, mine=mine).returncode == 0
    assert "coach help language" in (here / "stretch.routine").read_text()


# --- the shared safety opening by name ---------------------------------------------------


def safety_lines() -> list[str]:
    return [line[4:].strip() for line in SAFETY.read_text().splitlines() if line[:4] == "say:"]


def test_coach_safety_includes_the_shared_opening_from_a_routine_in_any_folder(tmp_path):
    routine = tmp_path / "any" / "folder" / "mine.routine"
    routine.parent.mkdir(parents=True)
    routine.write_text("title: Mine\n\ninclude: coach:safety\nsay: Now mine.\n")
    loaded, diagnostics = loader.load(routine)
    assert [d.render() for d in diagnostics] == []
    include = loaded.body[0]
    assert isinstance(include, nodes.Include)
    assert [s.text.raw for s in include.body if isinstance(s, nodes.Say)] == safety_lines()
    assert run_coach("check", str(routine)).returncode == 0


def test_a_missing_safety_file_beside_your_routine_gets_a_hint_naming_coach_safety(tmp_path):
    routine = tmp_path / "safety-first.routine"  # a name like the missing file's: no cycle hint
    routine.write_text("title: Mine\n\ninclude: _safety.routine\n")
    message = run_coach("check", str(routine)).stderr
    assert "included file not found: '_safety.routine'" in message
    assert "hint: to include coach's own, write: include: coach:safety" in message
    assert "did you mean" not in message


def test_a_missing_include_is_never_told_to_include_the_file_itself(tmp_path):
    routine = tmp_path / "stretch.routine"
    routine.write_text("title: Mine\n\ninclude: strech.routine\n")
    message = run_coach("check", str(routine)).stderr
    assert "included file not found: 'strech.routine'" in message
    assert "stretch.routine'?" not in message  # that would be a cycle


@pytest.mark.parametrize("name", ["coach:wall-release", "coach:../routines/_safety", "coach:"])
def test_coach_names_only_the_shared_include_files(name, tmp_path):
    routine = tmp_path / "mine.routine"
    routine.write_text(f"title: Mine\n\ninclude: {name}\n")
    message = run_coach("check", str(routine)).stderr
    assert f"'{name}' is not one of coach's shared include files" in message
    assert "coach:safety, coach:sicherheit" in message


@pytest.mark.parametrize(
    ("language", "included", "ours"), [("de", "safety", "sicherheit"), ("", "sicherheit", "safety")]
)
def test_a_shared_file_in_another_language_is_a_warning_naming_the_right_one(
    language, included, ours, tmp_path
):
    routine = tmp_path / "mine.routine"
    header = f"language: {language}\n" if language else ""
    routine.write_text(f"title: Mine\n{header}\ninclude: coach:{included}\nsay: Go.\n")
    result = run_coach("check", str(routine))
    assert result.returncode == 0, result.stderr
    line = 4 if language else 3
    assert f"mine.routine:{line}:10: warning: 'coach:{included}' is in " in result.stderr
    assert f"hint: the one in {'German' if language else 'English'} is: include: coach:{ours}" in (
        result.stderr
    )


def test_a_shared_file_in_the_routine_s_language_is_no_warning(tmp_path):
    routine = tmp_path / "mine.routine"
    routine.write_text("title: Mein\nlanguage: de-AT\n\ninclude: coach:sicherheit\n")
    result = run_coach("check", str(routine))
    assert result.returncode == 0 and "warning" not in result.stderr, result.stderr


# --- docs that ship with coach, and the built-ins' sources --------------------------------


def test_help_language_prints_the_routine_language_reference(here, mine):
    result = coach("help", "language", here=here, mine=mine)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("# The routine language")
    assert "### `include: FILE`" in result.stdout


def test_the_shipped_reference_is_the_same_as_docs_routine_language():
    shipped = ROOT / "coach" / "docs" / "routine-language.md"
    source = ROOT / "docs" / "routine-language.md"
    assert shipped.read_text() == source.read_text(), (
        f"docs/ changed: copy it into the package with: cp {source} {shipped}"
    )


@pytest.mark.parametrize("name", BUILTIN_NAMES)
def test_no_built_in_shows_a_file_path_as_its_source(name):
    routine, _ = loader.load(library.resolve(name))
    source = routine.header.source or ""
    assert source and not re.search(r"\S/\S|\.txt\b|seeds", source), source
