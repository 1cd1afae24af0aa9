"""Speed and memory figures of coach (issue 11), each against a baseline measured in the same run.

Usage: .venv/bin/python scripts/bench.py [--quick] [--json]

Every figure runs whole processes, as a user would start them: the `coach` script with a
clip cache of the bench's own (COACH_CACHE_DIR) and the default speech engine unless a
figure names one. Timed figures alternate the baseline and coach (A B A B), one unmeasured
run of each first. Peak memory is read as VmHWM, which counts only what a program
touched after its exec (ru_maxrss on Linux also counts the parent's memory at the spawn).
Children get no PYTHONDONTWRITEBYTECODE: their bytecode is compiled once, under the
scratch directory (PYTHONPYCACHEPREFIX), as an installed coach's is at install time.
"""

from __future__ import annotations

import argparse
import json
import shutil
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from statistics import median

import bench_children as children
import bench_routines as routines
from bench_run import ROOT, Figure, Runner, Usage, baselines, first_sound, log, paired, run, table

ENGINES = ("pyttsx3", "festival", "flite")
# Each engine's own program as coach speaks through it: flite in coach's default voice (slt)
# at the bench's rate (its own pace, 183 wpm, stretched to 150), festival's text2wave.
OWN_PROGRAM = {
    "flite": "flite -voice slt --setf duration_stretch=1.2200 -f lines.txt out.wav",
    "festival": "text2wave lines.txt -o out.wav",
}
LINES_RATE = 150  # wpm, the default of a routine; espeak-ng is given the same (-s)


@dataclass
class Config:
    """How much to measure: sessions' lengths, pairs, runs and lines."""

    quick: bool
    short: float  # minutes of the routine exported (warm export, memory, loudness)
    long: float  # minutes of the second routine measured for memory
    longest: float  # minutes of the long routine of the first-sound figure
    pairs: int  # pairs of the costly timed figures
    cheap_pairs: int  # pairs of the ones that take a second or less
    memory_runs: int
    bounds: tuple[int, int]  # the bounds routine's areas x spots
    lines: dict[str, int] = field(default_factory=dict)  # cold lines per engine
    presses: int = 20

    @classmethod
    def make(cls, quick: bool) -> Config:
        if quick:
            lines = {"pyttsx3": 50, "festival": 8, "flite": 40}
            return cls(True, 2, 6, 6, 5, 5, 2, (10, 10), lines, presses=5)
        lines = {"pyttsx3": 200, "festival": 30, "flite": 200}
        bounds = (routines.BOUND_ZONES, routines.BOUND_SPOTS)
        return cls(False, 20, 60, 230, 5, 7, 3, bounds, lines)


@dataclass
class Bench:
    """The scratch directory, the runner, the shared warm cache and the routines."""

    config: Config
    work: Path
    runner: Runner
    cache: Path
    facts: dict[str, object]
    routines: dict[str, Path] = field(default_factory=dict)
    sessions: list[str] = field(default_factory=list)

    def coach(self, *args: str | Path) -> list[str]:
        return [*self.runner.coach, *map(str, args)]

    def mp3_args(self) -> list[str]:
        found = self.facts["mp3_args"]
        assert isinstance(found, list)
        return [str(arg) for arg in found]


def start(config: Config, work: Path) -> Bench:
    runner = Runner(work)
    facts_file = work / "facts.json"
    run(runner.python(children.FACTS), runner.env(), stdout=facts_file)
    facts = json.loads(facts_file.read_text())
    log(f"coach {facts['version']}, default engine {facts['engine']}, {facts['ffmpeg']}")
    bench = Bench(config, work, runner, work / "cache", facts)
    sizes = {"short": config.short, "long": config.long, "longest": config.longest}
    for key, minutes in sizes.items():
        name = f"{minutes:g}-min"
        bench.routines[key] = routines.write(work, name, routines.routine_text(name, minutes))
    areas, spots = config.bounds
    bench.routines["bounds"] = routines.write(work, "bounds", routines.bounds_text(areas, spots))
    return bench


@dataclass
class Rendered:
    """What `render` saw: its wall time, and what the session is made of."""

    seconds: float
    minutes: float
    events: int
    texts: int  # distinct spoken texts


