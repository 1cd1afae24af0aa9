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
