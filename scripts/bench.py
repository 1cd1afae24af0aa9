"""Speed and memory figures of coach, each against a baseline measured in the same run."""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
if importlib.util.find_spec("coach") is None:  # running from a checkout without installing
    sys.path.insert(0, str(ROOT))
    CHILD_PYTHONPATH: str | None = str(ROOT)
else:
    CHILD_PYTHONPATH = None

from coach import session  # noqa: E402
from coach.export import export, mp3_encoder_args  # noqa: E402
from coach.soundfile import find_ffmpeg  # noqa: E402

ALSA_CONF = ROOT / "tests" / "alsa-capture.conf"
REPEATS = 3
POLL_SECONDS = 0.005
PLAY_TIMEOUT = 600.0
# Lengths of the parts of the generated routine, calibrated against built timelines.
FRAME_SECONDS = 30.0  # the opening line, the closing step and the bell
ITEM_SECONDS = 80.0  # one loop item without its reps (speech, breaths, hold, between)
REP_SECONDS = 4.0  # 15 reps per minute
TYPICAL_REPS = 20
PARTS = [
    "calf", "shin", "thigh", "hamstring", "hip", "glute",
    "lower back", "upper back", "shoulder blade", "shoulder", "forearm", "neck",
]  # fmt: skip

# Runs `coach` in-process in a child, then reports the peak RSS of that process (the
# coach process itself) and of its largest child (ffmpeg), in kilobytes (bytes on macOS).
PEAK_RSS_CHILD = """
import json, resource, sys
from coach.cli import main
try:
    main(sys.argv[1:], prog_name="coach")
    code = 0
except SystemExit as done:
    code = done.code
usage = resource.getrusage
print(json.dumps({"self": usage(resource.RUSAGE_SELF).ru_maxrss,
                  "children": usage(resource.RUSAGE_CHILDREN).ru_maxrss}))
sys.exit(code)
"""


@dataclass
class Figure:
    """One measured figure; `limit` is the target's bound (value must not exceed it)."""

    name: str
    value: float
    unit: str
    limit: float | None = None

    @property
    def target(self) -> str:
        return "-" if self.limit is None else f"<= {self.limit:g} {self.unit}".rstrip()

    @property
    def verdict(self) -> str:
        if self.limit is None:
            return ""
        return "ok" if self.value <= self.limit else "over"

    def shown(self) -> str:
        digits = 0 if not self.unit else 1 if self.value >= 10 else 3
        return f"{self.value:.{digits}f} {self.unit}".rstrip()


# --- routines ------------------------------------------------------------------------


def zones(count: int) -> list[str]:
    """`count` distinct loop items ("the left calf", ...), a round number once they repeat."""
    names = [f"the {side} {part}" for part in PARTS for side in ("left", "right")]
    out = []
    for index in range(count):
        name = names[index % len(names)]
        out.append(name if index < len(names) else f"{name} round {index // len(names) + 1}")
    return out


def routine_text(title: str, minutes: float) -> str:
    """A realistic routine of about `minutes`: a step per loop item, every kind of cue."""
    body = minutes * 60 - FRAME_SECONDS
    count = max(1, round(body / (ITEM_SECONDS + TYPICAL_REPS * REP_SECONDS)))
    reps = max(1, round((body / count - ITEM_SECONDS) / REP_SECONDS))
    return f"""title: {title}
tempo: 15 per minute
rate: 150 wpm

say: Find a quiet spot with a little floor space and a firm ball.

for zone in: {", ".join(zones(count))}:
    step Release {{zone}}:
        say: Place the ball under {{zone}} and let your weight sink in.
        say: Keep breathing slowly while the ball finds the tight spot in {{zone}}.
        breathe 3 times: in 4s, out 6s hiss
        repeat {reps} times:
            beat: up
            beat: down
            count every 5
        say: Now rest on {{zone}} and stay still.
        hold 30s, countdown 5
between:
    say: Good. Lift off the ball and shake it out.
    pause 3s

step Finish:
    say: Roll off the ball and lie flat for a moment.
    breathe 2 times: in 4s, out 6s
    say: Well done.
"""


