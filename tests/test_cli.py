"""The command line, run as a user runs it: messages and exit codes, never a traceback."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import wave
from pathlib import Path

import numpy as np
import pytest
from helpers import assert_played, count_opens, device_env, run_coach

from coach import library

FIXTURES = Path(__file__).parent / "fixtures" / "cli"
GOOD = str(FIXTURES / "good.routine")
BAD = str(FIXTURES / "bad.routine")


def coach(*args: str, env: dict[str, str] | None = None, cache: Path | None = None):
    return run_coach(*args, env=env, cache=cache)


@pytest.fixture
def cache(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("cache")


def assert_clean_failure(result, code: int = 1) -> None:
    assert result.returncode == code, result.stderr
    assert "Traceback" not in result.stderr + result.stdout


def test_check_good_file_exits_zero():
    result = coach("check", GOOD)
    assert result.returncode == 0, result.stderr


def test_check_reports_every_error_with_position_and_exits_one():
    result = coach("check", BAD)
    assert_clean_failure(result)
    assert f"{BAD}:4:1: error:" in result.stderr
    assert f"{BAD}:5:8: error:" in result.stderr
    assert "did you mean 'repeat'?" in result.stderr
    assert "^" in result.stderr


def test_check_several_files_reports_each():
    result = coach("check", GOOD, BAD)
    assert_clean_failure(result)
    assert GOOD not in result.stderr and BAD in result.stderr


def test_check_missing_file():
    result = coach("check", "no-such.routine")
    assert_clean_failure(result)
    assert "no-such.routine" in result.stderr


def test_show_unknown_routine_names_builtins():
    result = coach("show", "no-such-routine")
    assert_clean_failure(result)
    assert "wall-release" in result.stderr


def test_show_routine_with_errors_renders_nothing(tmp_path):
    result = coach("export", BAD, "-o", str(tmp_path / "out.mp3"))
    assert_clean_failure(result)
    assert "error:" in result.stderr
    assert not list(tmp_path.iterdir())


def test_show_json_has_the_documented_shape(cache):
    result = coach("show", GOOD, "--json", cache=cache)
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert data["title"] == "Tiny"
    assert [s["name"] for s in data["steps"]] == ["Only"]
    kinds = {e["kind"] for e in data["events"]}
    assert {"speech", "click", "sound"} <= kinds


def test_show_table_lists_cues(cache):
    result = coach("show", GOOD, cache=cache)
    assert result.returncode == 0, result.stderr
    assert '"Ready."' in result.stdout and "metronome: 6 clicks" in result.stdout


def test_unknown_voice_option_is_one_clear_error(cache):
    result = coach("show", GOOD, "--voice", "gmw/en-uss", cache=cache)
    assert_clean_failure(result)
    assert "gmw/en-uss" in result.stderr and "gmw/en-us" in result.stderr


def test_unknown_voice_in_routine_is_a_positioned_error(cache):
    result = coach("show", str(FIXTURES / "bad-voice.routine"), cache=cache)
    assert_clean_failure(result)
    assert "bad-voice.routine:2:" in result.stderr


def test_rate_out_of_range_is_a_usage_error():
    result = coach("show", GOOD, "--rate", "5")
    assert_clean_failure(result, code=2)
    assert "--rate" in result.stderr


def test_export_to_missing_directory(tmp_path, cache):
    target = tmp_path / "no" / "such" / "dir" / "out.mp3"
    result = coach("export", GOOD, "-o", str(target), cache=cache)
    assert_clean_failure(result)
    assert str(target.parent) in result.stderr


def test_export_without_ffmpeg_says_what_to_install(tmp_path, cache):
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "python").symlink_to(sys.executable)
    result = coach(
        "export", GOOD, "-o", str(tmp_path / "out.mp3"), env={"PATH": str(bin_dir)}, cache=cache
    )
    assert_clean_failure(result)
    assert "ffmpeg" in result.stderr
    assert not (tmp_path / "out.mp3").exists()


def test_play_without_audio_device_suggests_export(tmp_path, cache):
    conf = tmp_path / "no-device.conf"
    conf.write_text("pcm.!default { type hw card 99 }\n")
    result = coach("play", GOOD, env={"ALSA_CONFIG_PATH": str(conf)}, cache=cache)
    assert_clean_failure(result)
    assert "coach export" in result.stderr


def test_ctrl_c_during_export_leaves_no_file_and_exits_130(tmp_path, cache):
    long_routine = tmp_path / "long.routine"
    long_routine.write_text("title: Long\n\nrepeat 1000 times at 5 per minute\n")
    target = tmp_path / "long.mp3"
    env = {**os.environ, "COACH_CACHE_DIR": str(cache)}
    process = subprocess.Popen(
        [sys.executable, "-m", "coach", "export", str(long_routine), "-o", str(target)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    # Interrupt once the encoder is writing its temporary file beside the target.
    deadline = time.monotonic() + 60
    while not [p for p in tmp_path.iterdir() if p.name != "long.routine"]:
        assert time.monotonic() < deadline and process.poll() is None
        time.sleep(0.02)
    process.send_signal(signal.SIGINT)
    _, stderr = process.communicate(timeout=60)
    assert process.returncode == 130, stderr
    assert "Traceback" not in stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["long.routine"]


def test_list_shows_builtin_routines_with_title_and_length(cache):
    result = coach("list", cache=cache)
    assert result.returncode == 0, result.stderr
    line = next(line for line in result.stdout.splitlines() if line.startswith("wall-release"))
    assert "Wall ball release" in line
    minutes = int(line.split()[1].lstrip("~").split(":")[0])
    assert 10 <= minutes <= 13


def test_list_without_clips_estimates_every_length_and_speaks_nothing(tmp_path):
    result = coach("list", cache=tmp_path / "cache")
    assert result.returncode == 0, result.stderr
    lengths = [line.split()[1] for line in result.stdout.splitlines()]
    assert len(lengths) == len(library.builtin_names())
    assert all(length.startswith("~") for length in lengths)
    assert not (tmp_path / "cache").exists()  # not a clip made, not a file written


def test_list_gives_the_exact_length_of_a_routine_already_spoken(tmp_path):
    from coach import session
    from coach.cli_session import format_clock

    built = session.build("lower-back-ball", cache_dir=tmp_path / "cache")
    result = coach("list", cache=tmp_path / "cache")
    assert result.returncode == 0, result.stderr
    rows = {line.split()[0]: line.split()[1] for line in result.stdout.splitlines()}
    assert rows["lower-back-ball"] == format_clock(built.timeline.duration)
    assert rows["wall-release"].startswith("~")


def test_voices_lists_ids_and_names():
    result = coach("voices")
    assert result.returncode == 0, result.stderr
    assert any(line.startswith("gmw/en-us ") for line in result.stdout.splitlines())


def test_python_dash_m_and_help():
    result = coach("--help")
    assert result.returncode == 0
    for command in ("list", "check", "show", "play", "export", "voices"):
        assert command in result.stdout


@pytest.mark.parametrize("routine", [GOOD, "wall-release"])
def test_play_sends_the_device_exactly_what_export_writes(routine, tmp_path, cache):
    """The acceptance test of live playback: captured device bytes == the WAV export, apart
    from the backend's priming zeros, through exactly one open of the device."""
    wav = tmp_path / "session.wav"
    assert coach("export", routine, "-o", str(wav), cache=cache).returncode == 0
    capture, opens = tmp_path / "device.raw", tmp_path / "opens.txt"
    result = coach("play", routine, env=device_env(capture, opens), cache=cache)
    assert result.returncode == 0, result.stderr
    with wave.open(str(wav)) as exported:
        assert (exported.getframerate(), exported.getnchannels()) == (22050, 1)
        frames = exported.readframes(exported.getnframes())
    assert_played(capture.read_bytes(), np.frombuffer(frames, "<i2"))
    assert count_opens(opens) == 1


