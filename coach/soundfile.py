"""Sound file decoding: probed files only, WAV in Python, MP3/Ogg/FLAC by a bounded ffmpeg."""

from __future__ import annotations

import math
import os
import shutil
import subprocess
import tempfile
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from coach.diagnostics import ExportError
from coach.soundprobe import (
    FFMPEG_HINT,
    FORMAT_NAMES,
    SoundFileError,
    SoundInfo,
    WavLayout,
    ffmpeg_detail,
    ffmpeg_input,
    find_tool,
    open_sound,
    probe_fd,
    wav_layout,
)

# pydub is not used to decode: AudioSegment.from_file opens the file by name with no
# protocol whitelist, reads the whole output of ffmpeg into memory with no bound, and for
# WAV trusts the header. Running ffmpeg here lets it be told the format, reopen the very
# descriptor that was probed, and stop at the probed duration.

__all__ = ["FFMPEG_HINT", "SoundFileError", "find_ffmpeg", "load_sound_file"]

# Frames converted at a time, so memory beyond the result stays small for long files.
_BLOCK = 1 << 18


def load_sound_file(path: Path | str, sample_rate: int) -> NDArray[Any]:
    """Decode `path` to float32 mono samples in [-1, 1] at `sample_rate`.

    The file is probed first (see coach.soundprobe), and the result never holds more than
    the probed duration, whatever its headers claim.
    """
    shown = str(path)
    fd = open_sound(Path(path), shown)
    try:
        info = probe_fd(fd, shown, verify=False)  # decoding says what is wrong, if anything
        if info.format == "wav":
            return _decode_wav(fd, wav_layout(fd, shown), sample_rate)
        return _decode_ffmpeg(fd, info, sample_rate, shown)
    finally:
        os.close(fd)


def find_ffmpeg() -> str:
    """The ffmpeg executable to encode with; ExportError if it is not installed."""
    found = shutil.which("ffmpeg")
    if not found:
        raise ExportError(
            f"ffmpeg is not installed; it is needed to write MP3 and OGG ({FFMPEG_HINT}), "
            "or export with --format wav"
        )
    return found


# --- WAV ----------------------------------------------------------------------------------

# WAV is read here, so sessions with WAV sounds need no ffmpeg (as with pydub before). A
# different rate is converted by linear interpolation, as pydub's audioop.ratecv did.


def _decode_wav(fd: int, layout: WavLayout, sample_rate: int) -> NDArray[np.float32]:
    frames = layout.frames
    if layout.rate == sample_rate:
        return _wav_frames(fd, layout, 0, frames)
    count = frames * sample_rate // layout.rate
    out = np.empty(count, dtype=np.float32)
    for start in range(0, count, _BLOCK):
        # Output sample j sits at input position j * rate / sample_rate: exact integers.
        where = np.arange(start, min(start + _BLOCK, count), dtype=np.int64) * layout.rate
        index = where // sample_rate
        fraction = (where % sample_rate) / sample_rate
        first = int(index[0])
        last = min(int(index[-1]) + 1, frames - 1)
        span = _wav_frames(fd, layout, first, last + 1 - first)
        left = span[index - first]
        right = span[np.minimum(index + 1, last) - first]
        out[start : start + len(where)] = left + (right - left) * fraction
    return out


def _wav_frames(fd: int, layout: WavLayout, first: int, count: int) -> NDArray[np.float32]:
    """Frames `first` to `first + count` of the WAV data, mixed to mono, in [-1, 1]."""
    width = layout.bits // 8
    out = np.empty(count, dtype=np.float32)
    for start in range(0, count, _BLOCK):
        n = min(_BLOCK, count - start)
        size = n * width * layout.channels
        raw = os.pread(fd, size, layout.offset + (first + start) * width * layout.channels)
        if len(raw) < size:  # the file shrank since it was probed
            raise SoundFileError("a sound file changed while it was being read")
        values = _samples(raw, layout).reshape(n, layout.channels)
        out[start : start + n] = values.mean(axis=1, dtype=np.float64)
    return out


def _samples(raw: bytes, layout: WavLayout) -> NDArray[np.float64]:
    if layout.encoding == "float":
        values = np.frombuffer(raw, dtype=f"<f{layout.bits // 8}").astype(np.float64)
        # Float WAV may hold anything, NaN included; the mixer expects [-1, 1].
        return np.clip(np.nan_to_num(values, nan=0.0, posinf=1.0, neginf=-1.0), -1.0, 1.0)
    if layout.bits == 8:  # 8-bit WAV is unsigned
        return (np.frombuffer(raw, dtype=np.uint8).astype(np.float64) - 128.0) / 128.0
    if layout.bits == 24:
        triples = np.frombuffer(raw, dtype=np.uint8).reshape(-1, 3).astype(np.int32)
        joined = triples[:, 0] | (triples[:, 1] << 8) | (triples[:, 2] << 16)
        signed = np.where(joined >= 1 << 23, joined - (1 << 24), joined)
        return signed.astype(np.float64) / float(1 << 23)
    kind = "<i2" if layout.bits == 16 else "<i4"
    return np.frombuffer(raw, dtype=kind).astype(np.float64) / float(1 << (layout.bits - 1))


# --- MP3, Ogg, FLAC -----------------------------------------------------------------------


def _decode_ffmpeg(fd: int, info: SoundInfo, sample_rate: int, shown: str) -> NDArray[np.float32]:
    # ffmpeg stops at -t; counting the bytes as well bounds the result even if it did not.
    limit = 2 * (math.ceil(info.seconds * sample_rate) + 1)
    command = [
        find_tool("ffmpeg"),
        "-hide_banner",
        "-nostdin",
        "-v",
        "error",
        *ffmpeg_input(fd, info.format),
        "-map",
        "0:a:0",
        "-t",
        f"{info.seconds:.6f}",
        "-ac",
        "1",
        "-ar",
        str(sample_rate),
        "-f",
        "s16le",
        "pipe:1",
    ]
    # stderr goes to a file: a broken file can make ffmpeg say more than a pipe holds,
    # which would stall it while we wait on stdout.
    with tempfile.TemporaryFile() as errors:
        process = subprocess.Popen(
            command, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=errors, pass_fds=(fd,)
        )
        assert process.stdout is not None
        data = bytearray()
        try:
            while len(data) < limit:
                chunk = process.stdout.read(min(1 << 20, limit - len(data)))
                if not chunk:
                    break
                data += chunk
        finally:
            capped = len(data) >= limit
            if capped:
                process.kill()
            process.stdout.close()
            code = process.wait()
        if code != 0 and not capped:
            errors.seek(0)
            detail = ffmpeg_detail(errors.read())
            name = FORMAT_NAMES[info.format]
            raise SoundFileError(f"sound file '{shown}' is not a readable {name} file{detail}")
    del data[len(data) // 2 * 2 :]
    samples: NDArray[np.float32] = np.frombuffer(bytes(data), dtype="<i2").astype(np.float32)
    samples /= np.float32(32768)
    return samples
