"""Speech workers: the engine runs in child processes, started on demand, at most one per core,
each line under a time limit, so that an engine that crashes or hangs fails that line only.

Workers are plain subprocesses, `python -m coach.speech_worker DRIVER`, speaking one JSON
object per line over their stdin and stdout (see that module). Not multiprocessing: its
`spawn` start re-imports the parent's `__main__` (the CLI) in every child and its `fork`
start breaks espeak-ng; `forkserver` adds a server and a resource tracker to clean up. A
subprocess is exec'd fresh (nothing of coach's process is inherited, espeak-ng included),
its pid is ours to kill, its exit status names the signal that ended it, and the end of a
pipe is how either side learns that the other is gone.

A line's time limit is kept by a timer that kills the worker; a worker left waiting for a
parent that died ends at the end of its stdin, and one stuck in the engine ends itself a
little after the line's limit (`speech_worker.SELF_LIMIT_GRACE`). Every worker still alive
when coach exits is killed (`atexit`), and `stop_all` kills them at once when a render is
abandoned (an error, Ctrl-C, a SIGTERM turned into an exception).

Engines that are programs of their own (festival's text2wave, flite, a command template) run
once a line through `run_command`, under the same limit, in a session of their own so that
`stop_all` and the limit kill whatever they started too.
"""

from __future__ import annotations

import atexit
import contextlib
import json
import os
import signal
import subprocess
import sys
import threading
from pathlib import Path
from typing import IO, Any

from coach.diagnostics import SpeechError

#: Seconds a new worker may take to import pyttsx3 and start the engine.
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


def worker_count() -> int:
    """The CPUs this process may run on: one worker for each."""
    counter = getattr(os, "process_cpu_count", None)  # Python 3.13
    if counter is not None:
        found: int | None = counter()
    elif hasattr(os, "sched_getaffinity"):
        found = len(os.sched_getaffinity(0))
    else:
        found = os.cpu_count()
    return max(1, found or 1)


class Worker:
    """One worker process; used by one thread at a time."""

    def __init__(self, driver: str) -> None:
        try:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "coach.speech_worker", driver],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=subprocess.DEVNULL,  # the worker answers through replies, not chatter
                cwd=_ROOT,
            )
        except OSError as exc:  # out of processes, memory or file descriptors
            raise WorkerFailed(f"could not be started ({exc.strerror or exc})") from exc
        self.generation = 0
        self._ended: str | None = None  # why coach ended it: "expired" or "stopped"
        self._lock = threading.Lock()

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
        stdin = self._pipe(self.proc.stdin)
        try:
            stdin.write(json.dumps(message).encode("utf-8") + b"\n")
            stdin.flush()
        except OSError:  # it died between two lines
            raise self._failure(limit) from None
        return self._receive(limit)

    def _receive(self, limit: float) -> dict[str, Any]:
        timer = threading.Timer(limit, self.end, ("expired",))
        timer.daemon = True
        timer.start()
        try:
            line = self._pipe(self.proc.stdout).readline()
        finally:
            timer.cancel()
        if not line.endswith(b"\n"):
            raise self._failure(limit)
        try:
            reply = json.loads(line)
        except ValueError:
            reply = None
        if not isinstance(reply, dict):
            self.end("stopped")
            raise WorkerFailed(f"answered nonsense: {line[:80]!r}")
        return reply

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

    @staticmethod
    def _pipe(pipe: IO[bytes] | None) -> IO[bytes]:
        assert pipe is not None  # both are PIPE
        return pipe


