"""Sound sniffing: what a file holds, told from its first bytes, never from its name; pure."""

from __future__ import annotations

import struct

#: The formats coach decodes.
FORMATS = ("wav", "mp3", "ogg", "flac")

_MP3_BITRATES = {
    # kbit/s by bitrate index, layer III: MPEG-1, then MPEG-2 and 2.5
    1: (0, 32, 40, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320),
    2: (0, 8, 16, 24, 32, 40, 48, 56, 64, 80, 96, 112, 128, 144, 160),
}
_MP3_RATES = {3: (44100, 48000, 32000), 2: (22050, 24000, 16000), 0: (11025, 12000, 8000)}


def sniff(head: bytes) -> str:
    """The format `head` (a file's first bytes) starts as: one of FORMATS, or a description
    of what it looks like instead ("an HLS playlist", "a text file", ...)."""
    if head[:4] == b"RIFF":
        return "wav" if head[8:12] == b"WAVE" else "a RIFF file that is not WAV"
    if head[:4] == b"fLaC":
        return "flac"
    if head[:4] == b"OggS":
        return _sniff_ogg(head)
    end = id3_end(head)
    if end is not None:
        return sniff_after_id3(head[end:])
    if _mp3_frames_at(head):
        return "mp3"
    return _describe_other(head)


def _sniff_ogg(head: bytes) -> str:
    # The first page holds one packet, the codec's identification header, after a 27-byte
    # page header and its segment table.
    if len(head) < 28:
        return "a truncated Ogg file"
    start = 27 + head[26]
    packet = head[start : start + 8]
    if packet[:7] == b"\x01vorbis" or packet[:8] == b"OpusHead":
        return "ogg"
    return "an Ogg file that is not Vorbis or Opus audio"


def id3_end(head: bytes) -> int | None:
    """Where an ID3v2 tag at the start of `head` ends, or None if there is none."""
    if len(head) < 10 or head[:3] != b"ID3" or any(b & 0x80 for b in head[6:10]):
        return None
    size = (head[6] << 21) | (head[7] << 14) | (head[8] << 7) | head[9]
    return 10 + size + (10 if head[5] & 0x10 else 0)


def sniff_after_id3(body: bytes) -> str:
    if body[:4] == b"fLaC":
        return "flac"
    if _mp3_frames_at(body):
        return "mp3"
    return "an ID3 tag without MP3 audio after it"


def _mp3_frame_length(data: bytes, at: int) -> int:
    """The length of the MPEG layer III frame whose header is at `at`, or 0 if none is."""
    if at + 4 > len(data):
        return 0
    word: int = struct.unpack_from(">I", data, at)[0]
    version = (word >> 19) & 3  # 3 MPEG-1, 2 MPEG-2, 0 MPEG-2.5, 1 reserved
    layer = (word >> 17) & 3  # 1 is layer III
    bitrate_index = (word >> 12) & 15
    rate_index = (word >> 10) & 3
    if word >> 21 != 0x7FF or version == 1 or layer != 1:
        return 0
    if bitrate_index in (0, 15) or rate_index == 3:  # free format is not accepted
        return 0
    bitrate = _MP3_BITRATES[1 if version == 3 else 2][bitrate_index] * 1000
    rate = _MP3_RATES[version][rate_index]
    padding = (word >> 9) & 1
    return (144 if version == 3 else 72) * bitrate // rate + padding


def _mp3_frames_at(data: bytes) -> bool:
    """Whether `data` starts (within its first 4 KB of padding) with MPEG layer III frames:
    one frame header followed by another where its length says, or by the end of the data."""
    for at in range(min(len(data), 4096)):
        if data[at] != 0xFF:
            continue
        length = _mp3_frame_length(data, at)
        if length == 0:
            continue
        after = at + length
        if after >= len(data) or _mp3_frame_length(data, after):
            return True
    return False


_TEXT_KINDS = (
    (b"#EXTM3U", "an M3U playlist"),
    (b"ffconcat", "an ffconcat list"),
    (b"[playlist]", "a PLS playlist"),
    (b"<?xml", "an XML file"),
    (b"<", "an XML or HTML file"),
    (b"v=0", "an SDP description"),
    (b"file ", "a concat list"),
)


def _describe_other(head: bytes) -> str:
    text = head.lstrip(b"\xef\xbb\xbf \t\r\n")
    if text.startswith(b"#EXTM3U") and b"#EXT-X-" in text:
        return "an HLS playlist"
    for prefix, kind in _TEXT_KINDS:
        if text.startswith(prefix):
            return kind
    if head[4:8] == b"ftyp":
        return "an MP4 file"
    if head[:4] == b"\x1a\x45\xdf\xa3":
        return "a Matroska or WebM file"
    if head[:4] == b"FORM":
        return "an AIFF file"
    if head[:4] == b"RF64":
        return "an RF64 file"
    if b"\x00" not in head:
        try:
            head.decode("utf-8")
        except UnicodeDecodeError as exc:
            if exc.start < len(head) - 4:  # not just a character cut at the end of `head`
                return "a format coach does not read"
        return "a text file"
    return "a format coach does not read"
