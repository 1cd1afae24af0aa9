"""Speech worker program (`python -m coach.speech_worker DRIVER`): the pyttsx3 adapter, or
flite's library for DRIVER `flite` (coach.flite_library), run only here, in a process of its
own, so that nothing the engine does can take coach down.

Protocol, one JSON object per line: the worker first writes {"ready": true, "pid": N} (or
{"error": MESSAGE} and exits); then, for each request read from stdin, one reply on the
original stdout: {"op": "say", "text", "voice", "rate", "pitch", "path", "limit"} -> {"ok":
true} (for flite: "stretch" and "f0" in place of "rate" and "pitch"); {"op": "voices"} ->
{"voices": [[id, name, [language, ...]], ...]}; a failure the engine reports -> {"error":
MESSAGE}. End of stdin ends the worker. File descriptor 1 is pointed at /dev/null first:
pyttsx3 prints "Audio saved to ...", flite its warnings, and neither may corrupt replies.
"""

from __future__ import annotations

import contextlib
import faulthandler
import io
import json
import os
import signal
import sys
import threading
import time
from pathlib import Path
from typing import IO, Any

from coach.diagnostics import SpeechError
from coach.espeak import INSTALL_HINT
from coach.flite_library import FliteBackend

DEFAULT_PITCH = 50  # espeak-ng's own default
#: Test hook: "KIND:TEXT" makes a worker asked to say exactly TEXT die of signal KIND
#: ("segv", "abrt", "kill": SIGSEGV, ...) or hang ("hang"), the way a broken engine would.
FAULT_ENV = "COACH_SPEECH_WORKER_FAULT"
#: A worker whose parent stopped waiting ends itself this long after a line's own limit.
SELF_LIMIT_GRACE = 10.0


class _Interrupted(SpeechError):
    """pyttsx3 cancelled a clip (a stale stop request); trying again normally succeeds."""


class _UntilFinished:
    """Stands in for the `time` module in pyttsx3's espeak driver, whose only use of it is the
    run loop's `time.sleep`: sleeping ends early when the clip is finished."""

    def __init__(self, finished: threading.Event) -> None:
        self._finished = finished

    def sleep(self, seconds: float) -> None:
        self._finished.wait(seconds)


class Backend:
    """One live pyttsx3 engine (init is slow and espeak-ng can only be initialised once per
    process), with the event plumbing needed to know when a clip is really finished."""

    def __init__(self, driver: str) -> None:
        try:
            import pyttsx3
        except ImportError as exc:
            raise SpeechError(
                f"the text-to-speech package pyttsx3 is not installed ({exc}); "
                "install it with: pip install pyttsx3"
            ) from exc
        try:
            with contextlib.redirect_stdout(io.StringIO()):
                self.engine: Any = pyttsx3.init(driver)
            self.default_voice: str | None = self.engine.getProperty("voice")
        except Exception as exc:  # missing library, broken driver, ...
            hint = INSTALL_HINT if driver == "espeak" else "check your system's speech engine"
            raise SpeechError(
                f"the text-to-speech engine (pyttsx3, driver {driver!r}) could not start: "
                f"{exc}; {hint}"
            ) from exc
        self.pid = os.getpid()
        self.finished = threading.Event()
        self.completed = False
        self.errors: list[BaseException] = []
        self.engine.connect("finished-utterance", self._on_finished)
        self.engine.connect("error", self._on_error)
        self._espeak: Any = None
        if driver == "espeak":
            from pyttsx3.drivers import _espeak
            from pyttsx3.drivers import espeak as espeak_driver

            self._espeak = _espeak
            # The driver's run loop sleeps 10 ms a turn (`time.sleep(0.01)`) until espeak-ng's
            # callback ends it, so every clip took at least 10 ms though most take 3-5: its
            # sleep becomes a wait for that very callback (our finished-utterance handler),
            # still at most 10 ms a turn, so the loop runs exactly as before, only without
            # waiting once the clip is done.
            espeak_driver.time = _UntilFinished(self.finished)
        # A new pyttsx3 engine queues property changes until its first run loop; one empty
        # loop (once espeak-ng has applied the driver's initial settings) makes later changes
        # apply at once.
        self.wait_idle(10.0)
        with contextlib.redirect_stdout(io.StringIO()):
            self.engine.runAndWait()

    def _on_finished(self, completed: bool = True, **_: object) -> None:
        self.completed = bool(completed)
        self.finished.set()

    def _on_error(self, exception: BaseException | None = None, **_: object) -> None:
        self.errors.append(exception if exception is not None else RuntimeError("unknown error"))

    def voices(self) -> list[list[Any]]:
        found: list[list[Any]] = []
        for v in self.engine.getProperty("voices"):
            languages = [
                lang.decode("utf-8", "replace") if isinstance(lang, bytes) else str(lang)
                for lang in (getattr(v, "languages", None) or ())
            ]
            found.append([str(v.id), str(v.name or v.id), languages])
        return found

    def wait_idle(self, timeout: float) -> None:
        """Block until espeak-ng's worker thread has no command running.

        pyttsx3's espeak driver runs espeak-ng asynchronously: `runAndWait` can return before a
        long clip is written, and `runAndWait` cancels espeak-ng if it is still busy, which
        silently drops a just-queued rate change. Waiting for idle around each clip avoids both.
        """
        if self._espeak is None:
            return
        deadline = time.monotonic() + timeout
        while self._espeak.IsPlaying():
            if time.monotonic() > deadline:
                raise SpeechError("the text-to-speech engine did not finish (timed out)")
            time.sleep(0.0002)  # a few commands: idle within a fraction of a ms

    def render(
        self, text: str, voice: str | None, rate: int, pitch: int | None, path: Path, timeout: float
    ) -> None:
        if os.getpid() != self.pid:  # espeak-ng's threads do not survive fork
            raise SpeechError("the text-to-speech engine cannot be used after fork")
        self.finished.clear()
        self.completed = False
        self.errors.clear()
        # pyttsx3's espeak driver prints "Audio saved to ..." with print() from espeak-ng's
        # worker thread; redirecting sys.stdout until the clip is finished swallows it.
        with contextlib.redirect_stdout(io.StringIO()):
            self.wait_idle(timeout)
            self.engine.setProperty("voice", voice if voice is not None else self.default_voice)
            self.engine.setProperty("rate", rate)
            self.engine.setProperty("volume", 1.0)
            self.engine.setProperty("pitch", DEFAULT_PITCH if pitch is None else pitch)
            self.wait_idle(timeout)
            # One save_to_file per runAndWait: queued saves keep only the last one.
            self.engine.save_to_file(text, str(path))
            self.engine.runAndWait()
            if self._espeak is None and path.exists():
                pass  # the other drivers save synchronously
            elif not self.finished.wait(timeout):
                with contextlib.suppress(Exception):
                    self.engine.stop()
                raise SpeechError(f"the text-to-speech engine timed out saying {text!r}")
            elif not self.completed:
                raise _Interrupted(f"the text-to-speech engine was interrupted saying {text!r}")
            # The clip is complete once finished (the driver writes it first); espeak-ng going
            # idle after that is waited for before the next clip's settings, not here.
        if self.errors:
            raise SpeechError(f"the text-to-speech engine failed saying {text!r}: {self.errors[0]}")

    def say(self, request: dict[str, Any]) -> None:
        text, limit = str(request["text"]), float(request["limit"])
        args = (text, request["voice"], int(request["rate"]), request["pitch"])
        try:
            self.render(*args, Path(request["path"]), limit)
        except _Interrupted:
            self.render(*args, Path(request["path"]), limit)


