"""`coach export` as a user runs it, where the output goes wrong or goes to a pipe: `-o -`,
a full disk, a reader that leaves, SIGTERM and SIGHUP. Real processes, real ffmpeg."""

from __future__ import annotations

import io
import json
import os
import shutil
import signal
import subprocess
import sys
import time
import wave
from pathlib import Path

import pytest
from helpers import run_coach
from small_fs import fill, small_filesystem

from coach.atomic import is_temp_name
from coach.encoding import wav_header

FIXTURES = Path(__file__).parent / "fixtures" / "cli"
GOOD = str(FIXTURES / "good.routine")
# About 200 minutes of clicks: an export of it is still running when a test stops it.
LONG = "title: Long\n\nrepeat 1000 times at 5 per minute\n"

needs_ffmpeg = pytest.mark.skipif(
    not (shutil.which("ffmpeg") and shutil.which("ffprobe")), reason="needs ffmpeg and ffprobe"
)


@pytest.fixture(scope="module")
def cache(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("cache")


def coach_process(*args: str, cache: Path, **kwargs) -> subprocess.Popen:
    env = {**os.environ, "COACH_CACHE_DIR": str(cache)}
    return subprocess.Popen(
        [sys.executable, "-m", "coach", *args], env=env, stdin=subprocess.DEVNULL, **kwargs
    )


def ffprobe(path: Path) -> dict:
    out = subprocess.run(
        ["ffprobe", "-v", "error", "-show_format", "-show_chapters", "-of", "json", path],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return json.loads(out)


def no_traceback(stderr: str | bytes) -> None:
    text = stderr.decode() if isinstance(stderr, bytes) else stderr
    assert "Traceback" not in text, text


# --- -o - --------------------------------------------------------------------------------


def test_a_wav_on_standard_output_is_the_file_export_byte_for_byte(tmp_path, cache):
    """Only the audio reaches stdout: the bytes are exactly the WAV file export's."""
    assert run_coach("export", GOOD, "-o", str(tmp_path / "x.wav"), cache=cache).returncode == 0
    streamed = coach_process(
        "export",
        GOOD,
        "-o",
        "-",
        "--format",
        "wav",
        cache=cache,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    out, err = streamed.communicate(timeout=300)
    assert streamed.returncode == 0, err
    assert out == (tmp_path / "x.wav").read_bytes()
    with wave.open(io.BytesIO(out)) as wav:  # its samples come after tags and chapter cues
        frames = wav.getnframes()
    plain = wav_header(22050, frames)
    assert out[8:36] == plain[8:36] and out[-2 * frames - 8 : -2 * frames] == plain[36:]
    assert int.from_bytes(out[4:8], "little") == len(out) - 8
    assert "Wrote wav to standard output" in err.decode()


@needs_ffmpeg
@pytest.mark.parametrize(("options", "magic"), [((), b"ID3"), (("--format", "ogg"), b"OggS")])
def test_mp3_and_ogg_through_a_pipe_have_duration_and_chapters(tmp_path, cache, options, magic):
    """Through a pipe, not a file: the format comes from --format, else MP3."""
    length = json.loads(run_coach("show", GOOD, "--json", cache=cache).stdout)["duration"]
    streamed = coach_process(
        "export",
        GOOD,
        "-o",
        "-",
        *options,
        cache=cache,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    out, err = streamed.communicate(timeout=300)
    assert streamed.returncode == 0, err
    assert out.startswith(magic)
    saved = tmp_path / "streamed"
    saved.write_bytes(out)
    info = ffprobe(saved)
    assert float(info["format"]["duration"]) == pytest.approx(length, abs=0.1)
    assert [c["tags"]["title"] for c in info["chapters"]] == ["Only"]


def test_audio_is_never_written_to_a_terminal(cache):
    main, terminal = os.openpty()
    try:
        refused = coach_process(
            "export", GOOD, "-o", "-", cache=cache, stdout=terminal, stderr=subprocess.PIPE
        )
        _, err = refused.communicate(timeout=60)
        os.set_blocking(main, False)
        with pytest.raises(BlockingIOError):
            os.read(main, 100)  # nothing reached the terminal
    finally:
        os.close(main)
        os.close(terminal)
    assert refused.returncode == 2
    assert b"-o -: standard output is a terminal" in err
    no_traceback(err)


@needs_ffmpeg
@pytest.mark.parametrize("fmt", ["wav", "mp3"])
def test_a_reader_that_leaves_ends_the_export_quietly(tmp_path, cache, fmt):
    """`coach export R -o - | head -c 100`: no traceback, no message, status 141 (as for
    a program killed by SIGPIPE), and no ffmpeg left behind."""
    routine = tmp_path / "long.routine"
    routine.write_text(LONG)
    shell = (
        f"{sys.executable} -m coach export {routine} -o - --format {fmt} | head -c 100 "
        "> /dev/null; exit ${PIPESTATUS[0]}"
    )
    env = {**os.environ, "COACH_CACHE_DIR": str(cache)}
    result = subprocess.run(
        ["bash", "-c", shell], env=env, capture_output=True, text=True, timeout=300
    )
    assert result.returncode == 141, result.stderr
    assert result.stderr == ""


# --- a full disk ---------------------------------------------------------------------------


def test_a_full_disk_during_a_wav_export_is_one_message(tmp_path, cache):
    with small_filesystem(tmp_path / "small") as small:
        target = small / "session.wav"
        target.write_bytes(b"the good old file")
        fill(small, leave=8 * 1024)
        result = run_coach("export", GOOD, "-o", str(target), cache=cache)
        assert result.returncode == 1
        no_traceback(result.stderr)
        assert result.stderr.strip().splitlines()[-1] == (
            f"Error: cannot write {target}: No space left on device"
        )
        assert target.read_bytes() == b"the good old file"
        assert sorted(p.name for p in small.iterdir()) == ["filler", "session.wav"]


# --- SIGTERM and SIGHUP --------------------------------------------------------------------


def children(pid: int, named: str = "") -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                name, rest = (entry / "stat").read_text().rsplit(")", 1)
            except OSError:
                continue
            if int(rest.split()[1]) == pid and (not named or name.endswith(f"({named}")):
                found.append(int(entry.name))
    return found


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="reads /proc for children")
@pytest.mark.parametrize(
    ("signum", "fmt"),
    [(signal.SIGTERM, "wav"), (signal.SIGHUP, "wav"), (signal.SIGTERM, "mp3")],
)
def test_sigterm_and_sighup_clean_up_as_ctrl_c_does(tmp_path, cache, signum, fmt):
    routine = tmp_path / "long.routine"
    routine.write_text(LONG)
    target = tmp_path / f"long.{fmt}"
    process = coach_process(
        "export",
        str(routine),
        "-o",
        str(target),
        cache=cache,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.monotonic() + 120
    # The metadata file for ffmpeg is written a moment before ffmpeg starts.
    while not any(is_temp_name(p.name) for p in tmp_path.iterdir()) or (
        fmt == "mp3" and not children(process.pid, "ffmpeg")
    ):
        assert time.monotonic() < deadline and process.poll() is None, process.stderr
        time.sleep(0.02)
    encoders = children(process.pid, "ffmpeg")
    sent = time.monotonic()
    process.send_signal(signum)
    _, stderr = process.communicate(timeout=30)
    assert time.monotonic() - sent < 10
    assert process.returncode == 128 + signum, stderr
    assert f"Stopped by {signal.Signals(signum).name}." in stderr
    no_traceback(stderr)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["long.routine"]
    for pid in encoders:
        assert not Path(f"/proc/{pid}").exists(), "ffmpeg was left running"


def test_standard_output_that_is_the_routine_itself_is_refused(tmp_path, cache):
    routine = tmp_path / "app.routine"
    text = "title: App\n\nsay: Hello.\n"
    routine.write_text(text)
    with open(routine, "r+b") as same:  # like `1<> app.routine` in a shell
        done = coach_process(
            "export",
            str(routine),
            "-o",
            "-",
            "--format",
            "wav",
            cache=cache,
            stdout=same,
            stderr=subprocess.PIPE,
        )
        _, stderr = done.communicate(timeout=60)
    assert done.returncode == 1
    assert f"it is {routine}, which the session reads" in stderr.decode()
    assert routine.read_text() == text
    no_traceback(stderr)


def test_a_voice_sample_streams_to_standard_output(tmp_path, cache):
    target = tmp_path / "sample.mp3"
    with target.open("wb") as out:
        done = coach_process(
            "voices",
            "--sample",
            "gmw/en-us",
            "-o",
            "-",
            cache=cache,
            cwd=tmp_path,
            stdout=out,
            stderr=subprocess.PIPE,
        )
        _, stderr = done.communicate(timeout=60)
    assert done.returncode == 0, stderr
    assert float(ffprobe(target)["format"]["duration"]) > 3
    assert not (tmp_path / "-").exists()
