"""Tests of the speech stage on the real engine (pyttsx3 over espeak-ng)."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import wave
from importlib import metadata
from pathlib import Path

import numpy as np
import pytest
from helpers import CountingEngine

from coach.cache import LENGTHS_FILE, ClipCache
from coach.clipprep import PAD_SECONDS, prepare_clip, ready_for_mix
from coach.diagnostics import CoachError, SpeechError
from coach.plan import SpeechLine
from coach.speech import (
    Clip,
    Pyttsx3Engine,
    SpeechBudgetError,
    SpeechEngine,
    render_speech,
    resample,
)

ROOT = Path(__file__).resolve().parents[1]
RATE = 22050


@pytest.fixture(scope="module")
def engine() -> Pyttsx3Engine:
    return Pyttsx3Engine()


def synth(engine: Pyttsx3Engine, tmp_path: Path, line: SpeechLine, name: str = "clip.wav"):
    path = tmp_path / name
    engine.synthesize(line, path)
    with wave.open(str(path), "rb") as w:
        params = w.getparams()
        samples = np.frombuffer(w.readframes(w.getnframes()), dtype="<i2")
    return params, samples


def line(text: str = "Breathe in slowly", voice: str | None = None, rate: int = 175):
    return SpeechLine(text, voice, rate)


# --- engine ----------------------------------------------------------------------------------


def test_importing_coach_speech_does_not_import_pyttsx3() -> None:
    code = "import sys, coach.speech, coach.cache; print('pyttsx3' in sys.modules)"
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True
    )
    assert out.stdout.strip() == "False"


def test_engine_satisfies_the_protocol(engine: Pyttsx3Engine) -> None:
    assert isinstance(engine, SpeechEngine)


def test_voices_include_gmw_en_us(engine: Pyttsx3Engine) -> None:
    voices = {v.id: v for v in engine.voices()}
    assert "gmw/en-us" in voices
    assert voices["gmw/en-us"].languages == ("en-us",)


def test_version_names_espeak_ng_and_pyttsx3(engine: Pyttsx3Engine) -> None:
    # The installed versions, whichever they are: the espeak-ng program reports its library's.
    banner = subprocess.run(
        ["espeak-ng", "--version"], capture_output=True, text=True, check=True
    ).stdout
    found = re.search(r"text-to-speech: (\S+)", banner)
    assert found, banner
    pyttsx3_version = metadata.version("pyttsx3")
    assert engine.version() == f"pyttsx3 {pyttsx3_version}; espeak-ng {found.group(1)}"


def test_clip_is_22050_hz_mono_16_bit(engine: Pyttsx3Engine, tmp_path: Path) -> None:
    params, _ = synth(engine, tmp_path, line())
    assert (params.framerate, params.nchannels, params.sampwidth) == (RATE, 1, 2)


def test_clip_is_not_silent(engine: Pyttsx3Engine, tmp_path: Path) -> None:
    _, samples = synth(engine, tmp_path, line())
    rms = float(np.sqrt(np.mean(samples.astype(np.float64) ** 2)))
    assert rms > 500


def test_longer_text_gives_longer_clip(engine: Pyttsx3Engine, tmp_path: Path) -> None:
    _, short = synth(engine, tmp_path, line("Relax"), "short.wav")
    _, long = synth(engine, tmp_path, line("Relax your shoulders and let them sink"), "long.wav")
    assert len(long) > 2 * len(short)


def test_higher_rate_gives_shorter_clip_every_time(engine: Pyttsx3Engine, tmp_path: Path) -> None:
    # Alternating rates: pyttsx3's espeak driver can drop a rate change if it races with the
    # previous clip, so check more than the first change.
    text = "Move the balls a little higher"
    rates = [120, 300, 120, 300, 120, 300]
    lengths = [
        len(synth(engine, tmp_path, line(text, rate=r), f"{i}.wav")[1]) for i, r in enumerate(rates)
    ]
    for slow, fast in zip(lengths[0::2], lengths[1::2], strict=True):
        assert fast * 1.8 < slow


def test_voice_is_applied(engine: Pyttsx3Engine, tmp_path: Path) -> None:
    # British and American English differ in "ask", "after", "last", "dance"
    text = "Ask after the last dance"
    _, gb = synth(engine, tmp_path, line(text, voice="gmw/en"), "gb.wav")
    _, us = synth(engine, tmp_path, line(text, voice="gmw/en-us"), "us.wav")
    _, gb2 = synth(engine, tmp_path, line(text, voice="gmw/en"), "gb2.wav")
    assert abs(len(gb) - len(gb2)) < abs(len(gb) - len(us))


def test_long_text_is_complete_when_synthesize_returns(
    engine: Pyttsx3Engine, tmp_path: Path
) -> None:
    # pyttsx3's runAndWait returns before espeak-ng has finished a long text.
    text = " ".join(["Breathe in through the nose, and out through the mouth."] * 20)
    params, samples = synth(engine, tmp_path, line(text, rate=300))
    assert params.nframes / RATE > 20


def test_synthesize_prints_nothing(
    engine: Pyttsx3Engine, tmp_path: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    synth(engine, tmp_path, line("Nothing on standard output, please. " * 10))
    captured = capfd.readouterr()
    assert (captured.out, captured.err) == ("", "")


def test_synthesize_replaces_an_existing_file(engine: Pyttsx3Engine, tmp_path: Path) -> None:
    (tmp_path / "clip.wav").write_bytes(b"stale")
    params, _ = synth(engine, tmp_path, line())
    assert params.nframes > RATE // 4


def test_unknown_voice_raises_speech_error_with_did_you_mean(
    engine: Pyttsx3Engine, tmp_path: Path
) -> None:
    with pytest.raises(SpeechError, match=r"unknown voice 'gmw/en-uss'.*did you mean 'gmw/en-us'"):
        engine.synthesize(line(voice="gmw/en-uss"), tmp_path / "clip.wav")


def test_voice_without_family_suggests_the_full_id(engine: Pyttsx3Engine, tmp_path: Path) -> None:
    with pytest.raises(SpeechError, match=r"did you mean 'gmw/en-us'"):
        engine.synthesize(line(voice="en-us"), tmp_path / "clip.wav")


def test_check_voice_rejects_an_unknown_voice(engine: Pyttsx3Engine) -> None:
    with pytest.raises(SpeechError, match=r"did you mean 'gmw/en-us'"):
        engine.check_voice("gmw/en-uss")


def test_check_voice_accepts_an_installed_voice(engine: Pyttsx3Engine) -> None:
    engine.check_voice("gmw/en-us")


def test_unknown_voice_writes_no_file(engine: Pyttsx3Engine, tmp_path: Path) -> None:
    with pytest.raises(SpeechError):
        engine.synthesize(line(voice="klingon"), tmp_path / "clip.wav")
    assert list(tmp_path.iterdir()) == []


def test_empty_text_raises_speech_error(engine: Pyttsx3Engine, tmp_path: Path) -> None:
    with pytest.raises(SpeechError, match="nothing to say"):
        engine.synthesize(line("   "), tmp_path / "clip.wav")


def test_non_positive_rate_raises_speech_error(engine: Pyttsx3Engine, tmp_path: Path) -> None:
    with pytest.raises(SpeechError, match="rate"):
        engine.synthesize(line(rate=0), tmp_path / "clip.wav")


def test_engine_that_cannot_start_raises_speech_error() -> None:
    with pytest.raises(SpeechError, match="could not start"):
        Pyttsx3Engine(driver="no_such_driver").voices()


MISSING_ESPEAK = """
import ctypes
load = ctypes.cdll.LoadLibrary