class WorkerPool:
    """Workers of one engine driver, started when a request finds none idle (up to `size`)."""

    def __init__(self, driver: str, size: int) -> None:
        self.driver = driver
        self.size = size
        self._idle: list[Worker] = []
        self._busy: set[Worker] = set()
        self._starting = 0
        self._generation = 0  # release and stop retire every worker of an older one
        self._cond = threading.Condition()

    def pids(self) -> list[int]:
        """The worker processes alive now (for tests and diagnostics)."""
        with self._cond:
            return [w.pid for w in [*self._idle, *self._busy] if w.proc.poll() is None]

    def request(self, message: dict[str, Any], limit: float) -> dict[str, Any]:
        """Send `message` to an idle worker and return its reply; WorkerFailed if the worker
        crashed or took longer than `limit` seconds (it is then gone, and so is its state)."""
        worker = self._checkout()
        answered = False
        try:
            reply = worker.request(message, limit)
            answered = True
            return reply
        finally:
            self._checkin(worker, answered)

    def _checkout(self) -> Worker:
        with self._cond:
            while not self._idle and len(self._busy) + self._starting >= self.size:
                self._cond.wait()
            if self._idle:
                worker = self._idle.pop()
                self._busy.add(worker)
                return worker
            self._starting += 1
            generation = self._generation
        try:
            worker = Worker(self.driver)
        finally:
            with self._cond:
                self._starting -= 1
        worker.generation = generation
        with self._cond:
            self._busy.add(worker)
            stopped = generation != self._generation
        if stopped:  # stop_all ran while it was being started
            worker.end("stopped")
        try:
            worker.handshake()
        except BaseException:
            self._checkin(worker, False)
            raise
        return worker

    def _checkin(self, worker: Worker, answered: bool) -> None:
        with self._cond:
            self._busy.discard(worker)
            keep = answered and worker.usable and worker.generation == self._generation
            if keep:
                self._idle.append(worker)
            self._cond.notify()
        if keep:
            return
        if answered and worker.usable:  # retired by release: it is idle, let it exit
            worker.close()
        else:  # it failed or was interrupted mid-line: whatever it is doing is unwanted
            worker.end("stopped")
            worker.proc.wait()
            worker.reap()

    def release(self) -> None:
        """Idle workers end now, busy ones when their line is done; new requests start new
        ones."""
        with self._cond:
            self._generation += 1
            idle, self._idle = self._idle, []
        for worker in idle:
            worker.close()

    def stop(self) -> None:
        """Kill every worker now; requests they were serving raise WorkerFailed."""
        with self._cond:
            self._generation += 1
            victims = [*self._idle, *self._busy]
            self._idle = []
        for worker in victims:
            worker.end("stopped")
        for worker in victims:
            with contextlib.suppress(subprocess.TimeoutExpired):
                worker.proc.wait(5.0)


_pools: dict[str, WorkerPool] = {}
_pools_lock = threading.Lock()


def pool(driver: str) -> WorkerPool:
    """The process's worker pool for an engine driver (made on first use; no worker yet)."""
    with _pools_lock:
        found = _pools.get(driver)
        if found is None:
            if not _pools:
                atexit.register(stop_all)
            found = _pools[driver] = WorkerPool(driver, worker_count())
        return found


def release_all() -> None:
    """Let every worker of this process end once its current line is done."""
    with _pools_lock:
        pools = list(_pools.values())
    for each in pools:
        each.release()


def stop_all() -> None:
    """Kill every worker and engine command of this process now."""
    with _pools_lock:
        pools = list(_pools.values())
        commands = list(_commands)
    for each in pools:
        each.stop()
    for proc in commands:
        _kill_group(proc)


_commands: set[subprocess.Popen[bytes]] = set()


def run_command(argv: list[str], text: bytes, limit: float) -> None:
    """Run an engine's command (no shell) with `text` on its stdin, as a worker is run: killed
    after `limit` seconds, or at once by `stop_all`. WorkerFailed says how it failed, with
    the end of what it printed on stderr."""
    try:
        proc = subprocess.Popen(
            argv,
            stdin=subprocess.PIPE,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            start_new_session=True,  # Ctrl-C is coach's to handle; it kills this
        )
    except OSError as exc:
        raise WorkerFailed(f"could not be started ({exc.strerror or exc})") from exc
    with _pools_lock:
        if not _pools and not _commands:
            atexit.register(stop_all)
        _commands.add(proc)
    try:
        try:
            _, errors = proc.communicate(text, timeout=limit)
        except subprocess.TimeoutExpired:
            _kill_group(proc)
            proc.communicate()
            raise WorkerFailed(f"took longer than its limit of {limit:g} s") from None
    finally:
        with _pools_lock:
            _commands.discard(proc)
    status = proc.returncode
    said = " ".join(errors.decode("utf-8", "replace").split())[-200:]
    said = f": {said}" if said else ""
    if status < 0:
        try:
            name = signal.Signals(-status).name
        except ValueError:
            name = str(-status)
        raise WorkerFailed(f"crashed (signal {name}){said}")
    if status != 0:
        raise WorkerFailed(f"failed (exit status {status}){said}")


def _kill_group(proc: subprocess.Popen[bytes]) -> None:
    """Kill an engine command and whatever it started (its own session's process group)."""
    killpg = getattr(os, "killpg", None)
    with contextlib.suppress(OSError):
        if killpg is not None:
            killpg(proc.pid, signal.SIGKILL)
        else:
            proc.kill()


def worker_pids() -> list[int]:
    """Every worker process (and engine command) of this process alive now."""
    with _pools_lock:
        pools = list(_pools.values())
        commands = [proc.pid for proc in _commands if proc.poll() is None]
    return [pid for each in pools for pid in each.pids()] + commands
