"""Export a timeline to MP3/OGG (streamed through ffmpeg) or WAV, atomically."""

from __future__ import annotations

import contextlib
import os
import stat
import struct
import subprocess
import tempfile
import wave
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import IO

from coach.diagnostics import ExportError
from coach.mixer import SourceBank, mix_blocks
from coach.timeline import Chapter, Timeline

FORMATS = ("mp3", "wav", "ogg")
DEFAULT_FORMAT = "mp3"
EXPORT_BLOCK_SIZE = 65536
# ffmpeg reads the PCM as a WAV stream in packets of this many bytes. With two inputs (the
# audio and the ffmetadata file) ffmpeg 5 hands every packet between threads; its default
# 4 KB packets made that hand-off cost more than the encoding itself.
PIPE_PACKET_BYTES = 65536
TAG_ARTIST = "coach"
TAG_ALBUM = "coach"

Progress = Callable[[int, int], None]


def mp3_encoder_args() -> list[str]:
    """ffmpeg output options for MP3: LAME VBR quality 4 (22 kHz mono: about 24 kbit/s on
    a real session, at most ~40 for dense sound; an 11-minute session is 2 MB), ID3v2.3
    tags with CHAP/CTOC chapters, and a Xing/LAME header (exact duration, gapless)."""
    return ["-c:a", "libmp3lame", "-q:a", "4", "-id3v2_version", "3", "-write_xing", "1"]


def ogg_encoder_args() -> list[str]:
    """ffmpeg output options for Ogg Vorbis (quality 4)."""
    return ["-c:a", "libvorbis", "-q:a", "4"]


def format_for(path: Path, fmt: str | None = None) -> str:
    """The output format: `fmt` if given, else from the extension, else mp3."""
    if fmt is not None:
        chosen = fmt.lower().lstrip(".")
        if chosen not in FORMATS:
            raise ExportError(f"unknown export format {fmt!r}: choose one of {', '.join(FORMATS)}")
        return chosen
    suffix = path.suffix.lower().lstrip(".")
    return suffix if suffix in FORMATS else DEFAULT_FORMAT


def check_target(
    path: Path, fmt: str | None = None, inputs: Iterable[str | Path] = ()
) -> tuple[Path, str]:
    """Where an export to `path` really writes, and its format; ExportError if it may not.

    The extension must be one of FORMATS (or absent) and agree with `fmt`. What is at
    `path` must be a regular file or nothing: a directory, device, FIFO or socket is
    refused. A symbolic link is written through: the file it points to is replaced and the
    link stays. The target may not be one of `inputs`, the files the session reads.
    """
    suffix = path.suffix.lower().lstrip(".")
    if suffix and suffix not in FORMATS:
        raise ExportError(
            f"cannot write {path}: coach writes {', '.join(FORMATS)}, not .{suffix}; "
            f"name the file .mp3, .wav or .ogg"
        )
    chosen = format_for(path, fmt)
    if suffix and suffix != chosen:
        raise ExportError(f"cannot write {path} as {chosen}: its name says .{suffix}")
    real = Path(os.path.realpath(path))
    try:
        found = real.stat()
    except FileNotFoundError:
        return real, chosen
    except OSError as exc:
        raise ExportError(f"cannot write {path}: {_reason(exc, path.parent)}") from exc
    if not stat.S_ISREG(found.st_mode):
        raise ExportError(f"cannot write {path}: it is {_what_is(found.st_mode)}, not a file")
    for source in inputs:
        with contextlib.suppress(OSError):
            if os.path.samefile(real, source):
                raise ExportError(
                    f"cannot write {path}: the session reads it ({source}); "
                    "choose another name for the export"
                )
    return real, chosen


def _what_is(mode: int) -> str:
    if stat.S_ISDIR(mode):
        return "a directory"
    if stat.S_ISFIFO(mode):
        return "a FIFO (named pipe)"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device"
    if stat.S_ISSOCK(mode):
        return "a socket"
    return "not a regular file"


