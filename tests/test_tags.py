"""Tags and chapters as real exports carry them, read back by ffprobe and, for a WAV's RIFF
chunks, by a parser written here from the RIFF layout (and Python's wave module)."""

from __future__ import annotations

import datetime
import json
import os
import shutil
import struct
import subprocess
import threading
import wave
from pathlib import Path

import numpy as np
import pytest
from conftest import fake_speech
from helpers import RATE, run_coach
from test_chapters import SIDES, timeline_of

from coach.export import export, export_stream
from coach.mixer import SourceBank, mix_all
from coach.timeline import INTRODUCTION, Timeline

needs_ffmpeg = pytest.mark.skipif(
    not (shutil.which("ffmpeg") and shutil.which("ffprobe")), reason="needs ffmpeg and ffprobe"
)
MP3_FRAME = 576  # samples in an MPEG-2 Layer III frame at 22050 Hz
ABOUT = "Both sides, slowly; a test of = and # and Ünïcode."


@pytest.fixture(scope="module")
def sides() -> tuple[Timeline, SourceBank]:
    """SIDES laid out with fake clips (a tenth of a second a character), and their audio."""
    timeline = timeline_of(SIDES)
    timeline.about = ABOUT
    timeline.title = "Sides & more = 2"
    lengths = {e.source: e.length for e in timeline.events if e.kind == "speech"}
    speech = {key: fake_speech(n / RATE, i % 5) for i, (key, n) in enumerate(lengths.items())}
    return timeline, SourceBank(RATE, speech=speech)


def ffprobe(target: Path | str, data: bytes | None = None) -> dict:
    """ffprobe's format, streams and chapters; with `data`, read from a pipe."""
    command = ["ffprobe", "-v", "error", "-show_format", "-show_streams", "-show_chapters"]
    out = subprocess.run(
        [*command, "-of", "json", str(target)], input=data, capture_output=True, check=True
    )
    return json.loads(out.stdout)


def today() -> set[str]:
    return {datetime.date.today().isoformat()}


def assert_chapters_match(probed: list[dict], shown: list[dict]) -> None:
    """The file's chapters are the ones `show --json` lists, to the millisecond, and run
    on without gaps from 0."""
    assert [c["tags"]["title"] for c in probed] == [c["name"] for c in shown]
    for file, json_chapter in zip(probed, shown, strict=True):
        assert float(file["start_time"]) == pytest.approx(json_chapter["start"], abs=0.001)
        assert float(file["end_time"]) == pytest.approx(json_chapter["end"], abs=0.001)
    assert float(probed[0]["start_time"]) == 0
    assert all(a["end_time"] == b["start_time"] for a, b in zip(probed, probed[1:]))


@needs_ffmpeg
def test_mp3_chapters_cover_the_file_and_tags_read_back(tmp_path, sides) -> None:
    timeline, bank = sides
    before = today()
    info = ffprobe(export(timeline, bank, tmp_path / "s.mp3"))
    shown = timeline.to_dict()
    assert_chapters_match(info["chapters"], shown["chapters"])
    assert info["chapters"][0]["tags"]["title"] == INTRODUCTION
    # The last chapter ends with the audio: the file is the session, delayed by the encoder
    # (start_time) and padded to whole frames at the end.
    fmt = info["format"]
    audio = float(fmt["duration"]) - float(fmt["start_time"])
    end = float(info["chapters"][-1]["end_time"])
    assert end == pytest.approx(timeline.duration, abs=0.001)
    assert 0 <= audio - end < 2 * MP3_FRAME / RATE
    tags = fmt["tags"]
    assert (tags["title"], tags["artist"], tags["album"]) == ("Sides & more = 2", "coach", "coach")
    assert tags["comment"] == ABOUT
    assert tags["date"] in before | today()


