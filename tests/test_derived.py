"""Derived audio kept beside the clip cache: made once, read back only when whole and sound."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest
from conftest import RATE

from coach import derived, sounds
from coach.mixer import SourceBank
from coach.timeline import Event


class Maker:
    """Makes `samples` and counts how often it was asked to."""

    def __init__(self, samples: np.ndarray) -> None:
        self.samples = samples
        self.calls = 0

    def __call__(self) -> np.ndarray:
        self.calls += 1
        return self.samples.copy()


@pytest.mark.parametrize("dtype", [np.int16, np.float32])
def test_what_is_made_is_stored_and_read_back_the_next_time(tmp_path: Path, dtype: type) -> None:
    make = Maker(np.arange(-50, 50).astype(dtype))
    first = derived.remembered(tmp_path, "a name", make)
    again = derived.remembered(tmp_path, "a name", make)
    assert make.calls == 1
    assert again.dtype == np.dtype(dtype) and np.array_equal(again, first)
    assert not again.flags.writeable


def test_another_name_is_made_anew(tmp_path: Path) -> None:
    make = Maker(np.ones(10, np.float32))
    derived.remembered(tmp_path, "chime at 22050 Hz, v1", make)
    derived.remembered(tmp_path, "chime at 22050 Hz, v2", make)
    assert make.calls == 2


@pytest.mark.parametrize(
    "damage",
    [
        lambda data: data[:-1],  # cut short
        lambda data: data[:-4] + b"\0\0\0\1",  # a sample changed
        lambda data: b"x" + data[1:],  # not its magic
        lambda data: b"",
    ],
)
def test_a_damaged_file_is_made_again_and_replaced(tmp_path: Path, damage) -> None:
    make = Maker(np.linspace(-1, 1, 64, dtype=np.float32))
    derived.remembered(tmp_path, "n", make)
    path = derived.path_for(tmp_path, "n")
    path.write_bytes(damage(path.read_bytes()))
    assert np.array_equal(derived.remembered(tmp_path, "n", make), make.samples)
    assert make.calls == 2
    assert derived.load(tmp_path, "n") is not None  # the good one is back


def test_a_fifo_in_its_place_is_not_read_and_is_replaced(tmp_path: Path) -> None:
    os.mkfifo(derived.path_for(tmp_path, "n"))
    make = Maker(np.zeros(3, np.int16))
    derived.remembered(tmp_path, "n", make)  # would hang if the FIFO were opened to read
    assert derived.path_for(tmp_path, "n").is_file()


def test_a_link_in_its_place_is_not_written_through(tmp_path: Path) -> None:
    outside = tmp_path / "outside.txt"
    outside.write_text("the user's")
    cache = tmp_path / "cache"
    cache.mkdir()
    derived.path_for(cache, "n").symlink_to(outside)
    derived.remembered(cache, "n", Maker(np.zeros(3, np.int16)))
    assert outside.read_text() == "the user's"


def test_without_a_directory_to_keep_it_in_it_is_made_each_time(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    make = Maker(np.zeros(3, np.int16))
    for _ in range(2):
        assert len(derived.remembered(blocker / "cache", "n", make)) == 3
    assert make.calls == 2


def test_nothing_larger_than_the_limit_is_kept(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setattr(derived, "MAX_BYTES", 1000)
    make = Maker(np.zeros(1000, np.int16))
    derived.remembered(tmp_path, "big", make)
    derived.remembered(tmp_path, "big", make)
    assert make.calls == 2 and not derived.path_for(tmp_path, "big").exists()


def test_a_bank_makes_the_built_in_sounds_once_for_every_session(tmp_path: Path) -> None:
    made: list[str] = []

    def keep(name: str, make):
        def counted():
            made.append(name)
            return make()

        return derived.remembered(tmp_path, name, counted)

    events = [Event(0, 10, "sound", "chime"), Event(0, 10, "click", "click")]
    for _ in range(2):  # two sessions, one directory
        bank = SourceBank(RATE, keep=keep)
        kept = [bank.samples(event) for event in events]
    assert len(made) == 2  # the chime and the click, each made by the first session only
    assert np.array_equal(kept[0], sounds.chime(RATE))
    assert np.array_equal(kept[1], sounds.click(RATE))
