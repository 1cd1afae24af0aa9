"""Pacing you can see (issue 13, part 3): `coach list` measures at the profile's pacing and
says so, `coach show` names the profile's keys above its table, and `coach config show`
tells each setting's value and where it comes from."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from coach import effective, measured
from coach.compiler import Overrides

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib

SHORTEST = "lower-back-ball"  # the quickest built-in to render, for show against list


@pytest.fixture(scope="module")
def cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("cache")


@pytest.fixture
def config(tmp_path: Path) -> Path:
    return tmp_path / "conf" / "config.toml"


@pytest.fixture
def coach(cache: Path, config: Path):
    """coach(*args, env=None): `python -m coach` with the profile at `config`; must succeed."""

    def run(*args: str, env: dict[str, str] | None = None) -> str:
        environment = {
            **os.environ,
            "COACH_CACHE_DIR": str(cache),
            "COACH_CONFIG": str(config),
            **(env or {}),
        }
        result = subprocess.run(
            [sys.executable, "-m", "coach", *args],
            capture_output=True,
            text=True,
            env=environment,
            timeout=300,
        )
        assert result.returncode == 0, result.stderr
        assert "Traceback" not in result.stderr
        return result.stdout

    return run


def listed(output: str, name: str) -> str:
    """The length `coach list` gives `name` (with its `~` if estimated)."""
    for line in output.splitlines():
        if line.split()[:1] == [name]:
            return line.split()[1]
    raise AssertionError(f"{name} not in {output!r}")


def header_field(output: str, label: str) -> str | None:
    found = re.search(rf"^{label}:\s+(.*)$", output, re.MULTILINE)
    return found[1] if found else None


def rows(output: str) -> dict[str, tuple[str, str]]:
    """`coach config show`'s table (commented or not): key -> (value, from)."""
    table: dict[str, tuple[str, str]] = {}
    lines = [line.removeprefix("# ") for line in output.splitlines()]
    start = next(number for number, line in enumerate(lines) if line.startswith("key "))
    for line in lines[start + 1 :]:
        key, rest = line.split(None, 1)
        value, source = re.split(r"\s{2,}", rest.strip())
        table[key] = (value, source)
    return table


# ---------------------------------------------------------------------------------------------
# coach list


def test_list_tells_the_length_show_tells_at_the_profile_s_pacing(coach) -> None:
    coach("config", "set", "rate", "100")
    coach("config", "set", "slower", "50")
    length = header_field(coach("show", SHORTEST), "length")
    assert length is not None
    shown = length.split()[0]
    output = coach("list")
    assert listed(output, SHORTEST) == shown  # exact now (no ~): show spoke every line
    assert output.splitlines()[-1] == (
        "Lengths at your profile's pacing: rate 100, slower 50 (coach config show)"
    )


def test_a_profile_change_is_never_told_a_remembered_length(coach, config) -> None:
    plain = coach("list")
    assert "profile" not in plain
    coach("config", "set", "rate", "100")
    slow = listed(coach("list"), "wall-release")
    assert slow != listed(plain, "wall-release")
    coach("config", "set", "rate", "200")
    fast = listed(coach("list"), "wall-release")
    assert fast not in (slow, listed(plain, "wall-release"))
    coach("config", "set", "tempo", "30")  # a tempo alone changes lengths too
    assert listed(coach("list"), "wall-release") != fast
    config.unlink()
    assert coach("list") == plain


def test_keys_that_change_no_length_are_not_named_by_list(coach) -> None:
    plain = coach("list")
    coach("config", "set", "volume", "50")
    coach("config", "set", "lead-in", "10")
    assert coach("list") == plain


def test_the_memo_keeps_lengths_at_each_pacing_apart(tmp_path: Path) -> None:
    routine = tmp_path / "r.routine"
    routine.write_text("title: R\n\nsay: Roll slowly up and down, then rest a while.\n")
    cache = tmp_path / "cache"
    cache.mkdir()
    base = measured.measure(str(routine), cache)[1]
    slow = measured.measure(str(routine), cache, Overrides(rate=80))[1]
    assert slow > base
    assert measured.measure(str(routine), cache, Overrides(rate=300))[1] < base
    assert measured.measure(str(routine), cache, Overrides())[1] == base


# ---------------------------------------------------------------------------------------------
# coach show


