"""coach picture: the session drawn as SVG (or PNG), read back element by element."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

SVG = "{http://www.w3.org/2000/svg}"
ROUTINE = """title: Picture test

step Warm up:
    say: Stand with your back to the wall.
    breathe 3 times: in 4s, hold 1s, out 6s hiss

step Roll the middle of your back:
    repeat 6 times at 20 per minute:
        beat: up
        beat: down
    hold 12s, countdown 5
"""


def coach(*args: str | Path, cache: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "COACH_CACHE_DIR": str(cache)}
    command = [sys.executable, "-m", "coach", *map(str, args)]
    return subprocess.run(command, capture_output=True, text=True, env=env, timeout=600)


@pytest.fixture
def drawn(tmp_path: Path) -> tuple[ET.Element, dict]:
    routine = tmp_path / "picture.routine"
    routine.write_text(ROUTINE)
    done = coach("picture", routine, "-o", tmp_path / "p.svg", cache=tmp_path / "cache")
    assert done.returncode == 0, done.stderr
    shown = coach("show", routine, "--json", cache=tmp_path / "cache")
    return ET.parse(tmp_path / "p.svg").getroot(), json.loads(shown.stdout)


def elements(root: ET.Element, tag: str, kind: str) -> list[ET.Element]:
    return [e for e in root.iter(SVG + tag) if kind in (e.get("class") or "").split()]


def test_every_chapter_is_a_band_with_its_name(drawn) -> None:
    root, shown = drawn
    names = [e.text for e in elements(root, "text", "step")]
    assert names == [c["name"] for c in shown["chapters"]]
    assert "Roll the middle of your back" in names


def test_every_rep_beat_is_a_tick_and_accents_are_taller(drawn) -> None:
    root, shown = drawn
    clicks = [e for e in shown["events"] if e["kind"] == "click"]
    ticks = elements(root, "line", "rep")
    accents = elements(root, "line", "accent")
    assert len(ticks) == len(clicks) == 12
    assert len(accents) == sum(e["accent"] for e in clicks) == 6

    def height(tick: ET.Element) -> float:
        return float(tick.get("y2")) - float(tick.get("y1"))

    plain = [t for t in ticks if t not in accents]
    assert min(map(height, accents)) > max(map(height, plain))


def test_ticks_stand_at_their_real_times(drawn) -> None:
    root, shown = drawn
    starts = [e["start"] for e in shown["events"] if e["kind"] == "click"]
    xs = [float(t.get("x1")) for t in elements(root, "line", "rep")]
    scale = (xs[-1] - xs[0]) / (starts[-1] - starts[0])
    for x, start in zip(xs, starts, strict=True):
        assert x == pytest.approx(xs[0] + (start - starts[0]) * scale, abs=0.02)


def test_breaths_are_a_wave_with_the_hiss_shaded(drawn) -> None:
    root, _ = drawn
    wave = elements(root, "line", "breath")
    assert len(elements(root, "line", "in")) == len(elements(root, "line", "out")) == 3
    assert len(wave) == 3 * 3  # in, its hold, out: three times
    assert len(elements(root, "polygon", "hiss")) == 3
    rising = elements(root, "line", "in")[0]
    assert float(rising.get("y2")) < float(rising.get("y1"))  # up the picture as air comes in


def test_a_hold_is_a_bar_with_its_countdown(drawn) -> None:
    root, _ = drawn
    (bar,) = elements(root, "rect", "hold")
    marks = elements(root, "line", "countdown")
    assert [m.find(SVG + "title").text for m in marks] == ["5", "4", "3", "2", "1"]
    end = float(bar.get("x")) + float(bar.get("width"))
    assert all(float(bar.get("x")) < float(m.get("x1")) < end for m in marks)


def test_spoken_lines_are_marks_that_show_their_words_on_hover(drawn) -> None:
    root, shown = drawn
    marks = elements(root, "circle", "speech")
    spoken = [e["text"] for e in shown["events"] if e["kind"] == "speech"]
    assert [m.find(SVG + "title").text for m in marks] == spoken
    assert "Stand with your back to the wall." in spoken


def test_the_axis_counts_minutes(drawn) -> None:
    root, shown = drawn
    minutes = [float(e.text) for e in elements(root, "text", "minute")]
    assert minutes[0] == 0 and minutes[-1] <= shown["duration"] / 60
    assert shown["duration"] / 60 - minutes[-1] < minutes[1] - minutes[0]


def test_a_png_is_drawn_too(tmp_path: Path) -> None:
    routine = tmp_path / "p.routine"
    routine.write_text(ROUTINE)
    done = coach("picture", routine, "-o", tmp_path / "p.png", cache=tmp_path / "cache")
    assert done.returncode == 0, done.stderr
    data = (tmp_path / "p.png").read_bytes()
    assert data.startswith(b"\x89PNG\r\n\x1a\n")
    probed = subprocess.run(
        ["ffprobe", "-v", "error", "-show_entries", "stream=width,height", "-of", "csv=p=0",
         str(tmp_path / "p.png")],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    assert probed.stdout.strip() == "1200,354"


def test_the_picture_follows_the_listener_s_pacing(tmp_path: Path) -> None:
    routine = tmp_path / "p.routine"
    routine.write_text(ROUTINE)
    spans = []
    for extra in ([], ["--slower", "50"]):
        out = tmp_path / f"p{len(extra)}.svg"
        done = coach("picture", routine, "-o", out, *extra, cache=tmp_path / "cache")
        assert done.returncode == 0, done.stderr
        xs = [float(t.get("x1")) for t in elements(ET.parse(out).getroot(), "line", "rep")]
        spans.append(xs[-1] - xs[0])
    assert spans[1] > spans[0] * 1.2  # half as slow again: the reps take more of the session


@pytest.mark.parametrize("name", ["p.jpg", "p"])
def test_a_picture_is_svg_or_png(tmp_path: Path, name: str) -> None:
    routine = tmp_path / "p.routine"
    routine.write_text(ROUTINE)
    done = coach("picture", routine, "-o", tmp_path / name, cache=tmp_path / "cache")
    assert done.returncode == 1 and ".svg or .png" in done.stderr
    assert "Traceback" not in done.stderr
    assert not (tmp_path / "cache").exists()  # refused before anything was rendered
