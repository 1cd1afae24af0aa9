"""coach play --resume: quit in a step, go on from it, heard through the captured ALSA device."""

from __future__ import annotations

import dataclasses
import json
import re
import shutil
import wave
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import RATE
from helpers import assert_played, count_opens, paced_conf, run_coach

from coach import resume
from coach.compiler import Overrides
from coach.mixer import mix_all
from coach.summary import outcome, summary_line
from coach.timeline import Timeline

termios = pytest.importorskip("termios")

from test_live import GOOD, LOST_DEVICE, PtyCoach, coach_env, frames  # noqa: E402  (after the skip)

SUMMARY = re.compile(r"Played \d+:\d\d( from step \d+)? \(pauses not counted\)")


def env_for(tmp_path: Path, cache: Path, capture: Path, conf: Path | None = None) -> dict:
    """A user's environment (see test_live.coach_env) with a resume state of its own."""
    env = coach_env(tmp_path, cache, capture, *([conf] if conf else []))
    env["COACH_STATE_DIR"] = str(tmp_path / "state")
    return env


def state_file(tmp_path: Path) -> Path:
    return tmp_path / "state" / resume.FILE_NAME


def export_frames(cache: Path, tmp: Path, routine: str) -> bytes:
    wav = tmp / "export.wav"
    result = run_coach("export", routine, "-o", str(wav), env=env_for(tmp, cache, tmp / "x.raw"))
    assert result.returncode == 0, result.stderr
    with wave.open(str(wav)) as exported:
        return exported.readframes(exported.getnframes())


@pytest.fixture(scope="module")
def wall(tmp_path_factory) -> dict:
    """wall-release rendered once: its cache and WAV export."""
    tmp = tmp_path_factory.mktemp("wall")
    cache = tmp / "cache"
    return {"cache": cache, "frames": export_frames(cache, tmp, "wall-release")}


@pytest.fixture(scope="module")
def tiny(tmp_path_factory) -> dict:
    """The one-step fixture routine under a name that needs shell quoting."""
    tmp = tmp_path_factory.mktemp("tiny")
    routine = tmp / "my routine.routine"
    shutil.copy(GOOD, routine)
    cache = tmp / "cache"
    return {"cache": cache, "routine": str(routine), "frames": export_frames(cache, tmp, GOOD)}


@pytest.fixture
def pty_run() -> Iterator[list[PtyCoach]]:
    runs: list[PtyCoach] = []
    yield runs
    for run in runs:
        run.close()


def resumed_session(cache: Path, step: int) -> tuple[Timeline, bytes, bytes]:
    """wall-release with resume's lead-in: its timeline, its whole mix, and what --resume
    from `step` plays (the lead-in, then the session from the step's start)."""
    from coach import session

    built = session.build("wall-release", Overrides(lead_in=resume.LEAD_IN), cache)
    timeline = built.timeline
    whole = mix_all(timeline, built.bank).astype("<i2").tobytes()
    start = timeline.chapters[step].start
    return timeline, whole, whole[: 2 * timeline.intro_end] + whole[2 * start :]


# ---------------------------------------------------------------------------------------
# The real command line.


