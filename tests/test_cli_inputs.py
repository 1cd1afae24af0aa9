"""Odd input on the command line: one clear message and status 1 or 2, never a traceback.
And `coach check` given several files, a directory, or routines that name voices."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner
from helpers import run_coach

from coach.cli import main

FIXTURES = Path(__file__).parent / "fixtures" / "cli"
GOOD = str(FIXTURES / "good.routine")
BAD = str(FIXTURES / "bad.routine")
BAD_VOICE = str(FIXTURES / "bad-voice.routine")


@pytest.fixture(scope="module")
def cache(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("cache")


def clean_failure(result, code: int) -> str:
    assert result.returncode == code, (result.returncode, result.stderr)
    assert "Traceback" not in result.stderr + result.stdout
    return result.stderr


def invoke(*args: str):
    """In process, for what no shell can pass (a NUL in an argument)."""
    result = CliRunner().invoke(main, list(args))
    assert not isinstance(result.exception, AssertionError)
    assert result.exc_info is None or result.exc_info[0] is SystemExit, result.exc_info
    return result


# --- numbers that are not numbers ----------------------------------------------------------


@pytest.mark.parametrize(
    ("command", "option", "value"),
    [
        ("show", "--minutes", "nan"),
        ("show", "--minutes", "inf"),
        ("show", "--minutes", "-inf"),
        ("play", "--lead-in", "nan"),
        ("play", "--lead-in", "inf"),
    ],
)
def test_nan_and_infinity_are_option_errors(command, option, value):
    error = clean_failure(run_coach(command, GOOD, option, value), code=2)
    assert f"Invalid value for '{option}'" in error
    assert f"expected a number from 1 to 240, not '{value}'" in error or (
        f"expected a number more than 0 and up to 60, not '{value}'" in error
    )  # the range in words, as every option says it


# --- coach new -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("", "Error: the routine needs a name, like: coach new my-routine"),
        ("/", "Error: / is a directory; name the file in it, like: coach new /my-routine"),
        ("..", "Error: .. is a directory; name the file in it"),
        ("sub/", "Error: sub/ is a directory; name the file in it, like: coach new sub/my-"),
        ("no/such/x", "Error: cannot write no/such/x.routine: directory no/such does not exist"),
        ("notes.txt/x", "Error: cannot write notes.txt/x.routine: directory notes.txt is not a"),
        ("taken", "Error: cannot write taken.routine: it is a directory"),
    ],
)
def test_new_refuses_names_that_cannot_be_a_file(tmp_path, name, message):
    (tmp_path / "sub").mkdir()
    (tmp_path / "taken.routine").mkdir()
    (tmp_path / "notes.txt").write_text("mine")
    before = sorted(p.name for p in tmp_path.iterdir())
    for force in ((), ("--force",)):
        error = clean_failure(run_coach("new", name, *force, cwd=tmp_path), code=1)
        assert error.strip().startswith(message), error
    assert sorted(p.name for p in tmp_path.iterdir()) == before
    assert (tmp_path / "notes.txt").read_text() == "mine"


def test_new_with_a_nul_in_the_name(tmp_path):
    result = invoke("new", str(tmp_path / "a\0b"))
    assert result.exit_code == 1
    assert "a file name cannot hold a NUL character" in result.output
    assert list(tmp_path.iterdir()) == []


def test_new_force_replaces_a_file_and_a_long_name_works(tmp_path):
    mine = tmp_path / "stretch.routine"
    mine.write_text("title: Mine\n")
    assert run_coach("new", "stretch", "--force", cwd=tmp_path).returncode == 0
    assert mine.read_text().startswith("# Stretch: a starter routine")
    long = "x" * 240  # + ".routine" is 248 bytes: valid, though its temp name is shortened
    assert run_coach("new", long, cwd=tmp_path).returncode == 0, long
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([mine.name, long + ".routine"])


# --- the cache directory -------------------------------------------------------------------


def test_a_blank_cache_dir_means_not_set(tmp_path, cache):
    """COACH_CACHE_DIR=' ' is the default (here: the profile's cache-dir), never a
    directory named ' '."""
    config = tmp_path / "config.toml"
    config.write_text(f'cache-dir = "{cache}"\n')
    env = {"COACH_CONFIG": str(config), "COACH_CACHE_DIR": " "}
    result = run_coach("show", GOOD, env=env, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["config.toml"]
    assert any(cache.rglob("*.wav"))


@pytest.mark.parametrize("spelling", ["~/clips", "~"])
def test_a_tilde_cache_dir_is_in_the_home_directory(tmp_path, spelling):
    home = tmp_path / "home"
    home.mkdir()
    work = tmp_path / "work"
    work.mkdir()
    for how in ("env", "option"):
        if how == "env":
            result = run_coach(
                "show", GOOD, env={"HOME": str(home), "COACH_CACHE_DIR": spelling}, cwd=work
            )
        else:
            result = run_coach(
                "show", GOOD, "--cache-dir", spelling, env={"HOME": str(home)}, cwd=work
            )
        assert result.returncode == 0, result.stderr
        assert list(work.iterdir()) == []  # no directory named '~'
        assert any(Path(os.path.expanduser(spelling.replace("~", str(home)))).rglob("*.wav"))


def test_a_nul_in_cache_dir_is_an_option_error():
    result = invoke("show", GOOD, "--cache-dir", "clips\0x")
    assert result.exit_code == 2
    assert "a directory name cannot hold a NUL character" in result.output


# --- coach check ---------------------------------------------------------------------------


def test_check_goes_on_past_a_missing_file(tmp_path):
    error = clean_failure(run_coach("check", "missing.routine", BAD, GOOD), code=1)
    assert "missing.routine: error: no such routine file" in error
    assert f"{BAD}:4:1: error:" in error  # the files after it are still checked
    assert error.strip().splitlines()[-1] == "Error: 3 errors; 3 files checked"


def test_check_a_directory_checks_its_routines_recursively(tmp_path):
    (tmp_path / "deep" / "deeper").mkdir(parents=True)
    (tmp_path / ".hidden").mkdir()
    (tmp_path / "one.routine").write_text(Path(GOOD).read_text())
    (tmp_path / "deep" / "deeper" / "two.routine").write_text(Path(BAD).read_text())
    (tmp_path / ".hidden" / "three.routine").write_text(Path(BAD).read_text())
    (tmp_path / "notes.txt").write_text("not a routine")
    error = clean_failure(run_coach("check", str(tmp_path)), code=1)
    assert f"{tmp_path}/deep/deeper/two.routine:4:1: error:" in error
    assert "three.routine" not in error and "notes.txt" not in error
    assert error.strip().splitlines()[-1] == "Error: 2 errors; 2 files checked"
    (tmp_path / "deep" / "deeper" / "two.routine").unlink()
    result = run_coach("check", str(tmp_path))
    assert result.returncode == 0 and result.stderr.strip() == "ok: 1 file checked"


def test_check_an_empty_directory_is_an_error(tmp_path):
    error = clean_failure(run_coach("check", str(tmp_path)), code=1)
    assert f"{tmp_path}: error: no .routine files in this directory" in error


def test_check_reports_an_unknown_voice():
    error = clean_failure(run_coach("check", BAD_VOICE), code=1)
    assert f"{BAD_VOICE}:2:8: error: unknown voice 'gmw/en-zz'" in error


def test_check_without_a_speech_engine_warns_once_and_checks_the_rest(tmp_path):
    """A broken espeak-ng library found first: the voices go unchecked, said once."""
    broken = tmp_path / "lib"
    broken.mkdir()
    (broken / "libespeak-ng.so.1").write_bytes(b"")
    for name in ("a", "b"):
        (tmp_path / f"{name}.routine").write_text("title: V\nvoice: gmw/en-us\n\nsay: Hi.\n")
    result = run_coach(
        "check",
        str(tmp_path / "a.routine"),
        str(tmp_path / "b.routine"),
        BAD,
        env={"LD_LIBRARY_PATH": str(broken)},
    )
    error = clean_failure(result, code=1)
    assert error.count("warning: voices not checked:") == 1
    assert f"{BAD}:4:1: error:" in error


def test_check_starts_no_speech_engine_for_routines_without_a_voice():
    code = (
        "import sys\n"
        "from click.testing import CliRunner\n"
        "from coach.cli import main\n"
        f"result = CliRunner().invoke(main, ['check', {GOOD!r}, {BAD!r}])\n"
        "loaded = sorted(m for m in sys.modules if m in ('coach.speech', 'coach.espeak'))\n"
        "print(result.exit_code, loaded)\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.stdout.split() == ["1", "[]"], result.stderr
