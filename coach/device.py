"""Sink adapter: the audio device through sounddevice (PortAudio), one output stream a session."""

from __future__ import annotations

import contextlib
import os
import sys
import tempfile
import threading
from collections.abc import Callable
from typing import Any, Protocol

import numpy as np
from numpy.typing import NDArray

from coach.diagnostics import AudioDeviceError

#: Fill an int16 buffer, shaped (frames,) for one channel or (frames, channels) for more;
#: False once the session is over.
Fill = Callable[[NDArray[Any]], bool]


class OutputStream(Protocol):
    """An open output device: int16 at one rate and channel count, pulling audio through
    `fill`."""

    latency: float  # seconds from a sample being filled to it being heard
    channels: int  # 1: mono; 2: stereo, interleaved left, right

    def play(self, fill: Fill, finished: Callable[[], None]) -> None:
        """Start pulling buffers from `fill`; `finished` is called once the stream ends
        (the session played out, a fill raised, or the device failed)."""
        ...

    def failure(self) -> BaseException | None:
        """What ended the stream early: the device's error, or what `fill` raised."""
        ...

    def close(self) -> None:
        """Stop at once and release the device (safe to call twice)."""
        ...


def open_output(sample_rate: int, channels: int = 1) -> OutputStream:
    """Open the default audio device for a session: the one factory for live sinks.
    `channels` is the session's (`Timeline.channels`): 2 for a routine that uses `side:`."""
    return SounddeviceStream(sample_rate, channels)


class SounddeviceStream:
    """One PortAudio output stream, opened once; its callback pulls the session."""

    def __init__(self, sample_rate: int, channels: int = 1) -> None:
        # PortAudio and libasound print to fd 2 while probing devices and when a device
        # fails; for the stream's life that goes aside, and what they said goes into the
        # one error instead.
        self._chatter = NativeChatter()
        try:
            self._stream = self._open(sample_rate, channels)
        except BaseException:
            self._chatter.close()
            raise
        self.latency = float(self._stream.latency)
        self.channels = channels
        self._fill: Fill | None = None
        self._on_finished: Callable[[], None] | None = None
        self._failure: BaseException | None = None
        self._completed = False  # fill said the session is over
        self._ended = False  # the stream has stopped, for whatever reason
        self._closed = False
        self._lock = threading.Lock()

    def _open(self, sample_rate: int, channels: int) -> Any:
        try:
            import sounddevice
        except (ImportError, OSError) as exc:  # not installed, or no libportaudio2
            raise AudioDeviceError(
                "Live playback needs the sounddevice package and the PortAudio library "
                f"(Debian: libportaudio2), which cannot be loaded ({_first_line(exc)})"
            ) from exc
        self._sd: Any = sounddevice
        try:
            return sounddevice.RawOutputStream(
                samplerate=sample_rate,
                channels=channels,
                dtype="int16",
                callback=self._callback,
                finished_callback=self._finished,
            )
        except Exception as exc:  # PortAudioError, or ValueError: no default device
            detail = _first_line(exc)
            if "querying device -1" in detail:  # PortAudio's words for "no default device"
                detail = "no sound card was found"
            detail += self._chatter.last_said("; ALSA: ")
            raise AudioDeviceError(f"No audio device could be opened ({detail})") from exc

    def play(self, fill: Fill, finished: Callable[[], None]) -> None:
        self._fill, self._on_finished = fill, finished
        try:
            self._stream.start()
        except Exception as exc:
            detail = _first_line(exc)
            raise AudioDeviceError(f"The audio device could not start ({detail})") from exc

    def failure(self) -> BaseException | None:
        if self._failure is None and self._ended and not self._completed:
            said = self._chatter.last_said(": ")
            return AudioDeviceError(f"The audio device failed during playback{said}")
        return self._failure

    def close(self) -> None:
        with self._lock:
            if self._closed:
                return
            self._closed = True
        with contextlib.suppress(Exception):
            self._stream.abort()
        with contextlib.suppress(Exception):
            self._stream.close()
        self._chatter.close()

    def _callback(self, outdata: Any, frames: int, time: Any, status: Any) -> None:
        samples: NDArray[Any] = np.frombuffer(outdata, dtype=np.int16)
        if self.channels > 1:  # PortAudio's buffer is interleaved: a row per frame
            samples = samples.reshape(-1, self.channels)
        fill = self._fill
        try:
            more = fill(samples) if fill is not None else True
        except BaseException as exc:  # never let an error kill the audio thread unseen
            self._failure = exc
            samples[:] = 0
            raise self._sd.CallbackAbort from None
        if not more:
            self._completed = True
            raise self._sd.CallbackStop

    def _finished(self) -> None:
        self._ended = True
        if self._on_finished is not None:
            self._on_finished()


class NativeChatter:
    """While open, file descriptor 2, where C libraries print, goes to a temporary file,
    and Python's `sys.stderr` writes on to the real stderr through a duplicate, so coach's
    own messages and status line are unaffected. `close()` restores both and passes on
    what the libraries printed, apart from their routine lines about devices."""

    CHATTER = ("ALSA lib ", "Expression '", "PaAlsa", "Cannot connect to server")

    def __init__(self) -> None:
        self._saved: int | None = None
        self._python_stderr = sys.stderr
        try:
            sys.stderr.flush()
            saved = os.dup(2)
        except (OSError, AttributeError, ValueError):  # no stderr at all: nothing to hide
            return
        self._file = tempfile.TemporaryFile()  # noqa: SIM115 - closed in close()
        encoding = getattr(sys.stderr, "encoding", None) or "utf-8"
        sys.stderr = open(  # noqa: SIM115 - closed in close()
            os.dup(saved), "w", buffering=1, encoding=encoding, errors="backslashreplace"
        )
        os.dup2(self._file.fileno(), 2)
        self._saved = saved

    def lines(self) -> list[str]:
        """What the libraries have printed so far."""
        if self._saved is None:
            return []
        self._file.seek(0)
        return self._file.read().decode("utf-8", "replace").splitlines()

    def last_said(self, prefix: str) -> str:
        """The last thing libasound said, without its source location, after `prefix`;
        empty if nothing."""
        said = [line for line in self.lines() if line.startswith("ALSA lib ")]
        return prefix + said[-1].split(") ", 1)[-1].strip() if said else ""

    def close(self) -> None:
        if self._saved is None:
            return
        printed = self.lines()
        saved, self._saved = self._saved, None
        ours = sys.stderr
        with contextlib.suppress(Exception):
            ours.flush()
        sys.stderr = self._python_stderr
        os.dup2(saved, 2)
        os.close(saved)
        with contextlib.suppress(Exception):
            ours.close()
        self._file.close()
        for line in printed:
            if line.strip() and not line.startswith(self.CHATTER):
                print(line, file=sys.stderr)


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__
