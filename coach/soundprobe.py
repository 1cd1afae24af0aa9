"""Sound file probe: accept only a plain WAV, MP3, Ogg or FLAC file and give its real duration."""

from __future__ import annotations

import errno
import json
import math
import os
import re
import shutil
import stat
import struct
import subprocess
from dataclasses import dataclass
from pathlib import Path

from coach.diagnostics import CoachError
from coach.filekinds import file_kind, kind_at
from coach.soundsniff import FORMATS, id3_end, sniff, sniff_after_id3

# This module is imported by the loader, so by `coach check`: standard library only.

FFMPEG_HINT = "Debian: sudo apt-get install ffmpeg"
MAX_SOUND_SECONDS = 2 * 3600.0
# 2 hours of 48 kHz stereo 24-bit WAV is 2.1 GB; 1 GiB still holds 2 hours of CD-quality
# stereo or far more of any compressed format, and bounds what a decoder is asked to read.
MAX_SOUND_BYTES = 1 << 30
# Real audio is recorded at 8 kHz or more. A header saying 1 Hz would make a few kilobytes
# last hours: refusing low rates keeps a small file from decoding to a long one.
MIN_SAMPLE_RATE = 8000
# Decoding a whole file to nowhere (the check that it really is audio) runs at hundreds of
# times real time; 2 hours of MP3 take well under a minute.
DECODE_TIMEOUT = 120.0
USE = "use WAV, MP3, Ogg or FLAC"
# ffprobe reads headers (and for Ogg the last page); a healthy file takes well under a second.
PROBE_TIMEOUT = 30.0
_HEAD_BYTES = 64 * 1024


class SoundFileError(CoachError):
    """A `sound:` file is missing, is not a plain audio file, or cannot be decoded."""


@dataclass(frozen=True)
class SoundInfo:
    """What the probe found: the container format (as ffmpeg names it) and real duration."""

    format: str  # "wav", "mp3", "ogg" or "flac"
    seconds: float


def probe_sound(path: Path, name: str | None = None, verify: bool = True) -> SoundInfo:
    """Check that `path` is a plain audio file of at most 2 hours; SoundFileError if not.

    `name` is how messages show the file (the loader passes the name as the routine wrote it);
    it defaults to `path`. `verify` as for `probe_fd`.
    """
    shown = str(path) if name is None else name
    fd = open_sound(path, shown)
    try:
        return probe_fd(fd, shown, verify)
    finally:
        os.close(fd)


def open_sound(path: Path, shown: str) -> int:
    """Open `path` for reading without blocking; SoundFileError unless it is a usable file.

    O_NONBLOCK makes opening a FIFO return at once instead of waiting for a writer; fstat on
    the descriptor (not a second stat of the name) decides what was opened.
    """
    flags = os.O_RDONLY | os.O_NONBLOCK | os.O_NOCTTY | os.O_CLOEXEC
    try:
        fd = os.open(path, flags)
    except FileNotFoundError:
        raise SoundFileError(f"sound file not found: '{shown}'") from None
    except NotADirectoryError:
        raise SoundFileError(f"sound file not found: '{shown}'") from None
    except PermissionError:
        raise SoundFileError(f"sound file '{shown}' cannot be read (permission denied)") from None
    except OSError as exc:
        if exc.errno == errno.ENXIO:  # a socket (or a FIFO opened for writing) refuses open
            raise SoundFileError(_not_a_file(shown, kind_at(path))) from None
        raise SoundFileError(f"sound file '{shown}' cannot be read ({exc.strerror})") from None
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise SoundFileError(_not_a_file(shown, file_kind(info.st_mode)))
        if info.st_size == 0:
            raise SoundFileError(f"sound file '{shown}' is empty")
        if info.st_size > MAX_SOUND_BYTES:
            raise SoundFileError(
                f"sound file '{shown}' is {math.ceil(info.st_size / 2**30 * 10) / 10} GB, "
                "over the 1 GB limit for a sound file"
            )
        # Reads of a regular file never block; clear the flag so ffmpeg sees a plain file.
        os.set_blocking(fd, True)
    except BaseException:
        os.close(fd)
        raise
    return fd


