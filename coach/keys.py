"""Single keypresses from the terminal, without Enter, read on a background thread."""

from __future__ import annotations

import contextlib
import os
import select
import signal
import sys
import threading
from collections.abc import Callable
from types import FrameType
from typing import Any, TextIO

from coach.commands import ARROWS, BY_KEY

try:  # POSIX only; elsewhere there are simply no keys
    import termios
except ImportError:  # pragma: no cover - Windows
    termios = None  # type: ignore[assignment]

POLL_SECONDS = 0.1  # how often the reader looks whether it should stop

# What each key means (coach.commands holds the player's; letters in either case), and the
# two that only the terminal has.
KEYS = {
    **BY_KEY,
    "?": "help",
    "h": "help",
    "\x03": "quit",  # Ctrl-C as a byte only arrives if signals are off; it still quits
}


def decode(data: bytes) -> list[str]:
    """The commands in a burst of bytes read from the terminal; unknown keys are dropped.

    The arrow keys arrive as escape sequences (ESC [ C, or ESC [ 1 ; 5 C with Ctrl):
    right is `next` and left is `back`, as coach.commands.ARROWS says and the help lists.
    """
    text = data.decode("latin-1")
    found: list[str] = []
    i = 0
    while i < len(text):
        char = text[i]
        if char == "\x1b":
            if i + 1 < len(text) and text[i + 1] in "[O":  # ESC [ 1 ; 5 C and the like
                j = i + 2
                while j < len(text) and (text[j].isdigit() or text[j] == ";"):
                    j += 1
                if j < len(text) and text[j] in ARROWS:
                    found.append(ARROWS[text[j]])
                i = j + 1
            else:
                i += 2  # ESC alone, or Alt+key: ignored
            continue
        name = KEYS.get(char.lower())
        if name:
            found.append(name)
        i += 1
    return found


def is_terminal(stream: TextIO | None) -> bool:
    """Whether `stream` is an open terminal (False for None, a pipe, a file, a closed one)."""
    try:
        return stream is not None and stream.isatty()
    except (ValueError, OSError):  # closed
        return False


def _in_foreground(fd: int) -> bool:
    """Whether this process may use the terminal: it is in the terminal's foreground process
    group (from the background, reading or setting it would stop us), or the terminal is
    not our controlling terminal at all (then job control does not apply)."""
    try:
        return os.tcgetpgrp(fd) == os.getpgrp()
    except OSError:  # ENOTTY: a terminal, but not the controlling one
        return True


def keys_supported(stream: TextIO | None = None) -> bool:
    """Whether keys can be read from `stream` (default stdin): a terminal, on POSIX, with
    this process in the foreground."""
    stream = sys.stdin if stream is None else stream
    if termios is None or not is_terminal(stream):
        return False
    assert stream is not None
    return _in_foreground(stream.fileno())


class KeyReader:
    """Reads keys from a terminal and calls `on_key(command)` for each one (from a thread).

    As a context manager it puts the terminal in cbreak mode (no echo, no line editing,
    signals kept so Ctrl-C still interrupts) and always restores the exact settings on
    leaving, whatever ends the block. While it is active, Ctrl-Z restores the terminal
    before the process stops and sets cbreak mode again when it continues, and SIGTERM
    ends the process through SystemExit so that the settings are restored too.
    """

    def __init__(self, on_key: Callable[[str], None], stream: TextIO | None = None) -> None:
        self.on_key = on_key
        self.stream = sys.stdin if stream is None else stream
        self.fd = self.stream.fileno()
        self._saved: list[Any] | None = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._handlers: dict[int, Any] = {}

    def __enter__(self) -> KeyReader:
        if termios is None:  # pragma: no cover - Windows
            raise OSError("keys need a POSIX terminal")
        try:
            self._saved = termios.tcgetattr(self.fd)
        except termios.error as error:
            raise OSError(f"cannot read the terminal's settings: {error}") from error
        try:
            try:
                self._cbreak()
            except termios.error as error:
                raise OSError(f"cannot set the terminal's mode: {error}") from error
            self._install_handlers()
            self._thread = threading.Thread(target=self._read, name="coach-keys", daemon=True)
            self._thread.start()
        except BaseException:
            self._leave()
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        self._leave()

    def _leave(self) -> None:
        self._stop.set()
        try:
            if self._thread is not None and self._thread is not threading.current_thread():
                self._thread.join(timeout=1.0)
        finally:
            self._remove_handlers()
            self._restore()

    def _cbreak(self) -> None:
        assert termios is not None and self._saved is not None
        mode = termios.tcgetattr(self.fd)
        mode[3] &= ~(termios.ECHO | termios.ICANON)  # lflag; ISIG stays: Ctrl-C works
        mode[6] = list(mode[6])
        mode[6][termios.VMIN] = 1
        mode[6][termios.VTIME] = 0
        termios.tcsetattr(self.fd, termios.TCSANOW, mode)

    def _restore(self) -> None:
        if termios is None or self._saved is None:
            return
        with contextlib.suppress(termios.error, OSError):
            # TCSAFLUSH: keys pressed but not read do not spill into the shell afterwards.
            termios.tcsetattr(self.fd, termios.TCSAFLUSH, self._saved)

    def _install_handlers(self) -> None:
        if threading.current_thread() is not threading.main_thread():
            return  # signal handlers can only be set from the main thread
        wanted = {signal.SIGTERM: self._terminate}
        if hasattr(signal, "SIGTSTP"):
            wanted[signal.SIGTSTP] = self._suspend
        for number, handler in wanted.items():
            with contextlib.suppress(OSError, ValueError):
                previous = signal.getsignal(number)
                if number == signal.SIGTERM and previous is not signal.SIG_DFL:
                    continue  # someone else handles SIGTERM: leave it to them
                self._handlers[number] = signal.signal(number, handler)

    def _remove_handlers(self) -> None:
        for number, previous in self._handlers.items():
            with contextlib.suppress(OSError, ValueError, TypeError):
                signal.signal(number, previous)
        self._handlers.clear()

    def _terminate(self, signum: int, frame: FrameType | None) -> None:
        raise SystemExit(128 + signum)

    def _suspend(self, signum: int, frame: FrameType | None) -> None:
        """Ctrl-Z: give the shell its terminal settings back, stop, and on `fg` go on."""
        self._restore()
        signal.signal(signal.SIGTSTP, signal.SIG_DFL)
        os.kill(os.getpid(), signal.SIGTSTP)  # stops here until SIGCONT
        signal.signal(signal.SIGTSTP, self._suspend)
        if _in_foreground(self.fd):
            with contextlib.suppress(OSError, Exception):
                self._cbreak()

    def _read(self) -> None:
        while not self._stop.is_set():
            try:
                ready, _, _ = select.select([self.fd], [], [], POLL_SECONDS)
            except (OSError, ValueError):  # stdin closed under us
                return
            if not ready or self._stop.is_set():
                continue
            if not _in_foreground(self.fd):  # reading now would stop the process (SIGTTIN)
                self._stop.wait(POLL_SECONDS)
                continue
            try:
                data = os.read(self.fd, 64)
            except OSError:  # the terminal hung up
                return
            if not data:  # end of input
                return
            for command in decode(data):
                with contextlib.suppress(Exception):  # a bad handler must not kill the keys
                    self.on_key(command)