def render(bench: Bench, routine: Path, **env: str) -> Rendered:
    """Build `routine` with `coach show --json` (which fills the cache) and note what the
    session is made of."""
    shown = bench.work / f"{routine.stem}.json"
    took = run(bench.coach("show", "--json", routine), bench.runner.env(bench.cache, **env), shown)
    duration, events, texts = 0.0, 0, set()
    with shown.open(encoding="utf-8") as lines:
        for line in lines:
            key_name, _, value = line.strip().partition(": ")
            if key_name == '"duration"' and not duration:
                duration = float(value.rstrip(","))
            elif key_name == '"kind"':
                events += 1
            elif key_name == '"text"':
                texts.add(value)
    shown.unlink()
    engine = env.get("COACH_ENGINE", f"{bench.facts['engine']} (default)")
    done = Rendered(took.wall, duration / 60, events, len(texts))
    bench.sessions.append(
        f"{routine.name}: {done.minutes:.1f} min, {events:,} events, "
        f"{done.texts:,} distinct spoken texts, engine {engine}"
    )
    log(f"rendered {routine.name} in {took.wall:.1f} s: {bench.sessions[-1]}")
    return done


# --- 1. warm export ------------------------------------------------------------------


def export_figures(bench: Bench) -> list[Figure]:
    """Whole-process CPU of a warm `coach export R -o out.mp3` against ffmpeg alone
    encoding the same session (written once as WAV by coach) at coach's MP3 settings."""
    routine, work, env = bench.routines["short"], bench.work, bench.runner.env(bench.cache)
    out, wav, alone = work / "out.mp3", work / "session.wav", work / "alone.mp3"
    log(f"warm export: {routine.name} as WAV once, then ffmpeg / coach export in turns")
    run(bench.coach("export", routine, "-o", wav), env)
    encode = [str(bench.facts["ffmpeg"]), "-y", "-hide_banner", "-loglevel", "error"]
    encode += ["-i", str(wav), *bench.mp3_args(), str(alone)]

    def baseline() -> Usage:
        alone.unlink(missing_ok=True)
        return run(encode, bench.runner.env())

    def ours() -> Usage:
        out.unlink(missing_ok=True)
        return run(bench.coach("export", routine, "-o", out), env)

    results = paired(bench.config.pairs, baseline, ours)
    out.rename(work / "loudness.mp3")
    wav.unlink()
    said = (
        f"ffmpeg alone: `ffmpeg -i s.wav {' '.join(bench.mp3_args())} out.mp3` on the same "
        "session written once by `coach export R -o s.wav`; CPU = user+sys of the whole "
        "process and the children it waited for (wait4), warm cache, in turns"
    )
    return [
        Figure(
            f"warm MP3 export {routine.stem}: CPU coach / ffmpeg",
            "x",
            [b.cpu / a.cpu for a, b in results],
            1.15,
            said,
        ),
        Figure("  coach export CPU", "s", [b.cpu for _, b in results]),
        Figure("  ffmpeg alone CPU", "s", [a.cpu for a, _ in results]),
        Figure("  coach export wall", "s", [b.wall for _, b in results]),
        Figure("  ffmpeg alone wall", "s", [a.wall for a, _ in results]),
    ]


def loudness_figures(bench: Bench) -> list[Figure]:
    """Integrated loudness (pyloudnorm) and true peak (ffmpeg ebur128) of the warm export."""
    mp3 = bench.work / "loudness.mp3"
    log(f"loudness of the exported {bench.routines['short'].stem} MP3")
    report = bench.work / "loudness.json"
    command = bench.runner.python(children.LOUDNESS, str(mp3), str(ROOT / "scripts"))
    run(command, bench.runner.env(), report)
    found = json.loads(report.read_text())
    return [
        Figure("loudness: distance from -16 LUFS", "LU", [abs(found["lufs"] + 16)], 1.0),
        Figure("  integrated loudness (pyloudnorm)", "LUFS", [found["lufs"]]),
        Figure("  true peak (ffmpeg ebur128)", "dBTP", [found["true_peak"]], -1.0),
    ]


# --- 2. memory -----------------------------------------------------------------------