def refuse_espeak(name):
    if "espeak" in str(name):
        raise OSError(f"{name}: cannot open shared object file")
    return load(name)

ctypes.cdll.LoadLibrary = refuse_espeak  # as if espeak-ng were not installed
from coach.diagnostics import SpeechError
from coach.speech import Pyttsx3Engine
try:
    Pyttsx3Engine().version()
except SpeechError as exc:
    print(exc)
"""


def test_missing_espeak_ng_says_what_to_install() -> None:
    out = subprocess.run(
        [sys.executable, "-c", MISSING_ESPEAK], cwd=ROOT, capture_output=True, text=True
    )
    assert "sudo apt-get install espeak-ng" in out.stdout, out.stderr


def test_speech_error_is_a_coach_error() -> None:
    assert issubclass(SpeechError, CoachError)


# --- render_speech ---------------------------------------------------------------------------


@pytest.fixture
def counting(engine: Pyttsx3Engine) -> CountingEngine:
    return CountingEngine(engine)


def test_render_speech_renders_each_unique_line_once(
    counting: CountingEngine, tmp_path: Path
) -> None:
    lines = [line("One"), line("Two"), line("One"), line("Two"), line("One", rate=200)]
    clips = render_speech(lines, ClipCache(tmp_path, counting), RATE)
    assert sorted(counting.calls, key=repr) == sorted(set(lines), key=repr)
    assert set(clips) == set(lines)


def test_render_speech_reports_progress_per_unique_line(
    counting: CountingEngine, tmp_path: Path
) -> None:
    calls: list[tuple[int, int]] = []
    lines = [line("One"), line("Two"), line("One"), line("Three")]
    render_speech(lines, ClipCache(tmp_path, counting), RATE, lambda d, t: calls.append((d, t)))
    assert calls == [(1, 3), (2, 3), (3, 3)]


def test_render_speech_gives_mono_int16_clips_keyed_by_cache_key(
    counting: CountingEngine, tmp_path: Path
) -> None:
    cache = ClipCache(tmp_path, counting)
    clip = render_speech([line()], cache, RATE)[line()]
    assert isinstance(clip, Clip)
    assert (clip.samples.dtype, clip.samples.ndim) == (np.dtype(np.int16), 1)
    assert clip.key == cache.key(line())


def test_render_speech_gives_the_engine_clip_prepared_for_the_mix(
    counting: CountingEngine, tmp_path: Path
) -> None:
    cache = ClipCache(tmp_path, counting)
    clip = render_speech([line()], cache, RATE)[line()]
    raw, _ = cache.load(line())
    assert np.array_equal(clip.samples, ready_for_mix(prepare_clip(raw, RATE), RATE))


def test_a_rendered_clip_starts_and_ends_with_its_pad_of_silence(
    counting: CountingEngine, tmp_path: Path
) -> None:
    clip = render_speech([line()], ClipCache(tmp_path, counting), RATE)[line()]
    pad = round(PAD_SECONDS * RATE)
    assert not clip.samples[:pad].any() and not clip.samples[-pad:].any()
    assert clip.samples[pad : pad + 20].any() or clip.samples[pad + 20 : pad + 400].any()
    # The sound fades in: its first samples after the pad are quieter than what follows.
    head = np.abs(clip.samples[pad : pad + 20].astype(int)).max()
    assert head < np.abs(clip.samples.astype(int)).max() / 4


def test_render_speech_is_repeatable_from_the_cache(
    counting: CountingEngine, tmp_path: Path
) -> None:
    first = render_speech([line()], ClipCache(tmp_path, counting), RATE)[line()]
    again = render_speech([line()], ClipCache(tmp_path, counting), RATE)[line()]
    assert np.array_equal(first.samples, again.samples)


def test_render_speech_resamples_to_another_session_rate(
    counting: CountingEngine, tmp_path: Path
) -> None:
    cache = ClipCache(tmp_path, counting)
    native = render_speech([line()], cache, RATE)[line()]
    doubled = render_speech([line()], cache, 2 * RATE)[line()]
    assert abs(len(doubled.samples) - 2 * len(native.samples)) <= 4


def test_clip_samples_are_read_only(counting: CountingEngine, tmp_path: Path) -> None:
    clip = render_speech([line()], ClipCache(tmp_path, counting), RATE)[line()]
    with pytest.raises(ValueError):
        clip.samples[0] = 1


# --- helpers ---------------------------------------------------------------------------------


def test_resample_at_the_same_rate_returns_the_same_array() -> None:
    samples = np.arange(10, dtype=np.int16)
    assert resample(samples, RATE, RATE) is samples


# --- clips read on first use -----------------------------------------------------------------


def test_render_speech_records_each_clip_s_length(counting: CountingEngine, tmp_path: Path) -> None:
    clip = render_speech([line()], ClipCache(tmp_path, counting), RATE)[line()]
    assert clip.length == len(clip.samples)
    recorded = json.loads((tmp_path / LENGTHS_FILE).read_text())
    assert list(recorded.values()) == [{clip.key: clip.length}]


def test_a_known_clip_is_read_only_when_its_samples_are_used(
    counting: CountingEngine, tmp_path: Path
) -> None:
    """The second run takes the length from the record; a clip damaged meanwhile (the
    stored clip and its session-ready copy) is found and rendered again when the mixer
    first asks for it, at its recorded length."""
    cache = ClipCache(tmp_path, counting)
    first = render_speech([line()], cache, RATE)[line()]
    first.samples  # noqa: B018 - made ready for the mix, and kept
    (ready,) = tmp_path.glob("derived-*.pcm")
    for path in (cache.path(line()), ready):
        path.write_bytes(path.read_bytes()[:-200])  # truncated on disk
    again = render_speech([line()], ClipCache(tmp_path, counting), RATE)[line()]
    assert again.length == first.length and len(counting.calls) == 1  # nothing read yet
    samples = again.samples
    assert len(counting.calls) == 2  # rendered again on first use
    assert len(samples) == first.length and not samples.flags.writeable


def test_rendering_leaves_the_level_to_the_mix_and_knows_the_length_already(
    counting: CountingEngine, tmp_path: Path
) -> None:
    """`coach show` never needs a clip's level worked out: rendering only measures how long
    the clip will be; the mix makes it ready the first time it needs it, and keeps it."""
    cache = ClipCache(tmp_path, counting)
    clip = render_speech([line()], cache, RATE)[line()]
    assert list(tmp_path.glob("derived-*.pcm")) == []
    raw, _ = cache.load(line())
    assert clip.length == len(prepare_clip(raw, RATE))  # measured, not made
    clip.samples  # noqa: B018
    assert len(list(tmp_path.glob("derived-*.pcm"))) == 1


def test_a_warm_run_reads_the_session_ready_clip_and_prepares_nothing(
    counting: CountingEngine, tmp_path: Path
) -> None:
    first = render_speech([line()], ClipCache(tmp_path, counting), RATE)[line()]
    first.samples  # noqa: B018 - made ready for the mix, and kept
    cache = ClipCache(tmp_path, counting)
    again = render_speech([line()], cache, RATE)[line()]
    assert np.array_equal(again.samples, first.samples)
    assert (cache.hits, cache.misses) == (0, 0)  # the stored clip was not even read


def test_a_damaged_session_ready_clip_is_made_again_from_the_stored_clip(
    counting: CountingEngine, tmp_path: Path
) -> None:
    first = render_speech([line()], ClipCache(tmp_path, counting), RATE)[line()]
    first.samples  # noqa: B018 - made ready for the mix, and kept
    (ready,) = tmp_path.glob("derived-*.pcm")
    ready.write_bytes(ready.read_bytes()[:-3] + b"xyz")  # damaged, same size
    cache = ClipCache(tmp_path, counting)
    assert np.array_equal(render_speech([line()], cache, RATE)[line()].samples, first.samples)
    assert (cache.hits, len(counting.calls)) == (1, 1)  # read from the cache, no engine


def test_a_damaged_length_record_is_ignored(counting: CountingEngine, tmp_path: Path) -> None:
    cache = ClipCache(tmp_path, counting)
    first = render_speech([line()], cache, RATE)[line()]
    for damage in (b"{not json", b"[1, 2]", b'{"22050": "x"}'):
        (tmp_path / LENGTHS_FILE).write_bytes(damage)
        again = render_speech([line()], ClipCache(tmp_path, counting), RATE)[line()]
        assert np.array_equal(again.samples, first.samples)
    assert len(counting.calls) == 1  # the clips themselves were fine


def test_a_recorded_clip_missing_on_disk_is_rendered_at_once(
    counting: CountingEngine, tmp_path: Path
) -> None:
    cache = ClipCache(tmp_path, counting)
    render_speech([line()], cache, RATE)
    cache.path(line()).unlink()
    for ready in tmp_path.glob("derived-*.pcm"):
        ready.unlink()
    render_speech([line()], ClipCache(tmp_path, counting), RATE)
    assert len(counting.calls) == 2


LISTING = """
import sys, subprocess
def refuse(*args, **kwargs):
    raise AssertionError("listing voices started a process")
