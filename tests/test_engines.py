"""Speech engines through the one factory, on the real programs: festival, flite, espeak-ng."""

from __future__ import annotations

import os
import subprocess
import sys
import time
import wave
from pathlib import Path

import numpy as np
import pytest

from coach import synthesis
from coach.cache import ClipCache
from coach.clipprep import prepare_clip
from coach.command_engine import CommandEngine
from coach.diagnostics import SpeechError
from coach.engine import SpeechEngine, pitch_factor
from coach.engines import chosen_name, default_name, make_engine
from coach.festival_engine import FestivalEngine, has_hts_voice
from coach.flite_engine import FliteEngine
from coach.flite_engine import installed as flite_installed
from coach.plan import SpeechLine
from coach.pyttsx3_engine import Pyttsx3Engine
from coach.speech import SpeechLineError, render_speech

ROOT = Path(__file__).resolve().parent.parent
GOOD = str(ROOT / "tests" / "fixtures" / "cli" / "good.routine")
PASSAGE = (
    "Lie on your back with the balls under your shoulder blades. Breathe in slowly, and "
    "breathe out with a long Ssss. Roll a little higher, and hold it there."
)
needs_festival = pytest.mark.skipif(not has_hts_voice(), reason="festival's HTS voice missing")
needs_flite = pytest.mark.skipif(not flite_installed(), reason="flite is not installed")


def speech_seconds(samples: np.ndarray, rate: int) -> float:
    return len(prepare_clip(samples, rate)) / rate