def export(
    timeline: Timeline,
    bank: SourceBank,
    path: Path,
    fmt: str | None = None,
    progress: Progress | None = None,
    inputs: Iterable[str | Path] = (),
) -> Path:
    """Write the session to `path` (see `check_target`) and return `path`.

    The audio goes to a hidden temporary file beside the file written, which replaces it
    only once it is complete: a failed or interrupted export leaves any existing file
    untouched.
    """
    given = Path(path)
    path, fmt = check_target(given, fmt, inputs)
    ffmpeg = None
    if fmt != "wav":
        from coach.soundfile import find_ffmpeg

        ffmpeg = find_ffmpeg()
    mode = _file_mode(path)
    directory = path.parent
    try:
        fd, temp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".part", dir=directory)
    except OSError as exc:
        raise ExportError(f"cannot write {path}: {_reason(exc, directory)}") from exc
    temp = Path(temp_name)
    try:
        os.fchmod(fd, mode)
        if ffmpeg is None:
            with os.fdopen(fd, "wb") as out:
                fd = -1
                _write_wav(timeline, _blocks(timeline, bank, progress), out)
                out.flush()
                os.fsync(out.fileno())
        else:
            os.close(fd)
            fd = -1
            _encode(ffmpeg, fmt, timeline, _blocks(timeline, bank, progress), temp, path)
            _fsync(temp)
        os.replace(temp, path)
    except BaseException:
        if fd >= 0:
            os.close(fd)
        with contextlib.suppress(OSError):
            temp.unlink()
        raise
    return given


def _blocks(timeline: Timeline, bank: SourceBank, progress: Progress | None) -> Iterator[bytes]:
    total = timeline.length
    done = 0
    if progress is not None:
        progress(0, total)
    for block in mix_blocks(timeline, bank, EXPORT_BLOCK_SIZE):
        yield block.astype("<i2", copy=False).tobytes()
        done += len(block)
        if progress is not None:
            progress(done, total)


def _write_wav(timeline: Timeline, blocks: Iterator[bytes], out: IO[bytes]) -> None:
    with wave.open(out, "wb") as wav:
        wav.setnchannels(1)
        wav.setsampwidth(2)
        wav.setframerate(timeline.sample_rate)
        wav.setnframes(timeline.length)  # header right from the start; no patching needed
        for data in blocks:
            wav.writeframesraw(data)


def _encode(
    ffmpeg: str,
    fmt: str,
    timeline: Timeline,
    blocks: Iterator[bytes],
    temp: Path,
    target: Path,
) -> None:
    """Stream the blocks into ffmpeg as a WAV stream; ffmpeg writes `temp`. ExportError if
    it fails (its error output, drained to a temporary file, ends the message)."""
    with contextlib.ExitStack() as stack:
        meta = stack.enter_context(
            tempfile.NamedTemporaryFile("w", encoding="utf-8", suffix=".ffmeta", delete=False)
        )
        stack.callback(_unlink_quietly, Path(meta.name))
        meta.write(ffmetadata(timeline, fmt))
        meta.close()
        errors = stack.enter_context(tempfile.TemporaryFile())
        command = ffmpeg_command(ffmpeg, fmt, Path(meta.name), temp)
        process = subprocess.Popen(
            command, stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=errors
        )
        assert process.stdin is not None
        try:
            try:
                process.stdin.write(wav_header(timeline.sample_rate, timeline.length))
                for data in blocks:
                    process.stdin.write(data)
                process.stdin.close()
            except BrokenPipeError:
                pass  # ffmpeg exited early; its exit status and log say why
            code = process.wait()
        except BaseException:
            process.kill()
            process.wait()
            raise
        finally:
            with contextlib.suppress(OSError):
                process.stdin.close()
        if code != 0:
            raise ExportError(
                f"ffmpeg failed writing {target} (exit status {code}): {_tail(errors)}"
            )


def ffmpeg_command(ffmpeg: str, fmt: str, meta: Path, out: Path) -> list[str]:
    """A WAV stream (s16le mono) on stdin + an ffmetadata file -> `out` in format `fmt`."""
    encoder = mp3_encoder_args() if fmt == "mp3" else ogg_encoder_args()
    return [
        ffmpeg,
        *("-hide_banner", "-nostdin", "-nostats", "-loglevel", "error", "-y"),
        *("-f", "wav", "-max_size", str(PIPE_PACKET_BYTES), "-i", "pipe:0"),
        *("-f", "ffmetadata", "-i", _ffmpeg_file(meta)),
        *("-map", "0:a", "-map_metadata", "1", "-map_chapters", "1"),
        *encoder,
        *("-f", fmt, _ffmpeg_file(out)),
    ]