@needs_ffmpeg
def test_ogg_chapters_cover_the_file_and_tags_read_back(tmp_path, sides) -> None:
    """Ogg chapters are Vorbis comments CHAPTERnnn (a start each): ffprobe ends each where
    the next begins and the last at the end of the file."""
    timeline, bank = sides
    before = today()
    info = ffprobe(export(timeline, bank, tmp_path / "s.ogg"))
    assert_chapters_match(info["chapters"], timeline.to_dict()["chapters"])
    duration = float(info["format"]["duration"])
    assert duration == pytest.approx(timeline.duration, abs=0.001)
    assert float(info["chapters"][-1]["end_time"]) == pytest.approx(duration, abs=0.001)
    tags = info["streams"][0]["tags"]  # Vorbis comments belong to the stream
    assert (tags["title"], tags["artist"], tags["album"]) == ("Sides & more = 2", "coach", "coach")
    assert tags["comment"] == ABOUT
    assert tags["date"] in before | today()


# --- WAV -------------------------------------------------------------------------------


def riff_chunks(data: bytes, start: int, end: int) -> list[tuple[bytes, bytes]]:
    """(id, body) of each chunk from `start` to `end`, pad bytes skipped."""
    chunks = []
    while start < end:
        kind, size = struct.unpack_from("<4sI", data, start)
        chunks.append((kind, data[start + 8 : start + 8 + size]))
        start += 8 + size + size % 2
    assert start == end
    return chunks


def riff_text(body: bytes) -> str:
    assert body.endswith(b"\0")
    return body[:-1].decode("utf-8")


def test_a_wav_carries_list_info_and_a_cue_point_per_chapter(tmp_path, sides) -> None:
    timeline, bank = sides
    before = today()
    data = export(timeline, bank, tmp_path / "s.wav").read_bytes()
    kind, riff, wave_id = struct.unpack_from("<4sI4s", data)
    assert (kind, riff, wave_id) == (b"RIFF", len(data) - 8, b"WAVE")
    chunks = riff_chunks(data, 12, len(data))
    # Everything before the samples, so that a pipe's reader sees it too.
    assert [k for k, _ in chunks] == [b"fmt ", b"LIST", b"cue ", b"LIST", b"data"]
    samples = mix_all(timeline, bank).astype("<i2").tobytes()
    assert chunks[-1][1] == samples

    info_list, cue, adtl = chunks[1][1], chunks[2][1], chunks[3][1]
    assert info_list[:4] == b"INFO"
    info = {k.decode(): riff_text(body) for k, body in riff_chunks(info_list, 4, len(info_list))}
    assert info.pop("ICRD") in before | today()
    assert info == {
        "INAM": "Sides & more = 2",
        "IART": "coach",
        "IPRD": "coach",
        "ICMT": ABOUT,
        "ILNG": "eng",  # the language spoken, ISO 639-2
    }

    chapters = timeline.file_chapters()
    assert len(chapters) == 4
    (count,) = struct.unpack_from("<I", cue)
    points = [struct.unpack_from("<II4sIII", cue, 4 + 24 * n) for n in range(count)]
    assert points == [(n, c.start, b"data", 0, 0, c.start) for n, c in enumerate(chapters, 1)]

    assert adtl[:4] == b"adtl"
    labels: dict[int, str] = {}
    lengths: dict[int, int] = {}
    for kind, body in riff_chunks(adtl, 4, len(adtl)):
        (number,) = struct.unpack_from("<I", body)
        if kind == b"labl":
            labels[number] = riff_text(body[4:])
        else:
            assert kind == b"ltxt" and body[8:12] == b"rgn "
            lengths[number] = struct.unpack_from("<I", body, 4)[0]
    assert labels == {n: c.name for n, c in enumerate(chapters, 1)}
    assert lengths == {n: c.end - c.start for n, c in enumerate(chapters, 1)}
    assert sum(lengths.values()) == timeline.length

    with wave.open(str(tmp_path / "s.wav")) as read:  # an ordinary reader skips the chunks
        assert read.getnframes() == timeline.length
        assert read.readframes(timeline.length) == samples


