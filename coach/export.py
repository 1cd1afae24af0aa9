"""Export a timeline to MP3/OGG (streamed through ffmpeg) or WAV: to a file, atomically, or
to a pipe such as standard output."""

from __future__ import annotations

import contextlib
import errno
import os
import select
import stat
import subprocess
import tempfile
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import IO, Protocol

from coach.atomic import AtomicFile, atomic_write, new_temp, remove_stale, write_atomic
from coach.chapters import tagged_wav_header, wav_tag_chunks
from coach.diagnostics import ExportError
from coach.encoding import ffmetadata as ffmetadata
from coach.encoding import ffmpeg_command as ffmpeg_command
from coach.encoding import mp3_encoder_args as mp3_encoder_args
from coach.encoding import wav_header as wav_header
from coach.filekinds import file_kind
from coach.mixer import SourceBank, mix_blocks
from coach.timeline import Timeline

FORMATS = ("mp3", "wav", "ogg")
DEFAULT_FORMAT = "mp3"
EXPORT_BLOCK_SIZE = 65536

Progress = Callable[[int, int], None]


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
    return writable_target(path, inputs), chosen


def cue_sheet_paths(path: Path, inputs: Iterable[str | Path] = ()) -> tuple[Path, Path]:
    """Where `--cues` writes beside the audio file `path` (x.mp3: x.vtt and x.chapters.vtt),
    checked as `check_target` checks the audio's; ExportError if either may not be written."""
    given = Path(path)
    cues, chapters = given.with_suffix(".vtt"), given.with_suffix(".chapters.vtt")
    listed = list(inputs)
    taken = {os.path.realpath(given): f"the audio file {given}"}
    for sheet in (cues, chapters):
        real = str(writable_target(sheet, listed))
        if real in taken:  # a link to the audio, or to the other sheet
            raise ExportError(f"cannot write {sheet}: it is {taken[real]} too")
        taken[real] = f"the cue sheet {sheet}"
    return cues, chapters


def write_cue_sheets(timeline: Timeline, paths: tuple[Path, Path]) -> None:
    """Write the cue sheet and the chapters file (coach.cuesheet) to `paths`, atomically."""
    from coach.cuesheet import chapters_vtt, cues_vtt

    for path, text in zip(paths, (cues_vtt(timeline), chapters_vtt(timeline)), strict=True):
        try:
            write_atomic(path, text.encode("utf-8"))
        except OSError as exc:
            raise ExportError(f"cannot write {path}: {_reason(exc, path.parent)}") from None


def writable_target(path: Path, inputs: Iterable[str | Path]) -> Path:
    """The real path an export to `path` writes; ExportError unless what is there is a
    regular file or nothing, and not one of `inputs`, the files the session reads."""
    if "\0" in str(path):
        raise ExportError(f"cannot write {str(path)!r}: a file name cannot hold a NUL character")
    real = Path(os.path.realpath(path))
    try:
        found = real.stat()
    except FileNotFoundError:
        return real
    except OSError as exc:
        raise ExportError(f"cannot write {path}: {_reason(exc, path.parent)}") from exc
    if not stat.S_ISREG(found.st_mode):
        raise ExportError(f"cannot write {path}: it is {file_kind(found.st_mode)}, not a file")
    for source in inputs:
        with contextlib.suppress(OSError):
            if os.path.samefile(real, source):
                raise ExportError(
                    f"cannot write {path}: the session reads it ({source}); "
                    "choose another name for the export"
                )
    return real


def check_stream_target(fd: int, inputs: Iterable[str | Path] = ()) -> None:
    """ExportError if the file open on `fd` (standard output for `-o -`) is one of
    `inputs`, the files the session reads: `1<> routine` would write over the routine."""
    try:
        out = os.fstat(fd)
    except OSError:
        return  # writing says what is wrong
    for source in inputs:
        with contextlib.suppress(OSError):
            found = os.stat(source)
            if (found.st_dev, found.st_ino) == (out.st_dev, out.st_ino):
                raise ExportError(
                    f"cannot write to standard output: it is {source}, which the session "
                    "reads; send the audio elsewhere"
                )