def write_routine(directory: Path, name: str, minutes: float) -> Path:
    path = directory / f"{name}.routine"
    path.write_text(routine_text(f"Bench {name}", minutes), encoding="utf-8")
    return path


# --- measuring -----------------------------------------------------------------------


def log(message: str) -> None:
    print(f"[bench] {message}", file=sys.stderr, flush=True)


def timed(action: Callable[[], object]) -> float:
    began = time.perf_counter()
    action()
    return time.perf_counter() - began


def best_of(action: Callable[[], object], repeats: int = REPEATS) -> float:
    return min(timed(action) for _ in range(repeats))


def child_env(cache: Path | None = None, **extra: str) -> dict[str, str]:
    """The environment for a child coach: our coach package, the given clip cache."""
    env = {**os.environ, **extra}
    if cache is not None:
        env["COACH_CACHE_DIR"] = str(cache)
    if CHILD_PYTHONPATH is not None:
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [CHILD_PYTHONPATH, env.get("PYTHONPATH")]))
    return env


def megabytes(maxrss: int) -> float:
    """ru_maxrss in MB: kilobytes on Linux, bytes on macOS."""
    return maxrss / (1024 * 1024 if sys.platform == "darwin" else 1024)


def timed_build(routine: Path, cache: Path) -> tuple[float, session.Session]:
    """Seconds to build `routine` with the clip cache `cache`, and the session."""
    built: list[session.Session] = []
    seconds = timed(lambda: built.append(session.build(str(routine), cache_dir=cache)))
    return seconds, built[0]


def warm_export(routine: Path, cache: Path, out: Path) -> float:
    """Best time of a warm build plus an MP3 export."""

    def run() -> None:
        built = session.build(str(routine), cache_dir=cache)
        export(built.timeline, built.bank, out, "mp3")

    return best_of(run)


def ffmpeg_alone(routine: Path, cache: Path, directory: Path) -> tuple[float, float]:
    """Seconds to export the session as WAV, and best seconds for ffmpeg to encode that WAV."""
    built = session.build(str(routine), cache_dir=cache)
    wav = directory / "session.wav"
    wav_seconds = timed(lambda: export(built.timeline, built.bank, wav, "wav"))
    command = [
        find_ffmpeg(), "-y", "-hide_banner", "-loglevel", "error", "-i", str(wav),
        *mp3_encoder_args(), str(directory / "ffmpeg.mp3"),
    ]  # fmt: skip
    encode = best_of(lambda: subprocess.run(command, check=True))
    wav.unlink()
    return wav_seconds, encode


def peak_rss(routine: Path, cache: Path, out: Path) -> tuple[float, float]:
    """Peak RSS in MB of `coach export` (warm cache) and of its ffmpeg child."""
    command = [sys.executable, "-c", PEAK_RSS_CHILD, "export", str(routine), "-o", str(out)]
    done = subprocess.run(command, env=child_env(cache), capture_output=True, text=True)
    if done.returncode != 0:
        raise RuntimeError(f"coach export failed: {done.stderr.strip()}")
    report = json.loads(done.stdout.strip().splitlines()[-1])
    return megabytes(report["self"]), megabytes(report["children"])


def first_sound(routine: Path, cache: Path, capture: Path) -> float:
    """Seconds from starting `coach play` until the captured ALSA device has any bytes; the
    player is then stopped (SIGTERM), so no run leaves hours of audio for the next to wait on."""
    capture.unlink(missing_ok=True)
    env = child_env(cache, ALSA_CONFIG_PATH=str(ALSA_CONF), COACH_ALSA_CAPTURE=str(capture))
    command = [sys.executable, "-m", "coach", "play", str(routine)]
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


def import_time() -> float:
    """Best seconds to start Python and import coach.cli."""
    command = [sys.executable, "-c", "import coach.cli"]
    return best_of(lambda: subprocess.run(command, env=child_env(), check=True))


# --- the run -------------------------------------------------------------------------