def test_new_writes_a_starter_that_checks(tmp_path):
    result = subprocess.run(
        [sys.executable, "-m", "coach", "new", "stretch"], cwd=tmp_path, capture_output=True
    )
    assert result.returncode == 0, result.stderr
    assert coach("check", str(tmp_path / "stretch.routine")).returncode == 0


def test_new_refuses_to_overwrite(tmp_path):
    (tmp_path / "stretch.routine").write_text("title: Mine\n\nsay: Keep me.\n")
    result = subprocess.run(
        [sys.executable, "-m", "coach", "new", "stretch"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
    )
    assert_clean_failure(result)
    assert "already exists" in result.stderr
    assert (tmp_path / "stretch.routine").read_text() == "title: Mine\n\nsay: Keep me.\n"


def test_show_prints_the_routine_header_above_the_timeline(cache):
    result = coach("show", "wall-release", cache=cache)
    assert result.returncode == 0, result.stderr
    head = result.stdout.split("time ")[0]
    for label in ("title:", "about:", "equipment:", "source:", "length:"):
        assert label in head


def test_check_needs_no_audio_stack():
    code = (
        "import sys\n"
        "from click.testing import CliRunner\n"
        "from coach.cli import main\n"
        f"result = CliRunner().invoke(main, ['check', {GOOD!r}])\n"
        "heavy = ('pyttsx3', 'sounddevice', 'pydub', 'numpy')\n"
        "print(result.exit_code, sorted({m.split('.')[0] for m in sys.modules} & set(heavy)))\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.stdout.split() == ["0", "[]"], result.stderr


def test_no_audio_device_names_the_export_before_rendering_anything(tmp_path):
    """No sound card: one message naming the routine the user typed and the export to
    make instead, given before any speech is rendered (the empty cache stays empty)."""
    config = tmp_path / "no-device.conf"
    config.write_text("pcm.!default { type hw card 99 }\n")  # a sound card nobody has
    cache = tmp_path / "cache"
    env = {"ALSA_CONFIG_PATH": str(config)}
    result = coach("play", "wall-release", env=env, cache=cache)
    assert_clean_failure(result)
    assert "No audio device could be opened" in result.stderr
    assert "coach export wall-release -o wall-release.mp3" in result.stderr
    assert "ROUTINE" not in result.stderr and "ALSA lib" not in result.stderr
    assert "Rendering" not in result.stderr
    assert not cache.exists() or not any(cache.rglob("*.wav"))


def test_play_without_portaudio_is_one_clear_message(tmp_path):
    """sounddevice raises OSError when libportaudio2 is missing; shadowing it with a module
    that does the same shows what a user without the library sees."""
    shadow = tmp_path / "shadow"
    shadow.mkdir()
    (shadow / "sounddevice.py").write_text("raise OSError('PortAudio library not found')\n")
    env = {"PYTHONPATH": os.pathsep.join([str(shadow), *sys.path])}
    result = coach("play", GOOD, env=env, cache=tmp_path / "cache")
    assert_clean_failure(result)
    assert "Live playback needs the sounddevice package and the PortAudio library" in result.stderr
    assert "PortAudio library not found" in result.stderr
    assert "coach export" in result.stderr and "good.mp3" in result.stderr


def test_export_never_writes_over_a_file_the_session_reads(tmp_path):
    """`-o` naming the routine's own sound file: one message naming both, the sound file
    untouched, and nothing rendered first."""
    gong = tmp_path / "gong.wav"
    with wave.open(str(gong), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(22050)
        out.writeframes(b"\x10\x00" * 2205)
    before = gong.read_bytes()
    routine = tmp_path / "r.routine"
    routine.write_text("title: Gong\n\nsay: Listen.\nsound: gong.wav\n")
    cache = tmp_path / "cache"
    result = coach("export", str(routine), "-o", str(gong), cache=cache)
    assert_clean_failure(result)
    assert f"cannot write {gong}: the session reads it" in result.stderr
    assert gong.read_bytes() == before
    assert not cache.exists() or not any(cache.rglob("*.wav"))


@pytest.mark.parametrize(
    ("name", "message"),
    [("x.flac", "coach writes mp3, wav, ogg, not .flac"), ("good.routine", "not .routine")],
)
def test_export_refuses_a_name_it_cannot_write(tmp_path, name, message):
    target = tmp_path / name
    result = coach("export", GOOD, "-o", str(target), cache=tmp_path / "cache")
    assert_clean_failure(result)
    assert message in result.stderr and not target.exists()
