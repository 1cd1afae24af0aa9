"""Export when things go wrong: a full disk, a reader that leaves, leftovers of killed runs.

Every failure is one ExportError naming the file and the reason; the old file stays as it
was and no temporary file is left behind.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import threading
import time
from pathlib import Path

import numpy as np
import pytest
from conftest import RATE
from small_fs import fill, small_filesystem

from coach.atomic import STALE_SECONDS, is_temp_name, temp_name
from coach.chapters import tagged_wav_header, wav_tag_chunks
from coach.diagnostics import ExportError
from coach.export import StreamClosed, export, export_stream, wav_header
from coach.mixer import SourceBank, mix_all
from coach.timeline import Event

needs_ffmpeg = pytest.mark.skipif(
    not (shutil.which("ffmpeg") and shutil.which("ffprobe")), reason="needs ffmpeg and ffprobe"
)


def listing(directory: Path) -> list[str]:
    return sorted(p.name for p in directory.iterdir())


class WatchingBank(SourceBank):
    """A bank that runs `action` once, when the mix first asks for a source."""

    def __init__(self, bank: SourceBank, action) -> None:
        super().__init__(bank.sample_rate, speech=bank.speech, files=bank.files)
        self.action = action

    def samples(self, event: Event) -> np.ndarray:
        if self.action is not None:
            action, self.action = self.action, None
            action()
        return super().samples(event)


@pytest.fixture
def small_dir(tmp_path: Path):
    with small_filesystem(tmp_path / "small") as directory:
        yield directory


@needs_ffmpeg
@pytest.mark.parametrize("name", ["full.wav", "full.mp3", "full.ogg"])
def test_a_full_disk_is_one_message_and_the_old_file_stays(small_dir, demo_session, name):
    """The demo session is 40 s: 1.7 MB as WAV, about 90 KB as MP3 and 55 KB as Ogg, all
    more than the 8 KB left. ffmpeg 5 would exit 0 after a full disk cut its trailer."""
    timeline, bank = demo_session
    target = small_dir / name
    target.write_bytes(b"the good old file")
    fill(small_dir, leave=8 * 1024)
    with pytest.raises(ExportError) as error:
        export(timeline, bank, target)
    assert str(error.value) == f"cannot write {target}: No space left on device"
    assert target.read_bytes() == b"the good old file"
    assert listing(small_dir) == ["filler", name]


@needs_ffmpeg
@pytest.mark.parametrize("name", ["x.wav", "x.mp3"])
def test_a_disk_full_from_the_start_is_the_same_message(small_dir, demo_session, name):
    timeline, bank = demo_session
    fill(small_dir, leave=0)
    with pytest.raises(ExportError, match=r"x\.\w+: No space left on device$"):
        export(timeline, bank, small_dir / name)
    assert listing(small_dir) == ["filler"]


def test_a_failing_source_is_not_called_a_write_error(tmp_path, demo_session) -> None:
    timeline, bank = demo_session

    def unreadable() -> None:
        raise PermissionError(13, "Permission denied", "/clips/one.wav")

    with pytest.raises(ExportError, match=r"cannot make the session's audio: .*one\.wav"):
        export(timeline, WatchingBank(bank, unreadable), tmp_path / "x.wav")
    assert listing(tmp_path) == []


# --- leftovers of killed runs ----------------------------------------------------------------


def test_an_export_removes_stale_temporary_files_of_killed_runs(tmp_path, make_timeline):
    stale_wav, stale_meta = tmp_path / temp_name("a.wav"), tmp_path / temp_name("a.mp3.ffmeta")
    fresh = tmp_path / temp_name("b.wav")  # maybe another export, running now
    users = tmp_path / ".notes.tmp"
    for path in (stale_wav, stale_meta, fresh, users):
        path.write_bytes(b"x")
    past = time.time() - STALE_SECONDS - 60
    for path in (stale_wav, stale_meta, users):
        os.utime(path, (past, past))
    export(make_timeline(RATE // 2), SourceBank(RATE), tmp_path / "out.wav")
    assert listing(tmp_path) == sorted([fresh.name, users.name, "out.wav"])


@needs_ffmpeg
def test_the_ffmetadata_file_is_a_temporary_beside_the_target(tmp_path, demo_session):
    """Not in /tmp: beside the target, named as coach's temporary files are, so one that a
    killed run leaves is removed like the others."""
    timeline, bank = demo_session
    seen: list[str] = []
    export(timeline, WatchingBank(bank, lambda: seen.extend(listing(tmp_path))), tmp_path / "s.mp3")
    metadata = [name for name in seen if ".ffmeta." in name]
    assert len(metadata) == 1 and is_temp_name(metadata[0])
    assert metadata[0].startswith(".s.mp3.ffmeta.")
    assert listing(tmp_path) == ["s.mp3"]


# --- streaming ---------------------------------------------------------------------------


def test_a_streamed_wav_is_the_file_export_byte_for_byte(tmp_path, demo_session) -> None:
    timeline, bank = demo_session
    out = tmp_path / "stream.wav"
    fd = os.open(out, os.O_WRONLY | os.O_CREAT, 0o644)
    try:
        assert export_stream(timeline, bank, fd, "wav") == "wav"
    finally:
        os.close(fd)
    data = out.read_bytes()
    header = tagged_wav_header(wav_header(RATE, timeline.length), wav_tag_chunks(timeline))
    assert data[: len(header)] == header  # the tags and chapter cues, then the samples
    assert data[len(header) :] == mix_all(timeline, bank).astype("<i2").tobytes()


@needs_ffmpeg
@pytest.mark.parametrize("fmt", ["mp3", "ogg"])
def test_a_stream_through_a_pipe_has_duration_and_chapters(tmp_path, demo_session, fmt):
    """Through a real pipe, which ffmpeg cannot seek back in: the MP3 is constant-bitrate,
    so its duration is right without the Xing header only a seekable file gets."""
    timeline, bank = demo_session
    out = tmp_path / f"stream.{fmt}"
    read, write = os.pipe()
    with open(out, "wb") as sink:
        copier = threading.Thread(target=lambda: shutil.copyfileobj(os.fdopen(read, "rb"), sink))
        copier.start()
        try:
            export_stream(timeline, bank, write, fmt)
        finally:
            os.close(write)
            copier.join()
    probe = subprocess.run(
        ["ffprobe", "-v", "error", "-show_format", "-show_chapters", "-of", "json", out],
        capture_output=True,
        text=True,
        check=True,
    )
    info = json.loads(probe.stdout)
    assert float(info["format"]["duration"]) == pytest.approx(timeline.duration, abs=0.1)
    names = [c["tags"]["title"] for c in info["chapters"]]
    assert names == [c.name for c in timeline.chapters]


@needs_ffmpeg
@pytest.mark.parametrize("fmt", ["wav", "mp3", "ogg"])
def test_a_reader_that_leaves_is_stream_closed(demo_session, fmt) -> None:
    timeline, bank = demo_session
    read, write = os.pipe()
    os.close(read)
    try:
        with pytest.raises(StreamClosed, match="standard output: the reader closed it"):
            export_stream(timeline, bank, write, fmt)
    finally:
        os.close(write)