def median_f0(samples: np.ndarray, rate: int) -> float:
    """The median pitch of the voiced frames (autocorrelation), in Hz."""
    x = samples.astype(np.float64)
    n, found = int(0.04 * rate), []
    for start in range(0, len(x) - n, n // 2):
        frame = x[start : start + n] - x[start : start + n].mean()
        if np.sqrt((frame**2).mean()) < 500:
            continue
        corr = np.correlate(frame, frame, "full")[n - 1 :]
        low, high = rate // 400, rate // 60
        lag = low + int(np.argmax(corr[low:high]))
        if corr[lag] > 0.5 * corr[0]:
            found.append(rate / lag)
    return float(np.median(found))


def alive(pid: int, wait: float = 2.0) -> bool:
    """Whether process `pid` still runs `wait` seconds on (a zombie has ended)."""
    deadline = time.monotonic() + wait
    while time.monotonic() < deadline:
        try:
            state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
        except (FileNotFoundError, ProcessLookupError):
            return False
        if state in ("Z", "X"):
            return False
        time.sleep(0.05)
    return True


def coach_without_engine_env(
    *args: str, tmp_path: Path, **env: str
) -> subprocess.CompletedProcess[str]:
    environment = {k: v for k, v in os.environ.items() if k != "COACH_ENGINE"}
    environment.update(COACH_CACHE_DIR=str(tmp_path / "cache"), **env)
    return subprocess.run(
        [sys.executable, "-m", "coach", *args],
        capture_output=True,
        text=True,
        env=environment,
        cwd=ROOT,
        timeout=300,
        stdin=subprocess.DEVNULL,
    )


# ---------------------------------------------------------------------------------------------
# the factory and the default


def test_factory_makes_each_engine_by_name() -> None:
    assert isinstance(make_engine("pyttsx3"), Pyttsx3Engine)
    assert isinstance(make_engine("festival"), FestivalEngine)
    assert isinstance(make_engine("flite"), FliteEngine)
    template = make_engine("espeak-ng --stdin -w {out}")
    assert isinstance(template, CommandEngine)
    for engine in (make_engine("pyttsx3"), make_engine("flite"), template):
        assert isinstance(engine, SpeechEngine)


def test_unknown_engines_and_bad_templates_are_one_clear_message() -> None:
    with pytest.raises(
        SpeechError, match=r"unknown speech engine 'festvial'; did you mean 'festival'"
    ):
        make_engine("festvial")
    with pytest.raises(SpeechError, match=r"has no \{out\}"):
        make_engine("piper --model M")
    with pytest.raises(SpeechError, match=r"'no-such-tts' is not installed"):
        make_engine("no-such-tts -o {out}")
    with pytest.raises(SpeechError, match="cannot read the engine command"):
        make_engine("say 'unclosed {out}")


def test_the_environment_beats_the_profile_which_beats_the_default(tmp_path, monkeypatch) -> None:
    profile = tmp_path / "config.toml"
    monkeypatch.setenv("COACH_CONFIG", str(profile))
    monkeypatch.delenv("COACH_ENGINE")
    assert chosen_name() == default_name()
    profile.write_text('engine = "flite"\n', encoding="utf-8")
    assert chosen_name() == "flite"
    monkeypatch.setenv("COACH_ENGINE", "pyttsx3")
    assert chosen_name() == "pyttsx3"


@needs_festival
def test_on_linux_the_default_is_festival_s_hts_voice(tmp_path, monkeypatch) -> None:
    """Without COACH_ENGINE or a profile's engine, a session speaks with festival's HTS voice:
    its clips are the ones festival's key names."""
    from coach import session

    monkeypatch.delenv("COACH_ENGINE")
    assert default_name() == "festival"
    built = session.build(GOOD, cache_dir=tmp_path)
    line = next(iter(built.plan.speech_lines()))
    expected = ClipCache(tmp_path, FestivalEngine()).key(line)
    assert expected in {e.source for e in built.timeline.events if e.kind == "speech"}


# ---------------------------------------------------------------------------------------------
# rate and pitch mean the same on every engine


@needs_festival
@needs_flite
@pytest.mark.parametrize("name", ["festival", "flite", "pyttsx3"])
def test_rate_is_words_per_minute_on_every_engine(name: str, tmp_path: Path) -> None:
    """Each engine takes about as long as espeak-ng at the same rate, and half as long at twice
    the rate."""
    reference = ClipCache(tmp_path / "ref", Pyttsx3Engine())
    espeak = speech_seconds(*reference.load(SpeechLine(PASSAGE, None, 150)))
    cache = ClipCache(tmp_path / name, make_engine(name))
    at_150 = speech_seconds(*cache.load(SpeechLine(PASSAGE, None, 150)))
    at_300 = speech_seconds(*cache.load(SpeechLine(PASSAGE, None, 300)))
    assert 0.8 < at_150 / espeak < 1.25
    assert 0.4 < at_300 / at_150 < 0.62


@needs_flite
def test_pitch_moves_flite_as_far_as_espeak_ng(tmp_path: Path) -> None:
    espeak = ClipCache(tmp_path / "espeak", Pyttsx3Engine())
    flite = ClipCache(tmp_path / "flite", FliteEngine())
    for pitch in (20, 90):
        ratios = []
        for cache in (espeak, flite):
            own = median_f0(*cache.load(SpeechLine(PASSAGE, None, 150, 50)))
            moved = median_f0(*cache.load(SpeechLine(PASSAGE, None, 150, pitch)))
            ratios.append(moved / own)
        assert abs(ratios[1] / ratios[0] - 1) < 0.12, (pitch, ratios)
        assert abs(ratios[1] / pitch_factor(pitch) - 1) < 0.12


def test_the_cache_key_holds_engine_voice_rate_pitch_and_text(tmp_path: Path) -> None:
    flite = ClipCache(tmp_path, FliteEngine())
    line = SpeechLine("Hold it.", None, 150)
    keys = {
        flite.key(line),
        ClipCache(tmp_path, Pyttsx3Engine()).key(line),
        ClipCache(tmp_path, CommandEngine("espeak-ng --stdin -w {out}")).key(line),
        flite.key(SpeechLine("Hold it.", "rms", 150)),
        flite.key(SpeechLine("Hold it.", None, 151)),
        flite.key(SpeechLine("Hold it.", None, 150, 60)),
        flite.key(SpeechLine("Hold it!", None, 150)),
    }
    assert len(keys) == 7


# ---------------------------------------------------------------------------------------------
# voices


@needs_flite
def test_voices_are_looked_up_within_the_chosen_engine() -> None:
    assert {"slt", "rms", "awb", "kal"} <= {v.id for v in FliteEngine().voices()}
    assert "awb_time" not in {v.id for v in FliteEngine().voices()}
    FliteEngine().check_voice("RMS")
    with pytest.raises(SpeechError, match=r"unknown voice 'gmw/en-us' for the flite engine"):
        FliteEngine().check_voice("gmw/en-us")


@needs_festival
def test_festival_lists_its_hts_voice() -> None:
    assert "cmu_us_slt_arctic_hts" in {v.id for v in FestivalEngine().voices()}
    with pytest.raises(SpeechError, match="did you mean 'cmu_us_slt_arctic_hts'"):
        FestivalEngine().check_voice("cmu_us_slt_arctic_hs")


@needs_festival
@needs_flite
def test_coach_voices_lists_every_installed_engine_and_one_with_engine(tmp_path) -> None:
    everything = coach_without_engine_env("voices", tmp_path=tmp_path)
    assert everything.returncode == 0, everything.stderr
    rows = [line.split()[:2] for line in everything.stdout.splitlines()]
    assert ["festival", "cmu_us_slt_arctic_hts"] in rows
    assert ["flite", "slt"] in rows and ["pyttsx3", "gmw/en-us"] in rows
    one = coach_without_engine_env("voices", "--engine", "flite", tmp_path=tmp_path)
    assert one.returncode == 0, one.stderr
    assert [line.split()[0] for line in one.stdout.splitlines()] == [
        v.id for v in FliteEngine().voices()
    ]


def test_engine_option_refuses_what_is_no_engine(tmp_path) -> None:
    result = coach_without_engine_env("show", GOOD, "--engine", "festvial", tmp_path=tmp_path)
    assert result.returncode == 2
    assert "Invalid value for '--engine': expected a speech engine" in result.stderr
    assert "Traceback" not in result.stderr


@needs_flite
def test_profile_engine_is_used_by_show(tmp_path) -> None:
    profile = tmp_path / "config.toml"
    profile.write_text('engine = "flite"\nvoice = "rms"\n', encoding="utf-8")
    result = coach_without_engine_env("show", GOOD, tmp_path=tmp_path, COACH_CONFIG=str(profile))
    assert result.returncode == 0, result.stderr
    # rms is flite's: with any other engine the profile's voice would be an error
    wrong = coach_without_engine_env(
        "show", GOOD, "--engine", "pyttsx3", tmp_path=tmp_path, COACH_CONFIG=str(profile)
    )
    assert wrong.returncode == 1 and "unknown voice 'rms'" in wrong.stderr


# ---------------------------------------------------------------------------------------------
# command templates, crashes and hangs


def test_a_command_template_gets_the_text_on_stdin_with_no_shell(tmp_path: Path) -> None:
    engine = CommandEngine("espeak-ng --stdin -w {out}")
    line = SpeechLine("-v and $(rm -rf /) are read aloud, not run", None, 150)
    samples, rate = ClipCache(tmp_path, engine).load(line)
    assert rate == 22050 and speech_seconds(samples, rate) > 1.5


def test_a_crashing_command_is_one_error_naming_the_line_and_leaves_no_clip(tmp_path) -> None:
    engine = CommandEngine("sh -c 'kill -SEGV $$' sh {out}")
    line = SpeechLine("Roll higher.", None, 150)
    with pytest.raises(SpeechLineError) as caught:
        render_speech([line], ClipCache(tmp_path, engine), 22050)
    assert caught.value.line == line
    assert "crashed (signal SIGSEGV) saying 'Roll higher.'" in str(caught.value)
    assert list(tmp_path.iterdir()) == []


def test_a_failing_command_says_what_it_printed(tmp_path) -> None:
    engine = CommandEngine("sh -c 'echo no model here >&2; exit 3' sh {out}")
    with pytest.raises(SpeechLineError, match=r"failed \(exit status 3\): no model here"):
        render_speech([SpeechLine("Rest.", None, 150)], ClipCache(tmp_path, engine), 22050)


def test_a_hanging_command_is_killed_at_its_limit_with_what_it_started(tmp_path) -> None:
    marker = tmp_path / "child.pid"
    engine = CommandEngine(f"sh -c 'sleep 60 & echo $! > {marker}; wait' sh {{out}}", timeout=1.0)
    line = SpeechLine("Hold.", None, 150)
    with pytest.raises(SpeechLineError, match=r"took longer than its limit of 2 s"):
        render_speech([line], ClipCache(tmp_path / "cache", engine), 22050)
    child = int(marker.read_text())
    assert not alive(child)
    assert synthesis.worker_pids() == []


@needs_flite
def test_cold_rendering_reports_progress_for_every_line(tmp_path) -> None:
    lines = [SpeechLine(f"Rep {n}.", None, 150) for n in range(1, 7)]
    seen: list[tuple[int, int]] = []
    cache = ClipCache(tmp_path, FliteEngine())
    clips = render_speech(lines, cache, 22050, lambda done, total: seen.append((done, total)))
    assert len(clips) == 6
    assert seen == [(n, 6) for n in range(1, 7)]


def test_speech_and_cache_do_not_import_each_other() -> None:
    code = (
        "import sys, importlib; m = sys.argv[1]; importlib.import_module(m); "
        "other = {'coach.speech': 'coach.cache', 'coach.cache': 'coach.speech'}[m]; "
        "print(other in sys.modules)"
    )
    for module in ("coach.speech", "coach.cache"):
        found = subprocess.run(
            [sys.executable, "-c", code, module], capture_output=True, text=True, cwd=ROOT
        )
        assert found.stdout.strip() == "False", (module, found.stderr)


@needs_festival
def test_festival_writes_at_the_session_rate(tmp_path) -> None:
    out = tmp_path / "clip.wav"
    FestivalEngine().synthesize(SpeechLine("Breathe out.", None, 150), out)
    with wave.open(str(out)) as w:
        assert (w.getframerate(), w.getnchannels()) == (22050, 1)
