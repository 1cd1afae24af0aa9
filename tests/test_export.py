"""Export: real ffmpeg/ffprobe round trips, WAV bytes, and atomic replacement on failure."""

from __future__ import annotations

import json
import os
import shlex
import shutil
import signal
import stat
import subprocess
import wave
from pathlib import Path

import numpy as np
import pytest
from conftest import RATE

from coach import export as export_module
from coach.chapters import tagged_wav_header, wav_tag_chunks
from coach.diagnostics import CoachError, ExportError
from coach.export import (
    check_target,
    export,
    ffmetadata,
    format_for,
    mp3_encoder_args,
    wav_header,
)
from coach.mixer import SourceBank, mix_all
from coach.soundfile import find_ffmpeg
from coach.timeline import Chapter, Event, Timeline

needs_ffmpeg = pytest.mark.skipif(
    not (shutil.which("ffmpeg") and shutil.which("ffprobe")), reason="needs ffmpeg and ffprobe"
)

# MP3 at 22050 Hz is MPEG-2 Layer III: 576 samples a frame (26.1 ms).
MP3_FRAME = 576


def ffprobe(path: Path) -> dict:
    out = subprocess.run(
        [
            "ffprobe",
            *shlex.split("-v error -show_format -show_streams -show_chapters -of json"),
            path,
        ],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    return json.loads(out)


def decode(path: Path) -> np.ndarray:
    """The file decoded by ffmpeg to int16 at the session rate (gapless info honoured)."""
    out = subprocess.run(
        ["ffmpeg", "-v", "error", "-i", path, *f"-f s16le -ac 1 -ar {RATE} -".split()],
        check=True,
        capture_output=True,
    ).stdout
    return np.frombuffer(out, dtype="<i2")


def listing(directory: Path) -> list[str]:
    return sorted(p.name for p in directory.iterdir())


class FailingBank(SourceBank):
    """A bank that raises (or runs `action`) when asked for the event at `fail_at`."""

    def __init__(self, bank: SourceBank, fail_at: int, action=None) -> None:
        super().__init__(bank.sample_rate, speech=bank.speech, files=bank.files)
        self.fail_at = fail_at
        self.action = action

    def samples(self, event: Event) -> np.ndarray:
        if event.start >= self.fail_at:
            if self.action is None:
                raise RuntimeError("source exploded")
            self.action()
        return super().samples(event)


@needs_ffmpeg
def test_mp3_has_the_duration_title_and_chapters(tmp_path: Path, demo_session) -> None:
    """ffprobe reads back what the timeline says.

    Duration, precisely: LAME delays the audio by 1105 samples (576 + 529, reported by
    ffprobe as start_time 0.050113) and pads the end up to a whole frame plus at least 47
    samples, so ffprobe's duration (whole frames) minus start_time exceeds the timeline by
    a padding of 0 to 2 frames. A decoder honouring the LAME tag gives back the length.
    """
    timeline, bank = demo_session
    out = export(timeline, bank, tmp_path / "session.mp3")
    assert out == tmp_path / "session.mp3"
    assert out.read_bytes()[:4] == b"ID3\x03"  # ID3v2.3
    info = ffprobe(out)
    stream = info["streams"][0]
    assert info["format"]["format_name"] == "mp3"
    assert (stream["codec_name"], stream["sample_rate"], stream["channels"]) == ("mp3", "22050", 1)

    delay = float(info["format"]["start_time"]) * RATE
    padding = (float(info["format"]["duration"]) - float(info["format"]["start_time"])) * RATE
    padding -= timeline.length
    assert 0 < delay < 2 * MP3_FRAME
    assert -1 <= padding < 2 * MP3_FRAME
    decoded = decode(out)
    assert abs(len(decoded) - timeline.length) < MP3_FRAME

    tags = info["format"]["tags"]
    assert (tags["title"], tags["artist"], tags["album"]) == ("Demo session", "coach", "coach")
    chapters = info["chapters"]
    assert [c["tags"]["title"] for c in chapters] == [c.name for c in timeline.chapters]
    for probed, chapter in zip(chapters, timeline.chapters, strict=True):
        assert float(probed["start_time"]) == pytest.approx(chapter.start / RATE, abs=0.001)
        assert float(probed["end_time"]) == pytest.approx(chapter.end / RATE, abs=0.001)

    # And it is the session's audio, through a lossy codec.
    reference = mix_all(timeline, bank).astype(np.float64)
    n = min(len(reference), len(decoded))
    assert np.corrcoef(reference[:n], decoded[:n].astype(np.float64))[0, 1] > 0.9


@needs_ffmpeg
def test_mp3_title_and_chapter_names_with_special_characters(tmp_path, make_timeline) -> None:
    title = "Nacken & Rücken = 10; #2 \\ ok"
    chapters = [Chapter("Schritt 1: Wärme", 0, RATE), Chapter("a=b;c#d", RATE, 2 * RATE)]
    events = [Event(0, 772, "click", "click")]
    timeline = make_timeline(2 * RATE, events, chapters, title=title)
    info = ffprobe(export(timeline, SourceBank(RATE), tmp_path / "x.mp3"))
    assert info["format"]["tags"]["title"] == title
    assert [c["tags"]["title"] for c in info["chapters"]] == [c.name for c in chapters]


@needs_ffmpeg
def test_ogg_has_exact_duration_title_and_chapters(tmp_path: Path, demo_session) -> None:
    timeline, bank = demo_session
    out = export(timeline, bank, tmp_path / "session.ogg")
    assert out.read_bytes()[:4] == b"OggS"
    info = ffprobe(out)
    stream = info["streams"][0]
    assert stream["codec_name"] == "vorbis"
    assert float(info["format"]["duration"]) == pytest.approx(timeline.duration, abs=0.001)
    assert stream["tags"]["title"] == "Demo session"  # Vorbis comments live on the stream
    starts = [float(c["start_time"]) for c in info["chapters"]]
    assert starts == pytest.approx([c.start / RATE for c in timeline.chapters], abs=0.001)
    assert [c["tags"]["title"] for c in info["chapters"]] == [c.name for c in timeline.chapters]


def test_wav_is_the_mix_byte_for_byte(tmp_path: Path, demo_session) -> None:
    timeline, bank = demo_session
    out = export(timeline, bank, tmp_path / "session.wav")
    data = out.read_bytes()
    mixed = mix_all(timeline, bank)
    header = tagged_wav_header(wav_header(RATE, timeline.length), wav_tag_chunks(timeline))
    assert data[: len(header)] == header  # the tags and chapter cues, then the samples
    assert data[len(header) :] == mixed.astype("<i2").tobytes()
    with wave.open(str(out)) as wav:
        assert (wav.getnchannels(), wav.getsampwidth(), wav.getframerate()) == (1, 2, RATE)
        assert wav.getnframes() == timeline.length


@needs_ffmpeg
@pytest.mark.parametrize(
    ("name", "fmt", "magic"),
    [
        ("a.wav", None, b"RIFF"),
        ("a.WAV", None, b"RIFF"),
        ("a.ogg", None, b"OggS"),
        ("a.mp3", None, b"ID3\x03"),
        ("noextension", None, b"ID3\x03"),
        ("noextension", "wav", b"RIFF"),
        ("a.wav", "WAV", b"RIFF"),
        ("-odd:name.mp3", None, b"ID3\x03"),  # neither an option nor a protocol to ffmpeg
    ],
)
def test_format_from_extension_or_option(tmp_path, make_timeline, name, fmt, magic) -> None:
    timeline = make_timeline(RATE // 2, [Event(100, 772, "click", "click")])
    out = export(timeline, SourceBank(RATE), tmp_path / name, fmt)
    assert out.name == name
    assert out.read_bytes()[:4] == magic
    assert listing(tmp_path) == [name]


def test_format_for() -> None:
    assert format_for(Path("x.Mp3")) == "mp3"
    assert format_for(Path("x.tar.wav")) == "wav"
    assert format_for(Path("x")) == "mp3"
    assert format_for(Path("x.ogg"), "mp3") == "mp3"
    with pytest.raises(ExportError, match="flac"):
        format_for(Path("x.flac"), "flac")


@needs_ffmpeg
@pytest.mark.parametrize("name", ["out.wav", "out.mp3", "out.ogg"])
def test_failed_export_leaves_the_existing_file_untouched(
    tmp_path: Path, demo_session, name: str
) -> None:
    timeline, bank = demo_session
    target = tmp_path / name
    target.write_bytes(b"the good old file")
    os.chmod(target, 0o640)
    with pytest.raises(RuntimeError, match="source exploded"):
        export(timeline, FailingBank(bank, fail_at=20 * RATE), target)
    assert target.read_bytes() == b"the good old file"
    assert listing(tmp_path) == [name]  # no temp file left behind


@needs_ffmpeg
def test_failed_export_leaves_no_file_when_there_was_none(tmp_path: Path, demo_session) -> None:
    timeline, bank = demo_session
    with pytest.raises(RuntimeError):
        export(timeline, FailingBank(bank, fail_at=20 * RATE), tmp_path / "new.mp3")
    assert listing(tmp_path) == []


@needs_ffmpeg
def test_killed_ffmpeg_is_an_export_error(tmp_path, demo_session, monkeypatch) -> None:
    timeline, bank = demo_session
    started: list[subprocess.Popen] = []
    real_popen = subprocess.Popen

    def recording_popen(*args, **kwargs):
        process = real_popen(*args, **kwargs)
        started.append(process)
        return process

    monkeypatch.setattr(subprocess, "Popen", recording_popen)
    target = tmp_path / "out.mp3"
    target.write_bytes(b"keep me")

    def kill_ffmpeg() -> None:
        if started[0].poll() is None:
            started[0].send_signal(signal.SIGKILL)
            started[0].wait()

    failed = r"cannot write .*out\.mp3: ffmpeg failed \(exit status -9\)"
    with pytest.raises(ExportError, match=failed):
        export(timeline, FailingBank(bank, fail_at=10 * RATE, action=kill_ffmpeg), target)
    assert target.read_bytes() == b"keep me"
    assert listing(tmp_path) == ["out.mp3"]


def test_ffmpeg_error_output_is_in_the_message(tmp_path, demo_session, monkeypatch) -> None:
    fake = tmp_path / "bin" / "ffmpeg"
    fake.parent.mkdir()
    fake.write_text(
        "#!/bin/sh\nhead -c 1000 >/dev/null\necho 'Unknown encoder libfoo' >&2\nexit 1\n"
    )
    fake.chmod(0o755)
    monkeypatch.setattr("coach.soundfile.find_ffmpeg", lambda: str(fake))
    timeline, bank = demo_session
    out = tmp_path / "out"
    out.mkdir()
    with pytest.raises(ExportError, match="Unknown encoder libfoo") as error:
        export(timeline, bank, out / "x.mp3")
    assert "exit status 1" in str(error.value)
    assert listing(out) == []


@needs_ffmpeg
def test_interrupted_export_kills_ffmpeg_and_cleans_up(tmp_path, demo_session, monkeypatch):
    timeline, bank = demo_session
    started: list[subprocess.Popen] = []
    real_popen = subprocess.Popen

    def recording_popen(*args, **kwargs):
        started.append(real_popen(*args, **kwargs))
        return started[-1]

    monkeypatch.setattr(subprocess, "Popen", recording_popen)

    def interrupt() -> None:
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        export(timeline, FailingBank(bank, 10 * RATE, interrupt), tmp_path / "x.mp3")
    assert started and started[0].poll() is not None  # ffmpeg is gone, and reaped
    assert listing(tmp_path) == []


def test_unwritable_output_paths(tmp_path: Path, demo_session) -> None:
    timeline, bank = demo_session
    with pytest.raises(ExportError, match=r"cannot write .*missing/x\.wav.*does not exist"):
        export(timeline, bank, tmp_path / "missing" / "x.wav")
    (tmp_path / "file").write_text("")
    with pytest.raises(ExportError, match=r"file/x\.wav.*not a directory"):
        export(timeline, bank, tmp_path / "file" / "x.wav")
    (tmp_path / "adir.wav").mkdir()
    with pytest.raises(ExportError, match=r"adir\.wav.*is a directory"):
        export(timeline, bank, tmp_path / "adir.wav")
    assert listing(tmp_path) == ["adir.wav", "file"]


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes anywhere")
def test_read_only_directory(tmp_path: Path, demo_session) -> None:
    timeline, bank = demo_session
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o500)
    try:
        with pytest.raises(ExportError, match="no permission"):
            export(timeline, bank, locked / "x.wav")
    finally:
        locked.chmod(0o700)


def test_file_mode_follows_umask_or_the_replaced_file(tmp_path, make_timeline) -> None:
    timeline = make_timeline(100)
    old = os.umask(0o027)

    def mode(name: str) -> int:
        return export(timeline, SourceBank(RATE), tmp_path / name).stat().st_mode & 0o777

    try:
        assert mode("a.wav") == 0o640
        os.umask(0o022)
        assert mode("b.wav") == 0o644
        (tmp_path / "b.wav").chmod(0o600)
        assert mode("b.wav") == 0o600  # replacing a file keeps its mode
    finally:
        os.umask(old)


def test_progress_reaches_the_total(tmp_path: Path, demo_session) -> None:
    timeline, bank = demo_session
    calls: list[tuple[int, int]] = []
    export(timeline, bank, tmp_path / "x.wav", progress=lambda d, t: calls.append((d, t)))
    assert calls[0] == (0, timeline.length) and calls[-1] == (timeline.length, timeline.length)
    assert [d for d, _ in calls] == sorted(d for d, _ in calls)


def test_missing_ffmpeg(tmp_path: Path, demo_session, monkeypatch) -> None:
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    with pytest.raises(ExportError, match="sudo apt-get install ffmpeg"):
        find_ffmpeg()
    timeline, bank = demo_session
    with pytest.raises(ExportError, match="ffmpeg"):
        export(timeline, bank, tmp_path / "x.mp3")
    assert isinstance(ExportError("x"), CoachError)
    export(timeline, bank, tmp_path / "x.wav")  # WAV needs no ffmpeg
    assert listing(tmp_path) == ["x.wav"]


def test_empty_chapters_are_left_out_of_the_metadata(make_timeline) -> None:
    chapters = [Chapter("one", 0, 100), Chapter("empty", 100, 100), Chapter("two", 100, 500)]
    text = ffmetadata(make_timeline(300, chapters=chapters), "mp3")
    assert text.startswith(";FFMETADATA1\ntitle=Test session\n")
    assert "empty" not in text
    assert text.count("[CHAPTER]") == 2 and "END=300" in text  # clipped to the session
    click = [Event(0, 772, "click", "click")]  # before the step: an Introduction chapter
    ogg = ffmetadata(make_timeline(RATE * 3, click, [Chapter("x", RATE + 11, RATE * 2)]), "ogg")
    assert "CHAPTER002=00:00:01.000\nCHAPTER002NAME=x\n" in ogg


def test_mp3_encoder_args_are_shared_with_the_command() -> None:
    command = export_module.ffmpeg_command("ffmpeg", "mp3", Path("m"), Path("o"))
    args = mp3_encoder_args()
    assert args[:2] == ["-c:a", "libmp3lame"]
    start = command.index(args[0])
    assert command[start : start + len(args)] == args


def test_export_of_an_empty_timeline_is_a_valid_wav(tmp_path: Path) -> None:
    out = export(Timeline("Empty", RATE, 0), SourceBank(RATE), tmp_path / "e.wav")
    with wave.open(str(out)) as wav:
        assert wav.getnframes() == 0


# --- where an export may write -----------------------------------------------------------


@pytest.mark.parametrize("name", ["x.flac", "x.m4a", "session.routine"])
def test_an_extension_coach_does_not_write_is_refused(tmp_path, make_timeline, name) -> None:
    timeline = make_timeline(RATE // 2)
    with pytest.raises(ExportError, match=r"coach writes mp3, wav, ogg, not \.\w+"):
        export(timeline, SourceBank(RATE), tmp_path / name)
    assert listing(tmp_path) == []


def test_an_extension_that_disagrees_with_the_format_is_refused(tmp_path, make_timeline) -> None:
    with pytest.raises(ExportError, match=r"x\.mp3 as wav: its name says \.mp3"):
        export(make_timeline(RATE // 2), SourceBank(RATE), tmp_path / "x.mp3", "wav")
    assert listing(tmp_path) == []


def test_a_fifo_is_refused_without_blocking(tmp_path, make_timeline) -> None:
    fifo = tmp_path / "pipe.wav"
    os.mkfifo(fifo)
    with pytest.raises(ExportError, match=r"pipe\.wav: it is a FIFO \(named pipe\), not a file"):
        export(make_timeline(RATE // 2), SourceBank(RATE), fifo)
    assert stat.S_ISFIFO(fifo.lstat().st_mode)


def test_a_device_is_refused(tmp_path) -> None:
    """Checked without writing anything: as root, a mistake here would replace the device."""
    with pytest.raises(ExportError, match=r"/dev/null: it is a character device, not a file"):
        check_target(Path("/dev/null"))
    assert stat.S_ISCHR(os.stat("/dev/null").st_mode)


def test_a_symlinked_target_is_written_through(tmp_path, make_timeline) -> None:
    real = tmp_path / "real.wav"
    real.write_bytes(b"old")
    link = tmp_path / "link.wav"
    link.symlink_to(real)
    timeline = make_timeline(RATE // 2, [Event(100, 772, "click", "click")])
    assert export(timeline, SourceBank(RATE), link) == link
    assert link.is_symlink() and real.read_bytes()[:4] == b"RIFF"
    assert listing(tmp_path) == ["link.wav", "real.wav"]


def test_a_file_the_session_reads_is_never_the_target(tmp_path, make_timeline) -> None:
    routine = tmp_path / "neck.routine"
    routine.write_text("say: Hello.\n")
    alias = tmp_path / "neck.wav"
    alias.hardlink_to(routine)  # the same file under an audio name
    with pytest.raises(ExportError, match=r"neck\.wav: the session reads it .*neck\.routine"):
        export(make_timeline(RATE // 2), SourceBank(RATE), alias, inputs=[routine])
    assert routine.read_text() == "say: Hello.\n"
