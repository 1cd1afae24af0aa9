"""The personal profile: `coach config`, how the profile is read and written, and precedence."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import wave
from pathlib import Path

import numpy as np
import pytest
from helpers import assert_played, count_opens, device_env

from coach import profile
from coach.compiler import Breath, Overrides

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib

FIXTURES = Path(__file__).parent / "fixtures" / "pacing"
SPEECH = str(FIXTURES / "speech.routine")  # no settings: the built-in defaults apply
PACED = str(FIXTURES / "paced.routine")  # the same lines with rate: 110 wpm and gap: 1.5s
REPS = str(FIXTURES / "reps.routine")  # 6 reps at 20 per minute
BREATHE = str(FIXTURES / "breathe.routine")


@pytest.fixture(scope="module")
def cache(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("cache")


@pytest.fixture
def config(tmp_path) -> Path:
    return tmp_path / "conf" / "config.toml"


@pytest.fixture
def coach(cache, config):
    """coach(*args, env=None) runs `python -m coach` with the profile at `config`."""

    def run(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
        environment = {
            **os.environ,
            "COACH_CACHE_DIR": str(cache),
            "COACH_CONFIG": str(config),
            **(env or {}),
        }
        return subprocess.run(
            [sys.executable, "-m", "coach", *args],
            capture_output=True,
            text=True,
            env={k: v for k, v in environment.items() if v is not None},
            timeout=300,
        )

    return run


@pytest.fixture
def show(coach):
    def show(routine: str, *options: str) -> dict:
        result = coach("show", routine, "--json", *options)
        assert result.returncode == 0, result.stderr
        return json.loads(result.stdout)

    return show


def ok(result: subprocess.CompletedProcess[str]) -> subprocess.CompletedProcess[str]:
    assert result.returncode == 0, result.stderr
    return result


def clean_failure(result: subprocess.CompletedProcess[str], code: int = 1) -> str:
    assert result.returncode == code, (result.returncode, result.stdout, result.stderr)
    assert "Traceback" not in result.stdout + result.stderr
    return result.stderr


def speech(timeline: dict) -> list[dict]:
    return [e for e in timeline["events"] if e["kind"] == "speech"]


def durations(timeline: dict) -> list[float]:
    return [e["duration"] for e in speech(timeline)]


def gap(timeline: dict) -> float:
    first, second = speech(timeline)[:2]
    return round(second["start"] - first["start"] - first["duration"], 4)


# ---------------------------------------------------------------------------------------------
# coach config


def test_config_path_is_coach_config(coach, config):
    assert ok(coach("config", "path")).stdout.strip() == str(config)


@pytest.mark.skipif(sys.platform != "linux", reason="XDG config directory")
def test_config_path_defaults_to_the_user_config_directory(coach, tmp_path):
    env = {"COACH_CONFIG": None, "XDG_CONFIG_HOME": str(tmp_path / "xdg")}
    result = ok(coach("config", "path", env=env))  # type: ignore[arg-type]
    assert result.stdout.strip() == str(tmp_path / "xdg" / "coach" / "config.toml")


def test_config_set_show_unset_roundtrip(coach, config):
    first = ok(coach("config", "show")).stdout
    assert str(config) in first and "No profile yet" in first
    assert not config.exists()

    ok(coach("config", "set", "rate", "130"))
    ok(coach("config", "set", "voice", "gmw/en-us"))
    ok(coach("config", "set", "breath", "4-7-8"))
    ok(coach("config", "set", "gap", "0.5s"))
    ok(coach("config", "set", "click-volume", "60%"))
    ok(coach("config", "set", "lead-in", "10"))
    stored = tomllib.loads(config.read_text())
    assert stored == {
        "rate": 130,
        "voice": "gmw/en-us",
        "breath": "4-7-8",
        "gap": 0.5,
        "click-volume": 60,
        "lead-in": 10,
    }
    shown = ok(coach("config", "show")).stdout.splitlines()
    assert shown[0] == f"# {config}"
    # The profile's TOML, then every setting as # comments (tests/test_pacing_visible.py).
    assert [line for line in shown[1:] if line and not line.startswith("#")] == [
        "rate = 130",
        'voice = "gmw/en-us"',
        "click-volume = 60",
        "gap = 0.5",
        'breath = "4-7-8"',
        "lead-in = 10",
    ]

    assert "Removed rate" in ok(coach("config", "unset", "rate")).stderr
    assert "rate" not in tomllib.loads(config.read_text())
    assert "was not set" in ok(coach("config", "unset", "rate")).stderr
    assert "rate = " not in ok(coach("config", "show")).stdout


def test_config_set_reads_values_like_the_options(coach, config):
    ok(coach("config", "set", "rate", "140 wpm"))
    ok(coach("config", "set", "tempo", "12 per minute"))
    ok(coach("config", "set", "voice", "GMW/EN-US"))  # the engine's own spelling is stored
    ok(coach("config", "set", "gap", "0"))
    assert tomllib.loads(config.read_text()) == {
        "rate": 140,
        "tempo": 12,
        "voice": "gmw/en-us",
        "gap": 0,
    }


@pytest.mark.parametrize(
    ("key", "value", "expected"),
    [
        ("rate", "30", "from 80 to 450 words per minute"),
        ("rate", "fast", "from 80 to 450 words per minute"),
        ("pitch", "101", "from 0 to 100"),
        ("volume", "-5", "from 0 to 200"),
        ("gap", "-1", "from 0 to 10 seconds"),
        ("slower", "95", "from 1 to 90"),
        ("breath", "4", "IN-OUT, IN-HOLD-OUT or IN-HOLD-OUT-HOLD"),
    ],
)
def test_config_set_validates_and_leaves_the_file_alone(coach, config, key, value, expected):
    ok(coach("config", "set", "rate", "130"))
    before = config.read_bytes()
    error = clean_failure(coach("config", "set", key, value), code=2)
    assert expected in error and f"'{key}'" in error
    assert config.read_bytes() == before


def test_config_set_unknown_key_or_voice(coach, config):
    ok(coach("config", "set", "rate", "130"))
    before = config.read_bytes()
    error = clean_failure(coach("config", "set", "rat", "140"), code=2)
    assert "unknown setting 'rat'" in error and "did you mean 'rate'?" in error
    error = clean_failure(coach("config", "set", "voice", "en-us"))
    assert "unknown voice 'en-us'" in error and "did you mean 'gmw/en-us'?" in error
    error = clean_failure(coach("config", "unset", "colour"), code=2)
    assert "unknown setting 'colour'" in error
    assert config.read_bytes() == before


def test_tempo_slower_and_faster_replace_each_other(coach, config):
    ok(coach("config", "set", "slower", "20"))
    result = ok(coach("config", "set", "tempo", "12"))
    assert "Removed slower" in result.stderr
    assert tomllib.loads(config.read_text()) == {"tempo": 12}


def test_set_keeps_the_other_keys_even_unknown_ones(coach, config):
    config.parent.mkdir(parents=True)
    config.write_text('rate = 130\nfuture-key = "kept"\n\n[plugins]\nx = 1\n')
    ok(coach("config", "set", "gap", "1"))
    assert tomllib.loads(config.read_text()) == {
        "rate": 130,
        "gap": 1,
        "future-key": "kept",
        "plugins": {"x": 1},
    }
    # The unknown key is an error when the profile is used, and unset is the fix.
    error = clean_failure(coach("config", "show"))
    line = config.read_text().splitlines().index('future-key = "kept"') + 1
    assert f"{config}:{line}: unknown setting 'future-key'" in error
    assert "coach config unset future-key" in error
    ok(coach("config", "unset", "future-key"))
    ok(coach("config", "unset", "plugins"))
    assert "rate = 130" in ok(coach("config", "show")).stdout


def test_set_writes_through_a_symlinked_profile(coach, config, tmp_path):
    real = tmp_path / "dotfiles" / "coach.toml"
    real.parent.mkdir()
    real.write_text("rate = 130\n")
    config.parent.mkdir(parents=True)
    config.symlink_to(real)
    ok(coach("config", "set", "gap", "1"))
    assert config.is_symlink()
    assert tomllib.loads(real.read_text()) == {"rate": 130, "gap": 1}


# ---------------------------------------------------------------------------------------------
# atomic writes


def test_a_failed_rename_leaves_the_profile_intact(config, monkeypatch):
    profile.set_value("rate", "130", config)
    before = config.read_bytes()

    def fail(*args, **kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", fail)
    with pytest.raises(profile.ProfileError, match="No space left on device"):
        profile.set_value("gap", "1", config)
    assert config.read_bytes() == before
    assert sorted(p.name for p in config.parent.iterdir()) == ["config.toml"]


def test_a_failed_write_leaves_the_profile_intact(config, monkeypatch):
    profile.set_value("rate", "130", config)
    before = config.read_bytes()

    def fail(fd):
        raise OSError(5, "Input/output error")

    monkeypatch.setattr(os, "fsync", fail)
    with pytest.raises(profile.ProfileError, match="Input/output error"):
        profile.unset_value("rate", config)
    assert config.read_bytes() == before
    assert sorted(p.name for p in config.parent.iterdir()) == ["config.toml"]


@pytest.mark.skipif(
    not hasattr(os, "geteuid") or os.geteuid() == 0, reason="root can write anywhere"
)
def test_an_unwritable_directory_leaves_the_profile_intact(coach, config):
    ok(coach("config", "set", "rate", "130"))
    before = config.read_bytes()
    config.parent.chmod(0o555)
    try:
        error = clean_failure(coach("config", "set", "gap", "1"))
    finally:
        config.parent.chmod(0o755)
    assert f"cannot write your profile {config}" in error
    assert config.read_bytes() == before


def test_a_directory_refusing_new_files_leaves_the_profile_intact(config, monkeypatch):
    # What an unwritable directory does, also when the tests run as root.
    from coach import atomic

    profile.set_value("rate", "130", config)
    before = config.read_bytes()

    def refuse(*args, **kwargs):
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(atomic, "new_temp", refuse)
    with pytest.raises(profile.ProfileError, match=f"cannot write your profile {config}: Perm"):
        profile.set_value("gap", "1", config)
    assert config.read_bytes() == before


def test_a_profile_where_no_directory_can_be_made(coach, tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    env = {"COACH_CONFIG": str(blocker / "config.toml")}
    error = clean_failure(coach("config", "set", "rate", "130", env=env))
    assert f"cannot write your profile {blocker}/config.toml: {blocker} is a file" in error
    assert blocker.read_text() == "not a directory"


def test_the_file_is_created_with_its_directory_and_keeps_its_mode(config):
    profile.set_value("rate", 130, config)
    assert config.is_file()
    config.chmod(0o600)
    profile.set_value("gap", "1", config)
    assert config.stat().st_mode & 0o777 == 0o600


# ---------------------------------------------------------------------------------------------
# reading the profile


def test_malformed_toml_names_file_line_and_column(coach, config):
    config.parent.mkdir(parents=True)
    config.write_text("rate = 130\nvoice = gmw/en-us\n")
    for command in (("config", "show"), ("show", SPEECH)):
        error = clean_failure(coach(*command))
        assert f"{config}:2:9:" in error
        assert "not valid TOML" in error and "in quotes" in error
    assert config.read_text() == "rate = 130\nvoice = gmw/en-us\n"
    # set refuses to write over a file it cannot read: the user's file is never lost
    clean_failure(coach("config", "set", "gap", "1"))
    assert config.read_text() == "rate = 130\nvoice = gmw/en-us\n"


def test_an_unknown_key_in_the_file_is_an_error(coach, config):
    config.parent.mkdir(parents=True)
    config.write_text("rate = 130\nspeed = 2\n")
    error = clean_failure(coach("show", SPEECH))
    assert "unknown setting 'speed'" in error and str(config) in error


@pytest.mark.parametrize(
    ("line", "shown"),
    [
        ("rate = 30", "30"),
        ("rate = true", "True"),
        ('breath = "4"', "'4'"),
        ("breath = 4", "4"),
        ("volume = 250", "250"),
        ('gap = "soon"', "'soon'"),
        ("pitch = 50.5", "50.5"),
        ('voice = ""', "''"),
    ],
)
def test_a_bad_value_in_the_file_names_key_value_and_file(coach, config, line, shown):
    config.parent.mkdir(parents=True)
    config.write_text(f"# mine\n{line}\n")
    key = line.split(" ")[0]
    error = clean_failure(coach("show", SPEECH))
    assert f"{config}:2: bad value for '{key}'" in error
    assert f"not {shown}" in error
    assert f"coach config set {key} VALUE" in error


def test_an_unknown_voice_in_the_file_names_the_file(coach, config):
    config.parent.mkdir(parents=True)
    config.write_text('voice = "en-us"\n')
    error = clean_failure(coach("show", SPEECH))
    assert f"{config}:1" in error and "did you mean 'gmw/en-us'?" in error


def test_more_than_one_of_tempo_slower_faster_is_an_error(config):
    config.parent.mkdir(parents=True)
    config.write_text("tempo = 12\nslower = 10\n")
    with pytest.raises(profile.ProfileError, match="tempo and slower"):
        profile.load_profile(config)


def test_profile_overrides_read_every_key(config):
    config.parent.mkdir(parents=True)
    config.write_text(
        'rate = "140 wpm"\nvoice = "gmw/en-us"\npitch = 70\nvolume = 80\n'
        'click-volume = "150%"\ngap = "0.5s"\nfaster = 25\nbreath = "4-7-8"\n'
        'lead-in = 10\ncache-dir = "~/clips"\n'
    )
    assert profile.profile_overrides(config) == Overrides(
        rate=140,
        voice="gmw/en-us",
        pitch=70,
        volume=0.8,
        click_volume=1.5,
        gap=0.5,
        tempo_scale=1.25,
        breath=Breath(inhale=4, hold_in=7, exhale=8),
        lead_in=10,
    )
    assert profile.load_profile(config)["cache-dir"] == Path("~/clips").expanduser()
    assert profile.profile_overrides(config.parent / "missing.toml") == Overrides()


def test_the_lead_in_counts_for_live_sessions_only(config, monkeypatch):
    from coach.cli import with_profile

    profile.set_value("lead-in", "8", config)
    monkeypatch.setenv("COACH_CONFIG", str(config))
    assert with_profile(Overrides(), live=True)[0].lead_in == 8
    assert with_profile(Overrides(), live=False)[0].lead_in is None
    assert with_profile(Overrides(lead_in=3), live=True)[0].lead_in == 3


# ---------------------------------------------------------------------------------------------
# precedence: command line > profile > routine > built-in defaults


def test_precedence_default_routine_profile_command_line(coach, show, config):
    # Built-in defaults: 150 wpm and a 0.6 s gap.
    default = show(SPEECH)
    assert gap(default) == 0.6
    assert durations(default) == durations(show(SPEECH, "--rate", "150"))

    # The routine's `rate: 110 wpm` and `gap: 1.5s` beat the defaults.
    routine = show(PACED)
    assert gap(routine) == 1.5
    assert durations(routine) == durations(show(SPEECH, "--rate", "110"))
    assert durations(routine) != durations(default)

    # The profile beats the routine.
    ok(coach("config", "set", "rate", "200"))
    ok(coach("config", "set", "gap", "2.5"))
    mine = show(PACED)
    assert gap(mine) == 2.5
    config.rename(config.with_name("aside.toml"))
    at_200 = show(SPEECH, "--rate", "200")
    config.with_name("aside.toml").rename(config)
    assert durations(mine) == durations(at_200)
    assert durations(mine) != durations(routine)

    # The command line beats the profile.
    command_line = show(PACED, "--rate", "300", "--gap", "0.25")
    assert gap(command_line) == 0.25
    config.unlink()
    assert durations(command_line) == durations(show(SPEECH, "--rate", "300"))
    assert durations(command_line) != durations(mine)


def test_the_readme_example(coach, show, config, tmp_path):
    routine = tmp_path / "mine.routine"
    routine.write_text("title: Mine\nrate: 150 wpm\n\nsay: Let the shoulders drop.\n")
    ok(coach("config", "set", "rate", "130"))
    at_130 = durations(show(str(routine)))
    at_170 = durations(show(str(routine), "--rate", "170"))
    config.unlink()
    assert at_130 == durations(show(str(routine), "--rate", "130"))
    assert at_170 == durations(show(str(routine), "--rate", "170"))
    assert at_130 > at_170


def test_tempo_slower_and_faster_are_one_setting_across_layers(coach, show):
    def spacing(*options: str) -> set[float]:
        starts = [e["start"] for e in show(REPS, *options)["events"] if e["kind"] == "click"]
        return {round(b - a, 4) for a, b in zip(starts, starts[1:])}

    ok(coach("config", "set", "slower", "20"))
    assert spacing() == {3.75}
    assert spacing("--tempo", "30") == {2.0}  # not 2.5: the profile's slower is replaced
    assert spacing("--faster", "100") == {1.5}
    ok(coach("config", "set", "tempo", "30"))
    assert spacing() == {2.0}
    assert spacing("--slower", "20") == {3.75}  # the routine's 20 per minute, 20% slower


def test_profile_breath_and_volume_reach_the_session(coach, show):
    ok(coach("config", "set", "breath", "3-1-5"))
    # Each hiss is its exhale less the 0.55 s of quiet before the next cue.
    hisses = [e["duration"] for e in show(BREATHE)["events"] if e["kind"] == "hiss"]
    assert hisses == pytest.approx([5.0 - 0.55] * 2, abs=1e-4)
    hisses = [
        e["duration"] for e in show(BREATHE, "--breath", "2-2")["events"] if e["kind"] == "hiss"
    ]
    assert hisses == pytest.approx([2.0 - 0.55] * 2, abs=1e-4)


def test_profile_lead_in_does_not_change_show(coach, show):
    before = show(SPEECH)
    ok(coach("config", "set", "lead-in", "10"))
    assert show(SPEECH) == before


def test_profile_cache_dir_is_used(coach, tmp_path):
    clips = tmp_path / "my-clips"
    ok(coach("config", "set", "cache-dir", str(clips)))
    ok(coach("show", SPEECH, env={"COACH_CACHE_DIR": None}))  # type: ignore[dict-item]
    assert list(clips.glob("*.wav"))


# ---------------------------------------------------------------------------------------------
# coach voices --sample


def read_wav(path: Path) -> tuple[np.ndarray, int]:
    with wave.open(str(path), "rb") as w:
        rate = w.getframerate()
        samples = np.frombuffer(w.readframes(w.getnframes()), dtype="<i2")
    return samples.astype(np.float64) / 32768.0, rate


def test_voices_sample_writes_a_wav(coach, tmp_path):
    out = tmp_path / "sample.wav"
    result = ok(coach("voices", "--sample", "gmw/en-us", "-o", str(out)))
    assert "Wrote" in result.stderr
    samples, rate = read_wav(out)
    assert len(samples) / rate > 3.0  # two spoken lines
    assert np.max(np.abs(samples)) > 0.2
    assert np.sqrt(np.mean(samples**2)) > 0.01
    # No closing bell: the sample ends shortly after the last word.
    assert np.max(np.abs(samples[-int(0.25 * rate) :])) < 0.01


def test_voices_sample_follows_the_pacing(coach, tmp_path):
    def seconds(*options: str) -> float:
        out = tmp_path / f"s{len(options)}.wav"
        ok(coach("voices", "--sample", "gmw/en-us", "-o", str(out), *options))
        samples, rate = read_wav(out)
        return len(samples) / rate

    ok(coach("config", "set", "rate", "300"))
    fast = seconds()
    slow = seconds("--rate", "120")
    assert slow > 1.5 * fast


def test_voices_sample_unknown_voice(coach, tmp_path):
    out = tmp_path / "sample.wav"
    error = clean_failure(coach("voices", "--sample", "en-uss", "-o", str(out)))
    assert "unknown voice 'en-uss'" in error and "did you mean" in error
    assert not out.exists()


def test_voices_lists_and_options_need_sample(coach):
    listed = ok(coach("voices")).stdout
    assert "gmw/en-us" in listed
    error = clean_failure(coach("voices", "-o", "x.wav"), code=2)
    assert "--sample" in error


def test_voices_sample_plays_through_coach_s_player(coach, tmp_path):
    out = tmp_path / "sample.wav"
    ok(coach("voices", "--sample", "gmw/en-us", "--pitch", "60", "-o", str(out)))
    capture, opens = tmp_path / "capture.raw", tmp_path / "opens.txt"
    env = device_env(capture, opens)
    result = ok(coach("voices", "--sample", "gmw/en-us", "--pitch", "60", env=env))
    assert "Playing a sample of gmw/en-us" in result.stderr
    with wave.open(str(out), "rb") as w:  # the samples, after any tags and cue chunks
        written = np.frombuffer(w.readframes(w.getnframes()), dtype="<i2")
    assert_played(capture.read_bytes(), written)
    assert count_opens(opens) == 1