def test_quit_in_a_step_then_resume_goes_on_from_it(
    tmp_path: Path, wall: dict, pty_run: list
) -> None:
    """Skip with n to step 3, quit with q: the message names the step and the command;
    --resume plays the lead-in and then step 3 on, exactly as the timeline has it; finished,
    a second --resume starts over."""
    (tmp_path / "first").mkdir()  # its device opens are counted apart
    paced = tmp_path / "first" / "paced.raw"
    env = env_for(tmp_path, wall["cache"], paced, paced_conf(tmp_path, 1))
    run = PtyCoach(["-m", "coach", "play", "wall-release"], env)
    pty_run.append(run)
    seen = run.wait_for(" left")  # the status line is up
    for step in (1, 2, 3):  # one n at a time, each heard to land before the next
        run.send(b"n")
        seen = run.wait_for(f"step {step} of 8", after=seen)
    run.send(b"q")
    assert run.finish() == 0, run.text()
    text = run.text()
    assert "Stopped in step 3 of 8 (Roll the base of your buttocks). " in text, text
    assert "Resume with: coach play wall-release --resume" in text
    assert re.search(SUMMARY.pattern + r": 0 of 8 steps done, 2 skipped \(steps 1, 2\)\.", text)
    saved = json.loads(state_file(tmp_path).read_text())["sessions"]
    assert [(s["routine"], s["step"], s["steps"]) for s in saved] == [
        ("built-in wall-release", 2, 8)
    ]

    capture = tmp_path / "device.raw"
    env = env_for(tmp_path, wall["cache"], capture)
    result = run_coach("play", "wall-release", "--resume", env=env)
    assert result.returncode == 0, result.stderr
    timeline, _, expected = resumed_session(wall["cache"], 2)
    texts = [e.text for e in timeline.events if e.start < timeline.intro_end]
    assert "Get ready." in texts or any(t.startswith("Get") for t in texts)
    assert "1" in texts  # the countdown
    assert_played(capture.read_bytes(), frames(expected))
    assert count_opens(capture.with_name("opens.txt")) == 1
    assert "from step 3 of 8" in result.stderr and "Nothing to resume" not in result.stderr
    last = result.stderr.strip().splitlines()[-1]
    assert last.startswith("Done. ") and "from step 3" in last
    assert last.endswith(": 6 of 8 steps done."), last
    assert json.loads(state_file(tmp_path).read_text())["sessions"][0]["step"] is None

    capture.unlink()
    again = run_coach("play", "wall-release", "--resume", env=env)
    assert again.returncode == 0, again.stderr
    assert "You finished wall-release last time; starting from the beginning." in again.stderr
    assert_played(capture.read_bytes(), frames(wall["frames"]))
    assert again.stderr.strip().splitlines()[-1].endswith(": all 8 steps done.")


def test_ctrl_c_says_how_to_resume_with_the_name_quoted(
    tmp_path: Path, tiny: dict, pty_run: list
) -> None:
    env = env_for(tmp_path, tiny["cache"], tmp_path / "paced.raw", paced_conf(tmp_path, 1))
    run = PtyCoach(["-m", "coach", "play", tiny["routine"]], env)
    pty_run.append(run)
    run.wait_for("| step 1 of 1 |")
    run.send(b"\x03")
    assert run.finish() == 130
    text = run.text()
    quoted = "'" + tiny["routine"] + "'"
    assert f"Stopped in step 1 of 1 (Only). Resume with: coach play {quoted} --resume" in text
    assert re.search(SUMMARY.pattern + r": 0 of 1 step done\.", text), text
    assert "Traceback" not in text and termios.tcgetattr(run.slave) == run.before

    capture = tmp_path / "device.raw"
    result = run_coach(
        "play", tiny["routine"], "--resume", env=env_for(tmp_path, tiny["cache"], capture)
    )
    assert result.returncode == 0, result.stderr
    assert "(0:" in result.stderr and "from step 1 of 1" in result.stderr
    assert result.stderr.strip().endswith("its one step done.")


def test_resume_with_nothing_to_resume_plays_from_the_beginning(tmp_path: Path, tiny: dict) -> None:
    capture = tmp_path / "device.raw"
    env = env_for(tmp_path, tiny["cache"], capture)
    result = run_coach("play", GOOD, "--resume", env=env)
    assert result.returncode == 0, result.stderr
    notes = [line for line in result.stderr.splitlines() if "resume" in line.lower()]
    assert notes == [f"Nothing to resume for {GOOD}; starting from the beginning."]
    assert_played(capture.read_bytes(), frames(tiny["frames"]))  # no lead-in either
    assert result.stderr.strip().splitlines()[-1] == (
        "Done. Played 0:12 (pauses not counted): its one step done."
    )


def one_entry(fields: str) -> bytes:
    """A state of one session of routine "r" with these more `fields` (JSON text)."""
    return ('{"version": 1, "sessions": [{"routine": "r", "pacing": {}, ' + fields + "}]}").encode()