subprocess.Popen = refuse
from coach.speech import Pyttsx3Engine
engine = Pyttsx3Engine()
print(len(engine.voices()), engine.version(), "pyttsx3" in sys.modules)
"""


def test_voices_and_version_are_read_without_pyttsx3_or_a_worker() -> None:
    out = subprocess.run(
        [sys.executable, "-c", LISTING], cwd=ROOT, capture_output=True, text=True, check=True
    )
    count, *version, imported = out.stdout.split()
    assert int(count) > 50 and " ".join(version).startswith("pyttsx3 ")
    assert imported == "False"


def test_render_speech_stops_once_the_speech_passes_its_budget(
    counting: CountingEngine, tmp_path: Path
) -> None:
    many = [line(f"This is line number {n} of a long talk.") for n in range(40)]
    with pytest.raises(SpeechBudgetError) as error:
        render_speech(many, ClipCache(tmp_path, counting), RATE, budget=3 * RATE)
    assert error.value.line in many
    assert "by this line" in str(error.value)
    assert len(counting.calls) < len(many)  # stopped early: not every line was made


def test_clips_found_in_the_cache_count_toward_the_budget(
    counting: CountingEngine, tmp_path: Path
) -> None:
    cache = ClipCache(tmp_path, counting)
    render_speech([line("One"), line("Two")], cache, RATE)
    made = len(counting.calls)
    with pytest.raises(SpeechBudgetError):
        render_speech([line("One"), line("Two")], cache, RATE, budget=RATE // 10)
    assert len(counting.calls) == made  # refused on what the cache already holds


def test_budget_error_names_the_limit_in_hours() -> None:
    error = SpeechBudgetError(line("Hi"), 4 * 3600.0)
    assert str(error) == (
        "the routine's speech lasts more than 4 hours by this line, over the limit of "
        "4 hours for a whole routine; nothing more is rendered"
    )
