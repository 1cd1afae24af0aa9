"""coach config show takes the pacing options as show, play and export take them."""

from __future__ import annotations

from pathlib import Path

from helpers import run_coach


def test_config_show_refuses_tempo_with_faster_as_show_does(tmp_path: Path) -> None:
    env = {"COACH_CONFIG": str(tmp_path / "config.toml")}
    for command in ("config show", "show"):
        args = [*command.split(), "wall-release", "--faster", "20", "--tempo", "10"]
        done = run_coach(*args, env=env, cache=tmp_path / "cache")
        assert done.returncode == 2, (command, done.stderr)
        assert "--tempo and --faster cannot be used together" in done.stderr
        assert "Traceback" not in done.stderr


def test_a_blank_coach_cache_dir_is_shown_as_the_default_it_means(tmp_path: Path) -> None:
    env = {"COACH_CONFIG": str(tmp_path / "config.toml"), "COACH_CACHE_DIR": " "}
    done = run_coach("config", "show", env=env)
    assert done.returncode == 0, done.stderr
    (row,) = [line for line in done.stdout.splitlines() if line.startswith("# cache-dir")]
    hash_mark, key, value, source = row.split()  # a value is shown: not the blank given
    assert (key, source) == ("cache-dir", "default") and value.startswith("/")


def test_coach_new_of_a_name_like_an_option_prints_commands_that_work(tmp_path: Path) -> None:
    done = run_coach("new", "--", "-x", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "coach check ./-x.routine" in done.stderr
    pasted = run_coach("check", "./-x.routine", cwd=tmp_path)
    assert pasted.returncode == 0, pasted.stderr
