"""User sound files (wav, mp3, ogg, ...) decoded through pydub, and finding ffmpeg."""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from coach.diagnostics import CoachError, ExportError

FFMPEG_HINT = "Debian: sudo apt-get install ffmpeg"


class SoundFileError(CoachError):
    """A `sound:` file is missing or cannot be decoded."""


def load_sound_file(path: Path | str, sample_rate: int) -> NDArray[Any]:
    """Decode `path` to float32 mono samples in [-1, 1] at `sample_rate`."""
    path = Path(path)
    if not path.exists():
        raise SoundFileError(f"sound file not found: {path}")
    if not path.is_file():
        raise SoundFileError(f"sound file is not a regular file: {path}")
    AudioSegment = _audio_segment()
    try:
        segment = AudioSegment.from_file(str(path))
        segment = segment.set_channels(1).set_sample_width(2).set_frame_rate(sample_rate)
    except FileNotFoundError as exc:
        # pydub runs ffmpeg/ffprobe for anything but plain WAV; a missing binary lands here.
        raise SoundFileError(
            f"cannot decode sound file {path}: ffmpeg is needed for this format "
            f"({FFMPEG_HINT}) [{exc}]"
        ) from exc
    except Exception as exc:  # pydub raises a zoo of types for broken files
        detail = str(exc).strip().splitlines()[-1:] or [type(exc).__name__]
        raise SoundFileError(
            f"cannot decode sound file {path}: not a readable audio file ({detail[0]})"
        ) from exc
    samples = np.frombuffer(segment.raw_data, dtype="<i2")
    return (samples.astype(np.float32) / 32768.0).astype(np.float32)


def find_ffmpeg() -> str:
    """The ffmpeg executable to encode with; ExportError if it is not installed."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # pydub imports audioop
        from pydub.utils import which

    found: str | None = which("ffmpeg")
    if not found:
        raise ExportError(
            f"ffmpeg is not installed; it is needed to write MP3 and OGG ({FFMPEG_HINT}), "
            "or export with --format wav"
        )
    return found


def _audio_segment() -> Any:
    with warnings.catch_warnings():
        # pydub warns at import time when ffmpeg is missing (we report that ourselves) and
        # imports audioop, deprecated since Python 3.11.
        warnings.simplefilter("ignore", RuntimeWarning)
        warnings.simplefilter("ignore", DeprecationWarning)
        from pydub import AudioSegment
    return AudioSegment
