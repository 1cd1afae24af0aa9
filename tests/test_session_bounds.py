"""The bounds again on the laid-out session, before any audio is mixed."""

from __future__ import annotations

from pathlib import Path

from helpers import run_coach

# Timed parts of 3h50m and a dozen long lines at the slowest rate: under 4 hours by the
# checker's low speech estimate, over it once the speech is really rendered.
SLOW_TALK = "title: Long talk\n\nrate: 80\npause 2h\npause 1h 50min\n" + "".join(
    "say: " + " ".join([f"Breathe slowly and let the shoulders drop, line {n}."] * 10) + "\n"
    for n in range(12)
)


def test_check_passes_a_routine_whose_estimate_is_under_four_hours(tmp_path: Path) -> None:
    routine = tmp_path / "long.routine"
    routine.write_text(SLOW_TALK)
    assert run_coach("check", str(routine)).returncode == 0


def test_a_session_past_four_hours_once_its_speech_is_rendered_is_refused(
    tmp_path: Path,
) -> None:
    routine = tmp_path / "long.routine"
    routine.write_text(SLOW_TALK)
    target = tmp_path / "long.wav"
    done = run_coach("export", str(routine), "-o", str(target), cache=tmp_path / "cache")
    assert done.returncode == 1
    assert f"{routine}:1:1: error: the session lasts 4h" in done.stderr
    assert "once its speech is rendered, over the 4 hour limit" in done.stderr
    assert "Traceback" not in done.stderr
    assert not target.exists()


def test_a_sound_file_spoiled_after_the_check_is_an_error_at_its_line(tmp_path: Path) -> None:
    import subprocess

    import pytest

    from coach import session
    from coach.cache import ClipCache
    from coach.compiler import Overrides
    from coach.diagnostics import RoutineError
    from coach.pyttsx3_engine import Pyttsx3Engine

    music = tmp_path / "music.mp3"
    subprocess.run(
        ["ffmpeg", "-v", "error", "-f", "lavfi", "-i", "sine=duration=1", str(music)], check=True
    )
    routine = tmp_path / "a.routine"
    routine.write_text("title: A\n\nsay: Hello.\nsound: music.mp3\n")
    checked = session.load_checked(str(routine))
    music.write_bytes(b"\xff\xfb\x90\x00" + bytes(2000))  # spoiled once it was checked
    cache = ClipCache(tmp_path / "cache", Pyttsx3Engine())
    with pytest.raises(RoutineError) as error:
        session._Renderer(Overrides(), cache).build(checked.routine)
    (problem,) = error.value.diagnostics
    assert (problem.position.line, problem.position.column) == (4, 1)
    assert "is not a readable MP3 file" in problem.message or "not a plain audio" in problem.message
