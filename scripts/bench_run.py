"""Running and timing whole processes for the bench, and its figures and table."""

from __future__ import annotations

import importlib.util
import os
import shlex
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
ALSA_CONF = ROOT / "tests" / "alsa-capture.conf"
POLL_SECONDS = 0.005
PLAY_TIMEOUT = 600.0
# Set by the shell this bench runs from, not by a user's: without them a child writes its
# bytecode (in the bench's PYTHONPYCACHEPREFIX, not in the tree) and buffers its output.
NOT_A_USERS = ("PYTHONDONTWRITEBYTECODE", "PYTHONUNBUFFERED")


def log(message: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


@dataclass(frozen=True)
class Usage:
    """What one whole process (and every child it waited for) took."""

    wall: float  # seconds from start to exit, as seen by the bench
    cpu: float  # user + system seconds of the process and its reaped descendants


class Runner:
    """Starts children as a user would: the `coach` script, a clean environment."""

    def __init__(self, work: Path) -> None:
        self.work = work
        self.pycache = work / "pycache"
        script = Path(sys.executable).parent / "coach"
        self.installed = importlib.util.find_spec("coach") is not None
        if self.installed and script.exists():
            self.coach = [str(script)]
        else:
            self.coach = [sys.executable, "-m", "coach"]

    def env(self, cache: Path | None = None, **extra: str) -> dict[str, str]:
        """The inherited environment without COACH_* and NOT_A_USERS, with Python bytecode
        kept under the scratch directory, and the clip cache `cache`."""
        env = {
            key: value
            for key, value in os.environ.items()
            if key not in NOT_A_USERS and not key.startswith("COACH_")
        }
        env["PYTHONPYCACHEPREFIX"] = str(self.pycache)
        if not self.installed:
            env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
        if cache is not None:
            env["COACH_CACHE_DIR"] = str(cache)
        env.update(extra)
        return env

    def python(self, code: str, *args: str) -> list[str]:
        return [sys.executable, "-c", code, *args]


def run(command: Sequence[str], env: dict[str, str], stdout: Path | None = None) -> Usage:
    """Run `command` to its end (stdout to a file, or discarded); RuntimeError if it fails."""
    with tempfile.TemporaryFile() as errors:
        out = stdout.open("wb") if stdout is not None else subprocess.DEVNULL
        try:
            began = time.perf_counter()
            child = subprocess.Popen(
                command, env=env, stdin=subprocess.DEVNULL, stdout=out, stderr=errors
            )
            _, status, usage = os.wait4(child.pid, 0)
            wall = time.perf_counter() - began
        finally:
            if stdout is not None and not isinstance(out, int):
                out.close()
        child.returncode = os.waitstatus_to_exitcode(status)
        if child.returncode != 0:
            errors.seek(0)
            said = errors.read().decode(errors="replace").strip()[-600:]
            raise RuntimeError(f"{shlex.join(command)} exited {child.returncode}: {said}")
    return Usage(wall, usage.ru_utime + usage.ru_stime)


def paired(
    pairs: int, baseline: Callable[[], Usage], ours: Callable[[], Usage]
) -> list[tuple[Usage, Usage]]:
    """`pairs` runs of each, in turns (A B A B ...), after one unmeasured run of each."""
    baseline(), ours()
    return [(baseline(), ours()) for _ in range(pairs)]


def first_sound(runner: Runner, routine: str, cache: Path, capture: Path, **extra: str) -> float:
    """Seconds from starting `coach play` until the captured ALSA device has any bytes; the
    player is then stopped (SIGTERM), so no run leaves hours of audio for the next to wait on."""
    capture.unlink(missing_ok=True)
    env = runner.env(
        cache, ALSA_CONFIG_PATH=str(ALSA_CONF), COACH_ALSA_CAPTURE=str(capture), **extra
    )
    command = [*runner.coach, "play", routine]
    began = time.perf_counter()
    child = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    heard: float | None = None
    while heard is None and child.poll() is None:
        if capture.exists() and capture.stat().st_size > 0:
            heard = time.perf_counter() - began
        else:
            time.sleep(POLL_SECONDS)
    if heard is None and capture.exists() and capture.stat().st_size > 0:
        heard = time.perf_counter() - began  # the child was quicker than the poll
    child.terminate()
    try:
        _, errors = child.communicate(timeout=PLAY_TIMEOUT)
    except subprocess.TimeoutExpired:
        child.kill()
        _, errors = child.communicate()
    capture.unlink(missing_ok=True)
    if heard is None:
        raise RuntimeError(f"coach play failed ({child.returncode}): {errors.decode().strip()}")
    return heard


# --- figures -------------------------------------------------------------------------

DIGITS = {"x": 2, "s": 3, "ms/line": 1, "MB": 0, "LUFS": 1, "LU": 1, "dBTP": 1}


@dataclass
class Figure:
    """A measured figure over its runs; the target, if any, bounds the `judged` statistic."""

    name: str
    unit: str
    values: list[float] = field(default_factory=list)
    limit: float | None = None
    baseline: str = ""  # what the figure is measured against, said under the table
    judged: str = "median"
    error: str = ""

    def stat(self, which: str) -> float:
        if which == "median":
            return float(statistics.median(self.values))
        return float(min(self.values) if which == "min" else max(self.values))

    @property
    def target(self) -> str:
        if self.limit is None:
            return ""
        judged = "" if self.judged == "median" else f" ({self.judged})"
        return f"<= {self.limit:g} {self.unit}{judged}"

    @property
    def verdict(self) -> str:
        if self.error:
            return "failed"
        if self.limit is None or not self.values:
            return ""
        return "ok" if self.stat(self.judged) <= self.limit else "over"

    def shown(self, which: str) -> str:
        if not self.values:
            return "-"
        return f"{self.stat(which):.{DIGITS.get(self.unit, 2)}f} {self.unit}"

    def report(self) -> dict[str, object]:
        stats = {w: self.stat(w) for w in ("median", "min", "max")} if self.values else {}
        return {
            "name": self.name.strip(),
            "unit": self.unit,
            "runs": len(self.values),
            **stats,
            "values": self.values,
            "limit": self.limit,
            "judged": self.judged,
            "verdict": self.verdict or None,
            "baseline": self.baseline or None,
            "error": self.error or None,
        }


def table(figures: list[Figure]) -> str:
    rows = [("figure", "n", "median", "min", "max", "target", "ok/over")]
    for f in figures:
        stats = (f.shown("median"), f.shown("min"), f.shown("max"))
        rows.append((f.name, str(len(f.values)), *stats, f.target, f.verdict))
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    lines = [
        "  ".join(
            cell.ljust(width) if i in (0, 6) else cell.rjust(width)
            for i, (cell, width) in enumerate(zip(row, widths, strict=True))
        ).rstrip()
        for row in rows
    ]
    lines.insert(1, "-" * len(max(lines, key=len)))
    return "\n".join(lines)


def baselines(figures: list[Figure]) -> str:
    said = [f"- {f.name.strip()}: {f.baseline}" for f in figures if f.baseline]
    failed = [f"- {f.name.strip()} FAILED: {f.error}" for f in figures if f.error]
    return "\n".join(["baselines:", *said, *failed])
