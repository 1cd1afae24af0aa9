"""Shared test helpers: compile fixture routines and lay them out with fake clip lengths."""

from __future__ import annotations

import json
import os
import pickle
import subprocess
import sys
from pathlib import Path

from coach import parser
from coach.compiler import Overrides, compile_routine
from coach.layout import lay_out
from coach.plan import ClipInfo, Plan
from coach.speech import SpeechEngine, SpeechLine, Voice
from coach.timeline import Timeline

FIXTURES = Path(__file__).parent / "fixtures"
RATE = 22050
# Fake speech for the pure stages: a tenth of a second per character.
SAMPLES_PER_CHAR = RATE // 10
SOUND_LENGTHS = {"click": 441, "click-accent": 661, "chime": 33075, "bell": 66150, "tick": 220}


def compile_fixture(name: str, overrides: Overrides | None = None) -> Plan:
    path = FIXTURES / "compile" / name
    routine, diagnostics = parser.parse(path.read_text(), str(path))
    assert not [d for d in diagnostics if d.is_error], [d.render() for d in diagnostics]
    return compile_routine(routine, overrides)


def fake_clips(plan: Plan) -> dict:
    return {
        line: ClipInfo(f"key-{line.text}", len(line.text) * SAMPLES_PER_CHAR)
        for line in plan.speech_lines()
    }


def lay_out_fixture(name: str, overrides: Overrides | None = None) -> Timeline:
    plan = compile_fixture(name, overrides)
    return lay_out(plan, RATE, fake_clips(plan), SOUND_LENGTHS)


ROOT = Path(__file__).resolve().parent.parent
CAPTURE_CONF = Path(__file__).resolve().parent / "alsa-capture.conf"


def run_coach(
    *args: str,
    env: dict[str, str] | None = None,
    cache: Path | None = None,
    cwd: Path | None = None,
    timeout: float = 300,
    stdin: int | None = subprocess.DEVNULL,
) -> subprocess.CompletedProcess[str]:
    """Run `python -m coach ARGS` as a user would, with an optional clip cache and env.

    Standard input is /dev/null unless given, so no run ever reads the developer's terminal.
    """
    environment = {**os.environ, **(env or {})}
    if cache is not None:
        environment["COACH_CACHE_DIR"] = str(cache)
    return subprocess.run(
        [sys.executable, "-m", "coach", *args],
        capture_output=True,
        text=True,
        env=environment,
        cwd=cwd,
        timeout=timeout,
        stdin=stdin,
    )


def play_captured(
    tmp_path: Path, child: str, job: object, alsa_config: Path = CAPTURE_CONF
) -> tuple[dict, str, bytes]:
    """Run player code `child` in a fresh process (ALSA reads its config once per process)
    with the device captured to a file; `job` is pickled to the path in its sys.argv[1].

    Returns the child's last stdout line as JSON, its stderr, and the captured bytes.
    """
    job_path = tmp_path / "job.pickle"
    with job_path.open("wb") as f:
        pickle.dump(job, f)
    capture = tmp_path / "capture.raw"
    capture.unlink(missing_ok=True)
    env = {
        **os.environ,
        "ALSA_CONFIG_PATH": str(alsa_config),
        "COACH_ALSA_CAPTURE": str(capture),
        "PYTHONPATH": str(ROOT),
    }
    done = subprocess.run(
        [sys.executable, "-c", child, str(job_path)],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        cwd=tmp_path,
    )
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout.strip().splitlines()[-1])
    return report, done.stderr, capture.read_bytes() if capture.exists() else b""


class CountingEngine:
    """The real engine, counting the clips it is asked to synthesize; the version can be
    overridden to stand for an engine upgrade."""

    def __init__(self, inner: SpeechEngine, version: str | None = None) -> None:
        self.inner = inner
        self.name = inner.name
        self._version = version
        self.calls: list[SpeechLine] = []

    def version(self) -> str:
        return self._version if self._version is not None else self.inner.version()

    def voices(self) -> list[Voice]:
        return self.inner.voices()

    def synthesize(self, line: SpeechLine, path: Path) -> None:
        self.calls.append(line)
        self.inner.synthesize(line, path)
