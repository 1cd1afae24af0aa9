"""Sound file decoding: probed files only, WAV in Python, MP3/Ogg/FLAC by a bounded ffmpeg."""

from __future__ import annotations

import contextlib
import math
import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import IO, Any

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


#: A decoded sound longer than this is kept in a file of its own, not in memory (a sound file
#: may last 2 hours: 635 MB as float32), and read a slice at a time as the mix needs it.
SPILL_SECONDS = 60.0


def load_sound_file(
    path: Path | str, sample_rate: int, spill_dir: Path | None = None
) -> NDArray[Any] | SpilledSound:
    """Decode `path` to float32 mono samples in [-1, 1] at `sample_rate`: an array, or for
    a sound longer than SPILL_SECONDS a `SpilledSound` in an unnamed file in `spill_dir`
    (when given and writable), read as int16 a slice at a time.

    The file is probed first (see coach.soundprobe), and the result never holds more than
    the probed duration, whatever its headers claim.
    """
    shown = str(path)
    fd = open_sound(Path(path), shown)
    try:
        info = probe_fd(fd, shown, verify=False)  # decoding says what is wrong, if anything
        spill = _spill_file(spill_dir) if info.seconds > SPILL_SECONDS else None
        with spill if spill is not None else contextlib.nullcontext():  # closed however it ends
            if info.format == "wav":
                layout = wav_layout(fd, shown)
                if spill is None:
                    return _decode_wav(fd, layout, sample_rate)
                return SpilledSound.of(spill, _wav_blocks(fd, layout, sample_rate))
            data = _decode_ffmpeg(fd, info, sample_rate, shown, spill)
        if isinstance(data, SpilledSound):
            return data
        samples: NDArray[np.float32] = np.frombuffer(data, dtype="<i2").astype(np.float32)
        samples /= np.float32(32768)
        return samples
    finally:
        os.close(fd)


class SpilledSound:
    """A decoded sound in a file with no name, as int16: sliced, it gives float32 samples."""

    def __init__(self, fd: int, length: int) -> None:
        self._fd = fd
        self.length = length

    @classmethod
    def of(cls, spill: IO[bytes], blocks: Iterable[NDArray[Any]]) -> SpilledSound:
        """The sound written to `spill` from float32 `blocks`; `spill` may then be closed."""
        for block in blocks:
            scaled = np.clip(np.rint(block * 32768.0), -32768, 32767).astype("<i2")
            spill.write(scaled.tobytes())
        return cls.from_file(spill)

    @classmethod
    def from_file(cls, spill: IO[bytes]) -> SpilledSound:
        spill.flush()
        size = os.fstat(spill.fileno()).st_size
        return cls(os.dup(spill.fileno()), size // 2)

    def __len__(self) -> int:
        return self.length

    def __getitem__(self, where: slice) -> NDArray[Any]:
        lo, hi, _ = where.indices(self.length)
        if hi <= lo:
            return np.zeros(0, dtype=np.float32)
        raw = os.pread(self._fd, 2 * (hi - lo), 2 * lo)
        samples: NDArray[Any] = np.frombuffer(raw, dtype="<i2").astype(np.float32)
        samples /= np.float32(32768)
        return samples

    def __del__(self) -> None:
        with contextlib.suppress(OSError, AttributeError):
            os.close(self._fd)


def _spill_file(directory: Path | None) -> IO[bytes] | None:
    """An unnamed file in `directory` for a long decoded sound; None if it cannot be made."""
    if directory is None:
        return None
    try:
        directory.mkdir(parents=True, exist_ok=True)
        return tempfile.TemporaryFile(dir=directory)
    except OSError:
        return None


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
    if layout.rate == sample_rate:
        return _wav_frames(fd, layout, 0, layout.frames)
    out = np.empty(layout.frames * sample_rate // layout.rate, dtype=np.float32)
    start = 0
    for block in _wav_blocks(fd, layout, sample_rate):
        out[start : start + len(block)] = block
        start += len(block)
    return out


def _wav_blocks(fd: int, layout: WavLayout, sample_rate: int) -> Iterator[NDArray[np.float32]]:
    """The WAV data at `sample_rate`, a block at a time."""
    frames = layout.frames
    if layout.rate == sample_rate:
        for first in range(0, frames, _BLOCK):
            yield _wav_frames(fd, layout, first, min(_BLOCK, frames - first))
        return
    count = frames * sample_rate // layout.rate
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
        yield (left + (right - left) * fraction).astype(np.float32)


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


def _decode_ffmpeg(
    fd: int, info: SoundInfo, sample_rate: int, shown: str, spill: IO[bytes] | None
) -> bytes | SpilledSound:
    """ffmpeg's s16le output: the bytes, or written to `spill` (and closed) when given."""
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
        written = 0
        try:
            while written < limit:
                chunk = process.stdout.read(min(1 << 20, limit - written))
                if not chunk:
                    break
                written += len(chunk)
                if spill is None:
                    data += chunk
                else:
                    spill.write(chunk)
        finally:
            capped = written >= limit
            if capped:
                process.kill()
            process.stdout.close()
            code = process.wait()
        if code != 0 and not capped:
            errors.seek(0)
            detail = ffmpeg_detail(errors.read())
            name = FORMAT_NAMES[info.format]
            raise SoundFileError(f"sound file '{shown}' is not a readable {name} file{detail}")
    if spill is not None:
        spill.truncate(written // 2 * 2)
        return SpilledSound.from_file(spill)
    del data[len(data) // 2 * 2 :]
    return bytes(data)