def test_show_names_the_profile_s_keys_above_its_table(coach, config) -> None:
    assert header_field(coach("show", SHORTEST), "pacing") is None
    coach("config", "set", "rate", "100")
    coach("config", "set", "breath", "4-6")
    coach("config", "set", "listen", "true")  # play's alone: changes nothing show shows
    output = coach("show", SHORTEST)
    note = "rate 100, breath 4-6 from your profile (coach config show)"
    assert header_field(output, "pacing") == note
    assert output.index("pacing:") < output.index("time  step")
    # An option on the command line replaces the profile's key: it is no longer named.
    assert header_field(coach("show", SHORTEST, "--rate", "120"), "pacing") == (
        "breath 4-6 from your profile (coach config show)"
    )
    config.unlink()


def test_in_effect_drops_what_the_command_line_replaces() -> None:
    mine = {"rate": 100, "slower": 50.0, "lead-in": 10.0, "cache-dir": Path("/c")}
    assert effective.in_effect(mine) == {"rate": 100, "slower": 50.0}
    assert effective.in_effect(mine, {"tempo": 20.0, "rate": None}) == {"rate": 100}
    assert effective.in_effect(mine, {"rate": 90}, live=True) == {"slower": 50.0, "lead-in": 10.0}
    assert effective.describe({"rate": 100, "slower": 50.0}) == "rate 100, slower 50"


# ---------------------------------------------------------------------------------------------
# coach config show


ROUTINE = """\
title: Mine
language: de
rate: 110 wpm
tempo: 20 per minute
gap: 1.5s

say: Hallo.
"""


def test_config_show_tells_each_source(coach, tmp_path: Path) -> None:
    routine = tmp_path / "mine.routine"
    routine.write_text(ROUTINE)
    coach("config", "set", "rate", "130")
    coach("config", "set", "faster", "50")
    table = rows(coach("config", "show", str(routine), "--gap", "2", "--cache-dir", "/x"))
    assert table["rate"] == ("130 wpm", "profile")  # the profile beats the routine's 110
    assert table["gap"] == ("2 s", "command line")  # the command line beats the routine
    assert table["tempo"] == ("20 per minute (30 with faster 50%)", "routine")
    assert table["faster"] == ("50%", "profile")
    assert table["pitch"] == ("50", "default")
    assert table["loudness"] == ("-16 LUFS", "default")
    assert table["language"] == ("de (German)", "routine")
    assert table["engine"] == ("pyttsx3", "environment")  # COACH_ENGINE, as the tests pin it
    assert table["cache-dir"] == ("/x", "command line")
    assert list(table)[: len(effective.SETTINGS)] == list(effective.SETTINGS)


def test_config_show_with_options_alone_and_a_replaced_tempo(coach) -> None:
    coach("config", "set", "slower", "20")
    table = rows(coach("config", "show", "--tempo", "12", env={"COACH_ENGINE": ""}))
    assert table["tempo"] == ("12 per minute", "command line")
    assert table["slower"] == ("- (--tempo replaces your profile's slower 20)", "command line")
    assert table["engine"][1] == "default"
    assert "language" not in table  # a routine's alone


def test_config_show_without_arguments_is_still_the_profile_s_toml(coach, config) -> None:
    coach("config", "set", "rate", "130")
    coach("config", "set", "breath", "4-6")
    output = coach("config", "show")
    assert output.splitlines()[:3] == [f"# {config}", "rate = 130", 'breath = "4-6"']
    assert tomllib.loads(output) == {"rate": 130, "breath": "4-6"}  # the table is comments
    table = rows(output)
    assert table["rate"] == ("130 wpm", "profile")
    assert table["breath"] == ("4-6", "profile")
    assert table["gap"] == ("0.6 s", "default")
    assert "language" not in table


def test_the_default_loudness_shown_is_the_mixer_s() -> None:
    from coach.loudness import DEFAULT_LOUDNESS

    shown = {row.key: row.value for row in effective.table({}, environ={})}["loudness"]
    assert shown == f"{DEFAULT_LOUDNESS:g} LUFS"


def test_a_profile_pacing_past_4_hours_is_named_as_the_cause(tmp_path: Path) -> None:
    routine = tmp_path / "slow.routine"
    routine.write_text("title: L\n\nrepeat 700 times at 4 per minute:\n    beat: up\n")
    config = tmp_path / "config.toml"
    config.write_text("slower = 50\n")
    env = {**os.environ, "COACH_CONFIG": str(config), "COACH_CACHE_DIR": str(tmp_path / "c")}
    run = [sys.executable, "-m", "coach"]
    checked = subprocess.run([*run, "check", str(routine)], capture_output=True, text=True, env=env)
    assert checked.returncode == 0  # the routine at its own pacing: under 3 hours
    shown = subprocess.run([*run, "show", str(routine)], capture_output=True, text=True, env=env)
    assert shown.returncode == 1
    assert "over the 4 hour limit" in shown.stderr and "--slower" in shown.stderr
    assert "Traceback" not in shown.stderr
