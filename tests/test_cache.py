"""Tests of the clip cache on the real engine (pyttsx3 over espeak-ng)."""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import signal
import subprocess
import sys
import time
import wave
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from helpers import CountingEngine

import coach.cache as cache_module
from coach.atomic import temp_name
from coach.cache import (
    CLIP_MAX_BYTES,
    LENGTHS_FILE,
    LENGTHS_MAX_BYTES,
    CacheError,
    ClipCache,
    default_cache_dir,
    read_bounded,
)
from coach.clipformat import decode_clip
from coach.diagnostics import CoachError, SpeechError
from coach.plan import SpeechLine
from coach.speech import Pyttsx3Engine, SpeechEngine

ROOT = Path(__file__).resolve().parents[1]
LINE = SpeechLine("Breathe in slowly", None, 175)


@pytest.fixture(scope="module")
def real_engine() -> Pyttsx3Engine:
    return Pyttsx3Engine()


@pytest.fixture
def engine(real_engine: Pyttsx3Engine) -> CountingEngine:
    return CountingEngine(real_engine)


@pytest.fixture
def cache(tmp_path: Path, engine: CountingEngine) -> ClipCache:
    return ClipCache(tmp_path / "cache", engine)


def files(directory: Path) -> list[str]:
    return sorted(p.name for p in directory.iterdir()) if directory.exists() else []


# --- hits and misses -------------------------------------------------------------------------


def test_miss_renders_the_clip(cache: ClipCache, engine: CountingEngine) -> None:
    samples, rate = cache.load(LINE)
    assert (engine.calls, cache.misses, rate) == ([LINE], 1, 22050)
    assert samples.dtype == np.int16 and len(samples) > rate // 4


def test_miss_stores_the_clip_under_its_key(cache: ClipCache) -> None:
    cache.load(LINE)
    assert files(cache.directory) == [f"{cache.key(LINE)}.wav"]


def test_hit_does_not_render_again(cache: ClipCache, engine: CountingEngine) -> None:
    first, _ = cache.load(LINE)
    again = ClipCache(cache.directory, engine)
    second, _ = again.load(LINE)
    assert (len(engine.calls), again.hits, again.misses) == (1, 1, 0)
    assert np.array_equal(first, second)


def test_missing_cache_directory_is_created(tmp_path: Path, engine: CountingEngine) -> None:
    cache = ClipCache(tmp_path / "a" / "b" / "c", engine)
    cache.load(LINE)
    assert cache.path(LINE).is_file()


def test_stored_clip_is_a_wav_that_the_wave_module_reads(cache: ClipCache) -> None:
    samples, _ = cache.load(LINE)
    with wave.open(str(cache.path(LINE)), "rb") as w:
        assert (w.getnchannels(), w.getsampwidth(), w.getframerate()) == (1, 2, 22050)
        assert np.array_equal(np.frombuffer(w.readframes(w.getnframes()), "<i2"), samples)


# --- keys ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "other",
    [
        SpeechLine("Breathe in slowly", "gmw/en-us", 175),
        SpeechLine("Breathe in slowly", None, 176),
        SpeechLine("Breathe in slowly.", None, 175),
        SpeechLine("Breathe in slowly", "None", 175),
    ],
    ids=["voice", "rate", "text", "none-vs-string-none"],
)
def test_key_changes_with_each_part_of_the_line(cache: ClipCache, other: SpeechLine) -> None:
    assert cache.key(other) != cache.key(LINE)


def test_key_changes_with_engine_version(tmp_path: Path, real_engine: Pyttsx3Engine) -> None:
    old = ClipCache(tmp_path, CountingEngine(real_engine, version="espeak-ng 1.51"))
    new = ClipCache(tmp_path, CountingEngine(real_engine, version="espeak-ng 1.52"))
    assert old.key(LINE) != new.key(LINE)


def test_key_changes_with_format_version(cache: ClipCache, monkeypatch: pytest.MonkeyPatch) -> None:
    before = cache.key(LINE)
    monkeypatch.setattr(cache_module, "FORMAT_VERSION", "coach-clip-test")
    assert cache.key(LINE) != before