def peak_rss(bench: Bench, routine: Path, **env: str) -> tuple[float, float]:
    """Peak RSS in MB of one warm `coach export` and of its ffmpeg child."""
    out, report = bench.work / "memory.mp3", bench.work / "memory.json"
    out.unlink(missing_ok=True)
    command = bench.runner.python(children.PEAK_RSS, "export", str(routine), "-o", str(out))
    run(command, bench.runner.env(bench.cache, **env), report)
    found = json.loads(report.read_text().strip().splitlines()[-1])
    out.unlink(missing_ok=True)
    return found["self"] / 1024, found["children"].get("ffmpeg", 0) / 1024


def memory_figures(bench: Bench) -> list[Figure]:
    """Peak RSS of warm exports (20 and 60 min, and a routine at the language's bounds)."""
    runs = bench.config.memory_runs
    numpy_file = bench.work / "numpy.txt"
    numpy_mb = []
    for _ in range(runs):
        run(bench.runner.python(children.NUMPY_PEAK), bench.runner.env(), numpy_file)
        numpy_mb.append(int(numpy_file.read_text()) / 1024)
    log("rendering the bounds routine cold with pyttsx3 (espeak-ng)")
    bounds = render(bench, bench.routines["bounds"], COACH_ENGINE="pyttsx3")
    said = (
        "peak RSS (VmHWM) of the coach process itself, beside `python -c 'import numpy'`'s "
        f"{median(numpy_mb):.0f} MB; the ffmpeg child's is the row below"
    )
    figures = []
    cases = [("short", {}), ("long", {}), ("bounds", {"COACH_ENGINE": "pyttsx3"})]
    for key, env in cases:
        routine = bench.routines[key]
        log(f"peak memory of a warm coach export of {routine.name}, {runs} runs")
        peaks = [peak_rss(bench, routine, **env) for _ in range(runs)]
        name = f"peak RSS warm export {routine.stem}{' (pyttsx3)' if env else ''}"
        figures += [
            Figure(name, "MB", [coach for coach, _ in peaks], 120, said),
            Figure("  its ffmpeg child", "MB", [ffmpeg for _, ffmpeg in peaks]),
        ]
    per_text = 1000 * bounds.seconds / bounds.texts
    played, capture = str(bench.routines["bounds"]), bench.work / "capture.raw"
    log("first sound of the bounds routine (context)")
    heard = [
        first_sound(bench.runner, played, bench.cache, capture, COACH_ENGINE="pyttsx3")
        for _ in range(runs)
    ]
    return [
        *figures,
        Figure("  python -c 'import numpy' (baseline)", "MB", numpy_mb),
        Figure("  first sound, coach play bounds (context)", "s", heard),
        Figure("  bounds cold, coach show --json (pyttsx3)", "ms/line", [per_text]),
    ]


# --- 3. cold rendering ---------------------------------------------------------------