@needs_ffmpeg
def test_ffprobe_reads_a_wavs_tags_and_cue_points_even_through_a_pipe(tmp_path, sides) -> None:
    """The chunks come before the samples, so a reader that cannot seek (a player fed by
    `coach export -o - --format wav`) sees them: here the stream really goes through a pipe,
    and ffprobe reads it from one."""
    timeline, bank = sides
    read, write = os.pipe()
    streamed: list[bytes] = []
    reader = threading.Thread(target=lambda: streamed.append(os.fdopen(read, "rb").read()))
    reader.start()
    try:
        export_stream(timeline, bank, write, "wav")
    finally:
        os.close(write)
        reader.join()
    shown = timeline.to_dict()["chapters"]
    from_file = ffprobe(export(timeline, bank, tmp_path / "f.wav"))
    assert_chapters_match(from_file["chapters"], shown)
    assert float(from_file["chapters"][-1]["end_time"]) == pytest.approx(timeline.duration)
    # Through a pipe ffprobe cannot know where the last chapter ends: the names and the
    # starts are all there.
    from_pipe = ffprobe("pipe:0", streamed[0])
    starts = [(c["tags"]["title"], float(c["start_time"])) for c in from_pipe["chapters"]]
    assert starts == [(c["name"], pytest.approx(c["start"], abs=0.001)) for c in shown]
    for info in (from_file, from_pipe):
        tags = info["format"]["tags"]
        assert (tags["title"], tags["album"], tags["comment"]) == (timeline.title, "coach", ABOUT)
    assert streamed[0] == (tmp_path / "f.wav").read_bytes()


def test_a_title_and_about_of_blanks_and_nul_are_left_out_or_cleaned(tmp_path) -> None:
    timeline = Timeline("  \n ", RATE, 100, about="a\0b \n c")
    data = export(timeline, SourceBank(RATE), tmp_path / "e.wav").read_bytes()
    info_list = riff_chunks(data, 12, len(data))[1][1]
    info = {k: riff_text(body) for k, body in riff_chunks(info_list, 4, len(info_list))}
    assert set(info) == {b"IART", b"IPRD", b"ICMT", b"ICRD", b"ILNG"}  # no title, no chapters
    assert info[b"ICMT"] == "ab c"
    assert [k for k, _ in riff_chunks(data, 12, len(data))] == [b"fmt ", b"LIST", b"data"]


# --- the CLI: show --json and the exported files agree -----------------------------------


@pytest.fixture(scope="module")
def routine(tmp_path_factory) -> tuple[Path, Path]:
    directory = tmp_path_factory.mktemp("sides")
    path = directory / "sides.routine"
    path.write_text(SIDES.replace("hold 10s", "hold 3s"))
    return path, directory / "cache"


@needs_ffmpeg
@pytest.mark.parametrize("fmt", ["mp3", "ogg"])
def test_show_json_chapters_are_the_exported_files(tmp_path, routine, fmt) -> None:
    path, cache = routine
    shown = run_coach("show", str(path), "--json", cache=cache)
    assert shown.returncode == 0, shown.stderr
    session = json.loads(shown.stdout)
    out = tmp_path / f"sides.{fmt}"
    done = run_coach("export", str(path), "-o", str(out), cache=cache)
    assert done.returncode == 0, done.stderr
    info = ffprobe(out)
    names = [c["name"] for c in session["chapters"]]
    assert names == [INTRODUCTION, "Warm up", "Turn left", "Turn right"]
    assert [c["name"] for c in session["steps"]] == names[1:]
    assert session["steps"][0]["start"] > 0 and session["chapters"][-1]["end"] > 0
    assert_chapters_match(info["chapters"], session["chapters"])
    assert session["chapters"][-1]["end"] == session["duration"]
    tags = info["format"].get("tags") or info["streams"][0]["tags"]
    assert (tags["title"], tags["artist"], tags["album"]) == ("Sides", "coach", "coach")


@needs_ffmpeg
def test_the_cli_export_carries_the_about_line(tmp_path, routine) -> None:
    path, cache = routine
    out = tmp_path / "sides.mp3"
    assert run_coach("export", str(path), "-o", str(out), cache=cache).returncode == 0
    assert ffprobe(out)["format"]["tags"].get("comment") == "Both sides, slowly."


def test_sound_is_mixed_as_the_fake_clips_say(sides) -> None:
    """The fixture's bank has a clip for every spoken event, so the exports hold audio."""
    timeline, bank = sides
    assert np.abs(mix_all(timeline, bank)).max() > 10000