def export(
    timeline: Timeline,
    bank: SourceBank,
    path: Path,
    fmt: str | None = None,
    progress: Progress | None = None,
    inputs: Iterable[str | Path] = (),
) -> Path:
    """Write the session to `path` (see `check_target`) and return `path`.

    The audio goes to a hidden temporary file beside the file written (coach.atomic), which
    replaces it only once it is complete: a failed or interrupted export leaves any existing
    file untouched and no temporary file behind. Temporary files that killed runs left in
    that directory are removed first. A write error (a full disk, say) is an ExportError
    naming the file and the reason.
    """
    given = Path(path)
    path, fmt = check_target(given, fmt, inputs)
    ffmpeg = _ffmpeg_for(fmt)
    remove_stale(path.parent)
    try:
        with atomic_write(path) as out:
            if ffmpeg is None:
                _write_wav(timeline, _blocks(timeline, bank, progress), out.file, str(given))
            else:
                _encode_file(ffmpeg, fmt, timeline, _blocks(timeline, bank, progress), out, given)
    except OSError as exc:  # making, flushing or renaming the temporary file
        raise ExportError(f"cannot write {given}: {_reason(exc, path.parent)}") from None
    return given


def export_stream(
    timeline: Timeline,
    bank: SourceBank,
    fd: int,
    fmt: str | None = None,
    progress: Progress | None = None,
) -> str:
    """Write the session to the open file descriptor `fd` (a pipe, usually standard output)
    as `fmt` (default mp3); returns the format written.

    Nothing is ever sought back to. WAV's header is known up front (the session's length
    is). MP3 is encoded at a constant bitrate, since the Xing header a VBR file needs for its
    duration can only be written by seeking back (ffmpeg leaves it out); the stream lacks
    only the LAME gapless info, so decoders play about 50 ms of encoder delay first. Ogg
    needs no seeking. StreamClosed if the reader goes away; ExportError for other errors.
    """
    fmt = format_for(Path(), fmt)
    ffmpeg = _ffmpeg_for(fmt)
    blocks = _blocks(timeline, bank, progress)
    if ffmpeg is None:
        _write_wav(timeline, blocks, _FdWriter(fd), STDOUT_NAME)
        return fmt
    directory = Path(tempfile.gettempdir())
    remove_stale(directory)
    with _metadata_file(directory, "stream", timeline, fmt) as meta:
        command = ffmpeg_command(ffmpeg, fmt, meta, None)
        _run_ffmpeg(command, timeline, blocks, STDOUT_NAME, stdout=fd)
    return fmt


class StreamClosed(ExportError):
    """The reader of a streamed export went away (`coach export -o - | head -c 100`)."""


STDOUT_NAME = "standard output"


def _ffmpeg_for(fmt: str) -> str | None:
    """ffmpeg's path for MP3 and Ogg (ExportError if it is missing); None for WAV."""
    if fmt == "wav":
        return None
    from coach.soundfile import find_ffmpeg

    return find_ffmpeg()


def _blocks(timeline: Timeline, bank: SourceBank, progress: Progress | None) -> Iterator[bytes]:
    total = timeline.length
    done = 0
    if progress is not None:
        progress(0, total)
    mixed = iter(mix_blocks(timeline, bank, EXPORT_BLOCK_SIZE))
    while True:
        try:
            block = next(mixed, None)
        except OSError as exc:  # a sound or clip file the mix reads; not the output's fault
            raise ExportError(f"cannot make the session's audio: {exc}") from None
        if block is None:
            return
        yield block.astype("<i2", copy=False).tobytes()
        done += len(block)
        if progress is not None:
            progress(done, total)


class _FdWriter:
    """Unbuffered writes to a file descriptor, all of each piece."""

    def __init__(self, fd: int) -> None:
        self.fd = fd

    def write(self, data: bytes) -> int:
        view = memoryview(data)
        while view:
            view = view[os.write(self.fd, view) :]
        return len(data)


class _Writable(Protocol):
    def write(self, data: bytes, /) -> int: ...


def _write_wav(timeline: Timeline, blocks: Iterator[bytes], out: _Writable, name: str) -> None:
    """The header (the length is known, so it is right from the start), then the samples.
    A write error is an ExportError naming `name`; the sources' own errors pass through."""
    try:
        base = wav_header(timeline.sample_rate, timeline.length, timeline.channels)
        out.write(tagged_wav_header(base, wav_tag_chunks(timeline)))  # tags, chapter cues
    except OSError as exc:
        raise _write_error(exc, name) from None
    for data in blocks:
        try:
            out.write(data)
        except OSError as exc:
            raise _write_error(exc, name) from None