@dataclass
class Bench:
    """The scratch directory, the two generated routines and the shared clip cache."""

    work: Path
    short: Path
    long: Path
    cache: Path  # empty until the first build, warm after it

    @classmethod
    def create(cls, work: Path, short: float, long: float) -> Bench:
        routines = [write_routine(work, f"{m:g}-min", m) for m in (short, long)]
        return cls(work, *routines, cache=work / "cache")

    def label(self, routine: Path) -> str:
        return routine.stem.replace("-", " ")


def describe(routine: Path, built: session.Session) -> str:
    minutes = built.timeline.duration / 60
    lines = len(built.plan.speech_lines())
    return f"{routine.name}: {minutes:.1f} min, {lines} unique speech lines"


def cold_figures(bench: Bench) -> tuple[list[Figure], list[str]]:
    """Cold build of the short routine (this warms the cache for both routines)."""
    log(f"cold build of the {bench.label(bench.short)} routine")
    seconds, built = timed_build(bench.short, bench.cache)
    lines = len(built.plan.speech_lines())
    log(f"warming the cache for the {bench.label(bench.long)} routine")
    _, long_built = timed_build(bench.long, bench.cache)
    figures = [
        Figure(f"cold build {bench.label(bench.short)}", seconds, "s"),
        Figure("  unique speech lines", lines, ""),
        Figure("  per speech line", 1000 * seconds / lines, "ms"),
    ]
    return figures, [describe(bench.short, built), describe(bench.long, long_built)]


def export_figures(bench: Bench) -> list[Figure]:
    """Warm build + MP3 export against ffmpeg alone encoding the same session's WAV."""
    log("warm build + MP3 export, and ffmpeg alone on the WAV (best of 3 each)")
    ours = warm_export(bench.short, bench.cache, bench.work / "out.mp3")
    build = best_of(lambda: timed_build(bench.short, bench.cache))
    wav_seconds, alone = ffmpeg_alone(bench.short, bench.cache, bench.work)
    return [
        Figure(f"warm build + MP3 export {bench.label(bench.short)}", ours, "s"),
        Figure("  (warm build alone)", build, "s"),
        Figure("  baseline: ffmpeg WAV -> MP3", alone, "s"),
        Figure("  (WAV export, for reference)", wav_seconds, "s"),
        Figure("  ratio export / ffmpeg", ours / alone, "x", 1.5),
    ]


def loudness_figures(bench: Bench) -> list[Figure]:
    """Loudness of the exported MP3 (`export_figures` wrote it): integrated by pyloudnorm
    (BS.1770), true peak by ffmpeg's EBU R128 meter, against the -16 LUFS default."""
    import pyloudnorm
    from listen import loudness as ebur128  # scripts/ is on the path when run as a script

    log("loudness of the exported MP3 (pyloudnorm; true peak by ffmpeg ebur128)")
    mp3 = bench.work / "out.mp3"
    decoded = subprocess.run(
        ["ffmpeg", "-v", "error", "-i", str(mp3), "-f", "f32le", "-ac", "1", "-"],
        capture_output=True,
        check=True,
    ).stdout
    samples = np.frombuffer(decoded, dtype="<f4").astype(np.float64)
    rate = int(probe_rate(mp3))
    lufs = pyloudnorm.Meter(rate).integrated_loudness(samples)
    peak = ebur128(mp3)["true_peak"]  # the meter scripts/listen.py reads too
    return [
        Figure(f"integrated loudness {bench.label(bench.short)} MP3", lufs, "LUFS"),
        Figure("  distance from the -16 LUFS target", abs(lufs + 16), "LU", 1.0),
        Figure("  true peak", peak, "dBTP", -1.0),
    ]