def cold_figures(bench: Bench, engine: str) -> list[Figure]:
    """Wall time per line of `coach show R` rendering N new lines into an empty cache,
    against one espeak-ng process rendering the same lines and, for an engine that is a
    program of its own, against one process of that program on the same lines.

    The target is 2x espeak-ng for pyttsx3 (espeak-ng itself); festival and flite take far
    longer than espeak-ng to say anything, so theirs is 2x their own program in one
    process, and the ratio to espeak-ng is shown beside it."""
    count = bench.config.lines[engine]
    lines = routines.unique_lines(count)
    text = bench.work / f"lines-{engine}.txt"
    text.write_text("\n".join(lines) + "\n", encoding="utf-8")
    routine = routines.write(bench.work, f"lines-{engine}", routines.lines_text(lines, LINES_RATE))
    fresh = bench.work / f"cold-{engine}"
    espeak = ["espeak-ng", "-s", str(LINES_RATE), "-f", str(text), "-w", str(bench.work / "e.wav")]
    log(f"cold rendering, {engine}: {count} lines, espeak-ng / coach show in turns")

    def ours() -> Usage:
        shutil.rmtree(fresh, ignore_errors=True)
        return run(bench.coach("show", routine), bench.runner.env(fresh, COACH_ENGINE=engine))

    results = paired(bench.config.pairs, lambda: run(espeak, bench.runner.env()), ours)
    shutil.rmtree(fresh, ignore_errors=True)
    per_line = 1000 / count
    said = (
        f"one `espeak-ng -s {LINES_RATE} -f lines.txt -w out.wav` process, the same {count} "
        f"lines; coach: the whole `coach show R` process (Python and engine start-up, "
        f"synthesis, clip files, the table) with COACH_ENGINE={engine} and an empty clip "
        "cache; wall time, in turns"
    )
    figures = [
        Figure(
            f"cold render {engine}: per line, coach / espeak-ng",
            "x",
            [b.wall / a.wall for a, b in results],
            2.0 if engine not in OWN_PROGRAM else None,
            said,
        ),
        Figure(
            f"  coach ({engine}), {count} lines", "ms/line", [b.wall * per_line for _, b in results]
        ),
        Figure("  espeak-ng, one process", "ms/line", [a.wall * per_line for a, _ in results]),
    ]
    if engine in OWN_PROGRAM:
        program = OWN_PROGRAM[engine].replace("lines.txt", str(text))
        command = program.replace("out.wav", str(bench.work / "own.wav")).split()
        log(f"cold rendering, {engine}: {command[0]} alone / coach show in turns")
        own = paired(bench.config.pairs, lambda: run(command, bench.runner.env()), ours)
        shutil.rmtree(fresh, ignore_errors=True)
        name = command[0]
        figures += [
            Figure(
                f"cold render {engine}: per line, coach / {name} alone",
                "x",
                [b.wall / a.wall for a, b in own],
                2.0,
                f"one `{OWN_PROGRAM[engine]}` process on the same {count} lines; coach as "
                "above; wall time, in turns",
            ),
            Figure(f"  {name} alone, one process", "ms/line", [a.wall * per_line for a, _ in own]),
        ]
    return figures


# --- 4. coach list -------------------------------------------------------------------


def list_figures(bench: Bench) -> list[Figure]:
    """Wall time of `coach list` against `coach --version`, warm cache."""
    env, listing = bench.runner.env(bench.cache), bench.work / "list.txt"
    run(bench.coach("list"), env, listing)
    names = [line.split()[0] for line in listing.read_text().splitlines() if line.strip()]
    log(f"warming the cache for coach list: {len(names)} built-in routines")
    for name in names:
        run(bench.coach("show", name), env)
    run(bench.coach("list"), env, listing)
    estimated = listing.read_text().count("~")
    log(f"coach list --version / list in turns ({estimated} lengths still estimated)")
    results = paired(
        bench.config.cheap_pairs,
        lambda: run(bench.coach("--version"), env),
        lambda: run(bench.coach("list"), env),
    )
    cold = []
    for index in range(bench.config.memory_runs):
        cold_cache = bench.work / f"list-cold-{index}"
        cold.append(run(bench.coach("list"), bench.runner.env(cold_cache)).wall)
        shutil.rmtree(cold_cache, ignore_errors=True)
    said = (
        "`coach --version` (Python start-up and click), whole-process wall time, in turns; "
        f"the cache holds the clips of all {len(names)} built-in routines "
        f"({estimated} lengths still shown as estimates)"
    )
    return [
        Figure(
            "coach list / coach --version", "x", [b.wall / a.wall for a, b in results], 1.5, said
        ),
        Figure("  coach list, warm", "s", [b.wall for _, b in results]),
        Figure("  coach --version", "s", [a.wall for a, _ in results]),
        Figure("  coach list, empty cache (context)", "s", cold),
    ]


# --- 5. first sound ------------------------------------------------------------------


