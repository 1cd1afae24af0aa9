"""Speech workers: the engine runs in child processes, started on demand, at most one per core,
each line under a time limit, so that an engine that crashes or hangs fails that line only.

A worker is a long-lived process that says line after line, so a line costs no process start:
`python -m coach.speech_worker DRIVER` for pyttsx3 and for flite's library (one JSON object a
line each way, see that module), or festival itself reading Scheme on its stdin
(coach.festival_server). Which program and how to speak to it is a `WorkerKind`. Not
multiprocessing: its `spawn` start re-imports the parent's `__main__` (the CLI) in every child
and its `fork` start breaks espeak-ng; `forkserver` adds a server and a resource tracker to
clean up. A subprocess is exec'd fresh (nothing of coach's process is inherited, espeak-ng
included), its pid is ours to kill, its exit status names the signal that ended it, and the end
of a pipe is how either side learns that the other is gone.

A line's time limit is kept by the watchdog (coach.deadlines), which kills the worker; a worker
left waiting for a parent that died ends at the end of its stdin, and a speech_worker stuck
in the engine ends itself a little after the line's limit (`speech_worker.SELF_LIMIT_GRACE`).
Every worker still alive when coach exits is killed (`atexit`), and `stop_all` kills them at
once when a render is abandoned (an error, Ctrl-C, a SIGTERM turned into an exception).

Engines that are programs run once a line (a command template; flite for a voice it has no
library for) run through `run_command`, under the same limit, in a session of their own so
that `stop_all` and the limit kill whatever they started too.
"""

from __future__ import annotations

import atexit
import contextlib
import os
import signal
import subprocess
import threading
from typing import Any

from coach.worker import START_LIMIT, Worker, WorkerFailed, WorkerKind, kill_group

__all__ = ["START_LIMIT", "Worker", "WorkerFailed", "WorkerKind", "WorkerPool", "pool"]
__all__ += ["release_all", "run_command", "stop_all", "worker_count", "worker_pids"]


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


class WorkerPool:
    """Workers of one kind, started when a request finds none idle (up to `size`)."""

    def __init__(self, kind: WorkerKind, size: int) -> None:
        self.kind = kind
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
            while True:
                # One that died while idle (killed from outside, out of memory) is no line's
                # failure: it is left for a new one.
                while self._idle and not self._idle[-1].usable:
                    dead = self._idle.pop()
                    dead.end("stopped")
                    dead.reap()
                if self._idle or len(self._busy) + self._starting < self.size:
                    break
                self._cond.wait()
            if self._idle:
                worker = self._idle.pop()
                self._busy.add(worker)
                return worker
            self._starting += 1
            generation = self._generation
        try:
            worker = Worker(self.kind)
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


def pool(kind: WorkerKind | str) -> WorkerPool:
    """The process's worker pool for a kind of worker, or for a pyttsx3 driver by its name
    (made on first use; no worker yet)."""
    if isinstance(kind, str):
        kind = WorkerKind(kind)
    with _pools_lock:
        found = _pools.get(kind.key)
        if found is None:
            if not _pools and not _commands:
                atexit.register(stop_all)
            found = _pools[kind.key] = WorkerPool(kind, worker_count())
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
        kill_group(proc)


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
            kill_group(proc)
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


def worker_pids() -> list[int]:
    """Every worker process (and engine command) of this process alive now."""
    with _pools_lock:
        pools = list(_pools.values())
        commands = [proc.pid for proc in _commands if proc.poll() is None]
    return [pid for each in pools for pid in each.pids()] + commands