def _ffmpeg_file(path: Path) -> str:
    """A path ffmpeg cannot mistake for an option or a protocol ("a:b.mp3")."""
    return "file:" + str(Path(path).absolute())


def wav_header(sample_rate: int, frames: int) -> bytes:
    """The 44-byte header of a 16-bit mono PCM WAV stream of `frames` samples."""
    data = min(frames * 2, 0xFFFFFFFF - 36)
    return struct.pack(
        "<4sI4s4sIHHIIHH4sI",
        *(b"RIFF", 36 + data, b"WAVE", b"fmt ", 16, 1, 1, sample_rate, sample_rate * 2, 2, 16),
        *(b"data", data),
    )


def ffmetadata(timeline: Timeline, fmt: str = "mp3") -> str:
    """The ffmetadata file for the tags and chapters (empty chapters are left out).

    MP3 gets [CHAPTER] sections, which ffmpeg writes as ID3 CHAP/CTOC frames; Ogg gets
    the CHAPTERnnn/CHAPTERnnnNAME Vorbis comments, since ffmpeg does not write Ogg chapters.
    """
    lines = [";FFMETADATA1"]
    if timeline.title:
        lines.append(f"title={_escape(timeline.title)}")
    lines += [f"artist={_escape(TAG_ARTIST)}", f"album={_escape(TAG_ALBUM)}"]
    chapters = exported_chapters(timeline)
    if fmt == "ogg":
        for number, chapter in enumerate(chapters, start=1):
            lines.append(f"CHAPTER{number:03d}={_clock(chapter.start, timeline.sample_rate)}")
            lines.append(f"CHAPTER{number:03d}NAME={_escape(chapter.name)}")
    else:
        for chapter in chapters:
            lines += [
                "",
                "[CHAPTER]",
                f"TIMEBASE=1/{timeline.sample_rate}",
                f"START={chapter.start}",
                f"END={chapter.end}",
                f"title={_escape(chapter.name)}",
            ]
    return "\n".join(lines) + "\n"


def exported_chapters(timeline: Timeline) -> list[Chapter]:
    """The chapters written to the file: clipped to the session, non-empty ones only."""
    out = []
    for chapter in timeline.chapters:
        start = min(max(chapter.start, 0), timeline.length)
        end = min(max(chapter.end, start), timeline.length)
        if end > start:
            out.append(Chapter(chapter.name, start, end))
    return out


def _escape(value: str) -> str:
    value = " ".join(value.splitlines())
    for char in ("\\", "=", ";", "#"):
        value = value.replace(char, "\\" + char)
    return value


def _clock(samples: int, sample_rate: int) -> str:
    millis = int(round(samples * 1000 / sample_rate))
    seconds, millis = divmod(millis, 1000)
    minutes, seconds = divmod(seconds, 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours:02d}:{minutes:02d}:{seconds:02d}.{millis:03d}"


def _file_mode(path: Path) -> int:
    """Keep the mode of the file being replaced; a new file gets 0o666 minus the umask."""
    try:
        existing = path.stat()
        if stat.S_ISREG(existing.st_mode):
            return stat.S_IMODE(existing.st_mode)
    except OSError:
        pass
    umask = os.umask(0o022)
    os.umask(umask)
    return 0o666 & ~umask


def _reason(exc: OSError, directory: Path) -> str:
    shown = directory if str(directory) else Path(".")
    if isinstance(exc, FileNotFoundError):
        return f"directory {shown} does not exist"
    if isinstance(exc, NotADirectoryError):
        return f"{shown} is not a directory"
    if isinstance(exc, PermissionError):
        return f"no permission to write in {shown}"
    return exc.strerror or str(exc)


def _tail(log: IO[bytes], limit: int = 2000) -> str:
    log.seek(0, os.SEEK_END)
    size = log.tell()
    log.seek(max(0, size - limit))
    text = log.read().decode("utf-8", "replace").strip()
    return text or "no error output"


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _unlink_quietly(path: Path) -> None:
    with contextlib.suppress(OSError):
        path.unlink()
