"""Clip format: the checksummed WAV a cached clip is stored as, reading an engine's WAV, and
the error of a clip cache that cannot be used."""

from __future__ import annotations

import hashlib
import struct
import wave
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from coach.diagnostics import CacheError as CacheError
from coach.diagnostics import SpeechError

_CHECKSUM_CHUNK = b"csum"
_RIFF = struct.Struct("<4sI4s")  # "RIFF", size of the rest, "WAVE"
_FMT = struct.Struct("<4sIHHIIHH")  # the whole fmt chunk
_CHUNK = struct.Struct("<4sI")  # a chunk header: id, size
_HEADER_SIZE = _RIFF.size + _FMT.size + _CHUNK.size  # 44: where the samples start
_TRAILER_SIZE = _CHUNK.size + 32  # checksum chunk: header, sha256


def encode_clip(samples: NDArray[Any], sample_rate: int, key: str) -> bytes:
    """A mono 16-bit PCM WAV of `samples` followed by a checksum chunk bound to `key`."""
    pcm = np.asarray(samples, dtype="<i2").tobytes()
    riff = _RIFF.pack(b"RIFF", _HEADER_SIZE - 8 + len(pcm) + _TRAILER_SIZE, b"WAVE")
    # PCM, mono, rate, byte rate, block align, bits per sample
    fmt = _FMT.pack(b"fmt ", 16, 1, 1, sample_rate, sample_rate * 2, 2, 16)
    data = _CHUNK.pack(b"data", len(pcm))
    digest = _digest(key, fmt + data, pcm)
    return riff + fmt + data + pcm + _CHUNK.pack(_CHECKSUM_CHUNK, 32) + digest


def decode_clip(data: bytes, key: str) -> tuple[NDArray[Any], int] | None:
    """Inverse of `encode_clip`; None unless every size, field and the checksum are right."""
    if len(data) < _HEADER_SIZE + _TRAILER_SIZE:
        return None
    riff, size, wave_id = _RIFF.unpack_from(data, 0)
    fmt_fields = _FMT.unpack_from(data, _RIFF.size)
    data_id, data_size = _CHUNK.unpack_from(data, _RIFF.size + _FMT.size)
    rate = fmt_fields[4]
    end = _HEADER_SIZE + data_size
    if (
        (riff, wave_id, data_id) != (b"RIFF", b"WAVE", b"data")
        or size != len(data) - 8
        or fmt_fields != (b"fmt ", 16, 1, 1, rate, rate * 2, 2, 16)
        or rate <= 0
        or data_size == 0
        or data_size % 2
        or end + _TRAILER_SIZE != len(data)
    ):
        return None
    if _CHUNK.unpack_from(data, end) != (_CHECKSUM_CHUNK, 32):
        return None
    pcm = data[_HEADER_SIZE:end]
    if _digest(key, data[_RIFF.size : _HEADER_SIZE], pcm) != data[end + _CHUNK.size :]:
        return None
    return np.frombuffer(pcm, dtype="<i2").astype(np.int16), rate


def _digest(key: str, fmt_and_data_header: bytes, pcm: bytes) -> bytes:
    h = hashlib.sha256(key.encode("ascii"))
    h.update(fmt_and_data_header)
    h.update(pcm)
    return h.digest()


def read_engine_wav(path: Path) -> tuple[NDArray[Any], int]:
    """An engine's PCM WAV as mono int16 samples and its rate.

    Mono 16-bit input (espeak-ng's format) is returned exactly as written; other widths are
    scaled to 16 bits and several channels are averaged.
    """
    try:
        with wave.open(str(path), "rb") as w:
            channels, width, rate = w.getnchannels(), w.getsampwidth(), w.getframerate()
            raw = w.readframes(w.getnframes())
    except (wave.Error, EOFError, OSError) as exc:
        raise SpeechError(f"the text-to-speech engine wrote an unreadable WAV: {exc}") from exc
    if width == 2:
        values = np.frombuffer(raw, dtype="<i2").astype(np.int32)
    elif width == 1:
        values = (np.frombuffer(raw, dtype=np.uint8).astype(np.int32) - 128) << 8
    elif width == 3:
        b = np.frombuffer(raw[: len(raw) // 3 * 3], dtype=np.uint8).reshape(-1, 3).astype(np.int32)
        values = ((b[:, 0] << 8) | (b[:, 1] << 16) | (b[:, 2] << 24)) >> 16
    elif width == 4:
        values = np.frombuffer(raw, dtype="<i4").astype(np.int64) >> 16
    else:
        raise SpeechError(f"the text-to-speech engine wrote {width * 8}-bit audio (unsupported)")
    if channels > 1:
        frames = len(values) // channels
        values = np.round(values[: frames * channels].reshape(frames, channels).mean(axis=1))
    samples = np.asarray(values).astype(np.int16)
    if len(samples) == 0 or rate <= 0:
        raise SpeechError("the text-to-speech engine wrote an empty clip")
    return samples, rate