def probe_fd(fd: int, shown: str, verify: bool = True) -> SoundInfo:
    """Probe the regular file open on `fd` (see `open_sound`). With `verify`, an MP3, Ogg
    or FLAC file is also decoded to nowhere, so a file whose frames hold no audio is found
    here, as `coach check` must, and not only when a session decodes it."""
    head = os.pread(fd, _HEAD_BYTES, 0)
    end = id3_end(head)
    # An ID3 tag holding cover art can be megabytes long: look at what follows it.
    kind = sniff(head) if end is None else sniff_after_id3(os.pread(fd, _HEAD_BYTES, end))
    if kind not in FORMATS:
        raise SoundFileError(
            f"sound file '{shown}' is not a plain audio file (it looks like {kind}); {USE}"
        )
    seconds = wav_layout(fd, shown).seconds if kind == "wav" else _ffprobe_seconds(fd, kind, shown)
    if not seconds > 0:  # also NaN
        raise SoundFileError(f"sound file '{shown}' has no audio in it")
    if seconds > MAX_SOUND_SECONDS:
        raise SoundFileError(
            f"sound file '{shown}' lasts {clock(seconds)}, over the 2 hour limit for a sound file"
        )
    if verify and kind != "wav":
        _check_decodes(fd, kind, seconds, shown)
    return SoundInfo(kind, seconds)


def clock(seconds: float) -> str:
    """`seconds` as H:MM:SS, rounded down (11:06:40 for 40,000 s)."""
    whole = int(seconds)
    return f"{whole // 3600}:{whole // 60 % 60:02d}:{whole % 60:02d}"


# --- WAV, read here -----------------------------------------------------------------------

# WAV is parsed here rather than by ffprobe: its header is simple and fixed, the duration
# follows exactly from it (and from the file's real size), and so `coach check` and a
# session using WAV sounds need no ffmpeg, as before.
_WAV_PCM, _WAV_FLOAT, _WAV_EXTENSIBLE = 1, 3, 0xFFFE
_WAV_BITS = {_WAV_PCM: (8, 16, 24, 32), _WAV_FLOAT: (32, 64)}
_MAX_CHANNELS = 8
_MAX_CHUNKS = 1000


@dataclass(frozen=True)
class WavLayout:
    """Where a WAV file's samples are and how they are stored."""

    encoding: str  # "pcm" (8-bit unsigned, else signed little-endian) or "float"
    channels: int
    rate: int
    bits: int
    offset: int  # of the first sample
    frames: int  # whole frames present in the file, whatever the header claims

    @property
    def seconds(self) -> float:
        return self.frames / self.rate


def wav_layout(fd: int, shown: str) -> WavLayout:
    """Read the RIFF/WAVE header of the file open on `fd`; SoundFileError unless it is PCM
    or float audio coach can read."""
    size = os.fstat(fd).st_size
    broken = f"sound file '{shown}' is not a readable WAV file"
    at = 12
    fmt: bytes | None = None
    for _ in range(_MAX_CHUNKS):
        header = os.pread(fd, 8, at)
        if len(header) < 8:
            break
        chunk, length = header[:4], int.from_bytes(header[4:], "little")
        if chunk == b"fmt ":
            fmt = os.pread(fd, min(length, 64), at + 8)
        elif chunk == b"data":
            if fmt is None:
                raise SoundFileError(f"{broken} (its data comes before its format)")
            # A writer that could not seek back leaves 0 or 0xFFFFFFFF: the data runs to the
            # end. A size past the end of the file counts only what is there.
            present = size - at - 8
            return _wav_layout(fmt, at + 8, min(length or present, present), shown)
        at += 8 + length + (length & 1)  # chunks are padded to an even length
    raise SoundFileError(f"{broken} (no audio data in it)")


