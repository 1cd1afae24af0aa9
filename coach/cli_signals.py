"""Ctrl-C, SIGTERM and SIGHUP stop a command the same way: the cleanup that KeyboardInterrupt
runs (temporary files removed, ffmpeg killed, the terminal restored), then 128 + the signal's
number as the exit status."""

from __future__ import annotations

import signal
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from types import FrameType
from typing import Any

import click

SIGPIPE = 13  # Linux and macOS; signal.SIGPIPE does not exist on Windows


class Terminated(KeyboardInterrupt):
    """SIGTERM or SIGHUP, raised where Ctrl-C raises KeyboardInterrupt, so that the same
    cleanup runs: temporary files removed, ffmpeg killed, the terminal restored."""

    def __init__(self, signum: int) -> None:
        super().__init__(signum)
        self.signum = signum


@contextmanager
def stop_signals() -> Iterator[None]:
    """While the block runs, SIGTERM and SIGHUP raise `Terminated` in the main thread. The
    first one only: later ones are ignored so that its cleanup can finish. A signal that
    was ignored already (`nohup`) stays ignored."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    fired = False

    def handler(signum: int, frame: FrameType | None) -> None:
        nonlocal fired
        if not fired:
            fired = True
            raise Terminated(signum)

    previous: dict[int, Any] = {}
    for name in ("SIGTERM", "SIGHUP"):
        number = getattr(signal, name, None)
        if number is not None and signal.getsignal(number) is not signal.SIG_IGN:
            previous[number] = signal.signal(number, handler)
    try:
        yield
    finally:
        for number, old in previous.items():
            signal.signal(number, old)


def stopped(interrupt: KeyboardInterrupt) -> None:
    """Say how a command was stopped and exit with 128 + the signal's number (130 for
    Ctrl-C). The terminal may be gone (SIGHUP): then there is no one to tell."""
    signum = interrupt.signum if isinstance(interrupt, Terminated) else signal.SIGINT
    message = (
        "\nStopped." if signum == signal.SIGINT else f"Stopped by {signal.Signals(signum).name}."
    )
    with suppress(OSError, ValueError):
        click.echo(message, err=True)
    sys.exit(128 + signum)
