"""What an exported file says besides its audio: the tags every format carries (title,
artist, album, comment, date, language), and the RIFF chunks a WAV carries them and its chapters in.

A WAV's chunks all come before its samples, so the header is whole before the first sample
is written and a WAV streams (`-o -`) with its tags and markers: `LIST`/`INFO` holds the
tags, `cue ` one point per chapter at its first sample, and `LIST`/`adtl` each point's name
(`labl`) and length (`ltxt`, a region). ffprobe shows the INFO tags as the format's tags and
the cue points, named, as chapters. MP3 and Ogg get the same tags through ffmpeg's
ffmetadata (coach.encoding).
"""

from __future__ import annotations

import struct
from datetime import date

from coach.timeline import Chapter, Timeline

ARTIST = "coach"
ALBUM = "coach"

# ffmpeg's tag names (as in ffmetadata) -> the RIFF INFO chunk each goes in.
INFO_IDS = {
    "title": b"INAM",
    "artist": b"IART",
    "album": b"IPRD",
    "comment": b"ICMT",
    "date": b"ICRD",
    "language": b"ILNG",
}
#: A routine's language (coach.words) as tags name it: ISO 639-2 (ID3's TLAN asks for it;
#: ffmpeg writes the tag as TLAN in an MP3, LANGUAGE in an Ogg, ILNG in a WAV).
LANGUAGE_TAGS = {"en": "eng", "de": "deu", "fr": "fra", "es": "spa"}


def file_tags(timeline: Timeline, today: date | None = None) -> dict[str, str]:
    """The tags of an export, by ffmpeg's names: title (if any), artist, album, comment
    (the routine's `about:`, if any), date (today's, ISO 8601) and the language spoken (ISO
    639-2), each on one line."""
    tags = {"title": timeline.title, "artist": ARTIST, "album": ALBUM, "comment": timeline.about}
    tags["date"] = (today or date.today()).isoformat()
    tags["language"] = LANGUAGE_TAGS.get(timeline.language, "")
    return {name: " ".join(value.split()) for name, value in tags.items() if value.strip()}


def wav_tag_chunks(timeline: Timeline, today: date | None = None) -> bytes:
    """The LIST INFO, cue and LIST adtl chunks of a WAV export of `timeline`."""
    info = b"".join(
        _chunk(INFO_IDS[name], _text(value)) for name, value in file_tags(timeline, today).items()
    )
    out = _chunk(b"LIST", b"INFO" + info)
    chapters = timeline.file_chapters()
    if chapters:
        out += _chunk(b"cue ", _cue_points(chapters))
        numbered = list(enumerate(chapters, start=1))
        # Every labl before any ltxt: ffmpeg stops reading the names at the first ltxt.
        labels = [_chunk(b"labl", struct.pack("<I", n) + _text(c.name)) for n, c in numbered]
        regions = [_chunk(b"ltxt", _region(n, c)) for n, c in numbered]
        out += _chunk(b"LIST", b"adtl" + b"".join(labels + regions))
    return out


def tagged_wav_header(base: bytes, chunks: bytes) -> bytes:
    """A plain 44-byte WAV header (coach.encoding.wav_header) with `chunks` put between
    its `fmt ` chunk and its `data` chunk, and the RIFF size grown to match."""
    data = struct.unpack_from("<I", base, 40)[0]
    riff = min(4 + 24 + len(chunks) + 8 + data, 0xFFFFFFFF)
    return base[:4] + struct.pack("<I", riff) + base[8:36] + chunks + base[36:44]


def _cue_points(chapters: list[Chapter]) -> bytes:
    points = [struct.pack("<I", len(chapters))]
    for number, chapter in enumerate(chapters, start=1):
        # id, position, chunk 'data', chunk start, block start, sample offset
        points.append(struct.pack("<II4sIII", number, chapter.start, b"data", 0, 0, chapter.start))
    return b"".join(points)


def _region(number: int, chapter: Chapter) -> bytes:
    """An ltxt body: cue `number` covers the chapter's samples (purpose 'rgn ')."""
    return struct.pack("<II4sHHHH", number, chapter.end - chapter.start, b"rgn ", 0, 0, 0, 0)


def _text(value: str) -> bytes:
    """A RIFF string: UTF-8, NUL-terminated (NULs inside dropped)."""
    return value.replace("\0", "").encode("utf-8") + b"\0"


def _chunk(kind: bytes, body: bytes) -> bytes:
    """One RIFF chunk; an odd-sized body gets a pad byte its size does not count."""
    return kind + struct.pack("<I", len(body)) + body + b"\0" * (len(body) % 2)
