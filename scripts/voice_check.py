"""Voice-command figures in real time: reaction times, and false triggers over a whole session.

Usage: .venv/bin/python scripts/voice_check.py [--runs N] [--routine NAME] [--no-session]

1. Reaction: the scripted run of tests/test_voice.py (the quiet routine played on the paced
   ALSA capture device, a microphone file with six commands spoken by coach's flite rms
   voice over the session's own sound as room echo), N times. For each command it reports
   the time from the end of its words to the confirming blip and to its effect, as heard.
2. False triggers: ROUTINE (default the flagship, wall-release) played whole in real time on
   the paced device, its own output read back from the device's capture file as it is
   played and handed to the listener as the microphone: every command heard is counted,
   with those dropped because coach itself was sounding counted apart. Commands are only
   counted, not obeyed, so a false one cannot stop the measurement.

It takes the routine's length plus about 30 s a run.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

LOOPBACK = r"""
import json, sys, threading, time
from pathlib import Path
import numpy as np
from coach import session
from coach.listen import Listener, to_spot_rate
from coach.player import Player

built = session.build(sys.argv[1], cache_dir=Path(sys.argv[2]))
capture = Path(sys.argv[3])
player = Player(built.timeline, built.bank)
taken = []
listener = Listener(lambda name: taken.append(name), player.feed.voice)
stop = threading.Event()
rate = built.timeline.sample_rate

def loop_back():
    offset = 0
    while not stop.wait(0.1):
        if not capture.exists():
            continue
        with capture.open("rb") as f:
            f.seek(offset)
            data = f.read()
        data = data[: len(data) // 2 * 2]
        offset += len(data)
        if data:
            samples = np.frombuffer(data, "<i2")
            # just played: its first sample sounded len/rate ago
            listener.hear(to_spot_rate(samples, rate), time.monotonic() - len(samples) / rate)

with listener:
    thread = threading.Thread(target=loop_back, daemon=True)
    thread.start()
    player.run()
    time.sleep(1.0)
    stop.set()
    thread.join()
heard = listener.heard
print(json.dumps({
    "seconds": built.timeline.length / rate,
    "taken": [(h.command, h.start) for h in heard if not h.ignored],
    "dropped": sum(h.ignored for h in heard),
}))
"""


def reaction_runs(runs: int) -> None:
    import test_voice as scenario

    spoken = scenario.speak_commands(Path(tempfile.mkdtemp(prefix="coach-commands-")))
    blips: list[float] = []
    effects: dict[str, list[float]] = {}
    for _ in range(runs):
        report = scenario.run_scenario(spoken, Path(tempfile.mkdtemp(prefix="coach-voice-")))
        for _, name in scenario.SCHEDULE:
            blips.append(scenario.effect(report, name, "cue"))
            what = {"pause": "fade-out", "resume": "fade-in", "next": "jump", "where": "say"}
            what |= {"again": "say", "quit": "end"}
            effects.setdefault(name, []).append(scenario.effect(report, name, what[name]))
    print(f"reaction over {runs} runs of {len(scenario.SCHEDULE)} commands, seconds from the "
          "end of the words, as heard:")
    print(f"  confirming blip: median {statistics.median(blips):.2f}, max {max(blips):.2f}")
    for name, times in effects.items():
        print(f"  {name:7s} effect: median {statistics.median(times):.2f}, max {max(times):.2f}")
    every = [t for name, times in effects.items() if name != "where" for t in times]
    print(f"  all but where: median {statistics.median(every):.2f}, max {max(every):.2f}")


def whole_session(routine: str) -> None:
    from helpers import device_env, paced_conf

    with tempfile.TemporaryDirectory(prefix="coach-voice-") as folder:
        work = Path(folder)
        capture, opens = work / "capture.raw", work / "opens.txt"
        env = device_env(capture, opens, paced_conf(work))
        env["PYTHONPATH"] = str(ROOT)
        cache = os.environ.get("COACH_CACHE_DIR", str(ROOT / "audio_cache"))
        done = subprocess.run(
            [sys.executable, "-c", LOOPBACK, routine, cache, str(capture)],
            env=env, capture_output=True, text=True, check=False,
        )  # fmt: skip
        if done.returncode != 0:
            sys.exit(done.stderr)
        report = json.loads(done.stdout.strip().splitlines()[-1])
    minutes = report["seconds"] / 60
    print(f"false triggers: {routine} ({minutes:.1f} min) played into the microphone: "
          f"{len(report['taken'])} commands taken {report['taken']}, "
          f"{report['dropped']} heard while coach itself sounded and dropped")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--routine", default="wall-release")
    parser.add_argument("--no-session", action="store_true")
    args = parser.parse_args()
    os.environ.setdefault("COACH_ENGINE", "pyttsx3")  # the timings tests/test_voice expects
    reaction_runs(args.runs)
    if not args.no_session:
        whole_session(args.routine)


if __name__ == "__main__":
    main()