def _inject_fault(text: str) -> None:
    kind, _, target = os.environ.get(FAULT_ENV, "").partition(":")
    if not target or text != target:
        return
    if kind == "hang":
        time.sleep(24 * 3600)
    with contextlib.suppress(ImportError, OSError, ValueError):
        import resource  # no core file from a crash made on purpose

        resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    os.kill(os.getpid(), getattr(signal, f"SIG{kind.upper()}"))


def _say(backend: Backend | FliteBackend, request: dict[str, Any]) -> dict[str, Any]:
    _inject_fault(str(request["text"]))
    backend.say(request)
    return {"ok": True}


def _serve(backend: Backend | FliteBackend, requests: IO[bytes], send: Any, quiet: IO[str]) -> None:
    for raw in iter(requests.readline, b""):
        request = json.loads(raw)
        # Should coach be gone without closing our stdin, a hung engine still ends this
        # process: faulthandler's watchdog is a C thread and needs no Python to run.
        limit = float(request.get("limit", 60.0))
        faulthandler.dump_traceback_later(limit + SELF_LIMIT_GRACE, exit=True, file=quiet)
        try:
            if request.get("op") == "voices":
                reply: dict[str, Any] = {"voices": backend.voices()}
            else:
                reply = _say(backend, request)
        except SpeechError as exc:
            reply = {"error": str(exc)}
        except Exception as exc:  # pyttsx3 raises plain RuntimeErrors and the like
            reply = {"error": f"the text-to-speech engine failed: {exc}"}
        finally:
            faulthandler.cancel_dump_traceback_later()
        send(reply)


def main(argv: list[str]) -> int:
    # Ctrl-C reaches the whole process group: coach decides when its workers end.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    replies = os.fdopen(os.dup(1), "w", encoding="utf-8")
    quiet = open(os.devnull, "w")  # noqa: SIM115 - lives as long as the process
    os.dup2(quiet.fileno(), 1)

    def send(message: dict[str, Any]) -> None:
        replies.write(json.dumps(message) + "\n")
        replies.flush()

    driver = argv[0] if argv else "espeak"
    try:
        backend: Backend | FliteBackend = FliteBackend() if driver == "flite" else Backend(driver)
    except SpeechError as exc:
        send({"error": str(exc)})
        return 1
    send({"ready": True, "pid": os.getpid()})
    with contextlib.suppress(BrokenPipeError):  # coach went away: nobody to answer
        _serve(backend, sys.stdin.buffer, send, quiet)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
