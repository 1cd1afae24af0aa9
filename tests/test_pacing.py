"""The listener's pacing options, run as a user runs them: the real CLI, engine and mixer."""

from __future__ import annotations

import json
import subprocess
import wave
from pathlib import Path

import numpy as np
import pyloudnorm
import pytest
from helpers import run_coach

from coach import session
from coach.cli_session import pacing_overrides
from coach.compiler import AFTER_CLICK
from coach.mixer import mix_all
from coach.timeline import Timeline

FIXTURES = Path(__file__).parent / "fixtures" / "pacing"
SPEECH = str(FIXTURES / "speech.routine")
REPS = str(FIXTURES / "reps.routine")
CLICKS = str(FIXTURES / "clicks.routine")
BREATHE = str(FIXTURES / "breathe.routine")


@pytest.fixture(scope="module")
def cache(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("cache")


@pytest.fixture
def run(cache, tmp_path):
    """run(*args) -> CompletedProcess of `python -m coach ARGS` with an empty profile."""

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        env = {"COACH_CONFIG": str(tmp_path / "no-profile.toml")}
        return run_coach(*args, env=env, cache=cache)

    return run


@pytest.fixture
def show(run):
    """show(ROUTINE, *options) -> the timeline of `coach show --json`."""

    def show(routine: str, *options: str) -> dict:
        result = run("show", routine, "--json", *options)
        assert result.returncode == 0, result.stderr
        return json.loads(result.stdout)

    return show


@pytest.fixture
def export(run, tmp_path):
    """export(ROUTINE, *options) -> (timeline, float samples in -1..1) of a WAV export."""

    def export(routine: str, *options: str) -> tuple[dict, np.ndarray]:
        out = tmp_path / f"out-{abs(hash(options))}.wav"
        result = run("export", routine, "-o", str(out), *options)
        assert result.returncode == 0, result.stderr
        shown = run("show", routine, "--json", *options)
        assert shown.returncode == 0, shown.stderr
        return json.loads(shown.stdout), read_wav(out)

    return export


def read_wav(path: Path) -> np.ndarray:
    with wave.open(str(path), "rb") as w:
        assert (w.getnchannels(), w.getsampwidth(), w.getframerate()) == (1, 2, 22050)
        raw = w.readframes(w.getnframes())
    return np.frombuffer(raw, dtype="<i2").astype(np.float64) / 32768.0


def events(timeline: dict, kind: str) -> list[dict]:
    return [e for e in timeline["events"] if e["kind"] == kind]


def span(timeline: dict, event: dict, samples: np.ndarray) -> np.ndarray:
    rate = timeline["sample_rate"]
    start = round(event["start"] * rate)
    return samples[start : start + round(event["duration"] * rate)]


def rms(samples: np.ndarray) -> float:
    return float(np.sqrt(np.mean(samples**2)))


def fundamental(samples: np.ndarray, rate: int = 22050) -> float:
    """Median F0 in Hz over the loud, voiced 40 ms frames, by autocorrelation."""
    size, hop = int(0.04 * rate), int(0.01 * rate)
    frames = [samples[i : i + size] for i in range(0, len(samples) - size, hop)]
    loudest = max(rms(f) for f in frames)
    shortest, longest = rate // 500, rate // 60  # lags for 500 Hz down to 60 Hz
    found = []
    for frame in frames:
        if rms(frame) < 0.3 * loudest:
            continue
        frame = frame - frame.mean()
        correlation = np.correlate(frame, frame, "full")[size - 1 :]
        correlation /= correlation[0]
        lag = shortest + int(np.argmax(correlation[shortest:longest]))
        if correlation[lag] > 0.5:  # clearly periodic: voiced
            found.append(rate / lag)
    assert len(found) > 20, "too few voiced frames to estimate the pitch"
    return float(np.median(found))


def spacing(timeline: dict, kind: str = "click") -> list[float]:
    starts = [e["start"] for e in events(timeline, kind)]
    return [round(b - a, 4) for a, b in zip(starts, starts[1:])]


def test_a_slower_rate_makes_longer_speech(show):
    slow = events(show(SPEECH, "--rate", "100"), "speech")
    fast = events(show(SPEECH, "--rate", "250"), "speech")
    assert [e["text"] for e in slow] == [e["text"] for e in fast]
    for s, f in zip(slow, fast):
        assert s["duration"] > 1.6 * f["duration"], (s, f)


def test_a_higher_pitch_raises_the_voice(export):
    low_timeline, low = export(SPEECH, "--pitch", "20")
    high_timeline, high = export(SPEECH, "--pitch", "80")
    low_f0 = fundamental(span(low_timeline, events(low_timeline, "speech")[0], low))
    high_f0 = fundamental(span(high_timeline, events(high_timeline, "speech")[0], high))
    assert high_f0 > 1.3 * low_f0, (low_f0, high_f0)


def plain_mix(cache: Path, routine: str, **options: float) -> tuple[Timeline, np.ndarray]:
    """The timeline and the mix before levelling (no speech level, loudness gain or limiter),
    in -1..1, of ROUTINE built with the pacing options' values as the command line reads
    them (`volume=50` for `--volume 50`)."""
    built = session.build(routine, pacing_overrides(**options), cache)
    plain = mix_all(built.timeline, built.bank, level=False)
    return built.timeline, plain.astype(np.float64) / 32768.0


def click_peaks(timeline: Timeline, samples: np.ndarray) -> list[float]:
    """Each click's peak, from its click to where its beat word starts."""
    heard = round(AFTER_CLICK * timeline.sample_rate)
    clicks = [e for e in timeline.events if e.kind == "click"]
    return [float(np.max(np.abs(samples[c.start : c.start + heard]))) for c in clicks]


def speech_levels(timeline: Timeline, samples: np.ndarray) -> list[float]:
    """Each spoken line's RMS over its samples where no click sounds."""
    sounding = np.zeros(timeline.length, dtype=bool)
    for event in timeline.events:
        if event.kind == "click":
            sounding[event.start : event.end] = True
    found = []
    for event in (e for e in timeline.events if e.kind == "speech"):
        alone = ~sounding[event.start : event.end]
        assert alone.sum() > 0.1 * timeline.sample_rate, event
        found.append(rms(samples[event.start : event.end][alone]))
    return found


def lufs(samples: np.ndarray) -> float:
    return float(pyloudnorm.Meter(22050).integrated_loudness(samples))


def test_volume_50_halves_the_speech(cache, export):
    """--volume sets the speech against the metronome; the file's loudness stays the target."""
    full_timeline, full = plain_mix(cache, CLICKS)
    half_timeline, half = plain_mix(cache, CLICKS, volume=50)
    assert full_timeline.events == [
        e.louder(2.0) if e.kind == "speech" else e for e in half_timeline.events
    ]
    for loud, quiet in zip(speech_levels(full_timeline, full), speech_levels(half_timeline, half)):
        assert quiet / loud == pytest.approx(0.5, abs=0.01)  # 6 dB down ...
    assert click_peaks(half_timeline, half) == click_peaks(full_timeline, full)  # ... on the beat
    # Levelled, both exports land at -16 LUFS: --volume is a balance, not the output level.
    full_export, half_export = export(CLICKS)[1], export(CLICKS, "--volume", "50")[1]
    assert lufs(full_export) == pytest.approx(-16.0, abs=1.0)
    assert lufs(half_export) == pytest.approx(-16.0, abs=1.0)


def test_click_volume_sets_the_metronome_gain(cache):
    """--click-volume sets the metronome against the speech, accented clicks and plain alike."""
    loud_timeline, loud = plain_mix(cache, CLICKS, click_volume=200)
    soft_timeline, soft = plain_mix(cache, CLICKS, click_volume=50)
    assert len(click_peaks(loud_timeline, loud)) == 8
    for strong, weak in zip(click_peaks(loud_timeline, loud), click_peaks(soft_timeline, soft)):
        assert strong / weak == pytest.approx(4.0, rel=0.02)
    for a, b in zip(speech_levels(loud_timeline, loud), speech_levels(soft_timeline, soft)):
        assert a / b == pytest.approx(1.0, abs=0.01)


def test_gap_sets_the_silence_between_spoken_lines(show):
    for gap, seconds in (("0.2s", 0.2), ("2", 2.0), ("1.5 sec", 1.5)):
        first, second = events(show(SPEECH, "--gap", gap), "speech")
        assert second["start"] - (first["start"] + first["duration"]) == pytest.approx(
            seconds, abs=1e-4
        )


def test_slower_and_faster_scale_the_rep_spacing(show):
    assert set(spacing(show(REPS))) == {3.0}  # 20 per minute
    assert set(spacing(show(REPS, "--slower", "20"))) == {3.75}  # 1.25x
    assert set(spacing(show(REPS, "--faster", "100"))) == {1.5}  # halved
    assert set(spacing(show(REPS, "--tempo", "30"))) == {2.0}


@pytest.mark.parametrize(
    "options",
    [
        ("--tempo", "20", "--slower", "10"),
        ("--slower", "10", "--faster", "10"),
        ("--faster", "10", "--tempo", "20"),
    ],
)
def test_tempo_slower_and_faster_exclude_each_other(run, options):
    result = run("show", REPS, *options)
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr
    for name in options[0::2]:
        assert name in result.stderr
    assert "cannot be used together" in result.stderr


@pytest.mark.parametrize(
    ("option", "value"),
    [
        ("--slower", "95"),
        ("--slower", "0"),
        ("--faster", "301"),
        ("--pitch", "101"),
        ("--volume", "201"),
        ("--click-volume", "-1"),
        ("--gap", "11s"),
        ("--rate", "30"),
    ],
)
def test_out_of_range_values_are_usage_errors(run, option, value):
    result = run("show", REPS, option, value)
    assert result.returncode == 2, result.stderr
    assert f"'{option}'" in result.stderr and "Traceback" not in result.stderr


def hisses_and_quiet(timeline: dict) -> tuple[list[float], list[float]]:
    """Each hiss's length, and the quiet after it until the next event starts."""
    hisses = events(timeline, "hiss")
    starts = sorted(e["start"] for e in timeline["events"])
    quiet = []
    for hiss in hisses:
        end = hiss["start"] + hiss["duration"]
        later = [at for at in starts if at > hiss["start"]]
        quiet.append(round(min(later) - end, 4) if later else timeline["duration"] - end)
    return [h["duration"] for h in hisses], quiet


def test_breath_paces_every_breathe_cycle(show):
    # A hiss lasts its exhale less 0.55 s: at least 0.5 s of quiet before the next cue.
    plain = show(BREATHE)
    lengths, quiet = hisses_and_quiet(plain)
    assert lengths == pytest.approx([6.0 - 0.55] * 2, abs=1e-4)
    assert quiet == pytest.approx([0.55, 0.55], abs=1e-4)
    paced = show(BREATHE, "--breath", "3-1-5")
    lengths, quiet = hisses_and_quiet(paced)
    assert lengths == pytest.approx([5.0 - 0.55] * 2, abs=1e-4)
    assert quiet == pytest.approx([0.55, 0.55], abs=1e-4)
    spoken = [(e["start"], e["text"]) for e in events(paced, "speech")]
    start = spoken[0][0]
    assert [(round(at - start, 4), text) for at, text in spoken] == [
        (0.0, "Breathe in."),
        (3.0, "Hold."),
        (4.0, "Breathe out."),
        (9.0, "Breathe in."),
        (12.0, "Hold."),
        (13.0, "Breathe out."),
    ]
    assert [round(h["start"] - start, 4) for h in events(paced, "hiss")] == [4.0, 13.0]
    assert paced["duration"] == pytest.approx(plain["duration"] - 2 * 10 + 2 * 9, abs=1e-4)


def test_breath_in_out_and_four_parts(show):
    two = show(BREATHE, "--breath", "2.5-3.5")
    lengths, quiet = hisses_and_quiet(two)
    assert lengths == pytest.approx([3.5 - 0.55] * 2, abs=1e-4)
    assert quiet == pytest.approx([0.55, 0.55], abs=1e-4)
    assert spacing(two, "hiss") == [6.0]
    four = show(BREATHE, "--breath", "4-4-4-4")
    assert spacing(four, "hiss") == [16.0]
    assert "Hold." in [e["text"] for e in events(four, "speech")]


@pytest.mark.parametrize("value", ["4", "4-x", "0-6", "4-0", "1-2-3-4-5", "4-61", "4--6", ""])
def test_a_bad_breath_pattern_is_a_usage_error(run, value):
    result = run("show", BREATHE, "--breath", value)
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr
    assert "'--breath'" in result.stderr
    assert "IN-OUT, IN-HOLD-OUT or IN-HOLD-OUT-HOLD" in result.stderr


def test_pacing_options_are_on_show_play_and_export(run):
    for command in ("show", "play", "export"):
        result = run(command, "--help")
        assert result.returncode == 0, result.stderr
        for option in (
            "--rate WPM",
            "--voice ID",
            "--pitch PITCH",
            "--volume PERCENT",
            "--click-volume PERCENT",
            "--gap DURATION",
            "--tempo N",
            "--slower PERCENT",
            "--faster PERCENT",
            "--breath PATTERN",
            "--minutes N",
            "--cache-dir",
        ):
            assert option in result.stdout, (command, option)