def test_key_is_stable(cache: ClipCache) -> None:
    assert cache.key(LINE) == cache.key(SpeechLine("Breathe in slowly", None, 175))
    assert len(cache.key(LINE)) == 64


def test_engine_upgrade_renders_again(tmp_path: Path, real_engine: Pyttsx3Engine) -> None:
    ClipCache(tmp_path, CountingEngine(real_engine, version="v1")).load(LINE)
    upgraded = ClipCache(tmp_path, CountingEngine(real_engine, version="v2"))
    upgraded.load(LINE)
    assert upgraded.misses == 1


# --- atomic writes ---------------------------------------------------------------------------


def test_no_temporary_files_are_left_after_rendering(cache: ClipCache) -> None:
    for text in ["One", "Two", "Three"]:
        cache.load(SpeechLine(text, None, 175))
    names = files(cache.directory)
    assert len(names) == 3
    assert all(name.endswith(".wav") and not name.startswith(".") for name in names)


def test_synthesis_failure_leaves_no_files(cache: ClipCache) -> None:
    with pytest.raises(SpeechError, match="unknown voice"):
        cache.load(SpeechLine("Hello", "no-such-voice", 175))
    assert files(cache.directory) == []


class TruncatingEngine(CountingEngine):
    """Real synthesis, then the output is cut short: an engine that wrote a broken file."""

    def synthesize(self, line: SpeechLine, path: Path) -> None:
        super().synthesize(line, path)
        with open(path, "r+b") as f:
            f.truncate(30)


def test_broken_engine_output_is_not_stored(tmp_path: Path, real_engine: Pyttsx3Engine) -> None:
    cache = ClipCache(tmp_path, TruncatingEngine(real_engine))
    with pytest.raises(SpeechError):
        cache.load(LINE)
    assert files(tmp_path) == []


class LosingRaceEngine(CountingEngine):
    """While this engine works, another process publishes the same clip; then this engine
    either fails or finishes."""

    def __init__(self, inner: SpeechEngine, directory: Path, fail: bool) -> None:
        super().__init__(inner)
        self.directory = directory
        self.fail = fail

    def synthesize(self, line: SpeechLine, path: Path) -> None:
        ClipCache(self.directory, self.inner).load(line)  # the other process wins
        if self.fail:
            raise SpeechError("synthesis failed")
        super().synthesize(line, path)


def test_failed_render_does_not_touch_an_existing_good_clip(
    tmp_path: Path, real_engine: Pyttsx3Engine
) -> None:
    cache = ClipCache(tmp_path, LosingRaceEngine(real_engine, tmp_path, fail=True))
    with pytest.raises(SpeechError):
        cache.load(LINE)
    assert files(tmp_path) == [f"{cache.key(LINE)}.wav"]
    assert decode_clip(cache.path(LINE).read_bytes(), cache.key(LINE)) is not None


def test_first_published_clip_wins(tmp_path: Path, real_engine: Pyttsx3Engine) -> None:
    cache = ClipCache(tmp_path, LosingRaceEngine(real_engine, tmp_path, fail=False))
    samples, _ = cache.load(LINE)
    stored = decode_clip(cache.path(LINE).read_bytes(), cache.key(LINE))
    assert stored is not None and np.array_equal(stored[0], samples)
    assert files(tmp_path) == [f"{cache.key(LINE)}.wav"]


# --- damaged clips ---------------------------------------------------------------------------


def damage_and_reload(cache: ClipCache, damage) -> ClipCache:
    cache.load(LINE)
    path = cache.path(LINE)
    path.write_bytes(damage(path.read_bytes()))
    fresh = ClipCache(cache.directory, cache.engine)
    fresh.load(LINE)
    return fresh


