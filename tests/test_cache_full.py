"""A full disk under the clip cache: one clear message at once, not the engine's time limit."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from helpers import run_coach
from small_fs import fill, small_filesystem

from coach.cache import CacheError, ClipCache
from coach.plan import SpeechLine
from coach.pyttsx3_engine import Pyttsx3Engine

LINE = SpeechLine("Roll slowly up and down.", None, 175)


def test_a_full_cache_disk_is_said_at_once(tmp_path: Path) -> None:
    with small_filesystem(tmp_path / "disk", "1m") as disk:
        cache = ClipCache(disk / "cache", Pyttsx3Engine())
        (disk / "cache").mkdir()
        fill(disk, leave=64 * 1024)
        began = time.monotonic()
        with pytest.raises(CacheError, match="no space left on the device"):
            cache.load(LINE)
        assert time.monotonic() - began < 5
        assert sorted(p.name for p in (disk / "cache").iterdir()) == []


def test_show_with_a_full_cache_disk_ends_with_one_message(tmp_path: Path) -> None:
    routine = tmp_path / "a.routine"
    routine.write_text("title: A\n\nsay: Roll slowly up and down.\n")
    with small_filesystem(tmp_path / "disk", "1m") as disk:
        fill(disk, leave=64 * 1024)
        done = run_coach("show", str(routine), cache=disk / "cache", timeout=30)
    assert done.returncode == 1
    assert "no space left on the device" in done.stderr
    assert "Traceback" not in done.stderr
