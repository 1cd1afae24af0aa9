"""A profile that is not a small TOML file: one clear message naming it, never a hang, an
unbounded read or a traceback. And the cache directory's spellings: blank, `~`, NUL."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from coach import profile
from coach.atomic import STALE_SECONDS, temp_name

FIXTURES = Path(__file__).parent / "fixtures"
GOOD = str(FIXTURES / "cli" / "good.routine")


def coach(*args: str, config: Path | str, **env: str) -> subprocess.CompletedProcess[str]:
    """`python -m coach ARGS` with the profile at `config`; a hang fails the test."""
    environment = {**os.environ, "COACH_CONFIG": str(config), **env}
    return subprocess.run(
        [sys.executable, "-m", "coach", *args],
        capture_output=True,
        text=True,
        env=environment,
        stdin=subprocess.DEVNULL,
        timeout=60,
    )


def one_message(result: subprocess.CompletedProcess[str]) -> str:
    assert result.returncode == 1, (result.returncode, result.stderr)
    assert "Traceback" not in result.stderr + result.stdout
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, lines
    return lines[0]


def test_a_fifo_as_profile_is_refused_without_waiting_for_a_writer(tmp_path):
    fifo = tmp_path / "config.toml"
    os.mkfifo(fifo)
    for command in (("config", "show"), ("show", GOOD)):
        message = one_message(coach(*command, config=fifo))
        assert message == (
            f"Error: your profile {fifo} is a FIFO (named pipe), not a file; "
            "set COACH_CONFIG to the path of a TOML file"
        )


@pytest.mark.parametrize(
    ("path", "what"), [("/dev/zero", "a character device"), (".", "a directory")]
)
def test_a_device_or_directory_as_profile_is_refused(tmp_path, path, what):
    where = Path(path) if path.startswith("/") else tmp_path
    message = one_message(coach("config", "show", config=where))
    assert f"your profile {where} is {what}, not a file" in message


def test_config_set_refuses_a_profile_that_is_a_device(tmp_path):
    """Never written through: as root, replacing /dev/zero would be a disaster."""
    message = one_message(coach("config", "set", "rate", "130", config="/dev/zero"))
    assert "your profile /dev/zero is a character device" in message
    assert Path("/dev/zero").is_char_device()


def test_a_huge_profile_is_refused_without_reading_it(tmp_path):
    huge = tmp_path / "config.toml"
    with open(huge, "wb") as out:
        out.truncate(3 * 1024 * 1024 * 1024)  # 3 GB, sparse: reading it would take a while
    started = time.monotonic()
    message = one_message(coach("config", "show", config=huge))
    assert time.monotonic() - started < 30
    assert f"your profile {huge} is 3221.2 MB, over the 1 MB a profile may be" in message


def test_deeply_nested_toml_is_not_valid_toml(tmp_path):
    """tomllib recurses once per `[`: 10,000 deep raises RecursionError."""
    deep = tmp_path / "config.toml"
    deep.write_text("a = " + "[" * 10_000 + "]" * 10_000 + "\n")
    message = one_message(coach("config", "show", config=deep))
    assert f"your profile {deep} is not valid TOML (nested too deeply)" in message
    with pytest.raises(profile.ProfileError, match="nested too deeply"):
        profile.load_profile(deep)


def test_a_nul_in_the_profile_cache_dir_is_a_bad_value(tmp_path):
    config = tmp_path / "config.toml"
    config.write_text('rate = 130\ncache-dir = "clips\\u0000x"\n')
    message = one_message(coach("show", GOOD, config=config))
    assert f"{config}:2: bad value for 'cache-dir' in your profile" in message
    assert "without NUL characters, not 'clips\\x00x'" in message


def test_a_tilde_cache_dir_in_the_profile_is_the_home_directory(tmp_path, monkeypatch):
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    config = tmp_path / "config.toml"
    config.write_text('cache-dir = "~"\n')
    assert profile.load_profile(config)["cache-dir"] == tmp_path / "home"
    config.write_text('cache-dir = "~/clips"\n')
    assert profile.load_profile(config)["cache-dir"] == tmp_path / "home" / "clips"


def test_config_set_removes_stale_temporary_files_beside_the_profile(tmp_path):
    config = tmp_path / "config.toml"
    stale, fresh = tmp_path / temp_name("config.toml"), tmp_path / temp_name("config.toml")
    for path in (stale, fresh):
        path.write_bytes(b"x")
    past = time.time() - STALE_SECONDS - 60
    os.utime(stale, (past, past))
    profile.set_value("rate", "130", config)
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(["config.toml", fresh.name])