def _wav_layout(fmt: bytes, offset: int, length: int, shown: str) -> WavLayout:
    broken = f"sound file '{shown}' is not a readable WAV file"
    if len(fmt) < 16:
        raise SoundFileError(f"{broken} (its format header is cut short)")
    tag, channels, rate, _, align, bits = struct.unpack_from("<HHIIHH", fmt)
    if tag == _WAV_EXTENSIBLE and len(fmt) >= 26:
        tag = int.from_bytes(fmt[24:26], "little")  # the first two bytes of the subformat GUID
    unreadable = f"sound file '{shown}' is a WAV file coach does not read"
    use = "use PCM or float WAV, MP3, Ogg or FLAC"
    if tag not in _WAV_BITS:
        raise SoundFileError(f"{unreadable} (compressed, format 0x{tag:04x}); {use}")
    if bits not in _WAV_BITS[tag]:
        raise SoundFileError(f"{unreadable} ({bits}-bit samples); {use}")
    if not 1 <= channels <= _MAX_CHANNELS:
        raise SoundFileError(f"{unreadable} ({channels} channels); {use}")
    if rate < 1 or align != channels * bits // 8:
        raise SoundFileError(f"{broken} (its format header is inconsistent)")
    _check_rate(rate, shown)
    encoding = "float" if tag == _WAV_FLOAT else "pcm"
    return WavLayout(encoding, channels, rate, bits, offset, max(length, 0) // align)


# --- ffprobe, for MP3, Ogg and FLAC --------------------------------------------------------

# The codecs accepted in each container (ffprobe's names).
_CODECS = {"mp3": {"mp3"}, "ogg": {"vorbis", "opus"}, "flac": {"flac"}}
FORMAT_NAMES = {"mp3": "MP3", "ogg": "Ogg", "flac": "FLAC", "wav": "WAV"}


def ffmpeg_input(fd: int, kind: str) -> list[str]:
    """ffmpeg/ffprobe arguments that read the file open on `fd` (passed to the child) as
    `kind` and nothing else.

    Naming the demuxer stops ffmpeg guessing from the content, which would follow an HLS
    playlist or a concat list to other files; the whitelist allows only the file protocol,
    and /dev/fd/N reopens the very file that was checked, so it cannot be swapped for a
    FIFO or another file by name in between.
    """
    return ["-protocol_whitelist", "file", "-f", kind, "-i", f"file:/dev/fd/{fd}"]


def find_tool(tool: str) -> str:
    """The path of `tool` (ffmpeg or ffprobe); SoundFileError if it is not installed."""
    found = shutil.which(tool)
    if not found:
        raise SoundFileError(
            f"{tool} is not installed; it is needed to read MP3, Ogg and FLAC sound files "
            f"({FFMPEG_HINT})"
        )
    return found


def _ffprobe_seconds(fd: int, kind: str, shown: str) -> float:
    # The duration comes from what the file holds, not from a header that may lie or
    # describe a longer file that was cut short: MP3 counts its frames (1152 or 576
    # samples each), FLAC adds up its frames' lengths, Ogg's last page gives its position.
    if kind == "mp3":
        entries = [
            "-count_packets",
            "-show_entries",
            "stream=codec_type,codec_name,sample_rate,nb_read_packets",
        ]
    elif kind == "flac":
        entries = ["-show_entries", "stream=codec_type,codec_name,sample_rate:packet=duration"]
    else:
        entries = ["-show_entries", "format=duration:stream=codec_type,codec_name,sample_rate"]
    command = [
        find_tool("ffprobe"),
        "-hide_banner",
        "-v",
        "error",
        "-select_streams",
        "a:0",
        *ffmpeg_input(fd, kind),
        *entries,
        "-of",
        "json",
    ]
    done = _run_reader(command, fd, kind, PROBE_TIMEOUT, shown)
    broken = f"sound file '{shown}' is not a readable {FORMAT_NAMES[kind]} file"
    try:
        found = json.loads(done.stdout)
        streams = [s for s in found.get("streams", []) if s.get("codec_type") == "audio"]
    except (ValueError, AttributeError):
        raise SoundFileError(f"{broken} (ffprobe said nothing useful)") from None
    if not streams:
        raise SoundFileError(f"sound file '{shown}' has no audio in it")
    codec = streams[0].get("codec_name", "unknown")
    if codec not in _CODECS[kind]:
        raise SoundFileError(
            f"sound file '{shown}' holds {codec} audio, which coach does not read; {USE}"
        )
    try:
        _check_rate(int(streams[0]["sample_rate"]), shown)
        if kind == "mp3":
            rate = int(streams[0]["sample_rate"])
            frame = 1152 if rate >= 32000 else 576  # MPEG-1 layer III, else MPEG-2 and 2.5
            seconds = int(streams[0]["nb_read_packets"]) * frame / rate
        elif kind == "flac":
            rate = int(streams[0]["sample_rate"])  # the FLAC demuxer counts in samples
            seconds = sum(int(p.get("duration", 0)) for p in found.get("packets", [])) / rate
        else:
            seconds = float(found.get("format", {}).get("duration", 0))
    except (ValueError, KeyError, TypeError, ZeroDivisionError):
        raise SoundFileError(f"{broken} (ffprobe said nothing useful)") from None
    if not seconds > 0:  # also NaN
        raise SoundFileError(f"sound file '{shown}' has no audio in it")
    return seconds


def _check_rate(rate: int, shown: str) -> None:
    if rate < MIN_SAMPLE_RATE:
        raise SoundFileError(
            f"sound file '{shown}' says it plays at {rate:,} Hz; coach reads sound files "
            f"recorded at {MIN_SAMPLE_RATE:,} Hz or more"
        )


def _check_decodes(fd: int, kind: str, seconds: float, shown: str) -> None:
    """SoundFileError unless ffmpeg decodes the file, as a session will, without failing."""
    command = [
        find_tool("ffmpeg"),
        *("-hide_banner", "-nostdin", "-v", "error"),
        *ffmpeg_input(fd, kind),
        *("-map", "0:a:0", "-t", f"{seconds:.6f}", "-f", "null", "-"),
    ]
    _run_reader(command, fd, kind, DECODE_TIMEOUT, shown)


def _run_reader(
    command: list[str], fd: int, kind: str, timeout: float, shown: str
) -> subprocess.CompletedProcess[bytes]:
    """Run ffprobe or ffmpeg on the file open on `fd`; SoundFileError if it runs out of
    time or fails (ffmpeg's last word ends the message)."""
    try:
        done = subprocess.run(
            command,
            stdin=subprocess.DEVNULL,
            capture_output=True,
            pass_fds=(fd,),
            timeout=timeout,
            check=False,
        )
    except subprocess.TimeoutExpired:
        raise SoundFileError(f"sound file '{shown}' could not be read in time") from None
    if done.returncode != 0:
        broken = f"sound file '{shown}' is not a readable {FORMAT_NAMES[kind]} file"
        raise SoundFileError(f"{broken}{ffmpeg_detail(done.stderr)}")
    return done


def ffmpeg_detail(stderr: bytes) -> str:
    """ffmpeg's last word, as " (...)" to end a message, without the /dev/fd/N it read."""
    lines = stderr.decode("utf-8", "replace").strip().splitlines()
    last = re.sub(r"^file:/dev/fd/\d+: ", "", lines[-1].strip()) if lines else ""
    return f" ({last})" if last else ""


def _not_a_file(shown: str, kind: str) -> str:
    return f"sound file '{shown}' is {kind}, not a regular file"
