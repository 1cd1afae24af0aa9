"""What ffmpeg is told when coach exports: the encoder options, the command line, the
ffmetadata text with the tags and chapters, and the WAV header ffmpeg (or a WAV file) gets."""

from __future__ import annotations

import struct
from pathlib import Path

from coach.chapters import file_tags
from coach.timeline import Timeline

# ffmpeg reads the PCM as a WAV stream in packets of this many bytes. With two inputs (the
# audio and the ffmetadata file) ffmpeg 5 hands every packet between threads; its default
# 4 KB packets made that hand-off cost more than the encoding itself.
PIPE_PACKET_BYTES = 65536


def mp3_encoder_args() -> list[str]:
    """ffmpeg output options for MP3: LAME VBR quality 4 (22 kHz mono: about 24 kbit/s on
    a real session, at most ~40 for dense sound; an 11-minute session is 2 MB), ID3v2.3
    tags with CHAP/CTOC chapters, and a Xing/LAME header (exact duration, gapless)."""
    return ["-c:a", "libmp3lame", "-q:a", "4", "-id3v2_version", "3", "-write_xing", "1"]


def mp3_stream_encoder_args() -> list[str]:
    """ffmpeg output options for MP3 to a pipe: a constant 40 kbit/s (about VBR quality 4's
    peak), since a VBR file without the Xing header, which only a seekable file gets, has a
    duration players can only guess (a 60 s session read as 47 s)."""
    return ["-c:a", "libmp3lame", "-b:a", "40k", "-id3v2_version", "3"]


def ogg_encoder_args() -> list[str]:
    """ffmpeg output options for Ogg Vorbis, quality 6: at 22 kHz Vorbis overshoots the mix's
    true peaks by more than MP3 does (3.2 dB at quality 4, measured on wall-release, past
    the -1 dBTP an export promises; 1.7 dB at quality 6), for about a quarter more bytes."""
    return ["-c:a", "libvorbis", "-q:a", "6"]


def ffmpeg_command(ffmpeg: str, fmt: str, meta: Path, out: Path | None) -> list[str]:
    """A WAV stream (s16le, mono or stereo) on stdin + an ffmetadata file -> `out` in format
    `fmt`, or to standard output (`out` None). -xerror: without it, ffmpeg 5 exits 0 when the disk
    fills up as it writes the trailer, leaving a truncated file."""
    if fmt == "mp3":
        encoder = mp3_encoder_args() if out is not None else mp3_stream_encoder_args()
    else:
        encoder = ogg_encoder_args()
    return [
        ffmpeg,
        *("-hide_banner", "-nostdin", "-nostats", "-xerror", "-loglevel", "error", "-y"),
        *("-f", "wav", "-max_size", str(PIPE_PACKET_BYTES), "-i", "pipe:0"),
        *("-f", "ffmetadata", "-i", _ffmpeg_file(meta)),
        *("-map", "0:a", "-map_metadata", "1", "-map_chapters", "1"),
        *encoder,
        *("-f", fmt, "pipe:1" if out is None else _ffmpeg_file(out)),
    ]


def _ffmpeg_file(path: Path) -> str:
    """A path ffmpeg cannot mistake for an option or a protocol ("a:b.mp3")."""
    return "file:" + str(Path(path).absolute())


def wav_header(sample_rate: int, frames: int, channels: int = 1) -> bytes:
    """The 44-byte header of a 16-bit PCM WAV stream of `frames` frames (mono, or
    interleaved stereo)."""
    frame = 2 * channels
    data = min(frames * frame, 0xFFFFFFFF - 36)
    fields = (16, 1, channels, sample_rate, sample_rate * frame, frame, 16)
    return struct.pack(
        "<4sI4s4sIHHIIHH4sI", b"RIFF", 36 + data, b"WAVE", b"fmt ", *fields, b"data", data
    )


def ffmetadata(timeline: Timeline, fmt: str = "mp3") -> str:
    """The ffmetadata file for the tags (coach.chapters.file_tags) and the chapters, which
    run from 0 to the end of the file (Timeline.file_chapters).

    MP3 gets [CHAPTER] sections, which ffmpeg writes as ID3 CHAP/CTOC frames; Ogg gets
    the CHAPTERnnn/CHAPTERnnnNAME Vorbis comments, since ffmpeg does not write Ogg chapters.
    """
    lines = [";FFMETADATA1"]
    lines += [f"{name}={_escape(value)}" for name, value in file_tags(timeline).items()]
    chapters = timeline.file_chapters()
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