def probe_rate(path: Path) -> str:
    return subprocess.run(
        [
            "ffprobe",
            "-v",
            "error",
            "-select_streams",
            "a:0",
            "-show_entries",
            "stream=sample_rate",
            "-of",
            "csv=p=0",
            str(path),
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()


def memory_figures(bench: Bench) -> list[Figure]:
    """Peak RSS of `coach export` for both routines (warm cache)."""
    figures = []
    peaks = []
    for routine in (bench.long, bench.short):
        log(f"peak memory of coach export, {bench.label(routine)}")
        coach_mb, ffmpeg_mb = peak_rss(routine, bench.cache, bench.work / "out.mp3")
        peaks.append(coach_mb)
        figures += [
            Figure(f"peak RSS coach export {bench.label(routine)}", coach_mb, "MB", 150),
            Figure("  (its ffmpeg child)", ffmpeg_mb, "MB"),
        ]
    figures.append(Figure("  long / short peak RSS", peaks[0] / peaks[1], "x"))
    return figures


def first_sound_figures(bench: Bench) -> list[Figure]:
    """Time to first sound of `coach play`, warm and cold, against Python start-up: for
    the flagship routine and for a 4-hour one (the target: within 10% of the flagship)."""
    log("time to first sound of coach play (warm: best of 7, the two taken in turns)")
    capture = bench.work / "capture.raw"
    flagship = Path("wall-release")
    # Just under the 4-hour bound of a whole routine (its speech can add a few minutes).
    four_hours = write_routine(bench.work, "230-min", 230)
    log("rendering a 4-hour routine once")
    first_sound(flagship, bench.cache, capture)  # warms the cache
    first_sound(four_hours, bench.cache, capture)
    # A difference of a few per cent between two ~0.25 s process runs: many runs, taken in
    # turns so that a busy moment of the machine does not fall on one of them only.
    times: dict[Path, list[float]] = {flagship: [], four_hours: []}
    for _ in range(7):
        for routine, seen in times.items():
            seen.append(first_sound(routine, bench.cache, capture))
    warm, warm_long = min(times[flagship]), min(times[four_hours])
    log("time to first sound of coach play, cold cache")
    cold = first_sound(bench.short, bench.work / "cold-cache", capture)
    startup = import_time()
    return [
        Figure("first sound coach play wall-release, warm", warm, "s", 0.3),
        Figure("  baseline: python -c 'import coach.cli'", startup, "s"),
        Figure("  warm minus start-up", warm - startup, "s"),
        Figure("first sound coach play 230 min, warm", warm_long, "s"),
        Figure("  230 min / wall-release", warm_long / warm, "x", 1.1),
        Figure(f"first sound coach play {bench.label(bench.short)}, cold", cold, "s"),
    ]


# Plays wall-release in real time through a paced capture device and presses pause during
# speech 20 times, at random moments (resuming 0.4 s later); reports key-to-silence and
# key-to-sound seconds: from the command to the feed handing the fade's end (or its start
# again) to the device, plus the output latency PortAudio states for the stream.
LATENCY_CHILD = """
import json, random, statistics, sys, threading, time
from pathlib import Path
from coach import session
from coach.player import Player

built = session.build("wall-release", cache_dir=Path(sys.argv[1]))
timeline = built.timeline
speech = [(e.start, e.end) for e in timeline.events if e.kind == "speech"]
player = Player(timeline, built.bank)
feed = player.feed
pauses, resumes = [], []

def speaking():
    at = feed.where().position
    return any(a + 2205 < at < b - 4410 for a, b in speech)

def press():
    while not feed.started:
        time.sleep(0.005)
    latency = player._output.latency
    while len(pauses) < 20:
        while not speaking():
            time.sleep(0.002)
        time.sleep(random.uniform(0, 0.1))  # a key comes at any moment, not in step
        if not speaking():
            continue
        marks = len(feed.marks)
        pressed = time.monotonic()
        player.pause()
        while not feed.paused:
            time.sleep(0.0005)
        silent = next(m for m in feed.marks[marks:] if m.what == "silent")
        pauses.append(silent.at - pressed + latency)
        time.sleep(0.4)
        marks = len(feed.marks)
        pressed = time.monotonic()
        player.resume()
        while not any(m.what == "fade-in" for m in feed.marks[marks:]):
            time.sleep(0.0005)
        sounding = next(m for m in feed.marks[marks:] if m.what == "fade-in")
        resumes.append(sounding.at - pressed + latency)
    player.quit()

threading.Thread(target=press, daemon=True).start()
player.run()
print(json.dumps({"pause": pauses, "resume": resumes}))
"""


# A stand-in sound card, paced in real time: `plug` converts to 48 kHz stereo 32-bit as a
# card's driver would, and a pacer takes the bytes from a pipe at that rate. The pipe holds
# one page (4096 bytes): about 10 ms at this rate, like a card's period. (The 22050 Hz mono
# capture of the tests would hold 93 ms there and ask for audio in bursts that far apart.)
PACER = """
import fcntl, sys, time
try:
    fcntl.fcntl(0, 1031, 4096)  # F_SETPIPE_SZ: one page
except OSError:
    pass
began, count = time.monotonic(), 0
while data := sys.stdin.buffer.read1(1024):
    count += len(data)
    ahead = count / 384000 - (time.monotonic() - began)
    if ahead > 0:
        time.sleep(ahead)
"""


def sound_card_conf(work: Path) -> Path:
    pacer = work / "pacer.py"
    pacer.write_text(PACER)
    conf = work / "sound-card.conf"
    conf.write_text(
        "pcm.!default {\n type plug\n"
        ' slave { pcm "paced" format S32_LE rate 48000 channels 2 }\n}\n'
        'pcm.paced {\n type file\n slave.pcm { type null }\n format "raw"\n'
        f' file "|{sys.executable} -S {pacer}"\n}}\n'
    )
    return conf


def latency_figures(bench: Bench) -> list[Figure]:
    """Pause and resume latency over 20 presses during speech, at real-time pace."""
    import statistics

    log("pause and resume latency: 20 presses during speech, in real time")
    conf = sound_card_conf(bench.work)
    env = child_env(bench.cache, ALSA_CONFIG_PATH=str(conf))
    command = [sys.executable, "-c", LATENCY_CHILD, str(bench.cache)]
    done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=900)
    if done.returncode != 0:
        raise RuntimeError(f"latency run failed: {done.stderr.strip()}")
    report = json.loads(done.stdout.strip().splitlines()[-1])
    figures = []
    for name, values in report.items():
        figures += [
            Figure(f"{name} latency, median of {len(values)}", statistics.median(values), "s"),
            Figure(f"{name} latency, max", max(values), "s", 0.1 if name == "pause" else None),
        ]
    return figures


def measure(work: Path, short: float, long: float) -> tuple[list[Figure], list[str]]:
    """Every figure, and a line on each generated session; `work` is an empty directory."""
    bench = Bench.create(work, short, long)
    figures, sessions = cold_figures(bench)
    figures += export_figures(bench)
    figures += memory_figures(bench)
    figures += first_sound_figures(bench)
    figures += latency_figures(bench)
    # Last: it decodes a whole export into this process, and every child forked after that
    # would count this process's memory in its own peak until it execs.
    figures += loudness_figures(bench)
    return figures, sessions


def table(figures: list[Figure]) -> str:
    rows = [("figure", "value", "target", "ok/over")]
    rows += [(f.name, f.shown(), f.target, f.verdict) for f in figures]
    widths = [max(len(row[i]) for row in rows) for i in range(4)]
    lines = [
        "  ".join(
            cell.ljust(width) if i in (0, 3) else cell.rjust(width)
            for i, (cell, width) in enumerate(zip(row, widths, strict=True))
        ).rstrip()
        for row in rows
    ]
    lines.insert(1, "-" * len(max(lines, key=len)))
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="2- and 6-minute sessions")
    parser.add_argument("--json", action="store_true", help="print the figures as JSON too")
    args = parser.parse_args()
    short, long = (2.0, 6.0) if args.quick else (20.0, 60.0)

    began = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="coach-bench-") as scratch:
        figures, sessions = measure(Path(scratch), short, long)
    runtime = time.perf_counter() - began

    print("\n".join(f"session {line}" for line in sessions))
    print(table(figures))
    print(f"bench runtime: {runtime:.1f} s")
    if args.json:
        report = {
            "sessions": sessions,
            "figures": [{**asdict(f), "ok": f.verdict or None} for f in figures],
            "runtime_seconds": runtime,
        }
        print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