def test_truncated_clip_is_rendered_again(cache: ClipCache) -> None:
    fresh = damage_and_reload(cache, lambda data: data[: len(data) // 2])
    assert (fresh.misses, fresh.repairs) == (1, 1)


def test_bit_flipped_clip_is_rendered_again(cache: ClipCache) -> None:
    def flip(data: bytes) -> bytes:
        middle = len(data) // 2
        return data[:middle] + bytes([data[middle] ^ 0x01]) + data[middle + 1 :]

    fresh = damage_and_reload(cache, flip)
    assert (fresh.misses, fresh.repairs) == (1, 1)


def test_zero_byte_clip_is_rendered_again(cache: ClipCache) -> None:
    fresh = damage_and_reload(cache, lambda data: b"")
    assert (fresh.misses, fresh.repairs) == (1, 1)


def test_repaired_clip_is_valid_on_disk(cache: ClipCache) -> None:
    damage_and_reload(cache, lambda data: data[:100])
    assert decode_clip(cache.path(LINE).read_bytes(), cache.key(LINE)) is not None


def test_clip_with_extra_bytes_is_rendered_again(cache: ClipCache) -> None:
    fresh = damage_and_reload(cache, lambda data: data + b"\0\0")
    assert fresh.repairs == 1


@pytest.mark.parametrize("offset", [4, 22, 24, 40, 44, -40, -1], ids=lambda o: f"byte{o}")
def test_any_flipped_byte_is_detected(cache: ClipCache, offset: int) -> None:
    cache.load(LINE)
    data = bytearray(cache.path(LINE).read_bytes())
    data[offset] ^= 0x10
    assert decode_clip(bytes(data), cache.key(LINE)) is None


def test_clip_under_another_key_is_rejected(cache: ClipCache) -> None:
    cache.load(LINE)
    other = cache.key(SpeechLine("Breathe out", None, 175))
    assert decode_clip(cache.path(LINE).read_bytes(), other) is None


# --- sharing and errors ----------------------------------------------------------------------

WORKER = """
import hashlib, json, sys, time
from pathlib import Path
from coach.cache import ClipCache
from coach.plan import SpeechLine
from coach.speech import Pyttsx3Engine

directory, go = Path(sys.argv[1]), Path(sys.argv[2])
engine = Pyttsx3Engine()
engine.voices()  # start the engine before the race
while not go.exists():
    time.sleep(0.001)
cache = ClipCache(directory, engine)
clips = {}
for i in range(25):
    line = SpeechLine(f"Rep {i} of twenty five", None, 175)
    samples, rate = cache.load(line)
    clips[cache.key(line)] = [hashlib.sha256(samples.tobytes()).hexdigest(), rate]
print(json.dumps({"clips": clips, "misses": cache.misses}))
"""


def test_two_processes_sharing_a_cache_get_identical_valid_clips(tmp_path: Path) -> None:
    directory, go = tmp_path / "cache", tmp_path / "go"
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    workers = [
        subprocess.Popen(
            [sys.executable, "-c", WORKER, str(directory), str(go)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
        )
        for _ in range(2)
    ]
    time.sleep(0.5)
    go.touch()
    results = []
    for worker in workers:
        out, err = worker.communicate(timeout=120)
        assert worker.returncode == 0, err
        results.append(json.loads(out)["clips"])
    assert results[0] == results[1]
    assert len(results[0]) == 25
    assert files(directory) == sorted(f"{key}.wav" for key in results[0])
    for key, (digest, _) in results[0].items():
        stored = decode_clip((directory / f"{key}.wav").read_bytes(), key)
        assert stored is not None
        assert hashlib.sha256(stored[0].tobytes()).hexdigest() == digest


def test_unwritable_cache_directory_raises_a_coach_error_naming_it(
    tmp_path: Path, engine: CountingEngine
) -> None:
    (tmp_path / "not-a-dir").write_text("a file where a directory should be")
    directory = tmp_path / "not-a-dir" / "cache"
    with pytest.raises(CoachError, match="not-a-dir/cache"):
        ClipCache(directory, engine).load(LINE)


def test_unwritable_cache_directory_error_is_a_cache_error(
    tmp_path: Path, engine: CountingEngine
) -> None:
    (tmp_path / "file").write_text("")
    with pytest.raises(CacheError):
        ClipCache(tmp_path / "file", engine).load(LINE)


@pytest.mark.skipif(hasattr(os, "geteuid") and os.geteuid() == 0, reason="root can write anyway")
def test_read_only_cache_directory_raises_cache_error(
    tmp_path: Path, engine: CountingEngine
) -> None:
    directory = tmp_path / "ro"
    directory.mkdir()
    directory.chmod(0o555)
    try:
        with pytest.raises(CacheError, match="ro"):
            ClipCache(directory, engine).load(LINE)
    finally:
        directory.chmod(0o755)


# --- default directory -----------------------------------------------------------------------


def test_default_cache_dir_honours_the_environment_variable(tmp_path: Path) -> None:
    assert default_cache_dir({"COACH_CACHE_DIR": str(tmp_path / "x")}) == tmp_path / "x"


def test_default_cache_dir_is_audio_cache_of_a_checkout(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text("")
    (tmp_path / "audio_cache").mkdir()
    assert default_cache_dir({}, package_root=tmp_path) == tmp_path / "audio_cache"


def test_default_cache_dir_of_this_checkout() -> None:
    assert default_cache_dir({}) == ROOT / "audio_cache"


@pytest.mark.skipif(sys.platform in ("win32", "darwin"), reason="XDG layout")
def test_default_cache_dir_outside_a_checkout_uses_xdg_cache_home(tmp_path: Path) -> None:
    environ = {"XDG_CACHE_HOME": str(tmp_path / "xdg")}
    assert default_cache_dir(environ, package_root=tmp_path) == tmp_path / "xdg" / "coach"


@pytest.mark.skipif(sys.platform in ("win32", "darwin"), reason="XDG layout")
def test_default_cache_dir_falls_back_to_dot_cache(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert default_cache_dir({}, package_root=tmp_path) == tmp_path / "home" / ".cache" / "coach"


def test_cache_error_is_a_speech_error() -> None:
    assert issubclass(CacheError, SpeechError)


# --- hostile cache contents ------------------------------------------------------------------


@contextlib.contextmanager
def within(seconds: float) -> Iterator[None]:
    """Fail, instead of hanging the test run, if the block takes longer than `seconds`."""

    def expire(signum: int, frame: object) -> None:
        raise TimeoutError(f"still running after {seconds} s")

    previous = signal.signal(signal.SIGALRM, expire)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def plant(cache: ClipCache, make) -> Path:
    """Put something that is not a clip where the clip of LINE belongs."""
    cache.directory.mkdir(parents=True, exist_ok=True)
    path = cache.path(LINE)
    make(path)
    return path


def is_clip(path: Path, key: str) -> bool:
    """A regular file (not a link to one) holding the intact clip of `key`."""
    if path.is_symlink() or not path.is_file():
        return False
    return decode_clip(path.read_bytes(), key) is not None


def sparse(size: int):
    """Makes a file of `size` bytes that takes no room on disk."""

    def make(path: Path) -> None:
        with open(path, "wb") as f:
            f.truncate(size)

    return make


HOSTILE = {
    "fifo": os.mkfifo,
    "dev-zero": lambda path: path.symlink_to("/dev/zero"),
    "empty-directory": Path.mkdir,
    "huge-file": sparse(CLIP_MAX_BYTES + 1),
}


@pytest.mark.parametrize("make", HOSTILE.values(), ids=HOSTILE.keys())
def test_a_cache_entry_that_is_no_clip_is_discarded_and_rendered_again(
    cache: ClipCache, engine: CountingEngine, make
) -> None:
    path = plant(cache, make)
    with within(20):
        samples, rate = cache.load(LINE)
    assert (cache.hits, cache.misses, cache.repairs, len(engine.calls)) == (0, 1, 1, 1)
    assert is_clip(path, cache.key(LINE))
    assert len(samples) > rate // 4


def test_a_directory_full_of_files_at_a_clip_s_place_still_gives_the_clip(
    cache: ClipCache,
) -> None:
    path = plant(cache, Path.mkdir)
    (path / "keep.txt").write_text("not ours")
    with within(20):
        samples, rate = cache.load(LINE)
    assert len(samples) > rate // 4
    assert (path / "keep.txt").read_text() == "not ours"


def test_has_does_not_count_a_fifo_as_a_clip(cache: ClipCache) -> None:
    plant(cache, os.mkfifo)
    with within(5):
        assert not cache.has(cache.key(LINE))


def test_a_clip_linked_to_a_file_elsewhere_is_never_written_through(
    tmp_path: Path, cache: ClipCache
) -> None:
    elsewhere = tmp_path / "elsewhere" / "victim.wav"
    elsewhere.parent.mkdir()
    path = plant(cache, lambda p: p.symlink_to(elsewhere))  # dangling: writing would create it
    cache.load(LINE)
    assert not elsewhere.exists()
    assert is_clip(path, cache.key(LINE))


def test_read_bounded_reads_nothing_from_a_file_over_the_limit(tmp_path: Path) -> None:
    path = tmp_path / "big"
    path.write_bytes(b"x" * 101)
    assert read_bounded(path, 100) is None
    assert read_bounded(path, 101) == b"x" * 101


def test_the_longest_clip_known_is_kept_under_the_size_bound(tmp_path: Path) -> None:
    # The language's longest line (600 characters) at its slowest rate (80 wpm), of the
    # text that speaks longest of all tried: flags, each read out as its country's name.
    line = SpeechLine(("\U0001f1ec\U0001f1f8 " * 200)[:600], None, 80)
    cache = ClipCache(tmp_path, Pyttsx3Engine())
    samples, rate = cache.load(line)
    assert len(samples) / rate > 7 * 60  # minutes of "flag: South Georgia & ..."
    assert cache.path(line).stat().st_size < CLIP_MAX_BYTES / 1.5
    again = ClipCache(tmp_path, cache.engine)
    again.load(line)
    assert (again.hits, again.repairs) == (1, 0)


LENGTHS_HOSTILE = {
    "fifo": os.mkfifo,
    "dev-zero": lambda path: path.symlink_to("/dev/zero"),
    "huge-file": sparse(LENGTHS_MAX_BYTES + 1),
}


@pytest.mark.parametrize("make", LENGTHS_HOSTILE.values(), ids=LENGTHS_HOSTILE.keys())
def test_a_lengths_record_that_is_no_record_is_ignored_and_replaced(cache: ClipCache, make) -> None:
    cache.directory.mkdir(parents=True)
    path = cache.directory / LENGTHS_FILE
    make(path)
    with within(10):
        assert cache.known_lengths("recipe") == {}
        cache.record_lengths("recipe", {"abc": 1})
        assert cache.known_lengths("recipe") == {"abc": 1}
    assert path.is_file() and not path.is_symlink()


# --- temporary files -------------------------------------------------------------------------


def test_rendering_removes_stale_temporary_files_of_killed_runs(cache: ClipCache) -> None:
    cache.directory.mkdir(parents=True)
    stale = cache.directory / temp_name("0123.wav")
    live = cache.directory / temp_name("4567.wav")  # another run writing right now
    mine = cache.directory / ".notes.tmp"  # not coach's naming: never touched
    for path in (stale, live, mine):
        path.write_bytes(b"partial")
    an_hour_ago = time.time() - 3600
    os.utime(stale, (an_hour_ago, an_hour_ago))
    os.utime(mine, (an_hour_ago, an_hour_ago))
    cache.load(LINE)
    assert not stale.exists()
    assert live.exists() and mine.exists()


def test_a_hit_writes_nothing_and_removes_nothing(cache: ClipCache) -> None:
    cache.load(LINE)
    stale = cache.directory / temp_name("0123.wav")
    stale.write_bytes(b"partial")
    os.utime(stale, (time.time() - 3600,) * 2)
    ClipCache(cache.directory, cache.engine).load(LINE)
    assert stale.exists()


class ExplodingEngine(CountingEngine):
    """Writes half a file where it was told to, then fails: a run stopped mid-clip."""

    def synthesize(self, line: SpeechLine, path: Path) -> None:
        super().synthesize(line, path)
        with open(path, "r+b") as f:
            f.truncate(1000)
        raise KeyboardInterrupt


def test_an_interrupt_mid_clip_leaves_no_clip_and_no_temporary_file(
    tmp_path: Path, real_engine: Pyttsx3Engine
) -> None:
    cache = ClipCache(tmp_path, ExplodingEngine(real_engine))
    with pytest.raises(KeyboardInterrupt):
        cache.load(LINE)
    assert files(tmp_path) == []
