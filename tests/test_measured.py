"""coach list's remembered lengths: used again only while nothing they depend on changed."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from coach import measured
from coach.measured import MEMO_FILE


@pytest.fixture
def routine(tmp_path: Path) -> Path:
    (tmp_path / "part.routine").write_text("say: Roll slowly up and down.\n")
    path = tmp_path / "r.routine"
    path.write_text("title: First\n\nstep One:\n    include: part.routine\n    pause 30s\n")
    return path


@pytest.fixture
def cache(tmp_path: Path) -> Path:
    directory = tmp_path / "cache"
    directory.mkdir()
    return directory


def retitled(cache: Path, title: str) -> None:
    """Change the remembered title, to see whether the next call uses the memo."""
    memo = json.loads((cache / MEMO_FILE).read_text())
    for entry in memo.values():
        entry["found"][0] = title
    (cache / MEMO_FILE).write_text(json.dumps(memo))


def test_a_length_is_remembered_and_told_again(routine: Path, cache: Path) -> None:
    title, seconds, exact = measured.measure(str(routine), cache)
    assert (title, exact) == ("First", False) and 30 < seconds < 60
    retitled(cache, "Remembered")
    assert measured.measure(str(routine), cache) == ("Remembered", seconds, False)


def test_a_changed_include_is_measured_again(routine: Path, cache: Path) -> None:
    measured.measure(str(routine), cache)
    retitled(cache, "Remembered")
    part = routine.parent / "part.routine"
    part.write_text("say: Roll slowly up and down, and breathe.\n")
    assert measured.measure(str(routine), cache)[0] == "First"


def test_new_clips_in_the_cache_mean_measuring_again(routine: Path, cache: Path) -> None:
    measured.measure(str(routine), cache)
    retitled(cache, "Remembered")
    (cache / "lengths.json").write_text("{}")  # what a run that spoke something does
    assert measured.measure(str(routine), cache)[0] == "First"


def test_another_engine_is_measured_on_its_own(
    routine: Path, cache: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    measured.measure(str(routine), cache)
    retitled(cache, "Remembered")
    monkeypatch.setenv("COACH_ENGINE", "flite")
    assert measured.measure(str(routine), cache)[0] == "First"


@pytest.mark.parametrize("damage", [b"{not json", b"[]", b'{"x": 1}', b"\xff" * 10])
def test_a_damaged_memo_is_measured_anew(routine: Path, cache: Path, damage: bytes) -> None:
    measured.measure(str(routine), cache)
    (cache / MEMO_FILE).write_bytes(damage)
    assert measured.measure(str(routine), cache)[0] == "First"


def test_tampered_results_of_the_wrong_shape_are_not_used(routine: Path, cache: Path) -> None:
    measured.measure(str(routine), cache)
    memo = json.loads((cache / MEMO_FILE).read_text())
    for entry in memo.values():
        entry["found"] = ["x", "not a number", True]
    (cache / MEMO_FILE).write_text(json.dumps(memo))
    assert measured.measure(str(routine), cache)[0] == "First"


def test_no_cache_directory_is_made_to_remember_in(routine: Path, tmp_path: Path) -> None:
    measured.measure(str(routine), tmp_path / "none")
    assert not (tmp_path / "none").exists()


def test_a_link_in_the_memo_s_place_is_not_written_through(routine: Path, cache: Path) -> None:
    outside = cache.parent / "outside.txt"
    outside.write_text("the user's")
    os.symlink(outside, cache / MEMO_FILE)
    measured.measure(str(routine), cache)
    assert outside.read_text() == "the user's"