def _write_error(exc: OSError, name: str) -> ExportError:
    if isinstance(exc, BrokenPipeError) or exc.errno == errno.EPIPE:
        return StreamClosed(f"cannot write {name}: the reader closed it")
    return ExportError(f"cannot write {name}: {exc.strerror or exc}")


@contextlib.contextmanager
def _metadata_file(directory: Path, name: str, timeline: Timeline, fmt: str) -> Iterator[Path]:
    """The ffmetadata file, named as coach's temporary files are (coach.atomic), so that one
    a killed run leaves is removed like the others; removed when the block ends."""
    fd, path = new_temp(directory, f"{name}.ffmeta")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as meta:
            meta.write(ffmetadata(timeline, fmt))
        yield path
    finally:
        _unlink_quietly(path)


def _encode_file(
    ffmpeg: str,
    fmt: str,
    timeline: Timeline,
    blocks: Iterator[bytes],
    out: AtomicFile,
    name: Path,
) -> None:
    """Encode into the temporary file `out.temp`, which ffmpeg writes by name."""
    with contextlib.ExitStack() as stack:
        try:
            meta = stack.enter_context(
                _metadata_file(out.target.parent, out.target.name, timeline, fmt)
            )
        except OSError as exc:  # beside the target: a full disk says so here already
            raise _write_error(exc, str(name)) from None
        command = ffmpeg_command(ffmpeg, fmt, meta, out.temp)
        _run_ffmpeg(command, timeline, blocks, str(name), stdout=subprocess.DEVNULL)


def _run_ffmpeg(
    command: list[str], timeline: Timeline, blocks: Iterator[bytes], name: str, stdout: int
) -> None:
    """Stream the blocks into ffmpeg as a WAV stream. ExportError if it fails (the reason
    from its error output, drained to a temporary file); StreamClosed if its output's
    reader went away. Any exception here, KeyboardInterrupt included, kills ffmpeg first."""
    with tempfile.TemporaryFile() as errors:
        try:
            process = subprocess.Popen(command, stdin=subprocess.PIPE, stdout=stdout, stderr=errors)
        except OSError as exc:
            raise ExportError(f"cannot run {command[0]}: {exc.strerror or exc}") from None
        assert process.stdin is not None
        try:
            try:
                header = wav_header(timeline.sample_rate, timeline.length, timeline.channels)
                process.stdin.write(header)
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
        log = _tail(errors)
        if code != 0 or any(reason in log for reason in _WRITE_ERRORS):
            raise _ffmpeg_error(code, log, name, stdout)


# What ffmpeg says when its output cannot be written: a failure even if it exits with 0.
_WRITE_ERRORS = [
    os.strerror(number) for number in (errno.ENOSPC, errno.EDQUOT, errno.EFBIG, errno.EIO)
]


def _ffmpeg_error(code: int, log: str, name: str, stdout: int) -> ExportError:
    """One message for a failed ffmpeg: the plain reason when its log names a write error
    everyone knows ("No space left on device"), else its exit status and last words."""
    if stdout >= 0 and (_reader_gone(stdout) or os.strerror(errno.EPIPE) in log):
        return StreamClosed(f"cannot write {name}: the reader closed it")
    for reason in _WRITE_ERRORS:
        if reason in log:
            return ExportError(f"cannot write {name}: {reason}")
    return ExportError(f"cannot write {name}: ffmpeg failed (exit status {code}): {log}")


def _reader_gone(fd: int) -> bool:
    """Whether `fd` is a pipe or socket whose reading end is closed (poll says POLLERR)."""
    try:
        poller = select.poll()
        poller.register(fd, select.POLLOUT)
        return any(event & (select.POLLERR | select.POLLHUP) for _, event in poller.poll(0))
    except (OSError, ValueError, AttributeError):  # no poll() (Windows), or a closed fd
        return False


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


def _unlink_quietly(path: Path) -> None:
    with contextlib.suppress(OSError):
        path.unlink()
