"""Listening figures for the built-in routines: loudness of each export, and the share of
its spoken cues an independent recogniser hears at their time.

Usage: .venv/bin/python scripts/listen.py [--engine ENGINE] [ROUTINE ...]

For each routine it exports a WAV through the real CLI, reads its integrated loudness, true
peak and loudness range with ffmpeg's EBU R128 meter (the `ebur128` filter), and runs
pocketsphinx (which ships its own US English model; `pip install pocketsphinx`) on the
audio of each spoken cue, cut at the time `coach show --json` gives. A cue counts as heard
when at least half of its words are in what the recogniser heard there.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
RECOGNISER_RATE = 16000
TAIL = 0.3  # seconds of audio after a cue's end, so its last word is not cut


def coach(*args: str, cache: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "COACH_CACHE_DIR": str(cache)}
    return subprocess.run(
        [sys.executable, "-m", "coach", *args],
        capture_output=True,
        text=True,
        env=env,
        cwd=ROOT,
        check=True,
    )


def loudness(path: Path) -> dict[str, float]:
    """Integrated loudness (LUFS), true peak (dBTP) and loudness range (LU), by ebur128."""
    done = subprocess.run(
        [
            "ffmpeg",
            "-hide_banner",
            "-nostats",
            "-i",
            str(path),
            "-af",
            "ebur128=peak=true",
            "-f",
            "null",
            "-",
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    summary = done.stderr[done.stderr.rfind("Summary:") :]

    def figure(label: str) -> float:
        found = re.search(label + r":\s+(-?[\d.]+|-inf)", summary)
        return float(found.group(1)) if found else float("nan")

    return {"lufs": figure("I"), "true_peak": figure("Peak"), "lra": figure("LRA")}


def words(text: str) -> list[str]:
    return re.findall(r"[a-z']+", text.lower())


def heard_share(path: Path, events: list[dict], sample_rate: int) -> tuple[int, int]:
    """How many of the spoken `events` the recogniser hears at their time, of how many."""
    from pocketsphinx import Decoder

    decoder = Decoder(samprate=RECOGNISER_RATE)
    audio = resampled(path, sample_rate)
    heard = total = 0
    for event in events:
        expected = words(event["text"])
        if not expected:
            continue
        start = int(event["start"] * RECOGNISER_RATE)
        end = int((event["start"] + event["duration"] + TAIL) * RECOGNISER_RATE)
        decoder.start_utt()
        decoder.process_raw(audio[start:end].tobytes(), full_utt=True)
        decoder.end_utt()
        hypothesis = decoder.hyp()
        got = set(words(hypothesis.hypstr)) if hypothesis is not None else set()
        total += 1
        heard += sum(word in got for word in expected) * 2 >= len(expected)
    return heard, total


def resampled(path: Path, sample_rate: int) -> np.ndarray:
    done = subprocess.run(
        [
            "ffmpeg",
            "-v",
            "error",
            "-i",
            str(path),
            "-ac",
            "1",
            "-ar",
            str(RECOGNISER_RATE),
            "-f",
            "s16le",
            "-",
        ],
        capture_output=True,
        check=True,
    )
    return np.frombuffer(done.stdout, dtype="<i2")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--engine", help="speech engine to use (default: coach's default)")
    parser.add_argument("routines", nargs="*")
    options = parser.parse_args()
    listed = coach("list", cache=ROOT / "audio_cache").stdout.splitlines()
    names = options.routines or [line.split()[0] for line in listed if line.strip()]
    engine = ["--engine", options.engine] if options.engine else []
    print(f"{'routine':<22} {'LUFS':>6} {'dBTP':>6} {'LRA':>5}  cues heard")
    with tempfile.TemporaryDirectory(prefix="coach-listen-") as scratch:
        cache = Path(scratch) / "cache"
        for name in names:
            wav = Path(scratch) / f"{name}.wav"
            coach("export", name, "-o", str(wav), *engine, cache=cache)
            shown = json.loads(coach("show", name, "--json", *engine, cache=cache).stdout)
            spoken = [e for e in shown["events"] if e["kind"] == "speech"]
            figures = loudness(wav)
            heard, total = heard_share(wav, spoken, shown["sample_rate"])
            print(
                f"{name:<22} {figures['lufs']:>6.1f} {figures['true_peak']:>6.1f}"
                f" {figures['lra']:>5.1f}  {heard}/{total} ({heard / max(total, 1):.0%})"
            )


if __name__ == "__main__":
    main()
