"""The hostile-input corpus: each file under tests/hostile/ is one attack on coach and the
exact message it must get, run as a real process under time and memory limits."""

from __future__ import annotations

import os
import shutil
import signal
import stat
import struct
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

if sys.version_info >= (3, 11):
    import tomllib
else:
    import tomli as tomllib

CORPUS = Path(__file__).parent / "hostile"
CASES = sorted(CORPUS.glob("*.toml"))
ROOT = Path(__file__).resolve().parent.parent

TIME_LIMIT = 30.0  # seconds: a hang fails the case instead of the whole suite
ADDRESS_SPACE = 2 << 30  # bytes: a memory bomb dies here instead of taking the machine
MEMORY_LIMIT_MB = 200  # peak resident memory every case must stay under


@dataclass
class Outcome:
    code: int
    stdout: str
    stderr: str
    seconds: float
    peak_mb: float


def test_the_corpus_is_not_empty() -> None:
    assert len(CASES) >= 20


@pytest.mark.parametrize("case", CASES, ids=[path.stem for path in CASES])
def test_hostile_input(case: Path, tmp_path: Path) -> None:
    spec = tomllib.loads(case.read_text(encoding="utf-8"))
    work = tmp_path / "work"
    work.mkdir()
    (tmp_path / "outside").mkdir()
    prepare(spec, tmp_path)
    env = {**os.environ, "COACH_CACHE_DIR": str(tmp_path / "cache")}
    env.update({key: fill(value, tmp_path) for key, value in spec.get("env", {}).items()})
    args = [fill(arg, tmp_path) for arg in spec["args"]]
    outcome = run_limited([sys.executable, "-m", "coach", *args], env, work)
    report(case.stem, outcome)
    shown = outcome.stderr.replace(str(tmp_path), "{dir}")
    assert "Traceback" not in shown
    if "stderr" in spec:
        assert shown.strip() == spec["stderr"].strip()
    else:  # a long message: how it starts and ends, and how long it may be
        assert shown.startswith(spec["stderr_start"].strip())
        assert shown.strip().endswith(spec["stderr_end"].strip())
        assert len(shown) <= spec["stderr_max"]
    assert outcome.code == spec.get("exit", 1)
    assert outcome.peak_mb < MEMORY_LIMIT_MB
    for name in spec.get("unchanged", []):
        assert (work / name).read_bytes() == fill(spec["files"][name], tmp_path).encode()
    for name in spec.get("absent", []):
        assert not os.path.lexists(fill(name, tmp_path))
    assert not [p.name for p in work.rglob("*.coach-tmp")]
    for text in spec.get("clips", {}):  # what was planted was found, and replaced by a clip
        found = os.lstat(clip_path(tmp_path / "cache", text))
        assert stat.S_ISREG(found.st_mode) and 44 < found.st_size < 1 << 20


def fill(text: str, tmp_path: Path) -> str:
    return text.replace("{dir}", str(tmp_path))


def prepare(spec: dict[str, Any], tmp_path: Path) -> None:
    """Make the files of an attack: text files, repeated text, FIFOs, links, WAV headers."""
    work = tmp_path / "work"
    for name, text in spec.get("files", {}).items():
        path = tmp_path / fill(name, tmp_path) if name.startswith("{dir}") else work / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(fill(text, tmp_path), encoding="utf-8")
    for name, made in spec.get("repeat", {}).items():
        body = made["text"] * made["times"]
        (work / name).write_text(made.get("before", "") + body + made.get("after", ""))
    for name in spec.get("fifos", []):
        os.mkfifo(work / name)
    for name in spec.get("directories", []):
        (work / name).mkdir(parents=True, exist_ok=True)
    for name, target in spec.get("links", {}).items():
        (work / name).symlink_to(fill(target, tmp_path))
    for name, header in spec.get("wav", {}).items():
        (work / name).write_bytes(wav_bytes(header["rate"], header["bytes"]))
    for name, seconds in spec.get("tones", {}).items():
        tone(tmp_path / name, seconds)
    for name, depth in spec.get("nested", {}).items():
        lines = ["title: Deep"] + [" " * level + f"step s{level}:" for level in range(depth)]
        (work / name).write_text("\n".join(lines + [" " * depth + "say: Hello."]) + "\n")
    for name in spec.get("devices", []):
        if os.geteuid() != 0:
            pytest.skip("making a device node needs root")
        os.mknod(work / name, stat.S_IFCHR | 0o666, os.makedev(1, 3))  # like /dev/null
    for text, kind in spec.get("clips", {}).items():
        plant_clip(clip_path(tmp_path / "cache", text), kind)


