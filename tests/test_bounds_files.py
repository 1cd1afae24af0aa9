"""Bounds: a routine or include that is not a regular file is named, never read or waited on."""

from __future__ import annotations

import io
import os
import threading
import wave
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

import pytest

from coach import library
from coach.checker import check
from coach.diagnostics import Diagnostic, RoutineNotFound
from coach.loader import check_file, load, load_text

T = TypeVar("T")


def promptly(action: Callable[[], T], seconds: float = 5.0) -> T:
    """The result of `action`, which must not block (a FIFO opened for reading would)."""
    outcome: list[T] = []
    failure: list[BaseException] = []

    def run() -> None:
        try:
            outcome.append(action())
        except BaseException as error:  # handed to the test below
            failure.append(error)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    thread.join(seconds)
    assert not thread.is_alive(), "blocked"
    if failure:
        raise failure[0]
    return outcome[0]


def fifo(path: Path) -> Path:
    os.mkfifo(path)
    return path


def wav(path: Path, seconds: float, rate: int = 8000) -> Path:
    out = io.BytesIO()
    with wave.open(out, "wb") as file:
        file.setnchannels(1)
        file.setsampwidth(2)
        file.setframerate(rate)
        file.writeframes(b"\0\0" * round(seconds * rate))
    path.write_bytes(out.getvalue())
    return path


# The routine ------------------------------------------------------------------------------------


def test_a_fifo_as_the_routine_is_named_not_waited_on(tmp_path: Path) -> None:
    path = fifo(tmp_path / "pipe.routine")
    with pytest.raises(RoutineNotFound) as raised:
        promptly(lambda: load(path))
    assert str(raised.value) == f"{path}: is a FIFO (named pipe), not a routine file"


def test_a_device_as_the_routine_is_named_not_read(tmp_path: Path) -> None:
    link = tmp_path / "zero.routine"
    link.symlink_to("/dev/zero")
    with pytest.raises(RoutineNotFound) as raised:
        promptly(lambda: load(link))
    assert str(raised.value) == f"{link}: is a character device, not a routine file"


def test_a_directory_as_the_routine_is_named(tmp_path: Path) -> None:
    with pytest.raises(RoutineNotFound) as raised:
        load(tmp_path)
    assert str(raised.value) == f"{tmp_path}: is a directory, not a routine file"


@pytest.mark.parametrize(
    "make, kind",
    [
        (lambda p: p.mkdir(), "a directory"),
        (lambda p: os.mkfifo(p), "a FIFO (named pipe)"),
        (lambda p: p.symlink_to("/dev/zero"), "a character device"),
    ],
)
def test_resolve_says_what_a_routine_argument_is_when_not_a_file(
    tmp_path: Path, make: Callable[[Path], None], kind: str
) -> None:
    target = tmp_path / "thing"
    make(target)
    with pytest.raises(RoutineNotFound) as raised:
        promptly(lambda: library.resolve(str(target)))
    assert str(raised.value) == f"{target}: is {kind}, not a routine file"


def test_resolve_still_says_a_missing_file_is_missing(tmp_path: Path) -> None:
    with pytest.raises(RoutineNotFound, match="nope.routine: no such routine file"):
        library.resolve(str(tmp_path / "nope.routine"))


# Includes ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "make, kind",
    [
        (lambda p: p.mkdir(), "a directory"),
        (lambda p: os.mkfifo(p), "a FIFO (named pipe)"),
        (lambda p: p.symlink_to("/dev/zero"), "a character device"),
    ],
)
def test_an_include_that_is_not_a_file_is_an_error_at_its_path(
    tmp_path: Path, make: Callable[[Path], None], kind: str
) -> None:
    make(tmp_path / "part.routine")
    # A link to /dev/zero leaves the routine's tree and is refused for that; the next test
    # includes the device from inside /dev.
    root = tmp_path / "main.routine"
    root.write_text("title: T\ninclude: part.routine\n")
    found = promptly(lambda: check_file(root))
    messages = [(d.position.line, d.position.column, d.message) for d in found]
    if kind == "a character device":
        assert messages == [
            (2, 10, "include path 'part.routine' leaves the directory of this routine")
        ]
    else:
        assert messages == [(2, 10, f"included path is not a file: 'part.routine' is {kind}")]


def test_an_include_of_a_device_inside_the_tree_is_named(tmp_path: Path) -> None:
    root = Path("/dev")
    found = promptly(lambda: load_text_at(root, "title: T\ninclude: zero\n"))
    assert [d.message for d in found] == [
        "included path is not a file: 'zero' is a character device"
    ]


def load_text_at(directory: Path, text: str) -> list[Diagnostic]:
    return load_text(text, directory / "virtual.routine")[1]


def test_the_same_large_file_included_again_and_again_stops_at_2_mb_of_text(
    tmp_path: Path,
) -> None:
    (tmp_path / "big.routine").write_text("say: Hi.\n" + "#" * 900_000 + "\n")
    root = tmp_path / "main.routine"
    root.write_text("title: T\n" + "include: big.routine\n" * 10)
    found = [(d.position.line, d.message) for d in load(root)[1]]
    assert found == [(4, "the routine and its includes are more than 2 MB of text in all")]


# Sound files ------------------------------------------------------------------------------------


def test_a_fifo_as_a_sound_file_is_an_error_at_its_name(tmp_path: Path) -> None:
    fifo(tmp_path / "gong.wav")
    root = tmp_path / "main.routine"
    root.write_text("title: T\nsound: gong.wav\n")
    (problem,) = promptly(lambda: load(root)[1])
    assert (problem.position.line, problem.position.column) == (2, 8)
    assert problem.message == "sound file 'gong.wav' is a FIFO (named pipe), not a regular file"


def test_the_real_length_of_a_sound_file_counts_toward_the_4_hours(tmp_path: Path) -> None:
    wav(tmp_path / "gong.wav", 2.0)
    root = tmp_path / "main.routine"
    root.write_text("title: T\npause 2h\npause 1h 59m 59s\nsound: gong.wav\n")
    routine, diagnostics = load(root)
    assert diagnostics == []
    assert [(d.position.line, d.message) for d in check(routine)] == [
        (4, "the routine lasts at least 4h 1s by here, over the 4 hour limit for a whole routine")
    ]
