"""One speech worker process and how to speak to it (`WorkerKind`): a line sent, its reply read
under the line's time limit, the process killed when that runs out (coach.synthesis keeps the
pools of them)."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import tempfile
import threading
from pathlib import Path
from typing import IO, Any

from coach.deadlines import WATCHDOG
from coach.diagnostics import SpeechError

#: Seconds a new worker may take to start its engine (import pyttsx3, load flite, ...).
START_LIMIT = 60.0
# Where `python -m coach.speech_worker` finds this very coach package: its parent directory,
# made the worker's working directory (so also the first entry of its sys.path).
_ROOT = Path(__file__).resolve().parent.parent


class WorkerFailed(SpeechError):
    """A worker ended before it answered: `reason` says how ("crashed (signal SIGSEGV)",
    "took longer than its limit of 22 s", ...)."""

    def __init__(self, reason: str) -> None:
        super().__init__(f"the speech worker {reason}")
        self.reason = reason


class WorkerKind:
    """How to start one kind of worker and speak to it. This one runs `coach.speech_worker`
    with a pyttsx3 driver or `flite` (flite's library), one JSON object a line each way;
    festival's speaks Scheme (coach.festival_server). Workers of one kind are
    interchangeable: `key` names the pool."""

    #: In a session of its own, killed with its whole process group (a program that may start
    #: programs of its own, and that does not ignore Ctrl-C itself as speech_worker does).
    new_session = False
    #: Keep what the worker prints on stderr, to quote it when it reports an error.
    keeps_errors = False

    def __init__(self, driver: str) -> None:
        self.key = f"speech_worker {driver}"
        self.driver = driver

    def argv(self) -> list[str]:
        return [sys.executable, "-m", "coach.speech_worker", self.driver]

    def greeting(self) -> bytes:
        """What to send as soon as the worker starts (it answers with its handshake)."""
        return b""

    def encode(self, message: dict[str, Any]) -> bytes:
        return json.dumps(message).encode("utf-8") + b"\n"

    def decode(self, line: bytes) -> dict[str, Any] | None:
        """The reply in `line`; None if the line is no reply (read on); ValueError if it is
        nonsense."""
        reply = json.loads(line)
        if not isinstance(reply, dict):
            raise ValueError("not an object")
        return reply


class Worker:
    """One worker process; used by one thread at a time."""

    def __init__(self, kind: WorkerKind) -> None:
        self.kind = kind
        self._errors = tempfile.TemporaryFile() if kind.keeps_errors else None  # noqa: SIM115
        self._errors_seen = 0
        try:
            self.proc = subprocess.Popen(
                kind.argv(),
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                # the worker answers through replies, not chatter
                stderr=self._errors if self._errors is not None else subprocess.DEVNULL,
                cwd=_ROOT,
                start_new_session=kind.new_session,
            )
        except OSError as exc:  # out of processes, memory or file descriptors
            self._close_errors()
            raise WorkerFailed(f"could not be started ({exc.strerror or exc})") from exc
        self.generation = 0
        self._ended: str | None = None  # why coach ended it: "expired" or "stopped"
        self._lock = threading.Lock()
        greeting = kind.greeting()
        if greeting:
            # A worker that died at once shows in its handshake.
            with contextlib.suppress(OSError):
                self._send(greeting)

    @property
    def pid(self) -> int:
        return self.proc.pid

    @property
    def usable(self) -> bool:
        return self._ended is None and self.proc.poll() is None

    def handshake(self) -> None:
        hello = self._receive(START_LIMIT)
        if "error" in hello:
            self.close()
            raise SpeechError(str(hello["error"]))

    def request(self, message: dict[str, Any], limit: float) -> dict[str, Any]:
        try:
            self._send(self.kind.encode(message))
        except OSError:  # it died between two lines
            raise self._failure(limit) from None
        reply = self._receive(limit)
        if "error" in reply:
            said = self._said()
            if said:
                reply["error"] = f"{reply['error']}: {said}"
        return reply

    def _send(self, data: bytes) -> None:
        stdin = self._pipe(self.proc.stdin)
        stdin.write(data)
        stdin.flush()

    def _receive(self, limit: float) -> dict[str, Any]:
        ticket = WATCHDOG.arm(limit, lambda: self.end("expired"))
        try:
            while True:
                line = self._pipe(self.proc.stdout).readline()
                if not line.endswith(b"\n"):
                    raise self._failure(limit)
                try:
                    reply = self.kind.decode(line)
                except ValueError:
                    self.end("stopped")
                    raise WorkerFailed(f"answered nonsense: {line[:80]!r}") from None
                if reply is not None:
                    return reply
        finally:
            WATCHDOG.disarm(ticket)

    def _said(self) -> str:
        """The end of what the worker printed on stderr since this was last asked."""
        if self._errors is None:
            return ""
        with contextlib.suppress(OSError):
            self._errors.seek(self._errors_seen)
            new = self._errors.read()
            self._errors_seen += len(new)
            return " ".join(new.decode("utf-8", "replace").split())[-200:]
        return ""

    def _failure(self, limit: float) -> WorkerFailed:
        try:
            status = self.proc.wait(5.0)
        except subprocess.TimeoutExpired:  # closed its stdout yet lives on
            self.end("stopped")
            status = self.proc.wait()
        if self._ended == "expired":
            return WorkerFailed(f"took longer than its limit of {limit:g} s")
        if self._ended == "stopped":
            return WorkerFailed("was stopped")
        if status < 0:
            with contextlib.suppress(ValueError):
                return WorkerFailed(f"crashed (signal {signal.Signals(-status).name})")
            return WorkerFailed(f"crashed (signal {-status})")
        return WorkerFailed(f"exited unexpectedly (status {status})")

    def end(self, why: str) -> None:
        """Kill the worker now; whoever waits for its answer gets a WorkerFailed saying why."""
        with self._lock:
            if self._ended is None:
                self._ended = why
            if self.proc.returncode is not None:
                return  # reaped already: its pid may be another process's by now
            if self.kind.new_session:
                kill_group(self.proc)
            else:
                with contextlib.suppress(OSError):
                    self.proc.kill()

    def close(self) -> None:
        """End an idle worker: the end of its stdin is its signal to exit."""
        with contextlib.suppress(OSError):
            self._pipe(self.proc.stdin).close()
        try:
            self.proc.wait(2.0)
        except subprocess.TimeoutExpired:
            self.end("stopped")
            self.proc.wait()
        self.reap()

    def reap(self) -> None:
        for pipe in (self.proc.stdin, self.proc.stdout):
            with contextlib.suppress(OSError):
                if pipe is not None:
                    pipe.close()
        self._close_errors()

    def _close_errors(self) -> None:
        if self._errors is not None:
            with contextlib.suppress(OSError):
                self._errors.close()

    @staticmethod
    def _pipe(pipe: IO[bytes] | None) -> IO[bytes]:
        assert pipe is not None  # both are PIPE
        return pipe


def kill_group(proc: subprocess.Popen[bytes]) -> None:
    """Kill a process started in a session of its own, and whatever it started (its process
    group)."""
    killpg = getattr(os, "killpg", None)
    with contextlib.suppress(OSError):
        if killpg is not None:
            killpg(proc.pid, signal.SIGKILL)
        else:
            proc.kill()
