"""The README's "Your first routine" walk-through works when followed as written: every
command in it is run in order, with the edits its table and its text block describe."""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

from helpers import device_env

README = Path(__file__).resolve().parent.parent / "README.md"
#: The lines that set up the reader's shell: run here as the test's own working folder.
SETUP = ("source .venv/bin/activate", "mkdir -p ~/coach-routines && cd ~/coach-routines")


def section() -> str:
    text = README.read_text()
    start = text.index("\n## Your first routine\n")
    return text[start : text.index("\n## ", start + 1)]


def commands(text: str) -> list[str]:
    """Every line of the section's ```sh blocks, in order."""
    blocks = re.findall(r"```sh\n(.*?)```", text, re.DOTALL)
    return [line.strip() for block in blocks for line in block.splitlines() if line.strip()]


def edits(text: str) -> list[tuple[str, str]]:
    """The table's rows: (the line to find, what it becomes)."""
    return re.findall(r"^\| `([^`]+)` \| `([^`]+)` \|$", text, re.MULTILINE)


def added_block(text: str) -> str:
    return re.findall(r"```text\n(.*?)```", text, re.DOTALL)[0]


def edit(path: Path, text: str) -> None:
    """Make the changes the walk-through asks for, as a reader with an editor would."""
    routine = path.read_text()
    for old, new in edits(text):
        assert routine.count(old) == 1, old  # the starter has the line the reader must find
        routine = routine.replace(old, new)
    block = added_block(text).splitlines()
    lines = routine.splitlines()
    for number, line in enumerate(block):
        if line not in lines:  # the line the reader adds, after the one before it in the block
            lines.insert(lines.index(block[number - 1]) + 1, line)
    routine = "\n".join(lines) + "\n"
    assert "\n".join(block) in routine
    path.write_text(routine)


def test_the_walk_through_works_as_written(tmp_path: Path) -> None:
    text = section()
    steps = commands(text)
    assert [step for step in steps if not step.startswith("coach ")] == list(SETUP)
    folder = tmp_path / "coach-routines"
    folder.mkdir()
    env = {
        **device_env(tmp_path / "capture.raw", tmp_path / "opens.txt"),
        "COACH_CONFIG": str(tmp_path / "config.toml"),
        "COACH_CACHE_DIR": str(tmp_path / "cache"),
    }

    def coach(line: str) -> subprocess.CompletedProcess[str]:
        args = shlex.split(line)[1:]
        result = subprocess.run(
            [sys.executable, "-m", "coach", *args],
            cwd=folder,
            env=env,
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert result.returncode == 0, (line, result.stderr)
        return result

    for step in steps:
        if step in SETUP:
            continue
        result = coach(step)
        if step.startswith("coach new "):
            edit(folder / "my-routine.routine", text)
        elif step.startswith("coach check "):
            assert "ok: 1 file checked" in result.stderr  # as the walk-through says
        elif step.startswith("coach show "):
            assert "title:      Evening back release" in result.stdout
        elif step.startswith("coach play "):
            assert "Done." in result.stderr
    assert (folder / "my-routine.mp3").stat().st_size > 10_000
    shown = coach("coach show my-routine.routine").stdout
    assert "pacing:     rate 130, slower 20 from your profile" in shown  # as step 6 says


def test_the_typo_the_walk_through_shows_is_caught_as_it_says(tmp_path: Path) -> None:
    env = {**os.environ, "COACH_CONFIG": str(tmp_path / "config.toml")}
    run = [sys.executable, "-m", "coach"]
    subprocess.run([*run, "new", "my-routine"], cwd=tmp_path, env=env, check=True)
    routine = tmp_path / "my-routine.routine"
    edit(routine, section())
    routine.write_text(routine.read_text().replace("repeat 15 times:", "repaet 15 times:"))
    result = subprocess.run(
        [*run, "check", "my-routine.routine"], cwd=tmp_path, env=env, capture_output=True, text=True
    )
    assert result.returncode == 1
    assert "error: unknown keyword 'repaet'" in result.stderr
    assert "did you mean 'repeat'?" in result.stderr