def first_sound_figures(bench: Bench) -> list[Figure]:
    """Time to first sound of `coach play`, warm cache, for wall-release and a long
    routine, in turns with Python importing coach.cli."""
    longest = bench.routines["longest"]
    capture = bench.work / "capture.raw"
    plays = {"wall-release": "wall-release", longest.stem: str(longest)}
    for routine in plays.values():  # warm: the long one was rendered by `render`
        first_sound(bench.runner, routine, bench.cache, capture)
    startup = bench.runner.python("import coach.cli")
    times: dict[str, list[float]] = {"baseline": [], **{name: [] for name in plays}}
    log(f"first sound: import coach.cli / play wall-release / play {longest.stem}, in turns")
    for _ in range(bench.config.cheap_pairs):
        times["baseline"].append(run(startup, bench.runner.env()).wall)
        for name, routine in plays.items():
            times[name].append(first_sound(bench.runner, routine, bench.cache, capture))
    said = (
        "an absolute target; beside it `python -c 'import coach.cli'` takes "
        f"{median(times['baseline']):.3f} s (median); sound = first bytes on the "
        "captured ALSA device (tests/alsa-capture.conf), warm cache"
    )
    figures = []
    for name in plays:
        figures.append(Figure(f"first sound, coach play {name}", "s", times[name], 0.3, said))
        ratio = [t / b for t, b in zip(times[name], times["baseline"], strict=True)]
        figures.append(Figure("  / python -c 'import coach.cli'", "x", ratio))
    figures.append(Figure("  python -c 'import coach.cli'", "s", times["baseline"]))
    return figures


# --- 6. pause and resume -------------------------------------------------------------


def latency_figures(bench: Bench) -> list[Figure]:
    """Pause and resume latency, presses during speech of wall-release at real-time pace."""
    presses = bench.config.presses
    log(f"pause and resume latency: {presses} presses during speech, in real time")
    pacer = bench.work / "pacer.py"
    pacer.write_text(children.PACER)
    conf = bench.work / "sound-card.conf"
    conf.write_text(children.SOUND_CARD_CONF.format(python=bench.runner.python("")[0], pacer=pacer))
    env = bench.runner.env(bench.cache, ALSA_CONFIG_PATH=str(conf))
    report = bench.work / "latency.json"
    run(bench.runner.python(children.LATENCY, str(bench.cache), str(presses)), env, report)
    found = json.loads(report.read_text().strip().splitlines()[-1])
    said = "none: key press to the fade reaching the device, plus PortAudio's output latency"
    return [
        Figure("pause latency", "s", found["pause"], 0.1, said, judged="max"),
        Figure("resume latency", "s", found["resume"]),
    ]


# --- the run -------------------------------------------------------------------------


def guarded(name: str, section: Callable[[], list[Figure]]) -> list[Figure]:
    """The section's figures, or one failed figure saying why (the bench goes on)."""
    try:
        return section()
    except Exception as error:  # noqa: BLE001 - a broken figure must not hide the others
        log(f"{name} failed: {error}")
        return [Figure(name, "", error=str(error)[-400:])]


def measure(config: Config, work: Path, only: str = "") -> tuple[list[Figure], Bench]:
    bench = start(config, work)
    for path in dict.fromkeys(bench.routines[k] for k in ("short", "long", "longest")):
        render(bench, path)
    sections: list[tuple[str, Callable[[], list[Figure]]]] = [
        ("warm MP3 export", lambda: export_figures(bench)),
        ("coach list", lambda: list_figures(bench)),
        ("first sound", lambda: first_sound_figures(bench)),
        ("peak memory", lambda: memory_figures(bench)),
        *[(f"cold render {e}", partial(cold_figures, bench, e)) for e in ENGINES],
        ("pause and resume", lambda: latency_figures(bench)),
        ("loudness", lambda: loudness_figures(bench)),
    ]
    figures: list[Figure] = []
    for name, section in sections:
        if only in name:
            figures += guarded(name, section)
    return figures, bench


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="short sessions, fewer lines")
    parser.add_argument("--json", action="store_true", help="print the figures as JSON too")
    parser.add_argument(
        "--only", default="", metavar="TEXT", help="only the sections whose name has TEXT in it"
    )
    args = parser.parse_args()
    config = Config.make(args.quick)
    began = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="coach-bench-") as scratch:
        figures, bench = measure(config, Path(scratch), args.only)
    runtime = time.perf_counter() - began
    print("\n".join(f"session {line}" for line in bench.sessions))
    print(table(figures))
    print(baselines(figures))
    print(f"bench runtime: {runtime:.0f} s{' (--quick)' if args.quick else ''}")
    if args.json:
        report = {
            "quick": args.quick,
            "coach": bench.facts,
            "sessions": bench.sessions,
            "figures": [f.report() for f in figures],
            "runtime_seconds": runtime,
        }
        print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
