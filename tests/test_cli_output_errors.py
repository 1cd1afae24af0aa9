"""Where coach's output cannot go: standard output that fails (/dev/full), a reader that has
gone (a closed pipe), and a current folder that was deleted under the command."""

from __future__ import annotations

import os
import shlex
import subprocess
import sys
from pathlib import Path

import pytest
from helpers import run_coach

from coach import library

WALL = str(library.routines_dir() / "wall-release.routine")
COMMANDS = [
    ["source", "wall-release"],
    ["help", "language"],
    ["check", "--json", WALL],
    ["list"],
    ["config", "show"],
    ["show", "wall-release"],
    ["show", "--format", "vtt", "wall-release"],
    ["show", "--format", "json", "wall-release"],
    ["--help"],
    ["--version"],
]
IDS = [" ".join(c[:3]).replace(WALL, "FILE") for c in COMMANDS]


@pytest.fixture(scope="module")
def env(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """A profile, clip cache and routine folder of the tests' own."""
    home = tmp_path_factory.mktemp("output-errors")
    return {
        "COACH_CACHE_DIR": str(home / "cache"),
        "COACH_CONFIG": str(home / "config.toml"),
        "COACH_ROUTINES": str(home / "mine"),
    }


def run_into(args: list[str], stdout: int, env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "coach", *args],
        stdout=stdout,
        stderr=subprocess.PIPE,
        stdin=subprocess.DEVNULL,
        text=True,
        env={**os.environ, **env},
        timeout=300,
    )


@pytest.mark.skipif(not os.path.exists("/dev/full"), reason="needs /dev/full")
@pytest.mark.parametrize("args", COMMANDS, ids=IDS)
def test_a_full_standard_output_is_one_line_and_status_1(args, env):
    fd = os.open("/dev/full", os.O_WRONLY)
    try:
        result = run_into(args, fd, env)
    finally:
        os.close(fd)
    assert result.returncode == 1
    assert result.stderr.splitlines()[-1:] == [
        "Error: cannot write to standard output: No space left on device"
    ], result.stderr
    assert "Traceback" not in result.stderr and "Exception ignored" not in result.stderr


@pytest.mark.parametrize("args", COMMANDS, ids=IDS)
def test_a_closed_pipe_ends_quietly_as_for_sigpipe(args, env):
    read, write = os.pipe()
    os.close(read)  # the reader has gone before the first line
    try:
        result = run_into(args, write, env)
    finally:
        os.close(write)
    assert result.returncode == 141, result.stderr
    assert "Traceback" not in result.stderr and "Exception ignored" not in result.stderr
    assert "standard output" not in result.stderr


def test_a_reader_that_stops_early_leaves_no_noise(env):
    """`coach help language | head -1`: the reference is longer than a pipe holds."""
    command = f"{shlex.quote(sys.executable)} -m coach help language | head -1"
    result = subprocess.run(
        ["bash", "-c", command + "; echo ${PIPESTATUS[0]} >&2"],
        capture_output=True,
        text=True,
        env={**os.environ, **env},
        timeout=300,
    )
    assert result.stdout == "# The routine language\n"
    assert result.stderr in ("141\n", "0\n"), result.stderr  # 0: it all fitted in the pipe


def test_output_that_can_be_written_is_unchanged(env):
    result = run_coach("source", "wall-release", env=env)
    assert result.returncode == 0, result.stderr
    assert result.stdout == Path(WALL).read_text()


def in_a_deleted_folder(tmp_path: Path, *args: str, **env: str) -> subprocess.CompletedProcess:
    """`coach ARGS` run in a folder deleted after the command's shell went into it."""
    gone = tmp_path / "gone"
    gone.mkdir()
    command = f'cd {shlex.quote(str(gone))} && rmdir {shlex.quote(str(gone))} && exec "$@"'
    return subprocess.run(
        ["sh", "-c", command, "sh", sys.executable, "-m", "coach", *args],
        capture_output=True,
        text=True,
        env={**os.environ, **env},
        stdin=subprocess.DEVNULL,
        timeout=300,
    )


def test_an_unknown_name_in_a_deleted_folder_says_where_it_looked(tmp_path):
    result = in_a_deleted_folder(tmp_path, "show", "no-such", COACH_ROUTINES=str(tmp_path))
    assert result.returncode == 1
    assert "Traceback" not in result.stderr, result.stderr
    assert "no routine named 'no-such'" in result.stderr
    assert "in the current folder, in your routine folder" in result.stderr


def test_a_name_and_the_list_work_in_a_deleted_folder_with_a_relative_coach_routines(tmp_path):
    result = in_a_deleted_folder(tmp_path, "show", "wall-release", COACH_ROUTINES="mine")
    assert result.returncode == 0, result.stderr
    listed = in_a_deleted_folder(tmp_path, "list", COACH_ROUTINES="mine")
    assert listed.returncode == 0, listed.stderr
    assert "wall-release" in listed.stdout