@pytest.mark.parametrize(
    ("damage", "reason"),
    [
        (b'{"version": 1, "sessions": [{"rout', "it is not valid JSON"),
        (b"\xff\xfe garbage", "it is not UTF-8 text"),
        (b'{"version": 1, "sessions": [{"routine": 3}]}', "it is damaged"),
        (b"[]", "it is damaged"),
        # 1e400 reads as infinity, which int() refused with OverflowError
        (one_entry('"step": 0, "steps": 1e400'), "it is damaged"),
        (one_entry('"step": true, "steps": 1'), "it is damaged"),
        (one_entry('"step": 0, "saved": 1e400'), "it is damaged"),
        (one_entry('"step": 0, "name": ["x"]'), "it is damaged"),
        (None, "it is not a regular file"),
    ],
)
def test_a_damaged_state_is_ignored_with_a_note(
    tmp_path: Path, tiny: dict, damage: bytes | None, reason: str
) -> None:
    path = state_file(tmp_path)
    path.parent.mkdir()
    if damage is None:
        path.mkdir()  # a directory where the file should be: not even written over
    else:
        path.write_bytes(damage)
    capture = tmp_path / "device.raw"
    result = run_coach("play", GOOD, "--resume", env=env_for(tmp_path, tiny["cache"], capture))
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr
    assert f"note: ignoring the resume state {path}: {reason}" in result.stderr
    assert "Nothing to resume" in result.stderr
    assert_played(capture.read_bytes(), frames(tiny["frames"]))
    if damage is None:
        assert f"note: could not remember where you stopped in {path}" in result.stderr
    else:  # written afresh at the end
        assert json.loads(path.read_text())["sessions"][0]["step"] is None


def test_resume_and_from_together_are_a_usage_error(tmp_path: Path, tiny: dict) -> None:
    capture = tmp_path / "device.raw"
    env = env_for(tmp_path, tiny["cache"], capture)
    result = run_coach("play", GOOD, "--resume", "--from", "1", env=env)
    assert result.returncode == 2
    assert "--resume and --from cannot be used together" in result.stderr
    assert "Traceback" not in result.stderr
    assert count_opens(capture.with_name("opens.txt")) == 0  # refused before the device


def test_at_another_pacing_it_resumes_by_the_step_name_with_a_note(
    tmp_path: Path, wall: dict
) -> None:
    """Stopped at rate 200 (as the state says), resumed at the default pacing: the same
    step, found by its name, and a note naming what changed."""
    path = state_file(tmp_path)
    stopped = resume.Point(
        "built-in wall-release",
        {"engine": "pyttsx3", "rate": 200},
        4,
        "Roll the middle of your back",
        8,
    )
    resume.State(path).remember(stopped)
    capture = tmp_path / "device.raw"
    result = run_coach(
        "play", "wall-release", "--resume", env=env_for(tmp_path, wall["cache"], capture)
    )
    assert result.returncode == 0, result.stderr
    timeline, _, expected = resumed_session(wall["cache"], 4)
    assert timeline.chapters[4].name == "Roll the middle of your back"
    assert (
        "Since you stopped, your pacing (rate) changed: resuming at step 5 of 8 "
        "(Roll the middle of your back) by its name." in result.stderr
    )
    assert_played(capture.read_bytes(), frames(expected))
    # Finished: the point at the other pacing was the one resumed, and is gone with it.
    saved = json.loads(path.read_text())["sessions"]
    assert [(s["pacing"], s["step"]) for s in saved] == [({"engine": "pyttsx3"}, None)]


def wall_point(step: int, name: str) -> resume.Point:
    """A place in wall-release at the pacing a test's plain `coach play wall-release` has."""
    return resume.Point("built-in wall-release", {"engine": "pyttsx3"}, step, name, 8)


def test_quitting_a_plain_play_in_the_opening_keeps_the_saved_place(
    tmp_path: Path, wall: dict, pty_run: list
) -> None:
    """A place saved earlier survives a plain `coach play` quit before step 1 (nothing was
    played to go on from), and the command to start again keeps the options typed."""
    path = state_file(tmp_path)
    resume.State(path).remember(wall_point(2, "Roll the base of your buttocks"))
    before = json.loads(path.read_text())
    env = env_for(tmp_path, wall["cache"], tmp_path / "paced.raw", paced_conf(tmp_path, 1))
    run = PtyCoach(["-m", "coach", "play", "wall-release", "--volume", "80"], env)
    pty_run.append(run)
    run.wait_for(" left | ")
    run.send(b"q")
    assert run.finish() == 0, run.text()
    text = run.text()
    assert (
        "Stopped in the opening, before step 1 of 8. "
        "Start it again with: coach play wall-release --volume 80" in text
    ), text
    assert json.loads(path.read_text()) == before


