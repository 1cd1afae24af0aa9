"""Cue sheets: spoken lines and chapters as WebVTT, read back with a WebVTT parser (webvtt-py)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from webvtt import WebVTT

from coach.cuesheet import chapters_vtt, cues_vtt, vtt_time
from coach.timeline import Chapter, Event, Timeline

RATE = 22050


def timeline() -> Timeline:
    events = [
        Event(0, RATE, "speech", "k1", 1, text="Find a quiet spot."),
        Event(RATE, 100, "click", "click", 1),
        Event(RATE * 2 + 7, RATE // 2, "speech", "k2", 2, text="Roll <slowly> & breathe --> out"),
        Event(RATE * 3, RATE * 3, "sound", "bell", None),
    ]
    chapters = [Chapter("Warm up", 0, RATE * 2), Chapter("Roll", RATE * 2, RATE * 6)]
    return Timeline("Test", RATE, RATE * 6, chapters, events)


def ms(samples: int) -> int:
    return round(samples * 1000 / RATE)


def test_one_cue_per_spoken_line_with_its_text_and_exact_times() -> None:
    made = timeline()
    captions = WebVTT.from_string(cues_vtt(made)).captions
    spoken = [e for e in made.events if e.kind == "speech"]
    assert [c.text for c in captions] == [
        "Find a quiet spot.",
        "Roll &lt;slowly&gt; &amp; breathe --&gt; out",
    ]
    assert [c.start_time.in_milliseconds() for c in captions] == [ms(e.start) for e in spoken]
    assert [c.end_time.in_milliseconds() for c in captions] == [ms(e.end) for e in spoken]


def test_the_chapters_file_runs_end_to_end_like_the_exported_audio() -> None:
    made = timeline()
    captions = WebVTT.from_string(chapters_vtt(made)).captions
    chapters = made.file_chapters()
    assert [c.text for c in captions] == [c.name for c in chapters]
    assert captions[0].start_time.in_milliseconds() == 0
    assert captions[-1].end_time.in_milliseconds() == ms(made.length)
    for before, after in zip(captions, captions[1:]):
        assert before.end == after.start


def test_a_session_without_speech_or_steps_is_a_valid_empty_file() -> None:
    empty = Timeline("Quiet", RATE, RATE)
    assert WebVTT.from_string(cues_vtt(empty)).captions == []
    assert WebVTT.from_string(chapters_vtt(empty)).captions == []


@pytest.mark.parametrize(
    ("millis", "shown"),
    [
        (0, "00:00:00.000"),
        (1, "00:00:00.001"),
        (61_250, "00:01:01.250"),
        (14_400_000, "04:00:00.000"),
    ],
)
def test_timestamps(millis: int, shown: str) -> None:
    assert vtt_time(millis) == shown


# --- the command line -------------------------------------------------------------------


def coach(*args: str | Path, cache: Path) -> subprocess.CompletedProcess[str]:
    import os

    env = {**os.environ, "COACH_CACHE_DIR": str(cache)}
    command = [sys.executable, "-m", "coach", *map(str, args)]
    return subprocess.run(command, capture_output=True, text=True, env=env, timeout=600)


@pytest.fixture
def routine(tmp_path: Path) -> Path:
    path = tmp_path / "short.routine"
    path.write_text(
        "title: Short\n\nstep Warm up:\n    say: Find a quiet spot.\n    pause 2s\n\n"
        "step Roll:\n    say: Roll slowly.\n    repeat 3 times at 30 per minute:\n"
        "        count every 1\n"
    )
    return path


def test_show_vtt_agrees_with_show_json_to_the_millisecond(routine: Path, tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    shown = json.loads(coach("show", routine, "--json", cache=cache).stdout)
    done = coach("show", routine, "--format", "vtt", cache=cache)
    assert done.returncode == 0, done.stderr
    captions = WebVTT.from_string(done.stdout).captions
    spoken = [e for e in shown["events"] if e["kind"] == "speech"]
    assert [c.text for c in captions] == [e["text"] for e in spoken]
    for caption, event in zip(captions, spoken, strict=True):
        assert caption.start_time.in_milliseconds() == round(event["start"] * 1000)
        end = round((event["start"] + event["duration"]) * 1000)
        assert abs(caption.end_time.in_milliseconds() - end) <= 1
    chapters = WebVTT.from_string(
        coach("show", routine, "--format", "chapters", cache=cache).stdout
    )
    assert [c.text for c in chapters.captions] == [c["name"] for c in shown["chapters"]]


def test_export_with_cues_writes_both_files_beside_the_audio(routine: Path, tmp_path: Path) -> None:
    out = tmp_path / "session.mp3"
    done = coach("export", routine, "-o", out, "--cues", cache=tmp_path / "cache")
    assert done.returncode == 0, done.stderr
    assert "session.vtt" in done.stderr and "session.chapters.vtt" in done.stderr
    cues = WebVTT.read(str(tmp_path / "session.vtt")).captions
    chapters = WebVTT.read(str(tmp_path / "session.chapters.vtt")).captions
    assert [c.text for c in cues][:2] == ["Find a quiet spot.", "Roll slowly."]
    assert [c.text for c in chapters] == ["Warm up", "Roll"]
    probed = subprocess.run(
        ["ffprobe", "-v", "error", "-show_chapters", "-of", "json", str(out)],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    in_audio = json.loads(probed.stdout)["chapters"]
    assert [round(float(c["start_time"]) * 1000) for c in in_audio] == [
        c.start_time.in_milliseconds() for c in chapters
    ]


def test_cues_need_a_file_not_standard_output(routine: Path, tmp_path: Path) -> None:
    done = coach("export", routine, "-o", "-", "--cues", cache=tmp_path / "cache")
    assert done.returncode == 2 and "--cues" in done.stderr
    assert "Traceback" not in done.stderr


def test_a_cue_sheet_that_cannot_be_written_stops_the_export_before_it_starts(
    routine: Path, tmp_path: Path
) -> None:
    (tmp_path / "session.vtt").mkdir()
    done = coach("export", routine, "-o", tmp_path / "session.mp3", "--cues", cache=tmp_path / "c")
    assert done.returncode == 1 and "session.vtt" in done.stderr and "directory" in done.stderr
    assert not (tmp_path / "session.mp3").exists() and not (tmp_path / "c").exists()


def test_a_cue_sheet_never_overwrites_the_routine(tmp_path: Path) -> None:
    routine = tmp_path / "session.vtt"
    routine.write_text("say: Hello.\n")
    done = coach("export", routine, "-o", tmp_path / "session.mp3", "--cues", cache=tmp_path / "c")
    assert done.returncode == 1 and "the session reads it" in done.stderr
    assert routine.read_text() == "say: Hello.\n"


def test_a_cue_sheet_linked_to_the_audio_is_refused(routine: Path, tmp_path: Path) -> None:
    (tmp_path / "session.vtt").symlink_to(tmp_path / "session.mp3")
    done = coach("export", routine, "-o", tmp_path / "session.mp3", "--cues", cache=tmp_path / "c")
    assert done.returncode == 1 and "the audio file" in done.stderr
    assert not (tmp_path / "session.mp3").exists()
