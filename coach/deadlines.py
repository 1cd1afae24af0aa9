"""Time limits without a thread each: one watchdog thread runs whatever action a limit set for
when it runs out (the speech workers' way to kill a worker stuck in a line)."""

from __future__ import annotations

import contextlib
import itertools
import threading
import time
from collections.abc import Callable


class Watchdog:
    """Runs each armed action once its seconds have passed, unless it was disarmed first.

    A `threading.Timer` a line cost a thread start, and `Thread.start` waits until the new
    thread has run, which means waiting for the GIL: with coach's other threads busy preparing
    clips, often a whole switch interval (5 ms), longer than espeak-ng takes to say a line.
    Here arming and disarming only take a lock; the thread (a daemon, made on first use) wakes
    when the earliest limit it knew of is up, or when one earlier than that is armed.
    """

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._armed: dict[int, tuple[float, Callable[[], object]]] = {}
        self._tickets = itertools.count()
        self._thread: threading.Thread | None = None
        # When the thread next wakes by itself (None: only when notified). A limit armed
        # after that wakes it; line after line, each limit is later, so none does.
        self._wake_at: float | None = None

    def arm(self, seconds: float, action: Callable[[], object]) -> int:
        """Run `action` (in the watchdog's thread) `seconds` from now; a ticket for `disarm`."""
        due = time.monotonic() + seconds
        with self._cond:
            ticket = next(self._tickets)
            self._armed[ticket] = (due, action)
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(
                    target=self._run, name="coach-watchdog", daemon=True
                )
                self._thread.start()
            elif self._wake_at is None or due < self._wake_at:
                self._cond.notify()
            return ticket

    def disarm(self, ticket: int) -> None:
        """The action of `ticket` will not run (if it has not already)."""
        with self._cond:
            self._armed.pop(ticket, None)

    def _run(self) -> None:
        while True:
            with self._cond:
                while True:
                    now = time.monotonic()
                    due = [(d, t) for t, (d, _) in self._armed.items() if d <= now]
                    if due:
                        break
                    self._wake_at = min((d for d, _ in self._armed.values()), default=None)
                    self._cond.wait(None if self._wake_at is None else self._wake_at - now)
                    self._wake_at = None
                actions = [self._armed.pop(t)[1] for _, t in sorted(due)]
            for action in actions:  # outside the lock: an action may take a while
                with contextlib.suppress(Exception):  # one failing must not end the watchdog
                    action()


#: The process's watchdog.
WATCHDOG = Watchdog()