def clip_path(cache: Path, text: str) -> Path:
    """Where the clip of `text` (default voice and rate) is looked for."""
    from coach.cache import ClipCache
    from coach.defaults import DEFAULT_RATE
    from coach.plan import SpeechLine
    from coach.pyttsx3_engine import Pyttsx3Engine

    cache.mkdir(parents=True, exist_ok=True)
    return ClipCache(cache, Pyttsx3Engine()).path(SpeechLine(text, None, DEFAULT_RATE))


def plant_clip(path: Path, kind: str) -> None:
    """Put something hostile where a clip is looked for."""
    if kind == "fifo":
        os.mkfifo(path)
    elif kind == "huge":
        with path.open("wb") as out:
            out.truncate(64 << 20)
    else:
        path.symlink_to(kind)


def wav_bytes(rate: int, size: int) -> bytes:
    """A 16-bit mono PCM WAV of `size` bytes of noise whose header says `rate` Hz."""
    data = os.urandom(size)
    header = struct.pack(
        "<4sI4s4sIHHIIHH4sI",
        *(b"RIFF", 36 + size, b"WAVE", b"fmt ", 16, 1, 1, rate, rate * 2, 2, 16),
        *(b"data", size),
    )
    return header + data


def tone(path: Path, seconds: float) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    subprocess.run(
        [
            shutil.which("ffmpeg") or "ffmpeg",
            "-loglevel",
            "error",
            "-f",
            "lavfi",
            "-i",
            f"sine=frequency=440:duration={seconds}",
            str(path),
        ],
        check=True,
    )


# A small launcher between pytest and coach: a child forked from pytest itself would count
# pytest's own memory (hundreds of MB late in a run) in its peak until it calls exec. The
# launcher sets the address-space cap, runs coach, and writes coach's peak from wait4.
LAUNCHER = """
import os, resource, sys
report, limit, *command = sys.argv[1:]
resource.setrlimit(resource.RLIMIT_AS, (int(limit), int(limit)))
pid = os.fork()
if pid == 0:
    os.execv(command[0], command)
_, status, usage = os.wait4(pid, 0)
with open(report, "w") as out:
    out.write(str(usage.ru_maxrss))
code = os.waitstatus_to_exitcode(status)
sys.exit(code if code >= 0 else 128 - code)
"""


def run_limited(args: list[str], env: dict[str, str], cwd: Path) -> Outcome:
    """Run `args` with an address-space cap and a time limit; its peak memory from wait4."""
    peak_file = cwd.parent / "peak.txt"
    began = time.monotonic()
    process = subprocess.Popen(
        [sys.executable, "-S", "-c", LAUNCHER, str(peak_file), str(ADDRESS_SPACE), *args],
        cwd=cwd,
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        start_new_session=True,  # a time-out kills coach and whatever it started
    )
    streams: dict[str, bytes] = {}

    def drain(name: str, pipe: Any) -> None:
        streams[name] = pipe.read(4 << 20)  # an output bomb is cut off here, and fails
        while pipe.read(1 << 20):
            pass

    readers = [
        threading.Thread(target=drain, args=(name, pipe), daemon=True)
        for name, pipe in (("out", process.stdout), ("err", process.stderr))
    ]
    for reader in readers:
        reader.start()
    timer = threading.Timer(TIME_LIMIT, lambda: os.killpg(process.pid, signal.SIGKILL))
    timer.start()
    try:
        code = process.wait()
    finally:
        timer.cancel()
    for reader in readers:
        reader.join()
    seconds = time.monotonic() - began
    assert seconds < TIME_LIMIT, f"killed after {TIME_LIMIT:g} s"
    return Outcome(
        code,
        streams["out"].decode("utf-8", "replace"),
        streams["err"].decode("utf-8", "replace"),
        seconds,
        int(peak_file.read_text()) / 1024,
    )


def report(name: str, outcome: Outcome) -> None:
    """With COACH_HOSTILE_REPORT set, append each case's time and peak memory to that file."""
    target = os.environ.get("COACH_HOSTILE_REPORT")
    if target:
        with open(target, "a", encoding="utf-8") as out:
            out.write(f"{name}\t{outcome.seconds:.3f}\t{outcome.peak_mb:.1f}\n")