def test_a_device_lost_mid_session_keeps_the_place_and_sums_up(tmp_path: Path, wall: dict) -> None:
    """The device's pipe closes in the middle of step 3: coach says where it stopped and
    how to resume, keeps the place and sums up, then reports the device's failure."""
    from coach import session

    timeline = session.build("wall-release", None, wall["cache"]).timeline
    step3 = timeline.chapters[2]
    middle = (step3.start + step3.end) // 2 * 2 * timeline.channels  # in bytes
    conf = tmp_path / "lost.conf"
    conf.write_text(LOST_DEVICE.format(f"|head -c {middle} > {tmp_path / 'device.raw'}"))
    env = env_for(tmp_path, wall["cache"], tmp_path / "unused.raw", conf)
    result = run_coach("play", "wall-release", env=env)
    assert result.returncode == 1, result.stderr
    lines = result.stderr.strip().splitlines()
    stopped = next(i for i, line in enumerate(lines) if line.startswith("Stopped "))
    assert lines[stopped] == (
        "Stopped in step 3 of 8 (Roll the base of your buttocks). "
        "Resume with: coach play wall-release --resume"
    ), result.stderr
    assert re.match(SUMMARY.pattern + r": 2 of 8 steps done\.$", lines[stopped + 1])
    assert "The audio device failed during playback" in "\n".join(lines[stopped + 2 :])
    assert "Traceback" not in result.stderr
    saved = json.loads(state_file(tmp_path).read_text())["sessions"]
    assert [(s["routine"], s["step"]) for s in saved] == [("built-in wall-release", 2)]


def test_two_sittings_at_once_both_keep_their_place(
    tmp_path: Path, wall: dict, tiny: dict, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two `coach play` runs of different routines, started before either ends: the one
    that ends last does not write over the other's place with what it read at its start."""
    from coach import session
    from coach.cli_resume import Sitting

    monkeypatch.setenv("COACH_STATE_DIR", str(tmp_path / "state"))
    monkeypatch.setenv("COACH_CONFIG", str(tmp_path / "no-profile.toml"))
    monkeypatch.setenv("COACH_ENGINE", "pyttsx3")
    first, second = Sitting("wall-release", {}, "pyttsx3"), Sitting(GOOD, {}, "pyttsx3")
    wall_timeline = session.build("wall-release", None, wall["cache"]).timeline
    tiny_timeline = session.build(GOOD, None, tiny["cache"]).timeline
    in_step = wall_timeline.chapters[2].start + 10
    first.end(wall_timeline, [(0, in_step)], None, finished=False)
    second.end(tiny_timeline, [(0, tiny_timeline.chapters[0].start + 10)], None, False)
    saved = resume.State.load(state_file(tmp_path)).points
    assert sorted((p.routine, p.step) for p in saved) == sorted(
        [("built-in wall-release", 2), (second.key, 0)]
    )
    # Forgetting (a resumed sitting quit in the opening) also leaves the other's place.
    third = Sitting(GOOD, {}, "pyttsx3")
    first.state.remember(wall_point(5, "Roll your shoulder blades"))
    third.state.forget(third.key, third.pacing)
    saved = resume.State.load(state_file(tmp_path)).points
    assert [(p.routine, p.step) for p in saved] == [("built-in wall-release", 5)]


# ---------------------------------------------------------------------------------------
# The summary from what was played (positions in samples, no device).


def test_summary_counts_played_time_and_the_steps_done_and_skipped(make_timeline) -> None:
    from coach.timeline import Chapter

    s = RATE
    chapters = [
        Chapter("A", 1 * s, 11 * s),
        Chapter("B", 11 * s, 21 * s),
        Chapter("C", 21 * s, 31 * s),
    ]
    timeline = make_timeline(32 * s, chapters=chapters)
    # A to its end, 2 s of B, a skip to C, back to B's start, 3 s of it, quit: pauses leave
    # no trace in the spans, so they are not counted.
    played = [(0, 13 * s), (21 * s, 22 * s), (11 * s, 14 * s)]
    result = outcome(timeline, played, None, finished=False)
    assert (result.done, result.skipped, result.step, result.place) == ((0,), (2,), 1, "in")
    assert result.played == pytest.approx(17.0)
    line = summary_line(timeline, result, None)
    assert line == "Played 0:17 (pauses not counted): 1 of 3 steps done, 1 skipped (step 3)."
    finished = outcome(timeline, [(0, 32 * s)], None, finished=True)
    assert finished.done == (0, 1, 2) and finished.skipped == ()
    timeline = dataclasses.replace(timeline, intro_end=s)  # a 1 s lead-in before A
    in_lead_in = outcome(timeline, [(0, s // 2)], 2, finished=False)
    assert (in_lead_in.place, in_lead_in.step) == ("before", 2)
